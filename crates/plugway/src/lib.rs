//! The `plugway` binary's wiring: parse the command line, load and check the
//! configuration, open the store, build the application, serve until told
//! to stop. The only crate that knows every other one.

pub mod bench;
pub mod cli;
pub mod config;
pub mod import;
pub mod nats;
mod secrets;
pub mod serve;
pub mod simulate;

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::Parser;
use plugway_domain::{ApiKeyRole, RandomIds, SystemClock};
use plugway_store::Store;
use plugway_store_postgres::{PostgresOptions, PostgresStore};
use plugway_store_sqlite::SqliteStore;

use crate::cli::{
    ApiKeyCommand, Cli, Command, DatabaseArgs, LedgerCommand, OcpiCommand, UserCommand,
};
use crate::config::{Config, Database};

/// Runs the command line; the process exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve(args) => {
            let config = config::load(args.database.config.as_deref(), &args)?;
            config.validate()?;
            serve::init_tracing(&config.log_format);
            serve::serve(config).await
        }
        Command::Bench(command) => bench::run(command).await,
        Command::Simulate(args) => simulate::run(args).await,
        Command::Import(command) => import::run(command).await,
        Command::Nats(command) => nats::run(command),
        Command::Ledger(LedgerCommand::Verify(args)) => {
            let config = load_database_config(&args)?;
            let store = open_store(&config).await?;
            let report = store.verify_ledger().await;
            store.close().await;
            let report = report.context("cannot read the ledger")?;
            println!(
                "ledger: {} accounts, {} entries",
                report.accounts, report.entries
            );
            for id in &report.unbalanced_entries {
                println!("unbalanced entry: {id}");
            }
            for (key, stored, summed) in &report.mismatched_balances {
                println!("balance mismatch: {key} stored {stored}, postings sum to {summed}");
            }
            for (key, balance) in &report.negative_balances {
                println!("below zero: {key} = {balance}");
            }
            if report.is_clean() {
                println!("the books balance");
                Ok(())
            } else {
                anyhow::bail!("the ledger does not verify (see above)")
            }
        }
        Command::Migrate(args) => {
            let config = load_database_config(&args)?;
            let store = open_store(&config).await?;
            store.close().await;
            println!("migrations applied to {}", store.backend());
            Ok(())
        }
        Command::ApiKey(ApiKeyCommand::Create(args)) => {
            let role: ApiKeyRole =
                args.role
                    .parse()
                    .map_err(|e: plugway_domain::ValidationError| {
                        anyhow::anyhow!("--role: {}", e.message)
                    })?;
            let name = args.name.clone().unwrap_or_else(|| role.to_string());
            let config = load_database_config(&args.database)?;
            let store = open_store(&config).await?;
            let created = plugway_app::api_keys::create(
                store.as_ref(),
                &SystemClock,
                &RandomIds,
                &name,
                role,
            )
            .await;
            store.close().await;
            let (record, key) = created.context("could not store the key")?;
            println!(
                "created API key {} ({}, role {})",
                record.id, record.name, record.role
            );
            println!("send it as: Authorization: Bearer <key>; it is shown only now:");
            println!("{key}");
            Ok(())
        }
        Command::Ocpi(command) => ocpi(command).await,
        Command::User(UserCommand::Create(args)) => create_user(args).await,
    }
}

/// `plugway user create`: an admin or host with a password from stdin.
async fn create_user(args: crate::cli::UserCreateArgs) -> anyhow::Result<()> {
    let role: plugway_domain::Role = args
        .role
        .parse()
        .map_err(|e: plugway_domain::ValidationError| anyhow::anyhow!("--role: {}", e.message))?;
    // At a terminal the password is asked for without echo; piped, it is
    // the first line of standard input.
    use std::io::IsTerminal as _;
    let password = if std::io::stdin().is_terminal() {
        rpassword::prompt_password(format!("password for {}: ", args.username))
            .context("could not read the password")?
    } else {
        let mut line = String::new();
        std::io::stdin()
            .read_line(&mut line)
            .context("could not read the password from standard input")?;
        line.trim_end_matches(['\r', '\n']).to_owned()
    };
    let config = load_database_config(&args.database)?;
    let store = open_store(&config).await?;
    let bus: Arc<dyn plugway_events::EventBus> = Arc::new(plugway_events::InProcessBus::new());
    let (app, _) = serve::build_state_with_bus(&config, store.clone(), bus, None)?;
    let created = plugway_app::operators::create_person(
        &app,
        plugway_app::operators::OperatorRegistration {
            username: args.username.clone(),
            owner_name: args.name.clone(),
            contact_name: args.name,
            contact_number: args.phone,
            contact_email: args.email,
            ocpp_ready: true,
            password: Some(password),
            logo: None,
        },
        role,
    )
    .await;
    store.close().await;
    let user = created.map_err(|e| anyhow::anyhow!("{}", e.message))?;
    println!(
        "created {} {} (account {}); sign in at /console",
        user.role, args.username, user.id
    );
    Ok(())
}

/// `plugway ocpi ...`: the use cases run in this process on the configured
/// database; a running node sees the result through the same database.
async fn ocpi(command: OcpiCommand) -> anyhow::Result<()> {
    let database = match &command {
        OcpiCommand::Invite(args) => &args.database,
        OcpiCommand::Connect(args) => &args.database,
    };
    let config = load_database_config(database)?;
    config.ocpi.settings(&config.listen)?;
    let store = open_store(&config).await?;
    let bus: Arc<dyn plugway_events::EventBus> = Arc::new(plugway_events::InProcessBus::new());
    let (app, _) = serve::build_state_with_bus(&config, store.clone(), bus, None)?;
    let outcome = match command {
        OcpiCommand::Invite(args) => {
            let invitation =
                plugway_app::roaming::parties::invite(&app, args.name.as_deref()).await;
            invitation.map(|invitation| {
                println!(
                    "invited OCPI party {} ({}); our versions endpoint is {}",
                    invitation.party.id,
                    invitation.party.name,
                    app.settings.ocpi.versions_url()
                );
                println!("give the party this token A (it is shown only now):");
                println!("{}", invitation.token);
            })
        }
        OcpiCommand::Connect(args) => {
            let connected = plugway_app::roaming::parties::connect(
                &app,
                &args.versions_url,
                &args.token,
                args.name.as_deref(),
            )
            .await;
            connected.map(|party| {
                let roles: Vec<String> = party
                    .roles
                    .iter()
                    .map(|r| format!("{} {}/{}", r.role, r.country_code, r.party_code))
                    .collect();
                println!(
                    "registered with OCPI party {} ({}): {}",
                    party.id,
                    party.name,
                    roles.join(", ")
                );
            })
        }
    };
    store.close().await;
    outcome.map_err(|e| anyhow::anyhow!("{}", e.message))
}

fn load_database_config(args: &DatabaseArgs) -> anyhow::Result<Config> {
    let config = config::load(args.config.as_deref(), args)?;
    config.database()?;
    Ok(config)
}

/// Opens the configured database (creating the data directory for SQLite)
/// and applies pending migrations.
pub async fn open_store(config: &Config) -> anyhow::Result<Arc<dyn Store>> {
    Ok(match config.database()? {
        Database::Sqlite(url) => {
            std::fs::create_dir_all(&config.data_dir).with_context(|| {
                format!("cannot create data directory {}", config.data_dir.display())
            })?;
            Arc::new(
                SqliteStore::open(&url)
                    .await
                    .context("cannot open the SQLite database")?,
            )
        }
        Database::Postgres(url) => {
            let options = PostgresOptions {
                max_connections: config.database_max_connections,
                schema: None,
            };
            Arc::new(
                PostgresStore::open(&url, options)
                    .await
                    .context("cannot open the PostgreSQL database")?,
            )
        }
    })
}
