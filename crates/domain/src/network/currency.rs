//! ISO 4217 currencies and the step between minor units (what we store) and
//! major units (what seed documents send as JSON numbers).

use std::fmt;
use std::str::FromStr;

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::ValidationError;

/// ISO 4217 code, three upper-case letters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Currency([u8; 3]);

impl Currency {
    /// The Mongolian tögrög, seed 001's currency (the default wallet currency).
    pub const MNT: Self = Self(*b"MNT");

    /// Not an ISO 4217 code: credit points (seed 000's customer and host
    /// credits), whole numbers. The ledger keeps them in their own unit so
    /// they balance separately from money; checkout turns points into money
    /// at the configured credit value.
    pub const CREDIT_POINTS: Self = Self(*b"PTS");

    /// Checks a code: three ASCII letters, any case, surrounding blanks
    /// ignored. Whether ISO has assigned it is not checked.
    pub fn parse(input: &str) -> Result<Self, ValidationError> {
        match *input.trim().as_bytes() {
            [a, b, c] if [a, b, c].iter().all(u8::is_ascii_alphabetic) => Ok(Self([
                a.to_ascii_uppercase(),
                b.to_ascii_uppercase(),
                c.to_ascii_uppercase(),
            ])),
            _ => Err(ValidationError::new(
                "currency",
                "must be a three-letter ISO 4217 code such as PHP",
            )),
        }
    }

    /// The code, upper case.
    pub fn code(&self) -> &str {
        // Only `parse` builds a Currency, and it stores ASCII letters.
        std::str::from_utf8(&self.0).unwrap_or("XXX")
    }

    /// Digits after the decimal point: 0 for BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF and credit points (PTS), 3 for BHD IQD JOD KWD LYD OMR TND, 2 otherwise.
    pub fn exponent(&self) -> u32 {
        match self.code() {
            "BIF" | "CLP" | "DJF" | "GNF" | "ISK" | "JPY" | "KMF" | "KRW" | "PYG" | "RWF"
            | "UGX" | "UYI" | "VND" | "VUV" | "XAF" | "XOF" | "XPF" | "PTS" => 0,
            "BHD" | "IQD" | "JOD" | "KWD" | "LYD" | "OMR" | "TND" => 3,
            _ => 2,
        }
    }

    /// minor units -> major as f64 (for seed documents that send prices as numbers)
    pub fn to_major(&self, minor: i64) -> f64 {
        // Dividing by an exact power of ten gives the nearest double to the
        // decimal amount (12345 / 100 is the double nearest 123.45).
        minor as f64 / 10_f64.powi(self.exponent() as i32)
    }

    /// a major-unit decimal number -> minor units, rounding half away from zero; None when not finite, negative or too large for i64
    ///
    /// The rounding is done on the number's shortest decimal form, the one
    /// it was written as in JSON: 1.005 PHP is 101 centavos, although the
    /// double nearest 1.005 is a little below it and `1.005 * 100.0` is
    /// 100.49999999999999.
    pub fn to_minor(&self, major: f64) -> Option<i64> {
        if !major.is_finite() || major < 0.0 {
            return None;
        }
        // `abs` turns -0.0 into 0.0. Display never uses an exponent, so the
        // text is digits with at most one point.
        let text = major.abs().to_string();
        let (whole, fraction) = text.split_once('.').unwrap_or((&text, ""));
        let mut minor: i64 = whole.parse().ok()?;
        let mut fraction_digits = fraction.chars().map(|c| c.to_digit(10));
        for _ in 0..self.exponent() {
            // Missing digits are zeros: "1.5" is 1.50.
            let digit = fraction_digits.next().flatten().unwrap_or(0);
            minor = minor.checked_mul(10)?.checked_add(i64::from(digit))?;
        }
        // The first dropped digit decides: 5 or more is at least half a unit.
        if fraction_digits.next().flatten().is_some_and(|d| d >= 5) {
            minor = minor.checked_add(1)?;
        }
        Some(minor)
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl FromStr for Currency {
    type Err = ValidationError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl Serialize for Currency {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.code())
    }
}

impl<'de> Deserialize<'de> for Currency {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let code = String::deserialize(deserializer)?;
        Self::parse(&code).map_err(D::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cur(code: &str) -> Currency {
        Currency::parse(code).unwrap()
    }

    #[test]
    fn codes_are_three_letters_stored_upper_case() {
        assert_eq!(cur("php").code(), "PHP");
        assert_eq!(cur(" Mnt ").to_string(), "MNT");
        assert_eq!(cur("php"), cur("PHP"));
        for bad in ["", "PH", "PHPP", "P1P", "ÉUR", "€"] {
            assert_eq!(Currency::parse(bad).unwrap_err().field, "currency", "{bad}");
        }
        assert_eq!("usd".parse::<Currency>().unwrap(), cur("USD"));
        assert_eq!(serde_json::to_string(&cur("eur")).unwrap(), r#""EUR""#);
        assert_eq!(
            serde_json::from_str::<Currency>(r#""jpy""#).unwrap(),
            cur("JPY")
        );
        assert!(serde_json::from_str::<Currency>(r#""YEN!""#).is_err());
    }

    #[test]
    fn exponents() {
        assert_eq!(cur("JPY").exponent(), 0);
        assert_eq!(cur("XPF").exponent(), 0);
        assert_eq!(cur("KWD").exponent(), 3);
        assert_eq!(cur("TND").exponent(), 3);
        assert_eq!(cur("PHP").exponent(), 2);
        assert_eq!(cur("MNT").exponent(), 2);
    }

    #[test]
    fn minor_to_major() {
        assert_eq!(cur("PHP").to_major(12_345), 123.45);
        assert_eq!(cur("JPY").to_major(500), 500.0);
        assert_eq!(cur("KWD").to_major(1_005), 1.005);
        assert_eq!(cur("PHP").to_major(-250), -2.5);
    }

    #[test]
    fn major_to_minor_rounds_the_decimal_half_away_from_zero() {
        let php = cur("PHP");
        assert_eq!(php.to_minor(123.45), Some(12_345));
        assert_eq!(php.to_minor(1.005), Some(101));
        assert_eq!(php.to_minor(1.004_999), Some(100));
        assert_eq!(php.to_minor(0.125), Some(13));
        assert_eq!(php.to_minor(2.5), Some(250));
        assert_eq!(php.to_minor(0.0), Some(0));
        assert_eq!(php.to_minor(-0.0), Some(0));
        assert_eq!(php.to_minor(0.001), Some(0));
        assert_eq!(php.to_minor(0.009_99), Some(1));
        assert_eq!(cur("JPY").to_minor(499.5), Some(500));
        assert_eq!(cur("JPY").to_minor(499.49), Some(499));
        assert_eq!(cur("KWD").to_minor(1.0005), Some(1_001));
        // Every amount we write reads back the same.
        for minor in [0, 1, 99, 100, 12_345, 100_000_007, 900_719_925_474_099] {
            assert_eq!(php.to_minor(php.to_major(minor)), Some(minor), "{minor}");
        }
    }

    #[test]
    fn major_to_minor_refuses_what_does_not_fit() {
        let php = cur("PHP");
        assert_eq!(php.to_minor(-0.01), None);
        assert_eq!(php.to_minor(f64::NAN), None);
        assert_eq!(php.to_minor(f64::INFINITY), None);
        assert_eq!(php.to_minor(1e17), None);
        assert_eq!(php.to_minor(9e16), Some(9_000_000_000_000_000_000));
        assert_eq!(cur("JPY").to_minor(9.3e18), None);
        assert_eq!(cur("JPY").to_minor(1e300), None);
        assert_eq!(php.to_minor(1e-300), Some(0));
    }
}
