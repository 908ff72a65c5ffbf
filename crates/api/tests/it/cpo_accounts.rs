//! Seed 003's CPO accounts (`/ocpi/cpo/2.2/register`,
//! `/ocpi/cpo/api/auth/v1/{login,refresh,logout,change-old-password}`):
//! admins register operators, a temporary password goes by SMS and opens
//! nothing but its own change, sign-in answers alike for unknown users and
//! wrong passwords and locks, refresh tokens rotate, sign-out and password
//! changes end sessions.

use axum::http::StatusCode;
use base64::Engine;
use chrono::Duration;
use plugway_domain::{ApiKeyRole, Role, UserId};
use serde_json::{json, Value};

use crate::harness::{api_key, png, read, Backend, Options, TestApp};

crate::on_both_backends!(
    registering_an_operator_is_for_admins_and_checks_every_field,
    a_temporary_password_comes_by_sms_and_must_be_changed_first,
    unknown_users_and_wrong_passwords_look_alike_and_lock,
    refresh_rotates_and_a_reused_token_ends_the_session,
    logout_ends_only_its_session,
    changing_the_password_ends_the_other_sessions,
    a_contact_number_with_a_phone_account_stays_separate,
    without_sms_a_temporary_password_registers_nothing,
    an_admin_sends_a_new_temporary_password_which_ends_the_old_sessions,
    the_portal_registers_an_operator_and_uploads_the_logo_it_named,
);

const REGISTER: &str = "/ocpi/cpo/2.2/register";
const LOGIN: &str = "/ocpi/cpo/api/auth/v1/login";
const REFRESH: &str = "/ocpi/cpo/api/auth/v1/refresh";
const LOGOUT: &str = "/ocpi/cpo/api/auth/v1/logout";
const CHANGE: &str = "/ocpi/cpo/api/auth/v1/change-old-password";
const DETAILS: &str = "/ocpi/cpo/2.2/details";
const PENDING: &str = "/ocpi/cpo/2.2/locations/pending";

fn basic(key: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("emsp:{key}"))
    )
}

/// Seed 003's registration body.
fn cpo(username: &str, contact_number: &str) -> Value {
    json!({
        "username": username,
        "cpo_owner_name": "Solarius",
        "contact_name": "Solarius CEO",
        "contact_number": contact_number,
        "contact_email": "ceo@solarius.example",
        "ocpp_ready": true,
        "logo": "cpo-logo.png"
    })
}

fn with(mut body: Value, key: &str, value: Value) -> Value {
    body[key] = value;
    body
}

fn without(mut body: Value, key: &str) -> Value {
    body.as_object_mut().unwrap().remove(key);
    body
}

/// POSTs JSON with a raw `Authorization` value.
async fn post_auth(
    app: &TestApp,
    path: &str,
    body: Value,
    authorization: Option<&str>,
) -> (StatusCode, Value) {
    let mut request = app.http.post(app.url(path)).json(&body);
    if let Some(value) = authorization {
        request = request.header("authorization", value);
    }
    read(request.send().await.unwrap()).await
}

/// GETs with a raw `Authorization` value.
async fn get_auth(app: &TestApp, path: &str, authorization: Option<&str>) -> (StatusCode, Value) {
    let mut request = app.http.get(app.url(path));
    if let Some(value) = authorization {
        request = request.header("authorization", value);
    }
    read(request.send().await.unwrap()).await
}

/// Asserts an error in the seed's envelope.
#[track_caller]
fn assert_face_error(reply: &(StatusCode, Value), status: StatusCode, code: &str) {
    assert_eq!(reply.0, status, "{}", reply.1);
    assert_eq!(reply.1["status"], status.as_u16(), "{}", reply.1);
    assert_eq!(reply.1["data"], Value::Null, "{}", reply.1);
    assert_eq!(reply.1["code"], code, "{}", reply.1);
    assert!(
        reply.1["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{}",
        reply.1
    );
}

/// Asserts a 422 naming `field`.
#[track_caller]
fn assert_bad_field(reply: &(StatusCode, Value), field: &str) {
    assert_face_error(reply, StatusCode::UNPROCESSABLE_ENTITY, "invalid_field");
    assert_eq!(reply.1["field"], field, "{}", reply.1);
}

fn registered() -> Value {
    json!({"status": 200, "data": "SUCCESS", "message": "Success"})
}

async fn register(app: &TestApp, admin: &str, body: Value) {
    let reply = post_auth(app, REGISTER, body, Some(&basic(admin))).await;
    assert_eq!(reply, (StatusCode::OK, registered()));
}

/// Asserts that signing in with these credentials is refused (401).
async fn assert_login_refused(app: &TestApp, username: &str, password: &str) {
    assert_face_error(
        &app.post(
            LOGIN,
            json!({"username": username, "password": password}),
            None,
        )
        .await,
        StatusCode::UNAUTHORIZED,
        "invalid_credentials",
    );
}

/// The temporary password in the last SMS to `phone`.
fn texted_password(app: &TestApp, phone: &str) -> String {
    let sent = app.sent();
    let sms = sent
        .iter()
        .rev()
        .find(|s| s.to == phone)
        .unwrap_or_else(|| panic!("no SMS to {phone}: {sent:?}"));
    let (_, rest) = sms
        .body
        .split_once("Temporary password: ")
        .unwrap_or_else(|| panic!("no password in {:?}", sms.body));
    rest.split_whitespace().next().unwrap().to_owned()
}

/// Signs in; returns the reply's `data`.
async fn login(app: &TestApp, username: &str, password: &str) -> Value {
    let (status, body) = app
        .post(
            LOGIN,
            json!({"username": username, "password": password}),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], 200, "{body}");
    assert_eq!(body["message"], "SUCCESS", "{body}");
    body["data"].clone()
}

fn token(pair: &Value, which: &str) -> String {
    pair[which].as_str().unwrap().to_owned()
}

async fn refresh(app: &TestApp, refresh_token: &str) -> (StatusCode, Value) {
    get_auth(app, REFRESH, Some(&format!("Bearer {refresh_token}"))).await
}

async fn registering_an_operator_is_for_admins_and_checks_every_field(
    backend: Backend,
    name: &str,
) {
    let Some(app) = TestApp::spawn(backend, name, Options::default()).await else {
        return;
    };
    let admin = api_key(&app, ApiKeyRole::Admin).await;
    let integration = api_key(&app, ApiKeyRole::Integration).await;
    let signed = app.otp_sign_in("+97688013001").await;
    let driver = signed["token"].as_str().unwrap().to_owned();
    let users = app.store.count_users().await.unwrap();
    let body = cpo("solarius", "+97688013100");

    // Who may register: admins only; the refusals write nothing.
    assert_face_error(
        &post_auth(&app, REGISTER, body.clone(), None).await,
        StatusCode::UNAUTHORIZED,
        "missing_credentials",
    );
    for authorization in [format!("Bearer {driver}"), basic(&integration)] {
        assert_face_error(
            &post_auth(&app, REGISTER, body.clone(), Some(&authorization)).await,
            StatusCode::FORBIDDEN,
            "forbidden",
        );
    }
    assert_face_error(
        &post_auth(&app, REGISTER, body.clone(), Some(&basic(&driver))).await,
        StatusCode::UNAUTHORIZED,
        "invalid_api_key",
    );
    assert_eq!(app.store.count_users().await.unwrap(), users);
    assert!(app.sent().iter().all(|s| s.to != "+97688013100"));

    // An admin key as the Basic password (the seed's "Basic TOKEN").
    register(&app, &admin, body.clone()).await;
    // An admin person's bearer token works too.
    let person: UserId = signed["userId"].as_str().unwrap().parse().unwrap();
    let admin_person = app.otp_sign_in("+97688013002").await;
    let admin_id: UserId = admin_person["userId"].as_str().unwrap().parse().unwrap();
    app.store
        .set_role(admin_id, Role::Admin, app.clock_now())
        .await
        .unwrap();
    let admin_token = admin_person["token"].as_str().unwrap();
    let reply = post_auth(
        &app,
        REGISTER,
        cpo("lunaris", "+97688013101"),
        Some(&format!("Bearer {admin_token}")),
    )
    .await;
    assert_eq!(reply, (StatusCode::OK, registered()));
    // And an admin key as Bearer.
    let reply = post_auth(
        &app,
        REGISTER,
        cpo("stellaris", "+97688013102"),
        Some(&format!("Bearer {admin}")),
    )
    .await;
    assert_eq!(reply, (StatusCode::OK, registered()));
    let users = app.store.count_users().await.unwrap();
    let texts = app.sent().len();

    // Usernames are case-insensitive: another case is the same name.
    let taken = post_auth(
        &app,
        REGISTER,
        cpo("SolariuS", "+97688013103"),
        Some(&basic(&admin)),
    )
    .await;
    assert_face_error(&taken, StatusCode::CONFLICT, "username_taken");

    // Every field is checked, and named.
    let bad = |key: &str, value: Value| with(cpo("fresh-name", "+97688013104"), key, value);
    let cases = [
        (bad("contact_email", json!("not-an-email")), "contact_email"),
        (bad("username", json!("x")), "username"),
        (bad("username", json!("bad name!")), "username"),
        (bad("cpo_owner_name", json!("   ")), "cpo_owner_name"),
        (bad("contact_name", json!("a\u{0}b")), "contact_name"),
        (
            bad("contact_number", json!("1".repeat(40))),
            "contact_number",
        ),
        (bad("password", json!("12345")), "password"),
        // Without a password the number must be one we can text.
        (
            bad("contact_number", json!("09123456782")),
            "contact_number",
        ),
    ];
    for (body, field) in cases {
        assert_bad_field(
            &post_auth(&app, REGISTER, body, Some(&basic(&admin))).await,
            field,
        );
    }
    for field in [
        "username",
        "cpo_owner_name",
        "contact_name",
        "contact_number",
        "contact_email",
        "ocpp_ready",
    ] {
        let body = without(cpo("fresh-name", "+97688013104"), field);
        assert_bad_field(
            &post_auth(&app, REGISTER, body, Some(&basic(&admin))).await,
            field,
        );
    }
    let wrong_type = post_auth(
        &app,
        REGISTER,
        with(
            cpo("fresh-name", "+97688013104"),
            "ocpp_ready",
            json!("yes"),
        ),
        Some(&basic(&admin)),
    )
    .await;
    assert_face_error(
        &wrong_type,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_body",
    );
    let not_json = read(
        app.http
            .post(app.url(REGISTER))
            .header("authorization", basic(&admin))
            .header("content-type", "application/json")
            .body("{")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_face_error(&not_json, StatusCode::BAD_REQUEST, "invalid_json");
    assert_eq!(
        app.store.count_users().await.unwrap(),
        users,
        "nothing written"
    );
    assert_eq!(app.sent().len(), texts, "nothing texted");

    // With a password of its own, a number we cannot text is only contact data.
    register(
        &app,
        &admin,
        with(
            cpo("fiesta", "09123456782"),
            "password",
            json!("fiesta-password"),
        ),
    )
    .await;
    assert_eq!(app.sent().len(), texts, "no SMS for a chosen password");
    let pair = login(&app, "fiesta", "fiesta-password").await;
    let (status, details) = app.get(DETAILS, Some(&token(&pair, "access_token"))).await;
    assert_eq!(status, StatusCode::OK, "{details}");
    assert_eq!(details["data"]["contact_number"], "09123456782");
    // The refused driver is still a driver.
    assert_eq!(
        app.store.find_user(person).await.unwrap().unwrap().role,
        Role::Driver
    );
    app.finish().await;
}

async fn a_temporary_password_comes_by_sms_and_must_be_changed_first(backend: Backend, name: &str) {
    let Some(app) = TestApp::spawn(backend, name, Options::default()).await else {
        return;
    };
    let admin = api_key(&app, ApiKeyRole::Admin).await;
    register(&app, &admin, cpo("Solarius", "+639123456782")).await;
    let temporary = texted_password(&app, "+639123456782");
    let sms = app.sent().last().unwrap().body.clone();
    assert!(sms.contains("\"solarius\""), "{sms}");
    assert!(temporary.len() >= 12, "{temporary}");

    // It signs in (any case of the username), as seed 003's reply.
    let now = app.clock_now().timestamp();
    let pair = login(&app, "SOLARIUS", &temporary).await;
    assert_eq!(pair["role"], "CPO_OWNER");
    assert_eq!(pair["access_expires_in"], now + 15 * 60, "{pair}");
    assert_eq!(pair["refresh_expires_in"], now + 30 * 24 * 3600, "{pair}");
    let access = token(&pair, "access_token");
    let bearer = format!("Bearer {access}");

    // ...but opens nothing except the change of itself.
    for path in [DETAILS, PENDING, "/api/v1/user/me", "/api/v1/host/profile"] {
        assert_eq!(
            get_auth(&app, path, Some(&bearer)).await.1["code"],
            "password_change_required",
            "{path}"
        );
    }
    assert_face_error(
        &app.get(DETAILS, Some(&access)).await,
        StatusCode::FORBIDDEN,
        "password_change_required",
    );

    // The change: the old password must be right and the new one good.
    let change = |old: &str, new: &str| json!({"old_password": old, "new_password": new});
    assert_face_error(
        &app.post(
            CHANGE,
            change("wrong-password", "solarius-2024"),
            Some(&access),
        )
        .await,
        StatusCode::UNAUTHORIZED,
        "invalid_credentials",
    );
    assert_bad_field(
        &app.post(CHANGE, change(&temporary, "12345"), Some(&access))
            .await,
        "new_password",
    );
    assert_bad_field(
        &app.post(CHANGE, change(&temporary, &temporary), Some(&access))
            .await,
        "new_password",
    );
    assert_bad_field(
        &app.post(
            CHANGE,
            json!({"new_password": "solarius-2024"}),
            Some(&access),
        )
        .await,
        "old_password",
    );
    assert_face_error(
        &app.post(CHANGE, change(&temporary, "solarius-2024"), None)
            .await,
        StatusCode::UNAUTHORIZED,
        "missing_credentials",
    );
    // Still temporary after all that.
    assert_eq!(
        app.get(DETAILS, Some(&access)).await.0,
        StatusCode::FORBIDDEN
    );
    let reply = app
        .post(CHANGE, change(&temporary, "solarius-2024"), Some(&access))
        .await;
    assert_eq!(
        reply,
        (
            StatusCode::OK,
            json!({"status": 200, "data": "SUCCESS", "message": "Success"})
        )
    );

    // The same token now does everything a host does: seed 003's routes
    // show what was registered.
    let (status, details) = app.get(DETAILS, Some(&access)).await;
    assert_eq!(status, StatusCode::OK, "{details}");
    assert_eq!(
        details,
        json!({"status": 200, "message": "Success", "data": {
            "party_id": null,
            "cpo_owner_name": "Solarius",
            "contact_name": "Solarius CEO",
            "contact_number": "+639123456782",
            "contact_email": "ceo@solarius.example",
            "logo": null,
            "username": "solarius",
            "ocpp_ready": true
        }})
    );
    assert_eq!(
        app.get(PENDING, Some(&access)).await.1["data"],
        "NO_PENDING_LOCATIONS_AND_EVSES"
    );
    let (status, site) = app
        .post(
            "/api/v1/host/sites",
            json!({
                "name": "Subic Bay", "address": "Rizal Avenue 1", "city": "Subic",
                "province": "Zambales", "country_code": "PH", "latitude": 14.8386,
                "longitude": 120.2842, "time_zone": "Asia/Manila", "currency": "PHP"
            }),
            Some(&access),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{site}");
    assert_eq!(
        app.get(PENDING, Some(&access)).await.1["data"],
        json!([{"pending_locations": 1, "pending_evses": 0}])
    );
    let (status, me) = app.get("/api/v1/user/me", Some(&access)).await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_eq!(me["role"], "host");

    // The temporary password is gone; the new one signs in.
    assert_face_error(
        &app.post(
            LOGIN,
            json!({"username": "solarius", "password": temporary}),
            None,
        )
        .await,
        StatusCode::UNAUTHORIZED,
        "invalid_credentials",
    );
    let again = login(&app, "solarius", "solarius-2024").await;
    assert_eq!(
        app.get(DETAILS, Some(&token(&again, "access_token")))
            .await
            .0,
        StatusCode::OK
    );
    app.finish().await;
}

async fn unknown_users_and_wrong_passwords_look_alike_and_lock(backend: Backend, name: &str) {
    let mut options = Options::default();
    options.settings.lockout_after = 3;
    options.settings.credential_checks_per_minute = 1000;
    let Some(app) = TestApp::spawn(backend, name, options).await else {
        return;
    };
    let admin = api_key(&app, ApiKeyRole::Admin).await;
    register(
        &app,
        &admin,
        with(
            cpo("solarius", "+97688013200"),
            "password",
            json!("right-password"),
        ),
    )
    .await;
    let attempt =
        |username: &str, password: &str| json!({"username": username, "password": password});
    let unknown = app
        .post(LOGIN, attempt("nobody", "right-password"), None)
        .await;
    assert_face_error(&unknown, StatusCode::UNAUTHORIZED, "invalid_credentials");
    let impossible = app.post(LOGIN, attempt("!", "right-password"), None).await;
    let wrong = app
        .post(LOGIN, attempt("solarius", "wrong-password"), None)
        .await;
    assert_face_error(&wrong, StatusCode::UNAUTHORIZED, "invalid_credentials");
    // Nothing tells an unknown username from a wrong password.
    assert_eq!(unknown, wrong);
    assert_eq!(impossible, wrong);
    assert_bad_field(
        &app.post(LOGIN, json!({"username": "solarius"}), None).await,
        "password",
    );
    assert_bad_field(
        &app.post(LOGIN, json!({"password": "x"}), None).await,
        "username",
    );
    // A seed client's Basic header changes nothing.
    let (status, _) = post_auth(
        &app,
        LOGIN,
        attempt("solarius", "right-password"),
        Some(&basic("portal-token")),
    )
    .await;
    assert_eq!(status, StatusCode::OK);

    // Three wrong passwords in a row lock the account; even the right one waits.
    for _ in 0..3 {
        let reply = app
            .post(LOGIN, attempt("solarius", "wrong-password"), None)
            .await;
        assert_face_error(&reply, StatusCode::UNAUTHORIZED, "invalid_credentials");
    }
    let locked = app
        .post(LOGIN, attempt("solarius", "right-password"), None)
        .await;
    assert_face_error(&locked, StatusCode::TOO_MANY_REQUESTS, "account_locked");
    app.clock.advance(Duration::minutes(16));
    login(&app, "solarius", "right-password").await;
    app.finish().await;

    // The per-address limit applies too.
    let mut options = Options::default();
    options.settings.credential_checks_per_minute = 2;
    let app = TestApp::spawn(backend, &format!("{name}_limit"), options)
        .await
        .unwrap();
    for _ in 0..2 {
        let reply = app.post(LOGIN, attempt("nobody", "pw-123456"), None).await;
        assert_eq!(reply.0, StatusCode::UNAUTHORIZED, "{}", reply.1);
    }
    let limited = app.post(LOGIN, attempt("nobody", "pw-123456"), None).await;
    assert_eq!(limited.0, StatusCode::TOO_MANY_REQUESTS, "{}", limited.1);
    assert_eq!(limited.1["status"], 429);
    app.finish().await;
}

async fn refresh_rotates_and_a_reused_token_ends_the_session(backend: Backend, name: &str) {
    let Some(app) = TestApp::spawn(backend, name, Options::default()).await else {
        return;
    };
    let admin = api_key(&app, ApiKeyRole::Admin).await;
    register(
        &app,
        &admin,
        with(
            cpo("solarius", "+97688013300"),
            "password",
            json!("right-password"),
        ),
    )
    .await;
    let first = login(&app, "solarius", "right-password").await;
    app.clock.advance(Duration::minutes(5));
    let now = app.clock_now().timestamp();
    let (status, body) = refresh(&app, &token(&first, "refresh_token")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], 200);
    assert_eq!(body["message"], "SUCCESS");
    let second = body["data"].clone();
    assert_eq!(second["role"], "CPO_OWNER");
    assert_eq!(second["access_expires_in"], now + 15 * 60);
    assert_ne!(second["refresh_token"], first["refresh_token"]);
    assert_ne!(second["access_token"], first["access_token"]);
    let access = token(&second, "access_token");
    assert_eq!(app.get(DETAILS, Some(&access)).await.0, StatusCode::OK);

    // Only a refresh token, only in the header.
    assert_face_error(
        &get_auth(&app, REFRESH, None).await,
        StatusCode::UNAUTHORIZED,
        "missing_credentials",
    );
    assert_face_error(
        &get_auth(
            &app,
            REFRESH,
            Some(&basic(&token(&second, "refresh_token"))),
        )
        .await,
        StatusCode::UNAUTHORIZED,
        "missing_credentials",
    );
    assert_face_error(
        &get_auth(
            &app,
            &format!(
                "{REFRESH}?refresh_token={}",
                token(&second, "refresh_token")
            ),
            None,
        )
        .await,
        StatusCode::UNAUTHORIZED,
        "missing_credentials",
    );
    assert_face_error(
        &refresh(&app, &access).await,
        StatusCode::UNAUTHORIZED,
        "wrong_token_type",
    );
    assert_face_error(
        &refresh(&app, "not-a-token").await,
        StatusCode::UNAUTHORIZED,
        "invalid_token",
    );

    // A spent refresh token again: theft is assumed, the session ends.
    assert_face_error(
        &refresh(&app, &token(&first, "refresh_token")).await,
        StatusCode::UNAUTHORIZED,
        "refresh_token_reused",
    );
    assert_face_error(
        &refresh(&app, &token(&second, "refresh_token")).await,
        StatusCode::UNAUTHORIZED,
        "session_ended",
    );
    assert_face_error(
        &app.get(DETAILS, Some(&access)).await,
        StatusCode::UNAUTHORIZED,
        "session_ended",
    );
    // Signing in again is the way back.
    login(&app, "solarius", "right-password").await;
    app.finish().await;
}

async fn logout_ends_only_its_session(backend: Backend, name: &str) {
    let Some(app) = TestApp::spawn(backend, name, Options::default()).await else {
        return;
    };
    let admin = api_key(&app, ApiKeyRole::Admin).await;
    register(
        &app,
        &admin,
        with(
            cpo("solarius", "+97688013400"),
            "password",
            json!("right-password"),
        ),
    )
    .await;
    let a = login(&app, "solarius", "right-password").await;
    let b = login(&app, "solarius", "right-password").await;
    let a_access = token(&a, "access_token");
    assert_eq!(app.get(DETAILS, Some(&a_access)).await.0, StatusCode::OK);

    assert_face_error(
        &app.post(LOGOUT, json!({}), None).await,
        StatusCode::UNAUTHORIZED,
        "missing_credentials",
    );
    assert_face_error(
        &app.post(LOGOUT, json!({}), Some(&admin)).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
    let reply = app.post(LOGOUT, json!({}), Some(&a_access)).await;
    assert_eq!(
        reply,
        (
            StatusCode::OK,
            json!({"status": 200, "data": [], "message": "Logged out successfully"})
        )
    );
    // Its access and refresh tokens stop at once...
    assert_face_error(
        &app.get(DETAILS, Some(&a_access)).await,
        StatusCode::UNAUTHORIZED,
        "session_ended",
    );
    assert_face_error(
        &refresh(&app, &token(&a, "refresh_token")).await,
        StatusCode::UNAUTHORIZED,
        "session_ended",
    );
    assert_face_error(
        &app.post(LOGOUT, json!({}), Some(&a_access)).await,
        StatusCode::UNAUTHORIZED,
        "session_ended",
    );
    // ...the other session goes on.
    assert_eq!(
        app.get(DETAILS, Some(&token(&b, "access_token"))).await.0,
        StatusCode::OK
    );
    assert_eq!(
        refresh(&app, &token(&b, "refresh_token")).await.0,
        StatusCode::OK
    );

    // An operator with a temporary password may sign out too.
    register(&app, &admin, cpo("lunaris", "+97688013401")).await;
    let temporary = texted_password(&app, "+97688013401");
    let pending = login(&app, "lunaris", &temporary).await;
    let pending_access = token(&pending, "access_token");
    let reply = app.post(LOGOUT, json!({}), Some(&pending_access)).await;
    assert_eq!(reply.0, StatusCode::OK, "{}", reply.1);
    assert_face_error(
        &app.post(
            CHANGE,
            json!({"old_password": temporary, "new_password": "lunaris-2024"}),
            Some(&pending_access),
        )
        .await,
        StatusCode::UNAUTHORIZED,
        "session_ended",
    );

    // The canonical password change is open to a temporary password too.
    register(&app, &admin, cpo("stellaris", "+97688013402")).await;
    let temporary = texted_password(&app, "+97688013402");
    let pending = login(&app, "stellaris", &temporary).await;
    let pending_access = token(&pending, "access_token");
    let (status, body) = app
        .post(
            "/api/v1/auth/change-password",
            json!({"old_password": temporary, "new_password": "stellaris-2024"}),
            Some(&pending_access),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        app.get(DETAILS, Some(&pending_access)).await.0,
        StatusCode::OK
    );
    app.finish().await;
}

async fn changing_the_password_ends_the_other_sessions(backend: Backend, name: &str) {
    let Some(app) = TestApp::spawn(backend, name, Options::default()).await else {
        return;
    };
    let admin = api_key(&app, ApiKeyRole::Admin).await;
    register(
        &app,
        &admin,
        with(
            cpo("alpha", "+97688013500"),
            "password",
            json!("alpha-password"),
        ),
    )
    .await;
    register(
        &app,
        &admin,
        with(
            cpo("beta", "+97688013501"),
            "password",
            json!("beta-password"),
        ),
    )
    .await;
    let a = login(&app, "alpha", "alpha-password").await;
    let b = login(&app, "alpha", "alpha-password").await;
    let c = login(&app, "beta", "beta-password").await;

    let reply = app
        .post(
            CHANGE,
            json!({"old_password": "alpha-password", "new_password": "alpha-password-2"}),
            Some(&token(&a, "access_token")),
        )
        .await;
    assert_eq!(reply.0, StatusCode::OK, "{}", reply.1);
    assert_eq!(reply.1["data"], "SUCCESS");
    // This session stays; the account's other one ends, refresh token and all.
    assert_eq!(
        app.get(DETAILS, Some(&token(&a, "access_token"))).await.0,
        StatusCode::OK
    );
    assert_face_error(
        &app.get(DETAILS, Some(&token(&b, "access_token"))).await,
        StatusCode::UNAUTHORIZED,
        "session_ended",
    );
    assert_face_error(
        &refresh(&app, &token(&b, "refresh_token")).await,
        StatusCode::UNAUTHORIZED,
        "session_ended",
    );
    // Another operator is untouched.
    let (status, details) = app.get(DETAILS, Some(&token(&c, "access_token"))).await;
    assert_eq!(status, StatusCode::OK, "{details}");
    assert_eq!(details["data"]["username"], "beta");
    login(&app, "beta", "beta-password").await;
    // Only the new password works now.
    assert_login_refused(&app, "alpha", "alpha-password").await;
    login(&app, "alpha", "alpha-password-2").await;
    app.finish().await;
}

async fn a_contact_number_with_a_phone_account_stays_separate(backend: Backend, name: &str) {
    let Some(app) = TestApp::spawn(backend, name, Options::default()).await else {
        return;
    };
    let admin = api_key(&app, ApiKeyRole::Admin).await;
    const PHONE: &str = "+97688013700";
    let driver = app.otp_sign_in(PHONE).await;
    let driver_id = driver["userId"].as_str().unwrap().to_owned();
    let driver_token = driver["token"].as_str().unwrap().to_owned();

    // The admin registers an operator whose contact is that number.
    register(&app, &admin, cpo("fiesta", PHONE)).await;
    let temporary = texted_password(&app, PHONE);

    // The phone account is as it was: a driver, no profile, no password.
    let (status, me) = app.get("/api/v1/user/me", Some(&driver_token)).await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_eq!(me["role"], "driver");
    let (status, _) = app.get("/api/v1/host/profile", Some(&driver_token)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let id: UserId = driver_id.parse().unwrap();
    assert_eq!(
        app.store
            .find_user(id)
            .await
            .unwrap()
            .unwrap()
            .password_hash,
        None
    );

    // The operator is another account, without the phone.
    let pair = login(&app, "fiesta", &temporary).await;
    let access = token(&pair, "access_token");
    let reply = app
        .post(
            CHANGE,
            json!({"old_password": temporary, "new_password": "fiesta-2024"}),
            Some(&access),
        )
        .await;
    assert_eq!(reply.0, StatusCode::OK, "{}", reply.1);
    let (status, me) = app.get("/api/v1/user/me", Some(&access)).await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_ne!(me["userId"], driver_id.as_str());
    assert_eq!(me["role"], "host");
    let (status, phones) = app.get("/api/v1/auth/phones", Some(&access)).await;
    assert_eq!((status, phones), (StatusCode::OK, json!([])));

    // A code to the phone still opens the driver's account, not the operator's.
    let again = app.otp_sign_in(PHONE).await;
    assert_eq!(again["userId"], driver_id.as_str());
    assert_eq!(again["role"], "driver");
    app.finish().await;
}

async fn without_sms_a_temporary_password_registers_nothing(backend: Backend, name: &str) {
    let options = Options {
        no_sms: true,
        ..Options::default()
    };
    let Some(app) = TestApp::spawn(backend, name, options).await else {
        return;
    };
    let admin = api_key(&app, ApiKeyRole::Admin).await;
    let users = app.store.count_users().await.unwrap();
    let reply = post_auth(
        &app,
        REGISTER,
        cpo("solarius", "+97688013800"),
        Some(&basic(&admin)),
    )
    .await;
    assert_face_error(&reply, StatusCode::SERVICE_UNAVAILABLE, "sms_unavailable");
    assert_eq!(app.store.count_users().await.unwrap(), users);
    // The name is still free, and a chosen password needs no SMS.
    register(
        &app,
        &admin,
        with(
            cpo("solarius", "+97688013800"),
            "password",
            json!("right-password"),
        ),
    )
    .await;
    login(&app, "solarius", "right-password").await;
    app.finish().await;

    // A provider that refuses: 502, and still nothing written.
    let (app, admin) = refusing_sms_app(backend, name).await;
    let reply = post_auth(
        &app,
        REGISTER,
        cpo("solarius", "+97688013800"),
        Some(&basic(&admin)),
    )
    .await;
    assert_face_error(&reply, StatusCode::BAD_GATEWAY, "sms_failed");
    assert_eq!(app.store.count_users().await.unwrap(), 0);
    app.finish().await;
}

const RESEND: &str = "/api/v1/admin/operators/{id}/temporary-password";

/// An app whose SMS provider refuses every text, and an admin key on it.
async fn refusing_sms_app(backend: Backend, name: &str) -> (TestApp, String) {
    let options = Options {
        twilio_wrong_token: true,
        ..Options::default()
    };
    let app = TestApp::spawn(backend, &format!("{name}_refused"), options)
        .await
        .unwrap();
    let admin = api_key(&app, ApiKeyRole::Admin).await;
    (app, admin)
}

/// Registers the operator "solarius" with a password of its own and signs
/// it in: its access token and account id.
async fn operator_with_password(app: &TestApp, admin: &str) -> (String, String) {
    register(
        app,
        admin,
        with(
            cpo("solarius", "+639123456782"),
            "password",
            json!("first-password-1"),
        ),
    )
    .await;
    let access = token(
        &login(app, "solarius", "first-password-1").await,
        "access_token",
    );
    let (status, me) = app.get("/api/v1/user/me", Some(&access)).await;
    assert_eq!(status, StatusCode::OK, "{me}");
    (access, me["userId"].as_str().unwrap().to_owned())
}

async fn an_admin_sends_a_new_temporary_password_which_ends_the_old_sessions(
    backend: Backend,
    name: &str,
) {
    let Some(app) = TestApp::spawn(backend, name, Options::default()).await else {
        return;
    };
    let admin = api_key(&app, ApiKeyRole::Admin).await;
    let (access, id) = operator_with_password(&app, &admin).await;
    let resend = RESEND.replace("{id}", &id);

    // Admins only; an unknown id, or an account that is no operator, is 404.
    assert_eq!(
        app.post(&resend, json!({}), None).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.post(&resend, json!({}), Some(&access)).await.0,
        StatusCode::FORBIDDEN
    );
    let driver = app.otp_sign_in("+639123456799").await;
    let driver_token = driver["token"].as_str().unwrap().to_owned();
    assert_eq!(
        app.post(&resend, json!({}), Some(&driver_token)).await.0,
        StatusCode::FORBIDDEN
    );
    let (_, driver_me) = app.get("/api/v1/user/me", Some(&driver_token)).await;
    let driver_id = driver_me["userId"].as_str().unwrap().to_owned();
    for id in [
        "not-an-id",
        &driver_id,
        "0190a0c2-1111-7000-8000-000000000000",
    ] {
        let (status, body) = app
            .post(&RESEND.replace("{id}", id), json!({}), Some(&admin))
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{id}: {body}");
        assert_eq!(body["code"], "operator_not_found", "{body}");
    }
    let texts = app.sent().len();

    let (status, body) = app.post(&resend, json!({}), Some(&admin)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body, json!({"sent": true}));
    assert_eq!(app.sent().len(), texts + 1);
    let temporary = texted_password(&app, "+639123456782");
    assert!(!body.to_string().contains(&temporary), "never in the reply");

    // The old password and the old session are gone; the new password
    // signs in but must be changed before anything else.
    assert_eq!(
        app.get(DETAILS, Some(&access)).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_login_refused(&app, "solarius", "first-password-1").await;
    let access = token(&login(&app, "solarius", &temporary).await, "access_token");
    assert_face_error(
        &app.get(DETAILS, Some(&access)).await,
        StatusCode::FORBIDDEN,
        "password_change_required",
    );
    let reply = app
        .post(
            CHANGE,
            json!({"old_password": temporary, "new_password": "second-password-2"}),
            Some(&access),
        )
        .await;
    assert_eq!(reply.0, StatusCode::OK, "{}", reply.1);
    assert_eq!(app.get(DETAILS, Some(&access)).await.0, StatusCode::OK);
    app.finish().await;

    // A provider that refuses: 502, and the password in use still works.
    let (app, admin) = refusing_sms_app(backend, name).await;
    let (access, id) = operator_with_password(&app, &admin).await;
    let (status, body) = app
        .post(&RESEND.replace("{id}", &id), json!({}), Some(&admin))
        .await;
    assert_eq!(status, StatusCode::BAD_GATEWAY, "{body}");
    assert_eq!(body["code"], "sms_failed", "{body}");
    assert_eq!(app.get(DETAILS, Some(&access)).await.0, StatusCode::OK);
    login(&app, "solarius", "first-password-1").await;
    app.finish().await;
}

/// Seed 003's `cpo/upload`: one file in `cpo_logo`, as the portal sends it.
async fn upload_logo(
    app: &TestApp,
    file_name: &str,
    bytes: Vec<u8>,
    authorization: &str,
) -> (StatusCode, Value) {
    let part = reqwest::multipart::Part::bytes(bytes).file_name(file_name.to_owned());
    let form = reqwest::multipart::Form::new().part("cpo_logo", part);
    let response = app
        .http
        .post(app.url("/ocpi/cpo/2.2/cpo/upload"))
        .header("authorization", authorization)
        .multipart(form)
        .send()
        .await
        .unwrap();
    read(response).await
}

async fn logo_of(app: &TestApp, username: &str) -> Option<String> {
    let name = plugway_domain::Username::parse(username).unwrap();
    let user = app
        .store
        .find_user_by_username(&name)
        .await
        .unwrap()
        .unwrap();
    app.store
        .find_host_profile(user.id)
        .await
        .unwrap()
        .unwrap()
        .logo
}

/// The portal's own Basic credentials (a `portal` key an admin issued)
/// register an operator, then upload the logo the registration named, as
/// the document shows; they can do nothing more.
async fn the_portal_registers_an_operator_and_uploads_the_logo_it_named(
    backend: Backend,
    name: &str,
) {
    let Some(app) = TestApp::spawn(backend, name, Options::default()).await else {
        return;
    };
    let portal = basic(&api_key(&app, ApiKeyRole::Portal).await);
    let integration = basic(&api_key(&app, ApiKeyRole::Integration).await);
    let uploaded = json!({"status": 200, "data": [], "message": "Success"});

    let body = with(
        cpo("portalis", "+97688013200"),
        "logo",
        json!("portalis-logo.png"),
    );
    let reply = post_auth(&app, REGISTER, body, Some(&portal)).await;
    assert_eq!(reply, (StatusCode::OK, registered()));
    // The portal reads the reference lists with the same credentials.
    assert_eq!(
        get_auth(&app, "/ocpi/cpo/2.2/filters", Some(&portal))
            .await
            .0,
        StatusCode::OK
    );

    // Another key role cannot upload for a registration.
    let refused = upload_logo(&app, "portalis-logo.png", png(64, 64), &integration).await;
    assert_eq!(refused.0, StatusCode::UNAUTHORIZED, "{}", refused.1);
    // A file of another name is no registration's.
    assert_face_error(
        &upload_logo(&app, "other.png", png(64, 64), &portal).await,
        StatusCode::NOT_FOUND,
        "no_registration_awaits_this_logo",
    );
    // Not an image: refused, and the registration still waits for its logo.
    let garbage = upload_logo(&app, "portalis-logo.png", b"not an image".to_vec(), &portal).await;
    assert!(garbage.0.is_client_error(), "{garbage:?}");
    assert_eq!(logo_of(&app, "portalis").await, None);
    assert_eq!(
        upload_logo(&app, "portalis-logo.png", png(64, 64), &portal).await,
        (StatusCode::OK, uploaded.clone())
    );
    assert!(logo_of(&app, "portalis")
        .await
        .is_some_and(|key| key.starts_with("hosts/")));
    // Each registration's logo is uploaded once.
    assert_face_error(
        &upload_logo(&app, "portalis-logo.png", png(64, 64), &portal).await,
        StatusCode::NOT_FOUND,
        "no_registration_awaits_this_logo",
    );

    // A registration's logo waits a day.
    let body = with(cpo("tardis", "+97688013201"), "logo", json!("tardis.png"));
    assert_eq!(
        post_auth(&app, REGISTER, body, Some(&portal)).await,
        (StatusCode::OK, registered())
    );
    app.clock.advance(Duration::hours(25));
    assert_face_error(
        &upload_logo(&app, "tardis.png", png(64, 64), &portal).await,
        StatusCode::NOT_FOUND,
        "no_registration_awaits_this_logo",
    );
    assert_eq!(logo_of(&app, "tardis").await, None);
    // A logo name that is a path is refused, and nothing is registered.
    let body = with(
        cpo("pathos", "+97688013202"),
        "logo",
        json!("../etc/logo.png"),
    );
    assert_bad_field(
        &post_auth(&app, REGISTER, body, Some(&portal)).await,
        "logo",
    );
    app.finish().await;
}
