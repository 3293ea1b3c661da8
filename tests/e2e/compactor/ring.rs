//! Two real `strata-compactor` processes on one store, sharing the work on a compactor ring
//! the way the Helm chart runs them: one configuration file, each process started with
//! `--config.expand-env` and its own address in the environment (`instance_addr: ${SELF}`).
//! Both must do work, together they compact every window exactly once, and no span is lost.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use object_store::local::LocalFileSystem;
use strata_block::WriterOptions;
use strata_common::{BlockId, Clock, SystemClock, TenantId, TraceId};
use strata_storage::list_blocks;

use super::{check_store, free_port, write_block, Expected, Proc, Store};

const WINDOWS: u32 = 16;
const REPLICAS: usize = 2;

/// `WINDOWS` hourly windows, two days old, each with 12 traces written as `REPLICAS` blocks.
/// Blocks are written to `staging` and then renamed into `live`, so neither compactor sees a
/// window before the processes know each other.
async fn prepare(staging: &Store, tenant: &TenantId) -> (Expected, Vec<BlockId>) {
    let hour = 3_600_000_000_000u64;
    let now = SystemClock.now_unix_nanos();
    let base = (now - 2 * 86_400_000_000_000) / hour * hour;
    let mut expected = Expected::new();
    let mut blocks = Vec::new();
    for w in 0..WINDOWS {
        let start = base + u64::from(w) * hour + 60_000_000_000;
        let ids: BTreeSet<TraceId> = (0..12u32)
            .map(|i| {
                let mut b = [0u8; 16];
                b[0] = 0xc0 | (w as u8 & 0x0f);
                b[12..].copy_from_slice(&(w * 100 + i).to_be_bytes());
                TraceId(b)
            })
            .collect();
        for _ in 0..REPLICAS {
            let opts = WriterOptions::default();
            let format = strata_block::FORMAT_V4;
            blocks.push(
                write_block(staging, tenant, &ids, 4, start, opts, format, &mut expected).await,
            );
        }
    }
    (expected, blocks)
}

struct Member {
    addr: String,
    proc: Option<Proc>,
    log: PathBuf,
}

impl Member {
    fn start(config: &Path, addr: &str, log: PathBuf) -> Self {
        let args = ["--config.expand-env"];
        let proc = Proc::start_with(config, &log, &args, &[("SELF", addr)]);
        Self {
            addr: addr.to_string(),
            proc: Some(proc),
            log,
        }
    }

    async fn get(&self, path: &str) -> Option<(u16, String)> {
        let r = reqwest::get(format!("http://{}{path}", self.addr))
            .await
            .ok()?;
        let status = r.status().as_u16();
        Some((status, r.text().await.ok()?))
    }

    /// `strata_compactor_blocks_compacted_total` of this process.
    async fn compacted(&self) -> u64 {
        let (_, body) = self.get("/metrics").await.expect("metrics");
        body.lines()
            .filter(|l| l.starts_with("strata_compactor_blocks_compacted_total"))
            .filter_map(|l| l.split_whitespace().last()?.parse::<f64>().ok())
            .sum::<f64>() as u64
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Member {
    fn drop(&mut self) {
        if let Some(p) = self.proc.take() {
            p.kill9();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_compactor_processes_share_the_windows_on_their_ring() {
    let dir = tempfile::tempdir().unwrap();
    let live_dir = dir.path().join("blocks");
    let staging_dir = dir.path().join("staging");
    std::fs::create_dir_all(&live_dir).unwrap();
    std::fs::create_dir_all(&staging_dir).unwrap();
    let store: Store = Arc::new(LocalFileSystem::new_with_prefix(&live_dir).unwrap());
    let staging: Store = Arc::new(LocalFileSystem::new_with_prefix(&staging_dir).unwrap());
    let tenant = TenantId::single();
    let (expected, inputs) = prepare(&staging, &tenant).await;

    let addrs = [
        format!("127.0.0.1:{}", free_port()),
        format!("127.0.0.1:{}", free_port()),
    ];
    // One file for both, as a ConfigMap would be; each process fills in its own address.
    let config = dir.path().join("compactor.yaml");
    std::fs::write(
        &config,
        format!(
            "server:\n  http_listen_address: ${{SELF}}\nstorage:\n  local:\n    path: {}\ncompactor:\n  compaction_cycle: 100ms\n  compaction_window: 1h\n  max_compaction_objects: 4\n  compacted_block_retention: 1s\n  instance_addr: ${{SELF}}\n  ring:\n    members: [{}, {}]\n    heartbeat_period: 1s\n",
            live_dir.display(),
            addrs[0],
            addrs[1]
        ),
    )
    .unwrap();
    let members: Vec<Member> = addrs
        .iter()
        .enumerate()
        .map(|(i, a)| Member::start(&config, a, dir.path().join(format!("compactor-{i}.log"))))
        .collect();
    // Both serve /ready, then a heartbeat has passed: each sees the other healthy.
    let deadline = Instant::now() + Duration::from_secs(60);
    for m in &members {
        while m.get("/ready").await.map(|(s, _)| s) != Some(200) {
            assert!(
                Instant::now() < deadline,
                "{} not ready:\n{}",
                m.addr,
                m.log()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;

    // Publish the blocks: a renamed directory appears whole.
    let tenant_dir = tenant.as_str();
    std::fs::create_dir_all(live_dir.join(tenant_dir)).unwrap();
    for id in &inputs {
        let id = id.to_string();
        std::fs::rename(
            staging_dir.join(tenant_dir).join(&id),
            live_dir.join(tenant_dir).join(&id),
        )
        .unwrap();
    }

    // Converged: one live block per window, every input compacted and deleted, no span lost.
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let (live, complete) = check_store(&store, &tenant, &expected, true).await;
        let inputs_left = inputs.iter().filter(|i| complete.contains(i)).count();
        if live == WINDOWS as usize && inputs_left == 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "not converged: {live} live blocks, {inputs_left} inputs left\n{}\n{}",
            members[0].log(),
            members[1].log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        list_blocks(store.as_ref(), &tenant).await.unwrap().len(),
        WINDOWS as usize
    );

    // Each process found itself on the ring (else it would own nothing) and did a share.
    let done = [members[0].compacted().await, members[1].compacted().await];
    assert!(
        done.iter().all(|&n| n > 0),
        "compacted inputs per process: {done:?}\n{}\n{}",
        members[0].log(),
        members[1].log()
    );
    // Without a membership change, no window was compacted by both. (During one, two
    // compactors may briefly both act on a window, which is safe; only then is more allowed.)
    let changed = members.iter().any(|m| {
        m.log().contains("failed its health check") || m.log().contains("marked unhealthy")
    });
    let total = inputs.len() as u64;
    if changed {
        assert!(done[0] + done[1] >= total, "{done:?}");
    } else {
        assert_eq!(
            done[0] + done[1],
            total,
            "a window was compacted twice: {done:?}"
        );
    }
}
