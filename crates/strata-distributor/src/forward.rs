//! The distributor's hand-off to remote metrics-generators (distributed mode): a
//! [`SpanConsumer`] that shards traces over the generator ring and sends them in the
//! background.
//!
//! * **Placement.** Each trace goes to the owner of [`ring_key`]`(tenant, trace ID)` on the
//!   healthy generator ring (one copy), so every span of a trace — and so both sides of a
//!   service-graph edge — meets on one generator whichever distributor received it.
//! * **Never in the way of ingest.** [`SpanConsumer::consume`] encodes the traces and queues
//!   them (`metrics_generator.forwarder.queue_size` pushes); it never waits for a generator.
//!   A full queue refuses the hand-off (the pipeline counts it) and the client's push goes on.
//! * `workers` tasks send queued pushes, one request per owner. Spans sent or lost are
//!   counted by tenant in `strata_distributor_metrics_generator_spans{tenant,result}`:
//!   `sent`, `queue_full`, `failed` (the owner answered an error; an `UNAVAILABLE` owner is
//!   also taken off the healthy ring until its next passing check), `no_generator` (no healthy
//!   member). Metrics from traces are best effort by design: a lost push is counted, not
//!   retried, since its spans are already durable in the ingesters.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;
use strata_common::TenantId;
use strata_config::GeneratorForwarderConfig;
use strata_proto::roles::{PushRequest, RoleError, SpanConsumer, TracePush, TraceSpans};
use strata_ring::{ring_key, GeneratorPool};
use tokio::sync::{mpsc, Mutex};
use tokio_util::sync::CancellationToken;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ForwardLabels {
    tenant: String,
    result: &'static str,
}

/// `strata_distributor_metrics_generator_spans{tenant,result}`.
#[derive(Clone, Default)]
pub struct ForwardMetrics {
    spans: Family<ForwardLabels, Counter>,
}

impl ForwardMetrics {
    pub fn new(registry: &mut Registry) -> Self {
        let m = Self::default();
        registry.register(
            "strata_distributor_metrics_generator_spans",
            "Spans handed to metrics-generators: sent, queue_full, failed, no_generator",
            m.spans.clone(),
        );
        m
    }

    fn count(&self, tenant: &TenantId, result: &'static str, n: u64) {
        self.spans
            .get_or_create(&ForwardLabels {
                tenant: tenant.to_string(),
                result,
            })
            .inc_by(n);
    }
}

/// The [`SpanConsumer`] sending to the generator ring; see the module docs.
pub struct GeneratorForwarder {
    tx: mpsc::Sender<PushRequest>,
    metrics: ForwardMetrics,
}

impl GeneratorForwarder {
    /// A forwarder over `pool` and its `cfg.workers` sending tasks, which stop when `stop`
    /// fires (pushes still queued then are dropped: they are metrics, not data).
    pub fn spawn(
        pool: Arc<GeneratorPool>,
        cfg: &GeneratorForwarderConfig,
        metrics: ForwardMetrics,
        stop: CancellationToken,
    ) -> (Self, Vec<tokio::task::JoinHandle<()>>) {
        let (tx, rx) = mpsc::channel(cfg.queue_size.max(1));
        let rx = Arc::new(Mutex::new(rx));
        let tasks = (0..cfg.workers.max(1))
            .map(|_| {
                let (rx, pool, m, stop) = (rx.clone(), pool.clone(), metrics.clone(), stop.clone());
                tokio::spawn(async move {
                    loop {
                        let next = tokio::select! {
                            _ = stop.cancelled() => return,
                            r = async { rx.lock().await.recv().await } => r,
                        };
                        let Some(req) = next else { return };
                        send(&pool, &m, req).await;
                    }
                })
            })
            .collect();
        (Self { tx, metrics }, tasks)
    }
}

#[async_trait]
impl SpanConsumer for GeneratorForwarder {
    async fn consume(&self, tenant: &TenantId, traces: &[TraceSpans]) -> Result<(), RoleError> {
        if traces.is_empty() {
            return Ok(());
        }
        let req = PushRequest {
            tenant: tenant.clone(),
            traces: traces.iter().map(TraceSpans::encode).collect(),
        };
        match self.tx.try_send(req) {
            Ok(()) => Ok(()),
            Err(e) => {
                let req = e.into_inner();
                self.metrics
                    .count(tenant, "queue_full", span_count(&req.traces));
                Err(RoleError::ResourceExhausted(
                    "metrics-generator forward queue is full".into(),
                ))
            }
        }
    }
}

fn span_count(traces: &[TracePush]) -> u64 {
    traces.iter().map(|t| t.span_count as u64).sum()
}

/// Sends each trace of `req` to its owner; counts the outcome.
async fn send(pool: &GeneratorPool, m: &ForwardMetrics, req: PushRequest) {
    let ring = pool.members().healthy_ring();
    let mut by_owner: BTreeMap<String, Vec<TracePush>> = BTreeMap::new();
    let mut orphans = 0;
    for t in req.traces {
        match ring.owner(ring_key(&req.tenant, &t.trace_id)) {
            Some(owner) => by_owner.entry(owner.to_string()).or_default().push(t),
            None => orphans += t.span_count as u64,
        }
    }
    if orphans > 0 {
        m.count(&req.tenant, "no_generator", orphans);
    }
    let calls = by_owner.into_iter().map(|(addr, traces)| {
        let conn = pool.conn(&addr);
        let spans = span_count(&traces);
        let sub = PushRequest {
            tenant: req.tenant.clone(),
            traces,
        };
        async move { (addr, spans, conn.push_spans(sub).await) }
    });
    for (addr, spans, result) in futures::future::join_all(calls).await {
        match result {
            Ok(()) => m.count(&req.tenant, "sent", spans),
            Err(e) => {
                tracing::warn!(generator = %addr, error = %e, spans, "push to metrics-generator failed");
                if matches!(e, RoleError::Unavailable(_)) {
                    pool.members()
                        .mark_unhealthy(&addr, "push failed: unavailable");
                }
                m.count(&req.tenant, "failed", spans);
            }
        }
    }
}
