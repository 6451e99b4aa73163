//! Static files and pages: the widget bundle (`/widget/*`), the Studio (`/studio/`), the demo
//! host page (`/demo/`), the root redirect and `/healthz`.

use std::path::Path;

use axum::extract::{OriginalUri, RawQuery, Request, State};
use axum::handler::HandlerWithoutStateExt;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Json, Router};
use tower::ServiceBuilder;
use tower_http::services::{ServeDir, ServeFile};

use offers_core::api::{ErrorBody, Health};

use crate::error::ApiError;
use crate::http::body::query_param;
use crate::state::AppState;

/// `Cache-Control` of content-hashed files.
pub const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// `Cache-Control` of everything else (the loader `offers.js`, `index.html`).
pub const NO_CACHE: &str = "no-cache";

/// The routes of this module.
pub fn router(state: &AppState) -> Router<AppState> {
    let widget = ServeDir::new(state.widget_dir())
        .precompressed_br()
        .precompressed_gzip()
        .not_found_service(static_not_found.into_service());
    let studio_dir = state.studio_dir().to_path_buf();
    let studio = ServeDir::new(&studio_dir)
        .precompressed_br()
        .precompressed_gzip()
        .fallback(ServeFile::new(studio_dir.join("index.html")));
    Router::new()
        .route("/", get(|| async { Redirect::temporary("/demo/") }))
        .route("/demo", get(|| async { Redirect::permanent("/demo/") }))
        .route("/demo/", get(demo_page))
        .route("/healthz", get(healthz))
        .nest_service(
            "/widget",
            ServiceBuilder::new()
                .layer(middleware::from_fn(widget_cross_origin))
                .layer(middleware::from_fn(cache_headers))
                .service(widget),
        )
        .nest_service(
            "/studio",
            ServiceBuilder::new()
                .layer(middleware::from_fn_with_state(state.clone(), studio_guard))
                .layer(middleware::from_fn(cache_headers))
                .service(studio),
        )
}

async fn static_not_found() -> ApiError {
    ApiError::NotFound("no such file".into())
}

/// Whether a file name carries a content hash: its last `-`-separated stem segment (minus a
/// wasm-bindgen `_bg` suffix) is at least 8 hex digits, e.g. `offers-3f2a9c1b7d.js`,
/// `offers-3f2a9c1b7d_bg.wasm`, `style-0a1b2c3d4e5f6a7b.css`.
pub fn is_content_hashed(file_name: &str) -> bool {
    let stem = file_name.split('.').next().unwrap_or_default();
    let Some((_, last)) = stem.rsplit_once('-') else {
        return false;
    };
    let last = last.strip_suffix("_bg").unwrap_or(last);
    last.len() >= 8 && last.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Sets `Cache-Control` on successful static responses: hashed names are immutable, the rest
/// (the loader `offers.js`, `index.html`) must be revalidated.
async fn cache_headers(req: Request, next: Next) -> Response {
    let name = req
        .uri()
        .path()
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .to_owned();
    let mut response = next.run(req).await;
    let status = response.status();
    if status.is_success() || status == StatusCode::NOT_MODIFIED {
        let value = if is_content_hashed(&name) {
            IMMUTABLE
        } else {
            NO_CACHE
        };
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static(value));
    }
    response
}

/// The widget's files are loaded by host pages on other origins: the loader's `import()` of the
/// module and the wasm fetch are CORS requests (and a sandboxed frame's origin is opaque). They
/// are public and credential-free, so any origin may read them; `Cross-Origin-Resource-Policy`
/// lets hosts that set `Cross-Origin-Embedder-Policy` load them too.
async fn widget_cross_origin(req: Request, next: Next) -> Response {
    let mut response = next.run(req).await;
    let headers = response.headers_mut();
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    headers.insert(
        HeaderName::from_static("cross-origin-resource-policy"),
        HeaderValue::from_static("cross-origin"),
    );
    response
}

/// `/studio` → `/studio/`; a friendly page when the Studio is not built.
async fn studio_guard(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let original = req
        .extensions()
        .get::<OriginalUri>()
        .map(|o| o.0.path().to_owned())
        .unwrap_or_default();
    if original == "/studio" {
        return Redirect::permanent("/studio/").into_response();
    }
    let index = state.studio_dir().join("index.html");
    if !tokio::fs::try_exists(&index).await.unwrap_or(false) {
        let body = format!(
            "<!doctype html><meta charset=\"utf-8\"><title>Offers Studio: not built</title>\
             <h1>The Studio is not built</h1><p>No <code>index.html</code> in <code>{}</code>. \
             Build it with <code>scripts/build-studio.sh</code> (Trunk, into \
             <code>dist/studio</code>) or point <code>--studio-dir</code> / \
             <code>OFFERS_STUDIO_DIR</code> at its output.</p>",
            html_escape(&state.studio_dir().display().to_string())
        );
        return (StatusCode::NOT_FOUND, Html(body)).into_response();
    }
    next.run(req).await
}

/// Liveness and database reachability.
#[utoipa::path(
    get,
    path = "/healthz",
    tag = "ops",
    responses(
        (status = 200, description = "The database answered", body = Health),
        (status = 503, description = "The database did not answer", body = ErrorBody),
    )
)]
pub async fn healthz(State(state): State<AppState>) -> Result<Json<Health>, ApiError> {
    state.store().ping().await.map_err(|e| {
        tracing::error!(error = %e, "health check failed");
        ApiError::Unavailable
    })?;
    Ok(Json(Health {
        status: "ok".to_owned(),
    }))
}

/// Escapes text for HTML content and attribute values.
pub fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A public key as it may appear in `?key=`: `[A-Za-z0-9_-]{1,64}`.
fn plausible_key(key: &str) -> bool {
    !key.is_empty()
        && key.len() <= 64
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// The user the demo page plays.
pub const DEMO_USER: &str = "demo-user";

/// How a host back end signs a user id in Node.js (`userId` in, `sig` out); the README shows
/// the same lines, and `tests/hardening.rs` runs them against the API.
pub const NODE_SIGNING_SNIPPET: &str = r#"const crypto = require("crypto");
const sig = crypto.createHmac("sha256", process.env.OFFERS_IDENTITY_SECRET)
  .update(userId, "utf8").digest("hex");"#;

/// The same in Python (`user_id` in, `sig` out).
pub const PYTHON_SIGNING_SNIPPET: &str = r#"import hashlib, hmac, os
sig = hmac.new(os.environ["OFFERS_IDENTITY_SECRET"].encode(), user_id.encode(),
               hashlib.sha256).hexdigest()"#;

/// The demo host page: a mock chat embedding the widget for the demo project (or `?key=`).
///
/// For its own demo project the page does what a host back end does: it signs [`DEMO_USER`]
/// with the project's identity secret and hands the signature to the widget (`data-sig`), so
/// personal offers for `demo-user` show although new projects require signed ids. It never
/// signs for another project's `?key=` (that would hand anyone a valid signature).
pub async fn demo_page(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> Result<Html<String>, ApiError> {
    let (key, sig) = match query_param(query.as_deref(), "key") {
        Some(key) if plausible_key(&key) => (Some(key), None),
        Some(_) => return Err(ApiError::bad_param("key", "not a public key")),
        None => match state.store().demo_project().await? {
            Some(p) => (
                Some(p.public_key),
                Some(crate::auth::user_signature(&p.identity_secret, DEMO_USER)),
            ),
            None => (None, None),
        },
    };
    let widget_built = tokio::fs::try_exists(state.widget_dir().join("offers.js"))
        .await
        .unwrap_or(false);
    Ok(Html(render_demo(
        key.as_deref(),
        sig.as_deref(),
        widget_built,
        state.widget_dir(),
    )))
}

/// The demo page's HTML; `sig` is [`DEMO_USER`]'s signature, when the page may sign.
pub fn render_demo(
    public_key: Option<&str>,
    sig: Option<&str>,
    widget_built: bool,
    widget_dir: &Path,
) -> String {
    let notice = if !widget_built {
        format!(
            "<div class=\"notice\" role=\"alert\"><strong>The widget bundle is not built.</strong> \
             There is no <code>offers.js</code> in <code>{}</code>, so no offers can appear here. \
             Build it with <code>scripts/build-widget.sh</code> (it writes the loader \
             <code>offers.js</code> and its content-hashed bundle into <code>dist/widget</code>), \
             or point <code>--widget-dir</code> / <code>OFFERS_WIDGET_DIR</code> at a built bundle, \
             then reload this page.</div>",
            html_escape(&widget_dir.display().to_string())
        )
    } else {
        String::new()
    };
    let script = match public_key {
        Some(key) => format!(
            "<script src=\"/widget/offers.js\" data-project=\"{}\" data-room=\"demo-room\" \
             data-user=\"{DEMO_USER}\"{} data-anchor=\"#chat\" data-position=\"bottom-right\" \
             async></script>",
            html_escape(key),
            sig.map(|s| format!(" data-sig=\"{}\"", html_escape(s)))
                .unwrap_or_default()
        ),
        None => "<div class=\"notice\" role=\"alert\">No project yet: create one with \
                 <code>offers-api project create --name NAME</code> and open \
                 <code>/demo/?key=PUBLIC_KEY</code>.</div>"
            .to_owned(),
    };
    let signing = format!(
        "<details class=\"signing\"><summary>How this page signs <code>{DEMO_USER}</code></summary>\
         <p>New projects only trust a user id signed by the host's <strong>back end</strong>: \
         <code>sig</code> = hex HMAC-SHA256 of the id under the project's identity secret \
         (<code>offers-api project show</code>), passed as <code>data-sig</code>. {}</p>\
         <p>Node.js:</p><pre><code>{}</code></pre><p>Python:</p><pre><code>{}</code></pre></details>",
        if sig.is_some() {
            "This page's server did exactly that for the demo project."
        } else {
            "This page does not sign for another project's key, so the widget here sees an \
             anonymous visitor (no personal offers; the feed answers <code>Offers-Identity: \
             unsigned</code>)."
        },
        html_escape(NODE_SIGNING_SNIPPET),
        html_escape(PYTHON_SIGNING_SNIPPET),
    );
    format!(
        r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Offers demo chat</title>
<style>
  body {{ margin: 0; font-family: system-ui, sans-serif; background: #eef1f5; color: #1d2433; }}
  .chat {{ max-width: 560px; margin: 0 auto; min-height: 100vh; display: flex; flex-direction: column; background: #fff; box-shadow: 0 0 12px rgba(0,0,0,.08); }}
  header {{ padding: 14px 18px; background: #1890bf; color: #fff; }}
  header h1 {{ margin: 0; font-size: 18px; }}
  header p {{ margin: 2px 0 0; font-size: 12px; opacity: .85; }}
  .messages {{ flex: 1; padding: 16px; display: flex; flex-direction: column; gap: 10px; }}
  .msg {{ max-width: 75%; padding: 8px 12px; border-radius: 12px; background: #f1f3f6; font-size: 14px; }}
  .msg .who {{ display: block; font-size: 11px; color: #6b7385; margin-bottom: 2px; }}
  .msg.me {{ align-self: flex-end; background: #d8efff; }}
  .notice {{ margin: 12px 16px; padding: 10px 12px; border-radius: 8px; background: #fff4d6; border: 1px solid #f0c36d; font-size: 13px; }}
  form {{ display: flex; gap: 8px; padding: 12px; border-top: 1px solid #e3e6eb; }}
  form input {{ flex: 1; padding: 8px 10px; border: 1px solid #c9ced8; border-radius: 8px; font-size: 14px; }}
  form button {{ padding: 8px 14px; border: 0; border-radius: 8px; background: #1890bf; color: #fff; }}
  .signing {{ margin: 0 16px 12px; font-size: 12px; color: #4a5263; }}
  .signing pre {{ background: #f6f7f9; padding: 8px; border-radius: 6px; overflow-x: auto; }}
</style>
</head>
<body>
<div class="chat" id="chat">
  <header>
    <h1>Demo chat room</h1>
    <p>This is a demo host page for the Offers widget: the messages below are fake.</p>
  </header>
  {notice}
  <div class="messages" id="messages">
    <div class="msg"><span class="who">Alice (demo)</span>Hi everyone! This is a demo conversation.</div>
    <div class="msg"><span class="who">Bob (demo)</span>Offers published for this project show up here.</div>
    <div class="msg me"><span class="who">You (demo-user)</span>Nice, let's see one.</div>
    <div id="offers-feed"></div>
  </div>
  <form onsubmit="event.preventDefault(); var i = this.elements.msg; if (i.value) {{ var d = document.createElement('div'); d.className = 'msg me'; d.textContent = i.value; document.getElementById('messages').insertBefore(d, document.getElementById('offers-feed')); i.value = ''; }}">
    <input name="msg" placeholder="Type a message (demo only, nothing is sent)" autocomplete="off">
    <button type="submit">Send</button>
  </form>
  {signing}
</div>
{script}
</body>
</html>
"#
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashed_names() {
        assert!(is_content_hashed("offers-3f2a9c1b7d.js"));
        assert!(is_content_hashed("offers-3f2a9c1b7d_bg.wasm"));
        assert!(is_content_hashed("offers-widget-0123456789abcdef_bg.wasm"));
        assert!(is_content_hashed("style-0a1b2c3d.css"));
        assert!(!is_content_hashed("offers.js"));
        assert!(!is_content_hashed("index.html"));
        assert!(!is_content_hashed("offers-widget.js"));
    }

    #[test]
    fn demo_escapes_and_notices() {
        let page = render_demo(Some("pk_a\"b"), None, false, Path::new("dist/widget"));
        assert!(page.contains("data-project=\"pk_a&quot;b\""));
        assert!(
            !page.contains(" data-sig="),
            "no signature attribute without a signature"
        );
        assert!(page.contains("widget bundle is not built"));
        assert!(page.contains("<div id=\"offers-feed\"></div>"));
        let built = render_demo(Some("pk_x"), Some("ab12"), true, Path::new("w"));
        assert!(built.contains("data-user=\"demo-user\" data-sig=\"ab12\""));
        assert!(!built.contains("not built"));
        assert!(built.contains("src=\"/widget/offers.js\""));
        // The pop-up sits over the chat column (above its input), not the viewport's corner.
        assert!(built.contains("data-anchor=\"#chat\"") && built.contains("id=\"chat\""));
    }

    proptest::proptest! {
        #[test]
        fn escaped_text_cannot_open_tags_or_close_attributes(s in ".{0,80}") {
            let out = html_escape(&s);
            proptest::prop_assert!(!out.contains('<') && !out.contains('>') && !out.contains('"'));
        }
    }
}
