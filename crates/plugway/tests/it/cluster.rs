//! Two real `plugway serve` nodes on one PostgreSQL database and one NATS
//! (docs/cluster.md): a charger connected to node A is reached through
//! node B (a raw command, and a driver-facing remote start), node B shows
//! it online, and once it is gone both answer offline at once.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::{plugway, Server};

/// A fresh schema on the test PostgreSQL server, as a URL both nodes open.
async fn shared_database() -> Option<(plugway_store_postgres::testing::TestDatabase, String)> {
    let db = plugway_store_postgres::testing::TestDatabase::create("cluster").await?;
    let join = if db.url.contains('?') { '&' } else { '?' };
    let url = format!("{}{join}options=-c%20search_path%3D{}", db.url, db.schema);
    Some((db, url))
}

async fn call(
    http: &reqwest::Client,
    method: reqwest::Method,
    url: String,
    key: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut request = http.request(method, url).bearer_auth(key);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn a_command_through_the_other_node_reaches_the_charger() {
    let Some(nats) = plugway_events::testing::nats_url("cluster") else {
        return;
    };
    let Some((db, url)) = shared_database().await else {
        return;
    };
    let prefix = plugway_events::testing::unique("");
    let stream = plugway_events::testing::unique("_EVENTS");
    let secret = plugway_events::testing::unique("cluster-secret-of-at-least-32-bytes-");
    let env = [
        ("PLUGWAY_JWT_SECRET", secret.as_str()),
        ("PLUGWAY_NATS__PREFIX", prefix.as_str()),
        ("PLUGWAY_NATS__STREAM", stream.as_str()),
        ("PLUGWAY_NATS__RETENTION_SECS", "60"),
    ];
    let args = ["--database-url", url.as_str(), "--nats-url", nats.as_str()];
    let a_dir = tempfile::tempdir().unwrap();
    let b_dir = tempfile::tempdir().unwrap();
    let a = Server::start_with_env(a_dir.path(), &args, &env);
    let b = Server::start_with_env(b_dir.path(), &args, &env);
    let key = {
        let out = plugway(
            &[
                "api-key",
                "create",
                "--role",
                "admin",
                "--database-url",
                &url,
                "--data-dir",
                "data",
            ],
            a_dir.path(),
        )
        .output()
        .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .last()
            .unwrap()
            .trim()
            .to_owned()
    };
    let http = reqwest::Client::new();
    // A node with another secret would issue tokens the others refuse: it
    // does not start.
    let c_dir = tempfile::tempdir().unwrap();
    let other = plugway(
        &[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--data-dir",
            "data",
            "--database-url",
            &url,
        ],
        c_dir.path(),
    )
    .output()
    .unwrap();
    assert!(!other.status.success());
    assert!(
        String::from_utf8_lossy(&other.stderr).contains("server secret differs"),
        "{}",
        String::from_utf8_lossy(&other.stderr)
    );

    // Registered on either node (one database); connected to A.
    let (status, cp) = call(
        &http,
        reqwest::Method::POST,
        format!("{}/api/v1/charge-points", b.base),
        &key,
        Some(json!({"id": "CLUSTER-CP1"})),
    )
    .await;
    assert_eq!(status, 201, "{cp}");
    let mut config = plugway_sim::SimConfig::new(
        &format!("{}/ocpp", a.base.replace("http", "ws")),
        "CLUSTER-CP1",
        cp["password"].as_str().map(str::to_owned),
    );
    config.connectors = 1;
    let charger = plugway_sim::ChargePoint::start(config).await.unwrap();
    let running = tokio::spawn(charger.run(None));

    // B sees it online (A told the cluster) and reaches it: the charger's
    // own answer comes back through B.
    let command = |node: &Server| {
        format!(
            "{}/api/v1/charge-points/CLUSTER-CP1/commands/GetConfiguration",
            node.base
        )
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    let answer = loop {
        let (status, body) = call(
            &http,
            reqwest::Method::POST,
            command(&b),
            &key,
            Some(json!({"key": ["HeartbeatInterval"]})),
        )
        .await;
        if status == 200 || Instant::now() > deadline {
            break (status, body);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(answer.0, 200, "through node B: {}", answer.1);
    let (status, through_a) = call(
        &http,
        reqwest::Method::POST,
        command(&a),
        &key,
        Some(json!({"key": ["HeartbeatInterval"]})),
    )
    .await;
    assert_eq!(status, 200, "{through_a}");
    assert_eq!(answer.1, through_a, "the same answer through either node");
    let (status, seen) = call(
        &http,
        reqwest::Method::GET,
        format!("{}/api/v1/charge-points/CLUSTER-CP1", b.base),
        &key,
        None,
    )
    .await;
    assert_eq!(
        (status, seen["online"].as_bool()),
        (200, Some(true)),
        "{seen}"
    );
    // A schema-breaking command is refused the same way through B.
    let bad = json!({"key": "not a list"});
    let (status, refused) = call(
        &http,
        reqwest::Method::POST,
        command(&b),
        &key,
        Some(bad.clone()),
    )
    .await;
    assert_eq!(status, 422, "{refused}");
    assert_eq!(refused["code"], "invalid_command");
    let (status, on_a) = call(&http, reqwest::Method::POST, command(&a), &key, Some(bad)).await;
    assert_eq!((status, &on_a), (422, &refused));

    // The charger goes away: offline through either node, at once.
    running.abort();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (status, body) = call(
            &http,
            reqwest::Method::POST,
            command(&b),
            &key,
            Some(json!({})),
        )
        .await;
        if status == 409 {
            assert_eq!(body["code"], "charge_point_offline", "{body}");
            break;
        }
        assert!(Instant::now() < deadline, "still {status}: {body}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (status, seen) = call(
        &http,
        reqwest::Method::GET,
        format!("{}/api/v1/charge-points/CLUSTER-CP1", b.base),
        &key,
        None,
    )
    .await;
    assert_eq!(
        (status, seen["online"].as_bool()),
        (200, Some(false)),
        "{seen}"
    );
    drop(a);
    drop(b);
    db.finish().await;
    plugway_events::testing::delete_stream(&nats, &stream).await;
}
