//! Interop: Plugway driven by a charge point nobody here wrote — the Python
//! `ocpp` package, as a 1.6J charge point and as a 2.0.1 station, checking
//! every message in both directions against the official JSON schemas. `.ci/run` installs it and sets
//! PLUGWAY_TEST_PYTHON; without it the test says it is skipped, and with
//! CI=true it fails instead.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::{json, Value};

use crate::{plugway, Server};

fn python() -> Option<String> {
    match std::env::var("PLUGWAY_TEST_PYTHON") {
        Ok(p) if !p.is_empty() => Some(p),
        _ if std::env::var("CI").is_ok_and(|v| v == "true" || v == "1") => {
            panic!("PLUGWAY_TEST_PYTHON is not set in CI: the interop test must run")
        }
        _ => {
            eprintln!("SKIPPED interop test: PLUGWAY_TEST_PYTHON is not set (run scripts/test.sh)");
            None
        }
    }
}

pub(crate) fn api_key(dir: &std::path::Path, role: &str) -> String {
    let out = plugway(
        &["api-key", "create", "--role", role, "--data-dir", "data"],
        dir,
    )
    .output()
    .unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .last()
        .unwrap()
        .trim()
        .to_owned()
}

/// A test peer (a Python script) whose standard output is read line by line.
struct Peer {
    child: std::process::Child,
    lines: mpsc::Receiver<String>,
}

impl Peer {
    /// Runs `script` (under tests/interop) with `args`.
    fn spawn(python: &str, script: &str, args: &[String]) -> Self {
        let script = format!(
            "{}/../../tests/interop/{script}",
            env!("CARGO_MANIFEST_DIR")
        );
        let mut child = Command::new(python)
            .arg(script)
            .args(args)
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let (tx, lines) = mpsc::channel();
        let stdout = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        Self { child, lines }
    }

    /// The first line (within a minute) that contains `needle`.
    fn wait_for(&self, needle: &str) -> String {
        loop {
            match self.lines.recv_timeout(Duration::from_secs(60)) {
                Ok(line) if line.contains(needle) => return line,
                Ok(_) => {}
                Err(e) => panic!("the Python peer never printed {needle}: {e}"),
            }
        }
    }
}

#[tokio::test]
async fn the_python_ocpp_charge_point_runs_a_whole_session_against_plugway() {
    let Some(python) = python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let crm = api_key(dir.path(), "integration");
    let admin = api_key(dir.path(), "admin");
    let mut server = Server::start(dir.path(), &[]);
    let http = reqwest::Client::new();
    let post = |path: &str, key: &str, body: Value| {
        let request = http
            .post(format!("{}{path}", server.base))
            .bearer_auth(key)
            .json(&body);
        async move {
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            (
                status,
                response.json::<Value>().await.unwrap_or(Value::Null),
            )
        }
    };

    // The CRM creates the charge point and its customer (seed 004), then unblocks them.
    let (status, cp) = post("/api/v1/webhooks/generate_charge_point", &crm, json!({})).await;
    assert_eq!(status, 200);
    let (id, password) = (
        cp["charging_point_id"].as_str().unwrap().to_owned(),
        cp["password"].as_str().unwrap().to_owned(),
    );
    let (status, customer) = post(
        "/api/v1/webhooks/register_customer",
        &crm,
        json!({"charging_point_id": id, "application": "store", "zoho_customer_id": "445"}),
    )
    .await;
    assert_eq!(status, 200, "{customer}");
    let tag = customer["id_tag"].as_str().unwrap().to_owned();
    let (status, _) = post(
        "/api/v1/webhooks/unblock_customer",
        &crm,
        json!({"zoho_customer_id": "445", "max_active_transaction_count": 2}),
    )
    .await;
    assert_eq!(status, 204);

    let ws_url = format!("{}/ocpp/{id}", server.base.replace("http", "ws"));
    // `--flag=value`: a random password may begin with `-`, which argparse
    // would otherwise take for a flag of its own.
    let mut peer = Peer::spawn(
        &python,
        "ocpp16_charge_point.py",
        &[
            format!("--url={ws_url}"),
            format!("--id={id}"),
            format!("--password={password}"),
            format!("--id-tag={tag}"),
            "--wait=30".to_owned(),
        ],
    );
    let wait_for = |needle: &str| peer.wait_for(needle);
    wait_for("LOCAL-SEQUENCE-DONE");

    let (status, started) = post(
        &format!("/api/v1/charge-points/{id}/commands/RemoteStartTransaction"),
        &admin,
        json!({"idTag": tag, "connectorId": 1}),
    )
    .await;
    assert_eq!(
        (status, started["response"]["status"].as_str()),
        (200, Some("Accepted")),
        "{started}"
    );
    wait_for("REMOTE-START-DONE");
    let list = http
        .get(format!(
            "{}/api/v1/charge-points/{id}/transactions",
            server.base
        ))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    let active = list
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["stopped_at"].is_null())
        .expect("a remote-started transaction")
        .clone();
    let (status, stopped) = post(
        &format!("/api/v1/charge-points/{id}/commands/RemoteStopTransaction"),
        &admin,
        json!({"transactionId": active["id"]}),
    )
    .await;
    assert_eq!(
        (status, stopped["response"]["status"].as_str()),
        (200, Some("Accepted")),
        "{stopped}"
    );
    wait_for("REMOTE-STOP-DONE");
    let exit = peer.child.wait().unwrap();
    assert!(
        exit.success(),
        "the Python charge point failed (its schema checks or a step): {exit:?}"
    );

    // What Plugway stored of it.
    let get = |path: String| {
        let request = http
            .get(format!("{}{path}", server.base))
            .bearer_auth(&admin);
        async move { request.send().await.unwrap().json::<Value>().await.unwrap() }
    };
    let transactions = get(format!("/api/v1/charge-points/{id}/transactions")).await;
    let reasons: Vec<&str> = transactions
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["stop_reason"].as_str().unwrap_or("-"))
        .collect();
    assert_eq!(reasons, vec!["Remote", "Local"]);
    assert!(transactions
        .as_array()
        .unwrap()
        .iter()
        .all(|t| t["energy_wh"].as_i64().unwrap() > 0));
    let detail = get(format!("/api/v1/charge-points/{id}")).await;
    assert_eq!(
        (detail["vendor"].as_str(), detail["model"].as_str()),
        (Some("InteropVendor"), Some("PyOCPP"))
    );
    assert_eq!(detail["firmware_status"], "Installed");
    let connector_1 = detail["connectors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["connector_id"] == 1)
        .unwrap()
        .clone();
    assert_eq!(connector_1["status"], "Available");
    assert!(server.terminate().success());
}

/// The Python `ocpp` package's 2.0.1 station against the real binary: its
/// broken frames get 2.0.1's CALLERRORs on a connection that stays; an RFID
/// transaction; its certificate signed by the station CA; GetBaseReport,
/// GetVariables and SetVariables; then a driver charges on it from the app
/// (RequestStartTransaction, live CHARGING events from its readings, the
/// stop from the app) and is billed for what it metered.
#[tokio::test]
async fn the_python_ocpp_201_station_runs_a_whole_session_against_plugway() {
    let Some(python) = python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let crm = api_key(dir.path(), "integration");
    let admin = api_key(dir.path(), "admin");
    let pki = crate::tls::Pki::new();
    std::fs::write(dir.path().join("station-ca.pem"), pki.ca_cert.pem()).unwrap();
    std::fs::write(
        dir.path().join("station-ca.key"),
        pki.ca_key.serialize_pem(),
    )
    .unwrap();
    let mut server = Server::start_with_env(
        dir.path(),
        &["--dev"],
        &[
            ("PLUGWAY_OCPP__CA_CERT", "station-ca.pem"),
            ("PLUGWAY_OCPP__CA_KEY", "station-ca.key"),
            ("PLUGWAY_SESSIONS__EVENT_INTERVAL_SECS", "2"),
        ],
    );
    let http = reqwest::Client::new();
    let post = |path: &str, key: &str, body: Value| {
        let request = http
            .post(format!("{}{path}", server.base))
            .bearer_auth(key)
            .json(&body);
        async move {
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            (
                status,
                response.json::<Value>().await.unwrap_or(Value::Null),
            )
        }
    };
    let get = |path: String| {
        let request = http
            .get(format!("{}{path}", server.base))
            .bearer_auth(&admin);
        async move { request.send().await.unwrap().json::<Value>().await.unwrap() }
    };

    // A host's approved site whose EVSE is the station's EVSE 1, at
    // 500.50 MNT/kWh; the version is the station's choice, not set here.
    let host = crate::cluster::driver_token(&http, &server, "+97688772001").await;
    let profile = http
        .put(format!("{}/api/v1/host/profile", server.base))
        .bearer_auth(&host)
        .json(
            &json!({"owner_name": "Interop Charging", "contact_name": "Ops",
            "contact_number": "+97699112233", "contact_email": "ops@example.com"}),
        )
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    let (status, site) = post(
        "/api/v1/host/sites",
        &host,
        json!({"name": "Interop", "address": "Peace Avenue 1", "city": "Ulaanbaatar",
            "province": "Ulaanbaatar", "country_code": "mn", "latitude": 47.9,
            "longitude": 106.9, "time_zone": "Asia/Ulaanbaatar", "currency": "MNT"}),
    )
    .await;
    assert_eq!(status, 201, "{site}");
    let site = site["id"].as_str().unwrap().to_owned();
    let (status, _) = post(
        &format!("/api/v1/admin/sites/{site}/approval"),
        &admin,
        json!({"approval": "APPROVED"}),
    )
    .await;
    assert_eq!(status, 200);
    let id = "PY-201".to_owned();
    let (status, cp) = post(
        "/api/v1/charge-points",
        &admin,
        json!({"id": id, "owner_id": profile["user_id"]}),
    )
    .await;
    assert_eq!(status, 201, "{cp}");
    let password = cp["password"].as_str().unwrap().to_owned();
    let (status, evse) = post(
        &format!("/api/v1/host/sites/{site}/evses"),
        &host,
        json!({"evse_code": "PY-1", "charge_point_id": id, "ocpp_connector_id": 1,
            "prices": {"per_kwh": 500.5},
            "connectors": [{"standard": "CCS2", "format": "CABLE", "power_type": "DC",
                "max_voltage": 500, "max_amperage": 200, "max_power_kw": 50}]}),
    )
    .await;
    assert_eq!(status, 201, "{evse}");
    let evse = evse["id"].as_str().unwrap().to_owned();
    let (status, _) = post(
        &format!("/api/v1/admin/evses/{evse}/approval"),
        &admin,
        json!({"approval": "APPROVED"}),
    )
    .await;
    assert_eq!(status, 200);
    // An RFID card for it from the CRM (seed 004).
    let (status, customer) = post(
        "/api/v1/webhooks/register_customer",
        &crm,
        json!({"charging_point_id": id, "application": "store", "zoho_customer_id": "446"}),
    )
    .await;
    assert_eq!(status, 200, "{customer}");
    let tag = customer["id_tag"].as_str().unwrap().to_owned();
    let (status, _) = post(
        "/api/v1/webhooks/unblock_customer",
        &crm,
        json!({"zoho_customer_id": "446", "max_active_transaction_count": 2}),
    )
    .await;
    assert_eq!(status, 204);

    let ws_url = format!("{}/ocpp/{id}", server.base.replace("http", "ws"));
    let mut peer = Peer::spawn(
        &python,
        "ocpp201_station.py",
        &[
            format!("--url={ws_url}"),
            format!("--id={id}"),
            format!("--password={password}"),
            format!("--id-token={tag}"),
            "--wait=30".to_owned(),
        ],
    );
    let wait_for = |needle: &str| peer.wait_for(needle);
    wait_for("NEGATIVE-DONE");
    wait_for("CERTIFICATE-DONE");
    wait_for("LOCAL-SEQUENCE-DONE");

    // 1.6's names are refused with 2.0.1's; 2.0.1's go as given.
    let (status, refused) = post(
        &format!("/api/v1/charge-points/{id}/commands/RemoteStartTransaction"),
        &admin,
        json!({"idTag": tag, "connectorId": 1}),
    )
    .await;
    assert_eq!(status, 422, "{refused}");
    assert!(
        refused["message"]
            .as_str()
            .unwrap()
            .contains("RequestStartTransaction"),
        "{refused}"
    );
    let (status, asked) = post(
        &format!("/api/v1/charge-points/{id}/commands/GetBaseReport"),
        &admin,
        json!({"requestId": 5, "reportBase": "FullInventory"}),
    )
    .await;
    assert_eq!(
        (status, asked["response"]["status"].as_str()),
        (200, Some("Accepted")),
        "{asked}"
    );
    wait_for("REPORT-DONE");
    let variable =
        json!({"component": {"name": "SecurityCtrlr"}, "variable": {"name": "SecurityProfile"}});
    let (status, read) = post(
        &format!("/api/v1/charge-points/{id}/commands/GetVariables"),
        &admin,
        json!({"getVariableData": [variable]}),
    )
    .await;
    assert_eq!(status, 200, "{read}");
    assert_eq!(
        read["response"]["getVariableResult"][0]["attributeValue"],
        "1"
    );
    let (status, written) = post(
        &format!("/api/v1/charge-points/{id}/commands/SetVariables"),
        &admin,
        json!({"setVariableData": [{"component": {"name": "OCPPCommCtrlr"},
            "variable": {"name": "HeartbeatInterval"}, "attributeValue": "120"}]}),
    )
    .await;
    assert_eq!(status, 200, "{written}");
    assert_eq!(
        written["response"]["setVariableResult"][0]["attributeStatus"],
        "Accepted"
    );

    // A driver charges on it from the app, watching the live events.
    let driver = crate::cluster::driver_token(&http, &server, "+97688772002").await;
    let mut events = crate::cluster::driver_events(&server, &driver, None);
    let (status, started) =
        post(&format!("/api/v1/devices/{evse}/start"), &driver, json!({})).await;
    assert_eq!(status, 200, "{started}");
    assert_eq!(started["state"], "charging");
    let station_tx = wait_for("REMOTE-START-DONE")
        .split_whitespace()
        .last()
        .unwrap()
        .to_owned();
    let (_, first) = crate::cluster::next_charging(&mut events)
        .await
        .expect("a CHARGING event");
    let mut later = first.clone();
    for _ in 0..10 {
        later = crate::cluster::next_charging(&mut events)
            .await
            .expect("CHARGING events")
            .1;
        if later["energy"].as_f64() > first["energy"].as_f64() {
            break;
        }
    }
    assert!(
        later["energy"].as_f64() > first["energy"].as_f64(),
        "the station's readings move the app's figures: {first} then {later}"
    );
    let (status, finished) = post(
        &format!("/api/v1/devices/{evse}/finish"),
        &driver,
        json!({}),
    )
    .await;
    assert_eq!(status, 200, "{finished}");
    wait_for("REMOTE-STOP-DONE");
    let exit = peer.child.wait().unwrap();
    assert!(
        exit.success(),
        "the Python station failed (its schema checks or a step): {exit:?}"
    );

    // What Plugway stored and billed.
    let transactions = get(format!("/api/v1/charge-points/{id}/transactions")).await;
    let done: Vec<(&str, &str)> = transactions
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["stop_reason"].as_str().unwrap_or("-"),
                t["station_transaction_id"].as_str().unwrap_or("-"),
            )
        })
        .collect();
    assert_eq!(done.len(), 2, "{transactions}");
    assert_eq!(done[0], ("Remote", station_tx.as_str()));
    assert_eq!(done[1].0, "Local");
    assert_eq!(transactions[1]["energy_wh"], 1250);
    let metered = transactions[0]["energy_wh"].as_i64().unwrap();
    // The station adds 500 Wh per update and 250 at the end; it sent at
    // least the one update after its start.
    assert!(metered >= 750 && (metered - 250) % 500 == 0, "{metered}");
    let purchase = http
        .get(format!(
            "{}/api/v1/purchases/{}",
            server.base,
            finished["id"].as_str().unwrap()
        ))
        .bearer_auth(&driver)
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    assert_eq!(
        purchase["energy"].as_f64(),
        Some(metered as f64 / 1000.0),
        "{purchase}"
    );
    let priced = metered as f64 * 500.5 / 1000.0;
    assert!(
        (purchase["amount"].as_f64().unwrap() - priced).abs() <= 1.0,
        "{purchase}"
    );
    let detail = get(format!("/api/v1/charge-points/{id}")).await;
    assert_eq!(
        (
            detail["vendor"].as_str(),
            detail["model"].as_str(),
            detail["ocpp_version"].as_str()
        ),
        (Some("InteropVendor"), Some("PyOCPP201"), Some("2.0.1"))
    );
    assert_eq!(detail["firmware_status"], "Installed");
    let model = get(format!(
        "/api/v1/charge-points/{id}/device-model?component=SecurityCtrlr"
    ))
    .await;
    assert_eq!(model[0]["variable"], "SecurityProfile", "{model}");
    assert_eq!(model[0]["value"], "1");
    let events = get(format!("/api/v1/charge-points/{id}/station-events")).await;
    let kinds: Vec<&str> = events
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    for kind in [
        "SecurityEventNotification",
        "SignCertificate",
        "CertificateSigned",
    ] {
        assert!(kinds.contains(&kind), "{kind} in {kinds:?}");
    }
    let delivered = events
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "CertificateSigned")
        .unwrap();
    assert_eq!(delivered["summary"], "certificate sent: Accepted");
    assert!(server.terminate().success());
}
