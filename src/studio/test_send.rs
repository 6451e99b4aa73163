//! "Send test to…": delivers the published offer being edited to one user now
//! (`POST /external/offer/{id}/test`, SPEC §7), ignoring schedule and frequency, never counted.

use leptos::prelude::*;
use leptos::task::spawn_local;

use offers_core::access::{Area, Level};

use super::api::Credentials;
use super::audience_api;
use super::clock;
use super::permits::refusal_of;

/// The test-send form for published offer `offer` (`None`: not published yet).
#[component]
pub fn TestSend(session: Signal<Option<Credentials>>, offer: Signal<Option<i64>>) -> impl IntoView {
    let user = RwSignal::new(String::new());
    let sending = RwSignal::new(false);
    let result = RwSignal::new(None::<Result<String, String>>);
    let refused = refusal_of(session, Area::Offers, Level::Update);
    Effect::new(move |_| {
        offer.track();
        result.set(None);
    });
    let send = move || {
        let (Some(credentials), Some(id)) = (session.get_untracked(), offer.get_untracked()) else {
            return;
        };
        let to = user.get_untracked().trim().to_owned();
        if to.is_empty() {
            result.set(Some(Err(
                "Type the id of the user to send the test to.".to_owned()
            )));
            return;
        }
        sending.set(true);
        result.set(None);
        spawn_local(async move {
            let answer = audience_api::test_send(&credentials, id, &to).await;
            sending.set(false);
            result.set(Some(match answer {
                Ok(sent) => Ok(format!(
                    "Sent offer #{} to {} as a test: it shows in their open chat now, and on their next entry until {}.",
                    sent.offer_id,
                    sent.user_id,
                    clock::display(&sent.until)
                )),
                Err(failure) => Err(failure.describe()),
            }));
        });
    };
    view! {
        <div class="test-send" id="test-send">
            <label for="test-user">"Send test to…"</label>
            <input type="text" id="test-user" placeholder="user id" autocomplete="off"
                prop:value=move || user.get()
                on:input=move |ev| user.set(event_target_value(&ev)) />
            <button type="button" class="btn" id="test-send-btn"
                disabled=move || sending.get() || offer.with(Option::is_none) || session.with(Option::is_none) || refused.with(Option::is_some)
                title=move || refused.get()
                on:click=move |_| send()>
                {move || if sending.get() { "Sending test…" } else { "Send test" }}
            </button>
            {move || offer.with(Option::is_none).then(|| view! {
                <span class="muted">" Publish the offer first: a test sends the published offer."</span>
            })}
            <p class="test-send__result" role="status">
                {move || match result.get() {
                    Some(Ok(text)) => view! { <span class="ok-text">{text}</span> }.into_any(),
                    Some(Err(text)) => view! { <span class="error">{text}</span> }.into_any(),
                    None => ().into_any(),
                }}
            </p>
        </div>
    }
}
