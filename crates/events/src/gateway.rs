//! Commands to charge points. The core asks a [`ChargerGateway`] to send a
//! [`ChargerCommand`] to a charge point and gets the charger's answer; the
//! central system implements it for the chargers connected to its node (and,
//! with NATS, routes to the node that holds the connection), and turns each
//! command into the OCPP message of the version the charger speaks.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::Value;

/// What the core asks of a charger, whatever protocol it speaks. It
/// travels as JSON between nodes (to the node that holds the charger).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "command", rename_all = "snake_case")]
pub enum ChargerCommand {
    /// Start a transaction for `id_tag` on `connector` (OCPP 1.6
    /// RemoteStartTransaction).
    RemoteStart {
        /// The connector (1-based).
        connector: i64,
        /// Who is charging.
        id_tag: String,
    },
    /// Stop the charger's transaction (RemoteStopTransaction).
    RemoteStop {
        /// The charger's transaction id.
        transaction_id: i64,
    },
    /// Hold `connector` for `id_tag` until `expiry` (ReserveNow).
    ReserveNow {
        /// The connector (1-based).
        connector: i64,
        /// When the reservation lapses.
        expiry: DateTime<Utc>,
        /// Who may use it.
        id_tag: String,
        /// Our id of the reservation.
        reservation_id: i64,
    },
    /// Cancel a reservation (CancelReservation).
    CancelReservation {
        /// Our id of the reservation.
        reservation_id: i64,
    },
    /// Tell the charger's local authorization list one id tag's status
    /// (SendLocalList, differential).
    UpdateLocalList {
        /// The list's new version (only grows).
        version: i32,
        /// The id tag.
        id_tag: String,
        /// Whether it may charge.
        blocked: bool,
    },
    /// An operator's own OCPP 1.6 command, sent as given once the central
    /// system has checked the payload against the action's schema.
    Ocpp16 {
        /// The action.
        action: Ocpp16Action,
        /// Its request payload.
        payload: Value,
    },
    /// An operator's own OCPP 2.0.1 command (one of [`OCPP201_ACTIONS`]),
    /// sent as given once the central system has checked the payload
    /// against the action's official schema.
    Ocpp201 {
        /// The action, as [`ocpp201_action`] spells it.
        action: String,
        /// Its request payload.
        payload: Value,
    },
    /// Unlock a connector (1.6 UnlockConnector on `connector`; 2.0.1
    /// UnlockConnector on EVSE `connector`, its connector 1).
    Unlock {
        /// The connector (1.6) or EVSE (2.0.1), 1-based.
        connector: i64,
    },
}

/// The OCPP 2.0.1 actions a CSMS sends to a charging station.
pub const OCPP201_ACTIONS: [&str; 40] = [
    "CancelReservation",
    "CertificateSigned",
    "ChangeAvailability",
    "ClearCache",
    "ClearChargingProfile",
    "ClearDisplayMessage",
    "ClearVariableMonitoring",
    "CostUpdated",
    "CustomerInformation",
    "DataTransfer",
    "DeleteCertificate",
    "GetBaseReport",
    "GetChargingProfiles",
    "GetCompositeSchedule",
    "GetDisplayMessages",
    "GetInstalledCertificateIds",
    "GetLocalListVersion",
    "GetLog",
    "GetMonitoringReport",
    "GetReport",
    "GetTransactionStatus",
    "GetVariables",
    "InstallCertificate",
    "PublishFirmware",
    "RequestStartTransaction",
    "RequestStopTransaction",
    "ReserveNow",
    "Reset",
    "SendLocalList",
    "SetChargingProfile",
    "SetDisplayMessage",
    "SetMonitoringBase",
    "SetMonitoringLevel",
    "SetNetworkProfile",
    "SetVariableMonitoring",
    "SetVariables",
    "TriggerMessage",
    "UnlockConnector",
    "UnpublishFirmware",
    "UpdateFirmware",
];

/// A CSMS→station OCPP 2.0.1 action by its name on the wire (exact case).
pub fn ocpp201_action(name: &str) -> Option<&'static str> {
    OCPP201_ACTIONS.into_iter().find(|a| *a == name)
}

/// The 2.0.1 action that does what 1.6's `action` did, where the name
/// changed (a hint for an operator who sends the old one).
pub fn ocpp201_successor(action: &str) -> Option<&'static str> {
    match action {
        "RemoteStartTransaction" => Some("RequestStartTransaction"),
        "RemoteStopTransaction" => Some("RequestStopTransaction"),
        "GetConfiguration" => Some("GetVariables"),
        "ChangeConfiguration" => Some("SetVariables"),
        "GetDiagnostics" => Some("GetLog"),
        _ => None,
    }
}

macro_rules! actions {
    ($($variant:ident),* $(,)?) => {
        /// The OCPP 1.6 actions a central system sends.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
        pub enum Ocpp16Action {
            $(
                #[doc = concat!("`", stringify!($variant), "`")]
                $variant,
            )*
        }

        impl Ocpp16Action {
            /// Every action, in alphabetical order.
            pub const ALL: &'static [Self] = &[$(Self::$variant),*];

            /// Its name on the wire.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => stringify!($variant)),*
                }
            }

            /// The action of a name on the wire (exact case).
            pub fn parse(name: &str) -> Option<Self> {
                Self::ALL.iter().copied().find(|a| a.as_str() == name)
            }
        }
    };
}

actions!(
    CancelReservation,
    CertificateSigned,
    ChangeAvailability,
    ChangeConfiguration,
    ClearCache,
    ClearChargingProfile,
    DataTransfer,
    DeleteCertificate,
    ExtendedTriggerMessage,
    GetCompositeSchedule,
    GetConfiguration,
    GetDiagnostics,
    GetInstalledCertificateIds,
    GetLocalListVersion,
    GetLog,
    InstallCertificate,
    RemoteStartTransaction,
    RemoteStopTransaction,
    ReserveNow,
    Reset,
    SendLocalList,
    SetChargingProfile,
    SignedUpdateFirmware,
    TriggerMessage,
    UnlockConnector,
    UpdateFirmware,
);

impl ChargerCommand {
    /// Whether a 1.6 charger can be sent this command.
    pub fn speaks_ocpp16(&self) -> bool {
        !matches!(self, Self::Ocpp201 { .. })
    }

    /// The OCPP 1.6 action and payload that carry this command.
    pub fn to_ocpp16(&self) -> (Ocpp16Action, Value) {
        use serde_json::json;
        match self {
            Self::RemoteStart { connector, id_tag } => (
                Ocpp16Action::RemoteStartTransaction,
                json!({"connectorId": connector, "idTag": id_tag}),
            ),
            Self::RemoteStop { transaction_id } => (
                Ocpp16Action::RemoteStopTransaction,
                json!({"transactionId": transaction_id}),
            ),
            Self::ReserveNow {
                connector,
                expiry,
                id_tag,
                reservation_id,
            } => (
                Ocpp16Action::ReserveNow,
                json!({
                    "connectorId": connector,
                    "expiryDate": expiry.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                    "idTag": id_tag,
                    "reservationId": reservation_id,
                }),
            ),
            Self::CancelReservation { reservation_id } => (
                Ocpp16Action::CancelReservation,
                json!({"reservationId": reservation_id}),
            ),
            Self::UpdateLocalList {
                version,
                id_tag,
                blocked,
            } => (
                Ocpp16Action::SendLocalList,
                json!({
                    "listVersion": version,
                    "updateType": "Differential",
                    "localAuthorizationList": [{
                        "idTag": id_tag,
                        "idTagInfo": {"status": if *blocked { "Blocked" } else { "Accepted" }},
                    }],
                }),
            ),
            Self::Ocpp16 { action, payload } => (*action, payload.clone()),
            Self::Unlock { connector } => (
                Ocpp16Action::UnlockConnector,
                json!({"connectorId": connector}),
            ),
            // Not a 1.6 command: the central system refuses to send it to
            // a 1.6 charger before this is asked (see `speaks_ocpp16`).
            Self::Ocpp201 { payload, .. } => (Ocpp16Action::DataTransfer, payload.clone()),
        }
    }
}

/// A charger's answer to a command (its CALLRESULT payload).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ChargerAnswer(pub Value);

impl ChargerAnswer {
    /// The answer's `status` (`Accepted`, `Rejected`, `Occupied`, ...).
    pub fn status(&self) -> Option<&str> {
        self.0.get("status").and_then(Value::as_str)
    }

    /// Whether the charger accepted the command.
    pub fn accepted(&self) -> bool {
        self.status() == Some("Accepted")
    }
}

/// Why a command got no answer.
#[derive(Debug, Clone, PartialEq, thiserror::Error, serde::Serialize, serde::Deserialize)]
#[serde(tag = "error", content = "detail", rename_all = "snake_case")]
pub enum GatewayError {
    /// The payload is not a valid request for the action (or the action is
    /// not one the central system sends).
    #[error("invalid command: {0}")]
    Invalid(String),
    /// The charge point is not connected.
    #[error("the charge point is offline")]
    Offline,
    /// It did not answer in time.
    #[error("the charge point did not answer in time")]
    Timeout,
    /// Its command queue is full.
    #[error("the charge point is busy")]
    Busy,
    /// It answered with a CALLERROR.
    #[error("the charge point answered {code}: {description}")]
    Rejected {
        /// Its error code.
        code: String,
        /// Its description.
        description: String,
    },
}

/// Sends commands to charge points and returns their answers.
#[async_trait]
pub trait ChargerGateway: Send + Sync + std::fmt::Debug {
    /// Sends `command` to `charge_point` and waits for its answer.
    async fn send(
        &self,
        charge_point: &str,
        command: ChargerCommand,
    ) -> Result<ChargerAnswer, GatewayError>;
    /// Whether the charge point is connected (to any node of the cluster,
    /// as far as this node knows).
    fn is_connected(&self, charge_point: &str) -> bool;
}

/// The gateway of a process that runs no central system: everything is offline.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoChargers;

#[async_trait]
impl ChargerGateway for NoChargers {
    async fn send(&self, _: &str, _: ChargerCommand) -> Result<ChargerAnswer, GatewayError> {
        Err(GatewayError::Offline)
    }
    fn is_connected(&self, _: &str) -> bool {
        false
    }
}
