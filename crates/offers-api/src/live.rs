//! The in-memory side of the widget endpoints: per project, the offers that have not ended,
//! the opted-out users, the project's settings and the ids known to be registered, so the feed
//! and the stream answer without a database query per request; and the per-project fan-out of
//! changes to the open SSE streams.
//!
//! The index answers a visitor with a few lookups, whatever the project's size: every offer is
//! listed under the keys its audience is reached by ([`offers_core::audience_keys`]: each of
//! its users, each of its rooms, or "everyone"), each list sorted by id; a feed is the union of
//! the visitor's three lists ([`offers_core::visitor_keys`]), filtered by schedule. The
//! instants at which the clock alone changes what an offer's audience is sent (an offer
//! entering the 24-hour horizon, or ending) are kept in one ordered set per project, so the
//! next one is known once per index version; the [`LiveIndex`]'s background task wakes at it
//! and fans those offers out like any other change.
//!
//! Streams register with their project's [`Slot`] under their room, their trusted user and
//! their claimed user. A change is delivered only to the streams the changed offer concerns
//! (before or after the change: its users, its rooms, or every stream for a global offer),
//! through a bounded per-stream queue filled with `try_send`: a slow or stalled stream never
//! delays a write or another stream; one whose queue overflows is marked lagging and
//! resynchronizes.
//!
//! Architecture invariants:
//! - a project's index is loaded lazily, on its first widget request, and from then on kept in
//!   step by *re-reading* what a `Change` names (never by trusting a payload), under the
//!   project's apply lock: the index only ever moves to a newer database state, so duplicate,
//!   late or reordered changes are harmless;
//! - a change that arrives while the index is loading marks the load dirty, and the loader
//!   loads again: nothing committed is missed;
//! - when changes may have been lost (`BusMessage::Resync`, a lagging receiver, a failed
//!   re-read), indexes are dropped (reloaded on next use) and every stream gets `resync`;
//! - the replica that made a write also applies it right away ([`LiveIndex::apply`] from the
//!   handler): a partner reads its own writes on the feed of the replica it wrote to.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use offers_core::{AudienceKey, Offer, OfferSpec, audience_keys, in_audience, in_audience_by};
use tokio::sync::{Notify, broadcast, mpsc, watch};

use crate::audience::{Audiences, UserContext};
use crate::bus::{BusMessage, Change, ChangeOp};
use crate::feed_page::{FeedPage, PageCache, page_key};
use crate::store::{IdKind, Project, Store, StoreError};

/// Offers starting within this horizon are sent ahead (the widget schedules them itself).
pub const HORIZON: chrono::Duration = chrono::Duration::hours(24);

/// How long a project's settings are trusted before they are re-read in the background
/// (settings changed by `offers-api project set` on SQLite reach a running server this way;
/// on PostgreSQL the change bus brings them at once).
pub const PROJECT_TTL: Duration = Duration::from_secs(5);

/// How many undelivered events a stream may hold; beyond, it is marked lagging and
/// resynchronizes (the writer never waits for it).
pub const STREAM_QUEUE: usize = 64;

/// How long an unknown public key is remembered as unknown.
const MISSING_KEY_TTL: Duration = Duration::from_secs(5);
/// Bounds of the in-memory caches (cleared when exceeded; they only save queries).
const MAX_KEYS: usize = 10_000;
const MAX_SEEN_IDS: usize = 100_000;
/// The longest sleep of the clock (it wakes earlier at the next transition or a change).
const MAX_NAP: Duration = Duration::from_secs(3600);
/// Registration batching.
const REGISTER_QUEUE: usize = 10_000;
const REGISTER_BATCH: usize = 500;
const REGISTER_WAIT: Duration = Duration::from_millis(50);

/// Whether `spec` concerns a visitor in `room` as `user` at `now`: in the audience (opt-out
/// applied), not ended, and starting within [`HORIZON`]. (This walks the audience; the index
/// answers the same question with lookups.)
pub fn concerns(
    spec: &OfferSpec,
    room: &str,
    user: Option<&str>,
    opted_out: bool,
    now: DateTime<Utc>,
) -> bool {
    in_window(spec, now) && in_audience(&spec.audience, room, user, opted_out)
}

/// Whether the offer is sent at `now` as far as the clock goes: not ended, and starting within
/// [`HORIZON`].
pub fn in_window(spec: &OfferSpec, now: DateTime<Utc>) -> bool {
    !has_ended(spec, now) && spec.start_time <= now + HORIZON
}

/// Whether the offer's end time has passed.
pub fn has_ended(spec: &OfferSpec, now: DateTime<Utc>) -> bool {
    spec.end_time.is_some_and(|end| end <= now)
}

/// What a stream is told; it re-reads the index to learn what changed for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamEvent {
    /// This offer changed (created, updated, deleted, entered the horizon or ended).
    Offer(i64),
    /// The stream's (claimed) user opted out or back in.
    OptOut,
    /// The project's settings changed.
    Settings,
    /// Changes may have been lost: refetch.
    Resync,
}

/// An offer as the feed sends it, serialized once when the offer enters the index: the hot
/// path concatenates these instead of serializing every offer on every request.
#[derive(Debug, PartialEq, Eq)]
pub struct FeedFragment {
    /// The offer's `FeedOffer` JSON.
    pub json: Box<str>,
    /// SHA-256 of `json` (first 16 bytes): feed ETags hash these, not whole bodies.
    pub digest: [u8; 16],
}

impl FeedFragment {
    fn of(offer: &Offer) -> Self {
        Self::of_feed(&offers_core::FeedOffer::from(offer))
    }

    /// The fragment of an offer as rendered for one visitor.
    pub fn of_feed(feed: &offers_core::FeedOffer) -> Self {
        use sha2::{Digest, Sha256};
        let json = serde_json::to_string(feed).unwrap_or_else(|_| "null".to_owned());
        let mut digest = [0u8; 16];
        digest.copy_from_slice(&Sha256::digest(json.as_bytes())[..16]);
        Self {
            json: json.into_boxed_str(),
            digest,
        }
    }
}

/// One indexed offer and its feed fragment, built together so they cannot disagree.
#[derive(Debug, Clone)]
struct Entry {
    offer: Arc<Offer>,
    fragment: Arc<FeedFragment>,
    /// Whether what the offer shows depends on the visitor beyond room and user lists:
    /// segments, merge tags or translations. Its `fragment` is then only the default
    /// rendering; feeds render it per visitor.
    personalized: bool,
    /// Whether its text differs per visitor (merge tags, translations): rendered per visitor.
    /// A personalized offer without (segments only) sends `fragment` to whoever it reaches.
    rendered: bool,
}

impl Entry {
    fn new(offer: Arc<Offer>) -> Self {
        let fragment = Arc::new(FeedFragment::of(&offer));
        let spec = &offer.spec;
        let rendered = spec.is_personalized();
        let personalized = rendered || spec.uses_segments();
        Self {
            offer,
            fragment,
            personalized,
            rendered,
        }
    }
}

/// Who asks for a feed, as far as rendering goes.
#[derive(Debug, Clone, Copy)]
pub struct FeedVisitor<'a> {
    pub room: &'a str,
    /// The trusted user.
    pub user: Option<&'a str>,
    /// The user id as sent (opt-outs).
    pub claimed: Option<&'a str>,
    /// The language the widget asked for (`lang=`).
    pub language: Option<&'a offers_core::language::LanguageTag>,
    /// The trusted user's context, when loaded.
    pub context: Option<&'a UserContext>,
}

/// The feed needs the trusted user's context ([`LiveIndex::user_context`]) first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NeedsContext;

/// Whether an offer concerns a stream's visitor ([`OffersIndex::concerning`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Concerning {
    /// It does, and this is what they are sent.
    Yes(Arc<FeedFragment>),
    /// It may: it is rendered per visitor, so the client refetches its feed.
    Personalized,
    /// It does not.
    No,
}

#[cfg(test)]
thread_local! {
    /// Index entries the feed looked at, in this thread (tests check the feed does not scan).
    static EXAMINED: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// The offers of one project, listed by audience key.
#[derive(Debug, Default)]
struct Listing {
    entries: HashMap<i64, Entry>,
    /// Ids of `GLOBAL` offers, ascending.
    everyone: Vec<i64>,
    /// Room id → ids of the `ROOM` offers listing it, ascending.
    rooms: HashMap<Arc<str>, Vec<i64>>,
    /// User id → ids of the `USER` offers listing them, ascending. The indexed offers' ids
    /// share these keys' text: a user listed by a hundred offers is held once.
    users: HashMap<Arc<str>, Vec<i64>>,
    /// `(instant, offer id)`, for every instant after the offer entered the index at which the
    /// clock changes whether it is sent: entering the horizon, ending.
    transitions: BTreeSet<(DateTime<Utc>, i64)>,
    /// Bumped by every change to the listing: feed pages built from an older one are stale.
    generation: u64,
}

impl Listing {
    fn list(&self, key: AudienceKey<'_>) -> &[i64] {
        match key {
            AudienceKey::Everyone => &self.everyone,
            AudienceKey::Room(room) => self.rooms.get(room).map_or(&[], Vec::as_slice),
            AudienceKey::User(user) => self.users.get(user).map_or(&[], Vec::as_slice),
        }
    }

    fn listed(&self, key: AudienceKey<'_>, id: i64) -> bool {
        self.list(key).binary_search(&id).is_ok()
    }

    fn list_mut(&mut self, key: AudienceKey<'_>) -> &mut Vec<i64> {
        match key {
            AudienceKey::Everyone => &mut self.everyone,
            AudienceKey::Room(room) => self.rooms.entry(room.into()).or_default(),
            AudienceKey::User(user) => self.users.entry(user.into()).or_default(),
        }
    }

    fn transitions_of(spec: &OfferSpec, now: DateTime<Utc>) -> impl Iterator<Item = DateTime<Utc>> {
        [Some(spec.start_time - HORIZON), spec.end_time]
            .into_iter()
            .flatten()
            .filter(move |t| *t > now)
    }

    /// Adds (or replaces) an offer; returns the entry it replaced, and the one added.
    fn insert(&mut self, mut offer: Offer, now: DateTime<Utc>) -> (Option<Entry>, Arc<Offer>) {
        let id = offer.id;
        let old = self.remove(id);
        self.generation += 1;
        for key in audience_keys(&offer.spec.audience) {
            let list = self.list_mut(key);
            if let Err(at) = list.binary_search(&id) {
                list.insert(at, id);
            }
        }
        // Hold each listed id once: the offer's copy becomes the list's key (and its list has
        // no spare capacity: a million targets are held here).
        let audience = &mut offer.spec.audience;
        audience.rooms.shrink_to_fit();
        audience.users.shrink_to_fit();
        for (ids, keys) in [
            (&mut audience.rooms, &self.rooms),
            (&mut audience.users, &self.users),
        ] {
            for external in ids.iter_mut() {
                if let Some((key, _)) = keys.get_key_value(external.as_str()) {
                    external.share(key);
                }
            }
        }
        for t in Self::transitions_of(&offer.spec, now) {
            self.transitions.insert((t, id));
        }
        let offer = Arc::new(offer);
        self.entries.insert(id, Entry::new(Arc::clone(&offer)));
        (old, offer)
    }

    /// Removes an offer; returns its entry.
    fn remove(&mut self, id: i64) -> Option<Entry> {
        let old = self.entries.remove(&id)?;
        self.generation += 1;
        let spec = &old.offer.spec;
        fn unlist(list: &mut Vec<i64>, id: i64) {
            if let Ok(at) = list.binary_search(&id) {
                list.remove(at);
            }
        }
        fn unlist_in(map: &mut HashMap<Arc<str>, Vec<i64>>, key: &str, id: i64) {
            if let Some(list) = map.get_mut(key) {
                unlist(list, id);
                if list.is_empty() {
                    map.remove(key);
                }
            }
        }
        for key in audience_keys(&spec.audience) {
            match key {
                AudienceKey::Everyone => unlist(&mut self.everyone, id),
                AudienceKey::Room(room) => unlist_in(&mut self.rooms, room, id),
                AudienceKey::User(user) => unlist_in(&mut self.users, user, id),
            }
        }
        for t in [Some(spec.start_time - HORIZON), spec.end_time]
            .into_iter()
            .flatten()
        {
            self.transitions.remove(&(t, id));
        }
        Some(old)
    }
}

/// One project's offers, opt-outs and audiences.
#[derive(Debug, Default)]
pub struct OffersIndex {
    offers: RwLock<Listing>,
    /// Segments, cached user contexts and test sends ([`crate::audience`]).
    pub audiences: Audiences,
    opted_out: RwLock<HashSet<String>>,
    /// Finished feed answers per visitor, for the listing's current generation.
    pages: Mutex<PageCache>,
}

impl OffersIndex {
    /// Whether `user` opted out.
    pub fn is_opted_out(&self, user: Option<&str>) -> bool {
        user.is_some_and(|u| read(&self.opted_out).contains(u))
    }

    /// The offers concerning the visitor, newest first. `user` is the trusted user (targeting);
    /// `claimed` the id as sent, whose opt-out is honoured even unverified (it can only hide
    /// offers). The feed endpoint answers
    /// with [`Self::feed_page`], built by the same selection.
    #[cfg(test)]
    pub fn feed(
        &self,
        room: &str,
        user: Option<&str>,
        claimed: Option<&str>,
        now: DateTime<Utc>,
    ) -> Vec<Arc<Offer>> {
        self.select(room, user, claimed, now, |e| Arc::clone(&e.offer))
    }

    /// The ids of the offers concerning the visitor (the same selection as the feed),
    /// ascending.
    pub fn feed_ids(
        &self,
        room: &str,
        user: Option<&str>,
        claimed: Option<&str>,
        now: DateTime<Utc>,
    ) -> Vec<i64> {
        let mut ids = self.select(room, user, claimed, now, |e| e.offer.id);
        // `select` lists newest (highest id) first, each once.
        ids.reverse();
        ids
    }

    /// The feed answer for the visitor (see [`crate::feed_page`]): kept per room, and per user
    /// for users with personal offers, until the index changes or its next transition. When
    /// the selection holds personalized offers (segments, merge tags, translations) or the
    /// user has a test send, the page is rendered for the visitor and kept per user, language
    /// and context version; [`NeedsContext`] asks the caller to load the trusted user's
    /// context first.
    pub fn feed_page(
        &self,
        visitor: &FeedVisitor<'_>,
        now: DateTime<Utc>,
    ) -> Result<Arc<FeedPage>, NeedsContext> {
        let FeedVisitor {
            room,
            user,
            claimed,
            language,
            context,
        } = *visitor;
        if self.is_opted_out(claimed) || self.is_opted_out(user) {
            return Ok(Arc::new(FeedPage::new(&[], 0, None)));
        }
        let listing = read(&self.offers);
        let personal = user.filter(|u| listing.users.contains_key(*u));
        let tests = match user {
            Some(user) if self.audiences.has_tests() => self.audiences.tests_for(user, now),
            _ => Vec::new(),
        };
        let key = page_key(room, personal, "");
        let cached = lock(&self.pages).get(&key, listing.generation, now);
        let valid_until = listing.transitions.first().map(|(t, _)| *t);
        let entries = match cached {
            Some(page) if tests.is_empty() && !page.per_visitor => return Ok(page),
            Some(_) => None,
            None => {
                let entries = Self::select_in(&listing, room, personal, now, Entry::clone);
                if !entries.iter().any(|e| e.personalized) {
                    let fragments: Vec<Arc<FeedFragment>> =
                        entries.iter().map(|e| Arc::clone(&e.fragment)).collect();
                    let page = Arc::new(FeedPage::new(&fragments, listing.generation, valid_until));
                    lock(&self.pages).put(key, Arc::clone(&page));
                    if tests.is_empty() {
                        return Ok(page);
                    }
                } else {
                    // A marker: this room's (and user's) feed is rendered per visitor.
                    let marker = FeedPage::per_visitor(listing.generation, valid_until);
                    lock(&self.pages).put(key, Arc::new(marker));
                }
                Some(entries)
            }
        };
        if user.is_some() && context.is_none() {
            return Err(NeedsContext);
        }
        // The profile's language, when set, wins over the one asked for (in `MergeVars::new`).
        let vars = offers_core::merge::MergeVars::new(
            user,
            context.and_then(|c| c.profile.as_ref()),
            language,
        );
        let variant = format!(
            "{}#{}",
            vars.language.map_or("", |l| l.as_str()),
            context.map_or(0, |c| c.version)
        );
        let key = page_key(room, user, &variant);
        if let Some(page) = lock(&self.pages).get(&key, listing.generation, now) {
            return Ok(page);
        }
        let entries =
            entries.unwrap_or_else(|| Self::select_in(&listing, room, personal, now, Entry::clone));
        let mut fragments = Vec::with_capacity(tests.len() + entries.len());
        let mut listed = HashSet::new();
        for test in &tests {
            if let Ok(mut feed) = offers_core::FeedOffer::personalized(&test.offer, &vars) {
                // A test ignores the schedule: shown from now until the send expires.
                feed.start_time = feed.start_time.min(now);
                feed.end_time = Some(test.until);
                feed.test = true;
                listed.insert(test.offer.id);
                fragments.push(Arc::new(FeedFragment::of_feed(&feed)));
            }
        }
        for entry in &entries {
            if listed.contains(&entry.offer.id) {
                continue;
            }
            if !entry.personalized {
                fragments.push(Arc::clone(&entry.fragment));
                continue;
            }
            if self.audiences.verdict(&entry.offer.spec, context)
                != offers_core::segment::SegmentVerdict::Allowed
            {
                continue;
            }
            if !entry.rendered {
                // Segments only: the same text for everyone it reaches.
                fragments.push(Arc::clone(&entry.fragment));
            } else if let Ok(feed) = offers_core::FeedOffer::personalized(&entry.offer, &vars) {
                fragments.push(Arc::new(FeedFragment::of_feed(&feed)));
            }
        }
        let valid_until = tests.iter().map(|t| t.until).chain(valid_until).min();
        let page = Arc::new(FeedPage::new(&fragments, listing.generation, valid_until));
        let mut pages = lock(&self.pages);
        drop(listing);
        pages.put(key, Arc::clone(&page));
        Ok(page)
    }

    /// [`Self::feed_page`] of a visitor without language or context (tests of offers that
    /// are the same for everyone).
    #[cfg(test)]
    fn page(
        &self,
        room: &str,
        user: Option<&str>,
        claimed: Option<&str>,
        now: DateTime<Utc>,
    ) -> Arc<FeedPage> {
        let visitor = FeedVisitor {
            room,
            user,
            claimed,
            language: None,
            context: None,
        };
        self.feed_page(&visitor, now)
            .expect("no personalized offer in this test")
    }

    /// The entries concerning the visitor, newest first, mapped by `pick`.
    fn select<T>(
        &self,
        room: &str,
        user: Option<&str>,
        claimed: Option<&str>,
        now: DateTime<Utc>,
        pick: impl Fn(&Entry) -> T,
    ) -> Vec<T> {
        if self.is_opted_out(claimed) || self.is_opted_out(user) {
            return Vec::new();
        }
        Self::select_in(&read(&self.offers), room, user, now, pick)
    }

    /// The union of the visitor's lists in `listing` (the audience rule in index form),
    /// filtered by schedule, newest first.
    fn select_in<T>(
        listing: &Listing,
        room: &str,
        user: Option<&str>,
        now: DateTime<Utc>,
        pick: impl Fn(&Entry) -> T,
    ) -> Vec<T> {
        let mut lists: Vec<&[i64]> = offers_core::visitor_keys(room, user)
            .into_iter()
            .flatten()
            .map(|key| listing.list(key))
            .filter(|l| !l.is_empty())
            .collect();
        let mut out = Vec::with_capacity(lists.iter().map(|l| l.len()).sum());
        // Merge the sorted lists from their ends: newest first, each id once.
        while let Some(next) = lists.iter().filter_map(|l| l.last()).max().copied() {
            for list in &mut lists {
                if list.last() == Some(&next) {
                    *list = &list[..list.len() - 1];
                }
            }
            lists.retain(|l| !l.is_empty());
            let Some(entry) = listing.entries.get(&next) else {
                continue;
            };
            #[cfg(test)]
            EXAMINED.with(|n| n.set(n.get() + 1));
            if in_window(&entry.offer.spec, now) {
                out.push(pick(entry));
            }
        }
        out
    }

    /// Whether the offer concerns the visitor at `now` (audience decided by
    /// [`in_audience_by`] over this index, opt-out and schedule applied), and what they are
    /// sent; a personalized offer is rendered per visitor by the feed instead.
    pub fn concerning(
        &self,
        id: i64,
        room: &str,
        user: Option<&str>,
        claimed: Option<&str>,
        now: DateTime<Utc>,
    ) -> Concerning {
        let opted_out = self.is_opted_out(claimed) || self.is_opted_out(user);
        let listing = read(&self.offers);
        let Some(entry) = listing.entries.get(&id) else {
            return Concerning::No;
        };
        if !(in_window(&entry.offer.spec, now)
            && in_audience_by(room, user, opted_out, |key| listing.listed(key, id)))
        {
            return Concerning::No;
        }
        if entry.personalized {
            Concerning::Personalized
        } else {
            Concerning::Yes(Arc::clone(&entry.fragment))
        }
    }

    /// Bumps the listing's generation: every kept feed page is rebuilt on next use (segments
    /// or test sends changed).
    pub fn touch(&self) {
        write(&self.offers).generation += 1;
    }

    /// The next instant at which the clock alone changes what some visitor is sent.
    pub fn next_transition(&self) -> Option<DateTime<Utc>> {
        read(&self.offers).transitions.first().map(|(t, _)| *t)
    }

    /// Whether an indexed offer is rendered per visitor (segments, merge tags, translations).
    pub fn is_personalized(&self, id: i64) -> bool {
        read(&self.offers)
            .entries
            .get(&id)
            .is_some_and(|e| e.personalized)
    }

    /// One offer, if indexed.
    pub fn offer(&self, id: i64) -> Option<Arc<Offer>> {
        read(&self.offers)
            .entries
            .get(&id)
            .map(|e| Arc::clone(&e.offer))
    }

    /// How many offers are indexed.
    pub fn len(&self) -> usize {
        read(&self.offers).entries.len()
    }

    /// Whether no offer is indexed.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Takes the transitions due at `now`: the offers whose schedule state changed (ended ones
    /// are dropped from the index), for fan-out.
    fn take_due(&self, now: DateTime<Utc>) -> Vec<Arc<Offer>> {
        let mut listing = write(&self.offers);
        let mut due = Vec::new();
        while let Some(&(t, id)) = listing.transitions.first() {
            if t > now {
                break;
            }
            listing.transitions.pop_first();
            let Some(entry) = listing.entries.get(&id) else {
                continue;
            };
            let offer = Arc::clone(&entry.offer);
            if has_ended(&offer.spec, now) {
                listing.remove(id);
            }
            due.push(offer);
        }
        due
    }

    fn replace(&self, offers: Vec<Offer>, opted_out: Vec<String>, now: DateTime<Utc>) {
        let mut listing = Listing::default();
        for offer in offers {
            listing.insert(offer, now);
        }
        // The lists grew one id at a time: drop their spare capacity.
        for list in listing.rooms.values_mut().chain(listing.users.values_mut()) {
            list.shrink_to_fit();
        }
        let mut current = write(&self.offers);
        listing.generation += current.generation + 1;
        *current = listing;
        drop(current);
        *write(&self.opted_out) = opted_out.into_iter().collect();
    }
}

/// One open stream's sending side, held by its project's [`Streams`].
#[derive(Debug)]
struct StreamTx {
    tx: mpsc::Sender<StreamEvent>,
    /// Set when an event could not be queued: the stream resynchronizes.
    lagged: AtomicBool,
    /// Wakes the stream when it lagged with an empty queue.
    wake: Notify,
}

impl StreamTx {
    fn send(&self, event: StreamEvent) {
        if self.tx.try_send(event).is_err() {
            self.lagged.store(true, Ordering::Release);
            self.wake.notify_one();
        }
    }
}

/// Where a stream is registered: its room, its trusted user (targeting), its claimed user
/// (opt-outs).
#[derive(Debug, Clone, PartialEq, Eq)]
struct StreamKeys {
    room: Box<str>,
    user: Option<Box<str>>,
    claimed: Option<Box<str>>,
}

/// The open streams of one project, by key.
#[derive(Debug, Default)]
struct Streams {
    next_id: u64,
    all: HashMap<u64, (StreamKeys, Arc<StreamTx>)>,
    rooms: HashMap<Box<str>, HashSet<u64>>,
    users: HashMap<Box<str>, HashSet<u64>>,
    claimed: HashMap<Box<str>, HashSet<u64>>,
}

fn unindex(map: &mut HashMap<Box<str>, HashSet<u64>>, key: &str, id: u64) {
    if let Some(set) = map.get_mut(key) {
        set.remove(&id);
        if set.is_empty() {
            map.remove(key);
        }
    }
}

impl Streams {
    fn add(&mut self, keys: StreamKeys, tx: Arc<StreamTx>) -> u64 {
        self.next_id += 1;
        let id = self.next_id;
        self.index(id, &keys);
        self.all.insert(id, (keys, tx));
        id
    }

    fn index(&mut self, id: u64, keys: &StreamKeys) {
        self.rooms.entry(keys.room.clone()).or_default().insert(id);
        if let Some(user) = &keys.user {
            self.users.entry(user.clone()).or_default().insert(id);
        }
        if let Some(claimed) = &keys.claimed {
            self.claimed.entry(claimed.clone()).or_default().insert(id);
        }
    }

    fn unindex(&mut self, id: u64, keys: &StreamKeys) {
        unindex(&mut self.rooms, &keys.room, id);
        if let Some(user) = &keys.user {
            unindex(&mut self.users, user, id);
        }
        if let Some(claimed) = &keys.claimed {
            unindex(&mut self.claimed, claimed, id);
        }
    }

    fn remove(&mut self, id: u64) {
        if let Some((keys, _)) = self.all.remove(&id) {
            self.unindex(id, &keys);
        }
    }

    fn rekey(&mut self, id: u64, keys: StreamKeys) {
        let Some((old, tx)) = self.all.remove(&id) else {
            return;
        };
        self.unindex(id, &old);
        self.index(id, &keys);
        self.all.insert(id, (keys, tx));
    }

    fn send_all(&self, event: StreamEvent) -> usize {
        for (_, tx) in self.all.values() {
            tx.send(event);
        }
        self.all.len()
    }

    /// Sends `Offer(id)` to every stream reached by one of the offers' audience keys (the
    /// offer before and after a change); returns how many streams that was.
    fn send_offer(&self, id: i64, versions: &[&Offer]) -> usize {
        let keys: Vec<AudienceKey<'_>> = versions
            .iter()
            .flat_map(|o| audience_keys(&o.spec.audience))
            .collect();
        let event = StreamEvent::Offer(id);
        if keys.contains(&AudienceKey::Everyone) {
            return self.send_all(event);
        }
        let mut reached = HashSet::new();
        for key in keys {
            let ids = match key {
                AudienceKey::Room(room) => self.rooms.get(room),
                AudienceKey::User(user) => self.users.get(user),
                AudienceKey::Everyone => None,
            };
            for stream in ids.into_iter().flatten() {
                if reached.insert(*stream)
                    && let Some((_, tx)) = self.all.get(stream)
                {
                    tx.send(event);
                }
            }
        }
        reached.len()
    }

    /// Sends `event` to the streams of trusted user `user`.
    fn send_user(&self, user: &str, event: StreamEvent) -> usize {
        let ids = self.users.get(user);
        for stream in ids.into_iter().flatten() {
            if let Some((_, tx)) = self.all.get(stream) {
                tx.send(event);
            }
        }
        ids.map_or(0, HashSet::len)
    }

    fn send_claimed(&self, user: &str, event: StreamEvent) -> usize {
        let ids = self.claimed.get(user);
        for stream in ids.into_iter().flatten() {
            if let Some((_, tx)) = self.all.get(stream) {
                tx.send(event);
            }
        }
        ids.map_or(0, HashSet::len)
    }
}

/// A registered stream's receiving side; deregisters when dropped.
#[derive(Debug)]
pub struct StreamRx {
    slot: Arc<Slot>,
    id: u64,
    rx: mpsc::Receiver<StreamEvent>,
    tx: Arc<StreamTx>,
}

impl StreamRx {
    /// The next event; [`StreamEvent::Resync`] (with the queue emptied) when events were lost.
    /// `None`: the project's streams were closed.
    pub async fn recv(&mut self) -> Option<StreamEvent> {
        loop {
            if self.tx.lagged.swap(false, Ordering::AcqRel) {
                while self.rx.try_recv().is_ok() {}
                return Some(StreamEvent::Resync);
            }
            tokio::select! {
                biased;
                () = self.tx.wake.notified() => {}
                event = self.rx.recv() => return event,
            }
        }
    }

    /// Registers the stream under a new trusted user (the project's identity rule changed).
    pub fn rekey(&self, room: &str, user: Option<&str>, claimed: Option<&str>) {
        lock(&self.slot.streams).rekey(self.id, StreamKeys::of(room, user, claimed));
    }
}

impl Drop for StreamRx {
    fn drop(&mut self) {
        lock(&self.slot.streams).remove(self.id);
    }
}

impl StreamKeys {
    fn of(room: &str, user: Option<&str>, claimed: Option<&str>) -> Self {
        Self {
            room: room.trim().into(),
            user: user.map(|u| u.trim().into()),
            claimed: claimed.map(Into::into),
        }
    }
}

fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(|p| p.into_inner())
}

fn write<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(|p| p.into_inner())
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

#[derive(Debug)]
enum SlotState {
    Empty,
    Loading { dirty: bool },
    Ready(Arc<OffersIndex>),
}

#[derive(Debug)]
struct CachedProject {
    project: Arc<Project>,
    /// When it was read; `None`: re-read on next use.
    at: Option<Instant>,
}

/// Everything kept in memory for one project.
#[derive(Debug)]
pub struct Slot {
    project_id: i64,
    project: RwLock<CachedProject>,
    refreshing: AtomicBool,
    state: Mutex<SlotState>,
    /// One loader at a time.
    load_lock: tokio::sync::Mutex<()>,
    /// Re-read + apply, one at a time (so the index never moves back to an older state).
    apply_lock: tokio::sync::Mutex<()>,
    streams: Mutex<Streams>,
    /// Streams reached by changes so far (each change counts the streams it was sent to).
    reached: AtomicU64,
    seen_rooms: Mutex<HashSet<String>>,
    seen_users: Mutex<HashSet<String>>,
}

impl Slot {
    fn new(project: Project) -> Self {
        Self {
            project_id: project.id,
            project: RwLock::new(CachedProject {
                project: Arc::new(project),
                at: Some(Instant::now()),
            }),
            refreshing: AtomicBool::new(false),
            state: Mutex::new(SlotState::Empty),
            load_lock: tokio::sync::Mutex::new(()),
            apply_lock: tokio::sync::Mutex::new(()),
            streams: Mutex::new(Streams::default()),
            reached: AtomicU64::new(0),
            seen_rooms: Mutex::new(HashSet::new()),
            seen_users: Mutex::new(HashSet::new()),
        }
    }

    /// The project id.
    pub fn project_id(&self) -> i64 {
        self.project_id
    }

    /// The cached project (settings at most [`PROJECT_TTL`] old, or fresher).
    pub fn project(&self) -> Arc<Project> {
        Arc::clone(&read(&self.project).project)
    }

    /// Registers a stream for `room` as trusted `user` (targeting) and `claimed` user
    /// (opt-outs). Register before reading the index, so nothing is missed.
    pub fn open_stream(
        self: &Arc<Self>,
        room: &str,
        user: Option<&str>,
        claimed: Option<&str>,
    ) -> StreamRx {
        let (tx, rx) = mpsc::channel(STREAM_QUEUE);
        let tx = Arc::new(StreamTx {
            tx,
            lagged: AtomicBool::new(false),
            wake: Notify::new(),
        });
        let id = lock(&self.streams).add(StreamKeys::of(room, user, claimed), Arc::clone(&tx));
        StreamRx {
            slot: Arc::clone(self),
            id,
            rx,
            tx,
        }
    }

    /// How many streams are open.
    pub fn open_streams(&self) -> usize {
        lock(&self.streams).all.len()
    }

    /// How many stream deliveries changes have made so far (a change sent to 3 streams
    /// counts 3): what the benchmark and the tests read to check the fan-out's reach.
    pub fn reached(&self) -> u64 {
        self.reached.load(Ordering::Relaxed)
    }

    fn count_reached(&self, what: &str, n: usize) {
        self.reached.fetch_add(n as u64, Ordering::Relaxed);
        tracing::debug!(
            project = self.project_id,
            change = what,
            reached = n,
            "fan-out"
        );
    }

    fn send_all(&self, event: StreamEvent) {
        let n = lock(&self.streams).send_all(event);
        self.count_reached("all", n);
    }

    fn send_offer(&self, id: i64, versions: &[&Offer]) {
        let n = lock(&self.streams).send_offer(id, versions);
        self.count_reached("offer", n);
    }

    fn seen(&self, kind: IdKind) -> &Mutex<HashSet<String>> {
        match kind {
            IdKind::Room => &self.seen_rooms,
            IdKind::User => &self.seen_users,
        }
    }

    /// The offers index if it is loaded (no load is started).
    pub fn loaded(&self) -> Option<Arc<OffersIndex>> {
        self.ready()
    }

    fn ready(&self) -> Option<Arc<OffersIndex>> {
        match &*lock(&self.state) {
            SlotState::Ready(index) => Some(Arc::clone(index)),
            _ => None,
        }
    }

    /// For a change: the index to patch, or `None` (marking a running load dirty).
    fn ready_or_mark_dirty(&self) -> Option<Arc<OffersIndex>> {
        let mut state = lock(&self.state);
        match &mut *state {
            SlotState::Ready(index) => Some(Arc::clone(index)),
            SlotState::Loading { dirty } => {
                *dirty = true;
                None
            }
            SlotState::Empty => None,
        }
    }

    /// Drops the index (reloaded on next use) and tells the streams to resynchronize.
    fn invalidate(&self) {
        {
            let mut state = lock(&self.state);
            match &mut *state {
                SlotState::Loading { dirty } => *dirty = true,
                other => *other = SlotState::Empty,
            }
        }
        write(&self.project).at = None;
        self.send_all(StreamEvent::Resync);
    }
}

/// One id to register as known.
#[derive(Debug)]
struct Registration {
    slot: Arc<Slot>,
    kind: IdKind,
    id: String,
}

/// The per-replica index of every project the widget side has asked about.
#[derive(Debug)]
pub struct LiveIndex {
    store: Arc<dyn Store>,
    by_key: Mutex<HashMap<String, KeyEntry>>,
    slots: Mutex<HashMap<i64, Arc<Slot>>>,
    registrar: mpsc::Sender<Registration>,
    /// Woken when an index's next transition may have moved earlier.
    clock: Notify,
}

#[derive(Debug, Clone, Copy)]
enum KeyEntry {
    Project(i64),
    Missing(Instant),
}

impl LiveIndex {
    /// A new index over `store`, with its background tasks (the change-bus consumer and the
    /// batched registrar) running until `shutdown` turns true.
    pub async fn start(
        store: Arc<dyn Store>,
        shutdown: watch::Receiver<bool>,
    ) -> Result<Arc<Self>, StoreError> {
        let bus = store.subscribe().await?;
        let (registrar, registrations) = mpsc::channel(REGISTER_QUEUE);
        let index = Arc::new(Self {
            store,
            by_key: Mutex::new(HashMap::new()),
            slots: Mutex::new(HashMap::new()),
            registrar,
            clock: Notify::new(),
        });
        tokio::spawn(Arc::clone(&index).consume_bus(bus, shutdown.clone()));
        tokio::spawn(Arc::clone(&index).register_batches(registrations, shutdown));
        Ok(index)
    }

    /// The slot of the project with this public key (`None`: no such project).
    pub async fn slot_by_key(&self, key: &str) -> Result<Option<Arc<Slot>>, StoreError> {
        let cached = lock(&self.by_key).get(key).copied();
        match cached {
            Some(KeyEntry::Project(id)) => {
                if let Some(slot) = lock(&self.slots).get(&id) {
                    return Ok(Some(Arc::clone(slot)));
                }
            }
            Some(KeyEntry::Missing(at)) if at.elapsed() < MISSING_KEY_TTL => return Ok(None),
            _ => {}
        }
        let project = self.store.project_by_public_key(key).await?;
        let mut keys = lock(&self.by_key);
        if keys.len() > MAX_KEYS {
            keys.retain(|_, e| matches!(e, KeyEntry::Project(_)));
        }
        let Some(project) = project else {
            keys.insert(key.to_owned(), KeyEntry::Missing(Instant::now()));
            return Ok(None);
        };
        keys.insert(key.to_owned(), KeyEntry::Project(project.id));
        let id = project.id;
        let slot = Arc::clone(
            lock(&self.slots)
                .entry(id)
                .or_insert_with(|| Arc::new(Slot::new(project))),
        );
        Ok(Some(slot))
    }

    fn slot(&self, project_id: i64) -> Option<Arc<Slot>> {
        lock(&self.slots).get(&project_id).cloned()
    }

    /// The slot's project; when older than [`PROJECT_TTL`], re-read in the background (the
    /// stale copy is answered meanwhile).
    pub fn project(&self, slot: &Arc<Slot>) -> Arc<Project> {
        let stale = read(&slot.project)
            .at
            .is_none_or(|at| at.elapsed() >= PROJECT_TTL);
        if stale && !slot.refreshing.swap(true, Ordering::AcqRel) {
            let store = Arc::clone(&self.store);
            let slot = Arc::clone(slot);
            tokio::spawn(async move {
                match store.project_by_id(slot.project_id).await {
                    Ok(Some(project)) => set_project(&slot, project),
                    Ok(None) => {}
                    Err(e) => tracing::warn!(error = %e, "cannot refresh project settings"),
                }
                slot.refreshing.store(false, Ordering::Release);
            });
        }
        slot.project()
    }

    /// The slot's offers index, loading it on first use.
    pub async fn offers(&self, slot: &Slot) -> Result<Arc<OffersIndex>, StoreError> {
        if let Some(index) = slot.ready() {
            return Ok(index);
        }
        let _loading = slot.load_lock.lock().await;
        loop {
            if let Some(index) = slot.ready() {
                return Ok(index);
            }
            *lock(&slot.state) = SlotState::Loading { dirty: false };
            let now = Utc::now();
            let loaded = async {
                let offers = self.store.unended_offers(slot.project_id, now).await?;
                let opted_out = self.store.opted_out_users(slot.project_id).await?;
                let segments = self.store.list_segments(slot.project_id).await?;
                let tests = self.test_sends(slot.project_id, now).await?;
                Ok::<_, StoreError>((offers, opted_out, segments, tests))
            }
            .await;
            let mut state = lock(&slot.state);
            match loaded {
                Err(e) => {
                    *state = SlotState::Empty;
                    return Err(e);
                }
                Ok((offers, opted_out, segments, tests)) => {
                    // A change arrived while loading: load again (after releasing the lock).
                    if matches!(*state, SlotState::Loading { dirty: true }) {
                        drop(state);
                        continue;
                    }
                    let index = Arc::new(OffersIndex::default());
                    index.replace(offers, opted_out, now);
                    index.audiences.set_segments(&segments);
                    index.audiences.set_tests(tests);
                    *state = SlotState::Ready(Arc::clone(&index));
                    drop(state);
                    self.clock.notify_one();
                    return Ok(index);
                }
            }
        }
    }

    /// The project's running test sends, each with its offer as stored now (deleted offers'
    /// sends are gone with them).
    async fn test_sends(
        &self,
        project_id: i64,
        now: DateTime<Utc>,
    ) -> Result<Vec<(crate::store::audience::TestSend, Arc<Offer>)>, StoreError> {
        let mut out = Vec::new();
        for send in self.store.test_sends(project_id, now).await? {
            if let Some(offer) = self.store.get_offer(project_id, send.offer_id).await? {
                out.push((send, Arc::new(offer)));
            }
        }
        Ok(out)
    }

    /// The trusted user's context (their profile and list segments), cached by the index or
    /// read from the database.
    pub async fn user_context(
        &self,
        slot: &Slot,
        index: &OffersIndex,
        user: &str,
    ) -> Result<Arc<UserContext>, StoreError> {
        if let Some(ctx) = index.audiences.context(user) {
            return Ok(ctx);
        }
        let epoch = index.audiences.epoch();
        let profile = self.store.get_profile(slot.project_id, user).await?;
        let lists = self.store.lists_of_user(slot.project_id, user).await?;
        let ctx = UserContext::new(profile.map(|p| p.profile), lists);
        Ok(index.audiences.keep_context(user, ctx, epoch))
    }

    /// Applies a committed change: re-reads what it names and tells the streams concerned.
    pub async fn apply(&self, change: &Change) {
        let Some(slot) = self.slot(change.project_id) else {
            return;
        };
        let _applying = slot.apply_lock.lock().await;
        let outcome = match change.op {
            ChangeOp::Project => self.reread_project(&slot).await,
            ChangeOp::OptOut => match &change.user_id {
                Some(user) => self.reread_opt_out(&slot, user).await,
                None => Ok(()),
            },
            ChangeOp::Created | ChangeOp::Updated | ChangeOp::Deleted => match change.offer_id {
                Some(id) => self.reread_offer(&slot, id).await,
                None => Ok(()),
            },
            ChangeOp::Profile => {
                self.forget_profile(&slot, change.user_id.as_deref());
                Ok(())
            }
            ChangeOp::Segment => match change.segment_id {
                Some(id) => self.reread_segment(&slot, id).await,
                None => Ok(()),
            },
            ChangeOp::TestSend => match &change.user_id {
                Some(user) => self.reread_test_sends(&slot, user).await,
                None => Ok(()),
            },
        };
        if let Err(e) = outcome {
            tracing::warn!(error = %e, project = slot.project_id, "cannot re-read a change: resynchronizing the project");
            slot.invalidate();
        }
    }

    /// A profile changed: its user's context is dropped and their streams refetch (a bulk
    /// upsert drops every context; open streams see it on their next refetch).
    fn forget_profile(&self, slot: &Slot, user: Option<&str>) {
        let Some(index) = slot.ready_or_mark_dirty() else {
            return;
        };
        // Pages rendered from the dropped contexts are keyed by their version: never reused.
        index.audiences.forget(user);
        if let Some(user) = user {
            let n = lock(&slot.streams).send_user(user, StreamEvent::Resync);
            slot.count_reached("profile", n);
        }
    }

    /// A segment changed: its definition is re-read, contexts dropped (list memberships may
    /// have changed), pages rebuilt, and every stream refetches.
    async fn reread_segment(&self, slot: &Slot, id: i64) -> Result<(), StoreError> {
        let Some(index) = slot.ready_or_mark_dirty() else {
            return Ok(());
        };
        let segment = self.store.get_segment(slot.project_id, id).await?;
        index.audiences.set_segment(id, segment.as_ref());
        index.audiences.forget(None);
        index.touch();
        slot.send_all(StreamEvent::Resync);
        Ok(())
    }

    /// A test send: the running sends are re-read and the user's streams refetch.
    async fn reread_test_sends(&self, slot: &Slot, user: &str) -> Result<(), StoreError> {
        let Some(index) = slot.ready_or_mark_dirty() else {
            return Ok(());
        };
        let tests = self.test_sends(slot.project_id, Utc::now()).await?;
        index.audiences.set_tests(tests);
        index.touch();
        let n = lock(&slot.streams).send_user(user, StreamEvent::Resync);
        slot.count_reached("test send", n);
        Ok(())
    }

    async fn reread_project(&self, slot: &Slot) -> Result<(), StoreError> {
        if let Some(project) = self.store.project_by_id(slot.project_id).await? {
            set_project(slot, project);
            slot.send_all(StreamEvent::Settings);
        }
        Ok(())
    }

    async fn reread_opt_out(&self, slot: &Slot, user: &str) -> Result<(), StoreError> {
        let Some(index) = slot.ready_or_mark_dirty() else {
            return Ok(());
        };
        let opted_out = self.store.is_opted_out(slot.project_id, user).await?;
        let changed = {
            let mut set = write(&index.opted_out);
            if opted_out {
                set.insert(user.to_owned())
            } else {
                set.remove(user)
            }
        };
        if changed {
            let n = lock(&slot.streams).send_claimed(user, StreamEvent::OptOut);
            slot.count_reached("opt-out", n);
        }
        Ok(())
    }

    async fn reread_offer(&self, slot: &Slot, id: i64) -> Result<(), StoreError> {
        let Some(index) = slot.ready_or_mark_dirty() else {
            return Ok(());
        };
        let now = Utc::now();
        let fresh = self
            .store
            .get_offer(slot.project_id, id)
            .await?
            .filter(|o| !has_ended(&o.spec, now));
        let (old, fresh) = {
            let mut listing = write(&index.offers);
            if listing.entries.get(&id).map(|e| e.offer.as_ref()) == fresh.as_ref() {
                return Ok(());
            }
            match fresh {
                Some(offer) => {
                    let (old, offer) = listing.insert(offer, now);
                    (old, Some(offer))
                }
                None => (listing.remove(id), None),
            }
        };
        let versions: Vec<&Offer> = old
            .as_ref()
            .map(|e| e.offer.as_ref())
            .into_iter()
            .chain(fresh.as_deref())
            .collect();
        slot.send_offer(id, &versions);
        self.clock.notify_one();
        Ok(())
    }

    /// The earliest next transition of the loaded indexes.
    fn next_transition(&self) -> Option<DateTime<Utc>> {
        let slots: Vec<Arc<Slot>> = lock(&self.slots).values().cloned().collect();
        slots
            .iter()
            .filter_map(|slot| slot.ready()?.next_transition())
            .min()
    }

    /// Fans out the offers whose schedule state changed by `now` (entered the horizon or
    /// ended; ended ones leave the index), once per project, not once per stream.
    pub async fn tick(&self, now: DateTime<Utc>) {
        let slots: Vec<Arc<Slot>> = lock(&self.slots).values().cloned().collect();
        for slot in slots {
            let _applying = slot.apply_lock.lock().await;
            let Some(index) = slot.ready() else { continue };
            for offer in index.take_due(now) {
                slot.send_offer(offer.id, &[&offer]);
            }
        }
    }

    /// Every index is dropped and every stream told to resynchronize.
    pub fn resync_all(&self) {
        let slots: Vec<Arc<Slot>> = lock(&self.slots).values().cloned().collect();
        for slot in slots {
            slot.invalidate();
        }
    }

    /// Registers the room and user of an entry as known, asynchronously and only when this
    /// replica has not registered them already.
    pub fn note_entry(&self, slot: &Arc<Slot>, room: &str, user: Option<&str>) {
        for (kind, id) in [(IdKind::Room, Some(room)), (IdKind::User, user)] {
            let Some(id) = id else { continue };
            let newly_seen = {
                let mut seen = lock(slot.seen(kind));
                if seen.len() > MAX_SEEN_IDS {
                    seen.clear();
                }
                // Looked up by `&str` first: an id seen before (nearly every feed request)
                // costs no allocation.
                !seen.contains(id) && seen.insert(id.to_owned())
            };
            if newly_seen {
                let registration = Registration {
                    slot: Arc::clone(slot),
                    kind,
                    id: id.to_owned(),
                };
                if self.registrar.try_send(registration).is_err() {
                    // Queue full: forget it, the next entry retries.
                    lock(slot.seen(kind)).remove(id);
                }
            }
        }
    }

    async fn consume_bus(
        self: Arc<Self>,
        mut bus: broadcast::Receiver<BusMessage>,
        mut shutdown: watch::Receiver<bool>,
    ) {
        loop {
            let nap = self.next_transition().map_or(MAX_NAP, |t| {
                let until = (t - Utc::now()).to_std().unwrap_or(Duration::ZERO);
                (until + Duration::from_millis(5)).min(MAX_NAP)
            });
            let message = tokio::select! {
                message = bus.recv() => Some(message),
                () = tokio::time::sleep(nap) => None,
                () = self.clock.notified() => continue,
                _ = shutdown.wait_for(|stop| *stop) => return,
            };
            let Some(message) = message else {
                self.tick(Utc::now()).await;
                continue;
            };
            match message {
                Ok(BusMessage::Change(change)) => self.apply(&change).await,
                Ok(BusMessage::Resync) => self.resync_all(),
                Err(broadcast::error::RecvError::Lagged(n)) => {
                    tracing::warn!(missed = n, "change bus lagged: resynchronizing");
                    self.resync_all();
                }
                Err(broadcast::error::RecvError::Closed) => return,
            }
        }
    }

    async fn register_batches(
        self: Arc<Self>,
        mut queue: mpsc::Receiver<Registration>,
        mut shutdown: watch::Receiver<bool>,
    ) {
        loop {
            let first = tokio::select! {
                first = queue.recv() => first,
                _ = shutdown.wait_for(|stop| *stop) => None,
            };
            let Some(first) = first else {
                // Shutting down: flush what is queued.
                let mut rest = Vec::new();
                while let Ok(r) = queue.try_recv() {
                    rest.push(r);
                }
                self.register(rest).await;
                return;
            };
            let mut batch = vec![first];
            let deadline = tokio::time::Instant::now() + REGISTER_WAIT;
            while batch.len() < REGISTER_BATCH {
                match tokio::time::timeout_at(deadline, queue.recv()).await {
                    Ok(Some(r)) => batch.push(r),
                    _ => break,
                }
            }
            self.register(batch).await;
        }
    }

    async fn register(&self, batch: Vec<Registration>) {
        let mut groups: HashMap<(i64, IdKind), (Arc<Slot>, Vec<String>)> = HashMap::new();
        for r in batch {
            groups
                .entry((r.slot.project_id, r.kind))
                .or_insert_with(|| (Arc::clone(&r.slot), Vec::new()))
                .1
                .push(r.id);
        }
        let now = Utc::now();
        for ((project_id, kind), (slot, ids)) in groups {
            if let Err(e) = self.store.register_ids(project_id, kind, &ids, now).await {
                tracing::warn!(error = %e, project = project_id, "cannot register entered ids");
                let mut seen = lock(slot.seen(kind));
                for id in &ids {
                    seen.remove(id);
                }
            }
        }
    }
}

fn set_project(slot: &Slot, project: Project) {
    *write(&slot.project) = CachedProject {
        project: Arc::new(project),
        at: Some(Instant::now()),
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use offers_core::{Audience, ExternalId};

    fn spec(start_in_hours: i64, end_in_hours: Option<i64>, audience: Audience) -> OfferSpec {
        let now = Utc::now();
        OfferSpec {
            start_time: now + chrono::Duration::hours(start_in_hours),
            end_time: end_in_hours.map(|h| now + chrono::Duration::hours(h)),
            show_multiple_times: false,
            audience,
            ..OfferSpec::example()
        }
    }

    #[test]
    fn feed_pages_serialize_like_serde_and_key_the_etag() {
        let index = OffersIndex::default();
        let offers: Vec<Offer> = (1..=3)
            .map(|id| Offer::created(id, spec(-1, None, Audience::global()), Utc::now()))
            .collect();
        index.replace(offers.clone(), Vec::new(), Utc::now());
        let now = Utc::now();
        let page = index.page("r", None, None, now);
        let body = page
            .body(
                "2026-11-21T10:00:00.000Z",
                crate::feed_page::Encoding::Identity,
            )
            .0
            .to_vec();
        let expected: Vec<offers_core::FeedOffer> = offers
            .iter()
            .rev()
            .map(offers_core::FeedOffer::from)
            .collect();
        assert_eq!(
            serde_json::from_slice::<serde_json::Value>(&body).unwrap(),
            serde_json::json!({"offers": expected, "serverTime": "2026-11-21T10:00:00.000Z"})
        );
        // The ETag follows the content: same offers, same tag; one changed, another tag.
        let fresh = OffersIndex::default();
        fresh.replace(offers.clone(), Vec::new(), now);
        assert_eq!(page.etag, fresh.page("r", None, None, now).etag);
        let mut changed = offers;
        changed[0].spec.show_delay_ms = 5;
        index.replace(changed, Vec::new(), Utc::now());
        assert_ne!(page.etag, index.page("r", None, None, now).etag);
    }

    /// Pages are shared by a room's visitors without personal offers, rebuilt after any change
    /// and at the next transition, never served stale.
    #[test]
    fn feed_pages_are_kept_until_the_index_or_the_clock_changes_them() {
        let now = Utc::now();
        let id = |s: &str| ExternalId::parse(s).unwrap();
        // Enters the 24-hour horizon in an hour.
        let later = Offer::created(4, spec(25, None, Audience::rooms(vec![id("r")])), now);
        let offers = vec![
            Offer::created(1, spec(-1, None, Audience::global()), now),
            Offer::created(2, spec(-1, None, Audience::rooms(vec![id("r")])), now),
            Offer::created(3, spec(-1, None, Audience::users(vec![id("vip")])), now),
            later,
        ];
        let index = OffersIndex::default();
        index.replace(offers, Vec::new(), now);
        let ids = |page: &FeedPage| -> Vec<i64> {
            let body: serde_json::Value = serde_json::from_slice(
                &page
                    .body("t", crate::feed_page::Encoding::Identity)
                    .0
                    .to_vec(),
            )
            .unwrap();
            body["offers"]
                .as_array()
                .unwrap()
                .iter()
                .map(|o| o["id"].as_i64().unwrap())
                .collect()
        };
        let anonymous = index.page("r", None, None, now);
        assert_eq!(ids(&anonymous), [2, 1]);
        EXAMINED.with(|n| n.set(0));
        let again = index.page("r", Some("someone"), Some("someone"), now);
        assert!(
            Arc::ptr_eq(&anonymous, &again),
            "a user without personal offers shares the room's page"
        );
        assert_eq!(
            EXAMINED.with(std::cell::Cell::get),
            0,
            "served from the cache"
        );
        let vip = index.page("r", Some("vip"), Some("vip"), now);
        assert_eq!(ids(&vip), [3, 2, 1]);
        assert!(Arc::ptr_eq(&vip, &index.page("r", Some("vip"), None, now)));
        // An opted-out visitor gets nothing, whatever is cached.
        write(&index.opted_out).insert("vip".into());
        assert_eq!(
            ids(&index.page("r", Some("vip"), Some("vip"), now)),
            Vec::<i64>::new()
        );
        write(&index.opted_out).clear();
        // The clock reaches offer 4's transition: the page is rebuilt with it.
        let in_an_hour = now + chrono::Duration::minutes(61);
        assert_eq!(ids(&index.page("r", None, None, in_an_hour)), [4, 2, 1]);
        // A change to the index: every page is rebuilt.
        {
            let mut listing = write(&index.offers);
            listing.remove(1);
        }
        assert_eq!(ids(&index.page("r", None, None, now)), [2]);
        assert_eq!(ids(&index.page("r", Some("vip"), None, now)), [3, 2]);
    }

    #[test]
    fn concerns_applies_horizon_end_and_audience() {
        let now = Utc::now() + chrono::Duration::seconds(1);
        let global = Audience::global();
        assert!(concerns(
            &spec(-1, None, global.clone()),
            "r",
            None,
            false,
            now
        ));
        assert!(concerns(
            &spec(23, None, global.clone()),
            "r",
            None,
            false,
            now
        ));
        assert!(!concerns(
            &spec(25, None, global.clone()),
            "r",
            None,
            false,
            now
        ));
        assert!(!concerns(
            &spec(-2, Some(-1), global.clone()),
            "r",
            None,
            false,
            now
        ));
        assert!(!concerns(&spec(-1, None, global), "r", None, true, now));
        let personal = Audience::users(vec![ExternalId::parse("u1").unwrap()]);
        assert!(concerns(
            &spec(-1, None, personal.clone()),
            "r",
            Some("u1"),
            false,
            now
        ));
        assert!(!concerns(&spec(-1, None, personal), "r", None, false, now));
    }

    #[test]
    fn index_feed_and_transitions() {
        let index = OffersIndex::default();
        let now = Utc::now();
        let offers = vec![
            Offer::created(1, spec(-1, Some(2), Audience::global()), now),
            Offer::created(2, spec(30, None, Audience::global()), now),
            Offer::created(
                3,
                spec(
                    -1,
                    None,
                    Audience::rooms(vec![ExternalId::parse("r2").unwrap()]),
                ),
                now,
            ),
        ];
        index.replace(offers, vec!["gone".into()], now);
        let ids = |v: Vec<Arc<Offer>>| v.iter().map(|o| o.id).collect::<Vec<_>>();
        assert_eq!(ids(index.feed("r1", None, None, now)), [1]);
        assert_eq!(ids(index.feed("r2", Some("u"), Some("u"), now)), [3, 1]);
        assert!(index.feed("r2", Some("gone"), Some("gone"), now).is_empty());
        assert!(
            index.feed("r2", None, Some("gone"), now).is_empty(),
            "an unverified opt-out still counts"
        );
        // Next: offer 1 ends in 2 h (before offer 2 enters the horizon in 6 h).
        let next = index.next_transition().unwrap();
        assert!(
            (next - now - chrono::Duration::hours(2))
                .num_seconds()
                .abs()
                <= 1
        );
        // At 3 h offer 1 has ended (and leaves the index); at 7 h offer 2 enters the horizon.
        let due: Vec<i64> = index
            .take_due(now + chrono::Duration::hours(3))
            .iter()
            .map(|o| o.id)
            .collect();
        assert_eq!(due, [1]);
        assert_eq!(index.offer(1), None);
        let later = now + chrono::Duration::hours(7);
        assert_eq!(ids(index.take_due(later)), [2]);
        assert_eq!(ids(index.feed("r1", None, None, later)), [2]);
        assert_eq!(index.next_transition(), None);
    }

    /// A user listed by many offers is held once: every indexed offer's copy of the id shares
    /// the listing's key, also for an offer added after the load; the feed ids come ascending.
    #[test]
    fn listed_ids_are_held_once_and_feed_ids_ascend() {
        let now = Utc::now();
        let id = |s: &str| ExternalId::parse(s).unwrap();
        let users = |names: &[&str]| Audience::users(names.iter().map(|n| id(n)).collect());
        let index = OffersIndex::default();
        index.replace(
            vec![
                Offer::created(1, spec(-1, None, users(&["u1", "u2"])), now),
                Offer::created(2, spec(-1, None, users(&["u2", "u1"])), now),
                Offer::created(3, spec(-1, None, Audience::rooms(vec![id("r")])), now),
                Offer::created(5, spec(-1, None, Audience::global()), now),
            ],
            Vec::new(),
            now,
        );
        write(&index.offers).insert(Offer::created(4, spec(-1, None, users(&["u1"])), now), now);
        let listing = read(&index.offers);
        for user in ["u1", "u2"] {
            let (key, list) = listing.users.get_key_value(user).unwrap();
            if user == "u2" {
                // Loaded in one go (u1's list grew again when offer 4 came).
                assert_eq!(list.capacity(), list.len(), "no spare capacity");
            }
            for offer_id in list {
                let offer = &listing.entries[offer_id].offer;
                let held = offer
                    .spec
                    .audience
                    .users
                    .iter()
                    .find(|u| u.as_str() == user);
                assert!(
                    held.unwrap().is_shared_with(key),
                    "{user} in offer {offer_id}"
                );
            }
        }
        let (room, _) = listing.rooms.get_key_value("r").unwrap();
        assert!(listing.entries[&3].offer.spec.audience.rooms[0].is_shared_with(room));
        drop(listing);
        assert_eq!(index.feed_ids("r", Some("u1"), None, now), [1, 2, 3, 4, 5]);
        assert_eq!(
            index.feed_ids("elsewhere", Some("u2"), None, now),
            [1, 2, 5]
        );
    }

    /// A small version of the scale benchmark's shape: 1,000 offers (900 personal over 300
    /// users, 90 for rooms over 30 rooms, 10 global). The feed matches the audience rule
    /// applied to every offer, and looks at only the visitor's own lists: it does not scan.
    #[test]
    fn feed_of_a_thousand_offers_reads_only_the_visitors_lists() {
        let now = Utc::now();
        let id = |s: String| ExternalId::parse(&s).unwrap();
        let offers: Vec<Offer> = (1..=1000i64)
            .map(|n| {
                let audience = match n % 100 {
                    0 => Audience::global(),
                    1..=9 => Audience::rooms(
                        (0..3)
                            .map(|k| id(format!("r{}", (n + k * 7) % 30)))
                            .collect(),
                    ),
                    _ => Audience::users(
                        (0..10)
                            .map(|k| id(format!("u{}", (n * 7 + k * 31) % 300)))
                            .collect(),
                    ),
                };
                // A few scheduled beyond the horizon, a few ending soon.
                let start = if n % 37 == 0 { 30 } else { -1 };
                Offer::created(n, spec(start, None, audience), DateTime::UNIX_EPOCH)
            })
            .collect();
        assert_eq!(
            offers
                .iter()
                .filter(|o| o.spec.audience.kind == offers_core::AudienceType::Global)
                .count(),
            10
        );
        let index = OffersIndex::default();
        index.replace(offers.clone(), vec!["u7".into()], now);
        for (room, user) in [
            ("r3", Some("u1")),
            ("r29", Some("u299")),
            ("r3", None),
            ("nowhere", Some("nobody")),
            ("r5", Some("u7")),
        ] {
            let expected: Vec<i64> = offers
                .iter()
                .rev()
                .filter(|o| concerns(&o.spec, room, user, user == Some("u7"), now))
                .map(|o| o.id)
                .collect();
            EXAMINED.with(|n| n.set(0));
            let got: Vec<i64> = index
                .feed(room, user, user, now)
                .iter()
                .map(|o| o.id)
                .collect();
            let examined = EXAMINED.with(std::cell::Cell::get);
            assert_eq!(got, expected, "{room} {user:?}");
            assert!(
                examined <= expected.len() + 5,
                "{room} {user:?}: looked at {examined} entries for {} offers",
                expected.len()
            );
            assert!(examined < 100, "the feed scanned: {examined} of 1000");
        }
        // The per-offer check used by the streams follows the same rule.
        for offer in offers.iter().take(200) {
            for (room, user) in [("r3", Some("u1")), ("r8", Some("u42"))] {
                assert_eq!(
                    index.concerning(offer.id, room, user, user, now) != Concerning::No,
                    concerns(&offer.spec, room, user, false, now),
                    "offer {} for {room} {user:?}",
                    offer.id
                );
            }
        }
    }

    fn keys(room: &str, user: Option<&str>) -> StreamKeys {
        StreamKeys::of(room, user, user)
    }

    fn stream_tx(capacity: usize) -> (Arc<StreamTx>, mpsc::Receiver<StreamEvent>) {
        let (tx, rx) = mpsc::channel(capacity);
        let tx = Arc::new(StreamTx {
            tx,
            lagged: AtomicBool::new(false),
            wake: Notify::new(),
        });
        (tx, rx)
    }

    #[test]
    fn fan_out_reaches_only_the_streams_an_offer_concerns() {
        let mut streams = Streams::default();
        let mut rxs = Vec::new();
        for (room, user) in [
            ("r1", Some("u1")),
            ("r1", None),
            ("r2", Some("u2")),
            ("r3", Some("u1")),
        ] {
            let (tx, rx) = stream_tx(8);
            streams.add(keys(room, user), tx);
            rxs.push(rx);
        }
        let offer =
            |id, audience| Offer::created(id, spec(-1, None, audience), DateTime::UNIX_EPOCH);
        let room_offer = offer(1, Audience::rooms(vec![ExternalId::parse("r1").unwrap()]));
        let user_offer = offer(2, Audience::users(vec![ExternalId::parse("u1").unwrap()]));
        let global = offer(3, Audience::global());
        fn got(rxs: &mut [mpsc::Receiver<StreamEvent>]) -> Vec<bool> {
            rxs.iter_mut().map(|rx| rx.try_recv().is_ok()).collect()
        }
        assert_eq!(streams.send_offer(1, &[&room_offer]), 2);
        assert_eq!(got(&mut rxs), [true, true, false, false]);
        assert_eq!(streams.send_offer(2, &[&user_offer]), 2);
        assert_eq!(got(&mut rxs), [true, false, false, true]);
        // Moved from room r1 to user u2: the old and the new audience are told.
        assert_eq!(
            streams.send_offer(
                1,
                &[
                    &room_offer,
                    &offer(1, Audience::users(vec![ExternalId::parse("u2").unwrap()]))
                ]
            ),
            3
        );
        assert_eq!(got(&mut rxs), [true, true, true, false]);
        assert_eq!(streams.send_offer(3, &[&global]), 4);
        assert_eq!(got(&mut rxs), [true, true, true, true]);
        assert_eq!(streams.send_claimed("u2", StreamEvent::OptOut), 1);
        assert_eq!(got(&mut rxs), [false, false, true, false]);
        // A stream re-registered under another user follows that user.
        streams.rekey(1, keys("r1", Some("u9")));
        assert_eq!(streams.send_offer(2, &[&user_offer]), 1);
        assert_eq!(got(&mut rxs), [false, false, false, true]);
        streams.remove(4);
        assert_eq!(streams.send_offer(2, &[&user_offer]), 0);
        assert!(!streams.users.contains_key("u1") && !streams.rooms.contains_key("r3"));
    }

    #[tokio::test]
    async fn a_full_queue_marks_the_stream_lagging_and_it_resyncs() {
        let slot = Arc::new(Slot::new(Project {
            id: 1,
            name: "p".into(),
            api_key: "k".into(),
            public_key: "pk".into(),
            secret: "s".into(),
            identity_secret: "i".into(),
            require_user_signature: false,
            allowed_origins: Vec::new(),
            caps: Default::default(),
            attribution_window_hours: 24,
        }));
        let mut stalled = slot.open_stream("r1", None, None);
        let mut live = slot.open_stream("r1", None, None);
        let offer = Offer::created(5, spec(-1, None, Audience::global()), DateTime::UNIX_EPOCH);
        // The stalled stream reads nothing; the writer never waits for it.
        for _ in 0..STREAM_QUEUE + 10 {
            slot.send_offer(5, &[&offer]);
            assert_eq!(live.recv().await, Some(StreamEvent::Offer(5)));
        }
        assert_eq!(slot.reached(), 2 * (STREAM_QUEUE as u64 + 10));
        // It resynchronizes, its queue emptied, then hears the next change normally.
        assert_eq!(stalled.recv().await, Some(StreamEvent::Resync));
        slot.send_offer(5, &[&offer]);
        assert_eq!(stalled.recv().await, Some(StreamEvent::Offer(5)));
        assert_eq!(slot.open_streams(), 2);
        drop(stalled);
        assert_eq!(slot.open_streams(), 1);
        // An empty lagging queue still wakes its stream.
        live.tx.lagged.store(true, Ordering::Release);
        live.tx.wake.notify_one();
        assert_eq!(live.recv().await, Some(StreamEvent::Resync));
    }
}
