//! Sending SMS: the port, and the two senders that need no provider: the
//! log (development) and none (refuses, so a production server without a
//! provider never logs codes it cannot deliver). Twilio's adapter is in
//! `plugway-adapters`.

use async_trait::async_trait;
use plugway_domain::PhoneNumber;

/// Why a message was not sent.
#[derive(Debug, thiserror::Error)]
pub enum SmsError {
    /// No provider is configured.
    #[error("no SMS provider is configured")]
    NotConfigured,
    /// The provider refused or could not be reached.
    #[error("SMS provider failed: {0}")]
    Provider(String),
}

/// Sends a text message.
#[async_trait]
pub trait SmsSender: Send + Sync + std::fmt::Debug {
    /// Sends `text` to `to`.
    async fn send(&self, to: &PhoneNumber, text: &str) -> Result<(), SmsError>;
}

/// Development: writes the message to the log instead of sending it.
#[derive(Debug, Default)]
pub struct LogSms;

#[async_trait]
impl SmsSender for LogSms {
    async fn send(&self, to: &PhoneNumber, text: &str) -> Result<(), SmsError> {
        tracing::info!(to = %to, text, "SMS (development mode: logged, not sent)");
        Ok(())
    }
}

/// No provider: every send fails with [`SmsError::NotConfigured`].
#[derive(Debug, Default)]
pub struct NoSms;

#[async_trait]
impl SmsSender for NoSms {
    async fn send(&self, _: &PhoneNumber, _: &str) -> Result<(), SmsError> {
        Err(SmsError::NotConfigured)
    }
}
