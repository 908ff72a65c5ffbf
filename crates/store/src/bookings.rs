//! Bookings of EVSEs for time slots, and the claims the booking jobs make.
//!
//! Every job claim is one `UPDATE ... RETURNING`: whichever node's update
//! changes a row owns that piece of work, so several nodes never both send
//! a reminder or a ReserveNow for the same booking.

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use plugway_domain::booking::{BookingStatus, Slot};
use plugway_domain::{BookingId, ChargingSessionId, Currency, EvseId, SiteId, UserId};
use serde::{Deserialize, Serialize};

use crate::Result;

/// Whether the booking is held on the charger itself (OCPP ReserveNow).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HoldState {
    /// Not held yet; the hold job will try.
    Pending,
    /// The charger accepted the reservation.
    Held,
    /// The charger's reservation was used by the driver's start.
    Consumed,
    /// The reservation was cancelled on the charger.
    Released,
    /// Nothing to hold (not a networked charger, or the slot passed unheld).
    None,
}

impl HoldState {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Held => "held",
            Self::Consumed => "consumed",
            Self::Released => "released",
            Self::None => "none",
        }
    }

    /// Parses a stored name.
    pub fn parse(text: &str) -> Option<Self> {
        [
            Self::Pending,
            Self::Held,
            Self::Consumed,
            Self::Released,
            Self::None,
        ]
        .into_iter()
        .find(|h| h.as_str() == text)
    }
}

/// A booking as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Booking {
    /// Its id.
    pub id: BookingId,
    /// Insertion sequence number: the source of the OCPP reservation id.
    pub seq: i64,
    /// The driver.
    pub user_id: UserId,
    /// The EVSE booked.
    pub evse_id: EvseId,
    /// Its site.
    pub site_id: SiteId,
    /// The site's host.
    pub host_id: UserId,
    /// The vehicle the driver comes with, if named.
    pub vehicle_id: Option<String>,
    /// The time booked.
    pub slot: Slot,
    /// Where it is in its life.
    pub status: BookingStatus,
    /// Currency of the estimate.
    pub currency: Currency,
    /// The price shown when booking, tax included, in minor units.
    pub estimate: i64,
    /// The energy that estimate assumed, in Wh.
    pub estimate_energy_wh: i64,
    /// "driver", "host" or "admin" when cancelled.
    pub cancelled_by: Option<String>,
    /// Why, when the host cancelled.
    pub cancel_reason: Option<String>,
    /// The charging session that used the booking.
    pub session_id: Option<ChargingSessionId>,
    /// The hold on the charger.
    pub hold: HoldState,
    /// When the hold or release job may next look at it (a lease while one
    /// works on it).
    pub hold_attempt_at: DateTime<Utc>,
    /// When the reminder was claimed.
    pub reminded_at: Option<DateTime<Utc>>,
    /// When it was made.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

/// Which bookings a list shows; every set field must match.
#[derive(Debug, Clone, Default)]
pub struct BookingFilter {
    /// The driver's.
    pub user: Option<UserId>,
    /// On this host's sites.
    pub host: Option<UserId>,
    /// On this EVSE.
    pub evse: Option<EvseId>,
    /// In one of these states (empty: any).
    pub statuses: Vec<BookingStatus>,
    /// Ending after this instant.
    pub ends_after: Option<DateTime<Utc>>,
    /// Latest start first (histories) instead of soonest first.
    pub newest_first: bool,
}

/// Bookings, their lifecycle and the jobs' claims.
#[async_trait]
pub trait BookingStore: Send + Sync {
    /// Stores a new booking (`seq` is assigned). Fails with
    /// `Conflict(BookingOverlap)` when a live booking of the EVSE shares
    /// an instant with it, whatever races; `Conflict(BookingLimit)` when
    /// the driver already holds `max_live_per_driver` live bookings.
    async fn insert_booking(&self, booking: &Booking, max_live_per_driver: i64) -> Result<Booking>;
    /// The booking with this id.
    async fn find_booking(&self, id: BookingId) -> Result<Option<Booking>>;
    /// Bookings matching `filter`, soonest first.
    async fn list_bookings(
        &self,
        filter: &BookingFilter,
        offset: i64,
        limit: i64,
    ) -> Result<Vec<Booking>>;
    /// How many match `filter`.
    async fn count_bookings(&self, filter: &BookingFilter) -> Result<i64>;
    /// How many match `filter` per status (statuses with none are left out).
    async fn count_bookings_by_status(
        &self,
        filter: &BookingFilter,
    ) -> Result<Vec<(BookingStatus, i64)>>;
    /// Upcoming bookings per EVSE of a host (EVSEs with none are left out).
    async fn upcoming_booking_counts(&self, host: UserId) -> Result<Vec<(EvseId, i64)>>;
    /// Moves a booking from one of `from` to `to`, recording who cancelled
    /// and why and the session that used it. `None` when it was not in
    /// `from` (someone else moved it first). Leaving a live state with the
    /// charger still holding it makes the hold job release it.
    async fn set_booking_status(
        &self,
        id: BookingId,
        from: &[BookingStatus],
        to: BookingStatus,
        change: &StatusChange,
        at: DateTime<Utc>,
    ) -> Result<Option<Booking>>;
    /// The live booking of `evse` whose held window (`lead` before its start
    /// to its end) contains `at`.
    async fn booking_holding(
        &self,
        evse: EvseId,
        at: DateTime<Utc>,
        lead: Duration,
    ) -> Result<Option<Booking>>;
    /// Marks upcoming bookings not started by `start + grace` as no-shows
    /// and returns them.
    async fn expire_no_shows(&self, now: DateTime<Utc>, grace: Duration) -> Result<Vec<Booking>>;
    /// Completes in-progress bookings whose slot ended or whose session is
    /// over, and returns them.
    async fn complete_used_bookings(&self, now: DateTime<Utc>) -> Result<Vec<Booking>>;
    /// Claims the reminders due (upcoming, starting within `lead`, not yet
    /// reminded).
    async fn claim_reminders(&self, now: DateTime<Utc>, lead: Duration) -> Result<Vec<Booking>>;
    /// Claims, for `lease`, bookings to hold on their charger now: upcoming,
    /// hold pending, within `lead` of the start and not over.
    async fn claim_holds(
        &self,
        now: DateTime<Utc>,
        lead: Duration,
        lease: Duration,
    ) -> Result<Vec<Booking>>;
    /// Claims, for `lease`, bookings whose reservation the charger still
    /// holds though the booking is no longer live.
    async fn claim_releases(&self, now: DateTime<Utc>, lease: Duration) -> Result<Vec<Booking>>;
    /// Records the outcome of a hold or release attempt, and when the job
    /// may look again.
    async fn set_hold(
        &self,
        id: BookingId,
        hold: HoldState,
        next_attempt: DateTime<Utc>,
    ) -> Result<()>;
}

/// Who changes a booking's status, and the details to record.
#[derive(Debug, Clone, Default)]
pub struct StatusChange {
    /// "driver", "host" or "admin", for a cancellation.
    pub cancelled_by: Option<String>,
    /// The host's reason.
    pub reason: Option<String>,
    /// The session that started in the slot.
    pub session_id: Option<ChargingSessionId>,
}
