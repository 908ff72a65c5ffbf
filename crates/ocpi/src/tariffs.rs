//! The tariffs module's objects: what a session costs, per kWh, per hour
//! of charging, per hour of parking, flat.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::validate::{ci_string, country_code, each, party_id, Invalid, Validate};

/// A tariff.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tariff {
    /// The owning CPO's country code.
    pub country_code: String,
    /// The owning CPO's party id.
    pub party_id: String,
    /// Unique within the CPO.
    pub id: String,
    /// ISO 4217.
    pub currency: String,
    /// AD_HOC_PAYMENT, PROFILE_CHEAP, PROFILE_FAST, PROFILE_GREEN, REGULAR.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub tariff_type: Option<String>,
    /// Text for drivers (DisplayText list, kept as sent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tariff_alt_text: Option<serde_json::Value>,
    /// Its elements, at least one.
    pub elements: Vec<TariffElement>,
    /// Last change.
    #[serde(with = "crate::time")]
    pub last_updated: DateTime<Utc>,
}

/// Price components under optional restrictions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TariffElement {
    /// At least one.
    pub price_components: Vec<PriceComponent>,
    /// When they apply (kept as sent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restrictions: Option<serde_json::Value>,
}

/// One price.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PriceComponent {
    /// ENERGY (per kWh), FLAT, PARKING_TIME (per hour), TIME (per hour).
    #[serde(rename = "type")]
    pub dimension: String,
    /// Excluding VAT, in the currency's major unit.
    pub price: f64,
    /// VAT percentage, when it applies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vat: Option<f64>,
    /// Billed in steps of this many Wh or seconds.
    pub step_size: i64,
}

/// OCPI 2.2.1 TariffDimensionType.
pub const DIMENSIONS: &[&str] = &["ENERGY", "FLAT", "PARKING_TIME", "TIME"];
/// OCPI 2.2.1 TariffType.
pub const TARIFF_TYPES: &[&str] = &[
    "AD_HOC_PAYMENT",
    "PROFILE_CHEAP",
    "PROFILE_FAST",
    "PROFILE_GREEN",
    "REGULAR",
];

impl Validate for PriceComponent {
    fn validate(&self) -> Result<(), Invalid> {
        if !DIMENSIONS.contains(&self.dimension.as_str()) {
            return Err(Invalid::new(
                "type",
                "must be ENERGY, FLAT, PARKING_TIME or TIME",
            ));
        }
        if !self.price.is_finite() || self.price < 0.0 {
            return Err(Invalid::new("price", "must be a non-negative number"));
        }
        if self.step_size < 1 {
            return Err(Invalid::new("step_size", "must be at least 1"));
        }
        Ok(())
    }
}

impl Validate for TariffElement {
    fn validate(&self) -> Result<(), Invalid> {
        if self.price_components.is_empty() {
            return Err(Invalid::new("price_components", "must hold at least one"));
        }
        each("price_components", &self.price_components)
    }
}

impl Validate for Tariff {
    fn validate(&self) -> Result<(), Invalid> {
        country_code("country_code", &self.country_code)?;
        party_id("party_id", &self.party_id)?;
        ci_string("id", &self.id, 36)?;
        if !(self.currency.len() == 3 && self.currency.bytes().all(|b| b.is_ascii_uppercase())) {
            return Err(Invalid::new("currency", "must be an ISO 4217 code"));
        }
        if let Some(kind) = &self.tariff_type {
            if !TARIFF_TYPES.contains(&kind.as_str()) {
                return Err(Invalid::new(
                    "type",
                    "is not one of OCPI 2.2.1's tariff types",
                ));
            }
        }
        if self.elements.is_empty() {
            return Err(Invalid::new("elements", "must hold at least one"));
        }
        each("elements", &self.elements)
    }
}
