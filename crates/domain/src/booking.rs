//! Bookings: a driver holds one EVSE (one OCPP connector) for a time slot.
//!
//! The rules here are pure; the store guarantees the one rule that needs the
//! database, that no two live bookings of an EVSE overlap (an exclusion
//! constraint on PostgreSQL, the single writer on SQLite).
//!
//! Lifecycle:
//! ```text
//! upcoming ──driver starts charging──▶ in_progress ──slot ends / session ends──▶ completed
//!    │ └──no start by start + grace──▶ no_show
//!    └──driver (before the deadline) or host──▶ cancelled
//! ```

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::network::{OpeningHours, SiteTimeZone};
use crate::tariff::{price, Cost, MeterReading, Tariff, Usage};
use crate::ValidationError;

/// Where a booking is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BookingStatus {
    /// Booked, the slot has not been used yet.
    Upcoming,
    /// The driver is charging in the slot.
    InProgress,
    /// The slot was used and is over.
    Completed,
    /// Called off by the driver or the host.
    Cancelled,
    /// The driver did not start within the grace period.
    NoShow,
}

impl BookingStatus {
    /// Every status, in lifecycle order.
    pub const ALL: [Self; 5] = [
        Self::Upcoming,
        Self::InProgress,
        Self::Completed,
        Self::Cancelled,
        Self::NoShow,
    ];

    /// The stored and wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Upcoming => "upcoming",
            Self::InProgress => "in_progress",
            Self::Completed => "completed",
            Self::Cancelled => "cancelled",
            Self::NoShow => "no_show",
        }
    }

    /// Parses a stored or wire name; seed 000's "Upcoming"/"Cancelled"
    /// spellings are accepted too.
    pub fn parse(text: &str) -> Option<Self> {
        let lower = text.trim().to_ascii_lowercase().replace([' ', '-'], "_");
        Self::ALL
            .into_iter()
            .find(|s| s.as_str() == lower)
            .or(match lower.as_str() {
                "canceled" => Some(Self::Cancelled),
                "noshow" => Some(Self::NoShow),
                "inprogress" | "ongoing" => Some(Self::InProgress),
                _ => None,
            })
    }

    /// Holds its slot: the EVSE cannot be booked by anyone else over it.
    pub fn is_live(self) -> bool {
        matches!(self, Self::Upcoming | Self::InProgress)
    }
}

/// Who asks for a change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Actor {
    /// The driver who booked.
    Driver,
    /// The host of the site, or an admin.
    Host,
}

/// Why a change is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BookingRefusal {
    /// The booking is not in a state that allows it.
    #[error("a booking that is {0} cannot be changed that way")]
    WrongState(&'static str),
    /// The driver's cancellation deadline has passed.
    #[error("bookings can be cancelled by the driver until {0} minutes before the start")]
    DeadlinePassed(i64),
    /// The status asked for is set by the system, not by people.
    #[error("status {0} is set by Plugway itself")]
    NotSettable(&'static str),
}

impl BookingRefusal {
    /// The API error code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::WrongState(_) => "booking_state",
            Self::DeadlinePassed(_) => "cancellation_deadline_passed",
            Self::NotSettable(_) => "status_not_settable",
        }
    }
}

/// The rules a platform sets for bookings (`[bookings]` in the config).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BookingPolicy {
    /// Shortest slot.
    pub min_duration: Duration,
    /// Longest slot.
    pub max_duration: Duration,
    /// How far ahead a slot may start.
    pub horizon: Duration,
    /// A driver may cancel until this long before the start.
    pub cancel_deadline: Duration,
    /// A booking not started this long after its start is a no-show.
    pub no_show_grace: Duration,
    /// The connector is held (OCPP ReserveNow) from this long before the start.
    pub hold_lead: Duration,
    /// The driver is reminded this long before the start.
    pub reminder_lead: Duration,
    /// Live bookings one driver may hold at once.
    pub max_live_per_driver: i64,
}

impl Default for BookingPolicy {
    fn default() -> Self {
        Self {
            min_duration: Duration::minutes(15),
            max_duration: Duration::hours(12),
            horizon: Duration::days(30),
            cancel_deadline: Duration::minutes(30),
            no_show_grace: Duration::minutes(15),
            hold_lead: Duration::minutes(10),
            reminder_lead: Duration::minutes(30),
            max_live_per_driver: 5,
        }
    }
}

/// Slots are on a 5-minute grid, so they line up and nothing is booked
/// for 17 seconds.
pub const SLOT_STEP_MINUTES: i64 = 5;

/// A checked time slot: `[starts_at, ends_at)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Slot {
    /// First instant of the slot.
    pub starts_at: DateTime<Utc>,
    /// First instant after the slot.
    pub ends_at: DateTime<Utc>,
}

impl Slot {
    /// Checks a requested slot against the policy: on the grid, in the
    /// future, within the horizon, of an allowed length.
    pub fn new(
        starts_at: DateTime<Utc>,
        duration_minutes: i64,
        now: DateTime<Utc>,
        policy: &BookingPolicy,
    ) -> Result<Self, ValidationError> {
        if starts_at.timestamp() % (SLOT_STEP_MINUTES * 60) != 0
            || starts_at.timestamp_subsec_nanos() != 0
        {
            return Err(ValidationError::new(
                "starts_at",
                format!("must be on a {SLOT_STEP_MINUTES}-minute boundary (e.g. 14:05:00)"),
            ));
        }
        if starts_at <= now {
            return Err(ValidationError::new("starts_at", "must be in the future"));
        }
        if starts_at > now + policy.horizon {
            return Err(ValidationError::new(
                "starts_at",
                format!("must be within {} days", policy.horizon.num_days()),
            ));
        }
        // Checked as plain integers first: chrono panics on durations
        // beyond its range, and the input is a client's i64.
        if duration_minutes < policy.min_duration.num_minutes()
            || duration_minutes > policy.max_duration.num_minutes()
        {
            return Err(ValidationError::new(
                "duration_minutes",
                format!(
                    "must be from {} to {} minutes",
                    policy.min_duration.num_minutes(),
                    policy.max_duration.num_minutes()
                ),
            ));
        }
        if duration_minutes % SLOT_STEP_MINUTES != 0 {
            return Err(ValidationError::new(
                "duration_minutes",
                format!("must be a multiple of {SLOT_STEP_MINUTES}"),
            ));
        }
        let duration = Duration::minutes(duration_minutes);
        if duration < policy.min_duration || duration > policy.max_duration {
            return Err(ValidationError::new(
                "duration_minutes",
                format!(
                    "must be from {} to {} minutes",
                    policy.min_duration.num_minutes(),
                    policy.max_duration.num_minutes()
                ),
            ));
        }
        Ok(Self {
            starts_at,
            ends_at: starts_at + duration,
        })
    }

    /// Length of the slot.
    pub fn duration(&self) -> Duration {
        self.ends_at - self.starts_at
    }

    /// Shares an instant with `other` (half-open: back-to-back is fine).
    pub fn overlaps(&self, other: &Slot) -> bool {
        self.starts_at < other.ends_at && other.starts_at < self.ends_at
    }

    /// The site is open through the whole slot. Checked on the slot grid
    /// and at its last instant, which opening hours (minute resolution,
    /// on the same grid in practice) cannot slip between.
    pub fn within_hours(&self, hours: &OpeningHours, zone: &SiteTimeZone) -> bool {
        let step = Duration::minutes(SLOT_STEP_MINUTES);
        let mut at = self.starts_at;
        while at < self.ends_at {
            if !hours.is_open(at, zone) {
                return false;
            }
            at += step;
        }
        hours.is_open(self.ends_at - Duration::seconds(1), zone)
    }
}

/// The energy a slot is expected to deliver: the EVSE's power for the whole
/// slot, no more than the vehicle's battery holds.
pub fn expected_energy_wh(slot: &Slot, max_power_w: i64, battery_wh: Option<i64>) -> i64 {
    let seconds = slot.duration().num_seconds().max(0);
    let by_power = i64::try_from(i128::from(max_power_w.max(0)) * i128::from(seconds) / 3600)
        .unwrap_or(i64::MAX);
    match battery_wh {
        Some(battery) if battery > 0 => by_power.min(battery),
        _ => by_power,
    }
}

/// The price shown when booking: the tariff applied to the expected energy
/// delivered evenly over the slot. Charging less costs less; the session is
/// billed on what it really used.
pub fn estimate(tariff: &Tariff, slot: &Slot, energy_wh: i64) -> Cost {
    price(
        tariff,
        &Usage {
            started_at: slot.starts_at,
            meter_start_wh: 0,
            readings: vec![MeterReading {
                at: slot.ends_at,
                energy_wh: energy_wh.max(0),
            }],
            ended_at: slot.ends_at,
            waiting: Vec::new(),
        },
    )
}

/// May `actor` cancel a booking in `status` starting at `starts_at`, now?
pub fn check_cancel(
    status: BookingStatus,
    starts_at: DateTime<Utc>,
    actor: Actor,
    now: DateTime<Utc>,
    policy: &BookingPolicy,
) -> Result<(), BookingRefusal> {
    if status != BookingStatus::Upcoming {
        return Err(BookingRefusal::WrongState(status.as_str()));
    }
    if actor == Actor::Driver && now > starts_at - policy.cancel_deadline {
        return Err(BookingRefusal::DeadlinePassed(
            policy.cancel_deadline.num_minutes(),
        ));
    }
    Ok(())
}

/// The status a person may ask for through the status endpoint: only
/// `cancelled`; the others follow from what happens at the charger.
pub fn check_requested_status(status: BookingStatus) -> Result<(), BookingRefusal> {
    match status {
        BookingStatus::Cancelled => Ok(()),
        other => Err(BookingRefusal::NotSettable(other.as_str())),
    }
}

/// The window in which the booked driver's start counts as using the
/// booking, and in which others are kept off the EVSE.
pub fn held_window(slot: &Slot, policy: &BookingPolicy) -> Slot {
    Slot {
        starts_at: slot.starts_at - policy.hold_lead,
        ends_at: slot.ends_at,
    }
}

/// Reservation ids sent to chargers are 31-bit (OCPP `integer`); the
/// booking's sequence number wraps into that range.
pub fn reservation_id(seq: i64) -> i64 {
    seq.rem_euclid(i64::from(i32::MAX)).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use proptest::prelude::*;

    fn at(h: u32, m: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 23, h, m, 0).unwrap()
    }

    #[test]
    fn slots_are_checked() {
        let p = BookingPolicy::default();
        let now = at(10, 0);
        assert!(Slot::new(at(11, 0), 60, now, &p).is_ok());
        assert_eq!(
            Slot::new(at(11, 2), 60, now, &p).unwrap_err().field,
            "starts_at"
        );
        assert_eq!(
            Slot::new(at(9, 0), 60, now, &p).unwrap_err().field,
            "starts_at"
        );
        assert_eq!(
            Slot::new(at(11, 0), 7, now, &p).unwrap_err().field,
            "duration_minutes"
        );
        assert_eq!(
            Slot::new(at(11, 0), 10, now, &p).unwrap_err().field,
            "duration_minutes"
        );
        assert_eq!(
            Slot::new(at(11, 0), 13 * 60, now, &p).unwrap_err().field,
            "duration_minutes"
        );
        assert!(Slot::new(now + Duration::days(31), 60, now, &p).is_err());
        // Far beyond chrono's range: refused, never a panic.
        for huge in [i64::MAX, i64::MIN, 9_000_000_000_000_000, -5] {
            assert_eq!(
                Slot::new(at(11, 0), huge, now, &p).unwrap_err().field,
                "duration_minutes"
            );
        }
    }

    #[test]
    fn back_to_back_slots_do_not_overlap() {
        let p = BookingPolicy::default();
        let a = Slot::new(at(11, 0), 60, at(10, 0), &p).unwrap();
        let b = Slot::new(at(12, 0), 30, at(10, 0), &p).unwrap();
        let c = Slot::new(at(11, 55), 30, at(10, 0), &p).unwrap();
        assert!(!a.overlaps(&b) && !b.overlaps(&a));
        assert!(a.overlaps(&c) && c.overlaps(&a) && b.overlaps(&c));
    }

    #[test]
    fn drivers_cancel_until_the_deadline_hosts_until_the_start() {
        let p = BookingPolicy::default();
        let start = at(12, 0);
        assert!(check_cancel(
            BookingStatus::Upcoming,
            start,
            Actor::Driver,
            at(11, 30),
            &p
        )
        .is_ok());
        assert_eq!(
            check_cancel(
                BookingStatus::Upcoming,
                start,
                Actor::Driver,
                at(11, 31),
                &p
            ),
            Err(BookingRefusal::DeadlinePassed(30))
        );
        assert!(check_cancel(BookingStatus::Upcoming, start, Actor::Host, at(11, 59), &p).is_ok());
        assert_eq!(
            check_cancel(BookingStatus::InProgress, start, Actor::Host, at(11, 0), &p),
            Err(BookingRefusal::WrongState("in_progress"))
        );
        assert!(check_requested_status(BookingStatus::Completed).is_err());
        assert!(check_requested_status(BookingStatus::Cancelled).is_ok());
    }

    #[test]
    fn statuses_parse_in_both_spellings() {
        for s in BookingStatus::ALL {
            assert_eq!(BookingStatus::parse(s.as_str()), Some(s));
        }
        assert_eq!(
            BookingStatus::parse("Upcoming"),
            Some(BookingStatus::Upcoming)
        );
        assert_eq!(
            BookingStatus::parse("Canceled"),
            Some(BookingStatus::Cancelled)
        );
        assert_eq!(BookingStatus::parse("no-show"), Some(BookingStatus::NoShow));
        assert_eq!(BookingStatus::parse("done"), None);
    }

    #[test]
    fn the_estimate_prices_expected_energy_and_time() {
        let p = BookingPolicy::default();
        let slot = Slot::new(at(11, 0), 120, at(10, 0), &p).unwrap();
        // 22 kW for 2 h is 44 kWh, but the battery takes 30.
        let energy = expected_energy_wh(&slot, 22_000, Some(30_000));
        assert_eq!(energy, 30_000);
        let tariff = Tariff::simple(
            crate::Currency::parse("USD").unwrap(),
            SiteTimeZone::utc(),
            50,
            100,
            0,
        );
        let cost = estimate(&tariff, &slot, energy);
        assert_eq!(cost.energy_amount, 1_500);
        assert_eq!(cost.time_amount, 200);
    }

    #[test]
    fn reservation_ids_fit_ocpp_integers() {
        assert_eq!(reservation_id(1), 1);
        assert_eq!(reservation_id(i64::from(i32::MAX)), 1);
        assert!(reservation_id(i64::MAX) <= i64::from(i32::MAX));
    }

    proptest! {
        #[test]
        fn overlap_is_symmetric_and_matches_the_definition(
            a in 0i64..1000, la in 1i64..200, b in 0i64..1000, lb in 1i64..200,
        ) {
            let base = at(0, 0);
            let x = Slot { starts_at: base + Duration::minutes(a), ends_at: base + Duration::minutes(a + la) };
            let y = Slot { starts_at: base + Duration::minutes(b), ends_at: base + Duration::minutes(b + lb) };
            prop_assert_eq!(x.overlaps(&y), y.overlaps(&x));
            let shared = (a + la).min(b + lb) - a.max(b);
            prop_assert_eq!(x.overlaps(&y), shared > 0);
        }
    }
}
