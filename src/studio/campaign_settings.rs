//! The Campaign settings page (SPEC §9): the project's caps on pop-ups across offers (per
//! session, per local day, per rolling 7 days, the minimum gap between two) and the
//! conversions' attribution window, read with `GET /external/project` and saved with
//! `PATCH /external/project`. The ranges are the core's (`Caps::errors`,
//! `attribution_window_error`): the page only reads numbers and shows the server's field
//! errors next to their fields.

use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use leptos::task::spawn_local;
use offers_core::access::{Area, Level};
use offers_core::api::people::{ProjectSettingsPatch, ProjectSettingsView};
use offers_core::campaign::Caps;

use super::api::{self, ApiFailure, Credentials};
use super::labeled::{Notice, NoticeState, Reasons, TextField, load_with, reasons_of};
use super::permits::refusal_of;

/// The typed fields, as text.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TypedCaps {
    pub per_session: String,
    pub per_day: String,
    pub per_week: String,
    pub min_gap_ms: String,
    pub window_hours: String,
}

impl TypedCaps {
    /// The fields showing `settings` (a blank field: no cap).
    pub fn of(settings: &ProjectSettingsView) -> Self {
        let shown = |n: Option<u64>| n.map(|n| n.to_string()).unwrap_or_default();
        Self {
            per_session: shown(settings.caps.per_session.map(u64::from)),
            per_day: shown(settings.caps.per_day.map(u64::from)),
            per_week: shown(settings.caps.per_week.map(u64::from)),
            min_gap_ms: shown(settings.caps.min_gap_ms),
            window_hours: settings.attribution_window_hours.to_string(),
        }
    }

    /// The patch these fields ask for: a blank cap is sent as 0 (no cap). `Err`: the reasons
    /// of the fields that are not whole numbers, keyed by wire name.
    pub fn patch(&self) -> Result<ProjectSettingsPatch, Vec<(String, String)>> {
        let mut errors = Vec::new();
        let mut number = |key: &str, typed: &str, blank: Option<u64>| -> Option<u64> {
            let typed = typed.trim();
            if typed.is_empty() {
                return blank;
            }
            match typed.parse::<u64>() {
                Ok(n) => Some(n),
                Err(_) => {
                    errors.push((key.to_owned(), "must be a whole number".to_owned()));
                    None
                }
            }
        };
        let cap = |n: Option<u64>| n.map(|n| u32::try_from(n).unwrap_or(u32::MAX));
        let per_session = cap(number("caps.perSession", &self.per_session, Some(0)));
        let per_day = cap(number("caps.perDay", &self.per_day, Some(0)));
        let per_week = cap(number("caps.perWeek", &self.per_week, Some(0)));
        let min_gap_ms = number("caps.minGapMs", &self.min_gap_ms, Some(0));
        let window = number("attributionWindowHours", &self.window_hours, None);
        if self.window_hours.trim().is_empty() {
            errors.push((
                "attributionWindowHours".to_owned(),
                "is required (1 to 720 hours)".to_owned(),
            ));
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(ProjectSettingsPatch {
            caps: Some(Caps {
                per_session,
                per_day,
                per_week,
                min_gap_ms,
            }),
            attribution_window_hours: window.map(|n| u32::try_from(n).unwrap_or(u32::MAX)),
            ..ProjectSettingsPatch::default()
        })
    }
}

async fn load(credentials: &Credentials) -> Result<ProjectSettingsView, ApiFailure> {
    api::parse(&api::call(credentials, "GET", "/external/project", None).await?)
}

async fn save(
    credentials: &Credentials,
    patch: &ProjectSettingsPatch,
) -> Result<ProjectSettingsView, ApiFailure> {
    let body = serde_json::to_value(patch).unwrap_or_default();
    api::parse(&api::call(credentials, "PATCH", "/external/project", Some(&body)).await?)
}

/// The Campaign settings page.
#[component]
pub fn CampaignSettings(session: Signal<Option<Credentials>>) -> impl IntoView {
    let reload = RwSignal::new(0u32);
    let notice: NoticeState = RwSignal::new(None);
    let reasons: Reasons = RwSignal::new(Default::default());
    let fields = [(); 5].map(|()| RwSignal::new(String::new()));
    let [per_session, per_day, per_week, min_gap_ms, window_hours] = fields;
    let show = move |typed: TypedCaps| {
        per_session.set(typed.per_session);
        per_day.set(typed.per_day);
        per_week.set(typed.per_week);
        min_gap_ms.set(typed.min_gap_ms);
        window_hours.set(typed.window_hours);
    };
    let may_save = refusal_of(session, Area::Settings, Level::Update);

    load_with(
        session,
        reload,
        move || show(TypedCaps::default()),
        move |credentials| async move {
            match load(&credentials).await {
                Ok(settings) => show(TypedCaps::of(&settings)),
                Err(failure) => notice.set(Some(Err(failure.describe()))),
            }
        },
    );

    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        let Some(credentials) = session.get_untracked() else {
            return;
        };
        notice.set(None);
        let typed = TypedCaps {
            per_session: per_session.get_untracked(),
            per_day: per_day.get_untracked(),
            per_week: per_week.get_untracked(),
            min_gap_ms: min_gap_ms.get_untracked(),
            window_hours: window_hours.get_untracked(),
        };
        let patch = match typed.patch() {
            Ok(patch) => patch,
            Err(errors) => {
                reasons.set(errors.into_iter().collect());
                return;
            }
        };
        reasons.set(Default::default());
        spawn_local(async move {
            match save(&credentials, &patch).await {
                Ok(settings) => {
                    show(TypedCaps::of(&settings));
                    notice.set(Some(Ok("Saved the campaign settings.".to_owned())));
                }
                Err(failure) => {
                    reasons.set(reasons_of(&failure));
                    notice.set(Some(Err(failure.describe())));
                }
            }
        });
    };

    view! {
        <section class="panel campaign-settings" id="campaign-settings" aria-labelledby="campaign-settings-heading">
            <h2 id="campaign-settings-heading">"Campaign settings"</h2>
            <Notice notice=notice />
            <form id="caps-form" novalidate on:submit=submit>
                <h3>"Pop-up caps across offers, per user"</h3>
                <p class="muted">"Leave a field blank for no cap. A session ends after 30 minutes without activity; caps hold across tabs, and across devices for signed-in users."</p>
                <TextField id="cap-session" label="At most per session" key="caps.perSession"
                    value=per_session reasons=reasons kind="number" />
                <TextField id="cap-day" label="At most per day (the user's local day)" key="caps.perDay"
                    value=per_day reasons=reasons kind="number" />
                <TextField id="cap-week" label="At most per 7 days" key="caps.perWeek"
                    value=per_week reasons=reasons kind="number" />
                <TextField id="cap-gap" label="Minimum gap between two pop-ups (milliseconds)" key="caps.minGapMs"
                    value=min_gap_ms reasons=reasons kind="number" />
                <h3>"Conversions"</h3>
                <TextField id="attribution-window" label="Attribution window (hours after a click)"
                    key="attributionWindowHours" value=window_hours reasons=reasons kind="number"
                    hint="1 to 720 hours; 24 by default" />
                <button type="submit" class="btn btn--primary" id="caps-save"
                    disabled=move || may_save.with(Option::is_some) title=move || may_save.get()>"Save"</button>
            </form>
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blank_caps_are_sent_as_none_and_bad_numbers_are_named() {
        let typed = TypedCaps {
            per_session: "1".into(),
            per_day: " ".into(),
            per_week: "10".into(),
            min_gap_ms: "".into(),
            window_hours: "48".into(),
        };
        let patch = typed.patch().unwrap();
        assert_eq!(
            patch.caps,
            Some(Caps {
                per_session: Some(1),
                per_day: Some(0),
                per_week: Some(10),
                min_gap_ms: Some(0),
            })
        );
        assert_eq!(patch.attribution_window_hours, Some(48));
        let bad = TypedCaps {
            per_session: "one".into(),
            window_hours: "".into(),
            ..typed
        };
        let errors = bad.patch().unwrap_err();
        let keys: Vec<_> = errors.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["caps.perSession", "attributionWindowHours"]);
    }
}
