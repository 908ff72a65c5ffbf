//! Every message of a charge point's life, the handshake rules, the error
//! codes, and calls from the central system.

use std::time::Duration;

use chrono::Utc;
use plugway_domain::{ChargePointId, IdTag, IdTagState};
use plugway_ocpp::{OcppConfig, OutboundError};
use plugway_store::{
    ConnectionEvent, ConnectionEventKind as Kind, ConnectionRefusal, DisconnectReason, IdTagRecord,
};
use serde_json::json;

use crate::{Backend, Csms, PASSWORD};

crate::on_both_backends!(
    the_handshake_checks_id_password_and_subprotocol,
    connections_and_refused_handshakes_are_recorded,
    a_whole_charging_session_is_stored,
    garbage_gets_the_right_callerror_and_the_connection_lives,
    oversized_and_binary_frames_are_closed_with_their_codes,
    a_start_on_a_connector_the_charger_never_reported_is_refused_and_closed,
    id_tag_rules_apply_at_start,
    central_system_calls_get_answers_timeouts_and_offline,
    a_new_connection_replaces_the_old,
    auto_registration_waits_for_boot,
    a_models_meter_quirks_are_corrected_as_its_values_come_in,
    past_the_admission_bound_a_handshake_is_told_to_retry,
);

fn ts(offset_secs: i64) -> String {
    (Utc::now() + chrono::Duration::seconds(offset_secs))
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

async fn tag(csms: &Csms, id: &str, max: i64, expiry: Option<chrono::DateTime<Utc>>) {
    csms.store
        .upsert_id_tag(&IdTagRecord {
            state: IdTagState {
                id_tag: IdTag::parse(id).unwrap(),
                parent_id_tag: Some(IdTag::parse("GROUP1").unwrap()),
                expiry,
                max_active_transactions: max,
            },
            user: None,
            created_at: Utc::now(),
            updated_at: Utc::now(),
        })
        .await
        .unwrap();
}

async fn the_handshake_checks_id_password_and_subprotocol(backend: Backend, name: &str) {
    let Some(csms) = Csms::start(backend, name, OcppConfig::default()).await else {
        return;
    };
    csms.add("CP1").await;
    assert_eq!(
        csms.connect_with("NOPE", Some(PASSWORD), Some("ocpp1.6"))
            .await
            .err(),
        Some(404)
    );
    assert_eq!(
        csms.connect_with("CP1", Some("wrong"), Some("ocpp1.6"))
            .await
            .err(),
        Some(401)
    );
    assert_eq!(
        csms.connect_with("CP1", None, Some("ocpp1.6")).await.err(),
        Some(401)
    );
    assert_eq!(
        csms.connect_with("CP1", Some(PASSWORD), None).await.err(),
        Some(400)
    );
    // A version we do not speak (2.0 without the .1) is refused; one we
    // speak later in the list is taken.
    assert_eq!(
        csms.connect_with("CP1", Some(PASSWORD), Some("ocpp2.0"))
            .await
            .err(),
        Some(400)
    );
    let mut client = csms
        .connect_with("CP1", Some(PASSWORD), Some("ocpp2.0, ocpp1.6"))
        .await
        .unwrap();
    client.boot().await;
    let cp = csms
        .store
        .find_charge_point(&ChargePointId::parse("CP1").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert!(cp.connected);
    csms.finish().await;
}

/// Polls until `id` has `n` connection events (they are written in the
/// background), newest first.
async fn connection_events(csms: &Csms, id: &str, n: usize) -> Vec<ConnectionEvent> {
    for _ in 0..200 {
        let events = csms.store.list_connection_events(id, 100).await.unwrap();
        if events.len() >= n {
            return events;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{id} never had {n} connection events");
}

async fn connections_and_refused_handshakes_are_recorded(backend: Backend, name: &str) {
    let Some(csms) = Csms::start(backend, name, OcppConfig::default()).await else {
        return;
    };
    csms.add("CP1").await;
    let refused = [
        ("CP1", Some("wrong"), Some("ocpp1.6"), 401),
        ("NOPE", Some(PASSWORD), Some("ocpp1.6"), 404),
        ("CP1", None, Some("ocpp1.6"), 401),
        ("CP1", Some(PASSWORD), None, 400),
    ];
    for (id, password, subprotocol, status) in refused {
        assert_eq!(
            csms.connect_with(id, password, subprotocol).await.err(),
            Some(status)
        );
    }
    let mut client = csms.connect("CP1").await;
    client.boot().await;
    client.close().await;

    let events = connection_events(&csms, "CP1", 5).await;
    let kinds: Vec<Kind> = events.iter().map(|e| e.kind).collect();
    assert_eq!(
        kinds,
        vec![
            Kind::Disconnected(DisconnectReason::ClosedByCharger),
            Kind::Connected,
            Kind::Refused(ConnectionRefusal::NoSubprotocol),
            Kind::Refused(ConnectionRefusal::NoPassword),
            Kind::Refused(ConnectionRefusal::WrongPassword),
        ],
        "{events:?}"
    );
    for e in &events {
        let addr = e.remote_addr.as_deref().unwrap_or_default();
        assert!(addr.starts_with("127.0.0.1:"), "the peer: {e:?}");
    }
    // The version once it is negotiated; none when nothing could be.
    assert_eq!(events[1].ocpp_version.as_deref(), Some("1.6"));
    assert_eq!(events[0].ocpp_version.as_deref(), Some("1.6"));
    assert_eq!(events[2].ocpp_version, None);
    assert_eq!(events[4].ocpp_version.as_deref(), Some("1.6"));

    // Refusals under any id, for admins: the unknown id among them.
    let unknown = connection_events(&csms, "NOPE", 1).await;
    assert_eq!(unknown[0].kind, Kind::Refused(ConnectionRefusal::UnknownId));
    let all_refused = csms.store.list_refused_connections(10).await.unwrap();
    assert_eq!(all_refused.len(), 4, "{all_refused:?}");
    assert!(all_refused.contains(&unknown[0]));
    assert_eq!(
        ConnectionRefusal::UnknownId.describe(),
        "no charge point has this id"
    );
    csms.finish().await;
}

async fn a_whole_charging_session_is_stored(backend: Backend, name: &str) {
    let Some(csms) = Csms::start(backend, name, OcppConfig::default()).await else {
        return;
    };
    let id = csms.add("CP1").await;
    tag(&csms, "TAG1", -1, None).await;
    let mut cp = csms.connect("CP1").await;
    let boot = cp.boot().await;
    assert_eq!(boot["status"], "Accepted");
    assert_eq!(boot["interval"], 300);
    assert!(boot["currentTime"].as_str().unwrap().ends_with('Z'));
    let stored = csms.store.find_charge_point(&id).await.unwrap().unwrap();
    let b = stored.boot.unwrap();
    assert_eq!((b.vendor.as_str(), b.model.as_str()), ("avt", "avt_plus"));
    assert_eq!(b.iccid.as_deref(), Some("iccid_78712124564"));

    assert!(cp.ok("Heartbeat", json!({})).await["currentTime"].is_string());
    cp.ok(
        "StatusNotification",
        json!({"connectorId": 1, "errorCode": "NoError", "status": "Available"}),
    )
    .await;
    cp.ok("StatusNotification", json!({"connectorId": 1, "errorCode": "NoError", "status": "Preparing", "timestamp": ts(0)})).await;

    let auth = cp.ok("Authorize", json!({"idTag": "UNKNOWN"})).await;
    assert_eq!(auth["idTagInfo"]["status"], "Invalid");
    let auth = cp.ok("Authorize", json!({"idTag": "tag1"})).await;
    assert_eq!(
        auth["idTagInfo"],
        json!({"status": "Accepted", "parentIdTag": "GROUP1"})
    );

    let start = json!({"connectorId": 1, "idTag": "TAG1", "meterStart": 1000, "timestamp": ts(0)});
    let started = cp.ok("StartTransaction", start.clone()).await;
    assert_eq!(started["idTagInfo"]["status"], "Accepted");
    let tx = started["transactionId"].as_i64().unwrap();
    // A charger that lost the answer sends the start again: same transaction.
    assert_eq!(
        cp.ok("StartTransaction", start).await["transactionId"].as_i64(),
        Some(tx)
    );

    let meter = json!({"connectorId": 1, "transactionId": tx, "meterValue": [{"timestamp": ts(1), "sampledValue": [
        {"value": "1500", "measurand": "Energy.Active.Import.Register", "unit": "Wh", "context": "Sample.Periodic"},
        {"value": "7.4", "measurand": "Power.Active.Import", "unit": "kW"}]}]});
    assert_eq!(cp.ok("MeterValues", meter).await, json!({}));
    // Answered means durable: the samples are there the moment the answer is.
    let samples = csms.store.list_meter_samples(tx).await.unwrap();
    assert_eq!(samples.len(), 2);
    assert_eq!(
        samples[0].measurand.as_deref(),
        Some("Energy.Active.Import.Register")
    );
    assert_eq!(samples[1].unit.as_deref(), Some("kW"));

    let stop = json!({"transactionId": tx, "meterStop": 4200, "timestamp": ts(60), "idTag": "TAG1", "reason": "Local",
        "transactionData": [{"timestamp": ts(60), "sampledValue": [{"value": "4200", "unit": "Wh"}]}]});
    let stopped = cp.ok("StopTransaction", stop).await;
    assert_eq!(stopped["idTagInfo"]["status"], "Accepted");
    let t = csms.store.find_transaction(tx).await.unwrap().unwrap();
    assert_eq!(
        (t.meter_start, t.meter_stop, t.stop_reason.as_deref()),
        (1000, Some(4200), Some("Local"))
    );
    assert_eq!(csms.store.list_meter_samples(tx).await.unwrap().len(), 3);
    // A stop for a transaction nobody knows is answered, not refused.
    let unknown = json!({"transactionId": 999_999, "meterStop": 1, "timestamp": ts(61)});
    assert_eq!(cp.ok("StopTransaction", unknown).await, json!({}));

    cp.ok("FirmwareStatusNotification", json!({"status": "Installed"}))
        .await;
    cp.ok(
        "DiagnosticsStatusNotification",
        json!({"status": "Uploaded"}),
    )
    .await;
    let dt = cp
        .ok(
            "DataTransfer",
            json!({"vendorId": "com.example", "messageId": "x", "data": "y"}),
        )
        .await;
    assert_eq!(dt["status"], "UnknownVendorId");
    let cpr = csms.store.find_charge_point(&id).await.unwrap().unwrap();
    assert_eq!(cpr.firmware_status.as_deref(), Some("Installed"));
    assert_eq!(cpr.diagnostics_status.as_deref(), Some("Uploaded"));
    let connectors = csms.store.list_connectors(&id).await.unwrap();
    assert_eq!(connectors[0].status, "Preparing");
    assert_eq!(
        csms.store
            .connector_history(&id, 1, 10)
            .await
            .unwrap()
            .len(),
        2
    );
    csms.finish().await;
}

async fn garbage_gets_the_right_callerror_and_the_connection_lives(backend: Backend, name: &str) {
    let Some(csms) = Csms::start(backend, name, OcppConfig::default()).await else {
        return;
    };
    csms.add("CP1").await;
    let mut cp = csms.connect("CP1").await;
    cp.boot().await;
    cp.send_text("this is not json").await;
    let answer = cp.next().await.unwrap();
    assert_eq!(
        (answer[0].as_i64(), answer[2].as_str()),
        (Some(4), Some("FormationViolation"))
    );
    cp.send_text(r#"[2,"x"]"#).await;
    assert_eq!(cp.next().await.unwrap()[2], "FormationViolation");
    let long_id = "y".repeat(37);
    cp.send_text(&json!([2, long_id, "Heartbeat", {}]).to_string())
        .await;
    assert_eq!(cp.next().await.unwrap()[2], "FormationViolation");
    assert_eq!(cp.error_code("FooBar", json!({})).await, "NotImplemented");
    assert_eq!(
        cp.error_code("Reset", json!({"type": "Hard"})).await,
        "NotSupported"
    );
    assert_eq!(
        cp.error_code("StartTransaction", json!({"connectorId": 1, "idTag": "T"}))
            .await,
        "OccurenceConstraintViolation"
    );
    assert_eq!(
        cp.error_code(
            "StartTransaction",
            json!({"connectorId": "one", "idTag": "T", "meterStart": 0, "timestamp": ts(0)})
        )
        .await,
        "TypeConstraintViolation"
    );
    assert_eq!(
        cp.error_code(
            "StatusNotification",
            json!({"connectorId": 1, "errorCode": "NoError", "status": "Sleeping"})
        )
        .await,
        "PropertyConstraintViolation"
    );
    assert_eq!(
        cp.error_code("Authorize", json!({"idTag": "T".repeat(21)}))
            .await,
        "PropertyConstraintViolation"
    );
    assert_eq!(
        cp.error_code("Heartbeat", json!({"extra": true})).await,
        "FormationViolation"
    );
    // After all that, the connection still works.
    assert!(cp.ok("Heartbeat", json!({})).await["currentTime"].is_string());
    csms.finish().await;
}

/// RFC 6455's close codes, not a dropped connection: 1009 for a frame over
/// the limit, 1003 for a binary frame (OCPP-J is text).
async fn oversized_and_binary_frames_are_closed_with_their_codes(backend: Backend, name: &str) {
    let config = OcppConfig::default();
    let limit = config.max_message_bytes;
    let Some(csms) = Csms::start(backend, name, config).await else {
        return;
    };
    csms.add("CP1").await;
    let mut cp = csms.connect("CP1").await;
    cp.boot().await;
    let huge =
        json!([2, "big", "DataTransfer", {"vendorId": "x", "data": "d".repeat(limit)}]).to_string();
    cp.send_text(&huge).await;
    assert_eq!(cp.close_code().await, Some(1009));

    let mut cp = csms.connect("CP1").await;
    cp.boot().await;
    cp.send_message(tokio_tungstenite::tungstenite::Message::Binary(
        vec![1, 2, 3].into(),
    ))
    .await;
    assert_eq!(cp.close_code().await, Some(1003));

    // The charger may come back at once.
    let mut cp = csms.connect("CP1").await;
    assert!(cp.boot().await["status"].is_string());
    csms.finish().await;
}

/// Connector 99 of a two-connector charger, or connector 0 (the charger
/// itself): the start is answered Invalid and its transaction is closed at
/// once, so nothing stays open there; connector 1 still starts.
async fn a_start_on_a_connector_the_charger_never_reported_is_refused_and_closed(
    backend: Backend,
    name: &str,
) {
    let Some(csms) = Csms::start(backend, name, OcppConfig::default()).await else {
        return;
    };
    csms.add("CP1").await;
    tag(&csms, "TAG1", -1, None).await;
    let mut cp = csms.connect("CP1").await;
    cp.boot().await;
    for connector in [0, 1, 2] {
        cp.ok(
            "StatusNotification",
            json!({"connectorId": connector, "errorCode": "NoError", "status": "Available"}),
        )
        .await;
    }
    for connector in [99, 0] {
        let start = json!({"connectorId": connector, "idTag": "TAG1", "meterStart": 0, "timestamp": ts(connector)});
        let refused = cp.ok("StartTransaction", start.clone()).await;
        assert_eq!(
            refused["idTagInfo"]["status"], "Invalid",
            "connector {connector}: {refused}"
        );
        let id = refused["transactionId"].as_i64().unwrap();
        let stored = csms.store.find_transaction(id).await.unwrap().unwrap();
        assert!(
            stored.stopped_at.is_some(),
            "connector {connector}: closed at once: {stored:?}"
        );
        // Sent again (an unanswered start), even after a status for that
        // connector came in between: the same transaction, still refused
        // and closed; then stopped by the charger, which changes nothing.
        if connector > 0 {
            cp.ok(
                "StatusNotification",
                json!({"connectorId": connector, "errorCode": "NoError", "status": "Preparing"}),
            )
            .await;
        }
        let again = cp.ok("StartTransaction", start).await;
        assert_eq!(
            (
                again["transactionId"].as_i64(),
                &again["idTagInfo"]["status"]
            ),
            (Some(id), &json!("Invalid"))
        );
        cp.ok(
            "StopTransaction",
            json!({"transactionId": id, "meterStop": 0, "timestamp": ts(connector + 1)}),
        )
        .await;
    }
    let started = cp
        .ok(
            "StartTransaction",
            json!({"connectorId": 1, "idTag": "TAG1", "meterStart": 0, "timestamp": ts(200)}),
        )
        .await;
    assert_eq!(started["idTagInfo"]["status"], "Accepted", "{started}");
    let id = started["transactionId"].as_i64().unwrap();
    assert!(csms
        .store
        .find_transaction(id)
        .await
        .unwrap()
        .unwrap()
        .stopped_at
        .is_none());
    csms.finish().await;
}

async fn id_tag_rules_apply_at_start(backend: Backend, name: &str) {
    let Some(csms) = Csms::start(backend, name, OcppConfig::default()).await else {
        return;
    };
    csms.add("CP1").await;
    tag(&csms, "BLOCKED", 0, None).await;
    tag(&csms, "ONEATATIME", 1, None).await;
    tag(
        &csms,
        "OLD",
        -1,
        Some(Utc::now() - chrono::Duration::days(1)),
    )
    .await;
    let mut cp = csms.connect("CP1").await;
    cp.boot().await;
    let start = |tag: &str, connector: i64, at: i64| json!({"connectorId": connector, "idTag": tag, "meterStart": 0, "timestamp": ts(at)});
    let status = |v: serde_json::Value| v["idTagInfo"]["status"].as_str().unwrap().to_owned();
    assert_eq!(
        status(cp.ok("StartTransaction", start("BLOCKED", 1, 0)).await),
        "Blocked"
    );
    assert_eq!(
        status(cp.ok("StartTransaction", start("OLD", 1, 1)).await),
        "Expired"
    );
    assert_eq!(
        status(cp.ok("StartTransaction", start("NOBODY", 1, 2)).await),
        "Invalid"
    );
    assert_eq!(
        status(cp.ok("StartTransaction", start("ONEATATIME", 1, 3)).await),
        "Accepted"
    );
    assert_eq!(
        status(cp.ok("StartTransaction", start("ONEATATIME", 2, 4)).await),
        "ConcurrentTx"
    );
    assert_eq!(
        status(cp.ok("Authorize", json!({"idTag": "BLOCKED"})).await),
        "Blocked"
    );
    csms.finish().await;
}

async fn central_system_calls_get_answers_timeouts_and_offline(backend: Backend, name: &str) {
    let config = OcppConfig {
        call_timeout: Duration::from_millis(500),
        ..OcppConfig::default()
    };
    let Some(csms) = Csms::start(backend, name, config).await else {
        return;
    };
    let id = csms.add("CP1").await;
    assert_eq!(
        csms.state
            .registry
            .call(&id, "Reset", json!({"type": "Soft"}))
            .await,
        Err(OutboundError::Offline)
    );
    let mut cp = csms.connect("CP1").await;
    cp.boot().await;
    // Accepted.
    let registry = csms.state.registry.clone();
    let id2 = id.clone();
    let pending =
        tokio::spawn(async move { registry.call(&id2, "Reset", json!({"type": "Soft"})).await });
    let call = cp.next().await.unwrap();
    assert_eq!(
        (call[0].as_i64(), call[2].as_str()),
        (Some(2), Some("Reset"))
    );
    assert_eq!(call[3], json!({"type": "Soft"}));
    assert!(call[1].as_str().unwrap().len() <= 36);
    cp.send_text(&json!([3, call[1], {"status": "Accepted"}]).to_string())
        .await;
    assert_eq!(pending.await.unwrap(), Ok(json!({"status": "Accepted"})));
    // Refused with a CALLERROR.
    let registry = csms.state.registry.clone();
    let id2 = id.clone();
    let pending = tokio::spawn(async move { registry.call(&id2, "ClearCache", json!({})).await });
    let call = cp.next().await.unwrap();
    cp.send_text(&json!([4, call[1], "NotSupported", "no cache here", {}]).to_string())
        .await;
    assert!(
        matches!(pending.await.unwrap(), Err(OutboundError::Rejected { code, .. }) if code == "NotSupported")
    );
    // No answer: times out, and the next call still goes through.
    let registry = csms.state.registry.clone();
    let id2 = id.clone();
    let pending =
        tokio::spawn(async move { registry.call(&id2, "GetLocalListVersion", json!({})).await });
    let _ignored = cp.next().await.unwrap();
    assert_eq!(pending.await.unwrap(), Err(OutboundError::Timeout));
    // While our CALL is out, the charger's own CALLs are still answered.
    let registry = csms.state.registry.clone();
    let id2 = id.clone();
    let pending = tokio::spawn(async move {
        registry
            .call(
                &id2,
                "TriggerMessage",
                json!({"requestedMessage": "Heartbeat"}),
            )
            .await
    });
    let call = cp.next().await.unwrap();
    assert!(cp.ok("Heartbeat", json!({})).await["currentTime"].is_string());
    cp.send_text(&json!([3, call[1], {"status": "Accepted"}]).to_string())
        .await;
    assert_eq!(pending.await.unwrap(), Ok(json!({"status": "Accepted"})));
    drop(cp);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        csms.state.registry.call(&id, "ClearCache", json!({})).await,
        Err(OutboundError::Offline)
    );
    assert!(
        !csms
            .store
            .find_charge_point(&id)
            .await
            .unwrap()
            .unwrap()
            .connected
    );
    csms.finish().await;
}

async fn a_new_connection_replaces_the_old(backend: Backend, name: &str) {
    let Some(csms) = Csms::start(backend, name, OcppConfig::default()).await else {
        return;
    };
    let id = csms.add("CP1").await;
    let mut first = csms.connect("CP1").await;
    first.boot().await;
    let mut second = csms.connect("CP1").await;
    assert!(first.next().await.is_none(), "the old connection is closed");
    second.boot().await;
    assert_eq!(csms.state.registry.len(), 1);
    let registry = csms.state.registry.clone();
    let id2 = id.clone();
    let pending = tokio::spawn(async move { registry.call(&id2, "ClearCache", json!({})).await });
    let call = second.next().await.unwrap();
    second
        .send_text(&json!([3, call[1], {"status": "Accepted"}]).to_string())
        .await;
    assert_eq!(pending.await.unwrap(), Ok(json!({"status": "Accepted"})));
    assert!(
        csms.store
            .find_charge_point(&id)
            .await
            .unwrap()
            .unwrap()
            .connected,
        "still connected after the old one left"
    );
    // The history says why the first one ended.
    let events = connection_events(&csms, "CP1", 3).await;
    assert!(
        events
            .iter()
            .any(|e| e.kind == Kind::Disconnected(DisconnectReason::Replaced)),
        "{events:?}"
    );
    csms.finish().await;
}

async fn auto_registration_waits_for_boot(backend: Backend, name: &str) {
    let config = OcppConfig {
        auto_register: true,
        ..OcppConfig::default()
    };
    let Some(csms) = Csms::start(backend, name, config).await else {
        return;
    };
    let mut cp = csms
        .connect_with("LAB-7", None, Some("ocpp1.6"))
        .await
        .unwrap();
    assert_eq!(cp.error_code("Heartbeat", json!({})).await, "SecurityError");
    let id = ChargePointId::parse("LAB-7").unwrap();
    assert!(csms.store.find_charge_point(&id).await.unwrap().is_none());
    cp.boot().await;
    let stored = csms.store.find_charge_point(&id).await.unwrap().unwrap();
    assert!(stored.boot.is_some() && stored.connected);
    assert!(cp.ok("Heartbeat", json!({})).await["currentTime"].is_string());
    csms.finish().await;
}

async fn a_models_meter_quirks_are_corrected_as_its_values_come_in(backend: Backend, name: &str) {
    // The harness's chargers boot as vendor "avt", model "avt_plus": this
    // model sends kWh labelled Wh and calls its register an interval.
    let quirks: plugway_domain::meter_quirks::MeterQuirks = serde_json::from_value(json!({
        "vendor": "AVT", "model": "avt_plus", "energy_in_kwh": true, "extra_fields": ["vendorExtra"],
        "measurand_aliases": {"Energy.Active.Import.Interval": "Energy.Active.Import.Register"}}))
    .unwrap();
    let config = OcppConfig {
        meter_quirks: std::sync::Arc::new(vec![quirks]),
        meter_report_every: Duration::from_millis(50),
        ..OcppConfig::default()
    };
    let Some(csms) = Csms::start(backend, name, config).await else {
        return;
    };
    csms.add("CP1").await;
    csms.add("CP2").await;
    tag(&csms, "TAG1", -1, None).await;
    let available = json!({"connectorId": 1, "errorCode": "NoError", "status": "Available"});

    let mut cp = csms.connect("CP1").await;
    cp.boot().await;
    cp.ok("StatusNotification", available.clone()).await;
    let started = cp
        .ok(
            "StartTransaction",
            json!({"connectorId": 1, "idTag": "TAG1", "meterStart": 10, "timestamp": ts(0)}),
        )
        .await;
    let tx = started["transactionId"].as_i64().unwrap();
    // Its firmware also adds a property the schema does not have.
    let meter = json!({"connectorId": 1, "transactionId": tx, "vendorExtra": true, "meterValue": [{"timestamp": ts(1), "sampledValue": [
        {"value": "12.5", "unit": "Wh", "vendorExtra": 7},
        {"value": "12.75", "measurand": "Energy.Active.Import.Interval"},
        {"value": "7.4", "measurand": "Power.Active.Import", "unit": "kW"}]}]});
    cp.ok("MeterValues", meter).await;
    let stored: Vec<(Option<String>, String)> = csms
        .store
        .list_meter_samples(tx)
        .await
        .unwrap()
        .into_iter()
        .map(|s| (s.measurand, s.value))
        .collect();
    let register = Some("Energy.Active.Import.Register".to_owned());
    assert_eq!(
        stored,
        [
            (None, "12500".to_owned()),
            (register.clone(), "12750".to_owned()),
            (Some("Power.Active.Import".to_owned()), "7.4".to_owned()),
        ]
    );
    drop(cp);

    // Reconnected without a boot: the stored model still picks the profile.
    let mut cp = csms.connect("CP1").await;
    let meter = json!({"connectorId": 1, "transactionId": tx, "meterValue": [{"timestamp": ts(2), "sampledValue": [
        {"value": "14", "unit": "Wh"}]}]});
    cp.ok("MeterValues", meter).await;
    let stop = json!({"transactionId": tx, "meterStop": 15, "timestamp": ts(60), "idTag": "TAG1"});
    cp.ok("StopTransaction", stop).await;
    let t = csms.store.find_transaction(tx).await.unwrap().unwrap();
    assert_eq!((t.meter_start, t.meter_stop), (10_000, Some(15_000)));
    let last = csms.store.list_meter_samples(tx).await.unwrap();
    assert_eq!(last.last().unwrap().value, "14000");

    // Another model: its values are taken as they are.
    let mut other = csms.connect("CP2").await;
    other
        .ok(
            "BootNotification",
            json!({"chargePointVendor": "avt", "chargePointModel": "avt_dc"}),
        )
        .await;
    other.ok("StatusNotification", available).await;
    // Without the profile, a property outside the schema is refused.
    let refused = other
        .call(
            "StatusNotification",
            json!({"connectorId": 1, "errorCode": "NoError", "status": "Available", "vendorExtra": true}),
        )
        .await;
    assert_eq!(refused[0], 4, "a CALLERROR: {refused}");
    let started = other
        .ok(
            "StartTransaction",
            json!({"connectorId": 1, "idTag": "TAG1", "meterStart": 10, "timestamp": ts(0)}),
        )
        .await;
    let tx2 = started["transactionId"].as_i64().unwrap();
    let meter = json!({"connectorId": 1, "transactionId": tx2, "meterValue": [{"timestamp": ts(1), "sampledValue": [
        {"value": "12.5", "unit": "Wh"}, {"value": "n/a", "unit": "Wh"}, {"value": "1,5", "unit": "kWh"}]}]});
    other.ok("MeterValues", meter).await;
    let t2 = csms.store.find_transaction(tx2).await.unwrap().unwrap();
    assert_eq!(t2.meter_start, 10);
    assert_eq!(
        csms.store.list_meter_samples(tx2).await.unwrap()[0].value,
        "12.5"
    );

    // The meter-data report: received, corrected, read by no rule.
    let today = Utc::now().date_naive();
    for (cp, expected) in [("CP1", (4, 3, 0)), ("CP2", (3, 0, 2))] {
        let id = ChargePointId::parse(cp).unwrap();
        let mut seen = None;
        for _ in 0..100 {
            let days = csms.store.meter_data_report(&id, today).await.unwrap();
            seen = days
                .first()
                .map(|d| (d.counts.received, d.counts.corrected, d.counts.unreadable));
            if seen == Some(expected) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(seen, Some(expected), "{cp}");
    }
    csms.finish().await;
}

/// The status and `Retry-After` of a handshake refused at `csms`.
async fn refused_handshake(csms: &Csms, id: &str) -> (u16, Option<u64>) {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
    let mut request = format!("ws://{}/ocpp/{id}", csms.addr)
        .into_client_request()
        .unwrap();
    request
        .headers_mut()
        .insert("sec-websocket-protocol", "ocpp1.6".parse().unwrap());
    match tokio_tungstenite::connect_async(request).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(r)) => (
            r.status().as_u16(),
            r.headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok()?.parse().ok()),
        ),
        other => panic!("expected a refused handshake, got {other:?}"),
    }
}

async fn past_the_admission_bound_a_handshake_is_told_to_retry(backend: Backend, name: &str) {
    use plugway_store::{ConnectionEventKind as Kind, ConnectionRefusal};
    let config = OcppConfig {
        max_pending_connections: 1,
        admission_timeout: Duration::from_millis(300),
        ..OcppConfig::default()
    };
    let Some(csms) = Csms::start(backend, name, config).await else {
        return;
    };
    for id in ["CP1", "CP2", "CP3"] {
        csms.add(id).await;
    }
    // CP1 is admitted and holds the one place until its first answer.
    let mut first = csms.connect("CP1").await;
    let (status, retry_after) = refused_handshake(&csms, "CP2").await;
    assert_eq!(status, 503);
    let wait = retry_after.expect("a Retry-After header");
    assert!((1..=5).contains(&wait), "Retry-After {wait}");
    first.ok("Heartbeat", json!({})).await;
    // Its place is free again: CP2 gets in, and holds it, silent...
    let _second = csms.connect("CP2").await;
    assert_eq!(refused_handshake(&csms, "CP3").await.0, 503);
    // ...only until the admission timeout.
    tokio::time::sleep(Duration::from_millis(400)).await;
    let mut third = csms.connect("CP3").await;
    third.ok("Heartbeat", json!({})).await;
    // The operator sees why CP2 was turned away (the history is written
    // in the background).
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let events = csms.store.list_connection_events("CP2", 10).await.unwrap();
        if events
            .iter()
            .any(|e| e.kind == Kind::Refused(ConnectionRefusal::TooManyConnecting))
        {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{events:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    csms.finish().await;
}
