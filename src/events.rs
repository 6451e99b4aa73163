//! The events outbox: impressions, clicks and closes, batched and sent to
//! `/widget/v1/events`. Each event has a client-generated id, so a batch that is retried (the
//! network failed, the tab was closing) is never counted twice by the server.

use std::cell::RefCell;
use std::time::Duration;

use leptos::prelude::set_timeout;

use crate::config::WidgetConfig;
use crate::net;

/// What happened to an offer (the API's type: one name per kind).
pub use offers_core::api::EventKind;

/// One event waiting to be sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub id: String,
    pub offer_id: i64,
    pub kind: EventKind,
    /// RFC 3339 time of the event.
    pub at: String,
}

/// Most events in one batch (the server's limit).
pub const MAX_BATCH: usize = 100;
/// How long events wait to be batched together.
const FLUSH_DELAY: Duration = Duration::from_secs(2);

/// Escapes a string for a JSON string literal.
fn json_string(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The JSON body of one batch, an `offers_core::api::EventsRequest` (hand-built: no
/// serde_json in the widget bundle; the tests read it back as that type).
pub fn batch_body(config: &WidgetConfig, events: &[Event]) -> String {
    let mut body = format!(
        "{{\"key\":{},\"room\":{}",
        json_string(&config.project),
        json_string(&config.room)
    );
    if let Some(user) = config.user_id() {
        body.push_str(&format!(",\"user\":{}", json_string(user)));
        if !config.sig.is_empty() {
            body.push_str(&format!(",\"sig\":{}", json_string(&config.sig)));
        }
    }
    body.push_str(",\"events\":[");
    for (i, event) in events.iter().enumerate() {
        if i > 0 {
            body.push(',');
        }
        body.push_str(&format!(
            "{{\"id\":{},\"offerId\":{},\"kind\":\"{}\",\"at\":{}}}",
            json_string(&event.id),
            event.offer_id,
            event.kind.as_str(),
            json_string(&event.at)
        ));
    }
    body.push_str("]}");
    body
}

#[derive(Default)]
struct Outbox {
    /// Events with the identity of the entry they happened in.
    pending: Vec<(WidgetConfig, Event)>,
    flush_scheduled: bool,
    sending: bool,
}

thread_local! {
    static OUTBOX: RefCell<Outbox> = RefCell::new(Outbox::default());
}

/// A new event id: time plus randomness, unique for practical purposes, in any context
/// (`crypto.randomUUID` is missing on plain-http hosts).
pub fn new_event_id() -> String {
    let random = (js_sys::Math::random() * 9_007_199_254_740_991.0) as u64;
    format!("{:x}-{random:x}", js_sys::Date::now() as u64)
}

/// Queues an event and schedules a flush.
pub fn report(config: &WidgetConfig, offer_id: i64, kind: EventKind) {
    // The browser formats the wire form (`2024-05-22T12:00:01.000Z`): no chrono formatting here.
    let at = String::from(js_sys::Date::new_0().to_iso_string());
    let event = Event {
        id: new_event_id(),
        offer_id,
        kind,
        at,
    };
    let schedule = OUTBOX.with(|outbox| {
        let mut outbox = outbox.borrow_mut();
        outbox.pending.push((config.clone(), event));
        !std::mem::replace(&mut outbox.flush_scheduled, true)
    });
    if schedule {
        set_timeout(flush, FLUSH_DELAY);
    }
}

/// Takes the oldest batch: events of one entry identity, at most [`MAX_BATCH`].
fn take_batch(pending: &mut Vec<(WidgetConfig, Event)>) -> Option<(WidgetConfig, Vec<Event>)> {
    let config = pending.first()?.0.clone();
    let mut batch = Vec::new();
    pending.retain(|(c, e)| {
        if batch.len() < MAX_BATCH && *c == config {
            batch.push(e.clone());
            false
        } else {
            true
        }
    });
    Some((config, batch))
}

/// Sends what is pending, one batch at a time; a batch that fails goes back to the queue
/// (same ids) and is retried later.
pub fn flush() {
    let start = OUTBOX.with(|outbox| {
        let mut outbox = outbox.borrow_mut();
        outbox.flush_scheduled = false;
        !std::mem::replace(&mut outbox.sending, true)
    });
    if !start {
        return;
    }
    wasm_bindgen_futures::spawn_local(async {
        let mut failed = Vec::new();
        while let Some((config, batch)) =
            OUTBOX.with(|outbox| take_batch(&mut outbox.borrow_mut().pending))
        {
            if !net::post_events(&config, &batch_body(&config, &batch)).await {
                failed.extend(batch.into_iter().map(|e| (config.clone(), e)));
            }
        }
        let retry = OUTBOX.with(|outbox| {
            let mut outbox = outbox.borrow_mut();
            outbox.sending = false;
            let retry = !failed.is_empty() && !outbox.flush_scheduled;
            failed.append(&mut outbox.pending);
            outbox.pending = failed;
            outbox.flush_scheduled |= retry;
            retry
        });
        if retry {
            set_timeout(flush, FLUSH_DELAY * 5);
        }
    });
}

/// The page is going away: hand everything pending to `sendBeacon`.
pub fn flush_on_hide() {
    OUTBOX.with(|outbox| {
        let mut outbox = outbox.borrow_mut();
        let mut unsent = Vec::new();
        while let Some((config, batch)) = take_batch(&mut outbox.pending) {
            if !net::beacon_events(&config, &batch_body(&config, &batch)) {
                unsent.extend(batch.into_iter().map(|e| (config.clone(), e)));
            }
        }
        outbox.pending = unsent;
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(id: &str, kind: EventKind) -> Event {
        Event {
            id: id.into(),
            offer_id: 7,
            kind,
            at: "2026-11-21T10:00:00.000Z".into(),
        }
    }

    #[test]
    fn batch_body_is_the_documented_json() {
        let config = WidgetConfig {
            project: "pk\"1".into(),
            room: "r\n1".into(),
            user: "u1".into(),
            sig: "ab".into(),
            ..WidgetConfig::default()
        };
        let body = batch_body(
            &config,
            &[event("e1", EventKind::Click), event("e2", EventKind::Close)],
        );
        let parsed: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(
            parsed,
            serde_json::json!({"key": "pk\"1", "room": "r\n1", "user": "u1", "sig": "ab", "events": [
                {"id": "e1", "offerId": 7, "kind": "click", "at": "2026-11-21T10:00:00.000Z"},
                {"id": "e2", "offerId": 7, "kind": "close", "at": "2026-11-21T10:00:00.000Z"}
            ]})
        );
    }

    #[test]
    fn batch_body_is_the_api_type() {
        let config = WidgetConfig {
            project: "pk".into(),
            room: "r".into(),
            user: "u\u{1}é".into(),
            sig: "ab".into(),
            ..WidgetConfig::default()
        };
        let events = [
            event("e\"1", EventKind::Impression),
            event("e2", EventKind::Click),
            event("e3", EventKind::Close),
        ];
        let parsed: offers_core::api::EventsRequest =
            serde_json::from_str(&batch_body(&config, &events)).unwrap();
        assert_eq!((parsed.key.as_str(), parsed.room.as_str()), ("pk", "r"));
        assert_eq!(parsed.user.as_deref(), Some("u\u{1}é"));
        assert_eq!(parsed.sig.as_deref(), Some("ab"));
        assert_eq!(parsed.events.len(), 3);
        for (sent, read) in events.iter().zip(&parsed.events) {
            assert_eq!(read.id, sent.id);
            assert_eq!(read.offer_id, sent.offer_id);
            assert_eq!(read.kind, sent.kind);
            assert_eq!(offers_core::format_timestamp(&read.at), sent.at);
        }
    }

    #[test]
    fn anonymous_batches_name_no_user() {
        let config = WidgetConfig {
            project: "pk".into(),
            sig: "ignored".into(),
            ..WidgetConfig::default()
        };
        let parsed: serde_json::Value =
            serde_json::from_str(&batch_body(&config, &[event("e", EventKind::Impression)]))
                .unwrap();
        assert!(parsed.get("user").is_none() && parsed.get("sig").is_none());
    }

    #[test]
    fn batches_group_by_entry_and_cap_at_the_limit() {
        let a = WidgetConfig {
            room: "a".into(),
            ..WidgetConfig::default()
        };
        let b = WidgetConfig {
            room: "b".into(),
            ..WidgetConfig::default()
        };
        let mut pending: Vec<_> = (0..150)
            .map(|i| {
                (
                    if i % 3 == 0 { b.clone() } else { a.clone() },
                    event(&i.to_string(), EventKind::Click),
                )
            })
            .collect();
        pending.insert(0, (a.clone(), event("first", EventKind::Click)));
        let (config, batch) = take_batch(&mut pending).unwrap();
        assert_eq!(config, a);
        assert_eq!(batch.len(), 100);
        assert_eq!(batch[0].id, "first");
        // Oldest first: the oldest event left is one of b's.
        let (config, batch) = take_batch(&mut pending).unwrap();
        assert_eq!((config, batch.len()), (b, 50));
        let (config, batch) = take_batch(&mut pending).unwrap();
        assert_eq!((config, batch.len()), (a, 1));
        assert!(take_batch(&mut pending).is_none());
    }
}
