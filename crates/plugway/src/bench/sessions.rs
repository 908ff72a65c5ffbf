//! `plugway bench sessions`: charging from the app at scale, on one node or
//! (`--nodes`) a cluster where every driver goes through another node than
//! its charger's.
//!
//! It starts `plugway serve --dev`, makes one host with `--sessions`
//! simulated chargers (each an EVSE on an approved site), signs in as many
//! drivers, and lets the drivers arrive `--start-rate` per second: each
//! opens its event stream (SSE) and starts a session. It measures:
//! - start: `POST /devices/{id}/start` until it answers, which is when the
//!   charger's StartTransaction was recorded (RemoteStartTransaction out,
//!   the charger's StatusNotification and StartTransaction in);
//! - start → first CHARGING: until the first CHARGING event arrives on the
//!   driver's stream (the engine sends one as soon as the charger starts);
//! - streaming: once all have started, for `--duration` seconds, how many
//!   sessions got their CHARGING events at the 2 s cadence, and the events
//!   per second the node delivered;
//! - the bytes the node wrote to storage over those two phases, a second
//!   (`/proc/PID/io`; with SQLite that is its database and WAL);
//! - then every driver finishes and the purchases are counted.
//!
//! Chargers, drivers and server share the machine: the figures are for the
//! whole loop on one box.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::Args;
use serde_json::{json, Value};
use tokio::sync::Semaphore;

use super::{ms, phone, post, progress};

/// `bench sessions` flags.
#[derive(Debug, Args)]
pub struct SessionsArgs {
    /// Concurrent sessions (one simulated charger and one driver each).
    #[arg(long, default_value_t = 200)]
    pub sessions: u32,
    /// Seconds to keep them charging while counting events.
    #[arg(long, default_value_t = 20)]
    pub duration: u64,
    /// Starts per second while the sessions ramp up (a steady arrival of
    /// drivers rather than one instant burst).
    #[arg(long, default_value_t = 50)]
    pub start_rate: u32,
    /// Database for the server [default: SQLite in a temporary directory].
    /// Use an empty PostgreSQL database.
    #[arg(long, value_name = "URL")]
    pub database_url: Option<String>,
    /// With `--nodes` 2 or more, charger n connects to node n mod N and its
    /// driver starts, streams and finishes through the next node, so every
    /// command and event crosses NATS.
    #[command(flatten)]
    pub cluster: super::ClusterFlags,
}

/// CHARGING cadence the server runs with (the fastest seed 001 allows).
const INTERVAL_SECS: u64 = 2;
/// EVSEs per generated site.
const PER_SITE: u32 = 50;

/// A JSON field, Null when absent.
pub(super) fn field<'a>(value: &'a Value, key: &str) -> &'a Value {
    value.get(key).unwrap_or(&Value::Null)
}

/// The `p` quantile of sorted durations, in ms.
pub(super) fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    ms(sorted.get(i))
}

async fn get(http: &reqwest::Client, url: String, token: &str) -> anyhow::Result<Value> {
    let response = http.get(url).bearer_auth(token).send().await?;
    let status = response.status();
    let value: Value = response.json().await.unwrap_or_default();
    if !status.is_success() {
        bail!("{status}: {value}");
    }
    Ok(value)
}

async fn sign_in(http: &reqwest::Client, base: &str, phone: &str) -> anyhow::Result<String> {
    sign_in_user(http, base, phone)
        .await
        .map(|(token, _)| token)
}

/// Signs in with the dev OTP: the access token and the account's id.
pub(super) async fn sign_in_user(
    http: &reqwest::Client,
    base: &str,
    phone: &str,
) -> anyhow::Result<(String, String)> {
    post(
        http,
        format!("{base}/api/v1/user/otp-request"),
        json!({"phone": phone}),
        None,
    )
    .await?;
    let reply = post(
        http,
        format!("{base}/api/v1/user/otp-check"),
        json!({"phone": phone, "code": "0000"}),
        None,
    )
    .await?;
    let token = field(&reply, "token")
        .as_str()
        .context("no token in the sign-in reply")?;
    let user = field(&reply, "userId")
        .as_str()
        .context("no userId in the sign-in reply")?;
    Ok((token.to_owned(), user.to_owned()))
}

/// What one driver saw.
struct DriverRun {
    start_http: Duration,
    first_event: Duration,
    events: u64,
}

/// Reads a driver's SSE stream: tells `open` once the stream is open,
/// reports the first CHARGING event on `first`, then counts the CHARGING
/// events that arrive in `window`.
async fn watch(
    http: reqwest::Client,
    url: String,
    token: String,
    (open, first): (
        tokio::sync::oneshot::Sender<()>,
        tokio::sync::oneshot::Sender<Instant>,
    ),
    window: (Instant, Instant),
) -> anyhow::Result<u64> {
    let (from, until) = window;
    let mut response = http
        .get(url)
        .bearer_auth(token)
        .header("accept", "text/event-stream")
        .send()
        .await?;
    if !response.status().is_success() {
        bail!("event stream: {}", response.status());
    }
    // The server subscribes the stream before it answers its headers.
    let _ = open.send(());
    let mut first = Some(first);
    let mut buffer = String::new();
    let mut events = 0;
    loop {
        let left = until.saturating_duration_since(Instant::now());
        let chunk = match tokio::time::timeout(left, response.chunk()).await {
            Ok(chunk) => chunk?,
            Err(_) => return Ok(events),
        };
        let Some(chunk) = chunk else {
            return Ok(events);
        };
        buffer.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(end) = buffer.find("\n\n") {
            let block: String = buffer.drain(..end + 2).collect();
            if block
                .lines()
                .any(|l| l.trim() == "event: CHARGING" || l.trim() == "event:CHARGING")
            {
                let now = Instant::now();
                if now >= from {
                    events += 1;
                }
                if let Some(tx) = first.take() {
                    let _ = tx.send(now);
                }
            }
        }
    }
}

/// Runs the benchmark.
pub async fn run(args: SessionsArgs) -> anyhow::Result<()> {
    if args.sessions == 0 || args.start_rate == 0 || args.duration < 2 * INTERVAL_SECS {
        bail!("--sessions and --start-rate must be 1 or more, --duration at least 4");
    }
    let interval = INTERVAL_SECS.to_string();
    let nodes = super::spawn_nodes(
        args.database_url.as_deref(),
        &args.cluster,
        &[
            ("PLUGWAY_SESSIONS__EVENT_INTERVAL_SECS", interval.as_str()),
            ("PLUGWAY_SESSIONS__START_TIMEOUT_SECS", "120"),
            ("PLUGWAY_SESSIONS__STOP_TIMEOUT_SECS", "120"),
        ],
    )
    .await?;
    let Some(server) = nodes.first() else {
        bail!("no node started");
    };
    let base = server.base.clone();
    let node_count = nodes.len();
    // Charger n's node, and the node its driver goes through.
    let charger_node = |n: usize| nodes.get(n % node_count).map(|s| s.base.clone());
    let driver_node = |n: usize| nodes.get((n + 1) % node_count).map(|s| s.base.clone());
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(256)
        .build()?;
    println!(
        "plugway bench sessions: {} sessions on {} ({}), CHARGING every {INTERVAL_SECS} s",
        args.sessions,
        if node_count == 1 {
            base.clone()
        } else {
            format!("{node_count} nodes (each driver through another node than its charger's)")
        },
        if args.database_url.is_some() {
            "PostgreSQL"
        } else {
            "SQLite"
        }
    );

    let admin = super::admin_key(server, args.database_url.as_deref()).await?;

    // The host, its chargers and EVSEs.
    let host = sign_in(&http, &base, &phone(700_000, 0)).await?;
    let profile = reqwest::Client::new()
        .put(format!("{base}/api/v1/host/profile"))
        .bearer_auth(&host)
        .json(
            &json!({"owner_name": "Bench Charging", "contact_name": "Ops",
                      "contact_number": "+97699112233", "contact_email": "ops@example.com"}),
        )
        .send()
        .await?
        .json::<Value>()
        .await?;
    let host_id = field(&profile, "user_id")
        .as_str()
        .context("host profile")?
        .to_owned();
    let lister = super::Lister {
        http: &http,
        base: &base,
        admin: &admin,
        host: &host,
        host_id: &host_id,
    };
    let bar = progress(u64::from(args.sessions), "chargers and EVSEs");
    let mut chargers = Vec::new();
    let mut site = String::new();
    for n in 0..args.sessions {
        if n % PER_SITE == 0 {
            let created = post(&http, format!("{base}/api/v1/host/sites"), json!({
                "name": format!("Bench {}", n / PER_SITE), "address": "Peace Avenue 1", "city": "Ulaanbaatar",
                "province": "Ulaanbaatar", "country_code": "mn", "latitude": 47.9 + f64::from(n / PER_SITE) * 0.001,
                "longitude": 106.9, "time_zone": "Asia/Ulaanbaatar", "currency": "MNT"}), Some(&host)).await?;
            site = field(&created, "id")
                .as_str()
                .context("site id")?
                .to_owned();
            post(
                &http,
                format!("{base}/api/v1/admin/sites/{site}/approval"),
                json!({"approval": "APPROVED"}),
                Some(&admin),
            )
            .await?;
        }
        let cp = format!("BENCH-{n:05}");
        let (password, evse) = lister
            .listed_charger(
                &site,
                &cp,
                &format!("E-{n}"),
                json!({"per_kwh": 500.5, "waiting_per_minute": 20}),
                json!({"standard": "CCS2", "format": "CABLE", "power_type": "DC",
                       "max_voltage": 500, "max_amperage": 200, "max_power_kw": 50}),
            )
            .await?;
        chargers.push((cp, password, evse));
        bar.inc(1);
    }
    bar.finish_and_clear();

    // The chargers connect and boot; the drivers sign in.
    let charge_until = Instant::now() + Duration::from_secs(args.duration + 600);
    let mut sims = Vec::new();
    let bar = progress(u64::from(args.sessions), "chargers booting");
    for (n, (cp, password, _)) in chargers.iter().enumerate() {
        let ws = format!(
            "{}/ocpp",
            charger_node(n)
                .unwrap_or_default()
                .replace("http://", "ws://")
        );
        let mut config = plugway_sim::SimConfig::new(&ws, cp, Some(password.clone()));
        config.connectors = 1;
        config.meter_interval = Duration::from_secs(1);
        config.bind = Some(super::loopback_source(u32::try_from(n).unwrap_or(0)));
        let sim = plugway_sim::ChargePoint::start(config).await?;
        sims.push(tokio::spawn(sim.run(Some(charge_until))));
        bar.inc(1);
    }
    bar.finish_and_clear();
    // Let the boots and status notifications land.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let bar = progress(u64::from(args.sessions), "drivers signing in");
    let mut drivers = Vec::new();
    for n in 0..args.sessions {
        let node = driver_node(n as usize).unwrap_or_default();
        drivers.push(sign_in(&http, &node, &phone(800_000, u64::from(n))).await?);
        bar.inc(1);
    }
    bar.finish_and_clear();

    // Drivers arrive `start_rate` per second: each opens its stream, then
    // starts. Once all have started, they all charge for `duration` seconds
    // while their CHARGING events are counted.
    let started = Instant::now();
    let written_before = storage_written(&nodes);
    let ramp = Duration::from_secs_f64(f64::from(args.sessions) / f64::from(args.start_rate));
    let count_from = started + ramp + Duration::from_secs(2);
    let watch_until = count_from + Duration::from_secs(args.duration);
    let gate = Arc::new(Semaphore::new(512));
    let runs: Vec<_> = drivers
        .iter()
        .zip(&chargers)
        .enumerate()
        .map(|(n, (token, (_, _, evse)))| {
            let base = driver_node(n).unwrap_or_default();
            let (http, token, evse) = (http.clone(), token.clone(), evse.clone());
            let at = started + Duration::from_secs_f64(n as f64 / f64::from(args.start_rate));
            tokio::spawn(async move {
                // The driver arrives: opens the stream, and a moment later
                // starts. (All streams opened at once would be 3,000 apps
                // opened in the same instant, not drivers arriving.)
                tokio::time::sleep_until(tokio::time::Instant::from_std(at)).await;
                let (first_tx, first_rx) = tokio::sync::oneshot::channel();
                let (open_tx, open_rx) = tokio::sync::oneshot::channel();
                let watcher = tokio::spawn(watch(
                    http.clone(),
                    format!("{base}/api/v1/user/events"),
                    token.clone(),
                    (open_tx, first_tx),
                    (count_from, watch_until),
                ));
                tokio::time::sleep_until(tokio::time::Instant::from_std(
                    at + Duration::from_millis(300),
                ))
                .await;
                // And not before the stream is open, so its first CHARGING
                // event cannot pass before the driver listens.
                let _ = open_rx.await;
                let sent = Instant::now();
                let session = post(
                    &http,
                    format!("{base}/api/v1/devices/{evse}/start"),
                    json!({}),
                    Some(&token),
                )
                .await?;
                let start_http = sent.elapsed();
                if field(&session, "state") != "charging" {
                    bail!("start answered {session}");
                }
                let first = tokio::time::timeout(Duration::from_secs(60), first_rx)
                    .await
                    .context("no CHARGING event within 60 s")??;
                let events = watcher.await??;
                anyhow::Ok(DriverRun {
                    start_http,
                    first_event: first.saturating_duration_since(sent),
                    events,
                })
            })
        })
        .collect();
    let bar = progress((watch_until - started).as_secs(), "ramp up, then streaming");
    let ticker = super::tick_every_second(&bar);
    let mut done = Vec::new();
    let mut failures = 0;
    for run in runs {
        match run.await? {
            Ok(r) => done.push(r),
            Err(e) => {
                if failures == 0 {
                    eprintln!("first failure: {e:#}");
                }
                failures += 1;
            }
        }
    }
    ticker.abort();
    bar.finish_and_clear();
    let written = storage_written(&nodes).zip(written_before);
    let written_over = started.elapsed();

    let mut start_http: Vec<Duration> = done.iter().map(|r| r.start_http).collect();
    let mut first: Vec<Duration> = done.iter().map(|r| r.first_event).collect();
    start_http.sort();
    first.sort();
    // A session streams if it got its events at the cadence over the
    // window, allowing one late tick at each end.
    let expected = args.duration / INTERVAL_SECS;
    let streamed = done.iter().filter(|r| r.events + 2 >= expected).count();
    let events: u64 = done.iter().map(|r| r.events).sum();
    println!(
        "start (HTTP, until the charger's StartTransaction)  p50 {:>8.1} ms   p99 {:>8.1} ms",
        percentile(&start_http, 0.50),
        percentile(&start_http, 0.99)
    );
    println!(
        "start -> first CHARGING event                        p50 {:>8.1} ms   p99 {:>8.1} ms",
        percentile(&first, 0.50),
        percentile(&first, 0.99)
    );
    println!(
        "sessions streamed at the {INTERVAL_SECS} s cadence for {} s, all at once: {streamed} of {} ({failures} failed to start); {:.0} CHARGING events/s delivered",
        args.duration,
        args.sessions,
        events as f64 / args.duration as f64
    );
    if let Some((after, before)) = written {
        // What the node (not PostgreSQL's own processes) wrote while the
        // drivers arrived and charged: with SQLite, its database and WAL.
        println!(
            "server wrote {:.1} MB/s to storage while starting and streaming ({} s){}",
            after.saturating_sub(before) as f64 / 1e6 / written_over.as_secs_f64(),
            written_over.as_secs(),
            if args.database_url.is_some() {
                " (PostgreSQL's own writes not counted)"
            } else {
                ""
            }
        );
    }

    // Everyone finishes; each gets a purchase.
    let bar = progress(u64::from(args.sessions), "finishing");
    let finishing: Vec<_> = drivers
        .iter()
        .zip(&chargers)
        .enumerate()
        .map(|(n, (token, (_, _, evse)))| {
            let (http, base, token, evse, gate) = (
                http.clone(),
                driver_node(n).unwrap_or_default(),
                token.clone(),
                evse.clone(),
                gate.clone(),
            );
            let bar = bar.clone();
            tokio::spawn(async move {
                let _permit = gate.acquire_owned().await?;
                let purchase = post(
                    &http,
                    format!("{base}/api/v1/devices/{evse}/finish"),
                    json!({}),
                    Some(&token),
                )
                .await;
                bar.inc(1);
                let purchase = purchase?;
                let list = get(&http, format!("{base}/api/v1/purchases"), &token).await?;
                anyhow::Ok(field(&list, "count") == 1 && field(&purchase, "id").is_string())
            })
        })
        .collect();
    let mut priced = 0;
    for f in finishing {
        if matches!(f.await?, Ok(true)) {
            priced += 1;
        }
    }
    bar.finish_and_clear();
    println!("finished with a purchase: {priced} of {}", args.sessions);
    for sim in sims {
        sim.abort();
    }
    drop(nodes);
    Ok(())
}

/// Bytes the nodes have caused to be written to storage so far, all
/// together; `None` when any node's count cannot be read.
fn storage_written(nodes: &[super::Spawned]) -> Option<u64> {
    nodes
        .iter()
        .map(|node| node.pid.and_then(super::storage_write_bytes))
        .sum()
}
