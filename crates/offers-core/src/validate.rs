//! [`validate`]: an [`OfferDraft`] in, an [`OfferSpec`] or every field error out.
//!
//! The rules are SPEC §2. Values are coerced first (multipart parts are all strings):
//! numbers accept JSON numbers or numeric strings, booleans accept `true`/`false` (also
//! as strings, any case) and `"1"`/`"0"`, and an empty string for an optional field
//! means "absent". Errors are keyed by wire field name (`templateData.bgColor` inside
//! the template data) and worded short and lower-case.

use std::borrow::Cow;
use std::collections::btree_map::Entry;
use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};

use crate::campaign::variant::{MAX_HOLDOUT_PERCENT, MAX_VARIANTS, MAX_WEIGHT, MIN_VARIANTS};
use crate::campaign::{Trigger, Variant};
use crate::coerce;
use crate::draft::OfferDraft;
pub use crate::error::FieldErrors;
use crate::model::{
    Alignment, Audience, AudienceType, BodyText, ButtonText, CssColor, ExternalId,
    GradientDirection, HttpUrl, LanguageTag, MAX_OFFER_SEGMENTS, MAX_OFFER_TAGS, MAX_PRIORITY,
    MAX_TRANSLATIONS, MIN_PRIORITY, OfferName, OfferSpec, OfferTag, ShowFrequency, TEMPLATE_REASON,
    Template, TemplateData, Title, Translation, ViewType,
};
use crate::time::{TIMESTAMP_REASON, parse_timestamp};

/// The reason for a missing required field.
pub const REQUIRED: &str = "required";
/// The longest allowed `showDelayMS` (one day).
pub const MAX_DELAY_MS: u64 = 86_400_000;
/// The most ids allowed in `externalRoomIds` or `externalUserIds`.
pub const MAX_IDS: usize = 10_000;

const NOT_STRING: &str = "must be a string";
const BOOL_REASON: &str = "must be true or false";
const DELAY_REASON: &str = "must be a whole number of milliseconds between 0 and 86400000";
const OBJECT_REASON: &str = "must be a JSON object";
const LIST_REASON: &str = "must be an array of ids, a JSON array or a comma-separated list";
const PRIORITY_REASON: &str = "must be an integer between -1000 and 1000";
const HOLDOUT_REASON: &str = "must be an integer between 0 and 50";
const WEIGHT_REASON: &str = "must be an integer between 1 and 100";
const VARIANTS_REASON: &str = "must be an array of 2 to 5 variants, or empty";
/// The fields of one variant.
const VARIANT_KEYS: [&str; 6] = ["weight", "title", "text", "linkText", "pic", "templateData"];
/// How many bad ids of one list are spelled out in its error.
const BAD_IDS_SHOWN: usize = 3;
/// How many unknown `templateData` keys are reported.
const UNKNOWN_KEYS_SHOWN: usize = 20;

const TEMPLATE_DATA_KEYS: [&str; 9] = [
    "alignment",
    "bgColor",
    "btnColor",
    "btnTextColor",
    "textColor",
    "gradient",
    "gradientFrom",
    "gradientTo",
    "gradientDirection",
];

/// Validates a whole draft, reporting every invalid field at once.
pub fn validate(draft: &OfferDraft) -> Result<OfferSpec, FieldErrors> {
    let mut errors = FieldErrors::new();
    let e = &mut errors;

    let template = template(e, draft.template.as_ref());
    let needs_text = template.is_some_and(Template::needs_text);
    let has_button = template.is_some_and(Template::has_button);
    let needs_pic = template.is_some_and(Template::needs_pic);

    let title = text_field(e, "title", draft.title.as_ref(), needs_text, Title::parse);
    let text = text_field(e, "text", draft.text.as_ref(), needs_text, BodyText::parse);
    let link_text = text_field(
        e,
        "linkText",
        draft.link_text.as_ref(),
        has_button,
        ButtonText::parse,
    );
    let link = text_field(e, "link", draft.link.as_ref(), true, HttpUrl::parse_link);
    let pic = text_field(e, "pic", draft.pic.as_ref(), needs_pic, HttpUrl::parse);
    let template_data = template_data(e, "templateData", draft.template_data.as_ref());
    let view_type = with_default(optional(
        e,
        "viewType",
        draft.view_type.as_ref(),
        "must be POPUP or IN_FEED",
        ViewType::parse,
    ));

    let start_time = text_field(
        e,
        "startTime",
        draft.start_time.as_ref(),
        true,
        parse_timestamp,
    );
    let end_time = optional(
        e,
        "endTime",
        draft.end_time.as_ref(),
        TIMESTAMP_REASON,
        parse_timestamp,
    )
    .ok()
    .flatten();
    if let (Some(start), Some(end)) = (start_time, end_time)
        && end <= start
    {
        e.insert("endTime", "must be after startTime");
    }

    let show_multiple_times = match coerce::boolean(draft.show_multiple_times.as_ref()) {
        Ok(value) => Some(value.unwrap_or(false)),
        Err(()) => {
            e.insert("showMultipleTimes", BOOL_REASON);
            None
        }
    };
    let show_frequency = with_default(optional(
        e,
        "showFrerquency",
        draft.show_frequency.as_ref(),
        "must be ON_ENTRY or DAILY",
        ShowFrequency::parse,
    ));
    let show_delay_ms = show_delay(e, draft.show_delay_ms.as_ref());
    let audience = audience(e, draft);
    let name = text_field(e, "name", draft.name.as_ref(), false, OfferName::parse);
    let tags = offer_tags(e, draft.tags.as_ref());
    let segment_ids = segment_id_list(e, "segmentIds", draft.segment_ids.as_ref());
    let exclude_segment_ids =
        segment_id_list(e, "excludeSegmentIds", draft.exclude_segment_ids.as_ref());
    if let (Some(include), Some(exclude)) = (&segment_ids, &exclude_segment_ids)
        && let Some(both) = exclude.iter().find(|id| include.contains(id))
    {
        e.insert(
            "excludeSegmentIds",
            format!("segment {both} is also in segmentIds"),
        );
    }
    let translations = translations(e, draft.translations.as_ref());
    let trigger = trigger(e, draft.trigger.as_ref());
    let priority = bounded(
        e,
        "priority",
        draft.priority.as_ref(),
        (i64::from(MIN_PRIORITY), i64::from(MAX_PRIORITY)),
        PRIORITY_REASON,
    );
    let holdout_percent = bounded(
        e,
        "holdoutPercent",
        draft.holdout_percent.as_ref(),
        (0, i64::from(MAX_HOLDOUT_PERCENT)),
        HOLDOUT_REASON,
    );
    let variants = variants(e, draft.variants.as_ref());

    match (
        template,
        link,
        template_data,
        view_type,
        start_time,
        show_multiple_times,
        show_frequency,
        show_delay_ms,
        audience,
    ) {
        (
            Some(template),
            Some(link),
            Some(template_data),
            Some(view_type),
            Some(start_time),
            Some(show_multiple_times),
            Some(show_frequency),
            Some(show_delay_ms),
            Some(audience),
        ) if errors.is_empty() => Ok(OfferSpec {
            template,
            title,
            text,
            link_text,
            link,
            pic,
            template_data,
            view_type,
            start_time,
            end_time,
            show_multiple_times,
            show_frequency,
            show_delay_ms,
            audience,
            name,
            tags: tags.unwrap_or_default(),
            segment_ids: segment_ids.unwrap_or_default(),
            exclude_segment_ids: exclude_segment_ids.unwrap_or_default(),
            translations: translations.unwrap_or_default(),
            trigger: trigger.ok().flatten(),
            priority: priority.and_then(|p| i16::try_from(p).ok()).unwrap_or(0),
            variants: variants.unwrap_or_default(),
            holdout_percent: holdout_percent
                .and_then(|p| u8::try_from(p).ok())
                .unwrap_or(0),
        }),
        _ => {
            if errors.is_empty() {
                // Unreachable by construction: every `None` above recorded an error.
                errors.insert("offer", "invalid");
            }
            Err(errors)
        }
    }
}

/// The error for one field (wire name, e.g. `title` or `templateData.bgColor`), or `None`
/// when that field is fine. For `templateData` and `translations` the first nested error is
/// returned, prefixed with its key (`de.title: …`); for a list the first item's error with
/// its index (`tags[1]: …`). Runs the whole validation (cross-field rules included).
pub fn validate_field(draft: &OfferDraft, field: &str) -> Option<String> {
    let errors = validate(draft).err()?;
    let field = if field == "showFrequency" {
        "showFrerquency"
    } else {
        field
    };
    if let Some(reason) = errors.get(field) {
        return Some(reason.to_owned());
    }
    let prefix = format!("{field}.");
    errors.iter().find_map(|(key, reason)| {
        if key
            .strip_prefix(field)
            .is_some_and(|rest| rest.starts_with('['))
        {
            return Some(format!("{key}: {reason}"));
        }
        key.strip_prefix(&prefix)
            .map(|sub| format!("{sub}: {reason}"))
    })
}

fn template(e: &mut FieldErrors, value: Option<&Value>) -> Option<Template> {
    match coerce::integer(value) {
        Ok(Some(code)) => {
            let template = Template::from_code(code);
            if template.is_none() {
                e.insert("template", TEMPLATE_REASON);
            }
            template
        }
        Ok(None) => {
            e.insert("template", REQUIRED);
            None
        }
        Err(()) => {
            e.insert("template", TEMPLATE_REASON);
            None
        }
    }
}

/// A string field parsed by `parse`: `Ok(None)` when absent, `Err(())` once the error is
/// recorded under `key` (`not_string` when the value is not a string).
fn optional<T>(
    e: &mut FieldErrors,
    key: &str,
    value: Option<&Value>,
    not_string: &str,
    parse: impl FnOnce(&str) -> Result<T, String>,
) -> Result<Option<T>, ()> {
    match coerce::string(value) {
        Ok(Some(text)) => parse(text).map(Some).map_err(|reason| {
            e.insert(key, reason);
        }),
        Ok(None) => Ok(None),
        Err(()) => {
            e.insert(key, not_string);
            Err(())
        }
    }
}

/// A string field, `required` or not; `None` when absent or invalid (an error is then
/// recorded unless it was optional and absent).
fn text_field<T>(
    e: &mut FieldErrors,
    key: &str,
    value: Option<&Value>,
    required: bool,
    parse: impl FnOnce(&str) -> Result<T, String>,
) -> Option<T> {
    let not_string = if key.ends_with("Time") {
        TIMESTAMP_REASON
    } else {
        NOT_STRING
    };
    match optional(e, key, value, not_string, parse) {
        Ok(Some(parsed)) => Some(parsed),
        Ok(None) => {
            if required {
                e.insert(key, REQUIRED);
            }
            None
        }
        Err(()) => None,
    }
}

/// Absent → the default; invalid → `None` (error already recorded).
fn with_default<T: Default>(parsed: Result<Option<T>, ()>) -> Option<T> {
    parsed.ok().map(Option::unwrap_or_default)
}

fn show_delay(e: &mut FieldErrors, value: Option<&Value>) -> Option<u64> {
    match coerce::integer(value) {
        Ok(None) => Some(0),
        Ok(Some(ms)) => match u64::try_from(ms) {
            Ok(ms) if ms <= MAX_DELAY_MS => Some(ms),
            _ => {
                e.insert("showDelayMS", DELAY_REASON);
                None
            }
        },
        Err(()) => {
            e.insert("showDelayMS", DELAY_REASON);
            None
        }
    }
}

/// `templateData` (or a variant's, keyed under `at`): absent/null/"" → defaults; an object,
/// or a string holding one.
fn template_data(e: &mut FieldErrors, at: &str, value: Option<&Value>) -> Option<TemplateData> {
    let object = match object_field(e, at, value) {
        Ok(Some(object)) => object,
        Ok(None) => return Some(TemplateData::default()),
        Err(()) => return None,
    };

    let mut local = FieldErrors::new();
    let l = &mut local;
    let unknown = object
        .keys()
        .filter(|key| !TEMPLATE_DATA_KEYS.contains(&key.as_str()));
    for key in unknown.take(UNKNOWN_KEYS_SHOWN) {
        l.insert(format!("{at}.{key}"), "unknown field");
    }

    let defaults = TemplateData::default();
    let color = |l: &mut FieldErrors, key: &str, default: CssColor| {
        optional(
            l,
            &format!("{at}.{key}"),
            object.get(key),
            crate::color::COLOR_REASON,
            CssColor::parse,
        )
        .ok()
        .flatten()
        .unwrap_or(default)
    };
    let alignment = optional(
        l,
        &format!("{at}.alignment"),
        object.get("alignment"),
        "must be left, center or right",
        Alignment::parse,
    )
    .ok()
    .flatten()
    .unwrap_or_default();
    let bg_color = color(l, "bgColor", defaults.bg_color);
    let btn_color = color(l, "btnColor", defaults.btn_color);
    let btn_text_color = color(l, "btnTextColor", defaults.btn_text_color);
    let text_color = color(l, "textColor", defaults.text_color);
    let gradient = coerce::boolean(object.get("gradient")).unwrap_or_else(|()| {
        l.insert(format!("{at}.gradient"), BOOL_REASON);
        None
    });
    let gradient = gradient.unwrap_or(false);
    let gradient_from = optional(
        l,
        &format!("{at}.gradientFrom"),
        object.get("gradientFrom"),
        crate::color::COLOR_REASON,
        CssColor::parse,
    );
    let gradient_to = optional(
        l,
        &format!("{at}.gradientTo"),
        object.get("gradientTo"),
        crate::color::COLOR_REASON,
        CssColor::parse,
    );
    let gradient_direction = optional(
        l,
        &format!("{at}.gradientDirection"),
        object.get("gradientDirection"),
        crate::color::DIRECTION_REASON,
        GradientDirection::parse,
    );
    if gradient {
        for (key, missing) in [
            ("gradientFrom", matches!(gradient_from, Ok(None))),
            ("gradientTo", matches!(gradient_to, Ok(None))),
            ("gradientDirection", matches!(gradient_direction, Ok(None))),
        ] {
            if missing {
                l.insert(format!("{at}.{key}"), "required when gradient is true");
            }
        }
    }

    if local.is_empty() {
        Some(TemplateData {
            alignment,
            bg_color,
            btn_color,
            btn_text_color,
            text_color,
            gradient,
            gradient_from: gradient_from.ok().flatten(),
            gradient_to: gradient_to.ok().flatten(),
            gradient_direction: gradient_direction.ok().flatten(),
        })
    } else {
        e.extend(local);
        None
    }
}

/// An object field (`templateData`, `translations`): an object, or a string holding one.
/// `Ok(None)` when absent, null or blank; `Err(())` once the error is recorded under `key`
/// (keys repeated inside the text under `key.<repeated>`).
fn object_field<'v>(
    e: &mut FieldErrors,
    key: &str,
    value: Option<&'v Value>,
) -> Result<Option<Cow<'v, Map<String, Value>>>, ()> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::Object(map)) => Ok(Some(Cow::Borrowed(map))),
        Some(Value::String(s)) => match decode_object(s) {
            Ok(map) => Ok(Some(Cow::Owned(map))),
            Err(Some(repeated)) => {
                for inner in repeated {
                    e.insert(format!("{key}.{inner}"), crate::strict_json::REPEATED);
                }
                Err(())
            }
            Err(None) => {
                e.insert(key, OBJECT_REASON);
                Err(())
            }
        },
        Some(_) => {
            e.insert(key, OBJECT_REASON);
            Err(())
        }
    }
}

/// A JSON object from its text — or from a JSON string holding that text (a
/// double-encoded form value). `Err(Some(keys))`: keys repeated inside it (as in a JSON body,
/// refused); `Err(None)`: not a JSON object.
fn decode_object(text: &str) -> Result<Map<String, Value>, Option<Vec<String>>> {
    let strict = |text: &str| match crate::strict_json::parse(text.as_bytes()) {
        Ok(value) => Ok(value),
        Err(crate::strict_json::StrictJsonError::Repeated(keys)) => Err(Some(keys)),
        Err(_) => Err(None),
    };
    match strict(text)? {
        Value::Object(map) => Ok(map),
        Value::String(inner) => match strict(&inner)? {
            Value::Object(map) => Ok(map),
            _ => Err(None),
        },
        _ => Err(None),
    }
}

fn audience(e: &mut FieldErrors, draft: &OfferDraft) -> Option<Audience> {
    let kind = with_default(optional(
        e,
        "type",
        draft.kind.as_ref(),
        "must be GLOBAL, ROOM or USER",
        AudienceType::parse,
    ));
    let rooms = id_list(
        e,
        "externalRoomIds",
        draft.external_room_ids.as_ref(),
        MAX_IDS,
    );
    let users = id_list(
        e,
        "externalUserIds",
        draft.external_user_ids.as_ref(),
        MAX_IDS,
    );
    let (kind, rooms, users) = (kind?, rooms?, users?);

    let unused = |e: &mut FieldErrors, key: &str, list: &[ExternalId], only: &str| {
        if !list.is_empty() {
            e.insert(key, format!("only used with type {only}"));
        }
    };
    match kind {
        AudienceType::Global => {
            unused(e, "externalRoomIds", &rooms, "ROOM");
            unused(e, "externalUserIds", &users, "USER");
        }
        AudienceType::Room => {
            if rooms.is_empty() {
                e.insert("externalRoomIds", "required for type ROOM");
            }
            unused(e, "externalUserIds", &users, "USER");
        }
        AudienceType::User => {
            if users.is_empty() {
                e.insert("externalUserIds", "required for type USER");
            }
            unused(e, "externalRoomIds", &rooms, "ROOM");
        }
    }
    Some(Audience { kind, rooms, users })
}

/// An id list: a JSON array of strings, a string holding a JSON array, or a
/// comma-separated string. Ids are trimmed, blanks dropped, duplicates removed (first
/// occurrence kept); at most `max` of them. `Some(empty)` when absent; `None` once an error is
/// recorded. Also reads a list segment's `userIds` ([`crate::segment`]).
pub(crate) fn id_list(
    e: &mut FieldErrors,
    key: &str,
    value: Option<&Value>,
    max: usize,
) -> Option<Vec<ExternalId>> {
    let items = list_items(e, key, value, LIST_REASON)?;
    let mut seen = BTreeSet::new();
    let mut ids = Vec::new();
    let mut bad = Vec::new();
    let mut bad_count = 0usize;
    for (index, item) in items.iter().enumerate() {
        let parsed = match item {
            Ok(text) if text.trim().is_empty() => continue,
            Ok(text) => ExternalId::parse(text),
            Err(()) => Err(NOT_STRING.to_owned()),
        };
        match parsed {
            Ok(id) => {
                if seen.insert(id.as_str().to_owned()) {
                    ids.push(id);
                }
            }
            Err(reason) => {
                bad_count += 1;
                if bad.len() < BAD_IDS_SHOWN {
                    bad.push(format!("id {}: {reason}", index + 1));
                }
            }
        }
    }
    if bad_count > 0 {
        let mut message = bad.join("; ");
        if bad_count > BAD_IDS_SHOWN {
            message.push_str(&format!("; and {} more", bad_count - BAD_IDS_SHOWN));
        }
        e.insert(key, message);
        return None;
    }
    if ids.len() > max {
        e.insert(key, format!("at most {max} ids (got {})", ids.len()));
        return None;
    }
    Some(ids)
}

/// A list's items as text: a JSON array, a string holding a JSON array, or a
/// comma-separated string; `Some(empty)` when absent; `None` once `reason` is recorded.
fn list_items<'v>(
    e: &mut FieldErrors,
    key: &str,
    value: Option<&'v Value>,
    reason: &str,
) -> Option<Vec<Result<Cow<'v, str>, ()>>> {
    Some(match value {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items.iter().map(item_text).collect(),
        Some(Value::String(text)) => {
            let text = text.trim();
            if text.starts_with('[') {
                match crate::strict_json::parse(text.as_bytes()) {
                    Ok(Value::Array(items)) => items
                        .iter()
                        .map(|item| item_text(item).map(|s| Cow::Owned(s.into_owned())))
                        .collect(),
                    _ => {
                        e.insert(key, reason);
                        return None;
                    }
                }
            } else {
                text.split(',')
                    .map(|part| Ok(Cow::Borrowed(part)))
                    .collect()
            }
        }
        Some(_) => {
            e.insert(key, reason);
            return None;
        }
    })
}

/// `tags`: a list (as [`list_items`]) of [`OfferTag`]s, sorted and without duplicates,
/// at most [`MAX_OFFER_TAGS`]; errors under `tags[i]`.
fn offer_tags(e: &mut FieldErrors, value: Option<&Value>) -> Option<Vec<OfferTag>> {
    let items = list_items(
        e,
        "tags",
        value,
        "must be an array of tags, a JSON array or a comma-separated list",
    )?;
    let mut tags = Vec::new();
    let mut bad = false;
    for (index, item) in items.iter().enumerate() {
        let parsed = match item {
            Ok(text) if text.trim().is_empty() => continue,
            Ok(text) => OfferTag::parse(text),
            Err(()) => Err(NOT_STRING.to_owned()),
        };
        match parsed {
            Ok(tag) => tags.push(tag),
            Err(reason) => {
                bad = true;
                e.insert(format!("tags[{index}]"), reason);
            }
        }
    }
    let count = e.len();
    let tags = crate::profile::sorted_tags(e, tags, MAX_OFFER_TAGS);
    (!bad && e.len() == count).then_some(tags)
}

/// `segmentIds` / `excludeSegmentIds`: a list of positive integers (numbers or digits),
/// without duplicates (first kept), at most [`MAX_OFFER_SEGMENTS`]; errors under `key[i]`.
/// Whether the segments exist in the project is the API's check.
fn segment_id_list(e: &mut FieldErrors, key: &str, value: Option<&Value>) -> Option<Vec<i64>> {
    let items = list_items(
        e,
        key,
        value,
        "must be an array of segment ids, a JSON array or a comma-separated list",
    )?;
    let mut ids = Vec::new();
    let mut bad = false;
    for (index, item) in items.iter().enumerate() {
        let parsed = match item {
            Ok(text) if text.trim().is_empty() => continue,
            Ok(text) => text.trim().parse::<i64>().ok().filter(|id| *id > 0),
            Err(()) => None,
        };
        match parsed {
            Some(id) if !ids.contains(&id) => ids.push(id),
            Some(_) => {}
            None => {
                bad = true;
                e.insert(
                    format!("{key}[{index}]"),
                    "must be a positive integer (a segment id)",
                );
            }
        }
    }
    if ids.len() > MAX_OFFER_SEGMENTS {
        e.insert(
            key,
            format!("at most {MAX_OFFER_SEGMENTS} segments (got {})", ids.len()),
        );
        return None;
    }
    (!bad).then_some(ids)
}

/// The fields of one translation.
const TRANSLATION_KEYS: [&str; 4] = ["title", "text", "linkText", "pic"];

/// `translations`: an object (or a string holding one) from language tags to
/// `{"title", "text", "linkText", "pic"}`, each field checked as the offer's own; errors
/// under `translations.<lang>` and `translations.<lang>.<field>`. Empty translations are
/// dropped; at most [`MAX_TRANSLATIONS`] languages.
fn translations(
    e: &mut FieldErrors,
    value: Option<&Value>,
) -> Option<BTreeMap<LanguageTag, Translation>> {
    let object = match object_field(e, "translations", value) {
        Ok(Some(object)) => object,
        Ok(None) => return Some(BTreeMap::new()),
        Err(()) => return None,
    };
    if object.len() > MAX_TRANSLATIONS {
        e.insert(
            "translations",
            format!(
                "at most {MAX_TRANSLATIONS} languages (got {})",
                object.len()
            ),
        );
        return None;
    }
    let mut local = FieldErrors::new();
    let mut out = BTreeMap::new();
    for (given, fields) in object.iter() {
        let at = format!(
            "translations.{}",
            given.chars().take(40).collect::<String>()
        );
        let language = match LanguageTag::parse(given) {
            Ok(language) => language,
            Err(reason) => {
                local.insert(at, reason);
                continue;
            }
        };
        let fields = match fields {
            Value::Null => continue,
            Value::Object(fields) => fields,
            _ => {
                local.insert(
                    at,
                    "must be an object {\"title\", \"text\", \"linkText\", \"pic\"}",
                );
                continue;
            }
        };
        for key in fields
            .keys()
            .filter(|k| !TRANSLATION_KEYS.contains(&k.as_str()))
        {
            local.insert(format!("{at}.{key}"), "unknown field");
        }
        let l = &mut local;
        let translation = Translation {
            title: text_field(
                l,
                &format!("{at}.title"),
                fields.get("title"),
                false,
                Title::parse,
            ),
            text: text_field(
                l,
                &format!("{at}.text"),
                fields.get("text"),
                false,
                BodyText::parse,
            ),
            link_text: text_field(
                l,
                &format!("{at}.linkText"),
                fields.get("linkText"),
                false,
                ButtonText::parse,
            ),
            pic: text_field(
                l,
                &format!("{at}.pic"),
                fields.get("pic"),
                false,
                HttpUrl::parse,
            ),
        };
        match out.entry(language) {
            Entry::Occupied(taken) => local.insert(
                at,
                format!("{} (as {})", crate::strict_json::REPEATED, taken.key()),
            ),
            Entry::Vacant(slot) => {
                if !translation.is_empty() {
                    slot.insert(translation);
                }
            }
        }
    }
    if local.is_empty() {
        Some(out)
    } else {
        e.extend(local);
        None
    }
}

/// `trigger`: absent, null or blank → none (on entry); an object, or a string holding one,
/// read by [`crate::campaign::trigger`] with errors under `trigger.event`,
/// `trigger.conditions[0].op`, `trigger.delayMS`. `Err(())` once an error is recorded.
fn trigger(e: &mut FieldErrors, value: Option<&Value>) -> Result<Option<Trigger>, ()> {
    match object_field(e, "trigger", value)? {
        None => Ok(None),
        Some(map) => crate::campaign::trigger::parse_map(e, "trigger.", &map)
            .map(Some)
            .ok_or(()),
    }
}

/// An integer field within `min..=max`, absent → 0; `None` once `reason` is recorded.
fn bounded(
    e: &mut FieldErrors,
    key: &str,
    value: Option<&Value>,
    (min, max): (i64, i64),
    reason: &str,
) -> Option<i64> {
    match coerce::integer(value) {
        Ok(None) => Some(0),
        Ok(Some(n)) if (min..=max).contains(&n) => Some(n),
        _ => {
            e.insert(key, reason);
            None
        }
    }
}

/// `variants`: absent, null, blank or `[]` → none; else an array (or a string holding one)
/// of 2–5 objects `{"weight", "title", "text", "linkText", "pic", "templateData"}`, each field
/// checked as the offer's own; errors under `variants[1].title`, `variants[0].weight`,
/// `variants[2].templateData.bgColor`.
fn variants(e: &mut FieldErrors, value: Option<&Value>) -> Option<Vec<Variant>> {
    let decoded;
    let items = match value {
        None | Some(Value::Null) => return Some(Vec::new()),
        Some(Value::String(text)) if text.trim().is_empty() => return Some(Vec::new()),
        Some(Value::Array(items)) => items,
        Some(Value::String(text)) => match crate::strict_json::parse(text.trim().as_bytes()) {
            Ok(Value::Array(items)) => {
                decoded = items;
                &decoded
            }
            _ => {
                e.insert("variants", VARIANTS_REASON);
                return None;
            }
        },
        Some(_) => {
            e.insert("variants", VARIANTS_REASON);
            return None;
        }
    };
    if items.is_empty() {
        return Some(Vec::new());
    }
    if !(MIN_VARIANTS..=MAX_VARIANTS).contains(&items.len()) {
        e.insert(
            "variants",
            format!(
                "give {MIN_VARIANTS} to {MAX_VARIANTS} variants, or none (got {})",
                items.len()
            ),
        );
        return None;
    }
    let mut local = FieldErrors::new();
    let mut out = Vec::with_capacity(items.len());
    for (index, item) in items.iter().enumerate() {
        let at = format!("variants[{index}]");
        let Value::Object(fields) = item else {
            local.insert(
                at,
                "must be an object {\"weight\", \"title\", \"text\", \"linkText\", \"pic\", \"templateData\"}",
            );
            continue;
        };
        crate::segment::unknown_members(&mut local, &at, fields, &VARIANT_KEYS);
        let l = &mut local;
        let weight = match coerce::integer(fields.get("weight")) {
            Ok(Some(w)) if (1..=i64::from(MAX_WEIGHT)).contains(&w) => u32::try_from(w).ok(),
            Ok(None) => {
                l.insert(format!("{at}.weight"), REQUIRED);
                None
            }
            _ => {
                l.insert(format!("{at}.weight"), WEIGHT_REASON);
                None
            }
        };
        let field = |name: &str| format!("{at}.{name}");
        let title = text_field(l, &field("title"), fields.get("title"), false, Title::parse);
        let text = text_field(
            l,
            &field("text"),
            fields.get("text"),
            false,
            BodyText::parse,
        );
        let link_text = text_field(
            l,
            &field("linkText"),
            fields.get("linkText"),
            false,
            ButtonText::parse,
        );
        let pic = text_field(l, &field("pic"), fields.get("pic"), false, HttpUrl::parse);
        let template_data = match fields.get("templateData") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) if s.trim().is_empty() => None,
            given => template_data(l, &field("templateData"), given),
        };
        if let Some(weight) = weight {
            out.push(Variant {
                weight,
                content: Translation {
                    title,
                    text,
                    link_text,
                    pic,
                },
                template_data,
            });
        }
    }
    if local.is_empty() {
        Some(out)
    } else {
        e.extend(local);
        None
    }
}

/// One list item as text: a string, or an integer written as digits.
fn item_text(item: &Value) -> Result<Cow<'_, str>, ()> {
    match item {
        Value::String(s) => Ok(Cow::Borrowed(s)),
        Value::Number(n) if n.is_i64() || n.is_u64() => Ok(Cow::Owned(n.to_string())),
        _ => Err(()),
    }
}

#[cfg(test)]
mod tests;
