//! The entry point the loader (`/widget/offers.js`) calls once the bundle is instantiated, and
//! the handle behind the host's `window.Offers` API for single-page chats.

use leptos::prelude::*;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

use crate::app::{FeedList, PopupLayer, Widget};
use crate::config::WidgetConfig;
use crate::feed::offers_from;
use crate::shadow::{popup_host, shadow_container};
use crate::{events, stream};

/// The running widget, as the loader's `window.Offers` sees it.
#[wasm_bindgen]
pub struct WidgetHandle {
    widget: Widget,
}

/// Starts the widget: mounts the pop-up layer (and the in-feed list when the host's page has
/// the container `data-feed` names, `#offers-feed` by default), schedules the offers of `feed`
/// (a promise of the API's `{"offers": [...]}` body that the loader started fetching while the
/// bundle downloaded) and opens the live stream.
#[wasm_bindgen]
pub fn boot(config: JsValue, feed: js_sys::Promise) -> Result<WidgetHandle, JsValue> {
    let config = WidgetConfig::from_js(&config);
    let document = web_sys::window()
        .and_then(|w| w.document())
        .ok_or_else(|| JsValue::from_str("no document"))?;
    let selector = match config.feed.trim() {
        "" => "#offers-feed".to_owned(),
        selector => selector.to_owned(),
    };
    let widget = Widget::new(config);

    let popup_root = shadow_container(&popup_host(&document)?)?;
    follow_anchor(widget, &popup_root);
    let root = popup_root.clone();
    leptos::mount::mount_to(
        popup_root,
        move || view! { <PopupLayer widget=widget root=root /> },
    )
    .forget();
    let handle = WidgetHandle { widget };
    if let Ok(Some(slot)) = document.query_selector(&selector) {
        handle.mount_feed(&slot)?;
    }
    watch_page_hide();

    let entry = widget.session().entry;
    wasm_bindgen_futures::spawn_local(async move {
        match JsFuture::from(feed).await {
            Ok(body) if widget.session().entry == entry => widget.schedule(offers_from(&body)),
            Ok(_) => {}
            Err(error) => warn(&format!("offers: feed unavailable: {error:?}")),
        }
    });
    stream::open(widget);
    Ok(handle)
}

#[wasm_bindgen]
impl WidgetHandle {
    /// The user switched rooms: a new entry.
    #[wasm_bindgen(js_name = setRoom)]
    pub fn set_room(&self, room: String) {
        let mut config = self.widget.session().config.clone();
        config.room = room;
        self.enter(config);
    }

    /// A user signed in (with the host back end's signature of the id, when the project
    /// requires one): a new entry.
    pub fn login(&self, user: String, sig: Option<String>) {
        let mut config = self.widget.session().config.clone();
        config.user = user;
        config.sig = sig.unwrap_or_default();
        self.enter(config);
    }

    /// The user signed out: a new, anonymous entry.
    pub fn logout(&self) {
        let mut config = self.widget.session().config.clone();
        config.user.clear();
        config.sig.clear();
        self.enter(config);
    }

    /// Renders in-feed offers inside `slot` (in its own shadow root).
    #[wasm_bindgen(js_name = mountFeed)]
    pub fn mount_feed(&self, slot: &web_sys::Element) -> Result<(), JsValue> {
        let widget = self.widget;
        let root = shadow_container(slot)?;
        leptos::mount::mount_to(root, move || view! { <FeedList widget=widget /> }).forget();
        Ok(())
    }

    fn enter(&self, config: WidgetConfig) {
        events::flush();
        self.widget.enter(config);
        let widget = self.widget;
        let entry = widget.session().entry;
        stream::close();
        wasm_bindgen_futures::spawn_local(async move {
            let config = widget.session().config.clone();
            match crate::net::fetch_feed(&config).await {
                Ok(body) if widget.session().entry == entry => widget.schedule(offers_from(&body)),
                Ok(_) => {}
                Err(error) => warn(&format!("offers: feed unavailable: {error:?}")),
            }
        });
        stream::open(widget);
    }
}

/// Keeps the pop-up's box on the host's `data-anchor` element as the page resizes and scrolls.
fn follow_anchor(widget: Widget, root: &web_sys::HtmlElement) {
    if widget.session().config.anchor.trim().is_empty() {
        return;
    }
    let root = root.clone();
    let place = Closure::<dyn FnMut()>::new(move || {
        crate::placement::place(&root, &widget.session().config.anchor);
    });
    if let Some(window) = web_sys::window() {
        for event in ["resize", "scroll"] {
            let _ = window.add_event_listener_with_callback(event, place.as_ref().unchecked_ref());
        }
    }
    place.forget();
}

/// Sends pending events with `sendBeacon` when the page is hidden or left.
fn watch_page_hide() {
    let on_hide = Closure::<dyn FnMut()>::new(|| {
        let hidden = web_sys::window()
            .and_then(|w| w.document())
            .is_some_and(|d| d.visibility_state() == web_sys::VisibilityState::Hidden);
        if hidden {
            events::flush_on_hide();
        }
    });
    let on_leave = Closure::<dyn FnMut()>::new(events::flush_on_hide);
    if let Some(window) = web_sys::window() {
        if let Some(document) = window.document() {
            let _ = document.add_event_listener_with_callback(
                "visibilitychange",
                on_hide.as_ref().unchecked_ref(),
            );
        }
        let _ =
            window.add_event_listener_with_callback("pagehide", on_leave.as_ref().unchecked_ref());
    }
    on_hide.forget();
    on_leave.forget();
}

fn warn(message: &str) {
    web_sys::console::warn_1(&JsValue::from_str(message));
}
