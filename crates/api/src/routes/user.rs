//! Seed 001 ("EVM" driver app) sign-in and profile, on its own paths:
//! `/api/v1/user/otp-request`, `/user/otp-check`, `/user/me`; plus the
//! referral code (seed 000's referral check, in the canonical API).

use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::SignedIn;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{ClientIp, Json, UserAgent};
use crate::AppState;
use plugway_app::accounts;
use plugway_store::User;

/// The router.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(otp_request))
        .routes(routes!(otp_check))
        .routes(routes!(me_post, me_get))
        .routes(routes!(referral_get, referral_apply))
}

/// Body of `otp-request`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct OtpRequest {
    /// International format ("+976 8666 1488"), or national in the configured default region.
    #[schema(example = "+976 8666 1488")]
    pub phone: String,
}

/// Reply of `otp-request`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OtpSent {
    /// Always true.
    pub sent: bool,
    /// Seconds the code stays valid.
    pub expires_in: i64,
}

/// Body of `otp-check`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct OtpCheck {
    /// The phone the code went to.
    pub phone: String,
    /// The code (in `--dev`, "0000" also works).
    #[schema(example = "0000")]
    pub code: String,
}

/// Seed 001's profile.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProfileView {
    /// Display name ("" if not set yet).
    pub name: String,
    /// E-mail ("" if not set).
    pub email: String,
    /// Primary phone, E.164.
    pub phone: String,
    /// Wallet balance in major units, from the ledger (the wallet currency).
    pub balance: f64,
    /// Profile photo URL (`PUT /api/v1/user/me/photo`); the default image,
    /// `/api/v1/media/defaults/user.png`, when none is set (extra).
    pub photo: String,
}

/// Seed 001's NATS credentials: subscribe to `{topic}.CHARGING`,
/// `{topic}.PAYMENT`... The server authorizes with NATS's decentralized JWT
/// auth, so `user` carries the user JWT and `pass` the nkey seed that signs
/// the server's nonce (the two halves of a `.creds` file, also given whole
/// in `creds`). They allow subscribing to this driver's topic only and
/// expire at `expiresAt`; `/user/me` gives fresh ones. Null when the
/// server runs without NATS (use `/api/v1/user/events` then).
#[derive(Debug, Serialize, ToSchema)]
pub struct NatsView {
    /// Server URLs.
    pub servers: String,
    /// The subject prefix this user may subscribe to.
    pub topic: String,
    /// The user JWT.
    pub user: String,
    /// The user's nkey seed.
    pub pass: String,
    /// The same as a NATS `.creds` file (extra to seed 001).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub creds: Option<String>,
    /// When the credentials expire, RFC 3339 (extra).
    #[serde(rename = "expiresAt", skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
}

/// Seed 001's sign-in reply (`otp-check`, `me`).
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionView {
    /// Access token (JWT) for `Authorization: Bearer`.
    pub token: String,
    /// Refresh token for `/api/v1/auth/refresh` (present on sign-in only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh: Option<String>,
    /// The account's id.
    #[serde(rename = "userId")]
    pub user_id: String,
    /// Role: driver, host or admin.
    pub role: String,
    /// The profile.
    pub profile: ProfileView,
    /// The device the driver is charging on now (seed 001's `device?`);
    /// absent when none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device: Option<crate::routes::discovery::Device>,
    /// Where the app listens for live events: always present. `servers` is
    /// empty when events stay in process (the app then uses
    /// `/api/v1/user/events`); `user` and `pass` are empty when NATS runs
    /// without per-user authorization.
    pub nats: NatsView,
}

/// Builds the profile of an account.
pub async fn profile_view(state: &AppState, user: &User) -> ApiResult<ProfileView> {
    let phones = state.store.list_phones(user.id).await?;
    let phone = phones
        .iter()
        .find(|p| p.primary)
        .or(phones.first())
        .map(|p| p.phone.to_string())
        .unwrap_or_default();
    let (photo, _) = plugway_app::vehicles::profile_photo_urls(state, user.id).await?;
    Ok(ProfileView {
        photo,
        name: user.name.clone().unwrap_or_default(),
        email: user.email.clone().unwrap_or_default(),
        phone,
        balance: state.settings.wallet_currency.to_major(
            state
                .store
                .account_balance(&plugway_app::wallet::wallet(state, user.id))
                .await?,
        ),
    })
}

async fn session_view(
    state: &AppState,
    user: &User,
    token: String,
    refresh: Option<String>,
) -> ApiResult<SessionView> {
    Ok(SessionView {
        token,
        refresh,
        user_id: user.id.to_text(),
        role: user.role.to_string(),
        profile: profile_view(state, user).await?,
        device: device_in_use(state, user.id).await?,
        nats: nats_view(state, user.id)?,
    })
}

/// The driver's NATS access (fresh credentials where they are minted).
fn nats_view(state: &AppState, user: plugway_domain::UserId) -> ApiResult<NatsView> {
    let nats = plugway_app::event_access::driver_nats(state, user)?;
    Ok(NatsView {
        servers: nats.servers,
        topic: nats.topic,
        user: nats.user,
        pass: nats.pass,
        creds: nats.creds,
        expires_at: nats
            .expires_at
            .map(|at| at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
    })
}

/// The device of the driver's running session, if any.
async fn device_in_use(
    state: &AppState,
    user: plugway_domain::UserId,
) -> ApiResult<Option<crate::routes::discovery::Device>> {
    let sessions = state
        .store
        .list_active_charging_sessions(Some(user), 10)
        .await?;
    let Some(evse) = sessions.iter().find_map(|s| s.evse_id) else {
        return Ok(None);
    };
    let Some(evse) = state.store.find_evse(evse).await? else {
        return Ok(None);
    };
    let Some(site) = state.store.find_site(evse.site_id).await? else {
        return Ok(None);
    };
    Ok(Some(crate::routes::discovery::device(&site, &evse)))
}

/// Sends a sign-in code to a phone. Limits: one code per phone per
/// cool-down (30 s), 5 per hour, and per client address. Anyone may call.
#[utoipa::path(post, path = "/api/v1/user/otp-request", tag = "accounts", request_body = OtpRequest,
    responses(
        (status = 200, body = OtpSent, description = "code sent"),
        (status = 422, body = ErrorBody, description = "not a phone number"),
        (status = 429, body = ErrorBody, description = "cool-down, hourly cap or address limit; see Retry-After"),
        (status = 503, body = ErrorBody, description = "no SMS provider configured")))]
async fn otp_request(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    Json(body): Json<OtpRequest>,
) -> ApiResult<Json<OtpSent>> {
    let phone = accounts::parse_phone(&state, &body.phone)?;
    accounts::send_otp(&state, &phone, ip).await?;
    Ok(Json(OtpSent {
        sent: true,
        expires_in: state.settings.otp.ttl.num_seconds(),
    }))
}

/// Signs in with a code; creates the account on first sign-in. Anyone may call.
#[utoipa::path(post, path = "/api/v1/user/otp-check", tag = "accounts", request_body = OtpCheck,
    responses(
        (status = 200, body = SessionView),
        (status = 400, body = ErrorBody, description = "wrong, used or expired code (`otp_invalid`, `otp_expired`)"),
        (status = 422, body = ErrorBody),
        (status = 429, body = ErrorBody, description = "too many wrong codes or requests")))]
async fn otp_check(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    UserAgent(agent): UserAgent,
    Json(body): Json<OtpCheck>,
) -> ApiResult<Json<SessionView>> {
    let phone = accounts::parse_phone(&state, &body.phone)?;
    let (user, tokens) = accounts::sign_in_with_otp(&state, &phone, &body.code, ip, agent).await?;
    Ok(Json(
        session_view(&state, &user, tokens.access, Some(tokens.refresh)).await?,
    ))
}

/// The signed-in account, with a fresh access token for the same session
/// (seed 001 apps renew their token this way). Roles: any signed-in person.
#[utoipa::path(post, path = "/api/v1/user/me", tag = "accounts", security(("bearer" = [])),
    responses((status = 200, body = SessionView), (status = 401, body = ErrorBody)))]
async fn me_post(State(state): State<AppState>, who: SignedIn) -> ApiResult<Json<SessionView>> {
    let token = accounts::access_token(&state, who.user.id, who.session)?;
    Ok(Json(session_view(&state, &who.user, token, None).await?))
}

/// Same as `POST /api/v1/user/me`.
#[utoipa::path(get, path = "/api/v1/user/me", tag = "accounts", security(("bearer" = [])),
    responses((status = 200, body = SessionView), (status = 401, body = ErrorBody)))]
async fn me_get(state: State<AppState>, who: SignedIn) -> ApiResult<Json<SessionView>> {
    me_post(state, who).await
}

/// The account's own referral code and who referred it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReferralView {
    /// This account's code, to share.
    pub referral_code: String,
    /// The referrer's account id, once a code was applied.
    pub referred_by: Option<String>,
}

/// Body of the referral check.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ApplyReferral {
    /// Someone else's referral code (case-insensitive).
    #[schema(example = "7K3M9PQX")]
    pub referral_code: String,
}

/// The caller's referral code. Roles: any signed-in person.
#[utoipa::path(get, path = "/api/v1/user/referral", tag = "accounts", security(("bearer" = [])),
    responses((status = 200, body = ReferralView), (status = 401, body = ErrorBody)))]
async fn referral_get(who: SignedIn) -> Json<ReferralView> {
    Json(ReferralView {
        referral_code: who.user.referral_code.as_str().to_owned(),
        referred_by: who.user.referred_by.map(|id| id.to_text()),
    })
}

/// Seed 000's referral check: applies the code of the account that referred
/// the caller (once; never one's own). The referrer gets `[money]
/// referral_reward_credits` credit points when the caller first pays for a
/// charging session. Roles: any signed-in person.
#[utoipa::path(post, path = "/api/v1/user/referral", tag = "accounts", security(("bearer" = [])),
    request_body = ApplyReferral,
    responses(
        (status = 200, body = ReferralView),
        (status = 404, body = ErrorBody, description = "`referral_code_not_found`"),
        (status = 409, body = ErrorBody, description = "`referral_already_applied`"),
        (status = 422, body = ErrorBody, description = "malformed or own code")))]
async fn referral_apply(
    State(state): State<AppState>,
    who: SignedIn,
    Json(body): Json<ApplyReferral>,
) -> ApiResult<Json<ReferralView>> {
    let referrer = accounts::apply_referral(&state, &who.user, &body.referral_code).await?;
    Ok(Json(ReferralView {
        referral_code: who.user.referral_code.as_str().to_owned(),
        referred_by: Some(referrer.id.to_text()),
    }))
}
