//! The application state: cheap to clone (`Arc` inside), built once at start-up.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::auth::TokenSigner;
use crate::ratelimit::RateLimiter;
use crate::store::{Store, StoreError};

/// Where the static bundles live and how hard to rate-limit partners.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The widget bundle (`offers.js`, hashed `offers-<hash>.js`, `_bg.wasm`, CSS).
    pub widget_dir: PathBuf,
    /// The Studio's Trunk output (`index.html` + assets).
    pub studio_dir: PathBuf,
    /// Partner API requests allowed per project per minute (0: unlimited).
    pub rate_limit_per_minute: u32,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            widget_dir: PathBuf::from("dist/widget"),
            studio_dir: PathBuf::from("dist/studio"),
            rate_limit_per_minute: 0,
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
}

impl AppState {
    /// Builds the state: reads the deployment's token secret from the store.
    pub async fn new(store: Arc<dyn Store>, settings: Settings) -> Result<Self, StoreError> {
        let secret = store.token_secret().await?;
        let limiter = RateLimiter::per_minute(settings.rate_limit_per_minute);
        Ok(Self(Arc::new(Inner {
            store,
            signer: TokenSigner::new(secret.into_bytes()),
            settings,
            limiter,
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
}
