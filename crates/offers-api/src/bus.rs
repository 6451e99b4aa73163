//! The change bus: after a committed write that the widget side must learn about (an offer
//! created, updated or deleted, a user opted out or back in, project settings changed), the
//! store publishes one [`Change`]; every replica's [`crate::live::LiveIndex`] consumes the
//! bus, reloads what changed from the database, and fans it out to its SSE clients.
//!
//! - SQLite (one replica): an in-process `tokio::sync::broadcast`, published right after commit.
//! - PostgreSQL (any number of replicas): `pg_notify('offers_changes', <Change as JSON>)` inside
//!   the writing transaction (delivered on commit, never for a rolled-back write); each replica
//!   runs one `PgListener` that forwards to its local broadcast, and sends [`BusMessage::Resync`]
//!   after it had to reconnect (notifications may have been lost meanwhile).
//!
//! A change only names what changed; consumers always re-read the current state, so a change
//! delivered twice, late, or out of order is harmless.

use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;

/// The PostgreSQL notification channel.
pub(crate) const PG_CHANNEL: &str = "offers_changes";

/// Capacity of the in-process broadcast; a consumer lagging further behind resynchronizes.
pub(crate) const CAPACITY: usize = 1024;

/// What kind of write happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChangeOp {
    Created,
    Updated,
    Deleted,
    /// A user opted out or back in (`user_id` names them).
    OptOut,
    /// Project settings (identity verification, allowed origins) changed.
    Project,
    /// A user's profile changed (`user_id`), or, without `user_id`, many (a bulk upsert).
    Profile,
    /// A segment was created, changed or deleted (`segment_id`).
    Segment,
    /// An offer (`offer_id`) was sent to a user (`user_id`) as a test.
    TestSend,
}

/// One committed change: `{"projectId":1,"offerId":5,"op":"updated"}` on the wire.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Change {
    pub project_id: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offer_id: Option<i64>,
    pub op: ChangeOp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub segment_id: Option<i64>,
}

impl Change {
    /// An offer change.
    pub fn offer(project_id: i64, offer_id: i64, op: ChangeOp) -> Self {
        Self {
            project_id,
            offer_id: Some(offer_id),
            op,
            user_id: None,
            segment_id: None,
        }
    }

    /// A user's opt-out changed.
    pub fn opt_out(project_id: i64, user_id: &str) -> Self {
        Self {
            project_id,
            offer_id: None,
            op: ChangeOp::OptOut,
            user_id: Some(user_id.to_owned()),
            segment_id: None,
        }
    }

    /// Project settings changed.
    pub fn project(project_id: i64) -> Self {
        Self {
            project_id,
            offer_id: None,
            op: ChangeOp::Project,
            user_id: None,
            segment_id: None,
        }
    }

    /// A user's profile changed (`None`: many profiles, a bulk upsert).
    pub fn profile(project_id: i64, user_id: Option<&str>) -> Self {
        Self {
            project_id,
            offer_id: None,
            op: ChangeOp::Profile,
            user_id: user_id.map(str::to_owned),
            segment_id: None,
        }
    }

    /// A segment changed.
    pub fn segment(project_id: i64, segment_id: i64) -> Self {
        Self {
            project_id,
            offer_id: None,
            op: ChangeOp::Segment,
            user_id: None,
            segment_id: Some(segment_id),
        }
    }

    /// An offer was sent to a user as a test.
    pub fn test_send(project_id: i64, offer_id: i64, user_id: &str) -> Self {
        Self {
            project_id,
            offer_id: Some(offer_id),
            op: ChangeOp::TestSend,
            user_id: Some(user_id.to_owned()),
            segment_id: None,
        }
    }

    /// The notification payload (ids are at most 128 characters: far below PostgreSQL's
    /// 8000-byte payload limit).
    pub fn to_payload(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Parses a notification payload.
    pub fn from_payload(payload: &str) -> Option<Self> {
        serde_json::from_str(payload).ok()
    }
}

/// What a consumer receives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BusMessage {
    /// Re-read this and tell the clients concerned.
    Change(Change),
    /// Changes may have been lost: rebuild every index and tell every client to refetch.
    Resync,
}

/// A fresh in-process bus.
pub(crate) fn channel() -> broadcast::Sender<BusMessage> {
    broadcast::channel(CAPACITY).0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_round_trip() {
        let c = Change::offer(3, 42, ChangeOp::Updated);
        assert_eq!(
            c.to_payload(),
            r#"{"projectId":3,"offerId":42,"op":"updated"}"#
        );
        assert_eq!(Change::from_payload(&c.to_payload()), Some(c));
        let o = Change::opt_out(1, "u\"1");
        assert_eq!(Change::from_payload(&o.to_payload()), Some(o));
        for c in [
            Change::profile(1, Some("u1")),
            Change::profile(1, None),
            Change::segment(2, 7),
            Change::test_send(3, 4, "u2"),
        ] {
            assert_eq!(Change::from_payload(&c.to_payload()), Some(c));
        }
        assert_eq!(
            Change::segment(2, 7).to_payload(),
            r#"{"projectId":2,"op":"segment","segmentId":7}"#
        );
        assert_eq!(Change::from_payload("garbage"), None);
    }
}
