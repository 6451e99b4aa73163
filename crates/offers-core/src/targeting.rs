//! Who may see an offer ([`in_audience`], and in index form [`AudienceKey`]) and when
//! ([`is_live`]).

use chrono::{DateTime, Utc};

use crate::model::{Audience, AudienceType, OfferSpec};

/// One way an offer's audience is reached: everyone, one room, or one user.
///
/// This is the audience rule in index form ([`audience_keys`] for an offer,
/// [`visitor_keys`] for a visitor): a visitor is in an offer's audience exactly when the two
/// share a key. An index of offers by key (the API's live index) answers the rule with a few
/// lookups instead of walking every audience; [`in_audience_by`] takes its answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AudienceKey<'a> {
    /// A `GLOBAL` offer: every room, every visitor.
    Everyone,
    /// A `ROOM` offer lists this room.
    Room(&'a str),
    /// A `USER` offer lists this user.
    User(&'a str),
}

/// The keys an offer's audience is reached by, following the hierarchy of the product docs
/// (seed 000, "Pop-Up Marketing Offers"):
///
/// 1. a *personal* offer (`USER`) is reached by its users only, in whatever room they enter;
/// 2. a *room* offer (`ROOM`) by its rooms, for everyone in them;
/// 3. a `GLOBAL` offer by everyone.
pub fn audience_keys(audience: &Audience) -> Box<dyn Iterator<Item = AudienceKey<'_>> + '_> {
    match audience.kind {
        AudienceType::User => Box::new(
            audience
                .users
                .iter()
                .map(|id| AudienceKey::User(id.as_str())),
        ),
        AudienceType::Room => Box::new(
            audience
                .rooms
                .iter()
                .map(|id| AudienceKey::Room(id.as_str())),
        ),
        AudienceType::Global => Box::new(std::iter::once(AudienceKey::Everyone)),
    }
}

/// The keys a visitor in `room` as `user` is reached by (ids trimmed, as stored ids are).
pub fn visitor_keys<'a>(room: &'a str, user: Option<&'a str>) -> [Option<AudienceKey<'a>>; 3] {
    [
        Some(AudienceKey::Everyone),
        Some(AudienceKey::Room(room.trim())),
        user.map(str::trim).map(AudienceKey::User),
    ]
}

/// [`in_audience`] decided with an index: `listed(key)` answers whether the offer is reached
/// by `key` (see [`audience_keys`]). A user who opted out (SPEC §3) sees nothing.
pub fn in_audience_by(
    room: &str,
    user: Option<&str>,
    opted_out: bool,
    mut listed: impl FnMut(AudienceKey<'_>) -> bool,
) -> bool {
    !opted_out
        && visitor_keys(room, user)
            .into_iter()
            .flatten()
            .any(&mut listed)
}

/// Whether a user in `room` belongs to the offer's audience: the visitor and the audience
/// share a key ([`audience_keys`], [`visitor_keys`]). A user who opted out of offers
/// (`opted_out`, SPEC §3) sees none at all. Ids are compared after trimming `room` and
/// `user`, as stored ids are trimmed.
///
/// This walks the audience's lists; the API's live index answers the same rule through
/// [`in_audience_by`] without the walk.
pub fn in_audience(audience: &Audience, room: &str, user: Option<&str>, opted_out: bool) -> bool {
    in_audience_by(room, user, opted_out, |key| {
        audience_keys(audience).any(|k| k == key)
    })
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
    fn keys_answer_the_same_rule() {
        let audiences = [
            Audience::global(),
            Audience::rooms(ids(&["r1", "r2"])),
            Audience::users(ids(&["u1", "u2"])),
        ];
        for audience in &audiences {
            let keys: Vec<AudienceKey<'_>> = audience_keys(audience).collect();
            for room in ["r1", "r3", " r2 "] {
                for user in [None, Some("u1"), Some("u3"), Some(" u2")] {
                    let by_index = in_audience_by(room, user, false, |k| keys.contains(&k));
                    assert_eq!(by_index, in_audience(audience, room, user, false));
                    assert!(!in_audience_by(room, user, true, |k| keys.contains(&k)));
                }
            }
        }
        assert_eq!(
            audience_keys(&audiences[1]).collect::<Vec<_>>(),
            [AudienceKey::Room("r1"), AudienceKey::Room("r2")]
        );
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
