//! The crate's error type.

/// What can fail in a compaction cycle.
#[derive(Debug, thiserror::Error)]
pub enum CompactorError {
    #[error("block: {0}")]
    Block(#[from] strata_block::BlockError),
    #[error("storage: {0}")]
    Storage(#[from] strata_storage::StorageError),
    #[error("object store: {0}")]
    ObjectStore(#[from] object_store::Error),
    #[error("{0}")]
    JobThread(#[from] crate::background::JobThreadError),
    #[error("configuration: {0}")]
    Config(String),
}
