//! Charge points, connectors, id tags and the OCPP 1.6 authorization rules.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ValidationError;

/// The identity a charge point connects with (`ws://HOST/ocpp/{id}`): 1 to 48
/// printable ASCII characters, no `/`, `?`, `#` or spaces (it travels in a
/// URL path and in HTTP Basic auth, where `:` is the separator).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ChargePointId(String);

impl ChargePointId {
    /// Checks an identity.
    pub fn parse(input: &str) -> Result<Self, ValidationError> {
        let ok = !input.is_empty()
            && input.len() <= 48
            && input
                .bytes()
                .all(|b| b.is_ascii_graphic() && !matches!(b, b'/' | b'?' | b'#' | b':' | b'%'));
        if ok {
            Ok(Self(input.to_owned()))
        } else {
            Err(ValidationError::new(
                "charge_point_id",
                "must be 1 to 48 printable ASCII characters without / ? # : % or spaces",
            ))
        }
    }

    /// Rebuilds a stored identity.
    pub fn from_stored(id: String) -> Self {
        Self(id)
    }

    /// The identity.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ChargePointId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An OCPP id token (RFID card, app user): at most 20 characters (CiString20).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct IdTag(String);

impl IdTag {
    /// Checks a tag. OCPP compares tags case-insensitively (CiString); we
    /// keep them as given and compare upper-cased.
    pub fn parse(input: &str) -> Result<Self, ValidationError> {
        if input.is_empty() || input.len() > 20 || !input.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(ValidationError::new(
                "id_tag",
                "must be 1 to 20 printable ASCII characters",
            ));
        }
        Ok(Self(input.to_owned()))
    }

    /// Rebuilds a stored tag.
    pub fn from_stored(tag: String) -> Self {
        Self(tag)
    }

    /// The tag as given.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The form tags are stored and compared in.
    pub fn key(&self) -> String {
        self.0.to_ascii_uppercase()
    }
}

/// OCPP 1.6 `AuthorizationStatus`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum AuthorizationStatus {
    /// Allowed to charge.
    Accepted,
    /// Blocked by the operator.
    Blocked,
    /// Past its expiry date.
    Expired,
    /// Unknown.
    Invalid,
    /// Already in as many transactions as it may be.
    ConcurrentTx,
}

impl AuthorizationStatus {
    /// The wire (and stored) form.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Accepted => "Accepted",
            Self::Blocked => "Blocked",
            Self::Expired => "Expired",
            Self::Invalid => "Invalid",
            Self::ConcurrentTx => "ConcurrentTx",
        }
    }
}

/// What the platform knows of an id tag.
#[derive(Debug, Clone, PartialEq)]
pub struct IdTagState {
    /// The tag.
    pub id_tag: IdTag,
    /// Its parent (group) tag, reported to chargers.
    pub parent_id_tag: Option<IdTag>,
    /// Not valid after this instant.
    pub expiry: Option<DateTime<Utc>>,
    /// Seed 004's `max_active_transactions_count`: 0 blocks the tag, a
    /// negative value allows any number, a positive value is the limit.
    pub max_active_transactions: i64,
}

/// The OCPP 1.6 decision for a tag that wants to start (or is asked
/// about): unknown → Invalid; limit 0 → Blocked; past expiry → Expired;
/// at its concurrency limit → ConcurrentTx; else Accepted.
pub fn authorize(
    tag: Option<&IdTagState>,
    active_transactions: i64,
    now: DateTime<Utc>,
) -> AuthorizationStatus {
    let Some(tag) = tag else {
        return AuthorizationStatus::Invalid;
    };
    if tag.max_active_transactions == 0 {
        return AuthorizationStatus::Blocked;
    }
    if tag.expiry.is_some_and(|e| e <= now) {
        return AuthorizationStatus::Expired;
    }
    if tag.max_active_transactions > 0 && active_transactions >= tag.max_active_transactions {
        return AuthorizationStatus::ConcurrentTx;
    }
    AuthorizationStatus::Accepted
}

/// The same decision for a tag that is only being checked (`Authorize`) or
/// stopping: the concurrency limit does not apply to a tag already charging.
pub fn authorize_without_concurrency(
    tag: Option<&IdTagState>,
    now: DateTime<Utc>,
) -> AuthorizationStatus {
    authorize(tag, 0, now)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, TimeZone};

    fn tag(max: i64, expiry: Option<DateTime<Utc>>) -> IdTagState {
        IdTagState {
            id_tag: IdTag::parse("TAG1").unwrap(),
            parent_id_tag: None,
            expiry,
            max_active_transactions: max,
        }
    }

    #[test]
    fn the_rules_of_seed_004_and_ocpp() {
        let now = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        assert_eq!(authorize(None, 0, now), AuthorizationStatus::Invalid);
        assert_eq!(
            authorize(Some(&tag(0, None)), 0, now),
            AuthorizationStatus::Blocked
        );
        assert_eq!(
            authorize(Some(&tag(-1, None)), 1000, now),
            AuthorizationStatus::Accepted
        );
        assert_eq!(
            authorize(Some(&tag(2, None)), 1, now),
            AuthorizationStatus::Accepted
        );
        assert_eq!(
            authorize(Some(&tag(2, None)), 2, now),
            AuthorizationStatus::ConcurrentTx
        );
        let past = Some(now - Duration::seconds(1));
        assert_eq!(
            authorize(Some(&tag(1, past)), 0, now),
            AuthorizationStatus::Expired
        );
        // Blocked wins over expired: the operator's decision is the clearer reason.
        assert_eq!(
            authorize(Some(&tag(0, past)), 0, now),
            AuthorizationStatus::Blocked
        );
        assert_eq!(
            authorize_without_concurrency(Some(&tag(1, None)), now),
            AuthorizationStatus::Accepted
        );
    }

    #[test]
    fn identities_and_tags_are_checked() {
        assert!(ChargePointId::parse("fccp_17a18afd23e722dd021bd75b581e7651").is_ok());
        for bad in ["", "a/b", "a b", "a:b", &"x".repeat(49)] {
            assert!(ChargePointId::parse(bad).is_err(), "{bad}");
        }
        assert!(IdTag::parse(&"T".repeat(20)).is_ok());
        assert!(IdTag::parse(&"T".repeat(21)).is_err());
        assert_eq!(IdTag::parse("abc").unwrap().key(), "ABC");
    }
}
