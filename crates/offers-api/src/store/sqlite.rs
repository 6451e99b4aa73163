//! The SQLite backend (the default): one file, WAL, `busy_timeout` 5 s, foreign keys on, and
//! every writing transaction opened with `BEGIN IMMEDIATE` so it takes the write lock up front
//! (no deadlock-prone lock upgrades when the admin CLI writes while a server runs).

use std::collections::{HashMap, HashSet};
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use offers_core::{Offer, OfferSpec};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{Row, Sqlite, Transaction};
use tokio::sync::broadcast;

use super::{
    ApplyFn, DAY_MS, DayTotals, Draft, DraftPrecondition, IdKind, IdPage, NewEvent, OFFER_COLUMNS,
    OfferFigures, PROJECT_COLUMNS, Project, ProjectSettings, PurgeCounts, RegisterCounts,
    SeenSummary, Store, StoreError, TOTALS_COLUMNS, Totals, UpdateOutcome, audience_type_name,
    dedup, draft_from_row, figures, from_millis, known_table, millis, offer_from_row,
    offers_from_rows, offset_ms, origins_to_json, project_from_row, room_ids, seen_from_rows,
    spec_to_json, totals_from_row, user_ids,
};
use crate::auth::NewProjectKeys;
use crate::bus::{self, BusMessage, Change, ChangeOp};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// The SQLite implementation of [`Store`]. Its change bus is in-process: one SQLite file is
/// served by one API process.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
    bus: broadcast::Sender<BusMessage>,
}

/// Connection options for `url`: a `sqlite:` URL or a plain file path.
pub fn connect_options(url: &str) -> Result<SqliteConnectOptions, StoreError> {
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

    async fn write_tx(&self) -> Result<Transaction<'static, Sqlite>, StoreError> {
        Ok(self.pool.begin_with("BEGIN IMMEDIATE").await?)
    }

    /// Publishes a committed change (nobody listening is fine).
    fn publish(&self, change: Change) {
        let _ = self.bus.send(BusMessage::Change(change));
    }
}

fn json_array(ids: &[String]) -> String {
    serde_json::to_string(ids).unwrap_or_else(|_| "[]".to_owned())
}

async fn insert_project(
    tx: &mut Transaction<'static, Sqlite>,
    name: &str,
    keys: &NewProjectKeys,
    now: DateTime<Utc>,
) -> Result<Project, StoreError> {
    let row = sqlx::query(&format!(
        "INSERT INTO projects (name, api_key, public_key, secret, identity_secret, created_ms) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6) RETURNING {PROJECT_COLUMNS}"
    ))
    .bind(name)
    .bind(&keys.api_key)
    .bind(&keys.public_key)
    .bind(&keys.secret)
    .bind(&keys.identity_secret)
    .bind(millis(now))
    .fetch_one(&mut **tx)
    .await?;
    project_from_row(&row)
}

async fn write_id_lists(
    tx: &mut Transaction<'static, Sqlite>,
    offer_id: i64,
    spec: &OfferSpec,
) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM offer_rooms WHERE offer_id = ?1")
        .bind(offer_id)
        .execute(&mut **tx)
        .await?;
    sqlx::query("DELETE FROM offer_users WHERE offer_id = ?1")
        .bind(offer_id)
        .execute(&mut **tx)
        .await?;
    sqlx::query(
        "INSERT INTO offer_rooms (offer_id, room_id) SELECT ?1, value FROM json_each(?2) WHERE true \
         ON CONFLICT DO NOTHING",
    )
    .bind(offer_id)
    .bind(json_array(&room_ids(spec)))
    .execute(&mut **tx)
    .await?;
    sqlx::query(
        "INSERT INTO offer_users (offer_id, user_id) SELECT ?1, value FROM json_each(?2) WHERE true \
         ON CONFLICT DO NOTHING",
    )
    .bind(offer_id)
    .bind(json_array(&user_ids(spec)))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

async fn insert_offer(
    tx: &mut Transaction<'static, Sqlite>,
    project_id: i64,
    spec: &OfferSpec,
    now: DateTime<Utc>,
) -> Result<Offer, StoreError> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO offers (project_id, spec, audience_type, start_ms, end_ms, created_ms, updated_ms) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6) RETURNING id",
    )
    .bind(project_id)
    .bind(spec_to_json(spec)?)
    .bind(audience_type_name(spec))
    .bind(millis(spec.start_time))
    .bind(spec.end_time.map(millis))
    .bind(millis(now))
    .fetch_one(&mut **tx)
    .await?;
    write_id_lists(tx, id, spec).await?;
    // As stored: milliseconds.
    Ok(Offer::created(id, spec.clone(), from_millis(millis(now))?))
}

fn id_array(ids: &[i64]) -> String {
    serde_json::to_string(ids).unwrap_or_else(|_| "[]".to_owned())
}

#[async_trait]
impl Store for SqliteStore {
    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn token_secret(&self) -> Result<String, StoreError> {
        let secret: Option<String> =
            sqlx::query_scalar("SELECT value FROM settings WHERE key = 'token_secret'")
                .fetch_optional(&self.pool)
                .await?;
        secret.ok_or_else(|| StoreError::Corrupt("settings.token_secret is missing".into()))
    }

    async fn create_project(
        &self,
        name: &str,
        keys: &NewProjectKeys,
        now: DateTime<Utc>,
    ) -> Result<Project, StoreError> {
        let mut tx = self.write_tx().await?;
        let project = insert_project(&mut tx, name, keys, now).await?;
        tx.commit().await?;
        Ok(project)
    }

    async fn bootstrap_demo(
        &self,
        keys: &NewProjectKeys,
        offer: &OfferSpec,
        now: DateTime<Utc>,
    ) -> Result<Option<(Project, Offer)>, StoreError> {
        let mut tx = self.write_tx().await?;
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM projects")
            .fetch_one(&mut *tx)
            .await?;
        if count > 0 {
            tx.rollback().await?;
            return Ok(None);
        }
        let project = insert_project(&mut tx, "Demo", keys, now).await?;
        let offer = insert_offer(&mut tx, project.id, offer, now).await?;
        sqlx::query(
            "INSERT INTO settings (key, value) VALUES ('demo_project_id', ?1) \
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        )
        .bind(project.id.to_string())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        self.publish(Change::offer(project.id, offer.id, ChangeOp::Created));
        Ok(Some((project, offer)))
    }

    async fn demo_project(&self) -> Result<Option<Project>, StoreError> {
        let demo = sqlx::query(&format!(
            "SELECT {PROJECT_COLUMNS} FROM projects WHERE id = \
             (SELECT CAST(value AS INTEGER) FROM settings WHERE key = 'demo_project_id')"
        ))
        .fetch_optional(&self.pool)
        .await?;
        let row = match demo {
            Some(row) => Some(row),
            None => {
                sqlx::query(&format!(
                    "SELECT {PROJECT_COLUMNS} FROM projects ORDER BY id LIMIT 1"
                ))
                .fetch_optional(&self.pool)
                .await?
            }
        };
        row.as_ref().map(project_from_row).transpose()
    }

    async fn project_by_id(&self, id: i64) -> Result<Option<Project>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {PROJECT_COLUMNS} FROM projects WHERE id = ?1"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(project_from_row).transpose()
    }

    async fn project_by_public_key(&self, key: &str) -> Result<Option<Project>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {PROJECT_COLUMNS} FROM projects WHERE public_key = ?1"
        ))
        .bind(key)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(project_from_row).transpose()
    }

    async fn list_offers(
        &self,
        project_id: i64,
        limit: i64,
        offset: i64,
    ) -> Result<Vec<Offer>, StoreError> {
        let rows = sqlx::query(
            &format!("SELECT {OFFER_COLUMNS} FROM offers WHERE project_id = ?1 ORDER BY id DESC LIMIT ?2 OFFSET ?3"),
        )
        .bind(project_id)
        .bind(limit)
        .bind(offset)
        .fetch_all(&self.pool)
        .await?;
        offers_from_rows(&rows)
    }

    async fn get_offer(&self, project_id: i64, id: i64) -> Result<Option<Offer>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {OFFER_COLUMNS} FROM offers WHERE project_id = ?1 AND id = ?2"
        ))
        .bind(project_id)
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(offer_from_row).transpose()
    }

    async fn create_offer(
        &self,
        project_id: i64,
        spec: &OfferSpec,
        now: DateTime<Utc>,
    ) -> Result<Offer, StoreError> {
        let mut tx = self.write_tx().await?;
        let offer = insert_offer(&mut tx, project_id, spec, now).await?;
        tx.commit().await?;
        self.publish(Change::offer(project_id, offer.id, ChangeOp::Created));
        Ok(offer)
    }

    async fn update_offer(
        &self,
        project_id: i64,
        id: i64,
        apply: ApplyFn<'_>,
        now: DateTime<Utc>,
    ) -> Result<UpdateOutcome, StoreError> {
        let mut tx = self.write_tx().await?;
        let stored = sqlx::query(&format!(
            "SELECT {OFFER_COLUMNS} FROM offers WHERE project_id = ?1 AND id = ?2"
        ))
        .bind(project_id)
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(stored) = stored else {
            tx.rollback().await?;
            return Ok(UpdateOutcome::NotFound);
        };
        let current = offer_from_row(&stored)?;
        let spec = match apply(&current) {
            Ok(spec) => spec,
            Err(errors) => {
                tx.rollback().await?;
                return Ok(UpdateOutcome::Invalid(errors));
            }
        };
        sqlx::query(
            "UPDATE offers SET spec = ?1, audience_type = ?2, start_ms = ?3, end_ms = ?4, \
             updated_ms = ?5 WHERE project_id = ?6 AND id = ?7",
        )
        .bind(spec_to_json(&spec)?)
        .bind(audience_type_name(&spec))
        .bind(millis(spec.start_time))
        .bind(spec.end_time.map(millis))
        .bind(millis(now))
        .bind(project_id)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        write_id_lists(&mut tx, id, &spec).await?;
        tx.commit().await?;
        self.publish(Change::offer(project_id, id, ChangeOp::Updated));
        Ok(UpdateOutcome::Updated(Box::new(Offer {
            spec,
            updated_at: from_millis(millis(now))?,
            ..current
        })))
    }

    async fn delete_offer(&self, project_id: i64, id: i64) -> Result<bool, StoreError> {
        let mut tx = self.write_tx().await?;
        let done = sqlx::query("DELETE FROM offers WHERE project_id = ?1 AND id = ?2")
            .bind(project_id)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        let deleted = done.rows_affected() > 0;
        if deleted {
            self.publish(Change::offer(project_id, id, ChangeOp::Deleted));
        }
        Ok(deleted)
    }

    async fn known_among(
        &self,
        project_id: i64,
        kind: IdKind,
        ids: &[String],
    ) -> Result<HashSet<String>, StoreError> {
        if ids.is_empty() {
            return Ok(HashSet::new());
        }
        let table = known_table(kind);
        let known: Vec<String> = sqlx::query_scalar(&format!(
            "SELECT external_id FROM {table} WHERE project_id = ?1 \
             AND external_id IN (SELECT value FROM json_each(?2))"
        ))
        .bind(project_id)
        .bind(json_array(ids))
        .fetch_all(&self.pool)
        .await?;
        Ok(known.into_iter().collect())
    }

    async fn register_ids(
        &self,
        project_id: i64,
        kind: IdKind,
        ids: &[String],
        now: DateTime<Utc>,
    ) -> Result<RegisterCounts, StoreError> {
        let unique = dedup(ids.iter().cloned());
        if unique.is_empty() {
            return Ok(RegisterCounts {
                added: 0,
                already_known: 0,
            });
        }
        let table = known_table(kind);
        let mut tx = self.write_tx().await?;
        let done = sqlx::query(&format!(
            "INSERT INTO {table} (project_id, external_id, created_ms) \
             SELECT ?1, value, ?2 FROM json_each(?3) WHERE true ON CONFLICT DO NOTHING"
        ))
        .bind(project_id)
        .bind(millis(now))
        .bind(json_array(&unique))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(RegisterCounts::of(unique.len(), done.rows_affected()))
    }

    async fn list_known(
        &self,
        project_id: i64,
        kind: IdKind,
        limit: i64,
        offset: i64,
    ) -> Result<IdPage, StoreError> {
        let table = known_table(kind);
        let total: i64 = sqlx::query_scalar(&format!(
            "SELECT COUNT(*) FROM {table} WHERE project_id = ?1"
        ))
        .bind(project_id)
        .fetch_one(&self.pool)
        .await?;
        let ids: Vec<String> = sqlx::query_scalar(&format!(
            "SELECT external_id FROM {table} WHERE project_id = ?1 \
             ORDER BY created_ms, external_id LIMIT ?2 OFFSET ?3"
        ))
        .bind(project_id)
        .bind(limit)
        .bind(offset)
        .fetch_all(&self.pool)
        .await?;
        Ok(IdPage { ids, total })
    }

    async fn set_opt_out(
        &self,
        project_id: i64,
        user_id: &str,
        opted_out: bool,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut tx = self.write_tx().await?;
        if opted_out {
            sqlx::query(
                "INSERT INTO opt_outs (project_id, user_id, created_ms) VALUES (?1, ?2, ?3) \
                 ON CONFLICT DO NOTHING",
            )
            .bind(project_id)
            .bind(user_id)
            .bind(millis(now))
            .execute(&mut *tx)
            .await?;
        } else {
            sqlx::query("DELETE FROM opt_outs WHERE project_id = ?1 AND user_id = ?2")
                .bind(project_id)
                .bind(user_id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        self.publish(Change::opt_out(project_id, user_id));
        Ok(())
    }

    async fn is_opted_out(&self, project_id: i64, user_id: &str) -> Result<bool, StoreError> {
        let found: Option<i64> =
            sqlx::query_scalar("SELECT 1 FROM opt_outs WHERE project_id = ?1 AND user_id = ?2")
                .bind(project_id)
                .bind(user_id)
                .fetch_optional(&self.pool)
                .await?;
        Ok(found.is_some())
    }

    async fn opted_out_users(&self, project_id: i64) -> Result<Vec<String>, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT user_id FROM opt_outs WHERE project_id = ?1")
                .bind(project_id)
                .fetch_all(&self.pool)
                .await?,
        )
    }

    async fn update_project_settings(
        &self,
        id: i64,
        settings: &ProjectSettings,
    ) -> Result<Option<Project>, StoreError> {
        let mut tx = self.write_tx().await?;
        let row = sqlx::query(&format!(
            "UPDATE projects SET \
             require_user_signature = COALESCE(?1, require_user_signature), \
             allowed_origins = COALESCE(?2, allowed_origins) \
             WHERE id = ?3 RETURNING {PROJECT_COLUMNS}"
        ))
        .bind(settings.require_user_signature)
        .bind(settings.allowed_origins.as_deref().map(origins_to_json))
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
        let project = row.as_ref().map(project_from_row).transpose()?;
        tx.commit().await?;
        if project.is_some() {
            self.publish(Change::project(id));
        }
        Ok(project)
    }

    async fn unended_offers(
        &self,
        project_id: i64,
        now: DateTime<Utc>,
    ) -> Result<Vec<Offer>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, spec, created_ms, updated_ms FROM offers \
             WHERE project_id = ?1 AND (end_ms IS NULL OR end_ms > ?2) ORDER BY id DESC",
        )
        .bind(project_id)
        .bind(millis(now))
        .fetch_all(&self.pool)
        .await?;
        offers_from_rows(&rows)
    }

    async fn offer_ids_among(
        &self,
        project_id: i64,
        ids: &[i64],
    ) -> Result<HashSet<i64>, StoreError> {
        if ids.is_empty() {
            return Ok(HashSet::new());
        }
        let found: Vec<i64> = sqlx::query_scalar(
            "SELECT id FROM offers WHERE project_id = ?1 \
             AND id IN (SELECT value FROM json_each(?2))",
        )
        .bind(project_id)
        .bind(id_array(ids))
        .fetch_all(&self.pool)
        .await?;
        Ok(found.into_iter().collect())
    }

    async fn insert_events(
        &self,
        project_id: i64,
        events: &[NewEvent],
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        if events.is_empty() {
            return Ok(0);
        }
        let rows: Vec<serde_json::Value> = events
            .iter()
            .map(|e| {
                serde_json::json!([
                    e.id,
                    e.offer_id,
                    e.kind.as_str(),
                    e.room,
                    e.user,
                    millis(e.at)
                ])
            })
            .collect();
        let mut tx = self.write_tx().await?;
        let done = sqlx::query(
            "INSERT INTO events (project_id, event_id, offer_id, kind, room_id, user_id, at_ms, received_ms) \
             SELECT ?1, value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4, value ->> 5, ?2 \
             FROM json_each(?3) WHERE true ON CONFLICT DO NOTHING",
        )
        .bind(project_id)
        .bind(millis(now))
        .bind(serde_json::Value::Array(rows).to_string())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(done.rows_affected())
    }

    async fn offer_figures(
        &self,
        project_id: i64,
        offer_id: i64,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        utc_offset_minutes: i32,
    ) -> Result<OfferFigures, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT (at_ms + ?5) / {DAY_MS} AS day, {TOTALS_COLUMNS} FROM events \
             WHERE project_id = ?1 AND offer_id = ?2 AND at_ms >= ?3 AND at_ms < ?4 \
             GROUP BY day ORDER BY day"
        ))
        .bind(project_id)
        .bind(offer_id)
        .bind(millis(from))
        .bind(millis(to))
        .bind(offset_ms(utc_offset_minutes))
        .fetch_all(&self.pool)
        .await?;
        let days = rows
            .iter()
            .map(|row| {
                Ok(DayTotals {
                    day: row.try_get("day")?,
                    totals: totals_from_row(row)?,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        let unique_users: i64 = sqlx::query_scalar(
            "SELECT COUNT(DISTINCT user_id) FROM events WHERE project_id = ?1 AND offer_id = ?2 \
             AND kind = 'impression' AND at_ms >= ?3 AND at_ms < ?4",
        )
        .bind(project_id)
        .bind(offer_id)
        .bind(millis(from))
        .bind(millis(to))
        .fetch_one(&self.pool)
        .await?;
        Ok(figures(days, unique_users))
    }

    async fn offer_totals(
        &self,
        project_id: i64,
        offer_ids: &[i64],
    ) -> Result<HashMap<i64, Totals>, StoreError> {
        if offer_ids.is_empty() {
            return Ok(HashMap::new());
        }
        let rows = sqlx::query(&format!(
            "SELECT offer_id, {TOTALS_COLUMNS} FROM events WHERE project_id = ?1 \
             AND offer_id IN (SELECT value FROM json_each(?2)) GROUP BY offer_id"
        ))
        .bind(project_id)
        .bind(id_array(offer_ids))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| Ok((row.try_get("offer_id")?, totals_from_row(row)?)))
            .collect()
    }

    async fn user_impressions(
        &self,
        project_id: i64,
        user_id: &str,
        offer_ids: &[i64],
        until: DateTime<Utc>,
    ) -> Result<HashMap<i64, SeenSummary>, StoreError> {
        if offer_ids.is_empty() {
            return Ok(HashMap::new());
        }
        let rows = sqlx::query(
            "SELECT offer_id, COUNT(*) AS n, MAX(at_ms) AS last_ms FROM events \
             WHERE project_id = ?1 AND user_id = ?2 AND kind = 'impression' AND at_ms <= ?3 \
             AND offer_id IN (SELECT value FROM json_each(?4)) GROUP BY offer_id",
        )
        .bind(project_id)
        .bind(user_id)
        .bind(millis(until))
        .bind(id_array(offer_ids))
        .fetch_all(&self.pool)
        .await?;
        seen_from_rows(&rows)
    }

    async fn get_draft(&self, project_id: i64) -> Result<Option<Draft>, StoreError> {
        let row = sqlx::query(
            "SELECT draft, editing, etag, updated_ms FROM drafts WHERE project_id = ?1",
        )
        .bind(project_id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(draft_from_row).transpose()
    }

    async fn put_draft(
        &self,
        project_id: i64,
        draft: &str,
        editing: Option<i64>,
        precondition: &DraftPrecondition,
        etag: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<Draft>, StoreError> {
        const COLUMNS: &str = "draft, editing, etag, updated_ms";
        let sql = match precondition {
            DraftPrecondition::None => format!(
                "INSERT INTO drafts (project_id, draft, editing, etag, updated_ms) \
                 VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (project_id) DO UPDATE SET \
                 draft = excluded.draft, editing = excluded.editing, etag = excluded.etag, \
                 updated_ms = excluded.updated_ms RETURNING {COLUMNS}"
            ),
            DraftPrecondition::Absent => format!(
                "INSERT INTO drafts (project_id, draft, editing, etag, updated_ms) \
                 VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (project_id) DO NOTHING \
                 RETURNING {COLUMNS}"
            ),
            DraftPrecondition::Exists => format!(
                "UPDATE drafts SET draft = ?2, editing = ?3, etag = ?4, updated_ms = ?5 \
                 WHERE project_id = ?1 RETURNING {COLUMNS}"
            ),
            DraftPrecondition::EtagIn(_) => format!(
                "UPDATE drafts SET draft = ?2, editing = ?3, etag = ?4, updated_ms = ?5 \
                 WHERE project_id = ?1 AND etag IN (SELECT value FROM json_each(?6)) \
                 RETURNING {COLUMNS}"
            ),
        };
        let mut query = sqlx::query(&sql)
            .bind(project_id)
            .bind(draft)
            .bind(editing)
            .bind(etag)
            .bind(millis(now));
        if let DraftPrecondition::EtagIn(tags) = precondition {
            query = query.bind(json_array(tags));
        }
        let mut tx = self.write_tx().await?;
        let row = query.fetch_optional(&mut *tx).await?;
        let saved = row.as_ref().map(draft_from_row).transpose()?;
        tx.commit().await?;
        Ok(saved)
    }

    async fn delete_draft(
        &self,
        project_id: i64,
        precondition: &DraftPrecondition,
    ) -> Result<bool, StoreError> {
        let query = match precondition {
            DraftPrecondition::Absent => return Ok(false),
            DraftPrecondition::None | DraftPrecondition::Exists => {
                sqlx::query("DELETE FROM drafts WHERE project_id = ?1").bind(project_id)
            }
            DraftPrecondition::EtagIn(tags) => sqlx::query(
                "DELETE FROM drafts WHERE project_id = ?1 \
                 AND etag IN (SELECT value FROM json_each(?2))",
            )
            .bind(project_id)
            .bind(json_array(tags)),
        };
        let mut tx = self.write_tx().await?;
        let done = query.execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(done.rows_affected() > 0)
    }

    async fn purge_before(&self, cutoff: DateTime<Utc>) -> Result<PurgeCounts, StoreError> {
        let mut tx = self.write_tx().await?;
        let events = sqlx::query("DELETE FROM events WHERE at_ms < ?1")
            .bind(millis(cutoff))
            .execute(&mut *tx)
            .await?;
        let offers = sqlx::query("DELETE FROM offers WHERE end_ms IS NOT NULL AND end_ms < ?1")
            .bind(millis(cutoff))
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(PurgeCounts {
            events: events.rows_affected(),
            offers: offers.rows_affected(),
        })
    }

    async fn subscribe(&self) -> Result<broadcast::Receiver<BusMessage>, StoreError> {
        Ok(self.bus.subscribe())
    }
}
