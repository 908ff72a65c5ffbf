//! Group commit. Every MeterValues answer waits until its samples are
//! durable, but concurrent chargers share one database commit: a writer task
//! takes everything queued while the previous commit ran and stores it in one
//! transaction, then releases all the waiting answers at once.

use std::sync::Arc;

use plugway_store::{MeterSample, Store, StoreError};
use tokio::sync::{mpsc, oneshot};

/// Most samples written in one commit.
const MAX_BATCH: usize = 5000;

type Ack = oneshot::Sender<Result<(), String>>;

/// Queues samples for the writer task.
#[derive(Debug, Clone)]
pub struct SampleBatcher {
    tx: mpsc::Sender<(Vec<MeterSample>, Ack)>,
}

impl SampleBatcher {
    /// Starts the writer task.
    pub fn start(store: Arc<dyn Store>) -> Self {
        let (tx, mut rx) = mpsc::channel::<(Vec<MeterSample>, Ack)>(4096);
        tokio::spawn(async move {
            while let Some(first) = rx.recv().await {
                let mut samples = first.0;
                let mut acks = vec![first.1];
                while samples.len() < MAX_BATCH {
                    match rx.try_recv() {
                        Ok((more, ack)) => {
                            samples.extend(more);
                            acks.push(ack);
                        }
                        Err(_) => break,
                    }
                }
                let result = store
                    .insert_meter_samples(&samples)
                    .await
                    .map_err(|e| e.to_string());
                metrics::counter!("plugway_meter_samples_stored_total")
                    .increment(samples.len() as u64);
                metrics::histogram!("plugway_meter_commit_batch_size").record(acks.len() as f64);
                for ack in acks {
                    let _ = ack.send(result.clone());
                }
            }
        });
        Self { tx }
    }

    /// Stores samples; returns once they are committed.
    pub async fn store(&self, samples: Vec<MeterSample>) -> Result<(), StoreError> {
        if samples.is_empty() {
            return Ok(());
        }
        let (ack, done) = oneshot::channel();
        self.tx
            .send((samples, ack))
            .await
            .map_err(|_| StoreError::Unavailable("meter writer stopped".into()))?;
        done.await
            .map_err(|_| StoreError::Unavailable("meter writer stopped".into()))?
            .map_err(StoreError::Other)
    }
}
