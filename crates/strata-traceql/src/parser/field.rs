//! Field expressions: what goes inside `{ }`, `by()`, aggregates; attributes and intrinsics.
//!
//! Binding powers (higher binds tighter): `&& ||` 2; `= != < <= > >= =~ !~` 3; `+ -` 4;
//! prefix `-` and `!` take an operand built from `* / % ^` only (so `-a * b` is `-(a * b)`
//! and `!a = b` is `(!a) = b`); `* / %` 6; `^` 7, right-associative. All binary operators
//! but `^` are left-associative. A minus applied directly to a number literal is folded
//! into the literal. `nil` may only appear directly beside `=` or `!=`; `nil = nil` and
//! `nil != nil` fold to `false`.

use super::PResult;
use super::Parser;
use crate::ast::{BinaryOp, FieldExpr, Pos, SpansetFilter, Static, UnaryOp};
use crate::lexer::{Op, Tok};
use crate::names::keyword_static;
use crate::Intrinsic;

/// Binding power of `op` as a binary operator inside field expressions.
fn infix(op: Op) -> Option<(BinaryOp, u8)> {
    Some(match op {
        Op::Or => (BinaryOp::Or, 2),
        Op::And => (BinaryOp::And, 2),
        Op::Eq => (BinaryOp::Eq, 3),
        Op::Neq => (BinaryOp::Neq, 3),
        Op::Lt => (BinaryOp::Lt, 3),
        Op::Lte => (BinaryOp::Lte, 3),
        Op::Gt => (BinaryOp::Gt, 3),
        Op::Gte => (BinaryOp::Gte, 3),
        Op::Regex => (BinaryOp::Regex, 3),
        Op::NotRegex => (BinaryOp::NotRegex, 3),
        Op::Add => (BinaryOp::Add, 4),
        Op::Sub => (BinaryOp::Sub, 4),
        Op::Mul => (BinaryOp::Mul, 6),
        Op::Div => (BinaryOp::Div, 6),
        Op::Mod => (BinaryOp::Mod, 6),
        Op::Pow => (BinaryOp::Pow, 7),
        _ => return None,
    })
}

/// Operand binding power of the prefix operators.
const PREFIX_OPERAND: u8 = 6;

const NIL_MISUSE: &str = "nil can only be compared with '=' or '!=' (for example .foo != nil)";

impl Parser<'_> {
    /// A complete field expression (not a bare `nil`), with the height of its tree.
    pub(super) fn field_expr(&mut self) -> PResult<(FieldExpr, usize)> {
        let start = self.start();
        let (expr, height) = self.field(0)?;
        if expr == FieldExpr::Static(Static::Nil) {
            return Err(self.error_at(start, NIL_MISUSE));
        }
        Ok((expr, height))
    }

    // `field`, `field_prefix`, `field_unary` and `field_paren` are on the recursion path of
    // nested expressions: they stay small and leave the real work to helpers, because debug
    // builds give every temporary of a function its own stack slot.

    fn field(&mut self, min: u8) -> PResult<(FieldExpr, usize)> {
        let (mut lhs, mut height) = self.field_prefix()?;
        while let Some((op, level)) = self.field_infix_at_least(min) {
            let at = self.advance().start;
            let next = if op == BinaryOp::Pow {
                level
            } else {
                level + 1
            };
            self.enter()?;
            let (rhs, rhs_height) = self.field(next)?;
            self.leave();
            height = self.grow(height, rhs_height, at)?;
            lhs = self.binary(op, lhs, rhs, at)?;
        }
        Ok((lhs, height))
    }

    fn field_infix_at_least(&self, min: u8) -> Option<(BinaryOp, u8)> {
        let Tok::Op(op) = *self.peek() else {
            return None;
        };
        infix(op).filter(|&(_, level)| level >= min)
    }

    fn binary(
        &self,
        op: BinaryOp,
        lhs: FieldExpr,
        rhs: FieldExpr,
        at: usize,
    ) -> PResult<FieldExpr> {
        let nil = FieldExpr::Static(Static::Nil);
        if lhs == nil || rhs == nil {
            if !matches!(op, BinaryOp::Eq | BinaryOp::Neq) {
                return Err(self.error_at(at, NIL_MISUSE));
            }
            if lhs == nil && rhs == nil {
                return Ok(FieldExpr::Static(Static::Bool(false)));
            }
        }
        Ok(FieldExpr::Binary {
            op,
            lhs: Box::new(lhs),
            rhs: Box::new(rhs),
        })
    }

    fn field_prefix(&mut self) -> PResult<(FieldExpr, usize)> {
        match self.peek() {
            Tok::Op(Op::Sub) => self.field_unary(UnaryOp::Neg),
            Tok::Op(Op::Not) => self.field_unary(UnaryOp::Not),
            Tok::LParen => self.field_paren(),
            _ => self.field_leaf(),
        }
    }

    fn field_unary(&mut self, op: UnaryOp) -> PResult<(FieldExpr, usize)> {
        let at = self.advance().start;
        self.enter()?;
        let (operand, height) = self.field(PREFIX_OPERAND)?;
        self.leave();
        self.unary(op, operand, height, at)
    }

    fn unary(
        &self,
        op: UnaryOp,
        operand: FieldExpr,
        height: usize,
        at: usize,
    ) -> PResult<(FieldExpr, usize)> {
        let folded = match (&op, &operand) {
            (_, FieldExpr::Static(Static::Nil)) => return Err(self.error_at(at, NIL_MISUSE)),
            (UnaryOp::Neg, FieldExpr::Static(s)) => negate(s),
            _ => None,
        };
        if let Some(s) = folded {
            return Ok((FieldExpr::Static(s), height));
        }
        let height = self.grow(height, 0, at)?;
        Ok((
            FieldExpr::Unary {
                op,
                expr: Box::new(operand),
            },
            height,
        ))
    }

    fn field_paren(&mut self) -> PResult<(FieldExpr, usize)> {
        self.advance();
        self.enter()?;
        let inner = self.field(0)?;
        self.expect_close_paren()?;
        self.leave();
        Ok(inner)
    }

    pub(super) fn expect_close_paren(&mut self) -> PResult<()> {
        self.expect(&Tok::RParen, "')'").map(drop)
    }

    fn field_leaf(&mut self) -> PResult<(FieldExpr, usize)> {
        let expr = match self.peek() {
            Tok::Str(s) => FieldExpr::Static(Static::String(s.clone())),
            Tok::Int(i) => FieldExpr::Static(Static::Int(*i)),
            Tok::Float(f) => FieldExpr::Static(Static::Float(*f)),
            Tok::Duration(d) => FieldExpr::Static(Static::Duration(*d)),
            Tok::Ident(word) => match keyword_static(word) {
                Some(s) => FieldExpr::Static(s),
                None => return Ok((self.identifier("a field expression")?, 0)),
            },
            Tok::Attr(_) | Tok::ScopeColon(_) => {
                return Ok((self.identifier("a field expression")?, 0));
            }
            _ => return Err(self.expected("a field expression")),
        };
        self.advance();
        Ok((expr, 0))
    }

    /// An attribute or intrinsic (`.foo`, `span.x`, `name`, `span:id`).
    pub(super) fn identifier(&mut self, what: &str) -> PResult<FieldExpr> {
        let start = self.start();
        match self.peek().clone() {
            Tok::Attr(a) => {
                self.advance();
                Ok(FieldExpr::Attribute(a))
            }
            Tok::Ident(word) => match Intrinsic::from_unscoped(&word) {
                Some(i) => {
                    self.advance();
                    Ok(FieldExpr::Intrinsic(i))
                }
                None => Err(self.error_at(
                    start,
                    format!(
                        "expected {what} but found unknown identifier '{word}' (attribute names \
                         start with '.' or a scope such as 'span.' or 'resource.')"
                    ),
                )),
            },
            Tok::ScopeColon(scope) => {
                self.advance();
                let name = match self.peek() {
                    Tok::Ident(name) => name.clone(),
                    _ => {
                        return Err(
                            self.expected(&format!("an intrinsic name after '{}:'", scope.text()))
                        )
                    }
                };
                match Intrinsic::from_scoped(scope, &name) {
                    Some(i) => {
                        self.advance();
                        Ok(FieldExpr::Intrinsic(i))
                    }
                    None => Err(self.error_at(
                        start,
                        format!("unknown intrinsic '{}:{name}'", scope.text()),
                    )),
                }
            }
            _ => Err(self.expected(what)),
        }
    }

    /// `{ }` or `{ expr }`, with the height of its tree.
    pub(super) fn spanset_filter(&mut self) -> PResult<(SpansetFilter, usize)> {
        let open = self.expect(&Tok::LBrace, "'{'")?;
        self.enter()?;
        let (expr, height) = if self.peek() == &Tok::RBrace {
            (None, 0)
        } else {
            let (e, h) = self.field_expr()?;
            (Some(e), h)
        };
        let close = self.expect(&Tok::RBrace, "'}'")?;
        self.leave();
        let height = self.grow(height, 0, open.start)?;
        let pos = Pos {
            start: open.start,
            end: close.end,
        };
        Ok((SpansetFilter { expr, pos }, height))
    }
}

/// `-literal` for numeric literals.
pub(super) fn negate(s: &Static) -> Option<Static> {
    match s {
        Static::Int(i) => i.checked_neg().map(Static::Int),
        Static::Float(f) => Some(Static::Float(-f)),
        Static::Duration(d) => d.checked_neg().map(Static::Duration),
        _ => None,
    }
}
