//! Why an offer is (or is not) shown to a visitor: every rule checked and explained.
//!
//! [`explain`] runs the same functions the feed and the widget run — [`is_live`],
//! [`in_audience`] and [`decide`] — and lists one [`Check`] per rule (schedule, audience,
//! opt-out, frequency), all of them even when an earlier one already fails, so a designer
//! sees every reason at once. [`explain_with`] adds the audience rules of SPEC §7 from
//! [`segments_allow`] and [`personalize`]. No rule is re-implemented here: the checks only
//! describe what those functions answer. [`schedule_status`] is the scheduled / live / ended
//! badge.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::frequency::{Decision, DisplayHistory, Schedule, SkipReason, decide};
use crate::merge::{MergeVars, MissingVariable};
use crate::model::{Audience, AudienceType, OfferSpec, ShowFrequency};
use crate::personalize::{Personalized, personalize};
use crate::segment::{SegmentVerdict, segments_allow};
use crate::targeting::{in_audience, is_live, within_schedule};
use crate::text::ExternalId;

/// Where an offer is in its schedule at some instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum ScheduleStatus {
    /// `now < startTime`.
    Scheduled,
    /// `startTime ≤ now < endTime` (or no end).
    Live,
    /// `endTime ≤ now`.
    Ended,
}

impl ScheduleStatus {
    /// The wire name: `scheduled`, `live` or `ended`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Scheduled => "scheduled",
            Self::Live => "live",
            Self::Ended => "ended",
        }
    }
}

/// The schedule status of an offer running from `start` until `end` (exclusive; `None`:
/// forever) at `now`. `Live` exactly when [`is_live`] says so.
pub fn schedule_status(
    start: DateTime<Utc>,
    end: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> ScheduleStatus {
    if within_schedule(start, end, now) {
        ScheduleStatus::Live
    } else if now < start {
        ScheduleStatus::Scheduled
    } else {
        ScheduleStatus::Ended
    }
}

/// The rule a [`Check`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Rule {
    /// `startTime ≤ now < endTime`.
    Schedule,
    /// The offer's audience (`GLOBAL` / `ROOM` / `USER`) includes this room and user.
    Audience,
    /// The user has not opted out of offers.
    OptOut,
    /// `showMultipleTimes` and `showFrerquency` allow another display.
    Frequency,
    /// `segmentIds` / `excludeSegmentIds` allow this user ([`segments_allow`]).
    Segments,
    /// The translation and merge tags can be rendered for this user ([`personalize`]).
    Personalization,
}

impl Rule {
    /// The wire name: `schedule`, `audience`, `optOut`, `frequency`, `segments` or
    /// `personalization`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Schedule => "schedule",
            Self::Audience => "audience",
            Self::OptOut => "optOut",
            Self::Frequency => "frequency",
            Self::Segments => "segments",
            Self::Personalization => "personalization",
        }
    }
}

/// One rule's verdict, with a sentence for people.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Check {
    /// Which rule.
    pub rule: Rule,
    /// Whether this rule lets the offer be shown.
    pub ok: bool,
    /// Why, in English.
    pub detail: String,
}

/// Whether the offer is shown, and every rule's verdict (in the order schedule, audience,
/// segments, opt-out, frequency, personalization; segments and personalization only from
/// [`explain_with`], for offers that use them).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Explanation {
    /// Shown on a new entry at `now`: every check is ok.
    pub shown: bool,
    /// One check per [`Rule`].
    pub checks: Vec<Check>,
}

/// Explains whether `spec` is shown to `user` (or an anonymous visitor) entering `room` at
/// `now`, given whether the user opted out and what they have seen of this offer
/// (`history`). The user's local day is UTC + `utc_offset_minutes` (for `DAILY`).
///
/// The frequency check assumes a new entry now (as the widget does when a user enters a
/// chat), and is judged on its own: for an offer outside its schedule it still says what
/// the history would allow, so that every reason shows at once.
pub fn explain(
    spec: &OfferSpec,
    room: &str,
    user: Option<&str>,
    opted_out: bool,
    history: &DisplayHistory,
    now: DateTime<Utc>,
    utc_offset_minutes: i32,
) -> Explanation {
    let entry = history.last_entry.map_or(0, |last| last.wrapping_add(1));
    let live = is_live(spec, now);
    let audience_ok = in_audience(&spec.audience, room, user, false);
    // The opt-out rule as `in_audience` applies it: with it, nobody is in any audience.
    let opt_out_ok = in_audience(&Audience::global(), room, user, opted_out);
    // The frequency rules alone: the same schedule, but open at `now`.
    let open = Schedule {
        start_time: spec.start_time.min(now),
        end_time: None,
        ..Schedule::from(spec)
    };
    let frequency = decide(open, history, entry, now, utc_offset_minutes);

    let checks = vec![
        Check {
            rule: Rule::Schedule,
            ok: live,
            detail: schedule_detail(spec, now),
        },
        Check {
            rule: Rule::Audience,
            ok: audience_ok,
            detail: audience_detail(&spec.audience, room, user, audience_ok),
        },
        Check {
            rule: Rule::OptOut,
            ok: opt_out_ok,
            detail: opt_out_detail(user, opted_out),
        },
        Check {
            rule: Rule::Frequency,
            ok: frequency.is_show(),
            detail: frequency_detail(spec, history, frequency, utc_offset_minutes),
        },
    ];
    // The verdict itself comes from the real rules, exactly as the feed and widget apply them.
    let shown = live
        && in_audience(&spec.audience, room, user, opted_out)
        && decide(spec, history, entry, now, utc_offset_minutes).is_show();
    debug_assert_eq!(shown, checks.iter().all(|c| c.ok));
    Explanation { shown, checks }
}

/// A visitor as [`explain_with`] judges them: where and who, and what the server knows of
/// them for the audience rules of SPEC §7.
pub struct ExplainVisitor<'a> {
    /// The room entered.
    pub room: &'a str,
    /// The user, or `None` for an anonymous visitor.
    pub user: Option<&'a str>,
    /// Whether the user opted out of offers.
    pub opted_out: bool,
    /// What the user has seen of this offer.
    pub history: &'a DisplayHistory,
    /// Whether the user is in segment `id` (as the feed index answers it: [`in_segment`]
    /// on the stored profile, or the list's membership; an unknown segment: `false`).
    ///
    /// [`in_segment`]: crate::segment::in_segment
    pub member: &'a dyn Fn(i64) -> bool,
    /// Segment `id`'s name, for the sentences (`None`: deleted or unknown).
    pub segment_name: &'a dyn Fn(i64) -> Option<String>,
    /// The user's merge variables and language ([`MergeVars::new`]).
    pub vars: MergeVars<'a>,
}

impl fmt::Debug for ExplainVisitor<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExplainVisitor")
            .field("room", &self.room)
            .field("user", &self.user)
            .field("opted_out", &self.opted_out)
            .field("history", &self.history)
            .finish_non_exhaustive()
    }
}

/// [`explain`] with the audience rules of SPEC §7: for an offer with segments a
/// [`Rule::Segments`] check (after the audience) from [`segments_allow`], and for a
/// personalized offer ([`OfferSpec::is_personalized`]) a [`Rule::Personalization`] check
/// (last) from [`personalize`] — "not shown: user not in segment 'German VIPs'", "excluded
/// by segment 'Churned'", "merge tag {{firstName}} has no value for this user and no
/// fallback". The verdict is the feed's: every check ok.
pub fn explain_with(
    spec: &OfferSpec,
    visitor: &ExplainVisitor<'_>,
    now: DateTime<Utc>,
    utc_offset_minutes: i32,
) -> Explanation {
    let mut explanation = explain(
        spec,
        visitor.room,
        visitor.user,
        visitor.opted_out,
        visitor.history,
        now,
        utc_offset_minutes,
    );
    if spec.uses_segments() {
        let verdict = segments_allow(&spec.segment_ids, &spec.exclude_segment_ids, visitor.member);
        let at = explanation
            .checks
            .iter()
            .position(|c| c.rule == Rule::Audience)
            .map_or(explanation.checks.len(), |i| i + 1);
        explanation.checks.insert(
            at,
            Check {
                rule: Rule::Segments,
                ok: verdict.is_allowed(),
                detail: segments_detail(spec, &verdict, visitor),
            },
        );
    }
    if spec.is_personalized() {
        let rendered = personalize(spec, &visitor.vars);
        explanation.checks.push(Check {
            rule: Rule::Personalization,
            ok: rendered.is_ok(),
            detail: personalization_detail(spec, &rendered, &visitor.vars),
        });
    }
    explanation.shown = explanation.checks.iter().all(|c| c.ok);
    explanation
}

/// `'German VIPs'`, or `#12 (deleted)` for a segment without a name.
fn segment_label(id: i64, names: &dyn Fn(i64) -> Option<String>) -> String {
    match names(id) {
        Some(name) => format!("'{name}'"),
        None => format!("#{id} (deleted)"),
    }
}

/// `'A'`, `'A' or 'B'`, `'A', 'B' or 'C'`.
fn segment_labels(ids: &[i64], names: &dyn Fn(i64) -> Option<String>, join: &str) -> String {
    let labels: Vec<String> = ids.iter().map(|&id| segment_label(id, names)).collect();
    match labels.split_last() {
        None => String::new(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} {join} {last}", rest.join(", ")),
    }
}

fn segments_detail(
    spec: &OfferSpec,
    verdict: &SegmentVerdict,
    visitor: &ExplainVisitor<'_>,
) -> String {
    let names = visitor.segment_name;
    let anonymous = if visitor.user.is_none() {
        " (an anonymous visitor is in no segment)"
    } else {
        ""
    };
    match verdict {
        SegmentVerdict::ExcludedBy(id) => {
            format!("excluded by segment {}", segment_label(*id, names))
        }
        SegmentVerdict::NotInAny(ids) if ids.len() == 1 => format!(
            "not shown: user not in segment {}{anonymous}",
            segment_labels(ids, names, "or")
        ),
        SegmentVerdict::NotInAny(ids) => format!(
            "not shown: user in none of the segments {}{anonymous}",
            segment_labels(ids, names, "or")
        ),
        SegmentVerdict::Allowed => {
            let included = if spec.segment_ids.is_empty() {
                "no segment required".to_owned()
            } else {
                format!(
                    "user in segment {}",
                    segment_labels(&spec.segment_ids, names, "or")
                )
            };
            if spec.exclude_segment_ids.is_empty() {
                included
            } else {
                format!(
                    "{included}; not in the excluded {}",
                    segment_labels(&spec.exclude_segment_ids, names, "or")
                )
            }
        }
    }
}

fn personalization_detail(
    spec: &OfferSpec,
    rendered: &Result<Personalized, MissingVariable>,
    vars: &MergeVars<'_>,
) -> String {
    let shown = match rendered {
        Err(missing) => return missing.to_string(),
        Ok(shown) => shown,
    };
    let language = match (&shown.language, vars.language) {
        (Some(used), _) => format!("the '{used}' translation"),
        (None, Some(wanted)) if !spec.translations.is_empty() => {
            format!("the offer's own texts (no translation for '{wanted}')")
        }
        (None, None) if !spec.translations.is_empty() => {
            "the offer's own texts (the user's language is unknown)".to_owned()
        }
        (None, _) => "the offer's own texts".to_owned(),
    };
    if spec.has_merge_tags() {
        format!("{language}, merge tags filled in for this user")
    } else {
        language
    }
}

/// `2026-11-21 10:02 UTC`.
pub fn human_time(time: &DateTime<Utc>) -> String {
    time.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// `UTC+03:00`, `UTC-05:30`, `UTC`.
fn offset_label(minutes: i32) -> String {
    let minutes = minutes.clamp(
        -crate::frequency::MAX_UTC_OFFSET_MINUTES,
        crate::frequency::MAX_UTC_OFFSET_MINUTES,
    );
    if minutes == 0 {
        return "UTC".to_owned();
    }
    let sign = if minutes < 0 { '-' } else { '+' };
    let abs = minutes.unsigned_abs();
    format!("UTC{sign}{:02}:{:02}", abs / 60, abs % 60)
}

fn schedule_detail(spec: &OfferSpec, now: DateTime<Utc>) -> String {
    let start = human_time(&spec.start_time);
    let until = match &spec.end_time {
        Some(end) => format!("until {}", human_time(end)),
        None => "with no end".to_owned(),
    };
    match schedule_status(spec.start_time, spec.end_time, now) {
        ScheduleStatus::Live => format!("live: from {start} {until}"),
        ScheduleStatus::Scheduled => format!("scheduled: starts {start}, {until}"),
        ScheduleStatus::Ended => format!(
            "ended {}",
            spec.end_time
                .as_ref()
                .map_or_else(|| start.clone(), human_time)
        ),
    }
}

/// `a, b, c` or `a, b, c, d, e and 7 more`.
fn id_list(ids: &[ExternalId]) -> String {
    const SHOWN: usize = 5;
    let mut out = ids
        .iter()
        .take(SHOWN)
        .map(|id| format!("`{}`", id.as_str()))
        .collect::<Vec<_>>()
        .join(", ");
    if ids.len() > SHOWN {
        out.push_str(&format!(" and {} more", ids.len() - SHOWN));
    }
    out
}

fn plural(n: usize, one: &str, many: &str) -> String {
    if n == 1 {
        format!("{n} {one}")
    } else {
        format!("{n} {many}")
    }
}

fn audience_detail(audience: &Audience, room: &str, user: Option<&str>, ok: bool) -> String {
    let room = room.trim();
    let user = user.map(str::trim).filter(|u| !u.is_empty());
    match (audience.kind, ok) {
        (AudienceType::Global, _) => "GLOBAL: every user in every room".to_owned(),
        (AudienceType::Room, true) => format!(
            "ROOM: room `{room}` is one of the offer's {}",
            plural(audience.rooms.len(), "room", "rooms")
        ),
        (AudienceType::Room, false) => format!(
            "ROOM: room `{room}` is not one of the offer's rooms ({})",
            id_list(&audience.rooms)
        ),
        (AudienceType::User, true) => format!(
            "USER: user `{}` is one of the offer's {}",
            user.unwrap_or_default(),
            plural(audience.users.len(), "user", "users")
        ),
        (AudienceType::User, false) => match user {
            Some(user) => format!(
                "USER: user `{user}` is not one of the offer's {}",
                plural(audience.users.len(), "user", "users")
            ),
            None => "USER: a personal offer is never shown to an anonymous visitor (no user given)"
                .to_owned(),
        },
    }
}

fn opt_out_detail(user: Option<&str>, opted_out: bool) -> String {
    match (user, opted_out) {
        (_, true) => "the user opted out of offers: no offer is shown to them".to_owned(),
        (Some(_), false) => "the user has not opted out of offers".to_owned(),
        (None, false) => "anonymous visitor: no opt-out applies".to_owned(),
    }
}

fn frequency_detail(
    spec: &OfferSpec,
    history: &DisplayHistory,
    decision: Decision,
    utc_offset_minutes: i32,
) -> String {
    let seen = if history.ever_shown() {
        let times = plural(history.times_shown.max(1) as usize, "time", "times");
        match &history.last_shown {
            Some(last) => format!("shown {times}, last {}", human_time(last)),
            None => format!("shown {times}"),
        }
    } else {
        "not shown to this user yet".to_owned()
    };
    let rule = match (spec.show_multiple_times, spec.show_frequency) {
        (false, _) => "shown only once (showMultipleTimes is false)",
        (true, ShowFrequency::OnEntry) => "ON_ENTRY: once per chat entry",
        (true, ShowFrequency::Daily) => "DAILY: once per day",
    };
    match decision {
        Decision::Show { delay_ms } => {
            let when = if delay_ms == 0 {
                "shown on entry".to_owned()
            } else {
                format!("shown {delay_ms} ms after entry (not if the user leaves first)")
            };
            let why = match (history.ever_shown(), spec.show_frequency) {
                (false, _) => rule,
                (true, ShowFrequency::OnEntry) => {
                    "ON_ENTRY shows it again on each new entry (a new entry is assumed)"
                }
                (true, ShowFrequency::Daily) => "DAILY allows one display today: none yet today",
            };
            format!("{seen}; {why}; {when}")
        }
        Decision::Skip(SkipReason::ShownToday) => {
            let zone = match utc_offset_minutes {
                0 => String::new(),
                minutes => format!(" (days in {})", offset_label(minutes)),
            };
            format!("{seen}; DAILY allows the next display tomorrow{zone}")
        }
        Decision::Skip(SkipReason::AlreadyShown) => {
            format!("{seen}; the offer is shown only once (showMultipleTimes is false)")
        }
        Decision::Skip(reason) => format!("{seen}; {reason}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frequency::record_display;
    use chrono::{Duration, TimeZone};

    fn at(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).unwrap()
    }

    fn ids(list: &[&str]) -> Vec<ExternalId> {
        list.iter().map(|s| ExternalId::parse(s).unwrap()).collect()
    }

    fn spec(audience: Audience) -> OfferSpec {
        OfferSpec {
            start_time: at(2026, 11, 1, 0, 0),
            end_time: Some(at(2026, 12, 1, 0, 0)),
            show_frequency: ShowFrequency::Daily,
            audience,
            ..OfferSpec::example()
        }
    }

    fn failing(e: &Explanation) -> Vec<Rule> {
        e.checks.iter().filter(|c| !c.ok).map(|c| c.rule).collect()
    }

    const NOW: fn() -> DateTime<Utc> = || at(2026, 11, 21, 12, 0);

    #[test]
    fn statuses() {
        let (start, end) = (at(2026, 11, 1, 0, 0), Some(at(2026, 12, 1, 0, 0)));
        assert_eq!(
            schedule_status(start, end, start - Duration::milliseconds(1)),
            ScheduleStatus::Scheduled
        );
        assert_eq!(schedule_status(start, end, start), ScheduleStatus::Live);
        assert_eq!(
            schedule_status(start, end, at(2026, 12, 1, 0, 0)),
            ScheduleStatus::Ended
        );
        assert_eq!(
            schedule_status(start, None, at(2100, 1, 1, 0, 0)),
            ScheduleStatus::Live
        );
        assert_eq!(
            serde_json::to_value(ScheduleStatus::Scheduled).unwrap(),
            "scheduled"
        );
        assert_eq!(ScheduleStatus::Ended.as_str(), "ended");
    }

    #[test]
    fn everything_ok() {
        let e = explain(
            &spec(Audience::global()),
            "r1",
            Some("u1"),
            false,
            &DisplayHistory::default(),
            NOW(),
            0,
        );
        assert!(e.shown);
        let rules: Vec<Rule> = e.checks.iter().map(|c| c.rule).collect();
        assert_eq!(
            rules,
            [
                Rule::Schedule,
                Rule::Audience,
                Rule::OptOut,
                Rule::Frequency
            ]
        );
        assert!(e.checks.iter().all(|c| c.ok && !c.detail.is_empty()));
        assert_eq!(
            e.checks[0].detail,
            "live: from 2026-11-01 00:00 UTC until 2026-12-01 00:00 UTC"
        );
        assert_eq!(e.checks[1].detail, "GLOBAL: every user in every room");
        assert_eq!(
            e.checks[3].detail,
            "not shown to this user yet; DAILY: once per day; shown on entry"
        );
    }

    #[test]
    fn each_rule_fails_alone() {
        let none = DisplayHistory::default();
        // Schedule: not started, and ended.
        let e = explain(
            &spec(Audience::global()),
            "r1",
            None,
            false,
            &none,
            at(2026, 10, 1, 0, 0),
            0,
        );
        assert_eq!(failing(&e), [Rule::Schedule]);
        assert!(!e.shown);
        assert_eq!(
            e.checks[0].detail,
            "scheduled: starts 2026-11-01 00:00 UTC, until 2026-12-01 00:00 UTC"
        );
        let e = explain(
            &spec(Audience::global()),
            "r1",
            None,
            false,
            &none,
            at(2026, 12, 2, 0, 0),
            0,
        );
        assert_eq!(failing(&e), [Rule::Schedule]);
        assert_eq!(e.checks[0].detail, "ended 2026-12-01 00:00 UTC");
        // Audience: another room.
        let rooms = spec(Audience::rooms(ids(&["r1", "r2"])));
        let e = explain(&rooms, "r3", Some("u1"), false, &none, NOW(), 0);
        assert_eq!(failing(&e), [Rule::Audience]);
        assert_eq!(
            e.checks[1].detail,
            "ROOM: room `r3` is not one of the offer's rooms (`r1`, `r2`)"
        );
        let e = explain(&rooms, "r2", None, false, &none, NOW(), 0);
        assert!(e.shown);
        assert_eq!(
            e.checks[1].detail,
            "ROOM: room `r2` is one of the offer's 2 rooms"
        );
        // Audience: personal offers and anonymous visitors.
        let users = spec(Audience::users(ids(&["u1"])));
        let e = explain(&users, "r1", None, false, &none, NOW(), 0);
        assert_eq!(failing(&e), [Rule::Audience]);
        assert!(e.checks[1].detail.contains("anonymous"));
        let e = explain(&users, "r1", Some("u2"), false, &none, NOW(), 0);
        assert_eq!(
            e.checks[1].detail,
            "USER: user `u2` is not one of the offer's 1 user"
        );
        // Opt-out alone.
        let e = explain(
            &spec(Audience::global()),
            "r1",
            Some("u1"),
            true,
            &none,
            NOW(),
            0,
        );
        assert_eq!(failing(&e), [Rule::OptOut]);
        assert!(!e.shown);
        // Frequency alone: DAILY, shown earlier today.
        let today = record_display(none, 3, at(2026, 11, 21, 10, 2));
        let e = explain(
            &spec(Audience::global()),
            "r1",
            Some("u1"),
            false,
            &today,
            NOW(),
            0,
        );
        assert_eq!(failing(&e), [Rule::Frequency]);
        assert_eq!(
            e.checks[3].detail,
            "shown 1 time, last 2026-11-21 10:02 UTC; DAILY allows the next display tomorrow"
        );
    }

    #[test]
    fn every_rule_fails_together_and_each_is_listed() {
        let mut once = spec(Audience::users(ids(&["u1"])));
        once.show_multiple_times = false;
        let seen = record_display(DisplayHistory::default(), 1, at(2026, 11, 2, 8, 0));
        let e = explain(
            &once,
            "r1",
            Some("u9"),
            true,
            &seen,
            at(2026, 12, 5, 0, 0),
            0,
        );
        assert!(!e.shown);
        assert_eq!(
            failing(&e),
            [
                Rule::Schedule,
                Rule::Audience,
                Rule::OptOut,
                Rule::Frequency
            ]
        );
        assert_eq!(
            e.checks[3].detail,
            "shown 1 time, last 2026-11-02 08:00 UTC; the offer is shown only once \
             (showMultipleTimes is false)"
        );
        // The frequency check judges the history even before the start.
        let e = explain(
            &once,
            "r1",
            Some("u1"),
            false,
            &seen,
            at(2026, 10, 1, 0, 0),
            0,
        );
        assert_eq!(failing(&e), [Rule::Schedule, Rule::Frequency]);
    }

    #[test]
    fn daily_uses_the_users_day_and_on_entry_assumes_a_new_entry() {
        let daily = spec(Audience::global());
        // 22:30 UTC on the 20th is 01:30 on the 21st at UTC+3: the same local day as now.
        let late = record_display(DisplayHistory::default(), 1, at(2026, 11, 20, 22, 30));
        let e = explain(&daily, "r", Some("u"), false, &late, NOW(), 180);
        assert_eq!(failing(&e), [Rule::Frequency]);
        assert!(
            e.checks[3].detail.ends_with("tomorrow (days in UTC+03:00)"),
            "{}",
            e.checks[3].detail
        );
        let e = explain(&daily, "r", Some("u"), false, &late, NOW(), 0);
        assert!(e.shown, "a new UTC day");
        assert_eq!(
            e.checks[3].detail,
            "shown 1 time, last 2026-11-20 22:30 UTC; DAILY allows one display today: none \
             yet today; shown on entry"
        );

        let mut on_entry = spec(Audience::global());
        on_entry.show_frequency = ShowFrequency::OnEntry;
        on_entry.show_delay_ms = 1500;
        let now = NOW();
        let just_now = record_display(DisplayHistory::default(), 7, now);
        let e = explain(&on_entry, "r", Some("u"), false, &just_now, now, 0);
        assert!(e.shown);
        assert_eq!(
            e.checks[3].detail,
            "shown 1 time, last 2026-11-21 12:00 UTC; ON_ENTRY shows it again on each new \
             entry (a new entry is assumed); shown 1500 ms after entry (not if the user \
             leaves first)"
        );
        // A server-side history without entry numbers is a new entry too.
        let server = DisplayHistory {
            times_shown: 4,
            last_shown: Some(now),
            last_entry: None,
        };
        assert!(explain(&on_entry, "r", Some("u"), false, &server, now, 0).shown);
    }

    #[test]
    fn segments_and_personalization_are_explained() {
        let none = DisplayHistory::default();
        let names = |id: i64| match id {
            1 => Some("German VIPs".to_owned()),
            3 => Some("Churned".to_owned()),
            _ => None,
        };
        let mut offer = spec(Audience::global());
        offer.segment_ids = vec![1, 2];
        offer.exclude_segment_ids = vec![3];
        fn visitor_of<'a>(
            history: &'a DisplayHistory,
            names: &'a dyn Fn(i64) -> Option<String>,
            member: &'a dyn Fn(i64) -> bool,
        ) -> ExplainVisitor<'a> {
            ExplainVisitor {
                room: "r1",
                user: Some("u1"),
                opted_out: false,
                history,
                member,
                segment_name: names,
                vars: MergeVars::default(),
            }
        }
        let never = |_: i64| false;
        let first = |id: i64| id == 1;
        let first_and_churned = |id: i64| id == 1 || id == 3;
        let e = explain_with(&offer, &visitor_of(&none, &names, &never), NOW(), 0);
        assert!(!e.shown);
        assert_eq!(failing(&e), [Rule::Segments]);
        assert_eq!(e.checks[2].rule, Rule::Segments, "right after the audience");
        assert_eq!(
            e.checks[2].detail,
            "not shown: user in none of the segments 'German VIPs' or #2 (deleted)"
        );
        let e = explain_with(
            &offer,
            &visitor_of(&none, &names, &first_and_churned),
            NOW(),
            0,
        );
        assert_eq!(e.checks[2].detail, "excluded by segment 'Churned'");
        let e = explain_with(&offer, &visitor_of(&none, &names, &first), NOW(), 0);
        assert!(e.shown);
        assert_eq!(
            e.checks[2].detail,
            "user in segment 'German VIPs' or #2 (deleted); not in the excluded 'Churned'"
        );
        offer.segment_ids = vec![1];
        let e = explain_with(&offer, &visitor_of(&none, &names, &never), NOW(), 0);
        assert_eq!(
            e.checks[2].detail,
            "not shown: user not in segment 'German VIPs'"
        );

        // Personalization: a merge tag without value or fallback.
        let mut personal = spec(Audience::global());
        personal.template = crate::model::Template::Text;
        personal.title = Some(crate::model::Title::parse("Hi {{firstName}}").unwrap());
        personal.text = Some(crate::model::BodyText::parse("x").unwrap());
        personal.link_text = Some(crate::model::ButtonText::parse("Go").unwrap());
        let e = explain_with(&personal, &visitor_of(&none, &names, &never), NOW(), 0);
        assert_eq!(failing(&e), [Rule::Personalization]);
        assert_eq!(
            e.checks.last().unwrap().detail,
            "merge tag {{firstName}} has no value for this user and no fallback"
        );
        let profile = crate::profile::Profile::parse(
            &serde_json::json!({"attributes": {"firstName": "Ana"}}),
        )
        .unwrap();
        let known = ExplainVisitor {
            vars: MergeVars::new(Some("u1"), Some(&profile), None),
            ..visitor_of(&none, &names, &never)
        };
        let e = explain_with(&personal, &known, NOW(), 0);
        assert!(e.shown);
        assert_eq!(
            e.checks.last().unwrap().detail,
            "the offer's own texts, merge tags filled in for this user"
        );
        // An offer without segments or personalization: the four classic checks.
        let plain = explain_with(
            &spec(Audience::global()),
            &visitor_of(&none, &names, &never),
            NOW(),
            0,
        );
        assert_eq!(plain.checks.len(), 4);
        assert!(plain.shown);
    }

    #[test]
    fn wire_names() {
        let e = explain(
            &spec(Audience::global()),
            "r",
            None,
            false,
            &DisplayHistory::default(),
            NOW(),
            0,
        );
        let json = serde_json::to_value(&e).unwrap();
        let rules: Vec<&str> = json["checks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["rule"].as_str().unwrap())
            .collect();
        assert_eq!(rules, ["schedule", "audience", "optOut", "frequency"]);
        assert_eq!(Rule::OptOut.as_str(), "optOut");
        assert_eq!(offset_label(-330), "UTC-05:30");
        assert_eq!(offset_label(i32::MAX), "UTC+18:00");
    }
}
