//! Structural spanset operators within one trace, on the numbered tree of
//! [`super::trace::Tree`].
//!
//! For `L op R` (row sets of the left and right operands):
//! * `>` returns the spans of R whose parent is in L; `<` those of R that are the parent of
//!   a span in L; `>>` those of R with an ancestor in L; `<<` those of R with a descendant
//!   in L; `~` those of R with a sibling (same parent, not itself) in L. Roots share the
//!   "no parent" parent, so several roots are siblings (as in Tempo's nested-set model).
//! * The negated forms (`!>`, ...) return the spans of R for which the relation does not
//!   hold with any span of L (all of R when L is empty).
//! * The union forms (`&>`, ...) return the spans of R for which it holds and the spans of L
//!   on the other end of such a relation.
//!
//! Unnumbered spans (not reachable from a root) are in no relation. Each relation is one
//! linear pass over the trace (descendant/ancestor in depth-first order), so deep traces
//! cost no more than wide ones.

use std::collections::HashMap;
use std::ops::Range;

use strata_traceql::SpansetOp;

use super::trace::Tree;

/// A relation: per span of the trace, whether it relates to some span of the given set.
type Relation<'a> = fn(&Rel<'a>, &[bool]) -> Vec<bool>;

/// The operands and tree of one trace; vectors are indexed by row − `range.start`.
pub(crate) struct Rel<'a> {
    pub tree: &'a Tree,
    pub trace: usize,
    pub range: Range<usize>,
}

impl<'a> Rel<'a> {
    fn bitmap(&self, rows: &[u32]) -> Vec<bool> {
        let mut m = vec![false; self.range.len()];
        for &r in rows {
            if let Some(slot) = (r as usize)
                .checked_sub(self.range.start)
                .and_then(|i| m.get_mut(i))
            {
                *slot = true;
            }
        }
        m
    }

    fn local(&self, row: u32) -> usize {
        row as usize - self.range.start
    }

    fn preorder(&self) -> &[u32] {
        self.tree
            .preorder
            .get(self.trace)
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    fn parent(&self, row: u32) -> Option<usize> {
        self.tree.parent[row as usize].map(|p| self.local(p))
    }

    /// Spans whose parent is in `set`.
    fn child_of(&self, set: &[bool]) -> Vec<bool> {
        let mut out = vec![false; set.len()];
        for &row in self.preorder() {
            if let Some(p) = self.parent(row) {
                out[self.local(row)] = set[p];
            }
        }
        out
    }

    /// Spans with a child in `set`.
    fn parent_of(&self, set: &[bool]) -> Vec<bool> {
        let mut out = vec![false; set.len()];
        for &row in self.preorder() {
            if let Some(p) = self.parent(row) {
                out[p] |= set[self.local(row)];
            }
        }
        out
    }

    /// Spans with an ancestor in `set` (parents come before children in preorder).
    fn descendant_of(&self, set: &[bool]) -> Vec<bool> {
        let mut out = vec![false; set.len()];
        for &row in self.preorder() {
            if let Some(p) = self.parent(row) {
                out[self.local(row)] = set[p] || out[p];
            }
        }
        out
    }

    /// Spans with a descendant in `set` (children come after parents in preorder).
    fn ancestor_of(&self, set: &[bool]) -> Vec<bool> {
        let mut out = vec![false; set.len()];
        for &row in self.preorder().iter().rev() {
            let i = self.local(row);
            if let Some(p) = self.parent(row) {
                out[p] |= set[i] || out[i];
            }
        }
        out
    }

    /// Spans with a sibling (other than themselves) in `set`.
    fn sibling_of(&self, set: &[bool]) -> Vec<bool> {
        let mut counts: HashMap<i64, usize> = HashMap::new();
        for &row in self.preorder() {
            if set[self.local(row)] {
                *counts
                    .entry(self.tree.nested_parent[row as usize])
                    .or_default() += 1;
            }
        }
        let mut out = vec![false; set.len()];
        for &row in self.preorder() {
            let i = self.local(row);
            let n = counts
                .get(&self.tree.nested_parent[row as usize])
                .copied()
                .unwrap_or(0);
            out[i] = n > usize::from(set[i]);
        }
        out
    }

    /// The spans `l op r` returns, in row order. `op` must be structural.
    pub(crate) fn apply(&self, op: SpansetOp, l: &[u32], r: &[u32]) -> Vec<u32> {
        use SpansetOp::*;
        let (lm, rm) = (self.bitmap(l), self.bitmap(r));
        // (relation of R-spans to L, relation of L-spans to R for the union forms)
        let (fwd, back): (Relation<'a>, Relation<'a>) = match op {
            Child | NotChild | UnionChild => (Self::child_of, Self::parent_of),
            Parent | NotParent | UnionParent => (Self::parent_of, Self::child_of),
            Descendant | NotDescendant | UnionDescendant => {
                (Self::descendant_of, Self::ancestor_of)
            }
            Ancestor | NotAncestor | UnionAncestor => (Self::ancestor_of, Self::descendant_of),
            Sibling | NotSibling | UnionSibling | And | Or => (Self::sibling_of, Self::sibling_of),
        };
        let related = fwd(self, &lm);
        let keep: Vec<bool> = match op {
            NotChild | NotParent | NotDescendant | NotAncestor | NotSibling => {
                rm.iter().zip(&related).map(|(r, rel)| *r && !rel).collect()
            }
            UnionChild | UnionParent | UnionDescendant | UnionAncestor | UnionSibling => {
                let other = back(self, &rm);
                (0..rm.len())
                    .map(|i| (rm[i] && related[i]) || (lm[i] && other[i]))
                    .collect()
            }
            _ => rm.iter().zip(&related).map(|(r, rel)| *r && *rel).collect(),
        };
        keep.iter()
            .enumerate()
            .filter(|(_, k)| **k)
            .map(|(i, _)| (self.range.start + i) as u32)
            .collect()
    }
}
