//! [`OfferDraft`]: an offer as loosely typed input, before validation.
//!
//! The same draft comes from a JSON body, a multipart or urlencoded form
//! ([`OfferDraft::from_form_fields`]), the Studio's form, or a PATCH (a stored offer
//! turned back into a draft with [`From<&OfferSpec>`], then [`OfferDraft::overlay`]).
//! Every field is an optional JSON value; [`crate::validate()`] coerces and checks them.

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

use crate::error::FieldErrors;
use crate::model::OfferSpec;
use crate::time::format_timestamp;

/// An offer's fields as received. A field absent from the input is `None`; a field sent
/// as JSON `null` is `Some(Value::Null)` (so a PATCH can clear `endTime` or `pic`).
/// Unknown fields are ignored.
///
/// As documented (the schema `OfferInput`): an offer, or for PATCH any subset of its fields.
/// In form encodings every value is text: numbers and booleans are parsed, `templateData` is
/// a JSON string, and id lists are repeated parts, a JSON array string, or comma-separated.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = OfferInput))]
pub struct OfferDraft {
    /// `template`: 10 text; 11 image only; 12 image above text; 13 image beside text;
    /// 14 image behind text.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<crate::Template>))]
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub template: Option<Value>,
    /// `title`: at most 23 characters; required for templates 10, 12–14.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<crate::Title>))]
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub title: Option<Value>,
    /// `text`: at most 180 characters; required for templates 10, 12–14.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<crate::BodyText>))]
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub text: Option<Value>,
    /// `linkText`: the button's text, at most 80 characters; required where the template
    /// has a button.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<crate::ButtonText>))]
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub link_text: Option<Value>,
    /// `link`: an absolute http/https URL.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<crate::HttpUrl>))]
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub link: Option<Value>,
    /// `pic`: the image URL; required for templates 11–14.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<crate::HttpUrl>))]
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub pic: Option<Value>,
    /// `templateData`: an object, or a string holding a JSON object.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<crate::TemplateData>))]
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub template_data: Option<Value>,
    /// `viewType`: `POPUP` (default) or `IN_FEED`.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<crate::ViewType>))]
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub view_type: Option<Value>,
    /// `startTime`: ISO-8601 UTC.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub start_time: Option<Value>,
    /// `endTime`: ISO-8601 UTC, after `startTime`; null or absent: no end.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub end_time: Option<Value>,
    /// `showMultipleTimes`: false: at most once per user, ever.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<bool>))]
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub show_multiple_times: Option<Value>,
    /// `showFrerquency` (the documented spelling): `ON_ENTRY` or `DAILY`; `showFrequency`
    /// is accepted too.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<crate::ShowFrequency>))]
    #[serde(
        default,
        rename = "showFrerquency",
        alias = "showFrequency",
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub show_frequency: Option<Value>,
    /// `showDelayMS`: the delay after entry before showing, in milliseconds.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<u64>, minimum = 0))]
    #[serde(
        default,
        rename = "showDelayMS",
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub show_delay_ms: Option<Value>,
    /// `type`: `GLOBAL`, `ROOM` or `USER`.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<crate::AudienceType>))]
    #[serde(
        default,
        rename = "type",
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub kind: Option<Value>,
    /// `externalRoomIds`: the rooms of a `ROOM` offer.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Vec<crate::ExternalId>>))]
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub external_room_ids: Option<Value>,
    /// `externalUserIds`: the users of a `USER` offer.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Vec<crate::ExternalId>>))]
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub external_user_ids: Option<Value>,
    /// `name`: the internal name, at most 80 characters (never shown to users).
    #[cfg_attr(feature = "openapi", schema(value_type = Option<crate::OfferName>))]
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub name: Option<Value>,
    /// `tags`: at most 20 tags for finding offers.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Vec<crate::OfferTag>>))]
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub tags: Option<Value>,
    /// `segmentIds`: at most 20 segment ids; the user must be in at least one.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Vec<i64>>))]
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub segment_ids: Option<Value>,
    /// `excludeSegmentIds`: at most 20 segment ids; the user must be in none.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Vec<i64>>))]
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub exclude_segment_ids: Option<Value>,
    /// `translations`: `{"de": {"title", "text", "linkText", "pic"}}` (an object, or a string
    /// holding one), at most 30 languages.
    #[cfg_attr(
        feature = "openapi",
        schema(value_type = Option<std::collections::BTreeMap<String, crate::Translation>>)
    )]
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub translations: Option<Value>,
    /// `trigger`: `{"event", "conditions": [{"field": "props.<key>", "op", "value"}],
    /// "delayMS"}` (an object, or a string holding one); null or absent: on entry.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<crate::Trigger>))]
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub trigger: Option<Value>,
    /// `priority`: an integer -1000..=1000 (default 0); higher wins.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<i16>, minimum = -1000, maximum = 1000))]
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub priority: Option<Value>,
    /// `variants`: none, or 2–5 `{"weight", "title", "text", "linkText", "pic",
    /// "templateData"}` (an array, or a string holding one).
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Vec<crate::Variant>>))]
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub variants: Option<Value>,
    /// `holdoutPercent`: an integer 0..=50 (default 0), the share of users who see nothing.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<u8>, minimum = 0, maximum = 50))]
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub holdout_percent: Option<Value>,
}

/// A field that is present is `Some`, even when it is `null`.
fn present<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(deserializer).map(Some)
}

/// The wire names of a draft's fields, in documentation order.
pub const FIELD_NAMES: [&str; 25] = [
    "template",
    "title",
    "text",
    "linkText",
    "link",
    "pic",
    "templateData",
    "viewType",
    "startTime",
    "endTime",
    "showMultipleTimes",
    "showFrerquency",
    "showDelayMS",
    "type",
    "externalRoomIds",
    "externalUserIds",
    "name",
    "tags",
    "segmentIds",
    "excludeSegmentIds",
    "translations",
    "trigger",
    "priority",
    "variants",
    "holdoutPercent",
];

impl OfferDraft {
    /// An empty draft (every field absent).
    pub fn new() -> Self {
        Self::default()
    }

    /// The field with wire name `name` (`showFrequency` accepted for `showFrerquency`).
    pub fn field(&self, name: &str) -> Option<&Option<Value>> {
        Some(match name {
            "template" => &self.template,
            "title" => &self.title,
            "text" => &self.text,
            "linkText" => &self.link_text,
            "link" => &self.link,
            "pic" => &self.pic,
            "templateData" => &self.template_data,
            "viewType" => &self.view_type,
            "startTime" => &self.start_time,
            "endTime" => &self.end_time,
            "showMultipleTimes" => &self.show_multiple_times,
            "showFrerquency" | "showFrequency" => &self.show_frequency,
            "showDelayMS" => &self.show_delay_ms,
            "type" => &self.kind,
            "externalRoomIds" => &self.external_room_ids,
            "externalUserIds" => &self.external_user_ids,
            "name" => &self.name,
            "tags" => &self.tags,
            "segmentIds" => &self.segment_ids,
            "excludeSegmentIds" => &self.exclude_segment_ids,
            "translations" => &self.translations,
            "trigger" => &self.trigger,
            "priority" => &self.priority,
            "variants" => &self.variants,
            "holdoutPercent" => &self.holdout_percent,
            _ => return None,
        })
    }

    /// The field with wire name `name`, mutably (e.g. for the Studio's form inputs).
    pub fn field_mut(&mut self, name: &str) -> Option<&mut Option<Value>> {
        Some(match name {
            "template" => &mut self.template,
            "title" => &mut self.title,
            "text" => &mut self.text,
            "linkText" => &mut self.link_text,
            "link" => &mut self.link,
            "pic" => &mut self.pic,
            "templateData" => &mut self.template_data,
            "viewType" => &mut self.view_type,
            "startTime" => &mut self.start_time,
            "endTime" => &mut self.end_time,
            "showMultipleTimes" => &mut self.show_multiple_times,
            "showFrerquency" | "showFrequency" => &mut self.show_frequency,
            "showDelayMS" => &mut self.show_delay_ms,
            "type" => &mut self.kind,
            "externalRoomIds" => &mut self.external_room_ids,
            "externalUserIds" => &mut self.external_user_ids,
            "name" => &mut self.name,
            "tags" => &mut self.tags,
            "segmentIds" => &mut self.segment_ids,
            "excludeSegmentIds" => &mut self.exclude_segment_ids,
            "translations" => &mut self.translations,
            "trigger" => &mut self.trigger,
            "priority" => &mut self.priority,
            "variants" => &mut self.variants,
            "holdoutPercent" => &mut self.holdout_percent,
            _ => return None,
        })
    }

    /// `self` with every field present in `patch` replaced by the patch's value
    /// (including `null`, which clears an optional field).
    #[must_use]
    pub fn overlay(self, patch: OfferDraft) -> OfferDraft {
        OfferDraft {
            template: patch.template.or(self.template),
            title: patch.title.or(self.title),
            text: patch.text.or(self.text),
            link_text: patch.link_text.or(self.link_text),
            link: patch.link.or(self.link),
            pic: patch.pic.or(self.pic),
            template_data: patch.template_data.or(self.template_data),
            view_type: patch.view_type.or(self.view_type),
            start_time: patch.start_time.or(self.start_time),
            end_time: patch.end_time.or(self.end_time),
            show_multiple_times: patch.show_multiple_times.or(self.show_multiple_times),
            show_frequency: patch.show_frequency.or(self.show_frequency),
            show_delay_ms: patch.show_delay_ms.or(self.show_delay_ms),
            kind: patch.kind.or(self.kind),
            external_room_ids: patch.external_room_ids.or(self.external_room_ids),
            external_user_ids: patch.external_user_ids.or(self.external_user_ids),
            name: patch.name.or(self.name),
            tags: patch.tags.or(self.tags),
            segment_ids: patch.segment_ids.or(self.segment_ids),
            exclude_segment_ids: patch.exclude_segment_ids.or(self.exclude_segment_ids),
            translations: patch.translations.or(self.translations),
            trigger: patch.trigger.or(self.trigger),
            priority: patch.priority.or(self.priority),
            variants: patch.variants.or(self.variants),
            holdout_percent: patch.holdout_percent.or(self.holdout_percent),
        }
    }

    /// Builds a draft from multipart / urlencoded text parts (every value a string).
    ///
    /// The list fields — `externalRoomIds`, `externalUserIds`, `tags`, `segmentIds`,
    /// `excludeSegmentIds` (also with `[]`: `externalRoomIds[]` …) — may be repeated: one
    /// plain part stays a string (validation accepts a JSON array or comma-separated text),
    /// several parts — or any `[]` part — become an array with one item per part.
    /// `templateData`, `translations`, `trigger` and `variants` are JSON strings. Repeating a scalar field is an
    /// error for that field; unknown names are ignored.
    pub fn from_form_fields<I>(fields: I) -> Result<OfferDraft, FieldErrors>
    where
        I: IntoIterator<Item = (String, String)>,
    {
        let mut draft = OfferDraft::default();
        let mut errors = FieldErrors::new();
        let mut lists: [(&str, IdParts); 5] = LIST_FIELDS.map(|name| (name, IdParts::default()));
        for (name, value) in fields {
            let (base, bracketed) = match name.strip_suffix("[]") {
                Some(base) => (base, true),
                None => (name.as_str(), false),
            };
            if let Some((_, parts)) = lists.iter_mut().find(|(list, _)| *list == base) {
                parts.push(value, bracketed);
                continue;
            }
            let key = canonical_name(&name);
            if let Some(slot) = draft.field_mut(&name) {
                if slot.is_some() {
                    errors.insert(key, crate::strict_json::REPEATED);
                } else {
                    *slot = Some(Value::String(value));
                }
            }
        }
        for (name, parts) in lists {
            if let Some(slot) = draft.field_mut(name) {
                *slot = parts.into_value();
            }
        }
        if errors.is_empty() {
            Ok(draft)
        } else {
            Err(errors)
        }
    }
}

/// The fields that are lists, which a form may repeat.
const LIST_FIELDS: [&str; 5] = [
    "externalRoomIds",
    "externalUserIds",
    "tags",
    "segmentIds",
    "excludeSegmentIds",
];

/// The wire name an accepted input name stands for.
fn canonical_name(name: &str) -> &str {
    match name {
        "showFrequency" => "showFrerquency",
        other => other,
    }
}

/// The parts given for one id list.
#[derive(Default)]
struct IdParts {
    parts: Vec<String>,
    bracketed: bool,
}

impl IdParts {
    fn push(&mut self, value: String, bracketed: bool) {
        self.bracketed |= bracketed;
        self.parts.push(value);
    }

    fn into_value(mut self) -> Option<Value> {
        match self.parts.len() {
            0 => None,
            1 if !self.bracketed => self.parts.pop().map(Value::String),
            _ => Some(Value::Array(
                self.parts.into_iter().map(Value::String).collect(),
            )),
        }
    }
}

impl From<&OfferSpec> for OfferDraft {
    /// The draft that validates back to `spec` (used for PATCH: stored offer → draft →
    /// overlay the patch → validate).
    fn from(spec: &OfferSpec) -> Self {
        let text = |s: &str| Value::String(s.to_owned());
        let ids = |list: &[crate::model::ExternalId]| {
            (!list.is_empty())
                .then(|| Value::Array(list.iter().map(|id| text(id.as_str())).collect()))
        };
        let numbers = |list: &[i64]| {
            (!list.is_empty())
                .then(|| Value::Array(list.iter().copied().map(Value::from).collect()))
        };
        OfferDraft {
            template: Some(Value::from(spec.template.code())),
            title: spec.title.as_ref().map(|t| text(t.as_str())),
            text: spec.text.as_ref().map(|t| text(t.as_str())),
            link_text: spec.link_text.as_ref().map(|t| text(t.as_str())),
            link: Some(text(spec.link.as_str())),
            pic: spec.pic.as_ref().map(|p| text(p.as_str())),
            template_data: serde_json::to_value(&spec.template_data).ok(),
            view_type: Some(text(spec.view_type.as_str())),
            start_time: Some(Value::String(format_timestamp(&spec.start_time))),
            end_time: spec.end_time.map(|t| Value::String(format_timestamp(&t))),
            show_multiple_times: Some(Value::Bool(spec.show_multiple_times)),
            show_frequency: Some(text(spec.show_frequency.as_str())),
            show_delay_ms: Some(Value::from(spec.show_delay_ms)),
            kind: Some(text(spec.audience.kind.as_str())),
            external_room_ids: ids(&spec.audience.rooms),
            external_user_ids: ids(&spec.audience.users),
            name: spec.name.as_ref().map(|n| text(n.as_str())),
            tags: (!spec.tags.is_empty())
                .then(|| Value::Array(spec.tags.iter().map(|t| text(t.as_str())).collect())),
            segment_ids: numbers(&spec.segment_ids),
            exclude_segment_ids: numbers(&spec.exclude_segment_ids),
            translations: (!spec.translations.is_empty())
                .then(|| serde_json::to_value(&spec.translations).ok())
                .flatten(),
            trigger: spec.trigger.as_ref().map(crate::campaign::Trigger::to_json),
            priority: (spec.priority != 0).then(|| Value::from(spec.priority)),
            variants: (!spec.variants.is_empty())
                .then(|| serde_json::to_value(&spec.variants).ok())
                .flatten(),
            holdout_percent: (spec.holdout_percent != 0).then(|| Value::from(spec.holdout_percent)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn absent_null_and_unknown_fields() {
        let draft: OfferDraft = serde_json::from_value(json!({
            "title": "Hi", "endTime": null, "somethingElse": 1, "showFrequency": "DAILY"
        }))
        .unwrap();
        assert_eq!(draft.title, Some(json!("Hi")));
        assert_eq!(draft.end_time, Some(Value::Null));
        assert_eq!(draft.text, None);
        assert_eq!(draft.show_frequency, Some(json!("DAILY")));
        assert_eq!(
            serde_json::to_value(&draft).unwrap(),
            json!({"title": "Hi", "endTime": null, "showFrerquency": "DAILY"})
        );
    }

    #[test]
    fn wire_names() {
        let draft: OfferDraft = serde_json::from_value(json!({
            "linkText": 1, "templateData": 2, "viewType": 3, "startTime": 4,
            "showMultipleTimes": 5, "showFrerquency": 6, "showDelayMS": 7, "type": 8,
            "externalRoomIds": 9, "externalUserIds": 10
        }))
        .unwrap();
        for (i, name) in ["linkText", "templateData", "viewType", "startTime"]
            .iter()
            .enumerate()
        {
            assert_eq!(draft.field(name), Some(&Some(json!(i + 1))), "{name}");
        }
        assert_eq!(draft.kind, Some(json!(8)));
        assert_eq!(draft.external_user_ids, Some(json!(10)));
        assert_eq!(draft.field("nope"), None);
        assert_eq!(FIELD_NAMES.len(), 25);
        for name in FIELD_NAMES {
            assert!(draft.field(name).is_some(), "{name}");
        }
    }

    #[test]
    fn overlay_replaces_present_fields_only() {
        let base = OfferDraft {
            title: Some(json!("Old")),
            text: Some(json!("Keep")),
            end_time: Some(json!("2024-06-01T00:00:00.000Z")),
            ..OfferDraft::default()
        };
        let patch = OfferDraft {
            title: Some(json!("New")),
            end_time: Some(Value::Null),
            ..OfferDraft::default()
        };
        let merged = base.overlay(patch);
        assert_eq!(merged.title, Some(json!("New")));
        assert_eq!(merged.text, Some(json!("Keep")));
        assert_eq!(merged.end_time, Some(Value::Null));
    }

    fn parts(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn form_fields_build_a_draft() {
        let draft = OfferDraft::from_form_fields(parts(&[
            ("template", "10"),
            ("showFrequency", "DAILY"),
            ("externalRoomIds", "r1"),
            ("externalRoomIds", "r2"),
            ("externalUserIds[]", "u1"),
            ("unknown", "ignored"),
        ]))
        .unwrap();
        assert_eq!(draft.template, Some(json!("10")));
        assert_eq!(draft.show_frequency, Some(json!("DAILY")));
        assert_eq!(draft.external_room_ids, Some(json!(["r1", "r2"])));
        assert_eq!(draft.external_user_ids, Some(json!(["u1"])));

        let single = OfferDraft::from_form_fields(parts(&[("externalRoomIds", "a,b")])).unwrap();
        assert_eq!(single.external_room_ids, Some(json!("a,b")));
    }

    #[test]
    fn form_fields_carry_the_audience_fields() {
        let draft = OfferDraft::from_form_fields(parts(&[
            ("name", "Spring"),
            ("tags", "a"),
            ("tags", "b"),
            ("segmentIds", "1,2"),
            ("excludeSegmentIds[]", "3"),
            ("translations", "{\"de\": {\"title\": \"Hallo\"}}"),
        ]))
        .unwrap();
        assert_eq!(draft.name, Some(json!("Spring")));
        assert_eq!(draft.tags, Some(json!(["a", "b"])));
        assert_eq!(draft.segment_ids, Some(json!("1,2")));
        assert_eq!(draft.exclude_segment_ids, Some(json!(["3"])));
        assert_eq!(
            draft.translations,
            Some(json!("{\"de\": {\"title\": \"Hallo\"}}"))
        );
    }

    #[test]
    fn repeated_scalar_form_field_is_an_error() {
        let errors = OfferDraft::from_form_fields(parts(&[
            ("title", "a"),
            ("title", "b"),
            ("showFrerquency", "DAILY"),
            ("showFrequency", "ON_ENTRY"),
            ("link", "https://a.example"),
        ]))
        .unwrap_err();
        assert_eq!(errors.get("title"), Some("given more than once"));
        assert_eq!(errors.get("showFrerquency"), Some("given more than once"));
        assert_eq!(errors.len(), 2);
    }
}
