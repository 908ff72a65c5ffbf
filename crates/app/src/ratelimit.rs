//! Per-client-IP rate limits. On one node: GCRA in memory. With several
//! nodes (`AppSettings::shared_rate_limits`): the same GCRA in the
//! database, one atomic statement per request, so an address spread over
//! nodes is cut at one node's count. Per-phone limits (OTP resend
//! cool-down, hourly cap) and per-code and per-account attempt limits live
//! in the database in any case.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use plugway_store::Store;

use crate::error::AppError;

/// One keyed limiter with a name for its error.
#[derive(Debug)]
pub struct IpLimiter {
    limiter: DefaultKeyedRateLimiter<IpAddr>,
    code: &'static str,
    /// Its key prefix in the shared table.
    name: &'static str,
    per_minute: u32,
    burst: u32,
    /// The database, when the limit is shared by nodes.
    shared: Option<Arc<dyn Store>>,
}

impl IpLimiter {
    /// Allows `per_minute` requests a minute per address, in bursts of up to `burst`.
    pub fn per_minute(per_minute: u32, burst: u32, code: &'static str) -> Self {
        let rate = NonZeroU32::new(per_minute.max(1)).unwrap_or(NonZeroU32::MIN);
        let burst_n = NonZeroU32::new(burst.max(1)).unwrap_or(NonZeroU32::MIN);
        Self {
            limiter: RateLimiter::keyed(Quota::per_minute(rate).allow_burst(burst_n)),
            code,
            name: code,
            per_minute: per_minute.max(1),
            burst: burst.max(1),
            shared: None,
        }
    }

    /// The same limit, counted in `store` for every node (under `name`).
    pub fn shared(mut self, name: &'static str, store: Arc<dyn Store>) -> Self {
        self.name = name;
        self.shared = Some(store);
        self
    }

    fn limited(&self, wait: Duration) -> AppError {
        AppError::rate_limited(
            self.code,
            "too many requests from this address; slow down",
            wait.as_secs() + 1,
        )
    }

    /// Counts one request from `ip` at `now`; a 429 with `Retry-After` when over.
    pub async fn check(&self, ip: IpAddr, now: DateTime<Utc>) -> Result<(), AppError> {
        if let Some(store) = &self.shared {
            let interval_ms = 60_000 / i64::from(self.per_minute);
            let key = format!("{}:{ip}", self.name);
            return match store
                .take_rate_limit(&key, now, interval_ms, i64::from(self.burst))
                .await?
            {
                None => Ok(()),
                Some(ms) => {
                    Err(self.limited(Duration::from_millis(u64::try_from(ms).unwrap_or(0))))
                }
            };
        }
        self.limiter.check_key(&ip).map_err(|not_until| {
            self.limited(not_until.wait_time_from(DefaultClock::default().now()))
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
    /// Limits from requests per minute per address; counted in `shared`
    /// for every node when given, else in this node's memory.
    pub fn new(
        otp_send_per_minute: u32,
        credential_checks_per_minute: u32,
        shared: Option<Arc<dyn Store>>,
    ) -> Self {
        let otp_send =
            IpLimiter::per_minute(otp_send_per_minute, otp_send_per_minute, "rate_limited");
        let credential_check = IpLimiter::per_minute(
            credential_checks_per_minute,
            credential_checks_per_minute,
            "rate_limited",
        );
        match shared {
            Some(store) => Self {
                otp_send: otp_send.shared("otp_send", store.clone()),
                credential_check: credential_check.shared("credential_check", store),
            },
            None => Self {
                otp_send,
                credential_check,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_limit_cuts_off_one_address_and_not_another() {
        let limiter = IpLimiter::per_minute(3, 3, "rate_limited");
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        let now = Utc::now();
        for _ in 0..3 {
            limiter.check(a, now).await.unwrap();
        }
        let err = limiter.check(a, now).await.unwrap_err();
        assert_eq!(err.kind, crate::error::ErrorKind::RateLimited);
        assert!(err.retry_after.unwrap() >= 1);
        limiter.check(b, now).await.unwrap();
    }
}
