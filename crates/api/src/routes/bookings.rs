//! Bookings (seed 000's appointments) in the canonical API: drivers book,
//! list, read and cancel; hosts see their chargers' bookings and counts;
//! anyone signed in sees when an EVSE is taken.

use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Duration, Utc};
use plugway_domain::booking::{check_requested_status, BookingStatus};
use plugway_domain::{BookingId, EvseId};
use plugway_store::{Booking, BookingFilter, HoldState};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{PageQuery, Paginated};
use crate::auth::{OperatorAccess, SignedIn};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{Json, Path, Query};
use crate::AppState;
use plugway_app::bookings::{self, BookingRequest};

/// The router.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_booking, list_bookings))
        .routes(routes!(get_booking))
        .routes(routes!(cancel_booking))
        .routes(routes!(set_status))
        .routes(routes!(availability))
        .routes(routes!(host_bookings))
        .routes(routes!(host_booking_summary))
        .routes(routes!(host_evse_bookings))
}

/// Body of `POST /bookings`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct NewBookingBody {
    /// The EVSE (seed 000's `app_socket`).
    #[serde(alias = "app_socket")]
    pub evse_id: String,
    /// Start, RFC 3339, on a 5-minute boundary (seed 000's `app_date_time`).
    #[serde(alias = "app_date_time")]
    #[schema(example = "2026-11-24T14:00:00Z")]
    pub starts_at: String,
    /// Length in minutes, a multiple of 5 (15 to 720 by default).
    #[schema(example = 60)]
    pub duration_minutes: i64,
    /// The driver's vehicle (one of theirs, 404 `vehicle_not_found`
    /// otherwise): it must fit a connector of the EVSE (409
    /// `vehicle_incompatible`) and its battery caps the estimate.
    pub vehicle_id: Option<String>,
}

/// A booking as drivers and hosts see it. The `app_*` fields repeat it in
/// seed 000's appointment names.
#[derive(Debug, Serialize, ToSchema)]
pub struct BookingView {
    /// Its id.
    pub id: String,
    /// The EVSE booked.
    pub evse_id: String,
    /// Its site.
    pub site_id: String,
    /// upcoming, in_progress, completed, cancelled or no_show.
    pub status: String,
    /// Start (RFC 3339).
    pub starts_at: String,
    /// End (RFC 3339), exclusive.
    pub ends_at: String,
    /// Length in minutes.
    pub duration_minutes: i64,
    /// The price shown when booking, tax included, major units; the session
    /// is billed on what it really uses.
    pub estimate: f64,
    /// The estimate in minor units.
    pub estimate_minor: i64,
    /// ISO 4217.
    pub currency: String,
    /// Energy the estimate assumed, Wh.
    pub estimate_energy_wh: i64,
    /// The vehicle named.
    pub vehicle_id: Option<String>,
    /// driver, host or admin, when cancelled.
    pub cancelled_by: Option<String>,
    /// The host's reason, when given.
    pub cancel_reason: Option<String>,
    /// The session that used the slot.
    pub session_id: Option<String>,
    /// The charger holds the connector for this booking (OCPP ReserveNow).
    pub held_on_charger: bool,
    /// The OCPP reservation id the charger knows it by.
    pub reservation_id: i64,
    /// Made (RFC 3339).
    pub created_at: String,
    /// Seed 000: the start.
    pub app_date_time: String,
    /// Seed 000: the length in hours.
    pub app_duration: f64,
    /// Seed 000: the amount.
    pub app_amt: f64,
    /// Seed 000: "Upcoming", "In Progress", "Completed", "Cancelled", "No Show".
    pub app_status: String,
    /// Seed 000: the socket (EVSE).
    pub app_socket: String,
    /// Seed 000: the charger (site).
    pub app_charger: String,
}

fn seed_status(s: BookingStatus) -> &'static str {
    match s {
        BookingStatus::Upcoming => "Upcoming",
        BookingStatus::InProgress => "In Progress",
        BookingStatus::Completed => "Completed",
        BookingStatus::Cancelled => "Cancelled",
        BookingStatus::NoShow => "No Show",
    }
}

/// The view of a stored booking.
pub fn view(b: &Booking) -> BookingView {
    let minutes = (b.slot.ends_at - b.slot.starts_at).num_minutes();
    let estimate = b.currency.to_major(b.estimate);
    let start = b.slot.starts_at.to_rfc3339();
    BookingView {
        id: b.id.to_text(),
        evse_id: b.evse_id.to_text(),
        site_id: b.site_id.to_text(),
        status: b.status.as_str().to_owned(),
        starts_at: start.clone(),
        ends_at: b.slot.ends_at.to_rfc3339(),
        duration_minutes: minutes,
        estimate,
        estimate_minor: b.estimate,
        currency: b.currency.code().to_owned(),
        estimate_energy_wh: b.estimate_energy_wh,
        vehicle_id: b.vehicle_id.clone(),
        cancelled_by: b.cancelled_by.clone(),
        cancel_reason: b.cancel_reason.clone(),
        session_id: b.session_id.map(|s| s.to_text()),
        held_on_charger: b.hold == HoldState::Held,
        reservation_id: plugway_domain::booking::reservation_id(b.seq),
        created_at: b.created_at.to_rfc3339(),
        app_date_time: start,
        #[allow(clippy::cast_precision_loss)] // minutes are small
        app_duration: minutes as f64 / 60.0,
        app_amt: estimate,
        app_status: seed_status(b.status).to_owned(),
        app_socket: b.evse_id.to_text(),
        app_charger: b.site_id.to_text(),
    }
}

fn parse_booking_id(id: &str) -> ApiResult<BookingId> {
    id.parse()
        .map_err(|_| ApiError::not_found("booking_not_found", "no such booking"))
}

fn parse_time(field: &'static str, text: &str) -> ApiResult<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text.trim())
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| {
            ApiError::invalid_field(field, "must be an RFC 3339 time, e.g. 2026-11-24T14:00:00Z")
        })
}

/// Parses `status=upcoming,completed` (seed 000 spellings too).
fn parse_statuses(text: Option<&str>) -> ApiResult<Vec<BookingStatus>> {
    let Some(text) = text.filter(|t| !t.trim().is_empty()) else {
        return Ok(Vec::new());
    };
    text.split(',')
        .map(|s| {
            BookingStatus::parse(s).ok_or_else(|| {
                ApiError::invalid_field(
                    "status",
                    "must be upcoming, in_progress, completed, cancelled or no_show (comma-separated)",
                )
            })
        })
        .collect()
}

/// Makes a booking. The slot must be free (409 `slot_taken`), the site open
/// for all of it (409 `site_closed`), and the driver under the limit of
/// upcoming bookings (409 `booking_limit`). Roles: any signed-in person.
#[utoipa::path(post, path = "/api/v1/bookings", tag = "bookings",
    security(("bearer" = [])), request_body = NewBookingBody,
    responses(
        (status = 201, body = BookingView),
        (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody, description = "`device_not_found`"),
        (status = 409, body = ErrorBody, description = "`slot_taken`, `site_closed`, `booking_limit` or `vehicle_incompatible`"),
        (status = 422, body = ErrorBody)))]
async fn create_booking(
    State(state): State<AppState>,
    who: SignedIn,
    Json(body): Json<NewBookingBody>,
) -> ApiResult<(StatusCode, Json<BookingView>)> {
    let evse: EvseId = body
        .evse_id
        .trim()
        .parse()
        .map_err(|_| ApiError::not_found("device_not_found", "no such device"))?;
    let starts_at = parse_time("starts_at", &body.starts_at)?;
    let vehicle = body
        .vehicle_id
        .as_deref()
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(plugway_app::vehicles::parse_vehicle_id)
        .transpose()?;
    let booking = bookings::create(
        &state,
        who.user.id,
        BookingRequest {
            evse,
            starts_at,
            duration_minutes: body.duration_minutes,
            vehicle,
        },
    )
    .await?;
    Ok((StatusCode::CREATED, Json(view(&booking))))
}

/// `status` filter of the lists.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StatusQuery {
    /// Comma-separated statuses (upcoming, in_progress, completed, cancelled, no_show); all when absent.
    pub status: Option<String>,
}

/// The caller's bookings, latest start first. Roles: any signed-in person.
#[utoipa::path(get, path = "/api/v1/bookings", tag = "bookings",
    security(("bearer" = [])), params(PageQuery, StatusQuery),
    responses((status = 200, body = Paginated<BookingView>), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn list_bookings(
    State(state): State<AppState>,
    who: SignedIn,
    Query(page): Query<PageQuery>,
    Query(query): Query<StatusQuery>,
) -> ApiResult<Json<Paginated<BookingView>>> {
    let filter = BookingFilter {
        user: Some(who.user.id),
        statuses: parse_statuses(query.status.as_deref())?,
        newest_first: true,
        ..BookingFilter::default()
    };
    page_of(&state, &filter, page).await
}

async fn page_of(
    state: &AppState,
    filter: &BookingFilter,
    page: PageQuery,
) -> ApiResult<Json<Paginated<BookingView>>> {
    let (page, size, offset) = page.resolve()?;
    let rows = state.store.list_bookings(filter, offset, size).await?;
    let count = state.store.count_bookings(filter).await?;
    Ok(Json(Paginated::new(
        rows.iter().map(view).collect(),
        count,
        page,
        size,
    )))
}

/// One booking: the driver's own, or one on the caller's sites for a host,
/// or any for an admin; others answer 404. Roles: any signed-in person.
#[utoipa::path(get, path = "/api/v1/bookings/{id}", tag = "bookings",
    security(("bearer" = [])), params(("id" = String, Path, description = "booking id")),
    responses((status = 200, body = BookingView), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn get_booking(
    State(state): State<AppState>,
    who: SignedIn,
    Path(id): Path<String>,
) -> ApiResult<Json<BookingView>> {
    let id = parse_booking_id(&id)?;
    let viewer = (who.user.role != plugway_domain::Role::Admin).then_some(who.user.id);
    let (booking, _) = bookings::visible(&state, id, viewer).await?;
    Ok(Json(view(&booking)))
}

/// Body of a cancellation.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct CancelBody {
    /// Why (shown to the driver when a host cancels); at most 500 characters.
    pub reason: Option<String>,
}

fn checked_reason(reason: Option<String>) -> ApiResult<Option<String>> {
    let reason = reason
        .map(|r| r.trim().to_owned())
        .filter(|r| !r.is_empty());
    if reason.as_ref().is_some_and(|r| r.chars().count() > 500) {
        return Err(ApiError::invalid_field(
            "reason",
            "must be at most 500 characters",
        ));
    }
    Ok(reason)
}

/// Cancels a booking: the driver until `[bookings] cancel_deadline_minutes`
/// before the start (409 `cancellation_deadline_passed`), the site's host or
/// an admin until it starts; a booking already started or over is 409
/// `booking_state`. Cancelling twice answers the cancelled booking.
#[utoipa::path(post, path = "/api/v1/bookings/{id}/cancel", tag = "bookings",
    security(("bearer" = [])), params(("id" = String, Path, description = "booking id")), request_body = CancelBody,
    responses((status = 200, body = BookingView), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn cancel_booking(
    State(state): State<AppState>,
    who: SignedIn,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> ApiResult<Json<BookingView>> {
    let id = parse_booking_id(&id)?;
    // The body is optional: an empty POST cancels without a reason.
    let body: CancelBody = if body.iter().all(u8::is_ascii_whitespace) {
        CancelBody::default()
    } else {
        serde_json::from_slice(&body).map_err(|e| {
            ApiError::bad_request(
                "invalid_json",
                format!("the body is not valid JSON for this endpoint: {e}"),
            )
        })?
    };
    let reason = checked_reason(body.reason)?;
    let caller = (who.user.role != plugway_domain::Role::Admin).then_some(who.user.id);
    let booking = bookings::cancel(&state, id, caller, reason).await?;
    Ok(Json(view(&booking)))
}

/// Body of seed 000's appointment status update.
#[derive(Debug, Deserialize, ToSchema)]
pub struct StatusBody {
    /// The new status (seed 000's `app_status`); only `cancelled` may be
    /// set by people, the others follow from the charger.
    #[serde(alias = "app_status")]
    pub status: String,
    /// Why, for a host's cancellation.
    pub reason: Option<String>,
}

/// Seed 000's AppointmentStatus: sets a booking's status. Only `cancelled`
/// is accepted (422 `status_not_settable` otherwise), with the rules of
/// `POST /bookings/{id}/cancel`.
#[utoipa::path(put, path = "/api/v1/bookings/{id}/status", tag = "bookings",
    security(("bearer" = [])), params(("id" = String, Path, description = "booking id")), request_body = StatusBody,
    responses((status = 200, body = BookingView), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn set_status(
    State(state): State<AppState>,
    who: SignedIn,
    Path(id): Path<String>,
    Json(body): Json<StatusBody>,
) -> ApiResult<Json<BookingView>> {
    let id = parse_booking_id(&id)?;
    let status = BookingStatus::parse(&body.status).ok_or_else(|| {
        ApiError::invalid_field(
            "status",
            "must be upcoming, in_progress, completed, cancelled or no_show",
        )
    })?;
    check_requested_status(status)
        .map_err(|r| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, r.code(), r.to_string()))?;
    let reason = checked_reason(body.reason)?;
    let caller = (who.user.role != plugway_domain::Role::Admin).then_some(who.user.id);
    let booking = bookings::cancel(&state, id, caller, reason).await?;
    Ok(Json(view(&booking)))
}

/// A window of time.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct WindowQuery {
    /// From (RFC 3339); now when absent.
    pub from: Option<String>,
    /// To (RFC 3339); 7 days after `from` when absent; at most 31 days after it.
    pub to: Option<String>,
}

/// A taken time span.
#[derive(Debug, Serialize, ToSchema)]
pub struct BusySlot {
    /// Start (RFC 3339).
    pub starts_at: String,
    /// End (RFC 3339), exclusive.
    pub ends_at: String,
}

/// When an EVSE is booked between `from` and `to`, so an app can offer the
/// free slots. Shows times only, never who booked. Roles: any signed-in person.
#[utoipa::path(get, path = "/api/v1/evses/{id}/availability", tag = "bookings",
    security(("bearer" = [])), params(("id" = String, Path, description = "EVSE id"), WindowQuery),
    responses((status = 200, body = serde_json::Value, example = json!({"evse_id": "…", "busy": [{"starts_at": "2026-11-24T14:00:00+00:00", "ends_at": "2026-11-24T15:00:00+00:00"}]})),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn availability(
    State(state): State<AppState>,
    _who: SignedIn,
    Path(id): Path<String>,
    Query(window): Query<WindowQuery>,
) -> ApiResult<Json<serde_json::Value>> {
    let evse: EvseId = id
        .parse()
        .map_err(|_| ApiError::not_found("device_not_found", "no such device"))?;
    let (evse, _) = plugway_app::network::usable_evse(&state, evse).await?;
    let from = match window.from.as_deref() {
        Some(t) => parse_time("from", t)?,
        None => state.clock.now(),
    };
    let to = match window.to.as_deref() {
        Some(t) => parse_time("to", t)?,
        None => from + Duration::days(7),
    };
    if to <= from || to - from > Duration::days(31) {
        return Err(ApiError::invalid_field(
            "to",
            "must be after `from` and at most 31 days after it",
        ));
    }
    let filter = BookingFilter {
        evse: Some(evse.id),
        statuses: vec![BookingStatus::Upcoming, BookingStatus::InProgress],
        ends_after: Some(from),
        ..BookingFilter::default()
    };
    // Live bookings of one EVSE in 31 days are bounded by the slot rules
    // (at least 15 minutes each): 3,000 covers them.
    let rows = state.store.list_bookings(&filter, 0, 3_000).await?;
    let busy: Vec<BusySlot> = rows
        .iter()
        .filter(|b| b.slot.starts_at < to)
        .map(|b| BusySlot {
            starts_at: b.slot.starts_at.to_rfc3339(),
            ends_at: b.slot.ends_at.to_rfc3339(),
        })
        .collect();
    Ok(Json(
        json!({"evse_id": evse.id.to_text(), "from": from.to_rfc3339(), "to": to.to_rfc3339(), "busy": busy}),
    ))
}

/// The bookings of a host's sites with their count per status (seed 000's
/// AllAppointments); an admin sees every site's. Roles: host, admin.
#[utoipa::path(get, path = "/api/v1/host/bookings", tag = "bookings",
    security(("bearer" = [])), params(PageQuery, StatusQuery),
    responses((status = 200, body = serde_json::Value, description = "`counts` per status, then the page: `count`, `next`, `previous`, `results`"),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn host_bookings(
    State(state): State<AppState>,
    who: OperatorAccess,
    Query(page): Query<PageQuery>,
    Query(query): Query<StatusQuery>,
) -> ApiResult<Json<serde_json::Value>> {
    let all = BookingFilter {
        host: who.host(),
        ..BookingFilter::default()
    };
    let mut counts = serde_json::Map::new();
    for s in BookingStatus::ALL {
        counts.insert(s.as_str().to_owned(), json!(0));
    }
    for (s, n) in state.store.count_bookings_by_status(&all).await? {
        counts.insert(s.as_str().to_owned(), json!(n));
    }
    let filter = BookingFilter {
        statuses: parse_statuses(query.status.as_deref())?,
        ..all
    };
    let Json(listed) = page_of(&state, &filter, page).await?;
    Ok(Json(json!({
        "counts": counts,
        "count": listed.count,
        "next": listed.next,
        "previous": listed.previous,
        "results": listed.results,
    })))
}

/// An EVSE with its number of upcoming bookings.
#[derive(Debug, Serialize, ToSchema)]
pub struct EvseBookingCount {
    /// The EVSE.
    pub evse_id: String,
    /// Its code.
    pub evse_code: String,
    /// Its site.
    pub site_id: String,
    /// The site's name.
    pub site_name: String,
    /// Upcoming bookings.
    pub upcoming: i64,
}

/// Every EVSE of the caller's sites with its number of upcoming bookings
/// (seed 000's BookingHost), busiest first. Roles: host; an admin person
/// sees the sites they host themselves, if any (API keys: 403).
#[utoipa::path(get, path = "/api/v1/host/booking-summary", tag = "bookings",
    security(("bearer" = [])),
    responses((status = 200, body = Vec<EvseBookingCount>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn host_booking_summary(
    State(state): State<AppState>,
    who: OperatorAccess,
) -> ApiResult<Json<Vec<EvseBookingCount>>> {
    let host = match &who.0 {
        crate::auth::Caller::Person { user, .. } => user.id,
        crate::auth::Caller::Key(_) => {
            return Err(ApiError::forbidden("this endpoint is for signed-in hosts"))
        }
    };
    let counts = state.store.upcoming_booking_counts(host).await?;
    let mut rows = Vec::new();
    let sites = state
        .store
        .list_sites(
            &plugway_store::SiteListFilter {
                host: Some(host),
                approval: None,
                visible_only: false,
            },
            0,
            1_000,
        )
        .await?;
    let evses = state
        .store
        .list_evses(
            &plugway_store::EvseListFilter {
                host: Some(host),
                ..plugway_store::EvseListFilter::default()
            },
            0,
            10_000,
        )
        .await?;
    for evse in evses {
        let upcoming = counts
            .iter()
            .find(|(id, _)| *id == evse.id)
            .map_or(0, |(_, n)| *n);
        let site_name = sites
            .iter()
            .find(|s| s.id == evse.site_id)
            .map(|s| s.fields.name.clone())
            .unwrap_or_default();
        rows.push(EvseBookingCount {
            evse_id: evse.id.to_text(),
            evse_code: evse.fields.evse_code.clone(),
            site_id: evse.site_id.to_text(),
            site_name,
            upcoming,
        });
    }
    rows.sort_by(|a, b| {
        b.upcoming
            .cmp(&a.upcoming)
            .then(a.evse_code.cmp(&b.evse_code))
    });
    Ok(Json(rows))
}

/// The upcoming bookings of one of the host's EVSEs, soonest first (seed
/// 000's ChargerAppointments). Roles: the owning host, admin.
#[utoipa::path(get, path = "/api/v1/host/evses/{id}/bookings", tag = "bookings",
    security(("bearer" = [])), params(("id" = String, Path, description = "EVSE id"), PageQuery),
    responses((status = 200, body = Paginated<BookingView>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn host_evse_bookings(
    State(state): State<AppState>,
    who: OperatorAccess,
    Path(id): Path<String>,
    Query(page): Query<PageQuery>,
) -> ApiResult<Json<Paginated<BookingView>>> {
    let not_found = || ApiError::not_found("evse_not_found", "no such EVSE");
    let evse_id: EvseId = id.parse().map_err(|_| not_found())?;
    let evse = state
        .store
        .find_evse(evse_id)
        .await?
        .ok_or_else(not_found)?;
    // The host must own the EVSE's site; others see 404.
    super::network::managed_site(&state, &who, evse.site_id)
        .await
        .map_err(|_| not_found())?;
    let filter = BookingFilter {
        evse: Some(evse.id),
        statuses: vec![BookingStatus::Upcoming],
        ..BookingFilter::default()
    };
    page_of(&state, &filter, page).await
}
