//! Storage of webhooks (SPEC §9), as the [`WebhookStore`] half of the [`Store`](super::Store)
//! (implemented once in SQL for both backends by `webhooks_sql.rs`).
//!
//! Tables (migration 0008):
//! - `webhooks`: a project's endpoints (URL, subscribed types as JSON and as bits, secret).
//! - `webhook_outbox`: one row per (webhook, event), written in the transaction that stores
//!   the event: by the event ingest for each newly stored widget event whose type a webhook
//!   of its project subscribes to, and by `enqueue_conversion` for conversions. Rows are
//!   `pending` until a delivery of them is answered 2xx (`delivered`) or 24 h after they
//!   were written (`failed`). A worker claims rows with a lease (`claimed_until_ms`;
//!   PostgreSQL also skips rows another transaction has locked), so two replicas never send
//!   one row at once.
//! - `webhook_deliveries`: the log, one row per POST.
//!
//! After committing outbox rows the store wakes the process's delivery worker
//! ([`WebhookStore::outbox_signal`]); other replicas' rows are found by the worker's periodic
//! look.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use offers_core::api::webhooks::{DeliveryStatus, WebhookDelivery, WebhookEventType};

use super::StoreError;
use super::people::Actor;

/// Outbox rows are given up this long after they were written (24 h).
pub const GIVE_UP_AFTER_MS: i64 = 86_400_000;

/// The JSON object delivered for event `id` of type `kind` with `data`, stored at `now`.
pub(crate) fn payload(
    id: &str,
    kind: WebhookEventType,
    now: DateTime<Utc>,
    data: &impl serde::Serialize,
) -> Result<String, StoreError> {
    let event = offers_core::api::webhooks::WebhookEvent {
        id: id.to_owned(),
        kind,
        created_at: now,
        data: serde_json::to_value(data).map_err(|e| StoreError::Corrupt(e.to_string()))?,
    };
    serde_json::to_string(&event).map_err(|e| StoreError::Corrupt(e.to_string()))
}

/// A stored webhook, with its secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookRow {
    pub id: i64,
    pub project_id: i64,
    pub url: String,
    /// The subscribed types, in the order registered.
    pub events: Vec<WebhookEventType>,
    /// The signing secret.
    pub secret: String,
    pub created_at: DateTime<Utc>,
}

/// A webhook to register (its URL validated, its types without duplicates).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewWebhook {
    pub url: String,
    pub events: Vec<WebhookEventType>,
    pub secret: String,
}

/// A conversion to deliver to the project's `conversion` webhooks (see
/// `enqueue_conversion` on [`SqliteStore`](super::SqliteStore) and [`PgStore`](super::PgStore)).
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookConversion {
    /// The conversion's id (the client's idempotency id).
    pub id: String,
    pub user_id: String,
    pub name: String,
    pub value: Option<f64>,
    pub at: DateTime<Utc>,
    /// The offer it is attributed to, if any.
    pub offer_id: Option<i64>,
    /// The variant of that offer, if any.
    pub variant: Option<u32>,
}

/// One claimed outbox row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimedEvent {
    /// The outbox row's id.
    pub outbox_id: i64,
    /// The event's id (as delivered).
    pub event_id: String,
    /// The event's JSON object, as delivered.
    pub payload: String,
    /// Deliveries of it tried before.
    pub attempts: i64,
}

/// Outbox rows of one webhook claimed for one delivery (at most 100, oldest first).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimedBatch {
    pub webhook_id: i64,
    pub url: String,
    pub secret: String,
    /// The lease (ms) the rows are claimed until: finishing only touches rows still holding it.
    pub lease_ms: i64,
    pub events: Vec<ClaimedEvent>,
}

impl ClaimedBatch {
    /// The attempt number of this delivery (1 for rows never tried).
    pub fn attempt(&self) -> i64 {
        self.events.iter().map(|e| e.attempts).max().unwrap_or(0) + 1
    }
}

/// How a delivery ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryOutcome {
    /// Answered 2xx.
    pub delivered: bool,
    /// The endpoint's status, if it answered.
    pub http_status: Option<u16>,
    /// What went wrong (a non-2xx status, a timeout, a refused connection).
    pub error: Option<String>,
    pub duration_ms: i64,
    /// When to try the events again after a failure (rows whose 24 h run out before then are
    /// marked failed instead).
    pub retry_at: DateTime<Utc>,
}

/// Storage of webhooks, their outbox and their delivery log.
#[async_trait]
pub trait WebhookStore {
    /// Registers a webhook, with its audit entry (`webhook.created`; never the secret, and the
    /// URL only as [`offers_core::api::webhooks::redacted_url`] shows it).
    async fn create_webhook(
        &self,
        actor: &Actor,
        project_id: i64,
        webhook: &NewWebhook,
        now: DateTime<Utc>,
    ) -> Result<WebhookRow, StoreError>;

    /// The project's webhooks, newest first.
    async fn list_webhooks(&self, project_id: i64) -> Result<Vec<WebhookRow>, StoreError>;

    /// Deletes a webhook with its outbox rows and delivery log, with its audit entry
    /// (`webhook.deleted`). `false` when the project has no such webhook.
    async fn delete_webhook(
        &self,
        actor: &Actor,
        project_id: i64,
        id: i64,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError>;

    /// A page of a webhook's delivery log, newest first; `None` when the project has no such
    /// webhook.
    async fn list_deliveries(
        &self,
        project_id: i64,
        webhook_id: i64,
        limit: i64,
        offset: i64,
    ) -> Result<Option<Vec<WebhookDelivery>>, StoreError>;

    /// Claims, for up to `max_webhooks` webhooks not in `busy`, their oldest due pending rows
    /// (at most 100 each) until `lease_until`. Rows another worker holds are skipped.
    async fn claim_webhook_batches(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        busy: &[i64],
        max_webhooks: i64,
    ) -> Result<Vec<ClaimedBatch>, StoreError>;

    /// Records a delivery of `batch` (its log row; its rows delivered, or to retry at
    /// `outcome.retry_at`, or failed once their 24 h ran out) and says how it ended. Rows
    /// whose lease another worker took over meanwhile are left alone.
    async fn finish_webhook_batch(
        &self,
        batch: &ClaimedBatch,
        outcome: &DeliveryOutcome,
        now: DateTime<Utc>,
    ) -> Result<DeliveryStatus, StoreError>;

    /// When the next pending row of a webhook not in `busy` falls due (or its lease ends), if
    /// any is pending.
    async fn next_webhook_due(&self, busy: &[i64]) -> Result<Option<DateTime<Utc>>, StoreError>;

    /// Deletes outbox rows no longer pending and written before `cutoff`, and delivery log
    /// rows before `cutoff`; how many rows in all.
    async fn prune_webhooks(&self, cutoff: DateTime<Utc>) -> Result<u64, StoreError>;

    /// Notified after a commit wrote outbox rows (this process's writes only).
    fn outbox_signal(&self) -> Arc<tokio::sync::Notify>;
}
