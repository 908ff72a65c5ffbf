//! Several nodes behind one address (docs/cluster.md): a command reaches
//! the charger whichever node it was asked on.
//!
//! Each node, for each charger connected to it, subscribes to the charger's
//! command subject on NATS (`{prefix}.cs.{hex id}.cmd`). A node asked to
//! send a command to a charger it does not hold sends it there as a NATS
//! request; the holding node sends it over the WebSocket and replies with
//! the charger's answer (or the error, as on one node). Nobody subscribed
//! is NATS's "no responders": the charger is offline, at once, without a
//! presence table to go stale. A node that dies takes its subscriptions
//! with its NATS connection.
//!
//! A charger that reconnects to another node before its old node noticed
//! the drop is *claimed* there (`{prefix}.cs.{hex id}.claim`): the old node
//! closes its stale connection, so no two nodes answer for one charger.
//!
//! Which chargers are online anywhere ([`ChargerGateway::is_connected`],
//! answered from memory) comes from the same claims and releases, and from
//! each node's list of the chargers it holds, sent every
//! [`PRESENCE_EVERY`]; a node's entries lapse [`PRESENCE_TTL`] after its
//! last word, so a killed node's chargers show offline within that.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use futures::StreamExt;
use plugway_domain::ChargePointId;
use plugway_events::{ChargerAnswer, ChargerCommand, ChargerGateway, GatewayError};
use serde::{Deserialize, Serialize};

use crate::OcppState;

/// How often a node tells the others which chargers it holds.
pub const PRESENCE_EVERY: Duration = Duration::from_secs(20);
/// How long a node's word about its chargers holds.
pub const PRESENCE_TTL: Duration = Duration::from_secs(60);

/// A command relayed to the holding node, with how long its sender waits:
/// the holding node does not start one its sender has given up on.
#[derive(Debug, Serialize, Deserialize)]
struct Relayed {
    command: ChargerCommand,
    /// Milliseconds the sender waits for the answer.
    wait_ms: u64,
}

/// The holding node's reply.
#[derive(Debug, Serialize, Deserialize)]
struct Reply {
    result: Result<ChargerAnswer, GatewayError>,
}

/// What a node says about its chargers.
#[derive(Debug, Serialize, Deserialize)]
struct Presence {
    node: String,
    /// When the connection it claims began (Unix ms): a claim only closes a
    /// connection here that began earlier, so a late message never closes
    /// the newer one.
    #[serde(default)]
    since_ms: i64,
    /// Chargers it now holds.
    #[serde(default)]
    holds: Vec<String>,
    /// Chargers it no longer holds.
    #[serde(default)]
    released: Vec<String>,
    /// `holds` is the node's whole list (a heartbeat), not news.
    #[serde(default)]
    complete: bool,
}

#[derive(Debug, Default)]
struct Seen {
    /// Charger → (node, when that node last said so).
    remote: HashMap<String, (String, Instant)>,
    /// This node's command subscriptions, by charger.
    serving: HashMap<String, Serving>,
}

/// One charger's connection here, as the cluster sees it.
#[derive(Debug)]
struct Serving {
    generation: u64,
    since_ms: i64,
    task: tokio::task::JoinHandle<()>,
}

/// This node's place in the cluster.
#[derive(Debug)]
pub struct Cluster {
    client: async_nats::Client,
    prefix: String,
    node: String,
    call_timeout: Duration,
    seen: Mutex<Seen>,
}

fn token(id: &str) -> String {
    hex::encode(id.as_bytes())
}

impl Cluster {
    fn command_subject(&self, id: &str) -> String {
        format!("{}.cs.{}.cmd", self.prefix, token(id))
    }

    fn presence_subject(&self) -> String {
        format!("{}.cs.presence", self.prefix)
    }

    fn seen(&self) -> std::sync::MutexGuard<'_, Seen> {
        self.seen.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Joins: starts listening to the other nodes, and makes `state` send
    /// through the cluster. `node` names this node (unique per process).
    pub async fn join(
        state: &OcppState,
        client: async_nats::Client,
        prefix: &str,
        node: String,
    ) -> anyhow::Result<Arc<Self>> {
        let cluster = Arc::new(Self {
            client,
            prefix: prefix.to_owned(),
            node,
            call_timeout: state.config.call_timeout + Duration::from_secs(2),
            seen: Mutex::new(Seen::default()),
        });
        let mut presence = cluster.client.subscribe(cluster.presence_subject()).await?;
        let _ = state.cluster.set(cluster.clone());
        // Others' news: who holds what; a claim of one of ours closes our
        // stale connection to it.
        let listener = Arc::downgrade(&cluster);
        let registry = state.registry.clone();
        tokio::spawn(async move {
            while let Some(message) = presence.next().await {
                let Some(cluster) = listener.upgrade() else {
                    break;
                };
                let Ok(news) = serde_json::from_slice::<Presence>(&message.payload) else {
                    continue;
                };
                if news.node == cluster.node {
                    continue;
                }
                let now = Instant::now();
                let mut seen = cluster.seen();
                if news.complete {
                    seen.remote.retain(|_, (node, _)| *node != news.node);
                }
                for id in &news.holds {
                    seen.remote.insert(id.clone(), (news.node.clone(), now));
                }
                for id in &news.released {
                    if seen
                        .remote
                        .get(id)
                        .is_some_and(|(node, _)| *node == news.node)
                    {
                        seen.remote.remove(id);
                    }
                }
                drop(seen);
                if !news.complete {
                    for id in &news.holds {
                        // Only a connection here that began before the
                        // claimed one is stale.
                        let stale = {
                            let mut seen = cluster.seen();
                            match seen.serving.get(id) {
                                Some(ours) if ours.since_ms <= news.since_ms => {
                                    seen.serving.remove(id)
                                }
                                _ => None,
                            }
                        };
                        let Some(stale) = stale else { continue };
                        stale.task.abort();
                        if let Ok(cp) = ChargePointId::parse(id) {
                            if registry.evict_generation(&cp, stale.generation) {
                                tracing::info!(charge_point = %cp, node = %news.node, "the charger reconnected to another node; closed its stale connection here");
                            }
                        }
                    }
                }
            }
        });
        // This node's whole list, now and then.
        let heartbeat = Arc::downgrade(&cluster);
        tokio::spawn(async move {
            let mut every = tokio::time::interval(PRESENCE_EVERY);
            loop {
                every.tick().await;
                let Some(cluster) = heartbeat.upgrade() else {
                    break;
                };
                let holds: Vec<String> = cluster.seen().serving.keys().cloned().collect();
                let since_ms = 0;
                cluster
                    .announce(Presence {
                        node: cluster.node.clone(),
                        since_ms,
                        holds,
                        released: Vec::new(),
                        complete: true,
                    })
                    .await;
            }
        });
        tracing::info!(node = %cluster.node, "joined the cluster over NATS: commands reach chargers on any node");
        Ok(cluster)
    }

    async fn announce(&self, presence: Presence) {
        let Ok(body) = serde_json::to_vec(&presence) else {
            return;
        };
        if let Err(e) = self
            .client
            .publish(self.presence_subject(), body.into())
            .await
        {
            tracing::warn!(error = %e, "could not tell the cluster about our chargers");
        }
    }

    /// A charger connected here (its registration `generation`, at
    /// `since_ms`): serve its commands from the cluster and claim it (a
    /// stale connection elsewhere is closed).
    pub async fn hold(
        self: &Arc<Self>,
        state: &OcppState,
        id: &ChargePointId,
        generation: u64,
        since_ms: i64,
    ) {
        let subject = self.command_subject(id.as_str());
        let mut subscription = match self.client.subscribe(subject).await {
            Ok(s) => s,
            Err(e) => {
                // Unreachable from the other nodes: better it reconnects.
                tracing::warn!(charge_point = %id, error = %e, "could not serve this charger's commands to the cluster; closing its connection");
                state.registry.evict_generation(id, generation);
                return;
            }
        };
        let serving_state = state.clone();
        let client = self.client.clone();
        let cp = id.clone();
        let task = tokio::spawn(async move {
            while let Some(message) = subscription.next().await {
                // Nothing behind this subscription any more (the charger
                // moved): stop serving rather than answer "offline" over
                // the node that holds it.
                if !serving_state.registry.is_current(&cp, generation) {
                    break;
                }
                let Some(reply_to) = message.reply.clone() else {
                    continue;
                };
                // Each command on its own, as on one node: a busy charger
                // answers Busy, a slow one does not hold up the next.
                let (state, client, cp) = (serving_state.clone(), client.clone(), cp.clone());
                tokio::spawn(async move {
                    let result = match serde_json::from_slice::<Relayed>(&message.payload) {
                        Ok(relayed) => {
                            let wait = Duration::from_millis(relayed.wait_ms);
                            match tokio::time::timeout(
                                wait,
                                state.send_local(cp.as_str(), relayed.command),
                            )
                            .await
                            {
                                Ok(result) => result,
                                Err(_) => Err(GatewayError::Timeout),
                            }
                        }
                        Err(e) => Err(GatewayError::Invalid(format!("a relayed command: {e}"))),
                    };
                    let body = serde_json::to_vec(&Reply { result }).unwrap_or_default();
                    if let Err(e) = client.publish(reply_to, body.into()).await {
                        tracing::warn!(charge_point = %cp, error = %e, "could not reply to a relayed command");
                    }
                });
            }
        });
        {
            let mut seen = self.seen();
            // Replaced or closed while we subscribed: serve nothing.
            if !state.registry.is_current(id, generation) {
                task.abort();
                return;
            }
            // Ours now, whoever held it before.
            seen.remote.remove(id.as_str());
            if let Some(old) = seen.serving.insert(
                id.as_str().to_owned(),
                Serving {
                    generation,
                    since_ms,
                    task,
                },
            ) {
                old.task.abort();
            }
        }
        self.announce(Presence {
            node: self.node.clone(),
            since_ms,
            holds: vec![id.as_str().to_owned()],
            released: Vec::new(),
            complete: false,
        })
        .await;
    }

    /// The charger's connection here ended.
    pub async fn release(&self, id: &ChargePointId, generation: u64) {
        let ours = {
            let mut seen = self.seen();
            match seen.serving.get(id.as_str()) {
                Some(s) if s.generation == generation => seen.serving.remove(id.as_str()),
                _ => None,
            }
        };
        let Some(ours) = ours else { return };
        ours.task.abort();
        self.announce(Presence {
            node: self.node.clone(),
            since_ms: 0,
            holds: Vec::new(),
            released: vec![id.as_str().to_owned()],
            complete: false,
        })
        .await;
    }

    /// Sends a command to the node that holds the charger.
    async fn relay(
        &self,
        charge_point: &str,
        command: ChargerCommand,
    ) -> Result<ChargerAnswer, GatewayError> {
        let wait = self.call_timeout;
        let body = serde_json::to_vec(&Relayed {
            command,
            // The holding node gives up a little before we do.
            wait_ms: u64::try_from(wait.saturating_sub(Duration::from_secs(1)).as_millis())
                .unwrap_or(u64::MAX),
        })
        .map_err(|e| GatewayError::Invalid(e.to_string()))?;
        let request = self.client.send_request(
            self.command_subject(charge_point),
            async_nats::Request::new()
                .payload(body.into())
                .timeout(Some(wait)),
        );
        match tokio::time::timeout(wait + Duration::from_secs(1), request).await {
            Err(_) => Err(GatewayError::Timeout),
            Ok(Err(e)) => match e.kind() {
                async_nats::RequestErrorKind::NoResponders => Err(GatewayError::Offline),
                async_nats::RequestErrorKind::TimedOut => Err(GatewayError::Timeout),
                _ => {
                    tracing::warn!(error = %e, "a relayed command failed on NATS");
                    Err(GatewayError::Offline)
                }
            },
            Ok(Ok(message)) => {
                serde_json::from_slice::<Reply>(&message.payload)
                    .map_err(|e| GatewayError::Invalid(format!("the holding node's reply: {e}")))?
                    .result
            }
        }
    }

    fn held_elsewhere(&self, charge_point: &str) -> bool {
        self.seen()
            .remote
            .get(charge_point)
            .is_some_and(|(_, at)| at.elapsed() < PRESENCE_TTL)
    }
}

#[async_trait]
impl ChargerGateway for OcppState {
    async fn send(
        &self,
        charge_point: &str,
        command: ChargerCommand,
    ) -> Result<ChargerAnswer, GatewayError> {
        let local =
            ChargePointId::parse(charge_point).is_ok_and(|id| self.registry.is_connected(&id));
        match self.cluster.get() {
            Some(cluster) if !local => cluster.relay(charge_point, command).await,
            _ => self.send_local(charge_point, command).await,
        }
    }

    fn is_connected(&self, charge_point: &str) -> bool {
        ChargePointId::parse(charge_point).is_ok_and(|id| self.registry.is_connected(&id))
            || self
                .cluster
                .get()
                .is_some_and(|c| c.held_elsewhere(charge_point))
    }
}
