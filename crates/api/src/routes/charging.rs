//! Charging from the app (seed 001): start and finish on a device, the
//! driver's sessions and purchases with feedback; the host's earnings and
//! EVSE tariffs.

use axum::extract::{Path, Query, State};
use chrono::{DateTime, NaiveDate, NaiveTime, SecondsFormat, Utc, Weekday};
use plugway_domain::tariff::{Cost, Tariff, TariffPeriod};
use plugway_domain::{ChargingSessionId, Currency, EvseId, PurchaseId, UserId};
use plugway_store::{ChargingSession, Purchase};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::{OperatorAccess, SignedIn};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::Json;
use crate::routes::network::managed_evse;
use crate::routes::{Message, PageQuery, Paginated};
use crate::AppState;
use plugway_app::charging;

/// The router.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(start))
        .routes(routes!(finish))
        .routes(routes!(active_sessions))
        .routes(routes!(get_session))
        .routes(routes!(list_purchases))
        .routes(routes!(get_purchase))
        .routes(routes!(feedback))
        .routes(routes!(earnings))
        .routes(routes!(earning_sessions))
        .routes(routes!(get_tariff, put_tariff, delete_tariff))
}

fn parse_device(id: &str) -> ApiResult<EvseId> {
    id.parse()
        .map(EvseId)
        .map_err(|_| ApiError::not_found("device_not_found", "no such device"))
}

fn purchase_not_found() -> ApiError {
    plugway_app::access::purchase_not_found().into()
}

fn time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// A charging session as the driver sees it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SessionView {
    /// Session id.
    pub id: String,
    /// pending, charging, suspended, finishing, finished or failed.
    pub state: String,
    /// The device (EVSE) id.
    pub device_id: Option<String>,
    /// Charge point and connector.
    pub charge_point_id: String,
    /// OCPP connector id.
    pub connector_id: i64,
    /// OCPP transaction id once started.
    pub transaction_id: Option<i64>,
    /// When the charger started it.
    pub started_at: Option<String>,
    /// Energy so far, kWh.
    pub energy: f64,
    /// Waiting so far, seconds.
    pub waiting_time: i64,
    /// Cost so far, major units, tax included.
    pub amount: f64,
    /// ISO 4217.
    pub currency: String,
    /// Why it failed, if it did.
    pub failure: Option<String>,
    /// Its purchase, once finished.
    pub purchase_id: Option<String>,
}

fn session_view(state: &AppState, s: &ChargingSession) -> SessionView {
    let cost = state.sessions.live_cost(s, state.clock.now());
    SessionView {
        id: s.id.to_text(),
        state: s.state.as_str().to_owned(),
        device_id: s.evse_id.map(|e| e.to_text()),
        charge_point_id: s.charge_point_id.as_str().to_owned(),
        connector_id: s.connector_id,
        transaction_id: s.transaction_id,
        started_at: s.started_at.map(time),
        energy: cost.energy_wh as f64 / 1000.0,
        waiting_time: cost.waiting_seconds,
        amount: cost.currency.to_major(cost.total),
        currency: cost.currency.code().to_owned(),
        failure: s.failure.map(|f| f.code().to_owned()),
        purchase_id: s.purchase_id.map(|p| p.to_text()),
    }
}

/// Seed 001: starts charging on a device. Answers once the charger has
/// started (its StartTransaction arrived), or with why it could not:
/// `charger_offline` (503), `charger_rejected`, `connector_unavailable`,
/// `connector_busy`, `active_session`, `not_authorized` (409),
/// `start_timed_out` (504). Roles: any signed-in person.
#[utoipa::path(post, path = "/api/v1/devices/{id}/start", tag = "charging",
    params(("id" = String, Path, description = "device (EVSE) id")),
    responses((status = 200, body = SessionView), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 503, body = ErrorBody), (status = 504, body = ErrorBody)),
    security(("bearer" = [])))]
async fn start(
    State(state): State<AppState>,
    who: SignedIn,
    Path(id): Path<String>,
) -> ApiResult<Json<SessionView>> {
    let session = charging::start(&state, who.user.id, parse_device(&id)?).await?;
    Ok(Json(session_view(&state, &session)))
}

/// Seed 001's finish reply: the purchase id.
#[derive(Debug, Serialize, ToSchema)]
pub struct PurchaseRef {
    /// Purchase id.
    pub id: String,
}

/// Seed 001: stops charging on a device and answers with the purchase once
/// the charger reported the stop. Roles: the driver of the session.
#[utoipa::path(post, path = "/api/v1/devices/{id}/finish", tag = "charging",
    params(("id" = String, Path, description = "device (EVSE) id")),
    responses((status = 200, body = PurchaseRef), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody, description = "`no_active_session`"),
        (status = 409, body = ErrorBody), (status = 503, body = ErrorBody),
        (status = 504, body = ErrorBody)),
    security(("bearer" = [])))]
async fn finish(
    State(state): State<AppState>,
    who: SignedIn,
    Path(id): Path<String>,
) -> ApiResult<Json<PurchaseRef>> {
    let purchase = charging::finish(&state, who.user.id, parse_device(&id)?).await?;
    Ok(Json(PurchaseRef {
        id: purchase.to_text(),
    }))
}

/// The caller's running sessions with their cost so far.
#[utoipa::path(get, path = "/api/v1/sessions/active", tag = "charging",
    responses((status = 200, body = [SessionView]), (status = 401, body = ErrorBody)),
    security(("bearer" = [])))]
async fn active_sessions(
    State(state): State<AppState>,
    who: SignedIn,
) -> ApiResult<Json<Vec<SessionView>>> {
    let sessions = state
        .store
        .list_active_charging_sessions(Some(who.user.id), 100)
        .await?;
    Ok(Json(
        sessions.iter().map(|s| session_view(&state, s)).collect(),
    ))
}

/// One of the caller's sessions.
#[utoipa::path(get, path = "/api/v1/sessions/{id}", tag = "charging",
    params(("id" = String, Path)),
    responses((status = 200, body = SessionView), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
async fn get_session(
    State(state): State<AppState>,
    who: SignedIn,
    Path(id): Path<String>,
) -> ApiResult<Json<SessionView>> {
    let not_found = || ApiError::not_found("session_not_found", "no such session");
    let id: ChargingSessionId = id.parse().map(ChargingSessionId).map_err(|_| not_found())?;
    let session = state
        .store
        .find_charging_session(id)
        .await?
        .filter(|s| s.user_id == Some(who.user.id))
        .ok_or_else(not_found)?;
    Ok(Json(session_view(&state, &session)))
}

/// Amounts of a purchase, major units.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CostView {
    /// For energy.
    pub energy: f64,
    /// For charging time.
    pub time: f64,
    /// For waiting time.
    pub waiting: f64,
    /// Session fee.
    pub session_fee: f64,
    /// Taken off the energy for the free kWh of the driver's plans (0 when
    /// none applied).
    pub included_energy_credit: f64,
    /// Before tax (after the included energy credit and the minimum/maximum price).
    pub subtotal: f64,
    /// Service tax.
    pub tax: f64,
    /// To pay.
    pub total: f64,
}

fn cost_view(c: &Cost) -> CostView {
    let m = |v| c.currency.to_major(v);
    CostView {
        energy: m(c.energy_amount),
        time: m(c.time_amount),
        waiting: m(c.waiting_amount),
        session_fee: m(c.session_fee),
        included_energy_credit: m(c.included_energy_credit),
        subtotal: m(c.subtotal),
        tax: m(c.tax),
        total: m(c.total),
    }
}

/// The driver's feedback on a purchase.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct FeedbackView {
    /// 1 to 5.
    pub score: i64,
    /// Words.
    pub description: String,
}

/// Seed 001's purchase: what a finished session costs.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PurchaseView {
    /// Purchase id.
    pub id: String,
    /// The same id, as seed 001's other objects name it.
    #[serde(rename = "_id")]
    pub underscore_id: String,
    /// To pay, major units, tax included.
    pub amount: f64,
    /// ISO 4217.
    pub currency: String,
    /// Energy, kWh.
    pub energy: f64,
    /// From start to stop, seconds.
    pub duration: i64,
    /// Charging (drawing or ready to) seconds.
    pub charging_time: i64,
    /// Waiting seconds (plugged in, not drawing).
    pub waiting_time: i64,
    /// Waiting seconds billed (after the free minutes).
    pub billed_waiting_time: i64,
    /// The breakdown.
    pub breakdown: CostView,
    /// The prices it was charged at (major units per kWh, hour, minute).
    pub tariff: TariffView,
    /// `unpaid` until paid (then `paid`, `partially_refunded`, `refunded`);
    /// `held` while its energy waits for an admin's review, `void` if voided.
    pub status: String,
    /// Session id.
    pub session_id: String,
    /// Device (EVSE) id.
    pub device_id: Option<String>,
    /// Charge point.
    pub charge_point_id: String,
    /// Start (charger time).
    pub started_at: String,
    /// Stop (charger time).
    pub stopped_at: String,
    /// The driver's feedback.
    pub feedback: Option<FeedbackView>,
    /// Created.
    pub created_at: String,
    /// Why it is (or was) held for review: its metered energy could not
    /// have flowed (status `held` until an admin releases or voids it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hold_reason: Option<String>,
}

pub(crate) fn purchase_view(p: &Purchase) -> PurchaseView {
    PurchaseView {
        id: p.id.to_text(),
        underscore_id: p.id.to_text(),
        amount: p.cost.currency.to_major(p.cost.total),
        currency: p.cost.currency.code().to_owned(),
        energy: p.cost.energy_wh as f64 / 1000.0,
        duration: (p.stopped_at - p.started_at).num_seconds().max(0),
        charging_time: p.cost.charging_seconds,
        waiting_time: p.cost.waiting_seconds,
        billed_waiting_time: p.cost.billed_waiting_seconds,
        breakdown: cost_view(&p.cost),
        tariff: tariff_view(&p.tariff),
        status: p.payment_status.clone(),
        session_id: p.session_id.to_text(),
        device_id: p.evse_id.map(|e| e.to_text()),
        charge_point_id: p.charge_point_id.as_str().to_owned(),
        started_at: time(p.started_at),
        stopped_at: time(p.stopped_at),
        feedback: p.feedback_score.map(|score| FeedbackView {
            score,
            description: p.feedback_description.clone().unwrap_or_default(),
        }),
        created_at: time(p.created_at),
        hold_reason: p.hold_reason.clone(),
    }
}

/// Seed 001: the caller's purchases, newest first (`page` from 1,
/// `page-size` 50 by default).
#[utoipa::path(get, path = "/api/v1/purchases", tag = "charging", params(PageQuery),
    responses((status = 200, body = Paginated<PurchaseView>), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody)),
    security(("bearer" = [])))]
async fn list_purchases(
    State(state): State<AppState>,
    who: SignedIn,
    Query(page): Query<PageQuery>,
) -> ApiResult<Json<Paginated<PurchaseView>>> {
    let (page, size, offset) = page.resolve()?;
    let count = state.store.count_purchases(who.user.id).await?;
    let rows = state
        .store
        .list_purchases(who.user.id, offset, size)
        .await?;
    Ok(Json(Paginated::new(
        rows.iter().map(purchase_view).collect(),
        count,
        page,
        size,
    )))
}

/// One of `user`'s purchases by its id text; `purchase_not_found` (404) for
/// anyone else's, so other drivers' purchases cannot be told from missing ones.
pub(crate) async fn own_purchase(state: &AppState, user: UserId, id: &str) -> ApiResult<Purchase> {
    let id: PurchaseId = id
        .parse()
        .map(PurchaseId)
        .map_err(|_| purchase_not_found())?;
    Ok(plugway_app::access::own_purchase(state, user, id).await?)
}

/// One of the caller's purchases.
#[utoipa::path(get, path = "/api/v1/purchases/{id}", tag = "charging", params(("id" = String, Path)),
    responses((status = 200, body = PurchaseView), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
async fn get_purchase(
    State(state): State<AppState>,
    who: SignedIn,
    Path(id): Path<String>,
) -> ApiResult<Json<PurchaseView>> {
    Ok(Json(purchase_view(
        &own_purchase(&state, who.user.id, &id).await?,
    )))
}

/// Seed 001's feedback body.
#[derive(Debug, Deserialize, ToSchema)]
pub struct FeedbackBody {
    /// Score and words.
    pub feedback: FeedbackView,
}

/// Seed 001: the driver's feedback on a purchase (score 1 to 5; a second
/// one replaces the first).
#[utoipa::path(post, path = "/api/v1/purchases/{id}/feedback", tag = "charging",
    params(("id" = String, Path)), request_body = FeedbackBody,
    responses((status = 200, body = Message), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
async fn feedback(
    State(state): State<AppState>,
    who: SignedIn,
    Path(id): Path<String>,
    Json(body): Json<FeedbackBody>,
) -> ApiResult<Json<Message>> {
    let purchase = own_purchase(&state, who.user.id, &id).await?;
    if !(1..=5).contains(&body.feedback.score) {
        return Err(ApiError::invalid_field(
            "feedback.score",
            "must be from 1 to 5",
        ));
    }
    let description = body.feedback.description.trim();
    if description.chars().count() > 2000 {
        return Err(ApiError::invalid_field(
            "feedback.description",
            "must be at most 2000 characters",
        ));
    }
    state
        .store
        .set_purchase_feedback(
            purchase.id,
            body.feedback.score,
            description,
            state.clock.now(),
        )
        .await?;
    Ok(Json(Message::new("thank you for your feedback")))
}

// ---- host earnings ------------------------------------------------------

/// Which earnings.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EarningsQuery {
    /// First day (UTC, `YYYY-MM-DD`), inclusive; default 30 days ago.
    pub from: Option<String>,
    /// Last day (UTC), inclusive; default today.
    pub to: Option<String>,
    /// `day` (default) or `month`.
    pub group: Option<String>,
    /// One device (EVSE) only (seed 000's TotalChargerEarning).
    pub device: Option<String>,
    /// Admins: whose earnings (a host's account id).
    pub host: Option<String>,
}

/// One period's earnings.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EarningsPeriod {
    /// `YYYY-MM-DD` or `YYYY-MM`.
    pub period: String,
    /// ISO 4217.
    pub currency: String,
    /// Finished sessions.
    pub sessions: i64,
    /// kWh.
    pub energy: f64,
    /// What drivers paid, tax included (major units).
    pub gross: f64,
    /// Service tax in it.
    pub tax: f64,
    /// Platform commission on the amount before tax.
    pub commission: f64,
    /// The host's share: gross − tax − commission (every finished session
    /// accrues it).
    pub net: f64,
    /// Of the sessions, those whose purchase the driver has paid.
    pub paid_sessions: i64,
    /// The host's share of those.
    pub paid_net: f64,
    /// The host's share still unpaid by drivers (net − paidNet).
    pub unpaid_net: f64,
}

/// A host's earnings.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EarningsView {
    /// The periods, oldest first.
    pub periods: Vec<EarningsPeriod>,
    /// Per currency, all periods together.
    pub totals: Vec<EarningsPeriod>,
    /// The commission rate applied, basis points.
    pub commission_bps: i64,
    /// Sessions in the range whose purchase is held for review (energy
    /// that could not have flowed): in no figure above until an admin
    /// releases them.
    pub held_sessions: i64,
}

struct Range {
    host: UserId,
    evse: Option<EvseId>,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
}

async fn earnings_range(
    state: &AppState,
    who: &OperatorAccess,
    q: &EarningsQuery,
) -> ApiResult<Range> {
    let host = match (who.host(), q.host.as_deref()) {
        (Some(host), _) => host,
        (None, Some(h)) => h
            .parse()
            .map(UserId)
            .map_err(|_| ApiError::invalid_field("host", "must be an account id"))?,
        (None, None) => {
            return Err(ApiError::invalid_field(
                "host",
                "admins name the host whose earnings they want",
            ))
        }
    };
    let day = |field: &'static str, text: &str| {
        NaiveDate::parse_from_str(text, "%Y-%m-%d")
            .map_err(|_| ApiError::invalid_field(field, "must be a date, YYYY-MM-DD"))
    };
    let today = state.clock.now().date_naive();
    let to =
        q.to.as_deref()
            .map(|t| day("to", t))
            .transpose()?
            .unwrap_or(today);
    let from = q
        .from
        .as_deref()
        .map(|t| day("from", t))
        .transpose()?
        .unwrap_or(to - chrono::Duration::days(30));
    if from > to || (to - from).num_days() > 3700 {
        return Err(ApiError::invalid_field(
            "from",
            "must be on or before `to`, at most ten years apart",
        ));
    }
    let evse = match q.device.as_deref() {
        Some(id) => {
            let (_, evse) = managed_evse(state, who, id).await?;
            if evse_host(state, &evse).await? != Some(host) {
                return Err(ApiError::not_found("evse_not_found", "no such EVSE"));
            }
            Some(evse.id)
        }
        None => None,
    };
    Ok(Range {
        host,
        evse,
        from: from.and_time(NaiveTime::MIN).and_utc(),
        to: (to + chrono::Duration::days(1))
            .and_time(NaiveTime::MIN)
            .and_utc(),
    })
}

async fn evse_host(state: &AppState, evse: &plugway_store::Evse) -> ApiResult<Option<UserId>> {
    Ok(state
        .store
        .find_site(evse.site_id)
        .await?
        .map(|s| s.host_id))
}

/// A host's earnings by day or month and in total, with tax and the
/// platform's commission taken out (seed 000's MyEarning; with `device`,
/// its TotalChargerEarning). Days are UTC, by the session's stop.
/// Roles: hosts (their own), admins (any host, `host=`).
#[utoipa::path(get, path = "/api/v1/host/earnings", tag = "charging", params(EarningsQuery),
    responses((status = 200, body = EarningsView), (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
async fn earnings(
    State(state): State<AppState>,
    who: OperatorAccess,
    Query(q): Query<EarningsQuery>,
) -> ApiResult<Json<EarningsView>> {
    let by_month = match q.group.as_deref() {
        None | Some("day") => false,
        Some("month") => true,
        Some(_) => return Err(ApiError::invalid_field("group", "must be day or month")),
    };
    let range = earnings_range(&state, &who, &q).await?;
    let earnings = plugway_app::earnings::host_earnings(
        &state,
        Some(range.host),
        range.evse,
        range.from,
        range.to,
        by_month,
    )
    .await?;
    let view = |e: plugway_app::earnings::PeriodEarnings| EarningsPeriod {
        period: e.period,
        currency: e.currency.code().to_owned(),
        sessions: e.sessions,
        energy: e.energy_wh as f64 / 1000.0,
        gross: e.currency.to_major(e.gross),
        tax: e.currency.to_major(e.tax),
        commission: e.currency.to_major(e.commission),
        net: e.currency.to_major(e.net),
        paid_sessions: e.paid_sessions,
        paid_net: e.currency.to_major(e.paid_net),
        unpaid_net: e.currency.to_major(e.unpaid_net),
    };
    Ok(Json(EarningsView {
        periods: earnings.periods.into_iter().map(view).collect(),
        totals: earnings.totals.into_iter().map(view).collect(),
        commission_bps: earnings.commission_bps,
        held_sessions: earnings.held_sessions,
    }))
}

/// The purchases behind a host's earnings, newest first.
#[utoipa::path(get, path = "/api/v1/host/earnings/sessions", tag = "charging",
    params(EarningsQuery, PageQuery),
    responses((status = 200, body = [PurchaseView]), (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
async fn earning_sessions(
    State(state): State<AppState>,
    who: OperatorAccess,
    Query(q): Query<EarningsQuery>,
    Query(page): Query<PageQuery>,
) -> ApiResult<Json<Vec<PurchaseView>>> {
    let (_, size, offset) = page.resolve()?;
    let range = earnings_range(&state, &who, &q).await?;
    let rows = state
        .store
        .list_host_purchases(range.host, range.evse, range.from, range.to, offset, size)
        .await?;
    Ok(Json(rows.iter().map(purchase_view).collect()))
}

// ---- EVSE tariffs -------------------------------------------------------

/// A time-of-day price, in the site's local time.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PeriodInput {
    /// Mon..Sun; empty or absent for every day.
    #[serde(default)]
    pub weekdays: Vec<String>,
    /// `HH:MM`, inclusive.
    pub start: String,
    /// `HH:MM`, exclusive; at or before `start` runs past midnight.
    pub end: String,
    /// Price per kWh in this period (major units); absent keeps the base.
    pub per_kwh: Option<f64>,
    /// Price per hour of charging.
    pub per_hour: Option<f64>,
    /// Price per waiting minute.
    pub waiting_per_minute: Option<f64>,
}

/// An EVSE's full tariff, in the site's currency (major units).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TariffView {
    /// ISO 4217 (read only: the site's).
    #[serde(default)]
    pub currency: String,
    /// Per kWh.
    pub per_kwh: f64,
    /// Per hour of charging.
    #[serde(default)]
    pub per_hour: f64,
    /// Per minute of waiting after charging (seed 001's waitingPrice).
    #[serde(default)]
    pub waiting_per_minute: f64,
    /// Free waiting minutes.
    #[serde(default)]
    pub waiting_grace_minutes: i64,
    /// Flat fee per session.
    #[serde(default)]
    pub session_fee: f64,
    /// Least a session costs before tax.
    pub min_price: Option<f64>,
    /// Most a session costs before tax.
    pub max_price: Option<f64>,
    /// Service tax, basis points (1800 = 18 %).
    #[serde(default)]
    pub tax_basis_points: i64,
    /// Time-of-day prices; the first that matches wins.
    #[serde(default)]
    pub periods: Vec<PeriodInput>,
}

fn tariff_view(t: &Tariff) -> TariffView {
    let m = |v| t.currency.to_major(v);
    TariffView {
        currency: t.currency.code().to_owned(),
        per_kwh: m(t.energy_price_per_kwh),
        per_hour: m(t.time_price_per_hour),
        waiting_per_minute: m(t.waiting_price_per_minute),
        waiting_grace_minutes: t.waiting_grace_minutes,
        session_fee: m(t.session_fee),
        min_price: t.min_price.map(m),
        max_price: t.max_price.map(m),
        tax_basis_points: t.tax_basis_points,
        periods: t
            .periods
            .iter()
            .map(|p| PeriodInput {
                weekdays: p.weekdays.iter().map(|d| d.to_string()).collect(),
                start: p.start.format("%H:%M").to_string(),
                end: p.end.format("%H:%M").to_string(),
                per_kwh: p.energy_price_per_kwh.map(m),
                per_hour: p.time_price_per_hour.map(m),
                waiting_per_minute: p.waiting_price_per_minute.map(m),
            })
            .collect(),
    }
}

fn tariff_from_input(
    input: TariffView,
    currency: Currency,
    zone: plugway_domain::SiteTimeZone,
) -> ApiResult<Tariff> {
    let money = |field: &'static str, major: f64| {
        currency
            .to_minor(major)
            .filter(|m| *m <= 100_000_000_000)
            .ok_or_else(|| ApiError::invalid_field(field, "must be a non-negative amount"))
    };
    let opt = |field: &'static str, major: Option<f64>| major.map(|v| money(field, v)).transpose();
    let clock = |field: &'static str, text: &str| {
        NaiveTime::parse_from_str(text, "%H:%M")
            .map_err(|_| ApiError::invalid_field(field, "must be a time, HH:MM"))
    };
    let mut periods = Vec::with_capacity(input.periods.len());
    if input.periods.len() > 48 {
        return Err(ApiError::invalid_field("periods", "at most 48"));
    }
    for p in input.periods {
        let weekdays = p
            .weekdays
            .iter()
            .map(|d| {
                d.parse::<Weekday>()
                    .map_err(|_| ApiError::invalid_field("periods.weekdays", "must be Mon to Sun"))
            })
            .collect::<ApiResult<Vec<_>>>()?;
        periods.push(TariffPeriod {
            weekdays,
            start: clock("periods.start", &p.start)?,
            end: clock("periods.end", &p.end)?,
            energy_price_per_kwh: opt("periods.per_kwh", p.per_kwh)?,
            time_price_per_hour: opt("periods.per_hour", p.per_hour)?,
            waiting_price_per_minute: opt("periods.waiting_per_minute", p.waiting_per_minute)?,
        });
    }
    let mut tariff = Tariff::simple(
        currency,
        zone,
        money("per_kwh", input.per_kwh)?,
        money("per_hour", input.per_hour)?,
        money("waiting_per_minute", input.waiting_per_minute)?,
    );
    tariff.waiting_grace_minutes = input.waiting_grace_minutes;
    tariff.session_fee = money("session_fee", input.session_fee)?;
    tariff.min_price = opt("min_price", input.min_price)?;
    tariff.max_price = opt("max_price", input.max_price)?;
    tariff.tax_basis_points = input.tax_basis_points;
    tariff.periods = periods;
    tariff.validate()?;
    Ok(tariff)
}

/// The tariff a new session on this EVSE gets: its full tariff if set,
/// else its simple prices with the platform's tax. Roles: its host, admins.
#[utoipa::path(get, path = "/api/v1/host/evses/{id}/tariff", tag = "charging", params(("id" = String, Path)),
    responses((status = 200, body = TariffView), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
async fn get_tariff(
    State(state): State<AppState>,
    who: OperatorAccess,
    Path(id): Path<String>,
) -> ApiResult<Json<TariffView>> {
    let (_, evse) = managed_evse(&state, &who, &id).await?;
    Ok(Json(tariff_view(
        &state.sessions.tariff_for_evse(&evse).await?,
    )))
}

/// Sets an EVSE's full tariff (time-of-day prices, session fee, minimum and
/// maximum, tax). Sessions already running keep the tariff they started
/// with. Roles: its host, admins.
#[utoipa::path(put, path = "/api/v1/host/evses/{id}/tariff", tag = "charging", params(("id" = String, Path)),
    request_body = TariffView,
    responses((status = 200, body = TariffView), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
async fn put_tariff(
    State(state): State<AppState>,
    who: OperatorAccess,
    Path(id): Path<String>,
    Json(input): Json<TariffView>,
) -> ApiResult<Json<TariffView>> {
    let (site, evse) = managed_evse(&state, &who, &id).await?;
    let tariff = tariff_from_input(input, site.fields.currency, site.fields.time_zone)?;
    state
        .store
        .set_evse_tariff(evse.id, Some(&tariff), state.clock.now())
        .await?;
    Ok(Json(tariff_view(&tariff)))
}

/// Removes an EVSE's full tariff: its simple prices apply again.
#[utoipa::path(delete, path = "/api/v1/host/evses/{id}/tariff", tag = "charging", params(("id" = String, Path)),
    responses((status = 200, body = TariffView), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
async fn delete_tariff(
    State(state): State<AppState>,
    who: OperatorAccess,
    Path(id): Path<String>,
) -> ApiResult<Json<TariffView>> {
    let (_, evse) = managed_evse(&state, &who, &id).await?;
    state
        .store
        .set_evse_tariff(evse.id, None, state.clock.now())
        .await?;
    Ok(Json(tariff_view(
        &state.sessions.tariff_for_evse(&evse).await?,
    )))
}
