//! When a site is open: OCPI 2.2.1 `Hours`, read in the site's own time zone.

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, Timelike, Utc};
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::ValidationError;

/// The field every opening-hours error is reported on.
const FIELD: &str = "opening_hours";
/// Bounds on what a host may store: seven days with a few breaks each fit
/// easily; the caps keep one site's document (and `is_open_at`) small.
const MAX_PERIODS: usize = 50;
const MAX_CLOSINGS: usize = 366;

/// A site's opening hours (OCPI 2.2.1 `Hours`, stored as JSON).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OpeningHours {
    /// Open around the clock (save on exceptional closings).
    pub twentyfourseven: bool,
    /// The weekly periods the site is open, when not 24/7.
    #[serde(default)]
    pub regular_hours: Vec<RegularHours>,
    /// Whole local days the site is closed.
    #[serde(default)]
    pub exceptional_closings: Vec<NaiveDate>,
}

/// One weekly opening period, in local wall-clock time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RegularHours {
    /// 1 = Monday … 7 = Sunday (ISO 8601).
    pub weekday: u8,
    /// "HH:MM", 00:00 to 23:59.
    pub period_begin: String,
    /// "HH:MM", 00:00 to 24:00; end <= begin means the span runs past
    /// midnight into the next day.
    pub period_end: String,
}

/// Minutes since midnight of an "HH:MM" time; `allow_24` admits "24:00".
fn minutes(text: &str, allow_24: bool) -> Option<u32> {
    let &[h1, h2, b':', m1, m2] = text.as_bytes() else {
        return None;
    };
    let digit = |b: u8| char::from(b).to_digit(10);
    let hours = digit(h1)? * 10 + digit(h2)?;
    let mins = digit(m1)? * 10 + digit(m2)?;
    match (hours, mins) {
        (24, 0) if allow_24 => Some(24 * 60),
        (0..=23, 0..=59) => Some(hours * 60 + mins),
        _ => None,
    }
}

impl RegularHours {
    /// Begin and end in minutes since midnight, if both are well formed.
    fn span(&self) -> Option<(u32, u32)> {
        Some((
            minutes(&self.period_begin, false)?,
            minutes(&self.period_end, true)?,
        ))
    }
}

impl OpeningHours {
    /// Open around the clock, every day.
    pub fn always() -> Self {
        Self {
            twentyfourseven: true,
            regular_hours: Vec::new(),
            exceptional_closings: Vec::new(),
        }
    }

    /// Checks what a host sent. No regular hours and not 24/7 is allowed:
    /// it reads as "closed until further notice".
    pub fn validate(&self) -> Result<(), ValidationError> {
        if self.twentyfourseven && !self.regular_hours.is_empty() {
            return Err(ValidationError::new(
                FIELD,
                "regular_hours must be empty when twentyfourseven is true",
            ));
        }
        if self.regular_hours.len() > MAX_PERIODS {
            return Err(ValidationError::new(
                FIELD,
                format!("at most {MAX_PERIODS} regular_hours"),
            ));
        }
        if self.exceptional_closings.len() > MAX_CLOSINGS {
            return Err(ValidationError::new(
                FIELD,
                format!("at most {MAX_CLOSINGS} exceptional_closings"),
            ));
        }
        for (i, period) in self.regular_hours.iter().enumerate() {
            let fail = |what: &str| {
                Err(ValidationError::new(
                    FIELD,
                    format!("regular_hours[{i}]: {what}"),
                ))
            };
            if !(1..=7).contains(&period.weekday) {
                return fail("weekday must be 1 (Monday) to 7 (Sunday)");
            }
            let Some(begin) = minutes(&period.period_begin, false) else {
                return fail("period_begin must be HH:MM from 00:00 to 23:59");
            };
            let Some(end) = minutes(&period.period_end, true) else {
                return fail("period_end must be HH:MM from 00:00 to 24:00");
            };
            if begin == end {
                return fail("period_begin and period_end must differ");
            }
        }
        Ok(())
    }

    /// Is the site open at this local wall-clock time? Overnight spans count on the next morning too (a Friday 22:00–06:00 span makes Saturday 03:00 open). A closed date closes periods that START on that date.
    ///
    /// Periods are half-open: open from `period_begin`, closed at
    /// `period_end`. A 24/7 site is closed on its exceptional closing days.
    /// Malformed periods (see [`Self::validate`]) never open the site.
    pub fn is_open_at(&self, local: NaiveDateTime) -> bool {
        let date = local.date();
        let closed = |day: NaiveDate| self.exceptional_closings.contains(&day);
        if self.twentyfourseven {
            return !closed(date);
        }
        let now = local.num_seconds_from_midnight();
        let today = date.weekday().number_from_monday();
        let yesterday = date.weekday().pred().number_from_monday();
        let today_closed = closed(date);
        // The first representable date has no day before; nothing can have
        // been closed then.
        let yesterday_closed = date.pred_opt().is_some_and(closed);
        self.regular_hours.iter().any(|period| {
            let Some((begin, end)) = period.span() else {
                return false;
            };
            let (begin, end) = (begin * 60, end * 60);
            let overnight = end <= begin;
            let weekday = u32::from(period.weekday);
            let started_today =
                weekday == today && !today_closed && now >= begin && (overnight || now < end);
            let runs_on_from_yesterday =
                overnight && weekday == yesterday && !yesterday_closed && now < end;
            started_today || runs_on_from_yesterday
        })
    }

    /// Same, from a UTC instant and the site's zone.
    pub fn is_open(&self, at: DateTime<Utc>, zone: &SiteTimeZone) -> bool {
        self.is_open_at(at.with_timezone(&zone.0).naive_local())
    }
}

/// An IANA time-zone name ("Asia/Ulaanbaatar"), checked against chrono-tz.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SiteTimeZone(chrono_tz::Tz);

impl SiteTimeZone {
    /// Checks a zone name (exact IANA spelling; surrounding blanks ignored).
    pub fn parse(name: &str) -> Result<Self, ValidationError> {
        name.trim().parse().map(Self).map_err(|_| {
            ValidationError::new(
                "time_zone",
                "must be an IANA time-zone name such as Asia/Manila",
            )
        })
    }

    /// The IANA name.
    pub fn name(&self) -> &'static str {
        self.0.name()
    }

    /// Coordinated Universal Time, for sites whose zone is not known.
    pub fn utc() -> Self {
        Self(chrono_tz::Tz::UTC)
    }

    /// The chrono-tz zone, for date arithmetic.
    pub fn tz(&self) -> chrono_tz::Tz {
        self.0
    }
}

impl Serialize for SiteTimeZone {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

impl<'de> Deserialize<'de> for SiteTimeZone {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        Self::parse(&name).map_err(D::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn period(weekday: u8, begin: &str, end: &str) -> RegularHours {
        RegularHours {
            weekday,
            period_begin: begin.into(),
            period_end: end.into(),
        }
    }

    fn hours(periods: Vec<RegularHours>) -> OpeningHours {
        OpeningHours {
            twentyfourseven: false,
            regular_hours: periods,
            exceptional_closings: Vec::new(),
        }
    }

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    /// 2026-01-05 is a Monday, so day 5 + n is weekday n + 1.
    fn at(day: u32, h: u32, m: u32, s: u32) -> NaiveDateTime {
        date(2026, 1, day).and_hms_opt(h, m, s).unwrap()
    }

    #[test]
    fn the_calendar_in_these_tests_is_right() {
        assert_eq!(at(5, 0, 0, 0).weekday(), chrono::Weekday::Mon);
        assert_eq!(at(11, 0, 0, 0).weekday(), chrono::Weekday::Sun);
    }

    #[test]
    fn a_day_period_is_half_open() {
        let h = hours((1..=5).map(|d| period(d, "08:00", "18:00")).collect());
        h.validate().unwrap();
        assert!(!h.is_open_at(at(5, 7, 59, 59)));
        assert!(h.is_open_at(at(5, 8, 0, 0)));
        assert!(h.is_open_at(at(9, 17, 59, 59)));
        assert!(!h.is_open_at(at(9, 18, 0, 0)));
        // Saturday and Sunday have no periods.
        assert!(!h.is_open_at(at(10, 12, 0, 0)));
        assert!(!h.is_open_at(at(11, 12, 0, 0)));
    }

    #[test]
    fn an_overnight_period_runs_into_the_next_morning() {
        let h = hours(vec![period(5, "22:00", "06:00")]);
        h.validate().unwrap();
        assert!(!h.is_open_at(at(9, 21, 59, 0)));
        assert!(h.is_open_at(at(9, 22, 0, 0)));
        assert!(h.is_open_at(at(9, 23, 59, 59)));
        assert!(h.is_open_at(at(10, 0, 0, 0)));
        assert!(h.is_open_at(at(10, 3, 0, 0)));
        assert!(!h.is_open_at(at(10, 6, 0, 0)));
        // Only Friday night: not Saturday night, not Friday morning.
        assert!(!h.is_open_at(at(10, 23, 0, 0)));
        assert!(!h.is_open_at(at(9, 3, 0, 0)));
        // "00:00" as the end is midnight: nothing spills over.
        let to_midnight = hours(vec![period(5, "22:00", "00:00")]);
        assert!(to_midnight.is_open_at(at(9, 23, 0, 0)));
        assert!(!to_midnight.is_open_at(at(10, 0, 0, 0)));
    }

    #[test]
    fn twenty_four_hundred_ends_the_day() {
        let h = hours(vec![
            period(6, "18:00", "24:00"),
            period(3, "00:00", "24:00"),
        ]);
        h.validate().unwrap();
        assert!(h.is_open_at(at(10, 23, 59, 59)));
        assert!(!h.is_open_at(at(11, 0, 0, 0)));
        // A whole day.
        assert!(h.is_open_at(at(7, 0, 0, 0)));
        assert!(h.is_open_at(at(7, 23, 59, 59)));
        assert!(!h.is_open_at(at(8, 0, 0, 0)));
    }

    #[test]
    fn sunday_night_wraps_to_monday() {
        let h = hours(vec![period(7, "20:00", "02:00")]);
        assert!(h.is_open_at(at(11, 21, 0, 0)));
        assert!(h.is_open_at(at(12, 1, 59, 59)));
        assert!(!h.is_open_at(at(12, 2, 0, 0)));
        // Monday 01:00 a week earlier follows Sunday the 4th: also open.
        assert!(h.is_open_at(at(5, 1, 0, 0)));
        assert!(!h.is_open_at(at(6, 1, 0, 0)));
    }

    #[test]
    fn a_closed_date_closes_the_periods_starting_on_it() {
        let mut h = hours(vec![
            period(5, "22:00", "06:00"),
            period(6, "10:00", "12:00"),
        ]);
        h.exceptional_closings = vec![date(2026, 1, 9)];
        assert!(!h.is_open_at(at(9, 23, 0, 0)));
        assert!(!h.is_open_at(at(10, 3, 0, 0)));
        // Saturday's own period is unaffected.
        assert!(h.is_open_at(at(10, 11, 0, 0)));
        // The next Friday is open again.
        assert!(h.is_open_at(at(16, 23, 0, 0)));
        // Closing Saturday instead keeps Friday night's tail open.
        h.exceptional_closings = vec![date(2026, 1, 10)];
        assert!(h.is_open_at(at(10, 3, 0, 0)));
        assert!(!h.is_open_at(at(10, 11, 0, 0)));
    }

    #[test]
    fn always_open_except_closed_days() {
        let mut h = OpeningHours::always();
        h.validate().unwrap();
        assert!(h.is_open_at(at(5, 3, 0, 0)));
        assert!(h.is_open_at(at(11, 23, 59, 59)));
        h.exceptional_closings.push(date(2026, 1, 6));
        assert!(!h.is_open_at(at(6, 12, 0, 0)));
        assert!(h.is_open_at(at(7, 0, 0, 0)));
        // Not 24/7 and no periods: never open.
        assert!(!hours(vec![]).is_open_at(at(5, 12, 0, 0)));
    }

    #[test]
    fn validate_catches_each_mistake() {
        let bad = |h: OpeningHours, needle: &str| {
            let err = h.validate().unwrap_err();
            assert_eq!(err.field, "opening_hours");
            assert!(err.message.contains(needle), "{} !~ {needle}", err.message);
        };
        bad(hours(vec![period(0, "08:00", "09:00")]), "weekday");
        bad(hours(vec![period(8, "08:00", "09:00")]), "weekday");
        bad(hours(vec![period(1, "8:00", "09:00")]), "period_begin");
        bad(hours(vec![period(1, "24:00", "09:00")]), "period_begin");
        bad(hours(vec![period(1, "08:0a", "09:00")]), "period_begin");
        bad(hours(vec![period(1, "08:00", "23:60")]), "period_end");
        bad(hours(vec![period(1, "08:00", "24:01")]), "period_end");
        bad(hours(vec![period(1, "08:00", "+9:00")]), "period_end");
        bad(hours(vec![period(1, "08:00", "08:00")]), "differ");
        bad(
            hours(vec![period(1, "08:00", "09:00"), period(2, "x", "09:00")]),
            "regular_hours[1]",
        );
        bad(
            OpeningHours {
                twentyfourseven: true,
                ..hours(vec![period(1, "08:00", "09:00")])
            },
            "twentyfourseven",
        );
        bad(hours(vec![period(1, "08:00", "09:00"); 51]), "at most 50");
        assert!(hours(vec![period(1, "08:00", "09:00"); 50])
            .validate()
            .is_ok());
        let mut closings = OpeningHours::always();
        closings.exceptional_closings = vec![date(2026, 1, 1); 367];
        bad(closings.clone(), "at most 366");
        closings.exceptional_closings.pop();
        assert!(closings.validate().is_ok());
        assert!(hours(vec![
            period(7, "00:00", "24:00"),
            period(1, "23:59", "00:00")
        ])
        .validate()
        .is_ok());
    }

    #[test]
    fn json_shape_is_ocpi_like() {
        let h: OpeningHours = serde_json::from_str(
            r#"{"twentyfourseven":false,
                "regular_hours":[{"weekday":1,"period_begin":"08:00","period_end":"18:00"}],
                "exceptional_closings":["2026-12-25"]}"#,
        )
        .unwrap();
        assert_eq!(h.regular_hours, [period(1, "08:00", "18:00")]);
        assert_eq!(h.exceptional_closings, [date(2026, 12, 25)]);
        let back: OpeningHours = serde_json::from_str(&serde_json::to_string(&h).unwrap()).unwrap();
        assert_eq!(back, h);
        let short: OpeningHours = serde_json::from_str(r#"{"twentyfourseven":true}"#).unwrap();
        assert_eq!(short, OpeningHours::always());
    }

    #[test]
    fn is_open_reads_the_clock_in_the_site_zone_across_dst() {
        let paris = SiteTimeZone::parse("Europe/Paris").unwrap();
        let h = hours((1..=7).map(|d| period(d, "08:00", "20:00")).collect());
        // Central Europe moves to summer time on Sunday 2026-03-29.
        let utc = |d, h, m| Utc.with_ymd_and_hms(2026, 3, d, h, m, 0).unwrap();
        assert!(!h.is_open(utc(28, 6, 30), &paris)); // 07:30 CET
        assert!(h.is_open(utc(29, 6, 30), &paris)); // 08:30 CEST
        assert!(h.is_open(utc(28, 18, 30), &paris)); // 19:30 CET
        assert!(!h.is_open(utc(29, 18, 30), &paris)); // 20:30 CEST
                                                      // The same instant in UTC reads the UTC wall clock.
        assert!(!h.is_open(utc(29, 6, 30), &SiteTimeZone::utc()));
        // An overnight span seen from the other side of the date line.
        let manila = SiteTimeZone::parse("Asia/Manila").unwrap();
        let night = hours(vec![period(5, "22:00", "06:00")]);
        // Friday 2026-01-09 16:00 UTC is Saturday 00:00 in Manila (UTC+8).
        let friday_utc = Utc.with_ymd_and_hms(2026, 1, 9, 16, 0, 0).unwrap();
        assert!(night.is_open(friday_utc, &manila));
        assert!(!night.is_open(friday_utc, &SiteTimeZone::utc()));
    }

    #[test]
    fn time_zones_are_checked() {
        let ub = SiteTimeZone::parse(" Asia/Ulaanbaatar ").unwrap();
        assert_eq!(ub.name(), "Asia/Ulaanbaatar");
        assert_eq!(SiteTimeZone::utc().name(), "UTC");
        for bad in ["", "Mars/Olympus_Mons", "asia/ulaanbaatar", "+08:00"] {
            assert_eq!(
                SiteTimeZone::parse(bad).unwrap_err().field,
                "time_zone",
                "{bad}"
            );
        }
        assert_eq!(serde_json::to_string(&ub).unwrap(), r#""Asia/Ulaanbaatar""#);
        assert_eq!(
            serde_json::from_str::<SiteTimeZone>(r#""Asia/Manila""#).unwrap(),
            SiteTimeZone::parse("Asia/Manila").unwrap()
        );
        assert!(serde_json::from_str::<SiteTimeZone>(r#""Nowhere""#).is_err());
    }
}
