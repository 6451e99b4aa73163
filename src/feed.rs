//! Decoding the feed body (`{"offers": [...]}`, already parsed by the browser's `JSON.parse`)
//! into [`FeedOffer`]s with plain property reads.
//!
//! Every value still goes through the core's validating constructors (`Title::parse`,
//! `CssColor::parse`, `HttpUrl::parse`, `parse_timestamp`, …), so what reaches the DOM is what
//! `FeedOffer`'s serde form would accept; the field names and defaults are those of that form
//! (`tests/widget_dom.rs` checks the two agree). This path replaces serde-wasm-bindgen, whose
//! generic deserializer was several kilobytes of every host page's download.

use offers_core::{
    Alignment, BodyText, ButtonText, CssColor, FeedOffer, GradientDirection, HttpUrl,
    ShowFrequency, Template, TemplateData, Title, ViewType, parse_timestamp,
};
use wasm_bindgen::JsValue;

/// The largest integer a JS number holds exactly (`Number.MAX_SAFE_INTEGER`).
const MAX_SAFE_INTEGER: f64 = 9_007_199_254_740_991.0;

fn get(object: &JsValue, name: &str) -> JsValue {
    js_sys::Reflect::get(object, &JsValue::from_str(name)).unwrap_or(JsValue::UNDEFINED)
}

/// A field error: `field: reason`.
fn error(field: &str, reason: &str) -> String {
    let mut message = String::with_capacity(field.len() + reason.len() + 2);
    message.push_str(field);
    message.push_str(": ");
    message.push_str(reason);
    message
}

/// A string member, `None` when absent or `null`.
fn text(object: &JsValue, field: &str) -> Result<Option<String>, String> {
    let value = get(object, field);
    if value.is_undefined() || value.is_null() {
        return Ok(None);
    }
    value
        .as_string()
        .map(Some)
        .ok_or_else(|| error(field, "must be a string"))
}

/// An optional member through the core's `parse`.
fn parsed<T>(
    object: &JsValue,
    field: &str,
    parse: impl FnOnce(&str) -> Result<T, String>,
) -> Result<Option<T>, String> {
    match text(object, field)? {
        Some(raw) => parse(&raw)
            .map(Some)
            .map_err(|reason| error(field, &reason)),
        None => Ok(None),
    }
}

/// A required member through the core's `parse`.
fn required<T>(
    object: &JsValue,
    field: &str,
    parse: impl FnOnce(&str) -> Result<T, String>,
) -> Result<T, String> {
    parsed(object, field, parse)?.ok_or_else(|| error(field, "is required"))
}

/// A whole number in `min..=MAX_SAFE_INTEGER`, `None` when absent or `null`.
fn integer(object: &JsValue, field: &str, min: f64) -> Result<Option<f64>, String> {
    let value = get(object, field);
    if value.is_undefined() || value.is_null() {
        return Ok(None);
    }
    match value.as_f64() {
        Some(n) if n.fract() == 0.0 && (min..=MAX_SAFE_INTEGER).contains(&n) => Ok(Some(n)),
        _ => Err(error(field, "must be a whole number")),
    }
}

fn boolean(object: &JsValue, field: &str) -> Result<bool, String> {
    let value = get(object, field);
    if value.is_undefined() || value.is_null() {
        return Ok(false);
    }
    value
        .as_bool()
        .ok_or_else(|| error(field, "must be true or false"))
}

fn template_data(object: &JsValue) -> Result<TemplateData, String> {
    let data = get(object, "templateData");
    let mut out = TemplateData::default();
    if data.is_undefined() || data.is_null() {
        return Ok(out);
    }
    if !data.is_object() {
        return Err(error("templateData", "must be an object"));
    }
    // Member errors read `templateData.bgColor: …`.
    let nested = |reason: String| {
        let mut path = String::from("templateData.");
        path.push_str(&reason);
        path
    };
    let color = |name: &str| parsed(&data, name, CssColor::parse).map_err(nested);
    if let Some(alignment) = parsed(&data, "alignment", Alignment::parse).map_err(nested)? {
        out.alignment = alignment;
    }
    for (name, slot) in [
        ("bgColor", &mut out.bg_color),
        ("btnColor", &mut out.btn_color),
        ("btnTextColor", &mut out.btn_text_color),
        ("textColor", &mut out.text_color),
    ] {
        if let Some(c) = color(name)? {
            *slot = c;
        }
    }
    out.gradient = boolean(&data, "gradient").map_err(nested)?;
    out.gradient_from = color("gradientFrom")?;
    out.gradient_to = color("gradientTo")?;
    out.gradient_direction =
        parsed(&data, "gradientDirection", GradientDirection::parse).map_err(nested)?;
    Ok(out)
}

/// One feed offer, checked field by field by the core's types.
pub fn offer_from_js(object: &JsValue) -> Result<FeedOffer, String> {
    if !object.is_object() {
        return Err("an offer must be an object".to_owned());
    }
    let id = integer(object, "id", -MAX_SAFE_INTEGER)?.ok_or_else(|| error("id", "is required"))?;
    let code = integer(object, "template", -MAX_SAFE_INTEGER)?
        .ok_or_else(|| error("template", "is required"))?;
    let template = Template::from_code(code as i64)
        .ok_or_else(|| error("template", "must be 10, 11, 12, 13 or 14"))?;
    let frequency = match parsed(object, "showFrerquency", ShowFrequency::parse)? {
        Some(frequency) => Some(frequency),
        None => parsed(object, "showFrequency", ShowFrequency::parse)?,
    };
    Ok(FeedOffer {
        id: id as i64,
        template,
        // Rendered for this user on the server: no merge tags left to read.
        title: parsed(object, "title", Title::parse_rendered)?,
        text: parsed(object, "text", BodyText::parse_rendered)?,
        link_text: parsed(object, "linkText", ButtonText::parse_rendered)?,
        link: required(object, "link", HttpUrl::parse)?,
        pic: parsed(object, "pic", HttpUrl::parse)?,
        template_data: template_data(object)?,
        view_type: parsed(object, "viewType", ViewType::parse)?.unwrap_or_default(),
        start_time: required(object, "startTime", parse_timestamp)?,
        end_time: parsed(object, "endTime", parse_timestamp)?,
        show_multiple_times: boolean(object, "showMultipleTimes")?,
        show_frequency: frequency.unwrap_or_default(),
        show_delay_ms: integer(object, "showDelayMS", 0.0)?.unwrap_or(0.0) as u64,
        test: boolean(object, "test")?,
        // Campaign fields (SPEC §9) are read by the widget's campaign support.
        trigger: None,
        priority: 0,
        variants: Vec::new(),
        holdout_percent: 0,
    })
}

/// The offers of a feed body. Each offer is checked on its own: one the core rejects (an unsafe
/// color, a `javascript:` link) is dropped with a console warning and the others still show.
pub fn offers_from(body: &JsValue) -> Vec<FeedOffer> {
    let list = get(body, "offers");
    if !js_sys::Array::is_array(&list) {
        return Vec::new();
    }
    js_sys::Array::from(&list)
        .iter()
        .filter_map(|item| match offer_from_js(&item) {
            Ok(offer) => Some(offer),
            Err(reason) => {
                web_sys::console::warn_2(
                    &JsValue::from_str("offers: skipped an offer the core rejected:"),
                    &JsValue::from_str(&reason),
                );
                None
            }
        })
        .collect()
}
