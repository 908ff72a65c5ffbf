//! `plugway bench load`: site load management on one site of `--chargers`
//! simulated 22 kW AC chargers whose grid connection is `--limit-kw`
//! (default: 4 kW per charger, so from the tenth session on every start
//! lowers every running session).
//!
//! It starts `plugway serve --dev`, sets the site's limit, and starts one
//! session after another from the app. For each start it measures the time
//! from the start's answer (the charger's StartTransaction recorded) until
//! the sharing it caused is recorded, which happens once every charger
//! whose allowance changed has acknowledged its new charging profile (the
//! lowered ones first, then the raised). Chargers, drivers and server share
//! the machine.

use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::Args;
use serde_json::{json, Value};

use super::sessions::{field, percentile, sign_in_user};
use super::{phone, post, progress};

/// `bench load` flags.
#[derive(Debug, Args)]
pub struct LoadArgs {
    /// Chargers on the site (one connector each), 1 to 100 (a site's most
    /// EVSEs).
    #[arg(long, default_value_t = 50)]
    pub chargers: u32,
    /// The site's limit in kW [default: 4 kW per charger].
    #[arg(long)]
    pub limit_kw: Option<f64>,
    /// Database for the server [default: SQLite in a temporary directory].
    /// Use an empty PostgreSQL database.
    #[arg(long, value_name = "URL")]
    pub database_url: Option<String>,
}

/// The newest sharing of `site`, if any.
async fn newest_sharing(
    http: &reqwest::Client,
    base: &str,
    site: &str,
    token: &str,
) -> anyhow::Result<Option<Value>> {
    let page: Value = http
        .get(format!(
            "{base}/api/v1/host/sites/{site}/load-changes?limit=1"
        ))
        .bearer_auth(token)
        .send()
        .await?
        .json()
        .await?;
    Ok(field(&page, "items").get(0).cloned())
}

/// Runs the benchmark.
pub async fn run(args: LoadArgs) -> anyhow::Result<()> {
    let most = plugway_app::network::MAX_EVSES_PER_SITE;
    if args.chargers == 0 || args.chargers as usize > most {
        bail!("--chargers must be from 1 to {most} (a site has at most {most} EVSEs)");
    }
    let limit_kw = args.limit_kw.unwrap_or(4.0 * f64::from(args.chargers));
    if !limit_kw.is_finite() || limit_kw <= 0.0 {
        bail!("--limit-kw must be more than 0");
    }
    let server = super::spawn_server_with(
        args.database_url.as_deref(),
        &[
            ("PLUGWAY_SESSIONS__START_TIMEOUT_SECS", "60"),
            ("PLUGWAY_SESSIONS__STOP_TIMEOUT_SECS", "60"),
        ],
    )
    .await?;
    let base = server.base.clone();
    let http = reqwest::Client::new();
    println!(
        "plugway bench load: one site of {} chargers (22 kW AC) limited to {limit_kw} kW, on {base} ({})",
        args.chargers,
        if args.database_url.is_some() {
            "PostgreSQL"
        } else {
            "SQLite"
        }
    );
    let admin = super::admin_key(&server, args.database_url.as_deref()).await?;
    let (host, host_id) = sign_in_user(&http, &base, &phone(760_000, 0)).await?;
    http.put(format!("{base}/api/v1/host/profile"))
        .bearer_auth(&host)
        .json(&json!({"owner_name": "Bench Load", "contact_name": "Ops",
                      "contact_number": "+97699112233", "contact_email": "ops@example.com"}))
        .send()
        .await?
        .error_for_status()?;
    let created = post(
        &http,
        format!("{base}/api/v1/host/sites"),
        json!({
        "name": "Bench car park", "address": "Peace Avenue 1", "city": "Ulaanbaatar",
        "province": "Ulaanbaatar", "country_code": "mn", "latitude": 47.9, "longitude": 106.9,
        "time_zone": "Asia/Ulaanbaatar", "currency": "MNT"}),
        Some(&host),
    )
    .await?;
    let site = field(&created, "id")
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

    let lister = super::Lister {
        http: &http,
        base: &base,
        admin: &admin,
        host: &host,
        host_id: &host_id,
    };
    let bar = progress(u64::from(args.chargers), "chargers and EVSEs");
    let until = Instant::now() + Duration::from_secs(3600);
    let mut evses = Vec::new();
    let mut sims = Vec::new();
    let ws = format!("{}/ocpp", base.replace("http://", "ws://"));
    for n in 0..args.chargers {
        let cp = format!("LOAD-{n:04}");
        let (password, evse) = lister
            .listed_charger(
                &site,
                &cp,
                &format!("L-{n}"),
                json!({"per_kwh": 500, "waiting_per_minute": 0}),
                json!({"standard": "TYPE_2", "format": "SOCKET", "power_type": "AC_3_PHASE",
                       "max_voltage": 400, "max_amperage": 32, "max_power_kw": 22}),
            )
            .await?;
        let mut config = plugway_sim::SimConfig::new(&ws, &cp, Some(password));
        config.connectors = 1;
        config.power_w = 22_000;
        config.meter_interval = Duration::from_secs(30);
        let sim = plugway_sim::ChargePoint::start(config).await?;
        sims.push(tokio::spawn(sim.run(Some(until))));
        evses.push(evse);
        bar.inc(1);
    }
    bar.finish_and_clear();
    // Let the boots and status notifications land.
    tokio::time::sleep(Duration::from_secs(1)).await;

    let set_at = Instant::now();
    let reply = http
        .put(format!("{base}/api/v1/host/sites/{site}/power-limit"))
        .bearer_auth(&host)
        .json(&json!({"max_power_kw": limit_kw}))
        .send()
        .await?;
    if !reply.status().is_success() {
        bail!("setting the limit: {}", reply.text().await?);
    }
    let set: Value = reply.json().await?;
    println!(
        "limit set, every idle connector given its default profile: {:.1} ms",
        set_at.elapsed().as_secs_f64() * 1000.0
    );
    let mut last = field(field(&set, "sharing"), "id").as_i64().unwrap_or(0);

    let bar = progress(u64::from(args.chargers), "sessions started one by one");
    let mut waits = Vec::new();
    let mut sent = Vec::new();
    for (n, evse) in evses.iter().enumerate() {
        let (driver, _) = sign_in_user(&http, &base, &phone(770_000, n as u64)).await?;
        post(
            &http,
            format!("{base}/api/v1/devices/{evse}/start"),
            json!({}),
            Some(&driver),
        )
        .await?;
        let started = Instant::now();
        let sharing = loop {
            if started.elapsed() > Duration::from_secs(30) {
                bail!("no sharing recorded 30 s after start {n}");
            }
            match newest_sharing(&http, &base, &site, &host).await? {
                Some(s)
                    if field(&s, "id").as_i64().unwrap_or(0) > last
                        && field(&s, "reason") == "session_started" =>
                {
                    break s;
                }
                _ => tokio::time::sleep(Duration::from_millis(2)).await,
            }
        };
        waits.push(started.elapsed());
        last = field(&sharing, "id").as_i64().unwrap_or(last);
        let accepted = field(&sharing, "allocations").as_array().map_or(0, |a| {
            a.iter()
                .filter(|a| field(a, "outcome") == "accepted")
                .count()
        });
        let refused = field(&sharing, "allocations").as_array().map_or(0, |a| {
            a.iter()
                .filter(|a| matches!(field(a, "outcome").as_str(), Some("rejected" | "no_answer")))
                .count()
        });
        if refused > 0 {
            bail!("start {n}: {refused} chargers refused their profile: {sharing}");
        }
        sent.push(accepted);
        bar.inc(1);
    }
    bar.finish_and_clear();
    let last_wait = waits.last().copied();
    let most_sent = sent.iter().copied().max().unwrap_or(0);
    let mut sorted = waits.clone();
    sorted.sort();
    println!(
        "start → every changed charger's profile acknowledged (sharing recorded), {} starts:",
        waits.len()
    );
    println!(
        "  p50 {:.1} ms · p95 {:.1} ms · max {:.1} ms",
        percentile(&sorted, 0.5),
        percentile(&sorted, 0.95),
        percentile(&sorted, 1.0)
    );
    println!(
        "  the last start ({} sessions, {} profiles acknowledged): {:.1} ms",
        args.chargers,
        sent.last().copied().unwrap_or(0),
        last_wait.map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    );
    println!("  most profiles in one sharing: {most_sent}");
    for sim in sims {
        sim.abort();
    }
    Ok(())
}
