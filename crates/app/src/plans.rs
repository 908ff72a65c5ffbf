//! Subscription plans (seed 002): admins' plans, drivers' purchases and
//! cancellations, and the renewal worker.
//!
//! Money: each cycle of a subscription is one journal entry, driver wallet
//! → platform revenue (and tax payable, when the platform's service tax is
//! set: a plan's amount is what the driver pays, tax included). Its
//! idempotency key is the cycle's ([`plugway_domain::plan::cycle_key`]), so a cycle is charged
//! once however often, and by however many nodes, it is tried.
//!
//! Renewals: [`run_due_subscriptions`] claims subscriptions with work due
//! under a lease stored in the database (one node of many works on each),
//! charges the cycles that started, lapses a subscription whose wallet
//! cannot pay (`ended_reason = insufficient_funds`) and expires one whose
//! term is over. A node that dies mid-pass leaves its leases to run out;
//! the next pass, on any node, picks the rows up again.

use std::time::Duration;

use plugway_domain::ledger::{AccountKind, AccountRef, Balanced, Posting};
use plugway_domain::plan::{
    split_tax_inclusive, CustomerPlanId, PlanId, PlanTerms, SubscriptionStatus,
};
use plugway_domain::UserId;
use plugway_store::{CustomerPlan, NewCustomerPlan, NewJournalEntry, Plan, StoreError};

use crate::context::App;
use crate::error::{AppError, AppResult};
use crate::wallet::wallet;

/// How long a worker holds a claimed subscription.
const LEASE_SECS: i64 = 60;
/// Subscriptions claimed per batch.
const BATCH: i64 = 50;
/// Batches per pass at most (a pass ends sooner when nothing is due).
const MAX_BATCHES: usize = 100;

fn plan_not_found() -> AppError {
    AppError::not_found("plan_not_found", "no such plan")
}

/// An active plan by id; `plan_not_found` (404) for a deleted or unknown one.
pub async fn active_plan(state: &App, id: PlanId) -> AppResult<Plan> {
    state
        .store
        .find_plan(id)
        .await?
        .filter(|p| p.active)
        .ok_or_else(plan_not_found)
}

/// Stores a new plan after checking its terms.
pub async fn create_plan(state: &App, terms: PlanTerms) -> AppResult<Plan> {
    terms.validate()?;
    Ok(state.store.insert_plan(&terms, state.clock.now()).await?)
}

/// Replaces a plan's terms (subscribers keep those they bought).
pub async fn update_plan(state: &App, id: PlanId, terms: PlanTerms) -> AppResult<Plan> {
    terms.validate()?;
    match state.store.update_plan(id, &terms, state.clock.now()).await {
        Err(StoreError::NotFound) => Err(plan_not_found()),
        other => Ok(other?),
    }
}

/// Withdraws a plan; its subscriptions run on.
pub async fn delete_plan(state: &App, id: PlanId) -> AppResult<()> {
    if state.store.deactivate_plan(id, state.clock.now()).await? {
        Ok(())
    } else {
        Err(plan_not_found())
    }
}

/// The journal entry that pays one cycle of `terms` from `user`'s wallet.
fn cycle_entry(state: &App, user: UserId, terms: &PlanTerms) -> AppResult<NewJournalEntry> {
    let currency = state.settings.wallet_currency;
    if terms.currency != currency {
        return Err(AppError::conflict(
            "currency_mismatch",
            format!(
                "this plan is in {} and the wallet in {}",
                terms.currency.code(),
                currency.code()
            ),
        ));
    }
    let (net, tax) = split_tax_inclusive(terms.amount, state.sessions.settings().service_tax_bps);
    let postings: Vec<Posting> = [
        (wallet(state, user), -terms.amount),
        (
            AccountRef::platform(AccountKind::PlatformRevenue, currency),
            net,
        ),
        (AccountRef::platform(AccountKind::TaxPayable, currency), tax),
    ]
    .into_iter()
    .filter(|(_, amount)| *amount != 0)
    .map(|(account, amount)| Posting { account, amount })
    .collect();
    let postings = Balanced::new(&postings).map_err(AppError::internal)?;
    let now = state.clock.now();
    Ok(NewJournalEntry {
        id: state.ids.new_uuid(now).to_string(),
        kind: "plan_payment".into(),
        // The store sets the reference and key once the subscription has its id.
        reference: String::new(),
        idempotency_key: None,
        postings,
        at: now,
    })
}

fn insufficient_funds() -> AppError {
    AppError::conflict(
        "insufficient_funds",
        "the wallet holds less than the plan's amount; top it up first",
    )
}

/// Buys `plan` for `user`: the first cycle is paid from the wallet in the
/// same transaction that stores the subscription. `plan_not_found` (404),
/// `plan_already_active` (409), `insufficient_funds` (409; nothing stored).
#[tracing::instrument(skip_all, fields(user = %user, plan = %plan_id), err(Debug))]
pub async fn purchase(state: &App, user: UserId, plan_id: PlanId) -> AppResult<CustomerPlan> {
    let plan = active_plan(state, plan_id).await?;
    let entry = cycle_entry(state, user, &plan.terms)?;
    let new = NewCustomerPlan {
        user_id: user,
        plan_id: plan.id,
        terms: plan.terms,
        started_at: state.clock.now(),
    };
    match state.store.purchase_plan(&new, &entry).await {
        Ok(bought) => {
            metrics::counter!("plugway_plan_purchases_total").increment(1);
            Ok(bought)
        }
        Err(StoreError::Conflict(plugway_store::Conflict::InsufficientFunds)) => {
            Err(insufficient_funds())
        }
        Err(StoreError::Conflict(plugway_store::Conflict::PlanAlreadyActive)) => {
            Err(AppError::conflict(
                "plan_already_active",
                "you already have an active subscription to this plan",
            ))
        }
        Err(e) => Err(e.into()),
    }
}

/// A driver's own subscription; another's answers `customer_plan_not_found`
/// (404), as a missing one does.
pub async fn own_customer_plan(
    state: &App,
    user: UserId,
    id: CustomerPlanId,
) -> AppResult<CustomerPlan> {
    state
        .store
        .find_customer_plan(id)
        .await?
        .filter(|p| p.user_id == user)
        .ok_or_else(|| AppError::not_found("customer_plan_not_found", "no such customer plan"))
}

/// What a cancellation did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CancelOutcome {
    /// Cancelled now.
    Cancelled,
    /// The plan does not allow it; nothing changed.
    NotCancellable,
    /// It had ended already; nothing changed.
    NotActive,
}

/// Cancels a driver's subscription if its plan allows: no further charges;
/// the cycle already paid keeps its benefits to its end (no refund).
#[tracing::instrument(skip_all, fields(user = %user, customer_plan = %id), err(Debug))]
pub async fn cancel(
    state: &App,
    user: UserId,
    id: CustomerPlanId,
) -> AppResult<(CancelOutcome, CustomerPlan)> {
    let plan = own_customer_plan(state, user, id).await?;
    if !plan.terms.is_cancellable {
        return Ok((CancelOutcome::NotCancellable, plan));
    }
    if plan.status != SubscriptionStatus::Active {
        return Ok((CancelOutcome::NotActive, plan));
    }
    let now = state.clock.now();
    match state
        .store
        .end_customer_plan(id, SubscriptionStatus::Cancelled, "cancelled", now)
        .await?
    {
        Some(ended) => {
            notify_plan_ended(state, &ended).await;
            Ok((CancelOutcome::Cancelled, ended))
        }
        // It ended meanwhile (expired or lapsed in a renewal pass).
        None => Ok((
            CancelOutcome::NotActive,
            own_customer_plan(state, user, id).await?,
        )),
    }
}

/// One pass of the renewal worker: claims what is due now (under a lease
/// in the database, so concurrent passes on several nodes never work on
/// the same subscription), charges every cycle that has started, lapses a
/// subscription the wallet cannot pay for, expires one whose term ended.
/// Returns how many cycles were charged and subscriptions ended.
#[tracing::instrument(skip_all, err(Debug))]
pub async fn run_due_subscriptions(state: &App) -> AppResult<usize> {
    let mut done = 0;
    for _ in 0..MAX_BATCHES {
        let now = state.clock.now();
        let claimed = state
            .store
            .claim_due_customer_plans(now, now + chrono::Duration::seconds(LEASE_SECS), BATCH)
            .await?;
        if claimed.is_empty() {
            break;
        }
        for plan in claimed {
            match step(state, &plan).await {
                Ok(changed) => done += usize::from(changed),
                Err(e) => {
                    tracing::warn!(customer_plan = %plan.id, code = e.code, error = %e.message,
                        "subscription renewal failed; retried on a later pass");
                    // Left leased: the next pass after the lease retries it,
                    // and this pass does not spin on it.
                }
            }
        }
    }
    Ok(done)
}

/// Does the one thing due on a claimed subscription. True when it changed.
async fn step(state: &App, plan: &CustomerPlan) -> AppResult<bool> {
    let now = state.clock.now();
    let next_cycle = plan.cycles_paid + 1;
    let cycle_due = plan
        .terms
        .charge_at(plan.started_at, next_cycle)
        .filter(|at| *at <= now && *at < plan.end_at);
    if cycle_due.is_some() {
        // The wallet's currency changed since the plan was sold: no cycle
        // can be paid any more, so the subscription ends rather than being
        // claimed (and keeping its benefits) forever.
        if plan.terms.currency != state.settings.wallet_currency {
            let lapsed = state
                .store
                .end_customer_plan(
                    plan.id,
                    SubscriptionStatus::Lapsed,
                    "currency_mismatch",
                    now,
                )
                .await?;
            if let Some(lapsed) = &lapsed {
                tracing::warn!(customer_plan = %plan.id, "plan currency is not the wallet's; subscription lapsed");
                notify_plan_ended(state, lapsed).await;
            }
            return Ok(lapsed.is_some());
        }
        let entry = cycle_entry(state, plan.user_id, &plan.terms)?;
        let next = plan.terms.charge_at(plan.started_at, next_cycle + 1);
        return match state
            .store
            .renew_customer_plan(plan.id, next_cycle, next, &entry, now)
            .await
        {
            Ok(renewed) => {
                metrics::counter!("plugway_plan_renewals_total").increment(1);
                notify_plan_renewed(state, &renewed).await;
                Ok(true)
            }
            Err(StoreError::Conflict(plugway_store::Conflict::InsufficientFunds)) => {
                let lapsed = state
                    .store
                    .end_customer_plan(
                        plan.id,
                        SubscriptionStatus::Lapsed,
                        "insufficient_funds",
                        now,
                    )
                    .await?;
                if let Some(lapsed) = &lapsed {
                    metrics::counter!("plugway_plan_lapses_total").increment(1);
                    notify_plan_ended(state, lapsed).await;
                }
                Ok(lapsed.is_some())
            }
            // Cancelled meanwhile, or this cycle recorded by another worker.
            Err(StoreError::Conflict(plugway_store::Conflict::PlanChanged)) => Ok(false),
            Err(e) => Err(e.into()),
        };
    }
    if plan.end_at <= now {
        let expired = state
            .store
            .end_customer_plan(plan.id, SubscriptionStatus::Expired, "expired", now)
            .await?;
        if let Some(expired) = &expired {
            notify_plan_ended(state, expired).await;
        }
        return Ok(expired.is_some());
    }
    // Claimed but nothing to do (next_charge_at stale): let it go.
    state.store.release_customer_plan(plan.id).await?;
    Ok(false)
}

/// Runs [`run_due_subscriptions`] every `every` until the process ends.
pub async fn run(state: App, every: Duration) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if let Err(e) = run_due_subscriptions(&state).await {
            tracing::warn!(code = e.code, error = %e.message, "subscription renewal pass failed");
        }
    }
}

/// A subscription's cycle was paid: the driver is told (and, on the last
/// cycle, when the plan ends).
pub async fn notify_plan_renewed(state: &App, plan: &CustomerPlan) {
    tracing::info!(customer_plan = %plan.id, user = %plan.user_id, cycle = plan.cycles_paid, "plan renewed");
    super::notify::plan_renewed(state, plan).await;
}

/// A subscription ended (cancelled, lapsed or expired).
pub async fn notify_plan_ended(state: &App, plan: &CustomerPlan) {
    tracing::info!(customer_plan = %plan.id, user = %plan.user_id, status = plan.status.as_str(),
        reason = plan.ended_reason.as_deref().unwrap_or_default(), "plan ended");
    super::notify::plan_ended(state, plan).await;
}
