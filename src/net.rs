//! The widget's network: the feed (`/widget/v1/offers`), the live stream (`/widget/v1/stream`,
//! Server-Sent Events) and the event reports (`/widget/v1/events`). Plain `fetch`,
//! `EventSource` and `sendBeacon` through web-sys: no HTTP client crate in the bundle.

use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

use crate::config::WidgetConfig;

/// Percent-encodes a query value (everything but RFC 3986's unreserved characters).
pub fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(byte as char);
        } else {
            const HEX: &[u8; 16] = b"0123456789ABCDEF";
            out.push('%');
            out.push(HEX[usize::from(byte >> 4)] as char);
            out.push(HEX[usize::from(byte & 15)] as char);
        }
    }
    out
}

/// `<api>/widget/v1/<path>?key=…&room=…[&user=…][&sig=…]` for this entry's identity.
pub fn widget_url(config: &WidgetConfig, path: &str) -> String {
    let mut url = format!(
        "{}/widget/v1/{path}?key={}&room={}",
        config.api.trim_end_matches('/'),
        encode(&config.project),
        encode(&config.room)
    );
    if let Some(user) = config.user_id() {
        url.push_str("&user=");
        url.push_str(&encode(user));
        if !config.sig.is_empty() {
            url.push_str("&sig=");
            url.push_str(&encode(&config.sig));
        }
    }
    url
}

/// Fetches the feed body (`{"offers": […]}`) for this entry.
pub async fn fetch_feed(config: &WidgetConfig) -> Result<JsValue, JsValue> {
    let window = web_sys::window().ok_or_else(|| JsValue::from_str("no window"))?;
    let init = web_sys::RequestInit::new();
    init.set_credentials(web_sys::RequestCredentials::Omit);
    let response: web_sys::Response =
        JsFuture::from(window.fetch_with_str_and_init(&widget_url(config, "offers"), &init))
            .await?
            .dyn_into()?;
    if !response.ok() {
        return Err(JsValue::from_f64(f64::from(response.status())));
    }
    JsFuture::from(response.json()?).await
}

/// Posts an events body as `text/plain` (a CORS simple request, like `sendBeacon`'s), with
/// `keepalive` so it survives navigation. Resolves to `true` when the batch is done with:
/// accepted, or refused for good (a 4xx other than 429, which a retry would not change).
pub async fn post_events(config: &WidgetConfig, body: &str) -> bool {
    let Some(window) = web_sys::window() else {
        return false;
    };
    let init = web_sys::RequestInit::new();
    init.set_method("POST");
    init.set_credentials(web_sys::RequestCredentials::Omit);
    // web-sys has no setter for `keepalive`; it is a plain RequestInit member.
    let _ = js_sys::Reflect::set(&init, &JsValue::from_str("keepalive"), &JsValue::TRUE);
    init.set_body(&JsValue::from_str(body));
    let url = format!("{}/widget/v1/events", config.api.trim_end_matches('/'));
    match JsFuture::from(window.fetch_with_str_and_init(&url, &init)).await {
        Ok(response) => response
            .dyn_into::<web_sys::Response>()
            .map(|r| r.ok() || (400..500).contains(&r.status()) && r.status() != 429)
            .unwrap_or(false),
        Err(_) => false,
    }
}

/// Hands an events body to the browser to deliver even as the page goes away.
pub fn beacon_events(config: &WidgetConfig, body: &str) -> bool {
    let url = format!("{}/widget/v1/events", config.api.trim_end_matches('/'));
    web_sys::window()
        .and_then(|w| {
            w.navigator()
                .send_beacon_with_opt_str(&url, Some(body))
                .ok()
        })
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_values_are_encoded() {
        assert_eq!(encode("a b&c=d/é"), "a%20b%26c%3Dd%2F%C3%A9");
        assert_eq!(encode("room-1_x.y~"), "room-1_x.y~");
    }

    #[test]
    fn urls_carry_the_entry_identity() {
        let mut config = WidgetConfig {
            api: "https://offers.example/".into(),
            project: "pk_1".into(),
            room: "room 1".into(),
            ..WidgetConfig::default()
        };
        assert_eq!(
            widget_url(&config, "offers"),
            "https://offers.example/widget/v1/offers?key=pk_1&room=room%201"
        );
        config.user = "u&2".into();
        config.sig = "ab12".into();
        assert_eq!(
            widget_url(&config, "stream"),
            "https://offers.example/widget/v1/stream?key=pk_1&room=room%201&user=u%262&sig=ab12"
        );
        config.user = " ".into();
        assert!(!widget_url(&config, "offers").contains("sig="));
    }
}
