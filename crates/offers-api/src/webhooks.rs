//! Webhook deliveries (SPEC §9): one worker task per process ([`run`], started by `serve`)
//! sends the outbox's pending events to their webhooks.
//!
//! - The outbox rows are written by the store in the transaction that stores their events
//!   (`store::webhooks`), so an event is delivered exactly when it was stored, and deliveries
//!   survive a restart: the worker's state is the outbox.
//! - The worker wakes when this process commits outbox rows
//!   ([`WebhookStore::outbox_signal`](crate::store::webhooks::WebhookStore::outbox_signal)),
//!   when the next retry falls due, and at least every [`POLL_EVERY`] (rows other replicas
//!   wrote, leases that ran out).
//! - Each round claims (with a lease, see [`LEASE`]) up to 100 due events of each webhook that
//!   has no delivery in flight here, and POSTs each batch in its own task with a
//!   [`POST_TIMEOUT`]: a slow endpoint holds only its own task, never the feed, the ingest
//!   or other webhooks.
//! - 2xx: delivered. Anything else (a status, a timeout, a refused connection): retried after
//!   `retry_base × 2^(attempt − 1)` (at most [`MAX_BACKOFF`]), until 24 h after the event,
//!   then marked failed. Every POST is logged (`webhook_deliveries`).
//! - Redirects are not followed (a registered URL is where events go, nowhere else).

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use offers_core::api::webhooks::SIGNATURE_HEADER;
use sha2::Sha256;
use tokio::task::JoinSet;

use crate::store::Store;
use crate::store::webhooks::{ClaimedBatch, DeliveryOutcome};

/// How long one POST may take, connecting and answering included.
pub const POST_TIMEOUT: Duration = Duration::from_secs(10);
/// How long claimed rows stay reserved for the worker that claimed them (well above
/// [`POST_TIMEOUT`]: a worker that died mid-delivery leaves them to others after this).
pub const LEASE: Duration = Duration::from_secs(60);
/// The longest wait between two attempts of one event.
pub const MAX_BACKOFF: Duration = Duration::from_secs(6 * 3600);
/// The longest the worker sleeps without looking at the outbox.
pub const POLL_EVERY: Duration = Duration::from_secs(30);
/// Deliveries in flight at once per process (one per webhook).
const MAX_IN_FLIGHT: usize = 32;
/// Delivered and failed outbox rows and delivery log rows are kept this long.
const KEEP_DAYS: i64 = 30;
/// How often old rows are pruned.
const PRUNE_EVERY: Duration = Duration::from_secs(3600);
/// The longest error text kept in the log.
const MAX_ERROR_CHARS: usize = 300;

/// The webhook settings of a server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookSettings {
    /// Accept plain `http://` URLs for any host (else only for loopback hosts).
    pub allow_insecure: bool,
    /// The wait after a first failed attempt; doubled after each further one.
    pub retry_base: Duration,
}

/// The default wait after a first failed attempt (10 s).
pub const DEFAULT_RETRY_BASE: Duration = Duration::from_secs(10);

impl Default for WebhookSettings {
    fn default() -> Self {
        Self {
            allow_insecure: false,
            retry_base: DEFAULT_RETRY_BASE,
        }
    }
}

/// The `Offers-Signature` value of `body` sent at `unix_seconds`:
/// `t=<unix_seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`.
pub fn signature(secret: &str, unix_seconds: i64, body: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(format!("{unix_seconds}.").as_bytes());
    mac.update(body.as_bytes());
    format!(
        "t={unix_seconds},v1={}",
        hex::encode(mac.finalize().into_bytes())
    )
}

/// The wait before attempt `attempt + 1` after attempt `attempt` (1-based) failed.
pub fn backoff(retry_base: Duration, attempt: i64) -> Duration {
    let doublings = u32::try_from(attempt.saturating_sub(1).clamp(0, 30)).unwrap_or(30);
    retry_base
        .checked_mul(1u32 << doublings)
        .unwrap_or(MAX_BACKOFF)
        .min(MAX_BACKOFF)
}

fn http_client() -> Result<reqwest::Client, reqwest::Error> {
    // reqwest uses rustls without a built-in provider: ring, as for the S3 media store.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .timeout(POST_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("Offers-Webhooks/", env!("CARGO_PKG_VERSION")))
        .build()
}

/// Delivers the outbox until `shutdown` resolves; then waits for the deliveries in flight
/// (at most [`POST_TIMEOUT`] and their bookkeeping).
pub async fn run(
    store: Arc<dyn Store>,
    settings: WebhookSettings,
    shutdown: impl Future<Output = ()>,
) {
    let client = match http_client() {
        Ok(client) => client,
        Err(e) => {
            tracing::error!(error = %e, "cannot build the webhook HTTP client: no deliveries");
            return;
        }
    };
    let signal = store.outbox_signal();
    tokio::pin!(shutdown);
    let mut in_flight: JoinSet<()> = JoinSet::new();
    let mut busy: HashMap<tokio::task::Id, i64> = HashMap::new();
    let mut next_prune = Instant::now() + PRUNE_EVERY.min(Duration::from_secs(60));
    loop {
        let now = Utc::now();
        let mut claimed = 0;
        let full = in_flight.len() >= MAX_IN_FLIGHT;
        let skip: Vec<i64> = busy
            .values()
            .copied()
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        if !full {
            let room = i64::try_from(MAX_IN_FLIGHT - in_flight.len()).unwrap_or(1);
            match store
                .claim_webhook_batches(now, now + to_chrono(LEASE), &skip, room)
                .await
            {
                Ok(batches) => {
                    for batch in batches {
                        claimed += 1;
                        let webhook_id = batch.webhook_id;
                        let task = in_flight.spawn(deliver(
                            Arc::clone(&store),
                            client.clone(),
                            settings.retry_base,
                            batch,
                        ));
                        busy.insert(task.id(), webhook_id);
                    }
                }
                Err(e) => tracing::warn!(error = ?e, "cannot claim webhook deliveries"),
            }
        }
        if Instant::now() >= next_prune {
            next_prune = Instant::now() + PRUNE_EVERY;
            let cutoff = Utc::now() - chrono::Duration::days(KEEP_DAYS);
            if let Err(e) = store.prune_webhooks(cutoff).await {
                tracing::warn!(error = ?e, "cannot prune the webhook outbox");
            }
        }
        let wait = if claimed > 0 {
            // More may be due at once (more than 100 events, or more webhooks).
            Duration::ZERO
        } else if full {
            // A delivery's end wakes the loop.
            POLL_EVERY
        } else {
            next_wait(store.as_ref(), Utc::now(), &skip).await
        };
        tokio::select! {
            () = &mut shutdown => break,
            () = signal.notified() => {}
            Some(done) = in_flight.join_next_with_id(), if !in_flight.is_empty() => {
                let id = match done {
                    Ok((id, ())) => id,
                    Err(e) => {
                        tracing::warn!(error = %e, "a webhook delivery task failed");
                        e.id()
                    }
                };
                busy.remove(&id);
            }
            () = tokio::time::sleep(wait) => {}
        }
    }
    while in_flight.join_next().await.is_some() {}
}

/// How long to sleep: until the next row of a webhook not busy here falls due (at once when
/// one fell due since the round's claim), at most [`POLL_EVERY`]. Busy webhooks' rows wait for
/// their delivery's end, which wakes the loop.
async fn next_wait(store: &dyn Store, now: DateTime<Utc>, busy: &[i64]) -> Duration {
    match store.next_webhook_due(busy).await {
        Ok(Some(due)) => (due - now)
            .to_std()
            .unwrap_or(Duration::ZERO)
            .min(POLL_EVERY),
        Ok(None) => POLL_EVERY,
        Err(e) => {
            tracing::warn!(error = ?e, "cannot read the webhook outbox");
            Duration::from_secs(1)
        }
    }
}

fn to_chrono(d: Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX)
}

/// POSTs one batch and records how it went.
async fn deliver(
    store: Arc<dyn Store>,
    client: reqwest::Client,
    retry_base: Duration,
    batch: ClaimedBatch,
) {
    let mut body = String::from("{\"events\":[");
    for (i, event) in batch.events.iter().enumerate() {
        if i > 0 {
            body.push(',');
        }
        body.push_str(&event.payload);
    }
    body.push_str("]}");
    let signed = signature(&batch.secret, Utc::now().timestamp(), &body);
    let started = Instant::now();
    let answer = client
        .post(&batch.url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header(SIGNATURE_HEADER, signed)
        .body(body)
        .send()
        .await;
    let duration_ms = i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
    let (delivered, http_status, error) = match answer {
        Ok(response) => {
            let status = response.status();
            let error = (!status.is_success()).then(|| format!("HTTP {status}"));
            (status.is_success(), Some(status.as_u16()), error)
        }
        Err(e) => (false, None, Some(describe(&e))),
    };
    let now = Utc::now();
    let outcome = DeliveryOutcome {
        delivered,
        http_status,
        error,
        duration_ms,
        retry_at: now + to_chrono(backoff(retry_base, batch.attempt())),
    };
    match store.finish_webhook_batch(&batch, &outcome, now).await {
        Ok(status) => tracing::debug!(
            webhook = batch.webhook_id,
            events = batch.events.len(),
            status = status.as_str(),
            "webhook delivery"
        ),
        Err(e) => tracing::warn!(
            error = ?e,
            webhook = batch.webhook_id,
            "cannot record a webhook delivery (its events are sent again after the lease)"
        ),
    }
}

/// A failed request in a few words (no source chain beyond the first cause).
fn describe(e: &reqwest::Error) -> String {
    let what = if e.is_timeout() {
        format!("timed out after {} s", POST_TIMEOUT.as_secs())
    } else if e.is_connect() {
        "cannot connect".to_owned()
    } else if e.is_redirect() {
        "redirect not followed".to_owned()
    } else {
        "request failed".to_owned()
    };
    let cause = std::error::Error::source(e).map(ToString::to_string);
    let text = match cause {
        Some(cause) => format!("{what}: {cause}"),
        None => what,
    };
    text.chars().take(MAX_ERROR_CHARS).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let base = Duration::from_secs(10);
        assert_eq!(backoff(base, 1), base);
        assert_eq!(backoff(base, 2), base * 2);
        assert_eq!(backoff(base, 4), base * 8);
        assert_eq!(backoff(base, 40), MAX_BACKOFF);
        assert_eq!(backoff(base, 0), base);
    }

    #[test]
    fn signature_is_stripe_like() {
        // HMAC-SHA256("key", "1.{}") computed independently.
        let s = signature("key", 1, "{}");
        assert!(s.starts_with("t=1,v1="), "{s}");
        assert_eq!(s.len(), "t=1,v1=".len() + 64);
        assert_ne!(signature("key", 2, "{}"), s);
    }
}
