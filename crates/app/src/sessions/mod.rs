//! The charging engine: what a charger's messages mean for a driver's session.
//!
//! The OCPP central system tells the [`SessionEngine`] what its chargers
//! report (a transaction started or stopped, a connector's status, meter
//! samples); the engine keeps each session's state machine
//! ([`plugway_domain::session`]), freezes its tariff, prices it
//! ([`plugway_domain::tariff::price`]) and, when it stops, writes the
//! purchase in the same database transaction that finishes it. While
//! sessions charge, [`SessionEngine::tick`] publishes each driver's CHARGING
//! event (seed 001) every few seconds on the event bus, from which the
//! API's event stream and NATS deliver it.
//!
//! Subjects published (payloads are JSON):
//! - `user.<id>.CHARGING`: `{energy, waitingTime, amount, ...}` while a session runs;
//! - `user.<id>.SESSION`: a session changed state (started, failed, finished);
//! - `host.<id>.SESSION` and `host.<id>.STATUS`: the same for a host's chargers,
//!   and every connector status change on them.

mod engine;
mod events;
mod meters;

pub use engine::{RemoteAuthorizer, SessionEngine, SessionSettings};
pub use events::{charging_event, session_event, EventKind};
pub use meters::{active_power_w, energy_register_wh, powered_wh, LiveMeters};
