//! A small in-memory token bucket per project for the partner API (429 when empty).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

/// Token buckets keyed by project id. `capacity == 0` disables limiting.
#[derive(Debug)]
pub struct RateLimiter {
    capacity: f64,
    refill_per_sec: f64,
    buckets: Mutex<HashMap<i64, Bucket>>,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl RateLimiter {
    /// Allows `per_minute` requests per minute per project, in bursts of up to `per_minute`.
    pub fn per_minute(per_minute: u32) -> Self {
        Self {
            capacity: f64::from(per_minute),
            refill_per_sec: f64::from(per_minute) / 60.0,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one token for `project_id` at `now`; `false` when the bucket is empty.
    pub fn check_at(&self, project_id: i64, now: Instant) -> bool {
        if self.capacity <= 0.0 {
            return true;
        }
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        let bucket = buckets.entry(project_id).or_insert(Bucket {
            tokens: self.capacity,
            at: now,
        });
        let elapsed = now.saturating_duration_since(bucket.at).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * self.refill_per_sec).min(self.capacity);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            true
        } else {
            false
        }
    }

    /// [`RateLimiter::check_at`] now.
    pub fn check(&self, project_id: i64) -> bool {
        self.check_at(project_id, Instant::now())
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn bucket_empties_and_refills() {
        let limiter = RateLimiter::per_minute(2);
        let t0 = Instant::now();
        assert!(limiter.check_at(1, t0));
        assert!(limiter.check_at(1, t0));
        assert!(!limiter.check_at(1, t0));
        assert!(limiter.check_at(2, t0), "buckets are per project");
        assert!(limiter.check_at(1, t0 + Duration::from_secs(30)));
        assert!(RateLimiter::per_minute(0).check_at(1, t0));
    }
}
