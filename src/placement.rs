//! Where the pop-up sits: `data-position` picks a spot (`bottom-right`, the default,
//! `bottom-left`, `bottom-center`, `center`, `top`) inside a box, and `data-anchor="#selector"`
//! makes that box the host's chat element instead of the viewport.
//!
//! The box reaches the stylesheet as four custom properties on the pop-up root (`--box-top`,
//! `--box-right`, `--box-bottom`, `--box-left`: its distances from the viewport's edges, set
//! through the CSSOM, so a strict `style-src` holds); `style/widget.css` places the layer in it.
//! An anchored box stops above the host's text input inside the anchor (its form, when it has
//! one), so the pop-up never covers what the user types into, and follows the anchor on resize
//! and scroll.

use wasm_bindgen::{JsCast, JsValue};
use web_sys::{Element, HtmlElement};

/// The `data-position` values, in the layer's class names (`layer--bottom-right`, …).
pub const POSITIONS: [&str; 5] = [
    "bottom-right",
    "bottom-left",
    "bottom-center",
    "center",
    "top",
];

/// The `data-position` value to use: a known one (trimmed, case-insensitive), else the default
/// `bottom-right` (with a console warning when something unknown was given).
pub fn position(requested: &str) -> &'static str {
    let requested = requested.trim();
    if let Some(known) = POSITIONS.iter().find(|p| p.eq_ignore_ascii_case(requested)) {
        return known;
    }
    if !requested.is_empty() {
        web_sys::console::warn_2(
            &JsValue::from_str("offers: unknown data-position, using bottom-right:"),
            &JsValue::from_str(requested),
        );
    }
    POSITIONS[0]
}

/// A box by its edges, in CSS pixels from the viewport's top-left corner.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Edges {
    pub top: f64,
    pub right: f64,
    pub bottom: f64,
    pub left: f64,
}

/// The pop-up's box: the anchor's rectangle, cut above the first text input in its lower
/// half (`inputs` are those fields' top edges), clamped to the viewport (`width`×`height`).
pub fn anchored_box(anchor: Edges, inputs: &[f64], width: f64, height: f64) -> Edges {
    let middle = (anchor.top + anchor.bottom) / 2.0;
    let bottom = inputs
        .iter()
        .copied()
        .filter(|top| *top > middle && *top < anchor.bottom)
        .fold(anchor.bottom, f64::min);
    Edges {
        top: anchor.top.max(0.0),
        right: anchor.right.min(width),
        bottom: bottom.min(height),
        left: anchor.left.max(0.0),
    }
}

const TEXT_FIELDS: &str =
    "input:not([type=hidden]),textarea,[contenteditable]:not([contenteditable=false])";

fn edges(element: &Element) -> Edges {
    let rect = element.get_bounding_client_rect();
    Edges {
        top: rect.top(),
        right: rect.right(),
        bottom: rect.bottom(),
        left: rect.left(),
    }
}

/// The anchored box for `selector`, or `None` (the viewport) when there is no anchor, the
/// selector is invalid or nothing on the page matches it yet.
fn anchor_box(selector: &str) -> Option<Edges> {
    let selector = selector.trim();
    if selector.is_empty() {
        return None;
    }
    let window = web_sys::window()?;
    let anchor = window.document()?.query_selector(selector).ok()??;
    let fields = anchor.query_selector_all(TEXT_FIELDS).ok()?;
    let inputs: Vec<f64> = (0..fields.length())
        .filter_map(|i| fields.item(i)?.dyn_into::<Element>().ok())
        .map(|field| {
            // The whole input row (its form: the Send button too) when it has one in the anchor.
            match field.closest("form") {
                Ok(Some(form)) if anchor.contains(Some(&form)) => edges(&form).top,
                _ => edges(&field).top,
            }
        })
        .collect();
    let width = window.inner_width().ok()?.as_f64()?;
    let height = window.inner_height().ok()?.as_f64()?;
    Some(anchored_box(edges(&anchor), &inputs, width, height))
}

/// Sets the pop-up root's box properties for `anchor` (removes them for the viewport).
pub fn place(root: &HtmlElement, anchor: &str) {
    let style = root.style();
    let names = ["--box-top", "--box-right", "--box-bottom", "--box-left"];
    match anchor_box(anchor).zip(web_sys::window()) {
        Some((b, window)) => {
            let width = window
                .inner_width()
                .ok()
                .and_then(|w| w.as_f64())
                .unwrap_or(b.right);
            let height = window
                .inner_height()
                .ok()
                .and_then(|h| h.as_f64())
                .unwrap_or(b.bottom);
            let values = [b.top, width - b.right, height - b.bottom, b.left];
            for (name, value) in names.into_iter().zip(values) {
                let mut px = offers_core::decimal(value.max(0.0).round() as i64);
                px.push_str("px");
                let _ = style.set_property(name, &px);
            }
        }
        None => {
            for name in names {
                let _ = style.remove_property(name);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHAT: Edges = Edges {
        top: 0.0,
        right: 760.0,
        bottom: 900.0,
        left: 200.0,
    };

    #[test]
    fn the_box_stops_above_the_chat_input() {
        let b = anchored_box(CHAT, &[840.0], 1280.0, 1000.0);
        assert_eq!(b.bottom, 840.0);
        assert_eq!((b.left, b.right, b.top), (200.0, 760.0, 0.0));
    }

    #[test]
    fn inputs_in_the_upper_half_or_outside_do_not_cut_the_box() {
        let b = anchored_box(CHAT, &[40.0, 950.0], 1280.0, 1000.0);
        assert_eq!(b.bottom, 900.0);
    }

    #[test]
    fn the_box_is_clamped_to_the_viewport() {
        let tall = Edges {
            top: -300.0,
            right: 1400.0,
            bottom: 2000.0,
            left: -10.0,
        };
        let b = anchored_box(tall, &[1900.0], 1280.0, 720.0);
        assert_eq!(
            b,
            Edges {
                top: 0.0,
                right: 1280.0,
                bottom: 720.0,
                left: 0.0
            }
        );
    }
}
