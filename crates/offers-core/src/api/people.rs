//! The wire shapes of SPEC §8 (issue 14): signing in (`/external/session`), invitations,
//! people, roles, tokens and the audit log. Role grants are [`Grants`] from
//! [`crate::access`]; names are validated by the server (`RoleName`, e-mail, password rules
//! in [`crate::access`]) so each error names its field.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::access::Grants;

/// `POST /external/session`: sign in with e-mail and password.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SignInRequest {
    /// The account's e-mail address (any case).
    pub email: String,
    /// The account's password.
    pub password: String,
}

/// Whether an account may sign in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum UserStatus {
    /// Signs in; sessions work.
    #[default]
    Active,
    /// Cannot sign in; every session stops working at once.
    Disabled,
}

impl UserStatus {
    /// The wire name (also the stored value).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Disabled => "disabled",
        }
    }

    /// The status of a wire name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "active" => Some(Self::Active),
            "disabled" => Some(Self::Disabled),
            _ => None,
        }
    }
}

/// The signed-in account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SessionUser {
    /// Server-assigned id.
    pub id: i64,
    /// The e-mail address (lowercase).
    pub email: String,
    /// The display name.
    pub name: String,
    /// `active` or `disabled`.
    pub status: UserStatus,
}

/// One project the account belongs to, with what its role lets it do there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Membership {
    /// The project's id.
    pub project_id: i64,
    /// The project's name.
    pub project_name: String,
    /// The project's `x-api-key` (the Studio sends it with the session cookie).
    pub api_key: String,
    /// The role's name in this project.
    pub role: String,
    /// Whether the account is this project's account owner.
    pub owner: bool,
    /// What the role grants.
    pub grants: Grants,
}

/// The answer to signing in, to accepting an invitation and to `GET /external/session`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SessionResponse {
    /// Who is signed in.
    pub user: SessionUser,
    /// The projects they belong to.
    pub memberships: Vec<Membership>,
    /// Send it as `x-csrf-token` on every write made with the session cookie.
    pub csrf_token: String,
}

/// `POST /external/invitation`: invite someone to the project.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InvitationRequest {
    /// Their e-mail address.
    pub email: String,
    /// The role they get (built-in or custom); `owner` only for a project without an
    /// account owner.
    pub role: String,
    /// Their name, if known (they may change it when accepting).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// A new invitation (also printed by `offers-api user invite`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InvitationCreated {
    /// The invited address (lowercase).
    pub email: String,
    /// The role they will get.
    pub role: String,
    /// The link that sets their password: `<public base>/studio/#invite=<token>`.
    pub invite_url: String,
    /// The link works until then (72 hours).
    #[serde(with = "crate::time::rfc3339")]
    pub expires_at: DateTime<Utc>,
}

/// A pending invitation (`GET /external/invitation`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PendingInvitation {
    /// The invited address.
    pub email: String,
    /// The role they will get.
    pub role: String,
    /// The link works until then.
    #[serde(with = "crate::time::rfc3339")]
    pub expires_at: DateTime<Utc>,
    /// Who invited them: `user:<email>`, `token:<name>` or `cli`.
    pub invited_by: String,
}

/// `POST /external/invitation/accept`: set the password (or, for an existing account, give
/// it) and join the project.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AcceptInvitationRequest {
    /// The token from the invitation link.
    pub token: String,
    /// The display name, 1–80 characters.
    pub name: String,
    /// 10–200 characters; for an existing account, its current password.
    pub password: String,
}

/// A member of the project (`GET /external/people`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Person {
    /// The account's id.
    pub id: i64,
    /// The e-mail address.
    pub email: String,
    /// The display name.
    pub name: String,
    /// `active` or `disabled`.
    pub status: UserStatus,
    /// The role's name in this project.
    pub role: String,
    /// Whether they are the project's account owner.
    pub owner: bool,
    /// Their last sign-in, or `null`.
    #[serde(with = "crate::time::rfc3339_opt")]
    pub last_sign_in_at: Option<DateTime<Utc>>,
}

/// `PATCH /external/people/{id}`: any subset.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PersonPatch {
    /// A new display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// A new role (not `owner`: ownership is handed over instead).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// `active` or `disabled`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<UserStatus>,
}

/// A role (`GET /external/role`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RoleInfo {
    /// The role's name.
    pub name: String,
    /// `owner`, `editor` and `viewer` are built in: they cannot be changed or deleted.
    pub built_in: bool,
    /// What it grants.
    pub grants: Grants,
}

/// `POST /external/role`: a custom role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RoleInput {
    /// 1–40 characters of `[a-z0-9_-]`, not a built-in name.
    #[cfg_attr(feature = "openapi", schema(value_type = crate::access::RoleName))]
    pub name: String,
    /// What it grants (missing areas: `none`).
    pub grants: Grants,
}

/// `PATCH /external/role/{name}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RolePatch {
    /// The new grants (missing areas: `none`).
    pub grants: Grants,
}

/// A named token (`GET /external/token`); the secret is never listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TokenInfo {
    /// Its name, unique in the project.
    pub name: String,
    /// The role it carries.
    pub role: String,
    /// When it was issued.
    #[serde(with = "crate::time::rfc3339")]
    pub created_at: DateTime<Utc>,
    /// When it stops working, or `null`.
    #[serde(with = "crate::time::rfc3339_opt")]
    pub expires_at: Option<DateTime<Utc>>,
    /// When it was last used (to the minute), or `null`.
    #[serde(with = "crate::time::rfc3339_opt")]
    pub last_used_at: Option<DateTime<Utc>>,
    /// When it was revoked, or `null`.
    #[serde(with = "crate::time::rfc3339_opt")]
    pub revoked_at: Option<DateTime<Utc>>,
}

/// `POST /external/token`: issue a named token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TokenRequest {
    /// 1–40 characters of `[a-z0-9_-]`, unique in the project.
    #[cfg_attr(
        feature = "openapi",
        schema(pattern = r"^[a-z0-9_-]{1,40}$", min_length = 1, max_length = 40)
    )]
    pub name: String,
    /// The role it carries.
    pub role: String,
    /// When it stops working (in the future), or absent for never.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "crate::time::rfc3339_opt"
    )]
    pub expires_at: Option<DateTime<Utc>>,
}

/// A freshly issued token: its secret is shown this once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IssuedToken {
    /// Its name.
    pub name: String,
    /// The role it carries.
    pub role: String,
    /// When it stops working, or `null`.
    #[serde(with = "crate::time::rfc3339_opt")]
    pub expires_at: Option<DateTime<Utc>>,
    /// The bearer token (`Authorization: Bearer …`).
    pub token: String,
}

/// One changed field of an audit entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FieldChange {
    /// The value before (`null`: absent).
    pub before: serde_json::Value,
    /// The value after (`null`: absent).
    pub after: serde_json::Value,
}

/// One audit entry (`GET /external/audit`), newest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditEntry {
    /// When the change was committed.
    #[serde(with = "crate::time::rfc3339")]
    pub at: DateTime<Utc>,
    /// Who: `user:<email>`, `token:<name>`, `token:legacy` or `cli`.
    pub actor: String,
    /// What: `offer.created`, `offer.updated`, `offer.deleted`, `segment.created`,
    /// `profiles.imported`, `role.created`, `token.issued`, `token.revoked`,
    /// `person.invited`, `person.updated`, `settings.updated`, …
    pub action: String,
    /// On what: `offer:12`, `segment:3`, `token:ci`, `person:ana@example.com`, …
    pub target: String,
    /// The changed fields only (secrets are never recorded).
    pub changes: BTreeMap<String, FieldChange>,
}

/// The project's settings (`GET /external/project`, the answer to `PATCH`; area `settings`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProjectSettingsView {
    /// The project's id.
    pub id: i64,
    /// The project's name.
    pub name: String,
    /// The widget's public key (`data-project`).
    pub public_key: String,
    /// Whether a user id counts only with a valid signature (`sig`).
    pub require_user_signature: bool,
    /// Origins allowed to call the widget endpoints; empty: any.
    pub allowed_origins: Vec<String>,
    /// Caps on pop-ups across offers, per user (`{}`: none).
    #[serde(default)]
    pub caps: crate::api::campaign::CapsSettings,
    /// Conversions are attributed to the user's last click within this many hours before.
    #[serde(default = "default_attribution_window_hours")]
    pub attribution_window_hours: u32,
}

fn default_attribution_window_hours() -> u32 {
    crate::api::campaign::DEFAULT_ATTRIBUTION_WINDOW_HOURS
}

/// `PATCH /external/project`: any subset (what `offers-api project set` changes).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProjectSettingsPatch {
    /// true: a user id counts only with a valid `sig`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub require_user_signature: Option<bool>,
    /// Replaces the list (`https://host[:port]` each); `[]` allows any origin.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_origins: Option<Vec<String>>,
    /// The caps given replace the project's (a member absent: unchanged; 0: no cap).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caps: Option<crate::api::campaign::CapsSettings>,
    /// 1–720 hours.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 720))]
    pub attribution_window_hours: Option<u32>,
}
