//! Tariffs, and what a session costs under one, as a pure function.
//!
//! A [`Tariff`] is frozen on a session when it starts (stored as JSON,
//! camelCase). [`price`] takes it and the session's [`Usage`] and returns a
//! [`Cost`] breakdown (also stored as JSON and shown to apps). The same call
//! prices a running session (`ended_at` is now) and a finished one.
//!
//! Money is integer minor units of the tariff's [`Currency`] (centavos,
//! möngö, yen).
//!
//! # The rules
//!
//! **Clock.** Instants are read to the whole second, fractions dropped:
//! the second is the unit time is prorated in. `ended_at` before
//! `started_at` counts as no time at all.
//!
//! **Periods.** The prices in force at an instant are those of the first
//! [`TariffPeriod`] that covers the instant's weekday and time of day on the
//! wall clock of the tariff's zone, or the base prices when none does; a
//! price a period leaves `None` is the base price. Local time is always
//! worked out from the UTC instant, so summer time needs no special case:
//! the hour skipped in spring is never charged, the hour repeated in autumn
//! is charged twice as the wall clock reads it, and a period boundary that
//! falls in the skipped hour takes effect when the clock jumps over it.
//! Periods are looked up for the first 366 days after `started_at`; after
//! that the base prices apply. No session lasts that long, and the cap
//! bounds the work on absurd input.
//!
//! **Energy** is what the meter register rose by: readings are taken in
//! time order, starting from (`started_at`, `meter_start_wh`), and each step
//! adds the rise from the reading before ([`register_rise`]). A step down
//! (a glitch, or a meter reset after a reboot) adds nothing and the
//! register counts on from its new value, so energy never goes negative;
//! when the register never goes backwards the total is just last reading −
//! `meter_start_wh`. A step down from the top hundredth under a point
//! where registers wrap (10^6 to 10^12 Wh, 2^31 or 2^32 Wh) to the bottom
//! hundredth above zero is a rollover: the step adds what the register ran
//! to its wrap and on from zero (at most 500 kWh in all; anything else is
//! read as a reset). A reading
//! stamped before `started_at` is taken to be at `started_at`; one stamped
//! after `ended_at` stays where it is (the charger's clock may run ahead of
//! ours, and the energy is real). The energy of a step is spread evenly over
//! the time between its two readings and each part is priced by the period
//! in force; a step with no time between its readings is priced at that
//! instant. Parts are whole milliwatt-hours (the split uses cumulative
//! floors, so the parts add up to the step exactly): less than 1 mWh of a
//! step lands on the other side of a boundary than an exact split would
//! put it, and the whole component keeps one denominator, so it can be
//! summed exactly. (Exact fractions would need a denominator per step,
//! whose product overflows any fixed-width integer.)
//!
//! **Waiting** is the time inside the waiting spans (connected, not
//! drawing) between `started_at` and `ended_at`; overlapping spans count
//! once. The first `waiting_grace_minutes` of it, in time order, are free;
//! the rest is billed per second, prorated from the per-minute price of the
//! period in force.
//!
//! **Charging time** is `ended_at − started_at` minus the waiting time,
//! billed per second, prorated from the hourly price of the period in force.
//! More waiting in the same session moves time from charging to waiting: it
//! is the same time, priced differently.
//!
//! **Session fee** is charged once, always: a session with no energy and no
//! time still pays it.
//!
//! # Rounding
//!
//! Each of energy, time and waiting is computed exactly as an integer
//! fraction (i128: millionths of a minor unit for energy, 3600ths for time,
//! 60ths for waiting) and rounded half up to minor units once, at the end,
//! not per step or per period.
//! The subtotal is the four amounts added (less the credit for a plan's
//! free energy, when [`Cost::with_included_energy`] applies one), then raised to `min_price` and
//! lowered to `max_price` (when both are set and `min_price > max_price`,
//! which [`Tariff::validate`] refuses, `max_price` wins). Tax is subtotal ×
//! `tax_basis_points` / 10000, rounded half up; total = subtotal + tax.
//!
//! With non-negative prices the cost only grows as a session goes on: a
//! reading appended after the last one, or a later `ended_at`, never lowers
//! the energy, an amount, the subtotal, the tax or the total (only
//! `adjustment` shrinks as the minimum price is reached), so a running
//! session's cost never goes down on an app.
//!
//! # Bad input
//!
//! [`price`] never panics and never overflows. Amounts saturate at
//! `i64::MAX`; at that ceiling the tax is cut so that total = subtotal + tax
//! still holds. In a tariff that skipped [`Tariff::validate`], a negative
//! price, fee, grace, bound or tax counts as zero and periods past
//! [`MAX_PERIODS`] are ignored. Readings out of order are put in order
//! (equal instants keep their order); a waiting span that ends before it
//! starts is ignored.

use chrono::{
    DateTime, Datelike, NaiveDateTime, NaiveTime, Offset, TimeZone, Timelike, Utc, Weekday,
};
use serde::{Deserialize, Serialize};

use crate::{Currency, SiteTimeZone, ValidationError};

/// At most this many periods: a week of peak, shoulder and night prices
/// fits easily, and the cap bounds the work of pricing one session.
pub const MAX_PERIODS: usize = 50;

/// The prices of one charging offer, frozen on a session when it starts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Tariff {
    /// What every amount is in.
    pub currency: Currency,
    /// Where the periods' weekdays and times of day are read.
    pub time_zone: SiteTimeZone,
    /// Minor units per kWh delivered.
    pub energy_price_per_kwh: i64,
    /// Minor units per hour of charging, prorated per second.
    pub time_price_per_hour: i64,
    /// Minor units per minute of waiting (connected, not drawing; seed 001
    /// `waitingPrice`), prorated per second.
    #[serde(default)]
    pub waiting_price_per_minute: i64,
    /// Minutes of waiting that are free, once per session.
    #[serde(default)]
    pub waiting_grace_minutes: i64,
    /// Flat fee, once per session.
    #[serde(default)]
    pub session_fee: i64,
    /// The least a session costs before tax.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_price: Option<i64>,
    /// The most a session costs before tax.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_price: Option<i64>,
    /// Service tax in hundredths of a percent: 1800 is 18.00 %.
    #[serde(default)]
    pub tax_basis_points: i64,
    /// Weekday and time-of-day overrides; the first that matches wins.
    #[serde(default)]
    pub periods: Vec<TariffPeriod>,
}

/// Prices that apply on some weekdays between two local times of day.
///
/// The weekday is the day the period starts: a Friday 22:00–06:00 period
/// covers Saturday 03:00 but not Friday 03:00. `end` equal to `start` makes
/// a whole day from `start`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TariffPeriod {
    /// Days the period starts on ("Mon" … "Sun"); empty means every day.
    #[serde(default)]
    pub weekdays: Vec<Weekday>,
    /// Local time the period starts, inclusive, whole seconds ("22:00").
    pub start: NaiveTime,
    /// Local time the period ends, exclusive; at or before `start` it runs
    /// past midnight into the next day.
    pub end: NaiveTime,
    /// Replaces the tariff's energy price; `None` keeps it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub energy_price_per_kwh: Option<i64>,
    /// Replaces the tariff's hourly price; `None` keeps it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_price_per_hour: Option<i64>,
    /// Replaces the tariff's waiting price; `None` keeps it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waiting_price_per_minute: Option<i64>,
}

impl Tariff {
    /// A tariff with these three prices and nothing else: no fee, grace,
    /// bounds, tax or periods.
    pub fn simple(
        currency: Currency,
        time_zone: SiteTimeZone,
        energy_price_per_kwh: i64,
        time_price_per_hour: i64,
        waiting_price_per_minute: i64,
    ) -> Self {
        Self {
            currency,
            time_zone,
            energy_price_per_kwh,
            time_price_per_hour,
            waiting_price_per_minute,
            waiting_grace_minutes: 0,
            session_fee: 0,
            min_price: None,
            max_price: None,
            tax_basis_points: 0,
            periods: Vec::new(),
        }
    }

    /// Checks what an operator sent: no negative price, fee, grace or
    /// bound; `minPrice` at most `maxPrice`; tax from 0 to 10000 basis
    /// points; at most [`MAX_PERIODS`] periods, each with whole-second
    /// times, no weekday twice and no negative price.
    ///
    /// Field names are the JSON ones, as the client sent them.
    pub fn validate(&self) -> Result<(), ValidationError> {
        let amounts = [
            ("energyPricePerKwh", Some(self.energy_price_per_kwh)),
            ("timePricePerHour", Some(self.time_price_per_hour)),
            ("waitingPricePerMinute", Some(self.waiting_price_per_minute)),
            ("waitingGraceMinutes", Some(self.waiting_grace_minutes)),
            ("sessionFee", Some(self.session_fee)),
            ("minPrice", self.min_price),
            ("maxPrice", self.max_price),
        ];
        for (field, amount) in amounts {
            if amount.is_some_and(|a| a < 0) {
                return Err(ValidationError::new(field, "must not be negative"));
            }
        }
        if let (Some(min), Some(max)) = (self.min_price, self.max_price) {
            if min > max {
                return Err(ValidationError::new(
                    "minPrice",
                    "must not be more than maxPrice",
                ));
            }
        }
        if !(0..=10_000).contains(&self.tax_basis_points) {
            return Err(ValidationError::new(
                "taxBasisPoints",
                "must be 0 to 10000 (100.00 %)",
            ));
        }
        if self.periods.len() > MAX_PERIODS {
            return Err(ValidationError::new(
                "periods",
                format!("at most {MAX_PERIODS} periods"),
            ));
        }
        for (i, period) in self.periods.iter().enumerate() {
            period
                .check()
                .map_err(|what| ValidationError::new("periods", format!("periods[{i}]: {what}")))?;
        }
        Ok(())
    }
}

impl TariffPeriod {
    /// What is wrong with this period, if anything.
    fn check(&self) -> Result<(), &'static str> {
        // Pricing works in whole seconds; a fraction would move the
        // boundary by a second without anyone seeing why.
        if self.start.nanosecond() != 0 || self.end.nanosecond() != 0 {
            return Err("start and end must be whole seconds");
        }
        for (i, day) in self.weekdays.iter().enumerate() {
            if self.weekdays.iter().take(i).any(|d| d == day) {
                return Err("a weekday is listed twice");
            }
        }
        let prices = [
            self.energy_price_per_kwh,
            self.time_price_per_hour,
            self.waiting_price_per_minute,
        ];
        if prices.iter().flatten().any(|&p| p < 0) {
            return Err("prices must not be negative");
        }
        Ok(())
    }
}

/// A meter reading: the charger's energy register at an instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MeterReading {
    /// When the charger read the register.
    pub at: DateTime<Utc>,
    /// The register, in Wh.
    pub energy_wh: i64,
}

/// What a session used, as [`price`] sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Usage {
    /// When the session started.
    pub started_at: DateTime<Utc>,
    /// The register at the start, in Wh.
    pub meter_start_wh: i64,
    /// Readings since, in time order; the last is the latest (or the stop).
    #[serde(default)]
    pub readings: Vec<MeterReading>,
    /// Now for a running session, the stop for a finished one.
    pub ended_at: DateTime<Utc>,
    /// Spans connected but not drawing (OCPP `SuspendedEV`), as (from, to);
    /// a span still open ends at `ended_at`.
    #[serde(default)]
    pub waiting: Vec<(DateTime<Utc>, DateTime<Utc>)>,
}

/// What a session costs, line by line, in minor units of `currency`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Cost {
    /// The tariff's currency.
    pub currency: Currency,
    /// Energy delivered, in Wh.
    pub energy_wh: i64,
    /// Seconds of the session not spent waiting.
    pub charging_seconds: i64,
    /// Seconds spent waiting.
    pub waiting_seconds: i64,
    /// Waiting seconds after the grace, the ones billed.
    pub billed_waiting_seconds: i64,
    /// The price of the energy.
    pub energy_amount: i64,
    /// The price of the charging time.
    pub time_amount: i64,
    /// The price of the billed waiting.
    pub waiting_amount: i64,
    /// The flat session fee.
    pub session_fee: i64,
    /// What the free energy of the driver's plans took off the energy
    /// amount ([`Cost::with_included_energy`]); 0 when none applied.
    /// Missing in costs stored before it existed, which read as 0.
    #[serde(default)]
    pub included_energy_credit: i64,
    /// What the minimum or maximum price added (positive) or took off
    /// (negative): subtotal minus (the four amounts above less the
    /// included energy credit).
    pub adjustment: i64,
    /// The four amounts added, less the included energy credit, then held
    /// between the minimum and maximum price. Before tax.
    pub subtotal: i64,
    /// Service tax on the subtotal.
    pub tax: i64,
    /// What the driver pays: subtotal + tax.
    pub total: i64,
}

/// How long [`price`] looks up periods for, from `started_at`.
const PERIOD_HORIZON_SECONDS: i64 = 366 * 86_400;
const SECONDS_PER_DAY: u32 = 86_400;
/// Energy is split in mWh and priced per kWh: amounts come out in
/// millionths of a minor unit.
const ENERGY_DENOMINATOR: i128 = 1_000_000;

/// The most energy a step through a register's wrap may carry to be read
/// as a rollover, Wh.
const MAX_ROLLOVER_STEP_WH: i128 = 500_000;

/// Where meter registers wrap, Wh, ascending: decimal counters of 7 to 13
/// digits (a kWh register with 3 decimals is one of these in Wh) and 32-bit
/// signed and unsigned ones.
const REGISTER_WRAPS: [i128; 9] = [
    1_000_000,
    10_000_000,
    100_000_000,
    1_000_000_000,
    2_147_483_648,
    4_294_967_296,
    10_000_000_000,
    100_000_000_000,
    1_000_000_000_000,
];

/// What a register rose by from `previous` to `next` (Wh): the difference
/// when it went up; when it went down, what it ran through a wrap point if
/// that reads as a rollover (it was in the top hundredth of the range under
/// the wrap and is now in the bottom hundredth above zero, and the step is
/// at most 500 kWh), else nothing (a reset or a glitch: a meter that
/// restarts from 0 mid-range is never billed the rest of its range).
pub fn register_rise(previous: i64, next: i64) -> i128 {
    let (p, n) = (i128::from(previous), i128::from(next));
    if n >= p {
        return n - p;
    }
    if n < 0 {
        return 0;
    }
    let Some(wrap) = REGISTER_WRAPS.iter().copied().find(|&w| w > p) else {
        return 0;
    };
    let near = wrap / 100;
    let through = (wrap - p) + n;
    if wrap - p <= near && n <= near && through <= MAX_ROLLOVER_STEP_WH {
        through
    } else {
        0
    }
}

/// What a session costs under a tariff. See the module documentation for
/// the rules; this never panics, whatever the input.
pub fn price(tariff: &Tariff, usage: &Usage) -> Cost {
    let start = usage.started_at.timestamp();
    let end = usage.ended_at.timestamp().max(start);
    let schedule = Schedule::new(tariff, start);

    // Energy: the rises of the register, each spread over its step.
    let mut readings: Vec<(i64, i64)> = usage
        .readings
        .iter()
        .map(|r| (r.at.timestamp().max(start), r.energy_wh))
        .collect();
    // Stable, so readings at the same second keep the charger's order.
    readings.sort_by_key(|&(at, _)| at);
    let (mut energy_wh, mut energy_units) = (0_i128, 0_i128);
    let mut previous = (start, usage.meter_start_wh);
    for (at, wh) in readings {
        let rise = register_rise(previous.1, wh);
        if rise > 0 {
            energy_wh = energy_wh.saturating_add(rise);
            let milli_wh = rise.saturating_mul(1_000);
            energy_units = energy_units.saturating_add(schedule.spread(previous.0, at, milli_wh));
        }
        previous = (at, wh);
    }

    // Waiting, the part of it past the grace, and charging: the rest.
    let waiting = merged_spans(&usage.waiting, start, end);
    let grace = tariff.waiting_grace_minutes.max(0).saturating_mul(60);
    let billed = after_grace(&waiting, grace);
    let charging = gaps(&waiting, start, end);
    let time_units = charging.iter().fold(0_i128, |sum, &(a, b)| {
        sum.saturating_add(schedule.integrate(a, b, |r| r.time_per_hour))
    });
    let waiting_units = billed.iter().fold(0_i128, |sum, &(a, b)| {
        sum.saturating_add(schedule.integrate(a, b, |r| r.waiting_per_minute))
    });

    let energy_amount = round_half_up(energy_units, ENERGY_DENOMINATOR);
    let time_amount = round_half_up(time_units, 3_600);
    let waiting_amount = round_half_up(waiting_units, 60);
    let session_fee = tariff.session_fee.max(0);
    let lines = Cost {
        currency: tariff.currency,
        energy_wh: saturate(energy_wh),
        charging_seconds: total_length(&charging),
        waiting_seconds: total_length(&waiting),
        billed_waiting_seconds: total_length(&billed),
        energy_amount,
        time_amount,
        waiting_amount,
        session_fee,
        included_energy_credit: 0,
        adjustment: 0,
        subtotal: 0,
        tax: 0,
        total: 0,
    };
    lines.settle(tariff)
}

impl Cost {
    /// This cost with `free_wh` of its energy free (the included energy of
    /// the driver's plans, see [`crate::plan::free_energy_wh`]): the energy
    /// amount's share for those Wh ([`crate::plan::included_energy_credit`],
    /// the session's average energy price, rounded half up, at most the
    /// energy amount) becomes [`Cost::included_energy_credit`], taken off
    /// before the minimum and maximum price apply, and the tax is worked
    /// out again on the lower subtotal. `tariff` is the one the cost was
    /// priced under. `free_wh` of 0 (or less) gives the cost unchanged.
    ///
    /// The minimum price still holds (a session covered by free energy
    /// pays at least it, as with a waived fee), and the maximum price caps
    /// what is left after the credit.
    pub fn with_included_energy(self, tariff: &Tariff, free_wh: i64) -> Cost {
        let credit =
            crate::plan::included_energy_credit(self.energy_amount, self.energy_wh, free_wh);
        Cost {
            included_energy_credit: credit,
            ..self
        }
        .settle(tariff)
    }

    /// Subtotal, adjustment, tax and total from the lines and the credit,
    /// under the tariff's bounds and tax.
    fn settle(self, tariff: &Tariff) -> Cost {
        let credit = self
            .included_energy_credit
            .clamp(0, self.energy_amount.max(0));
        let sum = self
            .energy_amount
            .saturating_sub(credit)
            .saturating_add(self.time_amount)
            .saturating_add(self.waiting_amount)
            .saturating_add(self.session_fee);
        let mut subtotal = sum;
        if let Some(min) = tariff.min_price {
            subtotal = subtotal.max(min.max(0));
        }
        if let Some(max) = tariff.max_price {
            subtotal = subtotal.min(max.max(0));
        }
        let tax_units =
            i128::from(subtotal).saturating_mul(i128::from(tariff.tax_basis_points.max(0)));
        // Cut at the ceiling so that total = subtotal + tax holds even there.
        let tax = round_half_up(tax_units, 10_000).min(i64::MAX - subtotal);
        Cost {
            included_energy_credit: credit,
            adjustment: subtotal - sum,
            subtotal,
            tax,
            total: subtotal + tax,
            ..self
        }
    }
}

/// `n / d` rounded half up, saturated to i64; `n` is never negative here
/// and `d` is a positive constant.
fn round_half_up(n: i128, d: i128) -> i64 {
    let (quotient, remainder) = (n / d, n % d);
    // remainder >= d / 2 without losing the half when d is odd.
    let up = i128::from(remainder >= d - remainder);
    saturate(quotient.saturating_add(up))
}

fn saturate(n: i128) -> i64 {
    i64::try_from(n.max(0)).unwrap_or(i64::MAX)
}

fn total_length(spans: &[(i64, i64)]) -> i64 {
    spans
        .iter()
        .fold(0_i64, |sum, &(a, b)| sum.saturating_add(b - a))
}

/// The spans clipped to [start, end], sorted, overlaps and touching spans
/// joined, empty ones dropped: a set of seconds, as disjoint spans.
fn merged_spans(spans: &[(DateTime<Utc>, DateTime<Utc>)], start: i64, end: i64) -> Vec<(i64, i64)> {
    let mut clipped: Vec<(i64, i64)> = spans
        .iter()
        .map(|(from, to)| (from.timestamp().max(start), to.timestamp().min(end)))
        .filter(|(from, to)| from < to)
        .collect();
    clipped.sort_unstable();
    let mut merged: Vec<(i64, i64)> = Vec::with_capacity(clipped.len());
    for (from, to) in clipped {
        match merged.last_mut() {
            Some(last) if from <= last.1 => last.1 = last.1.max(to),
            _ => merged.push((from, to)),
        }
    }
    merged
}

/// The disjoint sorted spans without their first `grace` seconds.
fn after_grace(spans: &[(i64, i64)], grace: i64) -> Vec<(i64, i64)> {
    let mut left = grace;
    let mut billed = Vec::with_capacity(spans.len());
    for &(from, to) in spans {
        let free = left.min(to - from);
        left -= free;
        if from + free < to {
            billed.push((from + free, to));
        }
    }
    billed
}

/// [start, end] minus the disjoint sorted spans inside it.
fn gaps(spans: &[(i64, i64)], start: i64, end: i64) -> Vec<(i64, i64)> {
    let mut rest = Vec::with_capacity(spans.len() + 1);
    let mut at = start;
    for &(from, to) in spans {
        if at < from {
            rest.push((at, from));
        }
        at = to;
    }
    if at < end {
        rest.push((at, end));
    }
    rest
}

/// The prices in force at some instant, none negative.
#[derive(Debug, Clone, Copy)]
struct Rates {
    energy_per_kwh: i64,
    time_per_hour: i64,
    waiting_per_minute: i64,
}

/// A tariff's prices laid out on the time line of one session (Unix
/// seconds).
struct Schedule<'a> {
    zone: chrono_tz::Tz,
    base: Rates,
    periods: &'a [TariffPeriod],
    /// Every time of day, in seconds, at which some period starts or ends,
    /// sorted. After the last comes midnight, where the weekday changes.
    boundaries: Vec<u32>,
    /// Periods are not looked up from here on.
    horizon: i64,
}

impl<'a> Schedule<'a> {
    fn new(tariff: &'a Tariff, start: i64) -> Self {
        let periods = tariff
            .periods
            .get(..tariff.periods.len().min(MAX_PERIODS))
            .unwrap_or_default();
        let mut boundaries: Vec<u32> = periods
            .iter()
            .flat_map(|p| [seconds_of_day(p.start), seconds_of_day(p.end)])
            .collect();
        boundaries.sort_unstable();
        boundaries.dedup();
        Self {
            zone: tariff.time_zone.tz(),
            base: Rates {
                energy_per_kwh: tariff.energy_price_per_kwh.max(0),
                time_per_hour: tariff.time_price_per_hour.max(0),
                waiting_per_minute: tariff.waiting_price_per_minute.max(0),
            },
            periods,
            boundaries,
            horizon: start.saturating_add(PERIOD_HORIZON_SECONDS),
        }
    }

    /// Wall-clock time and UTC offset at a Unix second, if chrono can
    /// represent it.
    fn local(&self, t: i64) -> Option<(NaiveDateTime, i32)> {
        let utc = DateTime::from_timestamp(t, 0)?.naive_utc();
        let offset = self.zone.offset_from_utc_datetime(&utc).fix();
        // Checked, unlike `DateTime::naive_local`, which panics when the
        // offset pushes the last instants chrono has past its calendar.
        let local = utc.checked_add_offset(offset)?;
        Some((local, offset.local_minus_utc()))
    }

    fn rates_at(&self, t: i64) -> Rates {
        if self.periods.is_empty() || t >= self.horizon {
            return self.base;
        }
        let Some((local, _)) = self.local(t) else {
            return self.base;
        };
        let (weekday, second) = (local.weekday(), local.num_seconds_from_midnight());
        self.periods
            .iter()
            .find(|p| p.covers(weekday, second))
            .map_or(self.base, |p| p.rates(self.base))
    }

    /// The first second after `t` at which the prices may change: the next
    /// boundary on the wall clock, or a change of UTC offset before it.
    fn next_change(&self, t: i64) -> i64 {
        let Some((local, offset)) = self.local(t) else {
            return i64::MAX;
        };
        let now = local.num_seconds_from_midnight();
        let next = self
            .boundaries
            .iter()
            .copied()
            .find(|&b| b > now)
            .unwrap_or(SECONDS_PER_DAY);
        let candidate = t.saturating_add(i64::from(next.saturating_sub(now).max(1)));
        let offset_at = |u: i64| self.local(u).map(|(_, o)| o);
        if offset_at(candidate) == Some(offset) {
            return candidate;
        }
        // The offset changed on the way (summer time, or a zone moving):
        // the first second with the new offset is where the wall clock
        // jumps. Zones do not change offset twice within a day.
        let (mut same, mut changed) = (t, candidate);
        while changed - same > 1 {
            let middle = same + (changed - same) / 2;
            if offset_at(middle) == Some(offset) {
                same = middle;
            } else {
                changed = middle;
            }
        }
        changed
    }

    /// Calls `f(seconds, rates)` for consecutive pieces of [a, b) with
    /// constant prices.
    fn for_each_piece(&self, a: i64, b: i64, mut f: impl FnMut(i64, Rates)) {
        if self.periods.is_empty() {
            if a < b {
                f(b - a, self.base);
            }
            return;
        }
        let mut t = a;
        while t < b {
            if t >= self.horizon {
                f(b - t, self.base);
                return;
            }
            let next = self.next_change(t).min(b).min(self.horizon);
            f(next - t, self.rates_at(t));
            t = next;
        }
    }

    /// Σ seconds × price over [a, b), for the price `pick` chooses.
    fn integrate(&self, a: i64, b: i64, pick: impl Fn(&Rates) -> i64) -> i128 {
        let mut sum = 0_i128;
        self.for_each_piece(a, b, |seconds, rates| {
            sum = sum.saturating_add(i128::from(seconds).saturating_mul(i128::from(pick(&rates))));
        });
        sum
    }

    /// The price, in millionths of a minor unit, of `milli_wh` delivered
    /// evenly over [a, b) (at instant a when b <= a).
    fn spread(&self, a: i64, b: i64, milli_wh: i128) -> i128 {
        if b <= a {
            return milli_wh.saturating_mul(i128::from(self.rates_at(a).energy_per_kwh));
        }
        let length = i128::from(b - a);
        let (mut elapsed, mut allotted, mut amount) = (0_i128, 0_i128, 0_i128);
        self.for_each_piece(a, b, |seconds, rates| {
            elapsed += i128::from(seconds);
            // Cumulative floors: the last piece ends at elapsed = length,
            // so the pieces add up to milli_wh exactly.
            let upto = milli_wh.saturating_mul(elapsed) / length;
            let part = upto - allotted;
            allotted = upto;
            amount = amount.saturating_add(part.saturating_mul(i128::from(rates.energy_per_kwh)));
        });
        amount
    }
}

fn seconds_of_day(time: NaiveTime) -> u32 {
    time.num_seconds_from_midnight()
}

impl TariffPeriod {
    /// Does the period cover this local weekday and second of the day?
    fn covers(&self, weekday: Weekday, second: u32) -> bool {
        let (start, end) = (seconds_of_day(self.start), seconds_of_day(self.end));
        let on = |day: Weekday| self.weekdays.is_empty() || self.weekdays.contains(&day);
        if start < end {
            on(weekday) && start <= second && second < end
        } else {
            // Past midnight: the evening of a listed day, or the morning
            // after one.
            (on(weekday) && second >= start) || (on(weekday.pred()) && second < end)
        }
    }

    fn rates(&self, base: Rates) -> Rates {
        let or_base = |price: Option<i64>, base: i64| price.map_or(base, |p| p.max(0));
        Rates {
            energy_per_kwh: or_base(self.energy_price_per_kwh, base.energy_per_kwh),
            time_per_hour: or_base(self.time_price_per_hour, base.time_per_hour),
            waiting_per_minute: or_base(self.waiting_price_per_minute, base.waiting_per_minute),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn php() -> Currency {
        Currency::parse("PHP").unwrap()
    }

    fn hm(h: u32, m: u32) -> NaiveTime {
        NaiveTime::from_hms_opt(h, m, 0).unwrap()
    }

    fn night(energy: i64) -> TariffPeriod {
        TariffPeriod {
            weekdays: Vec::new(),
            start: hm(22, 0),
            end: hm(6, 0),
            energy_price_per_kwh: Some(energy),
            time_price_per_hour: None,
            waiting_price_per_minute: None,
        }
    }

    #[test]
    fn simple_has_only_the_three_prices() {
        let t = Tariff::simple(php(), SiteTimeZone::utc(), 1500, 6000, 20);
        assert_eq!(t.energy_price_per_kwh, 1500);
        assert_eq!(t.time_price_per_hour, 6000);
        assert_eq!(t.waiting_price_per_minute, 20);
        assert_eq!(
            (t.waiting_grace_minutes, t.session_fee, t.tax_basis_points),
            (0, 0, 0)
        );
        assert_eq!((t.min_price, t.max_price), (None, None));
        assert!(t.periods.is_empty());
        t.validate().unwrap();
    }

    #[test]
    fn validate_catches_each_mistake() {
        let ok = || {
            let mut t = Tariff::simple(php(), SiteTimeZone::utc(), 1500, 6000, 20);
            t.min_price = Some(100);
            t.max_price = Some(100);
            t.tax_basis_points = 10_000;
            t.periods = vec![night(900); MAX_PERIODS];
            t
        };
        ok().validate().unwrap();
        let bad = |change: &dyn Fn(&mut Tariff), field: &str, needle: &str| {
            let mut t = ok();
            change(&mut t);
            let err = t.validate().unwrap_err();
            assert_eq!(err.field, field);
            assert!(err.message.contains(needle), "{} !~ {needle}", err.message);
        };
        let negative = "must not be negative";
        bad(
            &|t| t.energy_price_per_kwh = -1,
            "energyPricePerKwh",
            negative,
        );
        bad(
            &|t| t.time_price_per_hour = -1,
            "timePricePerHour",
            negative,
        );
        bad(
            &|t| t.waiting_price_per_minute = -1,
            "waitingPricePerMinute",
            negative,
        );
        bad(
            &|t| t.waiting_grace_minutes = -1,
            "waitingGraceMinutes",
            negative,
        );
        bad(&|t| t.session_fee = -1, "sessionFee", negative);
        bad(&|t| t.min_price = Some(-1), "minPrice", negative);
        bad(&|t| t.max_price = Some(-1), "maxPrice", negative);
        bad(&|t| t.min_price = Some(101), "minPrice", "maxPrice");
        bad(&|t| t.tax_basis_points = -1, "taxBasisPoints", "10000");
        bad(&|t| t.tax_basis_points = 10_001, "taxBasisPoints", "10000");
        bad(&|t| t.periods.push(night(1)), "periods", "at most 50");
        let period = |change: &dyn Fn(&mut TariffPeriod), needle: &str| {
            let mut t = ok();
            change(t.periods.last_mut().unwrap());
            let err = t.validate().unwrap_err();
            assert_eq!(err.field, "periods");
            assert!(err.message.starts_with("periods[49]: "), "{}", err.message);
            assert!(err.message.contains(needle), "{} !~ {needle}", err.message);
        };
        period(
            &|p| p.start = NaiveTime::from_hms_milli_opt(22, 0, 0, 500).unwrap(),
            "whole seconds",
        );
        period(
            &|p| p.end = NaiveTime::from_hms_nano_opt(6, 0, 0, 1).unwrap(),
            "whole seconds",
        );
        period(
            &|p| p.weekdays = vec![Weekday::Mon, Weekday::Fri, Weekday::Mon],
            "twice",
        );
        period(&|p| p.energy_price_per_kwh = Some(-1), negative);
        period(&|p| p.time_price_per_hour = Some(-1), negative);
        period(&|p| p.waiting_price_per_minute = Some(-1), negative);
        // Either bound alone, a whole-day period and an empty period are fine.
        let mut t = ok();
        t.min_price = None;
        t.periods = vec![TariffPeriod {
            weekdays: vec![Weekday::Sat, Weekday::Sun],
            start: hm(0, 0),
            end: hm(0, 0),
            energy_price_per_kwh: None,
            time_price_per_hour: None,
            waiting_price_per_minute: None,
        }];
        t.validate().unwrap();
        t.max_price = None;
        t.min_price = Some(5);
        t.validate().unwrap();
    }

    #[test]
    fn json_is_camel_case_and_fills_in_defaults() {
        let t: Tariff = serde_json::from_str(
            r#"{"currency":"mnt","timeZone":"Asia/Ulaanbaatar",
                "energyPricePerKwh":45000,"timePricePerHour":0,
                "periods":[{"weekdays":["Fri","Saturday"],"start":"22:00","end":"06:00",
                            "energyPricePerKwh":30000}]}"#,
        )
        .unwrap();
        assert_eq!(t.currency.code(), "MNT");
        assert_eq!(t.time_zone.name(), "Asia/Ulaanbaatar");
        assert_eq!((t.waiting_price_per_minute, t.session_fee), (0, 0));
        assert_eq!(t.min_price, None);
        let p = t.periods.first().unwrap();
        assert_eq!(p.weekdays, [Weekday::Fri, Weekday::Sat]);
        assert_eq!((p.start, p.end), (hm(22, 0), hm(6, 0)));
        assert_eq!(p.energy_price_per_kwh, Some(30_000));
        assert_eq!(p.time_price_per_hour, None);
        let json = serde_json::to_value(&t).unwrap();
        assert_eq!(json["energyPricePerKwh"], 45_000);
        assert_eq!(json["waitingGraceMinutes"], 0);
        assert_eq!(json["periods"][0]["weekdays"][1], "Sat");
        assert_eq!(json["periods"][0]["start"], "22:00:00");
        assert!(json.get("minPrice").is_none());
        let back: Tariff = serde_json::from_value(json).unwrap();
        assert_eq!(back, t);
        // The prices that make a tariff are not optional.
        assert!(serde_json::from_str::<Tariff>(
            r#"{"currency":"PHP","timeZone":"UTC","energyPricePerKwh":1}"#
        )
        .is_err());
    }

    fn zone(name: &str) -> SiteTimeZone {
        SiteTimeZone::parse(name).unwrap()
    }

    fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, s).unwrap()
    }

    /// A session with these readings (Wh, from a meter start of 0) and no
    /// waiting.
    fn usage(start: DateTime<Utc>, end: DateTime<Utc>, readings: &[(DateTime<Utc>, i64)]) -> Usage {
        Usage {
            started_at: start,
            meter_start_wh: 0,
            readings: readings
                .iter()
                .map(|&(at, energy_wh)| MeterReading { at, energy_wh })
                .collect(),
            ended_at: end,
            waiting: Vec::new(),
        }
    }

    fn period(start: NaiveTime, end: NaiveTime) -> TariffPeriod {
        TariffPeriod {
            weekdays: Vec::new(),
            start,
            end,
            energy_price_per_kwh: None,
            time_price_per_hour: None,
            waiting_price_per_minute: None,
        }
    }

    fn at_ten(minutes: i64) -> DateTime<Utc> {
        utc(2026, 1, 5, 10, 0, 0) + chrono::Duration::minutes(minutes)
    }

    #[test]
    fn energy_is_priced_per_kwh_and_rounded_half_up_once() {
        let t = Tariff::simple(php(), SiteTimeZone::utc(), 1500, 0, 0);
        let mut u = usage(
            at_ten(0),
            at_ten(60),
            &[(at_ten(30), 6_000), (at_ten(60), 12_345)],
        );
        u.meter_start_wh = 0;
        let c = price(&t, &u);
        // 12.345 kWh × 1500 = 18517.5 → 18518; rounding each step
        // (9000 + 9517.5) would give the same here, but only once is done.
        assert_eq!(c.energy_wh, 12_345);
        assert_eq!(c.energy_amount, 18_518);
        assert_eq!((c.subtotal, c.tax, c.total), (18_518, 0, 18_518));
        assert_eq!(c.currency, php());
        // Two half-units in two steps add up to a whole one, not two.
        let u = usage(at_ten(0), at_ten(60), &[(at_ten(30), 1), (at_ten(60), 2)]);
        assert_eq!(price(&t, &u).energy_amount, 3); // 2 Wh × 1.5
        let u = usage(at_ten(0), at_ten(60), &[(at_ten(30), 12_343)]);
        assert_eq!(price(&t, &u).energy_amount, 18_515); // 18514.5
                                                         // The meter start is where the register stood, not zero.
        let mut u = usage(at_ten(0), at_ten(60), &[(at_ten(60), 1_012_345)]);
        u.meter_start_wh = 1_000_000;
        assert_eq!(price(&t, &u).energy_wh, 12_345);
    }

    #[test]
    fn time_is_prorated_per_second() {
        let t = Tariff::simple(php(), SiteTimeZone::utc(), 0, 6_000, 0);
        let c = price(&t, &usage(at_ten(0), at_ten(90), &[]));
        assert_eq!((c.charging_seconds, c.time_amount), (5_400, 9_000));
        let t = Tariff::simple(php(), SiteTimeZone::utc(), 0, 100, 0);
        assert_eq!(
            price(&t, &usage(at_ten(0), at_ten(25), &[])).time_amount,
            42
        ); // 41.67
        let seconds = |n| at_ten(0) + chrono::Duration::seconds(n);
        assert_eq!(
            price(&t, &usage(at_ten(0), seconds(18), &[])).time_amount,
            1
        ); // 0.5
        assert_eq!(
            price(&t, &usage(at_ten(0), seconds(17), &[])).time_amount,
            0
        ); // 0.47
        let t = Tariff::simple(php(), SiteTimeZone::utc(), 0, 3_600, 0);
        assert_eq!(
            price(&t, &usage(at_ten(0), seconds(3_601), &[])).time_amount,
            3_601
        );
        // Fractions of a second are dropped from each instant.
        let late = at_ten(0) + chrono::Duration::milliseconds(999);
        let c = price(&t, &usage(late, seconds(10), &[]));
        assert_eq!(c.charging_seconds, 10);
    }

    #[test]
    fn waiting_after_the_grace_is_billed_per_second() {
        let mut t = Tariff::simple(php(), SiteTimeZone::utc(), 0, 6_000, 200);
        t.waiting_grace_minutes = 10;
        let mut u = usage(at_ten(0), at_ten(60), &[]);
        // 5 minutes, then 20 (the span runs past the end and is clipped).
        u.waiting = vec![(at_ten(40), at_ten(65)), (at_ten(10), at_ten(15))];
        let c = price(&t, &u);
        assert_eq!(c.waiting_seconds, 25 * 60);
        // The grace eats the first span and 10:40–10:45.
        assert_eq!(c.billed_waiting_seconds, 15 * 60);
        assert_eq!(c.waiting_amount, 15 * 200);
        assert_eq!(c.charging_seconds, 35 * 60);
        assert_eq!(c.time_amount, 3_500); // 35/60 h × 6000
        assert_eq!(c.total, 6_500);
        // Overlapping, reversed and outside spans change nothing.
        u.waiting.push((at_ten(12), at_ten(14)));
        u.waiting.push((at_ten(50), at_ten(45)));
        u.waiting.push((at_ten(-30), at_ten(-20)));
        assert_eq!(price(&t, &u), c);
        // Per second: 30 s at 25 a minute is 12.5 → 13.
        let mut t = Tariff::simple(php(), SiteTimeZone::utc(), 0, 0, 25);
        t.waiting_grace_minutes = 1;
        let mut u = usage(at_ten(0), at_ten(60), &[]);
        u.waiting = vec![(at_ten(5), at_ten(6) + chrono::Duration::seconds(30))];
        let c = price(&t, &u);
        assert_eq!((c.billed_waiting_seconds, c.waiting_amount), (30, 13));
    }

    #[test]
    fn min_and_max_price_hold_the_subtotal_before_tax() {
        let mut t = Tariff::simple(php(), SiteTimeZone::utc(), 1_500, 0, 0);
        t.min_price = Some(5_000);
        t.max_price = Some(10_000);
        t.tax_basis_points = 1_800;
        let small = price(&t, &usage(at_ten(0), at_ten(60), &[(at_ten(60), 1_000)]));
        assert_eq!(small.energy_amount, 1_500);
        assert_eq!((small.adjustment, small.subtotal), (3_500, 5_000));
        assert_eq!((small.tax, small.total), (900, 5_900));
        let big = price(&t, &usage(at_ten(0), at_ten(60), &[(at_ten(60), 12_345)]));
        assert_eq!(big.energy_amount, 18_518);
        assert_eq!((big.adjustment, big.subtotal), (-8_518, 10_000));
        assert_eq!((big.tax, big.total), (1_800, 11_800));
        // When the bounds cross (validate refuses that), the maximum wins.
        t.min_price = Some(20_000);
        assert_eq!(
            price(&t, &usage(at_ten(0), at_ten(1), &[])).subtotal,
            10_000
        );
    }

    #[test]
    fn tax_is_rounded_half_up_and_added() {
        let mut t = Tariff::simple(php(), SiteTimeZone::utc(), 1_500, 0, 0);
        t.tax_basis_points = 1_800;
        let fee_only = |fee| {
            let mut t = t.clone();
            t.energy_price_per_kwh = 0;
            t.session_fee = fee;
            price(&t, &usage(at_ten(0), at_ten(60), &[]))
        };
        assert_eq!((fee_only(25).tax, fee_only(25).total), (5, 30)); // 4.5
        assert_eq!((fee_only(24).tax, fee_only(24).total), (4, 28)); // 4.32
        assert_eq!(fee_only(0).total, 0);
        let c = price(&t, &usage(at_ten(0), at_ten(60), &[(at_ten(60), 12_345)]));
        assert_eq!((c.subtotal, c.tax, c.total), (18_518, 3_333, 21_851)); // 3333.24
    }

    #[test]
    fn the_session_fee_is_always_due() {
        let mut t = Tariff::simple(php(), SiteTimeZone::utc(), 1_500, 6_000, 200);
        t.session_fee = 500;
        let nothing = price(&t, &usage(at_ten(0), at_ten(0), &[]));
        assert_eq!((nothing.energy_wh, nothing.charging_seconds), (0, 0));
        assert_eq!((nothing.session_fee, nothing.total), (500, 500));
        // An end before the start is no time, not negative time.
        let backwards = price(&t, &usage(at_ten(0), at_ten(-30), &[]));
        assert_eq!(backwards, nothing);
        let c = price(&t, &usage(at_ten(0), at_ten(60), &[(at_ten(60), 1_000)]));
        assert_eq!(c.total, 1_500 + 6_000 + 500);
    }

    #[test]
    fn a_register_that_rolls_over_counts_through_its_wrap() {
        // A 7-digit Wh register: 9,999,000 → 500 is 1,000 Wh to the wrap
        // and 500 after it.
        assert_eq!(register_rise(9_999_000, 500), 1_500);
        // A 32-bit register.
        assert_eq!(register_rise(4_294_967_000, 4), 300);
        // Far under a wrap: a reset, nothing.
        assert_eq!(register_rise(5_000_000, 10), 0);
        // 300 kWh under the 10^6 wrap is not "just under" it: a meter that
        // restarts from 0 there is reset, not rolled over.
        assert_eq!(register_rise(700_000, 0), 0);
        assert_eq!(register_rise(995_000, 0), 5_000);
        // Near the wrap but far after it: not a rollover either.
        assert_eq!(register_rise(9_999_000, 600_000), 0);
        // Small registers reset rather than wrap.
        assert_eq!(register_rise(9_000, 100), 0);
        assert_eq!(register_rise(10, -5), 0);
        assert_eq!(
            register_rise(i64::MIN, i64::MAX),
            i128::from(i64::MAX) - i128::from(i64::MIN)
        );
        let t = Tariff::simple(php(), SiteTimeZone::utc(), 1_000, 0, 0);
        let mut u = usage(
            at_ten(0),
            at_ten(60),
            &[
                (at_ten(10), 9_999_500),
                (at_ten(20), 700),
                (at_ten(30), 1_200),
            ],
        );
        u.meter_start_wh = 9_998_000;
        let c = price(&t, &u);
        assert_eq!(c.energy_wh, 1_500 + 500 + 700 + 500);
    }

    #[test]
    fn a_register_that_goes_back_adds_nothing_for_that_step() {
        let t = Tariff::simple(php(), SiteTimeZone::utc(), 1_000, 0, 0);
        // A reboot resets the register to zero; it counts on from there.
        let u = usage(
            at_ten(0),
            at_ten(60),
            &[(at_ten(10), 10_000), (at_ten(20), 200), (at_ten(30), 1_200)],
        );
        let c = price(&t, &u);
        assert_eq!((c.energy_wh, c.energy_amount), (11_000, 11_000));
        // Below the meter start all along: nothing, not a refund.
        let mut u = usage(at_ten(0), at_ten(60), &[(at_ten(30), 5)]);
        u.meter_start_wh = 1_000;
        assert_eq!(price(&t, &u).energy_amount, 0);
        // Out of order: read in time order.
        let shuffled = usage(
            at_ten(0),
            at_ten(60),
            &[(at_ten(30), 2_000), (at_ten(10), 1_000)],
        );
        assert_eq!(price(&t, &shuffled).energy_wh, 2_000);
        // A reading after the end still counts.
        let late = usage(at_ten(0), at_ten(60), &[(at_ten(70), 2_000)]);
        assert_eq!(price(&t, &late).energy_wh, 2_000);
    }

    fn berlin_night() -> Tariff {
        let mut t = Tariff::simple(
            Currency::parse("EUR").unwrap(),
            zone("Europe/Berlin"),
            30,
            600,
            0,
        );
        t.periods = vec![TariffPeriod {
            energy_price_per_kwh: Some(20),
            time_price_per_hour: Some(300),
            ..period(hm(22, 0), hm(6, 0))
        }];
        t
    }

    #[test]
    fn a_night_period_across_the_spring_change_is_seven_hours() {
        // Saturday 2026-03-28 21:00 CET to Sunday 07:00 CEST: 9 real hours,
        // 1 kWh in each. 02:00–03:00 never happens that night.
        let (start, end) = (utc(2026, 3, 28, 20, 0, 0), utc(2026, 3, 29, 5, 0, 0));
        let c = price(&berlin_night(), &usage(start, end, &[(end, 9_000)]));
        assert_eq!(c.charging_seconds, 9 * 3_600);
        assert_eq!(c.energy_amount, 2 * 30 + 7 * 20);
        assert_eq!(c.time_amount, 2 * 600 + 7 * 300);
    }

    #[test]
    fn a_night_period_across_the_autumn_change_is_nine_hours() {
        // Saturday 2026-10-24 21:00 CEST to Sunday 07:00 CET: 11 real hours;
        // 02:00–03:00 happens twice.
        let (start, end) = (utc(2026, 10, 24, 19, 0, 0), utc(2026, 10, 25, 6, 0, 0));
        let c = price(&berlin_night(), &usage(start, end, &[(end, 11_000)]));
        assert_eq!(c.energy_amount, 2 * 30 + 9 * 20);
        assert_eq!(c.time_amount, 2 * 600 + 9 * 300);
    }

    #[test]
    fn a_boundary_in_the_skipped_hour_starts_when_the_clock_jumps() {
        let mut t = Tariff::simple(php(), zone("Europe/Berlin"), 0, 0, 0);
        t.periods = vec![TariffPeriod {
            time_price_per_hour: Some(3_600),
            ..period(hm(2, 30), hm(4, 0))
        }];
        // Berlin midnight to 06:00 on 2026-03-29: the period runs from the
        // jump (01:00 UTC, 03:00 CEST) to 04:00 CEST, one hour.
        let day = usage(utc(2026, 3, 28, 23, 0, 0), utc(2026, 3, 29, 4, 0, 0), &[]);
        assert_eq!(price(&t, &day).time_amount, 3_600);
        // The repeated hour in autumn is priced twice.
        t.periods = vec![TariffPeriod {
            time_price_per_hour: Some(3_600),
            ..period(hm(2, 0), hm(3, 0))
        }];
        let day = usage(utc(2026, 10, 24, 22, 0, 0), utc(2026, 10, 25, 4, 0, 0), &[]);
        assert_eq!(price(&t, &day).time_amount, 7_200);
    }

    #[test]
    fn a_weekday_period_in_ulaanbaatar_covers_the_night_it_starts() {
        let mut t = Tariff::simple(
            Currency::parse("MNT").unwrap(),
            zone("Asia/Ulaanbaatar"),
            450,
            0,
            0,
        );
        t.periods = vec![TariffPeriod {
            weekdays: vec![Weekday::Fri],
            energy_price_per_kwh: Some(300),
            ..period(hm(22, 0), hm(6, 0))
        }];
        t.validate().unwrap();
        // Friday 2026-01-09 20:00 to Saturday 08:00 local (UTC+8), 1 kWh an
        // hour: 8 night hours, 4 day hours.
        let (start, end) = (utc(2026, 1, 9, 12, 0, 0), utc(2026, 1, 10, 0, 0, 0));
        let friday = price(&t, &usage(start, end, &[(end, 12_000)]));
        assert_eq!(friday.energy_amount, 8 * 300 + 4 * 450);
        // The same on Saturday night: no period at all.
        let day = chrono::Duration::days(1);
        let saturday = price(&t, &usage(start + day, end + day, &[(end + day, 12_000)]));
        assert_eq!(saturday.energy_amount, 12 * 450);
    }

    #[test]
    fn energy_across_a_boundary_is_split_in_whole_milliwatt_hours() {
        let mut t = Tariff::simple(php(), SiteTimeZone::utc(), 1_000, 0, 0);
        t.periods = vec![TariffPeriod {
            energy_price_per_kwh: Some(4_000),
            ..period(NaiveTime::from_hms_opt(12, 0, 1).unwrap(), hm(13, 0))
        }];
        let start = utc(2026, 1, 5, 12, 0, 0).timestamp();
        let schedule = Schedule::new(&t, start);
        // 1 Wh over 3 s, the boundary after 1 s: 333 mWh at 1000 and 667
        // at 4000, in millionths of a minor unit.
        assert_eq!(
            schedule.spread(start, start + 3, 1_000),
            333_000 + 2_668_000
        );
        // No time between readings: priced at that instant.
        assert_eq!(schedule.spread(start + 1, start + 1, 1_000), 4_000_000);
        assert_eq!(schedule.spread(start, start, 1_000), 1_000_000);
    }

    #[test]
    fn periods_end_after_a_year() {
        let mut t = Tariff::simple(php(), SiteTimeZone::utc(), 0, 3_600, 0);
        t.periods = vec![TariffPeriod {
            time_price_per_hour: Some(0),
            ..period(hm(0, 0), hm(12, 0))
        }];
        let start = utc(2026, 1, 1, 0, 0, 0);
        let c = price(&t, &usage(start, start + chrono::Duration::days(400), &[]));
        assert_eq!(c.time_amount, 366 * 43_200 + 34 * 86_400);
    }

    #[test]
    fn absurd_input_saturates() {
        let mut t = Tariff::simple(
            php(),
            zone("Pacific/Kiritimati"),
            i64::MAX,
            i64::MAX,
            i64::MAX,
        );
        t.session_fee = i64::MAX;
        t.tax_basis_points = 10_000;
        t.periods = vec![TariffPeriod {
            weekdays: vec![Weekday::Sun],
            ..period(hm(1, 0), hm(0, 30))
        }];
        let u = Usage {
            started_at: DateTime::<Utc>::MIN_UTC,
            meter_start_wh: i64::MIN,
            readings: vec![
                MeterReading {
                    at: DateTime::<Utc>::MAX_UTC,
                    energy_wh: i64::MAX,
                },
                MeterReading {
                    at: DateTime::<Utc>::MIN_UTC,
                    energy_wh: i64::MIN,
                },
                MeterReading {
                    at: DateTime::<Utc>::MAX_UTC,
                    energy_wh: i64::MAX,
                },
            ],
            ended_at: DateTime::<Utc>::MAX_UTC,
            waiting: vec![(DateTime::<Utc>::MIN_UTC, DateTime::<Utc>::MAX_UTC)],
        };
        let c = price(&t, &u);
        assert_eq!(c.energy_wh, i64::MAX);
        assert_eq!(
            (c.energy_amount, c.waiting_amount, c.total),
            (i64::MAX, i64::MAX, i64::MAX)
        );
        assert_eq!(c.total, c.subtotal + c.tax);
        // Negative everything in an unvalidated tariff counts as zero.
        let mut t = Tariff::simple(php(), SiteTimeZone::utc(), -5, -5, -5);
        t.session_fee = -5;
        t.waiting_grace_minutes = i64::MIN;
        t.min_price = Some(-5);
        t.max_price = Some(-5);
        t.tax_basis_points = -5;
        t.periods = vec![TariffPeriod {
            energy_price_per_kwh: Some(-5),
            ..period(hm(0, 0), hm(0, 0))
        }];
        let mut u = usage(at_ten(0), at_ten(60), &[(at_ten(30), 5_000)]);
        u.waiting = vec![(at_ten(40), at_ten(50))];
        let c = price(&t, &u);
        assert_eq!(c.total, 0);
        assert_eq!(c.billed_waiting_seconds, 600);
    }

    #[test]
    fn cost_json_is_camel_case() {
        let t = Tariff::simple(php(), SiteTimeZone::utc(), 1_500, 0, 0);
        let c = price(&t, &usage(at_ten(0), at_ten(60), &[(at_ten(60), 12_345)]));
        let json = serde_json::to_value(c).unwrap();
        assert_eq!(json["currency"], "PHP");
        assert_eq!(json["energyWh"], 12_345);
        assert_eq!(json["energyAmount"], 18_518);
        assert_eq!(json["billedWaitingSeconds"], 0);
        assert_eq!(serde_json::from_value::<Cost>(json).unwrap(), c);
        let u = usage(at_ten(0), at_ten(60), &[(at_ten(60), 12_345)]);
        let json = serde_json::to_value(&u).unwrap();
        assert_eq!(json["readings"][0]["energyWh"], 12_345);
        assert_eq!(json["meterStartWh"], 0);
        assert_eq!(serde_json::from_value::<Usage>(json).unwrap(), u);
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        const ZONES: [&str; 8] = [
            "UTC",
            "Europe/Berlin",
            "America/New_York",
            "Australia/Lord_Howe", // a half-hour summer time
            "Pacific/Chatham",     // +12:45, summer time at 02:45
            "Asia/Ulaanbaatar",
            "Asia/Kolkata",
            "America/Sao_Paulo",
        ];

        /// Zones with a day (midnight UTC, 2026) near which sessions are
        /// tried: a summer-time change where the zone has one.
        const ZONE_DAYS: [(&str, u32, u32); 12] = [
            ("Europe/Berlin", 3, 29),
            ("Europe/Berlin", 10, 25),
            ("America/New_York", 3, 8),
            ("America/New_York", 11, 1),
            ("Australia/Lord_Howe", 4, 5),
            ("Australia/Lord_Howe", 10, 4),
            ("Pacific/Chatham", 4, 5),
            ("Pacific/Chatham", 9, 27),
            ("Asia/Ulaanbaatar", 1, 9),
            ("Asia/Kolkata", 6, 1),
            ("America/Sao_Paulo", 11, 1),
            ("UTC", 2, 28),
        ];

        fn instant(seconds: i64) -> DateTime<Utc> {
            DateTime::from_timestamp(seconds, 0).unwrap()
        }

        fn any_instant() -> impl Strategy<Value = DateTime<Utc>> {
            let (min, max) = (
                DateTime::<Utc>::MIN_UTC.timestamp(),
                DateTime::<Utc>::MAX_UTC.timestamp(),
            );
            prop_oneof![
                (min..=max, 0..1_000_000_000_u32)
                    .prop_map(|(s, ns)| DateTime::from_timestamp(s, ns).unwrap()),
                (1_700_000_000_i64..1_900_000_000).prop_map(instant),
                Just(DateTime::<Utc>::MIN_UTC),
                Just(DateTime::<Utc>::MAX_UTC),
            ]
        }

        fn whole_minute() -> impl Strategy<Value = NaiveTime> {
            (0_u32..24, prop_oneof![Just(0_u32), Just(30), 0_u32..60])
                .prop_map(|(h, m)| NaiveTime::from_hms_opt(h, m, 0).unwrap())
        }

        fn period_strategy(
            time: BoxedStrategy<NaiveTime>,
            price: BoxedStrategy<i64>,
        ) -> impl Strategy<Value = TariffPeriod> {
            (
                prop::collection::btree_set(0_u8..7, 0..4),
                time.clone(),
                time,
                prop::option::of(price.clone()),
                prop::option::of(price.clone()),
                prop::option::of(price),
            )
                .prop_map(|(days, start, end, energy, hour, minute)| TariffPeriod {
                    weekdays: days
                        .into_iter()
                        .map(|d| Weekday::try_from(d).unwrap())
                        .collect(),
                    start,
                    end,
                    energy_price_per_kwh: energy,
                    time_price_per_hour: hour,
                    waiting_price_per_minute: minute,
                })
        }

        /// A valid tariff in a zone of `ZONE_DAYS`, periods on whole
        /// minutes (so that a minute-by-minute reference can price it), and
        /// a session near that zone's day.
        fn case() -> impl Strategy<Value = (Tariff, Usage)> {
            prop::sample::select(&ZONE_DAYS[..]).prop_flat_map(|(zone_name, month, day)| {
                let start = utc(2026, month, day, 0, 0, 0).timestamp();
                (valid_tariff(zone_name), session(start))
            })
        }

        fn valid_tariff(zone_name: &'static str) -> impl Strategy<Value = Tariff> {
            let price = (0_i64..1_000_000).boxed();
            (
                Just(zone_name),
                (price.clone(), price.clone(), 0_i64..5_000),
                (0_i64..120, 0_i64..10_000, 0_i64..=10_000),
                (
                    prop::option::of(0_i64..50_000),
                    prop::option::of(0_i64..5_000_000),
                ),
                prop::collection::vec(period_strategy(whole_minute().boxed(), price), 0..4),
            )
                .prop_map(
                    |(zone_name, (kwh, hour, minute), (grace, fee, tax), (min, max), periods)| {
                        let mut t = Tariff::simple(php(), zone(zone_name), kwh, hour, minute);
                        t.waiting_grace_minutes = grace;
                        t.session_fee = fee;
                        t.tax_basis_points = tax;
                        t.min_price = min;
                        t.max_price = max.map(|m| m.max(min.unwrap_or(0)));
                        t.periods = periods;
                        t
                    },
                )
        }

        /// Anything that type-checks.
        fn any_tariff() -> impl Strategy<Value = Tariff> {
            let seconds = (0_u32..86_400)
                .prop_map(|s| NaiveTime::from_num_seconds_from_midnight_opt(s, 0).unwrap())
                .boxed();
            (
                prop::sample::select(&ZONES[..]),
                prop::array::uniform4(any::<i64>()),
                prop::array::uniform3(any::<i64>()),
                (any::<Option<i64>>(), any::<Option<i64>>()),
                prop::collection::vec(period_strategy(seconds, any::<i64>().boxed()), 0..5),
            )
                .prop_map(
                    |(
                        zone_name,
                        [kwh, hour, minute, grace],
                        [fee, tax, _],
                        (min, max),
                        periods,
                    )| {
                        let mut t = Tariff::simple(php(), zone(zone_name), kwh, hour, minute);
                        t.waiting_grace_minutes = grace;
                        t.session_fee = fee;
                        t.tax_basis_points = tax;
                        t.min_price = min;
                        t.max_price = max;
                        t.periods = periods;
                        t
                    },
                )
        }

        fn any_usage() -> impl Strategy<Value = Usage> {
            (
                any_instant(),
                any_instant(),
                any::<i64>(),
                prop::collection::vec((any_instant(), any::<i64>()), 0..6),
                prop::collection::vec((any_instant(), any_instant()), 0..4),
            )
                .prop_map(
                    |(started_at, ended_at, meter_start_wh, readings, waiting)| Usage {
                        started_at,
                        meter_start_wh,
                        readings: readings
                            .into_iter()
                            .map(|(at, energy_wh)| MeterReading { at, energy_wh })
                            .collect(),
                        ended_at,
                        waiting,
                    },
                )
        }

        /// A session of up to two days on whole minutes, starting within a
        /// day and a half of `near`. Each step between readings delivers `k` Wh a minute, so
        /// that every minute's energy is a whole number of Wh; some steps go
        /// backwards.
        fn session(near: i64) -> impl Strategy<Value = Usage> {
            (
                (-2_160_i64..2_160).prop_map(move |m| near + m * 60),
                0_i64..2_880,
                0_i64..1_000_000,
                prop::collection::vec((0_i64..2_880, 0_i64..50, prop::bool::weighted(0.1)), 0..6),
                prop::collection::vec((0_i64..2_880, 0_i64..600), 0..4),
            )
                .prop_map(|(start, minutes, meter_start_wh, steps, spans)| {
                    let minute = |m: i64| instant(start + m * 60);
                    let mut offsets: Vec<(i64, i64, bool)> = steps
                        .into_iter()
                        .map(|(at, k, back)| (at % (minutes + 1), k, back))
                        .collect();
                    offsets.sort_by_key(|&(at, _, _)| at);
                    let (mut last_at, mut register) = (0, meter_start_wh);
                    let mut readings = Vec::new();
                    for (at, k, back) in offsets {
                        register = if back {
                            register / 2
                        } else {
                            register + k * (at - last_at)
                        };
                        readings.push(MeterReading {
                            at: minute(at),
                            energy_wh: register,
                        });
                        last_at = at;
                    }
                    Usage {
                        started_at: minute(0),
                        meter_start_wh,
                        readings,
                        ended_at: minute(minutes),
                        waiting: spans
                            .into_iter()
                            .map(|(from, length)| (minute(from), minute(from + length)))
                            .collect(),
                    }
                })
        }

        /// Every amount a driver sees, in one comparable list.
        fn amounts(c: &Cost) -> [i64; 8] {
            [
                c.energy_wh,
                c.energy_amount,
                c.time_amount,
                c.waiting_amount,
                c.session_fee,
                c.subtotal,
                c.tax,
                c.total,
            ]
        }

        fn never_lower(before: &Cost, after: &Cost) -> Result<(), TestCaseError> {
            for (b, a) in amounts(before).into_iter().zip(amounts(after)) {
                prop_assert!(a >= b, "{:?}\n -> {:?}", before, after);
            }
            Ok(())
        }

        /// The prices in force at an instant, looked up the slow way: the
        /// wall clock, then the periods in order.
        fn reference_rates(t: &Tariff, at: i64) -> (i64, i64, i64) {
            let local = instant(at).with_timezone(&t.time_zone.tz()).naive_local();
            let (day, time) = (local.weekday(), local.time());
            let base = (
                t.energy_price_per_kwh,
                t.time_price_per_hour,
                t.waiting_price_per_minute,
            );
            for p in &t.periods {
                let listed = |d: Weekday| p.weekdays.is_empty() || p.weekdays.contains(&d);
                let inside = if p.start < p.end {
                    listed(day) && p.start <= time && time < p.end
                } else {
                    (listed(day) && time >= p.start) || (listed(day.pred()) && time < p.end)
                };
                if inside {
                    return (
                        p.energy_price_per_kwh.unwrap_or(base.0),
                        p.time_price_per_hour.unwrap_or(base.1),
                        p.waiting_price_per_minute.unwrap_or(base.2),
                    );
                }
            }
            base
        }

        fn rounded(n: i128, d: i128) -> i64 {
            i64::try_from((2 * n + d) / (2 * d)).unwrap()
        }

        proptest! {
            #[test]
            fn never_panics_and_always_adds_up(t in any_tariff(), u in any_usage()) {
                let c = price(&t, &u);
                prop_assert_eq!(Some(c.total), c.subtotal.checked_add(c.tax));
                for amount in amounts(&c) {
                    prop_assert!(amount >= 0, "{:?}", c);
                }
                let sum = c.energy_amount
                    .saturating_add(c.time_amount)
                    .saturating_add(c.waiting_amount)
                    .saturating_add(c.session_fee);
                prop_assert_eq!(sum.checked_add(c.adjustment), Some(c.subtotal));
                let length = (u.ended_at.timestamp() - u.started_at.timestamp()).max(0);
                prop_assert_eq!(c.charging_seconds + c.waiting_seconds, length);
                prop_assert!(c.billed_waiting_seconds <= c.waiting_seconds);
                prop_assert!(c.charging_seconds >= 0 && c.billed_waiting_seconds >= 0);
            }

            #[test]
            fn a_higher_reading_never_lowers_the_cost(
                (t, u) in case(),
                later in 0_i64..200_000,
                more in 0_i64..100_000,
            ) {
                let before = price(&t, &u);
                let (last_at, last_wh) = u
                    .readings
                    .last()
                    .map_or((u.started_at, u.meter_start_wh), |r| (r.at, r.energy_wh));
                let mut grown = u.clone();
                grown.readings.push(MeterReading {
                    at: last_at + chrono::Duration::seconds(later),
                    energy_wh: last_wh + more,
                });
                let after = price(&t, &grown);
                never_lower(&before, &after)?;
                prop_assert_eq!(after.energy_wh, before.energy_wh + more);
            }

            #[test]
            fn a_later_end_never_lowers_the_cost(
                (t, u) in case(),
                later in 0_i64..200_000,
                waiting_tail in any::<bool>(),
            ) {
                let before = price(&t, &u);
                let mut longer = u.clone();
                longer.ended_at = u.ended_at + chrono::Duration::seconds(later);
                if waiting_tail {
                    // The car stays plugged in, full.
                    longer.waiting.push((u.ended_at, longer.ended_at));
                }
                let after = price(&t, &longer);
                never_lower(&before, &after)?;
                prop_assert!(after.charging_seconds >= before.charging_seconds);
                prop_assert!(after.waiting_seconds >= before.waiting_seconds);
                prop_assert!(after.billed_waiting_seconds >= before.billed_waiting_seconds);
            }

            #[test]
            fn more_waiting_never_lowers_the_waiting_bill(
                (t, u) in case(),
                from in 0_i64..200_000,
                length in 0_i64..20_000,
            ) {
                let before = price(&t, &u);
                let mut more = u.clone();
                let from = u.started_at + chrono::Duration::seconds(from);
                more.waiting.push((from, from + chrono::Duration::seconds(length)));
                let after = price(&t, &more);
                prop_assert!(after.waiting_seconds >= before.waiting_seconds);
                prop_assert!(after.billed_waiting_seconds >= before.billed_waiting_seconds);
                prop_assert!(after.waiting_amount >= before.waiting_amount);
                // The same session: the time moves from charging to waiting.
                prop_assert!(after.charging_seconds <= before.charging_seconds);
                prop_assert_eq!(
                    after.charging_seconds + after.waiting_seconds,
                    before.charging_seconds + before.waiting_seconds
                );
                prop_assert_eq!(after.energy_amount, before.energy_amount);
            }

            #[test]
            fn energy_is_the_rise_when_the_register_never_goes_back(
                start in 1_700_000_000_i64..1_900_000_000,
                meter_start_wh in 0_i64..1_000_000_000,
                steps in prop::collection::vec((0_i64..10_000, 0_i64..100_000), 0..8),
            ) {
                let t = Tariff::simple(php(), zone("Europe/Berlin"), 1_000, 0, 0);
                let mut u = super::usage(instant(start), instant(start), &[]);
                u.meter_start_wh = meter_start_wh;
                let (mut at, mut register) = (start, meter_start_wh);
                for (seconds, wh) in steps {
                    at += seconds;
                    register += wh;
                    u.readings.push(MeterReading { at: instant(at), energy_wh: register });
                }
                let c = price(&t, &u);
                prop_assert_eq!(c.energy_wh, register - meter_start_wh);
                prop_assert_eq!(c.energy_amount, register - meter_start_wh);
            }

            #[test]
            fn periods_at_the_base_prices_change_nothing(
                (t, u) in case(),
                times in prop::collection::vec((whole_minute(), whole_minute()), 0..4),
                odd in prop::collection::vec(0_u32..86_400, 0..3),
            ) {
                let mut plain = t.clone();
                plain.periods = Vec::new();
                let mut same = plain.clone();
                // Boundaries on odd seconds too, so that energy steps are
                // split where whole mWh do not fall evenly.
                let odd = odd
                    .into_iter()
                    .map(|s| NaiveTime::from_num_seconds_from_midnight_opt(s, 0).unwrap());
                same.periods = times
                    .into_iter()
                    .chain(odd.clone().zip(odd.rev()))
                    .map(|(start, end)| TariffPeriod {
                        weekdays: Vec::new(),
                        start,
                        end,
                        energy_price_per_kwh: Some(t.energy_price_per_kwh),
                        time_price_per_hour: None,
                        waiting_price_per_minute: Some(t.waiting_price_per_minute),
                    })
                    .collect();
                prop_assert_eq!(price(&same, &u), price(&plain, &u));
            }

            /// The boundary walk (wall clock, summer time) against pricing
            /// each minute on its own.
            #[test]
            fn matches_a_minute_by_minute_reference((t, u) in case()) {
                let c = price(&t, &u);
                let start = u.started_at.timestamp();
                let minutes = (u.ended_at.timestamp() - start) / 60;
                let waiting_minute = |m: i64| {
                    let at = instant(start + m * 60);
                    u.waiting.iter().any(|&(from, to)| from <= at && at < to)
                };
                let (mut time_units, mut waiting_units, mut grace_left) =
                    (0_i128, 0_i128, t.waiting_grace_minutes);
                for m in 0..minutes {
                    let (_, hour, minute) = reference_rates(&t, start + m * 60);
                    if !waiting_minute(m) {
                        time_units += i128::from(hour) * 60;
                    } else if grace_left > 0 {
                        grace_left -= 1;
                    } else {
                        waiting_units += i128::from(minute) * 60;
                    }
                }
                prop_assert_eq!(c.time_amount, rounded(time_units, 3_600));
                prop_assert_eq!(c.waiting_amount, rounded(waiting_units, 60));

                // Energy: each step's rise spread over its minutes, or
                // priced at its instant when it has none.
                let mut energy_units = 0_i128;
                let mut previous = (start, u.meter_start_wh);
                for r in &u.readings {
                    let (at, wh) = (r.at.timestamp(), r.energy_wh);
                    let rise = register_rise(previous.1, wh);
                    let steps = (at - previous.0) / 60;
                    if steps == 0 {
                        energy_units += rise * 1_000 * i128::from(reference_rates(&t, at).0);
                    }
                    for m in 0..steps {
                        let kwh_price = reference_rates(&t, previous.0 + m * 60).0;
                        energy_units += rise * 1_000 / i128::from(steps) * i128::from(kwh_price);
                    }
                    previous = (at, wh);
                }
                prop_assert_eq!(c.energy_amount, rounded(energy_units, 1_000_000));
            }
        }
    }
}
