//! The HTTP layer: one router per resource, merged once in [`app`].

pub mod assets;
pub mod body;
pub mod cors;
pub mod events;
pub mod offers;
pub mod optout;
pub mod registry;
pub mod stats;
pub mod stream;
pub mod widget;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use tower_http::compression::CompressionLayer;
use tower_http::trace::{DefaultMakeSpan, DefaultOnResponse, TraceLayer};
use tracing::Level;

use crate::error::{BODY_LIMIT, method_not_allowed_fallback, not_found_fallback};
use crate::state::AppState;

/// The whole application: every route, the JSON fallbacks, body limit, compression, tracing.
pub fn app(state: AppState) -> Router {
    Router::new()
        .merge(offers::router())
        .merge(stats::router())
        .merge(optout::router())
        .merge(registry::router())
        .merge(widget::router())
        .merge(assets::router(&state))
        .merge(crate::openapi::router())
        .fallback(not_found_fallback)
        .method_not_allowed_fallback(method_not_allowed_fallback)
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(CompressionLayer::new())
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(DefaultMakeSpan::new().level(Level::INFO))
                .on_response(DefaultOnResponse::new().level(Level::INFO)),
        )
        .with_state(state)
}
