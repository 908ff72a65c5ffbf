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

/// Makes new ids. Injected so tests can predict them if they need to.
pub trait IdGenerator: Send + Sync + fmt::Debug {
    /// A new unique id; time-ordered so that indexes stay append-mostly.
    fn new_uuid(&self, now: DateTime<Utc>) -> Uuid;
}

/// UUIDv7 ids: the creation time in the high bits, randomness below.
#[derive(Debug, Default, Clone, Copy)]
pub struct RandomIds;

impl IdGenerator for RandomIds {
    fn new_uuid(&self, now: DateTime<Utc>) -> Uuid {
        let secs = u64::try_from(now.timestamp()).unwrap_or(0);
        let ts = uuid::Timestamp::from_unix(uuid::NoContext, secs, now.timestamp_subsec_nanos());
        Uuid::new_v7(ts)
    }
}
