//! Request bodies and query strings, read once here and turned into [`ApiError`]s in our shape.
//!
//! Offer bodies come as `multipart/form-data` (the documented curl `--form` examples: every
//! field a text part), `application/x-www-form-urlencoded`, or `application/json`. Anything
//! else, including no body at all (the documented curl examples lack a `\` after the
//! Authorization header, so a copied command sends none), is a 415 saying what we accept.
//!
//! Every format refuses the same things, naming the field: bytes that are not UTF-8 (422 in a
//! form, 400 in JSON, whose syntax requires UTF-8), a field given twice (422: a repeated part or
//! pair, or a repeated JSON key, see [`offers_core::strict_json`]) and a number out of range
//! (422). Before any handler, [`request_guard`] checks every request's size and query string:
//! a request target over [`MAX_REQUEST_TARGET_BYTES`] is a 414, headers over
//! [`MAX_HEADER_BYTES`] a 431, a query parameter that is not UTF-8 a 400, each naming what it
//! can.

use axum::extract::{FromRequest, Multipart, Request};
use axum::http::header::CONTENT_TYPE;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use offers_core::OfferDraft;
use offers_core::limits::{
    MAX_HEADER_BYTES, MAX_REQUEST_TARGET_BYTES, ROOM_ID_MAX_CHARS, USER_ID_MAX_CHARS,
};
use offers_core::strict_json::{self, OUT_OF_RANGE, REPEATED, StrictJsonError};
use serde_json::Value;

use crate::error::{ApiError, Fields};

/// How a body was sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BodyKind {
    Json,
    UrlEncoded,
    Multipart,
    /// `text/csv` or `text/plain` (registry uploads only).
    Text,
}

/// The media type of a request without parameters, lowercased (`multipart/form-data`).
pub(crate) fn media_type(req: &Request) -> Option<String> {
    media_type_of(req.headers())
}

/// The media type in `headers`, without parameters, lowercased.
pub(crate) fn media_type_of(headers: &axum::http::HeaderMap) -> Option<String> {
    headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase()
        })
}

/// Classifies a media type.
pub(crate) fn body_kind(media_type: &str) -> Option<BodyKind> {
    match media_type {
        "application/json" => Some(BodyKind::Json),
        t if t.starts_with("application/") && t.ends_with("+json") => Some(BodyKind::Json),
        "application/x-www-form-urlencoded" => Some(BodyKind::UrlEncoded),
        "multipart/form-data" => Some(BodyKind::Multipart),
        "text/csv" | "text/plain" | "application/csv" => Some(BodyKind::Text),
        _ => None,
    }
}

/// A body read into either a JSON value, text form fields, or raw text.
#[derive(Debug, Clone)]
pub(crate) enum RawBody {
    Json(Value),
    Fields(Vec<(String, String)>),
    Text(String),
}

/// A multipart part that was not UTF-8 text (a file upload).
const NOT_TEXT: &str = "must be a text value (file uploads are not accepted here; send a URL)";

/// Reads the body according to its content type. `allow_text` admits `text/csv` / `text/plain`.
pub(crate) async fn read_body<S: Send + Sync>(
    req: Request,
    state: &S,
    allow_text: bool,
    accepted: &str,
) -> Result<RawBody, ApiError> {
    let media = media_type(&req);
    let kind = media.as_deref().and_then(body_kind);
    match kind {
        Some(BodyKind::Json) => {
            let bytes = Bytes::from_request(req, state).await?;
            parse_json(&bytes).map(RawBody::Json)
        }
        Some(BodyKind::UrlEncoded) => {
            let bytes = Bytes::from_request(req, state).await?;
            parse_urlencoded(&bytes)
                .map(RawBody::Fields)
                .map_err(ApiError::Validation)
        }
        Some(BodyKind::Multipart) => {
            let mut multipart = Multipart::from_request(req, state).await.map_err(|r| {
                ApiError::bad_request(format!("malformed multipart body: {}", r.body_text()))
            })?;
            let mut fields = Vec::new();
            let mut bad = Fields::new();
            while let Some(field) = multipart.next_field().await? {
                let name = field.name().unwrap_or_default().to_owned();
                let data = field.bytes().await?;
                match String::from_utf8(data.to_vec()) {
                    Ok(text) => fields.push((name, text)),
                    Err(_) => {
                        bad.insert(name, NOT_TEXT.to_owned());
                    }
                }
            }
            if !bad.is_empty() {
                return Err(ApiError::Validation(bad));
            }
            Ok(RawBody::Fields(fields))
        }
        Some(BodyKind::Text) if allow_text => {
            let bytes = Bytes::from_request(req, state).await?;
            String::from_utf8(bytes.to_vec())
                .map(RawBody::Text)
                .map_err(|e| {
                    ApiError::bad_request(format!(
                        "the body is not UTF-8 text (invalid byte at offset {})",
                        e.utf8_error().valid_up_to()
                    ))
                })
        }
        _ => {
            let got = match media.as_deref() {
                Some(ct) if !ct.is_empty() => format!("got `{ct}`"),
                _ => "no Content-Type header (is the body missing?)".to_owned(),
            };
            Err(ApiError::UnsupportedMediaType(format!(
                "send the body as {accepted}; {got}"
            )))
        }
    }
}

/// A urlencoded pair whose name or value is not UTF-8 once percent-decoded.
const NOT_UTF8: &str = "must be UTF-8 text (its percent-encoded bytes are not valid UTF-8)";

/// One side of a urlencoded pair, `+` as space, percent-decoded; `Err` (the lossy text) when
/// the bytes are not UTF-8.
fn decode_component(raw: &[u8]) -> Result<String, String> {
    let plus_as_space: Vec<u8> = raw
        .iter()
        .map(|&b| if b == b'+' { b' ' } else { b })
        .collect();
    let bytes: Vec<u8> = percent_encoding::percent_decode(&plus_as_space).collect();
    String::from_utf8(bytes).map_err(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// The `name=value` pairs of an `application/x-www-form-urlencoded` text (a body or a query
/// string), decoded strictly: every name and value must be UTF-8, or it is an error naming
/// the pair (by its name, lossily decoded when the name itself is not UTF-8).
pub(crate) fn parse_urlencoded(input: &[u8]) -> Result<Vec<(String, String)>, Fields> {
    let mut pairs = Vec::new();
    let mut bad = Fields::new();
    for piece in input.split(|&b| b == b'&').filter(|p| !p.is_empty()) {
        let (name, value) = match piece.iter().position(|&b| b == b'=') {
            Some(at) => (&piece[..at], &piece[at + 1..]),
            None => (piece, &b""[..]),
        };
        match (decode_component(name), decode_component(value)) {
            (Ok(name), Ok(value)) => pairs.push((name, value)),
            (Ok(name) | Err(name), _) => {
                bad.insert(name, NOT_UTF8.to_owned());
            }
        }
    }
    if bad.is_empty() { Ok(pairs) } else { Err(bad) }
}

/// Parses a JSON body (strictly, [`strict_json`]). A syntax error is a 400 naming the line and
/// column (and the field it was in, when inside one); a repeated key or a number out of range
/// is a 422 naming the field.
pub(crate) fn parse_json(bytes: &[u8]) -> Result<Value, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::bad_request("the JSON body is empty"));
    }
    strict_json::parse(bytes).map_err(|e| match e {
        StrictJsonError::Repeated(paths) => ApiError::Validation(
            paths
                .into_iter()
                .map(|path| (path, REPEATED.to_owned()))
                .collect(),
        ),
        StrictJsonError::OutOfRange { field: Some(field) } => {
            ApiError::invalid_field(&field, OUT_OF_RANGE)
        }
        StrictJsonError::OutOfRange { field: None } => {
            ApiError::bad_request(format!("malformed JSON body: {OUT_OF_RANGE}"))
        }
        StrictJsonError::Syntax {
            message,
            line,
            column,
            field,
        } => {
            let text = format!("malformed JSON body: {message} (line {line}, column {column})");
            ApiError::BadRequest {
                fields: field.map(|f| Fields::from([(f, message)])),
                message: text,
            }
        }
    })
}

/// The reason for a query parameter that makes the request target too long.
fn overlong_reason(name: &str, value: &str, encoded_len: usize) -> String {
    let max = match name {
        "room" => Some(ROOM_ID_MAX_CHARS),
        "user" => Some(USER_ID_MAX_CHARS),
        _ => None,
    };
    match max {
        Some(max) if value.chars().count() > max => {
            format!("at most {max} characters (got {})", value.chars().count())
        }
        _ => format!(
            "{encoded_len} bytes encoded: the whole request target may have at most \
             {MAX_REQUEST_TARGET_BYTES} bytes"
        ),
    }
}

/// The 414 for a request target of `len` bytes: names every query parameter longer than an
/// eighth of the limit (the ones that made it long), or none when the path itself is long.
fn uri_too_long(query: Option<&str>, len: usize) -> ApiError {
    let mut fields = Fields::new();
    for piece in query.unwrap_or_default().split('&') {
        let (name, value) = piece.split_once('=').unwrap_or((piece, ""));
        if piece.len() > MAX_REQUEST_TARGET_BYTES / 8 {
            let name = String::from_utf8_lossy(
                &percent_encoding::percent_decode_str(name).collect::<Vec<u8>>(),
            )
            .into_owned();
            let value = String::from_utf8_lossy(
                &percent_encoding::percent_decode_str(value).collect::<Vec<u8>>(),
            )
            .into_owned();
            let reason = overlong_reason(&name, &value, piece.len());
            fields.insert(name, reason);
        }
    }
    let message = format!(
        "the request target is {len} bytes; at most {MAX_REQUEST_TARGET_BYTES} are accepted"
    );
    ApiError::UriTooLong {
        message,
        fields: (!fields.is_empty()).then_some(fields),
    }
}

/// Refuses, before any handler, what no handler should have to read: a request target over
/// [`MAX_REQUEST_TARGET_BYTES`] (414), headers over [`MAX_HEADER_BYTES`] (431, naming the
/// largest), and a query string with a parameter that is not UTF-8 once decoded (400 naming
/// it). Limits beyond these (hyper's own: a request target of 64 KiB, a head of about 400 KB,
/// 100 headers) are answered by hyper with a bare status.
pub(crate) async fn request_guard(req: Request, next: Next) -> Response {
    let target = req.uri().path_and_query().map_or(0, |p| p.as_str().len());
    if target > MAX_REQUEST_TARGET_BYTES {
        return uri_too_long(req.uri().query(), target).into_response();
    }
    let header_bytes: usize = req
        .headers()
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len() + 4)
        .sum();
    if header_bytes > MAX_HEADER_BYTES {
        let largest = req
            .headers()
            .iter()
            .max_by_key(|(name, value)| name.as_str().len() + value.len())
            .map(|(name, value)| (name.as_str().to_owned(), value.len()));
        let fields = largest
            .into_iter()
            .map(|(name, len)| (name, format!("{len} bytes")))
            .collect();
        return ApiError::HeadersTooLarge {
            message: format!(
                "the request headers are {header_bytes} bytes; at most {MAX_HEADER_BYTES} are accepted"
            ),
            fields,
        }
        .into_response();
    }
    if let Some(query) = req.uri().query()
        && let Err(bad) = parse_urlencoded(query.as_bytes())
    {
        return match bad_params(bad) {
            Err(e) => e.into_response(),
            Ok(()) => ApiError::bad_request("malformed query string").into_response(),
        };
    }
    next.run(req).await
}

/// An offer (or a partial offer, for PATCH) as sent, not yet validated.
#[derive(Debug, Clone)]
pub(crate) struct OfferBody(pub OfferDraft);

impl<S: Send + Sync> FromRequest<S> for OfferBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let body = read_body(req, state, false, crate::error::ACCEPTED_BODY_TYPES).await?;
        let draft = match body {
            RawBody::Json(value @ Value::Object(_)) => serde_json::from_value(value)
                .map_err(|e| ApiError::bad_request(format!("malformed offer: {e}")))?,
            RawBody::Json(_) => {
                return Err(ApiError::bad_request(
                    "the JSON body must be an object of offer fields",
                ));
            }
            RawBody::Fields(fields) => OfferDraft::from_form_fields(fields)?,
            RawBody::Text(_) => {
                return Err(ApiError::unsupported_body(Some("text/plain")));
            }
        };
        Ok(Self(draft))
    }
}

/// `limit` and `offset` of a list call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Page {
    pub limit: i64,
    pub offset: i64,
}

/// Default and maximum page sizes.
pub(crate) const DEFAULT_LIMIT: i64 = 20;
pub(crate) const MAX_LIMIT: i64 = 100;

/// The value of `name` in a raw query string (the last one wins), percent-decoded.
pub(crate) fn query_param(query: Option<&str>, name: &str) -> Option<String> {
    form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .filter(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
        .last()
}

/// The reason given for a bad `utcOffset`.
pub(crate) const UTC_OFFSET_REASON: &str = "must be minutes east of UTC, an integer from -1080 to 1080 (e.g. 180 for UTC+3; \
     JavaScript: -new Date().getTimezoneOffset())";

/// `utcOffset`: minutes east of UTC, within ±18 h.
pub(crate) fn parse_utc_offset(raw: &str) -> Result<i32, String> {
    let max = offers_core::frequency::MAX_UTC_OFFSET_MINUTES;
    raw.trim()
        .parse::<i32>()
        .ok()
        .filter(|m| (-max..=max).contains(m))
        .ok_or_else(|| UTC_OFFSET_REASON.to_owned())
}

/// A 400 naming every parameter in `bad` (none: `Ok`).
pub(crate) fn bad_params(bad: Fields) -> Result<(), ApiError> {
    if bad.is_empty() {
        return Ok(());
    }
    let names: Vec<_> = bad.keys().map(|k| format!("`{k}`")).collect();
    let message = if names.len() == 1 {
        format!("invalid parameter {}", names[0])
    } else {
        format!("invalid parameters {}", names.join(", "))
    };
    Err(ApiError::BadRequest {
        message,
        fields: Some(bad),
    })
}

/// A non-negative integer parameter; too large to fit saturates (a huge offset is just "past
/// the end"). Negative or non-numeric is a 400 naming the parameter.
fn non_negative(name: &str, raw: &str) -> Result<i64, ApiError> {
    let raw = raw.trim();
    if raw.is_empty() || !raw.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ApiError::bad_param(name, "must be a non-negative integer"));
    }
    Ok(raw.parse::<i64>().unwrap_or(i64::MAX))
}

impl Page {
    /// Parses `limit` (default 20, at most 100) and `offset` (default 0).
    pub(crate) fn from_query(query: Option<&str>) -> Result<Page, ApiError> {
        let limit = match query_param(query, "limit") {
            Some(raw) => non_negative("limit", &raw),
            None => Ok(DEFAULT_LIMIT),
        };
        let offset = match query_param(query, "offset") {
            Some(raw) => non_negative("offset", &raw),
            None => Ok(0),
        };
        match (limit, offset) {
            (Ok(limit), Ok(offset)) => Ok(Page {
                limit: limit.min(MAX_LIMIT),
                offset,
            }),
            (Err(a), Err(b)) => Err(merge_bad_params(a, b)),
            (Err(e), _) | (_, Err(e)) => Err(e),
        }
    }
}

fn merge_bad_params(a: ApiError, b: ApiError) -> ApiError {
    let mut all = Fields::new();
    for e in [a, b] {
        if let ApiError::BadRequest {
            fields: Some(f), ..
        } = e
        {
            all.extend(f);
        }
    }
    let names: Vec<_> = all.keys().map(|k| format!("`{k}`")).collect();
    ApiError::BadRequest {
        message: format!("invalid parameters {}", names.join(", ")),
        fields: Some(all),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages() {
        assert_eq!(
            Page::from_query(None).unwrap(),
            Page {
                limit: 20,
                offset: 0
            }
        );
        assert_eq!(
            Page::from_query(Some("limit=500&offset=3")).unwrap(),
            Page {
                limit: 100,
                offset: 3
            }
        );
        assert_eq!(
            Page::from_query(Some("offset=99999999999999999999999"))
                .unwrap()
                .offset,
            i64::MAX
        );
        for bad in ["limit=-1", "limit=abc", "limit=", "offset=-5", "limit=1.5"] {
            assert!(Page::from_query(Some(bad)).is_err(), "{bad}");
        }
        match Page::from_query(Some("limit=x&offset=y")) {
            Err(ApiError::BadRequest {
                fields: Some(f), ..
            }) => assert_eq!(f.len(), 2),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn utc_offsets() {
        assert_eq!(parse_utc_offset("180"), Ok(180));
        assert_eq!(parse_utc_offset(" -330 "), Ok(-330));
        assert_eq!(parse_utc_offset("1080"), Ok(1080));
        for bad in ["1081", "-1081", "3.5", "", "UTC+3"] {
            assert!(parse_utc_offset(bad).is_err(), "{bad}");
        }
        assert!(bad_params(Fields::new()).is_ok());
    }

    #[test]
    fn kinds() {
        assert_eq!(body_kind("application/json"), Some(BodyKind::Json));
        assert_eq!(
            body_kind("application/merge-patch+json"),
            Some(BodyKind::Json)
        );
        assert_eq!(body_kind("multipart/form-data"), Some(BodyKind::Multipart));
        assert_eq!(body_kind("text/html"), None);
    }

    proptest::proptest! {
        #[test]
        fn page_parsing_never_panics_and_stays_in_bounds(query in ".{0,60}") {
            if let Ok(page) = Page::from_query(Some(&query)) {
                proptest::prop_assert!((0..=MAX_LIMIT).contains(&page.limit));
                proptest::prop_assert!(page.offset >= 0);
            }
        }

        #[test]
        fn negative_numbers_name_their_parameter(n in 1i64..i64::MAX) {
            let err = Page::from_query(Some(&format!("offset=-{n}"))).unwrap_err();
            match err {
                ApiError::BadRequest { fields: Some(f), .. } => proptest::prop_assert!(f.contains_key("offset")),
                other => proptest::prop_assert!(false, "{other:?}"),
            }
        }
    }
}
