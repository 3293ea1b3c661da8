//! Spans the first pass of a block search found passing a *span-local* query
//! ([`SearchPlan::span_local`](crate::SearchPlan::span_local)), and the values reported on
//! them: the second pass then reads only the result's columns
//! ([`SearchPlan::result_columns`](crate::SearchPlan::result_columns)), never the filter's
//! (an attribute list column is by far the costliest to decode), and does not evaluate the
//! filter again.
//!
//! # Invariants
//! * [`HitCollector`] sees the first pass's rows in file order; a hit is a row where the
//!   plan's prefilter — for a span-local query, its whole filter — is true.
//! * A row the second pass reads that the first pass did not is no hit. That holds only
//!   when the first pass skipped rows because of the [`Prune`](crate::Prune) condition
//!   (implied by the filter) and never because of the time range: the caller uses hits only
//!   when every row group is in the time range.
//! * Reported values are whole columns of one type per slot (no array attributes): a batch
//!   whose values are otherwise makes [`HitCollector::finish`] give up (`None`), and the
//!   second pass evaluates in full.

use arrow_array::{BooleanArray, UInt32Array};
use arrow_buffer::BooleanBuffer;

use crate::eval::Value;
use crate::EngineError;

/// Collects hits over the first pass's batches.
#[derive(Default)]
pub(crate) struct HitCollector {
    rows: Vec<usize>,
    /// Per reported value, its parts (one per batch, hit rows only).
    parts: Vec<Vec<Value>>,
    /// False once a part cannot be concatenated.
    usable: bool,
}

/// The hits of a block, in file order, and their reported values.
pub(crate) struct Hits {
    rows: Vec<usize>,
    outputs: Vec<Value>,
    /// Index into `rows` of the next hit not yet passed.
    next: usize,
}

impl HitCollector {
    pub(crate) fn new(outputs: usize) -> Self {
        Self {
            rows: Vec::new(),
            parts: vec![Vec::new(); outputs],
            usable: true,
        }
    }

    /// One batch: its rows' file positions, the filter's mask and the reported values over
    /// the batch.
    pub(crate) fn batch(
        &mut self,
        positions: &[usize],
        mask: &BooleanArray,
        values: Vec<Value>,
    ) -> Result<(), EngineError> {
        let hits: Vec<u32> = mask.values().set_indices().map(|i| i as u32).collect();
        if hits.is_empty() {
            return Ok(());
        }
        for &i in &hits {
            let pos = positions
                .get(i as usize)
                .ok_or_else(|| EngineError::Batch("filter mask longer than its batch".into()))?;
            self.rows.push(*pos);
        }
        if !self.usable {
            return Ok(());
        }
        let idx = UInt32Array::from(hits);
        for (parts, v) in self.parts.iter_mut().zip(values) {
            if v.scalar || v.arr.is_some() {
                self.usable = false;
                return Ok(());
            }
            parts.push(v.take(&idx)?);
        }
        Ok(())
    }

    /// The hits' file rows so far, ascending (kept even when their values cannot be).
    pub(crate) fn rows(&self) -> &[usize] {
        &self.rows
    }

    /// The hits, or `None` when their values cannot be kept as plain columns.
    pub(crate) fn finish(self) -> Result<Option<Hits>, EngineError> {
        if !self.usable {
            return Ok(None);
        }
        let mut outputs = Vec::with_capacity(self.parts.len());
        for parts in &self.parts {
            match Value::concat_all(parts, self.rows.len())? {
                Some(v) => outputs.push(v),
                None => return Ok(None),
            }
        }
        Ok(Some(Hits {
            rows: self.rows,
            outputs,
            next: 0,
        }))
    }
}

impl Hits {
    /// The hits' file rows (ascending) and their reported values (one row per hit).
    pub(crate) fn into_parts(self) -> (Vec<usize>, Vec<Value>) {
        (self.rows, self.outputs)
    }

    /// For the next batch of the second pass (rows at file `positions`, ascending and after
    /// those of earlier batches): the filter's mask and the reported values.
    pub(crate) fn batch(
        &mut self,
        positions: &[usize],
    ) -> Result<(BooleanArray, Vec<Value>), EngineError> {
        let mut idx: Vec<Option<u32>> = Vec::with_capacity(positions.len());
        for &pos in positions {
            while self.rows.get(self.next).is_some_and(|&r| r < pos) {
                self.next += 1;
            }
            let hit = self.rows.get(self.next) == Some(&pos);
            idx.push(hit.then_some(self.next as u32));
        }
        let mask = BooleanArray::new(
            BooleanBuffer::collect_bool(idx.len(), |i| idx[i].is_some()),
            None,
        );
        let idx = UInt32Array::from(idx);
        let outputs = self
            .outputs
            .iter()
            .map(|v| v.take(&idx))
            .collect::<Result<_, _>>()?;
        Ok((mask, outputs))
    }
}
