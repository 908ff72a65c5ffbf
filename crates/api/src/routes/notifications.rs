//! Seed 000's notifications in the canonical API: a user's own list, unread
//! count and read marks; admins send notifications to users (stored, and
//! pushed to their devices through FCM when push is configured).

use std::collections::{BTreeMap, BTreeSet};

use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, SecondsFormat, Utc};
use plugway_domain::notifications::{NewNotification, NotificationId, NotificationKind};
use plugway_domain::UserId;
use plugway_store::Notification;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::{AdminAccess, SignedIn};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{Json, Path, Query};
use crate::routes::PageQuery;
use crate::AppState;
use plugway_app::notify;

/// Most recipients of one admin notification.
pub const MAX_RECIPIENTS: usize = 500;

/// The router.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_notifications))
        .routes(routes!(unread_count))
        .routes(routes!(mark_read))
        .routes(routes!(mark_all_read))
        .routes(routes!(admin_send))
}

fn time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// A notification as its user sees it.
#[derive(Debug, Serialize, ToSchema)]
pub struct NotificationView {
    /// Its id.
    #[schema(example = "01963b7e-1c2d-7a8b-9c0d-112233445566")]
    pub id: String,
    /// What it is about (snake_case: `admin`, `session_started`, `payment_settled`, ...).
    #[schema(example = "session_started")]
    pub kind: String,
    /// Headline.
    #[schema(example = "Charging started")]
    pub title: String,
    /// Text.
    #[schema(example = "Your charging session has started.")]
    pub body: String,
    /// Ids for the app to open (string values).
    #[schema(value_type = Object, example = json!({"session_id": "01963b7e-0000-7000-8000-000000000001"}))]
    pub data: BTreeMap<String, String>,
    /// Read already.
    pub read: bool,
    /// When it was read (RFC 3339), or null.
    pub read_at: Option<String>,
    /// Created (RFC 3339).
    #[schema(example = "2026-05-01T10:00:00.000Z")]
    pub created_at: String,
}

fn view(n: Notification) -> NotificationView {
    NotificationView {
        id: n.id.to_text(),
        kind: n.kind.as_str().to_owned(),
        title: n.title,
        body: n.body,
        data: n.data,
        read: n.read_at.is_some(),
        read_at: n.read_at.map(time),
        created_at: time(n.created_at),
    }
}

/// A page of notifications (seed 002's list shape) with the unread count.
#[derive(Debug, Serialize, ToSchema)]
pub struct NotificationPage {
    /// Notifications in all pages.
    pub count: i64,
    /// The next page's number, or null on the last.
    pub next: Option<i64>,
    /// The previous page's number, or null on the first.
    pub previous: Option<i64>,
    /// This page, newest first.
    pub results: Vec<NotificationView>,
    /// Unread notifications in all pages.
    pub unread: i64,
}

/// The caller's notifications, newest first, with how many are unread.
#[utoipa::path(get, path = "/api/v1/notifications", tag = "notifications", params(PageQuery),
    responses((status = 200, body = NotificationPage), (status = 401, body = ErrorBody),
        (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
async fn list_notifications(
    State(state): State<AppState>,
    who: SignedIn,
    Query(page): Query<PageQuery>,
) -> ApiResult<Json<NotificationPage>> {
    let (page, size, offset) = page.resolve()?;
    let user = who.user.id;
    let results = state.store.list_notifications(user, offset, size).await?;
    let count = state.store.count_notifications(user).await?;
    let unread = state.store.count_unread_notifications(user).await?;
    let page =
        crate::routes::Paginated::new(results.into_iter().map(view).collect(), count, page, size);
    Ok(Json(NotificationPage {
        count: page.count,
        next: page.next,
        previous: page.previous,
        results: page.results,
        unread,
    }))
}

/// How many notifications are unread.
#[derive(Debug, Serialize, ToSchema)]
pub struct UnreadCount {
    /// Unread notifications.
    #[schema(example = 3)]
    pub unread: i64,
}

/// How many of the caller's notifications are unread (for a badge).
#[utoipa::path(get, path = "/api/v1/notifications/unread-count", tag = "notifications",
    responses((status = 200, body = UnreadCount), (status = 401, body = ErrorBody)),
    security(("bearer" = [])))]
async fn unread_count(
    State(state): State<AppState>,
    who: SignedIn,
) -> ApiResult<Json<UnreadCount>> {
    Ok(Json(UnreadCount {
        unread: state.store.count_unread_notifications(who.user.id).await?,
    }))
}

fn not_found() -> ApiError {
    ApiError::not_found("notification_not_found", "no such notification")
}

/// Marks one of the caller's notifications read (again is fine; the first
/// read time stays). Another user's notification is 404.
#[utoipa::path(post, path = "/api/v1/notifications/{id}/read", tag = "notifications",
    params(("id" = String, Path, description = "The notification's id")),
    responses((status = 200, body = NotificationView), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
async fn mark_read(
    State(state): State<AppState>,
    who: SignedIn,
    Path(id): Path<String>,
) -> ApiResult<Json<NotificationView>> {
    let id: NotificationId = id.parse().map_err(|_| not_found())?;
    let user = who.user.id;
    if !state
        .store
        .mark_notification_read(user, id, state.clock.now())
        .await?
    {
        return Err(not_found());
    }
    let note = state
        .store
        .find_notification(user, id)
        .await?
        .ok_or_else(not_found)?;
    Ok(Json(view(note)))
}

/// How many notifications a call changed.
#[derive(Debug, Serialize, ToSchema)]
pub struct MarkedRead {
    /// Notifications marked read now.
    #[schema(example = 2)]
    pub marked: u64,
    /// Unread after the call (0, unless new ones arrived meanwhile).
    pub unread: i64,
}

/// Marks all the caller's notifications read.
#[utoipa::path(post, path = "/api/v1/notifications/read-all", tag = "notifications",
    responses((status = 200, body = MarkedRead), (status = 401, body = ErrorBody)),
    security(("bearer" = [])))]
async fn mark_all_read(
    State(state): State<AppState>,
    who: SignedIn,
) -> ApiResult<Json<MarkedRead>> {
    let user = who.user.id;
    let marked = state
        .store
        .mark_all_notifications_read(user, state.clock.now())
        .await?;
    Ok(Json(MarkedRead {
        marked,
        unread: state.store.count_unread_notifications(user).await?,
    }))
}

/// An admin's notification to one user or several. Seed 000's field names
/// are accepted too: `N_customer` / `N_host` for `user_id`, `N_Title` for
/// `title`, `N_Description` for `body`.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"user_ids": ["01963b7e-1c2d-7a8b-9c0d-112233445566"],
    "title": "Welcome", "body": "You have successfully registered", "data": {"screen": "wallet"}}))]
pub struct SendNotificationBody {
    /// One recipient.
    #[serde(default, alias = "N_customer", alias = "N_host")]
    pub user_id: Option<String>,
    /// Several recipients (1 to 500, duplicates ignored).
    #[serde(default)]
    pub user_ids: Option<Vec<String>>,
    /// Headline, 1 to 100 characters.
    #[serde(alias = "N_Title")]
    pub title: String,
    /// Text, 1 to 1000 characters.
    #[serde(alias = "N_Description")]
    pub body: String,
    /// Up to 10 string entries for the app (keys of letters, digits, `_`).
    #[serde(default)]
    pub data: Option<BTreeMap<String, String>>,
    /// `admin` (the default) or `system`.
    #[serde(default)]
    pub kind: Option<String>,
}

/// One notification sent.
#[derive(Debug, Serialize, ToSchema)]
pub struct SentNotification {
    /// The recipient.
    pub user_id: String,
    /// Their notification.
    pub notification_id: String,
}

/// What an admin's send did.
#[derive(Debug, Serialize, ToSchema)]
pub struct SentNotifications {
    /// How many users were notified.
    pub sent: usize,
    /// One per user.
    pub notifications: Vec<SentNotification>,
    /// Pushes queued to their devices (sent in the background).
    pub pushes_queued: usize,
}

fn recipients(body: &SendNotificationBody) -> ApiResult<Vec<UserId>> {
    let mut texts: Vec<&String> = body.user_id.iter().collect();
    texts.extend(body.user_ids.iter().flatten());
    if texts.is_empty() {
        return Err(ApiError::invalid_field(
            "user_ids",
            "name at least one recipient (user_id or user_ids)",
        ));
    }
    let mut seen = BTreeSet::new();
    let mut users = Vec::new();
    for text in texts {
        let id: UserId = text.trim().parse().map_err(|_| {
            ApiError::invalid_field("user_ids", format!("{text:?} is not a user id"))
        })?;
        if seen.insert(id) {
            users.push(id);
        }
    }
    if users.len() > MAX_RECIPIENTS {
        return Err(ApiError::invalid_field(
            "user_ids",
            format!("at most {MAX_RECIPIENTS} recipients at once"),
        ));
    }
    Ok(users)
}

/// Sends a notification to users (admins only): stored in each user's list
/// and pushed to each of their devices in the background. All recipients
/// are checked first; an unknown one is 404 and nobody is notified.
#[utoipa::path(post, path = "/api/v1/admin/notifications", tag = "notifications",
    request_body = SendNotificationBody,
    responses((status = 201, body = SentNotifications), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
async fn admin_send(
    State(state): State<AppState>,
    _admin: AdminAccess,
    Json(body): Json<SendNotificationBody>,
) -> ApiResult<(StatusCode, Json<SentNotifications>)> {
    let kind = match body.kind.as_deref().map(str::trim) {
        None | Some("admin") => NotificationKind::Admin,
        Some("system") => NotificationKind::System,
        Some(_) => return Err(ApiError::invalid_field("kind", "must be admin or system")),
    };
    let users = recipients(&body)?;
    let mut note = NewNotification::new(kind, &body.title, &body.body)?;
    if let Some(data) = body.data.clone() {
        note = note.with_data_map(data)?;
    }
    for user in &users {
        if state.store.find_user(*user).await?.is_none() {
            return Err(ApiError::not_found(
                "user_not_found",
                format!("no user {user}"),
            ));
        }
    }
    let mut sent = Vec::with_capacity(users.len());
    let mut pushes_queued = 0;
    for user in users {
        let stored = notify::notify(&state, user, note.clone()).await?;
        pushes_queued += state.store.push_deliveries_of(stored.id).await?.len();
        sent.push(SentNotification {
            user_id: user.to_text(),
            notification_id: stored.id.to_text(),
        });
    }
    Ok((
        StatusCode::CREATED,
        Json(SentNotifications {
            sent: sent.len(),
            notifications: sent,
            pushes_queued,
        }),
    ))
}
