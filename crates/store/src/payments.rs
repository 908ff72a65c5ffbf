//! The storage port for payments through gateways (QPay, Razorpay): one row
//! per invoice the gateway issued, settled once.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use plugway_domain::UserId;

use crate::Result;

/// An invoice at a payment gateway.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatewayInvoice {
    /// Our id (the `invoiceId` apps see).
    pub id: String,
    /// Whose.
    pub user_id: UserId,
    /// `top_up` (into the wallet) or `purchase` (paying one).
    pub purpose: String,
    /// What it pays: the purchase id for `purchase`.
    pub reference: Option<String>,
    /// `qpay`.
    pub gateway: String,
    /// The gateway's own invoice id.
    pub gateway_invoice_id: String,
    /// Minor units.
    pub amount: i64,
    /// ISO 4217.
    pub currency: String,
    /// Where the driver pays.
    pub url: String,
    /// pending, success, error or canceled.
    pub status: String,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// When it left `pending`.
    pub settled_at: Option<DateTime<Utc>>,
}

/// Storage for gateway invoices.
#[async_trait]
pub trait PaymentStore: Send + Sync {
    /// Stores a new invoice.
    async fn insert_gateway_invoice(&self, invoice: &GatewayInvoice) -> Result<()>;
    /// An invoice by our id.
    async fn find_gateway_invoice(&self, id: &str) -> Result<Option<GatewayInvoice>>;
    /// An invoice by the gateway's own id.
    async fn find_gateway_invoice_by_gateway_id(
        &self,
        gateway: &str,
        gateway_invoice_id: &str,
    ) -> Result<Option<GatewayInvoice>>;
    /// Pending invoices created before `before`, oldest first (for the reconciler).
    async fn list_pending_gateway_invoices(
        &self,
        before: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<GatewayInvoice>>;
    /// Invoices that ended without the money (any status but `pending` and
    /// `success`: the gateway's error, expiry or cancellation), newest first.
    async fn list_failed_gateway_invoices(&self, limit: i64) -> Result<Vec<GatewayInvoice>>;
    /// Moves a pending invoice to `status`; false when it was no longer pending.
    async fn settle_gateway_invoice(
        &self,
        id: &str,
        status: &str,
        now: DateTime<Utc>,
    ) -> Result<bool>;
}
