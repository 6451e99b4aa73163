//! Storage of audiences (SPEC §7): user profiles, segments and test sends, as the
//! [`AudienceStore`] half of the [`Store`](super::Store) (implemented once in SQL for both
//! backends by `audience_sql.rs`).
//!
//! Tables (migration 0005):
//! - `profiles`: one validated [`Profile`] per project user, as JSON; `profile_tags` lists its
//!   tags for `GET /external/user?tag=`. Writing a profile also registers its user as known.
//! - `segments`: a validated [`SegmentSpec`] as JSON; a list segment's user ids are rows of
//!   `segment_members` (its stored spec holds an empty list).
//! - `offer_segments`: which segments each offer includes or excludes (written with the offer),
//!   so deleting a segment in use is refused with the offers' ids.
//! - `offer_tags`: each offer's tags, for `GET /external/offer?tag=`.
//! - `test_sends`: an offer sent to one user until an instant.
//!
//! Every write the widget side must learn about publishes a `crate::bus::Change`: one profile,
//! all profiles of a project (a bulk upsert), a segment, a test send.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use offers_core::FieldErrors;
use offers_core::profile::{Profile, ProfileRow};
use offers_core::segment::{SegmentDef, SegmentSpec};

use super::StoreError;

/// A stored profile.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredProfile {
    pub user_id: String,
    pub profile: Profile,
    pub updated_at: DateTime<Utc>,
}

/// A page of profiles and how many match in all.
#[derive(Debug, Clone, PartialEq)]
pub struct ProfilePage {
    pub profiles: Vec<StoredProfile>,
    pub total: i64,
}

/// A stored segment. For a list segment, `spec` holds its user ids only when read with
/// [`AudienceStore::get_segment`]; `members` counts them always.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredSegment {
    pub id: i64,
    pub spec: SegmentSpec,
    /// A list segment's number of user ids (`None` for a rule segment).
    pub members: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl StoredSegment {
    /// Whether this is a list of user ids (not rules).
    pub fn is_list(&self) -> bool {
        matches!(self.spec.def, SegmentDef::List(_))
    }
}

/// The result of a segment update.
#[derive(Debug)]
pub enum SegmentUpdate {
    NotFound,
    /// The merged definition is invalid; nothing was written.
    Invalid(FieldErrors),
    Updated(Box<StoredSegment>),
}

/// The result of deleting a segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SegmentDelete {
    NotFound,
    /// Offers use it (their ids, ascending); nothing was deleted.
    InUse(Vec<i64>),
    Deleted,
}

/// The closure a segment update applies to the stored segment (read with its user ids).
pub type SegmentApplyFn<'a> =
    &'a (dyn Fn(&SegmentSpec) -> Result<SegmentSpec, FieldErrors> + Send + Sync);

/// Whether a profile is in a rule segment (the caller passes `offers_core`'s rule).
pub type ProfileFilter<'a> = &'a (dyn Fn(&Profile) -> bool + Send + Sync);

/// A test send: `offer_id` is shown to `user_id` until `until`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestSend {
    pub user_id: String,
    pub offer_id: i64,
    pub until: DateTime<Utc>,
}

/// What the API stores of audiences. Implemented once, by `audience_sql::audience_sql_store!`.
#[async_trait]
pub trait AudienceStore: Send + Sync {
    /// Creates or replaces a user's profile (and registers the user as known); publishes a
    /// profile change.
    async fn put_profile(
        &self,
        project_id: i64,
        user_id: &str,
        profile: &Profile,
        now: DateTime<Utc>,
    ) -> Result<StoredProfile, StoreError>;

    /// A user's profile.
    async fn get_profile(
        &self,
        project_id: i64,
        user_id: &str,
    ) -> Result<Option<StoredProfile>, StoreError>;

    /// Deletes a user's profile (the user stays known); whether there was one.
    async fn delete_profile(&self, project_id: i64, user_id: &str) -> Result<bool, StoreError>;

    /// A page of profiles (with `tag`, only those having it), by user id.
    async fn list_profiles(
        &self,
        project_id: i64,
        tag: Option<&str>,
        limit: i64,
        offset: i64,
    ) -> Result<ProfilePage, StoreError>;

    /// Creates or replaces many profiles in one transaction (a later row of the same id wins),
    /// registering their users as known; returns how many distinct users were written.
    async fn upsert_profiles(
        &self,
        actor: &super::people::Actor,
        project_id: i64,
        rows: &[ProfileRow],
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError>;

    /// Stores a new segment (a list's ids as members); publishes a segment change.
    async fn create_segment(
        &self,
        actor: &super::people::Actor,
        project_id: i64,
        spec: &SegmentSpec,
        now: DateTime<Utc>,
    ) -> Result<StoredSegment, StoreError>;

    /// One segment, with a list segment's user ids.
    async fn get_segment(
        &self,
        project_id: i64,
        id: i64,
    ) -> Result<Option<StoredSegment>, StoreError>;

    /// Every segment of the project (lists without their ids), by id.
    async fn list_segments(&self, project_id: i64) -> Result<Vec<StoredSegment>, StoreError>;

    /// In one write transaction: reads the segment (with its ids), applies `apply`, writes.
    async fn update_segment(
        &self,
        actor: &super::people::Actor,
        project_id: i64,
        id: i64,
        apply: SegmentApplyFn<'_>,
        now: DateTime<Utc>,
    ) -> Result<SegmentUpdate, StoreError>;

    /// Deletes a segment no offer uses.
    async fn delete_segment(
        &self,
        actor: &super::people::Actor,
        project_id: i64,
        id: i64,
        now: DateTime<Utc>,
    ) -> Result<SegmentDelete, StoreError>;

    /// The ids of the project's segments (no definitions read).
    async fn segment_ids(
        &self,
        project_id: i64,
    ) -> Result<std::collections::HashSet<i64>, StoreError>;

    /// The list segments of the project that list `user_id`.
    async fn lists_of_user(
        &self,
        project_id: i64,
        user_id: &str,
    ) -> Result<std::collections::HashSet<i64>, StoreError>;

    /// How many known users a list segment lists.
    async fn count_list_members(&self, project_id: i64, id: i64) -> Result<i64, StoreError>;

    /// How many of the project's profiles pass `filter` (read in pages, never all at once).
    async fn count_profiles(
        &self,
        project_id: i64,
        filter: ProfileFilter<'_>,
    ) -> Result<i64, StoreError>;

    /// Records a test send (replacing an earlier one of the same offer to the same user);
    /// publishes a test-send change.
    async fn put_test_send(&self, project_id: i64, send: &TestSend) -> Result<(), StoreError>;

    /// The project's test sends still running at `now`.
    async fn test_sends(
        &self,
        project_id: i64,
        now: DateTime<Utc>,
    ) -> Result<Vec<TestSend>, StoreError>;
}
