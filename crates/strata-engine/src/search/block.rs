//! Searching one block ([`SearchJob::search_block`]), skipping what statistics rule out.
//!
//! A block is searched in two passes when the plan has a span-level prefilter: the first
//! reads only `trace_id` and the prefilter's columns and selects whole traces with at least
//! one passing span; the second reads the full projection for those rows only (the Parquet
//! reader skips pages without selected rows). Row groups and pages that statistics rule out
//! (time range, the plan's [`Prune`](crate::Prune) condition) are skipped; the `prune`
//! module documents how. Without a prefilter, one pass reads the row groups in the time range
//! (plus neighbours a trace in range continues into).
//!
//! A span-local query ([`SearchPlan::span_local`](crate::SearchPlan::span_local)) keeps, in
//! the first pass, its hits and the values reported on them ([`super::hits`]), when every
//! row group is in the time range; its second pass then reads only the result's columns and
//! does not evaluate the filter again. In a block with trace-level columns (format v3) its
//! first pass reads no `trace_id` (`trace_spans` gives the traces' rows) and its second
//! reads the trace-level columns on the matched traces' first rows and the hit rows' own
//! fields ([`super::summary`]), not every span of every matched trace.
//!
//! Invariant: every batch handed to evaluation holds whole traces (the second pass scans
//! with `whole_traces: true`), whatever rows pruning selected.

use std::ops::Range;

use arrow_array::{Array, BooleanArray, RecordBatch};
use parquet::file::metadata::RowGroupMetaData;
use parquet::file::statistics::Statistics;
use strata_block::schema::col;
use strata_block::{BlockReader, ScanRequest};

use super::hits::HitCollector;
use super::job::trace_ids;
use super::{SearchAccumulator, SearchJob};
use crate::eval::Value;
use crate::prune::{self, BlockStats, Layout, Open, Rows, RunCollector};
use crate::EngineError;

/// What the first pass found for a second-pass batch: the filter's mask and the reported
/// values.
type Known = (BooleanArray, Vec<Value>);

/// Evaluation of one second-pass batch.
type BatchFn<'a> = dyn FnMut(&RecordBatch, Option<Known>, &mut SearchAccumulator) -> Result<(), EngineError>
    + Send
    + 'a;

impl SearchJob {
    /// Searches one block, skipping row groups and pages that statistics (or, for `name` and
    /// `service_name` equalities, column-chunk dictionaries) rule out. Counts
    /// what was skipped in [`SearchAccumulator::pruned_row_groups`] and
    /// [`SearchAccumulator::pruned_pages`].
    pub async fn search_block(
        &self,
        reader: &BlockReader,
        acc: &mut SearchAccumulator,
    ) -> Result<(), EngineError> {
        self.search_part(reader, None, acc).await
    }

    /// [`search_block`](Self::search_block) for the part of the block made of row groups
    /// `groups` (clamped to the block): the traces whose first row lies in those row groups,
    /// each searched whole (see [`crate::prune`], "Parts"). Searching every part of a
    /// partition of the row groups finds the traces `search_block` finds, each once, with the
    /// same counts of inspected traces and spans; the block itself (`totalBlocks`,
    /// `totalBlockBytes`) is counted by the part starting at row group 0.
    pub async fn search_row_groups(
        &self,
        reader: &BlockReader,
        groups: Range<usize>,
        acc: &mut SearchAccumulator,
    ) -> Result<(), EngineError> {
        self.search_part(reader, Some(groups), acc).await
    }

    async fn search_part(
        &self,
        reader: &BlockReader,
        part: Option<Range<usize>>,
        acc: &mut SearchAccumulator,
    ) -> Result<(), EngineError> {
        self.scan(
            reader,
            acc,
            &[],
            true,
            part,
            &mut |batch, known, acc| match known {
                Some((mask, outputs)) => self.search_known(batch, mask, outputs, acc),
                None => self.search_batch(batch, acc),
            },
        )
        .await
    }

    /// Reads the batches of whole traces in `reader` that may hold matching spans (pruned
    /// as [`search_block`](Self::search_block) describes) and hands each to `f`, counting
    /// what was read and skipped in `acc`. The batches hold the plan's columns and `extra`.
    pub(crate) async fn scan_block(
        &self,
        reader: &BlockReader,
        acc: &mut SearchAccumulator,
        extra: &[&'static str],
        f: &mut (dyn FnMut(&RecordBatch, &mut SearchAccumulator) -> Result<(), EngineError> + Send),
    ) -> Result<(), EngineError> {
        self.scan(reader, acc, extra, false, None, &mut |batch, _, acc| {
            f(batch, acc)
        })
        .await
    }

    /// [`scan_block`](Self::scan_block); with `keep_hits`, a span-local plan's batches come
    /// with the filter's mask and the reported values found by the first pass (when it
    /// could keep them), and hold only the result's columns. With `part`, only the traces
    /// of that part of the block ([`search_row_groups`](Self::search_row_groups)).
    async fn scan(
        &self,
        reader: &BlockReader,
        acc: &mut SearchAccumulator,
        extra: &[&'static str],
        keep_hits: bool,
        part: Option<Range<usize>>,
        f: &mut BatchFn<'_>,
    ) -> Result<(), EngineError> {
        let meta = reader.meta();
        if part.as_ref().is_none_or(|p| p.start == 0) {
            acc.metrics.total_blocks += 1;
            acc.metrics.total_block_bytes += meta.size_bytes;
        }
        if !self.overlaps(meta.start_time_unix_nano, meta.end_time_unix_nano) {
            return Ok(());
        }
        let md = reader.parquet_metadata().await.map_err(block_err)?;
        let exact = strata_block::service_name_exact(&md);
        let layout = Layout::new(&md);
        // Format v4: whether the block's resource table allows `service_name` pruning.
        let table_arrays =
            (reader.resource_table().await.map_err(block_err)?).map(|t| t.has_array_attribute());
        let stats = BlockStats::new(&md, &layout).with_table_arrays(table_arrays);
        let in_range: Vec<bool> = md
            .row_groups()
            .iter()
            .map(|rg| self.row_group_in_range(rg))
            .collect();
        // The whole block's scope, so that a part keeps exactly the whole search's rows.
        let scope = prune::search_scope(&stats, &in_range);
        // A part counts what is pruned in its own row groups, decided as for the whole block;
        // it reads dictionaries for the row groups holding its outer window (from statistics)
        // and, once it has rows to read, finds its exact window.
        let n = layout.row_groups();
        let owned = part.as_ref().map_or(0..n, |p| p.start.min(n)..p.end.min(n));
        let counted: Vec<bool> = (0..n).map(|rg| owned.contains(&rg)).collect();
        let outer = match &part {
            Some(p) => prune::outer(&layout, &stats, p),
            None => 0..layout.total(),
        };
        let clip = |rows: Rows, w: &Range<usize>| rows.intersect(&Rows::from_range(w.clone()));
        let near: Vec<bool> = (0..n)
            .map(|rg| prune::touches(&layout, rg, &outer))
            .collect();
        // Hits are complete only when no row group was left out for its time.
        let keep_hits = keep_hits && self.plan.span_local() && in_range.iter().all(|k| *k);
        // With trace-level columns, the first pass of a span-local query finds each hit's
        // trace by `trace_spans` and needs no `trace_id` ([`super::summary`]).
        let by_extents = keep_hits && meta.has_trace_columns();
        let mut hits = None;
        let (rows, open, window) = match self.plan.prefilter_columns() {
            Some(cols) => {
                let mut cols = self.plan.block_columns(cols, exact);
                let own = cols.clone();
                if !cols.contains(&col::TRACE_ID) {
                    cols.insert(0, col::TRACE_ID);
                }
                let prune = self.plan.prune_predicate();
                let scope = match &prune {
                    Some(p) => {
                        let mine: Vec<bool> = (0..n).map(|rg| scope[rg] && near[rg]).collect();
                        let (kept, bytes) =
                            prune::dictionary_scope(reader, &stats, &layout, &mine, p).await?;
                        acc.metrics.inspected_bytes += bytes;
                        (0..n)
                            .map(|rg| if near[rg] { kept[rg] } else { scope[rg] })
                            .collect()
                    }
                    None => scope,
                };
                let (first, pruned) = prune::first_pass_rows(
                    &stats,
                    &layout,
                    &scope,
                    prune.as_ref(),
                    &cols,
                    &counted,
                );
                acc.pruned_row_groups += pruned.row_groups;
                acc.pruned_pages += pruned.pages;
                let first = clip(first, &outer);
                if first.is_empty() {
                    return Ok(());
                }
                let window = self.window(reader, &layout, &stats, &part, acc).await?;
                let first = clip(first, &window);
                if first.is_empty() {
                    return Ok(());
                }
                if by_extents && !own.is_empty() {
                    let (traces, found) = self
                        .first_pass_by_extents(reader, &layout, &first, own, acc)
                        .await?;
                    if let Some(h) = found {
                        return self
                            .search_summaries(reader, &layout, &traces, h, acc)
                            .await;
                    }
                    // Reported values that cannot be kept: evaluate the traces in full.
                    (Rows::from_ranges(traces), Vec::new(), window)
                } else {
                    let mut collector =
                        keep_hits.then(|| HitCollector::new(self.plan.outputs.len()));
                    let found = self
                        .candidates(reader, &layout, &first, cols, collector.as_mut(), acc)
                        .await?;
                    hits = match collector {
                        Some(c) => c.finish()?,
                        None => None,
                    };
                    let (found, open) = found;
                    (found, prune::inside(open, &window), window)
                }
            }
            None => {
                acc.pruned_row_groups +=
                    (0..n).filter(|&rg| counted[rg] && !scope[rg]).count() as u64;
                let mine: Vec<bool> = (0..n).map(|rg| scope[rg] && near[rg]).collect();
                let found = prune::row_group_rows(&stats, &layout, &mine);
                if found
                    .as_ref()
                    .is_some_and(|(f, _)| clip(f.clone(), &outer).is_empty())
                {
                    return Ok(());
                }
                let window = self.window(reader, &layout, &stats, &part, acc).await?;
                match found {
                    Some((found, open)) => {
                        (clip(found, &window), prune::inside(open, &window), window)
                    }
                    None => (Rows::from_range(window.clone()), Vec::new(), window),
                }
            }
        };
        if rows.is_empty() {
            return Ok(());
        }
        let rows = if open.is_empty() {
            rows
        } else {
            let (more, bytes) = prune::extend(reader, &layout, &stats, &open).await?;
            acc.metrics.inspected_bytes += bytes;
            clip(rows.union(&more), &window)
        };
        let (row_groups, selection) = layout.scan(&rows);
        let mut columns = match hits {
            Some(_) => self.plan.result_columns(),
            None => self.plan.block_columns(self.plan.columns(), exact),
        };
        for c in extra {
            if !columns.contains(c) {
                columns.push(c);
            }
        }
        let mut scan = reader
            .scan(ScanRequest {
                columns,
                row_groups: Some(row_groups),
                selection,
                batch_rows: 0,
                whole_traces: true,
            })
            .await
            .map_err(block_err)?;
        let mut cursor = rows.cursor();
        let mut positions = Vec::new();
        while let Some(batch) = scan.next().await.map_err(block_err)? {
            let known = match hits.as_mut() {
                Some(h) => {
                    positions.clear();
                    for _ in 0..batch.num_rows() {
                        positions.push(cursor.next().ok_or_else(prune::overrun)?.row);
                    }
                    Some(h.batch(&positions)?)
                }
                None => None,
            };
            f(&batch, known, acc)?;
        }
        acc.metrics.inspected_bytes += scan.inspected_bytes();
        Ok(())
    }

    /// The rows of `part` (every row without one), counting the bytes read to find them.
    async fn window(
        &self,
        reader: &BlockReader,
        layout: &Layout,
        stats: &BlockStats<'_>,
        part: &Option<Range<usize>>,
        acc: &mut SearchAccumulator,
    ) -> Result<Range<usize>, EngineError> {
        match part {
            Some(p) => {
                let (w, bytes) = prune::window(reader, layout, stats, p).await?;
                acc.metrics.inspected_bytes += bytes;
                Ok(w)
            }
            None => Ok(0..layout.total()),
        }
    }

    fn row_group_in_range(&self, rg: &RowGroupMetaData) -> bool {
        let min_start = u64_stat(rg, col::START, true);
        let max_end = u64_stat(rg, col::END, false);
        min_start.is_none_or(|s| s <= self.end_ns) && max_end.is_none_or(|e| e >= self.start_ns)
    }

    /// First pass over `rows` (file rows): the rows of every trace with a span passing the
    /// prefilter that were read, and where those traces may continue beyond them. With
    /// `hits`, the passing spans and the values reported on them are collected too.
    async fn candidates(
        &self,
        reader: &BlockReader,
        layout: &Layout,
        rows: &Rows,
        cols: Vec<&'static str>,
        mut hits: Option<&mut HitCollector>,
        acc: &mut SearchAccumulator,
    ) -> Result<(Rows, Vec<Open>), EngineError> {
        let mut scan = layout.read(reader, rows, cols).await?;
        let mut runs = RunCollector::new(layout.total());
        let mut cursor = rows.cursor();
        let mut positions = Vec::new();
        while let Some(batch) = scan.next().await.map_err(block_err)? {
            let (mask, outputs) = match hits {
                Some(_) => {
                    let (m, o) = crate::eval::prefilter_and_outputs(&self.plan, &batch)?;
                    (m, Some(o))
                }
                None => (self.plan.prefilter(&batch)?, None),
            };
            let ids = trace_ids(&batch)?;
            positions.clear();
            for i in 0..batch.num_rows() {
                let pos = cursor.next().ok_or_else(prune::overrun)?;
                positions.push(pos.row);
                let hit = mask.is_valid(i) && mask.value(i);
                runs.row(pos, prune::id_of(ids.value(i))?, hit);
            }
            if let (Some(h), Some(o)) = (hits.as_deref_mut(), outputs) {
                h.batch(&positions, &mask, o)?;
            }
        }
        acc.metrics.inspected_bytes += scan.inspected_bytes();
        if cursor.next().is_some() {
            return Err(prune::overrun());
        }
        Ok(runs.finish())
    }
}

pub(crate) fn block_err(e: strata_block::BlockError) -> EngineError {
    EngineError::Batch(format!("block: {e}"))
}

fn u64_stat(rg: &RowGroupMetaData, name: &str, min: bool) -> Option<u64> {
    let column = rg
        .columns()
        .iter()
        .find(|c| c.column_descr().path().string() == name)?;
    match column.statistics()? {
        // UInt64 columns are stored as INT64; the logical type makes the stats unsigned.
        Statistics::Int64(s) => {
            let v = if min { s.min_opt()? } else { s.max_opt()? };
            Some(*v as u64)
        }
        _ => None,
    }
}
