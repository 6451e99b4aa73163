//! An offer's trigger (SPEC §9): shown after an event the host reports (`Offers.track(name,
//! props)`), when the event's properties meet the conditions, after a delay.
//!
//! The conditions are segment conditions ([`crate::segment`]) on `props.<key>`: the same
//! operators, the same operand rules, and the same comparison ([`crate::segment::compare`]).
//! A key names a top-level property as written (`props.a.b` is the property `"a.b"`).

use crate::reason::reason;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use crate::coerce;
use crate::error::FieldErrors;
use crate::newtype::string_newtype;
use crate::segment::{Op, Operand, Scalar, compare, operand, string_field, unknown_members};

/// The most characters an [`EventName`] may have.
pub const EVENT_NAME_MAX_CHARS: usize = 64;
/// The most characters a [`PropKey`] may have.
pub const PROP_KEY_MAX_CHARS: usize = 64;
/// The most conditions a trigger may have.
pub const MAX_TRIGGER_CONDITIONS: usize = 20;
/// The longest delay after the event, in milliseconds (one day).
pub const MAX_TRIGGER_DELAY_MS: u64 = 86_400_000;

/// The reason given for an invalid event name.
pub const EVENT_NAME_REASON: &str = "must be 1-64 characters of A-Z, a-z, 0-9, _ . : -";
/// The reason given for a condition's field that is not `props.<key>`.
pub const PROP_FIELD_REASON: &str =
    "must be props.<key> (key: 1-64 characters of A-Z, a-z, 0-9, _ . -)";
/// The reason given for an invalid `delayMS`.
pub const TRIGGER_DELAY_REASON: &str =
    "must be a whole number of milliseconds between 0 and 86400000";

/// The members of a trigger object.
const TRIGGER_FIELDS: [&str; 3] = ["event", "conditions", "delayMS"];
/// The members of a condition.
const CONDITION_FIELDS: [&str; 3] = ["field", "op", "value"];

/// Whether `input` is 1–`max` bytes, each allowed by `ok`.
fn token(input: &str, max: usize, ok: impl Fn(u8) -> bool) -> bool {
    !input.is_empty() && input.len() <= max && input.bytes().all(ok)
}

/// An event's name: 1–64 characters of `[A-Za-z0-9_.:-]` (case-sensitive), e.g.
/// `deposit_failed`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EventName(String);

impl EventName {
    /// Parses an event name (not trimmed).
    pub fn parse(input: &str) -> Result<Self, String> {
        if token(input, EVENT_NAME_MAX_CHARS, |b| {
            b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b':' | b'-')
        }) {
            Ok(Self(input.to_owned()))
        } else {
            Err(reason(EVENT_NAME_REASON))
        }
    }
}

string_newtype!(EventName);

/// An event property's name: 1–64 characters of `[A-Za-z0-9_.-]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PropKey(String);

impl PropKey {
    /// Parses a property name (not trimmed).
    pub fn parse(input: &str) -> Result<Self, String> {
        if token(input, PROP_KEY_MAX_CHARS, |b| {
            b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-')
        }) {
            Ok(Self(input.to_owned()))
        } else {
            Err(reason(PROP_FIELD_REASON))
        }
    }

    /// Parses a condition's `field`: `props.<key>`.
    pub fn parse_field(input: &str) -> Result<Self, String> {
        input
            .strip_prefix("props.")
            .ok_or_else(|| reason(PROP_FIELD_REASON))
            .and_then(Self::parse)
    }
}

string_newtype!(PropKey);

/// One condition on the event's properties:
/// `{"field": "props.amount", "op": "gte", "value": 20}`.
#[derive(Debug, Clone, PartialEq)]
pub struct PropCondition {
    /// The property it looks at.
    pub key: PropKey,
    /// How it compares.
    pub op: Op,
    /// What it compares with.
    pub value: Operand,
}

impl PropCondition {
    /// Whether the event's `props` meet the condition ([`compare`]; `null` counts as absent).
    pub fn matches(&self, props: &Map<String, Value>) -> bool {
        self.holds(props.get(self.key.as_str()).and_then(Scalar::from_json))
    }

    /// Whether the property's value `actual` (`None`: absent) meets the condition: what
    /// [`PropCondition::matches`] decides, for a caller that reads the property itself (the
    /// widget reads it from a JavaScript object, without building a JSON map).
    pub fn holds(&self, actual: Option<Scalar<'_>>) -> bool {
        compare(self.op, actual, &self.value)
    }

    /// The condition as its wire object (`value` left out for `exists` / `missing`).
    pub fn to_json(&self) -> Value {
        let mut map = Map::new();
        let mut field = String::with_capacity(6 + self.key.as_str().len());
        field.push_str("props.");
        field.push_str(self.key.as_str());
        map.insert("field".into(), Value::String(field));
        map.insert("op".into(), Value::String(self.op.as_str().to_owned()));
        if let Some(value) = self.value.to_json() {
            map.insert("value".into(), value);
        }
        Value::Object(map)
    }
}

/// When an offer shows: after the event `event` whose properties meet every condition, once
/// `delay_ms` has passed. An offer without a trigger shows on entry.
///
/// On the wire `{"event": "deposit_failed", "conditions": [...], "delayMS": 0}`;
/// deserializing runs [`Trigger::parse`].
#[derive(Debug, Clone, PartialEq)]
pub struct Trigger {
    /// The event's name.
    pub event: EventName,
    /// Every one must hold (at most [`MAX_TRIGGER_CONDITIONS`]).
    pub conditions: Vec<PropCondition>,
    /// How long after the event the offer shows, in milliseconds.
    pub delay_ms: u64,
}

impl Trigger {
    /// A trigger on `event` without conditions or delay.
    pub fn on(event: EventName) -> Self {
        Self {
            event,
            conditions: Vec::new(),
            delay_ms: 0,
        }
    }

    /// Whether the event `name` with `props` fires the trigger: the same name (exactly) and
    /// every condition met.
    pub fn matches(&self, name: &str, props: &Map<String, Value>) -> bool {
        self.fires(name, |c| c.matches(props))
    }

    /// Whether the event `name` fires the trigger when `meets` says which conditions its
    /// properties meet (each answered with [`PropCondition::holds`]).
    pub fn fires(&self, name: &str, meets: impl FnMut(&PropCondition) -> bool) -> bool {
        self.event.as_str() == name && self.conditions.iter().all(meets)
    }

    /// Reads a trigger object, every error at once, keyed `event`, `conditions[0].op`,
    /// `conditions[1].value`, `delayMS` (and unknown members by name).
    pub fn parse(value: &Value) -> Result<Trigger, FieldErrors> {
        let mut errors = FieldErrors::new();
        match parse_at(&mut errors, "", value) {
            Some(trigger) if errors.is_empty() => Ok(trigger),
            _ => {
                if errors.is_empty() {
                    errors.insert("trigger", "invalid");
                }
                Err(errors)
            }
        }
    }

    /// The trigger as its wire object.
    pub fn to_json(&self) -> Value {
        let mut map = Map::new();
        map.insert(
            "event".into(),
            Value::String(self.event.as_str().to_owned()),
        );
        map.insert(
            "conditions".into(),
            Value::Array(self.conditions.iter().map(PropCondition::to_json).collect()),
        );
        map.insert("delayMS".into(), Value::from(self.delay_ms));
        Value::Object(map)
    }
}

/// `prefix` + `key`: `trigger.` + `event`, or just `event` without a prefix.
fn key(prefix: &str, key: &str) -> String {
    let mut out = String::with_capacity(prefix.len() + key.len());
    out.push_str(prefix);
    out.push_str(key);
    out
}

/// A trigger object; errors under `prefix` + member (`prefix` is `"trigger."` in an offer,
/// empty alone). `None` once an error is recorded.
pub(crate) fn parse_at(e: &mut FieldErrors, prefix: &str, value: &Value) -> Option<Trigger> {
    let Value::Object(map) = value else {
        let whole = prefix.strip_suffix('.').unwrap_or("trigger");
        e.insert(
            whole,
            "must be an object {\"event\", \"conditions\", \"delayMS\"} or null",
        );
        return None;
    };
    parse_map(e, prefix, map)
}

/// A trigger object's members; errors under `prefix` + member. `None` once an error is
/// recorded.
pub(crate) fn parse_map(
    e: &mut FieldErrors,
    prefix: &str,
    map: &Map<String, Value>,
) -> Option<Trigger> {
    let before = e.len();
    unknown_members(
        e,
        prefix.strip_suffix('.').unwrap_or(prefix),
        map,
        &TRIGGER_FIELDS,
    );
    let event = match map.get("event") {
        Some(Value::String(s)) => EventName::parse(s)
            .map_err(|r| e.insert(key(prefix, "event"), r))
            .ok(),
        None | Some(Value::Null) => {
            e.insert(key(prefix, "event"), crate::validate::REQUIRED);
            None
        }
        Some(_) => {
            e.insert(key(prefix, "event"), EVENT_NAME_REASON);
            None
        }
    };
    let conditions = conditions(e, &key(prefix, "conditions"), map.get("conditions"));
    let delay_ms = match coerce::integer(map.get("delayMS")) {
        Ok(None) => Some(0),
        Ok(Some(ms)) => u64::try_from(ms)
            .ok()
            .filter(|ms| *ms <= MAX_TRIGGER_DELAY_MS),
        Err(()) => None,
    };
    if delay_ms.is_none() {
        e.insert(key(prefix, "delayMS"), TRIGGER_DELAY_REASON);
    }
    match (event, conditions, delay_ms) {
        (Some(event), Some(conditions), Some(delay_ms)) if e.len() == before => Some(Trigger {
            event,
            conditions,
            delay_ms,
        }),
        _ => None,
    }
}

/// `conditions`: absent or null → none; an array of at most [`MAX_TRIGGER_CONDITIONS`].
fn conditions(e: &mut FieldErrors, at: &str, value: Option<&Value>) -> Option<Vec<PropCondition>> {
    let items = match value {
        None | Some(Value::Null) => return Some(Vec::new()),
        Some(Value::Array(items)) => items,
        Some(_) => {
            e.insert(at, "must be an array of conditions");
            return None;
        }
    };
    if items.len() > MAX_TRIGGER_CONDITIONS {
        e.insert(
            at,
            format!(
                "at most {MAX_TRIGGER_CONDITIONS} conditions (got {})",
                items.len()
            ),
        );
        return None;
    }
    let parsed: Vec<Option<PropCondition>> = items
        .iter()
        .enumerate()
        .map(|(i, item)| condition(e, &format!("{at}[{i}]"), item))
        .collect();
    parsed.into_iter().collect()
}

/// One condition; errors under `at.field`, `at.op`, `at.value`.
fn condition(e: &mut FieldErrors, at: &str, item: &Value) -> Option<PropCondition> {
    let Value::Object(map) = item else {
        e.insert(at, "must be an object {\"field\", \"op\", \"value\"}");
        return None;
    };
    let before = e.len();
    unknown_members(e, at, map, &CONDITION_FIELDS);
    let field = string_field(e, at, map, "field", PropKey::parse_field);
    let op = string_field(e, at, map, "op", Op::parse);
    let (key, op) = (field?, op?);
    let value = operand(e, &format!("{at}.value"), None, op, map.get("value"))?;
    (e.len() == before).then_some(PropCondition { key, op, value })
}

// Operand numbers are finite (checked when parsed), so equality is total.
impl Eq for PropCondition {}
impl Eq for Trigger {}

impl Serialize for Trigger {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.to_json().serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Trigger {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(deserializer)?;
        Self::parse(&value).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn props(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(map) => map,
            _ => panic!("an object"),
        }
    }

    #[test]
    fn the_documented_trigger() {
        let trigger = Trigger::parse(&json!({
            "event": "deposit_failed",
            "conditions": [{"field": "props.amount", "op": "gte", "value": 20}],
            "delayMS": 0
        }))
        .unwrap();
        assert!(trigger.matches("deposit_failed", &props(json!({"amount": 20}))));
        assert!(trigger.matches("deposit_failed", &props(json!({"amount": 25.5, "x": 1}))));
        assert!(!trigger.matches("deposit_failed", &props(json!({"amount": 19}))));
        assert!(!trigger.matches("deposit_failed", &props(json!({"amount": "20"}))));
        assert!(!trigger.matches("deposit_failed", &props(json!({}))));
        assert!(!trigger.matches("Deposit_failed", &props(json!({"amount": 20}))));
        assert_eq!(
            serde_json::to_value(&trigger).unwrap(),
            json!({"event": "deposit_failed",
                "conditions": [{"field": "props.amount", "op": "gte", "value": 20}],
                "delayMS": 0})
        );
        let back: Trigger = serde_json::from_value(trigger.to_json()).unwrap();
        assert_eq!(back, trigger);
    }

    #[test]
    fn operators_follow_the_segment_rules() {
        let one = |op: &str, value: Value| {
            let mut condition = json!({"field": "props.plan", "op": op});
            if !value.is_null() {
                condition["value"] = value;
            }
            Trigger::parse(&json!({"event": "e", "conditions": [condition]})).unwrap()
        };
        let fires = |t: &Trigger, p: Value| t.matches("e", &props(p));
        assert!(fires(&one("eq", json!("gold")), json!({"plan": "gold"})));
        assert!(!fires(&one("eq", json!("gold")), json!({"plan": "Gold"})));
        assert!(fires(&one("neq", json!("gold")), json!({"plan": "free"})));
        assert!(
            !fires(&one("neq", json!("gold")), json!({})),
            "absent is false"
        );
        assert!(
            !fires(&one("neq", json!("gold")), json!({"plan": 3})),
            "types differ"
        );
        assert!(fires(&one("in", json!(["a", "b"])), json!({"plan": "b"})));
        assert!(fires(&one("nin", json!(["a", "b"])), json!({"plan": "c"})));
        assert!(fires(&one("exists", Value::Null), json!({"plan": [1]})));
        assert!(!fires(&one("exists", Value::Null), json!({"plan": null})));
        assert!(fires(&one("missing", Value::Null), json!({"plan": null})));
        assert!(fires(&one("missing", Value::Null), json!({})));
        assert!(fires(&one("eq", json!(true)), json!({"plan": true})));
        assert!(fires(&one("lt", json!(3)), json!({"plan": 2})));
        assert!(!fires(&one("lte", json!(3)), json!({"plan": "2"})));
        assert!(fires(&one("gt", json!(-1)), json!({"plan": 0})));
    }

    #[test]
    fn every_error_is_keyed() {
        let errors = Trigger::parse(&json!({
            "event": "bad name",
            "conditions": [
                {"field": "props.amount", "op": "gte", "value": "x"},
                {"field": "attributes.points", "op": "eq", "value": 1},
                {"field": "props.a", "op": "like", "value": 1},
                {"field": "props.a", "op": "in", "value": []},
                {"field": "props.a", "op": "exists", "value": 1, "extra": 1}
            ],
            "delayMS": 86_400_001,
            "other": true
        }))
        .unwrap_err();
        assert_eq!(errors.get("event"), Some(EVENT_NAME_REASON));
        assert_eq!(
            errors.get("conditions[0].value"),
            Some("gte needs a number")
        );
        assert_eq!(errors.get("conditions[1].field"), Some(PROP_FIELD_REASON));
        assert!(errors.get("conditions[2].op").is_some());
        assert_eq!(
            errors.get("conditions[3].value"),
            Some("in needs a non-empty array")
        );
        assert_eq!(
            errors.get("conditions[4].value"),
            Some("exists takes no value")
        );
        assert_eq!(errors.get("conditions[4].extra"), Some("unknown field"));
        assert_eq!(errors.get("delayMS"), Some(TRIGGER_DELAY_REASON));
        assert_eq!(errors.get("other"), Some("unknown field"));

        let errors = Trigger::parse(&json!({"conditions": "x", "delayMS": -1})).unwrap_err();
        assert_eq!(errors.get("event"), Some("required"));
        assert_eq!(
            errors.get("conditions"),
            Some("must be an array of conditions")
        );
        assert_eq!(errors.get("delayMS"), Some(TRIGGER_DELAY_REASON));

        let many: Vec<Value> = (0..21)
            .map(|_| json!({"field": "props.a", "op": "exists"}))
            .collect();
        let errors = Trigger::parse(&json!({"event": "e", "conditions": many})).unwrap_err();
        assert!(errors.get("conditions").unwrap().starts_with("at most 20"));
        assert!(Trigger::parse(&json!("e")).is_err());
    }

    #[test]
    fn names() {
        assert!(EventName::parse("checkout:step-2.done_x").is_ok());
        assert!(EventName::parse("").is_err());
        assert!(EventName::parse(&"a".repeat(64)).is_ok());
        assert!(EventName::parse(&"a".repeat(65)).is_err());
        assert!(EventName::parse("a b").is_err());
        assert!(EventName::parse("é").is_err());
        assert!(PropKey::parse_field("props.a.b-c_1").is_ok());
        assert!(PropKey::parse_field("props.").is_err());
        assert!(PropKey::parse_field("props.a:b").is_err());
        assert!(PropKey::parse_field("amount").is_err());
        let t = Trigger::parse(&json!({"event": "e", "delayMS": "1500"})).unwrap();
        assert_eq!(t.delay_ms, 1500);
        assert_eq!(
            t,
            Trigger {
                delay_ms: 1500,
                ..Trigger::on(EventName::parse("e").unwrap())
            }
        );
    }
}
