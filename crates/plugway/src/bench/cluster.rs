//! `plugway bench cluster`: the round trip of a command to a charger
//! through the node that holds it, and through the other node (relayed
//! over NATS), on two real `plugway serve` nodes sharing one PostgreSQL
//! database and one NATS (docs/cluster.md). The same HTTP call both ways,
//! so the difference is the relay.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;

use super::sessions::percentile;
use super::{admin_key, spawn_server_with, Spawned};

/// `bench cluster` flags.
#[derive(Debug, Args)]
pub struct ClusterArgs {
    /// An empty PostgreSQL database both nodes share.
    #[arg(long, value_name = "URL")]
    pub database_url: String,
    /// The NATS server both nodes meet on.
    #[arg(long, value_name = "URL", default_value = "nats://127.0.0.1:4222")]
    pub nats_url: String,
    /// Commands sent through each node.
    #[arg(long, default_value_t = 2_000)]
    pub commands: u32,
    /// Simulated chargers (all connected to the first node).
    #[arg(long, default_value_t = 10)]
    pub chargers: u32,
    /// Commands in flight at once.
    #[arg(long, default_value_t = 8)]
    pub concurrency: u32,
}

/// Sends `total` GetConfiguration commands through `node`, spread over the
/// chargers, `concurrency` at a time; each round trip's time, sorted.
async fn round_trips(
    node: &str,
    key: &str,
    chargers: &[String],
    total: u32,
    concurrency: u32,
    label: &str,
) -> anyhow::Result<Vec<Duration>> {
    let http = reqwest::Client::new();
    let bar = ProgressBar::new(u64::from(total)).with_style(
        ProgressStyle::with_template("{msg:<28} {bar:30} {pos}/{len}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.set_message(label.to_owned());
    let next = Arc::new(std::sync::atomic::AtomicU32::new(0));
    let mut workers = Vec::new();
    for _ in 0..concurrency.max(1) {
        let (http, next, bar) = (http.clone(), next.clone(), bar.clone());
        let (node, key, chargers) = (node.to_owned(), key.to_owned(), chargers.to_vec());
        workers.push(tokio::spawn(async move {
            let mut times = Vec::new();
            loop {
                let n = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if n >= total {
                    return Ok::<_, anyhow::Error>(times);
                }
                let Some(cp) = chargers.get(n as usize % chargers.len().max(1)) else {
                    bail!("no chargers");
                };
                let started = Instant::now();
                let response = http
                    .post(format!(
                        "{node}/api/v1/charge-points/{cp}/commands/GetConfiguration"
                    ))
                    .bearer_auth(&key)
                    .json(&json!({"key": ["HeartbeatInterval"]}))
                    .send()
                    .await?;
                let status = response.status();
                let _ = response.bytes().await?;
                if !status.is_success() {
                    bail!("{cp} through {node}: HTTP {status}");
                }
                times.push(started.elapsed());
                bar.inc(1);
            }
        }));
    }
    let mut all = Vec::with_capacity(total as usize);
    for worker in workers {
        all.extend(worker.await.context("a worker panicked")??);
    }
    bar.finish_and_clear();
    all.sort();
    Ok(all)
}

fn report(label: &str, times: &[Duration], took: Duration) {
    println!(
        "  {label:<34} {:>8.1} commands/s   p50 {:>6.2} ms   p99 {:>6.2} ms",
        times.len() as f64 / took.as_secs_f64().max(1e-9),
        percentile(times, 0.50),
        percentile(times, 0.99),
    );
}

/// Runs the benchmark.
pub async fn run(args: ClusterArgs) -> anyhow::Result<()> {
    let shared = super::cluster_env(&args.nats_url);
    let mut env: Vec<(&str, &str)> = shared.iter().map(|(k, v)| (*k, v.as_str())).collect();
    env.push(("PLUGWAY_OCPP_AUTO_REGISTER", "true"));
    let holder: Spawned = spawn_server_with(Some(&args.database_url), &env).await?;
    let other: Spawned = spawn_server_with(Some(&args.database_url), &env).await?;
    let key = admin_key(&holder, Some(&args.database_url)).await?;
    println!(
        "plugway bench cluster: nodes {} (holds the chargers) and {} (relays over NATS {})",
        holder.base, other.base, args.nats_url
    );
    let ws = format!("{}/ocpp", holder.base.replace("http", "ws"));
    let mut chargers = Vec::new();
    for n in 0..args.chargers.max(1) {
        let id = format!("BENCH-CL-{}-{n}", std::process::id());
        let config = plugway_sim::SimConfig::new(&ws, &id, None);
        let cp = plugway_sim::ChargePoint::start(config)
            .await
            .with_context(|| format!("charger {id} could not connect"))?;
        tokio::spawn(cp.run(None));
        chargers.push(id);
    }
    // Let every node hear which chargers are where.
    tokio::time::sleep(Duration::from_secs(1)).await;
    // Warm both paths, then measure each in turn.
    round_trips(
        &other.base,
        &key,
        &chargers,
        100,
        args.concurrency,
        "warming up",
    )
    .await?;
    round_trips(
        &holder.base,
        &key,
        &chargers,
        100,
        args.concurrency,
        "warming up",
    )
    .await?;
    let started = Instant::now();
    let local = round_trips(
        &holder.base,
        &key,
        &chargers,
        args.commands,
        args.concurrency,
        "through the holding node",
    )
    .await?;
    let local_took = started.elapsed();
    let started = Instant::now();
    let relayed = round_trips(
        &other.base,
        &key,
        &chargers,
        args.commands,
        args.concurrency,
        "through the other node",
    )
    .await?;
    let relayed_took = started.elapsed();
    println!(
        "GetConfiguration over HTTP, {} chargers, {} in flight:",
        chargers.len(),
        args.concurrency
    );
    report("through the node holding it", &local, local_took);
    report("through the other node (NATS)", &relayed, relayed_took);
    println!(
        "  relay cost at the median: {:+.2} ms",
        percentile(&relayed, 0.50) - percentile(&local, 0.50)
    );
    Ok(())
}
