//! A driver's vehicle (seed 000's "Vehicle"): what it is, which connector
//! standards it can charge from, and how much it holds and takes.
//!
//! [`VehicleSpec::new`] is the only way to build one, so a stored or
//! handled spec always holds the rules below.

use crate::network::clean_text;
use crate::{ConnectorStandard, ValidationError};

/// The most vehicles one driver may keep.
pub const MAX_VEHICLES_PER_USER: i64 = 20;
/// Longest make (manufacturer) or model, in characters.
pub const MAX_NAME_CHARS: usize = 60;
/// Longest vehicle type, in characters. The type is free text (seed 000
/// sends whatever the app's user typed); apps are encouraged to send one of
/// [`SUGGESTED_TYPES`].
pub const MAX_TYPE_CHARS: usize = 40;
/// Types apps may offer in a picker; any other short text is accepted too.
pub const SUGGESTED_TYPES: &[&str] = &["car", "van", "suv", "truck", "bus", "motorbike", "scooter"];
/// Largest battery accepted, Wh (2 MWh: more than any road vehicle sold).
pub const MAX_BATTERY_WH: i64 = 2_000_000;
/// Largest AC charging power accepted, W (AC tops out at 43 kW in practice;
/// this leaves room for megawatt AC prototypes without accepting nonsense).
pub const MAX_AC_POWER_W: i64 = 1_000_000;
/// Largest DC charging power accepted, W (megawatt charging for trucks).
pub const MAX_DC_POWER_W: i64 = 4_000_000;
/// Longest licence plate, in characters (after trimming).
pub const MAX_PLATE_CHARS: usize = 16;

/// What a vehicle is and how it charges.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VehicleSpec {
    make: String,
    model: String,
    vehicle_type: String,
    standards: Vec<ConnectorStandard>,
    battery_wh: i64,
    max_ac_w: Option<i64>,
    max_dc_w: Option<i64>,
    licence_plate: Option<String>,
}

/// The raw parts of a [`VehicleSpec`], as a client sent them.
#[derive(Debug, Clone, Default)]
pub struct VehicleParts {
    /// Manufacturer.
    pub make: String,
    /// Model.
    pub model: String,
    /// Type: free text, e.g. "car".
    pub vehicle_type: String,
    /// Connector standard codes (`TYPE_2`, `CCS2`, ...); at least one.
    pub standards: Vec<String>,
    /// Usable battery capacity, Wh.
    pub battery_wh: i64,
    /// Most AC power it takes, W.
    pub max_ac_w: Option<i64>,
    /// Most DC power it takes, W.
    pub max_dc_w: Option<i64>,
    /// Licence plate.
    pub licence_plate: Option<String>,
}

fn power(
    field: &'static str,
    value: Option<i64>,
    max: i64,
) -> Result<Option<i64>, ValidationError> {
    match value {
        Some(w) if !(1..=max).contains(&w) => Err(ValidationError::new(
            field,
            format!("must be a whole number of watts from 1 to {max}"),
        )),
        other => Ok(other),
    }
}

impl VehicleSpec {
    /// Checks and normalises a client's parts: names trimmed and not empty,
    /// at least one known connector standard (duplicates dropped, list
    /// order), a positive battery, powers in range, and a licence plate of
    /// letters, digits, spaces and hyphens (upper-cased; empty means none).
    pub fn new(parts: VehicleParts) -> Result<Self, ValidationError> {
        let make = clean_text("make", &parts.make, MAX_NAME_CHARS, false)?;
        let model = clean_text("model", &parts.model, MAX_NAME_CHARS, false)?;
        let vehicle_type = clean_text("vehicle_type", &parts.vehicle_type, MAX_TYPE_CHARS, false)?;
        let standards = ConnectorStandard::parse_list("connector_standards", &parts.standards)?;
        if standards.is_empty() {
            return Err(ValidationError::new(
                "connector_standards",
                format!(
                    "give at least one of {}",
                    ConnectorStandard::CODES.join(", ")
                ),
            ));
        }
        if !(1..=MAX_BATTERY_WH).contains(&parts.battery_wh) {
            return Err(ValidationError::new(
                "battery_capacity_wh",
                format!("must be a whole number of watt-hours from 1 to {MAX_BATTERY_WH}"),
            ));
        }
        let max_ac_w = power("max_ac_power_w", parts.max_ac_w, MAX_AC_POWER_W)?;
        let max_dc_w = power("max_dc_power_w", parts.max_dc_w, MAX_DC_POWER_W)?;
        let licence_plate = match parts.licence_plate {
            None => None,
            Some(text) => {
                let plate = clean_text("licence_plate", &text, MAX_PLATE_CHARS, true)?;
                if !plate
                    .chars()
                    .all(|c| c.is_alphanumeric() || c == ' ' || c == '-')
                {
                    return Err(ValidationError::new(
                        "licence_plate",
                        "may hold only letters, digits, spaces and hyphens",
                    ));
                }
                (!plate.is_empty()).then(|| plate.to_uppercase())
            }
        };
        Ok(Self {
            make,
            model,
            vehicle_type,
            standards,
            battery_wh: parts.battery_wh,
            max_ac_w,
            max_dc_w,
            licence_plate,
        })
    }

    /// The spec's parts again (to change some and check them anew).
    pub fn to_parts(&self) -> VehicleParts {
        VehicleParts {
            make: self.make.clone(),
            model: self.model.clone(),
            vehicle_type: self.vehicle_type.clone(),
            standards: self.standards.iter().map(|s| s.code().to_owned()).collect(),
            battery_wh: self.battery_wh,
            max_ac_w: self.max_ac_w,
            max_dc_w: self.max_dc_w,
            licence_plate: self.licence_plate.clone(),
        }
    }

    /// Manufacturer.
    pub fn make(&self) -> &str {
        &self.make
    }

    /// Model.
    pub fn model(&self) -> &str {
        &self.model
    }

    /// Type (free text).
    pub fn vehicle_type(&self) -> &str {
        &self.vehicle_type
    }

    /// The connector standards it charges from, in list order, never empty.
    pub fn standards(&self) -> &[ConnectorStandard] {
        &self.standards
    }

    /// [`Self::standards`] as a mask (the form sites are searched by).
    pub fn standards_mask(&self) -> i64 {
        ConnectorStandard::mask(&self.standards)
    }

    /// Usable battery capacity, Wh.
    pub fn battery_wh(&self) -> i64 {
        self.battery_wh
    }

    /// Most AC power it takes, W.
    pub fn max_ac_w(&self) -> Option<i64> {
        self.max_ac_w
    }

    /// Most DC power it takes, W.
    pub fn max_dc_w(&self) -> Option<i64> {
        self.max_dc_w
    }

    /// Licence plate, upper case.
    pub fn licence_plate(&self) -> Option<&str> {
        self.licence_plate.as_deref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts() -> VehicleParts {
        VehicleParts {
            make: " Nissan ".into(),
            model: "Leaf".into(),
            vehicle_type: "car".into(),
            standards: vec!["chademo".into(), "TYPE_1".into(), "Type_1".into()],
            battery_wh: 40_000,
            max_ac_w: Some(6_600),
            max_dc_w: Some(50_000),
            licence_plate: Some(" 1234 uba ".into()),
        }
    }

    #[test]
    fn a_good_spec_is_normalised() {
        let spec = VehicleSpec::new(parts()).unwrap();
        assert_eq!(spec.make(), "Nissan");
        assert_eq!(
            spec.standards(),
            [ConnectorStandard::Type1, ConnectorStandard::Chademo]
        );
        assert_eq!(spec.standards_mask(), 1 | 4);
        assert_eq!(spec.licence_plate(), Some("1234 UBA"));
        assert_eq!(VehicleSpec::new(spec.to_parts()).unwrap(), spec);
    }

    #[test]
    fn bad_parts_name_their_field() {
        type Change = Box<dyn Fn(&mut VehicleParts)>;
        let cases: Vec<(&str, Change)> = vec![
            ("make", Box::new(|p| p.make = "  ".into())),
            ("model", Box::new(|p| p.model = "x".repeat(61))),
            ("vehicle_type", Box::new(|p| p.vehicle_type = "a\nb".into())),
            ("connector_standards", Box::new(|p| p.standards.clear())),
            (
                "connector_standards",
                Box::new(|p| p.standards = vec!["HDMI".into()]),
            ),
            ("battery_capacity_wh", Box::new(|p| p.battery_wh = 0)),
            (
                "battery_capacity_wh",
                Box::new(|p| p.battery_wh = MAX_BATTERY_WH + 1),
            ),
            ("max_ac_power_w", Box::new(|p| p.max_ac_w = Some(-5))),
            (
                "max_dc_power_w",
                Box::new(|p| p.max_dc_w = Some(MAX_DC_POWER_W + 1)),
            ),
            (
                "licence_plate",
                Box::new(|p| p.licence_plate = Some("AB<script>".into())),
            ),
            (
                "licence_plate",
                Box::new(|p| p.licence_plate = Some("X".repeat(17))),
            ),
        ];
        for (field, change) in cases {
            let mut p = parts();
            change(&mut p);
            assert_eq!(VehicleSpec::new(p).unwrap_err().field, field);
        }
    }

    #[test]
    fn optional_parts_may_be_left_out() {
        let mut p = parts();
        p.max_ac_w = None;
        p.max_dc_w = None;
        p.licence_plate = Some("   ".into());
        let spec = VehicleSpec::new(p).unwrap();
        assert_eq!(spec.licence_plate(), None);
        assert_eq!(spec.max_dc_w(), None);
    }
}
