//! Live updates: one `EventSource` on `/widget/v1/stream` per entry. `offer.created` and
//! `offer.updated` carry a feed offer, `offer.deleted` its id, `resync` asks for the feed again.
//! Each time it opens (the first time too) the feed is fetched again, since the stream only
//! carries changes and some may have happened before it connected.

use std::cell::RefCell;
use std::time::Duration;

use leptos::prelude::set_timeout;
use offers_core::FeedOffer;
use offers_core::api::StreamEventName;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use web_sys::{EventSource, MessageEvent};

use crate::app::Widget;
use crate::feed::offers_from;
use crate::net;

/// Reconnect delay after `attempt` failures: 1 s doubling to 30 s, plus up to 1 s of jitter so
/// a restarted server is not hit by every widget at once.
pub fn backoff(attempt: u32) -> Duration {
    let base = 1000u64.saturating_mul(1 << attempt.min(5)).min(30_000);
    Duration::from_millis(base + (js_sys::Math::random() * 1000.0) as u64)
}

struct Stream {
    source: EventSource,
    entry: u64,
    _listeners: Vec<Closure<dyn FnMut(JsValue)>>,
}

thread_local! {
    static STREAM: RefCell<Option<Stream>> = const { RefCell::new(None) };
}

/// Closes the current stream, if any.
pub fn close() {
    STREAM.with(|s| {
        if let Some(stream) = s.borrow_mut().take() {
            stream.source.close();
        }
    });
}

/// Opens the stream for the widget's current entry (closing any older one).
pub fn open(widget: Widget) {
    open_attempt(widget, 0);
}

fn open_attempt(widget: Widget, attempt: u32) {
    close();
    let session = widget.session();
    let Ok(source) = EventSource::new(&net::widget_url(&session.config, "stream")) else {
        return;
    };
    let entry = session.entry;
    let mut listeners: Vec<Closure<dyn FnMut(JsValue)>> = Vec::new();
    let mut listen = |name: &str, handler: Box<dyn FnMut(JsValue)>| {
        let closure = Closure::wrap(handler);
        let _ = source.add_event_listener_with_callback(name, closure.as_ref().unchecked_ref());
        listeners.push(closure);
    };

    listen(
        StreamEventName::OfferCreated.as_str(),
        Box::new(move |event| {
            if let Some(offer) = offer_of(&event) {
                widget.upsert(offer);
            }
        }),
    );
    listen(
        StreamEventName::OfferUpdated.as_str(),
        Box::new(move |event| {
            if let Some(offer) = offer_of(&event) {
                widget.upsert(offer);
            }
        }),
    );
    listen(
        StreamEventName::OfferDeleted.as_str(),
        Box::new(move |event| {
            if let Some(id) = deleted_id(&event) {
                widget.withdraw(id);
            }
        }),
    );
    listen(
        StreamEventName::Resync.as_str(),
        Box::new(move |_| resync(widget, entry)),
    );
    // The stream sends changes only: whatever happened between the feed fetch and this
    // (re)connection is picked up by fetching the feed again.
    listen("open", Box::new(move |_| resync(widget, entry)));
    listen(
        "error",
        Box::new(move |_| {
            let closed = STREAM.with(|s| {
                s.borrow().as_ref().is_some_and(|st| {
                    st.entry == entry && st.source.ready_state() == EventSource::CLOSED
                })
            });
            // The browser retries by itself while CONNECTING; a CLOSED stream is ours to retry.
            if closed {
                set_timeout(
                    move || {
                        if widget.session().entry == entry {
                            open_attempt(widget, attempt + 1);
                        }
                    },
                    backoff(attempt),
                );
            }
        }),
    );
    STREAM.with(|s| {
        *s.borrow_mut() = Some(Stream {
            source,
            entry,
            _listeners: listeners,
        })
    });
}

/// Fetches the feed again and reconciles what is on screen with it.
pub fn resync(widget: Widget, entry: u64) {
    wasm_bindgen_futures::spawn_local(async move {
        let config = widget.session().config.clone();
        if let Ok(body) = net::fetch_feed(&config).await
            && widget.session().entry == entry
        {
            widget.resync(offers_from(&body));
        }
    });
}

fn data_json(event: &JsValue) -> Option<JsValue> {
    let data = event.dyn_ref::<MessageEvent>()?.data().as_string()?;
    js_sys::JSON::parse(&data).ok()
}

fn offer_of(event: &JsValue) -> Option<FeedOffer> {
    crate::feed::offer_from_js(&data_json(event)?).ok()
}

fn deleted_id(event: &JsValue) -> Option<i64> {
    let id = js_sys::Reflect::get(&data_json(event)?, &JsValue::from_str("id")).ok()?;
    id.as_f64().map(|id| id as i64)
}
