//! A JSON reader that refuses what `serde_json::Value` silently accepts or cannot place: a key
//! repeated in one object (`Value` keeps the last one) and a number out of range (`1e400`),
//! each named by its field path (`title`, `templateData.bgColor`).
//!
//! Every JSON body of the API and every JSON text inside an offer field (`templateData` sent
//! as a string) is read here, so a repeated field is refused whether it came as a JSON key, a
//! repeated multipart part or a repeated urlencoded pair.

use std::cell::RefCell;
use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};
use thiserror::Error;

/// The reason given for a field that appears more than once (in any body format).
pub const REPEATED: &str = "given more than once";

/// The reason given for a number that does not fit a 64-bit float.
pub const OUT_OF_RANGE: &str = "number out of range (a JSON number must fit a 64-bit float)";

/// Why a JSON text was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum StrictJsonError {
    /// Not JSON: the parser's message, where it stopped, and the field it was reading.
    #[error("{message} (line {line}, column {column})")]
    Syntax {
        message: String,
        line: usize,
        column: usize,
        field: Option<String>,
    },
    /// A number too large for a 64-bit float, at `field` (`None`: the whole text).
    #[error("number out of range")]
    OutOfRange { field: Option<String> },
    /// Keys repeated in one object, as field paths, in order of appearance.
    #[error("repeated keys: {}", .0.join(", "))]
    Repeated(Vec<String>),
}

/// Parses `bytes` as one JSON value; a repeated key or an out-of-range number is an error
/// naming its field path (object keys joined with `.`; array elements take the array's path).
pub fn parse(bytes: &[u8]) -> Result<Value, StrictJsonError> {
    let state = RefCell::new(Findings::default());
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let parsed = Tracked {
        path: None,
        state: &state,
    }
    .deserialize(&mut de)
    .and_then(|value| de.end().map(|()| value));
    let findings = state.into_inner();
    match parsed {
        Ok(value) if findings.repeated.is_empty() => Ok(value),
        Ok(_) => Err(StrictJsonError::Repeated(findings.repeated)),
        Err(e) if e.to_string().starts_with("number out of range") => {
            Err(StrictJsonError::OutOfRange {
                field: findings.failed_at,
            })
        }
        Err(e) => {
            let full = e.to_string();
            let message = full
                .rsplit_once(" at line ")
                .map_or(full.as_str(), |(m, _)| m)
                .to_owned();
            Err(StrictJsonError::Syntax {
                message,
                line: e.line(),
                column: e.column(),
                field: findings.failed_at,
            })
        }
    }
}

#[derive(Default)]
struct Findings {
    repeated: Vec<String>,
    /// The innermost field being read when the parser failed.
    failed_at: Option<String>,
}

/// Builds a [`Value`] like `Value`'s own `Deserialize`, tracking the field path.
struct Tracked<'s> {
    path: Option<String>,
    state: &'s RefCell<Findings>,
}

impl Tracked<'_> {
    fn child(&self, key: &str) -> String {
        match &self.path {
            Some(path) => format!("{path}.{key}"),
            None => key.to_owned(),
        }
    }

    fn note_failure(&self, path: Option<&String>) {
        let mut state = self.state.borrow_mut();
        if state.failed_at.is_none() {
            state.failed_at = path.cloned();
        }
    }
}

impl<'de> DeserializeSeed<'de> for Tracked<'_> {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Tracked<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Number::from_f64(v).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        loop {
            let element = Tracked {
                path: self.path.clone(),
                state: self.state,
            };
            match seq.next_element_seed(element) {
                Ok(Some(value)) => items.push(value),
                Ok(None) => return Ok(Value::Array(items)),
                Err(e) => {
                    self.note_failure(self.path.as_ref());
                    return Err(e);
                }
            }
        }
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Value, A::Error> {
        let mut map = Map::new();
        loop {
            let key = match access.next_key::<String>() {
                Ok(Some(key)) => key,
                Ok(None) => return Ok(Value::Object(map)),
                Err(e) => {
                    self.note_failure(self.path.as_ref());
                    return Err(e);
                }
            };
            let path = self.child(&key);
            let value = Tracked {
                path: Some(path.clone()),
                state: self.state,
            };
            match access.next_value_seed(value) {
                Ok(value) => {
                    if map.contains_key(&key) {
                        let mut state = self.state.borrow_mut();
                        if !state.repeated.contains(&path) {
                            state.repeated.push(path);
                        }
                    } else {
                        map.insert(key, value);
                    }
                }
                Err(e) => {
                    self.note_failure(Some(&path));
                    return Err(e);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_what_value_reads() {
        let text = r#"{"a":[1,-2,3.5,"x",null,true,{"b":{}}],"c":18446744073709551615}"#;
        assert_eq!(
            parse(text.as_bytes()).unwrap(),
            serde_json::from_str::<Value>(text).unwrap()
        );
        assert_eq!(parse(b" 12 ").unwrap(), json!(12));
    }

    #[test]
    fn repeated_keys_are_named_by_path() {
        assert_eq!(
            parse(br#"{"title":"a","t":{"x":1,"x":2},"title":"b","title":"c"}"#),
            Err(StrictJsonError::Repeated(vec![
                "t.x".to_owned(),
                "title".to_owned()
            ]))
        );
        assert_eq!(
            parse(br#"[{"k":1,"k":1}]"#),
            Err(StrictJsonError::Repeated(vec!["k".to_owned()]))
        );
    }

    #[test]
    fn out_of_range_numbers_are_named() {
        assert_eq!(
            parse(br#"{"showDelayMS": 1e400}"#),
            Err(StrictJsonError::OutOfRange {
                field: Some("showDelayMS".to_owned())
            })
        );
        assert_eq!(
            parse(br#"{"templateData": {"gradient": -1e999}}"#),
            Err(StrictJsonError::OutOfRange {
                field: Some("templateData.gradient".to_owned())
            })
        );
        assert_eq!(
            parse(br#"{"ids": [1, 2e999]}"#),
            Err(StrictJsonError::OutOfRange {
                field: Some("ids".to_owned())
            })
        );
        assert_eq!(
            parse(b"1e400"),
            Err(StrictJsonError::OutOfRange { field: None })
        );
    }

    #[test]
    fn syntax_errors_say_where() {
        match parse(br#"{"title": "a", "text": tru}"#) {
            Err(StrictJsonError::Syntax {
                line,
                field,
                message,
                ..
            }) => {
                assert_eq!(line, 1);
                assert_eq!(field.as_deref(), Some("text"));
                assert!(!message.contains(" at line "), "{message}");
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            parse(b"{} x"),
            Err(StrictJsonError::Syntax { field: None, .. })
        ));
        assert!(matches!(
            parse(b"{\"a\":\"\xff\"}"),
            Err(StrictJsonError::Syntax { .. })
        ));
    }

    #[test]
    fn nesting_is_bounded() {
        let deep = "[".repeat(10_000);
        assert!(matches!(
            parse(deep.as_bytes()),
            Err(StrictJsonError::Syntax { .. })
        ));
    }
}
