//! The Offers HTTP API (SPEC §3, §6): the partner API under `/external/*` (wire-compatible with
//! the documented Marketing Offers API), the Studio's draft, image uploads ([`media`]) and
//! "why (not) shown", the public widget feed, static serving of the widget bundle and the
//! Studio, the demo host page, OpenAPI docs, and the admin CLI.
//!
//! Architecture invariants:
//! - every offer query is scoped by the caller's project id ([`store::Store`] takes it first);
//! - errors leave through one mapping ([`error::ApiError`]'s `IntoResponse`), in one JSON shape;
//! - offer rules live in `offers-core`: handlers parse, call `validate`, store, and answer;
//! - the widget endpoints read offers, opt-outs and project settings from the in-memory
//!   [`live::LiveIndex`], never from the database per request; every committed change reaches
//!   it (and the open streams of every replica) through the change bus (`bus`);
//! - widget events are stored by one group-commit writer (`ingest`), each request answered
//!   once its events are committed.

pub mod audience;
pub mod auth;
pub(crate) mod bus;
pub mod cli;
pub mod error;
pub mod feed_page;
pub mod http;
pub(crate) mod ingest;
pub mod live;
pub mod media;
pub(crate) mod ratelimit;
pub mod retention;
pub mod server;
pub mod state;
pub mod store;
pub mod webhooks;

pub use error::ApiError;
pub use http::app;
pub use state::{AppState, Settings, StateError};
