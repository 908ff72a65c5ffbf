//! What the central system does with each request a charge point sends.
//! Everything acknowledged is durable first: a StartTransaction's id and
//! every meter sample are committed before the answer goes out.

use chrono::{DateTime, SubsecRound, Utc};
use plugway_domain::charging::authorize;
use plugway_domain::{AuthorizationStatus, IdTag, IdTagState};
use plugway_store::{
    BootInfo, IdTagRecord, MeterSample, NewChargePoint, NewTransaction, PresenceChange,
    StatusReport, TransactionStop,
};
use rust_ocpp::v1_6::messages::authorize::{AuthorizeRequest, AuthorizeResponse};
use rust_ocpp::v1_6::messages::boot_notification::{
    BootNotificationRequest, BootNotificationResponse,
};
use rust_ocpp::v1_6::messages::data_transfer::{DataTransferRequest, DataTransferResponse};
use rust_ocpp::v1_6::messages::diagnostics_status_notification::DiagnosticsStatusNotificationRequest;
use rust_ocpp::v1_6::messages::firmware_status_notification::FirmwareStatusNotificationRequest;
use rust_ocpp::v1_6::messages::heart_beat::HeartbeatResponse;
use rust_ocpp::v1_6::messages::meter_values::MeterValuesRequest;
use rust_ocpp::v1_6::messages::start_transaction::{
    StartTransactionRequest, StartTransactionResponse,
};
use rust_ocpp::v1_6::messages::status_notification::StatusNotificationRequest;
use rust_ocpp::v1_6::messages::stop_transaction::{
    StopTransactionRequest, StopTransactionResponse,
};
use rust_ocpp::v1_6::types::{
    AuthorizationStatus as WireAuth, DataTransferStatus, IdTagInfo, MeterValue, RegistrationStatus,
};
use serde::Serialize;
use serde_json::{json, Value};

use crate::frame::{CallError, ErrorCode, Payload};
use crate::validate::{decode, typed_only, validated};
use crate::{OcppState, Session};

/// Actions a charge point may send (OCPP 1.6, Charge Point → Central System).
pub const INBOUND: [&str; 14] = [
    "Authorize",
    "BootNotification",
    "DataTransfer",
    "DiagnosticsStatusNotification",
    "FirmwareStatusNotification",
    "Heartbeat",
    "MeterValues",
    "StartTransaction",
    "StatusNotification",
    "StopTransaction",
    // The Security Whitepaper's (edition 3).
    "LogStatusNotification",
    "SecurityEventNotification",
    "SignCertificate",
    "SignedFirmwareStatusNotification",
];

pub(crate) fn internal(e: impl std::fmt::Display) -> CallError {
    tracing::error!(error = %e, "OCPP handler failed");
    CallError::new(
        ErrorCode::InternalError,
        "the central system could not process this request",
    )
}

pub(crate) fn to_value(v: &impl Serialize) -> Result<Value, CallError> {
    serde_json::to_value(v).map_err(internal)
}

/// An enum's wire string.
pub(crate) fn wire<T: Serialize>(v: &T) -> Option<String> {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
}

/// Time as we send it: UTC, millisecond precision, `Z`.
pub(crate) fn now_ms(state: &OcppState) -> DateTime<Utc> {
    state.clock.now().trunc_subsecs(3)
}

/// Whether a charger may send `action` now, in either version: one of the
/// actions a charger sends (`inbound`); one only the central system sends
/// (`csms_action`) is NotSupported, an unknown one NotImplemented; and
/// nothing but BootNotification before it is registered.
pub(crate) fn admit(
    session: &Session,
    action: &str,
    inbound: &[&str],
    csms_action: bool,
) -> Result<(), CallError> {
    if !inbound.contains(&action) {
        let code = if csms_action {
            ErrorCode::NotSupported
        } else {
            ErrorCode::NotImplemented
        };
        return Err(CallError::new(
            code,
            format!("{action} is not an action a charger may send"),
        ));
    }
    if !session.registered && action != "BootNotification" {
        return Err(CallError::new(
            ErrorCode::SecurityError,
            "send BootNotification first",
        ));
    }
    Ok(())
}

/// Handles one CALL from a registered (or registering) session.
pub async fn handle(
    state: &OcppState,
    session: &mut Session,
    action: &str,
    payload: &Payload<'_>,
) -> Result<Value, CallError> {
    admit(
        session,
        action,
        &INBOUND,
        plugway_events::Ocpp16Action::parse(action).is_some(),
    )?;
    match action {
        "Authorize" => authorize_tag(state, session, payload).await,
        "BootNotification" => boot(state, session, payload).await,
        "DataTransfer" => {
            let req: DataTransferRequest = decode(payload, validated)?;
            tracing::info!(charge_point = %session.id, vendor = %req.vendor_string, "DataTransfer from charge point (no vendor extensions here)");
            to_value(&DataTransferResponse {
                status: DataTransferStatus::UnknownVendorId,
                data: None,
            })
        }
        "DiagnosticsStatusNotification" => {
            let req: DiagnosticsStatusNotificationRequest = decode(payload, typed_only)?;
            let status = wire(&req.status).unwrap_or_default();
            state
                .store
                .set_diagnostics_status(&session.id, &status, state.clock.now())
                .await
                .map_err(internal)?;
            Ok(json!({}))
        }
        "FirmwareStatusNotification" => {
            let req: FirmwareStatusNotificationRequest = decode(payload, typed_only)?;
            let status = wire(&req.status).unwrap_or_default();
            state
                .store
                .set_firmware_status(&session.id, &status, state.clock.now())
                .await
                .map_err(internal)?;
            Ok(json!({}))
        }
        "Heartbeat" => {
            let _: rust_ocpp::v1_6::messages::heart_beat::HeartbeatRequest =
                decode(payload, typed_only)?;
            store_heartbeat(state, session).await?;
            to_value(&HeartbeatResponse {
                current_time: now_ms(state),
            })
        }
        "MeterValues" => {
            let req: MeterValuesRequest = decode(payload, typed_only)?;
            let samples = samples(
                session,
                i64::from(req.connector_id),
                req.transaction_id.map(i64::from),
                &req.meter_value,
            );
            state.sessions.meter_samples(&samples);
            state.samples.store(samples).await.map_err(internal)?;
            Ok(json!({}))
        }
        "StartTransaction" => start(state, session, payload).await,
        "LogStatusNotification"
        | "SecurityEventNotification"
        | "SignCertificate"
        | "SignedFirmwareStatusNotification" => security(state, session, action, payload).await,
        "StatusNotification" => status(state, session, payload).await,
        "StopTransaction" => stop(state, session, payload).await,
        _ => Err(CallError::new(
            ErrorCode::NotImplemented,
            format!("{action} is not implemented"),
        )),
    }
}

/// The sampled values as stored, corrected by the charger's meter quirks.
fn samples(
    session: &Session,
    connector_id: i64,
    transaction_id: Option<i64>,
    values: &[MeterValue],
) -> Vec<MeterSample> {
    let mut samples = as_sent(session, connector_id, transaction_id, values);
    crate::quirks::correct_samples(session, &mut samples);
    samples
}

fn as_sent(
    session: &Session,
    connector_id: i64,
    transaction_id: Option<i64>,
    values: &[MeterValue],
) -> Vec<MeterSample> {
    values
        .iter()
        .flat_map(|mv| {
            mv.sampled_value.iter().map(move |sv| MeterSample {
                charge_point_id: session.id.clone(),
                connector_id,
                transaction_id,
                timestamp: mv.timestamp,
                value: sv.value.clone(),
                context: sv.context.as_ref().and_then(wire),
                format: sv.format.as_ref().and_then(wire),
                measurand: sv.measurand.as_ref().and_then(wire),
                phase: sv.phase.as_ref().and_then(wire),
                location: sv.location.as_ref().and_then(wire),
                unit: sv.unit.as_ref().and_then(wire),
            })
        })
        .collect()
}

fn wire_auth(status: plugway_domain::AuthorizationStatus) -> WireAuth {
    use plugway_domain::AuthorizationStatus as A;
    match status {
        A::Accepted => WireAuth::Accepted,
        A::Blocked => WireAuth::Blocked,
        A::Expired => WireAuth::Expired,
        A::Invalid => WireAuth::Invalid,
        A::ConcurrentTx => WireAuth::ConcurrentTx,
    }
}

async fn tag_state(state: &OcppState, tag: &str) -> Result<Option<IdTagState>, CallError> {
    Ok(tag_record(state, tag).await?.map(|r| r.state))
}

pub(crate) async fn tag_record(
    state: &OcppState,
    tag: &str,
) -> Result<Option<IdTagRecord>, CallError> {
    let Ok(tag) = IdTag::parse(tag) else {
        return Ok(None);
    };
    state.store.find_id_tag(&tag.key()).await.map_err(internal)
}

fn tag_info(status: plugway_domain::AuthorizationStatus, tag: Option<&IdTagState>) -> IdTagInfo {
    IdTagInfo {
        expiry_date: tag.and_then(|t| t.expiry),
        parent_id_tag: tag.and_then(|t| t.parent_id_tag.as_ref().map(|p| p.as_str().to_owned())),
        status: wire_auth(status),
    }
}

/// A tag's state for an Authorize or a StartTransaction: as stored, or as
/// its issuer answers now when it is a card issued elsewhere that must be
/// asked about (a roaming partner's token, OCPI real-time authorization).
pub(crate) async fn tag_record_checked(
    state: &OcppState,
    session: &Session,
    tag: &str,
    connector: Option<i64>,
) -> Result<Option<IdTagRecord>, CallError> {
    let Some(mut record) = tag_record(state, tag).await? else {
        return Ok(None);
    };
    if let Some(fresh) = state
        .sessions
        .authorize_remotely(&record, &session.id, connector)
        .await
    {
        record.state = fresh;
    }
    Ok(Some(record))
}

async fn authorize_tag(
    state: &OcppState,
    session: &Session,
    payload: &Payload<'_>,
) -> Result<Value, CallError> {
    let req: AuthorizeRequest = decode(payload, validated)?;
    let tag = tag_record_checked(state, session, &req.id_tag, None)
        .await?
        .map(|r| r.state);
    let status =
        plugway_domain::charging::authorize_without_concurrency(tag.as_ref(), state.clock.now());
    to_value(&AuthorizeResponse {
        id_tag_info: tag_info(status, tag.as_ref()),
    })
}

/// Stores a BootNotification (registering an unknown charger first, when
/// auto-registration let it in) through the presence writer: answered once
/// committed, sharing the commit with every other charger booting now.
/// `--ocpp-auto-register`: an unknown charger's first BootNotification (in
/// either version) registers it, connected, with the version it speaks.
pub(crate) async fn store_boot(
    state: &OcppState,
    session: &mut Session,
    info: BootInfo,
    now: DateTime<Utc>,
) -> Result<(), CallError> {
    let id = session.id.clone();
    let mut changes = Vec::with_capacity(4);
    if !session.known {
        tracing::warn!(charge_point = %id, version = session.version.as_str(), "AUTO-REGISTERED an unknown charge point at its BootNotification");
        changes.push(PresenceChange::Register(NewChargePoint {
            id: id.clone(),
            password_hash: None,
            owner: None,
            created_at: now,
        }));
        changes.push(PresenceChange::Connected {
            id: id.clone(),
            connected: true,
            at: now,
        });
        changes.push(PresenceChange::Version {
            id: id.clone(),
            version: session.version.as_str().to_owned(),
        });
    }
    changes.push(PresenceChange::Boot { id, info, at: now });
    let found = state.presence.commit(changes).await.map_err(internal)?;
    session.known = true;
    if found.last() == Some(&true) {
        Ok(())
    } else {
        // Deleted while connected.
        Err(internal("the charge point is no longer registered"))
    }
}

/// Records a heartbeat; answered once committed.
pub(crate) async fn store_heartbeat(state: &OcppState, session: &Session) -> Result<(), CallError> {
    state
        .presence
        .commit(vec![PresenceChange::Heartbeat {
            id: session.id.clone(),
            at: state.clock.now(),
        }])
        .await
        .map(drop)
        .map_err(internal)
}

async fn boot(
    state: &OcppState,
    session: &mut Session,
    payload: &Payload<'_>,
) -> Result<Value, CallError> {
    let req: BootNotificationRequest = decode(payload, validated)?;
    let now = state.clock.now();
    let info = BootInfo {
        vendor: req.charge_point_vendor.clone(),
        model: req.charge_point_model.clone(),
        serial_number: req.charge_point_serial_number.clone(),
        charge_box_serial_number: req.charge_box_serial_number.clone(),
        firmware_version: req.firmware_version.clone(),
        iccid: req.iccid.clone(),
        imsi: req.imsi.clone(),
        meter_type: req.meter_type.clone(),
        meter_serial_number: req.meter_serial_number.clone(),
    };
    store_boot(state, session, info.clone(), now).await?;
    session.registered = true;
    crate::quirks::booted(state, session, &info.vendor, &info.model);
    if state.config.crm_boot_notifications {
        // Seed 004's boot notification, delivered (with retries) from the outbox.
        let cp = state
            .store
            .find_charge_point(&session.id)
            .await
            .map_err(internal)?;
        let body = json!({
            "charging_point_id": session.id.as_str(),
            "ocpp_protocol": "ocpp1.6J",
            "vendor": info.vendor,
            "model": info.model,
            "serial_number": info.serial_number,
            "fw_version": info.firmware_version,
            "fw_update_status": cp.as_ref().and_then(|c| c.firmware_status.clone()),
            "fw_update_timestamp": cp.as_ref().and_then(|c| c.firmware_status_at).map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
            "iccid": info.iccid,
            "imsi": info.imsi,
            "diagnostics_status": cp.as_ref().and_then(|c| c.diagnostics_status.clone()),
            "last_heartbeat_timestamp": now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            "description": info.charge_box_serial_number.as_deref().map(|s| format!("charge box {s}")).unwrap_or_default(),
            "meter_serial_number": info.meter_serial_number,
            "meter_type": info.meter_type,
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
        json!({"vendor": req.charge_point_vendor, "model": req.charge_point_model}),
    )
    .await;
    to_value(&BootNotificationResponse {
        current_time: now_ms(state),
        interval: state.config.heartbeat_interval_secs,
        status: RegistrationStatus::Accepted,
    })
}

async fn start(
    state: &OcppState,
    session: &Session,
    payload: &Payload<'_>,
) -> Result<Value, CallError> {
    let req: StartTransactionRequest = decode(payload, validated)?;
    let StartVerdict {
        status,
        tag,
        user: tag_user,
        real_connector: on_a_real_connector,
    } = start_verdict(state, session, &req.id_tag, i64::from(req.connector_id)).await?;
    // The transaction is recorded whatever the verdict: the charger needs an
    // id either way, and stops a refused one itself.
    let tx = state
        .store
        .start_transaction(&NewTransaction {
            charge_point_id: session.id.clone(),
            connector_id: i64::from(req.connector_id),
            id_tag: req.id_tag.clone(),
            meter_start: crate::quirks::correct_register(session, i64::from(req.meter_start)),
            started_at: req.timestamp,
            reservation_id: req.reservation_id.map(i64::from),
            auth_status: status.as_str().to_owned(),
            received_at: state.clock.now(),
        })
        .await
        .map_err(internal)?;
    let transaction_id = i32::try_from(tx.id).map_err(internal)?;
    // A repeat of a start whose transaction is already closed (refused on
    // an unknown connector, or stopped since) stays as it is: answered
    // Invalid, with no session opened on it, whatever the charger has
    // reported in between.
    if tx.stopped_at.is_some() {
        return to_value(&StartTransactionResponse {
            id_tag_info: tag_info(AuthorizationStatus::Invalid, tag.as_ref()),
            transaction_id,
        });
    }
    // One on a connector that does not exist is closed at once, at its
    // start reading: nothing stays open there (a later StopTransaction for
    // it finds it closed and changes nothing).
    let tx = if on_a_real_connector {
        tx
    } else {
        let stop = TransactionStop {
            meter_stop: tx.meter_start,
            stopped_at: req.timestamp,
            reason: Some("Other".to_owned()),
            id_tag: None,
        };
        state
            .store
            .stop_transaction(tx.id, &stop)
            .await
            .map_err(internal)?
    };
    // The driver's session follows before the answer: if this fails the
    // charger repeats the StartTransaction, which finds the same transaction.
    state
        .sessions
        .transaction_started(&tx, status == AuthorizationStatus::Accepted, tag_user)
        .await
        .map_err(internal)?;
    publish(state, &session.id, "StartTransaction", json!({"transactionId": tx.id, "connectorId": req.connector_id, "idTag": req.id_tag, "status": status.as_str()})).await;
    to_value(&StartTransactionResponse {
        id_tag_info: tag_info(status, tag.as_ref()),
        transaction_id,
    })
}

/// The verdict on a transaction a tag starts on a connector.
pub(crate) struct StartVerdict {
    /// The answer.
    pub status: AuthorizationStatus,
    /// The tag's state, when it is known.
    pub tag: Option<IdTagState>,
    /// Its driver, when it has one.
    pub user: Option<plugway_domain::UserId>,
    /// Whether the connector is one the charger has.
    pub real_connector: bool,
}

/// The verdict on a transaction `tag` starts on `connector` (a 1.6
/// connector, a 2.0.1 EVSE), in either version: the tag's standing (asked
/// of its issuer when it is a roaming partner's), its limit of active
/// transactions, and whether the connector exists at all (one the charger
/// never reported is refused).
pub(crate) async fn start_verdict(
    state: &OcppState,
    session: &Session,
    tag: &str,
    connector: i64,
) -> Result<StartVerdict, CallError> {
    let record = tag_record_checked(state, session, tag, Some(connector)).await?;
    let user = record.as_ref().and_then(|r| r.user);
    let tag = record.map(|r| r.state);
    let active = match &tag {
        Some(t) => state
            .store
            .count_active_transactions_for_tag(&t.id_tag.key())
            .await
            .map_err(internal)?,
        None => 0,
    };
    let real_connector =
        connector_known(state, session, u32::try_from(connector).unwrap_or(0)).await?;
    let status = if real_connector {
        authorize(tag.as_ref(), active, state.clock.now())
    } else {
        metrics::counter!("plugway_ocpp_unknown_connector_starts_total").increment(1);
        tracing::warn!(charge_point = %session.id, connector, "a transaction on a connector the charger never reported; refused");
        AuthorizationStatus::Invalid
    };
    Ok(StartVerdict {
        status,
        tag,
        user,
        real_connector,
    })
}

/// Whether `connector` is one the charger has: one it reported a status for,
/// or one an EVSE is linked to. Connector 0 is the charge point itself and
/// never is. A charger that has reported no connector at all (and has none
/// linked) is taken at its word, as nothing says otherwise.
pub(crate) async fn connector_known(
    state: &OcppState,
    session: &Session,
    connector: u32,
) -> Result<bool, CallError> {
    if connector == 0 {
        return Ok(false);
    }
    let connector = i64::from(connector);
    let reported = state
        .store
        .list_connectors(&session.id)
        .await
        .map_err(internal)?;
    if reported.iter().any(|r| r.connector_id == connector) {
        return Ok(true);
    }
    if state
        .store
        .find_evse_by_port(&session.id, connector)
        .await
        .map_err(internal)?
        .is_some()
    {
        return Ok(true);
    }
    // Connector 0's own status says nothing about which connectors exist.
    Ok(!reported.iter().any(|r| r.connector_id > 0))
}

async fn status(
    state: &OcppState,
    session: &Session,
    payload: &Payload<'_>,
) -> Result<Value, CallError> {
    let req: StatusNotificationRequest = decode(payload, validated)?;
    let now = state.clock.now();
    let report = StatusReport {
        connector_id: i64::from(req.connector_id),
        status: wire(&req.status).unwrap_or_default(),
        error_code: wire(&req.error_code).unwrap_or_default(),
        info: req.info.clone(),
        vendor_id: req.vendor_id.clone(),
        vendor_error_code: req.vendor_error_code.clone(),
        timestamp: req.timestamp.unwrap_or(now),
        received_at: now,
    };
    apply_status(state, session, &report).await?;
    Ok(json!({}))
}

/// A connector's status as reported (in 1.6's words, whichever version
/// reported it): stored, told to the rest of Plugway, and to the charging
/// engine (waiting time, a session whose stop never came).
pub(crate) async fn apply_status(
    state: &OcppState,
    session: &Session,
    report: &StatusReport,
) -> Result<(), CallError> {
    // Through the presence writer: a status is answered once committed,
    // sharing the commit with every other charger reporting now (a site
    // coming back after an outage reports every connector at once).
    let change = PresenceChange::Status {
        id: session.id.clone(),
        report: report.clone(),
    };
    if state
        .presence
        .commit(vec![change])
        .await
        .map_err(internal)?
        != [true]
    {
        return Err(internal(format!(
            "charge point {} is not registered",
            session.id
        )));
    }
    publish(state, &session.id, "StatusNotification", json!({"connectorId": report.connector_id, "status": report.status, "errorCode": report.error_code})).await;
    state
        .sessions
        .connector_status(
            &session.id,
            report.connector_id,
            &report.status,
            report.timestamp,
        )
        .await
        .map_err(internal)
}

async fn stop(
    state: &OcppState,
    session: &Session,
    payload: &Payload<'_>,
) -> Result<Value, CallError> {
    let req: StopTransactionRequest = decode(payload, validated)?;
    let transaction_id = i64::from(req.transaction_id);
    let existing = state
        .store
        .find_transaction(transaction_id)
        .await
        .map_err(internal)?;
    let Some(existing) = existing.filter(|t| t.charge_point_id == session.id) else {
        // Not ours to stop; answer so the charger can drop it from its queue.
        tracing::warn!(charge_point = %session.id, transaction_id, "StopTransaction for an unknown transaction");
        return to_value(&StopTransactionResponse { id_tag_info: None });
    };
    if let Some(data) = &req.transaction_data {
        let samples = samples(session, existing.connector_id, Some(transaction_id), data);
        state.sessions.meter_samples(&samples);
        state.samples.store(samples).await.map_err(internal)?;
    }
    let stopped = state
        .store
        .stop_transaction(
            transaction_id,
            &TransactionStop {
                meter_stop: crate::quirks::correct_register(session, i64::from(req.meter_stop)),
                stopped_at: req.timestamp,
                reason: req.reason.as_ref().and_then(wire),
                id_tag: req.id_tag.clone(),
            },
        )
        .await
        .map_err(internal)?;
    // The session's purchase is written before the answer; a repeated
    // StopTransaction finds it and writes nothing more.
    state
        .sessions
        .transaction_stopped(&stopped)
        .await
        .map_err(internal)?;
    publish(
        state,
        &session.id,
        "StopTransaction",
        json!({"transactionId": stopped.id, "meterStop": stopped.meter_stop}),
    )
    .await;
    let id_tag_info = match &req.id_tag {
        Some(tag) => {
            let tag = tag_state(state, tag).await?;
            let status = plugway_domain::charging::authorize_without_concurrency(
                tag.as_ref(),
                state.clock.now(),
            );
            Some(tag_info(status, tag.as_ref()))
        }
        None => None,
    };
    to_value(&StopTransactionResponse { id_tag_info })
}

/// The Security Whitepaper's messages from a 1.6 charger, checked against
/// their schemas: kept as a 2.0.1 station's are, the firmware and log
/// statuses recorded as 1.6's own, and a certificate request signed.
async fn security(
    state: &OcppState,
    session: &Session,
    action: &str,
    payload: &Payload<'_>,
) -> Result<Value, CallError> {
    use crate::v201::schemas::{check_security16, Part};
    // Read as a tree: the schema check and the fields kept below read it so.
    let payload = payload.value()?;
    check_security16(action, Part::Request, payload)?;
    let text = |field: &str| {
        payload
            .get(field)
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    let now = state.clock.now();
    match action {
        "SignCertificate" => {
            return crate::certificates::sign_certificate(state, session, payload).await;
        }
        "SignedFirmwareStatusNotification" => {
            let status = text("status").unwrap_or_default();
            state
                .store
                .set_firmware_status(&session.id, &status, now)
                .await
                .map_err(internal)?;
        }
        "LogStatusNotification" => {
            let status = text("status").unwrap_or_default();
            state
                .store
                .set_diagnostics_status(&session.id, &status, now)
                .await
                .map_err(internal)?;
        }
        _ => {}
    }
    let summary = text("type").or_else(|| text("status"));
    let at = text("timestamp")
        .and_then(|t| DateTime::parse_from_rfc3339(&t).ok())
        .map(|t| t.with_timezone(&Utc));
    crate::v201::handlers::keep(state, session, action, summary, payload, at).await?;
    Ok(json!({}))
}

/// Tells the rest of Plugway what happened (`ocpp.<charge point>.<action>`).
pub(crate) async fn publish(
    state: &OcppState,
    id: &plugway_domain::ChargePointId,
    action: &str,
    body: Value,
) {
    let subject = format!("ocpp.{}.{action}", crate::subject_token(id));
    if let Err(e) = state
        .bus
        .publish(&subject, body.to_string().into_bytes())
        .await
    {
        tracing::debug!(error = %e, "event not published");
    }
}
