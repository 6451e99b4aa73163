//! The application state: cheap to clone (`Arc` inside), built once at start-up.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use crate::auth::TokenSigner;
use crate::ingest::EventWriter;
use crate::live::LiveIndex;
use crate::media::{MediaError, MediaLocation, MediaStore};
use crate::ratelimit::{ClientKey, RateLimiter, SignInLimits};
use crate::store::{Store, StoreError};

/// Where the static bundles and uploaded images live, rate limits, retention.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The widget bundle (`offers.js`, hashed `offers-<hash>.js`, `_bg.wasm`, CSS).
    pub widget_dir: PathBuf,
    /// The Studio's Trunk output (`index.html` + assets).
    pub studio_dir: PathBuf,
    /// Partner API requests allowed per project per minute (0: unlimited).
    pub rate_limit_per_minute: u32,
    /// Widget requests (feed, stream connects, event batches) allowed per client IP and
    /// project per minute (0: unlimited).
    pub widget_rate_limit_per_minute: u32,
    /// Take the client IP from the last `X-Forwarded-For` entry (behind one reverse proxy).
    pub trust_forwarded_for: bool,
    /// Events and ended offers older than this many days are deleted; events older than this
    /// are refused.
    pub retention_days: u32,
    /// How often the retention purge runs (`serve` only).
    pub retention_interval: Duration,
    /// The absolute base URL the API is reached at (`https://offers.example`, no trailing
    /// slash): uploaded images' URLs start with it. `None`: `http://<Host header>`.
    pub public_url: Option<String>,
    /// Where uploaded images are stored.
    pub media: MediaLocation,
    /// Which webhook URLs are accepted, and the retry delays of deliveries.
    pub webhooks: crate::webhooks::WebhookSettings,
}

/// The default retention: 90 days ("3 months", as the broadcast documents keep logs).
pub const DEFAULT_RETENTION_DAYS: u32 = 90;

impl Default for Settings {
    fn default() -> Self {
        Self {
            widget_dir: PathBuf::from("dist/widget"),
            studio_dir: PathBuf::from("dist/studio"),
            rate_limit_per_minute: 0,
            widget_rate_limit_per_minute: 0,
            trust_forwarded_for: false,
            retention_days: DEFAULT_RETENTION_DAYS,
            retention_interval: Duration::from_secs(3600),
            public_url: None,
            media: MediaLocation::Dir(PathBuf::from("offers-media")),
            webhooks: crate::webhooks::WebhookSettings::default(),
        }
    }
}

/// Shared state of every handler.
#[derive(Clone, Debug)]
pub struct AppState(Arc<Inner>);

#[derive(Debug)]
struct Inner {
    store: Arc<dyn Store>,
    signer: TokenSigner,
    settings: Settings,
    limiter: RateLimiter,
    widget_limiter: RateLimiter<ClientKey>,
    sign_in_limits: SignInLimits,
    /// Password hashes and checks (argon2) running at once, at most: twice the CPUs.
    password_slots: tokio::sync::Semaphore,
    live: Arc<LiveIndex>,
    events: EventWriter,
    media: MediaStore,
    shutdown: watch::Sender<bool>,
}

/// Why the state could not be built.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Media(#[from] MediaError),
}

impl AppState {
    /// Builds the state: opens the media store (creating its directory), reads the
    /// deployment's token secret from the store, subscribes to the change bus and starts the
    /// live index's background tasks.
    pub async fn new(store: Arc<dyn Store>, settings: Settings) -> Result<Self, StateError> {
        let media = MediaStore::open(&settings.media)?;
        Self::with_media(store, settings, media).await
    }

    /// [`AppState::new`] with an already opened media store (`settings.media` is ignored).
    pub async fn with_media(
        store: Arc<dyn Store>,
        settings: Settings,
        media: MediaStore,
    ) -> Result<Self, StateError> {
        let secret = store.token_secret().await?;
        let limiter = RateLimiter::per_minute(settings.rate_limit_per_minute);
        let widget_limiter = RateLimiter::per_minute(settings.widget_rate_limit_per_minute);
        let (shutdown, shutdown_rx) = watch::channel(false);
        let live = LiveIndex::start(Arc::clone(&store), shutdown_rx).await?;
        let events = EventWriter::start(Arc::clone(&store));
        Ok(Self(Arc::new(Inner {
            store,
            signer: TokenSigner::new(secret.into_bytes()),
            settings,
            limiter,
            widget_limiter,
            sign_in_limits: SignInLimits::default(),
            password_slots: tokio::sync::Semaphore::new(
                2 * std::thread::available_parallelism().map_or(1, |n| n.get()),
            ),
            live,
            events,
            media,
            shutdown,
        })))
    }

    /// The storage backend.
    pub fn store(&self) -> &dyn Store {
        self.0.store.as_ref()
    }

    /// The storage backend, shared.
    pub fn store_arc(&self) -> Arc<dyn Store> {
        Arc::clone(&self.0.store)
    }

    /// Token signing and verification.
    pub fn signer(&self) -> &TokenSigner {
        &self.0.signer
    }

    /// The settings.
    pub fn settings(&self) -> &Settings {
        &self.0.settings
    }

    /// The widget bundle directory.
    pub fn widget_dir(&self) -> &Path {
        &self.0.settings.widget_dir
    }

    /// The Studio directory.
    pub fn studio_dir(&self) -> &Path {
        &self.0.settings.studio_dir
    }

    /// The partner API rate limiter.
    pub fn limiter(&self) -> &RateLimiter {
        &self.0.limiter
    }

    /// The widget endpoints' rate limiter.
    pub fn widget_limiter(&self) -> &RateLimiter<ClientKey> {
        &self.0.widget_limiter
    }

    /// The limits of failed sign-ins.
    pub fn sign_in_limits(&self) -> &SignInLimits {
        &self.0.sign_in_limits
    }

    /// The slots of password hashes and checks (argon2, CPU-bound): this server's, not the
    /// process's, so servers in one process (tests, replicas) do not take each other's.
    pub fn password_slots(&self) -> &tokio::sync::Semaphore {
        &self.0.password_slots
    }

    /// The in-memory index of offers and the fan-out to streams.
    pub fn live(&self) -> &Arc<LiveIndex> {
        &self.0.live
    }

    /// The group-commit writer of widget events.
    pub fn events(&self) -> &EventWriter {
        &self.0.events
    }

    /// Where uploaded images are stored.
    pub fn media(&self) -> &MediaStore {
        &self.0.media
    }

    /// Ends the open event streams and the background tasks (graceful shutdown).
    pub fn begin_shutdown(&self) {
        self.0.shutdown.send_replace(true);
    }

    /// Resolves once [`AppState::begin_shutdown`] was called.
    pub fn shutdown_signal(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        let mut rx = self.0.shutdown.subscribe();
        async move {
            let _ = rx.wait_for(|stop| *stop).await;
        }
    }
}
