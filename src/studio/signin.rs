//! Sign-in: a person's e-mail and password (a session cookie, `POST /external/session`), with a
//! project picker when they belong to several; or, as before, a project API key and a bearer
//! token, checked against the API (`GET /external/offer?limit=1`) and kept for this tab only.

use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use leptos::task::spawn_local;

use super::api::{self, ApiFailure, Credentials};
use super::labeled::{Reasons, TextField, reasons_of};
use super::people_api::{self, SessionResponse};

/// A failed session call as a sentence: the server's own message for what it explains
/// (wrong e-mail or password, rate limit, expired invitation), else the generic one.
pub fn session_failure(failure: &ApiFailure) -> String {
    match failure.status {
        400 | 401 | 409 | 410 | 429 if !failure.message.is_empty() => {
            let mut text = failure.message.clone();
            if let Some(first) = text.get(..1) {
                text.replace_range(..1, &first.to_uppercase());
            }
            if !text.ends_with('.') {
                text.push('.');
            }
            text
        }
        _ => failure.describe(),
    }
}

/// The sign-in bar: the forms when signed out, the project picker when a person with several
/// projects has not chosen one, else who is signed in where and a sign-out button.
#[component]
pub fn SignIn(
    session: Signal<Option<Credentials>>,
    /// The person's session (signed in with e-mail and password), if any.
    account: Signal<Option<SessionResponse>>,
    /// Signed in with a key and token.
    #[prop(into)]
    on_sign_in: Callback<Credentials>,
    /// Signed in with e-mail and password (or by accepting an invitation).
    #[prop(into)]
    on_account: Callback<SessionResponse>,
    /// A project chosen among the person's memberships.
    #[prop(into)]
    on_choose: Callback<i64>,
    #[prop(into)] on_sign_out: Callback<()>,
    /// What the bar says (a failed sign-in, a session that ended).
    status: RwSignal<Option<String>>,
) -> impl IntoView {
    let key = RwSignal::new(String::new());
    let token = RwSignal::new(String::new());
    let email = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let reasons: Reasons = RwSignal::new(Default::default());
    let busy = RwSignal::new(false);

    let submit_token = move |ev: SubmitEvent| {
        ev.prevent_default();
        let credentials =
            Credentials::token(key.get_untracked().trim(), token.get_untracked().trim());
        if key.with_untracked(|k| k.trim().is_empty())
            || token.with_untracked(|t| t.trim().is_empty())
        {
            status.set(Some("Enter both the API key and the token.".to_owned()));
            return;
        }
        busy.set(true);
        status.set(None);
        spawn_local(async move {
            let result = api::check(&credentials).await;
            busy.set(false);
            match result {
                Ok(()) => {
                    token.set(String::new());
                    on_sign_in.run(credentials);
                }
                Err(failure) => {
                    status.set(Some(format!("Sign-in failed. {}", failure.describe())));
                }
            }
        });
    };
    let submit_email = move |ev: SubmitEvent| {
        ev.prevent_default();
        busy.set(true);
        status.set(None);
        reasons.set(Default::default());
        let (typed_email, typed_password) = (email.get_untracked(), password.get_untracked());
        spawn_local(async move {
            let result = people_api::sign_in(&typed_email, &typed_password).await;
            busy.set(false);
            match result {
                Ok(body) => {
                    password.set(String::new());
                    on_account.run(body);
                }
                Err(failure) => {
                    reasons.set(reasons_of(&failure));
                    status.set(Some(format!(
                        "Sign-in failed. {}",
                        session_failure(&failure)
                    )));
                }
            }
        });
    };

    let signed_in = move |credentials: Credentials| {
        let who = match &credentials.member {
            Some(member) => view! {
                "Signed in as "<strong>{member.email.clone()}</strong>" to "
                <strong>{member.project_name.clone()}</strong>
                <span class="muted">{format!(" ({})", member.role)}</span>
            }
            .into_any(),
            None => view! {
                "Signed in to project "<code>{credentials.masked_key()}</code>
                <span class="muted">" (for this tab)"</span>
            }
            .into_any(),
        };
        let current = credentials.member.as_ref().map(|m| m.project_id);
        let switch = account.with(|a| {
            a.as_ref()
                .filter(|body| body.memberships.len() > 1)
                .map(|body| {
                    let options = body
                        .memberships
                        .iter()
                        .map(|m| {
                            let id = m.project_id;
                            view! { <option value=id.to_string() selected=current == Some(id)>{m.project_name.clone()}</option> }
                        })
                        .collect_view();
                    view! {
                        <label for="project-switch" class="visually-hidden">"Project"</label>
                        <select id="project-switch" on:change=move |ev| {
                            if let Ok(id) = event_target_value(&ev).parse() { on_choose.run(id); }
                        }>{options}</select>
                    }
                })
        });
        view! {
            <p class="signin__who" id="signed-in">{who}</p>
            {switch}
            <button type="button" class="btn" id="sign-out"
                on:click=move |_| on_sign_out.run(())>"Sign out"</button>
        }
        .into_any()
    };
    let picker = move |body: SessionResponse| {
        view! {
            <div class="signin__picker" id="project-picker">
                <p class="signin__who">{format!("Signed in as {}. Choose a project:", body.user.email)}</p>
                {body.memberships.iter().map(|m| {
                    let id = m.project_id;
                    view! {
                        <button type="button" class="btn btn--primary project-choice" data-project-id=id.to_string()
                            on:click=move |_| on_choose.run(id)>
                            {format!("{} ({})", m.project_name, m.role)}
                        </button>
                    }
                }).collect_view()}
                {body.memberships.is_empty().then(|| view! { <p class="muted">"You are not a member of any project."</p> })}
                <button type="button" class="btn" id="sign-out" on:click=move |_| on_sign_out.run(())>"Sign out"</button>
            </div>
        }
        .into_any()
    };
    let forms = move || {
        view! {
            <form class="signin__form" id="signin-email-form" novalidate on:submit=submit_email aria-describedby="signin-status">
                <TextField id="email" label="E-mail" key="email" value=email reasons=reasons kind="email" autocomplete="username" />
                <TextField id="password" label="Password" key="password" value=password reasons=reasons kind="password" autocomplete="current-password" />
                <button type="submit" class="btn btn--primary" id="sign-in-email" disabled=move || busy.get()>
                    {move || if busy.get() { "Checking…" } else { "Sign in" }}
                </button>
            </form>
            <form class="signin__form signin__form--token" on:submit=submit_token aria-describedby="signin-status">
                <span class="signin__or muted">"Or sign in with a token:"</span>
                <span class="signin__field">
                    <label for="api-key">"Project API key"</label>
                    <input id="api-key" name="api-key" autocomplete="off" spellcheck="false"
                        prop:value=move || key.get() on:input=move |ev| key.set(event_target_value(&ev)) />
                </span>
                <span class="signin__field">
                    <label for="token">"Bearer token"</label>
                    <input id="token" name="token" type="password" autocomplete="off"
                        prop:value=move || token.get() on:input=move |ev| token.set(event_target_value(&ev)) />
                </span>
                <button type="submit" class="btn" id="sign-in" disabled=move || busy.get()>
                    {move || if busy.get() { "Checking…" } else { "Sign in with a token" }}
                </button>
            </form>
        }
        .into_any()
    };

    view! {
        <div class="signin">
            {move || match (session.get(), account.get()) {
                (Some(credentials), _) => signed_in(credentials),
                (None, Some(body)) => picker(body),
                (None, None) => forms(),
            }}
            <p id="signin-status" class="signin__status error" role="alert">{move || status.get()}</p>
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_failures_use_the_servers_words() {
        let wrong = ApiFailure::from_response(
            401,
            r#"{"error":{"code":"unauthorized","message":"wrong e-mail or password"}}"#,
        );
        assert_eq!(session_failure(&wrong), "Wrong e-mail or password.");
        let down = ApiFailure::from_response(503, "");
        assert!(session_failure(&down).contains("503"));
    }
}
