//! Coupons (seed 000): a percentage off with a cap, or a fixed amount off
//! an order of at least some minimum; valid in a time window, with a limit
//! on uses in total and per driver. And a bill's split of an order into
//! what a coupon, credit points and the driver's money pay.
//!
//! Whether a coupon may still be used (its counts) is the store's to decide
//! atomically at payment; the rules here are the pure parts: the code's
//! shape, the discount on an amount, the window, and the split.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{Currency, ValidationError};

/// A coupon code: 3 to 32 letters, digits, `-` or `_`, kept upper case so
/// codes match whatever case the driver types.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CouponCode(String);

impl CouponCode {
    /// Checks and normalizes a code.
    pub fn parse(input: &str) -> Result<Self, ValidationError> {
        let code = input.trim().to_ascii_uppercase();
        let shape_ok = (3..=32).contains(&code.len())
            && code
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if shape_ok {
            Ok(Self(code))
        } else {
            Err(ValidationError::new(
                "code",
                "must be 3 to 32 letters, digits, - or _",
            ))
        }
    }

    /// The code, upper case.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for CouponCode {
    type Error = ValidationError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<CouponCode> for String {
    fn from(code: CouponCode) -> Self {
        code.0
    }
}

/// What a coupon takes off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum CouponValue {
    /// `basis_points` of the order (1,000 is 10%), at most `max_amount`
    /// minor units when set (seed 000's `percentage_off` and `max_amount`).
    Percentage {
        /// 1 to 10,000.
        basis_points: i64,
        /// The cap, minor units.
        max_amount: Option<i64>,
    },
    /// `amount` minor units off an order of at least `min_order` (seed
    /// 000's `coupon_amount` and `min_amount_limit`).
    Amount {
        /// More than 0, minor units.
        amount: i64,
        /// Minor units; 0 for any order.
        min_order: i64,
    },
}

impl CouponValue {
    /// Checks the numbers.
    pub fn validate(&self) -> Result<(), ValidationError> {
        match *self {
            Self::Percentage {
                basis_points,
                max_amount,
            } => {
                if !(1..=10_000).contains(&basis_points) {
                    return Err(ValidationError::new(
                        "percentage_off",
                        "must be more than 0 and at most 100",
                    ));
                }
                if max_amount.is_some_and(|m| m <= 0) {
                    return Err(ValidationError::new(
                        "max_amount",
                        "must be more than 0 when given",
                    ));
                }
            }
            Self::Amount { amount, min_order } => {
                if amount <= 0 {
                    return Err(ValidationError::new("coupon_amount", "must be more than 0"));
                }
                if min_order < 0 {
                    return Err(ValidationError::new(
                        "min_amount_limit",
                        "must be 0 or more",
                    ));
                }
            }
        }
        Ok(())
    }

    /// The discount on an order of `order` minor units: never more than the
    /// order, percentages rounded half up then capped. `Err` when the order
    /// is below the coupon's minimum.
    pub fn discount(&self, order: i64) -> Result<i64, CouponRefusal> {
        let order = order.max(0);
        match *self {
            Self::Percentage {
                basis_points,
                max_amount,
            } => {
                let raw = (i128::from(order) * i128::from(basis_points.clamp(0, 10_000)) + 5_000)
                    / 10_000;
                let off = i64::try_from(raw).unwrap_or(order);
                Ok(max_amount.map_or(off, |cap| off.min(cap)).min(order))
            }
            Self::Amount { amount, min_order } => {
                if order < min_order {
                    Err(CouponRefusal::BelowMinimum { min_order })
                } else {
                    Ok(amount.min(order))
                }
            }
        }
    }
}

/// Why a coupon can not be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CouponRefusal {
    /// No such code, switched off, or outside its window (seed 000: "Invalid
    /// Coupon code").
    Invalid,
    /// Its uses in total are spent (seed 000: "Sorry,the coupon can not be
    /// used by anymore users").
    Exhausted,
    /// This driver used it as often as allowed (seed 000: "You have exceeded
    /// usage limit").
    UserLimit,
    /// The order is below the coupon's minimum.
    BelowMinimum {
        /// Minor units.
        min_order: i64,
    },
    /// The coupon is in another currency than the order.
    WrongCurrency,
}

impl CouponRefusal {
    /// Seed 000's message for it (the three it lists, word for word).
    pub fn message(&self) -> &'static str {
        match self {
            Self::Invalid => "Invalid Coupon code",
            Self::Exhausted => "Sorry,the coupon can not be used by anymore users",
            Self::UserLimit => "You have exceeded usage limit",
            Self::BelowMinimum { .. } => "The order is below the coupon's minimum amount",
            Self::WrongCurrency => "The coupon is not valid for this currency",
        }
    }

    /// A stable snake_case code for the canonical API's errors.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Invalid => "coupon_invalid",
            Self::Exhausted => "coupon_exhausted",
            Self::UserLimit => "coupon_user_limit",
            Self::BelowMinimum { .. } => "coupon_below_minimum",
            Self::WrongCurrency => "coupon_wrong_currency",
        }
    }
}

/// A coupon's terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CouponTerms {
    /// What it takes off.
    pub value: CouponValue,
    /// The currency of its amounts.
    pub currency: Currency,
    /// Usable from.
    pub valid_from: Option<DateTime<Utc>>,
    /// Usable until (exclusive).
    pub valid_until: Option<DateTime<Utc>>,
    /// Uses in total; None for no limit.
    pub max_uses: Option<i64>,
    /// Uses per driver, at least 1.
    pub per_user_limit: i64,
    /// Switched on.
    pub active: bool,
}

impl CouponTerms {
    /// Checks the terms.
    pub fn validate(&self) -> Result<(), ValidationError> {
        self.value.validate()?;
        if let (Some(from), Some(until)) = (self.valid_from, self.valid_until) {
            if until <= from {
                return Err(ValidationError::new(
                    "valid_until",
                    "must be after valid_from",
                ));
            }
        }
        if self.max_uses.is_some_and(|m| m < 1) {
            return Err(ValidationError::new(
                "max_uses",
                "must be at least 1 when given",
            ));
        }
        if self.per_user_limit < 1 {
            return Err(ValidationError::new("per_user_limit", "must be at least 1"));
        }
        Ok(())
    }

    /// Whether it may be used at `now` at all (switched on, in its window).
    pub fn usable_at(&self, now: DateTime<Utc>) -> bool {
        self.active
            && self.valid_from.is_none_or(|from| now >= from)
            && self.valid_until.is_none_or(|until| now < until)
    }

    /// Checks the coupon against its uses so far: `used` in total and
    /// `used_by_driver` by this driver.
    pub fn check_uses(&self, used: i64, used_by_driver: i64) -> Result<(), CouponRefusal> {
        if self.max_uses.is_some_and(|max| used >= max) {
            return Err(CouponRefusal::Exhausted);
        }
        if used_by_driver >= self.per_user_limit {
            return Err(CouponRefusal::UserLimit);
        }
        Ok(())
    }
}

/// How an order is paid: `discount` by a coupon, `credits_value` by credit
/// points, `due` by the driver's money. The three add up to the order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BillSplit {
    /// The order, minor units.
    pub amount: i64,
    /// Taken off by the coupon.
    pub discount: i64,
    /// Points spent.
    pub credits: i64,
    /// What the points are worth, minor units.
    pub credits_value: i64,
    /// What the driver pays in money.
    pub due: i64,
}

impl BillSplit {
    /// Splits `amount`: the coupon's `discount` first, then `credits`
    /// points worth `point_value` minor units each. Spending more points
    /// than the rest of the order needs is refused, so no point is wasted.
    pub fn new(
        amount: i64,
        discount: i64,
        credits: i64,
        point_value: i64,
    ) -> Result<Self, ValidationError> {
        if amount < 0 || discount < 0 || discount > amount {
            return Err(ValidationError::new(
                "coupon",
                "the discount can not exceed the order",
            ));
        }
        if credits < 0 {
            return Err(ValidationError::new("credits", "must be 0 or more"));
        }
        if credits > 0 && point_value <= 0 {
            return Err(ValidationError::new(
                "credits",
                "credit points can not be spent on this server",
            ));
        }
        let rest = amount - discount;
        let credits_value = credits
            .checked_mul(point_value.max(0))
            .filter(|v| *v <= rest)
            .ok_or_else(|| {
                ValidationError::new("credits", "are worth more than what is left to pay")
            })?;
        Ok(Self {
            amount,
            discount,
            credits,
            credits_value,
            due: rest - credits_value,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn terms(value: CouponValue) -> CouponTerms {
        CouponTerms {
            value,
            currency: Currency::MNT,
            valid_from: Some(Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap()),
            valid_until: Some(Utc.with_ymd_and_hms(2026, 2, 1, 0, 0, 0).unwrap()),
            max_uses: Some(2),
            per_user_limit: 1,
            active: true,
        }
    }

    #[test]
    fn codes_are_normalized_and_shaped() {
        assert_eq!(
            CouponCode::parse(" welcome10 ").unwrap().as_str(),
            "WELCOME10"
        );
        assert!(CouponCode::parse("ab").is_err());
        assert!(CouponCode::parse("has space").is_err());
        assert!(CouponCode::parse(&"X".repeat(33)).is_err());
    }

    #[test]
    fn percentages_round_half_up_and_stop_at_the_cap() {
        let ten = CouponValue::Percentage {
            basis_points: 1_000,
            max_amount: Some(500),
        };
        assert_eq!(ten.discount(1_234), Ok(123));
        assert_eq!(ten.discount(1_235), Ok(124), "123.5 rounds up");
        assert_eq!(ten.discount(100_000), Ok(500), "capped");
        let all = CouponValue::Percentage {
            basis_points: 10_000,
            max_amount: None,
        };
        assert_eq!(all.discount(777), Ok(777));
        assert_eq!(all.discount(-5), Ok(0));
    }

    #[test]
    fn amounts_need_the_minimum_and_never_exceed_the_order() {
        let off = CouponValue::Amount {
            amount: 1_000,
            min_order: 5_000,
        };
        assert_eq!(
            off.discount(4_999),
            Err(CouponRefusal::BelowMinimum { min_order: 5_000 })
        );
        assert_eq!(off.discount(5_000), Ok(1_000));
        let big = CouponValue::Amount {
            amount: 9_000,
            min_order: 0,
        };
        assert_eq!(big.discount(300), Ok(300));
    }

    #[test]
    fn values_are_validated() {
        for bad in [
            CouponValue::Percentage {
                basis_points: 0,
                max_amount: None,
            },
            CouponValue::Percentage {
                basis_points: 10_001,
                max_amount: None,
            },
            CouponValue::Percentage {
                basis_points: 500,
                max_amount: Some(0),
            },
            CouponValue::Amount {
                amount: 0,
                min_order: 0,
            },
            CouponValue::Amount {
                amount: 10,
                min_order: -1,
            },
        ] {
            assert!(bad.validate().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_window_is_half_open_and_switched_off_is_never_usable() {
        let t = terms(CouponValue::Amount {
            amount: 1,
            min_order: 0,
        });
        let at = |d, h| Utc.with_ymd_and_hms(2026, 1, d, h, 0, 0).unwrap();
        assert!(!t.usable_at(Utc.with_ymd_and_hms(2025, 12, 31, 23, 0, 0).unwrap()));
        assert!(t.usable_at(at(1, 0)));
        assert!(!t.usable_at(Utc.with_ymd_and_hms(2026, 2, 1, 0, 0, 0).unwrap()));
        let off = CouponTerms {
            active: false,
            ..t.clone()
        };
        assert!(!off.usable_at(at(10, 0)));
        let backwards = CouponTerms {
            valid_from: t.valid_until,
            valid_until: t.valid_from,
            ..t
        };
        assert!(backwards.validate().is_err());
    }

    #[test]
    fn uses_are_limited_in_total_then_per_driver() {
        let t = terms(CouponValue::Amount {
            amount: 1,
            min_order: 0,
        });
        assert_eq!(t.check_uses(0, 0), Ok(()));
        assert_eq!(t.check_uses(1, 1), Err(CouponRefusal::UserLimit));
        assert_eq!(t.check_uses(2, 0), Err(CouponRefusal::Exhausted));
        assert_eq!(
            CouponRefusal::Exhausted.message(),
            "Sorry,the coupon can not be used by anymore users"
        );
    }

    #[test]
    fn a_split_adds_up_and_refuses_wasted_points() {
        let s = BillSplit::new(10_000, 1_000, 30, 100).unwrap();
        assert_eq!((s.discount, s.credits_value, s.due), (1_000, 3_000, 6_000));
        assert_eq!(s.discount + s.credits_value + s.due, s.amount);
        assert!(BillSplit::new(10_000, 1_000, 91, 100).is_err());
        assert_eq!(BillSplit::new(10_000, 1_000, 90, 100).unwrap().due, 0);
        assert!(BillSplit::new(10_000, 10_001, 0, 100).is_err());
        assert!(BillSplit::new(10_000, 0, 1, 0).is_err());
        assert!(BillSplit::new(10_000, 0, i64::MAX, 100).is_err());
    }

    proptest::proptest! {
        #[test]
        fn discounts_stay_within_the_order(order in 0i64..10_000_000_000, bps in 1i64..=10_000,
                cap in proptest::option::of(1i64..1_000_000)) {
            let off = CouponValue::Percentage { basis_points: bps, max_amount: cap }.discount(order).unwrap();
            proptest::prop_assert!((0..=order).contains(&off));
            if let Some(cap) = cap { proptest::prop_assert!(off <= cap); }
        }
    }
}
