//! Spanset operators: `&&`, `||`, structural, negated and union forms.

mod common;

use common::*;

/// Trace 1: root > (s1 > s11, s12), (s2 > s21 > s211). Trace 2: r2 > c2.
/// Trace 3: r3, and o (parent missing) > oc. `lvl` is the depth.
fn data() -> arrow_array::RecordBatch {
    batch(&[
        sp(1, 1, 0, "root", 0, 100).attr("lvl", i(0)),
        sp(1, 2, 1, "s1", 1, 50).attr("lvl", i(1)),
        sp(1, 3, 2, "s11", 2, 10).attr("lvl", i(2)),
        sp(1, 4, 2, "s12", 3, 10).attr("lvl", i(2)),
        sp(1, 5, 1, "s2", 4, 90).attr("lvl", i(1)),
        sp(1, 6, 5, "s21", 5, 80).attr("lvl", i(2)),
        sp(1, 7, 6, "s211", 6, 70).attr("lvl", i(3)),
        sp(2, 1, 0, "r2", 0, 100).attr("lvl", i(0)),
        sp(2, 2, 1, "c2", 1, 50).attr("lvl", i(1)),
        sp(3, 1, 0, "r3", 0, 100),
        sp(3, 2, 9, "o", 1, 50),
        sp(3, 3, 2, "oc", 2, 40),
    ])
}

fn check(q: &str, want: &[&str]) {
    let mut want = want.to_vec();
    want.sort();
    assert_eq!(names(&data(), q), strs(&want), "{q}");
}

const T2: [&str; 2] = ["r2", "c2"];
const T3: [&str; 3] = ["r3", "o", "oc"];

#[test]
fn and_or() {
    assert_eq!(
        traces(&data(), r#"{ name = "s11" } && { name = "r2" }"#),
        Vec::<u8>::new()
    );
    assert_eq!(
        sets(&data(), r#"{ name = "s211" } && { name = "s11" }"#),
        vec![(1, vec![strs(&["s11", "s211"])])]
    );
    assert_eq!(
        sets(&data(), r#"{ name = "s11" } || { name = "r2" }"#),
        vec![(1, vec![strs(&["s11"])]), (2, vec![strs(&["r2"])])]
    );
    // Overlapping operands: each span once.
    assert_eq!(
        sets(&data(), r#"{ .lvl = 2 } || { name = "s11" }"#),
        vec![(1, vec![strs(&["s11", "s12", "s21"])])]
    );
}

#[test]
fn child_and_parent() {
    check("{ .lvl = 0 } > { .lvl = 1 }", &["s1", "s2", "c2"]);
    check("{ .lvl = 1 } > { }", &["s11", "s12", "s21"]);
    check("{ .lvl = 2 } < { }", &["s1", "s2"]);
    check(r#"{ name = "s11" } < { .lvl = 0 }"#, &[]);
    check("{ .lvl = 3 } > { }", &[]);
}

#[test]
fn descendant_and_ancestor() {
    check("{ .lvl = 0 } >> { .lvl = 3 }", &["s211"]);
    check(r#"{ name = "s2" } >> { }"#, &["s21", "s211"]);
    check(r#"{ name = "s211" } << { }"#, &["s21", "s2", "root"]);
    check(r#"{ name = "s11" } << { .lvl = 0 }"#, &["root"]);
    check(
        "{ } >> { }",
        &["s1", "s11", "s12", "s2", "s21", "s211", "c2"],
    );
}

#[test]
fn sibling() {
    check(r#"{ name = "s11" } ~ { }"#, &["s12"]);
    check("{ .lvl = 1 } ~ { .lvl = 1 }", &["s1", "s2"]);
    check("{ .lvl = 2 } ~ { .lvl = 2 }", &["s11", "s12"]);
    check(r#"{ name = "s21" } ~ { }"#, &[]);
}

#[test]
fn negated_forms() {
    check(r#"{ name = "s1" } !> { .lvl = 2 }"#, &["s21"]);
    // An empty left side keeps the whole right side (trace 2's c2).
    check(r#"{ name = "s1" } !< { .lvl = 1 }"#, &["s1", "s2", "c2"]);
    let mut not_under_s1 = vec!["root", "s1", "s2", "s21", "s211"];
    not_under_s1.extend(T2);
    not_under_s1.extend(T3);
    check(r#"{ name = "s1" } !>> { }"#, &not_under_s1);
    let mut not_above_s11 = vec!["s11", "s12", "s2", "s21", "s211"];
    not_above_s11.extend(T2);
    not_above_s11.extend(T3);
    check(r#"{ name = "s11" } !<< { }"#, &not_above_s11);
    check(r#"{ name = "s11" } !~ { .lvl = 2 }"#, &["s11", "s21"]);
    // An empty right side returns nothing.
    check(r#"{ } !> { name = "nope" }"#, &[]);
}

#[test]
fn union_forms() {
    check(
        "{ .lvl = 0 } &> { .lvl = 1 }",
        &["root", "s1", "s2", "r2", "c2"],
    );
    check(r#"{ name = "s11" } &< { }"#, &["s1", "s11"]);
    check(r#"{ name = "root" } &>> { .lvl = 3 }"#, &["root", "s211"]);
    check(r#"{ name = "s211" } &<< { .lvl = 1 }"#, &["s2", "s211"]);
    check(r#"{ name = "s11" } &~ { .lvl = 2 }"#, &["s11", "s12"]);
    check(r#"{ name = "s11" } &~ { name = "s21" }"#, &[]);
}

#[test]
fn spans_outside_the_tree_have_no_relations() {
    check(r#"{ } > { name = "oc" }"#, &[]);
    check(r#"{ name = "o" } >> { }"#, &[]);
    check(r#"{ } !> { name = "oc" }"#, &["oc"]);
    check(r#"{ name = "o" } ~ { }"#, &[]);
}

#[test]
fn nested_pipelines_as_operands() {
    check("({ .lvl = 2 } | count() > 1) > { }", &["s211"]);
    check("({ .lvl = 2 } | count() > 5) > { }", &[]);
    check(
        "{ .lvl = 0 } > ({ .lvl = 1 } | coalesce())",
        &["s1", "s2", "c2"],
    );
    check(
        "({ .lvl = 0 } > { .lvl = 1 }) > { }",
        &["s11", "s12", "s21"],
    );
    check(
        r#"{ .lvl = 0 } >> ({ .lvl = 2 } && { name = "s211" })"#,
        &["s11", "s12", "s21", "s211"],
    );
}

#[test]
fn several_spansets_in_a_structural_operand_is_an_error() {
    let q = "({ } | by(.lvl)) > { }";
    let err = plan(q).evaluate(&data(), 3).unwrap_err();
    assert!(err.to_string().contains("coalesce"), "{err}");
    // With coalesce() it runs.
    check("({ } | by(.lvl) | coalesce()) > { .lvl = 3 }", &["s211"]);
}
