//! [`TagNamesCollector`]: distinct attribute keys per scope.

use std::collections::HashSet;

use arrow_array::{BooleanArray, RecordBatch};

use super::columns::{attr_keys, check_mask, scope_attrs, scope_column};
use super::TagScope;
use crate::EngineError;

/// Accumulates distinct tag names per [`TagScope`], with a per-scope limit and a byte cap on the
/// total length of all names (see the [module docs](super) for the exact semantics).
#[derive(Debug, Clone)]
pub struct TagNamesCollector {
    /// Requested scopes in output order.
    scopes: Vec<ScopeNames>,
    limit: Option<usize>,
    max_bytes: usize,
    bytes: usize,
    /// The byte cap was hit: nothing more is accepted.
    stopped: bool,
    truncated: bool,
}

#[derive(Debug, Clone)]
struct ScopeNames {
    scope: TagScope,
    names: HashSet<String>,
}

impl TagNamesCollector {
    /// Collects the names of `scopes` (duplicates ignored). `limit_per_scope` of `None` or
    /// `Some(0)` and `max_bytes` of 0 mean unlimited.
    pub fn new(scopes: &[TagScope], limit_per_scope: Option<usize>, max_bytes: usize) -> Self {
        let mut wanted: Vec<TagScope> = scopes.to_vec();
        wanted.sort();
        wanted.dedup();
        Self {
            scopes: wanted
                .into_iter()
                .map(|scope| ScopeNames {
                    scope,
                    names: HashSet::new(),
                })
                .collect(),
            limit: limit_per_scope.filter(|&l| l > 0),
            max_bytes,
            bytes: 0,
            stopped: false,
            truncated: false,
        }
    }

    /// The batch columns [`add_batch`](Self::add_batch) reads for `scopes`.
    pub fn columns(scopes: &[TagScope]) -> Vec<&'static str> {
        let mut cols: Vec<&'static str> = scopes.iter().map(|&s| scope_column(s)).collect();
        cols.sort_unstable();
        cols.dedup();
        cols
    }

    /// Adds the names found in the rows of `batch` selected by `rows` (`None`: all rows).
    pub fn add_batch(
        &mut self,
        batch: &RecordBatch,
        rows: Option<&BooleanArray>,
    ) -> Result<(), EngineError> {
        check_mask(batch, rows)?;
        for i in 0..self.scopes.len() {
            if self.stopped {
                break;
            }
            if self.scope_full(i) && self.truncated {
                continue; // a name of some full scope was already dropped: nothing to learn
            }
            let entries = scope_attrs(batch, self.scopes[i].scope, rows)?;
            let keys = attr_keys(&entries)?;
            for key in keys.iter().flatten() {
                if !self.add(i, key) {
                    break;
                }
            }
        }
        Ok(())
    }

    /// Adds everything `other` collected (in sorted order, so the result does not depend on
    /// hash order); scopes this collector was not asked for are ignored.
    pub fn merge(&mut self, other: TagNamesCollector) {
        self.truncated |= other.truncated;
        for theirs in other.scopes {
            let Some(i) = self.scopes.iter().position(|s| s.scope == theirs.scope) else {
                continue;
            };
            let mut names: Vec<String> = theirs.names.into_iter().collect();
            names.sort_unstable();
            for name in &names {
                if !self.add(i, name) {
                    break;
                }
            }
        }
    }

    /// Some name was dropped by a limit.
    pub fn truncated(&self) -> bool {
        self.truncated
    }

    /// Nothing more can be accepted: the byte cap was hit or every scope is at its limit.
    /// Callers may stop reading data (a scope at its limit counts as
    /// [`truncated`](Self::truncated) only once a further name is seen).
    pub fn is_full(&self) -> bool {
        self.stopped || (0..self.scopes.len()).all(|i| self.scope_full(i))
    }

    /// The names per scope, sorted, in [`TagScope`] order; scopes without names are omitted
    /// (as in Tempo).
    pub fn finish(self) -> Vec<(TagScope, Vec<String>)> {
        self.scopes
            .into_iter()
            .filter(|s| !s.names.is_empty())
            .map(|s| {
                let mut names: Vec<String> = s.names.into_iter().collect();
                names.sort_unstable();
                (s.scope, names)
            })
            .collect()
    }

    /// The v1 answer: the sorted, distinct union of all scopes' names.
    pub fn finish_flat(self) -> Vec<String> {
        let mut all: Vec<String> = self.scopes.into_iter().flat_map(|s| s.names).collect();
        all.sort_unstable();
        all.dedup();
        all
    }

    fn scope_full(&self, i: usize) -> bool {
        self.limit.is_some_and(|l| self.scopes[i].names.len() >= l)
    }

    /// Adds one name to scope `i`; `false` when this scope (or everything) accepts no more.
    fn add(&mut self, i: usize, name: &str) -> bool {
        if self.stopped {
            return false;
        }
        if self.scopes[i].names.contains(name) {
            return true;
        }
        if self.scope_full(i) {
            self.truncated = true;
            return false;
        }
        if self.max_bytes > 0 && self.bytes + name.len() > self.max_bytes {
            self.truncated = true;
            self.stopped = true;
            return false;
        }
        self.bytes += name.len();
        self.scopes[i].names.insert(name.to_string());
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn add_respects_limits() {
        let mut c = TagNamesCollector::new(&[TagScope::Span, TagScope::Resource], Some(2), 0);
        assert!(c.add(1, "a"));
        assert!(c.add(1, "b"));
        assert!(c.add(1, "a"), "duplicates are fine at the limit");
        assert!(!c.truncated());
        assert!(!c.add(1, "c"));
        assert!(c.truncated());
        assert!(c.add(0, "r"), "other scopes continue");
        assert!(!c.is_full());
        assert!(c.add(0, "s"));
        assert!(c.is_full());
    }

    #[test]
    fn byte_cap_stops_everything() {
        let mut c = TagNamesCollector::new(&[TagScope::Span, TagScope::Resource], None, 5);
        assert!(c.add(0, "abc"));
        assert!(c.add(1, "de"), "exactly at the cap fits");
        assert!(!c.add(1, "f"));
        assert!(c.truncated() && c.is_full());
        let out = c.finish();
        assert_eq!(out.len(), 2);
    }
}
