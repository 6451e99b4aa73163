//! Translations (SPEC §7): one tab per language, each with the title, text, button text and
//! picture that replace the offer's own for users of that language. Each field is judged by
//! the core like the offer's own (`translations.de.title` in `offers_core::validate`'s
//! errors): green "ok", or red with the core's reason.

use leptos::prelude::*;
use offers_core::FieldErrors;
use offers_core::text::{BODY_MAX_CHARS, BUTTON_MAX_CHARS, TITLE_MAX_CHARS};

use super::form::{self, FormState, translation_key};
use super::merge_menu::MergeMenu;

/// A translated field: wire name, label, length limit, whether it is several lines.
const FIELDS: [(&str, &str, Option<usize>, bool); 4] = [
    ("title", "Title", Some(TITLE_MAX_CHARS), false),
    ("text", "Text", Some(BODY_MAX_CHARS), true),
    ("linkText", "Button text", Some(BUTTON_MAX_CHARS), false),
    ("pic", "Image URL", None, false),
];

/// The DOM id of a form key (`translations.de-AT.title` → `translations-de-AT-title`).
pub fn dom_id(key: &str) -> String {
    key.replace('.', "-")
}

/// One field of one translation.
#[component]
fn TranslationField(
    form: RwSignal<FormState>,
    errors: Memo<FieldErrors>,
    language: String,
    field: &'static str,
    label: &'static str,
    limit: Option<usize>,
    long: bool,
) -> impl IntoView {
    let key = translation_key(&language, field);
    let id = dom_id(&key);
    let value = Memo::new({
        let key = key.clone();
        move |_| form.with(|f| f.get(&key).to_owned())
    });
    let error = Memo::new({
        let key = key.clone();
        move |_| errors.with(|e| e.get(&key).map(str::to_owned))
    });
    let set = {
        let key = key.clone();
        move |text: String| form.update(|f| f.set(&key, text))
    };
    let reason_id = format!("{id}-reason");
    let described = reason_id.clone();
    let invalid = move || error.with(Option::is_some).to_string();
    let input = if long {
        let set = set.clone();
        view! {
            <textarea id=id.clone() rows="3" aria-describedby=described.clone() aria-invalid=invalid
                prop:value=move || value.get()
                on:input=move |ev| set(event_target_value(&ev))></textarea>
        }
        .into_any()
    } else {
        let set = set.clone();
        view! {
            <input type=if field == "pic" { "url" } else { "text" } id=id.clone() autocomplete="off"
                aria-describedby=described.clone() aria-invalid=invalid
                prop:value=move || value.get()
                on:input=move |ev| set(event_target_value(&ev)) />
        }
        .into_any()
    };
    let counter = limit.map(|limit| {
        view! {
            <span class="field__count">
                {move || {
                    let left = value.with(|v| form::remaining(v, limit));
                    if left >= 0 { format!("{left} characters left") } else { format!("{} characters too many", -left) }
                }}
            </span>
        }
    });
    let menu = (field != "pic").then(|| {
        view! { <MergeMenu form=form key=key.clone() input_id=id.clone() /> }
    });
    view! {
        <div class=move || if error.with(Option::is_some) { "field field--bad" } else { "field field--ok" }
            data-field=key.clone()>
            <label for=id.clone()>{format!("{label} ({language})")}</label>
            {input}
            {counter}
            <span class="field__hint">"Empty: the offer's own is used."</span>
            <span class="field__reason" id=reason_id>
                {move || error.get().unwrap_or_else(|| "ok".to_owned())}
            </span>
            {menu.map(|m| view! { <div class="field__extra">{m}</div> })}
        </div>
    }
}

/// The translation tabs of the offer in `form`.
#[component]
pub fn Translations(form: RwSignal<FormState>, errors: Memo<FieldErrors>) -> impl IntoView {
    let languages = Memo::new(move |_| form.with(FormState::languages));
    let active = RwSignal::new(None::<String>);
    let typed = RwSignal::new(String::new());
    let shown = Memo::new(move |_| {
        let all = languages.get();
        active
            .get()
            .filter(|a| all.contains(a))
            .or_else(|| all.first().cloned())
    });
    let add = move || {
        let language = typed.get_untracked().trim().to_owned();
        if form
            .try_update(|f| f.add_language(&language))
            .unwrap_or(false)
        {
            active.set(Some(language));
            typed.set(String::new());
        }
    };
    let tab = move |language: String| {
        let bad = Memo::new({
            let language = language.clone();
            move |_| {
                let prefix = format!("translations.{language}");
                errors.with(|e| e.iter().filter(|(k, _)| k.starts_with(&prefix)).count())
            }
        });
        let current = {
            let language = language.clone();
            move || shown.get().as_deref() == Some(language.as_str())
        };
        let pick = language.clone();
        view! {
            <button type="button" role="tab" class="translations__tab"
                class:translations__tab--bad={move || bad.get() > 0}
                data-language=language.clone()
                aria-selected=move || current().to_string()
                on:click=move |_| active.set(Some(pick.clone()))>
                {language.clone()}
                {move || (bad.get() > 0).then(|| format!(" · {} to fix", bad.get()))}
            </button>
        }
    };
    let panel = move |language: String| {
        let key = format!("translations.{language}");
        let tag_error = Memo::new(move |_| errors.with(|e| e.get(&key).map(str::to_owned)));
        let remove = language.clone();
        view! {
            <div class="translations__panel" role="tabpanel" data-language=language.clone()>
                {move || tag_error.get().map(|reason| view! {
                    <p class="error translations__tag-error">{format!("Language {}: {reason}", remove.clone())}</p>
                })}
                {FIELDS.iter().map(|(field, label, limit, long)| view! {
                    <TranslationField form=form errors=errors language=language.clone()
                        field=field label=label limit=*limit long=*long />
                }).collect_view()}
                <button type="button" class="btn btn--danger translations__remove" on:click={
                    let language = language.clone();
                    move |_| form.update(|f| f.remove_language(&language))
                }>{format!("Remove the {language} translation")}</button>
            </div>
        }
    };
    view! {
        <fieldset class="translations" id="translations">
            <legend>"Translations"</legend>
            <p class="field__hint">
                "Users whose language matches (de-AT, then de) see these texts; what is left empty falls back to the offer's own."
            </p>
            <div class="translations__add">
                <label for="translation-language">"Language"</label>
                <input type="text" id="translation-language" placeholder="de" size="8"
                    prop:value=move || typed.get()
                    on:input=move |ev| typed.set(event_target_value(&ev))
                    on:keydown=move |ev: web_sys::KeyboardEvent| if ev.key() == "Enter" { ev.prevent_default(); add() } />
                <button type="button" class="btn" id="add-translation" on:click=move |_| add()>"Add a translation"</button>
            </div>
            <div role="tablist" class="translations__tabs" aria-label="Languages">
                {move || languages.get().into_iter().map(tab).collect_view()}
            </div>
            {move || shown.get().map(panel)}
        </fieldset>
    }
}
