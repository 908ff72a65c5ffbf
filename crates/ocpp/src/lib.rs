//! Plugway's OCPP 1.6J central system.
//!
//! Charge points connect to `ws://HOST/ocpp/{chargePointId}` with the
//! `ocpp1.6` subprotocol and HTTP Basic auth. Each connection is one task
//! ([`server`]) that reads frames ([`frame`]), checks payloads against the
//! 1.6 schemas ([`validate`]), handles requests ([`handlers`]) and sends the
//! central system's own CALLs one at a time ([`registry`]). Meter samples are
//! committed in groups ([`batcher`]); frames go to a per-charger log
//! ([`log`]); connections, disconnections and refused handshakes to a
//! connection history ([`connections`]).

#![cfg_attr(
    test,
    allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::indexing_slicing,
        clippy::disallowed_methods
    )
)]

pub mod batcher;
pub mod certificates;
pub mod cluster;
pub mod commands;
pub mod connections;
pub mod frame;
pub mod handlers;
pub mod log;
pub mod pki;
pub mod quirks;
pub mod registry;
pub mod server;
pub mod v201;
pub mod validate;

use std::sync::Arc;
use std::time::Duration;

use plugway_app::sessions::SessionEngine;
use plugway_domain::{ChargePointId, Clock};
use plugway_events::EventBus;
use plugway_store::Store;

pub use registry::{OutboundError, Registry};
pub use server::router;

/// How the central system behaves.
#[derive(Debug, Clone)]
pub struct OcppConfig {
    /// Accept unknown charge point ids without a password and register them
    /// at their first BootNotification (labs and demos only).
    pub auto_register: bool,
    /// Heartbeat interval told to chargers at boot, seconds.
    pub heartbeat_interval_secs: u32,
    /// How long an outbound CALL waits for its answer.
    pub call_timeout: Duration,
    /// A connection that sends nothing (not even a pong) this long is closed.
    pub idle_timeout: Duration,
    /// How often the server pings.
    pub ping_interval: Duration,
    /// Largest message accepted from a charger, bytes.
    pub max_message_bytes: usize,
    /// Outbound CALLs queued per connection before callers get "busy".
    pub outbound_queue: usize,
    /// Queue seed 004's boot notification for the CRM at each boot.
    pub crm_boot_notifications: bool,
    /// Keep every frame in the message log.
    pub message_log: bool,
    /// The CA that signs stations' certificates (SignCertificate), when
    /// one is configured.
    pub station_ca: Option<Arc<pki::StationCa>>,
    /// Known meter deviations per charger model, corrected as values come
    /// in (docs/ocpp.md, "Meter quirks").
    pub meter_quirks: Arc<Vec<plugway_domain::meter_quirks::MeterQuirks>>,
    /// How often this node adds its sampled-value counts to the
    /// meter-data report.
    pub meter_report_every: Duration,
    /// Connections this node admits at once that have not yet had their
    /// first request answered (the costly part of connecting: the lookup,
    /// the presence writes, the BootNotification). Beyond it a handshake is
    /// answered 503 with `Retry-After`, so a reconnect storm queues at the
    /// chargers rather than in this node's memory.
    pub max_pending_connections: usize,
    /// How long an admitted connection may take to send its first request
    /// before its place is given to another.
    pub admission_timeout: Duration,
}

impl Default for OcppConfig {
    fn default() -> Self {
        Self {
            auto_register: false,
            heartbeat_interval_secs: 300,
            call_timeout: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(900),
            ping_interval: Duration::from_secs(60),
            max_message_bytes: 64 * 1024,
            outbound_queue: 16,
            crm_boot_notifications: false,
            message_log: true,
            station_ca: None,
            meter_quirks: Arc::default(),
            meter_report_every: Duration::from_secs(10),
            max_pending_connections: 10_000,
            admission_timeout: Duration::from_secs(30),
        }
    }
}

/// Shared by every connection.
#[derive(Debug, Clone)]
pub struct OcppState {
    /// Storage.
    pub store: Arc<dyn Store>,
    /// Events.
    pub bus: Arc<dyn EventBus>,
    /// Time.
    pub clock: Arc<dyn Clock>,
    /// Behaviour.
    pub config: Arc<OcppConfig>,
    /// Live sessions of this node.
    pub registry: Registry,
    /// Group commit of meter samples.
    pub samples: batcher::SampleBatcher,
    /// Group commit of connections, boots and heartbeats.
    pub presence: batcher::PresenceWriter,
    /// The message log writer.
    pub log: log::LogSink,
    /// The connection history writer.
    pub connections: connections::ConnectionLog,
    /// Sampled-value counts not yet in the meter-data report.
    pub meter_counts: Arc<quirks::MeterCounts>,
    /// Charging sessions: what transactions, statuses and meter values mean for drivers.
    pub sessions: Arc<SessionEngine>,
    /// The other nodes, when this one runs in a cluster (set once, by
    /// [`cluster::Cluster::join`]).
    pub cluster: Arc<std::sync::OnceLock<Arc<cluster::Cluster>>>,
    /// Places for connections not yet past their first request
    /// ([`OcppConfig::max_pending_connections`]).
    pub admission: Arc<tokio::sync::Semaphore>,
}

impl OcppState {
    /// Starts the background writers and returns the state.
    pub fn new(
        store: Arc<dyn Store>,
        bus: Arc<dyn EventBus>,
        clock: Arc<dyn Clock>,
        config: OcppConfig,
        sessions: Arc<SessionEngine>,
    ) -> Self {
        Self {
            sessions,
            samples: batcher::SampleBatcher::start(store.clone()),
            presence: batcher::PresenceWriter::start(store.clone()),
            log: log::LogSink::start(store.clone(), config.message_log),
            connections: connections::ConnectionLog::start(store.clone()),
            meter_counts: quirks::MeterCounts::start(
                store.clone(),
                clock.clone(),
                config.meter_report_every,
            ),
            registry: Registry::default(),
            cluster: Arc::default(),
            admission: Arc::new(tokio::sync::Semaphore::new(
                config.max_pending_connections.max(1),
            )),
            config: Arc::new(config),
            store,
            bus,
            clock,
        }
    }
}

/// The OCPP version a connection speaks, negotiated at the handshake.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OcppVersion {
    /// OCPP 1.6J (`ocpp1.6`).
    V16,
    /// OCPP 2.0.1 (`ocpp2.0.1`).
    V201,
}

impl OcppVersion {
    /// Every version spoken, in the order we prefer them when a charger
    /// offers several with no preference of its own.
    pub const ALL: [Self; 2] = [Self::V201, Self::V16];

    /// The WebSocket subprotocol.
    pub fn subprotocol(self) -> &'static str {
        match self {
            Self::V16 => "ocpp1.6",
            Self::V201 => "ocpp2.0.1",
        }
    }

    /// As recorded on the charge point and shown in the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::V16 => "1.6",
            Self::V201 => "2.0.1",
        }
    }

    /// From a subprotocol name (case-insensitive).
    pub fn from_subprotocol(name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|v| v.subprotocol().eq_ignore_ascii_case(name.trim()))
    }

    /// From its recorded form.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == text)
    }
}

/// One connection's view of its charge point.
#[derive(Debug)]
pub struct Session {
    /// The version this connection speaks.
    pub version: OcppVersion,
    /// The charge point.
    pub id: ChargePointId,
    /// Whether it is in the database (false only for auto-registration).
    pub known: bool,
    /// Whether it may send requests other than BootNotification.
    pub registered: bool,
    /// Whether it proved its identity (its password, or on security
    /// profile 3 its client certificate) rather than being let in by
    /// auto-registration.
    pub authenticated: bool,
    /// A 2.0.1 station's connector statuses by (EVSE, connector), as it
    /// last reported them on this connection: an EVSE's status combines
    /// its connectors'.
    pub connector_statuses: std::collections::HashMap<(i64, i64), String>,
    /// Its vendor and model as it last booted (stored, or this
    /// connection's BootNotification), for its meter quirks and counters.
    pub model: Option<(String, String)>,
    /// Its model's known meter deviations, if configured.
    pub meter_quirks: Option<plugway_domain::meter_quirks::MeterQuirks>,
    /// Where its sampled values are counted (the node's meter-data report).
    pub meter_counts: Arc<quirks::MeterCounts>,
}

/// A charge point id made safe as one NATS subject token.
pub fn subject_token(id: &ChargePointId) -> String {
    id.as_str().replace(['.', '*', '>'], "_")
}
