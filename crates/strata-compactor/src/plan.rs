//! Choosing compaction jobs.
//!
//! Rule: live (unmarked, unexpired) blocks of one tenant are grouped by window =
//! `end_time_unix_nano / compaction_window`, and in the current window also by level =
//! `compaction_level`. Within a group, blocks are taken in (level, start time, block ID) order
//! and cut into jobs of at most `max_compaction_objects` inputs whose `size_bytes` sum to at
//! most `max_block_bytes`.
//!
//! * A window that is closed (its index is below the current window's, on the injected clock)
//!   yields every job with at least two inputs, whatever their levels: a closed window thus
//!   converges to one block (or to blocks of `max_block_bytes`), even when a crash between
//!   writing an output and marking its inputs left blocks of several levels behind.
//! * The current, still open window yields only full jobs (`max_compaction_objects` inputs, or
//!   as many as `max_block_bytes` allows), so
//!   a window that is still filling is not compacted into many small steps.
//!
//! A block larger than `max_block_bytes` on its own is never an input. The output of a job is
//! at level + 1 of its inputs' maximum, so the next cycle may merge it with its peers.

use std::collections::BTreeMap;

use strata_block::BlockMeta;

/// One compaction: the inputs all belong to `window`.
#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    pub window: u64,
    /// The inputs' level in the open window; 0 for a closed window (levels mixed).
    pub level: u32,
    pub inputs: Vec<BlockMeta>,
}

impl Job {
    pub fn input_bytes(&self) -> u64 {
        self.inputs.iter().map(|m| m.size_bytes).sum()
    }
}

/// Limits of [`plan`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PlanLimits {
    pub window_nanos: u64,
    pub max_objects: usize,
    pub max_bytes: u64,
}

/// The window index of a block.
pub fn window_of(meta: &BlockMeta, window_nanos: u64) -> u64 {
    meta.end_time_unix_nano / window_nanos.max(1)
}

/// The jobs for `blocks` (live blocks of one tenant) at `now_unix_nanos`; see the module docs.
pub fn plan(blocks: &[BlockMeta], now_unix_nanos: u64, limits: PlanLimits) -> Vec<Job> {
    let max_objects = limits.max_objects.max(2);
    let current = now_unix_nanos / limits.window_nanos.max(1);
    let mut groups: BTreeMap<(u64, u32), Vec<&BlockMeta>> = BTreeMap::new();
    for m in blocks {
        let window = window_of(m, limits.window_nanos);
        // Closed windows merge across levels (level key 0 for all).
        let level = if window < current {
            0
        } else {
            m.compaction_level
        };
        groups.entry((window, level)).or_default().push(m);
    }
    let mut jobs = Vec::new();
    for ((window, level), mut members) in groups {
        let closed = window < current;
        members.sort_by_key(|m| (m.compaction_level, m.start_time_unix_nano, m.block_id));
        let mut chunk: Vec<BlockMeta> = Vec::new();
        let mut bytes = 0u64;
        // `by_bytes`: the chunk is cut because the next block would pass `max_bytes`, which
        // makes it as full as it can get.
        let flush = |chunk: &mut Vec<BlockMeta>, jobs: &mut Vec<Job>, by_bytes: bool| {
            let full = by_bytes || chunk.len() >= max_objects;
            if chunk.len() >= 2 && (closed || full) {
                jobs.push(Job {
                    window,
                    level,
                    inputs: std::mem::take(chunk),
                });
            }
            chunk.clear();
        };
        for m in members {
            if m.size_bytes > limits.max_bytes {
                continue;
            }
            let by_bytes = bytes + m.size_bytes > limits.max_bytes;
            if chunk.len() >= max_objects || by_bytes {
                flush(&mut chunk, &mut jobs, by_bytes);
                bytes = 0;
            }
            bytes += m.size_bytes;
            chunk.push(m.clone());
        }
        flush(&mut chunk, &mut jobs, false);
    }
    jobs
}
