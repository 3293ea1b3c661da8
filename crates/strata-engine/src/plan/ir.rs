//! The compiled form of a query: what [`crate::eval`] runs.
//!
//! Field expressions become [`Expr`] trees with literal nils folded into existence tests,
//! regexes compiled (anchored, `^(?s:...)$` as Tempo's matcher does) and ID literals
//! normalised. Spanset filters, `by()` expressions and aggregate arguments are stored once in
//! the plan and referred to by index, so the evaluator can compute each of them column-wise
//! over a whole batch before it walks the traces.

use regex::Regex;
use strata_traceql::{AggregateFn, Intrinsic, SpansetOp};

/// Where an attribute is looked up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Source {
    /// `span.x`: the `attrs` column.
    Span,
    /// `resource.x`: the `resource_attrs` column.
    Resource,
    /// `.x`: the span's attribute if it has the key, else the resource's.
    Unscoped,
    /// `instrumentation.x`: the `scope_attrs` column.
    Scope,
    /// `event.x`: attributes of the span's events.
    Event,
    /// `link.x`: attributes of the span's links.
    Link,
}

/// Which rows a value is computed over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Domain {
    /// One row per span.
    Span,
    /// One row per event (of any span).
    Event,
    /// One row per link (of any span).
    Link,
}

/// A reference to data: an attribute or an intrinsic.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum FieldRef {
    Attr(Source, String),
    Intr(Intrinsic),
}

impl FieldRef {
    /// The rows this field naturally has values for.
    pub(crate) fn domain(&self) -> Domain {
        match self {
            FieldRef::Attr(Source::Event, _)
            | FieldRef::Intr(Intrinsic::EventName | Intrinsic::EventTimeSinceStart) => {
                Domain::Event
            }
            FieldRef::Attr(Source::Link, _)
            | FieldRef::Intr(Intrinsic::LinkTraceId | Intrinsic::LinkSpanId) => Domain::Link,
            _ => Domain::Span,
        }
    }

    /// Whether the value can be computed from the span's own row alone (no other spans of
    /// its trace): what a prefilter may use.
    pub(crate) fn is_row_local(&self) -> bool {
        !matches!(
            self,
            FieldRef::Intr(
                Intrinsic::TraceDuration
                    | Intrinsic::TraceRootName
                    | Intrinsic::TraceRootService
                    | Intrinsic::ChildCount
                    | Intrinsic::NestedSetLeft
                    | Intrinsic::NestedSetRight
                    | Intrinsic::NestedSetParent
                    | Intrinsic::Parent
            )
        )
    }

    /// Whether the value needs the parent/child tree of the trace.
    pub(crate) fn needs_tree(&self) -> bool {
        matches!(
            self,
            FieldRef::Intr(
                Intrinsic::ChildCount
                    | Intrinsic::NestedSetLeft
                    | Intrinsic::NestedSetRight
                    | Intrinsic::NestedSetParent
            )
        )
    }
}

/// A literal.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Lit {
    Nil,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    /// Nanoseconds.
    Dur(i64),
    /// OTLP status code (0 unset, 1 ok, 2 error).
    Status(i32),
    /// OTLP span kind (0 unspecified .. 5 consumer).
    Kind(i32),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cmp {
    Eq,
    Neq,
    Lt,
    Lte,
    Gt,
    Gte,
}

impl Cmp {
    /// The operator with its operands swapped (`a < b` ⇔ `b > a`).
    pub(crate) fn flipped(self) -> Self {
        match self {
            Cmp::Lt => Cmp::Gt,
            Cmp::Lte => Cmp::Gte,
            Cmp::Gt => Cmp::Lt,
            Cmp::Gte => Cmp::Lte,
            other => other,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Arith {
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    Pow,
}

/// A compiled field expression.
#[derive(Debug, Clone)]
pub(crate) enum Expr {
    Lit(Lit),
    Field(FieldRef),
    Neg(Box<Expr>),
    Not(Box<Expr>),
    /// `x != nil`.
    Exists(Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Arith(Arith, Box<Expr>, Box<Expr>),
    Cmp(Cmp, Box<Expr>, Box<Expr>),
    /// `x =~ re` (or `!~` when `negate`).
    Regex {
        expr: Box<Expr>,
        re: Regex,
        negate: bool,
    },
}

impl Expr {
    /// Calls `f` on every field the expression reads.
    pub(crate) fn visit_fields<'a>(&'a self, f: &mut dyn FnMut(&'a FieldRef)) {
        match self {
            Expr::Lit(_) => {}
            Expr::Field(r) => f(r),
            Expr::Neg(e) | Expr::Not(e) | Expr::Exists(e) => e.visit_fields(f),
            Expr::Regex { expr, .. } => expr.visit_fields(f),
            Expr::And(a, b) | Expr::Or(a, b) | Expr::Arith(_, a, b) | Expr::Cmp(_, a, b) => {
                a.visit_fields(f);
                b.visit_fields(f);
            }
        }
    }

    /// Whether every field is row-local (see [`FieldRef::is_row_local`]).
    pub(crate) fn is_row_local(&self) -> bool {
        let mut ok = true;
        self.visit_fields(&mut |r| ok &= r.is_row_local());
        ok
    }

    /// Whether the expression reads any field at all.
    pub(crate) fn has_fields(&self) -> bool {
        let mut any = false;
        self.visit_fields(&mut |_| any = true);
        any
    }

    /// The non-span domain the expression's fields live in, if any. Compilation refuses
    /// expressions that mix event and link fields, so there is at most one.
    pub(crate) fn domain(&self) -> Domain {
        let mut d = Domain::Span;
        self.visit_fields(&mut |r| {
            let rd = r.domain();
            if rd != Domain::Span {
                d = rd;
            }
        });
        d
    }
}

/// A compiled pipeline: `stage | stage | ...`.
#[derive(Debug, Clone)]
pub(crate) struct Pipeline {
    pub stages: Vec<Stage>,
}

#[derive(Debug, Clone)]
pub(crate) enum Stage {
    Spanset(SpansetExpr),
    Scalar(ScalarFilter),
    /// `by(expr)`: `value` indexes [`crate::SearchPlan`]'s value expressions; `key` is the
    /// spanset attribute name (`by(resource.service.name)`).
    By {
        value: usize,
        key: String,
    },
    Coalesce,
    /// `select(...)`: the fields are reported on every returned span; no effect on spansets.
    Select,
}

#[derive(Debug, Clone)]
pub(crate) enum SpansetExpr {
    /// `{ expr }`; `None` for `{ }`. Otherwise indexes the plan's filters.
    Filter(Option<usize>),
    Op {
        op: SpansetOp,
        lhs: Box<SpansetExpr>,
        rhs: Box<SpansetExpr>,
    },
    Pipeline(Box<Pipeline>),
}

/// `aggregate op literal` (a literal on the left is flipped to the right).
#[derive(Debug, Clone)]
pub(crate) struct ScalarFilter {
    pub func: AggregateFn,
    /// Index of the argument in the plan's value expressions; `None` for `count()`.
    pub arg: Option<usize>,
    /// Spanset attribute name (`count()`, `avg(duration)`).
    pub key: String,
    pub op: Cmp,
    pub rhs: Lit,
}

/// One attribute reported on returned spans.
#[derive(Debug, Clone)]
pub(crate) struct Output {
    /// Bare attribute name or Tempo's intrinsic name.
    pub key: String,
    pub field: FieldRef,
}
