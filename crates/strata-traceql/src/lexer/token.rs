//! Token types.

use crate::ast::Attribute;
use crate::duration;

/// Operator tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    Eq,
    Neq,
    Regex,
    NotRegex,
    Lt,
    Lte,
    Gt,
    Gte,
    Desc,
    Ance,
    Tilde,
    NotChild,
    NotParent,
    NotDesc,
    NotAnce,
    UnionChild,
    UnionParent,
    UnionDesc,
    UnionAnce,
    UnionSibl,
    And,
    Or,
    Not,
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    Pow,
}

impl Op {
    pub(crate) fn text(self) -> &'static str {
        match self {
            Op::Eq => "=",
            Op::Neq => "!=",
            Op::Regex => "=~",
            Op::NotRegex => "!~",
            Op::Lt => "<",
            Op::Lte => "<=",
            Op::Gt => ">",
            Op::Gte => ">=",
            Op::Desc => ">>",
            Op::Ance => "<<",
            Op::Tilde => "~",
            Op::NotChild => "!>",
            Op::NotParent => "!<",
            Op::NotDesc => "!>>",
            Op::NotAnce => "!<<",
            Op::UnionChild => "&>",
            Op::UnionParent => "&<",
            Op::UnionDesc => "&>>",
            Op::UnionAnce => "&<<",
            Op::UnionSibl => "&~",
            Op::And => "&&",
            Op::Or => "||",
            Op::Not => "!",
            Op::Add => "+",
            Op::Sub => "-",
            Op::Mul => "*",
            Op::Div => "/",
            Op::Mod => "%",
            Op::Pow => "^",
        }
    }
}

/// Scopes that precede `:` in scoped intrinsics (`span:id`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ColonScope {
    Trace,
    Span,
    Event,
    Link,
    Instrumentation,
}

impl ColonScope {
    pub(crate) fn text(self) -> &'static str {
        match self {
            ColonScope::Trace => "trace",
            ColonScope::Span => "span",
            ColonScope::Event => "event",
            ColonScope::Link => "link",
            ColonScope::Instrumentation => "instrumentation",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Tok {
    LBrace,
    RBrace,
    LParen,
    RParen,
    Comma,
    Pipe,
    Op(Op),
    Str(String),
    Int(i64),
    Float(f64),
    Duration(i64),
    Ident(String),
    Attr(Attribute),
    ScopeColon(ColonScope),
    Eof,
}

impl Tok {
    /// How the token is named in error messages.
    pub(crate) fn describe(&self) -> String {
        match self {
            Tok::LBrace => "'{'".into(),
            Tok::RBrace => "'}'".into(),
            Tok::LParen => "'('".into(),
            Tok::RParen => "')'".into(),
            Tok::Comma => "','".into(),
            Tok::Pipe => "'|'".into(),
            Tok::Op(op) => format!("'{}'", op.text()),
            Tok::Str(s) => format!("string {}", crate::display::quote_string(&shorten(s))),
            Tok::Int(i) => format!("number {i}"),
            Tok::Float(f) => format!("number {f}"),
            Tok::Duration(d) => format!("duration {}", duration::format(*d)),
            Tok::Ident(s) => format!("'{}'", shorten(s)),
            Tok::Attr(a) => format!("attribute {}", shorten(&a.to_string())),
            Tok::ScopeColon(s) => format!("'{}:'", s.text()),
            Tok::Eof => "end of query".into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Token {
    pub tok: Tok,
    /// Byte offsets of the token's text.
    pub start: usize,
    pub end: usize,
}

/// At most 40 characters of `s`, for error messages.
fn shorten(s: &str) -> String {
    const LIMIT: usize = 40;
    match s.char_indices().nth(LIMIT) {
        Some((i, _)) => format!("{}...", &s[..i]),
        None => s.to_string(),
    }
}
