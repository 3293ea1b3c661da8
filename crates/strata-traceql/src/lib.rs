//! TraceQL: lexer, parser, AST and validation. No storage dependency.
//!
//! ```
//! let query = strata_traceql::parse(r#"{ span.http.method = "GET" } | count() > 2"#)?;
//! strata_traceql::validate(&query)?;
//! assert_eq!(query.to_string(), r#"{ span.http.method = "GET" } | count() > 2"#);
//! # Ok::<(), strata_traceql::QueryError>(())
//! ```
//!
//! [`parse`] checks syntax only; [`validate`] checks types and refuses what is not supported
//! ([`ValidateError::Unsupported`]). [`parse_and_validate`] does both. Every AST node prints
//! as canonical TraceQL (`Display`) that parses back to an equal AST, positions aside.
//!
//! Module map: `lexer` (tokens), `duration` (duration literals), `parser` (recursive descent,
//! see its docs for the grammar), `validate` (types), `display` (printing), `names`
//! (spellings of intrinsics and keywords).

pub mod ast;
mod display;
mod duration;
mod error;
mod lexer;
mod names;
mod parser;
mod validate;

pub use ast::*;
pub use error::{ParseError, QueryError, ValidateError};
pub use validate::validate;

/// Largest query text accepted, in bytes (Tempo's `max_query_expression_size_bytes` default).
pub const MAX_QUERY_BYTES: usize = 128 * 1024;

/// Deepest nesting of parentheses, braces and prefix operators the parser accepts.
pub const MAX_NESTING: usize = 256;

/// Greatest height of a parsed expression tree (a chain `a || b || c ...` adds one level per
/// operator). Keeps recursive evaluation, printing and dropping of the AST within the stack.
pub const MAX_EXPR_DEPTH: usize = 512;

/// Parses a TraceQL query (syntax only).
///
/// Fails on text longer than [`MAX_QUERY_BYTES`] and on nesting deeper than [`MAX_NESTING`]
/// or [`MAX_EXPR_DEPTH`]. Never panics.
pub fn parse(text: &str) -> Result<Query, ParseError> {
    parser::parse_query(text)
}

/// [`parse`], then [`validate`].
pub fn parse_and_validate(text: &str) -> Result<Query, QueryError> {
    let query = parse(text)?;
    validate(&query)?;
    Ok(query)
}

/// Parses a single attribute or intrinsic, as used by `/api/v2/search/tag/{name}/values`:
/// `resource.service.name`, `.foo`, `span."a b"`, `name`, `status`, `span:id`, `event:name`.
/// Returns [`FieldExpr::Attribute`] or [`FieldExpr::Intrinsic`]; anything else is an error.
pub fn parse_identifier(text: &str) -> Result<FieldExpr, ParseError> {
    parser::parse_identifier(text)
}

impl Query {
    /// Sets every [`Pos`] in the query to the default, so that queries parsed from different
    /// spellings of the same text compare equal.
    pub fn clear_positions(&mut self) {
        match &mut self.root {
            RootExpr::Spanset(p) => clear_pipeline(p),
            RootExpr::Metrics(m) => clear_metrics(m),
        }
    }
}

fn clear_pipeline(p: &mut Pipeline) {
    for stage in &mut p.stages {
        match stage {
            Stage::Spanset(e) => clear_spanset(e),
            Stage::ScalarFilter(f) => {
                clear_scalar(&mut f.lhs);
                clear_scalar(&mut f.rhs);
            }
            Stage::By(_) | Stage::Select(_) | Stage::Coalesce => {}
        }
    }
}

fn clear_spanset(e: &mut SpansetExpr) {
    match e {
        SpansetExpr::Filter(f) => f.pos = Pos::default(),
        SpansetExpr::Op { lhs, rhs, .. } => {
            clear_spanset(lhs);
            clear_spanset(rhs);
        }
        SpansetExpr::Pipeline(p) => clear_pipeline(p),
    }
}

fn clear_scalar(e: &mut ScalarExpr) {
    match e {
        ScalarExpr::PipelineAggregate { pipeline, .. } => clear_pipeline(pipeline),
        ScalarExpr::Binary { lhs, rhs, .. } => {
            clear_scalar(lhs);
            clear_scalar(rhs);
        }
        ScalarExpr::Static(_) | ScalarExpr::Aggregate(_) => {}
    }
}

fn clear_metrics(m: &mut MetricsExpr) {
    match m {
        MetricsExpr::Pipeline { pipeline, func, .. } => {
            clear_pipeline(pipeline);
            if let MetricsFn::Compare { filter, .. } = func {
                filter.pos = Pos::default();
            }
        }
        MetricsExpr::Binary { lhs, rhs, .. } => {
            clear_metrics(lhs);
            clear_metrics(rhs);
        }
        MetricsExpr::Scalar(_) => {}
    }
}
