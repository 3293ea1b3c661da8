//! The fast path ([`super::super::fast`]) against the decoding path: when it applies, and that it
//! pushes the same shares and counts the same way, refusals included.

use bytes::Bytes;
use prost::Message;

use super::*;
use crate::stage::handoff::NoMetrics;

fn fast_fixture(overrides: Overrides) -> Fixture {
    let mut f = fixture(overrides, Recording::default());
    f.pipeline = f.pipeline.with_span_consumer(Arc::new(NoMetrics));
    f
}

fn body() -> Bytes {
    Bytes::from(request().encode_to_vec())
}

async fn run_fast(f: &Fixture, body: Bytes) -> Result<Accepted, ApiError> {
    let tenant = TenantId::single();
    let scanned = f
        .pipeline
        .scan_fast(&tenant, &body, None)
        .expect("fast path");
    f.pipeline
        .run_scanned(tenant, body, scanned, Some(1234), "test", None)
        .await
}

fn counters(f: &Fixture) -> (u64, u64, u64) {
    let labels = TenantLabels {
        tenant: TenantId::single().to_string(),
    };
    let accepted = f
        .metrics
        .receiver_spans
        .get_or_create(&crate::metrics::ReceiverLabels {
            receiver: "test".into(),
            result: "accepted".into(),
        })
        .get();
    (
        f.metrics.spans_received.get_or_create(&labels).get(),
        f.metrics.bytes_received.get_or_create(&labels).get(),
        accepted,
    )
}

#[test]
fn applies_only_when_nothing_needs_the_decoded_spans() {
    let tenant = TenantId::single();
    let b = body();
    assert!(fast_fixture(Overrides::default())
        .pipeline
        .scan_fast(&tenant, &b, None)
        .is_some());
    // A consumer that wants spans (the metrics-generator with processors).
    let f = fixture(Overrides::default(), Recording::default());
    assert!(f.pipeline.scan_fast(&tenant, &b, None).is_none());
    // Head sampling below 1, or another sampler.
    let mut l = TenantLimits::default();
    l.sampling.head_ratio = 0.5;
    assert!(fast_fixture(Overrides::fixed(l))
        .pipeline
        .scan_fast(&tenant, &b, None)
        .is_none());
    let f = fast_fixture(Overrides::default());
    let p = f.pipeline.clone().with_sampler(Arc::new(OnlyOnes));
    assert!(p.scan_fast(&tenant, &b, None).is_none());
    // A body the decoding path must answer.
    assert!(f
        .pipeline
        .scan_fast(&tenant, &b[..b.len() - 1], None)
        .is_none());
}

#[tokio::test]
async fn pushes_and_counts_what_the_decoding_path_does() {
    let slow = fast_fixture(Overrides::default());
    slow.pipeline.run(received(request())).await.unwrap();
    let fast = fast_fixture(Overrides::default());
    run_fast(&fast, body()).await.unwrap();

    let decoded = |f: &Fixture| {
        let pushed = f.ingesters.pushed.lock();
        assert_eq!(pushed.len(), 1);
        pushed[0]
            .traces
            .iter()
            .map(|t| {
                let trace = strata_proto::tempopb::Trace::decode(t.payload.as_ref()).unwrap();
                (
                    t.trace_id,
                    t.span_count,
                    t.start_unix_nano,
                    t.end_unix_nano,
                    t.replica,
                    trace,
                )
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(decoded(&fast), decoded(&slow));
    assert_eq!(counters(&fast), counters(&slow));
    assert_eq!(counters(&fast), (4, 1234, 4));
}

#[tokio::test]
async fn refusals_are_counted_as_on_the_decoding_path() {
    let f = fast_fixture(limits(10, 10));
    let e = run_fast(&f, body()).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::ResourceExhausted);
    assert_eq!(discarded(&f.metrics, "rate_limited"), 4);
    let refused = f
        .metrics
        .receiver_spans
        .get_or_create(&crate::metrics::ReceiverLabels {
            receiver: "test".into(),
            result: "refused".into(),
        })
        .get();
    assert_eq!(refused, 4);

    let f = fast_fixture(Overrides::default());
    *f.ingesters.answer.lock() = Some(Ok(PushResponse {
        errors_by_trace: vec![PushErrorReason::TraceTooLarge, PushErrorReason::NoError],
    }));
    let accepted = run_fast(&f, body()).await.unwrap();
    assert_eq!(discarded(&f.metrics, "trace_too_large"), 3);
    assert_eq!(accepted.rejected_spans, 3);

    *f.ingesters.answer.lock() = Some(Err(RoleError::ResourceExhausted("full".into())));
    let e = run_fast(&f, body()).await.unwrap_err();
    assert_eq!(e.http_status(), 429);
    assert_eq!(discarded(&f.metrics, "ingester_backpressure"), 4);

    // An empty request is accepted without work.
    let empty = Bytes::from(ExportTraceServiceRequest::default().encode_to_vec());
    let f = fast_fixture(Overrides::default());
    run_fast(&f, empty).await.unwrap();
    assert!(f.ingesters.pushed.lock().is_empty());
}

fn receiver_refused(f: &Fixture) -> u64 {
    f.metrics
        .receiver_spans
        .get_or_create(&crate::metrics::ReceiverLabels {
            receiver: "test".into(),
            result: "refused".into(),
        })
        .get()
}

#[tokio::test]
async fn an_early_refusal_reads_only_the_framing_and_is_counted() {
    // Framing of one resource and scope holding three span fields that are not spans: a
    // refused body is not walked further, and its spans are counted all the same.
    let mut scope = Vec::new();
    for _ in 0..3 {
        scope.extend([0x12, 0x02, 0xff, 0xff]);
    }
    let mut rs = vec![0x12, scope.len() as u8];
    rs.extend(scope);
    let mut body = vec![0x0a, rs.len() as u8];
    body.extend(rs);
    let f = fast_fixture(limits(10, 10));
    let e = f
        .pipeline
        .admit_early(&TenantId::single(), &body, "test")
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::ResourceExhausted);
    assert_eq!(discarded(&f.metrics, "rate_limited"), 3);
    assert_eq!(receiver_refused(&f), 3);
    // Nothing to count, or framing only prost can judge: left to the later stages.
    let f = fast_fixture(limits(10, 10));
    let empty = ExportTraceServiceRequest::default().encode_to_vec();
    assert_eq!(
        f.pipeline
            .admit_early(&TenantId::single(), &empty, "test")
            .await,
        Ok(None)
    );
    assert_eq!(
        f.pipeline
            .admit_early(&TenantId::single(), &body[..5], "test")
            .await,
        Ok(None)
    );
    assert_eq!(discarded(&f.metrics, "rate_limited"), 0);
}

#[tokio::test]
async fn an_early_admission_is_charged_once() {
    let b = body();
    let len = b.len() as u64;
    let tenant = TenantId::single();
    // A bucket holding exactly one body (the clock does not move, so it never refills).
    let f = fast_fixture(limits(len, len));
    let early = f.pipeline.admit_early(&tenant, &b, "test").await.unwrap();
    let spans = request()
        .resource_spans
        .iter()
        .flat_map(|r| &r.scope_spans)
        .map(|s| s.spans.len())
        .sum();
    assert_eq!(
        early,
        Some(Early {
            admitted: false,
            spans
        }),
        "no in-process ingester decides here"
    );
    let scanned = f
        .pipeline
        .scan_fast(&tenant, &b, early.map(|e| e.spans))
        .expect("fast path");
    assert_eq!(
        Some(scanned.clone()),
        f.pipeline.scan_fast(&tenant, &b, None)
    );
    f.pipeline
        .run_scanned(
            tenant.clone(),
            b.clone(),
            scanned,
            None,
            "test",
            early.map(|e| e.admitted),
        )
        .await
        .unwrap();
    // The decoding path, admitted early: not charged again either.
    let f = fast_fixture(limits(len, len));
    let early = f
        .pipeline
        .admit_early(&tenant, &b, "test")
        .await
        .unwrap()
        .unwrap();
    f.pipeline
        .run_admitted(received(request()), early.admitted)
        .await
        .unwrap();
    assert_eq!(f.ingesters.pushed.lock().len(), 1);
    // The bucket is empty now: charging again would have refused.
    assert!(f.pipeline.admit_early(&tenant, &b, "test").await.is_err());
    assert_eq!(discarded(&f.metrics, "rate_limited"), 4);
}
