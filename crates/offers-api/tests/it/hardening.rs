//! Issue 12's hardening, each defect found by trying the API as a hostile client: invalid
//! UTF-8 in every body format and in the widget's query, overlong requests in the error shape,
//! duplicate JSON keys and out-of-range numbers named by field, misleading text, the header-read
//! timeout (SSE streams unaffected), and personal offers private by default.

use std::time::Duration;

use crate::common::*;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use offers_api::auth::Role;
use serde_json::{Value, json};

/// `text_offer()` as an urlencoded body, with `title` replaced by the raw `title` given.
fn urlencoded_offer(title: &str) -> String {
    let offer = text_offer();
    let mut out = format!("title={title}");
    for (k, v) in offer.as_object().unwrap() {
        if k == "title" {
            continue;
        }
        let v = match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        out.push('&');
        out.push_str(
            &form_urlencoded::Serializer::new(String::new())
                .append_pair(k, &v)
                .finish(),
        );
    }
    out
}

async fn offer_count(t: &TestApp) -> usize {
    let r = t.get_a("/external/offer?limit=100").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    r.json().as_array().expect("a list of offers").len()
}

async fn raw_post(t: &TestApp, content_type: &str, body: Vec<u8>) -> Resp {
    t.send(
        t.req(Method::POST, "/external/offer", &t.a, Role::Owner)
            .header(header::CONTENT_TYPE, content_type)
            .body(Body::from(body))
            .unwrap(),
    )
    .await
}

// Defect 1: `title=%FF%FE` was stored as "��".
both_backends!(
    invalid_utf8_in_an_urlencoded_form_is_refused_naming_the_field,
    |t| {
        let r = raw_post(
            &t,
            "application/x-www-form-urlencoded",
            urlencoded_offer("%FF%FE").into_bytes(),
        )
        .await;
        let fields = r.invalid(&["title"]);
        assert!(
            fields["title"].as_str().unwrap().contains("UTF-8"),
            "{fields}"
        );
        // The same bytes in multipart and JSON are refused too.
        let (ct, mut body) = curl_multipart(&[("title", "PLACEHOLDER")]);
        let at = body.windows(11).position(|w| w == b"PLACEHOLDER").unwrap();
        body.splice(at..at + 11, [0xFF, 0xFE]);
        raw_post(&t, &ct, body).await.invalid(&["title"]);
        let mut json = serde_json::to_vec(&text_offer()).unwrap();
        let at = json.windows(7).position(|w| w == b"\"Title\"").unwrap();
        json.splice(at + 1..at + 6, [0xFF, 0xFE]);
        raw_post(&t, "application/json", json)
            .await
            .error(StatusCode::BAD_REQUEST, "bad_request");
        // A valid form still works, and nothing was stored before.
        assert_eq!(offer_count(&t).await, 0);
        let ok = raw_post(
            &t,
            "application/x-www-form-urlencoded",
            urlencoded_offer("Caf%C3%A9").into_bytes(),
        )
        .await;
        assert_eq!(ok.status, StatusCode::CREATED, "{}", ok.text());
        assert_eq!(ok.json()["offer"]["title"], "Café");
    }
);

// Defect 2: the feed saved an invalid-UTF-8 `user` as a known user.
both_backends!(
    invalid_utf8_in_the_widget_query_is_a_400_and_nothing_is_stored,
    |t| {
        let key = t.a.public_key().to_owned();
        for (query, param) in [
            (format!("key={key}&room=r1&user=%FF%FE"), "user"),
            (format!("key={key}&room=%C3&user=u1"), "room"),
            (format!("key={key}&room=r1&user=u1&%FF=1"), "\u{FFFD}"),
        ] {
            for path in ["/widget/v1/offers", "/widget/v1/stream"] {
                let r = t
                    .send(
                        Request::get(format!("{path}?{query}"))
                            .body(Body::empty())
                            .unwrap(),
                    )
                    .await;
                let error = r.error(StatusCode::BAD_REQUEST, "bad_request");
                assert!(
                    error["fields"].get(param).is_some(),
                    "{path}?{query}: {error}"
                );
            }
        }
        // A good entry afterwards is registered; the bad ones never were.
        let r = t
            .send(
                Request::get(format!("/widget/v1/offers?key={key}&room=r1&user=marker"))
                    .body(Body::empty())
                    .unwrap(),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
        // Rooms and users are registered by separate statements, in either order: wait for both.
        t.wait_known(&t.a, "users", "marker").await;
        t.wait_known(&t.a, "rooms", "r1").await;
        let users = t.get_a("/external/users?limit=100").await.json();
        assert_eq!(users["ids"], json!(["marker"]), "{users}");
        let rooms = t.get_a("/external/rooms?limit=100").await.json();
        assert_eq!(rooms["ids"], json!(["r1"]), "{rooms}");
    }
);

// Defect 3: an overlong query got a bare 414 / 431.
both_backends!(overlong_requests_get_the_error_shape, |t| {
    let key = t.a.public_key().to_owned();
    let long = "u".repeat(offers_core::limits::MAX_REQUEST_TARGET_BYTES);
    let r = t
        .send(
            Request::get(format!("/widget/v1/offers?key={key}&room=r1&user={long}"))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    let error = r.error(StatusCode::URI_TOO_LONG, "uri_too_long");
    let reason = error["fields"]["user"].as_str().expect("names `user`");
    assert!(reason.contains("at most 128 characters"), "{reason}");
    // An id over its limit within a short query is a 400 naming it.
    let r = t
        .send(
            Request::get(format!(
                "/widget/v1/offers?key={key}&room={}",
                "r".repeat(129)
            ))
            .body(Body::empty())
            .unwrap(),
        )
        .await;
    let error = r.error(StatusCode::BAD_REQUEST, "bad_request");
    assert!(
        error["fields"]["room"]
            .as_str()
            .unwrap()
            .contains("at most 128"),
        "{error}"
    );
    // Too many header bytes: a 431 naming the header.
    let r = t
        .send(
            Request::get(format!("/widget/v1/offers?key={key}&room=r1"))
                .header(
                    "x-padding",
                    "p".repeat(offers_core::limits::MAX_HEADER_BYTES),
                )
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    let error = r.error(
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
        "request_header_fields_too_large",
    );
    assert!(error["fields"].get("x-padding").is_some(), "{error}");
});

#[tokio::test]
async fn overlong_requests_get_the_error_shape_over_a_real_connection() {
    with_db(Backend::Sqlite, |db| async move {
        let t = TestApp::start(db).await;
        let server = RealServer::start(t.router.clone()).await;
        let key = t.a.public_key();
        let long = "u".repeat(20_000);
        let (status, head, body) = http_request(
            &server.addr,
            &format!(
                "GET /widget/v1/offers?key={key}&room=r1&user={long} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
            ),
            b"",
        )
        .await;
        assert_eq!(status, 414, "{head}");
        let v: Value = serde_json::from_slice(&body).expect("a JSON body");
        assert_eq!(v["error"]["code"], "uri_too_long", "{v}");
        assert!(v["error"]["fields"]["user"].is_string(), "{v}");
        server.stop().await;
    })
    .await;
}

// Defect 7: a repeated JSON key was accepted, last value winning.
both_backends!(duplicate_json_keys_are_refused_naming_the_field, |t| {
    let offer = serde_json::to_string(&text_offer()).unwrap();
    let body = offer.replacen('{', "{\"title\":\"First\",", 1);
    let r = raw_post(&t, "application/json", body.into_bytes()).await;
    let fields = r.invalid(&["title"]);
    assert_eq!(fields["title"], "given more than once");
    // Nested keys are named with their path.
    let body = offer.replacen("\"bgColor\"", "\"bgColor\":\"#000\",\"bgColor\"", 1);
    let r = raw_post(&t, "application/json", body.into_bytes()).await;
    r.invalid(&["templateData.bgColor"]);
    // PATCH bodies too.
    let id = t.create_a(&text_offer()).await["id"].clone();
    let r = t
        .send(
            t.req(
                Method::PATCH,
                &format!("/external/offer/{id}"),
                &t.a,
                Role::Owner,
            )
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(r#"{"text":"a","text":"b"}"#))
            .unwrap(),
        )
        .await;
    r.invalid(&["text"]);
    assert_eq!(offer_count(&t).await, 1);
});

// Defect 8: `showDelayMS: 1e400` answered "malformed JSON" without naming the field.
both_backends!(a_number_out_of_range_is_blamed_on_its_field, |t| {
    let offer = serde_json::to_string(&text_offer()).unwrap();
    let body = offer.replacen("\"showDelayMS\":0", "\"showDelayMS\":1e400", 1);
    assert_ne!(body, offer);
    let r = raw_post(&t, "application/json", body.into_bytes()).await;
    let fields = r.invalid(&["showDelayMS"]);
    assert!(
        fields["showDelayMS"]
            .as_str()
            .unwrap()
            .contains("out of range"),
        "{fields}"
    );
    let body = offer.replacen("\"gradient\":true", "\"gradient\":-1e999", 1);
    raw_post(&t, "application/json", body.into_bytes())
        .await
        .invalid(&["templateData.gradient"]);
    assert_eq!(offer_count(&t).await, 0);
});

// Defect 6 through the API: the same reasons as the Studio's.
both_backends!(misleading_text_is_a_422_with_the_cores_reason, |t| {
    let r = t
        .json(
            Method::POST,
            "/external/offer",
            &t.a,
            Role::Owner,
            &with(
                &text_offer(),
                json!({"title": "abc\u{202e}gnp.exe", "text": "\u{200b}\u{200b}", "linkText": "\u{2067}x"}),
            ),
        )
        .await;
    let fields = r.invalid(&["title", "text", "linkText"]);
    assert_eq!(fields["title"], offers_core::text::BIDI_CONTROL_REASON);
    assert_eq!(fields["text"], offers_core::text::INVISIBLE_ONLY_REASON);
    let key = t.a.public_key().to_owned();
    let r = t
        .send(
            Request::get(format!("/widget/v1/offers?key={key}&room=%E2%80%8B"))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    let error = r.error(StatusCode::BAD_REQUEST, "bad_request");
    assert_eq!(
        error["fields"]["room"],
        offers_core::text::INVISIBLE_ONLY_REASON
    );
});

/// A real server for `t` whose request heads must arrive within `timeout`.
struct TimedServer {
    addr: String,
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl TimedServer {
    async fn start(t: &TestApp, timeout: Duration) -> TimedServer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let (stop, rx) = tokio::sync::oneshot::channel::<()>();
        let state = t.state.clone();
        let task = tokio::spawn(offers_api::server::serve_with_timeout(
            listener,
            t.router.clone(),
            async move {
                let _ = rx.await;
                state.begin_shutdown();
            },
            timeout,
        ));
        TimedServer { addr, stop, task }
    }

    async fn stop(self) {
        let _ = self.stop.send(());
        tokio::time::timeout(Duration::from_secs(20), self.task)
            .await
            .expect("server stops within 20 s")
            .expect("join")
            .expect("serve");
    }
}

/// Waits (at most `within`) until the server closes `conn`; `true` if it did.
async fn closed_by_server(conn: &mut tokio::net::TcpStream, within: Duration) -> bool {
    use tokio::io::AsyncReadExt;
    let mut buf = [0u8; 1024];
    let deadline = tokio::time::Instant::now() + within;
    loop {
        match tokio::time::timeout_at(deadline, conn.read(&mut buf)).await {
            Err(_) => return false,
            Ok(Ok(0) | Err(_)) => return true,
            Ok(Ok(_)) => {}
        }
    }
}

// Defect 4: connections sending half a head, or nothing, stayed open forever.
#[tokio::test]
async fn silent_and_half_sent_connections_are_closed_and_sse_streams_stay_open() {
    use tokio::io::AsyncWriteExt;
    with_db(Backend::Sqlite, |db| async move {
        let t = TestApp::start(db).await;
        let timeout = Duration::from_millis(800);
        let server = TimedServer::start(&t, timeout).await;
        let key = t.a.public_key().to_owned();

        // A stream opened first, before the slow connections.
        let mut sse = TcpSse::connect(
            &server.addr,
            &format!("/widget/v1/stream?key={key}&room=r1"),
        )
        .await;
        assert_eq!(sse.status, 200, "{}", sse.head);
        let opened = tokio::time::Instant::now();

        let mut silent = tokio::net::TcpStream::connect(&server.addr).await.unwrap();
        let mut half = tokio::net::TcpStream::connect(&server.addr).await.unwrap();
        half.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
            .await
            .unwrap();
        assert!(
            closed_by_server(&mut silent, Duration::from_secs(10)).await,
            "silent one closed"
        );
        assert!(
            closed_by_server(&mut half, Duration::from_secs(10)).await,
            "half head closed"
        );
        assert!(opened.elapsed() >= timeout, "not closed before the timeout");

        // The stream outlived the timeout: it still delivers changes.
        t.create_a(&text_offer()).await;
        let event = sse
            .next(Duration::from_secs(5))
            .await
            .expect("an event on the open stream");
        assert_eq!(event.name, "offer.created");

        // A complete request is still served.
        let (status, _, _) = http_request(
            &server.addr,
            "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
            b"",
        )
        .await;
        assert_eq!(status, 200);
        server.stop().await;
    })
    .await;
}

// ------------------------------------------------------------ private by default

/// A project created with the defaults (unlike `TestApp::project`, which turns the signature
/// requirement off for the older suites).
async fn default_project(t: &TestApp, name: &str) -> Creds {
    let now = chrono::Utc::now();
    let project = t
        .store
        .create_project(&offers_api::auth::new_project(name), now)
        .await
        .expect("create project");
    let signer = t.state.signer();
    Creds {
        owner: signer.issue(&project, Role::Owner, now.timestamp()),
        editor: signer.issue(&project, Role::Editor, now.timestamp()),
        viewer: signer.issue(&project, Role::Viewer, now.timestamp()),
        project,
    }
}

/// The titles of the feed for `query`, and its `Offers-Identity` header.
async fn feed_titles(t: &TestApp, query: &str) -> (Vec<String>, Option<String>) {
    let r = t
        .send(
            Request::get(format!("/widget/v1/offers?{query}"))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let mut titles: Vec<String> = r.json()["offers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["title"].as_str().unwrap().to_owned())
        .collect();
    titles.sort();
    (titles, r.header("offers-identity").map(str::to_owned))
}

async fn publish_three(t: &TestApp, creds: &Creds) {
    for offer in [
        with(&text_offer(), json!({"title": "Everyone"})),
        with(
            &text_offer(),
            json!({"title": "Room one", "type": "ROOM", "externalRoomIds": ["r1"]}),
        ),
        with(
            &text_offer(),
            json!({"title": "For Alice", "type": "USER", "externalUserIds": ["alice"]}),
        ),
    ] {
        let r = t
            .json(Method::POST, "/external/offer", creds, Role::Owner, &offer)
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    }
}

both_backends!(new_projects_require_a_signature_for_personal_offers, |t| {
    let p = default_project(&t, "Fresh").await;
    assert!(
        p.project.require_user_signature,
        "new projects are private by default"
    );
    publish_three(&t, &p).await;
    let key = p.public_key().to_owned();
    let sig = offers_api::auth::user_signature(&p.project.identity_secret, "alice");
    let wrong = offers_api::auth::user_signature(&p.project.identity_secret, "mallory");
    let public = vec!["Everyone".to_owned(), "Room one".to_owned()];
    let mut personal = public.clone();
    personal.push("For Alice".to_owned());
    personal.sort();

    // Anonymous and room offers work unsigned; no header without a claimed user.
    assert_eq!(
        feed_titles(&t, &format!("key={key}&room=r1")).await,
        (public.clone(), None)
    );
    // A claimed user without a valid signature gets the anonymous feed, and the header says why.
    for (query, why) in [
        (format!("key={key}&room=r1&user=alice"), "unsigned"),
        (
            format!("key={key}&room=r1&user=alice&sig={wrong}"),
            "bad-signature",
        ),
        (
            format!("key={key}&room=r1&user=alice&sig=nothex"),
            "bad-signature",
        ),
    ] {
        assert_eq!(
            feed_titles(&t, &query).await,
            (public.clone(), Some(why.to_owned())),
            "{query}"
        );
        let stream = t.stream(&query, &[]).await;
        assert_eq!(
            stream.header_str("offers-identity"),
            Some(why),
            "stream {query}"
        );
    }
    let signed = format!("key={key}&room=r1&user=alice&sig={sig}");
    assert_eq!(
        feed_titles(&t, &signed).await,
        (personal.clone(), Some("signed".to_owned()))
    );
    let stream = t.stream(&signed, &[]).await;
    assert_eq!(stream.header_str("offers-identity"), Some("signed"));

    // `project set --require-user-signature false` (the store call behind it) opens it up.
    let mut p = p;
    t.set_project(
        &mut p,
        offers_api::store::ProjectSettings {
            require_user_signature: Some(false),
            ..Default::default()
        },
    )
    .await;
    let unsigned = format!("key={key}&room=r1&user=alice");
    let opened = wait_until(Duration::from_secs(10), || async {
        feed_titles(&t, &unsigned).await == (personal.clone(), Some("not-required".to_owned()))
    })
    .await;
    assert!(opened, "the setting reaches the widget side within 10 s");
});

/// The database at migration 0003 (before private-by-default) with one project in it.
async fn database_before_0004(db: &TestDb) -> i64 {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(match db.backend {
        Backend::Sqlite => "migrations/sqlite",
        Backend::Postgres => "migrations/postgres",
    });
    let mut migrator = sqlx::migrate::Migrator::new(dir).await.expect("migrations");
    migrator.migrations = migrator
        .migrations
        .iter()
        .filter(|m| m.version <= 3)
        .cloned()
        .collect::<Vec<_>>()
        .into();
    assert_eq!(migrator.migrations.len(), 3);
    let insert = "INSERT INTO projects (name, api_key, public_key, secret, created_ms) \
                  VALUES ('Old', 'ok_old', 'pk_old', 'secret', 0) RETURNING id";
    match db.backend {
        Backend::Sqlite => {
            let url = format!("{}?mode=rwc", db.url);
            let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
            migrator.run(&pool).await.unwrap();
            let id: i64 = sqlx::query_scalar(insert).fetch_one(&pool).await.unwrap();
            pool.close().await;
            id
        }
        Backend::Postgres => {
            let pool = sqlx::PgPool::connect(&db.url).await.unwrap();
            migrator.run(&pool).await.unwrap();
            let id: i64 = sqlx::query_scalar(insert).fetch_one(&pool).await.unwrap();
            pool.close().await;
            id
        }
    }
}

async fn existing_projects_keep_their_setting(backend: Backend) {
    with_db(backend, |db| async move {
        let old = database_before_0004(&db).await;
        let store = offers_api::store::connect(&db.url)
            .await
            .expect("migrate to the latest");
        let project = store
            .project_by_id(old)
            .await
            .unwrap()
            .expect("old project");
        assert!(
            !project.require_user_signature,
            "migration 0004 flips no existing row"
        );
        let now = chrono::Utc::now();
        let fresh = store
            .create_project(&offers_api::auth::new_project("New"), now)
            .await
            .unwrap();
        assert!(fresh.require_user_signature);
        let again = store.project_by_id(old).await.unwrap().unwrap();
        assert!(!again.require_user_signature);
    })
    .await;
}

#[tokio::test]
async fn existing_projects_keep_their_setting_sqlite() {
    existing_projects_keep_their_setting(Backend::Sqlite).await;
}

#[tokio::test]
async fn existing_projects_keep_their_setting_postgres() {
    if std::env::var_os("OFFERS_TEST_SKIP_PG").is_some() {
        eprintln!("OFFERS_TEST_SKIP_PG set: skipping the PostgreSQL run");
        return;
    }
    existing_projects_keep_their_setting(Backend::Postgres).await;
}

/// Runs `program` with `args` and the identity secret in its environment; its stdout, trimmed.
fn run_snippet(program: &str, args: &[&str], secret: &str) -> String {
    let out = std::process::Command::new(program)
        .args(args)
        .env("OFFERS_IDENTITY_SECRET", secret)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
    assert!(
        out.status.success(),
        "{program}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

// The README's and the demo page's signing lines, run for real: the API accepts what they sign.
#[tokio::test]
async fn the_documented_signing_snippets_sign_ids_the_api_accepts() {
    use offers_api::http::assets::{NODE_SIGNING_SNIPPET, PYTHON_SIGNING_SNIPPET};
    for readme in [
        concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"),
        concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md"),
    ] {
        let text = std::fs::read_to_string(readme).unwrap();
        assert!(
            text.contains(NODE_SIGNING_SNIPPET),
            "{readme} shows the Node lines"
        );
        assert!(
            text.contains(PYTHON_SIGNING_SNIPPET),
            "{readme} shows the Python lines"
        );
    }
    with_db(Backend::Sqlite, |db| async move {
        let t = TestApp::start(db).await;
        let p = default_project(&t, "Signed").await;
        publish_three(&t, &p).await;
        let secret = p.project.identity_secret.clone();
        let user = "alice";
        let node = run_snippet(
            "node",
            &[
                "-e",
                &format!(
                    "const userId = process.argv[1];\n{NODE_SIGNING_SNIPPET}\nconsole.log(sig);"
                ),
                user,
            ],
            &secret,
        );
        let python = run_snippet(
            "python3",
            &[
                "-c",
                &format!("import sys\nuser_id = sys.argv[1]\n{PYTHON_SIGNING_SNIPPET}\nprint(sig)"),
                user,
            ],
            &secret,
        );
        assert_eq!(node, python);
        assert_eq!(node.len(), 64, "{node}");
        let key = p.public_key();
        let (titles, identity) =
            feed_titles(&t, &format!("key={key}&room=r0&user={user}&sig={node}")).await;
        assert_eq!(identity.as_deref(), Some("signed"));
        assert_eq!(titles, ["Everyone", "For Alice"]);

        // The demo page shows the same lines and, for its own project, a signature it computed.
        let page = t
            .send(Request::get("/demo/").body(Body::empty()).unwrap())
            .await;
        assert_eq!(page.status, StatusCode::OK);
        let html = page.text();
        assert!(
            html.contains("createHmac(&quot;sha256&quot;"),
            "the Node lines"
        );
        assert!(
            html.contains("hashlib.sha256).hexdigest()"),
            "the Python lines"
        );
        let demo = t
            .store
            .demo_project()
            .await
            .unwrap()
            .expect("a demo project");
        let demo_sig = offers_api::auth::user_signature(&demo.identity_secret, "demo-user");
        assert!(
            html.contains(&format!("data-user=\"demo-user\" data-sig=\"{demo_sig}\"")),
            "{html}"
        );
        // Another project's key is never signed for.
        let other = t
            .send(
                Request::get(format!("/demo/?key={key}"))
                    .body(Body::empty())
                    .unwrap(),
            )
            .await;
        assert!(!other.text().contains("data-sig=\""));
    })
    .await;
}
