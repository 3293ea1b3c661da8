//! TraceQL search over the checked-in level-1 block of fixture set `v1`
//! (`crates/strata-testkit/fixtures/v1`, see its README): queries on intrinsics, span and
//! resource attributes of several types, events and links find the traces written.
//!
//! The block is only read; a failure means this build no longer searches blocks an older
//! build stored.

use std::sync::Arc;

use object_store::local::LocalFileSystem;
use strata_block::BlockReader;
use strata_engine::search::{SearchAccumulator, SearchJob};
use strata_proto::tempopb;
use strata_testkit::fixtures::v1;

async fn search(query: &str) -> Vec<(String, String, String)> {
    let store = Arc::new(LocalFileSystem::new_with_prefix(v1::bucket()).expect("fixture bucket"));
    let reader = BlockReader::open(store, &v1::tenant(), v1::block_l1())
        .await
        .expect("open fixture block");
    let job = SearchJob::new(&tempopb::SearchRequest {
        query: query.into(),
        limit: 100,
        ..Default::default()
    })
    .unwrap_or_else(|e| panic!("{query}: {e}"));
    let mut acc = SearchAccumulator::new();
    job.search_block(&reader, &mut acc)
        .await
        .unwrap_or_else(|e| panic!("{query}: {e}"));
    let mut found: Vec<_> = acc
        .finish(job.limit())
        .traces
        .into_iter()
        .map(|t| (t.trace_id, t.root_service_name, t.root_trace_name))
        .collect();
    found.sort();
    found
}

fn hit(n: u64, service: &str, name: &str) -> (String, String, String) {
    (
        v1::trace(n).to_hex_trimmed(),
        service.to_string(),
        name.to_string(),
    )
}

#[tokio::test]
async fn queries_find_the_traces_written() {
    let t1 = hit(1, "frontend", "GET /cart");
    let t2 = hit(2, "worker", "consume");
    let t3 = hit(3, "frontend", "GET /health");
    let cases = [
        (
            r#"{ resource.service.name = "frontend" }"#,
            vec![t1.clone(), t3.clone()],
        ),
        (
            r#"{ resource.service.name = "payments" }"#,
            vec![t1.clone()],
        ),
        ("{ status = error }", vec![t1.clone()]),
        ("{ kind = consumer }", vec![t2.clone()]),
        ("{ span.http.status_code >= 500 }", vec![t1.clone()]),
        ("{ span.amount > 10.0 }", vec![t1.clone()]),
        ("{ span.bool = true }", vec![t1.clone()]),
        (r#"{ event:name = "retry" }"#, vec![t2.clone()]),
        (r#"{ link.link.kind = "follows" }"#, vec![t1.clone()]),
        (r#"{ resource.deployment.environment = "prod" }"#, vec![t2]),
        (r#"{ name = "GET /health" }"#, vec![t3]),
        (r#"{ resource.service.name = "nope" }"#, vec![]),
    ];
    for (query, want) in cases {
        assert_eq!(search(query).await, want, "{query}");
    }
}
