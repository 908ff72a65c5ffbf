//! `plugway simulate`: virtual charge points against a running central system.

use std::time::{Duration, Instant};

use clap::Args;
use plugway_sim::{ChargePoint, SimConfig, SimVersion};

/// `simulate` flags.
#[derive(Debug, Args)]
pub struct SimulateArgs {
    /// The central system's OCPP base URL; chargers connect to URL/ID.
    #[arg(long, default_value = "ws://127.0.0.1:8080/ocpp")]
    pub url: String,
    /// How many virtual charge points.
    #[arg(long, default_value_t = 1)]
    pub chargers: u32,
    /// Their ids are PREFIX-0001, PREFIX-0002, ... (or exactly PREFIX with --chargers 1).
    #[arg(long, default_value = "SIM")]
    pub id_prefix: String,
    /// Basic-auth password for all of them (omit when the server runs
    /// --ocpp-auto-register).
    #[arg(long, env = "PLUGWAY_SIM_PASSWORD")]
    pub password: Option<String>,
    /// Connectors per charger.
    #[arg(long, default_value_t = 2)]
    pub connectors: u32,
    /// Seconds between meter values while charging.
    #[arg(long, default_value_t = 10)]
    pub meter_interval: u64,
    /// Stop after this many seconds (default: run until Ctrl-C).
    #[arg(long)]
    pub duration: Option<u64>,
    /// The OCPP version the chargers speak: 1.6 or 2.0.1 (a 2.0.1 station's
    /// connectors are its EVSEs).
    #[arg(long = "ocpp", default_value = "1.6", value_parser = parse_version)]
    pub version: SimVersion,
}

pub(crate) fn parse_version(text: &str) -> Result<SimVersion, String> {
    SimVersion::parse(text)
        .ok_or_else(|| format!("{text:?} is not an OCPP version we speak (1.6 or 2.0.1)"))
}

/// Runs the chargers until they stop.
pub async fn run(args: SimulateArgs) -> anyhow::Result<()> {
    let until = args
        .duration
        .map(|s| Instant::now() + Duration::from_secs(s));
    let mut tasks = Vec::new();
    for n in 1..=args.chargers {
        let id = if args.chargers == 1 {
            args.id_prefix.clone()
        } else {
            format!("{}-{n:04}", args.id_prefix)
        };
        let mut config = SimConfig::new(&args.url, &id, args.password.clone());
        config.connectors = args.connectors;
        config.version = args.version;
        config.meter_interval = Duration::from_secs(args.meter_interval.max(1));
        tasks.push(tokio::spawn(async move {
            match ChargePoint::start(config).await {
                Ok(cp) => match cp.run(until).await {
                    Ok(cp) => (id, Ok((cp.started, cp.stopped))),
                    Err(e) => (id, Err(e.to_string())),
                },
                Err(e) => (id, Err(e.to_string())),
            }
        }));
    }
    println!(
        "{} virtual charge point(s) speaking {} connecting to {}",
        args.chargers,
        args.version.subprotocol(),
        args.url
    );
    let mut failed = 0;
    for task in tasks {
        match task.await? {
            (id, Ok((started, stopped))) => {
                println!("{id}: {started} transaction(s) started, {stopped} stopped")
            }
            (id, Err(e)) => {
                failed += 1;
                eprintln!("{id}: {e}");
            }
        }
    }
    if failed > 0 {
        anyhow::bail!("{failed} charger(s) failed");
    }
    Ok(())
}
