//! Start-up (store, first-start demo project, state), serving with graceful shutdown.
//!
//! [`serve`] takes a [`Config`]: the command line ([`crate::cli`]) builds one from its
//! arguments, and nothing here knows about clap.

use std::future::Future;
use std::io::Write;
use std::net::SocketAddr;

use axum::Router;
use chrono::{DateTime, Utc};
use offers_core::{OfferDraft, OfferSpec, format_timestamp, validate};
use serde_json::json;
use tokio::net::TcpListener;

use crate::auth::{NewProjectKeys, Role};
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
        .bootstrap_demo(&NewProjectKeys::generate(), &offer, now)
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

/// Serves `app` on `listener` until `shutdown` resolves; in-flight requests then finish.
/// Handlers see the peer address as `ConnectInfo<SocketAddr>` (the widget rate limits key on
/// it). Open event streams end when the app's state is told to shut down
/// ([`AppState::begin_shutdown`]): do that in `shutdown`, or they keep the server waiting.
pub async fn serve_with(
    listener: TcpListener,
    app: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
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
