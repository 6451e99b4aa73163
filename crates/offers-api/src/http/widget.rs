//! The public widget feed: `GET /widget/v1/offers?key=PUBLIC_KEY&room=R&user=U`.
//!
//! No bearer token: the project is named by its public key. The answer is the offers live now
//! for this room and user (schedule, targeting and opt-out applied), with a strong `ETag` over
//! the body (`If-None-Match` → 304) and `Access-Control-Allow-Origin: *`, since the widget runs
//! on the host's page. Entering registers the room and the user as known to the project.

use axum::Router;
use axum::body::Body;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::Utc;
use offers_core::{ExternalId, FeedOffer, in_audience, is_live};
use serde::Serialize;
use sha2::{Digest, Sha256};
use tower_http::cors::{Any, CorsLayer};

use crate::error::ApiError;
use crate::http::body::query_param;
use crate::openapi::schemas;
use crate::state::AppState;
use crate::store::IdKind;

/// The routes of the widget API (CORS open to any origin).
pub fn router() -> Router<AppState> {
    let cors = CorsLayer::new()
        .allow_origin(Any)
        .allow_methods([Method::GET, Method::OPTIONS])
        .allow_headers(Any)
        .expose_headers([header::ETAG]);
    Router::new()
        // The explicit OPTIONS route keeps preflights inside the CORS layer (the router's
        // method-not-allowed fallback is not layered).
        .route(
            "/widget/v1/offers",
            get(feed).options(|| async { StatusCode::NO_CONTENT }),
        )
        .layer(cors)
}

/// The feed body.
#[derive(Debug, Serialize)]
pub struct FeedResponse {
    pub offers: Vec<FeedOffer>,
}

/// A strong entity tag over `body`: the first 128 bits of its SHA-256, hex.
pub fn etag_of(body: &[u8]) -> String {
    let digest = Sha256::digest(body);
    let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
    format!("\"{hex}\"")
}

/// Whether an `If-None-Match` header matches `etag` (weak comparison, as RFC 9110 asks for GET).
pub fn if_none_match(headers: &HeaderMap, etag: &str) -> bool {
    let bare = |t: &str| t.trim().trim_start_matches("W/").to_owned();
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|candidate| candidate.trim() == "*" || bare(candidate) == bare(etag))
}

fn required_id(query: Option<&str>, name: &str) -> Result<ExternalId, ApiError> {
    let raw = query_param(query, name).ok_or_else(|| ApiError::bad_param(name, "required"))?;
    ExternalId::parse(&raw).map_err(|reason| ApiError::bad_param(name, reason))
}

/// Offers for this room and user, now.
#[utoipa::path(
    get,
    path = "/widget/v1/offers",
    tag = "widget",
    params(
        ("key" = String, Query, description = "The project's public key (`data-project`)"),
        ("room" = String, Query, description = "The chat room the user entered"),
        ("user" = Option<String>, Query, description = "The user's id, if known"),
        ("If-None-Match" = Option<String>, Header, description = "An ETag from a previous answer"),
    ),
    responses(
        (status = 200, description = "The offers live now for this room and user", body = schemas::FeedResponseDoc,
            headers(("ETag" = String, description = "Strong entity tag over the body"))),
        (status = 304, description = "Unchanged since the ETag in If-None-Match"),
        (status = 400, description = "`key` or `room` missing, or an invalid id", body = schemas::ErrorBodyDoc),
        (status = 404, description = "No project has this public key", body = schemas::ErrorBodyDoc),
    )
)]
pub async fn feed(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let query = query.as_deref();
    let key = query_param(query, "key")
        .filter(|k| !k.is_empty())
        .ok_or_else(|| ApiError::bad_param("key", "required"))?;
    let room = required_id(query, "room")?;
    let user = match query_param(query, "user") {
        Some(raw) if !raw.trim().is_empty() => {
            Some(ExternalId::parse(&raw).map_err(|reason| ApiError::bad_param("user", reason))?)
        }
        _ => None,
    };
    let project = state
        .store()
        .project_by_public_key(&key)
        .await?
        .ok_or_else(|| ApiError::NotFound("no project has this public key".into()))?;
    let now = Utc::now();
    let store = state.store();

    // Entering registers the room and the user (only when new: reads are cheaper than writes).
    for (kind, id) in [(IdKind::Room, Some(&room)), (IdKind::User, user.as_ref())] {
        let Some(id) = id else { continue };
        let ids = [id.as_str().to_owned()];
        if store.known_among(project.id, kind, &ids).await?.is_empty() {
            store.register_ids(project.id, kind, &ids, now).await?;
        }
    }

    let opted_out = match &user {
        Some(user) => store.is_opted_out(project.id, user.as_str()).await?,
        None => false,
    };
    let offers = if opted_out {
        Vec::new()
    } else {
        store
            .feed_candidates(
                project.id,
                room.as_str(),
                user.as_ref().map(ExternalId::as_str),
                now,
            )
            .await?
            .into_iter()
            .filter(|offer| {
                is_live(&offer.spec, now)
                    && in_audience(
                        &offer.spec.audience,
                        room.as_str(),
                        user.as_ref().map(ExternalId::as_str),
                        opted_out,
                    )
            })
            .map(|offer| FeedOffer::from(&offer))
            .collect()
    };
    let body = serde_json::to_vec(&FeedResponse { offers })
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    let etag = etag_of(&body);
    let etag_value = HeaderValue::from_str(&etag).map_err(|e| ApiError::Internal(e.to_string()))?;
    let cache = HeaderValue::from_static("no-cache");
    if if_none_match(&headers, &etag) {
        return Ok((
            StatusCode::NOT_MODIFIED,
            [(header::ETAG, etag_value), (header::CACHE_CONTROL, cache)],
        )
            .into_response());
    }
    Ok((
        StatusCode::OK,
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            ),
            (header::ETAG, etag_value),
            (header::CACHE_CONTROL, cache),
        ],
        Body::from(body),
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn etags_match_weakly() {
        let tag = etag_of(b"{}");
        assert!(tag.starts_with('"') && tag.ends_with('"') && tag.len() == 34);
        let mut headers = HeaderMap::new();
        assert!(!if_none_match(&headers, &tag));
        headers.insert(
            header::IF_NONE_MATCH,
            HeaderValue::from_str(&format!("\"other\", W/{tag}")).unwrap(),
        );
        assert!(if_none_match(&headers, &tag));
        headers.insert(header::IF_NONE_MATCH, HeaderValue::from_static("*"));
        assert!(if_none_match(&headers, &tag));
    }
}
