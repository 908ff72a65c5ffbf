//! Charge points through the API, with a real charger on a real WebSocket:
//! registration, the seed 004 webhooks, commands, and the CRM boot
//! notification delivered from the outbox.

use std::sync::{Arc, Mutex};

use axum::http::StatusCode;
use base64::Engine;
use futures::{SinkExt, StreamExt};
use plugway_domain::ApiKeyRole;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

use crate::harness::{assert_error, Backend, Options, TestApp};

crate::on_both_backends!(
    seed_004_webhooks_answer_as_documented,
    operators_command_their_chargers,
    boot_notifications_reach_the_crm_signed_and_retried,
    a_simulated_charger_obeys_remote_start_and_stop,
    every_central_system_command_reaches_the_charger,
);

async fn key(app: &TestApp, role: ApiKeyRole) -> String {
    crate::harness::api_key(app, role).await
}

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn connect(app: &TestApp, id: &str, password: &str) -> Ws {
    let mut request = format!("{}/ocpp/{id}", app.base.replace("http", "ws"))
        .into_client_request()
        .unwrap();
    request
        .headers_mut()
        .insert("sec-websocket-protocol", "ocpp1.6".parse().unwrap());
    let token = base64::engine::general_purpose::STANDARD.encode(format!("{id}:{password}"));
    request
        .headers_mut()
        .insert("authorization", format!("Basic {token}").parse().unwrap());
    tokio_tungstenite::connect_async(request).await.unwrap().0
}

async fn next(ws: &mut Ws) -> Value {
    loop {
        match ws.next().await.unwrap().unwrap() {
            Message::Text(t) => return serde_json::from_str(&t).unwrap(),
            _ => continue,
        }
    }
}

async fn boot(ws: &mut Ws) {
    ws.send(Message::Text(json!([2, "b1", "BootNotification", {"chargePointVendor": "avt", "chargePointModel": "avt_plus",
        "chargePointSerialNumber": "cp_sn_8789789", "iccid": "iccid_78712124564", "meterSerialNumber": "sn_223138", "meterType": "type_44212654"}]).to_string().into()))
        .await
        .unwrap();
    let answer = next(ws).await;
    assert_eq!(answer[2]["status"], "Accepted", "{answer}");
}

async fn expect_local_list(ws: &mut Ws, tag: &str, status: &str) {
    let call = next(ws).await;
    assert_eq!(
        (call[0].as_i64(), call[2].as_str()),
        (Some(2), Some("SendLocalList")),
        "{call}"
    );
    assert_eq!(call[3]["updateType"], "Differential");
    assert_eq!(
        call[3]["localAuthorizationList"],
        json!([{"idTag": tag, "idTagInfo": {"status": status}}])
    );
    ws.send(Message::Text(
        json!([3, call[1], {"status": "Accepted"}])
            .to_string()
            .into(),
    ))
    .await
    .unwrap();
}

async fn seed_004_webhooks_answer_as_documented(backend: Backend, name: &str) {
    let Some(app) = TestApp::spawn(backend, name, Options::default()).await else {
        return;
    };
    let crm = key(&app, ApiKeyRole::Integration).await;
    let driver = app.otp_sign_in("+97686661488").await["token"]
        .as_str()
        .unwrap()
        .to_owned();
    // Only integration (or admin) keys.
    let reply = app
        .post(
            "/api/v1/webhooks/generate_charge_point",
            json!({}),
            Some(&driver),
        )
        .await;
    assert_error(&reply, StatusCode::FORBIDDEN, "forbidden");
    let reply = app
        .post("/api/v1/webhooks/generate_charge_point", json!({}), None)
        .await;
    assert_error(&reply, StatusCode::UNAUTHORIZED, "missing_credentials");

    let response = app
        .http
        .post(app.url("/api/v1/webhooks/generate_charge_point"))
        .bearer_auth(&crm)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let generated: Value = response.json().await.unwrap();
    let cp = generated["charging_point_id"].as_str().unwrap().to_owned();
    assert!(cp.starts_with("fccp_") && cp.len() == 37, "{cp}");
    assert!(generated["password"].as_str().unwrap().len() >= 32);

    let missing = app
        .post(
            "/api/v1/webhooks/register_customer",
            json!({"charging_point_id": cp, "zoho_customer_id": "445"}),
            Some(&crm),
        )
        .await;
    assert_eq!(missing.0, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        missing.1,
        json!({"errors": ["Key: 'P.Application' Error:Field validation for 'Application' failed on the 'required' tag"], "status": 422})
    );
    let unknown = app
        .post("/api/v1/webhooks/register_customer", json!({"charging_point_id": "cp_26", "application": "store", "zoho_customer_id": "445"}), Some(&crm))
        .await;
    assert_eq!(
        unknown,
        (
            StatusCode::NOT_FOUND,
            json!({"details": null, "error": "charge point with id: cp_26 not found", "status": 404})
        )
    );

    let (status, customer) = app
        .post(
            "/api/v1/webhooks/register_customer",
            json!({"charging_point_id": cp, "application": "store", "zoho_customer_id": "445"}),
            Some(&crm),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{customer}");
    assert!(customer["id"].as_i64().unwrap() > 0);
    assert_eq!(customer["zoho_customer_id"], "445");
    assert_eq!(customer["application"], "store");
    assert_eq!(
        customer["max_active_transactions_count"], 0,
        "blocked by default"
    );
    let tag = customer["id_tag"].as_str().unwrap().to_owned();
    assert!(tag.len() <= 20);
    assert!(chrono::DateTime::parse_from_rfc3339(customer["created_at"].as_str().unwrap()).is_ok());
    let again = app
        .post(
            "/api/v1/webhooks/register_customer",
            json!({"charging_point_id": cp, "application": "store", "zoho_customer_id": "446"}),
            Some(&crm),
        )
        .await;
    assert_eq!(
        again,
        (
            StatusCode::CONFLICT,
            json!({"details": null, "error": format!("charge point with id: {cp} already has a user"), "status": 409})
        )
    );

    // The tag is blocked until the CRM unblocks it; the charger sees that.
    let mut ws = connect(&app, &cp, generated["password"].as_str().unwrap()).await;
    boot(&mut ws).await;
    let authorize = |n: &str| json!([2, n, "Authorize", {"idTag": tag}]).to_string();
    ws.send(Message::Text(authorize("a1").into()))
        .await
        .unwrap();
    assert_eq!(next(&mut ws).await[2]["idTagInfo"]["status"], "Blocked");

    let (status, body) = app
        .post(
            "/api/v1/webhooks/unblock_customer",
            json!({"zoho_customer_id": "445", "max_active_transaction_count": 2}),
            Some(&crm),
        )
        .await;
    assert_eq!((status, body), (StatusCode::NO_CONTENT, Value::Null));
    // The charger's local list follows the tag store.
    expect_local_list(&mut ws, &tag, "Accepted").await;
    ws.send(Message::Text(authorize("a2").into()))
        .await
        .unwrap();
    assert_eq!(next(&mut ws).await[2]["idTagInfo"]["status"], "Accepted");
    let (status, _) = app
        .post(
            "/api/v1/webhooks/block_customer",
            json!({"zoho_customer_id": "445"}),
            Some(&crm),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    expect_local_list(&mut ws, &tag, "Blocked").await;
    ws.send(Message::Text(authorize("a3").into()))
        .await
        .unwrap();
    assert_eq!(next(&mut ws).await[2]["idTagInfo"]["status"], "Blocked");

    let nobody = app
        .post(
            "/api/v1/webhooks/block_customer",
            json!({"zoho_customer_id": "45"}),
            Some(&crm),
        )
        .await;
    assert_eq!(
        nobody,
        (
            StatusCode::NOT_FOUND,
            json!({"details": null, "error": "user: 45 not found", "status": 404})
        )
    );
    let invalid = app
        .post("/api/v1/webhooks/unblock_customer", json!({}), Some(&crm))
        .await;
    assert_eq!(invalid.0, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(invalid.1["status"], 422);
    let invalid = app
        .post(
            "/api/v1/webhooks/unblock_customer",
            json!({"zoho_customer_id": "445", "max_active_transaction_count": "x"}),
            Some(&crm),
        )
        .await;
    assert_eq!(invalid.0, StatusCode::UNPROCESSABLE_ENTITY);
    let garbage = app
        .http
        .post(app.url("/api/v1/webhooks/block_customer"))
        .bearer_auth(&crm)
        .header("content-type", "application/json")
        .body("{")
        .send()
        .await
        .unwrap();
    assert_eq!(garbage.status().as_u16(), 422);
    app.finish().await;
}

async fn operators_command_their_chargers(backend: Backend, name: &str) {
    let Some(app) = TestApp::spawn(backend, name, Options::default()).await else {
        return;
    };
    let admin = key(&app, ApiKeyRole::Admin).await;
    // A host who owns one charger, and another host.
    let host = app.otp_sign_in("+97686661488").await;
    let other = app.otp_sign_in("+97686661489").await;
    for who in [&host, &other] {
        let id = who["userId"].as_str().unwrap();
        let r = app
            .http
            .put(app.url(&format!("/api/v1/admin/users/{id}/role")))
            .bearer_auth(&admin)
            .json(&json!({"role": "host"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 200);
    }
    let host_token = host["token"].as_str().unwrap();
    let other_token = other["token"].as_str().unwrap();
    let (status, created) = app
        .post(
            "/api/v1/charge-points",
            json!({"id": "CP-HOST-1", "owner_id": host["userId"]}),
            Some(&admin),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["ocpp_path"], "/ocpp/CP-HOST-1");
    let dup = app
        .post(
            "/api/v1/charge-points",
            json!({"id": "CP-HOST-1"}),
            Some(&admin),
        )
        .await;
    assert_error(&dup, StatusCode::CONFLICT, "charge_point_exists");
    let bad = app
        .post(
            "/api/v1/charge-points",
            json!({"id": "has space"}),
            Some(&admin),
        )
        .await;
    assert_error(&bad, StatusCode::UNPROCESSABLE_ENTITY, "invalid_field");
    let hosts_cant = app
        .post("/api/v1/charge-points", json!({}), Some(host_token))
        .await;
    assert_error(&hosts_cant, StatusCode::FORBIDDEN, "forbidden");

    // Visibility: the owner and admins see it; another host does not.
    assert_eq!(
        app.get("/api/v1/charge-points", Some(host_token)).await.1["count"],
        1
    );
    assert_eq!(
        app.get("/api/v1/charge-points", Some(other_token)).await.1["count"],
        0
    );
    assert_error(
        &app.get("/api/v1/charge-points/CP-HOST-1", Some(other_token))
            .await,
        StatusCode::NOT_FOUND,
        "charge_point_not_found",
    );
    let (_, detail) = app
        .get("/api/v1/charge-points/CP-HOST-1", Some(host_token))
        .await;
    assert_eq!(detail["online"], false);

    // The meter-data report, as the nodes' counts add up: today and 40
    // days ago; the default 30 days show today's only.
    let cp_id = plugway_domain::ChargePointId::parse("CP-HOST-1").unwrap();
    let today = app.clock_now().date_naive();
    let counts = |received, corrected, unreadable| plugway_store::MeterDataCounts {
        received,
        corrected,
        unreadable,
    };
    for (day, c) in [
        (today, counts(10, 4, 1)),
        (today, counts(2, 0, 0)),
        (today - chrono::Duration::days(40), counts(5, 0, 5)),
    ] {
        app.store
            .add_meter_data_counts(day, &[(cp_id.clone(), c)])
            .await
            .unwrap();
    }
    let path = "/api/v1/charge-points/CP-HOST-1/meter-report";
    let (status, report) = app.get(path, Some(host_token)).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["days"].as_array().unwrap().len(), 1, "{report}");
    assert_eq!(
        report["totals"],
        json!({"received": 12, "corrected": 4, "unreadable": 1})
    );
    assert_eq!(report["days"][0]["day"], today.to_string());
    let (_, longer) = app.get(&format!("{path}?days=60"), Some(&admin)).await;
    assert_eq!(longer["totals"]["received"], 17, "{longer}");
    assert_eq!(longer["days"][0]["unreadable"], 5, "oldest first: {longer}");
    for bad in ["0", "367", "x"] {
        let reply = app
            .get(&format!("{path}?days={bad}"), Some(host_token))
            .await;
        assert!(reply.0.is_client_error(), "days={bad}: {reply:?}");
    }
    assert_error(
        &app.get(&format!("{path}?days=0"), Some(host_token)).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_field",
    );
    assert_error(
        &app.get(path, Some(other_token)).await,
        StatusCode::NOT_FOUND,
        "charge_point_not_found",
    );

    // Offline: a clear 409, not a hang.
    let offline = app
        .post(
            "/api/v1/charge-points/CP-HOST-1/commands/Reset",
            json!({"type": "Soft"}),
            Some(host_token),
        )
        .await;
    assert_error(&offline, StatusCode::CONFLICT, "charge_point_offline");

    let mut ws = connect(&app, "CP-HOST-1", created["password"].as_str().unwrap()).await;
    boot(&mut ws).await;
    let (_, detail) = app
        .get("/api/v1/charge-points/CP-HOST-1", Some(host_token))
        .await;
    assert_eq!(
        (detail["online"].as_bool(), detail["vendor"].as_str()),
        (Some(true), Some("avt"))
    );

    // The charger answers the command; the operator gets its answer.
    let base = app.url("/api/v1/charge-points/CP-HOST-1/commands/RemoteStartTransaction");
    let http = app.http.clone();
    let token = host_token.to_owned();
    let pending = tokio::spawn(async move {
        http.post(base)
            .bearer_auth(token)
            .json(&json!({"idTag": "TAG1", "connectorId": 1}))
            .send()
            .await
            .unwrap()
    });
    let call = next(&mut ws).await;
    assert_eq!(
        (call[0].as_i64(), call[2].as_str()),
        (Some(2), Some("RemoteStartTransaction"))
    );
    assert_eq!(call[3], json!({"idTag": "TAG1", "connectorId": 1}));
    ws.send(Message::Text(
        json!([3, call[1], {"status": "Accepted"}])
            .to_string()
            .into(),
    ))
    .await
    .unwrap();
    let response = pending.await.unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let reply: Value = response.json().await.unwrap();
    assert_eq!(
        reply,
        json!({"action": "RemoteStartTransaction", "response": {"status": "Accepted"}})
    );

    // A CALLERROR comes back as 502; no answer as 504.
    let base = app.url("/api/v1/charge-points/CP-HOST-1/commands/ClearCache");
    let (http, token) = (app.http.clone(), host_token.to_owned());
    let pending = tokio::spawn(async move {
        http.post(base)
            .bearer_auth(token)
            .json(&json!({}))
            .send()
            .await
            .unwrap()
    });
    let call = next(&mut ws).await;
    ws.send(Message::Text(
        json!([4, call[1], "NotSupported", "no cache", {}])
            .to_string()
            .into(),
    ))
    .await
    .unwrap();
    assert_eq!(pending.await.unwrap().status().as_u16(), 502);
    let base = app.url("/api/v1/charge-points/CP-HOST-1/commands/GetLocalListVersion");
    let (http, token) = (app.http.clone(), host_token.to_owned());
    let pending = tokio::spawn(async move {
        http.post(base)
            .bearer_auth(token)
            .json(&json!({}))
            .send()
            .await
            .unwrap()
    });
    let _unanswered = next(&mut ws).await;
    assert_eq!(pending.await.unwrap().status().as_u16(), 504);

    // Bad commands never reach the charger.
    let invalid = app
        .post(
            "/api/v1/charge-points/CP-HOST-1/commands/Reset",
            json!({"type": "Warm"}),
            Some(host_token),
        )
        .await;
    assert_error(
        &invalid,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_command",
    );
    let unknown = app
        .post(
            "/api/v1/charge-points/CP-HOST-1/commands/Heartbeat",
            json!({}),
            Some(host_token),
        )
        .await;
    assert_error(
        &unknown,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_command",
    );
    let theirs = app
        .post(
            "/api/v1/charge-points/CP-HOST-1/commands/Reset",
            json!({"type": "Soft"}),
            Some(other_token),
        )
        .await;
    assert_error(&theirs, StatusCode::NOT_FOUND, "charge_point_not_found");

    // The message log shows the conversation.
    let (status, log) = app
        .get(
            "/api/v1/charge-points/CP-HOST-1/messages?limit=50",
            Some(host_token),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let frames: Vec<&str> = log
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["frame"].as_str().unwrap())
        .collect();
    assert!(
        frames.iter().any(|f| f.contains("RemoteStartTransaction")),
        "{frames:?}"
    );
    app.finish().await;
}

async fn boot_notifications_reach_the_crm_signed_and_retried(backend: Backend, name: &str) {
    let Some(app) = TestApp::spawn(backend, name, Options::default()).await else {
        return;
    };
    let admin = key(&app, ApiKeyRole::Admin).await;
    let (_, created) = app
        .post(
            "/api/v1/charge-points",
            json!({"id": "fccp_boot"}),
            Some(&admin),
        )
        .await;
    let mut ws = connect(&app, "fccp_boot", created["password"].as_str().unwrap()).await;
    boot(&mut ws).await;

    // A CRM that fails once, then accepts; it records what it got.
    let received: Arc<Mutex<Vec<(String, String, String)>>> = Arc::default();
    let fail_first = Arc::new(Mutex::new(true));
    let crm = {
        let (received, fail_first) = (received.clone(), fail_first.clone());
        axum::Router::new().route(
            "/crm",
            axum::routing::post(move |headers: axum::http::HeaderMap, body: String| {
                let (received, fail_first) = (received.clone(), fail_first.clone());
                async move {
                    let mut first = fail_first.lock().unwrap();
                    if *first {
                        *first = false;
                        return StatusCode::SERVICE_UNAVAILABLE;
                    }
                    let h = |n: &str| headers.get(n).unwrap().to_str().unwrap().to_owned();
                    received.lock().unwrap().push((
                        h("x-plugway-timestamp"),
                        h("x-plugway-signature"),
                        body,
                    ));
                    StatusCode::OK
                }
            }),
        )
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/crm", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, crm).await.unwrap() });
    let hook = plugway_app::crm_outbox::CrmWebhook::new(
        Arc::new(plugway_adapters::webhooks::HttpWebhook::new(url).unwrap()),
        Some("crm-secret".into()),
    );
    let clock = app.clock.clone();
    let deliver = || plugway_app::crm_outbox::deliver_due(app.store.as_ref(), &clock, &hook);

    assert_eq!(deliver().await.unwrap(), 0, "the CRM was down");
    assert_eq!(deliver().await.unwrap(), 0, "not yet due again");
    app.clock.advance(chrono::Duration::seconds(11));
    assert_eq!(deliver().await.unwrap(), 1, "retried after back-off");
    app.clock.advance(chrono::Duration::hours(2));
    assert_eq!(deliver().await.unwrap(), 0, "delivered once only");

    let got = received.lock().unwrap().clone();
    assert_eq!(got.len(), 1);
    let (timestamp, signature, body) = &got[0];
    let expected =
        plugway_app::crm_outbox::signature("crm-secret", timestamp.parse().unwrap(), body);
    assert_eq!(signature, &expected);
    let body: Value = serde_json::from_str(body).unwrap();
    assert_eq!(body["charging_point_id"], "fccp_boot");
    assert_eq!(body["ocpp_protocol"], "ocpp1.6J");
    assert_eq!(
        (body["vendor"].as_str(), body["model"].as_str()),
        (Some("avt"), Some("avt_plus"))
    );
    assert_eq!(body["serial_number"], "cp_sn_8789789");
    assert_eq!(body["iccid"], "iccid_78712124564");
    assert_eq!(body["meter_serial_number"], "sn_223138");
    assert_eq!(body["meter_type"], "type_44212654");
    for key in [
        "fw_version",
        "fw_update_status",
        "fw_update_timestamp",
        "imsi",
        "diagnostics_status",
        "last_heartbeat_timestamp",
        "description",
    ] {
        assert!(body.get(key).is_some(), "{key} missing");
    }
    app.finish().await;
}

async fn a_simulated_charger_obeys_remote_start_and_stop(backend: Backend, name: &str) {
    let Some(app) = TestApp::spawn(backend, name, Options::default()).await else {
        return;
    };
    let admin = key(&app, ApiKeyRole::Admin).await;
    app.store
        .upsert_id_tag(&plugway_store::IdTagRecord {
            state: plugway_domain::IdTagState {
                id_tag: plugway_domain::IdTag::parse("DRIVER1").unwrap(),
                parent_id_tag: None,
                expiry: None,
                max_active_transactions: 1,
            },
            user: None,
            created_at: app.clock_now(),
            updated_at: app.clock_now(),
        })
        .await
        .unwrap();
    let running = crate::harness::start_simulator(&app, &admin, "SIM-1", None).await;
    let command = |action: &'static str, body: Value| {
        let url = app.url(&format!("/api/v1/charge-points/SIM-1/commands/{action}"));
        let (http, admin) = (app.http.clone(), admin.clone());
        async move {
            http.post(url)
                .bearer_auth(admin)
                .json(&body)
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        }
    };
    // It has booted: start a session remotely.
    let reply = command(
        "RemoteStartTransaction",
        json!({"idTag": "DRIVER1", "connectorId": 1}),
    )
    .await;
    assert_eq!(reply["response"]["status"], "Accepted", "{reply}");
    let mut tx = None;
    for _ in 0..100 {
        let (_, list) = app
            .get("/api/v1/charge-points/SIM-1/transactions", Some(&admin))
            .await;
        if let Some(t) = list.as_array().and_then(|l| l.first()).cloned() {
            tx = Some(t);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let tx = tx.expect("the charger started a transaction");
    assert_eq!(tx["id_tag"], "DRIVER1");
    assert_eq!(tx["auth_status"], "Accepted");
    // Let it charge long enough to send meter values, then stop remotely.
    tokio::time::sleep(std::time::Duration::from_millis(900)).await;
    let id = tx["id"].as_i64().unwrap();
    let reply = command("RemoteStopTransaction", json!({"transactionId": id})).await;
    assert_eq!(reply["response"]["status"], "Accepted", "{reply}");
    let mut stopped = None;
    for _ in 0..100 {
        let (_, list) = app
            .get("/api/v1/charge-points/SIM-1/transactions", Some(&admin))
            .await;
        if let Some(t) = list
            .as_array()
            .and_then(|l| {
                l.iter()
                    .find(|t| t["id"] == id && !t["stopped_at"].is_null())
            })
            .cloned()
        {
            stopped = Some(t);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let stopped = stopped.expect("the transaction was stopped");
    assert_eq!(stopped["stop_reason"], "Remote");
    assert!(stopped["energy_wh"].as_i64().unwrap() > 0, "{stopped}");
    let samples = app.store.list_meter_samples(id).await.unwrap();
    assert!(
        !samples.is_empty(),
        "meter values were stored while charging"
    );
    running.abort();
    app.finish().await;
}

async fn every_central_system_command_reaches_the_charger(backend: Backend, name: &str) {
    let Some(app) = TestApp::spawn(backend, name, Options::default()).await else {
        return;
    };
    let admin = key(&app, ApiKeyRole::Admin).await;
    let running = crate::harness::start_simulator(&app, &admin, "SIM-ALL", None).await;
    // Each of OCPP 1.6's nineteen central-system actions, and what the simulator answers.
    let cases = [
        // The simulator keeps reservations: there is none with id 1 yet.
        (
            "CancelReservation",
            json!({"reservationId": 1}),
            json!({"status": "Rejected"}),
        ),
        (
            "ChangeAvailability",
            json!({"connectorId": 0, "type": "Inoperative"}),
            json!({"status": "Accepted"}),
        ),
        (
            "ChangeConfiguration",
            json!({"key": "HeartbeatInterval", "value": "60"}),
            json!({"status": "Accepted"}),
        ),
        ("ClearCache", json!({}), json!({"status": "Accepted"})),
        // No profile 1 is set yet (SetChargingProfile comes later): the
        // simulator, as a charger must, says so.
        (
            "ClearChargingProfile",
            json!({"id": 1}),
            json!({"status": "Unknown"}),
        ),
        (
            "DataTransfer",
            json!({"vendorId": "com.example", "messageId": "x"}),
            json!({"status": "UnknownVendorId"}),
        ),
        (
            "GetCompositeSchedule",
            json!({"connectorId": 1, "duration": 3600}),
            json!({"status": "Rejected"}),
        ),
        (
            "GetConfiguration",
            json!({"key": ["HeartbeatInterval"]}),
            json!({"configurationKey": [{"key": "HeartbeatInterval", "readonly": false, "value": "300"}]}),
        ),
        (
            "GetDiagnostics",
            json!({"location": "ftp://diag.example.com/"}),
            json!({}),
        ),
        ("GetLocalListVersion", json!({}), json!({"listVersion": 0})),
        (
            "RemoteStartTransaction",
            json!({"idTag": "TAG-ALL", "connectorId": 2}),
            json!({"status": "Accepted"}),
        ),
        (
            "RemoteStopTransaction",
            json!({"transactionId": 424242}),
            json!({"status": "Rejected"}),
        ),
        (
            "ReserveNow",
            json!({"connectorId": 1, "expiryDate": "2030-01-01T00:00:00Z", "idTag": "T", "reservationId": 1}),
            json!({"status": "Accepted"}),
        ),
        (
            "Reset",
            json!({"type": "Soft"}),
            json!({"status": "Accepted"}),
        ),
        (
            "SendLocalList",
            json!({"listVersion": 1, "updateType": "Full", "localAuthorizationList": []}),
            json!({"status": "Accepted"}),
        ),
        (
            "SetChargingProfile",
            json!({"connectorId": 1, "csChargingProfiles": {"chargingProfileId": 1, "stackLevel": 0,
            "chargingProfilePurpose": "TxDefaultProfile", "chargingProfileKind": "Absolute",
            "chargingSchedule": {"chargingRateUnit": "A", "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 16.0}]}}}),
            json!({"status": "Accepted"}),
        ),
        (
            "TriggerMessage",
            json!({"requestedMessage": "Heartbeat"}),
            json!({"status": "Accepted"}),
        ),
        (
            "UnlockConnector",
            json!({"connectorId": 1}),
            json!({"status": "Unlocked"}),
        ),
        (
            "UpdateFirmware",
            json!({"location": "https://fw.example.com/1.bin", "retrieveDate": "2030-01-01T00:00:00Z"}),
            json!({}),
        ),
    ];
    for (action, payload, expected) in cases {
        let (status, reply) = app
            .post(
                &format!("/api/v1/charge-points/SIM-ALL/commands/{action}"),
                payload,
                Some(&admin),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{action}: {reply}");
        assert_eq!(
            reply,
            json!({"action": action, "response": expected}),
            "{action}"
        );
    }
    running.abort();
    app.finish().await;
}
