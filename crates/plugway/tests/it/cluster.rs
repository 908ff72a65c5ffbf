//! Two real `plugway serve` nodes on one PostgreSQL database and one NATS
//! (docs/cluster.md): a charger connected to node A is reached through
//! node B (a raw command, and a driver-facing remote start), node B shows
//! it online, and once it is gone both answer offline at once; per-address
//! limits are the cluster's, not each node's; a driver's session
//! started through one node is finished through the other, and outlives
//! the loss of the node its charger and stream were on.

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

pub(crate) async fn call(
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
    // Development mode (OTP 0000) for the code requests at the end.
    let Some(nodes) = TwoNodes::start("cluster", &["--dev", "--dev-allow-postgres"]).await else {
        return;
    };
    let (a, b, key, url, nats) = (
        &nodes.a,
        &nodes.b,
        nodes.admin.clone(),
        nodes.url.clone(),
        nodes.nats.clone(),
    );
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
            "--nats-url",
            &nats,
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
    let heartbeat = json!({"key": ["HeartbeatInterval"]});
    let answer = answered(&http, command(b), &key, &heartbeat, 200).await;
    let (status, through_a) = call(
        &http,
        reqwest::Method::POST,
        command(a),
        &key,
        Some(json!({"key": ["HeartbeatInterval"]})),
    )
    .await;
    assert_eq!(status, 200, "{through_a}");
    assert_eq!(answer, through_a, "the same answer through either node");
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
        command(b),
        &key,
        Some(bad.clone()),
    )
    .await;
    assert_eq!(status, 422, "{refused}");
    assert_eq!(refused["code"], "invalid_command");
    let (status, on_a) = call(&http, reqwest::Method::POST, command(a), &key, Some(bad)).await;
    assert_eq!((status, &on_a), (422, &refused));

    // The charger reconnects through node B while its connection to A is
    // still open (as after a network blip): A closes its stale one, and a
    // command through A now goes to B.
    let mut config = plugway_sim::SimConfig::new(
        &format!("{}/ocpp", b.base.replace("http", "ws")),
        "CLUSTER-CP1",
        cp["password"].as_str().map(str::to_owned),
    );
    config.connectors = 1;
    let moved = plugway_sim::ChargePoint::start(config).await.unwrap();
    let moved = tokio::spawn(moved.run(None));
    let old = tokio::time::timeout(Duration::from_secs(10), running)
        .await
        .expect("node A closes the stale connection")
        .unwrap();
    assert!(old.is_ok());
    answered(&http, command(a), &key, &heartbeat, 200).await;

    // The charger goes away: offline through either node, at once.
    moved.abort();
    let offline = answered(&http, command(b), &key, &json!({}), 409).await;
    assert_eq!(offline["code"], "charge_point_offline", "{offline}");
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

    // Codes sent to one address through both nodes in turn are cut at one
    // node's count (10 a minute): the limit is the cluster's.
    let mut statuses = Vec::new();
    for n in 0..12 {
        let node = if n % 2 == 0 { &a } else { &b };
        let sent = http
            .post(format!("{}/api/v1/user/otp-request", node.base))
            .json(&json!({"phone": format!("+9768866{n:04}")}))
            .send()
            .await
            .unwrap();
        statuses.push(sent.status().as_u16());
    }
    assert_eq!(
        statuses,
        [200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 429, 429],
        "ten through the pair, not ten each"
    );
    nodes.finish().await;
}

/// Two nodes on one fresh schema and NATS, with an admin and an
/// integration key.
struct TwoNodes {
    db: plugway_store_postgres::testing::TestDatabase,
    url: String,
    nats: String,
    stream: String,
    a: Server,
    b: Server,
    admin: String,
    crm: String,
    _dirs: (tempfile::TempDir, tempfile::TempDir),
}

impl TwoNodes {
    async fn start(name: &str, extra: &[&str]) -> Option<Self> {
        let nats = plugway_events::testing::nats_url(name)?;
        let (db, url) = shared_database().await?;
        let prefix = plugway_events::testing::unique("");
        let stream = plugway_events::testing::unique("_EVENTS");
        let secret = plugway_events::testing::unique("cluster-secret-of-at-least-32-bytes-");
        let env = [
            ("PLUGWAY_JWT_SECRET", secret.as_str()),
            ("PLUGWAY_NATS__PREFIX", prefix.as_str()),
            ("PLUGWAY_NATS__STREAM", stream.as_str()),
            ("PLUGWAY_NATS__RETENTION_SECS", "60"),
        ];
        let mut args = vec!["--database-url", url.as_str(), "--nats-url", nats.as_str()];
        args.extend_from_slice(extra);
        let a_dir = tempfile::tempdir().unwrap();
        let b_dir = tempfile::tempdir().unwrap();
        let a = Server::start_with_env(a_dir.path(), &args, &env);
        let b = Server::start_with_env(b_dir.path(), &args, &env);
        let key = |role: &str| {
            let out = plugway(
                &[
                    "api-key",
                    "create",
                    "--role",
                    role,
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
        Some(Self {
            admin: key("admin"),
            crm: key("integration"),
            db,
            url,
            nats,
            stream,
            a,
            b,
            _dirs: (a_dir, b_dir),
        })
    }

    async fn finish(self) {
        drop(self.a);
        drop(self.b);
        self.db.finish().await;
        plugway_events::testing::delete_stream(&self.nats, &self.stream).await;
    }
}

/// Polls `check` every 100 ms for up to 15 s.
pub(crate) async fn eventually<F, Fut, T>(what: &str, check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    within(Duration::from_secs(15), what, check).await
}

/// POSTs `body` to `url` every 100 ms, for up to 10 s, until it answers
/// `status`; that answer's body.
async fn answered(
    http: &reqwest::Client,
    url: String,
    key: &str,
    body: &Value,
    status: u16,
) -> Value {
    let what = format!("{url} answering {status}");
    within(Duration::from_secs(10), &what, || {
        let (url, body) = (url.clone(), body.clone());
        async move {
            let (got, answer) = call(http, reqwest::Method::POST, url, key, Some(body)).await;
            (got == status).then_some(answer)
        }
    })
    .await
}

/// Polls `check` every 100 ms for up to `limit`.
async fn within<F, Fut, T>(limit: Duration, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + limit;
    loop {
        if let Some(found) = check().await {
            return found;
        }
        assert!(Instant::now() < deadline, "never: {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_node_killed_mid_transaction_loses_nothing() {
    use plugway_store::ChargingStore as _;
    let Some(mut nodes) = TwoNodes::start("cluster_kill", &[]).await else {
        return;
    };
    let http = reqwest::Client::new();
    // The CRM's charge point and customer (seed 004), through node B.
    let (status, cp) = call(
        &http,
        reqwest::Method::POST,
        format!("{}/api/v1/webhooks/generate_charge_point", nodes.b.base),
        &nodes.crm,
        Some(json!({})),
    )
    .await;
    assert_eq!(status, 200, "{cp}");
    let id = cp["charging_point_id"].as_str().unwrap().to_owned();
    let (status, customer) = call(
        &http,
        reqwest::Method::POST,
        format!("{}/api/v1/webhooks/register_customer", nodes.b.base),
        &nodes.crm,
        Some(json!({"charging_point_id": id, "application": "store", "zoho_customer_id": "981"})),
    )
    .await;
    assert_eq!(status, 200, "{customer}");
    let tag = customer["id_tag"].as_str().unwrap().to_owned();
    let (status, _) = call(
        &http,
        reqwest::Method::POST,
        format!("{}/api/v1/webhooks/unblock_customer", nodes.b.base),
        &nodes.crm,
        Some(json!({"zoho_customer_id": "981", "max_active_transaction_count": 1})),
    )
    .await;
    assert_eq!(status, 204);

    // The charger on node A; a transaction started through node B.
    let mut config = plugway_sim::SimConfig::new(
        &format!("{}/ocpp", nodes.a.base.replace("http", "ws")),
        &id,
        cp["password"].as_str().map(str::to_owned),
    );
    config.connectors = 1;
    config.meter_interval = Duration::from_millis(200);
    config.power_w = 36_000;
    let charger = plugway_sim::ChargePoint::start(config).await.unwrap();
    let running = tokio::spawn(charger.run(None));
    let cp_id = plugway_domain::ChargePointId::parse(&id).unwrap();
    let store = nodes.db.store.clone();
    eventually("the charger online at B", || {
        let http = http.clone();
        let url = format!("{}/api/v1/charge-points/{id}", nodes.b.base);
        let key = nodes.admin.clone();
        async move {
            let (_, seen) = call(&http, reqwest::Method::GET, url, &key, None).await;
            seen["online"].as_bool().filter(|online| *online)
        }
    })
    .await;
    let (status, started) = call(
        &http,
        reqwest::Method::POST,
        format!(
            "{}/api/v1/charge-points/{id}/commands/RemoteStartTransaction",
            nodes.b.base
        ),
        &nodes.admin,
        Some(json!({"connectorId": 1, "idTag": tag})),
    )
    .await;
    assert_eq!(
        (status, started["response"]["status"].as_str()),
        (200, Some("Accepted")),
        "{started}"
    );
    let tx = eventually("the transaction's first readings", || {
        let store = store.clone();
        let cp_id = cp_id.clone();
        async move {
            let tx = store.list_transactions(&cp_id, 0, 1).await.ok()?.pop()?;
            let samples = store.list_meter_samples(tx.id).await.ok()?;
            (samples.len() >= 12).then_some(tx)
        }
    })
    .await;

    // Node A dies without a word; the charger reconnects through the
    // address, which now reaches node B.
    nodes.a.kill9();
    let mut charger = running.await.unwrap().unwrap();
    assert!(charger.disconnected, "the connection broke");
    let before = store.list_meter_samples(tx.id).await.unwrap();
    // Every MeterValues node A answered is stored (one energy reading each).
    let stored = before
        .iter()
        .filter(|s| s.measurand.as_deref() == Some("Energy.Active.Import.Register"))
        .count();
    assert!(charger.meter_values_acknowledged >= 5);
    assert!(
        u64::try_from(stored).unwrap() >= charger.meter_values_acknowledged,
        "{stored} stored, {} acknowledged",
        charger.meter_values_acknowledged
    );
    charger
        .reconnect(&format!("{}/ocpp", nodes.b.base.replace("http", "ws")))
        .await
        .unwrap();
    let running = tokio::spawn(charger.run(None));
    eventually("readings through node B", || {
        let store = store.clone();
        let seen = before.len();
        async move { (store.list_meter_samples(tx.id).await.ok()?.len() >= seen + 12).then_some(()) }
    })
    .await;
    let (status, stopped) = call(
        &http,
        reqwest::Method::POST,
        format!(
            "{}/api/v1/charge-points/{id}/commands/RemoteStopTransaction",
            nodes.b.base
        ),
        &nodes.admin,
        Some(json!({"transactionId": tx.id})),
    )
    .await;
    assert_eq!(
        (status, stopped["response"]["status"].as_str()),
        (200, Some("Accepted")),
        "{stopped}"
    );
    let done = eventually("the transaction stopped", || {
        let store = store.clone();
        let cp_id = cp_id.clone();
        async move {
            let tx = store.list_transactions(&cp_id, 0, 1).await.ok()?.pop()?;
            tx.meter_stop.is_some().then_some(tx)
        }
    })
    .await;
    running.abort();

    // One transaction, started on A and stopped on B; every reading A
    // acknowledged is still there, and the readings run on without a step
    // back; the stop reading is the last one's.
    assert_eq!(done.id, tx.id);
    let after = store.list_meter_samples(tx.id).await.unwrap();
    let energy: Vec<i64> = after
        .iter()
        .filter(|s| s.measurand.as_deref() == Some("Energy.Active.Import.Register"))
        .map(|s| s.value.parse().unwrap())
        .collect();
    for sample in &before {
        assert!(
            after.contains(sample),
            "a reading A acknowledged is gone: {sample:?}"
        );
    }
    assert!(energy.windows(2).all(|w| w[0] <= w[1]), "{energy:?}");
    let last = *energy.last().unwrap();
    assert!(
        done.meter_stop.unwrap() >= last,
        "{:?} < {last}",
        done.meter_stop
    );
    assert!(last > done.meter_start, "energy was metered");
    nodes.finish().await;
}

/// Signs in with the development code through `node`: the access token.
pub(crate) async fn driver_token(http: &reqwest::Client, node: &Server, phone: &str) -> String {
    for (path, body) in [
        ("otp-request", json!({"phone": phone})),
        ("otp-check", json!({"phone": phone, "code": "0000"})),
    ] {
        let response = http
            .post(format!("{}/api/v1/user/{path}", node.base))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{path}");
        if path == "otp-check" {
            let reply: Value = response.json().await.unwrap();
            return reply["token"].as_str().unwrap().to_owned();
        }
    }
    unreachable!()
}

/// A driver's event stream on `node` (from after `last_id` when given):
/// each (event, id, data) as it arrives; the channel closes with the stream.
pub(crate) fn driver_events(
    node: &Server,
    token: &str,
    last_id: Option<&str>,
) -> tokio::sync::mpsc::UnboundedReceiver<(String, String, Value)> {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let mut request = reqwest::Client::new()
        .get(format!("{}/api/v1/user/events", node.base))
        .bearer_auth(token)
        .header("accept", "text/event-stream");
    if let Some(id) = last_id {
        request = request.header("last-event-id", id);
    }
    tokio::spawn(async move {
        let mut response = request.send().await.unwrap();
        assert_eq!(response.status(), 200);
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
                let data = serde_json::from_str(&data).unwrap_or(Value::Null);
                if !event.is_empty() && tx.send((event, id, data)).is_err() {
                    return;
                }
            }
        }
    });
    rx
}

/// The next CHARGING event on a driver's stream (within 20 s): its id and data.
pub(crate) async fn next_charging(
    events: &mut tokio::sync::mpsc::UnboundedReceiver<(String, String, Value)>,
) -> Option<(String, Value)> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let (event, id, data) = tokio::time::timeout_at(deadline, events.recv())
            .await
            .expect("no CHARGING event within 20 s")?;
        if event == "CHARGING" {
            return Some((id, data));
        }
    }
}

#[tokio::test]
async fn a_drivers_session_crosses_nodes_and_outlives_one() {
    use plugway_store::ChargingStore as _;
    let Some(mut nodes) =
        TwoNodes::start("cluster_driver", &["--dev", "--dev-allow-postgres"]).await
    else {
        return;
    };
    let http = reqwest::Client::new();
    let admin = nodes.admin.clone();
    let post = |url: String, token: String, body: Value| {
        let http = http.clone();
        async move { call(&http, reqwest::Method::POST, url, &token, Some(body)).await }
    };
    // A host's approved site with one 50 kW EVSE at 500.50 MNT/kWh, made
    // through node B; its charger connects to node A.
    let (a, b) = (nodes.a.base.clone(), nodes.b.base.clone());
    let host = driver_token(&http, &nodes.b, "+97688771001").await;
    let profile = http
        .put(format!("{b}/api/v1/host/profile"))
        .bearer_auth(&host)
        .json(
            &json!({"owner_name": "Cluster Charging", "contact_name": "Ops",
            "contact_number": "+97699112233", "contact_email": "ops@example.com"}),
        )
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    let (status, site) = post(
        format!("{b}/api/v1/host/sites"),
        host.clone(),
        json!({"name": "Cluster", "address": "Peace Avenue 1", "city": "Ulaanbaatar",
            "province": "Ulaanbaatar", "country_code": "mn", "latitude": 47.9,
            "longitude": 106.9, "time_zone": "Asia/Ulaanbaatar", "currency": "MNT"}),
    )
    .await;
    assert_eq!(status, 201, "{site}");
    let site = site["id"].as_str().unwrap().to_owned();
    let (status, _) = post(
        format!("{b}/api/v1/admin/sites/{site}/approval"),
        admin.clone(),
        json!({"approval": "APPROVED"}),
    )
    .await;
    assert_eq!(status, 200);
    let (status, cp) = post(
        format!("{b}/api/v1/charge-points"),
        admin.clone(),
        json!({"id": "CLUSTER-DRV1", "owner_id": profile["user_id"]}),
    )
    .await;
    assert_eq!(status, 201, "{cp}");
    let (status, evse) = post(
        format!("{b}/api/v1/host/sites/{site}/evses"),
        host.clone(),
        json!({"evse_code": "E-1", "charge_point_id": "CLUSTER-DRV1", "ocpp_connector_id": 1,
            "prices": {"per_kwh": 500.5},
            "connectors": [{"standard": "CCS2", "format": "CABLE", "power_type": "DC",
                "max_voltage": 500, "max_amperage": 200, "max_power_kw": 50}]}),
    )
    .await;
    assert_eq!(status, 201, "{evse}");
    let evse = evse["id"].as_str().unwrap().to_owned();
    let (status, _) = post(
        format!("{b}/api/v1/admin/evses/{evse}/approval"),
        admin.clone(),
        json!({"approval": "APPROVED"}),
    )
    .await;
    assert_eq!(status, 200);
    let mut config = plugway_sim::SimConfig::new(
        &format!("{}/ocpp", a.replace("http", "ws")),
        "CLUSTER-DRV1",
        cp["password"].as_str().map(str::to_owned),
    );
    config.connectors = 1;
    config.meter_interval = Duration::from_millis(200);
    config.power_w = 36_000;
    let charger = plugway_sim::ChargePoint::start(config).await.unwrap();
    let running = tokio::spawn(charger.run(None));
    let driver = driver_token(&http, &nodes.a, "+97688771002").await;

    // 1. Started through B (relayed to the charger on A), finished
    //    through A: one session, one purchase.
    let started = answered(
        &http,
        format!("{b}/api/v1/devices/{evse}/start"),
        &driver,
        &json!({}),
        200,
    )
    .await;
    assert_eq!(started["state"], "charging", "{started}");
    eventually("energy metered through A", || {
        let (http, url, driver) = (
            http.clone(),
            format!("{a}/api/v1/sessions/active"),
            driver.clone(),
        );
        async move {
            let (_, active) = call(&http, reqwest::Method::GET, url, &driver, None).await;
            (active[0]["energy"].as_f64()? > 0.0).then_some(())
        }
    })
    .await;
    let (status, first) = post(
        format!("{a}/api/v1/devices/{evse}/finish"),
        driver.clone(),
        json!({}),
    )
    .await;
    assert_eq!(status, 200, "{first}");

    // 2. Started through A with the driver's stream on A; A dies.
    let mut events = driver_events(&nodes.a, &driver, None);
    let started = answered(
        &http,
        format!("{a}/api/v1/devices/{evse}/start"),
        &driver,
        &json!({}),
        200,
    )
    .await;
    let session = started["id"].as_str().unwrap().to_owned();
    let (_, on_a) = next_charging(&mut events).await.expect("CHARGING on A");
    let (mut last_id, mut last) = next_charging(&mut events).await.expect("CHARGING on A");
    assert!(last["energy"].as_f64() >= on_a["energy"].as_f64());
    nodes.a.kill9();
    while let Some((event, id, data)) = events.recv().await {
        if event == "CHARGING" {
            (last_id, last) = (id, data);
        }
    }
    let mut charger = running.await.unwrap().unwrap();
    assert!(charger.disconnected);
    // The charger comes back through B; so does the driver's stream,
    // resuming after the last event it saw, and the session goes on.
    charger
        .reconnect(&format!("{}/ocpp", b.replace("http", "ws")))
        .await
        .unwrap();
    let running = tokio::spawn(charger.run(None));
    let mut events = driver_events(&nodes.b, &driver, Some(&last_id));
    let mut on_b = next_charging(&mut events).await.expect("CHARGING on B").1;
    while on_b["energy"].as_f64() <= last["energy"].as_f64() {
        on_b = next_charging(&mut events).await.expect("CHARGING on B").1;
    }
    assert_eq!(on_b["sessionId"], session.as_str(), "{on_b}");
    let (status, second) = post(
        format!("{b}/api/v1/devices/{evse}/finish"),
        driver.clone(),
        json!({}),
    )
    .await;
    assert_eq!(status, 200, "{second}");
    running.abort();

    // Two purchases, each priced on its transaction's whole energy: the
    // second's counts what A metered before it died and B after.
    let cp_id = plugway_domain::ChargePointId::parse("CLUSTER-DRV1").unwrap();
    let transactions = nodes
        .db
        .store
        .list_transactions(&cp_id, 0, 10)
        .await
        .unwrap();
    assert_eq!(transactions.len(), 2, "{transactions:?}");
    for (purchase, tx) in [(&second, &transactions[0]), (&first, &transactions[1])] {
        let (status, bought) = call(
            &http,
            reqwest::Method::GET,
            format!("{b}/api/v1/purchases/{}", purchase["id"].as_str().unwrap()),
            &driver,
            None,
        )
        .await;
        assert_eq!(status, 200, "{bought}");
        let wh = tx.meter_stop.unwrap() - tx.meter_start;
        assert!(wh > 0, "{tx:?}");
        assert_eq!(
            bought["energy"].as_f64(),
            Some(wh as f64 / 1000.0),
            "{bought}"
        );
        let priced = wh as f64 * 500.5 / 1000.0;
        let amount = bought["amount"].as_f64().unwrap();
        assert!(
            (amount - priced).abs() <= 1.0,
            "{amount} for {wh} Wh: {bought}"
        );
    }
    let whole = transactions[0].meter_stop.unwrap() - transactions[0].meter_start;
    assert!(
        whole as f64 / 1000.0 >= on_b["energy"].as_f64().unwrap(),
        "the purchase holds at least what the stream showed"
    );
    nodes.finish().await;
}
