//! The live preview: the widget's own [`OfferCard`] on a mock chat, as a pop-up over it or
//! in-feed among its messages, at phone or desktop width.

use leptos::prelude::*;
use offers_core::FeedOffer;

use crate::card::OfferCard;

/// The preview's width.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Device {
    Phone,
    Desktop,
}

impl Device {
    const fn slug(self) -> &'static str {
        match self {
            Device::Phone => "phone",
            Device::Desktop => "desktop",
        }
    }
}

/// The preview of `offer` (the last valid state of the form's content). `popup` is the
/// form's view; `set_popup` changes it.
#[component]
pub fn Preview(
    offer: Memo<Option<FeedOffer>>,
    popup: Signal<bool>,
    #[prop(into)] set_popup: Callback<bool>,
    /// Whether the form's content is currently invalid (the card then shows its last valid state).
    stale: Signal<bool>,
    /// Why there is no card though the content is valid (e.g. the user previewed as would
    /// not get the offer); `None`: the usual hint to fix the red fields.
    #[prop(optional, into)]
    blocked: Option<Signal<Option<String>>>,
    /// Controls shown above the device (the preview "as user X").
    #[prop(optional)]
    children: Option<Children>,
) -> impl IntoView {
    let blocked = blocked.unwrap_or_else(|| Signal::derive(|| None));
    let extra = children.map(|c| c());
    let device = RwSignal::new(Device::Phone);
    let closed = RwSignal::new(false);
    let clicked = RwSignal::new(None::<String>);

    let card = move |in_feed: bool| {
        move || {
            let wanted = popup.get() != in_feed;
            offer
                .get()
                .filter(|_| wanted && !closed.get())
                .map(|offer| {
                    let link = offer.link.as_str().to_owned();
                    let card = view! {
                        <OfferCard offer=offer popup=!in_feed
                            on_open=move || clicked.set(Some(link.clone()))
                            on_close=move || closed.set(true) />
                    };
                    if in_feed {
                        card.into_any()
                    } else {
                        view! { <div class="chat-mock__layer">{card}</div> }.into_any()
                    }
                })
        }
    };
    let toggle = move |label: &'static str, pressed: Signal<bool>, on: Callback<()>| {
        view! {
            <button type="button" class="toggle" aria-pressed=move || pressed.get().to_string()
                on:click=move |_| on.run(())>{label}</button>
        }
    };

    view! {
        <section class="studio__preview" id="preview" aria-labelledby="preview-heading">
            <h2 id="preview-heading">"Preview"</h2>
            <div class="preview__tools">
                <div role="group" aria-label="Width">
                    {toggle("Phone", Signal::derive(move || device.get() == Device::Phone),
                        Callback::new(move |()| device.set(Device::Phone)))}
                    {toggle("Desktop", Signal::derive(move || device.get() == Device::Desktop),
                        Callback::new(move |()| device.set(Device::Desktop)))}
                </div>
                <div role="group" aria-label="View">
                    {toggle("Pop-up", popup, Callback::new(move |()| set_popup.run(true)))}
                    {toggle("In-feed", Signal::derive(move || !popup.get()),
                        Callback::new(move |()| set_popup.run(false)))}
                </div>
            </div>
            {extra}
            <div class=move || format!("device device--{}", device.get().slug())
                data-device=move || device.get().slug()>
                <div class="chat-mock">
                    <div class="chat-mock__header" aria-hidden="true">"Support chat"</div>
                    <div class="chat-mock__feed">
                        <p class="chat-mock__msg chat-mock__msg--them">"Hi! How can we help?"</p>
                        <p class="chat-mock__msg chat-mock__msg--me">"Any bonuses this week?"</p>
                        {card(true)}
                        <p class="chat-mock__msg chat-mock__msg--them">"Let me check that for you…"</p>
                    </div>
                    <div class="chat-mock__input" aria-hidden="true">"Type a message"</div>
                    {card(false)}
                    {move || offer.with(Option::is_none).then(|| view! {
                        <p class="chat-mock__empty">{move || blocked.get().unwrap_or_else(|| "Fix the red fields to see the preview.".to_owned())}</p>
                    })}
                </div>
            </div>
            <p class="preview__status" role="status">
                {move || stale.get().then_some("The preview shows the last valid content; fix the red fields to update it. ")}
                {move || closed.get().then(|| view! {
                    "The pop-up was closed. "
                    <button type="button" class="link" on:click=move |_| closed.set(false)>"Show it again"</button>
                })}
                {move || clicked.get().map(|link| format!("A click opens {link}."))}
            </p>
            <p class="preview__explain">
                "Would a published offer show in a given room, and why not? "
                <a href="#explain">"Why shown / why not"</a>
            </p>
        </section>
    }
}
