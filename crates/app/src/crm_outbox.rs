//! Delivers queued messages to the CRM (seed 004's boot notification). The
//! outbox is durable, so a CRM that is down misses nothing: each message is
//! claimed under a lease (one node sends it), POSTed, and either marked
//! delivered or retried with exponential back-off.
//!
//! Each POST carries `X-Plugway-Timestamp` (Unix seconds) and
//! `X-Plugway-Signature: sha256=<hex>`, the HMAC-SHA256 of
//! `"{timestamp}.{body}"` under the shared secret, so the CRM can check both
//! origin and freshness.

use std::sync::Arc;
use std::time::Duration;

use chrono::DateTime;
use chrono::Utc;
use plugway_domain::Clock;
use plugway_store::{OutboxMessage, Store};
use secrecy::{ExposeSecret, SecretString};

use crate::ports::webhooks::WebhookSender;
use crate::security::hmac_hex;

/// Where and how to deliver.
#[derive(Debug, Clone)]
pub struct CrmWebhook {
    /// Delivers to the CRM's URL.
    pub sender: Arc<dyn WebhookSender>,
    /// HMAC key for the signature header.
    pub secret: Option<SecretString>,
}

impl CrmWebhook {
    /// A delivery target.
    pub fn new(sender: Arc<dyn WebhookSender>, secret: Option<SecretString>) -> Self {
        Self { sender, secret }
    }
}

/// `sha256=<hex>` of `"{timestamp}.{body}"`.
pub fn signature(secret: &str, timestamp: i64, body: &str) -> String {
    format!(
        "sha256={}",
        hmac_hex(secret.as_bytes(), format!("{timestamp}.{body}").as_bytes())
    )
}

/// Wait before try `attempts + 1`: 10 s doubling, at most an hour.
pub fn backoff(attempts: i64) -> chrono::Duration {
    let exponent = u32::try_from(attempts.clamp(1, 12) - 1).unwrap_or(0);
    chrono::Duration::seconds((10i64 << exponent).min(3600))
}

async fn deliver(
    hook: &CrmWebhook,
    message: &OutboxMessage,
    now: DateTime<Utc>,
) -> Result<(), String> {
    if message.kind != plugway_store::OUTBOX_CRM_BOOT_NOTIFICATION {
        return Err(format!("unknown outbox kind {:?}", message.kind));
    }
    let timestamp = now.timestamp();
    let mut headers = vec![
        ("x-plugway-timestamp", timestamp.to_string()),
        (
            "x-plugway-event",
            "charge_point.boot_notification".to_owned(),
        ),
    ];
    if let Some(secret) = &hook.secret {
        headers.push((
            "x-plugway-signature",
            signature(secret.expose_secret(), timestamp, &message.payload),
        ));
    }
    hook.sender.post(&headers, &message.payload).await
}

/// Delivers what is due; returns how many were delivered. One pass.
pub async fn deliver_due(
    store: &dyn Store,
    clock: &dyn Clock,
    hook: &CrmWebhook,
) -> plugway_store::Result<usize> {
    let now = clock.now();
    let claimed = store
        .claim_outbox(
            plugway_store::OUTBOX_CRM_BOOT_NOTIFICATION,
            now,
            now + chrono::Duration::seconds(60),
            50,
        )
        .await?;
    let mut delivered = 0;
    for message in claimed {
        match deliver(hook, &message, clock.now()).await {
            Ok(()) => {
                store.outbox_delivered(message.id, clock.now()).await?;
                metrics::counter!("plugway_crm_webhooks_delivered_total").increment(1);
                delivered += 1;
            }
            Err(error) => {
                let retry_at = clock.now() + backoff(message.attempts);
                tracing::warn!(id = message.id, attempts = message.attempts, %error, %retry_at, "CRM delivery failed; will retry");
                metrics::counter!("plugway_crm_webhook_failures_total").increment(1);
                store.outbox_failed(message.id, &error, retry_at).await?;
            }
        }
    }
    Ok(delivered)
}

/// Delivers forever, polling every `every`.
pub async fn run(store: Arc<dyn Store>, clock: Arc<dyn Clock>, hook: CrmWebhook, every: Duration) {
    let mut tick = tokio::time::interval(every);
    loop {
        tick.tick().await;
        if let Err(e) = deliver_due(store.as_ref(), clock.as_ref(), &hook).await {
            tracing::warn!(error = %e, "CRM outbox pass failed");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_an_hour() {
        assert_eq!(backoff(1), chrono::Duration::seconds(10));
        assert_eq!(backoff(2), chrono::Duration::seconds(20));
        assert_eq!(backoff(9), chrono::Duration::seconds(2560));
        assert_eq!(backoff(50), chrono::Duration::seconds(3600));
    }

    #[test]
    fn signatures_cover_time_and_body() {
        let a = signature("k", 1, "{}");
        assert!(a.starts_with("sha256=") && a.len() == 7 + 64);
        assert_ne!(a, signature("k", 2, "{}"));
        assert_ne!(a, signature("k", 1, "{ }"));
        assert_ne!(a, signature("j", 1, "{}"));
    }
}
