//! `plugway import sites FILE.csv --host USER`: the CSV import of sites with
//! their EVSEs (docs/import.md) from the command line, straight into the
//! database that `serve` uses (same database flags), through the same
//! service as `POST /api/v1/host/sites/import`, so the rules and the
//! all-or-nothing behaviour are the same. A progress bar (over the file's
//! bytes while checking, over the EVSEs while writing) is drawn on stderr
//! when stdout is a terminal; the summary goes to stdout; a bad file prints
//! its report on stderr and exits non-zero, having written nothing.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::Context;
use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use plugway_app::site_import::{self, ImportError, Progress, Report};

use crate::cli::DatabaseArgs;

/// `import` subcommands.
#[derive(Debug, Subcommand)]
pub enum ImportCommand {
    /// Import sites with their EVSEs from a CSV file, one row per EVSE
    /// (format: docs/import.md). All or nothing: if any row is bad, nothing
    /// is imported and every problem is listed. Sites and EVSEs wait for an
    /// admin's approval, as when created over the API.
    Sites(ImportSitesArgs),
}

/// `import sites` flags.
#[derive(Debug, Clone, Args)]
pub struct ImportSitesArgs {
    /// Database location.
    #[command(flatten)]
    pub database: DatabaseArgs,

    /// The CSV file.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,

    /// The host who will own the sites: their account id or phone number
    /// (the account must be a host).
    #[arg(long, value_name = "USER")]
    pub host: String,
}

/// Runs an `import` subcommand.
pub async fn run(command: ImportCommand) -> anyhow::Result<()> {
    match command {
        ImportCommand::Sites(args) => sites(args).await,
    }
}

async fn sites(args: ImportSitesArgs) -> anyhow::Result<()> {
    let file = std::fs::File::open(&args.file)
        .with_context(|| format!("cannot open {}", args.file.display()))?;
    let size = file.metadata().map(|m| m.len()).unwrap_or(0);
    let config = crate::load_database_config(&args.database)?;
    let store = crate::open_store(&config).await?;
    let result = async {
        let (state, _) = crate::serve::build_state(&config, store.clone())?;
        let host = site_import::find_host(&state, &args.host, "host")
            .await
            .map_err(|e| anyhow::anyhow!("--{}", e.message))?;
        let bar = progress_bar(size);
        let outcome = site_import::import(&state, host, file, on_progress(bar.clone())).await;
        bar.finish_and_clear();
        Ok::<_, anyhow::Error>((host, outcome))
    }
    .await;
    store.close().await;
    let (host, outcome) = result?;
    let name = args.file.display();
    match outcome {
        Ok(summary) => {
            println!(
                "imported {} sites with {} EVSEs from {name} for host {host}; they wait for an admin's approval",
                summary.sites, summary.evses
            );
            Ok(())
        }
        Err(ImportError::Invalid(report)) => {
            print_report(&name.to_string(), &report);
            anyhow::bail!("{name} is invalid; nothing was imported")
        }
        Err(ImportError::Conflict(report)) => {
            print_report(&name.to_string(), &report);
            anyhow::bail!("{name} clashed with existing data; nothing was kept")
        }
        Err(ImportError::Failed(e)) => {
            anyhow::bail!("the import failed ({}); nothing was kept", e.message)
        }
    }
}

/// A bar over the file's bytes; hidden when stdout is not a terminal.
fn progress_bar(size: u64) -> ProgressBar {
    if !std::io::stdout().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(size);
    bar.set_style(style(
        "checking  [{bar:40}] {bytes}/{total_bytes} {msg} ({elapsed})",
    ));
    bar
}

fn style(template: &str) -> ProgressStyle {
    ProgressStyle::with_template(template)
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ")
}

/// Moves the bar: bytes while checking, then EVSEs while writing.
fn on_progress(bar: ProgressBar) -> impl Fn(Progress) + Send + Sync + 'static {
    let writing = AtomicBool::new(false);
    move |progress| match progress {
        Progress::Validating { bytes, rows } => {
            bar.set_position(bytes);
            bar.set_message(format!("{rows} rows"));
        }
        Progress::Importing { done, total } => {
            if !writing.swap(true, Ordering::Relaxed) {
                bar.set_style(style("importing [{bar:40}] {pos}/{len} EVSEs ({elapsed})"));
                bar.set_length(total);
                bar.set_message("");
            }
            bar.set_position(done);
        }
    }
}

fn print_report(name: &str, report: &Report) {
    eprintln!("{name}: {}", report.summary());
    for e in &report.errors {
        match &e.column {
            Some(column) => eprintln!("  line {}, {column}: {} ({})", e.row, e.message, e.code),
            None => eprintln!("  line {}: {} ({})", e.row, e.message, e.code),
        }
    }
}
