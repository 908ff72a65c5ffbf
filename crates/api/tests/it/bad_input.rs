//! Bad input gets a clear 4xx JSON error and changes nothing; limits cut
//! off brute force; provider failures are reported, not hidden.

use axum::http::StatusCode;
use serde_json::json;

use crate::harness::{assert_error, read, Backend, Options, TestApp};

crate::on_both_backends!(
    malformed_requests_get_4xx_and_change_nothing,
    bad_tokens_are_refused
);

async fn malformed_requests_get_4xx_and_change_nothing(backend: Backend, name: &str) {
    let Some(app) = TestApp::spawn(backend, name, Options::default()).await else {
        return;
    };
    let url = app.url("/api/v1/user/otp-request");
    let raw = |body: &'static str, content_type: Option<&'static str>| {
        let mut request = app.http.post(&url).body(body);
        if let Some(ct) = content_type {
            request = request.header("content-type", ct);
        }
        request
    };
    let json_ct = Some("application/json");
    assert_error(
        &read(raw("{\"phone\": 123}", json_ct).send().await.unwrap()).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_body",
    );
    let missing = read(raw("{}", json_ct).send().await.unwrap()).await;
    assert_error(&missing, StatusCode::UNPROCESSABLE_ENTITY, "invalid_body");
    assert!(
        missing.1["message"].as_str().unwrap().contains("phone"),
        "{}",
        missing.1
    );
    assert_error(
        &read(raw("{\"phone\":", json_ct).send().await.unwrap()).await,
        StatusCode::BAD_REQUEST,
        "invalid_json",
    );
    // A NUL character is valid JSON but no database column takes it: a 422,
    // not a database failure.
    let nul = read(
        raw("{\"phone\":\"+9768666\\u00001488\"}", json_ct)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_error(&nul, StatusCode::UNPROCESSABLE_ENTITY, "invalid_field");
    assert_eq!(nul.1["field"], "phone", "{}", nul.1);
    let nested = read(
        app.http
            .post(&url)
            .header("content-type", "application/json")
            .body("{\"phone\": \"+97686661488\", \"owner\": {\"names\": [\"a\", \"b\\u0000\"]}}")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_error(&nested, StatusCode::UNPROCESSABLE_ENTITY, "invalid_field");
    assert_eq!(nested.1["field"], "owner.names.1", "{}", nested.1);
    assert_error(
        &read(
            raw("{\"phone\":\"+97686661488\"}", None)
                .send()
                .await
                .unwrap(),
        )
        .await,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
    );
    let huge = format!("{{\"phone\":\"{}\"}}", "9".repeat(70 * 1024));
    let reply = read(
        app.http
            .post(&url)
            .header("content-type", "application/json")
            .body(huge)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_error(&reply, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large");
    for phone in ["hello", "01516100100", "+1 000", ""] {
        let reply = app
            .post("/api/v1/user/otp-request", json!({"phone": phone}), None)
            .await;
        assert_error(&reply, StatusCode::UNPROCESSABLE_ENTITY, "invalid_field");
        assert_eq!(reply.1["field"], "phone");
    }
    let reply = app
        .post(
            "/api/v1/user/otp-check",
            json!({"phone": "+97686661488", "code": "12ab"}),
            None,
        )
        .await;
    assert_error(&reply, StatusCode::UNPROCESSABLE_ENTITY, "invalid_field");
    let reply = app
        .post(
            "/api/v1/auth/register",
            json!({"phone": "+97686661488", "name": "", "password": "123456"}),
            None,
        )
        .await;
    assert_error(&reply, StatusCode::UNPROCESSABLE_ENTITY, "invalid_field");
    let reply = app
        .post(
            "/api/v1/auth/register",
            json!({"phone": "+97686661488", "name": "A", "password": "12345"}),
            None,
        )
        .await;
    assert_error(&reply, StatusCode::UNPROCESSABLE_ENTITY, "invalid_field");
    assert_error(
        &app.get("/api/v1/nope", None).await,
        StatusCode::NOT_FOUND,
        "route_not_found",
    );
    assert_error(
        &app.get("/api/v1/user/otp-request", None).await,
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
    );
    // None of it wrote anything or sent anything.
    assert_eq!(app.store.count_users().await.unwrap(), 0);
    assert!(app.sent().is_empty());
    app.finish().await;
}

async fn bad_tokens_are_refused(backend: Backend, name: &str) {
    let Some(app) = TestApp::spawn(backend, name, Options::default()).await else {
        return;
    };
    let good = app.otp_sign_in("+97686661488").await;
    let access = good["token"].as_str().unwrap();
    let refresh = good["refresh"].as_str().unwrap();
    // A token signed with another key, a garbage token, a refresh token used as access.
    let forged = {
        let signer = plugway_app::security::tokens::TokenSigner::new(
            &[1u8; 32],
            chrono::Duration::minutes(15),
            chrono::Duration::days(1),
        );
        let claims = {
            use base64::Engine;
            let payload = access.split('.').nth(1).unwrap();
            let v: serde_json::Value = serde_json::from_slice(
                &base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .decode(payload)
                    .unwrap(),
            )
            .unwrap();
            v
        };
        signer
            .issue(
                plugway_app::security::tokens::TokenKind::Access,
                claims["user_id"].as_str().unwrap().parse().unwrap(),
                claims["sid"].as_str().unwrap().parse().unwrap(),
                plugway_domain::TokenId(uuid::Uuid::new_v4()),
                app.clock_now(),
            )
            .unwrap()
    };
    assert_error(
        &app.get("/api/v1/user/me", Some(&forged)).await,
        StatusCode::UNAUTHORIZED,
        "invalid_token",
    );
    assert_error(
        &app.get("/api/v1/user/me", Some("abc.def.ghi")).await,
        StatusCode::UNAUTHORIZED,
        "invalid_token",
    );
    assert_error(
        &app.get("/api/v1/user/me", Some(refresh)).await,
        StatusCode::UNAUTHORIZED,
        "wrong_token_type",
    );
    let basic = read(
        app.http
            .get(app.url("/api/v1/user/me"))
            .header("authorization", "Basic dXNlcjpwYXNz")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_error(&basic, StatusCode::UNAUTHORIZED, "missing_credentials");
    // Seed 002 writes the scheme in lower case; that works.
    let lower = read(
        app.http
            .get(app.url("/api/v1/user/me"))
            .header("authorization", format!("bearer {access}"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(lower.0, StatusCode::OK);
    app.finish().await;
}

#[tokio::test]
async fn client_addresses_are_rate_limited() {
    let mut options = Options::default();
    options.settings.credential_checks_per_minute = 3;
    let app = TestApp::spawn(Backend::Sqlite, "rate", options)
        .await
        .unwrap();
    for _ in 0..3 {
        let reply = app
            .post(
                "/api/v1/user/otp-check",
                json!({"phone": "+97686661488", "code": "123456"}),
                None,
            )
            .await;
        assert_ne!(reply.0, StatusCode::TOO_MANY_REQUESTS);
    }
    let response = app
        .http
        .post(app.url("/api/v1/user/otp-check"))
        .json(&json!({"phone": "+97686661488", "code": "123456"}))
        .send()
        .await
        .unwrap();
    assert!(response.headers().contains_key("retry-after"));
    assert_error(
        &read(response).await,
        StatusCode::TOO_MANY_REQUESTS,
        "rate_limited",
    );
    app.finish().await;
}

#[tokio::test]
async fn sms_provider_failures_are_reported() {
    let options = Options {
        twilio_wrong_token: true,
        ..Options::default()
    };
    let app = TestApp::spawn(Backend::Sqlite, "sms", options)
        .await
        .unwrap();
    let reply = app
        .post(
            "/api/v1/user/otp-request",
            json!({"phone": "+97686661488"}),
            None,
        )
        .await;
    assert_error(&reply, StatusCode::BAD_GATEWAY, "sms_failed");
    app.finish().await;

    let options = Options {
        no_sms: true,
        ..Options::default()
    };
    let app = TestApp::spawn(Backend::Sqlite, "sms", options)
        .await
        .unwrap();
    let reply = app
        .post(
            "/api/v1/user/otp-request",
            json!({"phone": "+97686661488"}),
            None,
        )
        .await;
    assert_error(&reply, StatusCode::SERVICE_UNAVAILABLE, "sms_unavailable");
    app.finish().await;
}

/// A body over the limit is 413 in the face's own JSON shape wherever it is
/// sent, also where the body is read as raw bytes (a gateway's webhook, the
/// legacy face), not axum's plain-text "length limit exceeded".
#[tokio::test]
async fn oversized_bodies_get_413_in_the_face_shape() {
    let mut options = Options::default();
    options.settings.max_body_bytes = 1024;
    let app = TestApp::spawn(Backend::Sqlite, "oversized", options)
        .await
        .unwrap();
    let big = format!("{{\"x\": \"{}\"}}", "a".repeat(4096));
    for (path, field) in [
        ("/api/v1/user/otp-request", "message"),
        ("/api/v1/payments/razorpay/webhook", "message"),
        ("/host/AddCharger/?host_id=1&authkey=x", "detail"),
    ] {
        let response = app
            .http
            .post(app.url(path))
            .header("content-type", "application/json")
            .body(big.clone())
            .send()
            .await
            .unwrap();
        let (status, body) = read(response).await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{path}: {body}");
        assert_eq!(body["code"], "payload_too_large", "{path}: {body}");
        assert!(body[field].is_string(), "{path}: {body}");
    }
    app.finish().await;
}
