//! Trace metadata, service statistics, isolation between traces, and odd batches.

mod common;

use std::sync::Arc;

use arrow_array::{ArrayRef, FixedSizeBinaryArray, Int64Array, RecordBatch, StringArray};
use arrow_schema::{Field, Schema};
use common::*;
use strata_engine::{EngineError, ServiceStats};

fn data() -> RecordBatch {
    batch(&[
        sp(1, 1, 0, "r", 100, 500).svc("front"),
        sp(1, 2, 1, "c1", 50, 600).svc("back").status(2, "x"),
        sp(1, 3, 1, "c2", 200, 300).svc("back").status(2, "y"),
        sp(1, 4, 1, "c3", 210, 220).no_resource().status(2, "z"),
        sp(1, 5, 1, "c4", 230, 240).svc("back").status(1, ""),
        // Trace 2 reuses the span IDs of trace 1.
        sp(2, 1, 0, "r2", 1000, 1100).svc("other"),
        sp(2, 2, 1, "x", 1010, 1020).svc("other"),
        // Trace 3 has no root.
        sp(3, 2, 1, "late", 7, 9).svc("other"),
    ])
}

#[test]
fn trace_metadata() {
    let m = run(&data(), r#"{ name = "c2" }"#);
    assert_eq!(m.len(), 1);
    let t = &m[0];
    assert_eq!(t.trace_id, tid(1));
    assert_eq!(t.root_service_name.as_deref(), Some("front"));
    assert_eq!(t.root_span_name.as_deref(), Some("r"));
    assert_eq!(t.start_time_unix_nano, 50);
    assert_eq!(t.end_time_unix_nano, 600);
    let stats: Vec<(&str, ServiceStats)> = t
        .service_stats
        .iter()
        .map(|(k, v)| (k.as_str(), *v))
        .collect();
    assert_eq!(
        stats,
        vec![
            (
                "back",
                ServiceStats {
                    span_count: 3,
                    error_count: 2
                }
            ),
            (
                "front",
                ServiceStats {
                    span_count: 1,
                    error_count: 0
                }
            ),
        ]
    );
    let span = &t.span_sets[0].spans[0];
    assert_eq!(span.span_id, sid(3));
    assert_eq!(span.name, "c2");
    assert_eq!(span.start_time_unix_nano, 200);
    assert_eq!(span.duration_nanos, 100);
    assert!(span.attributes.is_empty());
}

#[test]
fn results_in_batch_order_without_leaks() {
    assert_eq!(traces(&data(), "{ }"), vec![1, 2, 3]);
    // Structure stays within each trace although span IDs repeat across traces.
    assert_eq!(
        sets(&data(), r#"{ name = "r" } > { }"#),
        vec![(1, vec![strs(&["c1", "c2", "c3", "c4"])])]
    );
    assert_eq!(
        traces(&data(), r#"{ name = "r" } && { name = "x" }"#),
        Vec::<u8>::new()
    );
    assert_eq!(
        names(&data(), r#"{ trace:rootName = "r2" }"#),
        strs(&["r2", "x"])
    );
    assert_eq!(traces(&data(), "{ } | count() = 2"), vec![2]);
    let m = run(&data(), r#"{ name = "late" }"#);
    assert_eq!(m[0].root_span_name, None);
    assert_eq!(m[0].root_service_name, None);
    assert_eq!(m[0].service_stats.len(), 1);
}

#[test]
fn empty_batch() {
    let empty = batch(&[]);
    assert!(plan("{ }").evaluate(&empty, 3).unwrap().is_empty());
    assert!(plan("{ .a } >> { }")
        .evaluate(&empty, 3)
        .unwrap()
        .is_empty());
    assert_eq!(plan("{ span.a = 1 }").prefilter(&empty).unwrap().len(), 0);
    assert_eq!(plan("{ }").prefilter(&empty).unwrap().len(), 0);
}

fn replace(batch: &RecordBatch, name: &str, field: Field, column: ArrayRef) -> RecordBatch {
    let schema = batch.schema();
    let i = schema.index_of(name).expect("column");
    let mut fields: Vec<Field> = schema.fields().iter().map(|f| f.as_ref().clone()).collect();
    fields[i] = field;
    let mut columns = batch.columns().to_vec();
    columns[i] = column;
    RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).expect("batch")
}

fn is_batch_err<T: std::fmt::Debug>(r: Result<T, EngineError>) -> bool {
    matches!(r, Err(EngineError::Batch(_)))
}

#[test]
fn wrong_types_are_errors() {
    let d = data();
    let n = d.num_rows();
    let ints: ArrayRef = Arc::new(Int64Array::from(vec![1i64; n]));
    let strings: ArrayRef = Arc::new(StringArray::from(vec!["x"; n]));

    let bad = replace(
        &d,
        "duration_nano",
        Field::new("duration_nano", arrow_schema::DataType::Int64, false),
        ints.clone(),
    );
    assert!(is_batch_err(plan("{ duration > 1s }").evaluate(&bad, 3)));
    assert!(is_batch_err(plan("{ duration > 1s }").prefilter(&bad)));

    let bad = replace(
        &d,
        "end_time_unix_nano",
        Field::new("end_time_unix_nano", arrow_schema::DataType::Int64, false),
        ints.clone(),
    );
    // Every result reports trace ends and span durations (end - start).
    assert!(is_batch_err(plan(r#"{ name = "r" }"#).evaluate(&bad, 3)));

    let bad = replace(
        &d,
        "attrs",
        Field::new("attrs", arrow_schema::DataType::Utf8, false),
        strings.clone(),
    );
    assert!(is_batch_err(plan("{ span.a = 1 }").evaluate(&bad, 3)));
    assert!(is_batch_err(plan("{ span.a = 1 }").prefilter(&bad)));

    let bad = replace(
        &d,
        "name",
        Field::new("name", arrow_schema::DataType::Int64, false),
        ints,
    );
    assert!(is_batch_err(plan(r#"{ name = "r" }"#).evaluate(&bad, 3)));
    assert!(is_batch_err(plan("{ }").evaluate(&bad, 3)));

    let bad = replace(
        &d,
        "events",
        Field::new("events", arrow_schema::DataType::Utf8, false),
        strings,
    );
    assert!(is_batch_err(
        plan(r#"{ event:name = "x" }"#).evaluate(&bad, 3)
    ));

    let short_ids = FixedSizeBinaryArray::try_from_iter((0..n).map(|_| vec![1u8; 8])).expect("ids");
    let bad = replace(
        &d,
        "trace_id",
        Field::new(
            "trace_id",
            arrow_schema::DataType::FixedSizeBinary(8),
            false,
        ),
        Arc::new(short_ids),
    );
    assert!(is_batch_err(plan("{ }").evaluate(&bad, 3)));
}

#[test]
fn missing_columns_are_errors() {
    let d = data();
    let schema = d.schema();
    let without = |name: &str| {
        let idx: Vec<usize> = (0..schema.fields().len())
            .filter(|&i| schema.field(i).name() != name)
            .collect();
        d.project(&idx).expect("project")
    };
    assert!(is_batch_err(
        plan("{ span.a = 1 }").evaluate(&without("attrs"), 3)
    ));
    assert!(is_batch_err(plan("{ }").evaluate(&without("trace_id"), 3)));
    assert!(is_batch_err(
        plan("{ }").evaluate(&without("service_name"), 3)
    ));
    assert!(is_batch_err(
        plan("{ } > { }").evaluate(&without("span_id"), 3)
    ));
    assert!(is_batch_err(
        plan("{ span.a = 1 }").prefilter(&without("attrs"))
    ));
}
