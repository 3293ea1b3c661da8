//! The TraceQL abstract syntax tree.
//!
//! The parser ([`crate::parse`]) produces a [`Query`]; [`crate::validate`] checks types and
//! refuses what Strata does not support; the search engine (`strata-engine`) evaluates
//! [`RootExpr::Spanset`] queries, and `strata-engine::metrics` evaluates metrics queries
//! ([`RootExpr::Metrics`]).
//!
//! Naming follows Tempo's documentation. Unscoped spellings of trace-level intrinsics
//! (`rootName`, `rootServiceName`, `traceDuration`) and of span intrinsics (`duration`, `name`,
//! `status`, `statusMessage`, `kind`) map to the same [`Intrinsic`] as their scoped spellings
//! (`trace:rootName`, `span:duration`, ...); [`Intrinsic::spelling`] gives the canonical text.

/// A byte offset range into the query text (`start..end`), used for error messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Pos {
    pub start: usize,
    pub end: usize,
}

/// A parsed query: the expression and its `with(...)` hints.
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    pub root: RootExpr,
    pub hints: Vec<Hint>,
}

/// `with(name = value)`.
#[derive(Debug, Clone, PartialEq)]
pub struct Hint {
    pub name: String,
    pub value: Static,
}

#[derive(Debug, Clone, PartialEq)]
pub enum RootExpr {
    /// A spanset pipeline: what `/api/search` evaluates. Also covers a root scalar pipeline
    /// filter such as `({ a } | count()) > ({ b } | count())` (one [`Stage::ScalarFilter`]).
    Spanset(Pipeline),
    /// A TraceQL metrics query (`{ } | rate() by (x)`, arithmetic between metrics pipelines).
    Metrics(MetricsExpr),
}

/// `stage | stage | ...`. The first stage is never [`Stage::Coalesce`].
#[derive(Debug, Clone, PartialEq)]
pub struct Pipeline {
    pub stages: Vec<Stage>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Stage {
    /// A spanset expression: filters and spanset operators between them.
    Spanset(SpansetExpr),
    /// `count() > 2`, `avg(duration) > 1s`: keeps spansets for which the comparison holds.
    ScalarFilter(ScalarFilter),
    /// `by(expr)`: splits every spanset into groups with equal values of `expr`.
    By(FieldExpr),
    /// `select(a, b, ...)`: adds these attributes to the returned spans.
    Select(Vec<FieldExpr>),
    /// `coalesce()`: merges all spansets of a trace into one.
    Coalesce,
}

#[derive(Debug, Clone, PartialEq)]
pub enum SpansetExpr {
    /// `{ expr }` or `{ }` (matches every span).
    Filter(SpansetFilter),
    /// `lhs op rhs`.
    Op {
        op: SpansetOp,
        lhs: Box<SpansetExpr>,
        rhs: Box<SpansetExpr>,
    },
    /// A parenthesised pipeline used as an operand: `({ a } | count() > 1) >> ({ b })`.
    /// The parser flattens a parenthesised single-stage pipeline into its stage.
    Pipeline(Box<Pipeline>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct SpansetFilter {
    /// `None` for `{ }`.
    pub expr: Option<FieldExpr>,
    pub pos: Pos,
}

/// Operators between spansets. `lhs > rhs` returns the spans of `rhs` that are children of
/// a span of `lhs` (the result is on the right-hand side), and so on; the `Not*` forms return
/// spans of `rhs` that have no such relation; the `Union*` forms return spans of both sides
/// that take part in the relation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SpansetOp {
    /// `&&`: both sides match in the same trace; result is the union of both.
    And,
    /// `||`: union of both sides.
    Or,
    /// `>`
    Child,
    /// `<`
    Parent,
    /// `>>`
    Descendant,
    /// `<<`
    Ancestor,
    /// `~`
    Sibling,
    /// `!>`
    NotChild,
    /// `!<`
    NotParent,
    /// `!>>`
    NotDescendant,
    /// `!<<`
    NotAncestor,
    /// `!~`
    NotSibling,
    /// `&>`
    UnionChild,
    /// `&<`
    UnionParent,
    /// `&>>`
    UnionDescendant,
    /// `&<<`
    UnionAncestor,
    /// `&~`
    UnionSibling,
}

/// `lhs op rhs` between scalar expressions, e.g. `count() > 2`.
#[derive(Debug, Clone, PartialEq)]
pub struct ScalarFilter {
    pub op: CmpOp,
    pub lhs: ScalarExpr,
    pub rhs: ScalarExpr,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ScalarExpr {
    Static(Static),
    Aggregate(Aggregate),
    /// `({ ... } | count())`: an aggregate over a parenthesised pipeline (Strata refuses these
    /// as unsupported at validation, as Tempo does).
    PipelineAggregate {
        pipeline: Box<Pipeline>,
        aggregate: Aggregate,
    },
    Binary {
        op: ArithOp,
        lhs: Box<ScalarExpr>,
        rhs: Box<ScalarExpr>,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Aggregate {
    pub func: AggregateFn,
    /// `None` only for `count()`.
    pub arg: Option<FieldExpr>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AggregateFn {
    Count,
    Avg,
    Min,
    Max,
    Sum,
}

/// Expressions inside `{ }`, `by()`, `select()` and aggregates; evaluated per span.
#[derive(Debug, Clone, PartialEq)]
pub enum FieldExpr {
    Static(Static),
    Attribute(Attribute),
    Intrinsic(Intrinsic),
    Unary {
        op: UnaryOp,
        expr: Box<FieldExpr>,
    },
    Binary {
        op: BinaryOp,
        lhs: Box<FieldExpr>,
        rhs: Box<FieldExpr>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UnaryOp {
    /// `-x`
    Neg,
    /// `!x`
    Not,
}

/// Binary operators inside field expressions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BinaryOp {
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    Pow,
    Eq,
    Neq,
    Lt,
    Lte,
    Gt,
    Gte,
    /// `=~`: the right-hand side is a regular expression, anchored at both ends (Go RE2 syntax).
    Regex,
    /// `!~`
    NotRegex,
    And,
    Or,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CmpOp {
    Eq,
    Neq,
    Lt,
    Lte,
    Gt,
    Gte,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ArithOp {
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    Pow,
}

/// A literal.
#[derive(Debug, Clone, PartialEq)]
pub enum Static {
    Nil,
    Bool(bool),
    Int(i64),
    Float(f64),
    String(String),
    /// Nanoseconds.
    Duration(i64),
    Status(Status),
    Kind(Kind),
}

/// Span status, as TraceQL names it (`ok`, `error`, `unset`). OTLP codes: unset 0, ok 1, error 2.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    Unset,
    Ok,
    Error,
}

/// Span kind (`unspecified`, `internal`, `server`, `client`, `producer`, `consumer`); OTLP
/// values 0 to 5 in that order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    Unspecified,
    Internal,
    Server,
    Client,
    Producer,
    Consumer,
}

/// Where an attribute is looked up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AttributeScope {
    /// `.x`: the span's attribute, else the resource's.
    None,
    Span,
    Resource,
    Event,
    Link,
    Instrumentation,
}

/// `scope.name`, e.g. `span.http.method`, `.foo`, `resource."a b"`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Attribute {
    pub scope: AttributeScope,
    /// `parent.` prefix (parses; refused as unsupported at validation).
    pub parent: bool,
    /// The attribute key, unquoted (`http.method`, `a b`).
    pub name: String,
}

/// Intrinsic fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Intrinsic {
    // span
    /// `duration`, `span:duration`
    Duration,
    /// `name`, `span:name`
    Name,
    /// `status`, `span:status`
    Status,
    /// `statusMessage`, `span:statusMessage`
    StatusMessage,
    /// `kind`, `span:kind`
    Kind,
    /// `span:id` (hex string)
    SpanId,
    /// `span:parentID` (hex string)
    SpanParentId,
    /// `span:childCount`
    ChildCount,
    /// `nestedSetLeft`
    NestedSetLeft,
    /// `nestedSetRight`
    NestedSetRight,
    /// `nestedSetParent`
    NestedSetParent,
    /// `parent` (parses; refused as unsupported)
    Parent,
    // trace
    /// `trace:duration`, `traceDuration`
    TraceDuration,
    /// `trace:rootName`, `rootName`
    TraceRootName,
    /// `trace:rootService`, `rootServiceName`
    TraceRootService,
    /// `trace:id` (hex string)
    TraceId,
    // event
    /// `event:name`
    EventName,
    /// `event:timeSinceStart`
    EventTimeSinceStart,
    // link
    /// `link:traceID`
    LinkTraceId,
    /// `link:spanID`
    LinkSpanId,
    // instrumentation scope
    /// `instrumentation:name`
    InstrumentationName,
    /// `instrumentation:version`
    InstrumentationVersion,
}

/// A metrics query (evaluated by `strata-engine::metrics`).
#[derive(Debug, Clone, PartialEq)]
pub enum MetricsExpr {
    /// `pipeline | fn(args) by (a, b) | topk(n) > 3`
    Pipeline {
        pipeline: Pipeline,
        func: MetricsFn,
        by: Vec<FieldExpr>,
        second: Vec<SecondStage>,
    },
    /// `(metrics) op (metrics)`, `(metrics) op 3`, `3 op (metrics)`.
    Binary {
        op: ArithOp,
        lhs: Box<MetricsExpr>,
        rhs: Box<MetricsExpr>,
        /// Second stages applied to the result (`(a) + (b) | topk(5) > 10`).
        second: Vec<SecondStage>,
    },
    /// A constant operand in metrics arithmetic (already folded).
    Scalar(f64),
}

#[derive(Debug, Clone, PartialEq)]
pub enum MetricsFn {
    Rate,
    CountOverTime,
    MinOverTime(FieldExpr),
    MaxOverTime(FieldExpr),
    SumOverTime(FieldExpr),
    AvgOverTime(FieldExpr),
    QuantileOverTime(FieldExpr, Vec<f64>),
    HistogramOverTime(FieldExpr),
    /// `compare({filter}, topN, startNs, endNs)`; topN defaults to 10, times to 0.
    Compare {
        filter: SpansetFilter,
        top_n: i64,
        start: i64,
        end: i64,
    },
}

/// Stages after a metrics function.
#[derive(Debug, Clone, PartialEq)]
pub enum SecondStage {
    TopK(i64),
    BottomK(i64),
    Filter { op: CmpOp, value: f64 },
}
