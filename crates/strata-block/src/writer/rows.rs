//! [`BlockWriter::add_trace_rows`]: adds a trace from rows of other blocks ([`crate::rows`]),
//! copied column by column, in runs of consecutive rows of one input, when a batch is written,
//! instead of through OTLP structs. The trace-level columns are derived from the copied rows as for any
//! other trace; the `replica` column takes each row's flag from the [`RowRef`].
//!
//! Rows are referred to until written: the writer holds the source batches of at most
//! [`BATCH_ROWS`] rows (or a row group, if smaller), and writes them at a trace boundary
//! once that many are pending, and at [`BlockWriter::finish`].

use std::sync::Arc;

use arrow_array::{
    make_array, Array, ArrayRef, BinaryArray, BooleanArray, Int32Array, RecordBatch, StringArray,
    UInt64Array,
};
use arrow_data::transform::MutableArrayData;
use arrow_data::ArrayData;
use strata_common::TraceId;

use super::{BlockWriter, BATCH_ROWS};
use crate::convert::{downcast, TraceSummary};
use crate::error::{BlockError, Result};
use crate::rows::{shared_span_columns, RowRef};
use crate::schema::{col, schema_for, span_schema, span_schema_v4, RESOURCE_COLUMN_AT};

/// Rows waiting to be copied, and their source batches (each once).
#[derive(Debug, Default)]
pub(super) struct PendingRows {
    sources: Vec<Arc<RecordBatch>>,
    /// (index in `sources`, row).
    rows: Vec<(usize, usize)>,
    replica: Vec<bool>,
}

impl PendingRows {
    pub(super) fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    fn source(&mut self, b: &Arc<RecordBatch>) -> usize {
        // A trace's rows come from few batches, and consecutive traces mostly from the same.
        match self.sources.iter().rposition(|s| Arc::ptr_eq(s, b)) {
            Some(i) => i,
            None => {
                self.sources.push(b.clone());
                self.sources.len() - 1
            }
        }
    }
}

/// The columns the trace summary and the block's time range read.
struct RowFields<'a> {
    parent: &'a BinaryArray,
    name: &'a StringArray,
    start: &'a UInt64Array,
    end: &'a UInt64Array,
    status: &'a Int32Array,
    service: &'a StringArray,
}

impl<'a> RowFields<'a> {
    fn of(b: &'a RecordBatch) -> Result<Self> {
        let c = |name: &str| {
            b.column_by_name(name)
                .ok_or_else(|| BlockError::corrupt("<batch>", format!("missing column {name}")))
        };
        Ok(Self {
            parent: downcast(c(col::PARENT_SPAN_ID)?.as_ref(), col::PARENT_SPAN_ID)?,
            name: downcast(c(col::NAME)?.as_ref(), col::NAME)?,
            start: downcast(c(col::START)?.as_ref(), col::START)?,
            end: downcast(c(col::END)?.as_ref(), col::END)?,
            status: downcast(c(col::STATUS_CODE)?.as_ref(), col::STATUS_CODE)?,
            service: downcast(c(col::SERVICE_NAME)?.as_ref(), col::SERVICE_NAME)?,
        })
    }
}

impl BlockWriter {
    /// Adds one trace from rows of other blocks (a compaction's merged rows): written sorted by
    /// start time, stable in the order given, each row's `replica` column from its `RowRef`.
    /// The ID must be greater than every ID added before. The rows' batches must have the
    /// span columns of the block formats (as [`crate::RowStream`] reads them); their
    /// `service_name` is taken as it is, so a caller copying from blocks whose
    /// `service_name` is not exact says so with
    /// [`clear_service_name_exact`](Self::clear_service_name_exact).
    pub async fn add_trace_rows(&mut self, trace_id: TraceId, rows: &[RowRef]) -> Result<()> {
        self.check_new_trace(trace_id)?;
        if self.batch.interner.is_some() && !self.merged_resources {
            return Err(BlockError::InvalidOptions(
                "copying rows into a format v4 block needs the inputs' resource tables \
                 (BlockWriter::with_resource_merge)"
                    .into(),
            ));
        }
        let r = self.emit_pending().await;
        self.poison_on_err(r)?;
        if rows.is_empty() {
            return Ok(());
        }
        self.last_id = Some(trace_id);
        let r = self.push_rows(trace_id, rows).await;
        self.poison_on_err(r)
    }

    /// Marks the block's `service_name` as not exact (see [`super::SERVICE_NAME_EXACT_KEY`]).
    pub fn clear_service_name_exact(&mut self) {
        self.service_name_exact = false;
    }

    async fn push_rows(&mut self, trace_id: TraceId, rows: &[RowRef]) -> Result<()> {
        if !self.batch.is_empty() {
            self.write_batch().await?;
        }
        // Each distinct source batch's columns, looked up once.
        let mut fields: Vec<(&Arc<RecordBatch>, RowFields<'_>)> = Vec::new();
        let mut order: Vec<(u64, usize, usize)> = Vec::with_capacity(rows.len());
        for (i, r) in rows.iter().enumerate() {
            let f = match fields.iter().position(|(b, _)| Arc::ptr_eq(b, &r.batch)) {
                Some(f) => f,
                None => {
                    self.check_row_source(&r.batch)?;
                    fields.push((&r.batch, RowFields::of(&r.batch)?));
                    fields.len() - 1
                }
            };
            if r.row >= r.batch.num_rows() {
                return Err(BlockError::corrupt("<batch>", "row out of range"));
            }
            order.push((fields[f].1.start.value(r.row), i, f));
        }
        order.sort_by_key(|(start, i, _)| (*start, *i));
        let mut summary = TraceSummary::default();
        for &(start, i, f) in &order {
            let (r, c) = (&rows[i], &fields[f].1);
            let end = c.end.value(r.row);
            if self.trace_cols.is_some() {
                summary.row(
                    start,
                    end,
                    c.name.value(r.row),
                    c.parent.value(r.row).is_empty(),
                    c.service.is_valid(r.row).then(|| c.service.value(r.row)),
                    c.status.is_valid(r.row) && c.status.value(r.row) == 2,
                );
            }
            self.min_start = self.min_start.min(start);
            self.max_end = self.max_end.max(end);
            let s = self.rows.source(&r.batch);
            self.rows.rows.push((s, r.row));
            self.rows.replica.push(r.replica);
        }
        self.total_spans += rows.len() as u64;
        if let Some(t) = self.trace_cols.as_mut() {
            t.append(&summary, rows.len())?;
        }
        self.trace_ids.push(trace_id);
        if self.rows.rows.len() >= BATCH_ROWS.min(self.opts.row_group_max_spans) {
            self.write_rows().await?;
        }
        Ok(())
    }

    /// Whether `b` has the span columns this writer copies: those of [`span_schema_v4`]
    /// (with refs into the merged table) for format v4, the v3 resource columns otherwise.
    fn check_row_source(&self, b: &RecordBatch) -> Result<()> {
        let v4 = self.batch.interner.is_some();
        let at = b.schema().index_of(col::RESOURCE_REF).ok();
        let fits = match v4 {
            true => {
                at == Some(RESOURCE_COLUMN_AT) && b.num_columns() == span_schema_v4().fields().len()
            }
            false => at.is_none() && b.num_columns() >= shared_span_columns(),
        };
        if fits {
            Ok(())
        } else {
            Err(BlockError::InvalidOptions(format!(
                "rows of a batch of {} columns cannot be copied into a block of format {}",
                b.num_columns(),
                self.format
            )))
        }
    }

    /// Copies the pending rows into one batch and writes it.
    pub(super) async fn write_rows(&mut self) -> Result<()> {
        let pending = std::mem::take(&mut self.rows);
        if pending.rows.is_empty() {
            return Ok(());
        }
        // Every span column but `replica`, which comes from the `RowRef`s.
        let shared = match self.batch.interner.is_some() {
            true => span_schema_v4().fields().len() - 1,
            false => shared_span_columns(),
        };
        let runs = runs(&pending.rows);
        let mut columns: Vec<ArrayRef> = Vec::with_capacity(shared + 8);
        for c in 0..shared {
            let data: Vec<ArrayData> = pending
                .sources
                .iter()
                .map(|b| b.column(c).to_data())
                .collect();
            let mut out = MutableArrayData::new(data.iter().collect(), false, pending.rows.len());
            for &(s, start, len) in &runs {
                out.try_extend(s, start, start + len)?;
            }
            columns.push(make_array(out.freeze()));
        }
        columns.push(Arc::new(BooleanArray::from(pending.replica)));
        let schema = match self.trace_cols.as_mut() {
            Some(t) => {
                columns.extend(t.finish()?);
                schema_for(self.format).expect("every write format has a schema")
            }
            None => span_schema(),
        };
        let batch = super::with_allocated_empty_values(RecordBatch::try_new(schema, columns)?)?;
        let parquet = self.parquet.as_mut().expect("checked by check_usable");
        parquet.write(&batch).await?;
        Ok(())
    }
}

/// `rows` as runs of consecutive rows of one source: (source, first row, length). A trace's
/// rows mostly come from one input block, already in start-time order, so runs are about a
/// trace long; copying them range by range is cheaper than gathering row by row (Arrow's
/// `interleave`), most of all for the nested attribute, event and link lists.
fn runs(rows: &[(usize, usize)]) -> Vec<(usize, usize, usize)> {
    let mut out: Vec<(usize, usize, usize)> = Vec::new();
    for &(s, r) in rows {
        match out.last_mut() {
            Some((ls, start, len)) if *ls == s && *start + *len == r => *len += 1,
            _ => out.push((s, r, 1)),
        }
    }
    out
}
