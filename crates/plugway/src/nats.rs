//! `plugway nats init`: a NATS server configuration with per-driver
//! authorization (operator mode), and the `[nats]` settings Plugway needs
//! to mint credentials under it. See the README's "Live events over NATS".

use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::{Args, Subcommand};
use plugway_events::nats_auth::{nats_server_config, NatsServerSetup};
use secrecy::ExposeSecret;

/// NATS subcommands.
#[derive(Debug, Subcommand)]
pub enum NatsCommand {
    /// Generate fresh operator and account keys, a nats-server (2.9+)
    /// configuration trusting them, and Plugway's `[nats]` settings.
    Init(NatsInitArgs),
}

/// `nats init` flags.
#[derive(Debug, Args)]
pub struct NatsInitArgs {
    /// Directory to write into (created; existing files are not overwritten).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Address the NATS server listens on.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:4222")]
    pub listen: String,
    /// JetStream's store directory for the server.
    #[arg(long, value_name = "DIR", default_value = "/var/lib/nats-server")]
    pub store_dir: PathBuf,
}

/// Runs a NATS subcommand.
pub fn run(command: NatsCommand) -> anyhow::Result<()> {
    match command {
        NatsCommand::Init(args) => init(&args),
    }
}

fn write_new(path: &Path, text: &str, secret: bool) -> anyhow::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    if secret {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    #[cfg(not(unix))]
    let _ = secret;
    let mut file = options
        .open(path)
        .with_context(|| format!("cannot create {} (it must not exist yet)", path.display()))?;
    file.write_all(text.as_bytes())?;
    Ok(())
}

fn init(args: &NatsInitArgs) -> anyhow::Result<()> {
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create {}", args.out.display()))?;
    let generated = nats_server_config(&NatsServerSetup {
        listen: args.listen.clone(),
        store_dir: args.store_dir.clone(),
        account_name: "PLUGWAY".into(),
        issued_at: std::time::SystemTime::from(plugway_domain::Clock::now(
            &plugway_domain::SystemClock,
        )),
        account_jetstream: true,
    })
    .map_err(|e| anyhow::anyhow!("cannot generate the NATS configuration: {e}"))?;
    let server = args.out.join("nats-server.conf");
    let plugway = args.out.join("plugway-nats.toml");
    let offline = args.out.join("nats-offline-keys.txt");
    write_new(&server, &generated.config, false)?;
    write_new(
        &plugway,
        &format!(
            "# Add to plugway.toml (or set PLUGWAY_NATS__ACCOUNT_PUBLIC_KEY and\n\
             # PLUGWAY_NATS__ACCOUNT_SIGNING_SEED). The seed is a secret.\n\
             [nats]\naccount_public_key = \"{}\"\naccount_signing_seed = \"{}\"\n",
            generated.account_public_key,
            generated.account_signing_seed.expose_secret()
        ),
        true,
    )?;
    write_new(
        &offline,
        &format!(
            "# Keep these offline: they sign new accounts and users for this server.\n\
             operator_seed = \"{}\"\nsystem_account_seed = \"{}\"\naccount_seed = \"{}\"\n",
            generated.operator_seed.expose_secret(),
            generated.system_account_seed.expose_secret(),
            generated.account_seed.expose_secret()
        ),
        true,
    )?;
    println!("wrote {}", server.display());
    println!(
        "wrote {} (secret: Plugway's [nats] settings)",
        plugway.display()
    );
    println!("wrote {} (secret: keep offline)", offline.display());
    println!(
        "run: nats-server -c {}   then: plugway serve --nats-url nats://{} --config <file with the [nats] lines>",
        server.display(),
        args.listen
    );
    Ok(())
}
