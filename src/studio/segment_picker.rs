//! The audience step's segment choice: a checkbox per saved segment (`GET /external/segment`)
//! for `segmentIds` and `excludeSegmentIds`, kept in the form's comma-separated text (which the
//! core judges like any field).

use leptos::prelude::*;
use offers_core::api::Segment;

use super::form::{FormState, split_ids};

/// `text` (comma-separated ids) with `id` added (`on`) or removed, in the order chosen.
pub fn toggle_id(text: &str, id: i64, on: bool) -> String {
    let wanted = id.to_string();
    let mut ids: Vec<&str> = split_ids(text).filter(|i| *i != wanted).collect();
    if on {
        ids.push(&wanted);
    }
    ids.join(", ")
}

/// Whether `text` holds `id`.
pub fn has_id(text: &str, id: i64) -> bool {
    let wanted = id.to_string();
    split_ids(text).any(|i| i == wanted)
}

/// The project's segments as checkboxes for form field `key`.
#[component]
pub fn SegmentPicker(
    form: RwSignal<FormState>,
    key: &'static str,
    segments: Signal<Result<Vec<Segment>, String>>,
) -> impl IntoView {
    move || match segments.get() {
        Err(reason) => view! { <p class="muted">{reason}</p> }.into_any(),
        Ok(list) if list.is_empty() => view! {
            <p class="muted">"No segments yet: build one under Segments below."</p>
        }
        .into_any(),
        Ok(list) => view! {
            <ul class="segment-picker" data-picker=key>
                {list.into_iter().map(|segment| {
                    let id = segment.id;
                    let box_id = format!("{key}-pick-{id}");
                    view! {
                        <li>
                            <input type="checkbox" id=box_id.clone() data-segment-id=id.to_string()
                                prop:checked=move || form.with(|f| has_id(f.get(key), id))
                                on:change=move |ev| {
                                    let on = event_target_checked(&ev);
                                    form.update(|f| {
                                        let text = toggle_id(f.get(key), id, on);
                                        f.set(key, text);
                                    });
                                } />
                            <label for=box_id>{format!("{} (#{id})", segment.name.as_str())}</label>
                        </li>
                    }
                }).collect_view()}
            </ul>
        }
        .into_any(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_toggled_in_the_text() {
        assert_eq!(toggle_id("", 3, true), "3");
        assert_eq!(toggle_id("3", 4, true), "3, 4");
        assert_eq!(toggle_id("3, 4", 3, false), "4");
        assert_eq!(toggle_id("3, 4", 4, true), "3, 4");
        assert!(has_id("1, 12", 12));
        assert!(!has_id("1, 12", 2));
    }
}
