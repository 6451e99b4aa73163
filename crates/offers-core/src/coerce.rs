//! Coercion of loosely typed JSON values (multipart parts are all strings).
//!
//! Each function maps "absent" — no value, `null`, or a blank string — to `Ok(None)`,
//! a usable value to `Ok(Some(_))`, and a value of the wrong type to `Err(())`; the
//! caller words the error for its field.

use serde_json::Value;

/// A string value. Numbers and booleans are not strings.
pub(crate) fn string(value: Option<&Value>) -> Result<Option<&str>, ()> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(()),
    }
}

/// An integer: a JSON integer (or a float with no fraction) or a string of digits with an
/// optional sign.
pub(crate) fn integer(value: Option<&Value>) -> Result<Option<i64>, ()> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => {
            if let Some(i) = n.as_i64() {
                Ok(Some(i))
            } else if n.as_u64().is_some() {
                Err(())
            } else {
                match n.as_f64() {
                    Some(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => Ok(Some(f as i64)),
                    _ => Err(()),
                }
            }
        }
        Some(Value::String(s)) => {
            let s = s.trim();
            if s.is_empty() {
                return Ok(None);
            }
            let digits = s.strip_prefix(['-', '+']).unwrap_or(s);
            if digits.is_empty() || digits.len() > 18 || !digits.bytes().all(|b| b.is_ascii_digit())
            {
                return Err(());
            }
            s.parse().map(Some).map_err(|_| ())
        }
        Some(_) => Err(()),
    }
}

/// A boolean: `true`/`false`, the strings `"true"`/`"false"` (any case), `"1"`/`"0"`, or
/// the numbers 1 and 0.
pub(crate) fn boolean(value: Option<&Value>) -> Result<Option<bool>, ()> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(Value::Number(n)) => match n.as_u64() {
            Some(0) => Ok(Some(false)),
            Some(1) => Ok(Some(true)),
            _ => Err(()),
        },
        Some(Value::String(s)) => {
            let s = s.trim();
            if s.is_empty() {
                Ok(None)
            } else if s.eq_ignore_ascii_case("true") || s == "1" {
                Ok(Some(true))
            } else if s.eq_ignore_ascii_case("false") || s == "0" {
                Ok(Some(false))
            } else {
                Err(())
            }
        }
        Some(_) => Err(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn strings() {
        assert_eq!(string(None), Ok(None));
        assert_eq!(string(Some(&json!(null))), Ok(None));
        assert_eq!(string(Some(&json!("  "))), Ok(None));
        assert_eq!(string(Some(&json!("a"))), Ok(Some("a")));
        assert_eq!(string(Some(&json!(1))), Err(()));
        assert_eq!(string(Some(&json!(["a"]))), Err(()));
    }

    #[test]
    fn integers() {
        assert_eq!(integer(Some(&json!(10))), Ok(Some(10)));
        assert_eq!(integer(Some(&json!(-3))), Ok(Some(-3)));
        assert_eq!(integer(Some(&json!(10.0))), Ok(Some(10)));
        assert_eq!(integer(Some(&json!("10"))), Ok(Some(10)));
        assert_eq!(integer(Some(&json!(" +7 "))), Ok(Some(7)));
        assert_eq!(integer(Some(&json!("-0"))), Ok(Some(0)));
        assert_eq!(integer(Some(&json!(""))), Ok(None));
        assert_eq!(integer(Some(&json!(null))), Ok(None));
        for bad in [
            json!(10.5),
            json!("10.5"),
            json!("1e3"),
            json!("ten"),
            json!("-"),
            json!(u64::MAX),
            json!("99999999999999999999"),
            json!(true),
            json!([1]),
            json!({"a": 1}),
            json!(1e300),
        ] {
            assert_eq!(integer(Some(&bad)), Err(()), "{bad}");
        }
    }

    #[test]
    fn booleans() {
        for (input, expected) in [
            (json!(true), true),
            (json!(false), false),
            (json!("TRUE"), true),
            (json!("False"), false),
            (json!("1"), true),
            (json!("0"), false),
            (json!(1), true),
            (json!(0), false),
        ] {
            assert_eq!(boolean(Some(&input)), Ok(Some(expected)), "{input}");
        }
        assert_eq!(boolean(Some(&json!(""))), Ok(None));
        for bad in [json!("yes"), json!(2), json!([]), json!(0.5)] {
            assert_eq!(boolean(Some(&bad)), Err(()), "{bad}");
        }
    }
}
