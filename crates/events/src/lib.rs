//! The event bus. Publishers name a subject (`user.<id>.CHARGING`); a
//! subscriber gives a pattern with NATS's wildcards (`*` one token, `>` the
//! rest), so the in-process bus and the NATS bus (next to come) behave the
//! same and callers never know which one runs.

#![cfg_attr(
    test,
    allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)
)]

mod gateway;
mod memory;
mod subject;

use async_trait::async_trait;
use futures::stream::BoxStream;

pub use gateway::{ChargerGateway, GatewayError, NoChargers};
pub use memory::InProcessBus;
pub use subject::{subject_matches, valid_pattern, valid_subject};

/// A message on the bus.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// Where it was published, e.g. `user.0190....CHARGING`.
    pub subject: String,
    /// The body, usually JSON.
    pub payload: Vec<u8>,
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
}
