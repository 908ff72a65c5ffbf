//! QPay v2 (merchant API): `POST /v2/auth/token` with HTTP Basic
//! (client id and secret) for a bearer token, `POST /v2/invoice` to issue an
//! invoice with a `callback_url`, `POST /v2/payment/check` to see what was
//! paid on it. QPay amounts are whole tögrög (MNT has no minor unit in
//! practice, and QPay takes numbers), so amounts are sent in major units.

use std::time::{Duration, Instant};

use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::json;
use tokio::sync::Mutex;

use plugway_app::ports::payments::{GatewayError, IssuedInvoice, PaymentCheck, PaymentGateway};

use crate::read_reply;

/// QPay settings.
#[derive(Debug, Clone)]
pub struct QPayConfig {
    /// `https://merchant.qpay.mn` (or a sandbox).
    pub base_url: String,
    /// Merchant client id (Basic auth user).
    pub client_id: String,
    /// Merchant client secret.
    pub client_secret: SecretString,
    /// The merchant's invoice code.
    pub invoice_code: String,
}

/// The QPay adapter.
#[derive(Debug)]
pub struct QPay {
    config: QPayConfig,
    http: reqwest::Client,
    token: Mutex<Option<(String, Instant)>>,
}

#[derive(Debug, Deserialize)]
struct TokenReply {
    access_token: String,
    expires_in: Option<u64>,
}

#[derive(Debug, Deserialize)]
struct InvoiceReply {
    invoice_id: String,
    #[serde(rename = "qPay_shortUrl")]
    short_url: Option<String>,
    #[serde(default)]
    urls: Vec<InvoiceUrl>,
}

#[derive(Debug, Deserialize)]
struct InvoiceUrl {
    link: String,
}

#[derive(Debug, Deserialize)]
struct CheckReply {
    #[serde(default)]
    rows: Vec<CheckRow>,
}

#[derive(Debug, Deserialize)]
struct CheckRow {
    #[serde(default)]
    payment_id: String,
    payment_status: String,
    payment_amount: serde_json::Value,
    payment_currency: Option<String>,
}

/// One payment on an invoice, read.
struct QPayPayment {
    payment_id: String,
    /// `PAID`, `REFUNDED`, ...
    status: String,
    /// Minor units.
    amount: i64,
    currency: plugway_domain::Currency,
}

fn unavailable(e: impl std::fmt::Display) -> GatewayError {
    GatewayError::Unavailable(e.to_string())
}

impl QPay {
    /// An adapter; no call is made until it is used.
    pub fn new(config: QPayConfig) -> Result<Self, GatewayError> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(15))
            .build()
            .map_err(unavailable)?;
        Ok(Self {
            config,
            http,
            token: Mutex::new(None),
        })
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.config.base_url.trim_end_matches('/'))
    }

    /// A bearer token, fetched again a minute before it expires.
    async fn token(&self) -> Result<String, GatewayError> {
        let mut cached = self.token.lock().await;
        if let Some((token, until)) = cached.as_ref() {
            if Instant::now() < *until {
                return Ok(token.clone());
            }
        }
        let response = self
            .http
            .post(self.url("/v2/auth/token"))
            .basic_auth(
                &self.config.client_id,
                Some(self.config.client_secret.expose_secret()),
            )
            .send()
            .await
            .map_err(unavailable)?;
        let reply: TokenReply = read(response).await?;
        let life = Duration::from_secs(reply.expires_in.unwrap_or(3600).saturating_sub(60).max(1));
        *cached = Some((reply.access_token.clone(), Instant::now() + life));
        Ok(reply.access_token)
    }

    /// An invoice's payments (`POST /v2/payment/check`), amounts in minor units.
    async fn payments(&self, gateway_invoice_id: &str) -> Result<Vec<QPayPayment>, GatewayError> {
        let reply: CheckReply = self
            .post(
                "/v2/payment/check",
                json!({"object_type": "INVOICE", "object_id": gateway_invoice_id,
                       "offset": {"page_number": 1, "page_limit": 100}}),
            )
            .await?;
        reply
            .rows
            .into_iter()
            .map(|row| {
                let code = row.payment_currency.unwrap_or_else(|| "MNT".into());
                let currency = plugway_domain::Currency::parse(&code)
                    .map_err(|e| GatewayError::Unavailable(e.to_string()))?;
                let amount = minor(&row.payment_amount, currency).ok_or_else(|| {
                    GatewayError::Unavailable("unreadable QPay payment amount".into())
                })?;
                Ok(QPayPayment {
                    payment_id: row.payment_id,
                    status: row.payment_status,
                    amount,
                    currency,
                })
            })
            .collect()
    }

    async fn post<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        body: serde_json::Value,
    ) -> Result<T, GatewayError> {
        let token = self.token().await?;
        let response = self
            .http
            .post(self.url(path))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .map_err(unavailable)?;
        if response.status() == reqwest::StatusCode::UNAUTHORIZED {
            // The token was revoked early: forget it so the next call logs in.
            *self.token.lock().await = None;
        }
        read(response).await
    }
}

async fn read<T: serde::de::DeserializeOwned>(
    response: reqwest::Response,
) -> Result<T, GatewayError> {
    read_reply("QPay", response).await
}

/// A QPay amount (number or numeric string) in minor units of `currency`.
fn minor(value: &serde_json::Value, currency: plugway_domain::Currency) -> Option<i64> {
    let major = match value {
        serde_json::Value::Number(n) => n.as_f64()?,
        serde_json::Value::String(s) => s.trim().parse().ok()?,
        _ => return None,
    };
    currency.to_minor(major)
}

#[async_trait]
impl PaymentGateway for QPay {
    fn option(&self) -> &'static str {
        "QPAY"
    }

    async fn create_invoice(
        &self,
        reference: &str,
        amount: i64,
        currency: &str,
        description: &str,
        callback_url: &str,
    ) -> Result<IssuedInvoice, GatewayError> {
        let currency = plugway_domain::Currency::parse(currency)
            .map_err(|e| GatewayError::Refused(e.to_string()))?;
        let reply: InvoiceReply = self
            .post(
                "/v2/invoice",
                json!({
                    "invoice_code": self.config.invoice_code,
                    "sender_invoice_no": reference,
                    "invoice_receiver_code": "terminal",
                    "invoice_description": description,
                    "amount": currency.to_major(amount),
                    "callback_url": callback_url,
                }),
            )
            .await?;
        let url = reply
            .short_url
            .or_else(|| reply.urls.into_iter().next().map(|u| u.link))
            .ok_or_else(|| GatewayError::Unavailable("QPay gave no payment URL".into()))?;
        Ok(IssuedInvoice {
            gateway_invoice_id: reply.invoice_id,
            url,
        })
    }

    /// QPay's `DELETE /v2/payment/refund/{payment_id}` refunds whole
    /// payments only: `amount` must be everything paid on the invoice. A
    /// retry finds the payments already `REFUNDED` and asks nothing again.
    async fn refund(
        &self,
        gateway_invoice_id: &str,
        amount: i64,
        reference: &str,
    ) -> Result<String, GatewayError> {
        let mut paid = 0i64;
        let mut ids = Vec::new();
        for row in self.payments(gateway_invoice_id).await? {
            if row.status == "PAID" || row.status == "REFUNDED" {
                paid = paid.saturating_add(row.amount);
                ids.push((row.payment_id, row.status == "REFUNDED"));
            }
        }
        if ids.is_empty() || paid != amount {
            return Err(GatewayError::Refused(
                "QPay refunds whole payments only".into(),
            ));
        }
        let token = self.token().await?;
        for (payment_id, _) in ids.iter().filter(|(_, refunded)| !refunded) {
            let response = self
                .http
                .delete(self.url(&format!("/v2/payment/refund/{payment_id}")))
                .bearer_auth(&token)
                .json(&json!({"callback_url": "", "note": reference}))
                .send()
                .await
                .map_err(unavailable)?;
            let status = response.status();
            if status.is_server_error() {
                return Err(GatewayError::Unavailable(format!("QPay answered {status}")));
            }
            if !status.is_success() {
                return Err(GatewayError::Refused(format!("QPay answered {status}")));
            }
        }
        Ok(ids
            .into_iter()
            .map(|(id, _)| id)
            .collect::<Vec<_>>()
            .join(","))
    }

    async fn check(&self, gateway_invoice_id: &str) -> Result<PaymentCheck, GatewayError> {
        let mut paid_amount: i64 = 0;
        let mut currency = None;
        for row in self.payments(gateway_invoice_id).await? {
            if row.status == "PAID" {
                paid_amount = paid_amount.saturating_add(row.amount);
                currency = Some(row.currency.code().to_owned());
            }
        }
        Ok(PaymentCheck {
            paid: paid_amount > 0,
            paid_amount,
            currency,
        })
    }
}
