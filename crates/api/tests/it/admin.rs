//! Roles and API keys: who may call what.

use axum::http::StatusCode;
use plugway_domain::ApiKeyRole;
use serde_json::json;

use crate::harness::{assert_error, Backend, Options, TestApp};

crate::on_both_backends!(
    admin_endpoints_admit_admins_only,
    api_keys_are_created_listed_and_revoked
);

async fn key(app: &TestApp, role: ApiKeyRole) -> String {
    crate::harness::api_key(app, role).await
}

async fn admin_endpoints_admit_admins_only(backend: Backend, name: &str) {
    let Some(app) = TestApp::spawn(backend, name, Options::default()).await else {
        return;
    };
    let driver = app.otp_sign_in("+97686661488").await;
    let driver_token = driver["token"].as_str().unwrap().to_owned();
    let admin_key = key(&app, ApiKeyRole::Admin).await;
    let integration_key = key(&app, ApiKeyRole::Integration).await;

    assert_error(
        &app.get("/api/v1/admin/users", None).await,
        StatusCode::UNAUTHORIZED,
        "missing_credentials",
    );
    assert_error(
        &app.get("/api/v1/admin/users", Some(&driver_token)).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
    assert_error(
        &app.get("/api/v1/admin/users", Some(&integration_key)).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
    // A key is not a person: person-only endpoints refuse it.
    assert_error(
        &app.get("/api/v1/user/me", Some(&admin_key)).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );

    let (status, page) = app
        .get("/api/v1/admin/users?page=1&page_size=10", Some(&admin_key))
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(page["count"], 1);
    assert!(page["next"].is_null() && page["previous"].is_null());
    assert_eq!(page["results"][0]["role"], "driver");
    let bad_page = app
        .get("/api/v1/admin/users?page=0", Some(&admin_key))
        .await;
    assert_error(&bad_page, StatusCode::UNPROCESSABLE_ENTITY, "invalid_field");
    let bad_page = app
        .get("/api/v1/admin/users?page_size=abc", Some(&admin_key))
        .await;
    assert_error(&bad_page, StatusCode::BAD_REQUEST, "invalid_query");

    // Promote the driver; the role applies to their very next request.
    let id = driver["userId"].as_str().unwrap();
    let path = format!("/api/v1/admin/users/{id}/role");
    let bad_role = app
        .http
        .put(app.url(&path))
        .bearer_auth(&admin_key)
        .json(&json!({"role": "root"}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad_role.status().as_u16(), 422);
    let promoted = app
        .http
        .put(app.url(&path))
        .bearer_auth(&admin_key)
        .json(&json!({"role": "admin"}))
        .send()
        .await
        .unwrap();
    assert_eq!(promoted.status().as_u16(), 200);
    assert_eq!(
        app.get("/api/v1/admin/users", Some(&driver_token)).await.0,
        StatusCode::OK
    );
    let missing = app
        .http
        .put(app.url("/api/v1/admin/users/00000000-0000-0000-0000-000000000000/role"))
        .bearer_auth(&admin_key)
        .json(&json!({"role": "host"}))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status().as_u16(), 404);
    app.finish().await;
}

async fn api_keys_are_created_listed_and_revoked(backend: Backend, name: &str) {
    let Some(app) = TestApp::spawn(backend, name, Options::default()).await else {
        return;
    };
    let admin_key = key(&app, ApiKeyRole::Admin).await;
    let (status, created) = app
        .post(
            "/api/v1/admin/api-keys",
            json!({"name": "zoho-crm", "role": "integration"}),
            Some(&admin_key),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let new_key = created["key"].as_str().unwrap().to_owned();
    assert!(new_key.starts_with("pwk_"));
    assert_eq!(created["role"], "integration");
    let bad = app
        .post(
            "/api/v1/admin/api-keys",
            json!({"name": "x", "role": "root"}),
            Some(&admin_key),
        )
        .await;
    assert_error(&bad, StatusCode::UNPROCESSABLE_ENTITY, "invalid_field");
    let bad = app
        .post(
            "/api/v1/admin/api-keys",
            json!({"name": " ", "role": "admin"}),
            Some(&admin_key),
        )
        .await;
    assert_error(&bad, StatusCode::UNPROCESSABLE_ENTITY, "invalid_field");

    let (status, list) = app.get("/api/v1/admin/api-keys", Some(&admin_key)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list.as_array().unwrap().len(), 2);
    assert!(
        !list.to_string().contains(&new_key),
        "secrets are never listed"
    );

    // A key that was tampered with, or revoked, is refused.
    let tampered = format!("{}x", &new_key[..new_key.len() - 1]);
    assert_error(
        &app.get("/api/v1/admin/users", Some(&tampered)).await,
        StatusCode::UNAUTHORIZED,
        "invalid_api_key",
    );
    let id = created["id"].as_str().unwrap();
    let revoked = app
        .http
        .delete(app.url(&format!("/api/v1/admin/api-keys/{id}")))
        .bearer_auth(&admin_key)
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status().as_u16(), 204);
    let again = app.get("/api/v1/admin/api-keys", Some(&new_key)).await;
    assert_error(&again, StatusCode::UNAUTHORIZED, "invalid_api_key");
    let unknown = app
        .http
        .delete(app.url("/api/v1/admin/api-keys/not-a-key"))
        .bearer_auth(&admin_key)
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status().as_u16(), 404);
    app.finish().await;
}
