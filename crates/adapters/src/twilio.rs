//! Twilio's Messages API behind the core's SMS port.

use async_trait::async_trait;
use plugway_app::ports::sms::{SmsError, SmsSender};
use plugway_domain::PhoneNumber;
use secrecy::{ExposeSecret, SecretString};

/// Twilio's Programmable Messaging API: `POST
/// {base}/2010-04-01/Accounts/{AccountSid}/Messages.json`, form-encoded
/// `To`, `From`, `Body`, HTTP Basic auth with the account SID and auth token;
/// 201 with the message resource on success, a JSON error otherwise.
#[derive(Debug)]
pub struct TwilioSms {
    client: reqwest::Client,
    base_url: String,
    account_sid: String,
    auth_token: SecretString,
    from: String,
}

impl TwilioSms {
    /// A sender for one Twilio account. `base_url` is
    /// `https://api.twilio.com` in production (tests point it at a fake).
    pub fn new(
        base_url: String,
        account_sid: String,
        auth_token: SecretString,
        from: String,
    ) -> Result<Self, SmsError> {
        let client = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(10))
            .build()
            .map_err(|e| SmsError::Provider(e.to_string()))?;
        Ok(Self {
            client,
            base_url: base_url.trim_end_matches('/').to_owned(),
            account_sid,
            auth_token,
            from,
        })
    }
}

#[async_trait]
impl SmsSender for TwilioSms {
    async fn send(&self, to: &PhoneNumber, text: &str) -> Result<(), SmsError> {
        let url = format!(
            "{}/2010-04-01/Accounts/{}/Messages.json",
            self.base_url, self.account_sid
        );
        let response = self
            .client
            .post(url)
            .basic_auth(&self.account_sid, Some(self.auth_token.expose_secret()))
            .form(&[
                ("To", to.as_str()),
                ("From", self.from.as_str()),
                ("Body", text),
            ])
            .send()
            .await
            .map_err(|e| SmsError::Provider(e.to_string()))?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        // Twilio explains failures as {"code", "message", "more_info", "status"}.
        let detail = response
            .json::<serde_json::Value>()
            .await
            .ok()
            .and_then(|v| v.get("message").and_then(|m| m.as_str()).map(str::to_owned))
            .unwrap_or_default();
        Err(SmsError::Provider(format!("{status}: {detail}")))
    }
}
