//! The OCPI 2.2.1 face (docs/ocpi.md): versions, credentials, our
//! locations and tariffs as a CPO (senders), partners' locations as an
//! eMSP (receiver). OCPI's own spec documents these endpoints, so they are
//! not in the OpenAPI document; every answer is OCPI's envelope.
//!
//! - `GET /ocpi/versions`, `GET /ocpi/2.2.1`
//! - `GET|POST|PUT|DELETE /ocpi/2.2.1/credentials`
//! - `GET /ocpi/2.2.1/cpo/locations[/{id}[/{evse_uid}[/{connector_id}]]]`
//! - `GET /ocpi/2.2.1/cpo/tariffs`, `/cpo/sessions`, `/cpo/cdrs` (the
//!   caller's drivers' sessions and CDRs only)
//! - `GET|PUT|PATCH /ocpi/2.2.1/cpo/tokens/{cc}/{pid}/{uid}[?type=]`
//! - `POST /ocpi/2.2.1/cpo/commands/{command}`
//! - `GET|PUT|PATCH /ocpi/2.2.1/emsp/locations/{cc}/{pid}/{id}[/{evse_uid}[/{connector_id}]]`
//! - `PUT|PATCH /ocpi/2.2.1/emsp/sessions/{cc}/{pid}/{session_id}`,
//!   `POST /ocpi/2.2.1/emsp/cdrs`, `GET /ocpi/2.2.1/emsp/cdrs/{id}` (our
//!   drivers' sessions on partners' chargers)
//! - `POST /ocpi/2.2.1/emsp/commands/{command}/{id}` (the results of our
//!   commands, at the `response_url` we gave)
//! - `GET /ocpi/2.2.1/emsp/tokens`, `POST /ocpi/2.2.1/emsp/tokens/{uid}/authorize[?type=]`
//!   (our drivers' tokens, and real-time authorization of one)

pub mod transport;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::routing::get;
use axum::Router;
use plugway_app::roaming::{
    commands, cpo, driver_tokens, emsp, parties, partner_locations, tokens,
};
use plugway_ocpi::{Credentials, Endpoint, InterfaceRole, ModuleId, Version, VersionDetails};

use self::transport::{
    json_body, page_request, paged, AnyParty, OcpiError, OcpiOk, OcpiResult, Partner,
};
use crate::AppState;

/// The router: `/ocpi/versions` and everything under `/ocpi/2.2.1`.
pub fn router() -> Router<AppState> {
    let v221 = Router::new()
        .route("/", get(details))
        .route(
            "/credentials",
            get(get_credentials)
                .post(post_credentials)
                .put(put_credentials)
                .delete(delete_credentials),
        )
        .route("/cpo/locations", get(our_locations))
        .route("/cpo/locations/{id}", get(our_location))
        .route("/cpo/locations/{id}/{evse_uid}", get(our_evse))
        .route(
            "/cpo/locations/{id}/{evse_uid}/{connector_id}",
            get(our_connector),
        )
        .route("/cpo/tariffs", get(our_tariffs))
        .route("/cpo/sessions", get(our_sessions))
        .route("/cpo/cdrs", get(our_cdrs))
        .route(
            "/cpo/tokens/{cc}/{pid}/{uid}",
            get(get_token).put(put_token).patch(patch_token),
        )
        .route("/cpo/commands/{command}", axum::routing::post(command))
        .route(
            "/emsp/locations/{cc}/{pid}/{id}",
            get(partner_location)
                .put(put_partner_location)
                .patch(patch_partner_location),
        )
        .route(
            "/emsp/locations/{cc}/{pid}/{id}/{evse_uid}",
            get(partner_location)
                .put(put_partner_location)
                .patch(patch_partner_location),
        )
        .route(
            "/emsp/locations/{cc}/{pid}/{id}/{evse_uid}/{connector_id}",
            get(partner_location)
                .put(put_partner_location)
                .patch(patch_partner_location),
        )
        .route(
            "/emsp/commands/{command}/{id}",
            axum::routing::post(command_result),
        )
        .route(
            "/emsp/sessions/{cc}/{pid}/{session_id}",
            axum::routing::put(put_session).patch(patch_session),
        )
        .route(
            "/emsp/tariffs/{cc}/{pid}/{tariff_id}",
            get(get_partner_tariff)
                .put(put_partner_tariff)
                .delete(delete_partner_tariff),
        )
        .route("/emsp/tokens", get(our_tokens))
        .route(
            "/emsp/tokens/{uid}/authorize",
            axum::routing::post(authorize_token),
        )
        .route("/emsp/cdrs", axum::routing::post(post_cdr))
        .route("/emsp/cdrs/{id}", get(get_cdr))
        .fallback(transport::unknown_path);
    Router::new()
        .route("/ocpi/versions", get(versions))
        .nest("/ocpi/2.2.1", v221)
        .layer(axum::middleware::from_fn(transport::correlation))
}

/// Whether a path is the OCPI face's (seed 003's paths under `/ocpi/cpo/`
/// are the CPO portal's, with their own shapes).
pub fn is_ocpi_path(path: &str) -> bool {
    path == "/ocpi/versions"
        || path == "/ocpi/2.2.1"
        || path.starts_with("/ocpi/2.2.1/")
        || path.starts_with("/ocpi/versions/")
}

async fn versions(State(state): State<AppState>, AnyParty(..): AnyParty) -> OcpiResult {
    let ours = &state.settings.ocpi;
    OcpiOk::data(
        &[Version {
            version: plugway_ocpi::VERSION.into(),
            url: ours.base_url(),
        }],
        state.clock.now(),
    )
}

async fn details(State(state): State<AppState>, AnyParty(..): AnyParty) -> OcpiResult {
    let base = state.settings.ocpi.base_url();
    let endpoint = |identifier, role, path: &str| Endpoint {
        identifier,
        role,
        url: format!("{base}{path}"),
    };
    let endpoints = vec![
        endpoint(ModuleId::Credentials, InterfaceRole::Sender, "/credentials"),
        endpoint(
            ModuleId::Credentials,
            InterfaceRole::Receiver,
            "/credentials",
        ),
        endpoint(ModuleId::Locations, InterfaceRole::Sender, "/cpo/locations"),
        endpoint(ModuleId::Tariffs, InterfaceRole::Sender, "/cpo/tariffs"),
        endpoint(ModuleId::Sessions, InterfaceRole::Sender, "/cpo/sessions"),
        endpoint(ModuleId::Cdrs, InterfaceRole::Sender, "/cpo/cdrs"),
        endpoint(ModuleId::Tokens, InterfaceRole::Receiver, "/cpo/tokens"),
        endpoint(ModuleId::Commands, InterfaceRole::Receiver, "/cpo/commands"),
        endpoint(
            ModuleId::Locations,
            InterfaceRole::Receiver,
            "/emsp/locations",
        ),
        endpoint(
            ModuleId::Sessions,
            InterfaceRole::Receiver,
            "/emsp/sessions",
        ),
        endpoint(ModuleId::Cdrs, InterfaceRole::Receiver, "/emsp/cdrs"),
        endpoint(ModuleId::Tokens, InterfaceRole::Sender, "/emsp/tokens"),
        endpoint(ModuleId::Tariffs, InterfaceRole::Receiver, "/emsp/tariffs"),
    ];
    OcpiOk::data(
        &VersionDetails {
            version: plugway_ocpi::VERSION.into(),
            endpoints,
        },
        state.clock.now(),
    )
}

async fn get_credentials(
    State(state): State<AppState>,
    AnyParty(_, token): AnyParty,
) -> OcpiResult {
    // Only a digest of the caller's token is kept; the token of our
    // credentials is the one it presented, which matched that digest.
    OcpiOk::data(&parties::our_credentials(&state, token), state.clock.now())
}

fn credentials_of(body: &[u8]) -> Result<Credentials, OcpiError> {
    serde_json::from_value(json_body(body)?)
        .map_err(|e| OcpiError::invalid(format!("the body is not a Credentials object: {e}")))
}

async fn post_credentials(
    State(state): State<AppState>,
    AnyParty(party, _): AnyParty,
    body: Bytes,
) -> OcpiResult {
    let credentials = credentials_of(&body)?;
    let ours = parties::register(&state, &party, credentials).await?;
    OcpiOk::data(&ours, state.clock.now())
}

async fn put_credentials(
    State(state): State<AppState>,
    AnyParty(party, _): AnyParty,
    body: Bytes,
) -> OcpiResult {
    let credentials = credentials_of(&body)?;
    let ours = parties::update(&state, &party, credentials).await?;
    OcpiOk::data(&ours, state.clock.now())
}

async fn delete_credentials(
    State(state): State<AppState>,
    AnyParty(party, _): AnyParty,
) -> OcpiResult {
    parties::unregister(&state, &party).await?;
    Ok(OcpiOk::empty(state.clock.now()))
}

async fn our_locations(
    State(state): State<AppState>,
    Partner(_): Partner,
    RawQuery(query): RawQuery,
) -> OcpiResult {
    let request = page_request(query.as_deref())?;
    let page = cpo::locations(&state, request).await?;
    paged(&state, "/ocpi/2.2.1/cpo/locations", request, page)
}

async fn our_tariffs(
    State(state): State<AppState>,
    Partner(_): Partner,
    RawQuery(query): RawQuery,
) -> OcpiResult {
    let request = page_request(query.as_deref())?;
    let page = cpo::tariffs(&state, request).await?;
    paged(&state, "/ocpi/2.2.1/cpo/tariffs", request, page)
}

async fn our_sessions(
    State(state): State<AppState>,
    Partner(party): Partner,
    RawQuery(query): RawQuery,
) -> OcpiResult {
    let request = page_request(query.as_deref())?;
    let page = plugway_app::roaming::sessions::sender_sessions(&state, &party, request).await?;
    paged(&state, "/ocpi/2.2.1/cpo/sessions", request, page)
}

async fn our_cdrs(
    State(state): State<AppState>,
    Partner(party): Partner,
    RawQuery(query): RawQuery,
) -> OcpiResult {
    let request = page_request(query.as_deref())?;
    let page = plugway_app::roaming::sessions::sender_cdrs(&state, &party, request).await?;
    paged(&state, "/ocpi/2.2.1/cpo/cdrs", request, page)
}

async fn our_location(
    State(state): State<AppState>,
    Partner(_): Partner,
    Path(id): Path<String>,
) -> OcpiResult {
    let location = cpo::location(&state, &id).await?;
    OcpiOk::data(&location, state.clock.now())
}

fn unknown_evse() -> OcpiError {
    OcpiError::new(
        axum::http::StatusCode::NOT_FOUND,
        plugway_ocpi::OcpiStatus::UnknownLocation,
        "the location has no EVSE or connector with this id",
    )
}

async fn our_evse(
    State(state): State<AppState>,
    Partner(_): Partner,
    Path((id, uid)): Path<(String, String)>,
) -> OcpiResult {
    let location = cpo::location(&state, &id).await?;
    let evse = location
        .evses
        .iter()
        .flatten()
        .find(|e| e.uid.eq_ignore_ascii_case(&uid))
        .ok_or_else(unknown_evse)?;
    OcpiOk::data(evse, state.clock.now())
}

async fn our_connector(
    State(state): State<AppState>,
    Partner(_): Partner,
    Path((id, uid, connector)): Path<(String, String, String)>,
) -> OcpiResult {
    let location = cpo::location(&state, &id).await?;
    let found = location
        .evses
        .iter()
        .flatten()
        .find(|e| e.uid.eq_ignore_ascii_case(&uid))
        .and_then(|e| {
            e.connectors
                .iter()
                .find(|c| c.id.eq_ignore_ascii_case(&connector))
        })
        .ok_or_else(unknown_evse)?;
    OcpiOk::data(found, state.clock.now())
}

/// The parts of a receiver path: `{cc}/{pid}/{id}[/{evse_uid}[/{connector_id}]]`.
#[derive(Debug, serde::Deserialize)]
struct ReceiverPath {
    cc: String,
    pid: String,
    id: String,
    evse_uid: Option<String>,
    connector_id: Option<String>,
}

impl ReceiverPath {
    fn target(&self) -> partner_locations::Target<'_> {
        partner_locations::Target {
            country_code: &self.cc,
            party_id: &self.pid,
            location_id: &self.id,
            evse_uid: self.evse_uid.as_deref(),
            connector_id: self.connector_id.as_deref(),
        }
    }
}

/// Path values of the receiver, upper-cased codes (OCPI's CiStrings).
fn receiver_path(path: ReceiverPath) -> ReceiverPath {
    ReceiverPath {
        cc: path.cc.to_ascii_uppercase(),
        pid: path.pid.to_ascii_uppercase(),
        ..path
    }
}

async fn partner_location(
    State(state): State<AppState>,
    Partner(party): Partner,
    Path(path): Path<ReceiverPath>,
) -> OcpiResult {
    let path = receiver_path(path);
    let object = partner_locations::get(&state, &party, path.target()).await?;
    OcpiOk::data(&object, state.clock.now())
}

async fn put_partner_location(
    State(state): State<AppState>,
    Partner(party): Partner,
    Path(path): Path<ReceiverPath>,
    body: Bytes,
) -> OcpiResult {
    let path = receiver_path(path);
    let body = json_body(&body)?;
    partner_locations::put(&state, &party, path.target(), body).await?;
    Ok(OcpiOk::empty(state.clock.now()))
}

async fn patch_partner_location(
    State(state): State<AppState>,
    Partner(party): Partner,
    Path(path): Path<ReceiverPath>,
    body: Bytes,
) -> OcpiResult {
    let path = receiver_path(path);
    let body = json_body(&body)?;
    partner_locations::patch(&state, &party, path.target(), body).await?;
    Ok(OcpiOk::empty(state.clock.now()))
}

/// `{cc}/{pid}/{uid}` of the tokens receiver.
#[derive(Debug, serde::Deserialize)]
struct TokenPath {
    cc: String,
    pid: String,
    uid: String,
}

/// `?type=`: RFID when absent, as the spec says.
#[derive(Debug, serde::Deserialize)]
struct TokenType {
    #[serde(rename = "type")]
    token_type: Option<String>,
}

fn token_type(query: Option<&str>) -> Result<String, OcpiError> {
    let parsed: TokenType = serde_urlencoded::from_str(query.unwrap_or_default())
        .map_err(|e| OcpiError::invalid(format!("query: {e}")))?;
    let kind = parsed.token_type.unwrap_or_else(|| "RFID".into());
    if !plugway_ocpi::tokens::TOKEN_TYPES.contains(&kind.as_str()) {
        return Err(OcpiError::invalid(
            "type: must be AD_HOC_USER, APP_USER, OTHER or RFID",
        ));
    }
    Ok(kind)
}

fn token_key<'a>(path: &'a TokenPath, kind: &'a str) -> tokens::TokenKey<'a> {
    tokens::TokenKey {
        country_code: &path.cc,
        party_id: &path.pid,
        uid: &path.uid,
        token_type: kind,
    }
}

fn upper(path: TokenPath) -> TokenPath {
    TokenPath {
        cc: path.cc.to_ascii_uppercase(),
        pid: path.pid.to_ascii_uppercase(),
        uid: path.uid,
    }
}

async fn get_token(
    State(state): State<AppState>,
    Partner(party): Partner,
    Path(path): Path<TokenPath>,
    RawQuery(query): RawQuery,
) -> OcpiResult {
    let path = upper(path);
    let kind = token_type(query.as_deref())?;
    let token = tokens::get(&state, &party, token_key(&path, &kind)).await?;
    OcpiOk::data(&token, state.clock.now())
}

async fn put_token(
    State(state): State<AppState>,
    Partner(party): Partner,
    Path(path): Path<TokenPath>,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> OcpiResult {
    let path = upper(path);
    let kind = token_type(query.as_deref())?;
    tokens::put(&state, &party, token_key(&path, &kind), json_body(&body)?).await?;
    Ok(OcpiOk::empty(state.clock.now()))
}

async fn patch_token(
    State(state): State<AppState>,
    Partner(party): Partner,
    Path(path): Path<TokenPath>,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> OcpiResult {
    let path = upper(path);
    let kind = token_type(query.as_deref())?;
    tokens::patch(&state, &party, token_key(&path, &kind), json_body(&body)?).await?;
    Ok(OcpiOk::empty(state.clock.now()))
}

async fn our_tokens(
    State(state): State<AppState>,
    Partner(party): Partner,
    RawQuery(query): RawQuery,
) -> OcpiResult {
    let request = page_request(query.as_deref())?;
    let page = driver_tokens::list(&state, &party, request).await?;
    paged(&state, "/ocpi/2.2.1/emsp/tokens", request, page)
}

async fn authorize_token(
    State(state): State<AppState>,
    Partner(party): Partner,
    Path(uid): Path<String>,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> OcpiResult {
    let kind = token_type(query.as_deref())?;
    // The LocationReferences body is optional.
    let location = if body.iter().all(u8::is_ascii_whitespace) {
        None
    } else {
        Some(json_body(&body)?)
    };
    let info = driver_tokens::authorize(&state, &party, &uid, &kind, location).await?;
    OcpiOk::data(&info, state.clock.now())
}

async fn command(
    State(state): State<AppState>,
    Partner(party): Partner,
    Path(name): Path<String>,
    body: Bytes,
) -> OcpiResult {
    let answer = commands::receive(&state, &party, &name, json_body(&body)?).await?;
    OcpiOk::data(&answer, state.clock.now())
}

async fn command_result(
    State(state): State<AppState>,
    Partner(party): Partner,
    Path((name, id)): Path<(String, String)>,
    body: Bytes,
) -> OcpiResult {
    emsp::command_result(&state, &party, &name, &id, json_body(&body)?).await?;
    Ok(OcpiOk::empty(state.clock.now()))
}

/// `{cc}/{pid}/{session_id}` of the sessions receiver.
#[derive(Debug, serde::Deserialize)]
struct SessionPath {
    cc: String,
    pid: String,
    session_id: String,
}

async fn put_session(
    State(state): State<AppState>,
    Partner(party): Partner,
    Path(path): Path<SessionPath>,
    body: Bytes,
) -> OcpiResult {
    let (cc, pid) = (path.cc.to_ascii_uppercase(), path.pid.to_ascii_uppercase());
    emsp::receive_session(
        &state,
        &party,
        &cc,
        &pid,
        &path.session_id,
        json_body(&body)?,
        false,
    )
    .await?;
    Ok(OcpiOk::empty(state.clock.now()))
}

async fn patch_session(
    State(state): State<AppState>,
    Partner(party): Partner,
    Path(path): Path<SessionPath>,
    body: Bytes,
) -> OcpiResult {
    let (cc, pid) = (path.cc.to_ascii_uppercase(), path.pid.to_ascii_uppercase());
    emsp::receive_session(
        &state,
        &party,
        &cc,
        &pid,
        &path.session_id,
        json_body(&body)?,
        true,
    )
    .await?;
    Ok(OcpiOk::empty(state.clock.now()))
}

async fn post_cdr(
    State(state): State<AppState>,
    Partner(party): Partner,
    body: Bytes,
) -> axum::response::Response {
    use axum::response::IntoResponse as _;
    let body = match json_body(&body) {
        Ok(body) => body,
        Err(e) => return e.into_response(),
    };
    match emsp::receive_cdr(&state, &party, body).await {
        Ok(id) => {
            let mut response = OcpiOk::empty(state.clock.now()).into_response();
            let url = format!("{}/emsp/cdrs/{id}", state.settings.ocpi.base_url());
            if let Ok(value) = axum::http::HeaderValue::from_str(&url) {
                response
                    .headers_mut()
                    .insert(axum::http::header::LOCATION, value);
            }
            response
        }
        Err(e) => OcpiError::from(e).into_response(),
    }
}

async fn get_cdr(
    State(state): State<AppState>,
    Partner(party): Partner,
    Path(id): Path<String>,
) -> OcpiResult {
    let cdr = emsp::get_cdr(&state, &party, &id).await?;
    OcpiOk::data(&cdr, state.clock.now())
}

/// `{cc}/{pid}/{tariff_id}` of the tariffs receiver.
#[derive(Debug, serde::Deserialize)]
struct TariffPath {
    cc: String,
    pid: String,
    tariff_id: String,
}

impl TariffPath {
    fn upper(self) -> Self {
        Self {
            cc: self.cc.to_ascii_uppercase(),
            pid: self.pid.to_ascii_uppercase(),
            tariff_id: self.tariff_id,
        }
    }

    fn key(&self) -> partner_locations::TariffKey<'_> {
        partner_locations::TariffKey {
            country_code: &self.cc,
            party_id: &self.pid,
            tariff_id: &self.tariff_id,
        }
    }
}

async fn get_partner_tariff(
    State(state): State<AppState>,
    Partner(party): Partner,
    Path(path): Path<TariffPath>,
) -> OcpiResult {
    let path = path.upper();
    let tariff = partner_locations::get_tariff(&state, &party, path.key()).await?;
    OcpiOk::data(&tariff, state.clock.now())
}

async fn put_partner_tariff(
    State(state): State<AppState>,
    Partner(party): Partner,
    Path(path): Path<TariffPath>,
    body: Bytes,
) -> OcpiResult {
    let path = path.upper();
    partner_locations::put_tariff(&state, &party, path.key(), json_body(&body)?).await?;
    Ok(OcpiOk::empty(state.clock.now()))
}

async fn delete_partner_tariff(
    State(state): State<AppState>,
    Partner(party): Partner,
    Path(path): Path<TariffPath>,
) -> OcpiResult {
    let path = path.upper();
    partner_locations::delete_tariff(&state, &party, path.key()).await?;
    Ok(OcpiOk::empty(state.clock.now()))
}
