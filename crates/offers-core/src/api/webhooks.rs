//! Webhooks (SPEC §9): registering an endpoint, listing endpoints and their delivery log, and
//! the body each delivery POSTs.
//!
//! A delivery is `POST <url>` with a JSON [`WebhookPayload`] (at most
//! [`MAX_EVENTS_PER_DELIVERY`] events) and the header
//! `Offers-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`, where the
//! key is the webhook's `secret` as UTF-8 (the whole `whsec_…` text). A receiver checks the
//! signature and that `t` is recent, and keeps each event `id` once: an event may come again
//! after a failed or timed-out delivery.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The name of the signature header.
pub const SIGNATURE_HEADER: &str = "Offers-Signature";

/// The most events one delivery carries.
pub const MAX_EVENTS_PER_DELIVERY: usize = 100;

/// What a webhook can subscribe to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum WebhookEventType {
    /// An offer was shown (a widget impression).
    #[serde(rename = "offer.impression")]
    OfferImpression,
    /// An offer's link was followed.
    #[serde(rename = "offer.click")]
    OfferClick,
    /// An offer was closed.
    #[serde(rename = "offer.close")]
    OfferClose,
    /// A conversion was reported.
    #[serde(rename = "conversion")]
    Conversion,
}

impl WebhookEventType {
    /// Every type.
    pub const ALL: [Self; 4] = [
        Self::OfferImpression,
        Self::OfferClick,
        Self::OfferClose,
        Self::Conversion,
    ];

    /// The wire name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::OfferImpression => "offer.impression",
            Self::OfferClick => "offer.click",
            Self::OfferClose => "offer.close",
            Self::Conversion => "conversion",
        }
    }

    /// Parses the wire name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == s)
    }

    /// The type of a widget event of `kind`.
    pub const fn of_event(kind: super::EventKind) -> Self {
        match kind {
            super::EventKind::Impression => Self::OfferImpression,
            super::EventKind::Click => Self::OfferClick,
            super::EventKind::Close => Self::OfferClose,
        }
    }

    /// Its bit in a set of types (1, 2, 4, 8).
    pub const fn bit(self) -> i64 {
        match self {
            Self::OfferImpression => 1,
            Self::OfferClick => 2,
            Self::OfferClose => 4,
            Self::Conversion => 8,
        }
    }

    /// The bits of `types` together.
    pub fn mask(types: &[Self]) -> i64 {
        types.iter().fold(0, |m, t| m | t.bit())
    }
}

/// `POST /external/webhook`: register an endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WebhookRequest {
    /// Where deliveries are POSTed: an `https://` URL (plain `http://` only for a loopback host
    /// such as `127.0.0.1` or `localhost`), not an IP address of a private or link-local
    /// network; a host name is only connected to at its public (or loopback) addresses. A
    /// server started with `--allow-insecure-webhooks` drops these rules.
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 2048))]
    pub url: String,
    /// The event types to deliver: at least one (a type listed twice counts once).
    #[cfg_attr(feature = "openapi", schema(min_items = 1, max_items = 4))]
    pub events: Vec<WebhookEventType>,
}

/// A registered webhook (`GET /external/webhook`); the secret is never listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WebhookInfo {
    /// Its id.
    pub id: i64,
    /// Where deliveries go. A caller without `full` on `settings` (who could not register it)
    /// sees only its origin, the rest shown as `…` ([`redacted_url`]): a webhook's path and
    /// query often hold a credential of the receiving service.
    pub url: String,
    /// The event types it receives, in the order registered.
    pub events: Vec<WebhookEventType>,
    /// When it was registered.
    #[serde(with = "crate::time::rfc3339")]
    pub created_at: DateTime<Utc>,
}

/// A freshly registered webhook: its signing secret is shown this once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreatedWebhook {
    /// Its id.
    pub id: i64,
    /// Where deliveries go.
    pub url: String,
    /// The event types it receives.
    pub events: Vec<WebhookEventType>,
    /// The signing secret (`whsec_` + 64 hex digits): the HMAC-SHA256 key of
    /// `Offers-Signature`.
    pub secret: String,
}

/// A webhook URL as shown to those who may not manage webhooks and as kept in the audit log:
/// the scheme and authority, then `/…` when a path other than `/`, a query or a fragment
/// follows (`https://hooks.example.com/services/T0/B0/secret` → `https://hooks.example.com/…`).
/// A text without `://` is shown as `…`.
pub fn redacted_url(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else {
        return "\u{2026}".to_owned();
    };
    let after = scheme_end + 3;
    let authority_end = url[after..]
        .find(['/', '?', '#'])
        .map_or(url.len(), |i| after + i);
    let (origin, rest) = url.split_at(authority_end);
    if rest.is_empty() || rest == "/" {
        url.to_owned()
    } else {
        format!("{origin}/\u{2026}")
    }
}

/// How one delivery attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum DeliveryStatus {
    /// The endpoint answered 2xx: its events are delivered.
    Delivered,
    /// It failed; its events will be sent again later.
    Retrying,
    /// It failed, and some of its events were given up (24 h after they happened).
    Failed,
}

impl DeliveryStatus {
    /// Every status.
    pub const ALL: [Self; 3] = [Self::Delivered, Self::Retrying, Self::Failed];

    /// The wire (and database column) name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Delivered => "delivered",
            Self::Retrying => "retrying",
            Self::Failed => "failed",
        }
    }

    /// Parses the wire name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == s)
    }
}

/// One POST to a webhook (`GET /external/webhook/{id}/deliveries`), newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WebhookDelivery {
    /// Its id.
    pub id: i64,
    /// When it was sent.
    #[serde(with = "crate::time::rfc3339")]
    pub at: DateTime<Utc>,
    /// The ids of the events it carried.
    pub event_ids: Vec<String>,
    /// How it ended.
    pub status: DeliveryStatus,
    /// The endpoint's HTTP status, or `null` when none came (timeout, connection refused).
    pub http_status: Option<u16>,
    /// What went wrong, or `null`.
    pub error: Option<String>,
    /// Which attempt this was for its events (1 for the first).
    pub attempt: i64,
    /// How long the POST took.
    pub duration_ms: i64,
}

/// The body of a delivery.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WebhookPayload {
    /// The events, oldest first (at most 100).
    pub events: Vec<WebhookEvent>,
}

/// One delivered event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WebhookEvent {
    /// The event's id: the widget event's id, or the conversion's id. Keep each once.
    pub id: String,
    /// What happened.
    #[serde(rename = "type")]
    pub kind: WebhookEventType,
    /// When the server stored it.
    #[serde(with = "crate::time::rfc3339")]
    pub created_at: DateTime<Utc>,
    /// An [`OfferEventData`] for the `offer.*` types, a [`ConversionEventData`] for
    /// `conversion`.
    pub data: serde_json::Value,
}

/// `data` of an `offer.impression`, `offer.click` or `offer.close` event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OfferEventData {
    /// The offer.
    pub offer_id: i64,
    /// The variant shown (0-based), absent for an offer without variants.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<u32>,
    /// The room (chat) it happened in.
    pub room: String,
    /// The verified user, absent for an anonymous one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// When it happened in the widget.
    #[serde(with = "crate::time::rfc3339")]
    pub at: DateTime<Utc>,
}

/// `data` of a `conversion` event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ConversionEventData {
    /// The user who converted.
    pub user_id: String,
    /// The conversion's name.
    pub name: String,
    /// Its value, if reported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<f64>,
    /// When it happened.
    #[serde(with = "crate::time::rfc3339")]
    pub at: DateTime<Utc>,
    /// The offer it is attributed to (the user's last click within the window), or `null`.
    pub offer_id: Option<i64>,
    /// The variant of that offer the user saw, absent when none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<u32>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_names_round_trip() {
        for t in WebhookEventType::ALL {
            let json = serde_json::to_string(&t).unwrap();
            assert_eq!(json, format!("\"{}\"", t.as_str()));
            assert_eq!(WebhookEventType::parse(t.as_str()), Some(t));
        }
        assert_eq!(WebhookEventType::mask(&WebhookEventType::ALL), 15);
        for s in DeliveryStatus::ALL {
            assert_eq!(DeliveryStatus::parse(s.as_str()), Some(s));
        }
    }

    #[test]
    fn redacted_urls_keep_only_the_origin() {
        for (url, shown) in [
            (
                "https://hooks.example.com/services/T0/B0/secret",
                "https://hooks.example.com/\u{2026}",
            ),
            ("https://hooks.example.com", "https://hooks.example.com"),
            ("https://hooks.example.com/", "https://hooks.example.com/"),
            (
                "https://hooks.example.com?token=abc",
                "https://hooks.example.com/\u{2026}",
            ),
            (
                "http://127.0.0.1:8080/hook?k=1",
                "http://127.0.0.1:8080/\u{2026}",
            ),
            ("http://[::1]:9/x", "http://[::1]:9/\u{2026}"),
            ("not a url", "\u{2026}"),
        ] {
            assert_eq!(redacted_url(url), shown, "{url}");
        }
    }
}
