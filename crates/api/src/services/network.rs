//! The charging network: turning host input into sites and EVSEs, the
//! driver search, and the views every face (REST, seed 001, GraphQL) renders.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use plugway_domain::network::{chord2_for_distance, clean_text, combined_status};
use plugway_domain::{
    ApprovalState, BoundingBox, Capability, ChargePointId, ConnectorFormat, ConnectorId,
    ConnectorStandard, Coordinates, Currency, DeviceState, EvseStatus, Facility, OpeningHours,
    ParkingRestriction, ParkingType, PaymentType, PowerType, SiteId, SiteTimeZone,
};
use plugway_store::{
    ConnectorFields, Evse, EvseFields, NearbyPlace, Nearness, Site, SiteFields, SiteFilter,
    SitePhoto, Store,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::{ApiError, ApiResult};
use crate::services::revisions::RevisionStatusView;
use crate::services::search_index::IndexedSite;
use crate::state::AppState;

/// The widest radius a search may ask for, in kilometres.
pub const MAX_RADIUS_KM: f64 = 200.0;
/// The radius when none is given, in kilometres.
pub const DEFAULT_RADIUS_KM: f64 = 10.0;
/// Candidates one search considers. A 10 km radius in the densest city of
/// the benchmark network holds a few thousand sites; past this the result is
/// cut (and says so through `count`).
pub const MAX_CANDIDATES: i64 = 20_000;
/// EVSEs one site may have.
pub const MAX_EVSES_PER_SITE: usize = 100;
/// Connectors one EVSE may have.
pub const MAX_CONNECTORS_PER_EVSE: usize = 8;

/// A site as a host sends it.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SiteInput {
    /// Display name (1–120 characters).
    pub name: String,
    /// Street address.
    pub address: String,
    /// City.
    pub city: String,
    /// Province or state.
    pub province: String,
    /// Region.
    #[serde(default)]
    pub region: Option<String>,
    /// Postal code.
    #[serde(default)]
    pub postal_code: Option<String>,
    /// ISO 3166-1 alpha-2 country code.
    pub country_code: String,
    /// Latitude, WGS 84.
    pub latitude: f64,
    /// Longitude, WGS 84.
    pub longitude: f64,
    /// IANA time zone ("Asia/Ulaanbaatar"); UTC when left out.
    #[serde(default)]
    pub time_zone: Option<String>,
    /// Opening hours; open around the clock when left out.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub opening_hours: Option<OpeningHours>,
    /// Facility codes (see `/api/v1/reference/filters`).
    #[serde(default)]
    pub facilities: Vec<String>,
    /// Parking type codes.
    #[serde(default)]
    pub parking_types: Vec<String>,
    /// Parking restriction codes.
    #[serde(default)]
    pub parking_restrictions: Vec<String>,
    /// ISO 4217 currency of the site's prices.
    pub currency: String,
    /// List it for drivers once approved (default true).
    #[serde(default = "yes")]
    pub published: bool,
}

fn yes() -> bool {
    true
}

fn optional_text(field: &'static str, v: Option<String>, max: usize) -> ApiResult<Option<String>> {
    match v {
        Some(text) if !text.trim().is_empty() => Ok(Some(clean_text(field, &text, max, false)?)),
        _ => Ok(None),
    }
}

/// An ISO 3166-1 alpha-2 code, upper-cased.
pub fn country_code(input: &str) -> ApiResult<String> {
    let code = input.trim().to_ascii_uppercase();
    if code.len() == 2 && code.bytes().all(|b| b.is_ascii_uppercase()) {
        Ok(code)
    } else {
        Err(ApiError::invalid_field(
            "country_code",
            "must be a two-letter ISO 3166-1 country code",
        ))
    }
}

impl SiteInput {
    /// Checks every field; the first fault is the error.
    pub fn into_fields(self) -> ApiResult<SiteFields> {
        let opening_hours = self.opening_hours.unwrap_or_else(OpeningHours::always);
        opening_hours.validate()?;
        Ok(SiteFields {
            name: clean_text("name", &self.name, 120, false)?,
            address: clean_text("address", &self.address, 300, false)?,
            city: clean_text("city", &self.city, 100, false)?,
            province: clean_text("province", &self.province, 100, false)?,
            region: optional_text("region", self.region, 100)?,
            postal_code: optional_text("postal_code", self.postal_code, 20)?,
            country_code: country_code(&self.country_code)?,
            coordinates: Coordinates::new(self.latitude, self.longitude)?,
            time_zone: match self.time_zone.as_deref() {
                Some(zone) => SiteTimeZone::parse(zone)?,
                None => SiteTimeZone::utc(),
            },
            opening_hours,
            facilities: Facility::parse_list("facilities", &self.facilities)?,
            parking_types: ParkingType::parse_list("parking_types", &self.parking_types)?,
            parking_restrictions: ParkingRestriction::parse_list(
                "parking_restrictions",
                &self.parking_restrictions,
            )?,
            currency: Currency::parse(&self.currency)?,
            published: self.published,
        })
    }
}

/// A connector as a host sends it.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConnectorInput {
    /// TYPE_1, TYPE_2, CHADEMO, GBT, CCS1, CCS2, TESLA, DOMESTIC.
    pub standard: String,
    /// SOCKET or CABLE.
    pub format: String,
    /// AC, AC_1_PHASE, AC_2_PHASE, AC_2_PHASE_SPLIT, AC_3_PHASE, DC.
    pub power_type: String,
    /// Volts (1–2000).
    pub max_voltage: i32,
    /// Amperes (1–1000).
    pub max_amperage: i32,
    /// Kilowatts (0.1–1000).
    pub max_power_kw: f64,
}

impl ConnectorInput {
    fn into_fields(self, id: ConnectorId) -> ApiResult<ConnectorFields> {
        if !(1..=2000).contains(&self.max_voltage) {
            return Err(ApiError::invalid_field(
                "max_voltage",
                "must be from 1 to 2000 volts",
            ));
        }
        if !(1..=1000).contains(&self.max_amperage) {
            return Err(ApiError::invalid_field(
                "max_amperage",
                "must be from 1 to 1000 amperes",
            ));
        }
        if !(self.max_power_kw.is_finite() && (0.1..=1000.0).contains(&self.max_power_kw)) {
            return Err(ApiError::invalid_field(
                "max_power_kw",
                "must be from 0.1 to 1000 kW",
            ));
        }
        Ok(ConnectorFields {
            id,
            standard: ConnectorStandard::parse("standard", &self.standard)?,
            format: ConnectorFormat::parse("format", &self.format)?,
            power_type: PowerType::parse("power_type", &self.power_type)?,
            max_voltage: self.max_voltage,
            max_amperage: self.max_amperage,
            // Watts, rounded: the input is at most 1000 kW, so this fits.
            max_power_w: (self.max_power_kw * 1000.0).round() as i64,
        })
    }
}

/// Prices of an EVSE in the site's currency, as decimal numbers of the major
/// unit ("12.50"); stored in minor units.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PriceInput {
    /// Per kWh.
    #[serde(default)]
    pub per_kwh: f64,
    /// Per hour of charging.
    #[serde(default)]
    pub per_hour: f64,
    /// Per minute of waiting after charging ends.
    #[serde(default)]
    pub waiting_per_minute: f64,
}

/// An EVSE as a host sends it.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EvseInput {
    /// Display number, unique within the site (OCPI evse_id).
    pub evse_code: String,
    /// Serial number.
    #[serde(default)]
    pub serial_number: Option<String>,
    /// "AC" or "DC".
    #[serde(default)]
    pub meter_type: Option<String>,
    /// The OCPP charge point this EVSE is (must be the host's).
    #[serde(default)]
    pub charge_point_id: Option<String>,
    /// Its connector id on that charge point (1 or more); required with it.
    #[serde(default)]
    pub ocpp_connector_id: Option<i64>,
    /// Status for an EVSE not linked to OCPP (default AVAILABLE).
    #[serde(default)]
    pub status: Option<String>,
    /// Capability codes.
    #[serde(default)]
    pub capabilities: Vec<String>,
    /// Payment type codes.
    #[serde(default)]
    pub payment_types: Vec<String>,
    /// Prices.
    pub prices: PriceInput,
    /// One to eight connectors.
    pub connectors: Vec<ConnectorInput>,
}

impl EvseInput {
    /// Checks every field. `existing` gives connector ids to keep on edit
    /// (by position), so ids stay stable across edits.
    pub fn into_fields(
        self,
        currency: Currency,
        existing: &[ConnectorFields],
        state: &AppState,
    ) -> ApiResult<EvseFields> {
        let evse_code = clean_text("evse_code", &self.evse_code, 48, false)?;
        if self.connectors.is_empty() || self.connectors.len() > MAX_CONNECTORS_PER_EVSE {
            return Err(ApiError::invalid_field(
                "connectors",
                format!("give 1 to {MAX_CONNECTORS_PER_EVSE} connectors"),
            ));
        }
        let charge_point_id = self
            .charge_point_id
            .as_deref()
            .map(ChargePointId::parse)
            .transpose()?;
        match (&charge_point_id, self.ocpp_connector_id) {
            (Some(_), Some(n)) if (1..=99).contains(&n) => {}
            (Some(_), _) => {
                return Err(ApiError::invalid_field(
                    "ocpp_connector_id",
                    "give the OCPP connector id (1 to 99) with charge_point_id",
                ))
            }
            (None, Some(_)) => {
                return Err(ApiError::invalid_field(
                    "charge_point_id",
                    "ocpp_connector_id needs a charge_point_id",
                ))
            }
            (None, None) => {}
        }
        let price = |field: &'static str, major: f64| {
            currency
                .to_minor(major)
                .filter(|m| *m <= 100_000_000_000)
                .ok_or_else(|| ApiError::invalid_field(field, "must be a non-negative amount"))
        };
        let now = state.clock.now();
        let connectors = self
            .connectors
            .into_iter()
            .enumerate()
            .map(|(i, c)| {
                let id = existing
                    .get(i)
                    .map(|e| e.id)
                    .unwrap_or_else(|| ConnectorId(state.ids.new_uuid(now)));
                c.into_fields(id)
            })
            .collect::<ApiResult<Vec<_>>>()?;
        Ok(EvseFields {
            evse_code,
            serial_number: optional_text("serial_number", self.serial_number, 64)?,
            meter_type: optional_text("meter_type", self.meter_type, 16)?,
            ocpp_connector_id: charge_point_id.as_ref().and(self.ocpp_connector_id),
            charge_point_id,
            declared_status: match self.status.as_deref() {
                Some(s) => EvseStatus::parse("status", s)?,
                None => EvseStatus::Available,
            },
            capabilities: Capability::parse_list("capabilities", &self.capabilities)?,
            payment_types: PaymentType::parse_list("payment_types", &self.payment_types)?,
            price_per_kwh: price("prices.per_kwh", self.prices.per_kwh)?,
            price_per_hour: price("prices.per_hour", self.prices.per_hour)?,
            waiting_price_per_minute: price(
                "prices.waiting_per_minute",
                self.prices.waiting_per_minute,
            )?,
            connectors,
        })
    }
}

/// Checks that an EVSE's OCPP link points at a charge point the host owns.
pub async fn check_charge_point_link(
    state: &AppState,
    host: plugway_domain::UserId,
    fields: &EvseFields,
) -> ApiResult<()> {
    if let Some(cp) = &fields.charge_point_id {
        let found = state.store.find_charge_point(cp).await?;
        let owned = found.is_some_and(|c| c.owner == Some(host));
        if !owned {
            return Err(ApiError::invalid_field(
                "charge_point_id",
                "no charge point with this id belongs to the site's host",
            ));
        }
    }
    Ok(())
}

/// A driver's search, before the store sees it.
#[derive(Debug, Clone, Default)]
pub struct SearchRequest {
    /// Search around this point (distance is then in every hit).
    pub center: Option<Coordinates>,
    /// Radius around `center`, metres.
    pub radius_m: f64,
    /// Or search inside this box.
    pub bbox: Option<BoundingBox>,
    /// What the store filters on (boxes and limit are set here).
    pub filter: SiteFilter,
    /// Only sites open now (by their opening hours and zone).
    pub open_now: bool,
}

impl SearchRequest {
    /// Where to look: the box around the circle, or the box given, or
    /// anywhere (`None`).
    pub fn area(&self) -> Option<BoundingBox> {
        match (self.center, self.bbox) {
            (Some(center), _) => Some(BoundingBox::around(center, self.radius_m)),
            (None, bbox) => bbox,
        }
    }

    /// Where results rank from: the centre, or the box's middle.
    pub fn rank_from(&self) -> Option<Coordinates> {
        self.center.or_else(|| self.bbox.map(BoundingBox::center))
    }

    /// The squared unit-sphere chord a match may be from the centre: the
    /// radius with a centre, unbounded without.
    pub fn max_chord2(&self) -> f64 {
        if self.center.is_some() {
            chord2_for_distance(self.radius_m)
        } else {
            f64::INFINITY
        }
    }
}

/// A site found, with its distance from the search centre.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SearchHit {
    /// The site.
    pub site_id: SiteId,
    /// Metres from the centre, when the search had one.
    pub distance_m: Option<f64>,
}

/// One page of a search, and how many sites match in all.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SearchPage {
    /// Matches in all pages (for "open now" searches, among the first
    /// [`MAX_CANDIDATES`] candidates).
    pub total: usize,
    /// This page, nearest the centre (or the box's middle) first; searches
    /// without either come in id order.
    pub hits: Vec<SearchHit>,
}

/// Runs a search and returns one page of it.
///
/// The database ranks by distance, cuts at the radius, counts and pages
/// (`NetworkStore::search_sites_ranked`), so only the page's rows leave it.
/// "Open now" needs each site's hours in its own zone, which SQL cannot
/// judge, so that search takes the candidates (at most
/// [`MAX_CANDIDATES`]) and finishes here.
pub async fn search(
    store: &dyn Store,
    now: DateTime<Utc>,
    request: SearchRequest,
    offset: usize,
    limit: usize,
) -> ApiResult<SearchPage> {
    let area = request.area();
    let rank_from = request.rank_from();
    let max_chord2 = request.max_chord2();
    let mut filter = request.filter;
    filter.boxes = area
        .map(BoundingBox::split_at_antimeridian)
        .unwrap_or_default();
    let distance = |at: Coordinates| request.center.map(|c| c.distance_m(at));
    if !request.open_now {
        let near = Nearness {
            // No centre: every chord from the origin is 1 (up to rounding,
            // which can order ties apart from id order).
            centre: rank_from.map_or([0.0; 3], Coordinates::unit_vector),
            max_chord2,
        };
        let page = store
            .search_sites_ranked(
                &filter,
                &near,
                i64::try_from(offset).unwrap_or(i64::MAX),
                i64::try_from(limit).unwrap_or(i64::MAX),
            )
            .await?;
        return Ok(SearchPage {
            total: usize::try_from(page.total).unwrap_or(0),
            hits: page
                .hits
                .iter()
                .map(|h| SearchHit {
                    site_id: h.id,
                    distance_m: distance(h.coordinates),
                })
                .collect(),
        });
    }
    filter.limit = MAX_CANDIDATES;
    filter.with_hours = true;
    let candidates = store.search_site_candidates(&filter).await?;
    let mut ranked: Vec<(f64, SearchHit)> = candidates
        .into_iter()
        .filter(|c| area.is_none_or(|a| a.contains(c.coordinates)))
        .filter(|c| {
            c.opening_hours
                .as_ref()
                .is_none_or(|h| h.is_open(now, &c.time_zone))
        })
        .filter_map(|c| {
            let distance_m = distance(c.coordinates);
            if distance_m.is_some_and(|d| d > request.radius_m) {
                return None;
            }
            let rank = rank_from.map_or(0.0, |r| r.distance_m(c.coordinates));
            Some((
                rank,
                SearchHit {
                    site_id: c.id,
                    distance_m,
                },
            ))
        })
        .collect();
    ranked.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.site_id.cmp(&b.1.site_id)));
    let total = ranked.len();
    Ok(SearchPage {
        total,
        hits: ranked
            .into_iter()
            .skip(offset)
            .take(limit)
            .map(|(_, hit)| hit)
            .collect(),
    })
}

/// Runs a driver's search and loads the page's sites with their approved
/// EVSEs, nearest first. With the search index on (the default) it runs in
/// memory after catching up with every change committed before the call
/// (`services::search_index`); otherwise, and while the index is still
/// loading, in the database ([`search`]).
pub async fn find(
    state: &AppState,
    request: SearchRequest,
    offset: usize,
    limit: usize,
) -> ApiResult<(SearchPage, FoundSites)> {
    let now = state.clock.now();
    let index = state.search_index();
    if index.enabled() && !index.is_loaded() {
        // Searches do not wait for the load (seconds on a large network):
        // the database answers them meanwhile, exactly as the index would.
        index.load_in_background();
    }
    if !index.enabled() || !index.is_loaded() {
        let page = search(state.store.as_ref(), now, request, offset, limit).await?;
        let ids: Vec<SiteId> = page.hits.iter().map(|h| h.site_id).collect();
        let loaded = load_sites(state.store.as_ref(), &ids, true).await?;
        return Ok((page, FoundSites::Loaded(loaded)));
    }
    index.catch_up().await?;
    let (page, sites) = index.search(now, &request, offset, limit);
    Ok((page, FoundSites::Indexed(sites)))
}

/// The sites of a search's page, in its order: shared with the in-memory
/// index (nothing copied), or loaded from the database when the index is
/// off or still loading.
#[derive(Debug)]
pub enum FoundSites {
    /// The index's own entries.
    Indexed(Vec<Arc<IndexedSite>>),
    /// Loaded from the database.
    Loaded(Vec<(Site, Vec<Evse>)>),
}

impl FoundSites {
    /// Each site with its approved EVSEs.
    pub fn iter(&self) -> Box<dyn Iterator<Item = (&Site, &[Evse])> + '_> {
        match self {
            Self::Indexed(sites) => Box::new(sites.iter().map(|e| (&e.site, e.evses.as_slice()))),
            Self::Loaded(sites) => Box::new(sites.iter().map(|(s, e)| (s, e.as_slice()))),
        }
    }

    /// Owned copies, for views that keep them.
    pub fn into_loaded(self) -> Vec<(Site, Vec<Evse>)> {
        match self {
            Self::Indexed(sites) => sites
                .iter()
                .map(|e| (e.site.clone(), e.evses.clone()))
                .collect(),
            Self::Loaded(sites) => sites,
        }
    }
}

/// A stored image as a client fetches it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PhotoView {
    /// Photo id.
    pub id: String,
    /// The image.
    pub url: String,
    /// Its thumbnail (at most 320×320).
    pub thumbnail_url: String,
    /// Pixels.
    pub width: i64,
    /// Pixels.
    pub height: i64,
}

/// The URL a media key is served at.
pub fn media_url(key: &str) -> String {
    format!("/api/v1/media/{key}")
}

impl From<&SitePhoto> for PhotoView {
    fn from(p: &SitePhoto) -> Self {
        Self {
            id: p.id.to_text(),
            url: media_url(&p.key),
            thumbnail_url: media_url(&p.thumb_key),
            width: p.width,
            height: p.height,
        }
    }
}

/// A nearby place.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct NearbyView {
    /// Its id.
    pub id: String,
    /// "shop", "cafe", ...
    pub kind: String,
    /// Name.
    pub name: String,
    /// Image URL.
    pub image: Option<String>,
    /// Address.
    pub address: String,
}

impl From<&NearbyPlace> for NearbyView {
    fn from(p: &NearbyPlace) -> Self {
        Self {
            id: p.id.to_text(),
            kind: p.kind.clone(),
            name: p.name.clone(),
            image: p.image.clone(),
            address: p.address.clone(),
        }
    }
}

/// A connector.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ConnectorView {
    /// Its id.
    pub id: String,
    /// Position on the EVSE, from 1.
    pub position: usize,
    /// Plug standard code.
    pub standard: String,
    /// SOCKET or CABLE.
    pub format: String,
    /// Power type code.
    pub power_type: String,
    /// Volts.
    pub max_voltage: i32,
    /// Amperes.
    pub max_amperage: i32,
    /// Kilowatts.
    pub max_power_kw: f64,
}

/// Prices of an EVSE.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PricesView {
    /// ISO 4217.
    pub currency: String,
    /// Per kWh, major units.
    pub per_kwh: f64,
    /// Per hour of charging, major units.
    pub per_hour: f64,
    /// Per minute waiting after charging ends, major units.
    pub waiting_per_minute: f64,
    /// The same three in minor units (integers), for exact arithmetic.
    pub minor: PricesMinor,
}

/// Prices in minor units.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PricesMinor {
    /// Per kWh.
    pub per_kwh: i64,
    /// Per hour.
    pub per_hour: i64,
    /// Per waiting minute.
    pub waiting_per_minute: i64,
}

/// An EVSE with its live status.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EvseView {
    /// Its id (seed 001's device `_id`).
    pub id: String,
    /// Display number.
    pub evse_code: String,
    /// Serial number.
    pub serial_number: Option<String>,
    /// AC/DC meter.
    pub meter_type: Option<String>,
    /// Linked OCPP charge point.
    pub charge_point_id: Option<String>,
    /// Its connector id there.
    pub ocpp_connector_id: Option<i64>,
    /// OCPI status.
    #[schema(value_type = String)]
    pub status: EvseStatus,
    /// Seed 001's state.
    #[schema(value_type = String)]
    pub state: DeviceState,
    /// Capability codes.
    #[schema(value_type = Vec<String>)]
    pub capabilities: Vec<Capability>,
    /// Payment type codes.
    #[schema(value_type = Vec<String>)]
    pub payment_types: Vec<PaymentType>,
    /// Prices.
    pub prices: PricesView,
    /// Connectors.
    pub connectors: Vec<ConnectorView>,
    /// Approval.
    #[schema(value_type = String)]
    pub approval: ApprovalState,
    /// Why it was rejected.
    pub rejection_reason: Option<String>,
    /// The host's proposed changes waiting for an admin, in this view's
    /// field names; null when none. Host and admin views only.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub pending_changes: Option<Option<serde_json::Value>>,
    /// The latest revision (open, or the last decided or withdrawn, to
    /// show a rejection's reason); null when never revised. Host and admin
    /// views only.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<RevisionStatusView>)]
    pub revision: Option<Option<RevisionStatusView>>,
    /// When created.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

/// A connector list as views show it (position from 1).
pub fn connector_views(connectors: &[ConnectorFields]) -> Vec<ConnectorView> {
    connectors
        .iter()
        .enumerate()
        .map(|(i, c)| ConnectorView {
            id: c.id.0.hyphenated().to_string(),
            position: i + 1,
            standard: c.standard.code().to_owned(),
            format: c.format.code().to_owned(),
            power_type: c.power_type.code().to_owned(),
            max_voltage: c.max_voltage,
            max_amperage: c.max_amperage,
            max_power_kw: c.max_power_w as f64 / 1000.0,
        })
        .collect()
}

impl EvseView {
    /// Renders an EVSE priced in `currency`.
    pub fn new(e: &Evse, currency: Currency) -> Self {
        let status = e.status();
        Self {
            id: e.id.to_text(),
            evse_code: e.fields.evse_code.clone(),
            serial_number: e.fields.serial_number.clone(),
            meter_type: e.fields.meter_type.clone(),
            charge_point_id: e.fields.charge_point_id.as_ref().map(|c| c.to_string()),
            ocpp_connector_id: e.fields.ocpp_connector_id,
            status,
            state: status.device_state(),
            capabilities: e.fields.capabilities.clone(),
            payment_types: e.fields.payment_types.clone(),
            prices: PricesView {
                currency: currency.code().to_owned(),
                per_kwh: currency.to_major(e.fields.price_per_kwh),
                per_hour: currency.to_major(e.fields.price_per_hour),
                waiting_per_minute: currency.to_major(e.fields.waiting_price_per_minute),
                minor: PricesMinor {
                    per_kwh: e.fields.price_per_kwh,
                    per_hour: e.fields.price_per_hour,
                    waiting_per_minute: e.fields.waiting_price_per_minute,
                },
            },
            connectors: connector_views(&e.fields.connectors),
            approval: e.approval,
            rejection_reason: e.rejection_reason.clone(),
            pending_changes: None,
            revision: None,
            created_at: e.created_at,
            updated_at: e.updated_at,
        }
    }
}

/// A site with its EVSEs; photos and nearby places on the detail view.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SiteView {
    /// Its id.
    pub id: String,
    /// The host's account id.
    pub host_id: String,
    /// Name.
    pub name: String,
    /// Street address.
    pub address: String,
    /// City.
    pub city: String,
    /// Province.
    pub province: String,
    /// Region.
    pub region: Option<String>,
    /// Postal code.
    pub postal_code: Option<String>,
    /// Country.
    pub country_code: String,
    /// Latitude.
    pub latitude: f64,
    /// Longitude.
    pub longitude: f64,
    /// Metres from the search centre (searches with a centre only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub distance_m: Option<f64>,
    /// IANA zone.
    pub time_zone: String,
    /// Opening hours.
    #[schema(value_type = Object)]
    pub opening_hours: OpeningHours,
    /// Open now, by its hours.
    pub open_now: bool,
    /// Facility codes.
    #[schema(value_type = Vec<String>)]
    pub facilities: Vec<Facility>,
    /// Parking types.
    #[schema(value_type = Vec<String>)]
    pub parking_types: Vec<ParkingType>,
    /// Parking restrictions.
    #[schema(value_type = Vec<String>)]
    pub parking_restrictions: Vec<ParkingRestriction>,
    /// Currency of its prices.
    pub currency: String,
    /// Brand logo URL.
    pub brand_logo_url: Option<String>,
    /// The host wants it listed.
    pub published: bool,
    /// Approval.
    #[schema(value_type = String)]
    pub approval: ApprovalState,
    /// Why it was rejected.
    pub rejection_reason: Option<String>,
    /// Drivers can see it.
    pub visible: bool,
    /// Average rating, 1–5.
    pub rating: Option<f64>,
    /// Ratings given.
    pub rating_count: i64,
    /// The best status among its EVSEs.
    #[schema(value_type = String)]
    pub status: EvseStatus,
    /// Highest connector power, kW.
    pub max_power_kw: f64,
    /// EVSEs (drivers see approved ones only).
    pub evses: Vec<EvseView>,
    /// Photos (detail view only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub photos: Option<Vec<PhotoView>>,
    /// Places nearby (detail view only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nearby: Option<Vec<NearbyView>>,
    /// The host's proposed changes to the site's own fields waiting for an
    /// admin, in this view's field names; null when none. Host and admin
    /// views only (drivers see the approved site).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub pending_changes: Option<Option<serde_json::Value>>,
    /// The site's latest revision (open, or the last decided or withdrawn);
    /// null when never revised. Host and admin views only.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<RevisionStatusView>)]
    pub revision: Option<Option<RevisionStatusView>>,
    /// When created.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

impl SiteView {
    /// Renders a site with the EVSEs given (already filtered by the caller).
    pub fn new(site: &Site, evses: &[&Evse], now: DateTime<Utc>) -> Self {
        let f = &site.fields;
        let evse_views: Vec<EvseView> =
            evses.iter().map(|e| EvseView::new(e, f.currency)).collect();
        Self {
            id: site.id.to_text(),
            host_id: site.host_id.to_text(),
            name: f.name.clone(),
            address: f.address.clone(),
            city: f.city.clone(),
            province: f.province.clone(),
            region: f.region.clone(),
            postal_code: f.postal_code.clone(),
            country_code: f.country_code.clone(),
            latitude: f.coordinates.lat,
            longitude: f.coordinates.lng,
            distance_m: None,
            time_zone: f.time_zone.name().to_owned(),
            opening_hours: f.opening_hours.clone(),
            open_now: f.opening_hours.is_open(now, &f.time_zone),
            facilities: f.facilities.clone(),
            parking_types: f.parking_types.clone(),
            parking_restrictions: f.parking_restrictions.clone(),
            currency: f.currency.code().to_owned(),
            brand_logo_url: site.brand_logo.as_deref().map(media_url),
            published: f.published,
            approval: site.approval,
            rejection_reason: site.rejection_reason.clone(),
            visible: site.visible,
            rating: site.rating(),
            rating_count: site.rating_count,
            status: combined_status(evse_views.iter().map(|e| e.status)),
            max_power_kw: evses.iter().map(|e| e.max_power_w()).max().unwrap_or(0) as f64 / 1000.0,
            evses: evse_views,
            photos: None,
            nearby: None,
            pending_changes: None,
            revision: None,
            created_at: site.created_at,
            updated_at: site.updated_at,
        }
    }
}

/// Whether an EVSE belongs in a view: drivers see approved EVSEs only;
/// hosts and admins see all.
pub fn evse_in_view(evse: &Evse, drivers_view: bool) -> bool {
    !drivers_view || evse.approval == ApprovalState::Approved
}

/// Pairs sites already loaded with their EVSEs (one query for all of
/// them), keeping the sites' order. With `drivers_view` only approved EVSEs
/// are included.
pub async fn with_evses(
    store: &dyn Store,
    sites: Vec<Site>,
    drivers_view: bool,
) -> ApiResult<Vec<(Site, Vec<Evse>)>> {
    let ids: Vec<SiteId> = sites.iter().map(|s| s.id).collect();
    let mut by_site: HashMap<SiteId, Vec<Evse>> = HashMap::new();
    for e in store.list_site_evses(&ids).await? {
        if evse_in_view(&e, drivers_view) {
            by_site.entry(e.site_id).or_default().push(e);
        }
    }
    Ok(sites
        .into_iter()
        .map(|site| {
            let evses = by_site.remove(&site.id).unwrap_or_default();
            (site, evses)
        })
        .collect())
}

/// Loads sites with their EVSEs, in the order of `ids` (missing ones left
/// out). With `drivers_view` only approved EVSEs are included.
pub async fn load_sites(
    store: &dyn Store,
    ids: &[SiteId],
    drivers_view: bool,
) -> ApiResult<Vec<(Site, Vec<Evse>)>> {
    let mut by_id: HashMap<SiteId, Site> = store
        .find_sites(ids)
        .await?
        .into_iter()
        .map(|s| (s.id, s))
        .collect();
    let sites = ids.iter().filter_map(|id| by_id.remove(id)).collect();
    with_evses(store, sites, drivers_view).await
}

/// One site's full view, with photos and nearby places. With
/// `drivers_view`, only a visible site, with its approved EVSEs; `None` when
/// there is no such site.
pub async fn site_detail(
    store: &dyn Store,
    id: SiteId,
    drivers_view: bool,
    now: DateTime<Utc>,
) -> ApiResult<Option<SiteView>> {
    let loaded = load_sites(store, &[id], drivers_view).await?;
    let Some((site, evses)) = loaded.first().filter(|(s, _)| s.visible || !drivers_view) else {
        return Ok(None);
    };
    let refs: Vec<&Evse> = evses.iter().collect();
    let mut view = SiteView::new(site, &refs, now);
    view.photos = Some(
        store
            .list_site_photos(id)
            .await?
            .iter()
            .map(PhotoView::from)
            .collect(),
    );
    view.nearby = Some(
        store
            .list_nearby(id)
            .await?
            .iter()
            .map(NearbyView::from)
            .collect(),
    );
    Ok(Some(view))
}

/// Renders loaded sites, carrying each hit's distance.
pub fn render(
    loaded: &[(Site, Vec<Evse>)],
    hits: &[SearchHit],
    now: DateTime<Utc>,
) -> Vec<SiteView> {
    let distances: HashMap<SiteId, Option<f64>> =
        hits.iter().map(|h| (h.site_id, h.distance_m)).collect();
    loaded
        .iter()
        .map(|(site, evses)| {
            let refs: Vec<&Evse> = evses.iter().collect();
            let mut view = SiteView::new(site, &refs, now);
            view.distance_m = distances
                .get(&site.id)
                .copied()
                .flatten()
                .map(|d| d.round());
            view
        })
        .collect()
}

/// Parses a comma-separated list of codes from a query string.
pub fn code_list(input: Option<&str>) -> Vec<String> {
    input
        .map(|s| {
            s.split(',')
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

/// Splits free text into lower-case search terms (at most `SiteFilter::MAX_TERMS`).
pub fn search_terms(text: Option<&str>) -> ApiResult<Vec<String>> {
    let Some(text) = text else {
        return Ok(Vec::new());
    };
    if text.chars().count() > 100 {
        return Err(ApiError::invalid_field(
            "q",
            "must be at most 100 characters",
        ));
    }
    Ok(text
        .split_whitespace()
        .map(str::to_lowercase)
        .take(SiteFilter::MAX_TERMS)
        .collect())
}
