//! Pipelines: parenthesised groups, stages after `|`, and where a metrics function or a
//! scalar pipeline (`( ... | count())`) ends them.
//!
//! Pipelines are flat: a parenthesised pipeline used as a stage (`({ a } | { b }) | { c }`)
//! is spliced into the enclosing one, and a parenthesised single spanset expression is just
//! that expression. A parenthesised pipeline stays nested only as an operand of a spanset
//! operator (`({ a } | count() > 1) && { b }`).

use super::element::{Item, Node};
use super::operand::METRICS_FUNCTIONS;
use super::PResult;
use super::Parser;
use crate::ast::{Aggregate, MetricsExpr, Pipeline, ScalarExpr, Stage};
use crate::lexer::Tok;

/// What follows the first element of a pipeline.
pub(super) enum Tail {
    Stages(Vec<Stage>, usize),
    Metrics(MetricsExpr, usize),
    /// `( pipeline | aggregate )`: only inside parentheses.
    ScalarPipeline(Pipeline, Aggregate, usize),
}

impl Parser<'_> {
    /// `( element )`: the element itself, or a one-stage pipeline for a non-spanset stage.
    pub(super) fn close_single(&mut self, first: Node) -> PResult<Node> {
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
    pub(super) fn group_pipeline(&mut self, first: Node) -> PResult<Node> {
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
        Ok(close_tail(*tail))
    }

    /// The stages after the first element, and possibly a metrics function.
    pub(super) fn pipeline_tail(&mut self, first: Node, in_group: bool) -> PResult<Box<Tail>> {
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
                format!(
                    "{word}() must follow a metrics function, as in '{{ }} | rate() | {word}(5)'"
                ),
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
}

/// The node for a parenthesised pipeline.
fn close_tail(tail: Tail) -> Node {
    match tail {
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
