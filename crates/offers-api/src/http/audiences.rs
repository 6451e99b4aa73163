//! Audiences (SPEC §7): user profiles (`/external/user/{id}`, `/external/user`, bulk
//! `POST /external/users`), segments (`/external/segment…`) and test sends
//! (`POST /external/offer/{id}/test`). Every rule (what a valid profile or segment is, who is in
//! a segment) is `offers-core`'s; this module parses, stores and answers.

use axum::body::Bytes;
use axum::extract::rejection::PathRejection;
use axum::extract::{DefaultBodyLimit, FromRequest, Path, RawQuery, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::Utc;
use offers_core::ExternalId;
use offers_core::api::{self, ErrorBody};
use offers_core::profile::{
    BulkProfiles, Profile, parse_profiles_csv, parse_profiles_json_elements,
};
use offers_core::segment::{SegmentDef, SegmentSpec};
use serde_json::Value;
use serde_json::value::RawValue;

use crate::audience::TEST_SEND_FOR;
use crate::bus::Change;
use crate::error::ApiError;
use crate::http::access::Access;
use crate::http::body::{
    BodyKind, Page, RawBody, body_kind, media_type, parse_json, query_param, read_body,
};
use crate::http::offers::offer_id;
use crate::http::registry::{ids_from_raw, register};
use crate::state::AppState;
use crate::store::IdKind;
use crate::store::audience::{
    SegmentDelete, SegmentUpdate, StoredProfile, StoredSegment, TestSend,
};

/// The routes of this resource.
pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/external/user", get(list_profiles))
        .route(
            "/external/user/{externalUserId}",
            get(get_profile).put(put_profile).delete(delete_profile),
        )
        .route(
            "/external/segment",
            get(list_segments)
                .post(create_segment)
                .layer(DefaultBodyLimit::max(BULK_BODY_LIMIT)),
        )
        .route(
            "/external/segment/{segmentId}",
            get(get_segment)
                .patch(update_segment)
                .delete(delete_segment)
                .layer(DefaultBodyLimit::max(BULK_BODY_LIMIT)),
        )
        .route("/external/segment/{segmentId}/count", get(count_segment))
        .route("/external/segment/count", post(count_definition))
        .route("/external/offer/{offerId}/test", post(test_send))
}

/// The body limit of the bulk calls (`POST /external/users`, segments with `userIds`): room for
/// 100,000 profiles or ids (the per-call maximum), far beyond the 1 MiB of other bodies.
pub(crate) const BULK_BODY_LIMIT: usize = 64 * 1024 * 1024;

/// A body over [`BULK_BODY_LIMIT`] on the routes that have it is named with that limit (not
/// the default one).
fn bulk_limit(error: ApiError) -> ApiError {
    match error {
        ApiError::PayloadTooLarge { .. } => ApiError::PayloadTooLarge {
            limit: BULK_BODY_LIMIT,
        },
        other => other,
    }
}

/// Reads a JSON body of a route with the bulk limit.
async fn bulk_json_body(req: Request, state: &AppState) -> Result<Value, ApiError> {
    json_body(req, state).await.map_err(bulk_limit)
}

/// A user id from the path (400 naming `externalUserId` when it is not a valid id).
fn user_id(path: Result<Path<String>, PathRejection>) -> Result<ExternalId, ApiError> {
    let Ok(Path(raw)) = path else {
        return Err(ApiError::bad_param("externalUserId", "required"));
    };
    ExternalId::parse(&raw).map_err(|reason| ApiError::bad_param("externalUserId", reason))
}

/// A segment id from the path: anything but a positive integer is the same 404 as an unknown id.
fn segment_id(path: Result<Path<String>, PathRejection>) -> Result<i64, ApiError> {
    let not_found = || ApiError::NotFound("no segment with this id in this project".into());
    let Ok(Path(raw)) = path else {
        return Err(not_found());
    };
    match raw.parse::<i64>() {
        Ok(id) if id > 0 && raw.bytes().all(|b| b.is_ascii_digit()) => Ok(id),
        _ => Err(not_found()),
    }
}

fn segment_not_found() -> ApiError {
    ApiError::NotFound("no segment with this id in this project".into())
}

/// A profile as answered.
fn stored_profile(stored: StoredProfile) -> Result<api::StoredProfile, ApiError> {
    let id = ExternalId::parse(&stored.user_id)
        .map_err(|e| ApiError::Internal(format!("stored profile id {}: {e}", stored.user_id)))?;
    Ok(api::StoredProfile::new(
        id,
        stored.profile,
        stored.updated_at,
    ))
}

/// A segment as answered; a list's ids only `with_ids` (its `userCount` always).
fn segment_answer(stored: &StoredSegment, with_ids: bool) -> api::Segment {
    let mut answer = api::Segment::new(
        stored.id,
        &stored.spec,
        stored.created_at,
        stored.updated_at,
    );
    if let Some(n) = stored.members {
        answer.user_count = Some(n.max(0) as u64);
        if !with_ids {
            answer.user_ids = None;
        }
    }
    answer
}

/// Reads a JSON body (the only encoding of these resources).
async fn json_body(req: Request, state: &AppState) -> Result<Value, ApiError> {
    match read_body(req, state, false, "application/json").await? {
        RawBody::Json(value) => Ok(value),
        _ => Err(ApiError::UnsupportedMediaType(
            "send the body as application/json".into(),
        )),
    }
}

/// Create or replace a user's profile.
#[utoipa::path(
    put,
    path = "/external/user/{externalUserId}",
    tag = "audiences",
    params(("externalUserId" = String, Path, description = "The user's id")),
    request_body(content = offers_core::profile::Profile, content_type = "application/json",
        description = "`{\"language\": \"de\", \"tags\": [\"vip\"], \"attributes\": {\"firstName\": \"Ana\", \"points\": 1200}}`; \
            every field optional; replaces the stored profile"),
    responses(
        (status = 200, description = "The stored profile", body = api::StoredProfile),
        (status = 400, description = "Malformed JSON or a bad user id", body = ErrorBody),
        (status = 401, description = "Missing or bad credentials", body = ErrorBody),
        (status = 403, description = "The token's role is below `editor`", body = ErrorBody),
        (status = 415, description = "Not JSON", body = ErrorBody),
        (status = 422, description = "An invalid field (`language`, `tags[i]`, `attributes.<key>`, unknown fields)", body = ErrorBody),
    ),
    security(("apiKey" = [], "bearer" = []))
)]
pub(crate) async fn put_profile(
    State(state): State<AppState>,
    Access(caller): Access,
    path: Result<Path<String>, PathRejection>,
    req: Request,
) -> Result<Json<api::StoredProfile>, ApiError> {
    let user = user_id(path)?;
    let value = json_body(req, &state).await?;
    let profile = Profile::parse(&value)?;
    let project = caller.project_id();
    let stored = state
        .store()
        .put_profile(project, user.as_str(), &profile, Utc::now())
        .await?;
    state
        .live()
        .apply(&Change::profile(project, Some(user.as_str())))
        .await;
    Ok(Json(stored_profile(stored)?))
}

/// A user's profile.
#[utoipa::path(
    get,
    path = "/external/user/{externalUserId}",
    tag = "audiences",
    params(("externalUserId" = String, Path, description = "The user's id")),
    responses(
        (status = 200, description = "The stored profile", body = api::StoredProfile),
        (status = 400, description = "A bad user id", body = ErrorBody),
        (status = 401, description = "Missing or bad credentials", body = ErrorBody),
        (status = 404, description = "No profile for this user", body = ErrorBody),
    ),
    security(("apiKey" = [], "bearer" = []))
)]
pub(crate) async fn get_profile(
    State(state): State<AppState>,
    Access(caller): Access,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<api::StoredProfile>, ApiError> {
    let user = user_id(path)?;
    let stored = state
        .store()
        .get_profile(caller.project_id(), user.as_str())
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no profile for user `{}`", user.as_str())))?;
    Ok(Json(stored_profile(stored)?))
}

/// Delete a user's profile (the user stays known).
#[utoipa::path(
    delete,
    path = "/external/user/{externalUserId}",
    tag = "audiences",
    params(("externalUserId" = String, Path, description = "The user's id")),
    responses(
        (status = 200, description = "Deleted", body = bool, content_type = "application/json", example = json!(true)),
        (status = 400, description = "A bad user id", body = ErrorBody),
        (status = 401, description = "Missing or bad credentials", body = ErrorBody),
        (status = 403, description = "The token's role is below `editor`", body = ErrorBody),
        (status = 404, description = "No profile for this user", body = ErrorBody),
    ),
    security(("apiKey" = [], "bearer" = []))
)]
pub(crate) async fn delete_profile(
    State(state): State<AppState>,
    Access(caller): Access,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<bool>, ApiError> {
    let user = user_id(path)?;
    let project = caller.project_id();
    if !state.store().delete_profile(project, user.as_str()).await? {
        return Err(ApiError::NotFound(format!(
            "no profile for user `{}`",
            user.as_str()
        )));
    }
    state
        .live()
        .apply(&Change::profile(project, Some(user.as_str())))
        .await;
    Ok(Json(true))
}

/// A page of profiles, by user id.
#[utoipa::path(
    get,
    path = "/external/user",
    tag = "audiences",
    params(
        ("limit" = Option<i64>, Query, description = "Page size: default 20, at most 100"),
        ("offset" = Option<i64>, Query, description = "Profiles to skip (default 0)"),
        ("tag" = Option<String>, Query, description = "Only profiles with this tag"),
    ),
    responses(
        (status = 200, description = "`{\"profiles\": [...], \"total\", \"limit\", \"offset\"}`", body = api::ProfilePage),
        (status = 400, description = "Bad `limit`, `offset` or `tag`", body = ErrorBody),
        (status = 401, description = "Missing or bad credentials", body = ErrorBody),
    ),
    security(("apiKey" = [], "bearer" = []))
)]
pub(crate) async fn list_profiles(
    State(state): State<AppState>,
    Access(caller): Access,
    RawQuery(query): RawQuery,
) -> Result<Json<api::ProfilePage>, ApiError> {
    let page = Page::from_query(query.as_deref())?;
    let tag = match query_param(query.as_deref(), "tag") {
        Some(raw) => Some(
            offers_core::profile::ProfileTag::parse(&raw)
                .map_err(|reason| ApiError::bad_param("tag", reason))?,
        ),
        None => None,
    };
    let found = state
        .store()
        .list_profiles(
            caller.project_id(),
            tag.as_ref().map(|t| t.as_str()),
            page.limit,
            page.offset,
        )
        .await?;
    Ok(Json(api::ProfilePage {
        profiles: found
            .profiles
            .into_iter()
            .map(stored_profile)
            .collect::<Result<_, _>>()?,
        total: found.total,
    }))
}

/// Whether a CSV upload is a profile table (a header naming more than the id column) rather
/// than a plain list of ids (seed 001's one-column file, registered as known users).
fn is_profile_csv(text: &str) -> bool {
    let header = text
        .trim_start_matches('\u{feff}')
        .lines()
        .next()
        .unwrap_or_default();
    let first = header
        .split(',')
        .next()
        .unwrap_or_default()
        .trim()
        .trim_matches('"');
    header.contains(',') && first.eq_ignore_ascii_case("id")
}

/// What a `POST /external/users` body holds.
enum UsersBody {
    /// Profiles to upsert (a JSON array of objects, or a CSV with profile columns).
    Profiles(BulkProfiles),
    /// Ids to register as known (`{"ids": [...]}`, an array of strings, a one-column CSV).
    Ids(RawBody),
}

/// Reads a `POST /external/users` body. A JSON array of objects is read element by element
/// (never as one `Value` tree: a 100,000-row body would be many times its size in memory).
async fn users_body(req: Request, state: &AppState) -> Result<UsersBody, ApiError> {
    if media_type(&req).as_deref().and_then(body_kind) == Some(BodyKind::Json) {
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(ApiError::from)
            .map_err(bulk_limit)?;
        if let Some(items) = profile_elements(&bytes) {
            return Ok(UsersBody::Profiles(parse_profiles_json_elements(&items)?));
        }
        return Ok(UsersBody::Ids(RawBody::Json(parse_json(&bytes)?)));
    }
    let raw = read_body(req, state, true, crate::http::registry::ACCEPTED)
        .await
        .map_err(bulk_limit)?;
    match raw {
        RawBody::Text(text) if is_profile_csv(&text) => {
            Ok(UsersBody::Profiles(parse_profiles_csv(text.as_bytes())?))
        }
        RawBody::Fields(fields) => {
            // A multipart upload: one CSV file part with profile columns is a profile table.
            let csv = fields.iter().find(|(name, value)| {
                !matches!(name.as_str(), "ids" | "ids[]") && is_profile_csv(value)
            });
            match csv {
                Some((_, text)) => Ok(UsersBody::Profiles(parse_profiles_csv(text.as_bytes())?)),
                None => Ok(UsersBody::Ids(RawBody::Fields(fields))),
            }
        }
        other => Ok(UsersBody::Ids(other)),
    }
}

/// The elements of a JSON array whose first element is an object (a profile upsert), each as
/// its unparsed text; `None` for anything else (ids, or a body that is not valid JSON, which
/// the whole-body reader then names precisely).
fn profile_elements(bytes: &[u8]) -> Option<Vec<&RawValue>> {
    let text = std::str::from_utf8(bytes).ok()?;
    let items: Vec<&RawValue> = serde_json::from_str(text).ok()?;
    items
        .first()
        .is_some_and(|first| first.get().starts_with('{'))
        .then_some(items)
}

/// Upsert profiles in bulk, or register user ids as known.
#[utoipa::path(
    post,
    path = "/external/users",
    tag = "audiences",
    request_body(description = "Profiles: a JSON array of `{\"id\", \"language\", \"tags\", \"attributes\"}`, or a CSV file \
            (UTF-8, a header row naming the columns, `id` first; `language`; `tags` separated by `|`; any other column an attribute), \
            as `text/csv` or a multipart file part. Ids only: `{\"ids\": [...]}`, an array of strings, or a one-column CSV.",
        content(
            (Vec<api::ProfileRowInput> = "application/json"),
            ("text/csv"),
            ("multipart/form-data"),
        )),
    responses(
        (status = 200, description = "Profiles: `{\"upserted\": N, \"rejected\": [{\"line\", \"reason\"}]}` (a bad row never stops the good ones). \
            Ids: the registration counts.", body = api::UsersAnswer),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 401, description = "Missing or bad credentials", body = ErrorBody),
        (status = 403, description = "The token's role is below `editor`", body = ErrorBody),
        (status = 413, description = "The body is too large", body = ErrorBody),
        (status = 415, description = "Not JSON, CSV or multipart", body = ErrorBody),
        (status = 422, description = "Not an array, a bad CSV header, too many rows, or an invalid id (`ids[i]`)", body = ErrorBody),
    ),
    security(("apiKey" = [], "bearer" = []))
)]
pub(crate) async fn post_users(
    State(state): State<AppState>,
    Access(caller): Access,
    req: Request,
) -> Result<Response, ApiError> {
    let project = caller.project_id();
    match users_body(req, &state).await? {
        UsersBody::Ids(raw) => {
            let ids = ids_from_raw(raw)?;
            Ok(register(&state, project, IdKind::User, &ids)
                .await?
                .into_response())
        }
        UsersBody::Profiles(bulk) => {
            let upserted = state
                .store()
                .upsert_profiles(&caller.actor, project, &bulk.rows, Utc::now())
                .await?;
            if upserted > 0 {
                state.live().apply(&Change::profile(project, None)).await;
            }
            tracing::info!(
                project,
                upserted,
                rejected = bulk.rejected.len(),
                "profiles upserted"
            );
            Ok(Json(api::BulkUpsertResponse {
                upserted,
                rejected: bulk.rejected,
            })
            .into_response())
        }
    }
}

/// Create a segment.
#[utoipa::path(
    post,
    path = "/external/segment",
    tag = "audiences",
    request_body(content = api::SegmentInput, content_type = "application/json",
        description = "Rules: `{\"name\", \"match\": \"all\"|\"any\", \"conditions\": [{\"field\", \"op\", \"value\"}]}`; \
            a list: `{\"name\", \"userIds\": [...]}`"),
    responses(
        (status = 201, description = "The segment", body = api::Segment),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 401, description = "Missing or bad credentials", body = ErrorBody),
        (status = 403, description = "The token's role is below `editor`", body = ErrorBody),
        (status = 415, description = "Not JSON", body = ErrorBody),
        (status = 422, description = "An invalid field (`name`, `match`, `conditions[i].op`, …)", body = ErrorBody),
    ),
    security(("apiKey" = [], "bearer" = []))
)]
pub(crate) async fn create_segment(
    State(state): State<AppState>,
    Access(caller): Access,
    req: Request,
) -> Result<(StatusCode, Json<api::Segment>), ApiError> {
    let value = bulk_json_body(req, &state).await?;
    let spec = SegmentSpec::parse(&value)?;
    let project = caller.project_id();
    let stored = state
        .store()
        .create_segment(&caller.actor, project, &spec, Utc::now())
        .await?;
    state
        .live()
        .apply(&Change::segment(project, stored.id))
        .await;
    Ok((StatusCode::CREATED, Json(segment_answer(&stored, true))))
}

/// The project's segments (lists with their `userCount`, without their ids).
#[utoipa::path(
    get,
    path = "/external/segment",
    tag = "audiences",
    responses(
        (status = 200, description = "Every segment, by id", body = Vec<api::Segment>),
        (status = 401, description = "Missing or bad credentials", body = ErrorBody),
    ),
    security(("apiKey" = [], "bearer" = []))
)]
pub(crate) async fn list_segments(
    State(state): State<AppState>,
    Access(caller): Access,
) -> Result<Json<Vec<api::Segment>>, ApiError> {
    let segments = state.store().list_segments(caller.project_id()).await?;
    Ok(Json(
        segments.iter().map(|s| segment_answer(s, false)).collect(),
    ))
}

/// One segment (a list with its ids).
#[utoipa::path(
    get,
    path = "/external/segment/{segmentId}",
    tag = "audiences",
    params(("segmentId" = i64, Path, description = "The segment id")),
    responses(
        (status = 200, description = "The segment", body = api::Segment),
        (status = 401, description = "Missing or bad credentials", body = ErrorBody),
        (status = 404, description = "No such segment in this project", body = ErrorBody),
    ),
    security(("apiKey" = [], "bearer" = []))
)]
pub(crate) async fn get_segment(
    State(state): State<AppState>,
    Access(caller): Access,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<api::Segment>, ApiError> {
    let id = segment_id(path)?;
    let stored = state
        .store()
        .get_segment(caller.project_id(), id)
        .await?
        .ok_or_else(segment_not_found)?;
    Ok(Json(segment_answer(&stored, true)))
}

/// Change a segment: any subset of `name`, `match`, `conditions`, `userIds`.
#[utoipa::path(
    patch,
    path = "/external/segment/{segmentId}",
    tag = "audiences",
    params(("segmentId" = i64, Path, description = "The segment id")),
    request_body(content = api::SegmentInput, content_type = "application/json"),
    responses(
        (status = 200, description = "The segment", body = api::Segment),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 401, description = "Missing or bad credentials", body = ErrorBody),
        (status = 403, description = "The token's role is below `editor`", body = ErrorBody),
        (status = 404, description = "No such segment in this project", body = ErrorBody),
        (status = 415, description = "Not JSON", body = ErrorBody),
        (status = 422, description = "An invalid field", body = ErrorBody),
    ),
    security(("apiKey" = [], "bearer" = []))
)]
pub(crate) async fn update_segment(
    State(state): State<AppState>,
    Access(caller): Access,
    path: Result<Path<String>, PathRejection>,
    req: Request,
) -> Result<Json<api::Segment>, ApiError> {
    let id = segment_id(path)?;
    let patch = bulk_json_body(req, &state).await?;
    let project = caller.project_id();
    let apply = move |stored: &SegmentSpec| SegmentSpec::patch(stored, &patch);
    match state
        .store()
        .update_segment(&caller.actor, project, id, &apply, Utc::now())
        .await?
    {
        SegmentUpdate::NotFound => Err(segment_not_found()),
        SegmentUpdate::Invalid(errors) => Err(errors.into()),
        SegmentUpdate::Updated(stored) => {
            state.live().apply(&Change::segment(project, id)).await;
            Ok(Json(segment_answer(&stored, true)))
        }
    }
}

/// Delete a segment no offer uses.
#[utoipa::path(
    delete,
    path = "/external/segment/{segmentId}",
    tag = "audiences",
    params(("segmentId" = i64, Path, description = "The segment id")),
    responses(
        (status = 200, description = "Deleted", body = bool, content_type = "application/json", example = json!(true)),
        (status = 401, description = "Missing or bad credentials", body = ErrorBody),
        (status = 403, description = "The token's role is below `editor`", body = ErrorBody),
        (status = 404, description = "No such segment in this project", body = ErrorBody),
        (status = 409, description = "Offers use it (named in the message)", body = ErrorBody),
    ),
    security(("apiKey" = [], "bearer" = []))
)]
pub(crate) async fn delete_segment(
    State(state): State<AppState>,
    Access(caller): Access,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<bool>, ApiError> {
    let id = segment_id(path)?;
    let project = caller.project_id();
    match state
        .store()
        .delete_segment(&caller.actor, project, id, Utc::now())
        .await?
    {
        SegmentDelete::NotFound => Err(segment_not_found()),
        SegmentDelete::InUse(offers) => {
            let list: Vec<String> = offers.iter().map(|o| format!("offer {o}")).collect();
            Err(ApiError::Conflict(format!(
                "segment {id} is used by {}: remove it from them first",
                list.join(", ")
            )))
        }
        SegmentDelete::Deleted => {
            state.live().apply(&Change::segment(project, id)).await;
            Ok(Json(true))
        }
    }
}

/// How many known users are in a segment.
#[utoipa::path(
    get,
    path = "/external/segment/{segmentId}/count",
    tag = "audiences",
    params(("segmentId" = i64, Path, description = "The segment id")),
    responses(
        (status = 200, description = "`{\"users\": N}` over the project's known users", body = api::SegmentCount),
        (status = 401, description = "Missing or bad credentials", body = ErrorBody),
        (status = 404, description = "No such segment in this project", body = ErrorBody),
    ),
    security(("apiKey" = [], "bearer" = []))
)]
pub(crate) async fn count_segment(
    State(state): State<AppState>,
    Access(caller): Access,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<api::SegmentCount>, ApiError> {
    let id = segment_id(path)?;
    let project = caller.project_id();
    let segments = state.store().list_segments(project).await?;
    let segment = segments
        .into_iter()
        .find(|s| s.id == id)
        .ok_or_else(segment_not_found)?;
    Ok(Json(
        count(&state, project, &segment.spec.def, Some(id)).await?,
    ))
}

/// How many known users a definition holds: a stored list's members (`list`), a typed list's
/// known users, or the profiles a rule set matches.
async fn count(
    state: &AppState,
    project: i64,
    def: &SegmentDef,
    list: Option<i64>,
) -> Result<api::SegmentCount, ApiError> {
    let users = match (def, list) {
        (SegmentDef::List(_), Some(id)) => state.store().count_list_members(project, id).await?,
        (SegmentDef::List(ids), None) => {
            let ids: Vec<String> = crate::store::dedup(ids.iter().map(|i| i.as_str().to_owned()));
            state
                .store()
                .known_among(project, IdKind::User, &ids)
                .await?
                .len() as i64
        }
        (SegmentDef::Rules(rules), _) => {
            let filter =
                |profile: &Profile| offers_core::segment::rules_match(rules, Some(profile));
            state.store().count_profiles(project, &filter).await?
        }
    };
    Ok(api::SegmentCount {
        users: users.max(0) as u64,
    })
}

/// How many known users an unsaved segment definition would hold (the Studio's live count).
#[utoipa::path(
    post,
    path = "/external/segment/count",
    tag = "audiences",
    request_body(content = api::SegmentInput, content_type = "application/json",
        description = "A segment definition, as for create (`name` may be left out)"),
    responses(
        (status = 200, description = "`{\"users\": N}` over the project's known users", body = api::SegmentCount),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 401, description = "Missing or bad credentials", body = ErrorBody),
        (status = 415, description = "Not JSON", body = ErrorBody),
        (status = 422, description = "An invalid field (`match`, `conditions[i].op`, …)", body = ErrorBody),
    ),
    security(("apiKey" = [], "bearer" = []))
)]
pub(crate) async fn count_definition(
    State(state): State<AppState>,
    Access(caller): Access,
    req: Request,
) -> Result<Json<api::SegmentCount>, ApiError> {
    let mut value = json_body(req, &state).await?;
    // The name does not change who is in it: an unnamed draft is counted too.
    if let Value::Object(map) = &mut value {
        map.entry("name")
            .or_insert_with(|| Value::from("unsaved segment"));
    }
    let spec = SegmentSpec::parse(&value)?;
    Ok(Json(
        count(&state, caller.project_id(), &spec.def, None).await?,
    ))
}

/// Send an offer to one user now, as a test.
#[utoipa::path(
    post,
    path = "/external/offer/{offerId}/test",
    tag = "audiences",
    params(("offerId" = i64, Path, description = "The offer id")),
    request_body(content = api::TestSendRequest, content_type = "application/json"),
    responses(
        (status = 202, description = "Delivered to the user's open widgets now and on their next entry within 10 minutes, \
            ignoring schedule and frequency; its events are not counted", body = api::TestSendAnswer),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 401, description = "Missing or bad credentials", body = ErrorBody),
        (status = 403, description = "The token's role is below `editor`", body = ErrorBody),
        (status = 404, description = "No such offer in this project", body = ErrorBody),
        (status = 415, description = "Not JSON", body = ErrorBody),
        (status = 422, description = "`userId` missing or invalid", body = ErrorBody),
    ),
    security(("apiKey" = [], "bearer" = []))
)]
pub(crate) async fn test_send(
    State(state): State<AppState>,
    Access(caller): Access,
    path: Result<Path<String>, PathRejection>,
    req: Request,
) -> Result<(StatusCode, Json<api::TestSendAnswer>), ApiError> {
    let offer = offer_id(path)?;
    let value = json_body(req, &state).await?;
    let user = match &value {
        Value::Object(map) => {
            if let Some(unknown) = map.keys().find(|k| k.as_str() != "userId") {
                return Err(ApiError::invalid_field(unknown, "unknown field"));
            }
            match map.get("userId") {
                Some(Value::String(s)) => ExternalId::parse(s)
                    .map_err(|reason| ApiError::invalid_field("userId", reason))?,
                Some(_) => return Err(ApiError::invalid_field("userId", "must be a string")),
                None => return Err(ApiError::invalid_field("userId", "required")),
            }
        }
        _ => {
            return Err(ApiError::bad_request(
                "the JSON body must be {\"userId\": \"…\"}",
            ));
        }
    };
    let project = caller.project_id();
    if state.store().get_offer(project, offer).await?.is_none() {
        return Err(ApiError::offer_not_found());
    }
    let until = Utc::now() + TEST_SEND_FOR;
    let send = TestSend {
        user_id: user.as_str().to_owned(),
        offer_id: offer,
        until,
    };
    state.store().put_test_send(project, &send).await?;
    state
        .live()
        .apply(&Change::test_send(project, offer, user.as_str()))
        .await;
    tracing::info!(project, offer, user = user.as_str(), "test send");
    Ok((
        StatusCode::ACCEPTED,
        Json(api::TestSendAnswer {
            offer_id: offer,
            user_id: user.into_string(),
            until,
        }),
    ))
}
