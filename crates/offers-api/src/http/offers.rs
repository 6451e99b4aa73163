//! `/external/offer`: the partner CRUD, wire-compatible with the documented Marketing Offers API.

use std::collections::HashSet;

use axum::Json;
use axum::Router;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::routing::get;
use chrono::Utc;
use offers_core::{AudienceType, Offer, OfferDraft, OfferSpec, PartnerOffer, validate};
use serde::Serialize;

use crate::auth::{AsEditor, AsOwner, AsViewer};
use crate::bus::{Change, ChangeOp};
use crate::error::ApiError;
use crate::http::body::{OfferBody, Page};
use crate::http::stats::StatsSummary;
use crate::openapi::schemas;
use crate::state::AppState;
use crate::store::{IdKind, UpdateOutcome};

/// The routes of this resource.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/external/offer", get(list_offers).post(create_offer))
        .route(
            "/external/offer/{offerId}",
            get(get_offer).patch(update_offer).delete(delete_offer),
        )
}

/// The answer to create and update (seed 002).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SaveOfferResponse {
    pub offer: PartnerOffer,
    /// PATCH only: the same offer under the key the documented PATCH response uses
    /// (`advertisement`), so clients written against that example keep working.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub advertisement: Option<PartnerOffer>,
    pub available_external_room_ids: Vec<String>,
    pub unavailable_external_room_ids: Vec<String>,
    pub available_external_user_ids: Vec<String>,
    pub unavailable_external_user_ids: Vec<String>,
}

/// A listed offer: the documented shape plus its all-time figures.
#[derive(Debug, Serialize)]
pub struct ListedOffer {
    #[serde(flatten)]
    pub offer: PartnerOffer,
    pub stats: StatsSummary,
}

/// An offer id from the path: anything but a positive integer is the same 404 as an unknown id.
pub fn offer_id(path: Result<Path<String>, PathRejection>) -> Result<i64, ApiError> {
    let Ok(Path(raw)) = path else {
        return Err(ApiError::offer_not_found());
    };
    match raw.parse::<i64>() {
        Ok(id) if id > 0 && raw.bytes().all(|b| b.is_ascii_digit()) => Ok(id),
        _ => Err(ApiError::offer_not_found()),
    }
}

fn partition(ids: Vec<String>, known: &HashSet<String>) -> (Vec<String>, Vec<String>) {
    ids.into_iter().partition(|id| known.contains(id))
}

async fn save_response(
    state: &AppState,
    project_id: i64,
    offer: &Offer,
) -> Result<SaveOfferResponse, ApiError> {
    let rooms = crate::store::dedup(
        offer
            .spec
            .audience
            .rooms
            .iter()
            .map(|r| r.as_str().to_owned()),
    );
    let users = crate::store::dedup(
        offer
            .spec
            .audience
            .users
            .iter()
            .map(|u| u.as_str().to_owned()),
    );
    let known_rooms = state
        .store()
        .known_among(project_id, IdKind::Room, &rooms)
        .await?;
    let known_users = state
        .store()
        .known_among(project_id, IdKind::User, &users)
        .await?;
    let (available_rooms, unavailable_rooms) = partition(rooms, &known_rooms);
    let (available_users, unavailable_users) = partition(users, &known_users);
    Ok(SaveOfferResponse {
        offer: PartnerOffer::from(offer),
        advertisement: None,
        available_external_room_ids: available_rooms,
        unavailable_external_room_ids: unavailable_rooms,
        available_external_user_ids: available_users,
        unavailable_external_user_ids: unavailable_users,
    })
}

/// List offers, newest first.
#[utoipa::path(
    get,
    path = "/external/offer",
    tag = "offers",
    params(
        ("limit" = Option<i64>, Query, description = "Page size: default 20, at most 100; 0 answers []"),
        ("offset" = Option<i64>, Query, description = "Offers to skip (default 0)"),
    ),
    responses(
        (status = 200, description = "A page of offers, newest first, each with its all-time `stats`", body = Vec<schemas::ListedOfferDoc>),
        (status = 400, description = "`limit` or `offset` negative or not a number", body = schemas::ErrorBodyDoc),
        (status = 401, description = "Missing or bad credentials", body = schemas::ErrorBodyDoc),
        (status = 429, description = "Rate limited", body = schemas::ErrorBodyDoc),
    ),
    security(("apiKey" = [], "bearer" = []))
)]
pub async fn list_offers(
    State(state): State<AppState>,
    AsViewer(caller): AsViewer,
    RawQuery(query): RawQuery,
) -> Result<Json<Vec<ListedOffer>>, ApiError> {
    let page = Page::from_query(query.as_deref())?;
    if page.limit == 0 {
        return Ok(Json(Vec::new()));
    }
    let offers = state
        .store()
        .list_offers(caller.project_id(), page.limit, page.offset)
        .await?;
    let ids: Vec<i64> = offers.iter().map(|o| o.id).collect();
    let totals = state
        .store()
        .offer_totals(caller.project_id(), &ids)
        .await?;
    Ok(Json(
        offers
            .iter()
            .map(|offer| ListedOffer {
                offer: PartnerOffer::from(offer),
                stats: StatsSummary::from(totals.get(&offer.id).copied().unwrap_or_default()),
            })
            .collect(),
    ))
}

/// Create an offer.
#[utoipa::path(
    post,
    path = "/external/offer",
    tag = "offers",
    request_body(
        description = "The offer. As multipart/form-data (the documented curl `--form` fields, every value a text part, \
            `templateData` a JSON string, id lists as repeated parts, a JSON array string or comma-separated), \
            application/x-www-form-urlencoded, or application/json (`templateData` an object or a string).",
        content(
            (schemas::OfferInputDoc = "multipart/form-data"),
            (schemas::OfferInputDoc = "application/x-www-form-urlencoded"),
            (schemas::OfferInputDoc = "application/json"),
        )
    ),
    responses(
        (status = 201, description = "Created", body = schemas::SaveOfferResponseDoc),
        (status = 400, description = "Malformed body", body = schemas::ErrorBodyDoc),
        (status = 401, description = "Missing or bad credentials", body = schemas::ErrorBodyDoc),
        (status = 403, description = "The token's role is below `owner`", body = schemas::ErrorBodyDoc),
        (status = 413, description = "Body over 1 MiB", body = schemas::ErrorBodyDoc),
        (status = 415, description = "No body or an unsupported content type", body = schemas::ErrorBodyDoc),
        (status = 422, description = "Invalid offer: every bad field in `error.fields`", body = schemas::ErrorBodyDoc),
        (status = 429, description = "Rate limited", body = schemas::ErrorBodyDoc),
    ),
    security(("apiKey" = [], "bearer" = []))
)]
pub async fn create_offer(
    State(state): State<AppState>,
    AsOwner(caller): AsOwner,
    OfferBody(draft): OfferBody,
) -> Result<(StatusCode, Json<SaveOfferResponse>), ApiError> {
    let spec = validate(&draft)?;
    let offer = state
        .store()
        .create_offer(caller.project_id(), &spec, Utc::now())
        .await?;
    state
        .live()
        .apply(&Change::offer(
            caller.project_id(),
            offer.id,
            ChangeOp::Created,
        ))
        .await;
    tracing::info!(
        project = caller.project_id(),
        offer = offer.id,
        "offer created"
    );
    let response = save_response(&state, caller.project_id(), &offer).await?;
    Ok((StatusCode::CREATED, Json(response)))
}

/// Get one offer.
#[utoipa::path(
    get,
    path = "/external/offer/{offerId}",
    tag = "offers",
    params(("offerId" = i64, Path, description = "The offer id")),
    responses(
        (status = 200, description = "The offer", body = schemas::PartnerOfferDoc),
        (status = 401, description = "Missing or bad credentials", body = schemas::ErrorBodyDoc),
        (status = 404, description = "No such offer in this project", body = schemas::ErrorBodyDoc),
    ),
    security(("apiKey" = [], "bearer" = []))
)]
pub async fn get_offer(
    State(state): State<AppState>,
    AsViewer(caller): AsViewer,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<PartnerOffer>, ApiError> {
    let id = offer_id(path)?;
    let offer = state
        .store()
        .get_offer(caller.project_id(), id)
        .await?
        .ok_or_else(ApiError::offer_not_found)?;
    Ok(Json(PartnerOffer::from(&offer)))
}

/// Merges a partial offer into the stored one and validates the whole.
///
/// When the patch changes the audience `type`, the stored id lists it does not send are
/// dropped (they belong to the old audience): a documented full-offer PATCH with
/// `type=GLOBAL` turns a ROOM offer into a GLOBAL one instead of failing on stale rooms.
pub fn apply_patch(
    current: &OfferSpec,
    patch: &OfferDraft,
) -> Result<OfferSpec, offers_core::FieldErrors> {
    let mut base = OfferDraft::from(current);
    let new_kind = patch
        .kind
        .as_ref()
        .and_then(serde_json::Value::as_str)
        .and_then(|s| AudienceType::parse(s).ok());
    if new_kind.is_some_and(|kind| kind != current.audience.kind) {
        if patch.external_room_ids.is_none() {
            base.external_room_ids = None;
        }
        if patch.external_user_ids.is_none() {
            base.external_user_ids = None;
        }
    }
    validate(&base.overlay(patch.clone()))
}

/// Update an offer: only the fields sent change; the result is validated as a whole.
#[utoipa::path(
    patch,
    path = "/external/offer/{offerId}",
    tag = "offers",
    params(("offerId" = i64, Path, description = "The offer id")),
    request_body(
        description = "Any subset of the offer's fields, in the same encodings as create. \
            A JSON `null` clears an optional field (e.g. `endTime`).",
        content(
            (schemas::OfferInputDoc = "multipart/form-data"),
            (schemas::OfferInputDoc = "application/x-www-form-urlencoded"),
            (schemas::OfferInputDoc = "application/json"),
        )
    ),
    responses(
        (status = 200, description = "Updated", body = schemas::SaveOfferResponseDoc),
        (status = 400, description = "Malformed body", body = schemas::ErrorBodyDoc),
        (status = 401, description = "Missing or bad credentials", body = schemas::ErrorBodyDoc),
        (status = 403, description = "The token's role is below `editor`", body = schemas::ErrorBodyDoc),
        (status = 404, description = "No such offer in this project", body = schemas::ErrorBodyDoc),
        (status = 413, description = "Body over 1 MiB", body = schemas::ErrorBodyDoc),
        (status = 415, description = "No body or an unsupported content type", body = schemas::ErrorBodyDoc),
        (status = 422, description = "The merged offer is invalid; nothing was written", body = schemas::ErrorBodyDoc),
    ),
    security(("apiKey" = [], "bearer" = []))
)]
pub async fn update_offer(
    State(state): State<AppState>,
    AsEditor(caller): AsEditor,
    path: Result<Path<String>, PathRejection>,
    OfferBody(patch): OfferBody,
) -> Result<Json<SaveOfferResponse>, ApiError> {
    let id = offer_id(path)?;
    let apply = move |current: &Offer| apply_patch(&current.spec, &patch);
    match state
        .store()
        .update_offer(caller.project_id(), id, &apply, Utc::now())
        .await?
    {
        UpdateOutcome::NotFound => Err(ApiError::offer_not_found()),
        UpdateOutcome::Invalid(errors) => Err(errors.into()),
        UpdateOutcome::Updated(offer) => {
            state
                .live()
                .apply(&Change::offer(
                    caller.project_id(),
                    offer.id,
                    ChangeOp::Updated,
                ))
                .await;
            tracing::info!(
                project = caller.project_id(),
                offer = offer.id,
                "offer updated"
            );
            let mut response = save_response(&state, caller.project_id(), &offer).await?;
            response.advertisement = Some(response.offer.clone());
            Ok(Json(response))
        }
    }
}

/// Delete an offer.
#[utoipa::path(
    delete,
    path = "/external/offer/{offerId}",
    tag = "offers",
    params(("offerId" = i64, Path, description = "The offer id")),
    responses(
        (status = 200, description = "Deleted: the body is `true`", body = bool, example = json!(true)),
        (status = 401, description = "Missing or bad credentials", body = schemas::ErrorBodyDoc),
        (status = 403, description = "The token's role is below `owner`", body = schemas::ErrorBodyDoc),
        (status = 404, description = "No such offer in this project", body = schemas::ErrorBodyDoc),
    ),
    security(("apiKey" = [], "bearer" = []))
)]
pub async fn delete_offer(
    State(state): State<AppState>,
    AsOwner(caller): AsOwner,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<bool>, ApiError> {
    let id = offer_id(path)?;
    if state.store().delete_offer(caller.project_id(), id).await? {
        state
            .live()
            .apply(&Change::offer(caller.project_id(), id, ChangeOp::Deleted))
            .await;
        tracing::info!(project = caller.project_id(), offer = id, "offer deleted");
        Ok(Json(true))
    } else {
        Err(ApiError::offer_not_found())
    }
}
