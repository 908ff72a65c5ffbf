//! Back office: API keys and accounts. Every handler here admits admins
//! only (admin people or admin API keys).

use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use plugway_domain::{ApiKeyId, ApiKeyRole, Role, UserId};
use plugway_store::{ApiKeyRecord, StoreError, User};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::AdminAccess;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{Json, Path, Query};
use crate::routes::{PageQuery, Paginated};
use crate::AppState;
use plugway_app::{api_keys, operators};

/// The router.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_key, list_keys))
        .routes(routes!(revoke_key))
        .routes(routes!(list_users))
        .routes(routes!(set_role))
        .routes(routes!(send_operator_password))
}

/// What `temporary-password` did.
#[derive(Debug, Serialize, ToSchema)]
pub struct TemporaryPasswordSent {
    /// Always true: the password went by SMS (it is never shown here).
    pub sent: bool,
}

/// Texts a charge point operator (a seed 003 account that signs in with a
/// username) a new temporary password, for one who lost the first: it goes
/// to the contact number of the operator's host profile, replaces the old
/// password, must be changed at the next sign-in, and ends every session of
/// the account. When the SMS fails nothing changes. Roles: admin.
#[utoipa::path(post, path = "/api/v1/admin/operators/{id}/temporary-password", tag = "admin",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "the operator's account id")),
    responses((status = 200, body = TemporaryPasswordSent), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody, description = "`operator_not_found`: no such account, or not an operator"),
        (status = 409, body = ErrorBody, description = "`contact_number_unusable`: the profile's number cannot take an SMS"),
        (status = 502, body = ErrorBody, description = "`sms_failed`"),
        (status = 503, body = ErrorBody, description = "`sms_unavailable`")))]
async fn send_operator_password(
    State(state): State<AppState>,
    _: AdminAccess,
    Path(id): Path<String>,
) -> ApiResult<Json<TemporaryPasswordSent>> {
    let id: UserId = id.parse().map_err(|_| {
        ApiError::not_found(
            "operator_not_found",
            "no charge point operator account has this id",
        )
    })?;
    operators::send_temporary_password(&state, id).await?;
    Ok(Json(TemporaryPasswordSent { sent: true }))
}

/// Body of key creation.
#[derive(Debug, Deserialize, ToSchema)]
pub struct NewKey {
    /// A label (1 to 100 characters).
    #[schema(example = "zoho-crm")]
    pub name: String,
    /// `admin` or `integration`.
    #[schema(example = "integration")]
    pub role: String,
}

/// A key as listed (never its secret).
#[derive(Debug, Serialize, ToSchema)]
pub struct KeyView {
    /// Id.
    pub id: String,
    /// Label.
    pub name: String,
    /// Role.
    pub role: String,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Revoked, if it was.
    pub revoked_at: Option<DateTime<Utc>>,
}

impl From<ApiKeyRecord> for KeyView {
    fn from(k: ApiKeyRecord) -> Self {
        Self {
            id: k.id.to_text(),
            name: k.name,
            role: k.role.to_string(),
            created_at: k.created_at,
            revoked_at: k.revoked_at,
        }
    }
}

/// A new key, with its secret shown this once.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedKey {
    /// The key's record.
    #[serde(flatten)]
    pub record: KeyView,
    /// The key: send as `Authorization: Bearer <key>`. Not retrievable later.
    pub key: String,
}

fn check_name(name: &str) -> ApiResult<&str> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err(ApiError::invalid_field(
            "name",
            "must be 1 to 100 printable characters",
        ));
    }
    Ok(name)
}

/// Creates an API key. Roles: admin.
#[utoipa::path(post, path = "/api/v1/admin/api-keys", tag = "admin", security(("bearer" = [])),
    request_body = NewKey,
    responses((status = 201, body = CreatedKey), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_key(
    State(state): State<AppState>,
    _: AdminAccess,
    Json(body): Json<NewKey>,
) -> ApiResult<(StatusCode, Json<CreatedKey>)> {
    let name = check_name(&body.name)?;
    let role: ApiKeyRole = body.role.parse()?;
    let (record, key) = api_keys::create(
        state.store.as_ref(),
        state.clock.as_ref(),
        state.ids.as_ref(),
        name,
        role,
    )
    .await?;
    tracing::info!(key = %record.id, role = %role, "API key created");
    Ok((
        StatusCode::CREATED,
        Json(CreatedKey {
            record: record.into(),
            key,
        }),
    ))
}

/// Lists API keys, newest first. Roles: admin.
#[utoipa::path(get, path = "/api/v1/admin/api-keys", tag = "admin", security(("bearer" = [])),
    responses((status = 200, body = Vec<KeyView>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn list_keys(State(state): State<AppState>, _: AdminAccess) -> ApiResult<Json<Vec<KeyView>>> {
    Ok(Json(
        state
            .store
            .list_api_keys()
            .await?
            .into_iter()
            .map(KeyView::from)
            .collect(),
    ))
}

/// Revokes an API key; it stops working at once. Roles: admin.
#[utoipa::path(delete, path = "/api/v1/admin/api-keys/{id}", tag = "admin", security(("bearer" = [])),
    params(("id" = String, Path, description = "key id")),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn revoke_key(
    State(state): State<AppState>,
    _: AdminAccess,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let not_found = || ApiError::not_found("api_key_not_found", "no API key has this id");
    let id: ApiKeyId = id.parse().map_err(|_| not_found())?;
    state
        .store
        .revoke_api_key(id, state.clock.now())
        .await
        .map_err(|e| match e {
            StoreError::NotFound => not_found(),
            other => other.into(),
        })?;
    Ok(StatusCode::NO_CONTENT)
}

/// An account as admins see it.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserView {
    /// Id.
    pub id: String,
    /// Name.
    pub name: Option<String>,
    /// E-mail.
    pub email: Option<String>,
    /// Role.
    pub role: String,
    /// Referral code.
    pub referral_code: String,
    /// Created.
    pub created_at: DateTime<Utc>,
}

impl From<User> for UserView {
    fn from(u: User) -> Self {
        Self {
            id: u.id.to_text(),
            name: u.name,
            email: u.email,
            role: u.role.to_string(),
            referral_code: u.referral_code.as_str().to_owned(),
            created_at: u.created_at,
        }
    }
}

/// Lists accounts, newest first, paginated. Roles: admin.
#[utoipa::path(get, path = "/api/v1/admin/users", tag = "admin", security(("bearer" = [])),
    params(PageQuery),
    responses((status = 200, body = Paginated<UserView>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn list_users(
    State(state): State<AppState>,
    _: AdminAccess,
    Query(q): Query<PageQuery>,
) -> ApiResult<Json<Paginated<UserView>>> {
    let (page, size, offset) = q.resolve()?;
    let count = state.store.count_users().await?;
    let users = state.store.list_users(offset, size).await?;
    Ok(Json(Paginated::new(
        users.into_iter().map(UserView::from).collect(),
        count,
        page,
        size,
    )))
}

/// Body of the role change.
#[derive(Debug, Deserialize, ToSchema)]
pub struct SetRole {
    /// `driver`, `host` or `admin`.
    pub role: String,
}

/// Changes an account's role; it applies to the account's next request.
/// Roles: admin.
#[utoipa::path(put, path = "/api/v1/admin/users/{id}/role", tag = "admin", security(("bearer" = [])),
    params(("id" = String, Path, description = "account id")), request_body = SetRole,
    responses((status = 200, body = UserView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn set_role(
    State(state): State<AppState>,
    admin: AdminAccess,
    Path(id): Path<String>,
    Json(body): Json<SetRole>,
) -> ApiResult<Json<UserView>> {
    let not_found = || ApiError::not_found("user_not_found", "no account has this id");
    let id: UserId = id.parse().map_err(|_| not_found())?;
    let role: Role = body.role.parse()?;
    state
        .store
        .set_role(id, role, state.clock.now())
        .await
        .map_err(|e| match e {
            StoreError::NotFound => not_found(),
            other => other.into(),
        })?;
    tracing::info!(user = %id, role = %role, by = ?admin.0.principal(), "role changed");
    let user = state.store.find_user(id).await?.ok_or_else(not_found)?;
    Ok(Json(user.into()))
}
