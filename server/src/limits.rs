//! Rate limiting: a token bucket, and a map of buckets keyed by address or account.
//!
//! Policy (capacity, refill rate) lives in [`crate::config::Limits`]; this module only counts.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;
use std::time::Instant;

/// Capacity and refill rate of a bucket.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rate {
    /// Largest burst.
    pub burst: f64,
    /// Tokens added per second.
    pub per_second: f64,
}

/// A classic token bucket: `burst` tokens, refilled continuously at `per_second`.
#[derive(Debug, Clone)]
pub struct TokenBucket {
    rate: Rate,
    tokens: f64,
    last: Instant,
}

impl TokenBucket {
    /// A full bucket.
    pub fn new(rate: Rate) -> Self {
        TokenBucket {
            rate,
            tokens: rate.burst,
            last: Instant::now(),
        }
    }

    fn refill(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.rate.per_second).min(self.rate.burst);
        self.last = now;
    }

    /// Take one token if there is one.
    pub fn try_take(&mut self) -> bool {
        self.try_take_at(Instant::now())
    }

    fn try_take_at(&mut self, now: Instant) -> bool {
        self.refill(now);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }

    /// Whether a token is available, without taking it.
    pub fn has_token(&mut self) -> bool {
        self.refill(Instant::now());
        self.tokens >= 1.0
    }

    fn is_full(&mut self, now: Instant) -> bool {
        self.refill(now);
        self.tokens >= self.rate.burst
    }
}

/// Buckets per key (an IP address, a username). Full buckets are forgotten now and then so
/// the map does not grow without bound.
#[derive(Debug)]
pub struct KeyedLimiter<K> {
    rate: Rate,
    buckets: Mutex<HashMap<K, TokenBucket>>,
}

impl<K: Hash + Eq + Clone> KeyedLimiter<K> {
    /// A limiter giving every key its own bucket of `rate`.
    pub fn new(rate: Rate) -> Self {
        KeyedLimiter {
            rate,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Whether `key` has a token left (does not take it).
    pub fn allows(&self, key: &K) -> bool {
        let mut map = self.buckets.lock().unwrap();
        map.get_mut(key).map(|b| b.has_token()).unwrap_or(true)
    }

    /// Take a token from `key`'s bucket; false when it is empty.
    pub fn take(&self, key: &K) -> bool {
        let mut map = self.buckets.lock().unwrap();
        if map.len() > 10_000 {
            let now = Instant::now();
            map.retain(|_, b| !b.is_full(now));
        }
        map.entry(key.clone())
            .or_insert_with(|| TokenBucket::new(self.rate))
            .try_take()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_bucket_allows_its_burst_then_refills_over_time() {
        let rate = Rate {
            burst: 3.0,
            per_second: 2.0,
        };
        let mut b = TokenBucket::new(rate);
        let t0 = b.last;
        assert!(b.try_take_at(t0));
        assert!(b.try_take_at(t0));
        assert!(b.try_take_at(t0));
        assert!(!b.try_take_at(t0));
        assert!(b.try_take_at(t0 + Duration::from_millis(500)));
        assert!(!b.try_take_at(t0 + Duration::from_millis(500)));
        // Never more than the burst, however long it rested.
        let later = t0 + Duration::from_secs(3600);
        for _ in 0..3 {
            assert!(b.try_take_at(later));
        }
        assert!(!b.try_take_at(later));
    }

    #[test]
    fn keys_have_separate_buckets() {
        let l = KeyedLimiter::new(Rate {
            burst: 1.0,
            per_second: 0.001,
        });
        assert!(l.take(&"a"));
        assert!(!l.take(&"a"));
        assert!(l.allows(&"b"));
        assert!(l.take(&"b"));
    }
}
