//! The Studio form's fields and how their text becomes an [`OfferDraft`] for the core to judge.

use leptos::prelude::*;
use offers_core::OfferDraft;
use serde_json::{Value, json};

/// How a field is edited.
#[derive(Debug, Clone, Copy)]
pub enum FieldKind {
    Text,
    Color,
    Choice(&'static [(&'static str, &'static str)]),
}

/// One form field: its wire key (the core's error key), label, initial text and length limit.
#[derive(Debug)]
pub struct FieldSpec {
    pub key: &'static str,
    pub label: &'static str,
    pub kind: FieldKind,
    pub initial: &'static str,
    pub limit: Option<usize>,
}

const TEMPLATES: &[(&str, &str)] = &[
    ("10", "10 · Text"),
    ("11", "11 · Image only (600×240)"),
    ("12", "12 · Image above text"),
    ("13", "13 · Image beside text"),
    ("14", "14 · Image behind text"),
];
const ALIGNMENTS: &[(&str, &str)] = &[("left", "Left"), ("center", "Center"), ("right", "Right")];
const GRADIENT: &[(&str, &str)] = &[("false", "Solid background"), ("true", "Gradient")];

/// The Studio's fields, in form order. Template-data fields use the core's nested keys.
pub const FIELDS: &[FieldSpec] = &[
    FieldSpec {
        key: "template",
        label: "Template",
        kind: FieldKind::Choice(TEMPLATES),
        initial: "10",
        limit: None,
    },
    FieldSpec {
        key: "title",
        label: "Title",
        kind: FieldKind::Text,
        initial: "Your weekend bonus",
        limit: Some(23),
    },
    FieldSpec {
        key: "text",
        label: "Text",
        kind: FieldKind::Text,
        initial: "Deposit before Sunday and get 20% extra.",
        limit: Some(180),
    },
    FieldSpec {
        key: "linkText",
        label: "Button text",
        kind: FieldKind::Text,
        initial: "Get the bonus",
        limit: Some(80),
    },
    FieldSpec {
        key: "link",
        label: "Link",
        kind: FieldKind::Text,
        initial: "https://example.com/bonus",
        limit: None,
    },
    FieldSpec {
        key: "pic",
        label: "Image URL",
        kind: FieldKind::Text,
        initial: "",
        limit: None,
    },
    FieldSpec {
        key: "templateData.alignment",
        label: "Alignment",
        kind: FieldKind::Choice(ALIGNMENTS),
        initial: "center",
        limit: None,
    },
    FieldSpec {
        key: "templateData.bgColor",
        label: "Background",
        kind: FieldKind::Color,
        initial: "#736969",
        limit: None,
    },
    FieldSpec {
        key: "templateData.textColor",
        label: "Text color",
        kind: FieldKind::Color,
        initial: "#ffffff",
        limit: None,
    },
    FieldSpec {
        key: "templateData.btnColor",
        label: "Button color",
        kind: FieldKind::Color,
        initial: "#1890bf",
        limit: None,
    },
    FieldSpec {
        key: "templateData.btnTextColor",
        label: "Button text color",
        kind: FieldKind::Color,
        initial: "#fff",
        limit: None,
    },
    FieldSpec {
        key: "templateData.gradient",
        label: "Background style",
        kind: FieldKind::Choice(GRADIENT),
        initial: "false",
        limit: None,
    },
    FieldSpec {
        key: "templateData.gradientFrom",
        label: "Gradient from",
        kind: FieldKind::Color,
        initial: "#60e753",
        limit: None,
    },
    FieldSpec {
        key: "templateData.gradientTo",
        label: "Gradient to",
        kind: FieldKind::Color,
        initial: "#e4efe7",
        limit: None,
    },
    FieldSpec {
        key: "templateData.gradientDirection",
        label: "Gradient direction",
        kind: FieldKind::Text,
        initial: "135deg",
        limit: None,
    },
];

/// Reads the current field values into a draft.
pub fn draft_from(
    values: &[(&'static FieldSpec, RwSignal<String>)],
    start_time: &str,
) -> OfferDraft {
    let pairs: Vec<(&str, String)> = values.iter().map(|(f, v)| (f.key, v.get())).collect();
    let borrowed: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
    draft_from_pairs(&borrowed, start_time)
}

/// Builds a draft from `(wire key, text)` pairs; empty texts are left out, as an empty form
/// field means "not given".
pub fn draft_from_pairs(pairs: &[(&str, &str)], start_time: &str) -> OfferDraft {
    let mut top = serde_json::Map::new();
    let mut template_data = serde_json::Map::new();
    let gradient_on = pairs
        .iter()
        .any(|(k, v)| *k == "templateData.gradient" && *v == "true");
    for (key, value) in pairs {
        if value.trim().is_empty() {
            continue;
        }
        if let Some(inner) = key.strip_prefix("templateData.") {
            if inner.starts_with("gradient") && inner != "gradient" && !gradient_on {
                continue;
            }
            let value = if inner == "gradient" {
                Value::Bool(*value == "true")
            } else {
                json!(value)
            };
            template_data.insert(inner.to_owned(), value);
        } else {
            top.insert((*key).to_owned(), json!(value));
        }
    }
    top.insert("templateData".into(), Value::Object(template_data));
    top.insert("startTime".into(), json!(start_time));
    serde_json::from_value(Value::Object(top)).unwrap_or_default()
}
