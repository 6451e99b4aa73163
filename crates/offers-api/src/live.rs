//! The in-memory side of the widget endpoints: per project, the offers that have not ended,
//! the opted-out users, the project's settings and the ids known to be registered, so the feed
//! and the stream answer without a database query per request; and the per-project fan-out of
//! changes to the open SSE streams.
//!
//! Architecture invariants:
//! - a project's index is loaded lazily, on its first widget request, and from then on kept in
//!   step by *re-reading* what a [`Change`] names (never by trusting a payload), under the
//!   project's apply lock: the index only ever moves to a newer database state, so duplicate,
//!   late or reordered changes are harmless;
//! - a change that arrives while the index is loading marks the load dirty, and the loader
//!   loads again: nothing committed is missed;
//! - when changes may have been lost ([`BusMessage::Resync`], a lagging receiver, a failed
//!   re-read), indexes are dropped (reloaded on next use) and every stream gets `resync`;
//! - the replica that made a write also applies it right away ([`LiveIndex::apply`] from the
//!   handler): a partner reads its own writes on the feed of the replica it wrote to.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use offers_core::{Offer, OfferSpec, in_audience};
use tokio::sync::{broadcast, mpsc, watch};

use crate::bus::{BusMessage, Change, ChangeOp};
use crate::store::{IdKind, Project, Store, StoreError};

/// Offers starting within this horizon are sent ahead (the widget schedules them itself).
pub const HORIZON: chrono::Duration = chrono::Duration::hours(24);

/// How long a project's settings are trusted before they are re-read in the background
/// (settings changed by `offers-api project set` on SQLite reach a running server this way;
/// on PostgreSQL the change bus brings them at once).
pub const PROJECT_TTL: Duration = Duration::from_secs(5);

/// How long an unknown public key is remembered as unknown.
const MISSING_KEY_TTL: Duration = Duration::from_secs(5);
/// Bounds of the in-memory caches (cleared when exceeded; they only save queries).
const MAX_KEYS: usize = 10_000;
const MAX_SEEN_IDS: usize = 100_000;
/// Capacity of a project's fan-out to its streams; a lagging stream resynchronizes.
const FANOUT_CAPACITY: usize = 256;
/// How often ended offers are dropped from loaded indexes.
const PRUNE_EVERY: Duration = Duration::from_secs(600);
/// Registration batching.
const REGISTER_QUEUE: usize = 10_000;
const REGISTER_BATCH: usize = 500;
const REGISTER_WAIT: Duration = Duration::from_millis(50);

/// Whether `spec` concerns a visitor in `room` as `user` at `now`: in the audience (opt-out
/// applied), not ended, and starting within [`HORIZON`].
pub fn concerns(
    spec: &OfferSpec,
    room: &str,
    user: Option<&str>,
    opted_out: bool,
    now: DateTime<Utc>,
) -> bool {
    !has_ended(spec, now)
        && spec.start_time <= now + HORIZON
        && in_audience(&spec.audience, room, user, opted_out)
}

/// Whether the offer's end time has passed.
pub fn has_ended(spec: &OfferSpec, now: DateTime<Utc>) -> bool {
    spec.end_time.is_some_and(|end| end <= now)
}

/// What a project's streams are told.
#[derive(Debug, Clone)]
pub enum ProjectEvent {
    /// The offer's current state (`None`: deleted or ended).
    Offer { id: i64, offer: Option<Arc<Offer>> },
    /// A user's opt-out changed.
    OptOut { user: String },
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
        use sha2::{Digest, Sha256};
        let json = serde_json::to_string(&offers_core::FeedOffer::from(offer))
            .unwrap_or_else(|_| "null".to_owned());
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
}

impl Entry {
    fn new(offer: Arc<Offer>) -> Self {
        let fragment = Arc::new(FeedFragment::of(&offer));
        Self { offer, fragment }
    }
}

/// One project's offers and opt-outs.
#[derive(Debug, Default)]
pub struct OffersIndex {
    offers: RwLock<BTreeMap<i64, Entry>>,
    opted_out: RwLock<HashSet<String>>,
}

impl OffersIndex {
    /// Whether `user` opted out.
    pub fn is_opted_out(&self, user: Option<&str>) -> bool {
        user.is_some_and(|u| read(&self.opted_out).contains(u))
    }

    /// The offers concerning the visitor, newest first. `user` is the trusted user (targeting);
    /// `claimed` the id as sent, whose opt-out is honoured even unverified (it can only hide
    /// offers).
    pub fn feed(
        &self,
        room: &str,
        user: Option<&str>,
        claimed: Option<&str>,
        now: DateTime<Utc>,
    ) -> Vec<Arc<Offer>> {
        self.select(room, user, claimed, now, |e| Arc::clone(&e.offer))
    }

    /// [`Self::feed`] as pre-serialized fragments, for the feed endpoint.
    pub fn feed_fragments(
        &self,
        room: &str,
        user: Option<&str>,
        claimed: Option<&str>,
        now: DateTime<Utc>,
    ) -> Vec<Arc<FeedFragment>> {
        self.select(room, user, claimed, now, |e| Arc::clone(&e.fragment))
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
        read(&self.offers)
            .values()
            .rev()
            .filter(|e| concerns(&e.offer.spec, room, user, false, now))
            .map(pick)
            .collect()
    }

    /// The next instant after `now` at which the visitor's set may change by the clock alone:
    /// an offer in the audience entering the horizon, or ending.
    pub fn next_transition(
        &self,
        room: &str,
        user: Option<&str>,
        claimed: Option<&str>,
        now: DateTime<Utc>,
    ) -> Option<DateTime<Utc>> {
        if self.is_opted_out(claimed) || self.is_opted_out(user) {
            return None;
        }
        read(&self.offers)
            .values()
            .map(|e| &e.offer)
            .filter(|o| in_audience(&o.spec.audience, room, user, false))
            .flat_map(|o| [Some(o.spec.start_time - HORIZON), o.spec.end_time])
            .flatten()
            .filter(|t| *t > now)
            .min()
    }

    /// One offer, if indexed.
    pub fn offer(&self, id: i64) -> Option<Arc<Offer>> {
        read(&self.offers).get(&id).map(|e| Arc::clone(&e.offer))
    }

    /// Drops the offers that have ended (they concern nobody any more).
    fn prune_ended(&self, now: DateTime<Utc>) {
        write(&self.offers).retain(|_, e| !has_ended(&e.offer.spec, now));
    }

    fn replace(&self, offers: Vec<Offer>, opted_out: Vec<String>) {
        *write(&self.offers) = offers
            .into_iter()
            .map(|o| (o.id, Entry::new(Arc::new(o))))
            .collect();
        *write(&self.opted_out) = opted_out.into_iter().collect();
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
    events: broadcast::Sender<ProjectEvent>,
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
            events: broadcast::channel(FANOUT_CAPACITY).0,
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

    /// Subscribes to this project's changes (before reading the index, so nothing is missed).
    pub fn subscribe(&self) -> broadcast::Receiver<ProjectEvent> {
        self.events.subscribe()
    }

    fn seen(&self, kind: IdKind) -> &Mutex<HashSet<String>> {
        match kind {
            IdKind::Room => &self.seen_rooms,
            IdKind::User => &self.seen_users,
        }
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
        let _ = self.events.send(ProjectEvent::Resync);
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
                Ok::<_, StoreError>((offers, opted_out))
            }
            .await;
            let mut state = lock(&slot.state);
            match loaded {
                Err(e) => {
                    *state = SlotState::Empty;
                    return Err(e);
                }
                Ok((offers, opted_out)) => {
                    // A change arrived while loading: load again (after releasing the lock).
                    if matches!(*state, SlotState::Loading { dirty: true }) {
                        drop(state);
                        continue;
                    }
                    let index = Arc::new(OffersIndex::default());
                    index.replace(offers, opted_out);
                    *state = SlotState::Ready(Arc::clone(&index));
                    return Ok(index);
                }
            }
        }
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
        };
        if let Err(e) = outcome {
            tracing::warn!(error = %e, project = slot.project_id, "cannot re-read a change: resynchronizing the project");
            slot.invalidate();
        }
    }

    async fn reread_project(&self, slot: &Slot) -> Result<(), StoreError> {
        if let Some(project) = self.store.project_by_id(slot.project_id).await? {
            set_project(slot, project);
            let _ = slot.events.send(ProjectEvent::Settings);
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
            let _ = slot.events.send(ProjectEvent::OptOut {
                user: user.to_owned(),
            });
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
            .filter(|o| !has_ended(&o.spec, now))
            .map(Arc::new);
        let changed = {
            let mut offers = write(&index.offers);
            let same = match (offers.get(&id), &fresh) {
                (Some(old), Some(new)) => old.offer == *new,
                (None, None) => true,
                _ => false,
            };
            match &fresh {
                Some(offer) => offers.insert(id, Entry::new(Arc::clone(offer))),
                None => offers.remove(&id),
            };
            !same
        };
        if changed {
            let _ = slot.events.send(ProjectEvent::Offer { id, offer: fresh });
        }
        Ok(())
    }

    /// Drops ended offers from every loaded index.
    pub fn prune_ended(&self, now: DateTime<Utc>) {
        let slots: Vec<Arc<Slot>> = lock(&self.slots).values().cloned().collect();
        for index in slots.iter().filter_map(|slot| slot.ready()) {
            index.prune_ended(now);
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
                seen.insert(id.to_owned())
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
        let mut prune =
            tokio::time::interval_at(tokio::time::Instant::now() + PRUNE_EVERY, PRUNE_EVERY);
        loop {
            let message = tokio::select! {
                message = bus.recv() => message,
                _ = prune.tick() => {
                    self.prune_ended(Utc::now());
                    continue;
                }
                _ = shutdown.wait_for(|stop| *stop) => return,
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
    use offers_core::{
        Audience, ExternalId, HttpUrl, ShowFrequency, Template, TemplateData, ViewType,
    };

    fn spec(start_in_hours: i64, end_in_hours: Option<i64>, audience: Audience) -> OfferSpec {
        let now = Utc::now();
        OfferSpec {
            template: Template::Banner,
            title: None,
            text: None,
            link_text: None,
            link: HttpUrl::parse("https://a.example/").unwrap(),
            pic: Some(HttpUrl::parse("https://a.example/p.png").unwrap()),
            template_data: TemplateData::default(),
            view_type: ViewType::Popup,
            start_time: now + chrono::Duration::hours(start_in_hours),
            end_time: end_in_hours.map(|h| now + chrono::Duration::hours(h)),
            show_multiple_times: false,
            show_frequency: ShowFrequency::OnEntry,
            show_delay_ms: 0,
            audience,
        }
    }

    #[test]
    fn feed_fragments_serialize_like_serde_and_key_the_etag() {
        let index = OffersIndex::default();
        let offers: Vec<Offer> = (1..=3)
            .map(|id| Offer::created(id, spec(-1, None, Audience::global()), Utc::now()))
            .collect();
        index.replace(offers.clone(), Vec::new());
        let now = Utc::now();
        let fragments = index.feed_fragments("r", None, None, now);
        let body = crate::http::widget::feed_body(&fragments, "2026-11-21T10:00:00.000Z");
        let expected: Vec<offers_core::FeedOffer> = offers
            .iter()
            .rev()
            .map(offers_core::FeedOffer::from)
            .collect();
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&body).unwrap(),
            serde_json::json!({"offers": expected, "serverTime": "2026-11-21T10:00:00.000Z"})
        );
        // The ETag follows the content: same offers, same tag; one changed, another tag.
        let etag = crate::http::widget::etag_of_fragments(&fragments);
        assert_eq!(
            etag,
            crate::http::widget::etag_of_fragments(&index.feed_fragments("r", None, None, now))
        );
        let mut changed = offers;
        changed[0].spec.show_delay_ms = 5;
        index.replace(changed, Vec::new());
        assert_ne!(
            etag,
            crate::http::widget::etag_of_fragments(&index.feed_fragments("r", None, None, now))
        );
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
        index.replace(offers, vec!["gone".into()]);
        let ids = |v: Vec<Arc<Offer>>| v.iter().map(|o| o.id).collect::<Vec<_>>();
        assert_eq!(ids(index.feed("r1", None, None, now)), [1]);
        assert_eq!(ids(index.feed("r2", Some("u"), Some("u"), now)), [3, 1]);
        assert!(index.feed("r2", Some("gone"), Some("gone"), now).is_empty());
        assert!(
            index.feed("r2", None, Some("gone"), now).is_empty(),
            "an unverified opt-out still counts"
        );
        // Next: offer 1 ends in 2 h (before offer 2 enters the horizon in 6 h).
        let next = index.next_transition("r1", None, None, now).unwrap();
        assert!(
            (next - now - chrono::Duration::hours(2))
                .num_seconds()
                .abs()
                <= 1
        );
        assert_eq!(index.next_transition("r1", None, Some("gone"), now), None);
        index.prune_ended(now + chrono::Duration::hours(3));
        assert_eq!(index.offer(1), None);
        assert!(index.offer(2).is_some());
    }
}
