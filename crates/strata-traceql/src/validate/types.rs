//! The types the validator infers, and which operators accept which types.

use super::Result;
use crate::ast::{ArithOp, BinaryOp, CmpOp, Intrinsic, Static};
use crate::ValidateError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Type {
    Nil,
    Attribute,
    Bool,
    Int,
    Float,
    String,
    Duration,
    Status,
    Kind,
}

impl Type {
    pub(super) fn of(s: &Static) -> Type {
        match s {
            Static::Nil => Type::Nil,
            Static::Bool(_) => Type::Bool,
            Static::Int(_) => Type::Int,
            Static::Float(_) => Type::Float,
            Static::String(_) => Type::String,
            Static::Duration(_) => Type::Duration,
            Static::Status(_) => Type::Status,
            Static::Kind(_) => Type::Kind,
        }
    }

    pub(super) fn of_intrinsic(i: Intrinsic) -> Type {
        match i {
            Intrinsic::Duration | Intrinsic::TraceDuration | Intrinsic::EventTimeSinceStart => {
                Type::Duration
            }
            Intrinsic::Status => Type::Status,
            Intrinsic::Kind => Type::Kind,
            Intrinsic::ChildCount
            | Intrinsic::NestedSetLeft
            | Intrinsic::NestedSetRight
            | Intrinsic::NestedSetParent => Type::Int,
            Intrinsic::Parent => Type::Nil,
            Intrinsic::Name
            | Intrinsic::StatusMessage
            | Intrinsic::SpanId
            | Intrinsic::SpanParentId
            | Intrinsic::TraceRootName
            | Intrinsic::TraceRootService
            | Intrinsic::TraceId
            | Intrinsic::EventName
            | Intrinsic::LinkTraceId
            | Intrinsic::LinkSpanId
            | Intrinsic::InstrumentationName
            | Intrinsic::InstrumentationVersion => Type::String,
        }
    }

    pub(super) fn name(self) -> &'static str {
        match self {
            Type::Nil => "nil",
            Type::Attribute => "attribute",
            Type::Bool => "bool",
            Type::Int => "int",
            Type::Float => "float",
            Type::String => "string",
            Type::Duration => "duration",
            Type::Status => "status",
            Type::Kind => "kind",
        }
    }

    /// The name with its indefinite article: `an int`, `a string`.
    pub(super) fn article(self) -> String {
        match self {
            Type::Int | Type::Attribute => format!("an {}", self.name()),
            _ => format!("a {}", self.name()),
        }
    }

    pub(super) fn is_numeric(self) -> bool {
        matches!(self, Type::Int | Type::Float | Type::Duration)
    }

    /// Whether the two types can be the operands of one binary operator.
    pub(super) fn compatible(self, other: Type) -> bool {
        self == other
            || self == Type::Attribute
            || other == Type::Attribute
            || (self.is_numeric() && other.is_numeric())
            || self == Type::Nil
            || other == Type::Nil
    }

    /// Whether `op` accepts an operand of this type.
    pub(super) fn accepts(self, op: BinaryOp) -> bool {
        use BinaryOp::*;
        match self {
            Type::Attribute => true,
            Type::Bool => matches!(op, And | Or | Eq | Neq),
            Type::Int | Type::Float | Type::Duration => matches!(
                op,
                Add | Sub | Mul | Div | Mod | Pow | Eq | Neq | Lt | Lte | Gt | Gte
            ),
            Type::String => matches!(op, Eq | Neq | Lt | Lte | Gt | Gte | Regex | NotRegex),
            Type::Nil | Type::Status | Type::Kind => matches!(op, Eq | Neq),
        }
    }
}

pub(super) fn is_boolean_op(op: BinaryOp) -> bool {
    !matches!(
        op,
        BinaryOp::Add
            | BinaryOp::Sub
            | BinaryOp::Mul
            | BinaryOp::Div
            | BinaryOp::Mod
            | BinaryOp::Pow
    )
}

pub(super) fn arith_as_binary(op: ArithOp) -> BinaryOp {
    match op {
        ArithOp::Add => BinaryOp::Add,
        ArithOp::Sub => BinaryOp::Sub,
        ArithOp::Mul => BinaryOp::Mul,
        ArithOp::Div => BinaryOp::Div,
        ArithOp::Mod => BinaryOp::Mod,
        ArithOp::Pow => BinaryOp::Pow,
    }
}

pub(super) fn cmp_as_binary(op: CmpOp) -> BinaryOp {
    match op {
        CmpOp::Eq => BinaryOp::Eq,
        CmpOp::Neq => BinaryOp::Neq,
        CmpOp::Lt => BinaryOp::Lt,
        CmpOp::Lte => BinaryOp::Lte,
        CmpOp::Gt => BinaryOp::Gt,
        CmpOp::Gte => BinaryOp::Gte,
    }
}

/// Checks operand compatibility for `lhs op rhs` and returns the result type.
pub(super) fn binary_type(
    op: BinaryOp,
    lt: Type,
    rt: Type,
    text: &dyn Fn() -> String,
) -> Result<Type> {
    if !lt.compatible(rt) {
        return Err(ValidateError::invalid(format!(
            "operands of '{op}' must have compatible types, not {} and {}: {}",
            lt.name(),
            rt.name(),
            text()
        )));
    }
    for t in [lt, rt] {
        if !t.accepts(op) {
            return Err(ValidateError::invalid(format!(
                "'{op}' cannot be applied to {}: {}",
                t.article(),
                text()
            )));
        }
    }
    Ok(if is_boolean_op(op) {
        Type::Bool
    } else if lt == Type::Attribute {
        rt
    } else {
        lt
    })
}
