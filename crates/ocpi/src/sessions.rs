//! The sessions and cdrs modules' objects: a charging session as it runs,
//! and the charge detail record that prices it when it ends.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::locations::GeoLocation;
use crate::tariffs::Tariff;

/// A price with and without VAT, in the currency's major unit.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Price {
    /// Without VAT.
    pub excl_vat: f64,
    /// With VAT, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incl_vat: Option<f64>,
}

/// Which token a session or CDR is for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CdrToken {
    /// The eMSP's country code (added by the 2.2.1 d2 errata; older
    /// senders leave it out).
    #[serde(default)]
    pub country_code: String,
    /// The eMSP's party id (likewise).
    #[serde(default)]
    pub party_id: String,
    /// The token's uid.
    pub uid: String,
    /// Its type.
    #[serde(rename = "type")]
    pub token_type: String,
    /// The driver's contract.
    pub contract_id: String,
}

/// One dimension of a charging period.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CdrDimension {
    /// ENERGY (kWh), TIME (h), PARKING_TIME (h), ...
    #[serde(rename = "type")]
    pub dimension: String,
    /// How much.
    pub volume: f64,
}

/// A period of a session under one tariff.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChargingPeriod {
    /// When it began.
    #[serde(with = "crate::time")]
    pub start_date_time: DateTime<Utc>,
    /// What was used.
    pub dimensions: Vec<CdrDimension>,
    /// The tariff that applied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tariff_id: Option<String>,
}

/// A session (2.2.1 Session object).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Session {
    /// The CPO's country code.
    pub country_code: String,
    /// The CPO's party id.
    pub party_id: String,
    /// Its id at the CPO.
    pub id: String,
    /// When it began.
    #[serde(with = "crate::time")]
    pub start_date_time: DateTime<Utc>,
    /// When it ended.
    #[serde(
        default,
        with = "crate::time::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub end_date_time: Option<DateTime<Utc>>,
    /// Energy so far, kWh.
    pub kwh: f64,
    /// Whose token.
    pub cdr_token: CdrToken,
    /// AUTH_REQUEST, COMMAND or WHITELIST.
    pub auth_method: String,
    /// The eMSP's reference of its START_SESSION or authorization.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization_reference: Option<String>,
    /// Where.
    pub location_id: String,
    /// Which EVSE.
    pub evse_uid: String,
    /// Which connector.
    pub connector_id: String,
    /// ISO 4217.
    pub currency: String,
    /// Its periods so far.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub charging_periods: Option<Vec<ChargingPeriod>>,
    /// What it costs so far.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_cost: Option<Price>,
    /// ACTIVE, COMPLETED, INVALID, PENDING, RESERVATION.
    pub status: String,
    /// Last change.
    #[serde(with = "crate::time")]
    pub last_updated: DateTime<Utc>,
}

/// Where a CDR's session was (2.2.1 CdrLocation).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CdrLocation {
    /// The location's id.
    pub id: String,
    /// Its name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Street.
    pub address: String,
    /// City.
    pub city: String,
    /// Postal code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postal_code: Option<String>,
    /// State.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// ISO 3166-1 alpha-3.
    pub country: String,
    /// Where.
    pub coordinates: GeoLocation,
    /// The EVSE's uid.
    pub evse_uid: String,
    /// The EVSE's eMI3 id.
    pub evse_id: String,
    /// The connector's id.
    pub connector_id: String,
    /// Its standard.
    pub connector_standard: String,
    /// Its format.
    pub connector_format: String,
    /// Its power type.
    pub connector_power_type: String,
}

/// A charge detail record (2.2.1 CDR).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cdr {
    /// The CPO's country code.
    pub country_code: String,
    /// The CPO's party id.
    pub party_id: String,
    /// Its id.
    pub id: String,
    /// When the session began.
    #[serde(with = "crate::time")]
    pub start_date_time: DateTime<Utc>,
    /// When it ended.
    #[serde(with = "crate::time")]
    pub end_date_time: DateTime<Utc>,
    /// The session's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    /// Whose token.
    pub cdr_token: CdrToken,
    /// AUTH_REQUEST, COMMAND or WHITELIST.
    pub auth_method: String,
    /// The eMSP's reference.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization_reference: Option<String>,
    /// Where.
    pub cdr_location: CdrLocation,
    /// ISO 4217.
    pub currency: String,
    /// The tariffs it was priced with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tariffs: Option<Vec<Tariff>>,
    /// Its periods, at least one.
    pub charging_periods: Vec<ChargingPeriod>,
    /// What it costs.
    pub total_cost: Price,
    /// kWh.
    pub total_energy: f64,
    /// Of which energy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_energy_cost: Option<Price>,
    /// Hours.
    pub total_time: f64,
    /// Of which time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_time_cost: Option<Price>,
    /// Hours not charging.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_parking_time: Option<f64>,
    /// Of which parking.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_parking_cost: Option<Price>,
    /// Last change.
    #[serde(with = "crate::time")]
    pub last_updated: DateTime<Utc>,
}
