//! Operands of elements: filters, parenthesised groups, numbers, aggregates, `by()`,
//! `select()` and `coalesce()`.

use super::element::{aggregate_item, Item, Node};
use super::PResult;
use super::Parser;
use crate::ast::{Aggregate, AggregateFn, FieldExpr, SpansetExpr, Stage, Static};
use crate::lexer::{Op, Tok};

pub(super) const METRICS_FUNCTIONS: [&str; 9] = [
    "rate",
    "count_over_time",
    "min_over_time",
    "max_over_time",
    "sum_over_time",
    "avg_over_time",
    "quantile_over_time",
    "histogram_over_time",
    "compare",
];

fn aggregate_fn(word: &str) -> Option<AggregateFn> {
    Some(match word {
        "count" => AggregateFn::Count,
        "avg" => AggregateFn::Avg,
        "min" => AggregateFn::Min,
        "max" => AggregateFn::Max,
        "sum" => AggregateFn::Sum,
        _ => return None,
    })
}

impl Parser<'_> {
    /// One operand of an element.
    pub(super) fn operand(&mut self) -> PResult<Node> {
        match self.peek() {
            Tok::LParen => self.paren_operand(),
            Tok::Op(Op::Sub) => self.negated_operand(),
            _ => self.simple_operand(),
        }
    }

    fn paren_operand(&mut self) -> PResult<Node> {
        self.advance();
        self.enter()?;
        let first = self.element(0)?;
        let node = if self.peek() == &Tok::RParen {
            self.close_single(first)?
        } else {
            self.group_pipeline(first)?
        };
        self.leave();
        Ok(node)
    }

    /// `-` before a constant (`-5`, `-(1 + 2)`).
    fn negated_operand(&mut self) -> PResult<Node> {
        let start = self.advance().start;
        self.enter()?;
        let node = self.operand()?;
        self.leave();
        match *node.item {
            Item::Const(c) => match super::field::negate(&c) {
                Some(n) => Ok(Node::new(Item::Const(n), 0)),
                None => Err(self.error_at(start, "integer overflow in a constant")),
            },
            other => Err(self.error_at(
                start,
                format!("'-' can only negate a number, not {}", item_name(&other)),
            )),
        }
    }

    fn simple_operand(&mut self) -> PResult<Node> {
        let start = self.start();
        let leaf = |item| Ok(Node::new(item, 0));
        match self.peek().clone() {
            Tok::LBrace => {
                let (filter, height) = self.spanset_filter()?;
                Ok(Node::new(
                    Item::Spanset(SpansetExpr::Filter(filter)),
                    height,
                ))
            }
            Tok::Int(i) => {
                self.advance();
                leaf(Item::Const(Static::Int(i)))
            }
            Tok::Float(f) => {
                self.advance();
                leaf(Item::Const(Static::Float(f)))
            }
            Tok::Duration(d) => {
                self.advance();
                leaf(Item::Const(Static::Duration(d)))
            }
            Tok::Ident(word) => self.word_operand(&word, start),
            _ => Err(self.expected("a spanset filter '{ ... }', a pipeline stage or '('")),
        }
    }

    fn word_operand(&mut self, word: &str, start: usize) -> PResult<Node> {
        if let Some(func) = aggregate_fn(word) {
            let (aggregate, height) = self.aggregate(func)?;
            return Ok(Node::new(aggregate_item(aggregate), height));
        }
        let stage = match word {
            "minInt" => Item::Const(Static::Int(i64::MIN)),
            "maxInt" => Item::Const(Static::Int(i64::MAX)),
            "by" => {
                self.advance();
                self.expect(&Tok::LParen, "'(' after 'by'")?;
                let (expr, height) = self.field_expr()?;
                self.expect(&Tok::RParen, "')'")?;
                let height = self.grow(height, 0, start)?;
                return Ok(Node::new(Item::Stage(Stage::By(expr)), height));
            }
            "select" => {
                self.advance();
                self.expect(&Tok::LParen, "'(' after 'select'")?;
                let list = self.identifier_list()?;
                return Ok(Node::new(Item::Stage(Stage::Select(list)), 1));
            }
            "coalesce" => {
                self.advance();
                self.expect(&Tok::LParen, "'(' after 'coalesce'")?;
                self.expect(&Tok::RParen, "')' (coalesce takes no arguments)")?;
                return Ok(Node::new(Item::Stage(Stage::Coalesce), 0));
            }
            w if METRICS_FUNCTIONS.contains(&w) => {
                return Err(self.error_at(
                    start,
                    format!("{w}() must follow a spanset pipeline, as in '{{ }} | {w}()'"),
                ));
            }
            "topk" | "bottomk" => {
                return Err(self.error_at(
                    start,
                    format!("{word}() must follow a metrics function, as in '{{ }} | rate() | {word}(5)'"),
                ));
            }
            _ => {
                return Err(self.expected("a spanset filter '{ ... }', a pipeline stage or '('"));
            }
        };
        self.advance();
        Ok(Node::new(stage, 0))
    }

    /// `count()`, `avg(expr)`, ...; the current token is the function name.
    fn aggregate(&mut self, func: AggregateFn) -> PResult<(Aggregate, usize)> {
        let name = self.advance();
        self.expect(&Tok::LParen, &format!("'(' after '{func}'"))?;
        if func == AggregateFn::Count {
            self.expect(&Tok::RParen, "')' (count takes no arguments)")?;
            return Ok((Aggregate { func, arg: None }, 1));
        }
        if self.peek() == &Tok::RParen {
            return Err(self.error_at(
                self.start(),
                format!("{func}() needs an argument, as in {func}(duration)"),
            ));
        }
        let (arg, height) = self.field_expr()?;
        self.expect(&Tok::RParen, "')'")?;
        let height = self.grow(height, 0, name.start)?;
        Ok((
            Aggregate {
                func,
                arg: Some(arg),
            },
            height,
        ))
    }

    /// `a, b, c)`: attributes and intrinsics, at least one; consumes the `)`.
    pub(super) fn identifier_list(&mut self) -> PResult<Vec<FieldExpr>> {
        let mut list = Vec::new();
        loop {
            list.push(self.identifier("an attribute or intrinsic")?);
            match self.peek() {
                Tok::Comma => {
                    self.advance();
                }
                Tok::RParen => {
                    self.advance();
                    return Ok(list);
                }
                _ => return Err(self.expected("',' or ')'")),
            }
        }
    }
}

fn item_name(item: &Item) -> &'static str {
    match item {
        Item::Spanset(_) | Item::Wrapped(_) => "a spanset",
        Item::Stage(_) => "a pipeline stage",
        Item::Agg(_) => "an aggregate",
        Item::PipeAgg(_) => "a scalar pipeline",
        Item::Const(_) => "a number",
        Item::Metrics(_) => "a metrics query",
    }
}
