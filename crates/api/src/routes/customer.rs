//! Seed 001's `/api/v1/customer/...` profile updates.

use axum::extract::State;
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::SignedIn;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::Json;
use crate::routes::user::{profile_view, ProfileView};
use crate::AppState;
use plugway_app::accounts;

/// The router.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(update_notification_token))
        .routes(routes!(update_info))
}

/// Body of `update-notification-token`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct NotificationToken {
    /// The device's Firebase Cloud Messaging token.
    #[serde(rename = "FCMToken")]
    pub fcm_token: String,
}

/// Body of `update-info`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct UpdateInfo {
    /// Display name (1 to 100 characters).
    pub name: String,
    /// E-mail; empty or absent clears it.
    pub email: Option<String>,
}

/// Stores the push token of the calling device (one per session). Roles:
/// any signed-in person.
#[utoipa::path(post, path = "/api/v1/customer/update-notification-token", tag = "accounts",
    security(("bearer" = [])), request_body = NotificationToken,
    responses((status = 200, body = serde_json::Value), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update_notification_token(
    State(state): State<AppState>,
    who: SignedIn,
    Json(body): Json<NotificationToken>,
) -> ApiResult<Json<serde_json::Value>> {
    let token = body.fcm_token.trim();
    if token.is_empty() || token.len() > 4096 || token.chars().any(char::is_whitespace) {
        return Err(ApiError::invalid_field(
            "FCMToken",
            "must be a non-empty token without spaces",
        ));
    }
    state
        .store
        .upsert_push_token(who.user.id, who.session, token, state.clock.now())
        .await?;
    Ok(Json(serde_json::json!({})))
}

/// Sets name and e-mail; returns the profile. Roles: any signed-in person.
#[utoipa::path(post, path = "/api/v1/customer/update-info", tag = "accounts",
    security(("bearer" = [])), request_body = UpdateInfo,
    responses((status = 200, body = ProfileView), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update_info(
    State(state): State<AppState>,
    who: SignedIn,
    Json(body): Json<UpdateInfo>,
) -> ApiResult<Json<ProfileView>> {
    accounts::update_info(&state, &who.user, &body.name, body.email.as_deref()).await?;
    let user = state
        .store
        .find_user(who.user.id)
        .await?
        .ok_or_else(|| ApiError::internal("account vanished"))?;
    Ok(Json(profile_view(&state, &user).await?))
}
