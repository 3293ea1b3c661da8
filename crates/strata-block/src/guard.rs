//! Decoding `data.parquet` without letting a corrupt file panic the caller.
//!
//! The `parquet` crate returns errors for most corrupt input, but some corrupt pages still
//! reach an `expect` inside its decoders (for example a dictionary-encoded data page in a
//! column chunk that has no dictionary page, found by `fuzz_block_corrupted_parquet`). Every
//! batch is therefore pulled through [`next_batch`], which turns such a panic into
//! [`BlockError::Corrupt`] naming the block. The panic hook still reports the panic. A stream
//! that panicked is in an unknown state: callers return the error and drop it, and a caller
//! that polls it again gets every further panic turned into an error the same way.

use std::panic::AssertUnwindSafe;

use arrow_array::RecordBatch;
use futures::{FutureExt, TryStreamExt};
use parquet::arrow::async_reader::{AsyncFileReader, ParquetRecordBatchStream};
use strata_common::BlockId;

use crate::error::{BlockError, Result};

/// The next batch of `stream`, reading block `block`; a panic of the decoder is an error.
pub(crate) async fn next_batch<R>(
    stream: &mut ParquetRecordBatchStream<R>,
    block: &BlockId,
) -> Result<Option<RecordBatch>>
where
    R: AsyncFileReader + Unpin + Send + 'static,
{
    match AssertUnwindSafe(stream.try_next()).catch_unwind().await {
        Ok(r) => Ok(r?),
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown cause".into());
            Err(BlockError::corrupt(
                *block,
                format!("the Parquet decoder failed: {what}"),
            ))
        }
    }
}
