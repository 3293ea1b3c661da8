//! One tenant's in-memory state, in three stages:
//!
//! 1. **live**: traces still receiving spans, keyed by trace ID;
//! 2. **head**: traces that went idle (or lived too long), waiting for the head block to be cut;
//! 3. **completing**: cut head blocks being written to the object store.
//!
//! Every entry remembers the oldest WAL segment holding its data, so the ingester can tell which
//! segments are no longer needed: a segment may be deleted only once no stage references it.
//! Everything here is synchronous and guarded by one mutex per tenant; block writing happens
//! outside the lock on an `Arc<CutBlock>`.
//!
//! Work units: the head block is cut as soon as it holds `max_block_bytes` (also in the middle
//! of moving traces to it), so a pass that moves a lot of data leaves several blocks that the
//! writers ([`crate::writers`]) write at the same time and release one by one, instead of one
//! big block that holds every byte until it is done.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use strata_common::{BlockId, TraceId};
use strata_proto::roles::TracePush;
use strata_wal::SegmentId;

/// The encoded shares of one trace held in memory.
#[derive(Debug, Clone)]
pub struct TraceEntry {
    pub payloads: Vec<Bytes>,
    /// Per share of `payloads`: whether it is a replica copy ([`TracePush::replica`]), which
    /// TraceQL metrics skip and blocks store in their `replica` column.
    pub replica: Vec<bool>,
    pub bytes: u64,
    pub spans: u64,
    pub first_seen: SystemTime,
    pub last_seen: SystemTime,
    pub min_segment: SegmentId,
}

impl TraceEntry {
    fn new(now: SystemTime, segment: SegmentId) -> Self {
        Self {
            payloads: Vec::new(),
            replica: Vec::new(),
            bytes: 0,
            spans: 0,
            first_seen: now,
            last_seen: now,
            min_segment: segment,
        }
    }

    fn add(&mut self, t: TracePush, now: SystemTime, segment: SegmentId) {
        self.bytes += t.payload.len() as u64;
        self.payloads.push(t.payload);
        self.replica.push(t.replica);
        self.spans += u64::from(t.span_count);
        self.last_seen = now;
        self.min_segment = self.min_segment.min(segment);
    }

    fn absorb(&mut self, other: TraceEntry) {
        self.payloads.extend(other.payloads);
        self.replica.extend(other.replica);
        self.bytes += other.bytes;
        self.spans += other.spans;
        self.first_seen = self.first_seen.min(other.first_seen);
        self.last_seen = self.last_seen.max(other.last_seen);
        self.min_segment = self.min_segment.min(other.min_segment);
    }
}

/// A head block that has been cut and is being written.
#[derive(Debug)]
pub struct CutBlock {
    pub id: BlockId,
    pub traces: HashMap<TraceId, TraceEntry>,
    pub bytes: u64,
}

impl CutBlock {
    pub fn min_segment(&self) -> Option<SegmentId> {
        self.traces.values().map(|t| t.min_segment).min()
    }

    /// Every trace's ID, shares and their replica flags, in ascending ID order (the order
    /// blocks are written in). One sequential pass over the map: the writer then reads the
    /// entries from this list, not by lookups scattered over the map.
    pub fn sorted_shares(&self) -> Vec<(TraceId, &[Bytes], &[bool])> {
        let mut t: Vec<(TraceId, &[Bytes], &[bool])> = self
            .traces
            .iter()
            .map(|(id, e)| (*id, &e.payloads[..], &e.replica[..]))
            .collect();
        t.sort_unstable_by_key(|(id, _, _)| *id);
        t
    }
}

#[derive(Debug, Default)]
struct Head {
    traces: HashMap<TraceId, TraceEntry>,
    bytes: u64,
    created: Option<SystemTime>,
}

/// Limits that decide when data moves between stages.
#[derive(Debug, Clone, Copy)]
pub struct CutPolicy {
    pub trace_idle_period: Duration,
    pub trace_live_period: Duration,
    pub max_block_duration: Duration,
    pub max_block_bytes: u64,
}

impl CutPolicy {
    /// Whether a live trace is done: idle for `trace_idle_period` or live for
    /// `trace_live_period`.
    fn is_ready(&self, e: &TraceEntry, now: SystemTime) -> bool {
        let elapsed = |t: SystemTime| now.duration_since(t).unwrap_or(Duration::ZERO);
        elapsed(e.last_seen) >= self.trace_idle_period
            || elapsed(e.first_seen) >= self.trace_live_period
    }
}

#[derive(Debug, Default)]
pub struct Instance {
    live: HashMap<TraceId, TraceEntry>,
    head: Head,
    completing: Vec<Arc<CutBlock>>,
}

impl Instance {
    /// Adds a push that is already durable in WAL segment `segment`. Returns how many traces
    /// were new.
    pub fn push(
        &mut self,
        traces: impl IntoIterator<Item = TracePush>,
        now: SystemTime,
        segment: SegmentId,
    ) -> u64 {
        let mut created = 0;
        for t in traces {
            let entry = self.live.entry(t.trace_id).or_insert_with(|| {
                created += 1;
                TraceEntry::new(now, segment)
            });
            entry.add(t, now, segment);
        }
        created
    }

    pub fn live_traces(&self) -> usize {
        self.live.len()
    }

    /// Whether the trace is in the live set.
    pub fn is_live(&self, id: &TraceId) -> bool {
        self.live.contains_key(id)
    }

    /// Payload bytes held for a trace that is not yet cut into a block (live set and head
    /// block): what `max_bytes_per_trace` is checked against.
    pub fn uncut_bytes(&self, id: &TraceId) -> u64 {
        let live = self.live.get(id).map_or(0, |e| e.bytes);
        let head = self.head.traces.get(id).map_or(0, |e| e.bytes);
        live + head
    }

    /// Payload bytes held in every stage.
    pub fn bytes(&self) -> u64 {
        let live: u64 = self.live.values().map(|e| e.bytes).sum();
        let cut: u64 = self.completing.iter().map(|b| b.bytes).sum();
        live + self.head.bytes + cut
    }

    /// Moves idle and long-lived traces (all of them when `all`) from live to the head block,
    /// cutting the head block each time it reaches `max_block_bytes`. Returns how many traces
    /// moved and how many blocks were cut.
    pub fn move_to_head(
        &mut self,
        now: SystemTime,
        policy: &CutPolicy,
        all: bool,
    ) -> (usize, usize) {
        let ready: Vec<TraceId> = self
            .live
            .iter()
            .filter(|(_, e)| all || policy.is_ready(e, now))
            .map(|(id, _)| *id)
            .collect();
        let mut cuts = 0;
        for id in &ready {
            cuts += usize::from(self.live_to_head(id, now, policy));
        }
        (ready.len(), cuts)
    }

    /// Moves a live trace to the head block (merging with shares already there); cuts the head
    /// block when that makes it `max_block_bytes` big. Returns whether it cut.
    fn live_to_head(&mut self, id: &TraceId, now: SystemTime, policy: &CutPolicy) -> bool {
        let Some(entry) = self.live.remove(id) else {
            return false;
        };
        self.head.bytes += entry.bytes;
        self.head.created.get_or_insert(now);
        match self.head.traces.get_mut(id) {
            Some(existing) => existing.absorb(entry),
            None => {
                self.head.traces.insert(*id, entry);
            }
        }
        if self.head.bytes >= policy.max_block_bytes {
            self.cut_head();
            return true;
        }
        false
    }

    /// Idle and long-lived traces (all of them when `all`) with their shares and span counts,
    /// for a tail-sampling decision; they stay live until [`Instance::settle`].
    pub fn ready(
        &self,
        now: SystemTime,
        policy: &CutPolicy,
        all: bool,
    ) -> Vec<(TraceId, Vec<Bytes>, u64)> {
        self.live
            .iter()
            .filter(|(_, e)| all || policy.is_ready(e, now))
            .map(|(id, e)| (*id, e.payloads.clone(), e.spans))
            .collect()
    }

    /// Applies tail-sampling decisions to live traces: `keep` ones move to the head block,
    /// `drop` ones leave memory (with any share that arrived since [`Instance::ready`]: it
    /// follows the decision). Returns the blocks cut on the way (see [`Instance::move_to_head`])
    /// and the (traces, spans, bytes) dropped.
    pub fn settle(
        &mut self,
        now: SystemTime,
        policy: &CutPolicy,
        keep: &[TraceId],
        drop: &[TraceId],
    ) -> (usize, (u64, u64, u64)) {
        let mut cuts = 0;
        for id in keep {
            cuts += usize::from(self.live_to_head(id, now, policy));
        }
        let mut out = (0, 0, 0);
        for id in drop {
            if let Some(entry) = self.live.remove(id) {
                out.0 += 1;
                out.1 += entry.spans;
                out.2 += entry.bytes;
            }
        }
        (cuts, out)
    }

    /// Cuts the head block if it is old or big enough (or whenever non-empty with `force`).
    pub fn cut_if_ready(
        &mut self,
        now: SystemTime,
        policy: &CutPolicy,
        force: bool,
    ) -> Option<Arc<CutBlock>> {
        let created = self.head.created?;
        let age = now.duration_since(created).unwrap_or(Duration::ZERO);
        if !(force || age >= policy.max_block_duration || self.head.bytes >= policy.max_block_bytes)
        {
            return None;
        }
        Some(self.cut_head())
    }

    /// Cuts the head block (whatever its size) into a block to write.
    fn cut_head(&mut self) -> Arc<CutBlock> {
        let head = std::mem::take(&mut self.head);
        let block = Arc::new(CutBlock {
            id: BlockId::new_random(),
            traces: head.traces,
            bytes: head.bytes,
        });
        self.completing.push(block.clone());
        block
    }

    /// Cut blocks not yet written (for retries after a failed flush).
    pub fn completing(&self) -> Vec<Arc<CutBlock>> {
        self.completing.clone()
    }

    /// Forgets a cut block once it is written; false if it was not (or no longer) cut.
    pub fn complete(&mut self, id: BlockId) -> bool {
        let before = self.completing.len();
        self.completing.retain(|b| b.id != id);
        self.completing.len() < before
    }

    /// Whether a cut block still waits to be written.
    pub fn is_completing(&self, id: BlockId) -> bool {
        self.completing.iter().any(|b| b.id == id)
    }

    /// The oldest WAL segment any in-memory data still needs.
    pub fn min_segment(&self) -> Option<SegmentId> {
        let live = self.live.values().map(|e| e.min_segment);
        let head = self.head.traces.values().map(|e| e.min_segment);
        let cut = self.completing.iter().filter_map(|b| b.min_segment());
        live.chain(head).chain(cut).min()
    }

    /// Every in-memory share of a trace.
    pub fn find(&self, id: &TraceId) -> Vec<Bytes> {
        let mut out = Vec::new();
        let stages = [self.live.get(id), self.head.traces.get(id)];
        for e in stages.into_iter().flatten() {
            out.extend(e.payloads.iter().cloned());
        }
        for b in &self.completing {
            if let Some(e) = b.traces.get(id) {
                out.extend(e.payloads.iter().cloned());
            }
        }
        out
    }

    /// Every in-memory trace with all its shares (live, head and cut blocks merged), in
    /// trace-ID order; only the counted ones (not replica copies) when `counted_only`, for
    /// TraceQL metrics. Clones only reference-counted payloads.
    pub fn snapshot(&self, counted_only: bool) -> std::collections::BTreeMap<TraceId, Vec<Bytes>> {
        let mut out: std::collections::BTreeMap<TraceId, Vec<Bytes>> = Default::default();
        let stages = [&self.live, &self.head.traces]
            .into_iter()
            .chain(self.completing.iter().map(|b| &b.traces));
        for stage in stages {
            for (id, e) in stage {
                let shares = e
                    .payloads
                    .iter()
                    .zip(&e.replica)
                    .filter(|(_, replica)| !(counted_only && **replica))
                    .map(|(p, _)| p.clone());
                let mut shares = shares.peekable();
                if shares.peek().is_some() {
                    out.entry(*id).or_default().extend(shares);
                }
            }
        }
        out
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A share of `n` payload bytes for trace `[id; 16]`.
    pub(crate) fn push(id: u8, n: usize) -> TracePush {
        TracePush {
            trace_id: TraceId([id; 16]),
            span_count: 1,
            start_unix_nano: 0,
            end_unix_nano: 0,
            payload: Bytes::from(vec![0u8; n]),
            replica: false,
        }
    }

    fn policy() -> CutPolicy {
        CutPolicy {
            trace_idle_period: Duration::from_secs(5),
            trace_live_period: Duration::from_secs(30),
            max_block_duration: Duration::from_secs(60),
            max_block_bytes: 1000,
        }
    }

    #[test]
    fn sorted_shares_lists_every_trace_in_id_order_with_its_shares() {
        let mut traces = HashMap::new();
        for id in [9u8, 1, 200, 7, 3] {
            let mut e = TraceEntry::new(SystemTime::UNIX_EPOCH, 1);
            e.add(push(id, usize::from(id)), SystemTime::UNIX_EPOCH, 1);
            let mut replica = push(id, 1);
            replica.replica = true;
            e.add(replica, SystemTime::UNIX_EPOCH, 1);
            traces.insert(TraceId([id; 16]), e);
        }
        let cut = CutBlock {
            id: BlockId::new_random(),
            traces,
            bytes: 0,
        };
        let got: Vec<(u8, Vec<usize>, Vec<bool>)> = cut
            .sorted_shares()
            .iter()
            .map(|(id, p, r)| (id.0[0], p.iter().map(Bytes::len).collect(), r.to_vec()))
            .collect();
        let want: Vec<(u8, Vec<usize>, Vec<bool>)> = [1u8, 3, 7, 9, 200]
            .iter()
            .map(|&id| (id, vec![usize::from(id), 1], vec![false, true]))
            .collect();
        assert_eq!(got, want);
    }

    #[test]
    fn traces_move_when_idle_and_blocks_cut_by_age_or_size() {
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1000);
        let p = policy();
        let mut inst = Instance::default();
        assert_eq!(inst.push([push(1, 10), push(2, 10)], t0, 3), 2);
        assert_eq!(inst.push([push(1, 10)], t0 + Duration::from_secs(4), 4), 0);
        // At t0+6 trace 2 is idle, trace 1 is not (last seen at t0+4).
        assert_eq!(
            inst.move_to_head(t0 + Duration::from_secs(6), &p, false),
            (1, 0)
        );
        assert_eq!(inst.live_traces(), 1);
        assert!(inst
            .cut_if_ready(t0 + Duration::from_secs(6), &p, false)
            .is_none());
        assert_eq!(inst.find(&TraceId([1; 16])).len(), 2);
        assert_eq!(inst.min_segment(), Some(3));
        // Cut by age.
        let cut = inst
            .cut_if_ready(t0 + Duration::from_secs(70), &p, false)
            .unwrap();
        let ids: Vec<TraceId> = cut.sorted_shares().iter().map(|t| t.0).collect();
        assert_eq!(ids, vec![TraceId([2; 16])]);
        assert_eq!(
            inst.find(&TraceId([2; 16])).len(),
            1,
            "completing data stays visible"
        );
        inst.complete(cut.id);
        assert!(inst.find(&TraceId([2; 16])).is_empty());
        // Cut by size, as soon as the move makes the head big enough (trace 1 is idle too).
        inst.push([push(5, 2000)], t0, 9);
        assert_eq!(
            inst.move_to_head(t0 + Duration::from_secs(100), &p, false),
            (2, 1)
        );
        assert_eq!(inst.completing().len(), 1);
        assert!(inst
            .cut_if_ready(t0 + Duration::from_secs(100), &p, false)
            .is_none());
    }

    #[test]
    fn a_large_move_is_cut_into_blocks_of_max_block_bytes() {
        let t0 = SystemTime::UNIX_EPOCH;
        let p = policy();
        let mut inst = Instance::default();
        for id in 0..25u8 {
            inst.push([push(id, 300)], t0, 1);
        }
        // 25 × 300 bytes: cut at every 4th trace (1200 ≥ 1000), 6 blocks, one trace left.
        let (moved, cuts) = inst.move_to_head(t0 + Duration::from_secs(10), &p, false);
        assert_eq!((moved, cuts), (25, 6));
        let blocks = inst.completing();
        assert!(blocks
            .iter()
            .all(|b| b.bytes == 1200 && b.traces.len() == 4));
        let tail = inst.cut_if_ready(t0, &p, true).expect("the rest");
        assert_eq!(tail.bytes, 300);
        assert_eq!(inst.bytes(), 25 * 300, "every byte is in exactly one block");
    }

    #[test]
    fn long_lived_trace_moves_and_later_spans_merge_in_head() {
        let t0 = SystemTime::UNIX_EPOCH;
        let p = policy();
        let mut inst = Instance::default();
        for s in 0..40u64 {
            inst.push([push(1, 1)], t0 + Duration::from_secs(s), s);
            inst.move_to_head(t0 + Duration::from_secs(s), &p, false);
        }
        // Moved at 30s by the live period; the spans after it start a new live entry.
        assert_eq!(inst.live_traces(), 1);
        assert_eq!(inst.find(&TraceId([1; 16])).len(), 40);
        inst.move_to_head(t0 + Duration::from_secs(100), &p, true);
        let cut = inst
            .cut_if_ready(t0 + Duration::from_secs(100), &p, true)
            .unwrap();
        assert_eq!(cut.traces[&TraceId([1; 16])].payloads.len(), 40);
        assert_eq!(cut.min_segment(), Some(0));
    }
}
