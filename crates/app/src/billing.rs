//! Bills: an order (a purchase) split into what a coupon, credit points and
//! the driver's money pay, paid in one ledger entry; coupons checked;
//! credit points granted, set and spent; referral rewards; refunds.
//!
//! Who pays what, in one entry: the payer (wallet or gateway clearing)
//! gives the bill's `due`; promotions give the coupon's discount and the
//! points' money value; the points move from the driver's credits back to
//! promotions (in their own unit, [`Currency::CREDIT_POINTS`]); the host,
//! the platform and tax payable get exactly what they would without the
//! coupon. Coupons and points are the platform's cost, never the host's.

use plugway_domain::coupon::{BillSplit, CouponCode, CouponRefusal};
use plugway_domain::ledger::{AccountKind, AccountRef, Balanced, Posting};
use plugway_domain::{Currency, UserId};
use plugway_store::{Bill, BillPaid, Coupon, NewJournalEntry, Purchase, Refund, StoreError};

use crate::context::App;
use crate::error::{AppError, AppResult};
use crate::ports::payments::GatewayError;
use crate::wallet::{publish_payment, wallet};
use plugway_domain::commission::commission;

/// A bill's subject kind for charging sessions.
pub const PURCHASE: &str = "purchase";

/// A person's credit points account (`DriverCredits` or `HostCredits`).
pub fn credits_account(kind: AccountKind, user: UserId) -> AccountRef {
    AccountRef::of(kind, user, Currency::CREDIT_POINTS)
}

fn promotions(currency: Currency) -> AccountRef {
    AccountRef::platform(AccountKind::Promotions, currency)
}

fn refusal_error(refusal: CouponRefusal) -> AppError {
    AppError::conflict(refusal.code(), refusal.message())
}

/// Finds a coupon by the code a driver typed and checks it may be used by
/// `user` now (switched on, in its window, uses left). Its limits are
/// checked again, atomically, when the bill is paid.
pub async fn usable_coupon(
    state: &App,
    user: UserId,
    code: &str,
) -> AppResult<Result<Coupon, CouponRefusal>> {
    let Ok(code) = CouponCode::parse(code) else {
        return Ok(Err(CouponRefusal::Invalid));
    };
    let Some(coupon) = state.store.find_coupon_by_code(&code).await? else {
        return Ok(Err(CouponRefusal::Invalid));
    };
    if !coupon.terms.usable_at(state.clock.now()) {
        return Ok(Err(CouponRefusal::Invalid));
    }
    let by_driver = state.store.coupon_uses_by(&coupon.id, user).await?;
    Ok(coupon
        .terms
        .check_uses(coupon.used, by_driver)
        .map(|()| coupon))
}

/// Bills `purchase` to `user`, with a coupon and credit points if given,
/// and stores the bill (it replaces the purchase's open bills).
pub async fn bill_purchase(
    state: &App,
    user: UserId,
    purchase: &Purchase,
    coupon_code: Option<&str>,
    credits: i64,
) -> AppResult<Bill> {
    let bill = checkout_bill(state, user, purchase, coupon_code, credits).await?;
    state.store.insert_bill(&bill).await?;
    Ok(bill)
}

/// The bill of `purchase` with a coupon and credit points, checked but not
/// stored: paying it stores it in the payment's own transaction.
///
/// A purchase held for review or voided cannot be paid (409).
pub async fn checkout_bill(
    state: &App,
    user: UserId,
    purchase: &Purchase,
    coupon_code: Option<&str>,
    credits: i64,
) -> AppResult<Bill> {
    ensure_payable(purchase)?;
    if purchase.payment_status != "unpaid" && purchase.payment_status != "pending" {
        return Err(AppError::conflict("already_paid", "this purchase is paid"));
    }
    let currency = purchase.cost.currency;
    let amount = purchase.cost.total;
    let (coupon_id, discount) = match coupon_code.map(str::trim).filter(|c| !c.is_empty()) {
        Some(code) => {
            let coupon = usable_coupon(state, user, code)
                .await?
                .map_err(refusal_error)?;
            if coupon.terms.currency != currency {
                return Err(refusal_error(CouponRefusal::WrongCurrency));
            }
            let off = coupon.terms.value.discount(amount).map_err(refusal_error)?;
            (Some(coupon.id), off)
        }
        None => (None, 0),
    };
    if credits > 0 {
        if currency != state.settings.wallet_currency {
            return Err(AppError::invalid_field(
                "credits",
                "credit points pay only for orders in the wallet currency",
            ));
        }
        let held = state
            .store
            .account_balance(&credits_account(AccountKind::DriverCredits, user))
            .await?;
        if held < credits {
            return Err(AppError::conflict(
                "insufficient_credits",
                format!("you hold {held} credit points"),
            ));
        }
    }
    let split = BillSplit::new(amount, discount, credits, state.settings.credit_point_value)
        .map_err(|e| AppError::invalid_field(e.field, e.message))?;
    let now = state.clock.now();
    Ok(Bill {
        id: state.ids.new_uuid(now).to_string(),
        user_id: user,
        subject_kind: PURCHASE.into(),
        subject_id: purchase.id.to_text(),
        host_id: purchase.host_id,
        currency,
        split,
        coupon_id,
        status: "open".into(),
        method: None,
        payment_ref: None,
        refunded: 0,
        created_at: now,
        paid_at: None,
    })
}

/// Where the money of a purchase of `total` (tax included) goes: the
/// host's earnings (the platform's, when the charger has no host), the
/// platform's commission, the tax. Driver payments and roaming partners'
/// CDRs share it.
pub fn earning_postings(
    state: &App,
    total: i64,
    tax: i64,
    host: Option<UserId>,
    currency: Currency,
) -> [(AccountRef, i64); 3] {
    let tax = tax.clamp(0, total.max(0));
    let before_tax = total - tax;
    let fee = commission(before_tax, state.sessions.settings().commission_bps);
    let host_share = before_tax.saturating_sub(fee);
    let earner = match host {
        Some(host) => AccountRef::of(AccountKind::HostEarnings, host, currency),
        // No host to pay (a charger without one): the platform keeps it.
        None => AccountRef::platform(AccountKind::PlatformRevenue, currency),
    };
    [
        (earner, host_share),
        (
            AccountRef::platform(AccountKind::PlatformRevenue, currency),
            fee,
        ),
        (AccountRef::platform(AccountKind::TaxPayable, currency), tax),
    ]
}

/// The entry's postings that pay `bill` for `purchase`, the money part
/// coming from `payer`.
pub fn bill_postings(
    state: &App,
    payer: AccountRef,
    bill: &Bill,
    purchase: &Purchase,
) -> AppResult<Balanced> {
    let currency = bill.currency;
    let total = bill.split.amount;
    let earnings = earning_postings(state, total, purchase.cost.tax, bill.host_id, currency);
    let promoted = bill.split.discount + bill.split.credits_value;
    let points = bill.split.credits;
    let postings: Vec<Posting> = [
        (payer, -bill.split.due),
        (promotions(currency), -promoted),
        (
            credits_account(AccountKind::DriverCredits, bill.user_id),
            -points,
        ),
        (promotions(Currency::CREDIT_POINTS), points),
    ]
    .into_iter()
    .chain(earnings)
    .filter(|(_, amount)| *amount != 0)
    .map(|(account, amount)| Posting { account, amount })
    .collect();
    if postings.is_empty() {
        // Nothing due and nothing spent (0 kWh, or a price of 0): the
        // purchase is still settled, once, by an entry that moves nothing.
        return Ok(Balanced::nothing());
    }
    Balanced::new(&postings).map_err(AppError::internal)
}

/// The ledger key that makes a purchase paid once, whichever way.
pub fn payment_key(purchase: &Purchase) -> String {
    format!("purchase:{}", purchase.id)
}

/// Pays `bill` with money from `payer` (`method`: wallet, qpay, razorpay).
/// True when this bill paid the purchase (now or before); false when
/// another bill had. Coupon limits and too little money or points are 409s
/// and move nothing.
pub async fn pay_bill(
    state: &App,
    bill: &Bill,
    purchase: &Purchase,
    payer: AccountRef,
    method: &str,
    payment_ref: Option<&str>,
) -> AppResult<bool> {
    let now = state.clock.now();
    let entry = NewJournalEntry {
        id: state.ids.new_uuid(now).to_string(),
        kind: "purchase_payment".into(),
        reference: bill.id.clone(),
        idempotency_key: Some(payment_key(purchase)),
        postings: bill_postings(state, payer, bill, purchase)?,
        at: now,
    };
    match state
        .store
        .pay_bill(bill, method, payment_ref, &entry)
        .await
    {
        Ok(BillPaid::New(_)) => {
            publish_payment(state, bill.user_id, purchase.id, "success", purchase).await;
            crate::notify::payment_settled(state, bill, purchase).await;
            // A free session (nothing billed) is not the first payment.
            if bill.split.amount > 0 {
                reward_referrer(state, bill.user_id).await;
            }
            Ok(true)
        }
        Ok(BillPaid::AlreadyPaid { by }) => Ok(by == bill.id),
        Err(StoreError::Conflict(what)) => Err(match what.as_str() {
            "coupon_exhausted" => refusal_error(CouponRefusal::Exhausted),
            "coupon_user_limit" => refusal_error(CouponRefusal::UserLimit),
            "insufficient_funds" => AppError::conflict(
                "insufficient_funds",
                "the wallet (or your credit points) hold less than this bill needs; top up first",
            ),
            _ => AppError::conflict("payment_conflict", "the payment could not be booked"),
        }),
        Err(e) => Err(e.into()),
    }
}

/// Seed 000's referral reward: when a referred account pays for its first
/// charging session, its referrer gets credit points, once (the entry is
/// keyed by the referred account). A failure is logged, never the payer's
/// problem.
async fn reward_referrer(state: &App, user: UserId) {
    let points = state.settings.referral_reward_credits;
    if points <= 0 {
        return;
    }
    let referrer = match state.store.find_user(user).await {
        Ok(Some(u)) => u.referred_by,
        Ok(None) => None,
        Err(e) => {
            tracing::warn!(error = %e, "referral reward: cannot read the account");
            None
        }
    };
    let Some(referrer) = referrer else { return };
    if let Err(e) = grant_credits(
        state,
        AccountKind::DriverCredits,
        referrer,
        points,
        "referral",
        Some(format!("referral:{user}")),
    )
    .await
    {
        tracing::warn!(error = %e.message, "referral reward not granted");
    }
}

/// Credit types (seed 000's CreditType): why points were granted.
pub const CREDIT_TYPES: [(&str, &str); 4] = [
    ("referral", "Referral reward"),
    ("promotion", "Promotion"),
    ("compensation", "Compensation"),
    ("adjustment", "Adjustment"),
];

/// Grants `points` (negative: takes back) to a person's credits, from
/// promotions; once per `idempotency_key`. The new balance.
pub async fn grant_credits(
    state: &App,
    kind: AccountKind,
    user: UserId,
    points: i64,
    credit_type: &str,
    idempotency_key: Option<String>,
) -> AppResult<i64> {
    let account = credits_account(kind, user);
    if points != 0 {
        let postings = Balanced::new(&[
            Posting {
                account,
                amount: points,
            },
            Posting {
                account: promotions(Currency::CREDIT_POINTS),
                amount: -points,
            },
        ])
        .map_err(AppError::internal)?;
        let now = state.clock.now();
        match state
            .store
            .post_entry(&NewJournalEntry {
                id: state.ids.new_uuid(now).to_string(),
                kind: format!("credits_{credit_type}"),
                reference: user.to_text(),
                idempotency_key,
                postings,
                at: now,
            })
            .await
        {
            Ok(_) => {}
            Err(StoreError::Conflict(plugway_store::Conflict::InsufficientFunds)) => {
                return Err(AppError::conflict(
                    "insufficient_credits",
                    "that would take more points than the account holds",
                ))
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok(state.store.account_balance(&account).await?)
}

/// Whether money was paid for the purchase that a refund could return.
pub fn refundable(purchase: &Purchase) -> bool {
    matches!(
        purchase.payment_status.as_str(),
        "paid" | "partially_refunded"
    )
}

/// An amount to refund, in major units of the purchase's currency, as
/// minor units: more than zero and representable, or refused.
pub fn refund_amount(purchase: &Purchase, major: Option<f64>) -> AppResult<Option<i64>> {
    major
        .map(|a| {
            purchase
                .cost
                .currency
                .to_minor(a)
                .filter(|m| *m > 0)
                .ok_or_else(|| AppError::invalid_field("amount", "must be a positive amount"))
        })
        .transpose()
}

/// The scope of a purchase's refund idempotency keys: a client's key is
/// stored as `{scope}:{key}`, so the same key sent for another purchase is
/// another refund, whichever face sent it.
pub fn refund_scope(purchase: &Purchase) -> String {
    format!("refund:{}", purchase.id.to_text())
}

/// What an admin asks of a refund.
#[derive(Debug)]
pub struct RefundRequest {
    /// Minor units; None refunds the whole bill (coupon and points too).
    pub amount: Option<i64>,
    /// `wallet`, or `gateway`: back through the gateway that took the
    /// money (Razorpay in whole or in part; QPay only whole payments).
    pub destination: String,
    /// Why.
    pub reason: String,
    /// From the `Idempotency-Key` header.
    pub idempotency_key: Option<String>,
}

/// Refunds (part of) a paid purchase to the driver's wallet or back through
/// the gateway that took the money. The amount is reserved on the bill
/// first, so refunds never exceed what was paid in money, even racing. A
/// gateway refund is asked of the gateway before the books move; if the
/// gateway can not be reached the refund stays pending and a retry with the
/// same `Idempotency-Key` finishes it (the gateway finds its own refund by
/// our refund id rather than refunding twice). A whole refund reverses the payment's entry exactly
/// (the coupon's and points' parts go back to promotions and the driver's
/// points); a partial one takes the amount from the host, the platform and
/// tax in proportion to what each got.
pub async fn refund_purchase(
    state: &App,
    purchase: &Purchase,
    mut request: RefundRequest,
) -> AppResult<Refund> {
    request.reason = request.reason.trim().to_owned();
    if request.reason.is_empty() || request.reason.chars().count() > 200 {
        return Err(AppError::invalid_field(
            "reason",
            "must be 1 to 200 characters",
        ));
    }
    let bill = state
        .store
        .find_paid_bill(PURCHASE, &purchase.id.to_text())
        .await?
        .ok_or_else(|| AppError::conflict("not_paid", "this purchase has not been paid"))?;
    let paid_entry = state
        .store
        .find_entry_by_key(&payment_key(purchase))
        .await?
        .ok_or_else(|| AppError::internal("a paid bill without its ledger entry"))?;
    // Where the money goes back: the wallet, or the gateway's invoice.
    let gateway = match request.destination.as_str() {
        "wallet" => None,
        "gateway" => {
            let invoice = match (bill.method.as_deref(), &bill.payment_ref) {
                (Some("qpay" | "razorpay"), Some(invoice)) => {
                    state.store.find_gateway_invoice(invoice).await?
                }
                _ => None,
            }
            .ok_or_else(|| {
                AppError::conflict(
                    "not_paid_through_a_gateway",
                    "this purchase was paid from the wallet; refund it to the wallet",
                )
            })?;
            let adapter = state.gateway_named(&invoice.gateway).ok_or_else(|| {
                AppError::conflict(
                    "gateway_not_configured",
                    "that gateway is not configured now",
                )
            })?;
            Some((adapter, invoice))
        }
        _ => {
            return Err(AppError::invalid_field(
                "destination",
                "must be wallet or gateway",
            ))
        }
    };
    let whole = request.amount.is_none();
    let amount = request.amount.unwrap_or(bill.split.due);
    if gateway
        .as_ref()
        .is_some_and(|(_, invoice)| invoice.gateway == "qpay")
        && amount != bill.split.due
    {
        return Err(AppError::conflict(
            "partial_refund_unsupported",
            "QPay refunds whole payments only: refund all of it, or refund a part to the wallet",
        ));
    }
    if amount <= 0 && !whole {
        return Err(AppError::invalid_field("amount", "must be more than 0"));
    }
    // A bill of nothing (a 0 kWh session) moved nothing: nothing to give back.
    if whole && bill.split.amount == 0 {
        return Err(AppError::conflict(
            "nothing_to_refund",
            "this purchase cost nothing; there is nothing to refund",
        ));
    }
    let now = state.clock.now();
    let refund = state
        .store
        .begin_refund(&Refund {
            id: state.ids.new_uuid(now).to_string(),
            bill_id: bill.id.clone(),
            user_id: bill.user_id,
            amount,
            currency: bill.currency,
            destination: request.destination.clone(),
            whole,
            status: "pending".into(),
            gateway_refund_id: None,
            reason: request.reason,
            idempotency_key: request.idempotency_key,
            created_at: now,
            settled_at: None,
        })
        .await
        .map_err(|e| match e {
            StoreError::Conflict(plugway_store::Conflict::AlreadyRefunded) => AppError::conflict(
                "already_refunded",
                "this purchase was refunded already; refund a part of what is left instead",
            ),
            StoreError::Conflict(_) => AppError::conflict(
                "refund_exceeds_payment",
                "refunds can not exceed what the driver paid",
            ),
            other => other.into(),
        })?;
    if refund.status != "pending" {
        // A retry of a refund that already ended.
        return Ok(refund);
    }
    let mut gateway_refund_id = None;
    let to = match &gateway {
        None => wallet(state, bill.user_id),
        Some((adapter, invoice)) => {
            match adapter
                .refund(&invoice.gateway_invoice_id, refund.amount, &refund.id)
                .await
            {
                Ok(id) => gateway_refund_id = Some(id),
                Err(e @ GatewayError::Refused(_)) => {
                    state
                        .store
                        .finish_refund(&refund.id, "failed", None, None, now)
                        .await?;
                    return Err(AppError::from(e));
                }
                // Unknown: it stays pending for a retry with the same key.
                Err(e) => return Err(AppError::from(e)),
            }
            AccountRef::platform(AccountKind::GatewayClearing, bill.currency)
        }
    };
    let postings = if refund.whole {
        reversal(&paid_entry.postings, to, bill.user_id)
    } else {
        partial_reversal(&paid_entry.postings, to, refund.amount, bill.currency)
    };
    let entry = NewJournalEntry {
        id: state.ids.new_uuid(now).to_string(),
        kind: "refund".into(),
        reference: refund.id.clone(),
        idempotency_key: Some(format!("refund:{}", refund.id)),
        postings: Balanced::new(&postings).map_err(AppError::internal)?,
        at: now,
    };
    match state
        .store
        .finish_refund(
            &refund.id,
            "succeeded",
            gateway_refund_id.as_deref(),
            Some(&entry),
            now,
        )
        .await
    {
        Ok(_) => {}
        Err(StoreError::Conflict(plugway_store::Conflict::InsufficientFunds)) => {
            state
                .store
                .finish_refund(&refund.id, "failed", None, None, now)
                .await?;
            return Err(AppError::conflict(
                "insufficient_funds",
                "the host's earnings no longer hold their share of this refund",
            ));
        }
        Err(e) => return Err(e.into()),
    }
    state
        .store
        .find_refund(&refund.id)
        .await?
        .ok_or_else(|| AppError::internal("a refund vanished"))
}

/// The payment's postings negated, with the money that came from the payer
/// (wallet or gateway clearing) going to `to` instead.
fn reversal(paid: &[Posting], to: AccountRef, driver: UserId) -> Vec<Posting> {
    paid.iter()
        .map(|p| {
            let payer = p.amount < 0
                && p.account.currency != Currency::CREDIT_POINTS
                && (p.account.kind == AccountKind::GatewayClearing
                    || (p.account.kind == AccountKind::DriverWallet
                        && p.account.owner == Some(driver)));
            Posting {
                account: if payer { to } else { p.account },
                amount: -p.amount,
            }
        })
        .collect()
}

/// `amount` back to `to`, taken from the accounts that received money in
/// the payment, in proportion (rounded down; the platform takes the rest).
fn partial_reversal(
    paid: &[Posting],
    to: AccountRef,
    amount: i64,
    currency: Currency,
) -> Vec<Posting> {
    let receivers: Vec<&Posting> = paid
        .iter()
        .filter(|p| p.amount > 0 && p.account.currency == currency)
        .collect();
    let received: i128 = receivers.iter().map(|p| i128::from(p.amount)).sum();
    let mut out = vec![Posting {
        account: to,
        amount,
    }];
    let mut taken = 0;
    for p in &receivers {
        let share = if received > 0 {
            i64::try_from(i128::from(amount) * i128::from(p.amount) / received).unwrap_or(0)
        } else {
            0
        };
        if share > 0 {
            taken += share;
            out.push(Posting {
                account: p.account,
                amount: -share,
            });
        }
    }
    if amount > taken {
        out.push(Posting {
            account: AccountRef::platform(AccountKind::PlatformRevenue, currency),
            amount: -(amount - taken),
        });
    }
    out
}

/// A purchase held for review (its energy could not have flowed) or voided
/// by an admin is not paid for: 409 `purchase_held` / `purchase_void`.
pub fn ensure_payable(purchase: &Purchase) -> AppResult<()> {
    match purchase.payment_status.as_str() {
        "held" => Err(AppError::conflict(
            "purchase_held",
            format!(
                "this purchase is held for review and cannot be paid yet: {}",
                purchase
                    .hold_reason
                    .as_deref()
                    .unwrap_or("its energy is being checked")
            ),
        )),
        "void" => Err(AppError::conflict(
            "purchase_void",
            "this purchase was voided; there is nothing to pay",
        )),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn acc(kind: AccountKind) -> AccountRef {
        AccountRef::platform(kind, Currency::MNT)
    }

    #[test]
    fn a_partial_refund_is_taken_in_proportion_and_balances() {
        let driver = UserId(uuid::Uuid::nil());
        let host = AccountRef::of(
            AccountKind::HostEarnings,
            UserId(uuid::Uuid::max()),
            Currency::MNT,
        );
        let paid = [
            Posting {
                account: wallet_of(driver),
                amount: -1_100,
            },
            Posting {
                account: host,
                amount: 900,
            },
            Posting {
                account: acc(AccountKind::PlatformRevenue),
                amount: 100,
            },
            Posting {
                account: acc(AccountKind::TaxPayable),
                amount: 100,
            },
        ];
        let back = partial_reversal(&paid, wallet_of(driver), 333, Currency::MNT);
        assert!(Balanced::new(&back).is_ok(), "{back:?}");
        let from_host = back.iter().find(|p| p.account == host).unwrap().amount;
        assert_eq!(from_host, -272, "333 × 900 / 1,100, rounded down");
        let whole = reversal(&paid, wallet_of(driver), driver);
        assert_eq!(whole.iter().map(|p| p.amount).sum::<i64>(), 0);
        assert!(whole
            .iter()
            .any(|p| p.account == wallet_of(driver) && p.amount == 1_100));
    }

    fn wallet_of(user: UserId) -> AccountRef {
        AccountRef::of(AccountKind::DriverWallet, user, Currency::MNT)
    }
}
