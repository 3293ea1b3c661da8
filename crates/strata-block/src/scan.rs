//! Column scans over a block for search: [`BlockReader::scan`] streams a projection of
//! `data.parquet`, optionally restricted to some row groups and a row selection, and can keep
//! every trace whole within one yielded batch.
//!
//! Only the pages of the projected columns that hold selected rows are fetched (the reader
//! uses the offset index written with every block).
//!
//! A whole-trace scan yields the decoder's batches cut before their last trace, whose rows
//! are carried over; the carried rows and the start of the next batch that continues their
//! trace are yielded as a batch of their own. Only those few rows are copied: the rest of a
//! batch is yielded as a zero-copy slice.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use crate::guard::next_batch;
use arrow_array::{Array, FixedSizeBinaryArray, RecordBatch};
use arrow_select::concat::concat_batches;
use parquet::arrow::arrow_reader::RowSelection;
use parquet::arrow::async_reader::ParquetRecordBatchStream;
use parquet::arrow::{ParquetRecordBatchStreamBuilder, ProjectionMask};
use parquet::file::metadata::ParquetMetaData;
use strata_common::BlockId;

use crate::error::{BlockError, Result};
use crate::reader::{BlockReader, CountingReader};
use crate::resources::ResourceTable;
use crate::schema::col::{self, TRACE_ID};
use crate::schema::RESOURCE_COLUMNS;

/// What to read.
#[derive(Debug, Clone, Default)]
pub struct ScanRequest {
    /// Top-level column names of the block schema. Unknown names are an error.
    pub columns: Vec<&'static str>,
    /// Row groups to read, ascending; `None` for all.
    pub row_groups: Option<Vec<usize>>,
    /// Rows to read within those row groups; `None` for all.
    pub selection: Option<RowSelection>,
    /// Rows per decoded batch (the reader's unit; yielded batches may be larger when
    /// `whole_traces` joins pieces). 0 means the default of 8192.
    pub batch_rows: usize,
    /// Yield batches that never split a trace. Requires `trace_id` among `columns`.
    pub whole_traces: bool,
}

/// Batches from [`BlockReader::scan`].
pub struct Scan {
    block: BlockId,
    stream: ParquetRecordBatchStream<CountingReader>,
    /// Format v4: the table `resource_ref` points into, and the resource columns asked for.
    resources: Option<(Arc<ResourceTable>, Vec<&'static str>)>,
    counter: Arc<AtomicU64>,
    whole_traces: bool,
    /// Rows of the last trace seen (whole-trace scans), which may continue.
    carry: Option<RecordBatch>,
    /// A batch to yield after the one just yielded (whole-trace scans).
    ready: Option<RecordBatch>,
    done: bool,
}

impl BlockReader {
    /// The Parquet footer (row groups, statistics, page index), loaded once per reader.
    pub async fn parquet_metadata(&self) -> Result<Arc<ParquetMetaData>> {
        let counter = Arc::new(AtomicU64::new(0));
        let mut source = self.source(&counter)?;
        Ok(self.file(&mut source).await?.metadata().clone())
    }

    /// Streams the requested columns.
    pub async fn scan(&self, req: ScanRequest) -> Result<Scan> {
        let counter = Arc::new(AtomicU64::new(0));
        let mut source = self.source(&counter)?;
        let file = self.file(&mut source).await?;
        let resources = self.resources(&file)?;
        let mut roots = Vec::with_capacity(req.columns.len());
        for c in &req.columns {
            // Format v4: the resource columns come from the table, through `resource_ref`.
            let name = match resources {
                Some(_) if RESOURCE_COLUMNS.contains(c) => col::RESOURCE_REF,
                _ => c,
            };
            let i = file.schema().index_of(name).map_err(|_| {
                BlockError::corrupt(self.meta().block_id, format!("scan of unknown column {c}"))
            })?;
            roots.push(i);
        }
        let wanted: Vec<&'static str> = (req.columns.iter())
            .copied()
            .filter(|c| RESOURCE_COLUMNS.contains(c))
            .collect();
        if req.whole_traces && !req.columns.contains(&TRACE_ID) {
            return Err(BlockError::corrupt(
                self.meta().block_id,
                "whole-trace scan without the trace_id column",
            ));
        }
        let mask = ProjectionMask::roots(file.parquet_schema(), roots);
        let rows = if req.batch_rows == 0 {
            8192
        } else {
            req.batch_rows
        };
        let mut b = ParquetRecordBatchStreamBuilder::new_with_metadata(source, file)
            .with_projection(mask)
            .with_batch_size(rows);
        if let Some(rg) = req.row_groups {
            b = b.with_row_groups(rg);
        }
        if let Some(sel) = req.selection {
            b = b.with_row_selection(sel);
        }
        Ok(Scan {
            block: self.meta().block_id,
            stream: b.build()?,
            resources: resources.map(|t| (t, wanted)),
            counter,
            whole_traces: req.whole_traces,
            carry: None,
            ready: None,
            done: false,
        })
    }
}

impl Scan {
    /// The next decoded batch, its resource columns taken from the table (format v4).
    async fn decoded(&mut self) -> Result<Option<RecordBatch>> {
        let batch = next_batch(&mut self.stream, &self.block).await?;
        match (&self.resources, batch) {
            (Some((t, wanted)), Some(b)) => Ok(Some(t.expand(b, wanted)?)),
            (_, b) => Ok(b),
        }
    }

    /// The next batch, or `None` at the end.
    pub async fn next(&mut self) -> Result<Option<RecordBatch>> {
        if !self.whole_traces {
            return self.decoded().await;
        }
        if let Some(b) = self.ready.take() {
            return Ok(Some(b));
        }
        loop {
            if self.done {
                return Ok(self.carry.take());
            }
            let Some(batch) = self.decoded().await? else {
                self.done = true;
                continue;
            };
            if batch.num_rows() == 0 {
                continue;
            }
            // The carried trace, completed by the rows of this batch that continue it.
            let (head, rest) = match self.carry.take() {
                None => (None, batch),
                Some(prev) => {
                    let k = continuing_rows(&prev, &batch)?;
                    if k == batch.num_rows() {
                        self.carry = Some(concat_batches(&batch.schema(), [&prev, &batch])?);
                        continue;
                    }
                    let head = if k == 0 {
                        prev
                    } else {
                        concat_batches(&batch.schema(), [&prev, &batch.slice(0, k)])?
                    };
                    (Some(head), batch.slice(k, batch.num_rows() - k))
                }
            };
            // Hold back the last trace: its rows may continue in the next batch.
            let cut = last_trace_start(&rest)?;
            self.carry = Some(rest.slice(cut, rest.num_rows() - cut));
            let body = (cut > 0).then(|| rest.slice(0, cut));
            match (head, body) {
                (Some(h), body) => {
                    self.ready = body;
                    return Ok(Some(h));
                }
                (None, Some(b)) => return Ok(Some(b)),
                (None, None) => {}
            }
        }
    }

    /// Bytes fetched from the object store so far (the footer is fetched once per reader
    /// and not counted here).
    pub fn inspected_bytes(&self) -> u64 {
        self.counter.load(Ordering::Relaxed)
    }
}

fn ids_of(batch: &RecordBatch) -> Result<&FixedSizeBinaryArray> {
    batch
        .column_by_name(TRACE_ID)
        .and_then(|c| c.as_any().downcast_ref::<FixedSizeBinaryArray>())
        .ok_or_else(|| {
            BlockError::Arrow(arrow_schema::ArrowError::SchemaError(
                "trace_id missing from scan".into(),
            ))
        })
}

/// How many leading rows of `next` belong to the last trace of `prev` (non-empty).
fn continuing_rows(prev: &RecordBatch, next: &RecordBatch) -> Result<usize> {
    let (a, b) = (ids_of(prev)?, ids_of(next)?);
    let Some(last) = a.len().checked_sub(1).map(|i| a.value(i)) else {
        return Ok(0);
    };
    Ok((0..b.len()).take_while(|&i| b.value(i) == last).count())
}

/// Index of the first row of the batch's last trace.
fn last_trace_start(batch: &RecordBatch) -> Result<usize> {
    let ids = ids_of(batch)?;
    let n = ids.len();
    if n == 0 {
        return Ok(0);
    }
    let last = ids.value(n - 1);
    let mut i = n - 1;
    while i > 0 && ids.value(i - 1) == last {
        i -= 1;
    }
    Ok(i)
}
