//! Property tests of campaigns (SPEC §9): caps never exceed any limit in any interleaving of
//! tabs sharing the log and the session mark, over days and weeks; the server's copy of the
//! log merges without double counting; variant assignment is deterministic and distributed by
//! weight, the holdout share respected; triggers compare like segments.
//! Native only: proptest has no random source on wasm32-unknown-unknown.
#![cfg(not(target_arch = "wasm32"))]

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, TimeZone, Utc};
use offers_core::campaign::caps::LOG_WINDOW_MS;
use offers_core::campaign::{
    Assignment, Caps, PopupShown, SessionMark, Trigger, admit, assign, merge, prune, session_at,
};
use offers_core::frequency::local_date;
use offers_core::{Profile, SegmentDef, SegmentSpec, rules_match};
use proptest::prelude::*;
use serde_json::{Value, json};

fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 3, 30, 22, 0, 0).unwrap()
}

fn arb_caps() -> impl Strategy<Value = Caps> {
    (
        prop::option::of(0u32..4),
        prop::option::of(0u32..6),
        prop::option::of(0u32..12),
        prop::option::of(0u64..(3 * 60 * 60 * 1000)),
    )
        .prop_map(|(per_session, per_day, per_week, min_gap_ms)| Caps {
            per_session,
            per_day,
            per_week,
            min_gap_ms,
        })
}

/// What happens next in one tab: how long after the previous step (from seconds to days),
/// and whether the tab tries to show a pop-up or only sees activity (an entry, a click).
#[derive(Debug, Clone)]
struct Step {
    tab: usize,
    after_ms: i64,
    attempt: bool,
    /// Whether the tab prunes the shared log before writing.
    prune: bool,
    /// Whether this attempt's log is merged with the server's copy first.
    with_server: bool,
}

fn arb_step(tabs: usize) -> impl Strategy<Value = Step> {
    let after = prop_oneof![
        4 => 0i64..120_000,
        3 => 0i64..(45 * 60 * 1000),
        2 => 0i64..(26 * 60 * 60 * 1000),
        1 => 0i64..(4 * 24 * 60 * 60 * 1000),
    ];
    (
        0..tabs,
        after,
        prop::bool::weighted(0.7),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(tab, after_ms, attempt, prune, with_server)| Step {
            tab,
            after_ms,
            attempt,
            prune,
            with_server,
        })
}

/// Runs the steps over tabs sharing the log and the session mark (localStorage); the server
/// keeps a copy of every pop-up (without its session). Every pop-up shown, in order.
fn simulate(caps: &Caps, offset: i32, steps: &[Step]) -> Vec<PopupShown> {
    let mut now = start();
    let mut log: Vec<PopupShown> = Vec::new();
    let mut server: Vec<PopupShown> = Vec::new();
    let mut mark: Option<SessionMark> = None;
    let mut all = Vec::new();
    for (n, step) in steps.iter().enumerate() {
        now += Duration::milliseconds(step.after_ms);
        let session = session_at(mark, now.timestamp_millis());
        mark = Some(session);
        if !step.attempt {
            continue;
        }
        let seen = if step.with_server {
            merge(&log, &server)
        } else {
            log.clone()
        };
        if admit(caps, &seen, session.id, now, offset).is_ok() {
            let entry = PopupShown {
                id: format!("tab{}-{n}", step.tab),
                at: now,
                session: session.id,
            };
            log = if step.prune { prune(&seen, now) } else { seen };
            log.push(entry.clone());
            server.push(PopupShown {
                session: 0,
                ..entry.clone()
            });
            all.push(entry);
        }
    }
    all
}

fn check_limits(caps: &Caps, offset: i32, shown: &[PopupShown]) -> Result<(), TestCaseError> {
    if let Some(limit) = caps.per_session {
        let mut per: BTreeMap<u64, u32> = BTreeMap::new();
        for p in shown {
            *per.entry(p.session).or_default() += 1;
        }
        for (session, count) in per {
            prop_assert!(count <= limit, "session {session}: {count} > {limit}");
        }
    }
    if let Some(limit) = caps.per_day {
        let mut per: BTreeMap<chrono::NaiveDate, u32> = BTreeMap::new();
        for p in shown {
            *per.entry(local_date(p.at, offset)).or_default() += 1;
        }
        for (day, count) in per {
            prop_assert!(count <= limit, "day {day}: {count} > {limit}");
        }
    }
    if let Some(limit) = caps.per_week {
        for last in shown {
            let window = shown
                .iter()
                .filter(|p| {
                    let age = (last.at - p.at).num_milliseconds();
                    (0..LOG_WINDOW_MS).contains(&age)
                })
                .count();
            prop_assert!(
                window as u32 <= limit,
                "7 days to {}: {window} > {limit}",
                last.at
            );
        }
    }
    if let Some(gap) = caps.min_gap_ms {
        for pair in shown.windows(2) {
            let between = (pair[1].at - pair[0].at).num_milliseconds();
            prop_assert!(between >= gap as i64, "{between} ms < {gap} ms");
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn caps_hold_for_any_interleaving_of_tabs(
        caps in arb_caps(),
        offset in -720i32..=840,
        tabs in 2usize..=3,
        seed in prop::collection::vec(arb_step(3), 1..120),
    ) {
        let steps: Vec<Step> = seed
            .into_iter()
            .map(|s| Step { tab: s.tab % tabs, ..s })
            .collect();
        let shown = simulate(&caps, offset, &steps);
        check_limits(&caps, offset, &shown)?;
        if caps.is_empty() {
            let attempts = steps.iter().filter(|s| s.attempt).count();
            prop_assert_eq!(shown.len(), attempts, "no cap: every attempt shows");
        }
    }

    #[test]
    fn merge_is_a_union_by_id(
        a in prop::collection::vec((0u8..20, 0i64..1_000_000, 0u64..3), 0..20),
        b in prop::collection::vec((0u8..20, 0i64..1_000_000, 0u64..3), 0..20),
    ) {
        let log = |items: &[(u8, i64, u64)]| -> Vec<PopupShown> {
            let mut out: Vec<PopupShown> = Vec::new();
            for (id, ms, session) in items {
                let id = format!("e{id}");
                if out.iter().all(|p| p.id != id) {
                    out.push(PopupShown { id, at: start() + Duration::milliseconds(*ms), session: *session });
                }
            }
            out
        };
        let (a, b) = (log(&a), log(&b));
        let merged = merge(&a, &b);
        let mut ids: Vec<&str> = merged.iter().map(|p| p.id.as_str()).collect();
        ids.sort_unstable();
        let before = ids.len();
        ids.dedup();
        prop_assert_eq!(before, ids.len(), "no id twice");
        for p in a.iter().chain(&b) {
            prop_assert!(ids.contains(&p.id.as_str()));
        }
        prop_assert_eq!(merge(&merged, &b), merged.clone(), "idempotent");
        let reversed = merge(&b, &a);
        let mut other: Vec<&str> = reversed.iter().map(|p| p.id.as_str()).collect();
        other.sort_unstable();
        prop_assert_eq!(ids, other, "the same ids either way");
        let now = start() + Duration::milliseconds(LOG_WINDOW_MS + 500_000);
        let pruned = prune(&merged, now);
        prop_assert!(pruned.iter().all(|p| (now - p.at).num_milliseconds() < LOG_WINDOW_MS));
        prop_assert_eq!(
            pruned.len(),
            merged.iter().filter(|p| (now - p.at).num_milliseconds() < LOG_WINDOW_MS).count()
        );
    }

    #[test]
    fn sessions_are_shared_and_end_after_30_idle_minutes(
        gaps in prop::collection::vec(0i64..(40 * 60 * 1000), 1..50),
    ) {
        let mut now = 1_700_000_000_000i64;
        let mut mark = session_at(None, now);
        for gap in gaps {
            now += gap;
            let next = session_at(Some(mark), now);
            if gap < 30 * 60 * 1000 {
                prop_assert_eq!(next.id, mark.id);
            } else {
                prop_assert_ne!(next.id, mark.id);
                prop_assert_eq!(next.id, now as u64);
            }
            prop_assert_eq!(next.last_active_ms, now);
            mark = next;
        }
    }

    #[test]
    fn assignment_is_deterministic_and_in_range(
        offer in any::<i64>(),
        user in ".{0,40}",
        weights in prop::collection::vec(0u32..=100, 0..6),
        holdout in 0u8..=50,
    ) {
        let first = assign(offer, &user, &weights, holdout);
        prop_assert_eq!(first, assign(offer, &user, &weights, holdout));
        match first {
            Assignment::Variant(i) => {
                prop_assert!(i < weights.len());
                prop_assert!(weights[i] > 0, "a zero weight is never chosen");
            }
            Assignment::Original => prop_assert!(weights.iter().all(|w| *w == 0)),
            Assignment::Holdout => prop_assert!(holdout > 0),
        }
        // The holdout does not depend on the weights: the same users are held out.
        let without = assign(offer, &user, &[], holdout);
        prop_assert_eq!(first == Assignment::Holdout, without == Assignment::Holdout);
        // A larger holdout only adds users to it.
        if first == Assignment::Holdout {
            prop_assert_eq!(assign(offer, &user, &weights, holdout.saturating_add(10)), Assignment::Holdout);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn assignment_is_distributed_by_weight(
        offer in 1i64..1_000_000,
        weights in prop::collection::vec(1u32..=100, 2..=5),
        holdout in 0u8..=50,
    ) {
        const USERS: usize = 20_000;
        let mut held = 0usize;
        let mut counts = vec![0usize; weights.len()];
        for n in 0..USERS {
            match assign(offer, &format!("user-{n}"), &weights, holdout) {
                Assignment::Holdout => held += 1,
                Assignment::Variant(i) => counts[i] += 1,
                Assignment::Original => prop_assert!(false, "variants given"),
            }
        }
        let share = held as f64 / USERS as f64;
        prop_assert!((share - f64::from(holdout) / 100.0).abs() < 0.02, "holdout {share} for {holdout} %");
        let shown = (USERS - held) as f64;
        let total: u32 = weights.iter().sum();
        for (i, count) in counts.iter().enumerate() {
            let expected = f64::from(weights[i]) / f64::from(total);
            let got = *count as f64 / shown;
            prop_assert!((got - expected).abs() < 0.025, "variant {i}: {got} for {expected} ({weights:?})");
        }
    }
}

fn op_and_value() -> impl Strategy<Value = (&'static str, Value)> {
    let scalar = prop_oneof![
        (-5i64..5).prop_map(Value::from),
        prop::sample::select(vec!["a", "b", "gold"]).prop_map(Value::from),
        any::<bool>().prop_map(Value::Bool),
    ];
    prop_oneof![
        (prop::sample::select(vec!["eq", "neq"]), scalar.clone()),
        (
            prop::sample::select(vec!["gt", "gte", "lt", "lte"]),
            (-5i64..5).prop_map(Value::from)
        ),
        (
            prop::sample::select(vec!["in", "nin"]),
            prop::collection::vec(scalar.clone(), 1..4).prop_map(Value::Array)
        ),
        (
            prop::sample::select(vec!["exists", "missing"]),
            Just(Value::Null)
        ),
    ]
}

proptest! {
    #[test]
    fn triggers_compare_like_segments(
        (op, operand) in op_and_value(),
        actual in prop::option::of(prop_oneof![
            (-5i64..5).prop_map(Value::from),
            prop::sample::select(vec!["a", "b", "gold"]).prop_map(Value::from),
            any::<bool>().prop_map(Value::Bool),
        ]),
    ) {
        let mut condition = json!({"op": op});
        if !operand.is_null() {
            condition["value"] = operand;
        }
        let mut on_prop = condition.clone();
        on_prop["field"] = json!("props.k");
        let mut on_attr = condition;
        on_attr["field"] = json!("attributes.k");
        let trigger = Trigger::parse(&json!({"event": "e", "conditions": [on_prop]})).unwrap();
        let SegmentDef::Rules(rules) =
            SegmentSpec::parse(&json!({"name": "s", "conditions": [on_attr]})).unwrap().def
        else {
            panic!("rules");
        };
        let mut props = serde_json::Map::new();
        let mut attributes = serde_json::Map::new();
        if let Some(value) = actual {
            props.insert("k".into(), value.clone());
            attributes.insert("k".into(), value);
        }
        let profile = Profile::parse(&json!({"attributes": attributes})).unwrap();
        prop_assert_eq!(trigger.matches("e", &props), rules_match(&rules, Some(&profile)));
    }
}
