//! The live event hub behind `GET /api/v1/user/events`. One subscription
//! to the bus (`user.>` and `host.>`) per node feeds a numbered ring of
//! recent events and a broadcast to the connected clients, so a client that
//! reconnects with the id of the last event it saw gets what it missed.
//!
//! Event ids are `<epoch>-<n>`: `epoch` names this process's run, `n`
//! counts up. An id from another run (the node restarted, or the client
//! moved to another node) cannot be placed in this ring, so such a client
//! gets everything the ring holds for it. The ring keeps the last
//! [`RING`] events, none older than [`MAX_AGE`].

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::StreamExt;
use plugway_events::{subject_matches, EventBus};
use tokio::sync::broadcast;

/// Events kept for resuming.
pub const RING: usize = 10_000;
/// Oldest event kept for resuming.
pub const MAX_AGE: Duration = Duration::from_secs(600);

/// One event as delivered.
#[derive(Debug)]
pub struct LiveEvent {
    /// Its number in this run.
    pub seq: u64,
    /// Bus subject, e.g. `user.<id>.CHARGING`.
    pub subject: String,
    /// JSON text.
    pub data: String,
    received: Instant,
}

impl LiveEvent {
    /// The subject's last token: CHARGING, SESSION, STATUS, PAYMENT...
    pub fn kind(&self) -> &str {
        self.subject.rsplit('.').next().unwrap_or_default()
    }
}

/// The hub of one node.
#[derive(Debug)]
pub struct LiveHub {
    epoch: String,
    ring: Mutex<(u64, VecDeque<Arc<LiveEvent>>)>,
    tx: broadcast::Sender<Arc<LiveEvent>>,
    closing: tokio::sync::watch::Sender<bool>,
}

/// What a client connection starts with.
#[derive(Debug)]
pub struct Resume {
    /// Missed events, oldest first.
    pub missed: Vec<Arc<LiveEvent>>,
    /// Everything after them.
    pub live: broadcast::Receiver<Arc<LiveEvent>>,
    /// The last sequence number in `missed` (or the ring's head): live
    /// events at or below it were already replayed.
    pub after: u64,
}

impl LiveHub {
    /// Starts the hub's bus subscription.
    pub fn start(bus: Arc<dyn EventBus>) -> Arc<Self> {
        let (tx, _) = broadcast::channel(4096);
        let epoch = format!(
            "{:x}",
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_millis())
                .unwrap_or_default()
        );
        let hub = Arc::new(Self {
            epoch,
            ring: Mutex::new((0, VecDeque::new())),
            tx,
            closing: tokio::sync::watch::Sender::new(false),
        });
        let feeder = Arc::clone(&hub);
        tokio::spawn(async move {
            let streams =
                futures::future::join(bus.subscribe("user.>"), bus.subscribe("host.>")).await;
            let (Ok(users), Ok(hosts)) = streams else {
                tracing::error!("live events: cannot subscribe to the event bus");
                return;
            };
            let mut all = futures::stream::select(users, hosts);
            while let Some(event) = all.next().await {
                feeder.push(
                    event.subject,
                    String::from_utf8_lossy(&event.payload).into_owned(),
                );
            }
        });
        hub
    }

    fn push(&self, subject: String, data: String) {
        let Ok(mut ring) = self.ring.lock() else {
            return;
        };
        ring.0 += 1;
        let event = Arc::new(LiveEvent {
            seq: ring.0,
            subject,
            data,
            received: Instant::now(),
        });
        ring.1.push_back(Arc::clone(&event));
        while ring.1.len() > RING
            || ring
                .1
                .front()
                .is_some_and(|e| e.received.elapsed() > MAX_AGE)
        {
            ring.1.pop_front();
        }
        // Sent under the lock, so a client that snapshots the ring and then
        // listens misses nothing and sees nothing twice.
        let _ = self.tx.send(event);
    }

    /// Ends every client stream (the server is shutting down; clients
    /// reconnect elsewhere with their last event id).
    pub fn close(&self) {
        self.closing.send_replace(true);
    }

    /// Resolves once [`Self::close`] was called.
    pub fn closed(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        let mut rx = self.closing.subscribe();
        async move {
            let _ = rx.wait_for(|closing| *closing).await;
        }
    }

    /// The id a client sees for an event.
    pub fn event_id(&self, event: &LiveEvent) -> String {
        format!("{}-{}", self.epoch, event.seq)
    }

    /// Events for `patterns` after the client's `last_event_id`, and the live feed.
    pub fn resume(&self, patterns: &[String], last_event_id: Option<&str>) -> Resume {
        let after = last_event_id.map(|id| match id.split_once('-') {
            Some((epoch, n)) if epoch == self.epoch => n.parse::<u64>().unwrap_or(0),
            _ => 0,
        });
        let (live, head, missed) = match self.ring.lock() {
            Ok(ring) => {
                let live = self.tx.subscribe();
                let missed: Vec<Arc<LiveEvent>> = match after {
                    Some(after) => ring
                        .1
                        .iter()
                        .filter(|e| e.seq > after && wanted(patterns, &e.subject))
                        .cloned()
                        .collect(),
                    None => Vec::new(),
                };
                (live, ring.0, missed)
            }
            Err(poisoned) => {
                let ring = poisoned.into_inner();
                (self.tx.subscribe(), ring.0, Vec::new())
            }
        };
        Resume {
            missed,
            live,
            after: head,
        }
    }
}

/// Whether any of the caller's patterns covers the subject.
pub fn wanted(patterns: &[String], subject: &str) -> bool {
    patterns.iter().any(|p| subject_matches(p, subject))
}

#[cfg(test)]
mod tests {
    use super::*;
    use plugway_events::InProcessBus;

    #[tokio::test]
    async fn a_client_resumes_after_its_last_event_and_sees_only_its_own() {
        let bus = Arc::new(InProcessBus::new());
        let hub = LiveHub::start(bus.clone());
        tokio::time::sleep(Duration::from_millis(50)).await;
        for (subject, data) in [
            ("user.a.CHARGING", "1"),
            ("user.b.CHARGING", "x"),
            ("user.a.CHARGING", "2"),
            ("user.a.SESSION", "3"),
        ] {
            bus.publish(subject, data.as_bytes().to_vec())
                .await
                .unwrap();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        let mine = vec!["user.a.>".to_owned()];
        let first = hub.resume(&mine, Some(&format!("{}-0", hub.epoch)));
        let data: Vec<&str> = first.missed.iter().map(|e| e.data.as_str()).collect();
        assert_eq!(data, ["1", "2", "3"]);
        let id = hub.event_id(&first.missed[0]);
        let again = hub.resume(&mine, Some(&id));
        assert_eq!(again.missed.len(), 2);
        // An id from another run replays what this run holds.
        assert_eq!(hub.resume(&mine, Some("zz-99")).missed.len(), 3);
        // No id: only what comes next.
        let mut fresh = hub.resume(&mine, None);
        assert!(fresh.missed.is_empty());
        bus.publish("user.a.CHARGING", b"4".to_vec()).await.unwrap();
        let next = fresh.live.recv().await.unwrap();
        assert_eq!(next.data, "4");
        assert_eq!(next.kind(), "CHARGING");
    }
}
