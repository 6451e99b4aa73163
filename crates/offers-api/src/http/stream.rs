//! `GET /widget/v1/stream?key&room[&user][&sig]`: Server-Sent Events keeping a widget in step.
//!
//! Each connection remembers which offers its client holds (those concerning it when it
//! connected, then every one it was sent) and, on every change of its project
//! ([`ProjectEvent`]), on opt-out, on settings changes and when the clock moves an offer into
//! the 24-hour horizon or past its end, sends the difference:
//!
//! - `offer.created` (an offer the client does not hold now concerns it) and `offer.updated`
//!   (one it holds changed), `data:` the [`FeedOffer`] JSON;
//! - `offer.deleted`, `data: {"id":N}` (deleted, ended, or no longer for this room or user);
//! - `resync`, `data: {}` when changes may have been missed (a lagging fan-out, a rebuilt
//!   index, a reconnection: the request carries `Last-Event-ID`): the widget refetches the feed.
//!
//! The first event only sets `retry:` and an `id:`, so a browser reconnecting after a drop sends
//! `Last-Event-ID` and is told to resynchronize. A comment keeps the connection alive every 15 s.
//! The stream ends on server shutdown.

use std::collections::{HashSet, VecDeque};
use std::convert::Infallible;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use offers_core::FeedOffer;
use tokio::sync::broadcast;

use crate::error::ApiError;
use crate::http::widget::{ClientIp, Visitor, WidgetParams, resolve};
use crate::live::{OffersIndex, ProjectEvent, concerns};
use crate::state::AppState;
use offers_core::api::ErrorBody;

/// Interval of the keep-alive comments.
pub const KEEP_ALIVE: Duration = Duration::from_secs(15);
/// The reconnection delay suggested to the browser.
pub const RETRY: Duration = Duration::from_secs(3);
/// The longest sleep between clock-driven re-checks.
const MAX_NAP: Duration = Duration::from_secs(3600);

/// Event ids: unique within this process (their value only matters as "present").
static NEXT_EVENT_ID: AtomicU64 = AtomicU64::new(1);

fn next_id() -> String {
    NEXT_EVENT_ID.fetch_add(1, Ordering::Relaxed).to_string()
}

fn named(name: &'static str, data: String) -> Event {
    Event::default().event(name).id(next_id()).data(data)
}

fn resync_event() -> Event {
    named("resync", "{}".to_owned())
}

/// Live offer changes for this room and user.
#[utoipa::path(
    get,
    path = "/widget/v1/stream",
    tag = "widget",
    params(
        ("key" = String, Query, description = "The project's public key"),
        ("room" = String, Query, description = "The chat room"),
        ("user" = Option<String>, Query, description = "The user's id, if known"),
        ("sig" = Option<String>, Query, description = "HMAC-SHA256 of `user` (see the feed)"),
        ("Last-Event-ID" = Option<String>, Header, description = "Sent by a reconnecting EventSource: the stream starts with `resync`"),
    ),
    responses(
        (status = 200, description = "`text/event-stream`. Events: `offer.created` / `offer.updated` (data: a FeedOffer), \
            `offer.deleted` (data: `{\"id\":N}`), `resync` (data: `{}`: refetch the feed). A comment every 15 s keeps it alive.",
            content_type = "text/event-stream", body = String),
        (status = 400, description = "`key` or `room` missing, or an invalid id", body = ErrorBody),
        (status = 403, description = "The project does not allow this Origin", body = ErrorBody),
        (status = 404, description = "No project has this public key", body = ErrorBody),
        (status = 429, description = "Too many connects from this client IP; see Retry-After", body = ErrorBody),
    )
)]
pub async fn stream(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let params = WidgetParams::from_query(query.as_deref())?;
    let origin = headers.get(header::ORIGIN).cloned();
    let visitor = resolve(&state, params, origin.as_ref(), ip).await?;
    if !visitor.origin_allowed {
        return Err(ApiError::OriginNotAllowed);
    }
    // Subscribe before reading the index: a change in between is then seen twice at worst.
    let events = visitor.slot.subscribe();
    let index = state.live().offers(&visitor.slot).await?;
    state
        .live()
        .note_entry(&visitor.slot, visitor.room.as_str(), visitor.user());
    let mut conn = Conn {
        visible: HashSet::new(),
        pending: VecDeque::new(),
        shutdown: Box::pin(state.shutdown_signal()),
        state,
        visitor,
        origin,
        events,
    };
    conn.visible = conn.relevant(&index);
    conn.pending
        .push_back(Event::default().retry(RETRY).id(next_id()));
    if headers.contains_key("last-event-id") {
        conn.pending.push_back(resync_event());
    }
    let stream = futures_util::stream::unfold(conn, |mut conn| async move {
        let event = conn.next_event().await?;
        Some((Ok::<_, Infallible>(event), conn))
    });
    let mut response = Sse::new(stream)
        .keep_alive(KeepAlive::new().interval(KEEP_ALIVE))
        .into_response();
    response
        .headers_mut()
        .insert("x-accel-buffering", HeaderValue::from_static("no"));
    Ok(response)
}

/// One open stream.
struct Conn {
    state: AppState,
    visitor: Visitor,
    origin: Option<HeaderValue>,
    events: broadcast::Receiver<ProjectEvent>,
    /// The offers the client holds.
    visible: HashSet<i64>,
    pending: VecDeque<Event>,
    shutdown: Pin<Box<dyn Future<Output = ()> + Send>>,
}

impl Conn {
    /// The ids of the offers concerning this client now.
    fn relevant(&self, index: &OffersIndex) -> HashSet<i64> {
        index
            .feed(
                self.visitor.room.as_str(),
                self.visitor.user(),
                self.visitor.claimed(),
                Utc::now(),
            )
            .iter()
            .map(|o| o.id)
            .collect()
    }

    /// The next event to send; `None` ends the stream.
    async fn next_event(&mut self) -> Option<Event> {
        loop {
            if let Some(event) = self.pending.pop_front() {
                return Some(event);
            }
            let index = self.state.live().offers(&self.visitor.slot).await.ok()?;
            let nap = self.nap(&index);
            tokio::select! {
                () = &mut self.shutdown => return None,
                received = self.events.recv() => match received {
                    Ok(ProjectEvent::Offer { id, offer }) => self.on_offer(&index, id, offer.as_deref()),
                    Ok(ProjectEvent::OptOut { user }) => {
                        if self.visitor.claimed() == Some(user.as_str()) {
                            self.diff(&index);
                        }
                    }
                    Ok(ProjectEvent::Settings) => {
                        let project = self.state.live().project(&self.visitor.slot);
                        let fresh = self.visitor.with_project(project, self.origin.as_ref());
                        if !fresh.origin_allowed {
                            return None;
                        }
                        let identity_changed = fresh.user != self.visitor.user;
                        self.visitor = fresh;
                        if identity_changed {
                            self.resync(&index);
                        }
                    }
                    Ok(ProjectEvent::Resync) | Err(broadcast::error::RecvError::Lagged(_)) => {
                        // The index is being rebuilt: read it again before answering.
                        let index = self.state.live().offers(&self.visitor.slot).await.ok()?;
                        self.resync(&index);
                    }
                    Err(broadcast::error::RecvError::Closed) => return None,
                },
                () = tokio::time::sleep(nap) => self.diff(&index),
            }
        }
    }

    /// How long until the clock alone may change what concerns this client.
    fn nap(&self, index: &OffersIndex) -> Duration {
        let now = Utc::now();
        index
            .next_transition(
                self.visitor.room.as_str(),
                self.visitor.user(),
                self.visitor.claimed(),
                now,
            )
            .and_then(|t| (t - now).to_std().ok())
            .map_or(MAX_NAP, |d| (d + Duration::from_millis(5)).min(MAX_NAP))
    }

    fn on_offer(&mut self, index: &OffersIndex, id: i64, offer: Option<&offers_core::Offer>) {
        let user = self.visitor.user();
        let opted_out = index.is_opted_out(self.visitor.claimed()) || index.is_opted_out(user);
        let now = Utc::now();
        match offer.filter(|o| concerns(&o.spec, self.visitor.room.as_str(), user, opted_out, now))
        {
            Some(offer) => {
                let name = if self.visible.insert(id) {
                    "offer.created"
                } else {
                    "offer.updated"
                };
                self.push_offer(name, offer);
            }
            None => {
                if self.visible.remove(&id) {
                    self.pending.push_back(deleted(id));
                }
            }
        }
    }

    /// Sends what changed between what the client holds and what concerns it now.
    fn diff(&mut self, index: &OffersIndex) {
        let now_relevant = self.relevant(index);
        let mut gone: Vec<i64> = self.visible.difference(&now_relevant).copied().collect();
        gone.sort_unstable();
        for id in gone {
            self.pending.push_back(deleted(id));
        }
        let mut new: Vec<i64> = now_relevant.difference(&self.visible).copied().collect();
        new.sort_unstable();
        for id in new {
            if let Some(offer) = index.offer(id) {
                self.push_offer("offer.created", &offer);
            }
        }
        self.visible = now_relevant;
    }

    fn resync(&mut self, index: &OffersIndex) {
        self.pending.push_back(resync_event());
        self.visible = self.relevant(index);
    }

    fn push_offer(&mut self, name: &'static str, offer: &offers_core::Offer) {
        match serde_json::to_string(&FeedOffer::from(offer)) {
            Ok(json) => self.pending.push_back(named(name, json)),
            Err(e) => tracing::error!(error = %e, "cannot serialize an offer for a stream"),
        }
    }
}

fn deleted(id: i64) -> Event {
    named("offer.deleted", format!("{{\"id\":{id}}}"))
}
