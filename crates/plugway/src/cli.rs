//! The command line. Every flag has a `PLUGWAY_*` environment variable and a
//! key in the optional TOML file; flags win over the environment, which wins
//! over the file, which wins over the defaults.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use serde::Serialize;

/// Plugway: an open-source EV charging platform in one binary.
#[derive(Debug, Parser)]
#[command(name = "plugway", version, about, long_about = None)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server: HTTP API, docs, health and metrics on one port.
    Serve(ServeArgs),
    /// Apply database migrations and exit (serve also applies them at start).
    Migrate(DatabaseArgs),
    /// Manage API keys for admin and integration clients.
    #[command(subcommand, name = "api-key")]
    ApiKey(ApiKeyCommand),
    /// Import data from files (sites with their EVSEs from CSV).
    #[command(subcommand)]
    Import(crate::import::ImportCommand),
    /// Run virtual OCPP 1.6J charge points against a central system.
    Simulate(crate::simulate::SimulateArgs),
    /// Check the money: the double-entry ledger's invariants.
    #[command(subcommand)]
    Ledger(LedgerCommand),
    /// Set up a NATS server with per-driver authorization for live events.
    #[command(subcommand)]
    Nats(crate::nats::NatsCommand),
    /// Run a benchmark against a local server (see docs/benchmarks.md).
    #[command(subcommand)]
    Bench(crate::bench::BenchCommand),
    /// Roaming over OCPI 2.2.1: invite a partner, or register with one
    /// (see docs/ocpi.md).
    #[command(subcommand)]
    Ocpi(OcpiCommand),
    /// People who sign in to the operator console (`/console`) and the CPO
    /// portal: create the first admin, or a host.
    #[command(subcommand)]
    User(UserCommand),
}

/// Account subcommands.
#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create an admin or a host that signs in with a username and a
    /// password. The password is read from standard input (its first line),
    /// never from the command line, where other users of the machine could
    /// read it.
    Create(UserCreateArgs),
}

/// `user create` flags.
#[derive(Debug, Clone, Args)]
pub struct UserCreateArgs {
    /// Database location.
    #[command(flatten)]
    pub database: DatabaseArgs,
    /// What it signs in with: 3 to 32 letters, digits, `.`, `_` or `-`.
    #[arg(long, value_name = "NAME")]
    pub username: String,
    /// `admin` (everything) or `host` (its own sites and chargers).
    #[arg(long, value_name = "ROLE")]
    pub role: String,
    /// The person's (or the operator's) name.
    #[arg(long, value_name = "NAME")]
    pub name: String,
    /// Contact e-mail.
    #[arg(long, value_name = "EMAIL")]
    pub email: String,
    /// Contact phone number.
    #[arg(long, value_name = "PHONE")]
    pub phone: String,
}

/// OCPI subcommands.
#[derive(Debug, Subcommand)]
pub enum OcpiCommand {
    /// Issue a credentials token A for a party that will register with
    /// Plugway, and print it (alone on the last line of stdout). Give it to
    /// the party with our versions URL, `{public_url}/ocpi/versions`.
    Invite(OcpiInviteArgs),
    /// Register Plugway with a party: fetch its versions with the token A it
    /// gave you and complete the credentials handshake. The party calls this
    /// server back during the handshake, so `plugway serve` must be running
    /// on the same database and reachable at `[ocpi] public_url`.
    Connect(OcpiConnectArgs),
}

/// `ocpi invite` flags.
#[derive(Debug, Clone, Args)]
pub struct OcpiInviteArgs {
    /// Database location.
    #[command(flatten)]
    pub database: DatabaseArgs,

    /// A label to recognise the party by until it registers.
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
}

/// `ocpi connect` flags.
#[derive(Debug, Clone, Args)]
pub struct OcpiConnectArgs {
    /// Database location.
    #[command(flatten)]
    pub database: DatabaseArgs,

    /// The party's versions endpoint.
    #[arg(long, value_name = "URL")]
    pub versions_url: String,

    /// The token A the party issued for Plugway. (A token may begin with
    /// '-', as base64url text does; it is taken as the value all the same.)
    #[arg(long, value_name = "TOKEN_A", allow_hyphen_values = true)]
    pub token: String,

    /// A label to recognise the party by.
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
}

/// Ledger subcommands.
#[derive(Debug, Subcommand)]
pub enum LedgerCommand {
    /// Prove the books balance: every entry sums to zero per currency, every
    /// account's balance equals the sum of its postings, and no wallet or
    /// earnings account is below zero. Exits 1 when anything is off.
    Verify(DatabaseArgs),
}

/// API key subcommands.
#[derive(Debug, Subcommand)]
pub enum ApiKeyCommand {
    /// Create a key and print it (alone on the last line of stdout). Only its
    /// hash is stored: copy it now.
    Create(ApiKeyCreateArgs),
}

/// Where the data lives. Shared by every subcommand.
#[derive(Debug, Clone, Args, Serialize, Default)]
pub struct DatabaseArgs {
    /// TOML configuration file [env: PLUGWAY_CONFIG] (default: ./plugway.toml if present).
    #[arg(long, value_name = "FILE")]
    #[serde(skip)]
    pub config: Option<PathBuf>,

    /// Directory for the SQLite database, generated keys and stored files;
    /// created if missing [env: PLUGWAY_DATA_DIR] [default: ./data].
    #[arg(long, value_name = "DIR")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_dir: Option<PathBuf>,

    /// `sqlite://PATH` or `postgres://USER@HOST:PORT/DB` [env: PLUGWAY_DATABASE_URL]
    /// [default: sqlite://<data-dir>/plugway.db].
    #[arg(long, value_name = "URL")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database_url: Option<String>,
}

/// `serve` flags.
#[derive(Debug, Clone, Args, Serialize, Default)]
pub struct ServeArgs {
    /// Database location.
    #[command(flatten)]
    #[serde(flatten)]
    pub database: DatabaseArgs,

    /// Address for HTTP, WebSockets and GraphQL, all on one port
    /// [env: PLUGWAY_LISTEN] [default: 127.0.0.1:8080].
    #[arg(long, value_name = "ADDR")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listen: Option<String>,

    /// Development mode: OTP code 0000 is accepted for every phone and SMS
    /// goes to the log. Refused with a PostgreSQL database unless
    /// --dev-allow-postgres is also given [env: PLUGWAY_DEV=1].
    #[arg(long)]
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub dev: bool,

    /// Allow --dev on PostgreSQL (never on a production database)
    /// [env: PLUGWAY_DEV_ALLOW_POSTGRES=1].
    #[arg(long)]
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub dev_allow_postgres: bool,

    /// Accept unknown charge point ids without a password and register them
    /// at their first BootNotification (labs and demos; logged loudly)
    /// [env: PLUGWAY_OCPP_AUTO_REGISTER=1].
    #[arg(long)]
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub ocpp_auto_register: bool,

    /// PEM certificate chain: serve HTTPS and WSS (OCPP security profile 2)
    /// on the listen port instead of plain HTTP; needs --tls-key
    /// [env: PLUGWAY_TLS_CERT].
    #[arg(long, value_name = "FILE")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls_cert: Option<std::path::PathBuf>,

    /// PEM private key for --tls-cert [env: PLUGWAY_TLS_KEY].
    #[arg(long, value_name = "FILE")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls_key: Option<std::path::PathBuf>,

    /// Where charge point boot notifications are POSTed (seed 004's CRM),
    /// from a durable outbox with retries [env: PLUGWAY_CRM_WEBHOOK_URL].
    #[arg(long, value_name = "URL")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub crm_webhook_url: Option<String>,

    /// HMAC-SHA256 key for the X-Plugway-Signature header of those POSTs
    /// [env: PLUGWAY_CRM_WEBHOOK_SECRET].
    #[arg(long, value_name = "SECRET")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub crm_webhook_secret: Option<String>,

    /// Bearer token that `/metrics` requires; without it the metrics are
    /// public on the API port [env: PLUGWAY_METRICS_TOKEN].
    #[arg(long, value_name = "TOKEN")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metrics_token: Option<String>,

    /// Region (ISO 3166 alpha-2, e.g. BD, MN) for phone numbers written
    /// without a country code; without it numbers must start with +
    /// [env: PLUGWAY_DEFAULT_REGION].
    #[arg(long, value_name = "CC")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default_region: Option<String>,

    /// NATS server for live events (and, with `[nats]` keys, per-driver
    /// NATS credentials at sign-in); without it events stay in process
    /// [env: PLUGWAY_NATS_URL].
    #[arg(long, value_name = "URL")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nats_url: Option<String>,

    /// Log format: text or json [env: PLUGWAY_LOG_FORMAT] [default: text].
    /// Log levels follow RUST_LOG (default "info").
    #[arg(long, value_name = "FORMAT")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_format: Option<String>,
}

/// `api-key create` flags.
#[derive(Debug, Clone, Args)]
pub struct ApiKeyCreateArgs {
    /// Database location.
    #[command(flatten)]
    pub database: DatabaseArgs,

    /// `admin` (superuser: everything), `integration` (the CRM webhooks) or
    /// `portal` (seed 003's CPO portal: reference lists, registering
    /// operators, the logo a registration named).
    #[arg(long, value_name = "ROLE")]
    pub role: String,

    /// A label to recognise the key by [default: the role].
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
}
