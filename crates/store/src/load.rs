//! Site load management's records: each site's power limit, and every
//! sharing of it (who or what asked, the budget, what each connector was
//! allowed, what it drew, and how its charger answered).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use plugway_domain::load::PowerLimit;
use plugway_domain::{ChargePointId, SiteId};
use serde::{Deserialize, Serialize};

use crate::Result;

/// A site's power limit as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SitePowerLimit {
    /// The site.
    pub site_id: SiteId,
    /// The limit.
    pub limit: PowerLimit,
    /// Who set it last: `user:<id>` or `api_key:<id>`.
    pub set_by: String,
    /// When.
    pub updated_at: DateTime<Utc>,
}

/// What one connector was allowed at one sharing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoadAllocation {
    /// The charge point.
    pub charge_point_id: String,
    /// Its connector (1.6) or EVSE (2.0.1).
    pub connector_id: i64,
    /// Our transaction running there, if one is.
    pub transaction_id: Option<i64>,
    /// The allowance, in watts.
    pub allowed_w: i64,
    /// What it drew when the sharing was made (its latest power reading),
    /// if it reported one.
    pub measured_w: Option<i64>,
    /// How the charger took it: `accepted`, `unchanged` (already set),
    /// `rejected`, `no_answer`, `offline` (counted at its last allowance),
    /// `fallback` (counted at its static limit: it takes no profiles).
    pub outcome: String,
}

/// One sharing of a site's limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadChange {
    /// Its id (0 before it is stored); grows with time.
    pub id: i64,
    /// The site.
    pub site_id: SiteId,
    /// When.
    pub at: DateTime<Utc>,
    /// Why: `limit_set`, `session_started`, `session_stopped`, `measured`,
    /// `schedule`, `charger_connected`, `limit_removed`, `periodic`.
    pub reason: String,
    /// Who asked, when someone did (`user:<id>` or `api_key:<id>`).
    pub requested_by: Option<String>,
    /// The budget shared (limit less margin), in watts.
    pub budget_w: i64,
    /// What each connector of the site was allowed.
    pub allocations: Vec<LoadAllocation>,
}

/// Load management's records.
#[async_trait]
pub trait LoadStore: Send + Sync {
    /// Sets (or replaces) `site`'s power limit.
    async fn set_power_limit(&self, limit: &SitePowerLimit) -> Result<()>;
    /// `site`'s power limit, if it has one.
    async fn find_power_limit(&self, site: SiteId) -> Result<Option<SitePowerLimit>>;
    /// Removes `site`'s power limit; false when it had none.
    async fn delete_power_limit(&self, site: SiteId) -> Result<bool>;
    /// Every site's power limit (the schedule worker's round).
    async fn list_power_limits(&self) -> Result<Vec<SitePowerLimit>>;
    /// Records a sharing; returns its id.
    async fn append_load_change(&self, change: &LoadChange) -> Result<i64>;
    /// `site`'s sharings, newest first, older than `before` (an id) when
    /// given.
    async fn list_load_changes(
        &self,
        site: SiteId,
        before: Option<i64>,
        limit: i64,
    ) -> Result<Vec<LoadChange>>;
    /// The ids of `charge_point`'s transactions that have not stopped.
    async fn open_transaction_ids(&self, charge_point: &ChargePointId) -> Result<Vec<i64>>;
}
