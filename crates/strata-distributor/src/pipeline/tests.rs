//! The pipeline's order and accounting, with recording stand-ins for the ingesters and the
//! metrics-generator (the real ingester is exercised through the receivers in `tests/e2e`).

use std::sync::Arc;
use std::time::SystemTime;

use async_trait::async_trait;
use parking_lot::Mutex;
use strata_common::ManualClock;
use strata_config::{OverridesConfig, TenantLimits};
use strata_proto::roles::{PushErrorReason, PushRequest, PushResponse, RoleError};
use strata_proto::status::ErrorKind;

use super::*;
use crate::metrics::DiscardLabels;
use crate::stage::group::tests::request;
use crate::stage::handoff::tests::Recording;
use crate::stage::sample::Sampled;

#[derive(Default)]
struct Ingesters {
    pushed: Mutex<Vec<PushRequest>>,
    answer: Mutex<Option<Result<PushResponse, RoleError>>>,
}

#[async_trait]
impl IngesterPusher for Ingesters {
    async fn push(&self, req: PushRequest) -> Result<PushResponse, RoleError> {
        self.pushed.lock().push(req);
        self.answer
            .lock()
            .clone()
            .unwrap_or(Ok(PushResponse::default()))
    }
}

/// Keeps traces whose ID starts with 1.
struct OnlyOnes;

impl Sampler for OnlyOnes {
    fn sample(&self, _: &TenantId, traces: Vec<TraceSpans>) -> Sampled {
        let (kept, out): (Vec<_>, Vec<_>) = traces
            .into_iter()
            .partition(|t| t.trace_id.as_bytes()[0] == 1);
        Sampled {
            kept,
            dropped: out.iter().map(|t| ("test_ratio", t.span_count)).collect(),
        }
    }
}

struct Fixture {
    pipeline: Pipeline,
    ingesters: Arc<Ingesters>,
    consumer: Arc<Recording>,
    metrics: DistributorMetrics,
}

fn fixture(overrides: Overrides, consumer: Recording) -> Fixture {
    let ingesters = Arc::new(Ingesters::default());
    let consumer = Arc::new(consumer);
    let metrics = DistributorMetrics::new(&mut prometheus_client::registry::Registry::default());
    let clock = Arc::new(ManualClock::new(SystemTime::UNIX_EPOCH));
    let pipeline = Pipeline::new(ingesters.clone(), overrides, clock, metrics.clone())
        .with_span_consumer(consumer.clone());
    Fixture {
        pipeline,
        ingesters,
        consumer,
        metrics,
    }
}

fn received(request: ExportTraceServiceRequest) -> Received {
    Received {
        tenant: TenantId::single(),
        request,
        wire_bytes: Some(1234),
        protocol: "test",
    }
}

fn discarded(m: &DistributorMetrics, reason: &str) -> u64 {
    m.spans_discarded
        .get_or_create(&DiscardLabels {
            tenant: TenantId::single().to_string(),
            reason: reason.into(),
        })
        .get()
}

fn limits(rate: u64, burst: u64) -> Overrides {
    let mut defaults = TenantLimits::default();
    defaults.ingestion.rate_limit_bytes = rate;
    defaults.ingestion.burst_size_bytes = burst;
    let cfg = OverridesConfig {
        defaults,
        ..Default::default()
    };
    let clock = Arc::new(ManualClock::new(SystemTime::UNIX_EPOCH));
    Overrides::load(&cfg, clock, &mut Default::default()).unwrap()
}

#[tokio::test]
async fn metrics_see_every_span_before_sampling_and_the_ingesters_only_kept_traces() {
    let f = fixture(Overrides::default(), Recording::default());
    let p = f.pipeline.clone().with_sampler(Arc::new(OnlyOnes));
    p.run(received(request())).await.unwrap();

    let seen = f.consumer.seen.lock();
    assert_eq!(seen.len(), 1);
    let handed: u32 = seen[0].1.iter().map(|t| t.span_count).sum();
    assert_eq!(handed, 4, "the hand-off sees all four spans");

    let pushed = f.ingesters.pushed.lock();
    assert_eq!(pushed.len(), 1);
    assert_eq!(pushed[0].traces.len(), 1, "trace 2 was sampled out");
    assert_eq!(pushed[0].traces[0].span_count, 3);

    let out = f
        .metrics
        .spans_sampled_out
        .get_or_create(&DiscardLabels {
            tenant: TenantId::single().to_string(),
            reason: "test_ratio".into(),
        })
        .get();
    assert_eq!(out, 1);
    let received = f.metrics.spans_received.get_or_create(&TenantLabels {
        tenant: TenantId::single().to_string(),
    });
    assert_eq!(received.get(), 4, "sampled-out spans were still received");
}

#[tokio::test]
async fn a_failed_hand_off_is_counted_and_the_push_goes_on() {
    let f = fixture(
        Overrides::default(),
        Recording {
            fail: true,
            ..Default::default()
        },
    );
    f.pipeline.run(received(request())).await.unwrap();
    assert_eq!(f.ingesters.pushed.lock().len(), 1);
    let failures = f
        .metrics
        .span_handoff_failures
        .get_or_create(&TenantLabels {
            tenant: TenantId::single().to_string(),
        })
        .get();
    assert_eq!(failures, 1);
}

#[tokio::test]
async fn an_invalid_request_reaches_no_later_stage() {
    let f = fixture(Overrides::default(), Recording::default());
    let mut req = request();
    req.resource_spans[0].scope_spans[0].spans[0].span_id = vec![0; 8];
    let e = f.pipeline.run(received(req)).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::InvalidArgument);
    assert!(f.consumer.seen.lock().is_empty());
    assert!(f.ingesters.pushed.lock().is_empty());
    assert_eq!(discarded(&f.metrics, "invalid_span_id"), 4);
}

#[tokio::test]
async fn the_rate_limit_comes_first() {
    let f = fixture(limits(10, 10), Recording::default());
    let mut req = request();
    req.resource_spans[0].scope_spans[0].spans[0].span_id = vec![0; 8];
    let e = f.pipeline.run(received(req)).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::ResourceExhausted, "{e}");
    assert!(e.retry_delay().is_some());
    assert_eq!(discarded(&f.metrics, "rate_limited"), 4);
    assert_eq!(discarded(&f.metrics, "invalid_span_id"), 0);
}

#[tokio::test]
async fn ingester_refusals_and_failures_are_counted_by_reason() {
    let f = fixture(Overrides::default(), Recording::default());
    *f.ingesters.answer.lock() = Some(Ok(PushResponse {
        errors_by_trace: vec![PushErrorReason::TraceTooLarge, PushErrorReason::NoError],
    }));
    let accepted = f.pipeline.run(received(request())).await.unwrap();
    assert_eq!(discarded(&f.metrics, "trace_too_large"), 3);
    // The request succeeds, and says which part was refused (OTLP partial success).
    assert_eq!(accepted.rejected_spans, 3);
    assert_eq!(
        accepted.message,
        "3 spans refused by per-tenant limits (trace_too_large: 3 spans)"
    );

    *f.ingesters.answer.lock() = Some(Err(RoleError::ResourceExhausted("full".into())));
    let e = f.pipeline.run(received(request())).await.unwrap_err();
    assert_eq!(e.http_status(), 429);
    assert_eq!(e.retry_after_header(), Some(5));
    assert_eq!(discarded(&f.metrics, "ingester_backpressure"), 4);

    *f.ingesters.answer.lock() = Some(Err(RoleError::Unavailable("down".into())));
    let e = f.pipeline.run(received(request())).await.unwrap_err();
    assert_eq!(e.grpc_code(), tonic::Code::Unavailable);
    assert_eq!(discarded(&f.metrics, "ingester_error"), 4);
}

#[tokio::test]
async fn an_empty_request_is_accepted_without_work() {
    let f = fixture(Overrides::default(), Recording::default());
    f.pipeline
        .run(received(ExportTraceServiceRequest::default()))
        .await
        .unwrap();
    assert!(f.consumer.seen.lock().is_empty());
    assert!(f.ingesters.pushed.lock().is_empty());
}

#[tokio::test]
async fn spans_are_counted_per_receiver_by_result() {
    let f = fixture(limits(10, 10), Recording::default());
    let per = |result: &str| {
        f.metrics
            .receiver_spans
            .get_or_create(&crate::metrics::ReceiverLabels {
                receiver: "test".into(),
                result: result.into(),
            })
            .get()
    };
    f.pipeline.run(received(request())).await.unwrap_err();
    assert_eq!((per("accepted"), per("refused")), (0, 4));
    let f2 = fixture(Overrides::default(), Recording::default());
    f2.pipeline.run(received(request())).await.unwrap();
    let accepted = f2
        .metrics
        .receiver_spans
        .get_or_create(&crate::metrics::ReceiverLabels {
            receiver: "test".into(),
            result: "accepted".into(),
        })
        .get();
    assert_eq!(accepted, 4);
}

mod fast;
