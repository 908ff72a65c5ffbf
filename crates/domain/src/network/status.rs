//! What a connector is doing now, in the three vocabularies we meet: OCPP
//! 1.6 from the charger, OCPI 2.2.1 for roaming and our API, and seed 001's
//! coarse device state.

use serde::{Deserialize, Serialize};

use crate::ValidationError;

/// Seed 001's device state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum DeviceState {
    /// Free to use.
    Idle,
    /// In use or held for someone.
    Busy,
    /// Out of service.
    Repair,
    /// Broken.
    Error,
}

/// OCPI 2.2.1 EVSE status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum EvseStatus {
    /// Free for a new session.
    Available,
    /// Physically blocked (a car parked without charging).
    Blocked,
    /// In use.
    Charging,
    /// Out of service on purpose (maintenance, disabled by the operator).
    Inoperative,
    /// Broken.
    Outoforder,
    /// Not built yet.
    Planned,
    /// Taken away.
    Removed,
    /// Held for a driver.
    Reserved,
    /// No information (the charger is offline).
    Unknown,
}

impl EvseStatus {
    /// Every status, in declaration order.
    pub const ALL: &'static [Self] = &[
        Self::Available,
        Self::Blocked,
        Self::Charging,
        Self::Inoperative,
        Self::Outoforder,
        Self::Planned,
        Self::Removed,
        Self::Reserved,
        Self::Unknown,
    ];

    /// From an OCPP 1.6 ChargePointStatus string ("Available", "Preparing", "Charging", "SuspendedEV", "SuspendedEVSE", "Finishing", "Reserved", "Unavailable", "Faulted") and whether the charge point is connected now. Offline or no status -> Unknown. Preparing/Charging/Suspended*/Finishing -> Charging; Reserved -> Reserved; Unavailable -> Inoperative; Faulted -> Outoforder; unknown string -> Unknown.
    pub fn from_ocpp(status: Option<&str>, connected: bool) -> Self {
        // A status from a charger that has gone away is history, not news.
        if !connected {
            return Self::Unknown;
        }
        match status {
            Some("Available") => Self::Available,
            // A plugged-in car holds the connector from Preparing to
            // Finishing whether or not energy flows.
            Some("Preparing" | "Charging" | "SuspendedEV" | "SuspendedEVSE" | "Finishing") => {
                Self::Charging
            }
            Some("Reserved") => Self::Reserved,
            Some("Unavailable") => Self::Inoperative,
            Some("Faulted") => Self::Outoforder,
            _ => Self::Unknown,
        }
    }

    /// Reads a status code as declared by a host for an EVSE not linked to
    /// OCPP: trimmed, any letter case.
    pub fn parse(field: &'static str, input: &str) -> Result<Self, ValidationError> {
        let input = input.trim();
        Self::ALL
            .iter()
            .copied()
            .find(|status| status.code().eq_ignore_ascii_case(input))
            .ok_or_else(|| {
                let codes: Vec<_> = Self::ALL.iter().map(|s| s.code()).collect();
                ValidationError::new(field, format!("must be one of {}", codes.join(", ")))
            })
    }

    /// The OCPI code, as serialized ("AVAILABLE", "OUTOFORDER", …).
    pub fn code(self) -> &'static str {
        match self {
            Self::Available => "AVAILABLE",
            Self::Blocked => "BLOCKED",
            Self::Charging => "CHARGING",
            Self::Inoperative => "INOPERATIVE",
            Self::Outoforder => "OUTOFORDER",
            Self::Planned => "PLANNED",
            Self::Removed => "REMOVED",
            Self::Reserved => "RESERVED",
            Self::Unknown => "UNKNOWN",
        }
    }

    /// Seed 001's coarser view of the same status.
    pub fn device_state(self) -> DeviceState {
        match self {
            Self::Available => DeviceState::Idle,
            Self::Charging | Self::Reserved | Self::Blocked => DeviceState::Busy,
            Self::Inoperative | Self::Planned | Self::Removed | Self::Unknown => {
                DeviceState::Repair
            }
            Self::Outoforder => DeviceState::Error,
        }
    }

    /// Whether a driver can start a session now.
    pub fn is_available(self) -> bool {
        self == Self::Available
    }

    /// Rank in [`combined_status`]: lower wins.
    fn precedence(self) -> u8 {
        match self {
            Self::Available => 0,
            Self::Charging => 1,
            Self::Reserved => 2,
            Self::Blocked => 3,
            Self::Outoforder => 4,
            Self::Inoperative => 5,
            // "We do not know" beats "not there": an offline EVSE may still
            // work, a planned or removed one will not.
            Self::Unknown => 6,
            Self::Planned => 7,
            Self::Removed => 8,
        }
    }
}

/// The status a whole EVSE or site shows from its connectors: Available if any is available, else Charging if any is charging, else Reserved, Blocked, Outoforder, Inoperative, Unknown in that order (first present wins); an empty list is Unknown.
///
/// Planned and Removed rank after Unknown (Planned first), so a site whose
/// connectors are all planned shows Planned.
pub fn combined_status(statuses: impl IntoIterator<Item = EvseStatus>) -> EvseStatus {
    statuses
        .into_iter()
        .min_by_key(|status| status.precedence())
        .unwrap_or(EvseStatus::Unknown)
}

#[cfg(test)]
mod tests {
    use super::*;
    use EvseStatus::*;

    #[test]
    fn ocpp_statuses_map_to_ocpi() {
        let cases = [
            ("Available", Available),
            ("Preparing", Charging),
            ("Charging", Charging),
            ("SuspendedEV", Charging),
            ("SuspendedEVSE", Charging),
            ("Finishing", Charging),
            ("Reserved", Reserved),
            ("Unavailable", Inoperative),
            ("Faulted", Outoforder),
            ("Exploded", Unknown),
            ("available", Unknown),
        ];
        for (ocpp, ocpi) in cases {
            assert_eq!(EvseStatus::from_ocpp(Some(ocpp), true), ocpi, "{ocpp}");
            assert_eq!(EvseStatus::from_ocpp(Some(ocpp), false), Unknown, "{ocpp}");
        }
        assert_eq!(EvseStatus::from_ocpp(None, true), Unknown);
    }

    #[test]
    fn codes_parse_and_serialize_alike() {
        for status in EvseStatus::ALL {
            let json = serde_json::to_string(status).unwrap();
            assert_eq!(json, format!("\"{}\"", status.code()));
            assert_eq!(
                EvseStatus::parse("status", &status.code().to_lowercase()).unwrap(),
                *status
            );
        }
        assert_eq!(Outoforder.code(), "OUTOFORDER");
        assert_eq!(EvseStatus::parse("status", " charging ").unwrap(), Charging);
        let err = EvseStatus::parse("status", "BROKEN").unwrap_err();
        assert_eq!(err.field, "status");
        assert!(err.message.contains("OUTOFORDER"), "{}", err.message);
        assert_eq!(
            serde_json::to_string(&DeviceState::Repair).unwrap(),
            r#""Repair""#
        );
        assert!(serde_json::from_str::<EvseStatus>(r#""Available""#).is_err());
    }

    #[test]
    fn device_states_and_availability() {
        let expect = [
            (Available, DeviceState::Idle),
            (Blocked, DeviceState::Busy),
            (Charging, DeviceState::Busy),
            (Reserved, DeviceState::Busy),
            (Inoperative, DeviceState::Repair),
            (Planned, DeviceState::Repair),
            (Removed, DeviceState::Repair),
            (Unknown, DeviceState::Repair),
            (Outoforder, DeviceState::Error),
        ];
        assert_eq!(expect.len(), EvseStatus::ALL.len());
        for (status, state) in expect {
            assert_eq!(status.device_state(), state, "{status:?}");
            assert_eq!(status.is_available(), status == Available);
        }
    }

    #[test]
    fn the_best_connector_speaks_for_the_site() {
        assert_eq!(combined_status([]), Unknown);
        assert_eq!(
            combined_status([Charging, Outoforder, Available]),
            Available
        );
        assert_eq!(combined_status([Reserved, Charging, Unknown]), Charging);
        assert_eq!(combined_status([Blocked, Reserved]), Reserved);
        assert_eq!(combined_status([Outoforder, Blocked]), Blocked);
        assert_eq!(combined_status([Inoperative, Outoforder]), Outoforder);
        assert_eq!(combined_status([Unknown, Inoperative]), Inoperative);
        assert_eq!(combined_status([Removed, Unknown, Planned]), Unknown);
        assert_eq!(combined_status([Removed, Planned]), Planned);
        assert_eq!(combined_status(vec![Removed]), Removed);
    }
}
