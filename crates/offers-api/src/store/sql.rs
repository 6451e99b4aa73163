//! The SQL of the [`Store`](super::Store), written once for both backends.
//!
//! [`sql_store!`] implements the trait for a store type over one `sqlx` database. Every query
//! uses `$N` placeholders (sqlx-sqlite binds `$N` by number, as PostgreSQL does), id lists are
//! bound as JSON array text, and the statements stick to what both dialects accept (`CAST(… AS
//! BIGINT)`, `INSERT … SELECT … WHERE true ON CONFLICT`, `COUNT(*)` for existence). Where the
//! databases really differ, the store type provides these hooks (inherent items):
//!
//! - `begin_write(&self)`: a write transaction (SQLite: `BEGIN IMMEDIATE`, taking the write lock
//!   up front; PostgreSQL: `BEGIN`).
//! - `FOR_UPDATE`: appended to the `SELECT` that reads a row the transaction rewrites
//!   (PostgreSQL: ` FOR UPDATE`; SQLite: nothing, the transaction already holds the lock).
//! - `LOCK_PROJECTS`: run before counting the projects in `bootstrap_demo`, so that only one
//!   concurrent first start sees none (PostgreSQL: a table lock; SQLite: `None`).
//! - `commit(&self, tx, change)`: commits and publishes `change`, if any (PostgreSQL:
//!   `pg_notify` inside the transaction; SQLite: an in-process broadcast after the commit).
//! - `json_scalars(param)` / `json_values(param)`: the table expression expanding the JSON array
//!   text bound at `param` into rows whose `value` column is the element as an SQL scalar
//!   (text or integer) / as JSON (for `value ->> N`).
//! - `listen(&self)`: [`Store::subscribe`](super::Store::subscribe).

/// Implements [`Store`](super::Store) for `$store`, whose pool is over the database `$db`.
macro_rules! sql_store {
    ($store:ty, $db:ty) => {
        impl $store {
            /// Events of one project in one statement (JSON array expansion), inside `tx`;
            /// ids the project stored before are skipped. Returns the ids that were new.
            async fn insert_events_in(
                tx: &mut sqlx::Transaction<'static, $db>,
                project_id: i64,
                events: &[&$crate::store::NewEvent],
                now: chrono::DateTime<chrono::Utc>,
            ) -> Result<Vec<String>, $crate::store::StoreError> {
                use $crate::store::millis;
                use sqlx::Row as _;
                if events.is_empty() {
                    return Ok(Vec::new());
                }
                // One JSON array per event, in the column order of the INSERT.
                let rows: Vec<serde_json::Value> = events
                    .iter()
                    .map(|e| {
                        serde_json::json!([
                            e.id,
                            e.offer_id,
                            e.kind.as_str(),
                            e.room,
                            e.user,
                            millis(e.at),
                            e.variant
                        ])
                    })
                    .collect();
                let inserted = sqlx::query(&format!(
                    "INSERT INTO events (project_id, event_id, offer_id, kind, room_id, user_id, \
                     at_ms, received_ms, variant) \
                     SELECT $1, value ->> 0, CAST(value ->> 1 AS BIGINT), value ->> 2, \
                     value ->> 3, value ->> 4, CAST(value ->> 5 AS BIGINT), $2, \
                     CAST(value ->> 6 AS BIGINT) \
                     FROM {} WHERE true ON CONFLICT DO NOTHING RETURNING event_id",
                    Self::json_values("$3")
                ))
                .bind(project_id)
                .bind(millis(now))
                .bind(serde_json::Value::Array(rows).to_string())
                .fetch_all(&mut **tx)
                .await?;
                inserted
                    .iter()
                    .map(|row| row.try_get::<String, _>(0).map_err(Into::into))
                    .collect()
            }

            async fn insert_project(
                tx: &mut sqlx::Transaction<'static, $db>,
                project: &$crate::store::NewProject,
                now: chrono::DateTime<chrono::Utc>,
            ) -> Result<$crate::store::Project, $crate::store::StoreError> {
                let row = sqlx::query(&format!(
                    "INSERT INTO projects (name, api_key, public_key, secret, identity_secret, \
                     created_ms, require_user_signature) VALUES ($1, $2, $3, $4, $5, $6, $7) \
                     RETURNING {}",
                    $crate::store::PROJECT_COLUMNS
                ))
                .bind(&project.name)
                .bind(&project.api_key)
                .bind(&project.public_key)
                .bind(&project.secret)
                .bind(&project.identity_secret)
                .bind($crate::store::millis(now))
                .bind($crate::store::NEW_PROJECTS_REQUIRE_USER_SIGNATURE)
                .fetch_one(&mut **tx)
                .await?;
                $crate::store::project_from_row(&row)
            }

            /// Replaces the offer's audience id lists (`offer_rooms`, `offer_users`).
            async fn write_id_lists(
                tx: &mut sqlx::Transaction<'static, $db>,
                offer_id: i64,
                spec: &offers_core::OfferSpec,
            ) -> Result<(), $crate::store::StoreError> {
                use $crate::store::{json_array, room_ids, user_ids};
                let ids = Self::json_scalars("$2");
                for (table, column, list) in [
                    ("offer_rooms", "room_id", room_ids(spec)),
                    ("offer_users", "user_id", user_ids(spec)),
                ] {
                    sqlx::query(&format!("DELETE FROM {table} WHERE offer_id = $1"))
                        .bind(offer_id)
                        .execute(&mut **tx)
                        .await?;
                    sqlx::query(&format!(
                        "INSERT INTO {table} (offer_id, {column}) SELECT $1, value FROM {ids} \
                         WHERE true ON CONFLICT DO NOTHING"
                    ))
                    .bind(offer_id)
                    .bind(json_array(&list))
                    .execute(&mut **tx)
                    .await?;
                }
                sqlx::query("DELETE FROM offer_segments WHERE offer_id = $1")
                    .bind(offer_id)
                    .execute(&mut **tx)
                    .await?;
                let segments: Vec<(i64, bool)> = spec
                    .segment_ids
                    .iter()
                    .map(|id| (*id, false))
                    .chain(spec.exclude_segment_ids.iter().map(|id| (*id, true)))
                    .collect();
                sqlx::query(&format!(
                    "INSERT INTO offer_segments (offer_id, segment_id, excluded) \
                     SELECT $1, CAST(value ->> 0 AS BIGINT), value ->> 1 = 'true' FROM {} \
                     WHERE true ON CONFLICT DO NOTHING",
                    Self::json_values("$2")
                ))
                .bind(offer_id)
                .bind(json_array(
                    &segments
                        .iter()
                        .map(|(id, excluded)| [id.to_string(), excluded.to_string()])
                        .collect::<Vec<_>>(),
                ))
                .execute(&mut **tx)
                .await?;
                sqlx::query("DELETE FROM offer_tags WHERE offer_id = $1")
                    .bind(offer_id)
                    .execute(&mut **tx)
                    .await?;
                sqlx::query(&format!(
                    "INSERT INTO offer_tags (offer_id, tag) SELECT $1, value FROM {ids} \
                     WHERE true ON CONFLICT DO NOTHING"
                ))
                .bind(offer_id)
                .bind(json_array(&$crate::store::offer_tags(spec)))
                .execute(&mut **tx)
                .await?;
                Ok(())
            }

            async fn insert_offer(
                tx: &mut sqlx::Transaction<'static, $db>,
                project_id: i64,
                spec: &offers_core::OfferSpec,
                now: chrono::DateTime<chrono::Utc>,
            ) -> Result<offers_core::Offer, $crate::store::StoreError> {
                use $crate::store::{audience_type_name, millis, spec_to_json};
                let id: i64 = sqlx::query_scalar(
                    "INSERT INTO offers (project_id, spec, audience_type, start_ms, end_ms, \
                     created_ms, updated_ms) VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING id",
                )
                .bind(project_id)
                .bind(spec_to_json(spec)?)
                .bind(audience_type_name(spec))
                .bind(millis(spec.start_time))
                .bind(spec.end_time.map(millis))
                .bind(millis(now))
                .fetch_one(&mut **tx)
                .await?;
                Self::write_id_lists(tx, id, spec).await?;
                // As stored: milliseconds.
                Ok(offers_core::Offer::created(
                    id,
                    spec.clone(),
                    $crate::store::from_millis(millis(now))?,
                ))
            }

            /// Changes a project's widget settings inside `tx` and records `settings.updated`
            /// (when anything changed). `None`: no such project.
            async fn write_project_settings(
                tx: &mut sqlx::Transaction<'static, $db>,
                actor: &$crate::store::people::Actor,
                id: i64,
                settings: &$crate::store::ProjectSettings,
                now: chrono::DateTime<chrono::Utc>,
            ) -> Result<Option<$crate::store::Project>, $crate::store::StoreError> {
                use $crate::store::{PROJECT_COLUMNS, json_array, project_from_row};
                let before = sqlx::query(&format!(
                    "SELECT {PROJECT_COLUMNS} FROM projects WHERE id = $1{}",
                    Self::FOR_UPDATE
                ))
                .bind(id)
                .fetch_optional(&mut **tx)
                .await?;
                let Some(before) = before.as_ref().map(project_from_row).transpose()? else {
                    return Ok(None);
                };
                // Caps: the given members replace the stored ones (0 stores "no cap").
                let caps = settings.caps.map(|patch| before.caps.patched(&patch));
                let cap = |n: Option<u32>| caps.map(|_| i64::from(n.unwrap_or(0)));
                let row = sqlx::query(&format!(
                    "UPDATE projects SET \
                     require_user_signature = COALESCE($1, require_user_signature), \
                     allowed_origins = COALESCE($2, allowed_origins), \
                     cap_session = COALESCE($4, cap_session), \
                     cap_day = COALESCE($5, cap_day), \
                     cap_week = COALESCE($6, cap_week), \
                     min_gap_ms = COALESCE($7, min_gap_ms), \
                     attribution_window_hours = COALESCE($8, attribution_window_hours) \
                     WHERE id = $3 RETURNING {PROJECT_COLUMNS}"
                ))
                .bind(settings.require_user_signature)
                .bind(settings.allowed_origins.as_deref().map(json_array))
                .bind(id)
                .bind(cap(caps.and_then(|c| c.per_session)))
                .bind(cap(caps.and_then(|c| c.per_day)))
                .bind(cap(caps.and_then(|c| c.per_week)))
                .bind(caps.map(|c| {
                    i64::try_from(c.min_gap_ms.unwrap_or(0)).unwrap_or(i64::MAX)
                }))
                .bind(settings.attribution_window_hours.map(i64::from))
                .fetch_one(&mut **tx)
                .await?;
                let after = project_from_row(&row)?;
                let record = $crate::store::settings_audit(&before, &after);
                if !record.changes.is_empty() {
                    Self::write_audit(tx, id, actor, &record, now).await?;
                }
                Ok(Some(after))
            }

            /// The project selected by `condition` (over `projects`, binding `$1`), if any.
            async fn project_where(
                &self,
                condition: &str,
                bind: impl for<'q> sqlx::Encode<'q, $db> + sqlx::Type<$db> + Send + 'static,
            ) -> Result<Option<$crate::store::Project>, $crate::store::StoreError> {
                let row = sqlx::query(&format!(
                    "SELECT {} FROM projects WHERE {condition}",
                    $crate::store::PROJECT_COLUMNS
                ))
                .bind(bind)
                .fetch_optional(&self.pool)
                .await?;
                row.as_ref().map($crate::store::project_from_row).transpose()
            }
        }

        #[async_trait::async_trait]
        impl $crate::store::Store for $store {
            async fn ping(&self) -> Result<(), $crate::store::StoreError> {
                sqlx::query("SELECT 1").execute(&self.pool).await?;
                Ok(())
            }

            fn concurrent_writes(&self) -> usize {
                Self::CONCURRENT_WRITES
            }

            async fn token_secret(&self) -> Result<String, $crate::store::StoreError> {
                let secret: Option<String> =
                    sqlx::query_scalar("SELECT value FROM settings WHERE key = 'token_secret'")
                        .fetch_optional(&self.pool)
                        .await?;
                secret.ok_or_else(|| {
                    $crate::store::StoreError::Corrupt("settings.token_secret is missing".into())
                })
            }

            async fn create_project(
                &self,
                project: &$crate::store::NewProject,
                now: chrono::DateTime<chrono::Utc>,
            ) -> Result<$crate::store::Project, $crate::store::StoreError> {
                let mut tx = self.begin_write().await?;
                let project = Self::insert_project(&mut tx, project, now).await?;
                self.commit(tx, None).await?;
                Ok(project)
            }

            async fn update_project_settings(
                &self,
                id: i64,
                settings: &$crate::store::ProjectSettings,
            ) -> Result<Option<$crate::store::Project>, $crate::store::StoreError> {
                use $crate::store::people::PeopleStore as _;
                let actor = $crate::store::people::Actor::Cli;
                self.update_project_settings_as(&actor, id, settings, chrono::Utc::now())
                    .await
            }

            async fn bootstrap_demo(
                &self,
                project: &$crate::store::NewProject,
                offer: &offers_core::OfferSpec,
                now: chrono::DateTime<chrono::Utc>,
            ) -> Result<
                Option<($crate::store::Project, offers_core::Offer)>,
                $crate::store::StoreError,
            > {
                let mut tx = self.begin_write().await?;
                if let Some(lock) = Self::LOCK_PROJECTS {
                    sqlx::query(lock).execute(&mut *tx).await?;
                }
                let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM projects")
                    .fetch_one(&mut *tx)
                    .await?;
                if count > 0 {
                    tx.rollback().await?;
                    return Ok(None);
                }
                let project = Self::insert_project(&mut tx, project, now).await?;
                let offer = Self::insert_offer(&mut tx, project.id, offer, now).await?;
                sqlx::query(
                    "INSERT INTO settings (key, value) VALUES ('demo_project_id', $1) \
                     ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                )
                .bind(project.id.to_string())
                .execute(&mut *tx)
                .await?;
                let change =
                    $crate::bus::Change::offer(project.id, offer.id, $crate::bus::ChangeOp::Created);
                self.commit(tx, Some(change)).await?;
                Ok(Some((project, offer)))
            }

            async fn demo_project(
                &self,
            ) -> Result<Option<$crate::store::Project>, $crate::store::StoreError> {
                let demo = self
                    .project_where(
                        "id = (SELECT CAST(value AS BIGINT) FROM settings WHERE key = $1)",
                        "demo_project_id".to_owned(),
                    )
                    .await?;
                if demo.is_some() {
                    return Ok(demo);
                }
                let oldest = sqlx::query(&format!(
                    "SELECT {} FROM projects ORDER BY id LIMIT 1",
                    $crate::store::PROJECT_COLUMNS
                ))
                .fetch_optional(&self.pool)
                .await?;
                oldest.as_ref().map($crate::store::project_from_row).transpose()
            }

            async fn project_by_id(
                &self,
                id: i64,
            ) -> Result<Option<$crate::store::Project>, $crate::store::StoreError> {
                self.project_where("id = $1", id).await
            }

            async fn project_by_public_key(
                &self,
                key: &str,
            ) -> Result<Option<$crate::store::Project>, $crate::store::StoreError> {
                self.project_where("public_key = $1", key.to_owned()).await
            }

            async fn list_offers(
                &self,
                project_id: i64,
                filter: &$crate::store::OfferFilter,
                limit: i64,
                offset: i64,
            ) -> Result<Vec<offers_core::Offer>, $crate::store::StoreError> {
                use offers_core::ScheduleStatus;
                let status = match filter.status.map(|(s, _)| s) {
                    None => "",
                    Some(ScheduleStatus::Scheduled) => " AND start_ms > $5",
                    Some(ScheduleStatus::Live) => {
                        " AND start_ms <= $5 AND (end_ms IS NULL OR end_ms > $5)"
                    }
                    Some(ScheduleStatus::Ended) => " AND end_ms <= $5",
                };
                let tag = if filter.tag.is_some() {
                    " AND id IN (SELECT offer_id FROM offer_tags WHERE tag = $4)"
                } else {
                    " AND $4 IS NULL"
                };
                let now = filter.status.map_or(0, |(_, now)| $crate::store::millis(now));
                let rows = sqlx::query(&format!(
                    "SELECT {} FROM offers WHERE project_id = $1{tag}{status} \
                     AND $5 = $5 ORDER BY id DESC LIMIT $2 OFFSET $3",
                    $crate::store::OFFER_COLUMNS
                ))
                .bind(project_id)
                .bind(limit)
                .bind(offset)
                .bind(filter.tag.as_deref())
                .bind(now)
                .fetch_all(&self.pool)
                .await?;
                $crate::store::offers_from_rows(&rows)
            }

            async fn get_offer(
                &self,
                project_id: i64,
                id: i64,
            ) -> Result<Option<offers_core::Offer>, $crate::store::StoreError> {
                let row = sqlx::query(&format!(
                    "SELECT {} FROM offers WHERE project_id = $1 AND id = $2",
                    $crate::store::OFFER_COLUMNS
                ))
                .bind(project_id)
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
                row.as_ref().map($crate::store::offer_from_row).transpose()
            }

            async fn create_offer(
                &self,
                actor: &$crate::store::people::Actor,
                project_id: i64,
                spec: &offers_core::OfferSpec,
                now: chrono::DateTime<chrono::Utc>,
            ) -> Result<offers_core::Offer, $crate::store::StoreError> {
                let mut tx = self.begin_write().await?;
                let offer = Self::insert_offer(&mut tx, project_id, spec, now).await?;
                let record = $crate::store::offer_audit("offer.created", None, Some(&offer));
                Self::write_audit(&mut tx, project_id, actor, &record, now).await?;
                let change =
                    $crate::bus::Change::offer(project_id, offer.id, $crate::bus::ChangeOp::Created);
                self.commit(tx, Some(change)).await?;
                Ok(offer)
            }

            async fn update_offer(
                &self,
                actor: &$crate::store::people::Actor,
                project_id: i64,
                id: i64,
                apply: $crate::store::ApplyFn<'_>,
                now: chrono::DateTime<chrono::Utc>,
            ) -> Result<$crate::store::UpdateOutcome, $crate::store::StoreError> {
                use $crate::store::{
                    OFFER_COLUMNS, UpdateOutcome, audience_type_name, from_millis, millis,
                    offer_from_row, spec_to_json,
                };
                let mut tx = self.begin_write().await?;
                let stored = sqlx::query(&format!(
                    "SELECT {OFFER_COLUMNS} FROM offers WHERE project_id = $1 AND id = $2{}",
                    Self::FOR_UPDATE
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
                Self::write_id_lists(&mut tx, id, &spec).await?;
                let updated = offers_core::Offer {
                    spec,
                    updated_at: from_millis(millis(now))?,
                    ..current.clone()
                };
                let record =
                    $crate::store::offer_audit("offer.updated", Some(&current), Some(&updated));
                Self::write_audit(&mut tx, project_id, actor, &record, now).await?;
                let change =
                    $crate::bus::Change::offer(project_id, id, $crate::bus::ChangeOp::Updated);
                self.commit(tx, Some(change)).await?;
                Ok(UpdateOutcome::Updated(Box::new(updated)))
            }

            async fn delete_offer(
                &self,
                actor: &$crate::store::people::Actor,
                project_id: i64,
                id: i64,
                now: chrono::DateTime<chrono::Utc>,
            ) -> Result<bool, $crate::store::StoreError> {
                let mut tx = self.begin_write().await?;
                let row = sqlx::query(&format!(
                    "DELETE FROM offers WHERE project_id = $1 AND id = $2 RETURNING {}",
                    $crate::store::OFFER_COLUMNS
                ))
                .bind(project_id)
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?;
                let deleted = row.is_some();
                if let Some(row) = row {
                    let offer = $crate::store::offer_from_row(&row)?;
                    let record = $crate::store::offer_audit("offer.deleted", Some(&offer), None);
                    Self::write_audit(&mut tx, project_id, actor, &record, now).await?;
                }
                let change = deleted.then(|| {
                    $crate::bus::Change::offer(project_id, id, $crate::bus::ChangeOp::Deleted)
                });
                self.commit(tx, change).await?;
                Ok(deleted)
            }

            async fn known_among(
                &self,
                project_id: i64,
                kind: $crate::store::IdKind,
                ids: &[String],
            ) -> Result<std::collections::HashSet<String>, $crate::store::StoreError> {
                if ids.is_empty() {
                    return Ok(std::collections::HashSet::new());
                }
                let table = $crate::store::known_table(kind);
                let known: Vec<String> = sqlx::query_scalar(&format!(
                    "SELECT external_id FROM {table} WHERE project_id = $1 \
                     AND external_id IN (SELECT value FROM {})",
                    Self::json_scalars("$2")
                ))
                .bind(project_id)
                .bind($crate::store::json_array(ids))
                .fetch_all(&self.pool)
                .await?;
                Ok(known.into_iter().collect())
            }

            async fn register_ids(
                &self,
                project_id: i64,
                kind: $crate::store::IdKind,
                ids: &[String],
                now: chrono::DateTime<chrono::Utc>,
            ) -> Result<$crate::store::RegisterCounts, $crate::store::StoreError> {
                use $crate::store::RegisterCounts;
                let unique = $crate::store::dedup(ids.iter().cloned());
                if unique.is_empty() {
                    return Ok(RegisterCounts::of(0, 0));
                }
                let table = $crate::store::known_table(kind);
                let mut tx = self.begin_write().await?;
                let done = sqlx::query(&format!(
                    "INSERT INTO {table} (project_id, external_id, created_ms) \
                     SELECT $1, value, $2 FROM {} WHERE true ON CONFLICT DO NOTHING",
                    Self::json_scalars("$3")
                ))
                .bind(project_id)
                .bind($crate::store::millis(now))
                .bind($crate::store::json_array(&unique))
                .execute(&mut *tx)
                .await?;
                self.commit(tx, None).await?;
                Ok(RegisterCounts::of(unique.len(), done.rows_affected()))
            }

            async fn list_known(
                &self,
                project_id: i64,
                kind: $crate::store::IdKind,
                limit: i64,
                offset: i64,
            ) -> Result<$crate::store::IdPage, $crate::store::StoreError> {
                let table = $crate::store::known_table(kind);
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
                Ok($crate::store::IdPage { ids, total })
            }

            async fn set_opt_out(
                &self,
                project_id: i64,
                user_id: &str,
                opted_out: bool,
                now: chrono::DateTime<chrono::Utc>,
            ) -> Result<(), $crate::store::StoreError> {
                let mut tx = self.begin_write().await?;
                if opted_out {
                    sqlx::query(
                        "INSERT INTO opt_outs (project_id, user_id, created_ms) \
                         VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                    )
                    .bind(project_id)
                    .bind(user_id)
                    .bind($crate::store::millis(now))
                    .execute(&mut *tx)
                    .await?;
                } else {
                    sqlx::query("DELETE FROM opt_outs WHERE project_id = $1 AND user_id = $2")
                        .bind(project_id)
                        .bind(user_id)
                        .execute(&mut *tx)
                        .await?;
                }
                let change = $crate::bus::Change::opt_out(project_id, user_id);
                self.commit(tx, Some(change)).await
            }

            async fn is_opted_out(
                &self,
                project_id: i64,
                user_id: &str,
            ) -> Result<bool, $crate::store::StoreError> {
                let count: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM opt_outs WHERE project_id = $1 AND user_id = $2",
                )
                .bind(project_id)
                .bind(user_id)
                .fetch_one(&self.pool)
                .await?;
                Ok(count > 0)
            }

            async fn opted_out_users(
                &self,
                project_id: i64,
            ) -> Result<Vec<String>, $crate::store::StoreError> {
                Ok(
                    sqlx::query_scalar("SELECT user_id FROM opt_outs WHERE project_id = $1")
                        .bind(project_id)
                        .fetch_all(&self.pool)
                        .await?,
                )
            }

            async fn unended_offers(
                &self,
                project_id: i64,
                now: chrono::DateTime<chrono::Utc>,
            ) -> Result<Vec<offers_core::Offer>, $crate::store::StoreError> {
                let rows = sqlx::query(&format!(
                    "SELECT {} FROM offers \
                     WHERE project_id = $1 AND (end_ms IS NULL OR end_ms > $2) ORDER BY id DESC",
                    $crate::store::OFFER_COLUMNS
                ))
                .bind(project_id)
                .bind($crate::store::millis(now))
                .fetch_all(&self.pool)
                .await?;
                $crate::store::offers_from_rows(&rows)
            }

            async fn offer_ids_among(
                &self,
                project_id: i64,
                ids: &[i64],
            ) -> Result<std::collections::HashSet<i64>, $crate::store::StoreError> {
                if ids.is_empty() {
                    return Ok(std::collections::HashSet::new());
                }
                let found: Vec<i64> = sqlx::query_scalar(&format!(
                    "SELECT id FROM offers WHERE project_id = $1 \
                     AND id IN (SELECT CAST(value AS BIGINT) FROM {})",
                    Self::json_scalars("$2")
                ))
                .bind(project_id)
                .bind($crate::store::json_array(ids))
                .fetch_all(&self.pool)
                .await?;
                Ok(found.into_iter().collect())
            }

            async fn insert_events(
                &self,
                project_id: i64,
                events: &[$crate::store::NewEvent],
                now: chrono::DateTime<chrono::Utc>,
            ) -> Result<u64, $crate::store::StoreError> {
                if events.is_empty() {
                    return Ok(0);
                }
                let mut tx = self.begin_write().await?;
                let events: Vec<&$crate::store::NewEvent> = events.iter().collect();
                let added = Self::insert_events_in(&mut tx, project_id, &events, now).await?;
                self.commit(tx, None).await?;
                Ok(added.len() as u64)
            }

            async fn insert_event_batches(
                &self,
                batches: &[$crate::store::EventBatch],
                now: chrono::DateTime<chrono::Utc>,
            ) -> Result<Vec<$crate::store::BatchCounts>, $crate::store::StoreError> {
                // One statement per project for all its batches (a statement's round trip
                // costs more than its rows); each new id is counted back to its batch.
                let mut projects: Vec<i64> = batches.iter().map(|b| b.project_id).collect();
                projects.sort_unstable();
                projects.dedup();
                let mut added = vec![$crate::store::BatchCounts::default(); batches.len()];
                let mut tx = self.begin_write().await?;
                for project_id in projects {
                    let mut owner = std::collections::HashMap::new();
                    let mut events = Vec::new();
                    let mut tracked = Vec::new();
                    let mut window = chrono::Duration::zero();
                    for (i, batch) in batches
                        .iter()
                        .enumerate()
                        .filter(|(_, b)| b.project_id == project_id)
                    {
                        for event in &batch.events {
                            owner.entry(event.id.as_str()).or_insert(i);
                            events.push(event);
                        }
                        tracked.extend(batch.tracked.iter().map(|t| (i, t)));
                        window = batch.attribution_window;
                    }
                    // Concurrent groups (PostgreSQL) then take their (project, event id) keys in
                    // one order: two of them holding the same retried id wait, never deadlock.
                    events.sort_unstable_by(|a, b| a.id.cmp(&b.id));
                    for id in Self::insert_events_in(&mut tx, project_id, &events, now).await? {
                        if let Some(&i) = owner.get(id.as_str()) {
                            added[i].events += 1;
                        }
                    }
                    // After the events (so a tracked conversion sees a click of its own
                    // group): the host's tracked events and the conversions among them.
                    if !tracked.is_empty() {
                        tracked.sort_unstable_by(|a, b| a.1.id.cmp(&b.1.id));
                        let owners: std::collections::HashMap<&str, usize> =
                            tracked.iter().map(|(i, t)| (t.id.as_str(), *i)).collect();
                        let rows: Vec<&$crate::store::campaign::NewTracked> =
                            tracked.iter().map(|(_, t)| *t).collect();
                        let window = window.num_milliseconds();
                        for id in
                            Self::insert_tracked_in(&mut tx, project_id, &rows, window, now).await?
                        {
                            if let Some(&i) = owners.get(id.as_str()) {
                                added[i].tracked += 1;
                            }
                        }
                    }
                    // Further rows of this project's events go here, in the same transaction.
                }
                self.commit(tx, None).await?;
                Ok(added)
            }

            async fn offer_figures(
                &self,
                project_id: i64,
                offer_id: i64,
                from: chrono::DateTime<chrono::Utc>,
                to: chrono::DateTime<chrono::Utc>,
                utc_offset_minutes: i32,
            ) -> Result<$crate::store::OfferFigures, $crate::store::StoreError> {
                use sqlx::Row as _;
                use $crate::store::{DAY_MS, DayTotals, TOTALS_COLUMNS, millis, totals_from_row};
                let rows = sqlx::query(&format!(
                    "SELECT (at_ms + $5) / {DAY_MS} AS day, {TOTALS_COLUMNS} FROM events \
                     WHERE project_id = $1 AND offer_id = $2 AND at_ms >= $3 AND at_ms < $4 \
                     GROUP BY day ORDER BY day"
                ))
                .bind(project_id)
                .bind(offer_id)
                .bind(millis(from))
                .bind(millis(to))
                .bind($crate::store::offset_ms(utc_offset_minutes))
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
                    .collect::<Result<Vec<_>, $crate::store::StoreError>>()?;
                let unique_users: i64 = sqlx::query_scalar(
                    "SELECT COUNT(DISTINCT user_id) FROM events WHERE project_id = $1 \
                     AND offer_id = $2 AND kind = 'impression' AND at_ms >= $3 AND at_ms < $4",
                )
                .bind(project_id)
                .bind(offer_id)
                .bind(millis(from))
                .bind(millis(to))
                .fetch_one(&self.pool)
                .await?;
                Ok($crate::store::figures(days, unique_users))
            }

            async fn user_impressions(
                &self,
                project_id: i64,
                user_id: &str,
                offer_ids: &[i64],
                until: chrono::DateTime<chrono::Utc>,
            ) -> Result<
                std::collections::HashMap<i64, $crate::store::SeenSummary>,
                $crate::store::StoreError,
            > {
                if offer_ids.is_empty() {
                    return Ok(std::collections::HashMap::new());
                }
                let rows = sqlx::query(&format!(
                    "SELECT offer_id, COUNT(*) AS n, MAX(at_ms) AS last_ms FROM events \
                     WHERE project_id = $1 AND user_id = $2 AND kind = 'impression' \
                     AND at_ms <= $3 AND offer_id IN (SELECT CAST(value AS BIGINT) FROM {}) \
                     GROUP BY offer_id",
                    Self::json_scalars("$4")
                ))
                .bind(project_id)
                .bind(user_id)
                .bind($crate::store::millis(until))
                .bind($crate::store::json_array(offer_ids))
                .fetch_all(&self.pool)
                .await?;
                $crate::store::seen_from_rows(&rows)
            }

            async fn get_draft(
                &self,
                project_id: i64,
            ) -> Result<Option<$crate::store::Draft>, $crate::store::StoreError> {
                let row = sqlx::query(
                    "SELECT draft, editing, etag, updated_ms FROM drafts WHERE project_id = $1",
                )
                .bind(project_id)
                .fetch_optional(&self.pool)
                .await?;
                row.as_ref().map($crate::store::draft_from_row).transpose()
            }

            async fn put_draft(
                &self,
                project_id: i64,
                draft: &str,
                editing: Option<i64>,
                precondition: &$crate::store::DraftPrecondition,
                etag: &str,
                now: chrono::DateTime<chrono::Utc>,
            ) -> Result<Option<$crate::store::Draft>, $crate::store::StoreError> {
                use $crate::store::DraftPrecondition;
                const COLUMNS: &str = "draft, editing, etag, updated_ms";
                let sql = match precondition {
                    DraftPrecondition::None => format!(
                        "INSERT INTO drafts (project_id, draft, editing, etag, updated_ms) \
                         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (project_id) DO UPDATE SET \
                         draft = excluded.draft, editing = excluded.editing, \
                         etag = excluded.etag, updated_ms = excluded.updated_ms \
                         RETURNING {COLUMNS}"
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
                         WHERE project_id = $1 AND etag IN (SELECT value FROM {}) \
                         RETURNING {COLUMNS}",
                        Self::json_scalars("$6")
                    ),
                };
                let mut query = sqlx::query(&sql)
                    .bind(project_id)
                    .bind(draft)
                    .bind(editing)
                    .bind(etag)
                    .bind($crate::store::millis(now));
                if let DraftPrecondition::EtagIn(tags) = precondition {
                    query = query.bind($crate::store::json_array(tags));
                }
                let mut tx = self.begin_write().await?;
                let row = query.fetch_optional(&mut *tx).await?;
                let saved = row.as_ref().map($crate::store::draft_from_row).transpose()?;
                self.commit(tx, None).await?;
                Ok(saved)
            }

            async fn delete_draft(
                &self,
                project_id: i64,
                precondition: &$crate::store::DraftPrecondition,
            ) -> Result<bool, $crate::store::StoreError> {
                use $crate::store::DraftPrecondition;
                let sql;
                let query = match precondition {
                    DraftPrecondition::Absent => return Ok(false),
                    DraftPrecondition::None | DraftPrecondition::Exists => {
                        sqlx::query("DELETE FROM drafts WHERE project_id = $1").bind(project_id)
                    }
                    DraftPrecondition::EtagIn(tags) => {
                        sql = format!(
                            "DELETE FROM drafts WHERE project_id = $1 \
                             AND etag IN (SELECT value FROM {})",
                            Self::json_scalars("$2")
                        );
                        sqlx::query(&sql)
                            .bind(project_id)
                            .bind($crate::store::json_array(tags))
                    }
                };
                let mut tx = self.begin_write().await?;
                let done = query.execute(&mut *tx).await?;
                self.commit(tx, None).await?;
                Ok(done.rows_affected() > 0)
            }

            async fn offer_totals(
                &self,
                project_id: i64,
                offer_ids: &[i64],
            ) -> Result<
                std::collections::HashMap<i64, $crate::store::Totals>,
                $crate::store::StoreError,
            > {
                use sqlx::Row as _;
                if offer_ids.is_empty() {
                    return Ok(std::collections::HashMap::new());
                }
                let rows = sqlx::query(&format!(
                    "SELECT offer_id, {} FROM events WHERE project_id = $1 \
                     AND offer_id IN (SELECT CAST(value AS BIGINT) FROM {}) GROUP BY offer_id",
                    $crate::store::TOTALS_COLUMNS,
                    Self::json_scalars("$2")
                ))
                .bind(project_id)
                .bind($crate::store::json_array(offer_ids))
                .fetch_all(&self.pool)
                .await?;
                rows.iter()
                    .map(|row| {
                        Ok((
                            row.try_get("offer_id")?,
                            $crate::store::totals_from_row(row)?,
                        ))
                    })
                    .collect()
            }

            async fn purge_before(
                &self,
                cutoff: chrono::DateTime<chrono::Utc>,
            ) -> Result<$crate::store::PurgeCounts, $crate::store::StoreError> {
                let cutoff = $crate::store::millis(cutoff);
                let mut tx = self.begin_write().await?;
                let events = sqlx::query("DELETE FROM events WHERE at_ms < $1")
                    .bind(cutoff)
                    .execute(&mut *tx)
                    .await?;
                let offers =
                    sqlx::query("DELETE FROM offers WHERE end_ms IS NOT NULL AND end_ms < $1")
                        .bind(cutoff)
                        .execute(&mut *tx)
                        .await?;
                let mut events = events.rows_affected();
                for table in ["tracked_events", "conversions"] {
                    events += sqlx::query(&format!("DELETE FROM {table} WHERE at_ms < $1"))
                        .bind(cutoff)
                        .execute(&mut *tx)
                        .await?
                        .rows_affected();
                }
                let audit = sqlx::query("DELETE FROM audit_log WHERE at_ms < $1")
                    .bind(cutoff)
                    .execute(&mut *tx)
                    .await?;
                self.commit(tx, None).await?;
                Ok($crate::store::PurgeCounts {
                    events,
                    offers: offers.rows_affected(),
                    audit: audit.rows_affected(),
                })
            }

            async fn subscribe(
                &self,
            ) -> Result<
                tokio::sync::broadcast::Receiver<$crate::bus::BusMessage>,
                $crate::store::StoreError,
            > {
                self.listen().await
            }
        }
    };
}

pub(crate) use sql_store;
