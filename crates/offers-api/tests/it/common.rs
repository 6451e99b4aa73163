//! Test helpers: a fresh database per test on either backend, an in-process app, request
//! builders (JSON, multipart exactly as curl writes it, urlencoded) and a loopback HTTP client.
//!
//! Backends: SQLite uses a temp file per test. PostgreSQL uses the admin URL in
//! `OFFERS_TEST_PG_URL` (default `postgres://postgres@127.0.0.1:5432/postgres`): each test
//! creates `offers_test_<random>` and drops it afterwards, even when the test panics.
//! `OFFERS_TEST_SKIP_PG` skips the PostgreSQL runs, each saying so on stderr ([`skip_postgres`]);
//! in CI (`CI=true`) it is refused: PostgreSQL is always there.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use http_body_util::BodyExt;
use offers_api::auth::{Role, new_project};
use offers_api::media::MediaLocation;
use offers_api::state::{AppState, Settings};
use offers_api::store::{self, Project, ProjectSettings, Store};
use serde_json::Value;
use tower::ServiceExt;

/// Which database a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Backend {
    Sqlite,
    Postgres,
}

pub(crate) fn pg_admin_url() -> String {
    std::env::var("OFFERS_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

fn random_suffix() -> String {
    offers_api::auth::random_hex(8)
}

/// Whether the PostgreSQL run of `test` is to be skipped (`OFFERS_TEST_SKIP_PG` is set). A skip
/// writes a `SKIPPED` line straight to stderr (past the test harness's capture), so that it
/// does not pass silently; with `CI=true` the variable makes the test fail instead.
pub(crate) fn skip_postgres(test: &str) -> bool {
    use std::io::Write as _;
    if std::env::var_os("OFFERS_TEST_SKIP_PG").is_none() {
        return false;
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "{test}: OFFERS_TEST_SKIP_PG is set, but CI=true: PostgreSQL runs in CI, nothing is skipped"
    );
    let _ = writeln!(
        std::io::stderr(),
        "SKIPPED {test}: the PostgreSQL run (OFFERS_TEST_SKIP_PG is set)"
    );
    true
}

/// A database that exists for one test.
pub(crate) struct TestDb {
    pub backend: Backend,
    pub url: String,
    _dir: Option<tempfile::TempDir>,
    pg_name: Option<String>,
}

impl TestDb {
    pub(crate) async fn create(backend: Backend) -> TestDb {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                let url = format!("sqlite://{}", dir.path().join("offers.db").display());
                TestDb {
                    backend,
                    url,
                    _dir: Some(dir),
                    pg_name: None,
                }
            }
            Backend::Postgres => {
                let admin = pg_admin_url();
                let name = format!("offers_test_{}", random_suffix());
                let mut conn = connect_pg_admin(&admin).await;
                sqlx::query(&format!("CREATE DATABASE {name}"))
                    .execute(&mut conn)
                    .await
                    .expect("CREATE DATABASE");
                let url = with_db_name(&admin, &name);
                TestDb {
                    backend,
                    url,
                    _dir: None,
                    pg_name: Some(name),
                }
            }
        }
    }

    pub(crate) async fn drop_db(&self) {
        if let Some(name) = &self.pg_name {
            let mut conn = connect_pg_admin(&pg_admin_url()).await;
            sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .execute(&mut conn)
                .await
                .expect("DROP DATABASE");
        }
    }
}

async fn connect_pg_admin(url: &str) -> sqlx::PgConnection {
    use sqlx::Connection;
    sqlx::PgConnection::connect(url).await.unwrap_or_else(|e| {
        panic!(
            "PostgreSQL is not reachable at {url} ({e}). Start it (e.g. `pg_ctlcluster \
             --skip-systemctl-redirect 15 main start`) or set OFFERS_TEST_PG_URL."
        )
    })
}

/// `postgres://u@h:p/admin?x` → `postgres://u@h:p/<name>?x`.
pub(crate) fn with_db_name(admin: &str, name: &str) -> String {
    let (base, query) = match admin.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (admin, None),
    };
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let path_start = base[scheme_end..]
        .find('/')
        .map_or(base.len(), |i| i + scheme_end);
    let mut url = format!("{}/{}", &base[..path_start], name);
    if let Some(q) = query {
        url.push('?');
        url.push_str(q);
    }
    url
}

/// Runs `body` against a fresh database of `backend`; drops the database afterwards, also
/// when `body` panics (the panic is then re-raised).
pub(crate) async fn with_db<F, Fut>(backend: Backend, body: F)
where
    F: FnOnce(Arc<TestDb>) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let db = Arc::new(TestDb::create(backend).await);
    let outcome = tokio::spawn(body(Arc::clone(&db))).await;
    db.drop_db().await;
    if let Err(e) = outcome {
        if e.is_panic() {
            std::panic::resume_unwind(e.into_panic());
        }
        panic!("test task failed: {e}");
    }
}

/// Generates `mod $name { sqlite(), postgres() }` running the same async body on each backend.
#[macro_export]
macro_rules! both_backends {
    ($name:ident, |$t:ident| $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            async fn run(backend: $crate::common::Backend) {
                $crate::common::with_db(backend, move |db| async move {
                    let $t = $crate::common::TestApp::start(db).await;
                    $body
                })
                .await;
            }

            #[tokio::test]
            async fn sqlite() {
                run($crate::common::Backend::Sqlite).await;
            }

            #[tokio::test]
            async fn postgres() {
                if $crate::common::skip_postgres(&format!("{}::postgres", module_path!())) {
                    return;
                }
                run($crate::common::Backend::Postgres).await;
            }
        }
    };
}

/// The default settings with images in memory (the default directory would be created in
/// the working directory).
pub(crate) fn memory_media_settings() -> Settings {
    Settings {
        media: MediaLocation::Memory,
        ..Settings::default()
    }
}

/// A project's credentials, with a token per role.
#[derive(Debug, Clone)]
pub(crate) struct Creds {
    pub project: Project,
    pub owner: String,
    pub editor: String,
    pub viewer: String,
}

impl Creds {
    pub(crate) fn api_key(&self) -> &str {
        &self.project.api_key
    }
    pub(crate) fn public_key(&self) -> &str {
        &self.project.public_key
    }
    pub(crate) fn token(&self, role: Role) -> &str {
        match role {
            Role::Owner => &self.owner,
            Role::Editor => &self.editor,
            Role::Viewer => &self.viewer,
        }
    }
}

/// The app under test, with one project `a` and a second project `b`.
pub(crate) struct TestApp {
    pub db: Arc<TestDb>,
    pub store: Arc<dyn Store>,
    pub state: AppState,
    pub router: Router,
    pub a: Creds,
    pub b: Creds,
    pub static_dir: tempfile::TempDir,
}

impl TestApp {
    pub(crate) async fn start(db: Arc<TestDb>) -> TestApp {
        Self::start_with(db, |_| {}).await
    }

    /// Starts with settings adjusted by `tweak` (static dirs default to empty temp dirs).
    pub(crate) async fn start_with(db: Arc<TestDb>, tweak: impl FnOnce(&mut Settings)) -> TestApp {
        let store = store::connect(&db.url).await.expect("connect + migrate");
        let static_dir = tempfile::tempdir().expect("temp dir");
        let mut settings = Settings {
            widget_dir: static_dir.path().join("widget"),
            studio_dir: static_dir.path().join("studio"),
            rate_limit_per_minute: 0,
            widget_rate_limit_per_minute: 0,
            // The real local-disk store, in this test's temp dir.
            media: MediaLocation::Dir(static_dir.path().join("media")),
            ..Settings::default()
        };
        tweak(&mut settings);
        let state = AppState::new(Arc::clone(&store), settings)
            .await
            .expect("state");
        let router = offers_api::app(state.clone());
        let mut app = TestApp {
            db,
            store,
            state,
            router,
            a: placeholder(),
            b: placeholder(),
            static_dir,
        };
        app.a = app.project("Project A").await;
        app.b = app.project("Project B").await;
        app
    }

    /// A project that does not require signed user ids (what these suites were written
    /// for; new projects require them by default, see `tests/hardening.rs`).
    pub(crate) async fn project(&self, name: &str) -> Creds {
        let now = chrono::Utc::now();
        let created = self
            .store
            .create_project(&new_project(name), now)
            .await
            .expect("create project");
        let unsigned = ProjectSettings {
            require_user_signature: Some(false),
            ..ProjectSettings::default()
        };
        let project = self
            .store
            .update_project_settings(created.id, &unsigned)
            .await
            .expect("update settings")
            .expect("project exists");
        let signer = self.state.signer();
        Creds {
            owner: signer.issue(&project, Role::Owner, now.timestamp()),
            editor: signer.issue(&project, Role::Editor, now.timestamp()),
            viewer: signer.issue(&project, Role::Viewer, now.timestamp()),
            project,
        }
    }

    /// `GET /widget/v1/offers?key=<project a's public key>&<query>`.
    pub(crate) async fn feed_of_a(&self, query: &str) -> Resp {
        self.send(
            Request::get(format!(
                "/widget/v1/offers?key={}&{query}",
                self.a.public_key()
            ))
            .body(Body::empty())
            .unwrap(),
        )
        .await
    }

    /// [`TestApp::feed_of_a`], which must answer 200: its JSON.
    pub(crate) async fn feed_json_of_a(&self, query: &str) -> Value {
        let r = self.feed_of_a(query).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
        r.json()
    }

    /// Sends a request through the router in-process.
    pub(crate) async fn send(&self, req: Request<Body>) -> Resp {
        let response = self.router.clone().oneshot(req).await.expect("infallible");
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes()
            .to_vec();
        Resp {
            status,
            headers,
            body: bytes,
        }
    }

    /// A request as project `creds` with `role`.
    pub(crate) fn req(
        &self,
        method: Method,
        uri: &str,
        creds: &Creds,
        role: Role,
    ) -> axum::http::request::Builder {
        Request::builder()
            .method(method)
            .uri(uri)
            .header("x-api-key", creds.api_key())
            .header(
                header::AUTHORIZATION,
                format!("Bearer {}", creds.token(role)),
            )
    }

    /// A request without a body as project `creds` with `role`.
    pub(crate) async fn empty(&self, method: Method, uri: &str, creds: &Creds, role: Role) -> Resp {
        self.send(
            self.req(method, uri, creds, role)
                .body(Body::empty())
                .unwrap(),
        )
        .await
    }

    /// GET as project A's owner.
    pub(crate) async fn get_a(&self, uri: &str) -> Resp {
        self.empty(Method::GET, uri, &self.a, Role::Owner).await
    }

    /// Sends JSON as `creds`/`role`.
    pub(crate) async fn json(
        &self,
        method: Method,
        uri: &str,
        creds: &Creds,
        role: Role,
        body: &Value,
    ) -> Resp {
        self.send(
            self.req(method, uri, creds, role)
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(serde_json::to_vec(body).unwrap()))
                .unwrap(),
        )
        .await
    }

    /// Sends a multipart form (curl's encoding) as `creds`/`role`.
    pub(crate) async fn multipart(
        &self,
        method: Method,
        uri: &str,
        creds: &Creds,
        role: Role,
        fields: &[(&str, &str)],
    ) -> Resp {
        let (content_type, body) = curl_multipart(fields);
        self.send(
            self.req(method, uri, creds, role)
                .header(header::CONTENT_TYPE, content_type)
                .body(Body::from(body))
                .unwrap(),
        )
        .await
    }

    /// Creates an offer in project A (owner, JSON); panics unless 201; returns the response.
    pub(crate) async fn create_a(&self, offer: &Value) -> Value {
        let r = self
            .json(Method::POST, "/external/offer", &self.a, Role::Owner, offer)
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
        r.json()
    }

    /// Creates `offer` in project A (as its owner); its id.
    pub(crate) async fn create_a_id(&self, offer: &Value) -> i64 {
        self.create_a(offer).await["offer"]["id"].as_i64().unwrap()
    }

    /// Waits (at most 5 s) until `id` is in the project's `rooms` or `users` registry: the
    /// widget endpoints register entered ids asynchronously.
    pub(crate) async fn wait_known(&self, creds: &Creds, registry: &str, id: &str) {
        let uri = format!("/external/{registry}?limit=100");
        let found = wait_until(Duration::from_secs(5), || async {
            let r = self.empty(Method::GET, &uri, creds, Role::Viewer).await;
            r.json()["ids"]
                .as_array()
                .is_some_and(|ids| ids.iter().any(|i| i == id))
        })
        .await;
        assert!(found, "`{id}` not registered in {registry} within 5 s");
    }

    pub(crate) fn widget_dir(&self) -> PathBuf {
        self.static_dir.path().join("widget")
    }

    pub(crate) fn studio_dir(&self) -> PathBuf {
        self.static_dir.path().join("studio")
    }
}

fn placeholder() -> Creds {
    Creds {
        project: Project {
            id: 0,
            name: String::new(),
            api_key: String::new(),
            public_key: String::new(),
            secret: String::new(),
            identity_secret: String::new(),
            require_user_signature: false,
            allowed_origins: Vec::new(),
            caps: Default::default(),
            attribution_window_hours: 24,
        },
        owner: String::new(),
        editor: String::new(),
        viewer: String::new(),
    }
}

/// A response, fully read.
#[derive(Debug)]
pub(crate) struct Resp {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Resp {
    pub(crate) fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    pub(crate) fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
    /// Every value of a header, joined with ", " (as HTTP combines repeated fields).
    pub(crate) fn header_joined(&self, name: &str) -> String {
        self.headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect::<Vec<_>>()
            .join(", ")
    }
    /// Asserts our error shape with `status` and `code`; returns the `error` object.
    pub(crate) fn error(&self, status: StatusCode, code: &str) -> Value {
        assert_eq!(self.status, status, "body: {}", self.text());
        assert_eq!(self.header("content-type"), Some("application/json"));
        let v = self.json();
        let error = v
            .get("error")
            .cloned()
            .unwrap_or_else(|| panic!("no error member: {v}"));
        assert_eq!(error["code"], code, "{v}");
        assert!(
            error["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{v}"
        );
        let keys: Vec<_> = v.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["error"], "only `error` at the top level: {v}");
        error
    }
    /// Asserts a 422 whose fields include every one of `fields`; returns the fields object.
    pub(crate) fn invalid(&self, fields: &[&str]) -> Value {
        let error = self.error(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        let got = error["fields"].clone();
        for f in fields {
            assert!(
                got.get(*f)
                    .and_then(Value::as_str)
                    .is_some_and(|r| !r.is_empty()),
                "field `{f}` not named in {got}"
            );
        }
        got
    }
}

/// A multipart body exactly as curl 7/8 writes `--form` fields: boundary of 24 dashes and 16
/// hex digits, one `Content-Disposition` line per text part, CRLF line ends.
pub(crate) fn curl_multipart(fields: &[(&str, &str)]) -> (String, Vec<u8>) {
    let boundary = format!("------------------------{}", random_suffix());
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        body.extend_from_slice(
            format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n").as_bytes(),
        );
        body.extend_from_slice(value.as_bytes());
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// The parts curl sends for `--form 'name="value"'` arguments: curl strips the outer quotes
/// and unescapes `\"` and `\\` inside them.
pub(crate) fn curl_form_args(args: &[&str]) -> Vec<(String, String)> {
    args.iter()
        .map(|arg| {
            let (name, raw) = arg.split_once('=').expect("name=value");
            let value = if raw.len() >= 2 && raw.starts_with('"') && raw.ends_with('"') {
                let inner = &raw[1..raw.len() - 1];
                let mut out = String::new();
                let mut chars = inner.chars();
                while let Some(c) = chars.next() {
                    if c == '\\' {
                        match chars.next() {
                            Some(n @ ('"' | '\\')) => out.push(n),
                            Some(n) => {
                                out.push('\\');
                                out.push(n);
                            }
                            None => out.push('\\'),
                        }
                    } else {
                        out.push(c);
                    }
                }
                out
            } else {
                raw.to_owned()
            };
            (name.to_owned(), value)
        })
        .collect()
}

/// A minimal valid text offer (template 10) as JSON, live now, GLOBAL.
pub(crate) fn text_offer() -> Value {
    serde_json::json!({
        "template": 10,
        "title": "Title",
        "text": "Text",
        "link": "https://www.watchers.io/",
        "linkText": "Click me",
        "templateData": {
            "alignment": "center", "bgColor": "#736969", "btnColor": "#1890bf",
            "btnTextColor": "#fff", "textColor": "#000", "gradient": true,
            "gradientFrom": "#60e753", "gradientTo": "#e4efe7", "gradientDirection": "135deg"
        },
        "showFrerquency": "DAILY",
        "showDelayMS": 0,
        "startTime": "2024-05-22T12:00:01.000Z",
        "type": "GLOBAL"
    })
}

/// `base` with `changes` merged in (a JSON null in `changes` sets null).
pub(crate) fn with(base: &Value, changes: Value) -> Value {
    let mut out = base.clone();
    for (k, v) in changes.as_object().expect("object") {
        out[k] = v.clone();
    }
    out
}

/// One HTTP/1.1 request over loopback (the raw bytes given); reads one response, using its
/// `Content-Length` or chunked framing: (status, head, body).
pub(crate) async fn http_request(
    addr: &str,
    raw_head: &str,
    body: &[u8],
) -> (u16, String, Vec<u8>) {
    use tokio::io::AsyncWriteExt;
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    stream.write_all(raw_head.as_bytes()).await.unwrap();
    stream.write_all(body).await.unwrap();
    tokio::time::timeout(Duration::from_secs(20), read_response(&mut stream))
        .await
        .expect("response within 20 s")
}

/// Reads one HTTP/1.1 response from `stream`.
pub(crate) async fn read_response(stream: &mut tokio::net::TcpStream) -> (u16, String, Vec<u8>) {
    use tokio::io::AsyncReadExt;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        if let Some((status, head, body_start)) = split_head(&buf) {
            let lower = head.to_ascii_lowercase();
            let length = lower
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse::<usize>().ok());
            let chunked = lower.contains("transfer-encoding: chunked");
            let no_body = status == 304 || status == 204 || (100..200).contains(&status);
            let body = &buf[body_start..];
            if no_body {
                return (status, head, Vec::new());
            }
            if let Some(n) = length
                && body.len() >= n
            {
                return (status, head, body[..n].to_vec());
            }
            if chunked && let Some(decoded) = dechunk(body) {
                return (status, head, decoded);
            }
        }
        let n = stream.read(&mut chunk).await.expect("read");
        if n == 0 {
            let (status, head, start) = split_head(&buf).expect("a response head before EOF");
            return (status, head, buf[start..].to_vec());
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

fn split_head(buf: &[u8]) -> Option<(u16, String, usize)> {
    let split = buf.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = String::from_utf8_lossy(&buf[..split]).into_owned();
    let status = head.split_whitespace().nth(1)?.parse().ok()?;
    Some((status, head, split + 4))
}

/// A complete chunked body, decoded; `None` while incomplete.
fn dechunk(mut data: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let eol = data.windows(2).position(|w| w == b"\r\n")?;
        let size_str = String::from_utf8_lossy(&data[..eol]).into_owned();
        let size = usize::from_str_radix(size_str.split(';').next()?.trim(), 16).ok()?;
        data = &data[eol + 2..];
        if size == 0 {
            return Some(out);
        }
        if data.len() < size + 2 {
            return None;
        }
        out.extend_from_slice(&data[..size]);
        data = &data[size + 2..];
    }
}

/// Polls `check` every 20 ms until it is true or `timeout` passes.
pub(crate) async fn wait_until<F, Fut>(timeout: Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if check().await {
            return true;
        }
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Writes `contents` to `dir/name`, creating `dir`.
pub(crate) fn write_file(dir: &Path, name: &str, contents: &[u8]) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join(name), contents).unwrap();
}

/// A server for `app` on 127.0.0.1:0; stop it by sending on the returned channel.
pub(crate) struct RealServer {
    pub addr: String,
    pub stop: Option<tokio::sync::oneshot::Sender<()>>,
    pub task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl RealServer {
    pub(crate) async fn start(router: Router) -> RealServer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(offers_api::server::serve_with(
            listener,
            router,
            async move {
                let _ = rx.await;
            },
        ));
        RealServer {
            addr,
            stop: Some(tx),
            task,
        }
    }

    pub(crate) async fn stop(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        tokio::time::timeout(Duration::from_secs(20), self.task)
            .await
            .expect("server stops within 20 s")
            .expect("join")
            .expect("serve");
    }
}

/// A request captured from curl 7.88.1 running a documented example (tests/fixtures), with
/// the `x-api-key` and `Authorization` values and the request target replaced; the body and
/// every other byte are unchanged. Returns (head, body).
pub(crate) fn fixture_request(
    name: &str,
    api_key: &str,
    token: &str,
    target: Option<&str>,
) -> (String, Vec<u8>) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    let raw = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").expect("head") + 4;
    let head = String::from_utf8(raw[..split].to_vec()).unwrap();
    let body = raw[split..].to_vec();
    let mut lines: Vec<String> = head.split("\r\n").map(str::to_owned).collect();
    for line in &mut lines {
        let lower = line.to_ascii_lowercase();
        if lower.starts_with("x-api-key:") {
            *line = format!("x-api-key: {api_key}");
        } else if lower.starts_with("authorization:") {
            *line = format!("Authorization: Bearer {token}");
        }
    }
    if let Some(target) = target {
        let mut parts: Vec<String> = lines[0].split(' ').map(str::to_owned).collect();
        parts[1] = target.to_owned();
        lines[0] = parts.join(" ");
    }
    (lines.join("\r\n"), body)
}

// ---------------------------------------------------------------- Server-Sent Events

/// One event of a `text/event-stream`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SseEvent {
    pub name: String,
    pub data: String,
    pub id: Option<String>,
}

impl SseEvent {
    pub(crate) fn json(&self) -> Value {
        serde_json::from_str(&self.data)
            .unwrap_or_else(|e| panic!("event data is not JSON ({e}): {self:?}"))
    }
}

/// An incremental `text/event-stream` parser: events with a name or data come out; comments
/// (keep-alives) and `retry:`-only blocks are counted but not returned.
#[derive(Debug, Default)]
pub(crate) struct SseParser {
    buf: String,
    pub comments: usize,
}

impl SseParser {
    pub(crate) fn feed(&mut self, bytes: &[u8]) -> Vec<SseEvent> {
        self.buf.push_str(&String::from_utf8_lossy(bytes));
        let mut out = Vec::new();
        while let Some(end) = self.buf.find("\n\n") {
            let block: String = self.buf.drain(..end + 2).collect();
            let (mut name, mut data, mut id) = (String::new(), Vec::new(), None);
            for line in block.lines() {
                if line.starts_with(':') {
                    self.comments += 1;
                    continue;
                }
                let (field, value) = line.split_once(':').unwrap_or((line, ""));
                let value = value.strip_prefix(' ').unwrap_or(value);
                match field {
                    "event" => name = value.to_owned(),
                    "data" => data.push(value.to_owned()),
                    "id" => id = Some(value.to_owned()),
                    _ => {}
                }
            }
            if !name.is_empty() || !data.is_empty() {
                out.push(SseEvent {
                    name,
                    data: data.join("\n"),
                    id,
                });
            }
        }
        out
    }
}

/// An event stream read in-process from the router's response body.
pub(crate) struct SseStream {
    pub headers: HeaderMap,
    body: Body,
    parser: SseParser,
    queue: std::collections::VecDeque<SseEvent>,
}

impl SseStream {
    pub(crate) fn header_str(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The next named event within `timeout`; `None` on timeout or end of stream.
    pub(crate) async fn next(&mut self, timeout: Duration) -> Option<SseEvent> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if let Some(event) = self.queue.pop_front() {
                return Some(event);
            }
            let frame = tokio::time::timeout_at(deadline, self.body.frame())
                .await
                .ok()??
                .expect("stream body error");
            if let Ok(data) = frame.into_data() {
                self.queue.extend(self.parser.feed(&data));
            }
        }
    }

    /// The next named event within 1 s; panics (naming `what`) when none comes.
    pub(crate) async fn expect(&mut self, what: &str) -> SseEvent {
        self.next(Duration::from_secs(1))
            .await
            .unwrap_or_else(|| panic!("no event within 1 s: expected {what}"))
    }
}

impl TestApp {
    /// Opens `GET /widget/v1/stream?<query>` in-process; panics unless 200.
    pub(crate) async fn stream(&self, query: &str, headers: &[(&str, &str)]) -> SseStream {
        let mut req = Request::get(format!("/widget/v1/stream?{query}"));
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let response = self
            .router
            .clone()
            .oneshot(req.body(Body::empty()).unwrap())
            .await
            .expect("infallible");
        let status = response.status();
        let headers = response.headers().clone();
        let stream = SseStream {
            headers,
            body: response.into_body(),
            parser: SseParser::default(),
            queue: Default::default(),
        };
        if status != StatusCode::OK {
            let bytes = stream.body.collect().await.unwrap().to_bytes();
            panic!("stream: {status}: {}", String::from_utf8_lossy(&bytes));
        }
        stream
    }

    /// Changes project settings in the store (before the widget side first sees the project,
    /// or expect them within the live index's refresh).
    pub(crate) async fn set_project(&self, creds: &mut Creds, settings: ProjectSettings) {
        creds.project = self
            .store
            .update_project_settings(creds.project.id, &settings)
            .await
            .expect("update settings")
            .expect("project exists");
    }
}

/// An event stream read over a real HTTP/1.1 connection (chunked transfer decoded).
pub(crate) struct TcpSse {
    stream: tokio::net::TcpStream,
    pub status: u16,
    pub head: String,
    raw: Vec<u8>,
    parser: SseParser,
    queue: std::collections::VecDeque<SseEvent>,
}

impl TcpSse {
    /// Sends `GET path` to `addr` and reads the response head (within 10 s).
    pub(crate) async fn connect(addr: &str, path: &str) -> TcpSse {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
        let head = format!(
            "GET {path} HTTP/1.1\r\nHost: {addr}\r\nAccept: text/event-stream\r\n\
             Accept-Encoding: gzip, br\r\n\r\n"
        );
        stream.write_all(head.as_bytes()).await.unwrap();
        let mut buf = Vec::new();
        let mut chunk = [0u8; 4096];
        let (status, head, start) = tokio::time::timeout(Duration::from_secs(10), async {
            loop {
                if let Some(found) = split_head(&buf) {
                    return found;
                }
                let n = stream.read(&mut chunk).await.expect("read");
                assert!(n > 0, "connection closed before the response head");
                buf.extend_from_slice(&chunk[..n]);
            }
        })
        .await
        .expect("response head within 10 s");
        TcpSse {
            stream,
            status,
            head,
            raw: buf[start..].to_vec(),
            parser: SseParser::default(),
            queue: Default::default(),
        }
    }

    /// Decodes the complete chunks in `raw` into the parser.
    fn drain_chunks(&mut self) {
        loop {
            let Some(eol) = self.raw.windows(2).position(|w| w == b"\r\n") else {
                return;
            };
            let size_line = String::from_utf8_lossy(&self.raw[..eol]).into_owned();
            let size = usize::from_str_radix(size_line.split(';').next().unwrap().trim(), 16)
                .expect("chunk size");
            if self.raw.len() < eol + 2 + size + 2 {
                return;
            }
            let data: Vec<u8> = self.raw[eol + 2..eol + 2 + size].to_vec();
            self.raw.drain(..eol + 2 + size + 2);
            self.queue.extend(self.parser.feed(&data));
        }
    }

    /// The next named event within `timeout`.
    pub(crate) async fn next(&mut self, timeout: Duration) -> Option<SseEvent> {
        use tokio::io::AsyncReadExt;
        let deadline = tokio::time::Instant::now() + timeout;
        let mut chunk = [0u8; 4096];
        loop {
            self.drain_chunks();
            if let Some(event) = self.queue.pop_front() {
                return Some(event);
            }
            let n = tokio::time::timeout_at(deadline, self.stream.read(&mut chunk))
                .await
                .ok()?
                .ok()?;
            if n == 0 {
                return None;
            }
            self.raw.extend_from_slice(&chunk[..n]);
        }
    }
}

/// Every property a schema of the OpenAPI document `doc` declares: its own, and those of the
/// schemas it references or combines with `allOf` (a flattened struct is an `allOf`).
pub(crate) fn schema_properties(doc: &Value, schema: &Value) -> serde_json::Map<String, Value> {
    let schema = match schema["$ref"].as_str() {
        Some(reference) => {
            let name = reference.trim_start_matches("#/components/schemas/");
            &doc["components"]["schemas"][name]
        }
        None => schema,
    };
    let mut out = schema["properties"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    for part in schema["allOf"].as_array().into_iter().flatten() {
        out.extend(schema_properties(doc, part));
    }
    out
}
