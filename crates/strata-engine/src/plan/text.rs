//! Query text as Tempo writes it in spanset attribute names (`by(resource.service.name)`,
//! `avg(duration)`) and in values it renders as strings (Go's `time.Duration` format).
//!
//! Follows Tempo's stringer: attributes as `scope.name` (unscoped `.name`; names with
//! characters the lexer would not accept quoted), intrinsics by Tempo's canonical names
//! (`duration`, `status`, `rootName`, `span:childCount`), string literals in backticks,
//! operands that are not literals or fields in parentheses.

use crate::gofmt::{go_duration, go_float};
use strata_traceql::{Aggregate, FieldExpr, Intrinsic, Kind, Static, Status};

/// Tempo's name of an intrinsic (the key it reports it under).
pub(crate) fn intrinsic_name(i: Intrinsic) -> &'static str {
    match i {
        Intrinsic::Duration => "duration",
        Intrinsic::Name => "name",
        Intrinsic::Status => "status",
        Intrinsic::StatusMessage => "statusMessage",
        Intrinsic::Kind => "kind",
        Intrinsic::SpanId => "span:id",
        Intrinsic::SpanParentId => "span:parentID",
        Intrinsic::ChildCount => "span:childCount",
        Intrinsic::NestedSetLeft => "nestedSetLeft",
        Intrinsic::NestedSetRight => "nestedSetRight",
        Intrinsic::NestedSetParent => "nestedSetParent",
        Intrinsic::Parent => "parent",
        Intrinsic::TraceDuration => "traceDuration",
        Intrinsic::TraceRootName => "rootName",
        Intrinsic::TraceRootService => "rootServiceName",
        Intrinsic::TraceId => "trace:id",
        Intrinsic::EventName => "event:name",
        Intrinsic::EventTimeSinceStart => "event:timeSinceStart",
        Intrinsic::LinkTraceId => "link:traceID",
        Intrinsic::LinkSpanId => "link:spanID",
        Intrinsic::InstrumentationName => "instrumentation:name",
        Intrinsic::InstrumentationVersion => "instrumentation:version",
    }
}

pub(crate) fn status_name(code: i32) -> String {
    match code {
        0 => "unset".into(),
        1 => "ok".into(),
        2 => "error".into(),
        n => format!("status({n})"),
    }
}

pub(crate) fn kind_name(kind: i32) -> String {
    match kind {
        0 => "unspecified".into(),
        1 => "internal".into(),
        2 => "server".into(),
        3 => "client".into(),
        4 => "producer".into(),
        5 => "consumer".into(),
        n => format!("kind({n})"),
    }
}

pub(crate) fn status_code(s: Status) -> i32 {
    match s {
        Status::Unset => 0,
        Status::Ok => 1,
        Status::Error => 2,
    }
}

pub(crate) fn kind_code(k: Kind) -> i32 {
    match k {
        Kind::Unspecified => 0,
        Kind::Internal => 1,
        Kind::Server => 2,
        Kind::Client => 3,
        Kind::Producer => 4,
        Kind::Consumer => 5,
    }
}

/// `avg(duration)`, `count()`.
pub(crate) fn aggregate_text(a: &Aggregate) -> String {
    let name = a.func.name();
    match &a.arg {
        None => format!("{name}()"),
        Some(e) => format!("{name}({})", field_text(e)),
    }
}

/// A field expression as Tempo prints it.
pub(crate) fn field_text(e: &FieldExpr) -> String {
    match e {
        FieldExpr::Static(s) => static_text(s),
        // Tempo's stringer and ours agree on attributes: scope prefix, quoted when needed.
        FieldExpr::Attribute(a) => a.to_string(),
        FieldExpr::Intrinsic(i) => intrinsic_name(*i).to_string(),
        FieldExpr::Unary { op, expr } => format!("{}{}", op.symbol(), wrapped(expr)),
        FieldExpr::Binary { op, lhs, rhs } => {
            format!("{} {} {}", wrapped(lhs), op.symbol(), wrapped(rhs))
        }
    }
}

fn wrapped(e: &FieldExpr) -> String {
    match e {
        FieldExpr::Static(_) | FieldExpr::Attribute(_) | FieldExpr::Intrinsic(_) => field_text(e),
        _ => format!("({})", field_text(e)),
    }
}

fn static_text(s: &Static) -> String {
    match s {
        Static::Nil => "nil".into(),
        Static::Bool(b) => b.to_string(),
        Static::Int(i) => i.to_string(),
        Static::Float(f) => go_float(*f),
        Static::String(s) => format!("`{s}`"),
        Static::Duration(d) => go_duration(*d),
        Static::Status(s) => s.keyword().to_string(),
        Static::Kind(k) => k.keyword().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use strata_traceql::{AggregateFn, Attribute, AttributeScope, BinaryOp};

    #[test]
    fn field_text_like_tempo() {
        let attr = |scope, name: &str| {
            FieldExpr::Attribute(Attribute {
                scope,
                parent: false,
                name: name.into(),
            })
        };
        assert_eq!(
            field_text(&attr(AttributeScope::Resource, "service.name")),
            "resource.service.name"
        );
        assert_eq!(field_text(&attr(AttributeScope::None, "foo")), ".foo");
        assert_eq!(
            field_text(&attr(AttributeScope::Span, "a b")),
            "span.\"a b\""
        );
        let e = FieldExpr::Binary {
            op: BinaryOp::Add,
            lhs: Box::new(attr(AttributeScope::Span, "a")),
            rhs: Box::new(FieldExpr::Binary {
                op: BinaryOp::Mul,
                lhs: Box::new(FieldExpr::Static(Static::Int(2))),
                rhs: Box::new(FieldExpr::Intrinsic(Intrinsic::Duration)),
            }),
        };
        assert_eq!(field_text(&e), "span.a + (2 * duration)");
        assert_eq!(
            aggregate_text(&Aggregate {
                func: AggregateFn::Avg,
                arg: Some(FieldExpr::Intrinsic(Intrinsic::Duration)),
            }),
            "avg(duration)"
        );
    }
}
