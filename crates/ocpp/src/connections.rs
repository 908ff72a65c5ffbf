//! Each charge point's connection history: connections, disconnections
//! and refused handshakes ([`ConnectionEvent`]), for the operator console.
//!
//! Events are queued and written by one task, so the accept path never
//! waits on the database (a reconnect storm's refusals cost a queue push
//! each) and one charger's events are written in the order they happened.
//! A full queue (the database far behind) drops events and counts them;
//! a failed write is logged. Neither ever fails a connection. Retention is
//! the message log's ([`crate::log::purge_loop`]).
//!
//! Refusals cost nothing to cause, so they are thinned before they reach
//! the database ([`RefusalFilter`]): the same refusal (id, reason, address)
//! is written once a minute, and one address gets at most
//! [`REFUSALS_PER_ADDRESS`] written a minute whatever ids it tries. What is
//! left out is counted (`plugway_ocpp_refusals_not_recorded_total`).

use std::sync::Arc;

use chrono::{DateTime, Utc};
use plugway_store::{ConnectionEvent, ConnectionEventKind, Store};
use tokio::sync::mpsc;

/// Events waiting for the writer before new ones are dropped.
const QUEUE: usize = 16_384;
/// Refusals written per client address per minute.
pub const REFUSALS_PER_ADDRESS: u32 = 30;
/// Addresses and refusals remembered before the oldest are forgotten.
const FILTER_CAP: usize = 65_536;

/// Thins refusals: see the module's documentation.
#[derive(Debug, Default)]
pub struct RefusalFilter {
    /// (id, reason, address) → when it was last written.
    seen: std::collections::HashMap<(String, &'static str, String), DateTime<Utc>>,
    /// Address → (the minute's start, refusals written in it).
    per_address: std::collections::HashMap<String, (DateTime<Utc>, u32)>,
}

impl RefusalFilter {
    /// Whether `event` should be written (anything but a refusal is).
    pub fn admit(&mut self, event: &ConnectionEvent) -> bool {
        let ConnectionEventKind::Refused(reason) = event.kind else {
            return true;
        };
        let minute = chrono::Duration::minutes(1);
        // The port changes with every connection; the host is the client.
        let address = event
            .remote_addr
            .as_deref()
            .map(|a| a.rsplit_once(':').map_or(a, |(host, _)| host))
            .unwrap_or_default()
            .to_owned();
        if self.seen.len() >= FILTER_CAP || self.per_address.len() >= FILTER_CAP {
            let cutoff = event.at - minute;
            self.seen.retain(|_, at| *at > cutoff);
            self.per_address.retain(|_, (start, _)| *start > cutoff);
            if self.seen.len() >= FILTER_CAP || self.per_address.len() >= FILTER_CAP {
                // Still full within one minute: a flood; write nothing more
                // until it passes.
                return false;
            }
        }
        let key = (
            event.charge_point_id.clone(),
            reason.as_str(),
            address.clone(),
        );
        if self
            .seen
            .get(&key)
            .is_some_and(|at| event.at - *at < minute)
        {
            return false;
        }
        let slot = self.per_address.entry(address).or_insert((event.at, 0));
        if event.at - slot.0 >= minute {
            *slot = (event.at, 0);
        }
        if slot.1 >= REFUSALS_PER_ADDRESS {
            return false;
        }
        slot.1 += 1;
        self.seen.insert(key, event.at);
        true
    }
}

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
            let mut filter = RefusalFilter::default();
            while let Some(event) = rx.recv().await {
                if !filter.admit(&event) {
                    metrics::counter!("plugway_ocpp_refusals_not_recorded_total").increment(1);
                    continue;
                }
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use plugway_store::ConnectionRefusal;

    fn refused(id: &str, reason: ConnectionRefusal, from: &str, secs: i64) -> ConnectionEvent {
        ConnectionEvent {
            charge_point_id: id.into(),
            kind: ConnectionEventKind::Refused(reason),
            remote_addr: Some(from.into()),
            ocpp_version: None,
            at: DateTime::UNIX_EPOCH + chrono::Duration::seconds(secs),
        }
    }

    #[test]
    fn a_refusal_is_written_once_a_minute_and_an_address_has_a_budget() {
        let mut filter = RefusalFilter::default();
        let wrong = ConnectionRefusal::WrongPassword;
        assert!(filter.admit(&refused("CP-1", wrong, "10.0.0.1:4000", 0)));
        // The same charger, reason and host (another port): not again within a minute.
        assert!(!filter.admit(&refused("CP-1", wrong, "10.0.0.1:4001", 30)));
        assert!(filter.admit(&refused("CP-1", wrong, "10.0.0.1:4002", 61)));
        // Another reason is news.
        assert!(filter.admit(&refused(
            "CP-1",
            ConnectionRefusal::NoSubprotocol,
            "10.0.0.1:1",
            62
        )));
        // A scanner trying ids from one address: its budget, then nothing.
        let from_scanner = (0..100)
            .filter(|n| {
                filter.admit(&refused(
                    &format!("X{n}"),
                    ConnectionRefusal::UnknownId,
                    "10.9.9.9:1",
                    100,
                ))
            })
            .count();
        assert_eq!(from_scanner, REFUSALS_PER_ADDRESS as usize);
        // Other addresses are not held back by it; the next minute it may write again.
        assert!(filter.admit(&refused(
            "X0",
            ConnectionRefusal::UnknownId,
            "10.9.9.8:1",
            100
        )));
        assert!(filter.admit(&refused(
            "X99",
            ConnectionRefusal::UnknownId,
            "10.9.9.9:1",
            161
        )));
        // Connections and disconnections always pass.
        let connected = ConnectionEvent {
            kind: ConnectionEventKind::Connected,
            ..refused("CP-1", wrong, "10.0.0.1:4000", 1)
        };
        assert!(filter.admit(&connected));
        assert!(filter.admit(&connected));
    }
}
