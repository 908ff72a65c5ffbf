//! Seed 000's legacy face: the customer and host apps' calls
//! (`/customer/SendOtp/`, `/host/AddCharger/`, ...) at their literal paths,
//! with the document's query parameters, field names and integer ids.
//!
//! It is a thin face and writes no rule of its own: each call signs in with
//! the `authkey`, turns the seed's numbers into the canonical UUIDs (public
//! numbers, `plugway_store::NumberStore`), and calls the canonical API
//! in-process with a short-lived access token of the authkey's session —
//! the same handlers, validation, authorization and ledger as every other
//! client. Replies come back with the seed's numbers in place of UUIDs and
//! errors in Django REST's shape (`{"detail": ..., "code": ...}`).
//!
//! Deprecated: marked so in the OpenAPI document and kept out of new
//! features. `docs/legacy-seed-000.md` lists each call, what it maps to, and
//! where the face keeps the call but not the power the document gave it.

mod calls;
mod forms;

use std::collections::HashMap;
use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::{ConnectInfo, FromRequestParts, Query};
use axum::http::{header, request::Parts, HeaderValue, Method, Request, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Router};
use plugway_domain::{Role, SessionId, UserId};
use plugway_store::{NumberKind, User};
use serde_json::{json, Map, Value};
use tower::ServiceExt;

use crate::error::ApiError;
use crate::extract::ClientIp;
use crate::AppState;

pub use calls::{document, router};

/// The canonical API, with its state, that the face calls in-process.
#[derive(Clone, Debug)]
pub struct Canonical(pub Router);

/// An error in the face's style: Django REST's `{"detail": ...}`, with the
/// canonical `code` (and the field at fault) beside it.
#[derive(Debug)]
pub struct LegacyError {
    status: StatusCode,
    code: String,
    detail: String,
    field: Option<String>,
}

impl LegacyError {
    fn new(status: StatusCode, code: &str, detail: impl Into<String>) -> Self {
        Self {
            status,
            code: code.to_owned(),
            detail: detail.into(),
            field: None,
        }
    }

    /// 400 for a missing or malformed parameter or field.
    pub fn bad(field: &str, detail: impl Into<String>) -> Self {
        Self {
            field: Some(field.to_owned()),
            ..Self::new(StatusCode::BAD_REQUEST, "invalid", detail)
        }
    }

    /// 404 "Not found.".
    pub fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", "Not found.")
    }

    /// 403: the document allows it, Plugway does not (see the face's docs).
    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "permission_denied", detail)
    }
}

impl From<ApiError> for LegacyError {
    fn from(e: ApiError) -> Self {
        Self {
            status: e.status,
            code: e.code.to_owned(),
            detail: e.message,
            field: e.field.map(std::borrow::Cow::into_owned),
        }
    }
}

impl From<plugway_app::AppError> for LegacyError {
    fn from(e: plugway_app::AppError) -> Self {
        ApiError::from(e).into()
    }
}

impl From<plugway_store::StoreError> for LegacyError {
    fn from(e: plugway_store::StoreError) -> Self {
        ApiError::from(e).into()
    }
}

impl IntoResponse for LegacyError {
    fn into_response(self) -> Response {
        let mut body = json!({"detail": self.detail, "code": self.code});
        if let Some(field) = self.field {
            // Django REST names the field with a list of its errors.
            put(&mut body, &field, json!([self.detail]));
        }
        (self.status, axum::Json(body)).into_response()
    }
}

/// Whether `path` is one of the face's (`/customer/...`, `/host/...`).
pub fn is_legacy_path(path: &str) -> bool {
    path.starts_with("/customer/") || path.starts_with("/host/")
}

/// An error in the face's shape, for replies written outside its handlers.
pub fn error_response(status: StatusCode, code: &str, detail: impl Into<String>) -> Response {
    LegacyError::new(status, code, detail).into_response()
}

/// Replies of the face.
pub type LegacyResult<T = Response> = Result<T, LegacyError>;

/// The query string as the document spells it.
#[derive(Debug, Clone, Default)]
pub struct Params(pub HashMap<String, String>);

impl<S: Send + Sync> FromRequestParts<S> for Params {
    type Rejection = LegacyError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Query(map) = Query::<HashMap<String, String>>::from_request_parts(parts, state)
            .await
            .map_err(|_| LegacyError::bad("query", "the query string cannot be read"))?;
        Ok(Self(map))
    }
}

impl Params {
    /// A required parameter.
    pub fn text(&self, name: &str) -> LegacyResult<&str> {
        self.0
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.trim().is_empty())
            .ok_or_else(|| LegacyError::bad(name, "This query parameter is required."))
    }

    /// A required integer id.
    pub fn number(&self, name: &str) -> LegacyResult<i64> {
        self.text(name)?
            .trim()
            .parse()
            .map_err(|_| LegacyError::bad(name, "A valid integer is required."))
    }
}

/// The caller, proven by `authkey` and matching the account id the call
/// names (`customer_id` or `host_id`).
#[derive(Debug, Clone)]
pub struct Caller {
    /// The account.
    pub user: User,
    /// Its public number.
    pub number: i64,
    /// The authkey's session.
    pub session: SessionId,
}

/// Everything a call needs: the state, the canonical API and the client.
#[derive(Clone)]
pub struct Face {
    /// The application.
    pub state: AppState,
    canonical: Router,
    peer: SocketAddr,
}

impl std::fmt::Debug for Face {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Face")
            .field("peer", &self.peer)
            .finish_non_exhaustive()
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Face
where
    AppState: axum::extract::FromRef<S>,
{
    type Rejection = LegacyError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Extension(Canonical(canonical)) =
            Extension::<Canonical>::from_request_parts(parts, state)
                .await
                .map_err(|_| {
                    LegacyError::new(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "internal",
                        "the legacy face is not wired",
                    )
                })?;
        let ClientIp(ip) = ClientIp::from_request_parts(parts, state).await?;
        Ok(Self {
            state: <AppState as axum::extract::FromRef<S>>::from_ref(state),
            canonical,
            peer: SocketAddr::new(ip, 0),
        })
    }
}

impl Face {
    /// The client's address (for the canonical rate limits).
    pub fn peer_ip(&self) -> std::net::IpAddr {
        self.peer.ip()
    }

    /// Proves the caller: `authkey` names a live session, and `id_param`
    /// (the document's `customer_id` or `host_id`) is that session's
    /// account. Another account's authkey is 403 whatever the id says; the
    /// host app takes hosts only.
    pub async fn caller(&self, params: &Params, id_param: &str) -> LegacyResult<Caller> {
        let key = params
            .0
            .get("authkey")
            .map(String::as_str)
            .unwrap_or_default();
        if key.is_empty() {
            return Err(LegacyError::new(
                StatusCode::UNAUTHORIZED,
                "not_authenticated",
                "Authentication credentials were not provided.",
            ));
        }
        let (user, session) = plugway_app::accounts::authkey_holder(&self.state, key).await?;
        let number = self
            .number_of(NumberKind::Account, &user.id.to_text())
            .await?;
        let claimed = params.number(id_param)?;
        if claimed != number {
            return Err(LegacyError::forbidden(
                "You do not have permission to perform this action.",
            ));
        }
        if id_param == "host_id" && !matches!(user.role, Role::Host | Role::Admin) {
            return Err(LegacyError::forbidden("This account is not a host."));
        }
        Ok(Caller {
            user,
            number,
            session,
        })
    }

    /// The public number of a stored resource.
    pub async fn number_of(&self, kind: NumberKind, reference: &str) -> LegacyResult<i64> {
        self.state
            .store
            .public_number(kind, reference)
            .await?
            .ok_or_else(|| {
                LegacyError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "a stored resource has no number",
                )
            })
    }

    /// The UUID (reference) a number names; 404 when none does.
    pub async fn uuid_of(&self, kind: NumberKind, number: i64) -> LegacyResult<String> {
        self.state
            .store
            .numbered_ref(kind, number)
            .await?
            .ok_or_else(LegacyError::not_found)
    }

    /// Calls the canonical API as `caller` (or anonymously) and returns its
    /// 2xx JSON reply; any other reply becomes the face's error.
    pub async fn call(
        &self,
        caller: Option<&Caller>,
        method: Method,
        uri: &str,
        body: Option<Value>,
    ) -> LegacyResult<Value> {
        let body = body.map(|json| ("application/json".to_owned(), json.to_string().into_bytes()));
        self.call_raw(caller, method, uri, body).await
    }

    /// [`Face::call`] with a body of any type (multipart uploads pass
    /// through as they came).
    pub async fn call_raw(
        &self,
        caller: Option<&Caller>,
        method: Method,
        uri: &str,
        body: Option<(String, Vec<u8>)>,
    ) -> LegacyResult<Value> {
        let mut request = Request::builder().method(method).uri(uri);
        if let Some(caller) = caller {
            let token =
                plugway_app::accounts::access_token(&self.state, caller.user.id, caller.session)?;
            request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        let body = match body {
            Some((content_type, bytes)) => {
                request = request.header(header::CONTENT_TYPE, content_type);
                Body::from(bytes)
            }
            None => Body::empty(),
        };
        let mut request = request.body(body).map_err(|e| {
            LegacyError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string())
        })?;
        request.extensions_mut().insert(ConnectInfo(self.peer));
        let response = self.canonical.clone().oneshot(request).await.map_err(|e| {
            LegacyError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string())
        })?;
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .map_err(|e| {
                LegacyError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string())
            })?;
        let value: Value = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap_or(Value::Null)
        };
        if status.is_success() {
            return Ok(value);
        }
        Err(LegacyError {
            status,
            code: at(&value, "code").as_str().unwrap_or("error").to_owned(),
            detail: at(&value, "message")
                .as_str()
                .unwrap_or("The request failed.")
                .to_owned(),
            field: at(&value, "field").as_str().map(str::to_owned),
        })
    }

    /// Puts the seed's numbers in place of UUIDs: in every object of
    /// `value` (at any depth), each field named in `fields` that holds the
    /// UUID of a resource of one of its kinds gets that resource's number
    /// (UUIDs never repeat across kinds, so `id` may list several); an
    /// object's own `id` keeps its UUID beside it as `uuid`.
    pub async fn renumber(&self, value: &mut Value, fields: &[Field]) -> LegacyResult<()> {
        let mut wanted: HashMap<NumberKind, Vec<String>> = HashMap::new();
        collect(value, fields, &mut wanted);
        let mut numbers: HashMap<NumberKind, HashMap<String, i64>> = HashMap::new();
        for (kind, refs) in wanted {
            let found = self.state.store.public_numbers(kind, &refs).await?;
            numbers.insert(kind, found);
        }
        replace(value, fields, &numbers);
        Ok(())
    }
}

/// A field that holds ids, and the kinds of resource they may name.
pub type Field = (&'static str, &'static [NumberKind]);

fn collect(value: &Value, fields: &[Field], wanted: &mut HashMap<NumberKind, Vec<String>>) {
    match value {
        Value::Object(map) => {
            for (name, kinds) in fields {
                if let Some(Value::String(text)) = map.get(*name) {
                    for kind in *kinds {
                        wanted.entry(*kind).or_default().push(text.clone());
                    }
                }
            }
            for v in map.values() {
                collect(v, fields, wanted);
            }
        }
        Value::Array(items) => items.iter().for_each(|v| collect(v, fields, wanted)),
        _ => {}
    }
}

fn replace(
    value: &mut Value,
    fields: &[Field],
    numbers: &HashMap<NumberKind, HashMap<String, i64>>,
) {
    match value {
        Value::Object(map) => {
            for (name, kinds) in fields {
                let number = match map.get(*name) {
                    Some(Value::String(text)) => kinds
                        .iter()
                        .find_map(|kind| numbers.get(kind).and_then(|n| n.get(text)).copied()),
                    _ => None,
                };
                if let Some(number) = number {
                    if let Some(old) = map.insert((*name).to_owned(), json!(number)) {
                        if *name == "id" {
                            map.insert("uuid".to_owned(), old);
                        }
                    }
                }
            }
            for v in map.values_mut() {
                replace(v, fields, numbers);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| replace(v, fields, numbers)),
        _ => {}
    }
}

/// A JSON reply.
pub fn reply(status: StatusCode, value: Value) -> Response {
    (status, axum::Json(value)).into_response()
}

/// Reads a JSON (or form-encoded, as Django's clients often send) body
/// into an object; an empty body is an empty object.
pub fn body_object(
    content_type: Option<&HeaderValue>,
    bytes: &[u8],
) -> LegacyResult<Map<String, Value>> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    let is_form = content_type
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    let value: Value = if is_form {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(bytes)
            .map_err(|_| LegacyError::bad("body", "The form body cannot be read."))?;
        Value::Object(
            pairs
                .into_iter()
                .map(|(k, v)| (k, Value::String(v)))
                .collect(),
        )
    } else {
        serde_json::from_slice(bytes)
            .map_err(|e| LegacyError::bad("body", format!("JSON parse error - {e}")))?
    };
    match value {
        Value::Object(map) => Ok(map),
        _ => Err(LegacyError::bad("body", "Expected a dictionary of fields.")),
    }
}

/// A number field of a body, as JSON number or numeric string.
pub fn field_number(body: &Map<String, Value>, name: &str) -> LegacyResult<Option<f64>> {
    match body.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => Ok(n.as_f64()),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => s
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|v| v.is_finite())
            .map(Some)
            .ok_or_else(|| LegacyError::bad(name, "A valid number is required.")),
        Some(_) => Err(LegacyError::bad(name, "A valid number is required.")),
    }
}

/// `value[key]` without the panic: Null when `value` is not an object or
/// has no `key`.
pub fn at<'a>(value: &'a Value, key: &str) -> &'a Value {
    value.get(key).unwrap_or(&Value::Null)
}

/// Sets `key` on a JSON object; anything else is left as it is (every
/// canonical view this face rewrites is an object).
pub fn put(target: &mut Value, key: &str, value: Value) {
    if let Some(map) = target.as_object_mut() {
        map.insert(key.to_owned(), value);
    }
}

/// A text field of a body.
pub fn field_text(body: &Map<String, Value>, name: &str) -> Option<String> {
    match body.get(name) {
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    }
}

/// An integer id field of a body.
pub fn field_id(body: &Map<String, Value>, name: &str) -> LegacyResult<i64> {
    let v = field_number(body, name)?
        .ok_or_else(|| LegacyError::bad(name, "This field is required."))?;
    if v.fract() != 0.0 || !(1.0..=9.0e15).contains(&v) {
        return Err(LegacyError::bad(name, "A valid integer is required."));
    }
    // Checked integral and in range just above.
    Ok(v as i64)
}

/// The account a bookmark reference names.
pub fn bookmark_owner(reference: &str) -> Option<(UserId, &str)> {
    let (user, site) = reference.split_once(':')?;
    Some((user.parse().ok()?, site))
}
