//! The live event hub behind `GET /api/v1/user/events`. One subscription
//! to the bus (`user.>` and `host.>`) per node feeds a numbered ring of
//! recent events, and routes each event to the clients of the one account
//! it is for, so a tick of thousands of CHARGING events costs one delivery
//! each rather than one check per connected client.
//!
//! Event ids are `<epoch>-<n>`: `epoch` names this process's run, `n`
//! counts up. A client that reconnects with the id of the last event it saw
//! gets what it missed from the ring. An id from another run (the node
//! restarted, or the client moved to another node) cannot be placed in this
//! ring, so such a client gets everything the ring holds for it. The ring
//! keeps the last [`RING`] events, none older than [`MAX_AGE`].

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::StreamExt;
use plugway_events::EventBus;
use tokio::sync::mpsc;

/// Events kept for resuming.
pub const RING: usize = 10_000;
/// Oldest event kept for resuming.
pub const MAX_AGE: Duration = Duration::from_secs(600);
/// Events queued per client before it counts as too slow and is dropped
/// (it reconnects and resumes from the ring).
const CLIENT_QUEUE: usize = 256;

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

    /// Whom it is for: its first two tokens (`user.<id>`, `host.<id>`).
    fn audience(&self) -> &str {
        audience(&self.subject)
    }
}

fn audience(subject: &str) -> &str {
    let mut dots = subject.match_indices('.').map(|(i, _)| i);
    match (dots.next(), dots.next()) {
        (Some(_), Some(end)) => subject.get(..end).unwrap_or(subject),
        _ => subject,
    }
}

/// Every host's events (admins).
pub const ALL_HOSTS: &str = "host.*";

type Routes = HashMap<String, Vec<mpsc::Sender<Arc<LiveEvent>>>>;

#[derive(Debug, Default)]
struct Inner {
    last: u64,
    ring: VecDeque<Arc<LiveEvent>>,
    routes: Routes,
}

/// The hub of one node.
#[derive(Debug)]
pub struct LiveHub {
    epoch: String,
    inner: Mutex<Inner>,
    closing: tokio::sync::watch::Sender<bool>,
}

/// What a client connection starts with.
#[derive(Debug)]
pub struct Resume {
    /// Missed events, oldest first.
    pub missed: Vec<Arc<LiveEvent>>,
    /// Everything after them.
    pub live: mpsc::Receiver<Arc<LiveEvent>>,
}

impl LiveHub {
    /// Starts the hub's bus subscription.
    // The epoch names this process's run: it must differ from the last run's
    // whatever an injected clock says, so it reads the system clock.
    #[allow(clippy::disallowed_methods)]
    pub fn start(bus: Arc<dyn EventBus>) -> Arc<Self> {
        let epoch = format!(
            "{:x}",
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_millis())
                .unwrap_or_default()
        );
        let hub = Arc::new(Self {
            epoch,
            inner: Mutex::new(Inner::default()),
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
        let Ok(mut inner) = self.inner.lock() else {
            return;
        };
        inner.last += 1;
        let event = Arc::new(LiveEvent {
            seq: inner.last,
            subject,
            data,
            received: Instant::now(),
        });
        inner.ring.push_back(Arc::clone(&event));
        while inner.ring.len() > RING
            || inner
                .ring
                .front()
                .is_some_and(|e| e.received.elapsed() > MAX_AGE)
        {
            inner.ring.pop_front();
        }
        // Routed under the lock, so a client that snapshots the ring and
        // registers in one step misses nothing and sees nothing twice.
        let mut keys = vec![event.audience().to_owned()];
        if event.subject.starts_with("host.") {
            keys.push(ALL_HOSTS.to_owned());
        }
        for key in keys {
            if let Some(clients) = inner.routes.get_mut(&key) {
                clients.retain(|client| match client.try_send(Arc::clone(&event)) {
                    Ok(()) => true,
                    Err(mpsc::error::TrySendError::Full(_)) => {
                        metrics::counter!("plugway_live_clients_dropped_total").increment(1);
                        false
                    }
                    Err(mpsc::error::TrySendError::Closed(_)) => false,
                });
                if clients.is_empty() {
                    inner.routes.remove(&key);
                }
            }
        }
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

    /// Registers a client for the events of `audiences` (`user.<id>`,
    /// `host.<id>`, or [`ALL_HOSTS`]) and gives it what it missed after
    /// `last_event_id` (nothing without one).
    pub fn subscribe(&self, audiences: &[String], last_event_id: Option<&str>) -> Resume {
        let after = last_event_id.map(|id| match id.split_once('-') {
            Some((epoch, n)) if epoch == self.epoch => n.parse::<u64>().unwrap_or(0),
            _ => 0,
        });
        let (tx, live) = mpsc::channel(CLIENT_QUEUE);
        let mut inner = match self.inner.lock() {
            Ok(inner) => inner,
            Err(poisoned) => poisoned.into_inner(),
        };
        let missed = match after {
            Some(after) => inner
                .ring
                .iter()
                .filter(|e| e.seq > after && wanted(audiences, e))
                .cloned()
                .collect(),
            None => Vec::new(),
        };
        for key in audiences {
            inner
                .routes
                .entry(key.clone())
                .or_default()
                .push(tx.clone());
        }
        Resume { missed, live }
    }
}

fn wanted(audiences: &[String], event: &LiveEvent) -> bool {
    audiences
        .iter()
        .any(|a| a == event.audience() || (a == ALL_HOSTS && event.subject.starts_with("host.")))
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
            ("user.ab.CHARGING", "y"),
            ("user.a.SESSION", "3"),
        ] {
            bus.publish(subject, data.as_bytes().to_vec())
                .await
                .unwrap();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        let mine = vec!["user.a".to_owned()];
        let first = hub.subscribe(&mine, Some(&format!("{}-0", hub.epoch)));
        let data: Vec<&str> = first.missed.iter().map(|e| e.data.as_str()).collect();
        assert_eq!(data, ["1", "2", "3"]);
        let id = hub.event_id(&first.missed[0]);
        let again = hub.subscribe(&mine, Some(&id));
        assert_eq!(again.missed.len(), 2);
        // An id from another run replays what this run holds.
        assert_eq!(hub.subscribe(&mine, Some("zz-99")).missed.len(), 3);
        // No id: only what comes next, and only this account's.
        let mut fresh = hub.subscribe(&mine, None);
        assert!(fresh.missed.is_empty());
        bus.publish("user.b.CHARGING", b"not mine".to_vec())
            .await
            .unwrap();
        bus.publish("user.a.CHARGING", b"4".to_vec()).await.unwrap();
        let next = fresh.live.recv().await.unwrap();
        assert_eq!(next.data, "4");
        assert_eq!(next.kind(), "CHARGING");
    }

    #[tokio::test]
    async fn admins_get_every_hosts_events_and_slow_clients_are_dropped() {
        let bus = Arc::new(InProcessBus::new());
        let hub = LiveHub::start(bus.clone());
        tokio::time::sleep(Duration::from_millis(50)).await;
        let mut admin = hub.subscribe(&[ALL_HOSTS.to_owned()], None);
        let slow = hub.subscribe(&["user.s".to_owned()], None);
        for n in 0..(CLIENT_QUEUE + 10) {
            bus.publish("user.s.CHARGING", n.to_string().into_bytes())
                .await
                .unwrap();
        }
        bus.publish("host.h1.STATUS", b"{}".to_vec()).await.unwrap();
        let got = tokio::time::timeout(Duration::from_secs(2), admin.live.recv())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(got.subject, "host.h1.STATUS");
        // The slow client's queue filled: it was let go (its stream ends
        // after what was queued, and it resumes from the ring).
        // Let the hub take in everything before the slow client reads.
        tokio::time::sleep(Duration::from_millis(200)).await;
        let mut slow = slow.live;
        let mut queued = 0;
        while slow.recv().await.is_some() {
            queued += 1;
        }
        assert_eq!(queued, CLIENT_QUEUE);
    }

    #[test]
    fn audiences_are_the_first_two_tokens() {
        assert_eq!(audience("user.abc.CHARGING"), "user.abc");
        assert_eq!(audience("host.h.STATUS"), "host.h");
        assert_eq!(audience("odd"), "odd");
    }
}
