//! OCPP 2.0.1 stations on the same endpoint as 1.6 chargers: the version
//! is negotiated, every payload is held to the official schemas (and every
//! answer we give passes its response schema), transactions drive the same
//! sessions and purchases as 1.6's, and the central system's commands reach
//! a station in 2.0.1's words.

use chrono::Utc;
use plugway_domain::{IdTag, IdTagState, SessionState};
use plugway_events::{ChargerCommand, GatewayError};
use plugway_ocpp::v201::schemas::{self, Part};
use plugway_ocpp::OcppConfig;
use plugway_store::{IdTagRecord, SessionOrigin};
use serde_json::{json, Value};

use crate::{Backend, Client, Csms, PASSWORD};

crate::on_both_backends!(
    the_station_chooses_its_version_and_it_is_recorded,
    a_station_reports_and_broken_payloads_get_201_errors,
    a_201_transaction_is_a_session_priced_once,
    commands_reach_a_201_station_in_its_words,
    a_token_and_a_reading_that_come_late_still_bill_right,
    an_evse_shows_its_busiest_connector,
    stations_of_both_versions_get_their_certificates_signed,
    a_station_let_in_without_a_password_gets_no_certificate,
);

/// Sends a CALL and returns the CALLRESULT payload, checked against the
/// action's official response schema.
async fn ok(cp: &mut Client, action: &str, payload: Value) -> Value {
    let answer = cp.ok(action, payload).await;
    schemas::check(action, Part::Response, &answer)
        .unwrap_or_else(|e| panic!("our {action} answer breaks its schema: {e:?}: {answer}"));
    answer
}

async fn boot(cp: &mut Client) {
    let answer = ok(
        cp,
        "BootNotification",
        json!({"reason": "PowerUp", "chargingStation": {"model": "Wallbox 201",
            "vendorName": "Acme", "serialNumber": "SN-201", "firmwareVersion": "2.0.1-r7",
            "modem": {"iccid": "8997600000000000001", "imsi": "428990000000001"}}}),
    )
    .await;
    assert_eq!(answer["status"], "Accepted");
}

fn at(base: chrono::DateTime<Utc>, offset_secs: i64) -> String {
    (base + chrono::Duration::seconds(offset_secs))
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

async fn the_station_chooses_its_version_and_it_is_recorded(backend: Backend, name: &str) {
    let Some(csms) = Csms::start(backend, name, OcppConfig::default()).await else {
        return;
    };
    let id = csms.add("V201-A").await;
    // Its first choice that we speak, in its order.
    let client = csms
        .connect_with("V201-A", Some(PASSWORD), Some("ocpp2.0.1, ocpp1.6"))
        .await
        .unwrap();
    assert_eq!(client.subprotocol, "ocpp2.0.1");
    drop(client);
    let client = csms
        .connect_with("V201-A", Some(PASSWORD), Some("ocpp1.6, ocpp2.0.1"))
        .await
        .unwrap();
    assert_eq!(client.subprotocol, "ocpp1.6");
    drop(client);
    let mut cp = csms.connect_201("V201-A").await;
    boot(&mut cp).await;
    let stored = csms.store.find_charge_point(&id).await.unwrap().unwrap();
    assert_eq!(stored.ocpp_version.as_deref(), Some("2.0.1"));
    let boot_info = stored.boot.unwrap();
    assert_eq!(
        (boot_info.vendor.as_str(), boot_info.model.as_str()),
        ("Acme", "Wallbox 201")
    );
    assert_eq!(boot_info.firmware_version.as_deref(), Some("2.0.1-r7"));
    assert_eq!(boot_info.iccid.as_deref(), Some("8997600000000000001"));
    // Same Basic auth as 1.6.
    assert_eq!(
        csms.connect_with("V201-A", Some("wrong"), Some("ocpp2.0.1"))
            .await
            .err(),
        Some(401)
    );
    csms.finish().await;
}

async fn a_station_reports_and_broken_payloads_get_201_errors(backend: Backend, name: &str) {
    let Some(csms) = Csms::start(backend, name, OcppConfig::default()).await else {
        return;
    };
    let id = csms.add("V201-B").await;
    let mut cp = csms.connect_201("V201-B").await;
    boot(&mut cp).await;
    assert!(ok(&mut cp, "Heartbeat", json!({})).await["currentTime"].is_string());
    let now = Utc::now();
    ok(
        &mut cp,
        "StatusNotification",
        json!({"timestamp": at(now, 0), "connectorStatus": "Occupied", "evseId": 1, "connectorId": 1}),
    )
    .await;
    let connectors = csms.store.list_connectors(&id).await.unwrap();
    assert_eq!(
        connectors
            .iter()
            .map(|c| (c.connector_id, c.status.as_str()))
            .collect::<Vec<_>>(),
        [(1, "Preparing")],
        "EVSE 1 occupied reads as 1.6's Preparing"
    );
    let unknown = ok(
        &mut cp,
        "Authorize",
        json!({"idToken": {"idToken": "NOBODY", "type": "ISO14443"}}),
    )
    .await;
    assert_eq!(unknown["idTokenInfo"]["status"], "Unknown");

    // The device model it reports is stored, the last report winning.
    let report = |value: &str, seq: i64| {
        json!({"requestId": 7, "generatedAt": at(now, seq), "seqNo": seq, "tbc": false,
            "reportData": [
                {"component": {"name": "SecurityCtrlr"}, "variable": {"name": "SecurityProfile"},
                 "variableAttribute": [{"type": "Actual", "value": value, "mutability": "ReadOnly"}],
                 "variableCharacteristics": {"dataType": "integer", "supportsMonitoring": false}},
                {"component": {"name": "EVSE", "evse": {"id": 1}}, "variable": {"name": "Power"},
                 "variableAttribute": [{"type": "MaxSet", "value": "22000"}],
                 "variableCharacteristics": {"dataType": "decimal", "unit": "W", "supportsMonitoring": true}}]})
    };
    ok(&mut cp, "NotifyReport", report("1", 0)).await;
    ok(&mut cp, "NotifyReport", report("2", 1)).await;
    let model = csms
        .store
        .list_device_model(&id, None, 0, 10)
        .await
        .unwrap();
    assert_eq!(model.len(), 2, "{model:?}");
    assert_eq!(
        (
            model[0].component.as_str(),
            model[0].evse_id,
            model[0].attribute_type.as_str(),
            model[0].unit.as_deref()
        ),
        ("EVSE", 1, "MaxSet", Some("W"))
    );
    assert_eq!(model[1].value.as_deref(), Some("2"));

    // Events are kept as received.
    ok(
        &mut cp,
        "SecurityEventNotification",
        json!({"type": "InvalidCsmsCertificate", "timestamp": at(now, -5), "techInfo": "expired"}),
    )
    .await;
    ok(
        &mut cp,
        "NotifyEvent",
        json!({"generatedAt": at(now, 0), "seqNo": 0, "eventData": [{"eventId": 1, "timestamp": at(now, 0),
            "trigger": "Delta", "actualValue": "Faulted", "eventNotificationType": "HardWiredNotification",
            "component": {"name": "Connector", "evse": {"id": 1, "connectorId": 1}},
            "variable": {"name": "AvailabilityState"}}]}),
    )
    .await;
    ok(
        &mut cp,
        "FirmwareStatusNotification",
        json!({"status": "Installed", "requestId": 3}),
    )
    .await;
    let signed = ok(
        &mut cp,
        "SignCertificate",
        json!({"csr": "-----BEGIN CERTIFICATE REQUEST-----"}),
    )
    .await;
    assert_eq!(signed["status"], "Rejected", "no CA is configured");
    let events = csms
        .store
        .list_station_events(&id, None, None, 10)
        .await
        .unwrap();
    let kinds: Vec<_> = events.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "SignCertificate",
            "FirmwareStatusNotification",
            "NotifyEvent",
            "SecurityEventNotification"
        ]
    );
    assert_eq!(events[3].summary.as_deref(), Some("InvalidCsmsCertificate"));
    assert_eq!(
        events[3].occurred_at.timestamp(),
        (now - chrono::Duration::seconds(5)).timestamp()
    );
    assert_eq!(
        events[2].summary.as_deref(),
        Some("Connector.AvailabilityState=Faulted")
    );
    assert_eq!(
        csms.store
            .find_charge_point(&id)
            .await
            .unwrap()
            .unwrap()
            .firmware_status
            .as_deref(),
        Some("Installed")
    );

    // Garbage gets 2.0.1's codes, and the connection lives.
    cp.send_text("this is not json").await;
    assert_eq!(cp.next().await.unwrap()[2], "RpcFrameworkError");
    cp.send_text(r#"[7,"x",{}]"#).await;
    assert_eq!(cp.next().await.unwrap()[2], "MessageTypeNotSupported");
    assert_eq!(cp.error_code("FooBar", json!({})).await, "NotImplemented");
    assert_eq!(
        cp.error_code("RequestStartTransaction", json!({})).await,
        "NotSupported",
        "a CSMS→station action sent by a station"
    );
    assert_eq!(
        cp.error_code("Authorize", json!({"idToken": {"type": "ISO14443"}}))
            .await,
        "OccurrenceConstraintViolation"
    );
    assert_eq!(
        cp.error_code("MeterValues", json!({"evseId": "one", "meterValue": []}))
            .await,
        "TypeConstraintViolation"
    );
    assert_eq!(
        cp.error_code("StatusNotification", json!({"timestamp": at(now, 0), "connectorStatus": "Sleeping", "evseId": 1, "connectorId": 1})).await,
        "PropertyConstraintViolation"
    );
    assert_eq!(
        cp.error_code("Heartbeat", json!({"extra": true})).await,
        "FormatViolation"
    );
    // A 1.6 payload is not a 2.0.1 one.
    assert_eq!(
        cp.error_code(
            "BootNotification",
            json!({"chargePointVendor": "avt", "chargePointModel": "m"})
        )
        .await,
        "FormatViolation"
    );
    assert!(ok(&mut cp, "Heartbeat", json!({})).await["currentTime"].is_string());
    csms.finish().await;
}

/// An RFID card's transaction as a 2.0.1 station reports it: Started,
/// Updated with readings and a pause, Ended; one session, one purchase,
/// however often the station repeats an event.
async fn a_201_transaction_is_a_session_priced_once(backend: Backend, name: &str) {
    let Some(csms) = Csms::start(backend, name, OcppConfig::default()).await else {
        return;
    };
    let id = csms.add("V201-C").await;
    let user = plugway_store_conformance::make_user(csms.store.as_ref(), "+97688002001").await;
    csms.store
        .upsert_id_tag(&IdTagRecord {
            state: IdTagState {
                id_tag: IdTag::parse("CARD201").unwrap(),
                parent_id_tag: None,
                expiry: None,
                max_active_transactions: -1,
            },
            user: Some(user.id),
            created_at: Utc::now(),
            updated_at: Utc::now(),
        })
        .await
        .unwrap();
    let mut cp = csms.connect_201("V201-C").await;
    boot(&mut cp).await;
    let base = Utc::now();
    ok(&mut cp, "StatusNotification", json!({"timestamp": at(base, -700), "connectorStatus": "Available", "evseId": 1, "connectorId": 1})).await;
    let allowed = ok(
        &mut cp,
        "Authorize",
        json!({"idToken": {"idToken": "card201", "type": "ISO14443"}}),
    )
    .await;
    assert_eq!(
        allowed["idTokenInfo"]["status"], "Accepted",
        "tokens are case-insensitive"
    );

    let token = json!({"idToken": "CARD201", "type": "ISO14443"});
    let reading = |offset: i64, wh: &str, context: &str| {
        json!([{"timestamp": at(base, offset), "sampledValue": [
            {"value": wh.parse::<f64>().unwrap(), "context": context, "measurand": "Energy.Active.Import.Register",
             "unitOfMeasure": {"unit": "kWh"}},
            {"value": 7400, "context": context, "measurand": "Power.Active.Import", "unitOfMeasure": {"unit": "W"}}]}])
    };
    let started = json!({"eventType": "Started", "timestamp": at(base, -600), "triggerReason": "Authorized",
        "seqNo": 0, "transactionInfo": {"transactionId": "st-tx-1", "chargingState": "Charging"},
        "idToken": token, "evse": {"id": 1, "connectorId": 1},
        "meterValue": reading(-600, "1.0", "Transaction.Begin")});
    let answer = ok(&mut cp, "TransactionEvent", started.clone()).await;
    assert_eq!(answer["idTokenInfo"]["status"], "Accepted");
    let link = csms
        .store
        .find_remote_transaction(&id, "st-tx-1")
        .await
        .unwrap()
        .unwrap();
    let tx = csms
        .store
        .find_transaction(link.transaction_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (tx.connector_id, tx.meter_start, tx.id_tag.as_str()),
        (1, 1000, "CARD201")
    );
    let session = csms
        .store
        .find_session_by_transaction(tx.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (session.user_id, session.origin, session.state),
        (
            Some(user.id),
            SessionOrigin::Charger,
            SessionState::Charging
        )
    );
    // The station lost our answer and sends Started again: the same
    // transaction, still one session.
    ok(&mut cp, "TransactionEvent", started).await;
    assert_eq!(
        csms.store
            .list_active_charging_sessions(Some(user.id), 10)
            .await
            .unwrap()
            .len(),
        1
    );

    // The car pauses, then draws again: one waiting span, closed.
    let update = |seq: i64, offset: i64, state: &str, wh: &str| {
        json!({"eventType": "Updated", "timestamp": at(base, offset), "triggerReason": "ChargingStateChanged",
            "seqNo": seq, "transactionInfo": {"transactionId": "st-tx-1", "chargingState": state},
            "meterValue": reading(offset, wh, "Sample.Periodic")})
    };
    let paused = ok(
        &mut cp,
        "TransactionEvent",
        update(1, -300, "SuspendedEV", "3.25"),
    )
    .await;
    assert_eq!(paused, json!({}), "no token, no idTokenInfo");
    let waiting = csms
        .store
        .find_charging_session(session.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(waiting.state, SessionState::Suspended);
    ok(
        &mut cp,
        "TransactionEvent",
        update(2, -240, "Charging", "3.5"),
    )
    .await;
    let resumed = csms
        .store
        .find_charging_session(session.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(resumed.state, SessionState::Charging);
    assert_eq!(resumed.waiting.len(), 1);
    assert!(resumed.waiting[0].end.is_some());
    let samples = csms.store.list_meter_samples(tx.id).await.unwrap();
    assert!(
        samples
            .iter()
            .any(|s| s.value == "3.25" && s.unit.as_deref() == Some("kWh")),
        "{samples:?}"
    );

    // Ended with its end reading: the purchase holds 6,000 Wh and the
    // minute of waiting.
    let ended = json!({"eventType": "Ended", "timestamp": at(base, 0), "triggerReason": "EVCommunicationLost",
        "seqNo": 3, "transactionInfo": {"transactionId": "st-tx-1", "stoppedReason": "EVDisconnected"},
        "idToken": token, "meterValue": reading(0, "7", "Transaction.End")});
    let answer = ok(&mut cp, "TransactionEvent", ended.clone()).await;
    assert_eq!(answer["idTokenInfo"]["status"], "Accepted");
    let stopped = csms.store.find_transaction(tx.id).await.unwrap().unwrap();
    assert_eq!(stopped.meter_stop, Some(7000));
    assert_eq!(stopped.stop_reason.as_deref(), Some("EVDisconnected"));
    let finished = csms
        .store
        .find_charging_session(session.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(finished.state, SessionState::Finished);
    let purchase = csms
        .store
        .find_purchase(finished.purchase_id.unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(purchase.cost.energy_wh, 6000);
    assert_eq!(purchase.cost.waiting_seconds, 60);
    ok(&mut cp, "TransactionEvent", ended).await;
    assert_eq!(csms.store.count_purchases(user.id).await.unwrap(), 1);
    assert_eq!(
        csms.store
            .find_remote_transaction(&id, "st-tx-1")
            .await
            .unwrap()
            .unwrap()
            .last_seq_no,
        3
    );

    // An unknown card's transaction is stored, refused, and opens no session.
    let refused = ok(
        &mut cp,
        "TransactionEvent",
        json!({"eventType": "Started", "timestamp": at(base, 10),
        "triggerReason": "Authorized", "seqNo": 0, "transactionInfo": {"transactionId": "st-tx-2"},
        "idToken": {"idToken": "NOBODY", "type": "ISO14443"}, "evse": {"id": 1, "connectorId": 1},
        "meterValue": reading(10, "7", "Transaction.Begin")}),
    )
    .await;
    assert_eq!(refused["idTokenInfo"]["status"], "Unknown");
    let link = csms
        .store
        .find_remote_transaction(&id, "st-tx-2")
        .await
        .unwrap()
        .unwrap();
    assert!(csms
        .store
        .find_session_by_transaction(link.transaction_id)
        .await
        .unwrap()
        .is_none());
    csms.finish().await;
}

/// Answers the next CALL the station gets with `answer`; that CALL's
/// action and payload.
async fn answer_next(cp: &mut Client, answer: Value) -> (String, Value) {
    let call = cp.next().await.expect("a CALL");
    assert_eq!(call[0], 2, "{call}");
    cp.send_text(&json!([3, call[1], answer]).to_string()).await;
    (call[2].as_str().unwrap().to_owned(), call[3].clone())
}

async fn commands_reach_a_201_station_in_its_words(backend: Backend, name: &str) {
    let Some(csms) = Csms::start(backend, name, OcppConfig::default()).await else {
        return;
    };
    let id = csms.add("V201-D").await;
    let mut cp = csms.connect_201("V201-D").await;
    boot(&mut cp).await;
    let state = csms.state.clone();
    let send = |command: ChargerCommand| {
        let state = state.clone();
        tokio::spawn(async move { state.send_local("V201-D", command).await })
    };

    // A driver's start from the app.
    let pending = send(ChargerCommand::RemoteStart {
        connector: 2,
        id_tag: "APP123".to_owned(),
    });
    let (action, payload) = answer_next(&mut cp, json!({"status": "Accepted"})).await;
    assert_eq!(action, "RequestStartTransaction");
    assert_eq!(
        payload["idToken"],
        json!({"idToken": "APP123", "type": "Central"})
    );
    assert_eq!(payload["evseId"], 2);
    assert!(payload["remoteStartId"].as_i64().unwrap() > 0);
    assert!(pending.await.unwrap().unwrap().accepted());

    // Its stop names the station's own transaction id.
    ok(&mut cp, "TransactionEvent", json!({"eventType": "Started", "timestamp": at(Utc::now(), 0),
        "triggerReason": "RemoteStart", "seqNo": 0,
        "transactionInfo": {"transactionId": "remote-77", "remoteStartId": payload["remoteStartId"]},
        "idToken": {"idToken": "APP123", "type": "Central"}, "evse": {"id": 2, "connectorId": 1},
        "meterValue": [{"timestamp": at(Utc::now(), 0), "sampledValue": [{"value": 0}]}]})).await;
    let ours = csms
        .store
        .find_remote_transaction(&id, "remote-77")
        .await
        .unwrap()
        .unwrap();
    let pending = send(ChargerCommand::RemoteStop {
        transaction_id: ours.transaction_id,
    });
    let (action, payload) = answer_next(&mut cp, json!({"status": "Accepted"})).await;
    assert_eq!(
        (action.as_str(), &payload),
        (
            "RequestStopTransaction",
            &json!({"transactionId": "remote-77"})
        )
    );
    assert!(pending.await.unwrap().unwrap().accepted());

    // Bookings, roaming unlocks and the local list, in 2.0.1's words.
    let expiry = Utc::now() + chrono::Duration::minutes(15);
    let pending = send(ChargerCommand::ReserveNow {
        connector: 1,
        expiry,
        id_tag: "APP123".to_owned(),
        reservation_id: 41,
    });
    let (action, payload) = answer_next(&mut cp, json!({"status": "Accepted"})).await;
    assert_eq!(action, "ReserveNow");
    assert_eq!(
        (payload["id"].as_i64(), payload["evseId"].as_i64()),
        (Some(41), Some(1))
    );
    pending.await.unwrap().unwrap();
    let pending = send(ChargerCommand::Unlock { connector: 1 });
    let (action, payload) = answer_next(&mut cp, json!({"status": "Unlocked"})).await;
    assert_eq!(
        (action.as_str(), &payload),
        ("UnlockConnector", &json!({"evseId": 1, "connectorId": 1}))
    );
    pending.await.unwrap().unwrap();
    let pending = send(ChargerCommand::UpdateLocalList {
        version: 9,
        id_tag: "CARD9".to_owned(),
        blocked: true,
    });
    let (action, payload) = answer_next(&mut cp, json!({"status": "Accepted"})).await;
    assert_eq!(action, "SendLocalList");
    assert_eq!(
        payload["localAuthorizationList"][0]["idTokenInfo"]["status"],
        "Blocked"
    );
    pending.await.unwrap().unwrap();

    // An operator's own 2.0.1 command goes as given; a broken one, or a 1.6
    // one, never leaves.
    let pending = send(ChargerCommand::Ocpp201 {
        action: "GetVariables".to_owned(),
        payload: json!({"getVariableData": [{"component": {"name": "SecurityCtrlr"}, "variable": {"name": "SecurityProfile"}}]}),
    });
    let (action, _) = answer_next(&mut cp, json!({"getVariableResult": [{"attributeStatus": "Accepted",
        "attributeValue": "1", "component": {"name": "SecurityCtrlr"}, "variable": {"name": "SecurityProfile"}}]})).await;
    assert_eq!(action, "GetVariables");
    let answer = pending.await.unwrap().unwrap();
    assert_eq!(answer.0["getVariableResult"][0]["attributeValue"], "1");
    let broken = csms
        .state
        .send_local(
            "V201-D",
            ChargerCommand::Ocpp201 {
                action: "GetVariables".to_owned(),
                payload: json!({"getVariableData": []}),
            },
        )
        .await;
    assert!(
        matches!(broken, Err(GatewayError::Invalid(_))),
        "{broken:?}"
    );
    let old = csms
        .state
        .send_local(
            "V201-D",
            ChargerCommand::Ocpp16 {
                action: plugway_events::Ocpp16Action::RemoteStartTransaction,
                payload: json!({"idTag": "X"}),
            },
        )
        .await;
    match old {
        Err(GatewayError::Invalid(why)) => {
            assert!(why.contains("RequestStartTransaction"), "{why}")
        }
        other => panic!("{other:?}"),
    }
    // A stop for a transaction the station never named is refused here.
    let unknown = csms
        .state
        .send_local(
            "V201-D",
            ChargerCommand::RemoteStop {
                transaction_id: 999_999,
            },
        )
        .await;
    assert!(
        matches!(unknown, Err(GatewayError::Rejected { .. })),
        "{unknown:?}"
    );
    csms.finish().await;
}

/// A car plugged in before the driver badged: the transaction starts with
/// no token and no energy register; the token comes in a later event and
/// the first reading after it. The driver's session and purchase still
/// count from the first reading, not from zero; a repeated event counts
/// once; a NoAuthorization token is no token.
async fn a_token_and_a_reading_that_come_late_still_bill_right(backend: Backend, name: &str) {
    let Some(csms) = Csms::start(backend, name, OcppConfig::default()).await else {
        return;
    };
    let id = csms.add("V201-E").await;
    let user = plugway_store_conformance::make_user(csms.store.as_ref(), "+97688002002").await;
    csms.store
        .upsert_id_tag(&IdTagRecord {
            state: IdTagState {
                id_tag: IdTag::parse("LATECARD").unwrap(),
                parent_id_tag: None,
                expiry: None,
                max_active_transactions: -1,
            },
            user: Some(user.id),
            created_at: Utc::now(),
            updated_at: Utc::now(),
        })
        .await
        .unwrap();
    let mut cp = csms.connect_201("V201-E").await;
    boot(&mut cp).await;
    let base = Utc::now();
    let energy = |offset: i64, wh: i64| json!([{"timestamp": at(base, offset), "sampledValue": [{"value": wh, "measurand": "Energy.Active.Import.Register"}]}]);
    // Plugged in: no token, no reading.
    let started = ok(
        &mut cp,
        "TransactionEvent",
        json!({"eventType": "Started", "timestamp": at(base, -300),
        "triggerReason": "CablePluggedIn", "seqNo": 0,
        "transactionInfo": {"transactionId": "late-1", "chargingState": "EVConnected"},
        "evse": {"id": 1, "connectorId": 1}}),
    )
    .await;
    assert_eq!(started, json!({}));
    let link = csms
        .store
        .find_remote_transaction(&id, "late-1")
        .await
        .unwrap()
        .unwrap();
    assert!(link.start_missing);
    assert!(csms
        .store
        .find_session_by_transaction(link.transaction_id)
        .await
        .unwrap()
        .is_none());
    // The driver badges: the transaction becomes theirs.
    let authorized = json!({"eventType": "Updated", "timestamp": at(base, -290), "triggerReason": "Authorized",
        "seqNo": 1, "transactionInfo": {"transactionId": "late-1", "chargingState": "Charging"},
        "idToken": {"idToken": "LATECARD", "type": "ISO14443"}, "meterValue": energy(-290, 250_000)});
    let answer = ok(&mut cp, "TransactionEvent", authorized.clone()).await;
    assert_eq!(answer["idTokenInfo"]["status"], "Accepted");
    let session = csms
        .store
        .find_session_by_transaction(link.transaction_id)
        .await
        .unwrap()
        .expect("the driver's session");
    assert_eq!(session.user_id, Some(user.id));
    let tx = csms
        .store
        .find_transaction(link.transaction_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((tx.id_tag.as_str(), tx.meter_start), ("LATECARD", 250_000));
    // The same event again (its answer was lost): nothing new.
    ok(&mut cp, "TransactionEvent", authorized).await;
    let stored = csms.store.list_meter_samples(tx.id).await.unwrap().len();
    assert_eq!(stored, 1, "a repeated event's readings count once");
    // Readings go on; it ends with its register at 254 kWh.
    ok(
        &mut cp,
        "TransactionEvent",
        json!({"eventType": "Updated", "timestamp": at(base, -100),
        "triggerReason": "StopAuthorized", "seqNo": 2,
        "transactionInfo": {"transactionId": "late-1", "chargingState": "Charging"},
        "idToken": {"idToken": "SOMEONE", "type": "ISO14443"},
        "meterValue": energy(-100, 252_000)}),
    )
    .await;
    // Another card in a later event does not take the transaction over.
    let still = csms.store.find_transaction(tx.id).await.unwrap().unwrap();
    assert_eq!(
        (still.id_tag.as_str(), still.auth_status.as_str()),
        ("LATECARD", "Accepted")
    );
    ok(&mut cp, "TransactionEvent", json!({"eventType": "Ended", "timestamp": at(base, 0),
        "triggerReason": "EVDeparted", "seqNo": 3,
        "transactionInfo": {"transactionId": "late-1", "stoppedReason": "EVDisconnected"},
        "meterValue": [{"timestamp": at(base, 0), "sampledValue": [
            {"value": 254_000, "measurand": "Energy.Active.Import.Register", "context": "Transaction.End"}]}]})).await;
    let finished = csms
        .store
        .find_charging_session(session.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(finished.state, SessionState::Finished);
    let purchase = csms
        .store
        .find_purchase(finished.purchase_id.unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        purchase.cost.energy_wh, 4000,
        "from the first reading, not from zero"
    );

    // Free vend: a NoAuthorization token is no token, and gets no verdict.
    let free = ok(&mut cp, "TransactionEvent", json!({"eventType": "Started", "timestamp": at(base, 10),
        "triggerReason": "CablePluggedIn", "seqNo": 0, "transactionInfo": {"transactionId": "free-1"},
        "idToken": {"idToken": "", "type": "NoAuthorization"}, "evse": {"id": 1, "connectorId": 1},
        "meterValue": energy(10, 254_000)})).await;
    assert_eq!(free, json!({}));
    csms.finish().await;
}

/// An EVSE with two connectors (CCS and CHAdeMO): a car at one holds the
/// EVSE whatever the other reports.
async fn an_evse_shows_its_busiest_connector(backend: Backend, name: &str) {
    let Some(csms) = Csms::start(backend, name, OcppConfig::default()).await else {
        return;
    };
    let id = csms.add("V201-F").await;
    let mut cp = csms.connect_201("V201-F").await;
    boot(&mut cp).await;
    let now = Utc::now();
    let report = |connector: i64, status: &str, offset: i64| json!({"timestamp": at(now, offset), "connectorStatus": status, "evseId": 1, "connectorId": connector});
    let evse_1 = || async {
        csms.store
            .list_connectors(&id)
            .await
            .unwrap()
            .into_iter()
            .find(|c| c.connector_id == 1)
            .map(|c| c.status)
    };
    ok(&mut cp, "StatusNotification", report(1, "Available", 0)).await;
    ok(&mut cp, "StatusNotification", report(2, "Available", 1)).await;
    assert_eq!(evse_1().await.as_deref(), Some("Available"));
    ok(&mut cp, "StatusNotification", report(1, "Occupied", 2)).await;
    ok(&mut cp, "StatusNotification", report(2, "Unavailable", 3)).await;
    assert_eq!(
        evse_1().await.as_deref(),
        Some("Preparing"),
        "the car at connector 1 holds it"
    );
    ok(&mut cp, "StatusNotification", report(1, "Available", 4)).await;
    assert_eq!(evse_1().await.as_deref(), Some("Unavailable"));
    csms.finish().await;
}

/// A CA as an operator would make one: (certificate, key), PEM.
fn station_ca() -> (String, String) {
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "Acme Station CA");
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    params.key_usages = vec![
        rcgen::KeyUsagePurpose::KeyCertSign,
        rcgen::KeyUsagePurpose::CrlSign,
    ];
    let cert = params.self_signed(&key).unwrap();
    (cert.pem(), key.serialize_pem())
}

/// A station's certificate signing request for `cn`.
fn csr(cn: &str) -> String {
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, cn);
    params.serialize_request(&key).unwrap().pem().unwrap()
}

/// SignCertificate → CertificateSigned, in 2.0.1 and in the 1.6 Security
/// Whitepaper: a request for the station's own identity is signed by the
/// configured CA and the chain sent back; one for another identity is
/// refused; 1.6's other security messages are stored.
async fn stations_of_both_versions_get_their_certificates_signed(backend: Backend, name: &str) {
    let (cert, key) = station_ca();
    let config = OcppConfig {
        station_ca: Some(std::sync::Arc::new(
            plugway_ocpp::pki::StationCa::from_pem(&cert, &key).unwrap(),
        )),
        ..OcppConfig::default()
    };
    let Some(csms) = Csms::start(backend, name, config).await else {
        return;
    };
    let id = csms.add("V201-G").await;
    let mut cs = csms.connect_201("V201-G").await;
    boot(&mut cs).await;
    let refused = ok(
        &mut cs,
        "SignCertificate",
        json!({"csr": csr("SOMEONE-ELSE"), "certificateType": "ChargingStationCertificate"}),
    )
    .await;
    assert_eq!(refused["status"], "Rejected");
    assert_eq!(refused["statusInfo"]["reasonCode"], "InvalidIdentity");
    let accepted = ok(
        &mut cs,
        "SignCertificate",
        json!({"csr": csr("V201-G"), "certificateType": "ChargingStationCertificate"}),
    )
    .await;
    assert_eq!(accepted, json!({"status": "Accepted"}));
    let (action, payload) = answer_next(&mut cs, json!({"status": "Accepted"})).await;
    assert_eq!(action, "CertificateSigned");
    assert_eq!(payload["certificateType"], "ChargingStationCertificate");
    let chain = pem::parse_many(payload["certificateChain"].as_str().unwrap()).unwrap();
    assert_eq!(chain.len(), 2, "the leaf, then the CA");
    assert_eq!(
        plugway_ocpp::pki::common_name(chain[0].contents()).as_deref(),
        Some("V201-G")
    );
    assert_eq!(
        plugway_ocpp::pki::common_name(chain[1].contents()).as_deref(),
        Some("Acme Station CA")
    );
    // Its delivery is on the station's record.
    let mut delivered = Vec::new();
    for _ in 0..200 {
        delivered = csms
            .store
            .list_station_events(&id, Some("CertificateSigned"), None, 5)
            .await
            .unwrap();
        if !delivered.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(!delivered.is_empty(), "the delivery was never recorded");
    assert_eq!(
        delivered[0].summary.as_deref(),
        Some("certificate sent: Accepted")
    );

    // A 1.6 charger with the Security Whitepaper: the same CA, 1.6's words.
    let id16 = csms.add("V16-SEC").await;
    let mut cp = csms.connect("V16-SEC").await;
    cp.boot().await;
    assert_eq!(
        cp.ok("SignCertificate", json!({"csr": csr("V16-SEC")}))
            .await,
        json!({"status": "Accepted"})
    );
    let (action, payload) = answer_next(&mut cp, json!({"status": "Accepted"})).await;
    assert_eq!(action, "CertificateSigned");
    assert!(
        payload.get("certificateType").is_none(),
        "1.6 has no type: {payload}"
    );
    assert!(payload["certificateChain"]
        .as_str()
        .unwrap()
        .contains("BEGIN CERTIFICATE"));
    assert_eq!(
        cp.ok("SignCertificate", json!({"csr": "garbage"})).await,
        json!({"status": "Rejected"})
    );
    cp.ok(
        "SecurityEventNotification",
        json!({"type": "FirmwareUpdated", "timestamp": at(Utc::now(), 0)}),
    )
    .await;
    cp.ok(
        "LogStatusNotification",
        json!({"status": "Uploaded", "requestId": 4}),
    )
    .await;
    cp.ok(
        "SignedFirmwareStatusNotification",
        json!({"status": "SignatureVerified", "requestId": 5}),
    )
    .await;
    assert_eq!(
        cp.error_code(
            "SecurityEventNotification",
            json!({"type": "FirmwareUpdated"})
        )
        .await,
        "OccurenceConstraintViolation",
        "held to the Whitepaper's schema, in 1.6's spelling"
    );
    let stored = csms.store.find_charge_point(&id16).await.unwrap().unwrap();
    assert_eq!(
        (
            stored.firmware_status.as_deref(),
            stored.diagnostics_status.as_deref()
        ),
        (Some("SignatureVerified"), Some("Uploaded"))
    );
    let events = csms
        .store
        .list_station_events(&id16, Some("SecurityEventNotification"), None, 5)
        .await
        .unwrap();
    assert_eq!(events[0].summary.as_deref(), Some("FirmwareUpdated"));
    // And the central system's Whitepaper commands go out checked.
    let state = csms.state.clone();
    let pending = tokio::spawn(async move {
        state
            .send_local(
                "V16-SEC",
                ChargerCommand::Ocpp16 {
                    action: plugway_events::Ocpp16Action::GetInstalledCertificateIds,
                    payload: json!({"certificateType": "CentralSystemRootCertificate"}),
                },
            )
            .await
    });
    let (action, _) = answer_next(&mut cp, json!({"status": "NotFound"})).await;
    assert_eq!(action, "GetInstalledCertificateIds");
    assert_eq!(pending.await.unwrap().unwrap().status(), Some("NotFound"));
    csms.finish().await;
}

/// With auto-registration a charger is let in on its word alone: it may
/// charge, but the CA does not vouch for an identity nobody proved.
async fn a_station_let_in_without_a_password_gets_no_certificate(backend: Backend, name: &str) {
    let (cert, key) = station_ca();
    let config = OcppConfig {
        auto_register: true,
        station_ca: Some(std::sync::Arc::new(
            plugway_ocpp::pki::StationCa::from_pem(&cert, &key).unwrap(),
        )),
        ..OcppConfig::default()
    };
    let Some(csms) = Csms::start(backend, name, config).await else {
        return;
    };
    let mut cs = csms
        .connect_with("V201-AUTO", None, Some("ocpp2.0.1"))
        .await
        .unwrap();
    boot(&mut cs).await;
    let refused = ok(
        &mut cs,
        "SignCertificate",
        json!({"csr": csr("V201-AUTO"), "certificateType": "ChargingStationCertificate"}),
    )
    .await;
    assert_eq!(refused["status"], "Rejected");
    assert_eq!(refused["statusInfo"]["reasonCode"], "NotAuthenticated");
    csms.finish().await;
}
