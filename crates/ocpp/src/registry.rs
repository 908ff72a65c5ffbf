//! Which charge points are connected to this node, and how to reach their
//! session. A second connection with the same id replaces the first: the
//! old session sees its generation superseded and closes.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use plugway_domain::ChargePointId;
use serde_json::Value;
use tokio::sync::{mpsc, oneshot};

/// An answer from a charger to one of our CALLs.
pub type CallOutcome = Result<Value, OutboundError>;

/// Why an outbound CALL got no CALLRESULT.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum OutboundError {
    /// Not connected to this node.
    #[error("the charge point is not connected")]
    Offline,
    /// It answered with a CALLERROR.
    #[error("the charge point answered {code}: {description}")]
    Rejected {
        /// Its error code.
        code: String,
        /// Its description.
        description: String,
    },
    /// It did not answer in time.
    #[error("the charge point did not answer in time")]
    Timeout,
    /// Its queue is full (it is not reading).
    #[error("the charge point is busy")]
    Busy,
}

/// A CALL waiting to be sent to a charger.
#[derive(Debug)]
pub struct Outbound {
    /// Action.
    pub action: String,
    /// Payload.
    pub payload: Value,
    /// Where the answer goes.
    pub reply: oneshot::Sender<CallOutcome>,
}

#[derive(Debug, Clone)]
struct Entry {
    generation: u64,
    version: crate::OcppVersion,
    tx: mpsc::Sender<Outbound>,
    closed: Arc<tokio::sync::Notify>,
}

/// The live sessions of this node.
#[derive(Debug, Clone, Default)]
pub struct Registry {
    inner: Arc<Mutex<HashMap<ChargePointId, Entry>>>,
    next: Arc<AtomicU64>,
}

/// A session's handle on its registration.
#[derive(Debug)]
pub struct Registration {
    /// This session's generation.
    pub generation: u64,
    /// Signalled when a newer connection replaces this one.
    pub replaced: Arc<tokio::sync::Notify>,
}

impl Registry {
    /// Registers a session, replacing (and signalling) any older one.
    pub fn register(
        &self,
        id: &ChargePointId,
        version: crate::OcppVersion,
        tx: mpsc::Sender<Outbound>,
    ) -> Registration {
        let generation = self.next.fetch_add(1, Ordering::Relaxed) + 1;
        let replaced = Arc::new(tokio::sync::Notify::new());
        let entry = Entry {
            generation,
            version,
            tx,
            closed: replaced.clone(),
        };
        let old = self
            .inner
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(id.clone(), entry);
        if let Some(old) = old {
            old.closed.notify_one();
        }
        metrics::gauge!("plugway_ocpp_connections").set(self.len() as f64);
        Registration {
            generation,
            replaced,
        }
    }

    /// Removes a session if it is still the current one; true if it was.
    pub fn unregister(&self, id: &ChargePointId, generation: u64) -> bool {
        let mut map = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let current = map.get(id).is_some_and(|e| e.generation == generation);
        if current {
            map.remove(id);
        }
        drop(map);
        metrics::gauge!("plugway_ocpp_connections").set(self.len() as f64);
        current
    }

    /// Drops the session `generation` of a charger (it connected to another
    /// node: its connection here is stale) and signals it to close; true if
    /// that session was still the current one.
    pub fn evict_generation(&self, id: &ChargePointId, generation: u64) -> bool {
        let old = {
            let mut map = self.inner.lock().unwrap_or_else(|p| p.into_inner());
            if map.get(id).is_some_and(|e| e.generation == generation) {
                map.remove(id)
            } else {
                None
            }
        };
        if let Some(old) = &old {
            old.closed.notify_one();
        }
        metrics::gauge!("plugway_ocpp_connections").set(self.len() as f64);
        old.is_some()
    }

    /// Whether session `generation` is still the charger's current one here.
    pub fn is_current(&self, id: &ChargePointId, generation: u64) -> bool {
        self.inner
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(id)
            .is_some_and(|e| e.generation == generation)
    }

    /// Connected sessions.
    pub fn len(&self) -> usize {
        self.inner.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    /// True when nothing is connected.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The version a charger connected here speaks.
    pub fn version(&self, id: &ChargePointId) -> Option<crate::OcppVersion> {
        self.inner
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(id)
            .map(|e| e.version)
    }

    /// Whether the charge point is connected here.
    pub fn is_connected(&self, id: &ChargePointId) -> bool {
        self.inner
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains_key(id)
    }

    /// Sends a CALL to a connected charger and waits for its answer.
    pub async fn call(&self, id: &ChargePointId, action: &str, payload: Value) -> CallOutcome {
        let tx = {
            let map = self.inner.lock().unwrap_or_else(|p| p.into_inner());
            map.get(id).map(|e| e.tx.clone())
        };
        let tx = tx.ok_or(OutboundError::Offline)?;
        let (reply, answer) = oneshot::channel();
        tx.try_send(Outbound {
            action: action.to_owned(),
            payload,
            reply,
        })
        .map_err(|e| match e {
            mpsc::error::TrySendError::Full(_) => OutboundError::Busy,
            mpsc::error::TrySendError::Closed(_) => OutboundError::Offline,
        })?;
        answer.await.unwrap_or(Err(OutboundError::Offline))
    }
}
