//! Writing a cut block to the ingester's local disk (`<wal.path>/blocks`, [`crate::upload`]).
//!
//! Traces are written in ascending trace-ID order (the block format requires it), each from
//! every encoded share the ingester holds for it (replica copies flagged in the block's
//! `replica` column). The shares are read in place (`BlockWriter::add_trace_shares`, no prost
//! decode); a trace with a share the walk does not vouch for is decoded with prost, and a
//! share that does not decode is logged and skipped: the distributor encoded it, so this is a
//! bug, not bad input. The block is complete only once `meta.json` is written (by
//! `BlockWriter::finish`); a crash before that leaves a directory without `meta.json`, deleted
//! at the next start while the WAL still holds its data.
//! Writing does not touch the cut block's in-memory state: on failure the caller keeps it and
//! retries on the next tick.

use prost::Message;
use strata_block::{BlockReader, BlockWriter, TraceShare, WriterOptions};
use strata_common::{TenantId, TraceId};
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
        let mut w = BlockWriter::new_with_format(
            self.inner.uploader.local(),
            tenant.clone(),
            block.id,
            opts,
            self.inner.clock.clone(),
            &self.inner.block_cfg.format,
        )?;
        for id in block.sorted_ids() {
            let entry = &block.traces[&id];
            // Counted shares, then replica copies (rows of the `replica` column).
            let mut shares: Vec<TraceShare<'_>> = Vec::with_capacity(entry.payloads.len());
            for replica in [false, true] {
                let of_kind = entry.payloads.iter().zip(&entry.replica);
                shares.extend(
                    of_kind
                        .filter(|(_, r)| **r == replica)
                        .map(|(p, _)| TraceShare {
                            bytes: p.as_ref(),
                            replica,
                        }),
                );
            }
            if !w.add_trace_shares(id, &shares).await? {
                // A share the borrowed walk does not read (malformed, or one prost merges):
                // decode them all, with prost's exact result.
                add_decoded(&mut w, id, &shares).await?;
            }
        }
        let meta = w.finish().await?;
        Ok(BlockReader::new(self.inner.uploader.local(), meta))
    }
}

/// Adds trace `id` from its shares decoded with prost (the block writer's owned path). A share
/// that does not decode is logged and skipped.
async fn add_decoded(
    w: &mut BlockWriter,
    id: TraceId,
    shares: &[TraceShare<'_>],
) -> Result<(), IngesterError> {
    for replica in [false, true] {
        let mut spans = Vec::new();
        for s in shares.iter().filter(|s| s.replica == replica) {
            match tempopb::Trace::decode(s.bytes) {
                Ok(t) => spans.extend(t.resource_spans),
                // The distributor encoded it; a failure here is a bug, not bad input.
                Err(e) => tracing::error!(trace = %id, error = %e, "undecodable payload"),
            }
        }
        if !spans.is_empty() {
            w.add_trace_owned_copy(id, spans, replica).await?;
        }
    }
    Ok(())
}
