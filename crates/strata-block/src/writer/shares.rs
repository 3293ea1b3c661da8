//! [`BlockWriter::add_trace_shares`]: adds a trace from its stored shares (`tempopb.Trace`
//! protobuf bytes) without decoding them into prost structs: [`crate::convert::wire`] indexes
//! the shares and the spans are appended to the Arrow builders straight from the bytes. The
//! rows are the ones [`BlockWriter::add_trace_owned_copy`] writes for the decoded shares.

use strata_common::TraceId;

use super::{to_hex, BlockWriter};
use crate::convert::wire::WireTrace;
use crate::convert::{ResourceRow, ScopeRow, TraceSummary};
use crate::error::{BlockError, Result};

/// One stored share of a trace: an encoded `tempopb.Trace`, and whether its spans are replica
/// copies (the `replica` column).
#[derive(Debug, Clone, Copy)]
pub struct TraceShare<'a> {
    pub bytes: &'a [u8],
    pub replica: bool,
}

impl BlockWriter {
    /// Adds every span of one trace, from its shares in the order given (spans are written
    /// sorted by start time, stable in that order). The ID must be greater than every ID added
    /// before, and no spans of this trace may be added later.
    ///
    /// Returns `Ok(false)`, having changed nothing, when a share is outside what the walk reads
    /// (see the module docs of `convert::wire`: malformed, or merged by prost's rules): the
    /// caller then decodes the shares with prost and uses
    /// [`add_trace_owned_copy`](Self::add_trace_owned_copy), which gives the exact result or
    /// error. Errors as [`add_trace`](Self::add_trace).
    pub async fn add_trace_shares(
        &mut self,
        trace_id: TraceId,
        shares: &[TraceShare<'_>],
    ) -> Result<bool> {
        self.check_new_trace(trace_id)?;
        // The index's vectors are the previous trace's, emptied (`WireTrace::recycle`).
        let mut trace = std::mem::take(&mut self.wire_scratch).recycle();
        let r = self.index_and_emit(trace_id, shares, &mut trace).await;
        self.wire_scratch = trace.recycle();
        r
    }

    /// [`add_trace_shares`](Self::add_trace_shares) with `trace` (empty) as the index.
    async fn index_and_emit<'a>(
        &mut self,
        trace_id: TraceId,
        shares: &[TraceShare<'a>],
        trace: &mut WireTrace<'a>,
    ) -> Result<bool> {
        for s in shares {
            if trace.add_share(s.bytes, s.replica).is_none() {
                return Ok(false);
            }
        }
        if let Some(s) = trace
            .spans
            .iter()
            .find(|s| s.trace_id != trace_id.as_bytes())
        {
            return Err(BlockError::TraceIdMismatch {
                expected: trace_id,
                found: to_hex(s.trace_id),
            });
        }
        let r = self.emit_pending().await;
        self.poison_on_err(r)?;
        self.last_id = Some(trace_id);
        let r = self.emit_wire(trace_id, trace).await;
        self.poison_on_err(r)?;
        Ok(true)
    }

    /// [`emit_pending`](Self::emit_pending) for a trace indexed from its shares.
    async fn emit_wire(&mut self, id: TraceId, trace: &mut WireTrace<'_>) -> Result<()> {
        if trace.spans.is_empty() {
            return Ok(());
        }
        // Rows copied from other blocks go first: the trace-level columns are in row order.
        self.write_rows().await?;
        let WireTrace {
            resources,
            scopes,
            spans,
            attrs,
            ..
        } = trace;
        self.service_name_exact &= resources.iter().all(|r| r.service_name_exact);
        // Format v4 parses a resource only when it is new to the block's table, and looks
        // the trace's resources up in their order (as `emit_pending` does, so both ways of
        // adding a trace build the same table).
        let resources: Vec<ResourceRow<'_>> = match self.batch.interner.is_some() {
            true => {
                let rows: Vec<_> = resources
                    .iter()
                    .map(|r| ResourceRow::unparsed(*r))
                    .collect();
                for r in &rows {
                    self.batch.intern_wire(r)?;
                }
                rows
            }
            false => (resources.iter())
                .map(|r| ResourceRow::new(*r))
                .collect::<Result<_>>()?,
        };
        let scopes: Vec<ScopeRow<'_>> = (scopes.iter())
            .map(|s| ScopeRow::new(*s))
            .collect::<Result<_>>()?;
        spans.sort_by_key(|s| s.start);
        let mut summary = TraceSummary::default();
        for s in spans.iter() {
            let res = &resources[s.resource as usize];
            let scope = &scopes[s.scope as usize];
            let row = self
                .batch
                .append_wire(&id, res, scope, s, s.attrs_in(attrs))?;
            if self.trace_cols.is_some() {
                summary.row(
                    s.start,
                    s.end,
                    row.root_name.unwrap_or_default(),
                    row.root_name.is_some(),
                    res.wire.service_name,
                    row.error,
                );
            }
            self.min_start = self.min_start.min(s.start);
            self.max_end = self.max_end.max(s.end);
            self.total_spans += 1;
        }
        if let Some(t) = self.trace_cols.as_mut() {
            t.append(&summary, spans.len())?;
        }
        self.trace_ids.push(id);
        self.write_batch_if_full().await
    }
}
