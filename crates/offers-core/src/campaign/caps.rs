//! Caps across offers (SPEC §9): at most N pop-ups per user per session, per local calendar
//! day and per rolling 7 days, and a minimum gap between two pop-ups.
//!
//! The browser keeps the log of pop-ups shown ([`PopupShown`], shared by every tab through
//! `localStorage`) and the session mark ([`SessionMark`], also shared); for an identified user
//! the feed adds the server's log of the last 7 days, [`merge`]d by event id, so a cap holds
//! across devices. [`admit`] is the one decision; [`prune`] keeps the log short.

use std::fmt;

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use crate::frequency::local_date;

/// A new session starts after this long without activity (30 minutes).
pub const SESSION_TIMEOUT_MS: i64 = 30 * 60 * 1000;
/// How far back the log reaches (7 days, the longest cap), in milliseconds.
pub const LOG_WINDOW_MS: i64 = 7 * 24 * 60 * 60 * 1000;

/// A project's caps; each is optional (`None`: no such cap). On the wire
/// `{"perSession", "perDay", "perWeek", "minGapMs"}`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Caps {
    /// At most this many pop-ups per session (30 minutes without activity end one). In a
    /// PATCH, 0 clears it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(minimum = 0, maximum = 1000))]
    pub per_session: Option<u32>,
    /// At most this many pop-ups per local calendar day. In a PATCH, 0 clears it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(minimum = 0, maximum = 1000))]
    pub per_day: Option<u32>,
    /// At most this many pop-ups in any 7 × 24 hours. In a PATCH, 0 clears it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(minimum = 0, maximum = 1000))]
    pub per_week: Option<u32>,
    /// At least this many milliseconds between two pop-ups. In a PATCH, 0 clears it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(minimum = 0, maximum = 604_800_000))]
    pub min_gap_ms: Option<u64>,
}

impl Caps {
    /// Whether no cap is set.
    pub const fn is_empty(&self) -> bool {
        self.per_session.is_none()
            && self.per_day.is_none()
            && self.per_week.is_none()
            && self.min_gap_ms.is_none()
    }
}

/// One pop-up shown to the user: the impression's event id, when, and in which session
/// ([`SessionMark::id`]; 0 when not known, as for the server's entries).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PopupShown {
    /// The impression event's id (what [`merge`] deduplicates by).
    pub id: String,
    /// When it was shown.
    #[serde(with = "crate::time::rfc3339")]
    pub at: DateTime<Utc>,
    /// The session it was shown in (0: unknown).
    #[serde(default)]
    pub session: u64,
}

/// Why a cap refuses another pop-up now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CapReason {
    /// `limit` pop-ups were already shown in this session.
    Session {
        /// The cap.
        limit: u32,
    },
    /// `limit` pop-ups were already shown today (the user's local day).
    Day {
        /// The cap.
        limit: u32,
    },
    /// `limit` pop-ups were already shown in the last 7 days.
    Week {
        /// The cap.
        limit: u32,
    },
    /// The last pop-up was too recent: the next may show in `wait_ms`.
    Gap {
        /// Milliseconds until the gap has passed.
        wait_ms: u64,
    },
}

impl CapReason {
    /// The reason's code: `cap_session`, `cap_day`, `cap_week` or `min_gap`.
    pub const fn code(self) -> &'static str {
        match self {
            Self::Session { .. } => "cap_session",
            Self::Day { .. } => "cap_day",
            Self::Week { .. } => "cap_week",
            Self::Gap { .. } => "min_gap",
        }
    }
}

impl fmt::Display for CapReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let plural = |n: u32| if n == 1 { "pop-up" } else { "pop-ups" };
        match *self {
            Self::Session { limit } => write!(
                f,
                "the project's cap of {limit} {} per session is reached",
                plural(limit)
            ),
            Self::Day { limit } => write!(
                f,
                "the project's cap of {limit} {} per day is reached",
                plural(limit)
            ),
            Self::Week { limit } => write!(
                f,
                "the project's cap of {limit} {} per 7 days is reached",
                plural(limit)
            ),
            Self::Gap { wait_ms } => write!(
                f,
                "another pop-up was shown too recently (the project's minimum gap); the next may show in {} s",
                wait_ms.div_ceil(1000)
            ),
        }
    }
}

/// Milliseconds from `earlier` to `later` (negative when `later` is before).
fn millis_between(earlier: DateTime<Utc>, later: DateTime<Utc>) -> i64 {
    later.timestamp_millis() - earlier.timestamp_millis()
}

/// Whether another pop-up may show `now` in session `session`, given the log `shown` (every
/// tab's, merged with the server's): the session cap counts the entries of `session`, the day
/// cap those of the user's local calendar day (local time is UTC + `utc_offset_minutes`), the
/// week cap those less than 7 × 24 h old (entries dated after `now`, from another clock,
/// count too), and the gap is measured from the latest entry. The first cap that refuses is
/// the reason, in that order. A cap of 0 refuses every pop-up.
pub fn admit(
    caps: &Caps,
    shown: &[PopupShown],
    session: u64,
    now: DateTime<Utc>,
    utc_offset_minutes: i32,
) -> Result<(), CapReason> {
    if let Some(limit) = caps.per_session {
        let count = shown
            .iter()
            .filter(|p| session != 0 && p.session == session)
            .count();
        if count >= limit as usize {
            return Err(CapReason::Session { limit });
        }
    }
    if let Some(limit) = caps.per_day {
        let today = local_date(now, utc_offset_minutes);
        let count = shown
            .iter()
            .filter(|p| local_date(p.at, utc_offset_minutes) == today)
            .count();
        if count >= limit as usize {
            return Err(CapReason::Day { limit });
        }
    }
    if let Some(limit) = caps.per_week {
        let count = shown
            .iter()
            .filter(|p| millis_between(p.at, now) < LOG_WINDOW_MS)
            .count();
        if count >= limit as usize {
            return Err(CapReason::Week { limit });
        }
    }
    if let Some(gap) = caps.min_gap_ms
        && let Some(last) = shown.iter().map(|p| p.at).max()
    {
        let since = millis_between(last, now);
        let gap = i64::try_from(gap).unwrap_or(i64::MAX);
        if since < gap {
            let wait = gap.saturating_sub(since.max(0)).max(1);
            return Err(CapReason::Gap {
                wait_ms: u64::try_from(wait).unwrap_or(u64::MAX),
            });
        }
    }
    Ok(())
}

/// The union of two logs by event id: every entry of `local`, then those of `server` whose id
/// `local` lacks (a local entry knows its session; the server's do not). Sorted by time, then
/// id, so the result does not depend on which tab merged first.
pub fn merge(local: &[PopupShown], server: &[PopupShown]) -> Vec<PopupShown> {
    let mut out: Vec<PopupShown> = Vec::with_capacity(local.len() + server.len());
    for entry in local.iter().chain(server) {
        match out.iter_mut().find(|p| p.id == entry.id) {
            Some(known) => {
                if known.session == 0 {
                    known.session = entry.session;
                }
            }
            None => out.push(entry.clone()),
        }
    }
    // The ids in `out` are distinct, so (time, id) orders it totally and an unstable sort gives
    // the one answer (core's stable sort is 0.2 KB more of the widget's wasm).
    out.sort_unstable_by(|a, b| a.at.cmp(&b.at).then_with(|| a.id.cmp(&b.id)));
    out
}

/// The log without the entries 7 days old or older at `now` (they count for no cap).
pub fn prune(shown: &[PopupShown], now: DateTime<Utc>) -> Vec<PopupShown> {
    shown
        .iter()
        .filter(|p| millis_between(p.at, now) < LOG_WINDOW_MS)
        .cloned()
        .collect()
}

/// The session mark the tabs share: the session's id (the millisecond it started, never 0)
/// and when the user was last active in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionMark {
    /// The session's id.
    pub id: u64,
    /// The last activity, in Unix milliseconds.
    pub last_active_ms: i64,
}

/// The session at `now_ms` (Unix milliseconds), given the stored mark: the same session, its
/// activity moved to `now_ms`, unless 30 minutes or more passed without activity (or there
/// is no mark), then a new session whose id is `now_ms`. A clock that went back keeps the
/// session.
pub fn session_at(stored: Option<SessionMark>, now_ms: i64) -> SessionMark {
    match stored {
        Some(mark) if mark.id != 0 && now_ms - mark.last_active_ms < SESSION_TIMEOUT_MS => {
            SessionMark {
                id: mark.id,
                last_active_ms: mark.last_active_ms.max(now_ms),
            }
        }
        _ => SessionMark {
            id: u64::try_from(now_ms).unwrap_or(0).max(1),
            last_active_ms: now_ms,
        },
    }
}

/// `at` plus `ms` milliseconds (saturating at the end of time).
pub fn after(at: DateTime<Utc>, ms: u64) -> DateTime<Utc> {
    TimeDelta::try_milliseconds(i64::try_from(ms).unwrap_or(i64::MAX))
        .and_then(|delta| at.checked_add_signed(delta))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(d: u32, h: u32, mi: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2024, 5, d, h, mi, 0).unwrap()
    }

    fn shown(id: &str, at: DateTime<Utc>, session: u64) -> PopupShown {
        PopupShown {
            id: id.to_owned(),
            at,
            session,
        }
    }

    #[test]
    fn each_cap_refuses_with_its_reason() {
        let none = Caps::default();
        assert!(none.is_empty());
        let log = [shown("a", at(10, 9, 0), 7), shown("b", at(10, 9, 10), 7)];
        assert_eq!(admit(&none, &log, 7, at(10, 9, 11), 0), Ok(()));

        let session = Caps {
            per_session: Some(2),
            ..Caps::default()
        };
        assert_eq!(
            admit(&session, &log, 7, at(10, 9, 20), 0),
            Err(CapReason::Session { limit: 2 })
        );
        assert_eq!(admit(&session, &log, 8, at(10, 9, 20), 0), Ok(()));

        let day = Caps {
            per_day: Some(2),
            ..Caps::default()
        };
        assert_eq!(
            admit(&day, &log, 8, at(10, 23, 0), 0),
            Err(CapReason::Day { limit: 2 })
        );
        assert_eq!(admit(&day, &log, 8, at(11, 0, 0), 0), Ok(()), "a new day");
        // UTC+2: 23:00 UTC on the 10th is already the 11th locally.
        assert_eq!(admit(&day, &log, 8, at(10, 23, 0), 120), Ok(()));

        let week = Caps {
            per_week: Some(2),
            ..Caps::default()
        };
        assert_eq!(
            admit(&week, &log, 8, at(17, 8, 59), 0),
            Err(CapReason::Week { limit: 2 })
        );
        assert_eq!(
            admit(&week, &log, 8, at(17, 9, 0), 0),
            Ok(()),
            "exactly 7 days old: out of the window"
        );

        let gap = Caps {
            min_gap_ms: Some(60_000),
            ..Caps::default()
        };
        assert_eq!(
            admit(&gap, &log, 8, at(10, 9, 10) + TimeDelta::seconds(15), 0),
            Err(CapReason::Gap { wait_ms: 45_000 })
        );
        assert_eq!(admit(&gap, &log, 8, at(10, 9, 11), 0), Ok(()));
        assert_eq!(admit(&gap, &[], 8, at(10, 9, 11), 0), Ok(()));

        let zero = Caps {
            per_day: Some(0),
            ..Caps::default()
        };
        assert_eq!(
            admit(&zero, &[], 1, at(10, 9, 0), 0),
            Err(CapReason::Day { limit: 0 })
        );
    }

    #[test]
    fn reasons_read_as_sentences() {
        assert_eq!(
            CapReason::Session { limit: 1 }.to_string(),
            "the project's cap of 1 pop-up per session is reached"
        );
        assert_eq!(CapReason::Week { limit: 3 }.code(), "cap_week");
        assert_eq!(CapReason::Gap { wait_ms: 1 }.code(), "min_gap");
        assert!(
            CapReason::Gap { wait_ms: 1500 }
                .to_string()
                .ends_with("in 2 s")
        );
        assert_eq!(CapReason::Day { limit: 2 }.code(), "cap_day");
        assert_eq!(CapReason::Session { limit: 2 }.code(), "cap_session");
    }

    #[cfg(not(target_arch = "wasm32"))]
    proptest::proptest! {
        /// The merged log is sorted by time, then id, holds each id once (its first entry,
        /// with a local entry's session kept) and is what a stable sort gives: the unstable
        /// sort cannot reorder anything, since no two entries share an id.
        #[test]
        fn merge_keeps_one_entry_per_id_in_time_order(
            local in proptest::collection::vec((0u8..6, 0u32..4, 1u64..4), 0..10),
            server in proptest::collection::vec((0u8..6, 0u32..4), 0..10),
        ) {
            let local: Vec<PopupShown> = local
                .iter()
                .map(|&(id, minute, session)| shown(&id.to_string(), at(1, 0, minute), session))
                .collect();
            let server: Vec<PopupShown> = server
                .iter()
                .map(|&(id, minute)| shown(&id.to_string(), at(1, 0, minute), 0))
                .collect();
            let mut expected: Vec<PopupShown> = Vec::new();
            for entry in local.iter().chain(&server) {
                if expected.iter().all(|p| p.id != entry.id) {
                    expected.push(entry.clone());
                }
            }
            expected.sort_by(|a, b| a.at.cmp(&b.at).then_with(|| a.id.cmp(&b.id)));
            proptest::prop_assert_eq!(merge(&local, &server), expected);
        }
    }

    #[test]
    fn merge_and_prune() {
        let local = [shown("a", at(10, 9, 0), 7), shown("b", at(10, 9, 5), 7)];
        let server = [shown("b", at(10, 9, 5), 0), shown("c", at(9, 9, 0), 0)];
        let merged = merge(&local, &server);
        let ids: Vec<&str> = merged.iter().map(|p| p.id.as_str()).collect();
        assert_eq!(ids, ["c", "a", "b"]);
        assert_eq!(merged[2].session, 7, "the local entry keeps its session");
        assert_eq!(merge(&server, &local)[2].session, 7);
        assert_eq!(merge(&merged, &merged), merged);
        let pruned = prune(&merged, at(16, 9, 0));
        let ids: Vec<&str> = pruned.iter().map(|p| p.id.as_str()).collect();
        assert_eq!(ids, ["a", "b"], "c is exactly 7 days old");
    }

    #[test]
    fn sessions_end_after_30_minutes_without_activity() {
        let first = session_at(None, 1_000);
        assert_eq!(
            first,
            SessionMark {
                id: 1_000,
                last_active_ms: 1_000
            }
        );
        let later = session_at(Some(first), 1_000 + SESSION_TIMEOUT_MS - 1);
        assert_eq!(later.id, 1_000);
        let still = session_at(Some(later), later.last_active_ms + SESSION_TIMEOUT_MS - 1);
        assert_eq!(still.id, 1_000, "activity keeps the session going");
        let new = session_at(Some(still), still.last_active_ms + SESSION_TIMEOUT_MS);
        assert_eq!(new.id as i64, still.last_active_ms + SESSION_TIMEOUT_MS);
        let back = session_at(Some(new), 5);
        assert_eq!((back.id, back.last_active_ms), (new.id, new.last_active_ms));
        assert_eq!(session_at(None, 0).id, 1, "never 0");
        assert_eq!(after(at(1, 0, 0), 60_000), at(1, 0, 1));
    }
}
