//! A real Plugway API on a loopback port, over a real database (a temporary
//! SQLite file, or a private PostgreSQL schema), with a fake Twilio that
//! records the SMS it is asked to send, so tests read real codes.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::{Form, Json, Router};
use base64::Engine;
use chrono::{Duration, Utc};
use plugway_adapters::twilio::TwilioSms;
use plugway_app::ports::sms::SmsSender;
use plugway_app::security::tokens::TokenSigner;
use plugway_app::{App as AppState, AppParts, AppSettings};
use plugway_domain::{ManualClock, RandomIds};
use plugway_events::InProcessBus;
use plugway_store::Store;
use plugway_store_postgres::testing::TestDatabase;
use plugway_store_sqlite::SqliteStore;
use secrecy::{SecretSlice, SecretString};
use serde_json::{json, Value};
use tokio::sync::oneshot;

/// Which database a test runs on.
#[derive(Debug, Clone, Copy)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Keeps the database alive for the test and cleans it up.
enum DbGuard {
    Sqlite(#[allow(dead_code)] tempfile::TempDir),
    Postgres(TestDatabase),
}

pub const TWILIO_SID: &str = "AC00000000000000000000000000000001";
pub const TWILIO_TOKEN: &str = "fake-twilio-auth-token";
pub const TWILIO_FROM: &str = "+15005550006";

/// What the fake Twilio received.
#[derive(Debug, Clone)]
pub struct SentSms {
    pub to: String,
    pub body: String,
}

#[derive(Clone, Default)]
struct FakeTwilioState {
    sent: Arc<Mutex<Vec<SentSms>>>,
}

/// Twilio's Messages resource, as documented: Basic auth with the account
/// SID and auth token; form fields To, From, Body; 201 with the message
/// resource; 401 with code 20003 on bad credentials; 400 with 21604 when
/// To is missing.
async fn twilio_messages(
    State(state): State<FakeTwilioState>,
    Path(account): Path<String>,
    headers: HeaderMap,
    Form(form): Form<std::collections::HashMap<String, String>>,
) -> (StatusCode, Json<Value>) {
    let expected = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{TWILIO_SID}:{TWILIO_TOKEN}"))
    );
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if account.trim_end_matches(".json") != TWILIO_SID || auth != expected {
        return (
            StatusCode::UNAUTHORIZED,
            Json(
                json!({"code": 20003, "message": "Authenticate", "more_info": "https://www.twilio.com/docs/errors/20003", "status": 401}),
            ),
        );
    }
    let (Some(to), Some(body)) = (form.get("To"), form.get("Body")) else {
        return (
            StatusCode::BAD_REQUEST,
            Json(
                json!({"code": 21604, "message": "A 'To' phone number is required.", "status": 400}),
            ),
        );
    };
    if form.get("From").map(String::as_str) != Some(TWILIO_FROM) {
        return (
            StatusCode::BAD_REQUEST,
            Json(
                json!({"code": 21603, "message": "A 'From' phone number is required.", "status": 400}),
            ),
        );
    }
    state.sent.lock().unwrap().push(SentSms {
        to: to.clone(),
        body: body.clone(),
    });
    (
        StatusCode::CREATED,
        Json(
            json!({"sid": "SM0123456789abcdef0123456789abcdef", "status": "queued", "to": to, "from": TWILIO_FROM, "body": body}),
        ),
    )
}

/// How a test wants the app configured.
#[derive(Default)]
pub struct Options {
    pub settings: AppSettings,
    /// Give Twilio the wrong token (to test provider failures).
    pub twilio_wrong_token: bool,
    /// No SMS provider at all.
    pub no_sms: bool,
    /// Charging session settings.
    pub sessions: plugway_app::sessions::SessionSettings,
    /// Run the CHARGING event ticker (off by default: most tests want quiet).
    pub session_ticker: bool,
    /// Publish events on this bus instead of an in-process one (NATS tests).
    pub bus: Option<Arc<dyn plugway_events::EventBus>>,
    /// Per-driver NATS credentials at sign-in.
    pub nats: Option<plugway_app::NatsAccess>,
    /// A payment gateway (a fake server's).
    pub payments: Option<plugway_app::ports::payments::GatewaySetup>,
    /// Razorpay (a fake server's).
    pub razorpay: Option<Arc<dyn plugway_app::ports::payments::CheckoutGateway>>,
    /// Access-token lifetime (15 minutes when unset); tests that move the
    /// clock by hours keep their tokens with a longer one.
    pub access_ttl: Option<Duration>,
    /// Charger models' meter quirks (`[[ocpp.meter_quirks]]`).
    pub meter_quirks: Vec<plugway_domain::meter_quirks::MeterQuirks>,
}

/// A running app.
pub struct TestApp {
    pub base: String,
    pub http: reqwest::Client,
    pub clock: ManualClock,
    pub store: Arc<dyn Store>,
    /// The application's state (for background jobs a test drives).
    pub state: AppState,
    sms: FakeTwilioState,
    stop: Option<oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<()>>,
    guard: Option<DbGuard>,
}

async fn serve_fake_twilio(state: FakeTwilioState) -> SocketAddr {
    let app = Router::new()
        .route(
            "/2010-04-01/Accounts/{account}/Messages.json",
            post(twilio_messages),
        )
        .with_state(state);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    addr
}

impl TestApp {
    /// Starts an app on `backend`; `None` when PostgreSQL is not configured
    /// (outside CI; the harness says the test was skipped).
    pub async fn spawn(backend: Backend, name: &str, mut options: Options) -> Option<Self> {
        let (store, guard): (Arc<dyn Store>, DbGuard) = match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().unwrap();
                let url = format!("sqlite://{}/plugway.db", dir.path().display());
                (
                    Arc::new(SqliteStore::open(&url).await.unwrap()),
                    DbGuard::Sqlite(dir),
                )
            }
            Backend::Postgres => {
                let db = TestDatabase::create(name).await?;
                (Arc::new(db.store.clone()), DbGuard::Postgres(db))
            }
        };
        let sms_state = FakeTwilioState::default();
        let twilio = serve_fake_twilio(sms_state.clone()).await;
        let token = if options.twilio_wrong_token {
            "wrong"
        } else {
            TWILIO_TOKEN
        };
        let sms: Arc<dyn SmsSender> = if options.no_sms {
            Arc::new(plugway_app::ports::sms::NoSms)
        } else {
            Arc::new(
                TwilioSms::new(
                    format!("http://{twilio}"),
                    TWILIO_SID.into(),
                    SecretString::from(token),
                    TWILIO_FROM.into(),
                )
                .unwrap(),
            )
        };
        let clock = ManualClock::new(Utc::now());
        let bus: Arc<dyn plugway_events::EventBus> = match options.bus.take() {
            Some(bus) => bus,
            None => Arc::new(InProcessBus::new()),
        };
        let sessions = plugway_app::sessions::SessionEngine::new(
            store.clone(),
            bus.clone(),
            Arc::new(clock.clone()),
            Arc::new(RandomIds),
            options.sessions.clone(),
        );
        let ocpp = plugway_ocpp::OcppState::new(
            store.clone(),
            bus.clone(),
            Arc::new(clock.clone()),
            plugway_ocpp::OcppConfig {
                call_timeout: std::time::Duration::from_secs(2),
                crm_boot_notifications: true,
                meter_quirks: Arc::new(options.meter_quirks.clone()),
                ..plugway_ocpp::OcppConfig::default()
            },
            sessions.clone(),
        );
        if options.session_ticker {
            let registry = ocpp.registry.clone();
            sessions.spawn_ticker(Arc::new(move |cp| registry.is_connected(cp)));
        }
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        // OCPI partners reach this server at its own address.
        let mut settings = options.settings;
        settings.ocpi.public_url = base.clone();
        let state = AppState::new(AppParts {
            store: store.clone(),
            bus,
            chargers: Arc::new(ocpp.clone()),
            nats: options.nats.take(),
            payments: options.payments.take(),
            razorpay: options.razorpay.take(),
            sessions,
            clock: Arc::new(clock.clone()),
            ids: Arc::new(RandomIds),
            sms,
            tokens: TokenSigner::new(
                &[42u8; 32],
                options.access_ttl.unwrap_or(Duration::minutes(15)),
                Duration::days(30),
            ),
            otp_key: SecretSlice::from(vec![9u8; 32]),
            settings,
            ocpi: Arc::new(
                plugway_adapters::ocpi::HttpOcpiClient::new(std::time::Duration::from_secs(10))
                    .unwrap(),
            ),
            media: Arc::new(
                plugway_media::MediaStore::new(
                    &plugway_media::MediaBackend::Memory,
                    plugway_media::ImageLimits::default(),
                )
                .unwrap(),
            ),
        });
        plugway_app::roaming::realtime::RoamingAuthorizer::install(&state);
        let (stop, stopped) = oneshot::channel::<()>();
        let app_state = state.clone();
        let server = tokio::spawn(async move {
            plugway_api::serve(listener, state, plugway_ocpp::router(ocpp), async {
                let _ = stopped.await;
            })
            .await
            .unwrap();
        });
        Some(Self {
            base,
            http: reqwest::Client::new(),
            state: app_state,
            clock,
            store,
            sms: sms_state,
            stop: Some(stop),
            server: Some(server),
            guard: Some(guard),
        })
    }

    /// Stops the server and drops the database.
    pub async fn finish(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(server) = self.server.take() {
            let _ = server.await;
        }
        self.store.close().await;
        if let Some(DbGuard::Postgres(db)) = self.guard.take() {
            db.finish().await;
        }
    }

    pub fn clock_now(&self) -> chrono::DateTime<Utc> {
        use plugway_domain::Clock;
        self.clock.now()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// POSTs JSON; returns status and parsed body (Null when empty).
    pub async fn post(&self, path: &str, body: Value, token: Option<&str>) -> (StatusCode, Value) {
        let mut request = self.http.post(self.url(path)).json(&body);
        if let Some(t) = token {
            request = request.bearer_auth(t);
        }
        read(request.send().await.unwrap()).await
    }

    /// POSTs JSON as `token` with an `Idempotency-Key` header when `key` is
    /// given; returns status and parsed body.
    pub async fn post_once(
        &self,
        path: &str,
        body: Value,
        token: &str,
        key: Option<String>,
    ) -> (StatusCode, Value) {
        let mut request = self
            .http
            .post(self.url(path))
            .bearer_auth(token)
            .json(&body);
        if let Some(key) = key {
            request = request.header("idempotency-key", key);
        }
        read(request.send().await.unwrap()).await
    }

    /// GETs; returns status and parsed body.
    pub async fn get(&self, path: &str, token: Option<&str>) -> (StatusCode, Value) {
        let mut request = self.http.get(self.url(path));
        if let Some(t) = token {
            request = request.bearer_auth(t);
        }
        read(request.send().await.unwrap()).await
    }

    /// PUTs JSON; returns status and parsed body.
    pub async fn put(&self, path: &str, body: Value, token: Option<&str>) -> (StatusCode, Value) {
        let mut request = self.http.put(self.url(path)).json(&body);
        if let Some(t) = token {
            request = request.bearer_auth(t);
        }
        read(request.send().await.unwrap()).await
    }

    /// DELETEs; returns status and parsed body.
    pub async fn delete(&self, path: &str, token: Option<&str>) -> (StatusCode, Value) {
        let mut request = self.http.delete(self.url(path));
        if let Some(t) = token {
            request = request.bearer_auth(t);
        }
        read(request.send().await.unwrap()).await
    }

    /// Every SMS sent so far.
    pub fn sent(&self) -> Vec<SentSms> {
        self.sms.sent.lock().unwrap().clone()
    }

    /// The code in the last SMS to `phone` (E.164).
    pub fn last_code(&self, phone: &str) -> String {
        let sent = self.sent();
        let sms = sent
            .iter()
            .rev()
            .find(|s| s.to == phone)
            .unwrap_or_else(|| panic!("no SMS to {phone}"));
        sms.body
            .split_whitespace()
            .find_map(|w| {
                let w = w.trim_end_matches('.');
                (w.len() >= 4 && w.bytes().all(|b| b.is_ascii_digit())).then(|| w.to_owned())
            })
            .unwrap()
    }

    /// Requests a code for `phone` and returns it.
    pub async fn request_code(&self, phone: &str, e164: &str) -> String {
        let (status, body) = self
            .post("/api/v1/user/otp-request", json!({"phone": phone}), None)
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        self.last_code(e164)
    }

    /// Signs in with an OTP (seed 001); returns the whole reply.
    pub async fn otp_sign_in(&self, phone: &str) -> Value {
        let code = self.request_code(phone, phone).await;
        let (status, body) = self
            .post(
                "/api/v1/user/otp-check",
                json!({"phone": phone, "code": code}),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        // The next code for this phone must not hit the resend cool-down.
        self.clock.advance(Duration::seconds(31));
        body
    }
}

/// Signs a person in and makes them a host named `owner` (a host profile);
/// returns their token and account id.
pub async fn sign_in_host(app: &TestApp, phone: &str, owner: &str) -> (String, String) {
    let signed = app.otp_sign_in(phone).await;
    let token = signed["token"].as_str().unwrap().to_owned();
    let (status, profile) = app
        .put(
            "/api/v1/host/profile",
            json!({
                "owner_name": owner,
                "contact_name": "Contact",
                "contact_number": "+97699112233",
                "contact_email": "ops@example.com"
            }),
            Some(&token),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{profile}");
    (token, profile["user_id"].as_str().unwrap().to_owned())
}

/// An admin approves a site and the given EVSEs of it.
pub async fn approve_listing(app: &TestApp, admin: &str, site: &str, evses: &[&str]) {
    let approved = json!({"approval": "APPROVED"});
    let (status, body) = app
        .post(
            &format!("/api/v1/admin/sites/{site}/approval"),
            approved.clone(),
            Some(admin),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    for evse in evses {
        let (status, body) = app
            .post(
                &format!("/api/v1/admin/evses/{evse}/approval"),
                approved.clone(),
                Some(admin),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["approval"], "APPROVED");
    }
}

/// A new API key with `role`, straight from the service.
pub async fn api_key(app: &TestApp, role: plugway_domain::ApiKeyRole) -> String {
    plugway_app::api_keys::create(
        app.store.as_ref(),
        &plugway_domain::SystemClock,
        &plugway_domain::RandomIds,
        "test",
        role,
    )
    .await
    .unwrap()
    .1
}

pub async fn read(response: reqwest::Response) -> (StatusCode, Value) {
    let status = StatusCode::from_u16(response.status().as_u16()).unwrap();
    let text = response.text().await.unwrap();
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    };
    (status, body)
}

/// Asserts an error reply: status and `code`, with a non-empty message.
#[track_caller]
pub fn assert_error(reply: &(StatusCode, Value), status: StatusCode, code: &str) {
    assert_eq!(reply.0, status, "{}", reply.1);
    assert_eq!(reply.1["code"], code, "{}", reply.1);
    assert!(
        reply.1["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{}",
        reply.1
    );
}

/// Declares each listed case as a test on SQLite and on PostgreSQL.
#[macro_export]
macro_rules! on_both_backends {
    ($($case:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $case() {
                    super::$case($crate::harness::Backend::Sqlite, stringify!($case)).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $case() {
                    super::$case($crate::harness::Backend::Postgres, stringify!($case)).await;
                }
            )*
        }
    };
}

/// Registers charge point `id`, runs a simulated charger as it (meter values
/// every 300 ms, for 30 s at most) and returns once the charger has booted.
pub async fn start_simulator(
    app: &TestApp,
    admin: &str,
    id: &str,
    owner: Option<&str>,
) -> tokio::task::JoinHandle<Result<plugway_sim::ChargePoint, plugway_sim::SimError>> {
    start_simulator_with(app, admin, id, owner, |_| {}).await
}

/// [`start_simulator`] with the charger's configuration changed first.
pub async fn start_simulator_with(
    app: &TestApp,
    admin: &str,
    id: &str,
    owner: Option<&str>,
    configure: impl FnOnce(&mut plugway_sim::SimConfig),
) -> tokio::task::JoinHandle<Result<plugway_sim::ChargePoint, plugway_sim::SimError>> {
    start_simulator_watched(app, admin, id, owner, configure)
        .await
        .0
}

/// [`start_simulator_with`], with a handle on what the charger's connectors
/// may draw and draw as it runs.
pub async fn start_simulator_watched(
    app: &TestApp,
    admin: &str,
    id: &str,
    owner: Option<&str>,
    configure: impl FnOnce(&mut plugway_sim::SimConfig),
) -> (
    tokio::task::JoinHandle<Result<plugway_sim::ChargePoint, plugway_sim::SimError>>,
    plugway_sim::Draws,
) {
    let (status, created) = app
        .post(
            "/api/v1/charge-points",
            json!({"id": id, "owner_id": owner}),
            Some(admin),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let mut config = plugway_sim::SimConfig::new(
        &format!("{}/ocpp", app.base.replace("http", "ws")),
        id,
        created["password"].as_str().map(str::to_owned),
    );
    config.meter_interval = std::time::Duration::from_millis(300);
    configure(&mut config);
    let sim = plugway_sim::ChargePoint::start(config).await.unwrap();
    let draws = sim.draws();
    let until = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let running = tokio::spawn(sim.run(Some(until)));
    let path = format!("/api/v1/charge-points/{id}");
    for _ in 0..100 {
        let detail = app.get(&path, Some(admin)).await.1;
        if detail["vendor"] == "Plugway" && detail["online"] == true {
            return (running, draws);
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the simulated charger {id} never booted");
}

/// A PNG of `width` × `height` pixels (a gradient, so it compresses like a
/// picture rather than a blank).
pub fn png(width: u32, height: u32) -> Vec<u8> {
    let image = image::RgbImage::from_fn(width, height, |x, y| image::Rgb([x as u8, y as u8, 90]));
    let mut out = std::io::Cursor::new(Vec::new());
    image.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}
