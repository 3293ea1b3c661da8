//! Elements: the operands of `|`, typed while they are parsed.
//!
//! An element is one of the [`Item`] kinds below. Operators are accepted only between the
//! kinds they make sense for; everything else is a parse error that names both sides:
//! * `&&`, `||` and the structural operators (`>`, `<`, `>>`, `~`, `!>`, `&>>`, ...) join
//!   two spansets;
//! * `= != < <= > >=` between an aggregate expression and an aggregate expression or a
//!   constant (either order) make a scalar filter; between scalar pipelines, or a scalar
//!   pipeline and a constant on its right, too; after a metrics expression, a comparison with
//!   a constant is a second-stage filter; `=` and friends between spansets are errors;
//! * `+ - * / % ^` combine aggregate expressions and constants, or scalar pipelines; `+ - * /`
//!   combine metrics expressions and constants; between two constants they are folded.
//!
//! `!~` between spansets is "not sibling". Durations may not take part in constant or metrics
//! arithmetic; constant arithmetic has Go semantics (integer division truncates) and fails on
//! overflow or division by zero.

use super::PResult;
use super::Parser;
use crate::ast::{
    Aggregate, ArithOp, CmpOp, MetricsExpr, Pipeline, ScalarExpr, ScalarFilter, SecondStage,
    SpansetExpr, SpansetOp, Stage, Static,
};
use crate::lexer::{Op, Tok};

pub(super) enum Item {
    Spanset(SpansetExpr),
    /// An unparenthesised non-spanset stage: scalar filter, `by`, `select`, `coalesce`.
    Stage(Stage),
    /// A parenthesised pipeline that is not a single spanset expression.
    Wrapped(Pipeline),
    /// A scalar expression containing an aggregate (`count()`, `avg(duration) * 2`).
    Agg(ScalarExpr),
    /// Arithmetic over parenthesised scalar pipelines (`({ } | count())`).
    PipeAgg(ScalarExpr),
    /// A folded numeric constant (int, float or duration).
    Const(Static),
    Metrics(MetricsExpr),
}

impl Item {
    fn describe(&self) -> &'static str {
        match self {
            Item::Spanset(_) | Item::Wrapped(_) => "a spanset",
            Item::Stage(Stage::ScalarFilter(_)) => "a scalar filter",
            Item::Stage(Stage::By(_)) => "by()",
            Item::Stage(Stage::Select(_)) => "select()",
            Item::Stage(_) => "coalesce()",
            Item::Agg(_) => "an aggregate",
            Item::PipeAgg(_) => "a scalar pipeline",
            Item::Const(_) => "a number",
            Item::Metrics(_) => "a metrics query",
        }
    }
}

/// An element with the height of its tree. The item is boxed to keep the frames of the
/// recursive functions small.
pub(super) struct Node {
    pub item: Box<Item>,
    /// Height of the tree built so far.
    pub height: usize,
}

impl Node {
    pub(super) fn new(item: Item, height: usize) -> Node {
        Node {
            item: Box::new(item),
            height,
        }
    }
}

enum Infix {
    Spanset(SpansetOp),
    Cmp(CmpOp),
    Arith(ArithOp),
}

/// Binding power and meaning of `op` between elements.
fn infix(op: Op) -> Option<(u8, Infix)> {
    use Infix::{Arith, Cmp, Spanset};
    Some(match op {
        Op::And => (2, Spanset(SpansetOp::And)),
        Op::Or => (2, Spanset(SpansetOp::Or)),
        Op::Eq => (3, Cmp(CmpOp::Eq)),
        Op::Neq => (3, Cmp(CmpOp::Neq)),
        Op::Lt => (3, Cmp(CmpOp::Lt)),
        Op::Lte => (3, Cmp(CmpOp::Lte)),
        Op::Gt => (3, Cmp(CmpOp::Gt)),
        Op::Gte => (3, Cmp(CmpOp::Gte)),
        Op::Desc => (3, Spanset(SpansetOp::Descendant)),
        Op::Ance => (3, Spanset(SpansetOp::Ancestor)),
        Op::Tilde => (3, Spanset(SpansetOp::Sibling)),
        Op::NotChild => (3, Spanset(SpansetOp::NotChild)),
        Op::NotParent => (3, Spanset(SpansetOp::NotParent)),
        Op::NotDesc => (3, Spanset(SpansetOp::NotDescendant)),
        Op::NotAnce => (3, Spanset(SpansetOp::NotAncestor)),
        Op::NotRegex => (3, Spanset(SpansetOp::NotSibling)),
        Op::UnionChild => (3, Spanset(SpansetOp::UnionChild)),
        Op::UnionParent => (3, Spanset(SpansetOp::UnionParent)),
        Op::UnionDesc => (3, Spanset(SpansetOp::UnionDescendant)),
        Op::UnionAnce => (3, Spanset(SpansetOp::UnionAncestor)),
        Op::UnionSibl => (3, Spanset(SpansetOp::UnionSibling)),
        Op::Add => (4, Arith(ArithOp::Add)),
        Op::Sub => (4, Arith(ArithOp::Sub)),
        Op::Mul => (6, Arith(ArithOp::Mul)),
        Op::Div => (6, Arith(ArithOp::Div)),
        Op::Mod => (6, Arith(ArithOp::Mod)),
        Op::Pow => (7, Arith(ArithOp::Pow)),
        Op::Regex | Op::Not => return None,
    })
}

impl Parser<'_> {
    /// An element whose infix operators all bind at least as tightly as `min`.
    pub(super) fn element(&mut self, min: u8) -> PResult<Node> {
        // This function and `operand` are on the recursion path of nested parentheses: keep
        // their frames small (the work is done in helpers).
        let mut lhs = self.operand()?;
        while let Some((op, level)) = self.infix_at_least(min) {
            let at = self.advance().start;
            self.check_right_operand(op)?;
            let next = if op == Op::Pow { level } else { level + 1 };
            let rhs_start = self.start();
            self.enter()?;
            let rhs = self.element(next)?;
            self.leave();
            lhs = self.join(lhs, op, rhs, at, rhs_start)?;
        }
        Ok(lhs)
    }

    /// The infix operator at the current token, if it binds at least as tightly as `min`.
    fn infix_at_least(&self, min: u8) -> Option<(Op, u8)> {
        let Tok::Op(op) = *self.peek() else {
            return None;
        };
        infix(op)
            .filter(|&(level, _)| level >= min)
            .map(|(level, _)| (op, level))
    }

    fn check_right_operand(&self, op: Op) -> PResult<()> {
        if !self.starts_operand() {
            return Err(self.expected(&format!(
                "a spanset filter, an aggregate, a number or '(' after '{}'",
                op.text()
            )));
        }
        Ok(())
    }

    fn join(&self, lhs: Node, op: Op, rhs: Node, at: usize, rhs_start: usize) -> PResult<Node> {
        let height = self.grow(lhs.height, rhs.height, at)?;
        let Some((_, meaning)) = infix(op) else {
            return Err(self.error_at(at, format!("unexpected '{}'", op.text())));
        };
        let item = self.combine(*lhs.item, op, meaning, *rhs.item, at, rhs_start)?;
        Ok(Node::new(item, height))
    }

    /// Whether the current token can begin an operand.
    pub(super) fn starts_operand(&self) -> bool {
        match self.peek() {
            Tok::LBrace | Tok::LParen | Tok::Int(_) | Tok::Float(_) | Tok::Duration(_) => true,
            Tok::Op(Op::Sub) => true,
            Tok::Ident(w) => matches!(
                w.as_str(),
                "count"
                    | "avg"
                    | "min"
                    | "max"
                    | "sum"
                    | "by"
                    | "select"
                    | "coalesce"
                    | "minInt"
                    | "maxInt"
            ),
            _ => false,
        }
    }

    fn combine(
        &self,
        lhs: Item,
        op: Op,
        meaning: Infix,
        rhs: Item,
        at: usize,
        rhs_at: usize,
    ) -> PResult<Item> {
        let sym = op.text();
        let mismatch = |l: &Item, r: &Item| {
            self.error_at(
                at,
                format!(
                    "'{sym}' cannot combine {} with {}",
                    l.describe(),
                    r.describe()
                ),
            )
        };
        // Structural `>` and `<` share their tokens with comparisons.
        let meaning = match (&lhs, meaning) {
            (Item::Spanset(_) | Item::Wrapped(_), Infix::Cmp(CmpOp::Gt)) => {
                Infix::Spanset(SpansetOp::Child)
            }
            (Item::Spanset(_) | Item::Wrapped(_), Infix::Cmp(CmpOp::Lt)) => {
                Infix::Spanset(SpansetOp::Parent)
            }
            (_, m) => m,
        };
        match meaning {
            Infix::Spanset(sop) => match (spanset_operand(lhs), spanset_operand(rhs)) {
                (Ok(l), Ok(r)) => Ok(Item::Spanset(SpansetExpr::Op {
                    op: sop,
                    lhs: Box::new(l),
                    rhs: Box::new(r),
                })),
                (Ok(_), Err(r)) => Err(self.error_at(
                    rhs_at,
                    format!("expected a spanset after '{sym}' but found {r}"),
                )),
                (Err(l), _) => Err(self.error_at(
                    at,
                    format!("'{sym}' needs spansets on both sides but the left side is {l}"),
                )),
            },
            Infix::Cmp(cmp) => match (lhs, rhs) {
                (Item::Metrics(mut m), Item::Const(c)) => {
                    let value = self.metrics_number(&c, true, rhs_at)?;
                    self.push_second(&mut m, SecondStage::Filter { op: cmp, value }, at)?;
                    Ok(Item::Metrics(m))
                }
                (l @ (Item::Agg(_) | Item::Const(_)), r @ (Item::Agg(_) | Item::Const(_)))
                    if !(matches!(l, Item::Const(_)) && matches!(r, Item::Const(_))) =>
                {
                    Ok(scalar_filter(cmp, l, r))
                }
                (l @ Item::PipeAgg(_), r @ (Item::PipeAgg(_) | Item::Const(_))) => {
                    Ok(scalar_filter(cmp, l, r))
                }
                (Item::Const(_), Item::Const(_)) => Err(self.error_at(
                    at,
                    format!(
                        "'{sym}' between two numbers: a comparison needs an aggregate such as \
                         count() on one side"
                    ),
                )),
                (Item::Spanset(_) | Item::Wrapped(_), _) => {
                    Err(self.error_at(at, format!("'{sym}' cannot be used between spansets")))
                }
                (l, r) => Err(mismatch(&l, &r)),
            },
            Infix::Arith(aop) => match (lhs, rhs) {
                (Item::Const(l), Item::Const(r)) => Ok(Item::Const(self.fold(aop, &l, &r, at)?)),
                (l @ (Item::Agg(_) | Item::Const(_)), r @ (Item::Agg(_) | Item::Const(_))) => {
                    Ok(Item::Agg(scalar_binary(aop, l, r)))
                }
                (l @ Item::PipeAgg(_), r @ Item::PipeAgg(_)) => {
                    Ok(Item::PipeAgg(scalar_binary(aop, l, r)))
                }
                (
                    l @ (Item::Metrics(_) | Item::Const(_)),
                    r @ (Item::Metrics(_) | Item::Const(_)),
                ) => {
                    if matches!(aop, ArithOp::Mod | ArithOp::Pow) {
                        return Err(self.error_at(
                            at,
                            format!("'{sym}' is not supported in metrics arithmetic (use + - * /)"),
                        ));
                    }
                    let lhs = self.metrics_operand(l, at)?;
                    let rhs = self.metrics_operand(r, rhs_at)?;
                    Ok(Item::Metrics(MetricsExpr::Binary {
                        op: aop,
                        lhs: Box::new(lhs),
                        rhs: Box::new(rhs),
                        second: Vec::new(),
                    }))
                }
                (l, r) => Err(mismatch(&l, &r)),
            },
        }
    }

    fn metrics_operand(&self, item: Item, at: usize) -> PResult<MetricsExpr> {
        match item {
            Item::Metrics(m) => Ok(m),
            Item::Const(c) => Ok(MetricsExpr::Scalar(self.metrics_number(&c, false, at)?)),
            other => Err(self.error_at(
                at,
                format!(
                    "expected a metrics query or a number but found {}",
                    other.describe()
                ),
            )),
        }
    }

    /// A constant as a metrics number. Durations are accepted (as seconds) only in filters.
    pub(super) fn metrics_number(&self, c: &Static, filter: bool, at: usize) -> PResult<f64> {
        match c {
            #[allow(clippy::cast_precision_loss)]
            Static::Int(i) => Ok(*i as f64),
            Static::Float(f) => Ok(*f),
            #[allow(clippy::cast_precision_loss)]
            Static::Duration(ns) if filter => Ok(*ns as f64 / 1e9),
            Static::Duration(_) => Err(self.error_at(
                at,
                "a duration cannot be used as an operand of metrics arithmetic",
            )),
            other => Err(self.error_at(at, format!("expected a number but found {other}"))),
        }
    }

    /// Constant arithmetic: `+ - * /` on ints and floats, with Go's int semantics.
    fn fold(&self, op: ArithOp, l: &Static, r: &Static, at: usize) -> PResult<Static> {
        let err = |msg: &str| Err(self.error_at(at, msg.to_string()));
        if matches!(op, ArithOp::Mod | ArithOp::Pow) {
            return err(&format!(
                "'{}' between two numbers is not supported: it needs an aggregate or a metrics query",
                op.symbol()
            ));
        }
        let number = |s: &Static| match s {
            #[allow(clippy::cast_precision_loss)]
            Static::Int(i) => Some(*i as f64),
            Static::Float(f) => Some(*f),
            _ => None,
        };
        match (l, r) {
            (Static::Duration(_), _) | (_, Static::Duration(_)) => {
                err("durations cannot be used in constant arithmetic")
            }
            (Static::Int(a), Static::Int(b)) => {
                let value = match op {
                    ArithOp::Add => a.checked_add(*b),
                    ArithOp::Sub => a.checked_sub(*b),
                    ArithOp::Mul => a.checked_mul(*b),
                    _ if *b == 0 => return err("division by zero in a constant expression"),
                    _ => a.checked_div(*b),
                };
                match value {
                    Some(v) => Ok(Static::Int(v)),
                    None => err("integer overflow in a constant expression"),
                }
            }
            _ => {
                let (Some(a), Some(b)) = (number(l), number(r)) else {
                    return err("expected numbers in a constant expression");
                };
                let value = match op {
                    ArithOp::Add => a + b,
                    ArithOp::Sub => a - b,
                    ArithOp::Mul => a * b,
                    _ if b == 0.0 => return err("division by zero in a constant expression"),
                    _ => a / b,
                };
                if value.is_finite() {
                    Ok(Static::Float(value))
                } else {
                    err("floating-point overflow in a constant expression")
                }
            }
        }
    }

    pub(super) fn push_second(
        &self,
        m: &mut MetricsExpr,
        stage: SecondStage,
        at: usize,
    ) -> PResult<()> {
        match m {
            MetricsExpr::Pipeline { second, .. } | MetricsExpr::Binary { second, .. } => {
                second.push(stage);
                Ok(())
            }
            MetricsExpr::Scalar(_) => {
                Err(self.error_at(at, "second stages need a metrics query on the left"))
            }
        }
    }
}

/// The item as a spanset operand, or what it is instead.
fn spanset_operand(item: Item) -> Result<SpansetExpr, &'static str> {
    match item {
        Item::Spanset(e) => Ok(e),
        Item::Wrapped(p) => Ok(SpansetExpr::Pipeline(Box::new(p))),
        other => Err(other.describe()),
    }
}

fn scalar(item: Item) -> ScalarExpr {
    match item {
        Item::Agg(e) | Item::PipeAgg(e) => e,
        Item::Const(c) => ScalarExpr::Static(c),
        // Callers only pass the kinds above.
        _ => ScalarExpr::Static(Static::Nil),
    }
}

fn scalar_filter(op: CmpOp, lhs: Item, rhs: Item) -> Item {
    Item::Stage(Stage::ScalarFilter(ScalarFilter {
        op,
        lhs: scalar(lhs),
        rhs: scalar(rhs),
    }))
}

fn scalar_binary(op: ArithOp, lhs: Item, rhs: Item) -> ScalarExpr {
    ScalarExpr::Binary {
        op,
        lhs: Box::new(scalar(lhs)),
        rhs: Box::new(scalar(rhs)),
    }
}

/// `count()` and friends as an element.
pub(super) fn aggregate_item(a: Aggregate) -> Item {
    Item::Agg(ScalarExpr::Aggregate(a))
}
