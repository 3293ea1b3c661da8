//! The rate-limit stage: the tenant's token bucket ([`limiter`](super::limiter)) applied to the
//! request's protobuf-encoded size, before any other work. A refusal is `RESOURCE_EXHAUSTED` /
//! HTTP 429 with a retry delay (Tempo's messages); `rate_limit_bytes: 0` admits everything.

use std::time::Duration;

use strata_common::{SharedClock, TenantId};
use strata_config::IngestionLimits;
use strata_proto::status::ApiError;

use super::limiter::{Decision, RateLimiter};

/// Per-tenant token buckets of this distributor.
pub struct RateLimit {
    limiter: RateLimiter,
}

impl RateLimit {
    pub fn new(clock: SharedClock) -> Self {
        Self {
            limiter: RateLimiter::new(clock),
        }
    }

    /// Takes `bytes` from the tenant's bucket, or says how long to wait.
    pub fn admit(
        &self,
        tenant: &TenantId,
        limits: &IngestionLimits,
        bytes: u64,
    ) -> Result<(), ApiError> {
        let (rate, burst) = (limits.rate_limit_bytes, limits.burst_size_bytes);
        let (message, wait) = match self.limiter.check(tenant, limits, bytes) {
            Decision::Allowed => return Ok(()),
            Decision::Wait(wait) => (
                format!(
                    "RATE_LIMITED: ingestion rate limit (local: {rate} bytes/s, burst size: \
                     {burst} bytes) exceeded while adding {bytes} bytes for tenant {tenant}"
                ),
                wait,
            ),
            Decision::TooBig => (
                format!(
                    "RATE_LIMITED: request of {bytes} bytes exceeds the ingestion burst size \
                     ({burst} bytes, rate {rate} bytes/s) of tenant {tenant}; send smaller batches"
                ),
                Duration::from_secs_f64(burst as f64 / rate.max(1) as f64),
            ),
        };
        Err(ApiError::retry_after(message, wait))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::SystemTime;

    use strata_common::ManualClock;
    use strata_proto::status::ErrorKind;

    use super::*;

    fn limits(rate: u64, burst: u64) -> IngestionLimits {
        IngestionLimits {
            rate_limit_bytes: rate,
            burst_size_bytes: burst,
            ..Default::default()
        }
    }

    #[test]
    fn refusals_carry_a_retry_delay_and_tempos_message() {
        let clock = Arc::new(ManualClock::new(SystemTime::UNIX_EPOCH));
        let stage = RateLimit::new(clock.clone());
        let t = TenantId::new("t").unwrap();
        let l = limits(100, 200);
        stage.admit(&t, &l, 150).unwrap();
        let e = stage.admit(&t, &l, 150).unwrap_err();
        assert_eq!(e.kind, ErrorKind::ResourceExhausted);
        assert!(e
            .message
            .starts_with("RATE_LIMITED: ingestion rate limit (local: 100 bytes/s"));
        assert_eq!(e.retry_delay(), Some(Duration::from_secs(1)));
        let too_big = stage.admit(&t, &l, 500).unwrap_err();
        assert!(
            too_big.message.contains("exceeds the ingestion burst size"),
            "{too_big}"
        );
        assert_eq!(too_big.retry_delay(), Some(Duration::from_secs(2)));
        stage.admit(&t, &limits(0, 0), 1 << 40).unwrap();
    }
}
