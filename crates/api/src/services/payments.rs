//! Paying for purchases from the driver's wallet, through the ledger.
//!
//! Paying a purchase posts one journal entry (built by `billing`): the
//! wallet gives what the bill leaves due; the host earns the amount before
//! tax less the platform's commission; the platform keeps the commission;
//! the tax goes to tax payable. The entry's idempotency key is the
//! purchase, so a purchase is paid once however often (or however
//! concurrently) the app asks.

use plugway_domain::ledger::{AccountKind, AccountRef, Balanced, Posting};
use plugway_domain::{PurchaseId, UserId};
use plugway_store::{Bill, NewJournalEntry, Purchase};
use serde_json::json;

use crate::error::{ApiError, ApiResult};
use crate::services::billing;
use crate::state::AppState;

/// The commission on `before_tax` at `bps`, rounded half up.
pub fn commission(before_tax: i64, bps: i64) -> i64 {
    let c = (i128::from(before_tax.max(0)) * i128::from(bps.clamp(0, 10_000)) + 5_000) / 10_000;
    i64::try_from(c).unwrap_or(i64::MAX)
}

/// A driver's wallet in the platform's wallet currency.
pub fn wallet(state: &AppState, user: UserId) -> AccountRef {
    AccountRef::of(
        AccountKind::DriverWallet,
        user,
        state.settings.wallet_currency,
    )
}

/// Pays `purchase` from the driver's wallet, with a coupon and credit
/// points if given (through a bill, see `billing`); the wallet's new
/// balance. Paying a paid purchase again answers the balance and moves
/// nothing. `insufficient_funds` (409) when the wallet holds too little,
/// and nothing moves.
pub async fn pay_from_wallet(
    state: &AppState,
    user: UserId,
    purchase: &Purchase,
    bill: Option<Bill>,
    coupon_code: Option<&str>,
    credits: i64,
) -> ApiResult<i64> {
    if purchase.cost.currency != state.settings.wallet_currency {
        return Err(ApiError::conflict(
            "currency_mismatch",
            format!(
                "this purchase is in {} and the wallet in {}; pay it another way",
                purchase.cost.currency.code(),
                state.settings.wallet_currency.code()
            ),
        ));
    }
    if purchase.payment_status == "unpaid" {
        let bill = match bill {
            Some(bill) => bill,
            None => billing::checkout_bill(state, user, purchase, coupon_code, credits).await?,
        };
        billing::pay_bill(state, &bill, purchase, wallet(state, user), "wallet", None).await?;
    }
    Ok(state.store.account_balance(&wallet(state, user)).await?)
}

/// Seed 001's PAYMENT event for the driver.
pub async fn publish_payment(
    state: &AppState,
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

/// Credits a driver's wallet from the platform's promotions (an admin's
/// credit or a goodwill refund), once per `idempotency_key`. The new balance.
pub async fn credit_wallet(
    state: &AppState,
    user: UserId,
    amount: i64,
    reason: &str,
    idempotency_key: Option<String>,
) -> ApiResult<i64> {
    let currency = state.settings.wallet_currency;
    let postings = Balanced::new(&[
        Posting {
            account: wallet(state, user),
            amount,
        },
        Posting {
            account: AccountRef::platform(AccountKind::Promotions, currency),
            amount: -amount,
        },
    ])
    .map_err(|e| ApiError::invalid_field("amount", e.message))?;
    state
        .store
        .post_entry(&NewJournalEntry {
            id: state.ids.new_uuid(state.clock.now()).to_string(),
            kind: "wallet_credit".into(),
            reference: reason.to_owned(),
            idempotency_key,
            postings,
            at: state.clock.now(),
        })
        .await?;
    Ok(state.store.account_balance(&wallet(state, user)).await?)
}

#[cfg(test)]
mod tests {
    use super::commission;

    #[test]
    fn commission_rounds_half_up_and_stays_in_bounds() {
        assert_eq!(commission(10_000, 1_000), 1_000);
        assert_eq!(commission(5, 1_000), 1, "0.5 rounds up");
        assert_eq!(commission(4, 1_000), 0);
        assert_eq!(commission(-100, 1_000), 0);
        assert_eq!(commission(100, 20_000), 100, "at most everything");
        assert_eq!(commission(i64::MAX, 10_000), i64::MAX);
    }
}
