//! [`BlockReader`]: finds traces in a block's `data.parquet`; [`read_bloom`] loads its filter.

use std::ops::Range;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use arrow_array::{Array, BooleanArray, FixedSizeBinaryArray, RecordBatch};
use arrow_schema::ArrowError;
use bytes::Bytes;
use futures::future::BoxFuture;
use futures::FutureExt;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt};
use parquet::arrow::arrow_reader::{
    ArrowPredicateFn, ArrowReaderMetadata, ArrowReaderOptions, RowFilter,
};
use parquet::arrow::async_reader::AsyncFileReader;
use parquet::arrow::{ParquetRecordBatchStreamBuilder, ProjectionMask};
use parquet::errors::ParquetError;
use parquet::file::metadata::{
    PageIndexPolicy, ParquetMetaData, ParquetMetaDataReader, RowGroupMetaData,
};
use strata_common::{BlockId, TenantId, TraceId};
use strata_proto::otlp::trace::ResourceSpans;
use strata_storage::BlockPaths;
use tokio::sync::OnceCell;

use crate::bloom::Bloom;
use crate::convert::{BatchView, TraceAssembler};
use crate::error::{BlockError, Result};
use crate::footer_cache::FooterCache;
use crate::guard::next_batch;
use crate::meta::{BlockMeta, FORMAT_KEY, READ_FORMATS, READ_FORMATS_TEXT};
use crate::resources::ResourceTable;
use crate::schema::{col, schema_for, TRACE_ID_COLUMN};

/// Reads a block's `bloom` object.
pub async fn read_bloom(
    store: &dyn ObjectStore,
    tenant: &TenantId,
    block: BlockId,
) -> Result<Bloom> {
    let path = BlockPaths::new(tenant.clone(), block).bloom();
    let bytes = store.get(&path).await?.bytes().await?;
    Bloom::from_bytes(&bytes)
}

/// Row groups a trace lookup fetches whole (one ranged read; the row filter then decodes from
/// memory) when their compressed size is at most this: on an object store one larger read
/// costs less than the second round trip the row filter would otherwise make. Row groups of a
/// few thousand spans are below it.
pub const WHOLE_READ_BYTES: i64 = 512 << 10;

/// A trace lookup whose block's footer is not at hand fetches the whole `data.parquet` in one
/// ranged read when it is at most this large, and decodes footer, page index and rows from
/// memory: a block's first lookup then costs one round trip, not two or three.
pub const WHOLE_FILE_BYTES: u64 = 256 << 10;

/// The result of [`BlockReader::find_trace`].
#[derive(Debug, Clone, PartialEq)]
pub struct FindResult {
    /// The trace's spans, grouped under their resources and scopes (first-seen order; spans
    /// within a scope by start time).
    pub resource_spans: Vec<ResourceSpans>,
    /// Number of spans found.
    pub spans: usize,
    /// Bytes fetched from `data.parquet` by this call. Includes the footer and page index the
    /// first time a reader needs them (they are then cached in the reader).
    pub inspected_bytes: u64,
}

/// Reads one block. Cheap to create; loads and caches the Parquet footer on first use, and the
/// bloom filter on the first [`may_contain`](Self::may_contain).
#[derive(Debug)]
pub struct BlockReader {
    store: Arc<dyn ObjectStore>,
    meta: BlockMeta,
    file: OnceCell<ArrowReaderMetadata>,
    /// When set, the footer is kept here (bounded) instead of in `file`.
    footers: Option<Arc<FooterCache>>,
    bloom: OnceCell<Bloom>,
    /// Format v4: the footer's resource table, parsed once.
    resources: std::sync::OnceLock<Arc<ResourceTable>>,
    /// Row groups of at most this many compressed bytes are read whole by `find_trace`.
    whole_read_bytes: i64,
}

impl BlockReader {
    pub fn new(store: Arc<dyn ObjectStore>, meta: BlockMeta) -> Self {
        Self {
            store,
            meta,
            file: OnceCell::new(),
            footers: None,
            bloom: OnceCell::new(),
            resources: std::sync::OnceLock::new(),
            whole_read_bytes: WHOLE_READ_BYTES,
        }
    }

    /// Row groups [`find_trace`](Self::find_trace) reads whole (see [`WHOLE_READ_BYTES`],
    /// the default); 0 always uses the row filter.
    pub fn with_whole_read_bytes(mut self, bytes: i64) -> Self {
        self.whole_read_bytes = bytes;
        self
    }

    /// Keeps the decoded footer in `cache` (bounded, shared by many readers) rather than in
    /// this reader for as long as it lives. See [`FooterCache`].
    pub fn with_footer_cache(mut self, cache: Arc<FooterCache>) -> Self {
        self.footers = Some(cache);
        self
    }

    /// Whether the block's bloom filter admits `id` (false: the trace is certainly not in the
    /// block). The `bloom` object is read once and kept; an error reading it is returned (the
    /// caller should then look in the block).
    pub async fn may_contain(&self, id: &TraceId) -> Result<bool> {
        let bloom = self
            .bloom
            .get_or_try_init(|| async {
                let paths = self.meta.paths()?;
                read_bloom(self.store.as_ref(), &paths.tenant, paths.block).await
            })
            .await?;
        Ok(bloom.may_contain(id))
    }

    /// Reads `meta.json` (rejecting unknown formats) and returns a reader for the block.
    pub async fn open(
        store: Arc<dyn ObjectStore>,
        tenant: &TenantId,
        block: BlockId,
    ) -> Result<Self> {
        let meta = crate::meta::read_meta(store.as_ref(), tenant, block).await?;
        Ok(Self::new(store, meta))
    }

    pub fn meta(&self) -> &BlockMeta {
        &self.meta
    }

    pub(crate) fn store(&self) -> &Arc<dyn ObjectStore> {
        &self.store
    }

    /// How many sorted runs the block's rows form (1 but in format v5, see
    /// [`crate::concat`]); loads the footer for v5.
    pub async fn sorted_runs(&self) -> Result<usize> {
        if self.meta.format != crate::meta::FORMAT_V5 {
            return Ok(1);
        }
        let counter = Arc::new(AtomicU64::new(0));
        let mut source = self.source(&counter)?;
        let file = self.file(&mut source).await?;
        Ok(crate::concat::sorted_runs(file.metadata(), &self.meta.format).len())
    }

    pub(crate) fn source(&self, counter: &Arc<AtomicU64>) -> Result<CountingReader> {
        self.meta.check_format()?;
        Ok(CountingReader {
            store: self.store.clone(),
            path: self.meta.paths()?.data(),
            size: self.meta.size_bytes,
            counter: counter.clone(),
            buffered: Vec::new(),
        })
    }

    /// The Parquet footer (with page index), checked against the schema: loaded once and kept
    /// by the reader, or kept in its [`FooterCache`] (and loaded again once evicted).
    pub(crate) async fn file(&self, source: &mut CountingReader) -> Result<ArrowReaderMetadata> {
        let id = self.meta.block_id;
        match &self.footers {
            Some(cache) => {
                if let Some(file) = cache.get(id) {
                    return Ok(file);
                }
                let file = self.load_file(source).await?;
                cache.insert(id, file.clone());
                Ok(file)
            }
            None => self
                .file
                .get_or_try_init(|| self.load_file(source))
                .await
                .cloned(),
        }
    }

    /// The resource table of a format v4 file (parsed from its footer once per reader, and
    /// kept with the footer in the reader's [`FooterCache`] if it has one);
    /// `None` for the other formats, whose rows hold the resource columns.
    pub(crate) fn resources(
        &self,
        file: &ArrowReaderMetadata,
    ) -> Result<Option<Arc<ResourceTable>>> {
        if file.schema().index_of(col::RESOURCE_REF).is_err() {
            return Ok(None);
        }
        if let Some(t) = self.resources.get() {
            return Ok(Some(t.clone()));
        }
        let id = self.meta.block_id;
        let cached = self.footers.as_ref().and_then(|c| c.table(id));
        let t = match cached {
            Some(t) => t,
            None => {
                let t = Arc::new(ResourceTable::from_footer(file.metadata(), id)?);
                if let Some(c) = &self.footers {
                    c.insert_table(id, t.clone());
                }
                t
            }
        };
        Ok(Some(self.resources.get_or_init(|| t).clone()))
    }

    /// The block's resource table (format v4; `None` for the other formats), loading the
    /// footer if needed.
    pub async fn resource_table(&self) -> Result<Option<Arc<ResourceTable>>> {
        let counter = Arc::new(AtomicU64::new(0));
        let mut source = self.source(&counter)?;
        let file = self.file(&mut source).await?;
        self.resources(&file)
    }

    /// `batch` as a v3-shaped one: with `resources`, `resource_ref` becomes the four resource
    /// columns.
    pub(crate) fn expand(
        resources: &Option<Arc<ResourceTable>>,
        batch: RecordBatch,
    ) -> Result<RecordBatch> {
        match resources {
            Some(t) => t.expand_all(batch),
            None => Ok(batch),
        }
    }

    /// Whether the decoded footer is at hand (in this reader or its cache) without a read.
    fn footer_held(&self) -> bool {
        match &self.footers {
            Some(cache) => cache.contains(self.meta.block_id),
            None => self.file.initialized(),
        }
    }

    async fn load_file(&self, source: &mut CountingReader) -> Result<ArrowReaderMetadata> {
        let options = ArrowReaderOptions::new().with_page_index_policy(PageIndexPolicy::Optional);
        let file = ArrowReaderMetadata::load_async(source, options).await?;
        let format = self.check_file(file.metadata())?;
        crate::layout::check_ranges(file.metadata(), self.meta.size_bytes)
            .map_err(|reason| BlockError::corrupt(self.meta.block_id, reason))?;
        let schema = schema_for(format).expect("every read format has a schema");
        if file.schema().fields() != schema.fields() {
            return Err(BlockError::corrupt(
                self.meta.block_id,
                format!("data.parquet does not have the {format} schema"),
            ));
        }
        Ok(file)
    }

    /// The file's format, one of [`READ_FORMATS`].
    fn check_file(&self, md: &ParquetMetaData) -> Result<&'static str> {
        let format = md
            .file_metadata()
            .key_value_metadata()
            .and_then(|kvs| kvs.iter().find(|kv| kv.key == FORMAT_KEY))
            .and_then(|kv| kv.value.clone());
        match READ_FORMATS.iter().find(|f| Some(**f) == format.as_deref()) {
            Some(f) => Ok(f),
            None => Err(BlockError::UnsupportedFormat {
                block: self.meta.block_id,
                found: format.unwrap_or_else(|| "<none>".to_string()),
                expected: READ_FORMATS_TEXT,
            }),
        }
    }

    /// Finds one trace. When the footer is not at hand and the file is at most
    /// [`WHOLE_FILE_BYTES`], the whole file is fetched first in one read and everything below
    /// comes from memory. Row groups whose `trace_id` min/max statistics exclude the ID are
    /// skipped (rows are sorted by trace ID, so usually one row group is read; in format v5,
    /// one per sorted run). When the row groups left hold at most [`WHOLE_READ_BYTES`] of
    /// compressed data, their column chunks are fetched together first; otherwise the reads
    /// follow the row filter (two: the `trace_id` chunks, all fetched together, then the pages
    /// of the other columns holding its rows). Either way a
    /// row filter on `trace_id` decodes the other columns only for the trace's rows. Returns `None` when the block has no span of the trace.
    pub async fn find_trace(&self, trace_id: &TraceId) -> Result<Option<FindResult>> {
        let counter = Arc::new(AtomicU64::new(0));
        let mut source = self.source(&counter)?;
        if self.meta.size_bytes <= WHOLE_FILE_BYTES && !self.footer_held() {
            // Footer, page index and data in one round trip instead of two or three.
            source.fetch_ahead(0..self.meta.size_bytes).await?;
        }
        let file = self.file(&mut source).await?;
        let row_groups: Vec<usize> = file
            .metadata()
            .row_groups()
            .iter()
            .enumerate()
            .filter(|(_, rg)| may_hold(rg, trace_id))
            .map(|(i, _)| i)
            .collect();
        if row_groups.is_empty() {
            return Ok(None);
        }
        let target = *trace_id;
        let md = file.metadata();
        let compressed: i64 = row_groups
            .iter()
            .map(|&i| md.row_group(i).compressed_size())
            .sum();
        let chunk = |(at, len): (u64, u64)| at..at + len;
        if compressed <= self.whole_read_bytes {
            // The selected row groups' column chunks, fetched together (one read when they
            // adjoin): the row filter below then decodes `trace_id` first and the other
            // columns only for its rows, all from memory.
            let ranges = (row_groups.iter())
                .flat_map(|&i| md.row_group(i).columns())
                .map(|c| chunk(c.byte_range()))
                .collect();
            source.fetch_ahead_ranges(ranges).await?;
        } else if row_groups.len() > 1 {
            // Several row groups (one per sorted run of a v5 block, or a trace's neighbours):
            // their `trace_id` chunks fetched together, so the row filter reads them from
            // memory rather than with one round trip per row group.
            let ranges = (row_groups.iter())
                .map(|&i| chunk(md.row_group(i).column(TRACE_ID_COLUMN).byte_range()))
                .collect();
            source.fetch_ahead_ranges(ranges).await?;
        }
        let resources = self.resources(&file)?;
        let mask = ProjectionMask::roots(file.parquet_schema(), [TRACE_ID_COLUMN]);
        let predicate = ArrowPredicateFn::new(mask, move |batch: RecordBatch| {
            let ids = batch
                .column(0)
                .as_any()
                .downcast_ref::<FixedSizeBinaryArray>()
                .ok_or_else(|| ArrowError::SchemaError("trace_id is not FixedSizeBinary".into()))?;
            Ok(ids
                .iter()
                .map(|v| Some(v == Some(target.as_bytes().as_slice())))
                .collect::<BooleanArray>())
        });
        let mut stream = ParquetRecordBatchStreamBuilder::new_with_metadata(source, file.clone())
            .with_row_groups(row_groups)
            .with_row_filter(RowFilter::new(vec![Box::new(predicate)]))
            .build()?;
        let mut asm = TraceAssembler::default();
        while let Some(batch) = next_batch(&mut stream, &self.meta().block_id).await? {
            let batch = Self::expand(&resources, batch)?;
            let view = BatchView::new(&batch)?;
            for row in 0..view.len() {
                asm.push_row(&view, row)?;
            }
        }
        if asm.is_empty() {
            return Ok(None);
        }
        Ok(Some(FindResult {
            spans: asm.span_count(),
            resource_spans: asm.finish(),
            inspected_bytes: counter.load(Ordering::Relaxed),
        }))
    }

    /// Every trace of the block, in trace-ID order (in format v5, each trace's rows of every
    /// run together). Loads the whole block.
    pub async fn read_all(&self) -> Result<Vec<(TraceId, Vec<ResourceSpans>)>> {
        let counter = Arc::new(AtomicU64::new(0));
        let mut source = self.source(&counter)?;
        let file = self.file(&mut source).await?;
        let resources = self.resources(&file)?;
        let mut stream =
            ParquetRecordBatchStreamBuilder::new_with_metadata(source, file).build()?;
        // Rows are in trace-ID order, except that a v5 block holds several sorted runs, so a
        // trace's rows may be in more than one: gathered by ID, each trace once.
        let several_runs = self.meta.format == crate::meta::FORMAT_V5;
        let mut traces: std::collections::BTreeMap<TraceId, TraceAssembler> =
            std::collections::BTreeMap::new();
        let mut prev: Option<TraceId> = None;
        while let Some(batch) = next_batch(&mut stream, &self.meta().block_id).await? {
            let batch = Self::expand(&resources, batch)?;
            let view = BatchView::new(&batch)?;
            for row in 0..view.len() {
                let id = view.trace_id(row);
                if let Some(p) = prev.filter(|p| id < *p && !several_runs) {
                    return Err(BlockError::corrupt(
                        self.meta.block_id,
                        format!("rows not sorted: {id} after {p}"),
                    ));
                }
                prev = Some(id);
                traces.entry(id).or_default().push_row(&view, row)?;
            }
        }
        Ok(traces
            .into_iter()
            .map(|(id, asm)| (id, asm.finish()))
            .collect())
    }
}

/// False only when the row group's `trace_id` statistics prove the ID is absent.
fn may_hold(rg: &RowGroupMetaData, id: &TraceId) -> bool {
    let Some(stats) = rg.column(TRACE_ID_COLUMN).statistics() else {
        return true;
    };
    let id = id.as_bytes().as_slice();
    let above_min = stats.min_bytes_opt().is_none_or(|min| min <= id);
    let below_max = stats.max_bytes_opt().is_none_or(|max| id <= max);
    above_min && below_max
}

/// An [`AsyncFileReader`] over `data.parquet` that counts the bytes it fetches.
pub(crate) struct CountingReader {
    store: Arc<dyn ObjectStore>,
    path: Path,
    size: u64,
    counter: Arc<AtomicU64>,
    /// Regions fetched ahead, each with the file offset it starts at: ranges inside one of
    /// them are served from memory, others from the store.
    buffered: Vec<(u64, Bytes)>,
}

impl CountingReader {
    /// Fetches `range` of the file in one ranged read; later reads inside it come from memory.
    async fn fetch_ahead(&mut self, range: Range<u64>) -> Result<()> {
        self.fetch_ahead_ranges(vec![range]).await
    }

    /// Fetches those of `ranges` not yet buffered together (one `get_ranges`: the store
    /// coalesces neighbours and fetches the rest concurrently); later reads inside them come
    /// from memory.
    async fn fetch_ahead_ranges(&mut self, ranges: Vec<Range<u64>>) -> Result<()> {
        let ranges: Vec<Range<u64>> = (ranges.into_iter())
            .filter(|r| r.start < r.end && !self.is_buffered(r.start, r.end))
            .collect();
        if ranges.is_empty() {
            return Ok(());
        }
        let parts = self.store.get_ranges(&self.path, &ranges).await?;
        for (r, b) in ranges.into_iter().zip(parts) {
            self.counter.fetch_add(b.len() as u64, Ordering::Relaxed);
            self.buffered.push((r.start, b));
        }
        Ok(())
    }

    /// The buffered region holding `start..end` of the file, if one does.
    fn region(&self, start: u64, end: u64) -> Option<&(u64, Bytes)> {
        (self.buffered.iter()).find(|(at, b)| *at <= start && end <= at + b.len() as u64)
    }

    /// Whether `start..end` of the file is buffered.
    fn is_buffered(&self, start: u64, end: u64) -> bool {
        self.region(start, end).is_some()
    }

    /// `range` from the buffer, if it lies inside one region.
    fn buffered_range(&self, range: &Range<u64>) -> Option<Bytes> {
        if range.start > range.end {
            return None;
        }
        let (at, b) = self.region(range.start, range.end)?;
        Some(b.slice((range.start - at) as usize..(range.end - at) as usize))
    }
}

fn external(e: object_store::Error) -> ParquetError {
    ParquetError::External(Box::new(e))
}

impl AsyncFileReader for CountingReader {
    fn get_bytes(&mut self, range: Range<u64>) -> BoxFuture<'_, parquet::errors::Result<Bytes>> {
        async move {
            if let Some(b) = self.buffered_range(&range) {
                return Ok(b);
            }
            let b = self
                .store
                .get_range(&self.path, range)
                .await
                .map_err(external)?;
            self.counter.fetch_add(b.len() as u64, Ordering::Relaxed);
            Ok(b)
        }
        .boxed()
    }

    fn get_byte_ranges(
        &mut self,
        ranges: Vec<Range<u64>>,
    ) -> BoxFuture<'_, parquet::errors::Result<Vec<Bytes>>> {
        async move {
            let buffered: Option<Vec<Bytes>> =
                ranges.iter().map(|r| self.buffered_range(r)).collect();
            if let Some(parts) = buffered {
                return Ok(parts);
            }
            let parts = self
                .store
                .get_ranges(&self.path, &ranges)
                .await
                .map_err(external)?;
            let n: usize = parts.iter().map(Bytes::len).sum();
            self.counter.fetch_add(n as u64, Ordering::Relaxed);
            Ok(parts)
        }
        .boxed()
    }

    fn get_metadata<'a>(
        &'a mut self,
        options: Option<&'a ArrowReaderOptions>,
    ) -> BoxFuture<'a, parquet::errors::Result<Arc<ParquetMetaData>>> {
        async move {
            let size = self.size;
            let md = ParquetMetaDataReader::new()
                .with_metadata_options(options.map(|o| o.metadata_options().clone()))
                .with_page_index_policy(PageIndexPolicy::Optional)
                .with_prefetch_hint(Some(64 * 1024))
                .load_and_finish(self, size)
                .await?;
            Ok(Arc::new(md))
        }
        .boxed()
    }
}
