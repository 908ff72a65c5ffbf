//! The in-process bus: one broadcast channel, filtered per subscriber. Fast
//! and dependency-free for a single node; a subscriber that falls behind by
//! more than the buffer loses the oldest events (counted in
//! `plugway_events_dropped_total`) rather than growing memory without bound.

use async_trait::async_trait;
use futures::StreamExt;
use tokio::sync::broadcast;
use tokio_stream::wrappers::errors::BroadcastStreamRecvError;
use tokio_stream::wrappers::BroadcastStream;

use crate::{
    subject_matches, valid_pattern, valid_subject, BusError, Event, EventBus, Result, Subscription,
};

/// Events buffered per subscriber before the slowest starts losing them.
const BUFFER: usize = 4096;

/// The in-process event bus.
#[derive(Debug, Clone)]
pub struct InProcessBus {
    sender: broadcast::Sender<Event>,
}

impl Default for InProcessBus {
    fn default() -> Self {
        Self::new()
    }
}

impl InProcessBus {
    /// A bus with no subscribers yet.
    pub fn new() -> Self {
        let (sender, _) = broadcast::channel(BUFFER);
        Self { sender }
    }
}

#[async_trait]
impl EventBus for InProcessBus {
    async fn publish(&self, subject: &str, payload: Vec<u8>) -> Result<()> {
        if !valid_subject(subject) {
            return Err(BusError::InvalidSubject(subject.to_owned()));
        }
        // No subscriber is not an error: events are fire-and-forget here.
        let _ = self.sender.send(Event {
            subject: subject.to_owned(),
            payload,
        });
        Ok(())
    }

    async fn subscribe(&self, pattern: &str) -> Result<Subscription> {
        if !valid_pattern(pattern) {
            return Err(BusError::InvalidSubject(pattern.to_owned()));
        }
        let pattern = pattern.to_owned();
        let stream = BroadcastStream::new(self.sender.subscribe()).filter_map(move |item| {
            let out = match item {
                Ok(event) if subject_matches(&pattern, &event.subject) => Some(event),
                Ok(_) => None,
                Err(BroadcastStreamRecvError::Lagged(n)) => {
                    metrics::counter!("plugway_events_dropped_total").increment(n);
                    tracing::warn!(dropped = n, "slow event subscriber lost events");
                    None
                }
            };
            futures::future::ready(out)
        });
        Ok(stream.boxed())
    }

    fn kind(&self) -> &'static str {
        "in-process"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn subscribers_get_only_matching_events_in_order() {
        let bus = InProcessBus::new();
        let mut mine = bus.subscribe("user.1.>").await.unwrap();
        let mut all = bus.subscribe(">").await.unwrap();
        bus.publish("user.2.CHARGING", b"theirs".to_vec())
            .await
            .unwrap();
        bus.publish("user.1.CHARGING", b"a".to_vec()).await.unwrap();
        bus.publish("user.1.PAYMENT", b"b".to_vec()).await.unwrap();
        assert_eq!(mine.next().await.unwrap().payload, b"a");
        assert_eq!(mine.next().await.unwrap().subject, "user.1.PAYMENT");
        assert_eq!(all.next().await.unwrap().payload, b"theirs");
    }

    #[tokio::test]
    async fn bad_subjects_are_refused() {
        let bus = InProcessBus::new();
        assert!(bus.publish("user.*", vec![]).await.is_err());
        assert!(bus.subscribe("a..b").await.is_err());
        // Publishing with nobody listening is fine.
        bus.publish("nobody.listens", vec![]).await.unwrap();
    }
}
