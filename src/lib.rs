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
pub mod after_paint;
pub mod app;
pub mod boot;
pub mod card;
pub mod config;
pub mod events;
pub mod feed;
pub mod history;
pub mod placement;
pub mod shadow;
#[cfg(feature = "studio")]
pub mod studio;

/// The extras module (`src/extras.js`) speaks the core's wire names: it listens for every
/// stream event the API sends and encodes event batches with `EventsRequest`'s fields (the
/// e2e tests check such batches reach the partner's figures).
#[cfg(test)]
mod extras_wire_names {
    const EXTRAS: &str = include_str!("extras.js");

    #[test]
    fn the_extras_module_listens_for_every_stream_event() {
        use offers_core::api::StreamEventName::*;
        for name in [OfferCreated, OfferUpdated, OfferDeleted, Resync] {
            let listener = format!("addEventListener(\"{}\"", name.as_str());
            assert!(EXTRAS.contains(&listener), "{listener}");
        }
    }

    #[test]
    fn the_extras_module_encodes_event_batches_with_the_api_field_names() {
        let at = chrono::DateTime::UNIX_EPOCH;
        let batch = offers_core::api::EventsRequest {
            key: "k".into(),
            room: "r".into(),
            user: Some("u".into()),
            sig: Some("s".into()),
            events: vec![offers_core::api::WidgetEvent {
                id: "e".into(),
                offer_id: 1,
                kind: offers_core::api::EventKind::Click,
                at,
                variant: Some(1),
            }],
            tracked: vec![offers_core::api::campaign::TrackedEvent {
                id: "t".into(),
                name: "deposit_failed".into(),
                props: Some(serde_json::Map::new()),
                at,
                conversion: Some(true),
                value: Some(20.0),
            }],
        };
        let json = serde_json::to_value(&batch).unwrap();
        for (field, _) in json.as_object().unwrap() {
            // `{ key: …, room: …, events: … }`, then `body.user = …`, `body.sig = …` and
            // `json.tracked = …`.
            let written = [
                format!("{field}: "),
                format!("body.{field} = "),
                format!("json.{field} = "),
            ];
            assert!(
                written.iter().any(|w| EXTRAS.contains(w.as_str())),
                "{field}"
            );
        }
        // The event object is written in shorthand, `event: { id, offerId, kind, at }`, then
        // `event.variant = …`.
        let (_, rest) = EXTRAS.split_once("event = { ").unwrap();
        let (shorthand, _) = rest.split_once(" }").unwrap();
        let mut written: Vec<String> = shorthand.split(", ").map(str::to_owned).collect();
        written.push("variant".into());
        assert!(EXTRAS.contains("event.variant = "));
        let mut wire: Vec<String> = json["events"][0]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect();
        written.sort_unstable();
        wire.sort_unstable();
        assert_eq!(written, wire);
        // A tracked entry: `{ id: …, name, props: …, at: … }`, then `tracked.conversion = …`
        // and `tracked.value = …`.
        let (_, rest) = EXTRAS.split_once("tracked = { ").unwrap();
        let (object, _) = rest.split_once(" }").unwrap();
        for field in json["tracked"][0].as_object().unwrap().keys() {
            let field = field.as_str();
            assert!(
                object
                    .split(", ")
                    .any(|member| member == field || member.starts_with(&format!("{field}: ")))
                    || EXTRAS.contains(&format!("tracked.{field} = ")),
                "{field}"
            );
        }
    }
}
