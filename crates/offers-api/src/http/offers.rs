//! `/external/offer`: the partner CRUD, wire-compatible with the documented Marketing Offers API.

use std::collections::HashSet;

use axum::Json;
use axum::Router;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::routing::get;
use chrono::Utc;
use offers_core::api::{Advertisement, ErrorBody, ListedOffer, SaveOfferResponse, StatsSummary};
use offers_core::{
    AudienceType, Offer, OfferDraft, OfferSpec, PartnerOffer, ScheduleStatus, validate,
};

use crate::bus::{Change, ChangeOp};
use crate::error::ApiError;
use crate::http::access::Access;
use crate::http::body::{OfferBody, Page, query_param};
use crate::state::AppState;
use crate::store::{IdKind, OfferFilter, UpdateOutcome};

/// The routes of this resource.
pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/external/offer", get(list_offers).post(create_offer))
        .route(
            "/external/offer/{offerId}",
            get(get_offer).patch(update_offer).delete(delete_offer),
        )
}

/// An offer id from the path: anything but a positive integer is the same 404 as an unknown id.
pub(crate) fn offer_id(path: Result<Path<String>, PathRejection>) -> Result<i64, ApiError> {
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

/// The warning about ids of `kind` (`room`, `user`) the project has not seen, if any.
fn unknown_id_messages(kind: &str, unknown: &[String]) -> Option<String> {
    let list = match unknown {
        [] => return None,
        [one] => format!("{kind} `{one}` is"),
        many => format!(
            "{kind}s {} are",
            many.iter()
                .map(|id| format!("`{id}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    Some(format!(
        "{list} not known to the project yet (no visitor entered and it was not registered): \
         the offer is stored and shows once a visitor enters"
    ))
}

/// The warning about the picture's proportions, when it is an image uploaded here (whose
/// size the server knows) that does not suit the template. Pictures hosted elsewhere are not
/// fetched.
async fn image_message(state: &AppState, offer: &Offer) -> Option<String> {
    let pic = offer.spec.pic.as_ref()?;
    let name = pic.as_str().rsplit_once("/media/")?.1;
    crate::media::parse_object_name(name)?;
    let stored = state.media().get(name).await.ok()??;
    let bytes = stored.bytes().await.ok()?;
    let info = crate::media::inspect(&bytes).ok()?;
    offer
        .spec
        .template
        .proportion_warning(info.width, info.height)
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
    let messages = unknown_id_messages("room", &unavailable_rooms)
        .into_iter()
        .chain(unknown_id_messages("user", &unavailable_users))
        .chain(image_message(state, offer).await)
        .collect();
    Ok(SaveOfferResponse {
        offer: PartnerOffer::from(offer),
        advertisement: Advertisement::new(offer, Utc::now(), messages),
        available_external_room_ids: available_rooms,
        unavailable_external_room_ids: unavailable_rooms,
        available_external_user_ids: available_users,
        unavailable_external_user_ids: unavailable_users,
    })
}

/// The segment references of `spec` that name no segment of the project (`known`), as field
/// errors (`segmentIds[i]`, `excludeSegmentIds[i]`).
pub(crate) fn check_segments(
    spec: &OfferSpec,
    known: &HashSet<i64>,
) -> Result<(), offers_core::FieldErrors> {
    let mut errors = offers_core::FieldErrors::new();
    for (field, ids) in [
        ("segmentIds", &spec.segment_ids),
        ("excludeSegmentIds", &spec.exclude_segment_ids),
    ] {
        for (i, id) in ids.iter().enumerate() {
            if !known.contains(id) {
                errors.insert(
                    format!("{field}[{i}]"),
                    format!("no segment {id} in this project"),
                );
            }
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

/// `tag` and `status` of the offer list.
fn offer_filter(query: Option<&str>) -> Result<OfferFilter, ApiError> {
    let tag = match query_param(query, "tag") {
        Some(raw) => Some(
            offers_core::profile::ProfileTag::parse(&raw)
                .map_err(|reason| ApiError::bad_param("tag", reason))?
                .as_str()
                .to_owned(),
        ),
        None => None,
    };
    let status = match query_param(query, "status") {
        None => None,
        Some(raw) => {
            let status = match raw.trim().to_ascii_lowercase().as_str() {
                "scheduled" => ScheduleStatus::Scheduled,
                "live" => ScheduleStatus::Live,
                "ended" => ScheduleStatus::Ended,
                _ => {
                    return Err(ApiError::bad_param(
                        "status",
                        "must be scheduled, live or ended",
                    ));
                }
            };
            Some((status, Utc::now()))
        }
    };
    Ok(OfferFilter { tag, status })
}

/// List offers, newest first.
#[utoipa::path(
    get,
    path = "/external/offer",
    tag = "offers",
    params(
        ("limit" = Option<i64>, Query, description = "Page size: default 20, at most 100; 0 answers []"),
        ("offset" = Option<i64>, Query, description = "Offers to skip (default 0)"),
        ("tag" = Option<String>, Query, description = "Only offers with this tag"),
        ("status" = Option<String>, Query, description = "Only offers that are `scheduled`, `live` or `ended` now"),
    ),
    responses(
        (status = 200, description = "A page of offers, newest first, each with its all-time `stats`", body = Vec<ListedOffer>),
        (status = 400, description = "`limit` or `offset` negative or not a number", body = ErrorBody),
        (status = 401, description = "Missing or bad credentials", body = ErrorBody),
        (status = 429, description = "Rate limited", body = ErrorBody),
    ),
    security(("apiKey" = [], "bearer" = []))
)]
pub(crate) async fn list_offers(
    State(state): State<AppState>,
    Access(caller): Access,
    RawQuery(query): RawQuery,
) -> Result<Json<Vec<ListedOffer>>, ApiError> {
    let page = Page::from_query(query.as_deref())?;
    let filter = offer_filter(query.as_deref())?;
    if page.limit == 0 {
        return Ok(Json(Vec::new()));
    }
    let offers = state
        .store()
        .list_offers(caller.project_id(), &filter, page.limit, page.offset)
        .await?;
    let ids: Vec<i64> = offers.iter().map(|o| o.id).collect();
    let totals = state
        .store()
        .offer_totals(caller.project_id(), &ids)
        .await?;
    let conversions = state
        .store()
        .conversion_totals(caller.project_id(), &ids)
        .await?;
    Ok(Json(
        offers
            .iter()
            .map(|offer| ListedOffer {
                offer: PartnerOffer::from(offer),
                stats: {
                    let t = totals.get(&offer.id).copied().unwrap_or_default();
                    let c = conversions.get(&offer.id).copied().unwrap_or_default();
                    StatsSummary::new(t.impressions, t.clicks, t.closes, t.unique_users)
                        .with_conversions(c.conversions, c.value)
                },
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
            (OfferDraft = "multipart/form-data"),
            (OfferDraft = "application/x-www-form-urlencoded"),
            (OfferDraft = "application/json"),
        )
    ),
    responses(
        (status = 201, description = "Created", body = SaveOfferResponse),
        (status = 400, description = "Malformed body", body = ErrorBody),
        (status = 401, description = "Missing or bad credentials", body = ErrorBody),
        (status = 403, description = "The token's role is below `owner`", body = ErrorBody),
        (status = 413, description = "Body over 1 MiB", body = ErrorBody),
        (status = 415, description = "No body or an unsupported content type", body = ErrorBody),
        (status = 422, description = "Invalid offer: every bad field in `error.fields`", body = ErrorBody),
        (status = 429, description = "Rate limited", body = ErrorBody),
    ),
    security(("apiKey" = [], "bearer" = []))
)]
pub(crate) async fn create_offer(
    State(state): State<AppState>,
    Access(caller): Access,
    OfferBody(draft): OfferBody,
) -> Result<(StatusCode, Json<SaveOfferResponse>), ApiError> {
    let spec = validate(&draft)?;
    check_segments(
        &spec,
        &state.store().segment_ids(caller.project_id()).await?,
    )?;
    let offer = state
        .store()
        .create_offer(&caller.actor, caller.project_id(), &spec, Utc::now())
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
        (status = 200, description = "The offer", body = PartnerOffer),
        (status = 401, description = "Missing or bad credentials", body = ErrorBody),
        (status = 404, description = "No such offer in this project", body = ErrorBody),
    ),
    security(("apiKey" = [], "bearer" = []))
)]
pub(crate) async fn get_offer(
    State(state): State<AppState>,
    Access(caller): Access,
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
pub(crate) fn apply_patch(
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
            (OfferDraft = "multipart/form-data"),
            (OfferDraft = "application/x-www-form-urlencoded"),
            (OfferDraft = "application/json"),
        )
    ),
    responses(
        (status = 200, description = "Updated", body = SaveOfferResponse),
        (status = 400, description = "Malformed body", body = ErrorBody),
        (status = 401, description = "Missing or bad credentials", body = ErrorBody),
        (status = 403, description = "The token's role is below `editor`", body = ErrorBody),
        (status = 404, description = "No such offer in this project", body = ErrorBody),
        (status = 413, description = "Body over 1 MiB", body = ErrorBody),
        (status = 415, description = "No body or an unsupported content type", body = ErrorBody),
        (status = 422, description = "The merged offer is invalid; nothing was written", body = ErrorBody),
    ),
    security(("apiKey" = [], "bearer" = []))
)]
pub(crate) async fn update_offer(
    State(state): State<AppState>,
    Access(caller): Access,
    path: Result<Path<String>, PathRejection>,
    OfferBody(patch): OfferBody,
) -> Result<Json<SaveOfferResponse>, ApiError> {
    let id = offer_id(path)?;
    let segments = state.store().segment_ids(caller.project_id()).await?;
    let apply = move |current: &Offer| {
        let spec = apply_patch(&current.spec, &patch)?;
        check_segments(&spec, &segments)?;
        Ok(spec)
    };
    match state
        .store()
        .update_offer(&caller.actor, caller.project_id(), id, &apply, Utc::now())
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
            let response = save_response(&state, caller.project_id(), &offer).await?;
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
        (status = 200, description = "Deleted: the body is `true`", body = bool, content_type = "application/json", example = json!(true)),
        (status = 401, description = "Missing or bad credentials", body = ErrorBody),
        (status = 403, description = "The token's role is below `owner`", body = ErrorBody),
        (status = 404, description = "No such offer in this project", body = ErrorBody),
    ),
    security(("apiKey" = [], "bearer" = []))
)]
pub(crate) async fn delete_offer(
    State(state): State<AppState>,
    Access(caller): Access,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<bool>, ApiError> {
    let id = offer_id(path)?;
    if state
        .store()
        .delete_offer(&caller.actor, caller.project_id(), id, Utc::now())
        .await?
    {
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
