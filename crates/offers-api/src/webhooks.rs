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
//! - A host name is resolved at each delivery, and its addresses in private, link-local or
//!   shared networks are dropped ([`PublicResolver`]): a name that points into the server's
//!   own network gets nothing, however it resolved when the webhook was registered. (IP
//!   literals of those networks are refused at registration.) `--allow-insecure-webhooks`
//!   turns both checks off, for endpoints on a private network on purpose.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
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
    /// Accept plain `http://` URLs for any host (else only for loopback hosts), and hosts in
    /// [private networks](is_private_network) (else refused as IP literals, and left out of a
    /// name's addresses by [`PublicResolver`]).
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

/// Whether `ip` is in a private, link-local, shared (CGNAT, 100.64/10), unspecified or
/// broadcast IPv4 network, or an unspecified, unique-local (fc00::/7) or link-local (fe80::/10)
/// IPv6 one (an IPv4-mapped address as its IPv4 address). Loopback is not: a webhook on the
/// server's own host is allowed, as its `http://` URL is.
pub fn is_private_network(ip: IpAddr) -> bool {
    let v4 = |ip: std::net::Ipv4Addr| {
        let [a, b, ..] = ip.octets();
        ip.is_private()
            || ip.is_link_local()
            || ip.is_unspecified()
            || ip.is_broadcast()
            || (a == 100 && (64..128).contains(&b))
    };
    match ip {
        IpAddr::V4(ip) => v4(ip),
        IpAddr::V6(ip) => {
            let first = ip.segments()[0];
            ip.is_unspecified()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80
                || ip.to_ipv4_mapped().is_some_and(v4)
        }
    }
}

/// The addresses of `host` a webhook may be sent to: `addresses` without those of
/// [private networks](is_private_network); an error naming the host when none is left.
pub fn deliverable_addresses(
    host: &str,
    addresses: impl IntoIterator<Item = SocketAddr>,
) -> Result<Vec<SocketAddr>, String> {
    let (mut kept, mut dropped) = (Vec::new(), 0);
    for address in addresses {
        if is_private_network(address.ip()) {
            dropped += 1;
        } else {
            kept.push(address);
        }
    }
    match (kept.is_empty(), dropped) {
        (false, _) => Ok(kept),
        (true, 0) => Err(format!("`{host}` has no address")),
        (true, _) => Err(format!(
            "`{host}` resolves only to addresses of private or link-local networks (not sent)"
        )),
    }
}

/// The webhook client's resolver: the system's (`getaddrinfo`, as reqwest's own), keeping only
/// [`deliverable_addresses`]. Checked when connecting, so a name re-pointed after the
/// webhook was registered cannot reach the server's network either.
#[derive(Debug, Clone, Copy, Default)]
pub struct PublicResolver;

impl reqwest::dns::Resolve for PublicResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let found = tokio::net::lookup_host((host.as_str(), 0)).await?;
            let kept = deliverable_addresses(&host, found)?;
            Ok(Box::new(kept.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

fn http_client(settings: &WebhookSettings) -> Result<reqwest::Client, reqwest::Error> {
    // reqwest uses rustls without a built-in provider: ring, as for the S3 media store.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let builder = reqwest::Client::builder()
        .timeout(POST_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("Offers-Webhooks/", env!("CARGO_PKG_VERSION")));
    if settings.allow_insecure {
        builder.build()
    } else {
        builder.dns_resolver(PublicResolver).build()
    }
}

/// Delivers the outbox until `shutdown` resolves; then waits for the deliveries in flight
/// (at most [`POST_TIMEOUT`] and their bookkeeping).
pub async fn run(
    store: Arc<dyn Store>,
    settings: WebhookSettings,
    shutdown: impl Future<Output = ()>,
) {
    let client = match http_client(&settings) {
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

/// A failed request in a few words: its kind and its innermost cause (e.g. the refused
/// connection, or why [`PublicResolver`] gave no address), not the layers between.
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
    let cause = std::iter::successors(std::error::Error::source(e), |c| c.source())
        .last()
        .map(ToString::to_string);
    let text = match cause {
        Some(cause) => format!("{what}: {cause}"),
        None => what,
    };
    text.chars().take(MAX_ERROR_CHARS).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::dns::Resolve as _;

    #[test]
    fn private_networks_are_told_apart_from_public_and_loopback_ones() {
        for private in [
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "::",
            "fd00::1",
            "fe80::1",
            "::ffff:10.0.0.1",
        ] {
            assert!(is_private_network(private.parse().unwrap()), "{private}");
        }
        for reachable in [
            "93.184.216.34",
            "100.128.0.1",
            "127.0.0.1",
            "::1",
            "2606:4700::1",
        ] {
            assert!(
                !is_private_network(reachable.parse().unwrap()),
                "{reachable}"
            );
        }
    }

    #[test]
    fn only_the_public_addresses_of_a_name_are_kept() {
        let at = |s: &str| -> SocketAddr { s.parse().unwrap() };
        assert_eq!(
            deliverable_addresses("h", [at("10.0.0.1:0"), at("93.184.216.34:0")]),
            Ok(vec![at("93.184.216.34:0")])
        );
        let refused = deliverable_addresses("h", [at("10.0.0.1:0"), at("[fd00::1]:0")]);
        assert!(
            refused
                .as_ref()
                .is_err_and(|e| e.contains("`h`") && e.contains("private")),
            "{refused:?}"
        );
        assert!(deliverable_addresses("h", []).is_err_and(|e| e.contains("no address")));
    }

    /// Resolves every name to addresses of private networks only.
    struct IntoThePrivateNetwork;

    impl reqwest::dns::Resolve for IntoThePrivateNetwork {
        fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
            let host = name.as_str().to_owned();
            Box::pin(async move {
                let kept = deliverable_addresses(&host, ["10.0.0.7:0".parse().unwrap()])?;
                Ok(Box::new(kept.into_iter()) as reqwest::dns::Addrs)
            })
        }
    }

    #[tokio::test]
    async fn a_delivery_log_says_why_a_name_was_not_connected_to() {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::Client::builder()
            .dns_resolver(IntoThePrivateNetwork)
            .build()
            .unwrap();
        let e = client.get("http://hooks.test/").send().await.unwrap_err();
        let text = describe(&e);
        assert!(
            text.starts_with("cannot connect: ") && text.contains("`hooks.test` resolves only"),
            "{text}"
        );
    }

    #[tokio::test]
    async fn the_resolver_gives_no_private_address_and_keeps_loopback() {
        let name = |s: &str| s.parse::<reqwest::dns::Name>().unwrap();
        let refused = PublicResolver.resolve(name("10.1.2.3")).await;
        let message = refused.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(message.contains("private"), "{message}");
        let local: Vec<SocketAddr> = PublicResolver
            .resolve(name("localhost"))
            .await
            .unwrap()
            .collect();
        assert!(
            !local.is_empty() && local.iter().all(|a| a.ip().is_loopback()),
            "{local:?}"
        );
    }

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
