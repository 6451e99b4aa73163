//! # offers-widget
//!
//! The browser side of Offers, compiled to `wasm32-unknown-unknown` with Leptos 0.8 (client-side
//! rendering):
//!
//! - the **widget** a host chat page embeds with one `<script>` tag (`/widget/offers.js`, see
//!   `src/loader.js`): it mounts into a Shadow DOM root, shows pop-up and in-feed offers, keeps
//!   the display history locally and reports clicks to the framing chat app by `postMessage`;
//! - the **Studio** page (`index.html`, built by Trunk from `src/main.rs`, binary
//!   `offers-studio`), which previews offers with the very same [`card::OfferCard`] component.
//!   It is compiled only with the `studio` feature (on by default for development; the shipped
//!   widget bundle is built without it, so host pages never carry Studio code).
//!
//! Every decision (is this color safe, may this offer show now) comes from `offers-core`; this
//! crate only wires those decisions to the DOM.

pub mod actions;
pub mod app;
pub mod boot;
pub mod card;
pub mod config;
pub mod events;
pub mod feed;
pub mod history;
pub mod net;
pub mod placement;
pub mod shadow;
pub mod stream;
#[cfg(feature = "studio")]
pub mod studio;
