//! Subscription plans (seed 002): their terms, the schedule of a
//! subscription's charges, and the benefits a plan gives on charging
//! sessions, as pure functions.
//!
//! # Schedule
//!
//! A subscription runs `total_valid_months` cycles of `payment_cycle` days
//! each (seed 002 calls a cycle a "month" and makes it 30 days by default),
//! so it ends `total_valid_months × payment_cycle` days after it starts:
//! 2021-10-14 + 12 × 30 days = 2022-10-09, as the seed shows. Cycle `n`
//! (from 1) is charged when it starts: `start + (n − 1) × payment_cycle`
//! days; the first is charged at purchase.
//!
//! # Benefits
//!
//! A plan may carry [`PlanBenefits`], applied to a session's tariff when the
//! session starts ([`PlanBenefits::apply_to_tariff`]):
//! - `discount_per_kwh`: minor units off each kWh's energy price (the base
//!   price and every period's), never below zero;
//! - `waive_session_fee`: the tariff's flat `session_fee` (its only fixed
//!   per-session part besides the minimum price, which stays) becomes 0;
//! - `included_wh_per_cycle`: energy that is free each cycle, tracked per
//!   subscription and cycle and applied when a session is priced at its
//!   end ([`PlanTerms::cycle_at`], [`free_energy_wh`],
//!   [`draw_included_energy`], [`included_energy_credit`] and
//!   [`crate::tariff::Cost::with_included_energy`]);
//! - `priority_charging`: on a site whose power is shared
//!   ([`crate::load`]), the subscriber's session ranks with booked ones.
//!
//! Several subscriptions combine ([`PlanBenefits::combine`]): the largest
//! discount, the sum of included energy, a fee waived or a priority given
//! by any.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::tariff::Tariff;
use crate::{Currency, ValidationError};

macro_rules! int_id {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, "{}", self.0)
            }
        }
    };
}

int_id!(
    /// A plan's id: an integer, as seed 002 shows it.
    PlanId
);
int_id!(
    /// A customer plan's (a subscription's) id: an integer, as seed 002 shows it.
    CustomerPlanId
);

/// The longest payment cycle, in days.
pub const MAX_CYCLE_DAYS: i64 = 366;
/// The most cycles a plan may run.
pub const MAX_CYCLES: i64 = 120;
/// The largest plan amount, minor units (a thousand million major units of
/// a two-digit currency).
pub const MAX_AMOUNT: i64 = 100_000_000_000;
/// The largest per-kWh discount, minor units.
pub const MAX_DISCOUNT_PER_KWH: i64 = 1_000_000_000;
/// The most energy a plan may include per cycle, Wh (100 MWh).
pub const MAX_INCLUDED_WH: i64 = 100_000_000;
/// The longest plan name, in characters.
pub const MAX_NAME_CHARS: usize = 100;

/// What a plan gives on charging sessions.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanBenefits {
    /// Minor units off each kWh's energy price.
    pub discount_per_kwh: i64,
    /// Energy free each cycle, Wh.
    pub included_wh_per_cycle: i64,
    /// The tariff's session fee is not charged.
    pub waive_session_fee: bool,
    /// Where a site's power is shared (load management), a subscriber's
    /// session weighs as a booked one: its minimum comes first and it gets
    /// twice the share of the rest.
    #[serde(default)]
    pub priority_charging: bool,
}

impl PlanBenefits {
    /// Whether it gives anything.
    pub fn is_empty(&self) -> bool {
        self.discount_per_kwh == 0
            && self.included_wh_per_cycle == 0
            && !self.waive_session_fee
            && !self.priority_charging
    }

    /// Checks the ranges.
    pub fn validate(&self) -> Result<(), ValidationError> {
        if !(0..=MAX_DISCOUNT_PER_KWH).contains(&self.discount_per_kwh) {
            return Err(ValidationError::new(
                "discount_per_kwh",
                "must be 0 or more and at most 10,000,000 major units",
            ));
        }
        if !(0..=MAX_INCLUDED_WH).contains(&self.included_wh_per_cycle) {
            return Err(ValidationError::new(
                "included_kwh_per_cycle",
                "must be from 0 to 100000 kWh",
            ));
        }
        Ok(())
    }

    /// The benefits of several subscriptions together: the largest
    /// discount (discounts do not stack), the included energy added up, the
    /// fee waived when any plan waives it.
    pub fn combine(all: &[PlanBenefits]) -> PlanBenefits {
        all.iter()
            .fold(PlanBenefits::default(), |acc, b| PlanBenefits {
                discount_per_kwh: acc.discount_per_kwh.max(b.discount_per_kwh.max(0)),
                included_wh_per_cycle: acc
                    .included_wh_per_cycle
                    .saturating_add(b.included_wh_per_cycle.max(0)),
                waive_session_fee: acc.waive_session_fee || b.waive_session_fee,
                priority_charging: acc.priority_charging || b.priority_charging,
            })
    }

    /// The tariff a session of a subscriber gets: every energy price (base
    /// and periods) lowered by the discount, never below zero, and the
    /// session fee dropped when waived. `benefits_currency` is the plan's
    /// currency: a tariff in another currency is returned unchanged (a
    /// discount in tögrög means nothing on a price in rupees).
    pub fn apply_to_tariff(&self, tariff: &Tariff, benefits_currency: Currency) -> Tariff {
        let mut out = tariff.clone();
        if tariff.currency != benefits_currency {
            return out;
        }
        let discount = self.discount_per_kwh.max(0);
        out.energy_price_per_kwh = lower(out.energy_price_per_kwh, discount);
        for period in &mut out.periods {
            period.energy_price_per_kwh = period.energy_price_per_kwh.map(|p| lower(p, discount));
        }
        if self.waive_session_fee {
            out.session_fee = 0;
        }
        out
    }
}

fn lower(price: i64, discount: i64) -> i64 {
    price.max(0).saturating_sub(discount).max(0)
}

/// How much of a session's energy is free: what is left of the cycle's
/// included energy, at most the session's energy. Never negative.
pub fn free_energy_wh(included_per_cycle: i64, used_this_cycle: i64, session_wh: i64) -> i64 {
    let left = included_per_cycle
        .max(0)
        .saturating_sub(used_this_cycle.max(0))
        .max(0);
    left.min(session_wh.max(0))
}

/// What the free energy takes off a session's energy amount: the energy
/// amount's share for `free_wh` of `energy_wh`, rounded half up, at most the
/// energy amount.
pub fn included_energy_credit(energy_amount: i64, energy_wh: i64, free_wh: i64) -> i64 {
    if energy_wh <= 0 || energy_amount <= 0 || free_wh <= 0 {
        return 0;
    }
    let free = i128::from(free_wh.min(energy_wh));
    let n = i128::from(energy_amount) * free;
    let d = i128::from(energy_wh);
    let rounded = (n + d / 2) / d;
    i64::try_from(rounded)
        .unwrap_or(i64::MAX)
        .min(energy_amount)
}

/// How a session's free energy is drawn from several allowances: from the
/// first (the oldest subscription) until it is used up, then the next; each
/// entry of `left_wh` is what an allowance has left this cycle. Returns
/// the Wh taken from each, in the same order; they add up to at most
/// `session_wh` and none exceeds what its allowance has left.
pub fn draw_included_energy(left_wh: &[i64], session_wh: i64) -> Vec<i64> {
    let mut wanted = session_wh.max(0);
    left_wh
        .iter()
        .map(|&left| {
            let take = left.max(0).min(wanted);
            wanted -= take;
            take
        })
        .collect()
}

/// A plan's terms: everything an admin sets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanTerms {
    /// Shown to drivers.
    pub name: String,
    /// Charged each cycle, minor units.
    pub amount: i64,
    /// What `amount` is in (the wallet currency).
    pub currency: Currency,
    /// Days per cycle.
    pub payment_cycle_days: i64,
    /// Cycles a subscription runs ("months").
    pub total_valid_months: i64,
    /// Whether a subscriber may cancel.
    pub is_cancellable: bool,
    /// What it gives on sessions.
    pub benefits: PlanBenefits,
}

impl PlanTerms {
    /// Checks the ranges; field names are seed 002's.
    pub fn validate(&self) -> Result<(), ValidationError> {
        let name = self.name.trim();
        if name.is_empty() {
            return Err(ValidationError::new("name", "must not be blank"));
        }
        if name.chars().count() > MAX_NAME_CHARS {
            return Err(ValidationError::new(
                "name",
                format!("must be at most {MAX_NAME_CHARS} characters"),
            ));
        }
        if !(1..=MAX_AMOUNT).contains(&self.amount) {
            return Err(ValidationError::new(
                "amount",
                "must be more than 0 and at most 1,000,000,000",
            ));
        }
        if !(1..=MAX_CYCLE_DAYS).contains(&self.payment_cycle_days) {
            return Err(ValidationError::new(
                "payment_cycle",
                format!("must be from 1 to {MAX_CYCLE_DAYS} days"),
            ));
        }
        if !(1..=MAX_CYCLES).contains(&self.total_valid_months) {
            return Err(ValidationError::new(
                "total_valid_months",
                format!("must be from 1 to {MAX_CYCLES}"),
            ));
        }
        self.benefits.validate()
    }

    /// How long a subscription runs: cycles × days per cycle.
    pub fn validity(&self) -> Duration {
        Duration::days(
            self.total_valid_months
                .clamp(0, MAX_CYCLES)
                .saturating_mul(self.payment_cycle_days.clamp(0, MAX_CYCLE_DAYS)),
        )
    }

    /// When cycle `n` (from 1) of a subscription started at `start` is
    /// charged; `None` past the last cycle.
    pub fn charge_at(&self, start: DateTime<Utc>, n: i64) -> Option<DateTime<Utc>> {
        if n < 1 || n > self.total_valid_months {
            return None;
        }
        Some(start + Duration::days((n - 1) * self.payment_cycle_days.clamp(0, MAX_CYCLE_DAYS)))
    }

    /// The end of what `cycles_paid` cycles pay for.
    pub fn paid_until(&self, start: DateTime<Utc>, cycles_paid: i64) -> DateTime<Utc> {
        start
            + Duration::days(
                cycles_paid.clamp(0, MAX_CYCLES) * self.payment_cycle_days.clamp(0, MAX_CYCLE_DAYS),
            )
    }

    /// The cycle whose included energy a session priced at `at` draws on,
    /// for a subscription started at `start` with `cycles_paid` cycles
    /// paid: the cycle the schedule is in at `at`, but never one not yet
    /// paid (while a renewal is still being charged, the last paid cycle's
    /// allowance is what is left). At least 1.
    pub fn cycle_at(&self, start: DateTime<Utc>, at: DateTime<Utc>, cycles_paid: i64) -> i64 {
        let days = self.payment_cycle_days.clamp(1, MAX_CYCLE_DAYS);
        let elapsed = (at - start).num_seconds().max(0);
        let scheduled = elapsed / (days * 86_400) + 1;
        scheduled.min(cycles_paid).max(1)
    }

    /// Seed 002's `end_date` for a subscription starting on `start`.
    pub fn end_date(&self, start: NaiveDate) -> NaiveDate {
        start
            .checked_add_signed(self.validity())
            .unwrap_or(NaiveDate::MAX)
    }
}

/// The ledger idempotency key of a subscription's cycle `n`: a cycle is
/// charged once however often (or however concurrently) it is tried.
pub fn cycle_key(customer_plan: CustomerPlanId, n: i64) -> String {
    format!("customer_plan:{customer_plan}:cycle:{n}")
}

/// Splits a tax-inclusive amount into (before tax, tax) at `bps` basis
/// points: tax = amount × bps / (10000 + bps), rounded half up. A plan's
/// amount is what the driver pays, tax included.
pub fn split_tax_inclusive(amount: i64, bps: i64) -> (i64, i64) {
    let amount = amount.max(0);
    let bps = bps.clamp(0, 10_000);
    let n = i128::from(amount) * i128::from(bps);
    let d = 10_000 + i128::from(bps);
    let tax = i64::try_from((n + d / 2) / d).unwrap_or(0).min(amount);
    (amount - tax, tax)
}

/// Reads a decimal amount ("1200", "1200.5", "1200.50") into units of
/// `10^-digits`, refusing more decimals than `digits`, signs, exponents and
/// anything else. Used for money (the currency's minor digits) and energy
/// (kWh to Wh: 3 digits).
pub fn parse_decimal(text: &str, digits: u32, field: &'static str) -> Result<i64, ValidationError> {
    let text = text.trim();
    let bad = || ValidationError::new(field, "must be a number of 0 or more");
    let (whole, fraction) = match text.split_once('.') {
        Some((w, f)) => (w, f),
        None => (text, ""),
    };
    if whole.is_empty()
        || !whole.bytes().all(|b| b.is_ascii_digit())
        || !fraction.bytes().all(|b| b.is_ascii_digit())
        || (text.contains('.') && fraction.is_empty())
    {
        return Err(bad());
    }
    let fraction = fraction.trim_end_matches('0');
    let places = u32::try_from(fraction.len()).unwrap_or(u32::MAX);
    if places > digits {
        return Err(ValidationError::new(
            field,
            format!("must have at most {digits} decimal places"),
        ));
    }
    let too_large = || ValidationError::new(field, "is too large");
    let scale = 10_i64.checked_pow(digits).ok_or_else(too_large)?;
    let whole: i64 = whole
        .trim_start_matches('0')
        .parse::<i64>()
        .or_else(|e| {
            if whole.bytes().all(|b| b == b'0') {
                Ok(0)
            } else {
                Err(e)
            }
        })
        .map_err(|_| too_large())?;
    let frac: i64 = if fraction.is_empty() {
        0
    } else {
        fraction.parse::<i64>().map_err(|_| bad())?
            * 10_i64.checked_pow(digits - places).ok_or_else(too_large)?
    };
    whole
        .checked_mul(scale)
        .and_then(|w| w.checked_add(frac))
        .ok_or_else(too_large)
}

/// Writes minor units with the currency's digits: 50000 MNT-cents → "500.00".
pub fn format_decimal(units: i64, digits: u32) -> String {
    let scale = 10_i64.pow(digits.min(18));
    let sign = if units < 0 { "-" } else { "" };
    let abs = units.unsigned_abs();
    let scale_u = scale.unsigned_abs();
    if digits == 0 {
        return format!("{sign}{abs}");
    }
    format!(
        "{sign}{}.{:0width$}",
        abs / scale_u,
        abs % scale_u,
        width = usize::try_from(digits).unwrap_or(2)
    )
}

/// Where a subscription is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SubscriptionStatus {
    /// Running: charged each cycle.
    Active,
    /// Cancelled by the driver: no further charges; the cycle paid for
    /// keeps its benefits to its end.
    Cancelled,
    /// A renewal could not be paid (`ended_reason` says why).
    Lapsed,
    /// Ran its full term.
    Expired,
}

impl SubscriptionStatus {
    /// Every status.
    pub const ALL: [Self; 4] = [Self::Active, Self::Cancelled, Self::Lapsed, Self::Expired];

    /// The stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Cancelled => "cancelled",
            Self::Lapsed => "lapsed",
            Self::Expired => "expired",
        }
    }

    /// Reads the stored form.
    pub fn parse(text: &str) -> Result<Self, ValidationError> {
        Self::ALL
            .into_iter()
            .find(|s| s.as_str() == text)
            .ok_or_else(|| ValidationError::new("status", "is not a subscription status"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tariff::TariffPeriod;
    use crate::SiteTimeZone;
    use chrono::{NaiveTime, TimeZone};

    fn terms() -> PlanTerms {
        PlanTerms {
            name: "Globalnet Bronze".into(),
            amount: 50_000,
            currency: Currency::MNT,
            payment_cycle_days: 30,
            total_valid_months: 12,
            is_cancellable: false,
            benefits: PlanBenefits::default(),
        }
    }

    #[test]
    fn the_seed_end_date() {
        let start = NaiveDate::from_ymd_opt(2021, 10, 14).unwrap();
        assert_eq!(
            terms().end_date(start),
            NaiveDate::from_ymd_opt(2022, 10, 9).unwrap()
        );
    }

    #[test]
    fn cycles_are_charged_when_they_start() {
        let t = terms();
        let start = Utc.with_ymd_and_hms(2021, 10, 14, 8, 0, 0).unwrap();
        assert_eq!(t.charge_at(start, 1), Some(start));
        assert_eq!(t.charge_at(start, 2), Some(start + Duration::days(30)));
        assert_eq!(t.charge_at(start, 12), Some(start + Duration::days(330)));
        assert_eq!(t.charge_at(start, 13), None);
        assert_eq!(t.charge_at(start, 0), None);
        assert_eq!(t.paid_until(start, 12), start + t.validity());
    }

    #[test]
    fn terms_are_checked() {
        assert!(terms().validate().is_ok());
        let bad = |f: fn(&mut PlanTerms)| {
            let mut t = terms();
            f(&mut t);
            t.validate().unwrap_err().field
        };
        assert_eq!(bad(|t| t.name = "  ".into()), "name");
        assert_eq!(bad(|t| t.name = "x".repeat(101)), "name");
        assert_eq!(bad(|t| t.amount = 0), "amount");
        assert_eq!(bad(|t| t.amount = MAX_AMOUNT + 1), "amount");
        assert_eq!(bad(|t| t.payment_cycle_days = 0), "payment_cycle");
        assert_eq!(bad(|t| t.payment_cycle_days = 367), "payment_cycle");
        assert_eq!(bad(|t| t.total_valid_months = 0), "total_valid_months");
        assert_eq!(
            bad(|t| t.benefits.discount_per_kwh = -1),
            "discount_per_kwh"
        );
        assert_eq!(
            bad(|t| t.benefits.included_wh_per_cycle = -1),
            "included_kwh_per_cycle"
        );
    }

    #[test]
    fn decimals_are_read_exactly() {
        assert_eq!(parse_decimal("1200", 2, "amount"), Ok(120_000));
        assert_eq!(parse_decimal("1200.5", 2, "amount"), Ok(120_050));
        assert_eq!(parse_decimal("1200.50", 2, "amount"), Ok(120_050));
        assert_eq!(parse_decimal("0.01", 2, "amount"), Ok(1));
        assert_eq!(parse_decimal("007", 0, "amount"), Ok(7));
        assert_eq!(parse_decimal("0", 2, "amount"), Ok(0));
        assert_eq!(parse_decimal("1.500", 2, "amount"), Ok(150));
        assert_eq!(parse_decimal("2.5", 3, "kwh"), Ok(2_500));
        for bad in [
            "",
            ".",
            "1.",
            ".5",
            "-1",
            "1e3",
            "12.345",
            "a",
            "1.2.3",
            "99999999999999999999",
        ] {
            assert!(parse_decimal(bad, 2, "amount").is_err(), "{bad}");
        }
    }

    #[test]
    fn decimals_are_written_with_the_currencys_digits() {
        assert_eq!(format_decimal(50_000, 2), "500.00");
        assert_eq!(format_decimal(120_005, 2), "1200.05");
        assert_eq!(format_decimal(7, 0), "7");
        assert_eq!(format_decimal(-150, 2), "-1.50");
    }

    #[test]
    fn tax_inclusive_split_adds_up() {
        assert_eq!(split_tax_inclusive(11_800, 1_800), (10_000, 1_800));
        assert_eq!(split_tax_inclusive(50_000, 0), (50_000, 0));
        for amount in [1, 7, 99, 50_000, MAX_AMOUNT] {
            let (net, tax) = split_tax_inclusive(amount, 1_234);
            assert_eq!(net + tax, amount);
            assert!(tax >= 0 && net >= 0);
        }
    }

    #[test]
    fn benefits_lower_energy_prices_and_waive_the_fee() {
        let mut tariff = Tariff::simple(Currency::MNT, SiteTimeZone::utc(), 500, 100, 10);
        tariff.session_fee = 300;
        tariff.periods.push(TariffPeriod {
            weekdays: Vec::new(),
            start: NaiveTime::from_hms_opt(22, 0, 0).unwrap(),
            end: NaiveTime::from_hms_opt(6, 0, 0).unwrap(),
            energy_price_per_kwh: Some(50),
            time_price_per_hour: None,
            waiting_price_per_minute: None,
        });
        let benefits = PlanBenefits {
            discount_per_kwh: 100,
            included_wh_per_cycle: 0,
            waive_session_fee: true,
            priority_charging: false,
        };
        let applied = benefits.apply_to_tariff(&tariff, Currency::MNT);
        assert_eq!(applied.energy_price_per_kwh, 400);
        assert_eq!(
            applied.periods[0].energy_price_per_kwh,
            Some(0),
            "never below zero"
        );
        assert_eq!(applied.session_fee, 0);
        assert_eq!(applied.time_price_per_hour, 100, "time is not discounted");
        let other = Currency::parse("INR").unwrap();
        assert_eq!(benefits.apply_to_tariff(&tariff, other), tariff);
        assert_eq!(
            PlanBenefits::default().apply_to_tariff(&tariff, Currency::MNT),
            tariff
        );
    }

    #[test]
    fn benefits_combine() {
        let a = PlanBenefits {
            discount_per_kwh: 50,
            included_wh_per_cycle: 1_000,
            waive_session_fee: false,
            priority_charging: true,
        };
        let b = PlanBenefits {
            discount_per_kwh: 80,
            included_wh_per_cycle: 2_000,
            waive_session_fee: true,
            priority_charging: false,
        };
        assert_eq!(
            PlanBenefits::combine(&[a, b]),
            PlanBenefits {
                discount_per_kwh: 80,
                included_wh_per_cycle: 3_000,
                waive_session_fee: true,
                priority_charging: true,
            }
        );
        assert!(PlanBenefits::combine(&[]).is_empty());
    }

    #[test]
    fn included_energy_is_used_up_per_cycle() {
        assert_eq!(free_energy_wh(10_000, 0, 4_000), 4_000);
        assert_eq!(free_energy_wh(10_000, 8_000, 4_000), 2_000);
        assert_eq!(free_energy_wh(10_000, 12_000, 4_000), 0);
        assert_eq!(included_energy_credit(2_000, 4_000, 2_000), 1_000);
        assert_eq!(included_energy_credit(2_000, 4_000, 5_000), 2_000);
        assert_eq!(included_energy_credit(0, 4_000, 1_000), 0);
    }

    #[test]
    fn included_energy_comes_off_the_energy_line_before_tax() {
        // 10 kWh at 5.00 MNT, a 3.00 fee, 10 % tax.
        let mut tariff = Tariff::simple(Currency::MNT, SiteTimeZone::utc(), 500, 0, 0);
        tariff.session_fee = 300;
        tariff.tax_basis_points = 1_000;
        let start = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        let usage = crate::Usage {
            started_at: start,
            meter_start_wh: 0,
            readings: vec![crate::MeterReading {
                at: start + Duration::hours(1),
                energy_wh: 10_000,
            }],
            ended_at: start + Duration::hours(1),
            waiting: Vec::new(),
        };
        let full = crate::price(&tariff, &usage);
        assert_eq!((full.subtotal, full.tax, full.total), (5_300, 530, 5_830));
        assert_eq!(full.included_energy_credit, 0);

        // 4 of the 10 kWh free: 2,000 off the energy, tax on what is left.
        let less = full.with_included_energy(&tariff, 4_000);
        assert_eq!(less.included_energy_credit, 2_000);
        assert_eq!(less.energy_amount, 5_000, "the energy line stays as priced");
        assert_eq!((less.subtotal, less.tax, less.total), (3_300, 330, 3_630));
        assert_eq!(less.adjustment, 0);
        // All of it free: the fee is still paid.
        let free = full.with_included_energy(&tariff, 50_000);
        assert_eq!(free.included_energy_credit, 5_000);
        assert_eq!((free.subtotal, free.total), (300, 330));
        // Nothing free, nothing changes.
        assert_eq!(full.with_included_energy(&tariff, 0), full);
        assert_eq!(full.with_included_energy(&tariff, -5), full);

        // The minimum price still holds; the maximum caps what is left.
        let mut bounded = tariff.clone();
        bounded.min_price = Some(1_000);
        let floor = crate::price(&bounded, &usage).with_included_energy(&bounded, 10_000);
        assert_eq!(
            (floor.included_energy_credit, floor.subtotal),
            (5_000, 1_000)
        );
        assert_eq!(floor.adjustment, 700);
        bounded.min_price = None;
        bounded.max_price = Some(4_000);
        let capped = crate::price(&bounded, &usage);
        assert_eq!(capped.subtotal, 4_000);
        let capped_less = capped.with_included_energy(&bounded, 2_000);
        assert_eq!(
            capped_less.subtotal, 4_000,
            "5,300 − 1,000 is still over the cap"
        );
        let capped_free = capped.with_included_energy(&bounded, 8_000);
        assert_eq!(capped_free.subtotal, 1_300);

        // Stored costs from before the credit existed still read.
        let mut old = serde_json::to_value(full).unwrap();
        old.as_object_mut().unwrap().remove("includedEnergyCredit");
        let read: crate::Cost = serde_json::from_value(old).unwrap();
        assert_eq!(read, full);
    }

    #[test]
    fn free_energy_is_drawn_oldest_subscription_first() {
        assert_eq!(
            draw_included_energy(&[3_000, 5_000], 4_000),
            vec![3_000, 1_000]
        );
        assert_eq!(
            draw_included_energy(&[3_000, 5_000], 10_000),
            vec![3_000, 5_000]
        );
        assert_eq!(draw_included_energy(&[0, 5_000], 1_000), vec![0, 1_000]);
        assert_eq!(draw_included_energy(&[-1, 5_000], 0), vec![0, 0]);
        assert!(draw_included_energy(&[], 1_000).is_empty());
    }

    #[test]
    fn the_allowance_follows_the_paid_cycle() {
        let t = terms();
        let start = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        assert_eq!(t.cycle_at(start, start, 1), 1);
        assert_eq!(t.cycle_at(start, start + Duration::days(29), 1), 1);
        assert_eq!(t.cycle_at(start, start + Duration::days(30), 2), 2);
        // Renewal not charged yet: still the last paid cycle.
        assert_eq!(t.cycle_at(start, start + Duration::days(30), 1), 1);
        assert_eq!(t.cycle_at(start, start + Duration::days(95), 4), 4);
        assert_eq!(t.cycle_at(start, start - Duration::days(1), 1), 1);
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #[test]
            fn a_discounted_tariff_never_costs_more(
                price in 0_i64..1_000_000, fee in 0_i64..100_000,
                discount in 0_i64..1_000_000, waive in any::<bool>(),
                wh in 0_i64..200_000,
            ) {
                let mut tariff = Tariff::simple(Currency::MNT, SiteTimeZone::utc(), price, 0, 0);
                tariff.session_fee = fee;
                let benefits = PlanBenefits { discount_per_kwh: discount, included_wh_per_cycle: 0, waive_session_fee: waive, priority_charging: false };
                let start = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
                let usage = crate::Usage {
                    started_at: start,
                    meter_start_wh: 0,
                    readings: vec![crate::MeterReading { at: start + Duration::hours(1), energy_wh: wh }],
                    ended_at: start + Duration::hours(1),
                    waiting: Vec::new(),
                };
                let full = crate::price(&tariff, &usage);
                let less = crate::price(&benefits.apply_to_tariff(&tariff, Currency::MNT), &usage);
                prop_assert!(less.total <= full.total);
                prop_assert!(less.total >= 0);
            }

            #[test]
            fn free_energy_is_bounded(included in -10_i64..1_000_000, used in -10_i64..1_000_000, session in -10_i64..1_000_000) {
                let free = free_energy_wh(included, used, session);
                prop_assert!(free >= 0 && free <= session.max(0) && free <= included.max(0));
            }

            #[test]
            fn included_energy_never_raises_the_cost_and_adds_up(
                price in 0_i64..1_000_000, fee in 0_i64..100_000, tax in 0_i64..10_000,
                min in proptest::option::of(0_i64..1_000_000),
                wh in 0_i64..200_000, free in -10_i64..300_000,
            ) {
                let mut tariff = Tariff::simple(Currency::MNT, SiteTimeZone::utc(), price, 0, 0);
                tariff.session_fee = fee;
                tariff.tax_basis_points = tax;
                tariff.min_price = min;
                let start = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
                let usage = crate::Usage {
                    started_at: start,
                    meter_start_wh: 0,
                    readings: vec![crate::MeterReading { at: start + Duration::hours(1), energy_wh: wh }],
                    ended_at: start + Duration::hours(1),
                    waiting: Vec::new(),
                };
                let full = crate::price(&tariff, &usage);
                let less = full.with_included_energy(&tariff, free);
                prop_assert!(less.total <= full.total && less.tax <= full.tax);
                prop_assert!(less.included_energy_credit >= 0 && less.included_energy_credit <= less.energy_amount);
                prop_assert_eq!(less.total, less.subtotal + less.tax);
                prop_assert_eq!(
                    less.energy_amount - less.included_energy_credit + less.time_amount
                        + less.waiting_amount + less.session_fee + less.adjustment,
                    less.subtotal
                );
                prop_assert!(less.subtotal >= min.unwrap_or(0));
            }

            #[test]
            fn drawn_energy_is_bounded(left in proptest::collection::vec(-10_i64..100_000, 0..4), session in -10_i64..300_000) {
                let drawn = draw_included_energy(&left, session);
                prop_assert_eq!(drawn.len(), left.len());
                prop_assert!(drawn.iter().sum::<i64>() <= session.max(0));
                for (d, l) in drawn.iter().zip(&left) {
                    prop_assert!(*d >= 0 && *d <= (*l).max(0));
                }
                prop_assert_eq!(drawn.iter().sum::<i64>(), session.max(0).min(left.iter().map(|l| (*l).max(0)).sum()));
            }

            #[test]
            fn decimals_round_trip(units in 0_i64..MAX_AMOUNT) {
                prop_assert_eq!(parse_decimal(&format_decimal(units, 2), 2, "amount"), Ok(units));
            }
        }
    }
}
