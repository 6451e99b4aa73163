//! `/studio/#invite=TOKEN`: the invited person sets their name and password
//! (`POST /external/invitation/accept`) and is signed in. The server judges the password and
//! the invitation (an expired or used one shows its message); only the repeat is compared here.

use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use leptos::task::spawn_local;

use super::labeled::{Reasons, TextField, reasons_of};
use super::people_api::{self, SessionResponse};
use super::signin::session_failure;

/// The invitation token in a location hash (`#invite=TOKEN`), if any.
pub fn invite_token(hash: &str) -> Option<String> {
    let token = hash
        .strip_prefix('#')
        .unwrap_or(hash)
        .strip_prefix("invite=")?;
    (!token.is_empty()).then(|| token.to_owned())
}

/// The "Set your password" form for invitation `token`.
#[component]
pub fn SetPassword(
    token: String,
    /// Accepted: the new session.
    #[prop(into)]
    on_account: Callback<SessionResponse>,
) -> impl IntoView {
    let name = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let repeat = RwSignal::new(String::new());
    let reasons: Reasons = RwSignal::new(Default::default());
    let status = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let token = StoredValue::new(token);

    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        status.set(None);
        if password.get_untracked() != repeat.get_untracked() {
            reasons.set(
                [(
                    "repeat".to_owned(),
                    "does not match the password".to_owned(),
                )]
                .into_iter()
                .collect(),
            );
            return;
        }
        reasons.set(Default::default());
        busy.set(true);
        let (typed_name, typed_password) = (name.get_untracked(), password.get_untracked());
        spawn_local(async move {
            let result =
                people_api::accept_invitation(&token.get_value(), &typed_name, &typed_password)
                    .await;
            busy.set(false);
            match result {
                Ok(body) => on_account.run(body),
                Err(failure) => {
                    reasons.set(reasons_of(&failure));
                    status.set(Some(session_failure(&failure)));
                }
            }
        });
    };

    view! {
        <section class="invite" id="invite" aria-labelledby="invite-heading">
            <h2 id="invite-heading">"Set your password"</h2>
            <p class="muted">"You were invited to a project. Choose your name and a password to sign in."</p>
            <form novalidate on:submit=submit aria-describedby="invite-status">
                <TextField id="invite-name" label="Your name" key="name" value=name reasons=reasons autocomplete="name" />
                <TextField id="invite-password" label="Password" key="password" value=password reasons=reasons
                    kind="password" autocomplete="new-password" hint="10 to 200 characters" />
                <TextField id="invite-repeat" label="Repeat the password" key="repeat" value=repeat reasons=reasons
                    kind="password" autocomplete="new-password" />
                <button type="submit" class="btn btn--primary" id="invite-accept" disabled=move || busy.get()>
                    {move || if busy.get() { "Setting…" } else { "Set the password and sign in" }}
                </button>
            </form>
            <p class="error" id="invite-status" role="alert">{move || status.get()}</p>
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_comes_from_the_hash() {
        assert_eq!(invite_token("#invite=abc.def").as_deref(), Some("abc.def"));
        assert_eq!(invite_token("#invite="), None);
        assert_eq!(invite_token("#other=1"), None);
        assert_eq!(invite_token(""), None);
    }
}
