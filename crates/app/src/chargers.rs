//! Commands an operator sends to a charge point by hand (reset, unlock,
//! configuration, ...): the command goes out through the charger gateway,
//! and the gateway's failures become the reasons an operator can act on;
//! and the CRM's changes to a customer, pushed to the charger's local list.

use plugway_domain::{ChargePointId, IdTag};
use plugway_events::{ChargerAnswer, ChargerCommand, GatewayError, Ocpp16Action};
use plugway_store::CrmCustomer;
use serde_json::Value;

use crate::context::App;
use crate::error::{AppError, AppResult, ErrorKind};

/// Sends an operator's OCPP `action` with `payload` to `charge_point`
/// (which the caller has already checked the operator may command) and
/// returns the charger's answer. The action is one of the version the
/// charger last connected with: 1.6's for a 1.6 charger, 2.0.1's for a
/// 2.0.1 station (a 1.6 name sent to a 2.0.1 station is refused with the
/// name 2.0.1 gives it).
pub async fn send_operator_command(
    state: &App,
    charge_point: &ChargePointId,
    action: &str,
    payload: Value,
) -> AppResult<ChargerAnswer> {
    let version = state.store.ocpp_version(charge_point).await?;
    let command = if version.as_deref() == Some("2.0.1") {
        match plugway_events::ocpp201_action(action) {
            Some(action) => ChargerCommand::Ocpp201 {
                action: action.to_owned(),
                payload,
            },
            None => {
                let hint = plugway_events::ocpp201_successor(action)
                    .map(|a| format!("; 2.0.1 calls it {a}"))
                    .unwrap_or_default();
                return Err(AppError::new(
                    ErrorKind::InvalidField,
                    "invalid_command",
                    format!("{action} is not a command an OCPP 2.0.1 CSMS sends{hint}"),
                ));
            }
        }
    } else {
        let action = Ocpp16Action::parse(action).ok_or_else(|| {
            AppError::new(
                ErrorKind::InvalidField,
                "invalid_command",
                format!("{action} is not a command the central system sends"),
            )
        })?;
        ChargerCommand::Ocpp16 { action, payload }
    };
    state
        .chargers
        .send(charge_point.as_str(), command)
        .await
        .map_err(command_error)
}

/// Why a command got no answer, as the operator is told.
pub fn command_error(e: GatewayError) -> AppError {
    match e {
        GatewayError::Invalid(why) => {
            AppError::new(ErrorKind::InvalidField, "invalid_command", why)
        }
        GatewayError::Offline => {
            AppError::conflict("charge_point_offline", "the charge point is not connected")
        }
        GatewayError::Timeout => AppError::timed_out(
            "charge_point_timeout",
            "the charge point did not answer in time",
        ),
        GatewayError::Busy => AppError::unavailable(
            "charge_point_busy",
            "the charge point has too many commands queued",
        )
        .retry_after(5),
        GatewayError::Rejected { code, description } => AppError::upstream(
            "charge_point_error",
            format!("the charge point answered {code}: {description}"),
        ),
    }
}

/// Keeps the charger's local authorization list in step with the tag store:
/// a differential SendLocalList with the customer's new status, sent in the
/// background (the CRM's call does not wait for the charger). A charger that
/// is offline, or keeps no local list, simply misses it: the central
/// system's own answers to Authorize and StartTransaction stay authoritative.
pub fn push_local_list(state: &App, customer: &CrmCustomer) {
    // Versions only need to grow; seconds since the epoch do, within i32 until 2038.
    let version = i32::try_from(state.clock.now().timestamp()).unwrap_or(i32::MAX);
    let command = ChargerCommand::UpdateLocalList {
        version,
        id_tag: customer.id_tag.to_string(),
        blocked: customer.max_active_transactions_count == 0,
    };
    let (chargers, cp) = (state.chargers.clone(), customer.charge_point_id.to_string());
    if !chargers.is_connected(&cp) {
        return;
    }
    tokio::spawn(async move {
        match chargers.send(&cp, command).await {
            Ok(answer) => {
                tracing::info!(charge_point = cp, answer = ?answer.status(), "local list updated")
            }
            Err(e) => tracing::info!(charge_point = cp, error = %e, "local list not updated"),
        }
    });
}

/// A charger's meter data over its last days: what it sent, what a quirk
/// corrected, what no rule could read, per UTC day and in total.
#[derive(Debug, Clone)]
pub struct MeterReport {
    /// The first day covered.
    pub from: chrono::NaiveDate,
    /// The days with data, oldest first.
    pub days: Vec<plugway_store::MeterDataDay>,
    /// All of them together.
    pub totals: plugway_store::MeterDataCounts,
}

/// The meter-data report of `charge_point` (which the caller has checked
/// the manager may see) for the last `days` days, today included: 1 to 366.
pub async fn meter_report(
    state: &App,
    charge_point: &ChargePointId,
    days: i64,
) -> AppResult<MeterReport> {
    if !(1..=366).contains(&days) {
        return Err(AppError::invalid_field("days", "must be from 1 to 366"));
    }
    let from = state.clock.now().date_naive() - chrono::Duration::days(days - 1);
    let days = state.store.meter_data_report(charge_point, from).await?;
    let mut totals = plugway_store::MeterDataCounts::default();
    for day in &days {
        totals.add(&day.counts);
    }
    Ok(MeterReport { from, days, totals })
}

/// The commands people send most, written once for both OCPP versions: a
/// face (the console) asks for one of these and [`common_command`] writes
/// the message the charger's version expects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommonCommand {
    /// Restart: `hard` reboots now (1.6 Hard, 2.0.1 Immediate); otherwise
    /// when idle (1.6 Soft, 2.0.1 OnIdle).
    Reset {
        /// Restart at once rather than when idle.
        hard: bool,
    },
    /// Release a connector's cable lock.
    Unlock {
        /// Connector (1.6) or EVSE (2.0.1, its connector 1).
        connector: i64,
    },
    /// Take a connector (0: the whole charger) in or out of service.
    Availability {
        /// Connector (1.6) or EVSE (2.0.1); 0 for the whole charger.
        connector: i64,
        /// In service.
        operative: bool,
    },
    /// Start charging for an id tag.
    Start {
        /// Connector (1.6) or EVSE (2.0.1).
        connector: i64,
        /// The tag to charge for.
        id_tag: IdTag,
        /// 2.0.1's `remoteStartId`, to match the transaction it starts.
        remote_start_id: i64,
    },
    /// Stop a transaction (the charger's own transaction id in 2.0.1).
    Stop {
        /// The transaction.
        transaction: String,
    },
    /// Ask the charger to send a message now.
    Trigger {
        /// What to send: BootNotification, Heartbeat, StatusNotification
        /// or MeterValues.
        message: TriggeredMessage,
    },
}

/// What a [`CommonCommand::Trigger`] asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TriggeredMessage {
    /// BootNotification.
    Boot,
    /// Heartbeat.
    Heartbeat,
    /// StatusNotification.
    Status,
    /// MeterValues.
    Meters,
}

impl TriggeredMessage {
    /// Every message a face may offer to trigger.
    pub const ALL: [Self; 4] = [Self::Status, Self::Heartbeat, Self::Boot, Self::Meters];

    /// From its OCPP name.
    pub fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "BootNotification" => Self::Boot,
            "Heartbeat" => Self::Heartbeat,
            "StatusNotification" => Self::Status,
            "MeterValues" => Self::Meters,
            _ => return None,
        })
    }

    /// The OCPP name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Boot => "BootNotification",
            Self::Heartbeat => "Heartbeat",
            Self::Status => "StatusNotification",
            Self::Meters => "MeterValues",
        }
    }
}

/// The action and payload of a common command for a charger speaking
/// `version` ("2.0.1", or 1.6 otherwise). Stopping a 1.6 transaction needs
/// its numeric id: a non-number is refused here rather than by the charger.
pub fn common_command(
    version: Option<&str>,
    command: &CommonCommand,
) -> AppResult<(&'static str, Value)> {
    use serde_json::json;
    let v201 = version == Some("2.0.1");
    Ok(match command {
        CommonCommand::Reset { hard } => (
            "Reset",
            if v201 {
                json!({"type": if *hard { "Immediate" } else { "OnIdle" }})
            } else {
                json!({"type": if *hard { "Hard" } else { "Soft" }})
            },
        ),
        CommonCommand::Unlock { connector } => (
            "UnlockConnector",
            if v201 {
                json!({"evseId": connector, "connectorId": 1})
            } else {
                json!({"connectorId": connector})
            },
        ),
        CommonCommand::Availability {
            connector,
            operative,
        } => {
            let kind = if *operative {
                "Operative"
            } else {
                "Inoperative"
            };
            (
                "ChangeAvailability",
                match (v201, connector) {
                    (true, 0) => json!({"operationalStatus": kind}),
                    (true, evse) => json!({"operationalStatus": kind, "evse": {"id": evse}}),
                    (false, c) => json!({"connectorId": c, "type": kind}),
                },
            )
        }
        CommonCommand::Start {
            connector,
            id_tag,
            remote_start_id,
        } => {
            if v201 {
                (
                    "RequestStartTransaction",
                    json!({"idToken": {"idToken": id_tag.as_str(), "type": "Central"},
                           "remoteStartId": remote_start_id, "evseId": connector}),
                )
            } else {
                (
                    "RemoteStartTransaction",
                    json!({"idTag": id_tag.as_str(), "connectorId": connector}),
                )
            }
        }
        CommonCommand::Stop { transaction } => {
            if v201 {
                (
                    "RequestStopTransaction",
                    json!({"transactionId": transaction}),
                )
            } else {
                let id: i64 = transaction.trim().parse().map_err(|_| {
                    AppError::invalid_field(
                        "transaction_id",
                        "an OCPP 1.6 transaction id is a number",
                    )
                })?;
                ("RemoteStopTransaction", json!({"transactionId": id}))
            }
        }
        CommonCommand::Trigger { message } => (
            "TriggerMessage",
            json!({"requestedMessage": message.as_str()}),
        ),
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    #[test]
    fn common_commands_are_written_in_the_chargers_version() {
        let reset = CommonCommand::Reset { hard: true };
        assert_eq!(
            common_command(Some("1.6"), &reset).unwrap(),
            ("Reset", json!({"type": "Hard"}))
        );
        assert_eq!(
            common_command(Some("2.0.1"), &reset).unwrap(),
            ("Reset", json!({"type": "Immediate"}))
        );
        let whole = CommonCommand::Availability {
            connector: 0,
            operative: false,
        };
        assert_eq!(
            common_command(None, &whole).unwrap(),
            (
                "ChangeAvailability",
                json!({"connectorId": 0, "type": "Inoperative"})
            )
        );
        assert_eq!(
            common_command(Some("2.0.1"), &whole).unwrap(),
            (
                "ChangeAvailability",
                json!({"operationalStatus": "Inoperative"})
            )
        );
        let start = CommonCommand::Start {
            connector: 2,
            id_tag: IdTag::parse("TAG1").unwrap(),
            remote_start_id: 7,
        };
        assert_eq!(
            common_command(Some("2.0.1"), &start).unwrap(),
            (
                "RequestStartTransaction",
                json!({"idToken": {"idToken": "TAG1", "type": "Central"}, "remoteStartId": 7, "evseId": 2})
            )
        );
        let stop = CommonCommand::Stop {
            transaction: "abc".into(),
        };
        assert_eq!(
            common_command(Some("1.6"), &stop).unwrap_err().field,
            Some("transaction_id")
        );
        assert_eq!(
            common_command(Some("2.0.1"), &stop).unwrap(),
            ("RequestStopTransaction", json!({"transactionId": "abc"}))
        );
        assert_eq!(
            TriggeredMessage::parse("Heartbeat"),
            Some(TriggeredMessage::Heartbeat)
        );
        assert_eq!(TriggeredMessage::parse("Reset"), None);
    }
}
