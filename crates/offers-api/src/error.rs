//! The one error type of the HTTP layer and its one mapping to HTTP.
//!
//! Every handler, extractor and fallback returns [`ApiError`]; [`IntoResponse`] below is the
//! only place that turns an error into a status code and the JSON body
//! `{"error": {"code", "message", "fields"?}}`. Internal errors are logged, never sent.

use std::collections::BTreeMap;

use axum::extract::multipart::MultipartError;
use axum::extract::rejection::{BytesRejection, PathRejection, QueryRejection};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use offers_core::api::{ErrorBody, ErrorDetail};

use crate::http::cors::CorsDenied;
use crate::store::StoreError;

/// Field name → human reason, as sent in `error.fields`.
pub type Fields = BTreeMap<String, String>;

/// Everything an HTTP request can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400: the request is malformed (bad JSON, bad multipart, bad query parameter).
    #[error("{message}")]
    BadRequest {
        message: String,
        fields: Option<Fields>,
    },
    /// 401: credentials missing, unknown, forged, or for another project.
    #[error("{0}")]
    Unauthorized(String),
    /// 403: the token's role is too low for this call.
    #[error("{0}")]
    Forbidden(String),
    /// 403 of a widget call from an origin the project does not allow; the answer is not
    /// opened to that origin either (`CorsDenied`).
    #[error("this origin is not among the project's allowed origins")]
    OriginNotAllowed,
    /// 404: no such resource (or not this project's: same answer, so ids do not leak).
    #[error("{0}")]
    NotFound(String),
    /// 405: the path exists but not with this method.
    #[error("method not allowed on this path")]
    MethodNotAllowed,
    /// 409: the request conflicts with the current state.
    #[error("{0}")]
    Conflict(String),
    /// 412: an `If-Match` precondition does not hold (the resource changed meanwhile).
    #[error("{0}")]
    PreconditionFailed(String),
    /// 413: the body is larger than the limit.
    #[error("request body too large: at most {limit} bytes are accepted")]
    PayloadTooLarge { limit: usize },
    /// 414: the request target (path and query) is longer than
    /// [`offers_core::limits::MAX_REQUEST_TARGET_BYTES`]; `fields` names the parameters that
    /// made it so, where one can be named.
    #[error("{message}")]
    UriTooLong {
        message: String,
        fields: Option<Fields>,
    },
    /// 431: the request headers together are larger than
    /// [`offers_core::limits::MAX_HEADER_BYTES`]; `fields` names the largest header.
    #[error("{message}")]
    HeadersTooLarge { message: String, fields: Fields },
    /// 415: a body of a content type we do not read.
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// 422: the body parsed, but the offer (or other input) is invalid; every bad field listed.
    #[error("the request is invalid: {} field(s) rejected", .0.len())]
    Validation(Fields),
    /// 429: too many requests; `Retry-After` says how many seconds to wait.
    #[error("too many requests, retry in {retry_after_secs} s")]
    RateLimited { retry_after_secs: u64 },
    /// 503: a dependency (the database) is not answering.
    #[error("service unavailable")]
    Unavailable,
    /// 500: a bug or an infrastructure failure. The text is logged, never sent.
    #[error("internal error: {0}")]
    Internal(String),
}

/// The message of a 415: which content types the offer endpoints read.
pub const ACCEPTED_BODY_TYPES: &str =
    "multipart/form-data, application/x-www-form-urlencoded or application/json";

impl ApiError {
    /// A 400 without field details.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::BadRequest {
            message: message.into(),
            fields: None,
        }
    }

    /// A 400 naming one bad parameter.
    pub fn bad_param(name: &str, reason: impl Into<String>) -> Self {
        let reason = reason.into();
        let mut fields = Fields::new();
        fields.insert(name.to_owned(), reason.clone());
        Self::BadRequest {
            message: format!("invalid parameter `{name}`: {reason}"),
            fields: Some(fields),
        }
    }

    /// A 422 naming one bad field.
    pub fn invalid_field(name: &str, reason: impl Into<String>) -> Self {
        let mut fields = Fields::new();
        fields.insert(name.to_owned(), reason.into());
        Self::Validation(fields)
    }

    /// The 429 for a bucket that refills in `wait` (rounded up to whole seconds, at least 1).
    pub fn rate_limited(wait: std::time::Duration) -> Self {
        let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        Self::RateLimited {
            retry_after_secs: secs.max(1),
        }
    }

    /// The standard 404 for an offer id that is unknown, malformed, or another project's.
    pub fn offer_not_found() -> Self {
        Self::NotFound("offer not found".to_owned())
    }

    /// The 415 for a body we cannot read.
    pub fn unsupported_body(got: Option<&str>) -> Self {
        let got = match got {
            Some(ct) if !ct.is_empty() => format!("got `{ct}`"),
            _ => "no Content-Type header (is the body missing?)".to_owned(),
        };
        Self::UnsupportedMediaType(format!("send the body as {ACCEPTED_BODY_TYPES}; {got}"))
    }

    /// The HTTP status of this error.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest { .. } => StatusCode::BAD_REQUEST,
            Self::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) | Self::OriginNotAllowed => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::PreconditionFailed(_) => StatusCode::PRECONDITION_FAILED,
            Self::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UriTooLong { .. } => StatusCode::URI_TOO_LONG,
            Self::HeadersTooLarge { .. } => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            Self::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The stable machine-readable code in `error.code`.
    pub fn code(&self) -> &'static str {
        match self {
            Self::BadRequest { .. } => "bad_request",
            Self::Unauthorized(_) => "unauthorized",
            Self::Forbidden(_) | Self::OriginNotAllowed => "forbidden",
            Self::NotFound(_) => "not_found",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::Conflict(_) => "conflict",
            Self::PreconditionFailed(_) => "precondition_failed",
            Self::PayloadTooLarge { .. } => "payload_too_large",
            Self::UriTooLong { .. } => "uri_too_long",
            Self::HeadersTooLarge { .. } => "request_header_fields_too_large",
            Self::UnsupportedMediaType(_) => "unsupported_media_type",
            Self::Validation(_) => "validation_failed",
            Self::RateLimited { .. } => "rate_limited",
            Self::Unavailable => "service_unavailable",
            Self::Internal(_) => "internal_error",
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let message = match &self {
            Self::Internal(detail) => {
                tracing::error!(error = %detail, "internal error");
                "internal server error".to_owned()
            }
            Self::Unavailable => {
                tracing::warn!("service unavailable");
                self.to_string()
            }
            other => other.to_string(),
        };
        let fields = match &self {
            Self::Validation(f) => Some(f.clone()),
            Self::BadRequest { fields, .. } | Self::UriTooLong { fields, .. } => fields.clone(),
            Self::HeadersTooLarge { fields, .. } => Some(fields.clone()),
            _ => None,
        };
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code().to_owned(),
                message,
                fields,
            },
        };
        let bytes = serde_json::to_vec(&body).unwrap_or_else(|_| {
            br#"{"error":{"code":"internal_error","message":"internal server error"}}"#.to_vec()
        });
        let mut response = (status, bytes).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        if let Self::RateLimited { retry_after_secs } = self {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
        }
        if matches!(self, Self::OriginNotAllowed) {
            response.extensions_mut().insert(CorsDenied);
        }
        if matches!(self, Self::Unauthorized(_)) {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"offers\""),
            );
        }
        response
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable(source) => {
                tracing::error!(error = ?source, "database unavailable");
                Self::Unavailable
            }
            other => Self::Internal(format!("{other:?}")),
        }
    }
}

impl From<offers_core::FieldErrors> for ApiError {
    fn from(e: offers_core::FieldErrors) -> Self {
        Self::Validation(e.0)
    }
}

/// The body size limit of JSON, urlencoded and multipart bodies.
pub const BODY_LIMIT: usize = 1024 * 1024;

impl From<BytesRejection> for ApiError {
    fn from(r: BytesRejection) -> Self {
        if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
            Self::PayloadTooLarge { limit: BODY_LIMIT }
        } else {
            Self::bad_request(format!(
                "could not read the request body: {}",
                r.body_text()
            ))
        }
    }
}

impl From<MultipartError> for ApiError {
    fn from(e: MultipartError) -> Self {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            Self::PayloadTooLarge { limit: BODY_LIMIT }
        } else {
            Self::bad_request(format!("malformed multipart body: {}", e.body_text()))
        }
    }
}

impl From<QueryRejection> for ApiError {
    fn from(r: QueryRejection) -> Self {
        Self::bad_request(format!("malformed query string: {}", r.body_text()))
    }
}

impl From<PathRejection> for ApiError {
    fn from(_: PathRejection) -> Self {
        Self::NotFound("not found".to_owned())
    }
}

/// The router's fallback: unknown paths get the 404 shape.
pub async fn not_found_fallback() -> ApiError {
    ApiError::NotFound("no such endpoint".to_owned())
}

/// The router's method fallback: known paths with a wrong method get the 405 shape.
pub async fn method_not_allowed_fallback() -> ApiError {
    ApiError::MethodNotAllowed
}
