//! Helpers shared by the integration tests.
#![allow(dead_code)]

use strata_traceql::*;

/// Parses `text`, prints it, parses the printed text again and checks both parses agree
/// (positions aside). Returns a description of the problem, if any.
pub fn round_trip_problem(text: &str) -> Option<String> {
    let mut first = match parse(text) {
        Ok(q) => q,
        Err(e) => return Some(format!("does not parse: {e}")),
    };
    let printed = first.to_string();
    let mut second = match parse(&printed) {
        Ok(q) => q,
        Err(e) => return Some(format!("printed as {printed:?}, which does not parse: {e}")),
    };
    first.clear_positions();
    second.clear_positions();
    if first != second {
        return Some(format!(
            "printed as {printed:?}, which parses differently:\n  {first:?}\n  {second:?}"
        ));
    }
    None
}

/// `q` with positions cleared.
pub fn normalized(mut q: Query) -> Query {
    q.clear_positions();
    q
}

/// Lines of a corpus file: trimmed, without blank lines and `#` comments.
pub fn corpus_lines(text: &str) -> Vec<&str> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect()
}

// ---- AST builders for shape tests ----

pub fn parse_ok(text: &str) -> Query {
    match parse(text) {
        Ok(q) => normalized(q),
        Err(e) => panic!("{text:?}: {e}"),
    }
}

/// The expression inside the single spanset filter of `text`.
pub fn filter_expr(text: &str) -> FieldExpr {
    match parse_ok(text).root {
        RootExpr::Spanset(p) => match p.stages.as_slice() {
            [Stage::Spanset(SpansetExpr::Filter(SpansetFilter { expr: Some(e), .. }))] => e.clone(),
            other => panic!("{text:?}: not a single filter: {other:?}"),
        },
        other => panic!("{text:?}: {other:?}"),
    }
}

pub fn stages(text: &str) -> Vec<Stage> {
    match parse_ok(text).root {
        RootExpr::Spanset(p) => p.stages,
        other => panic!("{text:?}: {other:?}"),
    }
}

pub fn metrics(text: &str) -> MetricsExpr {
    match parse_ok(text).root {
        RootExpr::Metrics(m) => m,
        other => panic!("{text:?}: {other:?}"),
    }
}

pub fn attr(scope: AttributeScope, name: &str) -> FieldExpr {
    FieldExpr::Attribute(Attribute {
        scope,
        parent: false,
        name: name.to_string(),
    })
}

pub fn dot(name: &str) -> FieldExpr {
    attr(AttributeScope::None, name)
}

pub fn int(i: i64) -> FieldExpr {
    FieldExpr::Static(Static::Int(i))
}

pub fn bin(op: BinaryOp, lhs: FieldExpr, rhs: FieldExpr) -> FieldExpr {
    FieldExpr::Binary {
        op,
        lhs: Box::new(lhs),
        rhs: Box::new(rhs),
    }
}

pub fn un(op: UnaryOp, e: FieldExpr) -> FieldExpr {
    FieldExpr::Unary {
        op,
        expr: Box::new(e),
    }
}

pub fn filter(e: Option<FieldExpr>) -> SpansetExpr {
    SpansetExpr::Filter(SpansetFilter {
        expr: e,
        pos: Pos::default(),
    })
}

// ---- deterministic randomness ----

/// xorshift64*: small, deterministic, good enough for test inputs.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    pub fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}
