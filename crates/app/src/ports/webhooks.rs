//! Outgoing webhooks: POSTing a signed JSON body to a partner (the CRM of
//! seed 004). The core decides what is sent, when, and how it is signed
//! ([`crate::crm_outbox`]); the adapter only delivers it.

use async_trait::async_trait;

/// Delivers one webhook.
#[async_trait]
pub trait WebhookSender: Send + Sync + std::fmt::Debug {
    /// POSTs `body` (JSON) with these extra headers. `Err` says why it was
    /// not delivered (unreachable, or an answer other than 2xx); the caller
    /// retries later.
    async fn post(&self, headers: &[(&'static str, String)], body: &str) -> Result<(), String>;
}
