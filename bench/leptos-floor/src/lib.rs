//! The floor: the smallest Leptos 0.8 widget that paints one offer card (title, text, button,
//! close) from a JS object into a shadow root, with one signal and two handlers.
use leptos::prelude::*;
use wasm_bindgen::prelude::*;

fn get(o: &JsValue, k: &str) -> Option<String> {
    js_sys::Reflect::get(o, &JsValue::from_str(k))
        .ok()
        .and_then(|v| v.as_string())
}

#[wasm_bindgen]
pub fn boot(offer: JsValue) -> Result<(), JsValue> {
    let document = web_sys::window().unwrap().document().unwrap();
    let host = document.create_element("div")?;
    document.body().unwrap().append_child(&host)?;
    let root = host.attach_shadow(&web_sys::ShadowRootInit::new(web_sys::ShadowRootMode::Open))?;
    let container: web_sys::HtmlElement = document.create_element("div")?.unchecked_into();
    root.append_child(&container)?;
    let up = RwSignal::new(true);
    let title = get(&offer, "title");
    let text = get(&offer, "text");
    let button = get(&offer, "linkText");
    let link = get(&offer, "link").unwrap_or_default();
    leptos::mount::mount_to(container, move || {
        move || up.get().then(|| {
            let link = link.clone();
            view! {
                <div class="offer" role="dialog">
                    <button class="offer__close" on:click=move |_| up.set(false)>"×"</button>
                    {title.clone().map(|t| view! { <p class="offer__title">{t}</p> })}
                    {text.clone().map(|t| view! { <p class="offer__text">{t}</p> })}
                    {button.clone().map(|b| view! { <button class="offer__btn" on:click=move |_| { let _ = web_sys::window().unwrap().open_with_url(&link); }>{b}</button> })}
                </div>
            }
        })
    }).forget();
    Ok(())
}
