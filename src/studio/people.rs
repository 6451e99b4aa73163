//! The People page (SPEC §8): who is in the project, with their role and status; invite
//! someone by e-mail and role (no mail is sent: the invitation link is shown to pass on);
//! change a role; disable or enable a person; hand the account's ownership over.
//! What the role may do comes from [`super::permits`]; the server decides.

use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use leptos::task::spawn_local;
use offers_core::access::{Area, Level};

use super::api::Credentials;
use super::labeled::{
    ConfirmButton, Notice, NoticeState, Reasons, SelectField, TextField, load_with, reasons_of,
};
use super::people_api::{
    self, InvitationCreated, PendingInvitation, Person, PersonPatch, UserStatus,
};
use super::permits::refusal_of;
use super::{clock, copy_text};

/// The role names a person can be given (the built-in `owner` goes with the account's
/// ownership alone).
pub fn assignable(roles: &[String]) -> Vec<String> {
    roles.iter().filter(|r| *r != "owner").cloned().collect()
}

/// The People page. `changed` is bumped after a change that may concern the signed-in person
/// (their session is read again).
#[component]
pub fn People(
    session: Signal<Option<Credentials>>,
    #[prop(into)] changed: Callback<()>,
) -> impl IntoView {
    let people = RwSignal::new(Vec::<Person>::new());
    let pending = RwSignal::new(Vec::<PendingInvitation>::new());
    let roles = RwSignal::new(Vec::<String>::new());
    let reload = RwSignal::new(0u32);
    let notice: NoticeState = RwSignal::new(None);
    let row_errors = RwSignal::new(std::collections::BTreeMap::<i64, String>::new());

    let may_invite = refusal_of(session, Area::People, Level::Full);
    let may_update = refusal_of(session, Area::People, Level::Update);

    load_with(
        session,
        reload,
        move || people.set(Vec::new()),
        move |credentials| async move {
            match people_api::list_people(&credentials).await {
                Ok(list) => people.set(list),
                Err(failure) => notice.set(Some(Err(failure.describe()))),
            }
            if let Ok(list) = people_api::list_invitations(&credentials).await {
                pending.set(list);
            }
            if let Some(names) = people_api::role_names(&credentials).await {
                roles.set(names);
            }
        },
    );

    // Invite.
    let email = RwSignal::new(String::new());
    let name = RwSignal::new(String::new());
    let role = RwSignal::new("viewer".to_owned());
    let reasons: Reasons = RwSignal::new(Default::default());
    let created = RwSignal::new(None::<InvitationCreated>);
    let copy_status = RwSignal::new(None::<String>);
    let invite = move |ev: SubmitEvent| {
        ev.prevent_default();
        let Some(credentials) = session.get_untracked() else {
            return;
        };
        notice.set(None);
        created.set(None);
        reasons.set(Default::default());
        let (e, r, n) = (
            email.get_untracked(),
            role.get_untracked(),
            name.get_untracked(),
        );
        spawn_local(async move {
            match people_api::invite(&credentials, &e, &r, &n).await {
                Ok(answer) => {
                    email.set(String::new());
                    name.set(String::new());
                    created.set(Some(answer));
                    copy_status.set(None);
                    reload.update(|n| *n += 1);
                }
                Err(failure) => {
                    reasons.set(reasons_of(&failure));
                    notice.set(Some(Err(failure.describe())));
                }
            }
        });
    };

    // Changes to one person.
    let patch = move |id: i64, change: PersonPatch, done: String| {
        let Some(credentials) = session.get_untracked() else {
            return;
        };
        row_errors.update(|e| {
            e.remove(&id);
        });
        spawn_local(async move {
            match people_api::update_person(&credentials, id, &change).await {
                Ok(_) => {
                    notice.set(Some(Ok(done)));
                    reload.update(|n| *n += 1);
                    changed.run(());
                }
                Err(failure) => {
                    row_errors.update(|e| {
                        e.insert(id, failure.describe());
                    });
                    reload.update(|n| *n += 1);
                }
            }
        });
    };
    let hand_over = move |id: i64, email: String| {
        let Some(credentials) = session.get_untracked() else {
            return;
        };
        spawn_local(async move {
            match people_api::hand_over(&credentials, id).await {
                Ok(_) => {
                    notice.set(Some(Ok(format!("{email} now owns the account."))));
                    reload.update(|n| *n += 1);
                    changed.run(());
                }
                Err(failure) => {
                    row_errors.update(|e| {
                        e.insert(id, failure.describe());
                    });
                }
            }
        });
    };

    let i_own = move || {
        session.with(|s| {
            s.as_ref()
                .and_then(|c| c.member.as_ref())
                .is_some_and(|m| m.owner)
        })
    };
    let me = move || {
        session.with(|s| {
            s.as_ref()
                .and_then(|c| c.member.as_ref())
                .map(|m| m.email.clone())
        })
    };

    let row = move |person: Person| {
        let id = person.id;
        let active = person.status == UserStatus::Active;
        let owner = person.owner;
        let email = person.email.clone();
        let current_role = person.role.clone();
        let last = person
            .last_sign_in_at
            .as_ref()
            .map_or_else(|| "never".to_owned(), clock::display);
        let role_choice = if owner {
            view! { <span class="person__role">{current_role.clone()}</span> }.into_any()
        } else {
            let options = move || {
                let mut list = assignable(&roles.get());
                if !list.contains(&current_role) {
                    list.push(current_role.clone());
                }
                list
            };
            let shown = person.role.clone();
            let who = email.clone();
            view! {
                <label class="visually-hidden" for=format!("person-role-{id}")>{format!("Role of {email}")}</label>
                <select class="person__role" id=format!("person-role-{id}")
                    disabled=move || may_update.with(Option::is_some) title=move || may_update.get()
                    on:change=move |ev| {
                        let chosen = event_target_value(&ev);
                        let done = format!("{who} is now {chosen}.");
                        patch(id, PersonPatch { role: Some(chosen), ..PersonPatch::default() }, done);
                    }>
                    {move || options().into_iter().map(|r| {
                        let selected = r == shown;
                        view! { <option value=r.clone() selected=selected>{r.clone()}</option> }
                    }).collect_view()}
                </select>
            }
            .into_any()
        };
        let status_button = (!owner).then(|| {
            let who = person.email.clone();
            view! {
                <button type="button" class="btn person__status-btn"
                    disabled=move || may_update.with(Option::is_some) title=move || may_update.get()
                    on:click=move |_| {
                        let (status, done) = if active { (UserStatus::Disabled, "disabled") } else { (UserStatus::Active, "enabled") };
                        patch(id, PersonPatch { status: Some(status), ..PersonPatch::default() }, format!("{who} is {done}."));
                    }>
                    {if active { "Disable" } else { "Enable" }}
                    <span class="visually-hidden">{format!(" {}", person.email)}</span>
                </button>
            }
        });
        let self_row = Some(person.email.clone()) == me();
        let ownership = (!owner && active && !self_row && i_own()).then(|| {
            let who = person.email.clone();
            view! {
                <ConfirmButton prefix="person" action="hand-over" label="Hand over ownership"
                    object=format!(" to {who}")
                    question=format!("Make {who} the account owner? You become an editor and cannot undo this yourself.")
                    yes="Yes, hand over" refused=Signal::derive(|| None)
                    on_yes=move |()| hand_over(id, who.clone()) />
            }
        });
        view! {
            <tr class="person" data-person=person.email.clone() data-status=person.status.as_str()>
                <td class="person__email">{person.email.clone()}
                    {owner.then(|| view! { <span class="badge badge--owner">"owner"</span> })}</td>
                <td class="person__name">{person.name.clone()}</td>
                <td>{role_choice}</td>
                <td class="person__state">{if active { "active" } else { "disabled" }}</td>
                <td class="person__last">{last}</td>
                <td class="person__actions">
                    {status_button}
                    {ownership}
                    <p class="error person__error">{move || row_errors.with(|e| e.get(&id).cloned())}</p>
                </td>
            </tr>
        }
    };

    view! {
        <section class="panel people" id="people" aria-labelledby="people-heading">
            <h2 id="people-heading">"People"</h2>
            <Notice notice=notice />
            <table class="people__list">
                <thead><tr><th>"E-mail"</th><th>"Name"</th><th>"Role"</th><th>"Status"</th><th>"Last sign-in"</th><th></th></tr></thead>
                <tbody>{move || people.get().into_iter().map(row).collect_view()}</tbody>
            </table>
            {move || {
                let list = pending.get();
                (!list.is_empty()).then(|| view! {
                    <h3>"Invited, not signed in yet"</h3>
                    <ul class="people__pending">
                        {list.into_iter().map(|i| view! {
                            <li class="invitation">{format!("{} as {} (invited by {}, until {})", i.email, i.role, i.invited_by, clock::display(&i.expires_at))}</li>
                        }).collect_view()}
                    </ul>
                })
            }}
            <form class="people__invite" id="invite-form" novalidate on:submit=invite title=move || may_invite.get()>
                <h3>"Invite someone"</h3>
                <TextField id="invite-email" label="E-mail" key="email" value=email reasons=reasons kind="email" />
                <TextField id="invite-person-name" label="Name (optional)" key="name" value=name reasons=reasons />
                <SelectField id="invite-role" label="Role" key="role" value=role reasons=reasons
                    options=Signal::derive(move || assignable(&roles.get())) />
                <button type="submit" class="btn btn--primary" id="invite-send"
                    disabled=move || may_invite.with(Option::is_some) title=move || may_invite.get()>"Invite"</button>
            </form>
            {move || created.get().map(|answer| view! {
                <div class="people__invited" role="status">
                    <p>{format!("Invited {} as {}. No e-mail is sent: pass this link on (valid until {}).",
                        answer.email, answer.role, clock::display(&answer.expires_at))}</p>
                    <label for="invite-link">"Invitation link"</label>
                    <textarea id="invite-link" readonly rows="2" prop:value=answer.invite_url.clone()></textarea>
                    <button type="button" class="btn" id="invite-copy"
                        on:click={
                            let url = answer.invite_url.clone();
                            move |_| copy_text(url.clone(), "invite-link", copy_status)
                        }>"Copy the link"</button>
                    <span class="muted" role="status">{move || copy_status.get()}</span>
                </div>
            })}
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owner_is_never_offered() {
        let roles = ["owner", "editor", "viewer", "support"].map(String::from);
        assert_eq!(assignable(&roles), ["editor", "viewer", "support"]);
    }
}
