//! The entry points the loader (`/widget/offers.js`) calls once the bundle is instantiated: what
//! paints the first offer. Everything else (the live stream, the events outbox and the host's
//! `window.Offers` methods) is in the extras module (`src/extras.js`), which the loader fetches
//! after that paint and which drives the widget through the [`WidgetHandle`] methods below.

use leptos::prelude::*;
use wasm_bindgen::prelude::*;

use crate::after_paint::{Call, run};
use crate::app::{PopupLayer, Widget};
use crate::config::WidgetConfig;
use crate::feed::{caps_from, recent_popups_from, untriggered_offers_from};
use crate::shadow::{popup_host, shadow_container};

/// The running widget, as the loader and the extras module see it.
#[wasm_bindgen]
pub struct WidgetHandle {
    widget: Widget,
    /// The pop-up's shadow container, to follow the `data-anchor` element from the first
    /// [`WidgetHandle::preload`] on (the first placement is made before the first paint).
    anchored: std::cell::Cell<Option<web_sys::HtmlElement>>,
}

/// Starts the widget: mounts the pop-up layer (and the in-feed list when the host's page has
/// the container `data-feed` names, `#offers-feed` by default) and keeps the loader's
/// `config.report` for events. The loader then hands it the feed it fetched while the bundle
/// downloaded ([`WidgetHandle::schedule`]).
#[wasm_bindgen]
pub fn boot(config: JsValue) -> Result<WidgetHandle, JsValue> {
    crate::events::set_reporter(&config);
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
    let root = popup_root.clone();
    // Also starts Leptos' task executor, which `run` needs.
    leptos::mount::mount_to(
        popup_root.clone(),
        move || view! { <PopupLayer widget=widget root=root /> },
    )
    .forget();
    let anchored = (!widget.session().config.anchor.trim().is_empty()).then_some(popup_root);
    let handle = WidgetHandle {
        widget,
        anchored: std::cell::Cell::new(anchored),
    };
    if let Ok(Some(slot)) = document.query_selector(&selector) {
        handle.mount_feed(&slot)?;
    }
    Ok(handle)
}

#[wasm_bindgen]
impl WidgetHandle {
    /// The current entry's number (what the other methods are given back, so an answer that
    /// arrives after a room switch or login is ignored).
    pub fn entry(&self) -> f64 {
        self.widget.session().entry as f64
    }

    fn current(&self, entry: f64) -> bool {
        self.widget.session().entry as f64 == entry
    }

    /// Schedules the offers of a feed body (`{"offers": [...], "caps"?, "recentPopups"?}`)
    /// for entry `entry`. An offer with a trigger is read to the end and held for its event
    /// after the first paint ([`Call::Triggered`]; a test send shows now, and its trigger is
    /// checked then, [`Call::CheckTrigger`]).
    pub fn schedule(&self, body: &JsValue, entry: f64) {
        if self.current(entry) {
            self.widget
                .set_caps(caps_from(body), recent_popups_from(body));
            let mut offers = Vec::new();
            for (offer, trigger) in untriggered_offers_from(body) {
                if trigger.is_undefined() || trigger.is_null() {
                    offers.push(offer);
                } else if offer.test {
                    // A test send shows at once, whatever its trigger: it is scheduled now,
                    // and its trigger is only checked, after the paint.
                    run(
                        self.widget,
                        Call::CheckTrigger(offer.id, trigger, entry as u64),
                    );
                    offers.push(offer);
                } else {
                    let call = Call::Triggered(Box::new(offer), trigger, entry as u64);
                    run(self.widget, call);
                }
            }
            self.widget.schedule(offers);
        }
    }

    /// A feed fetched again (the stream (re)opened or asked for it): offers no longer in it
    /// go, the rest are updated or scheduled.
    pub fn resync(&self, body: &JsValue, entry: f64) {
        run(self.widget, Call::Resync(body.clone(), entry as u64));
    }

    /// An event the host reported (`Offers.track(name, props)` or the framing app's
    /// `offers.track` message; the extras module checked the props are an object): shows the
    /// held offers whose trigger it fires, after each trigger's delay. `false` when the name
    /// is not one the core's `EventName` accepts (then nothing happens).
    pub fn track(&self, name: &str, props: &JsValue, entry: f64) -> bool {
        if offers_core::EventName::parse(name).is_err() {
            return false;
        }
        let call = Call::Track(name.to_owned(), props.clone(), entry as u64);
        run(self.widget, call);
        true
    }

    /// An offer created or changed (`offer.created` / `offer.updated`); one the core rejects
    /// is ignored.
    pub fn upsert(&self, offer: &JsValue, entry: f64) {
        run(self.widget, Call::Upsert(offer.clone(), entry as u64));
    }

    /// An offer withdrawn (`offer.deleted`).
    pub fn withdraw(&self, offer_id: f64, entry: f64) {
        run(self.widget, Call::Withdraw(offer_id as i64, entry as u64));
    }

    /// A new entry (room switch, login, logout) with the loader's config object: everything on
    /// screen goes, the old entry's timers are void. Returns the new entry's number.
    pub fn enter(&self, config: &JsValue) -> f64 {
        self.widget.enter(WidgetConfig::from_js(config));
        self.entry()
    }

    /// Renders in-feed offers inside `slot` (in its own shadow root).
    #[wasm_bindgen(js_name = mountFeed)]
    pub fn mount_feed(&self, slot: &web_sys::Element) -> Result<(), JsValue> {
        run(self.widget, Call::MountFeed(shadow_container(slot)?));
        Ok(())
    }

    /// Fetches the after-paint module (`crate::after_paint`) now, so that the first stream
    /// update or click does not wait for it, and from then on keeps an anchored pop-up's box
    /// on its anchor as the page scrolls and resizes. The loader calls it in the frame after
    /// the one that painted the first offer.
    pub fn preload(&self) {
        match self.anchored.take() {
            Some(root) => run(self.widget, Call::FollowAnchor(root)),
            None => run(self.widget, Call::Preload),
        }
    }
}
