//! Plan-level behaviour: columns, projections, prefilter soundness, unsupported queries.

mod common;

use std::collections::HashSet;

use arrow_array::{Array, FixedSizeBinaryArray, RecordBatch};
use common::*;
use strata_engine::{EngineError, SearchPlan};

fn project(batch: &RecordBatch, cols: &[&str]) -> RecordBatch {
    let idx: Vec<usize> = cols
        .iter()
        .map(|c| batch.schema().index_of(c).expect("column"))
        .collect();
    batch.project(&idx).expect("project")
}

#[test]
fn columns() {
    let base = [
        "trace_id",
        "span_id",
        "parent_span_id",
        "name",
        "start_time_unix_nano",
        "end_time_unix_nano",
        "status_code",
        "service_name",
    ];
    let with = |extra: &[&'static str]| -> Vec<&'static str> {
        let mut v: Vec<&'static str> = base.to_vec();
        v.extend_from_slice(extra);
        // Columns come in schema order.
        let schema = strata_block::schema::span_schema();
        v.sort_by_key(|c| schema.index_of(c).expect("column"));
        v
    };
    assert_eq!(plan("{ }").columns(), with(&[]));
    assert_eq!(plan("{ span.x = 1 }").columns(), with(&["attrs"]));
    assert_eq!(
        plan("{ resource.x = 1 }").columns(),
        with(&["resource_attrs"])
    );
    assert_eq!(
        plan("{ .x = 1 }").columns(),
        with(&["resource_attrs", "attrs"])
    );
    assert_eq!(plan("{ event.x = 1 }").columns(), with(&["events"]));
    assert_eq!(
        plan("{ event:timeSinceStart > 1s }").columns(),
        with(&["events"])
    );
    assert_eq!(plan(r#"{ link:spanID = "1" }"#).columns(), with(&["links"]));
    assert_eq!(
        plan(r#"{ instrumentation:name = "a" && instrumentation.b = 1 }"#).columns(),
        with(&["scope_name", "scope_attrs"])
    );
    assert_eq!(
        plan(r#"{ statusMessage = "x" }"#).columns(),
        with(&["status_message"])
    );
    assert_eq!(
        plan("{ } | select(instrumentation:version) | by(span.a)").columns(),
        with(&["scope_version", "attrs"])
    );
}

#[test]
fn prefilter_columns() {
    let pc = |q: &str| plan(q).prefilter_columns();
    assert_eq!(pc("{ }"), None);
    assert_eq!(pc("count() > 1"), None);
    assert_eq!(pc("{ trace:duration > 1s }"), None);
    assert_eq!(pc("{ span:childCount > 1 }"), None);
    assert_eq!(pc("{ span.a = 1 }"), Some(vec!["attrs"]));
    assert_eq!(
        pc("{ span.a = 1 && trace:duration > 1s }"),
        Some(vec!["attrs"])
    );
    assert_eq!(pc("{ span.a = 1 || trace:duration > 1s }"), None);
    assert_eq!(pc("{ duration > 1s }"), Some(vec!["duration_nano"]));
    assert_eq!(
        pc("{ event:timeSinceStart > 1s }"),
        Some(vec!["start_time_unix_nano", "events"])
    );
    assert_eq!(
        pc("{ span.a = 1 } !> { resource.b = 2 }"),
        Some(vec!["resource_attrs"])
    );
    assert_eq!(pc("{ span.a = 1 } !> { }"), None);
    assert_eq!(pc("{ span.a = 1 } > { }"), Some(vec!["attrs"]));
    assert_eq!(
        pc("{ span.a = 1 } || { resource.b = 2 }"),
        Some(vec!["resource_attrs", "attrs"])
    );
    assert_eq!(pc("{ span.a = 1 } || { }"), None);
    assert_eq!(
        pc("{ } | count() > 1 | { span.a = 1 }"),
        Some(vec!["attrs"])
    );
}

#[test]
fn projection_to_columns_gives_the_same_answer() {
    let full = rich();
    for q in QUERIES {
        let p = plan(q);
        let projected = project(&full, &p.columns());
        assert_eq!(
            p.evaluate(&projected, 3)
                .unwrap_or_else(|e| panic!("{q}: {e}")),
            p.evaluate(&full, 3).unwrap(),
            "{q}"
        );
    }
}

#[test]
fn sliced_batches_give_the_same_answer() {
    // Dropping trace 1 (the first four rows) with a zero-copy slice: list offsets no longer
    // start at zero.
    let full = rich();
    let sliced = full.slice(4, full.num_rows() - 4);
    for q in QUERIES {
        let p = plan(q);
        let want: Vec<_> = p
            .evaluate(&full, 3)
            .unwrap()
            .into_iter()
            .filter(|m| m.trace_id != tid(1))
            .collect();
        assert_eq!(p.evaluate(&sliced, 3).unwrap(), want, "{q}");
        let cut = full.slice(0, 4);
        let want: Vec<_> = p
            .evaluate(&full, 3)
            .unwrap()
            .into_iter()
            .filter(|m| m.trace_id == tid(1))
            .collect();
        assert_eq!(p.evaluate(&cut, 3).unwrap(), want, "{q}");
    }
}

#[test]
fn prefilter_never_rejects_a_matching_trace() {
    let full = rich();
    let ids = full
        .column_by_name("trace_id")
        .and_then(|c| c.as_any().downcast_ref::<FixedSizeBinaryArray>().cloned())
        .expect("trace ids");
    let mut with_prefilter = 0;
    for q in QUERIES {
        let p = plan(q);
        let matched = p.evaluate(&full, 3).unwrap();
        let mask = match p.prefilter_columns() {
            None => {
                assert!(p.prefilter(&full).unwrap().values().count_set_bits() == full.num_rows());
                continue;
            }
            Some(cols) => {
                with_prefilter += 1;
                let mask = p.prefilter(&project(&full, &cols)).unwrap();
                assert_eq!(mask, p.prefilter(&full).unwrap(), "{q}");
                mask
            }
        };
        let passing: HashSet<Vec<u8>> = (0..full.num_rows())
            .filter(|&r| mask.value(r))
            .map(|r| ids.value(r).to_vec())
            .collect();
        for m in &matched {
            assert!(
                passing.contains(m.trace_id.0.as_slice()),
                "{q}: trace {} matched but no span passed the prefilter",
                m.trace_id
            );
        }
    }
    assert!(with_prefilter > 30, "{with_prefilter}");
}

#[test]
fn prefilter_is_selective() {
    let full = rich();
    let p = plan(r#"{ .http.method = "POST" }"#);
    let mask = p.prefilter(&full).unwrap();
    assert_eq!(mask.values().count_set_bits(), 1);
}

#[test]
fn unsupported_queries() {
    let unsupported = |q: &str| {
        let query = strata_traceql::parse(q).unwrap_or_else(|e| panic!("{q}: {e}"));
        matches!(SearchPlan::new(&query), Err(EngineError::Unsupported(_)))
    };
    assert!(unsupported("{ } | rate()"));
    assert!(unsupported("{ parent.x = 1 }"));
    assert!(unsupported("{ (event.a = 1) = (link.b = 2) }"));
    assert!(unsupported("({ } | count()) > ({ } | count())"));
    // Each side of && may use its own domain.
    assert!(!unsupported("{ event.a = 1 && link.b = 2 }"));
}

#[test]
fn plans_are_shareable() {
    fn assert_send_sync_clone<T: Send + Sync + Clone>() {}
    assert_send_sync_clone::<SearchPlan>();
}

/// A regular expression whose compiled program would be huge is refused with a message, not
/// compiled into a querier's memory; ordinary ones compile.
#[test]
fn oversized_regexes_are_refused() {
    let compile = |q: &str| {
        let query = strata_traceql::parse(q).unwrap_or_else(|e| panic!("{q}: {e}"));
        SearchPlan::new(&query)
    };
    match compile(r#"{ name =~ "(\\w{50}){50}" }"#) {
        Err(EngineError::Unsupported(m)) => assert!(m.contains("regular expression"), "{m}"),
        other => panic!("compiled: {:?}", other.map(|_| ())),
    }
    assert!(compile(r#"{ name =~ "GET /api/v1/items/.*" }"#).is_ok());
}

#[test]
fn span_local_plans_are_one_filter_of_row_fields() {
    for q in [
        "{ span.x = 1 }",
        r#"{ name =~ "a.*" && duration > 1s }"#,
        "{ .x = 1 || event.y = 2 }",
        "{ status = error }",
    ] {
        assert!(plan(q).span_local(), "{q}");
    }
    for q in [
        "{ }",
        "{ span.a = 1 } >> { span.b = 2 }",
        "{ span.a = 1 } && { span.b = 2 }",
        "{ span.x = 1 } | count() > 1",
        "{ span.x = 1 } | by(name)",
        "{ span.x = 1 } | select(span.y)",
        "{ span.x = 1 && trace:duration > 1s }",
        "{ span:childCount > 1 }",
    ] {
        assert!(!plan(q).span_local(), "{q}");
    }
}
