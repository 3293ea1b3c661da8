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

use bytes::Bytes;
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
        let traces = block.sorted_shares();
        for (k, &(id, payloads, replicas)) in traces.iter().enumerate() {
            if let Some(&(_, ahead, replicas)) = traces.get(k + 2 * TOUCH_AHEAD) {
                touch_handles(ahead, replicas);
            }
            if let Some(&(_, ahead, _)) = traces.get(k + TOUCH_AHEAD) {
                touch_bytes(ahead);
            }
            // Counted shares, then replica copies (rows of the `replica` column).
            let mut shares: Vec<TraceShare<'_>> = Vec::with_capacity(payloads.len());
            for replica in [false, true] {
                shares.extend(
                    payloads
                        .iter()
                        .zip(replicas)
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

/// How many traces ahead of the one being written [`touch_bytes`] loads their shares'
/// bytes ([`touch_handles`] twice as far ahead).
const TOUCH_AHEAD: usize = 8;

/// Loads the handles of a trace's shares (the vectors of `Bytes` and replica flags), so that
/// [`touch_bytes`] finds them cached.
fn touch_handles(payloads: &[Bytes], replicas: &[bool]) {
    let mut x = replicas.first().copied().unwrap_or_default() as usize;
    for p in payloads.iter().step_by(2) {
        x ^= p.len();
    }
    std::hint::black_box(x);
}

/// Loads one byte of every cache line of a trace's shares. The block writer's walk of a share
/// is a chain of dependent reads (each field's position follows from the previous length), so
/// on shares that left the CPU caches long ago it waits on one cache miss after another; these
/// loads are independent of each other and overlap, and the walk a few traces later finds the
/// bytes cached.
fn touch_bytes(payloads: &[Bytes]) {
    let mut x = 0u8;
    for p in payloads {
        for b in p.iter().step_by(64) {
            x ^= *b;
        }
    }
    std::hint::black_box(x);
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
