//! What the compactor needs from the configuration.

use std::time::Duration;

use strata_config::{BlockConfig, Config};

/// A block directory without `meta.json` whose newest object is older than this is treated as
/// left behind by a killed writer and deleted. Far above the time any writer needs.
pub const DEFAULT_ORPHAN_AGE: Duration = Duration::from_secs(3600);

/// Settings of one compactor; see `strata_config::CompactorConfig` for each field.
#[derive(Debug, Clone, PartialEq)]
pub struct CompactorSettings {
    pub compaction_cycle: Duration,
    pub compaction_window: Duration,
    pub max_compaction_objects: usize,
    pub max_block_runs: usize,
    pub max_block_bytes: u64,
    pub block_retention: Duration,
    pub compacted_block_retention: Duration,
    pub orphan_age: Duration,
    /// How output blocks are written (row groups, bloom, zstd).
    pub block: BlockConfig,
    /// Rows per decoded batch when reading inputs.
    pub read_batch_rows: usize,
    /// Niceness added to the job thread ([`crate::background`]).
    pub job_nice: u8,
}

impl CompactorSettings {
    pub fn from_config(cfg: &Config) -> Self {
        let c = &cfg.compactor;
        Self {
            compaction_cycle: c.compaction_cycle,
            compaction_window: c.compaction_window,
            max_compaction_objects: c.max_compaction_objects,
            max_block_runs: c.max_block_runs,
            max_block_bytes: c.max_block_bytes,
            block_retention: c.block_retention,
            compacted_block_retention: c.compacted_block_retention,
            orphan_age: DEFAULT_ORPHAN_AGE,
            block: cfg.storage.block.clone(),
            read_batch_rows: 4096,
            job_nice: c.job_nice,
        }
    }
}

impl Default for CompactorSettings {
    fn default() -> Self {
        Self::from_config(&Config::default())
    }
}
