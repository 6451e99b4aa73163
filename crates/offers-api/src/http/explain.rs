//! `GET /external/explain`: for every offer of the project, whether a visitor in a room
//! would see it now (or at `at`), and every rule's verdict — schedule, audience, opt-out,
//! frequency — from `offers_core::explain`, the same rules the feed and the widget apply.
//!
//! On the server, a user's display history is what the widget reported: the number of their
//! impressions of the offer and the last one's time (at or before `at`), as a new entry.

use axum::extract::{RawQuery, State};
use axum::routing::get;
use axum::{Json, Router};
use chrono::{DateTime, SubsecRound, Utc};
use offers_core::api::{ErrorBody, ExplainResponse, ExplainedOffer};
use offers_core::explain::{
    CapsView, ExplainVisitor, Explanation, explain_across, explain_campaign, explain_with,
};
use offers_core::{
    DisplayHistory, ExternalId, LanguageTag, MergeVars, parse_timestamp, schedule_status,
};

use crate::audience::{Audiences, UserContext};

use crate::error::{ApiError, Fields};
use crate::http::access::Access;
use crate::http::body::{bad_params, parse_utc_offset, query_param};
use crate::state::AppState;
use crate::store::SeenSummary;

/// The most offers explained (the newest).
pub(crate) const MAX_EXPLAINED: i64 = 200;

/// The routes of this resource.
pub(crate) fn router() -> Router<AppState> {
    Router::new().route("/external/explain", get(explain_offers))
}

/// The parsed query.
#[derive(Debug)]
struct ExplainQuery {
    room: ExternalId,
    user: Option<ExternalId>,
    at: DateTime<Utc>,
    utc_offset: i32,
    /// The language the widget would send (`lang`); the profile's wins.
    language: Option<LanguageTag>,
}

fn parse_query(query: Option<&str>) -> Result<ExplainQuery, ApiError> {
    let mut bad = Fields::new();
    let room = match query_param(query, "room") {
        Some(raw) => ExternalId::parse(&raw)
            .map_err(|reason| bad.insert("room".into(), reason))
            .ok(),
        None => {
            bad.insert(
                "room".into(),
                "required: the room the visitor enters".into(),
            );
            None
        }
    };
    let user = match query_param(query, "user") {
        Some(raw) if !raw.trim().is_empty() => ExternalId::parse(&raw)
            .map_err(|reason| bad.insert("user".into(), reason))
            .ok(),
        _ => None,
    };
    let at = match query_param(query, "at") {
        Some(raw) => parse_timestamp(&raw)
            .map_err(|reason| bad.insert("at".into(), reason))
            .ok(),
        None => Some(Utc::now().trunc_subsecs(3)),
    };
    let utc_offset = match query_param(query, "utcOffset") {
        Some(raw) => parse_utc_offset(&raw)
            .map_err(|reason| bad.insert("utcOffset".into(), reason))
            .ok(),
        None => Some(0),
    };
    let language = match query_param(query, "lang") {
        Some(raw) if !raw.trim().is_empty() => LanguageTag::parse(&raw)
            .map_err(|reason| bad.insert("lang".into(), reason))
            .ok(),
        _ => None,
    };
    bad_params(bad)?;
    match (room, at, utc_offset) {
        (Some(room), Some(at), Some(utc_offset)) => Ok(ExplainQuery {
            room,
            user,
            at,
            utc_offset,
            language,
        }),
        _ => Err(ApiError::Internal("explain query checks disagree".into())),
    }
}

/// What the server knows a user has seen of an offer, as the core's history (a new entry).
fn history(seen: Option<&SeenSummary>) -> DisplayHistory {
    seen.map_or_else(DisplayHistory::default, |s| DisplayHistory {
        times_shown: u32::try_from(s.count).unwrap_or(u32::MAX),
        last_shown: Some(s.last),
        last_entry: None,
    })
}

/// The project's caps across offers, for the caps checks (`None`: not known here yet; the
/// caps settings are the project's, SPEC §9).
fn project_caps(_project: &crate::store::Project) -> Option<&offers_core::campaign::Caps> {
    None
}

/// Why each offer is (not) shown to a visitor.
#[utoipa::path(
    get,
    path = "/external/explain",
    tag = "offers",
    params(
        ("room" = String, Query, description = "The room the visitor enters"),
        ("user" = Option<String>, Query, description = "The visitor's user id (absent: anonymous)"),
        ("at" = Option<String>, Query, description = "The instant to judge (RFC 3339; default: now)"),
        ("utcOffset" = Option<i32>, Query, description = "The visitor's zone in minutes east of UTC \
            (-1080..1080, default 0), for DAILY's local day"),
        ("lang" = Option<String>, Query, description = "The language the widget would send (the user's profile language wins)"),
    ),
    responses(
        (status = 200, description = "Every offer of the project (the newest 200), newest first, with each rule's \
            verdict. Frequency uses the user's recorded impressions (count and last time up to `at`) and \
            assumes a new entry.", body = ExplainResponse),
        (status = 400, description = "`room` missing, or `user`, `at` or `utcOffset` malformed", body = ErrorBody),
        (status = 401, description = "Missing or bad credentials", body = ErrorBody),
    ),
    security(("apiKey" = [], "bearer" = []))
)]
pub(crate) async fn explain_offers(
    State(state): State<AppState>,
    Access(caller): Access,
    RawQuery(query): RawQuery,
) -> Result<Json<ExplainResponse>, ApiError> {
    let q = parse_query(query.as_deref())?;
    let project = caller.project_id();
    let offers = state
        .store()
        .list_offers(
            project,
            &crate::store::OfferFilter::default(),
            MAX_EXPLAINED,
            0,
        )
        .await?;
    let user = q.user.as_ref().map(ExternalId::as_str);
    let (opted_out, seen) = match user {
        Some(user) => {
            let ids: Vec<i64> = offers.iter().map(|o| o.id).collect();
            (
                state.store().is_opted_out(project, user).await?,
                state
                    .store()
                    .user_impressions(project, user, &ids, q.at)
                    .await?,
            )
        }
        None => (false, Default::default()),
    };
    // Segments are judged as the feed judges them: on the stored profile and list memberships.
    let audiences = Audiences::default();
    audiences.set_segments(&state.store().list_segments(project).await?);
    let context = match user {
        Some(user) => Some(UserContext::new(
            state
                .store()
                .get_profile(project, user)
                .await?
                .map(|p| p.profile),
            state.store().lists_of_user(project, user).await?,
        )),
        None => None,
    };
    let member = |id: i64| audiences.is_member(id, context.as_ref());
    let segment_name = |id: i64| audiences.segment_name(id);
    let vars = MergeVars::new(
        user,
        context.as_ref().and_then(|c| c.profile.as_ref()),
        q.language.as_ref(),
    );
    let mut explanations: Vec<Explanation> = offers
        .iter()
        .map(|offer| {
            let history = history(seen.get(&offer.id));
            let visitor = ExplainVisitor {
                room: q.room.as_str(),
                user,
                opted_out,
                history: &history,
                member: &member,
                segment_name: &segment_name,
                vars,
            };
            let mut verdict = explain_with(&offer.spec, &visitor, q.at, q.utc_offset);
            explain_campaign(offer, user, &mut verdict);
            verdict
        })
        .collect();
    // Priority across the offers that qualify together, and the project's caps when known.
    let listed: Vec<&offers_core::Offer> = offers.iter().collect();
    let view = CapsView {
        caps: project_caps(&caller.project),
        shown: &[],
        session: 0,
    };
    explain_across(&listed, &mut explanations, &view, q.at, q.utc_offset);
    let offers = offers
        .iter()
        .zip(explanations)
        .map(|(offer, verdict)| {
            let spec = &offer.spec;
            ExplainedOffer {
                offer_id: offer.id,
                title: spec.title.clone(),
                template: spec.template,
                status: schedule_status(spec.start_time, spec.end_time, q.at),
                shown: verdict.shown,
                checks: verdict.checks,
            }
        })
        .collect();
    Ok(Json(ExplainResponse {
        room: q.room.as_str().to_owned(),
        user: user.map(str::to_owned),
        at: q.at,
        opted_out,
        offers,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries() {
        let q = parse_query(Some(
            "room=r1&user=u1&at=2026-11-21T12:00:00Z&utcOffset=180",
        ))
        .unwrap();
        assert_eq!(
            (
                q.room.as_str(),
                q.user.as_ref().map(|u| u.as_str()),
                q.utc_offset
            ),
            ("r1", Some("u1"), 180)
        );
        assert_eq!(
            offers_core::format_timestamp(&q.at),
            "2026-11-21T12:00:00.000Z"
        );
        assert!(parse_query(Some("room=r1&user=")).unwrap().user.is_none());
        match parse_query(Some("user=u&at=yesterday&utcOffset=9999")) {
            Err(ApiError::BadRequest {
                fields: Some(f), ..
            }) => {
                let keys: Vec<_> = f.keys().map(String::as_str).collect();
                assert_eq!(keys, ["at", "room", "utcOffset"]);
            }
            other => panic!("{other:?}"),
        }
    }
}
