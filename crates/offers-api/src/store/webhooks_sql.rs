//! The SQL of the [`WebhookStore`](super::webhooks::WebhookStore) and of the outbox writes made
//! inside other transactions (widget events, conversions), written once for both backends with
//! the same hooks as `sql.rs` (`begin_write`, `commit`, `json_scalars`, `json_values`,
//! `FOR_UPDATE`).

/// Implements [`WebhookStore`](super::webhooks::WebhookStore) for `$store` over `$db`, and its
/// in-transaction outbox writes.
macro_rules! webhooks_sql_store {
    ($store:ty, $db:ty) => {
        impl $store {
            /// Claims skip rows another transaction has locked (PostgreSQL); SQLite's
            /// `BEGIN IMMEDIATE` already serializes the claims.
            const SKIP_LOCKED: &'static str = if Self::FOR_UPDATE.is_empty() {
                ""
            } else {
                " FOR UPDATE SKIP LOCKED"
            };

            /// Writes outbox rows for the project's webhooks that subscribe to each event's
            /// type (`(type, event id, payload)`), inside `tx`; how many rows were written.
            /// An event a webhook already has in its outbox is skipped.
            async fn enqueue_webhook_rows(
                tx: &mut sqlx::Transaction<'static, $db>,
                project_id: i64,
                rows: &[(
                    offers_core::api::webhooks::WebhookEventType,
                    &str,
                    String,
                )],
                now: chrono::DateTime<chrono::Utc>,
            ) -> Result<u64, $crate::store::StoreError> {
                if rows.is_empty() {
                    return Ok(0);
                }
                let json: Vec<serde_json::Value> = rows
                    .iter()
                    .map(|(t, id, payload)| serde_json::json!([t.as_str(), id, payload, t.bit()]))
                    .collect();
                let written = sqlx::query(&format!(
                    "INSERT INTO webhook_outbox (webhook_id, event_type, event_id, payload, \
                     created_ms, next_ms) \
                     SELECT w.id, value ->> 0, value ->> 1, value ->> 2, $2, $2 \
                     FROM webhooks w, {} \
                     WHERE w.project_id = $1 AND (w.event_mask & CAST(value ->> 3 AS BIGINT)) <> 0 \
                     ON CONFLICT DO NOTHING",
                    Self::json_values("$3")
                ))
                .bind(project_id)
                .bind($crate::store::millis(now))
                .bind(serde_json::Value::Array(json).to_string())
                .execute(&mut **tx)
                .await?;
                Ok(written.rows_affected())
            }

            /// The types the project's webhooks subscribe to, as bits (0: none), inside `tx`.
            async fn webhook_mask_in(
                tx: &mut sqlx::Transaction<'static, $db>,
                project_id: i64,
            ) -> Result<i64, $crate::store::StoreError> {
                let masks: Vec<i64> =
                    sqlx::query_scalar("SELECT event_mask FROM webhooks WHERE project_id = $1")
                        .bind(project_id)
                        .fetch_all(&mut **tx)
                        .await?;
                Ok(masks.into_iter().fold(0, |m, b| m | b))
            }

            /// Enqueues the newly stored widget events (`stored`: their ids, of `events`) for
            /// the project's webhooks, inside the transaction that stored them. One small query
            /// when the project has no webhook. How many outbox rows were written.
            async fn enqueue_event_webhooks(
                tx: &mut sqlx::Transaction<'static, $db>,
                project_id: i64,
                events: &[&$crate::store::NewEvent],
                stored: &[String],
                now: chrono::DateTime<chrono::Utc>,
            ) -> Result<u64, $crate::store::StoreError> {
                use offers_core::api::webhooks::{OfferEventData, WebhookEventType};
                if stored.is_empty() {
                    return Ok(0);
                }
                let mask = Self::webhook_mask_in(tx, project_id).await?;
                if mask == 0 {
                    return Ok(0);
                }
                let stored: std::collections::HashSet<&str> =
                    stored.iter().map(String::as_str).collect();
                let mut rows = Vec::new();
                for e in events.iter().filter(|e| stored.contains(e.id.as_str())) {
                    let kind = WebhookEventType::of_event(e.kind);
                    if mask & kind.bit() == 0 {
                        continue;
                    }
                    let data = OfferEventData {
                        offer_id: e.offer_id,
                        variant: e.variant.map(u32::from),
                        room: e.room.clone(),
                        user: e.user.clone(),
                        at: e.at,
                    };
                    let payload = $crate::store::webhooks::payload(&e.id, kind, now, &data)?;
                    rows.push((kind, e.id.as_str(), payload));
                }
                Self::enqueue_webhook_rows(tx, project_id, &rows, now).await
            }

            /// Enqueues a conversion for the project's `conversion` webhooks inside `tx`, the
            /// transaction that stores the conversion (call it only when the conversion is
            /// new, not for a repeated id); how many outbox rows were written. After the
            /// commit, pass that count to `self.outbox_written(n)` so this process's worker
            /// sends it at once (else its next look, within 30 s, finds it).
            pub async fn enqueue_conversion(
                tx: &mut sqlx::Transaction<'static, $db>,
                project_id: i64,
                conversion: &$crate::store::webhooks::WebhookConversion,
                now: chrono::DateTime<chrono::Utc>,
            ) -> Result<u64, $crate::store::StoreError> {
                use offers_core::api::webhooks::{ConversionEventData, WebhookEventType};
                let kind = WebhookEventType::Conversion;
                if Self::webhook_mask_in(tx, project_id).await? & kind.bit() == 0 {
                    return Ok(0);
                }
                let data = ConversionEventData {
                    user_id: conversion.user_id.clone(),
                    name: conversion.name.clone(),
                    value: conversion.value,
                    at: conversion.at,
                    offer_id: conversion.offer_id,
                    variant: conversion.variant,
                };
                let payload = $crate::store::webhooks::payload(&conversion.id, kind, now, &data)?;
                Self::enqueue_webhook_rows(
                    tx,
                    project_id,
                    &[(kind, conversion.id.as_str(), payload)],
                    now,
                )
                .await
            }

            /// Wakes this process's delivery worker (after a commit that wrote outbox rows).
            fn outbox_written(&self, rows: u64) {
                if rows > 0 {
                    self.outbox_signal.notify_one();
                }
            }

            /// A webhook row from a row of `id, project_id, url, events, secret, created_ms`.
            fn webhook_from_row(
                row: &<$db as sqlx::Database>::Row,
            ) -> Result<$crate::store::webhooks::WebhookRow, $crate::store::StoreError> {
                use sqlx::Row as _;
                let id: i64 = row.try_get("id")?;
                let events: String = row.try_get("events")?;
                Ok($crate::store::webhooks::WebhookRow {
                    id,
                    project_id: row.try_get("project_id")?,
                    url: row.try_get("url")?,
                    events: serde_json::from_str(&events).map_err(|e| {
                        $crate::store::StoreError::Corrupt(format!("webhook {id} events: {e}"))
                    })?,
                    secret: row.try_get("secret")?,
                    created_at: $crate::store::from_millis(row.try_get("created_ms")?)?,
                })
            }

            /// The audit record of a webhook's creation or deletion (never its secret).
            fn webhook_audit(
                action: &str,
                before: Option<&$crate::store::webhooks::WebhookRow>,
                after: Option<&$crate::store::webhooks::WebhookRow>,
            ) -> $crate::store::people::AuditRecord {
                let wire = |w: Option<&$crate::store::webhooks::WebhookRow>| {
                    w.map_or(serde_json::Value::Null, |w| {
                        serde_json::json!({
                            "url": offers_core::api::webhooks::redacted_url(&w.url),
                            "events": w.events
                        })
                    })
                };
                let id = after.or(before).map_or(0, |w| w.id);
                $crate::store::people::AuditRecord::new(
                    action,
                    format!("webhook:{id}"),
                    $crate::store::people::diff(&wire(before), &wire(after)),
                )
            }
        }

        #[async_trait::async_trait]
        impl $crate::store::webhooks::WebhookStore for $store {
            async fn create_webhook(
                &self,
                actor: &$crate::store::people::Actor,
                project_id: i64,
                webhook: &$crate::store::webhooks::NewWebhook,
                now: chrono::DateTime<chrono::Utc>,
            ) -> Result<$crate::store::webhooks::WebhookRow, $crate::store::StoreError> {
                use offers_core::api::webhooks::WebhookEventType;
                let mut tx = self.begin_write().await?;
                let row = sqlx::query(
                    "INSERT INTO webhooks (project_id, url, events, event_mask, secret, \
                     created_ms) VALUES ($1, $2, $3, $4, $5, $6) \
                     RETURNING id, project_id, url, events, secret, created_ms",
                )
                .bind(project_id)
                .bind(&webhook.url)
                .bind(serde_json::to_string(&webhook.events).unwrap_or_else(|_| "[]".into()))
                .bind(WebhookEventType::mask(&webhook.events))
                .bind(&webhook.secret)
                .bind($crate::store::millis(now))
                .fetch_one(&mut *tx)
                .await?;
                let created = Self::webhook_from_row(&row)?;
                let record = Self::webhook_audit("webhook.created", None, Some(&created));
                Self::write_audit(&mut tx, project_id, actor, &record, now).await?;
                self.commit(tx, None).await?;
                Ok(created)
            }

            async fn list_webhooks(
                &self,
                project_id: i64,
            ) -> Result<Vec<$crate::store::webhooks::WebhookRow>, $crate::store::StoreError>
            {
                let rows = sqlx::query(
                    "SELECT id, project_id, url, events, secret, created_ms FROM webhooks \
                     WHERE project_id = $1 ORDER BY id DESC",
                )
                .bind(project_id)
                .fetch_all(&self.pool)
                .await?;
                rows.iter().map(Self::webhook_from_row).collect()
            }

            async fn delete_webhook(
                &self,
                actor: &$crate::store::people::Actor,
                project_id: i64,
                id: i64,
                now: chrono::DateTime<chrono::Utc>,
            ) -> Result<bool, $crate::store::StoreError> {
                let mut tx = self.begin_write().await?;
                let row = sqlx::query(
                    "DELETE FROM webhooks WHERE project_id = $1 AND id = $2 \
                     RETURNING id, project_id, url, events, secret, created_ms",
                )
                .bind(project_id)
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?;
                let Some(row) = row else {
                    tx.rollback().await?;
                    return Ok(false);
                };
                let deleted = Self::webhook_from_row(&row)?;
                let record = Self::webhook_audit("webhook.deleted", Some(&deleted), None);
                Self::write_audit(&mut tx, project_id, actor, &record, now).await?;
                self.commit(tx, None).await?;
                Ok(true)
            }

            async fn list_deliveries(
                &self,
                project_id: i64,
                webhook_id: i64,
                limit: i64,
                offset: i64,
            ) -> Result<
                Option<Vec<offers_core::api::webhooks::WebhookDelivery>>,
                $crate::store::StoreError,
            > {
                use offers_core::api::webhooks::{DeliveryStatus, WebhookDelivery};
                use sqlx::Row as _;
                use $crate::store::{StoreError, from_millis};
                let exists: Option<i64> =
                    sqlx::query_scalar("SELECT id FROM webhooks WHERE project_id = $1 AND id = $2")
                        .bind(project_id)
                        .bind(webhook_id)
                        .fetch_optional(&self.pool)
                        .await?;
                if exists.is_none() {
                    return Ok(None);
                }
                let rows = sqlx::query(
                    "SELECT id, at_ms, event_ids, status, http_status, error, attempt, \
                     duration_ms FROM webhook_deliveries WHERE webhook_id = $1 \
                     ORDER BY id DESC LIMIT $2 OFFSET $3",
                )
                .bind(webhook_id)
                .bind(limit)
                .bind(offset)
                .fetch_all(&self.pool)
                .await?;
                rows.iter()
                    .map(|row| {
                        let id: i64 = row.try_get("id")?;
                        let ids: String = row.try_get("event_ids")?;
                        let status: String = row.try_get("status")?;
                        let http_status: Option<i64> = row.try_get("http_status")?;
                        Ok(WebhookDelivery {
                            id,
                            at: from_millis(row.try_get("at_ms")?)?,
                            event_ids: serde_json::from_str(&ids).map_err(|e| {
                                StoreError::Corrupt(format!("delivery {id} event ids: {e}"))
                            })?,
                            status: DeliveryStatus::parse(&status).ok_or_else(|| {
                                StoreError::Corrupt(format!("delivery {id} status {status}"))
                            })?,
                            http_status: http_status.and_then(|s| u16::try_from(s).ok()),
                            error: row.try_get("error")?,
                            attempt: row.try_get("attempt")?,
                            duration_ms: row.try_get("duration_ms")?,
                        })
                    })
                    .collect::<Result<Vec<_>, StoreError>>()
                    .map(Some)
            }

            async fn claim_webhook_batches(
                &self,
                now: chrono::DateTime<chrono::Utc>,
                lease_until: chrono::DateTime<chrono::Utc>,
                busy: &[i64],
                max_webhooks: i64,
            ) -> Result<Vec<$crate::store::webhooks::ClaimedBatch>, $crate::store::StoreError>
            {
                use offers_core::api::webhooks::MAX_EVENTS_PER_DELIVERY;
                use sqlx::Row as _;
                use $crate::store::millis;
                use $crate::store::webhooks::{ClaimedBatch, ClaimedEvent};
                let (now_ms, lease_ms) = (millis(now), millis(lease_until));
                let due = sqlx::query(&format!(
                    "SELECT o.webhook_id, w.url, w.secret, MIN(o.id) AS first \
                     FROM webhook_outbox o JOIN webhooks w ON w.id = o.webhook_id \
                     WHERE o.state = 'pending' AND o.next_ms <= $1 AND o.claimed_until_ms <= $1 \
                     AND o.webhook_id NOT IN (SELECT CAST(value AS BIGINT) FROM {}) \
                     GROUP BY o.webhook_id, w.url, w.secret ORDER BY first LIMIT $3",
                    Self::json_scalars("$2")
                ))
                .bind(now_ms)
                .bind($crate::store::json_array(busy))
                .bind(max_webhooks)
                .fetch_all(&self.pool)
                .await?;
                let mut batches = Vec::new();
                for webhook in &due {
                    let webhook_id: i64 = webhook.try_get("webhook_id")?;
                    let mut tx = self.begin_write().await?;
                    let rows = sqlx::query(&format!(
                        "UPDATE webhook_outbox SET claimed_until_ms = $3 WHERE id IN \
                         (SELECT id FROM webhook_outbox WHERE webhook_id = $1 \
                          AND state = 'pending' AND next_ms <= $2 AND claimed_until_ms <= $2 \
                          ORDER BY id LIMIT {MAX_EVENTS_PER_DELIVERY}{}) \
                         AND state = 'pending' AND claimed_until_ms <= $2 \
                         RETURNING id, event_id, payload, attempts",
                        Self::SKIP_LOCKED
                    ))
                    .bind(webhook_id)
                    .bind(now_ms)
                    .bind(lease_ms)
                    .fetch_all(&mut *tx)
                    .await?;
                    self.commit(tx, None).await?;
                    let mut events = rows
                        .iter()
                        .map(|row| {
                            Ok(ClaimedEvent {
                                outbox_id: row.try_get("id")?,
                                event_id: row.try_get("event_id")?,
                                payload: row.try_get("payload")?,
                                attempts: row.try_get("attempts")?,
                            })
                        })
                        .collect::<Result<Vec<_>, $crate::store::StoreError>>()?;
                    if events.is_empty() {
                        continue;
                    }
                    events.sort_unstable_by_key(|e| e.outbox_id);
                    batches.push(ClaimedBatch {
                        webhook_id,
                        url: webhook.try_get("url")?,
                        secret: webhook.try_get("secret")?,
                        lease_ms,
                        events,
                    });
                }
                Ok(batches)
            }

            async fn finish_webhook_batch(
                &self,
                batch: &$crate::store::webhooks::ClaimedBatch,
                outcome: &$crate::store::webhooks::DeliveryOutcome,
                now: chrono::DateTime<chrono::Utc>,
            ) -> Result<offers_core::api::webhooks::DeliveryStatus, $crate::store::StoreError>
            {
                use offers_core::api::webhooks::DeliveryStatus;
                use $crate::store::webhooks::GIVE_UP_AFTER_MS;
                use $crate::store::{json_array, millis};
                let ids: Vec<i64> = batch.events.iter().map(|e| e.outbox_id).collect();
                let mut tx = self.begin_write().await?;
                let status = if outcome.delivered {
                    sqlx::query(&format!(
                        "UPDATE webhook_outbox SET state = 'delivered', attempts = attempts + 1, \
                         claimed_until_ms = 0 WHERE webhook_id = $1 AND claimed_until_ms = $2 \
                         AND id IN (SELECT CAST(value AS BIGINT) FROM {})",
                        Self::json_scalars("$3")
                    ))
                    .bind(batch.webhook_id)
                    .bind(batch.lease_ms)
                    .bind(json_array(&ids))
                    .execute(&mut *tx)
                    .await?;
                    DeliveryStatus::Delivered
                } else {
                    let states: Vec<String> = sqlx::query_scalar(&format!(
                        "UPDATE webhook_outbox SET attempts = attempts + 1, claimed_until_ms = 0, \
                         next_ms = $4, state = CASE WHEN $4 > created_ms + $5 THEN 'failed' \
                         ELSE 'pending' END \
                         WHERE webhook_id = $1 AND claimed_until_ms = $2 \
                         AND id IN (SELECT CAST(value AS BIGINT) FROM {}) RETURNING state",
                        Self::json_scalars("$3")
                    ))
                    .bind(batch.webhook_id)
                    .bind(batch.lease_ms)
                    .bind(json_array(&ids))
                    .bind(millis(outcome.retry_at))
                    .bind(GIVE_UP_AFTER_MS)
                    .fetch_all(&mut *tx)
                    .await?;
                    if states.iter().any(|s| s == "failed") {
                        DeliveryStatus::Failed
                    } else {
                        DeliveryStatus::Retrying
                    }
                };
                let event_ids: Vec<&str> = batch.events.iter().map(|e| e.event_id.as_str()).collect();
                sqlx::query(
                    "INSERT INTO webhook_deliveries (webhook_id, at_ms, event_ids, status, \
                     http_status, error, attempt, duration_ms) \
                     SELECT id, $2, $3, $4, $5, $6, $7, $8 FROM webhooks WHERE id = $1",
                )
                .bind(batch.webhook_id)
                .bind(millis(now))
                .bind(json_array(&event_ids))
                .bind(status.as_str())
                .bind(outcome.http_status.map(i64::from))
                .bind(outcome.error.as_deref())
                .bind(batch.attempt())
                .bind(outcome.duration_ms)
                .execute(&mut *tx)
                .await?;
                self.commit(tx, None).await?;
                Ok(status)
            }

            async fn next_webhook_due(
                &self,
                busy: &[i64],
            ) -> Result<Option<chrono::DateTime<chrono::Utc>>, $crate::store::StoreError> {
                let due: Option<i64> = sqlx::query_scalar(&format!(
                    "SELECT MIN(CASE WHEN claimed_until_ms > next_ms THEN claimed_until_ms \
                     ELSE next_ms END) FROM webhook_outbox WHERE state = 'pending' \
                     AND webhook_id NOT IN (SELECT CAST(value AS BIGINT) FROM {})",
                    Self::json_scalars("$1")
                ))
                .bind($crate::store::json_array(busy))
                .fetch_one(&self.pool)
                .await?;
                due.map($crate::store::from_millis).transpose()
            }

            async fn prune_webhooks(
                &self,
                cutoff: chrono::DateTime<chrono::Utc>,
            ) -> Result<u64, $crate::store::StoreError> {
                let cutoff = $crate::store::millis(cutoff);
                let mut tx = self.begin_write().await?;
                let outbox = sqlx::query(
                    "DELETE FROM webhook_outbox WHERE state <> 'pending' AND created_ms < $1",
                )
                .bind(cutoff)
                .execute(&mut *tx)
                .await?;
                let log = sqlx::query("DELETE FROM webhook_deliveries WHERE at_ms < $1")
                    .bind(cutoff)
                    .execute(&mut *tx)
                    .await?;
                self.commit(tx, None).await?;
                Ok(outbox.rows_affected() + log.rows_affected())
            }

            fn outbox_signal(&self) -> std::sync::Arc<tokio::sync::Notify> {
                std::sync::Arc::clone(&self.outbox_signal)
            }
        }
    };
}

pub(crate) use webhooks_sql_store;
