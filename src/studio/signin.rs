//! Sign-in: a project API key and a bearer token, checked against the API
//! (`GET /external/offer?limit=1`) and kept for this tab only.

use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use leptos::task::spawn_local;

use super::api::{self, Credentials};

/// The sign-in bar: a form when signed out, the project and a sign-out button when in.
#[component]
pub fn SignIn(
    session: Signal<Option<Credentials>>,
    #[prop(into)] on_sign_in: Callback<Credentials>,
    #[prop(into)] on_sign_out: Callback<()>,
) -> impl IntoView {
    let key = RwSignal::new(String::new());
    let token = RwSignal::new(String::new());
    let status = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);

    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        let credentials = Credentials {
            api_key: key.get_untracked().trim().to_owned(),
            token: token.get_untracked().trim().to_owned(),
        };
        if credentials.api_key.is_empty() || credentials.token.is_empty() {
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

    view! {
        <div class="signin">
            {move || match session.get() {
                Some(credentials) => view! {
                    <p class="signin__who" id="signed-in">
                        "Signed in to project "<code>{credentials.masked_key()}</code>
                        <span class="muted">" (for this tab)"</span>
                    </p>
                    <button type="button" class="btn" id="sign-out"
                        on:click=move |_| on_sign_out.run(())>"Sign out"</button>
                }.into_any(),
                None => view! {
                    <form class="signin__form" on:submit=submit aria-describedby="signin-status">
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
                        <button type="submit" class="btn btn--primary" id="sign-in" disabled=move || busy.get()>
                            {move || if busy.get() { "Checking…" } else { "Sign in" }}
                        </button>
                    </form>
                }.into_any(),
            }}
            <p id="signin-status" class="signin__status error" role="alert">{move || status.get()}</p>
        </div>
    }
}
