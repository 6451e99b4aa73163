//! One offer, rendered: templates 10–14, alignment, colors and gradient (SPEC §2).
//!
//! Shared by the widget and the Studio preview, so designers see exactly what users will.
//! Colors reach the page only as CSS custom properties set through the CSSOM (no `style`
//! attribute, so a strict `style-src` CSP holds) and only as values the core's grammar accepted:
//! the [`FeedOffer`] fields are `offers-core` newtypes that cannot hold anything else.

use leptos::prelude::*;
use offers_core::{Alignment, FeedOffer, Template, TemplateData, decimal};
use wasm_bindgen::JsCast;

/// The custom properties a card's stylesheet reads, with their values for this offer.
pub fn css_vars(data: &TemplateData) -> Vec<(&'static str, String)> {
    let background = match (
        data.gradient,
        &data.gradient_from,
        &data.gradient_to,
        &data.gradient_direction,
    ) {
        (true, Some(from), Some(to), Some(direction)) => [
            "linear-gradient(",
            direction.as_str(),
            ", ",
            from.as_str(),
            ", ",
            to.as_str(),
            ")",
        ]
        .concat(),
        _ => data.bg_color.as_str().to_owned(),
    };
    vec![
        ("--offer-bg", background),
        ("--offer-text", data.text_color.as_str().to_owned()),
        ("--offer-btn", data.btn_color.as_str().to_owned()),
        ("--offer-btn-text", data.btn_text_color.as_str().to_owned()),
    ]
}

/// The card's class list: template, alignment and view.
pub fn card_classes(offer: &FeedOffer, popup: bool) -> String {
    let align = match offer.template_data.alignment {
        Alignment::Left => "left",
        Alignment::Center => "center",
        Alignment::Right => "right",
    };
    let view = if popup { "popup" } else { "in-feed" };
    // Concatenated, not `format!`: nothing on the paint path pulls in `core::fmt`.
    [
        "offer offer--t",
        &decimal(offer.template.code().into()),
        " offer--align-",
        align,
        " offer--",
        view,
    ]
    .concat()
}

/// Leptos directive: sets CSS custom properties through `CSSStyleDeclaration.setProperty`.
pub fn set_css_vars(el: web_sys::Element, vars: Vec<(&'static str, String)>) {
    if let Some(el) = el.dyn_ref::<web_sys::HtmlElement>() {
        let style = el.style();
        for (name, value) in vars {
            let _ = style.set_property(name, &value);
        }
    }
}

/// An offer card. `on_open` runs on the button (or, for the image-only template, on the
/// banner); `on_close` adds the close button.
#[component]
pub fn OfferCard(
    /// The offer (the widget's pop-up layer shares its own; a `FeedOffer` converts).
    #[prop(into)]
    offer: std::sync::Arc<FeedOffer>,
    /// Pop-up (a dialog over the chat) or in-feed (an article among the messages).
    #[prop(optional)]
    popup: bool,
    #[prop(into)] on_open: Callback<()>,
    #[prop(optional, into)] on_close: Option<Callback<()>>,
) -> impl IntoView {
    let classes = card_classes(&offer, popup);
    let vars = css_vars(&offer.template_data);
    let title = offer.title.as_ref().map(|t| t.as_str().to_owned());
    let text = offer.text.as_ref().map(|t| t.as_str().to_owned());
    let button = offer.link_text.as_ref().map(|t| t.as_str().to_owned());
    let name = title
        .clone()
        .or_else(|| button.clone())
        .unwrap_or_else(|| "Offer".to_owned());
    let pic = offer.pic.as_ref().map(|p| p.as_str().to_owned());
    let template = offer.template;

    let close = on_close.map(|on_close| {
        view! {
            <button class="offer__close" type="button" aria-label="Close offer"
                on:click=move |_| on_close.run(())>"×"</button>
        }
    });
    let media = pic.map(|src| {
        let alt = name.clone();
        if template == Template::Banner {
            view! {
                <button class="offer__banner" type="button" on:click=move |_| on_open.run(())>
                    <img class="offer__pic" src=src alt=alt decoding="async" />
                </button>
            }
            .into_any()
        } else {
            view! {
                <div class="offer__media">
                    <img class="offer__pic" src=src alt=alt decoding="async" />
                </div>
            }
            .into_any()
        }
    });
    let body = (template != Template::Banner).then(|| {
        view! {
            <div class="offer__body">
                {title.map(|t| view! { <p class="offer__title">{t}</p> })}
                {text.map(|t| view! { <p class="offer__text">{t}</p> })}
                {button.map(|label| view! {
                    <button class="offer__btn" type="button" on:click=move |_| on_open.run(())>{label}</button>
                })}
            </div>
        }
    });
    let role = if popup { "dialog" } else { "article" };
    view! {
        <div class=classes role=role aria-label=name.clone() aria-modal=popup.then_some("false")
            data-offer-id=decimal(offer.id) use:set_css_vars=vars>
            {close}
            {media}
            {body}
        </div>
    }
}
