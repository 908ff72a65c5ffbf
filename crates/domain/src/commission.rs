//! The platform's commission on what a host earns: one rule for paying a
//! bill and for showing a host's earnings.

/// The commission on `before_tax` at `bps` basis points, rounded half up
/// in minor units: never negative, never more than everything.
pub fn commission(before_tax: i64, bps: i64) -> i64 {
    let c = (i128::from(before_tax.max(0)) * i128::from(bps.clamp(0, 10_000)) + 5_000) / 10_000;
    i64::try_from(c).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::commission;

    #[test]
    fn commission_rounds_half_up_and_stays_in_bounds() {
        assert_eq!(commission(10_000, 1_000), 1_000);
        assert_eq!(commission(5, 1_000), 1, "0.5 rounds up");
        assert_eq!(commission(4, 1_000), 0);
        assert_eq!(commission(-100, 1_000), 0);
        assert_eq!(commission(100, 20_000), 100, "at most everything");
        assert_eq!(commission(i64::MAX, 10_000), i64::MAX);
    }
}
