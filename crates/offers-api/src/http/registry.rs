//! `/external/rooms` and `/external/users`: the registry of room and user ids a project knows.
//!
//! An id is *available* (create/update answers) when the project has seen it: the widget
//! entered it, or it was registered here. Bulk registration takes JSON `{"ids": [...]}` (or a
//! bare JSON array), a CSV upload (`text/csv` body, or a multipart part; one column, any
//! header, quoted or not), or form fields `ids` (repeated or comma-separated).

use axum::extract::{FromRequest, RawQuery, Request, State};
use axum::routing::get;
use axum::{Json, Router};
use chrono::Utc;
use offers_core::ExternalId;
use offers_core::api::{ErrorBody, IdPage, IdsRequest, RegisterResponse};
use serde_json::Value;

use crate::error::{ApiError, Fields};
use crate::http::access::Access;
use crate::http::body::{Page, RawBody, read_body};
use crate::state::AppState;
use crate::store::IdKind;

/// The routes of this resource.
pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/external/rooms", get(list_rooms).post(register_rooms))
        // POST /external/users also upserts profiles: `crate::http::audiences::post_users`.
        .route(
            "/external/users",
            get(list_users).post(super::audiences::post_users).layer(
                axum::extract::DefaultBodyLimit::max(super::audiences::BULK_BODY_LIMIT),
            ),
        )
}

pub(crate) const ACCEPTED: &str = "application/json ({\"ids\": [...]}), text/csv, multipart/form-data \
     (a CSV file part or `ids` parts) or application/x-www-form-urlencoded (`ids`)";

/// At most this many ids per call.
pub(crate) const MAX_IDS: usize = 100_000;

/// A list of ids to register, validated.
#[derive(Debug, Clone)]
pub(crate) struct IdList(pub Vec<String>);

fn ids_from_json(value: Value) -> Result<Vec<String>, ApiError> {
    let list = match value {
        Value::Array(list) => list,
        Value::Object(mut map) => match map.remove("ids") {
            Some(Value::Array(list)) => list,
            Some(_) => {
                return Err(ApiError::invalid_field(
                    "ids",
                    "must be an array of strings",
                ));
            }
            None => return Err(ApiError::invalid_field("ids", "required")),
        },
        _ => {
            return Err(ApiError::bad_request(
                "the JSON body must be {\"ids\": [...]} or an array",
            ));
        }
    };
    let mut errors = Fields::new();
    let mut out = Vec::with_capacity(list.len());
    for (i, item) in list.into_iter().enumerate() {
        match item {
            Value::String(s) => out.push(s),
            Value::Number(n) => out.push(n.to_string()),
            _ => {
                errors.insert(format!("ids[{i}]"), "must be a string".into());
            }
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(ApiError::Validation(errors))
    }
}

/// Ids from a CSV upload (seed 001: UTF-8, one column, any header, quoted or not).
fn ids_from_csv(text: &str) -> Result<Vec<String>, ApiError> {
    let parsed = offers_core::parse_user_ids(text.as_bytes());
    if !parsed.errors.is_empty() {
        let fields = parsed
            .errors
            .into_iter()
            .map(|e| (format!("csv line {}", e.line), e.reason))
            .collect();
        return Err(ApiError::Validation(fields));
    }
    Ok(parsed
        .ids
        .into_iter()
        .map(ExternalId::into_string)
        .collect())
}

impl<S: Send + Sync> FromRequest<S> for IdList {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let raw = read_body(req, state, true, ACCEPTED).await?;
        ids_from_raw(raw).map(IdList)
    }
}

/// The validated ids of a registration body, whatever its encoding.
pub(crate) fn ids_from_raw(raw: RawBody) -> Result<Vec<String>, ApiError> {
    let raw = match raw {
        RawBody::Json(value) => ids_from_json(value)?,
        RawBody::Text(text) => ids_from_csv(&text)?,
        RawBody::Fields(fields) => {
            let mut out = Vec::new();
            for (name, value) in fields {
                match name.as_str() {
                    "ids" | "ids[]" => out.extend(
                        value
                            .split([',', '\n'])
                            .map(str::trim)
                            .filter(|s| !s.is_empty())
                            .map(str::to_owned),
                    ),
                    // Any other part is taken as an uploaded CSV file.
                    _ => out.extend(ids_from_csv(&value)?),
                }
            }
            out
        }
    };
    if raw.len() > MAX_IDS {
        return Err(ApiError::invalid_field(
            "ids",
            format!("at most {MAX_IDS} ids per call (got {})", raw.len()),
        ));
    }
    let mut errors = Fields::new();
    let mut ids = Vec::with_capacity(raw.len());
    for (i, id) in raw.iter().enumerate() {
        match ExternalId::parse(id) {
            Ok(id) => ids.push(id.into_string()),
            Err(reason) => {
                errors.insert(format!("ids[{i}]"), reason);
            }
        }
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    Ok(ids)
}

pub(crate) async fn register(
    state: &AppState,
    project_id: i64,
    kind: IdKind,
    ids: &[String],
) -> Result<Json<RegisterResponse>, ApiError> {
    let counts = state
        .store()
        .register_ids(project_id, kind, ids, Utc::now())
        .await?;
    Ok(Json(RegisterResponse {
        received: counts.added + counts.already_known,
        added: counts.added,
        already_known: counts.already_known,
    }))
}

async fn list(
    state: &AppState,
    project_id: i64,
    kind: IdKind,
    query: Option<&str>,
) -> Result<Json<IdPage>, ApiError> {
    let page = Page::from_query(query)?;
    let found = state
        .store()
        .list_known(project_id, kind, page.limit, page.offset)
        .await?;
    Ok(Json(IdPage {
        ids: if page.limit == 0 {
            Vec::new()
        } else {
            found.ids
        },
        total: found.total,
        limit: page.limit,
        offset: page.offset,
    }))
}

/// Register room ids as known.
#[utoipa::path(
    post,
    path = "/external/rooms",
    tag = "registry",
    request_body(content(
        (IdsRequest = "application/json"),
        ("text/csv"),
        ("multipart/form-data"),
    )),
    responses(
        (status = 200, description = "Counts", body = RegisterResponse),
        (status = 401, description = "Missing or bad credentials", body = ErrorBody),
        (status = 403, description = "The token's role is below `editor`", body = ErrorBody),
        (status = 422, description = "An invalid id (`ids[i]`)", body = ErrorBody),
    ),
    security(("apiKey" = [], "bearer" = []))
)]
pub(crate) async fn register_rooms(
    State(state): State<AppState>,
    Access(caller): Access,
    IdList(ids): IdList,
) -> Result<Json<RegisterResponse>, ApiError> {
    register(&state, caller.project_id(), IdKind::Room, &ids).await
}

/// List known room ids.
#[utoipa::path(
    get,
    path = "/external/rooms",
    tag = "registry",
    params(
        ("limit" = Option<i64>, Query, description = "Page size: default 20, at most 100"),
        ("offset" = Option<i64>, Query, description = "Ids to skip (default 0)"),
    ),
    responses(
        (status = 200, description = "A page of ids", body = IdPage),
        (status = 400, description = "Bad `limit` or `offset`", body = ErrorBody),
        (status = 401, description = "Missing or bad credentials", body = ErrorBody),
    ),
    security(("apiKey" = [], "bearer" = []))
)]
pub(crate) async fn list_rooms(
    State(state): State<AppState>,
    Access(caller): Access,
    RawQuery(query): RawQuery,
) -> Result<Json<IdPage>, ApiError> {
    list(&state, caller.project_id(), IdKind::Room, query.as_deref()).await
}

/// List known user ids.
#[utoipa::path(
    get,
    path = "/external/users",
    tag = "registry",
    params(
        ("limit" = Option<i64>, Query, description = "Page size: default 20, at most 100"),
        ("offset" = Option<i64>, Query, description = "Ids to skip (default 0)"),
    ),
    responses(
        (status = 200, description = "A page of ids", body = IdPage),
        (status = 400, description = "Bad `limit` or `offset`", body = ErrorBody),
        (status = 401, description = "Missing or bad credentials", body = ErrorBody),
    ),
    security(("apiKey" = [], "bearer" = []))
)]
pub(crate) async fn list_users(
    State(state): State<AppState>,
    Access(caller): Access,
    RawQuery(query): RawQuery,
) -> Result<Json<IdPage>, ApiError> {
    list(&state, caller.project_id(), IdKind::User, query.as_deref()).await
}
