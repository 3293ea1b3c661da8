//! Arithmetic between two sets of final series (Tempo's `applyBinaryOp`).
//!
//! * Series match by their labels, `__name__` aside. When one side has an unlabelled series
//!   (an ungrouped query such as `{ } | rate()`), it applies to every series of the other side.
//!   The result has a series per series of the right side (of the left side when the right
//!   side has an unlabelled series) that finds a match on both sides.
//! * Labels: the left side's, then the right side's not already present; `__name__` becomes
//!   `(left op right)` when both sides have one, and is dropped otherwise.
//! * Values: sample by sample; `/` by 0, `%` and `^` give no sample (as Tempo, which only
//!   defines `+ - * /`). Exemplars: both sides' when both or neither fan out, else those of
//!   the side that does not.

use std::collections::HashMap;

use strata_proto::otlp::common::{any_value, AnyValue, KeyValue};
use strata_traceql::ArithOp;

use super::finish::{label_text, Out};

const NAME: &str = "__name__";

pub(crate) fn apply(op: ArithOp, a: f64, b: f64) -> f64 {
    match op {
        ArithOp::Add => a + b,
        ArithOp::Sub => a - b,
        ArithOp::Mul => a * b,
        ArithOp::Div if b != 0.0 => a / b,
        _ => f64::NAN,
    }
}

fn key(o: &Out) -> String {
    let labels: Vec<KeyValue> = o.labels.iter().filter(|l| l.key != NAME).cloned().collect();
    label_text(&labels)
}

fn name(o: &Out) -> Option<&str> {
    let l = o.labels.iter().find(|l| l.key == NAME)?;
    match l.value.as_ref()?.value.as_ref()? {
        any_value::Value::StringValue(s) => Some(s),
        _ => None,
    }
}

fn op_text(op: ArithOp) -> &'static str {
    match op {
        ArithOp::Add => "+",
        ArithOp::Sub => "-",
        ArithOp::Mul => "*",
        ArithOp::Div => "/",
        ArithOp::Mod => "%",
        ArithOp::Pow => "^",
    }
}

fn merged_labels(op: ArithOp, l: &Out, r: &Out) -> Vec<KeyValue> {
    let mut out = l.labels.clone();
    for kv in &r.labels {
        if kv.key != NAME && !out.iter().any(|o| o.key == kv.key) {
            out.push(kv.clone());
        }
    }
    match (name(l), name(r)) {
        (Some(a), Some(b)) => {
            let combined = format!("({a} {} {b})", op_text(op));
            if let Some(n) = out.iter_mut().find(|kv| kv.key == NAME) {
                n.value = Some(AnyValue {
                    value: Some(any_value::Value::StringValue(combined)),
                });
            }
        }
        _ => out.retain(|kv| kv.key != NAME),
    }
    out
}

/// `lhs op rhs` (see the module docs).
pub(crate) fn binary(op: ArithOp, lhs: Vec<Out>, rhs: Vec<Out>) -> Vec<Out> {
    let index = |side: &[Out]| -> HashMap<String, usize> {
        side.iter().enumerate().map(|(i, o)| (key(o), i)).collect()
    };
    let (li, ri) = (index(&lhs), index(&rhs));
    let empty = String::new();
    let target_is_left = ri.contains_key(&empty);
    let targets: Vec<String> = if target_is_left {
        lhs.iter().map(key).collect()
    } else {
        rhs.iter().map(key).collect()
    };
    let find = |idx: &HashMap<String, usize>, k: &str| -> Option<(usize, bool)> {
        idx.get(k)
            .map(|&i| (i, false))
            .or_else(|| idx.get("").map(|&i| (i, true)))
    };
    let mut out = Vec::new();
    for k in targets {
        let (Some((l, lfan)), Some((r, rfan))) = (find(&li, &k), find(&ri, &k)) else {
            continue;
        };
        let (l, r) = (&lhs[l], &rhs[r]);
        let n = l.values.len().min(r.values.len());
        let values = (0..n)
            .map(|j| apply(op, l.values[j], r.values[j]))
            .collect();
        let exemplars = match (lfan, rfan) {
            (true, false) => r.exemplars.clone(),
            (false, true) => l.exemplars.clone(),
            _ => l.exemplars.iter().chain(&r.exemplars).cloned().collect(),
        };
        out.push(Out {
            labels: merged_labels(op, l, r),
            values,
            exemplars,
        });
    }
    out
}
