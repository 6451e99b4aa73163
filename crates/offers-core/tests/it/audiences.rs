//! Property tests of the audience rules (SPEC §7): segment evaluation, merge-tag rendering,
//! language negotiation, and that profile, CSV and segment input never panics.
//! Native only: proptest has no random source on wasm32-unknown-unknown.
#![cfg(not(target_arch = "wasm32"))]

use std::collections::BTreeMap;

use offers_core::merge::{MergeText, MergeVars};
use offers_core::text::{BODY_MAX_CHARS, TITLE_MAX_CHARS, is_bidi_control};
use offers_core::{
    AttrKey, AttrValue, BodyText, Condition, Field, HttpUrl, LanguageTag, Match, Op, Operand,
    Profile, ProfileTag, SegmentRules, SegmentSpec, Title, best_translation, parse_profiles_csv,
    parse_profiles_json, parse_profiles_json_elements, render_link_query, rules_match,
};
use proptest::prelude::*;
use serde_json::Value;

// ---------------------------------------------------------------- profiles and conditions

const KEYS: [&str; 3] = ["points", "name", "ok"];
const TAGS: [&str; 4] = ["vip", "gold", "new", "churned"];
const LANGUAGES: [&str; 6] = ["de", "de-AT", "de-CH", "en", "en-US", "pt-BR"];

fn language() -> impl Strategy<Value = LanguageTag> {
    prop::sample::select(LANGUAGES.to_vec()).prop_map(|l| LanguageTag::parse(l).unwrap())
}

fn attr_value() -> impl Strategy<Value = AttrValue> {
    prop_oneof![
        (-5i32..5).prop_map(|n| AttrValue::Number(f64::from(n))),
        prop::sample::select(vec!["a", "b", "c"]).prop_map(|s| AttrValue::Text(s.to_owned())),
        any::<bool>().prop_map(AttrValue::Bool),
    ]
}

fn profile() -> impl Strategy<Value = Profile> {
    (
        proptest::option::of(language()),
        prop::collection::btree_set(prop::sample::select(TAGS.to_vec()), 0..3),
        prop::collection::btree_map(prop::sample::select(KEYS.to_vec()), attr_value(), 0..3),
    )
        .prop_map(|(language, tags, attributes)| Profile {
            language,
            tags: tags
                .into_iter()
                .map(|t| ProfileTag::parse(t).unwrap())
                .collect(),
            attributes: attributes
                .into_iter()
                .map(|(k, v)| (AttrKey::parse(k).unwrap(), v))
                .collect(),
        })
}

fn field() -> impl Strategy<Value = Field> {
    prop_oneof![
        Just(Field::Language),
        Just(Field::Tag),
        prop::sample::select(KEYS.to_vec())
            .prop_map(|k| Field::Attribute(AttrKey::parse(k).unwrap())),
    ]
}

/// A value fit for `field` (a language, a tag, or any attribute value).
fn value_for(field: &Field) -> BoxedStrategy<AttrValue> {
    match field {
        Field::Language => language()
            .prop_map(|l| AttrValue::Text(l.into_string()))
            .boxed(),
        Field::Tag => prop::sample::select(TAGS.to_vec())
            .prop_map(|t| AttrValue::Text(t.to_owned()))
            .boxed(),
        Field::Attribute(_) => attr_value().boxed(),
    }
}

/// A valid condition: an operator the field takes and a value the operator needs.
fn condition() -> impl Strategy<Value = Condition> {
    field().prop_flat_map(|field| {
        let ops: Vec<Op> = Op::ALL
            .iter()
            .copied()
            .filter(|op| !op.is_numeric() || matches!(field, Field::Attribute(_)))
            .collect();
        let values = prop::collection::vec(value_for(&field), 1..4);
        (Just(field), prop::sample::select(ops), values, -5i32..5).prop_map(
            |(field, op, values, bound)| {
                let value = match op {
                    Op::Exists | Op::Missing => Operand::None,
                    Op::Eq | Op::Neq => Operand::One(values[0].clone()),
                    Op::In | Op::Nin => Operand::Many(values),
                    _ => Operand::One(AttrValue::Number(f64::from(bound))),
                };
                Condition { field, op, value }
            },
        )
    })
}

fn rules_of(match_kind: Match, conditions: Vec<Condition>) -> SegmentRules {
    SegmentRules {
        match_kind,
        conditions,
    }
}

fn with_op(condition: &Condition, op: Op) -> Condition {
    Condition {
        op,
        ..condition.clone()
    }
}

/// Whether the user has the condition's field (for an attribute: with a value of a type the
/// condition lists).
fn present_and_comparable(condition: &Condition, profile: &Profile) -> bool {
    match &condition.field {
        Field::Language => profile.language.is_some(),
        Field::Tag => true,
        Field::Attribute(key) => profile.attributes.get(key).is_some_and(|actual| {
            condition
                .value
                .values()
                .iter()
                .any(|v| std::mem::discriminant(v) == std::mem::discriminant(actual))
        }),
    }
}

// ---------------------------------------------------------------- merge tags

/// Texts made of literal parts and merge tags, some of them malformed.
fn merge_source() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        "[a-zA-Z !,.{}|]{0,6}",
        Just("{{firstName}}".to_owned()),
        Just("{{ firstName | there }}".to_owned()),
        Just("{{attributes.points|0}}".to_owned()),
        Just("{{id}}".to_owned()),
        Just("{{language|en}}".to_owned()),
        Just("{{missing|}}".to_owned()),
        Just("{{".to_owned()),
        Just("}}".to_owned()),
        Just("{{first name}}".to_owned()),
        "\\PC{0,4}",
    ];
    prop::collection::vec(piece, 0..8).prop_map(|pieces| pieces.concat())
}

/// Any text as an attribute value, hostile characters included (bypassing validation).
fn hostile_text() -> impl Strategy<Value = String> {
    prop_oneof![
        ".{0,40}",
        Just("a\u{202E}b\u{2066}c\u{200B}d\u{7}e\nf\r\tg".to_owned()),
        Just("{{id}}{".to_owned()),
        Just("<b>bold</b> & \"quoted\"".to_owned()),
        Just("\u{200B}\u{200D}".to_owned()),
    ]
}

fn hostile_profile() -> impl Strategy<Value = Profile> {
    (
        hostile_text(),
        -1e6f64..1e6,
        proptest::option::of(language()),
    )
        .prop_map(|(name, points, language)| {
            let mut profile = Profile {
                language,
                ..Profile::default()
            };
            profile
                .attributes
                .insert(AttrKey::parse("firstName").unwrap(), AttrValue::Text(name));
            profile
                .attributes
                .insert(AttrKey::parse("points").unwrap(), AttrValue::Number(points));
            profile
        })
}

fn is_control_or_bidi(c: char) -> bool {
    (c.is_control() && c != '\n') || is_bidi_control(c)
}

proptest! {
    #[test]
    fn any_is_or_and_all_is_and(
        conditions in prop::collection::vec(condition(), 1..5),
        profile in profile(),
    ) {
        let single: Vec<bool> = conditions
            .iter()
            .map(|c| rules_match(&rules_of(Match::All, vec![c.clone()]), Some(&profile)))
            .collect();
        prop_assert_eq!(
            rules_match(&rules_of(Match::Any, conditions.clone()), Some(&profile)),
            single.iter().any(|&b| b)
        );
        prop_assert_eq!(
            rules_match(&rules_of(Match::All, conditions.clone()), Some(&profile)),
            single.iter().all(|&b| b)
        );
        prop_assert!(!rules_match(&rules_of(Match::Any, conditions), None), "anonymous: no segment");
    }

    #[test]
    fn negations(condition in condition(), profile in profile()) {
        let holds = |c: &Condition| c.matches(&profile);
        prop_assert_eq!(holds(&with_op(&condition, Op::Missing)), !holds(&with_op(&condition, Op::Exists)));
        if let Operand::Many(values) = &condition.value {
            let one = Condition { value: Operand::One(values[0].clone()), ..condition.clone() };
            if present_and_comparable(&condition, &profile) {
                prop_assert_eq!(holds(&with_op(&condition, Op::Nin)), !holds(&with_op(&condition, Op::In)));
            }
            if present_and_comparable(&one, &profile) {
                prop_assert_eq!(holds(&with_op(&one, Op::Neq)), !holds(&with_op(&one, Op::Eq)));
                // `in` of one value is `eq`.
                let single = Condition { value: Operand::Many(vec![values[0].clone()]), ..one.clone() };
                prop_assert_eq!(holds(&with_op(&single, Op::In)), holds(&with_op(&one, Op::Eq)));
            }
        }
    }

    #[test]
    fn absent_fields_only_meet_missing(condition in condition()) {
        let nobody = Profile::default();
        let expected = matches!(
            (&condition.field, condition.op),
            (_, Op::Missing) | (Field::Tag, Op::Neq | Op::Nin)
        );
        prop_assert_eq!(condition.matches(&nobody), expected, "{:?}", condition);
    }

    #[test]
    fn segments_round_trip_through_their_wire_shape(conditions in prop::collection::vec(condition(), 1..5), any_of in any::<bool>()) {
        let spec = SegmentSpec {
            name: offers_core::SegmentName::parse("S").unwrap(),
            def: offers_core::SegmentDef::Rules(rules_of(if any_of { Match::Any } else { Match::All }, conditions)),
        };
        let json = serde_json::to_value(&spec).unwrap();
        let back = SegmentSpec::parse(&json);
        // Duplicate values of an `in` list are dropped on reading; compare by behaviour.
        prop_assert!(back.is_ok(), "{:?}", back);
    }

    #[test]
    fn segment_parsing_never_panics(text in "[\\[\\]{}\":,a-z0-9 .]{0,80}") {
        if let Ok(value) = serde_json::from_str::<Value>(&text) {
            let _ = SegmentSpec::parse(&value);
        }
    }

    #[test]
    fn merge_parsing_and_rendering_are_total(
        source in merge_source(),
        profile in hostile_profile(),
        id in proptest::option::of(hostile_text()),
        limit in 0usize..40,
    ) {
        let Ok(text) = MergeText::parse(&source) else { return Ok(()); };
        prop_assert!(text.written_len() <= source.chars().count());
        let vars = MergeVars::new(id.as_deref(), Some(&profile), None);
        if let Ok(rendered) = text.render(&vars, limit) {
            prop_assert!(rendered.chars().count() <= limit);
            prop_assert!(!rendered.contains("{{"), "{:?}", rendered);
            prop_assert_eq!(rendered.trim(), rendered.as_str());
            // Values never bring control or bidi characters; literal text keeps its own.
            if !source.chars().any(is_control_or_bidi) {
                prop_assert!(!rendered.chars().any(is_control_or_bidi), "{:?}", rendered);
            }
        }
    }

    #[test]
    fn a_text_without_tags_renders_to_itself(source in "[^{]{0,60}") {
        let text = MergeText::parse(&source).unwrap();
        prop_assert!(!text.has_tags());
        prop_assert_eq!(text.written_len(), source.chars().count());
        prop_assert_eq!(text.render(&MergeVars::default(), usize::MAX).unwrap(), source.trim());
    }

    #[test]
    fn rendered_offer_texts_fit_their_fields(
        source in merge_source(),
        profile in hostile_profile(),
    ) {
        let vars = MergeVars::new(Some("u1"), Some(&profile), None);
        if let Ok(title) = Title::parse(&source)
            && let Ok(rendered) = MergeText::parse(title.as_str()).unwrap().render(&vars, TITLE_MAX_CHARS)
            && !rendered.is_empty()
        {
            // What the server sends is a valid title again (the widget reads it as one).
            let again = Title::parse(&rendered);
            prop_assert!(again.is_ok() || rendered.chars().all(offers_core::text::is_invisible), "{:?} {:?}", rendered, again);
        }
        if let Ok(body) = BodyText::parse(&source) {
            prop_assert!(MergeText::parse(body.as_str()).unwrap().written_len() <= BODY_MAX_CHARS);
        }
    }

    #[test]
    fn links_stay_links(
        query in merge_source(),
        profile in hostile_profile(),
    ) {
        if let Ok(link) = HttpUrl::parse_link(&format!("https://a.example/p?{query}")) {
            let vars = MergeVars::new(Some("u 1"), Some(&profile), None);
            if let Ok(rendered) = render_link_query(&link, &vars) {
                prop_assert!(HttpUrl::parse(rendered.as_str()).is_ok());
                prop_assert!(rendered.as_str().starts_with("https://a.example/p?"));
                prop_assert!(!rendered.as_str().contains("{{"));
            }
        }
    }

    #[test]
    fn language_tags(text in "[A-Za-z0-9_;=.,@*-]{0,20}") {
        if let Ok(tag) = LanguageTag::parse(&text) {
            prop_assert_eq!(LanguageTag::parse(tag.as_str()).unwrap(), tag.clone());
            prop_assert!(LanguageTag::parse(&text.to_uppercase()).unwrap() == tag);
            prop_assert!(LanguageTag::parse(tag.primary()).unwrap().matches(&tag));
        }
        let _ = LanguageTag::from_accept(&text);
    }

    #[test]
    fn best_translation_is_the_closest_available(
        available in prop::collection::btree_set(language(), 0..4),
        wanted in proptest::option::of(language()),
    ) {
        let translations: BTreeMap<LanguageTag, ()> = available.iter().map(|l| (l.clone(), ())).collect();
        match (best_translation(&translations, wanted.as_ref()), &wanted) {
            (Some((found, ())), Some(wanted)) => {
                prop_assert!(found.matches(wanted));
                // Nothing more specific that also matches was available.
                prop_assert!(!available.iter().any(|l| l != found && l.matches(wanted) && found.matches(l)));
            }
            (None, Some(wanted)) => prop_assert!(!available.iter().any(|l| l.matches(wanted))),
            (found, None) => prop_assert!(found.is_none()),
        }
    }

    #[test]
    fn profile_input_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        if let Ok(bulk) = parse_profiles_csv(&bytes) {
            let lines = bytes.split(|&b| b == b'\n').count();
            for rejection in &bulk.rejected {
                prop_assert!(rejection.line >= 2 && rejection.line <= lines);
                prop_assert!(!rejection.reason.is_empty());
            }
        }
    }

    #[test]
    fn profile_csv_of_plausible_text_never_panics(text in "(id|language|tags|points|[a-z\"|,]{0,8})(,[a-z0-9\"|. ]{0,8}){0,4}(\r?\n[a-z0-9\"|,. -]{0,20}){0,6}") {
        if let Ok(bulk) = parse_profiles_csv(text.as_bytes()) {
            let mut ids: Vec<&str> = bulk.rows.iter().map(|r| r.id.as_str()).collect();
            let count = ids.len();
            ids.sort_unstable();
            ids.dedup();
            prop_assert_eq!(ids.len(), count, "one row per user");
        }
    }

    #[test]
    fn profile_json_never_panics(text in "[\\[\\]{}\":,a-z0-9 .]{0,80}") {
        if let Ok(value) = serde_json::from_str::<Value>(&text) {
            let _ = Profile::parse(&value);
            if let Ok(bulk) = parse_profiles_json(&value) {
                let total = value.as_array().map_or(0, Vec::len);
                prop_assert!(bulk.rows.len() + bulk.rejected.len() <= total);
                // Read element by element, the same array (without repeated keys, which
                // `Value` silently merges) gives the same answer.
                if offers_core::strict_json::parse(text.as_bytes()).is_ok() {
                    let items: Vec<&serde_json::value::RawValue> =
                        serde_json::from_str(&text).expect("an array of values");
                    prop_assert_eq!(parse_profiles_json_elements(&items), Ok(bulk));
                }
            }
        }
    }
}
