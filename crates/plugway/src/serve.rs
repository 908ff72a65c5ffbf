//! `plugway serve`: wire the parts, listen, and shut down gracefully.

use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use chrono::Duration;
use plugway_adapters::twilio::TwilioSms;
use plugway_app::ports::sms::{LogSms, NoSms, SmsSender};
use plugway_app::{App as AppState, AppParts, AppSettings};
use plugway_domain::{OtpPolicy, RandomIds, SystemClock};
use plugway_events::{EventBus, InProcessBus};
use plugway_store::Store;
use secrecy::{ExposeSecret, SecretString};
use tokio::net::TcpListener;
use tracing_subscriber::EnvFilter;

use crate::config::Config;
use crate::secrets;

/// Logs to stdout, as text or JSON lines; levels from `RUST_LOG`.
pub fn init_tracing(format: &str) {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_http=warn"));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stdout());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi);
    // A second init (tests) is harmless; ignore it.
    let _ = if format == "json" {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}

fn sms_sender(config: &Config) -> anyhow::Result<Arc<dyn SmsSender>> {
    if config.dev {
        return Ok(Arc::new(LogSms));
    }
    match config.sms.provider.as_deref() {
        Some("twilio") => {
            let sms = &config.sms;
            let (Some(sid), Some(token), Some(from)) = (
                &sms.twilio_account_sid,
                &sms.twilio_auth_token,
                &sms.twilio_from,
            ) else {
                anyhow::bail!("sms.provider = twilio is missing its settings");
            };
            let token: SecretString = token.clone();
            Ok(Arc::new(TwilioSms::new(
                sms.twilio_base_url.clone(),
                sid.clone(),
                token,
                from.clone(),
            )?))
        }
        _ => {
            tracing::warn!("no SMS provider configured: OTP requests will answer 503 (use --dev to log codes instead)");
            Ok(Arc::new(NoSms))
        }
    }
}

/// Builds the application and central-system states from a checked
/// configuration and an open store, with in-process events (for commands
/// that run no server: import, benchmarks).
pub fn build_state(
    config: &Config,
    store: Arc<dyn Store>,
) -> anyhow::Result<(AppState, plugway_ocpp::OcppState)> {
    build_state_with_bus(config, store, Arc::new(InProcessBus::new()), None)
}

/// What `serve` runs on besides the store: the event bus (NATS with
/// `--nats-url`, else in process), what the sign-in's `nats` object is
/// minted from (when `[nats]` holds the account's signing key), and the
/// NATS connection the nodes of a cluster route commands over.
#[derive(Debug)]
pub struct Messaging {
    /// Events.
    pub bus: Arc<dyn EventBus>,
    /// Drivers' NATS access.
    pub access: Option<plugway_app::NatsAccess>,
    /// The connection, with NATS.
    pub client: Option<async_nats::Client>,
}

/// The event bus `serve` runs on: NATS with `--nats-url`, else in process.
pub async fn event_bus(config: &Config) -> anyhow::Result<Messaging> {
    let Some(url) = &config.nats_url else {
        return Ok(Messaging {
            bus: Arc::new(InProcessBus::new()),
            access: None,
            client: None,
        });
    };
    let signer = config.nats.signer()?;
    let mut options = plugway_events::NatsOptions::new(url.clone());
    options.prefix = config.nats.prefix.clone();
    options.retention = std::time::Duration::from_secs(config.nats.retention_secs);
    options.stream = config.nats.stream.clone();
    if let Some(signer) = &signer {
        // Plugway connects as a user of its own account, minted here.
        options.credentials = Some(
            signer
                .user_credentials(
                    "plugway",
                    &plugway_events::nats_auth::service_permissions(),
                    std::time::SystemTime::from(plugway_domain::Clock::now(&SystemClock)),
                    None,
                )
                .map_err(|e| anyhow::anyhow!("cannot mint Plugway's NATS credentials: {e}"))?,
        );
    }
    let bus = plugway_events::NatsBus::connect(options)
        .await
        .with_context(|| format!("cannot connect to NATS at {url}"))?;
    if signer.is_none() {
        tracing::warn!(
            "NATS without [nats] account keys: events go to NATS, but drivers get no NATS credentials (the sign-in's `nats` has empty user and pass); apps use /api/v1/user/events. Commands to chargers travel over this NATS too: anyone who can publish on it can command chargers, so keep it on a private network (docs/cluster.md)"
        );
    }
    let access = plugway_app::NatsAccess {
        servers: config
            .nats
            .public_url
            .clone()
            .unwrap_or_else(|| url.clone()),
        prefix: config.nats.prefix.clone(),
        signer,
        ttl: std::time::Duration::from_secs(config.nats.credentials_ttl_secs.max(60)),
    };
    let client = bus.client();
    Ok(Messaging {
        bus: Arc::new(bus),
        access: Some(access),
        client: Some(client),
    })
}

/// [`build_state`] on a given bus.
pub fn build_state_with_bus(
    config: &Config,
    store: Arc<dyn Store>,
    bus: Arc<dyn EventBus>,
    nats: Option<plugway_app::NatsAccess>,
) -> anyhow::Result<(AppState, plugway_ocpp::OcppState)> {
    let secret = secrets::server_secret(config.jwt_secret.as_ref(), &config.data_dir)?;
    let jwt_key = secrets::derive(&secret, "plugway-jwt-v1");
    let settings = AppSettings {
        dev: config.dev,
        default_region: config.region()?,
        otp: OtpPolicy {
            digits: config.otp.digits,
            ttl: Duration::seconds(config.otp.ttl_secs),
            max_attempts: config.otp.max_attempts,
            resend_cooldown: Duration::seconds(config.otp.resend_cooldown_secs.max(0)),
            max_per_hour: config.otp.max_per_hour,
        },
        session_ttl: Duration::seconds(config.session_ttl_secs),
        max_body_bytes: config.max_body_bytes,
        otp_sends_per_minute: config.rate_limits.otp_sends_per_minute,
        credential_checks_per_minute: config.rate_limits.credential_checks_per_minute,
        // Several nodes (they meet on NATS) share the per-address limits.
        shared_rate_limits: config.nats_url.is_some(),
        // Five photos of the largest size, plus the form's own bytes.
        max_upload_bytes: config
            .media
            .max_image_bytes
            .saturating_mul(5)
            .saturating_add(64 * 1024),
        wallet_currency: plugway_domain::Currency::parse(&config.money.wallet_currency)
            .map_err(|e| anyhow::anyhow!("money.wallet_currency: {}", e.message))?,
        credit_point_value: plugway_domain::Currency::parse(&config.money.wallet_currency)
            .ok()
            .and_then(|c| c.to_minor(config.money.credit_point_value))
            .unwrap_or(0),
        referral_reward_credits: config.money.referral_reward_credits,
        bookings: config.bookings.policy()?,
        search_index: config.search.settings()?,
        ocpi: config.ocpi.settings(&config.listen)?,
        console: config.console.settings(config.tls_cert.is_some())?,
        metrics_token_digest: config
            .metrics_token
            .as_ref()
            .map(|t| plugway_domain::secret::secret_digest(t.expose_secret())),
        ..AppSettings::default()
    };
    use secrecy::ExposeSecret;
    let clock: Arc<dyn plugway_domain::Clock> = Arc::new(SystemClock);
    let sessions = plugway_app::sessions::SessionEngine::new(
        store.clone(),
        bus.clone(),
        clock.clone(),
        Arc::new(RandomIds),
        config.sessions.settings()?,
    );
    let ocpp = ocpp_state(
        config,
        store.clone(),
        bus.clone(),
        clock.clone(),
        sessions.clone(),
    )?;
    let app = AppState::new(AppParts {
        store,
        bus,
        chargers: Arc::new(ocpp.clone()),
        nats,
        payments: config.qpay.setup()?,
        razorpay: config.razorpay.gateway()?,
        sessions,
        clock,
        ids: Arc::new(RandomIds),
        sms: sms_sender(config)?,
        tokens: plugway_app::security::tokens::TokenSigner::new(
            jwt_key.expose_secret(),
            Duration::seconds(config.access_token_ttl_secs),
            Duration::seconds(config.refresh_token_ttl_secs),
        ),
        otp_key: secrets::derive(&secret, "plugway-otp-v1"),
        settings,
        media: Arc::new(config.media.store(&config.data_dir)?),
        ocpi: Arc::new(
            plugway_adapters::ocpi::HttpOcpiClient::new(std::time::Duration::from_secs(
                config.ocpi.timeout_secs,
            ))
            .context("cannot build the OCPI client")?,
        ),
    });
    // Partner eMSPs' tokens are asked about in real time when chargers
    // present them.
    plugway_app::roaming::realtime::RoamingAuthorizer::install(&app);
    Ok((app, ocpp))
}

/// Every node of a cluster must sign with one secret (a token one node
/// issues must verify on the others): the first node to start with NATS
/// stores the secret's fingerprint, and a node whose secret differs refuses
/// to start. (A single node without NATS may change its secret freely.)
async fn check_shared_secret(config: &Config, store: &dyn Store) -> anyhow::Result<()> {
    let secret = secrets::server_secret(config.jwt_secret.as_ref(), &config.data_dir)?;
    let fingerprint =
        hex::encode(secrets::derive(&secret, "plugway-secret-fingerprint-v1").expose_secret());
    let agreed = store
        .claim_shared_setting("server_secret_fingerprint", &fingerprint)
        .await
        .context("cannot read the shared settings")?;
    if agreed != fingerprint {
        anyhow::bail!(
            "this node's server secret differs from the one this database was first served with: \
             tokens would not verify across nodes. Give every node the same jwt_secret \
             (PLUGWAY_JWT_SECRET), or the first node's data directory server.key; to change \
             the secret of the whole cluster, stop every node and delete the row \
             'server_secret_fingerprint' of the table shared_settings"
        );
    }
    Ok(())
}

/// The central system's state.
fn ocpp_state(
    config: &Config,
    store: Arc<dyn Store>,
    bus: Arc<dyn EventBus>,
    clock: Arc<dyn plugway_domain::Clock>,
    sessions: Arc<plugway_app::sessions::SessionEngine>,
) -> anyhow::Result<plugway_ocpp::OcppState> {
    let o = &config.ocpp;
    let std_secs = std::time::Duration::from_secs;
    let station_ca = match (&o.ca_cert, &o.ca_key) {
        (Some(cert), Some(key)) => Some(Arc::new(
            plugway_ocpp::pki::StationCa::load(cert, key)
                .map_err(|e| anyhow::anyhow!("[ocpp] ca_cert / ca_key: {e}"))?,
        )),
        (None, None) => None,
        _ => anyhow::bail!("[ocpp] ca_cert and ca_key go together: set both, or neither"),
    };
    Ok(plugway_ocpp::OcppState::new(
        store,
        bus,
        clock,
        plugway_ocpp::OcppConfig {
            auto_register: config.ocpp_auto_register,
            heartbeat_interval_secs: o.heartbeat_interval_secs,
            call_timeout: std_secs(o.call_timeout_secs.max(1)),
            idle_timeout: std_secs(o.idle_timeout_secs.max(10)),
            ping_interval: std_secs(o.ping_interval_secs.max(1)),
            max_message_bytes: o.max_message_bytes.max(1024),
            outbound_queue: 16,
            crm_boot_notifications: config.crm_webhook_url.is_some(),
            message_log: o.message_log,
            max_pending_connections: o.max_pending_connections.max(1),
            station_ca,
            meter_quirks: Arc::new(o.meter_quirks.clone()),
            ..plugway_ocpp::OcppConfig::default()
        },
        sessions,
    ))
}

/// Handshakes the kernel queues before they are accepted. Tokio's default
/// (1,024) overflows when a site's chargers all reconnect at once, and a
/// dropped SYN costs its charger a 1 s, then 3 s retransmission; the kernel
/// caps this at `net.core.somaxconn` (4,096 on current Linux).
const LISTEN_BACKLOG: u32 = 8192;

/// A listening socket on `addr` with [`LISTEN_BACKLOG`].
fn listen(addr: std::net::SocketAddr) -> std::io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    // As TcpListener::bind does: a restarted server can rebind at once.
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(LISTEN_BACKLOG)
}

/// Runs the server until SIGINT or SIGTERM, then stops accepting, lets
/// in-flight requests finish (up to a grace period) and closes the database.
pub async fn serve(mut config: Config) -> anyhow::Result<()> {
    let started = Instant::now();
    // Bound first: with port 0 only the socket knows the address partners
    // are told when [ocpi] public_url is unset.
    let addr = config.listen_addr()?;
    let listener = listen(addr).with_context(|| format!("cannot listen on {addr}"))?;
    let local = listener.local_addr()?;
    let scheme = if config.tls_cert.is_some() {
        "https"
    } else {
        "http"
    };
    if config.ocpi.public_url.is_none() {
        config.ocpi.public_url = Some(format!("{scheme}://{local}"));
    }
    if config.dev {
        tracing::warn!(
            "DEVELOPMENT MODE: OTP 0000 is accepted for every phone; SMS are logged, not sent"
        );
    }
    let store = crate::open_store(&config).await?;
    if config.nats_url.is_some() {
        // Nodes meet on NATS: they must sign alike.
        check_shared_secret(&config, store.as_ref()).await?;
    }
    let messaging = event_bus(&config).await?;
    let (state, ocpp) =
        build_state_with_bus(&config, store.clone(), messaging.bus, messaging.access)?;
    if let Some(client) = messaging.client {
        // Several nodes on one NATS: a command reaches a charger on any of
        // them (docs/cluster.md).
        plugway_ocpp::cluster::Cluster::join(
            &ocpp,
            client,
            &config.nats.prefix,
            plugway_app::node_id(&state).to_owned(),
        )
        .await
        .context("cannot join the cluster on NATS")?;
    }
    let crm = match &config.crm_webhook_url {
        Some(url) => {
            let sender = plugway_adapters::webhooks::HttpWebhook::new(url.clone())
                .context("cannot build the CRM webhook client")?;
            if config.crm_webhook_secret.is_none() {
                tracing::warn!(
                    "--crm-webhook-url without --crm-webhook-secret: boot notifications go unsigned"
                );
            }
            Some(plugway_app::crm_outbox::CrmWebhook::new(
                Arc::new(sender),
                config.crm_webhook_secret.clone(),
            ))
        }
        None => None,
    };
    let push: Option<Arc<dyn plugway_app::push::PushGateway>> = match config.push.gateway()? {
        Some(fcm) => {
            tracing::info!("push notifications through FCM are on");
            Some(Arc::new(fcm))
        }
        None => {
            tracing::info!(
                "push notifications are off (no [push] fcm_credentials_file): notifications are stored and listed, not pushed"
            );
            None
        }
    };
    if config.ocpp_auto_register {
        tracing::warn!(
            "OCPP AUTO-REGISTRATION IS ON: any charge point id is accepted without a password"
        );
    }
    plugway_app::workers::spawn(
        &state,
        plugway_app::workers::WorkerSetup {
            crm,
            push,
            bookings_every: std::time::Duration::from_secs(config.bookings.sweep_seconds),
        },
    );
    // CHARGING events for the sessions on chargers connected to this node.
    let registry = ocpp.registry.clone();
    state
        .sessions
        .spawn_ticker(Arc::new(move |cp| registry.is_connected(cp)));
    tokio::spawn(plugway_ocpp::log::purge_loop(
        store.clone(),
        state.clock.clone(),
        Duration::days(config.ocpp.message_log_days.max(1)),
    ));
    let shutdown = shutdown_signal();
    tracing::info!(
        backend = store.backend(),
        startup_ms = started.elapsed().as_millis() as u64,
        "plugway listening on {scheme}://{local}"
    );
    // Security profile 3: stations' client certificates are checked
    // against the CA that signs them.
    let station_ca_pem = ocpp
        .config
        .station_ca
        .as_ref()
        .map(|ca| ca.certificate_pem().to_owned());
    let ocpp_routes = plugway_ocpp::router(ocpp);
    let stop = shutdown.clone().wait();
    let tls = config.tls_cert.clone().zip(config.tls_key.clone());
    let server = async move {
        match tls {
            Some((cert, key)) => {
                plugway_api::serve_tls(
                    listener,
                    &cert,
                    &key,
                    station_ca_pem.as_deref(),
                    state,
                    ocpp_routes,
                    stop,
                )
                .await
            }
            None => plugway_api::serve(listener, state, ocpp_routes, stop).await,
        }
    };
    tokio::select! {
        result = server => result.context("server failed")?,
        () = async {
            shutdown.wait().await;
            tokio::time::sleep(plugway_api::SHUTDOWN_GRACE).await;
        } => tracing::warn!("in-flight requests did not finish within the grace period; closing anyway"),
    }
    store.close().await;
    tracing::info!("plugway stopped");
    Ok(())
}

/// Fires once on SIGINT or SIGTERM; every clone sees it.
#[derive(Clone)]
struct Shutdown(tokio::sync::watch::Receiver<bool>);

impl Shutdown {
    async fn wait(mut self) {
        let _ = self.0.wait_for(|stop| *stop).await;
    }
}

fn shutdown_signal() -> Shutdown {
    let (tx, rx) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        let ctrl_c = tokio::signal::ctrl_c();
        #[cfg(unix)]
        let term = async {
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(mut s) => {
                    s.recv().await;
                }
                Err(_) => std::future::pending::<()>().await,
            }
        };
        #[cfg(not(unix))]
        let term = std::future::pending::<()>();
        tokio::select! {
            _ = ctrl_c => {}
            () = term => {}
        }
        tracing::info!("shutting down: no new connections; finishing in-flight requests");
        let _ = tx.send(true);
    });
    Shutdown(rx)
}
