//! The network as drivers, hosts and admins see it: the read models the
//! network use cases answer with (sites, EVSEs, connectors, prices, photos,
//! nearby places, a listing's latest revision), serialized as the API shows
//! them. The search index keeps each site's drivers' view as JSON, so these
//! know nothing of the index or the use cases. (The API's OpenAPI document
//! describes them in `plugway-api`'s `schemas`, which a test keeps in step.)

use chrono::{DateTime, Utc};
use plugway_domain::network::combined_status;
use plugway_domain::{
    ApprovalState, Capability, Currency, DeviceState, EvseStatus, Facility, OpeningHours,
    ParkingRestriction, ParkingType, PaymentType, RevisionState,
};
use plugway_store::{
    ConnectorFields, Evse, NearbyPlace, PartnerOperator, Revision, Site, SitePhoto,
};
use serde::Serialize;

/// A stored image as a client fetches it.
#[derive(Debug, Clone, Serialize)]
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
#[derive(Debug, Clone, Serialize)]
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
#[derive(Debug, Clone, Serialize)]
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
#[derive(Debug, Clone, Serialize)]
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
#[derive(Debug, Clone, Serialize)]
pub struct PricesMinor {
    /// Per kWh.
    pub per_kwh: i64,
    /// Per hour.
    pub per_hour: i64,
    /// Per waiting minute.
    pub waiting_per_minute: i64,
}

/// An EVSE with its live status.
#[derive(Debug, Clone, Serialize)]
pub struct EvseView {
    /// Its id (seed 001's device `_id`).
    pub id: String,
    /// Its public number: the stable integer id older clients speak.
    pub number: Option<i64>,
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
    pub status: EvseStatus,
    /// Seed 001's state.
    pub state: DeviceState,
    /// Capability codes.
    pub capabilities: Vec<Capability>,
    /// Payment type codes.
    pub payment_types: Vec<PaymentType>,
    /// Prices.
    pub prices: PricesView,
    /// Connectors.
    pub connectors: Vec<ConnectorView>,
    /// Approval.
    pub approval: ApprovalState,
    /// Why it was rejected.
    pub rejection_reason: Option<String>,
    /// The host's proposed changes waiting for an admin, in this view's
    /// field names; null when none. Host and admin views only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pending_changes: Option<Option<serde_json::Value>>,
    /// The latest revision (open, or the last decided or withdrawn, to
    /// show a rejection's reason); null when never revised. Host and admin
    /// views only.
    #[serde(skip_serializing_if = "Option::is_none")]
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
            number: e.number,
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
#[derive(Debug, Clone, Serialize)]
pub struct SiteView {
    /// Its id.
    pub id: String,
    /// Its public number: the stable integer id older clients speak (seed
    /// 000's `charger_id`, seed 003's `location(id: N)`).
    pub number: Option<i64>,
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
    pub opening_hours: OpeningHours,
    /// Open now, by its hours.
    pub open_now: bool,
    /// Facility codes.
    pub facilities: Vec<Facility>,
    /// Parking types.
    pub parking_types: Vec<ParkingType>,
    /// Parking restrictions.
    pub parking_restrictions: Vec<ParkingRestriction>,
    /// Currency of its prices.
    pub currency: String,
    /// Brand logo URL.
    pub brand_logo_url: Option<String>,
    /// A roaming partner's location: whose it is (its operator's OCPI
    /// party code and name); null for the platform's own.
    pub partner: Option<PartnerOperator>,
    /// The host wants it listed.
    pub published: bool,
    /// Approval.
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
    pub pending_changes: Option<Option<serde_json::Value>>,
    /// The site's latest revision (open, or the last decided or withdrawn);
    /// null when never revised. Host and admin views only.
    #[serde(skip_serializing_if = "Option::is_none")]
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
            number: site.number,
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
            partner: site.partner.clone(),
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

/// Where a site's or EVSE's latest revision is.
#[derive(Debug, Clone, Serialize)]
pub struct RevisionStatusView {
    /// Its id.
    pub id: String,
    /// Grows with every edit of the listing's revisions; an admin approves
    /// the version they reviewed.
    pub version: i64,
    /// OPEN, APPROVED, REJECTED or WITHDRAWN.
    pub state: RevisionState,
    /// Why it was rejected.
    pub reason: Option<String>,
    /// When first proposed.
    pub created_at: DateTime<Utc>,
    /// Last edit or decision.
    pub updated_at: DateTime<Utc>,
    /// When approved, rejected or withdrawn.
    pub decided_at: Option<DateTime<Utc>>,
}

impl From<&Revision> for RevisionStatusView {
    fn from(r: &Revision) -> Self {
        Self {
            id: r.id.to_text(),
            version: r.version,
            state: r.state,
            reason: r.reason.clone(),
            created_at: r.created_at,
            updated_at: r.updated_at,
            decided_at: r.decided_at,
        }
    }
}
