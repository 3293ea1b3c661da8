//! Unit tests of the column operators on hand-made values.

use std::sync::Arc;

use arrow_array::{Array, BooleanArray, Float64Array, Int64Array, StringArray};

use super::ops::{arith, compare, neg, regex};
use super::value::{ArrVal, Sv, Ty, Value};
use crate::plan::ir::{Arith, Cmp, Lit};

fn ints(v: Vec<Option<i64>>) -> Value {
    Value::col(Ty::Int, Arc::new(Int64Array::from(v)))
}

fn bools(b: &BooleanArray) -> Vec<bool> {
    (0..b.len()).map(|i| b.is_valid(i) && b.value(i)).collect()
}

/// Rows: int 1, float 2.5, string "x", missing.
fn mixed() -> Value {
    Value::from_slots(
        4,
        vec![
            (
                Ty::Int,
                Arc::new(Int64Array::from(vec![Some(1), None, None, None])),
            ),
            (
                Ty::Float,
                Arc::new(Float64Array::from(vec![None, Some(2.5), None, None])),
            ),
            (
                Ty::Str,
                Arc::new(StringArray::from(vec![None, None, Some("x"), None])),
            ),
        ],
        None,
    )
}

#[test]
fn comparisons_across_types() {
    let v = mixed();
    let cmp = |op, lit: Lit| bools(&compare(op, &v, &Value::lit(&lit, 4)).unwrap());
    assert_eq!(cmp(Cmp::Eq, Lit::Int(1)), [true, false, false, false]);
    assert_eq!(cmp(Cmp::Neq, Lit::Int(1)), [false, true, false, false]);
    assert_eq!(cmp(Cmp::Gt, Lit::Float(0.5)), [true, true, false, false]);
    assert_eq!(cmp(Cmp::Lt, Lit::Dur(2)), [true, false, false, false]);
    assert_eq!(
        cmp(Cmp::Eq, Lit::Str("x".into())),
        [false, false, true, false]
    );
    assert_eq!(cmp(Cmp::Eq, Lit::Bool(true)), [false; 4]);
    assert_eq!(cmp(Cmp::Neq, Lit::Nil), [false; 4]);
    // Two literals.
    let two = compare(
        Cmp::Lt,
        &Value::lit(&Lit::Int(1), 3),
        &Value::lit(&Lit::Float(1.5), 3),
    );
    assert_eq!(bools(&two.unwrap()), [true; 3]);
    let kinds = compare(
        Cmp::Lt,
        &Value::lit(&Lit::Kind(1), 2),
        &Value::lit(&Lit::Kind(2), 2),
    );
    assert_eq!(bools(&kinds.unwrap()), [false; 2]);
}

#[test]
fn arrays_any_and_all() {
    // Row 0: [1, 5]; row 1: []; row 2: not an array.
    let arr = ArrVal {
        offsets: vec![0, 2, 2, 2],
        present: vec![true, true, false],
        elems: ints(vec![Some(1), Some(5)]),
    };
    let v = Value {
        len: 3,
        scalar: false,
        slots: vec![],
        arr: Some(Arc::new(arr)),
    };
    let lit = |i| Value::lit(&Lit::Int(i), 3);
    assert_eq!(
        bools(&compare(Cmp::Eq, &v, &lit(5)).unwrap()),
        [true, false, false]
    );
    assert_eq!(
        bools(&compare(Cmp::Neq, &v, &lit(5)).unwrap()),
        [false, true, false]
    );
    assert_eq!(
        bools(&compare(Cmp::Neq, &v, &lit(7)).unwrap()),
        [true, true, false]
    );
    assert_eq!(
        bools(&compare(Cmp::Lt, &lit(3), &v).unwrap()),
        [true, false, false]
    );
    assert_eq!(
        v.get(0).unwrap(),
        Some(Sv::Array(vec![Sv::Int(1), Sv::Int(5)]))
    );
    assert_eq!(v.get(1).unwrap(), Some(Sv::Array(vec![])));
    assert_eq!(v.get(2).unwrap(), None);
    assert_eq!(bools(&v.exists()), [true, true, false]);
}

#[test]
fn arithmetic_types() {
    let v = mixed();
    let sum = arith(Arith::Add, &v, &Value::lit(&Lit::Int(1), 4)).unwrap();
    assert_eq!(sum.get(0).unwrap(), Some(Sv::Int(2)));
    assert_eq!(sum.get(1).unwrap(), Some(Sv::Float(3.5)));
    assert_eq!(sum.get(2).unwrap(), None);
    let d = arith(
        Arith::Mul,
        &Value::lit(&Lit::Dur(10), 2),
        &Value::lit(&Lit::Int(2), 2),
    )
    .unwrap();
    assert!(d.scalar);
    assert_eq!(d.get(1).unwrap(), Some(Sv::Float(20.0)));
    let z = arith(
        Arith::Div,
        &ints(vec![Some(4), Some(5)]),
        &ints(vec![Some(2), Some(0)]),
    )
    .unwrap();
    assert_eq!(z.get(0).unwrap(), Some(Sv::Int(2)));
    assert_eq!(z.get(1).unwrap(), None);
    let p = arith(
        Arith::Pow,
        &Value::lit(&Lit::Int(2), 1),
        &Value::lit(&Lit::Int(10), 1),
    )
    .unwrap();
    assert_eq!(p.get(0).unwrap(), Some(Sv::Int(1024)));
    let n = neg(&v).unwrap();
    assert_eq!(n.get(0).unwrap(), Some(Sv::Int(-1)));
    assert_eq!(n.get(1).unwrap(), Some(Sv::Float(-2.5)));
    assert_eq!(n.get(2).unwrap(), None);
}

#[test]
fn regex_only_matches_strings() {
    let re = regex::Regex::new("^(?s:x|y)$").unwrap();
    assert_eq!(
        bools(&regex(&mixed(), &re, false).unwrap()),
        [false, false, true, false]
    );
    assert_eq!(bools(&regex(&mixed(), &re, true).unwrap()), [false; 4]);
    let lit = Value::lit(&Lit::Str("y".into()), 2);
    assert_eq!(bools(&regex(&lit, &re, false).unwrap()), [true, true]);
}

#[test]
fn take_and_concat_keep_types() {
    let v = mixed();
    let both = v.concat(&ints(vec![Some(9)])).unwrap();
    assert_eq!(both.len, 5);
    assert_eq!(both.get(4).unwrap(), Some(Sv::Int(9)));
    assert_eq!(both.get(2).unwrap(), Some(Sv::Str("x")));
    let idx = arrow_array::UInt32Array::from(vec![Some(4), None, Some(1)]);
    let t = both.take(&idx).unwrap();
    assert_eq!(t.get(0).unwrap(), Some(Sv::Int(9)));
    assert_eq!(t.get(1).unwrap(), None);
    assert_eq!(t.get(2).unwrap(), Some(Sv::Float(2.5)));
}
