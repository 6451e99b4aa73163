//! The SQLite backend (the default): one file, WAL, `busy_timeout` 5 s, foreign keys on, and
//! every writing transaction opened with `BEGIN IMMEDIATE` so it takes the write lock up front
//! (no deadlock-prone lock upgrades when the admin CLI writes while a server runs). Its SQL is
//! shared with PostgreSQL ([`super::sql`]); this file holds only what SQLite does differently.

use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{Sqlite, Transaction};
use tokio::sync::broadcast;

use super::StoreError;
use crate::bus::{self, BusMessage, Change};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// The SQLite implementation of [`Store`](super::Store). Its change bus is in-process: one
/// SQLite file is served by one API process.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
    bus: broadcast::Sender<BusMessage>,
}

/// Connection options for `url`: a `sqlite:` URL or a plain file path.
pub(super) fn connect_options(url: &str) -> Result<SqliteConnectOptions, StoreError> {
    let base = if url.starts_with("sqlite:") {
        SqliteConnectOptions::from_str(url).map_err(|e| StoreError::BadUrl(e.to_string()))?
    } else if url.contains("://") {
        return Err(StoreError::BadUrl(format!(
            "`{url}`: expected postgres://…, postgresql://…, sqlite:… or a file path"
        )));
    } else {
        SqliteConnectOptions::new().filename(url)
    };
    Ok(base
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .busy_timeout(Duration::from_secs(5))
        .foreign_keys(true))
}

impl SqliteStore {
    /// One writer per database file: concurrent write transactions would only queue.
    const CONCURRENT_WRITES: usize = 1;

    /// Opens (creating if missing) the database and runs the migrations.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let options = connect_options(url)?;
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options)
            .await?;
        MIGRATOR.run(&pool).await?;
        Ok(Self {
            pool,
            bus: bus::channel(),
        })
    }

    /// The pool (for tests and tools).
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// The transaction already holds the write lock (`BEGIN IMMEDIATE`): no row locks.
    const FOR_UPDATE: &'static str = "";

    /// Nothing to lock: `BEGIN IMMEDIATE` serializes writers.
    const LOCK_PROJECTS: Option<&'static str> = None;

    async fn begin_write(&self) -> Result<Transaction<'static, Sqlite>, StoreError> {
        Ok(self.pool.begin_with("BEGIN IMMEDIATE").await?)
    }

    /// Commits, then publishes `change` in-process (nobody listening is fine).
    async fn commit(
        &self,
        tx: Transaction<'static, Sqlite>,
        change: Option<Change>,
    ) -> Result<(), StoreError> {
        tx.commit().await?;
        if let Some(change) = change {
            let _ = self.bus.send(BusMessage::Change(change));
        }
        Ok(())
    }

    /// `json_each`: scalars come out as SQL text or integers.
    fn json_scalars(param: &str) -> String {
        format!("json_each({param})")
    }

    /// `json_each`: nested arrays come out as JSON text, which `->>` reads.
    fn json_values(param: &str) -> String {
        format!("json_each({param})")
    }

    async fn listen(&self) -> Result<broadcast::Receiver<BusMessage>, StoreError> {
        Ok(self.bus.subscribe())
    }
}

super::sql::sql_store!(SqliteStore, Sqlite);
super::audience_sql::audience_sql_store!(SqliteStore, Sqlite);
super::people_sql::people_sql_store!(SqliteStore, Sqlite);
super::campaign_sql::campaign_sql_store!(SqliteStore, Sqlite);
