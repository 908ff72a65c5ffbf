//! The JSON of the events the engine publishes.

use chrono::{DateTime, SecondsFormat, Utc};
use plugway_domain::session::SessionFailure;
use plugway_domain::tariff::Cost;
use plugway_store::{ChargingSession, Purchase};
use serde_json::{json, Value};

/// The last token of an event's subject.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    /// Seed 001's live reading of a running session.
    Charging,
    /// A session changed state.
    Session,
    /// A connector's status changed (for hosts and admins).
    Status,
    /// A session's power allowance changed (site load management).
    Power,
}

impl EventKind {
    /// As it ends the subject.
    pub fn token(self) -> &'static str {
        match self {
            Self::Charging => "CHARGING",
            Self::Session => "SESSION",
            Self::Status => "STATUS",
            Self::Power => "POWER",
        }
    }
}

/// Energy in kWh with three decimals (Wh precision), as seed 001's `energy`.
fn kwh(wh: i64) -> f64 {
    wh as f64 / 1000.0
}

/// Seed 001's CHARGING event: `energy` in kWh, `waitingTime` in seconds,
/// `amount` in major units of `currency` (tax included); the rest is extra.
pub fn charging_event(session: &ChargingSession, cost: &Cost, at: DateTime<Utc>) -> Value {
    json!({
        "energy": kwh(cost.energy_wh),
        "waitingTime": cost.waiting_seconds,
        "amount": cost.currency.to_major(cost.total),
        "currency": cost.currency.code(),
        "sessionId": session.id.to_text(),
        "deviceId": session.evse_id.map(|e| e.to_text()),
        "state": session.state.as_str(),
        "energyWh": cost.energy_wh,
        "chargingSeconds": cost.charging_seconds,
        "amountMinor": cost.total,
        "at": at.to_rfc3339_opts(SecondsFormat::Millis, true),
    })
}

/// A session's new state, with its purchase once finished.
pub fn session_event(session: &ChargingSession, purchase: Option<&Purchase>) -> Value {
    json!({
        "sessionId": session.id.to_text(),
        "state": session.state.as_str(),
        "deviceId": session.evse_id.map(|e| e.to_text()),
        "chargePointId": session.charge_point_id.as_str(),
        "connectorId": session.connector_id,
        "transactionId": session.transaction_id,
        "origin": session.origin.as_str(),
        "failure": session.failure.map(SessionFailure::code),
        "purchaseId": purchase.map(|p| p.id.to_text()),
        "amount": purchase.map(|p| p.cost.currency.to_major(p.cost.total)),
        "energy": purchase.map(|p| kwh(p.cost.energy_wh)),
        "currency": purchase.map(|p| p.cost.currency.code().to_owned()),
    })
}
