//! The Studio form: its fields, the publish step each belongs to, and how the form's text
//! becomes the JSON body the partner API receives (and so the [`OfferDraft`] the core judges).
//!
//! Plain Rust, no DOM: the components in this module's siblings only wire these functions to
//! inputs. Whether a value is *valid* is never decided here — that is `offers_core::validate`,
//! the same call the API makes — only how form text is laid out on the wire.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use offers_core::text::{BODY_MAX_CHARS, BUTTON_MAX_CHARS, OFFER_NAME_MAX_CHARS, TITLE_MAX_CHARS};
use offers_core::{CssColor, OfferDraft, PartnerOffer, TemplateData};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

/// The steps of the publish flow (seed 000: content → schedule → audience → send).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Step {
    Content,
    Schedule,
    Audience,
    Send,
}

impl Step {
    /// Every step, in order.
    pub const ALL: [Step; 4] = [Step::Content, Step::Schedule, Step::Audience, Step::Send];

    /// The step's heading.
    pub const fn label(self) -> &'static str {
        match self {
            Step::Content => "Template & content",
            Step::Schedule => "Schedule",
            Step::Audience => "Audience",
            Step::Send => "Send",
        }
    }

    /// A stable name for DOM ids and test selectors.
    pub const fn slug(self) -> &'static str {
        match self {
            Step::Content => "content",
            Step::Schedule => "schedule",
            Step::Audience => "audience",
            Step::Send => "send",
        }
    }

    /// 1-based position.
    pub fn number(self) -> usize {
        Self::ALL.iter().position(|s| *s == self).unwrap_or(0) + 1
    }

    /// The following step, if any.
    pub fn next(self) -> Option<Step> {
        Self::ALL.get(self.number()).copied()
    }

    /// The previous step, if any.
    pub fn prev(self) -> Option<Step> {
        self.number()
            .checked_sub(2)
            .and_then(|i| Self::ALL.get(i).copied())
    }
}

/// How a field is edited.
#[derive(Debug, Clone, Copy)]
pub enum FieldKind {
    /// One line of text.
    Text,
    /// Several lines of text.
    LongText,
    /// A URL.
    Url,
    /// A CSS color: a text input plus a color picker kept in sync.
    Color,
    /// A drop-down list of `(value, label)`.
    Select(&'static [(&'static str, &'static str)]),
    /// A radio group of `(value, label)`.
    Radio(&'static [(&'static str, &'static str)]),
    /// A local date and time (`<input type=datetime-local>`), sent as UTC.
    DateTime,
    /// A number of seconds, sent as milliseconds.
    Seconds,
    /// A list of ids, comma-separated (or one per line).
    Ids,
    /// Segment ids, comma-separated, sent as numbers; edited by picking from the project's
    /// segments ([`super::segment_picker`]).
    Segments,
}

/// One form field.
#[derive(Debug)]
pub struct FieldSpec {
    /// The wire name, which is also the core's (and the API's 422) error key;
    /// template-data fields are nested as `templateData.<name>`.
    pub key: &'static str,
    pub label: &'static str,
    pub kind: FieldKind,
    /// The text of a new form.
    pub initial: &'static str,
    /// The core's length limit, for the remaining-characters counter.
    pub limit: Option<usize>,
    pub step: Step,
    /// A short help text shown under the field (empty: none).
    pub hint: &'static str,
}

impl FieldSpec {
    /// The input's DOM id (the wire key with `.` replaced, so `#id` selectors work).
    pub fn dom_id(&self) -> String {
        self.key.replace('.', "-")
    }
}

const TEMPLATES: &[(&str, &str)] = &[
    ("10", "10 · Text"),
    ("11", "11 · Image only (banner 600×240)"),
    ("12", "12 · Image above text (600×400)"),
    ("13", "13 · Image beside text (600×400)"),
    ("14", "14 · Image behind text (600×400)"),
];
const VIEWS: &[(&str, &str)] = &[("POPUP", "Pop-up"), ("IN_FEED", "In-feed")];
const ALIGNMENTS: &[(&str, &str)] = &[("left", "Left"), ("center", "Center"), ("right", "Right")];
const BACKGROUNDS: &[(&str, &str)] = &[("false", "Solid color"), ("true", "Gradient")];
const TIMES: &[(&str, &str)] = &[("false", "Once per user"), ("true", "Multiple times")];
const FREQUENCIES: &[(&str, &str)] = &[
    ("ON_ENTRY", "On every chat entry"),
    ("DAILY", "At most once a day"),
];
const AUDIENCES: &[(&str, &str)] = &[
    ("GLOBAL", "All rooms"),
    ("ROOM", "Chosen rooms"),
    ("USER", "Chosen users"),
];

/// Builds a [`FieldSpec`] with the common defaults.
const fn field(
    key: &'static str,
    label: &'static str,
    kind: FieldKind,
    initial: &'static str,
    step: Step,
) -> FieldSpec {
    FieldSpec {
        key,
        label,
        kind,
        initial,
        limit: None,
        step,
        hint: "",
    }
}

/// The form's fields, in form order.
pub const FIELDS: &[FieldSpec] = &[
    FieldSpec {
        limit: Some(OFFER_NAME_MAX_CHARS),
        hint: "Internal: for finding the offer here, never shown to users.",
        ..field("name", "Name", FieldKind::Text, "", Step::Content)
    },
    FieldSpec {
        hint: "Internal tags for finding the offer, comma-separated.",
        ..field("tags", "Tags", FieldKind::Ids, "", Step::Content)
    },
    field(
        "template",
        "Template",
        FieldKind::Select(TEMPLATES),
        "10",
        Step::Content,
    ),
    field(
        "viewType",
        "View",
        FieldKind::Radio(VIEWS),
        "POPUP",
        Step::Content,
    ),
    FieldSpec {
        limit: Some(TITLE_MAX_CHARS),
        ..field(
            "title",
            "Title",
            FieldKind::Text,
            "Your weekend bonus",
            Step::Content,
        )
    },
    FieldSpec {
        limit: Some(BODY_MAX_CHARS),
        ..field(
            "text",
            "Text",
            FieldKind::LongText,
            "Deposit before Sunday and get 20% extra.",
            Step::Content,
        )
    },
    FieldSpec {
        limit: Some(BUTTON_MAX_CHARS),
        ..field(
            "linkText",
            "Button text",
            FieldKind::Text,
            "Get the bonus",
            Step::Content,
        )
    },
    FieldSpec {
        hint: "Where the button (or the banner) leads: an http or https address.",
        ..field(
            "link",
            "Link",
            FieldKind::Url,
            "https://example.com/bonus",
            Step::Content,
        )
    },
    FieldSpec {
        hint: "Required for templates 11–14: 600×240 for the banner, 600×400 with text.",
        ..field("pic", "Image URL", FieldKind::Url, "", Step::Content)
    },
    field(
        "templateData.alignment",
        "Alignment",
        FieldKind::Radio(ALIGNMENTS),
        "center",
        Step::Content,
    ),
    field(
        "templateData.textColor",
        "Text color",
        FieldKind::Color,
        "#ffffff",
        Step::Content,
    ),
    field(
        "templateData.btnColor",
        "Button color",
        FieldKind::Color,
        "#1890bf",
        Step::Content,
    ),
    field(
        "templateData.btnTextColor",
        "Button text color",
        FieldKind::Color,
        "#ffffff",
        Step::Content,
    ),
    field(
        "templateData.gradient",
        "Background",
        FieldKind::Radio(BACKGROUNDS),
        "false",
        Step::Content,
    ),
    field(
        "templateData.bgColor",
        "Background color",
        FieldKind::Color,
        "#736969",
        Step::Content,
    ),
    field(
        "templateData.gradientFrom",
        "Gradient from",
        FieldKind::Color,
        "#60e753",
        Step::Content,
    ),
    field(
        "templateData.gradientTo",
        "Gradient to",
        FieldKind::Color,
        "#1e3c72",
        Step::Content,
    ),
    FieldSpec {
        hint: "An angle such as 135deg, or a direction such as \"to right\".",
        ..field(
            "templateData.gradientDirection",
            "Gradient direction",
            FieldKind::Text,
            "135deg",
            Step::Content,
        )
    },
    FieldSpec {
        hint: "Your local time.",
        ..field(
            "startTime",
            "Start",
            FieldKind::DateTime,
            "",
            Step::Schedule,
        )
    },
    FieldSpec {
        hint: "Optional: leave empty for no end.",
        ..field("endTime", "End", FieldKind::DateTime, "", Step::Schedule)
    },
    field(
        "showMultipleTimes",
        "How many times",
        FieldKind::Radio(TIMES),
        "false",
        Step::Schedule,
    ),
    field(
        "showFrerquency",
        "How often",
        FieldKind::Radio(FREQUENCIES),
        "ON_ENTRY",
        Step::Schedule,
    ),
    FieldSpec {
        hint: "Wait this long after the user enters the chat; 0 shows it at once.",
        ..field(
            "showDelayMS",
            "Delay (seconds)",
            FieldKind::Seconds,
            "0",
            Step::Schedule,
        )
    },
    field(
        "type",
        "Who sees it",
        FieldKind::Radio(AUDIENCES),
        "GLOBAL",
        Step::Audience,
    ),
    FieldSpec {
        hint: "Room ids, comma-separated.",
        ..field(
            "externalRoomIds",
            "Rooms",
            FieldKind::Ids,
            "",
            Step::Audience,
        )
    },
    FieldSpec {
        hint: "User ids, comma-separated, or load them from a CSV file below.",
        ..field(
            "externalUserIds",
            "Users",
            FieldKind::Ids,
            "",
            Step::Audience,
        )
    },
    FieldSpec {
        hint: "The user must be in at least one of these segments (none chosen: no segment needed).",
        ..field(
            "segmentIds",
            "Only users in segments",
            FieldKind::Segments,
            "",
            Step::Audience,
        )
    },
    FieldSpec {
        hint: "Users in any of these segments never see the offer.",
        ..field(
            "excludeSegmentIds",
            "Exclude users in segments",
            FieldKind::Segments,
            "",
            Step::Audience,
        )
    },
];

/// The fields of one translation (SPEC §7), with the offer's own field each one replaces.
pub const TRANSLATED: [&str; 4] = ["title", "text", "linkText", "pic"];

/// The form key of field `field` of the translation into `language`
/// (`translations.de.title`, which is also the core's error key).
pub fn translation_key(language: &str, field: &str) -> String {
    format!("translations.{language}.{field}")
}

/// The field with wire key `key`.
pub fn spec(key: &str) -> Option<&'static FieldSpec> {
    FIELDS.iter().find(|f| f.key == key)
}

/// The step where the field named by an error key (a wire name, as in the core's and the
/// API's errors) is edited; errors about no particular field belong to the last step.
pub fn step_of(key: &str) -> Step {
    if key == "templateData"
        || key.starts_with("templateData.")
        || key == "translations"
        || key.starts_with("translations.")
    {
        return Step::Content;
    }
    if super::campaign_fields::on_content_step(key) {
        return Step::Content;
    }
    if super::campaign_fields::on_schedule_step(key) {
        return Step::Schedule;
    }
    let key = if key == "showFrequency" {
        "showFrerquency"
    } else {
        key
    };
    // `tags[2]`, `segmentIds[0]`: the list's field.
    let key = key.split('[').next().unwrap_or(key);
    spec(key).map_or(Step::Send, |f| f.step)
}

/// The core's error for field `key`: its own, else the first about one of its items
/// (`segmentIds[1]: must be …`, for a list field).
pub fn error_for(errors: &offers_core::FieldErrors, key: &str) -> Option<String> {
    if let Some(reason) = errors.get(key) {
        return Some(reason.to_owned());
    }
    errors.iter().find_map(|(k, reason)| {
        k.strip_prefix(key)
            .filter(|rest| rest.starts_with('['))
            .map(|_| format!("{k}: {reason}"))
    })
}

/// The label to name an error key by.
pub fn label_of(key: &str) -> String {
    if let Some(label) = super::campaign_fields::label_of(key) {
        return label;
    }
    if let Some(rest) = key.strip_prefix("translations.") {
        return match rest.rsplit_once('.') {
            Some((language, field)) => format!("{} ({language})", label_of(field)),
            None => format!("Translation {rest}"),
        };
    }
    spec(key.split('[').next().unwrap_or(key))
        .map_or_else(|| key.to_owned(), |f| f.label.to_owned())
}

/// Optional fields the form leaves out when empty: a PATCH sends them as `null` so that
/// emptying one in the Studio clears it on the server.
const CLEARABLE: [&str; 14] = [
    "title",
    "text",
    "linkText",
    "pic",
    "endTime",
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

/// The form's text, field by field (wire key → text), and the offer being edited.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct FormState {
    pub values: BTreeMap<String, String>,
    /// The published offer this form edits (saved with `PATCH`), or `None` for a new one.
    pub editing: Option<i64>,
}

impl FormState {
    /// A new form: every field's initial text, starting at `start_local` (a local
    /// `datetime-local` value).
    pub fn new(start_local: &str) -> Self {
        let mut values: BTreeMap<String, String> = FIELDS
            .iter()
            .map(|f| (f.key.to_owned(), f.initial.to_owned()))
            .collect();
        values.insert("startTime".to_owned(), start_local.to_owned());
        Self {
            values,
            editing: None,
        }
    }

    /// The text of field `key` (its initial text when the form has none, e.g. a draft saved
    /// by an older Studio).
    pub fn get(&self, key: &str) -> &str {
        self.values
            .get(key)
            .map(String::as_str)
            .or_else(|| spec(key).map(|f| f.initial))
            .unwrap_or("")
    }

    /// Sets the text of field `key`.
    pub fn set(&mut self, key: &str, text: impl Into<String>) {
        self.values.insert(key.to_owned(), text.into());
    }

    /// Whether a field applies to the current choices (gradient fields only with a gradient,
    /// frequency only when shown several times, rooms only for `ROOM`, users only for
    /// `USER`). Fields that do not apply are hidden and left out of the body.
    pub fn applies(&self, field: &FieldSpec) -> bool {
        match field.key {
            "templateData.gradientFrom"
            | "templateData.gradientTo"
            | "templateData.gradientDirection" => self.get("templateData.gradient") == "true",
            "showFrerquency" => self.get("showMultipleTimes") == "true",
            "externalRoomIds" => self.get("type") == "ROOM",
            "externalUserIds" => self.get("type") == "USER",
            _ => true,
        }
    }

    /// The JSON body for `POST /external/offer`. `to_utc` turns a local `datetime-local`
    /// text into an ISO-8601 UTC timestamp (`None` when it cannot: the text is then sent as
    /// typed, for the core to word the error).
    pub fn body(&self, to_utc: &dyn Fn(&str) -> Option<String>) -> Map<String, Value> {
        let mut body = Map::new();
        let mut data = Map::new();
        for field in FIELDS {
            if !self.applies(field) {
                continue;
            }
            let text = self.get(field.key);
            if text.trim().is_empty() {
                continue;
            }
            let value = match (field.key, field.kind) {
                ("template", _) => text
                    .trim()
                    .parse::<i64>()
                    .map_or_else(|_| json!(text), Value::from),
                ("showMultipleTimes" | "templateData.gradient", _) => Value::Bool(text == "true"),
                (_, FieldKind::DateTime) => json!(to_utc(text).unwrap_or_else(|| text.to_owned())),
                (_, FieldKind::Seconds) => milliseconds(text),
                (_, FieldKind::Ids) => Value::Array(split_ids(text).map(Value::from).collect()),
                (_, FieldKind::Segments) => Value::Array(
                    split_ids(text)
                        .map(|id| id.parse::<i64>().map_or_else(|_| json!(id), Value::from))
                        .collect(),
                ),
                _ => json!(text),
            };
            match field.key.strip_prefix("templateData.") {
                Some(inner) => data.insert(inner.to_owned(), value),
                None => body.insert(field.key.to_owned(), value),
            };
        }
        body.insert("templateData".to_owned(), Value::Object(data));
        let languages = self.languages();
        if !languages.is_empty() {
            let translations = languages
                .into_iter()
                .map(|language| {
                    let fields: Map<String, Value> = TRANSLATED
                        .iter()
                        .filter_map(|field| {
                            let text = self.get(&translation_key(&language, field));
                            (!text.trim().is_empty()).then(|| ((*field).to_owned(), json!(text)))
                        })
                        .collect();
                    (language, Value::Object(fields))
                })
                .collect();
            body.insert("translations".to_owned(), Value::Object(translations));
        }
        super::campaign_fields::body_parts(self, &mut body);
        body
    }

    /// The languages the offer has a translation tab for, in order.
    pub fn languages(&self) -> Vec<String> {
        self.values
            .keys()
            .filter_map(|key| key.strip_prefix("translations."))
            .filter(|rest| !rest.contains('.'))
            .map(str::to_owned)
            .collect()
    }

    /// Adds a translation tab for `language` (trimmed; kept as typed, for the core to judge);
    /// `false` when it is empty or already there.
    pub fn add_language(&mut self, language: &str) -> bool {
        let language = language.trim();
        if language.is_empty() || language.contains('.') {
            return false;
        }
        let key = format!("translations.{language}");
        if self.values.contains_key(&key) {
            return false;
        }
        self.values.insert(key, String::new());
        true
    }

    /// Removes the translation into `language` and its fields.
    pub fn remove_language(&mut self, language: &str) {
        let tab = format!("translations.{language}");
        let prefix = format!("{tab}.");
        self.values
            .retain(|key, _| *key != tab && !key.starts_with(&prefix));
    }

    /// Replaces the translations with those of a body's `translations` object.
    fn set_translations(&mut self, translations: &Map<String, Value>) {
        for language in self.languages() {
            self.remove_language(&language);
        }
        for (language, fields) in translations {
            if !self.add_language(language) {
                continue;
            }
            if let Value::Object(fields) = fields {
                for (field, value) in fields {
                    let text = match value {
                        Value::String(text) => text.clone(),
                        Value::Null => String::new(),
                        other => other.to_string(),
                    };
                    self.set(&translation_key(language, field), text);
                }
            }
        }
    }

    /// The JSON body for `PATCH /external/offer/{id}`: the whole offer, with the optional
    /// fields the form leaves empty sent as `null` (so they are cleared).
    pub fn patch_body(&self, to_utc: &dyn Fn(&str) -> Option<String>) -> Map<String, Value> {
        let mut body = self.body(to_utc);
        for key in CLEARABLE {
            body.entry(key).or_insert(Value::Null);
        }
        body
    }

    /// The draft the core validates: exactly what [`FormState::body`] would send.
    pub fn draft(&self, to_utc: &dyn Fn(&str) -> Option<String>) -> OfferDraft {
        serde_json::from_value(Value::Object(self.body(to_utc))).unwrap_or_default()
    }

    /// The form for editing a published offer. `to_local` turns a UTC instant into a local
    /// `datetime-local` text.
    pub fn from_offer(offer: &PartnerOffer, to_local: &dyn Fn(&DateTime<Utc>) -> String) -> Self {
        let mut form = Self::new("");
        let text = |value: Option<&str>| value.unwrap_or("").to_owned();
        form.set("template", offer.template.code().to_string());
        form.set("viewType", offer.view_type.as_str());
        form.set("title", text(offer.title.as_ref().map(|t| t.as_str())));
        form.set("text", text(offer.text.as_ref().map(|t| t.as_str())));
        form.set(
            "linkText",
            text(offer.link_text.as_ref().map(|t| t.as_str())),
        );
        form.set("link", offer.link.as_str());
        form.set("pic", text(offer.pic.as_ref().map(|p| p.as_str())));
        let data: TemplateData = serde_json::from_str(&offer.template_data).unwrap_or_default();
        form.set("templateData.alignment", data.alignment.as_str());
        form.set("templateData.bgColor", data.bg_color.as_str());
        form.set("templateData.textColor", data.text_color.as_str());
        form.set("templateData.btnColor", data.btn_color.as_str());
        form.set("templateData.btnTextColor", data.btn_text_color.as_str());
        form.set("templateData.gradient", data.gradient.to_string());
        if let Some(from) = &data.gradient_from {
            form.set("templateData.gradientFrom", from.as_str());
        }
        if let Some(to) = &data.gradient_to {
            form.set("templateData.gradientTo", to.as_str());
        }
        if let Some(direction) = &data.gradient_direction {
            form.set("templateData.gradientDirection", direction.as_str());
        }
        form.set("startTime", to_local(&offer.start_time));
        form.set(
            "endTime",
            offer.end_time.as_ref().map(to_local).unwrap_or_default(),
        );
        form.set("showMultipleTimes", offer.show_multiple_times.to_string());
        form.set("showFrerquency", offer.show_frequency.as_str());
        form.set("showDelayMS", seconds(offer.show_delay_ms));
        form.set("type", offer.kind.as_str());
        let join = |ids: &[offers_core::ExternalId]| {
            ids.iter()
                .map(|id| id.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        };
        form.set("externalRoomIds", join(&offer.external_room_ids));
        form.set("externalUserIds", join(&offer.external_user_ids));
        let extras = &offer.extras;
        form.set(
            "name",
            extras.name.as_ref().map(|n| n.as_str()).unwrap_or(""),
        );
        let tags: Vec<&str> = extras.tags.iter().map(|t| t.as_str()).collect();
        form.set("tags", tags.join(", "));
        let numbers = |ids: &[i64]| {
            ids.iter()
                .map(i64::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        };
        form.set("segmentIds", numbers(&extras.segment_ids));
        form.set("excludeSegmentIds", numbers(&extras.exclude_segment_ids));
        if let Ok(Value::Object(translations)) = serde_json::to_value(&extras.translations) {
            form.set_translations(&translations);
        }
        super::campaign_fields::set_from_offer(&mut form, &offer.campaign);
        form.editing = Some(offer.id);
        form
    }

    /// A new offer with the content, schedule and audience of `offer` (Duplicate): nothing
    /// is edited, and the name says it is a copy (when the core's limit leaves room).
    pub fn duplicate(offer: &PartnerOffer, to_local: &dyn Fn(&DateTime<Utc>) -> String) -> Self {
        let mut form = Self::from_offer(offer, to_local);
        form.editing = None;
        let name = form.get("name").trim().to_owned();
        let copy = if name.is_empty() {
            format!("Copy of #{}", offer.id)
        } else {
            format!("{name} (copy)")
        };
        if copy.chars().count() <= OFFER_NAME_MAX_CHARS {
            form.set("name", copy);
        }
        form
    }
}

/// The form's text for a JSON value of the body (the inverse of [`FormState::body`]'s
/// per-field conversion).
fn text_of(
    field: &FieldSpec,
    value: &Value,
    to_local: &dyn Fn(&DateTime<Utc>) -> String,
) -> String {
    match (field.kind, value) {
        (_, Value::Null) => String::new(),
        (FieldKind::DateTime, Value::String(text)) => {
            offers_core::parse_timestamp(text).map_or_else(|_| text.clone(), |time| to_local(&time))
        }
        (FieldKind::Seconds, Value::Number(ms)) => ms.as_u64().map_or_else(
            || (ms.as_f64().unwrap_or(0.0) / 1000.0).to_string(),
            seconds,
        ),
        (_, Value::String(text)) => text.clone(),
        (_, Value::Array(items)) => items
            .iter()
            .map(|item| match item {
                Value::String(id) => id.clone(),
                other => other.to_string(),
            })
            .collect::<Vec<_>>()
            .join(", "),
        (_, other) => other.to_string(),
    }
}

impl FormState {
    /// The form for a body as [`FormState::body`] makes it (e.g. a saved draft), editing
    /// `editing`. `to_local` turns a UTC instant into a local `datetime-local` text; a text
    /// that is not a timestamp is kept as typed. Fields that apply but are missing from the
    /// body were empty; fields that do not apply keep their initial text.
    pub fn from_body(
        body: &Map<String, Value>,
        editing: Option<i64>,
        to_local: &dyn Fn(&DateTime<Utc>) -> String,
    ) -> Self {
        let data = match body.get("templateData") {
            Some(Value::Object(data)) => data.clone(),
            Some(Value::String(text)) => serde_json::from_str(text).unwrap_or_default(),
            _ => Map::new(),
        };
        let value_of = |key: &str| match key.strip_prefix("templateData.") {
            Some(inner) => data.get(inner),
            None => body.get(key),
        };
        let mut form = Self::new("");
        for field in FIELDS {
            if let Some(value) = value_of(field.key) {
                form.set(field.key, text_of(field, value, to_local));
            }
        }
        let missing: Vec<&str> = FIELDS
            .iter()
            .filter(|f| value_of(f.key).is_none() && form.applies(f))
            .filter(|f| !matches!(f.kind, FieldKind::Radio(_) | FieldKind::Select(_)))
            .map(|f| f.key)
            .collect();
        for key in missing {
            form.set(key, "");
        }
        if let Some(Value::Object(translations)) = body.get("translations") {
            form.set_translations(translations);
        }
        super::campaign_fields::set_from_body(&mut form, body);
        form.editing = editing;
        form
    }
}

/// The content of `draft` with a fixed schedule and audience (starting at `start`, shown to
/// everyone): what the preview validates, so a schedule or audience still being typed does
/// not blank the card.
pub fn for_preview(mut draft: OfferDraft, start: &str) -> OfferDraft {
    draft.start_time = Some(json!(start));
    draft.end_time = None;
    draft.show_multiple_times = None;
    draft.show_frequency = None;
    draft.show_delay_ms = None;
    draft.kind = None;
    draft.external_room_ids = None;
    draft.external_user_ids = None;
    draft.segment_ids = None;
    draft.exclude_segment_ids = None;
    draft
}

/// The ids in a comma- (or line-) separated text, trimmed, blanks dropped.
pub fn split_ids(text: &str) -> impl Iterator<Item = &str> {
    text.split([',', '\n'])
        .map(str::trim)
        .filter(|id| !id.is_empty())
}

/// Seconds typed in the form → the wire's milliseconds (a number when the text is one,
/// else the text as typed, for the core to reject).
pub fn milliseconds(text: &str) -> Value {
    match text.trim().parse::<f64>() {
        Ok(seconds) if seconds.is_finite() => Value::from((seconds * 1000.0).round() as i64),
        _ => json!(text),
    }
}

/// Milliseconds → the form's seconds text (`1.5` for 1500).
pub fn seconds(ms: u64) -> String {
    if ms.is_multiple_of(1000) {
        (ms / 1000).to_string()
    } else {
        (ms as f64 / 1000.0).to_string()
    }
}

/// What remains of a text field's limit, as the core counts (trimmed, in characters, each
/// merge tag at its fallback's length: `offers_core::MergeText::written_len`).
pub fn remaining(text: &str, limit: usize) -> i64 {
    let text = text.trim();
    let written = offers_core::MergeText::parse(text)
        .map_or_else(|_| text.chars().count(), |merge| merge.written_len());
    limit as i64 - written as i64
}

/// The `#rrggbb` an `<input type=color>` shows for a color field's text (black while the
/// text is not a color).
pub fn picker_value(text: &str) -> String {
    CssColor::parse(text).map_or_else(|_| "#000000".to_owned(), |c| c.to_rgba().to_hex())
}

/// The field's new text after a pick in the color picker: the picked color, keeping the
/// alpha of the current text (the picker has none).
pub fn picked_color(current: &str, picked: &str) -> String {
    let Ok(picked) = CssColor::parse(picked) else {
        return current.to_owned();
    };
    let mut rgba = picked.to_rgba();
    rgba.a = CssColor::parse(current).map_or(255, |c| c.to_rgba().a);
    CssColor::from_rgba(rgba).as_str().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use offers_core::{Offer, validate};

    fn utc(text: &str) -> Option<String> {
        Some(format!("{text}:00.000Z"))
    }

    fn form() -> FormState {
        FormState::new("2026-01-02T10:00")
    }

    #[test]
    fn a_new_form_is_a_valid_offer() {
        let draft = form().draft(&utc);
        let spec = validate(&draft).expect("the initial form is valid");
        assert_eq!(spec.title.unwrap().as_str(), "Your weekend bonus");
        assert_eq!(
            offers_core::format_timestamp(&spec.start_time),
            "2026-01-02T10:00:00.000Z"
        );
    }

    #[test]
    fn errors_come_from_the_core_keyed_by_field() {
        let mut f = form();
        f.set("title", "This title is far too long to fit");
        f.set("templateData.btnColor", "url(x)");
        f.set("showDelayMS", "abc");
        let errors = validate(&f.draft(&utc)).unwrap_err();
        assert!(errors.get("title").unwrap().starts_with("at most 23"));
        assert!(errors.contains("templateData.btnColor"));
        assert!(errors.contains("showDelayMS"));
        assert_eq!(step_of("templateData.btnColor"), Step::Content);
        assert_eq!(step_of("showDelayMS"), Step::Schedule);
        assert_eq!(step_of("externalUserIds"), Step::Audience);
        assert_eq!(step_of("offer"), Step::Send);
    }

    #[test]
    fn body_matches_the_documented_shape() {
        let mut f = form();
        f.set("showMultipleTimes", "true");
        f.set("showFrerquency", "DAILY");
        f.set("showDelayMS", "1.5");
        f.set("type", "USER");
        f.set("externalUserIds", "u1, u2,\nu3,,");
        f.set("externalRoomIds", "ignored because type is USER");
        f.set("endTime", "");
        let body = f.body(&utc);
        assert_eq!(body["template"], json!(10));
        assert_eq!(body["showMultipleTimes"], json!(true));
        assert_eq!(body["showFrerquency"], json!("DAILY"));
        assert_eq!(body["showDelayMS"], json!(1500));
        assert_eq!(body["externalUserIds"], json!(["u1", "u2", "u3"]));
        assert!(!body.contains_key("externalRoomIds"));
        assert!(!body.contains_key("endTime"));
        assert!(!body.contains_key("pic"));
        assert_eq!(body["templateData"]["gradient"], json!(false));
        assert!(body["templateData"].get("gradientFrom").is_none());
        let patch = f.patch_body(&utc);
        assert_eq!(patch["endTime"], Value::Null);
        assert_eq!(patch["pic"], Value::Null);
        assert!(validate(&f.draft(&utc)).is_ok());
    }

    #[test]
    fn gradient_fields_only_with_a_gradient() {
        let mut f = form();
        f.set("templateData.gradient", "true");
        let body = f.body(&utc);
        assert_eq!(body["templateData"]["gradientDirection"], json!("135deg"));
        let spec = validate(&f.draft(&utc)).unwrap();
        assert!(spec.template_data.gradient);
    }

    #[test]
    fn a_published_offer_round_trips_through_the_form() {
        let mut f = form();
        f.set("template", "12");
        f.set("pic", "https://images.test/pic.png");
        f.set("endTime", "2026-02-01T00:00");
        f.set("type", "ROOM");
        f.set("externalRoomIds", "r1,r2");
        f.set("showMultipleTimes", "true");
        f.set("showDelayMS", "2");
        let spec = validate(&f.draft(&utc)).unwrap();
        let offer = PartnerOffer::from(&Offer::created(9, spec, chrono::DateTime::UNIX_EPOCH));
        let back = FormState::from_offer(&offer, &|t| t.format("%Y-%m-%dT%H:%M").to_string());
        assert_eq!(back.editing, Some(9));
        assert_eq!(back.get("externalRoomIds"), "r1, r2");
        assert_eq!(back.get("showDelayMS"), "2");
        assert_eq!(back.get("endTime"), "2026-02-01T00:00");
        let mut expected = f.clone();
        expected.editing = Some(9);
        assert_eq!(back.body(&utc), expected.body(&utc));
    }

    #[test]
    fn a_saved_draft_round_trips_through_the_body() {
        let local = |t: &DateTime<Utc>| t.format("%Y-%m-%dT%H:%M").to_string();
        let mut f = form();
        f.set("template", "13");
        f.set("title", "");
        f.set("text", "Half typed");
        f.set("pic", "not a url yet");
        f.set("templateData.gradient", "true");
        f.set("templateData.gradientDirection", "to right");
        f.set("endTime", "");
        f.set("showMultipleTimes", "true");
        f.set("showFrerquency", "DAILY");
        f.set("showDelayMS", "1.5");
        f.set("type", "ROOM");
        f.set("externalRoomIds", "r1, r2");
        f.editing = Some(4);
        let body = f.body(&utc);
        let back = FormState::from_body(&body, Some(4), &local);
        assert_eq!(back.editing, Some(4));
        assert_eq!(back.get("title"), "");
        assert_eq!(back.get("pic"), "not a url yet");
        assert_eq!(back.get("startTime"), "2026-01-02T10:00");
        assert_eq!(back.get("endTime"), "");
        assert_eq!(back.get("showDelayMS"), "1.5");
        assert_eq!(back.get("externalRoomIds"), "r1, r2");
        assert_eq!(back.get("templateData.gradientDirection"), "to right");
        assert_eq!(back.body(&utc), body);
        // Invalid text is kept as typed; fields that do not apply keep their initial text.
        let mut g = form();
        g.set("showDelayMS", "abc");
        g.set("startTime", "tomorrow");
        let back = FormState::from_body(&g.body(&|_| None), None, &local);
        assert_eq!(back.get("showDelayMS"), "abc");
        assert_eq!(back.get("startTime"), "tomorrow");
        assert_eq!(back.get("externalUserIds"), "");
        assert_eq!(back.get("templateData.gradientFrom"), "#60e753");
        assert_eq!(back, g);
    }

    #[test]
    fn the_preview_ignores_schedule_and_audience() {
        let mut f = form();
        f.set("type", "USER");
        f.set("startTime", "garbage");
        assert!(validate(&f.draft(&utc)).is_err());
        let preview = for_preview(f.draft(&utc), "2026-01-01T00:00:00.000Z");
        assert!(validate(&preview).is_ok());
    }

    #[test]
    fn audience_fields_and_translations_reach_the_body() {
        let mut f = form();
        f.set("name", "Spring VIP");
        f.set("tags", "spring, vip");
        f.set("segmentIds", "3, 4");
        f.set("excludeSegmentIds", "x");
        assert!(f.add_language("de"));
        assert!(!f.add_language("de"));
        assert!(f.add_language("fr"));
        f.set(&translation_key("de", "title"), "Hallo {{firstName|du}}");
        f.set(&translation_key("de", "linkText"), "");
        assert_eq!(f.languages(), ["de", "fr"]);
        let body = f.body(&utc);
        assert_eq!(body["name"], json!("Spring VIP"));
        assert_eq!(body["tags"], json!(["spring", "vip"]));
        assert_eq!(body["segmentIds"], json!([3, 4]));
        assert_eq!(body["excludeSegmentIds"], json!(["x"]));
        assert_eq!(
            body["translations"],
            json!({"de": {"title": "Hallo {{firstName|du}}"}, "fr": {}})
        );
        // The core judges the translated fields under their own keys, the ids too.
        let errors = validate(&f.draft(&utc)).unwrap_err();
        assert!(errors.contains("excludeSegmentIds[0]"), "{errors:?}");
        assert!(
            error_for(&errors, "excludeSegmentIds")
                .unwrap()
                .starts_with("excludeSegmentIds[0]: must be a positive integer")
        );
        assert_eq!(error_for(&errors, "segmentIds"), None);
        f.set("excludeSegmentIds", "");
        f.set(
            &translation_key("de", "title"),
            "Ein viel zu langer Titel für das",
        );
        let errors = validate(&f.draft(&utc)).unwrap_err();
        assert!(
            errors
                .get("translations.de.title")
                .unwrap()
                .starts_with("at most 23"),
            "{errors:?}"
        );
        assert_eq!(step_of("translations.de.title"), Step::Content);
        assert_eq!(step_of("segmentIds[0]"), Step::Audience);
        assert_eq!(label_of("translations.de.title"), "Title (de)");
        assert_eq!(label_of("tags[1]"), "Tags");
        f.remove_language("fr");
        assert_eq!(f.languages(), ["de"]);
        // The draft round-trips, translations included; a PATCH clears what is empty.
        let body = f.body(&utc);
        let back = FormState::from_body(&body, None, &|t| t.format("%Y-%m-%dT%H:%M").to_string());
        assert_eq!(back.body(&utc), body);
        let patch = FormState::new("2026-01-02T10:00").patch_body(&utc);
        for key in [
            "name",
            "tags",
            "segmentIds",
            "excludeSegmentIds",
            "translations",
        ] {
            assert_eq!(patch[key], Value::Null, "{key}");
        }
    }

    #[test]
    fn a_published_offer_is_duplicated_as_a_new_offer() {
        let mut f = form();
        f.set("name", "Spring");
        f.set("tags", "b, a");
        f.set("segmentIds", "7");
        f.add_language("de");
        f.set(&translation_key("de", "text"), "Hallo");
        let spec = validate(&f.draft(&utc)).unwrap();
        let offer = PartnerOffer::from(&Offer::created(9, spec, chrono::DateTime::UNIX_EPOCH));
        let local = |t: &DateTime<Utc>| t.format("%Y-%m-%dT%H:%M").to_string();
        let edit = FormState::from_offer(&offer, &local);
        assert_eq!(edit.get("tags"), "a, b");
        assert_eq!(edit.get("segmentIds"), "7");
        assert_eq!(edit.get(&translation_key("de", "text")), "Hallo");
        let copy = FormState::duplicate(&offer, &local);
        assert_eq!(copy.editing, None);
        assert_eq!(copy.get("name"), "Spring (copy)");
        assert_eq!(
            copy.body(&utc)["translations"],
            json!({"de": {"text": "Hallo"}})
        );
    }

    #[test]
    fn color_picker_stays_in_sync() {
        assert_eq!(picker_value("#fff"), "#ffffff");
        assert_eq!(picker_value("rebeccapurple"), "#663399");
        assert_eq!(picker_value("not a color"), "#000000");
        assert_eq!(picked_color("#fff", "#102030"), "#102030");
        assert_eq!(picked_color("rgba(0,0,0,0.5)", "#102030"), "#10203080");
        assert_eq!(picked_color("#fff", "bogus"), "#fff");
    }

    #[test]
    fn counters_and_seconds() {
        assert_eq!(remaining("  héllo ", 23), 18);
        assert_eq!(remaining("", 80), 80);
        assert_eq!(remaining("Hi {{firstName|there}}", 23), 15);
        assert_eq!(remaining("Hi {{unclosed", 23), 10);
        assert_eq!(seconds(1500), "1.5");
        assert_eq!(seconds(3000), "3");
        assert_eq!(Step::Content.next(), Some(Step::Schedule));
        assert_eq!(Step::Content.prev(), None);
        assert_eq!(Step::Send.prev(), Some(Step::Audience));
        assert_eq!(Step::Send.next(), None);
    }
}
