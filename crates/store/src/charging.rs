//! The storage port for the central system: charge points, connectors,
//! id tags and CRM customers, transactions, meter values, the OCPP message
//! log, the connection history and the outbox of messages to other
//! systems.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use plugway_domain::{ChargePointId, IdTagState, UserId};

use crate::Result;

/// The outbox kind of seed 004's boot notification to the CRM.
pub const OUTBOX_CRM_BOOT_NOTIFICATION: &str = "crm.boot_notification";
/// The outbox kind of a roaming session's state, PUT to its eMSP.
pub const OUTBOX_OCPI_SESSION: &str = "ocpi.session";
/// The outbox kind of a roaming session's CDR, POSTed to its eMSP.
pub const OUTBOX_OCPI_CDR: &str = "ocpi.cdr";

/// A charge point to register.
#[derive(Debug, Clone)]
pub struct NewChargePoint {
    /// Its OCPP identity.
    pub id: ChargePointId,
    /// SHA-256 (hex) of its Basic-auth password; `None` for auto-registered ones.
    pub password_hash: Option<String>,
    /// The host that owns it, if any.
    pub owner: Option<UserId>,
    /// When.
    pub created_at: DateTime<Utc>,
}

/// One write to a charge point's presence: what connecting, booting,
/// heartbeats and connector statuses record. The OCPP layer queues these from every connection and
/// writes each batch in one transaction (group commit), so a reconnect storm
/// costs a few commits a second rather than several per charger.
#[derive(Debug, Clone)]
pub enum PresenceChange {
    /// An unknown charger let in by auto-registration; nothing when its id
    /// is already registered.
    Register(NewChargePoint),
    /// A connection opened (which also counts as a sign of life) or closed.
    Connected {
        /// The charge point.
        id: ChargePointId,
        /// Opened or closed.
        connected: bool,
        /// When.
        at: DateTime<Utc>,
    },
    /// The OCPP version it connected with.
    Version {
        /// The charge point.
        id: ChargePointId,
        /// "1.6" or "2.0.1".
        version: String,
    },
    /// Its BootNotification: boot data, and alive.
    Boot {
        /// The charge point.
        id: ChargePointId,
        /// What it told.
        info: BootInfo,
        /// When.
        at: DateTime<Utc>,
    },
    /// A heartbeat: alive.
    Heartbeat {
        /// The charge point.
        id: ChargePointId,
        /// When.
        at: DateTime<Utc>,
    },
    /// A connector's new status: its current state and a history row.
    Status {
        /// The charge point.
        id: ChargePointId,
        /// What it reported.
        report: StatusReport,
    },
}

impl PresenceChange {
    /// The charge point it is about.
    pub fn charge_point_id(&self) -> &ChargePointId {
        match self {
            Self::Register(cp) => &cp.id,
            Self::Connected { id, .. }
            | Self::Version { id, .. }
            | Self::Boot { id, .. }
            | Self::Heartbeat { id, .. }
            | Self::Status { id, .. } => id,
        }
    }

    /// Its kind, 0 to 5, in the order of the variants.
    pub fn kind(&self) -> usize {
        match self {
            Self::Register(_) => 0,
            Self::Connected { .. } => 1,
            Self::Version { .. } => 2,
            Self::Boot { .. } => 3,
            Self::Heartbeat { .. } => 4,
            Self::Status { .. } => 5,
        }
    }

    /// The batch's changes as rounds of at most one change per charge
    /// point, each round's grouped by kind (indices into `changes`). A
    /// charge point's changes stay in their order (its nth change is in
    /// round n), so one set-based statement per kind and round applies the
    /// batch as its order says, in a few statements rather than one each.
    pub fn rounds(changes: &[Self]) -> Vec<[Vec<usize>; 6]> {
        let mut seen: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
        let mut rounds: Vec<[Vec<usize>; 6]> = Vec::new();
        for (index, change) in changes.iter().enumerate() {
            let round = seen.entry(change.charge_point_id().as_str()).or_insert(0);
            if rounds.len() <= *round {
                rounds.push(Default::default());
            }
            if let Some(kinds) = rounds.get_mut(*round) {
                if let Some(group) = kinds.get_mut(change.kind()) {
                    group.push(index);
                }
            }
            *round += 1;
        }
        rounds
    }
}

/// What a BootNotification told us.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BootInfo {
    /// chargePointVendor.
    pub vendor: String,
    /// chargePointModel.
    pub model: String,
    /// chargePointSerialNumber.
    pub serial_number: Option<String>,
    /// chargeBoxSerialNumber.
    pub charge_box_serial_number: Option<String>,
    /// firmwareVersion.
    pub firmware_version: Option<String>,
    /// iccid.
    pub iccid: Option<String>,
    /// imsi.
    pub imsi: Option<String>,
    /// meterType.
    pub meter_type: Option<String>,
    /// meterSerialNumber.
    pub meter_serial_number: Option<String>,
}

/// A charge point as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct ChargePoint {
    /// Its OCPP identity.
    pub id: ChargePointId,
    /// SHA-256 (hex) of its password.
    pub password_hash: Option<String>,
    /// Owner (host).
    pub owner: Option<UserId>,
    /// Last boot data, once it booted.
    pub boot: Option<BootInfo>,
    /// Last BootNotification.
    pub last_boot_at: Option<DateTime<Utc>>,
    /// Last message of any kind that proves it alive (Heartbeat or other).
    pub last_heartbeat_at: Option<DateTime<Utc>>,
    /// Whether a connection is open now (as last recorded).
    pub connected: bool,
    /// Last firmware status notification.
    pub firmware_status: Option<String>,
    /// When it came.
    pub firmware_status_at: Option<DateTime<Utc>>,
    /// Last diagnostics status notification.
    pub diagnostics_status: Option<String>,
    /// When it came.
    pub diagnostics_status_at: Option<DateTime<Utc>>,
    /// Registered at.
    pub created_at: DateTime<Utc>,
    /// The OCPP version it last connected with (`1.6` or `2.0.1`), once it has.
    pub ocpp_version: Option<String>,
    /// Its OCPP security profile: 1 or 2 (Basic auth), 3 (client certificate).
    pub security_profile: i64,
}

/// A StatusNotification.
#[derive(Debug, Clone, PartialEq)]
pub struct StatusReport {
    /// Connector (0 = the charge point itself).
    pub connector_id: i64,
    /// ChargePointStatus.
    pub status: String,
    /// ChargePointErrorCode.
    pub error_code: String,
    /// info.
    pub info: Option<String>,
    /// vendorId.
    pub vendor_id: Option<String>,
    /// vendorErrorCode.
    pub vendor_error_code: Option<String>,
    /// The charger's timestamp, or the receive time when it gave none.
    pub timestamp: DateTime<Utc>,
    /// When we received it.
    pub received_at: DateTime<Utc>,
}

/// A stored id tag: its authorization state, and whose it is.
#[derive(Debug, Clone, PartialEq)]
pub struct IdTagRecord {
    /// Tag and rules.
    pub state: IdTagState,
    /// The Plugway account it belongs to, if any.
    pub user: Option<UserId>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Changed.
    pub updated_at: DateTime<Utc>,
}

/// Seed 004's customer, as the CRM registered it.
#[derive(Debug, Clone, PartialEq)]
pub struct CrmCustomer {
    /// Sequential id (the seed's `id`).
    pub id: i64,
    /// The charge point the customer uses.
    pub charge_point_id: ChargePointId,
    /// The seed's `application`.
    pub application: String,
    /// The CRM's customer id.
    pub zoho_customer_id: String,
    /// The OCPP id tag issued to the customer.
    pub id_tag: String,
    /// The tag's concurrency limit (0 blocked, negative unlimited).
    pub max_active_transactions_count: i64,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Changed.
    pub updated_at: DateTime<Utc>,
}

/// A transaction to record (StartTransaction).
#[derive(Debug, Clone, PartialEq)]
pub struct NewTransaction {
    /// Charge point.
    pub charge_point_id: ChargePointId,
    /// Connector.
    pub connector_id: i64,
    /// idTag as sent.
    pub id_tag: String,
    /// meterStart, Wh.
    pub meter_start: i64,
    /// The charger's timestamp.
    pub started_at: DateTime<Utc>,
    /// reservationId.
    pub reservation_id: Option<i64>,
    /// The authorization given.
    pub auth_status: String,
    /// When we received it.
    pub received_at: DateTime<Utc>,
}

/// A transaction as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Transaction {
    /// The OCPP transactionId.
    pub id: i64,
    /// Charge point.
    pub charge_point_id: ChargePointId,
    /// Connector.
    pub connector_id: i64,
    /// idTag that started it.
    pub id_tag: String,
    /// meterStart, Wh.
    pub meter_start: i64,
    /// Started (charger time).
    pub started_at: DateTime<Utc>,
    /// reservationId.
    pub reservation_id: Option<i64>,
    /// Authorization given at start.
    pub auth_status: String,
    /// meterStop, Wh.
    pub meter_stop: Option<i64>,
    /// Stopped (charger time).
    pub stopped_at: Option<DateTime<Utc>>,
    /// reason.
    pub stop_reason: Option<String>,
    /// idTag that stopped it.
    pub stop_id_tag: Option<String>,
}

/// A StopTransaction to apply.
#[derive(Debug, Clone, PartialEq)]
pub struct TransactionStop {
    /// meterStop, Wh.
    pub meter_stop: i64,
    /// The charger's timestamp.
    pub stopped_at: DateTime<Utc>,
    /// reason.
    pub reason: Option<String>,
    /// idTag.
    pub id_tag: Option<String>,
}

/// One sampled value of a MeterValues (or StopTransaction transactionData).
#[derive(Debug, Clone, PartialEq)]
pub struct MeterSample {
    /// Charge point.
    pub charge_point_id: ChargePointId,
    /// Connector.
    pub connector_id: i64,
    /// Transaction, if the charger named one.
    pub transaction_id: Option<i64>,
    /// Sample time (charger).
    pub timestamp: DateTime<Utc>,
    /// The value as sent (OCPP carries it as a string).
    pub value: String,
    /// context.
    pub context: Option<String>,
    /// format.
    pub format: Option<String>,
    /// measurand (default Energy.Active.Import.Register).
    pub measurand: Option<String>,
    /// phase.
    pub phase: Option<String>,
    /// location.
    pub location: Option<String>,
    /// unit.
    pub unit: Option<String>,
}

/// One OCPP frame, for the per-charger message log.
#[derive(Debug, Clone, PartialEq)]
pub struct OcppLogEntry {
    /// Charge point.
    pub charge_point_id: ChargePointId,
    /// "in" (from the charger) or "out".
    pub direction: String,
    /// The raw frame.
    pub frame: String,
    /// When.
    pub at: DateTime<Utc>,
}

/// A name read back from storage that no variant has (written by a newer
/// version, or corrupted).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what}: {name:?}")]
pub struct UnknownName {
    /// What was being parsed ("connection refusal", ...).
    pub what: &'static str,
    /// The text that matched nothing.
    pub name: String,
}

/// Why the OCPP server refused a charge point's WebSocket handshake. Its
/// [`as_str`](Self::as_str) is the stored name; [`describe`](Self::describe)
/// is the sentence an operator reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConnectionRefusal {
    /// The id in the URL is not a valid charge point id.
    InvalidId,
    /// No charge point has the id (and auto-registration is off).
    UnknownId,
    /// It offered no OCPP subprotocol the server speaks.
    NoSubprotocol,
    /// It sent no HTTP Basic credentials.
    NoPassword,
    /// Its HTTP Basic user is not the charge point id of its URL.
    WrongUser,
    /// Its password does not match the stored one.
    WrongPassword,
    /// It has no password set and auto-registration is off, so nothing it
    /// sends can let it in.
    PasswordNotSet,
    /// It is on security profile 3 and presented no client certificate.
    NoClientCertificate,
    /// It is on security profile 3 and its client certificate names
    /// another id.
    WrongClientCertificate,
    /// The server could not look the charge point up (its database was
    /// unavailable); the charger should try again.
    ServerBusy,
    /// As many chargers were connecting at once as the node admits; it was
    /// told to try again after a few seconds (`Retry-After`).
    TooManyConnecting,
}

impl ConnectionRefusal {
    /// Every refusal.
    pub const ALL: [Self; 11] = [
        Self::InvalidId,
        Self::UnknownId,
        Self::NoSubprotocol,
        Self::NoPassword,
        Self::WrongUser,
        Self::WrongPassword,
        Self::PasswordNotSet,
        Self::NoClientCertificate,
        Self::WrongClientCertificate,
        Self::ServerBusy,
        Self::TooManyConnecting,
    ];

    /// The stored name (snake_case).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidId => "invalid_id",
            Self::UnknownId => "unknown_id",
            Self::NoSubprotocol => "no_subprotocol",
            Self::NoPassword => "no_password",
            Self::WrongUser => "wrong_user",
            Self::WrongPassword => "wrong_password",
            Self::PasswordNotSet => "password_not_set",
            Self::NoClientCertificate => "no_client_certificate",
            Self::WrongClientCertificate => "wrong_client_certificate",
            Self::ServerBusy => "server_busy",
            Self::TooManyConnecting => "too_many_connecting",
        }
    }

    /// What happened, for an operator.
    pub fn describe(self) -> &'static str {
        match self {
            Self::InvalidId => "the id is not a valid charge point id",
            Self::UnknownId => "no charge point has this id",
            Self::NoSubprotocol => "it offered no OCPP version the server speaks",
            Self::NoPassword => "it sent no password (HTTP Basic)",
            Self::WrongUser => "its HTTP Basic user is not its charge point id",
            Self::WrongPassword => "wrong password",
            Self::PasswordNotSet => "it has no password set and auto-registration is off",
            Self::NoClientCertificate => "it presented no client certificate (security profile 3)",
            Self::WrongClientCertificate => {
                "its client certificate is not issued for this id (security profile 3)"
            }
            Self::ServerBusy => "the server could not look it up (database unavailable)",
            Self::TooManyConnecting => {
                "too many chargers were connecting at once; it was told to retry in a few seconds"
            }
        }
    }
}

impl std::str::FromStr for ConnectionRefusal {
    type Err = UnknownName;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| UnknownName {
                what: "connection refusal",
                name: s.to_owned(),
            })
    }
}

/// Why an accepted connection ended, as far as the server can tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DisconnectReason {
    /// The charger sent a WebSocket close.
    ClosedByCharger,
    /// The connection dropped without a close (network loss, a failed
    /// write, a reset).
    ConnectionLost,
    /// A newer connection for the same charge point took over (on this
    /// node or another).
    Replaced,
    /// Nothing came from the charger (not even a pong) within the idle
    /// timeout.
    IdleTimeout,
    /// The charger sent a frame over the size limit (closed with 1009).
    FrameTooLarge,
    /// The charger sent a binary frame; OCPP-J is text (closed with 1003).
    BinaryFrame,
}

impl DisconnectReason {
    /// Every reason.
    pub const ALL: [Self; 6] = [
        Self::ClosedByCharger,
        Self::ConnectionLost,
        Self::Replaced,
        Self::IdleTimeout,
        Self::FrameTooLarge,
        Self::BinaryFrame,
    ];

    /// The stored name (snake_case).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ClosedByCharger => "closed_by_charger",
            Self::ConnectionLost => "connection_lost",
            Self::Replaced => "replaced",
            Self::IdleTimeout => "idle_timeout",
            Self::FrameTooLarge => "frame_too_large",
            Self::BinaryFrame => "binary_frame",
        }
    }

    /// What happened, for an operator.
    pub fn describe(self) -> &'static str {
        match self {
            Self::ClosedByCharger => "closed by the charger",
            Self::ConnectionLost => "the connection dropped without a close",
            Self::Replaced => "replaced by a newer connection",
            Self::IdleTimeout => "nothing heard from the charger within the idle timeout",
            Self::FrameTooLarge => "the charger sent a frame over the size limit",
            Self::BinaryFrame => "the charger sent a binary frame (OCPP-J is text)",
        }
    }
}

impl std::str::FromStr for DisconnectReason {
    type Err = UnknownName;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| UnknownName {
                what: "disconnect reason",
                name: s.to_owned(),
            })
    }
}

/// What happened to a connection. The reason travels with the kind, so a
/// refusal always says why and a connection never carries one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConnectionEventKind {
    /// The handshake succeeded and the WebSocket is open.
    Connected,
    /// An accepted connection ended.
    Disconnected(DisconnectReason),
    /// The handshake was refused.
    Refused(ConnectionRefusal),
}

impl ConnectionEventKind {
    /// The stored kind: "connected", "disconnected" or "refused".
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Connected => "connected",
            Self::Disconnected(_) => "disconnected",
            Self::Refused(_) => "refused",
        }
    }

    /// The stored name of the reason, if the kind has one.
    pub fn reason_str(self) -> Option<&'static str> {
        match self {
            Self::Connected => None,
            Self::Disconnected(r) => Some(r.as_str()),
            Self::Refused(r) => Some(r.as_str()),
        }
    }

    /// The reason's sentence, if the kind has one.
    pub fn describe(self) -> Option<&'static str> {
        match self {
            Self::Connected => None,
            Self::Disconnected(r) => Some(r.describe()),
            Self::Refused(r) => Some(r.describe()),
        }
    }

    /// Back from the stored kind and reason ([`as_str`](Self::as_str) and
    /// [`reason_str`](Self::reason_str)).
    pub fn from_parts(kind: &str, reason: Option<&str>) -> Result<Self, UnknownName> {
        let unknown = || UnknownName {
            what: "connection event",
            name: format!("{kind}/{}", reason.unwrap_or("-")),
        };
        match (kind, reason) {
            ("connected", None) => Ok(Self::Connected),
            ("disconnected", Some(r)) => r.parse().map(Self::Disconnected),
            ("refused", Some(r)) => r.parse().map(Self::Refused),
            _ => Err(unknown()),
        }
    }
}

/// A charge point connecting, disconnecting, or being refused at the
/// handshake, for the operator console's connection history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionEvent {
    /// The id as presented in the URL: a refused handshake may name no
    /// known charge point, or be no valid id at all (hence not a
    /// [`ChargePointId`]). Stored at most [`ConnectionEvent::MAX_ID_CHARS`]
    /// characters long.
    pub charge_point_id: String,
    /// What happened, and why.
    pub kind: ConnectionEventKind,
    /// The peer's address (`ip:port`), when the server knows it.
    pub remote_addr: Option<String>,
    /// The negotiated OCPP version ("1.6", "2.0.1"), once there is one.
    pub ocpp_version: Option<String>,
    /// When.
    pub at: DateTime<Utc>,
}

impl ConnectionEvent {
    /// The longest id kept: anything may be sent in a refused URL, and
    /// what a scanner sends should not fill the table.
    pub const MAX_ID_CHARS: usize = 128;
}

/// A message waiting to go to another system (e.g. the CRM).
#[derive(Debug, Clone, PartialEq)]
pub struct OutboxMessage {
    /// Sequential id.
    pub id: i64,
    /// What it is ("crm.boot_notification").
    pub kind: String,
    /// The JSON body.
    pub payload: String,
    /// Tries so far.
    pub attempts: i64,
    /// Queued at.
    pub created_at: DateTime<Utc>,
}

/// Storage for the central system.
#[async_trait]
pub trait ChargingStore: Send + Sync {
    /// Registers a charge point; `Conflict(ChargePoint)` if the id exists.
    async fn create_charge_point(&self, cp: &NewChargePoint) -> Result<()>;
    /// A charge point.
    async fn find_charge_point(&self, id: &ChargePointId) -> Result<Option<ChargePoint>>;
    /// Charge points (of one owner, or all), by id.
    async fn list_charge_points(
        &self,
        owner: Option<UserId>,
        offset: i64,
        limit: i64,
    ) -> Result<Vec<ChargePoint>>;
    /// How many `list_charge_points` would page through.
    async fn count_charge_points(&self, owner: Option<UserId>) -> Result<i64>;
    /// Applies presence changes in their order, in one transaction. For
    /// each, whether its charge point was there; a `Register` and a
    /// `Version` always answer true (the one leaves an existing row alone,
    /// the other writes only a change). The whole batch fails or commits
    /// together.
    async fn apply_presence(&self, changes: &[PresenceChange]) -> Result<Vec<bool>>;
    /// Stores boot data and marks it alive: one [`PresenceChange::Boot`].
    /// `NotFound` when there is no such charge point.
    async fn record_boot(
        &self,
        id: &ChargePointId,
        boot: &BootInfo,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let change = PresenceChange::Boot {
            id: id.clone(),
            info: boot.clone(),
            at: now,
        };
        if self.apply_presence(std::slice::from_ref(&change)).await? == [true] {
            Ok(())
        } else {
            Err(crate::StoreError::NotFound)
        }
    }
    /// Marks it alive: one [`PresenceChange::Heartbeat`].
    async fn record_heartbeat(&self, id: &ChargePointId, now: DateTime<Utc>) -> Result<()> {
        let change = PresenceChange::Heartbeat {
            id: id.clone(),
            at: now,
        };
        self.apply_presence(std::slice::from_ref(&change))
            .await
            .map(drop)
    }
    /// Records a connection opening or closing: one
    /// [`PresenceChange::Connected`].
    async fn set_connected(
        &self,
        id: &ChargePointId,
        connected: bool,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let change = PresenceChange::Connected {
            id: id.clone(),
            connected,
            at: now,
        };
        self.apply_presence(std::slice::from_ref(&change))
            .await
            .map(drop)
    }
    /// Firmware status notification.
    async fn set_firmware_status(
        &self,
        id: &ChargePointId,
        status: &str,
        now: DateTime<Utc>,
    ) -> Result<()>;
    /// Diagnostics status notification.
    async fn set_diagnostics_status(
        &self,
        id: &ChargePointId,
        status: &str,
        now: DateTime<Utc>,
    ) -> Result<()>;
    /// A connector's new status, current state and history: one
    /// [`PresenceChange::Status`]; `NotFound` for an unknown charge point.
    async fn record_status(&self, id: &ChargePointId, report: &StatusReport) -> Result<()> {
        let change = PresenceChange::Status {
            id: id.clone(),
            report: report.clone(),
        };
        if self.apply_presence(std::slice::from_ref(&change)).await? == [true] {
            Ok(())
        } else {
            Err(crate::StoreError::NotFound)
        }
    }
    /// Current status of each connector, by connector id.
    async fn list_connectors(&self, id: &ChargePointId) -> Result<Vec<StatusReport>>;
    /// A connector's status history, newest first.
    async fn connector_history(
        &self,
        id: &ChargePointId,
        connector_id: i64,
        limit: i64,
    ) -> Result<Vec<StatusReport>>;

    /// Creates or replaces an id tag.
    async fn upsert_id_tag(&self, tag: &IdTagRecord) -> Result<()>;
    /// An id tag by its key (upper case).
    async fn find_id_tag(&self, key: &str) -> Result<Option<IdTagRecord>>;
    /// Active (unstopped) transactions started with the tag.
    async fn count_active_transactions_for_tag(&self, key: &str) -> Result<i64>;

    /// Seed 004's register_customer: the customer and their id tag, in one
    /// transaction. `Conflict(ChargePointUser)` if the charge point
    /// already has a customer, `Conflict(ZohoCustomerId)` if the CRM id exists.
    async fn create_crm_customer(
        &self,
        customer: &CrmCustomer,
        tag: &IdTagRecord,
    ) -> Result<CrmCustomer>;
    /// A customer by CRM id.
    async fn find_crm_customer(&self, zoho_customer_id: &str) -> Result<Option<CrmCustomer>>;
    /// Sets a customer's limit, on the customer and their tag.
    async fn set_crm_customer_limit(
        &self,
        zoho_customer_id: &str,
        max: i64,
        now: DateTime<Utc>,
    ) -> Result<CrmCustomer>;

    /// Records a StartTransaction and returns its transaction. A repeat of
    /// the same start (same charge point, connector, tag and timestamp, as a
    /// charger re-sends after a lost answer) returns the first.
    async fn start_transaction(&self, tx: &NewTransaction) -> Result<Transaction>;
    /// Applies a StopTransaction; a repeat leaves the first stop in place.
    /// `NotFound` for an unknown id.
    async fn stop_transaction(&self, id: i64, stop: &TransactionStop) -> Result<Transaction>;
    /// A transaction.
    async fn find_transaction(&self, id: i64) -> Result<Option<Transaction>>;
    /// A charge point's transactions, newest first.
    async fn list_transactions(
        &self,
        id: &ChargePointId,
        offset: i64,
        limit: i64,
    ) -> Result<Vec<Transaction>>;
    /// Stores samples, all or none, in one commit.
    async fn insert_meter_samples(&self, samples: &[MeterSample]) -> Result<()>;
    /// How many samples a charge point has stored.
    async fn count_meter_samples(&self, id: &ChargePointId) -> Result<i64>;
    /// A transaction's samples, oldest first.
    async fn list_meter_samples(&self, transaction_id: i64) -> Result<Vec<MeterSample>>;

    /// Appends frames to the message log.
    async fn append_ocpp_log(&self, entries: &[OcppLogEntry]) -> Result<()>;
    /// A charge point's latest frames, newest first.
    async fn list_ocpp_log(&self, id: &ChargePointId, limit: i64) -> Result<Vec<OcppLogEntry>>;
    /// Deletes frames older than `before` (a write batch's frames go
    /// together, when the newest is; see [`crate::log_block`]); how many.
    async fn purge_ocpp_log(&self, before: DateTime<Utc>) -> Result<u64>;

    /// Records a connection, disconnection or refused handshake.
    async fn record_connection_event(&self, event: &ConnectionEvent) -> Result<()>;
    /// The events recorded under `charge_point_id` (as presented), newest
    /// first, at most `limit`.
    async fn list_connection_events(
        &self,
        charge_point_id: &str,
        limit: i64,
    ) -> Result<Vec<ConnectionEvent>>;
    /// Refused handshakes under any id, newest first, at most `limit`.
    async fn list_refused_connections(&self, limit: i64) -> Result<Vec<ConnectionEvent>>;
    /// Deletes connection events older than `before`; how many. Run with
    /// the message log's retention by the OCPP log purge.
    async fn purge_connection_events(&self, before: DateTime<Utc>) -> Result<u64>;

    /// Queues a message for delivery.
    async fn enqueue_outbox(&self, kind: &str, payload: &str, now: DateTime<Utc>) -> Result<i64>;
    /// Queues a message unless one with the same `key` was ever queued;
    /// true when this call queued it.
    async fn enqueue_outbox_once(
        &self,
        kind: &str,
        key: &str,
        payload: &str,
        now: DateTime<Utc>,
    ) -> Result<bool>;
    /// Claims up to `limit` due messages of `kind` until `lease_until` (so
    /// one node delivers each), oldest first.
    async fn claim_outbox(
        &self,
        kind: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<OutboxMessage>>;
    /// Marks a message delivered.
    async fn outbox_delivered(&self, id: i64, now: DateTime<Utc>) -> Result<()>;
    /// Records a failed try and when to try again.
    async fn outbox_failed(&self, id: i64, error: &str, retry_at: DateTime<Utc>) -> Result<()>;
}
