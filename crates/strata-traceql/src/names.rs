//! Spellings of intrinsics, keywords, scopes and operators, and operator binding powers.

use crate::ast::{
    AggregateFn, ArithOp, AttributeScope, BinaryOp, CmpOp, Intrinsic, Kind, SpansetOp, Static,
    Status, UnaryOp,
};
use crate::lexer::ColonScope;

impl Intrinsic {
    /// Canonical TraceQL spelling: the unscoped name for span intrinsics that have one
    /// (`duration`, `name`, `status`, `statusMessage`, `kind`, `nestedSetLeft`, ...), the scoped
    /// name otherwise (`span:id`, `trace:rootName`, `event:name`, ...).
    pub fn spelling(&self) -> &'static str {
        match self {
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
            Intrinsic::TraceDuration => "trace:duration",
            Intrinsic::TraceRootName => "trace:rootName",
            Intrinsic::TraceRootService => "trace:rootService",
            Intrinsic::TraceId => "trace:id",
            Intrinsic::EventName => "event:name",
            Intrinsic::EventTimeSinceStart => "event:timeSinceStart",
            Intrinsic::LinkTraceId => "link:traceID",
            Intrinsic::LinkSpanId => "link:spanID",
            Intrinsic::InstrumentationName => "instrumentation:name",
            Intrinsic::InstrumentationVersion => "instrumentation:version",
        }
    }

    /// The intrinsic for an unscoped name (`duration`, `rootName`, `parent`, ...).
    pub fn from_unscoped(name: &str) -> Option<Intrinsic> {
        Some(match name {
            "duration" => Intrinsic::Duration,
            "name" => Intrinsic::Name,
            "status" => Intrinsic::Status,
            "statusMessage" => Intrinsic::StatusMessage,
            "kind" => Intrinsic::Kind,
            "parent" => Intrinsic::Parent,
            "rootName" => Intrinsic::TraceRootName,
            "rootServiceName" => Intrinsic::TraceRootService,
            "traceDuration" => Intrinsic::TraceDuration,
            "nestedSetLeft" => Intrinsic::NestedSetLeft,
            "nestedSetRight" => Intrinsic::NestedSetRight,
            "nestedSetParent" => Intrinsic::NestedSetParent,
            _ => return None,
        })
    }

    pub(crate) fn from_scoped(scope: ColonScope, name: &str) -> Option<Intrinsic> {
        Some(match (scope, name) {
            (ColonScope::Trace, "duration") => Intrinsic::TraceDuration,
            (ColonScope::Trace, "rootName") => Intrinsic::TraceRootName,
            (ColonScope::Trace, "rootService") => Intrinsic::TraceRootService,
            (ColonScope::Trace, "id") => Intrinsic::TraceId,
            (ColonScope::Span, "duration") => Intrinsic::Duration,
            (ColonScope::Span, "name") => Intrinsic::Name,
            (ColonScope::Span, "kind") => Intrinsic::Kind,
            (ColonScope::Span, "status") => Intrinsic::Status,
            (ColonScope::Span, "statusMessage") => Intrinsic::StatusMessage,
            (ColonScope::Span, "id") => Intrinsic::SpanId,
            (ColonScope::Span, "parentID") => Intrinsic::SpanParentId,
            (ColonScope::Span, "childCount") => Intrinsic::ChildCount,
            (ColonScope::Event, "name") => Intrinsic::EventName,
            (ColonScope::Event, "timeSinceStart") => Intrinsic::EventTimeSinceStart,
            (ColonScope::Link, "traceID") => Intrinsic::LinkTraceId,
            (ColonScope::Link, "spanID") => Intrinsic::LinkSpanId,
            (ColonScope::Instrumentation, "name") => Intrinsic::InstrumentationName,
            (ColonScope::Instrumentation, "version") => Intrinsic::InstrumentationVersion,
            _ => return None,
        })
    }
}

impl Status {
    pub fn keyword(&self) -> &'static str {
        match self {
            Status::Unset => "unset",
            Status::Ok => "ok",
            Status::Error => "error",
        }
    }
}

impl Kind {
    pub fn keyword(&self) -> &'static str {
        match self {
            Kind::Unspecified => "unspecified",
            Kind::Internal => "internal",
            Kind::Server => "server",
            Kind::Client => "client",
            Kind::Producer => "producer",
            Kind::Consumer => "consumer",
        }
    }
}

impl AttributeScope {
    /// The text before the attribute name: `span.`, `resource.`, `.`, ...
    pub fn prefix(&self) -> &'static str {
        match self {
            AttributeScope::None => ".",
            AttributeScope::Span => "span.",
            AttributeScope::Resource => "resource.",
            AttributeScope::Event => "event.",
            AttributeScope::Link => "link.",
            AttributeScope::Instrumentation => "instrumentation.",
        }
    }
}

impl Static {
    /// The literal's type, as named in error messages: `nil`, `bool`, `int`, `float`,
    /// `string`, `duration`, `status`, `kind`.
    pub fn type_name(&self) -> &'static str {
        match self {
            Static::Nil => "nil",
            Static::Bool(_) => "bool",
            Static::Int(_) => "int",
            Static::Float(_) => "float",
            Static::String(_) => "string",
            Static::Duration(_) => "duration",
            Static::Status(_) => "status",
            Static::Kind(_) => "kind",
        }
    }
}

/// The literal a keyword stands for (`true`, `nil`, `error`, `client`, `minInt`, ...).
pub(crate) fn keyword_static(word: &str) -> Option<Static> {
    Some(match word {
        "true" => Static::Bool(true),
        "false" => Static::Bool(false),
        "nil" => Static::Nil,
        "ok" => Static::Status(Status::Ok),
        "error" => Static::Status(Status::Error),
        "unset" => Static::Status(Status::Unset),
        "unspecified" => Static::Kind(Kind::Unspecified),
        "internal" => Static::Kind(Kind::Internal),
        "server" => Static::Kind(Kind::Server),
        "client" => Static::Kind(Kind::Client),
        "producer" => Static::Kind(Kind::Producer),
        "consumer" => Static::Kind(Kind::Consumer),
        "minInt" => Static::Int(i64::MIN),
        "maxInt" => Static::Int(i64::MAX),
        _ => return None,
    })
}

impl UnaryOp {
    pub fn symbol(&self) -> &'static str {
        match self {
            UnaryOp::Neg => "-",
            UnaryOp::Not => "!",
        }
    }
}

impl BinaryOp {
    pub fn symbol(&self) -> &'static str {
        match self {
            BinaryOp::Add => "+",
            BinaryOp::Sub => "-",
            BinaryOp::Mul => "*",
            BinaryOp::Div => "/",
            BinaryOp::Mod => "%",
            BinaryOp::Pow => "^",
            BinaryOp::Eq => "=",
            BinaryOp::Neq => "!=",
            BinaryOp::Lt => "<",
            BinaryOp::Lte => "<=",
            BinaryOp::Gt => ">",
            BinaryOp::Gte => ">=",
            BinaryOp::Regex => "=~",
            BinaryOp::NotRegex => "!~",
            BinaryOp::And => "&&",
            BinaryOp::Or => "||",
        }
    }

    /// Binding power: higher binds tighter.
    pub(crate) fn level(self) -> u8 {
        match self {
            BinaryOp::And | BinaryOp::Or => 2,
            BinaryOp::Eq
            | BinaryOp::Neq
            | BinaryOp::Lt
            | BinaryOp::Lte
            | BinaryOp::Gt
            | BinaryOp::Gte
            | BinaryOp::Regex
            | BinaryOp::NotRegex => 3,
            BinaryOp::Add | BinaryOp::Sub => 4,
            BinaryOp::Mul | BinaryOp::Div | BinaryOp::Mod => 6,
            BinaryOp::Pow => 7,
        }
    }
}

impl ArithOp {
    pub fn symbol(&self) -> &'static str {
        match self {
            ArithOp::Add => "+",
            ArithOp::Sub => "-",
            ArithOp::Mul => "*",
            ArithOp::Div => "/",
            ArithOp::Mod => "%",
            ArithOp::Pow => "^",
        }
    }

    pub(crate) fn level(self) -> u8 {
        match self {
            ArithOp::Add | ArithOp::Sub => 4,
            ArithOp::Mul | ArithOp::Div | ArithOp::Mod => 6,
            ArithOp::Pow => 7,
        }
    }
}

impl CmpOp {
    pub fn symbol(&self) -> &'static str {
        match self {
            CmpOp::Eq => "=",
            CmpOp::Neq => "!=",
            CmpOp::Lt => "<",
            CmpOp::Lte => "<=",
            CmpOp::Gt => ">",
            CmpOp::Gte => ">=",
        }
    }
}

impl SpansetOp {
    pub fn symbol(&self) -> &'static str {
        match self {
            SpansetOp::And => "&&",
            SpansetOp::Or => "||",
            SpansetOp::Child => ">",
            SpansetOp::Parent => "<",
            SpansetOp::Descendant => ">>",
            SpansetOp::Ancestor => "<<",
            SpansetOp::Sibling => "~",
            SpansetOp::NotChild => "!>",
            SpansetOp::NotParent => "!<",
            SpansetOp::NotDescendant => "!>>",
            SpansetOp::NotAncestor => "!<<",
            SpansetOp::NotSibling => "!~",
            SpansetOp::UnionChild => "&>",
            SpansetOp::UnionParent => "&<",
            SpansetOp::UnionDescendant => "&>>",
            SpansetOp::UnionAncestor => "&<<",
            SpansetOp::UnionSibling => "&~",
        }
    }

    pub(crate) fn level(self) -> u8 {
        match self {
            SpansetOp::And | SpansetOp::Or => 2,
            _ => 3,
        }
    }
}

impl AggregateFn {
    pub fn name(&self) -> &'static str {
        match self {
            AggregateFn::Count => "count",
            AggregateFn::Avg => "avg",
            AggregateFn::Min => "min",
            AggregateFn::Max => "max",
            AggregateFn::Sum => "sum",
        }
    }
}
