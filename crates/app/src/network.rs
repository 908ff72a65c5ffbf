//! The charging network: turning host input into sites and EVSEs, the
//! driver search, and the views every face (REST, seed 001, GraphQL) renders.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use plugway_domain::network::clean_text;
use plugway_domain::{
    BoundingBox, Capability, ChargePointId, ConnectorFormat, ConnectorId, ConnectorStandard,
    Coordinates, Currency, EvseId, EvseStatus, Facility, OpeningHours, ParkingRestriction,
    ParkingType, PaymentType, PowerType, SiteId, SiteTimeZone,
};
use plugway_store::{
    ConnectorFields, Evse, EvseFields, Nearness, Site, SiteFields, SiteFilter, Store,
};
use serde::Deserialize;

use crate::context::App;
use crate::error::{AppError, AppResult};
use crate::search_index::{IndexedSite, SearchHit, SearchPage, SearchRequest};
use crate::views::{evse_in_view, NearbyView, PhotoView, SiteView};

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
#[derive(Debug, Clone, Deserialize)]
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

fn optional_text(field: &'static str, v: Option<String>, max: usize) -> AppResult<Option<String>> {
    match v {
        Some(text) if !text.trim().is_empty() => Ok(Some(clean_text(field, &text, max, false)?)),
        _ => Ok(None),
    }
}

/// An ISO 3166-1 alpha-2 code, upper-cased.
pub fn country_code(input: &str) -> AppResult<String> {
    let code = input.trim().to_ascii_uppercase();
    if code.len() == 2 && code.bytes().all(|b| b.is_ascii_uppercase()) {
        Ok(code)
    } else {
        Err(AppError::invalid_field(
            "country_code",
            "must be a two-letter ISO 3166-1 country code",
        ))
    }
}

impl SiteInput {
    /// Checks every field; the first fault is the error.
    pub fn into_fields(self) -> AppResult<SiteFields> {
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
#[derive(Debug, Clone, Deserialize)]
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
    fn into_fields(self, id: ConnectorId) -> AppResult<ConnectorFields> {
        if !(1..=2000).contains(&self.max_voltage) {
            return Err(AppError::invalid_field(
                "max_voltage",
                "must be from 1 to 2000 volts",
            ));
        }
        if !(1..=1000).contains(&self.max_amperage) {
            return Err(AppError::invalid_field(
                "max_amperage",
                "must be from 1 to 1000 amperes",
            ));
        }
        if !(self.max_power_kw.is_finite() && (0.1..=1000.0).contains(&self.max_power_kw)) {
            return Err(AppError::invalid_field(
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
#[derive(Debug, Clone, Deserialize)]
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
#[derive(Debug, Clone, Deserialize)]
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
        state: &App,
    ) -> AppResult<EvseFields> {
        let evse_code = clean_text("evse_code", &self.evse_code, 48, false)?;
        if self.connectors.is_empty() || self.connectors.len() > MAX_CONNECTORS_PER_EVSE {
            return Err(AppError::invalid_field(
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
                return Err(AppError::invalid_field(
                    "ocpp_connector_id",
                    "give the OCPP connector id (1 to 99) with charge_point_id",
                ))
            }
            (None, Some(_)) => {
                return Err(AppError::invalid_field(
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
                .ok_or_else(|| AppError::invalid_field(field, "must be a non-negative amount"))
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
            .collect::<AppResult<Vec<_>>>()?;
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
    state: &App,
    host: plugway_domain::UserId,
    fields: &EvseFields,
) -> AppResult<()> {
    if let Some(cp) = &fields.charge_point_id {
        let found = state.store.find_charge_point(cp).await?;
        let owned = found.is_some_and(|c| c.owner == Some(host));
        if !owned {
            return Err(AppError::invalid_field(
                "charge_point_id",
                "no charge point with this id belongs to the site's host",
            ));
        }
    }
    Ok(())
}

/// The store's conflicts on writing an EVSE, as people read them.
pub fn evse_conflict(e: plugway_store::StoreError) -> AppError {
    use plugway_store::{Conflict, StoreError};
    match e {
        StoreError::Conflict(Conflict::EvsePort) => AppError::conflict(
            "charge_point_connector_taken",
            "this OCPP connector is already an EVSE",
        ),
        StoreError::Conflict(_) => AppError::conflict(
            "evse_code_taken",
            "the site already has an EVSE with this code",
        ),
        other => other.into(),
    }
}

/// No such device (seed 001 calls EVSEs devices), or not one drivers see.
pub fn device_not_found() -> AppError {
    AppError::not_found("device_not_found", "no such device")
}

/// An EVSE a driver may use: approved, on a visible site.
pub async fn usable_evse(state: &App, id: EvseId) -> AppResult<(Evse, Site)> {
    let evse = state
        .store
        .find_evse(id)
        .await?
        .filter(|e| e.approval == plugway_domain::ApprovalState::Approved)
        .ok_or_else(device_not_found)?;
    let site = state
        .store
        .find_site(evse.site_id)
        .await?
        .filter(|s| s.visible)
        .ok_or_else(device_not_found)?;
    Ok((evse, site))
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
) -> AppResult<SearchPage> {
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
    state: &App,
    request: SearchRequest,
    offset: usize,
    limit: usize,
) -> AppResult<(SearchPage, FoundSites)> {
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

/// Pairs sites already loaded with their EVSEs (one query for all of
/// them), keeping the sites' order. With `drivers_view` only approved EVSEs
/// are included.
pub async fn with_evses(
    store: &dyn Store,
    sites: Vec<Site>,
    drivers_view: bool,
) -> AppResult<Vec<(Site, Vec<Evse>)>> {
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
) -> AppResult<Vec<(Site, Vec<Evse>)>> {
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
) -> AppResult<Option<SiteView>> {
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
pub fn search_terms(text: Option<&str>) -> AppResult<Vec<String>> {
    let Some(text) = text else {
        return Ok(Vec::new());
    };
    if text.chars().count() > 100 {
        return Err(AppError::invalid_field(
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
