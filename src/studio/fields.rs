//! One form field, wired: the input for its kind, a remaining-characters counter, a hint,
//! and the core's verdict (green "ok" or red with the reason), tied to the input with
//! `aria-describedby`.

use leptos::prelude::*;

use super::form::{self, FieldKind, FieldSpec, FormState};

/// A field of the form. `error` is the core's (or the API's) reason, `None` when valid.
#[component]
pub fn FieldRow(
    spec: &'static FieldSpec,
    form: RwSignal<FormState>,
    #[prop(into)] error: Signal<Option<String>>,
    /// Shown under the input (e.g. an upload button).
    #[prop(optional)]
    children: Option<Children>,
) -> impl IntoView {
    let key = spec.key;
    let id = spec.dom_id();
    let value = Memo::new(move |_| form.with(|f| f.get(key).to_owned()));
    let applies = Memo::new(move |_| form.with(|f| f.applies(spec)));
    let set = move |text: String| form.update(|f| f.set(key, text));
    let invalid = move || error.with(Option::is_some);
    let class = move || {
        if invalid() {
            "field field--bad"
        } else {
            "field field--ok"
        }
    };

    let reason_id = format!("{id}-reason");
    let count_id = format!("{id}-count");
    let hint_id = format!("{id}-hint");
    let mut described = vec![reason_id.clone()];
    if spec.limit.is_some() {
        described.push(count_id.clone());
    }
    if !spec.hint.is_empty() {
        described.push(hint_id.clone());
    }
    let described = described.join(" ");

    let counter = spec.limit.map(|limit| {
        view! {
            <span class="field__count" id=count_id>
                {move || {
                    let left = value.with(|v| form::remaining(v, limit));
                    if left >= 0 {
                        format!("{left} characters left")
                    } else {
                        format!("{} characters too many", -left)
                    }
                }}
            </span>
        }
    });
    let hint = (!spec.hint.is_empty())
        .then(|| view! { <span class="field__hint" id=hint_id>{spec.hint}</span> });
    let reason = view! {
        <span class="field__reason" id=reason_id>
            {move || error.get().unwrap_or_else(|| "ok".to_owned())}
        </span>
    };
    let extra = children.map(|c| view! { <div class="field__extra">{c()}</div> });

    if let FieldKind::Radio(options) = spec.kind {
        let choices = options
            .iter()
            .map(|(option, label)| {
                let option_id = format!("{id}-{}", option.to_ascii_lowercase().replace('_', "-"));
                view! {
                    <span class="choice">
                        <input type="radio" id=option_id.clone() name=key value=*option
                            prop:checked=move || value.with(|v| v == option)
                            on:change=move |_| set((*option).to_owned()) />
                        <label for=option_id>{*label}</label>
                    </span>
                }
            })
            .collect_view();
        return view! {
            <fieldset class=class data-field=key hidden=move || !applies.get()
                aria-describedby=described aria-invalid=move || invalid().to_string()>
                <legend>{spec.label}</legend>
                <div class="choices">{choices}</div>
                {hint}
                {reason}
            </fieldset>
        }
        .into_any();
    }

    let input = match spec.kind {
        FieldKind::LongText | FieldKind::Ids => view! {
            <textarea id=id.clone() name=key rows="3" aria-describedby=described.clone()
                aria-invalid=move || invalid().to_string()
                prop:value=move || value.get()
                on:input=move |ev| set(event_target_value(&ev))></textarea>
        }
        .into_any(),
        FieldKind::Select(options) => view! {
            <select id=id.clone() name=key aria-describedby=described.clone()
                aria-invalid=move || invalid().to_string()
                on:change=move |ev| set(event_target_value(&ev))>
                {options.iter().map(|(option, label)| view! {
                    <option value=*option prop:selected=move || value.with(|v| v == option)>{*label}</option>
                }).collect_view()}
            </select>
        }
        .into_any(),
        FieldKind::Color => view! {
            <span class="color-input">
                <input type="text" id=id.clone() name=key spellcheck="false" autocomplete="off"
                    aria-describedby=described.clone() aria-invalid=move || invalid().to_string()
                    prop:value=move || value.get()
                    on:input=move |ev| set(event_target_value(&ev)) />
                <input type="color" id=format!("{id}-picker") aria-label=format!("{}: color picker", spec.label)
                    prop:value=move || value.with(|v| form::picker_value(v))
                    on:input=move |ev| {
                        let picked = event_target_value(&ev);
                        set(value.with_untracked(|v| form::picked_color(v, &picked)));
                    } />
            </span>
        }
        .into_any(),
        FieldKind::DateTime => view! {
            <input type="datetime-local" step="1" id=id.clone() name=key
                aria-describedby=described.clone() aria-invalid=move || invalid().to_string()
                prop:value=move || value.get()
                on:input=move |ev| set(event_target_value(&ev)) />
        }
        .into_any(),
        FieldKind::Seconds => view! {
            <input type="number" min="0" step="any" inputmode="decimal" id=id.clone() name=key
                aria-describedby=described.clone() aria-invalid=move || invalid().to_string()
                prop:value=move || value.get()
                on:input=move |ev| set(event_target_value(&ev)) />
        }
        .into_any(),
        FieldKind::Url => view! {
            <input type="url" id=id.clone() name=key spellcheck="false" autocomplete="off"
                aria-describedby=described.clone() aria-invalid=move || invalid().to_string()
                prop:value=move || value.get()
                on:input=move |ev| set(event_target_value(&ev)) />
        }
        .into_any(),
        FieldKind::Text | FieldKind::Segments | FieldKind::Radio(_) => view! {
            <input type="text" id=id.clone() name=key autocomplete="off"
                aria-describedby=described.clone() aria-invalid=move || invalid().to_string()
                prop:value=move || value.get()
                on:input=move |ev| set(event_target_value(&ev)) />
        }
        .into_any(),
    };

    view! {
        <div class=class data-field=key hidden=move || !applies.get()>
            <label for=id>{spec.label}</label>
            {input}
            {counter}
            {hint}
            {reason}
            {extra}
        </div>
    }
    .into_any()
}
