//! Ingester tests with a manual clock: cutting, flushing, WAL cleanup and replay.

use std::sync::Arc;
use std::time::Duration;

use prost::Message;
use strata_common::{ManualClock, SharedClock, TenantId, TraceId};
use strata_config::{BlockConfig, IngesterConfig};
use strata_proto::otlp::trace::Span;
use strata_proto::roles::{IngesterPusher, IngesterQuerier, PushRequest, RoleError};
use strata_proto::tempopb;
use strata_server::Registry;
use strata_storage::SharedStore;

use super::*;

mod shed;

fn push_for(id: u8, spans: u8) -> PushRequest {
    let trace = TraceId([id; 16]);
    let spans: Vec<Span> = (1..=spans)
        .map(|s| {
            let sid = u64::from_be_bytes([s; 8]);
            strata_testkit::span(&trace, sid, &format!("s{s}"), 1_000 + u64::from(s), 2_000)
        })
        .collect();
    let rs = vec![strata_testkit::resource_spans(None, None, spans)];
    strata_testkit::push_request(vec![strata_testkit::trace_push(trace, 1_000, 2_000, rs)])
}

struct Fixture {
    dir: tempfile::TempDir,
    store: SharedStore,
    clock: ManualClock,
}

impl Fixture {
    fn new() -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
            store: Arc::new(object_store::memory::InMemory::new()),
            clock: ManualClock::default(),
        }
    }

    fn start(&self) -> (Ingester, StartReport) {
        self.start_with(|_| {})
    }

    fn start_with(&self, tweak: impl FnOnce(&mut IngesterConfig)) -> (Ingester, StartReport) {
        let mut cfg = IngesterConfig::default();
        cfg.wal.path = self.dir.path().join("wal");
        cfg.trace_idle_period = Duration::from_secs(5);
        cfg.max_block_duration = Duration::from_secs(60);
        cfg.complete_block_timeout = Duration::from_secs(120);
        tweak(&mut cfg);
        let clock: SharedClock = Arc::new(self.clock.clone());
        let metrics = IngesterMetrics::new(&mut Registry::default());
        Ingester::start(
            cfg,
            BlockConfig::default(),
            self.store.clone(),
            clock,
            metrics,
        )
        .unwrap()
    }

    async fn blocks(&self) -> usize {
        strata_storage::list_blocks(self.store.as_ref(), &TenantId::single())
            .await
            .unwrap()
            .len()
    }

    fn wal_files(&self) -> usize {
        strata_wal::list_segments(&self.dir.path().join("wal"))
            .unwrap()
            .len()
    }
}

async fn spans_of(ing: &Ingester, id: u8) -> usize {
    let f = ing
        .find_trace_by_id(&TenantId::single(), &TraceId([id; 16]))
        .await
        .unwrap();
    f.payloads
        .iter()
        .map(|p| {
            tempopb::Trace::decode(p.as_ref())
                .unwrap()
                .resource_spans
                .iter()
                .flat_map(|r| &r.scope_spans)
                .map(|s| s.spans.len())
                .sum::<usize>()
        })
        .sum()
}

#[tokio::test]
async fn cut_by_clock_flush_and_release_wal() {
    let fx = Fixture::new();
    let (ing, _) = fx.start();
    ing.push(push_for(1, 3)).await.unwrap();
    ing.push(push_for(2, 2)).await.unwrap();
    assert_eq!(ing.live_traces(), 2);
    assert_eq!(spans_of(&ing, 1).await, 3);

    // Not idle yet: nothing moves.
    fx.clock.advance(Duration::from_secs(2));
    ing.flush_tick().await;
    assert_eq!(ing.live_traces(), 2);
    // Idle: to the head block, but the block is not old enough to cut.
    fx.clock.advance(Duration::from_secs(4));
    ing.flush_tick().await;
    assert_eq!(ing.live_traces(), 0);
    assert_eq!(fx.blocks().await, 0);
    assert_eq!(spans_of(&ing, 1).await, 3, "head block data is queryable");
    // Old enough: cut, written, WAL reduced to the fresh segment.
    fx.clock.advance(Duration::from_secs(61));
    ing.flush_tick().await;
    assert_eq!(fx.blocks().await, 1);
    assert_eq!(fx.wal_files(), 1);
    assert_eq!(
        spans_of(&ing, 1).await,
        3,
        "recent block is served by the ingester"
    );
    // Past complete_block_timeout the ingester forgets the block (queriers read it).
    fx.clock.advance(Duration::from_secs(121));
    ing.flush_tick().await;
    assert_eq!(spans_of(&ing, 1).await, 0);
}

#[tokio::test]
async fn restart_replays_unflushed_pushes_only() {
    let fx = Fixture::new();
    {
        let (ing, report) = fx.start();
        assert_eq!(report.records, 0);
        ing.push(push_for(1, 2)).await.unwrap();
        fx.clock.advance(Duration::from_secs(10));
        ing.flush_tick().await; // trace 1 to head
        fx.clock.advance(Duration::from_secs(61));
        ing.flush_tick().await; // cut + flush
        ing.push(push_for(2, 4)).await.unwrap();
        // Dropped without flushing: a crash.
    }
    let (ing, report) = fx.start();
    assert_eq!(report.records, 1, "only the unflushed push is replayed");
    assert_eq!(report.traces, 1);
    assert_eq!(spans_of(&ing, 2).await, 4);
    assert_eq!(fx.blocks().await, 1);
}

#[tokio::test]
async fn replayed_traces_leave_the_live_set_at_the_first_tick() {
    use strata_config::TenantLimits;

    let fx = Fixture::new();
    let limits = || {
        let mut l = TenantLimits::default();
        l.ingestion.max_traces_per_user = 3;
        strata_server::Overrides::fixed(l)
    };
    {
        let (ing, _) = fx.start();
        ing.set_overrides(limits());
        for id in 1..=3 {
            ing.push(push_for(id, 1)).await.unwrap();
        }
        // A crash: the three live traces are only in the WAL.
    }
    let (ing, report) = fx.start();
    ing.set_overrides(limits());
    assert_eq!(report.traces, 3);
    // The first tick (the flush loop runs one at once) moves the replayed traces out of the
    // live set, on no clock advance: the limit does not refuse new traces after a restart.
    ing.flush_tick().await;
    assert_eq!(ing.live_traces(), 0);
    let resp = ing.push(push_for(4, 1)).await.unwrap();
    assert!(resp.errors_by_trace.is_empty(), "{resp:?}");
    for id in 1..=4 {
        assert_eq!(spans_of(&ing, id).await, 1, "trace {id}");
    }
}

#[tokio::test]
async fn flush_all_writes_everything_and_frees_the_wal() {
    let fx = Fixture::new();
    let (ing, _) = fx.start();
    for id in 1..=10 {
        ing.push(push_for(id, 1)).await.unwrap();
    }
    ing.flush_all().await;
    assert_eq!(fx.blocks().await, 1);
    assert_eq!(ing.live_traces(), 0);
    drop(ing);
    let (_ing, report) = fx.start();
    assert_eq!(report.records, 0);
}

#[tokio::test]
async fn pushes_are_refused_past_max_unflushed_bytes_until_a_flush() {
    let fx = Fixture::new();
    let one = push_for(1, 5).traces[0].payload.len() as u64;
    let (ing, _) = fx.start_with(|c| c.max_unflushed_bytes = 2 * one);
    ing.push(push_for(1, 5)).await.unwrap();
    ing.push(push_for(2, 5)).await.unwrap();
    let err = ing.push(push_for(3, 5)).await.unwrap_err();
    assert!(matches!(err, RoleError::ResourceExhausted(_)), "{err:?}");
    assert_eq!(spans_of(&ing, 3).await, 0, "a refused push is not stored");
    ing.flush_all().await;
    ing.push(push_for(3, 5)).await.unwrap();
    // Replayed data counts against the limit after a restart too.
    drop(ing);
    let (ing, _) = fx.start_with(|c| c.max_unflushed_bytes = one);
    assert!(ing.push(push_for(4, 5)).await.is_err());
}

#[tokio::test]
async fn per_tenant_limits_refuse_traces_before_the_wal() {
    use strata_config::TenantLimits;
    use strata_proto::roles::PushErrorReason;

    let fx = Fixture::new();
    let (ing, _) = fx.start();
    let one = push_for(1, 2);
    let size = one.traces[0].payload.len() as u64;
    let mut limits = TenantLimits::default();
    limits.ingestion.max_traces_per_user = 2;
    limits.global.max_bytes_per_trace = size * 2;
    ing.set_overrides(strata_server::Overrides::fixed(limits));

    // Trace 1 grows to its limit, then one more share is too large.
    assert!(ing
        .push(one.clone())
        .await
        .unwrap()
        .errors_by_trace
        .is_empty());
    assert!(ing
        .push(one.clone())
        .await
        .unwrap()
        .errors_by_trace
        .is_empty());
    let resp = ing.push(one.clone()).await.unwrap();
    assert_eq!(resp.errors_by_trace, vec![PushErrorReason::TraceTooLarge]);
    // One push with three new traces: the second live trace fits, the third does not.
    let mut multi = push_for(2, 1);
    multi.traces.extend(push_for(3, 1).traces);
    multi.traces.extend(push_for(4, 1).traces);
    let resp = ing.push(multi).await.unwrap();
    assert_eq!(
        resp.errors_by_trace,
        vec![
            PushErrorReason::NoError,
            PushErrorReason::MaxLiveTraces,
            PushErrorReason::MaxLiveTraces
        ]
    );
    // Everything refused: nothing is appended to the WAL.
    let appends = ing.inner.metrics.wal_appends.get();
    let resp = ing.push(push_for(5, 1)).await.unwrap();
    assert_eq!(resp.errors_by_trace, vec![PushErrorReason::MaxLiveTraces]);
    assert_eq!(ing.inner.metrics.wal_appends.get(), appends);
    assert_eq!(spans_of(&ing, 1).await, 4);
    assert_eq!(spans_of(&ing, 2).await, 1);
    assert_eq!(spans_of(&ing, 3).await, 0);
    let refused = |reason: PushErrorReason| {
        ing.inner
            .metrics
            .traces_refused
            .get_or_create(&metrics::RefusedLabels {
                tenant: "single-tenant".into(),
                reason: reason.label().into(),
            })
            .get()
    };
    assert_eq!(refused(PushErrorReason::TraceTooLarge), 1);
    assert_eq!(refused(PushErrorReason::MaxLiveTraces), 3);

    // Refused traces were never written: a replay finds only the admitted ones.
    drop(ing);
    let (ing, report) = fx.start();
    assert_eq!(report.traces, 2);
    assert_eq!(spans_of(&ing, 1).await, 4);
    assert_eq!(spans_of(&ing, 3).await, 0);
    assert_eq!(spans_of(&ing, 4).await, 0);
}

/// Spans counted by `{ } | count_over_time()` over the ingester's recent data (the sum of
/// its partial series).
async fn counted(ing: &Ingester) -> f64 {
    let req = tempopb::QueryRangeRequest {
        query: "{ } | count_over_time()".into(),
        start: 0,
        end: 10_000_000_000,
        step: 10_000_000_000,
        ..Default::default()
    };
    let resp = ing
        .metrics_query_range(&TenantId::single(), &req)
        .await
        .unwrap();
    resp.series
        .iter()
        .flat_map(|s| &s.samples)
        .map(|s| s.value)
        .sum()
}

/// Replica copies (pushes a replicated push marked `replica`) are searchable but not counted
/// by TraceQL metrics, live and once flushed (rows of the block's `replica` column), and keep
/// their mark through a restart (the WAL stores it).
#[tokio::test]
async fn replica_copies_are_kept_but_not_counted() {
    let fx = Fixture::new();
    let mut replica = push_for(1, 3);
    replica.traces[0].replica = true;
    {
        let (ing, _) = fx.start();
        ing.push(replica.clone()).await.unwrap();
        ing.push(push_for(2, 2)).await.unwrap();
        assert_eq!(spans_of(&ing, 1).await, 3, "a replica copy is searchable");
        assert_eq!(counted(&ing).await, 2.0);
        // Dropped without flushing: a crash.
    }
    let (ing, _) = fx.start();
    assert_eq!(spans_of(&ing, 1).await, 3);
    assert_eq!(counted(&ing).await, 2.0, "the mark survives WAL replay");
    ing.push(push_for(3, 2)).await.unwrap();
    assert_eq!(counted(&ing).await, 4.0);
    fx.clock.advance(Duration::from_secs(10));
    ing.flush_tick().await;
    fx.clock.advance(Duration::from_secs(61));
    ing.flush_tick().await;
    assert_eq!(fx.blocks().await, 1);
    assert_eq!(ing.live_traces(), 0);
    assert_eq!(counted(&ing).await, 4.0, "the recent block counts the same");
    // The block itself: 3 replica rows, 4 counted.
    let id = strata_storage::list_blocks(fx.store.as_ref(), &TenantId::single())
        .await
        .unwrap()[0];
    let meta = strata_block::read_meta(fx.store.as_ref(), &TenantId::single(), id)
        .await
        .unwrap();
    let reader = strata_block::BlockReader::new(fx.store.clone(), meta);
    let mut stream = reader.trace_stream(0).await.unwrap();
    let n = |rs: &[strata_proto::otlp::trace::ResourceSpans]| -> usize {
        rs.iter()
            .flat_map(|r| &r.scope_spans)
            .map(|s| s.spans.len())
            .sum()
    };
    let (mut c, mut r) = (0, 0);
    while let Some(t) = stream.next_trace().await.unwrap() {
        c += n(&t.resource_spans);
        r += n(&t.replica_resource_spans);
    }
    assert_eq!((c, r), (4, 3));
}

/// Trace-by-ID over recent blocks consults each block's bloom filter first: a trace that is
/// not in the block is answered without opening `data.parquet` (here, deleted to prove it).
#[tokio::test]
async fn recent_blocks_are_ruled_out_by_their_bloom_filter() {
    let fx = Fixture::new();
    let (ing, _) = fx.start();
    for id in (2..=40).step_by(2) {
        ing.push(push_for(id, 2)).await.unwrap();
    }
    fx.clock.advance(Duration::from_secs(10));
    ing.flush_tick().await;
    fx.clock.advance(Duration::from_secs(61));
    ing.flush_tick().await;
    assert_eq!(ing.live_traces(), 0);
    let data: Vec<_> = walkdir(&fx.dir.path().join("wal").join(LOCAL_BLOCKS_DIR))
        .into_iter()
        .filter(|p| p.ends_with("data.parquet"))
        .collect();
    assert_eq!(data.len(), 1, "{data:?}");
    std::fs::remove_file(&data[0]).unwrap();
    // Trace 7 sorts between traces of the block: only the bloom filter rules it out.
    let absent = ing
        .find_trace_by_id(&TenantId::single(), &TraceId([7; 16]))
        .await
        .expect("answered from the bloom filter alone");
    assert!(absent.payloads.is_empty());
    let present = ing
        .find_trace_by_id(&TenantId::single(), &TraceId([8; 16]))
        .await;
    assert!(
        present.is_err(),
        "a trace the bloom admits is read from the block"
    );
}

/// Every file under `dir`.
fn walkdir(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walkdir(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[tokio::test]
async fn pushes_are_shed_in_proportion_past_half_the_bound_and_counted() {
    let fx = Fixture::new();
    let one = push_for(1, 5).traces[0].payload.len() as u64;
    // 6 pushes held of a bound of 8: 75 % of the bound, so half of the pushes are refused (by
    // the proportional law: no drain rate assumed, none measured).
    let (ing, _) = fx.start_with(|c| {
        c.max_unflushed_bytes = 8 * one;
        c.assumed_drain_bytes_per_second = 0;
    });
    for id in 1..=6 {
        ing.push(push_for(id, 5)).await.unwrap();
    }
    let appends = ing.inner.metrics.wal_appends.get();
    let mut refused = Vec::new();
    for id in 7..=26 {
        // Every push has the same size; refused ones leave the held bytes unchanged.
        match ing.push(push_for(id, 5)).await {
            Ok(_) => {
                // Keep the held bytes at 6 pushes: release what was just accepted.
                ing.release(one);
            }
            Err(RoleError::ResourceExhausted(m)) => {
                assert!(m.contains("50.0 % of pushes refused"), "{m}");
                refused.push(id);
            }
            Err(e) => panic!("{e:?}"),
        }
    }
    assert_eq!(refused.len(), 10, "half of 20: {refused:?}");
    // Spread out: never more than one refusal in a row at 50 %.
    assert!(refused.windows(2).all(|w| w[1] - w[0] == 2), "{refused:?}");
    assert_eq!(ing.inner.metrics.pushes_refused.get(), 10);
    assert_eq!(ing.inner.metrics.wal_appends.get(), appends + 10);
    // Below half of the bound nothing is refused.
    ing.release(3 * one);
    for id in 30..40 {
        ing.push(push_for(id, 5)).await.unwrap();
        ing.release(one);
    }
    assert_eq!(ing.inner.metrics.pushes_refused.get(), 10);
}

#[tokio::test]
async fn a_big_backlog_is_cut_into_several_blocks_all_written_and_released() {
    let fx = Fixture::new();
    let one = push_for(1, 5).traces[0].payload.len() as u64;
    // Blocks are cut at an eighth of max_unflushed_bytes: 8 pushes' worth. Up to 32 pushes
    // held, nothing is refused.
    let (ing, _) = fx.start_with(|c| {
        c.max_unflushed_bytes = 64 * one;
        c.concurrent_block_writers = 3;
    });
    for id in 1..=11 {
        ing.push(push_for(id, 5)).await.unwrap();
    }
    fx.clock.advance(Duration::from_secs(6));
    ing.flush_tick().await;
    // 11 traces: one block of 8 cut on the way, 3 left in the head block (not old enough).
    assert_eq!(fx.blocks().await, 1);
    assert_eq!(ing.inner.unflushed_bytes.load(Ordering::SeqCst), 3 * one);
    assert_eq!(ing.inner.metrics.blocks_cut.get(), 1);
    for id in 12..=24 {
        ing.push(push_for(id, 5)).await.unwrap();
    }
    fx.clock.advance(Duration::from_secs(6));
    ing.flush_tick().await;
    // 3 + 13 in the head: cut at 8 and 16, nothing left over; both written in one pass.
    assert_eq!(fx.blocks().await, 3);
    assert_eq!(ing.inner.metrics.blocks_cut.get(), 3);
    assert_eq!(ing.inner.unflushed_bytes.load(Ordering::SeqCst), 0);
    assert_eq!(ing.inner.metrics.pushes_refused.get(), 0);
    for id in 1..=24 {
        assert_eq!(spans_of(&ing, id).await, 5, "trace {id}");
    }
    assert_eq!(
        fx.wal_files(),
        1,
        "every segment but the current one released"
    );
}

#[tokio::test]
async fn an_early_admission_is_not_decided_again_but_the_bound_still_holds() {
    let fx = Fixture::new();
    let one = push_for(1, 5).traces[0].payload.len() as u64;
    // The proportional law decides (no drain rate assumed, none measured yet).
    let (ing, _) = fx.start_with(|c| {
        c.max_unflushed_bytes = 4 * one;
        c.assumed_drain_bytes_per_second = 0;
    });
    let tenant = TenantId::single();
    ing.push(push_for(1, 5)).await.unwrap();
    ing.push(push_for(2, 5)).await.unwrap();
    // 2 of 4 held: nothing refused yet, and an admitted push goes through.
    assert!(ing.admit(&tenant, one).await.unwrap());
    ing.push_admitted(push_for(3, 5)).await.unwrap();
    // 3 of 4: half of the pushes are refused, early (counted once each).
    let mut decisions = Vec::new();
    for _ in 0..4 {
        decisions.push(ing.admit(&tenant, one).await.is_ok());
    }
    assert_eq!(
        decisions.iter().filter(|a| !**a).count(),
        2,
        "{decisions:?}"
    );
    assert_eq!(ing.inner.metrics.pushes_refused.get(), 2);
    // An admitted push is not shed again...
    ing.push_admitted(push_for(4, 5)).await.unwrap();
    // ...but at the bound nothing gets in, admitted or not.
    assert!(matches!(
        ing.admit(&tenant, one).await,
        Err(RoleError::ResourceExhausted(_))
    ));
    assert!(matches!(
        ing.push_admitted(push_for(5, 5)).await,
        Err(RoleError::ResourceExhausted(_))
    ));
    assert_eq!(spans_of(&ing, 5).await, 0, "a refused push is not stored");
    assert_eq!(ing.inner.metrics.pushes_refused.get(), 4);
}
