//! Known meter deviations of charger models, corrected where the charger's
//! words come in (the OCPP face) instead of refusing or mis-billing them.
//!
//! A profile names a vendor and model as the charger gives them at boot
//! (1.6 `chargePointVendor`/`chargePointModel`, 2.0.1
//! `chargingStation.vendorName`/`model`; compared without case, `*` for
//! every model of a vendor) and the deviations it has:
//! - `energy_in_kwh`: its energy registers (and 1.6's `meterStart`/
//!   `meterStop`) are in kWh although they say Wh or say nothing, so 12.5
//!   means 12,500 Wh. Without the profile such a session bills a thousandth
//!   of its energy.
//! - `measurand_aliases`: measurands it sends under a wrong name, e.g.
//!   `{"Energy.Active.Import.Interval" = "Energy.Active.Import.Register"}`
//!   for a meter that labels its register as an interval.
//! - `extra_fields`: names of properties its firmware adds to messages
//!   outside the schema (e.g. `vendorSerial`); they are dropped wherever
//!   they appear in a message before it is checked, instead of the whole
//!   message being refused with a CALLERROR.
//!
//! The raw frames stay in the message log as received; what is stored as
//! meter values and billed is the corrected reading.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::ValidationError;

/// A charger model's known meter deviations.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MeterQuirks {
    /// The vendor, as the charger gives it at boot.
    pub vendor: String,
    /// The model, as the charger gives it at boot; `*` for every model.
    pub model: String,
    /// Energy registers in kWh whatever unit they say.
    #[serde(default)]
    pub energy_in_kwh: bool,
    /// Measurands sent under a wrong name: sent → meant.
    #[serde(default)]
    pub measurand_aliases: BTreeMap<String, String>,
    /// Properties it adds outside the schema, dropped wherever they appear.
    #[serde(default)]
    pub extra_fields: Vec<String>,
}

/// What a correction changed, for the counters (`quirk` label).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Correction {
    /// A measurand renamed.
    MeasurandAlias,
    /// An energy value taken as kWh.
    EnergyInKwh,
}

impl Correction {
    /// As counted.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::MeasurandAlias => "measurand_alias",
            Self::EnergyInKwh => "energy_in_kwh",
        }
    }
}

/// OCPP's measurands (1.6 and 2.0.1 share these names).
const MEASURANDS: &[&str] = &[
    "Current.Export",
    "Current.Import",
    "Current.Offered",
    "Energy.Active.Export.Register",
    "Energy.Active.Import.Register",
    "Energy.Reactive.Export.Register",
    "Energy.Reactive.Import.Register",
    "Energy.Active.Export.Interval",
    "Energy.Active.Import.Interval",
    "Energy.Active.Net",
    "Energy.Reactive.Export.Interval",
    "Energy.Reactive.Import.Interval",
    "Energy.Reactive.Net",
    "Energy.Apparent.Net",
    "Energy.Apparent.Import",
    "Energy.Apparent.Export",
    "Frequency",
    "Power.Active.Export",
    "Power.Active.Import",
    "Power.Factor",
    "Power.Offered",
    "Power.Reactive.Export",
    "Power.Reactive.Import",
    "RPM",
    "SoC",
    "Temperature",
    "Voltage",
];

impl MeterQuirks {
    /// Whether this profile is for a charger that booted as `vendor` and
    /// `model`.
    pub fn matches(&self, vendor: &str, model: &str) -> bool {
        self.vendor.trim().eq_ignore_ascii_case(vendor.trim())
            && (self.model.trim() == "*" || self.model.trim().eq_ignore_ascii_case(model.trim()))
    }

    /// Checks a profile as configured.
    pub fn validate(&self) -> Result<(), ValidationError> {
        if self.vendor.trim().is_empty() {
            return Err(ValidationError::new("vendor", "is required"));
        }
        if self.model.trim().is_empty() {
            return Err(ValidationError::new(
                "model",
                "is required (`*` for every model of the vendor)",
            ));
        }
        if self.extra_fields.iter().any(|f| f.trim().is_empty()) {
            return Err(ValidationError::new(
                "extra_fields",
                "names an empty property",
            ));
        }
        for (sent, meant) in &self.measurand_aliases {
            if sent.trim().is_empty() {
                return Err(ValidationError::new(
                    "measurand_aliases",
                    "names an empty measurand",
                ));
            }
            if !MEASURANDS.contains(&meant.as_str()) {
                return Err(ValidationError::new(
                    "measurand_aliases",
                    format!("`{meant}` is not an OCPP measurand"),
                ));
            }
        }
        Ok(())
    }

    /// Corrects one sampled value in place; what it changed.
    pub fn correct(
        &self,
        measurand: &mut Option<String>,
        unit: &mut Option<String>,
        value: &mut String,
    ) -> Vec<Correction> {
        let mut done = Vec::new();
        if let Some(meant) = measurand
            .as_deref()
            .and_then(|m| self.measurand_aliases.get(m))
        {
            *measurand = Some(meant.clone());
            done.push(Correction::MeasurandAlias);
        }
        // OCPP's default measurand is the import register.
        let energy = measurand
            .as_deref()
            .is_none_or(|m| m.starts_with("Energy."));
        let says_wh = unit.as_deref().is_none_or(|u| u == "Wh");
        if self.energy_in_kwh && energy && says_wh {
            if let Some(wh) = value
                .trim()
                .parse::<f64>()
                .ok()
                .map(|kwh| kwh * 1000.0)
                .filter(|wh| wh.is_finite())
            {
                *value = format_wh(wh);
                *unit = Some("Wh".to_owned());
                done.push(Correction::EnergyInKwh);
            }
        }
        done
    }

    /// A transaction's start or stop register (1.6's integer Wh) as meant.
    pub fn correct_register_wh(&self, wh: i64) -> i64 {
        if self.energy_in_kwh {
            wh.saturating_mul(1000)
        } else {
            wh
        }
    }
}

/// The profile for a charger that booted as `vendor` and `model`: one for
/// that model before one for every model of the vendor.
pub fn find<'a>(profiles: &'a [MeterQuirks], vendor: &str, model: &str) -> Option<&'a MeterQuirks> {
    profiles
        .iter()
        .find(|p| p.model.trim() != "*" && p.matches(vendor, model))
        .or_else(|| profiles.iter().find(|p| p.matches(vendor, model)))
}

/// Watt-hours as a decimal without an exponent (at most 3 decimals).
fn format_wh(wh: f64) -> String {
    let rounded = (wh * 1000.0).round() / 1000.0;
    if rounded.fract() == 0.0 && rounded.abs() < 9.0e15 {
        format!("{}", rounded as i64)
    } else {
        format!("{rounded:.3}")
            .trim_end_matches('0')
            .trim_end_matches('.')
            .to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kwh_model() -> MeterQuirks {
        MeterQuirks {
            vendor: "Acme".into(),
            model: "AC22".into(),
            energy_in_kwh: true,
            measurand_aliases: BTreeMap::from([(
                "Energy.Active.Import.Interval".to_owned(),
                "Energy.Active.Import.Register".to_owned(),
            )]),
            extra_fields: Vec::new(),
        }
    }

    #[test]
    fn a_kwh_register_labelled_wh_is_read_as_kwh() {
        let q = kwh_model();
        let (mut m, mut u, mut v) = (None, Some("Wh".to_owned()), "12.5".to_owned());
        assert_eq!(q.correct(&mut m, &mut u, &mut v), [Correction::EnergyInKwh]);
        assert_eq!((m, u.as_deref(), v.as_str()), (None, Some("Wh"), "12500"));
        // No unit: the same. A fraction of a Wh is kept to 3 decimals.
        let (mut m, mut u, mut v) = (None, None, "0.0012345".to_owned());
        q.correct(&mut m, &mut u, &mut v);
        assert_eq!(v, "1.235");
        // Said kWh: already right. Power: not an energy.
        let (mut m, mut u, mut v) = (None, Some("kWh".to_owned()), "12.5".to_owned());
        assert!(q.correct(&mut m, &mut u, &mut v).is_empty());
        assert_eq!(v, "12.5");
        let mut m = Some("Power.Active.Import".to_owned());
        let (mut u, mut v) = (Some("W".to_owned()), "7000".to_owned());
        assert!(q.correct(&mut m, &mut u, &mut v).is_empty());
        // Not a number: left for the reader to refuse.
        let (mut m, mut u, mut v) = (None, None, "n/a".to_owned());
        assert!(q.correct(&mut m, &mut u, &mut v).is_empty());
        assert_eq!(q.correct_register_wh(7), 7_000);
        assert_eq!(q.correct_register_wh(i64::MAX), i64::MAX);
    }

    #[test]
    fn a_mislabelled_measurand_is_renamed_then_corrected() {
        let q = kwh_model();
        let mut m = Some("Energy.Active.Import.Interval".to_owned());
        let (mut u, mut v) = (Some("Wh".to_owned()), "3".to_owned());
        assert_eq!(
            q.correct(&mut m, &mut u, &mut v),
            [Correction::MeasurandAlias, Correction::EnergyInKwh]
        );
        assert_eq!(m.as_deref(), Some("Energy.Active.Import.Register"));
        assert_eq!(v, "3000");
    }

    #[test]
    fn profiles_match_by_vendor_and_model_the_exact_one_first() {
        let every = MeterQuirks {
            vendor: "acme".into(),
            model: "*".into(),
            ..MeterQuirks::default()
        };
        let book = [every.clone(), kwh_model()];
        assert_eq!(find(&book, "ACME", "ac22"), Some(&book[1]));
        assert_eq!(find(&book, "Acme", "DC50"), Some(&book[0]));
        assert_eq!(find(&book, "Other", "AC22"), None);
    }

    #[test]
    fn profiles_are_checked() {
        assert!(kwh_model().validate().is_ok());
        let mut bad = kwh_model();
        bad.vendor = " ".into();
        assert_eq!(bad.validate().unwrap_err().field, "vendor");
        let mut bad = kwh_model();
        bad.extra_fields.push(String::new());
        assert_eq!(bad.validate().unwrap_err().field, "extra_fields");
        let mut bad = kwh_model();
        bad.measurand_aliases
            .insert("X".into(), "Energy.Imported".into());
        assert_eq!(bad.validate().unwrap_err().field, "measurand_aliases");
    }
}
