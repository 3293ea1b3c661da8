//! Metrics functions (`rate()`, `quantile_over_time(...)`, `compare(...)`, with `by (...)`)
//! and second stages (`| topk(n)`, `| bottomk(n)`, `> 10`).

use super::element::Item;
use super::PResult;
use super::Parser;
use crate::ast::{CmpOp, MetricsExpr, MetricsFn, Pipeline, SecondStage};
use crate::lexer::{Op, Tok};

impl Parser<'_> {
    /// `fn(args) [by (...)] second*`; the current token is the function name.
    pub(super) fn metrics_pipeline(
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
                        Op::Eq => CmpOp::Eq,
                        Op::Neq => CmpOp::Neq,
                        Op::Lt => CmpOp::Lt,
                        Op::Lte => CmpOp::Lte,
                        Op::Gt => CmpOp::Gt,
                        _ => CmpOp::Gte,
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
