//! What the nodes of a cluster agree on through the database: which node
//! runs a background job that must run once (a lease), and settings every
//! node must share (the server secret's fingerprint).

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::Result;

/// Leases on background jobs, and shared settings.
#[async_trait]
pub trait ClusterStore: Send + Sync {
    /// Takes or renews the lease of background job `name` for `holder`
    /// until `until`: true when `holder` now holds it (it was free, lapsed
    /// at `now`, or already its own), false when another holder does.
    async fn try_worker_lease(
        &self,
        name: &str,
        holder: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<bool>;
    /// Gives up `holder`'s lease of `name` before it lapses (another may
    /// take it at once); true when it held it.
    async fn release_worker_lease(&self, name: &str, holder: &str) -> Result<bool>;
    /// The value of shared setting `name`: `value` when it had none (it is
    /// stored then), else the one stored first.
    async fn claim_shared_setting(&self, name: &str, value: &str) -> Result<String>;
    /// Counts one request against `key`'s limit (GCRA): one request per
    /// `interval_ms`, bursts of up to `burst`. `Ok(None)` when it is let
    /// through, `Ok(Some(ms))` when it must wait that long; atomic, so
    /// nodes sharing the database share the limit.
    async fn take_rate_limit(
        &self,
        key: &str,
        now: DateTime<Utc>,
        interval_ms: i64,
        burst: i64,
    ) -> Result<Option<i64>>;
    /// Forgets keys with nothing left to count at `now`; how many.
    async fn prune_rate_limits(&self, now: DateTime<Utc>) -> Result<u64>;
}
