//! The texts of rejections: why a value is not valid, as the API's 422 and the Studio's red
//! fields show it.
//!
//! The value parsers (texts, URLs, colors, times, the enums, event names, operators, profile
//! values, language tags) build their reasons through [`reason`] or [`reason_with`]. With the
//! `reasons` feature (on by default; the API and the Studio use it) that is the text itself.
//! Without it (the shipped widget bundle, which only logs that it skipped an offer and which
//! field was wrong) every reason is [`REJECTED`], so none of the texts, nor the code that
//! formats them, is in the bundle. The decisions are the same either way: only the texts
//! differ. What only the API and the Studio run (whole-body validation, segments, merge tags)
//! keeps plain texts.

/// The one reason a build without the `reasons` feature gives.
pub const REJECTED: &str = "rejected";

/// The reason `text` (or [`REJECTED`] without the `reasons` feature).
#[inline(always)]
pub fn reason(text: &'static str) -> String {
    if cfg!(feature = "reasons") {
        text.to_owned()
    } else {
        rejected()
    }
}

/// The reason `make` builds (or [`REJECTED`], without calling it, without the `reasons`
/// feature).
#[inline(always)]
pub fn reason_with(make: impl FnOnce() -> String) -> String {
    if cfg!(feature = "reasons") {
        make()
    } else {
        rejected()
    }
}

/// [`REJECTED`] as a `String`, built in one place (not at each of the parsers' call sites).
#[inline(never)]
fn rejected() -> String {
    REJECTED.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reason_is_its_text_only_with_the_feature() {
        let parsed = crate::CssColor::parse("not a color").unwrap_err();
        let long = crate::Title::parse(&"x".repeat(500)).unwrap_err();
        if cfg!(feature = "reasons") {
            assert_eq!(parsed, crate::color::COLOR_REASON);
            assert!(long.starts_with("at most "), "{long}");
        } else {
            assert_eq!(parsed, REJECTED);
            assert_eq!(long, REJECTED);
        }
        // The decision itself never depends on the feature.
        assert!(crate::CssColor::parse("#fff").is_ok());
    }
}
