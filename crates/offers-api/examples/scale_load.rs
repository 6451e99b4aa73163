//! Load client of the scale benchmark (`bench/scale.sh`), loopback only. Subcommands:
//!
//! - `seed <base> <api-key> <token> <offers>`: creates the benchmark's project shape through
//!   the partner API: 90 % `USER` offers with 111 users each (out of `offers` users), 9 %
//!   `ROOM` offers with 10 rooms each (out of 100 rooms), 1 % `GLOBAL`;
//! - `room <base> <public-key> <api-key> <token> <streams> <changes>`: opens `streams` streams of
//!   signed-in users in room `hot`, then creates `changes` offers for that room one by one,
//!   each time waiting until every stream received it; prints the delivery latency p50/p99 and
//!   the partner's POST p50/p99, before the streams are opened and while they are;
//! - `spread <base> <public-key> <api-key> <token> <streams> <rooms> <server-pid>`: opens
//!   `streams` streams over `rooms` rooms (one user each), prints the server's RSS, then makes
//!   a room, a user and a global change and counts the streams each reached;
//! - `events <base> <public-key> <api-key> <token> <connections> <batch> <seconds> <offers>`:
//!   posts batches of fresh impressions of the project's `offers` newest offers (global ones,
//!   seen in room `room1`) from `connections` connections for `seconds`, then compares the
//!   events acknowledged as accepted with the impressions the stats report stored;
//!
//! Streams sign their users when `SCALE_IDENTITY_SECRET` holds the project's identity secret
//! (new projects require signed users).
//! - `rate <url> <requests-per-second> <seconds> [header]`: GETs `url` at a fixed rate (open
//!   loop, 32 keep-alive connections on one thread, HTTP/1.1 written and read directly), with
//!   one extra `Name: value` header if given, and prints the latency p50/p99/max.
//! - `profiles <base> <api-key> <token> <count> <batch>` (issue 11, `bench/audiences.sh`):
//!   upserts `count` profiles `u0…` (language, tags, `firstName`, `points`, `verified`) with
//!   `POST /external/users` in JSON batches of `batch`, and prints each batch's time;
//! - `segments <base> <api-key> <token> <count>`: creates `count` rule segments over those
//!   profiles and prints their ids as `first:count`.
//!
//! With `SCALE_SEGMENTS=first:count` (the `segments` output), `seed` gives every third offer
//! one of those segments and a merge tag in its title.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::sync::{Semaphore, mpsc};

type Res<T> = Result<T, String>;

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .pool_max_idle_per_host(256)
        .build()
        .expect("client")
}

fn arg(args: &[String], i: usize) -> Res<&str> {
    args.get(i)
        .map(String::as_str)
        .ok_or_else(|| format!("missing argument {i}; see the doc comment of scale_load.rs"))
}

fn num<T: std::str::FromStr>(args: &[String], i: usize) -> Res<T> {
    arg(args, i)?
        .parse()
        .map_err(|_| format!("argument {i} must be a number"))
}

/// Percentile of sorted samples (nearest rank).
fn pct(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn sorted(mut v: Vec<f64>) -> Vec<f64> {
    v.sort_by(f64::total_cmp);
    v
}

struct Partner {
    http: reqwest::Client,
    base: String,
    key: String,
    token: String,
}

impl Partner {
    fn offer(n: usize, audience: Value) -> Value {
        let mut offer = json!({
            "template": 10,
            "title": format!("Offer {n}"),
            "text": format!("Scale benchmark offer number {n}, with a body of ordinary length."),
            "linkText": "Open",
            "link": format!("https://shop.example/offers/{n}"),
            "startTime": "2024-01-01T00:00:00Z",
        });
        if let (Value::Object(o), Value::Object(a)) = (&mut offer, audience) {
            o.extend(a);
        }
        offer
    }

    /// Creates an offer; returns its id and how long the POST took.
    async fn create(&self, body: &Value) -> Res<(i64, Duration)> {
        let started = Instant::now();
        let resp = self
            .http
            .post(format!("{}/external/offer", self.base))
            .header("x-api-key", &self.key)
            .bearer_auth(&self.token)
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let status = resp.status();
        let text = resp.text().await.map_err(|e| e.to_string())?;
        let took = started.elapsed();
        if !status.is_success() {
            return Err(format!("POST /external/offer: {status} {text}"));
        }
        let v: Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
        let id = v["id"]
            .as_i64()
            .or_else(|| v["offer"]["id"].as_i64())
            .ok_or_else(|| format!("no id in {text}"))?;
        Ok((id, took))
    }

    async fn get_json(&self, path: &str) -> Res<Value> {
        let resp = self
            .http
            .get(format!("{}{path}", self.base))
            .header("x-api-key", &self.key)
            .bearer_auth(&self.token)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let text = resp.text().await.map_err(|e| e.to_string())?;
        serde_json::from_str(&text).map_err(|e| format!("{e}: {text}"))
    }
}

fn partner(args: &[String], from: usize) -> Res<Partner> {
    Ok(Partner {
        http: client(),
        base: arg(args, from)?.to_owned(),
        key: arg(args, from + 1)?.to_owned(),
        token: arg(args, from + 2)?.to_owned(),
    })
}

async fn seed(args: &[String]) -> Res<()> {
    let partner = Arc::new(partner(args, 1)?);
    let offers: usize = num(args, 4)?;
    let users = offers.max(1000);
    let next = Arc::new(AtomicUsize::new(0));
    let targets = Arc::new(AtomicUsize::new(0));
    let segments: Option<(i64, i64)> = match std::env::var("SCALE_SEGMENTS") {
        Ok(spec) => {
            let (first, count) = spec
                .split_once(':')
                .ok_or("SCALE_SEGMENTS must be first:count")?;
            Some((
                first.parse().map_err(|_| "SCALE_SEGMENTS: first")?,
                count
                    .parse::<i64>()
                    .map_err(|_| "SCALE_SEGMENTS: count")?
                    .max(1),
            ))
        }
        Err(_) => None,
    };
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..8 {
        let (partner, next, targets) = (partner.clone(), next.clone(), targets.clone());
        workers.push(tokio::spawn(async move {
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= offers {
                    return Ok::<_, String>(());
                }
                let audience = match n % 100 {
                    0 => json!({"type": "GLOBAL"}),
                    1..=9 => {
                        let rooms: Vec<String> = (0..10)
                            .map(|k| format!("room{}", (n + k * 10) % 100))
                            .collect();
                        targets.fetch_add(rooms.len(), Ordering::Relaxed);
                        json!({"type": "ROOM", "externalRoomIds": rooms})
                    }
                    _ => {
                        let ids: Vec<String> = (0..111)
                            .map(|k| format!("u{}", (n * 111 + k) % users))
                            .collect();
                        targets.fetch_add(ids.len(), Ordering::Relaxed);
                        json!({"type": "USER", "externalUserIds": ids})
                    }
                };
                let mut offer = Partner::offer(n, audience);
                if let Some((first, count)) = segments
                    && n % 3 == 0
                {
                    offer["segmentIds"] = json!([first + (n as i64 / 3) % count]);
                    offer["title"] = json!(format!("Hi {{{{firstName|there}}}} {}", n % 1000));
                }
                partner.create(&offer).await?;
            }
        }));
    }
    for w in workers {
        w.await.map_err(|e| e.to_string())??;
    }
    println!(
        "seeded {offers} offers, {} targets, in {:.1} s",
        targets.load(Ordering::Relaxed),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// One SSE connection: reports `(stream index, offer id, when)` for every `offer.created`.
async fn open_stream(
    http: reqwest::Client,
    url: String,
    index: usize,
    mut connecting: Option<tokio::sync::OwnedSemaphorePermit>,
    ready: mpsc::UnboundedSender<usize>,
    created: mpsc::UnboundedSender<(usize, i64, Instant)>,
) -> Res<()> {
    let mut resp = http.get(&url).send().await.map_err(|e| e.to_string())?;
    if !resp.status().is_success() {
        return Err(format!("stream {url}: {}", resp.status()));
    }
    let mut buf = String::new();
    let mut announced = false;
    while let Some(chunk) = resp.chunk().await.map_err(|e| e.to_string())? {
        let at = Instant::now();
        buf.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(end) = buf.find("\n\n") {
            let block: String = buf.drain(..end + 2).collect();
            if !announced {
                announced = true;
                connecting.take();
                let _ = ready.send(index);
            }
            if block.lines().any(|l| l == "event: offer.created")
                && let Some(data) = block.lines().find_map(|l| l.strip_prefix("data: "))
                && let Ok(v) = serde_json::from_str::<Value>(data)
                && let Some(id) = v["id"].as_i64()
            {
                let _ = created.send((index, id, at));
            }
        }
    }
    Ok(())
}

struct Streams {
    created: mpsc::UnboundedReceiver<(usize, i64, Instant)>,
}

/// `&sig=…` for `user` under the project's identity secret (`SCALE_IDENTITY_SECRET`), so the
/// user counts on a project that requires signed users; empty without the secret.
fn signature(user: &str) -> String {
    match std::env::var("SCALE_IDENTITY_SECRET") {
        Ok(secret) if !secret.is_empty() => {
            format!("&sig={}", offers_api::auth::user_signature(&secret, user))
        }
        _ => String::new(),
    }
}

/// Opens the streams (`room_of(i)`, signed user `s{i}`), at most 256 connecting at once, and
/// waits until each received its first event.
async fn open_streams(
    base: &str,
    public: &str,
    count: usize,
    room_of: impl Fn(usize) -> String,
) -> Res<Streams> {
    let (ready_tx, mut ready) = mpsc::unbounded_channel();
    let (created_tx, created) = mpsc::unbounded_channel();
    let gate = Arc::new(Semaphore::new(256));
    let http = client();
    let started = Instant::now();
    for i in 0..count {
        let user = format!("s{i}");
        let url = format!(
            "{base}/widget/v1/stream?key={public}&room={}&user={user}{}",
            room_of(i),
            signature(&user)
        );
        let (http, ready_tx, created_tx) = (http.clone(), ready_tx.clone(), created_tx.clone());
        let permit = Arc::clone(&gate)
            .acquire_owned()
            .await
            .map_err(|e| e.to_string())?;
        tokio::spawn(async move {
            if let Err(e) = open_stream(http, url, i, Some(permit), ready_tx, created_tx).await {
                eprintln!("stream {i}: {e}");
            }
        });
    }
    drop(ready_tx);
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut n = 0;
    while n < count {
        match tokio::time::timeout_at(deadline.into(), ready.recv()).await {
            Ok(Some(_)) => n += 1,
            _ => return Err(format!("only {n} of {count} streams opened")),
        }
    }
    println!(
        "opened {count} streams in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(Streams { created })
}

/// Waits until `expected` streams reported offer `id` (or `settle` passed after the last one
/// when `expected` is not known exactly); returns the receipt instants.
async fn receipts(
    streams: &mut Streams,
    id: i64,
    expected: usize,
    timeout: Duration,
) -> Vec<Instant> {
    let mut got = Vec::new();
    let deadline = Instant::now() + timeout;
    while got.len() < expected {
        match tokio::time::timeout_at(deadline.into(), streams.created.recv()).await {
            Ok(Some((_, got_id, at))) if got_id == id => got.push(at),
            Ok(Some(_)) => {}
            _ => break,
        }
    }
    got
}

async fn room(args: &[String]) -> Res<()> {
    let base = arg(args, 1)?.to_owned();
    let public = arg(args, 2)?.to_owned();
    let partner = Partner {
        http: client(),
        base: base.clone(),
        key: arg(args, 3)?.to_owned(),
        token: arg(args, 4)?.to_owned(),
    };
    let count: usize = num(args, 5)?;
    let changes: usize = num(args, 6)?;
    let offer = |n| Partner::offer(n, json!({"type": "ROOM", "externalRoomIds": ["hot"]}));
    let mut post_before = Vec::new();
    for n in 0..changes {
        post_before.push(partner.create(&offer(n)).await?.1.as_secs_f64() * 1e3);
    }
    let mut streams = open_streams(&base, &public, count, |_| "hot".to_owned()).await?;
    let mut post_during = Vec::new();
    let mut delivery = Vec::new();
    let mut missing = 0;
    for n in 0..changes {
        let sent = Instant::now();
        let (id, took) = partner.create(&offer(n)).await?;
        post_during.push(took.as_secs_f64() * 1e3);
        let got = receipts(&mut streams, id, count, Duration::from_secs(30)).await;
        missing += count - got.len();
        delivery.extend(got.iter().map(|at| (*at - sent).as_secs_f64() * 1e3));
    }
    let (d, b, w) = (sorted(delivery), sorted(post_before), sorted(post_during));
    println!(
        "{count} streams in one room, {changes} new offers: delivery p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms, {missing} missed",
        pct(&d, 50.0),
        pct(&d, 99.0),
        pct(&d, 100.0)
    );
    println!(
        "POST /external/offer without streams: p50 {:.1} ms, p99 {:.1} ms; with {count} streams: p50 {:.1} ms, p99 {:.1} ms",
        pct(&b, 50.0),
        pct(&b, 99.0),
        pct(&w, 50.0),
        pct(&w, 99.0)
    );
    Ok(())
}

fn rss_mb(pid: &str) -> Res<f64> {
    let status =
        std::fs::read_to_string(format!("/proc/{pid}/status")).map_err(|e| e.to_string())?;
    let kb: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .ok_or("no VmRSS")?;
    Ok(kb / 1024.0)
}

async fn spread(args: &[String]) -> Res<()> {
    let base = arg(args, 1)?.to_owned();
    let public = arg(args, 2)?.to_owned();
    let partner = Partner {
        http: client(),
        base: base.clone(),
        key: arg(args, 3)?.to_owned(),
        token: arg(args, 4)?.to_owned(),
    };
    let count: usize = num(args, 5)?;
    let rooms: usize = num(args, 6)?;
    let pid = arg(args, 7)?;
    let before = rss_mb(pid)?;
    let mut streams =
        open_streams(&base, &public, count, |i| format!("spread{}", i % rooms)).await?;
    println!(
        "server RSS with {count} streams over {rooms} rooms: {:.0} MB (before: {before:.0} MB)",
        rss_mb(pid)?
    );
    let per_room = count / rooms;
    for (what, audience, expected) in [
        (
            "a room offer",
            json!({"type": "ROOM", "externalRoomIds": ["spread7"]}),
            per_room,
        ),
        (
            "a personal offer",
            json!({"type": "USER", "externalUserIds": ["s42"]}),
            1,
        ),
        ("a global offer", json!({"type": "GLOBAL"}), count),
    ] {
        let (id, _) = partner.create(&Partner::offer(0, audience)).await?;
        let mut got = receipts(&mut streams, id, expected, Duration::from_secs(30)).await;
        // Anything else arriving shortly after would be a stream it does not concern.
        got.extend(receipts(&mut streams, id, usize::MAX, Duration::from_millis(500)).await);
        println!(
            "{what}: reached {} streams (concerned: {expected})",
            got.len()
        );
    }
    Ok(())
}

async fn events(args: &[String]) -> Res<()> {
    let base = arg(args, 1)?.to_owned();
    let public = arg(args, 2)?.to_owned();
    let partner = Partner {
        http: client(),
        base: base.clone(),
        key: arg(args, 3)?.to_owned(),
        token: arg(args, 4)?.to_owned(),
    };
    let connections: usize = num(args, 5)?;
    let batch: usize = num(args, 6)?;
    let seconds: u64 = num(args, 7)?;
    let wanted: usize = num(args, 8)?;
    let offers = global_offers(&partner, wanted).await?;
    if offers.is_empty() {
        return Err("the project has no global offer to count impressions of".into());
    }
    let stored_before = stored(&partner, &offers).await?;
    let accepted = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let until = started + Duration::from_secs(seconds);
    let run = format!("{}", std::process::id());
    let mut workers = Vec::new();
    for w in 0..connections {
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(1)
            .build()
            .map_err(|e| e.to_string())?;
        let (base, public, offers, accepted, failed, run) = (
            base.clone(),
            public.clone(),
            offers.clone(),
            accepted.clone(),
            failed.clone(),
            run.clone(),
        );
        workers.push(tokio::spawn(async move {
            let mut n = 0u64;
            while Instant::now() < until {
                let at = offers_core::format_timestamp(&chrono::Utc::now());
                let list: Vec<Value> = (0..batch)
                    .map(|k| {
                        json!({"id": format!("{run}-{w}-{n}-{k}"), "offerId": offers[(n as usize + k) % offers.len()], "kind": "impression", "at": at})
                    })
                    .collect();
                n += 1;
                let body = json!({"key": public, "room": "room1", "user": format!("u{w}"), "events": list});
                let resp = http
                    .post(format!("{base}/widget/v1/events"))
                    .header("content-type", "text/plain")
                    .body(body.to_string())
                    .send()
                    .await;
                match resp {
                    Ok(r) if r.status().as_u16() == 202 => {
                        let v: Value = r
                            .text()
                            .await
                            .ok()
                            .and_then(|t| serde_json::from_str(&t).ok())
                            .unwrap_or(Value::Null);
                        accepted.fetch_add(v["accepted"].as_u64().unwrap_or(0), Ordering::Relaxed);
                    }
                    _ => {
                        failed.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        }));
    }
    for w in workers {
        w.await.map_err(|e| e.to_string())?;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let acknowledged = accepted.load(Ordering::Relaxed);
    let stored = stored(&partner, &offers).await? - stored_before;
    println!(
        "events: {connections} connections, batches of {batch}: {:.0} events/s acknowledged ({acknowledged} in {elapsed:.1} s), stored {stored} ({}), {} failed requests",
        acknowledged as f64 / elapsed,
        if stored == acknowledged as i64 {
            "stored = acknowledged"
        } else {
            "MISMATCH"
        },
        failed.load(Ordering::Relaxed)
    );
    Ok(())
}

/// Ids of up to `wanted` of the project's global offers, from its newest pages.
async fn global_offers(partner: &Partner, wanted: usize) -> Res<Vec<i64>> {
    let mut ids = Vec::new();
    let mut offset = 0;
    while ids.len() < wanted {
        let page = partner
            .get_json(&format!("/external/offer?limit=100&offset={offset}"))
            .await?;
        let Some(list) = page.as_array().filter(|l| !l.is_empty()) else {
            break;
        };
        offset += list.len();
        ids.extend(
            list.iter()
                .filter(|o| o["type"] == "GLOBAL")
                .filter_map(|o| o["id"].as_i64()),
        );
    }
    ids.truncate(wanted);
    Ok(ids)
}

/// Impressions stored for the offers, per their stats.
async fn stored(partner: &Partner, offers: &[i64]) -> Res<i64> {
    let mut total = 0;
    for id in offers {
        let v = partner
            .get_json(&format!("/external/offer/{id}/stats"))
            .await?;
        total += v["impressions"]
            .as_i64()
            .ok_or_else(|| format!("no impressions in {v}"))?;
    }
    Ok(total)
}

async fn rate(args: &[String]) -> Res<()> {
    let url = arg(args, 1)?.to_owned();
    let per_second: f64 = num(args, 2)?;
    let seconds: f64 = num(args, 3)?;
    let extra = args.get(4).cloned();
    // The measuring runs on one thread of its own (bench/scale.sh may pin it to a core).
    tokio::task::spawn_blocking(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?
            .block_on(rate_run(url, per_second, seconds, extra))
    })
    .await
    .map_err(|e| e.to_string())?
}

/// Connections of `rate`.
const RATE_CONNECTIONS: usize = 32;

/// `rate`'s measuring: an open loop over [`RATE_CONNECTIONS`] keep-alive connections. Each
/// request has a scheduled send time; the next free connection sends it, and its latency is
/// counted from that time (no coordinated omission: a slow answer delays the requests behind
/// it, and their latencies show it). HTTP/1.1 is spoken directly ([`RawConnection`]): the
/// client must cost far less than the server it measures, on the same machine.
async fn rate_run(url: String, per_second: f64, seconds: f64, extra: Option<String>) -> Res<()> {
    let rest = url
        .strip_prefix("http://")
        .ok_or("rate takes an http:// URL")?;
    let (host, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let path = if path.is_empty() { "/" } else { path };
    let mut request = format!("GET {path} HTTP/1.1\r\nHost: {host}\r\n");
    if let Some(header) = &extra {
        request.push_str(header);
        request.push_str("\r\n");
    }
    request.push_str("\r\n");
    let request: Arc<[u8]> = request.into_bytes().into();
    let total = (per_second * seconds) as usize;
    let gap = Duration::from_secs_f64(1.0 / per_second);
    let mut connections = Vec::with_capacity(RATE_CONNECTIONS);
    for _ in 0..RATE_CONNECTIONS {
        connections.push(RawConnection::open(host).await?);
    }
    // The send times come from a thread of their own sleeping to each one (microseconds late
    // at most), not from tokio's timer, whose millisecond ticks would send in bursts and add
    // up to a millisecond to every latency measured from the scheduled time.
    let (due_tx, due_rx) = mpsc::unbounded_channel::<Instant>();
    let started = Instant::now() + Duration::from_millis(20);
    std::thread::spawn(move || {
        for i in 0..total {
            let at = started + gap * i as u32;
            if let Some(wait) = at.checked_duration_since(Instant::now()) {
                std::thread::sleep(wait);
            }
            if due_tx.send(at).is_err() {
                return;
            }
        }
    });
    let due = Arc::new(tokio::sync::Mutex::new(due_rx));
    let cpu_before = cpu_times();
    let mut tasks = Vec::with_capacity(RATE_CONNECTIONS);
    for mut connection in connections {
        let (due, request) = (Arc::clone(&due), Arc::clone(&request));
        tasks.push(tokio::spawn(async move {
            let (mut lat, mut errors) = (Vec::new(), 0usize);
            loop {
                let Some(scheduled) = due.lock().await.recv().await else {
                    break;
                };
                match connection.get(&request).await {
                    Ok(200) => lat.push((
                        (scheduled - started).as_secs_f64(),
                        scheduled.elapsed().as_secs_f64() * 1e3,
                    )),
                    Ok(_) => errors += 1,
                    Err(_) => {
                        errors += 1;
                        match RawConnection::open(&connection.host).await {
                            Ok(fresh) => connection = fresh,
                            Err(_) => break,
                        }
                    }
                }
            }
            (lat, errors)
        }));
    }
    let (mut lat, mut errors) = (Vec::with_capacity(total), 0);
    for task in tasks {
        let (l, e) = task.await.map_err(|e| e.to_string())?;
        lat.extend(l);
        errors += e;
    }
    let steal = cpu_times()
        .zip(cpu_before)
        .map(|(after, before)| after.steal_share_since(&before));
    // Each second's p99 (by scheduled time): one stall shows as one bad second, a server
    // that is slow throughout as all of them.
    let mut by_second = vec![Vec::new(); seconds.ceil() as usize + 1];
    let last = by_second.len() - 1;
    for &(at, ms) in &lat {
        by_second[(at as usize).min(last)].push(ms);
    }
    let per_second_p99: Vec<String> = by_second
        .into_iter()
        .filter(|l| !l.is_empty())
        .map(|l| format!("{:.1}", pct(&sorted(l), 99.0)))
        .collect();
    let lat = sorted(lat.into_iter().map(|(_, ms)| ms).collect());
    println!(
        "{per_second:.0} req/s for {seconds:.0} s: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms, {errors} errors; \
         p99 per second [{}] ms; CPU stolen by the host {}",
        pct(&lat, 50.0),
        pct(&lat, 99.0),
        pct(&lat, 100.0),
        per_second_p99.join(" "),
        steal.map_or("unknown".to_owned(), |s| format!("{:.1} %", s * 100.0)),
    );
    Ok(())
}

/// The machine's CPU time counters (`/proc/stat`'s `cpu` line), in ticks.
struct CpuTimes {
    total: u64,
    steal: u64,
}

impl CpuTimes {
    /// The share of the time since `before` that the hypervisor gave to other machines.
    fn steal_share_since(&self, before: &CpuTimes) -> f64 {
        let total = self.total.saturating_sub(before.total).max(1);
        self.steal.saturating_sub(before.steal) as f64 / total as f64
    }
}

fn cpu_times() -> Option<CpuTimes> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let line = stat.lines().next()?.strip_prefix("cpu ")?;
    // user nice system idle iowait irq softirq steal (guest times are inside user).
    let ticks: Vec<u64> = line
        .split_whitespace()
        .take(8)
        .map(str::parse)
        .collect::<Result<_, _>>()
        .ok()?;
    Some(CpuTimes {
        total: ticks.iter().sum(),
        steal: *ticks.get(7)?,
    })
}

/// A keep-alive HTTP/1.1 connection of `rate`: writes a GET, reads the head and then exactly
/// `Content-Length` bytes of body, which it drops (the feed always sends its length).
struct RawConnection {
    host: String,
    stream: tokio::net::TcpStream,
    buf: Vec<u8>,
}

impl RawConnection {
    async fn open(host: &str) -> Res<Self> {
        let stream = tokio::net::TcpStream::connect(host)
            .await
            .map_err(|e| format!("connect {host}: {e}"))?;
        stream.set_nodelay(true).map_err(|e| e.to_string())?;
        Ok(Self {
            host: host.to_owned(),
            stream,
            buf: vec![0; 1 << 16],
        })
    }

    /// Sends `request`, reads the whole answer; its status.
    async fn get(&mut self, request: &[u8]) -> Res<u16> {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        self.stream
            .write_all(request)
            .await
            .map_err(|e| e.to_string())?;
        let mut filled = 0;
        let (head_end, status, length) = loop {
            if filled == self.buf.len() {
                return Err("answer head larger than 64 KB".into());
            }
            let n = self
                .stream
                .read(&mut self.buf[filled..])
                .await
                .map_err(|e| e.to_string())?;
            if n == 0 {
                return Err("connection closed".into());
            }
            filled += n;
            if let Some(end) = self.buf[..filled].windows(4).position(|w| w == b"\r\n\r\n") {
                let (status, length) = parse_head(&self.buf[..end])?;
                break (end + 4, status, length);
            }
        };
        let mut left = length.saturating_sub(filled - head_end);
        while left > 0 {
            let n = self
                .stream
                .read(&mut self.buf)
                .await
                .map_err(|e| e.to_string())?;
            if n == 0 {
                return Err("connection closed in the body".into());
            }
            left = left.saturating_sub(n);
        }
        Ok(status)
    }
}

/// The status and `Content-Length` of an answer's head.
fn parse_head(head: &[u8]) -> Res<(u16, usize)> {
    let head = std::str::from_utf8(head).map_err(|_| "answer head is not UTF-8")?;
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|line| line.split(' ').nth(1))
        .and_then(|code| code.parse().ok())
        .ok_or("no status line")?;
    let length = lines
        .filter_map(|line| line.split_once(':'))
        .find(|(name, _)| name.eq_ignore_ascii_case("content-length"))
        .map(|(_, value)| value.trim().parse().map_err(|_| "bad Content-Length"))
        .transpose()?
        .ok_or("the answer has no Content-Length")?;
    Ok((status, length))
}

/// The languages, tags and points of profile `i` (deterministic).
fn profile_of(i: usize) -> Value {
    const LANGUAGES: [&str; 6] = ["en", "de", "de-AT", "fr", "es", "pt-BR"];
    const TAGS: [&str; 5] = ["vip", "gold", "silver", "new", "churned"];
    let tags: Vec<&str> = TAGS
        .iter()
        .enumerate()
        .filter(|(k, _)| (i >> k) & 1 == 1 && !(i / 7 + k).is_multiple_of(3))
        .map(|(_, t)| *t)
        .collect();
    json!({
        "id": format!("u{i}"),
        "language": LANGUAGES[i % LANGUAGES.len()],
        "tags": tags,
        "attributes": {"firstName": format!("Name{}", i % 5000), "points": (i * 37) % 10_000, "verified": i.is_multiple_of(2)}
    })
}

async fn profiles(args: &[String]) -> Res<()> {
    let partner = partner(args, 1)?;
    let count: usize = num(args, 4)?;
    let batch: usize = num(args, 5)?;
    let mut times = Vec::new();
    let mut from = 0;
    while from < count {
        let to = (from + batch).min(count);
        let body = Value::Array((from..to).map(profile_of).collect()).to_string();
        let started = Instant::now();
        let resp = partner
            .http
            .post(format!("{}/external/users", partner.base))
            .header("x-api-key", &partner.key)
            .bearer_auth(&partner.token)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let status = resp.status();
        let text = resp.text().await.map_err(|e| e.to_string())?;
        let took = started.elapsed().as_secs_f64();
        let v: Value = serde_json::from_str(&text).map_err(|e| format!("{status} {e}: {text}"))?;
        if !status.is_success() || v["upserted"].as_u64() != Some((to - from) as u64) {
            return Err(format!("POST /external/users: {status} {text:.300}"));
        }
        times.push(took);
        from = to;
    }
    let sorted = sorted(times.clone());
    println!(
        "{count} profiles in {} batches of {batch}: first {:.1} s, last {:.1} s, slowest {:.1} s, total {:.1} s",
        times.len(),
        times.first().copied().unwrap_or(0.0),
        times.last().copied().unwrap_or(0.0),
        pct(&sorted, 100.0),
        times.iter().sum::<f64>()
    );
    Ok(())
}

async fn segments(args: &[String]) -> Res<()> {
    let partner = partner(args, 1)?;
    let count: usize = num(args, 4)?;
    const LANGUAGES: [&str; 4] = ["en", "de", "fr", "es"];
    const TAGS: [&str; 5] = ["vip", "gold", "silver", "new", "churned"];
    let mut ids = Vec::new();
    for j in 0..count {
        let body = json!({
            "name": format!("Segment {j}"),
            "match": if j % 2 == 0 { "all" } else { "any" },
            "conditions": [
                {"field": "language", "op": "eq", "value": LANGUAGES[j % LANGUAGES.len()]},
                {"field": "tag", "op": "in", "value": [TAGS[j % 5], TAGS[(j + 2) % 5]]},
                {"field": "attributes.points", "op": "gte", "value": (j * 47) % 10_000},
                {"field": "attributes.verified", "op": "eq", "value": j % 3 == 0}
            ]
        });
        let resp = partner
            .http
            .post(format!("{}/external/segment", partner.base))
            .header("x-api-key", &partner.key)
            .bearer_auth(&partner.token)
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let text = resp.text().await.map_err(|e| e.to_string())?;
        let v: Value = serde_json::from_str(&text).map_err(|e| format!("{e}: {text}"))?;
        ids.push(v["id"].as_i64().ok_or_else(|| format!("no id in {text}"))?);
    }
    let first = ids.first().copied().unwrap_or(0);
    if ids
        .iter()
        .enumerate()
        .any(|(k, id)| *id != first + k as i64)
    {
        return Err("segment ids are not consecutive".into());
    }
    println!("{first}:{count}");
    Ok(())
}

#[tokio::main]
async fn main() {
    // reqwest is built without a default TLS provider (see Cargo.toml); loopback is plain HTTP,
    // but the client builder still wants one installed.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let outcome = match args.first().map(String::as_str) {
        Some("seed") => seed(&args).await,
        Some("room") => room(&args).await,
        Some("spread") => spread(&args).await,
        Some("events") => events(&args).await,
        Some("rate") => rate(&args).await,
        Some("profiles") => profiles(&args).await,
        Some("segments") => segments(&args).await,
        _ => Err(
            "usage: scale_load seed|room|spread|events|rate|profiles|segments …; see the doc comment"
                .into(),
        ),
    };
    if let Err(e) = outcome {
        eprintln!("scale_load: {e}");
        std::process::exit(1);
    }
}
