//! The HTTP layer: one router per resource, merged once in [`app`], behind the request guard
//! (`body::request_guard`: size limits and the query string's encoding).

pub mod access;
pub mod assets;
pub(crate) mod audiences;
pub(crate) mod body;
pub(crate) mod caller;
pub(crate) mod conversions;
pub(crate) mod cors;
pub(crate) mod draft;
pub(crate) mod events;
pub(crate) mod explain;
pub(crate) mod media;
pub(crate) mod offers;
pub mod openapi;
pub(crate) mod optout;
pub(crate) mod people;
pub(crate) mod registry;
pub(crate) mod stats;
pub(crate) mod stream;
pub(crate) mod webhooks;
pub(crate) mod widget;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use std::time::Duration;
use tower_http::compression::{CompressionLayer, CompressionLevel};

use tower_http::trace::{MakeSpan, OnResponse, TraceLayer};
use tracing::{Level, Span};

use crate::error::{ApiError, BODY_LIMIT, method_not_allowed_fallback, not_found_fallback};
use crate::state::AppState;

/// The compression level of dynamic answers (the feed, lists): brotli's and gzip's level 4.
/// The libraries' default for brotli is 11, its slowest: tens of milliseconds of CPU for a
/// large feed, on every request of a browser. (The widget bundle is served precompressed.)
const COMPRESSION: CompressionLevel = CompressionLevel::Precise(4);

/// The whole application: every route, the JSON fallbacks, body limit, compression, tracing.
///
/// The widget's routes (the feed, the stream, events) are outside the compression layer: the
/// feed compresses its cached pages itself and a stream is never compressed, and the layer's
/// body type is as large as its biggest encoder's state (~11 KB, brotli's), which every answer
/// under it carries and copies, and which an open stream would hold for as long as it is open.
pub fn app(state: AppState) -> Router {
    Router::new()
        .merge(offers::router())
        .merge(stats::router())
        .merge(conversions::router())
        .merge(optout::router())
        .merge(registry::router())
        .merge(audiences::router())
        .merge(draft::router())
        .merge(media::router())
        .merge(explain::router())
        .merge(people::router())
        .merge(webhooks::router())
        .merge(assets::router(&state))
        .merge(openapi::router())
        .fallback(not_found_fallback)
        .layer(CompressionLayer::new().quality(COMPRESSION))
        .merge(widget::router())
        .method_not_allowed_fallback(method_not_allowed_fallback)
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(middleware::from_fn(body::request_guard))
        .layer(middleware::from_fn(run_to_completion))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(RequestSpan)
                .on_response(ResponseLog),
        )
        .with_state(state)
}

/// Runs each request's handler in its own task, so it finishes even when the client goes away.
///
/// Hyper drops a handler's future when its client disconnects (a reload, a closed tab). Dropped
/// in the middle of a database transaction, sqlx only rolls back when that pooled connection is
/// next used: until then an idle connection keeps SQLite's write lock (or PostgreSQL's row
/// locks), and every other writer, `offers-api project create` included, waits for it. A
/// streamed body (SSE) is unaffected: only producing the response runs in the task.
async fn run_to_completion(req: Request, next: Next) -> Response {
    match tokio::spawn(next.run(req)).await {
        Ok(response) => response,
        Err(error) => ApiError::Internal(format!("request task failed: {error}")).into_response(),
    }
}

/// Whether a request is on the widget's hot path (feed, stream, events, the bundle): one per
/// chat user and entry, so its log lines are DEBUG, not INFO. Failures are logged whatever the
/// path (see [`ResponseLog`]).
fn is_hot_path(path: &str) -> bool {
    path.starts_with("/widget/")
}

/// The request span: INFO, or DEBUG on the widget's hot path.
#[derive(Debug, Clone, Copy)]
struct RequestSpan;

impl<B> MakeSpan<B> for RequestSpan {
    fn make_span(&mut self, request: &axum::http::Request<B>) -> Span {
        let (method, uri) = (request.method(), request.uri());
        if is_hot_path(uri.path()) {
            tracing::debug_span!("request", %method, %uri)
        } else {
            tracing::info_span!("request", %method, %uri)
        }
    }
}

/// One line per response, at its span's level; server errors always at WARN.
#[derive(Debug, Clone, Copy)]
struct ResponseLog;

impl<B> OnResponse<B> for ResponseLog {
    fn on_response(self, response: &axum::http::Response<B>, latency: Duration, span: &Span) {
        let status = response.status().as_u16();
        let latency_ms = latency.as_millis();
        if response.status().is_server_error() {
            tracing::warn!(parent: span, status, latency_ms, "finished processing request");
        } else if span.metadata().is_some_and(|m| *m.level() == Level::INFO) {
            tracing::info!(parent: span, status, latency_ms, "finished processing request");
        } else {
            tracing::debug!(parent: span, status, latency_ms, "finished processing request");
        }
    }
}
