//! Who may see an offer ([`in_audience`]) and when ([`is_live`]).

use chrono::{DateTime, Utc};

use crate::model::{Audience, AudienceType, OfferSpec};

/// Whether a user in `room` belongs to the offer's audience.
///
/// Follows the hierarchy of the product docs (seed 000, "Pop-Up Marketing Offers"):
///
/// 1. a *personal* offer (`USER`, user ids given) is shown only to those users, in
///    whatever room they enter;
/// 2. otherwise a *room* offer (`ROOM`) is shown to everyone in the listed rooms;
/// 3. otherwise (`GLOBAL`) it is shown in all rooms.
///
/// A user who opted out of offers (`opted_out`, SPEC §3) sees none at all. Ids are
/// compared after trimming `room` and `user`, as stored ids are trimmed.
pub fn in_audience(audience: &Audience, room: &str, user: Option<&str>, opted_out: bool) -> bool {
    if opted_out {
        return false;
    }
    match audience.kind {
        AudienceType::User => user
            .map(str::trim)
            .is_some_and(|user| audience.users.iter().any(|id| id.as_str() == user)),
        AudienceType::Room => {
            let room = room.trim();
            audience.rooms.iter().any(|id| id.as_str() == room)
        }
        AudienceType::Global => true,
    }
}

/// Whether the offer is scheduled to be visible at `now`: `startTime ≤ now < endTime`
/// (no end time: forever).
pub fn is_live(spec: &OfferSpec, now: DateTime<Utc>) -> bool {
    within_schedule(spec.start_time, spec.end_time, now)
}

/// `start ≤ now < end` (no end: open-ended).
pub fn within_schedule(
    start: DateTime<Utc>,
    end: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> bool {
    start <= now && end.is_none_or(|end| now < end)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ExternalId;
    use chrono::{Duration, TimeZone};

    fn ids(list: &[&str]) -> Vec<ExternalId> {
        list.iter().map(|s| ExternalId::parse(s).unwrap()).collect()
    }

    #[test]
    fn opted_out_sees_nothing() {
        for audience in [
            Audience::global(),
            Audience::rooms(ids(&["r1"])),
            Audience::users(ids(&["u1"])),
        ] {
            assert!(!in_audience(&audience, "r1", Some("u1"), true));
            assert!(in_audience(&audience, "r1", Some("u1"), false));
        }
    }

    #[test]
    fn global_is_everywhere_even_anonymous() {
        assert!(in_audience(&Audience::global(), "any", None, false));
    }

    #[test]
    fn room_offers_only_in_their_rooms() {
        let audience = Audience::rooms(ids(&["r1", "r2"]));
        assert!(in_audience(&audience, "r2", None, false));
        assert!(in_audience(&audience, " r1 ", Some("whoever"), false));
        assert!(!in_audience(&audience, "r3", Some("u1"), false));
        assert!(
            !in_audience(&audience, "R1", None, false),
            "ids are case-sensitive"
        );
    }

    #[test]
    fn personal_offers_follow_the_user_into_any_room() {
        let audience = Audience::users(ids(&["u1"]));
        assert!(in_audience(&audience, "r1", Some("u1"), false));
        assert!(in_audience(&audience, "elsewhere", Some("u1"), false));
        assert!(!in_audience(&audience, "r1", Some("u2"), false));
        assert!(!in_audience(&audience, "r1", None, false));
    }

    #[test]
    fn live_between_start_inclusive_and_end_exclusive() {
        let start = Utc.with_ymd_and_hms(2024, 5, 22, 12, 0, 0).unwrap();
        let mut spec = OfferSpec {
            start_time: start,
            end_time: Some(start + Duration::hours(1)),
            show_multiple_times: false,
            ..OfferSpec::example()
        };
        assert!(!is_live(&spec, start - Duration::milliseconds(1)));
        assert!(is_live(&spec, start));
        assert!(is_live(&spec, start + Duration::minutes(59)));
        assert!(!is_live(&spec, start + Duration::hours(1)));
        spec.end_time = None;
        assert!(is_live(&spec, start + Duration::days(10_000)));
    }
}
