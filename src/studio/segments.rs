//! The Segments panel (SPEC §7): the project's segments with how many known users each holds,
//! and an editor for one: rules (all / any of rows of field, operator, value) with a live count
//! that the server computes as the definition is typed, or a list of ids typed or read from a
//! CSV file. Saving creates or updates it; deleting one an offer uses shows the server's 409,
//! which names the offers.

use std::time::Duration;

use leptos::prelude::*;
use leptos::task::spawn_local;
use offers_core::access::{Area, Level};
use offers_core::api::Segment;
use offers_core::segment::Op;
use serde_json::Value;

use super::api::{ApiFailure, Credentials};
use super::audience::{self, CsvReport};
use super::audience_api;
use super::permits::refusal_of;
use super::segment_rules::{
    FieldKind, FiledErrors, RuleRow, SegmentForm, SegmentKind, file_errors, takes_list,
    takes_no_value,
};

/// How long typing must pause before the live count asks the server.
const COUNT_DELAY: Duration = Duration::from_millis(350);

/// The live count's state.
#[derive(Debug, Clone, PartialEq)]
enum Count {
    Idle,
    Counting,
    Users(u64),
    Invalid(FiledErrors),
    Failed(String),
}

/// One segment of the list with its count (`None` while it loads or when it failed).
#[derive(Debug, Clone, PartialEq)]
struct Listed {
    segment: Segment,
    users: Option<Result<u64, String>>,
}

fn users_text(n: u64) -> String {
    format!("{n} user{}", if n == 1 { "" } else { "s" })
}

/// The Segments panel. `changed` is bumped after every save or delete (the offer form's
/// segment picker reloads on it).
#[component]
pub fn Segments(session: Signal<Option<Credentials>>, changed: RwSignal<u32>) -> impl IntoView {
    let list = RwSignal::new(Vec::<Listed>::new());
    let list_error = RwSignal::new(None::<String>);
    let editor = RwSignal::new(SegmentForm::default());
    let count = RwSignal::new(Count::Idle);
    let notice = RwSignal::new(None::<Result<String, String>>);
    let save_errors = RwSignal::new(FiledErrors::default());
    let csv = RwSignal::new(None::<CsvReport>);
    let may_delete = refusal_of(session, Area::Audiences, Level::Full);
    let may_change = refusal_of(session, Area::Audiences, Level::Update);
    let may_save = move || {
        if editor.with(|f| f.editing.is_some()) {
            may_change.get()
        } else {
            may_delete.get()
        }
    };

    // The list, and each rule segment's count (list segments carry theirs).
    Effect::new(move |_| {
        changed.track();
        let Some(credentials) = session.get() else {
            list.set(Vec::new());
            return;
        };
        spawn_local(async move {
            match audience_api::list_segments(&credentials).await {
                Ok(segments) => {
                    list_error.set(None);
                    list.set(
                        segments
                            .into_iter()
                            .map(|segment| Listed {
                                users: segment.user_count.map(Ok),
                                segment,
                            })
                            .collect(),
                    );
                    let pending: Vec<i64> = list.with_untracked(|l| {
                        l.iter()
                            .filter(|s| s.users.is_none())
                            .map(|s| s.segment.id)
                            .collect()
                    });
                    for id in pending {
                        let users = audience_api::segment_count(&credentials, id)
                            .await
                            .map_err(|f| f.describe());
                        list.update(|l| {
                            if let Some(item) = l.iter_mut().find(|s| s.segment.id == id) {
                                item.users = Some(users);
                            }
                        });
                    }
                }
                Err(failure) => list_error.set(Some(failure.describe())),
            }
        });
    });

    // The live count: once typing pauses, the server counts the unsaved definition.
    let generation = StoredValue::new(0u64);
    Effect::new(move |_| {
        let definition = Value::Object(editor.with(SegmentForm::definition));
        // A new, untouched editor is not counted (its empty row is not an error yet).
        let untouched = editor.with(|f| *f == SegmentForm::default());
        let Some(credentials) = session.get().filter(|_| !untouched) else {
            count.set(Count::Idle);
            return;
        };
        generation.update_value(|g| *g += 1);
        let mine = generation.get_value();
        count.set(Count::Counting);
        set_timeout(
            move || {
                if generation.get_value() != mine {
                    return;
                }
                spawn_local(async move {
                    let answer = audience_api::count_definition(&credentials, &definition).await;
                    if generation.get_value() != mine {
                        return;
                    }
                    count.set(match answer {
                        Ok(n) => Count::Users(n),
                        Err(failure) if failure.status == 422 => {
                            Count::Invalid(file_errors(&failure.fields))
                        }
                        Err(failure) => Count::Failed(failure.describe()),
                    });
                });
            },
            COUNT_DELAY,
        );
    });

    let save = move || {
        let Some(credentials) = session.get_untracked() else {
            return;
        };
        let current = editor.get_untracked();
        notice.set(None);
        save_errors.set(FiledErrors::default());
        spawn_local(async move {
            match audience_api::save_segment(&credentials, current.editing, &current.body()).await {
                Ok(segment) => {
                    notice.set(Some(Ok(format!(
                        "Saved segment #{} “{}”.",
                        segment.id,
                        segment.name.as_str()
                    ))));
                    editor.update(|f| f.editing = Some(segment.id));
                    changed.update(|n| *n += 1);
                }
                Err(failure) => {
                    save_errors.set(file_errors(&failure.fields));
                    notice.set(Some(Err(failure.describe())));
                }
            }
        });
    };
    let delete = move |id: i64| {
        let Some(credentials) = session.get_untracked() else {
            return;
        };
        spawn_local(async move {
            match audience_api::delete_segment(&credentials, id).await {
                Ok(()) => {
                    notice.set(Some(Ok(format!("Deleted segment #{id}."))));
                    if editor.with_untracked(|f| f.editing) == Some(id) {
                        editor.set(SegmentForm::default());
                    }
                    changed.update(|n| *n += 1);
                }
                Err(ApiFailure {
                    status: 409,
                    message,
                    ..
                }) => notice.set(Some(Err(format!("Not deleted: {message}")))),
                Err(failure) => notice.set(Some(Err(failure.describe()))),
            }
        });
    };
    let on_csv = move |ev: web_sys::Event| {
        spawn_local(async move {
            match audience::read_chosen_file(&ev).await {
                Ok(Some((name, bytes))) => {
                    let report = CsvReport::read(name, &bytes);
                    editor.update(|f| f.user_ids = report.ids_text());
                    csv.set(Some(report));
                }
                Ok(None) => {}
                Err(reason) => notice.set(Some(Err(reason))),
            }
        });
    };

    // Errors for one row: the save's, else the live count's.
    let row_errors = move |index: usize| {
        let from_save = save_errors.with(|e| e.rows.get(&index).cloned());
        from_save.or_else(|| {
            count.with(|c| match c {
                Count::Invalid(filed) => filed.rows.get(&index).cloned(),
                _ => None,
            })
        })
    };
    let other_errors = move || {
        let mut all = save_errors.with(|e| e.other.clone());
        if let Count::Invalid(filed) = count.get() {
            for error in filed.other {
                if !all.contains(&error) {
                    all.push(error);
                }
            }
        }
        all
    };

    let rule_row = move |index: usize| {
        let get = move || editor.with(|f| f.rows.get(index).cloned().unwrap_or_default());
        let update = move |change: &dyn Fn(&mut RuleRow)| {
            editor.update(|f| {
                if let Some(row) = f.rows.get_mut(index) {
                    change(row);
                }
            });
        };
        view! {
            <li class="rule" data-row=index.to_string()>
                <select class="rule__field" aria-label=format!("Condition {}: field", index + 1)
                    on:change=move |ev| {
                        let kind = FieldKind::from_slug(&event_target_value(&ev));
                        update(&|row| row.kind = kind);
                    }>
                    {FieldKind::ALL.iter().map(|(kind, slug, label)| {
                        let kind = *kind;
                        view! { <option value=*slug prop:selected=move || get().kind == kind>{*label}</option> }
                    }).collect_view()}
                </select>
                <input type="text" class="rule__key" placeholder="attribute, e.g. points"
                    aria-label=format!("Condition {}: attribute", index + 1)
                    hidden=move || get().kind != FieldKind::Attribute
                    prop:value=move || get().key
                    on:input=move |ev| {
                        let key = event_target_value(&ev);
                        update(&|row| row.key = key.clone());
                    } />
                <select class="rule__op" aria-label=format!("Condition {}: operator", index + 1)
                    on:change=move |ev| {
                        let op = event_target_value(&ev);
                        update(&|row| row.op = op.clone());
                    }>
                    {Op::ALL.iter().map(|op| {
                        let name = op.as_str();
                        view! { <option value=name prop:selected=move || get().op == name>{name}</option> }
                    }).collect_view()}
                </select>
                <input type="text" class="rule__value"
                    aria-label=format!("Condition {}: value", index + 1)
                    placeholder=move || if takes_list(&get().op) { "values, comma-separated" } else { "value" }
                    hidden=move || takes_no_value(&get().op)
                    prop:value=move || get().value
                    on:input=move |ev| {
                        let value = event_target_value(&ev);
                        update(&|row| row.value = value.clone());
                    } />
                <button type="button" class="btn rule__remove"
                    disabled={move || editor.with(|f| f.rows.len() < 2)}
                    on:click=move |_| editor.update(|f| { if f.rows.len() > 1 { f.rows.remove(index); } })>
                    "Remove"<span class="visually-hidden">{format!(" condition {}", index + 1)}</span>
                </button>
                <ul class="rule__errors">
                    {move || row_errors(index).unwrap_or_default().into_iter()
                        .map(|e| view! { <li class="error">{e}</li> }).collect_view()}
                </ul>
            </li>
        }
    };

    let item = move |listed: Listed| {
        let id = listed.segment.id;
        let segment = listed.segment.clone();
        let kind = if segment.conditions.is_some() {
            "rules"
        } else {
            "list"
        };
        let users = match listed.users {
            None => "counting…".to_owned(),
            Some(Ok(n)) => users_text(n),
            Some(Err(reason)) => reason,
        };
        view! {
            <li class="segment" data-segment-id=id.to_string()>
                <strong class="segment__name">{format!("#{id} · {}", segment.name.as_str())}</strong>
                <span class="muted">{format!(" ({kind}) ")}</span>
                <span class="segment__users">{users}</span>
                <button type="button" class="btn segment__edit" on:click={
                    let segment = segment.clone();
                    move |_| {
                        editor.set(SegmentForm::from_segment(&segment));
                        save_errors.set(FiledErrors::default());
                        notice.set(None);
                        csv.set(None);
                    }
                }>"Edit"<span class="visually-hidden">{format!(" segment #{id}")}</span></button>
                <button type="button" class="btn btn--danger segment__delete"
                    disabled=move || may_delete.with(Option::is_some) title=move || may_delete.get()
                    on:click=move |_| delete(id)>
                    "Delete"<span class="visually-hidden">{format!(" segment #{id}")}</span>
                </button>
            </li>
        }
    };

    let is_rules = move || editor.with(|f| f.kind == SegmentKind::Rules);
    // Rows are re-created only when their number changes (typing keeps the focus).
    let row_count = Memo::new(move |_| editor.with(|f| f.rows.len()));
    view! {
        <section class="segments" id="segments" aria-labelledby="segments-heading">
            <h2 id="segments-heading">"Segments"</h2>
            {move || session.with(Option::is_none).then(|| view! {
                <p class="muted">"Sign in to see and build the project's segments."</p>
            })}
            <p class="error" role="alert">{move || list_error.get()}</p>
            <ul class="segments__list">{move || list.get().into_iter().map(item).collect_view()}</ul>
            <div class="segment-editor" id="segment-editor">
                <h3>{move || match editor.with(|f| f.editing) {
                    Some(id) => format!("Edit segment #{id}"),
                    None => "New segment".to_owned(),
                }}</h3>
                <label for="segment-name">"Name"</label>
                <input type="text" id="segment-name" autocomplete="off"
                    prop:value=move || editor.with(|f| f.name.clone())
                    on:input=move |ev| editor.update(|f| f.name = event_target_value(&ev)) />
                <fieldset class="choices">
                    <legend>"Who is in it"</legend>
                    <span class="choice">
                        <input type="radio" id="segment-kind-rules" name="segment-kind"
                            prop:checked=is_rules
                            on:change=move |_| editor.update(|f| f.kind = SegmentKind::Rules) />
                        <label for="segment-kind-rules">"Users matching rules"</label>
                    </span>
                    <span class="choice">
                        <input type="radio" id="segment-kind-list" name="segment-kind"
                            prop:checked=move || !is_rules()
                            on:change=move |_| editor.update(|f| f.kind = SegmentKind::List) />
                        <label for="segment-kind-list">"A list of user ids"</label>
                    </span>
                </fieldset>
                <div class="segment-editor__rules" hidden=move || !is_rules()>
                    <label for="segment-match">"Match"</label>
                    <select id="segment-match" on:change=move |ev| editor.update(|f| f.match_kind = event_target_value(&ev))>
                        <option value="all" prop:selected=move || editor.with(|f| f.match_kind == "all")>"all of the conditions"</option>
                        <option value="any" prop:selected=move || editor.with(|f| f.match_kind == "any")>"any of the conditions"</option>
                    </select>
                    <ol class="rules">
                        {move || (0..row_count.get()).map(rule_row).collect_view()}
                    </ol>
                    <button type="button" class="btn" id="segment-add-row"
                        on:click=move |_| editor.update(|f| f.rows.push(RuleRow::default()))>"Add a condition"</button>
                </div>
                <div class="segment-editor__list" hidden=is_rules>
                    <label for="segment-ids">"User ids"</label>
                    <textarea id="segment-ids" rows="3"
                        prop:value=move || editor.with(|f| f.user_ids.clone())
                        on:input=move |ev| editor.update(|f| f.user_ids = event_target_value(&ev))></textarea>
                    <label for="segment-csv">"Or load them from a CSV file"</label>
                    <input type="file" id="segment-csv" accept=".csv,text/csv,text/plain" on:change=on_csv />
                    {move || csv.get().map(|report| view! { <audience::CsvSummary report=report /> })}
                </div>
                <p class="segment-editor__count" id="segment-count" role="status" aria-live="polite">
                    {move || match count.get() {
                        Count::Idle => "Add conditions (or ids) to see how many users match.".to_owned(),
                        Count::Counting => "Counting…".to_owned(),
                        Count::Users(n) => format!("{} match now.", users_text(n)),
                        Count::Invalid(_) => "Fix the conditions marked below to count.".to_owned(),
                        Count::Failed(reason) => reason,
                    }}
                </p>
                <ul class="segment-editor__errors">
                    {move || other_errors().into_iter()
                        .map(|(key, reason)| view! { <li class="error">{format!("{key}: {reason}")}</li> })
                        .collect_view()}
                </ul>
                <button type="button" class="btn btn--primary" id="segment-save"
                    disabled=move || session.with(Option::is_none) || may_save().is_some()
                    title=may_save
                    on:click=move |_| save()>
                    {move || if editor.with(|f| f.editing.is_some()) { "Save the segment" } else { "Create the segment" }}
                </button>
                <button type="button" class="btn" id="segment-new" on:click=move |_| {
                    editor.set(SegmentForm::default());
                    save_errors.set(FiledErrors::default());
                    notice.set(None);
                    csv.set(None);
                }>"New segment"</button>
                <p class="segment-editor__notice" role="status">
                    {move || match notice.get() {
                        Some(Ok(text)) => view! { <span class="ok-text">{text}</span> }.into_any(),
                        Some(Err(text)) => view! { <span class="error">{text}</span> }.into_any(),
                        None => ().into_any(),
                    }}
                </p>
            </div>
        </section>
    }
}
