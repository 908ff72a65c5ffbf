//! The storage port for charging sessions (a driver's use of a connector,
//! from "start" to the charger's StopTransaction) and the purchases they end in.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use plugway_domain::tariff::{Cost, Tariff};
use plugway_domain::{ChargePointId, ChargingSessionId, EvseId, PurchaseId, SessionState, UserId};
use serde::{Deserialize, Serialize};

use crate::{AllowanceUse, Result};

/// Who started a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SessionOrigin {
    /// The driver's app (`POST /devices/{id}/start`).
    App,
    /// An id tag presented at the charger (RFID card, local start).
    Charger,
}

impl SessionOrigin {
    /// The stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::App => "app",
            Self::Charger => "charger",
        }
    }

    /// Reads the stored form (anything unknown is a charger start).
    pub fn from_stored(s: &str) -> Self {
        if s == "app" {
            Self::App
        } else {
            Self::Charger
        }
    }
}

/// A span of waiting time: plugged in, not drawing. `end` is `None` while it lasts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct WaitingSpan {
    /// From.
    pub start: DateTime<Utc>,
    /// Until (exclusive), once it ended.
    pub end: Option<DateTime<Utc>>,
}

/// A charging session as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct ChargingSession {
    /// Its id.
    pub id: ChargingSessionId,
    /// The driver, when the id tag belongs to an account.
    pub user_id: Option<UserId>,
    /// The EVSE the connector belongs to, when one is linked.
    pub evse_id: Option<EvseId>,
    /// The host owning the EVSE (or the charge point).
    pub host_id: Option<UserId>,
    /// Charge point.
    pub charge_point_id: ChargePointId,
    /// OCPP connector id.
    pub connector_id: i64,
    /// The id tag the charger starts it with, as sent.
    pub id_tag: String,
    /// Who started it.
    pub origin: SessionOrigin,
    /// Where it is.
    pub state: SessionState,
    /// The OCPP transaction, once StartTransaction came.
    pub transaction_id: Option<i64>,
    /// The tariff in force when it was asked for: frozen for its whole life.
    pub tariff: Tariff,
    /// meterStart, Wh.
    pub meter_start_wh: Option<i64>,
    /// Latest energy register reading, Wh.
    pub last_meter_wh: Option<i64>,
    /// When that reading was taken.
    pub last_meter_at: Option<DateTime<Utc>>,
    /// Waiting spans, oldest first; at most the last one is open.
    pub waiting: Vec<WaitingSpan>,
    /// Why it failed, or why it ended abnormally.
    pub failure: Option<plugway_domain::session::SessionFailure>,
    /// Asked for.
    pub created_at: DateTime<Utc>,
    /// The charger's start time.
    pub started_at: Option<DateTime<Utc>>,
    /// The charger's stop time.
    pub stopped_at: Option<DateTime<Utc>>,
    /// The purchase, once finished.
    pub purchase_id: Option<PurchaseId>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

/// What a finished session costs (seed 001's purchase).
#[derive(Debug, Clone, PartialEq)]
pub struct Purchase {
    /// Its id.
    pub id: PurchaseId,
    /// The session it prices (one purchase per session).
    pub session_id: ChargingSessionId,
    /// Who pays, when known.
    pub user_id: Option<UserId>,
    /// Who earns.
    pub host_id: Option<UserId>,
    /// Where.
    pub evse_id: Option<EvseId>,
    /// Charge point.
    pub charge_point_id: ChargePointId,
    /// Connector.
    pub connector_id: i64,
    /// The priced breakdown (amounts in minor units of `cost.currency`).
    pub cost: Cost,
    /// The tariff it was priced with.
    pub tariff: Tariff,
    /// Session start (charger time).
    pub started_at: DateTime<Utc>,
    /// Session stop (charger time).
    pub stopped_at: DateTime<Utc>,
    /// "unpaid" until paid; "held" while its energy waits for an admin's
    /// review (`hold_reason` says why), "void" when an admin voided it.
    pub payment_status: String,
    /// Driver's score, 1 to 5.
    pub feedback_score: Option<i64>,
    /// Driver's words.
    pub feedback_description: Option<String>,
    /// When the feedback came.
    pub feedback_at: Option<DateTime<Utc>>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Why it is (or was) held for review; none for a purchase never held.
    pub hold_reason: Option<String>,
}

/// One row of a host's earnings: a UTC day (and an EVSE, when split by EVSE).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EarningsRow {
    /// Days since 1970-01-01 (UTC).
    pub day: i64,
    /// The EVSE, when the query splits by EVSE.
    pub evse_id: Option<EvseId>,
    /// ISO 4217 code.
    pub currency: String,
    /// Finished sessions.
    pub sessions: i64,
    /// Energy, Wh.
    pub energy_wh: i64,
    /// Sum of purchase totals (tax included), minor units.
    pub amount: i64,
    /// Sum of the tax in them, minor units.
    pub tax: i64,
    /// Of those sessions, the ones whose purchase was paid (in any way; a
    /// partly refunded one counts, a wholly refunded one does not).
    pub paid_sessions: i64,
    /// Their totals (tax included), minor units.
    pub paid_amount: i64,
    /// The tax in those, minor units.
    pub paid_tax: i64,
}

/// Storage for charging sessions and purchases.
#[async_trait]
pub trait ChargingSessionStore: Send + Sync {
    /// Stores a new session. `Conflict(ConnectorBusy)` when the connector
    /// has an active session; `Conflict(ActiveSession)` when the driver
    /// already has `max_active_per_user` active ones (checked under a lock
    /// on the driver's account row, so parallel starts cannot both pass).
    async fn create_charging_session(
        &self,
        session: &ChargingSession,
        max_active_per_user: i64,
    ) -> Result<()>;
    /// A session.
    async fn find_charging_session(&self, id: ChargingSessionId)
        -> Result<Option<ChargingSession>>;
    /// The session of an OCPP transaction.
    async fn find_session_by_transaction(
        &self,
        transaction_id: i64,
    ) -> Result<Option<ChargingSession>>;
    /// The active session on a connector.
    async fn active_session_on_connector(
        &self,
        charge_point: &ChargePointId,
        connector_id: i64,
    ) -> Result<Option<ChargingSession>>;
    /// Active sessions, of one driver or all, oldest first.
    async fn list_active_charging_sessions(
        &self,
        user: Option<UserId>,
        limit: i64,
    ) -> Result<Vec<ChargingSession>>;
    /// Sessions written at or after `since` (by `updated_at`), active or
    /// finished, oldest write first, at most `limit`: what changed since a
    /// reader last looked (the session ticker keeps its running sessions so).
    async fn list_charging_sessions_updated_since(
        &self,
        since: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<ChargingSession>>;
    /// Writes the session's changeable fields if its stored state is still
    /// `expected` (compare and set); false when another writer got there first.
    async fn update_charging_session(
        &self,
        session: &ChargingSession,
        expected: SessionState,
    ) -> Result<bool>;
    /// Finishes a session and stores its purchase, in one transaction. A
    /// repeat (a StopTransaction sent twice) returns the first purchase.
    async fn finish_charging_session(
        &self,
        session: &ChargingSession,
        purchase: &Purchase,
    ) -> Result<Purchase>;

    /// A purchase.
    async fn find_purchase(&self, id: PurchaseId) -> Result<Option<Purchase>>;
    /// Settles a purchase held for review: with `cost` it becomes unpaid at
    /// that cost and takes `uses` from the driver's plan allowances (in one
    /// transaction; `PlanAllowanceChanged` when one no longer fits, and
    /// nothing is changed), without it void. `None` when no purchase with
    /// this id is held (any more: a racing review settled it first).
    async fn review_held_purchase(
        &self,
        id: PurchaseId,
        cost: Option<&Cost>,
        uses: &[AllowanceUse],
        now: DateTime<Utc>,
    ) -> Result<Option<Purchase>>;
    /// A driver's purchases, newest first.
    async fn list_purchases(&self, user: UserId, offset: i64, limit: i64) -> Result<Vec<Purchase>>;
    /// The newest purchases of the whole network, or of one host's
    /// chargers, by stop time (the console's finished sessions).
    async fn list_recent_purchases(
        &self,
        host: Option<UserId>,
        offset: i64,
        limit: i64,
    ) -> Result<Vec<Purchase>>;

    /// How many purchases a driver has.
    async fn count_purchases(&self, user: UserId) -> Result<i64>;
    /// Records the driver's feedback (replacing earlier feedback).
    async fn set_purchase_feedback(
        &self,
        id: PurchaseId,
        score: i64,
        description: &str,
        now: DateTime<Utc>,
    ) -> Result<()>;
    /// Sets a purchase's payment status (`unpaid`, `paid`, `refunded`).
    async fn set_purchase_payment_status(&self, id: PurchaseId, status: &str) -> Result<()>;
    /// A host's purchases in `[from, to)`, newest first.
    async fn list_host_purchases(
        &self,
        host: UserId,
        evse: Option<EvseId>,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        offset: i64,
        limit: i64,
    ) -> Result<Vec<Purchase>>;
    /// A host's earnings in `[from, to)` by UTC day (and by EVSE when
    /// `by_evse`), by stop time; with no host, the whole network's.
    async fn host_earnings(
        &self,
        host: Option<UserId>,
        evse: Option<EvseId>,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        by_evse: bool,
    ) -> Result<Vec<EarningsRow>>;
    /// How many of a host's purchases stopped in `[from, to)` (on one EVSE
    /// with `evse`) are held for review: they earn nothing until released.
    /// With no host, the whole network's.
    async fn count_host_held_purchases(
        &self,
        host: Option<UserId>,
        evse: Option<EvseId>,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<i64>;

    /// Sets (or with `None` clears) an EVSE's full tariff; without one the
    /// EVSE's simple prices apply.
    async fn set_evse_tariff(
        &self,
        evse: EvseId,
        tariff: Option<&Tariff>,
        now: DateTime<Utc>,
    ) -> Result<()>;
    /// An EVSE's full tariff, if set.
    async fn find_evse_tariff(&self, evse: EvseId) -> Result<Option<Tariff>>;
}
