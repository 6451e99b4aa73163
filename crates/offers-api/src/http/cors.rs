//! CORS of the widget endpoints (`/widget/v1/*`), per project.
//!
//! The widget runs on the host's page, so its calls are cross-origin. A response carries
//! `Access-Control-Allow-Origin: <the request's Origin>` unless the handler marked it
//! [`CorsDenied`] (the project lists `allowedOrigins` and this origin is not among them).
//! Preflights (`OPTIONS`) are answered here for every origin: the project is only known from
//! the query or the body of the real request, which is where the decision is made.

use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::store::Project;

/// Marks a response whose origin the project does not allow (no `Access-Control-Allow-Origin`):
/// the feed's (which still answers, so the widget's host sees nothing), and every
/// [`crate::error::ApiError::OriginNotAllowed`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct CorsDenied;

/// The middleware of the widget API routes.
pub(crate) async fn widget_cors(req: Request, next: Next) -> Response {
    let origin = req.headers().get(header::ORIGIN).cloned();
    if req.method() == Method::OPTIONS {
        return preflight(origin, req.headers());
    }
    let mut response = next.run(req).await;
    let denied = response.extensions().get::<CorsDenied>().is_some();
    let headers = response.headers_mut();
    if let Some(origin) = origin
        && !denied
    {
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        headers.insert(
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
            HeaderValue::from_static("ETag, Retry-After, Offers-Identity"),
        );
    }
    headers.append(header::VARY, HeaderValue::from_static("Origin"));
    response
}

fn preflight(origin: Option<HeaderValue>, request: &HeaderMap) -> Response {
    let mut response = StatusCode::NO_CONTENT.into_response();
    let headers = response.headers_mut();
    if let Some(origin) = origin {
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
    }
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("GET, POST, OPTIONS"),
    );
    let allow_headers = request
        .get(header::ACCESS_CONTROL_REQUEST_HEADERS)
        .cloned()
        .unwrap_or_else(|| HeaderValue::from_static("content-type, if-none-match, last-event-id"));
    headers.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, allow_headers);
    headers.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from_static("600"),
    );
    headers.insert(
        header::VARY,
        HeaderValue::from_static("Origin, Access-Control-Request-Headers"),
    );
    response
}

/// `scheme://host[:port]`, lowercased, default port dropped, for comparison and storage;
/// `None` unless an `http`/`https` origin without path, query, user info or fragment
/// (a single trailing `/` is tolerated).
pub(crate) fn normalize_origin(raw: &str) -> Option<String> {
    let raw = raw.trim();
    let raw = raw.strip_suffix('/').unwrap_or(raw);
    let (scheme, rest) = raw.split_once("://")?;
    let scheme = scheme.to_ascii_lowercase();
    let default_port = match scheme.as_str() {
        "https" => "443",
        "http" => "80",
        _ => return None,
    };
    if rest.is_empty() || rest.contains(['/', '?', '#', '@', ' ']) || !rest.is_ascii() {
        return None;
    }
    let rest = rest.to_ascii_lowercase();
    let (host, port) = match rest.rsplit_once(':') {
        // `[::1]:8080` and `host:8080`, but not the colons inside `[::1]`.
        Some((host, port)) if !port.contains(']') => (host.to_owned(), Some(port.to_owned())),
        _ => (rest.clone(), None),
    };
    if host.is_empty() {
        return None;
    }
    match port {
        Some(p) if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) => None,
        Some(p) if p == default_port => Some(format!("{scheme}://{host}")),
        Some(p) => Some(format!("{scheme}://{host}:{p}")),
        None => Some(format!("{scheme}://{host}")),
    }
}

/// Whether the project lets `origin` call its widget endpoints: any origin when its list is
/// empty, otherwise a listed one; a request without `Origin` (not from a browser) always.
pub(crate) fn origin_allowed(project: &Project, origin: Option<&HeaderValue>) -> bool {
    if project.allowed_origins.is_empty() {
        return true;
    }
    let Some(origin) = origin else {
        return true;
    };
    let Some(origin) = origin.to_str().ok().and_then(normalize_origin) else {
        return false;
    };
    project.allowed_origins.contains(&origin)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_normalize() {
        assert_eq!(
            normalize_origin("HTTPS://App.Example/").as_deref(),
            Some("https://app.example")
        );
        assert_eq!(
            normalize_origin("https://app.example:443").as_deref(),
            Some("https://app.example")
        );
        assert_eq!(
            normalize_origin("http://localhost:8080").as_deref(),
            Some("http://localhost:8080")
        );
        assert_eq!(
            normalize_origin("http://[::1]:3000").as_deref(),
            Some("http://[::1]:3000")
        );
        assert_eq!(
            normalize_origin("http://[::1]").as_deref(),
            Some("http://[::1]")
        );
        for bad in [
            "",
            "app.example",
            "ftp://app.example",
            "https://app.example/path",
            "https://user@app.example",
            "https://app.example:x",
            "https://",
            "null",
        ] {
            assert_eq!(normalize_origin(bad), None, "{bad}");
        }
    }
}
