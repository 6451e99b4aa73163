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

    /// Allows `capacity` requests per key in a burst, refilling at `capacity` per `window`.
    pub fn with_window(capacity: u32, window: Duration) -> Self {
        Self {
            capacity: f64::from(capacity),
            refill_per_sec: f64::from(capacity) / window.as_secs_f64().max(1e-3),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// How long until `key`'s bucket has a token again, without taking one (`None`: it has one).
    pub fn empty_for_at(&self, key: &K, now: Instant) -> Option<Duration> {
        if !self.enabled() {
            return None;
        }
        let buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        let bucket = buckets.get(key)?;
        let elapsed = now.saturating_duration_since(bucket.at).as_secs_f64();
        let tokens = (bucket.tokens + elapsed * self.refill_per_sec).min(self.capacity);
        (tokens < 1.0).then(|| Duration::from_secs_f64((1.0 - tokens) / self.refill_per_sec))
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

    /// Gives back a token taken for `key` (up to the capacity).
    pub fn give_back(&self, key: &K) {
        if !self.enabled() {
            return;
        }
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(bucket) = buckets.get_mut(key) {
            bucket.tokens = (bucket.tokens + 1.0).min(self.capacity);
        }
    }
}

/// Failed sign-ins allowed per account (e-mail) in [`SIGN_IN_WINDOW`].
pub(crate) const SIGN_IN_FAILURES_PER_ACCOUNT: u32 = 10;
/// Failed sign-ins allowed per client address in [`SIGN_IN_WINDOW`].
pub(crate) const SIGN_IN_FAILURES_PER_IP: u32 = 100;
/// The window the sign-in limits refill over.
pub(crate) const SIGN_IN_WINDOW: Duration = Duration::from_secs(15 * 60);

/// Limits of failed sign-ins, per account and per client address: once either bucket is
/// empty, every sign-in for that account or from that address is refused (429) until it
/// refills, whether the e-mail exists or not.
#[derive(Debug)]
pub struct SignInLimits {
    per_account: RateLimiter<String>,
    per_ip: RateLimiter<Option<IpAddr>>,
}

impl Default for SignInLimits {
    fn default() -> Self {
        Self {
            per_account: RateLimiter::with_window(SIGN_IN_FAILURES_PER_ACCOUNT, SIGN_IN_WINDOW),
            per_ip: RateLimiter::with_window(SIGN_IN_FAILURES_PER_IP, SIGN_IN_WINDOW),
        }
    }
}

impl SignInLimits {
    /// How long sign-ins for `account` or from `ip` are refused, if they are.
    pub fn blocked(&self, account: &str, ip: Option<IpAddr>) -> Option<Duration> {
        let now = Instant::now();
        let a = self.per_account.empty_for_at(&account.to_owned(), now);
        let b = self.per_ip.empty_for_at(&ip, now);
        a.max(b)
    }

    /// Counts a failed sign-in against `account` and `ip`.
    pub fn failed(&self, account: &str, ip: Option<IpAddr>) {
        let _ = self.per_account.check(account.to_owned());
        let _ = self.per_ip.check(ip);
    }

    /// Takes a token of `account` and of `ip` (when `Some`) before a password is checked, so
    /// that attempts made in parallel cannot pass the limit; [`SignInLimits::succeeded`]
    /// gives them back. When either bucket is empty nothing is taken: how long to wait.
    pub fn take(&self, account: &str, ip: Option<Option<IpAddr>>) -> Result<(), Duration> {
        let account = account.to_owned();
        self.per_account.check(account.clone())?;
        if let Some(ip) = ip
            && let Err(wait) = self.per_ip.check(ip)
        {
            self.per_account.give_back(&account);
            return Err(wait);
        }
        Ok(())
    }

    /// Gives back what [`SignInLimits::take`] took: the password was right.
    pub fn succeeded(&self, account: &str, ip: Option<Option<IpAddr>>) {
        self.per_account.give_back(&account.to_owned());
        if let Some(ip) = ip {
            self.per_ip.give_back(&ip);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_in_tokens_are_taken_first_and_given_back_on_success() {
        let limits = SignInLimits::default();
        let ip = Some(Some("127.0.0.1".parse().unwrap()));
        for _ in 0..SIGN_IN_FAILURES_PER_ACCOUNT {
            assert!(limits.take("ana@x.io", ip).is_ok());
            limits.succeeded("ana@x.io", ip);
        }
        for _ in 0..SIGN_IN_FAILURES_PER_ACCOUNT {
            assert!(limits.take("ana@x.io", ip).is_ok());
        }
        assert!(limits.take("ana@x.io", ip).is_err());
        assert!(limits.blocked("ana@x.io", None).is_some());
        assert!(limits.take("bob@x.io", None).is_ok());
    }

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
    fn sign_in_limits_count_failures_per_account_and_address() {
        let limits = SignInLimits::default();
        let ip: Option<IpAddr> = Some("127.0.0.1".parse().unwrap());
        for _ in 0..SIGN_IN_FAILURES_PER_ACCOUNT {
            assert_eq!(limits.blocked("ana@x.io", ip), None);
            limits.failed("ana@x.io", ip);
        }
        let wait = limits.blocked("ana@x.io", ip).unwrap();
        assert!(wait > Duration::from_secs(60), "{wait:?}");
        assert_eq!(limits.blocked("bob@x.io", ip), None, "per account");
        let limiter = RateLimiter::<i64>::with_window(1, Duration::from_secs(60));
        let t0 = Instant::now();
        assert_eq!(limiter.empty_for_at(&1, t0), None);
        limiter.check_at(&1, t0).unwrap();
        assert!(limiter.empty_for_at(&1, t0).is_some());
        assert_eq!(limiter.empty_for_at(&1, t0 + Duration::from_secs(61)), None);
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
