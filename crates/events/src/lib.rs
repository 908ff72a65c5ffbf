//! The event bus. Publishers name a subject (`user.<id>.CHARGING`); a
//! subscriber gives a pattern with NATS's wildcards (`*` one token, `>` the
//! rest), so the in-process bus and the NATS bus behave the same and callers
//! never know which one runs. The NATS bus also keeps the `user.>` and
//! `host.>` events in a JetStream stream, so a client that reconnects can
//! [`replay`](EventBus::replay) what it missed; [`nats_auth`] mints the NATS
//! credentials that let a driver's app subscribe to its own events only.

#![cfg_attr(
    test,
    allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::indexing_slicing,
        clippy::disallowed_methods
    )
)]

mod gateway;
mod memory;
mod nats;
pub mod nats_auth;
mod subject;
pub mod testing;

use async_trait::async_trait;
use futures::stream::BoxStream;

pub use gateway::{
    ocpp201_action, ocpp201_successor, ChargerAnswer, ChargerCommand, ChargerGateway, GatewayError,
    NoChargers, Ocpp16Action, OCPP201_ACTIONS,
};
pub use memory::InProcessBus;
pub use nats::{NatsBus, NatsOptions};
pub use nats_auth::NatsUserCredentials;
pub use subject::{subject_matches, valid_pattern, valid_subject};

/// A message on the bus.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// Where it was published, e.g. `user.0190....CHARGING`.
    pub subject: String,
    /// The body, usually JSON.
    pub payload: Vec<u8>,
}

/// An event as a bus that keeps history stored it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEvent {
    /// Its position in the bus's history: increasing, not contiguous per
    /// subject. A client resumes by replaying after the last one it saw.
    pub sequence: u64,
    /// The event.
    pub event: Event,
}

/// What publishing or subscribing can fail with.
#[derive(Debug, thiserror::Error)]
pub enum BusError {
    /// The subject or pattern is not well formed.
    #[error("invalid subject {0:?}")]
    InvalidSubject(String),
    /// The bus is unreachable (NATS down).
    #[error("event bus unavailable: {0}")]
    Unavailable(String),
}

/// `Result` with [`BusError`].
pub type Result<T, E = BusError> = std::result::Result<T, E>;

/// A stream of events matching a pattern. Ends when the bus shuts down.
pub type Subscription = BoxStream<'static, Event>;

/// Publish/subscribe between the parts of Plugway (and, with NATS, nodes and apps).
#[async_trait]
pub trait EventBus: Send + Sync + std::fmt::Debug {
    /// Publishes to one concrete subject (no wildcards).
    async fn publish(&self, subject: &str, payload: Vec<u8>) -> Result<()>;
    /// Subscribes to every subject matching `pattern`.
    async fn subscribe(&self, pattern: &str) -> Result<Subscription>;
    /// Which implementation this is ("in-process", "nats").
    fn kind(&self) -> &'static str;

    /// Publishes like [`publish`](Self::publish) and, when this bus keeps
    /// the subject's history, returns the event's
    /// [`sequence`](StoredEvent::sequence) once it is stored. A bus that
    /// keeps no history publishes and returns `None`.
    async fn publish_stored(&self, subject: &str, payload: Vec<u8>) -> Result<Option<u64>> {
        self.publish(subject, payload).await.map(|()| None)
    }

    /// The stored events matching `pattern` with a sequence above `after`,
    /// oldest first, at most `limit` of them. A bus that keeps no history has
    /// none to give.
    async fn replay(&self, pattern: &str, after: u64, limit: usize) -> Result<Vec<StoredEvent>> {
        let _ = (after, limit);
        if !valid_pattern(pattern) {
            return Err(BusError::InvalidSubject(pattern.to_owned()));
        }
        Ok(Vec::new())
    }
}
