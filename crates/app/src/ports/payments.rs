//! Payment gateways behind one trait. Each adapter (`plugway-adapters`)
//! speaks its provider's documented API; tests run them against local fake
//! servers that speak the same API.

use std::sync::Arc;

use async_trait::async_trait;

use crate::error::AppError;

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

/// A gateway whose checkout runs in the driver's app (Razorpay): the app
/// opens the gateway's order itself and reports back a signed payment, and
/// the gateway signs its webhooks. Only the adapter knows how to check
/// those signatures.
pub trait CheckoutGateway: PaymentGateway {
    /// The public key the app opens the checkout with.
    fn key_id(&self) -> &str;
    /// Whether `signature` is the gateway's signature of this order's
    /// payment (the app's proof of payment; compared in constant time).
    fn payment_signature_ok(&self, order_id: &str, payment_id: &str, signature: &str) -> bool;
    /// Whether `signature` is the gateway's signature of a webhook body.
    fn webhook_signature_ok(&self, body: &[u8], signature: &str) -> bool;
    /// The same adapter as a plain [`PaymentGateway`].
    fn into_payment_gateway(self: Arc<Self>) -> Arc<dyn PaymentGateway>;
}

/// The gateway and the public URL its callbacks reach Plugway at.
#[derive(Debug, Clone)]
pub struct GatewaySetup {
    /// The adapter.
    pub gateway: Arc<dyn PaymentGateway>,
    /// Plugway's public base URL, e.g. `https://api.example.com`.
    pub callback_base: String,
}

impl From<GatewayError> for AppError {
    fn from(e: GatewayError) -> Self {
        match e {
            GatewayError::Unavailable(why) => {
                tracing::warn!(%why, "payment gateway unavailable");
                AppError::unavailable(
                    "gateway_unavailable",
                    "the payment gateway is not answering; try again",
                )
            }
            GatewayError::Refused(why) => {
                tracing::error!(%why, "payment gateway refused a request");
                AppError::upstream("gateway_refused", "the payment gateway refused the request")
            }
        }
    }
}
