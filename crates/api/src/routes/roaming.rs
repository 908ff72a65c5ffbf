//! Back office for roaming (docs/ocpi.md): invite a partner (its token A),
//! register with a partner (`connect`), list partners, end a partnership.
//! The same use cases as `plugway ocpi invite|connect`. Admins only.
//! Tokens travel in bodies, never in URLs, and are shown once.

use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use plugway_app::roaming::parties;
use plugway_domain::OcpiPartyId;
use plugway_store::{OcpiParty, PartyState};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::{AdminAccess, SignedIn};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{Json, Path, Query};
use crate::routes::PageQuery;
use crate::AppState;

/// The router.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(invite))
        .routes(routes!(connect))
        .routes(routes!(list_parties))
        .routes(routes!(get_party, disconnect))
        .routes(routes!(pull_locations))
        .routes(routes!(start_roaming, list_roaming))
        .routes(routes!(get_roaming))
        .routes(routes!(stop_roaming))
        .routes(routes!(pay_roaming))
}

/// One role of a partner.
#[derive(Debug, Serialize, ToSchema)]
pub struct PartyRoleView {
    /// CPO, EMSP, HUB, ...
    pub role: String,
    /// ISO 3166-1 alpha-2.
    pub country_code: String,
    /// OCPI party id.
    pub party_id: String,
    /// Business name.
    pub name: String,
}

/// One module of a partner's 2.2.1.
#[derive(Debug, Serialize, ToSchema)]
pub struct PartyEndpointView {
    /// The module (`locations`, `sessions`, ...).
    pub identifier: String,
    /// SENDER or RECEIVER.
    pub role: String,
    /// Where it is.
    pub url: String,
}

/// A roaming partner as admins see it (never its tokens).
#[derive(Debug, Serialize, ToSchema)]
pub struct PartyView {
    /// Its id.
    pub id: String,
    /// Its label, or its business name.
    pub name: String,
    /// `invited` (holds an unused token A), `connected`, `unregistered`.
    pub state: String,
    /// Its versions endpoint, once known.
    pub versions_url: Option<String>,
    /// Its roles.
    pub roles: Vec<PartyRoleView>,
    /// Its 2.2.1 modules.
    pub endpoints: Vec<PartyEndpointView>,
    /// When invited or connected.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

impl From<OcpiParty> for PartyView {
    fn from(party: OcpiParty) -> Self {
        let endpoints = parties::endpoints(&party)
            .endpoints
            .into_iter()
            .map(|e| PartyEndpointView {
                identifier: serde_json::to_value(e.identifier)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default(),
                role: serde_json::to_value(e.role)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default(),
                url: e.url,
            })
            .collect();
        Self {
            id: party.id.to_text(),
            state: party.state.as_str().to_owned(),
            versions_url: party.versions_url,
            roles: party
                .roles
                .into_iter()
                .map(|r| PartyRoleView {
                    role: r.role,
                    country_code: r.country_code,
                    party_id: r.party_code,
                    name: r.name,
                })
                .collect(),
            endpoints,
            name: party.name,
            created_at: party.created_at,
            updated_at: party.updated_at,
        }
    }
}

/// What an invitation is for.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewInvitation {
    /// A label to recognise the party by until it registers.
    #[serde(default)]
    pub name: Option<String>,
}

/// A new invitation: hand `token` and `versions_url` to the party.
#[derive(Debug, Serialize, ToSchema)]
pub struct Invitation {
    /// The invited party.
    pub party: PartyView,
    /// Its token A, shown only now.
    pub token: String,
    /// Our versions endpoint, where it registers.
    pub versions_url: String,
}

/// Issues a token A for a party that will register with Plugway (what
/// `plugway ocpi invite` does). Admins only.
#[utoipa::path(post, path = "/api/v1/admin/ocpi/invitations", tag = "roaming", security(("bearer" = [])),
    request_body = NewInvitation,
    responses((status = 201, body = Invitation), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn invite(
    State(state): State<AppState>,
    _: AdminAccess,
    Json(body): Json<NewInvitation>,
) -> ApiResult<(StatusCode, Json<Invitation>)> {
    let invitation = parties::invite(&state, body.name.as_deref()).await?;
    Ok((
        StatusCode::CREATED,
        Json(Invitation {
            party: invitation.party.into(),
            token: invitation.token,
            versions_url: state.settings.ocpi.versions_url(),
        }),
    ))
}

/// A partner to register with.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewConnection {
    /// The partner's versions endpoint.
    pub versions_url: String,
    /// The token A the partner issued for us.
    pub token: String,
    /// A label to recognise the party by.
    #[serde(default)]
    pub name: Option<String>,
}

/// Registers Plugway with a partner: the whole credentials handshake (what
/// `plugway ocpi connect` does). A partner that cannot be reached or
/// refuses answers 502 and leaves nothing usable behind. Admins only.
#[utoipa::path(post, path = "/api/v1/admin/ocpi/connections", tag = "roaming", security(("bearer" = [])),
    request_body = NewConnection,
    responses((status = 201, body = PartyView), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody), (status = 502, body = ErrorBody)))]
async fn connect(
    State(state): State<AppState>,
    _: AdminAccess,
    Json(body): Json<NewConnection>,
) -> ApiResult<(StatusCode, Json<PartyView>)> {
    let party = parties::connect(
        &state,
        &body.versions_url,
        &body.token,
        body.name.as_deref(),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(party.into())))
}

/// Every roaming partner, newest first. Admins only.
#[utoipa::path(get, path = "/api/v1/admin/ocpi/parties", tag = "roaming", security(("bearer" = [])),
    responses((status = 200, body = Vec<PartyView>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn list_parties(
    State(state): State<AppState>,
    _: AdminAccess,
) -> ApiResult<Json<Vec<PartyView>>> {
    Ok(Json(
        parties::list(&state)
            .await?
            .into_iter()
            .map(PartyView::from)
            .collect(),
    ))
}

fn party_id(id: &str) -> ApiResult<OcpiPartyId> {
    id.parse()
        .map_err(|_| ApiError::not_found("ocpi_party_not_found", "no OCPI party has this id"))
}

/// One roaming partner. Admins only.
#[utoipa::path(get, path = "/api/v1/admin/ocpi/parties/{id}", tag = "roaming", security(("bearer" = [])),
    params(("id" = String, Path, description = "party id")),
    responses((status = 200, body = PartyView), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn get_party(
    State(state): State<AppState>,
    _: AdminAccess,
    Path(id): Path<String>,
) -> ApiResult<Json<PartyView>> {
    Ok(Json(parties::find(&state, party_id(&id)?).await?.into()))
}

/// Ends a partnership: the partner is told (DELETE on its credentials
/// endpoint, best effort) and no token of either side works any more; its
/// locations and the ledger stay. Admins only.
#[utoipa::path(delete, path = "/api/v1/admin/ocpi/parties/{id}", tag = "roaming", security(("bearer" = [])),
    params(("id" = String, Path, description = "party id")),
    responses((status = 200, body = PartyView), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn disconnect(
    State(state): State<AppState>,
    _: AdminAccess,
    Path(id): Path<String>,
) -> ApiResult<Json<PartyView>> {
    let party = parties::disconnect(&state, party_id(&id)?).await?;
    debug_assert!(party.state == PartyState::Unregistered);
    Ok(Json(party.into()))
}

/// What a pull did.
#[derive(Debug, Serialize, ToSchema)]
pub struct PullReport {
    /// Locations stored (new or updated).
    pub stored: usize,
    /// Locations refused, each with why (nothing of them was stored).
    pub refused: Vec<String>,
    /// Pages read.
    pub pages: usize,
}

/// Pulls a partner CPO's locations now (every page), storing each under
/// the partner's own party codes; drivers find them in search at once.
/// Admins only.
#[utoipa::path(post, path = "/api/v1/admin/ocpi/parties/{id}/pull-locations", tag = "roaming",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "party id")),
    responses((status = 200, body = PullReport), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 502, body = ErrorBody)))]
async fn pull_locations(
    State(state): State<AppState>,
    _: AdminAccess,
    Path(id): Path<String>,
) -> ApiResult<Json<PullReport>> {
    let party = parties::find(&state, party_id(&id)?).await?;
    let report = plugway_app::roaming::partner_locations::pull(&state, &party).await?;
    Ok(Json(PullReport {
        stored: report.stored,
        refused: report.refused,
        pages: report.pages,
    }))
}

/// A driver's session on a partner's charger.
#[derive(Debug, Serialize, ToSchema)]
pub struct RoamingSessionView {
    /// Our id.
    pub id: String,
    /// The operator's country code and party id.
    pub operator: String,
    /// The operator's location id.
    pub location_id: String,
    /// The operator's EVSE uid.
    pub evse_uid: String,
    /// The operator's session id, once it said.
    pub session_id: Option<String>,
    /// REQUESTED, ACCEPTED (the operator sent it to the charger), REJECTED,
    /// FAILED, PENDING, ACTIVE, COMPLETED, INVALID, then PAID or
    /// PAYMENT_DUE once its CDR came (PAYMENT_DUE: the wallet held too little).
    pub status: String,
    /// Energy so far (the operator's Session), kWh.
    pub kwh: Option<f64>,
    /// Cost so far or final, tax included, in `currency`.
    pub total: Option<f64>,
    /// ISO 4217.
    pub currency: Option<String>,
    /// When asked.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

impl From<plugway_store::DriverSession> for RoamingSessionView {
    fn from(s: plugway_store::DriverSession) -> Self {
        let latest: Option<serde_json::Value> = s
            .cdr_json
            .as_deref()
            .or(s.object_json.as_deref())
            .and_then(|t| serde_json::from_str(t).ok());
        let cost = latest.as_ref().and_then(|o| o.get("total_cost"));
        Self {
            kwh: latest
                .as_ref()
                .and_then(|o| o.get("kwh").or_else(|| o.get("total_energy")))
                .and_then(serde_json::Value::as_f64),
            total: cost
                .and_then(|c| c.get("incl_vat").or_else(|| c.get("excl_vat")))
                .and_then(serde_json::Value::as_f64),
            currency: latest
                .as_ref()
                .and_then(|o| o.get("currency"))
                .and_then(serde_json::Value::as_str)
                .map(str::to_owned),
            id: s.id,
            operator: format!("{}*{}", s.country_code, s.party_code),
            location_id: s.location_id,
            evse_uid: s.evse_uid,
            session_id: s.session_id,
            status: s.status,
            created_at: s.created_at,
            updated_at: s.updated_at,
        }
    }
}

/// Which partner EVSE to charge at.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StartRoaming {
    /// The EVSE's id, as search shows it (a site marked `partner`).
    pub evse_id: String,
}

/// Starts charging at a roaming partner's EVSE: the operator is asked
/// (OCPI START_SESSION with the driver's token); follow the session's
/// `status` with GET. The CDR is paid from the wallet. Drivers.
#[utoipa::path(post, path = "/api/v1/roaming/sessions", tag = "roaming", security(("bearer" = [])),
    request_body = StartRoaming,
    responses((status = 201, body = RoamingSessionView), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 502, body = ErrorBody)))]
async fn start_roaming(
    State(state): State<AppState>,
    me: SignedIn,
    Json(body): Json<StartRoaming>,
) -> ApiResult<(StatusCode, Json<RoamingSessionView>)> {
    let evse = body
        .evse_id
        .parse()
        .map_err(|_| ApiError::not_found("evse_not_found", "no partner EVSE has this id"))?;
    let session = plugway_app::roaming::emsp::start(&state, me.user.id, evse).await?;
    Ok((StatusCode::CREATED, Json(session.into())))
}

/// The driver's sessions on partners' chargers, newest first. Drivers.
#[utoipa::path(get, path = "/api/v1/roaming/sessions", tag = "roaming", security(("bearer" = [])),
    params(PageQuery),
    responses((status = 200, body = Vec<RoamingSessionView>), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn list_roaming(
    State(state): State<AppState>,
    me: SignedIn,
    Query(page): Query<PageQuery>,
) -> ApiResult<Json<Vec<RoamingSessionView>>> {
    let (_, size, offset) = page.resolve()?;
    let sessions = plugway_app::roaming::emsp::list(&state, me.user.id, offset, size).await?;
    Ok(Json(
        sessions.into_iter().map(RoamingSessionView::from).collect(),
    ))
}

/// One of the driver's sessions on a partner's charger, as the operator
/// last reported it. Drivers (their own only).
#[utoipa::path(get, path = "/api/v1/roaming/sessions/{id}", tag = "roaming", security(("bearer" = [])),
    params(("id" = String, Path, description = "roaming session id")),
    responses((status = 200, body = RoamingSessionView), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn get_roaming(
    State(state): State<AppState>,
    me: SignedIn,
    Path(id): Path<String>,
) -> ApiResult<Json<RoamingSessionView>> {
    Ok(Json(
        plugway_app::roaming::emsp::find(&state, me.user.id, &id)
            .await?
            .into(),
    ))
}

/// Asks the operator to stop the driver's session (OCPI STOP_SESSION).
/// Drivers (their own only).
#[utoipa::path(post, path = "/api/v1/roaming/sessions/{id}/stop", tag = "roaming", security(("bearer" = [])),
    params(("id" = String, Path, description = "roaming session id")),
    responses((status = 200, body = RoamingSessionView), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 502, body = ErrorBody)))]
async fn stop_roaming(
    State(state): State<AppState>,
    me: SignedIn,
    Path(id): Path<String>,
) -> ApiResult<Json<RoamingSessionView>> {
    Ok(Json(
        plugway_app::roaming::emsp::stop(&state, me.user.id, &id)
            .await?
            .into(),
    ))
}

/// Pays a session's CDR from the wallet after it was left `PAYMENT_DUE`
/// (the wallet held too little when the CDR came). Drivers (their own
/// only). `roaming_nothing_due` (409) when nothing is owed,
/// `insufficient_funds` (409) when the wallet still holds too little.
#[utoipa::path(post, path = "/api/v1/roaming/sessions/{id}/pay", tag = "roaming", security(("bearer" = [])),
    params(("id" = String, Path, description = "roaming session id")),
    responses((status = 200, body = RoamingSessionView), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn pay_roaming(
    State(state): State<AppState>,
    me: SignedIn,
    Path(id): Path<String>,
) -> ApiResult<Json<RoamingSessionView>> {
    Ok(Json(
        plugway_app::roaming::emsp::pay(&state, me.user.id, &id)
            .await?
            .into(),
    ))
}
