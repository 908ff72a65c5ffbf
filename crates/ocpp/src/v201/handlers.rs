//! What the CSMS does with each request a 2.0.1 station sends. Every
//! payload is checked against its official schema first; what is
//! acknowledged is durable first, as for 1.6.
//!
//! 2.0.1 counts EVSEs where 1.6 counts connectors: a station's EVSE `n` is
//! our connector `n` (the EVSE listed on the map links to it), so bookings,
//! sessions and the map work the same for both versions. A transaction's
//! station-chosen id (a string) is linked to our integer one
//! (`ocpp201_transactions`), and its events drive the same charging engine
//! as 1.6's StartTransaction, MeterValues, StatusNotification and
//! StopTransaction.

use chrono::{DateTime, Utc};
use plugway_domain::{AuthorizationStatus, IdTagState};
use plugway_store::{
    BootInfo, DeviceVariable, MeterSample, NewTransaction, StationEvent, StatusReport, Transaction,
    TransactionStop,
};
use rust_ocpp::v2_0_1::datatypes::meter_value_type::MeterValueType;
use rust_ocpp::v2_0_1::enumerations::transaction_event_enum_type::TransactionEventEnumType;
use rust_ocpp::v2_0_1::messages::authorize::AuthorizeRequest;
use rust_ocpp::v2_0_1::messages::boot_notification::BootNotificationRequest;
use rust_ocpp::v2_0_1::messages::firmware_status_notification::FirmwareStatusNotificationRequest;
use rust_ocpp::v2_0_1::messages::log_status_notification::LogStatusNotificationRequest;
use rust_ocpp::v2_0_1::messages::meter_values::MeterValuesRequest;
use rust_ocpp::v2_0_1::messages::notify_report::NotifyReportRequest;
use rust_ocpp::v2_0_1::messages::security_event_notification::SecurityEventNotificationRequest;
use rust_ocpp::v2_0_1::messages::status_notification::StatusNotificationRequest;
use rust_ocpp::v2_0_1::messages::transaction_event::TransactionEventRequest;
use serde::de::DeserializeOwned;
use serde_json::{json, Value};

use super::schemas::{self, Part};
use crate::frame::{CallError, ErrorCode};
use crate::handlers::{internal, now_ms, publish, tag_record_checked, wire};
use crate::{OcppState, Session};

/// Checks `payload` against `action`'s request schema and reads it.
fn decode<T: DeserializeOwned>(action: &str, payload: &Value) -> Result<T, CallError> {
    schemas::check(action, Part::Request, payload)?;
    // The schema passed, so a failure here is rust-ocpp's type disagreeing
    // with the schema: say so rather than blame the station.
    T::deserialize(payload).map_err(|e| {
        tracing::warn!(action, error = %e, "a payload that passed its schema did not decode");
        CallError::new(ErrorCode::FormationViolation, e.to_string())
    })
}

/// Handles one CALL from a 2.0.1 station.
pub async fn handle(
    state: &OcppState,
    session: &mut Session,
    action: &str,
    payload: &Value,
) -> Result<Value, CallError> {
    crate::handlers::admit(session, action, &super::INBOUND, schemas::is_action(action))?;
    match action {
        "BootNotification" => boot(state, session, payload).await,
        "Heartbeat" => {
            schemas::check(action, Part::Request, payload)?;
            crate::handlers::store_heartbeat(state, session).await?;
            Ok(json!({"currentTime": time(now_ms(state))}))
        }
        "StatusNotification" => status(state, session, payload).await,
        "Authorize" => authorize_token(state, session, payload).await,
        "TransactionEvent" => transaction_event(state, session, payload).await,
        "MeterValues" => {
            let req: MeterValuesRequest = decode(action, payload)?;
            let samples = samples(session, i64::from(req.evse_id), None, &req.meter_value);
            state.sessions.meter_samples(&samples);
            state.samples.store(samples).await.map_err(internal)?;
            Ok(json!({}))
        }
        "NotifyReport" => notify_report(state, session, payload).await,
        "FirmwareStatusNotification" => {
            let req: FirmwareStatusNotificationRequest = decode(action, payload)?;
            let status = wire(&req.status).unwrap_or_default();
            state
                .store
                .set_firmware_status(&session.id, &status, state.clock.now())
                .await
                .map_err(internal)?;
            keep(state, session, action, Some(status), payload, None).await?;
            Ok(json!({}))
        }
        "LogStatusNotification" => {
            let req: LogStatusNotificationRequest = decode(action, payload)?;
            // 1.6's DiagnosticsStatusNotification, in 2.0.1's words.
            let status = wire(&req.status).unwrap_or_default();
            state
                .store
                .set_diagnostics_status(&session.id, &status, state.clock.now())
                .await
                .map_err(internal)?;
            keep(state, session, action, Some(status), payload, None).await?;
            Ok(json!({}))
        }
        "SecurityEventNotification" => {
            let req: SecurityEventNotificationRequest = decode(action, payload)?;
            tracing::info!(charge_point = %session.id, kind = %req.kind, "security event");
            keep(
                state,
                session,
                action,
                Some(req.kind.clone()),
                payload,
                Some(req.timestamp),
            )
            .await?;
            Ok(json!({}))
        }
        "NotifyEvent" => {
            schemas::check(action, Part::Request, payload)?;
            let summary = payload
                .get("eventData")
                .and_then(Value::as_array)
                .map(|events| {
                    events
                        .iter()
                        .map(|e| {
                            format!(
                                "{}.{}={}",
                                e.pointer("/component/name")
                                    .and_then(Value::as_str)
                                    .unwrap_or("?"),
                                e.pointer("/variable/name")
                                    .and_then(Value::as_str)
                                    .unwrap_or("?"),
                                e.get("actualValue").and_then(Value::as_str).unwrap_or(""),
                            )
                        })
                        .collect::<Vec<_>>()
                        .join(", ")
                });
            let at = timestamp(payload, "generatedAt");
            keep(state, session, action, summary, payload, at).await?;
            Ok(json!({}))
        }
        "DataTransfer" => {
            schemas::check(action, Part::Request, payload)?;
            let vendor = payload
                .get("vendorId")
                .and_then(Value::as_str)
                .unwrap_or("");
            tracing::info!(charge_point = %session.id, vendor, "DataTransfer from a station (no vendor extensions here)");
            Ok(json!({"status": "UnknownVendorId"}))
        }
        "SignCertificate" => {
            schemas::check(action, Part::Request, payload)?;
            crate::certificates::sign_certificate(state, session, payload).await
        }
        "Get15118EVCertificate" => {
            schemas::check(action, Part::Request, payload)?;
            keep(state, session, action, None, payload, None).await?;
            Ok(
                json!({"status": "Failed", "exiResponse": "", "statusInfo": {"reasonCode": "NoV2GRoot"}}),
            )
        }
        "GetCertificateStatus" => {
            schemas::check(action, Part::Request, payload)?;
            Ok(json!({"status": "Failed", "statusInfo": {"reasonCode": "NoOCSP"}}))
        }
        "NotifyEVChargingNeeds" => {
            // No charging schedule will follow (load management is not in
            // yet): Rejected tells the station to charge as it would.
            schemas::check(action, Part::Request, payload)?;
            keep(state, session, action, None, payload, None).await?;
            Ok(json!({"status": "Rejected"}))
        }
        "NotifyEVChargingSchedule" => {
            schemas::check(action, Part::Request, payload)?;
            keep(
                state,
                session,
                action,
                None,
                payload,
                timestamp(payload, "timeBase"),
            )
            .await?;
            Ok(json!({"status": "Accepted"}))
        }
        "ReservationStatusUpdate" => {
            schemas::check(action, Part::Request, payload)?;
            let summary = payload
                .get("reservationUpdateStatus")
                .and_then(Value::as_str)
                .map(str::to_owned);
            keep(state, session, action, summary, payload, None).await?;
            Ok(json!({}))
        }
        // The rest is kept as received for whoever looks at the station.
        "ClearedChargingLimit"
        | "NotifyChargingLimit"
        | "NotifyCustomerInformation"
        | "NotifyDisplayMessages"
        | "NotifyMonitoringReport"
        | "PublishFirmwareStatusNotification"
        | "ReportChargingProfiles" => {
            schemas::check(action, Part::Request, payload)?;
            let at = timestamp(payload, "generatedAt");
            keep(state, session, action, None, payload, at).await?;
            Ok(json!({}))
        }
        _ => Err(CallError::new(
            ErrorCode::NotImplemented,
            format!("{action} is not implemented"),
        )),
    }
}

/// Time as 2.0.1 wants it: RFC 3339, UTC, milliseconds.
fn time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// A date field of a payload already checked against its schema.
fn timestamp(payload: &Value, field: &str) -> Option<DateTime<Utc>> {
    payload
        .get(field)
        .and_then(Value::as_str)
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&Utc))
}

/// Stores a station's report as received.
pub(crate) async fn keep(
    state: &OcppState,
    session: &Session,
    kind: &str,
    summary: Option<String>,
    payload: &Value,
    occurred_at: Option<DateTime<Utc>>,
) -> Result<(), CallError> {
    let now = state.clock.now();
    let event = StationEvent {
        id: 0,
        charge_point_id: session.id.clone(),
        kind: kind.to_owned(),
        summary: summary.map(|s| s.chars().take(500).collect()),
        body: payload.to_string(),
        occurred_at: occurred_at.unwrap_or(now),
        received_at: now,
    };
    state
        .store
        .record_station_event(&event)
        .await
        .map_err(internal)?;
    publish(state, &session.id, kind, json!({"summary": event.summary})).await;
    Ok(())
}

async fn boot(
    state: &OcppState,
    session: &mut Session,
    payload: &Value,
) -> Result<Value, CallError> {
    let req: BootNotificationRequest = decode("BootNotification", payload)?;
    let now = state.clock.now();
    let station = &req.charging_station;
    let modem = station.modem.as_ref();
    let info = BootInfo {
        vendor: station.vendor_name.clone(),
        model: station.model.clone(),
        serial_number: station.serial_number.clone(),
        charge_box_serial_number: None,
        firmware_version: station.firmware_version.clone(),
        iccid: modem.and_then(|m| m.iccid.clone()),
        imsi: modem.and_then(|m| m.imsi.clone()),
        meter_type: None,
        meter_serial_number: None,
    };
    crate::handlers::store_boot(state, session, info.clone(), now).await?;
    session.registered = true;
    crate::quirks::booted(state, session, &info.vendor, &info.model);
    if state.config.crm_boot_notifications {
        let body = json!({
            "charging_point_id": session.id.as_str(),
            "ocpp_protocol": "ocpp2.0.1",
            "vendor": info.vendor,
            "model": info.model,
            "serial_number": info.serial_number,
            "fw_version": info.firmware_version,
            "iccid": info.iccid,
            "imsi": info.imsi,
            "last_heartbeat_timestamp": now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            "description": wire(&req.reason).map(|r| format!("boot reason {r}")).unwrap_or_default(),
        });
        state
            .store
            .enqueue_outbox(
                plugway_store::OUTBOX_CRM_BOOT_NOTIFICATION,
                &body.to_string(),
                now,
            )
            .await
            .map_err(internal)?;
    }
    publish(
        state,
        &session.id,
        "BootNotification",
        json!({"vendor": info.vendor, "model": info.model, "ocppVersion": "2.0.1"}),
    )
    .await;
    Ok(json!({
        "currentTime": time(now_ms(state)),
        "interval": state.config.heartbeat_interval_secs,
        "status": "Accepted",
    }))
}

/// A connector's 2.0.1 status in the 1.6 words the rest of Plugway reads
/// (the map, bookings, waiting time): Occupied is a car at the connector,
/// which 1.6 calls Preparing until a transaction says it charges.
fn status_16(connector_status: &str) -> &'static str {
    match connector_status {
        "Available" => "Available",
        "Occupied" => "Preparing",
        "Reserved" => "Reserved",
        "Unavailable" => "Unavailable",
        "Faulted" => "Faulted",
        _ => "Unavailable",
    }
}

/// Records a connector status and tells the engine, as a 1.6
/// StatusNotification does.
async fn record_status(
    state: &OcppState,
    session: &Session,
    evse: i64,
    status: &str,
    at: DateTime<Utc>,
) -> Result<(), CallError> {
    let report = StatusReport {
        connector_id: evse,
        status: status.to_owned(),
        error_code: if status == "Faulted" {
            "OtherError".to_owned()
        } else {
            "NoError".to_owned()
        },
        info: None,
        vendor_id: None,
        vendor_error_code: None,
        timestamp: at,
        received_at: state.clock.now(),
    };
    crate::handlers::apply_status(state, session, &report).await
}

/// An EVSE's status from its connectors': a car at any of them holds the
/// EVSE; else a fault, a reservation, or unavailability shows; else it is
/// free.
fn combined_status<'a>(statuses: impl Iterator<Item = &'a str>) -> &'static str {
    let rank = |s: &str| match s {
        "Occupied" => 5,
        "Faulted" => 4,
        "Reserved" => 3,
        "Unavailable" => 2,
        "Available" => 1,
        _ => 0,
    };
    let best = statuses.max_by_key(|s| rank(s)).unwrap_or("Unavailable");
    status_16(best)
}

async fn status(
    state: &OcppState,
    session: &mut Session,
    payload: &Value,
) -> Result<Value, CallError> {
    let req: StatusNotificationRequest = decode("StatusNotification", payload)?;
    let evse = i64::from(req.evse_id);
    let reported = wire(&req.connector_status).unwrap_or_default();
    session
        .connector_statuses
        .insert((evse, i64::from(req.connector_id)), reported);
    let status = combined_status(
        session
            .connector_statuses
            .iter()
            .filter(|((e, _), _)| *e == evse)
            .map(|(_, s)| s.as_str()),
    );
    record_status(state, session, evse, status, req.timestamp).await?;
    Ok(json!({}))
}

/// 2.0.1's AuthorizationStatusEnumType for ours: the same words, with
/// Unknown for a token nobody issued.
fn status_201(status: AuthorizationStatus, known: bool) -> &'static str {
    match status {
        AuthorizationStatus::Accepted => "Accepted",
        AuthorizationStatus::Blocked => "Blocked",
        AuthorizationStatus::Expired => "Expired",
        AuthorizationStatus::ConcurrentTx => "ConcurrentTx",
        AuthorizationStatus::Invalid if !known => "Unknown",
        AuthorizationStatus::Invalid => "Invalid",
    }
}

fn id_token_info(status: AuthorizationStatus, tag: Option<&IdTagState>) -> Value {
    let mut info = serde_json::Map::new();
    info.insert(
        "status".to_owned(),
        json!(status_201(status, tag.is_some())),
    );
    if let Some(expiry) = tag.and_then(|t| t.expiry) {
        info.insert("cacheExpiryDateTime".to_owned(), json!(time(expiry)));
    }
    if let Some(parent) = tag.and_then(|t| t.parent_id_tag.as_ref()) {
        info.insert(
            "groupIdToken".to_owned(),
            json!({"idToken": parent.as_str(), "type": "Central"}),
        );
    }
    Value::Object(info)
}

async fn authorize_token(
    state: &OcppState,
    session: &Session,
    payload: &Value,
) -> Result<Value, CallError> {
    let req: AuthorizeRequest = decode("Authorize", payload)?;
    let tag = tag_record_checked(state, session, &req.id_token.id_token, None)
        .await?
        .map(|r| r.state);
    let status =
        plugway_domain::charging::authorize_without_concurrency(tag.as_ref(), state.clock.now());
    Ok(json!({"idTokenInfo": id_token_info(status, tag.as_ref())}))
}

/// Meter values as stored samples: the multiplier applied, the unit kept
/// (Wh unless the station says otherwise), so they read as 1.6's do.
fn samples(
    session: &Session,
    evse: i64,
    transaction_id: Option<i64>,
    values: &[MeterValueType],
) -> Vec<MeterSample> {
    let mut samples = as_sent(session, evse, transaction_id, values);
    crate::quirks::correct_samples(session, &mut samples);
    samples
}

/// [`samples`] before the station's meter quirks are corrected.
fn as_sent(
    session: &Session,
    evse: i64,
    transaction_id: Option<i64>,
    values: &[MeterValueType],
) -> Vec<MeterSample> {
    values
        .iter()
        .flat_map(|mv| {
            mv.sampled_value.iter().map(move |sv| {
                let unit = sv.unit_of_measure.as_ref();
                let multiplier = unit.and_then(|u| u.multiplier).unwrap_or(0);
                let mut value = sv.value;
                if multiplier != 0 {
                    let scale =
                        rust_decimal::Decimal::from(10_i64.pow(multiplier.unsigned_abs().min(9)));
                    value = if multiplier > 0 {
                        value.checked_mul(scale).unwrap_or(value)
                    } else {
                        value.checked_div(scale).unwrap_or(value)
                    };
                }
                MeterSample {
                    charge_point_id: session.id.clone(),
                    connector_id: evse,
                    transaction_id,
                    timestamp: mv.timestamp,
                    value: value.normalize().to_string(),
                    context: sv.context.as_ref().and_then(wire),
                    // A signed reading still carries its plain value here.
                    format: None,
                    measurand: sv.measurand.as_ref().and_then(wire),
                    phase: sv.phase.as_ref().and_then(wire),
                    location: sv.location.as_ref().and_then(wire),
                    unit: unit.and_then(|u| u.unit.clone()),
                }
            })
        })
        .collect()
}

/// The energy registers (Wh) among `samples`, in the station's time order.
fn registers(samples: &[MeterSample]) -> Vec<(DateTime<Utc>, i64)> {
    let mut found: Vec<(DateTime<Utc>, i64)> = samples
        .iter()
        .filter_map(|s| plugway_app::sessions::energy_register_wh(s).map(|wh| (s.timestamp, wh)))
        .collect();
    found.sort_by_key(|(at, _)| *at);
    found
}

/// The start reading among a transaction's first readings: the one marked
/// `Transaction.Begin`, else the earliest.
fn start_register(samples: &[MeterSample]) -> Option<i64> {
    samples
        .iter()
        .filter(|s| s.context.as_deref() == Some("Transaction.Begin"))
        .find_map(plugway_app::sessions::energy_register_wh)
        .or_else(|| registers(samples).first().map(|(_, wh)| *wh))
}

/// The token an event names, unless it names none: 2.0.1's
/// `NoAuthorization` type (and an empty token) means no token at all.
fn named_token(req: &TransactionEventRequest) -> Option<String> {
    let token = req.id_token.as_ref()?;
    let kind = wire(&token.kind).unwrap_or_default();
    (kind != "NoAuthorization" && !token.id_token.is_empty()).then(|| token.id_token.clone())
}

/// Opens our transaction for the station's `remote_id` (its first event we
/// hear of) and links the two; the transaction and its link.
async fn open_transaction(
    state: &OcppState,
    session: &Session,
    req: &TransactionEventRequest,
    remote_id: &str,
    token: Option<&str>,
    status: AuthorizationStatus,
) -> Result<(Transaction, plugway_store::RemoteTransaction), CallError> {
    let evse = req.evse.as_ref().map_or(1, |e| i64::from(e.id));
    let first = samples(
        session,
        evse,
        None,
        req.meter_value.as_deref().unwrap_or_default(),
    );
    let start = start_register(&first);
    if start.is_none() {
        metrics::counter!("plugway_ocpp201_transactions_without_start_reading_total").increment(1);
        tracing::info!(charge_point = %session.id, transaction = %remote_id, "a transaction's first event has no energy register; its first reading will be its start");
    }
    // The station's clock may repeat a start time (a tokenless start on
    // the same EVSE in the same millisecond): step past a transaction
    // already linked to another of its ids.
    for nudge in 0..5 {
        let opened = state
            .store
            .start_transaction(&NewTransaction {
                charge_point_id: session.id.clone(),
                connector_id: evse,
                id_tag: token.unwrap_or_default().to_owned(),
                meter_start: start.unwrap_or(0),
                started_at: req.timestamp + chrono::Duration::milliseconds(nudge),
                reservation_id: req.reservation_id.map(i64::from),
                auth_status: status.as_str().to_owned(),
                received_at: state.clock.now(),
            })
            .await
            .map_err(internal)?;
        let linked = state
            .store
            .link_remote_transaction(
                &session.id,
                remote_id,
                opened.id,
                i64::from(req.seq_no),
                start.is_none(),
            )
            .await
            .map_err(internal)?;
        if let Some(link) = linked {
            let tx = if link.transaction_id == opened.id {
                opened
            } else {
                state
                    .store
                    .find_transaction(link.transaction_id)
                    .await
                    .map_err(internal)?
                    .ok_or_else(|| internal("a linked transaction is missing"))?
            };
            return Ok((tx, link));
        }
    }
    Err(internal("could not record the station's transaction"))
}

async fn transaction_event(
    state: &OcppState,
    session: &Session,
    payload: &Value,
) -> Result<Value, CallError> {
    let req: TransactionEventRequest = decode("TransactionEvent", payload)?;
    let remote_id = req.transaction_info.transaction_id.clone();
    let seq_no = i64::from(req.seq_no);
    let token = named_token(&req);
    let linked = state
        .store
        .find_remote_transaction(&session.id, &remote_id)
        .await
        .map_err(internal)?;
    // The token's verdict, when this event decided it.
    let mut verdict: Option<(AuthorizationStatus, Option<IdTagState>)> = None;
    let (mut tx, link, repeat) = match linked {
        Some(link) => {
            let tx = state
                .store
                .find_transaction(link.transaction_id)
                .await
                .map_err(internal)?
                .ok_or_else(|| internal("a linked transaction is missing"))?;
            // seqNo only grows within a transaction: one not above the
            // highest seen is an event we already took (its answer was
            // lost). Not an Ended while the transaction is open: a station
            // that restarted its numbering must still be able to end it
            // (ending is idempotent anyway).
            let ends = req.event_type == TransactionEventEnumType::Ended;
            let repeat = seq_no <= link.last_seq_no && !(ends && tx.stopped_at.is_none());
            (tx, link, repeat)
        }
        None => {
            // The first event of this transaction we hear of (Started, or a
            // later one whose Started never reached us): open ours.
            let evse = req.evse.as_ref().map_or(1, |e| i64::from(e.id));
            let (status, tag, tag_user) = match &token {
                Some(token) => {
                    let v = crate::handlers::start_verdict(state, session, token, evse).await?;
                    (v.status, v.tag, v.user)
                }
                None => (AuthorizationStatus::Invalid, None, None),
            };
            let (tx, link) =
                open_transaction(state, session, &req, &remote_id, token.as_deref(), status)
                    .await?;
            if tx.stopped_at.is_none() {
                state
                    .sessions
                    .transaction_started(&tx, status == AuthorizationStatus::Accepted, tag_user)
                    .await
                    .map_err(internal)?;
                publish(state, &session.id, "StartTransaction", json!({"transactionId": tx.id, "remoteTransactionId": remote_id, "connectorId": tx.connector_id, "idTag": tx.id_tag, "status": status.as_str()})).await;
            }
            if token.is_some() {
                verdict = Some((status, tag));
            }
            // Its readings are taken below like any event's.
            (tx, link, false)
        }
    };
    let open = tx.stopped_at.is_none();
    // A token that arrives after the transaction began (the car was
    // plugged in first, or the first token was refused): decided now, and
    // the transaction becomes the driver's session from here.
    let ended = req.event_type == TransactionEventEnumType::Ended;
    // (Once a transaction is accepted its token stands: a stop token or a
    // group member's card in a later event does not replace it.)
    if let (Some(text), true, false) = (&token, open, ended) {
        let undecided = tx.auth_status != AuthorizationStatus::Accepted.as_str();
        if verdict.is_none() && undecided {
            let crate::handlers::StartVerdict {
                status,
                tag,
                user: tag_user,
                ..
            } = crate::handlers::start_verdict(state, session, text, tx.connector_id).await?;
            state
                .store
                .authorize_remote_transaction(tx.id, text, status.as_str())
                .await
                .map_err(internal)?;
            tx.id_tag = text.clone();
            tx.auth_status = status.as_str().to_owned();
            if status == AuthorizationStatus::Accepted {
                state
                    .sessions
                    .transaction_started(&tx, true, tag_user)
                    .await
                    .map_err(internal)?;
            }
            verdict = Some((status, tag));
        }
    }
    if !repeat {
        // Readings of this event, stored before the answer.
        let readings = samples(
            session,
            tx.connector_id,
            Some(tx.id),
            req.meter_value.as_deref().unwrap_or_default(),
        );
        // The first reading of a transaction that began without one is its start.
        if link.start_missing && open {
            if let Some(start) = start_register(&readings) {
                if state
                    .store
                    .settle_start_reading(&session.id, &remote_id, start)
                    .await
                    .map_err(internal)?
                {
                    tx.meter_start = start;
                    state
                        .sessions
                        .start_reading_settled(&tx)
                        .await
                        .map_err(internal)?;
                }
            }
        }
        if !readings.is_empty() {
            state.sessions.meter_samples(&readings);
            state
                .samples
                .store(readings.clone())
                .await
                .map_err(internal)?;
        }
        if open && !ended {
            // What the car is doing, as the connector status 1.6 would report.
            let charging_state = req.transaction_info.charging_state.as_ref().and_then(wire);
            let derived = match charging_state.as_deref() {
                Some("Charging") => Some("Charging"),
                Some("SuspendedEV") => Some("SuspendedEV"),
                Some("SuspendedEVSE") => Some("SuspendedEVSE"),
                Some("EVConnected") => Some("Preparing"),
                _ => None,
            };
            if let Some(status) = derived {
                record_status(state, session, tx.connector_id, status, req.timestamp).await?;
            }
        }
        if open && ended {
            // The stop reading: the latest of this event's, or of those stored.
            let here = registers(&readings).last().map(|(_, wh)| *wh);
            let stored = last_register(state, &tx).await?;
            let meter_stop = here.map_or(stored, |wh| wh.max(stored));
            let stopped = state
                .store
                .stop_transaction(
                    tx.id,
                    &TransactionStop {
                        meter_stop: meter_stop.max(tx.meter_start),
                        stopped_at: req.timestamp,
                        reason: req
                            .transaction_info
                            .stopped_reason
                            .as_ref()
                            .and_then(wire)
                            .or_else(|| Some("Local".to_owned())),
                        id_tag: token.clone(),
                    },
                )
                .await
                .map_err(internal)?;
            state
                .sessions
                .transaction_stopped(&stopped)
                .await
                .map_err(internal)?;
            publish(state, &session.id, "StopTransaction", json!({"transactionId": stopped.id, "remoteTransactionId": remote_id, "meterStop": stopped.meter_stop})).await;
            // The transaction is over; the car may still be plugged in
            // (1.6's Finishing) until the station reports the EVSE free,
            // unless it already has on this connection.
            let reported: Vec<&String> = session
                .connector_statuses
                .iter()
                .filter(|((evse, _), _)| *evse == tx.connector_id)
                .map(|(_, status)| status)
                .collect();
            if reported.is_empty() || reported.iter().any(|s| *s == "Occupied") {
                record_status(state, session, tx.connector_id, "Finishing", req.timestamp).await?;
            }
        }
        state
            .store
            .note_seq_no(&session.id, &remote_id, seq_no)
            .await
            .map_err(internal)?;
    }
    // An event with a token is answered with the token's standing.
    let info = match (verdict, &token) {
        (Some((status, tag)), _) => Some(id_token_info(status, tag.as_ref())),
        (None, Some(text)) => {
            let tag = crate::handlers::tag_record(state, text)
                .await?
                .map(|r| r.state);
            let status = plugway_domain::charging::authorize_without_concurrency(
                tag.as_ref(),
                state.clock.now(),
            );
            Some(id_token_info(status, tag.as_ref()))
        }
        (None, None) => None,
    };
    Ok(match info {
        Some(info) => json!({"idTokenInfo": info}),
        None => json!({}),
    })
}

/// The last energy register stored for `tx` (its start when none came):
/// the stop reading of an Ended event that carries none.
async fn last_register(state: &OcppState, tx: &Transaction) -> Result<i64, CallError> {
    let stored = state
        .store
        .list_meter_samples(tx.id)
        .await
        .map_err(internal)?;
    Ok(stored
        .iter()
        .filter_map(plugway_app::sessions::energy_register_wh)
        .max()
        .unwrap_or(tx.meter_start))
}

async fn notify_report(
    state: &OcppState,
    session: &Session,
    payload: &Value,
) -> Result<Value, CallError> {
    let req: NotifyReportRequest = decode("NotifyReport", payload)?;
    let mut variables = Vec::new();
    for data in req.report_data.iter().flatten() {
        let evse = data.component.evse.as_ref();
        for attribute in &data.variable_attribute {
            variables.push(DeviceVariable {
                component: data.component.name.clone(),
                component_instance: data.component.instance.clone().unwrap_or_default(),
                evse_id: evse.map_or(0, |e| i64::from(e.id)),
                connector_id: evse.and_then(|e| e.connector_id).map_or(0, i64::from),
                variable: data.variable.name.clone(),
                variable_instance: data.variable.instance.clone().unwrap_or_default(),
                attribute_type: attribute
                    .kind
                    .as_ref()
                    .and_then(wire)
                    .unwrap_or_else(|| "Actual".to_owned()),
                value: attribute.value.clone(),
                mutability: attribute.mutability.as_ref().and_then(wire),
                data_type: data
                    .variable_characteristics
                    .as_ref()
                    .and_then(|c| wire(&c.data_type)),
                unit: data
                    .variable_characteristics
                    .as_ref()
                    .and_then(|c| c.unit.clone()),
                reported_at: req.generated_at,
            });
        }
    }
    state
        .store
        .upsert_device_model(&session.id, &variables)
        .await
        .map_err(internal)?;
    tracing::debug!(charge_point = %session.id, request = req.request_id, seq = req.seq_no, attributes = variables.len(), "device model reported");
    Ok(json!({}))
}
