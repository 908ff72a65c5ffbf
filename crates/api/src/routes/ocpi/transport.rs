//! OCPI 2.2.1's transport: the `Authorization: Token` header, the envelope
//! every answer is wrapped in, the status codes, the routing headers a hub
//! adds, and paging with `Link`, `X-Total-Count` and `X-Limit`.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use plugway_app::error::{AppError, ErrorKind};
use plugway_app::roaming::cpo::{Page, PageRequest};
use plugway_app::roaming::parties::{self, codes};
use plugway_ocpi::{Envelope, OcpiStatus};
use plugway_store::{OcpiParty, PartyState};
use serde::Serialize;

use crate::AppState;

/// A failed OCPI request: the HTTP status, the OCPI status, why.
#[derive(Debug)]
pub struct OcpiError {
    http: StatusCode,
    status: OcpiStatus,
    message: String,
}

impl OcpiError {
    /// An error with these statuses.
    pub fn new(http: StatusCode, status: OcpiStatus, message: impl Into<String>) -> Self {
        Self {
            http,
            status,
            message: message.into(),
        }
    }

    /// A malformed request or object: HTTP 400, OCPI 2001.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            OcpiStatus::InvalidParameters,
            message,
        )
    }

    /// No (valid) token: HTTP 401.
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, OcpiStatus::ClientError, message)
    }
}

impl From<AppError> for OcpiError {
    fn from(e: AppError) -> Self {
        let (http, status) = match (e.kind, e.code) {
            (_, "ocpi_unknown_location") => (StatusCode::NOT_FOUND, OcpiStatus::UnknownLocation),
            (_, "ocpi_unknown_token") => (StatusCode::NOT_FOUND, OcpiStatus::UnknownToken),
            (_, "ocpi_unknown_session" | "ocpi_unknown_cdr" | "ocpi_unknown_command") => {
                (StatusCode::NOT_FOUND, OcpiStatus::ClientError)
            }
            (_, "ocpi_not_enough_information") => {
                (StatusCode::BAD_REQUEST, OcpiStatus::NotEnoughInformation)
            }
            (_, codes::ALREADY_REGISTERED | codes::NOT_REGISTERED) => {
                (StatusCode::METHOD_NOT_ALLOWED, OcpiStatus::ClientError)
            }
            (_, codes::PARTNER_UNUSABLE) => {
                (StatusCode::BAD_REQUEST, OcpiStatus::UnableToUseClientApi)
            }
            (_, codes::UNSUPPORTED_VERSION) => {
                (StatusCode::BAD_REQUEST, OcpiStatus::UnsupportedVersion)
            }
            (_, codes::NO_MATCHING_ENDPOINTS) => {
                (StatusCode::BAD_REQUEST, OcpiStatus::NoMatchingEndpoints)
            }
            (ErrorKind::BadRequest | ErrorKind::InvalidField, _) => {
                (StatusCode::BAD_REQUEST, OcpiStatus::InvalidParameters)
            }
            (ErrorKind::Unauthenticated, _) => (StatusCode::UNAUTHORIZED, OcpiStatus::ClientError),
            (ErrorKind::Forbidden, _) => (StatusCode::FORBIDDEN, OcpiStatus::ClientError),
            (ErrorKind::NotFound, _) => (StatusCode::NOT_FOUND, OcpiStatus::ClientError),
            (ErrorKind::Conflict, _) => (StatusCode::CONFLICT, OcpiStatus::ClientError),
            (ErrorKind::RateLimited, _) => (StatusCode::TOO_MANY_REQUESTS, OcpiStatus::ClientError),
            (ErrorKind::TooLarge, _) => {
                (StatusCode::PAYLOAD_TOO_LARGE, OcpiStatus::InvalidParameters)
            }
            (ErrorKind::UnsupportedType, _) => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                OcpiStatus::InvalidParameters,
            ),
            (ErrorKind::Unavailable | ErrorKind::Upstream | ErrorKind::TimedOut, _) => {
                (StatusCode::SERVICE_UNAVAILABLE, OcpiStatus::ServerError)
            }
            (ErrorKind::Internal, _) => {
                (StatusCode::INTERNAL_SERVER_ERROR, OcpiStatus::ServerError)
            }
        };
        let message = if e.kind == ErrorKind::Internal {
            "internal error".to_owned()
        } else {
            e.message
        };
        Self::new(http, status, message)
    }
}

/// An answer's timestamp is the wall clock's by definition.
#[allow(clippy::disallowed_methods)]
fn now() -> DateTime<Utc> {
    Utc::now()
}

impl IntoResponse for OcpiError {
    fn into_response(self) -> Response {
        if self.http.is_server_error() {
            tracing::warn!(
                status = self.status.code(),
                message = self.message,
                "OCPI request failed"
            );
        }
        (
            self.http,
            axum::Json(Envelope::status(self.status, self.message, now())),
        )
            .into_response()
    }
}

/// A successful answer: the envelope around `data`, with extra headers.
#[derive(Debug)]
pub struct OcpiOk {
    data: Option<serde_json::Value>,
    headers: HeaderMap,
    now: DateTime<Utc>,
}

impl OcpiOk {
    /// `data` in the envelope.
    pub fn data<T: Serialize>(data: &T, now: DateTime<Utc>) -> Result<Self, OcpiError> {
        let data =
            serde_json::to_value(data).map_err(|e| OcpiError::from(AppError::internal(e)))?;
        Ok(Self {
            data: Some(data),
            headers: HeaderMap::new(),
            now,
        })
    }

    /// Success with no data.
    pub fn empty(now: DateTime<Utc>) -> Self {
        Self {
            data: None,
            headers: HeaderMap::new(),
            now,
        }
    }
}

impl IntoResponse for OcpiOk {
    fn into_response(self) -> Response {
        let envelope = Envelope {
            data: self.data,
            status_code: OcpiStatus::Success.code(),
            status_message: Some("Success".into()),
            timestamp: self.now,
        };
        (StatusCode::OK, self.headers, axum::Json(envelope)).into_response()
    }
}

/// The result of an OCPI handler.
pub type OcpiResult = Result<OcpiOk, OcpiError>;

/// The party behind a request's token, whatever its state but
/// unregistered (the versions and credentials modules take token A too),
/// with the token it presented.
#[derive(Debug)]
pub struct AnyParty(pub OcpiParty, pub String);

/// A party whose handshake is done: every other module wants one.
#[derive(Debug)]
pub struct Partner(pub OcpiParty);

fn token_of(parts: &Parts) -> Result<&str, OcpiError> {
    let header = parts
        .headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| OcpiError::unauthorized("send Authorization: Token <your token>"))?;
    let (scheme, token) = header
        .trim()
        .split_once(' ')
        .ok_or_else(|| OcpiError::unauthorized("send Authorization: Token <your token>"))?;
    if !scheme.eq_ignore_ascii_case("token") {
        return Err(OcpiError::unauthorized(
            "send Authorization: Token <your token>",
        ));
    }
    Ok(token.trim())
}

/// Checks the routing headers a hub adds: a message for another party is
/// not ours to take, and a party may speak only for itself (a hub for any
/// party behind it).
fn check_route(parts: &Parts, state: &AppState, party: &OcpiParty) -> Result<(), OcpiError> {
    let header = |name: &str| {
        parts
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    let ours = &state.settings.ocpi;
    if let (Some(cc), Some(pid)) = (header("ocpi-to-country-code"), header("ocpi-to-party-id")) {
        if !cc.eq_ignore_ascii_case(&ours.country_code) || !pid.eq_ignore_ascii_case(&ours.party_id)
        {
            return Err(OcpiError::new(
                StatusCode::NOT_FOUND,
                OcpiStatus::UnknownReceiver,
                format!("{cc}/{pid} is not a party on this platform"),
            ));
        }
    }
    if let (Some(cc), Some(pid)) = (
        header("ocpi-from-country-code"),
        header("ocpi-from-party-id"),
    ) {
        let hub = party.roles.iter().any(|r| r.role == "HUB");
        let own = party.roles.iter().any(|r| {
            r.country_code.eq_ignore_ascii_case(cc) && r.party_code.eq_ignore_ascii_case(pid)
        });
        if party.state == PartyState::Connected && !hub && !own {
            return Err(OcpiError::new(
                StatusCode::FORBIDDEN,
                OcpiStatus::ClientError,
                format!("OCPI-from {cc}/{pid} is not one of your party codes"),
            ));
        }
    }
    Ok(())
}

impl FromRequestParts<AppState> for AnyParty {
    type Rejection = OcpiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, OcpiError> {
        let token = token_of(parts)?;
        let found = parties::authenticate(state, token)
            .await?
            .ok_or_else(|| OcpiError::unauthorized("this token is unknown or no longer valid"))?;
        check_route(parts, state, &found.party)?;
        Ok(Self(found.party, found.token))
    }
}

impl FromRequestParts<AppState> for Partner {
    type Rejection = OcpiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, OcpiError> {
        let AnyParty(party, _) =
            <AnyParty as FromRequestParts<AppState>>::from_request_parts(parts, state).await?;
        if party.state != PartyState::Connected {
            return Err(OcpiError::unauthorized(
                "this token only opens the credentials handshake: register first",
            ));
        }
        Ok(Self(party))
    }
}

/// The paging and date parameters of a sender's list (read by hand, so a
/// bad value is an OCPI 2001 rather than a plain-text rejection).
pub fn page_request(query: Option<&str>) -> Result<PageRequest, OcpiError> {
    let mut request = PageRequest::default();
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query.unwrap_or_default())
        .map_err(|e| OcpiError::invalid(format!("query: {e}")))?;
    for (key, value) in pairs {
        let number = |v: &str| {
            v.parse::<i64>().ok().filter(|n| *n >= 0).ok_or_else(|| {
                OcpiError::invalid(format!("{key}: must be a whole number, 0 or more"))
            })
        };
        let time = |v: &str| {
            plugway_ocpi::time::parse(v)
                .ok_or_else(|| OcpiError::invalid(format!("{key}: must be an RFC 3339 timestamp")))
        };
        match key.as_str() {
            "offset" => request.offset = number(&value)?,
            "limit" => request.limit = Some(number(&value)?),
            "date_from" => request.date_from = Some(time(&value)?),
            "date_to" => request.date_to = Some(time(&value)?),
            _ => {}
        }
    }
    Ok(request)
}

/// A page as OCPI sends it: the objects, `X-Total-Count`, `X-Limit`, and a
/// `Link` to the next page while there is one.
pub fn paged<T: Serialize>(
    state: &AppState,
    path: &str,
    request: PageRequest,
    page: Page<T>,
) -> OcpiResult {
    let count = i64::try_from(page.items.len()).unwrap_or(i64::MAX);
    let mut ok = OcpiOk::data(&page.items, state.clock.now())?;
    let header = |v: String| HeaderValue::from_str(&v).ok();
    if let Some(total) = header(page.total.to_string()) {
        ok.headers.insert("x-total-count", total);
    }
    if let Some(limit) = header(page.limit.to_string()) {
        ok.headers.insert("x-limit", limit);
    }
    let next = page.offset.saturating_add(count);
    if count > 0 && next < page.total {
        let mut query = vec![
            ("offset", next.to_string()),
            ("limit", page.limit.to_string()),
        ];
        if let Some(from) = request.date_from {
            query.push(("date_from", plugway_ocpi::time::format(from)));
        }
        if let Some(to) = request.date_to {
            query.push(("date_to", plugway_ocpi::time::format(to)));
        }
        let query = serde_urlencoded::to_string(query).unwrap_or_default();
        let url = format!("{}{path}?{query}", state.settings.ocpi.public_url);
        if let Some(link) = header(format!("<{url}>; rel=\"next\"")) {
            ok.headers.insert("link", link);
        }
    }
    Ok(ok)
}

/// Reads a JSON body by hand, so malformed JSON is an OCPI 2001.
pub fn json_body(bytes: &[u8]) -> Result<serde_json::Value, OcpiError> {
    serde_json::from_slice(bytes)
        .map_err(|e| OcpiError::invalid(format!("the body is not JSON: {e}")))
}

/// Echoes `X-Correlation-ID` (or, when the caller sent none, the request
/// id) on every OCPI answer, as 2.2.1 asks.
pub async fn correlation(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let correlation = request
        .headers()
        .get("x-correlation-id")
        .or_else(|| request.headers().get("x-request-id"))
        .cloned();
    let mut response = next.run(request).await;
    if let Some(value) = correlation {
        response.headers_mut().insert("x-correlation-id", value);
    }
    response
}

/// The envelope for paths under `/ocpi/` that name no module.
pub async fn unknown_path() -> OcpiError {
    OcpiError::new(
        StatusCode::NOT_FOUND,
        OcpiStatus::ClientError,
        "no OCPI endpoint here: see /ocpi/versions",
    )
}
