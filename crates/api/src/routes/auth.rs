//! Seed 002's accounts API, exactly on its paths (`/api/v1/auth/.../`; the
//! trailing slash is optional), plus sign-out, sign-out-everywhere, password
//! change, sessions and phones in the canonical API.

use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::{SignedIn, SignedInPendingChange};
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{ClientIp, Json, UserAgent};
use crate::routes::Message;
use crate::AppState;
use plugway_app::accounts;

/// The router.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(register))
        .routes(routes!(verify_otp))
        .routes(routes!(token))
        .routes(routes!(refresh))
        .routes(routes!(add_phone))
        .routes(routes!(make_primary_phone))
        .routes(routes!(logout))
        .routes(routes!(logout_all))
        .routes(routes!(change_password))
        .routes(routes!(sessions))
        .routes(routes!(phones))
}

/// Body of `register`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct Register {
    /// The phone to register (verified next with `verify-otp`).
    #[schema(example = "01516100100")]
    pub phone: String,
    /// Display name.
    #[schema(example = "Ikram Khan")]
    pub name: String,
    /// 6 to 128 characters.
    #[schema(example = "123456")]
    pub password: String,
}

/// Body of `verify-otp`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct VerifyOtp {
    /// The phone the code went to.
    pub phone: String,
    /// The code.
    #[schema(example = "438132")]
    pub otp: String,
}

/// Body of `token`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct Credentials {
    /// A verified phone of the account.
    pub phone: String,
    /// The password.
    pub password: String,
}

/// The token pair of seed 002.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenPair {
    /// Refresh token (JWT), single use.
    pub refresh: String,
    /// Access token (JWT).
    pub access: String,
}

/// Reply of `token`.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenReply {
    /// The pair.
    pub token: TokenPair,
}

/// Body of `refresh`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct RefreshBody {
    /// The refresh token from `token` (or the previous `refresh`).
    pub refresh: String,
}

/// Reply of `refresh`: the new access token, and the rotated refresh token
/// that replaces the one just spent.
#[derive(Debug, Serialize, ToSchema)]
pub struct RefreshReply {
    /// New access token.
    pub access: String,
    /// New refresh token; the old one is now spent.
    pub refresh: String,
}

/// Body of `add-phone-no` and `make-primary-phone`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct PhoneBody {
    /// The phone.
    #[schema(example = "01917100100")]
    pub phone: String,
}

/// Registers an account with a password; sends a code to verify the phone.
/// Anyone may call. (A code can be sent again with `/api/v1/user/otp-request`.)
#[utoipa::path(post, path = "/api/v1/auth/register", tag = "accounts", request_body = Register,
    responses(
        (status = 201, body = Message, example = json!({"message": "Registartion Successful"})),
        (status = 409, body = ErrorBody, description = "`phone_taken`"),
        (status = 422, body = ErrorBody),
        (status = 429, body = ErrorBody)))]
async fn register(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    Json(body): Json<Register>,
) -> ApiResult<(StatusCode, Json<Message>)> {
    let phone = accounts::parse_phone(&state, &body.phone)?;
    let name = plugway_domain::PersonName::parse(&body.name)?;
    accounts::register(&state, &phone, &name, body.password, ip).await?;
    // The seed's spelling, kept: apps may compare the text.
    Ok((
        StatusCode::CREATED,
        Json(Message::new("Registartion Successful")),
    ))
}

/// Verifies a phone with the code sent to it. Anyone may call.
#[utoipa::path(post, path = "/api/v1/auth/verify-otp", tag = "accounts", request_body = VerifyOtp,
    responses(
        (status = 200, body = Message, example = json!({"message": "Verification Successful"})),
        (status = 400, body = ErrorBody, description = "wrong, used or expired code"),
        (status = 404, body = ErrorBody, description = "`phone_not_found`"),
        (status = 429, body = ErrorBody)))]
async fn verify_otp(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    Json(body): Json<VerifyOtp>,
) -> ApiResult<Json<Message>> {
    let phone = accounts::parse_phone(&state, &body.phone)?;
    accounts::verify_phone(&state, &phone, &body.otp, ip).await?;
    Ok(Json(Message::new("Verification Successful")))
}

/// Signs in with phone and password. The phone must be verified. Ten wrong
/// passwords in a row lock password sign-in for 15 minutes. Anyone may call.
#[utoipa::path(post, path = "/api/v1/auth/token", tag = "accounts", request_body = Credentials,
    responses(
        (status = 200, body = TokenReply),
        (status = 401, body = ErrorBody, description = "`invalid_credentials`"),
        (status = 403, body = ErrorBody, description = "`phone_not_verified`"),
        (status = 429, body = ErrorBody, description = "`account_locked` or address limit")))]
async fn token(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    UserAgent(agent): UserAgent,
    Json(body): Json<Credentials>,
) -> ApiResult<Json<TokenReply>> {
    let phone = accounts::parse_phone(&state, &body.phone)?;
    let (_, tokens) =
        accounts::sign_in_with_password(&state, &phone, body.password, ip, agent).await?;
    Ok(Json(TokenReply {
        token: TokenPair {
            refresh: tokens.refresh,
            access: tokens.access,
        },
    }))
}

/// Trades a refresh token for a new pair. Seed 002's apps keep the token
/// their sign-in gave and send it at every refresh: that one keeps working
/// (the reply then gives it back as `refresh`) until it expires or the
/// session ends, as long as the client never presented a rotated one. A
/// client that takes the rotated tokens is in rotation: each works once,
/// and presenting any spent token again ends the session
/// (`refresh_token_reused`). Anyone may call.
#[utoipa::path(post, path = "/api/v1/auth/refresh", tag = "accounts", request_body = RefreshBody,
    responses((status = 200, body = RefreshReply), (status = 401, body = ErrorBody)))]
async fn refresh(
    State(state): State<AppState>,
    Json(body): Json<RefreshBody>,
) -> ApiResult<Json<RefreshReply>> {
    let tokens = accounts::refresh(
        &state,
        &body.refresh,
        accounts::SpentRefresh::SignInTokenKept,
    )
    .await?;
    Ok(Json(RefreshReply {
        access: tokens.access,
        refresh: tokens.refresh,
    }))
}

/// Adds a phone to the account and sends it a code. Roles: any signed-in person.
#[utoipa::path(post, path = "/api/v1/auth/add-phone-no", tag = "accounts", security(("bearer" = [])),
    request_body = PhoneBody,
    responses(
        (status = 201, body = Message, example = json!({"message": "Phone No added Successfully, Please verify it via otp"})),
        (status = 401, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "`phone_taken`, `phone_already_added`"),
        (status = 422, body = ErrorBody),
        (status = 429, body = ErrorBody)))]
async fn add_phone(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    who: SignedIn,
    Json(body): Json<PhoneBody>,
) -> ApiResult<(StatusCode, Json<Message>)> {
    let phone = accounts::parse_phone(&state, &body.phone)?;
    accounts::add_phone(&state, &who.user, &phone, ip).await?;
    Ok((
        StatusCode::CREATED,
        Json(Message::new(
            "Phone No added Successfully, Please verify it via otp",
        )),
    ))
}

/// Makes a verified phone of the account its primary one. Roles: any signed-in person.
#[utoipa::path(post, path = "/api/v1/auth/make-primary-phone", tag = "accounts", security(("bearer" = [])),
    request_body = PhoneBody,
    responses(
        (status = 201, body = Message, example = json!({"message": "Now 01917822808 is your primary phone no"})),
        (status = 400, body = ErrorBody, description = "`phone_not_verified`"),
        (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody, description = "`phone_not_found`")))]
async fn make_primary_phone(
    State(state): State<AppState>,
    who: SignedIn,
    Json(body): Json<PhoneBody>,
) -> ApiResult<(StatusCode, Json<Message>)> {
    let phone = accounts::parse_phone(&state, &body.phone)?;
    accounts::make_primary_phone(&state, &who.user, &phone).await?;
    // Echo the number as the client wrote it, as the seed does.
    let message = format!("Now {} is your primary phone no", body.phone.trim());
    Ok((StatusCode::CREATED, Json(Message::new(message))))
}

/// Signs out this device: its session and refresh tokens stop working at
/// once. Roles: any signed-in person (also one who must still change a
/// temporary password).
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "accounts", security(("bearer" = [])),
    responses((status = 204, description = "signed out"), (status = 401, body = ErrorBody)))]
async fn logout(
    State(state): State<AppState>,
    who: SignedInPendingChange,
) -> ApiResult<StatusCode> {
    state
        .store
        .revoke_session(who.session, state.clock.now())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Count of sessions ended.
#[derive(Debug, Serialize, ToSchema)]
pub struct Revoked {
    /// Sessions ended by the call.
    pub revoked_sessions: u64,
}

/// Signs out every device of the account, this one included. Roles: any
/// signed-in person (also one who must still change a temporary password).
#[utoipa::path(post, path = "/api/v1/auth/logout-all", tag = "accounts", security(("bearer" = [])),
    responses((status = 200, body = Revoked), (status = 401, body = ErrorBody)))]
async fn logout_all(
    State(state): State<AppState>,
    who: SignedInPendingChange,
) -> ApiResult<Json<Revoked>> {
    let n = state
        .store
        .revoke_user_sessions(who.user.id, None, state.clock.now())
        .await?;
    Ok(Json(Revoked {
        revoked_sessions: n,
    }))
}

/// Body of `change-password`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ChangePassword {
    /// The current password (not needed if the account never had one).
    pub old_password: Option<String>,
    /// The new password, 6 to 128 characters.
    pub new_password: String,
}

/// Changes the password; every other session of the account ends, and a
/// temporary password stops being one. Roles: any signed-in person (also
/// one who must still change a temporary password).
#[utoipa::path(post, path = "/api/v1/auth/change-password", tag = "accounts", security(("bearer" = [])),
    request_body = ChangePassword,
    responses((status = 200, body = Revoked), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn change_password(
    State(state): State<AppState>,
    who: SignedInPendingChange,
    Json(body): Json<ChangePassword>,
) -> ApiResult<Json<Revoked>> {
    let n = accounts::change_password(
        &state,
        &who.user,
        who.session,
        body.old_password,
        body.new_password,
    )
    .await?;
    Ok(Json(Revoked {
        revoked_sessions: n,
    }))
}

/// One signed-in device.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionInfo {
    /// Session id.
    pub id: String,
    /// Signed in at.
    pub created_at: DateTime<Utc>,
    /// Ends at the latest.
    pub expires_at: DateTime<Utc>,
    /// The client's User-Agent at sign-in.
    pub user_agent: Option<String>,
    /// Whether it is the session of this request.
    pub current: bool,
}

/// The account's open sessions. Roles: any signed-in person.
#[utoipa::path(get, path = "/api/v1/auth/sessions", tag = "accounts", security(("bearer" = [])),
    responses((status = 200, body = Vec<SessionInfo>), (status = 401, body = ErrorBody)))]
async fn sessions(
    State(state): State<AppState>,
    who: SignedIn,
) -> ApiResult<Json<Vec<SessionInfo>>> {
    let now = state.clock.now();
    let list = state.store.list_active_sessions(who.user.id).await?;
    Ok(Json(
        list.into_iter()
            .filter(|s| s.is_active(now))
            .map(|s| SessionInfo {
                id: s.id.to_text(),
                created_at: s.created_at,
                expires_at: s.expires_at,
                user_agent: s.user_agent,
                current: s.id == who.session,
            })
            .collect(),
    ))
}

/// One phone of the account.
#[derive(Debug, Serialize, ToSchema)]
pub struct PhoneInfo {
    /// E.164.
    pub phone: String,
    /// Proven with a code.
    pub verified: bool,
    /// The primary phone.
    pub primary: bool,
}

/// The account's phones, primary first. Roles: any signed-in person.
#[utoipa::path(get, path = "/api/v1/auth/phones", tag = "accounts", security(("bearer" = [])),
    responses((status = 200, body = Vec<PhoneInfo>), (status = 401, body = ErrorBody)))]
async fn phones(State(state): State<AppState>, who: SignedIn) -> ApiResult<Json<Vec<PhoneInfo>>> {
    let phones = state.store.list_phones(who.user.id).await?;
    Ok(Json(
        phones
            .into_iter()
            .map(|p| PhoneInfo {
                phone: p.phone.to_string(),
                verified: p.verified,
                primary: p.primary,
            })
            .collect(),
    ))
}
