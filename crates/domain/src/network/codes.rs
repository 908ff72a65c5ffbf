//! The seed code lists: small fixed value lists whose items have a 1-based
//! list id, a wire code and a description. Sets of items are stored as bit
//! masks (`1 << (list_id - 1)`), so an item's position is part of the
//! storage format: append new items, never reorder.

use std::fmt;
use std::str::FromStr;

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::ValidationError;

/// Declares a code list: the enum, its codes and descriptions, bit masks,
/// parsing and serde (as the code string).
macro_rules! code_list {
    (
        $(#[$meta:meta])*
        $name:ident {
            $($variant:ident => $code:literal, $description:literal;)+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $(
                #[doc = $description]
                $variant,
            )+
        }

        // Masks are i64 (a signed SQL BIGINT); bit 63 would make them negative.
        const _: () = assert!($name::ALL.len() <= 63, "too many items for an i64 mask");

        impl $name {
            /// Every item, in list order (list id 1 first).
            pub const ALL: &'static [Self] = &[$(Self::$variant),+];

            /// Every wire code, in list order.
            pub const CODES: &'static [&'static str] = &[$($code),+];

            /// The wire (and stored) code.
            pub fn code(self) -> &'static str {
                match self {
                    $(Self::$variant => $code,)+
                }
            }

            /// A description to show people.
            pub fn description(self) -> &'static str {
                match self {
                    $(Self::$variant => $description,)+
                }
            }

            /// The 1-based position in [`Self::ALL`].
            pub fn list_id(self) -> u32 {
                // Variants carry the default discriminants 0, 1, … in
                // declaration order, which is also the order of ALL.
                self as u32 + 1
            }

            /// The item's bit in a mask: `1 << (list_id - 1)`.
            pub fn bit(self) -> i64 {
                1_i64 << (self as u32)
            }

            /// The item with exactly this code (the canonical wire form).
            pub fn from_code(code: &str) -> Option<Self> {
                match code {
                    $($code => Some(Self::$variant),)+
                    _ => None,
                }
            }

            /// Reads a code from user input: trimmed, any letter case.
            pub fn parse(field: &'static str, input: &str) -> Result<Self, ValidationError> {
                let input = input.trim();
                Self::ALL
                    .iter()
                    .copied()
                    .find(|item| item.code().eq_ignore_ascii_case(input))
                    .ok_or_else(|| {
                        ValidationError::new(
                            field,
                            format!("must be one of {}", Self::CODES.join(", ")),
                        )
                    })
            }

            /// Reads a list of codes; duplicates are dropped and the result
            /// is in list order, whatever order the input was in.
            pub fn parse_list(
                field: &'static str,
                inputs: &[String],
            ) -> Result<Vec<Self>, ValidationError> {
                let mut mask = 0;
                for input in inputs {
                    mask |= Self::parse(field, input)?.bit();
                }
                Ok(Self::from_mask(mask))
            }

            /// The mask holding these items.
            pub fn mask(items: &[Self]) -> i64 {
                items.iter().fold(0, |mask, item| mask | item.bit())
            }

            /// The items in a mask, in list order. Unknown bits are ignored so
            /// that a mask written by a newer version still reads.
            pub fn from_mask(mask: i64) -> Vec<Self> {
                Self::ALL
                    .iter()
                    .copied()
                    .filter(|item| mask & item.bit() != 0)
                    .collect()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.code())
            }
        }

        impl FromStr for $name {
            type Err = ValidationError;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::parse("code", s)
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.code())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                // Exact codes only: this is the stored and wire form, which we
                // write ourselves; lenient reading is `parse`'s job.
                let code = String::deserialize(deserializer)?;
                Self::from_code(&code).ok_or_else(|| D::Error::unknown_variant(&code, Self::CODES))
            }
        }
    };
}

code_list! {
    /// The plug or socket standard of a connector.
    ConnectorStandard {
        Type1 => "TYPE_1", "Type 1";
        Type2 => "TYPE_2", "Type 2";
        Chademo => "CHADEMO", "CHADEMO";
        Gbt => "GBT", "GBT";
        Ccs1 => "CCS1", "CCS1";
        Ccs2 => "CCS2", "CCS2";
        Tesla => "TESLA", "Tesla";
        Domestic => "DOMESTIC", "Domestic socket";
    }
}

code_list! {
    /// Whether the driver brings the cable (socket) or the charger has one.
    ConnectorFormat {
        Socket => "SOCKET", "Socket";
        Cable => "CABLE", "Cable";
    }
}

code_list! {
    /// The current a connector delivers.
    PowerType {
        Ac => "AC", "AC";
        Ac1Phase => "AC_1_PHASE", "AC single phase";
        Ac2Phase => "AC_2_PHASE", "AC two phases";
        Ac2PhaseSplit => "AC_2_PHASE_SPLIT", "AC two phases, split";
        Ac3Phase => "AC_3_PHASE", "AC three phases";
        Dc => "DC", "DC";
    }
}

code_list! {
    /// Something a driver can use at or near a site while charging.
    Facility {
        BanksAtm => "BANKS/ATM", "Banks/ATM";
        Cafe => "CAFE", "Cafe";
        Cinema => "CINEMA", "Cinema";
        Drugstore => "DRUGSTORE", "Drugstore";
        GasStation => "GAS_STATION", "Gas station";
        Groceries => "GROCERIES", "Groceries";
        HardwareShops => "HARDWARE_SHOPS", "Hardware shops";
        Hotel => "HOTEL", "Hotel";
        Mall => "MALL", "Mall";
        ParkingLot => "PARKING_LOT", "Parking lot";
        Pool => "POOL", "Pool";
        Restaurants => "RESTAURANTS", "Restaurants";
        Restroom => "RESTROOM", "Restroom";
        Shops => "SHOPS", "Shops";
        WaterSports => "WATER_SPORTS", "Water sports";
        Wifi => "WIFI", "Wi-Fi";
    }
}

code_list! {
    /// What an EVSE can do beyond charging.
    Capability {
        CreditDebitPayable => "CREDIT_DEBIT_PAYABLE", "Credit/debit card payment";
        QrReader => "QR_READER", "QR code reader";
        PrivilegeAndLoyalty => "PRIVILEGE_AND_LOYALTY", "Privilege and loyalty";
    }
}

code_list! {
    /// A way a site takes payment.
    PaymentType {
        Gcash => "GCASH", "GCash";
        Maya => "MAYA", "Maya";
    }
}

code_list! {
    /// Where a site's parking is.
    ParkingType {
        Indoor => "INDOOR", "Indoor";
        Outdoor => "OUTDOOR", "Outdoor";
    }
}

code_list! {
    /// Who may park at a charging spot.
    ParkingRestriction {
        EvOnly => "EV_ONLY", "EVs only";
        Plugged => "PLUGGED", "Only while plugged in";
        Disabled => "DISABLED", "Disabled drivers only";
        Customers => "CUSTOMERS", "Customers only";
        Motorcycles => "MOTORCYCLES", "Motorcycles only";
    }
}

code_list! {
    /// Where a host's submission (a site, a photo) is in review.
    ApprovalState {
        Pending => "PENDING", "Pending";
        Approved => "APPROVED", "Approved";
        Rejected => "REJECTED", "Rejected";
    }
}

code_list! {
    /// Where a host's revision of an approved site or EVSE is: open (waiting
    /// for an admin, still taking the host's edits), then approved (applied),
    /// rejected, or withdrawn by the host.
    RevisionState {
        Open => "OPEN", "Open";
        Approved => "APPROVED", "Approved";
        Rejected => "REJECTED", "Rejected";
        Withdrawn => "WITHDRAWN", "Withdrawn";
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_ids_and_bits_follow_the_seed_order() {
        assert_eq!(ConnectorStandard::ALL.len(), 8);
        let codes: Vec<_> = ConnectorStandard::ALL.iter().map(|c| c.code()).collect();
        assert_eq!(
            codes,
            ["TYPE_1", "TYPE_2", "CHADEMO", "GBT", "CCS1", "CCS2", "TESLA", "DOMESTIC"]
        );
        assert_eq!(ConnectorStandard::Type1.list_id(), 1);
        assert_eq!(ConnectorStandard::Domestic.list_id(), 8);
        assert_eq!(ConnectorStandard::Type1.bit(), 1);
        assert_eq!(ConnectorStandard::Domestic.bit(), 128);
        assert_eq!(ConnectorStandard::Domestic.description(), "Domestic socket");
        assert_eq!(Facility::ALL.len(), 16);
        assert_eq!(Facility::BanksAtm.code(), "BANKS/ATM");
        assert_eq!(Facility::Wifi.list_id(), 16);
        assert_eq!(Facility::Wifi.description(), "Wi-Fi");
        assert_eq!(Facility::GasStation.description(), "Gas station");
        assert_eq!(PowerType::Ac2PhaseSplit.code(), "AC_2_PHASE_SPLIT");
        assert_eq!(PowerType::Dc.list_id(), 6);
        assert_eq!(ApprovalState::Rejected.list_id(), 3);
        assert_eq!(ParkingRestriction::Motorcycles.bit(), 16);
    }

    #[test]
    fn every_list_is_consistent() {
        fn check<T: Copy + PartialEq + fmt::Debug>(
            all: &[T],
            codes: &[&str],
            code: fn(T) -> &'static str,
            list_id: fn(T) -> u32,
            from_code: fn(&str) -> Option<T>,
        ) {
            assert_eq!(all.len(), codes.len());
            for (i, item) in all.iter().enumerate() {
                assert_eq!(list_id(*item) as usize, i + 1, "{item:?}");
                assert_eq!(code(*item), codes[i]);
                assert_eq!(from_code(codes[i]), Some(*item));
            }
        }
        macro_rules! check {
            ($($t:ty),+) => {
                $(check(<$t>::ALL, <$t>::CODES, <$t>::code, <$t>::list_id, <$t>::from_code);)+
            };
        }
        check!(
            ConnectorStandard,
            ConnectorFormat,
            PowerType,
            Facility,
            Capability,
            PaymentType,
            ParkingType,
            ParkingRestriction,
            ApprovalState,
            RevisionState
        );
    }

    #[test]
    fn parse_is_lenient_and_explains_itself() {
        assert_eq!(
            ConnectorStandard::parse("standard", " ccs2 ").unwrap(),
            ConnectorStandard::Ccs2
        );
        assert_eq!(
            Facility::parse("facilities", "banks/atm").unwrap(),
            Facility::BanksAtm
        );
        let err = ConnectorFormat::parse("format", "plug").unwrap_err();
        assert_eq!(err.field, "format");
        assert_eq!(err.message, "must be one of SOCKET, CABLE");
        assert_eq!("Maya".parse::<PaymentType>().unwrap(), PaymentType::Maya);
        assert_eq!("x".parse::<PaymentType>().unwrap_err().field, "code");
        assert_eq!(PowerType::Ac3Phase.to_string(), "AC_3_PHASE");
    }

    #[test]
    fn lists_dedup_and_keep_list_order() {
        let inputs: Vec<String> = ["wifi", "CAFE", "Wifi", "banks/atm"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(
            Facility::parse_list("facilities", &inputs).unwrap(),
            [Facility::BanksAtm, Facility::Cafe, Facility::Wifi]
        );
        assert_eq!(Facility::parse_list("facilities", &[]).unwrap(), []);
        let bad = vec!["CAFE".to_string(), "SPA".to_string()];
        assert_eq!(
            Facility::parse_list("facilities", &bad).unwrap_err().field,
            "facilities"
        );
    }

    #[test]
    fn masks_round_trip_and_ignore_unknown_bits() {
        let items = [
            Capability::PrivilegeAndLoyalty,
            Capability::CreditDebitPayable,
        ];
        let mask = Capability::mask(&items);
        assert_eq!(mask, 0b101);
        assert_eq!(
            Capability::from_mask(mask),
            [
                Capability::CreditDebitPayable,
                Capability::PrivilegeAndLoyalty
            ]
        );
        assert_eq!(Capability::mask(&[]), 0);
        // Bits beyond the list (and the sign bit) are someone else's business.
        assert_eq!(
            Capability::from_mask(0b1010 | i64::MIN),
            [Capability::QrReader]
        );
        assert_eq!(
            ConnectorStandard::from_mask(-1).len(),
            ConnectorStandard::ALL.len()
        );
    }

    #[test]
    fn serde_uses_the_exact_code() {
        assert_eq!(
            serde_json::to_string(&Facility::BanksAtm).unwrap(),
            r#""BANKS/ATM""#
        );
        assert_eq!(
            serde_json::from_str::<Vec<ParkingType>>(r#"["OUTDOOR","INDOOR"]"#).unwrap(),
            [ParkingType::Outdoor, ParkingType::Indoor]
        );
        let err = serde_json::from_str::<ParkingType>(r#""ROOFTOP""#).unwrap_err();
        assert!(err.to_string().contains("`OUTDOOR`"), "{err}");
        assert!(serde_json::from_str::<ParkingType>(r#""indoor""#).is_err());
        assert!(serde_json::from_str::<ParkingType>("1").is_err());
    }
}
