//! The PostgreSQL backend, selected by a `postgres://` or `postgresql://` URL. Updates lock the
//! offer row (`SELECT … FOR UPDATE`) inside the transaction that rewrites it.
//!
//! The change bus spans replicas: writes call `pg_notify('offers_changes', …)` inside their
//! transaction, and [`Store::subscribe`] starts (once per store) a `PgListener` task that
//! forwards notifications to an in-process broadcast, reconnecting with back-off and sending
//! [`BusMessage::Resync`] after any reconnection.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use offers_core::{Offer, OfferSpec};
use sqlx::postgres::{PgListener, PgPool, PgPoolOptions};
use sqlx::{Postgres, Row, Transaction};
use tokio::sync::{Mutex, broadcast};

use super::{
    ApplyFn, DAY_MS, DayTotals, Draft, DraftPrecondition, IdKind, IdPage, NewEvent, OFFER_COLUMNS,
    OfferFigures, PROJECT_COLUMNS, Project, ProjectSettings, PurgeCounts, RegisterCounts,
    SeenSummary, Store, StoreError, TOTALS_COLUMNS, Totals, UpdateOutcome, audience_type_name,
    dedup, draft_from_row, figures, from_millis, known_table, millis, offer_from_row,
    offers_from_rows, offset_ms, origins_to_json, project_from_row, room_ids, seen_from_rows,
    spec_to_json, totals_from_row, user_ids,
};
use crate::auth::NewProjectKeys;
use crate::bus::{self, BusMessage, Change, ChangeOp, PG_CHANNEL};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// The PostgreSQL implementation of [`Store`].
#[derive(Debug, Clone)]
pub struct PgStore {
    pool: PgPool,
    bus: broadcast::Sender<BusMessage>,
    /// Whether the listener task runs (started by the first [`Store::subscribe`]).
    listening: Arc<Mutex<bool>>,
}

impl PgStore {
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
            listening: Arc::new(Mutex::new(false)),
        })
    }

    /// The pool (for tests and tools).
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    async fn write_tx(&self) -> Result<Transaction<'static, Postgres>, StoreError> {
        Ok(self.pool.begin().await?)
    }
}

/// Publishes `change` to every replica when `tx` commits (and never if it rolls back).
async fn notify(
    tx: &mut Transaction<'static, Postgres>,
    change: &Change,
) -> Result<(), StoreError> {
    sqlx::query("SELECT pg_notify($1, $2)")
        .bind(PG_CHANNEL)
        .bind(change.to_payload())
        .execute(&mut **tx)
        .await?;
    Ok(())
}

async fn listen(pool: &PgPool) -> Result<PgListener, sqlx::Error> {
    let mut listener = PgListener::connect_with(pool).await?;
    listener.listen(PG_CHANNEL).await?;
    Ok(listener)
}

/// Whether the listener task should go on; when not, marks it stopped (under the same lock
/// [`Store::subscribe`] holds while it subscribes, so no subscriber is left without a task).
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
                    match listen(&pool).await {
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

async fn insert_project(
    tx: &mut Transaction<'static, Postgres>,
    name: &str,
    keys: &NewProjectKeys,
    now: DateTime<Utc>,
) -> Result<Project, StoreError> {
    let row = sqlx::query(&format!(
        "INSERT INTO projects (name, api_key, public_key, secret, identity_secret, created_ms) \
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING {PROJECT_COLUMNS}"
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
    tx: &mut Transaction<'static, Postgres>,
    offer_id: i64,
    spec: &OfferSpec,
) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM offer_rooms WHERE offer_id = $1")
        .bind(offer_id)
        .execute(&mut **tx)
        .await?;
    sqlx::query("DELETE FROM offer_users WHERE offer_id = $1")
        .bind(offer_id)
        .execute(&mut **tx)
        .await?;
    sqlx::query(
        "INSERT INTO offer_rooms (offer_id, room_id) SELECT $1, x FROM unnest($2::text[]) AS x \
         ON CONFLICT DO NOTHING",
    )
    .bind(offer_id)
    .bind(room_ids(spec))
    .execute(&mut **tx)
    .await?;
    sqlx::query(
        "INSERT INTO offer_users (offer_id, user_id) SELECT $1, x FROM unnest($2::text[]) AS x \
         ON CONFLICT DO NOTHING",
    )
    .bind(offer_id)
    .bind(user_ids(spec))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

async fn insert_offer(
    tx: &mut Transaction<'static, Postgres>,
    project_id: i64,
    spec: &OfferSpec,
    now: DateTime<Utc>,
) -> Result<Offer, StoreError> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO offers (project_id, spec, audience_type, start_ms, end_ms, created_ms, updated_ms) \
         VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING id",
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

#[async_trait]
impl Store for PgStore {
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
        // Serialize concurrent first starts: only one of them may see an empty table.
        sqlx::query("LOCK TABLE projects IN SHARE ROW EXCLUSIVE MODE")
            .execute(&mut *tx)
            .await?;
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
            "INSERT INTO settings (key, value) VALUES ('demo_project_id', $1) \
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        )
        .bind(project.id.to_string())
        .execute(&mut *tx)
        .await?;
        notify(
            &mut tx,
            &Change::offer(project.id, offer.id, ChangeOp::Created),
        )
        .await?;
        tx.commit().await?;
        Ok(Some((project, offer)))
    }

    async fn demo_project(&self) -> Result<Option<Project>, StoreError> {
        let demo = sqlx::query(&format!(
            "SELECT {PROJECT_COLUMNS} FROM projects WHERE id = \
             (SELECT CAST(value AS BIGINT) FROM settings WHERE key = 'demo_project_id')"
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
            "SELECT {PROJECT_COLUMNS} FROM projects WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(project_from_row).transpose()
    }

    async fn project_by_public_key(&self, key: &str) -> Result<Option<Project>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {PROJECT_COLUMNS} FROM projects WHERE public_key = $1"
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
            &format!("SELECT {OFFER_COLUMNS} FROM offers WHERE project_id = $1 ORDER BY id DESC LIMIT $2 OFFSET $3"),
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
            "SELECT {OFFER_COLUMNS} FROM offers WHERE project_id = $1 AND id = $2"
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
        notify(
            &mut tx,
            &Change::offer(project_id, offer.id, ChangeOp::Created),
        )
        .await?;
        tx.commit().await?;
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
            "SELECT {OFFER_COLUMNS} FROM offers WHERE project_id = $1 AND id = $2 FOR UPDATE"
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
            "UPDATE offers SET spec = $1, audience_type = $2, start_ms = $3, end_ms = $4, \
             updated_ms = $5 WHERE project_id = $6 AND id = $7",
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
        notify(&mut tx, &Change::offer(project_id, id, ChangeOp::Updated)).await?;
        tx.commit().await?;
        Ok(UpdateOutcome::Updated(Box::new(Offer {
            spec,
            updated_at: from_millis(millis(now))?,
            ..current
        })))
    }

    async fn delete_offer(&self, project_id: i64, id: i64) -> Result<bool, StoreError> {
        let mut tx = self.write_tx().await?;
        let done = sqlx::query("DELETE FROM offers WHERE project_id = $1 AND id = $2")
            .bind(project_id)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        let deleted = done.rows_affected() > 0;
        if deleted {
            notify(&mut tx, &Change::offer(project_id, id, ChangeOp::Deleted)).await?;
        }
        tx.commit().await?;
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
            "SELECT external_id FROM {table} WHERE project_id = $1 \
             AND external_id = ANY($2)"
        ))
        .bind(project_id)
        .bind(ids)
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
             SELECT $1, x, $2 FROM unnest($3::text[]) AS x ON CONFLICT DO NOTHING"
        ))
        .bind(project_id)
        .bind(millis(now))
        .bind(&unique)
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
            "SELECT COUNT(*) FROM {table} WHERE project_id = $1"
        ))
        .bind(project_id)
        .fetch_one(&self.pool)
        .await?;
        let ids: Vec<String> = sqlx::query_scalar(&format!(
            "SELECT external_id FROM {table} WHERE project_id = $1 \
             ORDER BY created_ms, external_id LIMIT $2 OFFSET $3"
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
                "INSERT INTO opt_outs (project_id, user_id, created_ms) VALUES ($1, $2, $3) \
                 ON CONFLICT DO NOTHING",
            )
            .bind(project_id)
            .bind(user_id)
            .bind(millis(now))
            .execute(&mut *tx)
            .await?;
        } else {
            sqlx::query("DELETE FROM opt_outs WHERE project_id = $1 AND user_id = $2")
                .bind(project_id)
                .bind(user_id)
                .execute(&mut *tx)
                .await?;
        }
        notify(&mut tx, &Change::opt_out(project_id, user_id)).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn is_opted_out(&self, project_id: i64, user_id: &str) -> Result<bool, StoreError> {
        let found: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM opt_outs WHERE project_id = $1 AND user_id = $2)",
        )
        .bind(project_id)
        .bind(user_id)
        .fetch_one(&self.pool)
        .await?;
        Ok(found)
    }

    async fn opted_out_users(&self, project_id: i64) -> Result<Vec<String>, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT user_id FROM opt_outs WHERE project_id = $1")
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
             require_user_signature = COALESCE($1, require_user_signature), \
             allowed_origins = COALESCE($2, allowed_origins) \
             WHERE id = $3 RETURNING {PROJECT_COLUMNS}"
        ))
        .bind(settings.require_user_signature)
        .bind(settings.allowed_origins.as_deref().map(origins_to_json))
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
        let project = row.as_ref().map(project_from_row).transpose()?;
        if project.is_some() {
            notify(&mut tx, &Change::project(id)).await?;
        }
        tx.commit().await?;
        Ok(project)
    }

    async fn unended_offers(
        &self,
        project_id: i64,
        now: DateTime<Utc>,
    ) -> Result<Vec<Offer>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, spec, created_ms, updated_ms FROM offers \
             WHERE project_id = $1 AND (end_ms IS NULL OR end_ms > $2) ORDER BY id DESC",
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
        let found: Vec<i64> =
            sqlx::query_scalar("SELECT id FROM offers WHERE project_id = $1 AND id = ANY($2)")
                .bind(project_id)
                .bind(ids)
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
        let ids: Vec<&str> = events.iter().map(|e| e.id.as_str()).collect();
        let offers: Vec<i64> = events.iter().map(|e| e.offer_id).collect();
        let kinds: Vec<&str> = events.iter().map(|e| e.kind.as_str()).collect();
        let rooms: Vec<&str> = events.iter().map(|e| e.room.as_str()).collect();
        let users: Vec<Option<&str>> = events.iter().map(|e| e.user.as_deref()).collect();
        let ats: Vec<i64> = events.iter().map(|e| millis(e.at)).collect();
        let done = sqlx::query(
            "INSERT INTO events (project_id, event_id, offer_id, kind, room_id, user_id, at_ms, received_ms) \
             SELECT $1, e.id, e.offer, e.kind, e.room, e.usr, e.at, $2 \
             FROM unnest($3::text[], $4::bigint[], $5::text[], $6::text[], $7::text[], $8::bigint[]) \
                  AS e (id, offer, kind, room, usr, at) \
             ON CONFLICT DO NOTHING",
        )
        .bind(project_id)
        .bind(millis(now))
        .bind(&ids)
        .bind(&offers)
        .bind(&kinds)
        .bind(&rooms)
        .bind(&users)
        .bind(&ats)
        .execute(&self.pool)
        .await?;
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
            "SELECT (at_ms + $5) / {DAY_MS} AS day, {TOTALS_COLUMNS} FROM events \
             WHERE project_id = $1 AND offer_id = $2 AND at_ms >= $3 AND at_ms < $4 \
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
            "SELECT COUNT(DISTINCT user_id) FROM events WHERE project_id = $1 AND offer_id = $2 \
             AND kind = 'impression' AND at_ms >= $3 AND at_ms < $4",
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
            "SELECT offer_id, {TOTALS_COLUMNS} FROM events WHERE project_id = $1 \
             AND offer_id = ANY($2) GROUP BY offer_id"
        ))
        .bind(project_id)
        .bind(offer_ids)
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
             WHERE project_id = $1 AND user_id = $2 AND kind = 'impression' AND at_ms <= $3 \
             AND offer_id = ANY($4) GROUP BY offer_id",
        )
        .bind(project_id)
        .bind(user_id)
        .bind(millis(until))
        .bind(offer_ids)
        .fetch_all(&self.pool)
        .await?;
        seen_from_rows(&rows)
    }

    async fn get_draft(&self, project_id: i64) -> Result<Option<Draft>, StoreError> {
        let row = sqlx::query(
            "SELECT draft, editing, etag, updated_ms FROM drafts WHERE project_id = $1",
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
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (project_id) DO UPDATE SET \
                 draft = excluded.draft, editing = excluded.editing, etag = excluded.etag, \
                 updated_ms = excluded.updated_ms RETURNING {COLUMNS}"
            ),
            DraftPrecondition::Absent => format!(
                "INSERT INTO drafts (project_id, draft, editing, etag, updated_ms) \
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (project_id) DO NOTHING \
                 RETURNING {COLUMNS}"
            ),
            DraftPrecondition::Exists => format!(
                "UPDATE drafts SET draft = $2, editing = $3, etag = $4, updated_ms = $5 \
                 WHERE project_id = $1 RETURNING {COLUMNS}"
            ),
            DraftPrecondition::EtagIn(_) => format!(
                "UPDATE drafts SET draft = $2, editing = $3, etag = $4, updated_ms = $5 \
                 WHERE project_id = $1 AND etag = ANY($6) RETURNING {COLUMNS}"
            ),
        };
        let mut query = sqlx::query(&sql)
            .bind(project_id)
            .bind(draft)
            .bind(editing)
            .bind(etag)
            .bind(millis(now));
        if let DraftPrecondition::EtagIn(tags) = precondition {
            query = query.bind(tags);
        }
        let row = query.fetch_optional(&self.pool).await?;
        row.as_ref().map(draft_from_row).transpose()
    }

    async fn delete_draft(
        &self,
        project_id: i64,
        precondition: &DraftPrecondition,
    ) -> Result<bool, StoreError> {
        let done = match precondition {
            DraftPrecondition::Absent => return Ok(false),
            DraftPrecondition::None | DraftPrecondition::Exists => {
                sqlx::query("DELETE FROM drafts WHERE project_id = $1")
                    .bind(project_id)
                    .execute(&self.pool)
                    .await?
            }
            DraftPrecondition::EtagIn(tags) => {
                sqlx::query("DELETE FROM drafts WHERE project_id = $1 AND etag = ANY($2)")
                    .bind(project_id)
                    .bind(tags)
                    .execute(&self.pool)
                    .await?
            }
        };
        Ok(done.rows_affected() > 0)
    }

    async fn purge_before(&self, cutoff: DateTime<Utc>) -> Result<PurgeCounts, StoreError> {
        let events = sqlx::query("DELETE FROM events WHERE at_ms < $1")
            .bind(millis(cutoff))
            .execute(&self.pool)
            .await?;
        let offers = sqlx::query("DELETE FROM offers WHERE end_ms IS NOT NULL AND end_ms < $1")
            .bind(millis(cutoff))
            .execute(&self.pool)
            .await?;
        Ok(PurgeCounts {
            events: events.rows_affected(),
            offers: offers.rows_affected(),
        })
    }

    async fn subscribe(&self) -> Result<broadcast::Receiver<BusMessage>, StoreError> {
        let mut listening = self.listening.lock().await;
        if !*listening {
            // LISTEN before returning: no change committed after this call can be missed.
            let listener = listen(&self.pool).await?;
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
