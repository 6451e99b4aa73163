//! `POST /user/external/advertisment` (the documented spelling) and its alias
//! `/user/external/advertisement`: exclude a user from all offers, or let them back.

use axum::Router;
use axum::extract::{FromRequest, Request, State};
use axum::http::StatusCode;
use axum::routing::post;
use chrono::Utc;
use offers_core::ExternalId;
use offers_core::api::{ErrorBody, OptOutRequest};
use serde_json::Value;

use crate::bus::Change;
use crate::error::{ApiError, Fields};
use crate::http::access::Access;
use crate::http::body::{RawBody, read_body};
use crate::state::AppState;

/// The routes of this resource.
pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/user/external/advertisment", post(opt_out))
        .route("/user/external/advertisement", post(opt_out_alias))
}

/// The parsed body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OptOut {
    pub user: ExternalId,
    pub value: bool,
}

const ACCEPTED: &str = "application/json, application/x-www-form-urlencoded or multipart/form-data";

impl<S: Send + Sync> FromRequest<S> for OptOut {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let (user, value) = match read_body(req, state, false, ACCEPTED).await? {
            RawBody::Json(Value::Object(map)) => (
                map.get("decryptedUserId").cloned(),
                map.get("value").cloned(),
            ),
            RawBody::Json(_) => {
                return Err(ApiError::bad_request(
                    "the JSON body must be an object {\"decryptedUserId\": string, \"value\": boolean}",
                ));
            }
            RawBody::Fields(fields) => {
                let last = |name: &str| {
                    fields
                        .iter()
                        .rev()
                        .find(|(k, _)| k == name)
                        .map(|(_, v)| Value::String(v.clone()))
                };
                (last("decryptedUserId"), last("value"))
            }
            RawBody::Text(_) => return Err(ApiError::unsupported_body(Some("text/plain"))),
        };
        let mut errors = Fields::new();
        let user = match user {
            Some(Value::String(s)) => ExternalId::parse(&s)
                .map_err(|reason| errors.insert("decryptedUserId".into(), reason))
                .ok(),
            Some(Value::Number(n)) => ExternalId::parse(&n.to_string())
                .map_err(|reason| errors.insert("decryptedUserId".into(), reason))
                .ok(),
            Some(_) => {
                errors.insert("decryptedUserId".into(), "must be a string".into());
                None
            }
            None => {
                errors.insert("decryptedUserId".into(), "required".into());
                None
            }
        };
        let value = match value {
            Some(Value::Bool(b)) => Some(b),
            Some(Value::String(s)) => match s.trim().to_ascii_lowercase().as_str() {
                "true" | "1" => Some(true),
                "false" | "0" => Some(false),
                _ => {
                    errors.insert("value".into(), "must be true or false".into());
                    None
                }
            },
            Some(_) => {
                errors.insert("value".into(), "must be true or false".into());
                None
            }
            None => {
                errors.insert("value".into(), "required".into());
                None
            }
        };
        match (user, value) {
            (Some(user), Some(value)) if errors.is_empty() => Ok(OptOut { user, value }),
            _ => Err(ApiError::Validation(errors)),
        }
    }
}

/// Exclude a user from all offers (`value: true`) or let them back (`value: false`).
#[utoipa::path(
    post,
    path = "/user/external/advertisment",
    tag = "users",
    request_body(
        content(
            (OptOutRequest = "application/json"),
            (OptOutRequest = "application/x-www-form-urlencoded"),
        )
    ),
    responses(
        (status = 201, description = "Done; empty body"),
        (status = 400, description = "Malformed body", body = ErrorBody),
        (status = 401, description = "Missing or bad credentials", body = ErrorBody),
        (status = 403, description = "The token's role is below `editor`", body = ErrorBody),
        (status = 415, description = "Unsupported content type", body = ErrorBody),
        (status = 422, description = "`decryptedUserId` or `value` missing or invalid", body = ErrorBody),
    ),
    security(("apiKey" = [], "bearer" = []))
)]
pub(crate) async fn opt_out(
    State(state): State<AppState>,
    Access(caller): Access,
    body: OptOut,
) -> Result<StatusCode, ApiError> {
    state
        .store()
        .set_opt_out(
            caller.project_id(),
            body.user.as_str(),
            body.value,
            Utc::now(),
        )
        .await?;
    state
        .live()
        .apply(&Change::opt_out(caller.project_id(), body.user.as_str()))
        .await;
    tracing::info!(
        project = caller.project_id(),
        opted_out = body.value,
        "user opt-out set"
    );
    Ok(StatusCode::CREATED)
}

/// The same as `/user/external/advertisment` (correctly spelled alias).
#[utoipa::path(
    post,
    path = "/user/external/advertisement",
    tag = "users",
    request_body(
        content(
            (OptOutRequest = "application/json"),
            (OptOutRequest = "application/x-www-form-urlencoded"),
        )
    ),
    responses(
        (status = 201, description = "Done; empty body"),
        (status = 401, description = "Missing or bad credentials", body = ErrorBody),
        (status = 403, description = "The token's role is below `editor`", body = ErrorBody),
        (status = 422, description = "`decryptedUserId` or `value` missing or invalid", body = ErrorBody),
    ),
    security(("apiKey" = [], "bearer" = []))
)]
pub(crate) async fn opt_out_alias(
    state: State<AppState>,
    caller: Access,
    body: OptOut,
) -> Result<StatusCode, ApiError> {
    opt_out(state, caller, body).await
}
