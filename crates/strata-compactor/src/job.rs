//! Running one compaction job: concatenate or stream-merge the inputs into a new block, then
//! mark them.
//!
//! **Concatenation** ([`strata_block::Concat`]) is chosen when it is allowed
//! (`compactor.max_block_runs` above 1, `storage.block.format` v4), every input is a v4 or v5
//! block, they hold at most `strata_block::concat::MAX_TRACES` traces (kept in memory to
//! count what they share), their sorted runs add up to at most `max_block_runs`, and they
//! share few traces (trace entries beyond the first of each trace under a tenth of the
//! distinct traces: in `strata run` only traces whose spans straddled a block cut;
//! replicated ingesters' blocks share most traces and are merged, after the `trace_id` read
//! that told). The output, format v5, holds the inputs' encoded row
//! groups as they are; nothing is decoded but `trace_id` and `resource_ref`. The job after it
//! over such blocks has more runs than allowed and merges, reading each run as its own stream.
//! So in a window that keeps filling, every other level is a copy rather than a rewrite.
//!
//! **The merge** works on rows ([`RowMerger`]): each input's span rows are read as Arrow batches,
//! duplicates dropped by `strata_block`'s rules, and the rows kept copied into the output
//! column by column ([`BlockWriter::add_trace_rows`]), never turned into OTLP structs. When
//! every input is in block format v4 (and `storage.block.format` is v4) the output is v4: the
//! inputs' resource tables are merged first ([`merge_tables`]) and each input's rows are read
//! with their `resource_ref` mapped into the merged table; otherwise the output is v3, every
//! row with its resource.
//!
//! Order of effects, which makes a crash at any point safe:
//!
//! 1. The output block is written with [`BlockWriter`] or [`Concat::write`] (`data.parquet`,
//!    `bloom`, and `meta.json` last). A crash before `meta.json` leaves an orphan directory
//!    that readers ignore and the retention pass deletes later.
//! 2. Only then is a `compacted.json` marker written on each input. A crash between 1 and 2
//!    leaves inputs and output both live: queriers drop the duplicate spans, and the next
//!    cycle compacts them again (the duplicates disappear at the next level).
//! 3. Inputs are deleted only by a later cycle, `compacted_block_retention` after marking.

use std::sync::Arc;
use std::time::Instant;

use strata_block::{
    merge_tables, write_compacted, BlockMeta, BlockReader, BlockWriter, CompactedMarker, Concat,
    RowMerger, WriterOptions, FORMAT_V4, FORMAT_VERSION,
};
use strata_common::{BlockId, SharedClock, TenantId};
use strata_storage::{BlockPaths, SharedStore};

use crate::error::CompactorError;
use crate::metrics::CompactorMetrics;
use crate::plan::Job;
use crate::settings::CompactorSettings;

/// What a completed job produced.
#[derive(Debug, Clone, PartialEq)]
pub struct JobOutcome {
    pub output: BlockMeta,
    pub inputs: Vec<BlockId>,
    pub spans_written: u64,
    pub duplicates_removed: u64,
    /// When the inputs were marked (unix nanoseconds, injected clock).
    pub marked_unix_nano: u64,
}

/// Runs `job` for `tenant`; see the module docs.
pub async fn run_job(
    store: &SharedStore,
    tenant: &TenantId,
    job: &Job,
    settings: &CompactorSettings,
    clock: &SharedClock,
    metrics: &CompactorMetrics,
) -> Result<JobOutcome, CompactorError> {
    let started = Instant::now();
    let expected_traces: u64 = job.inputs.iter().map(|m| m.total_traces).sum();
    let readers: Vec<BlockReader> = (job.inputs.iter())
        .map(|meta| BlockReader::new(store.clone(), meta.clone()))
        .collect();
    let level = job
        .inputs
        .iter()
        .map(|m| m.compaction_level)
        .max()
        .unwrap_or(0)
        + 1;
    let output_id = BlockId::new_random();
    let (output, spans, dups) = match concat_of(&readers, settings).await? {
        Some(concat) => {
            let opts = WriterOptions::from_config(&settings.block, expected_traces as usize);
            let output = concat
                .write(
                    Arc::clone(store),
                    tenant.clone(),
                    output_id,
                    &readers,
                    &opts,
                    clock,
                    level,
                )
                .await?;
            metrics.jobs_concatenated.inc();
            metrics.spans_concatenated.inc_by(output.total_spans);
            (output.clone(), output.total_spans, 0)
        }
        None => {
            merge(
                store, tenant, job, settings, clock, &readers, level, output_id,
            )
            .await?
        }
    };
    let marked = clock.now_unix_nanos();
    let mut inputs = Vec::with_capacity(job.inputs.len());
    for meta in &job.inputs {
        let paths = BlockPaths::new(tenant.clone(), meta.block_id);
        let marker = CompactedMarker::new(meta.block_id, marked, vec![output_id]);
        write_compacted(store.as_ref(), &paths, &marker).await?;
        inputs.push(meta.block_id);
    }
    metrics.jobs.inc();
    metrics.blocks_written.inc();
    metrics.blocks_compacted.inc_by(inputs.len() as u64);
    metrics.spans_written.inc_by(spans);
    metrics.duplicate_spans_removed.inc_by(dups);
    metrics
        .compaction_duration
        .observe(started.elapsed().as_secs_f64());
    tracing::info!(tenant = %tenant, output = %output_id, level, inputs = inputs.len(),
        spans, duplicates = dups, format = %output.format, "compacted blocks");
    Ok(JobOutcome {
        output,
        inputs,
        spans_written: spans,
        duplicates_removed: dups,
        marked_unix_nano: marked,
    })
}

/// The concatenation of `readers` when the module docs' conditions hold, `None` otherwise.
async fn concat_of(
    readers: &[BlockReader],
    settings: &CompactorSettings,
) -> Result<Option<Concat>, CompactorError> {
    let traces: u64 = readers.iter().map(|r| r.meta().total_traces).sum();
    let allowed = settings.max_block_runs > 1
        && settings.block.format == FORMAT_V4
        && traces <= strata_block::concat::MAX_TRACES
        && readers.iter().all(|r| r.meta().has_resource_table());
    if !allowed {
        return Ok(None);
    }
    let mut runs = 0;
    for r in readers {
        runs += r.sorted_runs().await?;
        if runs > settings.max_block_runs {
            return Ok(None);
        }
    }
    let concat = Concat::scan(readers).await?;
    Ok((concat.shared_traces() * 10 < concat.distinct_traces()).then_some(concat))
}

/// Merges `readers`' rows into block `output_id`; returns its meta, the spans written and
/// the duplicates dropped.
#[allow(clippy::too_many_arguments)]
async fn merge(
    store: &SharedStore,
    tenant: &TenantId,
    job: &Job,
    settings: &CompactorSettings,
    clock: &SharedClock,
    readers: &[BlockReader],
    level: u32,
    output_id: BlockId,
) -> Result<(BlockMeta, u64, u64), CompactorError> {
    let expected_traces: u64 = job.inputs.iter().map(|m| m.total_traces).sum();
    // Format v4 out when configured and every input has a resource table (their tables
    // merged, rows copied with their refs remapped); otherwise v3, the resources on every row.
    let merge = match settings.block.format == FORMAT_V4
        && job.inputs.iter().all(BlockMeta::has_resource_table)
    {
        true => {
            let mut tables = Vec::with_capacity(readers.len());
            for r in readers {
                tables.push(r.resource_table().await?.ok_or_else(|| {
                    strata_block::BlockError::InvalidOptions(format!(
                        "block {} has no resource table",
                        r.meta().block_id
                    ))
                })?);
            }
            Some(merge_tables(
                &tables.iter().map(|t| t.as_ref()).collect::<Vec<_>>(),
            )?)
        }
        false => None,
    };
    let mut streams = Vec::with_capacity(readers.len());
    for (i, reader) in readers.iter().enumerate() {
        // One stream per sorted run (several only in format v5).
        let map = merge.as_ref().map(|m| m.maps[i].clone());
        streams.extend(reader.run_streams(settings.read_batch_rows, map).await?);
    }
    let mut merger = RowMerger::new(streams).await?;
    let opts = WriterOptions::from_config(&settings.block, expected_traces as usize);
    let format = if merge.is_some() {
        FORMAT_V4
    } else {
        FORMAT_VERSION
    };
    let mut writer = BlockWriter::new_with_format(
        Arc::clone(store),
        tenant.clone(),
        output_id,
        opts,
        clock.clone(),
        format,
    )?;
    if let Some(m) = merge {
        writer = writer.with_resource_merge(m)?;
    }
    let mut writer = writer
        .with_compaction_level(level)
        .with_compacted_from(job.inputs.iter().map(|m| m.block_id).collect());
    if !merger.service_name_exact() {
        writer.clear_service_name_exact();
    }
    let (mut spans, mut dups) = (0u64, 0u64);
    loop {
        let next = match merger.next().await {
            Ok(n) => n,
            Err(e) => {
                writer.abort().await;
                return Err(e.into());
            }
        };
        let Some(trace) = next else { break };
        spans += trace.rows.len() as u64;
        dups += trace.duplicates as u64;
        if let Err(e) = writer.add_trace_rows(trace.trace_id, &trace.rows).await {
            writer.abort().await;
            return Err(e.into());
        }
    }
    let output = writer.finish().await?;
    Ok((output, spans, dups))
}
