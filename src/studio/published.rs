//! The published offers: a page of `GET /external/offer` with each offer's status, audience,
//! period and figures, and edit / delete.

use chrono::{DateTime, Utc};
use leptos::prelude::*;
use leptos::task::spawn_local;
use offers_core::explain::{ScheduleStatus as Status, schedule_status};
use offers_core::{AudienceType, ExternalId, PartnerOffer, ShowFrequency};

use super::api::{self, Credentials, ListFilter, ListedOffer, StatsSummary};
use super::clock;
use super::figures::{Chosen, Figures as FiguresPanel};
use super::permits::refusal_of;
use offers_core::access::{Area, Level};

/// Offers per page.
pub const PAGE_SIZE: usize = 10;

/// The offer's status at `now`: the core's rule ([`schedule_status`]).
pub fn status(offer: &PartnerOffer, now: DateTime<Utc>) -> Status {
    schedule_status(offer.start_time, offer.end_time, now)
}

fn some_ids(ids: &[ExternalId]) -> String {
    const SHOWN: usize = 3;
    let mut text = ids
        .iter()
        .take(SHOWN)
        .map(ExternalId::as_str)
        .collect::<Vec<_>>()
        .join(", ");
    if ids.len() > SHOWN {
        text.push_str(&format!(" and {} more", ids.len() - SHOWN));
    }
    text
}

fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// Who sees the offer, in a few words.
pub fn audience_summary(offer: &PartnerOffer) -> String {
    match offer.kind {
        AudienceType::Global => "All rooms".to_owned(),
        AudienceType::Room => format!(
            "{}: {}",
            count(offer.external_room_ids.len(), "room", "rooms"),
            some_ids(&offer.external_room_ids)
        ),
        AudienceType::User => format!(
            "{}: {}",
            count(offer.external_user_ids.len(), "user", "users"),
            some_ids(&offer.external_user_ids)
        ),
    }
}

/// How often the offer shows, in a few words.
pub fn frequency_summary(offer: &PartnerOffer) -> String {
    let times = match (offer.show_multiple_times, offer.show_frequency) {
        (false, _) => "once per user",
        (true, ShowFrequency::OnEntry) => "on every entry",
        (true, ShowFrequency::Daily) => "once a day",
    };
    if offer.show_delay_ms == 0 {
        times.to_owned()
    } else {
        format!(
            "{times}, after {} s",
            super::form::seconds(offer.show_delay_ms)
        )
    }
}

/// The period, with `display` formatting instants.
pub fn period(offer: &PartnerOffer, display: impl Fn(&DateTime<Utc>) -> String) -> String {
    let end = offer
        .end_time
        .as_ref()
        .map_or_else(|| "no end".to_owned(), &display);
    format!("{} → {end}", display(&offer.start_time))
}

/// Impressions, clicks and click-through rate as shown; "—" when the list has no figures.
pub fn figures(figures: Option<StatsSummary>) -> [String; 3] {
    const NONE: &str = "—";
    match figures {
        None => [NONE.to_owned(), NONE.to_owned(), NONE.to_owned()],
        Some(f) => [
            f.impressions.to_string(),
            f.clicks.to_string(),
            format!("{:.1} %", f.ctr * 100.0),
        ],
    }
}

/// The offer's name in the list: its internal name, else its title, else where it leads.
fn name(offer: &PartnerOffer) -> String {
    if let Some(name) = &offer.extras.name {
        return name.as_str().to_owned();
    }
    offer.title.as_ref().map_or_else(
        || format!("Banner → {}", offer.link.as_str()),
        |t| t.as_str().to_owned(),
    )
}

/// The offer's tags and segments, in a few words (empty: none).
pub fn targeting_summary(offer: &PartnerOffer) -> String {
    let extras = &offer.extras;
    let ids = |ids: &[i64]| {
        ids.iter()
            .map(|id| format!("#{id}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut parts = Vec::new();
    if !extras.tags.is_empty() {
        let tags: Vec<&str> = extras.tags.iter().map(|t| t.as_str()).collect();
        parts.push(format!("tags: {}", tags.join(", ")));
    }
    if !extras.segment_ids.is_empty() {
        parts.push(format!("in segments {}", ids(&extras.segment_ids)));
    }
    if !extras.exclude_segment_ids.is_empty() {
        parts.push(format!(
            "not in segments {}",
            ids(&extras.exclude_segment_ids)
        ));
    }
    if !extras.translations.is_empty() {
        let languages: Vec<&str> = extras.translations.keys().map(|l| l.as_str()).collect();
        parts.push(format!("translated: {}", languages.join(", ")));
    }
    parts.join(" · ")
}

#[derive(Debug, Clone, PartialEq)]
enum Page {
    SignedOut,
    Loading,
    Loaded {
        offers: Vec<ListedOffer>,
        more: bool,
        skipped: usize,
    },
    Failed(String),
}

/// The published offers of the signed-in project.
#[component]
pub fn Published(
    session: Signal<Option<Credentials>>,
    /// Bumped to reload the page (after a save or a delete).
    refresh: RwSignal<u32>,
    now: Signal<DateTime<Utc>>,
    editing: Signal<Option<i64>>,
    #[prop(into)] on_edit: Callback<PartnerOffer>,
    /// Loads an offer into the form as a new offer.
    #[prop(into)]
    on_duplicate: Callback<PartnerOffer>,
    #[prop(into)] on_deleted: Callback<i64>,
) -> impl IntoView {
    let offset = RwSignal::new(0usize);
    let filter = RwSignal::new(ListFilter::default());
    let tag_typed = RwSignal::new(String::new());
    let page = RwSignal::new(Page::SignedOut);
    let confirming = RwSignal::new(None::<i64>);
    let notice = RwSignal::new(None::<String>);
    let generation = StoredValue::new(0u64);
    let chosen = RwSignal::new(None::<(i64, String)> as Chosen);
    // A role that may only view offers sees them read-only.
    let may_edit = refusal_of(session, Area::Offers, Level::Update);
    let may_create = refusal_of(session, Area::Offers, Level::Full);

    Effect::new(move |_| {
        refresh.track();
        let at = offset.get();
        let wanted = filter.get();
        let Some(credentials) = session.get() else {
            page.set(Page::SignedOut);
            return;
        };
        generation.update_value(|g| *g += 1);
        let mine = generation.get_value();
        // Keep the current page on screen while it reloads (no flicker after a save).
        if !page.with_untracked(|p| matches!(p, Page::Loaded { .. })) {
            page.set(Page::Loading);
        }
        spawn_local(async move {
            // One more than a page tells whether there is a next page.
            let result = api::list(&credentials, PAGE_SIZE + 1, at, &wanted).await;
            if generation.get_value() != mine {
                return;
            }
            page.set(match result {
                Ok((offers, _)) if offers.is_empty() && at > 0 => {
                    // The last offer of a later page went: show the page before it.
                    offset.set(at.saturating_sub(PAGE_SIZE));
                    return;
                }
                Ok((mut offers, skipped)) => {
                    let more = offers.len() > PAGE_SIZE;
                    offers.truncate(PAGE_SIZE);
                    Page::Loaded {
                        offers,
                        more,
                        skipped,
                    }
                }
                Err(failure) => Page::Failed(failure.describe()),
            });
        });
    });

    let delete = move |id: i64| {
        let Some(credentials) = session.get_untracked() else {
            return;
        };
        spawn_local(async move {
            match api::delete(&credentials, id).await {
                Ok(()) => {
                    notice.set(Some(format!("Offer #{id} deleted.")));
                    confirming.set(None);
                    on_deleted.run(id);
                    if chosen.with_untracked(|c| c.as_ref().map(|(c, _)| *c)) == Some(id) {
                        chosen.set(None);
                    }
                    refresh.update(|n| *n += 1);
                }
                Err(failure) => notice.set(Some(failure.describe())),
            }
        });
    };

    let row = move |listed: ListedOffer| {
        let offer = listed.offer;
        let id = offer.id;
        let [impressions, clicks, ctr] = figures(listed.figures);
        let state = Memo::new({
            let offer = offer.clone();
            move |_| status(&offer, now.get())
        });
        let edit_offer = offer.clone();
        let copy_offer = offer.clone();
        let targeting = targeting_summary(&offer);
        let title = name(&offer);
        let confirm_text = move || match state.get() {
            Status::Scheduled => format!("Withdraw scheduled offer #{id}? It will never be shown."),
            Status::Live => format!("Delete live offer #{id}? It disappears from open chats."),
            Status::Ended => format!("Delete ended offer #{id}?"),
        };
        view! {
            <li class="pub" data-published-id=id.to_string()
                class:pub--editing=move || editing.get() == Some(id)>
                <div class="pub__head">
                    <span class=move || format!("badge badge--{}", state.get().as_str())>
                        {move || state.get().as_str()}
                    </span>
                    <strong class="pub__title">{format!("#{id} · {}", title)}</strong>
                    <span class="pub__kind">
                        {format!("template {} · {}", offer.template.code(),
                            if offer.view_type == offers_core::ViewType::Popup { "pop-up" } else { "in-feed" })}
                    </span>
                </div>
                <dl class="pub__meta">
                    <div><dt>"Audience"</dt><dd class="pub__audience">{audience_summary(&offer)}</dd></div>
                    <div><dt>"Period"</dt><dd class="pub__period">{period(&offer, clock::display)}</dd></div>
                    <div><dt>"Shown"</dt><dd>{frequency_summary(&offer)}</dd></div>
                    {(!targeting.is_empty()).then(|| view! {
                        <div><dt>"Targeting"</dt><dd class="pub__targeting">{targeting}</dd></div>
                    })}
                </dl>
                <dl class="pub__figures" aria-label="Figures">
                    <div><dt>"Impressions"</dt><dd class="pub__impressions">{impressions}</dd></div>
                    <div><dt>"Clicks"</dt><dd class="pub__clicks">{clicks}</dd></div>
                    <div><dt>"CTR"</dt><dd class="pub__ctr">{ctr}</dd></div>
                </dl>
                <div class="pub__actions">
                    <button type="button" class="btn pub__figures-btn"
                        aria-controls="figures"
                        aria-expanded=move || chosen.with(|c| c.as_ref().map(|(c, _)| *c) == Some(id)).to_string()
                        on:click={
                            let title = title.clone();
                            move |_| {
                                chosen.set(Some((id, title.clone())));
                                super::focus_later("figures-heading".to_owned());
                            }
                        }>
                        "Figures"<span class="visually-hidden">{format!(" of offer #{id}")}</span>
                    </button>
                    <button type="button" class="btn pub__edit"
                        disabled=move || may_edit.with(Option::is_some) title=move || may_edit.get()
                        on:click=move |_| on_edit.run(edit_offer.clone())>
                        "Edit"<span class="visually-hidden">{format!(" offer #{id}")}</span>
                    </button>
                    <button type="button" class="btn pub__duplicate"
                        disabled=move || may_create.with(Option::is_some) title=move || may_create.get()
                        on:click=move |_| on_duplicate.run(copy_offer.clone())>
                        "Duplicate"<span class="visually-hidden">{format!(" offer #{id}")}</span>
                    </button>
                    <button type="button" class="btn btn--danger pub__delete"
                        disabled=move || may_create.with(Option::is_some) title=move || may_create.get()
                        aria-expanded=move || (confirming.get() == Some(id)).to_string()
                        on:click=move |_| confirming.set(Some(id))>
                        {move || if state.get() == Status::Scheduled { "Withdraw" } else { "Delete" }}
                        <span class="visually-hidden">{format!(" offer #{id}")}</span>
                    </button>
                </div>
                <Show when=move || confirming.get() == Some(id)>
                    <div class="pub__confirm" role="alertdialog" aria-label="Confirm deletion">
                        <p>{confirm_text}</p>
                        <button type="button" class="btn btn--danger pub__confirm-yes"
                            on:click=move |_| delete(id)>"Yes, delete"</button>
                        <button type="button" class="btn" on:click=move |_| confirming.set(None)>"Cancel"</button>
                    </div>
                </Show>
            </li>
        }
    };

    view! {
        <section class="published" aria-labelledby="published-heading">
            <div class="published__bar">
                <h2 id="published-heading">"Published offers"</h2>
                <button type="button" class="btn" disabled=move || session.with(Option::is_none)
                    on:click=move |_| refresh.update(|n| *n += 1)>"Refresh"</button>
            </div>
            <form class="published__filter" aria-label="Filter the offers"
                on:submit=move |ev| {
                    ev.prevent_default();
                    offset.set(0);
                    filter.update(|f| f.tag = tag_typed.get_untracked());
                }>
                <label for="filter-tag">"Tag"</label>
                <input type="text" id="filter-tag" autocomplete="off"
                    prop:value=move || tag_typed.get()
                    on:input=move |ev| tag_typed.set(event_target_value(&ev)) />
                <label for="filter-status">"Status"</label>
                <select id="filter-status" on:change=move |ev| {
                    let status = event_target_value(&ev);
                    offset.set(0);
                    filter.update(|f| {
                        f.status = status;
                        f.tag = tag_typed.get_untracked();
                    });
                }>
                    <option value="">"Any"</option>
                    <option value="scheduled">"Scheduled"</option>
                    <option value="live">"Live"</option>
                    <option value="ended">"Ended"</option>
                </select>
                <button type="submit" class="btn" id="filter-apply">"Filter"</button>
            </form>
            <p class="published__notice" role="status">{move || notice.get()}</p>
            {move || match page.get() {
                Page::SignedOut => view! {
                    <p class="muted">"Sign in to see the project's offers."</p>
                }.into_any(),
                Page::Loading => view! { <p class="muted">"Loading…"</p> }.into_any(),
                Page::Failed(reason) => view! { <p class="error" role="alert">{reason}</p> }.into_any(),
                Page::Loaded { offers, more, skipped } => {
                    let empty = offers.is_empty();
                    view! {
                        {empty.then(|| view! { <p class="muted">{move || if filter.with(|f| f.tag.trim().is_empty() && f.status.is_empty()) { "No offers yet." } else { "No offers match the filter." }}</p> })}
                        <ul class="published__list">{offers.into_iter().map(row).collect_view()}</ul>
                        {(skipped > 0).then(|| view! {
                            <p class="muted">{format!("{skipped} offers could not be read and are not shown.")}</p>
                        })}
                        <nav class="published__pages" aria-label="Pages">
                            <button type="button" class="btn" disabled=move || offset.get() == 0
                                on:click=move |_| offset.update(|o| *o = o.saturating_sub(PAGE_SIZE))>"Newer"</button>
                            <span>{move || format!("Page {}", offset.get() / PAGE_SIZE + 1)}</span>
                            <button type="button" class="btn" disabled=!more
                                on:click=move |_| offset.update(|o| *o += PAGE_SIZE)>"Older"</button>
                        </nav>
                    }.into_any()
                }
            }}
            <FiguresPanel session=session chosen=chosen refresh=refresh />
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use offers_core::{Audience, HttpUrl, Offer, OfferSpec, Template, TemplateData, ViewType};

    fn offer(start: &str, end: Option<&str>, audience: Audience) -> PartnerOffer {
        PartnerOffer::from(&Offer {
            id: 1,
            created_at: chrono::DateTime::UNIX_EPOCH,
            updated_at: chrono::DateTime::UNIX_EPOCH,
            spec: OfferSpec {
                template: Template::Banner,
                title: None,
                text: None,
                link_text: None,
                link: HttpUrl::parse("https://a.test/").unwrap(),
                pic: Some(HttpUrl::parse("https://a.test/p.png").unwrap()),
                template_data: TemplateData::default(),
                view_type: ViewType::Popup,
                start_time: offers_core::parse_timestamp(start).unwrap(),
                end_time: end.map(|e| offers_core::parse_timestamp(e).unwrap()),
                show_multiple_times: true,
                show_frequency: ShowFrequency::Daily,
                show_delay_ms: 2500,
                audience,
                ..OfferSpec::example()
            },
        })
    }

    fn ids(list: &[&str]) -> Vec<ExternalId> {
        list.iter().map(|s| ExternalId::parse(s).unwrap()).collect()
    }

    #[test]
    fn status_follows_the_schedule() {
        let o = offer(
            "2026-01-01T00:00:00Z",
            Some("2026-02-01T00:00:00Z"),
            Audience::global(),
        );
        let at = |t: &str| status(&o, offers_core::parse_timestamp(t).unwrap());
        assert_eq!(at("2025-12-31T23:59:59Z"), Status::Scheduled);
        assert_eq!(at("2026-01-01T00:00:00Z"), Status::Live);
        assert_eq!(at("2026-02-01T00:00:00Z"), Status::Ended);
    }

    #[test]
    fn summaries() {
        let o = offer(
            "2026-01-01T00:00:00Z",
            None,
            Audience::rooms(ids(&["a", "b", "c", "d", "e"])),
        );
        assert_eq!(audience_summary(&o), "5 rooms: a, b, c and 2 more");
        assert_eq!(
            audience_summary(&offer(
                "2026-01-01T00:00:00Z",
                None,
                Audience::users(ids(&["u"]))
            )),
            "1 user: u"
        );
        assert_eq!(frequency_summary(&o), "once a day, after 2.5 s");
        assert_eq!(period(&o, clock::display), "2026-01-01 00:00 → no end");
        assert_eq!(figures(None), ["—", "—", "—"]);
        let f = StatsSummary::new(8, 1, 0, 3);
        assert_eq!(figures(Some(f)), ["8", "1", "12.5 %"]);
        assert_eq!(f.ctr, 0.125);
    }
}
