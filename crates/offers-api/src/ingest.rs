//! Group commit for widget events: one writer task per process collects the batches that
//! requests hand it while the previous commit runs, and stores them together with
//! [`Store::insert_event_batches`] (one transaction, so one commit for many requests). Each
//! request is answered only after the transaction holding its events committed, with its own
//! count of new events: what a client is told was stored is what is stored.
//!
//! Nothing waits to fill a group: under light load a batch is committed alone, as soon as it
//! arrives; under load the queue fills while the commits run and the next group takes it all
//! (up to [`MAX_GROUP_EVENTS`]). As many groups are committed at once as the store can use
//! ([`Store::concurrent_writes`]: one on SQLite; on PostgreSQL one group's WAL flush overlaps
//! the next one's inserts). Two batches of one project sharing an event id never go in one
//! group, so each batch's count stays exact; in concurrent groups the database's unique key
//! decides which one stores it (the other waits for that commit and counts it as seen).
//!
//! A batch also carries the host's tracked events (`Offers.track`), stored in the same
//! transaction after the widget events, with the conversions among them
//! ([`Store::insert_event_batches`] is the one place a group's rows are written).

use std::collections::HashSet;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use tokio::sync::{Semaphore, mpsc, oneshot};

use crate::store::{BatchCounts, EventBatch, Store, StoreError};

/// The most events committed in one transaction.
pub(crate) const MAX_GROUP_EVENTS: usize = 20_000;
/// Batches waiting for the writer; beyond, requests wait for room (backpressure).
const QUEUE: usize = 4_096;

/// Why a batch was not stored.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// The group's transaction failed: nothing of it was stored.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The writer has stopped (the server is shutting down).
    #[error("the event writer has stopped")]
    Stopped,
}

impl From<IngestError> for crate::ApiError {
    fn from(e: IngestError) -> Self {
        match e {
            IngestError::Store(e) => e.into(),
            IngestError::Stopped => StoreError::Unavailable(sqlx::Error::PoolClosed).into(),
        }
    }
}

/// One request's batch and where its answer goes.
#[derive(Debug)]
struct Job {
    batch: EventBatch,
    done: oneshot::Sender<Result<BatchCounts, IngestError>>,
}

impl Job {
    /// The batch's keys: (project, whether tracked, id).
    fn keys(&self) -> impl Iterator<Item = (i64, bool, &str)> {
        let project = self.batch.project_id;
        self.batch
            .events
            .iter()
            .map(move |e| (project, false, e.id.as_str()))
            .chain(
                self.batch
                    .tracked
                    .iter()
                    .map(move |t| (project, true, t.id.as_str())),
            )
    }

    fn len(&self) -> usize {
        self.batch.events.len() + self.batch.tracked.len()
    }
}

/// The handle requests write through (cheap to clone).
#[derive(Debug, Clone)]
pub struct EventWriter {
    jobs: mpsc::Sender<Job>,
}

impl EventWriter {
    /// Starts the writer task; it runs until every handle is dropped, committing what was
    /// queued.
    pub fn start(store: Arc<dyn Store>) -> Self {
        let (jobs, queue) = mpsc::channel(QUEUE);
        let commits = store.concurrent_writes().max(1);
        tokio::spawn(run(store, queue, commits));
        Self { jobs }
    }

    /// Stores the batch's events and tracked events (ids the project stored before are
    /// skipped) and returns how many of each were new, once they are committed.
    pub async fn write(&self, batch: EventBatch) -> Result<BatchCounts, IngestError> {
        if batch.events.is_empty() && batch.tracked.is_empty() {
            return Ok(BatchCounts::default());
        }
        let (done, answer) = oneshot::channel();
        self.jobs
            .send(Job { batch, done })
            .await
            .map_err(|_| IngestError::Stopped)?;
        answer.await.map_err(|_| IngestError::Stopped)?
    }
}

async fn run(store: Arc<dyn Store>, mut queue: mpsc::Receiver<Job>, commits: usize) {
    let slots = Arc::new(Semaphore::new(commits));
    let mut carried: Option<Job> = None;
    loop {
        // A free commit first: meanwhile the batches that arrive wait in the queue, and the
        // group below takes them together.
        let Ok(slot) = Arc::clone(&slots).acquire_owned().await else {
            return;
        };
        let first = match carried.take() {
            Some(job) => job,
            None => match queue.recv().await {
                Some(job) => job,
                None => break,
            },
        };
        let mut group = Group::default();
        group.add(first);
        while group.events < MAX_GROUP_EVENTS {
            let Ok(job) = queue.try_recv() else { break };
            if group.conflicts(&job) {
                carried = Some(job);
                break;
            }
            group.add(job);
        }
        let store = Arc::clone(&store);
        tokio::spawn(async move {
            group.commit(store.as_ref()).await;
            drop(slot);
        });
    }
    // Every handle is gone: wait for the commits still running.
    let all = u32::try_from(commits).unwrap_or(u32::MAX);
    let _ = slots.acquire_many(all).await;
}

/// The batches committed together.
#[derive(Debug, Default)]
struct Group {
    batches: Vec<EventBatch>,
    answers: Vec<oneshot::Sender<Result<BatchCounts, IngestError>>>,
    ids: HashSet<(i64, bool, String)>,
    events: usize,
}

impl Group {
    fn conflicts(&self, job: &Job) -> bool {
        job.keys()
            .any(|(p, tracked, id)| self.ids.contains(&(p, tracked, id.to_owned())))
    }

    fn add(&mut self, job: Job) {
        self.events += job.len();
        self.ids.extend(
            job.keys()
                .map(|(p, tracked, id)| (p, tracked, id.to_owned())),
        );
        self.batches.push(job.batch);
        self.answers.push(job.done);
    }

    async fn commit(self, store: &dyn Store) {
        let now: DateTime<Utc> = Utc::now();
        match store.insert_event_batches(&self.batches, now).await {
            Ok(added) => {
                for (answer, n) in self.answers.into_iter().zip(added) {
                    let _ = answer.send(Ok(n));
                }
            }
            Err(e) => {
                tracing::warn!(error = ?e, batches = self.answers.len(), "cannot store events");
                for answer in self.answers {
                    let _ = answer.send(Err(IngestError::Store(same_error(&e))));
                }
            }
        }
    }
}

/// The same failure for each request of a failed group (sqlx errors cannot be cloned: the
/// original, with its source, is logged once above; each request gets one of the same kind).
fn same_error(e: &StoreError) -> StoreError {
    match e {
        StoreError::Unavailable(_) => StoreError::Unavailable(sqlx::Error::PoolTimedOut),
        StoreError::Database(e) => StoreError::Database(sqlx::Error::Protocol(e.to_string())),
        StoreError::Migrate(e) => StoreError::Database(sqlx::Error::Protocol(e.to_string())),
        StoreError::Corrupt(m) => StoreError::Corrupt(m.clone()),
        StoreError::BadUrl(m) => StoreError::BadUrl(m.clone()),
    }
}
