//! The partner API's caller: the [`Caller`] extractor (the project from `x-api-key` and its
//! bearer token, and the token's role) and the role-checking extractors [`AsViewer`],
//! [`AsEditor`], [`AsOwner`]. The token rules themselves are in [`crate::auth`].

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use crate::auth::{Role, peek_claims, secrets_equal};
use crate::error::ApiError;
use crate::state::AppState;
use crate::store::Project;

/// The authenticated caller of a partner endpoint: the project (from `x-api-key` + token) and role.
#[derive(Debug, Clone)]
pub(crate) struct Caller {
    pub project: Project,
    pub role: Role,
}

impl Caller {
    /// 403 unless the caller's role is at least `needed`.
    pub(crate) fn require(&self, needed: Role) -> Result<(), ApiError> {
        if self.role >= needed {
            Ok(())
        } else {
            Err(ApiError::Forbidden(format!(
                "this call needs the `{needed}` role; the token has `{}`",
                self.role
            )))
        }
    }

    /// The caller's project id (every query is scoped by it).
    pub(crate) fn project_id(&self) -> i64 {
        self.project.id
    }
}

fn unauthorized(msg: &str) -> ApiError {
    ApiError::Unauthorized(msg.to_owned())
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let api_key = parts
            .headers
            .get("x-api-key")
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .ok_or_else(|| unauthorized("missing `x-api-key` header"))?;
        let token = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                let v = v.trim();
                let (scheme, rest) = v.split_once(' ')?;
                scheme.eq_ignore_ascii_case("bearer").then(|| rest.trim())
            })
            .filter(|v| !v.is_empty())
            .ok_or_else(|| unauthorized("missing `Authorization: Bearer <token>` header"))?;

        const BAD: &str = "invalid API key or token";
        let claims = peek_claims(token).map_err(|_| unauthorized(BAD))?;
        let project = state
            .store()
            .project_by_id(claims.project_id)
            .await?
            .ok_or_else(|| unauthorized(BAD))?;
        // Check the signature first, then the key: both in constant time, same answer for both.
        let verified = state.signer().verify(token, &project);
        let key_ok = secrets_equal(api_key, &project.api_key);
        let role = match verified {
            Ok(claims) if key_ok => claims.role,
            _ => return Err(unauthorized(BAD)),
        };
        state
            .limiter()
            .check(project.id)
            .map_err(ApiError::rate_limited)?;
        Ok(Caller { project, role })
    }
}

macro_rules! role_extractor {
    ($(#[$meta:meta])* $name:ident, $role:expr) => {
        $(#[$meta])*
        #[derive(Debug, Clone)]
        pub(crate) struct $name(pub(crate) Caller);

        impl FromRequestParts<AppState> for $name {
            type Rejection = ApiError;

            async fn from_request_parts(
                parts: &mut Parts,
                state: &AppState,
            ) -> Result<Self, ApiError> {
                let caller = Caller::from_request_parts(parts, state).await?;
                caller.require($role)?;
                Ok(Self(caller))
            }
        }
    };
}

role_extractor!(
    /// A caller with at least the `viewer` role (checked before the body is read).
    AsViewer,
    Role::Viewer
);
role_extractor!(
    /// A caller with at least the `editor` role (checked before the body is read).
    AsEditor,
    Role::Editor
);
role_extractor!(
    /// A caller with the `owner` role (checked before the body is read).
    AsOwner,
    Role::Owner
);
