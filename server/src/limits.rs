//! Rate limiting: a token bucket, a map of buckets keyed by address or account, and a
//! one-at-a-time gate per key.
//!
//! Policy (capacity, refill rate) lives in [`crate::config::Limits`]; this module only counts.
//!
//! A limit that guards expensive work is charged with [`KeyedLimiter::take`] *before* the work
//! and, if the work turns out not to count (a successful login), given back with
//! [`KeyedLimiter::refund`]. Checking first and charging afterwards lets every concurrent
//! request through the check before the first one is charged.
//!
//! Why not `governor`: its GCRA limiter has no refund, and the refund is what keeps a user who
//! types the right password from paying for it; the bucket here is forty lines under one mutex.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex};
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

    /// Give back a token taken for work that turned out not to count.
    pub fn refund(&mut self) {
        self.refill(Instant::now());
        self.tokens = (self.tokens + 1.0).min(self.rate.burst);
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

    /// Give back a token [`take`](Self::take) took from `key`.
    pub fn refund(&self, key: &K) {
        if let Some(bucket) = self.buckets.lock().unwrap().get_mut(key) {
            bucket.refund();
        }
    }
}

/// At most one holder per key at a time; others wait their turn. Keys nobody holds or waits
/// for are forgotten, so the map only holds keys in use.
#[derive(Debug)]
pub struct OneAtATime<K> {
    gates: Arc<Mutex<HashMap<K, Arc<tokio::sync::Mutex<()>>>>>,
}

/// Held while the key is in use; dropping it lets the next waiter in.
#[must_use]
pub struct Turn<K: Hash + Eq> {
    // Field order matters: the guard is released before the map entry is inspected in `drop`.
    guard: Option<tokio::sync::OwnedMutexGuard<()>>,
    key: K,
    gates: Arc<Mutex<HashMap<K, Arc<tokio::sync::Mutex<()>>>>>,
}

impl<K: Hash + Eq + Clone> Default for OneAtATime<K> {
    fn default() -> Self {
        OneAtATime {
            gates: Arc::new(Mutex::new(HashMap::new())),
        }
    }
}

impl<K: Hash + Eq + Clone> OneAtATime<K> {
    /// Wait until `key` is free and hold it.
    pub async fn turn(&self, key: K) -> Turn<K> {
        let gate = self
            .gates
            .lock()
            .unwrap()
            .entry(key.clone())
            .or_default()
            .clone();
        let guard = gate.lock_owned().await;
        Turn {
            guard: Some(guard),
            key,
            gates: self.gates.clone(),
        }
    }

    /// Keys held or waited for now.
    pub fn len(&self) -> usize {
        self.gates.lock().unwrap().len()
    }

    /// Whether no key is in use.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl<K: Hash + Eq> Drop for Turn<K> {
    fn drop(&mut self) {
        let mut gates = self.gates.lock().unwrap();
        self.guard.take();
        // Only the map still refers to the gate: nobody holds or awaits it.
        if gates
            .get(&self.key)
            .is_some_and(|gate| Arc::strong_count(gate) == 1)
        {
            gates.remove(&self.key);
        }
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
        assert!(l.take(&"b"));
    }

    #[test]
    fn a_refund_gives_back_one_token_but_never_more_than_the_burst() {
        let l = KeyedLimiter::new(Rate {
            burst: 2.0,
            per_second: 0.001,
        });
        assert!(l.take(&"a"));
        assert!(l.take(&"a"));
        l.refund(&"a");
        assert!(l.take(&"a"));
        assert!(!l.take(&"a"));
        for _ in 0..5 {
            l.refund(&"a");
        }
        assert!(l.take(&"a"));
        assert!(l.take(&"a"));
        assert!(!l.take(&"a"));
    }

    #[tokio::test]
    async fn one_holder_per_key_at_a_time_and_idle_keys_are_forgotten() {
        let gate = Arc::new(OneAtATime::default());
        let first = gate.turn("alice").await;
        let other = gate.turn("bob").await;
        let g = gate.clone();
        let second = tokio::spawn(async move {
            let _turn = g.turn("alice").await;
        });
        tokio::task::yield_now().await;
        assert!(!second.is_finished());
        drop(first);
        second.await.unwrap();
        drop(other);
        assert!(gate.is_empty());
    }
}
