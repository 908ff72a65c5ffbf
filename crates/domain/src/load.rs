//! Site load management: a site's grid connection has a limit, and the
//! sessions charging there share it. This module holds the rules, with no
//! I/O: what the limit is at a given time of day, and how a budget is
//! shared among the site's connectors (`share`). The application sends the
//! result to the chargers as charging profiles (docs/load-management.md).
//!
//! The guarantee: the allowances [`share`] returns never add up to more than
//! the budget left once the fixed draws (chargers we cannot control or
//! reach) are counted, and none exceeds its connector's cap.

use chrono::NaiveTime;
use serde::{Deserialize, Serialize};

use crate::ValidationError;

/// The most a site may be given, in watts (1 GW: far above any grid
/// connection a car park has, low enough that sums never overflow).
pub const MAX_SITE_POWER_W: i64 = 1_000_000_000;

/// The most time-of-day periods a limit may have.
pub const MAX_PERIODS: usize = 48;

/// A site's power limit, as its host or an admin set it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PowerLimit {
    /// The grid connection's limit, in watts, outside any period.
    pub max_power_w: i64,
    /// Kept free under the limit (for the building, for meter error).
    pub margin_w: i64,
    /// The least a running session gets while the budget allows, and what a
    /// connector without a session keeps for a car that starts there.
    pub min_session_w: i64,
    /// What a charger that takes no charging profile draws at most: the
    /// static limit set on it at installation. It is counted at that.
    pub fallback_w: i64,
    /// Time-of-day limits (the site's local time) that replace
    /// `max_power_w` while they last.
    pub schedule: Vec<LimitPeriod>,
}

/// A limit for part of every day, in the site's local time: from `from`
/// until `to` (exclusive); a period whose `to` is not after `from` runs past
/// midnight.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LimitPeriod {
    /// Start.
    pub from: NaiveTime,
    /// End (exclusive).
    pub to: NaiveTime,
    /// The limit while it lasts, in watts.
    pub max_power_w: i64,
}

impl LimitPeriod {
    /// Whether `at` falls in the period.
    pub fn contains(&self, at: NaiveTime) -> bool {
        if self.from < self.to {
            self.from <= at && at < self.to
        } else {
            at >= self.from || at < self.to
        }
    }
}

fn invalid(field: &'static str, message: impl Into<String>) -> ValidationError {
    ValidationError {
        field,
        message: message.into(),
    }
}

impl PowerLimit {
    /// Checks the limit is one a site can have.
    pub fn validate(&self) -> Result<(), ValidationError> {
        let watts = |field: &'static str, w: i64| {
            if (0..=MAX_SITE_POWER_W).contains(&w) {
                Ok(())
            } else {
                Err(invalid(
                    field,
                    format!("must be between 0 and {MAX_SITE_POWER_W} W"),
                ))
            }
        };
        watts("max_power_kw", self.max_power_w)?;
        watts("margin_kw", self.margin_w)?;
        watts("min_session_kw", self.min_session_w)?;
        watts("fallback_kw", self.fallback_w)?;
        if self.max_power_w == 0 {
            return Err(invalid("max_power_kw", "must be more than 0"));
        }
        if self.margin_w >= self.max_power_w {
            return Err(invalid("margin_kw", "must be less than max_power_kw"));
        }
        if self.schedule.len() > MAX_PERIODS {
            return Err(invalid(
                "schedule",
                format!("at most {MAX_PERIODS} periods"),
            ));
        }
        for (n, period) in self.schedule.iter().enumerate() {
            watts("schedule.max_power_kw", period.max_power_w)?;
            if period.from == period.to {
                return Err(invalid(
                    "schedule",
                    format!("period {n} starts and ends at the same time"),
                ));
            }
            for other in self.schedule.iter().skip(n + 1) {
                if period.contains(other.from) || other.contains(period.from) {
                    return Err(invalid(
                        "schedule",
                        format!(
                            "periods {}–{} and {}–{} overlap",
                            period.from.format("%H:%M"),
                            period.to.format("%H:%M"),
                            other.from.format("%H:%M"),
                            other.to.format("%H:%M")
                        ),
                    ));
                }
            }
        }
        Ok(())
    }

    /// The connection's limit at local time `at` (the period's, or the
    /// standing one).
    pub fn limit_at(&self, at: NaiveTime) -> i64 {
        self.schedule
            .iter()
            .find(|p| p.contains(at))
            .map_or(self.max_power_w, |p| p.max_power_w)
    }

    /// What the sessions may share at local time `at`: the limit less the
    /// margin, never below zero.
    pub fn budget_at(&self, at: NaiveTime) -> i64 {
        (self.limit_at(at) - self.margin_w).max(0)
    }

    /// The times of day the limit may change at (periods' starts and ends),
    /// sorted, without repeats.
    pub fn boundaries(&self) -> Vec<NaiveTime> {
        let mut times: Vec<NaiveTime> = self.schedule.iter().flat_map(|p| [p.from, p.to]).collect();
        times.sort();
        times.dedup();
        times
    }
}

/// What one connector of the site asks of the budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// A running session we can set: at least `floor_w` while the budget
    /// allows (the minimum per session, or the power its booking reserved),
    /// at most `cap_w` (what its connector or car can take), and a share of
    /// what is left in proportion to `weight`.
    Session {
        /// Given first, in claim order, while the budget lasts.
        floor_w: i64,
        /// Never more than this.
        cap_w: i64,
        /// Share of the rest (≥ 1).
        weight: u32,
    },
    /// A connector without a session: it keeps `reserve_w` (after every
    /// session's floor) so a car that starts there may draw that much
    /// before the next sharing.
    Idle {
        /// What it keeps.
        reserve_w: i64,
    },
    /// A draw we cannot set (a charger that rejects profiles, at its static
    /// limit; an offline one, at its last allowance): counted as it is.
    Fixed {
        /// The draw counted.
        w: i64,
    },
}

/// Shares `budget_w` among `claims`, in claim order for the floors (put the
/// sessions that must not be starved first). Returns each claim's
/// allowance, in watts:
///
/// 1. Fixed draws are counted first; what they leave is shared.
/// 2. Each session gets its floor (capped at its cap) while the budget
///    allows it whole; a session whose floor no longer fits gets 0 (it
///    waits, paused, rather than every session getting too little to charge).
/// 3. Idle connectors keep their reserve while the budget allows it whole.
/// 4. What is left goes to the sessions by weight, water-filled: a session
///    that reaches its cap gives its unused share to the others.
///
/// Guarantees: the non-fixed allowances add up to at most
/// `max(0, budget_w − Σ fixed)`, each session's to at most its cap, and
/// every value is ≥ 0.
pub fn share(budget_w: i64, claims: &[Claim]) -> Vec<i64> {
    let fixed: i64 = claims
        .iter()
        .map(|c| match c {
            Claim::Fixed { w } => (*w).max(0),
            _ => 0,
        })
        .sum();
    let mut left = (budget_w - fixed).max(0);
    let mut out: Vec<i64> = claims
        .iter()
        .map(|c| match c {
            Claim::Fixed { w } => (*w).max(0),
            _ => 0,
        })
        .collect();
    // Floors, in order.
    for (claim, given) in claims.iter().zip(out.iter_mut()) {
        if let Claim::Session { floor_w, cap_w, .. } = claim {
            let floor = (*floor_w).min(*cap_w).max(0);
            if floor <= left {
                *given = floor;
                left -= floor;
            }
        }
    }
    for (claim, given) in claims.iter().zip(out.iter_mut()) {
        if let Claim::Idle { reserve_w } = claim {
            let reserve = (*reserve_w).max(0);
            if reserve <= left {
                *given = reserve;
                left -= reserve;
            }
        }
    }
    // Water-filling by weight: sessions that got their floor (or had none)
    // and are below their cap.
    let mut open: Vec<usize> = claims
        .iter()
        .enumerate()
        .filter_map(|(i, c)| match c {
            Claim::Session { floor_w, cap_w, .. } => {
                let given = out.get(i).copied().unwrap_or(0);
                let starved = *floor_w > 0 && given == 0 && *cap_w > 0;
                (!starved && given < *cap_w).then_some(i)
            }
            _ => None,
        })
        .collect();
    while left > 0 && !open.is_empty() {
        let weights: u64 = open.iter().map(|&i| u64::from(weight(claims, i))).sum();
        if weights == 0 {
            break;
        }
        let mut capped = Vec::new();
        let mut spent = 0;
        for &i in &open {
            let room = cap(claims, i) - out.get(i).copied().unwrap_or(0);
            // Fits in i64: left ≤ budget and weight ≤ u32::MAX.
            let fair =
                (i128::from(left) * i128::from(weight(claims, i)) / i128::from(weights)) as i64;
            let take = fair.min(room);
            if let Some(given) = out.get_mut(i) {
                *given += take;
            }
            spent += take;
            if take == room {
                capped.push(i);
            }
        }
        left -= spent;
        if capped.is_empty() {
            // Everyone took their fair share: what is left is rounding.
            break;
        }
        open.retain(|i| !capped.contains(i));
    }
    out
}

fn weight(claims: &[Claim], i: usize) -> u32 {
    match claims.get(i) {
        Some(Claim::Session { weight, .. }) => (*weight).max(1),
        _ => 0,
    }
}

fn cap(claims: &[Claim], i: usize) -> i64 {
    match claims.get(i) {
        Some(Claim::Session { cap_w, .. }) => (*cap_w).max(0),
        _ => 0,
    }
}

/// How an AC connector is wired, to turn watts into amperes per phase.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Circuit {
    /// Phases in use (1 or 3).
    pub phases: u8,
    /// Volts per phase (line to neutral).
    pub phase_voltage: f64,
}

impl Circuit {
    /// The circuit of an AC connector of `max_voltage` volts and `phases`
    /// phases. OCPI gives a three-phase connector's voltage line to line
    /// (400 V); a voltage above 250 V is taken as that and divided by √3.
    pub fn ac(phases: u8, max_voltage: i32) -> Self {
        let volts = f64::from(max_voltage.max(1));
        let phase_voltage = if phases == 3 && volts > 250.0 {
            volts / 3f64.sqrt()
        } else {
            volts
        };
        Self {
            phases: phases.max(1),
            phase_voltage,
        }
    }

    /// `w` watts as amperes per phase, rounded down to 0.1 A (a limit is
    /// never rounded up past its watts).
    pub fn amps(&self, w: i64) -> f64 {
        let amps = w.max(0) as f64 / (self.phase_voltage * f64::from(self.phases));
        (amps * 10.0).floor() / 10.0
    }

    /// `a` amperes per phase as watts, rounded down.
    pub fn watts(&self, a: f64) -> i64 {
        (a.max(0.0) * self.phase_voltage * f64::from(self.phases)).floor() as i64
    }
}

/// The units a charger takes charging schedules in, as it declares them:
/// OCPP 1.6's `ChargingScheduleAllowedChargingRateUnit` configuration key
/// (`Current`, `Power`, or both, comma separated) or 2.0.1's
/// `SmartChargingCtrlr.RateUnit` variable (`A`, `W`, or both).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateUnits {
    /// Amperes (per phase on AC).
    pub amps: bool,
    /// Watts.
    pub watts: bool,
}

/// The unit a charging schedule is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateUnit {
    /// Amperes (`A`): per phase on AC, of the DC current on DC.
    Amps,
    /// Watts (`W`).
    Watts,
}

impl RateUnit {
    /// OCPP's `chargingRateUnit` (both versions).
    pub fn code(self) -> &'static str {
        match self {
            Self::Amps => "A",
            Self::Watts => "W",
        }
    }
}

impl RateUnits {
    /// From the declared value (either version's words); `None` when it
    /// names no unit we know, which means the charger did not tell.
    pub fn parse(declared: &str) -> Option<Self> {
        let mut units = Self {
            amps: false,
            watts: false,
        };
        for word in declared.split(',').map(str::trim) {
            match word {
                "Current" | "A" => units.amps = true,
                "Power" | "W" => units.watts = true,
                _ => {}
            }
        }
        (units.amps || units.watts).then_some(units)
    }

    /// The unit for a connector: amperes on AC and watts on DC (how
    /// chargers are built to limit them) when the charger takes it, else
    /// the one it takes. Undeclared units (`None`) get that default.
    pub fn choose(declared: Option<Self>, dc: bool) -> RateUnit {
        let preferred = if dc { RateUnit::Watts } else { RateUnit::Amps };
        match declared {
            Some(Self { amps: true, .. }) if preferred == RateUnit::Amps => RateUnit::Amps,
            Some(Self { watts: true, .. }) if preferred == RateUnit::Watts => RateUnit::Watts,
            Some(Self { amps: true, .. }) => RateUnit::Amps,
            Some(Self { watts: true, .. }) => RateUnit::Watts,
            _ => preferred,
        }
    }
}

/// `w` watts as DC amperes at `max_voltage`, rounded down to 0.1 A (for a
/// DC charger that takes only amperes: at a lower battery voltage it draws
/// less than `w`, never more).
pub fn dc_amps(w: i64, max_voltage: i32) -> f64 {
    let amps = w.max(0) as f64 / f64::from(max_voltage.max(1));
    (amps * 10.0).floor() / 10.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_chargers_declared_units_pick_the_schedules_unit() {
        let both = RateUnits::parse("Current,Power");
        assert_eq!(both, RateUnits::parse(" A , W "));
        assert_eq!(RateUnits::choose(both, false), RateUnit::Amps);
        assert_eq!(RateUnits::choose(both, true), RateUnit::Watts);
        let power = RateUnits::parse("Power");
        assert_eq!(RateUnits::choose(power, false), RateUnit::Watts);
        let current = RateUnits::parse("A");
        assert_eq!(RateUnits::choose(current, true), RateUnit::Amps);
        assert_eq!(RateUnits::parse(""), None);
        assert_eq!(RateUnits::parse("Kilowatts"), None);
        assert_eq!(RateUnits::choose(None, false), RateUnit::Amps);
        assert_eq!(RateUnits::choose(None, true), RateUnit::Watts);
        // 50 kW at 400 V DC: 125 A; never rounded up.
        assert_eq!(dc_amps(50_000, 400), 125.0);
        assert_eq!(dc_amps(10_001, 300), 33.3);
    }

    fn t(h: u32, m: u32) -> NaiveTime {
        NaiveTime::from_hms_opt(h, m, 0).unwrap()
    }

    fn session(floor_w: i64, cap_w: i64) -> Claim {
        Claim::Session {
            floor_w,
            cap_w,
            weight: 1,
        }
    }

    #[test]
    fn four_chargers_on_32_kw_share_it_fairly() {
        let claims = [session(4_000, 22_000); 4];
        assert_eq!(share(32_000, &claims), vec![8_000; 4]);
        // One session: it gets its cap; the idle connectors keep their reserve.
        let claims = [
            session(4_000, 22_000),
            Claim::Idle { reserve_w: 4_000 },
            Claim::Idle { reserve_w: 4_000 },
            Claim::Idle { reserve_w: 4_000 },
        ];
        assert_eq!(share(32_000, &claims), vec![20_000, 4_000, 4_000, 4_000]);
    }

    #[test]
    fn a_capped_session_gives_its_share_to_the_others() {
        let claims = [session(0, 3_000), session(0, 22_000), session(0, 22_000)];
        assert_eq!(share(32_000, &claims), vec![3_000, 14_500, 14_500]);
    }

    #[test]
    fn weights_tilt_the_share_and_fixed_draws_come_off_first() {
        let claims = [
            Claim::Session {
                floor_w: 0,
                cap_w: 50_000,
                weight: 2,
            },
            session(0, 50_000),
            Claim::Fixed { w: 8_000 },
        ];
        assert_eq!(share(38_000, &claims), vec![20_000, 10_000, 8_000]);
    }

    #[test]
    fn when_floors_do_not_fit_the_later_sessions_wait() {
        let claims = [session(6_000, 22_000); 3];
        // 15 kW: two floors fit (12 kW), the third waits at 0, the rest (3
        // kW) goes to the two that charge.
        assert_eq!(share(15_000, &claims), vec![7_500, 7_500, 0]);
    }

    #[test]
    fn fixed_draws_above_the_budget_leave_nothing() {
        let claims = [Claim::Fixed { w: 40_000 }, session(1_000, 22_000)];
        assert_eq!(share(32_000, &claims), vec![40_000, 0]);
    }

    #[test]
    fn schedule_periods_replace_the_standing_limit() {
        let limit = PowerLimit {
            max_power_w: 32_000,
            margin_w: 2_000,
            min_session_w: 0,
            fallback_w: 0,
            schedule: vec![
                LimitPeriod {
                    from: t(17, 0),
                    to: t(21, 0),
                    max_power_w: 16_000,
                },
                LimitPeriod {
                    from: t(23, 0),
                    to: t(6, 0),
                    max_power_w: 64_000,
                },
            ],
        };
        limit.validate().unwrap();
        assert_eq!(limit.budget_at(t(12, 0)), 30_000);
        assert_eq!(limit.budget_at(t(17, 0)), 14_000);
        assert_eq!(limit.budget_at(t(20, 59)), 14_000);
        assert_eq!(limit.budget_at(t(21, 0)), 30_000);
        assert_eq!(limit.budget_at(t(2, 0)), 62_000);
        assert_eq!(
            limit.boundaries(),
            vec![t(6, 0), t(17, 0), t(21, 0), t(23, 0)]
        );
    }

    #[test]
    fn bad_limits_are_refused_with_their_field() {
        let good = PowerLimit {
            max_power_w: 32_000,
            margin_w: 0,
            min_session_w: 4_000,
            fallback_w: 8_000,
            schedule: vec![],
        };
        good.validate().unwrap();
        let zero = PowerLimit {
            max_power_w: 0,
            ..good.clone()
        };
        assert_eq!(zero.validate().unwrap_err().field, "max_power_kw");
        let margin = PowerLimit {
            margin_w: 32_000,
            ..good.clone()
        };
        assert_eq!(margin.validate().unwrap_err().field, "margin_kw");
        let overlap = PowerLimit {
            schedule: vec![
                LimitPeriod {
                    from: t(22, 0),
                    to: t(6, 0),
                    max_power_w: 1,
                },
                LimitPeriod {
                    from: t(5, 0),
                    to: t(7, 0),
                    max_power_w: 1,
                },
            ],
            ..good.clone()
        };
        assert_eq!(overlap.validate().unwrap_err().field, "schedule");
        let empty = PowerLimit {
            schedule: vec![LimitPeriod {
                from: t(5, 0),
                to: t(5, 0),
                max_power_w: 1,
            }],
            ..good
        };
        assert_eq!(empty.validate().unwrap_err().field, "schedule");
    }

    #[test]
    fn amperes_per_phase_never_round_up() {
        let three = Circuit::ac(3, 400);
        assert!((three.phase_voltage - 230.94).abs() < 0.01);
        assert_eq!(three.amps(22_000), 31.7);
        assert!(three.watts(three.amps(22_000)) <= 22_000);
        let one = Circuit::ac(1, 230);
        assert_eq!(one.amps(7_360), 32.0);
    }

    fn claim() -> impl Strategy<Value = Claim> {
        prop_oneof![
            (0i64..30_000, 0i64..60_000, 1u32..4).prop_map(|(floor_w, cap_w, weight)| {
                Claim::Session {
                    floor_w,
                    cap_w,
                    weight,
                }
            }),
            (0i64..10_000).prop_map(|reserve_w| Claim::Idle { reserve_w }),
            (0i64..30_000).prop_map(|w| Claim::Fixed { w }),
        ]
    }

    proptest! {
        #[test]
        fn the_shares_never_exceed_the_budget_nor_a_cap(
            budget in 0i64..200_000,
            claims in proptest::collection::vec(claim(), 0..40),
        ) {
            let given = share(budget, &claims);
            prop_assert_eq!(given.len(), claims.len());
            let fixed: i64 = claims.iter().map(|c| match c { Claim::Fixed { w } => *w, _ => 0 }).sum();
            let shared: i64 = claims.iter().zip(&given).map(|(c, g)| match c {
                Claim::Fixed { .. } => 0,
                _ => *g,
            }).sum();
            prop_assert!(shared <= (budget - fixed).max(0), "{shared} > {budget} - {fixed}");
            for (c, g) in claims.iter().zip(&given) {
                prop_assert!(*g >= 0);
                match c {
                    Claim::Session { cap_w, .. } => prop_assert!(*g <= *cap_w),
                    Claim::Idle { reserve_w } => prop_assert!(*g == 0 || *g == *reserve_w),
                    Claim::Fixed { w } => prop_assert_eq!(*g, *w),
                }
            }
            // Nothing is left on the table while a session could take more
            // (beyond rounding: a watt per session).
            let open = claims.iter().zip(&given).filter(|(c, g)| matches!(c,
                Claim::Session { cap_w, floor_w, .. } if **g < *cap_w && !(*floor_w > 0 && **g == 0))).count() as i64;
            if open > 0 {
                let unused = (budget - fixed).max(0) - shared;
                prop_assert!(unused <= open, "{unused} W left unused with {open} sessions open");
            }
        }
    }
}
