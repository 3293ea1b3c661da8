//! Tag discovery (`strata_engine::tags`) over batches built from OTLP spans.

#[path = "tags/fixture.rs"]
mod fixture;
#[path = "tags/names.rs"]
mod names;
#[path = "tags/values.rs"]
mod values;

use std::sync::Arc;

use arrow_array::{ArrayRef, Int32Array, RecordBatch};
use arrow_schema::{DataType, Field, Schema};
use strata_block::schema::col;
use strata_engine::tags::{TagNamesCollector, TagScope, TagTarget, TagValuesCollector};
use strata_engine::EngineError;
use strata_traceql::{AttributeScope, Intrinsic};

use fixture::*;

#[test]
fn columns() {
    assert_eq!(
        TagNamesCollector::columns(&TagScope::ALL),
        vec![
            col::ATTRS,
            col::EVENTS,
            col::LINKS,
            col::RESOURCE_ATTRS,
            col::SCOPE_ATTRS
        ]
    );
    assert_eq!(
        TagValuesCollector::columns(&attr(AttributeScope::None, "x")),
        vec![col::ATTRS, col::RESOURCE_ATTRS]
    );
    assert_eq!(
        TagValuesCollector::columns(&TagTarget::Intrinsic(Intrinsic::TraceRootService)),
        vec![col::PARENT_SPAN_ID, col::SERVICE_NAME, col::TRACE_ID]
    );
    // a projection to the advertised columns is enough
    let b = fixture();
    let t = TagTarget::Intrinsic(Intrinsic::TraceRootService);
    let cols = TagValuesCollector::columns(&t);
    let idx: Vec<usize> = cols
        .iter()
        .map(|c| b.schema().index_of(c).expect("col"))
        .collect();
    let projected = b.project(&idx).expect("project");
    assert_eq!(
        values(&t, &projected, Some(&mask(&[false, false, true]))),
        typed(Str, &["worker"])
    );
}

#[test]
fn bad_batches_are_errors() {
    let b = fixture();
    let mut c = TagNamesCollector::new(&[TagScope::Span], None, 0);
    let err = c
        .add_batch(&b, Some(&mask(&[true])))
        .expect_err("mask length");
    assert!(matches!(err, EngineError::Batch(_)), "{err}");

    let only_name = b
        .project(&[b.schema().index_of(col::NAME).expect("name")])
        .expect("project");
    let err = c.add_batch(&only_name, None).expect_err("missing attrs");
    assert!(matches!(err, EngineError::Batch(_)), "{err}");

    // `attrs` of the wrong type
    let wrong: ArrayRef = Arc::new(Int32Array::from(vec![1, 2, 3]));
    let schema = Arc::new(Schema::new(vec![Field::new(
        col::ATTRS,
        DataType::Int32,
        false,
    )]));
    let wrong = RecordBatch::try_new(schema, vec![wrong]).expect("batch");
    let err = c.add_batch(&wrong, None).expect_err("wrong type");
    assert!(matches!(err, EngineError::Batch(_)), "{err}");
    let mut v = TagValuesCollector::new(&attr(AttributeScope::Span, "x"), None, 0);
    assert!(matches!(
        v.add_batch(&wrong, None),
        Err(EngineError::Batch(_))
    ));
}
