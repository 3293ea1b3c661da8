//! Column-chunk and page statistics as value bounds, and where a [`Prune`](super::Prune)
//! condition may hold.
//!
//! # Invariants
//! * A [`Summary`] over-approximates the values of a set of rows: every non-null value lies
//!   within `bounds`, and `maybe_null` holds whenever a row may be null. Missing, deprecated
//!   (possibly signed-order) or unexpected statistics give [`Summary::UNKNOWN`]. Byte-array
//!   statistics truncated by the writer (min to a prefix, max rounded up) are still bounds.
//! * [`BlockStats::may_hold`] is false only when no row of the row group can satisfy the
//!   condition; [`BlockStats::rows`] holds every row of the row group that can. Page rows
//!   come from the offset index, page bounds from the column index; without them a column
//!   counts as one page with unknown bounds.
//! * `service_name` conditions are used only in row groups whose resource attribute type
//!   statistics exclude arrays (see [`super::predicate`]); elsewhere they are unknown.

use std::ops::Range;

use parquet::file::metadata::ParquetMetaData;
use parquet::file::page_index::column_index::ColumnIndexMetaData;
use parquet::file::statistics::Statistics;
use strata_block::schema::{col, tag, RESOURCE_COLUMNS};

use super::predicate::{Atom, Col, Node, Val};
use super::rows::{Layout, Rows};
use super::runs::{Id, IdPage};
use crate::plan::ir::Cmp;

#[derive(Debug, Clone, PartialEq)]
enum Bounds {
    Unknown,
    /// Every row is null.
    NoValues,
    /// Inclusive bounds of the non-null values.
    Range(Val, Val),
}

/// What statistics say about one column over a set of rows.
#[derive(Debug, Clone, PartialEq)]
struct Summary {
    bounds: Bounds,
    maybe_null: bool,
}

impl Summary {
    const UNKNOWN: Summary = Summary {
        bounds: Bounds::Unknown,
        maybe_null: true,
    };

    fn new(lo: Option<Val>, hi: Option<Val>, nulls: Option<u64>, all_null: bool) -> Self {
        let bounds = match (lo, hi) {
            (Some(lo), Some(hi)) => Bounds::Range(lo, hi),
            (None, None) if all_null => Bounds::NoValues,
            _ => Bounds::Unknown,
        };
        Summary {
            bounds,
            maybe_null: nulls.is_none_or(|n| n > 0),
        }
    }

    /// Whether some row may satisfy `a`.
    fn may_hold(&self, a: &Atom) -> bool {
        let values = match &self.bounds {
            Bounds::Unknown => true,
            Bounds::NoValues => false,
            Bounds::Range(lo, hi) => range_may_hold(a.op, lo, hi, &a.val),
        };
        let null = self.maybe_null
            && a.col
                .null_value()
                .is_some_and(|z| range_may_hold(a.op, &z, &z, &a.val));
        values || null
    }
}

/// Whether some value in `[lo, hi]` satisfies `v op x`. Values of different kinds: unknown.
fn range_may_hold(op: Cmp, lo: &Val, hi: &Val, x: &Val) -> bool {
    let same = |a: &Val| std::mem::discriminant(a) == std::mem::discriminant(x);
    if !same(lo) || !same(hi) {
        return true;
    }
    match op {
        Cmp::Eq => lo <= x && x <= hi,
        Cmp::Neq => !(lo == x && hi == x),
        Cmp::Lt => lo < x,
        Cmp::Lte => lo <= x,
        Cmp::Gt => hi > x,
        Cmp::Gte => hi >= x,
    }
}

/// `duration_nano` is UInt64 stored as INT64 (statistics in unsigned order); the evaluator
/// saturates values to `i64::MAX`, which keeps the order.
fn duration(v: i64) -> Val {
    Val::Int(i64::try_from(v as u64).unwrap_or(i64::MAX))
}

/// Exact 16-byte min and max of a `trace_id` summary (rows being sorted by trace ID, the
/// first and last row's).
fn id_bounds(s: &Summary) -> (Option<Id>, Option<Id>) {
    let exact = |v: &Val| match v {
        Val::Bytes(b) => Id::try_from(b.as_slice()).ok(),
        Val::Int(_) => None,
    };
    match &s.bounds {
        Bounds::Range(lo, hi) => (exact(lo), exact(hi)),
        _ => (None, None),
    }
}

/// Statistics of one block's row groups and pages.
pub(crate) struct BlockStats<'a> {
    md: &'a ParquetMetaData,
    layout: &'a Layout,
    /// Leaf column index of each [`Col`], by `col_slot`.
    leaves: [Option<usize>; 6],
    /// The `type` leaf of `resource_attrs`.
    resource_type: Option<usize>,
    /// Format v4: whether the block's resource table has an array-valued attribute.
    table_arrays: Option<bool>,
}

fn col_slot(c: Col) -> usize {
    match c {
        Col::TraceId => 0,
        Col::Name => 1,
        Col::Kind => 2,
        Col::Duration => 3,
        Col::Status => 4,
        Col::ServiceName => 5,
    }
}

impl<'a> BlockStats<'a> {
    pub(crate) fn new(md: &'a ParquetMetaData, layout: &'a Layout) -> Self {
        let leaf = |name: &str| {
            md.file_metadata()
                .schema_descr()
                .columns()
                .iter()
                .position(|c| c.path().string() == name)
        };
        let mut leaves = [None; 6];
        for c in [
            Col::TraceId,
            Col::Name,
            Col::Kind,
            Col::Duration,
            Col::Status,
            Col::ServiceName,
        ] {
            leaves[col_slot(c)] = leaf(c.name());
        }
        let resource_type = md
            .file_metadata()
            .schema_descr()
            .columns()
            .iter()
            .position(|c| {
                let p = c.path().parts();
                p.first().is_some_and(|f| f == col::RESOURCE_ATTRS)
                    && p.last().is_some_and(|l| l == col::attr::TYPE)
            });
        // Format v4: the resources are in the footer's table, for the whole block; until the
        // caller says what it holds (`with_table_arrays`), an array may be anywhere.
        let has_table = md.file_metadata().schema_descr().columns().iter().any(|c| {
            c.path()
                .parts()
                .first()
                .is_some_and(|f| f == col::RESOURCE_REF)
        });
        Self {
            md,
            layout,
            leaves,
            resource_type,
            table_arrays: has_table.then_some(true),
        }
    }

    /// For a format v4 block, whether its resource table has an array-valued attribute
    /// ([`strata_block::ResourceTable::has_array_attribute`]); `None` leaves it as it is.
    pub(crate) fn with_table_arrays(mut self, arrays: Option<bool>) -> Self {
        if let (Some(_), Some(a)) = (self.table_arrays, arrays) {
            self.table_arrays = Some(a);
        }
        self
    }

    pub(crate) fn leaf(&self, c: Col) -> Option<usize> {
        self.leaves[col_slot(c)]
    }

    /// Leaf columns under the named top-level columns.
    /// (In format v4 the resource columns are read through `resource_ref`.)
    pub(crate) fn leaves_of(&self, names: &[&str]) -> Vec<usize> {
        let cols = self.md.file_metadata().schema_descr().columns();
        let refs = names.iter().any(|n| RESOURCE_COLUMNS.contains(n));
        (0..cols.len())
            .filter(|&i| {
                cols[i].path().parts().first().is_some_and(|p| {
                    names.contains(&p.as_str()) || (refs && p == col::RESOURCE_REF)
                })
            })
            .collect()
    }

    /// Whether a resource attribute of row group `rg` may be an array.
    fn arrays_possible(&self, rg: usize) -> bool {
        if let Some(arrays) = self.table_arrays {
            return arrays;
        }
        let Some(leaf) = self.resource_type else {
            return true;
        };
        match self.md.row_group(rg).column(leaf).statistics() {
            Some(st @ Statistics::Int32(s)) if !st.is_min_max_deprecated() => {
                match (s.min_opt(), s.max_opt()) {
                    (Some(&lo), Some(&hi)) => (lo..=hi).contains(&i32::from(tag::ARRAY)),
                    _ => true,
                }
            }
            _ => true,
        }
    }

    /// The leaf of `c` when its conditions may be used in row group `rg` (see the module
    /// docs on `service_name`).
    pub(crate) fn usable(&self, rg: usize, c: Col) -> Option<usize> {
        if c == Col::ServiceName && self.arrays_possible(rg) {
            return None;
        }
        self.leaf(c)
    }

    /// Column-chunk statistics of `c` in row group `rg`.
    fn chunk(&self, rg: usize, c: Col) -> Summary {
        let Some(leaf) = self.usable(rg, c) else {
            return Summary::UNKNOWN;
        };
        let chunk = self.md.row_group(rg).column(leaf);
        let Some(st) = chunk.statistics() else {
            return Summary::UNKNOWN;
        };
        let nulls = st.null_count_opt();
        let rows = self.md.row_group(rg).num_rows();
        let all_null = nulls.is_some_and(|n| i64::try_from(n).ok() == Some(rows));
        let (lo, hi) = match (c, st) {
            _ if st.is_min_max_deprecated() => (None, None),
            (Col::Duration, Statistics::Int64(s)) => (
                s.min_opt().map(|v| duration(*v)),
                s.max_opt().map(|v| duration(*v)),
            ),
            (Col::Kind | Col::Status, Statistics::Int32(s)) => (
                s.min_opt().map(|v| Val::Int(i64::from(*v))),
                s.max_opt().map(|v| Val::Int(i64::from(*v))),
            ),
            (Col::Name | Col::ServiceName, Statistics::ByteArray(_))
            | (Col::TraceId, Statistics::FixedLenByteArray(_)) => (
                st.min_bytes_opt().map(|b| Val::Bytes(b.to_vec())),
                st.max_bytes_opt().map(|b| Val::Bytes(b.to_vec())),
            ),
            _ => return Summary::UNKNOWN,
        };
        Summary::new(lo, hi, nulls, all_null)
    }

    /// File rows of each page of leaf column `leaf` in row group `rg` (offset index).
    pub(crate) fn page_rows(&self, rg: usize, leaf: usize) -> Option<Vec<Range<usize>>> {
        let oi = self.md.page_index()?.offset_index(rg, leaf)?;
        let span = self.layout.rows(rg);
        let firsts: Vec<usize> = oi
            .page_locations()
            .iter()
            .map(|p| {
                usize::try_from(p.first_row_index)
                    .ok()
                    .map(|f| span.start + f)
            })
            .collect::<Option<_>>()?;
        let mut out = Vec::with_capacity(firsts.len());
        for (i, &a) in firsts.iter().enumerate() {
            let b = firsts.get(i + 1).copied().unwrap_or(span.end);
            if a > b || b > span.end {
                return None;
            }
            out.push(a..b);
        }
        Some(out)
    }

    /// Pages of `c` in row group `rg` with their summaries (column index).
    fn pages(&self, rg: usize, c: Col) -> Option<Vec<(Range<usize>, Summary)>> {
        let leaf = self.usable(rg, c)?;
        let rows = self.page_rows(rg, leaf)?;
        let ci = self.md.page_index()?.column_index(rg, leaf)?;
        if usize::try_from(ci.num_pages()).ok() != Some(rows.len()) {
            return None;
        }
        let bytes = |v: Option<&[u8]>| v.map(|b| Val::Bytes(b.to_vec()));
        let out = rows
            .into_iter()
            .enumerate()
            .map(|(i, r)| {
                let nulls = ci.null_count(i).and_then(|n| u64::try_from(n).ok());
                let (lo, hi) = match (c, ci) {
                    _ if ci.is_null_page(i) => (None, None),
                    (Col::Duration, ColumnIndexMetaData::INT64(x)) => (
                        x.min_value(i).map(|v| duration(*v)),
                        x.max_value(i).map(|v| duration(*v)),
                    ),
                    (Col::Kind | Col::Status, ColumnIndexMetaData::INT32(x)) => (
                        x.min_value(i).map(|v| Val::Int(i64::from(*v))),
                        x.max_value(i).map(|v| Val::Int(i64::from(*v))),
                    ),
                    (Col::Name | Col::ServiceName, ColumnIndexMetaData::BYTE_ARRAY(x))
                    | (Col::TraceId, ColumnIndexMetaData::FIXED_LEN_BYTE_ARRAY(x)) => {
                        (bytes(x.min_value(i)), bytes(x.max_value(i)))
                    }
                    _ => return (r, Summary::UNKNOWN),
                };
                (r, Summary::new(lo, hi, nulls, ci.is_null_page(i)))
            })
            .collect();
        Some(out)
    }

    /// The first and last trace ID of row group `rg`, when its statistics give them exactly.
    pub(crate) fn id_bounds(&self, rg: usize) -> (Option<Id>, Option<Id>) {
        id_bounds(&self.chunk(rg, Col::TraceId))
    }

    /// The `trace_id` pages of the whole file, in order (a row group without a page index
    /// counts as one page with its chunk statistics).
    pub(crate) fn id_pages(&self) -> Vec<IdPage> {
        let bounds = id_bounds;
        let mut out = Vec::new();
        for rg in 0..self.layout.row_groups() {
            let pages = self
                .pages(rg, Col::TraceId)
                .unwrap_or_else(|| vec![(self.layout.rows(rg), self.chunk(rg, Col::TraceId))]);
            for (rows, s) in pages {
                let (min, max) = bounds(&s);
                out.push(IdPage { rows, min, max });
            }
        }
        out
    }

    /// Whether some row of row group `rg` may satisfy `n`.
    pub(crate) fn may_hold(&self, rg: usize, n: &Node) -> bool {
        match n {
            Node::All(v) => v.iter().all(|n| self.may_hold(rg, n)),
            Node::Any(v) => v.iter().any(|n| self.may_hold(rg, n)),
            Node::Atom(a) => self.chunk(rg, a.col).may_hold(a),
        }
    }

    /// The rows of row group `rg` in pages where `n` may hold.
    pub(crate) fn rows(&self, rg: usize, n: &Node) -> Rows {
        match n {
            Node::All(v) => {
                let mut acc = Rows::from_range(self.layout.rows(rg));
                for n in v {
                    if acc.is_empty() {
                        break;
                    }
                    acc = acc.intersect(&self.rows(rg, n));
                }
                acc
            }
            Node::Any(v) => v
                .iter()
                .fold(Rows::default(), |acc, n| acc.union(&self.rows(rg, n))),
            Node::Atom(a) => match self.pages(rg, a.col) {
                Some(pages) => Rows::from_ranges(
                    pages
                        .into_iter()
                        .filter(|(_, s)| s.may_hold(a))
                        .map(|(r, _)| r)
                        .collect(),
                ),
                None if self.chunk(rg, a.col).may_hold(a) => Rows::from_range(self.layout.rows(rg)),
                None => Rows::default(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn atom(col: Col, op: Cmp, val: Val) -> Atom {
        Atom { col, op, val }
    }

    #[test]
    fn summaries() {
        let s = Summary::new(Some(Val::Int(1)), Some(Val::Int(1)), Some(3), false);
        assert!(s.may_hold(&atom(Col::Status, Cmp::Eq, Val::Int(0))));
        assert!(s.may_hold(&atom(Col::Status, Cmp::Eq, Val::Int(1))));
        assert!(!s.may_hold(&atom(Col::Status, Cmp::Eq, Val::Int(2))));
        assert!(!s.may_hold(&atom(Col::Kind, Cmp::Eq, Val::Int(0))));
        assert!(!s.may_hold(&atom(Col::Kind, Cmp::Neq, Val::Int(1))));
        assert!(s.may_hold(&atom(Col::Status, Cmp::Neq, Val::Int(1))));
        let d = Summary::new(Some(Val::Int(10)), Some(Val::Int(20)), Some(0), false);
        assert!(!d.may_hold(&atom(Col::Duration, Cmp::Gt, Val::Int(20))));
        assert!(d.may_hold(&atom(Col::Duration, Cmp::Gte, Val::Int(20))));
        assert!(!d.may_hold(&atom(Col::Duration, Cmp::Lt, Val::Int(10))));
        assert!(d.may_hold(&atom(Col::Duration, Cmp::Lte, Val::Int(10))));
        assert!(!d.may_hold(&atom(Col::Duration, Cmp::Eq, Val::Int(21))));
        assert!(d.may_hold(&atom(Col::Duration, Cmp::Eq, Val::Bytes(vec![]))));
        let none = Summary::new(None, None, Some(4), true);
        assert!(!none.may_hold(&atom(Col::ServiceName, Cmp::Neq, Val::Bytes(vec![]))));
        assert!(none.may_hold(&atom(Col::Status, Cmp::Eq, Val::Int(0))));
        assert!(Summary::new(None, None, None, false).may_hold(&atom(
            Col::Name,
            Cmp::Eq,
            Val::Bytes(vec![])
        )));
        assert!(Summary::UNKNOWN.may_hold(&atom(Col::Name, Cmp::Eq, Val::Bytes(vec![]))));
    }
}
