//! Per-client-IP rate limits (GCRA, in memory, per node). Per-phone limits
//! live in the database (OTP resend cool-down and hourly cap) so they hold
//! across nodes; these guard each node against one address hammering it.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::error::AppError;

/// One keyed limiter with a name for its error.
#[derive(Debug)]
pub struct IpLimiter {
    limiter: DefaultKeyedRateLimiter<IpAddr>,
    code: &'static str,
}

impl IpLimiter {
    /// Allows `per_minute` requests a minute per address, in bursts of up to `burst`.
    pub fn per_minute(per_minute: u32, burst: u32, code: &'static str) -> Self {
        let rate = NonZeroU32::new(per_minute.max(1)).unwrap_or(NonZeroU32::MIN);
        let burst = NonZeroU32::new(burst.max(1)).unwrap_or(NonZeroU32::MIN);
        Self {
            limiter: RateLimiter::keyed(Quota::per_minute(rate).allow_burst(burst)),
            code,
        }
    }

    /// Counts one request from `ip`; a 429 with `Retry-After` when over.
    pub fn check(&self, ip: IpAddr) -> Result<(), AppError> {
        self.limiter.check_key(&ip).map_err(|not_until| {
            let wait: Duration = not_until.wait_time_from(DefaultClock::default().now());
            AppError::rate_limited(
                self.code,
                "too many requests from this address; slow down",
                wait.as_secs() + 1,
            )
        })?;
        // Forget idle addresses now and then so the map stays small.
        if self.limiter.len() > 100_000 {
            self.limiter.retain_recent();
        }
        Ok(())
    }
}

/// The limits the accounts endpoints apply.
#[derive(Debug)]
pub struct RateLimits {
    /// Sending codes (costs money and annoys people): tight.
    pub otp_send: IpLimiter,
    /// Checking codes and passwords: guards guessing.
    pub credential_check: IpLimiter,
}

impl RateLimits {
    /// Limits from requests per minute per address.
    pub fn new(otp_send_per_minute: u32, credential_checks_per_minute: u32) -> Self {
        Self {
            otp_send: IpLimiter::per_minute(
                otp_send_per_minute,
                otp_send_per_minute,
                "rate_limited",
            ),
            credential_check: IpLimiter::per_minute(
                credential_checks_per_minute,
                credential_checks_per_minute,
                "rate_limited",
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_limit_cuts_off_one_address_and_not_another() {
        let limiter = IpLimiter::per_minute(3, 3, "rate_limited");
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        for _ in 0..3 {
            limiter.check(a).unwrap();
        }
        let err = limiter.check(a).unwrap_err();
        assert_eq!(err.kind, crate::error::ErrorKind::RateLimited);
        assert!(err.retry_after.unwrap() >= 1);
        limiter.check(b).unwrap();
    }
}
