//! The SQL of the [`AudienceStore`](super::audience::AudienceStore), written once for both
//! backends with the same hooks as `sql.rs` (`begin_write`, `commit`, `json_scalars`,
//! `json_values`, `FOR_UPDATE`).

/// Implements [`AudienceStore`](super::audience::AudienceStore) for `$store` over `$db`.
macro_rules! audience_sql_store {
    ($store:ty, $db:ty) => {
        impl $store {
            /// Rewrites the tags of the users in `rows` (`[user, [tags…]]` pairs) and registers
            /// the users as known, inside `tx`.
            async fn write_profile_extras(
                tx: &mut sqlx::Transaction<'static, $db>,
                project_id: i64,
                users: &[String],
                tags: &[(String, String)],
                now: chrono::DateTime<chrono::Utc>,
            ) -> Result<(), $crate::store::StoreError> {
                use $crate::store::json_array;
                sqlx::query(&format!(
                    "DELETE FROM profile_tags WHERE project_id = $1 AND user_id IN \
                     (SELECT value FROM {})",
                    Self::json_scalars("$2")
                ))
                .bind(project_id)
                .bind(json_array(users))
                .execute(&mut **tx)
                .await?;
                let pairs: Vec<[&str; 2]> =
                    tags.iter().map(|(u, t)| [u.as_str(), t.as_str()]).collect();
                sqlx::query(&format!(
                    "INSERT INTO profile_tags (project_id, user_id, tag) \
                     SELECT $1, value ->> 0, value ->> 1 FROM {} WHERE true ON CONFLICT DO NOTHING",
                    Self::json_values("$2")
                ))
                .bind(project_id)
                .bind(json_array(&pairs))
                .execute(&mut **tx)
                .await?;
                sqlx::query(&format!(
                    "INSERT INTO known_users (project_id, external_id, created_ms) \
                     SELECT $1, value, $2 FROM {} WHERE true ON CONFLICT DO NOTHING",
                    Self::json_scalars("$3")
                ))
                .bind(project_id)
                .bind($crate::store::millis(now))
                .bind(json_array(users))
                .execute(&mut **tx)
                .await?;
                Ok(())
            }

            /// Replaces a list segment's members inside `tx`.
            async fn write_members(
                tx: &mut sqlx::Transaction<'static, $db>,
                segment_id: i64,
                spec: &offers_core::segment::SegmentSpec,
            ) -> Result<(), $crate::store::StoreError> {
                sqlx::query("DELETE FROM segment_members WHERE segment_id = $1")
                    .bind(segment_id)
                    .execute(&mut **tx)
                    .await?;
                if let offers_core::segment::SegmentDef::List(ids) = &spec.def {
                    let ids = $crate::store::dedup(ids.iter().map(|id| id.as_str().to_owned()));
                    sqlx::query(&format!(
                        "INSERT INTO segment_members (segment_id, user_id) SELECT $1, value \
                         FROM {} WHERE true ON CONFLICT DO NOTHING",
                        Self::json_scalars("$2")
                    ))
                    .bind(segment_id)
                    .bind($crate::store::json_array(&ids))
                    .execute(&mut **tx)
                    .await?;
                }
                Ok(())
            }

            /// The segment row `id` of the project (without a list's ids), inside `tx` or not.
            async fn segment_row<'e, E>(
                executor: E,
                project_id: i64,
                id: i64,
                lock: bool,
            ) -> Result<Option<$crate::store::audience::StoredSegment>, $crate::store::StoreError>
            where
                E: sqlx::Executor<'e, Database = $db>,
            {
                let row = sqlx::query(&format!(
                    "SELECT id, spec, created_ms, updated_ms, \
                     (SELECT COUNT(*) FROM segment_members m WHERE m.segment_id = s.id) AS members \
                     FROM segments s WHERE project_id = $1 AND id = $2{}",
                    if lock { Self::FOR_UPDATE } else { "" }
                ))
                .bind(project_id)
                .bind(id)
                .fetch_optional(executor)
                .await?;
                row.as_ref().map($crate::store::segment_from_row).transpose()
            }

            /// A list segment's ids, in insertion order.
            async fn member_ids<'e, E>(
                executor: E,
                segment_id: i64,
            ) -> Result<Vec<String>, $crate::store::StoreError>
            where
                E: sqlx::Executor<'e, Database = $db>,
            {
                Ok(sqlx::query_scalar(
                    "SELECT user_id FROM segment_members WHERE segment_id = $1 ORDER BY user_id",
                )
                .bind(segment_id)
                .fetch_all(executor)
                .await?)
            }
        }

        #[async_trait::async_trait]
        impl $crate::store::audience::AudienceStore for $store {
            async fn put_profile(
                &self,
                project_id: i64,
                user_id: &str,
                profile: &offers_core::profile::Profile,
                now: chrono::DateTime<chrono::Utc>,
            ) -> Result<$crate::store::audience::StoredProfile, $crate::store::StoreError> {
                use $crate::store::{millis, profile_tags, profile_to_json};
                let mut tx = self.begin_write().await?;
                sqlx::query(
                    "INSERT INTO profiles (project_id, user_id, profile, updated_ms) \
                     VALUES ($1, $2, $3, $4) ON CONFLICT (project_id, user_id) DO UPDATE \
                     SET profile = excluded.profile, updated_ms = excluded.updated_ms",
                )
                .bind(project_id)
                .bind(user_id)
                .bind(profile_to_json(profile)?)
                .bind(millis(now))
                .execute(&mut *tx)
                .await?;
                let tags: Vec<(String, String)> = profile_tags(profile)
                    .into_iter()
                    .map(|t| (user_id.to_owned(), t))
                    .collect();
                Self::write_profile_extras(&mut tx, project_id, &[user_id.to_owned()], &tags, now)
                    .await?;
                let change = $crate::bus::Change::profile(project_id, Some(user_id));
                self.commit(tx, Some(change)).await?;
                Ok($crate::store::audience::StoredProfile {
                    user_id: user_id.to_owned(),
                    profile: profile.clone(),
                    updated_at: $crate::store::from_millis(millis(now))?,
                })
            }

            async fn get_profile(
                &self,
                project_id: i64,
                user_id: &str,
            ) -> Result<Option<$crate::store::audience::StoredProfile>, $crate::store::StoreError>
            {
                let row = sqlx::query(
                    "SELECT user_id, profile, updated_ms FROM profiles \
                     WHERE project_id = $1 AND user_id = $2",
                )
                .bind(project_id)
                .bind(user_id)
                .fetch_optional(&self.pool)
                .await?;
                row.as_ref().map($crate::store::profile_from_row).transpose()
            }

            async fn delete_profile(
                &self,
                project_id: i64,
                user_id: &str,
            ) -> Result<bool, $crate::store::StoreError> {
                let mut tx = self.begin_write().await?;
                let done = sqlx::query("DELETE FROM profiles WHERE project_id = $1 AND user_id = $2")
                    .bind(project_id)
                    .bind(user_id)
                    .execute(&mut *tx)
                    .await?;
                let deleted = done.rows_affected() > 0;
                let change =
                    deleted.then(|| $crate::bus::Change::profile(project_id, Some(user_id)));
                self.commit(tx, change).await?;
                Ok(deleted)
            }

            async fn list_profiles(
                &self,
                project_id: i64,
                tag: Option<&str>,
                limit: i64,
                offset: i64,
            ) -> Result<$crate::store::audience::ProfilePage, $crate::store::StoreError> {
                let filter = if tag.is_some() {
                    "AND p.user_id IN (SELECT user_id FROM profile_tags t \
                     WHERE t.project_id = $1 AND t.tag = $2)"
                } else {
                    "AND $2 IS NULL"
                };
                let total: i64 = sqlx::query_scalar(&format!(
                    "SELECT COUNT(*) FROM profiles p WHERE p.project_id = $1 {filter}"
                ))
                .bind(project_id)
                .bind(tag)
                .fetch_one(&self.pool)
                .await?;
                let rows = sqlx::query(&format!(
                    "SELECT p.user_id, p.profile, p.updated_ms FROM profiles p \
                     WHERE p.project_id = $1 {filter} ORDER BY p.user_id LIMIT $3 OFFSET $4"
                ))
                .bind(project_id)
                .bind(tag)
                .bind(limit)
                .bind(offset)
                .fetch_all(&self.pool)
                .await?;
                Ok($crate::store::audience::ProfilePage {
                    profiles: rows
                        .iter()
                        .map($crate::store::profile_from_row)
                        .collect::<Result<_, _>>()?,
                    total,
                })
            }

            async fn upsert_profiles(
                &self,
                actor: &$crate::store::people::Actor,
                project_id: i64,
                rows: &[offers_core::profile::ProfileRow],
                now: chrono::DateTime<chrono::Utc>,
            ) -> Result<u64, $crate::store::StoreError> {
                use $crate::store::{json_array, millis, profile_tags, profile_to_json};
                // The last row of each id wins.
                let mut last = std::collections::HashMap::new();
                for (i, row) in rows.iter().enumerate() {
                    last.insert(row.id.as_str(), i);
                }
                let mut chosen: Vec<usize> = last.into_values().collect();
                chosen.sort_unstable();
                if chosen.is_empty() {
                    return Ok(0);
                }
                // In chunks, inside one transaction: all rows or none are stored, and only one
                // chunk's bind text is held at a time (a 100,000-row upsert as one statement
                // held several copies of every profile).
                let mut tx = self.begin_write().await?;
                for chunk in chosen.chunks($crate::store::PROFILE_UPSERT_CHUNK) {
                    let mut users = Vec::with_capacity(chunk.len());
                    let mut tags = Vec::new();
                    let mut values = Vec::with_capacity(chunk.len());
                    for &i in chunk {
                        let row = &rows[i];
                        let user = row.id.as_str();
                        for tag in profile_tags(&row.profile) {
                            tags.push((user.to_owned(), tag));
                        }
                        values.push([user.to_owned(), profile_to_json(&row.profile)?]);
                        users.push(user.to_owned());
                    }
                    sqlx::query(&format!(
                        "INSERT INTO profiles (project_id, user_id, profile, updated_ms) \
                         SELECT $1, value ->> 0, value ->> 1, $2 FROM {} WHERE true \
                         ON CONFLICT (project_id, user_id) DO UPDATE \
                         SET profile = excluded.profile, updated_ms = excluded.updated_ms",
                        Self::json_values("$3")
                    ))
                    .bind(project_id)
                    .bind(millis(now))
                    .bind(json_array(&values))
                    .execute(&mut *tx)
                    .await?;
                    Self::write_profile_extras(&mut tx, project_id, &users, &tags, now).await?;
                }
                let mut changes = serde_json::Map::new();
                changes.insert(
                    "upserted".to_owned(),
                    serde_json::json!({ "before": null, "after": chosen.len() }),
                );
                let record = $crate::store::people::AuditRecord::new(
                    "profiles.imported",
                    "profiles",
                    changes,
                );
                Self::write_audit(&mut tx, project_id, actor, &record, now).await?;
                let change = $crate::bus::Change::profile(project_id, None);
                self.commit(tx, Some(change)).await?;
                Ok(chosen.len() as u64)
            }

            async fn create_segment(
                &self,
                actor: &$crate::store::people::Actor,
                project_id: i64,
                spec: &offers_core::segment::SegmentSpec,
                now: chrono::DateTime<chrono::Utc>,
            ) -> Result<$crate::store::audience::StoredSegment, $crate::store::StoreError> {
                use $crate::store::{millis, segment_to_json};
                let mut tx = self.begin_write().await?;
                let id: i64 = sqlx::query_scalar(
                    "INSERT INTO segments (project_id, spec, created_ms, updated_ms) \
                     VALUES ($1, $2, $3, $3) RETURNING id",
                )
                .bind(project_id)
                .bind(segment_to_json(spec)?)
                .bind(millis(now))
                .fetch_one(&mut *tx)
                .await?;
                Self::write_members(&mut tx, id, spec).await?;
                let record = $crate::store::segment_audit("segment.created", id, None, Some(spec))?;
                Self::write_audit(&mut tx, project_id, actor, &record, now).await?;
                let stored = Self::segment_row(&mut *tx, project_id, id, false).await?;
                let change = $crate::bus::Change::segment(project_id, id);
                self.commit(tx, Some(change)).await?;
                let mut stored = stored.ok_or_else(|| {
                    $crate::store::StoreError::Corrupt(format!("segment {id} vanished"))
                })?;
                stored.spec = spec.clone();
                Ok(stored)
            }

            async fn get_segment(
                &self,
                project_id: i64,
                id: i64,
            ) -> Result<Option<$crate::store::audience::StoredSegment>, $crate::store::StoreError>
            {
                let Some(mut stored) = Self::segment_row(&self.pool, project_id, id, false).await?
                else {
                    return Ok(None);
                };
                if stored.is_list() {
                    let ids = Self::member_ids(&self.pool, id).await?;
                    $crate::store::fill_list(&mut stored, ids)?;
                }
                Ok(Some(stored))
            }

            async fn list_segments(
                &self,
                project_id: i64,
            ) -> Result<Vec<$crate::store::audience::StoredSegment>, $crate::store::StoreError>
            {
                let rows = sqlx::query(
                    "SELECT id, spec, created_ms, updated_ms, \
                     (SELECT COUNT(*) FROM segment_members m WHERE m.segment_id = s.id) AS members \
                     FROM segments s WHERE project_id = $1 ORDER BY id",
                )
                .bind(project_id)
                .fetch_all(&self.pool)
                .await?;
                rows.iter().map($crate::store::segment_from_row).collect()
            }

            async fn update_segment(
                &self,
                actor: &$crate::store::people::Actor,
                project_id: i64,
                id: i64,
                apply: $crate::store::audience::SegmentApplyFn<'_>,
                now: chrono::DateTime<chrono::Utc>,
            ) -> Result<$crate::store::audience::SegmentUpdate, $crate::store::StoreError> {
                use $crate::store::audience::SegmentUpdate;
                use $crate::store::{millis, segment_to_json};
                let mut tx = self.begin_write().await?;
                let Some(mut stored) = Self::segment_row(&mut *tx, project_id, id, true).await?
                else {
                    tx.rollback().await?;
                    return Ok(SegmentUpdate::NotFound);
                };
                if stored.is_list() {
                    let ids = Self::member_ids(&mut *tx, id).await?;
                    $crate::store::fill_list(&mut stored, ids)?;
                }
                let spec = match apply(&stored.spec) {
                    Ok(spec) => spec,
                    Err(errors) => {
                        tx.rollback().await?;
                        return Ok(SegmentUpdate::Invalid(errors));
                    }
                };
                sqlx::query(
                    "UPDATE segments SET spec = $1, updated_ms = $2 \
                     WHERE project_id = $3 AND id = $4",
                )
                .bind(segment_to_json(&spec)?)
                .bind(millis(now))
                .bind(project_id)
                .bind(id)
                .execute(&mut *tx)
                .await?;
                Self::write_members(&mut tx, id, &spec).await?;
                let members = match &spec.def {
                    offers_core::segment::SegmentDef::List(_) => Some(
                        sqlx::query_scalar::<_, i64>(
                            "SELECT COUNT(*) FROM segment_members WHERE segment_id = $1",
                        )
                        .bind(id)
                        .fetch_one(&mut *tx)
                        .await?,
                    ),
                    offers_core::segment::SegmentDef::Rules(_) => None,
                };
                let record = $crate::store::segment_audit(
                    "segment.updated",
                    id,
                    Some(&stored.spec),
                    Some(&spec),
                )?;
                Self::write_audit(&mut tx, project_id, actor, &record, now).await?;
                let change = $crate::bus::Change::segment(project_id, id);
                self.commit(tx, Some(change)).await?;
                Ok(SegmentUpdate::Updated(Box::new(
                    $crate::store::audience::StoredSegment {
                        spec,
                        members,
                        updated_at: $crate::store::from_millis(millis(now))?,
                        ..stored
                    },
                )))
            }

            async fn delete_segment(
                &self,
                actor: &$crate::store::people::Actor,
                project_id: i64,
                id: i64,
                now: chrono::DateTime<chrono::Utc>,
            ) -> Result<$crate::store::audience::SegmentDelete, $crate::store::StoreError> {
                use $crate::store::audience::SegmentDelete;
                let mut tx = self.begin_write().await?;
                let Some(mut existing) = Self::segment_row(&mut *tx, project_id, id, true).await?
                else {
                    tx.rollback().await?;
                    return Ok(SegmentDelete::NotFound);
                };
                if existing.is_list() {
                    let ids = Self::member_ids(&mut *tx, id).await?;
                    $crate::store::fill_list(&mut existing, ids)?;
                }
                let users: Vec<i64> = sqlx::query_scalar(
                    "SELECT DISTINCT o.id FROM offer_segments s JOIN offers o ON o.id = s.offer_id \
                     WHERE o.project_id = $1 AND s.segment_id = $2 ORDER BY o.id",
                )
                .bind(project_id)
                .bind(id)
                .fetch_all(&mut *tx)
                .await?;
                if !users.is_empty() {
                    tx.rollback().await?;
                    return Ok(SegmentDelete::InUse(users));
                }
                sqlx::query("DELETE FROM segments WHERE project_id = $1 AND id = $2")
                    .bind(project_id)
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                let record =
                    $crate::store::segment_audit("segment.deleted", id, Some(&existing.spec), None)?;
                Self::write_audit(&mut tx, project_id, actor, &record, now).await?;
                let change = $crate::bus::Change::segment(project_id, id);
                self.commit(tx, Some(change)).await?;
                Ok(SegmentDelete::Deleted)
            }

            async fn segment_ids(
                &self,
                project_id: i64,
            ) -> Result<std::collections::HashSet<i64>, $crate::store::StoreError> {
                let ids: Vec<i64> =
                    sqlx::query_scalar("SELECT id FROM segments WHERE project_id = $1")
                        .bind(project_id)
                        .fetch_all(&self.pool)
                        .await?;
                Ok(ids.into_iter().collect())
            }

            async fn lists_of_user(
                &self,
                project_id: i64,
                user_id: &str,
            ) -> Result<std::collections::HashSet<i64>, $crate::store::StoreError> {
                let found: Vec<i64> = sqlx::query_scalar(
                    "SELECT m.segment_id FROM segment_members m \
                     JOIN segments s ON s.id = m.segment_id \
                     WHERE m.user_id = $1 AND s.project_id = $2",
                )
                .bind(user_id)
                .bind(project_id)
                .fetch_all(&self.pool)
                .await?;
                Ok(found.into_iter().collect())
            }

            async fn count_list_members(
                &self,
                project_id: i64,
                id: i64,
            ) -> Result<i64, $crate::store::StoreError> {
                Ok(sqlx::query_scalar(
                    "SELECT COUNT(*) FROM segment_members m JOIN known_users k \
                     ON k.project_id = $1 AND k.external_id = m.user_id WHERE m.segment_id = $2",
                )
                .bind(project_id)
                .bind(id)
                .fetch_one(&self.pool)
                .await?)
            }

            async fn count_profiles(
                &self,
                project_id: i64,
                filter: $crate::store::audience::ProfileFilter<'_>,
            ) -> Result<i64, $crate::store::StoreError> {
                use sqlx::Row as _;
                const PAGE: i64 = 5_000;
                let mut after = String::new();
                let mut count = 0;
                loop {
                    let rows = sqlx::query(
                        "SELECT user_id, profile FROM profiles WHERE project_id = $1 \
                         AND user_id > $2 ORDER BY user_id LIMIT $3",
                    )
                    .bind(project_id)
                    .bind(&after)
                    .bind(PAGE)
                    .fetch_all(&self.pool)
                    .await?;
                    for row in &rows {
                        let user: String = row.try_get("user_id")?;
                        let json: String = row.try_get("profile")?;
                        if filter(&$crate::store::profile_from_json(&user, &json)?) {
                            count += 1;
                        }
                    }
                    match rows.last() {
                        Some(row) if rows.len() as i64 == PAGE => after = row.try_get("user_id")?,
                        _ => return Ok(count),
                    }
                }
            }

            async fn put_test_send(
                &self,
                project_id: i64,
                send: &$crate::store::audience::TestSend,
            ) -> Result<(), $crate::store::StoreError> {
                let mut tx = self.begin_write().await?;
                sqlx::query(
                    "INSERT INTO test_sends (project_id, user_id, offer_id, until_ms) \
                     VALUES ($1, $2, $3, $4) ON CONFLICT (project_id, user_id, offer_id) \
                     DO UPDATE SET until_ms = excluded.until_ms",
                )
                .bind(project_id)
                .bind(&send.user_id)
                .bind(send.offer_id)
                .bind($crate::store::millis(send.until))
                .execute(&mut *tx)
                .await?;
                let change =
                    $crate::bus::Change::test_send(project_id, send.offer_id, &send.user_id);
                self.commit(tx, Some(change)).await
            }

            async fn test_sends(
                &self,
                project_id: i64,
                now: chrono::DateTime<chrono::Utc>,
            ) -> Result<Vec<$crate::store::audience::TestSend>, $crate::store::StoreError> {
                use sqlx::Row as _;
                let rows = sqlx::query(
                    "SELECT user_id, offer_id, until_ms FROM test_sends \
                     WHERE project_id = $1 AND until_ms > $2 ORDER BY offer_id",
                )
                .bind(project_id)
                .bind($crate::store::millis(now))
                .fetch_all(&self.pool)
                .await?;
                rows.iter()
                    .map(|row| {
                        Ok($crate::store::audience::TestSend {
                            user_id: row.try_get("user_id")?,
                            offer_id: row.try_get("offer_id")?,
                            until: $crate::store::from_millis(row.try_get("until_ms")?)?,
                        })
                    })
                    .collect()
            }
        }
    };
}

pub(crate) use audience_sql_store;
