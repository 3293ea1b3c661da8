//! Whole traces from a partial read of `trace_id`.
//!
//! Rows are sorted by trace ID, so each trace occupies one range of file rows. A pass that
//! read `trace_id` for a row set `S` (the first pass: the pages statistics kept) saw part of
//! every trace it met; for a trace it wants whole:
//! * every row between two seen rows of the trace belongs to it, so the range from its first
//!   to its last seen row is taken whole ([`RunCollector`]);
//! * the trace can go on beyond that range only past a seen row that begins (ends) a range of
//!   `S`, into rows `S` skipped: an [`Open`] end.
//!
//! Open ends are followed with the `trace_id` page statistics ([`regions`]): from the page
//! holding the row just outside `S`, the walk goes on to the previous (next) page while the
//! current page's min (max) is the trace ID or unknown, since only then can the trace's rows
//! continue into it. Pages of every row group count, pruned or not, so traces continue
//! across row groups. [`extend`] reads `trace_id` for those pages and keeps the rows of the
//! open traces. The result holds every row of every wanted trace and no other row.

use std::collections::HashSet;
use std::ops::Range;

use strata_block::schema::col;
use strata_block::BlockReader;

use super::rows::{Layout, Pos, Rows};
use super::stats::BlockStats;
use crate::search::{block_err, trace_ids};
use crate::EngineError;

pub(crate) type Id = [u8; 16];

/// A trace whose rows may continue beyond `row` (exclusive, `left`: before it; else from
/// it on).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Open {
    pub row: usize,
    pub left: bool,
    pub id: Id,
}

struct Run {
    id: Id,
    first: Pos,
    last: Pos,
    hit: bool,
}

/// Collects the seen rows of traces with a hit (see the module docs).
pub(crate) struct RunCollector {
    total: usize,
    run: Option<Run>,
    rows: Rows,
    open: Vec<Open>,
}

pub(crate) fn id_of(v: &[u8]) -> Result<Id, EngineError> {
    Id::try_from(v).map_err(|_| EngineError::Batch("trace_id is not 16 bytes".into()))
}

impl RunCollector {
    /// `total`: the number of rows in the file.
    pub(crate) fn new(total: usize) -> Self {
        Self {
            total,
            run: None,
            rows: Rows::default(),
            open: Vec::new(),
        }
    }

    /// The next row read, in file order.
    pub(crate) fn row(&mut self, pos: Pos, id: Id, hit: bool) {
        match &mut self.run {
            Some(r) if r.id == id => {
                r.last = pos;
                r.hit |= hit;
            }
            _ => {
                self.close();
                self.run = Some(Run {
                    id,
                    first: pos,
                    last: pos,
                    hit,
                });
            }
        }
    }

    fn close(&mut self) {
        let Some(r) = self.run.take() else {
            return;
        };
        if !r.hit {
            return;
        }
        let end = r.last.row + 1;
        self.rows.push(r.first.row..end);
        if r.first.first && r.first.row > 0 {
            self.open.push(Open {
                row: r.first.row,
                left: true,
                id: r.id,
            });
        }
        if r.last.last && end < self.total {
            self.open.push(Open {
                row: end,
                left: false,
                id: r.id,
            });
        }
    }

    /// The rows of the traces with a hit, and where they may continue.
    pub(crate) fn finish(mut self) -> (Rows, Vec<Open>) {
        self.close();
        (self.rows, self.open)
    }
}

/// One `trace_id` page: its file rows and exact 16-byte min/max, when known.
#[derive(Debug, Clone)]
pub(crate) struct IdPage {
    pub rows: Range<usize>,
    pub min: Option<Id>,
    pub max: Option<Id>,
}

/// Rows to read so that every open trace is seen whole (see the module docs). `pages`
/// partition the file's rows in order.
pub(crate) fn regions(pages: &[IdPage], open: &[Open]) -> Rows {
    let continues = |b: Option<Id>, id: Id| b.is_none_or(|b| b == id);
    let mut out = Vec::with_capacity(open.len());
    for o in open {
        let target = if o.left {
            o.row.saturating_sub(1)
        } else {
            o.row
        };
        let mut k = pages.partition_point(|p| p.rows.end <= target);
        if k >= pages.len() {
            continue;
        }
        if o.left {
            while k > 0 && continues(pages[k].min, o.id) {
                k -= 1;
            }
            out.push(pages[k].rows.start..o.row);
        } else {
            while k + 1 < pages.len() && continues(pages[k].max, o.id) {
                k += 1;
            }
            out.push(o.row..pages[k].rows.end);
        }
    }
    Rows::from_ranges(out)
}

/// Reads `trace_id` where the open traces may continue; returns their rows there and the
/// bytes fetched.
pub(crate) async fn extend(
    reader: &BlockReader,
    layout: &Layout,
    stats: &BlockStats<'_>,
    open: &[Open],
) -> Result<(Rows, u64), EngineError> {
    let region = regions(&stats.id_pages(), open);
    if region.is_empty() {
        return Ok((Rows::default(), 0));
    }
    let wanted: HashSet<Id> = open.iter().map(|o| o.id).collect();
    let mut scan = layout.read(reader, &region, vec![col::TRACE_ID]).await?;
    let mut cursor = region.cursor();
    let mut out = Rows::default();
    while let Some(batch) = scan.next().await.map_err(block_err)? {
        let ids = trace_ids(&batch)?;
        for i in 0..batch.num_rows() {
            let pos = cursor.next().ok_or_else(overrun)?;
            if wanted.contains(&id_of(ids.value(i))?) {
                out.push(pos.row..pos.row + 1);
            }
        }
    }
    if cursor.next().is_some() {
        return Err(overrun());
    }
    Ok((out, scan.inspected_bytes()))
}

pub(crate) fn overrun() -> EngineError {
    EngineError::Batch("block scan did not return the selected rows".into())
}

#[cfg(test)]
#[allow(clippy::single_range_in_vec_init)]
mod tests {
    use super::*;

    fn id(n: u8) -> Id {
        [n; 16]
    }

    fn page(a: usize, b: usize, lo: u8, hi: u8) -> IdPage {
        IdPage {
            rows: a..b,
            min: Some(id(lo)),
            max: Some(id(hi)),
        }
    }

    #[test]
    fn runs_and_open_ends() {
        // S = 2..5 ∪ 7..9 of 12 rows; IDs by row: 2:a 3:b 4:b | 7:b 8:c.
        let s = Rows::from_ranges(vec![2..5, 7..9]);
        let ids = [1, 2, 2, 2, 3];
        let hits = [true, false, true, false, false];
        let mut c = RunCollector::new(12);
        for ((pos, i), h) in s.cursor().zip(ids).zip(hits) {
            c.row(pos, id(i), h);
        }
        let (rows, open) = c.finish();
        assert_eq!(rows.ranges(), &[2..8]);
        assert_eq!(
            open,
            vec![Open {
                row: 2,
                left: true,
                id: id(1)
            }]
        );
    }

    #[test]
    fn walks_pages_while_the_trace_may_continue() {
        let pages = vec![
            page(0, 4, 1, 3),
            page(4, 8, 3, 3),
            page(8, 12, 3, 5),
            page(12, 16, 6, 9),
        ];
        let open = |row, left, n| Open {
            row,
            left,
            id: id(n),
        };
        // Trace 3 seen from row 9 on: continues back through page 1 into page 0.
        assert_eq!(regions(&pages, &[open(9, true, 3)]).ranges(), &[0..9]);
        // Trace 5 seen up to row 11: may continue into page 3 only.
        assert_eq!(regions(&pages, &[open(12, false, 5)]).ranges(), &[12..16]);
        // Trace 3 seen up to row 5: pages 1 and 2.
        assert_eq!(regions(&pages, &[open(6, false, 3)]).ranges(), &[6..12]);
        let mut unknown = pages.clone();
        unknown[2].min = None;
        assert_eq!(regions(&unknown, &[open(13, true, 6)]).ranges(), &[4..13]);
    }
}
