//! "Why shown / why not": for a room, an optional user, language and time, every published
//! offer of the project with whether it would show on entering that room, and each rule's
//! verdict (schedule, audience, opt-out, frequency, segments, language and merge tags) with its
//! reason, as
//! `GET /external/explain` answers from the core's own rules (`offers_core::explain`).

use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use leptos::task::spawn_local;

use super::api::{self, Credentials, ExplainQuery, ExplainResponse as Explanation, ExplainedOffer};
use super::clock;

/// A rule's name for people.
pub fn rule_label(rule: &str) -> &str {
    match rule {
        "schedule" => "Schedule",
        "audience" => "Audience",
        "optOut" => "Opt-out",
        "frequency" => "Frequency",
        "segments" => "Segments",
        "personalization" => "Language and merge tags",
        other => other,
    }
}

/// What the form asks about.
#[derive(Debug, Clone, Copy, Default)]
pub struct Typed<'a> {
    pub room: &'a str,
    pub user: &'a str,
    /// The language the widget would send (`de-AT`); empty for none.
    pub lang: &'a str,
    /// A local date and time; empty for now.
    pub at: &'a str,
}

/// The question from the form's text: `Err` with a sentence when it cannot be asked.
/// `to_utc` turns the local time typed into an RFC 3339 instant.
pub fn query(
    typed: Typed<'_>,
    utc_offset: i32,
    to_utc: &dyn Fn(&str) -> Option<String>,
) -> Result<ExplainQuery, String> {
    let room = typed.room.trim();
    if room.is_empty() {
        return Err("Enter the room to check.".to_owned());
    }
    let user = Some(typed.user.trim()).filter(|u| !u.is_empty());
    let lang = Some(typed.lang.trim()).filter(|l| !l.is_empty());
    let at = match typed.at.trim() {
        "" => None,
        typed => Some(to_utc(typed).ok_or_else(|| "The time is not a date and time.".to_owned())?),
    };
    Ok(ExplainQuery {
        room: room.to_owned(),
        user: user.map(str::to_owned),
        lang: lang.map(str::to_owned),
        at,
        utc_offset,
    })
}

/// One line summing the answer up.
pub fn summary(answer: &Explanation, at: &str) -> String {
    let shown = answer.offers.iter().filter(|o| o.shown).count();
    let who = answer.user.as_ref().map_or_else(
        || "an anonymous visitor".to_owned(),
        |user| format!("user {user}"),
    );
    format!(
        "{at}, room {}, {who}: {shown} of {} offer{} shown.",
        answer.room,
        answer.offers.len(),
        if answer.offers.len() == 1 { "" } else { "s" }
    )
}

#[derive(Debug, Clone, PartialEq)]
enum Answer {
    None,
    Asking,
    Got(Explanation),
    Failed(String),
}

/// One offer's verdict and checks.
#[component]
fn ExplainedRow(offer: ExplainedOffer) -> impl IntoView {
    let id = offer.offer_id;
    let name = offer
        .title
        .as_ref()
        .map_or_else(|| "(no title)".to_owned(), |t| t.as_str().to_owned());
    let kind = format!("template {}", offer.template.code());
    let (class, verdict) = if offer.shown {
        ("explain__offer explain__offer--shown", "✓ shown")
    } else {
        ("explain__offer explain__offer--hidden", "✗ not shown")
    };
    view! {
        <li class=class data-explain-id=id.to_string()>
            <div class="explain__head">
                <span class="explain__verdict">{verdict}</span>
                <strong class="explain__title">{format!("#{id} · {name}")}</strong>
                <span class=format!("badge badge--{}", offer.status.as_str())>{offer.status.as_str()}</span>
                <span class="pub__kind">{kind}</span>
            </div>
            <ul class="explain__checks">
                {offer.checks.into_iter().map(|check| {
                    let class = if check.ok { "explain__check explain__check--ok" } else { "explain__check explain__check--bad" };
                    let mark = if check.ok { "✓" } else { "✗" };
                    let label = rule_label(check.rule.as_str()).to_owned();
                    view! {
                        <li class=class data-rule=check.rule.as_str()>
                            <span class="explain__mark" aria-hidden="true">{mark}</span>
                            <span class="explain__rule">{label}</span>
                            <span class="visually-hidden">{if check.ok { " passes: " } else { " fails: " }}</span>
                            <span class="explain__detail">{check.detail}</span>
                        </li>
                    }
                }).collect_view()}
            </ul>
        </li>
    }
}

/// The panel.
#[component]
pub fn Explain(session: Signal<Option<Credentials>>) -> impl IntoView {
    let room = RwSignal::new(String::new());
    let user = RwSignal::new(String::new());
    let lang = RwSignal::new(String::new());
    let at = RwSignal::new(String::new());
    let answer = RwSignal::new(Answer::None);
    let problem = RwSignal::new(None::<String>);
    let generation = StoredValue::new(0u64);

    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        problem.set(None);
        let Some(credentials) = session.get_untracked() else {
            problem.set(Some("Sign in (at the top) to check.".to_owned()));
            return;
        };
        let (room, user, lang, at) = (
            room.get_untracked(),
            user.get_untracked(),
            lang.get_untracked(),
            at.get_untracked(),
        );
        let typed = Typed {
            room: &room,
            user: &user,
            lang: &lang,
            at: &at,
        };
        let question = match query(typed, clock::utc_offset_minutes(), &clock::local_to_utc) {
            Ok(question) => question,
            Err(reason) => {
                problem.set(Some(reason));
                return;
            }
        };
        generation.update_value(|g| *g += 1);
        let mine = generation.get_value();
        answer.set(Answer::Asking);
        spawn_local(async move {
            let result = api::explain(&credentials, &question).await;
            if generation.get_value() != mine {
                return;
            }
            answer.set(match result {
                Ok(explanation) => Answer::Got(explanation),
                Err(failure) => Answer::Failed(failure.describe()),
            });
        });
    };

    let result = move || match answer.get() {
        Answer::None => ().into_any(),
        Answer::Asking => view! { <p class="muted">"Checking…"</p> }.into_any(),
        Answer::Failed(reason) => view! { <p class="error" role="alert">{reason}</p> }.into_any(),
        Answer::Got(explanation) => {
            let when = format!("At {} (your time)", clock::display(&explanation.at));
            let line = summary(&explanation, &when);
            let empty = explanation.offers.is_empty();
            view! {
                <p class="explain__summary">{line}</p>
                {explanation.opted_out.then(|| view! {
                    <p class="explain__opted-out error">"This user opted out of offers: none is shown to them."</p>
                })}
                {empty.then(|| view! { <p class="muted">"The project has no offers."</p> })}
                <ul class="explain__list">
                    {explanation.offers.into_iter().map(|offer| view! { <ExplainedRow offer=offer /> }).collect_view()}
                </ul>
            }
            .into_any()
        }
    };

    view! {
        <section class="explain" id="explain" aria-labelledby="explain-heading">
            <h2 id="explain-heading">"Why shown / why not"</h2>
            <p class="muted">
                "Enter a room (and a user, a language and a time, if you like) to see, for every published offer, "
                "whether the widget would show it on entering that room, and why."
            </p>
            <form class="explain__form" on:submit=submit>
                <span class="explain__field">
                    <label for="explain-room">"Room"</label>
                    <input id="explain-room" name="room" autocomplete="off" spellcheck="false"
                        prop:value=move || room.get() on:input=move |ev| room.set(event_target_value(&ev)) />
                </span>
                <span class="explain__field">
                    <label for="explain-user">"User "<span class="muted">"(optional)"</span></label>
                    <input id="explain-user" name="user" autocomplete="off" spellcheck="false"
                        prop:value=move || user.get() on:input=move |ev| user.set(event_target_value(&ev)) />
                </span>
                <span class="explain__field">
                    <label for="explain-lang">"Language "<span class="muted">"(optional; the profile's wins)"</span></label>
                    <input id="explain-lang" name="lang" autocomplete="off" spellcheck="false" placeholder="de-AT"
                        prop:value=move || lang.get() on:input=move |ev| lang.set(event_target_value(&ev)) />
                </span>
                <span class="explain__field">
                    <label for="explain-at">"Time "<span class="muted">"(optional; empty: now)"</span></label>
                    <input id="explain-at" name="at" type="datetime-local" step="1"
                        prop:value=move || at.get() on:input=move |ev| at.set(event_target_value(&ev)) />
                </span>
                <button type="submit" class="btn btn--primary" id="explain-run"
                    disabled=move || session.with(Option::is_none) || answer.with(|a| *a == Answer::Asking)>
                    "Check"
                </button>
            </form>
            {move || session.with(Option::is_none).then(|| view! {
                <p class="muted">"Sign in to check the project's offers."</p>
            })}
            <p class="error" role="alert">{move || problem.get()}</p>
            <div class="explain__result" aria-live="polite">{result}</div>
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(text: &str) -> Option<String> {
        clock::local_to_utc(text)
    }

    fn typed<'a>(room: &'a str, user: &'a str, lang: &'a str, at: &'a str) -> Typed<'a> {
        Typed {
            room,
            user,
            lang,
            at,
        }
    }

    #[test]
    fn questions() {
        assert_eq!(
            query(typed("  ", "", "", ""), 0, &utc).unwrap_err(),
            "Enter the room to check."
        );
        let q = query(typed(" room-1 ", " ", " ", ""), 60, &utc).unwrap();
        assert_eq!(q.room, "room-1");
        assert_eq!(q.user, None);
        assert_eq!(q.lang, None);
        assert_eq!(q.at, None);
        assert_eq!(q.utc_offset, 60);
        let q = query(typed("r", "u1", " de-AT ", "2026-11-21T10:30"), 0, &utc).unwrap();
        assert_eq!(q.user.as_deref(), Some("u1"));
        assert_eq!(q.lang.as_deref(), Some("de-AT"));
        assert_eq!(q.at.as_deref(), Some("2026-11-21T10:30:00.000Z"));
        assert_eq!(
            q.path(|s| s.to_owned()),
            "/external/explain?room=r&user=u1&lang=de-AT&at=2026-11-21T10:30:00.000Z&utcOffset=0"
        );
        assert!(query(typed("r", "", "", "soon"), 0, &utc).is_err());
        assert_eq!(rule_label("optOut"), "Opt-out");
        assert_eq!(rule_label("segments"), "Segments");
    }

    #[test]
    fn summaries() {
        let offer = |shown| ExplainedOffer {
            offer_id: 1,
            title: None,
            template: offers_core::Template::Text,
            status: offers_core::ScheduleStatus::Live,
            shown,
            checks: vec![],
        };
        let answer = Explanation {
            room: "room-1".into(),
            user: None,
            at: chrono::DateTime::UNIX_EPOCH,
            opted_out: false,
            offers: vec![offer(true), offer(false)],
        };
        assert_eq!(
            summary(&answer, "Now"),
            "Now, room room-1, an anonymous visitor: 1 of 2 offers shown."
        );
    }
}
