//! Retention: events older than `--retention-days` (default 90, "3 months" as the broadcast
//! documents keep their logs) and offers that ended before then are deleted by a background
//! task of `serve` (first run shortly after start, then every `--retention-interval` seconds,
//! default hourly). The deletes are idempotent, so every replica may run it.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::store::{PurgeCounts, Store, StoreError};

/// The delay before the first purge after start-up.
pub const FIRST_RUN_AFTER: Duration = Duration::from_secs(30);

/// The instant before which data is purged.
pub fn cutoff(now: DateTime<Utc>, retention_days: u32) -> DateTime<Utc> {
    now - chrono::Duration::days(i64::from(retention_days))
}

/// Deletes, as of `now`, the events older than `retention_days` and the offers that ended
/// before then.
pub async fn purge_expired(
    store: &dyn Store,
    now: DateTime<Utc>,
    retention_days: u32,
) -> Result<PurgeCounts, StoreError> {
    let counts = store.purge_before(cutoff(now, retention_days)).await?;
    if counts != PurgeCounts::default() {
        tracing::info!(
            events = counts.events,
            offers = counts.offers,
            retention_days,
            "retention purge"
        );
    }
    Ok(counts)
}

/// Runs [`purge_expired`] after [`FIRST_RUN_AFTER`] and then every `interval`, until
/// `shutdown` resolves.
pub async fn run(
    store: Arc<dyn Store>,
    retention_days: u32,
    interval: Duration,
    shutdown: impl Future<Output = ()>,
) {
    tokio::pin!(shutdown);
    let mut next = tokio::time::Instant::now() + FIRST_RUN_AFTER.min(interval);
    loop {
        tokio::select! {
            () = &mut shutdown => return,
            () = tokio::time::sleep_until(next) => {}
        }
        if let Err(e) = purge_expired(store.as_ref(), Utc::now(), retention_days).await {
            tracing::warn!(error = %e, "retention purge failed; retrying at the next interval");
        }
        next = tokio::time::Instant::now() + interval.max(Duration::from_secs(1));
    }
}
