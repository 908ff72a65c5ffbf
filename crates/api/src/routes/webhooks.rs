//! Seed 004: the CRM creates charge points and customers and blocks and
//! unblocks them. Paths, bodies, status codes and error shapes are the
//! seed's: 422 `{"errors": [...], "status": 422}` (the validator messages of
//! the original service), 404/409 `{"details": null, "error": "...",
//! "status": N}`. Every call needs an `integration` (or admin) API key.
//! Additions that keep the contract: `generate_charge_point` also returns
//! the charger's Basic-auth `password` (shown once), and `register_customer`
//! issues an OCPP id tag in `id_tag`.

use axum::extract::rejection::JsonRejection;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::SecondsFormat;
use plugway_domain::{ChargePointId, IdTag, IdTagState};
use plugway_store::{CrmCustomer, IdTagRecord, StoreError};
use serde::Serialize;
use serde_json::{json, Value};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::IntegrationAccess;
use crate::error::ErrorBody;
use crate::routes::charge_points;
use crate::AppState;

/// The router.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(generate_charge_point))
        .routes(routes!(register_customer))
        .routes(routes!(block_customer))
        .routes(routes!(unblock_customer))
}

/// Concurrent transactions an unblocked customer gets when the CRM does not say.
pub const DEFAULT_UNBLOCKED_LIMIT: i64 = 1;

/// The seed's error replies.
enum SeedError {
    Invalid(Vec<String>),
    NotFound(String),
    Conflict(String),
    Internal,
}

impl IntoResponse for SeedError {
    fn into_response(self) -> Response {
        match self {
            SeedError::Invalid(errors) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                axum::Json(json!({"errors": errors, "status": 422})),
            )
                .into_response(),
            SeedError::NotFound(error) => (
                StatusCode::NOT_FOUND,
                axum::Json(json!({"details": null, "error": error, "status": 404})),
            )
                .into_response(),
            SeedError::Conflict(error) => (
                StatusCode::CONFLICT,
                axum::Json(json!({"details": null, "error": error, "status": 409})),
            )
                .into_response(),
            SeedError::Internal => (
                StatusCode::INTERNAL_SERVER_ERROR,
                axum::Json(json!({"details": null, "error": "internal error", "status": 500})),
            )
                .into_response(),
        }
    }
}

fn internal(e: impl std::fmt::Display) -> SeedError {
    tracing::error!(error = %e, "CRM webhook failed");
    SeedError::Internal
}

/// Reads the body as a JSON object; anything else is a 422 in the seed's shape.
fn object(
    body: Result<axum::Json<Value>, JsonRejection>,
) -> Result<serde_json::Map<String, Value>, SeedError> {
    match body {
        Ok(axum::Json(Value::Object(map))) => Ok(map),
        Ok(_) => Err(SeedError::Invalid(vec![
            "the body must be a JSON object".into()
        ])),
        Err(rejection) => Err(SeedError::Invalid(vec![rejection.body_text()])),
    }
}

/// A required non-empty string field, as the original service's validator
/// reports it: `Key: 'P.Application' Error:Field validation for 'Application' failed on the 'required' tag`.
fn required(
    map: &serde_json::Map<String, Value>,
    key: &str,
    go_name: &str,
    errors: &mut Vec<String>,
) -> String {
    match map.get(key) {
        Some(Value::String(s)) if !s.trim().is_empty() => s.trim().to_owned(),
        Some(Value::Number(n)) => n.to_string(),
        _ => {
            errors.push(format!(
                "Key: 'P.{go_name}' Error:Field validation for '{go_name}' failed on the 'required' tag"
            ));
            String::new()
        }
    }
}

/// Reply of `generate_charge_point`.
#[derive(Debug, Serialize, ToSchema)]
pub struct GeneratedChargePoint {
    /// The new charge point's id.
    #[schema(example = "fccp_17a18afd23e722dd021bd75b581e7651")]
    pub charging_point_id: String,
    /// Its Basic-auth password for `ws://HOST/ocpp/{id}` (shown only now).
    pub password: String,
}

/// Seed 004's customer.
#[derive(Debug, Serialize, ToSchema)]
pub struct CustomerView {
    /// Sequential id.
    pub id: i64,
    /// Created (RFC 3339).
    pub created_at: String,
    /// Changed (RFC 3339).
    pub updated_at: String,
    /// The CRM's id.
    pub zoho_customer_id: String,
    /// The application.
    pub application: String,
    /// The OCPP id tag issued to the customer.
    pub id_tag: Option<String>,
    /// 0 blocked, negative unlimited, positive the limit.
    pub max_active_transactions_count: i64,
}

impl From<CrmCustomer> for CustomerView {
    fn from(c: CrmCustomer) -> Self {
        Self {
            id: c.id,
            created_at: c.created_at.to_rfc3339_opts(SecondsFormat::Micros, false),
            updated_at: c.updated_at.to_rfc3339_opts(SecondsFormat::Micros, false),
            zoho_customer_id: c.zoho_customer_id,
            application: c.application,
            id_tag: Some(c.id_tag),
            max_active_transactions_count: c.max_active_transactions_count,
        }
    }
}

/// Creates a charge point (id `fccp_<32 hex>`) with a fresh password.
/// Roles: integration key, admin.
#[utoipa::path(post, path = "/api/v1/webhooks/generate_charge_point", tag = "crm webhooks", security(("bearer" = [])),
    responses((status = 200, body = GeneratedChargePoint), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn generate_charge_point(State(state): State<AppState>, _: IntegrationAccess) -> Response {
    // A password: 122 random bits, not an id for the (time-ordered) generator.
    #[allow(clippy::disallowed_methods)]
    let raw = format!("fccp_{}", uuid::Uuid::new_v4().simple());
    let id = match ChargePointId::parse(&raw) {
        Ok(id) => id,
        Err(e) => return internal(e).into_response(),
    };
    match charge_points::register(&state, id.clone(), None).await {
        Ok(password) => (
            StatusCode::OK,
            axum::Json(GeneratedChargePoint {
                charging_point_id: id.to_string(),
                password,
            }),
        )
            .into_response(),
        Err(e) => internal(e.message).into_response(),
    }
}

/// Registers a customer on a charge point with a new id tag, blocked until
/// unblocked. Roles: integration key, admin.
#[utoipa::path(post, path = "/api/v1/webhooks/register_customer", tag = "crm webhooks", security(("bearer" = [])),
    request_body(content = Value, example = json!({"charging_point_id": "fccp_17a18afd23e722dd021bd75b581e7651", "application": "store", "zoho_customer_id": "445"})),
    responses(
        (status = 200, body = CustomerView),
        (status = 404, description = "`{\"details\":null,\"error\":\"charge point with id: cp_26 not found\",\"status\":404}`"),
        (status = 409, description = "the charge point already has a user, or the CRM id is registered"),
        (status = 422, description = "`{\"errors\":[...],\"status\":422}`")))]
async fn register_customer(
    State(state): State<AppState>,
    _: IntegrationAccess,
    body: Result<axum::Json<Value>, JsonRejection>,
) -> Result<axum::Json<CustomerView>, SeedError> {
    let map = object(body)?;
    let mut errors = Vec::new();
    let cp_raw = required(&map, "charging_point_id", "ChargingPointID", &mut errors);
    let application = required(&map, "application", "Application", &mut errors);
    let zoho = required(&map, "zoho_customer_id", "ZohoCustomerID", &mut errors);
    if !errors.is_empty() {
        return Err(SeedError::Invalid(errors));
    }
    let not_found = || SeedError::NotFound(format!("charge point with id: {cp_raw} not found"));
    let cp_id = ChargePointId::parse(&cp_raw).map_err(|_| not_found())?;
    state
        .store
        .find_charge_point(&cp_id)
        .await
        .map_err(internal)?
        .ok_or_else(not_found)?;
    let now = state.clock.now();
    // 19 characters, within OCPP's 20.
    // 64 random bits: a time-ordered id would share its first 16 digits
    // with every tag made in the same millisecond.
    #[allow(clippy::disallowed_methods)]
    let tag_text = format!("tg_{}", &uuid::Uuid::new_v4().simple().to_string()[..16]);
    let tag = IdTag::parse(&tag_text).map_err(internal)?;
    let customer = CrmCustomer {
        id: 0,
        charge_point_id: cp_id,
        application,
        zoho_customer_id: zoho.clone(),
        id_tag: tag.key(),
        max_active_transactions_count: 0,
        created_at: now,
        updated_at: now,
    };
    let record = IdTagRecord {
        state: IdTagState {
            id_tag: tag,
            parent_id_tag: None,
            expiry: None,
            max_active_transactions: 0,
        },
        user: None,
        created_at: now,
        updated_at: now,
    };
    match state.store.create_crm_customer(&customer, &record).await {
        Ok(created) => Ok(axum::Json(created.into())),
        Err(StoreError::Conflict(plugway_store::Conflict::ZohoCustomerId)) => Err(
            SeedError::Conflict(format!("customer with zoho id: {zoho} already exists")),
        ),
        Err(StoreError::Conflict(_)) => Err(SeedError::Conflict(format!(
            "charge point with id: {cp_raw} already has a user"
        ))),
        Err(e) => Err(internal(e)),
    }
}

async fn set_limit(state: &AppState, zoho: &str, max: i64) -> Result<(), SeedError> {
    match state
        .store
        .set_crm_customer_limit(zoho, max, state.clock.now())
        .await
    {
        Ok(customer) => {
            tracing::info!(zoho_customer_id = zoho, id_tag = %customer.id_tag, max, "CRM customer limit set");
            plugway_app::chargers::push_local_list(state, &customer);
            Ok(())
        }
        Err(StoreError::NotFound) => Err(SeedError::NotFound(format!("user: {zoho} not found"))),
        Err(e) => Err(internal(e)),
    }
}

/// Blocks a customer's id tag (its limit becomes 0). Roles: integration key, admin.
#[utoipa::path(post, path = "/api/v1/webhooks/block_customer", tag = "crm webhooks", security(("bearer" = [])),
    request_body(content = Value, example = json!({"zoho_customer_id": "445"})),
    responses((status = 204), (status = 404, description = "`{\"details\":null,\"error\":\"user: 45 not found\",\"status\":404}`"),
        (status = 422, description = "`{\"errors\":[...],\"status\":422}`")))]
async fn block_customer(
    State(state): State<AppState>,
    _: IntegrationAccess,
    body: Result<axum::Json<Value>, JsonRejection>,
) -> Result<StatusCode, SeedError> {
    let map = object(body)?;
    let mut errors = Vec::new();
    let zoho = required(&map, "zoho_customer_id", "ZohoCustomerID", &mut errors);
    if !errors.is_empty() {
        return Err(SeedError::Invalid(errors));
    }
    set_limit(&state, &zoho, 0).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Unblocks a customer: `max_active_transaction_count` (optional; also read
/// as `max_active_transactions_count`) sets the limit — 0 blocks, negative
/// allows any number, positive is the limit; absent means 1. Roles:
/// integration key, admin.
#[utoipa::path(post, path = "/api/v1/webhooks/unblock_customer", tag = "crm webhooks", security(("bearer" = [])),
    request_body(content = Value, example = json!({"zoho_customer_id": "445", "max_active_transaction_count": 2})),
    responses((status = 204), (status = 404, description = "`{\"details\":null,\"error\":\"user: 445 not found\",\"status\":404}`"),
        (status = 422, description = "`{\"errors\":[...],\"status\":422}`")))]
async fn unblock_customer(
    State(state): State<AppState>,
    _: IntegrationAccess,
    body: Result<axum::Json<Value>, JsonRejection>,
) -> Result<StatusCode, SeedError> {
    let map = object(body)?;
    let mut errors = Vec::new();
    let zoho = required(&map, "zoho_customer_id", "ZohoCustomerID", &mut errors);
    let limit = match map
        .get("max_active_transaction_count")
        .or(map.get("max_active_transactions_count"))
    {
        None | Some(Value::Null) => DEFAULT_UNBLOCKED_LIMIT,
        Some(v) => match v.as_i64() {
            Some(n) => n,
            None => {
                errors.push(
                    "Key: 'P.MaxActiveTransactionCount' Error:Field validation for 'MaxActiveTransactionCount' failed on the 'number' tag"
                        .into(),
                );
                0
            }
        },
    };
    if !errors.is_empty() {
        return Err(SeedError::Invalid(errors));
    }
    set_limit(&state, &zoho, limit).await?;
    Ok(StatusCode::NO_CONTENT)
}
