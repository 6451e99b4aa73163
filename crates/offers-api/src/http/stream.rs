//! `GET /widget/v1/stream?key&room[&user][&sig]`: Server-Sent Events keeping a widget in step.
//!
//! Each connection remembers which offers its client holds (those concerning it when it
//! connected, then every one it was sent) and, on every change that concerns it
//! ([`StreamEvent`], delivered by the project's fan-out in [`crate::live`]: an offer for its
//! room, its user or everyone changed, or the clock moved one into the 24-hour horizon or past
//! its end; its user's opt-out; settings), sends the difference:
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

use std::collections::VecDeque;
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

use crate::error::ApiError;
use crate::http::widget::{ClientIp, Visitor, WidgetParams, add_identity_header, resolve};
use crate::live::{Concerning, OffersIndex, StreamEvent, StreamRx};
use crate::state::AppState;
use offers_core::api::{ErrorBody, StreamEventName, StreamMessage};

/// Interval of the keep-alive comments.
pub(crate) const KEEP_ALIVE: Duration = Duration::from_secs(15);
/// The reconnection delay suggested to the browser.
pub(crate) const RETRY: Duration = Duration::from_secs(3);

/// Event ids: unique within this process (their value only matters as "present").
static NEXT_EVENT_ID: AtomicU64 = AtomicU64::new(1);

fn next_id() -> String {
    NEXT_EVENT_ID.fetch_add(1, Ordering::Relaxed).to_string()
}

fn named(name: StreamEventName, data: String) -> Event {
    Event::default()
        .event(name.as_str())
        .id(next_id())
        .data(data)
}

fn resync_event() -> Event {
    named(StreamEventName::Resync, "{}".to_owned())
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
            content_type = "text/event-stream", body = StreamMessage),
        (status = 400, description = "`key` or `room` missing, or an invalid id", body = ErrorBody),
        (status = 403, description = "The project does not allow this Origin", body = ErrorBody),
        (status = 404, description = "No project has this public key", body = ErrorBody),
        (status = 429, description = "Too many connects from this client IP; see Retry-After", body = ErrorBody),
    )
)]
pub(crate) async fn stream(
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
    let identity = visitor.identity();
    // Register before reading the index: a change in between is then seen twice at worst.
    let events = visitor
        .slot
        .open_stream(visitor.room.as_str(), visitor.user(), visitor.claimed());
    let index = state.live().offers(&visitor.slot).await?;
    state
        .live()
        .note_entry(&visitor.slot, visitor.room.as_str(), visitor.user());
    let mut conn = Conn {
        visible: Held::default(),
        pending: VecDeque::new(),
        shutdown: Box::pin(state.shutdown_signal()),
        state,
        visitor,
        origin,
        events,
    };
    conn.visible = Held::of(conn.relevant(&index));
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
    add_identity_header(&mut response, identity);
    Ok(response)
}

/// One open stream.
struct Conn {
    state: AppState,
    visitor: Visitor,
    origin: Option<HeaderValue>,
    /// This stream's queue, fed by the project's fan-out with the changes concerning it.
    events: StreamRx,
    /// The offers the client holds.
    visible: Held,
    pending: VecDeque<Event>,
    shutdown: Pin<Box<dyn Future<Output = ()> + Send>>,
}

impl Conn {
    /// The ids of the offers concerning this client now, ascending (the index's lookups, not
    /// a scan).
    fn relevant(&self, index: &OffersIndex) -> Vec<i64> {
        index.feed_ids(
            self.visitor.room.as_str(),
            self.visitor.user(),
            self.visitor.claimed(),
            Utc::now(),
        )
    }

    /// The next event to send; `None` ends the stream.
    async fn next_event(&mut self) -> Option<Event> {
        loop {
            if let Some(event) = self.pending.pop_front() {
                return Some(event);
            }
            let received = tokio::select! {
                () = &mut self.shutdown => return None,
                received = self.events.recv() => received?,
            };
            // The index (reloaded if it was dropped) is read after the event: it is at least
            // as new as the change that sent it.
            // Loading is rare (after a resync): boxed, so that every open stream's future
            // does not carry the space of a database load.
            let index = match self.visitor.slot.loaded() {
                Some(index) => index,
                None => Box::pin(self.state.live().offers(&self.visitor.slot))
                    .await
                    .ok()?,
            };
            match received {
                StreamEvent::Offer(id) => self.on_offer(&index, id),
                StreamEvent::OptOut => self.diff(&index),
                StreamEvent::Settings => {
                    let project = self.state.live().project(&self.visitor.slot);
                    let fresh = self.visitor.with_project(project, self.origin.as_ref());
                    if !fresh.origin_allowed {
                        return None;
                    }
                    let identity_changed = fresh.user != self.visitor.user;
                    self.visitor = fresh;
                    if identity_changed {
                        self.events.rekey(
                            self.visitor.room.as_str(),
                            self.visitor.user(),
                            self.visitor.claimed(),
                        );
                        self.resync(&index);
                    }
                }
                StreamEvent::Resync => self.resync(&index),
            }
        }
    }

    fn on_offer(&mut self, index: &OffersIndex, id: i64) {
        let fragment = index.concerning(
            id,
            self.visitor.room.as_str(),
            self.visitor.user(),
            self.visitor.claimed(),
            Utc::now(),
        );
        match fragment {
            Concerning::Yes(fragment) => {
                let name = if self.visible.insert(id) {
                    StreamEventName::OfferCreated
                } else {
                    StreamEventName::OfferUpdated
                };
                self.pending
                    .push_back(named(name, fragment.json.to_string()));
            }
            // Rendered per visitor (segments, merge tags, languages): the feed answers it.
            Concerning::Personalized => self.resync(index),
            Concerning::No => {
                if self.visible.remove(id) {
                    self.pending.push_back(deleted(id));
                }
            }
        }
    }

    /// Sends what changed between what the client holds and what concerns it now.
    fn diff(&mut self, index: &OffersIndex) {
        let now_relevant = Held::of(self.relevant(index));
        for id in self.visible.not_in(&now_relevant) {
            self.pending.push_back(deleted(id));
        }
        let new = now_relevant.not_in(&self.visible);
        if new.iter().any(|id| index.is_personalized(*id)) {
            // Rendered per visitor: the client refetches its feed.
            self.resync(index);
            return;
        }
        for id in new {
            if let Some(offer) = index.offer(id) {
                self.push_offer(StreamEventName::OfferCreated, &offer);
            }
        }
        self.visible = now_relevant;
    }

    fn resync(&mut self, index: &OffersIndex) {
        self.pending.push_back(resync_event());
        self.visible = Held::of(self.relevant(index));
    }

    fn push_offer(&mut self, name: StreamEventName, offer: &offers_core::Offer) {
        match serde_json::to_string(&FeedOffer::from(offer)) {
            Ok(json) => self.pending.push_back(named(name, json)),
            Err(e) => tracing::error!(error = %e, "cannot serialize an offer for a stream"),
        }
    }
}

/// The ids of the offers a client holds, ascending and each once. A sorted vector rather than
/// a hash set: ten thousand open streams holding a few hundred ids each then cost 8 bytes an
/// id, with no table around it.
#[derive(Debug, Default, PartialEq, Eq)]
struct Held(Vec<i64>);

impl Held {
    /// `ids` must be ascending and distinct (what [`OffersIndex::feed_ids`] returns).
    fn of(mut ids: Vec<i64>) -> Self {
        debug_assert!(ids.windows(2).all(|w| w[0] < w[1]));
        ids.shrink_to_fit();
        Self(ids)
    }

    /// Adds `id`; whether it was new.
    fn insert(&mut self, id: i64) -> bool {
        match self.0.binary_search(&id) {
            Ok(_) => false,
            Err(at) => {
                self.0.insert(at, id);
                true
            }
        }
    }

    /// Removes `id`; whether it was held.
    fn remove(&mut self, id: i64) -> bool {
        match self.0.binary_search(&id) {
            Ok(at) => {
                self.0.remove(at);
                true
            }
            Err(_) => false,
        }
    }

    /// The ids held here and not in `other`, ascending.
    fn not_in(&self, other: &Held) -> Vec<i64> {
        self.0
            .iter()
            .copied()
            .filter(|id| other.0.binary_search(id).is_err())
            .collect()
    }
}

fn deleted(id: i64) -> Event {
    named(StreamEventName::OfferDeleted, format!("{{\"id\":{id}}}"))
}

#[cfg(test)]
mod tests {
    use super::Held;

    #[test]
    fn held_ids_stay_sorted_and_distinct() {
        let mut held = Held::of(vec![2, 5, 9]);
        assert!(held.insert(7));
        assert!(!held.insert(5));
        assert!(held.insert(1));
        assert_eq!(held.0, [1, 2, 5, 7, 9]);
        assert!(held.remove(5));
        assert!(!held.remove(5));
        assert_eq!(held.0, [1, 2, 7, 9]);
        let now = Held::of(vec![2, 3, 9, 11]);
        assert_eq!(held.not_in(&now), [1, 7]);
        assert_eq!(now.not_in(&held), [3, 11]);
        assert_eq!(Held::default().not_in(&now), Vec::<i64>::new());
    }
}
