//! Attribute scopes, comparison operators, types, arrays, nil checks and arithmetic.

mod common;

use common::*;

fn data() -> arrow_array::RecordBatch {
    batch(&[
        sp(1, 1, 0, "a", 0, 100)
            .attr("http.method", s("GET"))
            .attr("code", i(200))
            .attr("ratio", f(0.5))
            .attr("flag", b(true))
            .attr("tags", arr(vec![s("x"), s("y")]))
            .attr("nums", arr(vec![i(1), i(2), i(3)]))
            .attr("fl", arr(vec![f(1.5), f(2.5)]))
            .attr("dup", s("span"))
            .res("dup", s("res"))
            .res("region", s("eu"))
            .res("only_res", i(1)),
        sp(1, 2, 1, "b", 10, 60)
            .attr("http.method", s("POST"))
            .attr("code", i(500))
            .attr("ratio", i(2))
            .attr("flag", b(false))
            .attr("nums", arr(vec![]))
            .res("region", s("us"))
            .scope("lib", "1", vec![kv("lib", s("x"))]),
        sp(1, 3, 1, "c", 20, 40)
            .attr("code", s("200"))
            .event("e1", 25, vec![kv("k", i(1))])
            .event("e2", 30, vec![kv("k", i(2)), kv("msg", s("boom"))])
            .link(5, 5, vec![kv("ref", s("follows"))]),
        sp(1, 4, 1, "d", 30, 5030).attr("dur_attr", i(1000)),
    ])
}

fn check(q: &str, want: &[&str]) {
    assert_eq!(names(&data(), q), strs(want), "{q}");
}

const ALL: [&str; 4] = ["a", "b", "c", "d"];

#[test]
fn scopes() {
    check(r#"{ span.http.method = "GET" }"#, &["a"]);
    check(r#"{ resource.http.method = "GET" }"#, &[]);
    check(r#"{ resource.region = "eu" }"#, &["a"]);
    check(r#"{ .region = "us" }"#, &["b"]);
    // Unscoped: the span's attribute wins when it has the key.
    check(r#"{ .dup = "span" }"#, &["a"]);
    check(r#"{ .dup = "res" }"#, &[]);
    check(r#"{ resource.dup = "res" }"#, &["a"]);
    check("{ .only_res = 1 }", &["a"]);
    check("{ span.only_res = 1 }", &[]);
    check(r#"{ instrumentation.lib = "x" }"#, &["b"]);
    check(r#"{ span.lib = "x" }"#, &[]);
    check(r#"{ resource.service.name = "svc" }"#, &ALL);
}

#[test]
fn event_and_link_scopes() {
    check("{ event.k = 2 }", &["c"]);
    check("{ event.k > 5 }", &[]);
    // Each condition is satisfied by some event (not necessarily the same one).
    check(r#"{ event.k = 1 && event.msg = "boom" }"#, &["c"]);
    check("{ event.msg != nil }", &["c"]);
    check("{ event.msg = nil }", &["a", "b", "d"]);
    check(r#"{ event.k = 1 && event:name = "e1" }"#, &["c"]);
    check(r#"{ link.ref = "follows" }"#, &["c"]);
    check(r#"{ link.ref = "follows" && event.k = 2 }"#, &["c"]);
    check(r#"{ link.ref = "other" || event.k = 2 }"#, &["c"]);
    // Span fields combine with event fields per event.
    check(r#"{ event.k = 2 && name = "c" }"#, &["c"]);
    check("{ event:timeSinceStart + 5ns = 10ns }", &["c"]);
}

#[test]
fn comparison_operators() {
    check("{ .code = 200 }", &["a"]);
    // Type mismatches (the string "200" on c) and missing values are false, `!=` too.
    check("{ .code != 200 }", &["b"]);
    check("{ .code < 500 }", &["a"]);
    check("{ .code <= 500 }", &["a", "b"]);
    check("{ .code > 200 }", &["b"]);
    check("{ .code >= 200 }", &["a", "b"]);
    check(r#"{ .code = "200" }"#, &["c"]);
    check(r#"{ .http.method < "H" }"#, &["a"]);
    check(r#"{ .http.method >= "POST" }"#, &["b"]);
    check("{ 500 <= .code }", &["b"]);
}

#[test]
fn regex() {
    check(r#"{ .http.method =~ "G.*" }"#, &["a"]);
    // Anchored at both ends.
    check(r#"{ .http.method =~ "ET" }"#, &[]);
    check(r#"{ .http.method =~ "(?i)get|post" }"#, &["a", "b"]);
    check(r#"{ .http.method !~ "G.*" }"#, &["b"]);
    // Only strings match: an int never does, for =~ or !~.
    check(r#"{ .code =~ "2.*" }"#, &["c"]);
    check(r#"{ .code !~ "2.*" }"#, &[]);
}

#[test]
fn nil_checks() {
    check("{ .http.method != nil }", &["a", "b"]);
    check("{ .http.method = nil }", &["c", "d"]);
    check("{ span.region = nil }", &ALL);
    check("{ resource.region != nil }", &["a", "b"]);
    check("{ .nums != nil }", &["a", "b"]);
}

#[test]
fn numbers_mix() {
    check("{ .ratio > 1 }", &["b"]);
    check("{ .ratio < 1.0 }", &["a"]);
    check("{ .ratio = 2.0 }", &["b"]);
    check("{ .code = 200.0 }", &["a"]);
    check("{ .ratio != 0.5 }", &["b"]);
    // Int attributes compare with durations as nanoseconds.
    check("{ .dur_attr = 1us }", &["d"]);
    check("{ .dur_attr > 999ns }", &["d"]);
    check("{ duration > .dur_attr }", &["d"]);
    check("{ duration < 1.5 }", &[]);
    check("{ duration = 100.0 }", &["a"]);
}

#[test]
fn arithmetic() {
    check("{ .code + 1 = 201 }", &["a"]);
    check("{ .code - 1 = 499 }", &["b"]);
    check("{ .code / 2 = 100 }", &["a"]);
    check("{ .code * 1.5 = 300 }", &["a"]);
    check("{ .ratio * 2 = 1 }", &["a"]);
    check("{ .code % 7 = 4 }", &["a"]);
    check("{ -.code < -300 }", &["b"]);
    check("{ duration / 2 > 2us }", &["d"]);
    check("{ 2 ^ 3 = 8 }", &ALL);
    check("{ .code ^ 2 = 40000 }", &["a"]);
    // Division by zero is nil, not an error.
    check("{ .code / 0 = 1 }", &[]);
    check("{ .code % 0 != 1 }", &[]);
    check("{ 1.0 / 0 > 1 }", &ALL);
}

#[test]
fn booleans() {
    check("{ .flag = true }", &["a"]);
    check("{ .flag }", &["a"]);
    check("{ !.flag }", &["b"]);
    check("{ .flag != true }", &["b"]);
    check("{ .flag || .code = 500 }", &["a", "b"]);
    check("{ .flag && .code = 500 }", &[]);
    check("{ true }", &ALL);
    check("{ false }", &[]);
    check("{ !(.code = 200) }", &["b", "c", "d"]);
    check("{ 1 = 1 }", &ALL);
}

#[test]
fn arrays() {
    check(r#"{ .tags = "x" }"#, &["a"]);
    check(r#"{ .tags = "z" }"#, &[]);
    // `!=` on an array holds when no element equals the value.
    check(r#"{ .tags != "x" }"#, &[]);
    check(r#"{ .tags != "z" }"#, &["a"]);
    check(r#"{ .tags =~ "y" }"#, &["a"]);
    check(r#"{ .tags !~ "x|y" }"#, &[]);
    check(r#"{ .tags !~ "q" }"#, &["a"]);
    check("{ .nums > 2 }", &["a"]);
    check("{ .nums = 2 }", &["a"]);
    check("{ 2 < .nums }", &["a"]);
    check("{ .nums = 5 }", &[]);
    // Empty array: no element differs, so `!=` holds vacuously (as in Tempo).
    check("{ .nums != 5 }", &["a", "b"]);
    check("{ .fl = 1.5 }", &["a"]);
    check("{ .fl > 2 }", &["a"]);
    check("{ .fl < 1 }", &[]);
}

#[test]
fn reported_attributes() {
    let m = run(
        &data(),
        r#"{ span.http.method = "GET" } | select(resource.region, .dup, .tags, .nope)"#,
    );
    let attrs = &m[0].span_sets[0].spans[0].attributes;
    let got: Vec<String> = attrs
        .iter()
        .map(|kv| {
            format!(
                "{}={:?}",
                kv.key,
                kv.value.as_ref().and_then(|v| v.value.clone())
            )
        })
        .collect();
    assert_eq!(got.len(), 4, "{got:?}");
    assert_eq!(got[0], r#"http.method=Some(StringValue("GET"))"#);
    assert_eq!(got[1], r#"region=Some(StringValue("eu"))"#);
    assert_eq!(got[2], r#"dup=Some(StringValue("span"))"#);
    assert!(got[3].starts_with("tags=Some(ArrayValue("), "{}", got[3]);
}

#[test]
fn unscoped_arrays_from_either_scope() {
    let data = batch(&[
        sp(1, 1, 0, "a", 0, 10).attr("mix", arr(vec![i(1), i(2)])),
        sp(1, 2, 1, "b", 1, 10).res("mix", arr(vec![i(3)])),
        sp(1, 3, 1, "c", 2, 10)
            .attr("mix", i(5))
            .res("mix", arr(vec![i(9)])),
        sp(1, 4, 1, "d", 3, 10).res("mix", s("r")),
    ]);
    let check = |q: &str, want: &[&str]| assert_eq!(names(&data, q), strs(want), "{q}");
    check("{ .mix = 2 }", &["a"]);
    check("{ .mix = 3 }", &["b"]);
    check("{ .mix = 5 }", &["c"]);
    check("{ .mix = 9 }", &[]);
    check("{ resource.mix = 9 }", &["c"]);
    check(r#"{ .mix = "r" }"#, &["d"]);
    check("{ .mix != nil }", &["a", "b", "c", "d"]);
    check("{ .mix > 0 }", &["a", "b", "c"]);
}

#[test]
fn missing_attributes_everywhere() {
    check("{ .nope = 1 }", &[]);
    check("{ .nope != 1 }", &[]);
    check(r#"{ .nope =~ ".*" }"#, &[]);
    check("{ .nope = nil }", &ALL);
    check("{ !(.nope > 1) }", &ALL);
    check("{ event.nope = 1 }", &[]);
    check("{ link.nope != 1 }", &[]);
}
