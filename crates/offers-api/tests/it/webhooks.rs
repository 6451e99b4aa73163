//! Issue 15: webhooks (SPEC §9) on SQLite and PostgreSQL — registering (URL and event
//! validation, the secret shown once), deliveries to a loopback receiver that fails twice and
//! then succeeds (exactly one delivered event per id, signatures checked, the delivery log),
//! a restart in the middle (a new store and worker on the same database resume the outbox),
//! a slow receiver that does not slow the feed or ingest, giving up after 24 h, and
//! conversions (reported by the partner or tracked by the host page) reaching the `conversion`
//! webhooks once each, attributed to the user's click.
//!
//! No sleeps: every wait is on a condition (the receiver's `watch` channel, a worker's end)
//! under a deadline, with a retry base of a few milliseconds.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use axum::routing::post;
use chrono::Utc;
use hmac::{Hmac, Mac};
use offers_api::auth::Role;
use offers_api::store::Store;
use offers_api::webhooks::WebhookSettings;
use serde_json::{Value, json};
use sha2::Sha256;
use tokio::sync::{oneshot, watch};

use crate::common::{Creds, TestApp, text_offer};

/// How long any wait may take.
const DEADLINE: Duration = Duration::from_secs(20);

/// One POST the receiver got.
#[derive(Debug, Clone)]
struct Received {
    body: String,
    signature: String,
    answered: u16,
}

/// A loopback endpoint: answers 500 to the first `failures` POSTs, then 200; with `hold`, it
/// answers nothing until the sender is dropped or sends.
#[derive(Clone)]
struct Receiver {
    log: Arc<Mutex<Vec<Received>>>,
    seen: watch::Sender<usize>,
    arrived: watch::Sender<usize>,
    failures: usize,
    hold: Arc<tokio::sync::Mutex<Option<watch::Receiver<bool>>>>,
}

struct RunningReceiver {
    url: String,
    log: Arc<Mutex<Vec<Received>>>,
    seen: watch::Receiver<usize>,
    arrived: watch::Receiver<usize>,
    _stop: oneshot::Sender<()>,
}

impl RunningReceiver {
    async fn start(failures: usize, hold: Option<watch::Receiver<bool>>) -> RunningReceiver {
        let (seen, seen_rx) = watch::channel(0);
        let (arrived, arrived_rx) = watch::channel(0);
        let receiver = Receiver {
            log: Arc::default(),
            seen,
            arrived,
            failures,
            hold: Arc::new(tokio::sync::Mutex::new(hold)),
        };
        let log = Arc::clone(&receiver.log);
        let app = Router::new()
            .route("/hook", post(receive))
            .with_state(receiver);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(offers_api::server::serve_with(listener, app, async move {
            let _ = stopped.await;
        }));
        RunningReceiver {
            url: format!("http://{addr}/hook"),
            log,
            seen: seen_rx,
            arrived: arrived_rx,
            _stop: stop,
        }
    }

    /// Waits until the receiver has answered `n` POSTs.
    async fn wait_for(&mut self, n: usize) {
        tokio::time::timeout(DEADLINE, self.seen.wait_for(|seen| *seen >= n))
            .await
            .unwrap_or_else(|_| panic!("the receiver did not get {n} POSTs in time"))
            .unwrap();
    }

    /// Waits until `n` POSTs have arrived (answered or not).
    async fn wait_arrived(&mut self, n: usize) {
        tokio::time::timeout(DEADLINE, self.arrived.wait_for(|seen| *seen >= n))
            .await
            .unwrap_or_else(|_| panic!("{n} POSTs did not arrive in time"))
            .unwrap();
    }

    fn log(&self) -> Vec<Received> {
        self.log.lock().unwrap().clone()
    }
}

async fn receive(State(r): State<Receiver>, headers: HeaderMap, body: Bytes) -> StatusCode {
    r.arrived.send_modify(|n| *n += 1);
    let hold = r.hold.lock().await.clone();
    if let Some(mut hold) = hold {
        let _ = hold.wait_for(|released| *released).await;
    }
    let mut log = r.log.lock().unwrap();
    let status = if log.len() < r.failures {
        StatusCode::INTERNAL_SERVER_ERROR
    } else {
        StatusCode::OK
    };
    log.push(Received {
        body: String::from_utf8(body.to_vec()).unwrap(),
        signature: headers
            .get("offers-signature")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned(),
        answered: status.as_u16(),
    });
    let n = log.len();
    drop(log);
    r.seen.send_replace(n);
    status
}

/// Checks `Offers-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, "t.body")>`.
fn verify(secret: &str, received: &Received) {
    let (t, v1) = received
        .signature
        .split_once(',')
        .unwrap_or_else(|| panic!("signature {:?}", received.signature));
    let t = t.strip_prefix("t=").expect("t=");
    let v1 = v1.strip_prefix("v1=").expect("v1=");
    let unix: i64 = t.parse().expect("unix seconds");
    assert!((Utc::now().timestamp() - unix).abs() < 300, "t={unix}");
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{t}.{}", received.body).as_bytes());
    mac.verify_slice(&hex::decode(v1).expect("hex"))
        .expect("the signature verifies");
}

/// A running delivery worker over `store`.
struct Worker {
    stop: oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
}

impl Worker {
    fn start(store: Arc<dyn Store>, retry_base: Duration) -> Worker {
        let (stop, stopped) = oneshot::channel::<()>();
        let settings = WebhookSettings {
            retry_base,
            ..WebhookSettings::default()
        };
        let task = tokio::spawn(offers_api::webhooks::run(store, settings, async move {
            let _ = stopped.await;
        }));
        Worker { stop, task }
    }

    /// Stops it; returns once its deliveries in flight are recorded.
    async fn stop(self) {
        let _ = self.stop.send(());
        tokio::time::timeout(DEADLINE, self.task)
            .await
            .expect("the worker stops in time")
            .unwrap();
    }
}

async fn register(t: &TestApp, url: &str, events: Value) -> Value {
    let r = t
        .json(
            Method::POST,
            "/external/webhook",
            &t.a,
            Role::Owner,
            &json!({"url": url, "events": events}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    r.json()
}

async fn post_events(t: &TestApp, offer: i64, events: &[(&str, &str)]) -> Value {
    let at = offers_core::format_timestamp(&Utc::now());
    let events: Vec<Value> = events
        .iter()
        .map(|(id, kind)| json!({"id": id, "offerId": offer, "kind": kind, "at": at}))
        .collect();
    let body = json!({"key": t.a.public_key(), "room": "r1", "user": "u1", "events": events});
    let r = t
        .send(
            Request::post("/widget/v1/events")
                .header(header::CONTENT_TYPE, "text/plain;charset=UTF-8")
                .body(Body::from(body.to_string()))
                .unwrap(),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text());
    r.json()
}

async fn delete(t: &TestApp, creds: &Creds, id: i64) -> StatusCode {
    let uri = format!("/external/webhook/{id}");
    t.empty(Method::DELETE, &uri, creds, Role::Owner)
        .await
        .status
}

async fn deliveries(t: &TestApp, id: i64) -> Vec<Value> {
    let r = t
        .get_a(&format!("/external/webhook/{id}/deliveries?limit=100"))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    r.json().as_array().unwrap().clone()
}

both_backends!(retried_until_delivered_once_across_a_restart, |t| {
    let mut receiver = RunningReceiver::start(2, None).await;
    let hook = register(
        &t,
        &receiver.url,
        json!(["offer.click", "offer.impression"]),
    )
    .await;
    let secret = hook["secret"].as_str().unwrap().to_owned();
    assert!(
        secret.starts_with("whsec_") && secret.len() == 6 + 64,
        "{secret}"
    );
    let hook_id = hook["id"].as_i64().unwrap();
    let offer = t.create_a_id(&text_offer()).await;

    let worker = Worker::start(Arc::clone(&t.store), Duration::from_millis(30));
    post_events(
        &t,
        offer,
        &[("e1", "impression"), ("e2", "click"), ("e3", "close")],
    )
    .await;
    // A retried batch stores nothing new: nothing more is enqueued.
    post_events(&t, offer, &[("e1", "impression")]).await;
    receiver.wait_for(1).await;
    worker.stop().await;

    // A restart: a new store and worker on the same database go on from the outbox.
    let store = offers_api::store::connect(&t.db.url).await.unwrap();
    let worker = Worker::start(Arc::clone(&store), Duration::from_millis(30));
    receiver.wait_for(3).await;
    worker.stop().await;

    let log = receiver.log();
    assert_eq!(log.len(), 3, "{log:?}");
    let mut delivered: HashMap<String, usize> = HashMap::new();
    for received in &log {
        verify(&secret, received);
        let body: Value = serde_json::from_str(&received.body).unwrap();
        for event in body["events"].as_array().unwrap() {
            assert!(event["createdAt"].is_string(), "{event}");
            assert_eq!(event["data"]["offerId"], offer, "{event}");
            assert_eq!(event["data"]["room"], "r1", "{event}");
            assert_eq!(event["data"]["user"], "u1", "{event}");
            assert!(event["data"]["at"].is_string(), "{event}");
            if received.answered == 200 {
                *delivered
                    .entry(event["id"].as_str().unwrap().to_owned())
                    .or_default() += 1;
            }
        }
    }
    let first: Value = serde_json::from_str(&log[0].body).unwrap();
    let types: Vec<(&str, &str)> = first["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["id"].as_str().unwrap(), e["type"].as_str().unwrap()))
        .collect();
    assert_eq!(
        types,
        [("e1", "offer.impression"), ("e2", "offer.click")],
        "close is not subscribed"
    );
    assert_eq!(
        delivered,
        HashMap::from([("e1".to_owned(), 1), ("e2".to_owned(), 1)]),
        "exactly one delivered event per id"
    );
    assert_eq!(
        log.iter().map(|r| r.answered).collect::<Vec<_>>(),
        [500, 500, 200]
    );

    let entries = deliveries(&t, hook_id).await;
    let summary: Vec<(String, Value, i64)> = entries
        .iter()
        .map(|d| {
            (
                d["status"].as_str().unwrap().to_owned(),
                d["httpStatus"].clone(),
                d["attempt"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("delivered".to_owned(), json!(200), 3),
            ("retrying".to_owned(), json!(500), 2),
            ("retrying".to_owned(), json!(500), 1),
        ],
        "{entries:?}"
    );
    assert_eq!(entries[0]["eventIds"], json!(["e1", "e2"]));
    assert_eq!(entries[1]["error"], "HTTP 500 Internal Server Error");
    assert!(entries[0]["error"].is_null());
    assert!(entries[0]["durationMs"].as_i64().unwrap() >= 0);
    let page = t
        .get_a(&format!(
            "/external/webhook/{hook_id}/deliveries?limit=1&offset=1"
        ))
        .await
        .json();
    assert_eq!(page.as_array().unwrap().len(), 1);
    assert_eq!(page[0]["attempt"], 2);
    assert_eq!(
        t.store.next_webhook_due(&[]).await.unwrap(),
        None,
        "nothing pending"
    );
});

both_backends!(a_slow_endpoint_slows_neither_feed_nor_ingest, |t| {
    let (release, held) = watch::channel(false);
    let mut receiver = RunningReceiver::start(0, Some(held)).await;
    register(&t, &receiver.url, json!(["offer.impression"])).await;
    let offer = t.create_a_id(&text_offer()).await;
    let worker = Worker::start(Arc::clone(&t.store), Duration::from_millis(30));
    post_events(&t, offer, &[("s1", "impression")]).await;
    // The worker's POST is being held by the receiver.
    receiver.wait_arrived(1).await;
    let started = std::time::Instant::now();
    let feed = t
        .send(
            Request::get(format!(
                "/widget/v1/offers?key={}&room=r1",
                t.a.public_key()
            ))
            .body(Body::empty())
            .unwrap(),
        )
        .await;
    assert_eq!(feed.status, StatusCode::OK);
    post_events(&t, offer, &[("s2", "impression")]).await;
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "feed and ingest waited for the endpoint: {:?}",
        started.elapsed()
    );
    release.send_replace(true);
    receiver.wait_for(2).await;
    worker.stop().await;
    let ids: Vec<String> = receiver
        .log()
        .iter()
        .flat_map(|r| {
            let body: Value = serde_json::from_str(&r.body).unwrap();
            body["events"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["id"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        })
        .collect();
    assert_eq!(ids, ["s1", "s2"]);
});

both_backends!(registering_validates_and_never_lists_secrets, |t| {
    for (body, field) in [
        (
            json!({"url": "http://hooks.example/x", "events": ["offer.click"]}),
            "url",
        ),
        (
            json!({"url": "ftp://hooks.example/x", "events": ["offer.click"]}),
            "url",
        ),
        (json!({"url": "", "events": ["offer.click"]}), "url"),
        (
            json!({"url": "https://hooks.example/x", "events": []}),
            "events",
        ),
        (
            json!({"url": "https://hooks.example/x", "events": ["offer.click", "nope"]}),
            "events[1]",
        ),
        (json!({"url": "https://hooks.example/x"}), "events"),
        (json!({"events": ["conversion"]}), "url"),
    ] {
        let r = t
            .json(Method::POST, "/external/webhook", &t.a, Role::Owner, &body)
            .await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}: {}",
            r.text()
        );
        assert!(
            r.json()["error"]["fields"].get(field).is_some(),
            "{body}: {}",
            r.text()
        );
    }
    // Editors may look, not register (settings: full).
    let body = json!({"url": "https://hooks.example/x", "events": ["conversion"]});
    let r = t
        .json(Method::POST, "/external/webhook", &t.a, Role::Editor, &body)
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text());

    let created = register(
        &t,
        "https://hooks.example/x",
        json!(["conversion", "offer.click", "conversion"]),
    )
    .await;
    assert_eq!(created["events"], json!(["conversion", "offer.click"]));
    let secret = created["secret"].as_str().unwrap().to_owned();
    let id = created["id"].as_i64().unwrap();

    let list = t.get_a("/external/webhook").await;
    assert_eq!(list.status, StatusCode::OK);
    assert!(!list.text().contains(&secret), "{}", list.text());
    assert_eq!(list.json()[0]["url"], "https://hooks.example/x");
    assert!(list.json()[0].get("secret").is_none());
    let audit = t.get_a("/external/audit?limit=100").await;
    assert!(audit.text().contains("webhook.created"), "{}", audit.text());
    assert!(!audit.text().contains(&secret), "{}", audit.text());

    // A path that holds the receiver's own credential is shown whole only to those who may
    // manage webhooks; viewers, editors and the audit log see the origin.
    let slack = register(
        &t,
        "https://hooks.example/services/T0/B0/receiver-credential",
        json!(["offer.click"]),
    )
    .await;
    assert_eq!(
        slack["url"],
        "https://hooks.example/services/T0/B0/receiver-credential"
    );
    let owner = t.get_a("/external/webhook").await;
    assert_eq!(
        owner.json()[0]["url"],
        "https://hooks.example/services/T0/B0/receiver-credential"
    );
    for role in [Role::Viewer, Role::Editor] {
        let r = t.empty(Method::GET, "/external/webhook", &t.a, role).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
        assert_eq!(r.json()[0]["url"], "https://hooks.example/\u{2026}");
        assert_eq!(r.json()[1]["url"], "https://hooks.example/\u{2026}");
        assert!(!r.text().contains("receiver-credential"), "{}", r.text());
    }
    let audit = t.get_a("/external/audit?limit=100").await;
    assert!(
        !audit.text().contains("receiver-credential"),
        "{}",
        audit.text()
    );
    assert_eq!(
        delete(&t, &t.a, slack["id"].as_i64().unwrap()).await,
        StatusCode::NO_CONTENT
    );

    // Another project sees nothing of it.
    let other = t
        .empty(Method::GET, "/external/webhook", &t.b, Role::Owner)
        .await;
    assert_eq!(other.json(), json!([]));
    let uri = format!("/external/webhook/{id}/deliveries");
    let r = t.empty(Method::GET, &uri, &t.b, Role::Owner).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(delete(&t, &t.b, id).await, StatusCode::NOT_FOUND);

    assert_eq!(deliveries(&t, id).await, Vec::<Value>::new());
    assert_eq!(delete(&t, &t.a, id).await, StatusCode::NO_CONTENT);
    assert_eq!(delete(&t, &t.a, id).await, StatusCode::NOT_FOUND);
    assert_eq!(t.get_a(&uri).await.status, StatusCode::NOT_FOUND);
    let audit = t.get_a("/external/audit?action=webhook.deleted").await;
    assert_eq!(audit.json()[0]["target"], format!("webhook:{id}"));
});

both_backends!(events_are_given_up_24_hours_after_they_happened, |t| {
    use offers_api::store::webhooks::DeliveryOutcome;
    use offers_core::api::webhooks::DeliveryStatus;
    register(&t, "http://127.0.0.1:9/never", json!(["offer.click"])).await;
    let offer = t.create_a_id(&text_offer()).await;
    post_events(&t, offer, &[("g1", "click")]).await;
    let later = Utc::now() + chrono::Duration::hours(23);
    let batches = t
        .store
        .claim_webhook_batches(later, later + chrono::Duration::minutes(1), &[], 10)
        .await
        .unwrap();
    assert_eq!(batches.len(), 1);
    assert_eq!(batches[0].events.len(), 1);
    // Claimed rows are not claimed again while leased.
    let again = t
        .store
        .claim_webhook_batches(later, later + chrono::Duration::minutes(1), &[], 10)
        .await
        .unwrap();
    assert!(again.is_empty(), "{again:?}");
    let outcome = DeliveryOutcome {
        delivered: false,
        http_status: None,
        error: Some("cannot connect".into()),
        duration_ms: 1,
        retry_at: later + chrono::Duration::hours(2),
    };
    let status = t
        .store
        .finish_webhook_batch(&batches[0], &outcome, later)
        .await
        .unwrap();
    assert_eq!(status, DeliveryStatus::Failed);
    assert_eq!(t.store.next_webhook_due(&[]).await.unwrap(), None);
});

both_backends!(conversions_reach_the_conversion_webhooks_once, |t| {
    let mut receiver = RunningReceiver::start(0, None).await;
    let hook = register(&t, &receiver.url, json!(["conversion"])).await;
    let secret = hook["secret"].as_str().unwrap().to_owned();
    let offer = t.create_a_id(&text_offer()).await;
    let worker = Worker::start(Arc::clone(&t.store), Duration::from_millis(30));

    // u1 clicks the offer (not subscribed: nothing is sent for it), then converts.
    post_events(&t, offer, &[("c1", "click")]).await;
    let order = json!({"id": "order-1", "userId": "u1", "name": "deposit", "value": 20});
    let r = t
        .json(
            Method::POST,
            "/external/conversion",
            &t.a,
            Role::Owner,
            &order,
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    // A repeated report stores nothing and queues nothing.
    let again = t
        .json(
            Method::POST,
            "/external/conversion",
            &t.a,
            Role::Owner,
            &order,
        )
        .await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.text());
    receiver.wait_for(1).await;

    // A conversion the host page tracks (`Offers.track(name, props, {conversion: true})`).
    let at = offers_core::format_timestamp(&Utc::now());
    let batch = json!({"key": t.a.public_key(), "room": "r1", "user": "u1", "events": [],
        "tracked": [{"id": "t1", "name": "purchase", "at": at, "conversion": true, "value": 5}]});
    let r = t
        .send(
            Request::post("/widget/v1/events")
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(batch.to_string()))
                .unwrap(),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text());
    receiver.wait_for(2).await;
    worker.stop().await;

    let log = receiver.log();
    let mut events = Vec::new();
    for received in &log {
        verify(&secret, received);
        let body: Value = serde_json::from_str(&received.body).unwrap();
        events.extend(body["events"].as_array().unwrap().iter().cloned());
    }
    let seen: Vec<(&str, &str, &Value, &Value)> = events
        .iter()
        .map(|e| {
            (
                e["id"].as_str().unwrap(),
                e["type"].as_str().unwrap(),
                &e["data"]["offerId"],
                &e["data"]["value"],
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            ("order-1", "conversion", &json!(offer), &json!(20.0)),
            ("track:t1", "conversion", &json!(offer), &json!(5.0)),
        ],
        "{events:?}"
    );
    assert_eq!(events[0]["data"]["userId"], "u1");
    assert_eq!(events[1]["data"]["name"], "purchase");
});
