//! Languages: [`LanguageTag`] (a BCP 47 language tag such as `de`, `de-AT`, `zh-Hant-TW`) and
//! [`best_translation`], the one rule choosing an offer's translation for a user (SPEC §7:
//! exact `de-AT`, then `de`, then the offer's own text).

use crate::reason::{reason, reason_with};
use std::collections::BTreeMap;

use crate::newtype::string_newtype;

/// The most characters a [`LanguageTag`] may have.
pub const LANGUAGE_TAG_MAX_CHARS: usize = 35;

/// The reason given for text that is not a language tag.
pub const LANGUAGE_REASON: &str = "must be a language tag such as de, de-AT or zh-Hant-TW (2-3 letters, then subtags of 1-8 letters or digits separated by -)";

/// A BCP 47 language tag in its canonical case: `de`, `de-AT`, `pt-BR`, `zh-Hant-TW`, `es-419`.
///
/// The language (2–3 letters) is lowercase, a 2-letter region uppercase, a 4-letter script
/// Titlecase, any other subtag lowercase; subtags are 1–8 letters or digits, separated by `-`;
/// at most [`LANGUAGE_TAG_MAX_CHARS`] characters. Two tags are equal exactly when they name
/// the same language case-insensitively, since both are stored in canonical case.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LanguageTag(String);

impl LanguageTag {
    /// Parses a language tag (trimmed, any case, `-` between subtags) into canonical case.
    pub fn parse(input: &str) -> Result<Self, String> {
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(reason(crate::text::EMPTY));
        }
        if trimmed.chars().count() > LANGUAGE_TAG_MAX_CHARS {
            return Err(reason_with(|| {
                format!(
                    "at most {LANGUAGE_TAG_MAX_CHARS} characters (got {})",
                    trimmed.chars().count()
                )
            }));
        }
        let mut out = String::with_capacity(trimmed.len());
        for (index, subtag) in trimmed.split('-').enumerate() {
            let alphanumeric = subtag.bytes().all(|b| b.is_ascii_alphanumeric());
            let valid = if index == 0 {
                (2..=3).contains(&subtag.len()) && subtag.bytes().all(|b| b.is_ascii_alphabetic())
            } else {
                (1..=8).contains(&subtag.len()) && alphanumeric
            };
            if !valid {
                return Err(reason(LANGUAGE_REASON));
            }
            if index > 0 {
                out.push('-');
            }
            let letters = subtag.bytes().all(|b| b.is_ascii_alphabetic());
            match (index, subtag.len()) {
                (1.., 2) if letters => out.push_str(&subtag.to_ascii_uppercase()),
                (1.., 4) if letters => {
                    let lower = subtag.to_ascii_lowercase();
                    out.push_str(&lower[..1].to_ascii_uppercase());
                    out.push_str(&lower[1..]);
                }
                _ => out.push_str(&subtag.to_ascii_lowercase()),
            }
        }
        Ok(Self(out))
    }

    /// A tag from what browsers and hosts send (`navigator.language`, `data-lang`, `lang=`,
    /// an `Accept-Language` value, a POSIX locale): the first entry of a comma-separated list,
    /// without `;q=…`, with `_` read as `-`, without an encoding (`.UTF-8`) or modifier (`@euro`).
    /// `None` for anything that is not a language tag then (`*`, `C`, garbage).
    pub fn from_accept(input: &str) -> Option<Self> {
        let first = input.split(',').next()?;
        let first = first.split(';').next()?;
        let first = first.split(['.', '@']).next()?;
        Self::parse(&first.trim().replace('_', "-")).ok()
    }

    /// The language subtag alone: `de` for `de-AT`.
    pub fn primary(&self) -> &str {
        self.0.split('-').next().unwrap_or(&self.0)
    }

    /// The tag without its last subtag (`zh-Hant` for `zh-Hant-TW`, `de` for `de-AT`), or
    /// `None` for a bare language.
    pub fn parent(&self) -> Option<Self> {
        self.0
            .rsplit_once('-')
            .map(|(parent, _)| Self(parent.to_owned()))
    }

    /// Whether `self` names `other` or a language within it (RFC 4647 basic filtering): `de`
    /// matches `de`, `de-AT` and `de-CH`; `de-AT` matches only `de-AT` (and its longer forms).
    pub fn matches(&self, other: &LanguageTag) -> bool {
        other.is_within(&self.0)
    }

    /// Whether `self` is the language `range` names or one of its forms, comparing
    /// case-insensitively without allocating: `de-AT` is within `de`, `DE` and `de-at`, not
    /// within `de-CH` or `d`.
    pub fn is_within(&self, range: &str) -> bool {
        let (tag, range) = (self.0.as_bytes(), range.as_bytes());
        tag.len() >= range.len()
            && tag[..range.len()].eq_ignore_ascii_case(range)
            && tag.get(range.len()).is_none_or(|&b| b == b'-')
            && !range.is_empty()
    }
}

string_newtype!(LanguageTag);

/// The translation for a user whose language is `wanted`: the exact tag (`de-AT`), then each
/// shorter form of it (`de`; `zh-Hant-TW`, `zh-Hant`, `zh`), else `None` (the offer's own
/// text). `wanted: None` (language unknown) is always `None`.
pub fn best_translation<'a, T>(
    translations: &'a BTreeMap<LanguageTag, T>,
    wanted: Option<&LanguageTag>,
) -> Option<(&'a LanguageTag, &'a T)> {
    let mut candidate = wanted?.clone();
    loop {
        if let Some(found) = translations.get_key_value(&candidate) {
            return Some(found);
        }
        candidate = candidate.parent()?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tag(s: &str) -> LanguageTag {
        LanguageTag::parse(s).unwrap()
    }

    #[test]
    fn canonical_case() {
        for (input, canonical) in [
            ("de", "de"),
            ("DE", "de"),
            ("de-at", "de-AT"),
            (" pt-br ", "pt-BR"),
            ("ZH-HANT-tw", "zh-Hant-TW"),
            ("es-419", "es-419"),
            ("sr-latn-rs", "sr-Latn-RS"),
            ("de-CH-1996", "de-CH-1996"),
            ("fil", "fil"),
        ] {
            assert_eq!(tag(input).as_str(), canonical, "{input}");
        }
    }

    #[test]
    fn rejects_what_is_not_a_tag() {
        for bad in [
            "d",
            "deut",
            "de_AT",
            "de-",
            "-de",
            "de--AT",
            "de-toolongsub",
            "1e",
            "de AT",
            "*",
            "de-Ä",
        ] {
            assert_eq!(
                LanguageTag::parse(bad).unwrap_err(),
                LANGUAGE_REASON,
                "{bad}"
            );
        }
        assert_eq!(LanguageTag::parse(" ").unwrap_err(), "must not be empty");
        assert!(LanguageTag::parse(&format!("de{}", "-abcdefgh".repeat(4))).is_err());
    }

    #[test]
    fn tolerant_reading_of_browser_values() {
        for (input, expected) in [
            ("de_AT", Some("de-AT")),
            ("de-AT,de;q=0.9,en;q=0.8", Some("de-AT")),
            ("en-US", Some("en-US")),
            ("de_DE.UTF-8", Some("de-DE")),
            ("ca_ES@valencia", Some("ca-ES")),
            ("fr;q=1", Some("fr")),
            ("*", None),
            ("C", None),
            ("", None),
            ("<script>", None),
        ] {
            assert_eq!(
                LanguageTag::from_accept(input)
                    .as_ref()
                    .map(LanguageTag::as_str),
                expected,
                "{input}"
            );
        }
    }

    #[test]
    fn primary_parent_and_matching() {
        let at = tag("de-AT");
        assert_eq!(at.primary(), "de");
        assert_eq!(at.parent(), Some(tag("de")));
        assert_eq!(tag("de").parent(), None);
        assert!(tag("de").matches(&at));
        assert!(at.matches(&at));
        assert!(!at.matches(&tag("de")));
        assert!(!tag("de").matches(&tag("dsb")));
        assert!(at.is_within("DE") && at.is_within("de-at") && !at.is_within("d"));
        assert!(!at.is_within("") && !at.is_within("de-AT-x"));
    }

    #[test]
    fn translation_fallback_order() {
        let translations: BTreeMap<LanguageTag, &str> = [
            (tag("de"), "de"),
            (tag("de-CH"), "de-CH"),
            (tag("zh"), "zh"),
        ]
        .into_iter()
        .collect();
        let best = |wanted: Option<&str>| {
            best_translation(&translations, wanted.map(tag).as_ref()).map(|(_, t)| *t)
        };
        assert_eq!(best(Some("de-CH")), Some("de-CH"));
        assert_eq!(best(Some("de-AT")), Some("de"));
        assert_eq!(best(Some("de")), Some("de"));
        assert_eq!(best(Some("zh-Hant-TW")), Some("zh"));
        assert_eq!(best(Some("en-US")), None);
        assert_eq!(best(None), None);
    }
}
