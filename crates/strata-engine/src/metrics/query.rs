//! A metrics request validated and compiled ([`MetricsJob`]): the time grid, one [`Leaf`]
//! per pipeline, and the arithmetic between them ([`Node`]).
//!
//! `(a | rate()) / (b | rate())`, `({ } | rate()) * 100` and their nestings evaluate each
//! pipeline as a leaf over the same data, then combine the final series (`finish.rs`): a
//! scalar applies to every sample; two sides match series by their labels (`__name__`
//! aside), a side with one unlabelled series (`{ } | rate()`) applying to every series of the
//! other, as Tempo does; `/` by 0 gives no sample.

use strata_block::BlockReader;
use strata_proto::tempopb;
use strata_traceql::{ArithOp, MetricsExpr, RootExpr, SecondStage};

use super::accumulator::MetricsAccumulator;
use super::job::Leaf;
use super::range::MetricsRange;
use crate::search::SearchAccumulator;
use crate::EngineError;

/// Most intervals a query may have, whatever the tenant's limits say.
pub const MAX_INTERVALS: usize = 100_000;

/// Why a metrics request cannot run: a message for a 400 answer.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct BadMetrics(pub String);

pub(crate) fn bad(msg: impl Into<String>) -> BadMetrics {
    BadMetrics(msg.into())
}

/// The arithmetic of a query over its leaves.
#[derive(Debug, Clone)]
pub(crate) enum Node {
    Leaf(usize),
    Scalar(f64),
    Binary {
        op: ArithOp,
        lhs: Box<Node>,
        rhs: Box<Node>,
        second: Vec<SecondStage>,
    },
}

/// A validated metrics query.
#[derive(Clone)]
pub struct MetricsJob {
    pub(crate) leaves: Vec<Leaf>,
    pub(crate) tree: Node,
    range: MetricsRange,
    max_series: usize,
}

impl MetricsJob {
    /// Compiles `req`. A range request must already be aligned: `step` a whole number of
    /// milliseconds and `start`, `end` multiples of it ([`MetricsRange::aligned`]); an
    /// instant request (`instant: true`) covers `[start, end]`.
    pub fn new(req: &tempopb::QueryRangeRequest) -> Result<Self, BadMetrics> {
        let query =
            strata_traceql::parse_and_validate(&req.query).map_err(|e| bad(e.to_string()))?;
        let RootExpr::Metrics(m) = &query.root else {
            return Err(bad(
                "invalid TraceQL query: a metrics query needs a metrics function, e.g. { } | rate()",
            ));
        };
        let range = range_of(req)?;
        let mut leaves = Vec::new();
        let tree = build(m, req, range, &mut leaves)?;
        if leaves.is_empty() {
            return Err(bad(
                "invalid TraceQL query: a metrics query needs a metrics function, e.g. { } | rate()",
            ));
        }
        Ok(Self {
            leaves,
            tree,
            range,
            max_series: req.max_series as usize,
        })
    }

    pub fn range(&self) -> &MetricsRange {
        &self.range
    }

    /// Top-level columns of the block schema the evaluation reads (every pipeline's).
    pub fn columns(&self) -> Vec<&'static str> {
        let mut cols: Vec<&'static str> = Vec::new();
        for l in &self.leaves {
            for c in l.search.plan().columns() {
                if !cols.contains(&c) {
                    cols.push(c);
                }
            }
        }
        cols
    }

    /// The series limit (0: none).
    pub fn max_series(&self) -> usize {
        self.max_series
    }

    /// Whether data spanning `[start, end]` (unix ns) may hold spans of the range.
    pub fn overlaps(&self, start: u64, end: u64) -> bool {
        self.leaves.iter().any(|l| l.search.overlaps(start, end))
    }

    /// An empty accumulator for this query.
    pub fn accumulator(&self) -> MetricsAccumulator {
        MetricsAccumulator::new(self.leaves.iter().map(Leaf::store).collect())
    }

    /// Evaluates one batch of whole traces into `acc`.
    pub fn observe_batch(
        &self,
        batch: &arrow_array::RecordBatch,
        acc: &mut MetricsAccumulator,
    ) -> Result<(), EngineError> {
        acc.metrics.inspected_spans += batch.num_rows() as u64;
        for (leaf, store) in self.leaves.iter().zip(acc.stores.iter_mut()) {
            leaf.observe_batch(batch, store)?;
        }
        Ok(())
    }

    /// Evaluates one block into `acc`, pruned as search prunes (once per pipeline).
    pub async fn observe_block(
        &self,
        reader: &BlockReader,
        acc: &mut MetricsAccumulator,
    ) -> Result<(), EngineError> {
        let mut counters = SearchAccumulator::new();
        for (i, (leaf, store)) in self.leaves.iter().zip(acc.stores.iter_mut()).enumerate() {
            let mut c = SearchAccumulator::new();
            leaf.observe_block(reader, store, &mut c).await?;
            counters.metrics.inspected_bytes += c.metrics.inspected_bytes;
            if i == 0 {
                counters.metrics.total_blocks = c.metrics.total_blocks;
                counters.metrics.total_block_bytes = c.metrics.total_block_bytes;
                counters.metrics.inspected_spans = c.metrics.inspected_spans;
            }
        }
        acc.metrics.inspected_bytes += counters.metrics.inspected_bytes;
        acc.metrics.total_blocks += counters.metrics.total_blocks;
        acc.metrics.total_block_bytes += counters.metrics.total_block_bytes;
        Ok(())
    }
}

fn build(
    m: &MetricsExpr,
    req: &tempopb::QueryRangeRequest,
    range: MetricsRange,
    leaves: &mut Vec<Leaf>,
) -> Result<Node, BadMetrics> {
    Ok(match m {
        MetricsExpr::Pipeline {
            pipeline,
            func,
            by,
            second,
        } => {
            leaves.push(Leaf::new(
                pipeline,
                func,
                by,
                second,
                range,
                req.exemplars as usize,
                req.max_series as usize,
            )?);
            Node::Leaf(leaves.len() - 1)
        }
        MetricsExpr::Scalar(v) => Node::Scalar(*v),
        MetricsExpr::Binary {
            op,
            lhs,
            rhs,
            second,
        } => Node::Binary {
            op: *op,
            lhs: Box::new(build(lhs, req, range, leaves)?),
            rhs: Box::new(build(rhs, req, range, leaves)?),
            second: second.clone(),
        },
    })
}

fn range_of(req: &tempopb::QueryRangeRequest) -> Result<MetricsRange, BadMetrics> {
    if req.end <= req.start {
        return Err(bad("invalid range: end must be after start"));
    }
    if req.instant == Some(true) {
        return Ok(MetricsRange::instant(req.start, req.end));
    }
    const MS: u64 = 1_000_000;
    if req.step == 0
        || !req.step.is_multiple_of(MS)
        || !req.start.is_multiple_of(req.step)
        || !req.end.is_multiple_of(req.step)
    {
        return Err(bad(
            "invalid range: step must be whole milliseconds and start and end multiples of it",
        ));
    }
    let range = MetricsRange {
        start: req.start,
        end: req.end,
        step: req.step,
        instant: false,
    };
    if range.intervals() > MAX_INTERVALS {
        return Err(bad(format!(
            "invalid range: more than {MAX_INTERVALS} steps"
        )));
    }
    Ok(range)
}
