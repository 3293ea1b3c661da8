//! Live data as batches: in-memory traces turned into record batches of the block schema, so
//! search evaluates them exactly as it evaluates blocks.

use arrow_array::RecordBatch;
use strata_block::{ResourceCtx, ScopeCtx, SpanBatchBuilder};
use strata_common::TraceId;
use strata_proto::otlp::trace::ResourceSpans;

use crate::EngineError;

/// Rows per batch built from live data.
pub const LIVE_BATCH_ROWS: usize = 8192;

/// Builds batches from traces, which must be sorted by trace ID with each ID once; a batch
/// never splits a trace (a trace larger than `max_rows` gets a batch of its own).
pub fn traces_to_batches<'a>(
    traces: impl IntoIterator<Item = (TraceId, &'a [ResourceSpans])>,
    max_rows: usize,
) -> Result<Vec<RecordBatch>, EngineError> {
    let mut out = Vec::new();
    let mut b = SpanBatchBuilder::default();
    for (id, rss) in traces {
        let spans: usize = rss
            .iter()
            .flat_map(|rs| &rs.scope_spans)
            .map(|ss| ss.spans.len())
            .sum();
        if !b.is_empty() && b.len() + spans > max_rows {
            out.push(b.finish().map_err(block)?);
        }
        for rs in rss {
            let res = ResourceCtx::new(rs.resource.as_ref(), &rs.schema_url);
            for ss in &rs.scope_spans {
                let scope = ScopeCtx {
                    scope: ss.scope.as_ref(),
                    schema_url: &ss.schema_url,
                };
                for span in &ss.spans {
                    b.append(&id, &res, &scope, span).map_err(block)?;
                }
            }
        }
    }
    if !b.is_empty() {
        out.push(b.finish().map_err(block)?);
    }
    Ok(out)
}

fn block(e: strata_block::BlockError) -> EngineError {
    EngineError::Batch(format!("building a batch: {e}"))
}
