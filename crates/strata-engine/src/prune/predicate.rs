//! [`Prune`]: a condition over scalar columns implied by a plan's prefilter.
//!
//! # Invariant
//! For every span: prefilter true ⇒ [`Prune`] may hold for the span's column values. So a
//! set of rows whose statistics prove the `Prune` false for all of them holds no span that
//! passes the prefilter, and (the prefilter being necessary) no span of a matching trace's
//! passing set.
//!
//! # Derivation
//! `must(e)` is a condition implied by `e` being true, `must_not(e)` one implied by `e`
//! being false (not unknown: a filter keeps a span only when its expression is true, and
//! `!e` is true only when `e` is false under Kleene logic). Anything not understood gives
//! no condition, and a missing condition makes `||` (and `&&` under `!`) give none:
//! * `a && b`: both conditions (either alone when one is missing);
//! * `a || b`: `ca || cb`, only when both sides have one;
//! * `!a`: `must_not(a)`; `must_not` swaps `&&`/`||` (De Morgan, valid in Kleene logic);
//! * `field op literal` (either side) for the scalar columns below, with a literal of the
//!   type the evaluator compares the field with; under `!` only for fields that always have a
//!   value (all but `resource.service.name`), so that "false" means "the comparison fails".
//!
//! | field | column | literal | note |
//! |---|---|---|---|
//! | `duration` | `duration_nano` | int or duration | values above `i64::MAX` saturate, as in evaluation |
//! | `name` | `name` | string | bytewise order |
//! | `status` | `status_code` | status, `=`/`!=` | null read as unset (0) |
//! | `kind` | `kind` | kind, `=`/`!=` | |
//! | `trace:id` | `trace_id` | 32 lower-case hex digits | hex order is byte order |
//! | `resource.service.name` | `service_name` | string | see below |
//!
//! `resource.service.name op "x"` is true only when the resource's *first* `service.name`
//! attribute is a string `s` with `s op "x"`, or an array with such an element. The
//! `service_name` column holds the first *string* `service.name`, which is `s` in the first
//! case (a resource with several `service.name` keys is fine: the first one being a string,
//! it is also the first string). The array case is not covered: `service_name` conditions
//! may only be used where statistics show that no resource attribute is an array (see
//! [`super::stats`]).

use strata_block::schema::col;
use strata_traceql::Intrinsic;

use crate::plan::ir::{Cmp, Expr, FieldRef, Lit, Source};
use crate::SearchPlan;

/// A condition over scalar columns that every span passing a plan's prefilter satisfies
/// (see the module docs). Built by [`SearchPlan::prune_predicate`].
#[derive(Debug, Clone, PartialEq)]
pub struct Prune {
    pub(crate) node: Node,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Node {
    All(Vec<Node>),
    Any(Vec<Node>),
    Atom(Atom),
}

/// `column op value`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Atom {
    pub col: Col,
    pub op: Cmp,
    pub val: Val,
}

/// A scalar column with statistics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Col {
    TraceId,
    Name,
    Kind,
    Duration,
    Status,
    ServiceName,
}

impl Col {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Col::TraceId => col::TRACE_ID,
            Col::Name => col::NAME,
            Col::Kind => col::KIND,
            Col::Duration => col::DURATION,
            Col::Status => col::STATUS_CODE,
            Col::ServiceName => col::SERVICE_NAME,
        }
    }

    /// The value the evaluator reads for a null, or `None` when a null fails every
    /// comparison.
    pub(crate) fn null_value(self) -> Option<Val> {
        match self {
            Col::Status => Some(Val::Int(0)),
            _ => None,
        }
    }
}

/// A statistics value: integers widened to `i64` (durations saturated), strings and IDs as
/// bytes.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Val {
    Int(i64),
    Bytes(Vec<u8>),
}

impl Prune {
    /// Columns the condition reads, in first-use order.
    pub fn columns(&self) -> Vec<&'static str> {
        let mut out = Vec::new();
        self.node.visit(&mut |a| {
            if !out.contains(&a.col.name()) {
                out.push(a.col.name());
            }
        });
        out
    }
}

impl Node {
    pub(crate) fn visit(&self, f: &mut dyn FnMut(&Atom)) {
        match self {
            Node::All(v) | Node::Any(v) => v.iter().for_each(|n| n.visit(f)),
            Node::Atom(a) => f(a),
        }
    }
}

impl SearchPlan {
    /// A condition over scalar columns that every span passing
    /// [`prefilter`](Self::prefilter) satisfies, for pruning by statistics; `None` when
    /// nothing useful is implied (no prefilter, or one on attributes only).
    pub fn prune_predicate(&self) -> Option<Prune> {
        self.prefilter
            .as_ref()
            .and_then(|e| must(e, false))
            .map(|node| Prune { node })
    }
}

/// `&&` of two optional conditions: either alone when the other is missing.
fn all(a: Option<Node>, b: Option<Node>) -> Option<Node> {
    match (a, b) {
        (Some(a), Some(b)) => Some(Node::All(flatten(a, b, true))),
        (a, b) => a.or(b),
    }
}

/// `||` of two optional conditions: none unless both are known.
fn any(a: Option<Node>, b: Option<Node>) -> Option<Node> {
    Some(Node::Any(flatten(a?, b?, false)))
}

fn flatten(a: Node, b: Node, and: bool) -> Vec<Node> {
    let mut out = Vec::new();
    for n in [a, b] {
        match n {
            Node::All(v) if and => out.extend(v),
            Node::Any(v) if !and => out.extend(v),
            other => out.push(other),
        }
    }
    out
}

/// A condition implied by `e` being true (`negated`: by `e` being false).
fn must(e: &Expr, negated: bool) -> Option<Node> {
    match e {
        Expr::And(a, b) if !negated => all(must(a, false), must(b, false)),
        Expr::And(a, b) => any(must(a, true), must(b, true)),
        Expr::Or(a, b) if !negated => any(must(a, false), must(b, false)),
        Expr::Or(a, b) => all(must(a, true), must(b, true)),
        Expr::Not(a) => must(a, !negated),
        Expr::Cmp(op, l, r) => {
            let op = if negated { negate(*op) } else { *op };
            match (l.as_ref(), r.as_ref()) {
                (Expr::Field(f), Expr::Lit(v)) => atom(f, op, v, negated),
                (Expr::Lit(v), Expr::Field(f)) => atom(f, op.flipped(), v, negated),
                _ => None,
            }
        }
        _ => None,
    }
}

fn negate(op: Cmp) -> Cmp {
    match op {
        Cmp::Eq => Cmp::Neq,
        Cmp::Neq => Cmp::Eq,
        Cmp::Lt => Cmp::Gte,
        Cmp::Lte => Cmp::Gt,
        Cmp::Gt => Cmp::Lte,
        Cmp::Gte => Cmp::Lt,
    }
}

/// `f op lit` as an atom, when the evaluator compares `f` with `lit` exactly as the
/// statistics order them. `negated`: the atom stands for a failed comparison, which needs
/// a field that always has a value.
fn atom(f: &FieldRef, op: Cmp, lit: &Lit, negated: bool) -> Option<Node> {
    let eq_only = matches!(op, Cmp::Eq | Cmp::Neq);
    let (col, val) = match (f, lit) {
        (FieldRef::Intr(Intrinsic::Duration), Lit::Int(v) | Lit::Dur(v)) => {
            (Col::Duration, Val::Int(*v))
        }
        (FieldRef::Intr(Intrinsic::Name), Lit::Str(s)) => (Col::Name, Val::Bytes(s.clone().into())),
        (FieldRef::Intr(Intrinsic::Status), Lit::Status(c)) if eq_only => {
            (Col::Status, Val::Int(i64::from(*c)))
        }
        (FieldRef::Intr(Intrinsic::Kind), Lit::Kind(k)) if eq_only => {
            (Col::Kind, Val::Int(i64::from(*k)))
        }
        (FieldRef::Intr(Intrinsic::TraceId), Lit::Str(s)) => (Col::TraceId, Val::Bytes(id(s)?)),
        (FieldRef::Attr(Source::Resource, key), Lit::Str(s)) if key == "service.name" => {
            if negated {
                return None;
            }
            (Col::ServiceName, Val::Bytes(s.clone().into()))
        }
        _ => return None,
    };
    Some(Node::Atom(Atom { col, op, val }))
}

/// The 16 bytes of a trace ID written as 32 lower-case hex digits (the evaluator's form).
fn id(s: &str) -> Option<Vec<u8>> {
    let b = s.as_bytes();
    if b.len() != 32 {
        return None;
    }
    let digit = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    };
    b.chunks(2)
        .map(|p| Some(digit(p[0])? << 4 | digit(p[1])?))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prune(q: &str) -> Option<Node> {
        let query = strata_traceql::parse_and_validate(q).unwrap_or_else(|e| panic!("{q}: {e}"));
        let plan = SearchPlan::new(&query).unwrap_or_else(|e| panic!("{q}: {e}"));
        plan.prune_predicate().map(|p| p.node)
    }

    fn a(col: Col, op: Cmp, val: Val) -> Node {
        Node::Atom(Atom { col, op, val })
    }

    fn s(v: &str) -> Val {
        Val::Bytes(v.as_bytes().to_vec())
    }

    #[test]
    fn atoms() {
        assert_eq!(
            prune(r#"{ name = "x" }"#),
            Some(a(Col::Name, Cmp::Eq, s("x")))
        );
        assert_eq!(
            prune("{ 5ms < duration }"),
            Some(a(Col::Duration, Cmp::Gt, Val::Int(5_000_000)))
        );
        assert_eq!(
            prune("{ status = error }"),
            Some(a(Col::Status, Cmp::Eq, Val::Int(2)))
        );
        assert_eq!(
            prune(r#"{ resource.service.name != "a" }"#),
            Some(a(Col::ServiceName, Cmp::Neq, s("a")))
        );
        let id = "000000000000000000000000000000ab";
        let mut bytes = vec![0u8; 16];
        bytes[15] = 0xab;
        assert_eq!(
            prune(&format!(r#"{{ trace:id = "{id}" }}"#)),
            Some(a(Col::TraceId, Cmp::Eq, Val::Bytes(bytes)))
        );
    }

    #[test]
    fn logic() {
        assert_eq!(
            prune(r#"{ name = "x" && span.a = 1 && kind = server }"#),
            Some(Node::All(vec![
                a(Col::Name, Cmp::Eq, s("x")),
                a(Col::Kind, Cmp::Eq, Val::Int(2)),
            ]))
        );
        assert_eq!(prune(r#"{ name = "x" || span.a = 1 }"#), None);
        assert_eq!(
            prune(r#"{ !(name = "x" || duration > 1s) }"#),
            Some(Node::All(vec![
                a(Col::Name, Cmp::Neq, s("x")),
                a(Col::Duration, Cmp::Lte, Val::Int(1_000_000_000)),
            ]))
        );
        // A missing service name makes the comparison false, so its negation holds.
        assert_eq!(prune(r#"{ !(resource.service.name = "a") }"#), None);
        assert_eq!(
            prune(r#"{ !(resource.service.name = "a" && name = "x") }"#),
            None
        );
    }

    #[test]
    fn not_pruned() {
        for q in [
            "{ }",
            "{ span.x = 1 }",
            r#"{ .service.name = "a" }"#,
            "{ duration > 1.5 }",
            r#"{ name =~ "a.*" }"#,
            r#"{ trace:id > "ab" }"#,
            "{ trace:duration > 1s }",
        ] {
            assert_eq!(prune(q), None, "{q}");
        }
    }
}
