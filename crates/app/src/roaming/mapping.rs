//! Between Plugway's network and OCPI's objects. Plugway's code lists come
//! from seed 003 and mostly are OCPI's; where they are not (connector
//! standards, a few facilities and capabilities), the tables here say how
//! one reads as the other, and docs/ocpi.md repeats them.

use plugway_domain::{Capability, ConnectorStandard, EvseStatus, Facility, PowerType};

/// An OCPI ConnectorType for one of ours (GB/T by its current).
pub fn connector_type(standard: ConnectorStandard, power: PowerType) -> &'static str {
    match standard {
        ConnectorStandard::Type1 => "IEC_62196_T1",
        ConnectorStandard::Type2 => "IEC_62196_T2",
        ConnectorStandard::Chademo => "CHADEMO",
        ConnectorStandard::Gbt if power == PowerType::Dc => "GBT_DC",
        ConnectorStandard::Gbt => "GBT_AC",
        ConnectorStandard::Ccs1 => "IEC_62196_T1_COMBO",
        ConnectorStandard::Ccs2 => "IEC_62196_T2_COMBO",
        ConnectorStandard::Tesla => "TESLA_S",
        // Seed 003's "domestic socket" names no standard; type F (Schuko)
        // is the common one where Plugway's first sites are.
        ConnectorStandard::Domestic => "DOMESTIC_F",
    }
}

/// Ours for an OCPI ConnectorType; `None` for ones no driver's car plugs
/// into (pantographs).
pub fn connector_standard(ocpi: &str) -> Option<ConnectorStandard> {
    Some(match ocpi {
        "IEC_62196_T1" => ConnectorStandard::Type1,
        "IEC_62196_T2" => ConnectorStandard::Type2,
        // ChaoJi is CHAdeMO's successor and takes CHAdeMO cars by adapter.
        "CHADEMO" | "CHAOJI" => ConnectorStandard::Chademo,
        "GBT_AC" | "GBT_DC" => ConnectorStandard::Gbt,
        "IEC_62196_T1_COMBO" => ConnectorStandard::Ccs1,
        "IEC_62196_T2_COMBO" => ConnectorStandard::Ccs2,
        "TESLA_R" | "TESLA_S" => ConnectorStandard::Tesla,
        "PANTOGRAPH_BOTTOM_UP" | "PANTOGRAPH_TOP_DOWN" => return None,
        // Domestic, industrial (IEC 60309), NEMA and type 3 sockets: a
        // socket outlet, which is what "domestic" means to a driver here.
        _ => ConnectorStandard::Domestic,
    })
}

/// An OCPI PowerType for ours (a bare "AC" is single-phase).
pub fn power_type(power: PowerType) -> &'static str {
    match power {
        PowerType::Ac | PowerType::Ac1Phase => "AC_1_PHASE",
        PowerType::Ac2Phase => "AC_2_PHASE",
        PowerType::Ac2PhaseSplit => "AC_2_PHASE_SPLIT",
        PowerType::Ac3Phase => "AC_3_PHASE",
        PowerType::Dc => "DC",
    }
}

/// Ours for an OCPI PowerType (the lists are the same but for "AC").
pub fn power(ocpi: &str) -> PowerType {
    PowerType::from_code(ocpi).unwrap_or(PowerType::Ac)
}

/// OCPI facilities for ours; those OCPI has no word for are left out.
pub fn facilities(ours: &[Facility]) -> Vec<String> {
    let mut out: Vec<String> = ours
        .iter()
        .filter_map(|f| match f {
            Facility::Cafe => Some("CAFE"),
            Facility::Hotel => Some("HOTEL"),
            Facility::Mall => Some("MALL"),
            Facility::ParkingLot => Some("PARKING_LOT"),
            Facility::Restaurants => Some("RESTAURANT"),
            Facility::Wifi => Some("WIFI"),
            Facility::GasStation => Some("FUEL_STATION"),
            Facility::Groceries => Some("SUPERMARKET"),
            _ => None,
        })
        .map(str::to_owned)
        .collect();
    out.dedup();
    out
}

/// Ours for OCPI facilities; those we have no word for are left out.
pub fn our_facilities(ocpi: &[String]) -> Vec<Facility> {
    let mut out: Vec<Facility> = ocpi
        .iter()
        .filter_map(|f| match f.as_str() {
            "CAFE" => Some(Facility::Cafe),
            "HOTEL" => Some(Facility::Hotel),
            "MALL" => Some(Facility::Mall),
            "PARKING_LOT" => Some(Facility::ParkingLot),
            "RESTAURANT" => Some(Facility::Restaurants),
            "WIFI" => Some(Facility::Wifi),
            "FUEL_STATION" => Some(Facility::GasStation),
            "SUPERMARKET" => Some(Facility::Groceries),
            _ => None,
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

/// OCPI capabilities of an EVSE: its card payment, and remote start, stop
/// and unlock when it is an OCPP charger of ours.
pub fn capabilities(ours: &[Capability], linked_to_ocpp: bool) -> Vec<String> {
    let mut out = Vec::new();
    if ours.contains(&Capability::CreditDebitPayable) {
        out.extend(["CREDIT_CARD_PAYABLE", "DEBIT_CARD_PAYABLE"]);
    }
    if linked_to_ocpp {
        out.extend(["REMOTE_START_STOP_CAPABLE", "UNLOCK_CAPABLE"]);
    }
    out.into_iter().map(str::to_owned).collect()
}

/// Ours for OCPI capabilities.
pub fn our_capabilities(ocpi: &[String]) -> Vec<Capability> {
    if ocpi
        .iter()
        .any(|c| c == "CREDIT_CARD_PAYABLE" || c == "DEBIT_CARD_PAYABLE")
    {
        vec![Capability::CreditDebitPayable]
    } else {
        Vec::new()
    }
}

/// The OCPI Status word (our status enum is OCPI's).
pub fn status(status: EvseStatus) -> &'static str {
    match status {
        EvseStatus::Available => "AVAILABLE",
        EvseStatus::Blocked => "BLOCKED",
        EvseStatus::Charging => "CHARGING",
        EvseStatus::Inoperative => "INOPERATIVE",
        EvseStatus::Outoforder => "OUTOFORDER",
        EvseStatus::Planned => "PLANNED",
        EvseStatus::Removed => "REMOVED",
        EvseStatus::Reserved => "RESERVED",
        EvseStatus::Unknown => "UNKNOWN",
    }
}

/// Ours for an OCPI Status word (checked before it gets here).
pub fn our_status(ocpi: &str) -> EvseStatus {
    EvseStatus::ALL
        .iter()
        .copied()
        .find(|s| status(*s) == ocpi)
        .unwrap_or(EvseStatus::Unknown)
}

/// ISO 3166-1 alpha-3 for alpha-2 (OCPI's `country` is alpha-3).
pub fn alpha3(alpha2: &str) -> Option<&'static str> {
    isocountry::CountryCode::for_alpha2(alpha2)
        .ok()
        .map(|c| c.alpha3())
}

/// ISO 3166-1 alpha-2 for alpha-3.
pub fn alpha2(alpha3: &str) -> Option<&'static str> {
    isocountry::CountryCode::for_alpha3(alpha3)
        .ok()
        .map(|c| c.alpha2())
}

/// Where a site is, in the fields and lengths OCPI's Location and
/// CdrLocation share.
#[derive(Debug, Clone)]
pub struct Place {
    /// `name` (255).
    pub name: String,
    /// `address` (45).
    pub address: String,
    /// `city` (45).
    pub city: String,
    /// `postal_code` (10).
    pub postal_code: Option<String>,
    /// `state` (20), left out when empty.
    pub state: Option<String>,
    /// ISO 3166-1 alpha-3 (`ZZZ` when the code has none).
    pub country: String,
    /// The point, 6 decimals.
    pub coordinates: plugway_ocpi::GeoLocation,
}

/// A site's place as OCPI writes it.
pub fn place(f: &plugway_store::SiteFields) -> Place {
    Place {
        name: fit(&f.name, 255),
        address: fit(&f.address, 45),
        city: fit(&f.city, 45),
        postal_code: f.postal_code.as_deref().map(|p| fit(p, 10)),
        state: Some(fit(&f.province, 20)).filter(|s| !s.is_empty()),
        country: alpha3(&f.country_code).unwrap_or("ZZZ").to_owned(),
        coordinates: plugway_ocpi::GeoLocation {
            latitude: coordinate(f.coordinates.lat),
            longitude: coordinate(f.coordinates.lng),
        },
    }
}

/// Cuts text to OCPI's length for a field (in characters).
pub fn fit(text: &str, max: usize) -> String {
    text.chars().take(max).collect()
}

/// A coordinate as OCPI writes it: 6 decimals.
pub fn coordinate(degrees: f64) -> String {
    format!("{degrees:.6}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_standard_goes_out_and_comes_back() {
        for standard in ConnectorStandard::ALL {
            for power in [PowerType::Ac, PowerType::Dc] {
                let ocpi = connector_type(*standard, power);
                assert!(plugway_ocpi::locations::CONNECTOR_TYPES.contains(&ocpi));
                assert_eq!(connector_standard(ocpi), Some(*standard), "{ocpi}");
            }
        }
        assert_eq!(connector_standard("PANTOGRAPH_TOP_DOWN"), None);
    }

    #[test]
    fn statuses_powers_and_countries_map_both_ways() {
        for s in EvseStatus::ALL {
            assert_eq!(our_status(status(*s)), *s);
            assert!(plugway_ocpi::locations::STATUSES.contains(&status(*s)));
        }
        for p in PowerType::ALL {
            assert!(plugway_ocpi::locations::POWER_TYPES.contains(&power_type(*p)));
        }
        assert_eq!(alpha3("MN"), Some("MNG"));
        assert_eq!(alpha2("NLD"), Some("NL"));
        assert_eq!(alpha3("XX"), None);
    }

    #[test]
    fn facilities_keep_what_both_lists_know() {
        let ours = [Facility::Cafe, Facility::Pool, Facility::Restaurants];
        let ocpi = facilities(&ours);
        assert_eq!(ocpi, ["CAFE", "RESTAURANT"]);
        assert_eq!(
            our_facilities(&ocpi),
            [Facility::Cafe, Facility::Restaurants]
        );
        for f in Facility::ALL {
            for word in facilities(&[*f]) {
                assert!(plugway_ocpi::locations::FACILITIES.contains(&word.as_str()));
            }
        }
    }
}
