//! Hand-written recursive-descent parser with precedence climbing.
//!
//! Grammar (informal; `X*` repeats, `[X]` optional):
//! ```text
//! query     := root [hints]* EOF
//! root      := element ('|' stage)* ['|' metricsFn [by] second*]     (a spanset pipeline)
//!            | element second*                                      (element is metrics)
//! stage     := element | 'coalesce' '(' ')'
//! element   := operand (INFIX element)*        precedence: && || < comparison & structural
//!                                              < + - < * / % < ^ (right-assoc)
//! operand   := '{' [field] '}' | '(' group ')' | aggregate | by | select | number | '-' operand
//! group     := element ('|' stage)* ['|' aggregate | '|' metricsFn [by] second*]
//! second    := '|' ('topk' | 'bottomk') '(' INT ')' | CMP constant
//! field     := field OP field | '-' field | '!' field | '(' field ')' | static | attribute
//!            | intrinsic                       (nil only directly beside = or !=)
//! hints     := 'with' '(' IDENT '=' static (',' IDENT '=' static)* ')'
//! ```
//! An element is typed while it is parsed (see [`element`]): spanset operators need spansets
//! on both sides; comparisons need an aggregate (`count() > 2`), a scalar pipeline
//! (`({ } | count()) > 2`) or a metrics expression (`({ } | rate()) > 2`) on the left;
//! arithmetic between constants is folded (`1 + 2` is `3`, `1/2` is `0`).
//!
//! Invariants: never panics; recursion is bounded by [`crate::MAX_NESTING`] and the height of
//! every produced tree by [`crate::MAX_EXPR_DEPTH`], so that evaluating, printing and dropping
//! the AST cannot overflow the stack either.

mod element;
mod field;
mod metrics;
mod operand;
mod pipeline;

use crate::ast::{FieldExpr, Hint, Query, RootExpr, Static};
use crate::lexer::{self, Tok, Token};
use crate::names::keyword_static;
use crate::{ParseError, MAX_EXPR_DEPTH, MAX_NESTING, MAX_QUERY_BYTES};

/// Results inside the parser. The error is boxed so that the many `?` temporaries on the
/// recursive paths stay small (debug builds give each its own stack slot).
pub(super) type PResult<T> = Result<T, Box<ParseError>>;

pub(crate) struct Parser<'a> {
    text: &'a str,
    tokens: Vec<Token>,
    pos: usize,
    depth: usize,
}

pub(crate) fn check_size(text: &str) -> Result<(), ParseError> {
    if text.len() > MAX_QUERY_BYTES {
        return Err(ParseError::at(
            text,
            0,
            format!(
                "query is too long: {} bytes (the limit is {MAX_QUERY_BYTES})",
                text.len()
            ),
        ));
    }
    Ok(())
}

pub(crate) fn parse_query(text: &str) -> Result<Query, ParseError> {
    check_size(text)?;
    query(text).map_err(|e| *e)
}

fn query(text: &str) -> PResult<Query> {
    let mut parser = Parser::new(text)?;
    let root = parser.root()?;
    let mut hints = Vec::new();
    while parser.at_ident("with") {
        parser.hints(&mut hints)?;
    }
    if parser.peek() != &Tok::Eof {
        let what = if hints.is_empty() {
            "'|', 'with(...)' or end of query"
        } else {
            "end of query"
        };
        return Err(parser.expected(what));
    }
    Ok(Query { root, hints })
}

pub(crate) fn parse_identifier(text: &str) -> Result<FieldExpr, ParseError> {
    check_size(text)?;
    identifier(text).map_err(|e| *e)
}

fn identifier(text: &str) -> PResult<FieldExpr> {
    let mut parser = Parser::new(text)?;
    let field = parser.identifier("an attribute (such as span.foo or .foo) or an intrinsic")?;
    if parser.peek() != &Tok::Eof {
        return Err(parser.expected("end of identifier"));
    }
    Ok(field)
}

impl<'a> Parser<'a> {
    fn new(text: &'a str) -> PResult<Parser<'a>> {
        Ok(Parser {
            text,
            tokens: lexer::tokenize(text).map_err(Box::new)?,
            pos: 0,
            depth: 0,
        })
    }

    fn token(&self) -> &Token {
        // `tokenize` always ends with Eof and `advance` never moves past it.
        &self.tokens[self.pos.min(self.tokens.len() - 1)]
    }

    fn peek(&self) -> &Tok {
        &self.token().tok
    }

    fn start(&self) -> usize {
        self.token().start
    }

    /// End offset of the previous token.
    fn prev_end(&self) -> usize {
        match self.pos.checked_sub(1) {
            Some(i) => self.tokens[i].end,
            None => 0,
        }
    }

    fn advance(&mut self) -> Token {
        let token = self.token().clone();
        if token.tok != Tok::Eof {
            self.pos += 1;
        }
        token
    }

    fn at_ident(&self, name: &str) -> bool {
        matches!(self.peek(), Tok::Ident(w) if w == name)
    }

    fn error_at(&self, offset: usize, message: impl Into<String>) -> Box<ParseError> {
        Box::new(ParseError::at(self.text, offset, message))
    }

    /// `expected <what> but found <current token>`, at the current token.
    fn expected(&self, what: &str) -> Box<ParseError> {
        self.error_at(
            self.start(),
            format!("expected {what} but found {}", self.peek().describe()),
        )
    }

    fn expect(&mut self, tok: &Tok, what: &str) -> PResult<Token> {
        if self.peek() == tok {
            Ok(self.advance())
        } else {
            Err(self.expected(what))
        }
    }

    /// Enters one level of nesting (parenthesis, brace, prefix operator, operand).
    fn enter(&mut self) -> PResult<()> {
        self.depth += 1;
        if self.depth > MAX_NESTING {
            return Err(self.error_at(
                self.start(),
                format!("query nests too deeply (the limit is {MAX_NESTING} levels)"),
            ));
        }
        Ok(())
    }

    fn leave(&mut self) {
        self.depth = self.depth.saturating_sub(1);
    }

    /// Height of a node whose children have heights `a` and `b`.
    fn grow(&self, a: usize, b: usize, at: usize) -> PResult<usize> {
        let height = a.max(b) + 1;
        if height > MAX_EXPR_DEPTH {
            return Err(self.error_at(
                at,
                format!("expression is too deeply nested (the limit is {MAX_EXPR_DEPTH} levels)"),
            ));
        }
        Ok(height)
    }

    /// `with(name = value, ...)`, appended to `out`.
    fn hints(&mut self, out: &mut Vec<Hint>) -> PResult<()> {
        self.advance();
        self.expect(&Tok::LParen, "'(' after 'with'")?;
        loop {
            let name = match self.peek() {
                Tok::Ident(name) => name.clone(),
                _ => return Err(self.expected("a hint name")),
            };
            self.advance();
            self.expect(&Tok::Op(lexer::Op::Eq), "'=' after the hint name")?;
            let value = match self.peek() {
                Tok::Str(s) => Static::String(s.clone()),
                Tok::Int(i) => Static::Int(*i),
                Tok::Float(f) => Static::Float(*f),
                Tok::Duration(d) => Static::Duration(*d),
                Tok::Ident(w) => match keyword_static(w) {
                    Some(s) if s != Static::Nil => s,
                    _ => return Err(self.expected("a hint value")),
                },
                _ => return Err(self.expected("a hint value")),
            };
            self.advance();
            out.push(Hint { name, value });
            if self.peek() == &Tok::Comma {
                self.advance();
                continue;
            }
            self.expect(&Tok::RParen, "',' or ')' in the hint list")?;
            return Ok(());
        }
    }

    fn root(&mut self) -> PResult<RootExpr> {
        let first = self.element(0)?;
        if let element::Item::Metrics(mut metrics) = *first.item {
            self.second_stages(&mut metrics)?;
            return Ok(RootExpr::Metrics(metrics));
        }
        match *self.pipeline_tail(first, false)? {
            pipeline::Tail::Stages(stages, _) => {
                Ok(RootExpr::Spanset(crate::ast::Pipeline { stages }))
            }
            pipeline::Tail::Metrics(metrics, _) => Ok(RootExpr::Metrics(metrics)),
            pipeline::Tail::ScalarPipeline(..) => Err(self.expected("a comparison")),
        }
    }
}
