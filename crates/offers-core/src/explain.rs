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

use crate::api::FeedOffer;
use crate::campaign::{
    Assignment, Caps, PopupShown, Trigger, Wait, admit, arbitrate, assign, priority_order,
};
use crate::frequency::{Decision, DisplayHistory, Schedule, SkipReason, decide};
use crate::merge::{MergeVars, MissingVariable};
use crate::model::{Audience, AudienceType, Offer, OfferSpec, ShowFrequency, ViewType};
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
    /// When the offer shows: on entry, or after an event the host reports (SPEC §9).
    Trigger,
    /// Which variant the user sees, or that they are in the holdout ([`assign`]).
    Variant,
    /// The project's caps across offers admit another pop-up ([`admit`]).
    Caps,
    /// Among the pop-ups that qualify at the same moment, which goes first ([`arbitrate`]).
    Priority,
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
            Self::Trigger => "trigger",
            Self::Variant => "variant",
            Self::Caps => "caps",
            Self::Priority => "priority",
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
    /// The reason's code where a campaign rule holds the offer back: `holdout`,
    /// `cap_session`, `cap_day`, `cap_week`, `min_gap`, `lower_priority` or `queued`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
}

impl Check {
    /// A check without a code.
    pub fn new(rule: Rule, ok: bool, detail: String) -> Self {
        Self {
            rule,
            ok,
            detail,
            code: None,
        }
    }
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
        Check::new(Rule::Schedule, live, schedule_detail(spec, now)),
        Check::new(
            Rule::Audience,
            audience_ok,
            audience_detail(&spec.audience, room, user, audience_ok),
        ),
        Check::new(Rule::OptOut, opt_out_ok, opt_out_detail(user, opted_out)),
        Check::new(
            Rule::Frequency,
            frequency.is_show(),
            frequency_detail(spec, history, frequency, utc_offset_minutes),
        ),
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
            Check::new(
                Rule::Segments,
                verdict.is_allowed(),
                segments_detail(spec, &verdict, visitor),
            ),
        );
    }
    if spec.is_personalized() {
        let rendered = personalize(spec, &visitor.vars);
        explanation.checks.push(Check::new(
            Rule::Personalization,
            rendered.is_ok(),
            personalization_detail(spec, &rendered, &visitor.vars),
        ));
    }
    explanation.shown = explanation.checks.iter().all(|c| c.ok);
    explanation
}

/// The campaign rules of one offer for one visitor (SPEC §9): for an offer with a trigger a
/// [`Rule::Trigger`] check ("shown only after the event deposit_failed …"), informational
/// (always ok: the rest of the explanation says what happens once the event comes; an offer
/// without one shows on entry, as before, and gets no such check), and for an offer with
/// variants or a holdout a [`Rule::Variant`] check: which variant `user_key` (the user id, or
/// the browser's anonymous id) gets from [`assign`]; the holdout is not shown. Without a user
/// key the variant is not known (ok, with a note).
pub fn explain_campaign(offer: &Offer, user_key: Option<&str>, explanation: &mut Explanation) {
    let spec = &offer.spec;
    if let Some(trigger) = &spec.trigger {
        explanation.checks.push(Check::new(
            Rule::Trigger,
            true,
            trigger_detail(Some(trigger)),
        ));
    }
    if !spec.variants.is_empty() || spec.holdout_percent > 0 {
        let weights: Vec<u32> = spec.variants.iter().map(|v| v.weight).collect();
        let check = match user_key {
            None => Check::new(
                Rule::Variant,
                true,
                "anonymous visitor: the variant (or holdout) is chosen in the browser".to_owned(),
            ),
            Some(key) => match assign(offer.id, key, &weights, spec.holdout_percent) {
                Assignment::Holdout => Check {
                    code: Some("holdout".to_owned()),
                    ..Check::new(
                        Rule::Variant,
                        false,
                        format!(
                            "not shown: the user is in the holdout ({} % of users see nothing of this offer)",
                            spec.holdout_percent
                        ),
                    )
                },
                Assignment::Original => {
                    Check::new(Rule::Variant, true, "the offer's own content".to_owned())
                }
                Assignment::Variant(index) => Check::new(
                    Rule::Variant,
                    true,
                    format!(
                        "variant {} of {} (weight {} of {})",
                        index + 1,
                        weights.len(),
                        weights[index],
                        weights.iter().sum::<u32>()
                    ),
                ),
            },
        };
        explanation.checks.push(check);
    }
    explanation.shown = explanation.checks.iter().all(|c| c.ok);
}

/// "shown on entry", or "shown only after the event deposit_failed (when props.amount gte 20),
/// 1500 ms later".
pub fn trigger_detail(trigger: Option<&Trigger>) -> String {
    let Some(trigger) = trigger else {
        return "shown on entry (no trigger)".to_owned();
    };
    let mut out = format!("shown only after the event {}", trigger.event);
    if !trigger.conditions.is_empty() {
        let conditions: Vec<String> = trigger
            .conditions
            .iter()
            .map(|c| match c.value.to_json() {
                Some(value) => format!("props.{} {} {value}", c.key, c.op),
                None => format!("props.{} {}", c.key, c.op),
            })
            .collect();
        out.push_str(&format!(" when {}", conditions.join(" and ")));
    }
    if trigger.delay_ms > 0 {
        out.push_str(&format!(", {} ms later", trigger.delay_ms));
    }
    out
}

/// What explain knows of the user's pop-ups across offers: the project's caps (`None`: not
/// set, or not known to the caller), the user's pop-up log (what the widget would hold:
/// every tab's, merged with the server's) and the current session's id.
#[derive(Debug, Clone, Copy)]
pub struct CapsView<'a> {
    /// The project's caps.
    pub caps: Option<&'a Caps>,
    /// The pop-ups the user was shown (the last 7 days suffice).
    pub shown: &'a [PopupShown],
    /// The session now ([`crate::campaign::SessionMark::id`]; 0: a new one).
    pub session: u64,
}

/// Adds the rules across offers to explanations of one visitor's offers (`offers[i]` explained
/// by `explanations[i]`): the pop-ups still shown (every check ok) that qualify on the same
/// occasion (on entry, or the same trigger event) are queued in [`priority_order`]; each gets
/// a [`Rule::Priority`] check when others compete and one of them has a priority ("offer 12
/// has a higher priority": it waits, and shows after it if the caps still admit it), and,
/// when caps are given, a [`Rule::Caps`]
/// check from [`admit`] with the pop-ups queued before it counted as shown: a refused one is
/// not shown ("the project's cap of 1 pop-up per session is reached"). In-feed offers are
/// neither capped nor queued.
pub fn explain_across(
    offers: &[&Offer],
    explanations: &mut [Explanation],
    view: &CapsView<'_>,
    now: DateTime<Utc>,
    utc_offset_minutes: i32,
) {
    let feed: Vec<FeedOffer> = offers.iter().map(|offer| FeedOffer::from(*offer)).collect();
    let occasion = |offer: &FeedOffer| offer.trigger.as_ref().map(|t| t.event.as_str().to_owned());
    let mut occasions: Vec<Option<String>> = Vec::new();
    for (index, offer) in feed.iter().enumerate() {
        let competing =
            offer.view_type == ViewType::Popup && explanations.get(index).is_some_and(|e| e.shown);
        if competing && !occasions.contains(&occasion(offer)) {
            occasions.push(occasion(offer));
        }
    }
    for moment in occasions {
        let mut group: Vec<usize> = (0..feed.len())
            .filter(|&i| {
                feed[i].view_type == ViewType::Popup
                    && explanations.get(i).is_some_and(|e| e.shown)
                    && occasion(&feed[i]) == moment
            })
            .collect();
        group.sort_by(|&a, &b| priority_order(&feed[a], &feed[b]));
        let members: Vec<&FeedOffer> = group.iter().map(|&i| &feed[i]).collect();
        let verdicts = arbitrate(&members);
        // Priority is explained where it decides something: several pop-ups, one with a
        // priority (without, the queue is the pop-up order of before SPEC §9).
        let prioritized = members.len() > 1 && members.iter().any(|o| o.priority != 0);
        let mut log: Vec<PopupShown> = view.shown.to_vec();
        // Session 0 is "not known": judge the queue as a new session's.
        let session = if view.session == 0 {
            u64::MAX
        } else {
            view.session
        };
        for (slot, &index) in group.iter().enumerate() {
            let explanation = &mut explanations[index];
            if prioritized {
                explanation
                    .checks
                    .push(priority_check(verdicts[slot], slot));
            }
            if let Some(caps) = view.caps {
                let check = match admit(caps, &log, session, now, utc_offset_minutes) {
                    Ok(()) => {
                        log.push(PopupShown {
                            id: format!("explain-{}", feed[index].id),
                            at: now,
                            session,
                        });
                        Check::new(Rule::Caps, true, caps_detail(caps, slot))
                    }
                    Err(reason) => Check {
                        code: Some(reason.code().to_owned()),
                        ..Check::new(Rule::Caps, false, format!("not shown: {reason}"))
                    },
                };
                explanation.checks.push(check);
            }
            explanation.shown = explanation.checks.iter().all(|c| c.ok);
        }
    }
}

fn priority_check(verdict: Result<(), Wait>, slot: usize) -> Check {
    match verdict {
        Ok(()) => Check::new(
            Rule::Priority,
            true,
            "shown first: no pop-up qualifying at the same moment has a higher priority".to_owned(),
        ),
        Err(wait) => Check {
            code: Some(wait.code().to_owned()),
            ..Check::new(
                Rule::Priority,
                true,
                format!(
                    "waits: {wait}; shown after it ({} in the queue) if the caps still admit it",
                    ordinal(slot + 1)
                ),
            )
        },
    }
}

fn ordinal(n: usize) -> String {
    let suffix = match (n % 10, n % 100) {
        (1, 11) | (2, 12) | (3, 13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    };
    format!("{n}{suffix}")
}

fn caps_detail(caps: &Caps, slot: usize) -> String {
    let mut set = Vec::new();
    if let Some(n) = caps.per_session {
        set.push(format!("{n} per session"));
    }
    if let Some(n) = caps.per_day {
        set.push(format!("{n} per day"));
    }
    if let Some(n) = caps.per_week {
        set.push(format!("{n} per 7 days"));
    }
    if let Some(ms) = caps.min_gap_ms {
        set.push(format!("{ms} ms between pop-ups"));
    }
    let queued = if slot == 0 {
        String::new()
    } else {
        " (counting the pop-ups queued before it)".to_owned()
    };
    if set.is_empty() {
        "the project sets no caps".to_owned()
    } else {
        format!("within the project's caps{queued}: {}", set.join(", "))
    }
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

    fn campaign_offer(id: i64, priority: i16, trigger: Option<&str>) -> Offer {
        let trigger = trigger.map(|event| {
            Trigger::parse(&serde_json::json!({"event": event,
                "conditions": [{"field": "props.amount", "op": "gte", "value": 20}],
                "delayMS": 1500}))
            .unwrap()
        });
        Offer::created(
            id,
            OfferSpec {
                priority,
                trigger,
                ..spec(Audience::global())
            },
            at(2026, 11, 1, 0, 0),
        )
    }

    fn explained(offer: &Offer) -> Explanation {
        let mut e = explain(
            &offer.spec,
            "r1",
            Some("u1"),
            false,
            &DisplayHistory::default(),
            NOW(),
            0,
        );
        explain_campaign(offer, Some("u1"), &mut e);
        e
    }

    fn check(e: &Explanation, rule: Rule) -> &Check {
        e.checks
            .iter()
            .find(|c| c.rule == rule)
            .unwrap_or_else(|| panic!("no {rule:?} check in {e:?}"))
    }

    #[test]
    fn trigger_and_variant() {
        let on_entry = campaign_offer(1, 0, None);
        let e = explained(&on_entry);
        assert!(e.shown);
        assert!(
            e.checks
                .iter()
                .all(|c| c.rule != Rule::Variant && c.rule != Rule::Trigger),
            "no campaign check for a plain offer"
        );
        assert_eq!(trigger_detail(None), "shown on entry (no trigger)");

        let triggered = campaign_offer(2, 0, Some("deposit_failed"));
        let e = explained(&triggered);
        assert_eq!(
            check(&e, Rule::Trigger).detail,
            "shown only after the event deposit_failed when props.amount gte 20, 1500 ms later"
        );

        let mut varied = campaign_offer(3, 0, None);
        varied.spec.variants = vec![
            crate::campaign::Variant::weighted(1),
            crate::campaign::Variant::weighted(3),
        ];
        let e = explained(&varied);
        let expected = match assign(3, "u1", &[1, 3], 0) {
            Assignment::Variant(0) => "variant 1 of 2 (weight 1 of 4)",
            _ => "variant 2 of 2 (weight 3 of 4)",
        };
        assert_eq!(check(&e, Rule::Variant).detail, expected);

        varied.spec.holdout_percent = 50;
        let held = (0..100)
            .map(|n| {
                let user = format!("user-{n}");
                let mut e = explain(
                    &varied.spec,
                    "r1",
                    Some(&user),
                    false,
                    &DisplayHistory::default(),
                    NOW(),
                    0,
                );
                explain_campaign(&varied, Some(&user), &mut e);
                e
            })
            .find(|e| !e.shown)
            .expect("someone in a 50 % holdout");
        let variant = check(&held, Rule::Variant);
        assert_eq!(variant.code.as_deref(), Some("holdout"));
        assert!(
            variant.detail.contains("holdout (50 %"),
            "{}",
            variant.detail
        );
        let mut anonymous = explained(&varied);
        anonymous.checks.retain(|c| c.rule != Rule::Variant);
        explain_campaign(&varied, None, &mut anonymous);
        assert!(check(&anonymous, Rule::Variant).ok);
    }

    #[test]
    fn priority_and_caps_across_offers() {
        let low = campaign_offer(10, 0, None);
        let high = campaign_offer(12, 5, None);
        let other_occasion = campaign_offer(13, 9, Some("deposit_failed"));
        let mut in_feed = campaign_offer(14, 100, None);
        in_feed.spec.view_type = ViewType::InFeed;
        let offers = [&low, &high, &other_occasion, &in_feed];

        // Without caps: priority only.
        let mut explanations: Vec<Explanation> = offers.iter().map(|o| explained(o)).collect();
        let view = CapsView {
            caps: None,
            shown: &[],
            session: 7,
        };
        explain_across(&offers, &mut explanations, &view, NOW(), 0);
        let waiting = check(&explanations[0], Rule::Priority);
        assert_eq!(waiting.code.as_deref(), Some("lower_priority"));
        assert!(
            waiting
                .detail
                .starts_with("waits: offer 12 has a higher priority"),
            "{}",
            waiting.detail
        );
        assert!(explanations[0].shown, "it waits, it is not skipped");
        assert!(check(&explanations[1], Rule::Priority).ok);
        assert!(
            explanations[2]
                .checks
                .iter()
                .all(|c| c.rule != Rule::Priority),
            "alone on its occasion"
        );
        assert!(
            explanations[3]
                .checks
                .iter()
                .all(|c| c.rule != Rule::Priority && c.rule != Rule::Caps),
            "in-feed offers are not queued"
        );

        // A cap of one pop-up per session: the lower priority is not shown.
        let caps = Caps {
            per_session: Some(1),
            ..Caps::default()
        };
        let mut explanations: Vec<Explanation> = offers.iter().map(|o| explained(o)).collect();
        let view = CapsView {
            caps: Some(&caps),
            shown: &[],
            session: 7,
        };
        explain_across(&offers, &mut explanations, &view, NOW(), 0);
        assert!(explanations[1].shown);
        assert!(!explanations[0].shown);
        let capped = check(&explanations[0], Rule::Caps);
        assert_eq!(capped.code.as_deref(), Some("cap_session"));
        assert_eq!(
            capped.detail,
            "not shown: the project's cap of 1 pop-up per session is reached"
        );
        assert!(
            explanations[2].shown,
            "another occasion, counted on its own"
        );

        // A pop-up already shown this session: nothing more.
        let log = [PopupShown {
            id: "e1".into(),
            at: NOW() - Duration::minutes(5),
            session: 7,
        }];
        let mut explanations: Vec<Explanation> = offers.iter().map(|o| explained(o)).collect();
        let view = CapsView {
            caps: Some(&caps),
            shown: &log,
            session: 7,
        };
        explain_across(&offers, &mut explanations, &view, NOW(), 0);
        assert!(!explanations[1].shown);
        assert!(explanations[3].shown, "in-feed offers are not capped");
        let (a, b) = (campaign_offer(20, 0, None), campaign_offer(21, 0, None));
        let mut plain: Vec<Explanation> = [&a, &b].iter().map(|o| explained(o)).collect();
        explain_across(&[&a, &b], &mut plain, &view, NOW(), 0);
        assert!(
            plain
                .iter()
                .all(|e| e.checks.iter().all(|c| c.rule != Rule::Priority)),
            "no priorities: the queue is explained as before"
        );
        assert_eq!(ordinal(2), "2nd");
        assert_eq!(ordinal(11), "11th");
        assert_eq!(ordinal(23), "23rd");
    }
}
