//! Error type of the crate.

use std::io;
use std::path::PathBuf;

/// Errors returned by the write-ahead log.
#[derive(Debug, thiserror::Error)]
pub enum WalError {
    /// An I/O operation on `path` failed.
    #[error("wal: {op} {}: {source}", path.display())]
    Io {
        /// What was being done (e.g. "write record to", "fsync").
        op: &'static str,
        /// The file or directory involved.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// A record is larger than [`crate::MAX_RECORD_BYTES`].
    #[error("wal: record of {len} bytes exceeds the maximum of {max} bytes")]
    RecordTooLarge {
        /// Size of the rejected record.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// An empty record: never written, because a zero-length frame is what a zero-filled
    /// region of a segment (a crash after the file grew but before its data landed) reads
    /// as, so replay treats one as a torn tail.
    #[error("wal: empty records are not allowed")]
    EmptyRecord,
    /// A segment file does not start with a valid header.
    #[error("wal: bad segment header in {}: {reason}", path.display())]
    BadHeader {
        /// The segment file.
        path: PathBuf,
        /// Why the header was rejected.
        reason: String,
    },
    /// The replay callback returned an error; replay stopped.
    #[error("wal: replay callback failed: {0}")]
    Callback(String),
    /// An earlier fsync or write failed in a way that leaves the on-disk state
    /// unknown; the log refuses further appends. Reopen the log (which starts a
    /// new segment) after replaying the directory.
    #[error("wal: log is unusable after an earlier failure: {0}")]
    Poisoned(String),
}

/// Result alias with [`WalError`] as the default error type.
pub type Result<T, E = WalError> = std::result::Result<T, E>;

impl WalError {
    pub(crate) fn io(op: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Self {
        WalError::Io {
            op,
            path: path.into(),
            source,
        }
    }
}
