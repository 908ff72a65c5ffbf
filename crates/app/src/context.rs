//! What every use case can reach: the ports (store, bus, chargers, SMS,
//! payment gateways, media), the injected clock and id generator, the token
//! signer, the settings, the rate limits, the search index and the live
//! event hub. Every face holds one [`App`] (cheap to clone) and passes it to
//! the use cases.

use std::ops::Deref;
use std::sync::Arc;

use chrono::Duration;
use plugway_domain::{Clock, IdGenerator, OtpPolicy, Region};
use plugway_events::{ChargerGateway, EventBus};
use plugway_store::Store;
use secrecy::SecretSlice;

use crate::ports::payments::PaymentGateway;
use crate::ports::sms::SmsSender;
use crate::ratelimit::RateLimits;
use crate::security::tokens::TokenSigner;

/// Tunables of the use cases, validated by the binary before they get here.
#[derive(Debug, Clone)]
pub struct AppSettings {
    /// Development mode: OTP `0000` is accepted for every phone.
    pub dev: bool,
    /// Region for phone numbers written without a country code.
    pub default_region: Option<Region>,
    /// OTP length, lifetime, tries, cool-down and hourly cap.
    pub otp: OtpPolicy,
    /// A session ends this long after sign-in, however often it refreshes.
    pub session_ttl: Duration,
    /// Wrong passwords in a row before password sign-in is locked.
    pub lockout_after: i64,
    /// How long the lock lasts.
    pub lockout_for: Duration,
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// OTP sends per minute per client address.
    pub otp_sends_per_minute: u32,
    /// Code and password checks per minute per client address.
    pub credential_checks_per_minute: u32,
    /// Count those per-address limits in the database, for every node of a
    /// cluster (else in each node's memory).
    pub shared_rate_limits: bool,
    /// Largest upload body (photos, CSV files), bytes.
    pub max_upload_bytes: usize,
    /// The currency of drivers' wallets (seed 001's `balance`).
    pub wallet_currency: plugway_domain::Currency,
    /// What one credit point pays at checkout, minor units of the wallet
    /// currency (seed 000's AppCreditValue); 0 turns spending points off.
    pub credit_point_value: i64,
    /// Credit points a referrer gets when the account they referred pays
    /// for its first charging session; 0 for none.
    pub referral_reward_credits: i64,
    /// Booking rules: slot lengths, deadlines, grace, hold and reminder leads.
    pub bookings: plugway_domain::booking::BookingPolicy,
    /// How drivers' searches run (`[search]`).
    pub search_index: crate::search_index::SearchIndexSettings,
    /// SHA-256 of the bearer token `/metrics` requires (the token itself is
    /// not kept); none: it is public.
    pub metrics_token_digest: Option<String>,
    /// Who we are in OCPI and where partners reach us (`[ocpi]`).
    pub ocpi: crate::roaming::OcpiSettings,
    /// Site load management's timings.
    pub load: crate::load::engine::LoadSettings,
    /// The operator console's map and cookie (`[console]`).
    pub console: crate::console::ConsoleSettings,
}

impl Default for AppSettings {
    fn default() -> Self {
        Self {
            dev: false,
            default_region: None,
            otp: OtpPolicy::default(),
            session_ttl: Duration::days(30),
            lockout_after: 10,
            lockout_for: Duration::minutes(15),
            max_body_bytes: 64 * 1024,
            otp_sends_per_minute: 10,
            credential_checks_per_minute: 30,
            shared_rate_limits: false,
            max_upload_bytes: 60 * 1024 * 1024,
            wallet_currency: plugway_domain::Currency::MNT,
            credit_point_value: 100,
            referral_reward_credits: 50,
            bookings: plugway_domain::booking::BookingPolicy::default(),
            search_index: crate::search_index::SearchIndexSettings::default(),
            metrics_token_digest: None,
            ocpi: crate::roaming::OcpiSettings::default(),
            load: crate::load::engine::LoadSettings::default(),
            console: crate::console::ConsoleSettings::default(),
        }
    }
}

/// What the sign-in's `nats` object is made of (seed 001), when events go
/// to NATS: where the server is, the subject prefix, and (in operator mode)
/// the key that mints each driver's credentials (subscribe to
/// `{prefix}.user.<id>.>` only).
#[derive(Debug)]
pub struct NatsAccess {
    /// Server URL(s) for apps.
    pub servers: String,
    /// Subject prefix.
    pub prefix: String,
    /// Mints user JWTs; `None` when the NATS server runs without per-user
    /// authorization (drivers then get no credentials).
    pub signer: Option<plugway_events::nats_auth::NatsAccountSigner>,
    /// Lifetime of a driver's credentials.
    pub ttl: std::time::Duration,
}

/// The parts of the application, shared by every use case.
#[derive(Debug)]
pub struct AppParts {
    /// Storage.
    pub store: Arc<dyn Store>,
    /// Events.
    pub bus: Arc<dyn EventBus>,
    /// Commands to charge points.
    pub chargers: Arc<dyn ChargerGateway>,
    /// Per-driver NATS credentials, when NATS runs with per-user authorization.
    pub nats: Option<NatsAccess>,
    /// The payment gateway for top-ups, when one is configured.
    pub payments: Option<crate::ports::payments::GatewaySetup>,
    /// Razorpay, when configured (its checkout runs in the app).
    pub razorpay: Option<Arc<dyn crate::ports::payments::CheckoutGateway>>,
    /// Charging sessions (shared with the central system).
    pub sessions: Arc<crate::sessions::SessionEngine>,
    /// Time.
    pub clock: Arc<dyn Clock>,
    /// Ids.
    pub ids: Arc<dyn IdGenerator>,
    /// SMS delivery.
    pub sms: Arc<dyn SmsSender>,
    /// JWT signing.
    pub tokens: TokenSigner,
    /// Key for OTP hashes (derived from the server secret).
    pub otp_key: SecretSlice<u8>,
    /// Settings.
    pub settings: AppSettings,
    /// Photos and logos.
    pub media: Arc<dyn crate::ports::images::ImageStore>,
    /// Calls to roaming partners.
    pub ocpi: Arc<dyn crate::ports::ocpi::OcpiClient>,
}

/// The application: its parts, rate limits, search index and live hub. Cheap to clone.
#[derive(Debug, Clone)]
pub struct App(Arc<Inner>);

/// The state's contents.
#[derive(Debug)]
pub struct Inner {
    /// The parts given at start.
    pub parts: AppParts,
    /// Per-address limits.
    pub limits: RateLimits,
    /// The live event hub, started by the first event stream.
    pub live: std::sync::OnceLock<Arc<crate::live::LiveHub>>,
    /// The in-memory search index (loaded on first use or at start).
    pub search_index: Arc<crate::search_index::SearchIndex>,
    /// Site load management.
    pub load: Arc<crate::load::engine::LoadManager>,
}

impl App {
    /// Builds the state (and its rate limiters) from the parts.
    pub fn new(parts: AppParts) -> Self {
        let limits = RateLimits::new(
            parts.settings.otp_sends_per_minute,
            parts.settings.credential_checks_per_minute,
            parts
                .settings
                .shared_rate_limits
                .then(|| parts.store.clone()),
        );
        let search_index =
            crate::search_index::SearchIndex::new(parts.store.clone(), parts.settings.search_index);
        let load = crate::load::engine::LoadManager::new(
            parts.store.clone(),
            parts.chargers.clone(),
            parts.bus.clone(),
            parts.clock.clone(),
            parts.settings.load.clone(),
            parts.ids.new_uuid(parts.clock.now()).simple().to_string(),
        );
        // Transactions and readings reach the load manager through the
        // session engine, which the central system calls.
        parts.sessions.set_load_manager(load.clone());
        Self(Arc::new(Inner {
            parts,
            limits,
            live: std::sync::OnceLock::new(),
            search_index,
            load,
        }))
    }
}

impl App {
    /// A handle that does not keep the application alive (for what the
    /// application's own parts hold of it).
    pub fn downgrade(&self) -> std::sync::Weak<Inner> {
        Arc::downgrade(&self.0)
    }

    /// The application behind a [`App::downgrade`] handle, while it lives.
    pub fn upgrade(weak: &std::sync::Weak<Inner>) -> Option<Self> {
        weak.upgrade().map(Self)
    }
}

impl Deref for App {
    type Target = AppParts;
    fn deref(&self) -> &AppParts {
        &self.0.parts
    }
}

impl App {
    /// The rate limiters.
    pub fn limits(&self) -> &RateLimits {
        &self.0.limits
    }

    /// Site load management.
    pub fn load(&self) -> &Arc<crate::load::engine::LoadManager> {
        &self.0.load
    }

    /// The in-memory search index.
    pub fn search_index(&self) -> &Arc<crate::search_index::SearchIndex> {
        &self.0.search_index
    }

    /// Ends the live event streams (at shutdown, so graceful shutdown does
    /// not wait on connections that never end).
    pub fn close_live_streams(&self) {
        if let Some(hub) = self.0.live.get() {
            hub.close();
        }
    }

    /// The configured gateway an invoice's `gateway` names (`qpay`, `razorpay`).
    pub fn gateway_named(&self, name: &str) -> Option<Arc<dyn PaymentGateway>> {
        match name {
            "razorpay" => self.razorpay.clone().map(|r| r.into_payment_gateway()),
            name => self
                .payments
                .as_ref()
                .filter(|s| s.gateway.option().eq_ignore_ascii_case(name))
                .map(|s| s.gateway.clone()),
        }
    }

    /// The live event hub (started on first use, inside the runtime).
    pub fn live(&self) -> &Arc<crate::live::LiveHub> {
        self.0
            .live
            .get_or_init(|| crate::live::LiveHub::start(self.bus.clone()))
    }
}
