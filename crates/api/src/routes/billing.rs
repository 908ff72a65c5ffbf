//! Seed 000's coupons, bills (CreateBill) and credits, in the canonical
//! API; admins' coupon management, credit settings and refunds.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use chrono::{DateTime, SecondsFormat, Utc};
use plugway_domain::coupon::{CouponCode, CouponTerms, CouponValue};
use plugway_domain::ledger::AccountKind;
use plugway_domain::{Currency, UserId};
use plugway_store::{Bill, Coupon, Refund};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::{AdminAccess, SignedIn};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::Json;
use crate::routes::charging::own_purchase;
use crate::routes::payments::idempotency_key;
use crate::routes::{PageQuery, Paginated};
use crate::AppState;
use plugway_app::billing::{self, credits_account, RefundRequest, CREDIT_TYPES};

/// The router.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_coupons))
        .routes(routes!(check_coupon))
        .routes(routes!(admin_list_coupons, admin_create_coupon))
        .routes(routes!(
            admin_get_coupon,
            admin_update_coupon,
            admin_delete_coupon
        ))
        .routes(routes!(list_bills, create_bill))
        .routes(routes!(get_bill))
        .routes(routes!(my_credits))
        .routes(routes!(credit_types))
        .routes(routes!(set_credits))
        .routes(routes!(list_refunds, refund))
        .routes(routes!(review_held_purchase))
}

fn time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// A coupon as drivers see it: seed 000's check fields plus its window.
#[derive(Debug, Serialize, ToSchema)]
pub struct CouponView {
    /// Its id.
    pub id: String,
    /// The code to type.
    pub code: String,
    /// Shown to drivers.
    pub description: String,
    /// `Percentage` or `Amount` (seed 000's words).
    #[serde(rename = "type")]
    pub kind: String,
    /// Percentage coupons: percent off.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub percentage_off: Option<f64>,
    /// Percentage coupons: the cap, major units (null: none).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_amount: Option<Option<f64>>,
    /// Amount coupons: the amount off, major units.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub coupon_amount: Option<f64>,
    /// Amount coupons: the smallest order, major units.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_amount_limit: Option<f64>,
    /// ISO 4217.
    pub currency: String,
    /// Usable from (RFC 3339), or null.
    pub valid_from: Option<String>,
    /// Usable until (RFC 3339, exclusive), or null.
    pub valid_until: Option<String>,
}

fn coupon_view(c: &Coupon) -> CouponView {
    let cur = c.terms.currency;
    let mut view = CouponView {
        id: c.id.clone(),
        code: c.code.as_str().to_owned(),
        description: c.description.clone(),
        kind: String::new(),
        percentage_off: None,
        max_amount: None,
        coupon_amount: None,
        min_amount_limit: None,
        currency: cur.code().to_owned(),
        valid_from: c.terms.valid_from.map(time),
        valid_until: c.terms.valid_until.map(time),
    };
    match c.terms.value {
        CouponValue::Percentage {
            basis_points,
            max_amount,
        } => {
            view.kind = "Percentage".into();
            view.percentage_off = Some(basis_points as f64 / 100.0);
            view.max_amount = Some(max_amount.map(|m| cur.to_major(m)));
        }
        CouponValue::Amount { amount, min_order } => {
            view.kind = "Amount".into();
            view.coupon_amount = Some(cur.to_major(amount));
            view.min_amount_limit = Some(cur.to_major(min_order));
        }
    }
    view
}

/// A coupon as admins see it: with its limits and uses.
#[derive(Debug, Serialize, ToSchema)]
pub struct AdminCouponView {
    /// What drivers see.
    #[serde(flatten)]
    pub coupon: CouponView,
    /// Uses in total allowed (null: no limit).
    pub max_uses: Option<i64>,
    /// Uses per driver allowed.
    pub per_user_limit: i64,
    /// Switched on.
    pub active: bool,
    /// In the public list.
    pub listed: bool,
    /// Uses so far.
    pub used: i64,
    /// Created (RFC 3339).
    pub created_at: String,
}

fn admin_coupon_view(c: &Coupon) -> AdminCouponView {
    AdminCouponView {
        coupon: coupon_view(c),
        max_uses: c.terms.max_uses,
        per_user_limit: c.terms.per_user_limit,
        active: c.terms.active,
        listed: c.listed,
        used: c.used,
        created_at: time(c.created_at),
    }
}

/// Seed 000's coupon list: listed coupons usable now. Anyone may call.
#[utoipa::path(get, path = "/api/v1/coupons", tag = "billing", params(PageQuery),
    responses((status = 200, body = Paginated<CouponView>), (status = 422, body = ErrorBody)))]
async fn list_coupons(
    State(state): State<AppState>,
    Query(page): Query<PageQuery>,
) -> ApiResult<Json<Paginated<CouponView>>> {
    let (page, size, offset) = page.resolve()?;
    let now = state.clock.now();
    // Listed coupons are few; the window is filtered here so the count matches.
    let all = state.store.list_coupons(true, 0, 10_000).await?;
    let usable: Vec<&Coupon> = all.iter().filter(|c| c.terms.usable_at(now)).collect();
    let count = i64::try_from(usable.len()).unwrap_or(i64::MAX);
    let results = usable
        .into_iter()
        .skip(usize::try_from(offset).unwrap_or(usize::MAX))
        .take(usize::try_from(size).unwrap_or(0))
        .map(coupon_view)
        .collect();
    Ok(Json(Paginated::new(results, count, page, size)))
}

/// Body of a coupon check.
#[derive(Debug, Deserialize, ToSchema)]
pub struct CheckCouponBody {
    /// The code the driver typed.
    pub coupon_code: String,
}

/// Seed 000's CheckCoupon, with its exact replies (always 200):
/// `{"status": false, "message": "Invalid Coupon code"}`, "Sorry,the coupon
/// can not be used by anymore users", "You have exceeded usage limit", or
/// `{"status": true, "message": "Valid Coupon", "type": "Percentage",
/// "percentage_off", "max_amount"}` / `{"type": "Amount", "coupon_amount",
/// "min_amount_limit"}`. Roles: any signed-in person (their own uses count).
#[utoipa::path(post, path = "/api/v1/coupons/check", tag = "billing",
    request_body = CheckCouponBody,
    responses((status = 200, body = Object), (status = 401, body = ErrorBody)),
    security(("bearer" = [])))]
async fn check_coupon(
    State(state): State<AppState>,
    who: SignedIn,
    Json(body): Json<CheckCouponBody>,
) -> ApiResult<Json<Value>> {
    Ok(Json(
        match billing::usable_coupon(&state, who.user.id, &body.coupon_code).await? {
            Err(refusal) => json!({"status": false, "message": refusal.message()}),
            Ok(coupon) => {
                let cur = coupon.terms.currency;
                match coupon.terms.value {
                    CouponValue::Percentage {
                        basis_points,
                        max_amount,
                    } => json!({"status": true, "message": "Valid Coupon", "type": "Percentage",
                        "percentage_off": basis_points as f64 / 100.0,
                        "max_amount": max_amount.map(|m| cur.to_major(m))}),
                    CouponValue::Amount { amount, min_order } => json!({"status": true,
                        "message": "Valid Coupon", "type": "Amount",
                        "coupon_amount": cur.to_major(amount),
                        "min_amount_limit": cur.to_major(min_order)}),
                }
            }
        },
    ))
}

/// An admin's coupon.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CouponBody {
    /// 3 to 32 letters, digits, `-`, `_` (stored upper case).
    pub code: String,
    /// Shown to drivers.
    #[serde(default)]
    pub description: String,
    /// `Percentage` or `Amount`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Percentage: percent off, more than 0 and at most 100 (two decimals).
    pub percentage_off: Option<f64>,
    /// Percentage: the cap, major units.
    pub max_amount: Option<f64>,
    /// Amount: the amount off, major units.
    pub coupon_amount: Option<f64>,
    /// Amount: the smallest order, major units (0 by default).
    pub min_amount_limit: Option<f64>,
    /// ISO 4217; the wallet currency by default.
    pub currency: Option<String>,
    /// Usable from (RFC 3339).
    pub valid_from: Option<DateTime<Utc>>,
    /// Usable until (RFC 3339, exclusive).
    pub valid_until: Option<DateTime<Utc>>,
    /// Uses in total (none: no limit).
    pub max_uses: Option<i64>,
    /// Uses per driver (1 by default).
    pub per_user_limit: Option<i64>,
    /// Switched on (true by default).
    pub active: Option<bool>,
    /// In the public list (true by default).
    pub listed: Option<bool>,
}

fn money(currency: Currency, field: &'static str, major: f64) -> ApiResult<i64> {
    currency
        .to_minor(major)
        .filter(|m| *m <= 100_000_000_000)
        .ok_or_else(|| ApiError::invalid_field(field, "must be an amount of 0 or more"))
}

impl CouponBody {
    fn into_coupon(
        self,
        state: &AppState,
        id: String,
        used: i64,
        created: DateTime<Utc>,
    ) -> ApiResult<Coupon> {
        let code = CouponCode::parse(&self.code)
            .map_err(|e| ApiError::invalid_field("code", e.message))?;
        let currency = match &self.currency {
            Some(c) => {
                Currency::parse(c).map_err(|e| ApiError::invalid_field("currency", e.message))?
            }
            None => state.settings.wallet_currency,
        };
        let value = match self.kind.as_str() {
            "Percentage" => {
                let percent = self.percentage_off.ok_or_else(|| {
                    ApiError::invalid_field("percentage_off", "is required for Percentage coupons")
                })?;
                if !percent.is_finite() {
                    return Err(ApiError::invalid_field(
                        "percentage_off",
                        "must be a number",
                    ));
                }
                CouponValue::Percentage {
                    basis_points: (percent * 100.0).round() as i64,
                    max_amount: self
                        .max_amount
                        .map(|m| money(currency, "max_amount", m))
                        .transpose()?,
                }
            }
            "Amount" => CouponValue::Amount {
                amount: money(
                    currency,
                    "coupon_amount",
                    self.coupon_amount.ok_or_else(|| {
                        ApiError::invalid_field("coupon_amount", "is required for Amount coupons")
                    })?,
                )?,
                min_order: money(
                    currency,
                    "min_amount_limit",
                    self.min_amount_limit.unwrap_or(0.0),
                )?,
            },
            _ => {
                return Err(ApiError::invalid_field(
                    "type",
                    "must be Percentage or Amount",
                ))
            }
        };
        let description = self.description.trim().to_owned();
        if description.chars().count() > 500 {
            return Err(ApiError::invalid_field(
                "description",
                "must be at most 500 characters",
            ));
        }
        let terms = CouponTerms {
            value,
            currency,
            valid_from: self.valid_from,
            valid_until: self.valid_until,
            max_uses: self.max_uses,
            per_user_limit: self.per_user_limit.unwrap_or(1),
            active: self.active.unwrap_or(true),
        };
        terms
            .validate()
            .map_err(|e| ApiError::invalid_field(e.field, e.message))?;
        Ok(Coupon {
            id,
            code,
            description,
            terms,
            listed: self.listed.unwrap_or(true),
            used,
            created_at: created,
            updated_at: state.clock.now(),
        })
    }
}

fn coupon_code_taken() -> ApiError {
    ApiError::conflict("coupon_code_taken", "another coupon has this code")
}

/// All coupons, newest first. Roles: admins.
#[utoipa::path(get, path = "/api/v1/admin/coupons", tag = "billing", params(PageQuery),
    responses((status = 200, body = Paginated<AdminCouponView>), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
async fn admin_list_coupons(
    State(state): State<AppState>,
    _admin: AdminAccess,
    Query(page): Query<PageQuery>,
) -> ApiResult<Json<Paginated<AdminCouponView>>> {
    let (page, size, offset) = page.resolve()?;
    let count = state.store.count_coupons(false).await?;
    let rows = state.store.list_coupons(false, offset, size).await?;
    Ok(Json(Paginated::new(
        rows.iter().map(admin_coupon_view).collect(),
        count,
        page,
        size,
    )))
}

/// Creates a coupon. Roles: admins.
#[utoipa::path(post, path = "/api/v1/admin/coupons", tag = "billing", request_body = CouponBody,
    responses((status = 201, body = AdminCouponView), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
async fn admin_create_coupon(
    State(state): State<AppState>,
    _admin: AdminAccess,
    Json(body): Json<CouponBody>,
) -> ApiResult<(StatusCode, Json<AdminCouponView>)> {
    let now = state.clock.now();
    let coupon = body.into_coupon(&state, state.ids.new_uuid(now).to_string(), 0, now)?;
    match state.store.insert_coupon(&coupon).await {
        Ok(()) => Ok((StatusCode::CREATED, Json(admin_coupon_view(&coupon)))),
        Err(plugway_store::StoreError::Conflict(_)) => Err(coupon_code_taken()),
        Err(e) => Err(e.into()),
    }
}

async fn admin_coupon(state: &AppState, id: &str) -> ApiResult<Coupon> {
    state
        .store
        .find_coupon(id)
        .await?
        .ok_or_else(|| ApiError::not_found("coupon_not_found", "no such coupon"))
}

/// One coupon. Roles: admins.
#[utoipa::path(get, path = "/api/v1/admin/coupons/{id}", tag = "billing", params(("id" = String, Path)),
    responses((status = 200, body = AdminCouponView), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
async fn admin_get_coupon(
    State(state): State<AppState>,
    _admin: AdminAccess,
    Path(id): Path<String>,
) -> ApiResult<Json<AdminCouponView>> {
    Ok(Json(admin_coupon_view(&admin_coupon(&state, &id).await?)))
}

/// Replaces a coupon's terms (its uses so far stay). Roles: admins.
#[utoipa::path(put, path = "/api/v1/admin/coupons/{id}", tag = "billing", params(("id" = String, Path)),
    request_body = CouponBody,
    responses((status = 200, body = AdminCouponView), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
async fn admin_update_coupon(
    State(state): State<AppState>,
    _admin: AdminAccess,
    Path(id): Path<String>,
    Json(body): Json<CouponBody>,
) -> ApiResult<Json<AdminCouponView>> {
    let old = admin_coupon(&state, &id).await?;
    let coupon = body.into_coupon(&state, old.id, old.used, old.created_at)?;
    match state.store.update_coupon(&coupon).await {
        Ok(()) => Ok(Json(admin_coupon_view(&coupon))),
        Err(plugway_store::StoreError::Conflict(_)) => Err(coupon_code_taken()),
        Err(e) => Err(e.into()),
    }
}

/// Deletes a coupon no bill used (`coupon_in_use`, 409, otherwise: switch
/// it off with `active: false`). Roles: admins.
#[utoipa::path(delete, path = "/api/v1/admin/coupons/{id}", tag = "billing", params(("id" = String, Path)),
    responses((status = 204), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
async fn admin_delete_coupon(
    State(state): State<AppState>,
    _admin: AdminAccess,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    match state.store.delete_coupon(&id).await {
        Ok(true) => Ok(StatusCode::NO_CONTENT),
        Ok(false) => Err(ApiError::not_found("coupon_not_found", "no such coupon")),
        Err(plugway_store::StoreError::Conflict(_)) => Err(ApiError::conflict(
            "coupon_in_use",
            "bills used this coupon; switch it off with active: false instead",
        )),
        Err(e) => Err(e.into()),
    }
}

/// A bill (seed 000's CreateBill): the order and how it is paid.
#[derive(Debug, Serialize, ToSchema)]
pub struct BillView {
    /// Its id (`bill_id` when paying).
    pub id: String,
    /// The purchase billed.
    pub purchase_id: String,
    /// The order, major units.
    pub bill_amount: f64,
    /// Taken off by the coupon.
    pub discount: f64,
    /// The coupon used.
    pub coupon: Option<String>,
    /// Credit points spent.
    pub credits: i64,
    /// What the points pay, major units.
    pub credits_value: f64,
    /// What is left to pay in money, major units.
    pub due: f64,
    /// ISO 4217.
    pub currency: String,
    /// open, paid or void.
    pub status: String,
    /// wallet, qpay or razorpay, once paid.
    pub method: Option<String>,
    /// Refunded so far, major units.
    pub refunded: f64,
    /// Created (RFC 3339).
    pub created_at: String,
    /// Paid (RFC 3339).
    pub paid_at: Option<String>,
}

fn bill_view(b: &Bill) -> BillView {
    let cur = b.currency;
    BillView {
        id: b.id.clone(),
        purchase_id: b.subject_id.clone(),
        bill_amount: cur.to_major(b.split.amount),
        discount: cur.to_major(b.split.discount),
        coupon: b.coupon_id.clone(),
        credits: b.split.credits,
        credits_value: cur.to_major(b.split.credits_value),
        due: cur.to_major(b.split.due),
        currency: cur.code().to_owned(),
        status: b.status.clone(),
        method: b.method.clone(),
        refunded: cur.to_major(b.refunded),
        created_at: time(b.created_at),
        paid_at: b.paid_at.map(time),
    }
}

/// Body of a new bill.
#[derive(Debug, Deserialize, ToSchema)]
pub struct BillBody {
    /// The purchase to bill.
    pub purchase_id: String,
    /// A coupon code.
    pub coupon_code: Option<String>,
    /// Credit points to spend.
    pub credits: Option<i64>,
}

/// Bills one of the caller's purchases with a coupon and credit points
/// (seed 000's CreateBill); pay it with `POST /api/v1/purchases/{id}/pay`
/// and its `bill_id`. A newer bill replaces the purchase's open ones.
/// Coupon refusals are 409 with the coupon's code (`coupon_invalid`,
/// `coupon_exhausted`, `coupon_user_limit`, `coupon_below_minimum`).
/// Roles: the purchase's driver.
#[utoipa::path(post, path = "/api/v1/bills", tag = "billing", request_body = BillBody,
    responses((status = 201, body = BillView), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
async fn create_bill(
    State(state): State<AppState>,
    who: SignedIn,
    Json(body): Json<BillBody>,
) -> ApiResult<(StatusCode, Json<BillView>)> {
    let purchase = own_purchase(&state, who.user.id, &body.purchase_id).await?;
    let bill = billing::bill_purchase(
        &state,
        who.user.id,
        &purchase,
        body.coupon_code.as_deref(),
        body.credits.unwrap_or(0),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(bill_view(&bill))))
}

/// The caller's bills, newest first.
#[utoipa::path(get, path = "/api/v1/bills", tag = "billing", params(PageQuery),
    responses((status = 200, body = Paginated<BillView>), (status = 401, body = ErrorBody)),
    security(("bearer" = [])))]
async fn list_bills(
    State(state): State<AppState>,
    who: SignedIn,
    Query(page): Query<PageQuery>,
) -> ApiResult<Json<Paginated<BillView>>> {
    let (page, size, offset) = page.resolve()?;
    let count = state.store.count_bills(who.user.id).await?;
    let rows = state.store.list_bills(who.user.id, offset, size).await?;
    Ok(Json(Paginated::new(
        rows.iter().map(bill_view).collect(),
        count,
        page,
        size,
    )))
}

/// One of the caller's bills (another's is 404).
#[utoipa::path(get, path = "/api/v1/bills/{id}", tag = "billing", params(("id" = String, Path)),
    responses((status = 200, body = BillView), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
async fn get_bill(
    State(state): State<AppState>,
    who: SignedIn,
    Path(id): Path<String>,
) -> ApiResult<Json<BillView>> {
    state
        .store
        .find_bill(&id)
        .await?
        .filter(|b| b.user_id == who.user.id)
        .map(|b| Json(bill_view(&b)))
        .ok_or_else(|| ApiError::not_found("bill_not_found", "no such bill"))
}

/// Credit points held, and what one pays (seed 000's AppCreditValue).
#[derive(Debug, Serialize, ToSchema)]
pub struct CreditsView {
    /// The caller's customer credit points.
    pub customer_credit: i64,
    /// The caller's host credit points.
    pub host_credit: i64,
    /// What one point pays at checkout, major units.
    pub credit_value: f64,
    /// The currency it pays in.
    pub currency: String,
}

async fn credits_view(state: &AppState, user: UserId) -> ApiResult<CreditsView> {
    let currency = state.settings.wallet_currency;
    Ok(CreditsView {
        customer_credit: state
            .store
            .account_balance(&credits_account(AccountKind::DriverCredits, user))
            .await?,
        host_credit: state
            .store
            .account_balance(&credits_account(AccountKind::HostCredits, user))
            .await?,
        credit_value: currency.to_major(state.settings.credit_point_value),
        currency: currency.code().to_owned(),
    })
}

/// The caller's credit points (customer and host).
#[utoipa::path(get, path = "/api/v1/credits", tag = "billing",
    responses((status = 200, body = CreditsView), (status = 401, body = ErrorBody)),
    security(("bearer" = [])))]
async fn my_credits(State(state): State<AppState>, who: SignedIn) -> ApiResult<Json<CreditsView>> {
    Ok(Json(credits_view(&state, who.user.id).await?))
}

/// A credit type (seed 000's CreditType).
#[derive(Debug, Serialize, ToSchema)]
pub struct CreditType {
    /// Its id, given when setting credits.
    pub id: String,
    /// Shown.
    pub title: String,
}

/// Seed 000's credit types: why points are granted. Anyone may call.
#[utoipa::path(get, path = "/api/v1/credit-types", tag = "billing",
    responses((status = 200, body = [CreditType])))]
async fn credit_types() -> Json<Vec<CreditType>> {
    Json(
        CREDIT_TYPES
            .iter()
            .map(|(id, title)| CreditType {
                id: (*id).to_owned(),
                title: (*title).to_owned(),
            })
            .collect(),
    )
}

/// Body of setting someone's credits (seed 000's UpdateCustomerCredit and
/// UpdateHostCredit, which only admins may do).
#[derive(Debug, Deserialize, ToSchema)]
pub struct SetCreditsBody {
    /// Seed 000's `customer_credit`: the customer points to hold.
    pub customer_credit: Option<i64>,
    /// Seed 000's `host_credit`: the host points to hold.
    pub host_credit: Option<i64>,
    /// A credit type id (`adjustment` by default).
    #[serde(rename = "type")]
    pub credit_type: Option<String>,
}

/// Sets a person's customer and/or host credit points: the difference is
/// posted to the ledger from promotions. Roles: admins.
#[utoipa::path(put, path = "/api/v1/admin/users/{id}/credits", tag = "billing",
    params(("id" = String, Path)), request_body = SetCreditsBody,
    responses((status = 200, body = CreditsView), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
async fn set_credits(
    State(state): State<AppState>,
    _admin: AdminAccess,
    Path(id): Path<String>,
    Json(body): Json<SetCreditsBody>,
) -> ApiResult<Json<CreditsView>> {
    let not_found = || ApiError::not_found("user_not_found", "no such account");
    let user: UserId = id.parse().map(UserId).map_err(|_| not_found())?;
    state.store.find_user(user).await?.ok_or_else(not_found)?;
    let credit_type = body.credit_type.as_deref().unwrap_or("adjustment");
    if !CREDIT_TYPES.iter().any(|(id, _)| *id == credit_type) {
        return Err(ApiError::invalid_field(
            "type",
            "is not a credit type (GET /api/v1/credit-types)",
        ));
    }
    let wanted = [
        (
            AccountKind::DriverCredits,
            body.customer_credit,
            "customer_credit",
        ),
        (AccountKind::HostCredits, body.host_credit, "host_credit"),
    ];
    if wanted.iter().all(|(_, v, _)| v.is_none()) {
        return Err(ApiError::invalid_field(
            "customer_credit",
            "give customer_credit or host_credit",
        ));
    }
    for (_, value, field) in &wanted {
        if value.is_some_and(|v| !(0..=1_000_000_000).contains(&v)) {
            return Err(ApiError::invalid_field(
                field,
                "must be from 0 to 1,000,000,000",
            ));
        }
    }
    for (kind, value, _) in wanted {
        if let Some(target) = value {
            let held = state
                .store
                .account_balance(&credits_account(kind, user))
                .await?;
            billing::grant_credits(&state, kind, user, target - held, credit_type, None).await?;
        }
    }
    Ok(Json(credits_view(&state, user).await?))
}

/// A refund.
#[derive(Debug, Serialize, ToSchema)]
pub struct RefundView {
    /// Its id.
    pub id: String,
    /// The bill refunded.
    pub bill_id: String,
    /// Major units.
    pub amount: f64,
    /// ISO 4217.
    pub currency: String,
    /// `wallet` or `gateway`.
    pub destination: String,
    /// The gateway's refund id.
    pub gateway_refund_id: Option<String>,
    /// The whole bill (coupon and points returned too).
    pub whole: bool,
    /// pending, succeeded or failed.
    pub status: String,
    /// Why.
    pub reason: String,
    /// Created (RFC 3339).
    pub created_at: String,
}

fn refund_view(r: &Refund) -> RefundView {
    RefundView {
        id: r.id.clone(),
        bill_id: r.bill_id.clone(),
        amount: r.currency.to_major(r.amount),
        currency: r.currency.code().to_owned(),
        destination: r.destination.clone(),
        gateway_refund_id: r.gateway_refund_id.clone(),
        whole: r.whole,
        status: r.status.clone(),
        reason: r.reason.clone(),
        created_at: time(r.created_at),
    }
}

/// Body of a refund.
#[derive(Debug, Deserialize, ToSchema)]
pub struct RefundBody {
    /// Major units; leave out to refund the whole purchase.
    pub amount: Option<f64>,
    /// `wallet` (default) or `gateway` (back through Razorpay, or QPay for whole payments).
    pub destination: Option<String>,
    /// Why (1 to 200 characters).
    pub reason: String,
}

/// An admin's decision on a purchase held for implausible energy.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReviewBody {
    /// `release` (with `energy_wh`, the corrected figure) or `void`.
    pub decision: String,
    /// The energy to bill, Wh (release only): priced with the purchase's
    /// frozen tariff.
    pub energy_wh: Option<i64>,
}

/// Releases a purchase held for review at a corrected energy (priced again
/// with its tariff; the driver can then pay it) or voids it (nobody pays).
/// 409 `purchase_not_held` when it is not held. Roles: admins.
#[utoipa::path(post, path = "/api/v1/admin/purchases/{id}/review", tag = "billing",
    params(("id" = String, Path)), request_body = ReviewBody,
    responses((status = 200, body = crate::routes::charging::PurchaseView), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
async fn review_held_purchase(
    State(state): State<AppState>,
    _admin: AdminAccess,
    Path(id): Path<String>,
    Json(body): Json<ReviewBody>,
) -> ApiResult<Json<crate::routes::charging::PurchaseView>> {
    let purchase = any_purchase(&state, &id).await?;
    let energy = match (body.decision.as_str(), body.energy_wh) {
        ("release", Some(wh)) if (0..=10_000_000).contains(&wh) => Some(wh),
        ("release", _) => {
            return Err(ApiError::invalid_field(
                "energy_wh",
                "give the energy to bill, 0 to 10,000,000 Wh",
            ))
        }
        ("void", None) => None,
        ("void", Some(_)) => {
            return Err(ApiError::invalid_field(
                "energy_wh",
                "a voided purchase bills no energy",
            ))
        }
        _ => {
            return Err(ApiError::invalid_field(
                "decision",
                "must be release or void",
            ))
        }
    };
    let reviewed = state
        .sessions
        .review_held(&purchase, energy)
        .await?
        .ok_or_else(|| {
            ApiError::conflict("purchase_not_held", "this purchase is not held for review")
        })?;
    Ok(Json(crate::routes::charging::purchase_view(&reviewed)))
}

async fn any_purchase(state: &AppState, id: &str) -> ApiResult<plugway_store::Purchase> {
    let not_found = || ApiError::not_found("purchase_not_found", "no such purchase");
    let id = id
        .parse()
        .map(plugway_domain::PurchaseId)
        .map_err(|_| not_found())?;
    state.store.find_purchase(id).await?.ok_or_else(not_found)
}

/// Refunds a paid purchase, whole or in part, to the driver's wallet or
/// (`destination: gateway`) back through the gateway that took it (Razorpay
/// in whole or in part, QPay whole payments only: `partial_refund_unsupported`).
/// Refunds never exceed what the driver paid in money (`refund_exceeds_payment`,
/// 409); a whole refund returns the coupon's and points' parts too. Send an
/// `Idempotency-Key` header to make retries safe. Roles: admins.
#[utoipa::path(post, path = "/api/v1/admin/purchases/{id}/refunds", tag = "billing",
    params(("id" = String, Path), ("Idempotency-Key" = Option<String>, Header)),
    request_body = RefundBody,
    responses((status = 201, body = RefundView), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
async fn refund(
    State(state): State<AppState>,
    _admin: AdminAccess,
    Path(id): Path<String>,
    headers: HeaderMap,
    Json(body): Json<RefundBody>,
) -> ApiResult<(StatusCode, Json<RefundView>)> {
    let purchase = any_purchase(&state, &id).await?;
    let amount = billing::refund_amount(&purchase, body.amount)?;
    let key = idempotency_key(&headers, &billing::refund_scope(&purchase))?;
    let refund = billing::refund_purchase(
        &state,
        &purchase,
        RefundRequest {
            amount,
            destination: body.destination.unwrap_or_else(|| "wallet".into()),
            reason: body.reason,
            idempotency_key: key,
        },
    )
    .await?;
    Ok((StatusCode::CREATED, Json(refund_view(&refund))))
}

/// A purchase's refunds, oldest first. Roles: admins.
#[utoipa::path(get, path = "/api/v1/admin/purchases/{id}/refunds", tag = "billing",
    params(("id" = String, Path)),
    responses((status = 200, body = [RefundView]), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
async fn list_refunds(
    State(state): State<AppState>,
    _admin: AdminAccess,
    Path(id): Path<String>,
) -> ApiResult<Json<Vec<RefundView>>> {
    let purchase = any_purchase(&state, &id).await?;
    let refunds = match state
        .store
        .find_paid_bill(billing::PURCHASE, &purchase.id.to_text())
        .await?
    {
        Some(bill) => state.store.list_refunds(&bill.id).await?,
        None => Vec::new(),
    };
    Ok(Json(refunds.iter().map(refund_view).collect()))
}
