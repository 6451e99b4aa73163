//! Studio components in a real browser (headless Chromium via wasm-bindgen-test): the
//! translation tabs, judged by the core field by field, and the merge-tag menu inserting at
//! the cursor.
#![cfg(all(target_arch = "wasm32", feature = "studio"))]

use leptos::prelude::*;
use offers_core::{FieldErrors, validate};
use offers_widget::studio::form::FormState;
use offers_widget::studio::merge_menu::MergeMenu;
use offers_widget::studio::translations::Translations;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_test::*;
use web_sys::Element;

wasm_bindgen_test_configure!(run_in_browser);

fn find(selector: &str) -> Option<Element> {
    web_sys::window()?
        .document()?
        .query_selector(selector)
        .ok()?
}

/// Sets an input's (or select's) value and fires `kind` (`input`, `change`) as a user would.
fn type_into(selector: &str, value: &str, kind: &str) {
    let element = find(selector).unwrap_or_else(|| panic!("{selector} is missing"));
    js_sys::Reflect::set(&element, &"value".into(), &JsValue::from_str(value)).unwrap();
    // `new Event(kind, {bubbles: true})` (web-sys's `EventInit` is not enabled).
    let constructor = js_sys::Reflect::get(&js_sys::global(), &"Event".into())
        .unwrap()
        .dyn_into::<js_sys::Function>()
        .unwrap();
    let init = js_sys::JSON::parse(r#"{"bubbles":true}"#).unwrap();
    let event: web_sys::Event = js_sys::Reflect::construct(
        &constructor,
        &js_sys::Array::of2(&JsValue::from_str(kind), &init),
    )
    .unwrap()
    .unchecked_into();
    element.dispatch_event(&event).unwrap();
}

fn click(selector: &str) {
    find(selector)
        .unwrap_or_else(|| panic!("{selector} is missing"))
        .dyn_into::<web_sys::HtmlElement>()
        .unwrap()
        .click();
}

fn form_and_errors() -> (RwSignal<FormState>, Memo<FieldErrors>) {
    let form = RwSignal::new(FormState::new("2026-01-02T10:00:00.000Z"));
    let errors = Memo::new(move |_| {
        validate(&form.with(|f| f.draft(&|t| Some(t.to_owned()))))
            .err()
            .unwrap_or_default()
    });
    (form, errors)
}

#[wasm_bindgen_test]
async fn translation_tabs_show_the_cores_verdict_per_field() {
    let (form, errors) = form_and_errors();
    leptos::mount::mount_to_body(move || view! { <Translations form=form errors=errors /> });
    type_into("#translation-language", "de", "input");
    click("#add-translation");
    leptos::task::tick().await;
    assert!(find(".translations__tab[data-language=de]").is_some());
    assert_eq!(form.with_untracked(FormState::languages), ["de"]);

    type_into(
        "#translations-de-title",
        "Ein viel zu langer Titel hier",
        "input",
    );
    leptos::task::tick().await;
    let row = find("[data-field='translations.de.title']").unwrap();
    assert!(
        row.class_name().contains("field--bad"),
        "{}",
        row.class_name()
    );
    let reason = find("#translations-de-title-reason").unwrap();
    assert!(
        reason.text_content().unwrap().starts_with("at most 23"),
        "{:?}",
        reason.text_content()
    );
    type_into("#translations-de-title", "Hallo", "input");
    leptos::task::tick().await;
    assert!(row.class_name().contains("field--ok"));
    assert_eq!(reason.text_content().unwrap(), "ok");

    // The merge menu of the translated title inserts at the end (no cursor placed yet there
    // in this test: the cursor is where the value was set, the end).
    type_into(
        "#translations-de-title-merge",
        "{{firstName|there}}",
        "change",
    );
    leptos::task::tick().await;
    assert_eq!(
        form.with_untracked(|f| f.get("translations.de.title").to_owned()),
        "Hallo{{firstName|there}}"
    );

    click(".translations__remove");
    leptos::task::tick().await;
    assert!(find(".translations__tab[data-language=de]").is_none());
    assert!(form.with_untracked(FormState::languages).is_empty());
}

#[wasm_bindgen_test]
async fn the_merge_menu_inserts_at_the_cursor() {
    let (form, _) = form_and_errors();
    form.update(|f| f.set("linkText", "Go  now"));
    leptos::mount::mount_to_body(move || {
        view! {
            <input type="text" id="dom-link-text" prop:value=move || form.with(|f| f.get("linkText").to_owned()) />
            <MergeMenu form=form key="linkText".to_owned() input_id="dom-link-text".to_owned() />
        }
    });
    leptos::task::tick().await;
    let input = find("#dom-link-text").unwrap();
    let select = js_sys::Reflect::get(&input, &"setSelectionRange".into())
        .unwrap()
        .dyn_into::<js_sys::Function>()
        .unwrap();
    select.call2(&input, &3.into(), &3.into()).unwrap();
    type_into("#dom-link-text-merge", "{{id}}", "change");
    leptos::task::tick().await;
    assert_eq!(
        form.with_untracked(|f| f.get("linkText").to_owned()),
        "Go {{id}} now"
    );
    // The menu is back at its prompt, so the same tag can be picked again.
    let menu = find("#dom-link-text-merge").unwrap();
    assert_eq!(
        js_sys::Reflect::get(&menu, &"value".into())
            .unwrap()
            .as_string(),
        Some(String::new())
    );
}
