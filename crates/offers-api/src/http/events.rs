//! `POST /widget/v1/events`: impressions, clicks and closes from the widget, in batches.
//!
//! The body is JSON sent as `text/plain` (so `navigator.sendBeacon` with a string stays a CORS
//! simple request) or `application/json`, at most 64 KiB:
//! `{"key","room","user"?,"sig"?,"events":[{"id","offerId","kind","at"}]}`, at most 100
//! events. Each event is checked on its own; a bad one is reported in `rejected` and the rest
//! are stored. An `id` the project has stored before (a retried batch) is counted as a
//! duplicate and not stored again. The user is stored only when trusted (see
//! [`super::widget::trusted_user`]).
//!
//! Offer ids are checked against the loaded live index first (the store is asked only about
//! the others), and the events go through the group-commit writer ([`crate::ingest`]): the
//! answer comes once they are committed.

use std::collections::HashSet;

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use offers_core::{ExternalId, parse_timestamp};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::error::{ApiError, Fields};
use crate::http::body::{media_type_of, parse_json};
use crate::http::cors::forbidden_origin;
use crate::http::widget::{ClientIp, WidgetParams, resolve};
use crate::live::Slot;
use crate::openapi::schemas;
use crate::state::AppState;
use crate::store::{EventKind, NewEvent};

/// The largest body accepted.
pub const EVENTS_BODY_LIMIT: usize = 64 * 1024;
/// The most events in one batch.
pub const MAX_EVENTS: usize = 100;
/// The longest event id, in characters.
pub const MAX_EVENT_ID_CHARS: usize = 64;
/// How far in the future an event time may be (clock skew); it is then clamped to now.
pub const MAX_CLOCK_SKEW: chrono::Duration = chrono::Duration::minutes(5);

/// The answer.
#[derive(Debug, Serialize)]
pub struct EventsResponse {
    pub accepted: u64,
    pub duplicates: u64,
    pub rejected: Vec<Rejected>,
}

/// An event refused, by its index in the batch.
#[derive(Debug, Serialize)]
pub struct Rejected {
    pub index: usize,
    pub reason: String,
}

/// A batch as parsed: the visitor's parameters and the raw events.
#[derive(Debug)]
struct Batch {
    params: WidgetParams,
    events: Vec<Value>,
}

fn parse_batch(body: Value) -> Result<Batch, ApiError> {
    let Value::Object(mut map) = body else {
        return Err(ApiError::bad_request(
            "the body must be a JSON object {\"key\", \"room\", \"user\"?, \"sig\"?, \"events\": [...]}",
        ));
    };
    let mut errors = Fields::new();
    let key = match map.remove("key") {
        Some(Value::String(k)) if !k.trim().is_empty() => Some(k),
        Some(_) => {
            errors.insert("key".into(), "must be the project's public key".into());
            None
        }
        None => {
            errors.insert("key".into(), "required".into());
            None
        }
    };
    let room = match map.remove("room") {
        Some(Value::String(r)) => ExternalId::parse(&r)
            .map_err(|reason| errors.insert("room".into(), reason))
            .ok(),
        Some(_) => {
            errors.insert("room".into(), "must be a string".into());
            None
        }
        None => {
            errors.insert("room".into(), "required".into());
            None
        }
    };
    let user = match map.remove("user") {
        None | Some(Value::Null) => None,
        Some(Value::String(u)) if u.trim().is_empty() => None,
        Some(Value::String(u)) => ExternalId::parse(&u)
            .map_err(|reason| errors.insert("user".into(), reason))
            .ok(),
        Some(_) => {
            errors.insert("user".into(), "must be a string".into());
            None
        }
    };
    let sig = match map.remove("sig") {
        Some(Value::String(s)) if !s.trim().is_empty() => Some(s),
        None | Some(Value::Null) | Some(Value::String(_)) => None,
        Some(_) => {
            errors.insert("sig".into(), "must be a string".into());
            None
        }
    };
    let events = match map.remove("events") {
        Some(Value::Array(list)) if list.len() > MAX_EVENTS => {
            errors.insert(
                "events".into(),
                format!("at most {MAX_EVENTS} events per batch (got {})", list.len()),
            );
            None
        }
        Some(Value::Array(list)) => Some(list),
        Some(_) => {
            errors.insert("events".into(), "must be an array".into());
            None
        }
        None => {
            errors.insert("events".into(), "required".into());
            None
        }
    };
    match (key, room, events) {
        (Some(key), Some(room), Some(events)) if errors.is_empty() => Ok(Batch {
            params: WidgetParams {
                key,
                room,
                user,
                sig,
            },
            events,
        }),
        _ => Err(ApiError::Validation(errors)),
    }
}

/// One event as checked: its parts, or why it is refused.
fn check_event(
    raw: &Value,
    now: DateTime<Utc>,
    oldest: DateTime<Utc>,
) -> Result<(String, i64, EventKind, DateTime<Utc>), String> {
    let Value::Object(map) = raw else {
        return Err("must be an object {id, offerId, kind, at}".into());
    };
    let field = |name: &str| -> Option<&Value> { Map::get(map, name) };
    let id = match field("id") {
        Some(Value::String(id))
            if !id.is_empty()
                && id.chars().count() <= MAX_EVENT_ID_CHARS
                && !id.chars().any(char::is_control) =>
        {
            id.clone()
        }
        _ => {
            return Err(format!(
                "id: required, a string of 1 to {MAX_EVENT_ID_CHARS} characters"
            ));
        }
    };
    let offer_id = match field("offerId").and_then(Value::as_i64) {
        Some(n) if n > 0 => n,
        _ => return Err("offerId: required, a positive integer".into()),
    };
    let kind = match field("kind")
        .and_then(Value::as_str)
        .and_then(EventKind::parse)
    {
        Some(kind) => kind,
        None => return Err("kind: must be impression, click or close".into()),
    };
    let at = match field("at").and_then(Value::as_str) {
        Some(raw) => parse_timestamp(raw).map_err(|reason| format!("at: {reason}"))?,
        None => return Err("at: required, an RFC 3339 date-time".into()),
    };
    if at > now + MAX_CLOCK_SKEW {
        return Err("at: more than 5 minutes in the future".into());
    }
    if at < oldest {
        return Err("at: older than the retention period".into());
    }
    Ok((id, offer_id, kind, at.min(now)))
}

/// Record a batch of widget events.
#[utoipa::path(
    post,
    path = "/widget/v1/events",
    tag = "widget",
    request_body(
        description = "At most 64 KiB and 100 events. Sent as `text/plain` (navigator.sendBeacon with a string) or `application/json`.",
        content(
            (schemas::EventsRequestDoc = "text/plain"),
            (schemas::EventsRequestDoc = "application/json"),
        )
    ),
    responses(
        (status = 202, description = "Stored what was new; duplicates (ids seen before) and refused events counted", body = schemas::EventsResponseDoc),
        (status = 400, description = "Not a JSON object", body = schemas::ErrorBodyDoc),
        (status = 403, description = "The project does not allow this Origin", body = schemas::ErrorBodyDoc),
        (status = 404, description = "No project has this public key", body = schemas::ErrorBodyDoc),
        (status = 413, description = "Body over 64 KiB", body = schemas::ErrorBodyDoc),
        (status = 415, description = "Neither text/plain nor application/json", body = schemas::ErrorBodyDoc),
        (status = 422, description = "`key`, `room` or `events` missing or invalid, or over 100 events", body = schemas::ErrorBodyDoc),
        (status = 429, description = "Rate limited (per client IP and project); see Retry-After", body = schemas::ErrorBodyDoc),
    )
)]
pub async fn post_events(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    match media_type_of(&headers).as_deref() {
        None | Some("text/plain" | "application/json") => {}
        Some(other) => {
            return Err(ApiError::UnsupportedMediaType(format!(
                "send the events as text/plain or application/json; got `{other}`"
            )));
        }
    }
    let bytes = axum::body::to_bytes(body, EVENTS_BODY_LIMIT)
        .await
        .map_err(|_| ApiError::PayloadTooLarge {
            limit: EVENTS_BODY_LIMIT,
        })?;
    let batch = parse_batch(parse_json(&bytes)?)?;
    let visitor = resolve(&state, batch.params, headers.get(header::ORIGIN), ip).await?;
    if !visitor.origin_allowed {
        return Ok(forbidden_origin());
    }

    let now = Utc::now();
    let oldest = now - chrono::Duration::days(i64::from(state.settings().retention_days));
    let mut rejected = Vec::new();
    let mut checked = Vec::new();
    for (index, raw) in batch.events.iter().enumerate() {
        match check_event(raw, now, oldest) {
            Ok(parts) => checked.push((index, parts)),
            Err(reason) => rejected.push(Rejected { index, reason }),
        }
    }
    let offer_ids: Vec<i64> = checked
        .iter()
        .map(|(_, (_, offer, _, _))| *offer)
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let known = known_offers(&state, &visitor.slot, &offer_ids).await?;
    let mut seen_ids = HashSet::new();
    let mut duplicates = 0u64;
    let mut fresh = Vec::new();
    for (index, (id, offer_id, kind, at)) in checked {
        if !known.contains(&offer_id) {
            rejected.push(Rejected {
                index,
                reason: "offerId: no such offer in this project".into(),
            });
        } else if !seen_ids.insert(id.clone()) {
            duplicates += 1;
        } else {
            fresh.push(NewEvent {
                id,
                offer_id,
                kind,
                room: visitor.room.as_str().to_owned(),
                user: visitor.user().map(str::to_owned),
                at,
            });
        }
    }
    rejected.sort_by_key(|r| r.index);
    let submitted = fresh.len() as u64;
    let accepted = state.events().write(visitor.project.id, fresh).await?;
    duplicates += submitted - accepted;
    Ok((
        StatusCode::ACCEPTED,
        Json(EventsResponse {
            accepted,
            duplicates,
            rejected,
        }),
    )
        .into_response())
}

/// The subset of `ids` that are offers of the project: those in the loaded live index (not
/// ended, so not deleted) without a query, the rest asked of the store (ended ones count).
async fn known_offers(
    state: &AppState,
    slot: &Slot,
    ids: &[i64],
) -> Result<HashSet<i64>, ApiError> {
    let index = slot.loaded();
    let (mut known, rest): (HashSet<i64>, Vec<i64>) = match &index {
        Some(index) => {
            let (indexed, rest): (Vec<i64>, Vec<i64>) =
                ids.iter().partition(|id| index.offer(**id).is_some());
            (indexed.into_iter().collect(), rest)
        }
        None => (HashSet::new(), ids.to_vec()),
    };
    if !rest.is_empty() {
        known.extend(
            state
                .store()
                .offer_ids_among(slot.project_id(), &rest)
                .await?,
        );
    }
    Ok(known)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn events_are_checked_one_by_one() {
        let now = Utc::now();
        let oldest = now - chrono::Duration::days(90);
        let ok = json!({"id": "e1", "offerId": 3, "kind": "click", "at": offers_core::format_timestamp(&now)});
        assert!(check_event(&ok, now, oldest).is_ok());
        let soon = now + chrono::Duration::minutes(2);
        let clamped = check_event(
            &json!({"id": "e", "offerId": 1, "kind": "close", "at": offers_core::format_timestamp(&soon)}),
            now,
            oldest,
        )
        .unwrap();
        assert_eq!(clamped.3, now);
        for (bad, reason) in [
            (json!("x"), "must be an object"),
            (
                json!({"offerId": 1, "kind": "click", "at": "2024-01-01T00:00:00Z"}),
                "id:",
            ),
            (
                json!({"id": "x".repeat(65), "offerId": 1, "kind": "click", "at": "2024-01-01T00:00:00Z"}),
                "id:",
            ),
            (
                json!({"id": "e", "offerId": 0, "kind": "click", "at": "2024-01-01T00:00:00Z"}),
                "offerId:",
            ),
            (
                json!({"id": "e", "offerId": 1, "kind": "hover", "at": "2024-01-01T00:00:00Z"}),
                "kind:",
            ),
            (
                json!({"id": "e", "offerId": 1, "kind": "click", "at": "yesterday"}),
                "at:",
            ),
            (
                json!({"id": "e", "offerId": 1, "kind": "click", "at": "2000-01-01T00:00:00Z"}),
                "retention",
            ),
            (
                json!({"id": "e", "offerId": 1, "kind": "click", "at": "2999-01-01T00:00:00Z"}),
                "future",
            ),
        ] {
            let err = check_event(&bad, now, oldest).unwrap_err();
            assert!(err.contains(reason), "{bad}: {err}");
        }
    }

    #[test]
    fn batch_shape_errors_name_fields() {
        match parse_batch(json!({"events": "no"})) {
            Err(ApiError::Validation(f)) => {
                assert!(
                    f.contains_key("key") && f.contains_key("room") && f.contains_key("events")
                );
            }
            other => panic!("{other:?}"),
        }
        let too_many: Vec<Value> = (0..101).map(|_| json!({})).collect();
        assert!(matches!(
            parse_batch(json!({"key": "pk", "room": "r", "events": too_many})),
            Err(ApiError::Validation(_))
        ));
        assert!(matches!(
            parse_batch(json!([1])),
            Err(ApiError::BadRequest { .. })
        ));
    }
}
