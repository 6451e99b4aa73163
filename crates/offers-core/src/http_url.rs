//! [`HttpUrl`]: an absolute `http`/`https` URL, safe to put in an `href` or `src`.
//!
//! A small strict hand-written parser: `scheme://host[:port][path][?query][#fragment]`,
//! with the scheme `http` or `https` (any case), a host of letters, digits, `-` and `.`
//! (non-ASCII letters allowed for internationalised names) or a bracketed IPv6 literal,
//! and no whitespace, control characters, quotes, angle brackets, backslashes or
//! backticks anywhere.

use crate::newtype::string_newtype;
use crate::reason::reason;
use crate::text::{EMPTY, check_length};

/// The longest URL accepted, in characters.
pub const MAX_URL_CHARS: usize = 2048;

/// The reason given for anything that is not an absolute `http(s)://` URL.
pub const NOT_ABSOLUTE: &str = "must be an absolute http or https URL";
const BAD_HOST: &str = "must have a valid host name";
const BAD_PORT: &str = "port must be a number between 1 and 65535";
const BAD_CHARS: &str =
    "must not contain spaces, quotes, angle brackets, backslashes, backticks or control characters";
const USER_INFO: &str = "must not contain a user name or password";
/// The reason given for a merge tag outside a link's query.
pub const MERGE_OUTSIDE_QUERY: &str =
    "merge tags are only allowed in the link's query (after ?, before #)";

/// An absolute `http://` or `https://` URL (stored as given, trimmed).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct HttpUrl(String);

impl HttpUrl {
    /// Parses an absolute `http`/`https` URL. `javascript:`, `data:`, relative and
    /// scheme-relative (`//host`) URLs are rejected.
    pub fn parse(input: &str) -> Result<Self, String> {
        let url = input.trim();
        if url.is_empty() {
            return Err(reason(EMPTY));
        }
        check_length(url, MAX_URL_CHARS)?;
        let rest = strip_scheme(url).ok_or_else(|| reason(NOT_ABSOLUTE))?;
        let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let (authority, tail) = rest.split_at(authority_end);
        check_authority(authority)?;
        if tail.chars().any(is_forbidden) {
            return Err(reason(BAD_CHARS));
        }
        Ok(Self(url.to_owned()))
    }

    /// Parses an offer's `link`: like [`HttpUrl::parse`], and it may hold merge tags
    /// ([`crate::merge`]) in its query (`https://a.example/?n={{firstName|a%20friend}}`). The
    /// link as written must hold no character a link may not (no spaces, also not inside a
    /// tag: a fallback is written URL-encoded), and is checked with each tag replaced by its
    /// fallback (`x` without one); it is stored as written, and
    /// [`crate::merge::render_link_query`] fills it in per user.
    pub fn parse_link(input: &str) -> Result<Self, String> {
        let url = input.trim();
        if !crate::merge::has_merge_tags(url) {
            return Self::parse(url);
        }
        check_length(url, MAX_URL_CHARS)?;
        if url
            .chars()
            .any(|c| is_forbidden(c) || crate::text::is_bidi_control(c))
        {
            return Err(reason(BAD_CHARS));
        }
        let (head, query, tail) = crate::merge::split_query(url);
        if crate::merge::has_merge_tags(head) || crate::merge::has_merge_tags(tail) {
            return Err(reason(MERGE_OUTSIDE_QUERY));
        }
        let template = crate::merge::MergeText::parse_at(query, head.chars().count())?;
        Self::parse(&format!(
            "{head}{}{tail}",
            crate::merge::example_query(&template)
        ))?;
        Ok(Self(url.to_owned()))
    }

    /// Whether the link holds merge tags (in its query).
    pub fn has_merge_tags(&self) -> bool {
        crate::merge::has_merge_tags(&self.0)
    }

    /// `true` for an `https://` URL.
    pub fn is_https(&self) -> bool {
        self.0
            .get(..8)
            .is_some_and(|s| s.eq_ignore_ascii_case("https://"))
    }

    /// The host (for an IPv6 literal, with its brackets).
    pub fn host(&self) -> &str {
        let rest = strip_scheme(&self.0).unwrap_or_default();
        let authority = &rest[..rest.find(['/', '?', '#']).unwrap_or(rest.len())];
        if authority.starts_with('[') {
            match authority.find(']') {
                Some(end) => &authority[..=end],
                None => authority,
            }
        } else {
            authority.split(':').next().unwrap_or_default()
        }
    }
}

string_newtype!(HttpUrl);

/// Serde for an offer's `link` field: reads through [`HttpUrl::parse_link`] (merge tags in
/// the query), writes the plain string. Use with `#[serde(with = "crate::http_url::link")]`.
pub mod link {
    use serde::{Deserialize, Deserializer, Serializer};

    use super::HttpUrl;

    /// Writes the link as its string.
    pub fn serialize<S: Serializer>(link: &HttpUrl, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(link.as_str())
    }

    /// Reads a link that may hold merge tags in its query.
    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<HttpUrl, D::Error> {
        let raw = String::deserialize(deserializer)?;
        HttpUrl::parse_link(&raw).map_err(serde::de::Error::custom)
    }
}

/// The part after `http://` or `https://` (scheme matched case-insensitively). The scheme ends
/// at the first `:` (neither scheme holds one), which must start `://`: the same answer as
/// splitting at the first `://`, without a substring search in the widget's wasm.
fn strip_scheme(url: &str) -> Option<&str> {
    let (scheme, rest) = url.split_at(url.find(':')?);
    let rest = rest.strip_prefix("://")?;
    (scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("https")).then_some(rest)
}

fn is_forbidden(c: char) -> bool {
    c.is_whitespace() || c.is_control() || matches!(c, '"' | '<' | '>' | '\\' | '`')
}

fn check_authority(authority: &str) -> Result<(), String> {
    if authority.is_empty() {
        return Err(reason(NOT_ABSOLUTE));
    }
    if authority.contains('@') {
        return Err(reason(USER_INFO));
    }
    if authority.chars().any(is_forbidden) {
        return Err(reason(BAD_CHARS));
    }
    let port = if let Some(bracketed) = authority.strip_prefix('[') {
        let (literal, after) = bracketed.split_once(']').ok_or_else(|| reason(BAD_HOST))?;
        if !is_ipv6(literal) {
            return Err(reason(BAD_HOST));
        }
        match after {
            "" => None,
            _ => Some(after.strip_prefix(':').ok_or_else(|| reason(BAD_HOST))?),
        }
    } else {
        let (host, port) = match authority.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        };
        check_host(host)?;
        port
    };
    match port {
        None => Ok(()),
        Some(port) => check_port(port),
    }
}

/// Whether `s` is an IPv6 address as `std::net::Ipv6Addr`'s `FromStr` reads it (up to eight
/// groups of 1–4 hex digits, one `::`, a trailing dotted IPv4), without linking that generic
/// parser into the widget's wasm; the property tests compare the two on any text.
pub fn is_ipv6(s: &str) -> bool {
    let b = s.as_bytes();
    let (head, head_ipv4, mut at) = ipv6_groups(b, 0, 8);
    if head == 8 {
        return at == b.len();
    }
    // A dotted IPv4 ends the address, so `::` cannot follow one; with fewer than eight
    // groups, `::` is required.
    if head_ipv4 || !b[at..].starts_with(b"::") {
        return false;
    }
    (_, _, at) = ipv6_groups(b, at + 2, 8 - (head + 1));
    at == b.len()
}

/// Up to `limit` `:`-separated groups from `at`: how many (a dotted IPv4 counting two),
/// whether the last was an IPv4, and where they end.
fn ipv6_groups(b: &[u8], mut at: usize, limit: usize) -> (usize, bool, usize) {
    for i in 0..limit {
        let separated = |pos: usize| match (i, b.get(pos)) {
            (0, _) => Some(pos),
            (_, Some(b':')) => Some(pos + 1),
            _ => None,
        };
        if i + 1 < limit
            && let Some(end) = separated(at).and_then(|pos| ipv4(b, pos))
        {
            return (i + 2, true, end);
        }
        match separated(at).and_then(|pos| number(b, pos, 16, 4, 0xffff, true)) {
            Some(end) => at = end,
            None => return (i, false, at),
        }
    }
    (limit, false, at)
}

/// Four `.`-separated decimal octets from `pos` (no leading zeros), as std reads them.
fn ipv4(b: &[u8], mut pos: usize) -> Option<usize> {
    for i in 0..4 {
        if i > 0 {
            (b.get(pos) == Some(&b'.')).then_some(())?;
            pos += 1;
        }
        pos = number(b, pos, 10, 3, 255, false)?;
    }
    Some(pos)
}

/// 1 to `max_digits` digits in `radix` from `pos`, at most `max_value` (std's `read_number`).
fn number(
    b: &[u8],
    start: usize,
    radix: u32,
    max_digits: usize,
    max_value: u32,
    zero_prefix: bool,
) -> Option<usize> {
    let mut pos = start;
    let mut value = 0u32;
    while let Some(digit) = b.get(pos).and_then(|&c| char::from(c).to_digit(radix)) {
        value = value * radix + digit;
        pos += 1;
        if pos - start > max_digits || value > max_value {
            return None;
        }
    }
    let digits = pos - start;
    let leading_zero = !zero_prefix && digits > 1 && b[start] == b'0';
    (digits > 0 && !leading_zero).then_some(pos)
}

/// The non-ASCII characters the browser's IDNA processing turns into (or into text holding)
/// a `.`, `/`, `:`, `?`, `#`, `@`, `\`, `[`, `]` or `%`: Unicode 14's NFKC mappings (dot
/// leaders, `℀`, `⒈`, small, vertical and fullwidth forms, …) and UTS 46's other full stops
/// (`。`, `｡`). A host holding one would not be the host it reads as. Ranges, inclusive, in
/// order.
const URL_PUNCTUATION_LOOKALIKES: [(char, char); 28] = [
    ('\u{2024}', '\u{2026}'),
    ('\u{2047}', '\u{2049}'),
    ('\u{2100}', '\u{2101}'),
    ('\u{2105}', '\u{2106}'),
    ('\u{2488}', '\u{249B}'),
    ('\u{2A74}', '\u{2A74}'),
    ('\u{3002}', '\u{3002}'),
    ('\u{33C2}', '\u{33C2}'),
    ('\u{33C7}', '\u{33C7}'),
    ('\u{33D8}', '\u{33D8}'),
    ('\u{FE13}', '\u{FE13}'),
    ('\u{FE16}', '\u{FE16}'),
    ('\u{FE19}', '\u{FE19}'),
    ('\u{FE30}', '\u{FE30}'),
    ('\u{FE47}', '\u{FE48}'),
    ('\u{FE52}', '\u{FE52}'),
    ('\u{FE55}', '\u{FE56}'),
    ('\u{FE5F}', '\u{FE5F}'),
    ('\u{FE68}', '\u{FE68}'),
    ('\u{FE6A}', '\u{FE6B}'),
    ('\u{FF03}', '\u{FF03}'),
    ('\u{FF05}', '\u{FF05}'),
    ('\u{FF0E}', '\u{FF0F}'),
    ('\u{FF1A}', '\u{FF1A}'),
    ('\u{FF1F}', '\u{FF20}'),
    ('\u{FF3B}', '\u{FF3D}'),
    ('\u{FF61}', '\u{FF61}'),
    ('\u{1F100}', '\u{1F100}'),
];

/// Whether `c` may be in a host name: an ASCII letter, digit, `-` or `.`; or, for an
/// international name, any other character an IRI may hold ([`is_iri_char`]) that draws
/// something (not [`crate::text::is_invisible`]: no spaces, zero-width or reordering
/// characters) and that the browser would not turn into URL punctuation
/// ([`URL_PUNCTUATION_LOOKALIKES`]). Which international names resolve is the browser's IDNA
/// processing's to say; this needs no Unicode tables in the widget's wasm
/// (`char::is_alphanumeric`'s are ~1.7 KB brotli).
fn is_host_char(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_alphanumeric() || c == '-' || c == '.';
    }
    is_iri_char(c)
        && !crate::text::is_invisible(c)
        && !URL_PUNCTUATION_LOOKALIKES
            .iter()
            .any(|&(first, last)| (first..=last).contains(&c))
}

/// Whether `c` is a `ucschar` of RFC 3987 (the non-ASCII characters an IRI may hold outside
/// its query): not a control, private-use character or noncharacter.
fn is_iri_char(c: char) -> bool {
    let c = u32::from(c);
    match c {
        0xA0..=0xD7FF | 0xF900..=0xFDCF | 0xFDF0..=0xFFEF => true,
        0x1_0000..=0xE_FFFF => c & 0xFFFF <= 0xFFFD && !(0xE_0000..=0xE_0FFF).contains(&c),
        _ => false,
    }
}

fn check_host(host: &str) -> Result<(), String> {
    if host.is_empty() || !host.chars().all(is_host_char) || host.split('.').any(str::is_empty) {
        return Err(reason(BAD_HOST));
    }
    Ok(())
}

fn check_port(port: &str) -> Result<(), String> {
    match crate::text::parse_digits(port) {
        Some(n) if port.len() <= 5 && (1..=65_535).contains(&n) => Ok(()),
        _ => Err(reason(BAD_PORT)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(not(target_arch = "wasm32"))]
    proptest::proptest! {
        #[test]
        fn the_scheme_is_what_precedes_the_first_separator(
            text in "(https?|HTTPS?|ftp|a:b|)(:|://|:/)?(:|//|[a-z.:/]){0,10}"
        ) {
            let split = text.split_once("://").and_then(|(scheme, rest)| {
                (scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("https"))
                    .then_some(rest)
            });
            proptest::prop_assert_eq!(strip_scheme(&text), split, "{:?}", text);
        }

        /// For ASCII hosts the rule is what it was with `char::is_alphanumeric`.
        #[test]
        fn ascii_hosts_follow_the_ascii_rule(host in "[ -~]{0,12}") {
            let before = !host.is_empty()
                && host.chars().all(|c| c.is_alphanumeric() || c == '-' || c == '.')
                && !host.split('.').any(str::is_empty);
            proptest::prop_assert_eq!(check_host(&host).is_ok(), before, "{:?}", host);
        }
    }

    #[test]
    fn the_lookalike_ranges_are_in_order_and_apart() {
        for pair in URL_PUNCTUATION_LOOKALIKES.windows(2) {
            assert!(pair[0].0 <= pair[0].1 && pair[0].1 < pair[1].0, "{pair:?}");
        }
    }

    #[test]
    fn accepts_http_and_https() {
        for ok in [
            "https://www.watchers.io/",
            "http://example.com",
            "HTTPS://Example.COM/Path?q=1&r=2#frag",
            "https://watchers.io/_next/static/media/hand-03.16265125.webp",
            "https://example.com:8443/a/b",
            "http://localhost:1",
            "http://127.0.0.1:65535/",
            "https://[::1]/x",
            "https://[2001:db8::1]:8080",
            "https://bücher.example/straße",
            "https://例え.テスト/",
            "https://i❤.ws/",
            "https://ｅｘａｍｐｌｅ.com/",
            "https://佐々木.jp/",
            "https://example.com?only=query",
            "https://example.com#only-fragment",
            "https://example.com/%20encoded",
        ] {
            let url = HttpUrl::parse(ok).unwrap_or_else(|e| panic!("{ok}: {e}"));
            assert_eq!(url.as_str(), ok);
        }
    }

    #[test]
    fn stores_trimmed_input() {
        assert_eq!(
            HttpUrl::parse("  https://a.example/  ").unwrap().as_str(),
            "https://a.example/"
        );
    }

    #[test]
    fn rejects_other_schemes_and_relative_urls() {
        for bad in [
            "javascript:alert(1)",
            "JavaScript://example.com/%0aalert(1)",
            "data:text/html,<script>alert(1)</script>",
            "ftp://example.com/",
            "//example.com/path",
            "/relative/path",
            "example.com",
            "https:/example.com",
            "https:example.com",
            "https://",
            "http:///path",
            "mailto:a@example.com",
            "vbscript:msgbox",
            " javascript:alert('http://x')",
        ] {
            assert_eq!(HttpUrl::parse(bad).unwrap_err(), NOT_ABSOLUTE, "{bad}");
        }
    }

    #[test]
    fn rejects_bad_hosts_ports_and_characters() {
        assert_eq!(HttpUrl::parse("").unwrap_err(), "must not be empty");
        assert_eq!(
            HttpUrl::parse("https://exa_mple.com").unwrap_err(),
            BAD_HOST
        );
        assert_eq!(
            HttpUrl::parse("https://.example.com").unwrap_err(),
            BAD_HOST
        );
        assert_eq!(HttpUrl::parse("https://a..b").unwrap_err(), BAD_HOST);
        // Invisible, reordering and URL-punctuation lookalike characters (which the browser
        // would read as `/`, `.`, `@`, …) are not part of a host.
        for host in [
            "a\u{200B}b.example",
            "a\u{202E}b.example",
            "evil.example\u{FF0F}good.example",
            "evil.example\u{FF20}good.example",
            "a\u{3002}example",
            "a\u{2488}example",
            "a\u{2024}example",
            "a\u{2100}example",
            "a\u{E000}example",
            "a\u{FFFE}example",
            "a\u{10FFFF}example",
        ] {
            assert_eq!(
                HttpUrl::parse(&format!("https://{host}/")).unwrap_err(),
                BAD_HOST,
                "{host:?}"
            );
        }
        assert_eq!(HttpUrl::parse("https://[nothex]/").unwrap_err(), BAD_HOST);
        assert_eq!(HttpUrl::parse("https://[::1/").unwrap_err(), BAD_HOST);
        assert_eq!(HttpUrl::parse("https://[::1]x/").unwrap_err(), BAD_HOST);
        assert_eq!(HttpUrl::parse("https://:80/").unwrap_err(), BAD_HOST);
        assert_eq!(HttpUrl::parse("https://a.com:0/").unwrap_err(), BAD_PORT);
        assert_eq!(
            HttpUrl::parse("https://a.com:65536/").unwrap_err(),
            BAD_PORT
        );
        assert_eq!(HttpUrl::parse("https://a.com:/").unwrap_err(), BAD_PORT);
        assert_eq!(HttpUrl::parse("https://a.com:+80/").unwrap_err(), BAD_PORT);
        assert_eq!(HttpUrl::parse("https://a.com:8a/").unwrap_err(), BAD_PORT);
        assert_eq!(HttpUrl::parse("https://a.com:1:2/").unwrap_err(), BAD_PORT);
        assert_eq!(
            HttpUrl::parse("https://user:pw@a.com/").unwrap_err(),
            USER_INFO
        );
        for bad in [
            "https://a.com/a b",
            "https://a.com/\"onmouseover=\"alert(1)",
            "https://a.com/<script>",
            "https://a.com/a\\b",
            "https://a.com/`x`",
            "https://a.com/\u{0}",
            "https://a.com/x\ty",
            "https://a .com/",
            "https://a.com\\@evil.com/",
        ] {
            assert!(HttpUrl::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(HttpUrl::parse("https://a.com/a b").unwrap_err(), BAD_CHARS);
    }

    #[test]
    fn length_limit() {
        let base = "https://example.com/";
        let ok = format!("{base}{}", "a".repeat(MAX_URL_CHARS - base.len()));
        assert!(HttpUrl::parse(&ok).is_ok());
        let too_long = format!("{ok}a");
        assert_eq!(
            HttpUrl::parse(&too_long).unwrap_err(),
            "at most 2048 characters (got 2049)"
        );
    }

    #[test]
    fn links_with_merge_tags() {
        for ok in [
            "https://a.example/?n={{firstName|there}}",
            "https://a.example/p?n={{firstName|a%20friend}}&id={{id}}#top",
            "https://a.example/?l={{language}}",
        ] {
            assert_eq!(HttpUrl::parse_link(ok).unwrap().as_str(), ok);
            assert!(HttpUrl::parse_link(ok).unwrap().has_merge_tags());
        }
        assert_eq!(
            HttpUrl::parse_link("https://a.example/{{id}}").unwrap_err(),
            MERGE_OUTSIDE_QUERY
        );
        assert_eq!(
            HttpUrl::parse_link("https://a.example/?a#{{id}}").unwrap_err(),
            MERGE_OUTSIDE_QUERY
        );
        assert_eq!(
            HttpUrl::parse_link("https://a.example/?n={{firstName").unwrap_err(),
            "unclosed merge tag at character 22"
        );
        assert!(HttpUrl::parse_link("https://a.example/?n={{first name}}").is_err());
        assert_eq!(
            HttpUrl::parse_link("https://a.example/?n={{firstName|a friend}}").unwrap_err(),
            BAD_CHARS
        );
        assert_eq!(
            HttpUrl::parse_link("https://a.example/?n={{ id }}").unwrap_err(),
            BAD_CHARS
        );
        assert!(HttpUrl::parse_link("https://a.example/?n={{id|<x>}}").is_err());
        assert!(HttpUrl::parse_link("javascript:x?{{id}}").is_err());
        assert!(HttpUrl::parse_link("https://a.example/ x?{{id}}").is_err());
        assert!(HttpUrl::parse_link("https://a.example/?{{a|\u{7}}}").is_err());
        assert!(HttpUrl::parse_link("https://a.example/?{{a|\u{202E}}}").is_err());
        assert_eq!(
            HttpUrl::parse_link(" https://a.example/ ")
                .unwrap()
                .as_str(),
            "https://a.example/"
        );
    }

    #[test]
    fn accessors() {
        let url = HttpUrl::parse("HTTPS://Example.com:8080/a").unwrap();
        assert!(url.is_https());
        assert_eq!(url.host(), "Example.com");
        assert!(!HttpUrl::parse("http://a.b").unwrap().is_https());
        assert_eq!(HttpUrl::parse("http://[::1]:80/").unwrap().host(), "[::1]");
    }
}
