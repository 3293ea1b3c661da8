//! Conversion between OTLP messages and Arrow record batches of the block schema.
//!
//! * [`SpanBatchBuilder`] appends spans (with their resource and scope) as rows.
//! * [`BatchView`] reads rows back, and [`TraceAssembler`] regroups spans under their resource
//!   and scope.
//! * `TraceColumnsBuilder` builds the trace-level columns of format v3 from a `TraceSummary`
//!   per trace.
//! * [`wire`] indexes stored trace shares (protobuf bytes) without decoding them, and
//!   `from_wire` appends their spans to a [`SpanBatchBuilder`] straight from the bytes.

mod attrs;
mod from_wire;
mod lists;
mod to_batch;
mod to_otlp;
mod trace_cols;
mod utf8_col;
pub(crate) mod wire;

pub(crate) use from_wire::{ResourceRow, ScopeRow};
pub use to_batch::{ResourceCtx, ScopeCtx, SpanBatchBuilder};
pub(crate) use to_otlp::table_resources;
pub use to_otlp::{BatchView, TraceAssembler};
pub(crate) use trace_cols::{TraceColumnsBuilder, TraceSummary};

use arrow_array::Array;

use crate::error::{BlockError, Result};

/// Downcasts a column, reporting a schema mismatch as corruption.
pub(crate) fn downcast<'a, T: 'static>(array: &'a dyn Array, what: &str) -> Result<&'a T> {
    array.as_any().downcast_ref::<T>().ok_or_else(|| {
        BlockError::corrupt(
            "<batch>",
            format!("column {what} has unexpected type {}", array.data_type()),
        )
    })
}

/// Converts an Arrow list length or offset to `i32`, failing instead of wrapping.
pub(crate) fn offset(n: usize) -> Result<i32> {
    i32::try_from(n).map_err(|_| {
        BlockError::InvalidOptions(format!(
            "{n} list items in one batch exceed Arrow's i32 offsets"
        ))
    })
}
