//! Seed 001's sign-in and profile, exactly as its document shows.

use axum::http::StatusCode;
use chrono::Duration;
use serde_json::json;

use crate::harness::{assert_error, Backend, Options, TestApp};

crate::on_both_backends!(
    otp_sign_in_creates_the_account_once,
    profile_updates_show_in_me,
    wrong_codes_are_limited_per_code,
    codes_expire_and_are_single_use,
    sending_is_cooled_down_and_capped,
    dev_mode_accepts_0000_with_the_same_limits,
    racing_first_sign_ins_make_one_account,
    referral_codes_apply_once,
    without_per_user_nats_credentials_the_object_names_server_and_topic,
);

const PHONE: &str = "+97686661488";

async fn otp_sign_in_creates_the_account_once(backend: Backend, name: &str) {
    let Some(app) = TestApp::spawn(backend, name, Options::default()).await else {
        return;
    };
    // The seed's own example format: spaces, international.
    let (status, body) = app
        .post(
            "/api/v1/user/otp-request",
            json!({"phone": "+976 8666 1488"}),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(app.sent().len(), 1);
    assert_eq!(app.sent()[0].to, PHONE, "normalized to E.164");
    let code = app.last_code(PHONE);
    assert_eq!(code.len(), 6);
    let (status, first) = app
        .post(
            "/api/v1/user/otp-check",
            json!({"phone": "+976 8666 1488", "code": code}),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{first}");
    assert!(
        first["token"].as_str().unwrap().split('.').count() == 3,
        "a JWT"
    );
    assert_eq!(
        first["profile"],
        json!({"name": "", "email": "", "phone": PHONE, "balance": 0.0,
               "photo": "/api/v1/media/defaults/user.png"})
    );
    let id = first["userId"].as_str().unwrap();
    assert_eq!(
        first["nats"],
        json!({"servers": "", "topic": format!("user.{id}"), "user": "", "pass": ""}),
        "no NATS configured: the object is there, with no server and no credentials"
    );
    assert!(first.get("device").is_none(), "no device in use");

    // Signing in again, the number written another way, is the same account.
    app.clock.advance(Duration::seconds(31));
    let code = app.request_code("+97686661488", PHONE).await;
    let (_, second) = app
        .post(
            "/api/v1/user/otp-check",
            json!({"phone": "+976-8666-1488", "code": code}),
            None,
        )
        .await;
    assert_eq!(second["userId"], first["userId"]);
    assert_eq!(app.store.count_users().await.unwrap(), 1);

    // /user/me: POST as the seed says (GET too), with a fresh token.
    let token = first["token"].as_str().unwrap();
    let (status, me) = app.post("/api/v1/user/me", json!({}), Some(token)).await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_eq!(me["profile"]["phone"], PHONE);
    assert!(me["token"].as_str().is_some_and(|t| t != token));
    let (status, me_get) = app
        .get("/api/v1/user/me", Some(me["token"].as_str().unwrap()))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me_get["userId"], first["userId"]);
    app.finish().await;
}

async fn profile_updates_show_in_me(backend: Backend, name: &str) {
    let Some(app) = TestApp::spawn(backend, name, Options::default()).await else {
        return;
    };
    let token = app.otp_sign_in(PHONE).await["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, body) = app
        .post(
            "/api/v1/customer/update-info",
            json!({"name": " Bat ", "email": "Bat@Example.MN"}),
            Some(&token),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, me) = app.post("/api/v1/user/me", json!({}), Some(&token)).await;
    assert_eq!(me["profile"]["name"], "Bat");
    assert_eq!(me["profile"]["email"], "Bat@example.mn");
    let bad = app
        .post(
            "/api/v1/customer/update-info",
            json!({"name": "Bat", "email": "not-an-email"}),
            Some(&token),
        )
        .await;
    assert_error(&bad, StatusCode::UNPROCESSABLE_ENTITY, "invalid_field");
    let (_, me) = app.post("/api/v1/user/me", json!({}), Some(&token)).await;
    assert_eq!(
        me["profile"]["email"], "Bat@example.mn",
        "a refused update changes nothing"
    );

    let (status, _) = app
        .post(
            "/api/v1/customer/update-notification-token",
            json!({"FCMToken": "fcm-token-1"}),
            Some(&token),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let user_id = me["userId"].as_str().unwrap().parse().unwrap();
    assert_eq!(
        app.store.list_push_tokens(user_id).await.unwrap(),
        vec!["fcm-token-1".to_owned()]
    );
    let bad = app
        .post(
            "/api/v1/customer/update-notification-token",
            json!({"FCMToken": ""}),
            Some(&token),
        )
        .await;
    assert_error(&bad, StatusCode::UNPROCESSABLE_ENTITY, "invalid_field");
    assert_error(
        &app.post("/api/v1/customer/update-info", json!({"name": "x"}), None)
            .await,
        StatusCode::UNAUTHORIZED,
        "missing_credentials",
    );
    app.finish().await;
}

async fn wrong_codes_are_limited_per_code(backend: Backend, name: &str) {
    let Some(app) = TestApp::spawn(backend, name, Options::default()).await else {
        return;
    };
    let code = app.request_code(PHONE, PHONE).await;
    let wrong = if code == "111111" { "222222" } else { "111111" };
    for left in (0..5).rev() {
        let reply = app
            .post(
                "/api/v1/user/otp-check",
                json!({"phone": PHONE, "code": wrong}),
                None,
            )
            .await;
        assert_error(&reply, StatusCode::BAD_REQUEST, "otp_invalid");
        assert!(reply.1["message"]
            .as_str()
            .unwrap()
            .contains(&format!("{left} tries left")));
    }
    // The sixth try is refused even with the right code: the code is burned.
    let reply = app
        .post(
            "/api/v1/user/otp-check",
            json!({"phone": PHONE, "code": code}),
            None,
        )
        .await;
    assert_error(
        &reply,
        StatusCode::TOO_MANY_REQUESTS,
        "otp_attempts_exhausted",
    );
    assert_eq!(
        app.store.count_users().await.unwrap(),
        0,
        "no account from a failed sign-in"
    );
    // A new code works.
    app.clock.advance(Duration::seconds(31));
    let code = app.request_code(PHONE, PHONE).await;
    let (status, _) = app
        .post(
            "/api/v1/user/otp-check",
            json!({"phone": PHONE, "code": code}),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    app.finish().await;
}

async fn codes_expire_and_are_single_use(backend: Backend, name: &str) {
    let Some(app) = TestApp::spawn(backend, name, Options::default()).await else {
        return;
    };
    let code = app.request_code(PHONE, PHONE).await;
    app.clock
        .advance(Duration::minutes(5) + Duration::seconds(1));
    let reply = app
        .post(
            "/api/v1/user/otp-check",
            json!({"phone": PHONE, "code": code}),
            None,
        )
        .await;
    assert_error(&reply, StatusCode::BAD_REQUEST, "otp_expired");

    let code = app.request_code(PHONE, PHONE).await;
    let (status, _) = app
        .post(
            "/api/v1/user/otp-check",
            json!({"phone": PHONE, "code": code}),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let reply = app
        .post(
            "/api/v1/user/otp-check",
            json!({"phone": PHONE, "code": code}),
            None,
        )
        .await;
    assert_error(&reply, StatusCode::BAD_REQUEST, "otp_invalid");
    // A code sent to one phone is worthless for another.
    app.clock.advance(Duration::seconds(31));
    let code = app.request_code(PHONE, PHONE).await;
    let _ = app.request_code("+97686661489", "+97686661489").await;
    let reply = app
        .post(
            "/api/v1/user/otp-check",
            json!({"phone": "+97686661489", "code": code}),
            None,
        )
        .await;
    assert_eq!(reply.0, StatusCode::BAD_REQUEST, "{}", reply.1);
    app.finish().await;
}

async fn sending_is_cooled_down_and_capped(backend: Backend, name: &str) {
    let Some(app) = TestApp::spawn(backend, name, Options::default()).await else {
        return;
    };
    app.request_code(PHONE, PHONE).await;
    let reply = app
        .post("/api/v1/user/otp-request", json!({"phone": PHONE}), None)
        .await;
    assert_error(&reply, StatusCode::TOO_MANY_REQUESTS, "otp_cooldown");
    let response = app
        .http
        .post(app.url("/api/v1/user/otp-request"))
        .json(&json!({"phone": PHONE}))
        .send()
        .await
        .unwrap();
    let retry: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=31).contains(&retry), "Retry-After {retry}");
    assert_eq!(app.sent().len(), 1, "refused requests send nothing");
    for _ in 0..4 {
        app.clock.advance(Duration::seconds(31));
        app.request_code(PHONE, PHONE).await;
    }
    app.clock.advance(Duration::seconds(31));
    let reply = app
        .post("/api/v1/user/otp-request", json!({"phone": PHONE}), None)
        .await;
    assert_error(&reply, StatusCode::TOO_MANY_REQUESTS, "otp_hourly_limit");
    app.clock.advance(Duration::hours(1));
    app.request_code(PHONE, PHONE).await;
    assert_eq!(app.sent().len(), 6);
    app.finish().await;
}

async fn dev_mode_accepts_0000_with_the_same_limits(backend: Backend, name: &str) {
    let mut options = Options::default();
    options.settings.dev = true;
    let Some(app) = TestApp::spawn(backend, name, options).await else {
        return;
    };
    // The bypass needs a live code, like a real one.
    let reply = app
        .post(
            "/api/v1/user/otp-check",
            json!({"phone": PHONE, "code": "0000"}),
            None,
        )
        .await;
    assert_error(&reply, StatusCode::BAD_REQUEST, "otp_invalid");
    app.request_code(PHONE, PHONE).await;
    for _ in 0..5 {
        let reply = app
            .post(
                "/api/v1/user/otp-check",
                json!({"phone": PHONE, "code": "1234"}),
                None,
            )
            .await;
        assert_error(&reply, StatusCode::BAD_REQUEST, "otp_invalid");
    }
    let reply = app
        .post(
            "/api/v1/user/otp-check",
            json!({"phone": PHONE, "code": "0000"}),
            None,
        )
        .await;
    assert_error(
        &reply,
        StatusCode::TOO_MANY_REQUESTS,
        "otp_attempts_exhausted",
    );
    app.clock.advance(Duration::seconds(31));
    app.request_code(PHONE, PHONE).await;
    let (status, body) = app
        .post(
            "/api/v1/user/otp-check",
            json!({"phone": PHONE, "code": "0000"}),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    app.finish().await;

    // Outside dev mode 0000 is just a wrong code.
    let Some(app) = TestApp::spawn(backend, name, Options::default()).await else {
        return;
    };
    app.request_code(PHONE, PHONE).await;
    let reply = app
        .post(
            "/api/v1/user/otp-check",
            json!({"phone": PHONE, "code": "0000"}),
            None,
        )
        .await;
    assert_error(&reply, StatusCode::BAD_REQUEST, "otp_invalid");
    app.finish().await;
}

async fn racing_first_sign_ins_make_one_account(backend: Backend, name: &str) {
    let Some(app) = TestApp::spawn(backend, name, Options::default()).await else {
        return;
    };
    app.request_code(PHONE, PHONE).await;
    let code = app.last_code(PHONE);
    // The same code, six times at once: one wins, the rest see it used.
    let replies = futures::future::join_all((0..6).map(|_| {
        app.post(
            "/api/v1/user/otp-check",
            json!({"phone": PHONE, "code": code}),
            None,
        )
    }))
    .await;
    assert_eq!(
        replies.iter().filter(|r| r.0 == StatusCode::OK).count(),
        1,
        "{replies:?}"
    );
    assert_eq!(app.store.count_users().await.unwrap(), 1);
    app.finish().await;
}

async fn referral_codes_apply_once(backend: Backend, name: &str) {
    let Some(app) = TestApp::spawn(backend, name, Options::default()).await else {
        return;
    };
    let ann = app.otp_sign_in(PHONE).await["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let bob = app.otp_sign_in("+97686661489").await["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, ann_ref) = app.get("/api/v1/user/referral", Some(&ann)).await;
    assert_eq!(status, StatusCode::OK);
    let ann_code = ann_ref["referral_code"].as_str().unwrap().to_owned();
    assert_eq!(ann_code.len(), 8);
    assert!(ann_ref["referred_by"].is_null());

    let own = app
        .post(
            "/api/v1/user/referral",
            json!({"referral_code": ann_code}),
            Some(&ann),
        )
        .await;
    assert_error(&own, StatusCode::UNPROCESSABLE_ENTITY, "invalid_field");
    let unknown = app
        .post(
            "/api/v1/user/referral",
            json!({"referral_code": "ZZZZZZZZ"}),
            Some(&bob),
        )
        .await;
    assert_error(&unknown, StatusCode::NOT_FOUND, "referral_code_not_found");
    let malformed = app
        .post(
            "/api/v1/user/referral",
            json!({"referral_code": "nope"}),
            Some(&bob),
        )
        .await;
    assert_error(
        &malformed,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_field",
    );
    let (status, applied) = app
        .post(
            "/api/v1/user/referral",
            json!({"referral_code": ann_code.to_lowercase()}),
            Some(&bob),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{applied}");
    assert_eq!(applied["referred_by"], ann_ref_user(&app, &ann).await);
    let again = app
        .post(
            "/api/v1/user/referral",
            json!({"referral_code": ann_code}),
            Some(&bob),
        )
        .await;
    assert_error(&again, StatusCode::CONFLICT, "referral_already_applied");
    app.finish().await;
}

async fn ann_ref_user(app: &TestApp, token: &str) -> serde_json::Value {
    app.post("/api/v1/user/me", json!({}), Some(token)).await.1["userId"].clone()
}

async fn without_per_user_nats_credentials_the_object_names_server_and_topic(
    backend: Backend,
    name: &str,
) {
    let options = Options {
        nats: Some(plugway_app::NatsAccess {
            servers: "nats://events.example.com:4222".into(),
            prefix: "plugway".into(),
            signer: None,
            ttl: std::time::Duration::from_secs(3600),
        }),
        ..Options::default()
    };
    let Some(app) = TestApp::spawn(backend, name, options).await else {
        return;
    };
    let driver = app.otp_sign_in(PHONE).await;
    let id = driver["userId"].as_str().unwrap();
    assert_eq!(
        driver["nats"],
        json!({"servers": "nats://events.example.com:4222",
               "topic": format!("plugway.user.{id}"), "user": "", "pass": ""})
    );
    let token = driver["token"].as_str().unwrap();
    let (status, me) = app.get("/api/v1/user/me", Some(token)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["nats"], driver["nats"], "/user/me gives the same object");
}
