//! Notifications over HTTP on both databases, pushed through the FCM HTTP v1
//! adapter to a fake FCM that checks what the real one checks: the OAuth
//! assertion's RS256 signature (with the test service account's public
//! key), issuer, audience, scope and lifetime; the bearer token on each
//! send; and FCM's documented error replies for dead and flaky tokens.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode as AxumStatus};
use axum::routing::post;
use axum::{Form, Json, Router};
use plugway_adapters::fcm::{Fcm, ServiceAccount, FCM_SCOPE};
use plugway_app::push::{deliver_due, PushPass};
use plugway_domain::{ApiKeyRole, Role};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::harness::{api_key, assert_error, Backend, Options, TestApp};
use crate::topups::purchase_for;

crate::on_both_backends!(
    admin_notification_is_pushed_to_every_device,
    notifications_are_listed_read_and_private,
    admin_sends_are_validated_and_admin_only,
    a_paid_purchase_notifies_its_driver,
    a_wrongly_signed_assertion_gets_no_token_and_sends_nothing,
);

/// Test-only key pair (see tests/fixtures/README.md).
const TEST_PRIVATE_KEY: &str = include_str!("../fixtures/fcm-test-key.pem");
const TEST_PUBLIC_KEY: &str = include_str!("../fixtures/fcm-test-key.pub.pem");
const PROJECT: &str = "plugway-test";
const CLIENT_EMAIL: &str = "fcm-sender@plugway-test.iam.gserviceaccount.com";
/// The audience Google expects: its own token endpoint, whatever URL the
/// request is actually sent to.
const TOKEN_AUDIENCE: &str = "https://oauth2.googleapis.com/token";

#[derive(Default)]
struct FakeFcmState {
    issued: HashSet<String>,
    token_requests: usize,
    sent: Vec<Value>,
    dead: HashSet<String>,
    invalid: HashSet<String>,
    flaky: HashMap<String, usize>,
}

/// A fake FCM: `POST /token` (OAuth JWT-bearer grant) and
/// `POST /v1/projects/{project}/messages:send`.
#[derive(Clone, Default)]
pub struct FakeFcm {
    state: Arc<Mutex<FakeFcmState>>,
    pub base: String,
}

#[derive(serde::Deserialize)]
struct Claims {
    iss: String,
    scope: String,
    aud: String,
    iat: i64,
    exp: i64,
}

async fn token_endpoint(
    State(fake): State<FakeFcm>,
    Form(form): Form<HashMap<String, String>>,
) -> (AxumStatus, Json<Value>) {
    let refuse = |why: &str| {
        (
            AxumStatus::BAD_REQUEST,
            Json(json!({"error": "invalid_grant", "error_description": why})),
        )
    };
    if form.get("grant_type").map(String::as_str)
        != Some("urn:ietf:params:oauth:grant-type:jwt-bearer")
    {
        return refuse("unsupported grant_type");
    }
    let Some(assertion) = form.get("assertion") else {
        return refuse("no assertion");
    };
    let key = jsonwebtoken::DecodingKey::from_rsa_pem(TEST_PUBLIC_KEY.as_bytes()).unwrap();
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    validation.set_audience(&[TOKEN_AUDIENCE]);
    validation.set_issuer(&[CLIENT_EMAIL]);
    validation.set_required_spec_claims(&["exp", "iss", "aud"]);
    let claims = match jsonwebtoken::decode::<Claims>(assertion, &key, &validation) {
        Ok(data) => data.claims,
        Err(e) => return refuse(&format!("Invalid JWT: {e}")),
    };
    let now = chrono::Utc::now().timestamp();
    if claims.scope != FCM_SCOPE
        || claims.iss != CLIENT_EMAIL
        || claims.aud != TOKEN_AUDIENCE
        || claims.exp - claims.iat > 3600
        || (claims.iat - now).abs() > 300
    {
        return refuse("Invalid JWT claims");
    }
    let mut state = fake.state.lock().unwrap();
    state.token_requests += 1;
    let token = format!("ya29.fake-{}", uuid::Uuid::new_v4());
    state.issued.insert(token.clone());
    (
        AxumStatus::OK,
        Json(json!({"access_token": token, "expires_in": 3599, "token_type": "Bearer"})),
    )
}

fn fcm_error(
    status: AxumStatus,
    text: &str,
    message: &str,
    code: &str,
) -> (AxumStatus, Json<Value>) {
    (
        status,
        Json(
            json!({"error": {"code": status.as_u16(), "message": message, "status": text,
            "details": [{"@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError", "errorCode": code}]}}),
        ),
    )
}

async fn messages_send(
    State(fake): State<FakeFcm>,
    Path(project): Path<String>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> (AxumStatus, Json<Value>) {
    let mut state = fake.state.lock().unwrap();
    let bearer = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    if !state.issued.contains(bearer) {
        return (
            AxumStatus::UNAUTHORIZED,
            Json(
                json!({"error": {"code": 401, "message": "Request had invalid authentication credentials.", "status": "UNAUTHENTICATED"}}),
            ),
        );
    }
    if project != PROJECT {
        return fcm_error(
            AxumStatus::FORBIDDEN,
            "PERMISSION_DENIED",
            "SenderId mismatch",
            "SENDER_ID_MISMATCH",
        );
    }
    let token = body["message"]["token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    if state.dead.contains(&token) {
        return fcm_error(
            AxumStatus::NOT_FOUND,
            "NOT_FOUND",
            "Requested entity was not found.",
            "UNREGISTERED",
        );
    }
    if state.invalid.contains(&token) {
        return fcm_error(
            AxumStatus::BAD_REQUEST,
            "INVALID_ARGUMENT",
            "The registration token is not a valid FCM registration token",
            "INVALID_ARGUMENT",
        );
    }
    if let Some(left) = state.flaky.get_mut(&token) {
        if *left > 0 {
            *left -= 1;
            return fcm_error(
                AxumStatus::SERVICE_UNAVAILABLE,
                "UNAVAILABLE",
                "The service is currently unavailable.",
                "UNAVAILABLE",
            );
        }
    }
    state.sent.push(body["message"].clone());
    let name = format!("projects/{PROJECT}/messages/{}", state.sent.len());
    (AxumStatus::OK, Json(json!({"name": name})))
}

impl FakeFcm {
    pub async fn start() -> Self {
        let mut fake = FakeFcm::default();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        fake.base = format!("http://{}", listener.local_addr().unwrap());
        let app = Router::new()
            .route("/token", post(token_endpoint))
            .route("/v1/projects/{project}/messages:send", post(messages_send))
            .with_state(fake.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        fake
    }

    /// The adapter as `[push]` builds it: the service account's own
    /// `token_uri` (Google's), with the token URL and API host overridden.
    pub fn gateway(&self) -> Fcm {
        self.gateway_as(CLIENT_EMAIL)
    }

    /// The adapter signing as `client_email` (the fake knows only one account).
    pub fn gateway_as(&self, client_email: &str) -> Fcm {
        let account = ServiceAccount::from_json(
            &json!({
                "type": "service_account",
                "project_id": PROJECT,
                "private_key_id": "test-key-1",
                "private_key": TEST_PRIVATE_KEY,
                "client_email": client_email,
                "token_uri": TOKEN_AUDIENCE,
            })
            .to_string(),
        )
        .unwrap();
        Fcm::new(
            account,
            Some(self.base.clone()),
            Some(format!("{}/token", self.base)),
        )
        .unwrap()
    }

    fn sent(&self) -> Vec<Value> {
        self.state.lock().unwrap().sent.clone()
    }

    fn token_requests(&self) -> usize {
        self.state.lock().unwrap().token_requests
    }
}

async fn driver(app: &TestApp, phone: &str) -> (String, String) {
    let signed = app.otp_sign_in(phone).await;
    (
        signed["token"].as_str().unwrap().to_owned(),
        signed["userId"].as_str().unwrap().to_owned(),
    )
}

/// Signs `phone` in on one more device and registers its FCM token.
async fn device(app: &TestApp, phone: &str, fcm_token: &str) -> String {
    let (token, user) = driver(app, phone).await;
    let (status, body) = app
        .post(
            "/api/v1/customer/update-notification-token",
            json!({"FCMToken": fcm_token}),
            Some(&token),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    user
}

async fn pass(app: &TestApp, fcm: &Fcm) -> PushPass {
    deliver_due(app.store.as_ref(), &app.clock, fcm)
        .await
        .unwrap()
}

async fn admin_notification_is_pushed_to_every_device(backend: Backend, name: &str) {
    let Some(app) = TestApp::spawn(backend, name, Options::default()).await else {
        return;
    };
    let fake = FakeFcm::start().await;
    {
        let mut state = fake.state.lock().unwrap();
        state.dead.insert("tok-uninstalled".into());
        state.flaky.insert("tok-flaky".into(), 1);
    }
    let fcm = fake.gateway();
    let admin = api_key(&app, ApiKeyRole::Admin).await;
    let phone = "+97688000801";
    let user = device(&app, phone, "tok-phone").await;
    for token in ["tok-tablet", "tok-uninstalled", "tok-flaky"] {
        assert_eq!(device(&app, phone, token).await, user);
    }

    // Seed 000's field names.
    let (status, sent) = app
        .post(
            "/api/v1/admin/notifications",
            json!({"N_customer": user, "N_Title": "Welcome",
                "N_Description": "You have successfully registered", "data": {"screen": "wallet"}}),
            Some(&admin),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{sent}");
    assert_eq!(
        (sent["sent"].clone(), sent["pushes_queued"].clone()),
        (json!(1), json!(4))
    );
    let id = sent["notifications"][0]["notification_id"]
        .as_str()
        .unwrap()
        .to_owned();

    let first = pass(&app, &fcm).await;
    assert_eq!(
        first,
        PushPass {
            delivered: 2,
            retried: 1,
            pruned: 1,
            failed: 0
        }
    );
    let messages = fake.sent();
    let mut tokens: Vec<&str> = messages
        .iter()
        .map(|m| m["token"].as_str().unwrap())
        .collect();
    tokens.sort_unstable();
    assert_eq!(tokens, ["tok-phone", "tok-tablet"]);
    for m in &messages {
        assert_eq!(
            m["notification"],
            json!({"title": "Welcome", "body": "You have successfully registered"})
        );
        assert_eq!(
            m["data"],
            json!({"kind": "admin", "notification_id": id, "screen": "wallet"})
        );
    }
    assert_eq!(fake.token_requests(), 1, "the access token is cached");

    // The dead token is forgotten.
    let user_id = user.parse().unwrap();
    let mut left = app.store.list_push_tokens(user_id).await.unwrap();
    left.sort();
    assert_eq!(left, ["tok-flaky", "tok-phone", "tok-tablet"]);

    // The flaky one is not due before its back-off, then goes once.
    assert_eq!(pass(&app, &fcm).await, PushPass::default());
    app.clock.advance(chrono::Duration::seconds(11));
    assert_eq!(pass(&app, &fcm).await.delivered, 1);
    app.clock.advance(chrono::Duration::hours(2));
    assert_eq!(pass(&app, &fcm).await, PushPass::default());
    let flaky = fake
        .sent()
        .iter()
        .filter(|m| m["token"] == "tok-flaky")
        .count();
    assert_eq!((fake.sent().len(), flaky), (3, 1));

    let statuses = app
        .store
        .push_deliveries_of(id.parse().unwrap())
        .await
        .unwrap();
    let mut by_status: Vec<(String, String)> = statuses
        .iter()
        .map(|s| (s.token.clone(), s.status.clone()))
        .collect();
    by_status.sort();
    assert_eq!(
        by_status,
        [
            ("tok-flaky".into(), "delivered".into()),
            ("tok-phone".into(), "delivered".into()),
            ("tok-tablet".into(), "delivered".into()),
            ("tok-uninstalled".into(), "dropped".into()),
        ]
    );
    let flaky_row = statuses.iter().find(|s| s.token == "tok-flaky").unwrap();
    assert_eq!(flaky_row.attempts, 2);

    // An invalid token is pruned too; the next notification reaches the rest.
    fake.state
        .lock()
        .unwrap()
        .invalid
        .insert("tok-tablet".into());
    let (status, sent) = app
        .post(
            "/api/v1/admin/notifications",
            json!({"user_ids": [user], "title": "Again", "body": "Second"}),
            Some(&admin),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{sent}");
    assert_eq!(sent["pushes_queued"], 3);
    let second = pass(&app, &fcm).await;
    assert_eq!((second.delivered, second.pruned), (2, 1));
    let mut left = app.store.list_push_tokens(user_id).await.unwrap();
    left.sort();
    assert_eq!(left, ["tok-flaky", "tok-phone"]);
    assert_eq!(fake.token_requests(), 1);

    // Push being down never loses the notification: it is listed anyway.
    let (token, _) = driver(&app, phone).await;
    let (_, list) = app.get("/api/v1/notifications", Some(&token)).await;
    assert_eq!(list["count"], 2);
    app.finish().await;
}

async fn notifications_are_listed_read_and_private(backend: Backend, name: &str) {
    let Some(app) = TestApp::spawn(backend, name, Options::default()).await else {
        return;
    };
    let admin = api_key(&app, ApiKeyRole::Admin).await;
    let (ann, ann_id) = driver(&app, "+97688000811").await;
    let (bob, bob_id) = driver(&app, "+97688000812").await;
    for (i, to) in [
        json!([ann_id, bob_id]),
        json!([ann_id]),
        json!([ann_id, ann_id]),
    ]
    .into_iter()
    .enumerate()
    {
        let (status, body) = app
            .post(
                "/api/v1/admin/notifications",
                json!({"user_ids": to, "title": format!("Note {i}"), "body": "Hello\nthere"}),
                Some(&admin),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        app.clock.advance(chrono::Duration::seconds(1));
    }

    let (status, page) = app
        .get("/api/v1/notifications?page_size=2", Some(&ann))
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(
        (
            page["count"].clone(),
            page["unread"].clone(),
            page["next"].clone()
        ),
        (json!(3), json!(3), json!(2))
    );
    let titles: Vec<&str> = page["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles, ["Note 2", "Note 1"], "newest first");
    let newest = &page["results"][0];
    assert_eq!(
        (
            newest["kind"].clone(),
            newest["body"].clone(),
            newest["read"].clone()
        ),
        (json!("admin"), json!("Hello\nthere"), json!(false))
    );
    let id = newest["id"].as_str().unwrap().to_owned();
    let (_, rest) = app
        .get("/api/v1/notifications?page=2&page_size=2", Some(&ann))
        .await;
    assert_eq!(rest["results"][0]["title"], "Note 0");
    assert_eq!(rest["previous"], 1);

    // Bob cannot see or read Ann's.
    assert_error(
        &app.post(
            &format!("/api/v1/notifications/{id}/read"),
            json!({}),
            Some(&bob),
        )
        .await,
        StatusCode::NOT_FOUND,
        "notification_not_found",
    );
    assert_error(
        &app.post(
            "/api/v1/notifications/not-an-id/read",
            json!({}),
            Some(&ann),
        )
        .await,
        StatusCode::NOT_FOUND,
        "notification_not_found",
    );
    let (_, bobs) = app.get("/api/v1/notifications", Some(&bob)).await;
    assert_eq!(
        (bobs["count"].clone(), bobs["unread"].clone()),
        (json!(1), json!(1))
    );

    let (status, read) = app
        .post(
            &format!("/api/v1/notifications/{id}/read"),
            json!({}),
            Some(&ann),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{read}");
    assert_eq!(read["read"], true);
    let first_read = read["read_at"].clone();
    app.clock.advance(chrono::Duration::minutes(1));
    let (_, again) = app
        .post(
            &format!("/api/v1/notifications/{id}/read"),
            json!({}),
            Some(&ann),
        )
        .await;
    assert_eq!(again["read_at"], first_read, "the first read time stays");
    let (_, count) = app
        .get("/api/v1/notifications/unread-count", Some(&ann))
        .await;
    assert_eq!(count, json!({"unread": 2}));

    let (status, all) = app
        .post("/api/v1/notifications/read-all", json!({}), Some(&ann))
        .await;
    assert_eq!(status, StatusCode::OK, "{all}");
    assert_eq!(all, json!({"marked": 2, "unread": 0}));
    let (_, count) = app
        .get("/api/v1/notifications/unread-count", Some(&bob))
        .await;
    assert_eq!(count, json!({"unread": 1}), "Bob's stay unread");

    assert_error(
        &app.get("/api/v1/notifications", None).await,
        StatusCode::UNAUTHORIZED,
        "missing_credentials",
    );
    assert_error(
        &app.get("/api/v1/notifications?page_size=1000", Some(&ann))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_field",
    );
    app.finish().await;
}

async fn admin_sends_are_validated_and_admin_only(backend: Backend, name: &str) {
    let Some(app) = TestApp::spawn(backend, name, Options::default()).await else {
        return;
    };
    let admin = api_key(&app, ApiKeyRole::Admin).await;
    let (ann, ann_id) = driver(&app, "+97688000821").await;
    let a = &app;
    let send = |body: Value, token: String| async move {
        a.post("/api/v1/admin/notifications", body, Some(&token))
            .await
    };
    let good = json!({"user_id": ann_id, "title": "T", "body": "B"});
    assert_error(
        &send(good.clone(), ann.clone()).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
    let integration = api_key(&app, ApiKeyRole::Integration).await;
    assert_error(
        &send(good.clone(), integration).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
    for (body, field) in [
        (
            json!({"user_id": ann_id, "title": "", "body": "B"}),
            "title",
        ),
        (
            json!({"user_id": ann_id, "title": "x".repeat(101), "body": "B"}),
            "title",
        ),
        (
            json!({"user_id": ann_id, "title": "T", "body": "x".repeat(1001)}),
            "body",
        ),
        (json!({"title": "T", "body": "B"}), "user_ids"),
        (
            json!({"user_ids": ["nope"], "title": "T", "body": "B"}),
            "user_ids",
        ),
        (
            json!({"user_id": ann_id, "title": "T", "body": "B", "kind": "payment_settled"}),
            "kind",
        ),
        (
            json!({"user_id": ann_id, "title": "T", "body": "B", "data": {"google.x": "1"}}),
            "data",
        ),
        (
            json!({"user_ids": (0..501).map(|_| uuid::Uuid::new_v4().to_string()).collect::<Vec<_>>(),
                "title": "T", "body": "B"}),
            "user_ids",
        ),
    ] {
        let reply = send(body, admin.clone()).await;
        assert_error(&reply, StatusCode::UNPROCESSABLE_ENTITY, "invalid_field");
        assert_eq!(reply.1["field"], field, "{}", reply.1);
    }
    let missing = send(json!({"user_id": ann_id, "body": "B"}), admin.clone()).await;
    assert!(missing.0.is_client_error(), "{missing:?}");
    // One unknown recipient: 404, and nobody is notified.
    let stranger = uuid::Uuid::new_v4().to_string();
    assert_error(
        &send(
            json!({"user_ids": [ann_id, stranger], "title": "T", "body": "B"}),
            admin.clone(),
        )
        .await,
        StatusCode::NOT_FOUND,
        "user_not_found",
    );
    let (_, count) = app
        .get("/api/v1/notifications/unread-count", Some(&ann))
        .await;
    assert_eq!(count["unread"], 0, "a refused send changes nothing");

    // An admin person (superuser role) may send, as a system notification.
    let (boss, boss_id) = driver(&app, "+97688000822").await;
    app.store
        .set_role(boss_id.parse().unwrap(), Role::Admin, app.clock_now())
        .await
        .unwrap();
    let (status, body) = send(
        json!({"user_id": ann_id, "title": "Maintenance", "body": "Tonight", "kind": "system"}),
        boss,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["pushes_queued"], 0, "Ann has no device registered");
    let (_, list) = app.get("/api/v1/notifications", Some(&ann)).await;
    assert_eq!(list["results"][0]["kind"], "system");
    app.finish().await;
}

async fn a_paid_purchase_notifies_its_driver(backend: Backend, name: &str) {
    let Some(app) = TestApp::spawn(backend, name, Options::default()).await else {
        return;
    };
    let admin = api_key(&app, ApiKeyRole::Admin).await;
    let user = device(&app, "+97688000831", "tok-driver").await;
    let (token, _) = driver(&app, "+97688000831").await;
    let (status, body) = app
        .post(
            &format!("/api/v1/admin/wallets/{user}/credit"),
            json!({"amount": 100.0, "reason": "test"}),
            Some(&admin),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let purchase = purchase_for(&app, &user, 2_500).await;
    let (_, before) = app.get("/api/v1/notifications", Some(&token)).await;
    assert_eq!(before["count"], 0);
    let (status, body) = app
        .post(
            &format!("/api/v1/purchases/{purchase}/pay"),
            json!({"option": "EVM"}),
            Some(&token),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // Paying again changes nothing and notifies nobody again.
    let _ = app
        .post(
            &format!("/api/v1/purchases/{purchase}/pay"),
            json!({"option": "EVM"}),
            Some(&token),
        )
        .await;
    let (_, list) = app.get("/api/v1/notifications", Some(&token)).await;
    assert_eq!(list["count"], 1, "{list}");
    let note = &list["results"][0];
    assert_eq!(note["kind"], "payment_settled");
    assert_eq!(note["data"]["purchase_id"], purchase);
    assert!(note["body"].as_str().unwrap().contains("25"), "{note}");
    let deliveries = app
        .store
        .push_deliveries_of(note["id"].as_str().unwrap().parse().unwrap())
        .await
        .unwrap();
    assert_eq!(
        deliveries
            .iter()
            .map(|d| (d.token.as_str(), d.status.as_str()))
            .collect::<Vec<_>>(),
        [("tok-driver", "pending")],
        "queued for the driver's device, sent by the worker"
    );
    app.finish().await;
}

async fn a_wrongly_signed_assertion_gets_no_token_and_sends_nothing(backend: Backend, name: &str) {
    let Some(app) = TestApp::spawn(backend, name, Options::default()).await else {
        return;
    };
    let fake = FakeFcm::start().await;
    let admin = api_key(&app, ApiKeyRole::Admin).await;
    let user = device(&app, "+97688000841", "tok-one").await;
    let (status, body) = app
        .post(
            "/api/v1/admin/notifications",
            json!({"user_id": user, "title": "T", "body": "B"}),
            Some(&admin),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let intruder = fake.gateway_as("intruder@elsewhere.iam.gserviceaccount.com");
    assert_eq!(
        pass(&app, &intruder).await,
        PushPass {
            retried: 1,
            ..PushPass::default()
        }
    );
    assert!(fake.sent().is_empty());
    assert_eq!(fake.token_requests(), 0, "the fake refused the assertion");
    // The right account delivers it once it is due again.
    app.clock.advance(chrono::Duration::seconds(11));
    assert_eq!(pass(&app, &fake.gateway()).await.delivered, 1);
    assert_eq!(fake.sent().len(), 1);
    app.finish().await;
}
