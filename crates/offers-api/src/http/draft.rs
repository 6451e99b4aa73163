//! `/external/draft`: the project's one saved draft (seed 000: "you can save only one draft
//! at a time").
//!
//! The draft is the Studio's work in progress: any JSON object, stored exactly as sent and
//! not validated (validation happens when it is published as an offer), with the id of the
//! offer it edits, if any. Every write gets a new entity tag; `If-Match` on `PUT` and `DELETE`
//! makes the write conditional, so two tabs cannot silently overwrite each other (412).

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use chrono::{SubsecRound, Utc};
use offers_core::api::{Draft as DraftBody, DraftInput, DraftSaved, ErrorBody};
use serde_json::Value;
use serde_json::value::RawValue;

use crate::auth::random_hex;
use crate::error::{ApiError, Fields};
use crate::http::access::Access;
use crate::http::body::{BodyKind, body_kind, media_type_of, parse_json};
use crate::state::AppState;
use crate::store::{Draft, DraftPrecondition};

/// The largest `PUT` body: 256 KiB.
pub(crate) const DRAFT_BODY_LIMIT: usize = 256 * 1024;

/// The routes of this resource.
pub(crate) fn router() -> Router<AppState> {
    Router::new().route(
        "/external/draft",
        get(get_draft).put(put_draft).delete(delete_draft),
    )
}

/// The quoted entity tag of a stored version.
fn etag_header(etag: &str) -> Option<HeaderValue> {
    HeaderValue::from_str(&format!("\"{etag}\"")).ok()
}

/// Reads `If-Match`: absent, `*`, or a list of entity tags. Weak tags (`W/"…"`) never match
/// (If-Match compares strongly).
pub(crate) fn if_match(headers: &HeaderMap) -> Result<DraftPrecondition, ApiError> {
    let Some(raw) = headers.get(header::IF_MATCH) else {
        return Ok(DraftPrecondition::None);
    };
    let raw = raw
        .to_str()
        .map_err(|_| ApiError::bad_request("the If-Match header is not ASCII"))?
        .trim();
    if raw == "*" {
        return Ok(DraftPrecondition::Exists);
    }
    let tags = raw
        .split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty() && !t.starts_with("W/"))
        .map(|t| t.trim_matches('"').to_owned())
        .collect();
    Ok(DraftPrecondition::EtagIn(tags))
}

/// `If-None-Match: *` on `PUT`: save only if no draft exists yet.
fn if_none_match_any(headers: &HeaderMap) -> bool {
    headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim() == "*")
}

fn precondition_failed() -> ApiError {
    ApiError::PreconditionFailed(
        "the draft changed since you loaded it (If-Match does not match its ETag, or \
         If-None-Match: * and a draft exists): load it again, then save"
            .to_owned(),
    )
}

/// The saved draft.
#[utoipa::path(
    get,
    path = "/external/draft",
    tag = "drafts",
    responses(
        (status = 200, description = "The draft as saved, with its `ETag` header", body = DraftBody),
        (status = 304, description = "`If-None-Match` matched the ETag"),
        (status = 401, description = "Missing or bad credentials", body = ErrorBody),
        (status = 404, description = "No draft saved", body = ErrorBody),
    ),
    security(("apiKey" = [], "bearer" = []))
)]
pub(crate) async fn get_draft(
    State(state): State<AppState>,
    Access(caller): Access,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let draft = state
        .store()
        .get_draft(caller.project_id())
        .await?
        .ok_or_else(|| ApiError::NotFound("no draft saved".to_owned()))?;
    let etag = etag_header(&draft.etag);
    let fresh = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',')
                .map(|t| t.trim().trim_start_matches("W/").trim_matches('"'))
                .any(|t| t == draft.etag || t == "*")
        });
    let mut response = if fresh {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let raw = RawValue::from_string(draft.draft.clone()).map_err(|e| {
            ApiError::Internal(format!(
                "stored draft of project {}: {e}",
                caller.project_id()
            ))
        })?;
        Json(DraftBody {
            draft: raw,
            editing: draft.editing,
            updated_at: draft.updated_at,
        })
        .into_response()
    };
    if let Some(etag) = etag {
        response.headers_mut().insert(header::ETAG, etag);
    }
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    Ok(response)
}

/// Checks a `PUT` body: `{"draft": {…}, "editing": id | null}`; every bad member at once.
/// Returns the draft's JSON text exactly as sent and the edited offer's id.
pub(crate) fn parse_put(bytes: &[u8]) -> Result<(String, Option<i64>), ApiError> {
    let Value::Object(body) = parse_json(bytes)? else {
        return Err(ApiError::bad_request(
            "the body must be a JSON object {\"draft\": {...}, \"editing\": offerId or null}",
        ));
    };
    let mut bad = Fields::new();
    match body.get("draft") {
        Some(Value::Object(_)) => {}
        Some(_) => {
            bad.insert(
                "draft".into(),
                "must be a JSON object (the offer's fields as the editor holds them)".into(),
            );
        }
        None => {
            bad.insert("draft".into(), "required".into());
        }
    }
    let editing = match body.get("editing") {
        None | Some(Value::Null) => None,
        Some(Value::Number(n)) if n.as_i64().is_some_and(|id| id > 0) => n.as_i64(),
        Some(_) => {
            bad.insert(
                "editing".into(),
                "must be the id of the offer being edited (a positive integer) or null".into(),
            );
            None
        }
    };
    if !bad.is_empty() {
        return Err(ApiError::Validation(bad));
    }
    let input: DraftInput = serde_json::from_slice(bytes)
        .map_err(|e| ApiError::bad_request(format!("malformed draft body: {e}")))?;
    Ok((input.draft.get().to_owned(), editing))
}

/// Save the draft (replacing the one saved before).
#[utoipa::path(
    put,
    path = "/external/draft",
    tag = "drafts",
    params(
        ("If-Match" = Option<String>, Header, description = "The ETag of the draft this edit started from: \
            the save fails with 412 if the saved draft has changed since (or was deleted). `*`: any saved draft."),
        ("If-None-Match" = Option<String>, Header, description = "`*`: save only if there is no draft yet \
            (412 otherwise), so a first save never replaces a draft another tab saved."),
    ),
    request_body(
        description = "`draft`: any JSON object, stored exactly as sent and not validated; `editing`: \
            the id of the offer it edits, or null. At most 256 KiB.",
        content((DraftInput = "application/json"))
    ),
    responses(
        (status = 200, description = "Saved; the new `ETag` header", body = DraftSaved),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 401, description = "Missing or bad credentials", body = ErrorBody),
        (status = 403, description = "The token's role is below `editor`", body = ErrorBody),
        (status = 412, description = "`If-Match` does not match the saved draft", body = ErrorBody),
        (status = 413, description = "Body over 256 KiB", body = ErrorBody),
        (status = 415, description = "Not application/json", body = ErrorBody),
        (status = 422, description = "`draft` missing or not an object, or `editing` not an id", body = ErrorBody),
    ),
    security(("apiKey" = [], "bearer" = []))
)]
pub(crate) async fn put_draft(
    State(state): State<AppState>,
    Access(caller): Access,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let media = media_type_of(&headers);
    if media.as_deref().and_then(body_kind) != Some(BodyKind::Json) {
        return Err(ApiError::UnsupportedMediaType(format!(
            "send the draft as application/json; got {}",
            media.map_or_else(|| "no Content-Type header".to_owned(), |m| format!("`{m}`"))
        )));
    }
    let precondition = match (if_match(&headers)?, if_none_match_any(&headers)) {
        (DraftPrecondition::None, true) => DraftPrecondition::Absent,
        (precondition, false) => precondition,
        (_, true) => {
            return Err(ApiError::bad_request(
                "send either If-Match or If-None-Match: *, not both",
            ));
        }
    };
    let bytes = axum::body::to_bytes(body, DRAFT_BODY_LIMIT)
        .await
        .map_err(|_| ApiError::PayloadTooLarge {
            limit: DRAFT_BODY_LIMIT,
        })?;
    let (draft, editing) = parse_put(&bytes)?;
    let now = Utc::now().trunc_subsecs(3);
    let saved: Draft = state
        .store()
        .put_draft(
            caller.project_id(),
            &draft,
            editing,
            &precondition,
            &random_hex(10),
            now,
        )
        .await?
        .ok_or_else(precondition_failed)?;
    tracing::info!(project = caller.project_id(), "draft saved");
    let mut response = Json(DraftSaved {
        updated_at: saved.updated_at,
    })
    .into_response();
    if let Some(etag) = etag_header(&saved.etag) {
        response.headers_mut().insert(header::ETAG, etag);
    }
    Ok(response)
}

/// Delete the draft.
#[utoipa::path(
    delete,
    path = "/external/draft",
    tag = "drafts",
    params(
        ("If-Match" = Option<String>, Header, description = "Delete only if the saved draft still has this ETag (else 412)"),
    ),
    responses(
        (status = 204, description = "Deleted (or there was none)"),
        (status = 401, description = "Missing or bad credentials", body = ErrorBody),
        (status = 403, description = "The token's role is below `editor`", body = ErrorBody),
        (status = 412, description = "`If-Match` does not match the saved draft", body = ErrorBody),
    ),
    security(("apiKey" = [], "bearer" = []))
)]
pub(crate) async fn delete_draft(
    State(state): State<AppState>,
    Access(caller): Access,
    headers: HeaderMap,
) -> Result<StatusCode, ApiError> {
    let precondition = if_match(&headers)?;
    let deleted = state
        .store()
        .delete_draft(caller.project_id(), &precondition)
        .await?;
    if !deleted && precondition != DraftPrecondition::None {
        return Err(precondition_failed());
    }
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(if_match: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::IF_MATCH, HeaderValue::from_str(if_match).unwrap());
        h
    }

    #[test]
    fn if_match_forms() {
        assert_eq!(
            if_match(&HeaderMap::new()).unwrap(),
            DraftPrecondition::None
        );
        assert_eq!(
            if_match(&headers(" * ")).unwrap(),
            DraftPrecondition::Exists
        );
        assert_eq!(
            if_match(&headers("\"a1\", \"b2\"")).unwrap(),
            DraftPrecondition::EtagIn(vec!["a1".into(), "b2".into()])
        );
        assert_eq!(
            if_match(&headers("W/\"a1\"")).unwrap(),
            DraftPrecondition::EtagIn(Vec::new())
        );
    }

    #[test]
    fn put_bodies() {
        let (draft, editing) =
            parse_put(br#"{"draft": {"title": "Hi", "b": [1, 2.50]}, "editing": 7}"#).unwrap();
        assert_eq!(
            draft, r#"{"title": "Hi", "b": [1, 2.50]}"#,
            "stored as sent"
        );
        assert_eq!(editing, Some(7));
        assert_eq!(parse_put(br#"{"draft": {}}"#).unwrap().1, None);
        match parse_put(br#"{"draft": [], "editing": "x"}"#) {
            Err(ApiError::Validation(f)) => {
                assert!(f.contains_key("draft") && f.contains_key("editing"));
            }
            other => panic!("{other:?}"),
        }
        for bad in [
            &br#"{"editing": 0}"#[..],
            br#"{"draft": null}"#,
            br#"{"draft": "x"}"#,
        ] {
            assert!(matches!(parse_put(bad), Err(ApiError::Validation(_))));
        }
        assert!(matches!(parse_put(b"[]"), Err(ApiError::BadRequest { .. })));
        assert!(matches!(parse_put(b"{"), Err(ApiError::BadRequest { .. })));
    }
}
