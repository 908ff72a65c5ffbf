//! The locations module's objects: a Location holds EVSEs, an EVSE holds
//! connectors. The code lists are kept as their wire strings and checked
//! against the spec's lists, so an object is passed on exactly as a partner
//! wrote it while nothing outside the lists gets in.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::validate::{
    ci_string, country_code, each, opt_string, party_id, string, Invalid, Validate,
};

/// OCPI 2.2.1 ConnectorType.
pub const CONNECTOR_TYPES: &[&str] = &[
    "CHADEMO",
    "CHAOJI",
    "DOMESTIC_A",
    "DOMESTIC_B",
    "DOMESTIC_C",
    "DOMESTIC_D",
    "DOMESTIC_E",
    "DOMESTIC_F",
    "DOMESTIC_G",
    "DOMESTIC_H",
    "DOMESTIC_I",
    "DOMESTIC_J",
    "DOMESTIC_K",
    "DOMESTIC_L",
    "DOMESTIC_M",
    "DOMESTIC_N",
    "DOMESTIC_O",
    "GBT_AC",
    "GBT_DC",
    "IEC_60309_2_single_16",
    "IEC_60309_2_three_16",
    "IEC_60309_2_three_32",
    "IEC_60309_2_three_64",
    "IEC_62196_T1",
    "IEC_62196_T1_COMBO",
    "IEC_62196_T2",
    "IEC_62196_T2_COMBO",
    "IEC_62196_T3A",
    "IEC_62196_T3C",
    "NEMA_5_20",
    "NEMA_6_30",
    "NEMA_6_50",
    "NEMA_10_30",
    "NEMA_10_50",
    "NEMA_14_30",
    "NEMA_14_50",
    "PANTOGRAPH_BOTTOM_UP",
    "PANTOGRAPH_TOP_DOWN",
    "TESLA_R",
    "TESLA_S",
];
/// OCPI 2.2.1 ConnectorFormat.
pub const CONNECTOR_FORMATS: &[&str] = &["SOCKET", "CABLE"];
/// OCPI 2.2.1 PowerType.
pub const POWER_TYPES: &[&str] = &[
    "AC_1_PHASE",
    "AC_2_PHASE",
    "AC_2_PHASE_SPLIT",
    "AC_3_PHASE",
    "DC",
];
/// OCPI 2.2.1 Status (of an EVSE).
pub const STATUSES: &[&str] = &[
    "AVAILABLE",
    "BLOCKED",
    "CHARGING",
    "INOPERATIVE",
    "OUTOFORDER",
    "PLANNED",
    "REMOVED",
    "RESERVED",
    "UNKNOWN",
];
/// OCPI 2.2.1 Capability.
pub const CAPABILITIES: &[&str] = &[
    "CHARGING_PROFILE_CAPABLE",
    "CHARGING_PREFERENCES_CAPABLE",
    "CHIP_CARD_SUPPORT",
    "CONTACTLESS_CARD_SUPPORT",
    "CREDIT_CARD_PAYABLE",
    "DEBIT_CARD_PAYABLE",
    "PED_TERMINAL",
    "REMOTE_START_STOP_CAPABLE",
    "RESERVABLE",
    "RFID_READER",
    "START_SESSION_CONNECTOR_REQUIRED",
    "TOKEN_GROUP_CAPABLE",
    "UNLOCK_CAPABLE",
];
/// OCPI 2.2.1 Facility.
pub const FACILITIES: &[&str] = &[
    "HOTEL",
    "RESTAURANT",
    "CAFE",
    "MALL",
    "SUPERMARKET",
    "SPORT",
    "RECREATION_AREA",
    "NATURE",
    "MUSEUM",
    "BIKE_SHARING",
    "BUS_STOP",
    "TAXI_STAND",
    "TRAM_STOP",
    "METRO_STATION",
    "TRAIN_STATION",
    "AIRPORT",
    "PARKING_LOT",
    "CARPOOL_PARKING",
    "FUEL_STATION",
    "WIFI",
];
/// OCPI 2.2.1 ParkingType (of a location).
pub const PARKING_TYPES: &[&str] = &[
    "ALONG_MOTORWAY",
    "PARKING_GARAGE",
    "PARKING_LOT",
    "ON_DRIVEWAY",
    "ON_STREET",
    "UNDERGROUND_GARAGE",
];
/// OCPI 2.2.1 ParkingRestriction (of an EVSE).
pub const PARKING_RESTRICTIONS: &[&str] =
    &["EV_ONLY", "PLUGGED", "DISABLED", "CUSTOMERS", "MOTORCYCLES"];

/// A place with one or more EVSEs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Location {
    /// The owning CPO's country code.
    pub country_code: String,
    /// The owning CPO's party id.
    pub party_id: String,
    /// Unique within the CPO.
    pub id: String,
    /// Whether it may be shown to the public.
    pub publish: bool,
    /// Who may see it when it is not published (kept as sent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub publish_allowed_to: Option<serde_json::Value>,
    /// Display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Street and number.
    pub address: String,
    /// City or town.
    pub city: String,
    /// Postal code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postal_code: Option<String>,
    /// State or province.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// ISO 3166-1 alpha-3.
    pub country: String,
    /// Where it is.
    pub coordinates: GeoLocation,
    /// Other points of interest (kept as sent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub related_locations: Option<serde_json::Value>,
    /// The kind of parking.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parking_type: Option<String>,
    /// Its EVSEs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evses: Option<Vec<Evse>>,
    /// How to get there (kept as sent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub directions: Option<serde_json::Value>,
    /// The operator.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operator: Option<crate::BusinessDetails>,
    /// A sub-operator (kept as sent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suboperator: Option<serde_json::Value>,
    /// The owner (kept as sent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<serde_json::Value>,
    /// What is nearby.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub facilities: Option<Vec<String>>,
    /// IANA zone, e.g. "Europe/Oslo".
    pub time_zone: String,
    /// Opening hours (an OCPI Hours object).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub opening_times: Option<serde_json::Value>,
    /// Whether charging goes on when it closes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub charging_when_closed: Option<bool>,
    /// Pictures (kept as sent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub images: Option<serde_json::Value>,
    /// Energy mix (kept as sent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub energy_mix: Option<serde_json::Value>,
    /// Last change of the location or anything in it.
    #[serde(with = "crate::time")]
    pub last_updated: DateTime<Utc>,
}

/// A point on earth, as decimal strings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GeoLocation {
    /// `-?[0-9]{1,2}\.[0-9]{5,7}`.
    pub latitude: String,
    /// `-?[0-9]{1,3}\.[0-9]{5,7}`.
    pub longitude: String,
}

/// One place to charge one vehicle at a time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evse {
    /// Unique within the CPO, never reused.
    pub uid: String,
    /// The eMI3 EVSE id, when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evse_id: Option<String>,
    /// What it is doing.
    pub status: String,
    /// Planned status changes (kept as sent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_schedule: Option<serde_json::Value>,
    /// What it can do.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capabilities: Option<Vec<String>>,
    /// Its connectors, at least one.
    pub connectors: Vec<Connector>,
    /// Floor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub floor_level: Option<String>,
    /// Where it is, when not at the location's point.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub coordinates: Option<GeoLocation>,
    /// The number on it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub physical_reference: Option<String>,
    /// How to find it (kept as sent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub directions: Option<serde_json::Value>,
    /// Who may park there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parking_restrictions: Option<Vec<String>>,
    /// Pictures (kept as sent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub images: Option<serde_json::Value>,
    /// Last change.
    #[serde(with = "crate::time")]
    pub last_updated: DateTime<Utc>,
}

/// One plug or socket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Connector {
    /// Unique within the EVSE.
    pub id: String,
    /// A [`CONNECTOR_TYPES`] item.
    pub standard: String,
    /// A [`CONNECTOR_FORMATS`] item.
    pub format: String,
    /// A [`POWER_TYPES`] item.
    pub power_type: String,
    /// Volts.
    pub max_voltage: i64,
    /// Amperes.
    pub max_amperage: i64,
    /// Watts, when less than volts × amperes says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_electric_power: Option<i64>,
    /// The tariffs that apply.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tariff_ids: Option<Vec<String>>,
    /// Terms and conditions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub terms_and_conditions: Option<String>,
    /// Last change.
    #[serde(with = "crate::time")]
    pub last_updated: DateTime<Utc>,
}

fn one_of(field: &str, value: &str, list: &[&str]) -> Result<(), Invalid> {
    if list.contains(&value) {
        Ok(())
    } else {
        Err(Invalid::new(
            field,
            format!("`{value}` is not one of OCPI 2.2.1's values"),
        ))
    }
}

fn all_of(field: &str, values: Option<&[String]>, list: &[&str]) -> Result<(), Invalid> {
    for (i, value) in values.unwrap_or_default().iter().enumerate() {
        one_of(&format!("{field}[{i}]"), value, list)?;
    }
    Ok(())
}

/// `-?[0-9]{1,int_digits}\.[0-9]{5,7}` within ±`max`.
fn coordinate(field: &str, value: &str, int_digits: usize, max: f64) -> Result<(), Invalid> {
    let bad = || {
        Invalid::new(
            field,
            format!("must be a decimal with 5 to 7 places within ±{max}, e.g. \"52.37420\""),
        )
    };
    let digits = value.strip_prefix('-').unwrap_or(value);
    let (int, frac) = digits.split_once('.').ok_or_else(bad)?;
    let shape_ok = (1..=int_digits).contains(&int.len())
        && (5..=7).contains(&frac.len())
        && int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit());
    let number: f64 = value.parse().map_err(|_| bad())?;
    if !shape_ok || number.abs() > max {
        return Err(bad());
    }
    Ok(())
}

impl GeoLocation {
    /// The point as numbers, after [`Validate::validate`].
    pub fn degrees(&self) -> Option<(f64, f64)> {
        Some((self.latitude.parse().ok()?, self.longitude.parse().ok()?))
    }
}

impl Validate for GeoLocation {
    fn validate(&self) -> Result<(), Invalid> {
        coordinate("latitude", &self.latitude, 2, 90.0)?;
        coordinate("longitude", &self.longitude, 3, 180.0)
    }
}

impl Validate for Connector {
    fn validate(&self) -> Result<(), Invalid> {
        ci_string("id", &self.id, 36)?;
        one_of("standard", &self.standard, CONNECTOR_TYPES)?;
        one_of("format", &self.format, CONNECTOR_FORMATS)?;
        one_of("power_type", &self.power_type, POWER_TYPES)?;
        if !(0..=100_000).contains(&self.max_voltage) {
            return Err(Invalid::new(
                "max_voltage",
                "must be between 0 and 100000 V",
            ));
        }
        if !(0..=100_000).contains(&self.max_amperage) {
            return Err(Invalid::new(
                "max_amperage",
                "must be between 0 and 100000 A",
            ));
        }
        if let Some(power) = self.max_electric_power {
            if !(0..=10_000_000).contains(&power) {
                return Err(Invalid::new(
                    "max_electric_power",
                    "must be between 0 and 10 MW, in W",
                ));
            }
        }
        for (i, id) in self
            .tariff_ids
            .as_deref()
            .unwrap_or_default()
            .iter()
            .enumerate()
        {
            ci_string(&format!("tariff_ids[{i}]"), id, 36)?;
        }
        opt_string(
            "terms_and_conditions",
            self.terms_and_conditions.as_deref(),
            255,
        )
    }
}

impl Connector {
    /// The most power it delivers, in watts: `max_electric_power`, else
    /// volts × amperes (× 3 for three phases, as the spec's note says).
    pub fn power_w(&self) -> i64 {
        self.max_electric_power.unwrap_or_else(|| {
            let phases = if self.power_type == "AC_3_PHASE" {
                3
            } else {
                1
            };
            self.max_voltage
                .saturating_mul(self.max_amperage)
                .saturating_mul(phases)
        })
    }
}

impl Validate for Evse {
    fn validate(&self) -> Result<(), Invalid> {
        ci_string("uid", &self.uid, 36)?;
        if let Some(evse_id) = &self.evse_id {
            ci_string("evse_id", evse_id, 48)?;
        }
        one_of("status", &self.status, STATUSES)?;
        all_of("capabilities", self.capabilities.as_deref(), CAPABILITIES)?;
        if self.connectors.is_empty() {
            return Err(Invalid::new(
                "connectors",
                "an EVSE has at least one connector",
            ));
        }
        each("connectors", &self.connectors)?;
        let mut ids: Vec<&str> = self.connectors.iter().map(|c| c.id.as_str()).collect();
        ids.sort_unstable();
        if ids.windows(2).any(|w| w.first() == w.get(1)) {
            return Err(Invalid::new(
                "connectors",
                "connector ids must be unique within the EVSE",
            ));
        }
        opt_string("floor_level", self.floor_level.as_deref(), 4)?;
        if let Some(point) = &self.coordinates {
            point.validate().map_err(|e| e.within("coordinates"))?;
        }
        opt_string("physical_reference", self.physical_reference.as_deref(), 16)?;
        all_of(
            "parking_restrictions",
            self.parking_restrictions.as_deref(),
            PARKING_RESTRICTIONS,
        )
    }
}

impl Validate for Location {
    fn validate(&self) -> Result<(), Invalid> {
        country_code("country_code", &self.country_code)?;
        party_id("party_id", &self.party_id)?;
        ci_string("id", &self.id, 36)?;
        opt_string("name", self.name.as_deref(), 255)?;
        string("address", &self.address, 45)?;
        string("city", &self.city, 45)?;
        opt_string("postal_code", self.postal_code.as_deref(), 10)?;
        opt_string("state", self.state.as_deref(), 20)?;
        if !(self.country.len() == 3 && self.country.bytes().all(|b| b.is_ascii_uppercase())) {
            return Err(Invalid::new(
                "country",
                "must be three upper-case letters (ISO 3166-1 alpha-3)",
            ));
        }
        self.coordinates
            .validate()
            .map_err(|e| e.within("coordinates"))?;
        if let Some(parking) = &self.parking_type {
            one_of("parking_type", parking, PARKING_TYPES)?;
        }
        if let Some(evses) = &self.evses {
            each("evses", evses)?;
            let mut uids: Vec<&str> = evses.iter().map(|e| e.uid.as_str()).collect();
            uids.sort_unstable();
            if uids.windows(2).any(|w| w.first() == w.get(1)) {
                return Err(Invalid::new(
                    "evses",
                    "EVSE uids must be unique within the location",
                ));
            }
        }
        if let Some(operator) = &self.operator {
            operator.validate().map_err(|e| e.within("operator"))?;
        }
        all_of("facilities", self.facilities.as_deref(), FACILITIES)?;
        string("time_zone", &self.time_zone, 255)?;
        if self.time_zone.is_empty() {
            return Err(Invalid::new(
                "time_zone",
                "must name an IANA zone, e.g. Europe/Oslo",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example Location of the 2.2.1 spec (mod_locations.asciidoc),
    /// trimmed of the parts kept as sent.
    pub(crate) fn spec_example() -> serde_json::Value {
        serde_json::json!({
            "country_code": "BE", "party_id": "BEC", "id": "LOC1", "publish": true,
            "name": "Gent Zuid", "address": "F.Rooseveltlaan 3A", "city": "Gent",
            "postal_code": "9000", "country": "BEL",
            "coordinates": {"latitude": "51.047599", "longitude": "3.729944"},
            "parking_type": "ON_STREET",
            "evses": [{
                "uid": "3256", "evse_id": "BE*BEC*E041503001", "status": "AVAILABLE",
                "capabilities": ["RESERVABLE"],
                "connectors": [{
                    "id": "1", "standard": "IEC_62196_T2", "format": "CABLE",
                    "power_type": "AC_3_PHASE", "max_voltage": 220, "max_amperage": 16,
                    "tariff_ids": ["11"], "last_updated": "2015-03-16T10:10:02Z"
                }],
                "physical_reference": "1", "floor_level": "-1",
                "last_updated": "2015-06-28T08:12:01Z"
            }],
            "operator": {"name": "BeCharged"},
            "time_zone": "Europe/Brussels",
            "last_updated": "2015-06-29T20:39:09Z"
        })
    }

    #[test]
    fn the_spec_example_reads_validates_and_writes_back_unchanged() {
        let location: Location = serde_json::from_value(spec_example()).unwrap();
        location.validate().unwrap();
        assert_eq!(serde_json::to_value(&location).unwrap(), spec_example());
        let evse = &location.evses.as_ref().unwrap()[0];
        assert_eq!(evse.connectors[0].power_w(), 220 * 16 * 3);
    }

    #[test]
    fn each_broken_rule_names_its_field() {
        let cases: &[(&str, serde_json::Value, &str)] = &[
            (
                "/coordinates/latitude",
                serde_json::json!("51.04"),
                "coordinates.latitude",
            ),
            (
                "/coordinates/longitude",
                serde_json::json!("200.000000"),
                "coordinates.longitude",
            ),
            ("/country", serde_json::json!("BE"), "country"),
            (
                "/evses/0/status",
                serde_json::json!("FREE"),
                "evses[0].status",
            ),
            (
                "/evses/0/connectors",
                serde_json::json!([]),
                "evses[0].connectors",
            ),
            (
                "/evses/0/connectors/0/standard",
                serde_json::json!("SCHUKO"),
                "evses[0].connectors[0].standard",
            ),
            ("/address", serde_json::json!("x".repeat(46)), "address"),
            ("/party_id", serde_json::json!("BE"), "party_id"),
        ];
        for (pointer, value, field) in cases {
            let mut body = spec_example();
            *body.pointer_mut(pointer).unwrap() = value.clone();
            let location: Location = serde_json::from_value(body).unwrap();
            assert_eq!(location.validate().unwrap_err().field, *field, "{pointer}");
        }
    }

    #[test]
    fn a_missing_required_field_does_not_read() {
        for field in [
            "address",
            "coordinates",
            "time_zone",
            "last_updated",
            "publish",
        ] {
            let mut body = spec_example();
            body.as_object_mut().unwrap().remove(field);
            assert!(serde_json::from_value::<Location>(body).is_err(), "{field}");
        }
    }
}
