//! The OpenAPI schemas of the core's network types, which the core cannot
//! describe itself (it knows no web framework). Each mirrors, field for field
//! and with the same serde attributes, the type of the same name in
//! `plugway_app::network`, `views`, `revisions` or `site_import`; handlers
//! (de)serialize the core's types and name these in their `#[utoipa::path]`.
//! `tests/it/openapi.rs` fails when a mirror and its type part ways.

#![allow(missing_docs)]

use chrono::{DateTime, Utc};
use plugway_domain::{
    ApprovalState, Capability, DeviceState, EvseStatus, Facility, OpeningHours, ParkingRestriction,
    ParkingType, PaymentType, RevisionState,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

fn yes() -> bool {
    true
}

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

/// Whose a roaming partner's location is.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PartnerOperator {
    /// The partner CPO's country code (ISO 3166-1 alpha-2).
    pub country_code: String,
    /// Its OCPI party id.
    pub party_id: String,
    /// Its business name.
    pub name: String,
}

/// A site with its EVSEs; photos and nearby places on the detail view.
#[derive(Debug, Clone, Serialize, ToSchema)]
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
    /// A roaming partner's location: whose it is; null for the platform's own.
    pub partner: Option<PartnerOperator>,
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

/// Where a site's or EVSE's latest revision is.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RevisionStatusView {
    /// Its id.
    pub id: String,
    /// Grows with every edit of the listing's revisions; an admin approves
    /// the version they reviewed.
    pub version: i64,
    /// OPEN, APPROVED, REJECTED or WITHDRAWN.
    #[schema(value_type = String)]
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

/// A revision in the admin's queue, with the live values it would replace.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RevisionView {
    /// Its id.
    pub id: String,
    /// SITE or EVSE.
    pub kind: String,
    /// The site (an EVSE revision's too).
    pub site_id: String,
    /// The EVSE, for an EVSE revision.
    pub evse_id: Option<String>,
    /// The site's host.
    pub host_id: String,
    /// The site's (approved) name, to tell queue entries apart.
    pub site_name: String,
    /// The version to approve.
    pub version: i64,
    /// OPEN, APPROVED, REJECTED or WITHDRAWN.
    #[schema(value_type = String)]
    pub state: RevisionState,
    /// Why it was rejected.
    pub reason: Option<String>,
    /// The proposed values of the fields that change.
    #[schema(value_type = Object)]
    pub changes: Value,
    /// The live (approved) values of the same fields.
    #[schema(value_type = Object)]
    pub current: Value,
    /// When first proposed.
    pub created_at: DateTime<Utc>,
    /// Last edit or decision.
    pub updated_at: DateTime<Utc>,
    /// When approved, rejected or withdrawn.
    pub decided_at: Option<DateTime<Utc>>,
}

/// One problem in a file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct RowError {
    /// Line number in the file (the header is line 1).
    pub row: u64,
    /// The column at fault, when there is one.
    pub column: Option<String>,
    /// Stable, snake_case: `missing_column`, `unknown_column`,
    /// `duplicate_column`, `empty_file`, `no_rows`, `malformed_row`,
    /// `file_too_large`, `too_many_rows`, `required`, `invalid_number`,
    /// `invalid_field` (the REST API's rules), `site_mismatch`,
    /// `duplicate_evse_code`, `duplicate_charge_point_connector`,
    /// `too_many_evses`, `evse_code_taken`, `charge_point_connector_taken`.
    pub code: String,
    /// For people.
    pub message: String,
}

/// The problems of a file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct Report {
    /// The first [`MAX_REPORTED_ERRORS`] problems, in file order.
    pub errors: Vec<RowError>,
    /// How many problems were found in all.
    pub error_count: usize,
}
