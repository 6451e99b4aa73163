//! The HTTP layer: one router per resource, merged once in [`app`].

pub mod assets;
pub mod body;
pub mod cors;
pub mod draft;
pub mod events;
pub mod explain;
pub mod media;
pub mod offers;
pub mod optout;
pub mod registry;
pub mod stats;
pub mod stream;
pub mod widget;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use tower_http::compression::CompressionLayer;
use tower_http::trace::{DefaultMakeSpan, DefaultOnResponse, TraceLayer};
use tracing::Level;

use crate::error::{ApiError, BODY_LIMIT, method_not_allowed_fallback, not_found_fallback};
use crate::state::AppState;

/// The whole application: every route, the JSON fallbacks, body limit, compression, tracing.
pub fn app(state: AppState) -> Router {
    Router::new()
        .merge(offers::router())
        .merge(stats::router())
        .merge(optout::router())
        .merge(registry::router())
        .merge(draft::router())
        .merge(media::router())
        .merge(explain::router())
        .merge(widget::router())
        .merge(assets::router(&state))
        .merge(crate::openapi::router())
        .fallback(not_found_fallback)
        .method_not_allowed_fallback(method_not_allowed_fallback)
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(middleware::from_fn(run_to_completion))
        .layer(CompressionLayer::new())
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(DefaultMakeSpan::new().level(Level::INFO))
                .on_response(DefaultOnResponse::new().level(Level::INFO)),
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
