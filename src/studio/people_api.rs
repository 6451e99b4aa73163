//! The people calls (SPEC §8): the session (sign in with e-mail and password, restore, sign
//! out, accept an invitation), people and invitations, roles, tokens and the audit log. HTTP
//! and error mapping are [`super::api`]'s; the bodies are the core's wire types
//! (`offers_core::api::people`).

use chrono::{DateTime, Utc};
use offers_core::access::Grants;
pub use offers_core::api::people::{
    AcceptInvitationRequest, AuditEntry, FieldChange, InvitationCreated, InvitationRequest,
    IssuedToken, PendingInvitation, Person, PersonPatch, RoleInfo, RoleInput, RolePatch,
    SessionResponse, SignInRequest, TokenInfo, TokenRequest, UserStatus,
};
use serde::Serialize;
use serde_json::Value;

use super::api::{ApiFailure, Auth, Body, Credentials, Member, call, encode, fetch, parse};

/// A request body as JSON (the core's request types always serialize).
fn json_of(body: &impl Serialize) -> Value {
    serde_json::to_value(body).unwrap_or(Value::Null)
}

/// The credentials of `body`'s membership of project `project_id`.
pub fn credentials_for(body: &SessionResponse, project_id: i64) -> Option<Credentials> {
    let membership = body
        .memberships
        .iter()
        .find(|m| m.project_id == project_id)?;
    Some(Credentials {
        api_key: membership.api_key.clone(),
        auth: Auth::Session {
            csrf: body.csrf_token.clone(),
        },
        member: Some(Member {
            email: body.user.email.clone(),
            project_id,
            project_name: membership.project_name.clone(),
            role: membership.role.clone(),
            owner: membership.owner,
            grants: membership.grants,
        }),
    })
}

/// Which project to open: the one this tab had (`remembered`) if still a membership, else the
/// only one; `None` when the person must choose (or has none).
pub fn chosen_project(body: &SessionResponse, remembered: Option<i64>) -> Option<i64> {
    let ids: Vec<i64> = body.memberships.iter().map(|m| m.project_id).collect();
    match remembered.filter(|id| ids.contains(id)) {
        Some(id) => Some(id),
        None if ids.len() == 1 => Some(ids[0]),
        None => None,
    }
}

/// A session call (`/external/session…`, `/external/invitation/accept`): the cookie flows,
/// no API key; writes carry `csrf` (none yet before signing in).
async fn session_call(
    method: &str,
    path: &str,
    body: Option<&Value>,
    csrf: &str,
) -> Result<String, ApiFailure> {
    let body = body.map_or(Body::None, Body::Json);
    fetch(method, path, body, &[], Some(csrf))
        .await
        .map(|answer| answer.text)
}

/// Signs in with e-mail and password (`POST /external/session`).
pub async fn sign_in(email: &str, password: &str) -> Result<SessionResponse, ApiFailure> {
    let body = json_of(&SignInRequest {
        email: email.trim().to_owned(),
        password: password.to_owned(),
    });
    parse(&session_call("POST", "/external/session", Some(&body), "").await?)
}

/// The session this browser has, if any (`GET /external/session`; 401 when none).
pub async fn current_session() -> Result<Option<SessionResponse>, ApiFailure> {
    match session_call("GET", "/external/session", None, "").await {
        Ok(text) => parse(&text).map(Some),
        Err(failure) if failure.status == 401 => Ok(None),
        Err(failure) => Err(failure),
    }
}

/// Ends the session (`DELETE /external/session`).
pub async fn sign_out(csrf: &str) -> Result<(), ApiFailure> {
    session_call("DELETE", "/external/session", None, csrf)
        .await
        .map(drop)
}

/// Accepts an invitation, setting the name and password (`POST /external/invitation/accept`).
pub async fn accept_invitation(
    token: &str,
    name: &str,
    password: &str,
) -> Result<SessionResponse, ApiFailure> {
    let body = json_of(&AcceptInvitationRequest {
        token: token.to_owned(),
        name: name.trim().to_owned(),
        password: password.to_owned(),
    });
    parse(&session_call("POST", "/external/invitation/accept", Some(&body), "").await?)
}

/// The project's people.
pub async fn list_people(credentials: &Credentials) -> Result<Vec<Person>, ApiFailure> {
    parse(&call(credentials, "GET", "/external/people", None).await?)
}

/// Changes a person's name, role or status (`PATCH /external/people/{id}`).
pub async fn update_person(
    credentials: &Credentials,
    id: i64,
    change: &PersonPatch,
) -> Result<Person, ApiFailure> {
    let path = format!("/external/people/{id}");
    parse(&call(credentials, "PATCH", &path, Some(&json_of(change))).await?)
}

/// Hands the account's ownership over to person `id`.
pub async fn hand_over(credentials: &Credentials, id: i64) -> Result<Person, ApiFailure> {
    let path = format!("/external/people/{id}/ownership");
    parse(&call(credentials, "POST", &path, None).await?)
}

/// The pending invitations.
pub async fn list_invitations(
    credentials: &Credentials,
) -> Result<Vec<PendingInvitation>, ApiFailure> {
    parse(&call(credentials, "GET", "/external/invitation", None).await?)
}

/// Invites `email` with `role` (the answer holds the link to pass on: no mail is sent).
pub async fn invite(
    credentials: &Credentials,
    email: &str,
    role: &str,
    name: &str,
) -> Result<InvitationCreated, ApiFailure> {
    let name = name.trim();
    let body = json_of(&InvitationRequest {
        email: email.trim().to_owned(),
        role: role.to_owned(),
        name: (!name.is_empty()).then(|| name.to_owned()),
    });
    parse(&call(credentials, "POST", "/external/invitation", Some(&body)).await?)
}

/// The project's roles, built-in ones first.
pub async fn list_roles(credentials: &Credentials) -> Result<Vec<RoleInfo>, ApiFailure> {
    parse(&call(credentials, "GET", "/external/role", None).await?)
}

/// The names of the project's roles (for a role picker), `None` when they cannot be read.
pub async fn role_names(credentials: &Credentials) -> Option<Vec<String>> {
    let roles = list_roles(credentials).await.ok()?;
    Some(roles.into_iter().map(|r| r.name).collect())
}

/// Creates role `name` (`editing: None`) or replaces the grants of role `editing`.
pub async fn save_role(
    credentials: &Credentials,
    editing: Option<&str>,
    name: &str,
    grants: &Grants,
) -> Result<RoleInfo, ApiFailure> {
    let (method, path, body) = match editing {
        None => (
            "POST",
            "/external/role".to_owned(),
            json_of(&RoleInput {
                name: name.trim().to_owned(),
                grants: *grants,
            }),
        ),
        Some(name) => (
            "PATCH",
            format!("/external/role/{}", encode(name)),
            json_of(&RolePatch { grants: *grants }),
        ),
    };
    parse(&call(credentials, method, &path, Some(&body)).await?)
}

/// Deletes a custom role (409 while someone has it).
pub async fn delete_role(credentials: &Credentials, name: &str) -> Result<(), ApiFailure> {
    let path = format!("/external/role/{}", encode(name));
    call(credentials, "DELETE", &path, None).await.map(drop)
}

/// The project's tokens.
pub async fn list_tokens(credentials: &Credentials) -> Result<Vec<TokenInfo>, ApiFailure> {
    parse(&call(credentials, "GET", "/external/token", None).await?)
}

/// Issues a token; its secret is in the answer only.
pub async fn issue_token(
    credentials: &Credentials,
    name: &str,
    role: &str,
    expires_at: Option<DateTime<Utc>>,
) -> Result<IssuedToken, ApiFailure> {
    let body = json_of(&TokenRequest {
        name: name.trim().to_owned(),
        role: role.to_owned(),
        expires_at,
    });
    parse(&call(credentials, "POST", "/external/token", Some(&body)).await?)
}

/// Revokes a token.
pub async fn revoke_token(credentials: &Credentials, name: &str) -> Result<(), ApiFailure> {
    let path = format!("/external/token/{}", encode(name));
    call(credentials, "DELETE", &path, None).await.map(drop)
}

/// A page of the audit log, newest first, as `query` asks.
pub async fn audit(credentials: &Credentials, query: &str) -> Result<Vec<AuditEntry>, ApiFailure> {
    let path = format!("/external/audit?{query}");
    parse(&call(credentials, "GET", &path, None).await?)
}
