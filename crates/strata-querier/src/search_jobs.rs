//! The jobs of one search over blocks (`querier.search.target_bytes_per_job`).
//!
//! A block of at most the target size (its `data.parquet` size from `meta.json`) is one job;
//! a bigger one is split into ranges of consecutive row groups, each closed once it holds at
//! least the target in compressed bytes (a row group is never split, so a job may exceed
//! the target by one row group). A range-of-row-groups job searches the traces whose first
//! row lies in its row groups, whole ([`SearchJob::search_row_groups`]), so the jobs of a
//! block find exactly what one search of the block finds.
//!
//! A block is split only when the search reaches it (the row-group sizes come from its
//! footer, which the search reads anyway): a search that stops early reads no footer of the
//! blocks it never reached.

use std::ops::Range;
use std::sync::Arc;

use strata_engine::search::{SearchAccumulator, SearchJob};
use strata_engine::EngineError;

use crate::blocklist::BlockEntry;

/// One job: a block, or a range of its row groups.
#[derive(Clone)]
pub(crate) struct Job {
    pub block: Arc<BlockEntry>,
    /// `None`: the whole block.
    pub groups: Option<Range<usize>>,
}

impl Job {
    /// When the block's data ends (unix ns): the job cannot hold a trace starting later.
    pub fn end(&self) -> u64 {
        self.block.reader.meta().end_time_unix_nano
    }

    /// Runs the job: its traces (all of them) and counters.
    pub async fn run(&self, job: &SearchJob) -> Result<SearchAccumulator, EngineError> {
        let mut part = SearchAccumulator::new();
        match &self.groups {
            None => job.search_block(&self.block.reader, &mut part).await?,
            Some(g) => {
                job.search_row_groups(&self.block.reader, g.clone(), &mut part)
                    .await?
            }
        }
        Ok(part)
    }
}

/// The jobs of `block` for a target of `target` bytes per job (0: one job per block). A
/// block whose footer cannot be read is one job (whose search then reports the error).
pub(crate) async fn plan_block(block: Arc<BlockEntry>, target: u64) -> Vec<Job> {
    let whole = |block| {
        vec![Job {
            block,
            groups: None,
        }]
    };
    if target == 0 || block.reader.meta().size_bytes <= target {
        return whole(block);
    }
    let Ok(md) = block.reader.parquet_metadata().await else {
        return whole(block);
    };
    let sizes: Vec<u64> = md
        .row_groups()
        .iter()
        .map(|rg| u64::try_from(rg.compressed_size()).unwrap_or(0))
        .collect();
    let ranges = split(&sizes, target);
    if ranges.len() <= 1 {
        return whole(block);
    }
    ranges
        .into_iter()
        .map(|g| Job {
            block: block.clone(),
            groups: Some(g),
        })
        .collect()
}

/// Consecutive ranges of row groups covering `sizes`, each closed once it holds `target`
/// bytes (the last may hold less).
pub(crate) fn split(sizes: &[u64], target: u64) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let (mut start, mut held) = (0, 0u64);
    for (rg, &size) in sizes.iter().enumerate() {
        held = held.saturating_add(size);
        if held >= target.max(1) {
            out.push(start..rg + 1);
            start = rg + 1;
            held = 0;
        }
    }
    if start < sizes.len() {
        out.push(start..sizes.len());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_close_at_the_target_and_cover_every_row_group() {
        assert_eq!(split(&[10, 10, 10, 10, 10], 20), vec![0..2, 2..4, 4..5]);
        assert_eq!(split(&[30, 5, 5, 30, 1], 20), vec![0..1, 1..4, 4..5]);
        // A row group bigger than the target is a job of its own, never split.
        assert_eq!(split(&[100], 20), vec![0..1]);
        assert_eq!(split(&[1, 1, 1], 1_000), vec![0..3]);
        assert!(split(&[], 20).is_empty());
        // Empty row groups join a range that is not yet full.
        assert_eq!(split(&[0, 0, 5], 5), vec![0..3]);
    }

    #[test]
    fn ranges_partition_the_row_groups() {
        for target in [1, 7, 13, 50, 1_000] {
            let sizes: Vec<u64> = (0..40).map(|i| (i * 7 % 11) as u64 + 1).collect();
            let ranges = split(&sizes, target);
            let mut next = 0;
            for r in &ranges {
                assert_eq!(r.start, next, "target {target}: {ranges:?}");
                assert!(r.end > r.start);
                let held: u64 = sizes[r.clone()].iter().sum();
                let without_last: u64 = sizes[r.start..r.end - 1].iter().sum();
                assert!(without_last < target, "target {target}: {r:?} closed late");
                if r.end < sizes.len() {
                    assert!(held >= target, "target {target}: {r:?} closed early");
                }
                next = r.end;
            }
            assert_eq!(next, sizes.len());
        }
    }
}
