//! SPEC §8 (issue 14): roles per area checked in one place (every (role, area, level) case
//! generated from the OpenAPI document's `x-offers-area` / `x-offers-level`), sessions and
//! their CSRF defence, disabled members, invitations and ownership, named tokens (revoked on
//! every replica), custom roles, the audit log and the project's settings — on both backends.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use offers_api::auth::Role;
use offers_api::store::people::{Actor, NewToken};
use offers_core::access::{Area, Grants, Level};
use serde_json::{Value, json};
use tower::ServiceExt;

use crate::common::{Creds, Resp, TestApp, text_offer, wait_until};

/// A signed-in person: the cookie to send and the CSRF token.
struct Session {
    cookie: String,
    csrf: String,
    body: Value,
}

/// A request with the session cookie (and `x-api-key` of `creds`).
fn with_session(
    method: Method,
    uri: &str,
    creds: &Creds,
    session: &Session,
) -> axum::http::request::Builder {
    Request::builder()
        .method(method)
        .uri(uri)
        .header("x-api-key", creds.api_key())
        .header(header::COOKIE, &session.cookie)
}

fn json_body(value: &Value) -> Body {
    Body::from(serde_json::to_vec(value).unwrap())
}

/// The cookie pair of a response's `Set-Cookie`, after checking its attributes.
fn session_cookie(r: &Resp) -> String {
    let set = r.header("set-cookie").expect("Set-Cookie");
    for attribute in ["HttpOnly", "Secure", "SameSite=Strict", "Path=/"] {
        assert!(set.contains(attribute), "{set}");
    }
    set.split(';').next().unwrap().to_owned()
}

/// Invites `email` with `role` (as the project's legacy owner token) and accepts; signed in.
async fn join(t: &TestApp, creds: &Creds, email: &str, role: &str, password: &str) -> Session {
    let r = t
        .json(
            Method::POST,
            "/external/invitation",
            creds,
            Role::Owner,
            &json!({"email": email, "role": role}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let invite = r.json();
    let url = invite["inviteUrl"].as_str().unwrap();
    let token = url.split("#invite=").nth(1).unwrap();
    assert!(url.contains("/studio/#invite="), "{url}");
    let accept = |name: &str| {
        Request::post("/external/invitation/accept")
            .header(header::CONTENT_TYPE, "application/json")
            .body(json_body(
                &json!({"token": token, "name": name, "password": password}),
            ))
            .unwrap()
    };
    let r = t.send(accept("Ana Lima")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let body = r.json();
    // The link works once.
    let again = t.send(accept("X")).await;
    let error = again.error(StatusCode::BAD_REQUEST, "bad_request");
    assert!(error["fields"]["token"].is_string(), "{error}");
    Session {
        cookie: session_cookie(&r),
        csrf: body["csrfToken"].as_str().unwrap().to_owned(),
        body,
    }
}

/// A named token of `creds`'s project with a custom role granting `grants` (made in the store).
async fn token_with(t: &TestApp, creds: &Creds, name: &str, grants: &Grants) -> String {
    let store = &t.store;
    let now = chrono::Utc::now();
    assert!(
        store
            .create_role(&Actor::Cli, creds.project.id, name, grants, now)
            .await
            .unwrap()
    );
    let row = store
        .create_token(
            &Actor::Cli,
            creds.project.id,
            &NewToken {
                name: name.to_owned(),
                role: name.to_owned(),
                jti: offers_api::auth::random_hex(12),
                expires_at: None,
            },
            now,
        )
        .await
        .unwrap()
        .unwrap();
    t.state
        .signer()
        .issue_named(&creds.project, row.id, &row.jti, now.timestamp())
}

async fn bearer(t: &TestApp, creds: &Creds, token: &str, method: Method, uri: &str) -> Resp {
    let mut req = Request::builder()
        .method(method.clone())
        .uri(uri)
        .header("x-api-key", creds.api_key())
        .header(header::AUTHORIZATION, format!("Bearer {token}"));
    let body = if matches!(method, Method::POST | Method::PUT | Method::PATCH) {
        req = req.header(header::CONTENT_TYPE, "application/json");
        Body::from("{}")
    } else {
        Body::empty()
    };
    t.send(req.body(body).unwrap()).await
}

/// Every operation of the served document that names an area and a level.
async fn guarded_operations(t: &TestApp) -> Vec<(Method, String, Area, Level)> {
    let doc = t.get_a("/openapi.json").await.json();
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let (Some(area), Some(level)) =
                (op["x-offers-area"].as_str(), op["x-offers-level"].as_str())
            else {
                assert!(
                    !path.starts_with("/external/")
                        || path.starts_with("/external/session")
                        || path == "/external/invitation/accept",
                    "{method} {path} has no x-offers-area/x-offers-level"
                );
                continue;
            };
            assert!(
                op["responses"]["403"].is_object(),
                "{method} {path} documents no 403"
            );
            let uri = path
                .replace("{offerId}", "999999")
                .replace("{segmentId}", "999999")
                .replace("{personId}", "999999")
                .replace("{externalUserId}", "nobody")
                .replace("{roleName}", "nosuch")
                .replace("{tokenName}", "nosuch");
            out.push((
                method.to_uppercase().parse().unwrap(),
                uri,
                Area::parse(area).unwrap(),
                Level::parse(level).unwrap(),
            ));
        }
    }
    out
}

fn is_refusal(r: &Resp) -> bool {
    r.status == StatusCode::FORBIDDEN
        && r.json()["error"]["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("this call needs"))
}

both_backends!(every_role_area_and_level_against_every_operation, |t| {
    let operations = guarded_operations(&t).await;
    assert!(operations.len() >= 40, "{} operations", operations.len());
    // One custom role per (area, level): that level in that area, nothing elsewhere.
    for area in Area::ALL {
        for have in Level::ALL {
            let name = format!("{}-{}", area.as_str(), have.as_str());
            let grants = Grants::NONE.with(area, have);
            let token = token_with(&t, &t.a, &name, &grants).await;
            for (method, uri, op_area, needed) in &operations {
                let r = bearer(&t, &t.a, &token, method.clone(), uri).await;
                let allowed = grants.get(*op_area) >= *needed;
                assert_ne!(
                    r.status,
                    StatusCode::UNAUTHORIZED,
                    "{method} {uri}: {}",
                    r.text()
                );
                assert_eq!(
                    is_refusal(&r),
                    !allowed,
                    "role {name} on {method} {uri} (needs {needed} on {op_area}): {} {}",
                    r.status,
                    r.text()
                );
                if !allowed {
                    let message = r.json()["error"]["message"].as_str().unwrap().to_owned();
                    assert!(
                        message.contains(&format!("{needed} on {op_area}"))
                            && message.contains(&format!("`{name}`")),
                        "{message}"
                    );
                }
            }
        }
    }
    // The built-in roles, through legacy tokens: owner everything, viewer only `view` and
    // never people; a legacy editor still cannot create or delete offers.
    for (method, uri, area, needed) in &operations {
        let owner = bearer(&t, &t.a, &t.a.owner, method.clone(), uri).await;
        assert!(
            !is_refusal(&owner),
            "owner on {method} {uri}: {}",
            owner.text()
        );
        let viewer = bearer(&t, &t.a, &t.a.viewer, method.clone(), uri).await;
        let viewer_may = *needed == Level::View && *area != Area::People;
        assert_eq!(is_refusal(&viewer), !viewer_may, "viewer on {method} {uri}");
    }
});

both_backends!(sessions_csrf_and_disabled_members, |t| {
    let ana = join(
        &t,
        &t.a,
        "Ana@Example.com",
        "editor",
        "correct horse battery",
    )
    .await;
    assert_eq!(ana.body["user"]["email"], "ana@example.com");
    let membership = &ana.body["memberships"][0];
    assert_eq!(membership["projectId"], t.a.project.id);
    assert_eq!(membership["apiKey"], t.a.api_key());
    assert_eq!(membership["role"], "editor");
    assert_eq!(membership["owner"], false);
    assert_eq!(membership["grants"]["offers"], "full");
    assert_eq!(membership["grants"]["people"], "none");

    // Reads need only the cookie; the session answers again.
    let r = t
        .send(
            with_session(Method::GET, "/external/offer", &t.a, &ana)
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let r = t
        .send(
            Request::get("/external/session")
                .header(header::COOKIE, &ana.cookie)
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json()["csrfToken"], ana.csrf.as_str());
    // The session is this project's only.
    let r = t
        .send(
            with_session(Method::GET, "/external/offer", &t.b, &ana)
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    r.error(StatusCode::UNAUTHORIZED, "unauthorized");

    // Writes need the CSRF token; a cross-site request never works, even with it.
    let create = |extra: &[(&str, &str)]| {
        let mut req = with_session(Method::POST, "/external/offer", &t.a, &ana)
            .header(header::CONTENT_TYPE, "application/json");
        for (k, v) in extra {
            req = req.header(*k, *v);
        }
        req.body(json_body(&text_offer())).unwrap()
    };
    for extra in [
        vec![],
        vec![("x-csrf-token", "wrong")],
        vec![
            ("x-csrf-token", ana.csrf.as_str()),
            ("sec-fetch-site", "cross-site"),
        ],
        vec![
            ("x-csrf-token", ana.csrf.as_str()),
            ("origin", "https://evil.example"),
        ],
    ] {
        let r = t.send(create(&extra)).await;
        let error = r.error(StatusCode::FORBIDDEN, "forbidden");
        assert!(
            error["message"].as_str().unwrap().contains("csrf"),
            "{extra:?}: {error}"
        );
    }
    let r = t
        .send(
            with_session(Method::GET, "/external/offer", &t.a, &ana)
                .header("sec-fetch-site", "cross-site")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    r.error(StatusCode::FORBIDDEN, "forbidden");
    let r = t
        .send(create(&[
            ("x-csrf-token", ana.csrf.as_str()),
            ("sec-fetch-site", "same-origin"),
        ]))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let offer_id = r.json()["offer"]["id"].as_i64().unwrap();
    // Her role has no people access: 403 naming the area.
    let r = t
        .send(
            with_session(Method::GET, "/external/people", &t.a, &ana)
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    let error = r.error(StatusCode::FORBIDDEN, "forbidden");
    assert!(
        error["message"].as_str().unwrap().contains("on people"),
        "{error}"
    );

    // The audit log says who did it.
    let r = t
        .empty(
            Method::GET,
            "/external/audit?action=offer.created",
            &t.a,
            Role::Owner,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let entries = r.json();
    assert_eq!(entries[0]["actor"], "user:ana@example.com", "{entries}");
    assert_eq!(entries[0]["target"], format!("offer:{offer_id}"));
    assert_eq!(entries[0]["changes"]["title"]["after"], "Title");

    // Disabled in this project: her session stops working at once.
    let people = t
        .empty(Method::GET, "/external/people", &t.a, Role::Owner)
        .await
        .json();
    let id = people[0]["id"].as_i64().unwrap();
    let r = t
        .json(
            Method::PATCH,
            &format!("/external/people/{id}"),
            &t.a,
            Role::Owner,
            &json!({"status": "disabled"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["status"], "disabled");
    let r = t
        .send(
            with_session(Method::GET, "/external/offer", &t.a, &ana)
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    r.error(StatusCode::UNAUTHORIZED, "unauthorized");
    let r = t
        .send(
            Request::get("/external/session")
                .header(header::COOKIE, &ana.cookie)
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    r.error(StatusCode::UNAUTHORIZED, "unauthorized");
    let audit = t
        .empty(
            Method::GET,
            "/external/audit?action=person.updated",
            &t.a,
            Role::Owner,
        )
        .await
        .json();
    assert_eq!(
        audit[0]["changes"]["status"]["after"], "disabled",
        "{audit}"
    );
    assert_eq!(audit[0]["actor"], "token:legacy");
});

both_backends!(sign_in_sign_out_and_rate_limits, |t| {
    let _ana = join(
        &t,
        &t.a,
        "ana@example.com",
        "viewer",
        "correct horse battery",
    )
    .await;
    let sign_in = |email: &str, password: &str| {
        Request::post("/external/session")
            .header(header::CONTENT_TYPE, "application/json")
            .body(json_body(&json!({"email": email, "password": password})))
            .unwrap()
    };
    let r = t
        .send(sign_in("ANA@example.com", "correct horse battery"))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let session = Session {
        cookie: session_cookie(&r),
        csrf: r.json()["csrfToken"].as_str().unwrap().to_owned(),
        body: r.json(),
    };
    assert_eq!(session.body["memberships"][0]["role"], "viewer");
    // Wrong password and unknown e-mail: the same answer.
    let wrong = t.send(sign_in("ana@example.com", "wrong password!")).await;
    let unknown = t
        .send(sign_in("nobody@example.com", "wrong password!"))
        .await;
    let a = wrong.error(StatusCode::UNAUTHORIZED, "unauthorized");
    let b = unknown.error(StatusCode::UNAUTHORIZED, "unauthorized");
    assert_eq!(a["message"], "wrong e-mail or password");
    assert_eq!(a, b);
    // Sign out needs the CSRF token, then the cookie is dead.
    let out = |csrf: Option<&str>| {
        let mut req = Request::delete("/external/session").header(header::COOKIE, &session.cookie);
        if let Some(csrf) = csrf {
            req = req.header("x-csrf-token", csrf);
        }
        req.body(Body::empty()).unwrap()
    };
    t.send(out(None))
        .await
        .error(StatusCode::FORBIDDEN, "forbidden");
    let r = t.send(out(Some(&session.csrf))).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert!(r.header("set-cookie").unwrap().contains("Max-Age=0"));
    let r = t
        .send(
            with_session(Method::GET, "/external/offer", &t.a, &session)
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    r.error(StatusCode::UNAUTHORIZED, "unauthorized");
    // Failed sign-ins are limited per account: then even the right password waits.
    for _ in 0..9 {
        let r = t.send(sign_in("ana@example.com", "wrong password!")).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    }
    let r = t
        .send(sign_in("ana@example.com", "correct horse battery"))
        .await;
    r.error(StatusCode::TOO_MANY_REQUESTS, "rate_limited");
    assert!(r.header("retry-after").is_some());
});

both_backends!(owner_invitations_roles_and_ownership, |t| {
    // The first owner invited to a project without one becomes its account owner.
    let olga = join(
        &t,
        &t.a,
        "olga@example.com",
        "owner",
        "correct horse battery",
    )
    .await;
    assert_eq!(olga.body["memberships"][0]["owner"], true);
    // A second owner cannot be invited; `owner` is never given by PATCH.
    let r = t
        .json(
            Method::POST,
            "/external/invitation",
            &t.a,
            Role::Owner,
            &json!({"email": "x@example.com", "role": "owner"}),
        )
        .await;
    r.error(StatusCode::CONFLICT, "conflict");
    let bob = join(
        &t,
        &t.a,
        "bob@example.com",
        "viewer",
        "another good password",
    )
    .await;
    let bob_id = bob.body["user"]["id"].as_i64().unwrap();
    let olga_id = olga.body["user"]["id"].as_i64().unwrap();
    let patch = |id: i64, body: Value| {
        with_session(
            Method::PATCH,
            &format!("/external/people/{id}"),
            &t.a,
            &olga,
        )
        .header("x-csrf-token", &olga.csrf)
        .header(header::CONTENT_TYPE, "application/json")
        .body(json_body(&body))
        .unwrap()
    };
    t.send(patch(bob_id, json!({"role": "owner"})))
        .await
        .error(StatusCode::CONFLICT, "conflict");
    t.send(patch(olga_id, json!({"status": "disabled"})))
        .await
        .error(StatusCode::CONFLICT, "conflict");
    t.send(patch(bob_id, json!({"role": "nosuch"})))
        .await
        .invalid(&["role"]);
    // A custom role, then given to Bob.
    let r = t
        .send(
            with_session(Method::POST, "/external/role", &t.a, &olga)
                .header("x-csrf-token", &olga.csrf)
                .header(header::CONTENT_TYPE, "application/json")
                .body(json_body(
                    &json!({"name": "analyst", "grants": {"figures": "view", "offers": "view"}}),
                ))
                .unwrap(),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    assert_eq!(r.json()["grants"]["people"], "none");
    t.json(
        Method::POST,
        "/external/role",
        &t.a,
        Role::Owner,
        &json!({"name": "editor", "grants": {}}),
    )
    .await
    .invalid(&["name"]);
    let r = t.send(patch(bob_id, json!({"role": "analyst"}))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["role"], "analyst");
    t.empty(Method::DELETE, "/external/role/analyst", &t.a, Role::Owner)
        .await
        .error(StatusCode::CONFLICT, "conflict");
    t.empty(Method::DELETE, "/external/role/editor", &t.a, Role::Owner)
        .await
        .error(StatusCode::CONFLICT, "conflict");
    let roles = t
        .empty(Method::GET, "/external/role", &t.a, Role::Owner)
        .await
        .json();
    let names: Vec<&str> = roles
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["owner", "editor", "viewer", "analyst"]);
    // Only the account owner hands ownership over; the old owner becomes an editor.
    let r = t
        .send(
            with_session(
                Method::POST,
                &format!("/external/people/{olga_id}/ownership"),
                &t.a,
                &bob,
            )
            .header("x-csrf-token", &bob.csrf)
            .body(Body::empty())
            .unwrap(),
        )
        .await;
    r.error(StatusCode::FORBIDDEN, "forbidden");
    let r = t
        .send(
            with_session(
                Method::POST,
                &format!("/external/people/{bob_id}/ownership"),
                &t.a,
                &olga,
            )
            .header("x-csrf-token", &olga.csrf)
            .body(Body::empty())
            .unwrap(),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["owner"], true);
    assert_eq!(r.json()["role"], "owner");
    let people = t
        .empty(Method::GET, "/external/people", &t.a, Role::Owner)
        .await
        .json();
    let olga_now = people
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == olga_id)
        .unwrap();
    assert_eq!(olga_now["role"], "editor");
    assert_eq!(olga_now["owner"], false);
    let owners = people
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["owner"] == true)
        .count();
    assert_eq!(owners, 1);
    let pending = t
        .empty(Method::GET, "/external/invitation", &t.a, Role::Owner)
        .await
        .json();
    assert_eq!(pending, json!([]), "accepted invitations are not pending");
});

both_backends!(named_tokens_revoked_on_every_replica, |t| {
    let r = t
        .json(
            Method::POST,
            "/external/token",
            &t.a,
            Role::Owner,
            &json!({"name": "ci", "role": "editor"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let token = r.json()["token"].as_str().unwrap().to_owned();
    assert!(token.starts_with("oft."));
    t.json(
        Method::POST,
        "/external/token",
        &t.a,
        Role::Owner,
        &json!({"name": "ci", "role": "viewer"}),
    )
    .await
    .error(StatusCode::CONFLICT, "conflict");
    t.json(
        Method::POST,
        "/external/token",
        &t.a,
        Role::Owner,
        &json!({"name": "old", "role": "viewer", "expiresAt": "2020-01-01T00:00:00Z"}),
    )
    .await
    .invalid(&["expiresAt"]);
    // A second replica: its own store and state on the same database.
    let store2 = offers_api::store::connect(&t.db.url).await.unwrap();
    let settings = offers_api::state::Settings {
        media: offers_api::media::MediaLocation::Memory,
        ..offers_api::state::Settings::default()
    };
    let state2 = offers_api::AppState::new(Arc::clone(&store2), settings)
        .await
        .unwrap();
    let replica = offers_api::app(state2);
    let on_replica = |token: String| {
        let replica = replica.clone();
        let key = t.a.api_key().to_owned();
        async move {
            replica
                .oneshot(
                    Request::get("/external/offer")
                        .header("x-api-key", key)
                        .header(header::AUTHORIZATION, format!("Bearer {token}"))
                        .body(Body::empty())
                        .unwrap(),
                )
                .await
                .unwrap()
                .status()
        }
    };
    assert_eq!(on_replica(token.clone()).await, StatusCode::OK);
    // The token's use is noted (at most once a minute).
    let used = wait_until(Duration::from_secs(5), || async {
        let list = t
            .empty(Method::GET, "/external/token", &t.a, Role::Owner)
            .await
            .json();
        list[0]["lastUsedAt"].is_string()
    })
    .await;
    assert!(used, "lastUsedAt never set");
    let r = t
        .empty(Method::DELETE, "/external/token/ci", &t.a, Role::Owner)
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text());
    let refused = wait_until(Duration::from_secs(1), || {
        let token = token.clone();
        let on_replica = &on_replica;
        async move { on_replica(token).await == StatusCode::UNAUTHORIZED }
    })
    .await;
    assert!(
        refused,
        "the second replica still accepts a revoked token after 1 s"
    );
    let r = bearer(&t, &t.a, &token, Method::GET, "/external/offer").await;
    r.error(StatusCode::UNAUTHORIZED, "unauthorized");
    // Listed with its revocation; the audit has both, never the secret.
    let list = t
        .empty(Method::GET, "/external/token", &t.a, Role::Owner)
        .await
        .json();
    assert_eq!(list[0]["name"], "ci");
    assert!(list[0]["revokedAt"].is_string());
    assert!(list[0].get("token").is_none());
    let audit = t
        .empty(
            Method::GET,
            "/external/audit?target=token:ci",
            &t.a,
            Role::Owner,
        )
        .await;
    assert_eq!(audit.status, StatusCode::OK);
    let actions: Vec<Value> = audit
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].clone())
        .collect();
    assert_eq!(actions, [json!("token.revoked"), json!("token.issued")]);
    assert!(!audit.text().contains(&token));
    // A token's role can be no more than its issuer's.
    let limited = token_with(
        &t,
        &t.a,
        "people-only",
        &Grants::NONE.with(Area::People, Level::Full),
    )
    .await;
    let req = Request::post("/external/token")
        .header("x-api-key", t.a.api_key())
        .header(header::AUTHORIZATION, format!("Bearer {limited}"))
        .header(header::CONTENT_TYPE, "application/json");
    let r = t
        .send(
            req.body(json_body(&json!({"name": "escalate", "role": "owner"})))
                .unwrap(),
        )
        .await;
    r.error(StatusCode::FORBIDDEN, "forbidden");
    // The project's settings, audited; the audit log has no way to write.
    let r = t
        .json(
            Method::PATCH,
            "/external/project",
            &t.a,
            Role::Owner,
            &json!({"allowedOrigins": ["https://chat.example"]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["allowedOrigins"], json!(["https://chat.example"]));
    t.json(
        Method::PATCH,
        "/external/project",
        &t.a,
        Role::Editor,
        &json!({}),
    )
    .await
    .error(StatusCode::FORBIDDEN, "forbidden");
    let audit = t
        .empty(
            Method::GET,
            "/external/audit?action=settings.updated",
            &t.a,
            Role::Owner,
        )
        .await
        .json();
    assert_eq!(
        audit[0]["changes"]["allowedOrigins"]["after"],
        json!(["https://chat.example"])
    );
    for method in [Method::POST, Method::DELETE, Method::PATCH] {
        let r = t.empty(method, "/external/audit", &t.a, Role::Owner).await;
        assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
    }
    // Project B sees none of it.
    let b = t
        .empty(Method::GET, "/external/audit", &t.b, Role::Owner)
        .await
        .json();
    assert!(
        b.as_array()
            .unwrap()
            .iter()
            .all(|e| e["target"] != "token:ci"),
        "{b}"
    );
});

both_backends!(audit_entries_are_pruned_with_retention, |t| {
    let now = chrono::Utc::now();
    let record =
        offers_api::store::people::AuditRecord::new("role.created", "role:old", Default::default());
    let old = now - chrono::Duration::days(91);
    t.store
        .record_audit(t.a.project.id, &Actor::Cli, &record, old)
        .await
        .unwrap();
    t.store
        .record_audit(t.a.project.id, &Actor::Cli, &record, now)
        .await
        .unwrap();
    let purged = offers_api::retention::purge_expired(t.store.as_ref(), now, 90)
        .await
        .unwrap();
    assert_eq!(purged.audit, 1);
    let left = t
        .empty(
            Method::GET,
            "/external/audit?target=role:old",
            &t.a,
            Role::Owner,
        )
        .await
        .json();
    assert_eq!(left.as_array().unwrap().len(), 1, "{left}");
    assert_eq!(left[0]["actor"], "cli");
    // Paged newest first, filtered by actor.
    for target in ["role:a", "role:b", "role:c"] {
        let record =
            offers_api::store::people::AuditRecord::new("role.created", target, Default::default());
        t.store
            .record_audit(t.a.project.id, &Actor::Cli, &record, now)
            .await
            .unwrap();
    }
    let page = t
        .empty(
            Method::GET,
            "/external/audit?actor=cli&limit=2&offset=1",
            &t.a,
            Role::Owner,
        )
        .await
        .json();
    let targets: Vec<&str> = page
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["target"].as_str().unwrap())
        .collect();
    assert_eq!(targets, ["role:b", "role:a"]);
    t.empty(Method::GET, "/external/audit?limit=-1", &t.a, Role::Owner)
        .await
        .error(StatusCode::BAD_REQUEST, "bad_request");
    let none = t
        .empty(
            Method::GET,
            "/external/audit?actor=token:nobody",
            &t.a,
            Role::Owner,
        )
        .await
        .json();
    assert_eq!(none, json!([]));
});

/// Invites `email` with `role` (as the legacy owner token): the link's token.
async fn invite_link(t: &TestApp, creds: &Creds, email: &str, role: &str) -> String {
    let r = t
        .json(
            Method::POST,
            "/external/invitation",
            creds,
            Role::Owner,
            &json!({"email": email, "role": role}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let url = r.json()["inviteUrl"].as_str().unwrap().to_owned();
    url.split("#invite=").nth(1).unwrap().to_owned()
}

/// Accepts the invitation `token` with `password`.
async fn accept_link(t: &TestApp, token: &str, password: &str) -> Resp {
    t.send(
        Request::post("/external/invitation/accept")
            .header(header::CONTENT_TYPE, "application/json")
            .body(json_body(
                &json!({"token": token, "name": "Someone", "password": password}),
            ))
            .unwrap(),
    )
    .await
}

/// The member `email` of `creds`'s project as the people list shows them.
async fn member(t: &TestApp, creds: &Creds, email: &str) -> Value {
    let people = t
        .empty(Method::GET, "/external/people", creds, Role::Owner)
        .await
        .json();
    people
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["email"] == email)
        .cloned()
        .unwrap_or_else(|| panic!("{email} not in {people}"))
}

both_backends!(spare_invitations_never_restore_a_role_or_reactivate, |t| {
    let pw = "correct horse battery";
    let bob = join(&t, &t.a, "bob@example.com", "editor", pw).await;
    let bob_id = bob.body["user"]["id"].as_i64().unwrap();
    let uri = format!("/external/people/{bob_id}");
    // A spare link, then a demotion: the link is void.
    let spare = invite_link(&t, &t.a, "bob@example.com", "editor").await;
    let r = t
        .json(
            Method::PATCH,
            &uri,
            &t.a,
            Role::Owner,
            &json!({"role": "viewer"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let error = accept_link(&t, &spare, pw)
        .await
        .error(StatusCode::BAD_REQUEST, "bad_request");
    assert!(error["fields"]["token"].is_string(), "{error}");
    assert_eq!(member(&t, &t.a, "bob@example.com").await["role"], "viewer");
    // A link made after the demotion signs an active member in but leaves the role alone.
    let later = invite_link(&t, &t.a, "bob@example.com", "editor").await;
    let r = accept_link(&t, &later, pw).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["memberships"][0]["role"], "viewer");
    assert_eq!(member(&t, &t.a, "bob@example.com").await["role"], "viewer");
    // A spare link, then disabled: void; a link made afterwards is refused (403), and Bob
    // stays disabled.
    let spare = invite_link(&t, &t.a, "bob@example.com", "editor").await;
    let r = t
        .json(
            Method::PATCH,
            &uri,
            &t.a,
            Role::Owner,
            &json!({"status": "disabled"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    accept_link(&t, &spare, pw)
        .await
        .error(StatusCode::BAD_REQUEST, "bad_request");
    let after = invite_link(&t, &t.a, "bob@example.com", "editor").await;
    let error = accept_link(&t, &after, pw)
        .await
        .error(StatusCode::FORBIDDEN, "forbidden");
    assert!(
        error["message"].as_str().unwrap().contains("disabled"),
        "{error}"
    );
    let bob_now = member(&t, &t.a, "bob@example.com").await;
    assert_eq!(bob_now["status"], "disabled");
    assert_eq!(bob_now["role"], "viewer");
});

both_backends!(head_on_guarded_reads_is_checked_as_get, |t| {
    for uri in ["/external/people", "/external/offer", "/external/audit"] {
        let r = t.empty(Method::HEAD, uri, &t.a, Role::Owner).await;
        assert_eq!(r.status, StatusCode::OK, "HEAD {uri}: {}", r.text());
        assert!(r.body.is_empty(), "HEAD {uri}");
        let r = t
            .send(
                Request::head(uri)
                    .header("x-api-key", t.a.api_key())
                    .body(Body::empty())
                    .unwrap(),
            )
            .await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "HEAD {uri}");
    }
});

both_backends!(
    an_owner_invitation_to_a_member_keeps_role_and_owner_consistent,
    |t| {
        // Bob joins as a viewer of a project without an account owner, then is sent an `owner`
        // invitation: he stays a viewer and not the owner (never role `owner` without ownership).
        let pw = "correct horse battery";
        join(&t, &t.a, "bob@example.com", "viewer", pw).await;
        let link = invite_link(&t, &t.a, "bob@example.com", "owner").await;
        let r = accept_link(&t, &link, pw).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
        let bob = member(&t, &t.a, "bob@example.com").await;
        assert_eq!(
            (bob["role"].clone(), bob["owner"].clone()),
            (json!("viewer"), json!(false))
        );
        // An owner invitation to a newcomer makes the account owner; `person.joined` says so.
        let link = invite_link(&t, &t.a, "olga@example.com", "owner").await;
        let r = accept_link(&t, &link, pw).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
        let olga = member(&t, &t.a, "olga@example.com").await;
        assert_eq!(
            (olga["role"].clone(), olga["owner"].clone()),
            (json!("owner"), json!(true))
        );
        let audit = t
            .empty(
                Method::GET,
                "/external/audit?action=person.joined",
                &t.a,
                Role::Owner,
            )
            .await
            .json();
        let joined = audit.as_array().unwrap();
        assert_eq!(joined.len(), 2, "{audit}");
        assert_eq!(joined[0]["target"], "person:olga@example.com", "{audit}");
        assert_eq!(joined[0]["changes"]["owner"]["after"], true, "{audit}");
        assert_eq!(joined[0]["changes"]["role"]["after"], "owner", "{audit}");
        assert_eq!(joined[1]["target"], "person:bob@example.com", "{audit}");
        assert_eq!(joined[1]["changes"]["owner"]["after"], false, "{audit}");
        assert_eq!(joined[1]["changes"]["role"]["after"], "viewer", "{audit}");
    }
);

/// `method uri` with the bearer `token` and the JSON `body`.
async fn bearer_json(t: &TestApp, token: &str, method: Method, uri: &str, body: &Value) -> Resp {
    t.send(
        Request::builder()
            .method(method)
            .uri(uri)
            .header("x-api-key", t.a.api_key())
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .header(header::CONTENT_TYPE, "application/json")
            .body(json_body(body))
            .unwrap(),
    )
    .await
}

both_backends!(changing_someone_needs_grants_covering_theirs_now, |t| {
    let pw = "correct horse battery";
    // A people-only manager may not disable an editor (whose role grants more), but may
    // disable someone whose role it covers.
    let manager = token_with(
        &t,
        &t.a,
        "manager",
        &Grants::NONE.with(Area::People, Level::Update),
    )
    .await;
    let bob = join(&t, &t.a, "bob@example.com", "editor", pw).await;
    let bob_id = bob.body["user"]["id"].as_i64().unwrap();
    let error = bearer_json(
        &t,
        &manager,
        Method::PATCH,
        &format!("/external/people/{bob_id}"),
        &json!({"status": "disabled"}),
    )
    .await
    .error(StatusCode::FORBIDDEN, "forbidden");
    assert!(
        error["message"].as_str().unwrap().contains("current role"),
        "{error}"
    );
    assert_eq!(
        member(&t, &t.a, "bob@example.com").await["status"],
        "active"
    );
    let r = t
        .json(
            Method::POST,
            "/external/role",
            &t.a,
            Role::Owner,
            &json!({"name": "reader", "grants": {"people": "view"}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let cleo = join(&t, &t.a, "cleo@example.com", "reader", pw).await;
    let cleo_id = cleo.body["user"]["id"].as_i64().unwrap();
    let r = bearer_json(
        &t,
        &manager,
        Method::PATCH,
        &format!("/external/people/{cleo_id}"),
        &json!({"status": "disabled"}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    // A name change alone needs no such cover.
    let r = bearer_json(
        &t,
        &manager,
        Method::PATCH,
        &format!("/external/people/{bob_id}"),
        &json!({"name": "Bob B"}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());

    // A role is changed only by someone whose grants cover it as it is now.
    let r = t
        .json(
            Method::POST,
            "/external/role",
            &t.a,
            Role::Owner,
            &json!({"name": "big", "grants": {"offers": "full"}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let lead = token_with(
        &t,
        &t.a,
        "lead",
        &Grants::NONE.with(Area::People, Level::Full),
    )
    .await;
    let error = bearer_json(
        &t,
        &lead,
        Method::PATCH,
        "/external/role/big",
        &json!({"grants": {}}),
    )
    .await
    .error(StatusCode::FORBIDDEN, "forbidden");
    assert!(
        error["message"].as_str().unwrap().contains("big"),
        "{error}"
    );
    let roles = t
        .empty(Method::GET, "/external/role", &t.a, Role::Owner)
        .await
        .json();
    let big = roles
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "big")
        .cloned()
        .unwrap();
    assert_eq!(big["grants"]["offers"], "full", "{roles}");
    let r = bearer_json(
        &t,
        &lead,
        Method::PATCH,
        "/external/role/reader",
        &json!({"grants": {"people": "update"}}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
});

both_backends!(
    parallel_sign_ins_cannot_pass_the_limit_nor_can_invitations,
    |t| {
        let pw = "correct horse battery";
        join(&t, &t.a, "dan@example.com", "viewer", pw).await;
        let attempts = (0..20).map(|_| {
            t.send(
                Request::post("/external/session")
                    .header(header::CONTENT_TYPE, "application/json")
                    .body(json_body(
                        &json!({"email": "dan@example.com", "password": "wrong password!"}),
                    ))
                    .unwrap(),
            )
        });
        let answers = futures_util::future::join_all(attempts).await;
        let mut wrong = answers
            .iter()
            .filter(|r| r.status == StatusCode::UNAUTHORIZED)
            .count();
        for r in answers
            .iter()
            .filter(|r| r.status != StatusCode::UNAUTHORIZED)
        {
            // The limit, or all password slots busy (then the token is given back).
            r.error(StatusCode::TOO_MANY_REQUESTS, "rate_limited");
            assert!(r.header("retry-after").is_some());
        }
        // One at a time until refused: exactly 10 wrong passwords were ever checked.
        loop {
            let r = t
                .send(
                    Request::post("/external/session")
                        .header(header::CONTENT_TYPE, "application/json")
                        .body(json_body(
                            &json!({"email": "dan@example.com", "password": "wrong password!"}),
                        ))
                        .unwrap(),
                )
                .await;
            if r.status == StatusCode::TOO_MANY_REQUESTS {
                break;
            }
            assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.text());
            wrong += 1;
            assert!(wrong <= 10, "more than 10 wrong passwords were checked");
        }
        assert_eq!(wrong, 10);
        // The account's limit applies to an invitation's password check too.
        let link = invite_link(&t, &t.a, "dan@example.com", "viewer").await;
        let r = accept_link(&t, &link, pw).await;
        r.error(StatusCode::TOO_MANY_REQUESTS, "rate_limited");
        assert!(r.header("retry-after").is_some());
    }
);
