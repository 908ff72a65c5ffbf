//! `plugway bench payments`: wallet payments of purchases per second over
//! HTTP (seed 001's `POST /purchases/{id}/pay` with `EVM`).
//!
//! It starts `plugway serve --dev`, signs in a host and `--drivers`
//! drivers, and writes `--payments` finished sessions with their purchases
//! straight into the server's database through the store (the only other
//! way to get a purchase is a whole charging session, which is what
//! `bench sessions` measures). Each driver's wallet is credited by an admin
//! with enough for all but one of their purchases. Then `--concurrency`
//! clients pay every purchase, in random order so payments on one wallet
//! race. Each paid purchase posts one ledger entry (wallet, host earnings,
//! commission, tax); exactly one payment per driver must be refused with
//! `insufficient_funds`, every wallet must end at 0 and the ledger must
//! verify, or the benchmark fails.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::Args;
use futures::{StreamExt, TryStreamExt};
use plugway_domain::ledger::{AccountKind, AccountRef};
use plugway_domain::{
    price, ChargePointId, ChargingSessionId, Cost, Currency, IdGenerator, MeterReading, PurchaseId,
    RandomIds, SessionState, SiteTimeZone, Tariff, Usage, UserId,
};
use plugway_store::{ChargingSession, Purchase, SessionOrigin, Store};
use rand::seq::SliceRandom;
use serde_json::{json, Value};

use super::sessions::{field, percentile, sign_in_user};
use super::{phone, post, progress, spawn_server};
use crate::cli::DatabaseArgs;

/// `bench payments` flags.
#[derive(Debug, Args)]
pub struct PaymentsArgs {
    /// Purchases to pay.
    #[arg(long, default_value_t = 5000)]
    pub payments: u32,
    /// Drivers the purchases are spread over (one wallet each).
    #[arg(long, default_value_t = 100)]
    pub drivers: u32,
    /// Concurrent clients paying.
    #[arg(long, default_value_t = 32)]
    pub concurrency: usize,
    /// Database for the server [default: SQLite in a temporary directory].
    /// Use an empty PostgreSQL database.
    #[arg(long, value_name = "URL")]
    pub database_url: Option<String>,
}

/// The charge point every bench session is on.
const CHARGE_POINT: &str = "BENCH-PAY";
/// Sessions written to the database at once while setting up.
const SETUP_PARALLEL: usize = 8;

/// A driver: their token, account and purchases.
struct Driver {
    token: String,
    id: UserId,
    purchases: Vec<PurchaseId>,
}

/// What the paying clients saw.
#[derive(Default)]
struct Counts {
    paid: AtomicU64,
    insufficient: AtomicU64,
    other: AtomicU64,
}

/// How long each bench session charged.
const SESSION_MINUTES: i64 = 30;

/// Every bench session's tariff and cost: 10 kWh at 250 minor units per kWh
/// with 20 % tax, 2,500 + 500 = 3,000.
fn bench_price(currency: Currency) -> (Tariff, Cost) {
    let mut tariff = Tariff::simple(currency, SiteTimeZone::utc(), 250, 0, 0);
    tariff.tax_basis_points = 2_000;
    let stop = plugway_domain::Clock::now(&plugway_domain::SystemClock);
    let usage = Usage {
        started_at: stop - chrono::Duration::minutes(SESSION_MINUTES),
        meter_start_wh: 0,
        readings: vec![MeterReading {
            at: stop,
            energy_wh: 10_000,
        }],
        ended_at: stop,
        waiting: Vec::new(),
    };
    let cost = price(&tariff, &usage);
    (tariff, cost)
}

/// Writes one finished session of `driver` on `connector` and its purchase,
/// as the charging engine does on StopTransaction.
async fn write_purchase(
    store: &dyn Store,
    driver: UserId,
    host: UserId,
    connector: i64,
    (tariff, cost): &(Tariff, Cost),
) -> anyhow::Result<PurchaseId> {
    let now = plugway_domain::Clock::now(&plugway_domain::SystemClock);
    let started = now - chrono::Duration::minutes(SESSION_MINUTES);
    let mut session = ChargingSession {
        id: ChargingSessionId(RandomIds.new_uuid(now)),
        user_id: Some(driver),
        evse_id: None,
        host_id: Some(host),
        charge_point_id: ChargePointId::from_stored(CHARGE_POINT.into()),
        connector_id: connector,
        id_tag: "BENCH".into(),
        origin: SessionOrigin::App,
        state: SessionState::Charging,
        transaction_id: None,
        tariff: tariff.clone(),
        meter_start_wh: Some(0),
        last_meter_wh: Some(0),
        last_meter_at: Some(started),
        waiting: Vec::new(),
        failure: None,
        created_at: started,
        started_at: Some(started),
        stopped_at: None,
        purchase_id: None,
        updated_at: started,
    };
    store.create_charging_session(&session, 1).await?;
    session.state = SessionState::Finished;
    session.last_meter_wh = Some(10_000);
    session.last_meter_at = Some(now);
    session.stopped_at = Some(now);
    session.updated_at = now;
    let purchase = Purchase {
        id: PurchaseId(RandomIds.new_uuid(now)),
        session_id: session.id,
        user_id: Some(driver),
        host_id: Some(host),
        evse_id: None,
        charge_point_id: session.charge_point_id.clone(),
        connector_id: connector,
        cost: *cost,
        tariff: tariff.clone(),
        started_at: started,
        stopped_at: now,
        payment_status: "unpaid".into(),
        feedback_score: None,
        feedback_description: None,
        feedback_at: None,
        created_at: now,
        hold_reason: None,
    };
    Ok(store.finish_charging_session(&session, &purchase).await?.id)
}

/// Pays one purchase; its latency is kept when the server answered 200 or 409.
async fn pay_one(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    purchase: PurchaseId,
    counts: &Counts,
) -> Option<Duration> {
    let sent = Instant::now();
    let response = http
        .post(format!("{base}/api/v1/purchases/{purchase}/pay"))
        .bearer_auth(token)
        .json(&json!({"option": "EVM"}))
        .send()
        .await;
    let (status, body) = match response {
        Ok(r) => (
            r.status().as_u16(),
            r.json::<Value>().await.unwrap_or_default(),
        ),
        Err(e) => (0, json!(e.to_string())),
    };
    let elapsed = sent.elapsed();
    let invoice = purchase.to_text();
    match status {
        200 if field(&body, "option") == "EVM" && field(&body, "invoiceId") == invoice.as_str() => {
            counts.paid.fetch_add(1, Ordering::Relaxed);
        }
        409 if field(&body, "code") == "insufficient_funds" => {
            counts.insufficient.fetch_add(1, Ordering::Relaxed);
        }
        _ => {
            if counts.other.fetch_add(1, Ordering::Relaxed) == 0 {
                eprintln!("first unexpected answer: {status} {body}");
            }
            return None;
        }
    }
    Some(elapsed)
}

/// Runs the benchmark.
pub async fn run(args: PaymentsArgs) -> anyhow::Result<()> {
    if args.drivers == 0 || args.payments < args.drivers || args.concurrency == 0 {
        bail!("--drivers and --concurrency must be 1 or more, --payments at least --drivers");
    }
    let db_url = args.database_url.as_deref();
    let server = spawn_server(db_url).await?;
    let base = server.base.clone();
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(args.concurrency)
        .build()?;
    println!(
        "plugway bench payments: {} purchases over {} drivers, {} clients, server {base} ({})",
        args.payments,
        args.drivers,
        args.concurrency,
        if db_url.is_some() {
            "PostgreSQL"
        } else {
            "SQLite"
        }
    );
    let admin = super::admin_key(&server, db_url).await?;
    // The server's own database, opened a second time (SQLite WAL allows a
    // second process), so purchases exist without running a charger each.
    let config = crate::load_database_config(&DatabaseArgs {
        config: None,
        data_dir: Some(server.dir.path().to_path_buf()),
        database_url: args.database_url.clone(),
    })?;
    let currency = Currency::parse(&config.money.wallet_currency)
        .map_err(|e| anyhow::anyhow!("money.wallet_currency: {}", e.message))?;
    let store = crate::open_store(&config).await?;

    // The host, whose charge point the sessions are on; the drivers.
    let (_, host) = sign_in_user(&http, &base, &phone(600_000, 0)).await?;
    post(
        &http,
        format!("{base}/api/v1/charge-points"),
        json!({"id": CHARGE_POINT, "owner_id": host}),
        Some(&admin),
    )
    .await?;
    let host: UserId = host.parse().context("host id")?;
    let bar = progress(u64::from(args.drivers), "drivers signing in");
    let mut drivers = Vec::new();
    for n in 0..args.drivers {
        let (token, id) = sign_in_user(&http, &base, &phone(610_000, u64::from(n))).await?;
        drivers.push(Driver {
            token,
            id: id.parse().context("driver id")?,
            purchases: Vec::new(),
        });
        bar.inc(1);
    }
    bar.finish_and_clear();

    // Purchases: each driver charges one after another on their own
    // connector (one active session per connector and per driver), drivers
    // in parallel.
    let priced = bench_price(currency);
    if priced.1.total <= 0 || priced.1.tax <= 0 {
        bail!("the bench tariff priced a session at {:?}", priced.1);
    }
    let bar = progress(u64::from(args.payments), "purchases (store)");
    let (store_ref, priced_ref, bar_ref) = (store.as_ref(), &priced, &bar);
    let (payments, driver_count) = (args.payments, args.drivers);
    let drivers: Vec<Driver> = futures::stream::iter(drivers.into_iter().zip(0_u32..))
        .map(|(mut driver, index)| async move {
            // Purchase `n` is driver `n % drivers`'s.
            let own = payments.saturating_sub(index).div_ceil(driver_count);
            let connector = i64::from(index) + 1;
            for _ in 0..own {
                let id = write_purchase(store_ref, driver.id, host, connector, priced_ref).await?;
                driver.purchases.push(id);
                bar_ref.inc(1);
            }
            anyhow::Ok(driver)
        })
        .buffer_unordered(SETUP_PARALLEL)
        .try_collect()
        .await?;
    bar.finish_and_clear();

    // Enough for all but one purchase each: the last payment on every
    // wallet, whichever it is, must be refused.
    let total = priced.1.total;
    let bar = progress(u64::from(args.drivers), "wallets credited (admin)");
    for driver in &drivers {
        let owed = total * (driver.purchases.len() as i64 - 1);
        if owed > 0 {
            post(
                &http,
                format!("{base}/api/v1/admin/wallets/{}/credit", driver.id),
                json!({"amount": currency.to_major(owed), "reason": "bench"}),
                Some(&admin),
            )
            .await?;
        }
        bar.inc(1);
    }
    bar.finish_and_clear();

    // Every purchase, shuffled so concurrent clients often pay from the
    // same wallet.
    let mut work: Vec<(String, PurchaseId)> = drivers
        .iter()
        .flat_map(|d| d.purchases.iter().map(|p| (d.token.clone(), *p)))
        .collect();
    work.shuffle(&mut rand::thread_rng());
    let work = Arc::new(work);
    let next = Arc::new(AtomicUsize::new(0));
    let counts = Arc::new(Counts::default());
    let bar = progress(work.len() as u64, "paying (EVM)");
    let started = Instant::now();
    let clients: Vec<_> = (0..args.concurrency)
        .map(|_| {
            let (http, base, work, next, counts, bar) = (
                http.clone(),
                base.clone(),
                work.clone(),
                next.clone(),
                counts.clone(),
                bar.clone(),
            );
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                while let Some((token, purchase)) = work.get(next.fetch_add(1, Ordering::Relaxed)) {
                    latencies.extend(pay_one(&http, &base, token, *purchase, &counts).await);
                    bar.inc(1);
                }
                latencies
            })
        })
        .collect();
    let mut latencies = Vec::new();
    for client in clients {
        latencies.extend(client.await?);
    }
    let elapsed = started.elapsed();
    bar.finish_and_clear();
    latencies.sort();
    let paid = counts.paid.load(Ordering::Relaxed);
    let insufficient = counts.insufficient.load(Ordering::Relaxed);
    let other = counts.other.load(Ordering::Relaxed);
    println!(
        "wallet payments: {:.1} paid/s ({paid} in {:.2} s)   p50 {:.2} ms   p99 {:.2} ms   \
         200: {paid}   409 insufficient_funds: {insufficient}   other: {other}",
        paid as f64 / elapsed.as_secs_f64(),
        elapsed.as_secs_f64(),
        percentile(&latencies, 0.50),
        percentile(&latencies, 0.99),
    );

    // The books: every wallet spent to exactly 0, one refusal per wallet,
    // and the ledger's invariants.
    let mut problems = Vec::new();
    for driver in &drivers {
        let wallet = AccountRef::of(AccountKind::DriverWallet, driver.id, currency);
        let balance = store.account_balance(&wallet).await?;
        if balance != 0 {
            problems.push(format!("wallet of {} holds {balance}, not 0", driver.id));
        }
    }
    if insufficient != u64::from(args.drivers) || other != 0 {
        problems.push(format!(
            "expected {} refusals (one per wallet) and no other answers",
            args.drivers
        ));
    }
    let report = store.verify_ledger().await?;
    store.close().await;
    println!(
        "ledger: {} accounts, {} entries, {}",
        report.accounts,
        report.entries,
        if report.is_clean() {
            "the books balance"
        } else {
            "the books do NOT balance"
        }
    );
    if !report.is_clean() {
        problems.push(format!("ledger verify: {report:?}"));
    }
    drop(server);
    if !problems.is_empty() {
        bail!("{}", problems.join("; "));
    }
    println!("every wallet is at 0 and the books balance");
    Ok(())
}
