//! The widget's configuration, read by the loader from the script tag's `data-*` attributes.

use wasm_bindgen::JsValue;

/// What the host page told us in its script tag (SPEC §4), passed in by the loader.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct WidgetConfig {
    /// Base URL of the Offers API (the origin that served the loader).
    pub api: String,
    /// The project's public key (`data-project`).
    pub project: String,
    /// The chat room the user is in (`data-room`).
    pub room: String,
    /// The signed-in user's external id (`data-user`); empty when anonymous.
    pub user: String,
    /// The origin that `postMessage` targets (`data-parent-origin`); empty means "not configured".
    pub parent_origin: String,
    /// CSS selector of the host's in-feed container (`data-feed`), if any.
    pub feed: String,
    /// The host back end's signature of the user id (`data-sig`), for identity verification.
    pub sig: String,
    /// Where the pop-up sits (`data-position`), see [`crate::placement`].
    pub position: String,
    /// CSS selector of the host's chat element the pop-up is placed over (`data-anchor`).
    pub anchor: String,
}

impl WidgetConfig {
    /// The user id as the frequency history and targeting see it (`None` when anonymous).
    pub fn user_id(&self) -> Option<&str> {
        let user = self.user.trim();
        (!user.is_empty()).then_some(user)
    }

    /// Reads the loader's config object (`{api, project, room, user, parentOrigin, feed, sig,
    /// position, anchor}`):
    /// a missing or non-string member is empty. Plain property reads, no serde in the bundle.
    pub fn from_js(config: &JsValue) -> Self {
        let text = |name: &str| {
            js_sys::Reflect::get(config, &JsValue::from_str(name))
                .ok()
                .and_then(|value| value.as_string())
                .unwrap_or_default()
        };
        Self {
            api: text("api"),
            project: text("project"),
            room: text("room"),
            user: text("user"),
            parent_origin: text("parentOrigin"),
            feed: text("feed"),
            sig: text("sig"),
            position: text("position"),
            anchor: text("anchor"),
        }
    }
}
