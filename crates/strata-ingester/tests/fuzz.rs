//! Fuzz target of the ingester's WAL record decoder (`strata-fuzzkit`; `make fuzz` runs it
//! longer).
//!
//! Bases are v2 records the ingester writes (`record::encode` of a push of random OTLP
//! traces) and the v1 records of the checked-in fixture; each case corrupts one. `decode`
//! must return a push or an error, never panic; an unchanged record must decode to the push
//! it was made from; and the payloads of a decoded push go through the decode replay does
//! (`tempopb.Trace`), which may fail but must not panic.

use std::sync::OnceLock;

use prost::Message;
use strata_common::{TenantId, TraceId};
use strata_fuzzkit::proptest::prelude::*;
use strata_fuzzkit::{fuzz, Mutations};
use strata_ingester::record;
use strata_proto::roles::PushRequest;
use strata_proto::tempopb;

/// A push of 1–3 traces of random OTLP, for one of a few tenants.
fn push() -> impl Strategy<Value = PushRequest> {
    let trace = (
        any::<[u8; 16]>(),
        strata_testkit::arb::request(),
        any::<bool>(),
    )
        .prop_map(|(id, req, replica)| {
            let mut t = strata_testkit::trace_push(TraceId(id), 1, 2, req.resource_spans);
            t.replica = replica;
            t
        });
    let tenant = prop::sample::select(&["single-tenant", "a", "tenant-with.dots_1"][..]);
    (tenant, prop::collection::vec(trace, 1..3)).prop_map(|(tenant, traces)| PushRequest {
        tenant: TenantId::new(tenant).expect("valid tenant"),
        traces,
    })
}

/// The v1 records of the fixture's WAL segment (read through a copy: replay may repair).
fn v1_records() -> &'static [Vec<u8>] {
    static RECORDS: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    RECORDS.get_or_init(|| {
        let name = strata_wal::segment_file_name(1);
        let src = strata_testkit::fixtures::dir().join("v1/wal").join(&name);
        let copy = tempfile::tempdir().expect("tempdir");
        std::fs::copy(&src, copy.path().join(&name)).expect("copy fixture segment");
        let mut out = Vec::new();
        strata_wal::replay(copy.path(), |_, r| {
            out.push(r.to_vec());
            Ok(())
        })
        .expect("replay fixture");
        assert!(!out.is_empty(), "the v1 fixture holds records");
        out
    })
}

#[derive(Debug, Clone)]
enum Base {
    V2(PushRequest),
    V1(usize),
}

#[test]
fn fuzz_wal_record_decode() {
    let base = prop_oneof![
        3 => push().prop_map(Base::V2),
        1 => (0..v1_records().len()).prop_map(Base::V1),
    ];
    let inputs = (base, Mutations::strategy(6, &[]));
    fuzz("fuzz_wal_record_decode", inputs, |(base, edits)| {
        let original = match &base {
            Base::V2(push) => record::encode(push),
            Base::V1(i) => v1_records()[*i].clone(),
        };
        let bytes = edits.apply(original.clone());
        match record::decode(&bytes) {
            Ok(push) => {
                if let (Base::V2(want), true) = (&base, bytes == original) {
                    prop_assert_eq!(&push, want);
                }
                for t in &push.traces {
                    let _ = tempopb::Trace::decode(t.payload.as_ref());
                }
            }
            Err(e) => {
                prop_assert_ne!(&bytes, &original, "a written record must decode: {}", e);
                prop_assert!(!e.to_string().is_empty());
            }
        }
        Ok(())
    });
}
