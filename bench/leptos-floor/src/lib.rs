//! The floor: the smallest Leptos 0.8 widget that paints one offer card (title, text, button,
//! close) from a JS object into a shadow root, with one signal and two handlers.
//!
//! It answers the widget's loader (`src/loader.js`) with the same two calls the widget's
//! `WidgetHandle` does (`boot(config)`, then `schedule(feedBody, entry())`), so
//! `bench/paint.mjs` can time it beside the widget and the vanilla pop-up: what Leptos itself
//! costs in time as well as in bytes. It checks nothing the core would.
use leptos::prelude::*;
use wasm_bindgen::prelude::*;

fn get(o: &JsValue, k: &str) -> JsValue {
    js_sys::Reflect::get(o, &JsValue::from_str(k)).unwrap_or(JsValue::UNDEFINED)
}

fn text(o: &JsValue, k: &str) -> Option<String> {
    get(o, k).as_string()
}

/// What the loader holds once the bundle has started.
#[wasm_bindgen]
pub struct Floor;

/// Starts the floor (the loader's `config` is not read).
#[wasm_bindgen]
pub fn boot(_config: JsValue) -> Floor {
    Floor
}

#[wasm_bindgen]
impl Floor {
    /// Always entry 0: the floor has no room switches.
    pub fn entry(&self) -> f64 {
        0.0
    }

    /// Nothing: the floor has no after-paint module (the loader calls it after the first paint).
    pub fn preload(&self) {}

    /// Paints the feed body's first offer into `<div data-offers-widget="popup">`'s shadow root.
    pub fn schedule(&self, body: &JsValue, _entry: f64) -> Result<(), JsValue> {
        let offer = get(&get(body, "offers"), "0");
        if !offer.is_object() {
            return Ok(());
        }
        let document = web_sys::window().unwrap().document().unwrap();
        let host = document.create_element("div")?;
        host.set_attribute("data-offers-widget", "popup")?;
        document.body().unwrap().append_child(&host)?;
        let root =
            host.attach_shadow(&web_sys::ShadowRootInit::new(web_sys::ShadowRootMode::Open))?;
        let container: web_sys::HtmlElement = document.create_element("div")?.unchecked_into();
        root.append_child(&container)?;
        let up = RwSignal::new(true);
        let title = text(&offer, "title");
        let body_text = text(&offer, "text");
        let button = text(&offer, "linkText");
        let link = text(&offer, "link").unwrap_or_default();
        leptos::mount::mount_to(container, move || {
            move || up.get().then(|| {
                let link = link.clone();
                view! {
                    <div class="offer" role="dialog">
                        <button class="offer__close" on:click=move |_| up.set(false)>"×"</button>
                        {title.clone().map(|t| view! { <p class="offer__title">{t}</p> })}
                        {body_text.clone().map(|t| view! { <p class="offer__text">{t}</p> })}
                        {button.clone().map(|b| view! { <button class="offer__btn" on:click=move |_| { let _ = web_sys::window().unwrap().open_with_url(&link); }>{b}</button> })}
                    </div>
                }
            })
        }).forget();
        Ok(())
    }
}
