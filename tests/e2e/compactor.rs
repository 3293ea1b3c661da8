//! The real `strata-compactor` binary over a local-disk store of many small replicated blocks,
//! SIGKILLed at several points and restarted: no partial block ever becomes visible, no span is
//! lost or duplicated among the blocks a querier would read, and the inputs end up compacted
//! and deleted after the grace period.
//!
//! The binary is `$STRATA_COMPACTOR_BIN`, or `target/debug/strata-compactor`, built here with
//! `cargo build -p strata-compactor` when missing.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use object_store::local::LocalFileSystem;
use object_store::ObjectStore;
use strata_block::{
    list_block_dirs, read_compacted, BlockReader, BlockWriter, WriterOptions, FORMAT_V4,
    FORMAT_VERSION,
};
use strata_common::{BlockId, Clock, SystemClock, TenantId, TraceId};
use strata_proto::otlp::trace::Span;
use strata_storage::{list_blocks, BlockPaths};

#[path = "compactor/ring.rs"]
mod ring;

type Store = Arc<dyn ObjectStore>;
/// Trace → its (span ID, kind) pairs.
type Expected = BTreeMap<TraceId, BTreeSet<(Vec<u8>, i32)>>;

fn compactor_bin() -> PathBuf {
    if let Ok(p) = std::env::var("STRATA_COMPACTOR_BIN") {
        return PathBuf::from(p);
    }
    let target = std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"));
    let bin = target.join("debug/strata-compactor");
    if !bin.exists() {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let ok = Command::new(cargo)
            .args([
                "build",
                "-j2",
                "-p",
                "strata-compactor",
                "--bin",
                "strata-compactor",
            ])
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        assert!(ok && bin.exists(), "could not build {}", bin.display());
    }
    bin
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap()
}

fn span(t: &TraceId, n: u32, start: u64) -> Span {
    let high = u32::from_be_bytes(t.as_bytes()[12..].try_into().unwrap());
    let sid = u64::from(high) << 32 | u64::from(n + 1);
    let at = start + u64::from(n) * 1000;
    Span {
        kind: 1 + (n % 3) as i32,
        ..strata_testkit::span(t, sid, &format!("op-{n}"), at, at + 500)
    }
}

/// 8 groups of 40 traces, each group written as 3 replica blocks (24 level-0 blocks), two days
/// in the past so their window is closed.
async fn prepare(store: &Store, tenant: &TenantId) -> (Expected, Vec<BlockId>) {
    let start = (SystemClock.now_unix_nanos() / 1_000_000_000 - 2 * 86_400) * 1_000_000_000;
    let mut expected = Expected::new();
    let mut inputs = Vec::new();
    for g in 0..8u32 {
        let ids: BTreeSet<TraceId> = (0..40u32)
            .map(|i| {
                let mut b = [0u8; 16];
                b[0] = (i * 7 % 256) as u8;
                b[12..].copy_from_slice(&(g * 1000 + i).to_be_bytes());
                TraceId(b)
            })
            .collect();
        // Blocks of both formats an ingester may have cut: each resource once (v4), on
        // every row (v3); a job merges resource tables when all its inputs have one.
        let format = if g % 2 == 0 {
            FORMAT_V4
        } else {
            FORMAT_VERSION
        };
        for _replica in 0..3 {
            let opts = WriterOptions {
                row_group_max_spans: 50,
                ..WriterOptions::default()
            };
            inputs.push(
                write_block(store, tenant, &ids, 6, start, opts, format, &mut expected).await,
            );
        }
    }
    (expected, inputs)
}

/// Writes one level-0 block holding `spans` spans of each of `ids`, starting at `start`, and
/// records them in `expected`.
#[allow(clippy::too_many_arguments)] // A test helper: every argument is one fact of the block.
async fn write_block(
    store: &Store,
    tenant: &TenantId,
    ids: &BTreeSet<TraceId>,
    spans: u32,
    start: u64,
    opts: WriterOptions,
    format: &str,
    expected: &mut Expected,
) -> BlockId {
    let mut w = BlockWriter::new_with_format(
        store.clone(),
        tenant.clone(),
        BlockId::new_random(),
        opts,
        Arc::new(SystemClock),
        format,
    )
    .unwrap();
    for id in ids {
        let spans: Vec<Span> = (0..spans).map(|n| span(id, n, start)).collect();
        for s in &spans {
            expected
                .entry(*id)
                .or_default()
                .insert((s.span_id.clone(), s.kind));
        }
        let rs = vec![strata_testkit::resource_spans(None, None, spans)];
        w.add_trace(*id, &rs).await.unwrap();
    }
    w.finish().await.unwrap().block_id
}

/// The blocks a querier reads: complete, minus compacted blocks whose outputs are complete.
/// Checks every one reads whole, and that their spans, deduplicated, are exactly `expected`
/// with no span missing. Returns (visible live blocks, every complete block).
/// With `running`, a compactor may delete compacted blocks while this reads: a block that
/// vanishes between listing and reading is skipped (only compacted blocks are ever deleted
/// here, retention being 14 days; a wrongly deleted live block would show as lost spans).
async fn check_store(
    store: &Store,
    tenant: &TenantId,
    expected: &Expected,
    running: bool,
) -> (usize, Vec<BlockId>) {
    let complete = list_blocks(store.as_ref(), tenant).await.unwrap();
    let set: HashSet<BlockId> = complete.iter().copied().collect();
    let mut got = Expected::new();
    let mut live = 0;
    for id in &complete {
        let read = async {
            let reader = BlockReader::open(store.clone(), tenant, *id).await?;
            let traces = reader.read_all().await?;
            Ok::<_, strata_block::BlockError>((reader, traces))
        };
        let (reader, traces) = match read.await {
            Ok(r) => r,
            Err(e) if running && vanished(&e) => continue,
            Err(e) => panic!("listed block {id} does not read: {e}"),
        };
        let n: usize = traces
            .iter()
            .flat_map(|(_, rs)| rs)
            .flat_map(|r| &r.scope_spans)
            .map(|s| s.spans.len())
            .sum();
        assert_eq!(
            n as u64,
            reader.meta().total_spans,
            "block {id} is incomplete"
        );
        let marker =
            match read_compacted(store.as_ref(), &BlockPaths::new(tenant.clone(), *id)).await {
                Ok(m) => m,
                Err(e) if running && vanished(&e) => continue,
                Err(e) => panic!("marker of {id}: {e}"),
            };
        if let Some(m) = marker {
            if m.replaced_by.iter().all(|r| set.contains(r)) {
                continue;
            }
        }
        live += 1;
        for (tid, rs) in traces {
            let e = got.entry(tid).or_default();
            for s in rs
                .iter()
                .flat_map(|r| &r.scope_spans)
                .flat_map(|s| &s.spans)
            {
                e.insert((s.span_id.clone(), s.kind));
            }
        }
    }
    assert_eq!(got.len(), expected.len(), "traces lost or invented");
    for (tid, spans) in expected {
        assert_eq!(got.get(tid), Some(spans), "spans of trace {tid} differ");
    }
    (live, complete)
}

fn vanished(e: &strata_block::BlockError) -> bool {
    let text = e.to_string();
    matches!(
        e,
        strata_block::BlockError::ObjectStore(object_store::Error::NotFound { .. })
    ) || text.contains("not found")
        || text.contains("No such file")
}

struct Proc {
    child: Child,
}

impl Proc {
    fn start(config: &Path, log: &Path) -> Self {
        Self::start_with(config, log, &[], &[])
    }

    /// Starts `strata-compactor --config <config> <args>` with `env`, appending to `log`.
    fn start_with(config: &Path, log: &Path, args: &[&str], env: &[(&str, &str)]) -> Self {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .unwrap();
        let child = Command::new(compactor_bin())
            .arg("--config")
            .arg(config)
            .args(args)
            .envs(env.iter().copied())
            .env("RUST_LOG", "info")
            .stdout(Stdio::from(log.try_clone().unwrap()))
            .stderr(Stdio::from(log))
            .spawn()
            .expect("starting strata-compactor");
        Self { child }
    }

    fn kill9(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_compactor_loses_nothing_and_leaves_no_partial_block() {
    let dir = tempfile::tempdir().unwrap();
    let blocks_dir = dir.path().join("blocks");
    std::fs::create_dir_all(&blocks_dir).unwrap();
    let store: Store = Arc::new(LocalFileSystem::new_with_prefix(&blocks_dir).unwrap());
    let tenant = TenantId::single();
    let (expected, inputs) = prepare(&store, &tenant).await;
    check_store(&store, &tenant, &expected, false).await;

    let port = free_port();
    let config = dir.path().join("compactor.yaml");
    std::fs::write(
        &config,
        format!(
            "server:\n  http_listen_address: 127.0.0.1:{port}\nstorage:\n  local:\n    path: {}\n  block:\n    row_group_max_spans: 64\ncompactor:\n  compaction_cycle: 50ms\n  compaction_window: 1h\n  max_compaction_objects: 4\n  compacted_block_retention: 1s\n",
            blocks_dir.display()
        ),
    )
    .unwrap();
    let log = dir.path().join("compactor.log");
    let tenant_dir = blocks_dir.join(tenant.as_str());
    let dirs_now = || -> BTreeSet<String> {
        std::fs::read_dir(&tenant_dir)
            .map(|rd| {
                rd.filter_map(|e| e.ok())
                    .filter(|e| e.path().is_dir())
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default()
    };

    // Kill as soon as a new block directory appears (mid-write of an output, usually), then at
    // increasing delays after start.
    for round in 0..6u64 {
        let before = dirs_now();
        let p = Proc::start(&config, &log);
        if round % 2 == 0 {
            let deadline = Instant::now() + Duration::from_secs(60);
            while dirs_now().is_subset(&before) && Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        } else {
            tokio::time::sleep(Duration::from_millis(100 * round)).await;
        }
        p.kill9();
        check_store(&store, &tenant, &expected, false).await;
    }

    // Let it run to the end: every input compacted and deleted, one live block left.
    let p = Proc::start(&config, &log);
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let (live, complete) = check_store(&store, &tenant, &expected, true).await;
        let inputs_left = inputs.iter().filter(|i| complete.contains(i)).count();
        if live == 1 && inputs_left == 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "not converged: {live} live blocks, {inputs_left} inputs left\n{}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Readiness, metrics and the index of the process that finished the work.
    let body = reqwest::get(format!("http://127.0.0.1:{port}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        body.contains("strata_compactor_blocks_compacted_total"),
        "{body}"
    );
    assert!(
        body.contains("strata_compactor_blocks_deleted_total{reason=\"compacted\"}"),
        "{body}"
    );
    let ready = reqwest::get(format!("http://127.0.0.1:{port}/ready"))
        .await
        .unwrap();
    assert_eq!(ready.status(), 200);
    let index = strata_block::read_index(store.as_ref(), &tenant)
        .await
        .unwrap()
        .unwrap();
    assert!(
        index.blocks.len() <= 2,
        "index: {} live blocks",
        index.blocks.len()
    );

    // SIGTERM: a clean exit.
    let mut child = p.child;
    let pid = child.id().to_string();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    let status = child.wait().unwrap();
    assert!(status.success(), "exit {status}");

    // Partial outputs of killed runs are directories without meta.json: never listed.
    let dirs = list_block_dirs(store.as_ref(), &tenant).await.unwrap();
    let listed: HashSet<BlockId> = list_blocks(store.as_ref(), &tenant)
        .await
        .unwrap()
        .into_iter()
        .collect();
    let partial: Vec<_> = dirs.iter().filter(|d| !d.has_meta).collect();

    // `strata blocks list|inspect` over the same store, through the same configuration file.
    let strata = strata_integration_tests::strata_bin();
    let run = |args: &[&str]| {
        let out = Command::new(&strata)
            .args(args)
            .arg("--config")
            .arg(&config)
            .output()
            .expect("running strata blocks");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let live = index.blocks[0].block_id.to_string();
    let listing = run(&["blocks", "list"]);
    let line = listing
        .lines()
        .find(|l| l.contains(&live))
        .unwrap_or_else(|| panic!("{live} missing from:\n{listing}"));
    assert!(line.trim_end().ends_with("no"), "{line}");
    assert!(
        line.contains(&index.blocks[0].total_spans.to_string()),
        "{line}"
    );
    let inspected = run(&["blocks", "inspect", &live, "--tenant", tenant.as_str()]);
    assert!(inspected.contains("\"compactionLevel\""), "{inspected}");
    assert!(inspected.contains("trace_id"), "{inspected}");
    let rgs = inspected
        .lines()
        .skip_while(|l| !l.contains("TRACE IDS"))
        .count();
    assert_eq!(rgs - 1, index.blocks[0].row_groups as usize, "{inspected}");
    for d in &partial {
        assert!(!listed.contains(&d.block));
    }
    eprintln!(
        "{} partial output directories left by killed runs; {} complete blocks",
        partial.len(),
        listed.len()
    );
}
