//! The ingester's WAL records in the checked-in segments of fixture sets `v1` (record version 1)
//! and `v2` (record version 2) under `crates/strata-testkit/fixtures` (see its README) still
//! decode into the pushes written, and an ingester started on either WAL serves the traces.
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
use strata_proto::tempopb;
use strata_testkit::fixtures::{v1, v2};
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
    records_decode_into_the_pushes_written(&v1::wal_dir(), 1);
}

#[test]
fn records_v2_decode_into_the_pushes_written() {
    records_decode_into_the_pushes_written(&v2::wal_dir(), 2);
}

fn records_decode_into_the_pushes_written(wal_dir: &Path, version: u8) {
    let dir = wal_copy(wal_dir);
    let mut pushes = Vec::new();
    let report = strata_wal::replay(dir.path(), |_, payload| {
        assert_eq!(payload[0], version, "record version");
        pushes.push(record::decode(payload).map_err(|e| e.to_string())?);
        Ok(())
    })
    .expect("replay");
    assert!(report.truncated.is_empty());
    assert_eq!(pushes, v1::wal_pushes());

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

async fn replays_and_serves(wal_dir: &Path) {
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
}
