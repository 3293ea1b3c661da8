//! Writing a cut block to the ingester's local disk (`<wal.path>/blocks`, [`crate::upload`]).
//!
//! Traces are written in ascending trace-ID order (the block format requires it), each from
//! every encoded share the ingester holds for it (replica copies flagged in the block's
//! `replica` column). A share that does not decode is logged and
//! skipped: the distributor encoded it, so this is a bug, not bad input. The block is complete
//! only once `meta.json` is written (by `BlockWriter::finish`); a crash before that leaves a
//! directory without `meta.json`, deleted at the next start while the WAL still holds its data.
//! Writing does not touch the cut block's in-memory state: on failure the caller keeps it and
//! retries on the next tick.

use prost::Message;
use strata_block::{BlockReader, BlockWriter, WriterOptions};
use strata_common::TenantId;
use strata_proto::tempopb;

use crate::instance::CutBlock;
use crate::{Ingester, IngesterError};

impl Ingester {
    /// Writes `block` of `tenant` to local disk and returns a reader of it.
    pub(crate) async fn write_block(
        &self,
        tenant: &TenantId,
        block: &CutBlock,
    ) -> Result<BlockReader, IngesterError> {
        let opts = WriterOptions::from_config(&self.inner.block_cfg, block.traces.len());
        let mut w = BlockWriter::new(
            self.inner.uploader.local(),
            tenant.clone(),
            block.id,
            opts,
            self.inner.clock.clone(),
        )?;
        for id in block.sorted_ids() {
            let entry = &block.traces[&id];
            // Counted shares, then replica copies (rows of the `replica` column).
            for replica in [false, true] {
                let mut spans = Vec::new();
                let shares = entry.payloads.iter().zip(&entry.replica);
                for (p, _) in shares.filter(|(_, r)| **r == replica) {
                    match tempopb::Trace::decode(p.as_ref()) {
                        Ok(t) => spans.extend(t.resource_spans),
                        // The distributor encoded it; a failure here is a bug, not bad input.
                        Err(e) => tracing::error!(trace = %id, error = %e, "undecodable payload"),
                    }
                }
                if !spans.is_empty() {
                    w.add_trace_owned_copy(id, spans, replica).await?;
                }
            }
        }
        let meta = w.finish().await?;
        Ok(BlockReader::new(self.inner.uploader.local(), meta))
    }
}
