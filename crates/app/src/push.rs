//! Push notifications to phones: the [`PushGateway`] port (its FCM HTTP v1
//! adapter is in `plugway-adapters`), and the delivery worker that drains
//! the push outbox.
//!
//! [`crate::notify`] stores each notification with one pending
//! delivery per device token, in one transaction; the worker here claims due
//! deliveries under a lease in the database (so one node sends each), sends
//! them, and records the outcome: delivered; retried later with back-off
//! (429, 5xx, network errors, an expired access token); the token pruned and
//! its deliveries dropped (FCM says the token is dead); or given up (a
//! permanent refusal, or too many tries).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use futures::StreamExt;
use plugway_domain::Clock;
use plugway_store::{PushDelivery, Store};

/// A message for one device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushMessage {
    /// The device's registration token.
    pub token: String,
    /// Headline.
    pub title: String,
    /// Text.
    pub body: String,
    /// String map for the app (`kind`, `notification_id` and the
    /// notification's own data).
    pub data: BTreeMap<String, String>,
}

/// Why a push failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PushError {
    /// Worth trying again later (rate limits, outages, network errors).
    #[error("temporary failure: {reason}")]
    Retry {
        /// What happened.
        reason: String,
        /// The server's `Retry-After`, when it sent one.
        after: Option<Duration>,
    },
    /// The token will never work again (uninstalled app, invalid token):
    /// forget it.
    #[error("dead token: {0}")]
    DeadToken(String),
    /// Refused for good for another reason (never retried).
    #[error("refused: {0}")]
    Rejected(String),
}

/// Sends one message to one device.
#[async_trait]
pub trait PushGateway: Send + Sync + std::fmt::Debug {
    /// Sends `message`; the provider's message id on success.
    async fn send(&self, message: &PushMessage) -> Result<String, PushError>;
}

/// Tries per delivery before it is given up.
pub const MAX_ATTEMPTS: i64 = 10;

/// How long a claimed delivery is reserved for the node that claimed it.
const LEASE_SECS: i64 = 60;

/// Deliveries claimed per pass.
const BATCH: i64 = 20;

/// Deliveries sent at once within a pass.
const PARALLEL: usize = 10;

/// Wait before try `attempts + 1`: 10 s doubling, at most an hour (as the
/// CRM outbox), or longer when the server asked for it.
pub fn backoff(attempts: i64, retry_after: Option<Duration>) -> chrono::Duration {
    let ours = crate::crm_outbox::backoff(attempts);
    let theirs = retry_after
        .and_then(|d| chrono::Duration::from_std(d).ok())
        .unwrap_or_else(chrono::Duration::zero)
        .min(chrono::Duration::hours(6));
    ours.max(theirs)
}

/// What one pass did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct PushPass {
    /// Sent.
    pub delivered: usize,
    /// Failed for now; due again later.
    pub retried: usize,
    /// Dropped because their token is dead (the token is deleted).
    pub pruned: usize,
    /// Given up.
    pub failed: usize,
}

fn message_of(delivery: &PushDelivery) -> PushMessage {
    let note = &delivery.notification;
    let mut data = note.data.clone();
    data.insert("kind".into(), note.kind.as_str().into());
    data.insert("notification_id".into(), note.id.to_text());
    PushMessage {
        token: delivery.token.clone(),
        title: note.title.clone(),
        body: note.body.clone(),
        data,
    }
}

/// The first characters of a token, for logs (a whole token is a credential
/// to message that device).
fn token_hint(token: &str) -> String {
    token.chars().take(8).collect()
}

/// Sends what is due, once. Store errors end the pass (the next one picks up
/// where it stopped: unsent deliveries come due again when their lease ends).
pub async fn deliver_due(
    store: &dyn Store,
    clock: &dyn Clock,
    gateway: &dyn PushGateway,
) -> plugway_store::Result<PushPass> {
    let now = clock.now();
    let claimed = store
        .claim_push_deliveries(now, now + chrono::Duration::seconds(LEASE_SECS), BATCH)
        .await?;
    // Sent side by side, so a slow FCM cannot stretch a pass beyond the
    // lease (BATCH / PARALLEL rounds of at most the 10 s request timeout,
    // plus one token request): another node would then claim and send the
    // same rows again.
    let outcomes: Vec<plugway_store::Result<Outcome>> = futures::stream::iter(claimed)
        .map(|delivery| deliver_one(store, clock, gateway, delivery))
        .buffer_unordered(PARALLEL)
        .collect()
        .await;
    let mut pass = PushPass::default();
    for outcome in outcomes {
        match outcome? {
            Outcome::Delivered => pass.delivered += 1,
            Outcome::Pruned => pass.pruned += 1,
            Outcome::Failed => pass.failed += 1,
            Outcome::Retried => pass.retried += 1,
        }
    }
    Ok(pass)
}

/// What became of one delivery.
enum Outcome {
    Delivered,
    Pruned,
    Failed,
    Retried,
}

async fn deliver_one(
    store: &dyn Store,
    clock: &dyn Clock,
    gateway: &dyn PushGateway,
    delivery: PushDelivery,
) -> plugway_store::Result<Outcome> {
    let hint = token_hint(&delivery.token);
    Ok(match gateway.send(&message_of(&delivery)).await {
        Ok(_) => {
            store.push_delivered(delivery.id, clock.now()).await?;
            metrics::counter!("plugway_push_delivered_total").increment(1);
            Outcome::Delivered
        }
        Err(PushError::DeadToken(why)) => {
            let dropped = store.prune_push_token(&delivery.token, &why).await?;
            tracing::info!(token = %hint, %why, dropped, "push token is dead; pruned");
            metrics::counter!("plugway_push_tokens_pruned_total").increment(1);
            Outcome::Pruned
        }
        Err(PushError::Rejected(why)) => {
            tracing::warn!(id = delivery.id, token = %hint, %why, "push refused; giving up");
            store.push_give_up(delivery.id, &why).await?;
            metrics::counter!("plugway_push_failures_total").increment(1);
            Outcome::Failed
        }
        Err(PushError::Retry { reason, after }) => {
            metrics::counter!("plugway_push_failures_total").increment(1);
            if delivery.attempts >= MAX_ATTEMPTS {
                tracing::warn!(id = delivery.id, token = %hint, %reason, "push failed too often; giving up");
                store
                    .push_give_up(
                        delivery.id,
                        &format!("{reason} (after {MAX_ATTEMPTS} tries)"),
                    )
                    .await?;
                Outcome::Failed
            } else {
                let retry_at = clock.now() + backoff(delivery.attempts, after);
                tracing::warn!(id = delivery.id, token = %hint, attempts = delivery.attempts, %reason, %retry_at, "push failed; will retry");
                store.push_retry(delivery.id, &reason, retry_at).await?;
                Outcome::Retried
            }
        }
    })
}

/// Delivers forever, a pass every `every`.
pub async fn run(
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    gateway: Arc<dyn PushGateway>,
    every: Duration,
) {
    let mut tick = tokio::time::interval(every);
    loop {
        tick.tick().await;
        if let Err(e) = deliver_due(store.as_ref(), clock.as_ref(), gateway.as_ref()).await {
            tracing::warn!(error = %e, "push outbox pass failed");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_honours_retry_after() {
        assert_eq!(backoff(1, None), chrono::Duration::seconds(10));
        assert_eq!(
            backoff(1, Some(Duration::from_secs(120))),
            chrono::Duration::seconds(120)
        );
        assert_eq!(
            backoff(3, Some(Duration::from_secs(1))),
            chrono::Duration::seconds(40)
        );
        assert_eq!(
            backoff(1, Some(Duration::from_secs(1_000_000))),
            chrono::Duration::hours(6)
        );
    }

    #[test]
    fn token_hints_are_short() {
        assert_eq!(token_hint("abcdefghijklmnop"), "abcdefgh");
        assert_eq!(token_hint("ab"), "ab");
    }
}
