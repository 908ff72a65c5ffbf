//! The storage port for the included energy of plan subscriptions
//! (`included_wh_per_cycle`): what each cycle has left, and the
//! transaction that stores a session's purchase and takes its free energy
//! from those allowances, exactly once.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use plugway_domain::plan::CustomerPlanId;
use plugway_domain::{ChargingSessionId, Currency, UserId};

use crate::{ChargingSession, Purchase, Result};

/// The included energy of one subscription's cycle, as it stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlanAllowance {
    /// The subscription.
    pub customer_plan: CustomerPlanId,
    /// Its plan's currency (free energy applies to tariffs in it only).
    pub currency: Currency,
    /// The cycle ([`plugway_domain::plan::PlanTerms::cycle_at`]).
    pub cycle: i64,
    /// Free energy per cycle, Wh.
    pub included_wh: i64,
    /// Used so far in this cycle, Wh.
    pub used_wh: i64,
}

impl PlanAllowance {
    /// What is left this cycle, Wh (never negative).
    pub fn left_wh(&self) -> i64 {
        self.included_wh.saturating_sub(self.used_wh).max(0)
    }
}

/// Free energy a session takes from one allowance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AllowanceUse {
    /// The subscription.
    pub customer_plan: CustomerPlanId,
    /// Its cycle.
    pub cycle: i64,
    /// Wh taken (more than 0).
    pub wh: i64,
}

/// A session's draw on one allowance, as recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionAllowanceUse {
    /// The session.
    pub session_id: ChargingSessionId,
    /// What it took.
    pub used: AllowanceUse,
}

/// Storage for the use of plans' included energy.
#[async_trait]
pub trait PlanUsageStore: Send + Sync {
    /// The allowances of the driver's subscriptions in force at `at` (active
    /// ones, and cancelled ones within their paid cycle, as
    /// [`crate::PlanStore::plan_benefits_at`]) that include energy, oldest
    /// subscription first, each for its cycle at `at`.
    async fn plan_allowances_at(
        &self,
        user: UserId,
        at: DateTime<Utc>,
    ) -> Result<Vec<PlanAllowance>>;

    /// Wh used of a subscription's cycle (0 when none was).
    async fn plan_cycle_usage(&self, customer_plan: CustomerPlanId, cycle: i64) -> Result<i64>;

    /// What a session took from allowances, by subscription.
    async fn session_allowance_uses(
        &self,
        session: ChargingSessionId,
    ) -> Result<Vec<SessionAllowanceUse>>;

    /// [`crate::ChargingSessionStore::finish_charging_session`] that also
    /// takes `uses` from their allowances, all in one transaction:
    ///
    /// - the session already has a purchase (a repeated StopTransaction,
    ///   or a racing one that committed first): that purchase is returned
    ///   and nothing is taken or written;
    /// - a use no longer fits (another session took from the allowance
    ///   since it was read: `used_wh + wh` would pass the subscription's
    ///   `included_wh_per_cycle`): nothing is written,
    ///   `Conflict(PlanAllowanceChanged)`, and the caller prices again
    ///   from a fresh [`PlanUsageStore::plan_allowances_at`];
    /// - else the purchase is stored, the session finished and each use
    ///   added to its cycle's usage and recorded against the session.
    ///
    /// `now` stamps the usage rows.
    async fn finish_charging_session_using_allowances(
        &self,
        session: &ChargingSession,
        purchase: &Purchase,
        uses: &[AllowanceUse],
        now: DateTime<Utc>,
    ) -> Result<Purchase>;
}
