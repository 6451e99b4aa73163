//! The PostgreSQL backend, selected by a `postgres://` or `postgresql://` URL. Its SQL is shared
//! with SQLite ([`super::sql`]); this file holds only what PostgreSQL does differently. Updates
//! lock the offer row (`SELECT … FOR UPDATE`) inside the transaction that rewrites it.
//!
//! The change bus spans replicas: writes call `pg_notify('offers_changes', …)` inside their
//! transaction, and [`Store::subscribe`](super::Store::subscribe) starts (once per store) a `PgListener` task that
//! forwards notifications to an in-process broadcast, reconnecting with back-off and sending
//! [`BusMessage::Resync`] after any reconnection.

use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::{PgListener, PgPool, PgPoolOptions};
use sqlx::{Postgres, Transaction};
use tokio::sync::{Mutex, broadcast};

use super::StoreError;
use crate::bus::{self, BusMessage, Change, PG_CHANNEL};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// The PostgreSQL implementation of [`Store`](super::Store).
#[derive(Debug, Clone)]
pub struct PgStore {
    pool: PgPool,
    bus: broadcast::Sender<BusMessage>,
    /// Wakes the webhook worker after outbox rows were committed.
    outbox_signal: Arc<tokio::sync::Notify>,
    /// Whether the listener task runs (started by the first subscription).
    listening: Arc<Mutex<bool>>,
}

impl PgStore {
    /// Event groups committed at once (see [`crate::ingest`]): one flushes its WAL while the
    /// next inserts. Fewer than the pool's connections, which other requests need too.
    const CONCURRENT_WRITES: usize = 3;

    /// Connects and runs the migrations.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let pool = PgPoolOptions::new()
            .max_connections(10)
            .acquire_timeout(Duration::from_secs(10))
            .connect(url)
            .await?;
        MIGRATOR.run(&pool).await?;
        Ok(Self {
            pool,
            bus: bus::channel(),
            outbox_signal: Arc::default(),
            listening: Arc::new(Mutex::new(false)),
        })
    }

    /// The pool (for tests and tools).
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Locks the row the transaction reads and then rewrites.
    const FOR_UPDATE: &'static str = " FOR UPDATE";

    /// Serializes concurrent first starts: only one of them may see an empty table.
    const LOCK_PROJECTS: Option<&'static str> =
        Some("LOCK TABLE projects IN SHARE ROW EXCLUSIVE MODE");

    async fn begin_write(&self) -> Result<Transaction<'static, Postgres>, StoreError> {
        Ok(self.pool.begin().await?)
    }

    /// Publishes `change` to every replica when `tx` commits (`pg_notify` is delivered on
    /// commit, never for a rolled-back write), then commits.
    async fn commit(
        &self,
        mut tx: Transaction<'static, Postgres>,
        change: Option<Change>,
    ) -> Result<(), StoreError> {
        if let Some(change) = change {
            sqlx::query("SELECT pg_notify($1, $2)")
                .bind(PG_CHANNEL)
                .bind(change.to_payload())
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The elements of a JSON array as text (integers as their digits, cast by the caller).
    /// Parsed as `jsonb`, as [`Self::json_values`] is.
    fn json_scalars(param: &str) -> String {
        format!("jsonb_array_elements_text({param}::jsonb)")
    }

    /// The elements of a JSON array as `jsonb` values, which `->>` reads. `jsonb`, not `json`:
    /// `json` keeps the text, so each `value ->> N` of a row parses its element again (an
    /// event's row reads seven), while `jsonb` parses the array once. Measured on the event
    /// insert: 1.2–1.5× the rows per second (BENCHMARKS.md, issue 9, "ingest").
    fn json_values(param: &str) -> String {
        format!("jsonb_array_elements({param}::jsonb)")
    }

    /// Starts (once per store) the listener task, then subscribes to the local broadcast.
    async fn listen(&self) -> Result<broadcast::Receiver<BusMessage>, StoreError> {
        let mut listening = self.listening.lock().await;
        if !*listening {
            // LISTEN before returning: no change committed after this call can be missed.
            let listener = connect_listener(&self.pool).await?;
            tokio::spawn(listen_loop(
                self.pool.clone(),
                listener,
                self.bus.clone(),
                Arc::clone(&self.listening),
            ));
            *listening = true;
        }
        Ok(self.bus.subscribe())
    }
}

async fn connect_listener(pool: &PgPool) -> Result<PgListener, sqlx::Error> {
    let mut listener = PgListener::connect_with(pool).await?;
    listener.listen(PG_CHANNEL).await?;
    Ok(listener)
}

/// Whether the listener task should go on; when not, marks it stopped (under the same lock
/// `PgStore::listen` holds while it subscribes, so no subscriber is left without a task).
async fn still_wanted(bus: &broadcast::Sender<BusMessage>, running: &Mutex<bool>) -> bool {
    let mut running = running.lock().await;
    if bus.receiver_count() == 0 {
        *running = false;
        return false;
    }
    true
}

/// Forwards notifications to `bus` until nobody subscribes any more or the pool closes.
/// After a lost connection (notifications may have been missed) it sends a resync.
async fn listen_loop(
    pool: PgPool,
    mut listener: PgListener,
    bus: broadcast::Sender<BusMessage>,
    running: Arc<Mutex<bool>>,
) {
    let mut failures: u32 = 0;
    while still_wanted(&bus, &running).await {
        match listener.try_recv().await {
            Ok(Some(notification)) => {
                failures = 0;
                match Change::from_payload(notification.payload()) {
                    Some(change) => {
                        let _ = bus.send(BusMessage::Change(change));
                    }
                    None => tracing::warn!(
                        payload = notification.payload(),
                        "ignoring a malformed change notification"
                    ),
                }
            }
            Ok(None) => {
                // The connection dropped and was re-established: changes may have been missed.
                tracing::warn!("change listener reconnected: resynchronizing");
                let _ = bus.send(BusMessage::Resync);
            }
            Err(e) => {
                tracing::warn!(error = %e, "change listener failed: reconnecting");
                loop {
                    failures = failures.saturating_add(1);
                    let backoff = Duration::from_millis(100u64 << failures.min(6))
                        .min(Duration::from_secs(5));
                    tokio::time::sleep(backoff).await;
                    if pool.is_closed() {
                        *running.lock().await = false;
                        return;
                    }
                    if !still_wanted(&bus, &running).await {
                        return;
                    }
                    match connect_listener(&pool).await {
                        Ok(fresh) => {
                            listener = fresh;
                            let _ = bus.send(BusMessage::Resync);
                            break;
                        }
                        Err(e) => {
                            tracing::warn!(error = %e, "change listener cannot reconnect yet");
                        }
                    }
                }
            }
        }
    }
}

super::sql::sql_store!(PgStore, Postgres);
super::audience_sql::audience_sql_store!(PgStore, Postgres);
super::people_sql::people_sql_store!(PgStore, Postgres);
super::campaign_sql::campaign_sql_store!(PgStore, Postgres);
super::webhooks_sql::webhooks_sql_store!(PgStore, Postgres);
