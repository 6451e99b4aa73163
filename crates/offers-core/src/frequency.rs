//! Whether to show an offer now: schedule, once-ever, once per entry, once per local day.
//!
//! The widget keeps a [`DisplayHistory`] per project, user and offer; on each chat entry
//! (numbered by the widget) it calls [`decide`] and, when the offer is actually shown,
//! [`record_display`]. The API calls the same [`decide`] to explain "why (not) shown".
//!
//! The rules, in order:
//! 1. the schedule: before `startTime` → [`SkipReason::NotStarted`], at or after
//!    `endTime` → [`SkipReason::Ended`];
//! 2. `showMultipleTimes = false`: once shown, never again ([`SkipReason::AlreadyShown`]);
//! 3. `ON_ENTRY`: at most once per entry ([`SkipReason::ShownThisEntry`]);
//!    `DAILY`: at most once per local calendar day ([`SkipReason::ShownToday`]), local
//!    being UTC plus the user's offset (clamped to ±18 h);
//! 4. otherwise show it after `showDelayMS`.

use std::cmp::Ordering;
use std::fmt;

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use crate::api::FeedOffer;
use crate::model::{OfferSpec, ShowFrequency};
use crate::targeting::within_schedule;
use crate::time::format_timestamp;

/// The largest UTC offset honoured, in minutes (±18 h, as in ISO 8601 / JavaScript).
pub const MAX_UTC_OFFSET_MINUTES: i32 = 18 * 60;

/// What the display rules need from an offer (from an [`OfferSpec`] or a [`FeedOffer`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Schedule {
    /// Shown from this instant …
    pub start_time: DateTime<Utc>,
    /// … until this instant (exclusive), or forever.
    pub end_time: Option<DateTime<Utc>>,
    /// `false`: at most once, ever.
    pub show_multiple_times: bool,
    /// Once per entry or once per local day.
    pub show_frequency: ShowFrequency,
    /// Delay after entry before showing.
    pub show_delay_ms: u64,
}

impl From<&OfferSpec> for Schedule {
    fn from(spec: &OfferSpec) -> Self {
        Self {
            start_time: spec.start_time,
            end_time: spec.end_time,
            show_multiple_times: spec.show_multiple_times,
            show_frequency: spec.show_frequency,
            show_delay_ms: spec.show_delay_ms,
        }
    }
}

impl From<&FeedOffer> for Schedule {
    fn from(offer: &FeedOffer) -> Self {
        Self {
            start_time: offer.start_time,
            end_time: offer.end_time,
            show_multiple_times: offer.show_multiple_times,
            show_frequency: offer.show_frequency,
            show_delay_ms: offer.show_delay_ms,
        }
    }
}

impl From<&Schedule> for Schedule {
    fn from(schedule: &Schedule) -> Self {
        *schedule
    }
}

/// What a user has seen of one offer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct DisplayHistory {
    /// How many times it was shown.
    pub times_shown: u32,
    /// When it was last shown.
    #[serde(with = "crate::time::rfc3339_opt")]
    pub last_shown: Option<DateTime<Utc>>,
    /// The entry sequence number in which it was last shown.
    pub last_entry: Option<u64>,
}

impl DisplayHistory {
    /// `true` when the offer was shown at least once.
    pub fn ever_shown(&self) -> bool {
        self.times_shown > 0 || self.last_shown.is_some() || self.last_entry.is_some()
    }
}

/// Show the offer (after a delay), or skip it and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Show it `delay_ms` milliseconds after the entry.
    Show {
        /// The offer's `showDelayMS`.
        delay_ms: u64,
    },
    /// Do not show it.
    Skip(SkipReason),
}

impl Decision {
    /// `true` for [`Decision::Show`].
    pub fn is_show(&self) -> bool {
        matches!(self, Self::Show { .. })
    }
}

impl fmt::Display for Decision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Show { delay_ms: 0 } => f.write_str("shown on entry"),
            Self::Show { delay_ms } => write!(f, "shown {delay_ms} ms after entry"),
            Self::Skip(reason) => write!(f, "not shown: {reason}"),
        }
    }
}

/// Why an offer is not shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SkipReason {
    /// Its `startTime` is still ahead.
    NotStarted {
        /// The `startTime`.
        starts_at: DateTime<Utc>,
    },
    /// Its `endTime` has passed.
    Ended,
    /// It is shown only once and the user has seen it.
    AlreadyShown,
    /// `ON_ENTRY`, and it was already shown during this entry.
    ShownThisEntry,
    /// `DAILY`, and it was already shown today (user's local day).
    ShownToday,
}

impl SkipReason {
    /// A stable machine-readable code (`not_started`, `ended`, …).
    pub const fn code(&self) -> &'static str {
        match self {
            Self::NotStarted { .. } => "not_started",
            Self::Ended => "ended",
            Self::AlreadyShown => "already_shown",
            Self::ShownThisEntry => "shown_this_entry",
            Self::ShownToday => "shown_today",
        }
    }
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotStarted { starts_at } => write!(
                f,
                "the offer has not started yet; it starts at {}",
                format_timestamp(starts_at)
            ),
            Self::Ended => f.write_str("the offer has ended"),
            Self::AlreadyShown => {
                f.write_str("the user has already seen this offer, which is shown only once")
            }
            Self::ShownThisEntry => {
                f.write_str("the offer was already shown since the user entered the chat")
            }
            Self::ShownToday => {
                f.write_str("the offer was already shown today (in the user's time zone)")
            }
        }
    }
}

/// Decides whether to show an offer on entry number `entry` at `now`, for a user whose
/// local time is UTC + `utc_offset_minutes` (as `-Date.getTimezoneOffset()` gives).
///
/// `schedule` is anything convertible to a [`Schedule`]: `&OfferSpec`, `&FeedOffer` or a
/// `Schedule` itself.
pub fn decide<S: Into<Schedule>>(
    schedule: S,
    history: &DisplayHistory,
    entry: u64,
    now: DateTime<Utc>,
    utc_offset_minutes: i32,
) -> Decision {
    let schedule: Schedule = schedule.into();
    if now < schedule.start_time {
        return Decision::Skip(SkipReason::NotStarted {
            starts_at: schedule.start_time,
        });
    }
    if !within_schedule(schedule.start_time, schedule.end_time, now) {
        return Decision::Skip(SkipReason::Ended);
    }
    if !schedule.show_multiple_times && history.ever_shown() {
        return Decision::Skip(SkipReason::AlreadyShown);
    }
    match schedule.show_frequency {
        ShowFrequency::OnEntry if history.last_entry == Some(entry) => {
            return Decision::Skip(SkipReason::ShownThisEntry);
        }
        ShowFrequency::Daily => {
            // `>=` rather than `==`: if the clock went backwards, stay on the safe side.
            if let Some(last) = history.last_shown
                && local_date(last, utc_offset_minutes) >= local_date(now, utc_offset_minutes)
            {
                return Decision::Skip(SkipReason::ShownToday);
            }
        }
        ShowFrequency::OnEntry => {}
    }
    Decision::Show {
        delay_ms: schedule.show_delay_ms,
    }
}

/// [`decide`] for the widget's [`FeedOffer`].
pub fn decide_feed(
    offer: &FeedOffer,
    history: &DisplayHistory,
    entry: u64,
    now: DateTime<Utc>,
    utc_offset_minutes: i32,
) -> Decision {
    decide(offer, history, entry, now, utc_offset_minutes)
}

/// The history after the offer was shown during entry `entry` at `now`.
#[must_use]
pub fn record_display(history: DisplayHistory, entry: u64, now: DateTime<Utc>) -> DisplayHistory {
    DisplayHistory {
        times_shown: history.times_shown.saturating_add(1),
        last_shown: Some(now),
        last_entry: Some(entry),
    }
}

/// The calendar date at `time` in a zone `utc_offset_minutes` from UTC (clamped to ±18 h).
pub fn local_date(time: DateTime<Utc>, utc_offset_minutes: i32) -> NaiveDate {
    let minutes = utc_offset_minutes.clamp(-MAX_UTC_OFFSET_MINUTES, MAX_UTC_OFFSET_MINUTES);
    let utc = time.naive_utc();
    TimeDelta::try_minutes(i64::from(minutes))
        .and_then(|offset| utc.checked_add_signed(offset))
        .unwrap_or(utc)
        .date()
}

/// The order in which pop-ups queue up: smaller `showDelayMS` first, then the later
/// `startTime` (the newer campaign) first, then the higher id first. A total order, so
/// sorting is deterministic.
pub fn popup_order(a: &FeedOffer, b: &FeedOffer) -> Ordering {
    a.show_delay_ms
        .cmp(&b.show_delay_ms)
        .then_with(|| b.start_time.cmp(&a.start_time))
        .then_with(|| b.id.cmp(&a.id))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, TimeZone};

    fn at(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).unwrap()
    }

    fn schedule(multiple: bool, frequency: ShowFrequency) -> Schedule {
        Schedule {
            start_time: at(2024, 5, 1, 0, 0),
            end_time: Some(at(2024, 6, 1, 0, 0)),
            show_multiple_times: multiple,
            show_frequency: frequency,
            show_delay_ms: 1500,
        }
    }

    #[test]
    fn schedule_comes_first() {
        let s = schedule(true, ShowFrequency::OnEntry);
        let none = DisplayHistory::default();
        assert_eq!(
            decide(s, &none, 1, at(2024, 4, 30, 23, 59), 0),
            Decision::Skip(SkipReason::NotStarted {
                starts_at: at(2024, 5, 1, 0, 0)
            })
        );
        assert_eq!(
            decide(s, &none, 1, at(2024, 5, 1, 0, 0), 0),
            Decision::Show { delay_ms: 1500 }
        );
        assert_eq!(
            decide(s, &none, 1, at(2024, 6, 1, 0, 0), 0),
            Decision::Skip(SkipReason::Ended)
        );
        // Even an offer never shown is skipped once it has ended.
        let open = Schedule {
            end_time: None,
            ..s
        };
        assert!(decide(open, &none, 1, at(2100, 1, 1, 0, 0), 0).is_show());
    }

    #[test]
    fn once_ever() {
        let s = schedule(false, ShowFrequency::OnEntry);
        let now = at(2024, 5, 10, 12, 0);
        let shown = record_display(DisplayHistory::default(), 1, now);
        assert_eq!(shown.times_shown, 1);
        assert_eq!(
            decide(s, &shown, 2, now + Duration::days(3), 0),
            Decision::Skip(SkipReason::AlreadyShown)
        );
        let daily = schedule(false, ShowFrequency::Daily);
        assert_eq!(
            decide(daily, &shown, 9, now + Duration::days(3), 0),
            Decision::Skip(SkipReason::AlreadyShown)
        );
    }

    #[test]
    fn on_entry_once_per_entry() {
        let s = schedule(true, ShowFrequency::OnEntry);
        let now = at(2024, 5, 10, 12, 0);
        let shown = record_display(DisplayHistory::default(), 7, now);
        assert_eq!(
            decide(s, &shown, 7, now + Duration::minutes(1), 0),
            Decision::Skip(SkipReason::ShownThisEntry)
        );
        assert_eq!(
            decide(s, &shown, 8, now + Duration::minutes(1), 0),
            Decision::Show { delay_ms: 1500 }
        );
    }

    #[test]
    fn daily_uses_the_local_calendar_day() {
        let s = schedule(true, ShowFrequency::Daily);
        // UTC+3: 20:30 UTC is 23:30 local on May 10; 21:10 UTC is 00:10 local on May 11.
        let offset = 180;
        let shown = record_display(DisplayHistory::default(), 1, at(2024, 5, 10, 20, 30));
        assert!(decide(s, &shown, 2, at(2024, 5, 10, 21, 10), offset).is_show());
        // The same two instants are the same day in UTC.
        assert_eq!(
            decide(s, &shown, 2, at(2024, 5, 10, 21, 10), 0),
            Decision::Skip(SkipReason::ShownToday)
        );
        // Same local day, later: denied, even in a new entry.
        let early = record_display(DisplayHistory::default(), 1, at(2024, 5, 10, 6, 0));
        assert_eq!(
            decide(s, &early, 5, at(2024, 5, 10, 20, 59), offset),
            Decision::Skip(SkipReason::ShownToday)
        );
        // Negative offsets: UTC-5, 03:00 UTC May 11 is 22:00 May 10 local.
        let evening = record_display(DisplayHistory::default(), 1, at(2024, 5, 10, 14, 0));
        assert_eq!(
            decide(s, &evening, 2, at(2024, 5, 11, 3, 0), -300),
            Decision::Skip(SkipReason::ShownToday)
        );
        assert!(decide(s, &evening, 2, at(2024, 5, 11, 5, 0), -300).is_show());
        // A clock that went backwards does not allow a second display.
        let later = record_display(DisplayHistory::default(), 1, at(2024, 5, 12, 10, 0));
        assert_eq!(
            decide(s, &later, 2, at(2024, 5, 11, 10, 0), 0),
            Decision::Skip(SkipReason::ShownToday)
        );
    }

    #[test]
    fn offsets_are_clamped() {
        let t = at(2024, 5, 10, 12, 0);
        assert_eq!(local_date(t, i32::MAX), local_date(t, 18 * 60));
        assert_eq!(local_date(t, i32::MIN), local_date(t, -18 * 60));
        assert_eq!(
            local_date(DateTime::<Utc>::MAX_UTC, 1080),
            DateTime::<Utc>::MAX_UTC.date_naive()
        );
        assert_eq!(
            local_date(DateTime::<Utc>::MIN_UTC, -1080),
            DateTime::<Utc>::MIN_UTC.date_naive()
        );
    }

    #[test]
    fn record_display_saturates() {
        let h = DisplayHistory {
            times_shown: u32::MAX,
            ..DisplayHistory::default()
        };
        assert_eq!(
            record_display(h, 1, at(2024, 1, 1, 0, 0)).times_shown,
            u32::MAX
        );
    }

    #[test]
    fn history_serde() {
        let h = record_display(DisplayHistory::default(), 3, at(2024, 5, 22, 12, 0));
        let json = serde_json::to_value(h).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"timesShown": 1, "lastShown": "2024-05-22T12:00:00.000Z", "lastEntry": 3})
        );
        assert_eq!(serde_json::from_value::<DisplayHistory>(json).unwrap(), h);
        assert_eq!(
            serde_json::from_str::<DisplayHistory>("{}").unwrap(),
            DisplayHistory::default()
        );
    }

    #[test]
    fn messages() {
        let starts_at = at(2024, 5, 22, 12, 0);
        assert_eq!(
            SkipReason::NotStarted { starts_at }.to_string(),
            "the offer has not started yet; it starts at 2024-05-22T12:00:00.000Z"
        );
        assert_eq!(SkipReason::Ended.to_string(), "the offer has ended");
        assert_eq!(
            SkipReason::AlreadyShown.to_string(),
            "the user has already seen this offer, which is shown only once"
        );
        assert_eq!(
            SkipReason::ShownThisEntry.to_string(),
            "the offer was already shown since the user entered the chat"
        );
        assert_eq!(
            SkipReason::ShownToday.to_string(),
            "the offer was already shown today (in the user's time zone)"
        );
        assert_eq!(SkipReason::ShownToday.code(), "shown_today");
        assert_eq!(Decision::Show { delay_ms: 0 }.to_string(), "shown on entry");
        assert_eq!(
            Decision::Show { delay_ms: 250 }.to_string(),
            "shown 250 ms after entry"
        );
        assert_eq!(
            Decision::Skip(SkipReason::Ended).to_string(),
            "not shown: the offer has ended"
        );
    }
}
