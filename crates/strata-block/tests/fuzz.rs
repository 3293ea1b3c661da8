//! Fuzz targets of the block reader and the small stored formats (`strata-fuzzkit`; `make fuzz`
//! runs them longer).
//!
//! Valid blocks are written once with the real writer; each case corrupts one of their objects
//! and reads it back through every read path (`find_trace`, `read_all`, `scan`,
//! `trace_stream`, `BlockReader::open`). Every call must return, `Ok` or an error, never
//! panic. `meta.json`, the tenant index and the compacted marker are corrupted both as JSON
//! (a field replaced by a hostile value) and as bytes; the bloom filter as bytes.

mod common;

use std::sync::{Arc, OnceLock};

use common::*;
use object_store::memory::InMemory;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use serde_json::Value;
use strata_block::compacted::parse_compacted;
use strata_block::{parse_meta, read_index, schema, BlockMeta, BlockReader, Bloom, ScanRequest};
use strata_common::{TenantId, TraceId};
use strata_fuzzkit::proptest::prelude::*;
use strata_fuzzkit::{fuzz, mutated, Mutations};

/// JSON tokens inserted by the mutator.
const JSON_TOKENS: &[&[u8]] = &[
    b"null",
    b"true",
    b"[]",
    b"{}",
    b"\"\"",
    b"-1",
    b"0",
    b"18446744073709551615",
    b"18446744073709551616",
    b"1e400",
    b"\"strata-parquet-v1\"",
    b"\"strata-parquet-v2\"",
    b"\"format\":",
    b"\"blockId\":",
    b"\"sizeBytes\":",
    b"\"compactedFrom\":[",
    b"\\u0000",
    b"\"\\ud800\"",
];

/// Values that replace one field of a JSON document.
const HOSTILE: &[&str] = &[
    "null",
    "true",
    "0",
    "-1",
    "1",
    "4294967296",
    "18446744073709551615",
    "1.5",
    "\"\"",
    "\"x\"",
    "\"../..\"",
    "\"00000000-0000-0000-0000-000000000000\"",
    "\"strata-parquet-v1\"",
    "\"strata-parquet-v9\"",
    "[]",
    "[\"not-a-uuid\"]",
    "{}",
];

/// A written block: its metadata and the bytes of each object.
struct Written {
    meta: BlockMeta,
    data: Vec<u8>,
    meta_json: Vec<u8>,
    bloom: Vec<u8>,
    ids: Vec<TraceId>,
}

fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime")
    })
}

/// Two valid blocks (several row groups, then one), written once per test binary, then the
/// same two in format v4 (whose resource table sits in the footer).
fn blocks() -> &'static [Written] {
    static BLOCKS: OnceLock<Vec<Written>> = OnceLock::new();
    BLOCKS.get_or_init(|| {
        let mut all = written(strata_block::FORMAT_VERSION);
        all.extend(written(strata_block::FORMAT_V4));
        all
    })
}

/// [`blocks`] in format `strata-parquet-v2`, the format the regressions below were found in
/// (their flipped bits are at offsets of those files).
fn blocks_v2() -> &'static [Written] {
    static BLOCKS: OnceLock<Vec<Written>> = OnceLock::new();
    BLOCKS.get_or_init(|| written(strata_block::FORMAT_V2))
}

/// [`blocks`] in format `strata-parquet-v3`, the format of the regression found in it.
fn blocks_v3() -> &'static [Written] {
    static BLOCKS: OnceLock<Vec<Written>> = OnceLock::new();
    BLOCKS.get_or_init(|| written("strata-parquet-v3"))
}

fn written(format: &str) -> Vec<Written> {
    {
        runtime().block_on(async {
            let mut out = Vec::new();
            for (traces, row_group) in [(6u8, 4usize), (2, 1000)] {
                let store = store();
                let data: Vec<_> = (1..=traces)
                    .map(|t| {
                        let id = tid(t);
                        let spans = (0..3).map(|n| simple_span(id, n, 1_000 + n)).collect();
                        (id, vec![batch(&format!("svc-{t}"), spans)])
                    })
                    .collect();
                let mut sorted = data.clone();
                sorted.sort_by_key(|(id, _)| *id);
                let meta = write_block_format(&store, &sorted, row_group, format).await;
                let paths = meta.paths().unwrap();
                let get = |p: Path| {
                    let store = store.clone();
                    async move { store.get(&p).await.unwrap().bytes().await.unwrap().to_vec() }
                };
                out.push(Written {
                    data: get(paths.data()).await,
                    meta_json: get(paths.meta()).await,
                    bloom: get(paths.bloom()).await,
                    ids: sorted.iter().map(|(id, _)| *id).collect(),
                    meta,
                });
            }
            out
        })
    }
}

/// Every top-level column of the block schema.
fn columns() -> Vec<&'static str> {
    static COLUMNS: OnceLock<Vec<&'static str>> = OnceLock::new();
    COLUMNS
        .get_or_init(|| {
            schema::block_schema()
                .fields()
                .iter()
                .map(|f| &*f.name().clone().leak())
                .collect()
        })
        .clone()
}

/// Runs every read path of `reader`; errors are fine, panics are not.
async fn read_everything(reader: &BlockReader, ids: &[TraceId]) {
    for id in ids.iter().take(2).chain(std::iter::once(&tid(200))) {
        let _ = reader.find_trace(id).await;
    }
    let _ = reader.read_all().await;
    let req = ScanRequest {
        columns: columns(),
        batch_rows: 3,
        whole_traces: true,
        ..ScanRequest::default()
    };
    if let Ok(mut scan) = reader.scan(req).await {
        while let Ok(Some(_)) = scan.next().await {}
    }
    if let Ok(mut stream) = reader.trace_stream(2).await {
        while let Ok(Some(_)) = stream.next_trace().await {}
    }
}

async fn put(store: &dyn ObjectStore, path: &Path, bytes: Vec<u8>) {
    store.put(path, PutPayload::from(bytes)).await.expect("put");
}

#[test]
fn fuzz_block_corrupted_parquet() {
    let inputs = (
        0..blocks().len(),
        Mutations::strategy(6, &[]),
        any::<bool>(),
    );
    fuzz(
        "fuzz_block_corrupted_parquet",
        inputs,
        |(which, edits, true_size)| {
            let block = &blocks()[which];
            let data = edits.apply(block.data.clone());
            let mut meta = block.meta.clone();
            if true_size {
                meta.size_bytes = data.len() as u64;
            }
            runtime().block_on(async {
                let store: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
                put(store.as_ref(), &meta.paths().unwrap().data(), data).await;
                read_everything(&BlockReader::new(store, meta), &block.ids).await;
            });
            Ok(())
        },
    );
}

/// A JSON document with one field (at any depth of objects) replaced by a hostile value.
fn replace_field(doc: &[u8], pick: prop::sample::Index, value: &str) -> Vec<u8> {
    let mut v: Value = serde_json::from_slice(doc).expect("valid json");
    let mut fields = Vec::new();
    collect_fields(&v, &mut Vec::new(), &mut fields);
    if !fields.is_empty() {
        let path = pick.get(&fields);
        let mut cur = &mut v;
        for key in path {
            cur = &mut cur[key.as_str()];
        }
        *cur = serde_json::from_str(value).expect("hostile value is json");
    }
    serde_json::to_vec(&v).expect("serialise")
}

fn collect_fields(v: &Value, prefix: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
    if let Value::Object(map) = v {
        for (k, child) in map {
            prefix.push(k.clone());
            out.push(prefix.clone());
            collect_fields(child, prefix, out);
            prefix.pop();
        }
    }
}

/// A valid JSON document, with a field replaced half of the time, then byte edits.
fn json_inputs(doc: Vec<u8>) -> impl Strategy<Value = Vec<u8>> {
    let base = (
        any::<bool>(),
        any::<prop::sample::Index>(),
        prop::sample::select(HOSTILE),
    )
        .prop_map(move |(replace, pick, value)| {
            if replace {
                replace_field(&doc, pick, value)
            } else {
                doc.clone()
            }
        });
    mutated(base, JSON_TOKENS).prop_map(|(_, bytes)| bytes)
}

#[test]
fn fuzz_block_corrupted_meta_json() {
    let block = &blocks()[0];
    fuzz(
        "fuzz_block_corrupted_meta_json",
        json_inputs(block.meta_json.clone()),
        |bytes| {
            let paths = block.meta.paths().unwrap();
            if let Ok(meta) = parse_meta(&bytes, "meta.json") {
                let _ = meta.check_format();
                let _ = meta.paths();
            }
            runtime().block_on(async {
                let store: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
                put(store.as_ref(), &paths.data(), block.data.clone()).await;
                put(store.as_ref(), &paths.meta(), bytes).await;
                let tenant = TenantId::single();
                if let Ok(reader) = BlockReader::open(store, &tenant, block.meta.block_id).await {
                    read_everything(&reader, &block.ids).await;
                }
            });
            Ok(())
        },
    );
}

#[test]
fn fuzz_block_bloom() {
    let block = &blocks()[0];
    let inputs = mutated(Just(block.bloom.clone()), &[]);
    fuzz("fuzz_block_bloom", inputs, |(original, bytes)| {
        if let Ok(bloom) = Bloom::from_bytes(&bytes) {
            for id in block.ids.iter().chain([&tid(200)]) {
                let hit = bloom.may_contain(id);
                // The unchanged filter never forgets an inserted ID.
                if bytes == original && block.ids.contains(id) {
                    prop_assert!(hit);
                }
            }
        } else {
            prop_assert_ne!(bytes, original, "the written filter must decode");
        }
        Ok(())
    });
}

#[test]
fn fuzz_block_tenant_index_and_compacted_marker() {
    let block = &blocks()[0];
    let tenant = TenantId::single();
    let marker =
        strata_block::CompactedMarker::new(block.meta.block_id, 7, vec![block.meta.block_id]);
    let compacted = vec![strata_block::CompactedEntry::new(
        blocks()[1].meta.clone(),
        &marker,
    )];
    let index = strata_block::TenantIndex::new(&tenant, 5, vec![block.meta.clone()], compacted);
    let index_json = serde_json::to_vec(&index).unwrap();
    let marker_json = serde_json::to_vec(&marker).unwrap();
    let inputs = (json_inputs(index_json), json_inputs(marker_json));
    fuzz(
        "fuzz_block_tenant_index_and_compacted_marker",
        inputs,
        |(index, marker)| {
            let _ = parse_compacted(&marker, "compacted.json");
            runtime().block_on(async {
                let store = InMemory::new();
                put(&store, &strata_block::index_path(&tenant), index).await;
                let _ = read_index(&store, &tenant).await;
            });
            Ok(())
        },
    );
}

/// Found by `fuzz_block_corrupted_parquet`: one bit flipped in the offset index of the
/// one-row-group block put a column's first page before its chunk's start; the `parquet`
/// crate then read a negative dictionary-page range and panicked (overflow). The reader
/// now checks every chunk and page range of the footer and answers `Corrupt`.
#[test]
fn regression_page_before_its_chunk_is_corrupt_not_a_panic() {
    let block = &blocks_v2()[1];
    let mut data = block.data.clone();
    // The fuzzer flipped bit 4 of a byte of the footer (`FlipBit(Index(…), 4)`). The writer's
    // layout has changed since (fewer statistics); the same kind of flip is now at byte 11912
    // of this block, which moves column 66's chunk to start after its first page. If the
    // layout changes again, find the new offset by flipping bit 4 of each footer byte in turn.
    let at = 11_912;
    data[at] ^= 1 << 4;
    runtime().block_on(async {
        let store: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
        put(store.as_ref(), &block.meta.paths().unwrap().data(), data).await;
        let reader = BlockReader::new(store, block.meta.clone());
        let err = reader
            .read_all()
            .await
            .expect_err("a corrupt footer is an error");
        assert!(
            matches!(&err, strata_block::BlockError::Corrupt { reason, .. }
                if reason.contains("outside its chunk")),
            "{err}"
        );
        assert!(reader.find_trace(&block.ids[0]).await.is_err());
    });
}

/// Found by `fuzz_block_corrupted_parquet` on a v3 block: one bit flipped in a page header
/// made a data page dictionary-encoded in a chunk without a dictionary page, and the
/// `parquet` crate's decoder panicked ("Decoder for dict should have been set") inside trace
/// by ID. Every batch is now decoded through the reader's panic guard: the lookup answers
/// `Corrupt` naming the block instead of unwinding through the caller.
#[test]
fn regression_dictionary_page_missing_is_corrupt_not_a_panic() {
    let block = &blocks_v3()[1];
    let mut data = block.data.clone();
    // The fuzzer flipped bit 4 of a byte of a page header (`FlipBit(Index(…), 196)`). The
    // writer's layout has changed since (fewer statistics), so the same kind of flip is now at
    // byte 1314 of this block; if the layout changes again, find the new offset by flipping
    // bit 4 of each byte in turn until a lookup answers "Decoder for dict should have been set".
    let at = 1314;
    data[at] ^= 1 << 4;
    runtime().block_on(async {
        let store: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
        put(store.as_ref(), &block.meta.paths().unwrap().data(), data).await;
        let reader = BlockReader::new(store, block.meta.clone());
        let mut corrupt = 0;
        for id in &block.ids {
            match reader.find_trace(id).await {
                Err(strata_block::BlockError::Corrupt { reason, .. }) => {
                    assert!(reason.contains("Parquet decoder"), "{reason}");
                    corrupt += 1;
                }
                Err(strata_block::BlockError::Parquet(_)) | Ok(_) => {}
                Err(e) => panic!("{e}"),
            }
        }
        assert!(corrupt > 0, "the flipped bit reaches the decoder");
        let _ = reader.read_all().await;
    });
}
