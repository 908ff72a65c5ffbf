//! `plugway bench search`: charger search over a generated network of
//! 1,000,000 connectors (see [`super::network_gen`] for its shape), in
//! process and over HTTP, on SQLite or PostgreSQL.
//!
//! The query mix is what drivers send: a point where chargers are (a city
//! picked by its size, scattered like its sites), a 10 km radius, and in
//! about half the queries a filter (connector standard, minimum power,
//! facility, available now, a word). Each query returns the first page of
//! 20 sites with their EVSEs, nearest first, as `GET /api/v1/sites` does
//! (on the index: its JSON body, each site's view cached on first use).

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::Args;
use plugway_api::routes::discovery::{build_search, indexed_page_json, SearchQuery};
use plugway_app::network::{load_sites, render, search};
use plugway_app::search_index::{SearchIndex, SearchIndexSettings};
use plugway_domain::{Clock, Currency, SiteTimeZone, SystemClock};
use plugway_store::{SiteListFilter, Store};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::network_gen::{self, City, Owner};
use super::{phase, progress, Op};
use crate::config::Config;

/// `bench search` flags.
#[derive(Debug, Args)]
pub struct SearchArgs {
    /// Connectors to generate (when the database holds no sites yet).
    #[arg(long, default_value_t = 1_000_000)]
    pub connectors: usize,
    /// Database [default: SQLite in --data-dir]. An empty one is filled
    /// with the generated network; one filled by an earlier run is reused.
    #[arg(long, value_name = "URL")]
    pub database_url: Option<String>,
    /// Keep the SQLite database here between runs [default: a temporary
    /// directory, removed at the end].
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<std::path::PathBuf>,
    /// Queries timed one after another in process.
    #[arg(long, default_value_t = 2_000)]
    pub queries: usize,
    /// Seconds of HTTP load.
    #[arg(long, default_value_t = 10)]
    pub duration: u64,
    /// Concurrent HTTP clients.
    #[arg(long, default_value_t = 32)]
    pub concurrency: usize,
    /// Seed of the generated network and the queries.
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    /// Serve the HTTP phase from the database, not the in-memory index
    /// (to compare the two).
    #[arg(long)]
    pub http_on_database: bool,
}

/// This process's resident memory, MiB (Linux; 0 elsewhere).
fn resident_mib() -> f64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| {
            s.split_whitespace()
                .nth(1)
                .and_then(|p| p.parse::<f64>().ok())
        })
        .map_or(0.0, |pages| pages * 4096.0 / (1024.0 * 1024.0))
}

/// One driver query.
#[derive(Debug, Clone)]
struct QuerySpec {
    lat: f64,
    lng: f64,
    filter: &'static str,
}

/// The filters of the mix, as query-string fragments, with their shares.
const FILTERS: [(&str, f64); 6] = [
    ("", 0.50),
    ("&standards=CCS2", 0.15),
    ("&min_power_kw=50", 0.10),
    ("&standards=TYPE_2&available_now=true", 0.10),
    ("&facilities=CAFE", 0.10),
    ("&q=station", 0.05),
];

fn mix(rng: &mut StdRng, cities: &[City], n: usize) -> Vec<QuerySpec> {
    (0..n)
        .filter_map(|_| {
            let city = network_gen::pick(rng, cities)?;
            let at = network_gen::scatter(rng, city, city.sigma_m);
            let x: f64 = rng.gen();
            let mut acc = 0.0;
            let filter = FILTERS
                .iter()
                .find(|(_, share)| {
                    acc += share;
                    x < acc
                })
                .map_or("", |(f, _)| *f);
            Some(QuerySpec {
                lat: at.lat,
                lng: at.lng,
                filter,
            })
        })
        .collect()
}

impl QuerySpec {
    fn query_string(&self) -> String {
        format!(
            "lat={:.6}&lng={:.6}&radius_km=10&page_size=20{}",
            self.lat, self.lng, self.filter
        )
    }

    fn search_query(&self) -> anyhow::Result<SearchQuery> {
        let query: SearchQuery = serde_urlencoded_from(&self.query_string())?;
        Ok(query)
    }
}

/// Parses a query string the way the HTTP extractor does.
fn serde_urlencoded_from(text: &str) -> anyhow::Result<SearchQuery> {
    let uri: axum::http::Uri = format!("/?{text}").parse()?;
    let axum::extract::Query(q) = axum::extract::Query::<SearchQuery>::try_from_uri(&uri)
        .map_err(|e| anyhow::anyhow!("bad query {text}: {e}"))?;
    Ok(q)
}

/// The in-process latencies of one way of searching.
#[derive(Default)]
struct Timings {
    search: Vec<Duration>,
    whole: Vec<Duration>,
    matched: usize,
}

impl Timings {
    /// Query `i` matched `matched` sites; the first 200 warm the caches
    /// and are not counted.
    fn record(&mut self, i: usize, matched: usize, search: Duration, whole: Duration) {
        if i >= 200 {
            self.matched += matched;
            self.search.push(search);
            self.whole.push(whole);
        }
    }

    fn print(mut self, title: &str, search: &str, whole: &str) {
        self.search.sort();
        self.whole.sort();
        println!(
            "{title}, {} queries, mean {:.0} sites matched per query",
            self.whole.len(),
            self.matched as f64 / self.whole.len().max(1) as f64
        );
        for (label, sorted) in [(search, &self.search), (whole, &self.whole)] {
            println!(
                "  {label:<48} p50 {:.3} ms   p99 {:.3} ms",
                percentile(sorted, 0.5),
                percentile(sorted, 0.99)
            );
        }
    }
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len().saturating_sub(1)) as f64 * p).round() as usize;
    sorted.get(i).map_or(0.0, |d| d.as_secs_f64() * 1000.0)
}

/// Fills an empty store with the generated network.
async fn generate(
    store: &dyn Store,
    args: &SearchArgs,
    cities: &[City],
    rng: &mut StdRng,
) -> anyhow::Result<()> {
    let now = SystemClock.now();
    let ids = plugway_domain::RandomIds;
    // One host owns the generated network: a real account, so the rows are
    // what the API would have written.
    let host = plugway_store::NewUser {
        id: plugway_domain::UserId(plugway_domain::IdGenerator::new_uuid(&ids, now)),
        name: Some("Benchmark Host".into()),
        email: None,
        role: plugway_domain::Role::Host,
        password_hash: None,
        referral_code: plugway_domain::ReferralCode::generate(&mut rand::thread_rng()),
        created_at: now,
    };
    let phone = plugway_domain::PhoneNumber::parse("+97688999999", None)?;
    let user = store.create_user(&host, &phone, true).await?;
    let owner = Owner {
        host: user.id,
        currency: Currency::parse("EUR")?,
        zone: SiteTimeZone::parse("Europe/Berlin")?,
    };
    let bar = progress(args.connectors as u64, "generating connectors");
    let mut made = 0;
    let started = Instant::now();
    while made < args.connectors {
        let (chunk, connectors) = network_gen::sites(rng, cities, owner, 2_000, now, &ids);
        store.insert_sites_bulk(&chunk).await?;
        made += connectors;
        bar.set_position(made.min(args.connectors) as u64);
    }
    bar.finish_and_clear();
    println!(
        "generated {made} connectors in {} sites in {:.0} s",
        store.count_sites(&SiteListFilter::default()).await?,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Runs the benchmark.
pub async fn run(args: SearchArgs) -> anyhow::Result<()> {
    let temp = tempfile::tempdir()?;
    let data_dir = args
        .data_dir
        .clone()
        .unwrap_or_else(|| temp.path().to_path_buf());
    let config = Config {
        data_dir: data_dir.clone(),
        database_url: args.database_url.clone(),
        dev: true,
        dev_allow_postgres: true,
        search: crate::config::SearchConfig {
            in_memory: !args.http_on_database,
            ..crate::config::SearchConfig::default()
        },
        ..Config::default()
    };
    let store = crate::open_store(&config).await?;
    let mut rng = StdRng::seed_from_u64(args.seed);
    let cities = network_gen::cities(&mut rng);
    let existing = store.count_sites(&SiteListFilter::default()).await?;
    if existing == 0 {
        generate(store.as_ref(), &args, &cities, &mut rng).await?;
    } else {
        println!("reusing the {existing} sites already in the database");
    }
    println!("backend: {}", store.backend());
    // A database fresh from a bulk load has no planner statistics yet; a
    // running one has them (autovacuum on PostgreSQL), so measure with them.
    let analyzed = Instant::now();
    store.refresh_statistics().await?;
    println!(
        "planner statistics refreshed in {:.1} s",
        analyzed.elapsed().as_secs_f64()
    );

    // In process: the search service and the page load, one query at a time.
    let queries = mix(&mut rng, &cities, args.queries + 200);
    let now = SystemClock.now();
    let mut timings = Timings::default();
    let bar = progress(queries.len() as u64, "in-process queries");
    for (i, spec) in queries.iter().enumerate() {
        let request = build_search(spec.search_query()?).map_err(|e| anyhow::anyhow!("{e:?}"))?;
        let t = Instant::now();
        let found = search(store.as_ref(), now, request, 0, 20)
            .await
            .map_err(|e| anyhow::anyhow!("{e:?}"))?;
        let searched = t.elapsed();
        let page: Vec<_> = found.hits.iter().map(|h| h.site_id).collect();
        let loaded = load_sites(store.as_ref(), &page, true)
            .await
            .map_err(|e| anyhow::anyhow!("{e:?}"))?;
        let views = render(&loaded, &found.hits, now);
        timings.record(i, found.total, searched, t.elapsed());
        std::hint::black_box(views);
        bar.inc(1);
    }
    bar.finish_and_clear();
    timings.print(
        "in process in the database (10 km + filter mix)",
        "search (rank, cut, count, page of 20 ids)",
        "search + first page of 20 with EVSEs",
    );

    // In process on the in-memory index (what drivers' searches use): its
    // load time and size, then the same queries, each catching up with
    // the change feed first as a real search does.
    let rss_before = resident_mib();
    let loaded_at = Instant::now();
    let index = SearchIndex::new(store.clone(), SearchIndexSettings::default());
    index.warm().await.map_err(|e| anyhow::anyhow!("{e}"))?;
    println!(
        "search index: {} sites loaded in {:.1} s, resident memory +{:.0} MiB",
        index.len(),
        loaded_at.elapsed().as_secs_f64(),
        resident_mib() - rss_before
    );
    let mut timings = Timings::default();
    let bar = progress(queries.len() as u64, "in-process queries on the index");
    for (i, spec) in queries.iter().enumerate() {
        let request = build_search(spec.search_query()?).map_err(|e| anyhow::anyhow!("{e:?}"))?;
        let t = Instant::now();
        index.catch_up().await.map_err(|e| anyhow::anyhow!("{e}"))?;
        let (found, sites) = index.search(now, &request, 0, 20);
        let searched = t.elapsed();
        // The reply's body as the HTTP handler writes it: a site seen for
        // the first time is serialized, later ones come from its cache.
        let count = i64::try_from(found.total)?;
        let body = indexed_page_json(&found, &sites, now, count, 1, 20)?;
        timings.record(i, found.total, searched, t.elapsed());
        std::hint::black_box(body);
        bar.inc(1);
    }
    bar.finish_and_clear();
    timings.print(
        "in process on the index",
        "catch up + search (filter, rank, count, page)",
        "... + first page of 20 with EVSEs as JSON",
    );
    drop(index);

    // Over HTTP: the real router on loopback, load from this process. The
    // server's own index is loaded before the clock starts, as `serve`
    // does at start.
    let (state, _ocpp) = crate::serve::build_state(&config, store.clone())?;
    if args.http_on_database {
        println!("HTTP searches run in the database (--http-on-database)");
    } else {
        state
            .search_index()
            .warm()
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(plugway_api::serve(
        listener,
        state,
        axum::Router::new(),
        async {
            let _ = stopped.await;
        },
    ));
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(args.concurrency)
        .build()?;
    let urls: Arc<Vec<String>> = Arc::new(
        mix(&mut rng, &cities, 10_000)
            .iter()
            .map(|q| format!("{base}/api/v1/sites?{}", q.query_string()))
            .collect(),
    );
    let op: Op = Arc::new(move |n| {
        let http = http.clone();
        let urls = urls.clone();
        Box::pin(async move {
            let url = urls
                .get(n as usize % urls.len().max(1))
                .context("no urls")?;
            let response = http.get(url).send().await?;
            let status = response.status();
            let body = response.bytes().await?;
            if !status.is_success() {
                bail!("{status}: {}", String::from_utf8_lossy(&body));
            }
            Ok(())
        })
    });
    let result = phase(
        "GET /api/v1/sites (10 km + filters)",
        args.concurrency,
        Duration::from_secs(args.duration),
        op,
    )
    .await;
    println!(
        "over HTTP, {} clients on loopback (server and load share the machine):",
        args.concurrency
    );
    result.print();
    let _ = stop.send(());
    let _ = server.await;
    store.close().await;
    Ok(())
}
