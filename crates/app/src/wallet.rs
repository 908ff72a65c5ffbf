//! The driver's wallet account and the PAYMENT event every way of paying
//! publishes: the pieces the payment, billing, top-up and plan use cases
//! share.

use plugway_domain::ledger::{AccountKind, AccountRef};
use plugway_domain::{PurchaseId, UserId};
use plugway_store::Purchase;
use serde_json::json;

use crate::context::App;

/// A driver's wallet in the platform's wallet currency.
pub fn wallet(state: &App, user: UserId) -> AccountRef {
    AccountRef::of(
        AccountKind::DriverWallet,
        user,
        state.settings.wallet_currency,
    )
}

/// Seed 001's PAYMENT event for the driver.
pub async fn publish_payment(
    state: &App,
    user: UserId,
    id: PurchaseId,
    status: &str,
    p: &Purchase,
) {
    let body = json!({"status": status, "amount": p.cost.currency.to_major(p.cost.total),
        "invoiceId": id.to_text(), "currency": p.cost.currency.code()});
    if let Err(e) = state
        .bus
        .publish(
            &format!("user.{user}.PAYMENT"),
            body.to_string().into_bytes(),
        )
        .await
    {
        tracing::warn!(error = %e, "PAYMENT event not published");
    }
}
