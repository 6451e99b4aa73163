//! Storage of people, roles, named tokens, token secret history, sessions and the audit log
//! (SPEC §8, issue 14), as the [`PeopleStore`] half of the [`Store`](super::Store)
//! (implemented once in SQL for both backends by `people_sql.rs`).
//!
//! Tables (migration 0006): `users` (accounts: e-mail, name, argon2id hash, status),
//! `memberships` (project, user, role, `is_owner`: one per project), `roles` (custom roles'
//! grants as JSON), `invitations` (token SHA-256, 72 h, used once), `sessions` (cookie
//! SHA-256, CSRF token, last seen), `api_tokens` (named tokens), `token_secret_history`
//! (rotated-out project secrets and until when they verify) and `audit_log`.
//!
//! Every change of people, roles, tokens and settings writes its audit entry in the same
//! transaction ([`Actor`] says who); so do offer, segment and bulk profile writes (in
//! `sql.rs` and `audience_sql.rs`).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use offers_core::access::{BuiltInRole, Grants};
use offers_core::api::{AuditEntry, FieldChange, PendingInvitation, Person, UserStatus};
use serde_json::{Map, Value};

use super::{Project, ProjectSettings, StoreError};
use crate::auth::RetiredSecret;

/// Who made a change: the audit log's `actor`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    /// The admin command line.
    Cli,
    /// A token issued without a name (before issue 14, or `token issue` without `--name`).
    LegacyToken,
    /// A named token.
    Token { id: i64, name: String },
    /// A signed-in person.
    User { id: i64, email: String },
}

impl Actor {
    /// `cli`, `token:legacy`, `token:<name>` or `user:<email>`.
    pub fn label(&self) -> String {
        match self {
            Self::Cli => "cli".to_owned(),
            Self::LegacyToken => "token:legacy".to_owned(),
            Self::Token { name, .. } => format!("token:{name}"),
            Self::User { email, .. } => format!("user:{email}"),
        }
    }

    /// The signed-in person's id, if the actor is one.
    pub fn user_id(&self) -> Option<i64> {
        match self {
            Self::User { id, .. } => Some(*id),
            _ => None,
        }
    }
}

/// What one audit entry records besides who and when.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditRecord {
    /// `offer.created`, `token.revoked`, …
    pub action: String,
    /// `offer:12`, `token:ci`, …
    pub target: String,
    /// `{field: {before, after}}`, changed fields only.
    pub changes: Map<String, Value>,
}

impl AuditRecord {
    /// A record of `action` on `target` with `changes`.
    pub fn new(action: &str, target: impl Into<String>, changes: Map<String, Value>) -> Self {
        Self {
            action: action.to_owned(),
            target: target.into(),
            changes,
        }
    }
}

/// The changed top-level fields between two JSON objects (`null` standing for absent), as
/// `{field: {"before", "after"}}`; fields named in `secret` are never recorded.
pub fn diff(before: &Value, after: &Value) -> Map<String, Value> {
    let empty = Map::new();
    let b = before.as_object().unwrap_or(&empty);
    let a = after.as_object().unwrap_or(&empty);
    let mut keys: Vec<&String> = b.keys().chain(a.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter_map(|k| {
            let (old, new) = (
                b.get(k).cloned().unwrap_or(Value::Null),
                a.get(k).cloned().unwrap_or(Value::Null),
            );
            (old != new).then(|| {
                let change = FieldChange {
                    before: old,
                    after: new,
                };
                (
                    k.clone(),
                    serde_json::to_value(change).unwrap_or(Value::Null),
                )
            })
        })
        .collect()
}

/// Which audit entries a page shows (`GET /external/audit?action&actor&target`): exact matches.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    pub action: Option<String>,
    pub actor: Option<String>,
    pub target: Option<String>,
}

/// An account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRow {
    pub id: i64,
    pub email: String,
    pub name: String,
    /// argon2id PHC string.
    pub password_hash: String,
    pub last_sign_in_at: Option<DateTime<Utc>>,
}

/// An account's membership of one project, with its role resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MembershipRow {
    pub project: Project,
    pub role: String,
    pub owner: bool,
    pub grants: Grants,
}

/// A live session (within its idle and absolute limits).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRow {
    pub user: UserRow,
    pub csrf_token: String,
    pub created_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
}

/// A named token's row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRow {
    pub id: i64,
    pub project_id: i64,
    pub name: String,
    pub role: String,
    pub jti: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
}

impl TokenRow {
    /// Whether the token works at `now` (not revoked, not expired).
    pub fn is_valid_at(&self, now: DateTime<Utc>) -> bool {
        self.revoked_at.is_none() && self.expires_at.is_none_or(|e| e > now)
    }
}

/// A new named token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewToken {
    pub name: String,
    pub role: String,
    pub jti: String,
    pub expires_at: Option<DateTime<Utc>>,
}

/// An invitation as its link finds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvitationRow {
    pub id: i64,
    pub project_id: i64,
    pub email: String,
    pub name: Option<String>,
    pub role: String,
    pub expires_at: DateTime<Utc>,
}

/// A new invitation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewInvitation {
    pub email: String,
    pub name: Option<String>,
    pub role: String,
    pub token_hash: String,
    pub expires_at: DateTime<Utc>,
}

/// Who accepts an invitation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Acceptor {
    /// The e-mail already has an account (its password was checked).
    Existing { user_id: i64 },
    /// A new account.
    New { name: String, password_hash: String },
}

/// The outcome of accepting an invitation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Accepted {
    /// Used or expired meanwhile.
    Gone,
    /// The person is a disabled member of the project (nothing changed).
    Disabled,
    /// An account with the invitation's e-mail was created meanwhile (nothing changed).
    EmailTaken,
    /// Joined (or was already an active member, left as they were): the account's id.
    Joined(i64),
}

/// The outcome of a change to a person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PersonChange {
    /// No such member of the project.
    NotFound,
    /// The account owner cannot be disabled or given another role.
    OwnerConflict,
    /// The person's current role grants more than the caller's (nothing changed).
    Exceeds,
    /// Changed.
    Done(Box<Person>),
}

/// The outcome of a change to a custom role.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoleUpdate {
    /// No such custom role.
    NotFound,
    /// Its current grants exceed the caller's (nothing changed).
    Exceeds,
    /// Changed.
    Done,
}

/// What a person's change asks for (validated by the handler).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PersonUpdate {
    pub name: Option<String>,
    pub role: Option<String>,
    pub status: Option<UserStatus>,
}

/// The outcome of deleting a custom role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RoleDelete {
    NotFound,
    /// People or tokens hold it: how many.
    InUse(i64),
    Deleted,
}

/// The grants of role `name` in a project: a built-in role's, else the custom role's.
pub fn builtin_or(name: &str, custom: Option<Grants>) -> Option<Grants> {
    BuiltInRole::parse(name).map(BuiltInRole::grants).or(custom)
}

/// People, roles, tokens, sessions, audit.
#[async_trait]
pub trait PeopleStore: Send + Sync {
    // ---- audit ----

    /// Writes one audit entry on its own (for changes without a transaction of their own).
    async fn record_audit(
        &self,
        project_id: i64,
        actor: &Actor,
        record: &AuditRecord,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// A page of the project's audit log, newest first.
    async fn list_audit(
        &self,
        project_id: i64,
        filter: &AuditFilter,
        limit: i64,
        offset: i64,
    ) -> Result<Vec<AuditEntry>, StoreError>;

    /// Changes a project's widget settings and records `settings.updated` in the same
    /// transaction (publishes a project change). `None`: no such project.
    async fn update_project_settings_as(
        &self,
        actor: &Actor,
        id: i64,
        settings: &ProjectSettings,
        now: DateTime<Utc>,
    ) -> Result<Option<Project>, StoreError>;

    // ---- roles ----

    /// The grants of role `name` in the project (built-in or custom); `None`: no such role.
    async fn role_grants(&self, project_id: i64, name: &str) -> Result<Option<Grants>, StoreError>;

    /// The project's custom roles, by name.
    async fn custom_roles(&self, project_id: i64) -> Result<Vec<(String, Grants)>, StoreError>;

    /// Creates a custom role; `false` when the name is taken.
    async fn create_role(
        &self,
        actor: &Actor,
        project_id: i64,
        name: &str,
        grants: &Grants,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError>;

    /// Changes a custom role's grants; `false` when there is none of that name.
    /// Changes a custom role's grants, only when `within` (the caller's grants) covers both
    /// its grants now (read in the transaction) and the new ones.
    async fn update_role(
        &self,
        actor: &Actor,
        project_id: i64,
        name: &str,
        grants: &Grants,
        within: &Grants,
        now: DateTime<Utc>,
    ) -> Result<RoleUpdate, StoreError>;

    /// Deletes a custom role nobody holds.
    async fn delete_role(
        &self,
        actor: &Actor,
        project_id: i64,
        name: &str,
        now: DateTime<Utc>,
    ) -> Result<RoleDelete, StoreError>;

    // ---- named tokens and token secrets ----

    /// Stores a named token (records `token.issued`); `None` when the name is taken.
    async fn create_token(
        &self,
        actor: &Actor,
        project_id: i64,
        token: &NewToken,
        now: DateTime<Utc>,
    ) -> Result<Option<TokenRow>, StoreError>;

    /// A named token's row.
    async fn token_by_id(&self, project_id: i64, id: i64) -> Result<Option<TokenRow>, StoreError>;

    /// The project's named tokens, newest first.
    async fn list_tokens(&self, project_id: i64) -> Result<Vec<TokenRow>, StoreError>;

    /// Revokes a named token (records `token.revoked`); `None` when there is none of that
    /// name, the row as it was when it was already revoked.
    async fn revoke_token(
        &self,
        actor: &Actor,
        project_id: i64,
        name: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<TokenRow>, StoreError>;

    /// Notes a token's use at `now` (written at most once a minute per token).
    async fn touch_token(&self, id: i64, now: DateTime<Utc>) -> Result<(), StoreError>;

    /// Replaces the project's token secret with `new_secret`; the old one keeps verifying
    /// until `old_valid_until` (records `token.secret_rotated`). `None`: no such project.
    async fn rotate_token_secret(
        &self,
        actor: &Actor,
        project_id: i64,
        new_secret: &str,
        old_valid_until: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Option<Project>, StoreError>;

    /// The project's rotated-out secrets that still verify at `now`.
    async fn retired_secrets(
        &self,
        project_id: i64,
        now: DateTime<Utc>,
    ) -> Result<Vec<RetiredSecret>, StoreError>;

    // ---- people and invitations ----

    /// An account by (normalized) e-mail.
    async fn user_by_email(&self, email: &str) -> Result<Option<UserRow>, StoreError>;

    /// Whether the project has an account owner.
    async fn has_owner(&self, project_id: i64) -> Result<bool, StoreError>;

    /// Stores an invitation (records `person.invited`).
    async fn create_invitation(
        &self,
        actor: &Actor,
        project_id: i64,
        invitation: &NewInvitation,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// The project's invitations not used and not expired at `now`.
    async fn pending_invitations(
        &self,
        project_id: i64,
        now: DateTime<Utc>,
    ) -> Result<Vec<PendingInvitation>, StoreError>;

    /// The unused invitation whose token hashes to `token_hash`, if it has not expired at `now`.
    async fn invitation_by_token(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<InvitationRow>, StoreError>;

    /// Uses the invitation (once: [`Accepted::Gone`] when it was used or expired meanwhile),
    /// creating the account or adding the membership (records `person.joined`). The first
    /// `owner` of a project without an account owner becomes it; an `owner` invitation to a
    /// project that has one meanwhile joins as `editor`. A person already in the project keeps
    /// the membership as it is (role and status: an invitation never restores a role or
    /// re-activates anyone); a disabled member is refused ([`Accepted::Disabled`]).
    async fn accept_invitation(
        &self,
        invitation: &InvitationRow,
        acceptor: &Acceptor,
        now: DateTime<Utc>,
    ) -> Result<Accepted, StoreError>;

    /// The project's members, by e-mail.
    async fn list_people(&self, project_id: i64) -> Result<Vec<Person>, StoreError>;

    /// Changes a member (records `person.updated`). Status is per project (the membership's):
    /// a disabled member's sessions and tokens stop working in this project at once.
    /// A change of role or status needs `within` (the caller's grants) to cover the grants
    /// the person holds now (read in the transaction): [`PersonChange::Exceeds`] otherwise.
    async fn update_person(
        &self,
        actor: &Actor,
        project_id: i64,
        user_id: i64,
        update: &PersonUpdate,
        within: &Grants,
        now: DateTime<Utc>,
    ) -> Result<PersonChange, StoreError>;

    /// Hands the account ownership from `from_user` (the current owner) to `to_user` (an
    /// active member): the new owner gets `owner`, the old one `editor` (records
    /// `person.ownership_transferred`).
    async fn transfer_ownership(
        &self,
        actor: &Actor,
        project_id: i64,
        from_user: i64,
        to_user: i64,
        now: DateTime<Utc>,
    ) -> Result<PersonChange, StoreError>;

    /// An account's active memberships, with their roles resolved.
    async fn memberships(&self, user_id: i64) -> Result<Vec<MembershipRow>, StoreError>;

    /// An account's active membership of one project, with its role resolved.
    async fn membership(
        &self,
        project_id: i64,
        user_id: i64,
    ) -> Result<Option<MembershipRow>, StoreError>;

    // ---- sessions ----

    /// Starts a session (and notes the sign-in).
    async fn create_session(
        &self,
        user_id: i64,
        token_hash: &str,
        csrf_token: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// The session whose cookie hashes to `token_hash`, if it was seen after `idle_since` and
    /// created after `created_since`.
    async fn session(
        &self,
        token_hash: &str,
        idle_since: DateTime<Utc>,
        created_since: DateTime<Utc>,
    ) -> Result<Option<SessionRow>, StoreError>;

    /// Notes a session's use at `now` (written at most once a minute).
    async fn touch_session(&self, token_hash: &str, now: DateTime<Utc>) -> Result<(), StoreError>;

    /// Ends a session.
    async fn delete_session(&self, token_hash: &str) -> Result<(), StoreError>;
}
