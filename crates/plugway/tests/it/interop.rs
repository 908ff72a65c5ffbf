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

fn api_key(dir: &std::path::Path, role: &str) -> String {
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

    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/interop/ocpp16_charge_point.py"
    );
    let ws_url = format!("{}/ocpp/{id}", server.base.replace("http", "ws"));
    let mut child = Command::new(python)
        // `--flag=value`: a random password may begin with `-`, which
        // argparse would otherwise take for a flag of its own.
        .args([
            script.to_owned(),
            format!("--url={ws_url}"),
            format!("--id={id}"),
            format!("--password={password}"),
            format!("--id-tag={tag}"),
            "--wait=30".to_owned(),
        ])
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
    let wait_for = |needle: &str| loop {
        match lines.recv_timeout(Duration::from_secs(60)) {
            Ok(line) if line.contains(needle) => return,
            Ok(_) => {}
            Err(e) => panic!("the Python charge point never printed {needle}: {e}"),
        }
    };
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
    let exit = child.wait().unwrap();
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

#[tokio::test]
async fn the_python_ocpp_201_station_runs_a_whole_session_against_plugway() {
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
    let get = |path: String| {
        let request = http
            .get(format!("{}{path}", server.base))
            .bearer_auth(&admin);
        async move { request.send().await.unwrap().json::<Value>().await.unwrap() }
    };

    // The same CRM set-up as a 1.6 charger: the version is the station's choice.
    let (status, cp) = post("/api/v1/webhooks/generate_charge_point", &crm, json!({})).await;
    assert_eq!(status, 200);
    let (id, password) = (
        cp["charging_point_id"].as_str().unwrap().to_owned(),
        cp["password"].as_str().unwrap().to_owned(),
    );
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

    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/interop/ocpp201_station.py"
    );
    let ws_url = format!("{}/ocpp/{id}", server.base.replace("http", "ws"));
    let mut child = Command::new(python)
        .args([
            script.to_owned(),
            format!("--url={ws_url}"),
            format!("--id={id}"),
            format!("--password={password}"),
            format!("--id-token={tag}"),
            "--wait=30".to_owned(),
        ])
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
    let wait_for = |needle: &str| loop {
        match lines.recv_timeout(Duration::from_secs(60)) {
            Ok(line) if line.contains(needle) => return line,
            Ok(_) => {}
            Err(e) => panic!("the Python station never printed {needle}: {e}"),
        }
    };
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
    let (status, started) = post(
        &format!("/api/v1/charge-points/{id}/commands/RequestStartTransaction"),
        &admin,
        json!({"idToken": {"idToken": tag, "type": "ISO14443"}, "remoteStartId": 12, "evseId": 1}),
    )
    .await;
    assert_eq!(
        (status, started["response"]["status"].as_str()),
        (200, Some("Accepted")),
        "{started}"
    );
    let line = wait_for("REMOTE-START-DONE");
    let station_tx = line.split_whitespace().last().unwrap().to_owned();
    let transactions = get(format!("/api/v1/charge-points/{id}/transactions")).await;
    let active = transactions
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["stopped_at"].is_null())
        .expect("a remote-started transaction")
        .clone();
    assert_eq!(active["station_transaction_id"], station_tx.as_str());
    let (status, stopped) = post(
        &format!("/api/v1/charge-points/{id}/commands/RequestStopTransaction"),
        &admin,
        json!({"transactionId": station_tx}),
    )
    .await;
    assert_eq!(
        (status, stopped["response"]["status"].as_str()),
        (200, Some("Accepted")),
        "{stopped}"
    );
    wait_for("REMOTE-STOP-DONE");
    let exit = child.wait().unwrap();
    assert!(
        exit.success(),
        "the Python station failed (its schema checks or a step): {exit:?}"
    );

    // What Plugway stored of it.
    let transactions = get(format!("/api/v1/charge-points/{id}/transactions")).await;
    let done: Vec<(&str, i64)> = transactions
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["stop_reason"].as_str().unwrap_or("-"),
                t["energy_wh"].as_i64().unwrap_or(-1),
            )
        })
        .collect();
    assert_eq!(done, vec![("Remote", 750), ("Local", 1250)]);
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
    let events = get(format!(
        "/api/v1/charge-points/{id}/station-events?kind=SecurityEventNotification"
    ))
    .await;
    assert_eq!(events[0]["summary"], "StartupOfTheDevice", "{events}");
    assert_eq!(events[0]["body"]["techInfo"], "interop");
    assert!(server.terminate().success());
}
