//! Sign-out, sign-out everywhere, password change, and the sessions list.

use axum::http::StatusCode;
use serde_json::json;

use crate::harness::{assert_error, Backend, Options, TestApp};

crate::on_both_backends!(
    sign_out_here_and_everywhere,
    changing_the_password_ends_other_sessions
);

const PHONE: &str = "+97686661488";

async fn sign_out_here_and_everywhere(backend: Backend, name: &str) {
    let Some(app) = TestApp::spawn(backend, name, Options::default()).await else {
        return;
    };
    let a = app.otp_sign_in(PHONE).await;
    let b = app.otp_sign_in(PHONE).await;
    let c = app.otp_sign_in(PHONE).await;
    let token = |v: &serde_json::Value| v["token"].as_str().unwrap().to_owned();
    let (status, list) = app.get("/api/v1/auth/sessions", Some(&token(&a))).await;
    assert_eq!(status, StatusCode::OK);
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 3);
    assert_eq!(list.iter().filter(|s| s["current"] == true).count(), 1);

    let (status, body) = app
        .post("/api/v1/auth/logout", json!({}), Some(&token(&a)))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    assert_error(
        &app.get("/api/v1/user/me", Some(&token(&a))).await,
        StatusCode::UNAUTHORIZED,
        "session_ended",
    );
    let refresh = app
        .post(
            "/api/v1/auth/refresh",
            json!({"refresh": a["refresh"]}),
            None,
        )
        .await;
    assert_error(&refresh, StatusCode::UNAUTHORIZED, "session_ended");
    assert_eq!(
        app.get("/api/v1/user/me", Some(&token(&b))).await.0,
        StatusCode::OK
    );

    let (status, body) = app
        .post("/api/v1/auth/logout-all", json!({}), Some(&token(&b)))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["revoked_sessions"], 2);
    for s in [&b, &c] {
        assert_error(
            &app.get("/api/v1/user/me", Some(&token(s))).await,
            StatusCode::UNAUTHORIZED,
            "session_ended",
        );
    }
    app.finish().await;
}

async fn changing_the_password_ends_other_sessions(backend: Backend, name: &str) {
    let Some(app) = TestApp::spawn(backend, name, Options::default()).await else {
        return;
    };
    let here = app.otp_sign_in(PHONE).await;
    let there = app.otp_sign_in(PHONE).await;
    let token = |v: &serde_json::Value| v["token"].as_str().unwrap().to_owned();
    // An OTP-only account sets its first password without an old one.
    let short = app
        .post(
            "/api/v1/auth/change-password",
            json!({"new_password": "123"}),
            Some(&token(&here)),
        )
        .await;
    assert_error(&short, StatusCode::UNPROCESSABLE_ENTITY, "invalid_field");
    let (status, body) = app
        .post(
            "/api/v1/auth/change-password",
            json!({"new_password": "first-pass"}),
            Some(&token(&here)),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["revoked_sessions"], 1);
    assert_eq!(
        app.get("/api/v1/user/me", Some(&token(&here))).await.0,
        StatusCode::OK
    );
    assert_error(
        &app.get("/api/v1/user/me", Some(&token(&there))).await,
        StatusCode::UNAUTHORIZED,
        "session_ended",
    );
    let (_, pair) = app
        .post(
            "/api/v1/auth/token",
            json!({"phone": PHONE, "password": "first-pass"}),
            None,
        )
        .await;
    assert!(pair["token"]["access"].is_string(), "{pair}");
    // Now the old password is required and must be right.
    let missing = app
        .post(
            "/api/v1/auth/change-password",
            json!({"new_password": "second-pass"}),
            Some(&token(&here)),
        )
        .await;
    assert_error(&missing, StatusCode::UNPROCESSABLE_ENTITY, "invalid_field");
    let wrong = app
        .post(
            "/api/v1/auth/change-password",
            json!({"old_password": "nope-nope", "new_password": "second-pass"}),
            Some(&token(&here)),
        )
        .await;
    assert_error(&wrong, StatusCode::UNAUTHORIZED, "invalid_credentials");
    let (status, _) = app
        .post(
            "/api/v1/auth/change-password",
            json!({"old_password": "first-pass", "new_password": "second-pass"}),
            Some(&token(&here)),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let old = app
        .post(
            "/api/v1/auth/token",
            json!({"phone": PHONE, "password": "first-pass"}),
            None,
        )
        .await;
    assert_error(&old, StatusCode::UNAUTHORIZED, "invalid_credentials");
    app.finish().await;
}
