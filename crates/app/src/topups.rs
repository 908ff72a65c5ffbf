//! Wallet top-ups through a payment gateway (seed 001's replenish).
//!
//! The gateway's callback carries no signature, so it proves nothing by
//! itself: whoever calls it (QPay, the app asking for the status, the
//! reconciler for callbacks that never came) makes Plugway ask the gateway
//! what was paid, and only a payment of exactly the invoice's amount and
//! currency credits the wallet. The credit is one ledger entry keyed by the
//! gateway's invoice id, so a replayed callback credits once, and the
//! invoice is marked settled after it, so a crash between the two is
//! finished by the next check.

use std::sync::Arc;
use std::time::Duration;

use plugway_domain::ledger::{AccountKind, AccountRef, Balanced, Posting};
use plugway_domain::UserId;
use plugway_store::{Bill, GatewayInvoice, NewJournalEntry};
use serde_json::json;

use crate::billing;
use crate::context::App;
use crate::error::{AppError, AppResult, ErrorKind};
use crate::ports::payments::{GatewayError, GatewaySetup, PaymentGateway};
use crate::wallet::wallet;

/// Issues a top-up invoice of `amount` (major units of the wallet currency).
pub async fn replenish(
    state: &App,
    user: UserId,
    amount: f64,
    option: &str,
) -> AppResult<GatewayInvoice> {
    let what = top_up(state, amount)?;
    let setup = setup_for(state, option)?;
    issue(
        state,
        user,
        what,
        setup.gateway.clone(),
        &setup.callback_base,
    )
    .await
}

fn setup_for<'a>(state: &'a App, option: &str) -> AppResult<&'a GatewaySetup> {
    state
        .payments
        .as_ref()
        .filter(|s| s.gateway.option() == option)
        .ok_or_else(|| AppError::invalid_field("option", "this payment option is not available"))
}

/// Issues a Razorpay order: a top-up of `amount` (major units), or the
/// payment of `purchase`.
pub async fn razorpay_order(
    state: &App,
    user: UserId,
    amount: Option<f64>,
    bill: Option<&Bill>,
) -> AppResult<GatewayInvoice> {
    let gateway: Arc<dyn PaymentGateway> = match &state.razorpay {
        Some(r) => r.clone(),
        None => {
            return Err(AppError::invalid_field(
                "option",
                "Razorpay is not configured on this server",
            ))
        }
    };
    let what = match (amount, bill) {
        (Some(amount), None) => top_up(state, amount)?,
        (None, Some(bill)) => bill_invoice(bill)?,
        _ => {
            return Err(AppError::invalid_field(
                "amount",
                "give either an amount (a top-up) or a purchase_id",
            ))
        }
    };
    issue(state, user, what, gateway, "").await
}

/// Issues an invoice that pays `bill` through the gateway `option`.
pub async fn pay_bill(
    state: &App,
    user: UserId,
    bill: &Bill,
    option: &str,
) -> AppResult<GatewayInvoice> {
    let what = bill_invoice(bill)?;
    let setup = setup_for(state, option)?;
    issue(
        state,
        user,
        what,
        setup.gateway.clone(),
        &setup.callback_base,
    )
    .await
}

/// What a gateway collects for a bill: what it leaves due.
fn bill_invoice(bill: &Bill) -> AppResult<Invoiced> {
    if bill.status == "paid" {
        return Err(AppError::conflict("already_paid", "this purchase is paid"));
    }
    if bill.split.due <= 0 {
        return Err(AppError::conflict(
            "nothing_to_pay",
            "the coupon and points cover this bill: pay it with EVM",
        ));
    }
    Ok(Invoiced {
        purpose: "bill",
        reference: Some(bill.id.clone()),
        amount: bill.split.due,
        currency: bill.currency,
        description: "Plugway charging session",
    })
}

/// A top-up of `amount` major units of the wallet currency, checked.
fn top_up(state: &App, amount: f64) -> AppResult<Invoiced> {
    let currency = state.settings.wallet_currency;
    let minor = currency
        .to_minor(amount)
        .filter(|m| *m > 0 && *m <= 100_000_000_000)
        .ok_or_else(|| AppError::invalid_field("amount", "must be a positive amount"))?;
    Ok(Invoiced {
        purpose: "top_up",
        reference: None,
        amount: minor,
        currency,
        description: "Plugway wallet top-up",
    })
}

/// What an invoice is for.
struct Invoiced {
    purpose: &'static str,
    reference: Option<String>,
    amount: i64,
    currency: plugway_domain::Currency,
    description: &'static str,
}

async fn issue(
    state: &App,
    user: UserId,
    what: Invoiced,
    gateway: Arc<dyn PaymentGateway>,
    callback_base: &str,
) -> AppResult<GatewayInvoice> {
    let option = gateway.option();
    let now = state.clock.now();
    let id = state.ids.new_uuid(now).to_string();
    let callback = format!(
        "{}/api/v1/payments/{}/callback/{id}",
        callback_base.trim_end_matches('/'),
        option.to_ascii_lowercase()
    );
    let issued = gateway
        .create_invoice(
            &id,
            what.amount,
            what.currency.code(),
            what.description,
            &callback,
        )
        .await
        .map_err(AppError::from)?;
    let invoice = GatewayInvoice {
        id,
        user_id: user,
        purpose: what.purpose.to_owned(),
        reference: what.reference,
        gateway: option.to_ascii_lowercase(),
        gateway_invoice_id: issued.gateway_invoice_id,
        amount: what.amount,
        currency: what.currency.code().to_owned(),
        url: issued.url,
        status: "pending".into(),
        created_at: now,
        settled_at: None,
    };
    state.store.insert_gateway_invoice(&invoice).await?;
    Ok(invoice)
}

/// Asks the gateway about a pending invoice and settles it: `success`
/// credits the wallet once; a payment that does not match the invoice is
/// `error`; nothing paid yet stays `pending`. The invoice's status after.
pub async fn settle(state: &App, invoice: &GatewayInvoice) -> AppResult<String> {
    if invoice.status != "pending" {
        return Ok(invoice.status.clone());
    }
    let Some(gateway) = state.gateway_named(&invoice.gateway) else {
        return Ok(invoice.status.clone());
    };
    let check = match gateway.check(&invoice.gateway_invoice_id).await {
        Ok(check) => check,
        // Unknown is not failed: the reconciler asks again later.
        Err(GatewayError::Unavailable(why)) => {
            tracing::warn!(%why, invoice = %invoice.id, "cannot check a payment now");
            return Ok("pending".into());
        }
        Err(e) => return Err(AppError::from(e)),
    };
    if !check.paid {
        return Ok("pending".into());
    }
    let now = state.clock.now();
    if check.paid_amount != invoice.amount
        || check.currency.as_deref() != Some(invoice.currency.as_str())
    {
        tracing::error!(invoice = %invoice.id, paid = check.paid_amount, due = invoice.amount,
            "payment does not match its invoice; not credited");
        if state
            .store
            .settle_gateway_invoice(&invoice.id, "error", now)
            .await?
        {
            publish(state, invoice, "error").await;
        }
        return Ok("error".into());
    }
    let currency =
        plugway_domain::Currency::parse(&invoice.currency).map_err(AppError::internal)?;
    if invoice.purpose == "bill" && book_bill(state, invoice, currency).await? {
        // The PAYMENT event went out with the booking.
        state
            .store
            .settle_gateway_invoice(&invoice.id, "success", now)
            .await?;
        return Ok("success".into());
    }
    let postings = Balanced::new(&[
        Posting {
            account: wallet(state, invoice.user_id),
            amount: invoice.amount,
        },
        Posting {
            account: AccountRef::platform(AccountKind::GatewayClearing, currency),
            amount: -invoice.amount,
        },
    ])
    .map_err(AppError::internal)?;
    state
        .store
        .post_entry(&NewJournalEntry {
            id: state.ids.new_uuid(now).to_string(),
            kind: "top_up".into(),
            reference: invoice.id.clone(),
            idempotency_key: Some(format!(
                "{}:{}",
                invoice.gateway, invoice.gateway_invoice_id
            )),
            postings,
            at: now,
        })
        .await?;
    if state
        .store
        .settle_gateway_invoice(&invoice.id, "success", now)
        .await?
    {
        publish(state, invoice, "success").await;
        crate::notify::wallet_topped_up(state, invoice).await;
    }
    Ok("success".into())
}

/// Books a paid bill invoice: the gateway's money pays the bill (host
/// share, commission, tax; coupon and points from promotions). A purchase
/// is paid once whichever way; if it was paid another way meanwhile, or
/// the bill can no longer be honoured (its coupon ran out, its points were
/// spent), returns false and the money goes to the wallet instead.
async fn book_bill(
    state: &App,
    invoice: &GatewayInvoice,
    currency: plugway_domain::Currency,
) -> AppResult<bool> {
    let bill = match invoice.reference.as_deref() {
        Some(id) => state.store.find_bill(id).await?,
        None => None,
    }
    .ok_or_else(|| AppError::internal("bill invoice without its bill"))?;
    let purchase = bill.subject_id.parse().ok().map(plugway_domain::PurchaseId);
    let purchase = match purchase {
        Some(id) => state.store.find_purchase(id).await?,
        None => None,
    }
    .ok_or_else(|| AppError::internal("bill for a missing purchase"))?;
    let clearing = AccountRef::platform(AccountKind::GatewayClearing, currency);
    match billing::pay_bill(
        state,
        &bill,
        &purchase,
        clearing,
        &invoice.gateway,
        Some(&invoice.id),
    )
    .await
    {
        Ok(paid) => Ok(paid),
        Err(e) if e.kind == ErrorKind::Conflict => {
            tracing::warn!(invoice = %invoice.id, code = e.code, "bill not honoured; the payment tops up the wallet");
            Ok(false)
        }
        Err(e) => Err(e),
    }
}

/// The driver's event for a settled invoice: REPLENISHMENT for top-ups (and
/// for bill payments that went to the wallet instead), PAYMENT for a bill's
/// payment that failed. A paid bill's PAYMENT goes out with its booking.
async fn publish(state: &App, invoice: &GatewayInvoice, status: &str) {
    let kind = if invoice.purpose == "bill" && status != "success" {
        "PAYMENT"
    } else {
        "REPLENISHMENT"
    };
    // Seed 001's PAYMENT event says 'success' | 'fail'; the invoice's own
    // status (what `purchases/{id}/status` answers) stays `error`.
    let status = match (kind, status) {
        ("PAYMENT", "error") => "fail",
        (_, status) => status,
    };
    let amount = plugway_domain::Currency::parse(&invoice.currency)
        .map(|c| c.to_major(invoice.amount))
        .unwrap_or_default();
    let body = json!({"status": status, "amount": amount, "invoiceId": invoice.id, "currency": invoice.currency});
    if let Err(e) = state
        .bus
        .publish(
            &format!("user.{}.{kind}", invoice.user_id),
            body.to_string().into_bytes(),
        )
        .await
    {
        tracing::warn!(error = %e, kind, "payment event not published");
    }
}

/// Settles pending invoices whose callback never came: every `every`, those
/// older than `every` are checked with the gateway.
pub async fn reconcile(state: App, every: Duration) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let age = chrono::Duration::from_std(every).unwrap_or(chrono::Duration::seconds(30));
        let pending = match state
            .store
            .list_pending_gateway_invoices(state.clock.now() - age, 100)
            .await
        {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!(error = %e, "cannot list pending payments");
                continue;
            }
        };
        for invoice in pending {
            if let Err(e) = settle(&state, &invoice).await {
                tracing::warn!(error = %e.message, invoice = %invoice.id, "payment reconciliation failed");
            }
        }
    }
}
