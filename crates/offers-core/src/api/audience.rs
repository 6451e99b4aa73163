//! The wire shapes of SPEC §7's audience calls: profiles (`/external/user…`), bulk upserts
//! (`POST /external/users`), segments (`/external/segment…`) and the test send
//! (`POST /external/offer/{id}/test`).
//!
//! Request bodies are read by the core's parsers ([`Profile::parse`],
//! [`crate::profile::parse_profiles_json`], [`crate::profile::parse_profiles_csv`],
//! [`SegmentSpec::parse`], [`SegmentSpec::patch`]) so every error names its field; the types
//! here are their documented shapes and the answers.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::language::LanguageTag;
use crate::profile::{AttrKey, AttrValue, Profile, ProfileTag, RowRejection};
use crate::segment::{Condition, Match, SegmentDef, SegmentName, SegmentSpec};
use crate::text::ExternalId;

/// A stored profile (`GET /external/user/{externalUserId}`, the answer to `PUT`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StoredProfile {
    /// The user's id in the host chat.
    pub id: ExternalId,
    /// The user's language, or `null`.
    pub language: Option<LanguageTag>,
    /// The user's tags, sorted.
    #[serde(default)]
    pub tags: Vec<ProfileTag>,
    /// The user's attributes.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = BTreeMap<String, AttrValue>))]
    pub attributes: BTreeMap<AttrKey, AttrValue>,
    /// When the profile was last written (server clock).
    #[serde(with = "crate::time::rfc3339")]
    pub updated_at: DateTime<Utc>,
}

impl StoredProfile {
    /// The answer for user `id` with `profile`, written at `updated_at`.
    pub fn new(id: ExternalId, profile: Profile, updated_at: DateTime<Utc>) -> Self {
        Self {
            id,
            language: profile.language,
            tags: profile.tags,
            attributes: profile.attributes,
            updated_at,
        }
    }

    /// The profile part.
    pub fn profile(&self) -> Profile {
        Profile {
            language: self.language.clone(),
            tags: self.tags.clone(),
            attributes: self.attributes.clone(),
        }
    }
}

/// A page of profiles (`GET /external/user?limit&offset[&tag=vip]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProfilePage {
    /// The profiles of this page.
    pub profiles: Vec<StoredProfile>,
    /// How many profiles match (all pages).
    pub total: i64,
}

/// The answer to a bulk upsert (`POST /external/users`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BulkUpsertResponse {
    /// Profiles stored (one per user id).
    pub upserted: u64,
    /// Rows not stored: `{"line", "reason"}`.
    pub rejected: Vec<RowRejection>,
}

/// A segment body (`POST /external/segment`; any subset for `PATCH`): rules `{"name",
/// "match", "conditions"}` or a list `{"name", "userIds"}`, never both. Read with
/// [`SegmentSpec::parse`] / [`SegmentSpec::patch`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SegmentInput {
    /// The name, 1–80 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<SegmentName>))]
    pub name: Option<String>,
    /// `all` (the default) or `any`; rule segments only.
    #[serde(default, rename = "match", skip_serializing_if = "Option::is_none")]
    pub match_kind: Option<Match>,
    /// 1–50 conditions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conditions: Option<Vec<Condition>>,
    /// A list segment's users (at most 100 000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Vec<ExternalId>>))]
    pub user_ids: Option<Vec<String>>,
}

/// A stored segment (`GET /external/segment/{id}`, the answer to create and update).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Segment {
    /// Server-assigned id.
    pub id: i64,
    /// The name.
    pub name: SegmentName,
    /// `all` or `any` (rule segments).
    #[serde(default, rename = "match", skip_serializing_if = "Option::is_none")]
    pub match_kind: Option<Match>,
    /// The conditions (rule segments).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conditions: Option<Vec<Condition>>,
    /// The users (list segments; may be left out of long lists' answers, see `userCount`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_ids: Option<Vec<ExternalId>>,
    /// How many users a list segment holds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_count: Option<u64>,
    /// When it was created.
    #[serde(with = "crate::time::rfc3339")]
    pub created_at: DateTime<Utc>,
    /// When it was last updated.
    #[serde(with = "crate::time::rfc3339")]
    pub updated_at: DateTime<Utc>,
}

impl Segment {
    /// Segment `id` defined by `spec`; a list's ids are all included (set `user_ids` to
    /// `None` to leave them out; `user_count` stays).
    pub fn new(
        id: i64,
        spec: &SegmentSpec,
        created_at: DateTime<Utc>,
        updated_at: DateTime<Utc>,
    ) -> Self {
        let (match_kind, conditions, user_ids) = match &spec.def {
            SegmentDef::Rules(rules) => {
                (Some(rules.match_kind), Some(rules.conditions.clone()), None)
            }
            SegmentDef::List(ids) => (None, None, Some(ids.clone())),
        };
        Self {
            id,
            name: spec.name.clone(),
            match_kind,
            conditions,
            user_count: user_ids.as_ref().map(|ids| ids.len() as u64),
            user_ids,
            created_at,
            updated_at,
        }
    }
}

/// How many known users a segment holds (`GET /external/segment/{id}/count`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SegmentCount {
    /// Known profiles in the segment.
    pub users: u64,
}

/// Deliver an offer to one user now, as a test (`POST /external/offer/{id}/test`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TestSendRequest {
    /// The user's id in the host chat.
    pub user_id: String,
}

/// The answer of `POST /external/users`: the upsert's counts for profiles, the registration's
/// counts for a plain list of ids.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum UsersAnswer {
    /// Profiles were sent.
    Profiles(BulkUpsertResponse),
    /// Ids were sent (`{"ids": [...]}`, an array of strings, a one-column CSV).
    Ids(crate::api::RegisterResponse),
}

/// One element of a bulk upsert's JSON array (`POST /external/users`); read with
/// [`crate::profile::parse_profiles_json`], so a bad element is reported by its line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProfileRowInput {
    /// The user's id in the host chat.
    pub id: ExternalId,
    /// The user's language.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<LanguageTag>,
    /// The user's tags.
    #[serde(default)]
    pub tags: Vec<ProfileTag>,
    /// The user's attributes.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = BTreeMap<String, AttrValue>))]
    pub attributes: BTreeMap<AttrKey, AttrValue>,
}

/// The answer to a test send: which offer, to whom, shown until when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TestSendAnswer {
    /// The offer sent.
    pub offer_id: i64,
    /// The user it was sent to.
    pub user_id: String,
    /// Until when it is in the user's feed (10 minutes from the send).
    #[serde(with = "crate::time::rfc3339")]
    pub until: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn shapes() {
        let at = crate::parse_timestamp("2026-12-01T10:00:00Z").unwrap();
        let profile = Profile::parse(
            &json!({"language": "de", "tags": ["vip"], "attributes": {"points": 1200}}),
        )
        .unwrap();
        let stored = StoredProfile::new(ExternalId::parse("u1").unwrap(), profile.clone(), at);
        assert_eq!(
            serde_json::to_value(&stored).unwrap(),
            json!({"id": "u1", "language": "de", "tags": ["vip"], "attributes": {"points": 1200},
                   "updatedAt": "2026-12-01T10:00:00.000Z"})
        );
        assert_eq!(stored.profile(), profile);
        let rules = SegmentSpec::parse(
            &json!({"name": "VIPs", "conditions": [{"field": "tag", "op": "eq", "value": "vip"}]}),
        )
        .unwrap();
        assert_eq!(
            serde_json::to_value(Segment::new(3, &rules, at, at)).unwrap(),
            json!({"id": 3, "name": "VIPs", "match": "all",
                   "conditions": [{"field": "tag", "op": "eq", "value": "vip"}],
                   "createdAt": "2026-12-01T10:00:00.000Z", "updatedAt": "2026-12-01T10:00:00.000Z"})
        );
        let list = SegmentSpec::parse(&json!({"name": "L", "userIds": ["a", "b"]})).unwrap();
        let segment = Segment::new(4, &list, at, at);
        assert_eq!(segment.user_count, Some(2));
        let back: Segment =
            serde_json::from_value(serde_json::to_value(&segment).unwrap()).unwrap();
        assert_eq!(back, segment);
        assert_eq!(
            serde_json::from_value::<TestSendRequest>(json!({"userId": "u1"}))
                .unwrap()
                .user_id,
            "u1"
        );
        let input: SegmentInput =
            serde_json::from_value(json!({"name": "x", "match": "any"})).unwrap();
        assert_eq!(input.match_kind, Some(Match::Any));
    }
}
