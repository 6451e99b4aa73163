//! Property tests: no panics on any input, round trips of valid offers, and the
//! frequency guarantees (DAILY, once-ever, ON_ENTRY) over random display sequences.
//! Native only: proptest has no random source on wasm32-unknown-unknown.
#![cfg(not(target_arch = "wasm32"))]

use chrono::{DateTime, Duration, TimeZone, Utc};
use offers_core::color::named_color_names;
use offers_core::{
    Audience, AudienceType, BodyText, ButtonText, CssColor, Decision, DisplayHistory, ExternalId,
    FeedOffer, GradientDirection, HttpUrl, LanguageTag, Offer, OfferDraft, OfferName, OfferSpec,
    OfferTag, PartnerOffer, Rule, Schedule, ScheduleStatus, ShowFrequency, Template, TemplateData,
    Title, Translation, ViewType, decide, explain, in_audience, is_live, parse_user_ids,
    popup_order, record_display, schedule_status, validate,
};
use proptest::prelude::*;
use serde_json::Value;

// ---------------------------------------------------------------- arbitrary input

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        ".{0,40}".prop_map(Value::String),
        plausible_text().prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((plausible_key(), inner), 0..6)
                .prop_map(|pairs| Value::Object(pairs.into_iter().collect())),
        ]
    })
}

/// Strings that get past the first checks, to reach deeper code paths.
fn plausible_text() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        (9i64..16).prop_map(|n| n.to_string()),
        Just("true".to_owned()),
        Just("0".to_owned()),
        Just("-1".to_owned()),
        Just("2024-05-22T12:00:01.000Z".to_owned()),
        Just("2024-05-22T12:00:01+02:00".to_owned()),
        Just("https://a.example/x".to_owned()),
        Just("javascript:alert(1)".to_owned()),
        Just("#fff".to_owned()),
        Just("rgb(1, 2, 3)".to_owned()),
        Just("to left".to_owned()),
        Just("DAILY".to_owned()),
        Just("ROOM".to_owned()),
        Just("USER".to_owned()),
        Just("IN_FEED".to_owned()),
        Just("[\"a\", \"b\"]".to_owned()),
        Just("a, b,, a".to_owned()),
        Just(r##"{"gradient": true, "bgColor": "#000"}"##.to_owned()),
        "[a-z0-9 ,\\[\\]\"{}:#()%./-]{0,30}",
    ]
}

fn plausible_key() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("alignment".to_owned()),
        Just("bgColor".to_owned()),
        Just("gradient".to_owned()),
        Just("gradientFrom".to_owned()),
        Just("gradientTo".to_owned()),
        Just("gradientDirection".to_owned()),
        "[a-zA-Z]{0,10}",
    ]
}

fn arb_field() -> impl Strategy<Value = Option<Value>> {
    prop_oneof![
        1 => Just(None),
        3 => arb_json().prop_map(Some),
    ]
}

fn arb_draft() -> impl Strategy<Value = OfferDraft> {
    (
        (
            arb_field(),
            arb_field(),
            arb_field(),
            arb_field(),
            arb_field(),
            arb_field(),
        ),
        (
            arb_field(),
            arb_field(),
            arb_field(),
            arb_field(),
            arb_field(),
        ),
        (
            arb_field(),
            arb_field(),
            arb_field(),
            arb_field(),
            arb_field(),
        ),
        (
            arb_field(),
            arb_field(),
            arb_field(),
            arb_field(),
            arb_field(),
        ),
        (arb_field(), arb_field(), arb_field(), arb_field()),
    )
        .prop_map(|(a, b, c, d, e)| OfferDraft {
            template: a.0,
            title: a.1,
            text: a.2,
            link_text: a.3,
            link: a.4,
            pic: a.5,
            template_data: b.0,
            view_type: b.1,
            start_time: b.2,
            end_time: b.3,
            show_multiple_times: b.4,
            show_frequency: c.0,
            show_delay_ms: c.1,
            kind: c.2,
            external_room_ids: c.3,
            external_user_ids: c.4,
            name: d.0,
            tags: d.1,
            segment_ids: d.2,
            exclude_segment_ids: d.3,
            translations: d.4,
            trigger: e.0,
            priority: e.1,
            variants: e.2,
            holdout_percent: e.3,
        })
}

// ---------------------------------------------------------------- valid offers

fn title() -> impl Strategy<Value = Title> {
    "\\PC{1,25}".prop_filter_map("valid title", |s| Title::parse(&s).ok())
}

fn body() -> impl Strategy<Value = BodyText> {
    "(\\PC|\n|\r\n){1,185}".prop_filter_map("valid text", |s| BodyText::parse(&s).ok())
}

fn button() -> impl Strategy<Value = ButtonText> {
    "\\PC{1,82}".prop_filter_map("valid button", |s| ButtonText::parse(&s).ok())
}

fn url() -> impl Strategy<Value = HttpUrl> {
    (
        prop_oneof![Just("http"), Just("https"), Just("HTTPS")],
        prop_oneof![
            "[a-z0-9-]{1,12}(\\.[a-z]{2,6}){0,2}",
            Just("[::1]".to_owned()),
            Just("bücher.example".to_owned()),
        ],
        proptest::option::of(1u32..=65_535),
        "(/[a-zA-Z0-9._~%!$&'()*+,;=:@-]{0,12}){0,3}",
        proptest::option::of("[a-zA-Z0-9=&%]{0,12}"),
        proptest::option::of("[a-zA-Z0-9/?-]{0,8}"),
    )
        .prop_map(|(scheme, host, port, path, query, fragment)| {
            let port = port.map(|p| format!(":{p}")).unwrap_or_default();
            let query = query.map(|q| format!("?{q}")).unwrap_or_default();
            let fragment = fragment.map(|f| format!("#{f}")).unwrap_or_default();
            format!("{scheme}://{host}{port}{path}{query}{fragment}")
        })
        .prop_filter_map("valid url", |s| HttpUrl::parse(&s).ok())
}

fn color() -> impl Strategy<Value = CssColor> {
    let names: Vec<&'static str> = named_color_names().chain(["transparent"]).collect();
    prop_oneof![
        "#([0-9a-fA-F]{3}|[0-9a-fA-F]{6}|[0-9a-fA-F]{8})",
        (0u16..=255, 0u16..=255, 0u16..=255).prop_map(|(r, g, b)| format!("rgb({r}, {g}, {b})")),
        (0u16..=255, 0u16..=255, 0u16..=255, 0u16..=100).prop_map(|(r, g, b, a)| format!(
            "RGBA({r},{g},{b},{}.{:02})",
            a / 100,
            a % 100
        )),
        (0u16..=100, 0u16..=100, 0u16..=100, 0u16..=100)
            .prop_map(|(r, g, b, a)| format!("rgb({r}% {g}% {b}% / {a}%)")),
        prop::sample::select(names).prop_map(str::to_uppercase),
    ]
    .prop_filter_map("valid color", |s| CssColor::parse(&s).ok())
}

fn direction() -> impl Strategy<Value = GradientDirection> {
    prop_oneof![
        (-720i32..720, proptest::option::of(0u8..10)).prop_map(|(n, frac)| match frac {
            Some(f) => format!("{n}.{f}deg"),
            None => format!("{n}DEG"),
        }),
        prop::sample::select(vec![
            "to left",
            "to right",
            "to top",
            "to bottom",
            "to top left",
            "TO Bottom  Right",
            "to left top",
        ])
        .prop_map(str::to_owned),
    ]
    .prop_filter_map("valid direction", |s| GradientDirection::parse(&s).ok())
}

fn template_data() -> impl Strategy<Value = TemplateData> {
    (
        prop::sample::select(vec![
            offers_core::Alignment::Left,
            offers_core::Alignment::Center,
            offers_core::Alignment::Right,
        ]),
        (color(), color(), color(), color()),
        any::<bool>(),
        (
            proptest::option::of(color()),
            proptest::option::of(color()),
            proptest::option::of(direction()),
        ),
    )
        .prop_map(
            |(alignment, (bg, btn, btn_text, text), gradient, (from, to, dir))| {
                let (from, to, dir) = if gradient {
                    (
                        Some(from.unwrap_or_else(|| bg.clone())),
                        Some(to.unwrap_or_else(|| btn.clone())),
                        Some(dir.unwrap_or_else(|| GradientDirection::parse("90deg").unwrap())),
                    )
                } else {
                    (from, to, dir)
                };
                TemplateData {
                    alignment,
                    bg_color: bg,
                    btn_color: btn,
                    btn_text_color: btn_text,
                    text_color: text,
                    gradient,
                    gradient_from: from,
                    gradient_to: to,
                    gradient_direction: dir,
                }
            },
        )
}

fn ids() -> impl Strategy<Value = Vec<ExternalId>> {
    prop::collection::vec(
        prop_oneof!["[a-zA-Z0-9_-]{1,20}", "\\PC{1,30}", Just("a,b".to_owned())],
        1..6,
    )
    .prop_map(|raw| {
        let mut out: Vec<ExternalId> = Vec::new();
        for id in raw.iter().filter_map(|s| ExternalId::parse(s).ok()) {
            if !out.contains(&id) {
                out.push(id);
            }
        }
        out
    })
    .prop_filter("at least one id", |list| !list.is_empty())
}

/// Millisecond-precision instants between 1970 and about 8300.
fn instant() -> impl Strategy<Value = DateTime<Utc>> {
    (0i64..200_000_000_000_000).prop_map(|ms| Utc.timestamp_millis_opt(ms).unwrap())
}

fn audience() -> impl Strategy<Value = Audience> {
    prop_oneof![
        Just(Audience::global()),
        ids().prop_map(Audience::rooms),
        ids().prop_map(Audience::users),
    ]
}

/// A valid offer's content. Built from boxed parts: deeply nested strategy trees overflow
/// the test thread's stack in debug builds.
fn spec() -> BoxedStrategy<OfferSpec> {
    let content = (
        prop::sample::select(Template::ALL.to_vec()),
        (title(), body(), button()).boxed(),
        (any::<bool>(), any::<bool>(), any::<bool>()),
        (url(), proptest::option::of(url()), url()).boxed(),
        template_data().boxed(),
    )
        .boxed();
    let display = (
        prop::sample::select(vec![ViewType::Popup, ViewType::InFeed]),
        instant(),
        proptest::option::of(1i64..1_000_000_000_000),
        any::<bool>(),
        prop::sample::select(vec![ShowFrequency::OnEntry, ShowFrequency::Daily]),
        0u64..=86_400_000,
        audience().boxed(),
    )
        .boxed();
    let extras = (
        proptest::option::of(
            "[A-Za-z0-9 ]{1,80}".prop_filter_map("name", |s| OfferName::parse(&s).ok()),
        ),
        prop::collection::btree_set("[a-z]{1,8}", 0..4),
        prop::collection::btree_set(1i64..50, 0..3),
        prop::collection::btree_set(50i64..100, 0..3),
        prop::collection::btree_map(
            prop::sample::select(vec!["de", "de-AT", "pt-BR", "zh-Hant-TW"]),
            (proptest::option::of(title()), proptest::option::of(url())),
            0..3,
        ),
    )
        .boxed();
    let campaign = (
        proptest::option::of((
            "[a-z_:.-]{1,20}",
            prop::collection::vec(
                (-100i64..100, prop::sample::select(vec!["gt", "eq", "neq"])),
                0..3,
            ),
            0u64..=86_400_000,
        )),
        -1000i16..=1000,
        prop_oneof![
            Just(Vec::new()),
            prop::collection::vec((1u32..=100, proptest::option::of(title())), 2..=5),
        ],
        0u8..=50,
    )
        .boxed();
    (content, display, extras, campaign)
        .prop_map(|(content, display, extras, campaign)| {
            let (trigger, priority, variants, holdout_percent) = campaign;
            let (name, tags, segment_ids, exclude_segment_ids, translations) = extras;
            let (
                template,
                (title, text, link_text),
                optional,
                (link, pic, fallback_pic),
                template_data,
            ) = content;
            let (
                view_type,
                start_time,
                end_offset,
                show_multiple_times,
                show_frequency,
                show_delay_ms,
                audience,
            ) = display;
            OfferSpec {
                template,
                title: (optional.0 || template.needs_text()).then_some(title),
                text: (optional.1 || template.needs_text()).then_some(text),
                link_text: (optional.2 || template.has_button()).then_some(link_text),
                link,
                pic: if template.needs_pic() {
                    Some(pic.unwrap_or(fallback_pic))
                } else {
                    pic
                },
                template_data,
                view_type,
                start_time,
                end_time: end_offset.map(|ms| start_time + Duration::milliseconds(ms)),
                show_multiple_times,
                show_frequency,
                show_delay_ms,
                audience,
                name,
                tags: tags.iter().map(|t| OfferTag::parse(t).unwrap()).collect(),
                segment_ids: segment_ids.into_iter().collect(),
                exclude_segment_ids: exclude_segment_ids.into_iter().collect(),
                translations: translations
                    .into_iter()
                    .map(|(language, (title, pic))| {
                        (
                            LanguageTag::parse(language).unwrap(),
                            Translation {
                                title,
                                pic,
                                ..Translation::default()
                            },
                        )
                    })
                    .filter(|(_, t)| !t.is_empty())
                    .collect(),
                trigger: trigger.map(|(event, conditions, delay)| {
                    let conditions: Vec<Value> = conditions
                        .into_iter()
                        .map(|(n, op)| serde_json::json!({"field": "props.n", "op": op, "value": n}))
                        .collect();
                    offers_core::Trigger::parse(
                        &serde_json::json!({"event": event, "conditions": conditions, "delayMS": delay}),
                    )
                    .unwrap()
                }),
                priority,
                variants: variants
                    .into_iter()
                    .map(|(weight, title)| offers_core::Variant {
                        content: Translation {
                            title,
                            ..Translation::default()
                        },
                        ..offers_core::Variant::weighted(weight)
                    })
                    .collect(),
                holdout_percent,
            }
        })
        .boxed()
}

// ---------------------------------------------------------------- properties

proptest! {
    #[test]
    fn validate_never_panics(draft in arb_draft()) {
        match validate(&draft) {
            Ok(spec) => {
                // Anything accepted round-trips.
                prop_assert_eq!(validate(&OfferDraft::from(&spec)), Ok(spec));
            }
            Err(errors) => prop_assert!(!errors.is_empty()),
        }
    }

    #[test]
    fn form_fields_never_panic(parts in prop::collection::vec(
        (prop_oneof![plausible_key(), Just("externalRoomIds[]".to_owned()), Just("template".to_owned()), Just("externalUserIds".to_owned())],
         prop_oneof![plausible_text(), ".{0,20}"]),
        0..12,
    )) {
        if let Ok(draft) = OfferDraft::from_form_fields(parts) {
            let _ = validate(&draft);
        }
    }

    #[test]
    fn newtype_parsers_never_panic(s in ".{0,300}") {
        for result in [
            Title::parse(&s).map(|v| v.into_string()),
            BodyText::parse(&s).map(|v| v.into_string()),
            ButtonText::parse(&s).map(|v| v.into_string()),
            ExternalId::parse(&s).map(|v| v.into_string()),
            HttpUrl::parse(&s).map(|v| v.into_string()),
            CssColor::parse(&s).map(|v| v.into_string()),
            GradientDirection::parse(&s).map(|v| v.into_string()),
        ] {
            if let Err(reason) = result {
                prop_assert!(!reason.is_empty());
            }
        }
        let _ = offers_core::parse_timestamp(&s);
        let _ = ShowFrequency::parse(&s);
        let _ = s.parse::<Template>();
    }

    #[test]
    fn structured_strings_never_panic_and_parse_is_idempotent(
        s in prop_oneof![
            "(rgba?|RGB)\\([0-9 ,./%a-z-]{0,24}\\)?",
            "#[0-9a-fA-Fg]{0,9}",
            "(https?|HTTP|ftp)://[a-z0-9.:@\\[\\]%-]{0,20}[/?#]?[a-z0-9 /?#\"<>]{0,10}",
            "[+-]?[0-9.]{0,6}(deg|DEG|turn)?",
            "(to|TO) ?(left|right|top|bottom|center)? ?(left|right|top|bottom)?",
        ]
    ) {
        if let Ok(c) = CssColor::parse(&s) {
            prop_assert_eq!(CssColor::parse(c.as_str()), Ok(c.clone()));
            prop_assert_eq!(CssColor::from_rgba(c.to_rgba()).to_rgba(), c.to_rgba());
        }
        if let Ok(u) = HttpUrl::parse(&s) {
            prop_assert_eq!(HttpUrl::parse(u.as_str()), Ok(u.clone()));
        }
        if let Ok(d) = GradientDirection::parse(&s) {
            prop_assert_eq!(GradientDirection::parse(d.as_str()), Ok(d.clone()));
        }
    }

    #[test]
    fn text_parse_is_idempotent(s in "(\\PC|\n|\r\n| ){0,200}") {
        if let Ok(t) = Title::parse(&s) {
            prop_assert_eq!(Title::parse(t.as_str()), Ok(t.clone()));
        }
        if let Ok(t) = BodyText::parse(&s) {
            prop_assert_eq!(BodyText::parse(t.as_str()), Ok(t.clone()));
        }
        if let Ok(t) = ExternalId::parse(&s) {
            prop_assert_eq!(ExternalId::parse(t.as_str()), Ok(t.clone()));
        }
    }

    #[test]
    fn valid_specs_round_trip_through_a_draft(spec in spec()) {
        let draft = OfferDraft::from(&spec);
        prop_assert_eq!(validate(&draft), Ok(spec.clone()));
        // Also through the draft's JSON (what the Studio saves).
        let json = serde_json::to_string(&draft).unwrap();
        let reparsed: OfferDraft = serde_json::from_str(&json).unwrap();
        prop_assert_eq!(validate(&reparsed), Ok(spec));
    }

    #[test]
    fn wire_shapes_round_trip(spec in spec(), id in any::<i64>()) {
        let offer = Offer::created(id, spec, DateTime::UNIX_EPOCH);
        let feed = FeedOffer::from(&offer);
        let json = serde_json::to_string(&feed).unwrap();
        prop_assert_eq!(serde_json::from_str::<FeedOffer>(&json).unwrap(), feed);

        let stored = serde_json::to_string(&offer).unwrap();
        prop_assert_eq!(serde_json::from_str::<Offer>(&stored).unwrap(), offer.clone());

        // The partner shape, sent back as input, validates to the same content.
        let mut partner = serde_json::to_value(PartnerOffer::from(&offer)).unwrap();
        partner.as_object_mut().unwrap().remove("id");
        let draft: OfferDraft = serde_json::from_value(partner).unwrap();
        prop_assert_eq!(validate(&draft), Ok(offer.spec));
    }

    #[test]
    fn daily_never_shows_twice_in_one_local_day(
        offset in -1500i32..1500,
        steps in prop::collection::vec((-600i64..3000, any::<bool>()), 1..60),
    ) {
        let schedule = open_schedule(true, ShowFrequency::Daily);
        let clamped = offset.clamp(-1080, 1080);
        let mut now = Utc.with_ymd_and_hms(2024, 3, 30, 22, 0, 0).unwrap();
        let (mut history, mut entry) = (DisplayHistory::default(), 0u64);
        let mut shown_days = Vec::new();
        for (minutes, new_entry) in steps {
            now += Duration::minutes(minutes);
            entry += u64::from(new_entry);
            if let Decision::Show { .. } = decide(schedule, &history, entry, now, offset) {
                let day = (now + Duration::minutes(i64::from(clamped))).date_naive();
                prop_assert!(!shown_days.contains(&day), "second display on {}", day);
                shown_days.push(day);
                history = record_display(history, entry, now);
            }
        }
    }

    #[test]
    fn once_ever_means_once(
        frequency in prop::sample::select(vec![ShowFrequency::OnEntry, ShowFrequency::Daily]),
        offset in -1080i32..1080,
        steps in prop::collection::vec((0i64..5000, any::<bool>()), 1..60),
    ) {
        let schedule = open_schedule(false, frequency);
        let mut now = Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap();
        let (mut history, mut entry, mut shows) = (DisplayHistory::default(), 0u64, 0);
        for (minutes, new_entry) in steps {
            now += Duration::minutes(minutes);
            entry += u64::from(new_entry);
            if decide(schedule, &history, entry, now, offset).is_show() {
                shows += 1;
                history = record_display(history, entry, now);
            }
        }
        prop_assert!(shows <= 1);
    }

    #[test]
    fn on_entry_shows_at_most_once_per_entry(
        steps in prop::collection::vec((0i64..100, any::<bool>()), 1..60),
    ) {
        let schedule = open_schedule(true, ShowFrequency::OnEntry);
        let mut now = Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap();
        let (mut history, mut entry) = (DisplayHistory::default(), 0u64);
        let mut shown_entries = Vec::new();
        for (minutes, new_entry) in steps {
            now += Duration::minutes(minutes);
            entry += u64::from(new_entry);
            if decide(schedule, &history, entry, now, 0).is_show() {
                prop_assert!(!shown_entries.contains(&entry));
                shown_entries.push(entry);
                history = record_display(history, entry, now);
            }
        }
        // Every entry (after the first display) gets exactly one display.
        prop_assert_eq!(shown_entries.len() as u64, entry + 1 - shown_entries[0]);
    }

    #[test]
    fn explain_agrees_with_the_rules_and_lists_every_check(
        spec in spec(),
        now in instant(),
        room_pick in 0usize..3,
        user_pick in 0usize..3,
        opted_out in any::<bool>(),
        seen in proptest::option::of((1u32..5, -3_000_000_000i64..3_000_000_000)),
        offset in -1200i32..1200,
    ) {
        // Rooms and users that are (or are not) in the audience.
        let room = spec.audience.rooms.first().map(|r| r.as_str().to_owned());
        let room = [room.unwrap_or_else(|| "r".into()), "elsewhere".into(), " ".into()][room_pick].clone();
        let listed = spec.audience.users.first().map(|u| u.as_str().to_owned());
        let user = [listed, Some("someone".to_owned()), None][user_pick].clone();
        let history = seen.map_or_else(DisplayHistory::default, |(times, ago_ms)| DisplayHistory {
            times_shown: times,
            last_shown: Some(now + Duration::milliseconds(-ago_ms.abs())),
            last_entry: None,
        });
        let e = explain(&spec, &room, user.as_deref(), opted_out, &history, now, offset);
        let rules: Vec<Rule> = e.checks.iter().map(|c| c.rule).collect();
        prop_assert_eq!(rules, vec![Rule::Schedule, Rule::Audience, Rule::OptOut, Rule::Frequency]);
        prop_assert!(e.checks.iter().all(|c| !c.detail.is_empty()));
        prop_assert_eq!(e.shown, e.checks.iter().all(|c| c.ok));
        let entry = 1;
        let expected = is_live(&spec, now)
            && in_audience(&spec.audience, &room, user.as_deref(), opted_out)
            && decide(&spec, &history, entry, now, offset).is_show();
        prop_assert_eq!(e.shown, expected);
        prop_assert_eq!(e.checks[0].ok, schedule_status(spec.start_time, spec.end_time, now) == ScheduleStatus::Live);
    }

    #[test]
    fn popup_order_is_a_total_order(
        keys in prop::collection::vec((0u64..3, 0i64..3, 0i64..1000), 2..8),
    ) {
        let mut offers: Vec<FeedOffer> = keys
            .into_iter()
            .map(|(delay, start_day, id)| {
                let mut feed = base_feed();
                feed.show_delay_ms = delay * 1000;
                feed.start_time += Duration::days(start_day);
                feed.id = id;
                feed
            })
            .collect();
        offers.sort_by(popup_order);
        for pair in offers.windows(2) {
            let (a, b) = (&pair[0], &pair[1]);
            prop_assert!(popup_order(a, b).is_le() && popup_order(b, a).is_ge());
            prop_assert!(a.show_delay_ms <= b.show_delay_ms);
            if a.show_delay_ms == b.show_delay_ms {
                prop_assert!(a.start_time >= b.start_time);
                if a.start_time == b.start_time {
                    prop_assert!(a.id >= b.id);
                }
            }
        }
    }

    #[test]
    fn csv_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        let csv = parse_user_ids(&bytes);
        let lines = bytes.split(|b| *b == b'\n').count();
        for error in &csv.errors {
            prop_assert!(error.line >= 1 && error.line <= lines);
        }
    }

    #[test]
    fn csv_round_trips_ids(list in ids(), crlf in any::<bool>(), quote in any::<bool>()) {
        let newline = if crlf { "\r\n" } else { "\n" };
        let mut text = format!("\u{feff}userId{newline}");
        for id in &list {
            let needs_quotes = quote || id.as_str().contains([',', '"']);
            if needs_quotes {
                text.push_str(&format!("\"{}\"{newline}", id.as_str().replace('"', "\"\"")));
            } else {
                text.push_str(id.as_str());
                text.push_str(newline);
            }
        }
        let csv = parse_user_ids(text.as_bytes());
        prop_assert_eq!(csv.header.as_deref(), Some("userId"));
        prop_assert!(csv.errors.is_empty(), "{:?}", csv.errors);
        prop_assert_eq!(csv.ids, list);
    }
}

fn open_schedule(show_multiple_times: bool, show_frequency: ShowFrequency) -> Schedule {
    Schedule {
        start_time: Utc.with_ymd_and_hms(2000, 1, 1, 0, 0, 0).unwrap(),
        end_time: None,
        show_multiple_times,
        show_frequency,
        show_delay_ms: 0,
    }
}

fn base_feed() -> FeedOffer {
    FeedOffer::from(&Offer {
        id: 1,
        created_at: DateTime::UNIX_EPOCH,
        updated_at: DateTime::UNIX_EPOCH,
        spec: OfferSpec::example(),
    })
}

#[test]
fn audience_type_is_exported() {
    assert_eq!(Audience::global().kind, AudienceType::Global);
}

// ---------------------------------------------------------------- timestamps

/// What `parse_timestamp` accepted when it was chrono's RFC 3339 parser; the hand-written
/// parser must agree with it on every input (accepted or not, and the same instant).
fn chrono_timestamp(input: &str) -> Option<DateTime<Utc>> {
    use chrono::SubsecRound;
    DateTime::parse_from_rfc3339(input.trim())
        .ok()
        .map(|t| t.with_timezone(&Utc).trunc_subsecs(3))
}

/// Near-RFC 3339 text: each part valid, out of range or malformed, so both parsers' every
/// branch is reached (dates past month ends, leap days and seconds, offsets up to ±99:99).
fn arb_timestamp_text() -> impl Strategy<Value = String> {
    let two = prop_oneof![
        4 => (0u32..100).prop_map(|n| format!("{n:02}")),
        1 => "[0-9a ]{0,3}",
    ];
    let year = prop_oneof![
        4 => (0u32..10_000).prop_map(|n| format!("{n:04}")),
        1 => "[0-9+-]{0,6}",
    ];
    let separator = prop_oneof![Just("T"), Just("t"), Just(" "), Just("_"), Just("")];
    let fraction = prop_oneof![
        Just(String::new()),
        Just(".".to_owned()),
        "\\.[0-9]{1,12}",
        "\\.[0-9]{0,3}[a-z]",
    ];
    let offset = prop_oneof![
        Just("Z".to_owned()),
        Just("z".to_owned()),
        Just(String::new()),
        ("[+−-]", 0u32..100, "[:]?", 0u32..100, "[0-9]?")
            .prop_map(|(sign, h, colon, m, tail)| format!("{sign}{h:02}{colon}{m:02}{tail}")),
        "[+-]?[0-9:]{0,5}",
        Just("UTC".to_owned()),
    ];
    let spaces = prop_oneof![Just(""), Just(" "), Just("\t\n")];
    (
        (spaces.clone(), year, two.clone(), two.clone(), separator),
        (two.clone(), two.clone(), two, fraction, offset, spaces),
    )
        .prop_map(|((lead, y, mo, d, sep), (h, mi, s, frac, off, trail))| {
            format!("{lead}{y}-{mo}-{d}{sep}{h}:{mi}:{s}{frac}{off}{trail}")
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(20_000))]

    #[test]
    fn the_timestamp_parser_agrees_with_chrono(text in arb_timestamp_text()) {
        prop_assert_eq!(offers_core::parse_timestamp(&text).ok(), chrono_timestamp(&text), "{:?}", text);
    }

    #[test]
    fn the_timestamp_parser_agrees_with_chrono_on_any_text(text in ".{0,40}") {
        prop_assert_eq!(offers_core::parse_timestamp(&text).ok(), chrono_timestamp(&text), "{:?}", text);
    }

    #[test]
    fn every_instant_round_trips(ms in -62_135_510_400_000i64..253_402_128_000_000, offset in -1439i32..1440) {
        let time = DateTime::from_timestamp_millis(ms).unwrap();
        let text = time
            .with_timezone(&chrono::FixedOffset::east_opt(offset * 60).unwrap())
            .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, false);
        prop_assert_eq!(offers_core::parse_timestamp(&text), Ok(time), "{}", text);
        prop_assert_eq!(chrono_timestamp(&text), Some(time));
    }
}

#[test]
fn the_timestamp_parser_agrees_with_chrono_on_edge_cases() {
    for text in [
        "2024-02-29T12:00:00Z",
        "2023-02-29T12:00:00Z",
        "2016-12-31T23:59:60Z",
        "2016-12-31T23:59:60.5+01:00",
        "2016-12-31T23:58:60Z",
        "2016-12-31T23:59:61Z",
        "0000-01-01T00:00:00+23:59",
        "9999-12-31T23:59:59.999999999-23:59",
        "2024-05-22T12:00:01+24:00",
        "2024-05-22T12:00:01-00:60",
        "2024-05-22T12:00:01−02:00",
        "2024-05-22T12:00:01.Z",
        "2024-05-22T12:00:01.1234567890123Z",
        "2024-05-22t12:00:01z",
        "2024-05-22 12:00:01Z",
        "2024-05-22T12:00:01+0200",
        "2024-05-22T12:00:01+02",
        "2024-05-22T12:00:01 Z",
        "2024-05-22T12:00:01ZZ",
        "2024-05-22T12:00:01UTC",
        "+2024-05-22T12:00:01Z",
        "2024-5-22T12:00:01Z",
        "２０２４-05-22T12:00:01Z",
        "2024-05-22T12:00:01Z\u{a0}",
    ] {
        assert_eq!(
            offers_core::parse_timestamp(text).ok(),
            chrono_timestamp(text),
            "{text:?}"
        );
    }
    // Not agreement by both refusing: leap seconds, U+2212 and extreme offsets are accepted.
    for text in [
        "2016-12-31T23:59:60.5+01:00",
        "2024-05-22T12:00:01−02:00",
        "0000-01-01T00:00:00+23:59",
        "2024-05-22t12:00:01z",
    ] {
        assert!(offers_core::parse_timestamp(text).is_ok(), "{text:?}");
    }
}

proptest! {
    /// The widget's fmt-free integer formatting is `to_string`'s.
    #[test]
    fn decimal_is_to_string(n in any::<i64>(), u in any::<u64>()) {
        prop_assert_eq!(offers_core::decimal(n), n.to_string());
        prop_assert_eq!(offers_core::decimal_u64(u), u.to_string());
    }

    /// The widget's integer reading is `parse`'s on text without a `+` sign, and reads back
    /// what `decimal` writes.
    #[test]
    fn parse_digits_and_parse_decimal_are_parse(
        text in "-?[0-9]{0,21}|[0-9 +a.-]{0,6}", n in any::<i64>(), u in any::<u64>()
    ) {
        prop_assert_eq!(offers_core::parse_digits(&text), text.parse::<u64>().ok().filter(|_| !text.starts_with('+')));
        prop_assert_eq!(offers_core::parse_decimal(&text), text.parse::<i64>().ok().filter(|_| !text.starts_with('+')));
        prop_assert_eq!(offers_core::parse_decimal(&offers_core::decimal(n)), Some(n));
        prop_assert_eq!(offers_core::parse_digits(&offers_core::decimal_u64(u)), Some(u));
    }
}

#[test]
fn decimal_edges() {
    for n in [0, 1, -1, 9, 10, -10, i64::MAX, i64::MIN] {
        assert_eq!(offers_core::decimal(n), n.to_string());
    }
    assert_eq!(offers_core::decimal_u64(u64::MAX), u64::MAX.to_string());
    for text in [
        "",
        "-",
        "+1",
        "-0",
        "18446744073709551616",
        "-9223372036854775808",
        "9223372036854775808",
    ] {
        assert_eq!(
            offers_core::parse_digits(text),
            text.parse::<u64>().ok().filter(|_| !text.starts_with('+')),
            "{text:?}"
        );
        assert_eq!(
            offers_core::parse_decimal(text),
            text.parse::<i64>().ok().filter(|_| !text.starts_with('+')),
            "{text:?}"
        );
    }
}

/// Text near IPv6 literals: hex groups of 0–5 digits, `:` and `::`, dotted quads with
/// out-of-range and zero-prefixed octets, stray characters.
fn arb_ipv6_text() -> impl Strategy<Value = String> {
    let part = prop_oneof![
        4 => "[0-9a-fA-F]{0,5}",
        2 => Just(":".to_owned()),
        2 => Just("::".to_owned()),
        2 => (0u32..300, 0u32..300, 0u32..300, 0u32..300).prop_map(|(a, b, c, d)| format!("{a}.{b}.{c}.{d}")),
        1 => "0[0-9]{1,2}(\\.[0-9]{1,3}){3}",
        1 => "[.:g% ]",
    ];
    prop::collection::vec(part, 0..12).prop_map(|parts| {
        let mut text = String::new();
        for (i, part) in parts.iter().enumerate() {
            if i > 0 && !part.starts_with(':') && !text.ends_with(':') {
                text.push(':');
            }
            text.push_str(part);
        }
        text
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(20_000))]

    #[test]
    fn lf_only_is_replacing_crlf(text in "[a\r\n]{0,12}") {
        prop_assert_eq!(offers_core::text::lf_only(&text), text.replace("\r\n", "\n"));
    }

    #[test]
    fn the_ipv6_check_agrees_with_std(text in arb_ipv6_text()) {
        prop_assert_eq!(offers_core::http_url::is_ipv6(&text), text.parse::<std::net::Ipv6Addr>().is_ok(), "{:?}", text);
    }

    #[test]
    fn the_ipv6_check_agrees_with_std_on_any_text(text in "[0-9a-fA-F:.]{0,45}") {
        prop_assert_eq!(offers_core::http_url::is_ipv6(&text), text.parse::<std::net::Ipv6Addr>().is_ok(), "{:?}", text);
    }

    #[test]
    fn every_ipv6_address_is_accepted(segments in any::<[u16; 8]>(), v4 in any::<bool>()) {
        let address = std::net::Ipv6Addr::from(segments);
        let mut texts = vec![address.to_string(), format!("{:x}:{:x}:{:x}:{:x}:{:x}:{:x}:{:x}:{:x}", segments[0], segments[1], segments[2], segments[3], segments[4], segments[5], segments[6], segments[7])];
        if v4 {
            let [a, b, c, d] = address.octets()[12..16] else { unreachable!() };
            texts.push(format!("::ffff:{a}.{b}.{c}.{d}"));
        }
        for text in texts {
            prop_assert!(offers_core::http_url::is_ipv6(&text), "{}", text);
        }
    }
}

#[test]
fn the_ipv6_check_agrees_with_std_on_edge_cases() {
    for text in [
        "",
        "::",
        ":::",
        "::1",
        "1::",
        "1::2",
        "1:2:3:4:5:6:7:8",
        "1:2:3:4:5:6:7:8:9",
        "1:2:3:4:5:6:7::",
        "::2:3:4:5:6:7:8",
        "1:2:3:4:5:6::7:8",
        "1::2::3",
        "::ffff:1.2.3.4",
        "::1.2.3.4",
        "1.2.3.4",
        "1:2:3:4:5:6:1.2.3.4",
        "1:2:3:4:5:6:7:1.2.3.4",
        "::1.2.3.4:5",
        "1.2.3.4::",
        "::01.2.3.4",
        "::256.1.1.1",
        "12345::",
        "0000::",
        "fffff::",
        "::g",
        "1:2:3:4:5:6:7:8::",
        ":1::",
        "1:",
        ":1",
        "::ffff:1.2.3",
        "[::1]",
        " ::1",
        "::1 ",
    ] {
        assert_eq!(
            offers_core::http_url::is_ipv6(text),
            text.parse::<std::net::Ipv6Addr>().is_ok(),
            "{text:?}"
        );
    }
}
