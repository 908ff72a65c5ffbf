//! Phone numbers, normalized to E.164 so that "+976 8666 1488" and
//! "+97686661488" are the same account.

use std::fmt;
use std::str::FromStr;

use phonenumber::country::Id as CountryId;
use serde::{Deserialize, Serialize};

/// The longest input we are willing to hand to the parser; real numbers with
/// spacing and punctuation fit easily.
const MAX_INPUT_LEN: usize = 32;

/// Why a phone number was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhoneError {
    /// Not a phone number at all, or too long.
    #[error("not a phone number")]
    Malformed,
    /// A national number was given but no default region is configured.
    #[error(
        "write the number in international format (+country code), or configure a default region"
    )]
    NeedsCountryCode,
    /// Parsed, but not a number that can exist in its numbering plan.
    #[error("not a valid phone number for its country")]
    Invalid,
}

/// An ISO 3166-1 alpha-2 region used to read national-format numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Region(CountryId);

impl FromStr for Region {
    type Err = PhoneError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        CountryId::from_str(&s.trim().to_ascii_uppercase())
            .map(Region)
            .map_err(|_| PhoneError::Malformed)
    }
}

impl fmt::Display for Region {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.as_ref())
    }
}

/// A valid phone number in E.164 form (`+` and digits).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PhoneNumber(String);

impl PhoneNumber {
    /// Parses what a person typed. National numbers ("01516100100") are read
    /// in `default_region`; without one they must carry a country code.
    pub fn parse(input: &str, default_region: Option<Region>) -> Result<Self, PhoneError> {
        let input = input.trim();
        if input.is_empty() || input.len() > MAX_INPUT_LEN {
            return Err(PhoneError::Malformed);
        }
        if !input.starts_with('+') && !input.starts_with("00") && default_region.is_none() {
            return Err(PhoneError::NeedsCountryCode);
        }
        let parsed = phonenumber::parse(default_region.map(|r| r.0), input)
            .map_err(|_| PhoneError::Malformed)?;
        if !phonenumber::is_valid(&parsed) {
            return Err(PhoneError::Invalid);
        }
        Ok(Self(
            parsed.format().mode(phonenumber::Mode::E164).to_string(),
        ))
    }

    /// Rebuilds a number that was stored already normalized.
    pub fn from_stored(e164: String) -> Self {
        Self(e164)
    }

    /// The E.164 text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_number_written_two_ways_is_one() {
        let a = PhoneNumber::parse("+976 8666 1488", None).unwrap();
        let b = PhoneNumber::parse("+97686661488", None).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.as_str(), "+97686661488");
    }

    #[test]
    fn national_format_uses_the_default_region() {
        let bd: Region = "bd".parse().unwrap();
        let n = PhoneNumber::parse("01516100100", Some(bd)).unwrap();
        assert_eq!(n.as_str(), "+8801516100100");
        assert_eq!(
            PhoneNumber::parse("01516100100", None),
            Err(PhoneError::NeedsCountryCode)
        );
    }

    #[test]
    fn garbage_is_refused() {
        for bad in ["", "hello", "+1", "+1 000", &"9".repeat(40)] {
            assert!(PhoneNumber::parse(bad, None).is_err(), "{bad} accepted");
        }
        assert!("XX".parse::<Region>().is_err());
    }
}
