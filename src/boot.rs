//! The entry point the loader (`/widget/offers.js`) calls once the bundle is instantiated.

use std::sync::Arc;

use leptos::prelude::*;
use offers_core::FeedOffer;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

use crate::app::{FeedList, PopupLayer, Session, Widget};
use crate::config::WidgetConfig;
use crate::shadow::{popup_host, shadow_container};

/// Starts the widget: mounts the pop-up layer (and the in-feed list when the host names a
/// container), then schedules the offers of `feed`, a promise of the API's
/// `{"offers": [...]}` body that the loader started fetching while the bundle downloaded.
#[wasm_bindgen]
pub fn boot(config: JsValue, feed: js_sys::Promise) -> Result<(), JsValue> {
    let config: WidgetConfig = serde_wasm_bindgen::from_value(config)?;
    let document = web_sys::window()
        .and_then(|w| w.document())
        .ok_or_else(|| JsValue::from_str("no document"))?;
    let session = Arc::new(Session::new(config, js_sys::Date::now() as u64));
    let widget = Widget::new();

    let popup_root = shadow_container(&popup_host(&document)?)?;
    let popup_session = Arc::clone(&session);
    leptos::mount::mount_to(popup_root, move || {
        view! { <PopupLayer widget=widget session=popup_session /> }
    })
    .forget();

    let selector = match session.config.feed.trim() {
        "" => "#offers-feed",
        selector => selector,
    };
    if let Ok(Some(slot)) = document.query_selector(selector) {
        let feed_root = shadow_container(&slot)?;
        let feed_session = Arc::clone(&session);
        leptos::mount::mount_to(feed_root, move || {
            view! { <FeedList widget=widget session=feed_session /> }
        })
        .forget();
    }

    wasm_bindgen_futures::spawn_local(async move {
        match JsFuture::from(feed).await {
            Ok(body) => widget.schedule(&session, offers_from(&body)),
            Err(error) => warn(&format!("offers: feed unavailable: {error:?}")),
        }
    });
    Ok(())
}

/// The offers of a feed body. Each offer is checked by the core's types on its own: one the
/// core rejects (an unsafe color, a `javascript:` link) is dropped with a console warning and
/// the others still show.
pub fn offers_from(body: &JsValue) -> Vec<FeedOffer> {
    let list =
        js_sys::Reflect::get(body, &JsValue::from_str("offers")).unwrap_or(JsValue::UNDEFINED);
    if !js_sys::Array::is_array(&list) {
        return Vec::new();
    }
    js_sys::Array::from(&list)
        .iter()
        .filter_map(
            |item| match serde_wasm_bindgen::from_value::<FeedOffer>(item) {
                Ok(offer) => Some(offer),
                Err(error) => {
                    warn(&format!(
                        "offers: skipped an offer the core rejected: {error}"
                    ));
                    None
                }
            },
        )
        .collect()
}

fn warn(message: &str) {
    web_sys::console::warn_1(&JsValue::from_str(message));
}
