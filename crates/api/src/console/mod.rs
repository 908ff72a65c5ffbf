//! The operator console: HTML pages for the people who run the network,
//! served by the binary itself at `/console` (docs/console.md).
//!
//! Server-rendered with maud; live parts are htmx fragments that poll, so
//! any node of a cluster can answer them. Static files (htmx, Leaflet, the
//! console's own CSS and JS) are embedded in the binary.
//!
//! Who sees what is decided by the core, as on every face: an admin
//! manages everything, a host only its own sites and chargers
//! ([`plugway_app::access::Manager`]); someone else's resource answers "not
//! found". Every state-changing request is a POST carrying the session's
//! CSRF token, and the cookie is `SameSite=Strict` besides.

mod assets;
mod auth;
mod chargers;
mod layout;
mod money;
mod people;
mod review;
mod sessions;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use axum_extra::extract::CookieJar;
use plugway_app::access::Manager;
use plugway_domain::{Role, SessionId};
use plugway_store::User;

use crate::error::ApiError;
use crate::AppState;

/// The session cookie's name.
const COOKIE: &str = "plugway_console";

/// The console's routes (merged into the application beside the API).
pub fn router(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/", get(auth::home))
        .route("/sign-in", post(auth::sign_in))
        .route("/sign-out", post(auth::sign_out))
        .route("/assets/{file}", get(assets::serve))
        .route("/chargers", get(chargers::list))
        .route("/chargers-table", get(chargers::table))
        .route("/map-data", get(chargers::map_data))
        .route("/refused-connections", get(chargers::refused))
        .route("/chargers/{id}", get(chargers::page))
        .route("/chargers/{id}/state", get(chargers::state_fragment))
        .route("/chargers/{id}/log", get(chargers::log_fragment))
        .route("/chargers/{id}/commands", post(chargers::command))
        .route("/sessions", get(sessions::page))
        .route("/sessions/active", get(sessions::active_fragment))
        .route("/sessions/{id}", get(sessions::detail))
        .route("/approvals", get(review::page))
        .route("/approvals/sites/{id}", post(review::decide_site))
        .route("/approvals/evses/{id}", post(review::decide_evse))
        .route(
            "/approvals/revisions/{kind}/{id}",
            post(review::decide_revision),
        )
        .route("/people", get(people::list))
        .route("/people/{id}", get(people::detail))
        .route("/purchases/{id}/refund", post(people::refund))
        .route("/money", get(money::page))
        .route("/roaming", get(money::roaming))
        .fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(
            state,
            security_headers,
        ))
}

/// What every console answer carries: a content security policy (scripts
/// only from the console's own files; images also from the map's tile
/// server), no framing, no referrer, and no caching of pages that show
/// people's data.
async fn security_headers(
    axum::extract::State(state): axum::extract::State<AppState>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    // Nested at /console, the path seen here has lost that prefix.
    let path = request.uri().path();
    let asset = path.starts_with("/assets/") || path.starts_with("/console/assets/");
    let mut response = next.run(request).await;
    let tiles = state.settings.console.tile_origin().unwrap_or_default();
    let policy = format!(
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
         img-src 'self' data: {tiles}; connect-src 'self'; frame-ancestors 'none'; \
         form-action 'self'; base-uri 'none'"
    );
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&policy) {
        headers.insert("content-security-policy", value);
    }
    headers.insert("x-frame-options", HeaderValue::from_static("DENY"));
    headers.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
    headers.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    if !asset {
        headers.insert("cache-control", HeaderValue::from_static("no-store"));
    }
    response
}

async fn not_found(person: Option<Person>) -> Response {
    ConsoleError::new(
        StatusCode::NOT_FOUND,
        "There is no such page in the console.",
    )
    .page(person.as_ref())
}

/// A signed-in person of the console, with the session's CSRF token.
#[derive(Debug, Clone)]
pub struct Person {
    /// The account as it is now (a role change applies at once).
    pub user: User,
    /// The console session.
    pub session: SessionId,
    /// What every form of this session must send back.
    pub csrf: String,
}

impl Person {
    /// What this person manages.
    pub fn manager(&self) -> Manager {
        match self.user.role {
            Role::Admin => Manager::Admin,
            _ => Manager::Host(self.user.id),
        }
    }

    /// Whether this person is an admin.
    pub fn is_admin(&self) -> bool {
        self.user.role == Role::Admin
    }

    /// How the header names this person.
    pub fn label(&self) -> String {
        self.user
            .username
            .as_ref()
            .map(|u| u.as_str().to_owned())
            .or_else(|| self.user.name.clone())
            .unwrap_or_else(|| self.user.id.to_text())
    }

    /// Refuses a request whose CSRF token is not this session's.
    pub fn check_csrf(&self, state: &AppState, presented: &str) -> Result<(), ConsoleError> {
        if state.tokens.csrf_matches(self.session, presented) {
            Ok(())
        } else {
            metrics::counter!("plugway_console_csrf_refused_total").increment(1);
            Err(ConsoleError::new(
                StatusCode::FORBIDDEN,
                "This form is stale or did not come from the console (its CSRF token is missing or wrong). Reload the page and try again.",
            ))
        }
    }

    /// A page of `section` titled `title`, or the failure as a page.
    pub fn page(&self, title: &str, section: &str, body: ConsoleResult<maud::Markup>) -> Response {
        match body {
            Ok(body) => layout::page(Some(self), title, section, body).into_response(),
            Err(e) => e.page(Some(self)),
        }
    }

    /// Refuses a person who is not an admin (as "not found", like the API).
    pub fn require_admin(&self) -> Result<(), ConsoleError> {
        if self.is_admin() {
            Ok(())
        } else {
            Err(ConsoleError::new(
                StatusCode::NOT_FOUND,
                "There is no such page in the console.",
            ))
        }
    }
}

impl FromRequestParts<AppState> for Person {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let jar = CookieJar::from_headers(&parts.headers);
        let signed_out = || sign_in_again(&parts.headers);
        let token = jar.get(COOKIE).map(|c| c.value().to_owned());
        let Some(token) = token else {
            return Err(signed_out());
        };
        match plugway_app::accounts::console_holder(state, &token).await {
            Ok((user, session)) => Ok(Self {
                csrf: state.tokens.csrf_token(session),
                user,
                session,
            }),
            // Ended, expired, or no longer allowed in (a role or password
            // change): the sign-in page says why on the next attempt.
            Err(e)
                if matches!(
                    e.kind,
                    plugway_app::ErrorKind::Unauthenticated | plugway_app::ErrorKind::Forbidden
                ) =>
            {
                Err(signed_out())
            }
            Err(e) => Err(ConsoleError::from(ApiError::from(e)).page(None)),
        }
    }
}

impl axum::extract::OptionalFromRequestParts<AppState> for Person {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Option<Self>, Self::Rejection> {
        Ok(
            <Self as FromRequestParts<AppState>>::from_request_parts(parts, state)
                .await
                .ok(),
        )
    }
}

/// Whether a request was made by htmx (a fragment, not a page).
fn is_htmx(headers: &HeaderMap) -> bool {
    headers.contains_key("hx-request")
}

/// Without a (live) session: pages go to the sign-in page; an htmx fragment
/// asks the browser to go there (a fragment cannot show a form).
fn sign_in_again(headers: &HeaderMap) -> Response {
    if is_htmx(headers) {
        let mut response = StatusCode::UNAUTHORIZED.into_response();
        response
            .headers_mut()
            .insert("hx-redirect", HeaderValue::from_static("/console"));
        response
    } else {
        Redirect::to("/console").into_response()
    }
}

/// A failure shown as a page (or, for htmx, as a fragment in place).
#[derive(Debug)]
pub struct ConsoleError {
    pub(super) status: StatusCode,
    pub(super) message: String,
}

impl ConsoleError {
    /// A failure with what to tell the person.
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
        }
    }

    /// The failure as a whole page.
    pub fn page(self, person: Option<&Person>) -> Response {
        let status = self.status;
        let body = layout::page(
            person,
            "Error",
            "",
            maud::html! {
                h1 { (status.canonical_reason().unwrap_or("Error")) }
                p.error role="alert" { (self.message) }
                p { a href="/console" { "Back to the console" } }
            },
        );
        (status, body).into_response()
    }

    /// The failure as a fragment: an alert where the answer would go.
    pub fn fragment(self) -> Response {
        (
            self.status,
            maud::html! { p.error role="alert" { (self.message) } },
        )
            .into_response()
    }
}

impl From<ApiError> for ConsoleError {
    fn from(e: ApiError) -> Self {
        // The API's message is written for people already; internal causes
        // never reach it (ApiError logs and hides them).
        Self::new(e.status, e.message)
    }
}

impl From<plugway_app::AppError> for ConsoleError {
    fn from(e: plugway_app::AppError) -> Self {
        ApiError::from(e).into()
    }
}

impl From<plugway_store::StoreError> for ConsoleError {
    fn from(e: plugway_store::StoreError) -> Self {
        ApiError::from(e).into()
    }
}

impl IntoResponse for ConsoleError {
    fn into_response(self) -> Response {
        self.page(None)
    }
}

/// A console handler's result: a page or fragment, or the failure.
pub type ConsoleResult<T = Response> = Result<T, ConsoleError>;

/// A live fragment, or the failure in its place.
pub fn fragment(body: ConsoleResult<maud::Markup>) -> Response {
    match body {
        Ok(markup) => markup.into_response(),
        Err(e) => e.fragment(),
    }
}

/// A `?page=` value as a page number: 1 or more; anything else is the first.
pub fn page_number(raw: Option<&str>) -> i64 {
    raw.and_then(|p| p.parse::<i64>().ok())
        .filter(|p| (1..=1_000_000).contains(p))
        .unwrap_or(1)
}

/// Energy for people: kWh with Wh precision.
pub fn kwh(wh: i64) -> String {
    format!("{:.3} kWh", wh as f64 / 1000.0)
}

/// An amount in minor units, written in major units with its currency.
pub fn money(minor: i64, currency: plugway_domain::Currency) -> String {
    format!("{} {}", currency.to_major(minor), currency.code())
}

/// Formats a time for people: UTC, to the second.
pub fn when(at: chrono::DateTime<chrono::Utc>) -> String {
    at.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

/// "3 s ago", "5 min ago"...: how long since, for live tables.
pub fn ago(now: chrono::DateTime<chrono::Utc>, at: chrono::DateTime<chrono::Utc>) -> String {
    let secs = (now - at).num_seconds().max(0);
    match secs {
        0..=59 => format!("{secs} s ago"),
        60..=3599 => format!("{} min ago", secs / 60),
        3600..=86_399 => format!("{} h ago", secs / 3600),
        _ => format!("{} d ago", secs / 86_400),
    }
}
