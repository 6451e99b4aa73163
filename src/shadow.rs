//! The widget's isolation: every view is mounted inside an open Shadow DOM root, styled by a
//! constructable stylesheet adopted by that root. Host CSS cannot restyle the widget, the
//! widget's CSS cannot leak out, and no `<style>` element or `style` attribute is needed, so a
//! host's strict `style-src` Content-Security-Policy holds.

use wasm_bindgen::{JsCast, JsValue};
use web_sys::{CssStyleSheet, Element, HtmlElement, ShadowRootInit, ShadowRootMode};

/// The widget's stylesheet, compiled into the bundle (one request fewer, no flash of unstyled
/// offer): `style/widget.css` as `build.rs` minified it.
pub const WIDGET_CSS: &str = include_str!(concat!(env!("OUT_DIR"), "/widget.min.css"));

/// Attaches (or reuses) an open shadow root on `host`, adopts the widget stylesheet and returns a
/// fresh container element inside it to mount into.
pub fn shadow_container(host: &Element) -> Result<HtmlElement, JsValue> {
    let shadow = match host.shadow_root() {
        Some(shadow) => shadow,
        None => host.attach_shadow(&ShadowRootInit::new(ShadowRootMode::Open))?,
    };
    let sheet = CssStyleSheet::new()?;
    sheet.replace_sync(WIDGET_CSS)?;
    js_sys::Reflect::set(
        &shadow,
        &JsValue::from_str("adoptedStyleSheets"),
        &js_sys::Array::of1(&sheet),
    )?;
    let document = host
        .owner_document()
        .ok_or_else(|| JsValue::from_str("host element has no document"))?;
    let container = document.create_element("div")?;
    container.set_class_name("offers-root");
    shadow.append_child(&container)?;
    Ok(container.unchecked_into())
}

/// Creates the pop-up layer's host element at the end of `<body>`.
pub fn popup_host(document: &web_sys::Document) -> Result<Element, JsValue> {
    let host = document.create_element("div")?;
    host.set_attribute("data-offers-widget", "popup")?;
    let parent: Element = match document.body() {
        Some(body) => body.into(),
        None => document
            .document_element()
            .ok_or_else(|| JsValue::from_str("document has no root element"))?,
    };
    parent.append_child(&host)?;
    Ok(host)
}
