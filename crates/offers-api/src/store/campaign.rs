//! Storage of campaigns (SPEC §9): the host's tracked events, conversions and their
//! attribution, per-variant figures and a user's recent pop-ups, as the [`CampaignStore`] half
//! of the [`Store`](super::Store) (implemented once in SQL for both backends by
//! `campaign_sql.rs`).
//!
//! Tables (migration 0007):
//! - `events.variant`: the variant each widget event was of (NULL: no variants).
//! - `tracked_events`: `Offers.track` events, unique per (`project_id`, `event_id`), written
//!   by the ingest's group commit in the events' transaction.
//! - `conversions`: unique per (`project_id`, `conversion_id`); each is attributed when stored
//!   to the user's last click (`events`, kind `click`) at most the project's window before it.
//! - `projects.cap_*`, `min_gap_ms` (0: no cap), `attribution_window_hours`.

use std::collections::HashMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::StoreError;

/// A tracked event, ready to store (validated by `http::events`).
#[derive(Debug, Clone, PartialEq)]
pub struct NewTracked {
    /// The client's id (unique per project).
    pub id: String,
    pub name: String,
    /// The properties as JSON object text.
    pub props: String,
    pub room: String,
    /// The verified user, if any.
    pub user: Option<String>,
    pub at: DateTime<Utc>,
    /// Also a conversion (stored as one only with a verified user).
    pub conversion: bool,
    pub value: Option<f64>,
}

/// A conversion, ready to store.
#[derive(Debug, Clone, PartialEq)]
pub struct NewConversion {
    /// The client's id (unique per project).
    pub id: String,
    pub user: String,
    pub name: String,
    pub value: Option<f64>,
    pub at: DateTime<Utc>,
}

/// A stored conversion's attribution.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attribution {
    /// The offer of the last click within the window, if any.
    pub offer_id: Option<i64>,
    /// That click's variant.
    pub variant: Option<i64>,
    /// The id was stored before (this is the first one's attribution).
    pub duplicate: bool,
}

/// One offer's (and variant's) figures of one local day.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct FigureRow {
    /// Days since 1970-01-01 in the caller's zone.
    pub day: i64,
    pub offer_id: i64,
    pub variant: Option<i64>,
    pub impressions: i64,
    pub clicks: i64,
    pub closes: i64,
    pub conversions: i64,
    pub conversion_value: f64,
}

/// Conversions of one offer: how many and their values' sum.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ConversionTotals {
    pub conversions: i64,
    pub value: f64,
}

/// A user's pop-up impression (for caps across devices).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShownImpression {
    /// The event id.
    pub id: String,
    pub offer_id: i64,
    pub at: DateTime<Utc>,
}

/// What the API stores of campaigns. Implemented once, by `campaign_sql::campaign_sql_store!`.
#[async_trait]
pub trait CampaignStore: Send + Sync {
    /// Stores a conversion (an id stored before: nothing, the first one's attribution), in its
    /// own write transaction. Attributed to `user`'s last click with `at - window <= click <=
    /// at`.
    async fn record_conversion(
        &self,
        project_id: i64,
        conversion: &NewConversion,
        window: chrono::Duration,
        now: DateTime<Utc>,
    ) -> Result<Attribution, StoreError>;

    /// The figures per local day, offer and variant of events and conversions with `from <=
    /// at < to` (one offer's, or with `None` every offer's), ordered by day, offer, variant.
    async fn figure_rows(
        &self,
        project_id: i64,
        offer_id: Option<i64>,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        utc_offset_minutes: i32,
    ) -> Result<Vec<FigureRow>, StoreError>;

    /// All-time conversions of several offers (offers without any are absent).
    async fn conversion_totals(
        &self,
        project_id: i64,
        offer_ids: &[i64],
    ) -> Result<HashMap<i64, ConversionTotals>, StoreError>;

    /// How many tracked events of each name there are with `from <= at < to` (names without
    /// any are absent).
    async fn tracked_counts(
        &self,
        project_id: i64,
        names: &[String],
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<HashMap<String, i64>, StoreError>;

    /// `user`'s impressions since `since`, newest first, at most `limit`.
    async fn user_recent_impressions(
        &self,
        project_id: i64,
        user: &str,
        since: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<ShownImpression>, StoreError>;
}
