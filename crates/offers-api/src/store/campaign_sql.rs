//! The SQL of the [`CampaignStore`](super::campaign::CampaignStore), written once for both
//! backends with the same hooks as `sql.rs` (`begin_write`, `commit`, `json_scalars`,
//! `json_values`).

/// Implements [`CampaignStore`](super::campaign::CampaignStore) for `$store` over `$db`.
macro_rules! campaign_sql_store {
    ($store:ty, $db:ty) => {
        impl $store {
            /// Conversions of one project in one statement, inside `tx`, each attributed to its
            /// user's last click at most `window_ms` before it; ids the project stored before
            /// are skipped. Each new one is queued for the project's `conversion` webhooks in
            /// the same transaction. Returns the new ids and the outbox rows written.
            async fn insert_conversions_in(
                tx: &mut sqlx::Transaction<'static, $db>,
                project_id: i64,
                conversions: &[&$crate::store::campaign::NewConversion],
                window_ms: i64,
                now: chrono::DateTime<chrono::Utc>,
            ) -> Result<(Vec<String>, u64), $crate::store::StoreError> {
                use sqlx::Row as _;
                use $crate::store::millis;
                if conversions.is_empty() {
                    return Ok((Vec::new(), 0));
                }
                let rows: Vec<serde_json::Value> = conversions
                    .iter()
                    .map(|c| serde_json::json!([c.id, c.user, c.name, c.value, millis(c.at)]))
                    .collect();
                // The attributed click: the user's last one within the window (ties: the
                // greater event id, so the choice is the same on every backend).
                let click = |column: &str| {
                    format!(
                        "(SELECT e.{column} FROM events e WHERE e.project_id = $1 \
                         AND e.user_id = c.user_id AND e.kind = 'click' \
                         AND e.at_ms <= c.at_ms AND e.at_ms >= c.at_ms - $3 \
                         ORDER BY e.at_ms DESC, e.event_id DESC LIMIT 1)"
                    )
                };
                let stored = sqlx::query(&format!(
                    "INSERT INTO conversions (project_id, conversion_id, user_id, name, value, \
                     at_ms, offer_id, variant, received_ms) \
                     SELECT $1, c.id, c.user_id, c.name, c.amount, c.at_ms, {}, {}, $2 \
                     FROM (SELECT value ->> 0 AS id, value ->> 1 AS user_id, \
                     value ->> 2 AS name, CAST(value ->> 3 AS DOUBLE PRECISION) AS amount, \
                     CAST(value ->> 4 AS BIGINT) AS at_ms FROM {}) c \
                     WHERE true ON CONFLICT DO NOTHING \
                     RETURNING conversion_id, offer_id, variant",
                    click("offer_id"),
                    click("variant"),
                    Self::json_values("$4")
                ))
                .bind(project_id)
                .bind(millis(now))
                .bind(window_ms)
                .bind(serde_json::Value::Array(rows).to_string())
                .fetch_all(&mut **tx)
                .await?;
                let mut ids = Vec::with_capacity(stored.len());
                let mut outbox = 0;
                for row in &stored {
                    let id: String = row.try_get("conversion_id")?;
                    let variant: Option<i64> = row.try_get("variant")?;
                    if let Some(c) = conversions.iter().find(|c| c.id == id) {
                        let conversion = $crate::store::webhooks::WebhookConversion {
                            id: c.id.clone(),
                            user_id: c.user.clone(),
                            name: c.name.clone(),
                            value: c.value,
                            at: c.at,
                            offer_id: row.try_get("offer_id")?,
                            variant: variant.and_then(|v| u32::try_from(v).ok()),
                        };
                        outbox += Self::enqueue_conversion(tx, project_id, &conversion, now).await?;
                    }
                    ids.push(id);
                }
                Ok((ids, outbox))
            }

            /// Tracked events of one project in one statement, inside `tx` (ids stored before
            /// are skipped); the new ones flagged `conversion` with a user are also stored as
            /// conversions (id = the event id). Returns the new tracked events' ids and the
            /// webhook outbox rows written.
            async fn insert_tracked_in(
                tx: &mut sqlx::Transaction<'static, $db>,
                project_id: i64,
                tracked: &[&$crate::store::campaign::NewTracked],
                window_ms: i64,
                now: chrono::DateTime<chrono::Utc>,
            ) -> Result<(Vec<String>, u64), $crate::store::StoreError> {
                use $crate::store::millis;
                if tracked.is_empty() {
                    return Ok((Vec::new(), 0));
                }
                let rows: Vec<serde_json::Value> = tracked
                    .iter()
                    .map(|t| {
                        serde_json::json!([
                            t.id,
                            t.name,
                            t.props,
                            t.room,
                            t.user,
                            t.conversion.to_string(),
                            t.value,
                            millis(t.at)
                        ])
                    })
                    .collect();
                let new: Vec<String> = sqlx::query_scalar(&format!(
                    "INSERT INTO tracked_events (project_id, event_id, name, props, room_id, \
                     user_id, conversion, value, at_ms, received_ms) \
                     SELECT $1, value ->> 0, value ->> 1, value ->> 2, value ->> 3, \
                     value ->> 4, value ->> 5 = 'true', CAST(value ->> 6 AS DOUBLE PRECISION), \
                     CAST(value ->> 7 AS BIGINT), $2 FROM {} \
                     WHERE true ON CONFLICT DO NOTHING RETURNING event_id",
                    Self::json_values("$3")
                ))
                .bind(project_id)
                .bind(millis(now))
                .bind(serde_json::Value::Array(rows).to_string())
                .fetch_all(&mut **tx)
                .await?;
                let new_ids: std::collections::HashSet<String> = new.iter().cloned().collect();
                let conversions: Vec<$crate::store::campaign::NewConversion> = tracked
                    .iter()
                    .filter(|t| t.conversion && new_ids.contains(&t.id))
                    .filter_map(|t| {
                        Some($crate::store::campaign::NewConversion {
                            // Its own id space: a page's event can never take (or answer
                            // for) an id the partner reports with POST /external/conversion.
                            id: format!("track:{}", t.id),
                            user: t.user.clone()?,
                            name: t.name.clone(),
                            value: t.value,
                            at: t.at,
                        })
                    })
                    .collect();
                let refs: Vec<&$crate::store::campaign::NewConversion> =
                    conversions.iter().collect();
                let (_, outbox) =
                    Self::insert_conversions_in(tx, project_id, &refs, window_ms, now).await?;
                Ok((new, outbox))
            }
        }

        #[async_trait::async_trait]
        impl $crate::store::campaign::CampaignStore for $store {
            async fn record_conversion(
                &self,
                project_id: i64,
                conversion: &$crate::store::campaign::NewConversion,
                window: chrono::Duration,
                now: chrono::DateTime<chrono::Utc>,
            ) -> Result<$crate::store::campaign::Attribution, $crate::store::StoreError> {
                use sqlx::Row as _;
                let mut tx = self.begin_write().await?;
                let (new, outbox) = Self::insert_conversions_in(
                    &mut tx,
                    project_id,
                    &[conversion],
                    window.num_milliseconds(),
                    now,
                )
                .await?;
                let row = sqlx::query(
                    "SELECT offer_id, variant FROM conversions \
                     WHERE project_id = $1 AND conversion_id = $2",
                )
                .bind(project_id)
                .bind(&conversion.id)
                .fetch_one(&mut *tx)
                .await?;
                let attribution = $crate::store::campaign::Attribution {
                    offer_id: row.try_get("offer_id")?,
                    variant: row.try_get("variant")?,
                    duplicate: new.is_empty(),
                };
                self.commit(tx, None).await?;
                self.outbox_written(outbox);
                Ok(attribution)
            }

            async fn figure_rows(
                &self,
                project_id: i64,
                offer_id: Option<i64>,
                from: chrono::DateTime<chrono::Utc>,
                to: chrono::DateTime<chrono::Utc>,
                utc_offset_minutes: i32,
            ) -> Result<Vec<$crate::store::campaign::FigureRow>, $crate::store::StoreError> {
                use sqlx::Row as _;
                use $crate::store::{DAY_MS, millis, offset_ms};
                let only = if offer_id.is_some() {
                    "AND offer_id = $5"
                } else {
                    ""
                };
                let events_sql = format!(
                    "SELECT (at_ms + $4) / {DAY_MS} AS day, offer_id, variant, \
                     SUM(CASE WHEN kind = 'impression' THEN 1 ELSE 0 END) AS impressions, \
                     SUM(CASE WHEN kind = 'click' THEN 1 ELSE 0 END) AS clicks, \
                     SUM(CASE WHEN kind = 'close' THEN 1 ELSE 0 END) AS closes \
                     FROM events WHERE project_id = $1 AND at_ms >= $2 AND at_ms < $3 {only} \
                     GROUP BY day, offer_id, variant"
                );
                let conversions_sql = format!(
                    "SELECT (at_ms + $4) / {DAY_MS} AS day, offer_id, variant, \
                     COUNT(*) AS n, SUM(value) AS total FROM conversions \
                     WHERE project_id = $1 AND offer_id IS NOT NULL AND at_ms >= $2 \
                     AND at_ms < $3 {only} GROUP BY day, offer_id, variant"
                );
                let mut rows: std::collections::BTreeMap<
                    (i64, i64, Option<i64>),
                    $crate::store::campaign::FigureRow,
                > = std::collections::BTreeMap::new();
                let key = |row: &<$db as sqlx::Database>::Row| -> Result<_, $crate::store::StoreError> {
                    Ok((
                        row.try_get::<i64, _>("day")?,
                        row.try_get::<i64, _>("offer_id")?,
                        row.try_get::<Option<i64>, _>("variant")?,
                    ))
                };
                let mut events = sqlx::query(&events_sql);
                let mut conversions = sqlx::query(&conversions_sql);
                for value in [project_id, millis(from), millis(to), offset_ms(utc_offset_minutes)]
                    .into_iter()
                    .chain(offer_id)
                {
                    events = events.bind(value);
                    conversions = conversions.bind(value);
                }
                for row in events.fetch_all(&self.pool).await? {
                    let (day, offer_id, variant) = key(&row)?;
                    let get = |name: &str| -> Result<i64, $crate::store::StoreError> {
                        Ok(row.try_get::<Option<i64>, _>(name)?.unwrap_or(0))
                    };
                    let entry = rows.entry((day, offer_id, variant)).or_insert(
                        $crate::store::campaign::FigureRow {
                            day,
                            offer_id,
                            variant,
                            ..Default::default()
                        },
                    );
                    entry.impressions = get("impressions")?;
                    entry.clicks = get("clicks")?;
                    entry.closes = get("closes")?;
                }
                for row in conversions.fetch_all(&self.pool).await? {
                    let (day, offer_id, variant) = key(&row)?;
                    let entry = rows.entry((day, offer_id, variant)).or_insert(
                        $crate::store::campaign::FigureRow {
                            day,
                            offer_id,
                            variant,
                            ..Default::default()
                        },
                    );
                    entry.conversions = row.try_get("n")?;
                    entry.conversion_value =
                        row.try_get::<Option<f64>, _>("total")?.unwrap_or(0.0);
                }
                Ok(rows.into_values().collect())
            }

            async fn conversion_totals(
                &self,
                project_id: i64,
                offer_ids: &[i64],
            ) -> Result<
                std::collections::HashMap<i64, $crate::store::campaign::ConversionTotals>,
                $crate::store::StoreError,
            > {
                use sqlx::Row as _;
                if offer_ids.is_empty() {
                    return Ok(std::collections::HashMap::new());
                }
                let rows = sqlx::query(&format!(
                    "SELECT offer_id, COUNT(*) AS n, SUM(value) AS total FROM conversions \
                     WHERE project_id = $1 \
                     AND offer_id IN (SELECT CAST(value AS BIGINT) FROM {}) GROUP BY offer_id",
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
                            $crate::store::campaign::ConversionTotals {
                                conversions: row.try_get("n")?,
                                value: row.try_get::<Option<f64>, _>("total")?.unwrap_or(0.0),
                            },
                        ))
                    })
                    .collect()
            }

            async fn tracked_counts(
                &self,
                project_id: i64,
                names: &[String],
                from: chrono::DateTime<chrono::Utc>,
                to: chrono::DateTime<chrono::Utc>,
            ) -> Result<std::collections::HashMap<String, i64>, $crate::store::StoreError> {
                use sqlx::Row as _;
                if names.is_empty() {
                    return Ok(std::collections::HashMap::new());
                }
                let rows = sqlx::query(&format!(
                    "SELECT name, COUNT(*) AS n FROM tracked_events WHERE project_id = $1 \
                     AND at_ms >= $2 AND at_ms < $3 \
                     AND name IN (SELECT value FROM {}) GROUP BY name",
                    Self::json_scalars("$4")
                ))
                .bind(project_id)
                .bind($crate::store::millis(from))
                .bind($crate::store::millis(to))
                .bind($crate::store::json_array(names))
                .fetch_all(&self.pool)
                .await?;
                rows.iter()
                    .map(|row| Ok((row.try_get("name")?, row.try_get("n")?)))
                    .collect()
            }

            async fn user_recent_impressions(
                &self,
                project_id: i64,
                user: &str,
                since: chrono::DateTime<chrono::Utc>,
                limit: i64,
            ) -> Result<Vec<$crate::store::campaign::ShownImpression>, $crate::store::StoreError>
            {
                use sqlx::Row as _;
                let rows = sqlx::query(
                    "SELECT event_id, offer_id, at_ms FROM events WHERE project_id = $1 \
                     AND user_id = $2 AND kind = 'impression' AND at_ms >= $3 \
                     ORDER BY at_ms DESC, event_id DESC LIMIT $4",
                )
                .bind(project_id)
                .bind(user)
                .bind($crate::store::millis(since))
                .bind(limit)
                .fetch_all(&self.pool)
                .await?;
                rows.iter()
                    .map(|row| {
                        Ok($crate::store::campaign::ShownImpression {
                            id: row.try_get("event_id")?,
                            offer_id: row.try_get("offer_id")?,
                            at: $crate::store::from_millis(row.try_get("at_ms")?)?,
                        })
                    })
                    .collect()
            }
        }
    };
}

pub(crate) use campaign_sql_store;
