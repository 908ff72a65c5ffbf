//! Paying for purchases from the driver's wallet, through the ledger.
//!
//! Paying a purchase posts one journal entry (built by `billing`): the
//! wallet gives what the bill leaves due; the host earns the amount before
//! tax less the platform's commission; the platform keeps the commission;
//! the tax goes to tax payable. The entry's idempotency key is the
//! purchase, so a purchase is paid once however often (or however
//! concurrently) the app asks.

use plugway_domain::ledger::{AccountKind, AccountRef, Balanced, Posting};
use plugway_domain::UserId;
use plugway_store::{Bill, NewJournalEntry, Purchase};

use crate::billing;
use crate::context::App;
use crate::error::{AppError, AppResult};
use crate::wallet::wallet;

/// Pays `purchase` from the driver's wallet, with a coupon and credit
/// points if given (through a bill, see `billing`); the wallet's new
/// balance. Paying a paid purchase again answers the balance and moves
/// nothing. `insufficient_funds` (409) when the wallet holds too little,
/// and nothing moves.
pub async fn pay_from_wallet(
    state: &App,
    user: UserId,
    purchase: &Purchase,
    bill: Option<Bill>,
    coupon_code: Option<&str>,
    credits: i64,
) -> AppResult<i64> {
    if purchase.cost.currency != state.settings.wallet_currency {
        return Err(AppError::conflict(
            "currency_mismatch",
            format!(
                "this purchase is in {} and the wallet in {}; pay it another way",
                purchase.cost.currency.code(),
                state.settings.wallet_currency.code()
            ),
        ));
    }
    crate::billing::ensure_payable(purchase)?;
    if purchase.payment_status == "unpaid" {
        let bill = match bill {
            Some(bill) => bill,
            None => billing::checkout_bill(state, user, purchase, coupon_code, credits).await?,
        };
        billing::pay_bill(state, &bill, purchase, wallet(state, user), "wallet", None).await?;
    }
    Ok(state.store.account_balance(&wallet(state, user)).await?)
}

/// Credits a driver's wallet from the platform's promotions (an admin's
/// credit or a goodwill refund), once per `idempotency_key`. The new balance.
pub async fn credit_wallet(
    state: &App,
    user: UserId,
    amount: i64,
    reason: &str,
    idempotency_key: Option<String>,
) -> AppResult<i64> {
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
    .map_err(|e| AppError::invalid_field("amount", e.message))?;
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
