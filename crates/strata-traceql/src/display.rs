//! Canonical TraceQL text for the AST (`Display` impls).
//!
//! Invariant: for every query `q` produced by [`crate::parse`],
//! `parse(&q.to_string())` equals `q` (up to [`crate::ast::Pos`] values; see
//! [`crate::Query::clear_positions`]). Operands print with single spaces around binary
//! operators; floats always print with a `.` or an exponent, durations as `1h30m`, strings
//! Go-quoted, attribute names quoted when they contain characters that would end them. The
//! printer adds only the parentheses needed, plus one for readability (a binary operand of a
//! prefix operator, `-(a * b)`):
//! * field expressions use the parser's binding powers (`|| &&` < comparisons < `+ -` <
//!   prefix `! -` < `* / %` < `^`); a prefix expression (`-x`, `!x`, a negative literal) absorbs
//!   any following `*`, `/`, `%` or `^`, so it is parenthesised when one follows;
//! * spanset operators: `&& ||` < structural operators;
//! * metrics pipelines are always parenthesised when they are operands of arithmetic, and so
//!   is any arithmetic operand that carries second stages.

use std::fmt::{self, Display, Formatter, Write};

use crate::ast::*;
use crate::duration;
use crate::lexer::is_attribute_char;

/// Binding power of the prefix operators `-` and `!` in field expressions: they take
/// everything to their right that binds tighter than this.
const PREFIX: u8 = 5;

/// Go-quoted string literal.
pub(crate) fn quote_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A float literal that lexes back as a float (never as an integer).
pub(crate) fn float_literal(x: f64) -> String {
    let abs = x.abs();
    if !x.is_finite() {
        format!("{x}")
    } else if abs != 0.0 && !(1e-4..1e16).contains(&abs) {
        format!("{x:e}")
    } else if x.fract() == 0.0 {
        format!("{x:.1}")
    } else {
        format!("{x}")
    }
}

/// A number in metrics context (scalars, filters, quantiles): integral values print as
/// integers.
pub(crate) fn metric_number(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 9.0e15 {
        // Exact: the value is integral and well inside the i64 range.
        #[allow(clippy::cast_possible_truncation)]
        let i = x as i64;
        i.to_string()
    } else {
        float_literal(x)
    }
}

fn needs_quotes(a: &Attribute) -> bool {
    a.name.is_empty()
        || a.name.chars().any(|c| c == '"' || !is_attribute_char(c))
        // `.5` lexes as a number, so an unscoped name starting with a digit is quoted.
        || (a.scope == AttributeScope::None
            && !a.parent
            && a.name.starts_with(|c: char| c.is_ascii_digit()))
        || (a.parent
            && a.scope == AttributeScope::None
            && (a.name.starts_with("span.") || a.name.starts_with("resource.")))
}

impl Display for Attribute {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        if self.parent {
            f.write_str("parent")?;
            if self.scope != AttributeScope::None {
                f.write_str(".")?;
            }
        }
        f.write_str(self.scope.prefix())?;
        if needs_quotes(self) {
            f.write_char('"')?;
            for c in self.name.chars() {
                if c == '"' || c == '\\' {
                    f.write_char('\\')?;
                }
                f.write_char(c)?;
            }
            f.write_char('"')
        } else {
            f.write_str(&self.name)
        }
    }
}

impl Display for Intrinsic {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str(self.spelling())
    }
}

impl Display for Status {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str(self.keyword())
    }
}

impl Display for Kind {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str(self.keyword())
    }
}

impl Display for Static {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Static::Nil => f.write_str("nil"),
            Static::Bool(b) => write!(f, "{b}"),
            Static::Int(i64::MIN) => f.write_str("minInt"),
            Static::Int(i) => write!(f, "{i}"),
            Static::Float(x) => f.write_str(&float_literal(*x)),
            Static::String(s) => f.write_str(&quote_string(s)),
            Static::Duration(ns) => f.write_str(&duration::format(*ns)),
            Static::Status(s) => write!(f, "{s}"),
            Static::Kind(k) => write!(f, "{k}"),
        }
    }
}

fn is_negative_literal(s: &Static) -> bool {
    match s {
        Static::Int(i) => *i < 0 && *i != i64::MIN,
        Static::Float(x) => x.is_sign_negative(),
        Static::Duration(d) => *d < 0,
        _ => false,
    }
}

macro_rules! display_symbol {
    ($($t:ty => $m:ident),*) => {$(
        impl Display for $t {
            fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
                f.write_str(self.$m())
            }
        }
    )*};
}

display_symbol!(UnaryOp => symbol, BinaryOp => symbol, ArithOp => symbol, CmpOp => symbol,
    SpansetOp => symbol, AggregateFn => name);

/// Writes `e`; `min` is the weakest binary operator allowed unparenthesised at this spot and
/// `right` the binding power of the operator that follows it in the text (0 for none).
fn write_field(f: &mut Formatter<'_>, e: &FieldExpr, min: u8, right: u8) -> fmt::Result {
    let paren = match e {
        FieldExpr::Binary { op, .. } => op.level() < min || right > op.level(),
        FieldExpr::Unary { .. } => right > PREFIX,
        FieldExpr::Static(s) => is_negative_literal(s) && right > PREFIX,
        FieldExpr::Attribute(_) | FieldExpr::Intrinsic(_) => false,
    };
    let right = if paren {
        f.write_char('(')?;
        0
    } else {
        right
    };
    match e {
        FieldExpr::Static(s) => write!(f, "{s}")?,
        FieldExpr::Attribute(a) => write!(f, "{a}")?,
        FieldExpr::Intrinsic(i) => f.write_str(i.spelling())?,
        FieldExpr::Unary { op, expr } => {
            f.write_str(op.symbol())?;
            // A binary operand is parenthesised for readability (`-(a * b)`), not necessity.
            write_field(f, expr, u8::MAX, right)?;
        }
        FieldExpr::Binary { op, lhs, rhs } => {
            let level = op.level();
            let (lmin, rmin) = if *op == BinaryOp::Pow {
                (level + 1, level)
            } else {
                (level, level + 1)
            };
            write_field(f, lhs, lmin, level)?;
            write!(f, " {op} ")?;
            write_field(f, rhs, rmin, right)?;
        }
    }
    if paren {
        f.write_char(')')?;
    }
    Ok(())
}

impl Display for FieldExpr {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write_field(f, self, 0, 0)
    }
}

impl Display for SpansetFilter {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match &self.expr {
            Some(e) => write!(f, "{{ {e} }}"),
            None => f.write_str("{ }"),
        }
    }
}

fn write_spanset(f: &mut Formatter<'_>, e: &SpansetExpr, min: u8) -> fmt::Result {
    match e {
        SpansetExpr::Filter(filter) => write!(f, "{filter}"),
        SpansetExpr::Pipeline(p) => write!(f, "({p})"),
        SpansetExpr::Op { op, lhs, rhs } => {
            let level = op.level();
            let paren = level < min;
            if paren {
                f.write_char('(')?;
            }
            write_spanset(f, lhs, level)?;
            write!(f, " {op} ")?;
            write_spanset(f, rhs, level + 1)?;
            if paren {
                f.write_char(')')?;
            }
            Ok(())
        }
    }
}

impl Display for SpansetExpr {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write_spanset(f, self, 0)
    }
}

impl Display for Aggregate {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match &self.arg {
            Some(arg) => write!(f, "{}({arg})", self.func),
            None => write!(f, "{}()", self.func),
        }
    }
}

fn write_scalar(f: &mut Formatter<'_>, e: &ScalarExpr, min: u8) -> fmt::Result {
    match e {
        ScalarExpr::Static(s) => write!(f, "{s}"),
        ScalarExpr::Aggregate(a) => write!(f, "{a}"),
        ScalarExpr::PipelineAggregate {
            pipeline,
            aggregate,
        } => write!(f, "({pipeline} | {aggregate})"),
        ScalarExpr::Binary { op, lhs, rhs } => {
            let level = op.level();
            let paren = level < min;
            let (lmin, rmin) = if *op == ArithOp::Pow {
                (level + 1, level)
            } else {
                (level, level + 1)
            };
            if paren {
                f.write_char('(')?;
            }
            write_scalar(f, lhs, lmin)?;
            write!(f, " {op} ")?;
            write_scalar(f, rhs, rmin)?;
            if paren {
                f.write_char(')')?;
            }
            Ok(())
        }
    }
}

impl Display for ScalarExpr {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write_scalar(f, self, 0)
    }
}

impl Display for ScalarFilter {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} {}", self.lhs, self.op, self.rhs)
    }
}

fn write_list<T: Display>(f: &mut Formatter<'_>, items: &[T]) -> fmt::Result {
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            f.write_str(", ")?;
        }
        write!(f, "{item}")?;
    }
    Ok(())
}

impl Display for Stage {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Stage::Spanset(e) => write!(f, "{e}"),
            Stage::ScalarFilter(s) => write!(f, "{s}"),
            Stage::By(e) => write!(f, "by({e})"),
            Stage::Select(list) => {
                f.write_str("select(")?;
                write_list(f, list)?;
                f.write_char(')')
            }
            Stage::Coalesce => f.write_str("coalesce()"),
        }
    }
}

impl Display for Pipeline {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        for (i, stage) in self.stages.iter().enumerate() {
            if i > 0 {
                f.write_str(" | ")?;
            }
            write!(f, "{stage}")?;
        }
        Ok(())
    }
}

impl Display for MetricsFn {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            MetricsFn::Rate => f.write_str("rate()"),
            MetricsFn::CountOverTime => f.write_str("count_over_time()"),
            MetricsFn::MinOverTime(a) => write!(f, "min_over_time({a})"),
            MetricsFn::MaxOverTime(a) => write!(f, "max_over_time({a})"),
            MetricsFn::SumOverTime(a) => write!(f, "sum_over_time({a})"),
            MetricsFn::AvgOverTime(a) => write!(f, "avg_over_time({a})"),
            MetricsFn::HistogramOverTime(a) => write!(f, "histogram_over_time({a})"),
            MetricsFn::QuantileOverTime(a, qs) => {
                write!(f, "quantile_over_time({a}")?;
                for q in qs {
                    write!(f, ", {}", metric_number(*q))?;
                }
                f.write_char(')')
            }
            MetricsFn::Compare {
                filter,
                top_n,
                start,
                end,
            } => {
                write!(f, "compare({filter}")?;
                if *start != 0 || *end != 0 {
                    write!(f, ", {top_n}, {start}, {end}")?;
                } else if *top_n != 10 {
                    write!(f, ", {top_n}")?;
                }
                f.write_char(')')
            }
        }
    }
}

impl Display for SecondStage {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            SecondStage::TopK(n) => write!(f, "| topk({n})"),
            SecondStage::BottomK(n) => write!(f, "| bottomk({n})"),
            SecondStage::Filter { op, value } => write!(f, "{op} {}", metric_number(*value)),
        }
    }
}

fn write_seconds(f: &mut Formatter<'_>, second: &[SecondStage]) -> fmt::Result {
    for s in second {
        write!(f, " {s}")?;
    }
    Ok(())
}

/// `child` is true for operands of arithmetic; `min` as in [`write_field`].
fn write_metrics(f: &mut Formatter<'_>, e: &MetricsExpr, min: u8, child: bool) -> fmt::Result {
    match e {
        MetricsExpr::Scalar(x) => f.write_str(&metric_number(*x)),
        MetricsExpr::Pipeline {
            pipeline,
            func,
            by,
            second,
        } => {
            if child {
                f.write_char('(')?;
            }
            write!(f, "{pipeline} | {func}")?;
            if !by.is_empty() {
                f.write_str(" by (")?;
                write_list(f, by)?;
                f.write_char(')')?;
            }
            write_seconds(f, second)?;
            if child {
                f.write_char(')')?;
            }
            Ok(())
        }
        MetricsExpr::Binary {
            op,
            lhs,
            rhs,
            second,
        } => {
            let level = op.level();
            let paren = child && (level < min || !second.is_empty());
            if paren {
                f.write_char('(')?;
            }
            write_metrics(f, lhs, level, true)?;
            write!(f, " {op} ")?;
            write_metrics(f, rhs, level + 1, true)?;
            write_seconds(f, second)?;
            if paren {
                f.write_char(')')?;
            }
            Ok(())
        }
    }
}

impl Display for MetricsExpr {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write_metrics(f, self, 0, false)
    }
}

impl Display for RootExpr {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            RootExpr::Spanset(p) => write!(f, "{p}"),
            RootExpr::Metrics(m) => write!(f, "{m}"),
        }
    }
}

impl Display for Hint {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "{}={}", self.name, self.value)
    }
}

impl Display for Query {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.root)?;
        if !self.hints.is_empty() {
            f.write_str(" with(")?;
            write_list(f, &self.hints)?;
            f.write_char(')')?;
        }
        Ok(())
    }
}
