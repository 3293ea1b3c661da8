//! [`TraceStream`]: a block's traces in trace-ID order, read one row group at a time.
//!
//! Memory is bounded by one row group's decoded columns plus the trace being assembled; a
//! trace that straddles two row groups is joined. Rows must be sorted by trace ID (the block
//! format's invariant); a violation is reported as a corrupt block.

use std::sync::atomic::AtomicU64;
use std::sync::Arc;

use crate::guard::next_batch;
use arrow_array::RecordBatch;
use parquet::arrow::async_reader::ParquetRecordBatchStream;
use parquet::arrow::ParquetRecordBatchStreamBuilder;
use strata_common::{BlockId, TraceId};
use strata_proto::otlp::trace::ResourceSpans;

use crate::convert::{BatchView, TraceAssembler};
use crate::error::{BlockError, Result};
use crate::reader::{BlockReader, CountingReader};
use crate::resources::ResourceTable;

/// One trace's spans from one block.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamedTrace {
    pub trace_id: TraceId,
    /// Counted spans (rows without the `replica` flag; every row of a v1 block).
    pub resource_spans: Vec<ResourceSpans>,
    /// Replica copies (rows with the `replica` flag).
    pub replica_resource_spans: Vec<ResourceSpans>,
    /// Both kinds.
    pub spans: usize,
}

/// A trace being assembled: counted rows and replica rows apart.
#[derive(Default)]
struct Pending {
    counted: TraceAssembler,
    replica: TraceAssembler,
}

impl Pending {
    fn push_row(&mut self, view: &BatchView<'_>, row: usize) -> Result<()> {
        if view.is_replica(row) {
            self.replica.push_row(view, row)
        } else {
            self.counted.push_row(view, row)
        }
    }
}

/// Traces of one block in ascending trace-ID order; see the module docs.
pub struct TraceStream {
    block: BlockId,
    stream: ParquetRecordBatchStream<CountingReader>,
    /// Format v4: the table `resource_ref` points into.
    resources: Option<Arc<ResourceTable>>,
    batch: Option<RecordBatch>,
    row: usize,
    current: Option<(TraceId, Pending)>,
    last: Option<TraceId>,
}

impl std::fmt::Debug for TraceStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TraceStream")
            .field("block", &self.block)
            .finish_non_exhaustive()
    }
}

impl BlockReader {
    /// Streams the block's traces; `batch_rows` is the decoding batch size (0: 8192).
    pub async fn trace_stream(&self, batch_rows: usize) -> Result<TraceStream> {
        if self.meta().format == crate::meta::FORMAT_V5 {
            return Err(BlockError::InvalidOptions(format!(
                "block {} holds several sorted runs (format v5): read it with run_streams",
                self.meta().block_id
            )));
        }
        let counter = Arc::new(AtomicU64::new(0));
        let mut source = self.source(&counter)?;
        let file = self.file(&mut source).await?;
        let resources = self.resources(&file)?;
        let rows = if batch_rows == 0 { 8192 } else { batch_rows };
        let stream = ParquetRecordBatchStreamBuilder::new_with_metadata(source, file)
            .with_batch_size(rows)
            .build()?;
        Ok(TraceStream {
            block: self.meta().block_id,
            stream,
            resources,
            batch: None,
            row: 0,
            current: None,
            last: None,
        })
    }
}

impl TraceStream {
    /// The block being read.
    pub fn block(&self) -> BlockId {
        self.block
    }

    /// The next trace, or `None` after the last.
    pub async fn next_trace(&mut self) -> Result<Option<StreamedTrace>> {
        loop {
            if self.batch.is_none() {
                match next_batch(&mut self.stream, &self.block).await? {
                    Some(b) => {
                        self.batch = Some(BlockReader::expand(&self.resources, b)?);
                        self.row = 0;
                    }
                    None => return Ok(self.current.take().map(finish)),
                }
            }
            let batch = self.batch.as_ref().expect("set above");
            let view = BatchView::new(batch)?;
            while self.row < view.len() {
                let id = view.trace_id(self.row);
                match &mut self.current {
                    Some((cur, asm)) if *cur == id => asm.push_row(&view, self.row)?,
                    _ => {
                        if let Some(prev) = self.last {
                            if id < prev {
                                return Err(BlockError::corrupt(
                                    self.block,
                                    format!("rows not sorted: {id} after {prev}"),
                                ));
                            }
                        }
                        let mut asm = Pending::default();
                        asm.push_row(&view, self.row)?;
                        self.last = Some(id);
                        if let Some(done) = self.current.replace((id, asm)) {
                            self.row += 1;
                            return Ok(Some(finish(done)));
                        }
                    }
                }
                self.row += 1;
            }
            self.batch = None;
        }
    }
}

fn finish((trace_id, asm): (TraceId, Pending)) -> StreamedTrace {
    StreamedTrace {
        trace_id,
        spans: asm.counted.span_count() + asm.replica.span_count(),
        resource_spans: asm.counted.finish(),
        replica_resource_spans: asm.replica.finish(),
    }
}
