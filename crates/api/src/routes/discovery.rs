//! The driver side of the network: seed 001's map query, search by radius,
//! text and filters, the charger detail, bookmarks and ratings, the
//! reference lists filters are built from, and the photos themselves.
//!
//! Searching and viewing chargers needs no account (a map is public);
//! bookmarks and ratings do.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use plugway_domain::{
    BoundingBox, Capability, ConnectorFormat, ConnectorStandard, Coordinates, DeviceState,
    EvseStatus, Facility, ParkingRestriction, ParkingType, PaymentType, PowerType, SiteId,
};
use plugway_store::{Evse, SiteFilter};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::SignedIn;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{Json, Path, Query};
use crate::routes::{PageQuery, Paginated};
use crate::AppState;
use plugway_app::network::{
    self, code_list, load_sites, search_terms, FoundSites, DEFAULT_RADIUS_KM, MAX_RADIUS_KM,
};
use plugway_app::search_index::IndexedSite;
use plugway_app::search_index::{SearchPage, SearchRequest};
use plugway_app::views::SiteView;

/// Devices one map query returns at most (seed 001 has no paging).
pub const MAX_DEVICES: usize = 1000;

/// The router.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(by_location))
        .routes(routes!(search))
        .routes(routes!(detail))
        .routes(routes!(rate))
        .routes(routes!(list_bookmarks))
        .routes(routes!(get_bookmark, add_bookmark, remove_bookmark))
        .routes(routes!(filters))
        .routes(routes!(cities))
        .routes(routes!(media))
}

/// Seed 001's map query: the corners of the visible map.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ByLocation {
    /// West edge.
    #[serde(rename = "bottom-left-longitude")]
    #[param(rename = "bottom-left-longitude")]
    pub bottom_left_longitude: f64,
    /// South edge.
    #[serde(rename = "bottom-left-latitude")]
    #[param(rename = "bottom-left-latitude")]
    pub bottom_left_latitude: f64,
    /// East edge.
    #[serde(rename = "upper-right-longitude")]
    #[param(rename = "upper-right-longitude")]
    pub upper_right_longitude: f64,
    /// North edge.
    #[serde(rename = "upper-right-latitude")]
    #[param(rename = "upper-right-latitude")]
    pub upper_right_latitude: f64,
}

/// Seed 001's device: one EVSE on the map.
#[derive(Debug, Serialize, ToSchema)]
pub struct Device {
    /// The EVSE id (use it with /devices/{id}/start).
    #[serde(rename = "_id")]
    pub id: String,
    /// Its display number.
    #[serde(rename = "deviceNumber")]
    pub device_number: String,
    /// Price per kWh, in the site's currency (major units).
    pub price: f64,
    /// Price per minute of waiting after charging, major units.
    #[serde(rename = "waitingPrice")]
    pub waiting_price: f64,
    /// [longitude, latitude].
    pub location: [f64; 2],
    /// Idle, Busy, Repair or Error.
    #[schema(value_type = String)]
    pub state: DeviceState,
    /// The site it stands at (extra to seed 001).
    #[serde(rename = "siteId")]
    pub site_id: String,
    /// Site name (extra).
    #[serde(rename = "siteName")]
    pub site_name: String,
    /// ISO 4217 currency of the prices (extra).
    pub currency: String,
}

/// Seed 001: the chargers inside the map's box, nearest to its centre first,
/// at most 1000.
#[utoipa::path(get, path = "/api/v1/devices/by-location", tag = "discovery", params(ByLocation),
    responses((status = 200, body = [Device]), (status = 400, body = ErrorBody)))]
async fn by_location(
    State(state): State<AppState>,
    Query(q): Query<ByLocation>,
) -> ApiResult<Json<Vec<Device>>> {
    let bbox = BoundingBox::new(
        q.bottom_left_latitude,
        q.bottom_left_longitude,
        q.upper_right_latitude,
        q.upper_right_longitude,
    )?;
    let (_, loaded) = network::find(
        &state,
        SearchRequest {
            bbox: Some(bbox),
            filter: SiteFilter::default(),
            ..SearchRequest::default()
        },
        0,
        MAX_DEVICES,
    )
    .await?;
    // Sites come nearest the middle of the map first, so a cut list keeps
    // what the driver is looking at.
    let mut devices = Vec::new();
    for (site, evses) in loaded.iter() {
        devices.extend(evses.iter().map(|e| device(site, e)));
        if devices.len() >= MAX_DEVICES {
            break;
        }
    }
    devices.truncate(MAX_DEVICES);
    Ok(Json(devices))
}

/// Seed 001's device view of an EVSE.
pub(crate) fn device(site: &plugway_store::Site, e: &Evse) -> Device {
    let currency = site.fields.currency;
    Device {
        id: e.id.to_text(),
        device_number: e.fields.evse_code.clone(),
        price: currency.to_major(e.fields.price_per_kwh),
        waiting_price: currency.to_major(e.fields.waiting_price_per_minute),
        location: [site.fields.coordinates.lng, site.fields.coordinates.lat],
        state: e.status().device_state(),
        site_id: site.id.to_text(),
        site_name: site.fields.name.clone(),
        currency: currency.code().to_owned(),
    }
}

/// A driver's search. Give `lat` and `lng` to search a radius around a
/// point (results nearest first, with `distance_m`); leave them out to
/// search everywhere (then give `q`, `city` or `province`).
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SearchQuery {
    /// Latitude of the centre.
    pub lat: Option<f64>,
    /// Longitude of the centre.
    pub lng: Option<f64>,
    /// Radius in km (default 10, at most 200).
    pub radius_km: Option<f64>,
    /// Words to find in the name, address, city, host name or power ("cafe 150kw").
    pub q: Option<String>,
    /// Connector standards, comma-separated; any of them (TYPE_2,CCS2).
    pub standards: Option<String>,
    /// At least this power on some connector, kW.
    pub min_power_kw: Option<f64>,
    /// Facilities, comma-separated; all of them.
    pub facilities: Option<String>,
    /// Capabilities, comma-separated; all of them.
    pub capabilities: Option<String>,
    /// Payment types, comma-separated; any of them.
    pub payment_types: Option<String>,
    /// Parking types, comma-separated; any of them.
    pub parking_types: Option<String>,
    /// City (case-insensitive).
    pub city: Option<String>,
    /// Province (case-insensitive).
    pub province: Option<String>,
    /// Only sites with an EVSE available now.
    pub available_now: Option<bool>,
    /// Only sites open now.
    pub open_now: Option<bool>,
    /// Only sites rated at least this (1 to 5).
    pub min_rating: Option<f64>,
}

/// Builds a search from query parameters (shared with GraphQL's filter query).
#[allow(clippy::too_many_arguments)]
pub fn build_search(q: SearchQuery) -> ApiResult<SearchRequest> {
    let center = match (q.lat, q.lng) {
        (Some(lat), Some(lng)) => Some(Coordinates::new(lat, lng)?),
        (None, None) => None,
        _ => {
            return Err(ApiError::invalid_field(
                "lat",
                "give both lat and lng, or neither",
            ))
        }
    };
    let radius_km = q.radius_km.unwrap_or(DEFAULT_RADIUS_KM);
    if !(radius_km.is_finite() && radius_km > 0.0 && radius_km <= MAX_RADIUS_KM) {
        return Err(ApiError::invalid_field(
            "radius_km",
            format!("must be more than 0 and at most {MAX_RADIUS_KM}"),
        ));
    }
    let min_power_kw = q.min_power_kw.unwrap_or(0.0);
    if !(min_power_kw.is_finite() && (0.0..=1000.0).contains(&min_power_kw)) {
        return Err(ApiError::invalid_field(
            "min_power_kw",
            "must be from 0 to 1000",
        ));
    }
    if let Some(r) = q.min_rating {
        if !(r.is_finite() && (1.0..=5.0).contains(&r)) {
            return Err(ApiError::invalid_field("min_rating", "must be from 1 to 5"));
        }
    }
    let text = |field: &'static str, v: Option<String>| -> ApiResult<Option<String>> {
        match v {
            Some(t) if !t.trim().is_empty() => Ok(Some(plugway_domain::network::clean_text(
                field, &t, 100, false,
            )?)),
            _ => Ok(None),
        }
    };
    let filter = SiteFilter {
        boxes: Vec::new(),
        standards_any: ConnectorStandard::mask(&ConnectorStandard::parse_list(
            "standards",
            &code_list(q.standards.as_deref()),
        )?),
        facilities_all: Facility::mask(&Facility::parse_list(
            "facilities",
            &code_list(q.facilities.as_deref()),
        )?),
        capabilities_all: Capability::mask(&Capability::parse_list(
            "capabilities",
            &code_list(q.capabilities.as_deref()),
        )?),
        payment_types_any: PaymentType::mask(&PaymentType::parse_list(
            "payment_types",
            &code_list(q.payment_types.as_deref()),
        )?),
        parking_types_any: ParkingType::mask(&ParkingType::parse_list(
            "parking_types",
            &code_list(q.parking_types.as_deref()),
        )?),
        min_power_w: (min_power_kw * 1000.0).round() as i64,
        city: text("city", q.city)?,
        province: text("province", q.province)?,
        terms: search_terms(q.q.as_deref())?,
        available_now: q.available_now.unwrap_or(false),
        min_rating: q.min_rating,
        limit: 0,
        with_hours: false,
    };
    if center.is_none()
        && filter.terms.is_empty()
        && filter.city.is_none()
        && filter.province.is_none()
    {
        return Err(ApiError::invalid_field(
            "lat",
            "give lat and lng, or search by q, city or province",
        ));
    }
    Ok(SearchRequest {
        center,
        radius_m: radius_km * 1000.0,
        bbox: None,
        filter,
        open_now: q.open_now.unwrap_or(false),
    })
}

/// Narrows a search to what one of the caller's vehicles can charge from.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ForVehicle {
    /// One of the caller's vehicles (needs `Authorization`): only sites
    /// with a connector of a standard it accepts (and of `standards`, when
    /// both are given). Another driver's vehicle answers 404.
    pub vehicle_id: Option<String>,
}

/// Finds chargers (sites) by radius, text and filters, nearest first.
#[utoipa::path(get, path = "/api/v1/sites", tag = "discovery", params(SearchQuery, ForVehicle, PageQuery),
    responses((status = 200, body = Paginated<crate::schemas::SiteView>), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody, description = "`vehicle_id` without credentials"),
        (status = 404, body = ErrorBody, description = "`vehicle_not_found`")))]
async fn search(
    State(state): State<AppState>,
    Query(q): Query<SearchQuery>,
    Query(page): Query<PageQuery>,
    Query(for_vehicle): Query<ForVehicle>,
    mut parts: axum::http::request::Parts,
) -> ApiResult<Response> {
    let (page, size, offset) = page.resolve()?;
    let mut request = build_search(q)?;
    if let Some(vehicle) = for_vehicle.vehicle_id {
        // Searching is public; only a vehicle filter needs the caller.
        let me = <SignedIn as axum::extract::FromRequestParts<AppState>>::from_request_parts(
            &mut parts, &state,
        )
        .await?;
        let vehicle = plugway_app::vehicles::parse_vehicle_id(&vehicle)?;
        let accepted = ConnectorStandard::mask(
            &plugway_app::vehicles::vehicle_standards(&state, me.user.id, vehicle).await?,
        );
        let wanted = match request.filter.standards_any {
            0 => accepted,
            asked => asked & accepted,
        };
        if wanted == 0 {
            // Asked for standards the vehicle cannot use: nothing fits.
            return Ok(Json(Paginated::<SiteView>::new(Vec::new(), 0, page, size)).into_response());
        }
        request.filter.standards_any = wanted;
    }
    let now = state.clock.now();
    let (found, loaded) = network::find(
        &state,
        request,
        usize::try_from(offset).unwrap_or(usize::MAX),
        usize::try_from(size).unwrap_or(0),
    )
    .await?;
    let count = i64::try_from(found.total).unwrap_or(i64::MAX);
    match loaded {
        FoundSites::Indexed(sites) => {
            let body = indexed_page_json(&found, &sites, now, count, page, size)
                .map_err(ApiError::internal)?;
            Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
        }
        FoundSites::Loaded(loaded) => {
            let views = network::render(&loaded, &found.hits, now);
            Ok(Json(Paginated::new(views, count, page, size)).into_response())
        }
    }
}

/// A page of search results on the index as JSON: the same fields and
/// values as `Paginated<SiteView>` serializes (in each site, `distance_m`
/// and `open_now` come first), built from each site's cached view
/// (see [`IndexedSite::view_json`]): the hot path of driver search.
pub fn indexed_page_json(
    found: &SearchPage,
    sites: &[Arc<IndexedSite>],
    now: chrono::DateTime<chrono::Utc>,
    count: i64,
    page: i64,
    size: i64,
) -> Result<Vec<u8>, serde_json::Error> {
    let frame = Paginated::<()>::new(Vec::new(), count, page, size);
    let mut out = Vec::with_capacity(2_048 * sites.len() + 128);
    out.extend_from_slice(b"{\"count\":");
    serde_json::to_writer(&mut out, &frame.count)?;
    out.extend_from_slice(b",\"next\":");
    serde_json::to_writer(&mut out, &frame.next)?;
    out.extend_from_slice(b",\"previous\":");
    serde_json::to_writer(&mut out, &frame.previous)?;
    out.extend_from_slice(b",\"results\":[");
    for (i, (site, hit)) in sites.iter().zip(&found.hits).enumerate() {
        if i > 0 {
            out.push(b',');
        }
        site.write_view_json(&mut out, hit.distance_m, now)?;
    }
    out.extend_from_slice(b"]}");
    Ok(out)
}

fn charger_not_found() -> ApiError {
    ApiError::not_found("site_not_found", "no such charger")
}

fn parse_site(id: &str) -> ApiResult<SiteId> {
    id.parse().map(SiteId).map_err(|_| charger_not_found())
}

/// Where the driver is, to show the distance on the detail.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct From {
    /// Driver's latitude.
    pub lat: Option<f64>,
    /// Driver's longitude.
    pub lng: Option<f64>,
}

/// A charger's detail for drivers: site, EVSEs with live status and prices,
/// photos, nearby places and rating.
#[utoipa::path(get, path = "/api/v1/sites/{id}", tag = "discovery", params(From),
    responses((status = 200, body = crate::schemas::SiteView), (status = 404, body = ErrorBody)))]
async fn detail(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(from): Query<From>,
) -> ApiResult<Json<SiteView>> {
    let id = parse_site(&id)?;
    let view = public_site(&state, id, &from).await?;
    Ok(Json(view))
}

async fn public_site(state: &AppState, id: SiteId, from: &From) -> ApiResult<SiteView> {
    let mut view = network::site_detail(state.store.as_ref(), id, true, state.clock.now())
        .await?
        .ok_or_else(charger_not_found)?;
    if let (Some(lat), Some(lng)) = (from.lat, from.lng) {
        let at = Coordinates::new(lat, lng)?;
        let site = Coordinates::new(view.latitude, view.longitude)?;
        view.distance_m = Some(at.distance_m(site).round());
    }
    Ok(view)
}

/// A rating.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RatingInput {
    /// 1 to 5.
    pub rating: i64,
}

/// A charger's rating after the caller's.
#[derive(Debug, Serialize, ToSchema)]
pub struct RatingView {
    /// Average, 1–5.
    pub rating: Option<f64>,
    /// Ratings given.
    pub rating_count: i64,
    /// The caller's own.
    pub your_rating: i64,
}

/// Rates a charger 1–5; one rating per driver (rating again replaces it).
#[utoipa::path(put, path = "/api/v1/sites/{id}/rating", tag = "discovery", request_body = RatingInput,
    responses((status = 200, body = RatingView), (status = 400, body = ErrorBody),
        (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
async fn rate(
    State(state): State<AppState>,
    me: SignedIn,
    Path(id): Path<String>,
    Json(input): Json<RatingInput>,
) -> ApiResult<Json<RatingView>> {
    let id = parse_site(&id)?;
    if !(1..=5).contains(&input.rating) {
        return Err(ApiError::invalid_field(
            "rating",
            "must be a whole number from 1 to 5",
        ));
    }
    let site = state
        .store
        .find_site(id)
        .await?
        .filter(|s| s.visible)
        .ok_or_else(charger_not_found)?;
    state
        .store
        .rate_site(me.user.id, site.id, input.rating, state.clock.now())
        .await?;
    let site = state
        .store
        .find_site(id)
        .await?
        .ok_or_else(charger_not_found)?;
    Ok(Json(RatingView {
        rating: site.rating(),
        rating_count: site.rating_count,
        your_rating: input.rating,
    }))
}

/// A bookmarked charger.
#[derive(Debug, Serialize, ToSchema)]
pub struct BookmarkView {
    /// The charger (site) id; also the bookmark's id.
    pub site_id: String,
    /// When bookmarked.
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// The charger, unless it is no longer listed.
    #[schema(value_type = Option<crate::schemas::SiteView>)]
    pub site: Option<SiteView>,
}

/// The caller's bookmarks, newest first.
#[utoipa::path(get, path = "/api/v1/bookmarks", tag = "discovery", params(PageQuery),
    responses((status = 200, body = Paginated<BookmarkView>)),
    security(("bearer" = [])))]
async fn list_bookmarks(
    State(state): State<AppState>,
    me: SignedIn,
    Query(page): Query<PageQuery>,
) -> ApiResult<Json<Paginated<BookmarkView>>> {
    let (page, size, offset) = page.resolve()?;
    let count = state.store.count_bookmarks(me.user.id).await?;
    let marks = state.store.list_bookmarks(me.user.id, offset, size).await?;
    let ids: Vec<SiteId> = marks.iter().map(|(id, _)| *id).collect();
    let now = state.clock.now();
    let loaded = load_sites(state.store.as_ref(), &ids, true).await?;
    let views = network::render(&loaded, &[], now);
    let results = marks
        .into_iter()
        .map(|(id, at)| BookmarkView {
            site_id: id.to_text(),
            created_at: at,
            site: views
                .iter()
                .find(|v| v.id == id.to_text() && v.visible)
                .cloned(),
        })
        .collect();
    Ok(Json(Paginated::new(results, count, page, size)))
}

/// One bookmark, with the charger's full detail.
#[utoipa::path(get, path = "/api/v1/bookmarks/{site_id}", tag = "discovery",
    responses((status = 200, body = BookmarkView), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
async fn get_bookmark(
    State(state): State<AppState>,
    me: SignedIn,
    Path(site_id): Path<String>,
) -> ApiResult<Json<BookmarkView>> {
    let not_found =
        || ApiError::not_found("bookmark_not_found", "you have not bookmarked this charger");
    let id = site_id.parse().map(SiteId).map_err(|_| not_found())?;
    let at = state
        .store
        .find_bookmark(me.user.id, id)
        .await?
        .ok_or_else(not_found)?;
    let site = public_site(
        &state,
        id,
        &From {
            lat: None,
            lng: None,
        },
    )
    .await
    .ok();
    Ok(Json(BookmarkView {
        site_id: id.to_text(),
        created_at: at,
        site,
    }))
}

/// Bookmarks a charger (idempotent: 201 the first time, 200 after).
#[utoipa::path(put, path = "/api/v1/bookmarks/{site_id}", tag = "discovery",
    responses((status = 201, body = BookmarkView), (status = 200, body = BookmarkView),
        (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
async fn add_bookmark(
    State(state): State<AppState>,
    me: SignedIn,
    Path(site_id): Path<String>,
) -> ApiResult<(StatusCode, Json<BookmarkView>)> {
    let id = parse_site(&site_id)?;
    let site = public_site(
        &state,
        id,
        &From {
            lat: None,
            lng: None,
        },
    )
    .await?;
    let now = state.clock.now();
    let created = state.store.add_bookmark(me.user.id, id, now).await?;
    let at = state
        .store
        .find_bookmark(me.user.id, id)
        .await?
        .unwrap_or(now);
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((
        status,
        Json(BookmarkView {
            site_id: id.to_text(),
            created_at: at,
            site: Some(site),
        }),
    ))
}

/// Removes a bookmark.
#[utoipa::path(delete, path = "/api/v1/bookmarks/{site_id}", tag = "discovery",
    responses((status = 204), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
async fn remove_bookmark(
    State(state): State<AppState>,
    me: SignedIn,
    Path(site_id): Path<String>,
) -> ApiResult<StatusCode> {
    let not_found =
        || ApiError::not_found("bookmark_not_found", "you have not bookmarked this charger");
    let id = site_id.parse().map(SiteId).map_err(|_| not_found())?;
    if state.store.remove_bookmark(me.user.id, id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(not_found())
    }
}

/// One entry of a reference list (seed 003's shape).
#[derive(Debug, Serialize, ToSchema)]
pub struct CodeEntry {
    /// Stable numeric id.
    pub id: u32,
    /// The code to send in filters and inputs.
    pub code: String,
    /// For people.
    pub description: String,
}

/// Every list a filter or an input draws from.
#[derive(Debug, Serialize, ToSchema)]
pub struct Filters {
    /// Connector standards.
    pub connector_types: Vec<CodeEntry>,
    /// Socket or cable.
    pub connector_formats: Vec<CodeEntry>,
    /// AC/DC.
    pub power_types: Vec<CodeEntry>,
    /// Amenities.
    pub facilities: Vec<CodeEntry>,
    /// EVSE capabilities.
    pub capabilities: Vec<CodeEntry>,
    /// Payment types.
    pub payment_types: Vec<CodeEntry>,
    /// Indoor/outdoor.
    pub parking_types: Vec<CodeEntry>,
    /// Who may park.
    pub parking_restrictions: Vec<CodeEntry>,
    /// EVSE statuses (OCPI).
    pub evse_statuses: Vec<String>,
}

macro_rules! entries {
    ($t:ty) => {
        <$t>::ALL
            .iter()
            .map(|v| CodeEntry {
                id: v.list_id(),
                code: v.code().to_owned(),
                description: v.description().to_owned(),
            })
            .collect()
    };
}

/// The reference lists (seed 003 `filters`, seed 000 socket types and amenities).
#[utoipa::path(get, path = "/api/v1/reference/filters", tag = "discovery",
    responses((status = 200, body = Filters)))]
async fn filters() -> Json<Filters> {
    Json(reference_filters())
}

/// Every reference list, as [`filters`] serves them.
pub fn reference_filters() -> Filters {
    Filters {
        connector_types: entries!(ConnectorStandard),
        connector_formats: entries!(ConnectorFormat),
        power_types: entries!(PowerType),
        facilities: entries!(Facility),
        capabilities: entries!(Capability),
        payment_types: entries!(PaymentType),
        parking_types: entries!(ParkingType),
        parking_restrictions: entries!(ParkingRestriction),
        evse_statuses: EvseStatus::ALL
            .iter()
            .map(|s| s.code().to_owned())
            .collect(),
    }
}

/// A city.
#[derive(Debug, Serialize, ToSchema)]
pub struct City {
    /// Its name.
    pub city: String,
}

/// The cities with listed chargers in a province (seed 003's shape).
#[utoipa::path(get, path = "/api/v1/reference/cities/{province}", tag = "discovery",
    responses((status = 200, body = [City])))]
async fn cities(
    State(state): State<AppState>,
    Path(province): Path<String>,
) -> ApiResult<Json<Vec<City>>> {
    Ok(Json(cities_in(&state, &province).await?))
}

/// The cities with listed chargers in `province`.
pub(crate) async fn cities_in(state: &AppState, province: &str) -> ApiResult<Vec<City>> {
    let province = plugway_domain::network::clean_text("province", province, 100, false)?;
    let cities = state.store.cities_in_province(&province).await?;
    Ok(cities.into_iter().map(|city| City { city }).collect())
}

/// A stored photo or logo. Keys never change content (each upload gets a
/// new key), so they are cached for a year and revalidated by ETag.
#[utoipa::path(get, path = "/api/v1/media/{scope}/{owner}/{file}", tag = "discovery",
    responses((status = 200, description = "the image"), (status = 304, description = "not modified"),
        (status = 404, body = ErrorBody)))]
async fn media(
    State(state): State<AppState>,
    Path((scope, owner, file)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    if !matches!(
        scope.as_str(),
        "sites" | "hosts" | "banners" | "users" | "vehicles"
    ) {
        return Err(ApiError::not_found("media_not_found", "no such file"));
    }
    let object = state
        .media
        .get(&format!("{scope}/{owner}/{file}"))
        .await
        .map_err(plugway_app::AppError::from)?;
    let cache = HeaderValue::from_static("public, max-age=31536000, immutable");
    let etag = HeaderValue::from_str(&object.etag)
        .map_err(|_| ApiError::internal("stored ETag is not a header value"))?;
    let matches = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',')
                .any(|t| t.trim() == object.etag || t.trim() == "*")
        });
    if matches {
        return Ok((
            StatusCode::NOT_MODIFIED,
            [(header::ETAG, etag), (header::CACHE_CONTROL, cache)],
        )
            .into_response());
    }
    let content_type = HeaderValue::from_str(&object.content_type)
        .map_err(|_| ApiError::internal("stored content type is not a header value"))?;
    Ok((
        [
            (header::CONTENT_TYPE, content_type),
            (header::ETAG, etag),
            (header::CACHE_CONTROL, cache),
            (
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ),
        ],
        object.bytes,
    )
        .into_response())
}
