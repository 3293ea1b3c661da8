//! Compaction at the level of rows: [`RowStream`] reads a block's span rows grouped by trace
//! (as ranges of the decoded Arrow batches, nothing converted), and [`RowMerger`] merges several
//! by trace ID, dropping duplicate spans, into [`MergedRows`] that
//! [`BlockWriter::add_trace_rows`](crate::BlockWriter::add_trace_rows) copies into the output
//! run by run (Arrow's `MutableArrayData`). It produces the traces [`TraceMerger`](crate::TraceMerger) does
//! without turning every row into OTLP structs and back.
//!
//! Rules (the same as `TraceMerger`'s): two spans are duplicates when they have the same span ID
//! and kind; of a trace's copies, the counted ones (rows without the `replica` flag; every row of
//! a v1 block) come first, in input order and then row order, then the replica copies in the
//! same order, and the first copy of each span is kept. A span thus stays counted if any input
//! counted it.
//!
//! Batches hold only the span columns (the trace-level columns of v3 inputs are not read; the
//! writer derives them again). Their first columns are those of [`span_schema_v1`], in every
//! format (a v4 block's `resource_ref` is turned back into the resource columns), which is
//! what the writer copies; `replica` is read where present. The exception is
//! [`BlockReader::row_stream_remapped`]: a v4 block's rows with their `resource_ref` kept,
//! mapped into a merged resource table, for a v4 writer to copy ([`span_schema_v4`]). Memory: one
//! decoded batch per input, plus the batches the writer still refers to until it writes them.

use std::collections::HashSet;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;

use arrow_array::{
    Array, BinaryArray, BooleanArray, FixedSizeBinaryArray, Int32Array, RecordBatch, UInt32Array,
};
use parquet::arrow::async_reader::ParquetRecordBatchStream;
use parquet::arrow::{ParquetRecordBatchStreamBuilder, ProjectionMask};
use strata_common::{BlockId, TraceId};

use crate::convert::downcast;
use crate::error::{BlockError, Result};
use crate::guard::next_batch;
use crate::reader::{BlockReader, CountingReader};
use crate::resources::ResourceTable;
use crate::schema::{col, span_schema, span_schema_v1, span_schema_v4};

/// One row of a decoded batch.
#[derive(Debug, Clone)]
pub struct RowRef {
    pub batch: Arc<RecordBatch>,
    pub row: usize,
    /// The row is a replica copy (its `replica` column).
    pub replica: bool,
}

/// One trace's rows from one block: ranges of consecutive rows of decoded batches.
#[derive(Debug, Clone)]
pub struct TraceRows {
    pub trace_id: TraceId,
    pub segments: Vec<(Arc<RecordBatch>, std::ops::Range<usize>)>,
}

impl TraceRows {
    pub fn spans(&self) -> usize {
        self.segments.iter().map(|(_, r)| r.len()).sum()
    }
}

/// One merged trace: the rows kept, in the order of the module docs.
#[derive(Debug, Clone)]
pub struct MergedRows {
    pub trace_id: TraceId,
    pub rows: Vec<RowRef>,
    /// Duplicate spans dropped.
    pub duplicates: usize,
}

/// A block's span rows, trace by trace in ascending trace-ID order.
pub struct RowStream {
    block: BlockId,
    stream: ParquetRecordBatchStream<CountingReader>,
    /// Format v4: the table `resource_ref` points into (batches are handed out v3-shaped).
    resources: Option<Arc<ResourceTable>>,
    /// Set by `row_stream_remapped`: batches keep `resource_ref`, mapped through this.
    remap: Option<UInt32Array>,
    /// The batch being read and the first row not handed out yet.
    batch: Option<(Arc<RecordBatch>, usize)>,
    last: Option<TraceId>,
    service_name_exact: bool,
}

impl std::fmt::Debug for RowStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RowStream")
            .field("block", &self.block)
            .finish_non_exhaustive()
    }
}

impl BlockReader {
    /// [`row_stream`](Self::row_stream) of a format v4 block whose batches keep its shape
    /// (`resource_ref`, [`span_schema_v4`]), each ref mapped through `map` (this block's row
    /// of [`ResourceMerge::maps`](crate::resources::ResourceMerge)): the rows a writer with
    /// that merge copies.
    pub async fn row_stream_remapped(&self, batch_rows: usize, map: Vec<u32>) -> Result<RowStream> {
        let s = self.row_stream(batch_rows).await?;
        self.remapped(s, map)
    }

    /// `s` with its refs mapped through `map`; an error when the block has no resource table.
    fn remapped(&self, mut s: RowStream, map: Vec<u32>) -> Result<RowStream> {
        if s.resources.is_none() {
            return Err(BlockError::corrupt(
                self.meta().block_id,
                "a remapped row stream of a block without a resource table",
            ));
        }
        s.remap = Some(UInt32Array::from(map));
        Ok(s)
    }

    /// Streams the block's span rows by trace; `batch_rows` is the decoding batch size (0: 8192).
    /// Batches have the v3 resource columns in every format. The rows must be in trace-ID
    /// order: for a block of several sorted runs (format v5) use
    /// [`run_streams`](Self::run_streams).
    pub async fn row_stream(&self, batch_rows: usize) -> Result<RowStream> {
        self.stream_of(batch_rows, None).await
    }

    /// One [`row_stream`](Self::row_stream) per sorted run of the block (one for every format
    /// but v5, see [`crate::concat`]), each ref mapped through `map` when given (as
    /// [`row_stream_remapped`](Self::row_stream_remapped)).
    pub async fn run_streams(
        &self,
        batch_rows: usize,
        map: Option<Vec<u32>>,
    ) -> Result<Vec<RowStream>> {
        let counter = Arc::new(AtomicU64::new(0));
        let mut source = self.source(&counter)?;
        let file = self.file(&mut source).await?;
        let runs = crate::concat::sorted_runs(file.metadata(), &self.meta().format);
        let mut streams = Vec::with_capacity(runs.len());
        for run in runs {
            let s = self.stream_of(batch_rows, Some(run.collect())).await?;
            streams.push(match &map {
                Some(m) => self.remapped(s, m.clone())?,
                None => s,
            });
        }
        Ok(streams)
    }

    /// The rows of `row_groups` (all when `None`), by trace.
    async fn stream_of(
        &self,
        batch_rows: usize,
        row_groups: Option<Vec<usize>>,
    ) -> Result<RowStream> {
        let counter = Arc::new(AtomicU64::new(0));
        let mut source = self.source(&counter)?;
        let file = self.file(&mut source).await?;
        let service_name_exact = crate::writer::service_name_exact(file.metadata());
        let resources = self.resources(&file)?;
        // The span columns (with `replica` where the file has it): a prefix of every format,
        // with `resource_ref` for the resource columns in format v4.
        let span_cols = match resources {
            Some(_) => span_schema_v4().fields().len(),
            None => file
                .schema()
                .fields()
                .len()
                .min(span_schema().fields().len()),
        };
        let mask =
            ProjectionMask::roots(file.metadata().file_metadata().schema_descr(), 0..span_cols);
        let rows = if batch_rows == 0 { 8192 } else { batch_rows };
        let mut builder = ParquetRecordBatchStreamBuilder::new_with_metadata(source, file)
            .with_batch_size(rows)
            .with_projection(mask);
        if let Some(groups) = row_groups {
            builder = builder.with_row_groups(groups);
        }
        let stream = builder.build()?;
        Ok(RowStream {
            block: self.meta().block_id,
            stream,
            resources,
            remap: None,
            batch: None,
            last: None,
            service_name_exact,
        })
    }
}

fn trace_ids<'a>(batch: &'a RecordBatch, block: &BlockId) -> Result<&'a FixedSizeBinaryArray> {
    let ids: &FixedSizeBinaryArray = downcast(batch.column(0).as_ref(), col::TRACE_ID)?;
    if ids.value_length() != 16 || ids.null_count() != 0 {
        return Err(BlockError::corrupt(*block, "trace_id is not 16 bytes wide"));
    }
    Ok(ids)
}

fn id_of(ids: &FixedSizeBinaryArray, row: usize, block: &BlockId) -> Result<TraceId> {
    TraceId::from_slice(ids.value(row)).map_err(|e| BlockError::corrupt(*block, e.to_string()))
}

impl RowStream {
    pub fn block(&self) -> BlockId {
        self.block
    }

    /// Whether the block's `service_name` column is exact (`SERVICE_NAME_EXACT_KEY`).
    pub fn service_name_exact(&self) -> bool {
        self.service_name_exact
    }

    /// The next trace's rows, or `None` after the last.
    pub async fn next_trace(&mut self) -> Result<Option<TraceRows>> {
        let mut out: Option<TraceRows> = None;
        loop {
            if self.batch.is_none() {
                match next_batch(&mut self.stream, &self.block).await? {
                    Some(b) if b.num_rows() == 0 => continue,
                    Some(b) => {
                        let b = match &self.remap {
                            Some(map) => remap_batch(b, map)?,
                            None => BlockReader::expand(&self.resources, b)?,
                        };
                        self.batch = Some((Arc::new(b), 0));
                    }
                    None => return Ok(out),
                }
            }
            let (batch, pos) = self.batch.as_mut().expect("set above");
            let ids = trace_ids(batch, &self.block)?;
            let id = id_of(ids, *pos, &self.block)?;
            match &out {
                Some(t) if t.trace_id != id => return Ok(out),
                Some(_) => {}
                None => {
                    if self.last.is_some_and(|prev| id <= prev) {
                        let prev = self.last.expect("checked");
                        return Err(BlockError::corrupt(
                            self.block,
                            format!("rows not sorted: {id} after {prev}"),
                        ));
                    }
                    self.last = Some(id);
                    out = Some(TraceRows {
                        trace_id: id,
                        segments: Vec::new(),
                    });
                }
            }
            let mut end = *pos + 1;
            while end < ids.len() && ids.value(end) == id.as_bytes() {
                end += 1;
            }
            let segment = (batch.clone(), *pos..end);
            if end == ids.len() {
                self.batch = None;
            } else {
                *pos = end;
            }
            out.as_mut().expect("set above").segments.push(segment);
        }
    }
}

/// The columns dedup and the replica flag read.
struct Keys<'a> {
    span_id: &'a BinaryArray,
    kind: &'a Int32Array,
    replica: Option<&'a BooleanArray>,
}

impl<'a> Keys<'a> {
    fn of(batch: &'a RecordBatch) -> Result<Self> {
        let c = |name: &str| {
            batch
                .column_by_name(name)
                .ok_or_else(|| BlockError::corrupt("<batch>", format!("missing column {name}")))
        };
        Ok(Self {
            span_id: downcast(c(col::SPAN_ID)?.as_ref(), col::SPAN_ID)?,
            kind: downcast(c(col::KIND)?.as_ref(), col::KIND)?,
            replica: match batch.column_by_name(col::REPLICA) {
                Some(a) => Some(downcast(a.as_ref(), col::REPLICA)?),
                None => None,
            },
        })
    }
}

/// Merges the rows of several blocks; see the module docs.
#[derive(Debug)]
pub struct RowMerger {
    inputs: Vec<RowStream>,
    heads: Vec<Option<TraceRows>>,
}

impl RowMerger {
    /// Starts the merge (reads the first trace of every input).
    pub async fn new(mut inputs: Vec<RowStream>) -> Result<Self> {
        let mut heads = Vec::with_capacity(inputs.len());
        for s in &mut inputs {
            heads.push(s.next_trace().await?);
        }
        Ok(Self { inputs, heads })
    }

    /// Whether every input's `service_name` column is exact.
    pub fn service_name_exact(&self) -> bool {
        self.inputs.iter().all(RowStream::service_name_exact)
    }

    /// The next trace in ascending ID order, or `None` when every input is exhausted.
    pub async fn next(&mut self) -> Result<Option<MergedRows>> {
        let Some(min) = self.heads.iter().flatten().map(|t| t.trace_id).min() else {
            return Ok(None);
        };
        let mut parts = Vec::new();
        for i in 0..self.inputs.len() {
            if self.heads[i].as_ref().is_some_and(|t| t.trace_id == min) {
                let next = self.inputs[i].next_trace().await?;
                parts.extend(std::mem::replace(&mut self.heads[i], next));
            }
        }
        let segments: Vec<_> = parts.iter().flat_map(|t| &t.segments).collect();
        let keys = segments
            .iter()
            .map(|(b, _)| Keys::of(b))
            .collect::<Result<Vec<_>>>()?;
        let total: usize = segments.iter().map(|(_, r)| r.len()).sum();
        let mut seen: HashSet<(&[u8], i32)> = HashSet::with_capacity(total);
        let mut rows = Vec::with_capacity(total);
        // Counted copies first, then replica copies; the first copy of a span is kept.
        for replicas in [false, true] {
            for ((batch, range), k) in segments.iter().zip(&keys) {
                for row in range.clone() {
                    let replica = k.replica.is_some_and(|r| r.value(row));
                    if replica == replicas && seen.insert((k.span_id.value(row), k.kind.value(row)))
                    {
                        rows.push(RowRef {
                            batch: (*batch).clone(),
                            row,
                            replica,
                        });
                    }
                }
            }
        }
        Ok(Some(MergedRows {
            trace_id: min,
            duplicates: total - rows.len(),
            rows,
        }))
    }
}

/// `batch` with its `resource_ref` column mapped through `map`.
fn remap_batch(batch: RecordBatch, map: &UInt32Array) -> Result<RecordBatch> {
    let at = batch
        .schema()
        .index_of(col::RESOURCE_REF)
        .map_err(|_| BlockError::corrupt("<batch>", "no resource_ref column"))?;
    let refs: &UInt32Array = downcast(batch.column(at).as_ref(), col::RESOURCE_REF)?;
    let mut columns = batch.columns().to_vec();
    columns[at] = crate::resources::remap(refs, map)?;
    Ok(RecordBatch::try_new(batch.schema(), columns)?)
}

/// Number of leading span columns every format shares (all but `replica`).
pub(crate) fn shared_span_columns() -> usize {
    span_schema_v1().fields().len()
}
