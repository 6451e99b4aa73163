//! The preview "as user X": the user's stored profile (`GET /external/user/{id}`) and the
//! core's own personalization ([`FeedOffer::personalized`]: the best translation for their
//! language, then the merge tags filled in), so the card shows what that user would get —
//! or why they would get nothing (a merge tag without a value or fallback).

use chrono::{DateTime, Utc};
use leptos::prelude::*;
use leptos::task::spawn_local;
use offers_core::{FeedOffer, LanguageTag, MergeVars, Offer, OfferSpec, Profile};

use super::api::Credentials;
use super::audience_api;

/// Whom the preview shows the offer to.
#[derive(Debug, Clone, PartialEq)]
pub struct Viewer {
    pub id: String,
    /// Their stored profile (`None`: the project has none for them).
    pub profile: Option<Profile>,
    /// The language their widget would ask for (`data-lang`); the profile's wins.
    pub requested: Option<LanguageTag>,
}

impl Viewer {
    /// The language the offer is rendered in for this viewer, if any.
    pub fn language(&self) -> Option<&LanguageTag> {
        MergeVars::new(
            Some(&self.id),
            self.profile.as_ref(),
            self.requested.as_ref(),
        )
        .language
    }
}

/// The offer `spec` as `viewer` would receive it at `now`, or why they would not (in words).
pub fn render_for(
    spec: &OfferSpec,
    viewer: &Viewer,
    now: DateTime<Utc>,
) -> Result<FeedOffer, String> {
    let vars = MergeVars::new(
        Some(&viewer.id),
        viewer.profile.as_ref(),
        viewer.requested.as_ref(),
    );
    FeedOffer::personalized(&Offer::created(0, spec.clone(), now), &vars)
        .map_err(|missing| format!("Not shown to {}: {missing}.", viewer.id))
}

/// The controls: a user id, an optional language, and "Preview as this user".
#[component]
pub fn PreviewAsUser(
    session: Signal<Option<Credentials>>,
    viewer: RwSignal<Option<Viewer>>,
    /// Why the card cannot be shown for the viewer, if it cannot.
    verdict: Signal<Option<String>>,
) -> impl IntoView {
    let user = RwSignal::new(String::new());
    let lang = RwSignal::new(String::new());
    let status = RwSignal::new(None::<String>);
    let look = move || {
        let Some(credentials) = session.get_untracked() else {
            status.set(Some("Sign in to preview as a user.".to_owned()));
            return;
        };
        let id = user.get_untracked().trim().to_owned();
        if id.is_empty() {
            status.set(Some("Type a user id.".to_owned()));
            return;
        }
        let requested = match lang.get_untracked().trim() {
            "" => None,
            typed => match LanguageTag::parse(typed) {
                Ok(tag) => Some(tag),
                Err(reason) => {
                    status.set(Some(format!("Language: {reason}")));
                    return;
                }
            },
        };
        status.set(Some("Loading the profile…".to_owned()));
        spawn_local(async move {
            match audience_api::get_profile(&credentials, &id).await {
                Ok(stored) => {
                    let profile = stored.map(|s| s.profile());
                    let note = if profile.is_none() {
                        format!("No profile stored for {id}: only {{{{id}}}} and fallbacks apply.")
                    } else {
                        String::new()
                    };
                    viewer.set(Some(Viewer {
                        id,
                        profile,
                        requested,
                    }));
                    status.set((!note.is_empty()).then_some(note));
                }
                Err(failure) => status.set(Some(failure.describe())),
            }
        });
    };
    view! {
        <div class="preview-as" id="preview-as">
            <label for="preview-user">"Preview as user"</label>
            <input type="text" id="preview-user" placeholder="user id" autocomplete="off" size="12"
                prop:value=move || user.get()
                on:input=move |ev| user.set(event_target_value(&ev)) />
            <label for="preview-lang">"asking for language"</label>
            <input type="text" id="preview-lang" placeholder="optional, e.g. de" autocomplete="off" size="6"
                prop:value=move || lang.get()
                on:input=move |ev| lang.set(event_target_value(&ev)) />
            <button type="button" class="btn" id="preview-as-btn" on:click=move |_| look()>"Preview"</button>
            <button type="button" class="btn" id="preview-as-clear"
                hidden=move || viewer.with(Option::is_none)
                on:click=move |_| { viewer.set(None); status.set(None); }>"As written"</button>
            <p class="preview-as__who" role="status">
                {move || viewer.get().map(|v| {
                    let language = v.language().map_or_else(|| "no language".to_owned(), |l| l.as_str().to_owned());
                    format!("Showing the offer as {} sees it ({language}).", v.id)
                })}
                " "
                {move || status.get()}
            </p>
            <p class="error preview-as__verdict" role="alert">{move || verdict.get()}</p>
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use offers_core::{BodyText, Title, Translation};
    use serde_json::json;

    fn spec() -> OfferSpec {
        let german = Translation {
            title: Some(Title::parse("Hallo {{firstName|du}}").unwrap()),
            ..Translation::default()
        };
        OfferSpec {
            title: Some(Title::parse("Hi {{firstName|there}}").unwrap()),
            text: Some(BodyText::parse("You have {{points}} points").unwrap()),
            translations: [(LanguageTag::parse("de").unwrap(), german)]
                .into_iter()
                .collect(),
            ..OfferSpec::example()
        }
    }

    #[test]
    fn renders_in_the_users_language_with_their_profile() {
        let profile = Profile::parse(
            &json!({"language": "de", "attributes": {"firstName": "Ana", "points": 1200}}),
        )
        .unwrap();
        let viewer = Viewer {
            id: "u1".into(),
            profile: Some(profile),
            requested: None,
        };
        let shown = render_for(&spec(), &viewer, chrono::DateTime::UNIX_EPOCH).unwrap();
        assert_eq!(shown.title.unwrap().as_str(), "Hallo Ana");
        assert_eq!(shown.text.unwrap().as_str(), "You have 1200 points");
        assert_eq!(viewer.language().unwrap().as_str(), "de");
    }

    #[test]
    fn says_why_it_would_not_show() {
        let viewer = Viewer {
            id: "u2".into(),
            profile: None,
            requested: Some(LanguageTag::parse("en").unwrap()),
        };
        let why = render_for(&spec(), &viewer, chrono::DateTime::UNIX_EPOCH).unwrap_err();
        assert!(
            why.starts_with("Not shown to u2: merge tag {{points}}"),
            "{why}"
        );
    }
}
