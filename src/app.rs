//! The widget application: entries, which offers are waiting, which pop-up is up, what is in
//! the feed, and when each appears and disappears.
//!
//! Every decision comes from `offers_core::frequency`; this module keeps the queues, the
//! timers and the display history in step with those decisions.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use leptos::prelude::*;
use offers_core::frequency::{Decision, Schedule, SkipReason, decide, popup_order, record_display};
use offers_core::{FeedOffer, ViewType};

use crate::actions;
use crate::card::OfferCard;
use crate::config::WidgetConfig;
use crate::events::{self, EventKind};
use crate::history::{HistoryStore, history_key};

/// Offers that start later than this are left to a later feed or the live stream.
const LOOKAHEAD: Duration = Duration::from_secs(24 * 60 * 60);

/// The current time, from the browser's clock.
pub fn now() -> DateTime<Utc> {
    DateTime::from_timestamp_millis(js_sys::Date::now() as i64).unwrap_or_default()
}

/// The user's UTC offset in minutes (east positive), for `DAILY`'s local calendar day.
pub fn utc_offset_minutes() -> i32 {
    -(js_sys::Date::new_0().get_timezone_offset() as i32)
}

/// One entry into a chat (a page load, a room switch, a login or logout): what `ON_ENTRY`
/// counts, and the identity every request and event of the entry carries.
#[derive(Debug)]
pub struct Session {
    pub config: WidgetConfig,
    /// The entry's number (its start time in ms: distinct across tabs for practical purposes).
    pub entry: u64,
    store: HistoryStore,
    /// Offers displayed in this entry. A handful per entry: a vector, not a hash set (the
    /// widget's wasm stays smaller without hashbrown instantiations of its own).
    recorded: Mutex<Vec<i64>>,
    /// Per offer, the generation of its latest schedule: a timer of an older one is void.
    generations: Mutex<Vec<(i64, u32)>>,
}

impl Session {
    pub fn new(config: WidgetConfig, entry: u64) -> Self {
        Self {
            config,
            entry,
            store: HistoryStore,
            recorded: Mutex::new(Vec::new()),
            generations: Mutex::new(Vec::new()),
        }
    }

    fn key(&self, offer: &FeedOffer) -> String {
        history_key(&self.config.project, self.config.user_id(), offer.id)
    }

    /// The core's decision for `offer` now, with the history as stored right now (so a display
    /// in another tab counts).
    pub fn decide(&self, offer: &FeedOffer) -> Decision {
        // A test send (SPEC §7) is shown now, whatever the frequency rules say.
        if offer.test {
            return Decision::Show { delay_ms: 0 };
        }
        let history = self.store.load(&self.key(offer));
        decide(offer, &history, self.entry, now(), utc_offset_minutes())
    }

    /// Whether this entry already displayed `offer_id`.
    pub fn displayed(&self, offer_id: i64) -> bool {
        self.recorded
            .lock()
            .map(|recorded| recorded.contains(&offer_id))
            .unwrap_or(false)
    }

    /// Records one display of `offer` in this entry (once, however often it re-renders) and
    /// reports the impression.
    pub fn record_impression(&self, offer: &FeedOffer) {
        let first_time = match self.recorded.lock() {
            Ok(mut recorded) if !recorded.contains(&offer.id) => {
                recorded.push(offer.id);
                true
            }
            _ => false,
        };
        if !first_time {
            return;
        }
        // A test send leaves the user's real display history alone (the server does not count
        // its events either).
        if offer.test {
            actions::notify_parent("impression", offer.id, &self.config.parent_origin);
            return;
        }
        let key = self.key(offer);
        let history = record_display(self.store.load(&key), self.entry, now());
        self.store.save(&key, &history);
        events::report(offer.id, EventKind::Impression);
        actions::notify_parent("impression", offer.id, &self.config.parent_origin);
    }

    /// Starts a new generation for `offer_id`, voiding its older timers.
    fn next_generation(&self, offer_id: i64) -> u32 {
        let Ok(mut generations) = self.generations.lock() else {
            return 0;
        };
        match generations.iter_mut().find(|(id, _)| *id == offer_id) {
            Some((_, generation)) => {
                *generation = generation.wrapping_add(1);
                *generation
            }
            None => {
                generations.push((offer_id, 1));
                1
            }
        }
    }

    fn is_current(&self, offer_id: i64, generation: u32) -> bool {
        self.generations
            .lock()
            .map(|g| g.contains(&(offer_id, generation)))
            .unwrap_or(false)
    }
}

/// The widget's state: the current entry, pop-ups waiting (the first one is up) and in-feed
/// offers. `Copy`: components and timers each hold one.
#[derive(Debug, Clone, Copy)]
pub struct Widget {
    pub popups: RwSignal<Vec<FeedOffer>>,
    pub in_feed: RwSignal<Vec<FeedOffer>>,
    session: StoredValue<Arc<Session>>,
}

impl Widget {
    pub fn new(config: WidgetConfig) -> Self {
        Self {
            popups: RwSignal::new(Vec::new()),
            in_feed: RwSignal::new(Vec::new()),
            session: StoredValue::new(Arc::new(Session::new(config, js_sys::Date::now() as u64))),
        }
    }

    /// The current entry.
    pub fn session(&self) -> Arc<Session> {
        self.session.get_value()
    }

    /// A new entry (room switch, login, logout): everything on screen goes, timers of the old
    /// entry are void, and `ON_ENTRY` offers may show again.
    pub fn enter(&self, config: WidgetConfig) {
        let previous = self.session().entry;
        let entry = (js_sys::Date::now() as u64).max(previous + 1);
        self.session
            .set_value(Arc::new(Session::new(config, entry)));
        self.popups.set(Vec::new());
        self.in_feed.set(Vec::new());
    }

    fn displayed(&self, offer_id: i64) -> bool {
        self.popups
            .with_untracked(|q| q.iter().any(|o| o.id == offer_id))
            || self
                .in_feed
                .with_untracked(|l| l.iter().any(|o| o.id == offer_id))
    }

    /// Puts an offer on screen: pop-ups join the queue in the core's order.
    fn reveal(&self, offer: FeedOffer) {
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

    /// The offer was withdrawn: off screen, and no pending timer may bring it back.
    pub fn withdraw(&self, offer_id: i64) {
        self.session().next_generation(offer_id);
        self.dismiss(offer_id);
    }

    /// Schedules each offer of a feed by the core's decision.
    pub fn schedule(&self, offers: Vec<FeedOffer>) {
        for offer in offers {
            self.schedule_one(offer);
        }
    }

    /// A feed fetched again (after a reconnect): offers no longer in it go, the rest are
    /// updated or scheduled.
    pub fn resync(&self, offers: Vec<FeedOffer>) {
        let keep: Vec<i64> = offers.iter().map(|o| o.id).collect();
        let mut shown: Vec<i64> = self
            .popups
            .with_untracked(|q| q.iter().map(|o| o.id).collect());
        self.in_feed
            .with_untracked(|l| shown.extend(l.iter().map(|o| o.id)));
        for id in shown.into_iter().filter(|id| !keep.contains(id)) {
            self.withdraw(id);
        }
        for offer in offers {
            self.upsert(offer);
        }
    }

    /// A created or changed offer (from the live stream or a resync): an offer on screen is
    /// updated in place (or taken down when it no longer applies); others are scheduled.
    pub fn upsert(&self, offer: FeedOffer) {
        if self.displayed(offer.id) {
            let session = self.session();
            let generation = session.next_generation(offer.id);
            let live = Schedule::from(&offer);
            let now = now();
            let in_window = now >= live.start_time && live.end_time.is_none_or(|end| now < end);
            let same_view = self
                .popups
                .with_untracked(|q| q.iter().any(|o| o.id == offer.id))
                == (offer.view_type == ViewType::Popup);
            if in_window && same_view {
                let replace = |list: &mut Vec<FeedOffer>| {
                    if let Some(slot) = list.iter_mut().find(|o| o.id == offer.id) {
                        *slot = offer.clone();
                    }
                };
                self.popups.update(replace);
                self.in_feed.update(replace);
                self.schedule_end(&session, &offer, generation);
            } else {
                self.dismiss(offer.id);
            }
        } else {
            self.schedule_one(offer);
        }
    }

    fn schedule_one(&self, offer: FeedOffer) {
        let session = self.session();
        let generation = session.next_generation(offer.id);
        match session.decide(&offer) {
            Decision::Show { delay_ms } => {
                // `showDelayMS` counts from the entry, however late the offer was scheduled.
                let since_entry = (js_sys::Date::now() as u64).saturating_sub(session.entry);
                let delay_ms = delay_ms.saturating_sub(since_entry);
                let widget = *self;
                let show = move || {
                    if widget.session().entry != session.entry
                        || !session.is_current(offer.id, generation)
                    {
                        return;
                    }
                    // Re-decide at display time: another tab may have shown it meanwhile.
                    if matches!(session.decide(&offer), Decision::Show { .. }) {
                        widget.schedule_end(&session, &offer, generation);
                        widget.reveal(offer);
                    }
                };
                if delay_ms == 0 {
                    show();
                } else {
                    set_timeout(show, Duration::from_millis(delay_ms));
                }
            }
            Decision::Skip(SkipReason::NotStarted { starts_at }) => {
                let wait = (starts_at - now()).to_std().unwrap_or_default();
                if wait <= LOOKAHEAD {
                    let widget = *self;
                    set_timeout(
                        move || {
                            if widget.session().entry == session.entry
                                && session.is_current(offer.id, generation)
                            {
                                widget.schedule_one(offer);
                            }
                        },
                        wait + Duration::from_millis(1),
                    );
                }
            }
            Decision::Skip(_) => {}
        }
    }

    /// Takes the offer down when its window closes while it is on screen.
    fn schedule_end(&self, session: &Arc<Session>, offer: &FeedOffer, generation: u32) {
        let Some(end) = offer.end_time else {
            return;
        };
        let wait = (end - now()).to_std().unwrap_or_default();
        if wait > LOOKAHEAD {
            return;
        }
        let widget = *self;
        let session = Arc::clone(session);
        let id = offer.id;
        set_timeout(
            move || {
                if widget.session().entry == session.entry && session.is_current(id, generation) {
                    widget.dismiss(id);
                }
            },
            wait,
        );
    }

    /// The user opened the offer's link.
    pub fn open(&self, offer_id: i64, link: &str, popup: bool) {
        let session = self.session();
        events::report(offer_id, EventKind::Click);
        actions::deliver_click(link, &session.config.parent_origin);
        if popup {
            self.dismiss(offer_id);
        }
    }

    /// The user closed the offer.
    pub fn close(&self, offer_id: i64) {
        let session = self.session();
        self.dismiss(offer_id);
        events::report(offer_id, EventKind::Close);
        actions::notify_parent("close", offer_id, &session.config.parent_origin);
    }
}

/// The pop-up layer: the first waiting pop-up, over the chat (placed by `data-position` and
/// `data-anchor` in `root`, the pop-up's shadow container), with close and `Escape`.
#[component]
pub fn PopupLayer(widget: Widget, root: web_sys::HtmlElement) -> impl IntoView {
    let front = Memo::new(move |_| widget.popups.with(|queue| queue.first().cloned()));
    Effect::new(move |_| {
        if let Some(offer) = front.get() {
            let session = widget.session();
            // The anchor may have moved (or appeared) since the last resize or scroll.
            crate::placement::place(&root, &session.config.anchor);
            if session.displayed(offer.id) {
                return;
            }
            // It waited in the queue: another tab may have shown it since.
            if matches!(session.decide(&offer), Decision::Show { .. }) {
                session.record_impression(&offer);
            } else {
                widget.dismiss(offer.id);
            }
        }
    });
    let handle = window_event_listener(leptos::ev::keydown, move |event| {
        if event.key() == "Escape"
            && let Some(offer) = front.get_untracked()
        {
            widget.close(offer.id);
        }
    });
    on_cleanup(move || handle.remove());
    move || {
        front.get().map(|offer| {
            let id = offer.id;
            let link = offer.link.as_str().to_owned();
            let mut class = String::from("layer layer--");
            class.push_str(crate::placement::position(
                &widget.session().config.position,
            ));
            view! {
                <div class=class>
                    <OfferCard offer=offer popup=true
                        on_open=move || widget.open(id, &link, true)
                        on_close=move || widget.close(id) />
                </div>
            }
        })
    }
}

/// The in-feed list, rendered inside the host's container.
#[component]
pub fn FeedList(widget: Widget) -> impl IntoView {
    view! {
        <div class="feed">
            // Re-rendered whole on change, so an offer edited while live shows its new content;
            // impressions are still recorded once per offer and entry.
            {move || {
                widget.in_feed.get().into_iter().map(|offer| {
                    widget.session().record_impression(&offer);
                    let id = offer.id;
                    let link = offer.link.as_str().to_owned();
                    view! {
                        <OfferCard offer=offer
                            on_open=move || widget.open(id, &link, false)
                            on_close=move || widget.close(id) />
                    }
                }).collect_view()
            }}
        </div>
    }
}
