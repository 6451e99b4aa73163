//! Small in-memory token buckets (429 with `Retry-After` when empty): per project for the
//! partner API, per client IP and project for the public widget endpoints.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Buckets kept before full (idle) ones are dropped.
const PRUNE_ABOVE: usize = 50_000;

/// Token buckets keyed by `K`. `capacity == 0` disables limiting.
#[derive(Debug)]
pub struct RateLimiter<K = i64> {
    capacity: f64,
    refill_per_sec: f64,
    buckets: Mutex<HashMap<K, Bucket>>,
}

/// The key of the widget endpoints' buckets: the client's address (when known) and the project.
pub(crate) type ClientKey = (Option<IpAddr>, i64);

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl<K: Hash + Eq + Clone> RateLimiter<K> {
    /// Allows `per_minute` requests per minute per key, in bursts of up to `per_minute`.
    pub fn per_minute(per_minute: u32) -> Self {
        Self {
            capacity: f64::from(per_minute),
            refill_per_sec: f64::from(per_minute) / 60.0,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Whether limiting is on.
    pub fn enabled(&self) -> bool {
        self.capacity > 0.0
    }

    /// Takes one token for `key` at `now`; when the bucket is empty, how long until one is back.
    pub fn check_at(&self, key: &K, now: Instant) -> Result<(), Duration> {
        if !self.enabled() {
            return Ok(());
        }
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if buckets.len() > PRUNE_ABOVE {
            let (capacity, refill) = (self.capacity, self.refill_per_sec);
            buckets.retain(|_, b| {
                b.tokens + now.saturating_duration_since(b.at).as_secs_f64() * refill < capacity
            });
        }
        let bucket = buckets.entry(key.clone()).or_insert(Bucket {
            tokens: self.capacity,
            at: now,
        });
        let elapsed = now.saturating_duration_since(bucket.at).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * self.refill_per_sec).min(self.capacity);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64(
                (1.0 - bucket.tokens) / self.refill_per_sec,
            ))
        }
    }

    /// [`RateLimiter::check_at`] now.
    pub fn check(&self, key: K) -> Result<(), Duration> {
        self.check_at(&key, Instant::now())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_empties_and_refills() {
        let limiter = RateLimiter::per_minute(2);
        let t0 = Instant::now();
        assert!(limiter.check_at(&1, t0).is_ok());
        assert!(limiter.check_at(&1, t0).is_ok());
        let wait = limiter.check_at(&1, t0).unwrap_err();
        assert!(wait > Duration::from_secs(29) && wait <= Duration::from_secs(30));
        assert!(limiter.check_at(&2, t0).is_ok(), "buckets are per key");
        assert!(limiter.check_at(&1, t0 + Duration::from_secs(30)).is_ok());
        assert!(RateLimiter::per_minute(0).check_at(&1, t0).is_ok());
    }

    #[test]
    fn client_keys_are_per_address_and_project() {
        let limiter: RateLimiter<ClientKey> = RateLimiter::per_minute(1);
        let t0 = Instant::now();
        let a: IpAddr = "127.0.0.1".parse().unwrap();
        let b: IpAddr = "127.0.0.2".parse().unwrap();
        assert!(limiter.check_at(&(Some(a), 1), t0).is_ok());
        assert!(limiter.check_at(&(Some(a), 1), t0).is_err());
        assert!(limiter.check_at(&(Some(b), 1), t0).is_ok());
        assert!(limiter.check_at(&(Some(a), 2), t0).is_ok());
    }
}
