//! Payment gateways behind one trait. Each adapter speaks its provider's
//! documented API; tests run them against local fake servers that speak
//! the same API.

pub mod qpay;
pub mod razorpay;

use async_trait::async_trait;

/// An invoice the gateway issued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedInvoice {
    /// The gateway's invoice id.
    pub gateway_invoice_id: String,
    /// Where the driver pays.
    pub url: String,
}

/// What the gateway says was paid on an invoice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentCheck {
    /// Paid in full or in part (at least one PAID payment).
    pub paid: bool,
    /// Total paid, minor units.
    pub paid_amount: i64,
    /// The currency of the payments (None when nothing was paid).
    pub currency: Option<String>,
}

/// Why a gateway call failed.
#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    /// Unreachable, or it answered 5xx.
    #[error("payment gateway unavailable: {0}")]
    Unavailable(String),
    /// It refused the request (credentials, data).
    #[error("payment gateway refused: {0}")]
    Refused(String),
}

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

/// A payment gateway.
#[async_trait]
pub trait PaymentGateway: Send + Sync + std::fmt::Debug {
    /// Its option name in seed 001 (`QPAY`).
    fn option(&self) -> &'static str;
    /// Issues an invoice of `amount` minor units; the gateway calls
    /// `callback_url` when it is paid.
    async fn create_invoice(
        &self,
        reference: &str,
        amount: i64,
        currency: &str,
        description: &str,
        callback_url: &str,
    ) -> Result<IssuedInvoice, GatewayError>;
    /// Asks what was paid on an invoice (the only proof Plugway trusts: the
    /// callback itself carries no signature).
    async fn check(&self, gateway_invoice_id: &str) -> Result<PaymentCheck, GatewayError>;
    /// Refunds `amount` minor units of what was paid on an invoice, back
    /// the way it came. `reference` (Plugway's refund id) lets a retry find
    /// the refund it already made instead of refunding twice. The gateway's
    /// refund id. Gateways that can not refund say `Refused`.
    async fn refund(
        &self,
        gateway_invoice_id: &str,
        amount: i64,
        reference: &str,
    ) -> Result<String, GatewayError> {
        let _ = (gateway_invoice_id, amount, reference);
        Err(GatewayError::Refused(format!(
            "{} refunds are not supported; refund to the wallet",
            self.option()
        )))
    }
}
