//! Engine errors.

/// Why a query cannot be planned or evaluated.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The query is valid TraceQL that search does not run (metrics queries, `parent.`).
    #[error("unsupported: {0}")]
    Unsupported(String),
    /// The batch lacks a column the plan needs, or has an unexpected type.
    #[error("bad batch: {0}")]
    Batch(String),
    #[error(transparent)]
    Arrow(#[from] arrow_schema::ArrowError),
}
