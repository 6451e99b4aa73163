//! The caller of a partner or Studio call: the [`Caller`] extractor (the project from
//! `x-api-key`, then either a bearer token or the Studio's session cookie), giving
//! `Caller {project, actor, role, grants}` either way. Whether the caller may make the call
//! is decided once, by [`crate::http::access::Access`]. The token rules themselves are in
//! [`crate::auth`].
//!
//! Sessions: the cookie [`SESSION_COOKIE`] holds a random secret whose SHA-256 names the
//! session row; it works for [`SESSION_IDLE`] after its last use and [`SESSION_MAX_AGE`] after
//! sign-in. A session call that writes needs `x-csrf-token` equal to the session's CSRF token,
//! and any session call whose `Sec-Fetch-Site` or `Origin` says it comes from another site is
//! refused: a cookie alone never authorizes a cross-site request. Bearer calls need neither.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, header};
use chrono::{DateTime, Duration, Utc};
use offers_core::access::Grants;

use crate::auth::{AnyClaims, peek_any_claims, secrets_equal, sha256_hex};
use crate::error::ApiError;
use crate::state::AppState;
use crate::store::Project;
use crate::store::people::{Actor, SessionRow};

/// The Studio's session cookie.
pub(crate) const SESSION_COOKIE: &str = "offers_session";

/// A session ends this long after its last use.
pub(crate) const SESSION_IDLE: Duration = Duration::hours(8);

/// A session ends this long after sign-in, used or not.
pub(crate) const SESSION_MAX_AGE: Duration = Duration::days(7);

/// The header a session's writes carry.
pub(crate) const CSRF_HEADER: &str = "x-csrf-token";

/// The authenticated caller: its project, who it is, its role and what the role grants.
#[derive(Debug, Clone)]
pub(crate) struct Caller {
    pub project: Project,
    pub actor: Actor,
    /// The role's name (`owner`, `editor`, `viewer` or a custom role).
    pub role: String,
    pub grants: Grants,
    /// Whether the caller is the project's account owner (a signed-in person only).
    pub owner: bool,
}

impl Caller {
    /// The caller's project id (every query is scoped by it).
    pub(crate) fn project_id(&self) -> i64 {
        self.project.id
    }
}

fn unauthorized(msg: &str) -> ApiError {
    ApiError::Unauthorized(msg.to_owned())
}

const BAD: &str = "invalid API key or token";

fn header_str(headers: &HeaderMap, name: impl header::AsHeaderName) -> Option<&str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

/// The bearer token of `Authorization: Bearer <token>`, if any.
fn bearer(headers: &HeaderMap) -> Option<&str> {
    header_str(headers, header::AUTHORIZATION).and_then(|v| {
        let (scheme, rest) = v.split_once(' ')?;
        scheme
            .eq_ignore_ascii_case("bearer")
            .then(|| rest.trim())
            .filter(|t| !t.is_empty())
    })
}

/// The value of cookie `name`, if the request carries it.
pub(crate) fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim())
        .filter(|v| !v.is_empty())
}

/// The live session of the request's cookie, if any (idle and absolute limits applied).
pub(crate) async fn session_of(
    state: &AppState,
    headers: &HeaderMap,
    now: DateTime<Utc>,
) -> Result<Option<(String, SessionRow)>, ApiError> {
    let Some(secret) = cookie(headers, SESSION_COOKIE) else {
        return Ok(None);
    };
    let hash = sha256_hex(secret);
    let session = state
        .store()
        .session(&hash, now - SESSION_IDLE, now - SESSION_MAX_AGE)
        .await?;
    Ok(session.map(|s| (hash, s)))
}

/// Refuses a session request that says it comes from another site (`Sec-Fetch-Site:
/// cross-site`, or an `Origin` that is not this server's), and a session write without the
/// session's CSRF token.
pub(crate) fn check_csrf(
    state: &AppState,
    parts_method: &Method,
    headers: &HeaderMap,
    session: &SessionRow,
) -> Result<(), ApiError> {
    let refuse = |why: &str| Err(ApiError::Forbidden(format!("csrf: {why}")));
    if header_str(headers, "sec-fetch-site").is_some_and(|v| v.eq_ignore_ascii_case("cross-site")) {
        return refuse("a cross-site request cannot use the session cookie");
    }
    if let Some(origin) = header_str(headers, header::ORIGIN)
        && !same_origin(state, headers, origin)
    {
        return refuse("the request's Origin is not this server");
    }
    let safe = matches!(*parts_method, Method::GET | Method::HEAD | Method::OPTIONS);
    if !safe {
        let sent = header_str(headers, CSRF_HEADER).unwrap_or_default();
        if !secrets_equal(sent, &session.csrf_token) {
            return refuse("a write with the session cookie needs the `x-csrf-token` header");
        }
    }
    Ok(())
}

/// Whether `origin` is this server: the configured public URL's origin, or the `Host` the
/// request was sent to.
fn same_origin(state: &AppState, headers: &HeaderMap, origin: &str) -> bool {
    let authority = origin
        .split_once("://")
        .map(|(_, rest)| rest.trim_end_matches('/'))
        .unwrap_or_default();
    if authority.is_empty() {
        return false;
    }
    if let Some(public) = &state.settings().public_url
        && public.eq_ignore_ascii_case(origin.trim_end_matches('/'))
    {
        return true;
    }
    header_str(headers, header::HOST).is_some_and(|host| host.eq_ignore_ascii_case(authority))
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let api_key = header_str(&parts.headers, "x-api-key")
            .ok_or_else(|| unauthorized("missing `x-api-key` header"))?;
        let now = Utc::now();
        let caller = match bearer(&parts.headers) {
            Some(token) => from_token(state, api_key, token, now).await?,
            None => match session_of(state, &parts.headers, now).await? {
                Some((hash, session)) => {
                    check_csrf(state, &parts.method, &parts.headers, &session)?;
                    from_session(state, api_key, &hash, &session, now).await?
                }
                None if cookie(&parts.headers, SESSION_COOKIE).is_some() => {
                    return Err(unauthorized(
                        "the session has expired or was signed out: sign in again",
                    ));
                }
                None => {
                    return Err(unauthorized(
                        "missing `Authorization: Bearer <token>` header",
                    ));
                }
            },
        };
        state
            .limiter()
            .check(caller.project.id)
            .map_err(ApiError::rate_limited)?;
        Ok(caller)
    }
}

/// A bearer token's caller: a legacy token's built-in role, or a named token's row (which
/// must be neither revoked nor expired: read on every call, so every replica refuses it at once).
async fn from_token(
    state: &AppState,
    api_key: &str,
    token: &str,
    now: DateTime<Utc>,
) -> Result<Caller, ApiError> {
    let claims = peek_any_claims(token).map_err(|_| unauthorized(BAD))?;
    let store = state.store();
    let project = store
        .project_by_id(claims.project_id())
        .await?
        .ok_or_else(|| unauthorized(BAD))?;
    // Check the signature first, then the key: both in constant time, same answer for both.
    let mut verified = state.signer().verify_any(token, &project, &[], now);
    if verified.is_err() {
        let retired = store.retired_secrets(project.id, now).await?;
        if !retired.is_empty() {
            verified = state.signer().verify_any(token, &project, &retired, now);
        }
    }
    let key_ok = secrets_equal(api_key, &project.api_key);
    let claims = match verified {
        Ok(claims) if key_ok => claims,
        _ => return Err(unauthorized(BAD)),
    };
    match claims {
        AnyClaims::Legacy(claims) => Ok(Caller {
            project,
            actor: Actor::LegacyToken,
            role: claims.role.as_str().to_owned(),
            grants: claims.role.legacy_grants(),
            owner: false,
        }),
        AnyClaims::Named(claims) => {
            let row = store
                .token_by_id(project.id, claims.token_id)
                .await?
                .filter(|row| secrets_equal(&row.jti, &claims.jti))
                .ok_or_else(|| unauthorized(BAD))?;
            if !row.is_valid_at(now) {
                return Err(unauthorized("this token was revoked or has expired"));
            }
            let grants = store
                .role_grants(project.id, &row.role)
                .await?
                .unwrap_or(Grants::NONE);
            if row
                .last_used_at
                .is_none_or(|t| now - t >= Duration::minutes(1))
            {
                let store = state.store_arc();
                let id = row.id;
                tokio::spawn(async move {
                    if let Err(e) = store.touch_token(id, now).await {
                        tracing::warn!(error = %e, token = id, "could not note the token's use");
                    }
                });
            }
            Ok(Caller {
                project,
                actor: Actor::Token {
                    id: row.id,
                    name: row.name,
                },
                role: row.role,
                grants,
                owner: false,
            })
        }
    }
}

/// A session's caller in the project named by `x-api-key`: the person's active membership.
async fn from_session(
    state: &AppState,
    api_key: &str,
    hash: &str,
    session: &SessionRow,
    now: DateTime<Utc>,
) -> Result<Caller, ApiError> {
    let membership = state
        .store()
        .memberships(session.user.id)
        .await?
        .into_iter()
        .find(|m| secrets_equal(api_key, &m.project.api_key))
        .ok_or_else(|| unauthorized("invalid API key for this session"))?;
    if now - session.last_seen_at >= Duration::minutes(1) {
        let store = state.store_arc();
        let hash = hash.to_owned();
        tokio::spawn(async move {
            if let Err(e) = store.touch_session(&hash, now).await {
                tracing::warn!(error = %e, "could not note the session's use");
            }
        });
    }
    Ok(Caller {
        project: membership.project,
        actor: Actor::User {
            id: session.user.id,
            email: session.user.email.clone(),
        },
        role: membership.role,
        grants: membership.grants,
        owner: membership.owner,
    })
}
