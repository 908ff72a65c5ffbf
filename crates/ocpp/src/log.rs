//! The per-charger message log. Frames are queued and written in batches by
//! one task, each charger's frames of a batch as one compact block
//! (`plugway_store::log_block`); when the queue is full (the database is far behind) frames are
//! dropped and counted rather than holding up chargers. Retention is applied
//! by [`purge_loop`] (to the connection history too).

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use plugway_domain::ChargePointId;
use plugway_store::{OcppLogEntry, Store};
use tokio::sync::mpsc;

/// How long the writer gathers frames before a commit: the longer, the
/// more of a charger's frames share one stored block (a call and its answer
/// at least), and the fewer rows the log costs.
const GATHER: Duration = Duration::from_millis(250);
/// Most frames in one commit.
const MAX_BATCH: usize = 20_000;

/// Writes log entries in the background.
#[derive(Debug, Clone)]
pub struct LogSink {
    tx: Option<mpsc::Sender<OcppLogEntry>>,
}

impl LogSink {
    /// Starts the writer (or a sink that discards, when logging is off).
    pub fn start(store: Arc<dyn Store>, enabled: bool) -> Self {
        if !enabled {
            return Self { tx: None };
        }
        let (tx, mut rx) = mpsc::channel::<OcppLogEntry>(131_072);
        tokio::spawn(async move {
            while let Some(first) = rx.recv().await {
                // The log is not what chargers wait for: gather for a moment
                // so it costs a few commits a second, not one per frame,
                // leaving the database's writer to the meter values.
                tokio::time::sleep(GATHER).await;
                let mut batch = vec![first];
                while batch.len() < MAX_BATCH {
                    match rx.try_recv() {
                        Ok(e) => batch.push(e),
                        Err(_) => break,
                    }
                }
                if let Err(e) = store.append_ocpp_log(&batch).await {
                    tracing::warn!(error = %e, lost = batch.len(), "OCPP message log write failed");
                }
            }
        });
        Self { tx: Some(tx) }
    }

    /// Records a frame.
    pub fn record(&self, id: &ChargePointId, direction: &str, frame: &str, at: DateTime<Utc>) {
        if let Some(tx) = &self.tx {
            let entry = OcppLogEntry {
                charge_point_id: id.clone(),
                direction: direction.to_owned(),
                frame: frame.to_owned(),
                at,
            };
            if tx.try_send(entry).is_err() {
                metrics::counter!("plugway_ocpp_log_dropped_total").increment(1);
            }
        }
    }
}

/// How long what 2.0.1 stations report (security events and the like) is
/// kept at least, whatever the message log's retention: an audit trail
/// outlives the frames.
const STATION_EVENTS_KEPT_DAYS: i64 = 90;

/// Deletes log entries and connection events older than `retention`, and
/// station events older than the longer of that and 90 days, hourly,
/// forever.
pub async fn purge_loop(
    store: Arc<dyn Store>,
    clock: Arc<dyn plugway_domain::Clock>,
    retention: chrono::Duration,
) {
    let mut tick = tokio::time::interval(Duration::from_secs(3600));
    loop {
        tick.tick().await;
        match store.purge_ocpp_log(clock.now() - retention).await {
            Ok(n) if n > 0 => tracing::info!(deleted = n, "OCPP message log purged"),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "OCPP message log purge failed"),
        }
        match store.purge_connection_events(clock.now() - retention).await {
            Ok(n) if n > 0 => tracing::info!(deleted = n, "connection events purged"),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "connection events purge failed"),
        }
        let kept = retention.max(chrono::Duration::days(STATION_EVENTS_KEPT_DAYS));
        match store.purge_station_events(clock.now() - kept).await {
            Ok(n) if n > 0 => tracing::info!(deleted = n, "station events purged"),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "station events purge failed"),
        }
    }
}
