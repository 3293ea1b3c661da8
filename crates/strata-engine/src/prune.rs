//! Statistics-based pruning of block search.
//!
//! A block is searched in up to three reads, all in *file rows* ([`rows`]):
//! 1. **First pass** (when the plan has a prefilter): `trace_id` and the prefilter's columns
//!    for the rows that statistics cannot rule out ([`first_pass_rows`]). A row group is
//!    skipped when its start/end statistics miss the requested time range, or when its
//!    column-chunk statistics prove that no span passes the plan's [`Prune`] condition
//!    (implied by the prefilter, see [`predicate`]); within the other row groups, pages whose
//!    column index proves the same are skipped. Candidate traces are those with a passing
//!    span among the rows read.
//! 2. **Extension** ([`runs`]): a candidate trace seen at the edge of the rows read may have
//!    rows in skipped pages or row groups (a trace may straddle pages and row groups). Those
//!    are found from the `trace_id` page statistics and a read of `trace_id` there.
//! 3. **Second pass**: the full projection for exactly the rows of the candidate traces.
//!
//! Without a prefilter the second pass reads the row groups in the time range, extended in
//! the same way to the whole traces at their edges (the trace IDs at a row group's edges are
//! its `trace_id` min and max, rows being sorted).
//!
//! # Invariants
//! * Nothing is skipped that holds a span passing the prefilter, within the time range.
//! * The second pass reads whole traces: every row of each candidate trace, no other row.
//! * [`Prune`] conditions, summaries and page selections are over-approximations; anything
//!   unknown (no statistics, no page index, unsupported expression) keeps the rows.
//!
//! The time range applies to row groups through [`search_scope`]: the groups in range, and
//! their neighbours holding rows of a trace that continues into a group in range (such a
//! trace may overlap the range while its passing span lies outside it).
//!
//! Before the first pass, row groups that statistics keep are also skipped when the
//! dictionary page of their `name` or `service_name` chunk proves that an equality the
//! [`Prune`] condition needs cannot hold ([`dict`]); such groups are treated like those that
//! statistics skip (counted as pruned, reached by the extension).
//!
//! **Parts** ([`parts`]): a block may be searched in parts, each a range of row groups, to
//! spread one block over several jobs. The scope and the dictionaries are decided as for the
//! whole block; a part then keeps only the rows of its *window* (the traces whose first row
//! lies in its row groups), so the parts of a partition find exactly the whole search's
//! traces, each in one part.
//!
//! Limits: a trace whose spans all lie in row groups outside the time range is not searched
//! even if, spanning both sides of the range, it overlaps it.

mod dict;
mod parts;
mod predicate;
mod rows;
mod runs;
mod stats;

pub(crate) use dict::dictionary_scope;
pub(crate) use parts::{inside, outer, touches, window};
pub use predicate::Prune;
pub(crate) use rows::{Layout, Rows};
pub(crate) use runs::{extend, id_of, overrun, Open, RunCollector};
pub(crate) use stats::BlockStats;

/// What statistics let a block search skip (see [`first_pass_rows`]).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Pruned {
    /// Row groups skipped by time range or by the [`Prune`] condition.
    pub row_groups: u64,
    /// Pages of the first pass's columns, in the other row groups, that the first pass
    /// skips.
    pub pages: u64,
}

/// The rows the first pass reads: those of row groups in `scope` (see [`search_scope`])
/// whose statistics allow a span passing `prune`, restricted to the pages that do.
/// `columns` are the first pass's (for counting skipped pages); only row groups marked in
/// `counted` are counted in [`Pruned`] (a block searched in parts counts each row group in
/// one part).
pub(crate) fn first_pass_rows(
    stats: &BlockStats<'_>,
    layout: &Layout,
    scope: &[bool],
    prune: Option<&Prune>,
    columns: &[&str],
    counted: &[bool],
) -> (Rows, Pruned) {
    let mut out = Rows::default();
    let mut pruned = Pruned::default();
    let leaves = stats.leaves_of(columns);
    for rg in 0..layout.row_groups() {
        let keep = scope.get(rg).copied().unwrap_or(true)
            && prune.is_none_or(|p| stats.may_hold(rg, &p.node));
        let count = counted.get(rg).copied().unwrap_or(true);
        if !keep {
            pruned.row_groups += u64::from(count);
            continue;
        }
        let rows = match prune {
            Some(p) => stats.rows(rg, &p.node),
            None => Rows::from_range(layout.rows(rg)),
        };
        for &leaf in leaves.iter().filter(|_| count) {
            let pages = stats.page_rows(rg, leaf).unwrap_or_default();
            pruned.pages += pages.iter().filter(|r| !rows.overlaps(r)).count() as u64;
        }
        for r in rows.ranges() {
            out.push(r.clone());
        }
    }
    (out, pruned)
}

/// The row groups to search: those in the time range (`in_range`) and, next to each, those
/// holding rows of a trace that continues into it (by `trace_id` statistics; unknown
/// statistics count as a shared trace). A trace overlapping the time range has rows in a row
/// group in range (unless it spans row groups before *and* after the range only), so its
/// passing spans are in the groups returned.
pub(crate) fn search_scope(stats: &BlockStats<'_>, in_range: &[bool]) -> Vec<bool> {
    let n = in_range.len();
    let bounds: Vec<_> = (0..n).map(|rg| stats.id_bounds(rg)).collect();
    let same = |a: Option<runs::Id>, b: Option<runs::Id>| a.is_none() || b.is_none() || a == b;
    let mut scope = in_range.to_vec();
    for rg in (0..n).filter(|&rg| in_range[rg]) {
        // Right: while the next group starts with the trace this one ends with.
        let mut k = rg;
        while k + 1 < n && !in_range[k + 1] && same(bounds[k].1, bounds[k + 1].0) {
            k += 1;
            scope[k] = true;
            if !same(bounds[k].0, bounds[k].1) {
                break;
            }
        }
        // Left, likewise.
        let mut k = rg;
        while k > 0 && !in_range[k - 1] && same(bounds[k].0, bounds[k - 1].1) {
            k -= 1;
            scope[k] = true;
            if !same(bounds[k].0, bounds[k].1) {
                break;
            }
        }
    }
    scope
}

/// Whole row groups in `scope`, with the open ends of the traces at their edges; `None`
/// when a needed `trace_id` statistic is missing (then read everything).
pub(crate) fn row_group_rows(
    stats: &BlockStats<'_>,
    layout: &Layout,
    scope: &[bool],
) -> Option<(Rows, Vec<Open>)> {
    let kept = Rows::from_ranges(
        (0..layout.row_groups())
            .filter(|&rg| scope.get(rg).copied().unwrap_or(true))
            .map(|rg| layout.rows(rg))
            .collect(),
    );
    let pages = stats.id_pages();
    let page_of = |row: usize| pages.get(pages.partition_point(|p| p.rows.end <= row));
    let mut open = Vec::new();
    for r in kept.ranges() {
        if r.start > 0 {
            let id = page_of(r.start)?.min?;
            open.push(Open {
                row: r.start,
                left: true,
                id,
            });
        }
        if r.end < layout.total() {
            let id = page_of(r.end - 1)?.max?;
            open.push(Open {
                row: r.end,
                left: false,
                id,
            });
        }
    }
    Some((kept, open))
}
