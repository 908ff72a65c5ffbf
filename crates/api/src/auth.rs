//! Who is calling. Handlers state the roles they admit by the extractor they
//! take: [`SignedIn`] (any person), [`AdminAccess`] (admin person or admin
//! key), [`Authenticated`] (anyone with a valid credential).
//! `Authorization: Bearer <token>` carries either a JWT access token or an
//! API key; the scheme is matched case-insensitively (seed 002 sends
//! "bearer").
//!
//! A person whose password is a temporary one (a seed 003 operator
//! registered without a password) is refused everywhere with 403
//! `password_change_required`, except by [`SignedInPendingChange`], which
//! only the sign-out and password-change routes take: a password that went
//! through SMS should open nothing but the door to replace it.

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use axum::http::HeaderMap;
use base64::Engine;
use plugway_domain::{ApiKeyRole, Principal, Role, SessionId};
use plugway_store::{ApiKeyRecord, User};

use crate::error::ApiError;
use crate::AppState;
use plugway_app::security::tokens::TokenKind;
use plugway_app::security::{api_keys, constant_time_eq};

/// The caller, once their credential checked out.
#[derive(Debug, Clone)]
pub enum Caller {
    /// A person, with the account as it is now (role changes apply at once).
    Person {
        /// The account.
        user: User,
        /// The session of the token.
        session: SessionId,
    },
    /// A machine.
    Key(ApiKeyRecord),
}

impl Caller {
    /// The caller as a domain principal.
    pub fn principal(&self) -> Principal {
        match self {
            Caller::Person { user, session } => Principal::User {
                user_id: user.id,
                role: user.role,
                session_id: *session,
            },
            Caller::Key(key) => Principal::ApiKey {
                key_id: key.id,
                role: key.role,
            },
        }
    }
}

fn bearer(parts: &Parts) -> Result<&str, ApiError> {
    let missing =
        || ApiError::unauthorized("missing_credentials", "send Authorization: Bearer <token>");
    let value = parts.headers.get(AUTHORIZATION).ok_or_else(missing)?;
    let value = value.to_str().map_err(|_| missing())?.trim();
    let (scheme, token) = value.split_once(' ').ok_or_else(missing)?;
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(missing());
    }
    Ok(token.trim())
}

/// Checks a bearer credential: an API key or an access token. A person who
/// must still change a temporary password is refused (403
/// `password_change_required`).
pub async fn authenticate(state: &AppState, token: &str) -> Result<Caller, ApiError> {
    let caller = authenticate_pending(state, token).await?;
    if let Caller::Person { user, .. } = &caller {
        if user.password_must_change {
            return Err(ApiError::forbidden(
                "change your temporary password first (POST /ocpi/cpo/api/auth/v1/change-old-password)",
            )
            .with_code("password_change_required"));
        }
    }
    Ok(caller)
}

/// [`authenticate`], but admitting a person who must still change a
/// temporary password: only for signing out and changing the password.
async fn authenticate_pending(state: &AppState, token: &str) -> Result<Caller, ApiError> {
    if token.starts_with(api_keys::PREFIX) {
        let invalid =
            || ApiError::unauthorized("invalid_api_key", "the API key is invalid or revoked");
        let (id, secret) = api_keys::parse(token).ok_or_else(invalid)?;
        let key = state.store.find_api_key(id).await?.ok_or_else(invalid)?;
        let presented = plugway_domain::secret::secret_digest(secret);
        if !constant_time_eq(presented.as_bytes(), key.secret_hash.as_bytes())
            || key.revoked_at.is_some()
        {
            return Err(invalid());
        }
        return Ok(Caller::Key(key));
    }
    let (user, session) =
        plugway_app::accounts::session_holder(state, token, TokenKind::Access).await?;
    Ok(Caller::Person { user, session })
}

/// The credential a request carries in `Authorization`.
#[derive(Debug)]
pub(crate) enum Credential {
    /// No header.
    None,
    /// A header that is neither Bearer nor well-formed Basic.
    Malformed,
    /// `Bearer <token>`.
    Bearer(String),
    /// The password of Basic credentials.
    Basic(String),
}

impl Credential {
    /// Reads the `Authorization` header (schemes match case-insensitively).
    pub(crate) fn from_headers(headers: &HeaderMap) -> Self {
        let Some(value) = headers.get(AUTHORIZATION) else {
            return Self::None;
        };
        let Some((scheme, rest)) = value.to_str().ok().and_then(|v| v.trim().split_once(' '))
        else {
            return Self::Malformed;
        };
        let rest = rest.trim();
        if rest.is_empty() {
            Self::Malformed
        } else if scheme.eq_ignore_ascii_case("bearer") {
            Self::Bearer(rest.to_owned())
        } else if scheme.eq_ignore_ascii_case("basic") {
            base64::engine::general_purpose::STANDARD
                .decode(rest)
                .ok()
                .and_then(|bytes| String::from_utf8(bytes).ok())
                .and_then(|pair| pair.split_once(':').map(|(_, p)| p.to_owned()))
                .filter(|p| !p.is_empty())
                .map_or(Self::Malformed, Self::Basic)
        } else {
            Self::Malformed
        }
    }

    /// The token to authenticate where seed 003 takes "Basic TOKEN": the
    /// Basic password when it is an API key, or a Bearer credential.
    pub(crate) fn basic_or_bearer(&self) -> Result<&str, ApiError> {
        match self {
            Self::Bearer(token) => Ok(token),
            Self::Basic(password) if password.starts_with(api_keys::PREFIX) => Ok(password),
            Self::Basic(_) => Err(ApiError::unauthorized(
                "invalid_api_key",
                "the password of Basic credentials must be an API key",
            )),
            Self::None | Self::Malformed => Err(ApiError::unauthorized(
                "missing_credentials",
                "send Authorization: Basic base64(<name>:<API key>), or Bearer <token>",
            )),
        }
    }
}

/// A caller with seed 003's "Basic TOKEN" (HTTP Basic whose password is an
/// API key of any role) or any valid Bearer credential.
#[derive(Debug, Clone)]
pub struct BasicOrBearer(pub Caller);

impl FromRequestParts<AppState> for BasicOrBearer {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let credential = Credential::from_headers(&parts.headers);
        Ok(Self(
            authenticate(state, credential.basic_or_bearer()?).await?,
        ))
    }
}

/// Any authenticated caller.
#[derive(Debug, Clone)]
pub struct Authenticated(pub Caller);

impl FromRequestParts<AppState> for Authenticated {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        if let Some(caller) = parts.extensions.get::<Caller>() {
            return Ok(Self(caller.clone()));
        }
        let caller = authenticate(state, bearer(parts)?).await?;
        parts.extensions.insert(caller.clone());
        Ok(Self(caller))
    }
}

/// A signed-in person of any role (driver, host, admin).
#[derive(Debug, Clone)]
pub struct SignedIn {
    /// The account.
    pub user: User,
    /// The session the token belongs to.
    pub session: SessionId,
}

impl FromRequestParts<AppState> for SignedIn {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        match Authenticated::from_request_parts(parts, state).await?.0 {
            Caller::Person { user, session } => Ok(Self { user, session }),
            Caller::Key(_) => Err(ApiError::forbidden(
                "this endpoint is for signed-in people, not API keys",
            )),
        }
    }
}

/// A signed-in person of any role, including one who must still change a
/// temporary password. Only sign-out and password changes take it; every
/// other route takes [`SignedIn`] or a narrower extractor.
#[derive(Debug, Clone)]
pub struct SignedInPendingChange {
    /// The account.
    pub user: User,
    /// The session the token belongs to.
    pub session: SessionId,
}

impl FromRequestParts<AppState> for SignedInPendingChange {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        match authenticate_pending(state, bearer(parts)?).await? {
            Caller::Person { user, session } => Ok(Self { user, session }),
            Caller::Key(_) => Err(ApiError::forbidden(
                "this endpoint is for signed-in people, not API keys",
            )),
        }
    }
}

/// An admin person or an admin API key.
#[derive(Debug, Clone)]
pub struct AdminAccess(pub Caller);

impl FromRequestParts<AppState> for AdminAccess {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let caller = Authenticated::from_request_parts(parts, state).await?.0;
        if caller.principal().is_admin() {
            Ok(Self(caller))
        } else {
            Err(ApiError::forbidden("this endpoint is for admins"))
        }
    }
}

/// An operator: an admin (person or key) or a host, who sees only their own
/// chargers (checked per resource by the handler).
#[derive(Debug, Clone)]
pub struct OperatorAccess(pub Caller);

impl OperatorAccess {
    /// The host's account id when the caller is a host (not an admin).
    pub fn host(&self) -> Option<plugway_domain::UserId> {
        self.manager().host()
    }

    /// The caller as the core's use cases know it.
    pub fn manager(&self) -> plugway_app::access::Manager {
        match &self.0 {
            Caller::Person { user, .. } if user.role == Role::Host => {
                plugway_app::access::Manager::Host(user.id)
            }
            _ => plugway_app::access::Manager::Admin,
        }
    }
}

impl FromRequestParts<AppState> for OperatorAccess {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let caller = Authenticated::from_request_parts(parts, state).await?.0;
        let host = matches!(&caller, Caller::Person { user, .. } if user.role == Role::Host);
        if host || caller.principal().is_admin() {
            Ok(Self(caller))
        } else {
            Err(ApiError::forbidden("this endpoint is for hosts and admins"))
        }
    }
}

/// An integration (CRM) API key, or an admin.
#[derive(Debug, Clone)]
pub struct IntegrationAccess(pub Caller);

impl FromRequestParts<AppState> for IntegrationAccess {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let caller = Authenticated::from_request_parts(parts, state).await?.0;
        let integration = matches!(&caller, Caller::Key(k) if k.role == ApiKeyRole::Integration);
        if integration || caller.principal().is_admin() {
            Ok(Self(caller))
        } else {
            Err(ApiError::forbidden(
                "this endpoint is for integration API keys",
            ))
        }
    }
}
