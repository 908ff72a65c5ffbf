//! The SQL that `plugway-store-sqlite` and `plugway-store-postgres` share.
//!
//! Both backends accept `$N` placeholders through sqlx and both support
//! `RETURNING`, `ON CONFLICT` and partial indexes, so one set of queries
//! serves both. Times are stored as Unix milliseconds (BIGINT) and ids as
//! text in both schemas for the same reason. The queries are written once in
//! [`impl_sql_store!`], which each adapter expands over its own concrete pool
//! type; that keeps the compiler's view concrete (no generic sqlx bounds) and
//! leaves each adapter free to add backend-specific SQL beside it.
//! Anything that differs per backend (connection set-up, pragmas, migrations,
//! locking) lives in the adapter crates.

#![cfg_attr(
    test,
    allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::indexing_slicing,
        clippy::disallowed_methods
    )
)]

mod billing_macros;
mod booking_macros;
mod charging_macros;
mod cluster_macros;
mod content_macros;
mod ledger_macros;
mod load_macros;
mod macros;
mod meter_report_macros;
mod network_macros;
mod number_macros;
mod ocpp201_macros;
mod payment_macros;
mod plan_macros;
mod plan_usage_macros;
mod revision_macros;
mod roaming_macros;
mod session_macros;
pub mod summary;
mod vehicle_macros;

pub use summary::like_escape;

use chrono::{DateTime, TimeZone, Utc};
use plugway_store::{Conflict, StoreError};

#[doc(hidden)]
pub mod __private {
    pub use async_trait::async_trait;
}

/// A time as stored: Unix milliseconds.
pub fn to_ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

/// A stored time back as UTC. Out-of-range values (never written by us)
/// read as the epoch rather than failing the whole row.
pub fn from_ms(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms).single().unwrap_or_default()
}

/// An optional stored time.
pub fn from_ms_opt(ms: Option<i64>) -> Option<DateTime<Utc>> {
    ms.map(from_ms)
}

/// Parses a stored UUID column; a malformed one is data corruption, reported as such.
pub fn parse_uuid(text: &str) -> Result<uuid::Uuid, StoreError> {
    uuid::Uuid::parse_str(text)
        .map_err(|e| StoreError::Other(format!("stored id is not a UUID: {e}")))
}

/// Reads a JSON column (a frozen tariff, a cost breakdown); unreadable JSON
/// is data corruption, reported as such.
pub fn json_column<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, StoreError> {
    serde_json::from_str(text)
        .map_err(|e| StoreError::Other(format!("stored JSON is unreadable: {e}")))
}

/// Writes a JSON column.
pub fn to_json<T: serde::Serialize>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| StoreError::Other(e.to_string()))
}

/// Parses an optional stored UUID column.
pub fn opt_uuid(text: Option<String>) -> Result<Option<uuid::Uuid>, StoreError> {
    text.as_deref().map(parse_uuid).transpose()
}

/// Maps a driver error onto the port's error. Unique violations become
/// `Conflict` naming the column family at fault, so callers can tell a
/// taken phone from a referral-code clash.
pub fn map_err(e: sqlx::Error) -> StoreError {
    match e {
        sqlx::Error::RowNotFound => StoreError::NotFound,
        sqlx::Error::Database(db) if db.is_unique_violation() => {
            // PostgreSQL names the constraint; SQLite only says
            // "UNIQUE constraint failed: table.column". Look in both.
            let text = format!("{} {}", db.constraint().unwrap_or_default(), db.message());
            // Most specific first: "crm_customers" rows also name a charge point.
            let what = [
                ("ocpi_party_roles", Conflict::OcpiPartyCode),
                ("bills_paid_subject", Conflict::SubjectPaid),
                ("bills.subject_kind", Conflict::SubjectPaid),
                ("coupons_code", Conflict::CouponCode),
                ("coupons.code", Conflict::CouponCode),
                ("refunds_idempotency", Conflict::RefundKey),
                ("refunds.idempotency_key", Conflict::RefundKey),
                ("ledger_entries_idempotency", Conflict::IdempotencyKey),
                ("ledger_entries.idempotency_key", Conflict::IdempotencyKey),
                (
                    "charging_sessions_connector_active",
                    Conflict::ConnectorBusy,
                ),
                ("charging_sessions.charge_point_id", Conflict::ConnectorBusy),
                (
                    "charging_sessions_transaction",
                    Conflict::SessionTransaction,
                ),
                (
                    "charging_sessions.transaction_id",
                    Conflict::SessionTransaction,
                ),
                ("purchases_session", Conflict::Purchase),
                ("purchases.session_id", Conflict::Purchase),
                ("ocpp_connector_id", Conflict::EvsePort),
                ("evses_ocpp_port", Conflict::EvsePort),
                ("evse_code", Conflict::EvseCode),
                ("party_id", Conflict::PartyId),
                ("zoho_customer_id", Conflict::ZohoCustomerId),
                ("crm_customers", Conflict::ChargePointUser),
                ("charge_points", Conflict::ChargePoint),
                ("id_tags", Conflict::IdTag),
                ("username", Conflict::Username),
                ("phone", Conflict::Phone),
                ("referral_code", Conflict::ReferralCode),
                ("token", Conflict::Token),
                ("api_key", Conflict::ApiKey),
            ]
            .into_iter()
            .find(|(needle, _)| text.contains(needle))
            .map_or(Conflict::Unique, |(_, conflict)| conflict);
            StoreError::Conflict(what)
        }
        sqlx::Error::Database(db) if db.is_foreign_key_violation() => StoreError::NotFound,
        // PostgreSQL's exclusion_violation: the only exclusion constraint
        // keeps live bookings of one EVSE apart.
        sqlx::Error::Database(db) if db.code().as_deref() == Some("23P01") => {
            StoreError::Conflict(::plugway_store::Conflict::BookingOverlap)
        }
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => {
            StoreError::Unavailable(e.to_string())
        }
        other => StoreError::Other(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_round_trip_at_millisecond_precision() {
        let t = Utc.with_ymd_and_hms(2026, 11, 23, 1, 2, 3).unwrap()
            + chrono::Duration::milliseconds(456);
        assert_eq!(from_ms(to_ms(t)), t);
        assert_eq!(from_ms_opt(None), None);
    }

    #[test]
    fn bad_uuid_is_an_error_not_a_panic() {
        assert!(parse_uuid("nope").is_err());
    }
}
