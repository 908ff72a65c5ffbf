//! Seed 002's subscription plans, exactly as documented: `/plans/` (list,
//! create), `/plans/{id}` (detail, PUT/PATCH, DELETE), `/purchase-plan/` and
//! `/cancel-plan/{id}`; plus `/customer-plans`, the caller's subscriptions.
//! Plan and customer-plan ids are integers; plan amounts are strings with
//! the currency's minor digits (`"500.00"`) and `plan_amount` a number
//! (`500.0`), as the seed shows them.

use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, SecondsFormat, Utc};
use plugway_domain::plan::{
    format_decimal, parse_decimal, CustomerPlanId, PlanBenefits, PlanId, PlanTerms,
    SubscriptionStatus,
};
use plugway_domain::Currency;
use plugway_store::{CustomerPlan, Plan};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::{AdminAccess, Authenticated, SignedIn};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{Json, Path, Query};
use crate::routes::{PageQuery, Paginated};
use crate::AppState;
use plugway_app::plans::{self, CancelOutcome};

/// The router.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_plans, create_plan))
        .routes(routes!(get_plan, put_plan, patch_plan, delete_plan))
        .routes(routes!(purchase_plan))
        .routes(routes!(cancel_plan))
        .routes(routes!(list_customer_plans))
        .routes(routes!(get_customer_plan))
}

/// A plan, as seed 002 shows it (with its currency and benefits besides).
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"id": 1, "name": "Globalnet Bronze", "amount": "500.00", "payment_cycle": 30,
    "total_valid_months": 12, "is_cancellable": false, "currency": "MNT", "discount_per_kwh": "0.00",
    "included_kwh_per_cycle": 0.0, "waive_session_fee": false, "priority_charging": false}))]
pub struct PlanView {
    /// Its integer id.
    pub id: i64,
    /// Its name.
    pub name: String,
    /// Charged each cycle, major units with the currency's minor digits.
    pub amount: String,
    /// Days per cycle.
    pub payment_cycle: i64,
    /// Cycles a subscription runs.
    pub total_valid_months: i64,
    /// Whether subscribers may cancel.
    pub is_cancellable: bool,
    /// ISO 4217.
    pub currency: String,
    /// Off each kWh's energy price for subscribers, major units.
    pub discount_per_kwh: String,
    /// kWh free each cycle.
    pub included_kwh_per_cycle: f64,
    /// Subscribers pay no session fee.
    pub waive_session_fee: bool,
    /// Subscribers' sessions rank with booked ones where a site's power is
    /// shared (docs/load-management.md).
    pub priority_charging: bool,
}

pub(crate) fn plan_view(p: &Plan) -> PlanView {
    let t = &p.terms;
    let digits = t.currency.exponent();
    PlanView {
        id: p.id.0,
        name: t.name.clone(),
        amount: format_decimal(t.amount, digits),
        payment_cycle: t.payment_cycle_days,
        total_valid_months: t.total_valid_months,
        is_cancellable: t.is_cancellable,
        currency: t.currency.code().to_owned(),
        discount_per_kwh: format_decimal(t.benefits.discount_per_kwh, digits),
        included_kwh_per_cycle: t.benefits.included_wh_per_cycle as f64 / 1000.0,
        waive_session_fee: t.benefits.waive_session_fee,
        priority_charging: t.benefits.priority_charging,
    }
}

/// A plan as an admin sends it. On create and PUT, `name` and `amount` are
/// required; on PATCH every field is optional. Amounts are numbers (or
/// decimal strings) in major units with at most the currency's minor
/// digits; unknown fields are ignored, as seed 002's server does.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[schema(example = json!({"name": "Globalnet Gold", "amount": 1200, "is_cancellable": true}))]
pub struct PlanBody {
    /// 1 to 100 characters.
    pub name: Option<String>,
    /// Charged each cycle, major units (`1200`, `1200.50`), more than 0.
    #[schema(value_type = Option<f64>, example = 1200)]
    pub amount: Option<Value>,
    /// Whether subscribers may cancel (default false).
    pub is_cancellable: Option<bool>,
    /// Days per cycle, 1 to 366 (default 30).
    pub payment_cycle: Option<i64>,
    /// Cycles a subscription runs, 1 to 120 (default 12).
    pub total_valid_months: Option<i64>,
    /// Off each kWh's energy price for subscribers, major units (default 0).
    #[schema(value_type = Option<f64>, example = 0.5)]
    pub discount_per_kwh: Option<Value>,
    /// kWh free each cycle, up to 3 decimals (default 0).
    #[schema(value_type = Option<f64>, example = 20)]
    pub included_kwh_per_cycle: Option<Value>,
    /// Subscribers pay no session fee (default false).
    pub waive_session_fee: Option<bool>,
    /// Subscribers' sessions rank with booked ones where a site's power is
    /// shared (default false).
    pub priority_charging: Option<bool>,
}

/// A decimal JSON value (number or string) in units of `10^-digits`.
fn decimal(value: &Value, digits: u32, field: &'static str) -> ApiResult<i64> {
    let text = match value {
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.clone(),
        _ => return Err(ApiError::invalid_field(field, "must be a number")),
    };
    Ok(parse_decimal(&text, digits, field)?)
}

impl PlanBody {
    /// The terms this body gives over `base` (a plan's current terms, or
    /// the defaults); `required` names the fields that must be present.
    fn terms_over(self, mut base: PlanTerms, required: bool) -> ApiResult<PlanTerms> {
        if required {
            if self.name.is_none() {
                return Err(ApiError::invalid_field("name", "is required"));
            }
            if self.amount.is_none() {
                return Err(ApiError::invalid_field("amount", "is required"));
            }
        }
        let digits = base.currency.exponent();
        if let Some(name) = self.name {
            base.name = name.trim().to_owned();
        }
        if let Some(amount) = &self.amount {
            base.amount = decimal(amount, digits, "amount")?;
        }
        if let Some(c) = self.is_cancellable {
            base.is_cancellable = c;
        }
        if let Some(days) = self.payment_cycle {
            base.payment_cycle_days = days;
        }
        if let Some(months) = self.total_valid_months {
            base.total_valid_months = months;
        }
        if let Some(d) = &self.discount_per_kwh {
            base.benefits.discount_per_kwh = decimal(d, digits, "discount_per_kwh")?;
        }
        if let Some(kwh) = &self.included_kwh_per_cycle {
            base.benefits.included_wh_per_cycle = decimal(kwh, 3, "included_kwh_per_cycle")?;
        }
        if let Some(w) = self.waive_session_fee {
            base.benefits.waive_session_fee = w;
        }
        if let Some(p) = self.priority_charging {
            base.benefits.priority_charging = p;
        }
        base.validate()?;
        Ok(base)
    }
}

fn default_terms(currency: Currency) -> PlanTerms {
    PlanTerms {
        name: String::new(),
        amount: 0,
        currency,
        payment_cycle_days: 30,
        total_valid_months: 12,
        is_cancellable: false,
        benefits: PlanBenefits::default(),
    }
}

/// A path id: a positive integer, else the resource is simply not there.
fn int_id(text: &str, not_found: fn() -> ApiError) -> ApiResult<i64> {
    text.parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(not_found)
}

fn plan_not_found() -> ApiError {
    ApiError::not_found("plan_not_found", "no such plan")
}

fn customer_plan_not_found() -> ApiError {
    ApiError::not_found("customer_plan_not_found", "no such customer plan")
}

/// Seed 002's View All Plans: the plans on offer, by id, as
/// `{"count", "next", "previous", "results"}`. Roles: anyone signed in
/// (or any API key).
#[utoipa::path(get, path = "/api/v1/plans", tag = "plans", params(PageQuery),
    responses((status = 200, body = Paginated<PlanView>, example = json!({"count": 1, "next": null, "previous": null,
        "results": [{"id": 1, "name": "Globalnet Bronze", "amount": "500.00", "payment_cycle": 30,
        "total_valid_months": 12, "is_cancellable": false}]})),
        (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
async fn list_plans(
    State(state): State<AppState>,
    _who: Authenticated,
    Query(page): Query<PageQuery>,
) -> ApiResult<Json<Paginated<PlanView>>> {
    let (page, size, offset) = page.resolve()?;
    let count = state.store.count_plans().await?;
    let rows = state.store.list_plans(offset, size).await?;
    Ok(Json(Paginated::new(
        rows.iter().map(plan_view).collect(),
        count,
        page,
        size,
    )))
}

/// Seed 002's Save Plan: 201 with the plan. `amount` is required (a number
/// in major units); `is_cancellable` defaults to false, `payment_cycle` to
/// 30 days, `total_valid_months` to 12. Roles: admins (superusers).
#[utoipa::path(post, path = "/api/v1/plans", tag = "plans", request_body = PlanBody,
    responses((status = 201, body = PlanView, example = json!({"id": 3, "name": "Globalnet Gold", "amount": "1200.00",
        "payment_cycle": 30, "total_valid_months": 12, "is_cancellable": true})),
        (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
async fn create_plan(
    State(state): State<AppState>,
    _admin: AdminAccess,
    Json(body): Json<PlanBody>,
) -> ApiResult<(StatusCode, Json<PlanView>)> {
    let terms = body.terms_over(default_terms(state.settings.wallet_currency), true)?;
    let plan = plans::create_plan(&state, terms).await?;
    Ok((StatusCode::CREATED, Json(plan_view(&plan))))
}

/// Seed 002's View Plan Details. Deleted plans answer 404. Roles: anyone
/// signed in (or any API key).
#[utoipa::path(get, path = "/api/v1/plans/{id}", tag = "plans", params(("id" = i64, Path)),
    responses((status = 200, body = PlanView), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
async fn get_plan(
    State(state): State<AppState>,
    _who: Authenticated,
    Path(id): Path<String>,
) -> ApiResult<Json<PlanView>> {
    let id = PlanId(int_id(&id, plan_not_found)?);
    Ok(Json(plan_view(&plans::active_plan(&state, id).await?)))
}

async fn update(state: &AppState, id: &str, body: PlanBody, full: bool) -> ApiResult<PlanView> {
    let id = PlanId(int_id(id, plan_not_found)?);
    let old = plans::active_plan(state, id).await?;
    let terms = body.terms_over(old.terms, full)?;
    Ok(plan_view(&plans::update_plan(state, id, terms).await?))
}

/// Seed 002's Update Plan (PUT): `name` and `amount` are required; fields
/// left out keep their values. Subscribers keep the terms they bought.
/// Roles: admins.
#[utoipa::path(put, path = "/api/v1/plans/{id}", tag = "plans", params(("id" = i64, Path)),
    request_body = PlanBody,
    responses((status = 200, body = PlanView, example = json!({"id": 3, "name": "Globalnet Gold", "amount": "1500.00",
        "payment_cycle": 30, "total_valid_months": 12, "is_cancellable": true})),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
async fn put_plan(
    State(state): State<AppState>,
    _admin: AdminAccess,
    Path(id): Path<String>,
    Json(body): Json<PlanBody>,
) -> ApiResult<Json<PlanView>> {
    Ok(Json(update(&state, &id, body, true).await?))
}

/// Seed 002's Update Plan (PATCH): only the fields sent change. Roles: admins.
#[utoipa::path(patch, path = "/api/v1/plans/{id}", tag = "plans", params(("id" = i64, Path)),
    request_body = PlanBody,
    responses((status = 200, body = PlanView), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
async fn patch_plan(
    State(state): State<AppState>,
    _admin: AdminAccess,
    Path(id): Path<String>,
    Json(body): Json<PlanBody>,
) -> ApiResult<Json<PlanView>> {
    Ok(Json(update(&state, &id, body, false).await?))
}

/// Seed 002's Delete Plan: 204. The plan stops being listed or sold; its
/// subscriptions run on to their end (it is deactivated, not erased).
/// Roles: admins.
#[utoipa::path(delete, path = "/api/v1/plans/{id}", tag = "plans", params(("id" = i64, Path)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
async fn delete_plan(
    State(state): State<AppState>,
    _admin: AdminAccess,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let id = PlanId(int_id(&id, plan_not_found)?);
    plans::delete_plan(&state, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A subscription, as seed 002's purchase and cancel replies show it
/// (with its status, schedule and currency besides).
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"id": 5, "plan_id": 1, "start_date": "2021-10-14", "end_date": "2022-10-09",
    "is_active": true, "plan_name": "Globalnet Bronze", "plan_amount": 500.0, "plan_months_validity": 12,
    "plan_payment_cycle": 30, "plan_cancellable": false, "status": "active", "cycles_paid": 1,
    "next_charge_at": "2021-11-13T08:00:00Z", "paid_until": "2021-11-13T08:00:00Z", "ended_reason": null,
    "currency": "MNT"}))]
pub struct CustomerPlanView {
    /// Its integer id (for cancel-plan).
    pub id: i64,
    /// The plan's id.
    pub plan_id: i64,
    /// First day (UTC), `YYYY-MM-DD`.
    pub start_date: String,
    /// The day the term ends: start + months × cycle days.
    pub end_date: String,
    /// Running: charged each cycle. False once cancelled, lapsed or expired.
    pub is_active: bool,
    /// The plan's name when bought.
    pub plan_name: String,
    /// The amount per cycle when bought, major units (a number).
    pub plan_amount: f64,
    /// Cycles it runs.
    pub plan_months_validity: i64,
    /// Days per cycle.
    pub plan_payment_cycle: i64,
    /// Whether it may be cancelled.
    pub plan_cancellable: bool,
    /// active, cancelled, lapsed or expired.
    pub status: String,
    /// Cycles charged so far.
    pub cycles_paid: i64,
    /// When the next cycle is charged (RFC 3339), or null.
    pub next_charge_at: Option<String>,
    /// The end of the cycles paid for (RFC 3339); a cancelled plan's
    /// benefits last until then.
    pub paid_until: String,
    /// Why it ended: cancelled, insufficient_funds, expired.
    pub ended_reason: Option<String>,
    /// ISO 4217.
    pub currency: String,
}

fn time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn customer_plan_view(p: &CustomerPlan) -> CustomerPlanView {
    let start = p.started_at.date_naive();
    CustomerPlanView {
        id: p.id.0,
        plan_id: p.plan_id.0,
        start_date: start.format("%Y-%m-%d").to_string(),
        end_date: p.terms.end_date(start).format("%Y-%m-%d").to_string(),
        is_active: p.status == SubscriptionStatus::Active,
        plan_name: p.terms.name.clone(),
        plan_amount: p.terms.currency.to_major(p.terms.amount),
        plan_months_validity: p.terms.total_valid_months,
        plan_payment_cycle: p.terms.payment_cycle_days,
        plan_cancellable: p.terms.is_cancellable,
        status: p.status.as_str().to_owned(),
        cycles_paid: p.cycles_paid,
        next_charge_at: p.next_charge_at.map(time),
        paid_until: time(p.paid_until),
        ended_reason: p.ended_reason.clone(),
        currency: p.terms.currency.code().to_owned(),
    }
}

/// `{"message", "data"}`: seed 002's purchase and cancel replies.
#[derive(Debug, Serialize, ToSchema)]
pub struct CustomerPlanReply {
    /// What happened.
    pub message: String,
    /// The subscription.
    pub data: CustomerPlanView,
}

/// Body of a purchase.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"plan": 1}))]
pub struct PurchaseBody {
    /// The plan's id.
    #[schema(value_type = i64, example = 1)]
    pub plan: Option<Value>,
}

/// Seed 002's Purchase Plan: 201 `{"message": "Purchase Plan Successful",
/// "data": {...}}`. The first cycle is paid from the wallet at once;
/// `insufficient_funds` (409) when it holds too little (nothing is
/// stored), `plan_already_active` (409) when the caller already has an
/// active subscription to the plan, `plan_not_found` (404). Roles: anyone
/// signed in.
#[utoipa::path(post, path = "/api/v1/purchase-plan", tag = "plans", request_body = PurchaseBody,
    responses((status = 201, body = CustomerPlanReply, example = json!({"message": "Purchase Plan Successful",
        "data": {"id": 5, "plan_id": 1, "start_date": "2021-10-14", "end_date": "2022-10-09", "is_active": true,
        "plan_name": "Globalnet Bronze", "plan_amount": 500.0, "plan_months_validity": 12, "plan_payment_cycle": 30,
        "plan_cancellable": false}})),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
async fn purchase_plan(
    State(state): State<AppState>,
    who: SignedIn,
    Json(body): Json<PurchaseBody>,
) -> ApiResult<(StatusCode, Json<CustomerPlanReply>)> {
    let id = match &body.plan {
        None | Some(Value::Null) => return Err(ApiError::invalid_field("plan", "is required")),
        Some(Value::Number(n)) => n
            .as_i64()
            .ok_or_else(|| ApiError::invalid_field("plan", "must be a plan id"))?,
        Some(Value::String(s)) => s
            .trim()
            .parse::<i64>()
            .map_err(|_| ApiError::invalid_field("plan", "must be a plan id"))?,
        Some(_) => return Err(ApiError::invalid_field("plan", "must be a plan id")),
    };
    let bought = plans::purchase(&state, who.user.id, PlanId(id)).await?;
    Ok((
        StatusCode::CREATED,
        Json(CustomerPlanReply {
            message: "Purchase Plan Successful".into(),
            data: customer_plan_view(&bought),
        }),
    ))
}

/// Seed 002's Cancel Plan: 201 with `{"message", "data"}`. A plan that is
/// not cancellable answers "Plan is not cancellable" and nothing changes;
/// otherwise the subscription is cancelled ("Plan Cancelled
/// Successfully"): no further charges, `is_active` false, the cycle paid
/// keeps its benefits to its end (no refund). One that had already ended
/// answers "Plan is not active". Another driver's answers 404. Roles:
/// anyone signed in.
#[utoipa::path(post, path = "/api/v1/cancel-plan/{id}", tag = "plans", params(("id" = i64, Path)),
    responses((status = 201, body = CustomerPlanReply, example = json!({"message": "Plan is not cancellable",
        "data": {"id": 5, "plan_id": 1, "start_date": "2021-10-14", "end_date": "2022-10-09", "is_active": true,
        "plan_name": "Globalnet Bronze", "plan_amount": 500.0, "plan_months_validity": 12, "plan_payment_cycle": 30,
        "plan_cancellable": false}})),
        (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
async fn cancel_plan(
    State(state): State<AppState>,
    who: SignedIn,
    Path(id): Path<String>,
) -> ApiResult<(StatusCode, Json<CustomerPlanReply>)> {
    let id = CustomerPlanId(int_id(&id, customer_plan_not_found)?);
    let (outcome, plan) = plans::cancel(&state, who.user.id, id).await?;
    let message = match outcome {
        CancelOutcome::Cancelled => "Plan Cancelled Successfully",
        CancelOutcome::NotCancellable => "Plan is not cancellable",
        CancelOutcome::NotActive => "Plan is not active",
    };
    Ok((
        StatusCode::CREATED,
        Json(CustomerPlanReply {
            message: message.into(),
            data: customer_plan_view(&plan),
        }),
    ))
}

/// The caller's subscriptions, newest first, ended ones included.
/// Roles: anyone signed in.
#[utoipa::path(get, path = "/api/v1/customer-plans", tag = "plans", params(PageQuery),
    responses((status = 200, body = Paginated<CustomerPlanView>), (status = 401, body = ErrorBody),
        (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
async fn list_customer_plans(
    State(state): State<AppState>,
    who: SignedIn,
    Query(page): Query<PageQuery>,
) -> ApiResult<Json<Paginated<CustomerPlanView>>> {
    let (page, size, offset) = page.resolve()?;
    let count = state.store.count_customer_plans(who.user.id).await?;
    let rows = state
        .store
        .list_customer_plans(who.user.id, offset, size)
        .await?;
    Ok(Json(Paginated::new(
        rows.iter().map(customer_plan_view).collect(),
        count,
        page,
        size,
    )))
}

/// One of the caller's subscriptions; another's answers 404.
/// Roles: anyone signed in.
#[utoipa::path(get, path = "/api/v1/customer-plans/{id}", tag = "plans", params(("id" = i64, Path)),
    responses((status = 200, body = CustomerPlanView), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
async fn get_customer_plan(
    State(state): State<AppState>,
    who: SignedIn,
    Path(id): Path<String>,
) -> ApiResult<Json<CustomerPlanView>> {
    let id = CustomerPlanId(int_id(&id, customer_plan_not_found)?);
    Ok(Json(customer_plan_view(
        &plans::own_customer_plan(&state, who.user.id, id).await?,
    )))
}
