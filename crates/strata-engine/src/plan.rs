//! Query planning: [`SearchPlan`] compiles a validated TraceQL query for search.
//!
//! A plan holds the compiled pipeline ([`ir`]), every spanset filter, `by()` expression and
//! aggregate argument (evaluated column-wise over whole batches by [`crate::eval`]), the
//! attributes reported on returned spans, the columns the evaluation reads, and a span-level
//! prefilter.
//!
//! # Prefilter
//! The prefilter is a *necessary* condition: every trace that [`SearchPlan::evaluate`]
//! returns has at least one span for which it holds. It is derived from the pipeline:
//! * every spanset stage's output spans are spans of the trace, and a pipeline stops at the
//!   first empty stage, so the condition of any one spanset stage is necessary (the first
//!   stage that has one is used);
//! * a filter `{ e }` contributes `e` when `e` reads only row-local fields (anything but the
//!   trace-level and tree-derived intrinsics), else the row-local conjuncts of a top-level
//!   `&&` chain, else nothing;
//! * `a && b`, union forms and structural forms need both sides non-empty: the right side's
//!   condition (whose spans the structural forms return), else the left's; `a || b` needs
//!   either: `ca || cb` when both sides have one; negated structural forms (`!>`, ...) return
//!   right-side spans even when the left side is empty: only the right side's condition.
//!
//! Queries without such a condition (`{ }`, `count() > 1`, `{ trace:duration > 1s }`) have
//! no prefilter.

mod compile;
pub(crate) mod ir;
pub(crate) mod text;

use std::collections::BTreeSet;

use arrow_array::{BooleanArray, RecordBatch};
use strata_block::schema::col;
use strata_traceql::{Intrinsic, Query, RootExpr, SpansetOp};

use crate::result::TraceMatch;
use crate::EngineError;
use ir::{Expr, FieldRef, Source};

/// A compiled search query. Cheap to clone; shareable across threads.
#[derive(Debug, Clone)]
pub struct SearchPlan {
    pub(crate) pipeline: ir::Pipeline,
    /// Spanset filter expressions, referenced by [`ir::SpansetExpr::Filter`].
    pub(crate) filters: Vec<Expr>,
    /// `by()` expressions and aggregate arguments.
    pub(crate) values: Vec<Expr>,
    /// Attributes reported on returned spans, in query order.
    pub(crate) outputs: Vec<ir::Output>,
    /// Whether the query needs the parent/child tree of traces.
    pub(crate) needs_tree: bool,
    pub(crate) prefilter: Option<Expr>,
    columns: Vec<&'static str>,
    prefilter_columns: Vec<&'static str>,
    /// Whether `resource.service.name` is the only resource attribute read (no other
    /// `resource.` field, no unscoped `.x`), so a block with an exact `service_name` column
    /// can be read without `resource_attrs` ([`block_columns`](Self::block_columns)).
    service_name_only: bool,
    /// See [`span_local`](Self::span_local).
    span_local: bool,
}

/// Read by every metrics evaluation: the traces' structure and span start times. Span IDs
/// too when exemplars are wanted or the span tree is built.
const METRICS_COLUMNS: [&str; 3] = [col::TRACE_ID, col::PARENT_SPAN_ID, col::START];

/// Read by every evaluation: trace metadata, service statistics and returned spans (a span's
/// duration is `end - start`, as `duration_nano` is defined, so that column is read only
/// when a query names `duration`).
const BASE_COLUMNS: [&str; 8] = [
    col::TRACE_ID,
    col::SPAN_ID,
    col::PARENT_SPAN_ID,
    col::NAME,
    col::START,
    col::END,
    col::STATUS_CODE,
    col::SERVICE_NAME,
];

impl SearchPlan {
    /// Compiles a parsed and validated query. Metrics queries, `parent.` attributes, the
    /// `parent` intrinsic, aggregates over sub-pipelines, scalar filters other than
    /// `aggregate op literal`, non-literal regexes and expressions mixing event and link
    /// fields are [`EngineError::Unsupported`].
    pub fn new(query: &Query) -> Result<Self, EngineError> {
        let RootExpr::Spanset(pipeline) = &query.root else {
            return Err(EngineError::Unsupported(
                "metrics queries cannot be used for search".into(),
            ));
        };
        let mut c = compile::Compiler::default();
        let pipeline = c.pipeline(pipeline)?;
        let mut needs_tree = c.structural;
        let mut cols: BTreeSet<&'static str> = BASE_COLUMNS.into_iter().collect();
        for e in c.filters.iter().chain(&c.values) {
            e.visit_fields(&mut |r| {
                needs_tree |= r.needs_tree();
                field_columns(r, &mut cols);
            });
        }
        for o in &c.outputs {
            needs_tree |= o.field.needs_tree();
            field_columns(&o.field, &mut cols);
        }
        let prefilter = necessary_pipeline(&pipeline, &c.filters);
        let mut pre_cols = BTreeSet::new();
        if let Some(p) = &prefilter {
            p.visit_fields(&mut |r| field_columns(r, &mut pre_cols));
        }
        let mut service_name_only = true;
        let fields = c.filters.iter().chain(&c.values);
        fields.for_each(|e| e.visit_fields(&mut |r| service_name_only &= !other_resource(r)));
        service_name_only &= !c.outputs.iter().any(|o| other_resource(&o.field));
        // One filter of row-local fields, nothing else: its outputs are its own fields.
        let span_local = !needs_tree
            && c.values.is_empty()
            && matches!(
                pipeline.stages.as_slice(),
                [ir::Stage::Spanset(ir::SpansetExpr::Filter(Some(0)))]
            )
            && c.filters.len() == 1
            && c.filters[0].is_row_local()
            && c.filters[0].has_fields();
        Ok(Self {
            pipeline,
            filters: c.filters,
            values: c.values,
            outputs: c.outputs,
            needs_tree,
            prefilter,
            columns: ordered(&cols),
            prefilter_columns: ordered(&pre_cols),
            service_name_only,
            span_local,
        })
    }

    /// Compiles a metrics query's spanset pipeline for [`crate::eval::matched_rows_with`],
    /// with `fields` (the function's argument and `by()` labels) among the columns read,
    /// also compiling `preds` (span filters, such as `compare()`'s) and reading the columns
    /// `extra` and those the predicates need, and span IDs when `exemplars`. Returns the plan,
    /// the compiled fields and the compiled predicates.
    pub(crate) fn for_metrics_with(
        pipeline: &strata_traceql::Pipeline,
        fields: &[strata_traceql::FieldExpr],
        preds: &[strata_traceql::FieldExpr],
        extra: &[&'static str],
        exemplars: bool,
    ) -> Result<(Self, Vec<Expr>, Vec<Expr>), EngineError> {
        let (mut plan, exprs) = Self::for_metrics_fields(pipeline, fields)?;
        let mut c = compile::Compiler::default();
        let mut compiled = Vec::with_capacity(preds.len());
        for p in preds {
            let e = c.expr(p)?;
            compile::check_predicate_domains(&e)?;
            e.visit_fields(&mut |r| plan.needs_tree |= r.needs_tree());
            compiled.push(e);
        }
        // Metrics read less than search, which reports trace metadata: the trace structure,
        // start times, and what the expressions name (all base columns when they name a
        // trace-level intrinsic, computed from every span of the trace).
        let mut cols: BTreeSet<&'static str> = METRICS_COLUMNS.into_iter().collect();
        cols.extend(extra.iter().copied());
        if exemplars {
            cols.insert(col::SPAN_ID);
        }
        let mut base = false;
        let mut only = !extra.contains(&col::RESOURCE_ATTRS);
        let mut visit = |r: &FieldRef| {
            let mut needed = BTreeSet::new();
            field_columns(r, &mut needed);
            base |= needed.is_empty();
            only &= !other_resource(r);
            cols.extend(needed);
        };
        for e in plan
            .filters
            .iter()
            .chain(&plan.values)
            .chain(&exprs)
            .chain(&compiled)
        {
            e.visit_fields(&mut visit);
        }
        for o in &plan.outputs {
            visit(&o.field);
        }
        if base {
            cols.extend(BASE_COLUMNS);
        }
        if plan.needs_tree {
            cols.insert(col::SPAN_ID);
        }
        plan.columns = ordered(&cols);
        plan.service_name_only &= only;
        Ok((plan, exprs, compiled))
    }

    /// The pipeline with `select(fields)` appended (so their columns are read), and the
    /// compiled fields.
    fn for_metrics_fields(
        pipeline: &strata_traceql::Pipeline,
        fields: &[strata_traceql::FieldExpr],
    ) -> Result<(Self, Vec<Expr>), EngineError> {
        let mut stages = pipeline.stages.clone();
        if !fields.is_empty() {
            stages.push(strata_traceql::Stage::Select(fields.to_vec()));
        }
        let query = Query {
            root: RootExpr::Spanset(strata_traceql::Pipeline { stages }),
            hints: Vec::new(),
        };
        let plan = Self::new(&query)?;
        let mut c = compile::Compiler::default();
        let exprs = fields
            .iter()
            .map(|f| c.expr(f))
            .collect::<Result<Vec<_>, _>>()?;
        Ok((plan, exprs))
    }

    /// Whether the query is one filter `{ e }` whose expression reads only fields of the
    /// span's own row: then its prefilter is the whole filter, a span matches exactly when
    /// the prefilter holds on it, and the values reported on it are fields of the
    /// prefilter's columns. A block search then keeps what its first pass found and reads
    /// only [`result_columns`](Self::result_columns) in the second.
    pub fn span_local(&self) -> bool {
        self.span_local && self.prefilter.is_some()
    }

    /// The columns a search result needs besides the filters' and reported values': trace
    /// structure and metadata, service statistics, the returned spans.
    pub fn result_columns(&self) -> Vec<&'static str> {
        ordered(&BASE_COLUMNS.into_iter().collect())
    }

    /// Top-level columns of the block schema that [`evaluate`](Self::evaluate) reads.
    pub fn columns(&self) -> Vec<&'static str> {
        self.columns.clone()
    }

    /// `cols` (from [`columns`](Self::columns) or [`prefilter_columns`]) for a block whose
    /// `service_name` column is exact (`strata.service_name_exact` in its footer, see
    /// `strata_block::SERVICE_NAME_EXACT_KEY`): when `resource.service.name` is the only
    /// resource attribute the query reads, `service_name` replaces the much larger
    /// `resource_attrs` list column, and evaluation takes the values from it.
    ///
    /// [`prefilter_columns`]: Self::prefilter_columns
    pub fn block_columns(
        &self,
        mut cols: Vec<&'static str>,
        service_name_exact: bool,
    ) -> Vec<&'static str> {
        if service_name_exact && self.service_name_only && cols.contains(&col::RESOURCE_ATTRS) {
            cols.retain(|c| *c != col::RESOURCE_ATTRS);
            if !cols.contains(&col::SERVICE_NAME) {
                cols.push(col::SERVICE_NAME);
            }
            cols = ordered(&cols.into_iter().collect());
        }
        cols
    }

    /// Columns [`prefilter`](Self::prefilter) reads, or `None` when the query has no
    /// span-level necessary condition (every trace is a candidate).
    pub fn prefilter_columns(&self) -> Option<Vec<&'static str>> {
        self.prefilter
            .as_ref()
            .map(|_| self.prefilter_columns.clone())
    }

    /// Per span: whether it passes the prefilter. A trace can only match when one of its
    /// spans passes. Needs only [`prefilter_columns`](Self::prefilter_columns); rows need not
    /// form whole traces. All true when there is no prefilter.
    pub fn prefilter(&self, batch: &RecordBatch) -> Result<BooleanArray, EngineError> {
        crate::eval::prefilter(self, batch)
    }

    /// Evaluates the query over a batch of whole traces with contiguous rows (see the crate
    /// docs). `spss` is the most spans returned per spanset. Matching traces come back in
    /// batch order.
    pub fn evaluate(
        &self,
        batch: &RecordBatch,
        spss: usize,
    ) -> Result<Vec<TraceMatch>, EngineError> {
        crate::eval::evaluate(self, batch, spss)
    }
}

/// The set in block-schema order.
fn ordered(set: &BTreeSet<&'static str>) -> Vec<&'static str> {
    let schema = strata_block::schema::span_schema();
    let mut cols: Vec<&'static str> = set.iter().copied().collect();
    cols.sort_by_key(|c| schema.index_of(c).unwrap_or(usize::MAX));
    cols
}

/// Whether reading `r` needs a resource attribute other than `service.name`.
fn other_resource(r: &FieldRef) -> bool {
    match r {
        FieldRef::Attr(Source::Resource, name) => name != "service.name",
        FieldRef::Attr(Source::Unscoped, _) => true,
        _ => false,
    }
}

/// The columns reading `r` needs.
fn field_columns(r: &FieldRef, out: &mut BTreeSet<&'static str>) {
    let needed: &[&'static str] = match r {
        FieldRef::Attr(Source::Span, _) => &[col::ATTRS],
        FieldRef::Attr(Source::Resource, _) => &[col::RESOURCE_ATTRS],
        FieldRef::Attr(Source::Unscoped, _) => &[col::ATTRS, col::RESOURCE_ATTRS],
        FieldRef::Attr(Source::Scope, _) => &[col::SCOPE_ATTRS],
        FieldRef::Attr(Source::Event, _) | FieldRef::Intr(Intrinsic::EventName) => &[col::EVENTS],
        FieldRef::Attr(Source::Link, _)
        | FieldRef::Intr(Intrinsic::LinkTraceId | Intrinsic::LinkSpanId) => &[col::LINKS],
        FieldRef::Intr(i) => match i {
            Intrinsic::Duration => &[col::DURATION],
            Intrinsic::Name => &[col::NAME],
            Intrinsic::Status => &[col::STATUS_CODE],
            Intrinsic::StatusMessage => &[col::STATUS_MESSAGE],
            Intrinsic::Kind => &[col::KIND],
            Intrinsic::SpanId => &[col::SPAN_ID],
            Intrinsic::SpanParentId => &[col::PARENT_SPAN_ID],
            Intrinsic::TraceId => &[col::TRACE_ID],
            Intrinsic::EventTimeSinceStart => &[col::EVENTS, col::START],
            Intrinsic::InstrumentationName => &[col::SCOPE_NAME],
            Intrinsic::InstrumentationVersion => &[col::SCOPE_VERSION],
            // Trace-level and tree-derived values: only in full evaluation, which reads
            // the base columns.
            _ => &[],
        },
    };
    out.extend(needed.iter().copied());
}

fn necessary_pipeline(p: &ir::Pipeline, filters: &[Expr]) -> Option<Expr> {
    p.stages.iter().find_map(|s| match s {
        ir::Stage::Spanset(e) => necessary(e, filters),
        _ => None,
    })
}

fn necessary(e: &ir::SpansetExpr, filters: &[Expr]) -> Option<Expr> {
    match e {
        ir::SpansetExpr::Filter(None) => None,
        ir::SpansetExpr::Filter(Some(i)) => filters.get(*i).and_then(local_part),
        ir::SpansetExpr::Pipeline(p) => necessary_pipeline(p, filters),
        ir::SpansetExpr::Op { op, lhs, rhs } => {
            use SpansetOp::*;
            match op {
                Or => {
                    let l = necessary(lhs, filters)?;
                    let r = necessary(rhs, filters)?;
                    Some(Expr::Or(Box::new(l), Box::new(r)))
                }
                NotChild | NotParent | NotDescendant | NotAncestor | NotSibling => {
                    necessary(rhs, filters)
                }
                And | Child | Parent | Descendant | Ancestor | Sibling | UnionChild
                | UnionParent | UnionDescendant | UnionAncestor | UnionSibling => {
                    necessary(rhs, filters).or_else(|| necessary(lhs, filters))
                }
            }
        }
    }
}

/// The row-local part of a filter expression that every passing span satisfies.
fn local_part(e: &Expr) -> Option<Expr> {
    if e.is_row_local() && e.has_fields() {
        return Some(e.clone());
    }
    match e {
        Expr::And(a, b) => match (local_part(a), local_part(b)) {
            (Some(a), Some(b)) => Some(Expr::And(Box::new(a), Box::new(b))),
            (a, b) => a.or(b),
        },
        _ => None,
    }
}
