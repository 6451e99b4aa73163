//! Validated text fields: [`Title`], [`BodyText`], [`ButtonText`] and [`ExternalId`].
//!
//! Lengths are counted in Unicode scalar values (`chars()`), not bytes, so a 23-emoji
//! title fits. Surrounding whitespace is trimmed; the trimmed text is what is stored.
//!
//! Text that would read differently from what it is, is refused in every one of these
//! fields: bidirectional embeddings, overrides and isolates (U+202A–U+202E, U+2066–U+2069:
//! `abc\u{202e}gnp.exe` renders as "abcexe.png"), and text that is empty once invisible
//! characters ([`is_invisible`]: zero-width spaces and joiners, fillers, tags, …) are
//! removed. Invisible characters inside visible text (an emoji's zero-width joiner, a
//! right-to-left mark) are kept.

use crate::newtype::string_newtype;
use crate::reason::{reason, reason_with};

/// The most characters a [`Title`] may have.
pub const TITLE_MAX_CHARS: usize = 23;
/// The most characters a [`BodyText`] may have.
pub const BODY_MAX_CHARS: usize = 180;
/// The most characters a [`ButtonText`] may have.
pub const BUTTON_MAX_CHARS: usize = 80;
/// How many characters a title, text or button text with merge tags may have beyond its
/// limit as written (the tags' syntax and names; the limit itself counts each tag at its
/// fallback's length).
pub const MERGE_TAG_ALLOWANCE: usize = 200;
/// The most characters an [`ExternalId`] (a room or a user id) may have; see
/// [`crate::limits`] for the per-id names.
pub const EXTERNAL_ID_MAX_CHARS: usize = 128;

pub(crate) const EMPTY: &str = "must not be empty";

/// The reason given for a bidi control.
pub const BIDI_CONTROL_REASON: &str = "must not contain bidirectional override or isolate characters \
     (U+202A-U+202E, U+2066-U+2069): they make text display differently from what it is";

/// The reason given for text made only of invisible characters.
pub const INVISIBLE_ONLY_REASON: &str = "must contain visible characters (it is empty once invisible characters such as zero-width spaces are removed)";

/// Whether `c` is a bidirectional embedding, override or isolate (U+202A–U+202E,
/// U+2066–U+2069): the characters that reorder the text around them.
pub fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Whether `c` draws nothing on its own: whitespace, and the format and filler characters
/// that render as nothing (zero-width space, joiners, word joiner, byte-order mark, soft
/// hyphen, directional marks, Hangul and Braille fillers, variation selectors, tags, …).
pub fn is_invisible(c: char) -> bool {
    c.is_whitespace()
        || c.is_control()
        || is_bidi_control(c)
        || matches!(
            c,
            '\u{00AD}'
                | '\u{034F}'
                | '\u{061C}'
                | '\u{115F}'
                | '\u{1160}'
                | '\u{17B4}'
                | '\u{17B5}'
                | '\u{180B}'..='\u{180F}'
                | '\u{200B}'..='\u{200F}'
                | '\u{2060}'..='\u{2064}'
                | '\u{206A}'..='\u{206F}'
                | '\u{2800}'
                | '\u{3164}'
                | '\u{FE00}'..='\u{FE0F}'
                | '\u{FEFF}'
                | '\u{FFA0}'
                | '\u{1D173}'..='\u{1D17A}'
                | '\u{E0000}'..='\u{E0FFF}'
        )
}

/// The checks every text field shares after its control-character rule: no bidi controls,
/// something visible.
pub(crate) fn check_readable(trimmed: &str) -> Result<(), String> {
    if trimmed.chars().any(is_bidi_control) {
        return Err(reason(BIDI_CONTROL_REASON));
    }
    if trimmed.chars().all(is_invisible) {
        return Err(reason(INVISIBLE_ONLY_REASON));
    }
    Ok(())
}

/// Checks a trimmed single-line or multi-line text and returns it trimmed.
pub(crate) fn checked_text(
    input: &str,
    max: usize,
    allow_newlines: bool,
) -> Result<String, String> {
    let trimmed = checked_chars(input, allow_newlines)?;
    check_length(trimmed, max)?;
    Ok(trimmed.to_owned())
}

/// Checks an offer text that may hold merge tags ([`crate::merge`]) and returns it trimmed:
/// the character rules apply to the text as written, the tags must be well-formed, a text
/// whose every tag has a fallback must be visible with its fallbacks, and the length is the
/// length as written with each tag counted at its fallback's length.
fn checked_merge_text(input: &str, max: usize, allow_newlines: bool) -> Result<String, String> {
    let trimmed = checked_chars(input, allow_newlines)?;
    if !crate::merge::has_merge_tags(trimmed) {
        check_length(trimmed, max)?;
        return Ok(trimmed.to_owned());
    }
    let written = trimmed.chars().count();
    if written > max + MERGE_TAG_ALLOWANCE {
        return Err(reason_with(|| {
            format!(
                "at most {} characters as written, merge tags included (got {written})",
                max + MERGE_TAG_ALLOWANCE
            )
        }));
    }
    let text = crate::merge::MergeText::parse(trimmed)?;
    if text
        .fallback_text()
        .is_some_and(|shown| shown.chars().all(is_invisible))
    {
        return Err(reason(INVISIBLE_ONLY_REASON));
    }
    let count = text.written_len();
    if count > max {
        return Err(reason_with(|| {
            format!("at most {max} characters (got {count})")
        }));
    }
    Ok(trimmed.to_owned())
}

/// The character rules of every text field: trimmed, not blank, no control characters
/// (but `\n` where allowed), no bidi controls, something visible.
fn checked_chars(input: &str, allow_newlines: bool) -> Result<&str, String> {
    let trimmed = input.trim();
    if trimmed.is_empty() {
        return Err(reason(EMPTY));
    }
    if allow_newlines {
        if trimmed.chars().any(|c| c.is_control() && c != '\n') {
            return Err(reason(
                "must not contain control characters other than line breaks",
            ));
        }
    } else if trimmed.chars().any(char::is_control) {
        return Err(reason("must not contain line breaks or control characters"));
    }
    check_readable(trimmed)?;
    Ok(trimmed)
}

/// `Err("at most {max} characters (got {n})")` when `text` is too long.
pub(crate) fn check_length(text: &str, max: usize) -> Result<(), String> {
    let count = text.chars().count();
    if count > max {
        Err(reason_with(|| {
            let (max, count) = (decimal(max as i64), decimal(count as i64));
            ["at most ", &max, " characters (got ", &count, ")"].concat()
        }))
    } else {
        Ok(())
    }
}

/// `n` in decimal, like `n.to_string()` but without `core::fmt`, whose machinery would
/// otherwise be kilobytes of the widget's wasm (the widget formats nothing else).
pub fn decimal(n: i64) -> String {
    let mut out = String::with_capacity(20);
    if n < 0 {
        out.push('-');
    }
    push_decimal(&mut out, n.unsigned_abs());
    out
}

/// `n` in decimal, like `n.to_string()` (see [`decimal`]).
pub fn decimal_u64(n: u64) -> String {
    let mut out = String::with_capacity(20);
    push_decimal(&mut out, n);
    out
}

/// The number `text` writes in ASCII digits only (no sign, no spaces), `None` for anything
/// else or past `u64::MAX`: [`decimal_u64`]'s inverse, like `text.parse::<u64>()` on digits
/// but one small function for every integer the widget reads (each `FromStr` for an integer
/// type is its own generic code in the wasm).
pub fn parse_digits(text: &str) -> Option<u64> {
    if text.is_empty() {
        return None;
    }
    text.bytes().try_fold(0u64, |n, b| {
        if !b.is_ascii_digit() {
            return None;
        }
        n.checked_mul(10)?.checked_add(u64::from(b - b'0'))
    })
}

/// [`decimal`]'s inverse: an optional `-`, then [`parse_digits`]; `None` outside `i64`.
pub fn parse_decimal(text: &str) -> Option<i64> {
    match text.strip_prefix('-') {
        Some(digits) => 0i64.checked_sub_unsigned(parse_digits(digits)?),
        None => i64::try_from(parse_digits(text)?).ok(),
    }
}

fn push_decimal(out: &mut String, n: u64) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    let mut rest = n;
    loop {
        at -= 1;
        digits[at] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    out.extend(digits[at..].iter().map(|&d| char::from(d)));
}

/// An offer title: 1–23 characters, one line.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Title(String);

impl Title {
    /// Parses a title: trimmed, not blank, at most 23 characters, no control characters;
    /// merge tags allowed (counted at their fallback's length).
    pub fn parse(input: &str) -> Result<Self, String> {
        checked_merge_text(input, TITLE_MAX_CHARS, false).map(Self)
    }

    /// Parses a title as the feed carries it, already rendered for its user: the same rules
    /// without merge-tag syntax (the widget reads feeds with this, so it carries no merge-tag
    /// parser).
    pub fn parse_rendered(input: &str) -> Result<Self, String> {
        checked_text(input, TITLE_MAX_CHARS, false).map(Self)
    }
}

string_newtype!(Title);

/// An offer's body text: 1–180 characters; line breaks allowed.
///
/// `\r\n` is normalised to `\n` (browsers submit textareas with CRLF).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BodyText(String);

impl BodyText {
    /// Parses a body text: trimmed, not blank, at most 180 characters, no control
    /// characters other than `\n`; merge tags allowed (counted at their fallback's length).
    pub fn parse(input: &str) -> Result<Self, String> {
        checked_merge_text(&lf_only(input), BODY_MAX_CHARS, true).map(Self)
    }

    /// Parses a body text as the feed carries it, already rendered (see
    /// [`Title::parse_rendered`]).
    pub fn parse_rendered(input: &str) -> Result<Self, String> {
        checked_text(&lf_only(input), BODY_MAX_CHARS, true).map(Self)
    }
}

/// `input` with each `\r\n` as `\n` (`input.replace("\r\n", "\n")`, which a property test
/// checks), split at `\r` instead of searched for the two-character pattern: no substring
/// search in the widget's wasm.
pub fn lf_only(input: &str) -> std::borrow::Cow<'_, str> {
    if !input.contains('\r') {
        return std::borrow::Cow::Borrowed(input);
    }
    let mut out = String::with_capacity(input.len());
    let mut pieces = input.split('\r');
    out.push_str(pieces.next().unwrap_or_default());
    for piece in pieces {
        if !piece.starts_with('\n') {
            out.push('\r');
        }
        out.push_str(piece);
    }
    std::borrow::Cow::Owned(out)
}

string_newtype!(BodyText);

/// The text on an offer's button: 1–80 characters, one line.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ButtonText(String);

impl ButtonText {
    /// Parses a button text: trimmed, not blank, at most 80 characters, no control
    /// characters; merge tags allowed (counted at their fallback's length).
    pub fn parse(input: &str) -> Result<Self, String> {
        checked_merge_text(input, BUTTON_MAX_CHARS, false).map(Self)
    }

    /// Parses a button text as the feed carries it, already rendered (see
    /// [`Title::parse_rendered`]).
    pub fn parse_rendered(input: &str) -> Result<Self, String> {
        checked_text(input, BUTTON_MAX_CHARS, false).map(Self)
    }
}

string_newtype!(ButtonText);

/// The most characters an [`OfferName`] may have.
pub const OFFER_NAME_MAX_CHARS: usize = 80;

/// An offer's internal name (never shown to users): 1–80 characters, one line, no merge tags
/// (a `{{` is plain text here).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OfferName(String);

impl OfferName {
    /// Parses a name: trimmed, not blank, at most 80 characters, no control characters.
    pub fn parse(input: &str) -> Result<Self, String> {
        checked_text(input, OFFER_NAME_MAX_CHARS, false).map(Self)
    }
}

string_newtype!(OfferName);

/// A partner's room or user id: 1–128 characters after trimming, no control characters, no
/// bidi controls, not only invisible characters.
///
/// Held in an `Arc<str>`: a clone shares the text, so an index holding the same user in many
/// offers' audiences can hold it once.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ExternalId(std::sync::Arc<str>);

impl ExternalId {
    /// Parses an id: trimmed, not blank, at most 128 characters, no control characters, no
    /// bidi controls, something visible.
    pub fn parse(input: &str) -> Result<Self, String> {
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(reason(EMPTY));
        }
        if trimmed.chars().any(char::is_control) {
            return Err(reason("must not contain control characters"));
        }
        check_readable(trimmed)?;
        check_length(trimmed, EXTERNAL_ID_MAX_CHARS)?;
        Ok(Self(std::sync::Arc::from(trimmed)))
    }

    /// Makes `self` hold `canonical` when their texts are equal, so that equal ids share one
    /// allocation (an index holding a user in many offers); returns whether it did.
    pub fn share(&mut self, canonical: &std::sync::Arc<str>) -> bool {
        if *self.0 == **canonical {
            self.0 = std::sync::Arc::clone(canonical);
            true
        } else {
            false
        }
    }

    /// Whether `self` holds `text`'s allocation (not only equal text).
    pub fn is_shared_with(&self, text: &std::sync::Arc<str>) -> bool {
        std::sync::Arc::ptr_eq(&self.0, text)
    }
}

string_newtype!(ExternalId);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rendered_texts_follow_the_same_rules_without_merge_syntax() {
        // What a user's rendered feed may hold: braces are text there.
        assert!(Title::parse("Hi {{first").is_err());
        assert_eq!(
            Title::parse_rendered(" Hi {{first ").unwrap().as_str(),
            "Hi {{first"
        );
        assert_eq!(BodyText::parse_rendered("a\r\nb").unwrap().as_str(), "a\nb");
        assert!(ButtonText::parse_rendered(&"x".repeat(BUTTON_MAX_CHARS + 1)).is_err());
        assert!(Title::parse_rendered("\u{202E}evil").is_err());
        assert!(Title::parse_rendered("   ").is_err());
        assert!(BodyText::parse_rendered("bell\u{7}").is_err());
    }

    #[test]
    fn external_ids_share_equal_text_only() {
        let canonical: std::sync::Arc<str> = std::sync::Arc::from("u1");
        let mut same = ExternalId::parse(" u1 ").unwrap();
        assert!(!same.is_shared_with(&canonical));
        assert!(same.share(&canonical));
        assert!(same.is_shared_with(&canonical));
        assert_eq!(same.as_str(), "u1");
        let mut other = ExternalId::parse("u2").unwrap();
        assert!(!other.share(&canonical));
        assert_eq!(other.as_str(), "u2");
        assert_eq!(same.into_string(), "u1");
    }

    #[test]
    fn title_counts_chars_not_bytes() {
        let ok = "😀".repeat(23);
        assert_eq!(Title::parse(&ok).unwrap().as_str(), ok);
        assert_eq!(
            Title::parse(&"😀".repeat(24)).unwrap_err(),
            "at most 23 characters (got 24)"
        );
        assert_eq!(
            Title::parse(&"é".repeat(23)).unwrap().as_str().len(),
            46,
            "23 two-byte characters fit"
        );
        assert_eq!(
            Title::parse(&"a".repeat(30)).unwrap_err(),
            "at most 23 characters (got 30)"
        );
    }

    #[test]
    fn title_is_trimmed_and_not_blank() {
        assert_eq!(Title::parse("  Hello  ").unwrap().as_str(), "Hello");
        assert_eq!(Title::parse("").unwrap_err(), "must not be empty");
        assert_eq!(Title::parse(" \t\n ").unwrap_err(), "must not be empty");
        // 23 characters plus surrounding spaces is fine.
        assert!(Title::parse(&format!("  {}  ", "x".repeat(23))).is_ok());
    }

    #[test]
    fn title_and_button_reject_line_breaks_and_controls() {
        for bad in [
            "a\nb",
            "a\rb",
            "a\u{0}b",
            "a\u{7f}b",
            "a\tb",
            "a\u{1b}[31mb",
        ] {
            assert_eq!(
                Title::parse(bad).unwrap_err(),
                "must not contain line breaks or control characters",
                "{bad:?}"
            );
            assert_eq!(
                ButtonText::parse(bad).unwrap_err(),
                "must not contain line breaks or control characters"
            );
        }
    }

    #[test]
    fn body_text_rules() {
        assert_eq!(
            BodyText::parse("line 1\nline 2").unwrap().as_str(),
            "line 1\nline 2"
        );
        assert_eq!(
            BodyText::parse("line 1\r\nline 2\r\n").unwrap().as_str(),
            "line 1\nline 2"
        );
        assert_eq!(
            BodyText::parse("bell\u{7}").unwrap_err(),
            "must not contain control characters other than line breaks"
        );
        assert_eq!(
            BodyText::parse("a\rb").unwrap_err(),
            "must not contain control characters other than line breaks"
        );
        assert!(BodyText::parse(&"ж".repeat(180)).is_ok());
        assert_eq!(
            BodyText::parse(&"ж".repeat(181)).unwrap_err(),
            "at most 180 characters (got 181)"
        );
        assert_eq!(BodyText::parse("\n\n").unwrap_err(), "must not be empty");
    }

    #[test]
    fn button_text_length() {
        assert!(ButtonText::parse(&"b".repeat(80)).is_ok());
        assert_eq!(
            ButtonText::parse(&"b".repeat(81)).unwrap_err(),
            "at most 80 characters (got 81)"
        );
        assert_eq!(ButtonText::parse("   ").unwrap_err(), "must not be empty");
    }

    #[test]
    fn external_id_rules() {
        assert_eq!(ExternalId::parse(" user-42 ").unwrap().as_str(), "user-42");
        assert_eq!(ExternalId::parse("a,b").unwrap().as_str(), "a,b");
        assert!(ExternalId::parse(&"i".repeat(128)).is_ok());
        assert_eq!(
            ExternalId::parse(&"i".repeat(129)).unwrap_err(),
            "at most 128 characters (got 129)"
        );
        assert_eq!(ExternalId::parse("  ").unwrap_err(), "must not be empty");
        assert_eq!(
            ExternalId::parse("a\u{0}b").unwrap_err(),
            "must not contain control characters"
        );
    }

    #[test]
    fn bidi_controls_are_refused_everywhere() {
        // `abc\u{202e}gnp.exe` displays as "abcexe.png".
        for c in ('\u{202A}'..='\u{202E}').chain('\u{2066}'..='\u{2069}') {
            let text = format!("abc{c}gnp.exe");
            assert_eq!(
                Title::parse(&text).unwrap_err(),
                BIDI_CONTROL_REASON,
                "{c:?}"
            );
            assert_eq!(BodyText::parse(&text).unwrap_err(), BIDI_CONTROL_REASON);
            assert_eq!(ButtonText::parse(&text).unwrap_err(), BIDI_CONTROL_REASON);
            assert_eq!(ExternalId::parse(&text).unwrap_err(), BIDI_CONTROL_REASON);
        }
        // Directional marks (not overrides) are fine inside right-to-left text.
        assert!(Title::parse("\u{5e9}\u{5dc}\u{5d5}\u{5dd}\u{200f}!").is_ok());
    }

    #[test]
    fn invisible_only_text_is_refused() {
        for blank in [
            "\u{200B}",
            "\u{200B}\u{200C}\u{200D}\u{2060}\u{FEFF}",
            " \u{00AD} ",
            "\u{3164}\u{FFA0}",
            "\u{2800}",
            "\u{FE0F}",
            "\u{E0041}\u{E0042}",
            "\u{200E}\u{200F}",
        ] {
            assert_eq!(
                Title::parse(blank).unwrap_err(),
                INVISIBLE_ONLY_REASON,
                "{blank:?}"
            );
            assert_eq!(BodyText::parse(blank).unwrap_err(), INVISIBLE_ONLY_REASON);
            assert_eq!(ButtonText::parse(blank).unwrap_err(), INVISIBLE_ONLY_REASON);
            assert_eq!(ExternalId::parse(blank).unwrap_err(), INVISIBLE_ONLY_REASON);
        }
        assert_eq!(
            BodyText::parse("\u{200B}\n\u{200B}").unwrap_err(),
            INVISIBLE_ONLY_REASON
        );
        // Invisible characters inside visible text stay: a family emoji is joined by ZWJs.
        let family = "\u{1F468}\u{200D}\u{1F469}\u{200D}\u{1F467}";
        assert_eq!(Title::parse(family).unwrap().as_str(), family);
        assert_eq!(Title::parse("a\u{200B}b").unwrap().as_str(), "a\u{200B}b");
    }

    #[test]
    fn serde_round_trips_and_rejects_invalid() {
        let t = Title::parse("Hi").unwrap();
        assert_eq!(serde_json::to_string(&t).unwrap(), "\"Hi\"");
        assert_eq!(serde_json::from_str::<Title>("\"Hi\"").unwrap(), t);
        let err = serde_json::from_str::<Title>(&format!("\"{}\"", "x".repeat(24))).unwrap_err();
        assert!(err.to_string().contains("at most 23 characters (got 24)"));
        assert!(serde_json::from_str::<ExternalId>("\"\"").is_err());
        assert!(serde_json::from_str::<Title>("12").is_err());
    }

    #[test]
    fn merge_tags_count_at_their_fallback_length() {
        // 23 characters as written with the fallback, however long the tag's name.
        let title = format!("{}{{{{firstName|there}}}}", "x".repeat(18));
        assert_eq!(Title::parse(&title).unwrap().as_str(), title);
        assert_eq!(
            Title::parse(&format!("{}{{{{firstName|there!}}}}", "x".repeat(18))).unwrap_err(),
            "at most 23 characters (got 24)"
        );
        assert!(
            Title::parse(&format!(
                "{}{{{{attributes.aVeryLongAttributeName}}}}",
                "x".repeat(23)
            ))
            .is_ok()
        );
        assert_eq!(
            Title::parse("Hi {{firstName").unwrap_err(),
            "unclosed merge tag at character 4"
        );
        assert_eq!(
            ButtonText::parse("Go {{first name}}").unwrap_err(),
            "unknown variable 'first name' (use id, language, attributes.<key> or <key>)"
        );
        assert!(BodyText::parse("Dear {{firstName|friend}},\nyou have {{points}} points").is_ok());
        assert_eq!(
            Title::parse("{{firstName|}}").unwrap_err(),
            INVISIBLE_ONLY_REASON
        );
        assert!(
            Title::parse("{{firstName}}").is_ok(),
            "skips users without a name"
        );
        assert_eq!(
            Title::parse("a\u{202E}{{id}}").unwrap_err(),
            BIDI_CONTROL_REASON,
            "the text rules apply to the text as written"
        );
        assert_eq!(
            OfferName::parse(" Spring {{sale}} ").unwrap().as_str(),
            "Spring {{sale}}"
        );
        assert!(OfferName::parse(&"n".repeat(81)).is_err());
    }

    #[test]
    fn conversions() {
        let t: Title = "Hi".parse().unwrap();
        assert_eq!(t, "Hi");
        assert_eq!(t.to_string(), "Hi");
        assert_eq!(String::from(t.clone()), "Hi");
        assert_eq!(Title::try_from("Hi".to_owned()).unwrap(), t);
        let err = "".parse::<Title>().unwrap_err();
        assert_eq!(err.reason(), "must not be empty");
    }
}
