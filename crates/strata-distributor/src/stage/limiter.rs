//! Per-tenant ingestion rate limiting: one token bucket per tenant, in bytes of the
//! protobuf-encoded export request, local to this distributor (Tempo's `local` strategy).
//!
//! * A bucket holds up to `burst_size_bytes` tokens and refills at `rate_limit_bytes` per second
//!   of the injected clock; a new tenant starts with a full bucket.
//! * A request takes all its bytes or nothing: refused requests take no tokens.
//! * A request larger than the burst can never pass and is refused as [`Decision::TooBig`].
//! * `rate_limit_bytes: 0` disables the limit.
//! * Limits are read per request, so a changed override applies to the next request; tokens
//!   above a lowered burst are dropped.
//! * A clock that goes backwards refills nothing (time never runs negative).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use strata_common::{SharedClock, TenantId};
use strata_config::IngestionLimits;

/// What the limiter says about one request.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Decision {
    Allowed,
    /// Refused; enough tokens will have accumulated after this long.
    Wait(Duration),
    /// Refused; the request is bigger than the burst size and can never pass.
    TooBig,
}

/// A token bucket measured in bytes.
#[derive(Debug, Clone)]
pub struct TokenBucket {
    tokens: f64,
    last: SystemTime,
    rate: u64,
    burst: u64,
}

impl TokenBucket {
    /// A full bucket.
    pub fn new(rate: u64, burst: u64, now: SystemTime) -> Self {
        Self {
            tokens: burst as f64,
            last: now,
            rate,
            burst,
        }
    }

    /// Changes the rate and burst, keeping the tokens (at most the new burst).
    pub fn set_limits(&mut self, rate: u64, burst: u64, now: SystemTime) {
        if rate == self.rate && burst == self.burst {
            return;
        }
        self.refill(now);
        self.rate = rate;
        self.burst = burst;
        self.tokens = self.tokens.min(burst as f64);
    }

    fn refill(&mut self, now: SystemTime) {
        if let Ok(elapsed) = now.duration_since(self.last) {
            self.tokens =
                (self.tokens + self.rate as f64 * elapsed.as_secs_f64()).min(self.burst as f64);
            self.last = now;
        }
    }

    /// Tokens available now (after refilling).
    pub fn available(&mut self, now: SystemTime) -> f64 {
        self.refill(now);
        self.tokens
    }

    /// Takes `n` tokens if they are all there.
    pub fn take(&mut self, n: u64, now: SystemTime) -> Decision {
        if self.rate == 0 {
            return Decision::Allowed;
        }
        if n > self.burst {
            return Decision::TooBig;
        }
        self.refill(now);
        let need = n as f64;
        if self.tokens >= need {
            self.tokens -= need;
            return Decision::Allowed;
        }
        Decision::Wait(Duration::from_secs_f64(
            (need - self.tokens) / self.rate as f64,
        ))
    }
}

/// One bucket per tenant.
pub struct RateLimiter {
    clock: SharedClock,
    buckets: Mutex<HashMap<TenantId, TokenBucket>>,
}

impl RateLimiter {
    pub fn new(clock: SharedClock) -> Self {
        Self {
            clock,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Admits or refuses `bytes` for `tenant` under `limits`.
    pub fn check(&self, tenant: &TenantId, limits: &IngestionLimits, bytes: u64) -> Decision {
        if limits.rate_limit_bytes == 0 {
            return Decision::Allowed;
        }
        let now = self.clock.now();
        let mut buckets = match self.buckets.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        let b = buckets.entry(tenant.clone()).or_insert_with(|| {
            TokenBucket::new(limits.rate_limit_bytes, limits.burst_size_bytes, now)
        });
        b.set_limits(limits.rate_limit_bytes, limits.burst_size_bytes, now);
        b.take(bytes, now)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use strata_common::{Clock, ManualClock};

    use super::*;

    fn limits(rate: u64, burst: u64) -> IngestionLimits {
        IngestionLimits {
            rate_limit_bytes: rate,
            burst_size_bytes: burst,
            ..IngestionLimits::default()
        }
    }

    #[test]
    fn bucket_refills_at_the_rate_up_to_the_burst() {
        let clock = ManualClock::default();
        let mut b = TokenBucket::new(100, 300, clock.now());
        assert_eq!(b.take(250, clock.now()), Decision::Allowed);
        assert_eq!(
            b.take(100, clock.now()),
            Decision::Wait(Duration::from_millis(500))
        );
        clock.advance(Duration::from_millis(500));
        assert_eq!(b.take(100, clock.now()), Decision::Allowed);
        assert!(b.available(clock.now()) < 1e-6);
        // A long idle period refills only up to the burst.
        clock.advance(Duration::from_secs(3600));
        assert_eq!(b.available(clock.now()), 300.0);
        assert_eq!(b.take(301, clock.now()), Decision::TooBig);
        assert_eq!(b.available(clock.now()), 300.0, "refusals take nothing");
    }

    #[test]
    fn clock_going_backwards_refills_nothing() {
        let clock = ManualClock::default();
        let mut b = TokenBucket::new(100, 100, clock.now());
        assert_eq!(b.take(100, clock.now()), Decision::Allowed);
        clock.set(clock.now() - Duration::from_secs(60));
        assert!(matches!(b.take(1, clock.now()), Decision::Wait(_)));
    }

    #[test]
    fn limiter_is_per_tenant_and_follows_changed_limits() {
        let clock = ManualClock::default();
        let l = RateLimiter::new(Arc::new(clock.clone()));
        let (a, b) = (TenantId::new("a").unwrap(), TenantId::new("b").unwrap());
        let tight = limits(10, 20);
        assert_eq!(l.check(&a, &tight, 20), Decision::Allowed);
        assert_eq!(
            l.check(&a, &tight, 10),
            Decision::Wait(Duration::from_secs(1))
        );
        assert_eq!(
            l.check(&b, &tight, 20),
            Decision::Allowed,
            "b has its own bucket"
        );
        // Raising the limit applies from now on: time already passed refilled at the old rate.
        let loose = limits(1000, 2000);
        clock.advance(Duration::from_millis(100));
        assert!(matches!(l.check(&a, &loose, 50), Decision::Wait(_)));
        clock.advance(Duration::from_millis(100));
        assert_eq!(l.check(&a, &loose, 50), Decision::Allowed);
        // Lowering the burst drops tokens above it.
        clock.advance(Duration::from_secs(10));
        assert_eq!(l.check(&a, &limits(1, 5), 6), Decision::TooBig);
        assert_eq!(l.check(&a, &limits(1, 5), 5), Decision::Allowed);
        assert!(matches!(l.check(&a, &limits(1, 5), 1), Decision::Wait(_)));
        // Zero disables.
        assert_eq!(l.check(&a, &limits(0, 0), u64::MAX), Decision::Allowed);
    }
}
