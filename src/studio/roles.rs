//! The Roles page (SPEC §8): the built-in and custom roles with what each grants, and an
//! editor for a custom role: its name and an area × level grid (one level per area, the
//! core's [`Grants`]). Built-in roles cannot be changed; deleting a role someone has shows the
//! server's 409.

use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use leptos::task::spawn_local;
use offers_core::access::{Area, Grants, Level};

use super::api::{ApiFailure, Credentials};
use super::labeled::{
    ConfirmButton, Notice, NoticeState, Reasons, TextField, load_with, reasons_of,
};
use super::people_api::{self, RoleInfo};
use super::permits::refusal_of;

/// The role being edited: a new one (`editing: None`) or custom role `editing`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RoleForm {
    pub name: String,
    pub grants: Grants,
    pub editing: Option<String>,
}

impl RoleForm {
    /// The form for editing `role`.
    pub fn from_role(role: &RoleInfo) -> Self {
        Self {
            name: role.name.clone(),
            grants: role.grants,
            editing: Some(role.name.clone()),
        }
    }

    /// Whether the grid's cell (`area`, `level`) is the one chosen.
    pub fn chosen(&self, area: Area, level: Level) -> bool {
        self.grants.get(area) == level
    }

    /// Chooses the cell (`area`, `level`).
    pub fn choose(&mut self, area: Area, level: Level) {
        self.grants.set(area, level);
    }
}

/// What a role grants, in a few words: `offers full · figures view` (areas at `none` left out).
pub fn summary(grants: &Grants) -> String {
    let parts: Vec<String> = Area::ALL
        .into_iter()
        .filter(|area| grants.get(*area) != Level::None)
        .map(|area| format!("{area} {}", grants.get(area)))
        .collect();
    if parts.is_empty() {
        "no access".to_owned()
    } else {
        parts.join(" · ")
    }
}

/// The DOM id of a grid cell.
pub fn cell_id(area: Area, level: Level) -> String {
    format!("grant-{area}-{level}")
}

/// The Roles page.
#[component]
pub fn Roles(session: Signal<Option<Credentials>>) -> impl IntoView {
    let roles = RwSignal::new(Vec::<RoleInfo>::new());
    let reload = RwSignal::new(0u32);
    let form = RwSignal::new(RoleForm::default());
    let name = RwSignal::new(String::new());
    let reasons: Reasons = RwSignal::new(Default::default());
    let notice: NoticeState = RwSignal::new(None);
    let may_create = refusal_of(session, Area::People, Level::Full);
    let may_update = refusal_of(session, Area::People, Level::Update);

    load_with(
        session,
        reload,
        move || roles.set(Vec::new()),
        move |credentials| async move {
            match people_api::list_roles(&credentials).await {
                Ok(list) => roles.set(list),
                Err(failure) => notice.set(Some(Err(failure.describe()))),
            }
        },
    );

    let start = move |next: RoleForm| {
        name.set(next.name.clone());
        form.set(next);
        reasons.set(Default::default());
        notice.set(None);
    };
    let save = move |ev: SubmitEvent| {
        ev.prevent_default();
        let Some(credentials) = session.get_untracked() else {
            return;
        };
        let current = form.get_untracked();
        let typed = name.get_untracked();
        notice.set(None);
        reasons.set(Default::default());
        spawn_local(async move {
            let result = people_api::save_role(
                &credentials,
                current.editing.as_deref(),
                &typed,
                &current.grants,
            )
            .await;
            match result {
                Ok(role) => {
                    notice.set(Some(Ok(format!("Saved role “{}”.", role.name))));
                    form.update(|f| f.editing = Some(role.name.clone()));
                    name.set(role.name);
                    reload.update(|n| *n += 1);
                }
                Err(failure) => {
                    reasons.set(reasons_of(&failure));
                    notice.set(Some(Err(failure.describe())));
                }
            }
        });
    };
    let delete = move |role: String| {
        let Some(credentials) = session.get_untracked() else {
            return;
        };
        spawn_local(async move {
            match people_api::delete_role(&credentials, &role).await {
                Ok(()) => {
                    notice.set(Some(Ok(format!("Deleted role “{role}”."))));
                    if form.with_untracked(|f| f.editing.as_deref() == Some(role.as_str())) {
                        start(RoleForm::default());
                    }
                    reload.update(|n| *n += 1);
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

    let item = move |role: RoleInfo| {
        let name_text = role.name.clone();
        let actions = (!role.built_in).then(|| {
            let edit_role = role.clone();
            let shown = role.name.clone();
            let to_delete = role.name.clone();
            view! {
                <button type="button" class="btn role__edit"
                    disabled=move || may_update.with(Option::is_some) title=move || may_update.get()
                    on:click=move |_| start(RoleForm::from_role(&edit_role))>
                    "Edit"<span class="visually-hidden">{format!(" role {shown}")}</span>
                </button>
                <ConfirmButton prefix="role" action="delete" label="Delete"
                    object=format!(" role {}", role.name)
                    question=format!("Delete role “{}”?", role.name) yes="Yes, delete"
                    refused=may_create on_yes=move |()| delete(to_delete.clone()) />
            }
        });
        view! {
            <li class="role" data-role=role.name.clone()>
                <strong class="role__name">{name_text}</strong>
                {role.built_in.then(|| view! { <span class="badge">"built in"</span> })}
                <span class="role__grants muted">{format!(" {}", summary(&role.grants))}</span>
                {actions}
            </li>
        }
    };

    let grid = move || {
        Area::ALL
            .into_iter()
            .map(|area| {
                let cells = Level::ALL
                    .into_iter()
                    .map(|level| {
                        let id = cell_id(area, level);
                        view! {
                            <td>
                                <input type="radio" id=id.clone() name=format!("grant-{area}") value=level.as_str()
                                    aria-label=format!("{area}: {level}")
                                    prop:checked=move || form.with(|f| f.chosen(area, level))
                                    on:change=move |_| form.update(|f| f.choose(area, level)) />
                            </td>
                        }
                    })
                    .collect_view();
                let key = format!("grants.{area}");
                view! {
                    <tr>
                        <th scope="row">{area.as_str()}</th>
                        {cells}
                        <td class="error">{move || reasons.with(|r| r.get(&key).cloned())}</td>
                    </tr>
                }
            })
            .collect_view()
    };
    let editable = move || {
        let needed = if form.with(|f| f.editing.is_some()) {
            may_update
        } else {
            may_create
        };
        needed.get()
    };

    view! {
        <section class="panel roles" id="roles" aria-labelledby="roles-heading">
            <h2 id="roles-heading">"Roles"</h2>
            <Notice notice=notice />
            <ul class="roles__list">{move || roles.get().into_iter().map(item).collect_view()}</ul>
            <form class="role-editor" id="role-editor" on:submit=save>
                <h3>{move || match form.with(|f| f.editing.clone()) {
                    Some(name) => format!("Edit role “{name}”"),
                    None => "New role".to_owned(),
                }}</h3>
                <Show when=move || form.with(|f| f.editing.is_none())>
                    <TextField id="role-name" label="Name" key="name" value=name reasons=reasons
                        hint="1 to 40 characters: a–z, 0–9, _ or -" />
                </Show>
                <table class="role-grid">
                    <caption class="visually-hidden">"Access per area"</caption>
                    <thead><tr><th>"Area"</th>{Level::ALL.into_iter().map(|l| view! { <th scope="col">{l.as_str()}</th> }).collect_view()}<th></th></tr></thead>
                    <tbody>{grid}</tbody>
                </table>
                <p class="muted">"view reads; update also changes existing things; full also creates and deletes."</p>
                <button type="submit" class="btn btn--primary" id="role-save"
                    disabled=move || editable().is_some() title=editable>
                    {move || if form.with(|f| f.editing.is_some()) { "Save the role" } else { "Create the role" }}
                </button>
                <button type="button" class="btn" id="role-new" on:click=move |_| start(RoleForm::default())>"New role"</button>
            </form>
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_grid_is_one_level_per_area() {
        let mut form = RoleForm::default();
        assert!(form.chosen(Area::Offers, Level::None));
        form.choose(Area::Offers, Level::Update);
        form.choose(Area::Figures, Level::View);
        assert!(form.chosen(Area::Offers, Level::Update));
        assert!(!form.chosen(Area::Offers, Level::None));
        assert_eq!(
            serde_json::to_value(form.grants).unwrap(),
            serde_json::json!({"offers": "update", "audiences": "none", "figures": "view",
                "settings": "none", "people": "none"})
        );
        assert_eq!(summary(&form.grants), "offers update · figures view");
        assert_eq!(summary(&Grants::NONE), "no access");
        assert_eq!(cell_id(Area::People, Level::Full), "grant-people-full");
    }

    #[test]
    fn editing_starts_from_the_role() {
        let role = RoleInfo {
            name: "support".into(),
            built_in: false,
            grants: Grants::NONE.with(Area::Audiences, Level::Full),
        };
        let form = RoleForm::from_role(&role);
        assert_eq!(form.editing.as_deref(), Some("support"));
        assert!(form.chosen(Area::Audiences, Level::Full));
    }
}
