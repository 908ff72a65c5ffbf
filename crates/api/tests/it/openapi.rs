//! The OpenAPI document covers every route, and every route it lists answers.

use axum::http::StatusCode;
use serde_json::{json, Value};

use crate::harness::{read, Backend, Options, TestApp};

#[tokio::test]
async fn every_documented_operation_is_routed() {
    let app = TestApp::spawn(Backend::Sqlite, "openapi", Options::default())
        .await
        .unwrap();
    let (status, doc) = app.get("/api/v1/openapi.json", None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        doc["openapi"].as_str().unwrap().starts_with("3.1"),
        "{}",
        doc["openapi"]
    );
    let paths = doc["paths"].as_object().unwrap();
    assert!(paths.len() >= 20, "only {} paths documented", paths.len());
    for (path, ops) in paths {
        let concrete = path.replace("{id}", "00000000-0000-0000-0000-000000000000");
        for method in ops.as_object().unwrap().keys() {
            let method: reqwest::Method = method.to_uppercase().parse().unwrap();
            let reply = read(
                app.http
                    .request(method.clone(), app.url(&concrete))
                    .json(&json!({}))
                    .send()
                    .await
                    .unwrap(),
            )
            .await;
            let unrouted = reply.1.get("code").and_then(Value::as_str) == Some("route_not_found")
                || reply.0 == StatusCode::METHOD_NOT_ALLOWED;
            assert!(
                !unrouted,
                "{method} {path} is documented but not routed: {:?}",
                reply
            );
        }
    }
    app.finish().await;
}

/// Routes are only ever added through utoipa-axum's `routes!`, which
/// registers the OpenAPI entry with the route. A plain `.route(` in the API
/// crate would bypass the document, so this test forbids it. The one
/// exception is seed 000's legacy face, whose router and OpenAPI entries are
/// both built from one table of calls (`legacy::calls::calls()`), so neither
/// can have a call the other lacks; `every_documented_operation_is_routed` checks
/// the document side. The other is the OCPI face (`routes/ocpi/mod.rs`):
/// OCPI 2.2.1 specifies its endpoints, and partners discover them through
/// its versions module, not OpenAPI; `ocpi::two_platforms_roam` checks that
/// every endpoint our version details announce answers. The third is the
/// operator console (`console/`, nested at `/console`): HTML pages for
/// people, not API operations; `console::an_operator_runs_the_network_from_the_console_in_a_real_browser`
/// in the binary's tests drives them.
#[test]
fn no_route_bypasses_the_openapi_document() {
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut offenders = Vec::new();
    let mut stack = vec![src];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs")
                && !path.ends_with("routes/legacy/calls.rs")
                && !path.ends_with("routes/ocpi/mod.rs")
                && !path.components().any(|c| c.as_os_str() == "console")
            {
                let text = std::fs::read_to_string(&path).unwrap();
                for (n, line) in text.lines().enumerate() {
                    if (line.contains(".route(")
                        || line.contains(".route_service(")
                        || line.contains(".nest("))
                        && !line.contains(".nest(\"/console\", console::router(")
                    {
                        offenders.push(format!("{}:{}: {}", path.display(), n + 1, line.trim()));
                    }
                }
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "routes outside the OpenAPI document:\n{}",
        offenders.join("\n")
    );
}

#[tokio::test]
async fn docs_health_readiness_and_metrics_answer() {
    let app = TestApp::spawn(Backend::Sqlite, "ops", Options::default())
        .await
        .unwrap();
    let docs = app.http.get(app.url("/docs/")).send().await.unwrap();
    assert_eq!(docs.status().as_u16(), 200);
    assert!(
        docs.text().await.unwrap().contains("swagger"),
        "the docs page is Swagger UI"
    );
    assert_eq!(
        app.get("/healthz", None).await,
        (StatusCode::OK, json!({"status": "ok"}))
    );
    assert_eq!(
        app.get("/readyz", None).await,
        (StatusCode::OK, json!({"status": "ok"}))
    );
    let response = app.http.get(app.url("/healthz")).send().await.unwrap();
    assert!(
        response.headers().contains_key("x-request-id"),
        "every reply carries a request id"
    );
    let metrics = app
        .http
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(metrics.contains("plugway_http_requests_total"), "{metrics}");
    assert!(metrics.contains("route=\"/healthz\""));
    app.finish().await;
}

/// With a metrics token, `/metrics` is only for whoever holds it.
#[tokio::test]
async fn a_metrics_token_keeps_the_metrics_private() {
    let mut options = Options::default();
    options.settings.metrics_token_digest =
        Some(plugway_domain::secret::secret_digest("scrape-me-7"));
    let app = TestApp::spawn(Backend::Sqlite, "metrics-token", options)
        .await
        .unwrap();
    let scrape = |token: Option<&str>| {
        let mut request = app.http.get(app.url("/metrics"));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send()
    };
    for wrong in [None, Some("scrape-me-8"), Some("scrape-me-7x"), Some("")] {
        let (status, body) = read(scrape(wrong).await.unwrap()).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{wrong:?}: {body}");
        assert_eq!(body["code"], "metrics_token_required");
    }
    let response = scrape(Some("scrape-me-7")).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let lower = app
        .http
        .get(app.url("/metrics"))
        .header("authorization", "bearer scrape-me-7")
        .send()
        .await
        .unwrap();
    assert_eq!(
        lower.status(),
        StatusCode::OK,
        "the scheme is case-insensitive"
    );
    assert!(response
        .text()
        .await
        .unwrap()
        .contains("plugway_http_requests_total"));
    app.finish().await;
}

/// Two types documented under one name make one of them wrong wherever it
/// is referenced; a charge point's connector status and an EVSE's connector
/// were once both `ConnectorView`.
#[test]
fn each_schema_name_describes_one_type() {
    let doc = serde_json::to_value(plugway_api::openapi()).unwrap();
    let schemas = &doc["components"]["schemas"];
    let items_ref = |schema: &str, field: &str| {
        schemas[schema]["properties"][field]["items"]["$ref"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    };
    assert_eq!(
        items_ref("ChargerView", "connectors"),
        "#/components/schemas/ConnectorStatusView"
    );
    assert_eq!(
        items_ref("EvseView", "connectors"),
        "#/components/schemas/ConnectorView"
    );
    let history = &doc["paths"]["/api/v1/charge-points/{id}/connectors/{connector_id}/history"]
        ["get"]["responses"]["200"]["content"]["application/json"]["schema"]["items"]["$ref"];
    assert_eq!(history, "#/components/schemas/ConnectorStatusView");
    assert!(schemas["ConnectorStatusView"]["properties"]["error_code"].is_object());
    assert!(schemas["ConnectorView"]["properties"]["max_power_kw"].is_object());
}
