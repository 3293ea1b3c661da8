//! Tag names.

use strata_engine::tags::{ScopeParam, TagNamesCollector, TagScope, TagTarget, INTRINSIC_TAGS};
use strata_traceql::{AttributeScope, Intrinsic};

use crate::fixture::*;

#[test]
fn intrinsic_list_is_tempos() {
    let want = [
        "duration",
        "name",
        "status",
        "statusMessage",
        "kind",
        "rootServiceName",
        "rootName",
        "traceDuration",
        "event:name",
        "event:timeSinceStart",
        "link:spanID",
        "link:traceID",
        "instrumentation:name",
        "instrumentation:version",
        "trace:id",
        "span:id",
        "span:parentID",
        "span:status",
        "span:statusMessage",
        "span:duration",
        "span:name",
        "span:kind",
        "trace:rootName",
        "trace:rootService",
        "trace:duration",
    ];
    assert_eq!(INTRINSIC_TAGS, want);
}

#[test]
fn scope_param() {
    assert_eq!(ScopeParam::parse(""), Some(ScopeParam::All));
    assert_eq!(ScopeParam::parse("none"), Some(ScopeParam::All));
    assert_eq!(ScopeParam::parse("intrinsic"), Some(ScopeParam::Intrinsic));
    for s in TagScope::ALL {
        assert_eq!(ScopeParam::parse(s.as_str()), Some(ScopeParam::Only(s)));
    }
    assert_eq!(ScopeParam::parse("Span"), None);
    assert_eq!(ScopeParam::parse("trace"), None);
    assert_eq!(ScopeParam::All.attribute_scopes(), TagScope::ALL.to_vec());
    assert!(ScopeParam::Intrinsic.attribute_scopes().is_empty());
    assert!(ScopeParam::All.intrinsics_v2() && ScopeParam::Intrinsic.intrinsics_v2());
    assert!(!ScopeParam::Only(TagScope::Span).intrinsics_v2());
    assert!(!ScopeParam::All.intrinsics_v1() && ScopeParam::Intrinsic.intrinsics_v1());
}

#[test]
fn names_per_scope() {
    let got = names(&TagScope::ALL, &fixture(), None);
    let want = vec![
        (
            TagScope::Resource,
            strings(&["host.name", "http.method", "service.name"]),
        ),
        (
            TagScope::Span,
            strings(&[
                "a/b",
                "blob",
                "cached",
                "db.system",
                "empty",
                "http.method",
                "http.status_code",
                "kv",
                "mixed",
                "nums",
                "ratio",
                "tags",
                "with space",
            ]),
        ),
        (TagScope::Event, strings(&["exception.type"])),
        (TagScope::Link, strings(&["link.kind"])),
        (TagScope::Instrumentation, strings(&["lib.attr"])),
    ];
    assert_eq!(got, want);
}

#[test]
fn names_single_scope_and_flat() {
    let batch = fixture();
    let got = names(&[TagScope::Event], &batch, None);
    assert_eq!(got, vec![(TagScope::Event, strings(&["exception.type"]))]);

    let mut c = TagNamesCollector::new(&[TagScope::Resource, TagScope::Link], None, 0);
    c.add_batch(&batch, None).expect("add");
    let flat = c.finish_flat();
    assert_eq!(
        flat,
        strings(&["host.name", "http.method", "link.kind", "service.name"])
    );
}

#[test]
fn names_limit_per_scope() {
    let mut c = TagNamesCollector::new(&[TagScope::Resource, TagScope::Span], Some(2), 0);
    c.add_batch(&fixture(), None).expect("add");
    assert!(c.truncated());
    let got = c.finish();
    // first two in data order
    assert_eq!(
        got[0],
        (TagScope::Resource, strings(&["host.name", "service.name"]))
    );
    assert_eq!(
        got[1],
        (
            TagScope::Span,
            strings(&["http.method", "http.status_code"])
        )
    );
}

#[test]
fn names_byte_cap() {
    let mut c = TagNamesCollector::new(&[TagScope::Span], None, 20);
    c.add_batch(&fixture(), None).expect("add");
    assert!(c.truncated() && c.is_full());
    let got = c.finish();
    // "http.method" (11) fits; "http.status_code" (16) would exceed 20
    assert_eq!(got, vec![(TagScope::Span, strings(&["http.method"]))]);
}

#[test]
fn names_mask() {
    let batch = fixture();
    let only_worker = mask(&[false, false, true]);
    let got = names(&TagScope::ALL, &batch, Some(&only_worker));
    assert_eq!(
        got,
        vec![
            (
                TagScope::Resource,
                strings(&["http.method", "service.name"])
            ),
            (TagScope::Span, strings(&["http.status_code", "ratio"])),
        ]
    );
    let child_only = mask(&[false, true, false]);
    let got = names(
        &[TagScope::Span, TagScope::Event, TagScope::Link],
        &batch,
        Some(&child_only),
    );
    assert_eq!(
        got,
        vec![
            (TagScope::Span, strings(&["db.system", "http.method"])),
            (TagScope::Link, strings(&["link.kind"])),
        ]
    );
    let none = mask(&[false, false, false]);
    assert!(names(&TagScope::ALL, &batch, Some(&none)).is_empty());
}

#[test]
fn names_merge() {
    let (b1, b2) = (build(&rows_trace1()), build(&rows_trace2()));
    let mut c1 = TagNamesCollector::new(&TagScope::ALL, None, 0);
    c1.add_batch(&b1, None).expect("add");
    let mut c2 = TagNamesCollector::new(&TagScope::ALL, None, 0);
    c2.add_batch(&b2, None).expect("add");
    c1.merge(c2);
    assert_eq!(c1.finish(), names(&TagScope::ALL, &fixture(), None));
}

#[test]
fn empty_batch() {
    let batch = build(&[]);
    assert_eq!(batch.num_rows(), 0);
    assert!(names(&TagScope::ALL, &batch, None).is_empty());
    assert!(values(&attr(AttributeScope::None, "x"), &batch, None).is_empty());
    assert!(values(
        &TagTarget::Intrinsic(Intrinsic::TraceRootName),
        &batch,
        None
    )
    .is_empty());
    assert!(values(
        &TagTarget::Intrinsic(Intrinsic::EventName),
        &batch,
        Some(&mask(&[]))
    )
    .is_empty());
}
