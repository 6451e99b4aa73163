//! Pieces the people pages share: a labelled input with the server's reason for it next to it
//! (tied with `aria-describedby`; what was typed stays on an error, editing the field clears
//! its reason; forms are `novalidate`: the server judges), the page's notice, a button that asks for confirmation, and loading a list
//! whenever the sign-in changes.

use std::collections::BTreeMap;
use std::future::Future;

use leptos::prelude::*;
use leptos::task::spawn_local;

use super::api::Credentials;

/// The server's field errors of a form, keyed by wire name (`email`, `password`, `grants.offers`).
pub type Reasons = RwSignal<BTreeMap<String, String>>;

/// One text input with its label, an optional hint and the reason for `key` in `reasons`.
#[component]
pub fn TextField(
    /// The input's DOM id.
    id: &'static str,
    label: &'static str,
    /// The wire name the server's field errors use.
    key: &'static str,
    value: RwSignal<String>,
    reasons: Reasons,
    /// `text`, `email`, `password`, `datetime-local`…
    #[prop(default = "text")]
    kind: &'static str,
    #[prop(default = "off")] autocomplete: &'static str,
    #[prop(optional)] hint: &'static str,
) -> impl IntoView {
    let reason = Memo::new(move |_| reasons.with(|r| r.get(key).cloned()));
    let reason_id = format!("{id}-reason");
    let hint_id = format!("{id}-hint");
    let described = if hint.is_empty() {
        reason_id.clone()
    } else {
        format!("{reason_id} {hint_id}")
    };
    view! {
        <div class=move || if reason.with(Option::is_some) { "pfield pfield--bad" } else { "pfield" } data-field=key>
            <label for=id>{label}</label>
            <input id=id name=key type=kind autocomplete=autocomplete spellcheck="false"
                aria-describedby=described aria-invalid=move || reason.with(Option::is_some).to_string()
                prop:value=move || value.get()
                on:input=move |ev| {
                    value.set(event_target_value(&ev));
                    if reasons.with_untracked(|r| r.contains_key(key)) {
                        reasons.update(|r| { r.remove(key); });
                    }
                } />
            {(!hint.is_empty()).then(|| view! { <span class="pfield__hint muted" id=hint_id>{hint}</span> })}
            <span class="pfield__reason error" id=reason_id>{move || reason.get()}</span>
        </div>
    }
}

/// A choice among `options` (value = label) with its label and the reason for `key`.
#[component]
pub fn SelectField(
    id: &'static str,
    label: &'static str,
    key: &'static str,
    value: RwSignal<String>,
    #[prop(into)] options: Signal<Vec<String>>,
    reasons: Reasons,
) -> impl IntoView {
    let reason = Memo::new(move |_| reasons.with(|r| r.get(key).cloned()));
    let reason_id = format!("{id}-reason");
    view! {
        <div class=move || if reason.with(Option::is_some) { "pfield pfield--bad" } else { "pfield" } data-field=key>
            <label for=id>{label}</label>
            <select id=id name=key aria-describedby=reason_id.clone()
                aria-invalid=move || reason.with(Option::is_some).to_string()
                on:change=move |ev| {
                    value.set(event_target_value(&ev));
                    reasons.update(|r| { r.remove(key); });
                }>
                {move || options.get().into_iter().map(|option| {
                    let selected = option.clone();
                    view! { <option value=option.clone() prop:selected=move || value.with(|v| *v == selected)>{option.clone()}</option> }
                }).collect_view()}
            </select>
            <span class="pfield__reason error" id=reason_id>{move || reason.get()}</span>
        </div>
    }
}

/// The reasons of a failed call, for [`Reasons`]: its field errors.
pub fn reasons_of(failure: &super::api::ApiFailure) -> BTreeMap<String, String> {
    failure.fields.clone()
}

/// What the last action on a page came to: done (green) or failed (red).
pub type NoticeState = RwSignal<Option<Result<String, String>>>;

/// The page's notice line.
#[component]
pub fn Notice(notice: NoticeState) -> impl IntoView {
    view! {
        <p class="panel__notice" role="status">
            {move || match notice.get() {
                Some(Ok(text)) => view! { <span class="ok-text">{text}</span> }.into_any(),
                Some(Err(text)) => view! { <span class="error">{text}</span> }.into_any(),
                None => ().into_any(),
            }}
        </p>
    }
}

/// A danger button (`{prefix}__{action}`) that first asks `question`: `{prefix}__confirm`
/// with `{prefix}__confirm-yes` and Cancel. Disabled with the reason while `refused`.
#[component]
pub fn ConfirmButton(
    prefix: &'static str,
    action: &'static str,
    label: &'static str,
    /// Read by screen readers after the label (`" token ci"`).
    #[prop(into)]
    object: String,
    question: String,
    yes: &'static str,
    refused: Signal<Option<String>>,
    #[prop(into)] on_yes: Callback<()>,
) -> impl IntoView {
    let open = RwSignal::new(false);
    view! {
        <button type="button" class=format!("btn btn--danger {prefix}__{action}")
            aria-expanded=move || open.get().to_string()
            disabled=move || refused.with(Option::is_some) title=move || refused.get()
            on:click=move |_| open.set(true)>
            {label}<span class="visually-hidden">{object}</span>
        </button>
        <Show when=move || open.get()>
            <span class=format!("{prefix}__confirm") role="alertdialog" aria-label=label>
                {format!("{question} ")}
                <button type="button" class=format!("btn btn--danger {prefix}__confirm-yes")
                    on:click=move |_| { open.set(false); on_yes.run(()); }>{yes}</button>
                <button type="button" class="btn" on:click=move |_| open.set(false)>"Cancel"</button>
            </span>
        </Show>
    }
}

/// A secret shown once, right after it was made (a token, a webhook's signing secret): the
/// `message`, the secret in a read-only box (`secret_id`) with a copy button (`copy_id`) and
/// a Done button (`done_id`) that calls `on_done`.
#[component]
pub fn SecretShownOnce(
    class: &'static str,
    message: String,
    label: &'static str,
    secret: String,
    secret_id: &'static str,
    copy_id: &'static str,
    copy_label: &'static str,
    done_id: &'static str,
    #[prop(into)] on_done: Callback<()>,
) -> impl IntoView {
    let copy_status = RwSignal::new(None::<String>);
    let copied = secret.clone();
    view! {
        <div class=class role="status">
            <p>{message}</p>
            <label for=secret_id>{label}</label>
            <textarea id=secret_id readonly rows="2" prop:value=secret></textarea>
            <button type="button" class="btn" id=copy_id
                on:click=move |_| super::copy_text(copied.clone(), secret_id, copy_status)>{copy_label}</button>
            <button type="button" class="btn" id=done_id on:click=move |_| on_done.run(())>"Done"</button>
            <span class="muted" role="status">{move || copy_status.get()}</span>
        </div>
    }
}

/// Runs `load` with the credentials now and whenever the sign-in or `reload` changes, and
/// `clear` when signed out.
pub fn load_with<Fut>(
    session: Signal<Option<Credentials>>,
    reload: RwSignal<u32>,
    clear: impl Fn() + 'static,
    load: impl Fn(Credentials) -> Fut + 'static,
) where
    Fut: Future<Output = ()> + 'static,
{
    Effect::new(move |_| {
        reload.track();
        match session.get() {
            Some(credentials) => spawn_local(load(credentials)),
            None => clear(),
        }
    });
}
