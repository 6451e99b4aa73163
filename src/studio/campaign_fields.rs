//! The campaign fields of the Studio form (SPEC §9): the trigger (event, condition rows,
//! delay) and the priority on the schedule step; the A/B variants (weight and the texts that
//! differ) and the holdout on the content step; and the variant picker of the preview.
//!
//! As for the rest of the form, the form keys are the core's error keys (`trigger.event`,
//! `trigger.conditions[0].op`, `variants[1].title`), so each field shows
//! `offers_core::validate`'s reason next to it; nothing here decides what is valid, it only
//! lays form text out on the wire and back.

use leptos::prelude::*;
use offers_core::api::OfferCampaign;
use offers_core::campaign::variant::MAX_VARIANTS;
use offers_core::segment::Op;
use offers_core::text::{BODY_MAX_CHARS, BUTTON_MAX_CHARS, TITLE_MAX_CHARS};
use offers_core::{FeedOffer, FieldErrors};
use serde_json::{Map, Value, json};

use super::form::{self, FormState};

/// The form keys of the campaign fields that are not rows.
pub const PRIORITY: &str = "priority";
/// The holdout share, in percent.
pub const HOLDOUT: &str = "holdoutPercent";
/// The trigger's event name (empty: on entry).
pub const EVENT: &str = "trigger.event";
/// The trigger's delay, in seconds on the form (`delayMS` on the wire).
pub const DELAY: &str = "trigger.delayMS";

/// A variant's text fields: wire name, label, length limit, several lines.
const VARIANT_FIELDS: [(&str, &str, Option<usize>, bool); 4] = [
    ("title", "Title", Some(TITLE_MAX_CHARS), false),
    ("text", "Text", Some(BODY_MAX_CHARS), true),
    ("linkText", "Button text", Some(BUTTON_MAX_CHARS), false),
    ("pic", "Image URL", None, false),
];

/// The form key of member `member` of condition `index` (`trigger.conditions[0].op`).
pub fn condition_key(index: usize, member: &str) -> String {
    format!("trigger.conditions[{index}].{member}")
}

/// The form key of member `member` of variant `index` (`variants[1].title`).
pub fn variant_key(index: usize, member: &str) -> String {
    format!("variants[{index}].{member}")
}

/// How many rows `prefix[i].…` the form holds.
fn rows(form: &FormState, prefix: &str) -> usize {
    form.values
        .keys()
        .filter_map(|key| key.strip_prefix(prefix)?.strip_prefix('['))
        .filter_map(|rest| rest.split(']').next()?.parse::<usize>().ok())
        .map(|i| i + 1)
        .max()
        .unwrap_or(0)
}

/// How many condition rows the trigger has.
pub fn condition_count(form: &FormState) -> usize {
    rows(form, "trigger.conditions")
}

/// How many variants the form has.
pub fn variant_count(form: &FormState) -> usize {
    rows(form, "variants")
}

/// Removes row `index` of `prefix` and moves the later rows up.
fn remove_row(form: &mut FormState, prefix: &str, index: usize) {
    let count = rows(form, prefix);
    let mut moved = std::collections::BTreeMap::new();
    form.values.retain(|key, value| {
        let Some(rest) = key
            .strip_prefix(prefix)
            .and_then(|rest| rest.strip_prefix('['))
        else {
            return true;
        };
        let Some((number, member)) = rest.split_once("].") else {
            return true;
        };
        match number.parse::<usize>() {
            Ok(i) if i == index => false,
            Ok(i) if i > index && i < count => {
                moved.insert(format!("{prefix}[{}].{member}", i - 1), value.clone());
                false
            }
            _ => true,
        }
    });
    form.values.extend(moved);
}

/// Adds an empty condition row (`exists` on no property yet).
pub fn add_condition(form: &mut FormState) {
    let i = condition_count(form);
    form.set(&condition_key(i, "field"), "");
    form.set(&condition_key(i, "op"), "eq");
    form.set(&condition_key(i, "value"), "");
}

/// Removes condition row `index`.
pub fn remove_condition(form: &mut FormState, index: usize) {
    remove_row(form, "trigger.conditions", index);
}

/// Adds a variant of weight 50 that changes nothing yet (the first one added also adds a
/// second: an offer has none or at least two).
pub fn add_variant(form: &mut FormState) {
    let wanted = if variant_count(form) == 0 { 2 } else { 1 };
    for _ in 0..wanted {
        let i = variant_count(form);
        if i >= MAX_VARIANTS {
            return;
        }
        form.set(&variant_key(i, "weight"), "50");
    }
}

/// Removes variant `index`.
pub fn remove_variant(form: &mut FormState, index: usize) {
    remove_row(form, "variants", index);
}

/// A typed value: a number, `true` / `false`, or else the text.
fn typed(text: &str) -> Value {
    let text = text.trim();
    match text {
        "true" => Value::Bool(true),
        "false" => Value::Bool(false),
        _ => serde_json::from_str::<serde_json::Number>(text)
            .map_or_else(|_| json!(text), Value::Number),
    }
}

/// A whole number typed in the form, else the text as typed (for the core to word the error).
fn integer(text: &str) -> Value {
    text.trim()
        .parse::<i64>()
        .map_or_else(|_| json!(text), Value::from)
}

/// The campaign fields of the body: `priority`, `holdoutPercent` (when typed), `trigger`
/// (when an event or a condition is typed) and `variants` (when the form has some).
pub fn body_parts(form: &FormState, body: &mut Map<String, Value>) {
    for key in [PRIORITY, HOLDOUT] {
        let text = form.get(key);
        if !text.trim().is_empty() {
            body.insert(key.to_owned(), integer(text));
        }
    }
    let conditions: Vec<Value> = (0..condition_count(form))
        .map(|i| {
            let op = form.get(&condition_key(i, "op")).trim().to_owned();
            let mut condition = Map::new();
            let key = form.get(&condition_key(i, "field")).trim();
            condition.insert("field".into(), json!(format!("props.{key}")));
            let value = form.get(&condition_key(i, "value"));
            match op.as_str() {
                "exists" | "missing" => {}
                "in" | "nin" => {
                    let items = form::split_ids(value).map(typed).collect();
                    condition.insert("value".into(), Value::Array(items));
                }
                _ if !value.trim().is_empty() => {
                    condition.insert("value".into(), typed(value));
                }
                _ => {}
            }
            condition.insert("op".into(), json!(op));
            Value::Object(condition)
        })
        .collect();
    let event = form.get(EVENT).trim();
    if !event.is_empty() || !conditions.is_empty() {
        let mut trigger = Map::new();
        trigger.insert("event".into(), json!(event));
        trigger.insert("conditions".into(), Value::Array(conditions));
        let delay = form.get(DELAY);
        if !delay.trim().is_empty() {
            trigger.insert("delayMS".into(), form::milliseconds(delay));
        }
        body.insert("trigger".into(), Value::Object(trigger));
    }
    let variants: Vec<Value> = (0..variant_count(form))
        .map(|i| {
            let mut variant = Map::new();
            variant.insert(
                "weight".into(),
                integer(form.get(&variant_key(i, "weight"))),
            );
            for (field, ..) in VARIANT_FIELDS {
                let text = form.get(&variant_key(i, field));
                if !text.trim().is_empty() {
                    variant.insert(field.into(), json!(text));
                }
            }
            let data = form.get(&variant_key(i, "templateData"));
            if let Ok(Value::Object(data)) = serde_json::from_str::<Value>(data) {
                variant.insert("templateData".into(), Value::Object(data));
            }
            Value::Object(variant)
        })
        .collect();
    if !variants.is_empty() {
        body.insert("variants".into(), Value::Array(variants));
    }
}

/// The form's text of a typed value (the inverse of [`typed`]).
fn text_of(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// Sets the campaign fields from a body's (or an offer's) `priority`, `holdoutPercent`,
/// `trigger` and `variants`, replacing what the form had.
pub fn set_from_body(form: &mut FormState, body: &Map<String, Value>) {
    form.values.retain(|key, _| {
        !(key.starts_with("trigger.")
            || key.starts_with("variants[")
            || key == PRIORITY
            || key == HOLDOUT)
    });
    for key in [PRIORITY, HOLDOUT] {
        match body.get(key) {
            Some(Value::Number(n)) if n.as_i64() == Some(0) => {}
            Some(value) => form.set(key, text_of(value)),
            None => {}
        }
    }
    if let Some(Value::Object(trigger)) = body.get("trigger") {
        form.set(EVENT, trigger.get("event").map(text_of).unwrap_or_default());
        if let Some(delay) = trigger.get("delayMS").and_then(Value::as_u64)
            && delay > 0
        {
            form.set(DELAY, form::seconds(delay));
        }
        if let Some(Value::Array(conditions)) = trigger.get("conditions") {
            for (i, condition) in conditions.iter().enumerate() {
                let field = condition.get("field").map(text_of).unwrap_or_default();
                let key = field.strip_prefix("props.").unwrap_or(&field).to_owned();
                form.set(&condition_key(i, "field"), key);
                form.set(
                    &condition_key(i, "op"),
                    condition.get("op").map(text_of).unwrap_or_default(),
                );
                let value = match condition.get("value") {
                    Some(Value::Array(items)) => {
                        items.iter().map(text_of).collect::<Vec<_>>().join(", ")
                    }
                    Some(value) => text_of(value),
                    None => String::new(),
                };
                form.set(&condition_key(i, "value"), value);
            }
        }
    }
    if let Some(Value::Array(variants)) = body.get("variants") {
        for (i, variant) in variants.iter().enumerate() {
            form.set(
                &variant_key(i, "weight"),
                variant.get("weight").map(text_of).unwrap_or_default(),
            );
            for (field, ..) in VARIANT_FIELDS {
                if let Some(value) = variant.get(field) {
                    form.set(&variant_key(i, field), text_of(value));
                }
            }
            if let Some(data @ Value::Object(_)) = variant.get("templateData") {
                form.set(&variant_key(i, "templateData"), data.to_string());
            }
        }
    }
}

/// Sets the campaign fields from a published offer's.
pub fn set_from_offer(form: &mut FormState, campaign: &OfferCampaign) {
    if let Ok(Value::Object(body)) = serde_json::to_value(campaign) {
        set_from_body(form, &body);
    }
}

/// Whether an error key belongs to the campaign fields of the schedule step.
pub fn on_schedule_step(key: &str) -> bool {
    key == PRIORITY || key == "trigger" || key.starts_with("trigger.")
}

/// Whether an error key belongs to the campaign fields of the content step.
pub fn on_content_step(key: &str) -> bool {
    key == HOLDOUT || key == "variants" || key.starts_with("variants[")
}

/// The label of a campaign error key, e.g. "Variant 2: title", "Trigger condition 1: op".
pub fn label_of(key: &str) -> Option<String> {
    let row = |rest: &str| -> Option<(usize, String)> {
        let (number, member) = rest.strip_prefix('[')?.split_once(']')?;
        Some((
            number.parse::<usize>().ok()? + 1,
            member.trim_start_matches('.').to_owned(),
        ))
    };
    Some(match key {
        PRIORITY => "Priority".to_owned(),
        HOLDOUT => "Holdout".to_owned(),
        "trigger" => "Trigger".to_owned(),
        EVENT => "Trigger event".to_owned(),
        DELAY => "Trigger delay".to_owned(),
        "variants" => "Variants".to_owned(),
        _ => {
            if let Some((n, member)) = key.strip_prefix("trigger.conditions").and_then(row) {
                format!("Trigger condition {n}: {member}")
            } else if let Some((n, member)) = key.strip_prefix("variants").and_then(row) {
                format!("Variant {n}: {member}")
            } else {
                return None;
            }
        }
    })
}

/// One text input of a campaign field, with the core's verdict next to it.
#[component]
fn Input(
    form: RwSignal<FormState>,
    errors: Memo<FieldErrors>,
    key: String,
    label: String,
    #[prop(optional)] hint: &'static str,
    #[prop(optional)] long: bool,
    #[prop(default = None)] limit: Option<usize>,
    #[prop(optional)] kind: &'static str,
) -> impl IntoView {
    let id = key.replace(['.', '[', ']'], "-");
    let value = Memo::new({
        let key = key.clone();
        move |_| form.with(|f| f.get(&key).to_owned())
    });
    let error = Memo::new({
        let key = key.clone();
        move |_| errors.with(|e| form::error_for(e, &key))
    });
    let set = {
        let key = key.clone();
        move |text: String| form.update(|f| f.set(&key, text))
    };
    let reason_id = format!("{id}-reason");
    let described = reason_id.clone();
    let invalid = move || error.with(Option::is_some).to_string();
    let input = if long {
        view! {
            <textarea id=id.clone() rows="2" aria-describedby=described aria-invalid=invalid
                prop:value=move || value.get()
                on:input=move |ev| set(event_target_value(&ev))></textarea>
        }
        .into_any()
    } else {
        view! {
            <input type=if kind.is_empty() { "text" } else { kind } id=id.clone() autocomplete="off"
                aria-describedby=described aria-invalid=invalid
                prop:value=move || value.get()
                on:input=move |ev| set(event_target_value(&ev)) />
        }
        .into_any()
    };
    let counter = limit.map(|limit| {
        view! {
            <span class="field__count">
                {move || {
                    let left = value.with(|v| form::remaining(v, limit));
                    if left >= 0 { format!("{left} characters left") } else { format!("{} characters too many", -left) }
                }}
            </span>
        }
    });
    let hint = (!hint.is_empty()).then(|| view! { <span class="field__hint">{hint}</span> });
    view! {
        <div class=move || if error.with(Option::is_some) { "field field--bad" } else { "field field--ok" }
            data-field=key.clone()>
            <label for=id>{label}</label>
            {input}
            {counter}
            {hint}
            <span class="field__reason" id=reason_id>
                {move || error.get().unwrap_or_else(|| "ok".to_owned())}
            </span>
        </div>
    }
}

/// The trigger (event, conditions, delay) and the priority: the schedule step's campaign
/// fields.
#[component]
pub fn TriggerFields(form: RwSignal<FormState>, errors: Memo<FieldErrors>) -> impl IntoView {
    let count = Memo::new(move |_| form.with(condition_count));
    let whole = Memo::new(move |_| errors.with(|e| e.get("trigger").map(str::to_owned)));
    let row = move |i: usize| {
        let op_key = condition_key(i, "op");
        let op_id = op_key.replace(['.', '[', ']'], "-");
        let current = Memo::new({
            let op_key = op_key.clone();
            move |_| form.with(|f| f.get(&op_key).to_owned())
        });
        let op_error = Memo::new({
            let op_key = op_key.clone();
            move |_| errors.with(|e| e.get(&op_key).map(str::to_owned))
        });
        let options = Op::ALL
            .iter()
            .map(|op| {
                let name = op.as_str();
                view! { <option value=name selected=move || current.get() == name>{name}</option> }
            })
            .collect_view();
        let takes_value = move || !matches!(current.get().as_str(), "exists" | "missing");
        view! {
            <fieldset class="trigger__condition" data-row=i>
                <legend>{format!("Condition {}", i + 1)}</legend>
                <Input form=form errors=errors key=condition_key(i, "field")
                    label="Property (props.…)".to_owned() hint="The name the host passes to Offers.track, e.g. amount" />
                <div class=move || if op_error.with(Option::is_some) { "field field--bad" } else { "field field--ok" }>
                    <label for=op_id.clone()>"Operator"</label>
                    <select id=op_id on:change=move |ev| {
                        let value = event_target_value(&ev);
                        form.update(|f| f.set(&op_key, value));
                    }>{options}</select>
                    <span class="field__reason">{move || op_error.get().unwrap_or_else(|| "ok".to_owned())}</span>
                </div>
                <Show when=takes_value>
                    <Input form=form errors=errors key=condition_key(i, "value")
                        label="Value".to_owned() hint="A number, true/false or a text; for in / nin several, comma-separated" />
                </Show>
                <button type="button" class="btn" on:click=move |_| form.update(|f| remove_condition(f, i))>
                    "Remove condition"
                </button>
            </fieldset>
        }
    };
    view! {
        <section class="campaign campaign--trigger" aria-labelledby="campaign-trigger-heading">
            <h3 id="campaign-trigger-heading">"Trigger and priority"</h3>
            <Input form=form errors=errors key=EVENT.to_owned() label="Show after the event".to_owned()
                hint="Empty: shown on entry. Otherwise the event the host reports with Offers.track(name, props), e.g. deposit_failed" />
            {move || whole.get().map(|reason| view! { <p class="field__reason field--bad">{reason}</p> })}
            {move || (0..count.get()).map(row).collect_view()}
            <button type="button" class="btn" on:click=move |_| form.update(add_condition)>"Add a condition"</button>
            <Input form=form errors=errors key=DELAY.to_owned() label="Delay after the event (seconds)".to_owned()
                kind="number" />
            <Input form=form errors=errors key=PRIORITY.to_owned() label="Priority".to_owned() kind="number"
                hint="-1000 to 1000 (default 0): of the pop-ups due at the same moment, the highest goes first" />
        </section>
    }
}

/// The variants (weight and the texts that differ from the offer's) and the holdout: the
/// content step's campaign fields.
#[component]
pub fn VariantFields(form: RwSignal<FormState>, errors: Memo<FieldErrors>) -> impl IntoView {
    let count = Memo::new(move |_| form.with(variant_count));
    let whole = Memo::new(move |_| errors.with(|e| e.get("variants").map(str::to_owned)));
    let row = move |i: usize| {
        let fields = VARIANT_FIELDS
            .iter()
            .map(|(field, label, limit, long)| {
                view! {
                    <Input form=form errors=errors key=variant_key(i, field) label=(*label).to_owned()
                        limit=*limit long=*long
                        hint="Empty: the offer's own is used." />
                }
            })
            .collect_view();
        view! {
            <fieldset class="variant" data-row=i>
                <legend>{format!("Variant {}", i + 1)}</legend>
                <Input form=form errors=errors key=variant_key(i, "weight") label="Weight".to_owned() kind="number"
                    hint="1 to 100: its share of the users, relative to the other variants'" />
                {fields}
                <button type="button" class="btn" on:click=move |_| form.update(|f| remove_variant(f, i))>
                    "Remove variant"
                </button>
            </fieldset>
        }
    };
    view! {
        <section class="campaign campaign--variants" aria-labelledby="campaign-variants-heading">
            <h3 id="campaign-variants-heading">"A/B variants"</h3>
            {move || whole.get().map(|reason| view! { <p class="field__reason field--bad">{reason}</p> })}
            {move || (0..count.get()).map(row).collect_view()}
            <Show when=move || { count.get() < MAX_VARIANTS }>
                <button type="button" class="btn" on:click=move |_| form.update(add_variant)>"Add a variant"</button>
            </Show>
            <Input form=form errors=errors key=HOLDOUT.to_owned() label="Holdout (%)".to_owned() kind="number"
                hint="0 to 50: that share of users sees nothing of this offer" />
        </section>
    }
}

/// The preview's variant picker: "Offer's own" or one of the variants, for the card.
#[component]
pub fn VariantPicker(
    offer: Memo<Option<FeedOffer>>,
    picked: RwSignal<Option<usize>>,
) -> impl IntoView {
    let count = Memo::new(move |_| offer.with(|o| o.as_ref().map_or(0, |o| o.variants.len())));
    view! {
        <Show when=move || { count.get() > 0 }>
            <label class="variant-picker">
                "Preview "
                <select on:change=move |ev| picked.set(event_target_value(&ev).parse::<usize>().ok())>
                    <option value="" selected=move || picked.get().is_none()>"the offer's own content"</option>
                    {move || (0..count.get()).map(|i| view! {
                        <option value=i.to_string() selected=move || picked.get() == Some(i)>
                            {format!("variant {}", i + 1)}
                        </option>
                    }).collect_view()}
                </select>
            </label>
        </Show>
    }
}

/// The preview's offer with the picked variant's content (the offer's own when none is
/// picked or it no longer exists).
pub fn previewed(offer: Option<FeedOffer>, picked: Option<usize>) -> Option<FeedOffer> {
    offer.map(|o| o.with_variant(picked))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(text: &str) -> Option<String> {
        Some(text.to_owned())
    }

    fn form() -> FormState {
        FormState::new("2026-11-21T10:00:00.000Z")
    }

    #[test]
    fn the_fields_reach_the_body_and_come_back() {
        let mut f = form();
        f.set(EVENT, "deposit_failed");
        add_condition(&mut f);
        f.set(&condition_key(0, "field"), "amount");
        f.set(&condition_key(0, "op"), "gte");
        f.set(&condition_key(0, "value"), "20");
        add_condition(&mut f);
        f.set(&condition_key(1, "field"), "plan");
        f.set(&condition_key(1, "op"), "in");
        f.set(&condition_key(1, "value"), "gold, vip");
        f.set(DELAY, "1.5");
        f.set(PRIORITY, "7");
        f.set(HOLDOUT, "10");
        add_variant(&mut f);
        f.set(&variant_key(0, "title"), "Variant A");
        f.set(&variant_key(1, "weight"), "30");
        let mut body = Map::new();
        body_parts(&f, &mut body);
        assert_eq!(
            body["trigger"],
            json!({"event": "deposit_failed", "conditions": [
                {"field": "props.amount", "op": "gte", "value": 20},
                {"field": "props.plan", "op": "in", "value": ["gold", "vip"]}
            ], "delayMS": 1500})
        );
        assert_eq!(
            (&body["priority"], &body["holdoutPercent"]),
            (&json!(7), &json!(10))
        );
        assert_eq!(
            body["variants"],
            json!([{"weight": 50, "title": "Variant A"}, {"weight": 30}])
        );
        let draft = f.draft(&utc);
        let spec = offers_core::validate(&draft).expect("valid");
        assert_eq!(spec.variants.len(), 2);
        assert_eq!(spec.trigger.as_ref().unwrap().delay_ms, 1500);

        let mut back = form();
        set_from_body(&mut back, &body);
        let mut again = Map::new();
        body_parts(&back, &mut again);
        assert_eq!(again, body);

        remove_condition(&mut back, 0);
        assert_eq!(condition_count(&back), 1);
        assert_eq!(back.get(&condition_key(0, "field")), "plan");
        remove_variant(&mut back, 0);
        assert_eq!(variant_count(&back), 1);
        assert_eq!(back.get(&variant_key(0, "weight")), "30");
    }

    #[test]
    fn the_cores_errors_name_the_rows() {
        let mut f = form();
        f.set(EVENT, "bad name");
        add_condition(&mut f);
        f.set(&condition_key(0, "field"), "amount");
        f.set(&condition_key(0, "op"), "gte");
        f.set(&condition_key(0, "value"), "x");
        add_condition(&mut f);
        add_variant(&mut f);
        f.set(&variant_key(1, "weight"), "0");
        let errors = offers_core::validate(&f.draft(&utc)).unwrap_err();
        for key in [
            EVENT,
            "trigger.conditions[0].value",
            "trigger.conditions[1].field",
            "variants[1].weight",
        ] {
            assert!(errors.get(key).is_some(), "{key}: {errors}");
            assert!(label_of(key).is_some(), "{key}");
        }
        assert_eq!(
            label_of("variants[1].title").as_deref(),
            Some("Variant 2: title")
        );
        assert!(on_schedule_step("trigger.conditions[0].op"));
        assert!(on_content_step("variants[0].weight"));
        assert_eq!(form::step_of("trigger.event"), form::Step::Schedule);
        assert_eq!(form::step_of("variants[1].title"), form::Step::Content);
        assert_eq!(form::step_of("holdoutPercent"), form::Step::Content);
        assert_eq!(form::label_of("priority"), "Priority");
    }

    #[test]
    fn no_campaign_fields_no_body_members() {
        let mut body = Map::new();
        body_parts(&form(), &mut body);
        assert!(body.is_empty(), "{body:?}");
        let patch = form().patch_body(&utc);
        assert_eq!(patch["trigger"], Value::Null, "a PATCH clears the trigger");
        assert_eq!(patch["variants"], Value::Null);
    }
}
