//! Image upload (`POST /external/media`) and the uploaded files (`GET /media/<sha256>.<ext>`).
//!
//! An upload is `multipart/form-data` with one part `file` of at most
//! [`MAX_IMAGE_BYTES`]. Its type is decided by its magic bytes (PNG, JPEG, WebP, GIF), never
//! by the client's content type or file name; its dimensions come from its header. It is
//! stored content-addressed (see [`crate::media`]) and the answer carries its absolute URL, so
//! it can be an offer's `pic` as is, plus a warning when its proportions do not suit the
//! template named by `?template=`.

use axum::body::Body;
use axum::extract::rejection::PathRejection;
use axum::extract::{DefaultBodyLimit, FromRequest, Multipart, Path, RawQuery, Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use bytes::Bytes;
use offers_core::api::{ErrorBody, Uploaded};
use offers_core::{HttpUrl, Template};

use crate::error::ApiError;
use crate::http::access::Access;
use crate::http::assets::IMMUTABLE;
use crate::http::body::{media_type_of, query_param};
use crate::media::{
    ACCEPTED_IMAGE_TYPES, ImageInfo, ImageProblem, MAX_IMAGE_BYTES, inspect, object_name,
    parse_object_name,
};
use crate::state::AppState;

/// The upload route's body limit: the largest image plus room for the multipart framing.
pub(crate) const MEDIA_BODY_LIMIT: usize = MAX_IMAGE_BYTES + 64 * 1024;

/// The routes of this resource.
pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/external/media",
            post(upload).layer(DefaultBodyLimit::max(MEDIA_BODY_LIMIT)),
        )
        .route("/media/{name}", get(serve))
}

/// An image upload: `multipart/form-data` with one part `file`. A schema only: the handler
/// reads the multipart stream itself, so no serde type stands for this body.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub(crate) struct MediaUpload {
    /// The image: PNG, JPEG, WebP or GIF, at most 10 MiB.
    #[schema(format = Binary, value_type = String)]
    file: Vec<u8>,
}

fn too_large() -> ApiError {
    ApiError::PayloadTooLarge {
        limit: MAX_IMAGE_BYTES,
    }
}

fn multipart_error(e: axum::extract::multipart::MultipartError) -> ApiError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        too_large()
    } else {
        ApiError::bad_request(format!("malformed multipart body: {}", e.body_text()))
    }
}

/// `?template=`: absent, or a template code 10–14.
fn template_param(query: Option<&str>) -> Result<Option<Template>, ApiError> {
    match query_param(query, "template") {
        None => Ok(None),
        Some(raw) if raw.trim().is_empty() => Ok(None),
        Some(raw) => raw
            .parse::<Template>()
            .map(Some)
            .map_err(|e| ApiError::bad_param("template", e.reason())),
    }
}

/// The first value of a comma-separated forwarding header.
fn forwarded(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').next())
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

/// The absolute base of public URLs: `--public-url`, else `http://<Host>` (behind a trusted
/// proxy, `X-Forwarded-Proto` / `X-Forwarded-Host` win).
pub(crate) fn public_base(
    state: &AppState,
    headers: &HeaderMap,
    uri: &Uri,
) -> Result<String, ApiError> {
    if let Some(base) = &state.settings().public_url {
        return Ok(base.clone());
    }
    let trusted = state.settings().trust_forwarded_for;
    let host = trusted
        .then(|| forwarded(headers, "x-forwarded-host"))
        .flatten()
        .or_else(|| {
            headers
                .get(header::HOST)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        })
        .or_else(|| uri.authority().map(|a| a.as_str().to_owned()))
        .ok_or_else(|| {
            ApiError::bad_request(
                "no Host header: the image's absolute URL cannot be made (start the server \
                 with --public-url)",
            )
        })?;
    let scheme = match trusted
        .then(|| forwarded(headers, "x-forwarded-proto"))
        .flatten()
    {
        Some(proto) if proto.eq_ignore_ascii_case("https") => "https",
        _ => "http",
    };
    Ok(format!("{scheme}://{}", host.trim()))
}

/// Upload an image.
#[utoipa::path(
    post,
    path = "/external/media",
    tag = "media",
    params(
        ("template" = Option<u8>, Query, description = "The template the image is for (10–14): \
            an image whose proportions differ from 600×240 (11) or 600×400 (12–14) by more than 2 % \
            gets a warning (it is stored all the same)"),
    ),
    request_body(
        description = "One part `file`: a PNG, JPEG, WebP or GIF image of at most 10 MiB \
            (10485760 bytes). The type is read from the file's content, not from its name or \
            Content-Type.",
        content((MediaUpload = "multipart/form-data"))
    ),
    responses(
        (status = 201, description = "Stored (uploading the same bytes again answers the same URL)", body = Uploaded),
        (status = 400, description = "Malformed multipart body or `template`", body = ErrorBody),
        (status = 401, description = "Missing or bad credentials", body = ErrorBody),
        (status = 403, description = "The token's role is below `editor`", body = ErrorBody),
        (status = 413, description = "The file is over 10 MiB", body = ErrorBody),
        (status = 415, description = "Not multipart, or the file is not a PNG, JPEG, WebP or GIF image", body = ErrorBody),
        (status = 422, description = "No `file` part, or an image whose header cannot be read", body = ErrorBody),
        (status = 503, description = "The media store is not answering", body = ErrorBody),
    ),
    security(("apiKey" = [], "bearer" = []))
)]
pub(crate) async fn upload(
    State(state): State<AppState>,
    Access(caller): Access,
    RawQuery(query): RawQuery,
    uri: Uri,
    request: Request,
) -> Result<(StatusCode, Json<Uploaded>), ApiError> {
    let template = template_param(query.as_deref())?;
    let headers = request.headers().clone();
    if media_type_of(&headers).as_deref() != Some("multipart/form-data") {
        return Err(ApiError::UnsupportedMediaType(format!(
            "send the image as multipart/form-data with one part `file`; got {}",
            media_type_of(&headers).map_or_else(
                || "no Content-Type header".to_owned(),
                |ct| format!("`{ct}`")
            )
        )));
    }
    let base = public_base(&state, &headers, &uri)?;
    let mut multipart = Multipart::from_request(request, &state)
        .await
        .map_err(|r| {
            ApiError::bad_request(format!("malformed multipart body: {}", r.body_text()))
        })?;
    let mut file: Option<Vec<u8>> = None;
    while let Some(mut field) = multipart.next_field().await.map_err(multipart_error)? {
        if field.name() != Some("file") {
            continue;
        }
        if file.is_some() {
            return Err(ApiError::invalid_field(
                "file",
                "send one file per request (two `file` parts)",
            ));
        }
        let mut buf = Vec::new();
        while let Some(chunk) = field.chunk().await.map_err(multipart_error)? {
            if buf.len() + chunk.len() > MAX_IMAGE_BYTES {
                return Err(too_large());
            }
            buf.extend_from_slice(&chunk);
        }
        file = Some(buf);
    }
    let Some(file) = file else {
        return Err(ApiError::invalid_field(
            "file",
            "required: a multipart part named `file` holding the image",
        ));
    };
    let ImageInfo {
        format,
        width,
        height,
    } = inspect(&file).map_err(|problem| match problem {
        ImageProblem::UnsupportedType => ApiError::UnsupportedMediaType(format!(
            "the file is not a PNG, JPEG, WebP or GIF image (judged by its content, not its name \
             or Content-Type); accepted: {ACCEPTED_IMAGE_TYPES}"
        )),
        ImageProblem::Unreadable(format) => ApiError::invalid_field(
            "file",
            format!(
                "starts like a {} image, but its dimensions cannot be read (truncated or corrupt)",
                format.label()
            ),
        ),
    })?;
    let name = object_name(&file, format);
    let url = format!("{base}/media/{name}");
    HttpUrl::parse(&url).map_err(|reason| {
        ApiError::bad_request(format!(
            "the image's URL `{url}` {reason}: check the Host header, or start the server \
             with --public-url"
        ))
    })?;
    let size = file.len();
    let created = state
        .media()
        .put_if_absent(&name, Bytes::from(file))
        .await
        .map_err(|e| {
            tracing::error!(error = %e, store = state.media().location(), "media store write failed");
            ApiError::Unavailable
        })?;
    tracing::info!(
        project = caller.project_id(),
        name,
        bytes = size,
        created,
        "image uploaded"
    );
    let warnings = template
        .and_then(|t| t.proportion_warning(width, height))
        .into_iter()
        .collect();
    Ok((
        StatusCode::CREATED,
        Json(Uploaded {
            url,
            width,
            height,
            bytes: size as u64,
            content_type: format.content_type().to_owned(),
            warnings,
        }),
    ))
}

/// The headers of every served image: immutable, typed, not sniffed, readable cross-origin.
fn image_headers(headers: &mut HeaderMap, content_type: &'static str, etag: &str) {
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(IMMUTABLE));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    headers.insert(
        HeaderName::from_static("cross-origin-resource-policy"),
        HeaderValue::from_static("cross-origin"),
    );
    if let Ok(value) = HeaderValue::from_str(etag) {
        headers.insert(header::ETAG, value);
    }
}

/// An uploaded image.
#[utoipa::path(
    get,
    path = "/media/{name}",
    tag = "media",
    params(("name" = String, Path, description = "`<sha256>.<ext>` as an upload answered")),
    responses(
        (status = 200, description = "The image, `Cache-Control: public, max-age=31536000, immutable`, \
            `X-Content-Type-Options: nosniff`, `Access-Control-Allow-Origin: *`, \
            `Cross-Origin-Resource-Policy: cross-origin`"),
        (status = 304, description = "`If-None-Match` matched the ETag"),
        (status = 404, description = "No such image", body = ErrorBody),
    )
)]
pub(crate) async fn serve(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let not_found = || ApiError::NotFound("no such image".to_owned());
    let Ok(Path(name)) = path else {
        return Err(not_found());
    };
    let format = parse_object_name(&name).ok_or_else(not_found)?;
    let etag = format!("\"{}\"", name.split('.').next().unwrap_or_default());
    let matches = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',')
                .map(|t| t.trim().trim_start_matches("W/"))
                .any(|t| t == etag || t == "*")
        });
    if matches {
        // Content-addressed: a client holding this tag holds these bytes.
        let mut response = StatusCode::NOT_MODIFIED.into_response();
        image_headers(response.headers_mut(), format.content_type(), &etag);
        response.headers_mut().remove(header::CONTENT_TYPE);
        return Ok(response);
    }
    let found = state.media().get(&name).await.map_err(|e| {
        tracing::error!(error = %e, store = state.media().location(), "media store read failed");
        ApiError::Unavailable
    })?;
    let found = found.ok_or_else(not_found)?;
    let size = found.meta.size;
    let mut response = Body::from_stream(found.into_stream()).into_response();
    image_headers(response.headers_mut(), format.content_type(), &etag);
    response
        .headers_mut()
        .insert(header::CONTENT_LENGTH, HeaderValue::from(size));
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates() {
        assert_eq!(template_param(None).unwrap(), None);
        assert_eq!(template_param(Some("template=")).unwrap(), None);
        assert_eq!(
            template_param(Some("template=11")).unwrap(),
            Some(Template::Banner)
        );
        for bad in ["template=9", "template=x", "template=15"] {
            assert!(template_param(Some(bad)).is_err(), "{bad}");
        }
    }
}
