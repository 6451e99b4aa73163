//! The widget application: entries, which offers are waiting, which pop-up is up, what is in
//! the feed, and when each appears and disappears.
//!
//! Every decision comes from `offers_core::frequency` (may this offer show now) and
//! `offers_core::campaign` (which trigger an event fires, which variant a user sees, whether
//! the project's caps admit another pop-up, which waiting pop-up goes first); this module keeps
//! the queues, the timers, the display history and the pop-up log in step with those decisions.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use leptos::prelude::*;
use offers_core::campaign::{
    Assignment, CapReason, Caps, PopupShown, admit, assign, merge, prune, session_at, winner,
};
use offers_core::frequency::{Decision, Schedule, SkipReason, decide, record_display};
use offers_core::{FeedOffer, ViewType};
use wasm_bindgen::JsValue;

use crate::actions;
use crate::after_paint::{Call, run};
use crate::card::OfferCard;
use crate::config::WidgetConfig;
use crate::events::{self, EventKind};
use crate::feed::prop_holds;
use crate::history::{
    HistoryStore, anonymous_key, history_key, popup_log_key, random_id, session_key,
};

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
    /// Who the variants are assigned to: the user id, else the anonymous visitor's id.
    user_key: String,
    /// The project's caps and the server's log of this user's pop-ups (from the last feed).
    caps: Mutex<(Caps, Vec<PopupShown>)>,
    /// Offers with a trigger, as shown (variant applied), waiting for their event.
    held: Mutex<Vec<FeedOffer>>,
    /// The variant each offer of this entry shows (`None`: its own content).
    variants: Mutex<Vec<(i64, Option<usize>)>>,
    /// A feed's offers are being scheduled: reveals only queue ([`Widget::batch`]).
    batching: AtomicBool,
}

impl Session {
    pub fn new(config: WidgetConfig, entry: u64) -> Self {
        let store = HistoryStore;
        let user_key = match config.user_id() {
            Some(user) => user.to_owned(),
            None => store.anonymous_id(&anonymous_key(&config.project)),
        };
        let session = Self {
            config,
            entry,
            store,
            recorded: Mutex::new(Vec::new()),
            generations: Mutex::new(Vec::new()),
            user_key,
            caps: Mutex::new((Caps::default(), Vec::new())),
            held: Mutex::new(Vec::new()),
            variants: Mutex::new(Vec::new()),
            batching: AtomicBool::new(false),
        };
        // An entry is activity: it keeps the shared session mark alive (or starts a session).
        session.session_id();
        session
    }

    /// The caps and the server's pop-up log a feed body brought.
    pub fn set_caps(&self, caps: Caps, server_log: Vec<PopupShown>) {
        if let Ok(mut slot) = self.caps.lock() {
            *slot = (caps, server_log);
        }
    }

    /// The offer as this user sees it (the core's assignment: a variant's content, or `None`
    /// for the holdout, which sees nothing and sends nothing). A test send always shows.
    fn prepare(&self, offer: FeedOffer) -> Option<FeedOffer> {
        let assignment = match assign(
            offer.id,
            &self.user_key,
            &offer.weights(),
            offer.holdout_percent,
        ) {
            Assignment::Holdout if offer.test => Assignment::Original,
            Assignment::Holdout => return None,
            shown => shown,
        };
        let variant = assignment.variant();
        if let Ok(mut variants) = self.variants.lock() {
            variants.retain(|(id, _)| *id != offer.id);
            variants.push((offer.id, variant));
        }
        Some(offer.with_variant(variant))
    }

    /// The variant `offer_id` shows.
    fn variant(&self, offer_id: i64) -> Option<usize> {
        self.variants.lock().ok().and_then(|v| {
            v.iter()
                .find(|(id, _)| *id == offer_id)
                .and_then(|(_, v)| *v)
        })
    }

    /// Keeps `offer` (or, `None`, drops offer `id`) among the offers waiting for their event.
    fn hold(&self, id: i64, offer: Option<FeedOffer>) {
        if let Ok(mut held) = self.held.lock() {
            held.retain(|o| o.id != id);
            held.extend(offer);
        }
    }

    /// The shared session's id (the core's `session_at` on the mark every tab keeps), marking
    /// this moment as activity.
    fn session_id(&self) -> u64 {
        let key = session_key(&self.config.project);
        let mark = session_at(self.store.load_mark(&key), js_sys::Date::now() as i64);
        self.store.save_mark(&key, mark);
        mark.id
    }

    fn log_key(&self) -> String {
        popup_log_key(&self.config.project, self.config.user_id())
    }

    /// Whether the project's caps admit a pop-up now, with the log as stored right now (so a
    /// display in another tab counts) merged with the server's.
    pub fn admit(&self) -> Result<(), CapReason> {
        let Ok((caps, server)) = self.caps.lock().map(|c| c.clone()) else {
            return Ok(());
        };
        if caps.is_empty() {
            return Ok(());
        }
        let log = merge(&self.store.load_log(&self.log_key()), &server);
        admit(&caps, &log, self.session_id(), now(), utc_offset_minutes())
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
    /// reports the impression; a pop-up's also goes into the caps' shared log.
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
        let id = random_id();
        if offer.view_type == ViewType::Popup {
            let key = self.log_key();
            let mut log = prune(&self.store.load_log(&key), now());
            log.push(PopupShown {
                id: id.clone(),
                at: now(),
                session: self.session_id(),
            });
            self.store.save_log(&key, &log);
        }
        events::report(offer.id, EventKind::Impression, &id, self.variant(offer.id));
        actions::notify_parent("impression", offer.id, &self.config.parent_origin);
    }

    /// Reports a click or close of `offer_id`.
    fn report(&self, offer_id: i64, kind: EventKind) {
        events::report(offer_id, kind, &random_id(), self.variant(offer_id));
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

/// The widget's state: the current entry, the pop-up that is up, pop-ups waiting for it and
/// in-feed offers. `Copy`: components and timers each hold one.
#[derive(Debug, Clone, Copy)]
pub struct Widget {
    /// The pop-up that is up (shared with its card: no copy of the offer to render it).
    pub popup: RwSignal<Option<Arc<FeedOffer>>>,
    waiting: StoredValue<Vec<FeedOffer>>,
    pub in_feed: RwSignal<Vec<FeedOffer>>,
    session: StoredValue<Arc<Session>>,
}

impl Widget {
    pub fn new(config: WidgetConfig) -> Self {
        Self {
            popup: RwSignal::new(None),
            waiting: StoredValue::new(Vec::new()),
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
        self.popup.set(None);
        self.waiting.set_value(Vec::new());
        self.in_feed.set(Vec::new());
    }

    fn is_up(&self, offer_id: i64) -> bool {
        self.popup
            .with_untracked(|p| p.as_ref().is_some_and(|o| o.id == offer_id))
    }

    fn displayed(&self, offer_id: i64) -> bool {
        self.is_up(offer_id)
            || self
                .waiting
                .with_value(|q| q.iter().any(|o| o.id == offer_id))
            || self
                .in_feed
                .with_untracked(|l| l.iter().any(|o| o.id == offer_id))
    }

    /// Puts an offer on screen: a pop-up waits its turn ([`Widget::advance`], once the pop-ups
    /// that become due in this same task have all joined the queue). Inside a feed's batch
    /// ([`Widget::batch`]) the batch itself advances once, at its end, in the same task: the
    /// first pop-up paints without waiting for a timer. Otherwise a zero timer does it, so
    /// pop-ups whose timers fire together are still arbitrated together.
    fn reveal(&self, offer: FeedOffer) {
        match offer.view_type {
            ViewType::Popup => {
                if !self.displayed(offer.id) {
                    self.waiting.update_value(|queue| queue.push(offer));
                }
                if self.session().batching.load(Ordering::Relaxed) {
                    return;
                }
                let widget = *self;
                let entry = self.session().entry;
                set_timeout(
                    move || {
                        if widget.session().entry == entry {
                            widget.advance();
                        }
                    },
                    Duration::ZERO,
                );
            }
            ViewType::InFeed => self.in_feed.update(|list| {
                if list.iter().all(|o| o.id != offer.id) {
                    list.push(offer);
                }
            }),
        }
    }

    /// When no pop-up is up: the waiting pop-up the core's arbitration picks (highest
    /// priority, then the pop-up order) goes up if the frequency rules and the project's caps
    /// admit it now. A minimum gap makes it wait and try again; a reached cap drops it.
    fn advance(&self) {
        if self.popup.with_untracked(Option::is_some) {
            return;
        }
        let session = self.session();
        loop {
            let next = self.waiting.try_update_value(|queue| {
                // A test send (SPEC §7) goes first.
                let qualifying: Vec<&FeedOffer> = queue.iter().collect();
                let first = queue.iter().position(|o| o.test);
                first
                    .or_else(|| winner(&qualifying))
                    .map(|i| queue.remove(i))
            });
            let Some(offer) = next.flatten() else {
                return;
            };
            // Re-decide at display time: another tab may have shown it meanwhile.
            if !matches!(session.decide(&offer), Decision::Show { .. }) {
                continue;
            }
            // A test send is shown whatever the caps say, and is not logged.
            match if offer.test { Ok(()) } else { session.admit() } {
                Ok(()) => {
                    session.record_impression(&offer);
                    self.popup.set(Some(Arc::new(offer)));
                    return;
                }
                Err(CapReason::Gap { wait_ms }) => {
                    self.waiting.update_value(|queue| queue.push(offer));
                    let widget = *self;
                    set_timeout(
                        move || {
                            if widget.session().entry == session.entry {
                                widget.advance();
                            }
                        },
                        Duration::from_millis(wait_ms),
                    );
                    return;
                }
                Err(_) => {}
            }
        }
    }

    /// Takes an offer off screen (closed, clicked, withdrawn or ended); the next waiting
    /// pop-up may go up.
    pub fn dismiss(&self, offer_id: i64) {
        self.waiting
            .update_value(|queue| queue.retain(|o| o.id != offer_id));
        self.in_feed
            .update(|list| list.retain(|o| o.id != offer_id));
        if self.is_up(offer_id) {
            self.popup.set(None);
            self.advance();
        }
    }

    /// The offer was withdrawn: off screen, and no pending timer may bring it back.
    pub fn withdraw(&self, offer_id: i64) {
        let session = self.session();
        session.next_generation(offer_id);
        session.hold(offer_id, None);
        self.dismiss(offer_id);
    }

    /// Sets the caps and the server's pop-up log of a feed body.
    pub fn set_caps(&self, caps: Caps, server_log: Vec<PopupShown>) {
        self.session().set_caps(caps, server_log);
    }

    /// An event the host reported (`Offers.track` or the framing app's message): each held
    /// offer whose trigger the core says it fires is shown after the trigger's delay, through
    /// the frequency rules, the caps and the priority like any other.
    pub fn track(&self, name: &str, props: &JsValue) {
        let session = self.session();
        let fired: Vec<FeedOffer> = session
            .held
            .lock()
            .map(|held| {
                held.iter()
                    .filter(|o| {
                        o.trigger
                            .as_ref()
                            .is_some_and(|t| t.fires(name, |c| prop_holds(c, props)))
                    })
                    .cloned()
                    .collect()
            })
            .unwrap_or_default();
        for offer in fired {
            let generation = session.next_generation(offer.id);
            let delay_ms = offer.trigger.as_ref().map_or(0, |t| t.delay_ms);
            let widget = *self;
            let session = Arc::clone(&session);
            let fire = move || {
                if widget.session().entry == session.entry
                    && session.is_current(offer.id, generation)
                    && matches!(session.decide(&offer), Decision::Show { .. })
                {
                    widget.schedule_end(&session, &offer, generation);
                    widget.reveal(offer);
                }
            };
            if delay_ms == 0 {
                fire();
            } else {
                set_timeout(fire, Duration::from_millis(delay_ms));
            }
        }
    }

    /// Schedules each offer of a feed by the core's decision.
    pub fn schedule(&self, offers: Vec<FeedOffer>) {
        self.batch(|| {
            for offer in offers {
                self.schedule_one(offer);
            }
        });
    }

    /// Runs `work` (a feed's offers being scheduled), then lets the waiting pop-up the core's
    /// arbitration picks among all that became due go up, in the same task.
    fn batch(&self, work: impl FnOnce()) {
        let session = self.session();
        session.batching.store(true, Ordering::Relaxed);
        work();
        session.batching.store(false, Ordering::Relaxed);
        self.advance();
    }

    /// A feed fetched again (after a reconnect): offers no longer in it go, the rest are
    /// updated or scheduled.
    pub fn resync(&self, offers: Vec<FeedOffer>) {
        let keep: Vec<i64> = offers.iter().map(|o| o.id).collect();
        let mut shown: Vec<i64> = self
            .waiting
            .with_value(|q| q.iter().map(|o| o.id).collect());
        self.popup
            .with_untracked(|p| shown.extend(p.as_ref().map(|o| o.id)));
        self.in_feed
            .with_untracked(|l| shown.extend(l.iter().map(|o| o.id)));
        if let Ok(held) = self.session().held.lock() {
            shown.extend(held.iter().map(|o| o.id));
        }
        for id in shown.into_iter().filter(|id| !keep.contains(id)) {
            self.withdraw(id);
        }
        self.batch(|| {
            for offer in offers {
                self.upsert(offer);
            }
        });
    }

    /// A created or changed offer (from the live stream or a resync): an offer on screen is
    /// updated in place (or taken down when it no longer applies); others are scheduled.
    pub fn upsert(&self, offer: FeedOffer) {
        if self.displayed(offer.id) {
            let session = self.session();
            let generation = session.next_generation(offer.id);
            let id = offer.id;
            let Some(offer) = session.prepare(offer) else {
                self.dismiss(id);
                return;
            };
            let live = Schedule::from(&offer);
            let now = now();
            let in_window = now >= live.start_time && live.end_time.is_none_or(|end| now < end);
            let same_view = self
                .in_feed
                .with_untracked(|l| l.iter().all(|o| o.id != offer.id))
                == (offer.view_type == ViewType::Popup);
            if in_window && same_view {
                let replace = |list: &mut Vec<FeedOffer>| {
                    if let Some(slot) = list.iter_mut().find(|o| o.id == offer.id) {
                        *slot = offer.clone();
                    }
                };
                self.waiting.update_value(replace);
                if self.is_up(offer.id) {
                    self.popup.set(Some(Arc::new(offer.clone())));
                }
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
        let id = offer.id;
        let offer = match session.prepare(offer) {
            // An offer with a trigger waits for its event (a test send shows now).
            Some(offer) if offer.trigger.is_some() && !offer.test => {
                session.hold(id, Some(offer));
                return;
            }
            Some(offer) => offer,
            None => {
                session.hold(id, None);
                return;
            }
        };
        session.hold(id, None);
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
        session.report(offer_id, EventKind::Click);
        actions::deliver_click(link, &session.config.parent_origin);
        if popup {
            self.dismiss(offer_id);
        }
    }

    /// The user closed the offer.
    pub fn close(&self, offer_id: i64) {
        let session = self.session();
        self.dismiss(offer_id);
        session.report(offer_id, EventKind::Close);
        actions::notify_parent("close", offer_id, &session.config.parent_origin);
    }
}

/// The pop-up layer: the pop-up that is up, over the chat (placed by `data-position` and
/// `data-anchor` in `root`, the pop-up's shadow container), with close and `Escape`. Its
/// display was recorded when it went up ([`Widget::advance`]).
#[component]
pub fn PopupLayer(widget: Widget, root: web_sys::HtmlElement) -> impl IntoView {
    Effect::new(move |_| {
        if widget.popup.with(Option::is_some) {
            // The anchor may have moved (or appeared) since the last resize or scroll. Placed
            // here, before the first paint (not from the after-paint module), so an anchored
            // pop-up never shows in the wrong place first. Without `data-anchor` the box is the
            // viewport, which needs nothing set (and the placing code is then never called, so
            // never compiled, before the first paint).
            let session = widget.session();
            if !session.config.anchor.trim().is_empty() {
                crate::placement::place(&root, &session.config.anchor);
            }
        }
    });
    let handle = window_event_listener(leptos::ev::keydown, move |event| {
        if event.key() == "Escape"
            && let Some(id) = widget.popup.with_untracked(|p| p.as_ref().map(|o| o.id))
        {
            run(widget, Call::Close(id));
        }
    });
    on_cleanup(move || handle.remove());
    move || {
        widget.popup.get().map(|offer| {
            let id = offer.id;
            let link = offer.link.as_str().to_owned();
            let mut class = String::from("layer layer--");
            class.push_str(crate::placement::position(
                &widget.session().config.position,
            ));
            view! {
                <div class=class>
                    <OfferCard offer=offer popup=true
                        on_open=move || run(widget, Call::Open(id, link.clone(), true))
                        on_close=move || run(widget, Call::Close(id)) />
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
                            on_open=move || run(widget, Call::Open(id, link.clone(), false))
                            on_close=move || run(widget, Call::Close(id)) />
                    }
                }).collect_view()
            }}
        </div>
    }
}
