//! SPEC §8 (issue 14): signing in (`/external/session`), invitations, people, roles, named
//! tokens, the audit log and the project's settings. Who may call each is the route table's
//! business ([`crate::http::access`]); the rules of names, passwords and grants are the core's
//! ([`offers_core::access`]); storage is [`crate::store::people`].
//!
//! Two guards of their own: nobody hands out more than they hold (a token, an invitation or
//! a role change needs the caller's grants to cover the role's), and the role `owner` belongs
//! to the account owner alone (handed over, never given).

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::PathRejection;
use axum::extract::{FromRequest, Path, RawQuery, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post};
use chrono::{DateTime, Duration, Utc};
use offers_core::access::{
    BuiltInRole, Grants, RoleName, check_password, is_role_name, normalize_email,
    normalize_person_name,
};
use offers_core::api::{
    AcceptInvitationRequest, AuditEntry, ErrorBody, InvitationCreated, InvitationRequest,
    IssuedToken, Membership, PendingInvitation, Person, PersonPatch, ProjectSettingsPatch,
    ProjectSettingsView, RoleInfo, RoleInput, RolePatch, SessionResponse, SessionUser,
    SignInRequest, TokenInfo, TokenRequest, UserStatus,
};
use serde::de::DeserializeOwned;

use crate::auth::{
    TokenSigner, hash_password, random_base62, random_hex, sha256_hex, verify_password,
};
use crate::bus::Change;
use crate::error::ApiError;
use crate::http::access::Access;
use crate::http::body::{Page, media_type_of, parse_json, query_param};
use crate::http::caller::{Caller, SESSION_COOKIE, SESSION_MAX_AGE, check_csrf, session_of};
use crate::http::widget::ClientIp;
use crate::state::AppState;
use crate::store::people::{
    Accepted, Acceptor, Actor, AuditFilter, NewInvitation, NewToken, PersonChange, PersonUpdate,
    RoleDelete, RoleUpdate, TokenRow, UserRow,
};
use crate::store::{ProjectSettings, Store};

/// How long an invitation link works.
pub(crate) const INVITATION_VALID_FOR: Duration = Duration::hours(72);

/// The message of every failed sign-in (it never says whether the e-mail exists).
pub(crate) const WRONG_CREDENTIALS: &str = "wrong e-mail or password";

/// The message of a used or expired invitation.
pub(crate) const INVITATION_GONE: &str = "this invitation has expired or was already used";

/// The routes of this resource.
pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/external/session",
            post(sign_in).get(get_session).delete(sign_out),
        )
        .route(
            "/external/invitation",
            post(create_invitation).get(list_invitations),
        )
        .route("/external/invitation/accept", post(accept_invitation))
        .route("/external/people", get(list_people))
        .route("/external/people/{personId}", patch(update_person))
        .route(
            "/external/people/{personId}/ownership",
            post(transfer_ownership),
        )
        .route("/external/role", get(list_roles).post(create_role))
        .route(
            "/external/role/{roleName}",
            patch(update_role).delete(delete_role),
        )
        .route("/external/token", get(list_tokens).post(issue_token))
        .route(
            "/external/token/{tokenName}",
            axum::routing::delete(revoke_token),
        )
        .route("/external/audit", get(list_audit))
        .route("/external/project", get(get_project).patch(update_project))
}

/// A JSON body read strictly into `T`: 415 unless `application/json`, 400 when it does not
/// parse, 422 naming the field that does not fit `T`.
pub(crate) struct JsonBody<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        if media_type_of(req.headers()).as_deref() != Some("application/json") {
            return Err(ApiError::UnsupportedMediaType(
                "send the body as application/json".into(),
            ));
        }
        let bytes = Bytes::from_request(req, state).await?;
        let value = parse_json(&bytes)?;
        serde_path_to_error::deserialize(value)
            .map(JsonBody)
            .map_err(|e| {
                let path = e.path().to_string();
                let inner = e.into_inner().to_string();
                let field = match path.as_str() {
                    "." | "" => inner
                        .split('`')
                        .nth(1)
                        .filter(|_| inner.starts_with("missing field"))
                        .unwrap_or("body")
                        .to_owned(),
                    other => other.to_owned(),
                };
                ApiError::invalid_field(&field, inner)
            })
    }
}

fn field<T>(name: &str, parsed: Result<T, String>) -> Result<T, ApiError> {
    parsed.map_err(|reason| ApiError::invalid_field(name, reason))
}

/// `Set-Cookie` of a new session.
fn session_cookie(secret: &str) -> HeaderValue {
    let value = format!(
        "{SESSION_COOKIE}={secret}; HttpOnly; Secure; SameSite=Strict; Path=/; Max-Age={}",
        SESSION_MAX_AGE.num_seconds()
    );
    HeaderValue::from_str(&value).unwrap_or(HeaderValue::from_static(""))
}

/// `Set-Cookie` that clears the session cookie.
fn cleared_cookie() -> HeaderValue {
    HeaderValue::from_static(
        "offers_session=; HttpOnly; Secure; SameSite=Strict; Path=/; Max-Age=0",
    )
}

/// The session answer for `user` (its active memberships), or `None` when it has none.
async fn session_body(
    state: &AppState,
    user: &UserRow,
    csrf_token: String,
) -> Result<Option<SessionResponse>, ApiError> {
    let memberships = state.store().memberships(user.id).await?;
    if memberships.is_empty() {
        return Ok(None);
    }
    Ok(Some(SessionResponse {
        user: SessionUser {
            id: user.id,
            email: user.email.clone(),
            name: user.name.clone(),
            status: UserStatus::Active,
        },
        memberships: memberships
            .into_iter()
            .map(|m| Membership {
                project_id: m.project.id,
                project_name: m.project.name,
                api_key: m.project.api_key,
                role: m.role,
                owner: m.owner,
                grants: m.grants,
            })
            .collect(),
        csrf_token,
    }))
}

/// Starts a session for `user`: the answer with its cookie.
async fn start_session(
    state: &AppState,
    user: &UserRow,
    now: DateTime<Utc>,
) -> Result<Response, ApiError> {
    let secret = random_base62(43);
    let csrf = random_hex(24);
    let body = session_body(state, user, csrf.clone())
        .await?
        .ok_or_else(|| ApiError::Unauthorized(WRONG_CREDENTIALS.to_owned()))?;
    state
        .store()
        .create_session(user.id, &sha256_hex(&secret), &csrf, now)
        .await?;
    let mut response = Json(body).into_response();
    response
        .headers_mut()
        .insert(header::SET_COOKIE, session_cookie(&secret));
    Ok(response)
}

/// Runs a password hash or check off the async threads; 429 (retry in a second) when the
/// server's [`AppState::password_slots`] are all taken.
async fn blocking<T: Send + 'static>(
    state: &AppState,
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, ApiError> {
    let permit = state
        .password_slots()
        .try_acquire()
        .map_err(|_| ApiError::rate_limited(std::time::Duration::from_secs(1)))?;
    let result = tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiError::Internal(format!("password task failed: {e}")));
    drop(permit);
    result
}

/// Sign in with e-mail and password (the Studio).
#[utoipa::path(
    post,
    path = "/external/session",
    tag = "people",
    request_body(content = SignInRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "Signed in: the person, their projects and the CSRF token; the session cookie `offers_session` is set (HttpOnly; Secure; SameSite=Strict)", body = SessionResponse),
        (status = 401, description = "Wrong e-mail or password (the same answer for an unknown e-mail)", body = ErrorBody),
        (status = 422, description = "`email` or `password` missing", body = ErrorBody),
        (status = 429, description = "Too many failed sign-ins for this account or from this address; `Retry-After` says when to try again", body = ErrorBody),
    )
)]
pub(crate) async fn sign_in(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    JsonBody(body): JsonBody<SignInRequest>,
) -> Result<Response, ApiError> {
    let now = Utc::now();
    let email = body.email.trim().to_lowercase();
    let limits = state.sign_in_limits();
    // The token is taken before the password is checked (given back when it is right), so
    // attempts in parallel cannot pass the limit.
    limits
        .take(&email, Some(ip))
        .map_err(ApiError::rate_limited)?;
    let checked = async {
        let user = state.store().user_by_email(&email).await?;
        let hash = user.as_ref().map(|u| u.password_hash.clone());
        let password = body.password;
        let ok = blocking(&state, move || verify_password(&password, hash.as_deref())).await?;
        Ok::<_, ApiError>(user.filter(|_| ok))
    }
    .await;
    let user = match checked {
        Ok(Some(user)) => user,
        Ok(None) => return Err(ApiError::Unauthorized(WRONG_CREDENTIALS.to_owned())),
        Err(e) => {
            limits.succeeded(&email, Some(ip));
            return Err(e);
        }
    };
    limits.succeeded(&email, Some(ip));
    match start_session(&state, &user, now).await {
        Err(ApiError::Unauthorized(m)) => {
            limits.failed(&email, ip);
            Err(ApiError::Unauthorized(m))
        }
        other => other,
    }
}

/// The signed-in session.
#[utoipa::path(
    get,
    path = "/external/session",
    tag = "people",
    responses(
        (status = 200, description = "The person, their projects and the CSRF token", body = SessionResponse),
        (status = 401, description = "No session cookie, or the session expired or was signed out", body = ErrorBody),
        (status = 403, description = "A cross-site request (csrf)", body = ErrorBody),
    )
)]
pub(crate) async fn get_session(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<SessionResponse>, ApiError> {
    let (_, session) = session_of(&state, &headers, Utc::now())
        .await?
        .ok_or_else(|| ApiError::Unauthorized("not signed in".to_owned()))?;
    check_csrf(&state, &axum::http::Method::GET, &headers, &session)?;
    session_body(&state, &session.user, session.csrf_token.clone())
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::Unauthorized("not signed in".to_owned()))
}

/// Sign out: ends the session and clears its cookie.
#[utoipa::path(
    delete,
    path = "/external/session",
    tag = "people",
    responses(
        (status = 204, description = "Signed out (also when there was no session); the cookie is cleared"),
        (status = 403, description = "A cross-site request, or no `x-csrf-token` (csrf)", body = ErrorBody),
    )
)]
pub(crate) async fn sign_out(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    if let Some((hash, session)) = session_of(&state, &headers, Utc::now()).await? {
        check_csrf(&state, &axum::http::Method::DELETE, &headers, &session)?;
        state.store().delete_session(&hash).await?;
    }
    let mut response = StatusCode::NO_CONTENT.into_response();
    response
        .headers_mut()
        .insert(header::SET_COOKIE, cleared_cookie());
    Ok(response)
}

/// A role the caller may hand out in its project: it exists, is not `owner` (unless
/// `owner_allowed`), and the caller's grants cover it. 422 / 409 / 403 otherwise.
async fn grantable_role(
    state: &AppState,
    caller: &Caller,
    role: &str,
    owner_allowed: bool,
) -> Result<Grants, ApiError> {
    if !is_role_name(role) {
        return Err(ApiError::invalid_field(
            "role",
            offers_core::access::ROLE_NAME_REASON,
        ));
    }
    let Some(grants) = state.store().role_grants(caller.project_id(), role).await? else {
        return Err(ApiError::invalid_field(
            "role",
            format!("no role `{role}` in this project"),
        ));
    };
    if role == BuiltInRole::Owner.as_str() && !owner_allowed {
        return Err(ApiError::Conflict(
            "the role `owner` belongs to the account owner alone: hand over ownership instead"
                .to_owned(),
        ));
    }
    if !caller.grants.covers(&grants) {
        return Err(ApiError::Forbidden(format!(
            "your role `{}` cannot hand out `{role}`: it grants more than yours",
            caller.role
        )));
    }
    Ok(grants)
}

/// The base of links to the Studio: the configured public URL, else `http://<Host>`.
fn public_base(state: &AppState, headers: &HeaderMap) -> String {
    state.settings().public_url.clone().unwrap_or_else(|| {
        let host = headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or("127.0.0.1:8080");
        format!("http://{host}")
    })
}

/// Invite someone to the project (the link sets their password once, for 72 hours).
#[utoipa::path(
    post,
    path = "/external/invitation",
    tag = "people",
    request_body(content = InvitationRequest, content_type = "application/json"),
    responses(
        (status = 201, description = "Invited: the link to send them", body = InvitationCreated),
        (status = 401, description = "Missing or bad credentials", body = ErrorBody),
        (status = 403, description = "The caller's role lacks `full` on `people`, or the role grants more than the caller's", body = ErrorBody),
        (status = 409, description = "`owner` while the project has an account owner", body = ErrorBody),
        (status = 422, description = "A bad `email`, `role` or `name`", body = ErrorBody),
    ),
    security(("apiKey" = [], "bearer" = []))
)]
pub(crate) async fn create_invitation(
    State(state): State<AppState>,
    Access(caller): Access,
    headers: HeaderMap,
    JsonBody(body): JsonBody<InvitationRequest>,
) -> Result<(StatusCode, Json<InvitationCreated>), ApiError> {
    let has_owner = state.store().has_owner(caller.project_id()).await?;
    grantable_role(&state, &caller, &body.role, !has_owner).await?;
    let created = invite(
        state.store(),
        &caller.actor,
        caller.project_id(),
        &body,
        &public_base(&state, &headers),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(created)))
}

/// Stores an invitation and builds its link: the role must exist, and `owner` only while
/// the project has no account owner. (Whether the inviter may hand the role out is the
/// caller's check: [`grantable_role`].)
pub(crate) async fn invite(
    store: &dyn Store,
    actor: &Actor,
    project_id: i64,
    body: &InvitationRequest,
    base: &str,
) -> Result<InvitationCreated, ApiError> {
    let email = field("email", normalize_email(&body.email))?;
    let name = body
        .name
        .as_deref()
        .map(|n| field("name", normalize_person_name(n)))
        .transpose()?;
    if store.role_grants(project_id, &body.role).await?.is_none() {
        return Err(ApiError::invalid_field(
            "role",
            format!("no role `{}` in this project", body.role),
        ));
    }
    if body.role == BuiltInRole::Owner.as_str() && store.has_owner(project_id).await? {
        return Err(ApiError::Conflict(
            "the project has an account owner: the role `owner` is handed over, not given"
                .to_owned(),
        ));
    }
    let token = random_base62(43);
    let now = Utc::now();
    let expires_at = now + INVITATION_VALID_FOR;
    let invitation = NewInvitation {
        email: email.clone(),
        name,
        role: body.role.clone(),
        token_hash: sha256_hex(&token),
        expires_at,
    };
    store
        .create_invitation(actor, project_id, &invitation, now)
        .await?;
    Ok(InvitationCreated {
        email,
        role: body.role.clone(),
        invite_url: format!("{}/studio/#invite={token}", base.trim_end_matches('/')),
        expires_at: crate::store::from_millis(crate::store::millis(expires_at))?,
    })
}

/// The project's pending invitations.
#[utoipa::path(
    get,
    path = "/external/invitation",
    tag = "people",
    responses(
        (status = 200, description = "Invitations not used and not expired, newest first", body = Vec<PendingInvitation>),
        (status = 401, description = "Missing or bad credentials", body = ErrorBody),
        (status = 403, description = "The caller's role lacks `view` on `people`", body = ErrorBody),
    ),
    security(("apiKey" = [], "bearer" = []))
)]
pub(crate) async fn list_invitations(
    State(state): State<AppState>,
    Access(caller): Access,
) -> Result<Json<Vec<PendingInvitation>>, ApiError> {
    Ok(Json(
        state
            .store()
            .pending_invitations(caller.project_id(), Utc::now())
            .await?,
    ))
}

/// Accept an invitation: set the password (an existing account gives its own) and sign in.
#[utoipa::path(
    post,
    path = "/external/invitation/accept",
    tag = "people",
    request_body(content = AcceptInvitationRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "Joined and signed in (the session cookie is set)", body = SessionResponse),
        (status = 400, description = "The invitation expired or was already used (`error.fields.token`)", body = ErrorBody),
        (status = 401, description = "The e-mail has an account and this is not its password", body = ErrorBody),
        (status = 403, description = "The person's membership of the project is disabled (an invitation never re-activates it)", body = ErrorBody),
        (status = 409, description = "An account with the e-mail was created meanwhile: accept again with its password", body = ErrorBody),
        (status = 422, description = "A bad `name` or `password` (10–200 characters)", body = ErrorBody),
    )
)]
pub(crate) async fn accept_invitation(
    State(state): State<AppState>,
    JsonBody(body): JsonBody<AcceptInvitationRequest>,
) -> Result<Response, ApiError> {
    let now = Utc::now();
    let gone = || ApiError::bad_param("token", INVITATION_GONE);
    let name = field("name", normalize_person_name(&body.name))?;
    field("password", check_password(&body.password))?;
    let invitation = state
        .store()
        .invitation_by_token(&sha256_hex(body.token.trim()), now)
        .await?
        .ok_or_else(gone)?;
    let password = body.password;
    let acceptor = match state.store().user_by_email(&invitation.email).await? {
        Some(user) => {
            // The account's sign-in limit applies to its password here too.
            let limits = state.sign_in_limits();
            limits
                .take(&user.email, None)
                .map_err(ApiError::rate_limited)?;
            let hash = user.password_hash.clone();
            let pw = password.clone();
            match blocking(&state, move || verify_password(&pw, Some(&hash))).await {
                Ok(true) => limits.succeeded(&user.email, None),
                Ok(false) => return Err(ApiError::Unauthorized(WRONG_CREDENTIALS.to_owned())),
                Err(e) => {
                    limits.succeeded(&user.email, None);
                    return Err(e);
                }
            }
            Acceptor::Existing { user_id: user.id }
        }
        None => {
            let password_hash = blocking(&state, move || hash_password(&password))
                .await?
                .map_err(|e| ApiError::Internal(e.to_string()))?;
            Acceptor::New {
                name,
                password_hash,
            }
        }
    };
    match state
        .store()
        .accept_invitation(&invitation, &acceptor, now)
        .await?
    {
        Accepted::Gone => return Err(gone()),
        Accepted::Disabled => {
            return Err(ApiError::Forbidden(
                "your membership of this project is disabled; an invitation does not re-activate it (ask someone with `update` on `people`)"
                    .to_owned(),
            ));
        }
        Accepted::EmailTaken => {
            return Err(ApiError::Conflict(
                "an account with this e-mail was just created: accept the invitation again with its password"
                    .to_owned(),
            ));
        }
        Accepted::Joined(_) => {}
    }
    let user = state
        .store()
        .user_by_email(&invitation.email)
        .await?
        .ok_or_else(|| ApiError::Internal("the accepted account vanished".to_owned()))?;
    start_session(&state, &user, now).await
}

/// The project's people.
#[utoipa::path(
    get,
    path = "/external/people",
    tag = "people",
    responses(
        (status = 200, description = "Every member, by e-mail", body = Vec<Person>),
        (status = 401, description = "Missing or bad credentials", body = ErrorBody),
        (status = 403, description = "The caller's role lacks `view` on `people`", body = ErrorBody),
    ),
    security(("apiKey" = [], "bearer" = []))
)]
pub(crate) async fn list_people(
    State(state): State<AppState>,
    Access(caller): Access,
) -> Result<Json<Vec<Person>>, ApiError> {
    Ok(Json(state.store().list_people(caller.project_id()).await?))
}

fn person_id(path: Result<Path<String>, PathRejection>) -> Result<i64, ApiError> {
    let not_found = || ApiError::NotFound("no such person in this project".to_owned());
    let Ok(Path(raw)) = path else {
        return Err(not_found());
    };
    raw.parse::<i64>()
        .ok()
        .filter(|id| *id > 0 && raw.bytes().all(|b| b.is_ascii_digit()))
        .ok_or_else(not_found)
}

fn person_answer(change: PersonChange) -> Result<Json<Person>, ApiError> {
    match change {
        PersonChange::NotFound => Err(ApiError::NotFound(
            "no such person in this project".to_owned(),
        )),
        PersonChange::OwnerConflict => Err(ApiError::Conflict(
            "the account owner cannot be disabled or given another role (hand over ownership to an active member first)"
                .to_owned(),
        )),
        PersonChange::Exceeds => Err(ApiError::Forbidden(
            "this person's current role grants more than yours: only someone holding those grants may change their role or status"
                .to_owned(),
        )),
        PersonChange::Done(person) => Ok(Json(*person)),
    }
}

/// Change a person's name, role or status in this project.
#[utoipa::path(
    patch,
    path = "/external/people/{personId}",
    tag = "people",
    params(("personId" = i64, Path, description = "The person's account id")),
    request_body(content = PersonPatch, content_type = "application/json"),
    responses(
        (status = 200, description = "The person as changed", body = Person),
        (status = 401, description = "Missing or bad credentials", body = ErrorBody),
        (status = 403, description = "The caller's role lacks `update` on `people`, or the new role grants more than the caller's", body = ErrorBody),
        (status = 404, description = "No such person in this project", body = ErrorBody),
        (status = 409, description = "The account owner cannot be disabled or given another role; `owner` is never given", body = ErrorBody),
        (status = 422, description = "A bad `name`, `role` or `status`", body = ErrorBody),
    ),
    security(("apiKey" = [], "bearer" = []))
)]
pub(crate) async fn update_person(
    State(state): State<AppState>,
    Access(caller): Access,
    path: Result<Path<String>, PathRejection>,
    JsonBody(body): JsonBody<PersonPatch>,
) -> Result<Json<Person>, ApiError> {
    let id = person_id(path)?;
    let name = body
        .name
        .as_deref()
        .map(|n| field("name", normalize_person_name(n)))
        .transpose()?;
    if let Some(role) = &body.role {
        grantable_role(&state, &caller, role, false).await?;
    }
    let update = PersonUpdate {
        name,
        role: body.role,
        status: body.status,
    };
    let change = state
        .store()
        .update_person(
            &caller.actor,
            caller.project_id(),
            id,
            &update,
            &caller.grants,
            Utc::now(),
        )
        .await?;
    person_answer(change)
}

/// Hand the account ownership over to another active member (the account owner only).
#[utoipa::path(
    post,
    path = "/external/people/{personId}/ownership",
    tag = "people",
    params(("personId" = i64, Path, description = "The new owner's account id")),
    responses(
        (status = 200, description = "The new account owner (role `owner`; the old owner now has `editor`)", body = Person),
        (status = 401, description = "Missing or bad credentials", body = ErrorBody),
        (status = 403, description = "The caller is not the signed-in account owner", body = ErrorBody),
        (status = 404, description = "No such person in this project", body = ErrorBody),
        (status = 409, description = "The new owner's membership is disabled", body = ErrorBody),
    ),
    security(("apiKey" = [], "bearer" = []))
)]
pub(crate) async fn transfer_ownership(
    State(state): State<AppState>,
    Access(caller): Access,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<Person>, ApiError> {
    let to = person_id(path)?;
    let from = match caller.actor.user_id() {
        Some(id) if caller.owner => id,
        _ => {
            return Err(ApiError::Forbidden(
                "only the signed-in account owner can hand over ownership".to_owned(),
            ));
        }
    };
    let change = state
        .store()
        .transfer_ownership(&caller.actor, caller.project_id(), from, to, Utc::now())
        .await?;
    person_answer(change)
}

/// The project's roles: the built-in ones, then the custom ones.
#[utoipa::path(
    get,
    path = "/external/role",
    tag = "people",
    responses(
        (status = 200, description = "Every role with its grants", body = Vec<RoleInfo>),
        (status = 401, description = "Missing or bad credentials", body = ErrorBody),
        (status = 403, description = "The caller's role lacks `view` on `people`", body = ErrorBody),
    ),
    security(("apiKey" = [], "bearer" = []))
)]
pub(crate) async fn list_roles(
    State(state): State<AppState>,
    Access(caller): Access,
) -> Result<Json<Vec<RoleInfo>>, ApiError> {
    let builtin = BuiltInRole::ALL.into_iter().map(|r| RoleInfo {
        name: r.as_str().to_owned(),
        built_in: true,
        grants: r.grants(),
    });
    let custom = state
        .store()
        .custom_roles(caller.project_id())
        .await?
        .into_iter()
        .map(|(name, grants)| RoleInfo {
            name,
            built_in: false,
            grants,
        });
    Ok(Json(builtin.chain(custom).collect()))
}

fn built_in_conflict(name: &str) -> Result<(), ApiError> {
    if BuiltInRole::parse(name).is_some() {
        return Err(ApiError::Conflict(format!(
            "`{name}` is a built-in role: it cannot be changed or deleted"
        )));
    }
    Ok(())
}

fn role_not_found() -> ApiError {
    ApiError::NotFound("no such custom role in this project".to_owned())
}

/// The caller may only define grants it holds itself.
fn check_covers(caller: &Caller, grants: &Grants) -> Result<(), ApiError> {
    if caller.grants.covers(grants) {
        Ok(())
    } else {
        Err(ApiError::Forbidden(format!(
            "these grants exceed your role `{}`'s",
            caller.role
        )))
    }
}

/// Create a custom role.
#[utoipa::path(
    post,
    path = "/external/role",
    tag = "people",
    request_body(content = RoleInput, content_type = "application/json"),
    responses(
        (status = 201, description = "Created", body = RoleInfo),
        (status = 401, description = "Missing or bad credentials", body = ErrorBody),
        (status = 403, description = "The caller's role lacks `full` on `people`, or the grants exceed the caller's", body = ErrorBody),
        (status = 409, description = "A role of that name exists", body = ErrorBody),
        (status = 422, description = "A bad `name` or `grants`", body = ErrorBody),
    ),
    security(("apiKey" = [], "bearer" = []))
)]
pub(crate) async fn create_role(
    State(state): State<AppState>,
    Access(caller): Access,
    JsonBody(body): JsonBody<RoleInput>,
) -> Result<(StatusCode, Json<RoleInfo>), ApiError> {
    let name = field("name", RoleName::parse(&body.name))?;
    check_covers(&caller, &body.grants)?;
    if !state
        .store()
        .create_role(
            &caller.actor,
            caller.project_id(),
            name.as_str(),
            &body.grants,
            Utc::now(),
        )
        .await?
    {
        return Err(ApiError::Conflict(format!(
            "a role named `{name}` exists in this project"
        )));
    }
    Ok((
        StatusCode::CREATED,
        Json(RoleInfo {
            name: name.into_string(),
            built_in: false,
            grants: body.grants,
        }),
    ))
}

fn role_name(path: Result<Path<String>, PathRejection>) -> Result<String, ApiError> {
    match path {
        Ok(Path(name)) if is_role_name(&name) => Ok(name),
        _ => Err(role_not_found()),
    }
}

/// Change a custom role's grants.
#[utoipa::path(
    patch,
    path = "/external/role/{roleName}",
    tag = "people",
    params(("roleName" = String, Path, description = "The custom role's name")),
    request_body(content = RolePatch, content_type = "application/json"),
    responses(
        (status = 200, description = "The role as changed", body = RoleInfo),
        (status = 401, description = "Missing or bad credentials", body = ErrorBody),
        (status = 403, description = "The caller's role lacks `update` on `people`, or the grants exceed the caller's", body = ErrorBody),
        (status = 404, description = "No such custom role", body = ErrorBody),
        (status = 409, description = "A built-in role", body = ErrorBody),
        (status = 422, description = "Bad `grants`", body = ErrorBody),
    ),
    security(("apiKey" = [], "bearer" = []))
)]
pub(crate) async fn update_role(
    State(state): State<AppState>,
    Access(caller): Access,
    path: Result<Path<String>, PathRejection>,
    JsonBody(body): JsonBody<RolePatch>,
) -> Result<Json<RoleInfo>, ApiError> {
    let name = role_name(path)?;
    built_in_conflict(&name)?;
    check_covers(&caller, &body.grants)?;
    match state
        .store()
        .update_role(
            &caller.actor,
            caller.project_id(),
            &name,
            &body.grants,
            &caller.grants,
            Utc::now(),
        )
        .await?
    {
        RoleUpdate::NotFound => return Err(role_not_found()),
        RoleUpdate::Exceeds => {
            return Err(ApiError::Forbidden(format!(
                "the role `{name}` grants more than your role `{}`: only someone holding its grants may change it",
                caller.role
            )));
        }
        RoleUpdate::Done => {}
    }
    Ok(Json(RoleInfo {
        name,
        built_in: false,
        grants: body.grants,
    }))
}

/// Delete a custom role nobody holds.
#[utoipa::path(
    delete,
    path = "/external/role/{roleName}",
    tag = "people",
    params(("roleName" = String, Path, description = "The custom role's name")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "Missing or bad credentials", body = ErrorBody),
        (status = 403, description = "The caller's role lacks `full` on `people`", body = ErrorBody),
        (status = 404, description = "No such custom role", body = ErrorBody),
        (status = 409, description = "A built-in role, or people, tokens or invitations hold it", body = ErrorBody),
    ),
    security(("apiKey" = [], "bearer" = []))
)]
pub(crate) async fn delete_role(
    State(state): State<AppState>,
    Access(caller): Access,
    path: Result<Path<String>, PathRejection>,
) -> Result<StatusCode, ApiError> {
    let name = role_name(path)?;
    built_in_conflict(&name)?;
    match state
        .store()
        .delete_role(&caller.actor, caller.project_id(), &name, Utc::now())
        .await?
    {
        RoleDelete::NotFound => Err(role_not_found()),
        RoleDelete::InUse(n) => Err(ApiError::Conflict(format!(
            "role `{name}` is held by {n} people, tokens or invitations: give them another role first"
        ))),
        RoleDelete::Deleted => Ok(StatusCode::NO_CONTENT),
    }
}

pub(crate) fn token_info(row: TokenRow) -> TokenInfo {
    TokenInfo {
        name: row.name,
        role: row.role,
        created_at: row.created_at,
        expires_at: row.expires_at,
        last_used_at: row.last_used_at,
        revoked_at: row.revoked_at,
    }
}

/// The project's named tokens (never their secrets).
#[utoipa::path(
    get,
    path = "/external/token",
    tag = "people",
    responses(
        (status = 200, description = "Every named token, newest first", body = Vec<TokenInfo>),
        (status = 401, description = "Missing or bad credentials", body = ErrorBody),
        (status = 403, description = "The caller's role lacks `view` on `people`", body = ErrorBody),
    ),
    security(("apiKey" = [], "bearer" = []))
)]
pub(crate) async fn list_tokens(
    State(state): State<AppState>,
    Access(caller): Access,
) -> Result<Json<Vec<TokenInfo>>, ApiError> {
    let rows = state.store().list_tokens(caller.project_id()).await?;
    Ok(Json(rows.into_iter().map(token_info).collect()))
}

/// Issues a named token of `project` (the secret is returned once). `None` when the name is
/// taken.
pub(crate) async fn issue_named(
    store: &dyn Store,
    signer: &TokenSigner,
    actor: &Actor,
    project: &crate::store::Project,
    name: &str,
    role: &str,
    expires_at: Option<DateTime<Utc>>,
) -> Result<Option<IssuedToken>, crate::store::StoreError> {
    let now = Utc::now();
    let new = NewToken {
        name: name.to_owned(),
        role: role.to_owned(),
        jti: random_hex(12),
        expires_at: expires_at
            .map(|e| crate::store::from_millis(crate::store::millis(e)))
            .transpose()?,
    };
    let Some(row) = store.create_token(actor, project.id, &new, now).await? else {
        return Ok(None);
    };
    let token = signer.issue_named(project, row.id, &row.jti, now.timestamp());
    Ok(Some(IssuedToken {
        name: row.name,
        role: row.role,
        expires_at: row.expires_at,
        token,
    }))
}

/// Issue a named token.
#[utoipa::path(
    post,
    path = "/external/token",
    tag = "people",
    request_body(content = TokenRequest, content_type = "application/json"),
    responses(
        (status = 201, description = "Issued: `token` is the secret, shown this once", body = IssuedToken),
        (status = 401, description = "Missing or bad credentials", body = ErrorBody),
        (status = 403, description = "The caller's role lacks `full` on `people`, or the token's role grants more than the caller's", body = ErrorBody),
        (status = 409, description = "A token of that name exists (revoked ones included)", body = ErrorBody),
        (status = 422, description = "A bad `name`, `role` or `expiresAt` (it must be in the future)", body = ErrorBody),
    ),
    security(("apiKey" = [], "bearer" = []))
)]
pub(crate) async fn issue_token(
    State(state): State<AppState>,
    Access(caller): Access,
    JsonBody(body): JsonBody<TokenRequest>,
) -> Result<(StatusCode, Json<IssuedToken>), ApiError> {
    if !is_role_name(&body.name) {
        return Err(ApiError::invalid_field(
            "name",
            offers_core::access::ROLE_NAME_REASON,
        ));
    }
    if body.expires_at.is_some_and(|e| e <= Utc::now()) {
        return Err(ApiError::invalid_field(
            "expiresAt",
            "must be in the future",
        ));
    }
    grantable_role(&state, &caller, &body.role, true).await?;
    let issued = issue_named(
        state.store(),
        state.signer(),
        &caller.actor,
        &caller.project,
        &body.name,
        &body.role,
        body.expires_at,
    )
    .await?
    .ok_or_else(|| {
        ApiError::Conflict(format!(
            "a token named `{}` exists in this project",
            body.name
        ))
    })?;
    Ok((StatusCode::CREATED, Json(issued)))
}

/// Revoke a named token: refused (401) from the next call on, on every replica.
#[utoipa::path(
    delete,
    path = "/external/token/{tokenName}",
    tag = "people",
    params(("tokenName" = String, Path, description = "The token's name")),
    responses(
        (status = 204, description = "Revoked (also when it already was)"),
        (status = 401, description = "Missing or bad credentials", body = ErrorBody),
        (status = 403, description = "The caller's role lacks `full` on `people`", body = ErrorBody),
        (status = 404, description = "No token of that name", body = ErrorBody),
    ),
    security(("apiKey" = [], "bearer" = []))
)]
pub(crate) async fn revoke_token(
    State(state): State<AppState>,
    Access(caller): Access,
    path: Result<Path<String>, PathRejection>,
) -> Result<StatusCode, ApiError> {
    let not_found = || ApiError::NotFound("no token of that name in this project".to_owned());
    let name = match path {
        Ok(Path(name)) if is_role_name(&name) => name,
        _ => return Err(not_found()),
    };
    state
        .store()
        .revoke_token(&caller.actor, caller.project_id(), &name, Utc::now())
        .await?
        .ok_or_else(not_found)?;
    Ok(StatusCode::NO_CONTENT)
}

/// The project's audit log, newest first.
#[utoipa::path(
    get,
    path = "/external/audit",
    tag = "people",
    params(
        ("limit" = Option<i64>, Query, description = "Page size: default 20, at most 100"),
        ("offset" = Option<i64>, Query, description = "Entries to skip (default 0)"),
        ("action" = Option<String>, Query, description = "Only this action, e.g. `offer.created`"),
        ("actor" = Option<String>, Query, description = "Only this actor, e.g. `token:ci` or `user:ana@example.com`"),
        ("target" = Option<String>, Query, description = "Only this target, e.g. `offer:12`"),
    ),
    responses(
        (status = 200, description = "A page of entries, newest first", body = Vec<AuditEntry>),
        (status = 400, description = "`limit` or `offset` negative or not a number", body = ErrorBody),
        (status = 401, description = "Missing or bad credentials", body = ErrorBody),
        (status = 403, description = "The caller's role lacks `view` on `people`", body = ErrorBody),
    ),
    security(("apiKey" = [], "bearer" = []))
)]
pub(crate) async fn list_audit(
    State(state): State<AppState>,
    Access(caller): Access,
    RawQuery(query): RawQuery,
) -> Result<Json<Vec<AuditEntry>>, ApiError> {
    let page = Page::from_query(query.as_deref())?;
    let filter = AuditFilter {
        action: query_param(query.as_deref(), "action").filter(|v| !v.is_empty()),
        actor: query_param(query.as_deref(), "actor").filter(|v| !v.is_empty()),
        target: query_param(query.as_deref(), "target").filter(|v| !v.is_empty()),
    };
    if page.limit == 0 {
        return Ok(Json(Vec::new()));
    }
    Ok(Json(
        state
            .store()
            .list_audit(caller.project_id(), &filter, page.limit, page.offset)
            .await?,
    ))
}

fn settings_view(p: crate::store::Project) -> ProjectSettingsView {
    ProjectSettingsView {
        id: p.id,
        name: p.name,
        public_key: p.public_key,
        require_user_signature: p.require_user_signature,
        allowed_origins: p.allowed_origins,
        caps: p.caps,
        attribution_window_hours: p.attribution_window_hours,
    }
}

/// The caps and attribution window of a settings change, checked: every bad one named
/// (`caps.perDay`, `attributionWindowHours`).
pub(crate) fn check_campaign_settings(
    caps: Option<&offers_core::api::Caps>,
    attribution_window_hours: Option<u32>,
) -> Result<(), ApiError> {
    let mut bad = crate::error::Fields::new();
    for (field, reason) in caps.map(|c| c.errors()).unwrap_or_default() {
        bad.insert(field.to_owned(), reason);
    }
    if let Some(reason) =
        attribution_window_hours.and_then(offers_core::api::campaign::attribution_window_error)
    {
        bad.insert("attributionWindowHours".to_owned(), reason);
    }
    if bad.is_empty() {
        Ok(())
    } else {
        Err(ApiError::Validation(bad))
    }
}

/// The project's settings.
#[utoipa::path(
    get,
    path = "/external/project",
    tag = "people",
    responses(
        (status = 200, description = "The project's settings", body = ProjectSettingsView),
        (status = 401, description = "Missing or bad credentials", body = ErrorBody),
        (status = 403, description = "The caller's role lacks `view` on `settings`", body = ErrorBody),
    ),
    security(("apiKey" = [], "bearer" = []))
)]
pub(crate) async fn get_project(Access(caller): Access) -> Json<ProjectSettingsView> {
    Json(settings_view(caller.project))
}

/// Change the project's settings (what `offers-api project set` changes).
#[utoipa::path(
    patch,
    path = "/external/project",
    tag = "people",
    request_body(content = ProjectSettingsPatch, content_type = "application/json"),
    responses(
        (status = 200, description = "The settings as changed", body = ProjectSettingsView),
        (status = 401, description = "Missing or bad credentials", body = ErrorBody),
        (status = 403, description = "The caller's role lacks `update` on `settings`", body = ErrorBody),
        (status = 422, description = "An origin that is not `http(s)://host[:port]` (`allowedOrigins[i]`), a cap out of range (`caps.perDay`, …) or an attribution window outside 1–720 hours (`attributionWindowHours`)", body = ErrorBody),
    ),
    security(("apiKey" = [], "bearer" = []))
)]
pub(crate) async fn update_project(
    State(state): State<AppState>,
    Access(caller): Access,
    JsonBody(body): JsonBody<ProjectSettingsPatch>,
) -> Result<Json<ProjectSettingsView>, ApiError> {
    let allowed_origins = match body.allowed_origins {
        None => None,
        Some(list) => {
            let mut out: Vec<String> = Vec::new();
            for (i, raw) in list.iter().enumerate() {
                let origin = crate::http::cors::normalize_origin(raw).ok_or_else(|| {
                    ApiError::invalid_field(
                        &format!("allowedOrigins[{i}]"),
                        "must be an origin: http(s)://host[:port], no path",
                    )
                })?;
                if !out.contains(&origin) {
                    out.push(origin);
                }
            }
            Some(out)
        }
    };
    check_campaign_settings(body.caps.as_ref(), body.attribution_window_hours)?;
    let settings = ProjectSettings {
        require_user_signature: body.require_user_signature,
        allowed_origins,
        caps: body.caps,
        attribution_window_hours: body.attribution_window_hours,
    };
    let project = state
        .store()
        .update_project_settings_as(&caller.actor, caller.project_id(), &settings, Utc::now())
        .await?
        .ok_or_else(|| ApiError::NotFound("no such project".to_owned()))?;
    state
        .live()
        .apply(&Change::project(caller.project_id()))
        .await;
    Ok(Json(settings_view(project)))
}
