//! Interop: Plugway's OCPI 2.2.1 driven by a party nobody here wrote —
//! `tests/interop/ocpi/partner.py`, on the `extrawest-ocpi` package, whose
//! strict 2.2.1 models check every object Plugway sends. `.ci/run` installs
//! it (scripts/services.sh) and sets PLUGWAY_TEST_OCPI_PYTHON; without it
//! the tests say they are skipped, and with CI=true they fail instead.
//!
//! - An eMSP registers with Plugway with the token A of an invitation,
//!   pages through our locations and tariffs (every object validated), and
//!   unregisters: its token stops working.
//! - Plugway registers with a CPO (`connect`), which pushes a location and
//!   patches an EVSE's status; Plugway's drivers find it.

use std::process::Stdio;
use std::time::Duration;

use axum::http::StatusCode;
use plugway_ocpi::Validate;
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};

use crate::harness::{api_key, Backend, TestApp};
use crate::ocpi::{listed_site, platform, CENTRE};

crate::on_both_backends!(
    an_independent_emsp_registers_pulls_and_leaves,
    plugway_registers_with_an_independent_cpo,
    a_roaming_session_end_to_end,
    a_driver_charges_on_a_partners_charger,
);

fn python() -> Option<String> {
    match std::env::var("PLUGWAY_TEST_OCPI_PYTHON") {
        Ok(p) if !p.is_empty() => Some(p),
        _ if std::env::var("CI").is_ok_and(|v| v == "true" || v == "1") => {
            panic!("PLUGWAY_TEST_OCPI_PYTHON is not set in CI: the OCPI interop tests must run")
        }
        _ => {
            eprintln!("SKIPPED OCPI interop test: PLUGWAY_TEST_OCPI_PYTHON is not set (run scripts/test.sh)");
            None
        }
    }
}

/// The partner process, steered one JSON line at a time.
struct Partner {
    child: Child,
    stdin: ChildStdin,
    lines: Lines<BufReader<ChildStdout>>,
    versions_url: String,
}

impl Partner {
    async fn start(python: &str, role: &str, party_id: &str) -> Self {
        let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../tests/interop/ocpi/partner.py");
        let mut child = Command::new(python)
            .arg(script)
            .args([
                "--role",
                role,
                "--country-code",
                "NL",
                "--party-id",
                party_id,
                "--port",
                "0",
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let stdin = child.stdin.take().unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let ready = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
            .await
            .expect("the partner starts")
            .unwrap()
            .expect("the partner prints its ready line");
        let ready: Value = serde_json::from_str(&ready).unwrap();
        assert_eq!(ready["ready"], true, "{ready}");
        Self {
            child,
            stdin,
            lines,
            versions_url: ready["versions_url"].as_str().unwrap().to_owned(),
        }
    }

    /// Sends one command and reads its one answer.
    async fn send(&mut self, command: Value) -> Value {
        let mut line = command.to_string();
        line.push('\n');
        self.stdin.write_all(line.as_bytes()).await.unwrap();
        self.stdin.flush().await.unwrap();
        let answer = tokio::time::timeout(Duration::from_secs(60), self.lines.next_line())
            .await
            .unwrap_or_else(|_| panic!("the partner answers {command}"))
            .unwrap()
            .expect("the partner is still running");
        serde_json::from_str(&answer).unwrap()
    }

    /// Sends a command that must succeed.
    async fn ok(&mut self, command: Value) -> Value {
        let answer = self.send(command.clone()).await;
        assert_eq!(answer["ok"], true, "{command} -> {answer}");
        answer
    }

    async fn quit(mut self) {
        let _ = self.send(json!({"op": "quit"})).await;
        let _ = tokio::time::timeout(Duration::from_secs(5), self.child.wait()).await;
    }
}

async fn an_independent_emsp_registers_pulls_and_leaves(backend: Backend, name: &str) {
    let Some(python) = python() else { return };
    let Some(app) = TestApp::spawn(backend, name, platform("PWA")).await else {
        return;
    };
    let admin = api_key(&app, plugway_domain::ApiKeyRole::Admin).await;
    listed_site(&app, &admin, "+97688002001", "North", CENTRE.0).await;
    listed_site(&app, &admin, "+97688002002", "South", CENTRE.0 - 0.01).await;
    let mut partner = Partner::start(&python, "EMSP", "XWE").await;

    let invitation = plugway_app::roaming::parties::invite(&app.state, Some("extrawest eMSP"))
        .await
        .unwrap();
    let registered = partner
        .ok(
            json!({"op": "register", "versions_url": app.url("/ocpi/versions"),
                   "token_a": invitation.token}),
        )
        .await;
    assert_eq!(
        registered["called_back"], true,
        "Plugway read the partner's versions: {registered}"
    );
    let roles: Vec<String> = registered["roles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            format!(
                "{} {}/{}",
                r["role"].as_str().unwrap(),
                r["country_code"].as_str().unwrap(),
                r["party_id"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(roles, ["CPO MN/PWA", "EMSP MN/PWA"]);
    let parties = plugway_app::roaming::parties::list(&app.state)
        .await
        .unwrap();
    assert_eq!(parties[0].roles[0].party_code, "XWE");

    // Every object is validated by the partner's models, page by page.
    let locations = partner
        .ok(json!({"op": "pull", "module": "locations", "limit": 1}))
        .await;
    assert_eq!(
        (locations["count"].as_u64(), locations["pages"].as_u64()),
        (Some(2), Some(2)),
        "{locations}"
    );
    let tariffs = partner
        .ok(json!({"op": "pull", "module": "tariffs", "limit": 3}))
        .await;
    assert_eq!(
        (tariffs["count"].as_u64(), tariffs["pages"].as_u64()),
        (Some(4), Some(2)),
        "{tariffs}"
    );
    let recent = partner
        .ok(json!({"op": "pull", "module": "locations", "limit": 10, "date_from": "2100-01-01T00:00:00Z"}))
        .await;
    assert_eq!(recent["count"], 0);
    // No token, a made-up token: 401 in the envelope.
    for token in ["none", "made-up"] {
        let answer = partner
            .ok(json!({"op": "request", "method": "GET", "path_or_url": "/ocpi/2.2.1/cpo/locations", "token": token}))
            .await;
        assert_eq!(answer["http_status"], 401, "{answer}");
        assert!(answer["body"]["status_code"].is_u64(), "{answer}");
    }
    // Pushed as well: every location and tariff once, each taken by the
    // partner's models; a second sweep finds nothing new to send.
    let report = plugway_app::roaming::push::sweep(&app.state).await.unwrap();
    assert_eq!((report.pushed, report.failed), (6, 0), "{report:?}");
    for (module, count) in [("locations", 2), ("tariffs", 4)] {
        let received = partner
            .ok(json!({"op": "received", "module": module}))
            .await;
        assert_eq!(
            received["objects"].as_array().unwrap().len(),
            count,
            "{module}: {received}"
        );
    }
    let again = plugway_app::roaming::push::sweep(&app.state).await.unwrap();
    assert_eq!(again.pushed, 0, "only what changed is sent again");
    let warnings = partner.ok(json!({"op": "warnings"})).await;
    eprintln!("partner's warnings: {warnings}");

    let left = partner.ok(json!({"op": "unregister"})).await;
    assert_eq!(left["delete_status"], 200, "{left}");
    assert_eq!(
        left["after_status"], 401,
        "the old token stops working: {left}"
    );
    partner.quit().await;
    app.finish().await;
}

async fn plugway_registers_with_an_independent_cpo(backend: Backend, name: &str) {
    let Some(python) = python() else { return };
    let Some(app) = TestApp::spawn(backend, name, platform("PWA")).await else {
        return;
    };
    let mut partner = Partner::start(&python, "CPO", "XWC").await;
    partner
        .ok(json!({"op": "expect_token_a", "token": "token-a-for-plugway"}))
        .await;
    let party = plugway_app::roaming::parties::connect(
        &app.state,
        &partner.versions_url,
        "token-a-for-plugway",
        Some("extrawest CPO"),
    )
    .await
    .unwrap();
    assert_eq!(party.roles[0].role, "CPO");
    assert_eq!(
        (
            party.roles[0].country_code.as_str(),
            party.roles[0].party_code.as_str()
        ),
        ("NL", "XWC")
    );
    let registration = partner.ok(json!({"op": "registration"})).await;
    assert_eq!(registration["registered"], true, "{registration}");

    // The partner pushes its tariff, a location whose connector names it;
    // then its EVSE starts charging.
    let tariff = json!({"country_code": "NL", "party_id": "XWC", "id": "XW-T1", "currency": "EUR",
        "elements": [{"price_components": [{"type": "ENERGY", "price": 0.35, "step_size": 1},
                                           {"type": "PARKING_TIME", "price": 6.0, "step_size": 60}]}],
        "last_updated": "2026-12-01T10:00:00Z"});
    let pushed = partner
        .ok(json!({"op": "push", "module": "tariffs", "object": tariff}))
        .await;
    assert_eq!(pushed["status_code"], 1000, "{pushed}");
    let location = json!({
        "country_code": "NL", "party_id": "XWC", "id": "XW-LOC-1", "publish": true,
        "name": "Extrawest Hub", "address": "Damrak 1", "city": "Amsterdam", "postal_code": "1012LG",
        "country": "NLD", "coordinates": {"latitude": "52.376000", "longitude": "4.897000"},
        "evses": [{"uid": "XW-E1", "evse_id": "NL*XWC*E1", "status": "AVAILABLE",
                   "connectors": [{"id": "1", "standard": "IEC_62196_T2", "format": "SOCKET",
                                   "power_type": "AC_3_PHASE", "max_voltage": 230, "max_amperage": 32,
                                   "tariff_ids": ["XW-T1"], "last_updated": "2026-12-01T10:00:00Z"}],
                   "last_updated": "2026-12-01T10:00:00Z"}],
        "time_zone": "Europe/Amsterdam", "last_updated": "2026-12-01T10:00:00Z"
    });
    let pushed = partner
        .ok(json!({"op": "push_location", "location": location}))
        .await;
    assert_eq!(pushed["status_code"], 1000, "{pushed}");
    let patched = partner
        .ok(
            json!({"op": "patch_evse", "location_id": "XW-LOC-1", "evse_uid": "XW-E1",
                   "patch": {"status": "CHARGING", "last_updated": "2026-12-01T11:00:00Z"}}),
        )
        .await;
    assert_eq!(patched["status_code"], 1000, "{patched}");
    let (status, page) = app
        .get("/api/v1/sites?lat=52.376&lng=4.897&radius_km=2", None)
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let hub = &page["results"][0];
    assert_eq!(hub["name"], "Extrawest Hub", "{page}");
    assert_eq!(hub["evses"][0]["status"], "CHARGING");
    assert_eq!(hub["max_power_kw"], 22.08, "230 V × 32 A × 3 phases");
    assert_eq!(hub["currency"], "EUR", "{hub}");
    assert_eq!(
        (
            hub["evses"][0]["prices"]["per_kwh"].as_f64(),
            hub["evses"][0]["prices"]["waiting_per_minute"].as_f64()
        ),
        (Some(0.35), Some(0.1)),
        "{hub}"
    );

    // A location the partner's own models would refuse, sent raw, is
    // refused here too, and nothing of it is stored.
    let answer = partner
        .ok(json!({"op": "request", "method": "PUT",
                   "path_or_url": "/ocpi/2.2.1/emsp/locations/NL/XWC/XW-LOC-2",
                   "body": {"country_code": "NL", "party_id": "XWC", "id": "XW-LOC-2"}}))
        .await;
    assert_eq!(
        (
            answer["http_status"].as_u64(),
            answer["body"]["status_code"].as_u64()
        ),
        (Some(400), Some(2001)),
        "{answer}"
    );
    let (_, page) = app
        .get("/api/v1/sites?lat=52.376&lng=4.897&radius_km=2", None)
        .await;
    assert_eq!(page["results"].as_array().unwrap().len(), 1);

    // Our drivers' tokens: pushed to the partner's tokens receiver and
    // pulled from our sender, each taken by its Token model.
    app.otp_sign_in("+97688003001").await;
    let phone = plugway_domain::PhoneNumber::parse("+97688003001", None).unwrap();
    let user = app.store.find_phone(&phone).await.unwrap().unwrap().user_id;
    let tag = app.state.sessions.app_id_tag(user).await.unwrap();
    let report = plugway_app::roaming::push::sweep(&app.state).await.unwrap();
    assert_eq!((report.pushed, report.failed), (1, 0), "{report:?}");
    let received = partner
        .ok(json!({"op": "received", "module": "tokens"}))
        .await;
    let tokens = received["objects"].as_array().unwrap();
    assert_eq!(tokens.len(), 1, "{received}");
    assert_eq!(
        (tokens[0]["uid"].as_str(), tokens[0]["type"].as_str()),
        (Some(tag.as_str()), Some("APP_USER"))
    );
    let pulled = partner
        .ok(json!({"op": "pull", "module": "tokens", "limit": 10}))
        .await;
    assert_eq!(pulled["count"], 1, "{pulled}");
    // The partner asks about the token in real time: no money in the
    // wallet, NO_CREDIT; topped up, ALLOWED with a reference; an unknown
    // uid 2004.
    let ask = |uid: &str| {
        json!({"op": "request", "method": "POST",
               "path_or_url": format!("/ocpi/2.2.1/emsp/tokens/{uid}/authorize?type=APP_USER"),
               "body": {"location_id": "XW-LOC-1", "evse_uids": ["XW-E1"]}})
    };
    let answer = partner.ok(ask(tag.as_str())).await;
    assert_eq!(answer["body"]["data"]["allowed"], "NO_CREDIT", "{answer}");
    topped_up(&app, user, 50_000).await;
    let answer = partner.ok(ask(tag.as_str())).await;
    let info: plugway_ocpi::tokens::AuthorizationInfo =
        serde_json::from_value(answer["body"]["data"].clone()).unwrap();
    info.validate().unwrap();
    assert_eq!(info.allowed, "ALLOWED");
    assert_eq!(info.token.whitelist, "NEVER", "partners ask about ours");
    assert_eq!(info.location.unwrap().location_id, "XW-LOC-1");
    // The CPO's Session carrying that reference is taken as one we agreed
    // to; one without it (a start we were not asked about) is not.
    let reference = info.authorization_reference.unwrap();
    // An authorization is not a session in the driver's list until the
    // partner's Session names it.
    let listed = app.store.list_driver_sessions(user, 0, 50).await.unwrap();
    assert!(listed.iter().all(|s| s.id != reference), "{listed:?}");
    let session = json!({
        "country_code": "NL", "party_id": "XWC", "id": "XW-RT-1", "start_date_time": "2026-12-06T10:00:00Z",
        "kwh": 1.5, "cdr_token": {"country_code": "MN", "party_id": "PWA", "uid": tag.as_str(),
        "type": "APP_USER", "contract_id": tokens[0]["contract_id"]},
        "auth_method": "AUTH_REQUEST", "authorization_reference": reference,
        "location_id": "XW-LOC-1", "evse_uid": "XW-E1", "connector_id": "1",
        "currency": "EUR", "status": "ACTIVE", "last_updated": "2026-12-06T10:10:00Z"
    });
    let pushed = partner
        .ok(json!({"op": "push", "module": "sessions", "object": session}))
        .await;
    assert_eq!(pushed["status_code"], 1000, "{pushed}");
    let row = app
        .store
        .find_driver_session(&reference)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (row.user_id, row.session_id.as_deref(), row.status.as_str()),
        (user, Some("XW-RT-1"), "ACTIVE")
    );
    let mut unasked = session.clone();
    unasked["id"] = json!("XW-RT-2");
    unasked["authorization_reference"] = Value::Null;
    let refused = partner
        .send(json!({"op": "push", "module": "sessions", "object": unasked}))
        .await;
    assert_eq!(refused["http_status"], 404, "{refused}");
    let answer = partner.ok(ask("APP00000000000000000")).await;
    assert_eq!(
        (
            answer["http_status"].as_u64(),
            answer["body"]["status_code"].as_u64()
        ),
        (Some(404), Some(2004)),
        "{answer}"
    );
    partner.quit().await;
    app.finish().await;
}

/// Runs push passes until the partner holds `evse_uid` of location `site`
/// with `status` (or gives up after a while); the status it holds.
async fn pushed_status(
    app: &TestApp,
    partner: &mut Partner,
    pushing: &mut plugway_app::roaming::push::PushState,
    site: &str,
    evse_uid: &str,
    status: &str,
) -> String {
    let mut held = String::new();
    for _ in 0..50 {
        let report = plugway_app::roaming::push::pass(&app.state, pushing)
            .await
            .unwrap();
        assert_eq!(report.failed, 0, "{report:?}");
        let received = partner
            .ok(json!({"op": "received", "module": "locations"}))
            .await;
        held = received["objects"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|l| l["id"] == site)
            .flat_map(|l| l["evses"].as_array().cloned().unwrap_or_default())
            .find(|e| e["uid"] == evse_uid)
            .and_then(|e| e["status"].as_str().map(str::to_owned))
            .unwrap_or_default();
        if held == status {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    held
}

/// The partner's driver's token, as the partner pushes it.
fn driver_token(uid: &str, whitelist: &str) -> Value {
    json!({"country_code": "NL", "party_id": "XWE", "uid": uid, "type": "RFID",
           "contract_id": "NL-XWE-C12345678-X", "issuer": "Extrawest eMSP", "valid": true,
           "whitelist": whitelist, "last_updated": "2026-12-01T10:00:00Z"})
}

/// Delivers our outbox to the partner until `done` holds for what it has
/// received of `module` (the harness runs no workers: the test is the
/// worker), 20 s at most.
async fn delivered_until(
    app: &TestApp,
    partner: &mut Partner,
    module: &str,
    done: impl Fn(&[Value]) -> bool,
) -> Vec<Value> {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        plugway_app::roaming::sessions::deliver_due(&app.state)
            .await
            .unwrap();
        let received = partner
            .ok(json!({"op": "received", "module": module}))
            .await;
        let objects = received["objects"].as_array().unwrap().clone();
        if done(&objects) {
            return objects;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the partner never got its {module}: {received}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn a_roaming_session_end_to_end(backend: Backend, name: &str) {
    let Some(python) = python() else { return };
    let mut options = platform("PWA");
    options.sessions = crate::charging_sessions::options().sessions;
    let Some(app) = TestApp::spawn(backend, name, options).await else {
        return;
    };
    let admin = api_key(&app, plugway_domain::ApiKeyRole::Admin).await;
    let (_, _, evses, running) =
        crate::charging_sessions::charger_site(&app, &admin, "ROAM-CP1").await;
    let evse = app
        .store
        .find_evse(evses[0].parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    let site = evse.site_id.to_text();
    let mut partner = Partner::start(&python, "EMSP", "XWE").await;
    let invitation = plugway_app::roaming::parties::invite(&app.state, Some("extrawest eMSP"))
        .await
        .unwrap();
    partner
        .ok(json!({"op": "register", "versions_url": app.url("/ocpi/versions"), "token_a": invitation.token}))
        .await;

    // The partner pushes its driver's card; a charger asks about it.
    let pushed = partner
        .ok(json!({"op": "push_token", "token": driver_token("04A2B3C4D5E6F7", "ALWAYS")}))
        .await;
    assert_eq!(pushed["status_code"], 1000, "{pushed}");
    let blocked = partner
        .ok(json!({"op": "push_token", "token": {
        "country_code": "NL", "party_id": "XWE", "uid": "DEADBEEF01", "type": "RFID",
        "contract_id": "NL-XWE-C00000001-X", "issuer": "Extrawest eMSP", "valid": false,
        "whitelist": "ALWAYS", "last_updated": "2026-12-01T10:00:00Z"}}))
        .await;
    assert_eq!(blocked["status_code"], 1000);
    let (status, second) = app
        .post(
            "/api/v1/charge-points",
            json!({"id": "ROAM-CP2"}),
            Some(&admin),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{second}");
    let config = plugway_sim::SimConfig::new(
        &format!("{}/ocpp", app.base.replace("http", "ws")),
        "ROAM-CP2",
        second["password"].as_str().map(str::to_owned),
    );
    let mut ws = plugway_sim::connect_booted(&config).await.unwrap();
    // Cards the partner wants asked about every time (NEVER): Plugway asks
    // its tokens module in real time, and the partner's answer stands.
    for (uid, valid_at_the_emsp) in [("0AB1C2D3E4", true), ("0AB1C2D3E5", false)] {
        let token = driver_token(uid, "NEVER");
        let pushed = partner
            .ok(json!({"op": "push_token", "token": token}))
            .await;
        assert_eq!(pushed["status_code"], 1000, "{pushed}");
        let mut own = token.clone();
        own["valid"] = json!(valid_at_the_emsp);
        partner
            .ok(json!({"op": "add_object", "module": "tokens", "object": own}))
            .await;
    }
    for (tag, expected) in [
        ("04a2b3c4d5e6f7", "Accepted"),
        ("DEADBEEF01", "Blocked"),
        ("UNKNOWN00", "Invalid"),
        ("0AB1C2D3E4", "Accepted"),
        ("0AB1C2D3E5", "Blocked"),
    ] {
        use futures::{SinkExt, StreamExt};
        let call = json!([2, format!("auth-{tag}"), "Authorize", {"idTag": tag}]);
        ws.send(tokio_tungstenite::tungstenite::Message::Text(
            call.to_string().into(),
        ))
        .await
        .unwrap();
        let answer = loop {
            let frame = ws.next().await.unwrap().unwrap();
            if let Ok(text) = frame.to_text() {
                let value: Value = serde_json::from_str(text).unwrap_or(Value::Null);
                if value[1] == format!("auth-{tag}") {
                    break value;
                }
            }
        };
        assert_eq!(
            answer[2]["idTagInfo"]["status"], expected,
            "{tag}: {answer}"
        );
    }

    let allowed = app
        .store
        .find_ocpi_token_by_id_tag("0AB1C2D3E4")
        .await
        .unwrap()
        .unwrap();
    assert!(
        allowed.authorized_at.is_some(),
        "the eMSP's ALLOWED is noted"
    );
    let refused = app.store.find_id_tag("0AB1C2D3E5").await.unwrap().unwrap();
    assert_eq!(
        refused.state.max_active_transactions, 0,
        "a refusal lets nothing in"
    );

    // A remote start through Commands, for an app user of the partner.
    let app_user = json!({"country_code": "NL", "party_id": "XWE", "uid": "a7f1c0de-0000-4000-8000-00000000abcd",
        "type": "APP_USER", "contract_id": "NL-XWE-C87654321-X", "issuer": "Extrawest eMSP", "valid": true,
        "whitelist": "NEVER", "last_updated": "2026-12-01T10:00:00Z"});
    // Our locations are pushed to the partner's receiver, then kept
    // current as the charger's status changes.
    let mut pushing = plugway_app::roaming::push::PushState::default();
    let evse_uid = evse.id.to_text();
    assert_eq!(
        pushed_status(
            &app,
            &mut partner,
            &mut pushing,
            &site,
            &evse_uid,
            "AVAILABLE"
        )
        .await,
        "AVAILABLE"
    );
    // First a reservation on the EVSE, and its cancellation: the charger
    // holds it and lets it go (it knows it by the id Plugway gave it).
    let expiry = (chrono::Utc::now() + chrono::Duration::minutes(30))
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    let reserved = partner
        .ok(
            json!({"op": "command", "command": "RESERVE_NOW", "wait_seconds": 20,
                   "body": {"token": app_user, "expiry_date": expiry, "reservation_id": "XW-R1",
                            "location_id": site, "evse_uid": evse.id.to_text()}}),
        )
        .await;
    assert_eq!(reserved["result"]["result"], "ACCEPTED", "{reserved}");
    let unknown = partner
        .ok(
            json!({"op": "command", "command": "CANCEL_RESERVATION", "wait_seconds": 20,
                   "body": {"reservation_id": "XW-R404"}}),
        )
        .await;
    assert_eq!(
        unknown["result"]["result"], "UNKNOWN_RESERVATION",
        "{unknown}"
    );
    let cancelled = partner
        .ok(
            json!({"op": "command", "command": "CANCEL_RESERVATION", "wait_seconds": 20,
                   "body": {"reservation_id": "xw-r1"}}),
        )
        .await;
    assert_eq!(
        cancelled["result"]["result"], "ACCEPTED",
        "the charger found the reservation: {cancelled}"
    );
    let again = partner
        .ok(
            json!({"op": "command", "command": "CANCEL_RESERVATION", "wait_seconds": 20,
                   "body": {"reservation_id": "XW-R1"}}),
        )
        .await;
    assert_eq!(again["result"]["result"], "UNKNOWN_RESERVATION", "{again}");
    let started = partner
        .ok(json!({"op": "command", "command": "START_SESSION", "wait_seconds": 20,
                   "body": {"token": app_user, "location_id": site, "evse_uid": evse.id.to_text()}}))
        .await;
    assert_eq!(started["response"]["result"], "ACCEPTED", "{started}");
    assert_eq!(
        started["result"]["result"], "ACCEPTED",
        "the charger took it: {started}"
    );
    let sessions = delivered_until(&app, &mut partner, "sessions", |s| {
        s.iter().any(|s| s["status"] == "ACTIVE")
    })
    .await;
    // Let it charge a little (the simulator meters every 300 ms).
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let session_id = sessions[0]["id"].as_str().unwrap().to_owned();
    assert_eq!(
        sessions[0]["cdr_token"]["uid"],
        "a7f1c0de-0000-4000-8000-00000000abcd"
    );
    assert_eq!(sessions[0]["auth_method"], "COMMAND");
    assert_eq!(sessions[0]["location_id"], site.as_str());
    assert_eq!(
        pushed_status(
            &app,
            &mut partner,
            &mut pushing,
            &site,
            &evse_uid,
            "CHARGING"
        )
        .await,
        "CHARGING",
        "the charger's status reached the partner"
    );

    // Another eMSP's session id, or a made-up one, is unknown to it.
    let unknown = partner
        .ok(
            json!({"op": "command", "command": "STOP_SESSION", "wait_seconds": 1,
                   "body": {"session_id": "00000000-0000-0000-0000-000000000000"}}),
        )
        .await;
    assert_eq!(unknown["response"]["result"], "UNKNOWN_SESSION");
    let stopped = partner
        .ok(
            json!({"op": "command", "command": "STOP_SESSION", "wait_seconds": 20,
                   "body": {"session_id": session_id}}),
        )
        .await;
    assert_eq!(stopped["result"]["result"], "ACCEPTED", "{stopped}");

    // The session completes; its CDR reaches the partner, and its total is
    // what the ledger takes from the partner's account.
    delivered_until(&app, &mut partner, "sessions", |s| {
        s.iter().any(|s| s["status"] == "COMPLETED")
    })
    .await;
    let cdrs = delivered_until(&app, &mut partner, "cdrs", |c| !c.is_empty()).await;
    assert_eq!(cdrs.len(), 1);
    let cdr = &cdrs[0];
    assert_eq!(cdr["session_id"], session_id.as_str());
    let session = app
        .store
        .find_charging_session(session_id.parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    let purchase = app
        .store
        .find_purchase(session.purchase_id.unwrap())
        .await
        .unwrap()
        .unwrap();
    assert!(purchase.cost.total > 0, "it charged: {:?}", purchase.cost);
    assert_eq!(purchase.payment_status, "paid");
    let currency = purchase.cost.currency;
    assert_eq!(
        cdr["total_cost"]["incl_vat"].as_f64().unwrap(),
        currency.to_major(purchase.cost.total)
    );
    let owed = app
        .store
        .account_balance(&plugway_app::roaming::sessions::partner_account(
            plugway_app::roaming::parties::list(&app.state)
                .await
                .unwrap()[0]
                .id,
            currency,
        ))
        .await
        .unwrap();
    assert_eq!(
        owed, -purchase.cost.total,
        "the partner owes the CDR's total"
    );
    let report = app.store.verify_ledger().await.unwrap();
    assert!(report.is_clean(), "{report:?}");
    // A partner that pulls instead gets the same, validated by its models.
    let pulled = partner
        .ok(json!({"op": "pull", "module": "sessions", "limit": 1}))
        .await;
    assert_eq!(pulled["count"], 1, "{pulled}");
    assert_eq!(pulled["objects"][0]["status"], "COMPLETED");
    let pulled = partner
        .ok(json!({"op": "pull", "module": "cdrs", "limit": 1}))
        .await;
    assert_eq!(pulled["count"], 1, "{pulled}");
    assert_eq!(pulled["objects"][0]["total_cost"], cdr["total_cost"]);
    // Delivering again sends nothing twice.
    plugway_app::roaming::sessions::deliver_due(&app.state)
        .await
        .unwrap();
    let again = partner
        .ok(json!({"op": "received", "module": "cdrs"}))
        .await;
    assert_eq!(again["objects"].as_array().unwrap().len(), 1);

    // The partner leaves: nobody pays for its drivers any more, so its
    // cards stop working at our chargers.
    partner.ok(json!({"op": "unregister"})).await;
    {
        use futures::{SinkExt, StreamExt};
        let call = json!([2, "auth-after", "Authorize", {"idTag": "04A2B3C4D5E6F7"}]);
        ws.send(tokio_tungstenite::tungstenite::Message::Text(
            call.to_string().into(),
        ))
        .await
        .unwrap();
        let answer = loop {
            let frame = ws.next().await.unwrap().unwrap();
            let value: Value = frame
                .to_text()
                .ok()
                .and_then(|t| serde_json::from_str(t).ok())
                .unwrap_or(Value::Null);
            if value[1] == "auth-after" {
                break value;
            }
        };
        assert_eq!(answer[2]["idTagInfo"]["status"], "Blocked", "{answer}");
    }
    drop(ws);
    running.abort();
    partner.quit().await;
    app.finish().await;
}

async fn a_driver_charges_on_a_partners_charger(backend: Backend, name: &str) {
    use plugway_domain::ledger::{AccountKind, AccountRef};
    let Some(python) = python() else { return };
    let Some(app) = TestApp::spawn(backend, name, platform("PWA")).await else {
        return;
    };
    let mut partner = Partner::start(&python, "CPO", "XWC").await;
    partner
        .ok(json!({"op": "expect_token_a", "token": "token-a-roam"}))
        .await;
    let party = plugway_app::roaming::parties::connect(
        &app.state,
        &partner.versions_url,
        "token-a-roam",
        None,
    )
    .await
    .unwrap();
    let location = json!({
        "country_code": "NL", "party_id": "XWC", "id": "XW-HUB", "publish": true, "name": "Partner Hub",
        "address": "Damrak 1", "city": "Amsterdam", "country": "NLD",
        "coordinates": {"latitude": "52.376000", "longitude": "4.897000"},
        "evses": [{"uid": "XW-E9", "status": "AVAILABLE",
                   "connectors": [{"id": "1", "standard": "IEC_62196_T2_COMBO", "format": "CABLE",
                                   "power_type": "DC", "max_voltage": 500, "max_amperage": 100,
                                   "last_updated": "2026-12-01T10:00:00Z"}],
                   "last_updated": "2026-12-01T10:00:00Z"}],
        "time_zone": "Europe/Amsterdam", "last_updated": "2026-12-01T10:00:00Z"
    });
    partner
        .ok(json!({"op": "push_location", "location": location}))
        .await;
    let (_, page) = app
        .get("/api/v1/sites?lat=52.376&lng=4.897&radius_km=2", None)
        .await;
    let evse_id = page["results"][0]["evses"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();

    // A driver with money in the wallet starts there from the app.
    let signed = app.otp_sign_in("+97688003001").await;
    let driver = signed["token"].as_str().unwrap().to_owned();
    let phone = plugway_domain::PhoneNumber::parse("+97688003001", None).unwrap();
    let user = app.store.find_phone(&phone).await.unwrap().unwrap().user_id;
    let mnt = plugway_domain::Currency::MNT;
    topped_up(&app, user, 100_000).await;
    let (status, started) = app
        .post(
            "/api/v1/roaming/sessions",
            json!({"evse_id": evse_id}),
            Some(&driver),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{started}");
    assert_eq!(started["status"], "ACCEPTED", "{started}");
    let ours = started["id"].as_str().unwrap().to_owned();
    let commands = partner
        .ok(json!({"op": "received", "module": "commands"}))
        .await;
    let start = commands["objects"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| {
            c.to_string().contains("START_SESSION")
                || c.get("token").is_some()
                || c.get("body").is_some()
        })
        .unwrap_or_else(|| panic!("the partner got START_SESSION: {commands}"))
        .clone();
    let token = start
        .get("body")
        .map_or(&start, |b| b)
        .get("token")
        .unwrap()
        .clone();
    assert_eq!(token["type"], "APP_USER", "{start}");
    let stranger = app.otp_sign_in("+97688003002").await;
    let (_, other) = app
        .get(
            &format!("/api/v1/roaming/sessions/{ours}"),
            stranger["token"].as_str(),
        )
        .await;
    assert_eq!(
        other["code"], "roaming_session_not_found",
        "another driver's session is not found"
    );

    // The partner reports the session, then its CDR; the driver sees both,
    // and the CDR is paid from the wallet into the partner's account.
    let session = json!({
        "country_code": "NL", "party_id": "XWC", "id": "XW-S1", "start_date_time": "2026-12-06T10:00:00Z",
        "kwh": 4.5, "cdr_token": {"country_code": token["country_code"], "party_id": token["party_id"],
        "uid": token["uid"], "type": "APP_USER", "contract_id": token["contract_id"]},
        "auth_method": "COMMAND", "location_id": "XW-HUB", "evse_uid": "XW-E9", "connector_id": "1",
        "currency": "MNT", "status": "ACTIVE", "last_updated": "2026-12-06T10:10:00Z"
    });
    let pushed = partner
        .ok(json!({"op": "push", "module": "sessions", "object": session}))
        .await;
    assert_eq!(pushed["status_code"], 1000, "{pushed}");
    let (_, seen) = app
        .get(&format!("/api/v1/roaming/sessions/{ours}"), Some(&driver))
        .await;
    assert_eq!(
        (
            seen["status"].as_str(),
            seen["kwh"].as_f64(),
            seen["session_id"].as_str()
        ),
        (Some("ACTIVE"), Some(4.5), Some("XW-S1")),
        "{seen}"
    );
    let cdr = json!({
        "country_code": "NL", "party_id": "XWC", "id": "XW-CDR-1", "start_date_time": "2026-12-06T10:00:00Z",
        "end_date_time": "2026-12-06T10:30:00Z", "session_id": "XW-S1",
        "cdr_token": session["cdr_token"], "auth_method": "COMMAND",
        "cdr_location": {"id": "XW-HUB", "address": "Damrak 1", "city": "Amsterdam", "country": "NLD",
            "coordinates": {"latitude": "52.376000", "longitude": "4.897000"}, "evse_uid": "XW-E9",
            "evse_id": "NL*XWC*E9", "connector_id": "1", "connector_standard": "IEC_62196_T2_COMBO",
            "connector_format": "CABLE", "connector_power_type": "DC"},
        "currency": "MNT",
        "charging_periods": [{"start_date_time": "2026-12-06T10:00:00Z", "dimensions": [{"type": "ENERGY", "volume": 9.0}]}],
        "total_cost": {"excl_vat": 4000.0, "incl_vat": 4400.0}, "total_energy": 9.0, "total_time": 0.5,
        "last_updated": "2026-12-06T10:31:00Z"
    });
    // 4,400.00 MNT is more than the wallet's 1,000.00: due, nothing moved.
    let pushed = partner
        .ok(json!({"op": "push", "module": "cdrs", "object": cdr}))
        .await;
    assert_eq!(pushed["status_code"], 1000, "{pushed}");
    let (_, seen) = app
        .get(&format!("/api/v1/roaming/sessions/{ours}"), Some(&driver))
        .await;
    assert_eq!(
        (seen["status"].as_str(), seen["total"].as_f64()),
        (Some("PAYMENT_DUE"), Some(4400.0)),
        "{seen}"
    );
    let wallet_account = AccountRef::of(AccountKind::DriverWallet, user, mnt);
    assert_eq!(
        app.store.account_balance(&wallet_account).await.unwrap(),
        100_000
    );
    // The driver pays from the app once the wallet holds enough (not
    // before); then nothing is due, and the CDR sent again moves nothing.
    let pay = format!("/api/v1/roaming/sessions/{ours}/pay");
    let (status, refused) = app.post(&pay, json!({}), Some(&driver)).await;
    assert_eq!(
        (status, refused["code"].as_str()),
        (StatusCode::CONFLICT, Some("insufficient_funds")),
        "{refused}"
    );
    topped_up(&app, user, 1_000_000).await;
    let (status, paid) = app.post(&pay, json!({}), Some(&driver)).await;
    assert_eq!(
        (status, paid["status"].as_str()),
        (StatusCode::OK, Some("PAID")),
        "{paid}"
    );
    let (status, again) = app.post(&pay, json!({}), Some(&driver)).await;
    assert_eq!(
        (status, again["code"].as_str()),
        (StatusCode::CONFLICT, Some("roaming_nothing_due")),
        "{again}"
    );
    let (status, _) = app.post(&pay, json!({}), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    for _ in 0..2 {
        let pushed = partner
            .ok(json!({"op": "push", "module": "cdrs", "object": cdr}))
            .await;
        assert_eq!(pushed["status_code"], 1000, "{pushed}");
    }
    // Another CDR for the same session, or one in a currency our wallets do
    // not hold, is refused; nothing moves.
    let mut second = cdr.clone();
    second["id"] = json!("XW-CDR-2");
    let refused = partner
        .send(json!({"op": "push", "module": "cdrs", "object": second}))
        .await;
    assert_eq!(refused["http_status"], 409, "{refused}");
    let mut euro = cdr.clone();
    euro["currency"] = json!("EUR");
    let refused = partner
        .send(json!({"op": "push", "module": "cdrs", "object": euro}))
        .await;
    assert_eq!(
        (
            refused["http_status"].as_u64(),
            refused["status_code"].as_u64()
        ),
        (Some(400), Some(2001)),
        "{refused}"
    );
    // A session the partner invents for a driver of ours is refused.
    let mut invented = session.clone();
    invented["id"] = json!("XW-S-INVENTED");
    let refused = partner
        .send(json!({"op": "push", "module": "sessions", "object": invented}))
        .await;
    assert_eq!(refused["http_status"], 404, "{refused}");
    let (_, seen) = app
        .get(&format!("/api/v1/roaming/sessions/{ours}"), Some(&driver))
        .await;
    assert_eq!(
        (seen["status"].as_str(), seen["total"].as_f64()),
        (Some("PAID"), Some(4400.0)),
        "{seen}"
    );
    let wallet = app.store.account_balance(&wallet_account).await.unwrap();
    assert_eq!(wallet, 1_100_000 - 440_000, "paid once");
    let owed = app
        .store
        .account_balance(&plugway_app::roaming::sessions::partner_account(
            party.id, mnt,
        ))
        .await
        .unwrap();
    assert_eq!(owed, 440_000, "we owe the partner the CDR's total");
    assert!(app.store.verify_ledger().await.unwrap().is_clean());
    partner.quit().await;
    app.finish().await;
}

/// Puts `amount` (minor units of MNT) in a driver's wallet, from promotions.
async fn topped_up(app: &TestApp, user: plugway_domain::UserId, amount: i64) {
    use plugway_domain::ledger::{AccountKind, AccountRef, Balanced, Posting};
    let mnt = plugway_domain::Currency::MNT;
    let postings = Balanced::new(&[
        Posting {
            account: AccountRef::of(AccountKind::DriverWallet, user, mnt),
            amount,
        },
        Posting {
            account: AccountRef::platform(AccountKind::Promotions, mnt),
            amount: -amount,
        },
    ])
    .unwrap();
    app.store
        .post_entry(&plugway_store::NewJournalEntry {
            id: uuid::Uuid::new_v4().to_string(),
            kind: "test_topup".into(),
            reference: "test".into(),
            idempotency_key: None,
            postings,
            at: app.clock_now(),
        })
        .await
        .unwrap();
}
