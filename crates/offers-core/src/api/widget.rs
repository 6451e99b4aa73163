//! The public widget endpoints' bodies: the feed (`GET /widget/v1/offers`) and the event batch
//! (`POST /widget/v1/events`).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::api::campaign::{CapsSettings, RecentPopup, TrackedEvent};
use crate::api::offer::FeedOffer;

/// The feed: the offers for this room and user, and the server's clock.
///
/// Generic over how an offer is held: the widget and the schema read [`FeedOffer`]s. The API
/// writes this shape itself from offers it serialized once, when they entered its index
/// (`offers_api::http::widget`); its tests parse that body back into this type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FeedResponse<O = FeedOffer> {
    /// Offers live now or starting within 24 hours, newest first.
    pub offers: Vec<O>,
    /// The server's clock, e.g. `2024-05-22T12:00:01.000Z`: the widget schedules offers
    /// against it.
    #[serde(with = "crate::time::rfc3339")]
    pub server_time: DateTime<Utc>,
    /// The project's caps on pop-ups across offers (omitted when none is set).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caps: Option<CapsSettings>,
    /// For an identified (verified) user when caps are set: their pop-up impressions of the
    /// last 7 days, newest first, at most 200, so caps hold across devices.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recent_popups: Option<Vec<RecentPopup>>,
}

/// The name of a live-stream event (`GET /widget/v1/stream`, Server-Sent Events).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum StreamEventName {
    /// An offer the client does not hold now concerns it; `data` is the [`FeedOffer`] JSON.
    #[serde(rename = "offer.created")]
    OfferCreated,
    /// An offer the client holds changed; `data` is the [`FeedOffer`] JSON.
    #[serde(rename = "offer.updated")]
    OfferUpdated,
    /// An offer the client holds no longer concerns it (deleted, ended, retargeted); `data` is
    /// `{"id": N}`.
    #[serde(rename = "offer.deleted")]
    OfferDeleted,
    /// Changes may have been missed: fetch the feed again; `data` is `{}`.
    #[serde(rename = "resync")]
    Resync,
}

impl StreamEventName {
    /// The `event:` field's value.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::OfferCreated => "offer.created",
            Self::OfferUpdated => "offer.updated",
            Self::OfferDeleted => "offer.deleted",
            Self::Resync => "resync",
        }
    }
}

/// One Server-Sent Event of the live stream, as an SSE parser reads it. The first event of a
/// connection carries only `retry` and `id`; keep-alive comments are not events.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StreamMessage {
    /// The event's name; absent on the first event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event: Option<StreamEventName>,
    /// The event id (a browser sends the last one back as `Last-Event-ID` when it reconnects).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// JSON text: a [`FeedOffer`], `{"id": N}` or `{}`, by `event`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<String>,
    /// The reconnection delay suggested, in milliseconds (first event only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry: Option<u64>,
}

/// What happened to an offer in the widget.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum EventKind {
    /// The offer was shown.
    Impression,
    /// Its link was followed.
    Click,
    /// It was closed.
    Close,
}

impl EventKind {
    /// Every kind.
    pub const ALL: [Self; 3] = [Self::Impression, Self::Click, Self::Close];

    /// The wire (and database column) name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Impression => "impression",
            Self::Click => "click",
            Self::Close => "close",
        }
    }

    /// Parses the wire name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.as_str() == s)
    }
}

/// One widget event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WidgetEvent {
    /// A client-chosen id (a UUID or any string of 1–64 characters), unique per project: an
    /// id stored before is ignored (counted as a duplicate).
    pub id: String,
    /// The offer it happened to.
    pub offer_id: i64,
    /// What happened.
    pub kind: EventKind,
    /// When (RFC 3339). At most 5 minutes in the future (then clamped to now); not older than
    /// the retention period.
    #[serde(with = "crate::time::rfc3339")]
    pub at: DateTime<Utc>,
    /// The variant shown (0-based index into the offer's `variants`, 0..=4); absent for an
    /// offer without variants.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(minimum = 0, maximum = 4))]
    pub variant: Option<u8>,
}

/// A batch of widget events, sent as `text/plain` (`navigator.sendBeacon` with a string) or
/// `application/json`.
///
/// Generic over how an event is held: the API reads each event on its own
/// (`EventsRequest<&RawValue, &RawValue>`), so one bad event is refused alone and the rest
/// are stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EventsRequest<E = WidgetEvent, T = TrackedEvent> {
    /// The project's public key.
    pub key: String,
    /// The room the user is in.
    pub room: String,
    /// The user, if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// HMAC-SHA256 of `user` (see the feed); without it, under `requireUserSignature`, the
    /// events are stored without a user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sig: Option<String>,
    /// At most 100.
    pub events: Vec<E>,
    /// The host's events (`Offers.track`), at most 100.
    #[serde(default = "Vec::new", skip_serializing_if = "Vec::is_empty")]
    pub tracked: Vec<T>,
}

/// An event refused, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RejectedEvent {
    /// Its index in `events`.
    pub index: usize,
    /// Why, naming the member (e.g. `kind: unknown variant ...`).
    pub reason: String,
}

/// The answer to a batch (`202`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EventsResponse {
    /// Events stored now.
    pub accepted: u64,
    /// Events whose id was stored before (or repeated in the batch).
    pub duplicates: u64,
    /// Events refused, by index.
    pub rejected: Vec<RejectedEvent>,
    /// Tracked events refused, by index in `tracked` (omitted when none).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rejected_tracked: Vec<RejectedEvent>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn event_kinds_have_one_name_each() {
        for kind in EventKind::ALL {
            assert_eq!(EventKind::parse(kind.as_str()), Some(kind));
            assert_eq!(serde_json::to_value(kind).unwrap(), json!(kind.as_str()));
        }
        assert_eq!(EventKind::parse("hover"), None);
    }

    #[test]
    fn batches_read_typed_or_raw() {
        let text = r#"{"key":"pk","room":"r","events":[{"id":"e","offerId":3,"kind":"click","at":"2026-11-21T10:00:00.000Z"},{"id":1}]}"#;
        let raw: EventsRequest<Box<serde_json::value::RawValue>> =
            serde_json::from_str(text).unwrap();
        assert_eq!(raw.events.len(), 2);
        assert!(serde_json::from_str::<EventsRequest>(text).is_err());
        let first: WidgetEvent = serde_json::from_str(raw.events[0].get()).unwrap();
        assert_eq!((first.offer_id, first.kind), (3, EventKind::Click));
    }
}
