//! The NATS bus. Every subject goes on the wire under a prefix
//! (`plugway.user.<id>.CHARGING`) so several deployments can share a server,
//! and subscribers get the subject back without it. Events for users and
//! hosts also go into a JetStream stream: publishing them waits for the
//! server's acknowledgement, so an acknowledged event survives a NATS
//! restart and a client that reconnects can replay what it missed. The rest
//! (OCPP traffic, commands) is plain fire-and-forget NATS.
//!
//! "Acknowledged" means written to the server's files: a single nats-server
//! writes a message before it acks it, so the event survives the process
//! dying (`kill -9`, tested). The files are fsynced in the background (every
//! minute by default), so a power loss can still lose the last events; a
//! clustered, replicated stream is the answer where that matters.

use std::time::Duration;

use async_nats::jetstream::{self, consumer, stream};
use async_nats::{ConnectOptions, RequestErrorKind};
use async_trait::async_trait;
use futures::StreamExt;
use secrecy::ExposeSecret;

use crate::nats_auth::NatsUserCredentials;
use crate::{
    valid_pattern, valid_subject, BusError, Event, EventBus, Result, StoredEvent, Subscription,
};

/// The first tokens of the subjects kept in the stream.
const STORED_ROOTS: [&str; 2] = ["user", "host"];

/// How long an unused replay consumer lingers on the server if deleting it
/// fails (the connection dropped mid-replay, say).
const REPLAY_CONSUMER_IDLE: Duration = Duration::from_secs(60);

/// Where and how to connect.
#[derive(Debug, Clone)]
pub struct NatsOptions {
    /// The server, e.g. `nats://127.0.0.1:4222` (several: comma-separated).
    pub url: String,
    /// Put before every subject on the wire, so deployments can share a
    /// server. One or more subject tokens, no wildcards.
    pub prefix: String,
    /// A user JWT and seed when the server runs in operator mode; `None` for
    /// a server without authentication.
    pub credentials: Option<NatsUserCredentials>,
    /// The JetStream stream that keeps user and host events.
    pub stream: String,
    /// How long the stream keeps an event (zero: forever).
    pub retention: Duration,
}

impl NatsOptions {
    /// The defaults for a server at `url`.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            ..Self::default()
        }
    }
}

impl Default for NatsOptions {
    fn default() -> Self {
        Self {
            url: "nats://127.0.0.1:4222".to_owned(),
            prefix: "plugway".to_owned(),
            credentials: None,
            stream: "PLUGWAY_EVENTS".to_owned(),
            retention: Duration::from_secs(24 * 60 * 60),
        }
    }
}

/// The event bus over NATS. Cheap to clone; reconnects by itself (and
/// re-subscribes) when the server comes back.
#[derive(Debug, Clone)]
pub struct NatsBus {
    client: async_nats::Client,
    jetstream: jetstream::Context,
    prefix: String,
    stream: String,
}

impl NatsBus {
    /// Connects and creates the event stream, or updates it to `options`
    /// (so changing the retention takes effect at the next start).
    #[tracing::instrument(skip_all, fields(url = %options.url, stream = %options.stream), err)]
    pub async fn connect(options: NatsOptions) -> Result<Self> {
        if !valid_subject(&options.prefix) {
            return Err(BusError::InvalidSubject(options.prefix));
        }
        if !valid_stream_name(&options.stream) {
            return Err(BusError::InvalidSubject(options.stream));
        }
        let mut connect = ConnectOptions::new().name("plugway");
        if let Some(credentials) = &options.credentials {
            let key = nkeys::KeyPair::from_seed(credentials.seed.expose_secret())
                .map_err(|e| BusError::Unavailable(format!("invalid NATS user seed: {e}")))?;
            let key = std::sync::Arc::new(key);
            connect = connect.jwt(credentials.jwt.clone(), move |nonce| {
                let key = key.clone();
                async move { key.sign(&nonce).map_err(async_nats::AuthError::new) }
            });
        }
        let client = connect
            .connect(options.url.as_str())
            .await
            .map_err(unavailable)?;
        let jetstream = jetstream::new(client.clone());
        let config = stream::Config {
            name: options.stream.clone(),
            subjects: STORED_ROOTS
                .iter()
                .map(|root| format!("{}.{root}.>", options.prefix))
                .collect(),
            storage: stream::StorageType::File,
            max_age: options.retention,
            ..Default::default()
        };
        jetstream
            .create_or_update_stream(config)
            .await
            .map_err(|e| BusError::Unavailable(format!("cannot set up the event stream: {e}")))?;
        Ok(Self {
            client,
            jetstream,
            prefix: options.prefix,
            stream: options.stream,
        })
    }

    /// The NATS connection (the cluster's command routing shares it).
    pub fn client(&self) -> async_nats::Client {
        self.client.clone()
    }

    /// The JetStream stream this bus keeps events in.
    pub fn stream_name(&self) -> &str {
        &self.stream
    }

    fn wire(&self, subject: &str) -> String {
        format!("{}.{subject}", self.prefix)
    }
}

#[async_trait]
impl EventBus for NatsBus {
    async fn publish(&self, subject: &str, payload: Vec<u8>) -> Result<()> {
        self.publish_stored(subject, payload).await.map(|_| ())
    }

    async fn subscribe(&self, pattern: &str) -> Result<Subscription> {
        if !valid_pattern(pattern) {
            return Err(BusError::InvalidSubject(pattern.to_owned()));
        }
        let subscriber = self
            .client
            .subscribe(self.wire(pattern))
            .await
            .map_err(unavailable)?;
        // Like the in-process bus, what is published once this returns must
        // reach the subscriber: wait until the server has the subscription.
        // A request nobody answers is the round trip async-nats offers.
        match self
            .client
            .request(self.client.new_inbox(), bytes::Bytes::new())
            .await
        {
            Err(e) if e.kind() != RequestErrorKind::NoResponders => {
                // The subscription stands and is renewed on reconnect.
                tracing::debug!(error = %e, "subscription not confirmed by the server");
            }
            _ => {}
        }
        let strip = format!("{}.", self.prefix);
        let events = subscriber.filter_map(move |message| {
            let event = message
                .subject
                .as_str()
                .strip_prefix(strip.as_str())
                .map(|subject| Event {
                    subject: subject.to_owned(),
                    payload: message.payload.to_vec(),
                });
            futures::future::ready(event)
        });
        Ok(events.boxed())
    }

    fn kind(&self) -> &'static str {
        "nats"
    }

    /// User and host events go through JetStream and return their stream
    /// sequence once the server has stored them; other subjects are
    /// published plainly and return `None`.
    async fn publish_stored(&self, subject: &str, payload: Vec<u8>) -> Result<Option<u64>> {
        if !valid_subject(subject) {
            return Err(BusError::InvalidSubject(subject.to_owned()));
        }
        if !is_stored(subject) {
            self.client
                .publish(self.wire(subject), payload.into())
                .await
                .map_err(unavailable)?;
            return Ok(None);
        }
        let ack = self
            .jetstream
            .publish(self.wire(subject), payload.into())
            .await
            .map_err(unavailable)?
            .await
            .map_err(unavailable)?;
        Ok(Some(ack.sequence))
    }

    /// Reads the stream with a short-lived consumer. `pattern` must lie in
    /// the stored subjects (`user.…` or `host.…`).
    async fn replay(&self, pattern: &str, after: u64, limit: usize) -> Result<Vec<StoredEvent>> {
        if !valid_pattern(pattern) || !is_stored(pattern) {
            return Err(BusError::InvalidSubject(pattern.to_owned()));
        }
        let mut events = Vec::new();
        if limit == 0 {
            return Ok(events);
        }
        let stream = self
            .jetstream
            .get_stream_no_info(&self.stream)
            .await
            .map_err(unavailable)?;
        let consumer = stream
            .create_consumer(consumer::pull::Config {
                filter_subject: self.wire(pattern),
                deliver_policy: consumer::DeliverPolicy::ByStartSequence {
                    start_sequence: after.saturating_add(1),
                },
                ack_policy: consumer::AckPolicy::None,
                inactive_threshold: REPLAY_CONSUMER_IDLE,
                ..Default::default()
            })
            .await
            .map_err(unavailable)?;
        let name = consumer.cached_info().name.clone();
        let mut pending = consumer.cached_info().num_pending;
        let strip = format!("{}.", self.prefix);
        let result = async {
            while pending > 0 && events.len() < limit {
                let wanted = usize::try_from(pending)
                    .unwrap_or(usize::MAX)
                    .min(limit - events.len());
                let mut batch = consumer
                    .fetch()
                    .max_messages(wanted)
                    .messages()
                    .await
                    .map_err(unavailable)?;
                let before = events.len();
                while let Some(message) = batch.next().await {
                    let message = message.map_err(unavailable)?;
                    let info = message.info().map_err(unavailable)?;
                    pending = info.pending;
                    let sequence = info.stream_sequence;
                    if let Some(subject) = message.subject.as_str().strip_prefix(strip.as_str()) {
                        events.push(StoredEvent {
                            sequence,
                            event: Event {
                                subject: subject.to_owned(),
                                payload: message.payload.to_vec(),
                            },
                        });
                    }
                }
                if events.len() == before {
                    break;
                }
            }
            Ok(())
        }
        .await;
        if let Err(e) = stream.delete_consumer(&name).await {
            tracing::debug!(error = %e, consumer = %name, "replay consumer left to expire");
        }
        result.map(|()| events)
    }
}

/// Whether a subject or pattern lies in the stream: `user.…` or `host.…`
/// with at least one token after (the stream captures `user.>`).
fn is_stored(subject: &str) -> bool {
    subject
        .split_once('.')
        .is_some_and(|(root, _)| STORED_ROOTS.contains(&root))
}

/// JetStream stream names: no subject separators, wildcards or spaces.
fn valid_stream_name(name: &str) -> bool {
    !name.is_empty()
        && !name.contains(|c: char| matches!(c, '.' | '*' | '>' | '/' | '\\') || c.is_whitespace())
}

fn unavailable(error: impl std::fmt::Display) -> BusError {
    BusError::Unavailable(error.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_user_and_host_subjects_are_stored() {
        assert!(is_stored("user.1.CHARGING"));
        assert!(is_stored("host.1.STATUS"));
        assert!(is_stored("user.>"));
        assert!(!is_stored("user"));
        assert!(!is_stored("ocpp.cp1.StartTransaction"));
        assert!(!is_stored("users.1.x"));
        assert!(!is_stored(">"));
    }

    #[test]
    fn stream_names_are_checked() {
        assert!(valid_stream_name("PLUGWAY_EVENTS"));
        assert!(!valid_stream_name("a.b"));
        assert!(!valid_stream_name("a b"));
        assert!(!valid_stream_name(""));
    }

    #[tokio::test]
    async fn bad_options_are_refused_before_connecting() {
        let mut options = NatsOptions::new("nats://127.0.0.1:1");
        options.prefix = "a.*".to_owned();
        assert!(matches!(
            NatsBus::connect(options).await,
            Err(BusError::InvalidSubject(_))
        ));
        let mut options = NatsOptions::new("nats://127.0.0.1:1");
        options.stream = "a.b".to_owned();
        assert!(matches!(
            NatsBus::connect(options).await,
            Err(BusError::InvalidSubject(_))
        ));
    }
}
