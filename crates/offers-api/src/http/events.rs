//! `POST /widget/v1/events`: impressions, clicks and closes from the widget, in batches.
//!
//! The body is JSON sent as `text/plain` (so `navigator.sendBeacon` with a string stays a CORS
//! simple request) or `application/json`, at most 64 KiB:
//! `{"key","room","user"?,"sig"?,"events":[{"id","offerId","kind","at","variant"?}],
//! "tracked"?:[{"id","name","props"?,"at","conversion"?,"value"?}]}`, at most 100 events and
//! 100 tracked events (the host's `Offers.track`; one flagged `conversion` from a trusted user
//! is also a conversion, attributed like `POST /external/conversion`). Each event is checked on its own; a bad one is reported in `rejected` and the rest
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
use offers_core::ExternalId;
use offers_core::api::campaign::event_name_error;
use offers_core::api::{
    ErrorBody, EventsRequest, EventsResponse, RejectedEvent, TrackedEvent, WidgetEvent,
};
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;

use crate::error::{ApiError, Fields};
use crate::http::body::media_type_of;
use crate::http::widget::{ClientIp, WidgetParams, resolve};
use crate::live::Slot;
use crate::state::AppState;
use crate::store::campaign::NewTracked;
use crate::store::{EventBatch, NewEvent};

/// The largest body accepted.
pub(crate) const EVENTS_BODY_LIMIT: usize = 64 * 1024;
/// The most events in one batch.
pub(crate) const MAX_EVENTS: usize = 100;
/// The longest event id, in characters.
pub(crate) const MAX_EVENT_ID_CHARS: usize = 64;
/// How far in the future an event time may be (clock skew); it is then clamped to now.
pub(crate) const MAX_CLOCK_SKEW: chrono::Duration = chrono::Duration::minutes(5);

/// Reads `T` from JSON text. An error is `(member, reason)`: the member that does not fit
/// (`kind`, `unknown variant …`), a missing one (`id`, `required`), or `""` for the whole
/// value.
fn read<T: DeserializeOwned>(json: &str) -> Result<T, (String, String)> {
    let mut deserializer = serde_json::Deserializer::from_str(json);
    serde_path_to_error::deserialize(&mut deserializer).map_err(|e| {
        let path = e.path().to_string();
        let reason = e.into_inner().to_string();
        // serde_json appends " at line L column C": noise for a one-line member.
        let reason = match reason.rfind(" at line ") {
            Some(at) => reason[..at].to_owned(),
            None => reason,
        };
        let path = if path == "." { String::new() } else { path };
        match reason
            .strip_prefix("missing field `")
            .and_then(|r| r.strip_suffix('`'))
        {
            Some(name) if path.is_empty() => (name.to_owned(), "required".to_owned()),
            Some(name) => (format!("{path}.{name}"), "required".to_owned()),
            None => (path, reason),
        }
    })
}

/// The highest variant index (offers have at most 5 variants).
pub(crate) const MAX_VARIANT: u8 = 4;

/// A batch as parsed: the visitor's parameters and each event's JSON text, unparsed.
#[derive(Debug)]
struct Batch {
    params: WidgetParams,
    events: Vec<Box<RawValue>>,
    tracked: Vec<Box<RawValue>>,
}

/// Reads the batch's members into [`EventsRequest`] (each event kept as its JSON text) and
/// checks them: every bad member at once, or the first that has the wrong JSON type.
fn parse_batch(body: &[u8]) -> Result<Batch, ApiError> {
    let text = std::str::from_utf8(body)
        .map_err(|_| ApiError::bad_request("the body is not UTF-8 text"))?;
    if serde_json::from_str::<serde::de::IgnoredAny>(text).is_err() {
        return Err(ApiError::bad_request("the body is not JSON"));
    }
    // serde would also read a struct from an array of its members: only an object is a batch.
    if !text.trim_start().starts_with('{') {
        return Err(ApiError::bad_request(
            "the body must be a JSON object {\"key\", \"room\", \"user\"?, \"sig\"?, \"events\": [...]}",
        ));
    }
    let request: EventsRequest<Box<RawValue>, Box<RawValue>> = read(text).map_err(|(path, reason)| {
        if path.is_empty() {
            ApiError::bad_request(format!(
                "the body must be a JSON object {{\"key\", \"room\", \"user\"?, \"sig\"?, \"events\": [...]}}: {reason}"
            ))
        } else {
            ApiError::invalid_field(&path, reason)
        }
    })?;
    let mut errors = Fields::new();
    if request.key.trim().is_empty() {
        errors.insert("key".into(), "must be the project's public key".into());
    }
    let room = ExternalId::parse(&request.room)
        .map_err(|reason| errors.insert("room".into(), reason))
        .ok();
    let user = match request.user.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(_) => request
            .user
            .as_deref()
            .map(ExternalId::parse)
            .transpose()
            .map_err(|reason| errors.insert("user".into(), reason))
            .ok()
            .flatten(),
    };
    let sig = request.sig.filter(|s| !s.trim().is_empty());
    if request.events.len() > MAX_EVENTS {
        errors.insert(
            "events".into(),
            format!(
                "at most {MAX_EVENTS} events per batch (got {})",
                request.events.len()
            ),
        );
    }
    if request.tracked.len() > MAX_EVENTS {
        errors.insert(
            "tracked".into(),
            format!(
                "at most {MAX_EVENTS} tracked events per batch (got {})",
                request.tracked.len()
            ),
        );
    }
    match room {
        Some(room) if errors.is_empty() => Ok(Batch {
            params: WidgetParams {
                key: request.key,
                room,
                user,
                sig,
                language: None,
            },
            events: request.events,
            tracked: request.tracked,
        }),
        _ => Err(ApiError::Validation(errors)),
    }
}

/// Why an event id is refused (`None`: fine).
fn id_error(id: &str) -> Option<String> {
    (id.is_empty() || id.chars().count() > MAX_EVENT_ID_CHARS || id.chars().any(char::is_control))
        .then(|| format!("id: required, a string of 1 to {MAX_EVENT_ID_CHARS} characters"))
}

/// Why an event time is refused (`None`: fine).
fn at_error(at: DateTime<Utc>, now: DateTime<Utc>, oldest: DateTime<Utc>) -> Option<String> {
    if at > now + MAX_CLOCK_SKEW {
        Some("at: more than 5 minutes in the future".into())
    } else if at < oldest {
        Some("at: older than the retention period".into())
    } else {
        None
    }
}

/// One batch member read into `T`, or why not: it must be a JSON object of `shape`, and a
/// member that does not fit is named.
fn read_object<T: DeserializeOwned>(raw: &RawValue, shape: &str) -> Result<T, String> {
    if !raw.get().trim_start().starts_with('{') {
        return Err(format!("must be an object {shape}"));
    }
    read(raw.get()).map_err(|(path, reason)| {
        if path.is_empty() {
            format!("must be an object {shape}: {reason}")
        } else {
            format!("{path}: {reason}")
        }
    })
}

/// One tracked event as checked, or why it is refused (naming the member).
fn check_tracked(
    raw: &RawValue,
    now: DateTime<Utc>,
    oldest: DateTime<Utc>,
) -> Result<TrackedEvent, String> {
    let mut event: TrackedEvent = read_object(raw, "{id, name, props?, at, conversion?, value?}")?;
    if let Some(reason) = id_error(&event.id) {
        return Err(reason);
    }
    if let Some(reason) = event_name_error(&event.name) {
        return Err(format!("name: {reason}"));
    }
    if event
        .value
        .is_some_and(|v| !v.is_finite() || v.abs() > 1e15)
    {
        return Err("value: must be a number from -1e15 to 1e15".into());
    }
    if let Some(reason) = at_error(event.at, now, oldest) {
        return Err(reason);
    }
    event.at = event.at.min(now);
    Ok(event)
}

/// One event as checked, or why it is refused (naming the member).
fn check_event(
    raw: &RawValue,
    now: DateTime<Utc>,
    oldest: DateTime<Utc>,
) -> Result<WidgetEvent, String> {
    let mut event: WidgetEvent = read_object(raw, "{id, offerId, kind, at}")?;
    if let Some(reason) = id_error(&event.id) {
        return Err(reason);
    }
    if event.offer_id <= 0 {
        return Err("offerId: required, a positive integer".into());
    }
    if event.variant.is_some_and(|v| v > MAX_VARIANT) {
        return Err(format!("variant: must be 0 to {MAX_VARIANT}"));
    }
    if let Some(reason) = at_error(event.at, now, oldest) {
        return Err(reason);
    }
    event.at = event.at.min(now);
    Ok(event)
}

/// Record a batch of widget events.
#[utoipa::path(
    post,
    path = "/widget/v1/events",
    tag = "widget",
    request_body(
        description = "At most 64 KiB and 100 events. Sent as `text/plain` (navigator.sendBeacon with a string) or `application/json`.",
        content(
            (EventsRequest = "text/plain"),
            (EventsRequest = "application/json"),
        )
    ),
    responses(
        (status = 202, description = "Stored what was new; duplicates (ids seen before) and refused events counted", body = EventsResponse),
        (status = 400, description = "Not a JSON object", body = ErrorBody),
        (status = 403, description = "The project does not allow this Origin", body = ErrorBody),
        (status = 404, description = "No project has this public key", body = ErrorBody),
        (status = 413, description = "Body over 64 KiB", body = ErrorBody),
        (status = 415, description = "Neither text/plain nor application/json", body = ErrorBody),
        (status = 422, description = "`key`, `room` or `events` missing or invalid, or over 100 events", body = ErrorBody),
        (status = 429, description = "Rate limited (per client IP and project); see Retry-After", body = ErrorBody),
    )
)]
pub(crate) async fn post_events(
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
    let batch = parse_batch(&bytes)?;
    let visitor = resolve(&state, batch.params, headers.get(header::ORIGIN), ip).await?;
    if !visitor.origin_allowed {
        return Err(ApiError::OriginNotAllowed);
    }

    let now = Utc::now();
    let oldest = now - chrono::Duration::days(i64::from(state.settings().retention_days));
    let mut rejected = Vec::new();
    let mut checked = Vec::new();
    for (index, raw) in batch.events.iter().enumerate() {
        match check_event(raw, now, oldest) {
            Ok(event) => checked.push((index, event)),
            Err(reason) => rejected.push(RejectedEvent { index, reason }),
        }
    }
    let offer_ids: Vec<i64> = checked
        .iter()
        .map(|(_, event)| event.offer_id)
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let known = known_offers(&state, &visitor.slot, &offer_ids).await?;
    let mut seen_ids = HashSet::new();
    let mut duplicates = 0u64;
    let mut fresh = Vec::new();
    // Events of a test send (SPEC §7) are acknowledged but never stored: not counted.
    let tests = visitor.slot.loaded().filter(|i| i.audiences.has_tests());
    let is_test = |offer_id: i64| match (&tests, visitor.user()) {
        (Some(index), Some(user)) => index.audiences.is_test(user, offer_id, Utc::now()),
        _ => false,
    };
    let mut test_events = 0u64;
    for (index, event) in checked {
        if !known.contains(&event.offer_id) {
            rejected.push(RejectedEvent {
                index,
                reason: "offerId: no such offer in this project".into(),
            });
        } else if !seen_ids.insert(event.id.clone()) {
            duplicates += 1;
        } else if is_test(event.offer_id) {
            test_events += 1;
        } else {
            fresh.push(NewEvent {
                id: event.id,
                offer_id: event.offer_id,
                kind: event.kind,
                room: visitor.room.as_str().to_owned(),
                user: visitor.user().map(str::to_owned),
                at: event.at,
                variant: event.variant,
            });
        }
    }
    rejected.sort_by_key(|r| r.index);
    let mut rejected_tracked = Vec::new();
    let mut tracked = Vec::new();
    let mut tracked_ids = HashSet::new();
    for (index, raw) in batch.tracked.iter().enumerate() {
        match check_tracked(raw, now, oldest) {
            Err(reason) => rejected_tracked.push(RejectedEvent { index, reason }),
            Ok(event) if !tracked_ids.insert(event.id.clone()) => duplicates += 1,
            Ok(event) => tracked.push(NewTracked {
                props: serde_json::Value::Object(event.props.unwrap_or_default()).to_string(),
                id: event.id,
                name: event.name,
                room: visitor.room.as_str().to_owned(),
                user: visitor.user().map(str::to_owned),
                at: event.at,
                conversion: event.conversion.unwrap_or(false),
                value: event.value,
            }),
        }
    }
    let submitted = (fresh.len() + tracked.len()) as u64;
    let stored = state
        .events()
        .write(EventBatch {
            project_id: visitor.project.id,
            events: fresh,
            tracked,
            attribution_window: visitor.project.attribution_window(),
        })
        .await?;
    let stored = stored.events + stored.tracked;
    duplicates += submitted - stored;
    let accepted = stored + test_events;
    Ok((
        StatusCode::ACCEPTED,
        Json(EventsResponse {
            accepted,
            duplicates,
            rejected,
            rejected_tracked,
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
    use chrono::SubsecRound;
    use serde_json::{Value, json};

    fn raw(value: &Value) -> Box<RawValue> {
        RawValue::from_string(value.to_string()).unwrap()
    }

    #[test]
    fn events_are_checked_one_by_one() {
        let now = Utc::now().trunc_subsecs(3);
        let oldest = now - chrono::Duration::days(90);
        let ok = json!({"id": "e1", "offerId": 3, "kind": "click", "at": offers_core::format_timestamp(&now)});
        let event = check_event(&raw(&ok), now, oldest).unwrap();
        assert_eq!(
            (event.offer_id, event.kind),
            (3, offers_core::api::EventKind::Click)
        );
        let soon = now + chrono::Duration::minutes(2);
        let clamped = check_event(
            &raw(&json!({"id": "e", "offerId": 1, "kind": "close", "at": offers_core::format_timestamp(&soon)})),
            now,
            oldest,
        )
        .unwrap();
        assert_eq!(clamped.at, now);
        for (bad, reason) in [
            (json!("x"), "must be an object"),
            (
                json!(["e", 1, "click", "2024-01-01T00:00:00Z"]),
                "must be an object",
            ),
            (
                json!({"offerId": 1, "kind": "click", "at": "2024-01-01T00:00:00Z"}),
                "id: required",
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
                json!({"id": "e", "offerId": "1", "kind": "click", "at": "2024-01-01T00:00:00Z"}),
                "offerId: invalid type",
            ),
            (
                json!({"id": "e", "offerId": 1, "kind": "hover", "at": "2024-01-01T00:00:00Z"}),
                "kind: unknown variant `hover`",
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
            let err = check_event(&raw(&bad), now, oldest).unwrap_err();
            assert!(err.contains(reason), "{bad}: {err}");
        }
    }

    #[test]
    fn batch_shape_errors_name_fields() {
        let parse = |value: Value| parse_batch(value.to_string().as_bytes());
        match parse(json!({"key": " ", "room": "", "events": []})) {
            Err(ApiError::Validation(f)) => {
                assert!(f.contains_key("key") && f.contains_key("room"), "{f:?}");
            }
            other => panic!("{other:?}"),
        }
        match parse(json!({"key": "pk", "room": "r", "events": "no"})) {
            Err(ApiError::Validation(f)) => assert!(f["events"].contains("invalid type"), "{f:?}"),
            other => panic!("{other:?}"),
        }
        match parse(json!({"key": "pk", "events": []})) {
            Err(ApiError::Validation(f)) => assert_eq!(f["room"], "required"),
            other => panic!("{other:?}"),
        }
        let too_many: Vec<Value> = (0..101).map(|_| json!({})).collect();
        assert!(matches!(
            parse(json!({"key": "pk", "room": "r", "events": too_many})),
            Err(ApiError::Validation(_))
        ));
        assert!(matches!(
            parse(json!([1])),
            Err(ApiError::BadRequest { .. })
        ));
        assert!(matches!(
            parse_batch(b"{"),
            Err(ApiError::BadRequest { .. })
        ));
        let batch = parse(json!({"key": "pk", "room": "r", "user": "", "events": [{}]})).unwrap();
        assert_eq!((batch.params.user, batch.events.len()), (None, 1));
    }
}
