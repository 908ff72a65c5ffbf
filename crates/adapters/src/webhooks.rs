//! Outgoing webhooks over HTTP, behind the core's webhook port.

use std::time::Duration;

use async_trait::async_trait;
use plugway_app::ports::webhooks::WebhookSender;

/// POSTs to one URL, with a 10 s timeout.
#[derive(Debug, Clone)]
pub struct HttpWebhook {
    url: String,
    client: reqwest::Client,
}

impl HttpWebhook {
    /// A sender to `url`; no call is made until it is used.
    pub fn new(url: String) -> Result<Self, reqwest::Error> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()?;
        Ok(Self { url, client })
    }
}

#[async_trait]
impl WebhookSender for HttpWebhook {
    async fn post(&self, headers: &[(&'static str, String)], body: &str) -> Result<(), String> {
        let mut request = self
            .client
            .post(&self.url)
            .header("content-type", "application/json")
            .body(body.to_owned());
        for (name, value) in headers {
            request = request.header(*name, value);
        }
        let response = request.send().await.map_err(|e| e.to_string())?;
        if response.status().is_success() {
            Ok(())
        } else {
            Err(format!("CRM answered {}", response.status()))
        }
    }
}
