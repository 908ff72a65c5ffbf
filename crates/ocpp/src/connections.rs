//! Each charge point's connection history: connections, disconnections
//! and refused handshakes ([`ConnectionEvent`]), for the operator console.
//!
//! Events are queued and written by one task, so the accept path never
//! waits on the database (a reconnect storm's refusals cost a queue push
//! each) and one charger's events are written in the order they happened.
//! A full queue (the database far behind) drops events and counts them;
//! a failed write is logged. Neither ever fails a connection. Retention is
//! the message log's ([`crate::log::purge_loop`]).

use std::sync::Arc;

use chrono::{DateTime, Utc};
use plugway_store::{ConnectionEvent, ConnectionEventKind, Store};
use tokio::sync::mpsc;

/// Events waiting for the writer before new ones are dropped.
const QUEUE: usize = 16_384;

/// Writes connection events in the background.
#[derive(Debug, Clone)]
pub struct ConnectionLog {
    tx: mpsc::Sender<ConnectionEvent>,
}

impl ConnectionLog {
    /// Starts the writer.
    pub fn start(store: Arc<dyn Store>) -> Self {
        let (tx, mut rx) = mpsc::channel::<ConnectionEvent>(QUEUE);
        tokio::spawn(async move {
            while let Some(event) = rx.recv().await {
                if let Err(e) = store.record_connection_event(&event).await {
                    tracing::warn!(
                        error = %e,
                        charge_point = %event.charge_point_id,
                        kind = event.kind.as_str(),
                        "connection event not recorded"
                    );
                }
            }
        });
        Self { tx }
    }

    /// Queues an event; never waits.
    pub fn record(
        &self,
        charge_point_id: &str,
        kind: ConnectionEventKind,
        remote_addr: Option<&str>,
        ocpp_version: Option<&str>,
        at: DateTime<Utc>,
    ) {
        let event = ConnectionEvent {
            // Cut here too, so a scanner's long URLs do not fill the queue.
            charge_point_id: charge_point_id
                .chars()
                .take(ConnectionEvent::MAX_ID_CHARS)
                .collect(),
            kind,
            remote_addr: remote_addr.map(str::to_owned),
            ocpp_version: ocpp_version.map(str::to_owned),
            at,
        };
        if self.tx.try_send(event).is_err() {
            metrics::counter!("plugway_ocpp_connection_events_dropped_total").increment(1);
        }
    }
}
