//! Start-up (store, first-start demo project, state), serving with graceful shutdown and a
//! header-read timeout.
//!
//! [`serve`] takes a [`Config`]: the command line ([`crate::cli`]) builds one from its
//! arguments, and nothing here knows about clap.

use std::future::Future;
use std::io::Write;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use chrono::{DateTime, Utc};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use offers_core::{OfferDraft, OfferSpec, format_timestamp, validate};
use serde_json::json;
use tokio::net::TcpListener;
use tower::ServiceExt;

use crate::auth::{Role, new_project};
use crate::state::{AppState, Settings, StateError};
use crate::store::{self, Store, StoreError};

/// What `offers-api serve` runs with.
#[derive(Debug, Clone)]
pub struct Config {
    /// The address to listen on (`127.0.0.1:8080`; port 0 picks a free one, printed).
    pub addr: String,
    /// `postgres://…` for PostgreSQL; `sqlite://FILE` or a file path for SQLite.
    pub database_url: String,
    /// Bundles, media, limits, retention.
    pub settings: Settings,
}

/// Why the server could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    State(#[from] StateError),
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// The demo project's sample offer, starting at `now`.
pub fn demo_offer(now: DateTime<Utc>) -> Result<OfferSpec, offers_core::FieldErrors> {
    let draft: OfferDraft = serde_json::from_value(json!({
        "template": 10,
        "title": "Welcome to Offers",
        "text": "Demo offer: the sample offer of the Demo project, created on first start. \
                 Publish your own with the partner API or the Studio.",
        "linkText": "Learn more",
        "link": "https://example.com/",
        "templateData": {
            "alignment": "center",
            "bgColor": "#ffffff",
            "btnColor": "#1890bf",
            "btnTextColor": "#ffffff",
            "textColor": "#1d2433",
            "gradient": false
        },
        "viewType": "POPUP",
        "startTime": format_timestamp(&now),
        "showMultipleTimes": true,
        "showFrerquency": "ON_ENTRY",
        "showDelayMS": 0,
        "type": "GLOBAL"
    }))
    .unwrap_or_default();
    validate(&draft)
}

/// What the first start created.
#[derive(Debug, Clone)]
pub struct Bootstrapped {
    pub project_id: i64,
    pub api_key: String,
    pub public_key: String,
    pub owner_token: String,
    pub offer_id: i64,
}

/// On an empty database: creates the "Demo" project, its sample offer and an owner token.
/// `None` when the database already has a project.
pub async fn bootstrap(
    store: &dyn Store,
    state: &AppState,
) -> Result<Option<Bootstrapped>, StoreError> {
    let now = Utc::now();
    let offer = demo_offer(now).map_err(|e| StoreError::Corrupt(format!("demo offer: {e}")))?;
    let Some((project, offer)) = store
        .bootstrap_demo(&new_project("Demo"), &offer, now)
        .await?
    else {
        return Ok(None);
    };
    let owner_token = state.signer().issue(&project, Role::Owner, now.timestamp());
    Ok(Some(Bootstrapped {
        project_id: project.id,
        api_key: project.api_key,
        public_key: project.public_key,
        owner_token,
        offer_id: offer.id,
    }))
}

/// How long a connection may take to send a complete request head (the request line and
/// every header). A connection that sends half a head, or nothing, is closed after this, so
/// idle or slow clients cannot hold descriptors forever. Long-lived responses (the SSE
/// stream) are unaffected: the timer only runs while a head is being read.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(5);

/// Serves `app` on `listener` until `shutdown` resolves; in-flight requests then finish.
/// Handlers see the peer address as `ConnectInfo<SocketAddr>` (the widget rate limits key on
/// it). Open event streams end when the app's state is told to shut down
/// ([`AppState::begin_shutdown`]): do that in `shutdown`, or they keep the server waiting.
/// Request heads must arrive within [`HEADER_READ_TIMEOUT`].
pub async fn serve_with(
    listener: TcpListener,
    app: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_with_timeout(listener, app, shutdown, HEADER_READ_TIMEOUT).await
}

/// [`serve_with`] with another header-read timeout.
///
/// `axum::serve` (0.8) builds its hyper connections itself and sets no timer, so hyper's
/// header-read timeout never runs there; this is the same loop on hyper's HTTP/1.1 connection
/// builder with a Tokio timer (HTTP/1.1 only: no browser speaks cleartext HTTP/2, and
/// sniffing for it would wait on a silent connection without a timeout).
pub async fn serve_with_timeout(
    listener: TcpListener,
    app: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
    header_read_timeout: Duration,
) -> std::io::Result<()> {
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(header_read_timeout);
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    accept_error(e).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        if let Err(e) = stream.set_nodelay(true) {
            tracing::debug!(error = %e, "cannot set TCP_NODELAY");
        }
        let service = app
            .clone()
            .map_request(move |mut req: axum::http::Request<Incoming>| {
                req.extensions_mut().insert(ConnectInfo(peer));
                req
            });
        let connection =
            builder.serve_connection(TokioIo::new(stream), TowerToHyperService::new(service));
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(%peer, error = %e, "connection ended with an error");
            }
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}

/// After a failed `accept`: a per-connection error is ignored; anything else (out of file
/// descriptors) is logged and the loop waits a second, as `axum::serve` does, instead of
/// spinning.
async fn accept_error(e: std::io::Error) {
    use std::io::ErrorKind;
    if matches!(
        e.kind(),
        ErrorKind::ConnectionRefused | ErrorKind::ConnectionAborted | ErrorKind::ConnectionReset
    ) {
        return;
    }
    tracing::error!(error = %e, "accept failed; retrying in 1 s");
    tokio::time::sleep(Duration::from_secs(1)).await;
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutdown signal received: finishing in-flight requests");
}

/// `offers-api serve`: until SIGINT or SIGTERM, then in-flight requests finish.
pub async fn serve(config: Config) -> Result<(), ServeError> {
    let store = store::connect(&config.database_url).await?;
    let state = AppState::new(store.clone(), config.settings).await?;
    let listener = TcpListener::bind(&config.addr).await?;
    let addr = listener.local_addr()?;
    let base = format!("http://{addr}");

    let demo = bootstrap(store.as_ref(), &state).await?;
    let mut out = std::io::stdout().lock();
    if let Some(demo) = demo {
        writeln!(
            out,
            "Offers: first start with an empty database: created the demo project \"Demo\" \
             (id {}) with a sample offer (id {}).\n  \
             apiKey (x-api-key header):        {}\n  \
             publicKey (widget data-project):  {}\n  \
             owner token (Authorization: Bearer): {}\n  \
             demo page: {base}/demo/",
            demo.project_id, demo.offer_id, demo.api_key, demo.public_key, demo.owner_token
        )?;
    }
    writeln!(out, "Uploaded images: {}", state.media().location())?;
    writeln!(out, "Offers API listening on {base}")?;
    out.flush()?;
    drop(out);
    tracing::info!(%addr, "listening");

    let settings = state.settings().clone();
    tokio::spawn(crate::retention::run(
        state.store_arc(),
        settings.retention_days,
        settings.retention_interval,
        state.shutdown_signal(),
    ));
    tokio::spawn(crate::webhooks::run(
        state.store_arc(),
        settings.webhooks.clone(),
        state.shutdown_signal(),
    ));
    let stopping = state.clone();
    let shutdown = async move {
        shutdown_signal().await;
        // End the event streams, or the graceful shutdown would wait for them forever.
        stopping.begin_shutdown();
    };
    serve_with(listener, crate::app(state), shutdown).await?;
    tracing::info!("server stopped");
    Ok(())
}
