//! Charge points for operators: register them (with the Basic-auth password
//! they connect with), see their state, transactions, status history and
//! message log, the device model and events a 2.0.1 station reported, and
//! send them any command of the OCPP version they speak (1.6 or 2.0.1),
//! waiting for the answer.
//! Admins see every charge point; a host sees only their own (others are
//! "not found", so their existence does not leak).

use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use plugway_domain::{ChargePointId, UserId};
use plugway_store::{ChargePoint, NewChargePoint, StatusReport, StoreError, Transaction};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::{AdminAccess, OperatorAccess};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{Json, Path, Query};
use crate::routes::{PageQuery, Paginated};
use crate::AppState;

/// The router.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create, list))
        .routes(routes!(detail))
        .routes(routes!(transactions))
        .routes(routes!(history))
        .routes(routes!(meter_report))
        .routes(routes!(messages))
        .routes(routes!(command))
        .routes(routes!(device_model))
        .routes(routes!(security_profile))
        .routes(routes!(station_events))
}

/// Registers a charge point with a fresh password; the store's conflict
/// becomes a 409.
pub async fn register(
    state: &AppState,
    id: ChargePointId,
    owner: Option<UserId>,
) -> ApiResult<String> {
    let password = plugway_app::security::random_secret();
    let cp = NewChargePoint {
        id,
        password_hash: Some(plugway_domain::secret::secret_digest(&password)),
        owner,
        created_at: state.clock.now(),
    };
    state
        .store
        .create_charge_point(&cp)
        .await
        .map_err(|e| match e {
            StoreError::Conflict(_) => {
                ApiError::conflict("charge_point_exists", "a charge point with this id exists")
            }
            StoreError::NotFound => ApiError::invalid_field("owner_id", "no such account"),
            other => other.into(),
        })?;
    Ok(password)
}

/// Body of registration.
#[derive(Debug, Deserialize, ToSchema)]
pub struct NewCharger {
    /// The OCPP identity it will connect with (generated when absent).
    pub id: Option<String>,
    /// The host account that owns it.
    pub owner_id: Option<String>,
}

/// A registered charge point with its password (shown only here).
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedCharger {
    /// Its id.
    pub id: String,
    /// Basic-auth password for `ws://HOST/ocpp/{id}`.
    pub password: String,
    /// Where it connects.
    pub ocpp_path: String,
}

/// One connector's current status. (Named apart in the OpenAPI document:
/// an EVSE's `ConnectorView` is another type.)
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = ConnectorStatusView)]
pub struct ConnectorView {
    /// Connector id (0 = the charge point).
    pub connector_id: i64,
    /// OCPP ChargePointStatus.
    pub status: String,
    /// OCPP ChargePointErrorCode.
    pub error_code: String,
    /// Free text from the charger.
    pub info: Option<String>,
    /// Vendor error code.
    pub vendor_error_code: Option<String>,
    /// The charger's timestamp.
    pub timestamp: DateTime<Utc>,
}

impl From<StatusReport> for ConnectorView {
    fn from(s: StatusReport) -> Self {
        Self {
            connector_id: s.connector_id,
            status: s.status,
            error_code: s.error_code,
            info: s.info,
            vendor_error_code: s.vendor_error_code,
            timestamp: s.timestamp,
        }
    }
}

/// A charge point as operators see it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChargerView {
    /// Id.
    pub id: String,
    /// Owning host.
    pub owner_id: Option<String>,
    /// Connected to this node now.
    pub online: bool,
    /// chargePointVendor.
    pub vendor: Option<String>,
    /// chargePointModel.
    pub model: Option<String>,
    /// chargePointSerialNumber.
    pub serial_number: Option<String>,
    /// chargeBoxSerialNumber.
    pub charge_box_serial_number: Option<String>,
    /// firmwareVersion.
    pub firmware_version: Option<String>,
    /// iccid.
    pub iccid: Option<String>,
    /// imsi.
    pub imsi: Option<String>,
    /// meterType.
    pub meter_type: Option<String>,
    /// meterSerialNumber.
    pub meter_serial_number: Option<String>,
    /// Last BootNotification.
    pub last_boot_at: Option<DateTime<Utc>>,
    /// Last sign of life.
    pub last_heartbeat_at: Option<DateTime<Utc>>,
    /// Last firmware status.
    pub firmware_status: Option<String>,
    /// Last diagnostics status.
    pub diagnostics_status: Option<String>,
    /// Current connector statuses (detail only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connectors: Option<Vec<ConnectorView>>,
    /// Registered.
    pub created_at: DateTime<Utc>,
    /// The OCPP version it last connected with: `1.6` or `2.0.1` (null
    /// until it first connects).
    pub ocpp_version: Option<String>,
    /// Its OCPP security profile: 1 or 2 (HTTP Basic auth; 2 over TLS), 3
    /// (a client certificate from the station CA, whose common name is
    /// its id).
    pub security_profile: i64,
}

fn view(state: &AppState, cp: ChargePoint, connectors: Option<Vec<StatusReport>>) -> ChargerView {
    let boot = cp.boot.unwrap_or_default();
    let some = |s: String| (!s.is_empty()).then_some(s);
    ChargerView {
        online: state.chargers.is_connected(cp.id.as_str()),
        id: cp.id.to_string(),
        owner_id: cp.owner.map(|o| o.to_text()),
        vendor: some(boot.vendor),
        model: some(boot.model),
        serial_number: boot.serial_number,
        charge_box_serial_number: boot.charge_box_serial_number,
        firmware_version: boot.firmware_version,
        iccid: boot.iccid,
        imsi: boot.imsi,
        meter_type: boot.meter_type,
        meter_serial_number: boot.meter_serial_number,
        last_boot_at: cp.last_boot_at,
        last_heartbeat_at: cp.last_heartbeat_at,
        firmware_status: cp.firmware_status,
        diagnostics_status: cp.diagnostics_status,
        connectors: connectors.map(|c| c.into_iter().map(ConnectorView::from).collect()),
        created_at: cp.created_at,
        ocpp_version: cp.ocpp_version,
        security_profile: cp.security_profile,
    }
}

/// The charge point if the caller may see it; 404 otherwise.
async fn visible(state: &AppState, who: &OperatorAccess, raw_id: &str) -> ApiResult<ChargePoint> {
    let id = ChargePointId::parse(raw_id)
        .map_err(|_| ApiError::from(plugway_app::access::charge_point_not_found()))?;
    Ok(plugway_app::access::managed_charge_point(state, who.manager(), &id).await?)
}

/// Registers a charge point and returns its password, once. Roles: admin.
#[utoipa::path(post, path = "/api/v1/charge-points", tag = "charge points", security(("bearer" = [])),
    request_body = NewCharger,
    responses((status = 201, body = CreatedCharger), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create(
    State(state): State<AppState>,
    _: AdminAccess,
    Json(body): Json<NewCharger>,
) -> ApiResult<(StatusCode, Json<CreatedCharger>)> {
    let id = match body.id.as_deref() {
        Some(raw) => ChargePointId::parse(raw)?,
        None => ChargePointId::parse(&format!(
            "cp_{}",
            state.ids.new_uuid(state.clock.now()).simple()
        ))?,
    };
    let owner = body
        .owner_id
        .as_deref()
        .map(|o| {
            o.parse::<UserId>()
                .map_err(|_| ApiError::invalid_field("owner_id", "is not an account id"))
        })
        .transpose()?;
    let password = register(&state, id.clone(), owner).await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedCharger {
            ocpp_path: format!("/ocpp/{id}"),
            id: id.to_string(),
            password,
        }),
    ))
}

/// Charge points, by id, paginated. Roles: admin (all), host (own).
#[utoipa::path(get, path = "/api/v1/charge-points", tag = "charge points", security(("bearer" = [])),
    params(PageQuery),
    responses((status = 200, body = Paginated<ChargerView>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn list(
    State(state): State<AppState>,
    who: OperatorAccess,
    Query(q): Query<PageQuery>,
) -> ApiResult<Json<Paginated<ChargerView>>> {
    let (page, size, offset) = q.resolve()?;
    let owner = who.host();
    let count = state.store.count_charge_points(owner).await?;
    let items = state.store.list_charge_points(owner, offset, size).await?;
    let views = items.into_iter().map(|cp| view(&state, cp, None)).collect();
    Ok(Json(Paginated::new(views, count, page, size)))
}

/// A charge point with its connectors. Roles: admin, owning host.
#[utoipa::path(get, path = "/api/v1/charge-points/{id}", tag = "charge points", security(("bearer" = [])),
    params(("id" = String, Path, description = "charge point id")),
    responses((status = 200, body = ChargerView), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn detail(
    State(state): State<AppState>,
    who: OperatorAccess,
    Path(id): Path<String>,
) -> ApiResult<Json<ChargerView>> {
    let cp = visible(&state, &who, &id).await?;
    let connectors = state.store.list_connectors(&cp.id).await?;
    Ok(Json(view(&state, cp, Some(connectors))))
}

/// A transaction.
#[derive(Debug, Serialize, ToSchema)]
pub struct TransactionView {
    /// Plugway's transaction id (1.6's transactionId).
    pub id: i64,
    /// The id an OCPP 2.0.1 station gave the transaction (its
    /// `transactionId`, for RequestStopTransaction); null for 1.6.
    pub station_transaction_id: Option<String>,
    /// Connector.
    pub connector_id: i64,
    /// idTag that started it.
    pub id_tag: String,
    /// Authorization given at start.
    pub auth_status: String,
    /// meterStart, Wh.
    pub meter_start: i64,
    /// meterStop, Wh.
    pub meter_stop: Option<i64>,
    /// Energy, Wh, once stopped.
    pub energy_wh: Option<i64>,
    /// Started (charger time).
    pub started_at: DateTime<Utc>,
    /// Stopped (charger time).
    pub stopped_at: Option<DateTime<Utc>>,
    /// Stop reason.
    pub stop_reason: Option<String>,
}

impl From<Transaction> for TransactionView {
    fn from(t: Transaction) -> Self {
        Self {
            energy_wh: t.meter_stop.map(|stop| stop - t.meter_start),
            id: t.id,
            station_transaction_id: None,
            connector_id: t.connector_id,
            id_tag: t.id_tag,
            auth_status: t.auth_status,
            meter_start: t.meter_start,
            meter_stop: t.meter_stop,
            started_at: t.started_at,
            stopped_at: t.stopped_at,
            stop_reason: t.stop_reason,
        }
    }
}

/// A charge point's transactions, newest first. Roles: admin, owning host.
#[utoipa::path(get, path = "/api/v1/charge-points/{id}/transactions", tag = "charge points", security(("bearer" = [])),
    params(("id" = String, Path, description = "charge point id"), PageQuery),
    responses((status = 200, body = Vec<TransactionView>), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn transactions(
    State(state): State<AppState>,
    who: OperatorAccess,
    Path(id): Path<String>,
    Query(q): Query<PageQuery>,
) -> ApiResult<Json<Vec<TransactionView>>> {
    let cp = visible(&state, &who, &id).await?;
    let (_, size, offset) = q.resolve()?;
    let list = state.store.list_transactions(&cp.id, offset, size).await?;
    let mut views: Vec<TransactionView> = list.into_iter().map(TransactionView::from).collect();
    if cp.ocpp_version.is_some_and(|v| v != "1.6") {
        for view in &mut views {
            view.station_transaction_id =
                state.store.remote_transaction_id(&cp.id, view.id).await?;
        }
    }
    Ok(Json(views))
}

/// A connector's status and error history, newest first (up to 100). Roles:
/// admin, owning host.
#[utoipa::path(get, path = "/api/v1/charge-points/{id}/connectors/{connector_id}/history", tag = "charge points",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "charge point id"), ("connector_id" = i64, Path, description = "connector (0 = the charge point)")),
    responses((status = 200, body = Vec<ConnectorView>), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn history(
    State(state): State<AppState>,
    who: OperatorAccess,
    Path((id, connector_id)): Path<(String, i64)>,
) -> ApiResult<Json<Vec<ConnectorView>>> {
    let cp = visible(&state, &who, &id).await?;
    let list = state
        .store
        .connector_history(&cp.id, connector_id, 100)
        .await?;
    Ok(Json(list.into_iter().map(ConnectorView::from).collect()))
}

/// Query of the meter-data report.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MeterReportQuery {
    /// Days back from today (UTC), today included: 1 to 366, default 30.
    pub days: Option<i64>,
}

/// A charger's sampled values over some days.
#[derive(Debug, Default, Serialize, ToSchema)]
pub struct MeterCountsView {
    /// Sampled values received.
    pub received: i64,
    /// Of those, corrected by the model's meter quirks (docs/ocpp.md).
    pub corrected: i64,
    /// Of those, read by no rule (not a number, an unknown unit): stored,
    /// never billed.
    pub unreadable: i64,
}

impl From<plugway_store::MeterDataCounts> for MeterCountsView {
    fn from(c: plugway_store::MeterDataCounts) -> Self {
        Self {
            received: c.received,
            corrected: c.corrected,
            unreadable: c.unreadable,
        }
    }
}

/// One day of the report.
#[derive(Debug, Serialize, ToSchema)]
pub struct MeterReportDay {
    /// The day (UTC), `YYYY-MM-DD`.
    #[schema(value_type = String, example = "2026-12-07")]
    pub day: chrono::NaiveDate,
    /// Its counts.
    #[serde(flatten)]
    pub counts: MeterCountsView,
}

/// A charger's meter-data report.
#[derive(Debug, Serialize, ToSchema)]
pub struct MeterReport {
    /// The charge point.
    pub charge_point_id: String,
    /// The first day covered (UTC).
    #[schema(value_type = String, example = "2026-11-08")]
    pub from: chrono::NaiveDate,
    /// Days with values, oldest first.
    pub days: Vec<MeterReportDay>,
    /// The days added up.
    pub totals: MeterCountsView,
}

/// What a charger's meters sent, per day: sampled values received, those
/// its model's meter quirks corrected, and those no rule reads. Counted by
/// every node, added every 10 s. Roles: admin, owning host.
#[utoipa::path(get, path = "/api/v1/charge-points/{id}/meter-report", tag = "charge points",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "charge point id"), MeterReportQuery),
    responses((status = 200, body = MeterReport), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn meter_report(
    State(state): State<AppState>,
    who: OperatorAccess,
    Path(id): Path<String>,
    Query(q): Query<MeterReportQuery>,
) -> ApiResult<Json<MeterReport>> {
    let cp = visible(&state, &who, &id).await?;
    let report = plugway_app::chargers::meter_report(&state, &cp.id, q.days.unwrap_or(30)).await?;
    Ok(Json(MeterReport {
        charge_point_id: cp.id.as_str().to_owned(),
        from: report.from,
        days: report
            .days
            .into_iter()
            .map(|r| MeterReportDay {
                day: r.day,
                counts: r.counts.into(),
            })
            .collect(),
        totals: report.totals.into(),
    }))
}

/// Query of the message log.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LogQuery {
    /// Frames to return (1 to 500, default 100).
    pub limit: Option<i64>,
}

/// One logged frame.
#[derive(Debug, Serialize, ToSchema)]
pub struct LoggedFrame {
    /// "in" (from the charger) or "out".
    pub direction: String,
    /// The raw OCPP-J frame.
    pub frame: String,
    /// When.
    pub at: DateTime<Utc>,
}

/// The charge point's latest OCPP frames, newest first (kept for the
/// configured retention). Roles: admin, owning host.
#[utoipa::path(get, path = "/api/v1/charge-points/{id}/messages", tag = "charge points", security(("bearer" = [])),
    params(("id" = String, Path, description = "charge point id"), LogQuery),
    responses((status = 200, body = Vec<LoggedFrame>), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn messages(
    State(state): State<AppState>,
    who: OperatorAccess,
    Path(id): Path<String>,
    Query(q): Query<LogQuery>,
) -> ApiResult<Json<Vec<LoggedFrame>>> {
    let cp = visible(&state, &who, &id).await?;
    let limit = q.limit.unwrap_or(100);
    if !(1..=500).contains(&limit) {
        return Err(ApiError::invalid_field("limit", "must be from 1 to 500"));
    }
    let list = state.store.list_ocpp_log(&cp.id, limit).await?;
    Ok(Json(
        list.into_iter()
            .map(|e| LoggedFrame {
                direction: e.direction,
                frame: e.frame,
                at: e.at,
            })
            .collect(),
    ))
}

/// The charger's answer to a command.
#[derive(Debug, Serialize, ToSchema)]
pub struct CommandReply {
    /// The action sent.
    pub action: String,
    /// The charger's CALLRESULT payload, as it sent it.
    pub response: serde_json::Value,
}

/// Sends an OCPP command with the body as its payload and returns the
/// charger's answer. The action is one of the version the charger speaks
/// (`ocpp_version`). 1.6: CancelReservation, ChangeAvailability,
/// ChangeConfiguration, ClearCache, ClearChargingProfile, DataTransfer,
/// GetCompositeSchedule, GetConfiguration, GetDiagnostics,
/// GetLocalListVersion, RemoteStartTransaction, RemoteStopTransaction,
/// ReserveNow, Reset, SendLocalList, SetChargingProfile, TriggerMessage,
/// UnlockConnector, UpdateFirmware, checked against the 1.6 schema. 2.0.1:
/// every CSMS→station action (RequestStartTransaction, GetVariables,
/// SetVariables, GetBaseReport, Reset, CertificateSigned, ...), checked
/// against the official 2.0.1 schema. Roles: admin, owning host.
#[utoipa::path(post, path = "/api/v1/charge-points/{id}/commands/{action}", tag = "charge points",
    security(("bearer" = [])), request_body = serde_json::Value,
    params(("id" = String, Path, description = "charge point id"), ("action" = String, Path, description = "OCPP action, e.g. Reset")),
    responses(
        (status = 200, body = CommandReply),
        (status = 404, body = ErrorBody, description = "`charge_point_not_found`"),
        (status = 409, body = ErrorBody, description = "`charge_point_offline`"),
        (status = 422, body = ErrorBody, description = "`invalid_command`: unknown action or payload not valid for it"),
        (status = 502, body = ErrorBody, description = "`charge_point_error`: it answered with a CALLERROR"),
        (status = 503, body = ErrorBody, description = "`charge_point_busy`"),
        (status = 504, body = ErrorBody, description = "`charge_point_timeout`")))]
async fn command(
    State(state): State<AppState>,
    who: OperatorAccess,
    Path((id, action)): Path<(String, String)>,
    Json(payload): Json<serde_json::Value>,
) -> ApiResult<Json<CommandReply>> {
    let cp = visible(&state, &who, &id).await?;
    tracing::info!(charge_point = %cp.id, action, by = ?who.0.principal(), "command to charge point");
    let response = plugway_app::chargers::send_operator_command(&state, &cp.id, &action, payload)
        .await?
        .0;
    Ok(Json(CommandReply { action, response }))
}

/// Query of a station's device model.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeviceModelQuery {
    /// Only this component (e.g. `SecurityCtrlr`).
    pub component: Option<String>,
    /// Page, from 1.
    pub page: Option<i64>,
    /// Rows per page (1 to 500, default 100).
    pub size: Option<i64>,
}

/// The device model an OCPP 2.0.1 station reported (NotifyReport, after a
/// GetBaseReport): each component's variables with their last reported
/// attributes, ordered by component and variable. Roles: admin, owning host.
#[utoipa::path(get, path = "/api/v1/charge-points/{id}/device-model", tag = "charge points", security(("bearer" = [])),
    params(("id" = String, Path, description = "charge point id"), DeviceModelQuery),
    responses((status = 200, body = Vec<DeviceVariableView>), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn device_model(
    State(state): State<AppState>,
    who: OperatorAccess,
    Path(id): Path<String>,
    Query(q): Query<DeviceModelQuery>,
) -> ApiResult<Json<Vec<DeviceVariableView>>> {
    let cp = visible(&state, &who, &id).await?;
    let size = q.size.unwrap_or(100);
    if !(1..=500).contains(&size) {
        return Err(ApiError::invalid_field("size", "must be from 1 to 500"));
    }
    let page = q.page.unwrap_or(1);
    if page < 1 {
        return Err(ApiError::invalid_field("page", "must be 1 or more"));
    }
    let offset = (page - 1).saturating_mul(size);
    let list = state
        .store
        .list_device_model(&cp.id, q.component.as_deref(), offset, size)
        .await?;
    Ok(Json(
        list.into_iter().map(DeviceVariableView::from).collect(),
    ))
}

/// One attribute of one variable of a station's device model.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeviceVariableView {
    /// Component name.
    pub component: String,
    /// Component instance (empty when none).
    pub component_instance: String,
    /// The EVSE it belongs to (0 = the station).
    pub evse_id: i64,
    /// The connector it belongs to (0 = none).
    pub connector_id: i64,
    /// Variable name.
    pub variable: String,
    /// Variable instance (empty when none).
    pub variable_instance: String,
    /// `Actual`, `Target`, `MinSet` or `MaxSet`.
    pub attribute_type: String,
    /// The value (absent for write-only variables).
    pub value: Option<String>,
    /// `ReadOnly`, `WriteOnly` or `ReadWrite`.
    pub mutability: Option<String>,
    /// Data type.
    pub data_type: Option<String>,
    /// Unit.
    pub unit: Option<String>,
    /// When the station reported it.
    pub reported_at: DateTime<Utc>,
}

impl From<plugway_store::DeviceVariable> for DeviceVariableView {
    fn from(v: plugway_store::DeviceVariable) -> Self {
        Self {
            component: v.component,
            component_instance: v.component_instance,
            evse_id: v.evse_id,
            connector_id: v.connector_id,
            variable: v.variable,
            variable_instance: v.variable_instance,
            attribute_type: v.attribute_type,
            value: v.value,
            mutability: v.mutability,
            data_type: v.data_type,
            unit: v.unit,
            reported_at: v.reported_at,
        }
    }
}

/// Query of a station's events.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StationEventQuery {
    /// Only this kind (the OCPP action it came in, e.g.
    /// `SecurityEventNotification`).
    pub kind: Option<String>,
    /// Only events older than this id (the next page: the last id seen).
    pub before: Option<i64>,
    /// Events to return (1 to 500, default 100).
    pub limit: Option<i64>,
}

/// What a station reported that is neither a transaction, a status nor a
/// reading, newest first: NotifyEvent, SecurityEventNotification,
/// FirmwareStatusNotification, LogStatusNotification,
/// ReservationStatusUpdate, charging limits and needs, certificate
/// requests, ... with the payload as received. Roles: admin, owning host.
#[utoipa::path(get, path = "/api/v1/charge-points/{id}/station-events", tag = "charge points", security(("bearer" = [])),
    params(("id" = String, Path, description = "charge point id"), StationEventQuery),
    responses((status = 200, body = Vec<StationEventView>), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn station_events(
    State(state): State<AppState>,
    who: OperatorAccess,
    Path(id): Path<String>,
    Query(q): Query<StationEventQuery>,
) -> ApiResult<Json<Vec<StationEventView>>> {
    let cp = visible(&state, &who, &id).await?;
    let limit = q.limit.unwrap_or(100);
    if !(1..=500).contains(&limit) {
        return Err(ApiError::invalid_field("limit", "must be from 1 to 500"));
    }
    let list = state
        .store
        .list_station_events(&cp.id, q.kind.as_deref(), q.before, limit)
        .await?;
    Ok(Json(
        list.into_iter()
            .map(|e| StationEventView {
                id: e.id,
                kind: e.kind,
                summary: e.summary,
                body: serde_json::from_str(&e.body).unwrap_or(serde_json::Value::String(e.body)),
                occurred_at: e.occurred_at,
                received_at: e.received_at,
            })
            .collect(),
    ))
}

/// One event a station reported.
#[derive(Debug, Serialize, ToSchema)]
pub struct StationEventView {
    /// Its id (pass as `before` for the next page).
    pub id: i64,
    /// The OCPP action it came in.
    pub kind: String,
    /// A short line (the security event's type, the upload status, ...).
    pub summary: Option<String>,
    /// The payload as the station sent it.
    pub body: serde_json::Value,
    /// When it happened, by the station's clock.
    pub occurred_at: DateTime<Utc>,
    /// When it reached Plugway.
    pub received_at: DateTime<Utc>,
}

/// Body of a security profile change.
#[derive(Debug, Deserialize, ToSchema)]
pub struct SecurityProfileBody {
    /// 1 or 2: the charge point signs in with HTTP Basic auth (its
    /// password; 2 when TLS is in front). 3: with a client certificate
    /// issued by the configured station CA (`[ocpp] ca_cert`) whose common
    /// name is its id, over Plugway's own TLS (`--tls-cert`).
    pub security_profile: i64,
}

/// Sets how a charge point signs in (OCPP security profiles 1 to 3). It
/// takes effect at its next connection. Roles: admin.
#[utoipa::path(put, path = "/api/v1/charge-points/{id}/security-profile", tag = "charge points",
    security(("bearer" = [])), request_body = SecurityProfileBody,
    params(("id" = String, Path, description = "charge point id")),
    responses((status = 200, body = ChargerView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody, description = "not 1, 2 or 3")))]
async fn security_profile(
    State(state): State<AppState>,
    _admin: AdminAccess,
    Path(id): Path<String>,
    Json(body): Json<SecurityProfileBody>,
) -> ApiResult<Json<ChargerView>> {
    if !(1..=3).contains(&body.security_profile) {
        return Err(ApiError::invalid_field(
            "security_profile",
            "must be 1, 2 or 3",
        ));
    }
    let id = ChargePointId::parse(&id).map_err(|_| {
        ApiError::not_found("charge_point_not_found", "no charge point has this id")
    })?;
    if !state
        .store
        .set_security_profile(&id, body.security_profile)
        .await?
    {
        return Err(ApiError::not_found(
            "charge_point_not_found",
            "no charge point has this id",
        ));
    }
    let cp = state.store.find_charge_point(&id).await?.ok_or_else(|| {
        ApiError::not_found("charge_point_not_found", "no charge point has this id")
    })?;
    let connectors = state.store.list_connectors(&id).await?;
    Ok(Json(view(&state, cp, Some(connectors))))
}
