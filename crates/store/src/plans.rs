//! The storage port for subscription plans and drivers' subscriptions to
//! them (seed 002's plans, purchase-plan and cancel-plan).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use plugway_domain::plan::{CustomerPlanId, PlanBenefits, PlanId, PlanTerms, SubscriptionStatus};
use plugway_domain::{Currency, UserId};

use crate::{NewJournalEntry, Result};

/// A plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// Its integer id.
    pub id: PlanId,
    /// Its terms.
    pub terms: PlanTerms,
    /// Offered; false once an admin deleted it (subscribers keep theirs).
    pub active: bool,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

/// A subscription: a driver's purchase of a plan, with the plan's terms as
/// they were when bought (a later change of the plan does not change what
/// a subscriber pays).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomerPlan {
    /// Its integer id.
    pub id: CustomerPlanId,
    /// The subscriber.
    pub user_id: UserId,
    /// The plan bought.
    pub plan_id: PlanId,
    /// The plan's terms at purchase.
    pub terms: PlanTerms,
    /// Where it is.
    pub status: SubscriptionStatus,
    /// Bought.
    pub started_at: DateTime<Utc>,
    /// Its term ends (start + cycles × days per cycle).
    pub end_at: DateTime<Utc>,
    /// Cycles charged so far.
    pub cycles_paid: i64,
    /// When the next cycle is charged; `None` when no more will be.
    pub next_charge_at: Option<DateTime<Utc>>,
    /// The end of the cycles paid for.
    pub paid_until: DateTime<Utc>,
    /// Why it ended (`cancelled`, `insufficient_funds`, `expired`).
    pub ended_reason: Option<String>,
    /// When it ended.
    pub ended_at: Option<DateTime<Utc>>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

/// A subscription to store (and pay for its first cycle).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCustomerPlan {
    /// The subscriber.
    pub user_id: UserId,
    /// The plan.
    pub plan_id: PlanId,
    /// The plan's terms now.
    pub terms: PlanTerms,
    /// Now.
    pub started_at: DateTime<Utc>,
}

/// A subscriber's benefits as they apply at some instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ActiveBenefits {
    /// The subscription.
    pub customer_plan: CustomerPlanId,
    /// Its plan's currency.
    pub currency: Currency,
    /// What it gives.
    pub benefits: PlanBenefits,
}

/// Storage for plans and subscriptions.
#[async_trait]
pub trait PlanStore: Send + Sync {
    /// Stores a new, active plan and returns it with its id.
    async fn insert_plan(&self, terms: &PlanTerms, now: DateTime<Utc>) -> Result<Plan>;
    /// A plan by id, deleted or not.
    async fn find_plan(&self, id: PlanId) -> Result<Option<Plan>>;
    /// Active plans, by id.
    async fn list_plans(&self, offset: i64, limit: i64) -> Result<Vec<Plan>>;
    /// How many active plans there are.
    async fn count_plans(&self) -> Result<i64>;
    /// Replaces an active plan's terms (subscriptions keep the terms they
    /// were bought with); `NotFound` when there is no active plan `id`.
    async fn update_plan(&self, id: PlanId, terms: &PlanTerms, now: DateTime<Utc>) -> Result<Plan>;
    /// Withdraws a plan: it no longer lists and cannot be bought, and its
    /// subscriptions run on. False when there was no active plan `id`.
    async fn deactivate_plan(&self, id: PlanId, now: DateTime<Utc>) -> Result<bool>;

    /// In one transaction: stores the subscription (active, first cycle
    /// paid) and posts `entry` (its idempotency key is set here to the
    /// first cycle's [`plugway_domain::plan::cycle_key`]).
    /// `Conflict(PlanAlreadyActive)` when the driver has an active
    /// subscription to the plan, `Conflict(InsufficientFunds)` when the
    /// wallet holds too little; on either nothing is written.
    async fn purchase_plan(
        &self,
        new: &NewCustomerPlan,
        entry: &NewJournalEntry,
    ) -> Result<CustomerPlan>;
    /// A subscription by id.
    async fn find_customer_plan(&self, id: CustomerPlanId) -> Result<Option<CustomerPlan>>;
    /// A driver's subscriptions, newest first.
    async fn list_customer_plans(
        &self,
        user: UserId,
        offset: i64,
        limit: i64,
    ) -> Result<Vec<CustomerPlan>>;
    /// How many subscriptions a driver has.
    async fn count_customer_plans(&self, user: UserId) -> Result<i64>;
    /// Ends an active subscription with `status` and `reason`: no further
    /// charges. The subscription as it is now, or `None` when it was not
    /// active (nothing changed).
    async fn end_customer_plan(
        &self,
        id: CustomerPlanId,
        status: SubscriptionStatus,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<CustomerPlan>>;

    /// Claims up to `limit` active subscriptions with work due at `now` (a
    /// cycle to charge, or the end of their term) that no other worker
    /// holds, until `lease_until`; each is claimed by one caller only.
    async fn claim_due_customer_plans(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<CustomerPlan>>;
    /// In one transaction: records cycle `cycle` of an active subscription
    /// whose `cycles_paid` is `cycle − 1` as paid, sets its next charge, and
    /// posts `entry` (its key set to the cycle's key); releases the lease.
    /// `Conflict(InsufficientFunds)` (nothing written), or
    /// `Conflict(PlanChanged)` when the subscription is no longer active
    /// or that cycle was already recorded.
    async fn renew_customer_plan(
        &self,
        id: CustomerPlanId,
        cycle: i64,
        next_charge_at: Option<DateTime<Utc>>,
        entry: &NewJournalEntry,
        now: DateTime<Utc>,
    ) -> Result<CustomerPlan>;
    /// Gives up a claim early (after a failure) so the next pass retries.
    async fn release_customer_plan(&self, id: CustomerPlanId) -> Result<()>;
    /// The benefits of the driver's subscriptions at `at`: active ones, and
    /// cancelled ones whose paid cycle has not ended.
    async fn plan_benefits_at(
        &self,
        user: UserId,
        at: DateTime<Utc>,
    ) -> Result<Vec<ActiveBenefits>>;
}
