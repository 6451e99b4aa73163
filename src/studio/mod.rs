//! The Studio (SPEC §5), built by Trunk from `index.html` and `src/main.rs` and served by the
//! API under `/studio/`: designers and marketers edit an offer and see it rendered by the
//! widget's own [`OfferCard`](crate::card::OfferCard), each field green when the core accepts
//! it and red with the core's reason when not, then publish it through the partner API in the
//! steps of seed 000 (content → schedule → audience → send), and manage what is published:
//! each offer's figures per day, and why an offer is or is not shown in a room.
//!
//! The modules split by concern; every rule comes from `offers-core`:
//!
//! - [`form`]: the fields and how the form's text becomes the API's JSON body and back (pure);
//! - [`api`]: the partner-API calls; [`storage`]: sign-in (tab) and the signed-out draft
//!   (browser); [`server_draft`]: the project's one draft, kept by the API when signed in;
//! - [`clock`]: local time ↔ UTC; [`export`]: JSON body and `curl` command;
//! - components: [`fields`], [`upload`] (images), [`preview`], [`signin`], [`audience`] (CSV),
//!   [`published`], [`figures`] (SVG chart), [`explain`] (why shown / why not).
//! - audiences (SPEC §7): [`audience_api`] (segments, profiles, test send calls);
//!   [`merge_menu`] (insert a merge tag at the cursor); [`translations`] (a tab per
//!   language); [`segment_picker`] (segments to include / exclude); [`test_send`];
//!   [`segment_rules`] (the rule builder's form, pure) and [`segments`] (the Segments panel);
//!   [`profiles`] (search, list by tag, bulk upload); [`preview_as`] (the preview "as user X").
//! - people (SPEC §8): [`people_api`] (session, people, roles, tokens, audit calls);
//!   [`signin`] (e-mail and password, project picker, or a key and token); [`invite`] (set
//!   your password from `#invite=TOKEN`); [`permits`] (what the role may do: controls it
//!   cannot use are disabled with the reason, or hidden; the pages); the pages [`people`],
//!   [`roles`] (the area × level grid), [`tokens`] and [`audit`]; [`labeled`] (an input with
//!   the server's reason next to it).
//! - webhooks (SPEC §9): [`webhooks`] (the calls and the page: list, add with the secret shown
//!   once, delete, each webhook's delivery log); [`campaign_settings`] (the project's caps and
//!   attribution window).

pub mod api;
pub mod audience;
pub mod audience_api;
pub mod audit;
pub mod campaign_fields;
pub mod campaign_settings;
pub mod clock;
pub mod explain;
pub mod export;
pub mod fields;
pub mod figures;
pub mod form;
pub mod invite;
pub mod labeled;
pub mod merge_menu;
pub mod people;
pub mod people_api;
pub mod permits;
pub mod preview;
pub mod preview_as;
pub mod profiles;
pub mod published;
pub mod roles;
pub mod segment_picker;
pub mod segment_rules;
pub mod segments;
pub mod server_draft;
pub mod signin;
pub mod storage;
pub mod test_send;
pub mod tokens;
pub mod translations;
pub mod upload;
pub mod webhooks;

use std::time::Duration;

use leptos::prelude::*;
use leptos::task::spawn_local;
use offers_core::access::{Area, Level};
use offers_core::{FeedOffer, FieldErrors, Offer, OfferDraft, PartnerOffer, validate};
use serde_json::Value;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

use api::{Credentials, SaveOfferResponse};
use audience::{CsvReport, CsvSummary};
use fields::FieldRow;
use form::{FIELDS, FormState, Step};
use people_api::SessionResponse;
use permits::Page;
use preview::Preview;
use published::Published;
use server_draft::{DraftStatus, DraftSync};
use signin::SignIn;

/// A successful save, as shown after Send.
#[derive(Debug, Clone, PartialEq)]
struct Saved {
    created: bool,
    response: SaveOfferResponse,
}

/// Focuses the element with `id` once the DOM has caught up with the last signal change.
fn focus_later(id: String) {
    set_timeout(
        move || {
            let element = web_sys::window()
                .and_then(|w| w.document())
                .and_then(|d| d.get_element_by_id(&id))
                .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok());
            if let Some(element) = element {
                let _ = element.focus();
                element.scroll_into_view_with_bool(false);
            }
        },
        Duration::from_millis(0),
    );
}

/// Copies `text` to the clipboard (the Clipboard API, else a selection in the textarea
/// `fallback_id` and `execCommand("copy")`), reporting in `status`.
fn copy_text(text: String, fallback_id: &'static str, status: RwSignal<Option<String>>) {
    let clipboard = web_sys::window()
        .map(|w| JsValue::from(w.navigator()))
        .and_then(|n| js_sys::Reflect::get(&n, &"clipboard".into()).ok())
        .filter(|c| !c.is_undefined());
    let write = clipboard.as_ref().and_then(|c| {
        js_sys::Reflect::get(c, &"writeText".into())
            .ok()?
            .dyn_into::<js_sys::Function>()
            .ok()?
            .call1(c, &JsValue::from_str(&text))
            .ok()?
            .dyn_into::<js_sys::Promise>()
            .ok()
    });
    spawn_local(async move {
        let copied = match write {
            Some(promise) => JsFuture::from(promise).await.is_ok(),
            None => false,
        } || copy_by_selection(fallback_id);
        status.set(Some(
            if copied {
                "Copied."
            } else {
                "Copying is blocked here: select the text and copy it."
            }
            .to_owned(),
        ));
    });
}

fn copy_by_selection(id: &str) -> bool {
    let Some(document) = web_sys::window().and_then(|w| w.document()) else {
        return false;
    };
    let Some(area) = document.get_element_by_id(id) else {
        return false;
    };
    let _ = js_sys::Reflect::get(&area, &"select".into())
        .ok()
        .and_then(|f| f.dyn_into::<js_sys::Function>().ok())
        .map(|f| f.call0(&area));
    document
        .dyn_into::<web_sys::HtmlDocument>()
        .ok()
        .and_then(|d| d.exec_command("copy").ok())
        .unwrap_or(false)
}

/// The Studio page.
#[component]
pub fn Studio() -> impl IntoView {
    // Sign-in (this tab); the draft: the project's on the server when signed in (restored by
    // `DraftSync`), else this browser's.
    let session = RwSignal::new(storage::load_session());
    let form = RwSignal::new(
        session
            .with_untracked(Option::is_none)
            .then(storage::load_local_draft)
            .flatten()
            .unwrap_or_else(|| FormState::new(&clock::now_local_input())),
    );
    let sync = DraftSync::new(session.into(), form);

    // Validation: the core's, on exactly the body Send would post; the API's 422 fields on
    // top until the next edit.
    let draft = Memo::new(move |_| form.with(|f| f.draft(&clock::local_to_utc)));
    let local_errors = Memo::new(move |_| validate(&draft.get()).err().unwrap_or_default());
    let server_errors = RwSignal::new(FieldErrors::new());
    Effect::new(move |_| {
        form.track();
        server_errors.set(FieldErrors::new());
    });
    let errors = Memo::new(move |_| {
        let mut all = local_errors.get();
        all.extend(server_errors.get());
        all
    });
    let error_of =
        move |key: &'static str| Signal::derive(move || errors.with(|e| form::error_for(e, key)));

    // The preview validates the content alone, so a schedule being typed keeps the card.
    let preview_start = offers_core::format_timestamp(&clock::now());
    let preview_result =
        Memo::new(move |_| validate(&form::for_preview(draft.get(), &preview_start)));
    let as_written =
        Memo::new(
            move |previous: Option<&Option<FeedOffer>>| match preview_result.get() {
                // Not stored yet: as it would be if created now.
                Ok(spec) => Some(FeedOffer::from(&Offer::created(0, spec, clock::now()))),
                Err(_) => previous.cloned().flatten(),
            },
        );
    // The preview "as user X": the core's personalization of the same content for them.
    let viewer = RwSignal::new(None::<preview_as::Viewer>);
    let personal = Memo::new(move |_| {
        let viewer = viewer.get()?;
        Some(preview_result.with(|r| match r {
            Ok(spec) => preview_as::render_for(spec, &viewer, clock::now()),
            Err(_) => Err("Fix the red fields to see the preview.".to_owned()),
        }))
    });
    let picked_variant = RwSignal::new(None::<usize>);
    let unvaried = Memo::new(move |_| match personal.get() {
        None => as_written.get(),
        Some(Ok(offer)) => Some(offer),
        Some(Err(_)) => None,
    });
    let preview =
        Memo::new(move |_| campaign_fields::previewed(unvaried.get(), picked_variant.get()));
    let verdict = Signal::derive(move || personal.get().and_then(Result::err));
    let stale =
        Signal::derive(move || viewer.with(Option::is_none) && preview_result.with(Result::is_err));
    let popup = Signal::derive(move || form.with(|f| f.get("viewType") != "IN_FEED"));

    let step = RwSignal::new(Step::Content);
    let go = move |to: Step| {
        step.set(to);
        focus_later(format!("step-{}-heading", to.slug()));
    };
    let now = RwSignal::new(clock::now());
    set_interval(move || now.set(clock::now()), Duration::from_secs(15));
    let refresh = RwSignal::new(0u32);
    let sending = RwSignal::new(false);
    let saved = RwSignal::new(None::<Saved>);
    let send_error = RwSignal::new(None::<String>);
    let csv = RwSignal::new(None::<CsvReport>);
    let csv_error = RwSignal::new(None::<String>);
    let copy_status = RwSignal::new(None::<String>);
    let editing = Signal::derive(move || form.with(|f| f.editing));

    let start_new = move || {
        form.set(FormState::new(&clock::now_local_input()));
        saved.set(None);
        send_error.set(None);
        csv.set(None);
        go(Step::Content);
    };
    let on_sign_in = move |credentials: Credentials| {
        storage::save_session(&credentials);
        session.set(Some(credentials));
    };
    // A person's session (e-mail and password): its memberships, and the project open.
    let account = RwSignal::new(None::<SessionResponse>);
    let signin_status = RwSignal::new(None::<String>);
    let open_account = move |body: SessionResponse, remembered: Option<i64>| {
        let credentials = people_api::chosen_project(&body, remembered)
            .and_then(|id| people_api::credentials_for(&body, id));
        if let Some(credentials) = &credentials {
            storage::save_session(credentials);
        }
        account.set(Some(body));
        if session.with_untracked(|s| *s != credentials) {
            session.set(credentials);
        }
    };
    let open_project = move |id: i64| {
        let credentials = account.with_untracked(|a| {
            a.as_ref()
                .and_then(|body| people_api::credentials_for(body, id))
        });
        if let Some(credentials) = credentials {
            storage::save_session(&credentials);
            form.update(|f| f.editing = None);
            saved.set(None);
            session.set(Some(credentials));
        }
    };
    let signed_out = move || {
        storage::clear_session();
        account.set(None);
        session.set(None);
        form.update(|f| f.editing = None);
        saved.set(None);
    };
    let on_sign_out = move |()| {
        let csrf = account.with_untracked(|a| a.as_ref().map(|b| b.csrf_token.clone()));
        signed_out();
        if let Some(csrf) = csrf {
            spawn_local(async move {
                if let Err(failure) = people_api::sign_out(&csrf).await {
                    signin_status.set(Some(failure.describe()));
                }
            });
        }
    };
    // A session the server no longer accepts (expired, signed out elsewhere, disabled).
    api::on_session_ended(move || {
        if account.with_untracked(Option::is_some) {
            signed_out();
            signin_status.set(Some(
                "Your session has ended (it expired, was signed out elsewhere, or your access \
                 was removed). Sign in again."
                    .to_owned(),
            ));
        }
    });
    // Read the session again (after a change to the signed-in person's role or ownership).
    let reread_account = move |()| {
        if account.with_untracked(Option::is_none) {
            return;
        }
        let remembered = storage::load_project();
        spawn_local(async move {
            if let Ok(Some(body)) = people_api::current_session().await {
                open_account(body, remembered);
            }
        });
    };
    // On load: the person's session cookie, if any (a token sign-in of this tab comes first).
    Effect::new(move |_| {
        if session.with_untracked(Option::is_some) {
            return;
        }
        spawn_local(async move {
            match people_api::current_session().await {
                Ok(Some(body)) => open_account(body, storage::load_project()),
                Ok(None) => {}
                Err(failure) => signin_status.set(Some(failure.describe())),
            }
        });
    });
    // `#invite=TOKEN`: the invited person sets their password.
    let invitation = RwSignal::new(
        web_sys::window()
            .and_then(|w| w.location().hash().ok())
            .and_then(|hash| invite::invite_token(&hash)),
    );
    let on_invited = move |body: SessionResponse| {
        invitation.set(None);
        if let Some(window) = web_sys::window() {
            let _ = window.location().set_hash("");
        }
        signin_status.set(None);
        open_account(body, None);
    };
    let on_account = move |body: SessionResponse| {
        signin_status.set(None);
        open_account(body, storage::load_project());
    };
    let page = RwSignal::new(Page::Offers);
    let shown = Memo::new(move |_| {
        let wanted = page.get();
        if session.with(|s| wanted.listed(s.as_ref())) {
            wanted
        } else {
            Page::Offers
        }
    });
    let on_edit = move |offer: PartnerOffer| {
        form.set(FormState::from_offer(&offer, &clock::utc_to_local));
        saved.set(None);
        send_error.set(None);
        csv.set(None);
        go(Step::Content);
    };
    let on_duplicate = move |offer: PartnerOffer| {
        form.set(FormState::duplicate(&offer, &clock::utc_to_local));
        saved.set(None);
        send_error.set(None);
        csv.set(None);
        go(Step::Content);
    };
    // The project's segments, for the audience step's picker (reloaded after a change in the
    // Segments panel).
    let segments_changed = RwSignal::new(0u32);
    let segment_list = RwSignal::new(Err::<Vec<offers_core::api::Segment>, String>(
        "Sign in to choose segments.".to_owned(),
    ));
    Effect::new(move |_| {
        segments_changed.track();
        let Some(credentials) = session.get() else {
            segment_list.set(Err("Sign in to choose segments.".to_owned()));
            return;
        };
        spawn_local(async move {
            segment_list.set(
                audience_api::list_segments(&credentials)
                    .await
                    .map_err(|failure| failure.describe()),
            );
        });
    });
    let on_deleted = move |id: i64| {
        if form.with_untracked(|f| f.editing) == Some(id) {
            form.update(|f| f.editing = None);
            saved.set(None);
        }
    };

    // Publishing needs full on offers (a new offer) or update (saving a published one).
    let send_refusal = Signal::derive(move || {
        let needed = if editing.get().is_some() {
            Level::Update
        } else {
            Level::Full
        };
        session.with(|s| permits::refusal(s.as_ref(), Area::Offers, needed))
    });
    let send = move |_| {
        send_error.set(None);
        let Some(credentials) = session.get_untracked() else {
            send_error.set(Some("Sign in (at the top) to publish.".to_owned()));
            return;
        };
        let problems = errors.with_untracked(FieldErrors::len);
        if problems > 0 {
            send_error.set(Some(format!(
                "Fix the {problems} field{} listed above first.",
                if problems == 1 { "" } else { "s" }
            )));
            return;
        }
        let current = form.get_untracked();
        let body = match current.editing {
            None => current.body(&clock::local_to_utc),
            Some(_) => current.patch_body(&clock::local_to_utc),
        };
        sending.set(true);
        saved.set(None);
        spawn_local(async move {
            let result = api::save(&credentials, current.editing, &Value::Object(body)).await;
            sending.set(false);
            match result {
                Ok(response) => {
                    let id = response.offer.id;
                    form.update(|f| f.editing = Some(id));
                    sync.clear();
                    saved.set(Some(Saved {
                        created: current.editing.is_none(),
                        response,
                    }));
                    refresh.update(|n| *n += 1);
                }
                Err(failure) => {
                    server_errors.set(FieldErrors(failure.fields.clone()));
                    send_error.set(Some(failure.describe()));
                }
            }
        });
    };

    let on_csv = move |ev: web_sys::Event| {
        csv_error.set(None);
        spawn_local(async move {
            match audience::read_chosen_file(&ev).await {
                Ok(Some((name, bytes))) => {
                    let report = CsvReport::read(name, &bytes);
                    form.update(|f| f.set("externalUserIds", report.ids_text()));
                    csv.set(Some(report));
                }
                Ok(None) => {}
                Err(reason) => csv_error.set(Some(reason)),
            }
        });
    };

    // One panel per step.
    let rows = move |s: Step| {
        FIELDS
            .iter()
            .filter(move |f| f.step == s)
            .map(move |spec| {
                match spec.key {
                    "pic" => view! {
                        <FieldRow spec=spec form=form error=error_of(spec.key)>
                            <upload::ImageUpload session=session.into() form=form />
                        </FieldRow>
                    }
                    .into_any(),
                    "title" | "text" | "linkText" => view! {
                        <FieldRow spec=spec form=form error=error_of(spec.key)>
                            <merge_menu::MergeMenu form=form key=spec.key.to_owned() input_id=spec.dom_id() />
                        </FieldRow>
                    }
                    .into_any(),
                    "segmentIds" | "excludeSegmentIds" => view! {
                        <FieldRow spec=spec form=form error=error_of(spec.key)>
                            <segment_picker::SegmentPicker form=form key=spec.key segments=segment_list.into() />
                        </FieldRow>
                    }
                    .into_any(),
                    _ => view! { <FieldRow spec=spec form=form error=error_of(spec.key) /> }.into_any(),
                }
            })
            .collect_view()
    };
    let step_nav = move |s: Step| {
        let back = s.prev().map(|p| {
            view! { <button type="button" class="btn" on:click=move |_| go(p)>"Back"</button> }
        });
        let next = s.next().map(|n| {
            view! {
                <button type="button" class="btn btn--primary step__next" on:click=move |_| go(n)>
                    {format!("Next step: {}", n.label())}
                </button>
            }
        });
        view! { <div class="step__nav">{back}{next}</div> }
    };
    let panel = move |s: Step, body: AnyView| {
        let heading = format!("step-{}-heading", s.slug());
        let labelled_by = heading.clone();
        view! {
            <section class="step" id=format!("step-{}", s.slug()) aria-labelledby=labelled_by
                hidden=move || step.get() != s>
                <h2 id=heading tabindex="-1">{format!("{}. {}", s.number(), s.label())}</h2>
                {body}
                {step_nav(s)}
            </section>
        }
    };

    let csv_block = view! {
        <div class="csv" hidden=move || form.with(|f| f.get("type") != "USER")>
            <label for="users-csv">"Load user ids from a CSV file"</label>
            <input type="file" id="users-csv" accept=".csv,text/csv,text/plain"
                aria-describedby="users-csv-help" on:change=on_csv />
            <p id="users-csv-help" class="field__hint">
                "UTF-8, one column, a header line of any kind, ids with or without quotes. "
                "The ids read replace the Users list above."
            </p>
            {move || csv.get().map(|report| view! { <CsvSummary report=report /> })}
            <p class="error" role="alert">{move || csv_error.get()}</p>
        </div>
    };

    // Send: what is wrong, what will happen, the button, the result, and the export.
    let problems = move || {
        errors.with(|e| {
            e.iter()
                .map(|(key, reason)| (key.to_owned(), reason.to_owned()))
                .collect::<Vec<_>>()
        })
    };
    let summary = move || {
        validate(&draft.get()).ok().map(|spec| {
            let offer = PartnerOffer::from(&Offer::created(0, spec, clock::now()));
            view! {
                <dl class="review">
                    <div><dt>"Audience"</dt><dd>{published::audience_summary(&offer)}</dd></div>
                    <div><dt>"Period"</dt><dd>{published::period(&offer, clock::display)}</dd></div>
                    <div><dt>"Shown"</dt><dd>{published::frequency_summary(&offer)}</dd></div>
                </dl>
            }
        })
    };
    let body_json =
        Memo::new(move |_| form.with(|f| export::pretty_json(&f.body(&clock::local_to_utc))));
    let origin = web_sys::window()
        .and_then(|w| w.location().origin().ok())
        .unwrap_or_default();
    let curl = Memo::new(move |_| export::curl(&origin, &body_json.get()));
    let send_body = view! {
        <div class="problems" id="problems">
            {move || {
                let list = problems();
                if list.is_empty() {
                    view! { <p class="ok-text">"Every field is valid."</p> }.into_any()
                } else {
                    view! {
                        <p class="error">{format!("{} field{} to fix:", list.len(), if list.len() == 1 { "" } else { "s" })}</p>
                        <ul>
                            {list.into_iter().map(|(key, reason)| {
                                let target = form::step_of(&key);
                                let field_id = form::spec(&key).map(form::FieldSpec::dom_id);
                                let label = form::label_of(&key);
                                view! {
                                    <li>
                                        <button type="button" class="link" on:click=move |_| {
                                            step.set(target);
                                            focus_later(field_id.clone().unwrap_or_else(|| format!("step-{}-heading", target.slug())));
                                        }>{format!("{} ({}): {reason}", label, target.label())}</button>
                                    </li>
                                }
                            }).collect_view()}
                        </ul>
                    }.into_any()
                }
            }}
        </div>
        {summary}
        <div class="send">
            <button type="button" class="btn btn--primary btn--big" id="send"
                disabled=move || sending.get() || session.with(Option::is_none) || send_refusal.with(Option::is_some)
                title=move || send_refusal.get()
                on:click=send>
                {move || match (sending.get(), editing.get()) {
                    (true, _) => "Sending…".to_owned(),
                    (false, None) => "Send".to_owned(),
                    (false, Some(id)) => format!("Save changes to #{id}"),
                }}
            </button>
            {move || session.with(Option::is_none).then(|| view! {
                <span class="muted">" Sign in (at the top) to publish."</span>
            })}
            {move || send_refusal.get().map(|reason| view! {
                <span class="muted send__refused">{format!(" Your role cannot publish here: {reason}.")}</span>
            })}
        </div>
        <p class="error send__error" role="alert">{move || send_error.get()}</p>
        <test_send::TestSend session=session.into() offer=editing />
        <div class="save-result" role="status">
            {move || saved.get().map(|s| {
                let id = s.response.offer.id;
                let rooms = s.response.unavailable_external_room_ids.join(", ");
                let users = s.response.unavailable_external_user_ids.join(", ");
                view! {
                    <p class="save-result__done">
                        {if s.created { format!("Published offer #{id}.") } else { format!("Saved the changes to offer #{id}.") }}
                    </p>
                    {(!rooms.is_empty()).then(|| view! {
                        <p class="save-result__unavailable-rooms">
                            "Rooms not seen yet (stored anyway; the offer shows once a widget enters them): "
                            <span class="ids">{rooms}</span>
                        </p>
                    })}
                    {(!users.is_empty()).then(|| view! {
                        <p class="save-result__unavailable-users">
                            "Users not seen yet (stored anyway; the offer shows once they enter a chat): "
                            <span class="ids">{users}</span>
                        </p>
                    })}
                }
            })}
        </div>
        <details class="export">
            <summary>"Export for the partner API"</summary>
            <p class="muted">"The same request as Send (for a new offer), with the key and token as shell variables."</p>
            <label for="export-json">"JSON body"</label>
            <textarea id="export-json" readonly rows="12" prop:value=move || body_json.get()></textarea>
            <button type="button" class="btn" id="copy-json"
                on:click=move |_| copy_text(body_json.get_untracked(), "export-json", copy_status)>"Copy JSON"</button>
            <label for="export-curl">"curl"</label>
            <textarea id="export-curl" readonly rows="8" prop:value=move || curl.get()></textarea>
            <button type="button" class="btn" id="copy-curl"
                on:click=move |_| copy_text(curl.get_untracked(), "export-curl", copy_status)>"Copy curl"</button>
            <span class="muted" role="status">{move || copy_status.get()}</span>
        </details>
    };

    let nav = move || {
        let listed: Vec<Page> = session.with(|s| {
            Page::ALL
                .into_iter()
                .filter(|p| p.listed(s.as_ref()))
                .collect()
        });
        (listed.len() > 1).then(|| {
            view! {
                <nav class="studio__nav" aria-label="Studio pages">
                    {listed.into_iter().map(|p| view! {
                        <button type="button" class="studio__nav-btn" id=format!("nav-{}", p.slug())
                            aria-current=move || (shown.get() == p).then_some("page")
                            on:click=move |_| page.set(p)>{p.label()}</button>
                    }).collect_view()}
                </nav>
            }
        })
    };
    let people_page = move || match shown.get() {
        Page::Offers => None,
        Page::People => Some(
            view! { <people::People session=session.into() changed=reread_account /> }.into_any(),
        ),
        Page::Roles => Some(view! { <roles::Roles session=session.into() /> }.into_any()),
        Page::Tokens => Some(view! { <tokens::Tokens session=session.into() /> }.into_any()),
        Page::Webhooks => Some(view! { <webhooks::Webhooks session=session.into() /> }.into_any()),
        Page::Campaign => Some(
            view! { <campaign_settings::CampaignSettings session=session.into() /> }.into_any(),
        ),
        Page::Audit => Some(view! { <audit::Audit session=session.into() /> }.into_any()),
    };

    view! {
        <header class="studio__bar">
            <h1>"Offers Studio"</h1>
            <SignIn session=session.into() account=account.into() on_sign_in=on_sign_in
                on_account=on_account on_choose=open_project on_sign_out=on_sign_out status=signin_status />
        </header>
        {nav}
        {move || invitation.get().map(|token| view! {
            <invite::SetPassword token=token on_account=on_invited />
        })}
        <div class="studio__page">{people_page}</div>
        <div class="studio__offers" hidden=move || shown.get() != Page::Offers>
        <main class="studio">
            <section class="studio__editor" aria-label="Offer">
                {move || editing.get().map(|id| view! {
                    <div class="editing" role="status">
                        <p>{format!("Editing published offer #{id}: saving applies the changes at once, also while it is live.")}</p>
                        <button type="button" class="btn" on:click=move |_| {
                            form.update(|f| f.editing = None);
                            saved.set(None);
                        }>"Keep as a new offer"</button>
                        <button type="button" class="btn" on:click=move |_| start_new()>"Start a new offer"</button>
                    </div>
                })}
                <DraftStatus sync=sync />
                <nav class="steps" aria-label="Publish steps">
                    <ol>
                        {Step::ALL.into_iter().map(|s| {
                            let bad = Memo::new(move |_| errors.with(|e| e.iter().filter(|(k, _)| form::step_of(k) == s).count()));
                            view! {
                                <li>
                                    <button type="button" id=format!("tab-{}", s.slug())
                                        class=move || { if s != Step::Send && bad.get() > 0 { "steps__btn steps__btn--bad" } else { "steps__btn" } }
                                        aria-current=move || (step.get() == s).then_some("step")
                                        aria-controls=format!("step-{}", s.slug())
                                        on:click=move |_| go(s)>
                                        <span class="steps__num">{s.number()}</span>
                                        <span class="steps__label">{s.label()}</span>
                                        <span class="steps__state">{move || match (s, bad.get()) {
                                            (Step::Send, _) => String::new(),
                                            (_, 0) => "✓".to_owned(),
                                            (_, n) => format!("{n} to fix"),
                                        }}</span>
                                    </button>
                                </li>
                            }
                        }).collect_view()}
                    </ol>
                </nav>
                {panel(Step::Content, view! {
                    {rows(Step::Content)}
                    <translations::Translations form=form errors=errors />
                    <campaign_fields::VariantFields form=form errors=errors />
                }.into_any())}
                {panel(Step::Schedule, view! {
                    {rows(Step::Schedule)}
                    <campaign_fields::TriggerFields form=form errors=errors />
                }.into_any())}
                {panel(Step::Audience, view! { {rows(Step::Audience)} {csv_block} }.into_any())}
                {panel(Step::Send, send_body.into_any())}
            </section>
            <Preview offer=preview popup=popup stale=stale blocked=verdict
                set_popup=move |on: bool| form.update(|f| f.set("viewType", if on { "POPUP" } else { "IN_FEED" }))>
                <preview_as::PreviewAsUser session=session.into() viewer=viewer verdict=verdict />
                <campaign_fields::VariantPicker offer=unvaried picked=picked_variant />
            </Preview>
        </main>
        <Published session=session.into() refresh=refresh now=now.into() editing=editing
            on_edit=on_edit on_duplicate=on_duplicate on_deleted=on_deleted />
        <segments::Segments session=session.into() changed=segments_changed />
        <profiles::Profiles session=session.into() />
        <explain::Explain session=session.into() />
        </div>
    }
}

/// The draft the Studio would publish for `(wire key, text)` pairs, with `start_time`
/// (a UTC timestamp) as the start (exposed for tests).
pub fn draft_of(pairs: &[(&str, &str)], start_time: &str) -> OfferDraft {
    let mut state = FormState::new(start_time);
    for (key, text) in pairs {
        state.set(key, *text);
    }
    state.draft(&|text| Some(text.to_owned()))
}
