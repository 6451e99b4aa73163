//! The widget application: which offers are waiting, which pop-up is up, what is in the feed.
//!
//! Decisions come from `offers_core::frequency`; this module only keeps the queues and the
//! display history in step with them.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use leptos::prelude::*;
use offers_core::frequency::{Decision, Schedule, decide, popup_order, record_display};
use offers_core::{FeedOffer, ViewType};

use crate::actions;
use crate::card::OfferCard;
use crate::config::WidgetConfig;
use crate::history::{HistoryStore, history_key};

/// The current time, from the browser's clock.
pub fn now() -> DateTime<Utc> {
    DateTime::from_timestamp_millis(js_sys::Date::now() as i64).unwrap_or_default()
}

/// The user's UTC offset in minutes (east positive), for `DAILY`'s local calendar day.
pub fn utc_offset_minutes() -> i32 {
    -(js_sys::Date::new_0().get_timezone_offset() as i32)
}

/// One entry into a chat (a page load, a room switch, a login): what `ON_ENTRY` counts.
#[derive(Debug)]
pub struct Session {
    pub config: WidgetConfig,
    /// The entry's sequence number (the entry time in ms: unique across tabs for practical purposes).
    pub entry: u64,
    store: HistoryStore,
    recorded: Mutex<HashSet<i64>>,
}

impl Session {
    pub fn new(config: WidgetConfig, entry: u64) -> Self {
        Self {
            config,
            entry,
            store: HistoryStore,
            recorded: Mutex::new(HashSet::new()),
        }
    }

    fn key(&self, offer: &FeedOffer) -> String {
        history_key(&self.config.project, self.config.user_id(), offer.id)
    }

    /// The core's decision for `offer` now, with the history as stored right now (so a display
    /// in another tab counts).
    pub fn decide(&self, offer: &FeedOffer) -> Decision {
        let history = self.store.load(&self.key(offer));
        decide(
            Schedule::from(offer),
            &history,
            self.entry,
            now(),
            utc_offset_minutes(),
        )
    }

    /// Records one display of `offer` in this entry (once, however often it re-renders).
    pub fn record_impression(&self, offer: &FeedOffer) {
        let first_time = match self.recorded.lock() {
            Ok(mut recorded) => recorded.insert(offer.id),
            Err(_) => false,
        };
        if !first_time {
            return;
        }
        let key = self.key(offer);
        let history = record_display(self.store.load(&key), self.entry, now());
        self.store.save(&key, &history);
        actions::notify_parent("impression", offer.id, &self.config.parent_origin);
    }
}

/// The widget's reactive state: pop-ups waiting (the first one is up) and in-feed offers.
#[derive(Debug, Clone, Copy)]
pub struct Widget {
    pub popups: RwSignal<Vec<FeedOffer>>,
    pub in_feed: RwSignal<Vec<FeedOffer>>,
}

impl Default for Widget {
    fn default() -> Self {
        Self::new()
    }
}

impl Widget {
    pub fn new() -> Self {
        Self {
            popups: RwSignal::new(Vec::new()),
            in_feed: RwSignal::new(Vec::new()),
        }
    }

    /// Puts an offer on screen: pop-ups join the queue in the core's order.
    pub fn reveal(&self, offer: FeedOffer) {
        match offer.view_type {
            ViewType::Popup => self.popups.update(|queue| {
                if queue.iter().all(|o| o.id != offer.id) {
                    // The pop-up that is up stays up; newcomers are ordered behind it.
                    let at = queue
                        .iter()
                        .enumerate()
                        .skip(1)
                        .find(|(_, o)| popup_order(&offer, o).is_lt())
                        .map_or(queue.len(), |(i, _)| i);
                    queue.insert(at, offer);
                }
            }),
            ViewType::InFeed => self.in_feed.update(|list| {
                if list.iter().all(|o| o.id != offer.id) {
                    list.push(offer);
                }
            }),
        }
    }

    /// Takes an offer off screen (closed, clicked, withdrawn or ended).
    pub fn dismiss(&self, offer_id: i64) {
        self.popups
            .update(|queue| queue.retain(|o| o.id != offer_id));
        self.in_feed
            .update(|list| list.retain(|o| o.id != offer_id));
    }

    /// Schedules each offer by the core's decision: shown after its delay, if still allowed then.
    pub fn schedule(&self, session: &Arc<Session>, offers: Vec<FeedOffer>) {
        for offer in offers {
            if let Decision::Show { delay_ms } = session.decide(&offer) {
                let widget = *self;
                let session = Arc::clone(session);
                let show = move || {
                    // Re-decide at display time: another tab may have shown it meanwhile.
                    if matches!(session.decide(&offer), Decision::Show { .. }) {
                        widget.reveal(offer);
                    }
                };
                if delay_ms == 0 {
                    show();
                } else {
                    set_timeout(show, Duration::from_millis(delay_ms));
                }
            }
        }
    }
}

/// The pop-up layer: the first waiting pop-up, over the chat, with close and `Escape`.
#[component]
pub fn PopupLayer(widget: Widget, session: Arc<Session>) -> impl IntoView {
    let front = Memo::new(move |_| widget.popups.with(|queue| queue.first().cloned()));
    let impressions = Arc::clone(&session);
    Effect::new(move |_| {
        if let Some(offer) = front.get() {
            impressions.record_impression(&offer);
        }
    });
    let escape_session = Arc::clone(&session);
    let handle = window_event_listener(leptos::ev::keydown, move |event| {
        if event.key() == "Escape"
            && let Some(offer) = front.get_untracked()
        {
            widget.dismiss(offer.id);
            actions::notify_parent("close", offer.id, &escape_session.config.parent_origin);
        }
    });
    on_cleanup(move || handle.remove());
    move || {
        front.get().map(|offer| {
            let id = offer.id;
            let link = offer.link.as_str().to_owned();
            let open_origin = session.config.parent_origin.clone();
            let close_origin = open_origin.clone();
            view! {
                <div class="layer">
                    <OfferCard offer=offer popup=true
                        on_open=move || {
                            actions::deliver_click(&link, &open_origin);
                            widget.dismiss(id);
                        }
                        on_close=move || {
                            widget.dismiss(id);
                            actions::notify_parent("close", id, &close_origin);
                        } />
                </div>
            }
        })
    }
}

/// The in-feed list, rendered inside the host's container.
#[component]
pub fn FeedList(widget: Widget, session: Arc<Session>) -> impl IntoView {
    view! {
        <div class="feed">
            <For each=move || widget.in_feed.get() key=|offer| offer.id let:offer>
                {
                    session.record_impression(&offer);
                    let id = offer.id;
                    let link = offer.link.as_str().to_owned();
                    let open_origin = session.config.parent_origin.clone();
                    let close_origin = open_origin.clone();
                    view! {
                        <OfferCard offer=offer
                            on_open=move || actions::deliver_click(&link, &open_origin)
                            on_close=move || {
                                widget.dismiss(id);
                                actions::notify_parent("close", id, &close_origin);
                            } />
                    }
                }
            </For>
        </div>
    }
}
