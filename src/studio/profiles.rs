//! The Profiles panel (SPEC §7): find a user's stored profile by id, list the profiles (all, or
//! with a tag) a page at a time, and upsert many from a CSV or JSON file (`POST /external/users`), showing each line the
//! server rejected and why. The server parses and judges the file (`offers_core::profile`);
//! nothing is checked here.

use leptos::prelude::*;
use leptos::task::spawn_local;
use offers_core::access::{Area, Level};
use offers_core::api::{BulkUpsertResponse, StoredProfile};

use super::api::Credentials;
use super::audience;
use super::audience_api::{self, ProfileFile};
use super::clock;
use super::permits::refusal_of;

/// Profiles per page of the tag list.
const PAGE: usize = 20;

/// A page of the list, as listed: where it starts, its profiles and how many match in all.
#[derive(Debug, Clone, PartialEq)]
struct ListPage {
    offset: usize,
    profiles: Vec<StoredProfile>,
    total: i64,
}

/// The line above a page: `41–60 of 123 profiles` (or `No profile.`).
pub fn page_label(offset: usize, shown: usize, total: i64) -> String {
    if shown == 0 {
        return if total == 0 {
            "No profile.".to_owned()
        } else {
            format!("Nothing past profile {total} (of {total}).")
        };
    }
    let plural = if total == 1 { "" } else { "s" };
    format!(
        "{}–{} of {total} profile{plural}",
        offset + 1,
        offset + shown
    )
}

/// Where the previous page starts, if there is one.
pub fn previous_offset(offset: usize, per_page: usize) -> Option<usize> {
    (offset > 0).then(|| offset.saturating_sub(per_page))
}

/// Where the next page starts, if there is one.
pub fn next_offset(offset: usize, shown: usize, total: i64) -> Option<usize> {
    let next = offset + shown;
    (shown > 0 && i64::try_from(next).is_ok_and(|n| n < total)).then_some(next)
}

/// A profile's attributes as `key = value` lines.
pub fn attribute_lines(profile: &StoredProfile) -> Vec<String> {
    profile
        .attributes
        .iter()
        .map(|(key, value)| format!("{key} = {}", value.to_text()))
        .collect()
}

/// One profile, shown.
#[component]
fn ProfileCard(profile: StoredProfile) -> impl IntoView {
    let tags: Vec<&str> = profile.tags.iter().map(|t| t.as_str()).collect();
    let tags = if tags.is_empty() {
        "none".to_owned()
    } else {
        tags.join(", ")
    };
    let language = profile
        .language
        .as_ref()
        .map_or_else(|| "not set".to_owned(), |l| l.as_str().to_owned());
    let attributes = attribute_lines(&profile);
    view! {
        <dl class="profile" data-profile-id=profile.id.as_str().to_owned()>
            <div><dt>"User"</dt><dd class="profile__id">{profile.id.as_str().to_owned()}</dd></div>
            <div><dt>"Language"</dt><dd class="profile__language">{language}</dd></div>
            <div><dt>"Tags"</dt><dd class="profile__tags">{tags}</dd></div>
            <div><dt>"Attributes"</dt><dd class="profile__attributes">
                {if attributes.is_empty() {
                    view! { "none" }.into_any()
                } else {
                    view! { <ul>{attributes.into_iter().map(|a| view! { <li>{a}</li> }).collect_view()}</ul> }.into_any()
                }}
            </dd></div>
            <div><dt>"Updated"</dt><dd>{clock::display(&profile.updated_at)}</dd></div>
        </dl>
    }
}

/// The Profiles panel.
#[component]
pub fn Profiles(session: Signal<Option<Credentials>>) -> impl IntoView {
    let may_upload = refusal_of(session, Area::Audiences, Level::Full);
    let id = RwSignal::new(String::new());
    let found = RwSignal::new(None::<Result<StoredProfile, String>>);
    let tag = RwSignal::new(String::new());
    let page = RwSignal::new(None::<Result<ListPage, String>>);
    let listed_tag = StoredValue::new(String::new());
    let upload = RwSignal::new(None::<Result<(String, BulkUpsertResponse), String>>);

    let find = move || {
        let Some(credentials) = session.get_untracked() else {
            return;
        };
        let wanted = id.get_untracked().trim().to_owned();
        if wanted.is_empty() {
            found.set(Some(Err("Type a user id.".to_owned())));
            return;
        }
        spawn_local(async move {
            found.set(Some(
                match audience_api::get_profile(&credentials, &wanted).await {
                    Ok(Some(profile)) => Ok(profile),
                    Ok(None) => Err(format!("No profile stored for {wanted}.")),
                    Err(failure) => Err(failure.describe()),
                },
            ));
        });
    };
    // Lists from `offset`; a new search (`fresh`) takes the tag typed, paging keeps the tag
    // the list was made with.
    let list = move |offset: usize, fresh: bool| {
        let Some(credentials) = session.get_untracked() else {
            return;
        };
        if fresh {
            listed_tag.set_value(tag.get_untracked());
        }
        let wanted = listed_tag.get_value();
        spawn_local(async move {
            page.set(Some(
                audience_api::list_profiles(&credentials, &wanted, PAGE, offset)
                    .await
                    .map(|p| ListPage {
                        offset,
                        profiles: p.profiles,
                        total: p.total,
                    })
                    .map_err(|f| f.describe()),
            ));
        });
    };
    let on_file = move |ev: web_sys::Event| {
        let Some(credentials) = session.get_untracked() else {
            upload.set(Some(Err("Sign in to upload profiles.".to_owned())));
            return;
        };
        upload.set(None);
        spawn_local(async move {
            let (name, bytes) = match audience::read_chosen_file(&ev).await {
                Ok(Some(file)) => file,
                Ok(None) => return,
                Err(reason) => {
                    upload.set(Some(Err(reason)));
                    return;
                }
            };
            let Ok(text) = String::from_utf8(bytes) else {
                upload.set(Some(Err(format!("{name} is not UTF-8 text."))));
                return;
            };
            let kind = ProfileFile::of(&name);
            upload.set(Some(
                audience_api::upload_profiles(&credentials, kind, &text)
                    .await
                    .map(|answer| (name, answer))
                    .map_err(|failure| {
                        let fields: Vec<String> = failure
                            .fields
                            .iter()
                            .map(|(k, v)| format!("{k}: {v}"))
                            .collect();
                        if fields.is_empty() {
                            failure.describe()
                        } else {
                            format!("{} {}", failure.describe(), fields.join("; "))
                        }
                    }),
            ));
        });
    };

    view! {
        <section class="profiles" id="profiles" aria-labelledby="profiles-heading">
            <h2 id="profiles-heading">"Profiles"</h2>
            {move || session.with(Option::is_none).then(|| view! {
                <p class="muted">"Sign in to see the project's user profiles."</p>
            })}
            <form class="profiles__find" on:submit=move |ev| { ev.prevent_default(); find(); }>
                <label for="profile-id">"User id"</label>
                <input type="text" id="profile-id" autocomplete="off"
                    prop:value=move || id.get() on:input=move |ev| id.set(event_target_value(&ev)) />
                <button type="submit" class="btn" id="profile-find"
                    disabled=move || session.with(Option::is_none)>"Find"</button>
            </form>
            <div class="profiles__found" role="status">
                {move || found.get().map(|r| match r {
                    Ok(profile) => view! { <ProfileCard profile=profile /> }.into_any(),
                    Err(reason) => view! { <p class="muted">{reason}</p> }.into_any(),
                })}
            </div>
            <form class="profiles__list-form" on:submit=move |ev| { ev.prevent_default(); list(0, true); }>
                <label for="profile-tag">"Profiles with tag"</label>
                <input type="text" id="profile-tag" autocomplete="off" placeholder="empty: all"
                    prop:value=move || tag.get() on:input=move |ev| tag.set(event_target_value(&ev)) />
                <button type="submit" class="btn" id="profile-list"
                    disabled=move || session.with(Option::is_none)>"List"</button>
            </form>
            <div class="profiles__page">
                {move || page.get().map(|r| match r {
                    Ok(ListPage { offset, profiles, total }) => {
                        let shown = profiles.len();
                        let previous = previous_offset(offset, PAGE);
                        let next = next_offset(offset, shown, total);
                        view! {
                        <p class="muted" id="profiles-page-label">{page_label(offset, shown, total)}</p>
                        <ul class="profiles__list">
                            {profiles.into_iter().map(|p| {
                                let shown = p.clone();
                                view! {
                                    <li><button type="button" class="link" on:click=move |_| found.set(Some(Ok(shown.clone())))>
                                        {p.id.as_str().to_owned()}
                                    </button></li>
                                }
                            }).collect_view()}
                        </ul>
                        <div class="profiles__pager">
                            <button type="button" class="btn" id="profiles-previous" disabled=previous.is_none()
                                on:click=move |_| if let Some(at) = previous { list(at, false) }>"Previous"</button>
                            <button type="button" class="btn" id="profiles-next" disabled=next.is_none()
                                on:click=move |_| if let Some(at) = next { list(at, false) }>"Next"</button>
                        </div>
                    }.into_any() }

                    Err(reason) => view! { <p class="error">{reason}</p> }.into_any(),
                })}
            </div>
            <div class="profiles__upload">
                <label for="profiles-file">"Upload profiles (CSV or JSON)"</label>
                <input type="file" id="profiles-file" accept=".csv,.json,text/csv,application/json"
                    disabled=move || may_upload.with(Option::is_some) title=move || may_upload.get()
                    aria-describedby="profiles-file-help" on:change=on_file />
                <p id="profiles-file-help" class="field__hint">
                    "CSV: a header row id,language,tags,… (tags separated by |, other columns become attributes). "
                    "JSON: an array of {\"id\", \"language\", \"tags\", \"attributes\"}. A bad row never stops the good ones."
                </p>
                <div class="profiles__result" id="profiles-result" role="status">
                    {move || upload.get().map(|r| match r {
                        Ok((name, answer)) => view! {
                            <p class="ok-text">{format!("{name}: {} profile{} stored, {} line{} rejected.",
                                answer.upserted, if answer.upserted == 1 { "" } else { "s" },
                                answer.rejected.len(), if answer.rejected.len() == 1 { "" } else { "s" })}</p>
                            <ul class="profiles__rejected">
                                {answer.rejected.into_iter().map(|r| view! {
                                    <li class="error" data-line=r.line.to_string()>{format!("Line {}: {}", r.line, r.reason)}</li>
                                }).collect_view()}
                            </ul>
                        }.into_any(),
                        Err(reason) => view! { <p class="error">{reason}</p> }.into_any(),
                    })}
                </div>
            </div>
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_are_labelled_and_linked() {
        assert_eq!(page_label(0, 0, 0), "No profile.");
        assert_eq!(page_label(0, 1, 1), "1–1 of 1 profile");
        assert_eq!(page_label(40, 20, 123), "41–60 of 123 profiles");
        assert_eq!(
            page_label(140, 0, 123),
            "Nothing past profile 123 (of 123)."
        );
        assert_eq!(previous_offset(0, 20), None);
        assert_eq!(previous_offset(40, 20), Some(20));
        assert_eq!(previous_offset(5, 20), Some(0));
        assert_eq!(next_offset(0, 20, 123), Some(20));
        assert_eq!(next_offset(120, 3, 123), None);
        assert_eq!(next_offset(0, 0, 5), None);
    }
}
