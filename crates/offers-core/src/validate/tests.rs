use super::*;
use chrono::{TimeZone, Utc};
use serde_json::json;

fn draft(value: Value) -> OfferDraft {
    serde_json::from_value(value).unwrap()
}

fn text_offer() -> Value {
    json!({
        "template": 10, "title": "Title", "text": "Text", "linkText": "Click me",
        "link": "https://www.watchers.io/", "startTime": "2024-05-22T12:00:01.000Z"
    })
}

fn with(mut base: Value, key: &str, value: Value) -> OfferDraft {
    base[key] = value;
    draft(base)
}

fn without(mut base: Value, key: &str) -> OfferDraft {
    base.as_object_mut().unwrap().remove(key);
    draft(base)
}

fn errors(d: &OfferDraft) -> FieldErrors {
    validate(d).expect_err("expected errors")
}

fn error(d: &OfferDraft, key: &str) -> String {
    let errors = errors(d);
    errors
        .get(key)
        .unwrap_or_else(|| panic!("no error for {key}: {errors}"))
        .to_owned()
}

#[test]
fn minimal_text_offer_gets_defaults() {
    let spec = validate(&draft(text_offer())).unwrap();
    assert_eq!(spec.template, Template::Text);
    assert_eq!(spec.title.unwrap().as_str(), "Title");
    assert_eq!(spec.link_text.unwrap().as_str(), "Click me");
    assert_eq!(spec.template_data, TemplateData::default());
    assert_eq!(spec.view_type, ViewType::Popup);
    assert_eq!(
        spec.start_time,
        Utc.with_ymd_and_hms(2024, 5, 22, 12, 0, 1).unwrap()
    );
    assert_eq!(spec.end_time, None);
    assert!(!spec.show_multiple_times);
    assert_eq!(spec.show_frequency, ShowFrequency::OnEntry);
    assert_eq!(spec.show_delay_ms, 0);
    assert_eq!(spec.audience, Audience::global());
    assert_eq!(spec.pic, None);
}

#[test]
fn empty_draft_reports_every_required_field() {
    let errors = errors(&OfferDraft::default());
    assert_eq!(errors.get("template"), Some("required"));
    assert_eq!(errors.get("link"), Some("required"));
    assert_eq!(errors.get("startTime"), Some("required"));
    // Without a valid template, template-dependent fields are not required.
    assert_eq!(errors.len(), 3, "{errors}");
}

#[test]
fn template_rules() {
    for bad in [
        json!(9),
        json!(15),
        json!("abc"),
        json!(10.5),
        json!(true),
        json!([10]),
    ] {
        assert_eq!(
            error(&with(text_offer(), "template", bad.clone()), "template"),
            "must be an integer between 10 and 14",
            "{bad}"
        );
    }
    assert_eq!(
        error(&without(text_offer(), "template"), "template"),
        "required"
    );
    assert_eq!(
        error(&with(text_offer(), "template", json!("")), "template"),
        "required"
    );
    assert!(validate(&with(text_offer(), "template", json!("10"))).is_ok());
    assert!(validate(&with(text_offer(), "template", json!(" 10 "))).is_ok());
}

#[test]
fn text_templates_need_title_text_and_button() {
    for template in [10, 12, 13, 14] {
        let mut base = text_offer();
        base["template"] = json!(template);
        base["pic"] = json!("https://a.example/p.png");
        assert!(validate(&draft(base.clone())).is_ok(), "{template}");
        for key in ["title", "text", "linkText"] {
            assert_eq!(
                error(&without(base.clone(), key), key),
                "required",
                "{template} {key}"
            );
            assert_eq!(error(&with(base.clone(), key, json!("")), key), "required");
            assert_eq!(
                error(&with(base.clone(), key, json!(null)), key),
                "required"
            );
        }
    }
}

#[test]
fn pic_templates_need_a_pic() {
    for template in [11, 12, 13, 14] {
        let d = with(text_offer(), "template", json!(template));
        assert_eq!(error(&d, "pic"), "required", "{template}");
    }
    assert!(validate(&draft(text_offer())).is_ok(), "10 needs no pic");
    assert_eq!(
        error(
            &with(text_offer(), "pic", json!("data:image/png;base64,AAAA")),
            "pic"
        ),
        "must be an absolute http or https URL"
    );
}

#[test]
fn banner_needs_only_link_and_pic() {
    let d = draft(json!({
        "template": 11, "pic": "https://watchers.io/_next/static/media/hand-03.16265125.webp",
        "link": "https://www.watchers.io/", "startTime": "2024-05-22T12:00:01.000Z"
    }));
    let spec = validate(&d).unwrap();
    assert_eq!(spec.template, Template::Banner);
    assert_eq!(spec.title, None);
    assert_eq!(spec.link_text, None);
    // Optional fields are still checked when given.
    let mut long_title = serde_json::to_value(&d).unwrap();
    long_title["title"] = json!("x".repeat(30));
    assert_eq!(
        error(&draft(long_title), "title"),
        "at most 23 characters (got 30)"
    );
}

#[test]
fn text_lengths() {
    assert_eq!(
        error(&with(text_offer(), "title", json!("a".repeat(30))), "title"),
        "at most 23 characters (got 30)"
    );
    assert!(validate(&with(text_offer(), "title", json!("🎉".repeat(23)))).is_ok());
    assert_eq!(
        error(
            &with(text_offer(), "title", json!("🎉".repeat(24))),
            "title"
        ),
        "at most 23 characters (got 24)"
    );
    assert_eq!(
        error(&with(text_offer(), "text", json!("t".repeat(181))), "text"),
        "at most 180 characters (got 181)"
    );
    assert_eq!(
        error(
            &with(text_offer(), "linkText", json!("b".repeat(81))),
            "linkText"
        ),
        "at most 80 characters (got 81)"
    );
    assert_eq!(
        error(&with(text_offer(), "title", json!(42)), "title"),
        "must be a string"
    );
    assert_eq!(
        error(&with(text_offer(), "text", json!("a\u{0}b")), "text"),
        "must not contain control characters other than line breaks"
    );
}

#[test]
fn link_rules() {
    assert_eq!(error(&without(text_offer(), "link"), "link"), "required");
    for bad in [
        "javascript:alert(1)",
        "/relative",
        "//host/x",
        "www.example.com",
    ] {
        assert_eq!(
            error(&with(text_offer(), "link", json!(bad)), "link"),
            "must be an absolute http or https URL"
        );
    }
    assert_eq!(
        error(&with(text_offer(), "link", json!({"href": "x"})), "link"),
        "must be a string"
    );
}

#[test]
fn template_data_text_with_a_repeated_key_is_refused() {
    // A multipart or urlencoded `templateData` part is JSON text: a key repeated inside it is
    // refused like a repeated key of a JSON body.
    let text = r##"{"bgColor": "#000", "alignment": "left", "bgColor": "#fff"}"##;
    let errors = validate(&with(text_offer(), "templateData", json!(text))).unwrap_err();
    assert_eq!(
        errors.get("templateData.bgColor"),
        Some("given more than once")
    );
    assert_eq!(errors.len(), 1, "{errors}");
}

#[test]
fn template_data_accepts_object_string_or_nothing() {
    let object = json!({"alignment": "left", "bgColor": "#ABC"});
    let spec = validate(&with(text_offer(), "templateData", object.clone())).unwrap();
    assert_eq!(spec.template_data.alignment, Alignment::Left);
    assert_eq!(spec.template_data.bg_color.as_str(), "#abc");
    assert_eq!(spec.template_data.btn_color.as_str(), "#1890bf", "default");

    let as_string = with(text_offer(), "templateData", json!(object.to_string()));
    assert_eq!(
        validate(&as_string).unwrap().template_data,
        spec.template_data
    );

    let double_encoded = with(
        text_offer(),
        "templateData",
        json!(json!(object.to_string()).to_string()),
    );
    assert_eq!(
        validate(&double_encoded).unwrap().template_data,
        spec.template_data
    );

    for empty in [json!(null), json!(""), json!({})] {
        assert_eq!(
            validate(&with(text_offer(), "templateData", empty))
                .unwrap()
                .template_data,
            TemplateData::default()
        );
    }
    for bad in [
        json!("{not json"),
        json!("[1]"),
        json!(5),
        json!([]),
        json!("\"x\""),
    ] {
        assert_eq!(
            error(
                &with(text_offer(), "templateData", bad.clone()),
                "templateData"
            ),
            "must be a JSON object",
            "{bad}"
        );
    }
}

#[test]
fn template_data_field_errors() {
    let d = with(
        text_offer(),
        "templateData",
        json!({
            "alignment": "middle", "bgColor": "red;background:url(x)",
            "btnColor": "expression(alert(1))", "btnTextColor": 3, "textColor": "#ff000",
            "gradient": "maybe", "gradientDirection": "sideways", "fontFamily": "Comic Sans"
        }),
    );
    let errors = errors(&d);
    let color = "must be a CSS color: #rgb, #rrggbb, #rrggbbaa, rgb()/rgba() or a color name";
    assert_eq!(
        errors.get("templateData.alignment"),
        Some("must be left, center or right")
    );
    assert_eq!(errors.get("templateData.bgColor"), Some(color));
    assert_eq!(errors.get("templateData.btnColor"), Some(color));
    assert_eq!(errors.get("templateData.btnTextColor"), Some(color));
    assert_eq!(errors.get("templateData.textColor"), Some(color));
    assert_eq!(
        errors.get("templateData.gradient"),
        Some("must be true or false")
    );
    assert_eq!(
        errors.get("templateData.gradientDirection"),
        Some(crate::color::DIRECTION_REASON)
    );
    assert_eq!(errors.get("templateData.fontFamily"), Some("unknown field"));
    assert_eq!(errors.len(), 8, "{errors}");
}

#[test]
fn gradient_requires_its_three_fields() {
    let d = with(text_offer(), "templateData", json!({"gradient": true}));
    let errors = errors(&d);
    for key in ["gradientFrom", "gradientTo", "gradientDirection"] {
        assert_eq!(
            errors.get(&format!("templateData.{key}")),
            Some("required when gradient is true"),
            "{key}"
        );
    }
    let d = with(
        text_offer(),
        "templateData",
        json!({"gradient": "true", "gradientFrom": "#fff", "gradientTo": "red",
               "gradientDirection": "to top left"}),
    );
    let data = validate(&d).unwrap().template_data;
    assert!(data.gradient);
    assert_eq!(data.gradient_direction.unwrap().as_str(), "to top left");
    // Gradient colors may be kept while the gradient is off.
    let d = with(
        text_offer(),
        "templateData",
        json!({"gradient": false, "gradientFrom": "#fff"}),
    );
    assert_eq!(
        validate(&d)
            .unwrap()
            .template_data
            .gradient_from
            .unwrap()
            .as_str(),
        "#fff"
    );
}

#[test]
fn view_type_rules() {
    let spec = validate(&with(text_offer(), "viewType", json!("IN_FEED"))).unwrap();
    assert_eq!(spec.view_type, ViewType::InFeed);
    assert_eq!(
        error(&with(text_offer(), "viewType", json!("MODAL")), "viewType"),
        "must be POPUP or IN_FEED"
    );
    assert_eq!(
        error(&with(text_offer(), "viewType", json!(1)), "viewType"),
        "must be POPUP or IN_FEED"
    );
}

#[test]
fn time_rules() {
    let reason = "must be an ISO-8601 date-time with a time zone, e.g. 2024-05-22T12:00:01.000Z";
    assert_eq!(
        error(&without(text_offer(), "startTime"), "startTime"),
        "required"
    );
    for bad in [
        json!("2024-05-22"),
        json!("2024-05-22T12:00:01"),
        json!(1716379201000i64),
        json!("soon"),
    ] {
        assert_eq!(
            error(&with(text_offer(), "startTime", bad.clone()), "startTime"),
            reason,
            "{bad}"
        );
    }
    let offset = validate(&with(
        text_offer(),
        "startTime",
        json!("2024-05-22T14:00:01+02:00"),
    ))
    .unwrap();
    assert_eq!(
        offset.start_time,
        Utc.with_ymd_and_hms(2024, 5, 22, 12, 0, 1).unwrap()
    );
    let ok = validate(&with(
        text_offer(),
        "endTime",
        json!("2024-05-23T00:00:00Z"),
    ))
    .unwrap();
    assert_eq!(
        ok.end_time,
        Some(Utc.with_ymd_and_hms(2024, 5, 23, 0, 0, 0).unwrap())
    );
    for not_after in ["2024-05-22T12:00:01.000Z", "2024-05-21T00:00:00Z"] {
        assert_eq!(
            error(&with(text_offer(), "endTime", json!(not_after)), "endTime"),
            "must be after startTime"
        );
    }
    assert_eq!(
        error(&with(text_offer(), "endTime", json!("later")), "endTime"),
        reason
    );
    for absent in [json!(null), json!("")] {
        assert_eq!(
            validate(&with(text_offer(), "endTime", absent))
                .unwrap()
                .end_time,
            None
        );
    }
}

#[test]
fn show_options() {
    for (value, expected) in [
        (json!(true), true),
        (json!("TRUE"), true),
        (json!("1"), true),
        (json!("false"), false),
        (json!("0"), false),
    ] {
        let spec = validate(&with(text_offer(), "showMultipleTimes", value)).unwrap();
        assert_eq!(spec.show_multiple_times, expected);
    }
    assert_eq!(
        error(
            &with(text_offer(), "showMultipleTimes", json!("yes")),
            "showMultipleTimes"
        ),
        "must be true or false"
    );

    let daily = validate(&with(text_offer(), "showFrerquency", json!("DAILY"))).unwrap();
    assert_eq!(daily.show_frequency, ShowFrequency::Daily);
    let alias = validate(&with(text_offer(), "showFrequency", json!("DAILY"))).unwrap();
    assert_eq!(alias.show_frequency, ShowFrequency::Daily);
    assert_eq!(
        error(
            &with(text_offer(), "showFrequency", json!("GLOBAL")),
            "showFrerquency"
        ),
        "must be ON_ENTRY or DAILY"
    );

    for (value, expected) in [
        (json!(0), 0),
        (json!("10"), 10),
        (json!(86_400_000), 86_400_000),
    ] {
        let spec = validate(&with(text_offer(), "showDelayMS", value)).unwrap();
        assert_eq!(spec.show_delay_ms, expected);
    }
    for bad in [
        json!(-1),
        json!("-5"),
        json!(1.5),
        json!("1.5"),
        json!("soon"),
        json!(86_400_001),
        json!(true),
    ] {
        assert_eq!(
            error(
                &with(text_offer(), "showDelayMS", bad.clone()),
                "showDelayMS"
            ),
            "must be a whole number of milliseconds between 0 and 86400000",
            "{bad}"
        );
    }
}

#[test]
fn audience_rules() {
    assert_eq!(
        error(&with(text_offer(), "type", json!("EVERYONE")), "type"),
        "must be GLOBAL, ROOM or USER"
    );
    assert_eq!(
        error(
            &with(text_offer(), "type", json!("ROOM")),
            "externalRoomIds"
        ),
        "required for type ROOM"
    );
    assert_eq!(
        error(
            &with(text_offer(), "type", json!("USER")),
            "externalUserIds"
        ),
        "required for type USER"
    );

    let mut room = text_offer();
    room["type"] = json!("ROOM");
    room["externalRoomIds"] = json!(["r1", " r2 ", "", "r1"]);
    let spec = validate(&draft(room.clone())).unwrap();
    let rooms: Vec<&str> = spec.audience.rooms.iter().map(ExternalId::as_str).collect();
    assert_eq!(rooms, ["r1", "r2"]);
    assert!(spec.audience.users.is_empty());

    room["externalUserIds"] = json!(["u1"]);
    assert_eq!(
        error(&draft(room.clone()), "externalUserIds"),
        "only used with type USER"
    );
    room["externalUserIds"] = json!([]);
    assert!(
        validate(&draft(room)).is_ok(),
        "an empty unused list is fine"
    );

    let global = with(text_offer(), "externalRoomIds", json!("r1"));
    assert_eq!(
        error(&global, "externalRoomIds"),
        "only used with type ROOM"
    );

    let mut user = text_offer();
    user["type"] = json!("user");
    user["externalUserIds"] = json!("u1, u2,,u1");
    let spec = validate(&draft(user.clone())).unwrap();
    assert_eq!(spec.audience.kind, AudienceType::User);
    assert_eq!(spec.audience.users.len(), 2);
    user["externalRoomIds"] = json!(["r1"]);
    assert_eq!(
        error(&draft(user), "externalRoomIds"),
        "only used with type ROOM"
    );
}

#[test]
fn id_list_forms_and_errors() {
    let mut user = text_offer();
    user["type"] = json!("USER");
    let users = |value: Value| {
        let mut d = user.clone();
        d["externalUserIds"] = value;
        validate(&draft(d)).map(|spec| {
            spec.audience
                .users
                .iter()
                .map(|id| id.as_str().to_owned())
                .collect::<Vec<_>>()
        })
    };
    assert_eq!(users(json!("[\"a\", \"b\"]")).unwrap(), ["a", "b"]);
    assert_eq!(users(json!([12345, "x"])).unwrap(), ["12345", "x"]);
    assert_eq!(users(json!("a,b , c")).unwrap(), ["a", "b", "c"]);

    let err = |value: Value| {
        users(value)
            .unwrap_err()
            .get("externalUserIds")
            .unwrap()
            .to_owned()
    };
    assert_eq!(
        err(json!(["ok", "x".repeat(129), null])),
        "id 2: at most 128 characters (got 129); id 3: must be a string"
    );
    assert_eq!(
        err(json!(["a\u{1}", "b\u{1}", "c\u{1}", "d\u{1}", "e\u{1}"])),
        "id 1: must not contain control characters; id 2: must not contain control characters; \
         id 3: must not contain control characters; and 2 more"
    );
    assert_eq!(
        err(json!("[not json")),
        "must be an array of ids, a JSON array or a comma-separated list"
    );
    assert_eq!(
        err(json!({"a": 1})),
        "must be an array of ids, a JSON array or a comma-separated list"
    );
    assert_eq!(err(json!([])), "required for type USER");

    let many: Vec<String> = (0..=MAX_IDS).map(|i| format!("u{i}")).collect();
    assert_eq!(err(json!(many)), "at most 10000 ids (got 10001)");
    let exactly: Vec<String> = (0..MAX_IDS).map(|i| format!("u{i}")).collect();
    assert_eq!(users(json!(exactly)).unwrap().len(), MAX_IDS);
}

#[test]
fn every_error_is_reported_at_once() {
    let d = draft(json!({
        "template": 12, "title": "x".repeat(24), "link": "javascript:alert(1)",
        "templateData": {"bgColor": "nope"}, "startTime": "2024-05-22T12:00:00Z",
        "endTime": "2024-05-22T11:00:00Z", "showDelayMS": -1, "type": "ROOM",
        "showFrerquency": "WEEKLY", "viewType": "x", "showMultipleTimes": "x"
    }));
    let errors = errors(&d);
    let keys: Vec<&str> = errors.iter().map(|(k, _)| k).collect();
    assert_eq!(
        keys,
        [
            "endTime",
            "externalRoomIds",
            "link",
            "linkText",
            "pic",
            "showDelayMS",
            "showFrerquency",
            "showMultipleTimes",
            "templateData.bgColor",
            "text",
            "title",
            "viewType",
        ]
    );
}

#[test]
fn validate_field_looks_one_field_up() {
    let d = with(text_offer(), "title", json!("x".repeat(30)));
    assert_eq!(
        validate_field(&d, "title").as_deref(),
        Some("at most 23 characters (got 30)")
    );
    assert_eq!(validate_field(&d, "text"), None);
    assert_eq!(validate_field(&draft(text_offer()), "title"), None);
    let d = with(text_offer(), "templateData", json!({"bgColor": "x"}));
    assert!(
        validate_field(&d, "templateData")
            .unwrap()
            .starts_with("bgColor: must be a CSS color")
    );
    assert!(
        validate_field(&d, "templateData.bgColor")
            .unwrap()
            .starts_with("must be a CSS color")
    );
    let d = with(text_offer(), "showFrerquency", json!("x"));
    assert!(validate_field(&d, "showFrequency").is_some());
}

#[test]
fn patch_overlay_clears_end_time_and_revalidates() {
    let mut stored = text_offer();
    stored["endTime"] = json!("2024-06-01T00:00:00.000Z");
    stored["template"] = json!(12);
    stored["pic"] = json!("https://a.example/p.png");
    let spec = validate(&draft(stored)).unwrap();
    assert!(spec.end_time.is_some());

    let patch = draft(json!({"endTime": null, "title": "New title"}));
    let patched = validate(&OfferDraft::from(&spec).overlay(patch)).unwrap();
    assert_eq!(patched.end_time, None);
    assert_eq!(patched.title.as_ref().unwrap().as_str(), "New title");
    assert_eq!(patched.text, spec.text);
    assert_eq!(patched.pic, spec.pic);

    // Re-validated as a whole: clearing the pic of a picture template is an error.
    let patch = draft(json!({"pic": null}));
    let errors = validate(&OfferDraft::from(&spec).overlay(patch)).unwrap_err();
    assert_eq!(errors.get("pic"), Some("required"));

    // Switching a room offer to GLOBAL needs the room list cleared too.
    let mut room = text_offer();
    room["type"] = json!("ROOM");
    room["externalRoomIds"] = json!(["r1"]);
    let spec = validate(&draft(room)).unwrap();
    let only_type = draft(json!({"type": "GLOBAL"}));
    assert_eq!(
        validate(&OfferDraft::from(&spec).overlay(only_type))
            .unwrap_err()
            .get("externalRoomIds"),
        Some("only used with type ROOM")
    );
    let cleared = draft(json!({"type": "GLOBAL", "externalRoomIds": ""}));
    assert_eq!(
        validate(&OfferDraft::from(&spec).overlay(cleared))
            .unwrap()
            .audience,
        Audience::global()
    );
}

#[test]
fn audience_fields_are_validated() {
    let base = json!({
        "template": 11, "link": "https://a.example/", "pic": "https://a.example/p.png",
        "startTime": "2024-05-22T12:00:01Z"
    });
    let mut full = base.clone();
    for (key, value) in [
        ("name", json!("Spring sale")),
        ("tags", json!(["b", "a", "b"])),
        ("segmentIds", json!([3, "4", 3])),
        ("excludeSegmentIds", json!("5, 6")),
        (
            "translations",
            json!({"de-at": {"title": "Hallo {{firstName|du}}"}, "pt-BR": {"pic": "https://a.example/pt.png"}, "fr": {}}),
        ),
    ] {
        full[key] = value;
    }
    let spec = validate(&draft(full)).unwrap();
    assert_eq!(spec.name.as_ref().unwrap().as_str(), "Spring sale");
    assert_eq!(
        spec.tags.iter().map(|t| t.as_str()).collect::<Vec<_>>(),
        ["a", "b"]
    );
    assert_eq!(spec.segment_ids, [3, 4]);
    assert_eq!(spec.exclude_segment_ids, [5, 6]);
    let languages: Vec<&str> = spec.translations.keys().map(|l| l.as_str()).collect();
    assert_eq!(
        languages,
        ["de-AT", "pt-BR"],
        "canonical, empty ones dropped"
    );
    assert!(spec.is_personalized() && spec.uses_segments());
    assert_eq!(validate(&OfferDraft::from(&spec)), Ok(spec.clone()));
    let stored: crate::model::OfferSpec =
        serde_json::from_value(serde_json::to_value(&spec).unwrap()).unwrap();
    assert_eq!(stored, spec);

    let mut bad = base.clone();
    for (key, value) in [
        ("name", json!("x".repeat(81))),
        ("tags", json!(["ok", "a|b", true])),
        ("segmentIds", json!([1, 0, "x"])),
        ("excludeSegmentIds", json!([1])),
        (
            "translations",
            json!({"xx-": {"title": "T"}, "de": {"title": "{{first name}}", "colour": "red"}, "en": "Hello"}),
        ),
    ] {
        bad[key] = value;
    }
    let errors = validate(&draft(bad)).unwrap_err();
    for (field, reason) in [
        ("name", "at most 80 characters (got 81)"),
        ("tags[1]", "must not contain |"),
        ("tags[2]", "must be a string"),
        ("segmentIds[1]", "must be a positive integer (a segment id)"),
        ("segmentIds[2]", "must be a positive integer (a segment id)"),
        ("translations.xx-", crate::language::LANGUAGE_REASON),
        (
            "translations.de.title",
            "unknown variable 'first name' (use id, language, attributes.<key> or <key>)",
        ),
        ("translations.de.colour", "unknown field"),
        (
            "translations.en",
            "must be an object {\"title\", \"text\", \"linkText\", \"pic\"}",
        ),
    ] {
        assert_eq!(errors.get(field), Some(reason), "{field}: {errors}");
    }
    let mut both = base.clone();
    both["segmentIds"] = json!([1]);
    both["excludeSegmentIds"] = json!([1]);
    assert_eq!(
        validate(&draft(both.clone()))
            .unwrap_err()
            .get("excludeSegmentIds"),
        Some("segment 1 is also in segmentIds")
    );
    let mut many = base.clone();
    many["segmentIds"] = json!((1..=21).collect::<Vec<i64>>());
    assert_eq!(
        validate(&draft(many)).unwrap_err().get("segmentIds"),
        Some("at most 20 segments (got 21)")
    );
    let mut tagged = base.clone();
    tagged["tags"] = json!(["a", "b|c"]);
    assert_eq!(
        validate_field(&draft(tagged), "tags").as_deref(),
        Some("tags[1]: must not contain |")
    );
    let mut translated = base;
    translated["translations"] = json!("{\"de\": {\"linkText\": \"\"}}");
    assert!(
        validate(&draft(translated))
            .unwrap()
            .translations
            .is_empty()
    );
}

#[test]
fn merge_tags_in_texts_and_links() {
    let offer = json!({
        "template": 10, "title": "Hi {{firstName|there}}", "text": "You have {{points|no}} points",
        "linkText": "Go {{firstName}}", "link": "https://a.example/?n={{firstName|a%20friend}}",
        "startTime": "2024-05-22T12:00:01Z"
    });
    let spec = validate(&draft(offer.clone())).unwrap();
    assert_eq!(
        spec.link.as_str(),
        "https://a.example/?n={{firstName|a%20friend}}"
    );
    let errors = validate(&with(
        offer.clone(),
        "link",
        json!("https://a.example/{{id}}"),
    ))
    .unwrap_err();
    assert_eq!(
        errors.get("link"),
        Some(crate::http_url::MERGE_OUTSIDE_QUERY)
    );
    let errors = validate(&with(offer, "title", json!("Hi {{firstName"))).unwrap_err();
    assert_eq!(
        errors.get("title"),
        Some("unclosed merge tag at character 4")
    );
}

#[test]
fn campaign_fields_default_and_round_trip() {
    let spec = validate(&draft(text_offer())).unwrap();
    assert_eq!(
        (spec.trigger.is_none(), spec.priority, spec.variants.len()),
        (true, 0, 0)
    );
    assert_eq!(spec.holdout_percent, 0);

    let mut body = text_offer();
    body["trigger"] = json!({"event": "deposit_failed",
        "conditions": [{"field": "props.amount", "op": "gte", "value": 20}], "delayMS": 1500});
    body["priority"] = json!(-1000);
    body["holdoutPercent"] = json!("50");
    body["variants"] = json!([
        {"weight": 70, "title": "Hi {{firstName|there}}"},
        {"weight": "30", "text": "Other", "templateData": {"bgColor": "#000"}}
    ]);
    let spec = validate(&draft(body)).unwrap();
    let trigger = spec.trigger.as_ref().unwrap();
    assert_eq!(
        (
            trigger.event.as_str(),
            trigger.delay_ms,
            trigger.conditions.len()
        ),
        ("deposit_failed", 1500, 1)
    );
    assert_eq!((spec.priority, spec.holdout_percent), (-1000, 50));
    assert_eq!(spec.variants[0].weight, 70);
    assert_eq!(
        spec.variants[1].content.text.as_ref().unwrap().as_str(),
        "Other"
    );
    assert_eq!(
        spec.variants[1]
            .template_data
            .as_ref()
            .unwrap()
            .bg_color
            .as_str(),
        "#000"
    );
    assert!(
        spec.is_personalized(),
        "a variant's merge tag personalizes the offer"
    );
    // The stored spec and the PATCH draft round-trip.
    let stored: OfferSpec = serde_json::from_value(serde_json::to_value(&spec).unwrap()).unwrap();
    assert_eq!(stored, spec);
    assert_eq!(validate(&OfferDraft::from(&spec)).unwrap(), spec);
    // A PATCH with `"trigger": null` clears it; the rest stays.
    let patch = draft(json!({"trigger": null, "variants": []}));
    let patched = validate(&OfferDraft::from(&spec).overlay(patch)).unwrap();
    assert_eq!((patched.trigger, patched.variants.len()), (None, 0));
    assert_eq!(patched.priority, -1000);

    // Form encodings: JSON strings.
    let mut form = text_offer();
    form["trigger"] = json!("{\"event\": \"e\"}");
    form["variants"] = json!("[{\"weight\": 1}, {\"weight\": 2}]");
    form["priority"] = json!("7");
    let spec = validate(&draft(form)).unwrap();
    assert_eq!(spec.trigger.unwrap().event.as_str(), "e");
    assert_eq!((spec.variants.len(), spec.priority), (2, 7));

    // Old stored specs (without the fields) still read.
    let mut old = serde_json::to_value(OfferSpec::example()).unwrap();
    for key in ["trigger", "priority", "variants", "holdoutPercent"] {
        assert!(old.get(key).is_none(), "{key} left out when default");
    }
    old.as_object_mut().unwrap().remove("translations");
    let read: OfferSpec = serde_json::from_value(old).unwrap();
    assert_eq!(read, OfferSpec::example());
}

#[test]
fn campaign_field_errors_are_keyed() {
    let mut body = text_offer();
    body["trigger"] = json!({"event": "no spaces", "delayMS": 86_400_001,
        "conditions": [{"field": "props.amount", "op": "between", "value": 1}]});
    body["priority"] = json!(1001);
    body["holdoutPercent"] = json!(51);
    body["variants"] = json!([
        {"weight": 0, "title": "x".repeat(24)},
        {"title": "ok", "templateData": {"bgColor": "url(x)"}, "colour": 1},
        "nope"
    ]);
    let errors = errors(&draft(body));
    for key in [
        "trigger.event",
        "trigger.delayMS",
        "trigger.conditions[0].op",
        "priority",
        "holdoutPercent",
        "variants[0].weight",
        "variants[0].title",
        "variants[1].weight",
        "variants[1].templateData.bgColor",
        "variants[1].colour",
        "variants[2]",
    ] {
        assert!(errors.contains(key), "{key}: {errors}");
    }
    assert_eq!(errors.get("variants[1].weight"), Some(REQUIRED));
    assert_eq!(
        error(
            &with(text_offer(), "variants", json!([{"weight": 1}])),
            "variants"
        ),
        "give 2 to 5 variants, or none (got 1)"
    );
    assert!(errors_for(json!(6)).contains("variants"));
    assert_eq!(
        error(&with(text_offer(), "trigger", json!(5)), "trigger"),
        "must be a JSON object"
    );
    assert_eq!(
        error(&with(text_offer(), "trigger", json!({})), "trigger.event"),
        REQUIRED
    );
    assert_eq!(
        error(&with(text_offer(), "priority", json!("high")), "priority"),
        "must be an integer between -1000 and 1000"
    );
    assert_eq!(
        validate_field(
            &with(text_offer(), "trigger", json!({"event": ""})),
            "trigger"
        )
        .as_deref(),
        Some("event: must be 1-64 characters of A-Z, a-z, 0-9, _ . : -")
    );
}

fn errors_for(variants_count: Value) -> FieldErrors {
    let count = variants_count.as_u64().unwrap() as usize;
    let list: Vec<Value> = (0..count).map(|_| json!({"weight": 1})).collect();
    errors(&with(text_offer(), "variants", Value::Array(list)))
}
