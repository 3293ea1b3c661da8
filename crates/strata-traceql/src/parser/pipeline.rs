//! Operands of elements, parenthesised groups, pipelines, metrics functions and second
//! stages.
//!
//! Pipelines are flat: a parenthesised pipeline used as a stage (`({ a } | { b }) | { c }`)
//! is spliced into the enclosing one, and a parenthesised single spanset expression is just
//! that expression. A parenthesised pipeline stays nested only as an operand of a spanset
//! operator (`({ a } | count() > 1) && { b }`).

use super::element::{aggregate_item, Item, Node};
use super::Parser;
use crate::ast::{
    Aggregate, AggregateFn, FieldExpr, MetricsExpr, MetricsFn, Pipeline, ScalarExpr,
    SecondStage, SpansetExpr, Stage, Static,
};
use crate::lexer::{Op, Tok};
use super::PResult;

/// What follows the first element of a pipeline.
pub(super) enum Tail {
    Stages(Vec<Stage>, usize),
    Metrics(MetricsExpr, usize),
    /// `( pipeline | aggregate )`: only inside parentheses.
    ScalarPipeline(Pipeline, Aggregate, usize),
}

const METRICS_FUNCTIONS: [&str; 9] = [
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
                Ok(Node::new(Item::Spanset(SpansetExpr::Filter(filter)), height))
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
                return Err(
                    self.expected("a spanset filter '{ ... }', a pipeline stage or '('")
                );
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
    fn identifier_list(&mut self) -> PResult<Vec<FieldExpr>> {
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

    /// `( element )`: the element itself, or a one-stage pipeline for a non-spanset stage.
    fn close_single(&mut self, first: Node) -> PResult<Node> {
        self.advance();
        match *first.item {
            Item::Stage(stage) => {
                let mut stages = Vec::new();
                let at = self.prev_end();
                self.push_stage(&mut stages, Item::Stage(stage), at)?;
                let height = self.grow(first.height, 0, at)?;
                Ok(Node::new(Item::Wrapped(Pipeline { stages }), height))
            }
            item => Ok(Node::new(item, first.height)),
        }
    }

    /// `( element | ...`: the rest of a parenthesised pipeline, including the `)`.
    fn group_pipeline(&mut self, first: Node) -> PResult<Node> {
        if self.peek() != &Tok::Pipe {
            return Err(self.expected("')' or '|'"));
        }
        if let Item::Metrics(mut metrics) = *first.item {
            self.second_stages(&mut metrics)?;
            self.expect_close_paren()?;
            return Ok(Node::new(Item::Metrics(metrics), first.height));
        }
        let tail = self.pipeline_tail(first, true)?;
        self.expect_close_paren()?;
        Ok(close_tail(tail))
    }

    /// The stages after the first element, and possibly a metrics function.
    pub(super) fn pipeline_tail(
        &mut self,
        first: Node,
        in_group: bool,
    ) -> PResult<Box<Tail>> {
        let mut stages = Vec::new();
        let mut height = first.height;
        let at = self.start();
        self.push_stage(&mut stages, *first.item, at)?;
        while self.peek() == &Tok::Pipe {
            self.advance();
            if let Some(tail) = self.metrics_after_pipe(&mut stages, height)? {
                return Ok(tail);
            }
            let node = self.element(0)?;
            height = height.max(node.height);
            if let Some(tail) = self.add_stage(&mut stages, node, in_group, height)? {
                return Ok(tail);
            }
        }
        let height = self.grow(height, 0, self.start())?;
        Ok(Box::new(Tail::Stages(stages, height)))
    }

    /// After `|`: a metrics function ends the pipeline; `topk` there is an error.
    fn metrics_after_pipe(
        &mut self,
        stages: &mut Vec<Stage>,
        height: usize,
    ) -> PResult<Option<Box<Tail>>> {
        let Tok::Ident(word) = self.peek() else {
            return Ok(None);
        };
        let word = word.clone();
        if METRICS_FUNCTIONS.contains(&word.as_str()) {
            let pipeline = Pipeline {
                stages: std::mem::take(stages),
            };
            let (m, h) = self.metrics_pipeline(pipeline, &word)?;
            let height = self.grow(height, h, self.start())?;
            return Ok(Some(Box::new(Tail::Metrics(m, height))));
        }
        if word == "topk" || word == "bottomk" {
            return Err(self.error_at(
                self.start(),
                format!("{word}() must follow a metrics function, as in '{{ }} | rate() | {word}(5)'"),
            ));
        }
        Ok(None)
    }

    /// Adds a parsed stage; inside parentheses a final bare aggregate makes the group a
    /// scalar pipeline.
    fn add_stage(
        &self,
        stages: &mut Vec<Stage>,
        node: Node,
        in_group: bool,
        height: usize,
    ) -> PResult<Option<Box<Tail>>> {
        if in_group && self.peek() == &Tok::RParen {
            if let Item::Agg(ScalarExpr::Aggregate(aggregate)) = *node.item {
                let pipeline = Pipeline {
                    stages: std::mem::take(stages),
                };
                let height = self.grow(height, 0, self.start())?;
                return Ok(Some(Box::new(Tail::ScalarPipeline(
                    pipeline, aggregate, height,
                ))));
            }
        }
        let at = self.start();
        self.push_stage(stages, *node.item, at)?;
        Ok(None)
    }

    /// Appends an element as a stage; `at` is where to report a missing comparison.
    fn push_stage(&self, stages: &mut Vec<Stage>, item: Item, at: usize) -> PResult<()> {
        let found = || self.token_at(at);
        match item {
            Item::Spanset(e) => stages.push(Stage::Spanset(e)),
            Item::Stage(Stage::Coalesce) if stages.is_empty() => {
                return Err(self.error_at(at, "a pipeline cannot start with coalesce()"));
            }
            Item::Stage(s) => stages.push(s),
            Item::Wrapped(p) => stages.extend(p.stages),
            Item::Agg(_) => {
                return Err(self.error_at(
                    at,
                    format!(
                        "expected a comparison after the aggregate (as in count() > 2) but found {}",
                        found()
                    ),
                ));
            }
            Item::PipeAgg(_) => {
                return Err(self.error_at(
                    at,
                    format!(
                        "expected a comparison after the scalar pipeline (as in ({{ }} | count()) > 2) but found {}",
                        found()
                    ),
                ));
            }
            Item::Const(_) => {
                return Err(self.error_at(
                    at,
                    format!(
                        "a number alone is not a pipeline stage; expected a comparison or arithmetic with an aggregate or a metrics query but found {}",
                        found()
                    ),
                ));
            }
            Item::Metrics(_) => {
                return Err(self.error_at(at, "a metrics query cannot be used as a pipeline stage"));
            }
        }
        Ok(())
    }

    fn token_at(&self, offset: usize) -> String {
        self.tokens
            .iter()
            .find(|t| t.start >= offset)
            .map_or_else(|| "end of query".to_string(), |t| t.tok.describe())
    }

    /// `fn(args) [by (...)] second*`; the current token is the function name.
    fn metrics_pipeline(
        &mut self,
        pipeline: Pipeline,
        name: &str,
    ) -> PResult<(MetricsExpr, usize)> {
        let at = self.advance().start;
        self.expect(&Tok::LParen, &format!("'(' after '{name}'"))?;
        let mut height = 0;
        let func = match name {
            "rate" => MetricsFn::Rate,
            "count_over_time" => MetricsFn::CountOverTime,
            "compare" => {
                let (filter, h) = self.spanset_filter()?;
                height = h;
                let mut numbers = Vec::new();
                while self.peek() == &Tok::Comma {
                    self.advance();
                    match self.peek() {
                        Tok::Int(i) => numbers.push(*i),
                        _ => return Err(self.expected("an integer")),
                    }
                    self.advance();
                }
                let (top_n, start, end) = match numbers[..] {
                    [] => (10, 0, 0),
                    [n] => (n, 0, 0),
                    [n, s, e] => (n, s, e),
                    _ => {
                        return Err(self.error_at(
                            at,
                            "compare() takes a filter, then optionally topN, or topN, start and end",
                        ));
                    }
                };
                MetricsFn::Compare {
                    filter,
                    top_n,
                    start,
                    end,
                }
            }
            _ => {
                let attr = self.identifier("an attribute or intrinsic")?;
                match name {
                    "min_over_time" => MetricsFn::MinOverTime(attr),
                    "max_over_time" => MetricsFn::MaxOverTime(attr),
                    "sum_over_time" => MetricsFn::SumOverTime(attr),
                    "avg_over_time" => MetricsFn::AvgOverTime(attr),
                    "histogram_over_time" => MetricsFn::HistogramOverTime(attr),
                    _ => {
                        let mut qs = Vec::new();
                        self.expect(&Tok::Comma, "',' and the quantiles")?;
                        loop {
                            #[allow(clippy::cast_precision_loss)]
                            match self.peek() {
                                Tok::Int(i) => qs.push(*i as f64),
                                Tok::Float(f) => qs.push(*f),
                                _ => return Err(self.expected("a quantile (a number)")),
                            }
                            self.advance();
                            if self.peek() != &Tok::Comma {
                                break;
                            }
                            self.advance();
                        }
                        MetricsFn::QuantileOverTime(attr, qs)
                    }
                }
            }
        };
        self.expect(&Tok::RParen, "')'")?;
        let mut by = Vec::new();
        if self.at_ident("by") && !matches!(func, MetricsFn::Compare { .. }) {
            self.advance();
            self.expect(&Tok::LParen, "'(' after 'by'")?;
            by = self.identifier_list()?;
        }
        let mut metrics = MetricsExpr::Pipeline {
            pipeline,
            func,
            by,
            second: Vec::new(),
        };
        self.second_stages(&mut metrics)?;
        let height = self.grow(height, 0, at)?;
        Ok((metrics, height))
    }

    /// `| topk(n)`, `| bottomk(n)` and `CMP constant`, in any order and number.
    pub(super) fn second_stages(&mut self, m: &mut MetricsExpr) -> PResult<()> {
        loop {
            match *self.peek() {
                Tok::Pipe => {
                    let bar = self.advance().start;
                    let top = match self.peek() {
                        Tok::Ident(w) if w == "topk" => true,
                        Tok::Ident(w) if w == "bottomk" => false,
                        _ => {
                            return Err(self.expected(
                                "topk() or bottomk() after '|' (a metrics query can only be followed by those)",
                            ));
                        }
                    };
                    self.advance();
                    self.expect(&Tok::LParen, "'('")?;
                    let n = match self.peek() {
                        Tok::Int(n) => *n,
                        _ => return Err(self.expected("a non-negative integer")),
                    };
                    self.advance();
                    self.expect(&Tok::RParen, "')'")?;
                    let stage = if top {
                        SecondStage::TopK(n)
                    } else {
                        SecondStage::BottomK(n)
                    };
                    self.push_second(m, stage, bar)?;
                }
                Tok::Op(op @ (Op::Eq | Op::Neq | Op::Lt | Op::Lte | Op::Gt | Op::Gte)) => {
                    let cmp = match op {
                        Op::Eq => crate::ast::CmpOp::Eq,
                        Op::Neq => crate::ast::CmpOp::Neq,
                        Op::Lt => crate::ast::CmpOp::Lt,
                        Op::Lte => crate::ast::CmpOp::Lte,
                        Op::Gt => crate::ast::CmpOp::Gt,
                        _ => crate::ast::CmpOp::Gte,
                    };
                    let at = self.advance().start;
                    let rhs_at = self.start();
                    if !self.starts_operand() {
                        return Err(self.expected(&format!("a number after '{}'", op.text())));
                    }
                    self.enter()?;
                    let rhs = self.element(4)?;
                    self.leave();
                    let Item::Const(c) = *rhs.item else {
                        return Err(self.error_at(
                            rhs_at,
                            "a metrics filter compares with a number, as in '| rate() > 10'",
                        ));
                    };
                    let value = self.metrics_number(&c, true, rhs_at)?;
                    self.push_second(m, SecondStage::Filter { op: cmp, value }, at)?;
                }
                _ => return Ok(()),
            }
        }
    }
}

/// The node for a parenthesised pipeline.
fn close_tail(tail: Box<Tail>) -> Node {
    match *tail {
        Tail::Stages(mut stages, h) => {
            if stages.len() == 1 && matches!(stages.first(), Some(Stage::Spanset(_))) {
                if let Some(Stage::Spanset(e)) = stages.pop() {
                    return Node::new(Item::Spanset(e), h);
                }
            }
            Node::new(Item::Wrapped(Pipeline { stages }), h)
        }
        Tail::Metrics(m, h) => Node::new(Item::Metrics(m), h),
        Tail::ScalarPipeline(pipeline, aggregate, h) => Node::new(
            Item::PipeAgg(ScalarExpr::PipelineAggregate {
                pipeline: Box::new(pipeline),
                aggregate,
            }),
            h,
        ),
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
