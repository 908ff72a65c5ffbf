//! Seed 002's accounts API, exactly as its document shows (region BD, as
//! its example numbers are Bangladeshi).

use axum::http::StatusCode;
use chrono::Duration;
use serde_json::json;

use crate::harness::{assert_error, Backend, Options, TestApp};

crate::on_both_backends!(
    register_verify_and_get_tokens_as_documented,
    refresh_rotates_and_a_replay_ends_the_session,
    an_app_that_keeps_its_refresh_token_stays_signed_in,
    only_the_password_sign_in_gives_a_token_to_keep,
    phones_are_added_verified_and_made_primary,
    wrong_passwords_lock_password_sign_in,
    an_unverified_claim_never_opens_an_account,
);

const PHONE: &str = "01516100100";
const PHONE_E164: &str = "+8801516100100";

fn bd() -> Options {
    let mut options = Options::default();
    options.settings.default_region = Some("BD".parse().unwrap());
    options
}

async fn register(app: &TestApp, phone: &str, password: &str) {
    let (status, body) = app
        .post(
            "/api/v1/auth/register/",
            json!({"phone": phone, "name": "Ikram Khan", "password": password}),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body, json!({"message": "Registartion Successful"}));
}

async fn verify(app: &TestApp, phone: &str, e164: &str) {
    let otp = app.last_code(e164);
    let (status, body) = app
        .post(
            "/api/v1/auth/verify-otp/",
            json!({"phone": phone, "otp": otp}),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body, json!({"message": "Verification Successful"}));
}

async fn token(app: &TestApp, phone: &str, password: &str) -> (String, String) {
    let (status, body) = app
        .post(
            "/api/v1/auth/token/",
            json!({"phone": phone, "password": password}),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    (
        body["token"]["access"].as_str().unwrap().to_owned(),
        body["token"]["refresh"].as_str().unwrap().to_owned(),
    )
}

async fn register_verify_and_get_tokens_as_documented(backend: Backend, name: &str) {
    let Some(app) = TestApp::spawn(backend, name, bd()).await else {
        return;
    };
    register(&app, PHONE, "123456").await;
    assert_eq!(app.sent().last().unwrap().to, PHONE_E164);
    // Before verification the right password is refused with a reason.
    let reply = app
        .post(
            "/api/v1/auth/token/",
            json!({"phone": PHONE, "password": "123456"}),
            None,
        )
        .await;
    assert_error(&reply, StatusCode::FORBIDDEN, "phone_not_verified");
    // A second registration of a verified number is refused; an unverified one is not yet.
    verify(&app, PHONE, PHONE_E164).await;
    let dup = app
        .post(
            "/api/v1/auth/register/",
            json!({"phone": "+880 1516-100100", "name": "X", "password": "123456"}),
            None,
        )
        .await;
    assert_error(&dup, StatusCode::CONFLICT, "phone_taken");

    let (access, refresh) = token(&app, PHONE, "123456").await;
    // The seed's claims: token_type and user_id.
    let claims = decode_claims(&access);
    assert_eq!(claims["token_type"], "access");
    assert!(claims["user_id"].is_string());
    assert_eq!(decode_claims(&refresh)["token_type"], "refresh");
    let (status, me) = app.post("/api/v1/user/me", json!({}), Some(&access)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["profile"]["name"], "Ikram Khan");
    assert_eq!(me["profile"]["phone"], PHONE_E164);
    // The same path without the trailing slash works too.
    let (status, _) = app
        .post(
            "/api/v1/auth/token",
            json!({"phone": PHONE, "password": "123456"}),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let wrong = app
        .post(
            "/api/v1/auth/token/",
            json!({"phone": PHONE, "password": "1234567"}),
            None,
        )
        .await;
    assert_error(&wrong, StatusCode::UNAUTHORIZED, "invalid_credentials");
    let unknown = app
        .post(
            "/api/v1/auth/token/",
            json!({"phone": "01516100199", "password": "123456"}),
            None,
        )
        .await;
    assert_error(&unknown, StatusCode::UNAUTHORIZED, "invalid_credentials");
    app.finish().await;
}

fn decode_claims(jwt: &str) -> serde_json::Value {
    use base64::Engine;
    let payload = jwt.split('.').nth(1).unwrap();
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap()
}

async fn refresh_rotates_and_a_replay_ends_the_session(backend: Backend, name: &str) {
    let Some(app) = TestApp::spawn(backend, name, bd()).await else {
        return;
    };
    register(&app, PHONE, "test@1234").await;
    verify(&app, PHONE, PHONE_E164).await;
    let (access, refresh) = token(&app, PHONE, "test@1234").await;
    let (status, rotated) = app
        .post("/api/v1/auth/refresh/", json!({"refresh": refresh}), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{rotated}");
    let new_access = rotated["access"].as_str().unwrap();
    let new_refresh = rotated["refresh"].as_str().unwrap();
    assert_ne!(new_refresh, refresh);
    assert_eq!(
        app.get("/api/v1/user/me", Some(new_access)).await.0,
        StatusCode::OK
    );
    // An access token is not a refresh token.
    let wrong_kind = app
        .post("/api/v1/auth/refresh/", json!({"refresh": access}), None)
        .await;
    assert_error(&wrong_kind, StatusCode::UNAUTHORIZED, "wrong_token_type");
    // The client takes the rotated token: the session is in rotation now.
    let (status, third) = app
        .post(
            "/api/v1/auth/refresh/",
            json!({"refresh": new_refresh}),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{third}");
    let third_access = third["access"].as_str().unwrap();
    assert_ne!(third["refresh"], new_refresh);
    // Replaying a spent token ends the session: every token of it dies.
    let replay = app
        .post("/api/v1/auth/refresh/", json!({"refresh": refresh}), None)
        .await;
    assert_error(&replay, StatusCode::UNAUTHORIZED, "refresh_token_reused");
    let after = app
        .post(
            "/api/v1/auth/refresh/",
            json!({"refresh": third["refresh"]}),
            None,
        )
        .await;
    assert_error(&after, StatusCode::UNAUTHORIZED, "session_ended");
    for access in [new_access, third_access] {
        assert_error(
            &app.get("/api/v1/user/me", Some(access)).await,
            StatusCode::UNAUTHORIZED,
            "session_ended",
        );
    }
    // Another session is unaffected.
    let (other, _) = token(&app, PHONE, "test@1234").await;
    assert_eq!(
        app.get("/api/v1/user/me", Some(&other)).await.0,
        StatusCode::OK
    );
    // Access tokens expire; the clock decides.
    app.clock.advance(Duration::minutes(16));
    assert_error(
        &app.get("/api/v1/user/me", Some(&other)).await,
        StatusCode::UNAUTHORIZED,
        "token_expired",
    );
    app.finish().await;
}

async fn phones_are_added_verified_and_made_primary(backend: Backend, name: &str) {
    let Some(app) = TestApp::spawn(backend, name, bd()).await else {
        return;
    };
    register(&app, PHONE, "123456").await;
    verify(&app, PHONE, PHONE_E164).await;
    let (access, _) = token(&app, PHONE, "123456").await;
    let (status, body) = app
        .post(
            "/api/v1/auth/add-phone-no/",
            json!({"phone": "01917100100"}),
            Some(&access),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(
        body,
        json!({"message": "Phone No added Successfully, Please verify it via otp"})
    );
    // Not verified yet: cannot be primary, cannot sign in.
    let early = app
        .post(
            "/api/v1/auth/make-primary-phone/",
            json!({"phone": "01917100100"}),
            Some(&access),
        )
        .await;
    assert_error(&early, StatusCode::BAD_REQUEST, "phone_not_verified");
    let early = app
        .post(
            "/api/v1/auth/token/",
            json!({"phone": "01917100100", "password": "123456"}),
            None,
        )
        .await;
    assert_error(&early, StatusCode::FORBIDDEN, "phone_not_verified");
    verify(&app, "01917100100", "+8801917100100").await;
    let (status, body) = app
        .post(
            "/api/v1/auth/make-primary-phone/",
            json!({"phone": "01917100100"}),
            Some(&access),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(
        body,
        json!({"message": "Now 01917100100 is your primary phone no"})
    );
    let (_, me) = app.post("/api/v1/user/me", json!({}), Some(&access)).await;
    assert_eq!(me["profile"]["phone"], "+8801917100100");
    let (_, phones) = app.get("/api/v1/auth/phones", Some(&access)).await;
    assert_eq!(
        phones[0],
        json!({"phone": "+8801917100100", "verified": true, "primary": true})
    );
    assert_eq!(phones.as_array().unwrap().len(), 2);
    // Either verified phone signs in.
    token(&app, "01917100100", "123456").await;
    token(&app, PHONE, "123456").await;
    // Someone else's verified phone cannot be added; a phone not on the account cannot be primary.
    app.clock.advance(Duration::seconds(31));
    register(&app, "01711000000", "123456").await;
    verify(&app, "01711000000", "+8801711000000").await;
    let taken = app
        .post(
            "/api/v1/auth/add-phone-no/",
            json!({"phone": "01711000000"}),
            Some(&access),
        )
        .await;
    assert_error(&taken, StatusCode::CONFLICT, "phone_taken");
    let foreign = app
        .post(
            "/api/v1/auth/make-primary-phone/",
            json!({"phone": "01711000000"}),
            Some(&access),
        )
        .await;
    assert_error(&foreign, StatusCode::NOT_FOUND, "phone_not_found");
    let anon = app
        .post(
            "/api/v1/auth/add-phone-no/",
            json!({"phone": "01711000001"}),
            None,
        )
        .await;
    assert_error(&anon, StatusCode::UNAUTHORIZED, "missing_credentials");
    app.finish().await;
}

async fn wrong_passwords_lock_password_sign_in(backend: Backend, name: &str) {
    let mut options = bd();
    options.settings.credential_checks_per_minute = 1000;
    let Some(app) = TestApp::spawn(backend, name, options).await else {
        return;
    };
    register(&app, PHONE, "123456").await;
    verify(&app, PHONE, PHONE_E164).await;
    for _ in 0..10 {
        let reply = app
            .post(
                "/api/v1/auth/token/",
                json!({"phone": PHONE, "password": "guess-1"}),
                None,
            )
            .await;
        assert_error(&reply, StatusCode::UNAUTHORIZED, "invalid_credentials");
    }
    // Locked: even the right password waits.
    let locked = app
        .post(
            "/api/v1/auth/token/",
            json!({"phone": PHONE, "password": "123456"}),
            None,
        )
        .await;
    assert_error(&locked, StatusCode::TOO_MANY_REQUESTS, "account_locked");
    app.clock.advance(Duration::minutes(16));
    token(&app, PHONE, "123456").await;
    app.finish().await;
}

async fn an_unverified_claim_never_opens_an_account(backend: Backend, name: &str) {
    let Some(app) = TestApp::spawn(backend, name, bd()).await else {
        return;
    };
    // Mallory registers Victim's number with her password and never verifies.
    register(&app, PHONE, "mallory-pw").await;
    // Victim signs in with a code (seed 001): a fresh account of their own.
    app.clock.advance(Duration::seconds(31));
    let code = app.request_code(PHONE, PHONE_E164).await;
    let (status, victim) = app
        .post(
            "/api/v1/user/otp-check",
            json!({"phone": PHONE, "code": code}),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{victim}");
    assert_eq!(victim["profile"]["name"], "", "not Mallory's account");
    // Mallory's password opens nothing.
    let reply = app
        .post(
            "/api/v1/auth/token/",
            json!({"phone": PHONE, "password": "mallory-pw"}),
            None,
        )
        .await;
    assert_error(&reply, StatusCode::UNAUTHORIZED, "invalid_credentials");
    app.finish().await;
}

/// Seed 002's refresh reply carries only `access`, so its apps send the
/// sign-in's refresh token at every refresh. They stay signed in until the
/// token expires; signing out, signing out everywhere and a new password
/// still end the session at once.
async fn an_app_that_keeps_its_refresh_token_stays_signed_in(backend: Backend, name: &str) {
    let Some(app) = TestApp::spawn(backend, name, bd()).await else {
        return;
    };
    register(&app, PHONE, "test@1234").await;
    verify(&app, PHONE, PHONE_E164).await;
    let refresh_with = |token: String| {
        let app = &app;
        async move {
            app.post("/api/v1/auth/refresh/", json!({"refresh": token}), None)
                .await
        }
    };

    let (_, kept) = token(&app, PHONE, "test@1234").await;
    for round in 0..10 {
        app.clock.advance(Duration::minutes(14));
        let (status, reply) = refresh_with(kept.clone()).await;
        assert_eq!(status, StatusCode::OK, "refresh {round}: {reply}");
        let access = reply["access"].as_str().unwrap();
        assert_eq!(
            app.get("/api/v1/user/me", Some(access)).await.0,
            StatusCode::OK,
            "refresh {round}"
        );
    }
    // Signing out ends it at once.
    let (status, reply) = refresh_with(kept.clone()).await;
    assert_eq!(status, StatusCode::OK, "{reply}");
    let access = reply["access"].as_str().unwrap().to_owned();
    let (status, _) = app
        .post("/api/v1/auth/logout", json!({}), Some(&access))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_error(
        &refresh_with(kept).await,
        StatusCode::UNAUTHORIZED,
        "session_ended",
    );

    // So do signing out everywhere and a new password, from another session.
    for (path, body) in [
        ("/api/v1/auth/logout-all", json!({})),
        (
            "/api/v1/auth/change-password",
            json!({"old_password": "test@1234", "new_password": "test@5678"}),
        ),
    ] {
        let (_, kept) = token(&app, PHONE, "test@1234").await;
        refresh_with(kept.clone()).await;
        let (other, _) = token(&app, PHONE, "test@1234").await;
        let (status, reply) = app.post(path, body, Some(&other)).await;
        assert_eq!(status, StatusCode::OK, "{path}: {reply}");
        assert_error(
            &refresh_with(kept).await,
            StatusCode::UNAUTHORIZED,
            "session_ended",
        );
    }

    // Left alone, the kept token works until it expires.
    let (_, kept) = token(&app, PHONE, "test@5678").await;
    refresh_with(kept.clone()).await;
    app.clock.advance(Duration::days(91));
    let expired = refresh_with(kept).await;
    assert_eq!(expired.0, StatusCode::UNAUTHORIZED, "{}", expired.1);
    app.finish().await;
}

/// The kept token is seed 002's: a token from an OTP sign-in rotates
/// strictly on the same path, and a replay ends its session.
async fn only_the_password_sign_in_gives_a_token_to_keep(backend: Backend, name: &str) {
    let Some(app) = TestApp::spawn(backend, name, bd()).await else {
        return;
    };
    let signed_in = app.otp_sign_in(PHONE_E164).await;
    let refresh = signed_in["refresh"].as_str().unwrap().to_owned();
    let (status, first) = app
        .post("/api/v1/auth/refresh/", json!({"refresh": refresh}), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{first}");
    let replay = app
        .post("/api/v1/auth/refresh/", json!({"refresh": refresh}), None)
        .await;
    assert_error(&replay, StatusCode::UNAUTHORIZED, "refresh_token_reused");
    assert_error(
        &app.get("/api/v1/user/me", Some(first["access"].as_str().unwrap()))
            .await,
        StatusCode::UNAUTHORIZED,
        "session_ended",
    );
    app.finish().await;
}
