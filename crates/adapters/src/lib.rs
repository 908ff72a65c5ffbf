//! Plugway's adapters to the outside world. Each implements a port the core
//! (`plugway-app`) defines and speaks its provider's documented API; the
//! tests run each against a local fake server that speaks the same API,
//! signatures included.

#![cfg_attr(
    test,
    allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::indexing_slicing,
        clippy::disallowed_methods
    )
)]

pub mod fcm;
pub mod ocpi;
pub mod qpay;
pub mod razorpay;
pub mod twilio;
pub mod webhooks;

use plugway_app::ports::payments::GatewayError;

/// Reads a gateway's JSON reply: 5xx and unreadable bodies are
/// `Unavailable` (try again later), other non-2xx are `Refused`.
pub(crate) async fn read_reply<T: serde::de::DeserializeOwned>(
    provider: &str,
    response: reqwest::Response,
) -> Result<T, GatewayError> {
    let status = response.status();
    let text = response
        .text()
        .await
        .map_err(|e| GatewayError::Unavailable(e.to_string()))?;
    if status.is_server_error() {
        return Err(GatewayError::Unavailable(format!(
            "{provider} answered {status}"
        )));
    }
    if !status.is_success() {
        return Err(GatewayError::Refused(format!(
            "{provider} answered {status}: {}",
            text.chars().take(200).collect::<String>()
        )));
    }
    serde_json::from_str(&text)
        .map_err(|e| GatewayError::Unavailable(format!("unexpected {provider} reply: {e}")))
}
