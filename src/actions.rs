//! What a click does: the documented `postMessage` to the framing chat app, or a new tab.

use wasm_bindgen::JsValue;

/// The exact click payload of seed 002: `{"type":"link","body":{"action":"open","data":{"link":…}}}`.
pub fn link_message(link: &str) -> JsValue {
    let data = js_sys::Object::new();
    set(&data, "link", &JsValue::from_str(link));
    let body = js_sys::Object::new();
    set(&body, "action", &JsValue::from_str("open"));
    set(&body, "data", &data);
    let message = js_sys::Object::new();
    set(&message, "type", &JsValue::from_str("link"));
    set(&message, "body", &body);
    message.into()
}

/// A widget notice that hosts which only know `link` ignore: `{"type":"offers.<kind>","body":{"offerId":…}}`.
pub fn notice_message(kind: &str, offer_id: i64) -> JsValue {
    let body = js_sys::Object::new();
    set(&body, "offerId", &JsValue::from_f64(offer_id as f64));
    let message = js_sys::Object::new();
    set(
        &message,
        "type",
        &JsValue::from_str(&["offers.", kind].concat()),
    );
    set(&message, "body", &body);
    message.into()
}

fn set(target: &js_sys::Object, key: &str, value: &JsValue) {
    // Setting a plain property on a fresh plain object cannot fail.
    let _ = js_sys::Reflect::set(target, &JsValue::from_str(key), value);
}

/// Where a click goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClickRoute<'a> {
    /// Framed, with a configured parent origin: post the payload to `window.parent`.
    PostToParent { target_origin: &'a str },
    /// Not framed, or framed without a configured origin (we never post to `*` unasked).
    OpenTab,
}

/// Decides how a click is delivered. `parent_origin` is the configured `data-parent-origin`.
pub fn click_route(framed: bool, parent_origin: &str) -> ClickRoute<'_> {
    let origin = parent_origin.trim();
    if framed && !origin.is_empty() {
        ClickRoute::PostToParent {
            target_origin: origin,
        }
    } else {
        ClickRoute::OpenTab
    }
}

/// Delivers a click on an offer whose link the core has already checked is `http(s)`.
pub fn deliver_click(link: &str, parent_origin: &str) {
    let Some(window) = web_sys::window() else {
        return;
    };
    let framed = match (window.parent(), window.self_()) {
        (Ok(Some(parent)), this) => !js_sys::Object::is(&parent, &this),
        _ => false,
    };
    match click_route(framed, parent_origin) {
        ClickRoute::PostToParent { target_origin } => {
            if let Ok(Some(parent)) = window.parent() {
                let _ = parent.post_message(&link_message(link), target_origin);
            }
        }
        ClickRoute::OpenTab => {
            let _ = window.open_with_url_and_target_and_features(link, "_blank", "noopener");
        }
    }
}

/// Tells the framing app about an impression or a close, when a parent origin is configured.
pub fn notify_parent(kind: &str, offer_id: i64, parent_origin: &str) {
    let origin = parent_origin.trim();
    let Some(window) = web_sys::window() else {
        return;
    };
    if origin.is_empty() {
        return;
    }
    if let Ok(Some(parent)) = window.parent()
        && !js_sys::Object::is(&parent, &window.self_())
    {
        let _ = parent.post_message(&notice_message(kind, offer_id), origin);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn posts_only_when_framed_and_configured() {
        assert_eq!(
            click_route(true, "https://app.example"),
            ClickRoute::PostToParent {
                target_origin: "https://app.example"
            }
        );
        assert_eq!(click_route(true, "  "), ClickRoute::OpenTab);
        assert_eq!(
            click_route(false, "https://app.example"),
            ClickRoute::OpenTab
        );
    }
}
