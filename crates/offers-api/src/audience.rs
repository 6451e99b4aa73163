//! Audiences in the live index (SPEC §7): who is in which segment, and the offers rendered for
//! one visitor (their language, their merge tags), decided per request by `offers-core`.
//!
//! How segments are evaluated: **per request, against the visitor's cached profile**, not by
//! precomputed membership. A project keeps, in memory:
//! - its segments' definitions (a few hundred rule lists);
//! - a bounded cache of [`UserContext`]s (a user's stored profile and the list segments that
//!   list them), loaded from the database on a user's first feed request and dropped when
//!   their profile changes;
//! - the running test sends, by user.
//!
//! Evaluating a visitor's segments is a handful of comparisons per condition (microseconds), and
//! only for the few offers the index already selected for the visitor's room and user, whereas
//! precomputed membership would hold every segment × every matching user (hundreds of millions
//! of entries at 1M profiles × 200 segments) and need a full re-evaluation on every segment
//! edit. The feed page of a visitor with personalized offers is cached per user, language and
//! context version, so a user's repeated requests cost one lookup.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use chrono::{DateTime, Utc};
use offers_core::profile::Profile;
use offers_core::segment::{SegmentDef, SegmentRules, SegmentVerdict};
use offers_core::{Offer, OfferSpec};

use crate::store::audience::{StoredSegment, TestSend};

/// The most user contexts a project keeps (past it, the cache starts afresh).
pub const MAX_CONTEXTS: usize = 100_000;

/// How long a test send stays in the user's feed (SPEC §7: "on their next entry within 10
/// minutes").
pub const TEST_SEND_FOR: chrono::Duration = chrono::Duration::minutes(10);

static NEXT_VERSION: AtomicU64 = AtomicU64::new(1);

/// What the server knows of one user: their stored profile (if any) and the list segments that
/// list them. Each load gets a new `version`, so pages built from an older one are not reused.
#[derive(Debug)]
pub struct UserContext {
    pub profile: Option<Profile>,
    pub lists: HashSet<i64>,
    pub version: u64,
}

impl UserContext {
    /// A freshly loaded context.
    pub fn new(profile: Option<Profile>, lists: HashSet<i64>) -> Self {
        Self {
            profile,
            lists,
            version: NEXT_VERSION.fetch_add(1, Ordering::Relaxed),
        }
    }
}

/// A segment as the index needs it: its name (for explanations) and its rules (`None`: a list,
/// answered by [`UserContext::lists`]).
#[derive(Debug, Clone)]
pub struct SegmentEntry {
    pub name: String,
    pub rules: Option<SegmentRules>,
}

impl From<&StoredSegment> for SegmentEntry {
    fn from(s: &StoredSegment) -> Self {
        Self {
            name: s.spec.name.as_str().to_owned(),
            rules: match &s.spec.def {
                SegmentDef::Rules(rules) => Some(rules.clone()),
                SegmentDef::List(_) => None,
            },
        }
    }
}

/// One running test send, with the offer as it was when sent.
#[derive(Debug, Clone)]
pub struct TestEntry {
    pub offer: Arc<Offer>,
    pub until: DateTime<Utc>,
}

/// A project's audiences in memory (see the module docs).
#[derive(Debug, Default)]
pub struct Audiences {
    segments: RwLock<HashMap<i64, SegmentEntry>>,
    contexts: Mutex<HashMap<Box<str>, Arc<UserContext>>>,
    /// Bumped by every [`Audiences::forget`]: a context loaded across one is not kept.
    epoch: AtomicU64,
    tests: RwLock<HashMap<Box<str>, Vec<TestEntry>>>,
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

impl Audiences {
    /// Replaces the segment definitions.
    pub fn set_segments(&self, segments: &[StoredSegment]) {
        *write(&self.segments) = segments.iter().map(|s| (s.id, s.into())).collect();
    }

    /// Replaces one segment's definition (`None`: deleted).
    pub fn set_segment(&self, id: i64, segment: Option<&StoredSegment>) {
        let mut segments = write(&self.segments);
        match segment {
            Some(s) => segments.insert(id, s.into()),
            None => segments.remove(&id),
        };
    }

    /// A segment's name, if it exists.
    pub fn segment_name(&self, id: i64) -> Option<String> {
        read(&self.segments).get(&id).map(|s| s.name.clone())
    }

    /// Whether the visitor (`ctx`: their context; `None`: anonymous) is in segment `id`: the
    /// rule evaluated by `offers_core::segment::in_segment`. An unknown segment has nobody.
    pub fn is_member(&self, id: i64, ctx: Option<&UserContext>) -> bool {
        let segments = read(&self.segments);
        let Some(segment) = segments.get(&id) else {
            return false;
        };
        let profile = ctx.and_then(|c| c.profile.as_ref());
        match &segment.rules {
            Some(rules) => offers_core::segment::rules_match(rules, profile),
            None => ctx.is_some_and(|c| c.lists.contains(&id)),
        }
    }

    /// The offer's segment rule for the visitor (`offers_core::segment::segments_allow`).
    pub fn verdict(&self, spec: &OfferSpec, ctx: Option<&UserContext>) -> SegmentVerdict {
        offers_core::segment::segments_allow(&spec.segment_ids, &spec.exclude_segment_ids, |id| {
            self.is_member(id, ctx)
        })
    }

    /// The cached context of `user`.
    pub fn context(&self, user: &str) -> Option<Arc<UserContext>> {
        lock(&self.contexts).get(user).cloned()
    }

    /// The current epoch: read it before loading a context, pass it to
    /// [`Audiences::keep_context`].
    pub fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::Acquire)
    }

    /// Caches a context loaded since `epoch`, unless one was cached meanwhile (kept: it is as
    /// new). A context loaded across a [`Audiences::forget`] may be stale: it is answered but
    /// not kept.
    pub fn keep_context(&self, user: &str, ctx: UserContext, epoch: u64) -> Arc<UserContext> {
        let mut contexts = lock(&self.contexts);
        if self.epoch.load(Ordering::Acquire) != epoch {
            return Arc::new(ctx);
        }
        if contexts.len() >= MAX_CONTEXTS {
            contexts.clear();
        }
        Arc::clone(contexts.entry(user.into()).or_insert_with(|| Arc::new(ctx)))
    }

    /// Forgets one user's context (their profile or lists changed), or, with `None`, all.
    pub fn forget(&self, user: Option<&str>) {
        let mut contexts = lock(&self.contexts);
        self.epoch.fetch_add(1, Ordering::AcqRel);
        match user {
            Some(user) => {
                contexts.remove(user);
            }
            None => contexts.clear(),
        }
    }

    /// Replaces the running test sends (offers looked up by `offer`).
    pub fn set_tests(&self, sends: Vec<(TestSend, Arc<Offer>)>) {
        let mut tests: HashMap<Box<str>, Vec<TestEntry>> = HashMap::new();
        for (send, offer) in sends {
            tests
                .entry(send.user_id.as_str().into())
                .or_default()
                .push(TestEntry {
                    offer,
                    until: send.until,
                });
        }
        *write(&self.tests) = tests;
    }

    /// Adds (or renews) one test send.
    pub fn add_test(&self, user: &str, offer: Arc<Offer>, until: DateTime<Utc>) {
        let mut tests = write(&self.tests);
        let list = tests.entry(user.into()).or_default();
        list.retain(|t| t.offer.id != offer.id);
        list.push(TestEntry { offer, until });
    }

    /// The user's running test sends at `now`, newest offer first.
    pub fn tests_for(&self, user: &str, now: DateTime<Utc>) -> Vec<TestEntry> {
        let tests = read(&self.tests);
        let mut found: Vec<TestEntry> = tests
            .get(user)
            .into_iter()
            .flatten()
            .filter(|t| now < t.until)
            .cloned()
            .collect();
        found.sort_by_key(|t| std::cmp::Reverse(t.offer.id));
        found
    }

    /// Whether the user has a running test send of `offer_id` at `now` (its events are not
    /// counted).
    pub fn is_test(&self, user: &str, offer_id: i64, now: DateTime<Utc>) -> bool {
        read(&self.tests)
            .get(user)
            .is_some_and(|l| l.iter().any(|t| t.offer.id == offer_id && now < t.until))
    }

    /// Whether any user has a running test send (so feeds must look them up).
    pub fn has_tests(&self) -> bool {
        !read(&self.tests).is_empty()
    }
}
