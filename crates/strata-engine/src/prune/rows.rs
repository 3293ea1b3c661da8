//! Row sets in *file rows* (rows of `data.parquet` numbered from 0 across all row groups)
//! and their translation to scans.
//!
//! A scan reads a list of row groups and a selection counted over those row groups only, so
//! every pass keeps its rows in file rows and [`Layout::scan`] translates them: the row
//! groups are those holding a row of the set. A scan yields exactly the set's rows in file
//! order, so [`Cursor`] maps the `k`-th yielded row back to its file row.

use std::ops::Range;

use parquet::file::metadata::ParquetMetaData;
use strata_block::{BlockReader, RowSelection, RowSelector, Scan, ScanRequest};

use crate::EngineError;

/// Sorted, disjoint, non-adjacent, non-empty ranges of file rows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Rows(Vec<Range<usize>>);

impl Rows {
    /// Rows of any ranges, in any order, possibly overlapping.
    pub(crate) fn from_ranges(mut v: Vec<Range<usize>>) -> Self {
        v.sort_by_key(|r| r.start);
        let mut out = Rows::default();
        for r in v {
            out.push(r);
        }
        out
    }

    /// The rows of one range.
    pub(crate) fn from_range(r: Range<usize>) -> Self {
        let mut out = Rows::default();
        out.push(r);
        out
    }

    /// Adds a range starting at or after the start of every range added before.
    pub(crate) fn push(&mut self, r: Range<usize>) {
        if r.is_empty() {
            return;
        }
        match self.0.last_mut() {
            Some(last) if r.start <= last.end => last.end = last.end.max(r.end),
            _ => self.0.push(r),
        }
    }

    pub(crate) fn ranges(&self) -> &[Range<usize>] {
        &self.0
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub(crate) fn union(&self, other: &Rows) -> Rows {
        let mut all: Vec<Range<usize>> = self.0.iter().chain(&other.0).cloned().collect();
        all.sort_by_key(|r| r.start);
        let mut out = Rows::default();
        for r in all {
            out.push(r);
        }
        out
    }

    pub(crate) fn intersect(&self, other: &Rows) -> Rows {
        let (mut i, mut j) = (0, 0);
        let mut out = Rows::default();
        while i < self.0.len() && j < other.0.len() {
            let (a, b) = (&self.0[i], &other.0[j]);
            out.push(a.start.max(b.start)..a.end.min(b.end));
            if a.end <= b.end {
                i += 1;
            } else {
                j += 1;
            }
        }
        out
    }

    /// Whether any row of `r` is in the set.
    pub(crate) fn overlaps(&self, r: &Range<usize>) -> bool {
        let i = self.0.partition_point(|x| x.end <= r.start);
        self.0.get(i).is_some_and(|x| x.start < r.end)
    }

    /// Positions of the rows, in order.
    pub(crate) fn cursor(&self) -> Cursor<'_> {
        Cursor {
            ranges: &self.0,
            seg: 0,
            next: self.0.first().map_or(0, |r| r.start),
        }
    }
}

/// One yielded row: its file row and whether it begins or ends a range of the set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Pos {
    pub row: usize,
    pub first: bool,
    pub last: bool,
}

/// Walks a [`Rows`] row by row.
pub(crate) struct Cursor<'a> {
    ranges: &'a [Range<usize>],
    seg: usize,
    next: usize,
}

impl Iterator for Cursor<'_> {
    type Item = Pos;

    fn next(&mut self) -> Option<Pos> {
        let r = self.ranges.get(self.seg)?;
        let row = self.next;
        let pos = Pos {
            row,
            first: row == r.start,
            last: row + 1 == r.end,
        };
        self.next += 1;
        if self.next >= r.end {
            self.seg += 1;
            if let Some(n) = self.ranges.get(self.seg) {
                self.next = n.start;
            }
        }
        Some(pos)
    }
}

/// Where each row group's rows are among the file rows.
#[derive(Debug, Clone)]
pub(crate) struct Layout {
    /// First file row of each row group, then the total.
    starts: Vec<usize>,
}

impl Layout {
    pub(crate) fn new(md: &ParquetMetaData) -> Self {
        let mut starts = Vec::with_capacity(md.num_row_groups() + 1);
        let mut at = 0usize;
        starts.push(at);
        for rg in md.row_groups() {
            at += usize::try_from(rg.num_rows()).unwrap_or(0);
            starts.push(at);
        }
        Self { starts }
    }

    pub(crate) fn row_groups(&self) -> usize {
        self.starts.len() - 1
    }

    pub(crate) fn total(&self) -> usize {
        self.starts.last().copied().unwrap_or(0)
    }

    /// File rows of row group `rg`.
    pub(crate) fn rows(&self, rg: usize) -> Range<usize> {
        match (self.starts.get(rg), self.starts.get(rg + 1)) {
            (Some(&a), Some(&b)) => a..b,
            _ => 0..0,
        }
    }

    /// Row groups and selection of a scan reading exactly `rows` (selection `None` when it
    /// reads every row of those row groups).
    pub(crate) fn scan(&self, rows: &Rows) -> (Vec<usize>, Option<RowSelection>) {
        let mut groups = Vec::new();
        let mut selectors = Vec::new();
        let mut all = true;
        for rg in 0..self.row_groups() {
            let span = self.rows(rg);
            if span.is_empty() || !rows.overlaps(&span) {
                continue;
            }
            groups.push(rg);
            let mut at = span.start;
            let i = rows.0.partition_point(|x| x.end <= span.start);
            for r in rows.0[i..].iter().take_while(|r| r.start < span.end) {
                let (a, b) = (r.start.max(span.start), r.end.min(span.end));
                if a > at {
                    selectors.push(RowSelector::skip(a - at));
                    all = false;
                }
                selectors.push(RowSelector::select(b - a));
                at = b;
            }
            if at < span.end {
                selectors.push(RowSelector::skip(span.end - at));
                all = false;
            }
        }
        let sel = (!all).then(|| RowSelection::from(selectors));
        (groups, sel)
    }

    /// A scan of `reader` reading exactly `rows` (file rows) of `columns`, in batches that may
    /// split a trace.
    pub(crate) async fn read(
        &self,
        reader: &BlockReader,
        rows: &Rows,
        columns: Vec<&'static str>,
    ) -> Result<Scan, EngineError> {
        let (row_groups, selection) = self.scan(rows);
        reader
            .scan(ScanRequest {
                columns,
                row_groups: Some(row_groups),
                selection,
                batch_rows: 0,
                whole_traces: false,
            })
            .await
            .map_err(crate::search::block_err)
    }
}

#[cfg(test)]
#[allow(clippy::single_range_in_vec_init)]
mod tests {
    use super::*;

    fn rows(v: &[(usize, usize)]) -> Rows {
        Rows::from_ranges(v.iter().map(|&(a, b)| a..b).collect())
    }

    #[test]
    fn set_operations() {
        let a = rows(&[(5, 10), (0, 3), (2, 4), (10, 12)]);
        assert_eq!(a.ranges(), &[0..4, 5..12]);
        let b = rows(&[(3, 6), (11, 20)]);
        assert_eq!(a.intersect(&b).ranges(), &[3..4, 5..6, 11..12]);
        assert_eq!(a.union(&b).ranges(), &[0..20]);
        assert!(a.overlaps(&(4..6)));
        assert!(!a.overlaps(&(4..5)));
        let pos: Vec<(usize, bool, bool)> = rows(&[(1, 3), (5, 6)])
            .cursor()
            .map(|p| (p.row, p.first, p.last))
            .collect();
        assert_eq!(
            pos,
            vec![(1, true, false), (2, false, true), (5, true, true)]
        );
    }

    #[test]
    fn scans_translate_to_row_groups() {
        let layout = Layout {
            starts: vec![0, 10, 20, 30],
        };
        let (groups, sel) = layout.scan(&rows(&[(0, 20)]));
        assert_eq!(groups, vec![0, 1]);
        assert!(sel.is_none());
        let (groups, sel) = layout.scan(&rows(&[(5, 12), (25, 26)]));
        assert_eq!(groups, vec![0, 1, 2]);
        let sel: Vec<RowSelector> = sel.expect("partial").iter().copied().collect();
        assert_eq!(
            sel,
            vec![
                RowSelector::skip(5),
                RowSelector::select(7),
                RowSelector::skip(13),
                RowSelector::select(1),
                RowSelector::skip(4),
            ]
        );
    }
}
