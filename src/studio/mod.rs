//! The Studio (SPEC §5), built by Trunk from `index.html` and `src/main.rs`: designers edit an
//! offer and see it rendered by the widget's own [`OfferCard`], with every field green when the
//! core accepts it and red with the core's reason when not.

mod form;

use leptos::prelude::*;
use offers_core::{FeedOffer, Offer, OfferDraft, validate};

use crate::card::OfferCard;
use form::{FIELDS, FieldKind, FieldSpec};

/// The Studio page.
#[component]
pub fn Studio() -> impl IntoView {
    let values: Vec<(&'static FieldSpec, RwSignal<String>)> = FIELDS
        .iter()
        .map(|field| (field, RwSignal::new(field.initial.to_owned())))
        .collect();
    let start_time = chrono::DateTime::from_timestamp_millis(js_sys::Date::now() as i64)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let signals = values.clone();
    let draft = Memo::new(move |_| form::draft_from(&signals, &start_time));
    let result = Memo::new(move |_| validate(&draft.get()));
    // The preview keeps showing the last valid offer while a field is being fixed.
    let preview = Memo::new(
        move |previous: Option<&Option<FeedOffer>>| match result.get() {
            Ok(spec) => Some(FeedOffer::from(&Offer { id: 0, spec })),
            Err(_) => previous.cloned().flatten(),
        },
    );
    let popup = RwSignal::new(true);

    let rows = values
        .into_iter()
        .map(|(field, value)| {
            let error = Memo::new(move |_| {
                result.with(|r| r.as_ref().err().and_then(|e| e.get(field.key).map(str::to_owned)))
            });
            let class = move || if error.get().is_some() { "field field--bad" } else { "field field--ok" };
            let input = match field.kind {
                FieldKind::Text | FieldKind::Color => view! {
                    <input id=field.key name=field.key type="text" prop:value=move || value.get()
                        on:input=move |ev| value.set(event_target_value(&ev)) />
                }
                .into_any(),
                FieldKind::Choice(options) => view! {
                    <select id=field.key name=field.key on:change=move |ev| value.set(event_target_value(&ev))>
                        {options.iter().map(|(v, label)| view! {
                            <option value=*v selected=move || value.get() == *v>{*label}</option>
                        }).collect_view()}
                    </select>
                }
                .into_any(),
            };
            let counter = field.limit.map(|limit| {
                view! { <span class="field__count">{move || format!("{} left", limit as i64 - value.with(|v| v.chars().count()) as i64)}</span> }
            });
            view! {
                <div class=class data-field=field.key>
                    <label for=field.key>{field.label}</label>
                    {input}
                    {counter}
                    <span class="field__reason">{move || error.get().unwrap_or_else(|| "ok".to_owned())}</span>
                </div>
            }
        })
        .collect_view();

    view! {
        <main class="studio">
            <section class="studio__form" aria-label="Offer">
                <h1>"Offers Studio"</h1>
                {rows}
            </section>
            <section class="studio__preview" aria-label="Preview">
                <div class="studio__views">
                    <button type="button" aria-pressed=move || popup.get().to_string() on:click=move |_| popup.set(true)>"Pop-up"</button>
                    <button type="button" aria-pressed=move || (!popup.get()).to_string() on:click=move |_| popup.set(false)>"In-feed"</button>
                </div>
                <div class="chat-mock">
                    <p class="chat-mock__msg">"Hi! How can we help?"</p>
                    {move || preview.get().map(|offer| view! {
                        <OfferCard offer=offer popup=popup.get() on_open=|| () on_close=|| () />
                    })}
                    {move || preview.with(Option::is_none).then(|| view! {
                        <p class="chat-mock__empty">"Fix the red fields to see the preview."</p>
                    })}
                </div>
            </section>
        </main>
    }
}

/// The draft the Studio would publish (exposed for tests).
pub fn draft_of(pairs: &[(&str, &str)], start_time: &str) -> OfferDraft {
    form::draft_from_pairs(pairs, start_time)
}
