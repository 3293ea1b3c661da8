//! Traces of a batch and their span trees.
//!
//! Rows of one trace are contiguous (the batch invariant); a trace is a maximal run of equal
//! `trace_id`s. The root of a trace is its first row with an empty (or null)
//! `parent_span_id`.
//!
//! # Tree and nested-set numbering (as Tempo computes it)
//! A span's parent is the first span of the same trace whose ID equals its
//! `parent_span_id` (not itself). Numbering walks depth-first from each root in row order,
//! children in row order, giving each reached span `left` on the way down and `right` on
//! the way up from a counter starting at 1; `nested_parent` is the parent's `left`, `-1` for
//! a root. Spans not reachable from a root (orphans of incomplete traces and their subtrees)
//! keep 0 for all three and take part in no structural relation, as in Tempo.
//! `span:childCount` counts direct children whether numbered or not.

use std::collections::HashMap;
use std::ops::Range;

use arrow_array::{Array, BinaryArray, FixedSizeBinaryArray};

use super::value::bad;
use crate::EngineError;

/// The traces of a batch.
#[derive(Debug)]
pub(crate) struct Traces {
    pub ranges: Vec<Range<usize>>,
    /// The trace index of every row.
    pub trace_of: Vec<u32>,
    /// The root row of every trace.
    pub root: Vec<Option<usize>>,
}

impl Traces {
    pub(crate) fn new(
        ids: &FixedSizeBinaryArray,
        parents: &BinaryArray,
    ) -> Result<Self, EngineError> {
        let n = ids.len();
        if parents.len() != n {
            return Err(bad("parent_span_id length differs from trace_id"));
        }
        let mut ranges = Vec::new();
        let mut trace_of = Vec::with_capacity(n);
        let mut start = 0;
        for i in 0..n {
            if i > 0 && ids.value(i) != ids.value(i - 1) {
                ranges.push(start..i);
                start = i;
            }
            trace_of.push(ranges.len() as u32);
        }
        if n > 0 {
            ranges.push(start..n);
        }
        let root = ranges
            .iter()
            .map(|r| {
                r.clone()
                    .find(|&i| parents.is_null(i) || parents.value(i).is_empty())
            })
            .collect();
        Ok(Self {
            ranges,
            trace_of,
            root,
        })
    }
}

/// Parent/child structure of every trace in a batch (all vectors indexed by row).
#[derive(Debug, Default)]
pub(crate) struct Tree {
    /// Structural parent row (numbered spans only; `None` for roots and unnumbered spans).
    pub parent: Vec<Option<u32>>,
    pub numbered: Vec<bool>,
    pub left: Vec<i64>,
    pub right: Vec<i64>,
    pub nested_parent: Vec<i64>,
    pub child_count: Vec<i64>,
    /// Numbered rows of each trace in depth-first (`left`) order.
    pub preorder: Vec<Vec<u32>>,
}

impl Tree {
    pub(crate) fn new(
        traces: &Traces,
        span_ids: &BinaryArray,
        parents: &BinaryArray,
    ) -> Result<Self, EngineError> {
        let n = traces.trace_of.len();
        if span_ids.len() != n {
            return Err(bad("span_id length differs from trace_id"));
        }
        let mut t = Tree {
            parent: vec![None; n],
            numbered: vec![false; n],
            left: vec![0; n],
            right: vec![0; n],
            nested_parent: vec![0; n],
            child_count: vec![0; n],
            preorder: Vec::with_capacity(traces.ranges.len()),
        };
        for range in &traces.ranges {
            let order = t.trace(range.clone(), span_ids, parents);
            t.preorder.push(order);
        }
        Ok(t)
    }

    fn trace(&mut self, range: Range<usize>, ids: &BinaryArray, parents: &BinaryArray) -> Vec<u32> {
        let base = range.start;
        let len = range.len();
        let mut by_id: HashMap<&[u8], usize> = HashMap::with_capacity(len);
        for i in range.clone() {
            if ids.is_valid(i) {
                by_id.entry(ids.value(i)).or_insert(i);
            }
        }
        let mut children: Vec<Vec<usize>> = vec![Vec::new(); len];
        let mut roots = Vec::new();
        for i in range.clone() {
            let p = if parents.is_valid(i) {
                parents.value(i)
            } else {
                &[]
            };
            if p.is_empty() {
                roots.push(i);
            } else if let Some(&pi) = by_id.get(p) {
                if pi != i {
                    children[pi - base].push(i);
                }
            }
        }
        for (k, c) in children.iter().enumerate() {
            self.child_count[base + k] = c.len() as i64;
        }
        // Iterative depth-first numbering from each root.
        let mut counter: i64 = 1;
        let mut order = Vec::new();
        for root in roots {
            self.visit(root, None, &mut counter, &mut order);
            let mut stack: Vec<(usize, usize)> = vec![(root, 0)];
            while let Some(top) = stack.last_mut() {
                let (node, next) = *top;
                match children[node - base].get(next) {
                    Some(&child) if !self.numbered[child] => {
                        top.1 += 1;
                        self.visit(child, Some(node), &mut counter, &mut order);
                        stack.push((child, 0));
                    }
                    Some(_) => top.1 += 1,
                    None => {
                        self.right[node] = counter;
                        counter += 1;
                        stack.pop();
                    }
                }
            }
        }
        order
    }

    fn visit(
        &mut self,
        row: usize,
        parent: Option<usize>,
        counter: &mut i64,
        order: &mut Vec<u32>,
    ) {
        self.numbered[row] = true;
        self.left[row] = *counter;
        *counter += 1;
        self.parent[row] = parent.map(|p| p as u32);
        self.nested_parent[row] = parent.map_or(-1, |p| self.left[p]);
        order.push(row as u32);
    }
}
