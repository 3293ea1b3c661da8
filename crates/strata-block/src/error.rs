//! The crate's error type.

use strata_common::{BlockId, TraceId};

/// Everything that can go wrong writing or reading a block.
#[derive(Debug, thiserror::Error)]
pub enum BlockError {
    #[error("object store: {0}")]
    ObjectStore(#[from] object_store::Error),
    #[error("parquet: {0}")]
    Parquet(#[from] parquet::errors::ParquetError),
    #[error("arrow: {0}")]
    Arrow(#[from] arrow_schema::ArrowError),
    #[error("decoding a stored protobuf value: {0}")]
    Decode(#[from] prost::DecodeError),
    #[error("block meta {path}: {source}")]
    MetaJson {
        path: String,
        source: serde_json::Error,
    },
    #[error("block {block} has unsupported format {found:?}; this build reads {expected}")]
    UnsupportedFormat {
        block: BlockId,
        found: String,
        expected: &'static str,
    },
    #[error("traces must be added in non-descending id order: {current} came after {previous}")]
    OutOfOrder { previous: TraceId, current: TraceId },
    #[error("a span of trace {expected} carries trace id {found:?} (hex)")]
    TraceIdMismatch { expected: TraceId, found: String },
    #[error("block has no spans; nothing was written")]
    Empty,
    #[error("block writer is unusable after an earlier failure")]
    WriterFailed,
    #[error("invalid writer options: {0}")]
    InvalidOptions(String),
    #[error("bloom filter: {0}")]
    Bloom(String),
    #[error("corrupt block {block}: {reason}")]
    Corrupt { block: String, reason: String },
}

impl BlockError {
    pub(crate) fn corrupt(block: impl ToString, reason: impl Into<String>) -> Self {
        Self::Corrupt {
            block: block.to_string(),
            reason: reason.into(),
        }
    }
}

/// The crate's result type.
pub type Result<T, E = BlockError> = std::result::Result<T, E>;

impl BlockError {
    /// Whether an object of the block no longer exists (deleted by retention or after
    /// compaction since the block list was read). Parquet reads report the store's error as
    /// text, so both forms are recognised.
    pub fn is_not_found(&self) -> bool {
        match self {
            BlockError::ObjectStore(object_store::Error::NotFound { .. }) => true,
            BlockError::Parquet(e) => {
                let t = e.to_string();
                t.contains("NotFound") || t.contains("not found")
            }
            _ => false,
        }
    }
}
