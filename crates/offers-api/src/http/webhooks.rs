//! Webhooks (SPEC §9): `POST|GET /external/webhook`, `DELETE /external/webhook/{webhookId}`,
//! `GET /external/webhook/{webhookId}/deliveries`. Deliveries themselves are sent by
//! [`crate::webhooks`].

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use chrono::Utc;
use offers_core::HttpUrl;
use offers_core::access::{Area, Level, allows};
use offers_core::api::ErrorBody;
use offers_core::api::webhooks::{
    CreatedWebhook, WebhookDelivery, WebhookEventType, WebhookInfo, WebhookRequest, redacted_url,
};

use crate::auth::random_hex;
use crate::error::ApiError;
use crate::http::access::Access;
use crate::http::body::Page;
use crate::http::people::JsonBody;
use crate::state::AppState;
use crate::store::webhooks::{NewWebhook, WebhookRow};

/// The webhook routes.
pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/external/webhook", get(list_webhooks).post(create_webhook))
        .route(
            "/external/webhook/{webhookId}",
            axum::routing::delete(delete_webhook),
        )
        .route(
            "/external/webhook/{webhookId}/deliveries",
            get(list_deliveries),
        )
}

/// Why a plain `http://` URL is refused.
const INSECURE: &str = "must be an https URL (plain http only for a loopback host such as \
                        127.0.0.1 or localhost)";

/// Whether `host` (as [`HttpUrl::host`] gives it) is a loopback host.
fn is_loopback(host: &str) -> bool {
    let host = host.trim_end_matches('.');
    if host.eq_ignore_ascii_case("localhost") {
        return true;
    }
    if let Some(v6) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        return v6.parse::<Ipv6Addr>().is_ok_and(|ip| ip.is_loopback());
    }
    host.parse::<Ipv4Addr>().is_ok_and(|ip| ip.is_loopback())
}

/// Whether `host` is an IP literal of a private, link-local, shared (CGNAT), unspecified or
/// unique-local network ([`crate::webhooks::is_private_network`]): a webhook there would make
/// the server call into its own network. (A host name is checked when it is resolved, at each
/// delivery: [`crate::webhooks::PublicResolver`].)
fn is_private_literal(host: &str) -> bool {
    let ip = match host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        Some(v6) => v6.parse::<Ipv6Addr>().map(IpAddr::V6),
        None => host.parse::<Ipv4Addr>().map(IpAddr::V4),
    };
    ip.is_ok_and(crate::webhooks::is_private_network)
}

/// The most webhooks a project may register (each stored event is queued once per webhook
/// that subscribes to it, in the ingest's transaction).
pub(crate) const MAX_WEBHOOKS: usize = 20;

/// A webhook URL: absolute, https (http only for loopback hosts unless `allow_insecure`),
/// not an IP literal of a private network (unless `allow_insecure`), without a fragment or
/// credentials.
pub(crate) fn check_url(raw: &str, allow_insecure: bool) -> Result<String, String> {
    let url = HttpUrl::parse(raw)?;
    if url.as_str().contains('#') {
        return Err("must not have a fragment".to_owned());
    }
    if url.host().contains('@')
        || url
            .as_str()
            .split('/')
            .nth(2)
            .is_some_and(|a| a.contains('@'))
    {
        return Err("must not hold credentials (user@host)".to_owned());
    }
    if !url.is_https() && !allow_insecure && !is_loopback(url.host()) {
        return Err(INSECURE.to_owned());
    }
    if !allow_insecure && is_private_literal(url.host()) {
        return Err("must not be an address of a private or link-local network".to_owned());
    }
    Ok(url.as_str().to_owned())
}

/// The registered types without repeats, in their first order.
fn distinct(events: &[WebhookEventType]) -> Vec<WebhookEventType> {
    let mut out: Vec<WebhookEventType> = Vec::new();
    for e in events {
        if !out.contains(e) {
            out.push(*e);
        }
    }
    out
}

/// A webhook as listed: its whole URL only for a caller who may manage webhooks.
fn info(row: WebhookRow, whole_url: bool) -> WebhookInfo {
    WebhookInfo {
        id: row.id,
        url: if whole_url {
            row.url
        } else {
            redacted_url(&row.url)
        },
        events: row.events,
        created_at: row.created_at,
    }
}

fn webhook_id(path: Result<Path<String>, PathRejection>) -> Result<i64, ApiError> {
    let not_found = || ApiError::NotFound("no webhook with this id in this project".into());
    let Ok(Path(raw)) = path else {
        return Err(not_found());
    };
    match raw.parse::<i64>() {
        Ok(id) if id > 0 && raw.bytes().all(|b| b.is_ascii_digit()) => Ok(id),
        _ => Err(not_found()),
    }
}

/// Register a webhook.
#[utoipa::path(
    post,
    path = "/external/webhook",
    tag = "webhooks",
    request_body(content = WebhookRequest, content_type = "application/json"),
    responses(
        (status = 201, description = "Registered: `secret` signs its deliveries and is shown this once", body = CreatedWebhook),
        (status = 401, description = "Missing or bad credentials", body = ErrorBody),
        (status = 403, description = "The caller's role lacks `full` on `settings`", body = ErrorBody),
        (status = 422, description = "A bad `url` (https, or http for a loopback host) or `events` (a non-empty list of `offer.impression`, `offer.click`, `offer.close`, `conversion`; `events[1]` names a bad one)", body = ErrorBody),
    ),
    security(("apiKey" = [], "bearer" = []))
)]
pub(crate) async fn create_webhook(
    State(state): State<AppState>,
    Access(caller): Access,
    JsonBody(body): JsonBody<WebhookRequest>,
) -> Result<(StatusCode, Json<CreatedWebhook>), ApiError> {
    let url = check_url(&body.url, state.settings().webhooks.allow_insecure)
        .map_err(|reason| ApiError::invalid_field("url", reason))?;
    let events = distinct(&body.events);
    if events.is_empty() {
        return Err(ApiError::invalid_field(
            "events",
            "must list at least one of offer.impression, offer.click, offer.close, conversion",
        ));
    }
    if state
        .store()
        .list_webhooks(caller.project_id())
        .await?
        .len()
        >= MAX_WEBHOOKS
    {
        return Err(ApiError::invalid_field(
            "url",
            format!(
                "the project already has {MAX_WEBHOOKS} webhooks, the most it may have; delete one first"
            ),
        ));
    }
    let new = NewWebhook {
        url,
        events,
        secret: format!("whsec_{}", random_hex(32)),
    };
    let row = state
        .store()
        .create_webhook(&caller.actor, caller.project_id(), &new, Utc::now())
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedWebhook {
            id: row.id,
            url: row.url,
            events: row.events,
            secret: row.secret,
        }),
    ))
}

/// The project's webhooks (never their secrets; only their origin to a caller without `full`
/// on `settings`).
#[utoipa::path(
    get,
    path = "/external/webhook",
    tag = "webhooks",
    responses(
        (status = 200, description = "Every webhook of the project, newest first. A caller without `full` on `settings` sees each `url` cut to its origin (`https://hooks.example.com/…`)", body = Vec<WebhookInfo>),
        (status = 401, description = "Missing or bad credentials", body = ErrorBody),
        (status = 403, description = "The caller's role lacks `view` on `settings`", body = ErrorBody),
    ),
    security(("apiKey" = [], "bearer" = []))
)]
pub(crate) async fn list_webhooks(
    State(state): State<AppState>,
    Access(caller): Access,
) -> Result<Json<Vec<WebhookInfo>>, ApiError> {
    let rows = state.store().list_webhooks(caller.project_id()).await?;
    let whole_url = allows(&caller.grants, Area::Settings, Level::Full);
    Ok(Json(
        rows.into_iter().map(|row| info(row, whole_url)).collect(),
    ))
}

/// Delete a webhook: nothing more is sent to it, and its delivery log goes with it.
#[utoipa::path(
    delete,
    path = "/external/webhook/{webhookId}",
    tag = "webhooks",
    params(("webhookId" = i64, Path, description = "The webhook id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "Missing or bad credentials", body = ErrorBody),
        (status = 403, description = "The caller's role lacks `full` on `settings`", body = ErrorBody),
        (status = 404, description = "No webhook with this id in this project", body = ErrorBody),
    ),
    security(("apiKey" = [], "bearer" = []))
)]
pub(crate) async fn delete_webhook(
    State(state): State<AppState>,
    Access(caller): Access,
    path: Result<Path<String>, PathRejection>,
) -> Result<StatusCode, ApiError> {
    let id = webhook_id(path)?;
    if state
        .store()
        .delete_webhook(&caller.actor, caller.project_id(), id, Utc::now())
        .await?
    {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound(
            "no webhook with this id in this project".into(),
        ))
    }
}

/// A webhook's delivery log: one entry per POST, newest first.
#[utoipa::path(
    get,
    path = "/external/webhook/{webhookId}/deliveries",
    tag = "webhooks",
    params(
        ("webhookId" = i64, Path, description = "The webhook id"),
        ("limit" = Option<i64>, Query, description = "Page size: default 20, at most 100"),
        ("offset" = Option<i64>, Query, description = "Entries to skip (default 0)"),
    ),
    responses(
        (status = 200, description = "A page of deliveries, newest first", body = Vec<WebhookDelivery>),
        (status = 400, description = "`limit` or `offset` negative or not a number", body = ErrorBody),
        (status = 401, description = "Missing or bad credentials", body = ErrorBody),
        (status = 403, description = "The caller's role lacks `view` on `settings`", body = ErrorBody),
        (status = 404, description = "No webhook with this id in this project", body = ErrorBody),
    ),
    security(("apiKey" = [], "bearer" = []))
)]
pub(crate) async fn list_deliveries(
    State(state): State<AppState>,
    Access(caller): Access,
    path: Result<Path<String>, PathRejection>,
    RawQuery(query): RawQuery,
) -> Result<Json<Vec<WebhookDelivery>>, ApiError> {
    let id = webhook_id(path)?;
    let page = Page::from_query(query.as_deref())?;
    state
        .store()
        .list_deliveries(caller.project_id(), id, page.limit, page.offset)
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::NotFound("no webhook with this id in this project".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_https_or_loopback() {
        for ok in [
            "https://hooks.example/x",
            "http://127.0.0.1:8080/hook",
            "http://localhost/hook",
            "http://[::1]:9000/",
            "http://127.1.2.3/",
        ] {
            assert!(check_url(ok, false).is_ok(), "{ok}");
        }
        for bad in [
            "http://hooks.example/x",
            "http://10.0.0.1/",
            "ftp://x.example/",
            "https://hooks.example/#frag",
            "https://user:pw@hooks.example/",
            "",
            "localhost:80",
        ] {
            assert!(check_url(bad, false).is_err(), "{bad}");
        }
        assert!(check_url("http://hooks.example/x", true).is_ok());
    }

    #[test]
    fn private_network_literals_are_refused() {
        for bad in [
            "https://10.0.0.5/",
            "https://172.16.1.1/",
            "https://192.168.1.10/hook",
            "https://169.254.169.254/latest/meta-data",
            "https://100.64.0.1/",
            "https://0.0.0.0/",
            "https://[fd00::1]/",
            "https://[fe80::1]/",
            "https://[::ffff:10.0.0.1]/",
        ] {
            assert!(check_url(bad, false).is_err(), "{bad}");
            assert!(
                check_url(bad, true).is_ok(),
                "{bad} with --allow-insecure-webhooks"
            );
        }
        for ok in [
            "https://8.8.8.8/",
            "https://172.32.0.1/",
            "https://[2001:db8::1]/",
        ] {
            assert!(check_url(ok, false).is_ok(), "{ok}");
        }
    }
}
