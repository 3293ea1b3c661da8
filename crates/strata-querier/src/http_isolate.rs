//! Work isolation on the query API, per tenant (`overrides.*.read`, see
//! [`strata_config::ReadLimits`]):
//!
//! * **Slots**: at most `max_concurrent_queries` requests of a tenant are served at once by this
//!   querier; more wait for a slot of their own tenant, so another tenant's heavy queries never
//!   hold them up. A request still waiting when `query_timeout` runs out gets 429 (with
//!   `Retry-After: 1`) naming the key.
//! * **Time**: a request running past `query_timeout` (its wait included) gets 504 naming the
//!   key, and its work is dropped (block scans stop at their next step).
//!
//! Both refusals are counted in `strata_querier_queries_refused_total{tenant,reason}`
//! (`reason` = `concurrency` | `timeout`). Requests without a valid tenant pass through (their
//! handler answers the tenant error). A tenant's slot count follows override reloads: a new
//! limit takes effect for requests that arrive after it (those waiting on the old slots keep
//! them).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use parking_lot::Mutex;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use strata_common::TenantId;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::Querier;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RefusedLabels {
    pub tenant: String,
    pub reason: String,
}

/// Per-tenant slots (see the module docs).
#[derive(Default)]
pub struct TenantGates {
    /// tenant → (the limit the semaphore was made for, its slots)
    gates: Mutex<HashMap<TenantId, (u32, Arc<Semaphore>)>>,
    pub refused: Family<RefusedLabels, Counter>,
}

/// Why a request was not served.
#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    /// No slot freed up in time.
    Busy,
}

impl TenantGates {
    /// A slot of `tenant` (limit `max`, 0 for none), waiting at most `wait` (`None`: as long
    /// as it takes). `Ok(None)` when the tenant has no limit.
    pub async fn acquire(
        &self,
        tenant: &TenantId,
        max: u32,
        wait: Option<Duration>,
    ) -> Result<Option<OwnedSemaphorePermit>, Refusal> {
        if max == 0 {
            return Ok(None);
        }
        let sem = {
            let mut g = self.gates.lock();
            let e = g
                .entry(tenant.clone())
                .or_insert_with(|| (max, Arc::new(Semaphore::new(max as usize))));
            if e.0 != max {
                *e = (max, Arc::new(Semaphore::new(max as usize)));
            }
            e.1.clone()
        };
        let acquire = sem.acquire_owned();
        let permit = match wait {
            Some(w) => tokio::time::timeout(w, acquire)
                .await
                .map_err(|_| Refusal::Busy)?,
            None => acquire.await,
        };
        // The semaphore is never closed.
        Ok(permit.ok())
    }

    fn count(&self, tenant: &TenantId, reason: &str) {
        self.refused
            .get_or_create(&RefusedLabels {
                tenant: tenant.as_str().to_string(),
                reason: reason.to_string(),
            })
            .inc();
    }
}

/// The middleware (see the module docs).
pub(crate) async fn isolate(State(q): State<Querier>, req: Request, next: Next) -> Response {
    // Set by the tenant gate, which runs first.
    let Some(tenant) = req.extensions().get::<strata_common::TenantId>().cloned() else {
        return next.run(req).await;
    };
    let limits = q.overrides().limits(&tenant).read.clone();
    let timeout = (!limits.query_timeout.is_zero()).then_some(limits.query_timeout);
    let gates = q.gates();
    let started = Instant::now();
    let _slot = match gates
        .acquire(&tenant, limits.max_concurrent_queries, timeout)
        .await
    {
        Ok(slot) => slot,
        Err(Refusal::Busy) => {
            gates.count(&tenant, "concurrency");
            let msg = format!(
                "tenant {tenant} has {} queries running on this querier (read.max_concurrent_queries) \
                 and none finished within {} (read.query_timeout); retry later",
                limits.max_concurrent_queries,
                humantime::format_duration(limits.query_timeout),
            );
            return (
                StatusCode::TOO_MANY_REQUESTS,
                [
                    (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
                    (header::RETRY_AFTER, "1"),
                ],
                msg,
            )
                .into_response();
        }
    };
    let Some(timeout) = timeout else {
        return next.run(req).await;
    };
    let left = timeout.saturating_sub(started.elapsed());
    match tokio::time::timeout(left, next.run(req)).await {
        Ok(resp) => resp,
        Err(_) => {
            gates.count(&tenant, "timeout");
            let msg = format!(
                "query of tenant {tenant} did not finish within {} (read.query_timeout)",
                humantime::format_duration(limits.query_timeout),
            );
            (
                StatusCode::GATEWAY_TIMEOUT,
                [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
                msg,
            )
                .into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_tenant_waits_for_its_own_slots_only() {
        let g = TenantGates::default();
        let heavy = TenantId::new("heavy").unwrap();
        let light = TenantId::new("light").unwrap();
        let wait = Some(Duration::from_millis(50));
        let a = g.acquire(&heavy, 2, wait).await.unwrap();
        let b = g.acquire(&heavy, 2, wait).await.unwrap();
        assert!(a.is_some() && b.is_some());
        // Both of heavy's slots are taken: a third request waits, then is refused.
        assert_eq!(g.acquire(&heavy, 2, wait).await.unwrap_err(), Refusal::Busy);
        // Another tenant is not held up.
        assert!(g.acquire(&light, 2, wait).await.unwrap().is_some());
        // A freed slot is taken by the next request.
        drop(a);
        assert!(g.acquire(&heavy, 2, wait).await.unwrap().is_some());
        // No limit: no slot needed.
        assert!(g.acquire(&heavy, 0, wait).await.unwrap().is_none());
        // A new limit (an override reload) applies to the requests after it.
        assert!(g.acquire(&heavy, 3, wait).await.unwrap().is_some());
    }

    #[tokio::test]
    async fn a_waiting_request_gets_the_slot_when_it_frees_up() {
        let g = Arc::new(TenantGates::default());
        let t = TenantId::new("t").unwrap();
        let held = g.acquire(&t, 1, None).await.unwrap();
        let g2 = g.clone();
        let t2 = t.clone();
        let waiter =
            tokio::spawn(async move { g2.acquire(&t2, 1, Some(Duration::from_secs(30))).await });
        tokio::task::yield_now().await;
        drop(held);
        assert!(waiter.await.unwrap().unwrap().is_some());
    }
}
