//! One-time passwords: how they are made and the limits that guard them.
//! Storage and hashing live elsewhere; this is the policy.

use chrono::Duration;
use rand::Rng;

/// The limits every OTP obeys.
#[derive(Debug, Clone)]
pub struct OtpPolicy {
    /// Digits in a code (4 to 6).
    pub digits: u32,
    /// How long a code stays valid.
    pub ttl: Duration,
    /// Wrong tries allowed against one code before it is burned.
    pub max_attempts: i64,
    /// Minimum wait between two codes for one phone.
    pub resend_cooldown: Duration,
    /// Codes one phone may be sent per hour.
    pub max_per_hour: i64,
}

impl Default for OtpPolicy {
    fn default() -> Self {
        Self {
            digits: 6,
            ttl: Duration::minutes(5),
            max_attempts: 5,
            resend_cooldown: Duration::seconds(30),
            max_per_hour: 5,
        }
    }
}

/// A freshly generated code, as sent to the phone. Never stored in clear.
#[derive(Clone, PartialEq, Eq)]
pub struct OtpCode(String);

impl std::fmt::Debug for OtpCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OtpCode(***)")
    }
}

impl OtpCode {
    /// A uniformly random code of `policy.digits` digits (leading zeros kept).
    pub fn generate(policy: &OtpPolicy, rng: &mut impl Rng) -> Self {
        let digits = policy.digits.clamp(4, 6);
        let bound = 10u32.pow(digits);
        let n = rng.gen_range(0..bound);
        Self(format!("{n:0width$}", width = digits as usize))
    }

    /// The digits, to put in the SMS.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_have_the_configured_length_and_are_digits() {
        let mut rng = rand::thread_rng();
        for digits in [4, 5, 6] {
            let policy = OtpPolicy {
                digits,
                ..OtpPolicy::default()
            };
            for _ in 0..200 {
                let code = OtpCode::generate(&policy, &mut rng);
                assert_eq!(code.expose().len(), digits as usize);
                assert!(code.expose().bytes().all(|b| b.is_ascii_digit()));
            }
        }
    }

    #[test]
    fn debug_never_shows_the_code() {
        let code = OtpCode::generate(&OtpPolicy::default(), &mut rand::thread_rng());
        assert_eq!(format!("{code:?}"), "OtpCode(***)");
    }
}
