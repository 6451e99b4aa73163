//! The binary as operators use it: `project create`, `token issue` and `serve` as real
//! processes against a temp SQLite file (also while a server runs on it), SIGTERM, and
//! graceful shutdown of in-flight requests.

use crate::common;

use std::path::Path;
use std::process::{Output, Stdio};
use std::sync::Arc;
use std::time::Duration;

use crate::common::{http_request, read_response};
use axum::routing::get;
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, Command};

const BIN: &str = env!("CARGO_BIN_EXE_offers-api");

use crate::common::{Backend, TcpSse, with_db};

fn command(args: &[&str]) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.args(args)
        .env_remove("DATABASE_URL")
        .env_remove("OFFERS_ADDR")
        .env_remove("OFFERS_WIDGET_DIR")
        .env_remove("OFFERS_STUDIO_DIR")
        .env_remove("OFFERS_MEDIA_DIR")
        .env_remove("OFFERS_MEDIA_STORE")
        .env_remove("OFFERS_PUBLIC_URL")
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .kill_on_drop(true);
    cmd
}

async fn run(args: &[&str]) -> Output {
    tokio::time::timeout(Duration::from_secs(60), command(args).output())
        .await
        .expect("command finishes within 60 s")
        .expect("spawn")
}

fn db_url(dir: &Path) -> String {
    format!("sqlite://{}", dir.join("offers.db").display())
}

async fn create_project(url: &str, name: &str) -> Value {
    let out = run(&["project", "create", "--name", name, "--database-url", url]).await;
    assert!(
        out.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        stdout.lines().count(),
        1,
        "one JSON object on one line: {stdout}"
    );
    serde_json::from_str(stdout.trim()).expect("JSON")
}

async fn issue_token(url: &str, project: i64, role: &str) -> String {
    let out = run(&[
        "token",
        "issue",
        "--project",
        &project.to_string(),
        "--role",
        role,
        "--database-url",
        url,
    ])
    .await;
    assert!(
        out.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 1, "one token on one line: {stdout:?}");
    assert!(lines[0].starts_with("ofr."));
    lines[0].to_owned()
}

/// A `serve` process and the lines it printed up to "listening on http://ADDR".
struct Server {
    child: Child,
    addr: String,
    banner: Vec<String>,
}

async fn start_server(url: &str, widget_dir: &Path) -> Server {
    // Images next to the widget dir (a temp dir), never in the working directory.
    let media_dir = widget_dir.with_file_name("media");
    let args = ["--media-dir", &media_dir.display().to_string()].map(str::to_owned);
    start_server_with(url, widget_dir, &args, &[]).await
}

/// `serve` with extra arguments and environment variables.
async fn start_server_with(
    url: &str,
    widget_dir: &Path,
    extra: &[String],
    env: &[(&str, &str)],
) -> Server {
    let mut args = vec![
        "serve".to_owned(),
        "--addr".into(),
        "127.0.0.1:0".into(),
        "--database-url".into(),
        url.to_owned(),
        "--widget-dir".into(),
        widget_dir.display().to_string(),
    ];
    args.extend_from_slice(extra);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut cmd = command(&args);
    cmd.envs(env.iter().copied());
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn serve");
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let mut banner = Vec::new();
    let addr = tokio::time::timeout(Duration::from_secs(60), async {
        while let Some(line) = lines.next_line().await.expect("read stdout") {
            banner.push(line.clone());
            if let Some(rest) = line.split("listening on http://").nth(1) {
                return rest.trim().to_owned();
            }
        }
        panic!("serve exited before listening: {banner:?}");
    })
    .await
    .expect("serve listens within 60 s");
    // Keep draining stdout so the server never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    Server {
        child,
        addr,
        banner,
    }
}

impl Server {
    async fn sigterm_and_wait(mut self) {
        let pid = self.child.id().expect("running").to_string();
        let status = std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill");
        assert!(status.success());
        let exit = tokio::time::timeout(Duration::from_secs(30), self.child.wait())
            .await
            .expect("exits within 30 s of SIGTERM")
            .expect("wait");
        assert!(exit.success(), "clean exit after SIGTERM: {exit:?}");
    }

    async fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> (u16, Value) {
        let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {}\r\n", self.addr);
        for (k, v) in headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        head.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
        let (status, _, body) = http_request(&self.addr, &head, body).await;
        let value = serde_json::from_slice(&body)
            .unwrap_or(Value::String(String::from_utf8_lossy(&body).into_owned()));
        (status, value)
    }
}

fn value_after<'a>(banner: &'a [String], label: &str) -> &'a str {
    banner
        .iter()
        .find(|l| l.contains(label))
        .unwrap_or_else(|| panic!("no `{label}` line in {banner:?}"))
        .split_whitespace()
        .last()
        .unwrap()
}

#[tokio::test]
async fn project_create_and_token_issue() {
    let dir = tempfile::tempdir().unwrap();
    let url = db_url(dir.path());
    let created = create_project(&url, "Acme").await;
    let keys: Vec<&String> = created.as_object().unwrap().keys().collect();
    for key in [
        "id",
        "name",
        "apiKey",
        "publicKey",
        "identitySecret",
        "requireUserSignature",
        "allowedOrigins",
        "token",
    ] {
        assert!(created.get(key).is_some(), "{key} missing: {keys:?}");
    }
    assert!(
        created["identitySecret"]
            .as_str()
            .unwrap()
            .starts_with("ids_")
    );
    // Private by default (issue 12): a new project requires signed user ids.
    assert_eq!(created["requireUserSignature"], true);
    assert_eq!(created["allowedOrigins"], serde_json::json!([]));
    assert_eq!(created["name"], "Acme");
    assert!(created["apiKey"].as_str().unwrap().starts_with("ok_"));
    assert!(created["publicKey"].as_str().unwrap().starts_with("pk_"));
    let id = created["id"].as_i64().unwrap();
    let viewer = issue_token(&url, id, "viewer").await;
    let editor = issue_token(&url, id, "editor").await;
    assert_ne!(viewer, editor);

    // The tokens work against the API on that database, with their roles.
    let store = offers_api::store::connect(&url).await.unwrap();
    let state = offers_api::AppState::new(store, common::memory_media_settings())
        .await
        .unwrap();
    let app = offers_api::app(state);
    use tower::ServiceExt;
    let send = |token: String, method: &str, body: &'static str| {
        let app = app.clone();
        let api_key = created["apiKey"].as_str().unwrap().to_owned();
        let method = method.to_owned();
        async move {
            let req = axum::http::Request::builder()
                .method(method.as_str())
                .uri("/external/offer")
                .header("x-api-key", api_key)
                .header("authorization", format!("Bearer {token}"))
                .header("content-type", "application/json")
                .body(axum::body::Body::from(body))
                .unwrap();
            app.oneshot(req).await.unwrap().status().as_u16()
        }
    };
    let offer = r#"{"template":10,"title":"T","text":"X","link":"https://example.com/","linkText":"Go","startTime":"2024-01-01T00:00:00Z"}"#;
    assert_eq!(send(viewer.clone(), "GET", "").await, 200);
    assert_eq!(send(viewer, "POST", offer).await, 403);
    assert_eq!(send(editor, "POST", offer).await, 403);
    assert_eq!(
        send(created["token"].as_str().unwrap().to_owned(), "POST", offer).await,
        201
    );
}

async fn project_cmd(args: &[&str]) -> Result<Value, String> {
    let out = run(args).await;
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(stdout.lines().count(), 1, "one JSON line: {stdout}");
    Ok(serde_json::from_str(stdout.trim()).expect("JSON"))
}

#[tokio::test]
async fn project_show_and_set() {
    let dir = tempfile::tempdir().unwrap();
    let url = db_url(dir.path());
    let created = create_project(&url, "Acme").await;
    let id = created["id"].to_string();
    let shown = project_cmd(&["project", "show", "--project", &id, "--database-url", &url])
        .await
        .unwrap();
    let mut expected = created.clone();
    expected.as_object_mut().unwrap().remove("token");
    assert_eq!(shown, expected, "show prints the project without a token");

    let set = project_cmd(&[
        "project",
        "set",
        "--project",
        &id,
        "--require-user-signature",
        "true",
        "--allowed-origin",
        "HTTPS://App.Example/",
        "--allowed-origin",
        "http://localhost:3000",
        "--database-url",
        &url,
    ])
    .await
    .unwrap();
    assert_eq!(set["requireUserSignature"], true);
    assert_eq!(
        set["allowedOrigins"],
        serde_json::json!(["https://app.example", "http://localhost:3000"])
    );
    assert_eq!(set["identitySecret"], created["identitySecret"]);
    let shown = project_cmd(&["project", "show", "--project", &id, "--database-url", &url])
        .await
        .unwrap();
    assert_eq!(shown, set);

    // One setting at a time; `--allowed-origin ''` clears the list.
    let cleared = project_cmd(&[
        "project",
        "set",
        "--project",
        &id,
        "--allowed-origin",
        "",
        "--database-url",
        &url,
    ])
    .await
    .unwrap();
    assert_eq!(cleared["allowedOrigins"], serde_json::json!([]));
    assert_eq!(cleared["requireUserSignature"], true);
    let off = project_cmd(&[
        "project",
        "set",
        "--project",
        &id,
        "--require-user-signature",
        "false",
        "--database-url",
        &url,
    ])
    .await
    .unwrap();
    assert_eq!(off["requireUserSignature"], false);

    // Errors: a path in an origin, nothing to set, no such project, not a boolean.
    for (args, says) in [
        (
            vec!["--allowed-origin", "https://a.example/path"],
            "not an origin",
        ),
        (vec![], "nothing to set"),
        (vec!["--require-user-signature", "maybe"], "maybe"),
    ] {
        let mut full = vec!["project", "set", "--project", &id, "--database-url", &url];
        full.extend(args);
        let err = project_cmd(&full).await.unwrap_err();
        assert!(err.contains(says), "{err}");
    }
    let err = project_cmd(&["project", "show", "--project", "99", "--database-url", &url])
        .await
        .unwrap_err();
    assert!(err.contains("no project with id 99"), "{err}");
}

#[tokio::test]
async fn project_set_caps_and_attribution_window() {
    let dir = tempfile::tempdir().unwrap();
    let url = db_url(dir.path());
    let created = create_project(&url, "Caps").await;
    assert_eq!(created["caps"], serde_json::json!({}));
    assert_eq!(created["attributionWindowHours"], 24);
    let id = created["id"].to_string();
    let set = |args: Vec<&'static str>| {
        let (id, url) = (id.clone(), url.clone());
        async move {
            let mut full = vec!["project", "set", "--project", &id, "--database-url", &url];
            full.extend(args);
            project_cmd(&full).await
        }
    };
    let out = set(vec![
        "--cap-session",
        "1",
        "--cap-day",
        "3",
        "--cap-week",
        "10",
        "--min-gap-ms",
        "60000",
        "--attribution-window-hours",
        "48",
    ])
    .await
    .unwrap();
    assert_eq!(
        out["caps"],
        serde_json::json!({"perSession": 1, "perDay": 3, "perWeek": 10, "minGapMs": 60000})
    );
    assert_eq!(out["attributionWindowHours"], 48);
    // 0 clears one cap; the others stay.
    let out = set(vec!["--cap-day", "0"]).await.unwrap();
    assert_eq!(
        out["caps"],
        serde_json::json!({"perSession": 1, "perWeek": 10, "minGapMs": 60000})
    );
    let shown = project_cmd(&["project", "show", "--project", &id, "--database-url", &url])
        .await
        .unwrap();
    assert_eq!(shown, out);
    for (args, says) in [
        (vec!["--cap-week", "5000"], "--cap-week"),
        (
            vec!["--attribution-window-hours", "0"],
            "--attribution-window-hours",
        ),
        (vec!["--cap-day", "-1"], "-1"),
    ] {
        let err = set(args).await.unwrap_err();
        assert!(err.contains(says), "{err}");
    }
}

#[tokio::test]
async fn admin_command_errors() {
    let dir = tempfile::tempdir().unwrap();
    let url = db_url(dir.path());
    let out = run(&[
        "token",
        "issue",
        "--project",
        "42",
        "--role",
        "owner",
        "--database-url",
        &url,
    ])
    .await;
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no project with id 42"));
    assert!(out.stdout.is_empty());
    let out = run(&[
        "token",
        "issue",
        "--project",
        "1",
        "--role",
        "admin",
        "--database-url",
        &url,
    ])
    .await;
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("viewer"));
    let out = run(&["project", "create", "--name", "  ", "--database-url", &url]).await;
    assert!(!out.status.success());
}

#[tokio::test]
async fn serve_bootstraps_once_and_admin_commands_work_while_it_runs() {
    let dir = tempfile::tempdir().unwrap();
    let url = db_url(dir.path());
    let widget_dir = dir.path().join("widget");

    let server = start_server(&url, &widget_dir).await;
    let banner = server.banner.join("\n");
    assert!(banner.contains("demo project"), "{banner}");
    let demo_key = value_after(&server.banner, "apiKey").to_owned();
    let demo_public = value_after(&server.banner, "publicKey").to_owned();
    let demo_token = value_after(&server.banner, "owner token").to_owned();

    // The demo project and its offer are there.
    let (status, list) = server
        .request(
            "GET",
            "/external/offer",
            &[
                ("x-api-key", &demo_key),
                ("Authorization", &format!("Bearer {demo_token}")),
            ],
            b"",
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(list[0]["title"], "Welcome to Offers");
    let (status, page) = server.request("GET", "/demo/", &[], b"").await;
    assert_eq!(status, 200);
    let html = page.as_str().unwrap();
    assert!(html.contains(&format!("data-project=\"{demo_public}\"")));
    assert!(
        html.contains("not built"),
        "no widget bundle in the temp dir"
    );

    // Admin commands against the same SQLite file while the server is running.
    let (a, b) = tokio::join!(
        create_project(&url, "Live A"),
        create_project(&url, "Live B")
    );
    assert_ne!(a["id"], b["id"]);
    let editor = issue_token(&url, a["id"].as_i64().unwrap(), "editor").await;
    let owner = a["token"].as_str().unwrap().to_owned();
    let key = a["apiKey"].as_str().unwrap().to_owned();
    let body = br#"{"template":10,"title":"Live","text":"Created while serving","link":"https://example.com/","linkText":"Go","startTime":"2024-01-01T00:00:00Z"}"#;
    let auth = format!("Bearer {owner}");
    let (status, created) = server
        .request(
            "POST",
            "/external/offer",
            &[
                ("x-api-key", &key),
                ("Authorization", &auth),
                ("Content-Type", "application/json"),
            ],
            body,
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let id = created["offer"]["id"].as_i64().unwrap();
    let (status, patched) = server
        .request(
            "PATCH",
            &format!("/external/offer/{id}"),
            &[
                ("x-api-key", &key),
                ("Authorization", &format!("Bearer {editor}")),
                ("Content-Type", "application/json"),
            ],
            br#"{"title":"Edited"}"#,
        )
        .await;
    assert_eq!(status, 200, "{patched}");
    let (status, health) = server.request("GET", "/healthz", &[], b"").await;
    assert_eq!((status, health), (200, serde_json::json!({"status": "ok"})));
    server.sigterm_and_wait().await;

    // A second start on the same database creates nothing.
    let again = start_server(&url, &widget_dir).await;
    assert!(
        !again.banner.join("\n").contains("demo project"),
        "{:?}",
        again.banner
    );
    let (status, list) = again
        .request(
            "GET",
            "/external/offer",
            &[("x-api-key", &key), ("Authorization", &auth)],
            b"",
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(list[0]["title"], "Edited");
    again.sigterm_and_wait().await;
}

#[tokio::test]
async fn graceful_shutdown_lets_in_flight_requests_finish() {
    let dir = tempfile::tempdir().unwrap();
    let store = offers_api::store::connect(&db_url(dir.path()))
        .await
        .unwrap();
    let state = offers_api::AppState::new(store, common::memory_media_settings())
        .await
        .unwrap();
    let started = Arc::new(tokio::sync::Notify::new());
    let release = Arc::new(tokio::sync::Notify::new());
    let (s, r) = (Arc::clone(&started), Arc::clone(&release));
    let app = offers_api::app(state).route(
        "/test/slow",
        get(move || {
            let (s, r) = (Arc::clone(&s), Arc::clone(&r));
            async move {
                s.notify_one();
                r.notified().await;
                "finished"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let mut server = tokio::spawn(offers_api::server::serve_with(listener, app, async move {
        let _ = stop_rx.await;
    }));

    let client_addr = addr.clone();
    let client = tokio::spawn(async move {
        let mut stream = tokio::net::TcpStream::connect(&client_addr).await.unwrap();
        stream
            .write_all(format!("GET /test/slow HTTP/1.1\r\nHost: {client_addr}\r\n\r\n").as_bytes())
            .await
            .unwrap();
        read_response(&mut stream).await
    });

    tokio::time::timeout(Duration::from_secs(20), started.notified())
        .await
        .expect("the request reaches the handler");
    stop_tx.send(()).unwrap();
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
    assert!(
        !server.is_finished(),
        "the server waits for the in-flight request"
    );
    release.notify_one();

    let (status, _, body) = tokio::time::timeout(Duration::from_secs(20), client)
        .await
        .expect("response")
        .unwrap();
    assert_eq!(status, 200);
    assert_eq!(body, b"finished");
    tokio::time::timeout(Duration::from_secs(20), &mut server)
        .await
        .expect("the server stops once the request is done")
        .unwrap()
        .unwrap();
}

/// Two `serve` processes on one PostgreSQL database: a change made through one reaches an
/// event stream open on the other within a second (pg_notify → PgListener), and both stop
/// cleanly on SIGTERM with the stream still open.
#[tokio::test]
async fn two_processes_on_one_postgres_database() {
    if common::skip_postgres("cli::two_processes_on_one_postgres_database") {
        return;
    }
    with_db(Backend::Postgres, |db| async move {
        let dir = tempfile::tempdir().unwrap();
        let widget_dir = dir.path().join("widget");
        let a = start_server(&db.url, &widget_dir).await;
        let b = start_server(&db.url, &widget_dir).await;
        assert_ne!(a.addr, b.addr);
        let api_key = value_after(&a.banner, "apiKey").to_owned();
        let public_key = value_after(&a.banner, "publicKey").to_owned();
        let token = value_after(&a.banner, "owner token").to_owned();
        let auth = [
            ("x-api-key", api_key.as_str()),
            ("Authorization", &format!("Bearer {token}")),
            ("Content-Type", "application/json"),
        ];

        let mut stream =
            TcpSse::connect(&b.addr, &format!("/widget/v1/stream?key={public_key}&room=r1")).await;
        assert_eq!(stream.status, 200, "{}", stream.head);
        let head = stream.head.to_ascii_lowercase();
        assert!(head.contains("content-type: text/event-stream"), "{head}");
        assert!(!head.contains("content-encoding"), "never compressed: {head}");
        assert!(head.contains("x-accel-buffering: no"), "{head}");

        let offer = r#"{"template":10,"title":"Cross","text":"X","link":"https://example.com/","linkText":"Go","startTime":"2024-01-01T00:00:00Z"}"#;
        let (status, created) = a.request("POST", "/external/offer", &auth, offer.as_bytes()).await;
        assert_eq!(status, 201, "{created}");
        let posted = std::time::Instant::now();
        let id = created["offer"]["id"].as_i64().unwrap();
        let event = stream
            .next(Duration::from_secs(1))
            .await
            .expect("offer.created on process B within 1 s of the POST to process A");
        assert!(posted.elapsed() < Duration::from_secs(1));
        assert_eq!(event.name, "offer.created");
        assert_eq!(event.json()["id"], id);
        assert_eq!(event.json()["title"], "Cross");

        let (status, _) = a
            .request("DELETE", &format!("/external/offer/{id}"), &auth, b"")
            .await;
        assert_eq!(status, 200);
        let event = stream.next(Duration::from_secs(1)).await.expect("offer.deleted");
        assert_eq!((event.name.as_str(), event.json()), ("offer.deleted", serde_json::json!({"id": id})));

        // SIGTERM with the stream open: the stream ends and both processes exit cleanly.
        b.sigterm_and_wait().await;
        assert!(stream.next(Duration::from_secs(5)).await.is_none(), "the stream ended");
        a.sigterm_and_wait().await;
    })
    .await;
}

async fn cli_json(args: &[&str]) -> Value {
    let out = run(args).await;
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(stdout.lines().count(), 1, "one line: {stdout}");
    serde_json::from_str(stdout.trim()).expect("JSON")
}

/// A GET of the offer list through an app over `url`, with `token`: its status.
async fn offer_list_status(url: &str, api_key: &str, token: &str) -> u16 {
    use tower::ServiceExt as _;
    let store = offers_api::store::connect(url).await.unwrap();
    let settings = offers_api::state::Settings {
        media: offers_api::media::MediaLocation::Memory,
        ..offers_api::state::Settings::default()
    };
    let state = offers_api::AppState::new(store, settings).await.unwrap();
    let req = axum::http::Request::get("/external/offer")
        .header("x-api-key", api_key)
        .header("authorization", format!("Bearer {token}"))
        .body(axum::body::Body::empty())
        .unwrap();
    offers_api::app(state)
        .oneshot(req)
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn named_tokens_invitations_and_secret_rotation() {
    let dir = tempfile::tempdir().unwrap();
    let url = db_url(dir.path());
    let created = create_project(&url, "People").await;
    let id = created["id"].as_i64().unwrap().to_string();
    let key = created["apiKey"].as_str().unwrap().to_owned();
    let legacy = created["token"].as_str().unwrap().to_owned();

    // A named token with an expiry, listed (never its secret), then revoked.
    let out = run(&[
        "token",
        "issue",
        "--project",
        &id,
        "--role",
        "viewer",
        "--name",
        "ci",
        "--expires-in",
        "30d",
        "--database-url",
        &url,
    ])
    .await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let named = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    assert!(named.starts_with("oft."), "{named}");
    assert_eq!(offer_list_status(&url, &key, &named).await, 200);
    let list = cli_json(&["token", "list", "--project", &id, "--database-url", &url]).await;
    assert_eq!(list[0]["name"], "ci");
    assert_eq!(list[0]["role"], "viewer");
    assert!(list[0]["expiresAt"].is_string() && list[0]["revokedAt"].is_null());
    assert!(!list.to_string().contains(&named));
    let revoked = cli_json(&[
        "token",
        "revoke",
        "--project",
        &id,
        "--name",
        "ci",
        "--database-url",
        &url,
    ])
    .await;
    assert!(revoked["revokedAt"].is_string());
    assert_eq!(offer_list_status(&url, &key, &named).await, 401);
    // Bad input names the flag.
    for (args, says) in [
        (vec!["--role", "viewer", "--name", "Bad Name"], "--name"),
        (vec!["--role", "nosuch", "--name", "x"], "--role"),
        (vec!["--role", "viewer", "--name", "ci"], "exists"),
    ] {
        let mut argv = vec!["token", "issue", "--project", &id, "--database-url", &url];
        argv.extend(args);
        let out = run(&argv).await;
        assert!(!out.status.success());
        assert!(
            String::from_utf8_lossy(&out.stderr).contains(says),
            "{argv:?}"
        );
    }

    // Invitations: one JSON line; the first owner; the people list.
    let invited = cli_json(&[
        "user",
        "invite",
        "--project",
        &id,
        "--email",
        "Olga@Example.com",
        "--role",
        "owner",
        "--public-url",
        "https://offers.example",
        "--database-url",
        &url,
    ])
    .await;
    assert_eq!(invited["email"], "olga@example.com");
    assert_eq!(invited["role"], "owner");
    assert!(
        invited["inviteUrl"]
            .as_str()
            .unwrap()
            .starts_with("https://offers.example/studio/#invite=")
    );
    assert!(invited["expiresAt"].is_string());
    let out = run(&[
        "user",
        "invite",
        "--project",
        &id,
        "--email",
        "not-an-email",
        "--role",
        "viewer",
        "--database-url",
        &url,
    ])
    .await;
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--email"));
    let people = cli_json(&["user", "list", "--project", &id, "--database-url", &url]).await;
    assert_eq!(people, serde_json::json!([]), "nobody has accepted yet");

    // Rotation: old tokens keep working for the stated time, then not at all.
    cli_json(&[
        "token",
        "rotate-secret",
        "--project",
        &id,
        "--old-valid-for",
        "24h",
        "--database-url",
        &url,
    ])
    .await;
    assert_eq!(offer_list_status(&url, &key, &legacy).await, 200);
    let fresh = issue_token(&url, created["id"].as_i64().unwrap(), "viewer").await;
    assert_eq!(offer_list_status(&url, &key, &fresh).await, 200);
    let rotated = cli_json(&[
        "token",
        "rotate-secret",
        "--project",
        &id,
        "--old-valid-for",
        "0s",
        "--database-url",
        &url,
    ])
    .await;
    assert_eq!(rotated["projectId"], created["id"]);
    assert!(rotated["oldValidUntil"].is_string());
    // `fresh` was signed with the secret just rotated out (valid 0 s); `legacy` with the
    // first one, still valid for 24 h.
    assert_eq!(offer_list_status(&url, &key, &fresh).await, 401);
    assert_eq!(offer_list_status(&url, &key, &legacy).await, 200);
}
