//! Who may call what: the one route table ([`RULES`]) giving every partner and Studio call
//! its area and level, and the one extractor (`Access`) that checks it before a handler
//! runs (and before any body is read). The OpenAPI document carries the same table per
//! operation as `x-offers-area` / `x-offers-level` ([`crate::http::openapi`]), and the tests
//! generate every (role, area, level) case from it.
//!
//! Level per kind of call: reading is `view`; changing an existing thing is `update`;
//! creating and deleting is `full` (SPEC §8, seed 003).

use axum::extract::{FromRequestParts, MatchedPath};
use axum::http::request::Parts;
use offers_core::access::{Area, Level, allows, refusal};

use crate::error::ApiError;
use crate::http::caller::Caller;
use crate::state::AppState;

/// One route's requirement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    /// `GET`, `POST`, `PUT`, `PATCH` or `DELETE`.
    pub method: &'static str,
    /// The route's path template, as the router and the OpenAPI document spell it.
    pub path: &'static str,
    pub area: Area,
    pub level: Level,
}

const fn rule(method: &'static str, path: &'static str, area: Area, level: Level) -> Rule {
    Rule {
        method,
        path,
        area,
        level,
    }
}

use Area::{Audiences, Figures, Offers, People, Settings};
use Level::{Full, Update, View};

/// Every call that needs credentials, with its area and level. A handler takes `Access`
/// to be checked against its row; a route missing here answers 500 (and fails the tests).
pub const RULES: &[Rule] = &[
    // offers
    rule("GET", "/external/offer", Offers, View),
    rule("POST", "/external/offer", Offers, Full),
    rule("GET", "/external/offer/{offerId}", Offers, View),
    rule("PATCH", "/external/offer/{offerId}", Offers, Update),
    rule("DELETE", "/external/offer/{offerId}", Offers, Full),
    rule("POST", "/external/offer/{offerId}/test", Offers, Update),
    rule("GET", "/external/draft", Offers, View),
    rule("PUT", "/external/draft", Offers, Update),
    rule("DELETE", "/external/draft", Offers, Update),
    rule("POST", "/external/media", Offers, Update),
    rule("GET", "/external/explain", Offers, View),
    // figures
    rule("GET", "/external/offer/{offerId}/stats", Figures, View),
    rule("GET", "/external/offer/{offerId}/stats.csv", Figures, View),
    rule("GET", "/external/stats.csv", Figures, View),
    // Reporting figures into the project (like registering ids) is `update`.
    rule("POST", "/external/conversion", Figures, Update),
    // audiences
    rule("POST", "/user/external/advertisment", Audiences, Update),
    rule("POST", "/user/external/advertisement", Audiences, Update),
    rule("GET", "/external/rooms", Audiences, View),
    rule("POST", "/external/rooms", Audiences, Update),
    rule("GET", "/external/users", Audiences, View),
    rule("POST", "/external/users", Audiences, Update),
    rule("GET", "/external/user", Audiences, View),
    rule("GET", "/external/user/{externalUserId}", Audiences, View),
    rule("PUT", "/external/user/{externalUserId}", Audiences, Update),
    rule("DELETE", "/external/user/{externalUserId}", Audiences, Full),
    rule("GET", "/external/segment", Audiences, View),
    rule("POST", "/external/segment", Audiences, Full),
    rule("GET", "/external/segment/{segmentId}", Audiences, View),
    rule("PATCH", "/external/segment/{segmentId}", Audiences, Update),
    rule("DELETE", "/external/segment/{segmentId}", Audiences, Full),
    rule(
        "GET",
        "/external/segment/{segmentId}/count",
        Audiences,
        View,
    ),
    rule("POST", "/external/segment/count", Audiences, View),
    // settings
    rule("GET", "/external/project", Settings, View),
    rule("PATCH", "/external/project", Settings, Update),
    // people
    rule("GET", "/external/people", People, View),
    rule("PATCH", "/external/people/{personId}", People, Update),
    rule(
        "POST",
        "/external/people/{personId}/ownership",
        People,
        Update,
    ),
    rule("GET", "/external/invitation", People, View),
    rule("POST", "/external/invitation", People, Full),
    rule("GET", "/external/role", People, View),
    rule("POST", "/external/role", People, Full),
    rule("PATCH", "/external/role/{roleName}", People, Update),
    rule("DELETE", "/external/role/{roleName}", People, Full),
    rule("GET", "/external/token", People, View),
    rule("POST", "/external/token", People, Full),
    rule("DELETE", "/external/token/{tokenName}", People, Full),
    rule("GET", "/external/audit", People, View),
];

/// The rule of `method` on the route template `path`, if the table has one. `HEAD` is
/// guarded as `GET` (axum answers it with the `GET` handler).
pub fn rule_for(method: &str, path: &str) -> Option<&'static Rule> {
    let method = if method.eq_ignore_ascii_case("HEAD") {
        "GET"
    } else {
        method
    };
    RULES
        .iter()
        .find(|r| r.method.eq_ignore_ascii_case(method) && r.path == path)
}

/// A caller allowed to make this call: authenticated ([`Caller`]) and holding the level the
/// route table asks for in its area; else 401 or 403 (the message names the area).
#[derive(Debug, Clone)]
pub(crate) struct Access(pub(crate) Caller);

impl FromRequestParts<AppState> for Access {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let path = parts
            .extensions
            .get::<MatchedPath>()
            .map(|p| p.as_str().to_owned())
            .unwrap_or_default();
        let rule = rule_for(parts.method.as_str(), &path).ok_or_else(|| {
            ApiError::Internal(format!(
                "no access rule for {} {path} in http::access::RULES",
                parts.method
            ))
        })?;
        let caller = Caller::from_request_parts(parts, state).await?;
        if !allows(&caller.grants, rule.area, rule.level) {
            return Err(ApiError::Forbidden(refusal(
                &caller.role,
                &caller.grants,
                rule.area,
                rule.level,
            )));
        }
        Ok(Self(caller))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_has_one_rule_per_route_and_method() {
        for (i, a) in RULES.iter().enumerate() {
            for b in &RULES[i + 1..] {
                assert!(
                    !(a.method == b.method && a.path == b.path),
                    "{} {} twice",
                    a.method,
                    a.path
                );
            }
            assert!(a.level > Level::None, "{a:?}");
        }
        assert_eq!(
            rule_for("delete", "/external/offer/{offerId}").map(|r| (r.area, r.level)),
            Some((Offers, Full))
        );
        assert_eq!(rule_for("GET", "/external/nothing"), None);
    }

    #[test]
    fn head_is_guarded_as_get() {
        assert_eq!(
            rule_for("HEAD", "/external/people").map(|r| (r.area, r.level)),
            Some((People, View))
        );
        assert_eq!(rule_for("head", "/external/role/{roleName}"), None);
    }
}
