//! What the widget runs only after its first offer has painted: the live stream's updates,
//! the host's events (`Offers.track`) and reading the triggers they fire, the in-feed list,
//! clicks and closes, and following the `data-anchor` element as the page scrolls and resizes
//! (the first placement is made before the first paint, `crate::app::PopupLayer`). Each is a [`Call`], done by [`run`] as a task
//! of its own, in the order of the calls.
//!
//! In the shipped bundle (feature `split`, `scripts/build-widget.sh`), [`call`] is a split
//! point of `wasm_split_helpers`: `wasm-split-cli` moves it, and all code only it reaches, into
//! a second wasm module (`offers-after-paint-<hash>.wasm`). The first call fetches and
//! instantiates that module; the loader asks for it right after the first paint
//! ([`Call::Preload`], `WidgetHandle::preload`). Without the feature (the Studio, the tests)
//! [`call`] is an ordinary `async` function with the same signature, so every build runs the
//! same order of work.

use leptos::prelude::*;
use wasm_bindgen::JsValue;

use crate::app::{FeedList, Widget};
use crate::feed::{caps_from, offer_from_js, offers_from, recent_popups_from, skipped, trigger};
use offers_core::FeedOffer;

/// One piece of after-paint work, for [`Widget`] `widget` of [`call`].
#[derive(Debug)]
pub enum Call {
    /// A feed fetched again for entry `.1`: offers no longer in it go, the rest are updated or
    /// scheduled.
    Resync(JsValue, u64),
    /// An offer created or changed, for entry `.1`; one the core rejects is ignored.
    Upsert(JsValue, u64),
    /// A feed offer with a trigger, for entry `.2`, all but its `trigger` member (`.1`) read
    /// before the first paint (`crate::feed::untriggered_from_js`): the trigger is read, and
    /// the offer is held for its event, or skipped when the core rejects the trigger.
    Triggered(Box<FeedOffer>, JsValue, u64),
    /// A test send's `trigger` member (`.1`) for entry `.2`: the test send (offer `.0`) was
    /// scheduled before the first paint, since it shows at once whatever its trigger; it is
    /// taken down, with the usual warning, when the core rejects the trigger.
    CheckTrigger(i64, JsValue, u64),
    /// An offer withdrawn, for entry `.1`.
    Withdraw(i64, u64),
    /// An event the host reported (name, props), for entry `.2`: the held offers whose trigger
    /// it fires.
    Track(String, JsValue, u64),
    /// The user opened an offer's link (offer id, link, whether it is the pop-up).
    Open(i64, String, bool),
    /// The user closed an offer.
    Close(i64),
    /// Renders in-feed offers inside this shadow container.
    MountFeed(web_sys::HtmlElement),
    /// Keeps the pop-up's box on the `data-anchor` element as the page resizes and scrolls.
    FollowAnchor(web_sys::HtmlElement),
    /// Nothing: makes sure the module is there before the first stream update or click needs
    /// it.
    Preload,
}

/// The after-paint module could not be fetched or instantiated (the link module logged why on
/// the console). The call is dropped; the next one fetches the module again.
#[derive(Debug)]
pub struct NotLoaded;

#[cfg(feature = "split")]
impl From<wasm_split_helpers::SplitLoaderError> for NotLoaded {
    fn from(_: wasm_split_helpers::SplitLoaderError) -> Self {
        NotLoaded
    }
}

/// Does `call`. The shipped bundle's one split point (see the module's documentation): a
/// single function, so that the `async` wrapper and its task exist once.
#[cfg(feature = "split")]
#[wasm_split_helpers::wasm_split(after_paint, fallible)]
pub fn call(widget: Widget, call: Call) -> Result<(), NotLoaded> {
    work(widget, call);
    Ok(())
}

/// Does `call` (the same signature as the shipped bundle's split point).
#[cfg(not(feature = "split"))]
pub async fn call(widget: Widget, call: Call) -> Result<(), NotLoaded> {
    work(widget, call);
    Ok(())
}

fn work(widget: Widget, call: Call) {
    let current = |entry: u64| widget.session().entry == entry;
    match call {
        Call::Resync(body, entry) => {
            if current(entry) {
                widget.set_caps(caps_from(&body), recent_popups_from(&body));
                widget.resync(offers_from(&body));
            }
        }
        Call::Upsert(offer, entry) => {
            if current(entry)
                && let Ok(offer) = offer_from_js(&offer)
            {
                widget.upsert(offer);
            }
        }
        Call::Triggered(mut offer, member, entry) => {
            if current(entry) {
                match trigger(&member) {
                    Ok(read) => {
                        offer.trigger = read;
                        widget.schedule(vec![*offer]);
                    }
                    Err(reason) => skipped(&reason),
                }
            }
        }
        Call::CheckTrigger(offer_id, member, entry) => {
            if current(entry)
                && let Err(reason) = trigger(&member)
            {
                skipped(&reason);
                widget.withdraw(offer_id);
            }
        }
        Call::Withdraw(offer_id, entry) => {
            if current(entry) {
                widget.withdraw(offer_id);
            }
        }
        Call::Track(name, props, entry) => {
            if current(entry) {
                widget.track(&name, &props);
            }
        }
        Call::Open(offer_id, link, popup) => widget.open(offer_id, &link, popup),
        Call::Close(offer_id) => widget.close(offer_id),
        Call::MountFeed(root) => {
            leptos::mount::mount_to(root, move || view! { <FeedList widget=widget /> }).forget();
        }
        Call::FollowAnchor(root) => follow_anchor(widget, root),
        Call::Preload => {}
    }
}

fn follow_anchor(widget: Widget, root: web_sys::HtmlElement) {
    use wasm_bindgen::JsCast;
    use wasm_bindgen::closure::Closure;
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

/// Does `call` as its own task, after what runs now (in the order of the calls).
pub fn run(widget: Widget, call: Call) {
    leptos::task::spawn_local(async move {
        if self::call(widget, call).await.is_err() {
            web_sys::console::warn_1(&JsValue::from_str(
                "offers: the widget's after-paint module did not load; will retry",
            ));
        }
    });
}
