//! The segment editor's form (pure, no DOM): a rule segment's rows of field / operator /
//! value, or a list segment's typed ids, and how they become the body of
//! `POST /external/segment` (and of the live count). Whether a definition is *valid* is the
//! server's answer (`offers_core::SegmentSpec::parse`, behind the 422): this module only lays
//! the typed text out on the wire, and files the answer's field errors under the rows they name.

use std::collections::BTreeMap;

use offers_core::api::Segment;
use offers_core::profile::AttrValue;
use serde_json::{Map, Value, json};

use super::form::split_ids;

/// What a row looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    Language,
    Tag,
    Attribute,
}

impl FieldKind {
    /// Every kind, with its label.
    pub const ALL: [(FieldKind, &'static str, &'static str); 3] = [
        (FieldKind::Language, "language", "Language"),
        (FieldKind::Tag, "tag", "Tag"),
        (FieldKind::Attribute, "attribute", "Attribute"),
    ];

    /// The kind of the select's value.
    pub fn from_slug(slug: &str) -> Self {
        match slug {
            "language" => Self::Language,
            "tag" => Self::Tag,
            _ => Self::Attribute,
        }
    }

    /// The select's value.
    pub fn slug(self) -> &'static str {
        match self {
            Self::Language => "language",
            Self::Tag => "tag",
            Self::Attribute => "attribute",
        }
    }
}

/// One condition as typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleRow {
    pub kind: FieldKind,
    /// The attribute's key (for [`FieldKind::Attribute`]).
    pub key: String,
    /// The operator's wire name (`eq`, `gte`, …).
    pub op: String,
    /// The value: one value, or a comma-separated list for `in` / `nin`.
    pub value: String,
}

impl Default for RuleRow {
    fn default() -> Self {
        Self {
            kind: FieldKind::Tag,
            key: String::new(),
            op: "eq".to_owned(),
            value: String::new(),
        }
    }
}

/// Whether operator `op` takes no value (`exists`, `missing`).
pub fn takes_no_value(op: &str) -> bool {
    matches!(op, "exists" | "missing")
}

/// Whether operator `op` takes a list (`in`, `nin`).
pub fn takes_list(op: &str) -> bool {
    matches!(op, "in" | "nin")
}

impl RuleRow {
    /// The wire `field`: `language`, `tag` or `attributes.<key>`.
    pub fn field(&self) -> String {
        match self.kind {
            FieldKind::Language => "language".to_owned(),
            FieldKind::Tag => "tag".to_owned(),
            FieldKind::Attribute => format!("attributes.{}", self.key.trim()),
        }
    }

    /// One typed value: language and tag values are texts; an attribute's value is typed as
    /// a CSV cell is (the core's `AttrValue::from_cell`: `true`, `1200`, else text), and a
    /// value in double quotes is always a text (`"007"`).
    fn scalar(&self, text: &str) -> Value {
        let text = text.trim();
        if let Some(quoted) = text
            .strip_prefix('"')
            .and_then(|rest| rest.strip_suffix('"'))
        {
            return json!(quoted);
        }
        if self.kind != FieldKind::Attribute {
            return json!(text);
        }
        AttrValue::from_cell(text).map_or_else(|_| json!(text), |value| value.to_json())
    }

    /// The condition's JSON.
    pub fn to_json(&self) -> Value {
        let mut condition = Map::new();
        condition.insert("field".to_owned(), json!(self.field()));
        condition.insert("op".to_owned(), json!(self.op));
        if !takes_no_value(&self.op) {
            let value = if takes_list(&self.op) {
                Value::Array(self.value.split(',').map(|v| self.scalar(v)).collect())
            } else {
                self.scalar(&self.value)
            };
            condition.insert("value".to_owned(), value);
        }
        Value::Object(condition)
    }

    /// The row for a stored condition's JSON (`{"field", "op", "value"}`).
    pub fn from_json(condition: &Value) -> Self {
        let text = |v: &Value| match v {
            Value::String(s)
                if AttrValue::from_cell(s).is_ok_and(|v| !matches!(v, AttrValue::Text(_))) =>
            {
                format!("\"{s}\"")
            }
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        let field = condition["field"].as_str().unwrap_or("");
        let (kind, key) = match field {
            "language" => (FieldKind::Language, String::new()),
            "tag" => (FieldKind::Tag, String::new()),
            other => (
                FieldKind::Attribute,
                other
                    .strip_prefix("attributes.")
                    .unwrap_or(other)
                    .to_owned(),
            ),
        };
        let value = match &condition["value"] {
            Value::Null => String::new(),
            Value::Array(items) => items.iter().map(text).collect::<Vec<_>>().join(", "),
            other if kind == FieldKind::Attribute => text(other),
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        Self {
            kind,
            key,
            op: condition["op"].as_str().unwrap_or("eq").to_owned(),
            value,
        }
    }
}

/// Rules or a list of ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SegmentKind {
    Rules,
    List,
}

/// The segment being edited.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentForm {
    /// The saved segment this form edits (`PATCH`), or `None` for a new one.
    pub editing: Option<i64>,
    pub name: String,
    pub kind: SegmentKind,
    /// `all` or `any`.
    pub match_kind: String,
    pub rows: Vec<RuleRow>,
    /// A list segment's ids, comma-separated (or one per line).
    pub user_ids: String,
}

impl Default for SegmentForm {
    fn default() -> Self {
        Self {
            editing: None,
            name: String::new(),
            kind: SegmentKind::Rules,
            match_kind: "all".to_owned(),
            rows: vec![RuleRow::default()],
            user_ids: String::new(),
        }
    }
}

impl SegmentForm {
    /// The definition without its name: what the live count asks about.
    pub fn definition(&self) -> Map<String, Value> {
        let mut body = Map::new();
        match self.kind {
            SegmentKind::Rules => {
                body.insert("match".to_owned(), json!(self.match_kind));
                body.insert(
                    "conditions".to_owned(),
                    Value::Array(self.rows.iter().map(RuleRow::to_json).collect()),
                );
            }
            SegmentKind::List => {
                body.insert(
                    "userIds".to_owned(),
                    Value::Array(split_ids(&self.user_ids).map(Value::from).collect()),
                );
            }
        }
        body
    }

    /// The body of `POST /external/segment` (or `PATCH`).
    pub fn body(&self) -> Value {
        let mut body = self.definition();
        body.insert("name".to_owned(), json!(self.name.trim()));
        Value::Object(body)
    }

    /// The form for editing a stored segment.
    pub fn from_segment(segment: &Segment) -> Self {
        let mut form = Self {
            editing: Some(segment.id),
            name: segment.name.as_str().to_owned(),
            ..Self::default()
        };
        match (&segment.conditions, &segment.user_ids) {
            (Some(conditions), _) => {
                form.match_kind = segment
                    .match_kind
                    .map_or("all", offers_core::segment::Match::as_str)
                    .to_owned();
                form.rows = conditions
                    .iter()
                    .map(|c| RuleRow::from_json(&c.to_json()))
                    .collect();
            }
            (None, ids) => {
                form.kind = SegmentKind::List;
                form.user_ids = ids
                    .iter()
                    .flatten()
                    .map(|id| id.as_str())
                    .collect::<Vec<_>>()
                    .join(", ");
            }
        }
        form
    }
}

/// The server's field errors, filed: those naming a row (`conditions[1].op` → row 1, as
/// `op: …`) and the rest (`name`, `conditions`, `userIds[3]`) with their keys.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FiledErrors {
    pub rows: BTreeMap<usize, Vec<String>>,
    pub other: Vec<(String, String)>,
}

/// Files `fields` (a 422's `error.fields`) by row.
pub fn file_errors(fields: &BTreeMap<String, String>) -> FiledErrors {
    let mut filed = FiledErrors::default();
    for (key, reason) in fields {
        let row = key
            .strip_prefix("conditions[")
            .and_then(|rest| rest.split_once(']'))
            .and_then(|(index, rest)| Some((index.parse::<usize>().ok()?, rest)));
        match row {
            Some((index, rest)) => {
                let part = rest.trim_start_matches('.');
                let text = if part.is_empty() {
                    reason.clone()
                } else {
                    format!("{part}: {reason}")
                };
                filed.rows.entry(index).or_default().push(text);
            }
            None => filed.other.push((key.clone(), reason.clone())),
        }
    }
    filed
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(kind: FieldKind, key: &str, op: &str, value: &str) -> RuleRow {
        RuleRow {
            kind,
            key: key.into(),
            op: op.into(),
            value: value.into(),
        }
    }

    #[test]
    fn rows_become_the_documented_conditions() {
        let form = SegmentForm {
            name: " German VIPs ".into(),
            rows: vec![
                row(FieldKind::Language, "", "eq", "de"),
                row(FieldKind::Tag, "", "in", "vip, gold"),
                row(FieldKind::Attribute, "points", "gte", "1000"),
                row(FieldKind::Attribute, "zip", "eq", "\"007\""),
                row(FieldKind::Attribute, "verified", "exists", "ignored"),
            ],
            ..SegmentForm::default()
        };
        assert_eq!(
            form.body(),
            json!({"name": "German VIPs", "match": "all", "conditions": [
                {"field": "language", "op": "eq", "value": "de"},
                {"field": "tag", "op": "in", "value": ["vip", "gold"]},
                {"field": "attributes.points", "op": "gte", "value": 1000},
                {"field": "attributes.zip", "op": "eq", "value": "007"},
                {"field": "attributes.verified", "op": "exists"},
            ]})
        );
        let list = SegmentForm {
            kind: SegmentKind::List,
            name: "Testers".into(),
            user_ids: "u1, u2\nu3".into(),
            ..SegmentForm::default()
        };
        assert_eq!(
            list.body(),
            json!({"name": "Testers", "userIds": ["u1", "u2", "u3"]})
        );
        assert!(!list.definition().contains_key("name"));
    }

    #[test]
    fn stored_conditions_come_back_as_rows() {
        for original in [
            row(FieldKind::Tag, "", "nin", "a, b"),
            row(FieldKind::Attribute, "points", "lt", "2.5"),
            row(FieldKind::Attribute, "zip", "eq", "\"007\""),
            row(FieldKind::Attribute, "vip", "eq", "true"),
            row(FieldKind::Language, "", "missing", ""),
        ] {
            let back = RuleRow::from_json(&original.to_json());
            assert_eq!(back.to_json(), original.to_json(), "{original:?}");
        }
    }

    #[test]
    fn errors_are_filed_under_their_rows() {
        let fields: BTreeMap<String, String> = [
            ("conditions[1].op", "must be one of eq, neq"),
            ("conditions[0]", "bad condition"),
            ("name", "required"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        let filed = file_errors(&fields);
        assert_eq!(
            filed.rows[&1],
            vec!["op: must be one of eq, neq".to_owned()]
        );
        assert_eq!(filed.rows[&0], vec!["bad condition".to_owned()]);
        assert_eq!(
            filed.other,
            vec![("name".to_owned(), "required".to_owned())]
        );
    }
}
