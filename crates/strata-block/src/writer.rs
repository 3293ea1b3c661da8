//! [`BlockWriter`]: streams spans into `data.parquet`, then writes `bloom` and `meta.json`.
//!
//! `data.parquet` is streamed: record batches go through parquet's [`AsyncArrowWriter`] into an
//! object-store [`BufWriter`], which switches to a multipart upload once the file outgrows its
//! buffer. Only the row group being encoded and the spans of the current trace are in memory.
//!
//! Format v3 (the default) adds the trace-level columns: each trace's summary is computed
//! from its spans in [`BlockWriter::emit_pending`], where the trace is emitted whole, and set
//! on its first row. [`BlockWriter::new_with_format`] writes format v2 instead (for a
//! rollout while some readers only know v2, and for tests of the v2 read path), or format v4
//! (each distinct resource once, in the footer's resource table: [`crate::resources`]; the
//! batch builder then keeps the table across batches and adds it to the footer at
//! [`BlockWriter::finish`]).

use std::sync::Arc;

use object_store::buffered::BufWriter;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use parquet::arrow::AsyncArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::metadata::KeyValue;
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::schema::types::ColumnPath;
use strata_common::{BlockId, SharedClock, TenantId, TraceId};
use strata_proto::otlp::common::InstrumentationScope;
use strata_proto::otlp::resource::Resource;
use strata_proto::otlp::trace::{ResourceSpans, Span};
use strata_storage::BlockPaths;

use crate::bloom::Bloom;
use crate::convert::{ResourceCtx, ScopeCtx, SpanBatchBuilder, TraceColumnsBuilder, TraceSummary};
use crate::error::{BlockError, Result};
use crate::meta::{write_meta, BlockMeta, FORMAT_KEY, FORMAT_V4, FORMAT_VERSION, WRITE_FORMATS};
use crate::resources::RESOURCES_KEY;
use crate::schema::{col, schema_for};

mod empty_values;
mod rows;
mod shares;
pub(crate) use empty_values::with_allocated_empty_values;
pub use shares::TraceShare;

/// A batch is handed to the Parquet writer once it holds this many rows (at the end of the
/// trace that reaches it). Small batches keep the Arrow builders' buffers in cache between
/// being filled and being encoded, and spare the buffers' growth copies: against one batch
/// per row group, 8–10 % more spans per CPU-second in `block_write` (BENCHMARKS.md).
/// Batches do not decide row-group boundaries; `row_group_max_spans` does.
const BATCH_ROWS: usize = 8192;

/// A batch is also handed over once its spans' protobuf size passes this, to bound memory with
/// very large spans and stay far from Arrow's 2 GiB-per-array offset limit.
const MAX_BATCH_BYTES: usize = 64 << 20;

/// How blocks are written.
#[derive(Debug, Clone, PartialEq)]
pub struct WriterOptions {
    /// Spans per Parquet row group (the last one may hold fewer).
    pub row_group_max_spans: usize,
    /// Target false-positive rate of the `bloom` object, in (0, 1).
    pub bloom_false_positive: f64,
    /// zstd level of Parquet pages.
    pub zstd_level: i32,
    /// Expected number of traces; only pre-sizes buffers. The bloom filter is sized on the
    /// actual number of distinct traces at [`BlockWriter::finish`], so it meets its target
    /// rate even when this hint is wrong.
    pub expected_traces: usize,
}

impl WriterOptions {
    pub fn from_config(c: &strata_config::BlockConfig, expected_traces: usize) -> Self {
        Self {
            row_group_max_spans: c.row_group_max_spans,
            bloom_false_positive: c.bloom_false_positive,
            zstd_level: c.zstd_level,
            expected_traces,
        }
    }

    pub(crate) fn validate(&self) -> Result<ZstdLevel> {
        if self.row_group_max_spans == 0 {
            return Err(BlockError::InvalidOptions(
                "row_group_max_spans must be positive".into(),
            ));
        }
        let fp = self.bloom_false_positive;
        if !(fp > 0.0 && fp < 1.0) {
            return Err(BlockError::InvalidOptions(format!(
                "bloom_false_positive {fp} is not in (0, 1)"
            )));
        }
        ZstdLevel::try_new(self.zstd_level)
            .map_err(|e| BlockError::InvalidOptions(format!("zstd_level: {e}")))
    }
}

impl Default for WriterOptions {
    fn default() -> Self {
        Self::from_config(&strata_config::BlockConfig::default(), 0)
    }
}

/// The spans of the trace being added, kept until a different trace ID arrives so that they
/// can be sorted by start time even when they come in several `add_trace` calls.
#[derive(Debug, Default)]
struct PendingTrace {
    resources: Vec<(Option<Resource>, String)>,
    scopes: Vec<(Option<InstrumentationScope>, String)>,
    /// (resource index, scope index, span, replica copy)
    spans: Vec<(usize, usize, Span, bool)>,
}

/// Parquet footer key, value `"true"`: every span's `service_name` equals what looking
/// `service.name` up in its resource attributes gives (no resource had a non-string first
/// `service.name`), so readers may answer `resource.service.name` from that column alone.
/// Written by format v2 writers when it holds; absent means "read the resource attributes".
pub const SERVICE_NAME_EXACT_KEY: &str = "strata.service_name_exact";

/// Whether a block's footer says its `service_name` column is exact ([`SERVICE_NAME_EXACT_KEY`]).
pub fn service_name_exact(md: &parquet::file::metadata::ParquetMetaData) -> bool {
    md.file_metadata().key_value_metadata().is_some_and(|kvs| {
        kvs.iter()
            .any(|kv| kv.key == SERVICE_NAME_EXACT_KEY && kv.value.as_deref() == Some("true"))
    })
}

/// Writes one block. See the crate docs for the sequence of objects.
/// Scalar columns that get page-level statistics (a column index): with the `type` leaf of
/// `resource_attrs` (chunk statistics: whether a row group may hold an array-valued resource
/// attribute), the only statistics readers use, so the only ones written.
const PAGE_STATS_COLUMNS: &[&str] = &[
    col::TRACE_ID,
    col::NAME,
    col::KIND,
    col::START,
    col::END,
    col::DURATION,
    col::STATUS_CODE,
    col::SERVICE_NAME,
];

pub struct BlockWriter {
    store: Arc<dyn ObjectStore>,
    paths: BlockPaths,
    opts: WriterOptions,
    clock: SharedClock,
    compaction_level: u32,
    compacted_from: Vec<BlockId>,
    parquet: Option<AsyncArrowWriter<BufWriter>>,
    /// In ref mode for format v4, holding the block's resource table.
    batch: SpanBatchBuilder,
    zstd: ZstdLevel,
    /// Format v4: the batch builder's table is a compaction's merge of its inputs' tables
    /// ([`BlockWriter::with_resource_merge`]), so rows with refs into it may be copied.
    merged_resources: bool,
    /// The format written, one of [`WRITE_FORMATS`].
    format: &'static str,
    /// The trace-level columns of the batch (format v3; `None` for v2).
    trace_cols: Option<TraceColumnsBuilder>,
    last_id: Option<TraceId>,
    pending: PendingTrace,
    /// The wire index of the trace being added, kept empty between traces for its
    /// allocations ([`crate::convert::wire::WireTrace::recycle`]).
    wire_scratch: crate::convert::wire::WireTrace<'static>,
    /// Rows of other blocks waiting to be copied ([`BlockWriter::add_trace_rows`]).
    rows: rows::PendingRows,
    /// Distinct IDs of traces with at least one span, ascending.
    trace_ids: Vec<TraceId>,
    total_spans: u64,
    min_start: u64,
    max_end: u64,
    /// Whether every span so far had an exact `service_name` ([`SERVICE_NAME_EXACT_KEY`]).
    service_name_exact: bool,
    /// Set when a write failed; the block can then no longer be finished.
    poisoned: bool,
}

impl std::fmt::Debug for BlockWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlockWriter")
            .field("paths", &self.paths)
            .field("opts", &self.opts)
            .field("traces", &self.trace_ids.len())
            .field("spans", &self.total_spans)
            .finish_non_exhaustive()
    }
}

impl BlockWriter {
    pub fn new(
        store: Arc<dyn ObjectStore>,
        tenant: TenantId,
        block_id: BlockId,
        opts: WriterOptions,
        clock: SharedClock,
    ) -> Result<Self> {
        Self::new_with_format(store, tenant, block_id, opts, clock, FORMAT_VERSION)
    }

    /// [`new`](Self::new) writing `format`, one of [`WRITE_FORMATS`] (others are
    /// [`BlockError::InvalidOptions`]).
    pub fn new_with_format(
        store: Arc<dyn ObjectStore>,
        tenant: TenantId,
        block_id: BlockId,
        opts: WriterOptions,
        clock: SharedClock,
        format: &str,
    ) -> Result<Self> {
        let zstd = opts.validate()?;
        let format: &'static str = WRITE_FORMATS
            .iter()
            .find(|f| **f == format)
            .ok_or_else(|| BlockError::InvalidOptions(format!("cannot write format {format}")))?;
        let schema = schema_for(format).expect("every write format has a schema");
        let paths = BlockPaths::new(tenant, block_id);
        let mut props = WriterProperties::builder()
            .set_compression(Compression::ZSTD(zstd))
            .set_dictionary_enabled(true)
            // Span IDs are unique: a dictionary would only be built and thrown away.
            .set_column_dictionary_enabled(ColumnPath::from(col::SPAN_ID), false)
            .set_column_dictionary_enabled(ColumnPath::from(col::PARENT_SPAN_ID), false)
            // Page statistics (the column index) where search prunes pages by value, chunk
            // statistics on the resource attributes' `type` (see below), none elsewhere.
            .set_statistics_enabled(EnabledStatistics::Chunk)
            .set_max_row_group_row_count(Some(opts.row_group_max_spans))
            .set_key_value_metadata(Some(vec![KeyValue::new(
                FORMAT_KEY.to_string(),
                format.to_string(),
            )]));
        // Statistics only where a reader uses them (building min/max of every string leaf
        // was ~8 % of a block write); every other leaf gets none.
        let leaves = parquet::arrow::ArrowSchemaConverter::new().convert(&schema)?;
        for c in leaves.columns() {
            let parts = c.path().parts();
            let used = parts.first().is_some_and(|top| {
                PAGE_STATS_COLUMNS.contains(&top.as_str())
                    || (top == col::RESOURCE_ATTRS
                        && parts.last().is_some_and(|l| l == col::attr::TYPE))
            });
            if !used {
                props =
                    props.set_column_statistics_enabled(c.path().clone(), EnabledStatistics::None);
            }
        }
        for c in PAGE_STATS_COLUMNS {
            props =
                props.set_column_statistics_enabled(ColumnPath::from(*c), EnabledStatistics::Page);
        }
        let props = props.build();
        let sink = BufWriter::new(store.clone(), paths.data());
        let parquet = AsyncArrowWriter::try_new(sink, schema, Some(props))?;
        Ok(Self {
            store,
            paths,
            trace_ids: Vec::with_capacity(opts.expected_traces.min(1 << 20)),
            opts,
            clock,
            compaction_level: 0,
            compacted_from: Vec::new(),
            parquet: Some(parquet),
            batch: if format == FORMAT_V4 {
                SpanBatchBuilder::with_resource_table()
            } else {
                SpanBatchBuilder::default()
            },
            zstd,
            merged_resources: false,
            format,
            trace_cols: (format != crate::meta::FORMAT_V2).then(TraceColumnsBuilder::default),
            last_id: None,
            pending: PendingTrace::default(),
            wire_scratch: Default::default(),
            rows: rows::PendingRows::default(),
            total_spans: 0,
            min_start: u64::MAX,
            max_end: 0,
            service_name_exact: true,
            poisoned: false,
        })
    }

    /// Makes a format v4 writer's resource table `merge` (its inputs' tables merged), so that
    /// [`add_trace_rows`](Self::add_trace_rows) may copy rows whose `resource_ref` points
    /// into it ([`BlockReader::row_stream_remapped`](crate::BlockReader::row_stream_remapped)).
    /// Only before anything is added.
    pub fn with_resource_merge(mut self, merge: crate::resources::ResourceMerge) -> Result<Self> {
        if self.batch.interner.is_none() || self.total_spans > 0 || self.last_id.is_some() {
            return Err(BlockError::InvalidOptions(
                "a resource merge is for a new format v4 writer".into(),
            ));
        }
        self.batch = merge.builder;
        self.merged_resources = true;
        Ok(self)
    }

    /// Sets `compactionLevel` in the meta (0 by default; a compactor raises it).
    pub fn with_compaction_level(mut self, level: u32) -> Self {
        self.compaction_level = level;
        self
    }

    /// Sets `compactedFrom` in the meta: the blocks this one replaces (a compactor's inputs).
    pub fn with_compacted_from(mut self, inputs: Vec<BlockId>) -> Self {
        self.compacted_from = inputs;
        self
    }

    /// Spans added so far.
    pub fn spans(&self) -> u64 {
        self.total_spans
    }

    /// Adds spans of one trace. Traces must come in non-descending trace-ID order; equal IDs
    /// add spans to the same trace. Every span's own `trace_id` must equal `trace_id`.
    /// Spans of one trace are written sorted by start time (stable). Nothing is changed when
    /// an error is returned for bad input (`OutOfOrder`, `TraceIdMismatch`); after an I/O or
    /// encoding error the writer is poisoned and can only be dropped or aborted.
    pub async fn add_trace(
        &mut self,
        trace_id: TraceId,
        resource_spans: &[ResourceSpans],
    ) -> Result<()> {
        self.add_trace_copy(trace_id, resource_spans, false).await
    }

    /// [`add_trace`](Self::add_trace) for spans that are replica copies when `replica` (rows
    /// with the `replica` column set, which TraceQL metrics skip).
    pub async fn add_trace_copy(
        &mut self,
        trace_id: TraceId,
        resource_spans: &[ResourceSpans],
        replica: bool,
    ) -> Result<()> {
        self.start_trace(trace_id, resource_spans).await?;
        for rs in resource_spans {
            let ri = self.pending.resources.len();
            self.pending
                .resources
                .push((rs.resource.clone(), rs.schema_url.clone()));
            for ss in &rs.scope_spans {
                let si = self.pending.scopes.len();
                self.pending
                    .scopes
                    .push((ss.scope.clone(), ss.schema_url.clone()));
                for span in &ss.spans {
                    self.pending.spans.push((ri, si, span.clone(), replica));
                }
            }
        }
        Ok(())
    }

    /// [`BlockWriter::add_trace`] taking the spans by value: nothing is copied.
    pub async fn add_trace_owned(
        &mut self,
        trace_id: TraceId,
        resource_spans: Vec<ResourceSpans>,
    ) -> Result<()> {
        self.add_trace_owned_copy(trace_id, resource_spans, false)
            .await
    }

    /// [`add_trace_copy`](Self::add_trace_copy) taking the spans by value.
    pub async fn add_trace_owned_copy(
        &mut self,
        trace_id: TraceId,
        resource_spans: Vec<ResourceSpans>,
        replica: bool,
    ) -> Result<()> {
        self.start_trace(trace_id, &resource_spans).await?;
        for rs in resource_spans {
            let ri = self.pending.resources.len();
            self.pending.resources.push((rs.resource, rs.schema_url));
            for ss in rs.scope_spans {
                let si = self.pending.scopes.len();
                self.pending.scopes.push((ss.scope, ss.schema_url));
                self.pending
                    .spans
                    .extend(ss.spans.into_iter().map(|span| (ri, si, span, replica)));
            }
        }
        Ok(())
    }

    /// Checks the order and the spans' trace IDs, and emits the previous trace when this is
    /// a new one.
    async fn start_trace(
        &mut self,
        trace_id: TraceId,
        resource_spans: &[ResourceSpans],
    ) -> Result<()> {
        self.check_usable()?;
        if let Some(prev) = self.last_id {
            if trace_id < prev {
                return Err(BlockError::OutOfOrder {
                    previous: prev,
                    current: trace_id,
                });
            }
        }
        let spans = resource_spans
            .iter()
            .flat_map(|rs| &rs.scope_spans)
            .flat_map(|ss| &ss.spans);
        for span in spans {
            if span.trace_id.as_slice() != trace_id.as_bytes() {
                return Err(BlockError::TraceIdMismatch {
                    expected: trace_id,
                    found: to_hex(&span.trace_id),
                });
            }
        }
        if self.last_id != Some(trace_id) {
            let r = self.emit_pending().await;
            self.poison_on_err(r)?;
            self.last_id = Some(trace_id);
        }
        Ok(())
    }

    /// Completes the block: writes the rest of `data.parquet`, then `bloom`, then `meta.json`
    /// last. Fails with [`BlockError::Empty`] (writing nothing) when no span was added.
    pub async fn finish(mut self) -> Result<BlockMeta> {
        self.check_usable()?;
        let r = self.emit_pending().await;
        self.poison_on_err(r)?;
        if self.total_spans == 0 {
            self.abort_upload().await;
            return Err(BlockError::Empty);
        }
        if !self.rows.is_empty() {
            let r = self.write_rows().await;
            self.poison_on_err(r)?;
        }
        if !self.batch.is_empty() {
            let r = self.write_batch().await;
            self.poison_on_err(r)?;
        }
        let resources = match self.batch.interner.is_some() {
            true => Some(self.batch.finish_resource_table()?),
            false => None,
        };
        let mut parquet = self.parquet.take().expect("checked by check_usable");
        if let Some(table) = resources {
            parquet.append_key_value_metadata(KeyValue::new(
                RESOURCES_KEY.to_string(),
                table.to_footer_value(self.zstd)?,
            ));
        }
        if self.service_name_exact {
            parquet.append_key_value_metadata(KeyValue::new(
                SERVICE_NAME_EXACT_KEY.to_string(),
                "true".to_string(),
            ));
        }
        let file = parquet.close().await?;
        let size_bytes = self.store.head(&self.paths.data()).await?.size;

        let mut bloom = Bloom::new(self.trace_ids.len(), self.opts.bloom_false_positive);
        for id in &self.trace_ids {
            bloom.insert(id);
        }
        let bloom_bytes = bloom.to_bytes();
        let bloom_len = bloom_bytes.len() as u64;
        self.store
            .put(&self.paths.bloom(), PutPayload::from(bloom_bytes))
            .await?;

        let meta = BlockMeta {
            format: self.format.to_string(),
            block_id: self.paths.block,
            tenant_id: self.paths.tenant.as_str().to_string(),
            start_time_unix_nano: self.min_start,
            end_time_unix_nano: self.max_end,
            total_traces: self.trace_ids.len() as u64,
            total_spans: self.total_spans,
            size_bytes,
            bloom_bytes: bloom_len,
            row_groups: u32::try_from(file.num_row_groups()).unwrap_or(u32::MAX),
            compaction_level: self.compaction_level,
            created_unix_nano: self.clock.now_unix_nanos(),
            compacted_from: std::mem::take(&mut self.compacted_from),
        };
        write_meta(self.store.as_ref(), &meta).await?;
        Ok(meta)
    }

    /// Gives up on the block: aborts the `data.parquet` upload if one is under way. Dropping
    /// the writer has the same visible effect (no `meta.json`, so readers never see the block),
    /// but may leave an unfinished multipart upload for the store's lifecycle rules to reap.
    pub async fn abort(mut self) {
        self.abort_upload().await;
    }

    async fn abort_upload(&mut self) {
        if let Some(p) = self.parquet.take() {
            let mut sink = p.into_inner();
            // Best effort: the block is abandoned either way.
            let _ = sink.abort().await;
        }
    }

    /// Usable, and `trace_id` greater than every ID added before (for the ways of adding a
    /// trace whole: its shares or rows).
    fn check_new_trace(&self, trace_id: TraceId) -> Result<()> {
        self.check_usable()?;
        match self.last_id {
            Some(prev) if trace_id <= prev => Err(BlockError::OutOfOrder {
                previous: prev,
                current: trace_id,
            }),
            _ => Ok(()),
        }
    }

    fn check_usable(&self) -> Result<()> {
        if self.poisoned || self.parquet.is_none() {
            return Err(BlockError::WriterFailed);
        }
        Ok(())
    }

    /// Marks the writer unusable if a step that changes buffered state failed.
    fn poison_on_err(&mut self, r: Result<()>) -> Result<()> {
        if r.is_err() {
            self.poisoned = true;
        }
        r
    }

    /// Appends the current trace's spans to the batch, sorted by start time, and writes the
    /// batch when it is full.
    async fn emit_pending(&mut self) -> Result<()> {
        let pending = std::mem::take(&mut self.pending);
        if pending.spans.is_empty() {
            return Ok(());
        }
        // Rows copied from other blocks go first: the trace-level columns are in row order.
        self.write_rows().await?;
        let id = self.last_id.expect("pending spans have an id");
        let resources: Vec<ResourceCtx<'_>> = pending
            .resources
            .iter()
            .map(|(r, url)| ResourceCtx::new(r.as_ref(), url))
            .collect();
        self.service_name_exact &= resources.iter().all(|r| r.service_name_exact());
        let mut spans = pending.spans;
        spans.sort_by_key(|(_, _, s, _)| s.start_time_unix_nano);
        // Format v4: each resource looked up in the block's table once per trace.
        let refs: Vec<Option<u32>> = match self.batch.interner.is_some() {
            true => (resources.iter())
                .map(|r| self.batch.intern_resource(r).map(Some))
                .collect::<Result<_>>()?,
            false => vec![None; resources.len()],
        };
        let mut summary = TraceSummary::default();
        for (ri, si, span, replica) in &spans {
            let (scope, url) = &pending.scopes[*si];
            let scope = ScopeCtx {
                scope: scope.as_ref(),
                schema_url: url,
            };
            self.batch
                .append_copy_ref(&id, &resources[*ri], &scope, span, *replica, refs[*ri])?;
            if self.trace_cols.is_some() {
                summary.row(
                    span.start_time_unix_nano,
                    span.end_time_unix_nano,
                    &span.name,
                    span.parent_span_id.is_empty(),
                    resources[*ri].service_name(),
                    span.status.as_ref().is_some_and(|st| st.code == 2),
                );
            }
            self.min_start = self.min_start.min(span.start_time_unix_nano);
            self.max_end = self.max_end.max(span.end_time_unix_nano);
            self.total_spans += 1;
        }
        if let Some(t) = self.trace_cols.as_mut() {
            t.append(&summary, spans.len())?;
        }
        self.trace_ids.push(id);
        self.write_batch_if_full().await
    }

    /// Writes the batch once it holds [`BATCH_ROWS`] rows (or a row group's, if fewer) or
    /// [`MAX_BATCH_BYTES`].
    async fn write_batch_if_full(&mut self) -> Result<()> {
        if self.batch.len() >= BATCH_ROWS.min(self.opts.row_group_max_spans)
            || self.batch.approx_bytes() >= MAX_BATCH_BYTES
        {
            self.write_batch().await?;
        }
        Ok(())
    }

    async fn write_batch(&mut self) -> Result<()> {
        let mut batch = self.batch.finish()?;
        if let Some(t) = self.trace_cols.as_mut() {
            let mut columns = batch.columns().to_vec();
            columns.extend(t.finish()?);
            let schema = schema_for(self.format).expect("every write format has a schema");
            batch = arrow_array::RecordBatch::try_new(schema, columns)?;
        }
        let batch = with_allocated_empty_values(batch)?;
        let parquet = self.parquet.as_mut().expect("checked by check_usable");
        parquet.write(&batch).await?;
        Ok(())
    }
}

fn to_hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}
