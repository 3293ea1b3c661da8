//! The whole life of a block on each object-store backend, through the real `strata` binary:
//! ingest, flush, trace by ID and search, compaction, expiry by retention.
//!
//! Servers: moto (S3), Azurite (Azure Blob), and for GCS the real `object_store` GCS client
//! against moto's S3-compatible XML API (no GCS server that works with `object_store` installs
//! here; see docs/STORAGE.md).

use strata_integration_tests::otlp::{get_trace, grpc_push, simple_request, span_count, trace_id};
use strata_integration_tests::store_servers::Backend;
use strata_integration_tests::{eventually_async, metric_sum, Server, FAST_BLOCKS};

/// The `storage:` keys that select the backend, as YAML lines.
fn storage_yaml(b: &Backend) -> String {
    let c = &b.config;
    match b.name {
        "s3" => format!(
            "  backend: s3\n  s3:\n    bucket: {}\n    endpoint: {}\n    region: {}\n    access_key: {}\n    secret_key: {}\n    forcepathstyle: true\n    insecure: true\n",
            c.s3.bucket, c.s3.endpoint, c.s3.region, c.s3.access_key, c.s3.secret_key.expose()
        ),
        "azure" => format!(
            "  backend: azure\n  azure:\n    container_name: {}\n    use_emulator: true\n    endpoint: {}\n",
            c.azure.container_name, c.azure.endpoint
        ),
        "gcs" => format!(
            "  backend: gcs\n  gcs:\n    bucket_name: {}\n    endpoint: {}\n    insecure: true\n",
            c.gcs.bucket_name, c.gcs.endpoint
        ),
        other => panic!("no YAML for backend {other}"),
    }
}

/// [`simple_request`] moved to the present, so retention (25 s here) has something to wait for.
fn recent_request(
    id: [u8; 16],
) -> opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest {
    let mut req = simple_request(&[id], 3);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    let shift = now - 1_700_000_000_000_000_000;
    for rs in &mut req.resource_spans {
        for ss in &mut rs.scope_spans {
            for sp in &mut ss.spans {
                sp.start_time_unix_nano += shift;
                sp.end_time_unix_nano += shift;
            }
        }
    }
    req
}

async fn lifecycle(backend: Backend) {
    let server = Server::start(&format!(
        "{FAST_BLOCKS}storage:\n{}compactor:\n  compaction_cycle: 500ms\n  compaction_window: 1h\n  max_compaction_objects: 4\n  block_retention: 25s\n  compacted_block_retention: 1s\n",
        storage_yaml(&backend)
    ));
    let api = server.url("");
    let server = &server;
    let flushed = |n: f64| async move {
        let page = server.metrics().await;
        (metric_sum(&page, "strata_ingester_blocks_flushed_total") >= n).then_some(())
    };

    // Several small blocks.
    let ids: Vec<[u8; 16]> = (1..=4).map(trace_id).collect();
    for (i, id) in ids.iter().enumerate() {
        grpc_push(&server.otlp_grpc_endpoint(), recent_request(*id))
            .await
            .unwrap();
        eventually_async(60, || flushed((i + 1) as f64)).await;
    }

    // Trace by ID and search, from the store.
    for id in &ids {
        let got = get_trace(&api, id).await.expect("trace found");
        assert_eq!(span_count(&got), 3, "{}", backend.name);
    }
    let search: serde_json::Value = reqwest::get(server.url("/api/search?q=%7B%7D&limit=50"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        search["traces"].as_array().map(|t| t.len()),
        Some(ids.len()),
        "{}: {search}",
        backend.name
    );

    // Compaction: inputs replaced by a higher-level block; every trace still whole.
    eventually_async(90, || async {
        let page = server.metrics().await;
        (metric_sum(&page, "strata_compactor_blocks_compacted_total") >= 2.0).then_some(())
    })
    .await;
    for id in &ids {
        let got = eventually_async(30, || get_trace(&api, id)).await;
        assert_eq!(span_count(&got), 3, "{} after compaction", backend.name);
    }

    // Retention: everything expires, and the traces are gone.
    eventually_async(120, || async {
        let page = server.metrics().await;
        (metric_sum(&page, "strata_compactor_blocks_deleted_total") >= 1.0
            && page.contains("reason=\"retention\""))
        .then_some(())
    })
    .await;
    for id in &ids {
        eventually_async(60, || async {
            get_trace(&api, id).await.is_none().then_some(())
        })
        .await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_on_moto() {
    lifecycle(Backend::s3().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn azure_on_azurite() {
    lifecycle(Backend::azure().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gcs_client_on_s3_compatible_server() {
    lifecycle(Backend::gcs().await).await;
}
