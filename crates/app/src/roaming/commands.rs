//! Partner eMSPs' commands at our chargers (OCPI's commands receiver):
//! START_SESSION, STOP_SESSION, RESERVE_NOW, CANCEL_RESERVATION and
//! UNLOCK_CONNECTOR become the OCPP commands of the charger.
//!
//! The request is checked at once and answered with a CommandResponse
//! (ACCEPTED means "sent on to the charger"); the charger's answer then
//! goes to the eMSP's `response_url` as a CommandResult, from a task of its
//! own. A result lost to a crash is a TIMEOUT at the eMSP, which is what
//! the spec asks it to assume when none comes.

use plugway_domain::{ApprovalState, ChargingSessionId, EvseId, SiteId};
use plugway_events::{ChargerCommand, GatewayError};
use plugway_ocpi::commands::{
    display_text, CancelReservation, CommandResponse, CommandResult, ReserveNow, StartSession,
    StopSession, UnlockConnector,
};
use plugway_ocpi::Validate;
use plugway_store::{Evse, OcpiParty, OcpiReservation};
use serde::de::DeserializeOwned;
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::parties::{self, invalid};
use super::tokens;
use crate::context::App;
use crate::error::{AppError, AppResult};
use crate::ports::ocpi::OcpiMethod;

/// Seconds we tell the eMSP to wait for a result (the charger's call
/// timeout, with room).
const RESULT_TIMEOUT_SECS: i64 = 60;

fn read<T: DeserializeOwned + Validate>(what: &str, body: Value) -> AppResult<T> {
    let command: T = serde_json::from_value(body).map_err(|e| invalid(format!("{what}: {e}")))?;
    command.validate().map_err(invalid)?;
    Ok(command)
}

fn response(result: &str, message: Option<&str>) -> CommandResponse {
    CommandResponse {
        result: result.to_owned(),
        timeout: RESULT_TIMEOUT_SECS,
        message: message.map(display_text),
    }
}

/// An EVSE of ours by the OCPI ids we publish (site id, EVSE id), linked to
/// an OCPP charger: its charge point and connector.
async fn our_evse(
    app: &App,
    location_id: &str,
    evse_uid: Option<&str>,
) -> AppResult<(Evse, String, i64)> {
    let site: SiteId = location_id
        .parse()
        .map_err(|_| super::cpo::unknown_location())?;
    super::cpo::location(app, location_id).await?;
    let evses = app.store.list_site_evses(&[site]).await?;
    let approved: Vec<&Evse> = evses
        .iter()
        .filter(|e| e.approval == ApprovalState::Approved)
        .collect();
    let evse = match evse_uid {
        Some(uid) => {
            let id: EvseId = uid.parse().map_err(|_| super::cpo::unknown_location())?;
            approved.into_iter().find(|e| e.id == id)
        }
        // The spec lets a location with one EVSE be named alone.
        None if approved.len() == 1 => approved.into_iter().next(),
        None => {
            return Err(AppError::bad_request(
                "ocpi_not_enough_information",
                "evse_uid: the location has several EVSEs; say which",
            ))
        }
    }
    .ok_or_else(super::cpo::unknown_location)?
    .clone();
    let (Some(cp), Some(connector)) = (
        evse.fields.charge_point_id.clone(),
        evse.fields.ocpp_connector_id,
    ) else {
        return Err(AppError::conflict(
            "ocpi_evse_not_remote",
            "this EVSE is not an OCPP charger: it cannot be started remotely",
        ));
    };
    Ok((evse, cp.as_str().to_owned(), connector))
}

/// Our OCPP reservation id for an eMSP's reservation id.
fn reservation_number(party: &OcpiParty, reservation_id: &str) -> i64 {
    let digest = Sha256::digest(format!(
        "{}/{}",
        party.id,
        reservation_id.to_ascii_uppercase()
    ));
    let mut bytes = [0u8; 4];
    bytes.copy_from_slice(digest.get(..4).unwrap_or(&[0; 4]));
    i64::from(u32::from_be_bytes(bytes) & 0x7fff_ffff)
}

/// Sends `command` to the charger in a task of its own and POSTs the
/// result to `response_url` with the token the party gave us.
fn forward(
    app: &App,
    party: &OcpiParty,
    response_url: String,
    cp: String,
    command: ChargerCommand,
) {
    let app = app.clone();
    let party = party.clone();
    tokio::spawn(async move {
        let result = match app.chargers.send(&cp, command).await {
            Ok(answer) if answer.accepted() => CommandResult {
                result: "ACCEPTED".into(),
                message: None,
            },
            Ok(answer) => {
                let status = answer.status().unwrap_or("no status").to_owned();
                let result = match status.as_str() {
                    "Occupied" => "EVSE_OCCUPIED",
                    "Unavailable" | "Faulted" => "EVSE_INOPERATIVE",
                    "UnlockFailed" | "NotSupported" => "FAILED",
                    _ => "REJECTED",
                };
                CommandResult {
                    result: result.into(),
                    message: Some(display_text(&format!("the charger answered {status}"))),
                }
            }
            Err(GatewayError::Timeout) => CommandResult {
                result: "TIMEOUT".into(),
                message: Some(display_text("the charger did not answer in time")),
            },
            Err(e) => CommandResult {
                result: "FAILED".into(),
                message: Some(display_text(&e.to_string())),
            },
        };
        post_result(&app, &party, &response_url, &result).await;
    });
}

/// POSTs a command's result to the eMSP's `response_url`, best effort.
async fn post_result(app: &App, party: &OcpiParty, response_url: &str, result: &CommandResult) {
    let Some(token) = party.outgoing_token.clone() else {
        return;
    };
    let correlation = app.ids.new_uuid(app.clock.now()).to_string();
    let body = serde_json::to_value(result).unwrap_or(Value::Null);
    match parties::call(
        app,
        OcpiMethod::Post,
        response_url,
        &token,
        Some(body),
        &correlation,
        None,
    )
    .await
    {
        Ok(reply) if reply.succeeded() => {}
        Ok(reply) => {
            tracing::warn!(party = %party.id, status = reply.status_code, "the eMSP did not take a command result")
        }
        Err(e) => {
            tracing::warn!(party = %party.id, error = %e, "a command result could not be delivered")
        }
    }
}

/// Takes a command from a partner eMSP; the synchronous answer.
pub async fn receive(
    app: &App,
    party: &OcpiParty,
    command: &str,
    body: Value,
) -> AppResult<CommandResponse> {
    match command {
        "START_SESSION" => {
            let start: StartSession = read("StartSession", body)?;
            tokens::check_own_emsp(
                app,
                party,
                &start.token.country_code.to_ascii_uppercase(),
                &start.token.party_id.to_ascii_uppercase(),
            )
            .await?;
            if !start.token.valid {
                return Ok(response("REJECTED", Some("the token is not valid")));
            }
            let (evse, cp, connector) =
                our_evse(app, &start.location_id, start.evse_uid.as_deref()).await?;
            let stored = tokens::store(app, &start.token, true).await?;
            // The eMSP's reference goes into the Session and CDR of the start.
            app.store
                .set_ocpi_token_authorization(
                    &stored.id_tag,
                    start.authorization_reference.as_deref(),
                    app.clock.now(),
                )
                .await?;
            tracing::info!(party = %party.id, evse = %evse.id, "OCPI START_SESSION");
            forward(
                app,
                party,
                start.response_url,
                cp,
                ChargerCommand::RemoteStart {
                    connector,
                    id_tag: stored.id_tag,
                },
            );
            Ok(response("ACCEPTED", None))
        }
        "STOP_SESSION" => {
            let stop: StopSession = read("StopSession", body)?;
            let session = match stop.session_id.parse::<uuid::Uuid>() {
                Ok(id) => {
                    app.store
                        .find_charging_session(ChargingSessionId(id))
                        .await?
                }
                Err(_) => None,
            };
            let theirs = match &session {
                Some(s) => match app
                    .store
                    .find_ocpi_token_by_id_tag(&s.id_tag.to_ascii_uppercase())
                    .await?
                {
                    Some(token) => {
                        tokens::check_own_emsp(app, party, &token.country_code, &token.party_code)
                            .await
                            .is_ok()
                    }
                    None => false,
                },
                None => false,
            };
            let Some(session) = session.filter(|s| theirs && s.state.is_active()) else {
                return Ok(response(
                    "UNKNOWN_SESSION",
                    Some("no running session of yours has this id"),
                ));
            };
            let Some(transaction_id) = session.transaction_id else {
                return Ok(response(
                    "REJECTED",
                    Some("the session has not started at the charger yet"),
                ));
            };
            forward(
                app,
                party,
                stop.response_url,
                session.charge_point_id.as_str().to_owned(),
                ChargerCommand::RemoteStop { transaction_id },
            );
            Ok(response("ACCEPTED", None))
        }
        "UNLOCK_CONNECTOR" => {
            let unlock: UnlockConnector = read("UnlockConnector", body)?;
            let (_, cp, connector) =
                our_evse(app, &unlock.location_id, Some(&unlock.evse_uid)).await?;
            // Unlocking ends a transaction: only an idle connector, or one
            // charging the caller's own driver, is unlocked.
            let charge_point =
                plugway_domain::ChargePointId::parse(&cp).map_err(AppError::internal)?;
            if let Some(active) = app
                .store
                .active_session_on_connector(&charge_point, connector)
                .await?
            {
                let token = app
                    .store
                    .find_ocpi_token_by_id_tag(&active.id_tag.to_ascii_uppercase())
                    .await?;
                let theirs = match token {
                    Some(t) => tokens::check_own_emsp(app, party, &t.country_code, &t.party_code)
                        .await
                        .is_ok(),
                    None => false,
                };
                if !theirs {
                    return Ok(response(
                        "REJECTED",
                        Some("someone else is charging at this connector"),
                    ));
                }
            }
            forward(
                app,
                party,
                unlock.response_url,
                cp,
                ChargerCommand::Unlock { connector },
            );
            Ok(response("ACCEPTED", None))
        }
        "RESERVE_NOW" => {
            let reserve: ReserveNow = read("ReserveNow", body)?;
            tokens::check_own_emsp(
                app,
                party,
                &reserve.token.country_code.to_ascii_uppercase(),
                &reserve.token.party_id.to_ascii_uppercase(),
            )
            .await?;
            if reserve.expiry_date <= app.clock.now() {
                return Err(invalid("expiry_date: must be in the future"));
            }
            let (_, cp, connector) =
                our_evse(app, &reserve.location_id, reserve.evse_uid.as_deref()).await?;
            let stored = tokens::store(app, &reserve.token, true).await?;
            let reservation_id = reservation_number(party, &reserve.reservation_id);
            // Kept so that CANCEL_RESERVATION finds the charger. A second
            // RESERVE_NOW with the same id replaces the first, as the spec says.
            app.store
                .put_ocpi_reservation(&OcpiReservation {
                    party: party.id,
                    reservation_id: reserve.reservation_id.to_ascii_uppercase(),
                    charge_point_id: cp.clone(),
                    ocpp_reservation_id: reservation_id,
                    expires_at: reserve.expiry_date,
                })
                .await?;
            forward(
                app,
                party,
                reserve.response_url,
                cp,
                ChargerCommand::ReserveNow {
                    connector,
                    expiry: reserve.expiry_date,
                    id_tag: stored.id_tag,
                    reservation_id,
                },
            );
            Ok(response("ACCEPTED", None))
        }
        "CANCEL_RESERVATION" => {
            let cancel: CancelReservation = read("CancelReservation", body)?;
            let key = cancel.reservation_id.to_ascii_uppercase();
            let Some(reservation) = app
                .store
                .find_ocpi_reservation(party.id, &key)
                .await?
                .filter(|r| r.expires_at > app.clock.now())
            else {
                // UNKNOWN_RESERVATION is a result, not a response: the
                // command is taken, and its result says so.
                let app = app.clone();
                let party = party.clone();
                tokio::spawn(async move {
                    let result = CommandResult {
                        result: "UNKNOWN_RESERVATION".into(),
                        message: Some(display_text("no reservation of yours has this id")),
                    };
                    post_result(&app, &party, &cancel.response_url, &result).await;
                });
                return Ok(response("ACCEPTED", None));
            };
            app.store.delete_ocpi_reservation(party.id, &key).await?;
            forward(
                app,
                party,
                cancel.response_url,
                reservation.charge_point_id,
                ChargerCommand::CancelReservation {
                    reservation_id: reservation.ocpp_reservation_id,
                },
            );
            Ok(response("ACCEPTED", None))
        }
        other => Err(AppError::not_found(
            "ocpi_unknown_command",
            format!("{other} is not an OCPI 2.2.1 command"),
        )),
    }
}
