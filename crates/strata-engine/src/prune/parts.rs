//! Parts of a block: a range of row groups searched on its own ([`window`]), so that one
//! block's search can be split into jobs whose answers add up to the whole block's.
//!
//! Rows are sorted by trace ID, so a trace may straddle a row-group boundary. A part owns
//! the traces whose *first* row lies in its row groups: its *window* of file rows runs from
//! the end of the trace straddling its first boundary to the end of the trace straddling its
//! last one. Windows of consecutive parts partition the file's rows at trace boundaries,
//! so every trace is in exactly one window and is searched whole by exactly one part.
//!
//! A boundary is found from `trace_id` statistics (a row group that starts with another ID
//! than its predecessor ends with is a trace boundary) and, when a trace may straddle it, a
//! read of `trace_id` where that trace may continue ([`super::extend`]); a missing statistic
//! costs a read of the one row before the boundary.

use std::ops::Range;

use arrow_array::Array;
use strata_block::schema::col;
use strata_block::BlockReader;

use super::rows::{Layout, Rows};
use super::runs::{extend, id_of, overrun, regions, Id, Open};
use super::stats::BlockStats;
use crate::search::{block_err, trace_ids};
use crate::EngineError;

/// Rows holding the window of row groups `groups` (clamped to the file), from statistics
/// alone (no read): from the first row group's start to where the trace straddling the
/// last boundary may end.
pub(crate) fn outer(
    layout: &Layout,
    stats: &BlockStats<'_>,
    groups: &Range<usize>,
) -> Range<usize> {
    let n = layout.row_groups();
    let total = layout.total();
    let start_of = |rg: usize| {
        if rg >= n {
            total
        } else {
            layout.rows(rg).start
        }
    };
    let (a, b) = (groups.start.min(n), groups.end.min(n));
    if a >= b {
        return 0..0;
    }
    let x = start_of(b);
    if x >= total {
        return start_of(a)..total;
    }
    let pages = stats.id_pages();
    let page_of = |row: usize| pages.get(pages.partition_point(|p| p.rows.end <= row));
    let end = match page_of(x - 1).and_then(|p| p.max) {
        None => total,
        Some(prev) if page_of(x).and_then(|p| p.min).is_some_and(|m| m != prev) => x,
        Some(prev) => {
            let open = Open {
                row: x,
                left: false,
                id: prev,
            };
            regions(&pages, &[open])
                .ranges()
                .last()
                .map_or(x, |r| r.end.max(x))
        }
    };
    start_of(a)..end
}

/// The window of file rows of row groups `groups` (clamped to the file), and the bytes read
/// to find it.
pub(crate) async fn window(
    reader: &BlockReader,
    layout: &Layout,
    stats: &BlockStats<'_>,
    groups: &Range<usize>,
) -> Result<(Range<usize>, u64), EngineError> {
    let n = layout.row_groups();
    let start_of = |rg: usize| {
        if rg >= n {
            layout.total()
        } else {
            layout.rows(rg).start
        }
    };
    let (a, b) = (groups.start.min(n), groups.end.min(n));
    if a >= b {
        return Ok((start_of(a)..start_of(a), 0));
    }
    let (s, x) = boundary(reader, layout, stats, start_of(a)).await?;
    let (e, y) = boundary(reader, layout, stats, start_of(b)).await?;
    Ok((s..e.max(s), x + y))
}

/// The first row at or after `x` that begins a trace (the end of the trace holding row
/// `x - 1` when it goes on at `x`), and the bytes read to find it.
async fn boundary(
    reader: &BlockReader,
    layout: &Layout,
    stats: &BlockStats<'_>,
    x: usize,
) -> Result<(usize, u64), EngineError> {
    if x == 0 || x >= layout.total() {
        return Ok((x, 0));
    }
    let pages = stats.id_pages();
    let page_of = |row: usize| pages.get(pages.partition_point(|p| p.rows.end <= row));
    let mut bytes = 0;
    let prev = match page_of(x - 1).and_then(|p| p.max) {
        Some(id) => id,
        None => {
            let (id, b) = read_id(reader, layout, x - 1).await?;
            bytes += b;
            id
        }
    };
    if page_of(x).and_then(|p| p.min).is_some_and(|m| m != prev) {
        return Ok((x, bytes));
    }
    let open = Open {
        row: x,
        left: false,
        id: prev,
    };
    let (rows, b) = extend(reader, layout, stats, &[open]).await?;
    let end = rows
        .ranges()
        .first()
        .filter(|r| r.start == x)
        .map_or(x, |r| r.end);
    Ok((end, bytes + b))
}

/// The trace ID of file row `row`, and the bytes read.
async fn read_id(
    reader: &BlockReader,
    layout: &Layout,
    row: usize,
) -> Result<(Id, u64), EngineError> {
    let mut scan = layout
        .read(reader, &Rows::from_range(row..row + 1), vec![col::TRACE_ID])
        .await?;
    let mut id = None;
    while let Some(batch) = scan.next().await.map_err(block_err)? {
        let ids = trace_ids(&batch)?;
        if id.is_none() && !ids.is_empty() {
            id = Some(id_of(ids.value(0))?);
        }
    }
    Ok((id.ok_or_else(overrun)?, scan.inspected_bytes()))
}

/// Keeps the open ends strictly inside `window`: no trace crosses a window's edges.
pub(crate) fn inside(open: Vec<Open>, window: &Range<usize>) -> Vec<Open> {
    open.into_iter()
        .filter(|o| o.row > window.start && o.row < window.end)
        .collect()
}

/// Whether row group `rg` has rows in `window`.
pub(crate) fn touches(layout: &Layout, rg: usize, window: &Range<usize>) -> bool {
    let r = layout.rows(rg);
    r.start < window.end && r.end > window.start
}
