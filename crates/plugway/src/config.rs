//! Configuration: one typed struct, layered defaults → TOML file →
//! `PLUGWAY_*` environment → flags (figment), then validated once at start.
//! Nested keys use a double underscore in the environment
//! (`PLUGWAY_SMS__TWILIO_AUTH_TOKEN`). Secrets are `SecretString`, so no
//! `Debug` or log line ever prints them.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use plugway_domain::Region;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Deserializer};

/// Everything the server can be told.
#[derive(Debug, Deserialize)]
#[serde(default)]
pub struct Config {
    /// HTTP listen address.
    pub listen: String,
    /// Data directory (SQLite, keys, files).
    pub data_dir: PathBuf,
    /// Database URL; SQLite in the data directory when unset.
    pub database_url: Option<String>,
    /// PostgreSQL pool size.
    pub database_max_connections: u32,
    /// Development mode.
    #[serde(deserialize_with = "lenient_bool")]
    pub dev: bool,
    /// Allow development mode on PostgreSQL.
    #[serde(deserialize_with = "lenient_bool")]
    pub dev_allow_postgres: bool,
    /// Region for national-format phone numbers.
    pub default_region: Option<String>,
    /// Accept and register unknown charge points.
    #[serde(deserialize_with = "lenient_bool")]
    pub ocpp_auto_register: bool,
    /// `[ocpp]`.
    pub ocpp: OcppSettings,
    /// TLS certificate chain (PEM).
    pub tls_cert: Option<PathBuf>,
    /// TLS private key (PEM).
    pub tls_key: Option<PathBuf>,
    /// NATS server for events; in-process events when unset.
    pub nats_url: Option<String>,
    /// `[nats]`: subjects and per-driver credentials.
    pub nats: NatsConfig,
    /// Seed 004's CRM: where boot notifications go.
    pub crm_webhook_url: Option<String>,
    /// Key for their signature.
    pub crm_webhook_secret: Option<SecretString>,
    /// When set, `/metrics` answers only `Authorization: Bearer <this>`.
    pub metrics_token: Option<SecretString>,
    /// `text` or `json`.
    pub log_format: String,
    /// JWT signing secret (at least 32 bytes). Generated into the data
    /// directory when unset; several nodes must share one, so set it there.
    pub jwt_secret: Option<SecretString>,
    /// Access token lifetime, seconds.
    pub access_token_ttl_secs: i64,
    /// Refresh token lifetime, seconds.
    pub refresh_token_ttl_secs: i64,
    /// Session lifetime from sign-in, seconds.
    pub session_ttl_secs: i64,
    /// Largest request body, bytes.
    pub max_body_bytes: usize,
    /// One-time password policy.
    pub otp: OtpConfig,
    /// SMS provider.
    pub sms: SmsConfig,
    /// Per-address rate limits.
    pub rate_limits: RateLimitConfig,
    /// Where photos and logos are stored.
    pub media: MediaConfig,
    /// `[sessions]`: charging sessions and pricing.
    pub sessions: SessionConfig,
    /// `[money]`: wallets and payments.
    pub money: MoneyConfig,
    /// `[bookings]`: slot rules, deadlines and the booking jobs' timing.
    pub bookings: BookingConfig,
    /// `[qpay]`: the QPay gateway for wallet top-ups.
    pub qpay: QPayConfig,
    /// `[razorpay]`: Razorpay orders and checkout verification.
    pub razorpay: RazorpaySettings,
    /// `[push]`: push notifications through Firebase Cloud Messaging.
    pub push: PushConfig,
    /// `[search]`: the in-memory search index.
    pub search: SearchConfig,
    /// `[ocpi]`: who we are to roaming partners (docs/ocpi.md).
    pub ocpi: OcpiConfig,
    /// `[console]`: the operator console's map and cookie (docs/console.md).
    pub console: ConsoleConfig,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8080".into(),
            data_dir: PathBuf::from("./data"),
            database_url: None,
            database_max_connections: 16,
            dev: false,
            dev_allow_postgres: false,
            default_region: None,
            ocpp_auto_register: false,
            ocpp: OcppSettings::default(),
            nats_url: None,
            nats: NatsConfig::default(),
            crm_webhook_url: None,
            crm_webhook_secret: None,
            metrics_token: None,
            tls_cert: None,
            tls_key: None,
            log_format: "text".into(),
            jwt_secret: None,
            access_token_ttl_secs: 15 * 60,
            refresh_token_ttl_secs: 30 * 24 * 3600,
            session_ttl_secs: 90 * 24 * 3600,
            max_body_bytes: 64 * 1024,
            otp: OtpConfig::default(),
            sms: SmsConfig::default(),
            rate_limits: RateLimitConfig::default(),
            media: MediaConfig::default(),
            sessions: SessionConfig::default(),
            money: MoneyConfig::default(),
            bookings: BookingConfig::default(),
            qpay: QPayConfig::default(),
            razorpay: RazorpaySettings::default(),
            push: PushConfig::default(),
            search: SearchConfig::default(),
            ocpi: OcpiConfig::default(),
            console: ConsoleConfig::default(),
        }
    }
}

/// `[console]`: the operator console at `/console` (docs/console.md).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ConsoleConfig {
    /// Map tiles, a URL template with `{z}`, `{x}`, `{y}` (and optionally
    /// `{s}`), http or https. Unset: the map shows its markers without
    /// tiles, so the console needs no outside server.
    pub tile_url: Option<String>,
    /// The attribution the tile provider requires, shown on the map.
    pub tile_attribution: Option<String>,
    /// Mark the session cookie `Secure` although this node serves plain
    /// HTTP (a TLS-terminating proxy is in front). With `tls_cert` it is
    /// always `Secure`.
    pub secure_cookie: bool,
}

impl ConsoleConfig {
    /// The console settings, checked.
    pub fn settings(&self, tls: bool) -> anyhow::Result<plugway_app::console::ConsoleSettings> {
        let settings = plugway_app::console::ConsoleSettings {
            tile_url: self.tile_url.clone().filter(|u| !u.trim().is_empty()),
            tile_attribution: self.tile_attribution.clone(),
            secure_cookie: self.secure_cookie || tls,
        };
        if let Some(url) = &settings.tile_url {
            if settings.tile_origin().is_none()
                || !["{z}", "{x}", "{y}"].iter().all(|p| url.contains(p))
            {
                anyhow::bail!(
                    "console.tile_url must be an http(s) URL template with {{z}}, {{x}} and {{y}}"
                );
            }
        }
        Ok(settings)
    }
}

/// `[ocpi]`: Plugway's identity in OCPI 2.2.1 roaming and where partners
/// reach it (docs/ocpi.md).
#[derive(Debug, Deserialize)]
#[serde(default)]
pub struct OcpiConfig {
    /// Our ISO 3166-1 alpha-2 country code.
    pub country_code: String,
    /// Our party id (three upper-case letters or digits).
    pub party_id: String,
    /// Our business name, as partners show it.
    pub name: String,
    /// Our web site.
    pub website: Option<String>,
    /// The URL partners reach this server at, e.g. `https://cs.example.com`
    /// (default: `http://` and the listen address).
    pub public_url: Option<String>,
    /// Objects per page when a partner asks for none (and the most sent).
    pub page_limit: i64,
    /// Seconds a call to a partner may take (at most 60).
    pub timeout_secs: u64,
}

impl Default for OcpiConfig {
    fn default() -> Self {
        let d = plugway_app::roaming::OcpiSettings::default();
        Self {
            country_code: d.country_code,
            party_id: d.party_id,
            name: d.name,
            website: None,
            public_url: None,
            page_limit: d.page_limit,
            timeout_secs: 30,
        }
    }
}

impl OcpiConfig {
    /// The settings, checked; `listen` gives the default public URL.
    pub fn settings(&self, listen: &str) -> anyhow::Result<plugway_app::roaming::OcpiSettings> {
        use plugway_ocpi::validate::{country_code, party_id};
        country_code("ocpi.country_code", &self.country_code)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        party_id("ocpi.party_id", &self.party_id).map_err(|e| anyhow::anyhow!("{e}"))?;
        if self.name.trim().is_empty() || self.name.chars().count() > 100 {
            anyhow::bail!("ocpi.name must be 1 to 100 characters");
        }
        if let Some(website) = &self.website {
            plugway_ocpi::versions::url("ocpi.website", website)
                .map_err(|e| anyhow::anyhow!("{e}"))?;
        }
        let public_url = match &self.public_url {
            Some(url) => url.trim_end_matches('/').to_owned(),
            None => format!("http://{listen}"),
        };
        plugway_ocpi::versions::url("ocpi.public_url", &public_url)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        if !(1..=1000).contains(&self.page_limit) {
            anyhow::bail!("ocpi.page_limit must be from 1 to 1000");
        }
        // The roaming outbox leases a batch of 10 for 10 minutes: a minute
        // per call at most keeps a message from being claimed twice.
        if !(1..=60).contains(&self.timeout_secs) {
            anyhow::bail!("ocpi.timeout_secs must be from 1 to 60");
        }
        Ok(plugway_app::roaming::OcpiSettings {
            country_code: self.country_code.clone(),
            party_id: self.party_id.clone(),
            name: self.name.trim().to_owned(),
            website: self.website.clone(),
            public_url,
            page_limit: self.page_limit,
        })
    }
}

/// `[search]`: drivers' searches run on an in-memory index of the visible
/// network, kept current through the database's change feed (docs/search.md).
#[derive(Debug, Deserialize)]
#[serde(default)]
pub struct SearchConfig {
    /// Search in memory (`false`: in the database; less memory, slower).
    pub in_memory: bool,
    /// How often an idle node reads the change feed, milliseconds.
    pub tick_ms: u64,
    /// How often the whole index is rebuilt from the database, seconds
    /// (0: never; it heals anything the change feed could not say).
    pub resync_seconds: u64,
}

impl Default for SearchConfig {
    fn default() -> Self {
        let d = plugway_app::search_index::SearchIndexSettings::default();
        Self {
            in_memory: d.enabled,
            tick_ms: u64::try_from(d.tick.as_millis()).unwrap_or(1_000),
            resync_seconds: d.resync.as_secs(),
        }
    }
}

impl SearchConfig {
    /// The index settings, checked.
    pub fn settings(&self) -> anyhow::Result<plugway_app::search_index::SearchIndexSettings> {
        if !(10..=60_000).contains(&self.tick_ms) {
            anyhow::bail!("search.tick_ms must be from 10 to 60000");
        }
        Ok(plugway_app::search_index::SearchIndexSettings {
            enabled: self.in_memory,
            tick: std::time::Duration::from_millis(self.tick_ms),
            resync: std::time::Duration::from_secs(self.resync_seconds),
        })
    }
}

/// `[push]`: push notifications through FCM's HTTP v1 API. Off (notifications
/// are still stored and listed in the app) unless `fcm_credentials_file` is set.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct PushConfig {
    /// A Firebase service-account key file (JSON with `project_id`,
    /// `client_email`, `private_key`, `token_uri`), from the Firebase
    /// console's "Service accounts" tab.
    pub fcm_credentials_file: Option<PathBuf>,
    /// Replaces `https://fcm.googleapis.com` (tests, proxies).
    pub fcm_base_url: Option<String>,
    /// Replaces the key file's `token_uri` (tests, proxies).
    pub fcm_token_url: Option<String>,
}

impl PushConfig {
    /// The FCM adapter, when configured; an error when the key file is
    /// unreadable or not a service-account key.
    pub fn gateway(&self) -> anyhow::Result<Option<plugway_adapters::fcm::Fcm>> {
        let Some(path) = &self.fcm_credentials_file else {
            return Ok(None);
        };
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("push.fcm_credentials_file {}", path.display()))?;
        let account = plugway_adapters::fcm::ServiceAccount::from_json(&text)
            .map_err(|e| anyhow::anyhow!("push.fcm_credentials_file {}: {e}", path.display()))?;
        for (name, url) in [
            ("push.fcm_base_url", &self.fcm_base_url),
            ("push.fcm_token_url", &self.fcm_token_url),
        ] {
            if let Some(url) = url {
                if !(url.starts_with("https://") || url.starts_with("http://")) {
                    bail!("{name} must be an http(s) URL");
                }
            }
        }
        let fcm = plugway_adapters::fcm::Fcm::new(
            account,
            self.fcm_base_url.clone(),
            self.fcm_token_url.clone(),
        )
        .map_err(|e| anyhow::anyhow!("push: {e}"))?;
        Ok(Some(fcm))
    }
}

/// `[razorpay]`: Razorpay keys. Offered when `key_id` is set.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct RazorpaySettings {
    /// `https://api.razorpay.com`.
    pub base_url: Option<String>,
    /// Key id (`rzp_live_...`).
    pub key_id: Option<String>,
    /// Key secret.
    pub key_secret: Option<SecretString>,
    /// Webhook secret (Razorpay dashboard); webhooks are refused without it.
    pub webhook_secret: Option<SecretString>,
}

impl RazorpaySettings {
    /// The adapter, when configured.
    pub fn gateway(
        &self,
    ) -> anyhow::Result<Option<std::sync::Arc<dyn plugway_app::ports::payments::CheckoutGateway>>>
    {
        let Some(key_id) = &self.key_id else {
            return Ok(None);
        };
        let Some(secret) = &self.key_secret else {
            bail!("razorpay.key_id needs razorpay.key_secret");
        };
        let gateway =
            plugway_adapters::razorpay::Razorpay::new(plugway_adapters::razorpay::RazorpayConfig {
                base_url: self
                    .base_url
                    .clone()
                    .unwrap_or_else(|| "https://api.razorpay.com".into()),
                key_id: key_id.clone(),
                key_secret: secret.clone(),
                webhook_secret: self.webhook_secret.clone(),
            })
            .map_err(|e| anyhow::anyhow!("razorpay: {e}"))?;
        Ok(Some(std::sync::Arc::new(gateway)))
    }
}

/// `[qpay]`: QPay v2 merchant credentials. Top-ups are offered when
/// `client_id` is set.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct QPayConfig {
    /// `https://merchant.qpay.mn` (or QPay's sandbox).
    pub base_url: Option<String>,
    /// Merchant client id.
    pub client_id: Option<String>,
    /// Merchant client secret.
    pub client_secret: Option<SecretString>,
    /// The merchant's invoice code.
    pub invoice_code: Option<String>,
    /// Plugway's public base URL, where QPay's callbacks arrive
    /// (`https://api.example.com`).
    pub callback_base_url: Option<String>,
}

impl QPayConfig {
    /// The gateway, when configured; an error when half configured.
    pub fn setup(&self) -> anyhow::Result<Option<plugway_app::ports::payments::GatewaySetup>> {
        let Some(client_id) = &self.client_id else {
            return Ok(None);
        };
        let (Some(secret), Some(code), Some(callback)) = (
            &self.client_secret,
            &self.invoice_code,
            &self.callback_base_url,
        ) else {
            bail!("qpay.client_id needs qpay.client_secret, qpay.invoice_code and qpay.callback_base_url");
        };
        if !(callback.starts_with("https://") || callback.starts_with("http://")) {
            bail!("qpay.callback_base_url must be an http(s) URL");
        }
        let gateway = plugway_adapters::qpay::QPay::new(plugway_adapters::qpay::QPayConfig {
            base_url: self
                .base_url
                .clone()
                .unwrap_or_else(|| "https://merchant.qpay.mn".into()),
            client_id: client_id.clone(),
            client_secret: secret.clone(),
            invoice_code: code.clone(),
        })
        .map_err(|e| anyhow::anyhow!("qpay: {e}"))?;
        Ok(Some(plugway_app::ports::payments::GatewaySetup {
            gateway: std::sync::Arc::new(gateway),
            callback_base: callback.clone(),
        }))
    }
}

/// `[money]`: wallets and payments.
#[derive(Debug, Deserialize)]
#[serde(default)]
pub struct MoneyConfig {
    /// ISO 4217 currency of drivers' wallets (seed 001's `balance`); purchases
    /// in it can be paid from the wallet.
    pub wallet_currency: String,
    /// What one credit point pays at checkout, in major units of the wallet
    /// currency (seed 000's AppCreditValue); 0 turns spending points off.
    pub credit_point_value: f64,
    /// Credit points a referrer gets when the account they referred pays
    /// for its first charging session; 0 for none.
    pub referral_reward_credits: i64,
}

impl Default for MoneyConfig {
    fn default() -> Self {
        Self {
            wallet_currency: "MNT".into(),
            credit_point_value: 1.0,
            referral_reward_credits: 50,
        }
    }
}

/// `[bookings]`: what drivers may book and when the booking jobs act.
#[derive(Debug, Deserialize)]
#[serde(default)]
pub struct BookingConfig {
    /// Shortest slot, minutes (a multiple of 5).
    pub min_duration_minutes: i64,
    /// Longest slot, minutes (a multiple of 5).
    pub max_duration_minutes: i64,
    /// How many days ahead a slot may start.
    pub horizon_days: i64,
    /// Drivers may cancel until this many minutes before the start; hosts
    /// until the start.
    pub cancel_deadline_minutes: i64,
    /// A booking not started this many minutes after its start is a no-show
    /// and frees the connector.
    pub no_show_grace_minutes: i64,
    /// The connector is held on the charger (OCPP ReserveNow) from this many
    /// minutes before the start; others cannot start on it from then.
    pub hold_lead_minutes: i64,
    /// The driver is reminded this many minutes before the start.
    pub reminder_lead_minutes: i64,
    /// Upcoming bookings one driver may hold at once.
    pub max_upcoming_per_driver: i64,
    /// Seconds between passes of the booking jobs.
    pub sweep_seconds: u64,
}

impl Default for BookingConfig {
    fn default() -> Self {
        let p = plugway_domain::booking::BookingPolicy::default();
        Self {
            min_duration_minutes: p.min_duration.num_minutes(),
            max_duration_minutes: p.max_duration.num_minutes(),
            horizon_days: p.horizon.num_days(),
            cancel_deadline_minutes: p.cancel_deadline.num_minutes(),
            no_show_grace_minutes: p.no_show_grace.num_minutes(),
            hold_lead_minutes: p.hold_lead.num_minutes(),
            reminder_lead_minutes: p.reminder_lead.num_minutes(),
            max_upcoming_per_driver: p.max_live_per_driver,
            sweep_seconds: 15,
        }
    }
}

impl BookingConfig {
    /// The checked policy.
    pub fn policy(&self) -> anyhow::Result<plugway_domain::booking::BookingPolicy> {
        use chrono::Duration;
        let step = plugway_domain::booking::SLOT_STEP_MINUTES;
        if self.min_duration_minutes < step
            || self.max_duration_minutes < self.min_duration_minutes
            || self.min_duration_minutes % step != 0
            || self.max_duration_minutes % step != 0
            || self.max_duration_minutes > 7 * 24 * 60
        {
            bail!("bookings: min/max_duration_minutes must be multiples of {step}, min <= max <= 10080");
        }
        let non_negative = [
            ("horizon_days", self.horizon_days),
            ("cancel_deadline_minutes", self.cancel_deadline_minutes),
            ("no_show_grace_minutes", self.no_show_grace_minutes),
            ("hold_lead_minutes", self.hold_lead_minutes),
            ("reminder_lead_minutes", self.reminder_lead_minutes),
        ];
        for (name, value) in non_negative {
            if !(0..=100_000).contains(&value) {
                bail!("bookings.{name} must be from 0 to 100000");
            }
        }
        if self.horizon_days < 1 || self.max_upcoming_per_driver < 1 || self.sweep_seconds < 1 {
            bail!("bookings: horizon_days, max_upcoming_per_driver and sweep_seconds must be at least 1");
        }
        Ok(plugway_domain::booking::BookingPolicy {
            min_duration: Duration::minutes(self.min_duration_minutes),
            max_duration: Duration::minutes(self.max_duration_minutes),
            horizon: Duration::days(self.horizon_days),
            cancel_deadline: Duration::minutes(self.cancel_deadline_minutes),
            no_show_grace: Duration::minutes(self.no_show_grace_minutes),
            hold_lead: Duration::minutes(self.hold_lead_minutes),
            reminder_lead: Duration::minutes(self.reminder_lead_minutes),
            max_live_per_driver: self.max_upcoming_per_driver,
        })
    }
}

/// `[nats]`: how Plugway uses the NATS server of `--nats-url`.
#[derive(Debug, Deserialize)]
#[serde(default)]
pub struct NatsConfig {
    /// Put before every subject (`plugway.user.<id>.CHARGING`).
    pub prefix: String,
    /// The server URL(s) given to apps at sign-in (default: `--nats-url`).
    pub public_url: Option<String>,
    /// The Plugway account's public key (`A...`), from `plugway nats init`.
    pub account_public_key: Option<String>,
    /// A signing key seed of that account (`SA...`): with it Plugway mints
    /// its own credentials and each driver's (subscribe to their own topic
    /// only). Without it Plugway connects unauthenticated and the sign-in's
    /// `nats` is null.
    pub account_signing_seed: Option<SecretString>,
    /// How long a driver's NATS credentials stay valid, seconds.
    pub credentials_ttl_secs: u64,
    /// How long JetStream keeps user and host events, seconds.
    pub retention_secs: u64,
    /// The JetStream stream that keeps them (one per deployment on a shared server).
    pub stream: String,
}

impl Default for NatsConfig {
    fn default() -> Self {
        Self {
            prefix: "plugway".into(),
            public_url: None,
            account_public_key: None,
            account_signing_seed: None,
            credentials_ttl_secs: 24 * 3600,
            retention_secs: 24 * 3600,
            stream: "PLUGWAY_EVENTS".into(),
        }
    }
}

impl NatsConfig {
    /// The signer for credentials, when the keys are configured.
    pub fn signer(&self) -> anyhow::Result<Option<plugway_events::nats_auth::NatsAccountSigner>> {
        match (&self.account_public_key, &self.account_signing_seed) {
            (Some(account), Some(seed)) => Ok(Some(
                plugway_events::nats_auth::NatsAccountSigner::from_signing_seed(
                    account,
                    seed.expose_secret(),
                )
                .map_err(|e| anyhow::anyhow!("nats.account_signing_seed: {e}"))?,
            )),
            (None, None) => Ok(None),
            _ => bail!("nats.account_public_key and nats.account_signing_seed go together"),
        }
    }
}

/// `[sessions]`: charging sessions, pricing and live events.
#[derive(Debug, Deserialize)]
#[serde(default)]
pub struct SessionConfig {
    /// Service tax on sessions priced from an EVSE's simple prices, basis
    /// points (1800 = 18 %). An EVSE's own full tariff states its own.
    pub service_tax_bps: i64,
    /// Free waiting minutes before the waiting price applies.
    pub waiting_grace_minutes: i64,
    /// Sessions one driver may run at once.
    pub max_active_per_driver: i64,
    /// Seconds a started session may wait for the charger's StartTransaction.
    pub start_timeout_secs: u64,
    /// Seconds `finish` waits for the charger's StopTransaction.
    pub stop_timeout_secs: u64,
    /// Seconds between CHARGING events (2 to 5, seed 001).
    pub event_interval_secs: u64,
    /// Platform commission on host earnings, basis points.
    pub commission_bps: i64,
    /// Seconds a connector may report Available while its session still
    /// has a transaction before the session is closed at its last reading.
    pub orphan_grace_secs: u64,
}

impl Default for SessionConfig {
    fn default() -> Self {
        let d = plugway_app::sessions::SessionSettings::default();
        Self {
            service_tax_bps: d.service_tax_bps,
            waiting_grace_minutes: d.waiting_grace_minutes,
            max_active_per_driver: d.max_active_per_user,
            start_timeout_secs: d.start_timeout.as_secs(),
            stop_timeout_secs: d.stop_timeout.as_secs(),
            event_interval_secs: d.tick.as_secs(),
            commission_bps: d.commission_bps,
            orphan_grace_secs: d.orphan_grace.as_secs(),
        }
    }
}

impl SessionConfig {
    /// The engine's settings, checked.
    pub fn settings(&self) -> anyhow::Result<plugway_app::sessions::SessionSettings> {
        if !(0..=10_000).contains(&self.service_tax_bps) {
            bail!("sessions.service_tax_bps must be from 0 to 10000 (100 %)");
        }
        if !(0..=10_000).contains(&self.commission_bps) {
            bail!("sessions.commission_bps must be from 0 to 10000 (100 %)");
        }
        if self.waiting_grace_minutes < 0 {
            bail!("sessions.waiting_grace_minutes must not be negative");
        }
        if self.max_active_per_driver < 1 {
            bail!("sessions.max_active_per_driver must be 1 or more");
        }
        if !(2..=5).contains(&self.event_interval_secs) {
            bail!("sessions.event_interval_secs must be from 2 to 5 (seed 001's CHARGING cadence)");
        }
        if !(5..=600).contains(&self.start_timeout_secs)
            || !(5..=600).contains(&self.stop_timeout_secs)
        {
            bail!("sessions.start_timeout_secs and stop_timeout_secs must be from 5 to 600");
        }
        let secs = std::time::Duration::from_secs;
        Ok(plugway_app::sessions::SessionSettings {
            service_tax_bps: self.service_tax_bps,
            waiting_grace_minutes: self.waiting_grace_minutes,
            max_active_per_user: self.max_active_per_driver,
            start_timeout: secs(self.start_timeout_secs),
            stop_timeout: secs(self.stop_timeout_secs),
            tick: secs(self.event_interval_secs),
            commission_bps: self.commission_bps,
            orphan_grace: secs(self.orphan_grace_secs.max(10)),
        })
    }
}

/// `[ocpp]`: the central system.
#[derive(Debug, Deserialize)]
#[serde(default)]
pub struct OcppSettings {
    /// Heartbeat interval told to chargers, seconds.
    pub heartbeat_interval_secs: u32,
    /// How long a command waits for the charger's answer, seconds.
    pub call_timeout_secs: u64,
    /// Close connections silent this long, seconds.
    pub idle_timeout_secs: u64,
    /// WebSocket ping interval, seconds.
    pub ping_interval_secs: u64,
    /// Largest message from a charger, bytes.
    pub max_message_bytes: usize,
    /// Keep every frame in the per-charger message log.
    #[serde(deserialize_with = "lenient_bool")]
    pub message_log: bool,
    /// Days the message log is kept.
    pub message_log_days: i64,
    /// Chargers admitted at once that have not had their first request
    /// answered; more are answered 503 with `Retry-After` (a reconnect
    /// storm waits at the chargers, not in memory).
    pub max_pending_connections: usize,
    /// The certificate (PEM) of the CA that signs charging stations'
    /// certificates (SignCertificate → CertificateSigned); with `ca_key`.
    pub ca_cert: Option<std::path::PathBuf>,
    /// That CA's private key (PEM).
    pub ca_key: Option<std::path::PathBuf>,
    /// Charger models' known meter deviations, corrected as their values
    /// come in: `[[ocpp.meter_quirks]]` with `vendor`, `model` (`*` for
    /// every model), `energy_in_kwh`, `measurand_aliases`
    /// (docs/ocpp.md, "Meter quirks").
    pub meter_quirks: Vec<plugway_domain::meter_quirks::MeterQuirks>,
}

impl Default for OcppSettings {
    fn default() -> Self {
        Self {
            heartbeat_interval_secs: 300,
            call_timeout_secs: 30,
            idle_timeout_secs: 900,
            ping_interval_secs: 60,
            max_message_bytes: 64 * 1024,
            message_log: true,
            message_log_days: 7,
            max_pending_connections: 10_000,
            ca_cert: None,
            ca_key: None,
            meter_quirks: Vec::new(),
        }
    }
}

/// `[otp]`.
#[derive(Debug, Deserialize)]
#[serde(default)]
pub struct OtpConfig {
    /// Digits per code, 4 to 6.
    pub digits: u32,
    /// Validity, seconds.
    pub ttl_secs: i64,
    /// Wrong tries per code.
    pub max_attempts: i64,
    /// Wait between two codes to one phone, seconds.
    pub resend_cooldown_secs: i64,
    /// Codes per phone per hour.
    pub max_per_hour: i64,
}

impl Default for OtpConfig {
    fn default() -> Self {
        Self {
            digits: 6,
            ttl_secs: 300,
            max_attempts: 5,
            resend_cooldown_secs: 30,
            max_per_hour: 5,
        }
    }
}

/// `[sms]`: Twilio's Messaging API, or nothing.
#[derive(Debug, Deserialize)]
#[serde(default)]
pub struct SmsConfig {
    /// `twilio`, or unset for none (`--dev` logs messages instead).
    pub provider: Option<String>,
    /// API base URL.
    pub twilio_base_url: String,
    /// Account SID.
    pub twilio_account_sid: Option<String>,
    /// Auth token.
    pub twilio_auth_token: Option<SecretString>,
    /// Sender number or messaging service.
    pub twilio_from: Option<String>,
}

impl Default for SmsConfig {
    fn default() -> Self {
        Self {
            provider: None,
            twilio_base_url: "https://api.twilio.com".into(),
            twilio_account_sid: None,
            twilio_auth_token: None,
            twilio_from: None,
        }
    }
}

/// `[media]`: photo and logo storage. Local files under the data directory
/// by default; any S3-compatible bucket when `backend = "s3"`.
#[derive(Debug, Deserialize)]
#[serde(default)]
pub struct MediaConfig {
    /// `local` or `s3`.
    pub backend: String,
    /// Directory for `local` (default `<data-dir>/media`).
    pub dir: Option<PathBuf>,
    /// Largest upload, bytes (one image; several come in one request).
    pub max_image_bytes: usize,
    /// S3 bucket.
    pub s3_bucket: Option<String>,
    /// S3 region.
    pub s3_region: String,
    /// S3-compatible endpoint (MinIO, R2, ...); AWS when unset.
    pub s3_endpoint: Option<String>,
    /// Access key id.
    pub s3_access_key_id: Option<String>,
    /// Secret access key.
    pub s3_secret_access_key: Option<SecretString>,
    /// Allow plain-HTTP endpoints (a local MinIO).
    pub s3_allow_http: bool,
}

impl Default for MediaConfig {
    fn default() -> Self {
        Self {
            backend: "local".into(),
            dir: None,
            max_image_bytes: 10 * 1024 * 1024,
            s3_bucket: None,
            s3_region: "us-east-1".into(),
            s3_endpoint: None,
            s3_access_key_id: None,
            s3_secret_access_key: None,
            s3_allow_http: false,
        }
    }
}

impl MediaConfig {
    /// The media store this configuration describes.
    pub fn store(&self, data_dir: &std::path::Path) -> anyhow::Result<plugway_media::MediaStore> {
        use secrecy::ExposeSecret;
        let backend = match self.backend.as_str() {
            "local" => plugway_media::MediaBackend::Local(
                self.dir.clone().unwrap_or_else(|| data_dir.join("media")),
            ),
            "s3" => plugway_media::MediaBackend::S3 {
                bucket: self.s3_bucket.clone().ok_or_else(|| {
                    anyhow::anyhow!("media.s3_bucket is required with backend = \"s3\"")
                })?,
                region: self.s3_region.clone(),
                endpoint: self.s3_endpoint.clone(),
                access_key_id: self.s3_access_key_id.clone().unwrap_or_default(),
                secret_access_key: self
                    .s3_secret_access_key
                    .as_ref()
                    .map(|s| s.expose_secret().to_owned())
                    .unwrap_or_default(),
                allow_http: self.s3_allow_http,
            },
            other => anyhow::bail!("media.backend must be local or s3, not {other:?}"),
        };
        let limits = plugway_media::ImageLimits {
            max_bytes: self.max_image_bytes,
            ..plugway_media::ImageLimits::default()
        };
        plugway_media::MediaStore::new(&backend, limits)
            .map_err(|e| anyhow::anyhow!("media storage: {e}"))
    }
}

/// `[rate_limits]`, per client address per minute.
#[derive(Debug, Deserialize)]
#[serde(default)]
pub struct RateLimitConfig {
    /// OTP sends.
    pub otp_sends_per_minute: u32,
    /// Code and password checks.
    pub credential_checks_per_minute: u32,
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        Self {
            otp_sends_per_minute: 10,
            credential_checks_per_minute: 30,
        }
    }
}

/// Accepts `true`/`false`, `1`/`0`, `yes`/`no`, `on`/`off`: `PLUGWAY_DEV=1` must work.
fn lenient_bool<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Bool(bool),
        Int(i64),
        Text(String),
    }
    match Raw::deserialize(d)? {
        Raw::Bool(b) => Ok(b),
        Raw::Int(i) => Ok(i != 0),
        Raw::Text(s) => match s.trim().to_ascii_lowercase().as_str() {
            "1" | "true" | "yes" | "on" => Ok(true),
            "0" | "false" | "no" | "off" | "" => Ok(false),
            other => Err(serde::de::Error::custom(format!(
                "expected a boolean, got {other:?}"
            ))),
        },
    }
}

/// Layers file, environment and flag overrides into a [`Config`].
pub fn load(
    config_file: Option<&Path>,
    overrides: impl serde::Serialize,
) -> anyhow::Result<Config> {
    let mut figment = Figment::new();
    let file = config_file
        .map(Path::to_path_buf)
        .or_else(|| std::env::var_os("PLUGWAY_CONFIG").map(PathBuf::from));
    match file {
        Some(path) => {
            if !path.exists() {
                bail!("configuration file {} does not exist", path.display());
            }
            figment = figment.merge(Toml::file(path));
        }
        None => figment = figment.merge(Toml::file("plugway.toml")),
    }
    figment
        .merge(Env::prefixed("PLUGWAY_").split("__").ignore(&["config"]))
        .merge(Serialized::defaults(overrides))
        .extract()
        .context("invalid configuration")
}

/// Which database a URL points at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Database {
    /// `sqlite://...`
    Sqlite(String),
    /// `postgres://...`
    Postgres(String),
}

impl Config {
    /// The database URL, defaulting to SQLite in the data directory.
    pub fn database(&self) -> anyhow::Result<Database> {
        let url = match &self.database_url {
            Some(url) => url.clone(),
            None => format!("sqlite://{}", self.data_dir.join("plugway.db").display()),
        };
        if url.starts_with("sqlite:") {
            Ok(Database::Sqlite(url))
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Database::Postgres(url))
        } else {
            bail!("--database-url must start with sqlite:// or postgres://")
        }
    }

    /// The listen address.
    pub fn listen_addr(&self) -> anyhow::Result<SocketAddr> {
        self.listen.parse().with_context(|| {
            format!(
                "--listen {:?} is not an address like 127.0.0.1:8080",
                self.listen
            )
        })
    }

    /// The default phone region.
    pub fn region(&self) -> anyhow::Result<Option<Region>> {
        self.default_region
            .as_deref()
            .map(|r| {
                r.parse().map_err(|_| {
                    anyhow::anyhow!("--default-region {r:?} is not an ISO 3166 country code")
                })
            })
            .transpose()
    }

    /// Checks everything that does not need I/O.
    pub fn validate(&self) -> anyhow::Result<()> {
        if self
            .metrics_token
            .as_ref()
            .is_some_and(|t| t.expose_secret().trim().is_empty())
        {
            // An empty token would match a request without one: metrics
            // public while the operator believes them private.
            anyhow::bail!(
                "metrics_token is empty: set a token, or leave it unset for public metrics"
            );
        }
        self.listen_addr()?;
        self.region()?;
        for (n, quirks) in self.ocpp.meter_quirks.iter().enumerate() {
            quirks
                .validate()
                .map_err(|e| anyhow::anyhow!("[[ocpp.meter_quirks]] number {}: {e}", n + 1))?;
        }
        self.sessions.settings()?;
        self.qpay.setup()?;
        self.razorpay.gateway()?;
        self.push.gateway()?;
        let wallet_currency = plugway_domain::Currency::parse(&self.money.wallet_currency)
            .map_err(|e| anyhow::anyhow!("money.wallet_currency: {}", e.message))?;
        if wallet_currency
            .to_minor(self.money.credit_point_value)
            .is_none()
        {
            anyhow::bail!("money.credit_point_value must be 0 or a positive amount");
        }
        self.bookings.policy()?;
        self.search.settings()?;
        self.console.settings(self.tls_cert.is_some())?;
        self.ocpi.settings(&self.listen)?;
        if self.money.referral_reward_credits < 0 {
            anyhow::bail!("money.referral_reward_credits must be 0 or more");
        }
        if let Some(url) = &self.nats_url {
            if !(url.starts_with("nats://") || url.starts_with("tls://")) {
                bail!("--nats-url must start with nats:// or tls://");
            }
            if !plugway_events::valid_subject(&self.nats.prefix) {
                bail!("nats.prefix must be one or more subject tokens without wildcards");
            }
            self.nats.signer()?;
        }
        let db = self.database()?;
        if self.dev && matches!(db, Database::Postgres(_)) && !self.dev_allow_postgres {
            bail!("--dev accepts OTP 0000 for every phone and is refused on PostgreSQL; add --dev-allow-postgres if this is not production");
        }
        if !(4..=6).contains(&self.otp.digits) {
            bail!("otp.digits must be 4 to 6");
        }
        for (name, v) in [
            ("access_token_ttl_secs", self.access_token_ttl_secs),
            ("refresh_token_ttl_secs", self.refresh_token_ttl_secs),
            ("session_ttl_secs", self.session_ttl_secs),
            ("otp.ttl_secs", self.otp.ttl_secs),
            ("otp.max_attempts", self.otp.max_attempts),
            ("otp.max_per_hour", self.otp.max_per_hour),
        ] {
            if v <= 0 {
                bail!("{name} must be positive");
            }
        }
        if let Some(secret) = &self.jwt_secret {
            if secret.expose_secret().len() < 32 {
                bail!("jwt_secret must be at least 32 bytes");
            }
        }
        match (&self.tls_cert, &self.tls_key) {
            (Some(_), None) | (None, Some(_)) => bail!("--tls-cert and --tls-key go together"),
            (Some(cert), Some(key)) => {
                for f in [cert, key] {
                    if !f.is_file() {
                        bail!("TLS file {} does not exist", f.display());
                    }
                }
            }
            (None, None) => {}
        }
        if let Some(url) = &self.crm_webhook_url {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                bail!("--crm-webhook-url must be an http:// or https:// URL");
            }
        }
        if !matches!(self.log_format.as_str(), "text" | "json") {
            bail!("--log-format must be text or json");
        }
        match self.sms.provider.as_deref() {
            None | Some("") => {}
            Some("twilio") => {
                if self.sms.twilio_account_sid.is_none()
                    || self.sms.twilio_auth_token.is_none()
                    || self.sms.twilio_from.is_none()
                {
                    bail!("sms.provider = twilio needs sms.twilio_account_sid, sms.twilio_auth_token and sms.twilio_from");
                }
            }
            Some(other) => bail!("sms.provider {other:?} is unknown (supported: twilio)"),
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::result_large_err)]
    use super::*;

    #[test]
    fn defaults_are_valid_and_point_at_sqlite_in_the_data_dir() {
        let c = Config::default();
        c.validate().unwrap();
        assert_eq!(
            c.database().unwrap(),
            Database::Sqlite("sqlite://./data/plugway.db".into())
        );
    }

    #[test]
    fn dev_on_postgres_is_refused_unless_allowed() {
        let mut c = Config {
            dev: true,
            database_url: Some("postgres://postgres@127.0.0.1/x".into()),
            ..Config::default()
        };
        assert!(c.validate().is_err());
        c.dev_allow_postgres = true;
        c.validate().unwrap();
    }

    #[test]
    fn secrets_do_not_show_in_debug() {
        let c = Config {
            jwt_secret: Some(SecretString::from("x".repeat(40))),
            ..Config::default()
        };
        assert!(!format!("{c:?}").contains(&"x".repeat(40)));
    }

    #[test]
    fn layers_apply_in_order_file_env_flags() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "plugway.toml",
                "listen = \"127.0.0.1:1\"\ndev = false\n[otp]\ndigits = 4\n",
            )?;
            jail.set_env("PLUGWAY_LISTEN", "127.0.0.1:2");
            jail.set_env("PLUGWAY_DEV", "1");
            let c = load(None, serde_json::json!({})).unwrap();
            assert_eq!(
                (c.listen.as_str(), c.dev, c.otp.digits),
                ("127.0.0.1:2", true, 4)
            );
            let c = load(None, serde_json::json!({"listen": "127.0.0.1:3"})).unwrap();
            assert_eq!(c.listen, "127.0.0.1:3");
            assert!(c.metrics_token.is_none(), "metrics are public by default");
            jail.set_env("PLUGWAY_METRICS_TOKEN", "scrape-me");
            let c = load(None, serde_json::json!({})).unwrap();
            assert_eq!(
                c.metrics_token
                    .as_ref()
                    .map(|t| t.expose_secret().to_owned()),
                Some("scrape-me".to_owned())
            );
            c.validate().unwrap();
            jail.set_env("PLUGWAY_METRICS_TOKEN", " ");
            let c = load(None, serde_json::json!({})).unwrap();
            assert!(c.validate().is_err(), "an empty token would let anyone in");
            Ok(())
        });
    }

    #[test]
    fn meter_quirks_are_read_from_the_file_as_the_readme_writes_them() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "plugway.toml",
                r#"
[[ocpp.meter_quirks]]
vendor = "Acme"
model = "AC22"
energy_in_kwh = true
measurand_aliases = { "Energy.Active.Import.Interval" = "Energy.Active.Import.Register" }

[[ocpp.meter_quirks]]
vendor = "Acme"
model = "*"
"#,
            )?;
            let c = load(None, serde_json::json!({})).unwrap();
            c.validate().unwrap();
            let q = &c.ocpp.meter_quirks;
            let (exact, every) = (q.first().unwrap(), q.get(1).unwrap());
            assert_eq!(q.len(), 2);
            assert!(exact.energy_in_kwh && !every.energy_in_kwh);
            assert_eq!(
                exact
                    .measurand_aliases
                    .get("Energy.Active.Import.Interval")
                    .map(String::as_str),
                Some("Energy.Active.Import.Register")
            );
            // A misspelt key is an error, not a quirk silently ignored.
            jail.create_file(
                "plugway.toml",
                "[[ocpp.meter_quirks]]\nvendor = \"Acme\"\nmodel = \"X\"\nenergy_in_kWh = true\n",
            )?;
            assert!(load(None, serde_json::json!({})).is_err());
            // No model: refused at start-up, naming the profile.
            jail.create_file(
                "plugway.toml",
                "[[ocpp.meter_quirks]]\nvendor = \"Acme\"\nmodel = \"\"\n",
            )?;
            let c = load(None, serde_json::json!({})).unwrap();
            let refused = c.validate().unwrap_err().to_string();
            assert!(refused.contains("meter_quirks]] number 1"), "{refused}");
            Ok(())
        });
    }
}
