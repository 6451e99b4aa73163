//! Merge tags (SPEC §7): `{{firstName}}`, `{{attributes.points}}`, `{{language}}`, `{{id}}`,
//! each optionally with a fallback, `{{firstName|there}}`.
//!
//! - [`MergeText::parse`] reads a text with merge tags: `{{` opens a tag and the next `}}`
//!   closes it; inside, the variable name (spaces around it are ignored), then optionally
//!   `|` and the fallback (literal text up to `}}`, trimmed, possibly empty). Tags do not nest.
//!   A lone `{` or `}` is literal text. A bare name is an attribute (`{{firstName}}` =
//!   `{{attributes.firstName}}`), except `id` and `language`.
//! - Length limits apply to the text as written with each tag counted at its fallback's
//!   length ([`MergeText::written_len`]; no fallback: 0), and again after substitution
//!   ([`MergeText::render`] cuts at the limit on a character boundary).
//! - Substituted values are text: control, bidi and invisible characters are removed,
//!   other white space becomes a space, and a `{{` the substitution would create is broken
//!   up (`{ {`), so a rendered text never holds a merge tag. In a link's query
//!   ([`render_link_query`]) values are percent-encoded; a link's fallbacks are part of the
//!   URL as written (`{{firstName|a%20friend}}`), and a link's tags hold no spaces.
//! - A variable the user lacks, without a fallback, is an error ([`MissingVariable`]): the
//!   offer skips that user rather than showing a hole.

use std::fmt;

use thiserror::Error;

use crate::http_url::HttpUrl;
use crate::language::LanguageTag;
use crate::profile::{AttrKey, Profile};
use crate::text::{is_bidi_control, is_invisible};

/// The hint of the error for an unknown variable.
const VARIABLES_HINT: &str = "use id, language, attributes.<key> or <key>";

/// Whether `text` holds a merge tag (an opening `{{`). Texts of a valid offer either have no
/// `{{` or only well-formed tags.
pub fn has_merge_tags(text: &str) -> bool {
    text.contains("{{")
}

/// What a merge tag stands for.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Variable {
    /// `{{id}}`: the user's id.
    Id,
    /// `{{language}}`: the user's language (the profile's, else the one the widget sent).
    Language,
    /// `{{attributes.<key>}}` or `{{<key>}}`: one of the profile's attributes.
    Attribute(AttrKey),
}

impl Variable {
    /// Parses a variable name (trimmed): `id`, `language`, `attributes.<key>` or `<key>`.
    pub fn parse(name: &str) -> Result<Self, String> {
        let name = name.trim();
        let unknown = || format!("unknown variable '{name}' ({VARIABLES_HINT})");
        match name {
            "id" => Ok(Self::Id),
            "language" => Ok(Self::Language),
            _ => {
                let key = name.strip_prefix("attributes.").unwrap_or(name);
                AttrKey::parse(key)
                    .map(Self::Attribute)
                    .map_err(|_| unknown())
            }
        }
    }
}

impl fmt::Display for Variable {
    /// The canonical name: `id`, `language`, `attributes.<key>`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Id => f.write_str("id"),
            Self::Language => f.write_str("language"),
            Self::Attribute(key) => write!(f, "attributes.{key}"),
        }
    }
}

/// A part of a [`MergeText`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    /// Literal text.
    Text(String),
    /// A merge tag.
    Tag {
        /// What it stands for.
        variable: Variable,
        /// The name as written (trimmed), e.g. `firstName`.
        name: String,
        /// The text shown when the user lacks the variable (`None`: skip the user).
        fallback: Option<String>,
    },
}

/// A text with merge tags, parsed ([`MergeText::parse`]).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MergeText {
    pieces: Vec<Piece>,
}

/// A merge tag without a value for this user and without a fallback: the offer is not shown
/// to them.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Error)]
#[error("merge tag {{{{{variable}}}}} has no value for this user and no fallback")]
pub struct MissingVariable {
    /// The variable's name as written in the tag, e.g. `firstName`.
    pub variable: String,
}

/// What merge tags are filled from, for one user.
#[derive(Debug, Clone, Copy, Default)]
pub struct MergeVars<'a> {
    /// The user's id (`{{id}}`); `None` for an anonymous visitor.
    pub id: Option<&'a str>,
    /// The user's language (`{{language}}`), also the one translations are chosen by.
    pub language: Option<&'a LanguageTag>,
    /// The user's stored profile (`{{<key>}}`, `{{attributes.<key>}}`).
    pub profile: Option<&'a Profile>,
}

impl<'a> MergeVars<'a> {
    /// The variables of user `id` with `profile`, whose widget asked for `requested`
    /// language: the profile's language, when set, wins (SPEC §7).
    pub fn new(
        id: Option<&'a str>,
        profile: Option<&'a Profile>,
        requested: Option<&'a LanguageTag>,
    ) -> Self {
        Self {
            id,
            language: profile.and_then(|p| p.language.as_ref()).or(requested),
            profile,
        }
    }

    /// The value of `variable` for this user, cleaned ([`clean_value`]); `None` when the
    /// user lacks it or it is empty once cleaned.
    pub fn value(&self, variable: &Variable) -> Option<String> {
        let raw = match variable {
            Variable::Id => self.id.map(str::to_owned),
            Variable::Language => self.language.map(|l| l.as_str().to_owned()),
            Variable::Attribute(key) => self
                .profile
                .and_then(|p| p.attributes.get(key))
                .map(crate::profile::AttrValue::to_text),
        }?;
        let clean = clean_value(&raw);
        (!clean.is_empty()).then_some(clean)
    }
}

/// A substituted value as plain one-line text: control, bidi and invisible characters
/// removed, other white space turned into spaces, trimmed.
pub fn clean_value(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for c in raw.chars() {
        if c.is_whitespace() {
            out.push(' ');
        } else if !(c.is_control() || is_bidi_control(c) || is_invisible(c)) {
            out.push(c);
        }
    }
    out.trim().to_owned()
}

/// The 1-based character position of byte offset `at` in `text`.
fn char_position(text: &str, at: usize) -> usize {
    text[..at].chars().count() + 1
}

impl MergeText {
    /// Parses a text with merge tags. Errors: `unclosed merge tag at character N`, `merge
    /// tags cannot be nested (character N)`, `unknown variable 'first name' (use id,
    /// language, attributes.<key> or <key>)`.
    pub fn parse(input: &str) -> Result<Self, String> {
        Self::parse_at(input, 0)
    }

    /// [`MergeText::parse`] of a text that starts `shift` characters into what the user
    /// wrote (a link's query), so error positions count from the start of that.
    pub(crate) fn parse_at(input: &str, shift: usize) -> Result<Self, String> {
        let char_position = |text: &str, at: usize| shift + char_position(text, at);
        let mut pieces = Vec::new();
        let mut offset = 0;
        while let Some(open) = input[offset..].find("{{").map(|at| offset + at) {
            if open > offset {
                pieces.push(Piece::Text(input[offset..open].to_owned()));
            }
            let inner_start = open + 2;
            let Some(close) = input[inner_start..].find("}}").map(|at| inner_start + at) else {
                return Err(format!(
                    "unclosed merge tag at character {}",
                    char_position(input, open)
                ));
            };
            let inner = &input[inner_start..close];
            if let Some(nested) = inner.find("{{") {
                return Err(format!(
                    "merge tags cannot be nested (character {})",
                    char_position(input, inner_start + nested)
                ));
            }
            let (name, fallback) = match inner.split_once('|') {
                Some((name, fallback)) => (name, Some(fallback.trim().to_owned())),
                None => (inner, None),
            };
            pieces.push(Piece::Tag {
                variable: Variable::parse(name)?,
                name: name.trim().to_owned(),
                fallback,
            });
            offset = close + 2;
        }
        if offset < input.len() {
            pieces.push(Piece::Text(input[offset..].to_owned()));
        }
        Ok(Self { pieces })
    }

    /// The parts, in order.
    pub fn pieces(&self) -> &[Piece] {
        &self.pieces
    }

    /// Whether the text holds any merge tag.
    pub fn has_tags(&self) -> bool {
        self.pieces.iter().any(|p| matches!(p, Piece::Tag { .. }))
    }

    /// The variables the text uses, in order (with repeats).
    pub fn variables(&self) -> impl Iterator<Item = &Variable> {
        self.pieces.iter().filter_map(|p| match p {
            Piece::Tag { variable, .. } => Some(variable),
            Piece::Text(_) => None,
        })
    }

    /// The length the limits judge (SPEC §7): characters, with each tag counted at its
    /// fallback's length (a tag without fallback: 0).
    pub fn written_len(&self) -> usize {
        self.pieces
            .iter()
            .map(|p| match p {
                Piece::Text(text) => text.chars().count(),
                Piece::Tag { fallback, .. } => fallback.as_deref().map_or(0, |f| f.chars().count()),
            })
            .sum()
    }

    /// The text as a user without any variable sees it, when every tag has a fallback;
    /// `None` when some tag has none (such a user is skipped).
    pub fn fallback_text(&self) -> Option<String> {
        self.render(&MergeVars::default(), usize::MAX).ok()
    }

    /// The text for one user, cut at `limit` characters: each tag replaced by the user's
    /// value (cleaned) or its fallback; `Err` naming the first tag with neither. The result
    /// is trimmed and holds no merge tag (a `{{` is written `{ {`).
    pub fn render(&self, vars: &MergeVars<'_>, limit: usize) -> Result<String, MissingVariable> {
        let out = self.substitute(vars, |value, out| out.push_str(value))?;
        let mut out = break_up_tags(out);
        let trimmed = out.trim();
        if let Some((cut, _)) = trimmed.char_indices().nth(limit) {
            out = trimmed[..cut].trim_end().to_owned();
        } else if trimmed.len() != out.len() {
            out = trimmed.to_owned();
        }
        Ok(out)
    }

    /// Literal text and fallbacks as written, each tag's value (cleaned) through
    /// `push_value`.
    fn substitute(
        &self,
        vars: &MergeVars<'_>,
        mut push_value: impl FnMut(&str, &mut String),
    ) -> Result<String, MissingVariable> {
        let mut out = String::new();
        for piece in &self.pieces {
            match piece {
                Piece::Text(text) => out.push_str(text),
                Piece::Tag {
                    variable,
                    name,
                    fallback,
                } => match (vars.value(variable), fallback) {
                    (Some(value), _) => push_value(&value, &mut out),
                    (None, Some(fallback)) => out.push_str(fallback),
                    (None, None) => {
                        return Err(MissingVariable {
                            variable: name.clone(),
                        });
                    }
                },
            }
        }
        Ok(out)
    }
}

/// `text` with every `{{` broken up as `{ {`.
fn break_up_tags(mut text: String) -> String {
    while text.contains("{{") {
        text = text.replace("{{", "{ {");
    }
    text
}

/// Percent-encodes `text` for a URL's query: every byte but `A-Z a-z 0-9 - . _ ~`.
pub fn percent_encode(text: &str, out: &mut String) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(byte >> 4)]));
            out.push(char::from(HEX[usize::from(byte & 15)]));
        }
    }
}

/// A link split around its query: (up to and including `?`, the query, `#` and after).
/// Without `?` the whole link is the first part.
pub(crate) fn split_query(link: &str) -> (&str, &str, &str) {
    let Some(q) = link.find('?') else {
        return (link, "", "");
    };
    let end = link[q..].find('#').map_or(link.len(), |at| q + at);
    (&link[..=q], &link[q + 1..end], &link[end..])
}

/// The link for one user: the merge tags of its query filled in, each value
/// percent-encoded, each fallback as written (it is part of the link the partner wrote, so it
/// is written URL-encoded already: `{{firstName|a%20friend}}`). A link without tags is returned as is. `Err` for a tag with neither
/// value nor fallback, and (naming the query's first tag) when the result would not be a
/// valid link (longer than [`crate::http_url::MAX_URL_CHARS`]).
pub fn render_link_query(link: &HttpUrl, vars: &MergeVars<'_>) -> Result<HttpUrl, MissingVariable> {
    let text = link.as_str();
    if !has_merge_tags(text) {
        return Ok(link.clone());
    }
    let (head, query, tail) = split_query(text);
    // A stored link was validated by `HttpUrl::parse_link`, so its query parses.
    let Ok(template) = MergeText::parse(query) else {
        return Ok(link.clone());
    };
    let query = template.substitute(vars, percent_encode)?;
    HttpUrl::parse(&format!("{head}{query}{tail}")).map_err(|_| MissingVariable {
        variable: template
            .pieces
            .iter()
            .find_map(|p| match p {
                Piece::Tag { name, .. } => Some(name.clone()),
                Piece::Text(_) => None,
            })
            .unwrap_or_default(),
    })
}

/// The query of a link template with every tag replaced by its fallback (`x` without one):
/// what [`HttpUrl::parse_link`] validates the link's shape with.
pub(crate) fn example_query(template: &MergeText) -> String {
    let mut out = String::new();
    for piece in &template.pieces {
        match piece {
            Piece::Text(text) => out.push_str(text),
            Piece::Tag { fallback, .. } => out.push_str(fallback.as_deref().unwrap_or("x")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::AttrValue;

    fn profile() -> Profile {
        let mut profile = Profile::default();
        for (key, value) in [
            ("firstName", AttrValue::Text("Ana".into())),
            ("points", AttrValue::Number(1200.0)),
            ("city", AttrValue::Text("São Paulo & <b>x</b>".into())),
            ("sneaky", AttrValue::Text("a\u{202E}b\u{200B}c".into())),
            ("braces", AttrValue::Text("{{id}}".into())),
        ] {
            profile
                .attributes
                .insert(AttrKey::parse(key).unwrap(), value);
        }
        profile.language = Some(LanguageTag::parse("de-AT").unwrap());
        profile
    }

    fn render(text: &str, vars: &MergeVars<'_>) -> Result<String, MissingVariable> {
        MergeText::parse(text).unwrap().render(vars, 1000)
    }

    #[test]
    fn parses_tags_and_literals() {
        let text =
            MergeText::parse("Hi {{ firstName | there }}, {{attributes.points}} {x} }}").unwrap();
        assert_eq!(
            text.pieces(),
            [
                Piece::Text("Hi ".into()),
                Piece::Tag {
                    variable: Variable::Attribute(AttrKey::parse("firstName").unwrap()),
                    name: "firstName".into(),
                    fallback: Some("there".into())
                },
                Piece::Text(", ".into()),
                Piece::Tag {
                    variable: Variable::Attribute(AttrKey::parse("points").unwrap()),
                    name: "attributes.points".into(),
                    fallback: None
                },
                Piece::Text(" {x} }}".into()),
            ]
        );
        assert_eq!(text.written_len(), "Hi there,  {x} }}".chars().count());
        assert!(text.has_tags());
        assert_eq!(
            MergeText::parse("{{id}}{{language|}}")
                .unwrap()
                .written_len(),
            0
        );
        assert!(!MergeText::parse("plain { text }").unwrap().has_tags());
        assert_eq!(
            MergeText::parse("{{id}} {{ language }}")
                .unwrap()
                .variables()
                .map(ToString::to_string)
                .collect::<Vec<_>>(),
            ["id", "language"]
        );
    }

    #[test]
    fn parse_errors() {
        assert_eq!(
            MergeText::parse("Hi {{firstName").unwrap_err(),
            "unclosed merge tag at character 4"
        );
        assert_eq!(
            MergeText::parse("é {{first name}}").unwrap_err(),
            "unknown variable 'first name' (use id, language, attributes.<key> or <key>)"
        );
        assert_eq!(
            MergeText::parse("{{}}").unwrap_err(),
            "unknown variable '' (use id, language, attributes.<key> or <key>)"
        );
        assert_eq!(
            MergeText::parse("{{a|{{b}}").unwrap_err(),
            "merge tags cannot be nested (character 5)"
        );
        assert!(MergeText::parse("{{attributes.}}").is_err());
        assert!(MergeText::parse("{{attributes.a b}}").is_err());
    }

    #[test]
    fn renders_values_and_fallbacks() {
        let profile = profile();
        let vars = MergeVars::new(Some("u1"), Some(&profile), None);
        assert_eq!(render("Hi {{firstName|there}}!", &vars).unwrap(), "Hi Ana!");
        assert_eq!(render("{{points}} points", &vars).unwrap(), "1200 points");
        assert_eq!(render("{{id}} {{language}}", &vars).unwrap(), "u1 de-AT");
        assert_eq!(
            render("{{city}}", &vars).unwrap(),
            "São Paulo & <b>x</b>",
            "text, not HTML"
        );
        assert_eq!(render("{{sneaky}}", &vars).unwrap(), "abc");
        assert_eq!(render("{{braces}}", &vars).unwrap(), "{ {id}}");
        let anonymous = MergeVars::default();
        assert_eq!(
            render("Hi {{firstName|there}}!", &anonymous).unwrap(),
            "Hi there!"
        );
        assert_eq!(render("Hi {{firstName|}}!", &anonymous).unwrap(), "Hi !");
        assert_eq!(
            render("Hi {{ firstName }}", &anonymous).unwrap_err(),
            MissingVariable {
                variable: "firstName".into()
            }
        );
        assert_eq!(
            MissingVariable {
                variable: "firstName".into()
            }
            .to_string(),
            "merge tag {{firstName}} has no value for this user and no fallback"
        );
        let text = MergeText::parse("{{firstName}} {{city}}").unwrap();
        assert_eq!(text.render(&vars, 6).unwrap(), "Ana Sã");
        assert_eq!(text.render(&vars, 4).unwrap(), "Ana", "cut, then trimmed");
        assert_eq!(
            MergeText::parse("a{{x|b}}")
                .unwrap()
                .fallback_text()
                .as_deref(),
            Some("ab")
        );
        assert_eq!(MergeText::parse("a{{x}}").unwrap().fallback_text(), None);
    }

    #[test]
    fn profile_language_wins() {
        let profile = profile();
        let requested = LanguageTag::parse("en").unwrap();
        let vars = MergeVars::new(Some("u1"), Some(&profile), Some(&requested));
        assert_eq!(vars.language.unwrap().as_str(), "de-AT");
        let none = Profile::default();
        let vars = MergeVars::new(Some("u1"), Some(&none), Some(&requested));
        assert_eq!(vars.language.unwrap().as_str(), "en");
    }

    #[test]
    fn links_encode_values() {
        let profile = profile();
        let vars = MergeVars::new(Some("u 1"), Some(&profile), None);
        let link = HttpUrl::parse_link(
            "https://a.example/p?n={{firstName|a%20friend}}&c={{city}}&u={{id}}#top",
        )
        .unwrap();
        assert_eq!(
            render_link_query(&link, &vars).unwrap().as_str(),
            "https://a.example/p?n=Ana&c=S%C3%A3o%20Paulo%20%26%20%3Cb%3Ex%3C%2Fb%3E&u=u%201#top"
        );
        let anonymous = MergeVars::default();
        let only_fallback =
            HttpUrl::parse_link("https://a.example/?n={{firstName|a%20friend}}").unwrap();
        assert_eq!(
            render_link_query(&only_fallback, &anonymous)
                .unwrap()
                .as_str(),
            "https://a.example/?n=a%20friend"
        );
        assert_eq!(
            render_link_query(&link, &anonymous).unwrap_err().variable,
            "city"
        );
        let plain = HttpUrl::parse("https://a.example/?a={b}").unwrap();
        assert_eq!(render_link_query(&plain, &anonymous).unwrap(), plain);
    }

    #[test]
    fn split_query_parts() {
        assert_eq!(
            split_query("https://a/p?q=1#f"),
            ("https://a/p?", "q=1", "#f")
        );
        assert_eq!(split_query("https://a/p"), ("https://a/p", "", ""));
        assert_eq!(split_query("https://a/p?q"), ("https://a/p?", "q", ""));
    }
}
