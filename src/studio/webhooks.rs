//! The Webhooks page (SPEC §9): the project's webhooks (URL, events, created); register one
//! (its signing secret is shown once, with a copy button); delete one after a confirmation;
//! and each webhook's delivery log (when, events, status, HTTP status, error, attempt,
//! duration). The bodies are the core's wire types (`offers_core::api::webhooks`); the server
//! judges the URL and events and its field errors show next to their fields.

use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use leptos::task::spawn_local;
use offers_core::access::{Area, Level};
pub use offers_core::api::webhooks::{
    CreatedWebhook, DeliveryStatus, WebhookDelivery, WebhookEventType, WebhookInfo, WebhookRequest,
};
use serde_json::Value;

use super::api::{ApiFailure, Credentials, call, parse};
use super::clock;
use super::labeled::{
    ConfirmButton, Notice, NoticeState, Reasons, SecretShownOnce, TextField, load_with, reasons_of,
};
use super::permits::refusal_of;

/// The project's webhooks, newest first.
pub async fn list_webhooks(credentials: &Credentials) -> Result<Vec<WebhookInfo>, ApiFailure> {
    parse(&call(credentials, "GET", "/external/webhook", None).await?)
}

/// Registers a webhook; its secret is in the answer only.
pub async fn create_webhook(
    credentials: &Credentials,
    url: &str,
    events: Vec<WebhookEventType>,
) -> Result<CreatedWebhook, ApiFailure> {
    let body = serde_json::to_value(WebhookRequest {
        url: url.trim().to_owned(),
        events,
    })
    .unwrap_or(Value::Null);
    parse(&call(credentials, "POST", "/external/webhook", Some(&body)).await?)
}

/// Deletes a webhook.
pub async fn delete_webhook(credentials: &Credentials, id: i64) -> Result<(), ApiFailure> {
    call(
        credentials,
        "DELETE",
        &format!("/external/webhook/{id}"),
        None,
    )
    .await
    .map(drop)
}

/// The newest 50 deliveries of a webhook.
pub async fn deliveries(
    credentials: &Credentials,
    id: i64,
) -> Result<Vec<WebhookDelivery>, ApiFailure> {
    let path = format!("/external/webhook/{id}/deliveries?limit=50");
    parse(&call(credentials, "GET", &path, None).await?)
}

/// An event type as listed (`offer.click`, …).
pub fn event_names(events: &[WebhookEventType]) -> String {
    events
        .iter()
        .map(|e| e.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// A delivery's outcome in words: `delivered (200)`, `retrying (500)`, `failed (no answer)`.
pub fn outcome(delivery: &WebhookDelivery) -> String {
    let status = delivery
        .http_status
        .map_or_else(|| "no answer".to_owned(), |s| s.to_string());
    format!("{} ({status})", delivery.status.as_str())
}

/// The Webhooks page.
#[component]
pub fn Webhooks(session: Signal<Option<Credentials>>) -> impl IntoView {
    let hooks = RwSignal::new(Vec::<WebhookInfo>::new());
    let reload = RwSignal::new(0u32);
    let notice: NoticeState = RwSignal::new(None);
    let created = RwSignal::new(None::<CreatedWebhook>);
    let may_change = refusal_of(session, Area::Settings, Level::Full);
    let shown_log = RwSignal::new(None::<(i64, Vec<WebhookDelivery>)>);

    load_with(
        session,
        reload,
        move || {
            hooks.set(Vec::new());
            shown_log.set(None);
        },
        move |credentials| async move {
            match list_webhooks(&credentials).await {
                Ok(list) => hooks.set(list),
                Err(failure) => notice.set(Some(Err(failure.describe()))),
            }
        },
    );

    let url = RwSignal::new(String::new());
    let chosen = RwSignal::new(vec![WebhookEventType::OfferClick]);
    let reasons: Reasons = RwSignal::new(Default::default());
    let add = move |ev: SubmitEvent| {
        ev.prevent_default();
        let Some(credentials) = session.get_untracked() else {
            return;
        };
        notice.set(None);
        created.set(None);
        reasons.set(Default::default());
        let (u, events) = (url.get_untracked(), chosen.get_untracked());
        spawn_local(async move {
            match create_webhook(&credentials, &u, events).await {
                Ok(hook) => {
                    url.set(String::new());
                    created.set(Some(hook));
                    reload.update(|n| *n += 1);
                }
                Err(failure) => {
                    reasons.set(reasons_of(&failure));
                    notice.set(Some(Err(failure.describe())));
                }
            }
        });
    };
    let remove = move |id: i64| {
        let Some(credentials) = session.get_untracked() else {
            return;
        };
        spawn_local(async move {
            match delete_webhook(&credentials, id).await {
                Ok(()) => {
                    notice.set(Some(Ok(format!("Deleted webhook #{id}."))));
                    if shown_log.with_untracked(|l| l.as_ref().is_some_and(|(i, _)| *i == id)) {
                        shown_log.set(None);
                    }
                    reload.update(|n| *n += 1);
                }
                Err(failure) => notice.set(Some(Err(failure.describe()))),
            }
        });
    };
    let show_log = move |id: i64| {
        let Some(credentials) = session.get_untracked() else {
            return;
        };
        spawn_local(async move {
            match deliveries(&credentials, id).await {
                Ok(list) => shown_log.set(Some((id, list))),
                Err(failure) => notice.set(Some(Err(failure.describe()))),
            }
        });
    };

    let row = move |hook: WebhookInfo| {
        let id = hook.id;
        view! {
            <tr class="webhook" data-webhook=id.to_string()>
                <td class="webhook__url">{hook.url.clone()}</td>
                <td class="webhook__events">{event_names(&hook.events)}</td>
                <td>{clock::display(&hook.created_at)}</td>
                <td>
                    <button type="button" class="btn webhook__log" on:click=move |_| show_log(id)>
                        "Deliveries"<span class="visually-hidden">{format!(" of webhook {id}")}</span>
                    </button>
                    <ConfirmButton prefix="webhook" action="delete" label="Delete"
                        object=format!(" webhook {}", hook.url)
                        question=format!("Delete the webhook to {}? Nothing more is sent to it.", hook.url)
                        yes="Yes, delete" refused=may_change on_yes=move |()| remove(id) />
                </td>
            </tr>
        }
    };
    let delivery_row = |d: WebhookDelivery| {
        let class = match d.status {
            DeliveryStatus::Delivered => "delivery delivery--ok",
            DeliveryStatus::Retrying => "delivery delivery--retrying",
            DeliveryStatus::Failed => "delivery delivery--failed",
        };
        view! {
            <tr class=class data-delivery=d.id.to_string()>
                <td>{clock::display(&d.at)}</td>
                <td class="delivery__events">{d.event_ids.join(", ")}</td>
                <td class="delivery__status">{outcome(&d)}</td>
                <td>{d.attempt}</td>
                <td>{format!("{} ms", d.duration_ms)}</td>
                <td class="delivery__error">{d.error.clone().unwrap_or_default()}</td>
            </tr>
        }
    };
    let checkbox = move |event: WebhookEventType| {
        let id = format!("webhook-event-{}", event.as_str().replace('.', "-"));
        let label_for = id.clone();
        view! {
            <label class="webhooks__event" for=label_for>
                <input type="checkbox" id=id name="events" value=event.as_str()
                    prop:checked=move || chosen.with(|c| c.contains(&event))
                    on:change=move |ev| {
                        let on = event_target_checked(&ev);
                        chosen.update(|c| {
                            c.retain(|e| *e != event);
                            if on {
                                c.push(event);
                            }
                        });
                        reasons.update(|r| { r.remove("events"); });
                    } />
                {event.as_str()}
            </label>
        }
    };

    view! {
        <section class="panel webhooks" id="webhooks" aria-labelledby="webhooks-heading">
            <h2 id="webhooks-heading">"Webhooks"</h2>
            <p class="muted">"Each delivery is a signed JSON POST (header Offers-Signature) of up to 100 events, retried with back-off for 24 hours."</p>
            <Notice notice=notice />
            <table class="webhooks__list">
                <thead><tr><th>"URL"</th><th>"Events"</th><th>"Created"</th><th></th></tr></thead>
                <tbody>{move || hooks.get().into_iter().map(row).collect_view()}</tbody>
            </table>
            {move || shown_log.get().map(|(id, list)| view! {
                <div class="webhooks__deliveries" id="webhook-deliveries">
                    <h3>{format!("Deliveries of webhook #{id}")}</h3>
                    {if list.is_empty() {
                        view! { <p class="muted">"Nothing sent yet."</p> }.into_any()
                    } else {
                        view! {
                            <table class="deliveries">
                                <thead><tr><th>"At"</th><th>"Events"</th><th>"Outcome"</th><th>"Attempt"</th><th>"Took"</th><th>"Error"</th></tr></thead>
                                <tbody>{list.into_iter().map(delivery_row).collect_view()}</tbody>
                            </table>
                        }.into_any()
                    }}
                    <button type="button" class="btn" on:click=move |_| show_log(id)>"Refresh"</button>
                    <button type="button" class="btn" on:click=move |_| shown_log.set(None)>"Close"</button>
                </div>
            })}
            <form class="webhooks__add" id="webhook-form" novalidate on:submit=add>
                <h3>"Add a webhook"</h3>
                <TextField id="webhook-url" label="URL" key="url" value=url reasons=reasons
                    hint="https://…, or http:// for a loopback host" />
                <fieldset class=move || if reasons.with(|r| r.keys().any(|k| k.starts_with("events"))) { "pfield pfield--bad" } else { "pfield" } data-field="events">
                    <legend>"Events"</legend>
                    {WebhookEventType::ALL.into_iter().map(checkbox).collect_view()}
                    <span class="pfield__reason error" id="webhook-events-reason">
                        {move || reasons.with(|r| r.iter().find(|(k, _)| k.starts_with("events")).map(|(_, v)| v.clone()))}
                    </span>
                </fieldset>
                <button type="submit" class="btn btn--primary" id="webhook-add"
                    disabled=move || may_change.with(Option::is_some) title=move || may_change.get()>"Add"</button>
            </form>
            {move || created.get().map(|hook| view! {
                <SecretShownOnce class="webhooks__secret"
                    message=format!("Webhook #{} to {} added. Copy its signing secret now: it is not shown again.", hook.id, hook.url)
                    label="Signing secret" secret=hook.secret.clone() secret_id="webhook-secret"
                    copy_id="webhook-copy" copy_label="Copy the secret" done_id="webhook-done"
                    on_done=move || created.set(None) />
            })}
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deliveries_read_in_words() {
        let d = WebhookDelivery {
            id: 1,
            at: chrono::DateTime::from_timestamp(0, 0).unwrap(),
            event_ids: vec!["e1".into()],
            status: DeliveryStatus::Retrying,
            http_status: None,
            error: Some("cannot connect".into()),
            attempt: 2,
            duration_ms: 3,
        };
        assert_eq!(outcome(&d), "retrying (no answer)");
        assert_eq!(
            event_names(&[WebhookEventType::OfferClick, WebhookEventType::Conversion]),
            "offer.click, conversion"
        );
    }
}
