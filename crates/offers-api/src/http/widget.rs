//! The public widget API (no bearer token: the project is named by its public key):
//! `GET /widget/v1/offers` (the feed, here), `GET /widget/v1/stream` (Server-Sent Events,
//! [`super::stream`]) and `POST /widget/v1/events` ([`super::events`]).
//!
//! Every call resolves a [`Visitor`] the same way: parameters, the project (from the live
//! index, not the database), the origin check ([`super::cors`]), the per client IP and project
//! rate limit, and the user's identity: with `requireUserSignature` (the default of new
//! projects), a user id counts only with a valid `sig` (HMAC-SHA256 of the id under the
//! project's identity secret), otherwise the visitor is anonymous and the `Offers-Identity`
//! header says why ([`Identity`]). The feed lists the offers live now or starting within 24 hours
//! for this room and user (targeting and opt-out applied), with a strong `ETag` over the
//! offers (`If-None-Match` → 304); entering registers the room and the (trusted) user.
//!
//! With caps set (SPEC §9) the feed also carries them (`caps`), and for an identified user
//! `recentPopups`: their pop-up impressions of the last 7 days (read from the events, the one
//! per-request query of the feed, only in that case), so caps hold across devices. That part is
//! appended to the cached page per answer and folded into the answer's ETag.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, FromRequestParts, RawQuery, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::Utc;
use offers_core::api::{ErrorBody, FeedResponse};
use offers_core::{ExternalId, format_timestamp};

use crate::auth::verify_user_signature;
use crate::error::ApiError;
use crate::feed_page::{Encoding, MAX_EXTRA_BYTES};
use crate::http::body::query_param;
use crate::http::cors::{CorsDenied, origin_allowed, widget_cors};
use crate::live::{FeedVisitor, NeedsContext, OffersIndex, Slot};
use crate::state::AppState;
use crate::store::Project;
use offers_core::language::LanguageTag;

/// The routes of the widget API, behind the per-project CORS middleware.
pub(crate) fn router() -> Router<AppState> {
    let preflight = || async { StatusCode::NO_CONTENT };
    Router::new()
        // The explicit OPTIONS routes keep preflights inside the CORS layer (the router's
        // method-not-allowed fallback is not layered).
        .route("/widget/v1/offers", get(feed).options(preflight))
        .route(
            "/widget/v1/stream",
            get(super::stream::stream).options(preflight),
        )
        .route(
            "/widget/v1/events",
            post(super::events::post_events).options(preflight),
        )
        .layer(middleware::from_fn(widget_cors))
}

/// A strong entity tag over `body`: the first 128 bits of its SHA-256, hex.
#[cfg(test)]
fn etag_of(body: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(body);
    format!("\"{}\"", hex::encode(&digest[..16]))
}

/// Whether an `If-None-Match` header matches `etag` (weak comparison, as RFC 9110 asks for GET).
pub(crate) fn if_none_match(headers: &HeaderMap, etag: &str) -> bool {
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

/// The client's IP: the peer address, or with `trust_forwarded_for` the last
/// `X-Forwarded-For` entry (the one the trusted proxy appended).
#[derive(Debug, Clone, Copy)]
pub(crate) struct ClientIp(pub Option<IpAddr>);

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        if state.settings().trust_forwarded_for
            && let Some(ip) = parts
                .headers
                .get_all("x-forwarded-for")
                .iter()
                .next_back()
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.rsplit(',').next())
                .and_then(|v| v.trim().parse::<IpAddr>().ok())
        {
            return Ok(Self(Some(ip)));
        }
        Ok(Self(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| c.0.ip()),
        ))
    }
}

/// What a widget call says about its visitor, as sent.
#[derive(Debug, Clone)]
pub(crate) struct WidgetParams {
    pub key: String,
    pub room: ExternalId,
    pub user: Option<ExternalId>,
    pub sig: Option<String>,
    /// `lang`: the language the host or the browser asked for (an unreadable one is ignored:
    /// the offer's default language is shown).
    pub language: Option<LanguageTag>,
}

impl WidgetParams {
    /// From a query string: `key` and `room` required, `user` and `sig` optional.
    pub(crate) fn from_query(query: Option<&str>) -> Result<Self, ApiError> {
        let key = query_param(query, "key")
            .filter(|k| !k.is_empty())
            .ok_or_else(|| ApiError::bad_param("key", "required"))?;
        let room = required_id(query, "room")?;
        let user = match query_param(query, "user") {
            Some(raw) if !raw.trim().is_empty() => Some(
                ExternalId::parse(&raw).map_err(|reason| ApiError::bad_param("user", reason))?,
            ),
            _ => None,
        };
        let sig = query_param(query, "sig").filter(|s| !s.trim().is_empty());
        let language = query_param(query, "lang").and_then(|l| LanguageTag::from_accept(&l));
        Ok(Self {
            key,
            room,
            user,
            sig,
            language,
        })
    }
}

/// A resolved widget caller.
#[derive(Debug, Clone)]
pub(crate) struct Visitor {
    pub slot: Arc<Slot>,
    pub project: Arc<Project>,
    pub room: ExternalId,
    /// The user id as sent.
    pub claimed_user: Option<ExternalId>,
    pub sig: Option<String>,
    /// The user id as trusted: the claimed one, unless the project requires a signature and
    /// `sig` is missing or wrong (then `None`: anonymous).
    pub user: Option<ExternalId>,
    /// Whether the request's origin may read the answer.
    pub origin_allowed: bool,
    /// The language asked for (`lang`).
    pub language: Option<LanguageTag>,
}

impl Visitor {
    /// The trusted user id.
    pub(crate) fn user(&self) -> Option<&str> {
        self.user.as_ref().map(ExternalId::as_str)
    }

    /// How the claimed user id was judged.
    pub(crate) fn identity(&self) -> Identity {
        identity(
            &self.project,
            self.claimed_user.as_ref(),
            self.sig.as_deref(),
        )
    }

    /// The user id as sent (its opt-out is honoured even when unverified).
    pub(crate) fn claimed(&self) -> Option<&str> {
        self.claimed_user.as_ref().map(ExternalId::as_str)
    }

    /// Re-evaluates identity and origin against fresh project settings.
    pub(crate) fn with_project(&self, project: Arc<Project>, origin: Option<&HeaderValue>) -> Self {
        let user = trusted_user(&project, self.claimed_user.as_ref(), self.sig.as_deref());
        Self {
            origin_allowed: origin_allowed(&project, origin),
            user,
            project,
            ..self.clone()
        }
    }
}

/// The response header that says how a claimed user id was judged: [`Identity::as_str`].
pub(crate) const IDENTITY_HEADER: &str = "offers-identity";

/// How a widget call's claimed user id was judged (sent as the `Offers-Identity` header of
/// the feed and the stream whenever a `user` is given, so an integrator can see why personal
/// offers do not show).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Identity {
    /// No `user` was given: anonymous, nothing to say.
    Anonymous,
    /// `sig` verifies: the user counts.
    Signed,
    /// The project does not require a signature: the user counts as claimed.
    NotRequired,
    /// The project requires a signature and none was given: served as anonymous.
    Unsigned,
    /// The project requires a signature and `sig` is not the user id's: served as anonymous.
    BadSignature,
}

impl Identity {
    /// The header value: `signed`, `not-required`, `unsigned` or `bad-signature`; `None` for an
    /// anonymous call.
    pub(crate) fn as_str(self) -> Option<&'static str> {
        match self {
            Self::Anonymous => None,
            Self::Signed => Some("signed"),
            Self::NotRequired => Some("not-required"),
            Self::Unsigned => Some("unsigned"),
            Self::BadSignature => Some("bad-signature"),
        }
    }

    /// Whether the claimed user counts.
    pub(crate) fn trusted(self) -> bool {
        matches!(self, Self::Signed | Self::NotRequired)
    }
}

/// Judges a claimed user id: with `requireUserSignature` only one whose `sig` verifies
/// (constant-time) counts.
pub(crate) fn identity(
    project: &Project,
    claimed: Option<&ExternalId>,
    sig: Option<&str>,
) -> Identity {
    let Some(claimed) = claimed else {
        return Identity::Anonymous;
    };
    if !project.require_user_signature {
        return Identity::NotRequired;
    }
    match sig {
        None => Identity::Unsigned,
        Some(sig) if verify_user_signature(&project.identity_secret, claimed.as_str(), sig) => {
            Identity::Signed
        }
        Some(_) => Identity::BadSignature,
    }
}

/// The user id a project trusts: any claimed id, or with `requireUserSignature` only one whose
/// `sig` verifies (constant-time).
pub(crate) fn trusted_user(
    project: &Project,
    claimed: Option<&ExternalId>,
    sig: Option<&str>,
) -> Option<ExternalId> {
    identity(project, claimed, sig)
        .trusted()
        .then(|| claimed.cloned())
        .flatten()
}

/// Adds the `Offers-Identity` header saying `identity` (nothing for an anonymous call).
pub(crate) fn add_identity_header(response: &mut Response, identity: Identity) {
    if let Some(value) = identity.as_str() {
        response
            .headers_mut()
            .insert(IDENTITY_HEADER, HeaderValue::from_static(value));
    }
}

/// Resolves a widget call: the project (404), the origin decision, the rate limit (429), and
/// the trusted user.
pub(crate) async fn resolve(
    state: &AppState,
    params: WidgetParams,
    origin: Option<&HeaderValue>,
    ip: Option<IpAddr>,
) -> Result<Visitor, ApiError> {
    let slot = state
        .live()
        .slot_by_key(&params.key)
        .await?
        .ok_or_else(|| ApiError::NotFound("no project has this public key".into()))?;
    let project = state.live().project(&slot);
    state
        .widget_limiter()
        .check((ip, project.id))
        .map_err(ApiError::rate_limited)?;
    let user = trusted_user(&project, params.user.as_ref(), params.sig.as_deref());
    Ok(Visitor {
        origin_allowed: origin_allowed(&project, origin),
        slot,
        project,
        room: params.room,
        claimed_user: params.user,
        sig: params.sig,
        user,
        language: params.language,
    })
}

/// Offers for this room and user: live now or starting within 24 hours.
#[utoipa::path(
    get,
    path = "/widget/v1/offers",
    tag = "widget",
    params(
        ("key" = String, Query, description = "The project's public key (`data-project`)"),
        ("room" = String, Query, description = "The chat room the user entered"),
        ("user" = Option<String>, Query, description = "The user's id, if known"),
        ("sig" = Option<String>, Query, description = "Lowercase hex HMAC-SHA256 of `user` under the project's identity secret (required for the user to count when the project sets `requireUserSignature`)"),
        ("lang" = Option<String>, Query, description = "The visitor's language (BCP 47, e.g. `de-AT`; the widget sends `data-lang`, `Offers.setLanguage` or `navigator.language`). A language in the user's profile wins. Offers are sent in the best translation: exact, then the language alone, then the offer's own text"),
        ("If-None-Match" = Option<String>, Header, description = "An ETag from a previous answer"),
    ),
    responses(
        (status = 200, description = "The offers live now, or starting within 24 hours, for this room and user", body = FeedResponse,
            headers(("ETag" = String, description = "Strong entity tag over the offers"),
                ("Offers-Identity" = String, description = "When `user` is given, how it was judged: `signed`, `not-required` (the project does not require a signature), `unsigned` or `bad-signature` (both served as anonymous)"))),
        (status = 304, description = "Offers unchanged since the ETag in If-None-Match"),
        (status = 400, description = "`key` or `room` missing, or an invalid id", body = ErrorBody),
        (status = 404, description = "No project has this public key", body = ErrorBody),
        (status = 429, description = "Rate limited (per client IP and project); see Retry-After", body = ErrorBody),
    )
)]
pub(crate) async fn feed(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let params = WidgetParams::from_query(query.as_deref())?;
    let visitor = resolve(&state, params, headers.get(header::ORIGIN), ip).await?;
    let index = state.live().offers(&visitor.slot).await?;
    if visitor.origin_allowed {
        state
            .live()
            .note_entry(&visitor.slot, visitor.room.as_str(), visitor.user());
    }
    let now = Utc::now();
    // Offers are serialized once, when they enter the index; pages of them are kept per room
    // (and per user with personal offers) until the index changes.
    let mut asking = FeedVisitor {
        room: visitor.room.as_str(),
        user: visitor.user(),
        claimed: visitor.claimed(),
        language: visitor.language.as_ref(),
        context: None,
    };
    let page = match (index.feed_page(&asking, now), visitor.user()) {
        (Ok(page), _) => page,
        (Err(NeedsContext), Some(user)) => {
            let context = state
                .live()
                .user_context(&visitor.slot, &index, user)
                .await?;
            asking.context = Some(&context);
            index
                .feed_page(&asking, now)
                .map_err(|_| ApiError::Internal("the feed still needs a user context".into()))?
        }
        (Err(NeedsContext), None) => {
            return Err(ApiError::Internal(
                "an anonymous feed asked for a user context".into(),
            ));
        }
    };
    let extra = campaign_part(&state, &visitor, &index, now).await?;
    let etag = page.etag_with(&extra);
    let etag_value = HeaderValue::from_str(&etag).map_err(|e| ApiError::Internal(e.to_string()))?;
    let cache = HeaderValue::from_static("no-cache");
    let mut response = if if_none_match(&headers, &etag) {
        (
            StatusCode::NOT_MODIFIED,
            [(header::ETAG, etag_value), (header::CACHE_CONTROL, cache)],
        )
            .into_response()
    } else {
        // Compressed here, once per page, rather than per request by the compression layer
        // (which leaves answers that carry a Content-Encoding alone).
        let accept = headers
            .get_all(header::ACCEPT_ENCODING)
            .iter()
            .filter_map(|v| v.to_str().ok());
        let (body, encoding) =
            page.body_with(&format_timestamp(&now), &extra, Encoding::preferred(accept));
        let mut response = (
            StatusCode::OK,
            [
                (
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                ),
                (header::ETAG, etag_value),
                (header::CACHE_CONTROL, cache),
            ],
            Body::new(body),
        )
            .into_response();
        if let Some(coding) = encoding.header() {
            response
                .headers_mut()
                .insert(header::CONTENT_ENCODING, HeaderValue::from_static(coding));
        }
        response
    };
    response
        .headers_mut()
        .insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    add_identity_header(&mut response, visitor.identity());
    if !visitor.origin_allowed {
        response.extensions_mut().insert(CorsDenied);
    }
    Ok(response)
}

/// The feed's members that are not the page's (each starting with `,`): the project's `caps`
/// when any is set and, for an identified user then, `recentPopups` (their impressions of
/// pop-up offers in the last 7 days, newest first, at most 200). Empty without caps.
async fn campaign_part(
    state: &AppState,
    visitor: &Visitor,
    index: &OffersIndex,
    now: chrono::DateTime<Utc>,
) -> Result<String, ApiError> {
    use offers_core::api::RecentPopup;
    use offers_core::api::campaign::MAX_RECENT_POPUPS;
    let caps = visitor.project.caps;
    if caps.is_empty() {
        return Ok(String::new());
    }
    let mut extra = String::from(",\"caps\":");
    extra.push_str(&serde_json::to_string(&caps).map_err(|e| ApiError::Internal(e.to_string()))?);
    let Some(user) = visitor.user() else {
        return Ok(extra);
    };
    // Twice the answer's share: in-feed offers' impressions are read and left out.
    let shown = state
        .store()
        .user_recent_impressions(
            visitor.project.id,
            user,
            now - chrono::Duration::days(7),
            2 * MAX_RECENT_POPUPS as i64,
        )
        .await?;
    extra.push_str(",\"recentPopups\":[");
    let mut listed = 0;
    for impression in shown {
        // An offer no longer indexed (ended) counts as the default, a pop-up.
        let popup = index
            .offer(impression.offer_id)
            .is_none_or(|offer| offer.spec.view_type == offers_core::ViewType::Popup);
        if !popup {
            continue;
        }
        let item = serde_json::to_string(&RecentPopup {
            id: impression.id,
            at: impression.at,
        })
        .map_err(|e| ApiError::Internal(e.to_string()))?;
        if listed == MAX_RECENT_POPUPS || extra.len() + item.len() + 2 > MAX_EXTRA_BYTES {
            break;
        }
        if listed > 0 {
            extra.push(',');
        }
        extra.push_str(&item);
        listed += 1;
    }
    extra.push(']');
    Ok(extra)
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
