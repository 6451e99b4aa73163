//! Every request, response and error body of the HTTP API, defined once.
//!
//! The API serializes these types, the Studio and the widget deserialize (or, for the event
//! batch, encode) the same ones, and with the `openapi` feature each derives
//! `utoipa::ToSchema`, so the OpenAPI document is generated from the types themselves and
//! their doc comments. The types are serde-only: no I/O, no HTTP.
//!
//! - [`offer`]: an offer as the widget and the partner API see it ([`FeedOffer`],
//!   [`PartnerOffer`]), the create/update answer ([`SaveOfferResponse`] with the documented
//!   PATCH [`Advertisement`]) and the listed offer ([`ListedOffer`]);
//! - [`widget`]: the feed ([`FeedResponse`]) and the event batch ([`EventsRequest`],
//!   [`EventKind`], [`EventsResponse`]);
//! - [`audience`]: profiles ([`StoredProfile`], [`ProfilePage`], [`BulkUpsertResponse`]),
//!   segments ([`SegmentInput`], [`Segment`], [`SegmentCount`]) and the test send
//!   ([`TestSendRequest`]);
//! - [`figures`]: an offer's figures ([`StatsSummary`], [`OfferStats`], [`DayStats`]) and
//!   "why (not) shown" ([`ExplainResponse`]);
//! - [`campaign`]: conversions ([`ConversionRequest`], [`ConversionResponse`]), tracked events
//!   ([`TrackedEvent`]), per-variant figures ([`VariantStats`], [`VariantComparison`]), caps
//!   ([`Caps`], [`RecentPopup`]) and the CSV exports' rows ([`FiguresCsvRow`]);
//! - [`people`]: signing in, invitations, people, roles, tokens and the audit log
//!   ([`SessionResponse`], [`Person`], [`RoleInfo`], [`TokenInfo`], [`AuditEntry`], …);
//! - here: the error body, opt-out, the id registry, image uploads, the draft and health.
//!
//! Request bodies that the API also accepts as forms (an offer, an opt-out, ids) are read
//! loosely (every value may be text) and then checked; their types here are the documented
//! JSON shape. The offer's is [`crate::OfferDraft`].

pub mod audience;
pub mod campaign;
pub mod figures;
pub mod offer;
pub mod people;
pub mod webhooks;
pub mod widget;

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

pub use audience::{
    BulkUpsertResponse, ProfilePage, ProfileRowInput, Segment, SegmentCount, SegmentInput,
    StoredProfile, TestSendAnswer, TestSendRequest, UsersAnswer,
};
pub use campaign::{
    Caps, ComparisonMetric, ConversionRequest, ConversionResponse, FiguresCsvRow, RecentPopup,
    TrackedEvent, VariantComparison, VariantStats,
};
pub use figures::{DayStats, ExplainResponse, ExplainedOffer, OfferStats, StatsSummary};
pub use offer::{
    Advertisement, FeedOffer, ListedOffer, OfferExtras, PartnerOffer, SaveOfferResponse,
};
pub use offer::{FeedVariant, OfferCampaign};
pub use people::{
    AcceptInvitationRequest, AuditEntry, FieldChange, InvitationCreated, InvitationRequest,
    IssuedToken, Membership, PendingInvitation, Person, PersonPatch, ProjectSettingsPatch,
    ProjectSettingsView, RoleInfo, RoleInput, RolePatch, SessionResponse, SessionUser,
    SignInRequest, TokenInfo, TokenRequest, UserStatus,
};
pub use widget::{
    EventKind, EventsRequest, EventsResponse, FeedResponse, RejectedEvent, StreamEventName,
    StreamMessage, WidgetEvent,
};

/// Every error body: `{"error": {"code", "message", "fields"?}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorBody {
    /// What went wrong.
    pub error: ErrorDetail,
}

/// The `error` member of an [`ErrorBody`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorDetail {
    /// bad_request, unauthorized, forbidden, not_found, method_not_allowed, conflict,
    /// precondition_failed, payload_too_large, uri_too_long, request_header_fields_too_large,
    /// unsupported_media_type, validation_failed, rate_limited, internal_error,
    /// service_unavailable.
    #[serde(default)]
    pub code: String,
    /// A sentence for people.
    #[serde(default)]
    pub message: String,
    /// Field → reason; only for 422 and for 400s about query parameters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fields: Option<BTreeMap<String, String>>,
}

/// Opt a user out of (or back into) all offers (`POST /user/external/advertisment`). Also
/// accepted as form fields (`value` then `true` / `false`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OptOutRequest {
    /// The user id in the host chat.
    pub decrypted_user_id: String,
    /// true: exclude the user from all offers; false: let them back.
    pub value: bool,
}

/// Ids to register (`POST /external/rooms`, `/external/users`). A bare JSON array, a CSV
/// file or form fields `ids` are accepted too.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IdsRequest {
    /// At most 100 000 room or user ids.
    pub ids: Vec<String>,
}

/// The counts of a registration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RegisterResponse {
    /// Ids in the request (after removing duplicates).
    pub received: u64,
    /// Ids that were not known before.
    pub added: u64,
    /// Ids that were already known.
    pub already_known: u64,
}

/// A page of known ids (`GET /external/rooms`, `/external/users`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IdPage {
    /// The ids of this page, in registration order.
    pub ids: Vec<String>,
    /// How many ids the project knows.
    pub total: i64,
    /// The page size asked for.
    pub limit: i64,
    /// The ids skipped.
    pub offset: i64,
}

/// A stored image (`POST /external/media`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Uploaded {
    /// Absolute http(s) URL, usable as an offer's `pic`: `<public URL>/media/<sha256>.<ext>`.
    pub url: String,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Size in bytes.
    pub bytes: u64,
    /// `image/png`, `image/jpeg`, `image/webp` or `image/gif`, from the file's content.
    pub content_type: String,
    /// E.g. "the image is 800×800; template 11 expects 600×240 proportions".
    #[serde(default)]
    pub warnings: Vec<String>,
}

/// The project's saved draft (`GET /external/draft`); its version is the `ETag` header.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Draft {
    /// The JSON object as saved (not validated), byte for byte.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub draft: Box<RawValue>,
    /// The id of the offer the draft edits, or null.
    pub editing: Option<i64>,
    /// When it was saved, e.g. `2026-11-21T10:02:00.000Z`.
    #[serde(with = "crate::time::rfc3339")]
    pub updated_at: DateTime<Utc>,
}

/// A draft to save (`PUT /external/draft`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DraftInput {
    /// Any JSON object (work in progress: not validated), stored exactly as sent.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub draft: Box<RawValue>,
    /// The id of the offer the draft edits, or null.
    #[serde(default)]
    pub editing: Option<i64>,
}

/// A saved draft's time (the answer to `PUT /external/draft`; the version is the `ETag`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DraftSaved {
    /// When it was saved, e.g. `2026-11-21T10:02:00.000Z`.
    #[serde(with = "crate::time::rfc3339")]
    pub updated_at: DateTime<Utc>,
}

/// Health (`GET /healthz`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Health {
    /// `ok`.
    pub status: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn error_bodies_round_trip_and_tolerate_missing_members() {
        let body = ErrorBody {
            error: ErrorDetail {
                code: "validation_failed".into(),
                message: "invalid".into(),
                fields: Some(BTreeMap::from([("title".into(), "required".into())])),
            },
        };
        let value = serde_json::to_value(&body).unwrap();
        assert_eq!(
            value,
            json!({"error": {"code": "validation_failed", "message": "invalid", "fields": {"title": "required"}}})
        );
        assert_eq!(serde_json::from_value::<ErrorBody>(value).unwrap(), body);
        let bare: ErrorBody = serde_json::from_value(json!({"error": {}})).unwrap();
        assert_eq!(bare.error, ErrorDetail::default());
        let no_fields = serde_json::to_value(ErrorDetail::default()).unwrap();
        assert!(no_fields.get("fields").is_none());
    }

    #[test]
    fn drafts_keep_their_text() {
        let draft: DraftInput =
            serde_json::from_str(r#"{"draft": {"b": [1, 2.50]}, "editing": 3}"#).unwrap();
        assert_eq!(draft.draft.get(), r#"{"b": [1, 2.50]}"#);
        let saved = Draft {
            draft: draft.draft,
            editing: draft.editing,
            updated_at: crate::parse_timestamp("2026-11-21T10:02:00Z").unwrap(),
        };
        assert_eq!(
            serde_json::to_string(&saved).unwrap(),
            r#"{"draft":{"b": [1, 2.50]},"editing":3,"updatedAt":"2026-11-21T10:02:00.000Z"}"#
        );
    }
}
