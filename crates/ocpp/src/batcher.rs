//! Group commit. An answer that means "stored" (MeterValues, a
//! BootNotification) waits until its write is durable, but concurrent
//! chargers share one database commit: a writer task takes everything queued
//! while the previous commit ran and stores it in one transaction, then
//! releases all the waiting answers at once. One writer per kind of write:
//! meter samples, and presence (connect, boot, heartbeat, connector status,
//! disconnect).

use std::future::Future;
use std::sync::Arc;

use plugway_store::{MeterSample, PresenceChange, Store, StoreError};
use tokio::sync::{mpsc, oneshot};

/// What a queued write is told once its batch is committed: one result per
/// item it queued.
type Ack<R> = oneshot::Sender<Result<Vec<R>, String>>;

/// A writer task that commits what is queued in batches.
#[derive(Debug)]
pub struct GroupCommit<T, R> {
    tx: mpsc::Sender<(Vec<T>, Ack<R>)>,
    what: &'static str,
}

impl<T, R> Clone for GroupCommit<T, R> {
    fn clone(&self) -> Self {
        Self {
            tx: self.tx.clone(),
            what: self.what,
        }
    }
}

/// How long one commit may take before its batch fails (and the writer
/// goes on with the next), so a stuck statement cannot hold every waiting
/// answer forever.
const COMMIT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

fn stopped(what: &str) -> StoreError {
    StoreError::Unavailable(format!("the {what} writer stopped"))
}

impl<T: Send + Sync + 'static, R: Clone + Send + 'static> GroupCommit<T, R> {
    /// Starts the writer task: `commit` stores one batch (at most
    /// `max_batch` items, unless one submission is larger) in one
    /// transaction and returns a result per item. `what` names it in
    /// metrics and errors. With `retry`, a failed batch is tried once more
    /// after a moment (for writes whose rolled-back batch may be applied
    /// again: see each writer for what a batch that did land costs then).
    pub fn start<F, Fut>(what: &'static str, max_batch: usize, retry: bool, commit: F) -> Self
    where
        F: Fn(Arc<Vec<T>>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Vec<R>, StoreError>> + Send,
    {
        let (tx, mut rx) = mpsc::channel::<(Vec<T>, Ack<R>)>(4096);
        tokio::spawn(async move {
            while let Some((mut items, ack)) = rx.recv().await {
                let mut sizes = vec![items.len()];
                let mut acks = vec![ack];
                while items.len() < max_batch {
                    match rx.try_recv() {
                        Ok((more, ack)) => {
                            sizes.push(more.len());
                            items.extend(more);
                            acks.push(ack);
                        }
                        Err(_) => break,
                    }
                }
                let count = items.len();
                let items = Arc::new(items);
                let attempt = || async {
                    tokio::time::timeout(COMMIT_TIMEOUT, commit(items.clone()))
                        .await
                        .unwrap_or_else(|_| {
                            Err(StoreError::Unavailable(format!(
                                "the {what} commit took over {} s",
                                COMMIT_TIMEOUT.as_secs()
                            )))
                        })
                };
                let mut outcome = attempt().await;
                if retry {
                    if let Err(e) = &outcome {
                        tracing::warn!(error = %e, writes = count, "{what}: a group commit failed; trying once more");
                        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
                        outcome = attempt().await;
                    }
                }
                let result = match outcome {
                    Ok(results) if results.len() == count => Ok(results),
                    Ok(results) => Err(format!(
                        "the {what} commit answered {} results for {count} writes",
                        results.len()
                    )),
                    Err(e) => Err(e.to_string()),
                };
                metrics::histogram!("plugway_group_commit_writes", "writer" => what)
                    .record(acks.len() as f64);
                match result {
                    Ok(results) => {
                        let mut results = results.into_iter();
                        for (ack, size) in acks.into_iter().zip(sizes) {
                            let _ = ack.send(Ok(results.by_ref().take(size).collect()));
                        }
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, writes = count, "{what}: a group commit failed");
                        for ack in acks {
                            let _ = ack.send(Err(e.clone()));
                        }
                    }
                }
            }
        });
        Self { tx, what }
    }

    /// Queues `items` behind everything queued before them; the receiver
    /// answers once they are committed. Waits only while the queue is full.
    pub async fn queue(&self, items: Vec<T>) -> Result<Committed<R>, StoreError> {
        let (ack, done) = oneshot::channel();
        self.tx
            .send((items, ack))
            .await
            .map_err(|_| stopped(self.what))?;
        Ok(Committed(done, self.what))
    }

    /// Stores `items`; returns once they are committed, a result per item.
    pub async fn commit(&self, items: Vec<T>) -> Result<Vec<R>, StoreError> {
        self.queue(items).await?.wait().await
    }
}

/// Queued writes, committed when [`Committed::wait`] returns.
#[derive(Debug)]
pub struct Committed<R>(oneshot::Receiver<Result<Vec<R>, String>>, &'static str);

impl<R> Committed<R> {
    /// Waits for the commit: a result per queued item.
    pub async fn wait(self) -> Result<Vec<R>, StoreError> {
        self.0
            .await
            .map_err(|_| stopped(self.1))?
            .map_err(StoreError::Other)
    }
}

/// Most meter samples written in one commit.
const MAX_SAMPLES: usize = 5000;
/// Most presence changes written in one commit.
const MAX_PRESENCE: usize = 2000;

/// Meter samples: every MeterValues answer means they are committed.
#[derive(Debug, Clone)]
pub struct SampleBatcher(GroupCommit<MeterSample, ()>);

impl SampleBatcher {
    /// Starts the writer task.
    pub fn start(store: Arc<dyn Store>) -> Self {
        // Not retried: a commit that failed late may have landed, and a
        // sample stored twice is a wrong reading; the charger resends.
        Self(GroupCommit::start(
            "meter samples",
            MAX_SAMPLES,
            false,
            move |samples| {
                let store = store.clone();
                async move {
                    store.insert_meter_samples(&samples).await?;
                    metrics::counter!("plugway_meter_samples_stored_total")
                        .increment(samples.len() as u64);
                    Ok(vec![(); samples.len()])
                }
            },
        ))
    }

    /// Stores samples; returns once they are committed.
    pub async fn store(&self, samples: Vec<MeterSample>) -> Result<(), StoreError> {
        if samples.is_empty() {
            return Ok(());
        }
        self.0.commit(samples).await.map(drop)
    }
}

/// Presence changes (connected, version, boot, heartbeat, connector status,
/// auto-registration) of every connection, in the order they were queued: a reconnect storm
/// costs a few commits a second, not several per charger.
#[derive(Debug, Clone)]
pub struct PresenceWriter(GroupCommit<PresenceChange, bool>);

impl PresenceWriter {
    /// Starts the writer task.
    pub fn start(store: Arc<dyn Store>) -> Self {
        // Retried once, as a failed batch was rolled back: a lost
        // disconnect would leave a charger shown connected. (A commit that
        // landed but was reported failed, by a timeout or a connection lost
        // before its acknowledgement, is applied twice: every change is then
        // the same, but for a status's second, identical history row.)
        Self(GroupCommit::start(
            "presence",
            MAX_PRESENCE,
            true,
            move |changes| {
                let store = store.clone();
                async move { store.apply_presence(&changes).await }
            },
        ))
    }

    /// Writes `changes` in order; returns once they are committed, whether
    /// each found its charge point.
    pub async fn commit(&self, changes: Vec<PresenceChange>) -> Result<Vec<bool>, StoreError> {
        self.0.commit(changes).await
    }

    /// Queues `changes` without waiting for their commit (what nothing is
    /// answered on: a connection opening or closing). The writer logs a
    /// failed commit.
    pub async fn queue(&self, changes: Vec<PresenceChange>) {
        if let Err(e) = self.0.queue(changes).await {
            tracing::warn!(error = %e, "could not record a charge point's presence");
        }
    }
}
