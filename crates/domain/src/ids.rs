//! Typed identifiers: a `UserId` can never be passed where a `SessionId` is due.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

macro_rules! uuid_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl $name {
            /// The id's canonical text form (hyphenated lowercase UUID).
            pub fn to_text(self) -> String {
                self.0.hyphenated().to_string()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.hyphenated().fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self)
            }
        }
    };
}

uuid_id!(
    /// A person's account (driver, host or admin).
    UserId
);
uuid_id!(
    /// A signed-in device session; access and refresh tokens belong to one.
    SessionId
);
uuid_id!(
    /// One refresh token (its JWT `jti`).
    TokenId
);
uuid_id!(
    /// One issued one-time password.
    OtpId
);
uuid_id!(
    /// An API key for the back office or an integration.
    ApiKeyId
);
uuid_id!(
    /// A site (an OCPI location): one address with chargers, owned by a host.
    SiteId
);
uuid_id!(
    /// An EVSE under a site: what a driver starts a session on (seed 001's "device").
    EvseId
);
uuid_id!(
    /// One connector (plug or socket) of an EVSE.
    ConnectorId
);
uuid_id!(
    /// A stored photo of a site.
    PhotoId
);
uuid_id!(
    /// A place near a site (seed 000's "nearby": a shop, a cafe).
    NearbyId
);
uuid_id!(
    /// A driver's vehicle.
    VehicleId
);
uuid_id!(
    /// An OCPI roaming partner (a party that registered with us, or that we registered with).
    OcpiPartyId
);
uuid_id!(
    /// A host's proposed change to an approved site or EVSE, waiting for an admin.
    RevisionId
);

uuid_id!(
    /// A charging session: a driver's (or an RFID card's) use of one connector.
    ChargingSessionId
);
uuid_id!(
    /// What a finished session costs: seed 001's purchase.
    PurchaseId
);
uuid_id!(
    /// A driver's booking of one EVSE for a time slot (seed 000's appointment).
    BookingId
);

/// Makes new ids. Injected so tests can predict them if they need to.
pub trait IdGenerator: Send + Sync + fmt::Debug {
    /// A new unique id; time-ordered so that indexes stay append-mostly.
    fn new_uuid(&self, now: DateTime<Utc>) -> Uuid;
}

/// UUIDv7 ids: the creation time in the high bits, then a counter, then
/// randomness. The counter makes ids made in one process in the same
/// millisecond increase, so rows created together (the photos of one
/// upload) keep their order when sorted by id.
#[derive(Debug, Default, Clone, Copy)]
pub struct RandomIds;

/// One sequence for the process (the uuid crate's own `now_v7` does the same).
static SEQUENCE: std::sync::Mutex<uuid::ContextV7> = std::sync::Mutex::new(uuid::ContextV7::new());

impl IdGenerator for RandomIds {
    fn new_uuid(&self, now: DateTime<Utc>) -> Uuid {
        let secs = u64::try_from(now.timestamp()).unwrap_or(0);
        let ts = uuid::Timestamp::from_unix(&SEQUENCE, secs, now.timestamp_subsec_nanos());
        Uuid::new_v7(ts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_made_in_the_same_millisecond_increase() {
        let now = chrono::TimeZone::with_ymd_and_hms(&Utc, 2026, 11, 23, 5, 0, 0).unwrap();
        let ids: Vec<Uuid> = (0..1000).map(|_| RandomIds.new_uuid(now)).collect();
        assert!(ids.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(ids[0].get_version_num(), 7);
    }
}
