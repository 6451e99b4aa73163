//! `POST /external/conversion`: a partner reports that a user converted
//! `{"id","userId","name","value"?,"at"?}` (SPEC §9). Idempotent by `id`: the first report is
//! stored (201) and attributed to the user's last click (widget events of kind `click`) at most
//! the project's attribution window (`attributionWindowHours`, default 24) before `at`; a
//! repeated id stores nothing and answers the first one's attribution (200, `duplicate`).

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use chrono::Utc;
use offers_core::ExternalId;
use offers_core::api::campaign::event_name_error;
use offers_core::api::{ConversionRequest, ConversionResponse, ErrorBody};

use crate::error::{ApiError, Fields};
use crate::http::access::Access;
use crate::http::events::{MAX_CLOCK_SKEW, MAX_EVENT_ID_CHARS};
use crate::http::people::JsonBody;
use crate::state::AppState;
use crate::store::campaign::NewConversion;

/// The routes of this resource.
pub(crate) fn router() -> Router<AppState> {
    Router::new().route("/external/conversion", post(post_conversion))
}

/// Report a conversion (idempotent by `id`).
#[utoipa::path(
    post,
    path = "/external/conversion",
    tag = "figures",
    request_body(content = ConversionRequest, content_type = "application/json"),
    responses(
        (status = 201, description = "Stored and attributed (`attributedOfferId` null: no click within the window)", body = ConversionResponse),
        (status = 200, description = "This id was reported before: nothing stored, the first report's attribution (`duplicate: true`)", body = ConversionResponse),
        (status = 401, description = "Missing or bad credentials", body = ErrorBody),
        (status = 403, description = "The caller's role lacks `update` on `figures`", body = ErrorBody),
        (status = 422, description = "`id`, `userId`, `name`, `value` or `at` invalid (named in `fields`)", body = ErrorBody),
    ),
    security(("apiKey" = [], "bearer" = []))
)]
pub(crate) async fn post_conversion(
    State(state): State<AppState>,
    Access(caller): Access,
    JsonBody(body): JsonBody<ConversionRequest>,
) -> Result<(StatusCode, Json<ConversionResponse>), ApiError> {
    let now = Utc::now();
    let mut bad = Fields::new();
    if body.id.trim().is_empty()
        || body.id.chars().count() > MAX_EVENT_ID_CHARS
        || body.id.chars().any(char::is_control)
    {
        bad.insert(
            "id".into(),
            format!("must be a string of 1 to {MAX_EVENT_ID_CHARS} characters"),
        );
    }
    let user = ExternalId::parse(&body.user_id)
        .map_err(|reason| bad.insert("userId".into(), reason))
        .ok();
    if let Some(reason) = event_name_error(&body.name) {
        bad.insert("name".into(), reason);
    }
    if body.value.is_some_and(|v| !v.is_finite() || v.abs() > 1e15) {
        bad.insert("value".into(), "must be a number from -1e15 to 1e15".into());
    }
    let at = body.at.unwrap_or(now);
    let oldest = now - chrono::Duration::days(i64::from(state.settings().retention_days));
    if at > now + MAX_CLOCK_SKEW {
        bad.insert(
            "at".into(),
            "must not be more than 5 minutes in the future".into(),
        );
    } else if at < oldest {
        bad.insert(
            "at".into(),
            "must not be older than the retention period".into(),
        );
    }
    let Some(user) = user.filter(|_| bad.is_empty()) else {
        return Err(ApiError::Validation(bad));
    };
    let conversion = NewConversion {
        id: body.id,
        user: user.as_str().to_owned(),
        name: body.name,
        value: body.value,
        at: at.min(now),
    };
    let attribution = state
        .store()
        .record_conversion(
            caller.project_id(),
            &conversion,
            caller.project.attribution_window(),
            now,
        )
        .await?;
    let status = if attribution.duplicate {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((
        status,
        Json(ConversionResponse {
            id: conversion.id,
            attributed_offer_id: attribution.offer_id,
            variant: attribution.variant.and_then(|v| u32::try_from(v).ok()),
            duplicate: attribution.duplicate,
        }),
    ))
}
