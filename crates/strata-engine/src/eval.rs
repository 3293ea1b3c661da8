//! Evaluation of a [`SearchPlan`] over Arrow record batches of the block schema.
//!
//! Two phases:
//! 1. **Column-wise over the whole batch**: every spanset filter becomes a per-span
//!    [`BooleanArray`] mask, and every `by()`/aggregate expression and reported attribute a
//!    [`value::Value`] column, with Arrow kernels ([`expr`], [`ops`], [`attrs`]). Attribute
//!    lookups and intrinsic columns are computed once per batch ([`ctx`]).
//! 2. **Per trace** (contiguous runs of equal `trace_id`, [`trace`]): the spanset algebra of
//!    the pipeline on row-index sets ([`spanset`], [`structure`], [`agg`]), then the result
//!    ([`output`]).
//!
//! # Semantics (see the module docs of each part)
//! * Missing attributes make comparisons false (`!=` too); `x != nil` tests presence and
//!   `x = nil` absence ([`ops`]).
//! * `.x` is the span attribute when the span has the key, else the resource attribute.
//! * Event and link conditions hold for a span when any of its events (links) satisfies
//!   them ([`expr`]).
//! * Trace-level intrinsics repeat on every span of their trace; the tree-derived ones
//!   (`span:childCount`, `nestedSet*`) follow Tempo's nested-set numbering ([`trace`]).
//!
//! Nothing here panics on unexpected data: a missing column or a column of the wrong type is
//! [`EngineError::Batch`].

mod agg;
mod attrs;
mod ctx;
mod expr;
mod intrinsics;
mod ops;
mod output;
mod spanset;
mod structure;
#[cfg(test)]
mod tests;
mod trace;
mod value;

use arrow_array::{BinaryArray, BooleanArray, FixedSizeBinaryArray, RecordBatch};
use arrow_buffer::BooleanBuffer;
use strata_block::schema::col;

use crate::plan::ir::{Domain, Expr};
use crate::result::TraceMatch;
use crate::{EngineError, SearchPlan};
use ctx::Ctx;
pub(crate) use output::reported_attributes;
use spanset::TraceEval;
use trace::{Traces, Tree};
use value::{bad, null_to_false};
pub(crate) use value::{Sv, Value};

/// See [`SearchPlan::prefilter`].
pub(crate) fn prefilter(
    plan: &SearchPlan,
    batch: &RecordBatch,
) -> Result<BooleanArray, EngineError> {
    let n = batch.num_rows();
    let Some(e) = &plan.prefilter else {
        return Ok(BooleanArray::new(BooleanBuffer::new_set(n), None));
    };
    let mut ctx = Ctx::new(batch, None, None);
    let mask = null_to_false(&expr::predicate(&mut ctx, e)?);
    check_len(&mask, n)?;
    Ok(mask)
}

/// The prefilter's mask (see [`SearchPlan::prefilter`]) and the values reported on returned
/// spans (the plan's outputs, in order), over the same batch, for a plan that is
/// [`SearchPlan::span_local`]: the output fields are then among the prefilter's.
pub(crate) fn prefilter_and_outputs(
    plan: &SearchPlan,
    batch: &RecordBatch,
) -> Result<(BooleanArray, Vec<Value>), EngineError> {
    let n = batch.num_rows();
    let Some(e) = &plan.prefilter else {
        return Err(bad("a span-local plan without a prefilter"));
    };
    let mut ctx = Ctx::new(batch, None, None);
    let mask = null_to_false(&expr::predicate(&mut ctx, e)?);
    check_len(&mask, n)?;
    let outputs = output_values(plan, &mut ctx)?
        .into_iter()
        .map(|(_, v)| v)
        .collect();
    Ok((mask, outputs))
}

fn check_len(mask: &BooleanArray, n: usize) -> Result<(), EngineError> {
    if mask.len() == n {
        Ok(())
    } else {
        Err(bad(format!(
            "filter produced {} rows for {n} spans",
            mask.len()
        )))
    }
}

/// Evaluates what search and metrics both start from — the batch's traces, their span tree
/// when the plan needs one, the plan's filter masks and values over every span — and hands
/// them to `f`.
fn with_evaluated<R>(
    plan: &SearchPlan,
    batch: &RecordBatch,
    f: impl FnOnce(
        &mut Ctx<'_>,
        &Traces,
        &[BooleanArray],
        &[Value],
        Option<&Tree>,
    ) -> Result<R, EngineError>,
) -> Result<R, EngineError> {
    let probe = Ctx::new(batch, None, None);
    let ids = probe.typed::<FixedSizeBinaryArray>(col::TRACE_ID)?;
    let parents = probe.typed::<BinaryArray>(col::PARENT_SPAN_ID)?;
    let traces = Traces::new(ids, parents)?;
    let tree = if plan.needs_tree {
        Some(Tree::new(&traces, probe.typed(col::SPAN_ID)?, parents)?)
    } else {
        None
    };
    let mut ctx = Ctx::new(batch, Some(&traces), tree.as_ref());
    let mut masks = Vec::with_capacity(plan.filters.len());
    for f in &plan.filters {
        let mask = null_to_false(&expr::predicate(&mut ctx, f)?);
        check_len(&mask, ctx.n)?;
        masks.push(mask);
    }
    let values = plan
        .values
        .iter()
        .map(|e| expr::value(&mut ctx, e, Domain::Span))
        .collect::<Result<Vec<_>, _>>()?;
    f(&mut ctx, &traces, &masks, &values, tree.as_ref())
}

/// Spans of a batch that a pipeline selects, for metrics: the rows (ascending) of every span
/// in any final spanset of its trace, each once, and `exprs` evaluated over every span of the
/// batch (index them with the rows).
pub(crate) fn matched_rows(
    plan: &SearchPlan,
    batch: &RecordBatch,
    exprs: &[Expr],
) -> Result<(Vec<u32>, Vec<Value>), EngineError> {
    matched_rows_with(plan, batch, exprs, &[]).map(|(r, v, _)| (r, v))
}

/// Matched rows, values of expressions over the batch, and predicate masks.
pub(crate) type Matched = (Vec<u32>, Vec<Value>, Vec<BooleanArray>);

/// [`matched_rows`], also evaluating `preds` as span filters (true where they hold).
pub(crate) fn matched_rows_with(
    plan: &SearchPlan,
    batch: &RecordBatch,
    exprs: &[Expr],
    preds: &[Expr],
) -> Result<Matched, EngineError> {
    if batch.num_rows() == 0 {
        return Ok((Vec::new(), Vec::new(), Vec::new()));
    }
    with_evaluated(plan, batch, |ctx, traces, masks, values, tree| {
        matched_in(plan, ctx, traces, masks, values, tree, exprs, preds)
    })
}

/// The body of [`matched_rows_with`] once the plan's filters and values are evaluated.
#[allow(clippy::too_many_arguments)]
fn matched_in(
    plan: &SearchPlan,
    ctx: &mut Ctx<'_>,
    traces: &Traces,
    masks: &[BooleanArray],
    values: &[Value],
    tree: Option<&Tree>,
    exprs: &[Expr],
    preds: &[Expr],
) -> Result<Matched, EngineError> {
    let mut rows = Vec::new();
    for (t, range) in traces.ranges.iter().enumerate() {
        let eval = TraceEval {
            masks,
            values,
            tree,
            trace: t,
            range: range.clone(),
        };
        let sets = eval.run(&plan.pipeline)?;
        let start = rows.len();
        for s in &sets {
            rows.extend_from_slice(&s.rows);
        }
        if sets.len() > 1 {
            rows[start..].sort_unstable();
            let mut kept = start;
            for i in start..rows.len() {
                if i == start || rows[i] != rows[kept - 1] {
                    rows[kept] = rows[i];
                    kept += 1;
                }
            }
            rows.truncate(kept);
        }
    }
    let extra = exprs
        .iter()
        .map(|e| expr::value(ctx, e, Domain::Span))
        .collect::<Result<Vec<_>, _>>()?;
    let mut pred_masks = Vec::with_capacity(preds.len());
    for p in preds {
        let mask = null_to_false(&expr::predicate(ctx, p)?);
        check_len(&mask, ctx.n)?;
        pred_masks.push(mask);
    }
    Ok((rows, extra, pred_masks))
}

/// See [`SearchPlan::evaluate`].
pub(crate) fn evaluate(
    plan: &SearchPlan,
    batch: &RecordBatch,
    spss: usize,
) -> Result<Vec<TraceMatch>, EngineError> {
    if batch.num_rows() == 0 {
        return Ok(Vec::new());
    }
    with_evaluated(plan, batch, |ctx, traces, masks, values, tree| {
        matches_in(plan, ctx, traces, masks, values, tree, spss)
    })
}

/// [`evaluate`] of a [`SearchPlan::span_local`] plan whose filter's `mask` and reported
/// values (`outputs`, in the plan's order) over the batch are known: the batch needs only
/// the [`SearchPlan::result_columns`].
pub(crate) fn evaluate_known(
    plan: &SearchPlan,
    batch: &RecordBatch,
    spss: usize,
    mask: BooleanArray,
    outputs: Vec<Value>,
) -> Result<Vec<TraceMatch>, EngineError> {
    if batch.num_rows() == 0 {
        return Ok(Vec::new());
    }
    if plan.filters.len() != 1 || outputs.len() != plan.outputs.len() {
        return Err(bad("known values do not fit the plan"));
    }
    let probe = Ctx::new(batch, None, None);
    let ids = probe.typed::<FixedSizeBinaryArray>(col::TRACE_ID)?;
    let parents = probe.typed::<BinaryArray>(col::PARENT_SPAN_ID)?;
    let traces = Traces::new(ids, parents)?;
    let ctx = Ctx::new(batch, Some(&traces), None);
    check_len(&mask, ctx.n)?;
    // One filter stage: a trace's one spanset is its spans where the filter holds.
    let mut matches = Vec::new();
    for (t, range) in traces.ranges.iter().enumerate() {
        let rows: Vec<u32> = range
            .clone()
            .filter(|&r| mask.value(r))
            .map(|r| r as u32)
            .collect();
        if !rows.is_empty() {
            matches.push((
                t,
                vec![spanset::Set {
                    rows,
                    attrs: Vec::new(),
                }],
            ));
        }
    }
    if matches.is_empty() {
        return Ok(Vec::new());
    }
    let outputs = plan
        .outputs
        .iter()
        .map(|o| o.key.clone())
        .zip(outputs)
        .collect();
    assemble(&ctx, &traces, matches, outputs, spss)
}

/// The values reported on returned spans: `(key, values over spans)` per plan output.
fn output_values(
    plan: &SearchPlan,
    ctx: &mut Ctx<'_>,
) -> Result<Vec<(String, Value)>, EngineError> {
    plan.outputs
        .iter()
        .map(|o| {
            let v = expr::value(ctx, &Expr::Field(o.field.clone()), Domain::Span)?;
            Ok((o.key.clone(), v))
        })
        .collect()
}

/// The body of [`evaluate`] once the plan's filters and values are evaluated.
fn matches_in(
    plan: &SearchPlan,
    ctx: &mut Ctx<'_>,
    traces: &Traces,
    masks: &[BooleanArray],
    values: &[Value],
    tree: Option<&Tree>,
    spss: usize,
) -> Result<Vec<TraceMatch>, EngineError> {
    let mut matches = Vec::new();
    for (t, range) in traces.ranges.iter().enumerate() {
        let eval = TraceEval {
            masks,
            values,
            tree,
            trace: t,
            range: range.clone(),
        };
        let sets = eval.run(&plan.pipeline)?;
        if !sets.is_empty() {
            matches.push((t, sets));
        }
    }
    if matches.is_empty() {
        return Ok(Vec::new());
    }
    let outputs = output_values(plan, ctx)?;
    assemble(ctx, traces, matches, outputs, spss)
}

/// The [`TraceMatch`]es of the matching traces (`(trace index, final spansets)`), with
/// `outputs` reported on their spans.
fn assemble(
    ctx: &Ctx<'_>,
    traces: &Traces,
    matches: Vec<(usize, Vec<spanset::Set>)>,
    outputs: Vec<(String, Value)>,
    spss: usize,
) -> Result<Vec<TraceMatch>, EngineError> {
    let meta = output::Meta::new(ctx, outputs)?;
    matches
        .into_iter()
        .map(|(t, sets)| meta.trace_match(traces, t, sets, spss))
        .collect()
}
