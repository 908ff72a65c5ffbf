//! `plugway bench`: measurements that live in the repository, so every
//! figure in the docs can be re-run with one command.
//!
//! Each benchmark starts its own `plugway serve` (this same executable) on a
//! fresh temporary data directory, on loopback only, unless `--url` points
//! at a server you started. Load comes from this process over real HTTP.

use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use futures::future::BoxFuture;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;
use tokio::io::{AsyncBufReadExt, BufReader};

pub mod cluster;
pub mod load;
mod network_gen;
pub mod payments;
pub mod search;
pub mod sessions;

/// Benchmarks.
#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Cold start: time from exec of `plugway serve` on an empty data
    /// directory to the first 200 from /healthz.
    Startup(StartupArgs),
    /// Sign-in throughput: OTP sign-ins, password sign-ins and
    /// authenticated profile reads, each for `--duration` seconds.
    Accounts(AccountsArgs),
    /// OCPP: MeterValues answered per second with persistence, idle
    /// connections held and server memory per connection.
    Ocpp(OcppArgs),
    /// Charger search (10 km radius + filters) over a generated network of
    /// 1,000,000 connectors, in process and over HTTP.
    Search(search::SearchArgs),
    /// Charging sessions from the app: start → first CHARGING event
    /// latency, and how many concurrent sessions one node streams.
    Sessions(sessions::SessionsArgs),
    /// Wallet payments of purchases per second over HTTP, with wallets
    /// racing to overdraw, then the books checked.
    Payments(payments::PaymentsArgs),
    /// Two nodes on one PostgreSQL and NATS: a command's round trip through
    /// the node holding the charger and through the other one (relayed).
    Cluster(cluster::ClusterArgs),
    /// Site load management: on one site of `--chargers` chargers, the time
    /// from a session's start to every changed charger's new charging
    /// profile acknowledged.
    Load(load::LoadArgs),
}

/// `bench startup` flags.
#[derive(Debug, Args)]
pub struct StartupArgs {
    /// How many cold starts to time.
    #[arg(long, default_value_t = 10)]
    pub runs: u32,
}

/// `bench accounts` flags.
#[derive(Debug, Args)]
pub struct AccountsArgs {
    /// Database for the server the benchmark starts [default: SQLite in a
    /// temporary directory]. Use an empty PostgreSQL database.
    #[arg(long, value_name = "URL")]
    pub database_url: Option<String>,
    /// Benchmark a server that is already running instead of starting one.
    /// It must run with --dev and raised rate limits (docs/benchmarks.md).
    #[arg(long, value_name = "URL")]
    pub url: Option<String>,
    /// Concurrent clients.
    #[arg(long, default_value_t = 32)]
    pub concurrency: usize,
    /// Seconds per phase.
    #[arg(long, default_value_t = 10)]
    pub duration: u64,
}

/// Runs a benchmark.
pub async fn run(command: BenchCommand) -> anyhow::Result<()> {
    match command {
        BenchCommand::Startup(args) => startup(args).await,
        BenchCommand::Accounts(args) => accounts(args).await,
        BenchCommand::Ocpp(args) => ocpp(args).await,
        BenchCommand::Search(args) => search::run(args).await,
        BenchCommand::Sessions(args) => sessions::run(args).await,
        BenchCommand::Payments(args) => payments::run(args).await,
        BenchCommand::Cluster(args) => cluster::run(args).await,
        BenchCommand::Load(args) => load::run(args).await,
    }
}

/// A `plugway serve --dev` child on loopback; killed when dropped.
struct Spawned {
    _child: tokio::process::Child,
    base: String,
    dir: tempfile::TempDir,
    /// Its process id, for reading its memory and CPU from /proc.
    pid: Option<u32>,
}

/// Flags that run a benchmark against a cluster of nodes (docs/cluster.md).
#[derive(Debug, Args)]
pub struct ClusterFlags {
    /// Nodes to start on one PostgreSQL database (`--database-url`) and one
    /// NATS (`--nats-url`); chargers are spread over them.
    #[arg(long, default_value_t = 1)]
    pub nodes: u32,
    /// The NATS server the nodes meet on (with `--nodes` 2 or more).
    #[arg(long, value_name = "URL", default_value = "nats://127.0.0.1:4222")]
    pub nats_url: String,
}

/// The settings every node of one benchmark's cluster shares: NATS, a
/// subject prefix and stream of its own, one server secret.
fn cluster_env(nats_url: &str) -> Vec<(&'static str, String)> {
    let tag = format!("bench{}", std::process::id());
    vec![
        ("PLUGWAY_NATS_URL", nats_url.to_owned()),
        ("PLUGWAY_NATS__PREFIX", tag.clone()),
        ("PLUGWAY_NATS__STREAM", tag.clone()),
        (
            "PLUGWAY_JWT_SECRET",
            format!("{tag}-cluster-secret-of-32-bytes-or-more"),
        ),
    ]
}

/// Starts `flags.nodes` servers: one as [`spawn_server_with`] does, or a
/// cluster on `database_url` (required then) and NATS.
async fn spawn_nodes(
    database_url: Option<&str>,
    flags: &ClusterFlags,
    env: &[(&str, &str)],
) -> anyhow::Result<Vec<Spawned>> {
    if flags.nodes <= 1 {
        return Ok(vec![spawn_server_with(database_url, env).await?]);
    }
    let Some(url) = database_url else {
        bail!("--nodes 2 or more needs --database-url: the nodes share one PostgreSQL database");
    };
    let shared = cluster_env(&flags.nats_url);
    let mut all: Vec<(&str, &str)> = shared.iter().map(|(k, v)| (*k, v.as_str())).collect();
    all.extend_from_slice(env);
    let mut nodes = Vec::new();
    for _ in 0..flags.nodes {
        nodes.push(spawn_server_with(Some(url), &all).await?);
    }
    Ok(nodes)
}

/// Starts `plugway serve --dev` with rate limits raised for load and waits
/// for its "listening" line.
async fn spawn_server(database_url: Option<&str>) -> anyhow::Result<Spawned> {
    spawn_server_with(database_url, &[]).await
}

/// [`spawn_server`] with extra environment (settings) for the server.
async fn spawn_server_with(
    database_url: Option<&str>,
    env: &[(&str, &str)],
) -> anyhow::Result<Spawned> {
    let dir = tempfile::tempdir()?;
    let mut cmd =
        tokio::process::Command::new(std::env::current_exe().context("cannot find plugway")?);
    cmd.args(["serve", "--dev", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path())
        .env("RUST_LOG", "warn,plugway::serve=info")
        .env("PLUGWAY_RATE_LIMITS__OTP_SENDS_PER_MINUTE", "1000000000")
        .env(
            "PLUGWAY_RATE_LIMITS__CREDENTIAL_CHECKS_PER_MINUTE",
            "1000000000",
        )
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .kill_on_drop(true);
    if let Some(url) = database_url {
        cmd.args(["--database-url", url, "--dev-allow-postgres"]);
    }
    let mut child = cmd.spawn().context("cannot start plugway serve")?;
    let pid = child.id();
    let stdout = child.stdout.take().context("no stdout")?;
    let mut lines = BufReader::new(stdout).lines();
    let base = tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(line) = lines.next_line().await? {
            if let Some(rest) = line.split("listening on http://").nth(1) {
                let addr = rest.split_whitespace().next().unwrap_or_default();
                return Ok::<_, anyhow::Error>(format!("http://{addr}"));
            }
        }
        bail!("plugway serve exited before it was ready")
    })
    .await
    .context("plugway serve was not ready within 30 s")??;
    // Keep draining its output so a full pipe never blocks it.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    Ok(Spawned {
        _child: child,
        base,
        dir,
        pid,
    })
}

/// An admin API key for `server`, made from the command line
/// (`plugway api-key create`) as an operator would make it.
async fn admin_key(server: &Spawned, database_url: Option<&str>) -> anyhow::Result<String> {
    let mut cmd = tokio::process::Command::new(std::env::current_exe()?);
    cmd.args(["api-key", "create", "--role", "admin", "--data-dir"])
        .arg(server.dir.path());
    if let Some(url) = database_url {
        cmd.args(["--database-url", url]);
    }
    let out = cmd.output().await?;
    if !out.status.success() {
        bail!(
            "api-key create failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .last()
        .context("no key printed")?
        .trim()
        .to_owned())
}

async fn startup(args: StartupArgs) -> anyhow::Result<()> {
    let http = reqwest::Client::new();
    let mut times = Vec::new();
    let bar = progress(u64::from(args.runs), "cold starts");
    for _ in 0..args.runs {
        let dir = tempfile::tempdir()?;
        // A fixed free port, so the clock starts before the server can tell us its address.
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let started = Instant::now();
        let mut child = tokio::process::Command::new(std::env::current_exe()?)
            .args([
                "serve",
                "--listen",
                &format!("127.0.0.1:{port}"),
                "--data-dir",
            ])
            .arg(dir.path())
            .env("RUST_LOG", "error")
            .stdout(Stdio::null())
            .kill_on_drop(true)
            .spawn()?;
        let url = format!("http://127.0.0.1:{port}/healthz");
        loop {
            if let Ok(r) = http.get(&url).send().await {
                if r.status().is_success() {
                    break;
                }
            }
            if started.elapsed() > Duration::from_secs(30) {
                bail!("plugway serve was not ready within 30 s");
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        times.push(started.elapsed());
        child.kill().await?;
        bar.inc(1);
    }
    bar.finish_and_clear();
    times.sort();
    println!(
        "cold start to ready (exec -> first 200 on /healthz, empty SQLite data dir), {} runs: min {:.1} ms, median {:.1} ms, max {:.1} ms",
        times.len(),
        ms(times.first()),
        ms(times.get(times.len() / 2)),
        ms(times.last())
    );
    Ok(())
}

fn ms(d: Option<&Duration>) -> f64 {
    d.map(|d| d.as_secs_f64() * 1000.0).unwrap_or_default()
}

fn progress(len: u64, what: &str) -> ProgressBar {
    let bar = ProgressBar::new(len);
    bar.set_style(
        ProgressStyle::with_template("{spinner} {msg:<28} [{bar:30}] {pos}/{len} {elapsed}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.set_message(what.to_owned());
    bar
}

/// Moves a time-based progress bar on by one every second, until aborted.
fn tick_every_second(bar: &ProgressBar) -> tokio::task::JoinHandle<()> {
    let bar = bar.clone();
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(Duration::from_secs(1)).await;
            bar.inc(1);
        }
    })
}

/// One phase's results.
struct PhaseResult {
    name: &'static str,
    ok: u64,
    errors: u64,
    elapsed: Duration,
    latencies: Vec<Duration>,
}

impl PhaseResult {
    fn print(&self) {
        let mut l = self.latencies.clone();
        l.sort();
        let pct = |p: f64| {
            let i = ((l.len() as f64 - 1.0) * p).round() as usize;
            ms(l.get(i))
        };
        println!(
            "{:<34} {:>8} ok {:>6} err {:>10.1} /s   p50 {:>7.2} ms   p99 {:>7.2} ms",
            self.name,
            self.ok,
            self.errors,
            self.ok as f64 / self.elapsed.as_secs_f64(),
            pct(0.50),
            pct(0.99)
        );
    }
}

type Op = Arc<dyn Fn(u64) -> BoxFuture<'static, anyhow::Result<()>> + Send + Sync>;

/// Runs `op` from `concurrency` workers for `duration`, timing each call.
async fn phase(name: &'static str, concurrency: usize, duration: Duration, op: Op) -> PhaseResult {
    let counter = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let bar = progress(duration.as_secs(), name);
    let started = Instant::now();
    let deadline = started + duration;
    let ticker = tick_every_second(&bar);
    let workers: Vec<_> = (0..concurrency)
        .map(|_| {
            let (op, counter, errors) = (op.clone(), counter.clone(), errors.clone());
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                while Instant::now() < deadline {
                    let n = counter.fetch_add(1, Ordering::Relaxed);
                    let t = Instant::now();
                    match op(n).await {
                        Ok(()) => latencies.push(t.elapsed()),
                        Err(e) => {
                            if errors.fetch_add(1, Ordering::Relaxed) == 0 {
                                eprintln!("first error in {name}: {e:#}");
                            }
                        }
                    }
                }
                latencies
            })
        })
        .collect();
    let mut latencies = Vec::new();
    for w in workers {
        latencies.extend(w.await.unwrap_or_default());
    }
    ticker.abort();
    bar.finish_and_clear();
    PhaseResult {
        name,
        ok: latencies.len() as u64,
        errors: errors.load(Ordering::Relaxed),
        elapsed: started.elapsed(),
        latencies,
    }
}

async fn post(
    http: &reqwest::Client,
    url: String,
    body: serde_json::Value,
    token: Option<&str>,
) -> anyhow::Result<serde_json::Value> {
    let mut request = http.post(url).json(&body);
    if let Some(t) = token {
        request = request.bearer_auth(t);
    }
    let response = request.send().await?;
    let status = response.status();
    let value: serde_json::Value = response.json().await.unwrap_or_default();
    if !status.is_success() {
        bail!("{status}: {value}");
    }
    Ok(value)
}

/// Who registers and lists a benchmark's chargers.
struct Lister<'a> {
    http: &'a reqwest::Client,
    base: &'a str,
    admin: &'a str,
    host: &'a str,
    host_id: &'a str,
}

impl Lister<'_> {
    /// Registers charge point `cp` for the host and lists its connector 1
    /// on `site` as an approved EVSE `evse_code` with `prices` and
    /// `connector` (the API's shapes); its password and the EVSE's id.
    async fn listed_charger(
        &self,
        site: &str,
        cp: &str,
        evse_code: &str,
        prices: serde_json::Value,
        connector: serde_json::Value,
    ) -> anyhow::Result<(String, String)> {
        let (http, base) = (self.http, self.base);
        let created = post(
            http,
            format!("{base}/api/v1/charge-points"),
            serde_json::json!({"id": cp, "owner_id": self.host_id}),
            Some(self.admin),
        )
        .await?;
        let password = sessions::field(&created, "password")
            .as_str()
            .context("charge point password")?
            .to_owned();
        let evse = post(
            http,
            format!("{base}/api/v1/host/sites/{site}/evses"),
            serde_json::json!({"evse_code": evse_code, "charge_point_id": cp, "ocpp_connector_id": 1,
                "prices": prices, "connectors": [connector]}),
            Some(self.host),
        )
        .await?;
        let evse = sessions::field(&evse, "id")
            .as_str()
            .context("evse id")?
            .to_owned();
        post(
            http,
            format!("{base}/api/v1/admin/evses/{evse}/approval"),
            serde_json::json!({"approval": "APPROVED"}),
            Some(self.admin),
        )
        .await?;
        Ok((password, evse))
    }
}

/// A valid Mongolian mobile number for index `n` (Unitel's 88 range).
fn phone(base: u64, n: u64) -> String {
    format!("+97688{:06}", (base + n) % 1_000_000)
}

async fn accounts(args: AccountsArgs) -> anyhow::Result<()> {
    let spawned = match &args.url {
        Some(_) => None,
        None => Some(spawn_server(args.database_url.as_deref()).await?),
    };
    let base = match (&args.url, &spawned) {
        (Some(url), _) => url.trim_end_matches('/').to_owned(),
        (None, Some(s)) => s.base.clone(),
        (None, None) => bail!("no server"),
    };
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(args.concurrency)
        .build()?;
    let duration = Duration::from_secs(args.duration);
    let phone_base: u64 = rand::random::<u64>() % 1_000_000;
    println!(
        "plugway bench accounts: {} clients, {} s per phase, server {base} ({})",
        args.concurrency,
        args.duration,
        if args.url.is_some() {
            "external"
        } else {
            "spawned, --dev"
        }
    );

    // 1. OTP sign-in (seed 001): request a code, sign in with it.
    let tokens = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let op: Op = {
        let (http, base, tokens) = (http.clone(), base.clone(), tokens.clone());
        Arc::new(move |n| {
            let (http, base, tokens) = (http.clone(), base.clone(), tokens.clone());
            Box::pin(async move {
                let phone = phone(phone_base, n);
                post(
                    &http,
                    format!("{base}/api/v1/user/otp-request"),
                    json!({"phone": phone}),
                    None,
                )
                .await?;
                let reply = post(
                    &http,
                    format!("{base}/api/v1/user/otp-check"),
                    json!({"phone": phone, "code": "0000"}),
                    None,
                )
                .await?;
                if let Some(t) = reply.get("token").and_then(|t| t.as_str()) {
                    if let Ok(mut all) = tokens.lock() {
                        all.push(t.to_owned());
                    }
                }
                Ok(())
            })
        })
    };
    let otp = phase(
        "OTP sign-in (request + check)",
        args.concurrency,
        duration,
        op,
    )
    .await;

    // 2. Authenticated reads: token check, session and account lookups.
    let pool: Arc<Vec<String>> = Arc::new(tokens.lock().map(|t| t.clone()).unwrap_or_default());
    if pool.is_empty() {
        bail!("no sign-in succeeded; is the server running with --dev?");
    }
    let op: Op = {
        let (http, base, pool) = (http.clone(), base.clone(), pool.clone());
        Arc::new(move |n| {
            let (http, base, pool) = (http.clone(), base.clone(), pool.clone());
            Box::pin(async move {
                let token = pool
                    .get(n as usize % pool.len())
                    .cloned()
                    .unwrap_or_default();
                let response = http
                    .get(format!("{base}/api/v1/user/me"))
                    .bearer_auth(token)
                    .send()
                    .await?;
                if !response.status().is_success() {
                    bail!("{}", response.status());
                }
                Ok(())
            })
        })
    };
    let me = phase(
        "GET /user/me (authenticated)",
        args.concurrency,
        duration,
        op,
    )
    .await;

    // 3. Password sign-in (seed 002): argon2id verification per request.
    let phone_pw = phone(phone_base, 999_999);
    post(
        &http,
        format!("{base}/api/v1/auth/register"),
        json!({"phone": phone_pw, "name": "Bench", "password": "bench-password"}),
        None,
    )
    .await?;
    post(
        &http,
        format!("{base}/api/v1/auth/verify-otp"),
        json!({"phone": phone_pw, "otp": "0000"}),
        None,
    )
    .await?;
    let op: Op = {
        let (http, base, phone_pw) = (http.clone(), base.clone(), phone_pw.clone());
        Arc::new(move |_| {
            let (http, base, phone_pw) = (http.clone(), base.clone(), phone_pw.clone());
            Box::pin(async move {
                post(
                    &http,
                    format!("{base}/api/v1/auth/token"),
                    json!({"phone": phone_pw, "password": "bench-password"}),
                    None,
                )
                .await?;
                Ok(())
            })
        })
    };
    let password = phase(
        "password sign-in (argon2id)",
        args.concurrency,
        duration,
        op,
    )
    .await;

    println!();
    for r in [&otp, &me, &password] {
        r.print();
    }
    drop(spawned);
    Ok(())
}

/// `bench ocpp` flags.
#[derive(Debug, Args)]
pub struct OcppArgs {
    /// Database for the server the benchmark starts [default: SQLite in a
    /// temporary directory]. Use an empty PostgreSQL database.
    #[arg(long, value_name = "URL")]
    pub database_url: Option<String>,
    /// Connections sending MeterValues back to back.
    #[arg(long, default_value_t = 200)]
    pub connections: u32,
    /// Seconds of MeterValues load.
    #[arg(long, default_value_t = 10)]
    pub duration: u64,
    /// Offered MeterValues per second in all, spread evenly over the
    /// connections, instead of each connection sending back to back.
    #[arg(long, value_name = "PER_SECOND")]
    pub rate: Option<u32>,
    /// Idle connections to open and hold, to measure memory per connection
    /// (raise `ulimit -n` first for large numbers).
    #[arg(long, default_value_t = 10_000)]
    pub idle: u32,
    /// Keep the per-charger message log on (the default in production).
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    pub message_log: bool,
    /// The OCPP version the load speaks: 1.6 or 2.0.1.
    #[arg(long = "ocpp", default_value = "1.6", value_parser = crate::simulate::parse_version)]
    pub version: plugway_sim::SimVersion,
    #[command(flatten)]
    pub cluster: ClusterFlags,
    /// Then drop every idle connection at once and reconnect them all
    /// together (a reconnect storm), timing until every one is booted again.
    #[arg(long)]
    pub storm: bool,
    /// Then run the same load against a peer central system and print the
    /// ratios: `ocpp-rpc` (Node.js, from npm; needs node and npm).
    #[arg(long, value_enum)]
    pub peer: Option<Peer>,
    /// Where the peer's server lives.
    #[arg(long, value_name = "DIR", default_value = "bench/ocpp-rpc")]
    pub peer_dir: std::path::PathBuf,
}

/// A central system to compare Plugway with.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Peer {
    /// An in-memory ocpp-rpc server (bench/ocpp-rpc/server.js).
    OcppRpc,
}

/// Resident memory of a process, bytes (Linux).
fn rss_bytes(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// The CPU time a process has used, user and system, from
/// `/proc/PID/stat` (fields 14 and 15, in clock ticks of 1/100 s: Linux's
/// USER_HZ for /proc on every architecture it runs on).
fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is in parentheses and may hold spaces.
    let rest = stat.rsplit_once(')')?.1;
    let mut fields = rest.split_whitespace().skip(11);
    let user: u64 = fields.next()?.parse().ok()?;
    let system: u64 = fields.next()?.parse().ok()?;
    Some((user + system) as f64 / 100.0)
}

/// The bytes a process has caused to be sent to storage, from
/// `/proc/PID/io` (`write_bytes`: counted when it dirties a file's pages,
/// whether or not the kernel has written them out yet).
fn storage_write_bytes(pid: u32) -> Option<u64> {
    let io = std::fs::read_to_string(format!("/proc/{pid}/io")).ok()?;
    let line = io.lines().find(|l| l.starts_with("write_bytes:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Loopback source addresses, so more than one address's worth of
/// ephemeral ports can connect to one server port: 5,000 connections an
/// address leaves room in its ~28,000 ports for retries and for sockets
/// lingering in TIME_WAIT.
fn loopback_source(n: u32) -> std::net::SocketAddr {
    let block = n / 5_000;
    std::net::SocketAddr::from(([127, 0, 0, 2 + (block % 250) as u8], 0))
}

/// Where the OCPP load goes, and whose CPU and memory are counted.
struct Target {
    /// `ws://HOST:PORT/ocpp` of each node (charge point n goes to node n mod N).
    bases: Vec<String>,
    /// The server processes.
    pids: Vec<u32>,
}

impl Target {
    fn node_of(&self, n: u32) -> String {
        self.bases
            .get(n as usize % self.bases.len().max(1))
            .cloned()
            .unwrap_or_default()
    }
    fn cpu(&self) -> f64 {
        self.pids.iter().filter_map(|p| cpu_seconds(*p)).sum()
    }
    fn rss(&self) -> u64 {
        self.pids.iter().filter_map(|p| rss_bytes(*p)).sum()
    }
}

/// What one run against a target measured.
struct Measured {
    /// The servers' CPU per answered MeterValues, µs.
    cpu_per_answer_us: f64,
    /// Idle connections (handshake and BootNotification) accepted per second.
    connections_per_second: f64,
    /// The servers' memory per idle connection, KiB.
    kib_per_connection: f64,
    /// With `--storm`: seconds until every dropped connection was back and
    /// booted.
    storm_seconds: Option<f64>,
}

/// What [`connect_idle`] did.
struct Connected {
    /// The tasks holding the connections open.
    holders: Vec<tokio::task::JoinHandle<()>>,
    /// How many connected and booted.
    held: u64,
    /// Handshakes the server deferred (503) on the way.
    deferred: u64,
    /// Other failed tries, retried after a second.
    retried: u64,
    /// Until the last was booted.
    took: Duration,
}

/// Opens `count` connections (ids `IDLE-n`) that boot and then stay open,
/// from the `source_block`th block of loopback source addresses (a storm
/// reconnects from other addresses than the dropped connections', whose
/// ports linger in TIME_WAIT, as a real site's chargers each have their
/// own). Paced: a short pause every 500 handshakes.
async fn connect_idle(
    target: &Target,
    args: &OcppArgs,
    pace: bool,
    source_block: u32,
    label: &'static str,
) -> Connected {
    let count = args.idle;
    let hold_until = std::time::Instant::now() + Duration::from_secs(3600);
    let give_up = std::time::Instant::now() + Duration::from_secs(300);
    let connected = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let deferred = Arc::new(AtomicU64::new(0));
    let retried = Arc::new(AtomicU64::new(0));
    let bar = progress(u64::from(count), label);
    let mut holders = Vec::new();
    let started = Instant::now();
    for n in 0..count {
        let mut config =
            plugway_sim::SimConfig::new(&target.node_of(n), &format!("IDLE-{n:06}"), None);
        config.bind = Some(loopback_source(n + source_block * 100_000));
        config.version = args.version;
        let (connected, failed, deferred, retried, bar) = (
            connected.clone(),
            failed.clone(),
            deferred.clone(),
            retried.clone(),
            bar.clone(),
        );
        holders.push(tokio::spawn(async move {
            match plugway_sim::connect_booted_patiently(&config, give_up).await {
                Ok((ws, tries)) => {
                    deferred.fetch_add(u64::from(tries.deferred), Ordering::Relaxed);
                    retried.fetch_add(u64::from(tries.failed), Ordering::Relaxed);
                    connected.fetch_add(1, Ordering::Relaxed);
                    bar.inc(1);
                    let _ = plugway_sim::hold_open(ws, hold_until).await;
                }
                Err(_) => {
                    failed.fetch_add(1, Ordering::Relaxed);
                    bar.inc(1);
                }
            }
        }));
        // Pace the handshakes a little so the accept queue is never the limit.
        if pace && n % 500 == 499 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    while connected.load(Ordering::Relaxed) + failed.load(Ordering::Relaxed) < u64::from(count) {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let took = started.elapsed();
    bar.finish_and_clear();
    let failed = failed.load(Ordering::Relaxed);
    if failed > 0 {
        eprintln!("{label}: {failed} of {count} could not connect within 300 s");
    }
    Connected {
        holders,
        held: connected.load(Ordering::Relaxed),
        deferred: deferred.load(Ordering::Relaxed),
        retried: retried.load(Ordering::Relaxed),
        took,
    }
}

/// The MeterValues load, then the idle connections, against `target`.
async fn measure(target: &Target, args: &OcppArgs) -> anyhow::Result<Measured> {
    // 1. MeterValues throughput: for Plugway every answer means the
    //    samples are committed.
    let cpu_before = target.cpu();
    let until = std::time::Instant::now() + Duration::from_secs(args.duration);
    let bar = progress(args.duration, "MeterValues load");
    let ticker = tick_every_second(&bar);
    let started = Instant::now();
    // With --rate, each connection's share of it.
    let every = args
        .rate
        .filter(|r| *r > 0)
        .map(|r| Duration::from_secs_f64(f64::from(args.connections.max(1)) / f64::from(r)));
    // Connection n starts n/N of the way into the period: the sends of all
    // of them spread evenly over it.
    let pace = |n: u32| {
        every.map(|every| plugway_sim::Pace {
            every,
            first_after: every.mul_f64(f64::from(n) / f64::from(args.connections.max(1))),
        })
    };
    let tasks: Vec<_> = (0..args.connections)
        .map(|n| {
            let mut config =
                plugway_sim::SimConfig::new(&target.node_of(n), &format!("LOAD-{n:05}"), None);
            config.bind = Some(loopback_source(n));
            config.version = args.version;
            let pace = pace(n);
            tokio::spawn(async move {
                // Each answer's latency, and when it came.
                let mut latencies = Vec::new();
                let result = plugway_sim::flood_every(&config, until, pace, |d| {
                    latencies.push((Instant::now(), d));
                })
                .await;
                (latencies, result.err().map(|e| e.to_string()))
            })
        })
        .collect();
    let mut timed = Vec::new();
    let mut errors = 0u64;
    // When the last connection had its first answer: from then on every
    // connection is sending, and the connections' handshakes and boots no
    // longer share the machine with the load.
    let mut all_sending = started;
    for t in tasks {
        let (l, err) = t.await?;
        if let Some((first, _)) = l.first() {
            all_sending = all_sending.max(*first);
        }
        timed.extend(l);
        if let Some(e) = err {
            if errors == 0 {
                eprintln!("first error: {e}");
            }
            errors += 1;
        }
    }
    ticker.abort();
    bar.finish_and_clear();
    let server_cpu = target.cpu() - cpu_before;
    let answered = timed.len() as u64;
    let steady: Vec<Duration> = timed
        .iter()
        .filter(|(at, _)| *at > all_sending)
        .map(|(_, d)| *d)
        .collect();
    let elapsed = started.elapsed();
    PhaseResult {
        name: "MeterValues answered",
        ok: answered,
        errors,
        elapsed,
        latencies: timed.into_iter().map(|(_, d)| d).collect(),
    }
    .print();
    if args.rate.is_some() {
        // An offered rate is meant as a steady state: the same figures from
        // when every connection was sending.
        let ramp = all_sending.duration_since(started);
        PhaseResult {
            name: "  once all were sending",
            ok: steady.len() as u64,
            errors: 0,
            elapsed: elapsed.saturating_sub(ramp),
            latencies: steady,
        }
        .print();
        println!(
            "  (all {} connections were sending after {:.1} s)",
            args.connections,
            ramp.as_secs_f64()
        );
    }
    // The server's own CPU (all nodes), connections included, per answer:
    // the figure to compare builds by, since the load generator shares the
    // machine's cores.
    let cpu_per_answer_us = server_cpu * 1e6 / answered.max(1) as f64;
    println!(
        "server CPU during the load: {server_cpu:.2} s: {cpu_per_answer_us:.1} µs per answered MeterValues"
    );

    // 2. Idle connections: how fast they are accepted, and the server's
    //    memory for them.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let before = target.rss();
    let Connected {
        holders,
        held,
        deferred,
        retried,
        took: connecting,
    } = connect_idle(target, args, true, 0, "idle connections").await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = rss_or(target, before);
    let per = after.saturating_sub(before) as f64 / held.max(1) as f64;
    let connections_per_second = held as f64 / connecting.as_secs_f64().max(1e-9);
    println!(
        "idle connections held: {held} of {} ({deferred} handshakes deferred, {retried} failed and retried) in {:.1} s: {connections_per_second:.0} per second; \
         server RSS {:.1} MiB -> {:.1} MiB: {:.1} KiB per connection",
        args.idle,
        connecting.as_secs_f64(),
        before as f64 / 1048576.0,
        after as f64 / 1048576.0,
        per / 1024.0
    );
    for h in &holders {
        h.abort();
    }
    // 3. The storm: every connection dropped at once (the sockets close
    //    without a WebSocket close, as when a site's network comes back),
    //    then every charger reconnecting and booting together.
    let storm_seconds = if args.storm {
        for h in holders {
            let _ = h.await;
        }
        let storm = connect_idle(target, args, false, 1, "reconnect storm").await;
        let took = storm.took;
        println!(
            "reconnect storm: {} of {} back and booted in {:.1} s ({:.0} per second), {} handshakes deferred (503 + Retry-After), {} failed and retried",
            storm.held,
            args.idle,
            took.as_secs_f64(),
            storm.held as f64 / took.as_secs_f64().max(1e-9),
            storm.deferred,
            storm.retried,
        );
        let holders = storm.holders;
        for h in holders {
            h.abort();
        }
        Some(took.as_secs_f64())
    } else {
        None
    };
    Ok(Measured {
        cpu_per_answer_us,
        connections_per_second,
        kib_per_connection: per / 1024.0,
        storm_seconds,
    })
}

fn rss_or(target: &Target, fallback: u64) -> u64 {
    match target.rss() {
        0 => fallback,
        n => n,
    }
}

/// Starts the ocpp-rpc peer (bench/ocpp-rpc, installed with npm on first
/// use): the process and its `ws://.../ocpp` base.
async fn spawn_ocpp_rpc(dir: &std::path::Path) -> anyhow::Result<(tokio::process::Child, String)> {
    if !dir.join("server.js").exists() {
        bail!(
            "{} has no server.js: run the benchmark from the repository's root, or give --peer-dir",
            dir.display()
        );
    }
    if !dir.join("node_modules/ocpp-rpc").exists() {
        println!("installing ocpp-rpc with npm in {}", dir.display());
        let status = tokio::process::Command::new("npm")
            .args(["ci", "--silent", "--no-audit", "--no-fund"])
            .current_dir(dir)
            .status()
            .await
            .context("could not run npm (Node.js and npm are needed for --peer ocpp-rpc)")?;
        if !status.success() {
            bail!("npm ci failed in {}", dir.display());
        }
    }
    let mut child = tokio::process::Command::new("node")
        .args(["server.js", "0"])
        .current_dir(dir)
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .context("could not start node")?;
    let stdout = child.stdout.take().context("no stdout from node")?;
    let mut lines = tokio::io::BufReader::new(stdout).lines();
    let line = tokio::time::timeout(Duration::from_secs(20), lines.next_line())
        .await
        .context("ocpp-rpc did not start within 20 s")??
        .context("ocpp-rpc exited before listening")?;
    let port = line
        .strip_prefix("ocpp-rpc listening on ")
        .context("unexpected output from the ocpp-rpc peer")?
        .trim()
        .to_owned();
    Ok((child, format!("ws://127.0.0.1:{port}/ocpp")))
}

/// Runs the OCPP benchmark.
pub async fn ocpp(args: OcppArgs) -> anyhow::Result<()> {
    let nodes = spawn_nodes(
        args.database_url.as_deref(),
        &args.cluster,
        &[
            ("PLUGWAY_OCPP_AUTO_REGISTER", "true"),
            (
                "PLUGWAY_OCPP__MESSAGE_LOG",
                if args.message_log { "1" } else { "0" },
            ),
        ],
    )
    .await?;
    let target = Target {
        bases: nodes
            .iter()
            .map(|n| format!("{}/ocpp", n.base.replace("http://", "ws://")))
            .collect(),
        pids: nodes.iter().filter_map(|n| n.pid).collect(),
    };
    println!(
        "plugway bench ocpp: {} over {} ({}, message log {})",
        if nodes.len() == 1 {
            format!("server {}", target.node_of(0))
        } else {
            format!(
                "{} nodes on one PostgreSQL and NATS {}, charge points spread over them",
                nodes.len(),
                args.cluster.nats_url
            )
        },
        args.version.subprotocol(),
        if args.database_url.is_some() {
            "PostgreSQL"
        } else {
            "SQLite"
        },
        if args.message_log { "on" } else { "off" }
    );
    let ours = measure(&target, &args).await?;
    drop(nodes);
    let Some(peer) = args.peer else {
        return Ok(());
    };
    match peer {
        Peer::OcppRpc => {
            let (child, base) = spawn_ocpp_rpc(&args.peer_dir).await?;
            println!();
            println!(
                "ocpp-rpc (Node.js {}, strict schema checks, keeps nothing) on {base}, the same load:",
                node_version().await.unwrap_or_else(|| "?".into())
            );
            let peer_target = Target {
                bases: vec![base],
                pids: child.id().into_iter().collect(),
            };
            let theirs = measure(&peer_target, &args).await?;
            drop(child);
            println!();
            println!("                                  Plugway    ocpp-rpc   Plugway / ocpp-rpc");
            println!(
                "server CPU per MeterValues (µs) {:>9.1} {:>11.1} {:>12.2}",
                ours.cpu_per_answer_us,
                theirs.cpu_per_answer_us,
                ours.cpu_per_answer_us / theirs.cpu_per_answer_us.max(1e-9)
            );
            println!(
                "connections accepted per second {:>8.0} {:>11.0} {:>12.2}",
                ours.connections_per_second,
                theirs.connections_per_second,
                ours.connections_per_second / theirs.connections_per_second.max(1e-9)
            );
            println!(
                "memory per idle connection (KiB) {:>7.1} {:>11.1} {:>12.2}",
                ours.kib_per_connection,
                theirs.kib_per_connection,
                ours.kib_per_connection / theirs.kib_per_connection.max(1e-9)
            );
            if let (Some(a), Some(b)) = (ours.storm_seconds, theirs.storm_seconds) {
                println!(
                    "reconnect storm, all back (s)    {a:>7.1} {b:>11.1} {:>12.2}",
                    a / b.max(1e-9)
                );
            }
        }
    }
    Ok(())
}

async fn node_version() -> Option<String> {
    let out = tokio::process::Command::new("node")
        .arg("--version")
        .output()
        .await
        .ok()?;
    Some(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_process_cpu_time_is_read_from_proc() {
        let pid = std::process::id();
        let used = cpu_seconds(pid).unwrap();
        // Spin until the kernel has counted at least one more tick.
        let start = Instant::now();
        while cpu_seconds(pid).unwrap() <= used && start.elapsed() < Duration::from_secs(5) {}
        assert!(cpu_seconds(pid).unwrap() > used);
        assert_eq!(cpu_seconds(u32::MAX), None);
    }

    #[test]
    fn a_process_storage_writes_are_read_from_proc() {
        assert!(storage_write_bytes(std::process::id()).is_some());
        assert_eq!(storage_write_bytes(u32::MAX), None);
    }
}
