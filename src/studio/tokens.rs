//! The Tokens page (SPEC §8): the project's named tokens (role, created, expires, last used,
//! revoked); issue one (its secret is shown once, with a copy button); revoke one after a
//! confirmation.

use chrono::{DateTime, Utc};
use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use leptos::task::spawn_local;
use offers_core::access::{Area, Level};

use super::api::Credentials;
use super::clock;
use super::labeled::{
    ConfirmButton, Notice, NoticeState, Reasons, SecretShownOnce, SelectField, TextField,
    load_with, reasons_of,
};
use super::people::assignable;
use super::people_api::{self, IssuedToken, TokenInfo};
use super::permits::refusal_of;

/// A listed instant, or `missing` when there is none.
pub fn when(at: Option<&DateTime<Utc>>, missing: &str) -> String {
    at.map_or_else(|| missing.to_owned(), clock::display)
}

/// The typed expiry (a `datetime-local` value, local time) as the instant to send; blank is
/// never. `Err` with the field's reason when it cannot be read.
pub fn expiry(
    typed: &str,
    to_utc: impl Fn(&str) -> Option<String>,
) -> Result<Option<DateTime<Utc>>, String> {
    let typed = typed.trim();
    if typed.is_empty() {
        return Ok(None);
    }
    to_utc(typed)
        .and_then(|utc| DateTime::parse_from_rfc3339(&utc).ok())
        .map(|at| Some(at.with_timezone(&Utc)))
        .ok_or_else(|| "must be a date and time".to_owned())
}

/// The Tokens page.
#[component]
pub fn Tokens(session: Signal<Option<Credentials>>) -> impl IntoView {
    let tokens = RwSignal::new(Vec::<TokenInfo>::new());
    let roles = RwSignal::new(Vec::<String>::new());
    let reload = RwSignal::new(0u32);
    let notice: NoticeState = RwSignal::new(None);
    let issued = RwSignal::new(None::<IssuedToken>);
    let may_issue = refusal_of(session, Area::People, Level::Full);

    load_with(
        session,
        reload,
        move || tokens.set(Vec::new()),
        move |credentials| async move {
            match people_api::list_tokens(&credentials).await {
                Ok(list) => tokens.set(list),
                Err(failure) => notice.set(Some(Err(failure.describe()))),
            }
            if let Some(names) = people_api::role_names(&credentials).await {
                roles.set(names);
            }
        },
    );

    let name = RwSignal::new(String::new());
    let role = RwSignal::new("viewer".to_owned());
    let expires = RwSignal::new(String::new());
    let reasons: Reasons = RwSignal::new(Default::default());
    let issue = move |ev: SubmitEvent| {
        ev.prevent_default();
        let Some(credentials) = session.get_untracked() else {
            return;
        };
        notice.set(None);
        issued.set(None);
        let expires_at = match expiry(&expires.get_untracked(), clock::local_to_utc) {
            Ok(at) => at,
            Err(reason) => {
                reasons.set([("expiresAt".to_owned(), reason)].into_iter().collect());
                return;
            }
        };
        reasons.set(Default::default());
        let (n, r) = (name.get_untracked(), role.get_untracked());
        spawn_local(async move {
            match people_api::issue_token(&credentials, &n, &r, expires_at).await {
                Ok(token) => {
                    name.set(String::new());
                    expires.set(String::new());
                    issued.set(Some(token));
                    reload.update(|n| *n += 1);
                }
                Err(failure) => {
                    reasons.set(reasons_of(&failure));
                    notice.set(Some(Err(failure.describe())));
                }
            }
        });
    };
    let revoke = move |token: String| {
        let Some(credentials) = session.get_untracked() else {
            return;
        };
        spawn_local(async move {
            match people_api::revoke_token(&credentials, &token).await {
                Ok(()) => {
                    notice.set(Some(Ok(format!("Revoked token “{token}”."))));
                    reload.update(|n| *n += 1);
                }
                Err(failure) => notice.set(Some(Err(failure.describe()))),
            }
        });
    };

    let row = move |token: TokenInfo| {
        let token_name = token.name.clone();
        let revoked = token.revoked_at.is_some();
        let revoke_button = (!revoked).then(|| {
            let asked = token.name.clone();
            view! {
                <ConfirmButton prefix="token" action="revoke" label="Revoke"
                    object=format!(" token {}", token.name)
                    question=format!("Revoke “{}”? Calls with it fail at once.", token.name)
                    yes="Yes, revoke" refused=may_issue on_yes=move |()| revoke(asked.clone()) />
            }
        });
        view! {
            <tr class="token" data-token=token.name.clone()>
                <td class="token__name">{token_name}</td>
                <td>{token.role.clone()}</td>
                <td>{clock::display(&token.created_at)}</td>
                <td>{when(token.expires_at.as_ref(), "never")}</td>
                <td>{when(token.last_used_at.as_ref(), "never")}</td>
                <td class="token__revoked">{when(token.revoked_at.as_ref(), "—")}</td>
                <td>{revoke_button}</td>
            </tr>
        }
    };

    view! {
        <section class="panel tokens" id="tokens" aria-labelledby="tokens-heading">
            <h2 id="tokens-heading">"Tokens"</h2>
            <Notice notice=notice />
            <table class="tokens__list">
                <thead><tr><th>"Name"</th><th>"Role"</th><th>"Created"</th><th>"Expires"</th><th>"Last used"</th><th>"Revoked"</th><th></th></tr></thead>
                <tbody>{move || tokens.get().into_iter().map(row).collect_view()}</tbody>
            </table>
            <form class="tokens__issue" id="token-form" novalidate on:submit=issue>
                <h3>"Issue a token"</h3>
                <TextField id="token-name" label="Name" key="name" value=name reasons=reasons
                    hint="1 to 40 characters: a–z, 0–9, _ or -" />
                <SelectField id="token-role" label="Role" key="role" value=role reasons=reasons
                    options=Signal::derive(move || assignable(&roles.get())) />
                <TextField id="token-expires" label="Expires (optional, your local time)" key="expiresAt"
                    value=expires reasons=reasons kind="datetime-local" />
                <button type="submit" class="btn btn--primary" id="token-issue"
                    disabled=move || may_issue.with(Option::is_some) title=move || may_issue.get()>"Issue"</button>
            </form>
            {move || issued.get().map(|token| view! {
                <SecretShownOnce class="tokens__secret"
                    message=format!("Token “{}” ({}) issued. Copy it now: it is not shown again.", token.name, token.role)
                    label="Token" secret=token.token.clone() secret_id="token-secret"
                    copy_id="token-copy" copy_label="Copy the token" done_id="token-done"
                    on_done=move || issued.set(None) />
            })}
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiries_are_read_as_local_time() {
        let utc = |text: &str| Some(format!("{text}:00Z"));
        assert_eq!(expiry("  ", utc), Ok(None));
        assert_eq!(
            expiry("2026-12-31T23:59", utc)
                .unwrap()
                .unwrap()
                .to_rfc3339(),
            "2026-12-31T23:59:00+00:00"
        );
        assert!(expiry("tomorrow", |_| None).is_err());
        assert_eq!(when(None, "never"), "never");
    }
}
