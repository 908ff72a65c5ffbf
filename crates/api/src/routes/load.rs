//! Site load management over HTTP: a host (for its own sites) or an admin
//! sets a site's power limit, reads it, removes it, and reads every sharing
//! of it — what each connector was allowed, what it drew and how its charger
//! answered (docs/load-management.md). Power is in kW on the way in and out
//! (watts too, where a sharing is recorded).

use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, NaiveTime, Utc};
use plugway_domain::load::{LimitPeriod, PowerLimit};
use plugway_store::{LoadAllocation, LoadChange, SitePowerLimit};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::{Caller, OperatorAccess};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{Json, Path, Query};
use crate::routes::network::parse_site_id;
use crate::AppState;

/// The router.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_limit, put_limit, delete_limit))
        .routes(routes!(list_changes))
}

/// A site's power limit, as set.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PowerLimitInput {
    /// The grid connection's limit, kW, outside any period (more than 0).
    pub max_power_kw: f64,
    /// Kept free under the limit, kW (default 0).
    #[serde(default)]
    pub margin_kw: f64,
    /// The least a running session gets while the limit allows it, and what
    /// an idle connector keeps for a car that starts there, kW (default 0:
    /// a new session starts paused until its share comes, a second later).
    #[serde(default)]
    pub min_session_kw: f64,
    /// The static limit set on the chargers at installation, kW: a charger
    /// that takes no charging profile is counted at this (default: its
    /// connector's maximum).
    pub fallback_kw: Option<f64>,
    /// Time-of-day limits in the site's local time, replacing
    /// `max_power_kw` while they last.
    #[serde(default)]
    pub schedule: Vec<PeriodInput>,
}

/// A time-of-day limit.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PeriodInput {
    /// Start, `HH:MM` (site local time).
    pub from: String,
    /// End, `HH:MM`, exclusive; not after `from`: it runs past midnight.
    pub to: String,
    /// The limit while it lasts, kW.
    pub max_power_kw: f64,
}

/// A site's power limit.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PowerLimitView {
    /// The site.
    pub site_id: String,
    /// kW.
    pub max_power_kw: f64,
    /// kW.
    pub margin_kw: f64,
    /// kW.
    pub min_session_kw: f64,
    /// kW; null: each connector's maximum.
    pub fallback_kw: Option<f64>,
    /// Time-of-day limits.
    pub schedule: Vec<PeriodInput>,
    /// Who set it: `user:<id>` or `api_key:<id>`.
    pub set_by: String,
    /// When.
    pub updated_at: DateTime<Utc>,
}

/// One connector's share at one sharing.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AllocationView {
    /// The charge point.
    pub charge_point_id: String,
    /// Its connector (1.6) or EVSE (2.0.1).
    pub connector_id: i64,
    /// The transaction running there, if one was.
    pub transaction_id: Option<i64>,
    /// The allowance, W.
    pub allowed_w: i64,
    /// The allowance, kW.
    pub allowed_kw: f64,
    /// Its latest power reading, W, if it sent one.
    pub measured_w: Option<i64>,
    /// `accepted`, `unchanged`, `rejected`, `no_answer`, `offline`,
    /// `fallback` (counted at its static limit), `cleared`.
    pub outcome: String,
}

/// One sharing of a site's limit.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct LoadChangeView {
    /// Its id (pass as `before` for the next page).
    pub id: i64,
    /// When.
    pub at: DateTime<Utc>,
    /// `limit_set`, `limit_removed`, `session_started`, `session_stopped`,
    /// `measured`, `schedule`.
    pub reason: String,
    /// Who asked, when someone did.
    pub requested_by: Option<String>,
    /// The budget shared (the limit less the margin), kW.
    pub budget_kw: f64,
    /// What each connector was allowed.
    pub allocations: Vec<AllocationView>,
}

/// What setting a limit did.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct LimitSetView {
    /// The limit.
    pub limit: PowerLimitView,
    /// The sharing it caused.
    pub sharing: Option<LoadChangeView>,
}

/// A page of sharings, newest first.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct LoadChangesPage {
    /// The sharings.
    pub items: Vec<LoadChangeView>,
    /// Pass as `before` for older ones; null on the last page.
    pub next_before: Option<i64>,
}

/// Paging of the sharings.
#[derive(Debug, Deserialize, IntoParams)]
pub struct ChangesQuery {
    /// Only sharings older than this id.
    pub before: Option<i64>,
    /// At most this many (1–100, default 20).
    pub limit: Option<i64>,
}

fn kw(w: i64) -> f64 {
    w as f64 / 1000.0
}

fn watts(field: &'static str, kw: f64) -> ApiResult<i64> {
    if !kw.is_finite() || !(0.0..=1_000_000.0).contains(&kw) {
        return Err(ApiError::invalid_field(
            field,
            "must be a number of kW between 0 and 1000000",
        ));
    }
    Ok((kw * 1000.0).round() as i64)
}

fn time_of_day(field: &'static str, text: &str) -> ApiResult<NaiveTime> {
    NaiveTime::parse_from_str(text.trim(), "%H:%M")
        .map_err(|_| ApiError::invalid_field(field, "must be a time of day as HH:MM"))
}

impl PowerLimitInput {
    fn into_limit(self) -> ApiResult<PowerLimit> {
        let schedule = self
            .schedule
            .iter()
            .map(|p| {
                Ok(LimitPeriod {
                    from: time_of_day("schedule.from", &p.from)?,
                    to: time_of_day("schedule.to", &p.to)?,
                    max_power_w: watts("schedule.max_power_kw", p.max_power_kw)?,
                })
            })
            .collect::<ApiResult<Vec<_>>>()?;
        Ok(PowerLimit {
            max_power_w: watts("max_power_kw", self.max_power_kw)?,
            margin_w: watts("margin_kw", self.margin_kw)?,
            min_session_w: watts("min_session_kw", self.min_session_kw)?,
            // No static limit given: a connector's maximum bounds it anyway.
            fallback_w: match self.fallback_kw {
                Some(kw) => watts("fallback_kw", kw)?,
                None => plugway_domain::load::MAX_SITE_POWER_W,
            },
            schedule,
        })
    }
}

fn limit_view(limit: SitePowerLimit) -> PowerLimitView {
    let l = limit.limit;
    PowerLimitView {
        site_id: limit.site_id.to_text(),
        max_power_kw: kw(l.max_power_w),
        margin_kw: kw(l.margin_w),
        min_session_kw: kw(l.min_session_w),
        fallback_kw: (l.fallback_w < plugway_domain::load::MAX_SITE_POWER_W)
            .then(|| kw(l.fallback_w)),
        schedule: l
            .schedule
            .iter()
            .map(|p| PeriodInput {
                from: p.from.format("%H:%M").to_string(),
                to: p.to.format("%H:%M").to_string(),
                max_power_kw: kw(p.max_power_w),
            })
            .collect(),
        set_by: limit.set_by,
        updated_at: limit.updated_at,
    }
}

fn allocation_view(a: LoadAllocation) -> AllocationView {
    AllocationView {
        charge_point_id: a.charge_point_id,
        connector_id: a.connector_id,
        transaction_id: a.transaction_id,
        allowed_w: a.allowed_w,
        allowed_kw: kw(a.allowed_w),
        measured_w: a.measured_w,
        outcome: a.outcome,
    }
}

fn change_view(c: LoadChange) -> LoadChangeView {
    LoadChangeView {
        id: c.id,
        at: c.at,
        reason: c.reason,
        requested_by: c.requested_by,
        budget_kw: kw(c.budget_w),
        allocations: c.allocations.into_iter().map(allocation_view).collect(),
    }
}

/// Who is asking, as the records name them.
fn who(access: &OperatorAccess) -> String {
    match &access.0 {
        Caller::Person { user, .. } => format!("user:{}", user.id),
        Caller::Key(key) => format!("api_key:{}", key.id),
    }
}

fn no_limit() -> ApiError {
    ApiError::not_found("power_limit_not_found", "the site has no power limit")
}

/// A site's power limit.
#[utoipa::path(get, path = "/api/v1/host/sites/{id}/power-limit", tag = "load",
    responses((status = 200, body = PowerLimitView), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
async fn get_limit(
    State(state): State<AppState>,
    access: OperatorAccess,
    Path(id): Path<String>,
) -> ApiResult<Json<PowerLimitView>> {
    let site = parse_site_id(&id)?;
    let limit = plugway_app::load::power_limit(&state, access.manager(), site)
        .await?
        .ok_or_else(no_limit)?;
    Ok(Json(limit_view(limit)))
}

/// Sets (or replaces) a site's power limit and shares it among the
/// sessions charging there at once: the answer carries that sharing, with
/// each charger's answer to its new charging profile.
#[utoipa::path(put, path = "/api/v1/host/sites/{id}/power-limit", tag = "load",
    request_body = PowerLimitInput,
    responses((status = 200, body = LimitSetView), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
async fn put_limit(
    State(state): State<AppState>,
    access: OperatorAccess,
    Path(id): Path<String>,
    Json(input): Json<PowerLimitInput>,
) -> ApiResult<Json<LimitSetView>> {
    let site = parse_site_id(&id)?;
    let limit = input.into_limit()?;
    let (stored, sharing) =
        plugway_app::load::set_power_limit(&state, access.manager(), site, limit, who(&access))
            .await?;
    Ok(Json(LimitSetView {
        limit: limit_view(stored),
        sharing: sharing.map(change_view),
    }))
}

/// Removes a site's power limit; the charging profiles it set are cleared
/// from the site's chargers.
#[utoipa::path(delete, path = "/api/v1/host/sites/{id}/power-limit", tag = "load",
    responses((status = 204), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
async fn delete_limit(
    State(state): State<AppState>,
    access: OperatorAccess,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let site = parse_site_id(&id)?;
    plugway_app::load::remove_power_limit(&state, access.manager(), site, who(&access)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Every sharing of a site's limit, newest first: why, the budget, and what
/// each connector was allowed, drew and answered.
#[utoipa::path(get, path = "/api/v1/host/sites/{id}/load-changes", tag = "load",
    params(ChangesQuery),
    responses((status = 200, body = LoadChangesPage), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
async fn list_changes(
    State(state): State<AppState>,
    access: OperatorAccess,
    Path(id): Path<String>,
    Query(query): Query<ChangesQuery>,
) -> ApiResult<Json<LoadChangesPage>> {
    let site = parse_site_id(&id)?;
    let limit = query.limit.unwrap_or(20);
    if !(1..=100).contains(&limit) {
        return Err(ApiError::invalid_field(
            "limit",
            "must be between 1 and 100",
        ));
    }
    let changes =
        plugway_app::load::load_changes(&state, access.manager(), site, query.before, limit)
            .await?;
    let next_before = (changes.len() as i64 == limit)
        .then(|| changes.last().map(|c| c.id))
        .flatten();
    Ok(Json(LoadChangesPage {
        items: changes.into_iter().map(change_view).collect(),
        next_before,
    }))
}
