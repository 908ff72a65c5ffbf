//! The storage port for public numbers: the stable integer ids that older
//! clients speak (seed 000's `customer_id` or `charger_id`, seed 003's
//! `location(id: 755)`) beside the UUIDs of the canonical API.
//!
//! The database assigns a number when a row of a numbered kind is inserted
//! (migration 0017): per kind, from 1, once, never reused. This port only
//! reads the mapping, so no write path has to remember it.

use std::collections::HashMap;

use async_trait::async_trait;

use crate::Result;

/// What a public number numbers. Each kind counts on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NumberKind {
    /// An account (seed 000's `customer_id`, `host_id`).
    Account,
    /// A site (seed 000's charger, seed 003's location).
    Site,
    /// An EVSE (seed 000's socket, seed 003's EVSE).
    Evse,
    /// A site's photo.
    Photo,
    /// A place near a site.
    Nearby,
    /// A driver's bookmark of a site; its reference is `user:site`.
    Bookmark,
    /// A booking (seed 000's appointment).
    Booking,
    /// A driver's vehicle.
    Vehicle,
    /// A bill.
    Bill,
    /// A charging session's purchase.
    Purchase,
    /// A notification.
    Notification,
    /// A coupon.
    Coupon,
    /// A banner (seed 000's ad).
    Banner,
}

impl NumberKind {
    /// The name stored in `public_numbers.kind`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Account => "account",
            Self::Site => "site",
            Self::Evse => "evse",
            Self::Photo => "photo",
            Self::Nearby => "nearby",
            Self::Bookmark => "bookmark",
            Self::Booking => "booking",
            Self::Vehicle => "vehicle",
            Self::Bill => "bill",
            Self::Purchase => "purchase",
            Self::Notification => "notification",
            Self::Coupon => "coupon",
            Self::Banner => "banner",
        }
    }

    /// The reference a bookmark is numbered under.
    pub fn bookmark_ref(user: &str, site: &str) -> String {
        format!("{user}:{site}")
    }
}

/// Reads the public numbers the database assigned.
#[async_trait]
pub trait NumberStore: Send + Sync {
    /// The number of the resource with this reference (its id as text);
    /// `None` when none was assigned (no such resource was ever stored).
    async fn public_number(&self, kind: NumberKind, reference: &str) -> Result<Option<i64>>;
    /// The numbers of many resources at once, keyed by reference; a
    /// reference without a number is left out.
    async fn public_numbers(
        &self,
        kind: NumberKind,
        references: &[String],
    ) -> Result<HashMap<String, i64>>;
    /// The reference a number was given to; `None` when the number was never
    /// given. The resource itself may since have been deleted.
    async fn numbered_ref(&self, kind: NumberKind, number: i64) -> Result<Option<String>>;
}
