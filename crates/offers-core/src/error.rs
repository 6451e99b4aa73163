//! Error types: [`ParseError`] for one value, [`FieldErrors`] for a whole offer.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Why a string is not a valid value of one of the crate's types.
///
/// The `parse` constructors return the reason as a plain `String`; this type is the
/// [`std::error::Error`] form of the same reason, used by the `FromStr` impls.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{reason}")]
pub struct ParseError {
    reason: String,
}

impl ParseError {
    /// Wraps a human-readable reason such as `"at most 23 characters (got 30)"`.
    pub fn new(reason: impl Into<String>) -> Self {
        Self {
            reason: reason.into(),
        }
    }

    /// The human-readable reason.
    pub fn reason(&self) -> &str {
        &self.reason
    }
}

impl From<String> for ParseError {
    fn from(reason: String) -> Self {
        Self { reason }
    }
}

impl From<&str> for ParseError {
    fn from(reason: &str) -> Self {
        Self::new(reason)
    }
}

impl From<ParseError> for String {
    fn from(error: ParseError) -> Self {
        error.reason
    }
}

/// Every invalid field of an offer: wire field name → human reason.
///
/// Keys are the wire names (`title`, `linkText`, `showFrerquency`, …); fields inside
/// `templateData` are nested with a dot (`templateData.bgColor`). Serializes as a JSON
/// object, e.g. `{"title": "at most 23 characters (got 30)"}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct FieldErrors(pub BTreeMap<String, String>);

impl FieldErrors {
    /// No errors.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records `reason` for `field`. The first reason recorded for a field is kept.
    pub fn insert(&mut self, field: impl Into<String>, reason: impl Into<String>) {
        self.0.entry(field.into()).or_insert_with(|| reason.into());
    }

    /// `true` when no field is invalid.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The number of invalid fields.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// The reason recorded for `field`, if any.
    pub fn get(&self, field: &str) -> Option<&str> {
        self.0.get(field).map(String::as_str)
    }

    /// `true` when `field` has an error.
    pub fn contains(&self, field: &str) -> bool {
        self.0.contains_key(field)
    }

    /// `(field, reason)` pairs in field-name order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// Moves every error of `other` into `self` (existing reasons win).
    pub fn extend(&mut self, other: FieldErrors) {
        for (field, reason) in other.0 {
            self.insert(field, reason);
        }
    }
}

impl fmt::Display for FieldErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return f.write_str("no errors");
        }
        for (i, (field, reason)) in self.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{field}: {reason}")?;
        }
        Ok(())
    }
}

impl std::error::Error for FieldErrors {}

impl<'a> IntoIterator for &'a FieldErrors {
    type Item = (&'a String, &'a String);
    type IntoIter = std::collections::btree_map::Iter<'a, String, String>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_reason_wins_and_display_lists_all() {
        let mut errors = FieldErrors::new();
        assert!(errors.is_empty());
        errors.insert("title", "required");
        errors.insert("title", "something else");
        errors.insert("link", "must be an absolute http or https URL");
        assert_eq!(errors.len(), 2);
        assert_eq!(errors.get("title"), Some("required"));
        assert!(errors.contains("link"));
        assert_eq!(
            errors.to_string(),
            "link: must be an absolute http or https URL; title: required"
        );
        assert_eq!(
            serde_json::to_value(&errors).unwrap(),
            serde_json::json!({"title": "required", "link": "must be an absolute http or https URL"})
        );
    }

    #[test]
    fn parse_error_displays_reason() {
        let e = ParseError::new("must not be empty");
        assert_eq!(e.to_string(), "must not be empty");
        assert_eq!(e.reason(), "must not be empty");
        assert_eq!(String::from(e), "must not be empty");
    }
}
