//! Plugway's domain model: the types and rules every other crate shares.
//!
//! Nothing here does I/O. Time and randomness come in through [`Clock`] and
//! [`IdGenerator`] so that the rules are testable with a fixed clock.

#![cfg_attr(
    test,
    allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::indexing_slicing,
        clippy::disallowed_methods
    )
)]

pub mod account;
pub mod booking;
pub mod charging;
pub mod clock;
pub mod commission;
pub mod coupon;
pub mod ids;
pub mod ledger;
pub mod load;
pub mod meter_quirks;
pub mod network;
pub mod notifications;
pub mod otp;
pub mod phone;
pub mod plan;
pub mod plausibility;
pub mod secret;
pub mod session;
pub mod tariff;
pub mod vehicle;

pub use account::{ApiKeyRole, Email, PersonName, Principal, ReferralCode, Role, Username};
pub use charging::{AuthorizationStatus, ChargePointId, IdTag, IdTagState};
pub use clock::{Clock, ManualClock, SystemClock};
pub use ids::{
    ApiKeyId, BookingId, ChargingSessionId, ConnectorId, EvseId, IdGenerator, NearbyId,
    OcpiPartyId, OtpId, PhotoId, PurchaseId, RandomIds, RevisionId, SessionId, SiteId, TokenId,
    UserId,
};
pub use network::{
    ApprovalState, BoundingBox, Capability, ConnectorFormat, ConnectorStandard, Coordinates,
    Currency, DeviceState, EvseStatus, Facility, OpeningHours, ParkingRestriction, ParkingType,
    PaymentType, PowerType, RegularHours, RevisionState, SiteTimeZone,
};
pub use otp::{OtpCode, OtpPolicy};
pub use phone::{PhoneError, PhoneNumber, Region};
pub use session::{SessionEvent, SessionState, StartFailure};
pub use tariff::{price, Cost, MeterReading, Tariff, TariffPeriod, Usage};

/// A rule of the domain was broken by input; the message is safe to show a client.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct ValidationError {
    /// The input field at fault, as the client named it.
    pub field: &'static str,
    /// What is wrong with it.
    pub message: String,
}

impl ValidationError {
    /// A validation error on `field`.
    pub fn new(field: &'static str, message: impl Into<String>) -> Self {
        Self {
            field,
            message: message.into(),
        }
    }
}
