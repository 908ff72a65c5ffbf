//! Plugway's HTTP faces: the canonical `/api/v1` (whose paths include those of
//! seeds 001, 002 and 004), seed 003's GraphQL API and its CPO portal's REST
//! paths ([`routes::cpo_portal`]), health and metrics, and the OpenAPI
//! document generated from the handlers themselves. Handlers extract, call a
//! use case of the core (`plugway-app`) and map its answer; no rule lives
//! here.

#![cfg_attr(
    test,
    allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::indexing_slicing,
        clippy::disallowed_methods
    )
)]

pub mod auth;
pub mod console;
pub mod error;
pub mod extract;
pub mod graphql;
pub mod routes;
pub mod schemas;
pub mod telemetry;

use std::convert::Infallible;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_swagger_ui::SwaggerUi;

pub use error::{ApiError, ApiResult};
/// What every handler holds: the application core, whose use cases it calls.
pub use plugway_app::App as AppState;

/// The OpenAPI document's fixed part; paths come from the routers.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Plugway API",
        description = "The canonical API of Plugway, an open-source EV charging platform. \
            Seed contracts keep their exact paths; a trailing slash on any /api path is optional. \
            Errors are `{\"code\", \"message\"}`.",
        license(name = "Apache-2.0")
    ),
    modifiers(&BearerAuth),
    tags(
        (name = "accounts", description = "Sign-up, sign-in, sessions, phones, profile"),
        (name = "admin", description = "Back office (admins only)"),
        (name = "billing", description = "Seed 000's coupons, bills and credits; admins' coupons, credits and refunds"),
        (name = "bookings", description = "Seed 000's appointments: drivers book EVSEs for time slots; hosts see and cancel them"),
        (name = "charge points", description = "OCPP charge points: registration, state, commands"),
        (name = "crm webhooks", description = "Seed 004: the CRM's charge points and customers"),
        (name = "graphql", description = "Seed 003's GraphQL queries over locations, EVSEs and connectors"),
        (name = "discovery", description = "Drivers find chargers: map, search, detail, bookmarks, ratings"),
        (name = "network", description = "Hosts: profile, sites, EVSEs, photos, nearby places"),
        (name = "load", description = "Site load management: a site's power limit, shared among its sessions as charging profiles, and every sharing"),
        (name = "notifications", description = "Users' notifications (stored and pushed through FCM); admins send them"),
        (name = "content", description = "Seed 000's banners, app info and amenities; admins edit them"),
        (name = "operations", description = "Health, readiness, metrics"),
        (name = "plans", description = "Seed 002's subscription plans: admins' plans, drivers' purchases, cancellations and subscriptions"),
        (name = "seed 003", description = "Seed 003's REST paths (/ocpi/cpo/...) in its envelope, over the canonical services: CPO registration and username sign-in, logos, location photos, CSV import, filters, cities, pending approvals"),
        (name = "vehicles", description = "Drivers' vehicles: connectors, battery, photo, favourite")
    )
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("A JWT access token, or an API key (pwk_...)"))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "basic",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Basic)
                    .description(Some(
                        "Seed 003's Basic credentials: any user name, an API key (pwk_...) as the password",
                    ))
                    .build(),
            ),
        );
    }
}

/// All API routes with their OpenAPI document.
pub fn api_router(max_upload_bytes: usize) -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(routes::health::router())
        .merge(routes::user::router())
        .merge(routes::customer::router())
        .merge(routes::auth::router())
        .merge(routes::admin::router())
        .merge(routes::charge_points::router())
        .merge(routes::webhooks::router())
        .merge(routes::network::router(max_upload_bytes))
        .merge(routes::revisions::router())
        .merge(routes::load::router())
        .merge(routes::roaming::router())
        .merge(routes::site_import::router(max_upload_bytes))
        .merge(graphql::openapi_router())
        .merge(routes::cpo_portal::router(max_upload_bytes))
        .merge(routes::cpo_webhooks::router())
        .merge(routes::discovery::router())
        .merge(routes::charging::router())
        .merge(routes::events::router())
        .merge(routes::payments::router())
        .merge(routes::billing::router())
        .merge(routes::bookings::router())
        .merge(routes::notifications::router())
        .merge(routes::content::router(max_upload_bytes))
        .merge(routes::plans::router())
        .merge(routes::vehicles::router(max_upload_bytes))
        .merge(routes::photos::router(max_upload_bytes))
}

/// The OpenAPI document (what `/api/v1/openapi.json` serves): the API's
/// routes and seed 000's deprecated legacy calls.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let mut doc = api_router(plugway_app::AppSettings::default().max_upload_bytes)
        .split_for_parts()
        .1;
    routes::legacy::document(&mut doc);
    doc
}

/// The whole HTTP application as a router: API, docs, `extra` (routes of
/// other parts, such as the OCPP endpoint), fallbacks and the middleware stack.
pub fn build(state: AppState, extra: Router) -> Router {
    let max_body = state.settings.max_body_bytes;
    let state_for_console = state.clone();
    let (api, mut doc) = api_router(state.settings.max_upload_bytes).split_for_parts();
    routes::legacy::document(&mut doc);
    let _ = telemetry::prometheus();
    // Seed 000's legacy face calls the canonical API in-process.
    let canonical = api
        .clone()
        .with_state(state.clone())
        .layer(DefaultBodyLimit::max(max_body));
    let legacy = routes::legacy::router(state.settings.max_upload_bytes)
        .layer(axum::Extension(routes::legacy::Canonical(canonical)));
    api.merge(legacy)
        .merge(routes::ocpi::router())
        .merge(SwaggerUi::new("/docs").url("/api/v1/openapi.json", doc))
        .nest("/console", console::router(state_for_console))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state)
        .merge(extra)
        .layer(axum::middleware::from_fn(plain_errors_in_json))
        .layer(axum::middleware::from_fn(telemetry::track_http))
        .layer(DefaultBodyLimit::max(max_body))
        .layer(
            ServiceBuilder::new()
                .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
                .layer(PropagateRequestIdLayer::x_request_id())
                .layer(
                    TraceLayer::new_for_http().make_span_with(|request: &Request| {
                        let route = request
                            .extensions()
                            .get::<axum::extract::MatchedPath>()
                            .map(|p| p.as_str().to_owned());
                        let request_id = request
                            .headers()
                            .get("x-request-id")
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or_default()
                            .to_owned();
                        tracing::info_span!("http", method = %request.method(), route, request_id)
                    }),
                )
                .layer(CatchPanicLayer::custom(|_| {
                    ApiError::internal("a handler panicked").into_response()
                })),
        )
}

/// Rejections axum writes itself are plain text: a body over the limit read
/// as raw bytes (a webhook's, the legacy face's) answers "length limit
/// exceeded". Every error of the HTTP faces is JSON in the face's shape, so
/// such replies are rewritten here, with their status kept. (The OCPP
/// handshake's refusals stay plain: a charger reads only the status.)
async fn plain_errors_in_json(request: Request, next: axum::middleware::Next) -> Response {
    let path = request.uri().path();
    let legacy = routes::legacy::is_legacy_path(path);
    let ocpi = routes::ocpi::is_ocpi_path(path);
    let ocpp = path.starts_with("/ocpp/");
    let response = next.run(request).await;
    let status = response.status();
    let plain = response
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("text/plain"));
    if ocpp || !plain || !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let text = axum::body::to_bytes(response.into_body(), 4096)
        .await
        .map(|b| String::from_utf8_lossy(&b).trim().to_owned())
        .unwrap_or_default();
    let code = match status {
        StatusCode::PAYLOAD_TOO_LARGE => "payload_too_large",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        StatusCode::BAD_REQUEST => "bad_request",
        s if s.is_server_error() => "internal",
        _ => "invalid_request",
    };
    let message = match status {
        StatusCode::PAYLOAD_TOO_LARGE => "the body is too large".to_owned(),
        _ if text.is_empty() => status.canonical_reason().unwrap_or("error").to_owned(),
        _ => text,
    };
    if legacy {
        routes::legacy::error_response(status, code, message)
    } else if ocpi {
        let ocpi_status = if status.is_server_error() {
            plugway_ocpi::OcpiStatus::ServerError
        } else {
            plugway_ocpi::OcpiStatus::InvalidParameters
        };
        routes::ocpi::transport::OcpiError::new(status, ocpi_status, message).into_response()
    } else {
        ApiError::new(status, code, message).into_response()
    }
}

/// Seed 002 documents its paths with a trailing slash, and clients send them
/// either way; `/api/...` paths lose a trailing slash before routing. (Only
/// under `/api`: the docs page needs its own slash.)
pub fn strip_api_trailing_slash(mut request: Request) -> Request {
    let path = request.uri().path();
    if path.starts_with("/api/") && path.len() > 5 && path.ends_with('/') {
        let trimmed = path.trim_end_matches('/');
        let new = match request.uri().query() {
            Some(q) => format!("{trimmed}?{q}"),
            None => trimmed.to_owned(),
        };
        if let Ok(uri) = new.parse::<Uri>() {
            *request.uri_mut() = uri;
        }
    }
    request
}

/// The application as a service, with the path normalization that has to run
/// before routing.
pub fn service(
    state: AppState,
    extra: Router,
) -> impl tower::Service<Request<Body>, Response = Response, Error = Infallible, Future = impl Send>
       + Clone
       + Send {
    ServiceBuilder::new()
        .map_request(strip_api_trailing_slash)
        .service(build(state, extra))
}

/// Serves the application on `listener` until `shutdown` resolves, then
/// stops accepting and waits for in-flight requests. Client addresses reach
/// handlers (rate limits) through `ConnectInfo`.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    extra: Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    use axum::serve::ListenerExt as _;
    use tower::ServiceExt as _;
    let shutdown = close_streams_then(state.clone(), shutdown);
    let app = service(state, extra);
    let per_request = tower::service_fn(move |request: Request| app.clone().oneshot(request));
    // Small frames go out at once: without TCP_NODELAY an OCPP call written
    // while the peer still holds back its ACK of the previous one waits for
    // its delayed ACK (40 ms on Linux), which was most of a charging
    // profile's round trip. The TLS listener (`serve_tls`) sets it too.
    let listener = listener.tap_io(|tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "TCP_NODELAY not set");
        }
    });
    axum::serve(
        listener,
        axum::ServiceExt::<Request>::into_make_service_with_connect_info::<std::net::SocketAddr>(
            per_request,
        ),
    )
    .with_graceful_shutdown(shutdown)
    .await
}

/// Like [`serve`], over TLS (rustls) with a PEM certificate chain and key:
/// HTTPS, and WSS for OCPP security profile 2, on the same port.
pub async fn serve_tls(
    listener: tokio::net::TcpListener,
    cert: &std::path::Path,
    key: &std::path::Path,
    client_ca: Option<&str>,
    state: AppState,
    extra: Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    use tower::ServiceExt as _;
    // One process-wide crypto provider; a second install is a harmless no-op.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let config = axum_server::tls_rustls::RustlsConfig::from_config(std::sync::Arc::new(
        tls_config(cert, key, client_ca)?,
    ));
    let handle = axum_server::Handle::new();
    let stopper = handle.clone();
    let shutdown = close_streams_then(state.clone(), shutdown);
    tokio::spawn(async move {
        shutdown.await;
        stopper.graceful_shutdown(Some(SHUTDOWN_GRACE));
    });
    let app = service(state, extra);
    let per_request = tower::service_fn(move |request: http::Request<hyper::body::Incoming>| {
        app.clone().oneshot(request.map(Body::new))
    });
    // TCP_NODELAY as on the plain listener (see `serve`): axum-server's
    // rustls acceptor leaves it unset.
    let acceptor = axum_server::tls_rustls::RustlsAcceptor::new(config)
        .acceptor(axum_server::accept::NoDelayAcceptor::new());
    axum_server::from_tcp(listener.into_std()?)?
        .acceptor(acceptor)
        .handle(handle)
        .serve(axum::ServiceExt::<http::Request<hyper::body::Incoming>>::into_make_service_with_connect_info::<std::net::SocketAddr>(per_request))
        .await
}

/// The server's TLS configuration: its certificate chain and key (PEM
/// files), HTTP/2 and HTTP/1.1, and, with `client_ca` (PEM), client
/// certificates issued by that CA verified when a client presents one
/// (charging stations on OCPP security profile 3; browsers and apps present
/// none and are served as before). axum-server hands each request the
/// verified certificates (`axum_server::tls::TlsInfo`).
fn tls_config(
    cert: &std::path::Path,
    key: &std::path::Path,
    client_ca: Option<&str>,
) -> std::io::Result<rustls::ServerConfig> {
    use rustls::pki_types::pem::PemObject as _;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let invalid = |what: String| std::io::Error::new(std::io::ErrorKind::InvalidInput, what);
    let chain = CertificateDer::pem_file_iter(cert)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|e| invalid(format!("{}: {e}", cert.display())))?;
    let private = PrivateKeyDer::from_pem_file(key)
        .map_err(|e| invalid(format!("{}: {e}", key.display())))?;
    let builder = rustls::ServerConfig::builder();
    let builder = match client_ca {
        None => builder.with_no_client_auth(),
        Some(pem) => {
            // The issuing CA only (the file's first certificate): a chain
            // pasted after it must not make its root trusted for every
            // certificate under it.
            let mut roots = rustls::RootCertStore::empty();
            let ca = CertificateDer::pem_slice_iter(pem.as_bytes())
                .next()
                .ok_or_else(|| invalid("the station CA file has no certificate".to_owned()))?
                .map_err(|e| invalid(format!("the station CA: {e}")))?;
            roots
                .add(ca)
                .map_err(|e| invalid(format!("the station CA: {e}")))?;
            let verifier =
                rustls::server::WebPkiClientVerifier::builder(std::sync::Arc::new(roots))
                    .allow_unauthenticated()
                    .build()
                    .map_err(|e| invalid(format!("the station CA: {e}")))?;
            builder.with_client_cert_verifier(verifier)
        }
    };
    let mut config = builder
        .with_single_cert(chain, private)
        .map_err(|e| invalid(format!("the TLS certificate and key: {e}")))?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}

/// Waits for `shutdown`, then ends the live event streams: they never end
/// on their own, and graceful shutdown waits for every open request.
async fn close_streams_then(
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) {
    shutdown.await;
    state.close_live_streams();
}

async fn not_found() -> ApiError {
    ApiError::not_found("route_not_found", "no such endpoint; see /docs")
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this endpoint does not take that method",
    )
}

/// How long the server waits for in-flight requests at shutdown.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(20);
