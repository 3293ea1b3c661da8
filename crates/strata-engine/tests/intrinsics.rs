//! Every intrinsic of the AST, on a small known batch.

mod common;

use common::*;
use strata_proto::otlp::trace::span::SpanKind;

/// Trace 1: root > (child-a > grandchild), child-b. Trace 2: t2-root, t2-orphan (parent
/// missing).
fn data() -> arrow_array::RecordBatch {
    batch(&[
        sp(1, 1, 0, "root", 0, 1000)
            .svc("frontend")
            .kind(SpanKind::Server)
            .status(2, "boom")
            .scope("grpc", "1.2", vec![])
            .event("exception", 150, vec![kv("exception.message", s("bad"))])
            .link(9, 7, vec![kv("ref", s("child_of"))]),
        sp(1, 2, 1, "child-a", 100, 300)
            .svc("backend")
            .kind(SpanKind::Client)
            .status(1, ""),
        sp(1, 3, 1, "child-b", 200, 700),
        sp(1, 4, 2, "grandchild", 150, 250).kind(SpanKind::Consumer),
        sp(2, 1, 0, "t2-root", 5000, 5100).svc("other"),
        sp(2, 5, 9, "t2-orphan", 5010, 5020).svc("other"),
    ])
}

fn check(q: &str, want: &[&str]) {
    assert_eq!(names(&data(), q), strs(&sorted(want)), "{q}");
}

fn sorted<'a>(v: &[&'a str]) -> Vec<&'a str> {
    let mut v = v.to_vec();
    v.sort();
    v
}

const TRACE1: [&str; 4] = ["root", "child-a", "child-b", "grandchild"];
const TRACE2: [&str; 2] = ["t2-root", "t2-orphan"];

#[test]
fn duration_and_name() {
    check("{ duration >= 500ns }", &["root", "child-b"]);
    check("{ span:duration < 100ns }", &["t2-orphan"]);
    check("{ duration = 100ns }", &["grandchild", "t2-root"]);
    check(r#"{ name = "child-a" }"#, &["child-a"]);
    check(r#"{ span:name =~ "child-.*" }"#, &["child-a", "child-b"]);
}

#[test]
fn status_message_and_kind() {
    check("{ status = error }", &["root"]);
    check("{ span:status = ok }", &["child-a"]);
    check(
        "{ status = unset }",
        &["child-b", "grandchild", "t2-root", "t2-orphan"],
    );
    check(
        "{ status != error }",
        &["child-a", "child-b", "grandchild", "t2-root", "t2-orphan"],
    );
    check(r#"{ statusMessage = "boom" }"#, &["root"]);
    // No status: the message reads as empty.
    check(
        r#"{ span:statusMessage = "" && status = unset }"#,
        &["child-b", "grandchild", "t2-root", "t2-orphan"],
    );
    check("{ kind = server }", &["root"]);
    check("{ span:kind = client }", &["child-a"]);
    check("{ kind = consumer }", &["grandchild"]);
    check("{ kind = internal }", &["child-b", "t2-root", "t2-orphan"]);
    check("{ kind = producer }", &[]);
}

#[test]
fn ids() {
    check(r#"{ span:id = "0000000000001002" }"#, &["child-a"]);
    // Literals are read as IDs: leading zeros optional, case-insensitive.
    check(r#"{ span:id = "1002" }"#, &["child-a"]);
    check(
        r#"{ span:id != "1002" && trace:id = "AB000000000000000000000000000001" }"#,
        &["root", "child-b", "grandchild"],
    );
    check(
        r#"{ span:parentID = "0000000000001001" }"#,
        &["child-a", "child-b"],
    );
    check(r#"{ span:parentID = "0" }"#, &["root", "t2-root"]);
    check(
        r#"{ trace:id = "ab000000000000000000000000000002" }"#,
        &TRACE2,
    );
    check(r#"{ trace:id =~ "ab0+2" }"#, &TRACE2);
}

#[test]
fn tree_intrinsics() {
    check("{ span:childCount = 2 }", &["root"]);
    check("{ span:childCount = 1 }", &["child-a"]);
    check(
        "{ span:childCount = 0 }",
        &["child-b", "grandchild", "t2-root", "t2-orphan"],
    );
    // root L1 (child-a L2 (grandchild L3 R4) R5) (child-b L6 R7) R8.
    check("{ nestedSetLeft = 3 }", &["grandchild"]);
    check("{ nestedSetRight = 8 }", &["root"]);
    check("{ nestedSetParent = -1 }", &["root", "t2-root"]);
    check("{ nestedSetParent = 2 }", &["grandchild"]);
    check("{ nestedSetParent = 1 }", &["child-a", "child-b"]);
    // Not reachable from a root: unnumbered.
    check("{ nestedSetLeft = 0 }", &["t2-orphan"]);
}

#[test]
fn selected_tree_intrinsic() {
    let m = run(
        &data(),
        r#"{ name = "child-a" } | select(span:childCount, nestedSetLeft)"#,
    );
    let attrs = &m[0].span_sets[0].spans[0].attributes;
    assert_eq!(attrs.len(), 1, "nested-set numbers are not reported");
    assert_eq!(attrs[0].key, "span:childCount");
}

#[test]
fn trace_level() {
    check("{ trace:duration > 500ns }", &TRACE1);
    check("{ traceDuration = 100ns }", &TRACE2);
    check(r#"{ trace:rootName = "root" }"#, &TRACE1);
    check(r#"{ rootName = "t2-root" }"#, &TRACE2);
    check(r#"{ trace:rootService = "other" }"#, &TRACE2);
    check(r#"{ rootServiceName = "frontend" }"#, &TRACE1);
}

#[test]
fn trace_without_root() {
    let data = batch(&[sp(3, 2, 1, "lonely", 0, 10)]);
    assert_eq!(
        names(&data, r#"{ trace:rootName != "x" }"#),
        Vec::<String>::new()
    );
    // Missing, so any comparison is false and its negation true.
    assert_eq!(
        names(&data, r#"{ !(trace:rootName = "x") }"#),
        strs(&["lonely"])
    );
    let m = run(&data, "{ }");
    assert_eq!(m[0].root_span_name, None);
    assert_eq!(m[0].root_service_name, None);
}

#[test]
fn events_links_instrumentation() {
    check(r#"{ event:name = "exception" }"#, &["root"]);
    check(r#"{ event:name != "exception" }"#, &[]);
    check("{ event:timeSinceStart = 150ns }", &["root"]);
    check("{ event:timeSinceStart > 1us }", &[]);
    check(
        r#"{ link:traceID = "ab000000000000000000000000000009" }"#,
        &["root"],
    );
    check(r#"{ link:spanID = "0000000000001007" }"#, &["root"]);
    check(r#"{ link:spanID = "1008" }"#, &[]);
    check(r#"{ instrumentation:name = "grpc" }"#, &["root"]);
    check(r#"{ instrumentation:version = "1.2" }"#, &["root"]);
    check(r#"{ instrumentation:name != "grpc" }"#, &[]);
    check(
        r#"{ !(instrumentation:name = "grpc") }"#,
        &["child-a", "child-b", "grandchild", "t2-root", "t2-orphan"],
    );
}

#[test]
fn reported_intrinsics() {
    let m = run(
        &data(),
        r#"{ status = error && kind = server && statusMessage = "boom" && span:childCount = 2 && duration > 1ns && name = "root" && event:name = "exception" }"#,
    );
    let attrs = &m[0].span_sets[0].spans[0].attributes;
    let got: Vec<(String, String)> = attrs
        .iter()
        .map(|kv| {
            (
                kv.key.clone(),
                format!("{:?}", kv.value.as_ref().and_then(|v| v.value.clone())),
            )
        })
        .collect();
    let want = vec![
        ("status", r#"Some(StringValue("error"))"#),
        ("kind", r#"Some(StringValue("server"))"#),
        ("statusMessage", r#"Some(StringValue("boom"))"#),
        ("span:childCount", "Some(IntValue(2))"),
        ("event:name", r#"Some(StringValue("exception"))"#),
    ];
    let want: Vec<(String, String)> = want
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    assert_eq!(got, want);
}
