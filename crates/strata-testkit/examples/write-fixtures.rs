//! Writes the newest fixture set, `v6` (see `strata_testkit::fixtures` and
//! `fixtures/README.md`): a block in format `strata-parquet-v5`, concatenated from two v4
//! blocks as this build's compactor does. `--set v5` writes set v5 (a block in format v4),
//! `--set v4` set v4 (a block in format v3).
//! `--set v3` writes set v3 (blocks in format v2, through `BlockWriter::new_with_format`, and
//! WAL records with replica marks) as checked in. Older sets (`--set v1`, `--set v2`) can only
//! be reproduced byte for byte by a build of their day (this one marks nothing in v1's pushes
//! and writes no format-v1 block), so their sets are frozen as checked in.
//!
//! ```text
//! cargo run -p strata-testkit --example write-fixtures [-- [--set v1|v2|v3|v4|v5|v6] <out-dir>]
//! ```
//!
//! Without `<out-dir>` it writes `crates/strata-testkit/fixtures/<set>`, and refuses if that
//! exists: a fixture set is written once and never regenerated in place. With `<out-dir>` (which
//! must not exist either) it writes a copy elsewhere, e.g. to check that the generation is
//! deterministic with `diff -r`.
//!
//! Everything is fixed: trace and block IDs, span times, and the writers' clocks.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use object_store::local::LocalFileSystem;
use object_store::ObjectStore;
use strata_block::{
    write_compacted, write_index, BlockMeta, BlockReader, BlockWriter, CompactedEntry,
    CompactedMarker, Concat, TenantIndex, WriterOptions,
};
use strata_common::{BlockId, ManualClock, SharedClock, TraceId};
use strata_proto::otlp::trace::ResourceSpans;
use strata_proto::roles::PushRequest;
use strata_testkit::fixtures::{v1, v2, v3, v4, v5, v6};
use strata_wal::{FsyncPolicy, Wal, WalConfig};

fn clock_at(unix_nanos: u64) -> SharedClock {
    Arc::new(ManualClock::new(
        UNIX_EPOCH + Duration::from_nanos(unix_nanos),
    ))
}

async fn write_block(
    store: &Arc<dyn ObjectStore>,
    id: BlockId,
    level: u32,
    created_ns: u64,
    traces: &[(TraceId, Vec<ResourceSpans>)],
) -> BlockMeta {
    let opts = WriterOptions {
        row_group_max_spans: 4,
        bloom_false_positive: 0.01,
        zstd_level: 3,
        expected_traces: traces.len(),
    };
    let mut w = BlockWriter::new_with_format(
        store.clone(),
        v1::tenant(),
        id,
        opts,
        clock_at(created_ns),
        strata_block::FORMAT_V2,
    )
    .expect("block writer")
    .with_compaction_level(level);
    for (id, rs) in traces {
        w.add_trace(*id, rs).await.expect("add trace");
    }
    w.finish().await.expect("finish block")
}

async fn write_bucket(root: &Path) {
    std::fs::create_dir_all(root).expect("create bucket dir");
    let store: Arc<dyn ObjectStore> =
        Arc::new(LocalFileSystem::new_with_prefix(root).expect("local store"));
    let l0 = write_block(
        &store,
        v1::block_l0(),
        0,
        v1::L0_CREATED_NS,
        &v1::l0_traces(),
    )
    .await;
    let l1 = write_block(
        &store,
        v1::block_l1(),
        1,
        v1::L1_CREATED_NS,
        &v1::l1_traces(),
    )
    .await;
    let marker = CompactedMarker::new(l0.block_id, v1::COMPACTED_NS, vec![l1.block_id]);
    write_compacted(store.as_ref(), &l0.paths().expect("paths"), &marker)
        .await
        .expect("write compacted.json");
    let index = TenantIndex::new(
        &v1::tenant(),
        v1::INDEX_CREATED_NS,
        vec![l1],
        vec![CompactedEntry::new(l0, &marker)],
    );
    write_index(store.as_ref(), &index)
        .await
        .expect("write index.json");
}

/// Set v3's bucket: a level-0 block with replica copies, and its compaction's output naming it
/// in `compactedFrom` (no marker).
async fn write_bucket_v3(root: &Path) {
    std::fs::create_dir_all(root).expect("create bucket dir");
    let store: Arc<dyn ObjectStore> =
        Arc::new(LocalFileSystem::new_with_prefix(root).expect("local store"));
    let opts = |n: usize| WriterOptions {
        row_group_max_spans: 4,
        bloom_false_positive: 0.01,
        zstd_level: 3,
        expected_traces: n,
    };
    let b0 = v3::b0_traces();
    let mut w = BlockWriter::new_with_format(
        store.clone(),
        v1::tenant(),
        v3::block_b0(),
        opts(b0.len()),
        clock_at(v3::B0_CREATED_NS),
        strata_block::FORMAT_V2,
    )
    .expect("block writer");
    for (id, rs, replica) in &b0 {
        w.add_trace_copy(*id, rs, *replica)
            .await
            .expect("add trace");
    }
    w.finish().await.expect("finish block");
    let all = v1::traces();
    let mut w = BlockWriter::new_with_format(
        store.clone(),
        v1::tenant(),
        v3::block_b1(),
        opts(all.len()),
        clock_at(v3::B1_CREATED_NS),
        strata_block::FORMAT_V2,
    )
    .expect("block writer")
    .with_compaction_level(1)
    .with_compacted_from(vec![v3::block_b0()]);
    for (id, rs) in &all {
        w.add_trace(*id, rs).await.expect("add trace");
    }
    w.finish().await.expect("finish block");
}

/// Set v4's bucket: one level-0 block in format v3 of v1's traces.
async fn write_bucket_v4(root: &Path) {
    write_one_block(
        root,
        v4::block_c0(),
        v4::C0_CREATED_NS,
        strata_block::FORMAT_VERSION,
    )
    .await;
}

/// Set v5's bucket: one level-0 block in format v4 of v1's traces.
async fn write_bucket_v5(root: &Path) {
    write_one_block(
        root,
        v5::block_d0(),
        v5::D0_CREATED_NS,
        strata_block::FORMAT_V4,
    )
    .await;
}

/// Set v6's bucket: block e0 in format v5, the concatenation of two v4 blocks (v1's traces 1
/// and 3, then 2 and 4; row groups of 2 spans) written to a store that is then dropped.
async fn write_bucket_v6(root: &Path) {
    std::fs::create_dir_all(root).expect("create bucket dir");
    let store: Arc<dyn ObjectStore> =
        Arc::new(LocalFileSystem::new_with_prefix(root).expect("local store"));
    let scratch: Arc<dyn ObjectStore> = Arc::new(object_store::memory::InMemory::new());
    let opts = WriterOptions {
        row_group_max_spans: 2,
        bloom_false_positive: 0.01,
        zstd_level: 3,
        expected_traces: 2,
    };
    let mut readers = Vec::new();
    for (id, parity) in [(v6::block_e1(), 0), (v6::block_e2(), 1)] {
        let mut w = BlockWriter::new_with_format(
            scratch.clone(),
            v1::tenant(),
            id,
            opts.clone(),
            clock_at(v6::INPUTS_CREATED_NS),
            strata_block::FORMAT_V4,
        )
        .expect("block writer");
        for (_, (trace, rs)) in v1::traces()
            .iter()
            .enumerate()
            .filter(|(i, _)| i % 2 == parity)
        {
            w.add_trace(*trace, rs).await.expect("add trace");
        }
        readers.push(BlockReader::new(
            scratch.clone(),
            w.finish().await.expect("finish block"),
        ));
    }
    let concat = Concat::scan(&readers).await.expect("scan inputs");
    concat
        .write(
            store,
            v1::tenant(),
            v6::block_e0(),
            &readers,
            &opts,
            &clock_at(v6::E0_CREATED_NS),
            1,
        )
        .await
        .expect("concatenate");
}

/// A bucket of one level-0 block `id` in `format` of v1's traces, row groups of 4 spans.
async fn write_one_block(root: &Path, id: BlockId, created_ns: u64, format: &str) {
    std::fs::create_dir_all(root).expect("create bucket dir");
    let store: Arc<dyn ObjectStore> =
        Arc::new(LocalFileSystem::new_with_prefix(root).expect("local store"));
    let traces = v1::traces();
    let opts = WriterOptions {
        row_group_max_spans: 4,
        bloom_false_positive: 0.01,
        zstd_level: 3,
        expected_traces: traces.len(),
    };
    let mut w = BlockWriter::new_with_format(
        store.clone(),
        v1::tenant(),
        id,
        opts,
        clock_at(created_ns),
        format,
    )
    .expect("block writer");
    for (id, rs) in &traces {
        w.add_trace(*id, rs).await.expect("add trace");
    }
    w.finish().await.expect("finish block");
}

fn write_wal(out: &Path, pushes: Vec<PushRequest>) {
    let tmp = tempfile::tempdir().expect("temp dir");
    let mut cfg = WalConfig::new(tmp.path());
    cfg.fsync = FsyncPolicy::Always;
    let wal = Wal::open(cfg).expect("open wal");
    for push in pushes {
        wal.append(&strata_ingester::record::encode(&push))
            .expect("append");
    }
    drop(wal);
    std::fs::create_dir_all(out).expect("create wal dir");
    for entry in std::fs::read_dir(tmp.path()).expect("list wal") {
        let entry = entry.expect("wal entry");
        std::fs::copy(entry.path(), out.join(entry.file_name())).expect("copy segment");
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let set = match args.iter().position(|a| a == "--set") {
        Some(i) if i + 1 < args.len() => {
            let set = args.remove(i + 1);
            args.remove(i);
            set
        }
        _ => "v6".to_string(),
    };
    let default_dir = match set.as_str() {
        "v1" => v1::dir(),
        "v2" => v2::dir(),
        "v3" => v3::dir(),
        "v4" => v4::dir(),
        "v5" => v5::dir(),
        "v6" => v6::dir(),
        other => {
            eprintln!("unknown fixture set {other:?} (v1, v2, v3, v4, v5 or v6)");
            std::process::exit(2);
        }
    };
    let out = args.first().map(PathBuf::from).unwrap_or(default_dir);
    if out.exists() {
        eprintln!(
            "{} exists: fixture sets are never regenerated in place (see fixtures/README.md)",
            out.display()
        );
        std::process::exit(1);
    }
    match set.as_str() {
        "v1" => write_bucket(&out.join("bucket")).await,
        "v3" => write_bucket_v3(&out.join("bucket")).await,
        "v4" => {
            write_bucket_v4(&out.join("bucket")).await;
            println!("wrote {}", out.display());
            return;
        }
        "v5" => {
            write_bucket_v5(&out.join("bucket")).await;
            println!("wrote {}", out.display());
            return;
        }
        "v6" => {
            write_bucket_v6(&out.join("bucket")).await;
            println!("wrote {}", out.display());
            return;
        }
        _ => {}
    }
    let pushes = if set == "v3" {
        v3::wal_pushes()
    } else {
        v1::wal_pushes()
    };
    write_wal(&out.join("wal"), pushes);
    println!("wrote {}", out.display());
}
