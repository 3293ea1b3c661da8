//! The ingester's WAL records in the checked-in segments of fixture sets `v1` (record version 1),
//! `v2` (record version 2) and `v3` (version 2, pushes with `replica` marks) under
//! `crates/strata-testkit/fixtures` (see its README) still decode into the pushes written, and
//! an ingester started on any of these WALs serves the traces (and, for `v3`, counts only the
//! copies not marked `replica` in TraceQL metrics).
//!
//! Replay may truncate or quarantine a segment, so everything runs on a copy.

use std::path::Path;
use std::sync::Arc;

use prost::Message;
use strata_common::{ManualClock, SharedClock, TenantId};
use strata_config::{BlockConfig, IngesterConfig};
use strata_ingester::metrics::IngesterMetrics;
use strata_ingester::{record, Ingester};
use strata_proto::roles::IngesterQuerier;
use strata_proto::roles::PushRequest;
use strata_proto::tempopb;
use strata_testkit::fixtures::{v1, v2, v3};
use strata_testkit::normalise;

/// A copy of a fixture WAL directory.
fn wal_copy(wal_dir: &Path) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(wal_dir).expect("fixture wal") {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), dir.path().join(entry.file_name())).unwrap();
    }
    dir
}

#[test]
fn records_v1_decode_into_the_pushes_written() {
    records_decode_into_the_pushes_written(&v1::wal_dir(), 1, v1::wal_pushes());
}

#[test]
fn records_v2_decode_into_the_pushes_written() {
    records_decode_into_the_pushes_written(&v2::wal_dir(), 2, v1::wal_pushes());
}

#[test]
fn records_v3_decode_into_the_pushes_written_with_their_replica_marks() {
    let want = v3::wal_pushes();
    let marks: Vec<bool> = want
        .iter()
        .flat_map(|p| &p.traces)
        .map(|t| t.replica)
        .collect();
    assert_eq!(marks, [true, false, true, true]);
    records_decode_into_the_pushes_written(&v3::wal_dir(), 2, want);
}

fn records_decode_into_the_pushes_written(wal_dir: &Path, version: u8, want: Vec<PushRequest>) {
    let dir = wal_copy(wal_dir);
    let mut pushes = Vec::new();
    let report = strata_wal::replay(dir.path(), |_, payload| {
        assert_eq!(payload[0], version, "record version");
        pushes.push(record::decode(payload).map_err(|e| e.to_string())?);
        Ok(())
    })
    .expect("replay");
    assert!(report.truncated.is_empty());
    assert_eq!(pushes, want);

    let tenants: Vec<_> = pushes.iter().map(|p| p.tenant.as_str()).collect();
    assert_eq!(tenants, ["single-tenant", "team-a", "single-tenant"]);
    let first = &pushes[0].traces[0];
    assert_eq!(first.trace_id, v1::trace(1));
    assert_eq!(first.span_count, 2);
    assert_eq!(
        (first.start_unix_nano, first.end_unix_nano),
        (v1::BASE_NS, v1::BASE_NS + 50_000_000)
    );
    let payload = tempopb::Trace::decode(first.payload.as_ref()).expect("tempopb.Trace");
    assert_eq!(
        normalise(payload.resource_spans),
        normalise(v1::trace1()),
        "payload of trace 1"
    );
}

#[tokio::test]
async fn an_ingester_replays_the_v1_wal_and_serves_its_traces() {
    replays_and_serves(&v1::wal_dir()).await;
}

#[tokio::test]
async fn an_ingester_replays_the_v2_wal_and_serves_its_traces() {
    replays_and_serves(&v2::wal_dir()).await;
}

#[tokio::test]
async fn an_ingester_replays_the_v3_wal_serves_every_copy_and_counts_only_counted_ones() {
    let ing = replays_and_serves(&v3::wal_dir()).await;
    // Of the single tenant's traces 1, 2 and 4, only trace 2 (2 spans) is a counted copy.
    let req = tempopb::QueryRangeRequest {
        query: "{ } | count_over_time()".into(),
        start: v1::BASE_NS,
        end: v1::BASE_NS + 10 * v1::SEC,
        step: 10 * v1::SEC,
        ..Default::default()
    };
    let resp = ing
        .metrics_query_range(&TenantId::single(), &req)
        .await
        .expect("metrics");
    let counted: f64 = resp
        .series
        .iter()
        .flat_map(|s| &s.samples)
        .map(|s| s.value)
        .sum();
    assert_eq!(counted, 2.0);
}

async fn replays_and_serves(wal_dir: &Path) -> Ingester {
    let wal = wal_copy(wal_dir);
    let mut cfg = IngesterConfig::default();
    cfg.wal.path = wal.path().to_path_buf();
    let store: strata_storage::SharedStore = Arc::new(object_store::memory::InMemory::new());
    let clock: SharedClock = Arc::new(ManualClock::default());
    let metrics = IngesterMetrics::new(&mut prometheus_client::registry::Registry::default());
    let (ing, report) =
        Ingester::start(cfg, BlockConfig::default(), store, clock, metrics).expect("start");
    assert_eq!((report.records, report.traces), (3, 4));

    let team_a = TenantId::new(v1::OTHER_TENANT).unwrap();
    for (tenant, n, written) in [
        (TenantId::single(), 1, v1::trace1()),
        (TenantId::single(), 2, v1::trace2()),
        (team_a.clone(), 3, v1::trace3()),
        (TenantId::single(), 4, v1::trace4()),
    ] {
        let found = ing
            .find_trace_by_id(&tenant, &v1::trace(n))
            .await
            .expect("find");
        let rs: Vec<_> = found
            .payloads
            .iter()
            .flat_map(|p| tempopb::Trace::decode(p.as_ref()).unwrap().resource_spans)
            .collect();
        assert_eq!(normalise(rs), normalise(written), "trace {n}");
    }
    let elsewhere = ing
        .find_trace_by_id(&team_a, &v1::trace(1))
        .await
        .expect("find");
    assert!(elsewhere.payloads.is_empty(), "tenants stay apart");
    ing
}
