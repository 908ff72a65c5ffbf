//! Seed 001's charging from the app, end to end: a simulated OCPP charger,
//! a driver over HTTP, live CHARGING events over SSE and WebSocket, the
//! purchase priced by the tariff, feedback, and the host's earnings.

use std::time::Duration;

use futures::StreamExt;
use reqwest::StatusCode;
use serde_json::{json, Value};
use tokio::sync::mpsc;

use crate::harness::{
    api_key, approve_listing, assert_error, sign_in_host, Backend, Options, TestApp,
};
use plugway_domain::ApiKeyRole;

crate::on_both_backends!(
    a_driver_charges_from_the_app_and_pays_the_tariff,
    starts_fail_with_a_clear_reason,
    charging_events_reach_the_driver_over_nats_and_only_them,
    impossible_energy_is_held_for_review_not_billed,
    a_kwh_register_labelled_wh_is_held_without_its_profile_and_billed_with_it,
    a_driver_cannot_tell_a_201_charger,
);

const CENTRE: (f64, f64) = (47.9185, 106.9177);

pub(crate) fn options() -> Options {
    Options {
        session_ticker: true,
        sessions: plugway_app::sessions::SessionSettings {
            tick: Duration::from_millis(300),
            start_timeout: Duration::from_secs(10),
            stop_timeout: Duration::from_secs(10),
            ..plugway_app::sessions::SessionSettings::default()
        },
        ..Options::default()
    }
}

pub(crate) type Sim =
    tokio::task::JoinHandle<Result<plugway_sim::ChargePoint, plugway_sim::SimError>>;

/// A host with a simulated charger `cp` and an approved site whose EVSEs are
/// its connectors 1 and 2; returns (host token, host id, [evse ids], the running charger).
pub(crate) async fn charger_site(
    app: &TestApp,
    admin: &str,
    cp: &str,
) -> (String, String, Vec<String>, Sim) {
    charger_site_with(app, admin, cp, |_| {}).await
}

/// Waits (20 s at most) until the driver's session `id` has metered more
/// than `kwh`: the simulated chargers meter in real time. False if never.
pub(crate) async fn metered(app: &TestApp, token: &str, id: &str, kwh: f64) -> bool {
    let path = format!("/api/v1/sessions/{id}");
    tokio::time::timeout(Duration::from_secs(20), async {
        while app.get(&path, Some(token)).await.1["energy"]
            .as_f64()
            .unwrap_or(0.0)
            <= kwh
        {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await
    .is_ok()
}

/// [`charger_site`] with the simulated charger configured first.
pub(crate) async fn charger_site_with(
    app: &TestApp,
    admin: &str,
    cp: &str,
    configure: impl FnOnce(&mut plugway_sim::SimConfig),
) -> (String, String, Vec<String>, Sim) {
    let (token, host_id) = sign_in_host(app, "+97688000501", "Volt Station").await;
    let running =
        crate::harness::start_simulator_with(app, admin, cp, Some(&host_id), configure).await;
    let (status, site) = app
        .post(
            "/api/v1/host/sites",
            json!({"name": "Volt", "address": "Peace Avenue 1", "city": "Ulaanbaatar",
                   "province": "Ulaanbaatar", "country_code": "mn", "latitude": CENTRE.0,
                   "longitude": CENTRE.1, "time_zone": "Asia/Ulaanbaatar", "currency": "MNT"}),
            Some(&token),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{site}");
    let site = site["id"].as_str().unwrap().to_owned();
    let mut evses = Vec::new();
    for connector in [1, 2] {
        let (status, evse) = app
            .post(
                &format!("/api/v1/host/sites/{site}/evses"),
                json!({"evse_code": format!("V-{connector}"), "charge_point_id": cp,
                       "ocpp_connector_id": connector,
                       "prices": {"per_kwh": 500.5, "waiting_per_minute": 20},
                       "connectors": [{"standard": "CCS2", "format": "CABLE", "power_type": "DC",
                                       "max_voltage": 500, "max_amperage": 200, "max_power_kw": 50}]}),
                Some(&token),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{evse}");
        evses.push(evse["id"].as_str().unwrap().to_owned());
    }
    let refs: Vec<&str> = evses.iter().map(String::as_str).collect();
    approve_listing(app, admin, &site, &refs).await;
    (token, host_id, evses, running)
}

/// Reads Server-Sent Events into a channel of (event, id, data).
pub(crate) fn sse(
    app: &TestApp,
    token: &str,
    last_id: Option<&str>,
) -> mpsc::UnboundedReceiver<(String, String, Value)> {
    let (tx, rx) = mpsc::unbounded_channel();
    let mut request = reqwest::Client::new()
        .get(app.url("/api/v1/user/events"))
        .bearer_auth(token)
        .header("accept", "text/event-stream");
    if let Some(id) = last_id {
        request = request.header("last-event-id", id);
    }
    tokio::spawn(async move {
        let mut response = request.send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let mut buffer = String::new();
        while let Ok(Some(chunk)) = response.chunk().await {
            buffer.push_str(&String::from_utf8_lossy(&chunk));
            while let Some(end) = buffer.find("\n\n") {
                let block: String = buffer.drain(..end + 2).collect();
                let (mut event, mut id, mut data) = (String::new(), String::new(), String::new());
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("event:") {
                        event = v.trim().to_owned();
                    } else if let Some(v) = line.strip_prefix("id:") {
                        id = v.trim().to_owned();
                    } else if let Some(v) = line.strip_prefix("data:") {
                        data.push_str(v.trim());
                    }
                }
                if !event.is_empty()
                    && tx
                        .send((
                            event,
                            id,
                            serde_json::from_str(&data).unwrap_or(Value::Null),
                        ))
                        .is_err()
                {
                    return;
                }
            }
        }
    });
    rx
}

pub(crate) async fn next_of(
    rx: &mut mpsc::UnboundedReceiver<(String, String, Value)>,
    kind: &str,
) -> (String, Value) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        let (event, id, data) = tokio::time::timeout_at(deadline, rx.recv())
            .await
            .unwrap_or_else(|_| panic!("no {kind} event in time"))
            .expect("the stream ended");
        if event == kind {
            return (id, data);
        }
    }
}

async fn a_driver_charges_from_the_app_and_pays_the_tariff(backend: Backend, name: &str) {
    let Some(app) = TestApp::spawn(backend, name, options()).await else {
        return;
    };
    let admin = api_key(&app, ApiKeyRole::Admin).await;
    let (host_token, host_id, evses, running) = charger_site(&app, &admin, "SESS-1").await;
    let driver = app.otp_sign_in("+97688000502").await;
    let token = driver["token"].as_str().unwrap().to_owned();
    assert!(
        driver.get("device").is_none(),
        "no device before charging: {driver}"
    );

    // The driver finds the charger on the map.
    let map = format!(
        "/api/v1/devices/by-location?bottom-left-longitude={}&bottom-left-latitude={}&upper-right-longitude={}&upper-right-latitude={}",
        CENTRE.1 - 0.1, CENTRE.0 - 0.1, CENTRE.1 + 0.1, CENTRE.0 + 0.1
    );
    let (_, devices) = app.get(&map, None).await;
    assert!(devices
        .as_array()
        .unwrap()
        .iter()
        .any(|d| d["_id"] == evses[0].as_str()));

    let mut events = sse(&app, &token, None);
    let mut host_events = sse(&app, &host_token, None);
    let (ws, _) = {
        let mut request =
            tokio_tungstenite::tungstenite::client::IntoClientRequest::into_client_request(
                app.url("/api/v1/user/events").replace("http", "ws"),
            )
            .unwrap();
        request
            .headers_mut()
            .insert("authorization", format!("Bearer {token}").parse().unwrap());
        tokio_tungstenite::connect_async(request).await.unwrap()
    };
    let (_, mut ws) = ws.split();
    tokio::time::sleep(Duration::from_millis(200)).await;

    let (status, session) = app
        .post(
            &format!("/api/v1/devices/{}/start", evses[0]),
            json!({}),
            Some(&token),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{session}");
    assert_eq!(session["state"], "charging");
    assert_eq!(session["deviceId"], evses[0].as_str());
    let transaction = session["transactionId"].as_i64().unwrap();

    // The sign-in's `device` is the one in use.
    let (_, me) = app.get("/api/v1/user/me", Some(&token)).await;
    assert_eq!(me["device"]["_id"], evses[0].as_str(), "{me}");
    assert_eq!(me["device"]["waitingPrice"], 20.0);

    // One session per driver: the other connector is refused.
    let second = app
        .post(
            &format!("/api/v1/devices/{}/start", evses[1]),
            json!({}),
            Some(&token),
        )
        .await;
    assert_error(&second, StatusCode::CONFLICT, "active_session");
    // Another driver cannot take the busy connector.
    let other = app.otp_sign_in("+97688000503").await;
    let other_token = other["token"].as_str().unwrap();
    let busy = app
        .post(
            &format!("/api/v1/devices/{}/start", evses[0]),
            json!({}),
            Some(other_token),
        )
        .await;
    assert_error(&busy, StatusCode::CONFLICT, "connector_busy");
    // Nor finish a session that is not theirs.
    let not_theirs = app
        .post(
            &format!("/api/v1/devices/{}/finish", evses[0]),
            json!({}),
            Some(other_token),
        )
        .await;
    assert_error(&not_theirs, StatusCode::NOT_FOUND, "no_active_session");

    // CHARGING events climb, over SSE and WebSocket.
    let (first_id, first) = next_of(&mut events, "CHARGING").await;
    assert!(
        first["energy"].is_number()
            && first["amount"].is_number()
            && first["waitingTime"].is_number(),
        "{first}"
    );
    let mut later = first.clone();
    for _ in 0..20 {
        later = next_of(&mut events, "CHARGING").await.1;
        if later["energy"].as_f64() > first["energy"].as_f64() {
            break;
        }
    }
    assert!(
        later["energy"].as_f64() > first["energy"].as_f64(),
        "{first} then {later}"
    );
    assert!(later["amount"].as_f64() >= first["amount"].as_f64());
    let ws_frame = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let frame = ws.next().await.unwrap().unwrap();
            if let tokio_tungstenite::tungstenite::Message::Text(text) = frame {
                let v: Value = serde_json::from_str(&text).unwrap();
                if v["event"] == "CHARGING" {
                    return v;
                }
            }
        }
    })
    .await
    .expect("a CHARGING frame over WebSocket");
    assert!(ws_frame["data"]["energy"].is_number(), "{ws_frame}");
    assert!(ws_frame["id"].is_string());

    // Reconnecting with the first event's id replays what came after it.
    let mut resumed = sse(&app, &token, Some(&first_id));
    let (replayed_id, _) = next_of(&mut resumed, "CHARGING").await;
    assert_ne!(replayed_id, first_id);

    // The host sees the session on their stream.
    let (_, started) = next_of(&mut host_events, "SESSION").await;
    assert_eq!(started["state"], "charging");

    let (status, finished) = app
        .post(
            &format!("/api/v1/devices/{}/finish", evses[0]),
            json!({}),
            Some(&token),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{finished}");
    let purchase_id = finished["id"].as_str().unwrap().to_owned();

    // The purchase is priced from the charger's own meter: 500.5 MNT per kWh.
    let (_, purchases) = app
        .get("/api/v1/purchases?page=1&page-size=10", Some(&token))
        .await;
    assert_eq!(purchases["count"], 1, "{purchases}");
    let purchase = &purchases["results"][0];
    assert_eq!(purchase["id"], purchase_id.as_str());
    let (_, transactions) = app
        .get("/api/v1/charge-points/SESS-1/transactions", Some(&admin))
        .await;
    let tx = transactions
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == transaction)
        .unwrap();
    let energy_wh = tx["energy_wh"].as_i64().unwrap();
    assert!(energy_wh > 0, "{tx}");
    // 50,050 minor units per kWh, rounded half up once.
    let expected_minor = (energy_wh * 50_050 + 500) / 1000;
    assert_eq!(
        purchase["amount"].as_f64().unwrap(),
        expected_minor as f64 / 100.0,
        "{purchase}"
    );
    assert_eq!(
        purchase["energy"].as_f64().unwrap(),
        energy_wh as f64 / 1000.0
    );
    assert_eq!(purchase["currency"], "MNT");
    assert_eq!(purchase["status"], "unpaid");

    // The stream says it is finished, with the purchase.
    let (_, done) = next_of(&mut events, "SESSION").await;
    let done = if done["state"] == "finished" {
        done
    } else {
        next_of(&mut events, "SESSION").await.1
    };
    assert_eq!(done["purchaseId"], purchase_id.as_str());
    let (_, me) = app.get("/api/v1/user/me", Some(&token)).await;
    assert!(me.get("device").is_none(), "{me}");

    // Feedback: bad scores are refused and change nothing; others' purchases are not found.
    let path = format!("/api/v1/purchases/{purchase_id}/feedback");
    let bad = app
        .post(
            &path,
            json!({"feedback": {"score": 6, "description": "x"}}),
            Some(&token),
        )
        .await;
    assert_eq!(bad.0, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.1);
    let theirs = app
        .post(
            &path,
            json!({"feedback": {"score": 5, "description": "x"}}),
            Some(other_token),
        )
        .await;
    assert_error(&theirs, StatusCode::NOT_FOUND, "purchase_not_found");
    let (status, _) = app
        .post(
            &path,
            json!({"feedback": {"score": 5, "description": "fast charger"}}),
            Some(&token),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, detail) = app
        .get(&format!("/api/v1/purchases/{purchase_id}"), Some(&token))
        .await;
    assert_eq!(detail["feedback"]["score"], 5);

    // Paying from the wallet (seed 001's EVM option), through the ledger.
    let (_, options) = app.get("/api/v1/payment-options", None).await;
    assert_eq!(options[0]["option"], "EVM");
    assert_eq!(options[0]["disabled"], false);
    let pay = format!("/api/v1/purchases/{purchase_id}/pay");
    let broke = app.post(&pay, json!({"option": "EVM"}), Some(&token)).await;
    assert_error(&broke, StatusCode::CONFLICT, "insufficient_funds");
    let bad_option = app
        .post(&pay, json!({"option": "CASH"}), Some(&token))
        .await;
    assert_eq!(
        bad_option.0,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        bad_option.1
    );
    let driver_id = driver["userId"].as_str().unwrap();
    let credit_path = format!("/api/v1/admin/wallets/{driver_id}/credit");
    let credit = || {
        app.post_once(
            &credit_path,
            json!({"amount": 10000, "reason": "welcome credit"}),
            &admin,
            Some("welcome-1".into()),
        )
    };
    let (status, wallet) = credit().await;
    assert_eq!(status, StatusCode::OK, "{wallet}");
    assert_eq!(
        credit().await.1["balance"],
        10000.0,
        "the retried credit counted once"
    );
    let (status, nope) = app
        .post(
            &credit_path,
            json!({"amount": 5, "reason": "x"}),
            Some(&token),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{nope}");
    // Before the driver pays, the host's share has accrued but is unpaid.
    let (_, accrued) = app.get("/api/v1/host/earnings", Some(&host_token)).await;
    let total = &accrued["totals"][0];
    assert_eq!(
        (&total["sessions"], &total["paidSessions"]),
        (&json!(1), &json!(0)),
        "{accrued}"
    );
    assert_eq!(
        (&total["unpaidNet"], &total["paidNet"]),
        (&total["net"], &json!(0.0)),
        "{accrued}"
    );
    let (status, paid) = app.post(&pay, json!({"option": "EVM"}), Some(&token)).await;
    assert_eq!(status, StatusCode::OK, "{paid}");
    assert_eq!(paid["invoiceId"], purchase_id.as_str());
    let amount = purchase["amount"].as_f64().unwrap();
    let left = ((10000.0 - amount) * 100.0).round() / 100.0;
    assert_eq!(paid["newBalance"].as_f64().unwrap(), left);
    let (_, payment) = next_of(&mut events, "PAYMENT").await;
    assert_eq!(payment["status"], "success");
    // Paying again charges nothing more.
    let (_, again) = app.post(&pay, json!({"option": "EVM"}), Some(&token)).await;
    assert_eq!(again["newBalance"], paid["newBalance"]);
    let (_, status_reply) = app
        .post(
            &format!("/api/v1/purchases/{purchase_id}/status"),
            json!({"invoiceId": purchase_id}),
            Some(&token),
        )
        .await;
    assert_eq!(status_reply["status"], "success");
    let (_, me) = app.get("/api/v1/user/me", Some(&token)).await;
    assert_eq!(me["profile"]["balance"], paid["newBalance"]);
    let report = plugway_store::LedgerStore::verify_ledger(app.store.as_ref())
        .await
        .unwrap();
    assert!(report.is_clean(), "{report:?}");

    // The host's earnings: one session, tax 0, 10 % commission by default.
    let (status, earnings) = app
        .get("/api/v1/host/earnings?group=month", Some(&host_token))
        .await;
    assert_eq!(status, StatusCode::OK, "{earnings}");
    assert_eq!(earnings["totals"][0]["sessions"], 1, "{earnings}");
    assert_eq!(earnings["totals"][0]["gross"], purchase["amount"]);
    let total = &earnings["totals"][0];
    assert_eq!(total["paidSessions"], 1, "{earnings}");
    assert_eq!(
        (&total["paidNet"], &total["unpaidNet"]),
        (&total["net"], &json!(0.0)),
        "{earnings}"
    );
    let (_, behind) = app
        .get("/api/v1/host/earnings/sessions", Some(&host_token))
        .await;
    assert_eq!(behind[0]["id"], purchase_id.as_str());
    // A driver is not a host; an admin names the host.
    let (status, _) = app.get("/api/v1/host/earnings", Some(&token)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, by_admin) = app
        .get(
            &format!("/api/v1/host/earnings?host={host_id}"),
            Some(&admin),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(by_admin["totals"][0]["sessions"], 1);

    running.abort();
    app.finish().await;
}

async fn starts_fail_with_a_clear_reason(backend: Backend, name: &str) {
    let Some(app) = TestApp::spawn(backend, name, options()).await else {
        return;
    };
    let admin = api_key(&app, ApiKeyRole::Admin).await;
    let (_, _, evses, running) = charger_site(&app, &admin, "SESS-2").await;
    let driver = app.otp_sign_in("+97688000512").await;
    let token = driver["token"].as_str().unwrap();

    let unknown = app
        .post(
            "/api/v1/devices/0190f0f0-0000-7000-8000-000000000000/start",
            json!({}),
            Some(token),
        )
        .await;
    assert_error(&unknown, StatusCode::NOT_FOUND, "device_not_found");
    let garbage = app
        .post("/api/v1/devices/not-an-id/start", json!({}), Some(token))
        .await;
    assert_error(&garbage, StatusCode::NOT_FOUND, "device_not_found");
    let anonymous = app
        .post(
            &format!("/api/v1/devices/{}/start", evses[0]),
            json!({}),
            None,
        )
        .await;
    assert_eq!(anonymous.0, StatusCode::UNAUTHORIZED);
    let nothing = app
        .post(
            &format!("/api/v1/devices/{}/finish", evses[0]),
            json!({}),
            Some(token),
        )
        .await;
    assert_error(&nothing, StatusCode::NOT_FOUND, "no_active_session");

    // The charger goes away: the start fails at once, and leaves no session behind.
    running.abort();
    for _ in 0..100 {
        let (_, cp) = app.get("/api/v1/charge-points/SESS-2", Some(&admin)).await;
        if cp["online"] == false {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let offline = app
        .post(
            &format!("/api/v1/devices/{}/start", evses[0]),
            json!({}),
            Some(token),
        )
        .await;
    assert_error(&offline, StatusCode::SERVICE_UNAVAILABLE, "charger_offline");
    let (_, active) = app.get("/api/v1/sessions/active", Some(token)).await;
    assert_eq!(active, json!([]));
    app.finish().await;
}

/// NATS with per-driver authorization: an operator-mode nats-server of the
/// test's own, Plugway publishing through it with its service credentials,
/// and the driver subscribing with the credentials the sign-in gave them.
async fn charging_events_reach_the_driver_over_nats_and_only_them(backend: Backend, name: &str) {
    use plugway_events::nats_auth::{nats_server_config, service_permissions, NatsServerSetup};
    use plugway_events::testing;
    let Some(binary) = testing::nats_server_binary(name) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let port = testing::free_port();
    let generated = nats_server_config(&NatsServerSetup {
        listen: format!("127.0.0.1:{port}"),
        store_dir: dir.path().join("jetstream"),
        account_name: "PLUGWAY".into(),
        issued_at: std::time::SystemTime::now(),
        account_jetstream: true,
    })
    .unwrap();
    let config = dir.path().join("nats-server.conf");
    std::fs::write(&config, &generated.config).unwrap();
    let server = testing::NatsServer::with_config(&binary, &config, port);
    let signer = generated.signer().unwrap();
    let mut bus_options = plugway_events::NatsOptions::new(server.url());
    bus_options.credentials = Some(
        signer
            .user_credentials(
                "plugway",
                &service_permissions(),
                std::time::SystemTime::now(),
                None,
            )
            .unwrap(),
    );
    let bus = plugway_events::NatsBus::connect(bus_options).await.unwrap();
    let mut options = options();
    options.bus = Some(std::sync::Arc::new(bus));
    options.nats = Some(plugway_app::NatsAccess {
        servers: server.url(),
        prefix: "plugway".into(),
        signer: Some(generated.signer().unwrap()),
        ttl: Duration::from_secs(3600),
    });
    let Some(app) = TestApp::spawn(backend, name, options).await else {
        return;
    };
    let admin = api_key(&app, ApiKeyRole::Admin).await;
    let (_, _, evses, running) = charger_site(&app, &admin, "SESS-N").await;
    let driver = app.otp_sign_in("+97688000521").await;
    let token = driver["token"].as_str().unwrap().to_owned();
    let nats = &driver["nats"];
    let topic = nats["topic"].as_str().unwrap().to_owned();
    assert_eq!(
        topic,
        format!("plugway.user.{}", driver["userId"].as_str().unwrap())
    );
    assert_eq!(nats["servers"], server.url().as_str());

    // The driver connects with what the sign-in gave: the JWT and the seed.
    let client = async_nats::ConnectOptions::with_credentials(nats["creds"].as_str().unwrap())
        .unwrap()
        .connect(nats["servers"].as_str().unwrap())
        .await
        .unwrap();
    let mut mine = client.subscribe(format!("{topic}.>")).await.unwrap();
    // A wider subscription is refused by the server: nothing arrives on it.
    let mut everyone = client.subscribe("plugway.user.>").await.unwrap();
    client.flush().await.unwrap();

    let (status, session) = app
        .post(
            &format!("/api/v1/devices/{}/start", evses[0]),
            json!({}),
            Some(&token),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{session}");
    let charging = tokio::time::timeout(Duration::from_secs(15), async {
        loop {
            let message = mine.next().await.expect("the subscription ended");
            if message.subject.as_str() == format!("{topic}.CHARGING") {
                return serde_json::from_slice::<Value>(&message.payload).unwrap();
            }
        }
    })
    .await
    .expect("a CHARGING event over NATS");
    assert!(
        charging["energy"].is_number() && charging["amount"].is_number(),
        "{charging}"
    );
    let (status, _) = app
        .post(
            &format!("/api/v1/devices/{}/finish", evses[0]),
            json!({}),
            Some(&token),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let leaked = tokio::time::timeout(Duration::from_millis(500), everyone.next()).await;
    assert!(
        !matches!(leaked, Ok(Some(_))),
        "a driver's wildcard subscription received {leaked:?}"
    );
    running.abort();
    app.finish().await;
    drop(server);
}

/// A charger that reports more energy than its 50 kW connector could
/// deliver in the session's seconds (its meter claims gigawatts): the
/// purchase is held with the reason, cannot be paid and earns the host
/// nothing; an admin releases it at a corrected figure, which is priced with
/// the session's tariff and paid once (or would void it).
async fn impossible_energy_is_held_for_review_not_billed(backend: Backend, name: &str) {
    let Some(app) = TestApp::spawn(backend, name, options()).await else {
        return;
    };
    let admin = api_key(&app, ApiKeyRole::Admin).await;
    let (host_token, _, evses, running) =
        charger_site_with(&app, &admin, "SESS-HOLD", |c| c.power_w = u32::MAX).await;
    let driver = app.otp_sign_in("+97688000590").await;
    let token = driver["token"].as_str().unwrap().to_owned();
    let driver_id = driver["userId"].as_str().unwrap().to_owned();
    // The driver's plan includes 1 kWh a cycle: a held session takes none
    // of it; its release does.
    let (status, _) = app
        .post(
            &format!("/api/v1/admin/wallets/{driver_id}/credit"),
            json!({"amount": 100010, "reason": "test"}),
            Some(&admin),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, plan) = app
        .post(
            "/api/v1/plans/",
            json!({"name": "1 kWh", "amount": 10, "included_kwh_per_cycle": 1}),
            Some(&admin),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{plan}");
    let (status, bought) = app
        .post(
            "/api/v1/purchase-plan/",
            json!({"plan": plan["id"]}),
            Some(&token),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{bought}");
    let (status, session) = app
        .post(
            &format!("/api/v1/devices/{}/start", evses[0]),
            json!({}),
            Some(&token),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{session}");
    // Hundreds of kWh within a second or two.
    let id = session["id"].as_str().unwrap();
    assert!(
        metered(&app, &token, id, 100.0).await,
        "the charger never metered its gigawatts"
    );
    let (status, finished) = app
        .post(
            &format!("/api/v1/devices/{}/finish", evses[0]),
            json!({}),
            Some(&token),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{finished}");
    let purchase_id = finished["id"].as_str().unwrap().to_owned();
    let (_, purchases) = app
        .get("/api/v1/purchases?page=1&page-size=10", Some(&token))
        .await;
    let held = &purchases["results"][0];
    assert_eq!(
        (&held["id"], &held["status"]),
        (&json!(purchase_id), &json!("held")),
        "{purchases}"
    );
    assert!(
        held["holdReason"]
            .as_str()
            .unwrap_or_default()
            .contains("50 kW"),
        "{held}"
    );

    // Not payable, not earned.
    let pay = format!("/api/v1/purchases/{purchase_id}/pay");
    let refused = app.post(&pay, json!({"option": "EVM"}), Some(&token)).await;
    assert_error(&refused, StatusCode::CONFLICT, "purchase_held");
    let (_, me) = app.get("/api/v1/user/me", Some(&token)).await;
    assert_eq!(me["profile"]["balance"], 100000.0, "nothing was taken");
    let (_, earnings) = app.get("/api/v1/host/earnings", Some(&host_token)).await;
    assert!(
        earnings["totals"].as_array().unwrap().is_empty(),
        "{earnings}"
    );
    assert_eq!(earnings["heldSessions"], 1, "held apart: {earnings}");

    // The admin's review: bad decisions change nothing; a release prices the
    // corrected 2 kWh with the session's tariff (500.5 a kWh), 1 of them
    // free by the plan; once.
    let review = format!("/api/v1/admin/purchases/{purchase_id}/review");
    for bad in [
        json!({"decision": "release"}),
        json!({"decision": "void", "energy_wh": 5}),
        json!({"decision": "keep"}),
        json!({"decision": "release", "energy_wh": -1}),
    ] {
        let (status, body) = app.post(&review, bad.clone(), Some(&admin)).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {body}");
    }
    let (status, _) = app
        .post(&review, json!({"decision": "void"}), Some(&token))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "a driver does not review");
    let (status, released) = app
        .post(
            &review,
            json!({"decision": "release", "energy_wh": 2000}),
            Some(&admin),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{released}");
    assert_eq!(
        (&released["status"], &released["energy"]),
        (&json!("unpaid"), &json!(2.0)),
        "{released}"
    );
    let amount = released["amount"].as_f64().unwrap();
    assert!(
        (500.5..1001.0).contains(&amount),
        "one of the two kWh is the plan's: {released}"
    );
    let again = app
        .post(&review, json!({"decision": "void"}), Some(&admin))
        .await;
    assert_error(&again, StatusCode::CONFLICT, "purchase_not_held");
    let (status, paid) = app.post(&pay, json!({"option": "EVM"}), Some(&token)).await;
    assert_eq!(status, StatusCode::OK, "{paid}");
    let left = ((100000.0 - released["amount"].as_f64().unwrap()) * 100.0).round() / 100.0;
    assert_eq!(paid["newBalance"].as_f64().unwrap(), left);
    let (_, twice) = app.post(&pay, json!({"option": "EVM"}), Some(&token)).await;
    assert_eq!(twice["newBalance"], paid["newBalance"], "paid once");
    running.abort();
    app.finish().await;
}

/// A charger whose meter sends kWh labelled Wh: without its model's quirk
/// profile the register rises by a thousandth of what its power readings
/// add up to and the purchase is held; with the profile its energy is
/// billed as metered.
async fn a_kwh_register_labelled_wh_is_held_without_its_profile_and_billed_with_it(
    backend: Backend,
    name: &str,
) {
    for with_profile in [false, true] {
        let mut opts = options();
        if with_profile {
            // The simulator boots as vendor Plugway, model Sim-1.
            opts.meter_quirks = vec![serde_json::from_value(
                json!({"vendor": "Plugway", "model": "Sim-1", "energy_in_kwh": true}),
            )
            .unwrap()];
        }
        let Some(app) = TestApp::spawn(backend, &format!("{name}_{with_profile}"), opts).await
        else {
            return;
        };
        let admin = api_key(&app, ApiKeyRole::Admin).await;
        // Without the profile: 3.6 MW, so the power readings soon add up to
        // kWh (the register, read as Wh, stays tiny and within the 50 kW
        // connector). With it: 40 kW, which the connector delivers.
        let (_, _, evses, running) = charger_site_with(&app, &admin, "SESS-KWH", |c| {
            c.energy_in_kwh = true;
            c.meter_interval = Duration::from_millis(300);
            c.power_w = if with_profile { 40_000 } else { 3_600_000 };
        })
        .await;
        let driver = app.otp_sign_in("+97688000595").await;
        let token = driver["token"].as_str().unwrap().to_owned();
        let (status, session) = app
            .post(
                &format!("/api/v1/devices/{}/start", evses[0]),
                json!({}),
                Some(&token),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{session}");
        let id = session["id"].as_str().unwrap();
        // Without the profile 2 "Wh" on the register is 2 kWh drawn; with
        // it, 20 Wh.
        let enough = if with_profile { 0.02 } else { 0.002 };
        assert!(metered(&app, &token, id, enough).await, "never metered");
        let (status, finished) = app
            .post(
                &format!("/api/v1/devices/{}/finish", evses[0]),
                json!({}),
                Some(&token),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{finished}");
        let purchase_id = finished["id"].as_str().unwrap();
        let (_, purchases) = app
            .get("/api/v1/purchases?page=1&page-size=10", Some(&token))
            .await;
        let purchase = &purchases["results"][0];
        assert_eq!(purchase["id"], purchase_id);
        if with_profile {
            assert_eq!(purchase["status"], "unpaid", "{purchase}");
            assert!(
                purchase["energy"].as_f64().unwrap() >= 0.02,
                "billed as metered, in Wh: {purchase}"
            );
        } else {
            assert_eq!(purchase["status"], "held", "{purchase}");
            assert!(
                purchase["holdReason"]
                    .as_str()
                    .unwrap_or_default()
                    .contains("power readings"),
                "{purchase}"
            );
        }
        running.abort();
        app.finish().await;
    }
}

/// The same app flow against a charger that speaks OCPP 2.0.1: start,
/// live CHARGING events, finish and a purchase priced on the station's
/// own meter, with nothing in the driver's API that says which version.
async fn a_driver_cannot_tell_a_201_charger(backend: Backend, name: &str) {
    let Some(app) = TestApp::spawn(backend, name, options()).await else {
        return;
    };
    let admin = api_key(&app, ApiKeyRole::Admin).await;
    let (_, _, evses, running) = charger_site_with(&app, &admin, "SESS-201", |c| {
        c.version = plugway_sim::SimVersion::V201;
        c.meter_interval = Duration::from_millis(300);
        c.power_w = 36_000;
    })
    .await;
    let driver = app.otp_sign_in("+97688000521").await;
    let token = driver["token"].as_str().unwrap().to_owned();
    let mut events = sse(&app, &token, None);
    let (status, started) = app
        .post(
            &format!("/api/v1/devices/{}/start", evses[0]),
            json!({}),
            Some(&token),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{started}");
    assert_eq!(started["state"], "charging");
    let session = started["id"].as_str().unwrap().to_owned();
    let (_, first) = next_of(&mut events, "CHARGING").await;
    assert!(
        metered(&app, &token, &session, 0.01).await,
        "the station's readings count"
    );
    let mut later = first.clone();
    for _ in 0..30 {
        later = next_of(&mut events, "CHARGING").await.1;
        if later["energy"].as_f64() > first["energy"].as_f64() {
            break;
        }
    }
    assert!(
        later["energy"].as_f64() > first["energy"].as_f64(),
        "{first} then {later}"
    );
    let (status, finished) = app
        .post(
            &format!("/api/v1/devices/{}/finish", evses[0]),
            json!({}),
            Some(&token),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{finished}");
    let (_, purchases) = app
        .get("/api/v1/purchases?page=1&page-size=10", Some(&token))
        .await;
    assert_eq!(purchases["count"], 1, "{purchases}");
    let purchase = &purchases["results"][0];
    assert_eq!(purchase["id"], finished["id"]);
    let (_, transactions) = app
        .get("/api/v1/charge-points/SESS-201/transactions", Some(&admin))
        .await;
    let tx = &transactions[0];
    assert!(
        tx["station_transaction_id"]
            .as_str()
            .is_some_and(|t| t.starts_with("TX-")),
        "{tx}"
    );
    assert_eq!(tx["stop_reason"], "Remote");
    let energy_wh = tx["energy_wh"].as_i64().unwrap();
    assert!(energy_wh > 0, "{tx}");
    assert_eq!(
        purchase["energy"].as_f64().unwrap(),
        energy_wh as f64 / 1000.0
    );
    let expected_minor = (energy_wh * 50_050 + 500) / 1000;
    assert_eq!(
        purchase["amount"].as_f64().unwrap(),
        expected_minor as f64 / 100.0,
        "{purchase}"
    );
    // The station reports the EVSE free right after its Ended event.
    let mut cp = Value::Null;
    for _ in 0..100 {
        cp = app
            .get("/api/v1/charge-points/SESS-201", Some(&admin))
            .await
            .1;
        let connector_1 = cp["connectors"]
            .as_array()
            .and_then(|c| c.iter().find(|c| c["connector_id"] == 1).cloned());
        if connector_1.is_some_and(|c| c["status"] == "Available") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(cp["ocpp_version"], "2.0.1");
    let free = cp["connectors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["connector_id"] == 1)
        .unwrap();
    assert_eq!(free["status"], "Available", "{cp}");
    running.abort();
}
