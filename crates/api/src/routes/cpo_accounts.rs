//! Seed 003's CPO accounts, in its envelope: an admin registers a charge
//! point operator (`POST /ocpi/cpo/2.2/register`), who then signs in with a
//! username and password (`/ocpi/cpo/api/auth/v1/login`), refreshes
//! (`refresh`), signs out (`logout`) and changes the password
//! (`change-old-password`). Part of [`crate::routes::cpo_portal`]'s face, over
//! the canonical account machinery (`services::accounts`: sessions, JWTs,
//! refresh rotation with reuse detection, argon2id, lock-out).
//!
//! Credentials:
//! - `register`: an admin, as the seed's "Basic TOKEN" (HTTP Basic whose
//!   password is an admin API key) or Bearer (an admin's access token or an
//!   admin API key). Registering an operator is a platform act.
//! - `login`: none. The seed shows "Basic TOKEN" there too, but that token
//!   is the portal's own client credential, and Plugway's only such
//!   credentials are API keys (admin or integration) far too powerful to
//!   ship inside a portal; the username and password are the credential.
//!   An `Authorization` header, if sent, is not looked at.
//! - `refresh`: `Authorization: Bearer <refresh token>` (never in the URL).
//! - `logout`, `change-old-password`: `Bearer <access token>`, also one
//!   whose temporary password must still be changed.
//!
//! Roles in the token replies: a host is `CPO_OWNER`, an admin `ADMIN`, a
//! driver `DRIVER` (a username account is made a host; an admin may change
//! its role later). Expiry times are Unix seconds.

use axum::extract::State;
use axum::http::HeaderMap;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::{BasicOrBearer, Credential, SignedInPendingChange};
use crate::error::ApiError;
use crate::extract::{ClientIp, Json, UserAgent};
use crate::routes::cpo_portal::{Envelope, EnvelopeError, FaceError, FaceResult};
use crate::AppState;
use plugway_app::accounts::{self, IssuedTokens};
use plugway_app::operators::{self, OperatorRegistration};
use plugway_app::security::passwords;

/// The router.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(register))
        .routes(routes!(login))
        .routes(routes!(refresh))
        .routes(routes!(logout))
        .routes(routes!(change_old_password))
}

fn reply<T>(data: T, message: &str) -> FaceResult<T> {
    Ok(Json(Envelope {
        status: 200,
        data,
        message: message.to_owned(),
    }))
}

fn required<T>(field: &'static str, value: Option<T>) -> Result<T, ApiError> {
    value.ok_or_else(|| ApiError::invalid_field(field, "is required"))
}

/// Body of `register`: seed 003's fields, plus an optional `password`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct RegisterCpo {
    /// The sign-in name: 3 to 32 letters, digits, `.`, `_`, `-`, starting
    /// with a letter or digit; case-insensitive.
    #[schema(required = true, example = "solarius")]
    pub username: Option<String>,
    /// The business that owns the chargers.
    #[schema(required = true, example = "Solarius")]
    pub cpo_owner_name: Option<String>,
    /// Who to contact.
    #[schema(required = true, example = "Solarius CEO")]
    pub contact_name: Option<String>,
    /// Their number. Without `password`, the temporary password is texted
    /// here, so it must then be a number we can text (with its country
    /// code, unless the server has a default region).
    #[schema(required = true, example = "+639123456782")]
    pub contact_number: Option<String>,
    /// Their e-mail.
    #[schema(required = true, example = "ceo@solarius.example")]
    pub contact_email: Option<String>,
    /// Whether the operator's chargers speak OCPP.
    #[schema(required = true, example = true)]
    pub ocpp_ready: Option<bool>,
    /// The file name of the logo the portal uploads next: a
    /// `POST /ocpi/cpo/2.2/cpo/upload` of a file of this name with the
    /// portal's Basic credentials, within a day, becomes this operator's
    /// logo. (The operator can also upload one once signed in.)
    #[schema(example = "cpo-logo.png")]
    pub logo: Option<String>,
    /// Not in the seed. A password (6 to 128 characters) for the account;
    /// when absent a temporary one is generated and texted to
    /// `contact_number`, and must be changed before anything else.
    pub password: Option<String>,
}

/// Registers a charge point operator: a host account that signs in with
/// `username`, and its host profile (`GET /ocpi/cpo/2.2/details`). Without
/// `password` a temporary password is texted to `contact_number`. The
/// contact number does not become a sign-in phone: an existing phone
/// account with that number stays as it is, separate. A `logo` file name
/// waits a day for the portal's `cpo/upload` of that file. Roles: admins
/// (an admin API key as the Basic password, or an admin's Bearer
/// credential) and the CPO portal (a `portal` API key, which an admin
/// issues, as the Basic password).
#[utoipa::path(post, path = "/ocpi/cpo/2.2/register", tag = "seed 003", request_body = RegisterCpo,
    responses(
        (status = 200, body = Envelope<String>, example = json!({"status": 200, "data": "SUCCESS", "message": "Success"})),
        (status = 400, body = EnvelopeError),
        (status = 401, body = EnvelopeError), (status = 403, body = EnvelopeError),
        (status = 409, body = EnvelopeError, description = "`username_taken`"),
        (status = 422, body = EnvelopeError, description = "`invalid_field` (with `field`), `invalid_body`"),
        (status = 502, body = EnvelopeError, description = "`sms_failed`"),
        (status = 503, body = EnvelopeError, description = "`sms_unavailable`")),
    security(("basic" = []), ("bearer" = [])))]
async fn register(
    State(state): State<AppState>,
    caller: Result<BasicOrBearer, ApiError>,
    body: Result<Json<RegisterCpo>, ApiError>,
) -> FaceResult<String> {
    let caller = caller?;
    if !caller.0.principal().may_register_operators() {
        return Err(ApiError::forbidden(
            "registering an operator is for admins and the CPO portal's key",
        )
        .into());
    }
    let Json(body) = body?;
    let input = OperatorRegistration {
        username: required("username", body.username)?,
        owner_name: required("cpo_owner_name", body.cpo_owner_name)?,
        contact_name: required("contact_name", body.contact_name)?,
        contact_number: required("contact_number", body.contact_number)?,
        contact_email: required("contact_email", body.contact_email)?,
        ocpp_ready: required("ocpp_ready", body.ocpp_ready)?,
        password: body.password,
        logo: body.logo,
    };
    operators::register(&state, input).await?;
    reply("SUCCESS".to_owned(), "Success")
}

/// Body of `login`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct CpoCredentials {
    /// The username (any case).
    #[schema(required = true, example = "solarius")]
    pub username: Option<String>,
    /// The password.
    #[schema(required = true)]
    pub password: Option<String>,
}

/// The token pair of seed 003's login and refresh.
#[derive(Debug, Serialize, ToSchema)]
pub struct CpoTokens {
    /// For API calls (`Authorization: Bearer`).
    pub access_token: String,
    /// When the access token expires, Unix seconds.
    #[schema(example = 1719814489)]
    pub access_expires_in: i64,
    /// For `GET /ocpi/cpo/api/auth/v1/refresh`; works once.
    pub refresh_token: String,
    /// When the refresh token expires, Unix seconds.
    #[schema(example = 1722405589)]
    pub refresh_expires_in: i64,
    /// `CPO_OWNER` (a host), `ADMIN` or `DRIVER`.
    #[schema(example = "CPO_OWNER")]
    pub role: String,
}

fn role_name(role: plugway_domain::Role) -> &'static str {
    match role {
        plugway_domain::Role::Host => "CPO_OWNER",
        plugway_domain::Role::Admin => "ADMIN",
        plugway_domain::Role::Driver => "DRIVER",
    }
}

fn tokens_reply(role: plugway_domain::Role, tokens: IssuedTokens) -> FaceResult<CpoTokens> {
    reply(
        CpoTokens {
            access_token: tokens.access,
            access_expires_in: tokens.access_expires_at.timestamp(),
            refresh_token: tokens.refresh,
            refresh_expires_in: tokens.refresh_expires_at.timestamp(),
            role: role_name(role).to_owned(),
        },
        "SUCCESS",
    )
}

/// Signs in with username and password. The same answer (401
/// `invalid_credentials`) for an unknown username and a wrong password;
/// repeated wrong passwords lock sign-in for a while (429
/// `account_locked`), and each address has a per-minute limit. A
/// temporary password signs in, but its tokens can only change it or sign
/// out. Anyone may call; no credential beyond the body is needed.
#[utoipa::path(post, path = "/ocpi/cpo/api/auth/v1/login", tag = "seed 003", request_body = CpoCredentials,
    responses(
        (status = 200, body = Envelope<CpoTokens>),
        (status = 401, body = EnvelopeError, description = "`invalid_credentials`"),
        (status = 422, body = EnvelopeError),
        (status = 429, body = EnvelopeError, description = "`account_locked` or the address limit")))]
async fn login(
    State(state): State<AppState>,
    ip: Result<ClientIp, ApiError>,
    agent: Result<UserAgent, ApiError>,
    body: Result<Json<CpoCredentials>, ApiError>,
) -> FaceResult<CpoTokens> {
    let ClientIp(ip) = ip?;
    let UserAgent(agent) = agent?;
    let Json(body) = body?;
    let username = required("username", body.username)?;
    let password = required("password", body.password)?;
    let (user, tokens) =
        accounts::sign_in_with_username(&state, &username, password, ip, agent).await?;
    tokens_reply(user.role, tokens)
}

/// Trades the refresh token in `Authorization: Bearer` for a new pair. Each
/// refresh token works once; a second use ends the session (401
/// `refresh_token_reused`).
#[utoipa::path(get, path = "/ocpi/cpo/api/auth/v1/refresh", tag = "seed 003",
    responses(
        (status = 200, body = Envelope<CpoTokens>),
        (status = 401, body = EnvelopeError, description = "missing, invalid, expired, spent or reused refresh token")),
    security(("bearer" = [])))]
async fn refresh(State(state): State<AppState>, headers: HeaderMap) -> FaceResult<CpoTokens> {
    let Credential::Bearer(token) = Credential::from_headers(&headers) else {
        return Err(ApiError::unauthorized(
            "missing_credentials",
            "send Authorization: Bearer <refresh token>",
        )
        .into());
    };
    let tokens = accounts::refresh(&state, &token, accounts::SpentRefresh::EndsSession).await?;
    let user = state
        .store
        .find_user(tokens.user)
        .await
        .map_err(ApiError::from)?
        .ok_or_else(|| {
            ApiError::unauthorized("session_ended", "this session has ended; sign in again")
        })?;
    tokens_reply(user.role, tokens)
}

/// Signs out: this session's access and refresh tokens stop working at
/// once. Roles: any signed-in person.
#[utoipa::path(post, path = "/ocpi/cpo/api/auth/v1/logout", tag = "seed 003",
    responses(
        (status = 200, body = Envelope<Vec<String>>, example = json!({"status": 200, "data": [], "message": "Logged out successfully"})),
        (status = 401, body = EnvelopeError)),
    security(("bearer" = [])))]
async fn logout(
    State(state): State<AppState>,
    who: Result<SignedInPendingChange, ApiError>,
) -> FaceResult<Vec<String>> {
    let who = who?;
    state
        .store
        .revoke_session(who.session, state.clock.now())
        .await
        .map_err(ApiError::from)?;
    reply(Vec::new(), "Logged out successfully")
}

/// Body of `change-old-password` (the seed shows none).
#[derive(Debug, Deserialize, ToSchema)]
pub struct ChangeOldPassword {
    /// The current password (the temporary one, the first time).
    #[schema(required = true)]
    pub old_password: Option<String>,
    /// The new password, 6 to 128 characters.
    #[schema(required = true)]
    pub new_password: Option<String>,
}

/// Changes the password. A temporary password stops being one, so the
/// account can do everything again; every other session of the account
/// ends (this one stays signed in). Roles: any signed-in person.
#[utoipa::path(post, path = "/ocpi/cpo/api/auth/v1/change-old-password", tag = "seed 003",
    request_body = ChangeOldPassword,
    responses(
        (status = 200, body = Envelope<String>, example = json!({"status": 200, "data": "SUCCESS", "message": "Success"})),
        (status = 401, body = EnvelopeError, description = "`invalid_credentials`: the old password is wrong"),
        (status = 422, body = EnvelopeError, description = "`invalid_field`: missing field or a new password outside the policy")),
    security(("bearer" = [])))]
async fn change_old_password(
    State(state): State<AppState>,
    who: Result<SignedInPendingChange, ApiError>,
    body: Result<Json<ChangeOldPassword>, ApiError>,
) -> FaceResult<String> {
    let who = who?;
    let Json(body) = body?;
    let old = required("old_password", body.old_password)?;
    let new = required("new_password", body.new_password)?;
    passwords::check_policy_of("new_password", &new)?;
    // Keeping the old one would keep a password that travelled by SMS.
    if new == old {
        return Err(
            ApiError::invalid_field("new_password", "must differ from the old password").into(),
        );
    }
    accounts::change_password(&state, &who.user, who.session, Some(old), new)
        .await
        .map_err(FaceError::from)?;
    reply("SUCCESS".to_owned(), "Success")
}
