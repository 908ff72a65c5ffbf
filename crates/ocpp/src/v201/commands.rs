//! The central system's commands in OCPP 2.0.1's words. The same
//! [`ChargerCommand`]s the app, bookings and roaming send to a 1.6 charger
//! become 2.0.1 requests here, so none of them needs to know which version
//! a charger speaks.

use std::sync::atomic::{AtomicI32, Ordering};

use plugway_domain::ChargePointId;
use plugway_events::{ChargerCommand, GatewayError};
use serde_json::{json, Value};

use super::schemas::{self, Part};
use crate::OcppState;

/// RequestStartTransaction's `remoteStartId`: unique enough per station to
/// match its TransactionEvent back to the request (the engine matches by
/// EVSE and token anyway).
static NEXT_REMOTE_START: AtomicI32 = AtomicI32::new(1);

fn remote_start_id(state: &OcppState) -> i32 {
    // Seeded from the clock so ids do not repeat right after a restart.
    let seed = i32::try_from(state.clock.now().timestamp() % 1_000_000_000).unwrap_or(1);
    let _ =
        NEXT_REMOTE_START.compare_exchange(1, seed.max(2), Ordering::Relaxed, Ordering::Relaxed);
    NEXT_REMOTE_START.fetch_add(1, Ordering::Relaxed).max(1)
}

fn int(n: i64) -> Result<i32, GatewayError> {
    i32::try_from(n).map_err(|_| GatewayError::Invalid(format!("{n} does not fit OCPP's integer")))
}

/// The 2.0.1 action and payload that carry `command` to `charge_point`,
/// checked against the action's request schema.
pub async fn request(
    state: &OcppState,
    charge_point: &ChargePointId,
    command: ChargerCommand,
) -> Result<(&'static str, Value), GatewayError> {
    let (action, payload) = match command {
        ChargerCommand::RemoteStart { connector, id_tag } => (
            "RequestStartTransaction",
            json!({
                "idToken": {"idToken": id_tag, "type": "Central"},
                "evseId": int(connector)?,
                "remoteStartId": remote_start_id(state),
            }),
        ),
        ChargerCommand::RemoteStop { transaction_id } => {
            let remote = state
                .store
                .remote_transaction_id(charge_point, transaction_id)
                .await
                .map_err(|e| GatewayError::Invalid(e.to_string()))?
                .ok_or_else(|| GatewayError::Rejected {
                    code: "UnknownTransaction".to_owned(),
                    description: format!(
                        "transaction {transaction_id} was not started by this station over OCPP 2.0.1"
                    ),
                })?;
            ("RequestStopTransaction", json!({"transactionId": remote}))
        }
        ChargerCommand::ReserveNow {
            connector,
            expiry,
            id_tag,
            reservation_id,
        } => (
            "ReserveNow",
            json!({
                "id": int(reservation_id)?,
                "expiryDateTime": expiry.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                "idToken": {"idToken": id_tag, "type": "Central"},
                "evseId": int(connector)?,
            }),
        ),
        ChargerCommand::CancelReservation { reservation_id } => (
            "CancelReservation",
            json!({"reservationId": int(reservation_id)?}),
        ),
        ChargerCommand::UpdateLocalList {
            version,
            id_tag,
            blocked,
        } => (
            "SendLocalList",
            json!({
                "versionNumber": version,
                "updateType": "Differential",
                "localAuthorizationList": [{
                    "idToken": {"idToken": id_tag, "type": "ISO14443"},
                    "idTokenInfo": {"status": if blocked { "Blocked" } else { "Accepted" }},
                }],
            }),
        ),
        ChargerCommand::Unlock { connector } => (
            "UnlockConnector",
            json!({"evseId": int(connector)?, "connectorId": 1}),
        ),
        ChargerCommand::Ocpp201 { action, payload } => {
            let action = plugway_events::ocpp201_action(&action).ok_or_else(|| {
                GatewayError::Invalid(format!("{action} is not an OCPP 2.0.1 command"))
            })?;
            (action, payload)
        }
        ChargerCommand::Ocpp16 { action, .. } => {
            let hint = plugway_events::ocpp201_successor(action.as_str())
                .map(|a| format!(" (2.0.1 calls it {a})"))
                .unwrap_or_default();
            return Err(GatewayError::Invalid(format!(
                "{} is an OCPP 1.6 command and {charge_point} speaks OCPP 2.0.1{hint}",
                action.as_str()
            )));
        }
    };
    schemas::check(action, Part::Request, &payload)
        .map_err(|e| GatewayError::Invalid(e.description))?;
    Ok((action, payload))
}
