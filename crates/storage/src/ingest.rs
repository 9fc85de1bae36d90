//! Group commit for webhook deliveries.
//!
//! A delivery must be durable before it is answered, and a durable commit costs an fsync
//! (about 1.3 ms here). One transaction per request would cap ingest near 700/s, so
//! deliveries that arrive while a commit is in flight wait for the next one and are
//! committed together: the fsync is paid once per batch, each caller is answered as soon
//! as the batch holding its delivery has committed.

use crate::{Ingest, IngestOutcome, PreparedIngest, Store, StoreError};
use std::sync::Arc;
use tokio::sync::{Mutex, mpsc, oneshot};
use tokio::task::JoinHandle;

type Reply = oneshot::Sender<Result<IngestOutcome, String>>;

#[derive(Clone)]
pub struct IngestWriter {
    tx: mpsc::Sender<(PreparedIngest, Reply)>,
    pending: Arc<std::sync::atomic::AtomicUsize>,
}

impl IngestWriter {
    /// Starts `writers` committing tasks (1 for SQLite, which has one writer anyway; a few
    /// for PostgreSQL so a slow commit does not stall the next batch). The tasks end once
    /// every `IngestWriter` clone is dropped and the queue is drained.
    pub fn spawn(
        store: Arc<dyn Store>,
        writers: usize,
        max_batch: usize,
    ) -> (Self, Vec<JoinHandle<()>>) {
        let (tx, rx) = mpsc::channel::<(PreparedIngest, Reply)>(max_batch * 4);
        let rx = Arc::new(Mutex::new(rx));
        let handles = (0..writers.max(1))
            .map(|_| {
                let rx = rx.clone();
                let store = store.clone();
                tokio::spawn(async move {
                    loop {
                        let batch = {
                            let mut rx = rx.lock().await;
                            let Some(first) = rx.recv().await else {
                                return;
                            };
                            let mut batch = vec![first];
                            while batch.len() < max_batch {
                                match rx.try_recv() {
                                    Ok(next) => batch.push(next),
                                    Err(_) => break,
                                }
                            }
                            batch
                        };
                        commit(store.as_ref(), batch).await;
                    }
                })
            })
            .collect();
        (
            Self {
                tx,
                pending: Arc::default(),
            },
            handles,
        )
    }

    /// Stores one delivery; returns once it is committed (or known to be a duplicate).
    /// Deliveries submitted and not yet answered: background work on a single-writer
    /// database waits while there are any (webhooks must be answered fast; drafting can lag).
    pub fn pending(&self) -> Arc<std::sync::atomic::AtomicUsize> {
        self.pending.clone()
    }

    pub async fn submit(&self, item: Ingest) -> Result<IngestOutcome, StoreError> {
        // Counted by a guard, so a request dropped mid-way (the client hung up) still
        // uncounts itself; a leaked count would hold the job workers back for good.
        let _pending = Pending::enter(&self.pending);
        self.submit_inner(item).await
    }

    async fn submit_inner(&self, item: Ingest) -> Result<IngestOutcome, StoreError> {
        let item = item.prepare()?;
        let (reply, answer) = oneshot::channel();
        self.tx
            .send((item, reply))
            .await
            .map_err(|_| StoreError::Unavailable("the server is shutting down".into()))?;
        answer
            .await
            .map_err(|_| StoreError::Unavailable("the ingest writer stopped".into()))?
            .map_err(StoreError::Unavailable)
    }
}

struct Pending<'a>(&'a std::sync::atomic::AtomicUsize);

impl<'a> Pending<'a> {
    fn enter(counter: &'a std::sync::atomic::AtomicUsize) -> Self {
        counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Self(counter)
    }
}

impl Drop for Pending<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
    }
}

async fn commit(store: &dyn Store, batch: Vec<(PreparedIngest, Reply)>) {
    let (items, replies): (Vec<PreparedIngest>, Vec<Reply>) = batch.into_iter().unzip();
    match store.ingest(&items).await {
        Ok(outcomes) => {
            for (reply, outcome) in replies.into_iter().zip(outcomes) {
                let _ = reply.send(Ok(outcome));
            }
        }
        Err(err) if items.len() > 1 => {
            // One bad delivery (or a deadlock with another replica) must not fail the
            // others: retry each alone, so only the faulty one gets an error.
            tracing::warn!(error = %err, size = items.len(), "batched ingest failed; retrying one by one");
            for (item, reply) in items.iter().zip(replies) {
                let result = store
                    .ingest(std::slice::from_ref(item))
                    .await
                    .map(|mut o| o.remove(0))
                    .map_err(|e| e.to_string());
                let _ = reply.send(result);
            }
        }
        Err(err) => {
            let _ = replies
                .into_iter()
                .next()
                .map(|r| r.send(Err(err.to_string())));
        }
    }
}
