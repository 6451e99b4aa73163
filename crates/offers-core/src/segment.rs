//! Segments (SPEC §7): named, reusable groups of users, either a list of user ids or rules
//! over the profile's language, tags and attributes; and the offer's segment rule
//! ([`segments_allow`]).
//!
//! This module is the one place these rules live: the API's feed index, `/external/explain`
//! and the Studio's live count all call [`in_segment`] / [`rules_match`] and
//! [`segments_allow`], on the server, against the stored profile.
//!
//! # Evaluation
//! - `match: all` needs every condition, `any` at least one. A rule segment has at least one
//!   condition ([`SegmentSpec::parse`] refuses none).
//! - A condition on something the user lacks (no language, no such attribute) is false,
//!   except `missing` — `neq` and `nin` included. A value of another type than the
//!   condition's (a text attribute against `gt 10`, a number against `eq "10"`) is false.
//! - `tag`: `eq t` the user has tag `t`, `neq t` lacks it, `in` has any of the list, `nin`
//!   none of it, `exists` has some tag, `missing` has none. Tags are case-sensitive.
//! - `language`: compared case-insensitively; a value names a language and its regional
//!   forms (`de` matches `de`, `de-AT`, `de-CH`; `de-AT` only `de-AT`), see
//!   [`LanguageTag::matches`]. `gt`…`lte` do not apply.
//! - attributes: `eq`/`neq`/`in`/`nin` compare values of the same type (texts exactly,
//!   case-sensitively); `gt`, `gte`, `lt`, `lte` need a number on both sides.
//! - An anonymous visitor (no profile) is in no segment, rules or list.

use crate::reason::reason;
use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use crate::error::FieldErrors;
use crate::language::{LANGUAGE_REASON, LanguageTag};
use crate::newtype::string_newtype;
use crate::profile::{AttrKey, AttrValue, Profile, ProfileTag};
use crate::text::{ExternalId, checked_text};

/// The most conditions a rule segment may have.
pub const MAX_CONDITIONS: usize = 50;
/// The most values an `in` / `nin` condition may list.
pub const MAX_OPERAND_VALUES: usize = 100;
/// The most user ids a list segment may hold.
pub const MAX_SEGMENT_USERS: usize = 100_000;
/// The most characters a [`SegmentName`] may have.
pub const SEGMENT_NAME_MAX_CHARS: usize = 80;

/// The reason given for an unknown operator.
pub const OP_REASON: &str = "must be one of eq, neq, in, nin, gt, gte, lt, lte, exists, missing";
/// The reason given for an unknown field.
pub const FIELD_REASON: &str = "must be language, tag or attributes.<key>";

/// The fields of a segment body.
const SEGMENT_FIELDS: [&str; 4] = ["name", "match", "conditions", "userIds"];
/// The fields of a condition.
const CONDITION_FIELDS: [&str; 3] = ["field", "op", "value"];

/// A segment's name: 1–80 characters, one line (the text rules of [`crate::text`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SegmentName(String);

impl SegmentName {
    /// Parses a name: trimmed, not blank, at most 80 characters, no control characters.
    pub fn parse(input: &str) -> Result<Self, String> {
        checked_text(input, SEGMENT_NAME_MAX_CHARS, false).map(Self)
    }
}

string_newtype!(SegmentName);

/// Whether a rule segment needs every condition or any one.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Match {
    /// Every condition holds (`all`, the default).
    #[default]
    All,
    /// At least one condition holds (`any`).
    Any,
}

impl Match {
    /// Both, in wire order.
    pub const ALL: &'static [Self] = &[Self::All, Self::Any];

    /// The wire name: `all` or `any`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::All => "all",
            Self::Any => "any",
        }
    }

    /// Parses the wire name (case-insensitive).
    pub fn parse(input: &str) -> Result<Self, String> {
        Self::ALL
            .iter()
            .copied()
            .find(|m| input.trim().eq_ignore_ascii_case(m.as_str()))
            .ok_or_else(|| reason("must be all or any"))
    }
}

/// A condition's operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Op {
    /// Equal.
    Eq,
    /// Present and not equal.
    Neq,
    /// Equal to one of a list.
    In,
    /// Present and equal to none of a list.
    Nin,
    /// Greater than (numbers).
    Gt,
    /// Greater than or equal (numbers).
    Gte,
    /// Less than (numbers).
    Lt,
    /// Less than or equal (numbers).
    Lte,
    /// Present.
    Exists,
    /// Absent.
    Missing,
}

impl Op {
    /// Every operator, in wire order.
    pub const ALL: &'static [Self] = &[
        Self::Eq,
        Self::Neq,
        Self::In,
        Self::Nin,
        Self::Gt,
        Self::Gte,
        Self::Lt,
        Self::Lte,
        Self::Exists,
        Self::Missing,
    ];

    /// The wire name, e.g. `gte`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Eq => "eq",
            Self::Neq => "neq",
            Self::In => "in",
            Self::Nin => "nin",
            Self::Gt => "gt",
            Self::Gte => "gte",
            Self::Lt => "lt",
            Self::Lte => "lte",
            Self::Exists => "exists",
            Self::Missing => "missing",
        }
    }

    /// Parses the wire name (case-insensitive).
    pub fn parse(input: &str) -> Result<Self, String> {
        Self::ALL
            .iter()
            .copied()
            .find(|op| input.trim().eq_ignore_ascii_case(op.as_str()))
            .ok_or_else(|| reason(OP_REASON))
    }

    /// Whether the operator compares numbers (`gt`, `gte`, `lt`, `lte`).
    pub const fn is_numeric(self) -> bool {
        matches!(self, Self::Gt | Self::Gte | Self::Lt | Self::Lte)
    }
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a condition looks at. Wire names `language`, `tag`, `attributes.<key>`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Field {
    /// The user's language.
    Language,
    /// The user's tags.
    Tag,
    /// One of the user's attributes.
    Attribute(AttrKey),
}

impl Field {
    /// Parses a wire name: `language`, `tag` or `attributes.<key>`.
    pub fn parse(input: &str) -> Result<Self, String> {
        match input.trim() {
            "language" => Ok(Self::Language),
            "tag" => Ok(Self::Tag),
            other => match other.strip_prefix("attributes.") {
                Some(key) => AttrKey::parse(key).map(Self::Attribute),
                None => Err(reason(FIELD_REASON)),
            },
        }
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Language => f.write_str("language"),
            Self::Tag => f.write_str("tag"),
            Self::Attribute(key) => write!(f, "attributes.{key}"),
        }
    }
}

/// A condition's value: none (`exists`, `missing`), one (`eq`, `neq`, `gt`…) or a list (`in`,
/// `nin`). Language and tag values are texts (a canonical [`LanguageTag`], a [`ProfileTag`]).
#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    /// No value.
    None,
    /// One value.
    One(AttrValue),
    /// A non-empty list.
    Many(Vec<AttrValue>),
}

impl Operand {
    /// The value as JSON (`None`: absent).
    pub fn to_json(&self) -> Option<Value> {
        match self {
            Self::None => None,
            Self::One(value) => Some(value.to_json()),
            Self::Many(values) => Some(Value::Array(
                values.iter().map(AttrValue::to_json).collect(),
            )),
        }
    }

    /// The values, as a slice (empty for `None`).
    pub fn values(&self) -> &[AttrValue] {
        match self {
            Self::None => &[],
            Self::One(value) => std::slice::from_ref(value),
            Self::Many(values) => values,
        }
    }
}

/// One condition: `{"field": "attributes.points", "op": "gte", "value": 1000}`.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    /// What it looks at.
    pub field: Field,
    /// How it compares.
    pub op: Op,
    /// What it compares with.
    pub value: Operand,
}

impl Condition {
    /// The condition as its wire object (`value` left out for `exists` / `missing`).
    pub fn to_json(&self) -> Value {
        let mut map = Map::new();
        map.insert("field".into(), Value::String(self.field.to_string()));
        map.insert("op".into(), Value::String(self.op.as_str().to_owned()));
        if let Some(value) = self.value.to_json() {
            map.insert("value".into(), value);
        }
        Value::Object(map)
    }

    /// Whether `profile` meets the condition (see the module docs).
    pub fn matches(&self, profile: &Profile) -> bool {
        match &self.field {
            Field::Language => {
                let Some(language) = &profile.language else {
                    return self.op == Op::Missing;
                };
                let named = |value: &AttrValue| match value {
                    AttrValue::Text(range) => language.is_within(range),
                    _ => false,
                };
                self.present(named)
            }
            Field::Tag => {
                let has = |value: &AttrValue| match value {
                    AttrValue::Text(tag) => profile.has_tag(tag),
                    _ => false,
                };
                match self.op {
                    Op::Exists => !profile.tags.is_empty(),
                    Op::Missing => profile.tags.is_empty(),
                    _ => self.present(has),
                }
            }
            Field::Attribute(key) => compare(
                self.op,
                profile.attributes.get(key).map(AttrValue::scalar),
                &self.value,
            ),
        }
    }

    /// The condition for a field the user has, given whether one value names it.
    fn present(&self, equal: impl Fn(&AttrValue) -> bool) -> bool {
        by_equality(self.op, self.value.values(), equal)
    }
}

/// A value a condition looks at, borrowed: an attribute's value ([`AttrValue::scalar`]) or an
/// event property ([`Scalar::from_json`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Scalar<'a> {
    /// A text.
    Text(&'a str),
    /// A number.
    Number(f64),
    /// A boolean.
    Bool(bool),
    /// Something else (an array or object): present, but equal to no value.
    Other,
}

impl<'a> Scalar<'a> {
    /// A JSON value as a scalar: `null` is absent (`None`), arrays and objects are
    /// [`Scalar::Other`].
    pub fn from_json(value: &'a Value) -> Option<Self> {
        Some(match value {
            Value::Null => return None,
            Value::String(s) => Self::Text(s),
            Value::Number(n) => n.as_f64().map_or(Self::Other, Self::Number),
            Value::Bool(b) => Self::Bool(*b),
            Value::Array(_) | Value::Object(_) => Self::Other,
        })
    }

    /// Whether `value` is of the same type.
    fn same_type(self, value: &AttrValue) -> bool {
        matches!(
            (self, value),
            (Self::Text(_), AttrValue::Text(_))
                | (Self::Number(_), AttrValue::Number(_))
                | (Self::Bool(_), AttrValue::Bool(_))
        )
    }

    /// Whether `value` is equal (same type, same value; texts exactly).
    fn equals(self, value: &AttrValue) -> bool {
        match (self, value) {
            (Self::Text(a), AttrValue::Text(b)) => a == b,
            (Self::Number(a), AttrValue::Number(b)) => a == *b,
            (Self::Bool(a), AttrValue::Bool(b)) => a == *b,
            _ => false,
        }
    }
}

impl AttrValue {
    /// The value, borrowed as a [`Scalar`].
    pub fn scalar(&self) -> Scalar<'_> {
        match self {
            Self::Text(s) => Scalar::Text(s),
            Self::Number(n) => Scalar::Number(*n),
            Self::Bool(b) => Scalar::Bool(*b),
        }
    }
}

/// The one comparison of a condition's operator on a value (a profile attribute in a segment,
/// an event property in a trigger, [`crate::campaign::Trigger`]): `actual` is `None` when the
/// user or event lacks it, which is false for every operator but `missing`. `gt`…`lte` need a
/// number on both sides; `eq`/`in` need an equal value of the same type; `neq`/`nin` need the
/// operand to hold a value of the same type and none equal.
pub fn compare(op: Op, actual: Option<Scalar<'_>>, operand: &Operand) -> bool {
    let Some(actual) = actual else {
        return op == Op::Missing;
    };
    let values = operand.values();
    if op.is_numeric() {
        let (Scalar::Number(actual), Some(AttrValue::Number(bound))) = (actual, values.first())
        else {
            return false;
        };
        return match op {
            Op::Gt => actual > *bound,
            Op::Gte => actual >= *bound,
            Op::Lt => actual < *bound,
            _ => actual <= *bound,
        };
    }
    if matches!(op, Op::Neq | Op::Nin) && !values.iter().any(|v| actual.same_type(v)) {
        return false;
    }
    by_equality(op, values, |value| actual.equals(value))
}

/// An operator on something present, given whether one of the operand's `values` equals it.
fn by_equality(op: Op, values: &[AttrValue], equal: impl Fn(&AttrValue) -> bool) -> bool {
    match op {
        Op::Eq | Op::In => values.iter().any(equal),
        Op::Neq | Op::Nin => !values.iter().any(equal),
        Op::Exists => true,
        Op::Missing => false,
        // Numeric operators are decided by `compare` (attributes and properties only).
        Op::Gt | Op::Gte | Op::Lt | Op::Lte => false,
    }
}

/// A rule segment's rules: `match` and its conditions.
#[derive(Debug, Clone, PartialEq)]
pub struct SegmentRules {
    /// `all` or `any`.
    pub match_kind: Match,
    /// At least one, at most [`MAX_CONDITIONS`].
    pub conditions: Vec<Condition>,
}

/// What a segment is: rules, or a list of user ids.
#[derive(Debug, Clone, PartialEq)]
pub enum SegmentDef {
    /// Users whose profile meets the rules.
    Rules(SegmentRules),
    /// These users (at most [`MAX_SEGMENT_USERS`], without duplicates).
    List(Vec<ExternalId>),
}

/// A segment as stored and answered: its name and definition. On the wire rules are
/// `{"name", "match", "conditions": [{"field", "op", "value"}]}`, a list is
/// `{"name", "userIds": [...]}`. Deserializing runs [`SegmentSpec::parse`].
#[derive(Debug, Clone, PartialEq)]
pub struct SegmentSpec {
    /// The name.
    pub name: SegmentName,
    /// Rules or list.
    pub def: SegmentDef,
}

impl SegmentSpec {
    /// Reads a segment body (`POST /external/segment`), reporting every invalid field at once:
    /// `name`, `match`, `conditions` (none, too many, with `userIds`), `conditions[1].op`,
    /// `conditions[0].field`, `conditions[2].value` ("gt needs a number", "in needs a
    /// non-empty array", "exists takes no value"), `conditions[2].value[1]`, `userIds`,
    /// unknown fields. `match` defaults to `all`.
    pub fn parse(value: &Value) -> Result<SegmentSpec, FieldErrors> {
        let mut errors = FieldErrors::new();
        let e = &mut errors;
        let Value::Object(map) = value else {
            e.insert("body", "must be a JSON object");
            return Err(errors);
        };
        for key in map.keys().filter(|k| !SEGMENT_FIELDS.contains(&k.as_str())) {
            e.insert(key.chars().take(80).collect::<String>(), "unknown field");
        }
        let name = match map.get("name") {
            None | Some(Value::Null) => {
                e.insert("name", crate::validate::REQUIRED);
                None
            }
            Some(Value::String(s)) => SegmentName::parse(s).map_err(|r| e.insert("name", r)).ok(),
            Some(_) => {
                e.insert("name", "must be a string");
                None
            }
        };
        let present = |key: &str| map.get(key).is_some_and(|v| !v.is_null());
        let def = match (present("conditions"), present("userIds")) {
            (true, true) => {
                e.insert(
                    "userIds",
                    "give either conditions (rules) or userIds (a list), not both",
                );
                None
            }
            (false, false) => {
                e.insert(
                    "conditions",
                    "required: conditions for a rule segment, or userIds for a list",
                );
                None
            }
            (true, false) => rules(e, map).map(SegmentDef::Rules),
            (false, true) => {
                if present("match") {
                    e.insert("match", "only used with conditions");
                }
                crate::validate::id_list(e, "userIds", map.get("userIds"), MAX_SEGMENT_USERS)
                    .map(SegmentDef::List)
            }
        };
        match (name, def) {
            (Some(name), Some(def)) if errors.is_empty() => Ok(SegmentSpec { name, def }),
            _ => {
                if errors.is_empty() {
                    errors.insert("body", "invalid");
                }
                Err(errors)
            }
        }
    }

    /// Applies a PATCH body to a stored segment: any subset of `name`, `match`, `conditions`,
    /// `userIds`; the result is checked as a whole ([`SegmentSpec::parse`]). Giving
    /// `conditions` makes a list segment a rule segment, giving `userIds` the reverse.
    pub fn patch(stored: &SegmentSpec, patch: &Value) -> Result<SegmentSpec, FieldErrors> {
        let Value::Object(changes) = patch else {
            let mut errors = FieldErrors::new();
            errors.insert("body", "must be a JSON object");
            return Err(errors);
        };
        let mut merged = stored.to_map();
        if changes.contains_key("conditions") {
            merged.remove("userIds");
        }
        if changes.contains_key("userIds") {
            merged.remove("conditions");
            merged.remove("match");
        }
        for (key, value) in changes {
            merged.insert(key.clone(), value.clone());
        }
        Self::parse(&Value::Object(merged))
    }

    /// The segment as its wire object.
    pub fn to_json(&self) -> Value {
        Value::Object(self.to_map())
    }

    /// The members of the wire object.
    fn to_map(&self) -> Map<String, Value> {
        let mut map = Map::new();
        map.insert("name".into(), Value::String(self.name.as_str().to_owned()));
        match &self.def {
            SegmentDef::Rules(rules) => {
                map.insert(
                    "match".into(),
                    Value::String(rules.match_kind.as_str().to_owned()),
                );
                map.insert(
                    "conditions".into(),
                    Value::Array(rules.conditions.iter().map(Condition::to_json).collect()),
                );
            }
            SegmentDef::List(ids) => {
                map.insert(
                    "userIds".into(),
                    Value::Array(
                        ids.iter()
                            .map(|id| Value::String(id.as_str().to_owned()))
                            .collect(),
                    ),
                );
            }
        }
        map
    }
}

impl Serialize for SegmentSpec {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.to_json().serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for SegmentSpec {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(deserializer)?;
        Self::parse(&value).map_err(serde::de::Error::custom)
    }
}

impl Serialize for Condition {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.to_json().serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Condition {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(deserializer)?;
        let mut errors = FieldErrors::new();
        condition(&mut errors, "condition", &value)
            .filter(|_| errors.is_empty())
            .ok_or_else(|| serde::de::Error::custom(errors))
    }
}

/// `match` and `conditions` of a rule segment.
fn rules(e: &mut FieldErrors, map: &Map<String, Value>) -> Option<SegmentRules> {
    let match_kind = match map.get("match") {
        None | Some(Value::Null) => Some(Match::All),
        Some(Value::String(s)) => Match::parse(s).map_err(|r| e.insert("match", r)).ok(),
        Some(_) => {
            e.insert("match", "must be all or any");
            None
        }
    };
    let Some(Value::Array(items)) = map.get("conditions") else {
        e.insert("conditions", "must be an array of conditions");
        return None;
    };
    if items.is_empty() {
        e.insert("conditions", "at least one condition is required");
        return None;
    }
    if items.len() > MAX_CONDITIONS {
        e.insert(
            "conditions",
            format!("at most {MAX_CONDITIONS} conditions (got {})", items.len()),
        );
        return None;
    }
    let conditions: Vec<Option<Condition>> = items
        .iter()
        .enumerate()
        .map(|(i, item)| condition(e, &format!("conditions[{i}]"), item))
        .collect();
    Some(SegmentRules {
        match_kind: match_kind?,
        conditions: conditions.into_iter().collect::<Option<Vec<_>>>()?,
    })
}

/// One condition; errors under `at.field`, `at.op`, `at.value`.
fn condition(e: &mut FieldErrors, at: &str, item: &Value) -> Option<Condition> {
    let Value::Object(map) = item else {
        e.insert(at, "must be an object {\"field\", \"op\", \"value\"}");
        return None;
    };
    unknown_members(e, at, map, &CONDITION_FIELDS);
    let field = string_field(e, at, map, "field", Field::parse);
    let op = string_field(e, at, map, "op", Op::parse);
    let (field, op) = (field?, op?);
    if op.is_numeric() && !matches!(field, Field::Attribute(_)) {
        e.insert(
            format!("{at}.op"),
            format!("{op} does not apply to {field} (use eq, neq, in, nin, exists or missing)"),
        );
        return None;
    }
    let value = operand(
        e,
        &format!("{at}.value"),
        Some(&field),
        op,
        map.get("value"),
    )?;
    Some(Condition { field, op, value })
}

/// Records `at.<key>: unknown field` for each member of `map` not in `allowed` (`<key>` alone
/// when `at` is empty; a key is cut at 80 characters).
pub(crate) fn unknown_members(
    e: &mut FieldErrors,
    at: &str,
    map: &Map<String, Value>,
    allowed: &[&str],
) {
    for key in map.keys().filter(|k| !allowed.contains(&k.as_str())) {
        let key: String = key.chars().take(80).collect();
        if at.is_empty() {
            e.insert(key, "unknown field");
        } else {
            e.insert(format!("{at}.{key}"), "unknown field");
        }
    }
}

/// The string member `key` of a condition, parsed; errors under `at.key`.
pub(crate) fn string_field<T>(
    e: &mut FieldErrors,
    at: &str,
    map: &Map<String, Value>,
    key: &str,
    parse: impl FnOnce(&str) -> Result<T, String>,
) -> Option<T> {
    let problem = match map.get(key) {
        Some(Value::String(s)) => match parse(s) {
            Ok(parsed) => return Some(parsed),
            Err(reason) => reason,
        },
        None | Some(Value::Null) => crate::validate::REQUIRED.to_owned(),
        Some(_) => "must be a string".to_owned(),
    };
    e.insert(format!("{at}.{key}"), problem);
    None
}

/// What a condition's operand looks like, as far as [`Op::takes`] is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OperandShape {
    /// Absent or `null`.
    Absent,
    /// A finite number.
    Number,
    /// An array of this many items.
    List(usize),
    /// Any other value: a text, a boolean, an object.
    Other,
}

impl OperandShape {
    fn of(value: Option<&Value>) -> Self {
        match value {
            None | Some(Value::Null) => Self::Absent,
            Some(Value::Array(items)) => Self::List(items.len()),
            Some(Value::Number(n)) if n.as_f64().is_some_and(f64::is_finite) => Self::Number,
            Some(_) => Self::Other,
        }
    }
}

/// Why an operator does not take an operand ([`Op::takes`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OperandMismatch {
    /// `exists` and `missing` take none.
    TakesNoValue,
    /// The comparisons take a number.
    NeedsNumber,
    /// `eq` and `neq` take one value…
    NeedsValue,
    /// …and not a list.
    NeedsSingleValue,
    /// `in` and `nin` take a non-empty array…
    NeedsList,
    /// …of at most [`MAX_OPERAND_VALUES`] values (this many were given).
    TooManyValues(usize),
}

impl OperandMismatch {
    /// The reason for `op`, as the API reports it: "gt needs a number" (built without
    /// `core::fmt`).
    pub fn reason(self, op: Op) -> String {
        let said = |what: &str| [op.as_str(), what].concat();
        match self {
            Self::TakesNoValue => said(" takes no value"),
            Self::NeedsNumber => said(" needs a number"),
            Self::NeedsValue => said(" needs a value"),
            Self::NeedsSingleValue if op == Op::Neq => {
                said(" needs a single value (nin takes a list)")
            }
            Self::NeedsSingleValue => said(" needs a single value (in takes a list)"),
            Self::NeedsList => said(" needs a non-empty array"),
            Self::TooManyValues(n) => [
                "at most ",
                &crate::decimal(MAX_OPERAND_VALUES as i64),
                " values (got ",
                &crate::decimal_u64(n as u64),
                ")",
            ]
            .concat(),
        }
    }
}

impl Op {
    /// Whether the operator takes an operand of `shape`: `exists`/`missing` none, the
    /// comparisons a number, `eq`/`neq` one value, `in`/`nin` a non-empty array of at most
    /// [`MAX_OPERAND_VALUES`]. The API's validation and the widget's feed reader both ask this.
    pub fn takes(self, shape: OperandShape) -> Result<(), OperandMismatch> {
        use OperandMismatch::*;
        use OperandShape::{Absent, List, Number};
        match (self, shape) {
            (Op::Exists | Op::Missing, Absent) => Ok(()),
            (Op::Exists | Op::Missing, _) => Err(TakesNoValue),
            (Op::Gt | Op::Gte | Op::Lt | Op::Lte, Number) => Ok(()),
            (Op::Gt | Op::Gte | Op::Lt | Op::Lte, _) => Err(NeedsNumber),
            (Op::Eq | Op::Neq, Absent) => Err(NeedsValue),
            (Op::Eq | Op::Neq, List(_)) => Err(NeedsSingleValue),
            (Op::Eq | Op::Neq, _) => Ok(()),
            (Op::In | Op::Nin, List(n)) if n > MAX_OPERAND_VALUES => Err(TooManyValues(n)),
            (Op::In | Op::Nin, List(n)) if n > 0 => Ok(()),
            (Op::In | Op::Nin, _) => Err(NeedsList),
        }
    }
}

/// A condition's value for `field` (`None`: an event property, read like an attribute) and
/// `op`; errors under `at` ("gt needs a number", "in needs a non-empty array", …).
pub(crate) fn operand(
    e: &mut FieldErrors,
    at: &str,
    field: Option<&Field>,
    op: Op,
    value: Option<&Value>,
) -> Option<Operand> {
    let value = value.filter(|v| !v.is_null());
    let one = |e: &mut FieldErrors, at: &str, value: &Value| {
        let parsed = match (field, value) {
            (Some(Field::Language), Value::String(s)) => {
                LanguageTag::parse(s).map(|l| AttrValue::Text(l.into_string()))
            }
            (Some(Field::Language), _) => Err(reason(LANGUAGE_REASON)),
            (Some(Field::Tag), Value::String(s)) => {
                ProfileTag::parse(s).map(|t| AttrValue::Text(t.into_string()))
            }
            (Some(Field::Tag), _) => Err(reason("must be a tag (a string)")),
            (Some(Field::Attribute(_)) | None, value) => AttrValue::from_json(value),
        };
        parsed.map_err(|r| e.insert(at, r)).ok()
    };
    if let Err(mismatch) = op.takes(OperandShape::of(value)) {
        e.insert(at, mismatch.reason(op));
        return None;
    }
    match (op, value) {
        (Op::Exists | Op::Missing, _) | (_, None) => Some(Operand::None),
        (Op::Gt | Op::Gte | Op::Lt | Op::Lte, Some(value)) => {
            value.as_f64().map(|n| Operand::One(AttrValue::Number(n)))
        }
        (Op::Eq | Op::Neq, Some(value)) => one(e, at, value).map(Operand::One),
        (Op::In | Op::Nin, Some(value)) => {
            let items = value.as_array()?;
            let values: Vec<Option<AttrValue>> = items
                .iter()
                .enumerate()
                .map(|(i, item)| one(e, &format!("{at}[{i}]"), item))
                .collect();
            let mut values = values.into_iter().collect::<Option<Vec<_>>>()?;
            let mut seen = BTreeSet::new();
            values.retain(|v| seen.insert(v.to_json().to_string()));
            Some(Operand::Many(values))
        }
    }
}

/// Whether `profile` meets `rules` (see the module docs). `None` — an anonymous visitor, or
/// a user without a stored profile treated as anonymous by the caller — is in no segment.
pub fn rules_match(rules: &SegmentRules, profile: Option<&Profile>) -> bool {
    let Some(profile) = profile else {
        return false;
    };
    match rules.match_kind {
        Match::All => rules.conditions.iter().all(|c| c.matches(profile)),
        Match::Any => rules.conditions.iter().any(|c| c.matches(profile)),
    }
}

/// Whether a visitor is in a segment: for rules, [`rules_match`] on the stored profile; for a
/// list, what `listed` answers (the server keeps list memberships in a table), asked only for
/// a known `user`. An anonymous visitor (`user: None`) is in no segment.
pub fn in_segment(
    def: &SegmentDef,
    user: Option<&str>,
    profile: Option<&Profile>,
    listed: impl FnOnce() -> bool,
) -> bool {
    if user.is_none() {
        return false;
    }
    match def {
        SegmentDef::Rules(rules) => rules_match(rules, profile),
        SegmentDef::List(_) => listed(),
    }
}

/// The offer's segment rule's verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SegmentVerdict {
    /// In at least one included segment (or none required), in no excluded one.
    Allowed,
    /// In none of the included segments (their ids, in the offer's order).
    NotInAny(Vec<i64>),
    /// In this excluded segment (the first of the offer's that applies).
    ExcludedBy(i64),
}

impl SegmentVerdict {
    /// Whether the offer may be shown.
    pub fn is_allowed(&self) -> bool {
        matches!(self, Self::Allowed)
    }
}

/// The offer's segment rule (SPEC §7): the user must be in at least one of `include`
/// (`segmentIds`; empty: no constraint) and in none of `exclude` (`excludeSegmentIds`).
/// `member(id)` answers membership (an unknown or deleted segment: not a member). Exclusion
/// is checked first and wins. This is the rule the feed index and explain both call.
pub fn segments_allow(
    include: &[i64],
    exclude: &[i64],
    mut member: impl FnMut(i64) -> bool,
) -> SegmentVerdict {
    if let Some(&id) = exclude.iter().find(|&&id| member(id)) {
        return SegmentVerdict::ExcludedBy(id);
    }
    if include.is_empty() || include.iter().any(|&id| member(id)) {
        SegmentVerdict::Allowed
    } else {
        SegmentVerdict::NotInAny(include.to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn each_operator_takes_its_own_operand_shape_with_a_reason_that_names_it() {
        use OperandShape::{Absent, List, Number, Other};
        let taken = |op: Op, shape| op.takes(shape).err().map(|m| m.reason(op));
        for op in [Op::Exists, Op::Missing] {
            assert_eq!(taken(op, Absent), None);
            for shape in [Number, Other, List(1)] {
                assert_eq!(taken(op, shape), Some(format!("{op} takes no value")));
            }
        }
        for op in [Op::Gt, Op::Gte, Op::Lt, Op::Lte] {
            assert_eq!(taken(op, Number), None);
            for shape in [Absent, Other, List(1)] {
                assert_eq!(taken(op, shape), Some(format!("{op} needs a number")));
            }
        }
        for (op, list) in [(Op::Eq, "in"), (Op::Neq, "nin")] {
            assert_eq!(taken(op, Number), None);
            assert_eq!(taken(op, Other), None);
            assert_eq!(taken(op, Absent), Some(format!("{op} needs a value")));
            assert_eq!(
                taken(op, List(2)),
                Some(format!("{op} needs a single value ({list} takes a list)"))
            );
        }
        for op in [Op::In, Op::Nin] {
            assert_eq!(taken(op, List(1)), None);
            assert_eq!(taken(op, List(MAX_OPERAND_VALUES)), None);
            for shape in [Absent, Number, Other, List(0)] {
                assert_eq!(
                    taken(op, shape),
                    Some(format!("{op} needs a non-empty array"))
                );
            }
            assert_eq!(
                taken(op, List(MAX_OPERAND_VALUES + 1)),
                Some(format!(
                    "at most {MAX_OPERAND_VALUES} values (got {})",
                    MAX_OPERAND_VALUES + 1
                ))
            );
        }
    }

    fn profile(value: Value) -> Profile {
        Profile::parse(&value).unwrap()
    }

    fn rules(value: Value) -> SegmentRules {
        match SegmentSpec::parse(&value).unwrap().def {
            SegmentDef::Rules(rules) => rules,
            SegmentDef::List(_) => panic!("a list"),
        }
    }

    fn one(field: &str, op: &str, value: Value) -> SegmentRules {
        let mut condition = json!({"field": field, "op": op});
        if !value.is_null() {
            condition["value"] = value;
        }
        rules(json!({"name": "s", "conditions": [condition]}))
    }

    #[test]
    fn the_documented_segment() {
        let spec = SegmentSpec::parse(
            &json!({"name": "German VIPs", "match": "all", "conditions": [
            {"field": "language", "op": "eq", "value": "de"},
            {"field": "tag", "op": "in", "value": ["vip", "gold"]},
            {"field": "attributes.points", "op": "gte", "value": 1000}]}),
        )
        .unwrap();
        assert_eq!(spec.name.as_str(), "German VIPs");
        let SegmentDef::Rules(r) = &spec.def else {
            panic!()
        };
        let ana =
            profile(json!({"language": "de-AT", "tags": ["gold"], "attributes": {"points": 1200}}));
        let bob =
            profile(json!({"language": "en", "tags": ["vip"], "attributes": {"points": 5000}}));
        assert!(rules_match(r, Some(&ana)));
        assert!(!rules_match(r, Some(&bob)));
        assert!(
            !rules_match(r, None),
            "anonymous visitors are in no segment"
        );
        let json = serde_json::to_value(&spec).unwrap();
        assert_eq!(
            json["conditions"][2],
            json!({"field": "attributes.points", "op": "gte", "value": 1000})
        );
        assert_eq!(serde_json::from_value::<SegmentSpec>(json).unwrap(), spec);
    }

    #[test]
    fn absent_fields_are_false_except_missing() {
        let nobody = profile(json!({}));
        for (field, op, value) in [
            ("language", "eq", json!("de")),
            ("language", "neq", json!("de")),
            ("language", "nin", json!(["de"])),
            ("language", "exists", Value::Null),
            ("attributes.points", "neq", json!(1)),
            ("attributes.points", "nin", json!([1])),
            ("attributes.points", "lt", json!(1)),
            ("attributes.points", "exists", Value::Null),
            ("tag", "exists", Value::Null),
            ("tag", "eq", json!("vip")),
        ] {
            assert!(
                !rules_match(&one(field, op, value), Some(&nobody)),
                "{field} {op}"
            );
        }
        for field in ["language", "attributes.points", "tag"] {
            assert!(
                rules_match(&one(field, "missing", Value::Null), Some(&nobody)),
                "{field}"
            );
        }
        // A tag the user lacks: `neq` / `nin` hold (the user "lacks the tag").
        assert!(rules_match(&one("tag", "neq", json!("vip")), Some(&nobody)));
        assert!(rules_match(
            &one("tag", "nin", json!(["vip"])),
            Some(&nobody)
        ));
    }

    #[test]
    fn types_must_agree() {
        let user = profile(json!({"attributes": {"points": 10, "code": "10", "ok": true}}));
        assert!(!rules_match(
            &one("attributes.code", "gt", json!(5)),
            Some(&user)
        ));
        assert!(rules_match(
            &one("attributes.points", "gt", json!(5)),
            Some(&user)
        ));
        assert!(!rules_match(
            &one("attributes.points", "eq", json!("10")),
            Some(&user)
        ));
        assert!(!rules_match(
            &one("attributes.points", "neq", json!("10")),
            Some(&user)
        ));
        assert!(rules_match(
            &one("attributes.code", "eq", json!("10")),
            Some(&user)
        ));
        assert!(rules_match(
            &one("attributes.ok", "eq", json!(true)),
            Some(&user)
        ));
        assert!(rules_match(
            &one("attributes.ok", "nin", json!([false, 1])),
            Some(&user)
        ));
        assert!(!rules_match(
            &one("attributes.ok", "nin", json!([1])),
            Some(&user)
        ));
        for (op, bound, expected) in [
            ("gte", 10, true),
            ("gt", 10, false),
            ("lte", 10, true),
            ("lt", 10, false),
        ] {
            assert_eq!(
                rules_match(&one("attributes.points", op, json!(bound)), Some(&user)),
                expected,
                "{op}"
            );
        }
    }

    #[test]
    fn languages_match_their_regional_forms() {
        let at = profile(json!({"language": "de-at"}));
        assert!(rules_match(&one("language", "eq", json!("DE")), Some(&at)));
        assert!(rules_match(
            &one("language", "eq", json!("de-AT")),
            Some(&at)
        ));
        assert!(!rules_match(
            &one("language", "eq", json!("de-CH")),
            Some(&at)
        ));
        assert!(rules_match(
            &one("language", "in", json!(["fr", "de"])),
            Some(&at)
        ));
        assert!(!rules_match(
            &one("language", "neq", json!("de")),
            Some(&at)
        ));
        let de = profile(json!({"language": "de"}));
        assert!(!rules_match(
            &one("language", "eq", json!("de-AT")),
            Some(&de)
        ));
    }

    #[test]
    fn tags() {
        let vip = profile(json!({"tags": ["vip", "gold"]}));
        assert!(rules_match(&one("tag", "eq", json!("vip")), Some(&vip)));
        assert!(!rules_match(&one("tag", "eq", json!("VIP")), Some(&vip)));
        assert!(!rules_match(&one("tag", "neq", json!("vip")), Some(&vip)));
        assert!(rules_match(
            &one("tag", "in", json!(["x", "gold"])),
            Some(&vip)
        ));
        assert!(!rules_match(
            &one("tag", "nin", json!(["x", "gold"])),
            Some(&vip)
        ));
        assert!(rules_match(&one("tag", "exists", Value::Null), Some(&vip)));
        assert!(!rules_match(
            &one("tag", "missing", Value::Null),
            Some(&vip)
        ));
    }

    #[test]
    fn any_and_all() {
        let body = |m: &str| {
            json!({"name": "s", "match": m, "conditions": [
            {"field": "tag", "op": "eq", "value": "a"}, {"field": "tag", "op": "eq", "value": "b"}]})
        };
        let a = profile(json!({"tags": ["a"]}));
        assert!(rules_match(&rules(body("any")), Some(&a)));
        assert!(!rules_match(&rules(body("all")), Some(&a)));
        assert_eq!(
            rules(json!({"name": "s", "conditions": [{"field": "tag", "op": "exists"}]}))
                .match_kind,
            Match::All
        );
    }

    #[test]
    fn errors_name_the_field() {
        let errors = SegmentSpec::parse(
            &json!({"name": " ", "match": "some", "colour": 1, "conditions": [
                {"field": "points", "op": "eq", "value": 1},
                {"field": "tag", "op": "like", "value": "a"},
                {"field": "attributes.points", "op": "gt", "value": "10"},
                {"field": "tag", "op": "in", "value": []},
                {"field": "tag", "op": "exists", "value": "a"},
                {"field": "language", "op": "gt", "value": 1},
                {"field": "language", "op": "eq", "value": "deutsch"},
                {"field": "attributes.x", "op": "in", "value": [1, [2]]},
                {"field": "tag", "op": "eq", "value": ["a"], "extra": true},
                {"field": "attributes.first name", "op": "exists"}
            ]}),
        )
        .unwrap_err();
        let expect = [
            ("name", "must not be empty"),
            ("match", "must be all or any"),
            ("colour", "unknown field"),
            ("conditions[0].field", FIELD_REASON),
            ("conditions[1].op", OP_REASON),
            ("conditions[2].value", "gt needs a number"),
            ("conditions[3].value", "in needs a non-empty array"),
            ("conditions[4].value", "exists takes no value"),
            (
                "conditions[5].op",
                "gt does not apply to language (use eq, neq, in, nin, exists or missing)",
            ),
            ("conditions[6].value", LANGUAGE_REASON),
            ("conditions[7].value[1]", crate::profile::ATTR_VALUE_REASON),
            (
                "conditions[8].value",
                "eq needs a single value (in takes a list)",
            ),
            ("conditions[8].extra", "unknown field"),
            ("conditions[9].field", crate::profile::ATTR_KEY_REASON),
        ];
        for (field, reason) in expect {
            assert_eq!(errors.get(field), Some(reason), "{field}: {errors}");
        }
        assert_eq!(errors.len(), expect.len(), "{errors}");
    }

    #[test]
    fn kinds_and_limits() {
        let both = SegmentSpec::parse(&json!({"name": "s", "conditions": [], "userIds": ["u1"]}))
            .unwrap_err();
        assert!(both.contains("userIds"));
        let neither = SegmentSpec::parse(&json!({"name": "s"})).unwrap_err();
        assert!(neither.contains("conditions"));
        let empty = SegmentSpec::parse(&json!({"name": "s", "conditions": []})).unwrap_err();
        assert_eq!(
            empty.get("conditions"),
            Some("at least one condition is required")
        );
        let many: Vec<Value> = (0..=MAX_CONDITIONS)
            .map(|_| json!({"field": "tag", "op": "exists"}))
            .collect();
        let errors = SegmentSpec::parse(&json!({"name": "s", "conditions": many})).unwrap_err();
        assert_eq!(
            errors.get("conditions"),
            Some("at most 50 conditions (got 51)")
        );
        let values: Vec<i32> = (0..=100).collect();
        let errors = SegmentSpec::parse(&json!({"name": "s", "conditions": [
            {"field": "attributes.n", "op": "in", "value": values}]}))
        .unwrap_err();
        assert_eq!(
            errors.get("conditions[0].value"),
            Some("at most 100 values (got 101)")
        );
        let list = SegmentSpec::parse(&json!({"name": "Churned", "userIds": ["u1", " u2 ", "u1"]}))
            .unwrap();
        assert_eq!(
            list.def,
            SegmentDef::List(vec![
                ExternalId::parse("u1").unwrap(),
                ExternalId::parse("u2").unwrap()
            ])
        );
        assert_eq!(
            serde_json::to_value(&list).unwrap(),
            json!({"name": "Churned", "userIds": ["u1", "u2"]})
        );
        let errors = SegmentSpec::parse(&json!({"name": "s", "match": "any", "userIds": ["u1"]}))
            .unwrap_err();
        assert_eq!(errors.get("match"), Some("only used with conditions"));
        assert!(
            SegmentSpec::parse(&json!([1]))
                .unwrap_err()
                .contains("body")
        );
    }

    #[test]
    fn patches() {
        let stored = SegmentSpec::parse(
            &json!({"name": "VIPs", "conditions": [{"field": "tag", "op": "eq", "value": "vip"}]}),
        )
        .unwrap();
        let renamed = SegmentSpec::patch(&stored, &json!({"name": "Top"})).unwrap();
        assert_eq!(renamed.name.as_str(), "Top");
        assert_eq!(renamed.def, stored.def);
        let any = SegmentSpec::patch(&stored, &json!({"match": "any"})).unwrap();
        assert!(matches!(
            any.def,
            SegmentDef::Rules(SegmentRules {
                match_kind: Match::Any,
                ..
            })
        ));
        let list = SegmentSpec::patch(&stored, &json!({"userIds": ["u1"]})).unwrap();
        assert!(matches!(list.def, SegmentDef::List(_)));
        let back = SegmentSpec::patch(
            &list,
            &json!({"conditions": [{"field": "tag", "op": "exists"}]}),
        )
        .unwrap();
        assert!(matches!(back.def, SegmentDef::Rules(_)));
        assert!(
            SegmentSpec::patch(&list, &json!({"match": "any"}))
                .unwrap_err()
                .contains("match")
        );
        assert!(SegmentSpec::patch(&stored, &json!({"conditions": []})).is_err());
        assert!(
            SegmentSpec::patch(&stored, &json!({"nope": 1}))
                .unwrap_err()
                .contains("nope")
        );
    }

    #[test]
    fn membership_and_the_offer_rule() {
        let list = SegmentDef::List(vec![]);
        assert!(in_segment(&list, Some("u1"), None, || true));
        assert!(!in_segment(&list, None, None, || true));
        let member = |id: i64| [1, 3].contains(&id);
        assert_eq!(segments_allow(&[], &[], member), SegmentVerdict::Allowed);
        assert_eq!(
            segments_allow(&[2, 3], &[], member),
            SegmentVerdict::Allowed
        );
        assert_eq!(
            segments_allow(&[2, 4], &[], member),
            SegmentVerdict::NotInAny(vec![2, 4])
        );
        assert_eq!(
            segments_allow(&[1], &[2, 3], member),
            SegmentVerdict::ExcludedBy(3)
        );
        assert_eq!(segments_allow(&[], &[2], member), SegmentVerdict::Allowed);
        assert!(segments_allow(&[1], &[], member).is_allowed());
    }
}
