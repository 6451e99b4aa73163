//! Decoding the feed body (`{"offers": [...]}`, already parsed by the browser's `JSON.parse`)
//! into [`FeedOffer`]s with plain property reads.
//!
//! Every value still goes through the core's validating constructors (`Title::parse`,
//! `CssColor::parse`, `HttpUrl::parse`, `parse_timestamp`, …), so what reaches the DOM is what
//! `FeedOffer`'s serde form would accept; the field names and defaults are those of that form
//! (`tests/widget_dom.rs` checks the two agree). This path replaces serde-wasm-bindgen, whose
//! generic deserializer was several kilobytes of every host page's download.

use offers_core::api::FeedVariant;
use offers_core::campaign::{Caps, PopupShown};
use offers_core::reason::reason;
use offers_core::segment::{Op, Operand, OperandShape, Scalar};
use offers_core::{
    Alignment, AttrValue, BodyText, ButtonText, CssColor, EventName, FeedOffer, GradientDirection,
    HttpUrl, PropCondition, PropKey, ShowFrequency, Template, TemplateData, Title, Translation,
    Trigger, ViewType, parse_timestamp,
};
use wasm_bindgen::{JsCast, JsValue};

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

/// A field error with one of the decoder's own reasons (which, like the core's, the shipped
/// bundle leaves out: [`offers_core::reason`]).
#[inline(always)]
fn refused(field: &str, text: &'static str) -> String {
    error(field, &reason(text))
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
        .ok_or_else(|| refused(field, "must be a string"))
}

/// An optional member through the core's `parse`.
fn parsed<T>(
    object: &JsValue,
    field: &str,
    parse: impl FnOnce(&str) -> Result<T, String>,
) -> Result<Option<T>, String> {
    match text(object, field)? {
        Some(raw) => parse(&raw).map(Some).map_err(|why| error(field, &why)),
        None => Ok(None),
    }
}

/// A required member through the core's `parse`.
fn required<T>(
    object: &JsValue,
    field: &str,
    parse: impl FnOnce(&str) -> Result<T, String>,
) -> Result<T, String> {
    parsed(object, field, parse)?.ok_or_else(|| refused(field, "is required"))
}

/// A whole number in `min..=MAX_SAFE_INTEGER`, `None` when absent or `null`.
fn integer(object: &JsValue, field: &str, min: f64) -> Result<Option<f64>, String> {
    let value = get(object, field);
    if value.is_undefined() || value.is_null() {
        return Ok(None);
    }
    match value.as_f64() {
        Some(n) if n.fract() == 0.0 && (min..=MAX_SAFE_INTEGER).contains(&n) => Ok(Some(n)),
        _ => Err(refused(field, "must be a whole number")),
    }
}

fn boolean(object: &JsValue, field: &str) -> Result<bool, String> {
    let value = get(object, field);
    if value.is_undefined() || value.is_null() {
        return Ok(false);
    }
    value
        .as_bool()
        .ok_or_else(|| refused(field, "must be true or false"))
}

/// An integer member in `min..=max`, `default` when absent or `null`.
fn bounded(object: &JsValue, field: &str, min: f64, max: f64, default: f64) -> Result<f64, String> {
    match integer(object, field, min)? {
        None => Ok(default),
        Some(n) if n <= max => Ok(n),
        Some(_) => Err(refused(field, "is out of range")),
    }
}

/// The members of an array member (`[]` when absent or `null`).
fn list(object: &JsValue, field: &str) -> Result<Vec<JsValue>, String> {
    let value = get(object, field);
    if value.is_undefined() || value.is_null() {
        return Ok(Vec::new());
    }
    if !js_sys::Array::is_array(&value) {
        return Err(refused(field, "must be an array"));
    }
    Ok(js_sys::Array::from(&value).iter().collect())
}

/// One value of a condition's operand: a text (the core's attribute text rules), a finite
/// number or a boolean.
fn scalar(value: &JsValue) -> Result<AttrValue, String> {
    if let Some(text) = value.as_string() {
        AttrValue::text(&text)
    } else if let Some(b) = value.as_bool() {
        Ok(AttrValue::Bool(b))
    } else {
        match value.as_f64() {
            Some(n) if n.is_finite() => Ok(AttrValue::Number(n)),
            _ => Err(reason("must be a text, a number or a boolean")),
        }
    }
}

/// A trigger's condition (`{"field": "props.amount", "op": "gte", "value": 20}`): the field
/// and operator through the core's parsers, the operand's shape through the core's
/// [`Op::takes`] (the rule the server validated it by) and each value through [`scalar`].
fn condition(object: &JsValue) -> Result<PropCondition, String> {
    let key = required(object, "field", PropKey::parse_field)?;
    let op = required(object, "op", Op::parse)?;
    let value = get(object, "value");
    let items = js_sys::Array::is_array(&value).then(|| js_sys::Array::from(&value));
    let shape = if value.is_undefined() || value.is_null() {
        OperandShape::Absent
    } else if let Some(items) = &items {
        OperandShape::List(items.length() as usize)
    } else if value.as_f64().is_some_and(f64::is_finite) {
        OperandShape::Number
    } else {
        OperandShape::Other
    };
    // The core's reasons are the API's; the widget only logs that the offer was skipped.
    op.takes(shape)
        .map_err(|_| refused("value", "does not fit the operator"))?;
    let value = match (op, items) {
        (Op::Exists | Op::Missing, _) => Operand::None,
        (Op::In | Op::Nin, Some(items)) => {
            Operand::Many(items.iter().map(|v| scalar(&v)).collect::<Result<_, _>>()?)
        }
        _ => Operand::One(scalar(&value)?),
    };
    Ok(PropCondition { key, op, value })
}

/// An offer's `trigger` member, `value` (`None`: shown on entry).
pub fn trigger(value: &JsValue) -> Result<Option<Trigger>, String> {
    if value.is_undefined() || value.is_null() {
        return Ok(None);
    }
    let nested = |reason: String| {
        let mut path = String::from("trigger.");
        path.push_str(&reason);
        path
    };
    let event = required(value, "event", EventName::parse).map_err(nested)?;
    let conditions = list(value, "conditions")
        .map_err(nested)?
        .iter()
        .map(condition)
        .collect::<Result<Vec<_>, _>>()
        .map_err(nested)?;
    let delay_ms = bounded(value, "delayMS", 0.0, 86_400_000.0, 0.0).map_err(nested)? as u64;
    Ok(Some(Trigger {
        event,
        conditions,
        delay_ms,
    }))
}

/// One variant as the feed sends it: weight and merged content.
fn variant(object: &JsValue) -> Result<FeedVariant, String> {
    Ok(FeedVariant {
        weight: bounded(object, "weight", 0.0, u32::MAX.into(), 0.0)? as u32,
        content: Translation {
            title: parsed(object, "title", Title::parse_rendered)?,
            text: parsed(object, "text", BodyText::parse_rendered)?,
            link_text: parsed(object, "linkText", ButtonText::parse_rendered)?,
            pic: parsed(object, "pic", HttpUrl::parse)?,
        },
        template_data: template_data(object)?,
    })
}

/// Whether the event's `props` (a JavaScript object) meet `condition`: the property is read
/// with a plain property read and handed to the core's [`PropCondition::holds`] (a string, a
/// boolean or a number as themselves, an object or array as neither; absent or `null`: absent).
pub fn prop_holds(condition: &PropCondition, props: &JsValue) -> bool {
    let Some(object) = props.dyn_ref::<js_sys::Object>() else {
        return condition.holds(None);
    };
    let key = JsValue::from_str(condition.key.as_str());
    if !js_sys::Object::has_own(object, &key) {
        return condition.holds(None);
    }
    let value = get(props, condition.key.as_str());
    let text = value.as_string();
    let actual = if let Some(text) = text.as_deref() {
        Some(Scalar::Text(text))
    } else if let Some(b) = value.as_bool() {
        Some(Scalar::Bool(b))
    } else if let Some(n) = value.as_f64() {
        n.is_finite().then_some(Scalar::Number(n))
    } else if value.is_object() {
        Some(Scalar::Other)
    } else {
        None
    };
    condition.holds(actual)
}

/// The project's caps from a feed body (`caps`, absent: none). A member that is not a whole
/// number counts as not set.
pub fn caps_from(body: &JsValue) -> Caps {
    let caps = get(body, "caps");
    if !caps.is_object() {
        return Caps::default();
    }
    let limit = |name: &str| integer(&caps, name, 0.0).ok().flatten();
    Caps {
        per_session: limit("perSession").map(|n| n as u32),
        per_day: limit("perDay").map(|n| n as u32),
        per_week: limit("perWeek").map(|n| n as u32),
        min_gap_ms: limit("minGapMs").map(|n| n as u64),
    }
}

/// The server's log of this user's recent pop-ups (`recentPopups: [{"id", "at"}]`, absent for
/// an anonymous user); entries it cannot read are left out.
pub fn recent_popups_from(body: &JsValue) -> Vec<PopupShown> {
    list(body, "recentPopups")
        .unwrap_or_default()
        .iter()
        .filter_map(|item| {
            Some(PopupShown {
                id: text(item, "id").ok()??,
                at: required(item, "at", parse_timestamp).ok()?,
                session: 0,
            })
        })
        .collect()
}

fn template_data(object: &JsValue) -> Result<TemplateData, String> {
    let data = get(object, "templateData");
    let mut out = TemplateData::default();
    if data.is_undefined() || data.is_null() {
        return Ok(out);
    }
    if !data.is_object() {
        return Err(refused("templateData", "must be an object"));
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
    let mut offer = untriggered(object)?;
    offer.trigger = trigger(&get(object, "trigger"))?;
    Ok(offer)
}

/// One feed offer read before the first paint: every member but `trigger`, which is handed
/// back unread (`undefined` or `null` when the offer has none). An offer with a trigger never
/// shows before its event, which comes after the first paint, so its trigger is read then, by
/// [`trigger`] in the after-paint module (`crate::after_paint`), and that reader stays off the
/// critical path. (A test send shows at once whatever its trigger; its trigger is checked
/// there too, and the test send taken down if the core rejects it.)
pub fn untriggered_from_js(object: &JsValue) -> Result<(FeedOffer, JsValue), String> {
    Ok((untriggered(object)?, get(object, "trigger")))
}

/// Every member of a feed offer but `trigger` (left `None`).
fn untriggered(object: &JsValue) -> Result<FeedOffer, String> {
    if !object.is_object() {
        return Err(reason("an offer must be an object"));
    }
    let id =
        integer(object, "id", -MAX_SAFE_INTEGER)?.ok_or_else(|| refused("id", "is required"))?;
    let code = integer(object, "template", -MAX_SAFE_INTEGER)?
        .ok_or_else(|| refused("template", "is required"))?;
    let template = Template::from_code(code as i64)
        .ok_or_else(|| refused("template", "must be 10, 11, 12, 13 or 14"))?;
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
        trigger: None,
        priority: bounded(object, "priority", i16::MIN.into(), i16::MAX.into(), 0.0)? as i16,
        variants: list(object, "variants")?
            .iter()
            .map(variant)
            .collect::<Result<_, _>>()
            .map_err(|why| error("variants", &why))?,
        holdout_percent: bounded(object, "holdoutPercent", 0.0, u8::MAX.into(), 0.0)? as u8,
    })
}

/// The offers of a feed body. Each offer is checked on its own: one the core rejects (an unsafe
/// color, a `javascript:` link) is dropped with a console warning naming the field (in the
/// shipped bundle, without the core's reason texts: `templateData.bgColor: rejected`; the API
/// gives the reason when the offer is written) and the others still show.
pub fn offers_from(body: &JsValue) -> Vec<FeedOffer> {
    each_offer(body, offer_from_js)
}

/// [`offers_from`] before the first paint: each offer with its `trigger` member unread
/// ([`untriggered_from_js`]).
pub fn untriggered_offers_from(body: &JsValue) -> Vec<(FeedOffer, JsValue)> {
    each_offer(body, untriggered_from_js)
}

fn each_offer<T>(body: &JsValue, read: impl Fn(&JsValue) -> Result<T, String>) -> Vec<T> {
    let list = get(body, "offers");
    if !js_sys::Array::is_array(&list) {
        return Vec::new();
    }
    js_sys::Array::from(&list)
        .iter()
        .filter_map(|item| read(&item).map_err(|reason| skipped(&reason)).ok())
        .collect()
}

/// The console warning for an offer left out (`reason`: `field: why`).
pub fn skipped(reason: &str) {
    web_sys::console::warn_2(
        &JsValue::from_str("offers: skipped an offer the core rejected:"),
        &JsValue::from_str(reason),
    );
}
