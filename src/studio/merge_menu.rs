//! The merge-tag insert menu beside the title, text and button text (and their translations):
//! picks a tag of SPEC §7 and inserts it at the input's cursor (or at the end). What a tag
//! means and whether the text is valid stays the core's (`offers_core::merge`, `validate`).

use std::time::Duration;

use leptos::prelude::*;
use wasm_bindgen::{JsCast, JsValue};

use super::form::FormState;

/// The menu's tags, with a label.
pub const TAGS: [(&str, &str); 4] = [
    ("{{firstName|there}}", "First name (else “there”)"),
    ("{{attributes.points|0}}", "Points (else 0)"),
    ("{{language}}", "Language"),
    ("{{id}}", "User id"),
];

/// `text` with `tag` inserted at `cursor` (a position in UTF-16 code units, as the DOM's
/// `selectionStart`; `None` or past the end: at the end; inside a character: before it), and
/// the cursor after the tag, in UTF-16 units.
pub fn insert_at(text: &str, cursor: Option<u32>, tag: &str) -> (String, u32) {
    let mut units = 0u32;
    let mut at = text.len();
    if let Some(cursor) = cursor {
        for (index, c) in text.char_indices() {
            if units >= cursor {
                at = index;
                break;
            }
            units += c.len_utf16() as u32;
            if units > cursor {
                at = index;
                break;
            }
        }
    }
    let before = &text[..at];
    let out = format!("{before}{tag}{}", &text[at..]);
    let after = before.encode_utf16().count() + tag.encode_utf16().count();
    (out, after as u32)
}

/// The element with DOM id `id`, if any.
fn element(id: &str) -> Option<web_sys::Element> {
    web_sys::window()?.document()?.get_element_by_id(id)
}

/// The input's `selectionStart` (`None` when it has none).
fn cursor_of(id: &str) -> Option<u32> {
    let input: JsValue = element(id)?.into();
    js_sys::Reflect::get(&input, &"selectionStart".into())
        .ok()?
        .as_f64()
        .map(|n| n as u32)
}

/// Focuses the input and puts its cursor at `at`, once the DOM has the new text.
fn place_cursor(id: String, at: u32) {
    set_timeout(
        move || {
            let Some(input) = element(&id) else {
                return;
            };
            if let Some(html) = input.dyn_ref::<web_sys::HtmlElement>() {
                let _ = html.focus();
            }
            let input: JsValue = input.into();
            if let Some(select) = js_sys::Reflect::get(&input, &"setSelectionRange".into())
                .ok()
                .and_then(|f| f.dyn_into::<js_sys::Function>().ok())
            {
                let _ = select.call2(&input, &at.into(), &at.into());
            }
        },
        Duration::from_millis(0),
    );
}

/// "Insert merge tag" for the form field `key` edited in the input with DOM id `input_id`.
#[component]
pub fn MergeMenu(form: RwSignal<FormState>, key: String, input_id: String) -> impl IntoView {
    let menu_id = format!("{input_id}-merge");
    let label = format!("Insert a merge tag into {key}");
    let on_change = move |ev: web_sys::Event| {
        let tag = event_target_value(&ev);
        if tag.is_empty() {
            return;
        }
        // Back to "Insert merge tag…", so the same tag can be picked again.
        if let Some(select) = ev.target() {
            let _ = js_sys::Reflect::set(&select, &"value".into(), &"".into());
        }
        let cursor = cursor_of(&input_id);
        let mut after = 0;
        form.update(|f| {
            let (text, at) = insert_at(f.get(&key), cursor, &tag);
            after = at;
            f.set(&key, text);
        });
        place_cursor(input_id.clone(), after);
    };
    view! {
        <select class="merge-menu" id=menu_id aria-label=label on:change=on_change>
            <option value="" selected>"Insert merge tag…"</option>
            {TAGS.iter().map(|(tag, label)| view! {
                <option value=*tag>{format!("{label}: {tag}")}</option>
            }).collect_view()}
        </select>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inserts_at_the_cursor_or_the_end() {
        assert_eq!(
            insert_at("Hi !", Some(3), "{{id}}"),
            ("Hi {{id}}!".to_owned(), 9)
        );
        assert_eq!(insert_at("Hi", None, "{{id}}"), ("Hi{{id}}".to_owned(), 8));
        assert_eq!(
            insert_at("Hi", Some(40), "{{id}}"),
            ("Hi{{id}}".to_owned(), 8)
        );
        assert_eq!(insert_at("", Some(0), "{{id}}"), ("{{id}}".to_owned(), 6));
        // UTF-16 positions: "é" is one unit, "😀" two.
        assert_eq!(insert_at("é😀x", Some(3), "|"), ("é😀|x".to_owned(), 4));
        // Inside a surrogate pair: before the character.
        assert_eq!(insert_at("😀x", Some(1), "|"), ("|😀x".to_owned(), 1));
    }
}
