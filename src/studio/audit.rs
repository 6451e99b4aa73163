//! The Audit page (SPEC §8): the project's audit log a page at a time, newest first, filtered
//! by action, actor and target, each entry with the fields it changed (before → after).

use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use leptos::task::spawn_local;
use serde_json::Value;

use super::api::{Credentials, encode, page_query};
use super::clock;
use super::people_api::{self, AuditEntry, FieldChange};

/// Entries per page.
pub const PAGE_SIZE: usize = 20;

/// Which entries to list (blank: any).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    pub action: String,
    pub actor: String,
    pub target: String,
}

impl AuditFilter {
    /// The query for a page, its values encoded with `encode`.
    pub fn query(&self, limit: usize, offset: usize, encode: impl Fn(&str) -> String) -> String {
        page_query(
            limit,
            offset,
            &[
                ("action", &self.action),
                ("actor", &self.actor),
                ("target", &self.target),
            ],
            encode,
        )
    }
}

/// The line above a page: `Entries 21–40` (or `No entries.`, `No entries match.`).
pub fn page_label(offset: usize, shown: usize, filtered: bool) -> String {
    match (shown, offset, filtered) {
        (0, 0, false) => "No entries.".to_owned(),
        (0, 0, true) => "No entries match.".to_owned(),
        (0, _, _) => format!("Nothing past entry {offset}."),
        _ => format!("Entries {}–{}", offset + 1, offset + shown),
    }
}

/// A recorded value for reading: text as it is, absent as `—`, anything else as JSON.
pub fn value_text(value: &Value) -> String {
    match value {
        Value::Null => "—".to_owned(),
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// One changed field: `status: active → disabled`.
pub fn change_text(field: &str, change: &FieldChange) -> String {
    format!(
        "{field}: {} → {}",
        value_text(&change.before),
        value_text(&change.after)
    )
}

/// A loaded page.
#[derive(Debug, Clone, PartialEq)]
struct Loaded {
    entries: Vec<AuditEntry>,
    more: bool,
}

/// The Audit page (mounted each time it is shown, so it opens on the newest entries).
#[component]
pub fn Audit(session: Signal<Option<Credentials>>) -> impl IntoView {
    let offset = RwSignal::new(0usize);
    let filter = RwSignal::new(AuditFilter::default());
    let typed = RwSignal::new(AuditFilter::default());
    let page = RwSignal::new(None::<Result<Loaded, String>>);
    let generation = StoredValue::new(0u64);

    Effect::new(move |_| {
        let at = offset.get();
        let wanted = filter.get();
        let Some(credentials) = session.get() else {
            page.set(None);
            return;
        };
        generation.update_value(|g| *g += 1);
        let mine = generation.get_value();
        spawn_local(async move {
            // One more than a page tells whether there is a next page.
            let query = wanted.query(PAGE_SIZE + 1, at, encode);
            let result = people_api::audit(&credentials, &query).await;
            if generation.get_value() != mine {
                return;
            }
            page.set(Some(match result {
                Ok(mut entries) => {
                    let more = entries.len() > PAGE_SIZE;
                    entries.truncate(PAGE_SIZE);
                    Ok(Loaded { entries, more })
                }
                Err(failure) => Err(failure.describe()),
            }));
        });
    });

    let apply = move |ev: SubmitEvent| {
        ev.prevent_default();
        offset.set(0);
        filter.set(typed.get_untracked());
    };
    let input = move |id: &'static str,
                      label: &'static str,
                      placeholder: &'static str,
                      get: fn(&AuditFilter) -> String,
                      set: fn(&mut AuditFilter, String)| {
        view! {
            <span class="audit__filter-field">
                <label for=id>{label}</label>
                <input type="text" id=id autocomplete="off" spellcheck="false" placeholder=placeholder
                    prop:value=move || typed.with(get)
                    on:input=move |ev| typed.update(|f| set(f, event_target_value(&ev))) />
            </span>
        }
    };
    let entry = |entry: AuditEntry| {
        view! {
            <li class="audit-entry" data-action=entry.action.clone()>
                <div class="audit-entry__head">
                    <time class="muted">{clock::display(&entry.at)}</time>
                    " "<strong class="audit-entry__action">{entry.action.clone()}</strong>
                    " "<span class="audit-entry__target">{entry.target.clone()}</span>
                    " by "<span class="audit-entry__actor">{entry.actor.clone()}</span>
                </div>
                <ul class="audit-entry__changes">
                    {entry.changes.iter().map(|(field, change)| view! {
                        <li data-field=field.clone()>{change_text(field, change)}</li>
                    }).collect_view()}
                </ul>
            </li>
        }
    };

    view! {
        <section class="panel audit" id="audit" aria-labelledby="audit-heading">
            <h2 id="audit-heading">"Audit log"</h2>
            <form class="audit__filter" aria-label="Filter the audit log" on:submit=apply>
                {input("audit-action", "Action", "e.g. offer.updated", |f| f.action.clone(), |f, v| f.action = v)}
                {input("audit-actor", "Actor", "e.g. user:ana@example.com", |f| f.actor.clone(), |f, v| f.actor = v)}
                {input("audit-target", "Target", "e.g. offer:12", |f| f.target.clone(), |f, v| f.target = v)}
                <button type="submit" class="btn" id="audit-apply">"Filter"</button>
            </form>
            {move || match page.get() {
                None => view! { <p class="muted">"Sign in to see the audit log."</p> }.into_any(),
                Some(Err(reason)) => view! { <p class="error" role="alert">{reason}</p> }.into_any(),
                Some(Ok(Loaded { entries, more })) => {
                    let filtered = filter.with(|f| *f != AuditFilter::default());
                    let label = page_label(offset.get_untracked(), entries.len(), filtered);
                    view! {
                        <p class="audit__label muted">{label}</p>
                        <ul class="audit__list">{entries.into_iter().map(entry).collect_view()}</ul>
                        <nav class="audit__pages" aria-label="Pages">
                            <button type="button" class="btn" id="audit-newer" disabled=move || offset.get() == 0
                                on:click=move |_| offset.update(|o| *o = o.saturating_sub(PAGE_SIZE))>"Newer"</button>
                            <button type="button" class="btn" id="audit-older" disabled=!more
                                on:click=move |_| offset.update(|o| *o += PAGE_SIZE)>"Older"</button>
                        </nav>
                    }.into_any()
                }
            }}
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn filters_and_pages() {
        let filter = AuditFilter {
            action: " person.updated ".into(),
            actor: String::new(),
            target: "person:a b".into(),
        };
        assert_eq!(
            filter.query(21, 20, |s| s.replace(' ', "%20")),
            "limit=21&offset=20&action=person.updated&target=person:a%20b"
        );
        assert_eq!(page_label(0, 0, false), "No entries.");
        assert_eq!(page_label(0, 0, true), "No entries match.");
        assert_eq!(page_label(20, 0, false), "Nothing past entry 20.");
        assert_eq!(page_label(20, 7, true), "Entries 21–27");
    }

    #[test]
    fn changes_read_before_and_after() {
        let change = FieldChange {
            before: json!("active"),
            after: json!("disabled"),
        };
        assert_eq!(change_text("status", &change), "status: active → disabled");
        let change = FieldChange {
            before: Value::Null,
            after: json!(["a", 1]),
        };
        assert_eq!(change_text("ids", &change), "ids: — → [\"a\",1]");
    }
}
