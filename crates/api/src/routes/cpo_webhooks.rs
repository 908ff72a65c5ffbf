//! Seed 003's webhooks: a charge point operator that registered with
//! Plugway over OCPI (the credentials handshake) pushes its locations and
//! EVSEs in the seed's own shape, with its OCPI token C as `Bearer`. They
//! land where the OCPI locations receiver puts a partner's locations: sites
//! of the partner's host account, found by drivers' search. The reply's
//! `location_id` is the stored location's number (the one the EVSE webhook
//! names). Errors use seed 003's envelope.

use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use plugway_app::roaming::parties;
use plugway_app::roaming::partner_locations::{self, SeedEvse, SeedLocation};
use plugway_store::{OcpiParty, PartyState};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::ApiError;
use crate::extract::{Json, Path};
use crate::routes::cpo_portal::{success, Envelope, EnvelopeError, FaceResult};
use crate::AppState;

/// The router.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(webhook_add_locations))
        .routes(routes!(webhook_add_evse))
}

/// A registered OCPI party, by its token C sent as `Bearer`.
#[derive(Debug)]
pub struct CpoTokenC(pub OcpiParty);

impl FromRequestParts<AppState> for CpoTokenC {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let unauthorized = || {
            ApiError::unauthorized(
                "invalid_token",
                "send Authorization: Bearer <the OCPI token C Plugway gave your platform>",
            )
        };
        let header = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(unauthorized)?;
        let (scheme, token) = header.trim().split_once(' ').ok_or_else(unauthorized)?;
        if !(scheme.eq_ignore_ascii_case("bearer") || scheme.eq_ignore_ascii_case("token")) {
            return Err(unauthorized());
        }
        match parties::authenticate(state, token).await? {
            Some(found) if found.party.state == PartyState::Connected => Ok(Self(found.party)),
            _ => Err(unauthorized()),
        }
    }
}

/// The body of "Webhook Add Location".
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddLocations {
    /// The locations to add.
    #[schema(value_type = Vec<Object>)]
    pub locations: Vec<SeedLocation>,
}

/// One added location's number.
#[derive(Debug, Serialize, ToSchema)]
pub struct AddedLocation {
    /// The stored location's number (integer, as seed 003's ids).
    pub location_id: i64,
}

/// The party code of the path, upper-cased.
#[derive(Debug, Deserialize)]
pub struct PartyPath {
    country_code: String,
    party_id: String,
}

/// Seed 003's "Webhook Add Location": the operator's locations with their
/// EVSEs; answers each one's `location_id`. All or none are stored.
#[utoipa::path(post, path = "/ocpi/cpo/api/v1/webhook/locations/{country_code}/{party_id}",
    tag = "seed 003",
    params(("country_code" = String, Path, description = "the operator's OCPI country code"),
        ("party_id" = String, Path, description = "the operator's OCPI party id")),
    request_body(content = Object, description = "`{\"locations\": [{name, address, lat, lng, evses, facilities, parking_types, parking_restrictions}]}`"),
    responses((status = 200, body = Envelope<Vec<AddedLocation>>), (status = 400, body = EnvelopeError),
        (status = 401, body = EnvelopeError), (status = 403, body = EnvelopeError)),
    security(("bearer" = [])))]
async fn webhook_add_locations(
    State(state): State<AppState>,
    caller: Result<CpoTokenC, ApiError>,
    path: Result<Path<PartyPath>, ApiError>,
    body: Result<Json<AddLocations>, ApiError>,
) -> FaceResult<Vec<AddedLocation>> {
    let CpoTokenC(party) = caller?;
    let Path(path) = path?;
    let Json(body) = body?;
    let numbers = partner_locations::seed_add_locations(
        &state,
        &party,
        &path.country_code.to_ascii_uppercase(),
        &path.party_id.to_ascii_uppercase(),
        body.locations,
    )
    .await?;
    success(
        numbers
            .into_iter()
            .map(|location_id| AddedLocation { location_id })
            .collect(),
    )
}

/// Seed 003's "Webhook Add EVSE": an EVSE for a location the operator
/// added (named by its `location_id`); one with the same `uid` is replaced.
#[utoipa::path(post, path = "/ocpi/cpo/api/v1/webhook/evse/{country_code}/{party_id}",
    tag = "seed 003",
    params(("country_code" = String, Path, description = "the operator's OCPI country code"),
        ("party_id" = String, Path, description = "the operator's OCPI party id")),
    request_body(content = Object, description = "`{location_id, uid, status, meter_type, kwh, connectors, capabilities, payment_types}`"),
    responses((status = 200, body = Envelope<String>), (status = 400, body = EnvelopeError),
        (status = 401, body = EnvelopeError), (status = 403, body = EnvelopeError),
        (status = 404, body = EnvelopeError)),
    security(("bearer" = [])))]
async fn webhook_add_evse(
    State(state): State<AppState>,
    caller: Result<CpoTokenC, ApiError>,
    path: Result<Path<PartyPath>, ApiError>,
    body: Result<Json<SeedEvse>, ApiError>,
) -> FaceResult<String> {
    let CpoTokenC(party) = caller?;
    let Path(path) = path?;
    let Json(evse) = body?;
    partner_locations::seed_add_evse(
        &state,
        &party,
        &path.country_code.to_ascii_uppercase(),
        &path.party_id.to_ascii_uppercase(),
        evse,
    )
    .await?;
    success("SUCCESS".to_owned())
}
