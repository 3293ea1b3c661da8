//! `BlockWriter::add_trace_shares` (a borrowed walk of the stored shares) writes the same block
//! as decoding the shares with prost and adding the owned spans (`add_trace_owned_copy`, what
//! the ingester did before): same `data.parquet` bytes, same rows read back. Generated traces
//! cover attribute values of every kind, events, links, several resources and scopes, replica
//! copies and traces straddling row groups; hand-built shares cover dropped counts, entity
//! refs, absent resources and scopes, unknown fields, repeated fields and malformed bytes.

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;

use common::*;
use object_store::{ObjectStore, ObjectStoreExt};
use prost::Message;
use strata_block::{
    BlockError, BlockMeta, BlockReader, BlockWriter, TraceShare, FORMAT_V4, FORMAT_VERSION,
};
use strata_common::{BlockId, TenantId, TraceId};
use strata_fuzzkit::proptest::collection::vec;
use strata_fuzzkit::proptest::prelude::*;
use strata_proto::otlp::collector::ExportTraceServiceRequest;
use strata_proto::otlp::common::{any_value::Value, EntityRef, InstrumentationScope};
use strata_proto::otlp::resource::Resource;
use strata_proto::otlp::trace::span::{Event, Link};
use strata_proto::otlp::trace::{ResourceSpans, ScopeSpans, Span, Status};
use strata_proto::tempopb;
use strata_storage::BlockPaths;

/// A trace's shares: (encoded `tempopb.Trace`, replica copy).
type Shares = Vec<(Vec<u8>, bool)>;

/// Cuts requests into per-trace shares as the distributor does (each keeps its resource and
/// scope); share `i` is a replica copy when bit `i % 64` of `replica_mask` is set.
fn shares_of(reqs: &[ExportTraceServiceRequest], replica_mask: u64) -> BTreeMap<TraceId, Shares> {
    let mut out: BTreeMap<TraceId, Shares> = BTreeMap::new();
    let mut n = 0;
    for req in reqs {
        let mut per: BTreeMap<TraceId, Vec<ResourceSpans>> = BTreeMap::new();
        for rs in &req.resource_spans {
            for ss in &rs.scope_spans {
                let mut by_trace: BTreeMap<TraceId, Vec<Span>> = BTreeMap::new();
                for span in &ss.spans {
                    if let Ok(id) = TraceId::from_slice(&span.trace_id) {
                        by_trace.entry(id).or_default().push(span.clone());
                    }
                }
                for (id, spans) in by_trace {
                    per.entry(id).or_default().push(ResourceSpans {
                        resource: rs.resource.clone(),
                        scope_spans: vec![ScopeSpans {
                            scope: ss.scope.clone(),
                            spans,
                            schema_url: ss.schema_url.clone(),
                        }],
                        schema_url: rs.schema_url.clone(),
                    });
                }
            }
        }
        for (id, resource_spans) in per {
            let bytes = tempopb::Trace { resource_spans }.encode_to_vec();
            let replica = (replica_mask >> (n % 64)) & 1 == 1;
            n += 1;
            out.entry(id).or_default().push((bytes, replica));
        }
    }
    out
}

fn writer(store: &Arc<dyn ObjectStore>, row_group_max_spans: usize) -> BlockWriter {
    writer_in(store, row_group_max_spans, FORMAT_VERSION)
}

fn writer_in(
    store: &Arc<dyn ObjectStore>,
    row_group_max_spans: usize,
    format: &str,
) -> BlockWriter {
    let (_, clock) = clock();
    BlockWriter::new_with_format(
        store.clone(),
        TenantId::single(),
        BlockId(uuid::Uuid::from_u128(1)),
        opts(row_group_max_spans),
        clock,
        format,
    )
    .unwrap()
}

/// Counted shares first, then replica copies, as the ingester orders them.
fn ordered(shares: &Shares) -> Vec<TraceShare<'_>> {
    [false, true]
        .into_iter()
        .flat_map(|replica| {
            shares
                .iter()
                .filter(move |(_, r)| *r == replica)
                .map(move |(b, _)| TraceShare { bytes: b, replica })
        })
        .collect()
}

/// The block written by decoding every share with prost (the ingester's former path).
async fn write_decoded(
    traces: &BTreeMap<TraceId, Shares>,
    rg: usize,
    format: &str,
) -> (Arc<dyn ObjectStore>, Option<BlockMeta>) {
    let store = store();
    let mut w = writer_in(&store, rg, format);
    for (id, shares) in traces {
        for replica in [false, true] {
            let mut spans = Vec::new();
            for (b, _) in shares.iter().filter(|(_, r)| *r == replica) {
                if let Ok(t) = tempopb::Trace::decode(b.as_slice()) {
                    spans.extend(t.resource_spans);
                }
            }
            if !spans.is_empty() {
                w.add_trace_owned_copy(*id, spans, replica).await.unwrap();
            }
        }
    }
    (store, w.finish().await.ok())
}

/// The block written by walking the shares; `Err` with the trace whose shares the walk declined.
async fn write_walked(
    traces: &BTreeMap<TraceId, Shares>,
    rg: usize,
) -> Result<(Arc<dyn ObjectStore>, Option<BlockMeta>), TraceId> {
    write_walked_in(traces, rg, FORMAT_VERSION).await
}

async fn write_walked_in(
    traces: &BTreeMap<TraceId, Shares>,
    rg: usize,
    format: &str,
) -> Result<(Arc<dyn ObjectStore>, Option<BlockMeta>), TraceId> {
    let store = store();
    let mut w = writer_in(&store, rg, format);
    for (id, shares) in traces {
        if !w.add_trace_shares(*id, &ordered(shares)).await.unwrap() {
            return Err(*id);
        }
    }
    Ok((store, w.finish().await.ok()))
}

async fn data(store: &Arc<dyn ObjectStore>) -> Vec<u8> {
    let paths = BlockPaths::new(TenantId::single(), BlockId(uuid::Uuid::from_u128(1)));
    let got = store.get(&paths.data()).await.unwrap();
    got.bytes().await.unwrap().to_vec()
}

/// Writes `traces` both ways, in format v3 and v4, and checks the blocks are the same: the
/// same bytes within a format, the same rows read back from all four.
async fn check_same(traces: &BTreeMap<TraceId, Shares>, rg: usize) {
    let mut first = None;
    for format in [FORMAT_VERSION, FORMAT_V4] {
        let (s_old, m_old) = write_decoded(traces, rg, format).await;
        let (s_new, m_new) = write_walked_in(traces, rg, format)
            .await
            .unwrap_or_else(|id| panic!("the walk declined prost-encoded shares of {id}"));
        assert_eq!(m_old, m_new, "meta");
        let Some(meta) = m_old else { return };
        assert!(
            data(&s_old).await == data(&s_new).await,
            "data.parquet bytes ({format})"
        );
        let old = BlockReader::new(s_old, meta.clone())
            .read_all()
            .await
            .unwrap();
        let new = BlockReader::new(s_new, meta).read_all().await.unwrap();
        assert_eq!(old, new, "rows read back ({format})");
        match &first {
            None => first = Some(old),
            Some(v3) => assert_eq!(&old, v3, "format v4 reads back what v3 does"),
        }
    }
}

fn run<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(f)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn walked_block_equals_decoded_block(
        reqs in vec(strata_testkit::arb::request(), 1..6),
        replica_mask in any::<u64>(),
        rg in 1usize..8,
    ) {
        run(check_same(&shares_of(&reqs, replica_mask), rg));
    }
}

fn rich_span(id: &TraceId, n: u64, start: u64) -> Span {
    let mut s = strata_testkit::span(id, n, &format!("op-{n}-名前"), start, start + 5);
    s.parent_span_id = vec![n as u8; 8];
    s.trace_state = "a=b,ü=ß".into();
    s.flags = 0x301;
    s.kind = 3;
    s.attributes = vec![
        kv("http.status", Value::IntValue(200)),
        kv("x", s_("é")),
        kv("ключ", s_("🦀 crab")),
        kv("", s_("")),
        kv("ö", s_("日本語")),
    ];
    s.dropped_attributes_count = 2;
    s.events = vec![Event {
        time_unix_nano: start + 1,
        name: "évènement".into(),
        attributes: vec![kv("e", Value::BoolValue(true)), kv("€", s_("ñ"))],
        dropped_attributes_count: 4,
    }];
    s.dropped_events_count = 5;
    s.links = vec![Link {
        trace_id: vec![9; 16],
        span_id: vec![8; 8],
        trace_state: "l=1,ø=☃".into(),
        attributes: vec![kv("l", Value::DoubleValue(0.5)), kv("λ", s_("𝄞"))],
        dropped_attributes_count: 6,
        flags: 7,
    }];
    s.dropped_links_count = 8;
    s.status = n.is_multiple_of(2).then(|| Status {
        code: 2,
        message: "boom 💥 échec".into(),
    });
    s
}

fn s_(v: &str) -> Value {
    Value::StringValue(v.into())
}

/// Resources with entity refs, dropped counts and schema URLs, a non-string `service.name`,
/// and absent resources and scopes.
fn rich_shares(id: &TraceId) -> Shares {
    let resource = Resource {
        attributes: vec![kv("service.name", s_("svc-ü")), kv("hôte", s_("h☃"))],
        dropped_attributes_count: 3,
        entity_refs: vec![EntityRef {
            schema_url: "u-é".into(),
            r#type: "sérvice".into(),
            id_keys: vec!["service.name".into()],
            description_keys: vec!["host".into()],
        }],
    };
    let odd = Resource {
        attributes: vec![
            kv("service.name", Value::IntValue(1)),
            kv("service.name", s_("b")),
        ],
        ..Default::default()
    };
    let scope = InstrumentationScope {
        name: "lib-ñ".into(),
        version: "1.2-β".into(),
        attributes: vec![
            kv("scope.a", Value::BytesValue(vec![1, 2])),
            kv("scope.ü", s_("ß")),
        ],
        dropped_attributes_count: 9,
    };
    let rs =
        |resource: Option<Resource>, scope: Option<InstrumentationScope>, spans| ResourceSpans {
            resource,
            scope_spans: vec![ScopeSpans {
                scope,
                spans,
                schema_url: "scope-url-ç".into(),
            }],
            schema_url: "res-url-ø".into(),
        };
    let share = |rss: Vec<ResourceSpans>| {
        tempopb::Trace {
            resource_spans: rss,
        }
        .encode_to_vec()
    };
    vec![
        (
            share(vec![
                rs(
                    Some(resource.clone()),
                    Some(scope.clone()),
                    vec![rich_span(id, 1, 50)],
                ),
                rs(None, None, vec![rich_span(id, 2, 10), rich_span(id, 3, 50)]),
            ]),
            false,
        ),
        (
            share(vec![rs(Some(odd), Some(scope), vec![rich_span(id, 4, 20)])]),
            true,
        ),
        (
            share(vec![rs(Some(resource), None, vec![rich_span(id, 5, 10)])]),
            false,
        ),
    ]
}

#[test]
fn rich_shares_write_the_same_block() {
    for rg in [1, 2, 3, 100] {
        let traces: BTreeMap<TraceId, Shares> =
            (1..=4).map(|n| (tid(n), rich_shares(&tid(n)))).collect();
        run(check_same(&traces, rg));
    }
}

/// The walked block reads back every string of the shares as written, multi-byte UTF-8
/// included (both paths share the string builders, so this, not their equality, catches a
/// string cut at a wrong offset).
#[test]
fn rich_shares_read_back_as_written() {
    let traces: BTreeMap<TraceId, Shares> =
        (1..=2).map(|n| (tid(n), rich_shares(&tid(n)))).collect();
    let (store, meta) = run(write_walked(&traces, 2)).expect("the walk takes prost shares");
    let read = run(BlockReader::new(store, meta.expect("spans")).read_all()).unwrap();
    assert_eq!(read.len(), 2);
    let starts = [(1, 50), (2, 10), (3, 50), (4, 20), (5, 10)];
    for (id, rss) in read {
        let mut seen = Vec::new();
        for rs in &rss {
            if let Some(r) = &rs.resource {
                let host = r.attributes.iter().find(|a| a.key == "hôte");
                assert!(host.is_none_or(|a| a == &kv("hôte", s_("h☃"))), "{r:?}");
            }
            for ss in &rs.scope_spans {
                if let Some(sc) = &ss.scope {
                    assert_eq!((sc.name.as_str(), sc.version.as_str()), ("lib-ñ", "1.2-β"));
                    assert_eq!(sc.attributes[1], kv("scope.ü", s_("ß")));
                }
                assert_eq!(ss.schema_url, "scope-url-ç");
                for span in &ss.spans {
                    let n = u64::from_be_bytes(span.span_id.as_slice().try_into().unwrap());
                    let (_, start) = starts.iter().find(|(k, _)| *k == n).unwrap();
                    assert_eq!(span, &rich_span(&id, n, *start), "span {n}");
                    seen.push(n);
                }
            }
            assert_eq!(rs.schema_url, "res-url-ø");
        }
        seen.sort_unstable();
        assert_eq!(seen, [1, 2, 3, 4, 5], "every span of {id}");
    }
}

/// Appends a field with an unknown tag (a varint) to a message.
fn with_unknown(mut msg: Vec<u8>) -> Vec<u8> {
    msg.extend_from_slice(&[0xa0, 0x06, 0x01]); // tag 100, varint 1
    msg
}

/// A length-delimited field `tag` holding `body`.
fn field(tag: u8, body: &[u8]) -> Vec<u8> {
    let mut out = vec![(tag << 3) | 2];
    prost::encoding::encode_varint(body.len() as u64, &mut out);
    out.extend_from_slice(body);
    out
}

/// A share of one resource, one scope and the given raw span messages.
fn raw_share(spans: &[Vec<u8>]) -> Vec<u8> {
    let res = Resource {
        attributes: vec![kv("service.name", s_("svc"))],
        ..Default::default()
    }
    .encode_to_vec();
    let mut ss = Vec::new();
    for s in spans {
        ss.extend(field(2, s));
    }
    let mut rs = field(1, &res);
    rs.extend(field(2, &ss));
    field(1, &rs)
}

#[test]
fn unknown_and_repeated_scalar_fields_are_read_as_prost_reads_them() {
    let id = tid(3);
    let span = rich_span(&id, 1, 10).encode_to_vec();
    // Unknown fields in the span and at the share's top level; a second `name` (last wins).
    let mut renamed = span.clone();
    renamed.extend(field(5, b"second"));
    let share = with_unknown(raw_share(&[with_unknown(span), renamed]));
    let traces = BTreeMap::from([(id, vec![(share, false)])]);
    run(check_same(&traces, 2));
}

#[test]
fn shares_prost_would_merge_or_reject_are_declined() {
    let id = tid(4);
    // Span 2 has a status.
    let span = rich_span(&id, 2, 10).encode_to_vec();
    let mut two_statuses = span.clone();
    two_statuses.extend(field(
        15,
        &Status {
            code: 1,
            message: String::new(),
        }
        .encode_to_vec(),
    ));
    let mut bad_utf8 = span.clone();
    bad_utf8.extend(field(5, &[0xff, 0xfe]));
    let truncated = raw_share(std::slice::from_ref(&span))[..20].to_vec();
    for bad in [
        raw_share(&[two_statuses]),
        raw_share(&[bad_utf8]),
        truncated,
    ] {
        run(async {
            let store = store();
            let mut w = writer(&store, 4);
            let good = raw_share(std::slice::from_ref(&span));
            let shares = [
                TraceShare {
                    bytes: &good,
                    replica: false,
                },
                TraceShare {
                    bytes: &bad,
                    replica: false,
                },
            ];
            assert!(!w.add_trace_shares(id, &shares).await.unwrap());
            // Nothing was added: the owned path can still take the trace.
            assert_eq!(w.spans(), 0);
            let t = tempopb::Trace::decode(good.as_slice()).unwrap();
            w.add_trace_owned_copy(id, t.resource_spans, false)
                .await
                .unwrap();
            assert_eq!(w.finish().await.unwrap().total_spans, 1);
        });
    }
}

#[test]
fn wrong_trace_id_and_order_are_errors() {
    run(async {
        let store = store();
        let mut w = writer(&store, 4);
        let share = raw_share(&[rich_span(&tid(5), 1, 10).encode_to_vec()]);
        let shares = [TraceShare {
            bytes: &share,
            replica: false,
        }];
        let err = w.add_trace_shares(tid(6), &shares).await.unwrap_err();
        assert!(matches!(err, BlockError::TraceIdMismatch { .. }), "{err}");
        assert!(w.add_trace_shares(tid(5), &shares).await.unwrap());
        let err = w.add_trace_shares(tid(5), &shares).await.unwrap_err();
        assert!(matches!(err, BlockError::OutOfOrder { .. }), "{err}");
        assert_eq!(w.finish().await.unwrap().total_spans, 1);
    });
}

/// The writer hands the Parquet writer batches of a few thousand rows, much smaller than a row
/// group: a block of 16,800 spans (three batches) written in one row group reads back the same rows, and the
/// same trace-level columns, as the block written with one batch per 5-row row group.
#[test]
fn batches_within_a_row_group_write_the_same_rows() {
    let traces: BTreeMap<TraceId, Shares> = (0..2_100u32)
        .map(|t| {
            let id =
                TraceId::from_slice(&(u128::from(t + 1) * 0x9e37_79b9_7f4a_7c15).to_be_bytes())
                    .unwrap();
            let spans = (0..8u64)
                .map(|n| simple_span(id, n, 1_000 + u64::from(t) + (7 - n) * 10))
                .collect();
            let service = ["api", "db", "cache"][t as usize % 3];
            let trace = tempopb::Trace {
                resource_spans: vec![batch(service, spans)],
            };
            (id, vec![(trace.encode_to_vec(), t % 5 == 0)])
        })
        .collect();
    let read = |rg: usize| {
        let traces = &traces;
        run(async move {
            let (store, meta) = write_walked(traces, rg).await.unwrap();
            let meta = meta.unwrap();
            let reader = BlockReader::new(store, meta.clone());
            let trace_cols = scan_all(
                &reader,
                vec![
                    strata_block::schema::col::TRACE_ID,
                    strata_block::schema::col::TRACE_SPANS,
                    strata_block::schema::col::TRACE_START,
                    strata_block::schema::col::TRACE_END,
                    strata_block::schema::col::TRACE_ROOT_SERVICE,
                    strata_block::schema::col::TRACE_SERVICE_STATS,
                    strata_block::schema::col::REPLICA,
                ],
            )
            .await;
            (meta, reader.read_all().await.unwrap(), trace_cols)
        })
    };
    let (one_group, rows, cols) = read(100_000);
    let (small_groups, small_rows, small_cols) = read(5);
    assert_eq!(one_group.row_groups, 1);
    assert_eq!(one_group.total_spans, 16_800);
    assert!(small_groups.row_groups > 1);
    assert_eq!(rows.len(), 2_100);
    assert_eq!(rows, small_rows, "rows read back");
    assert_eq!(cols, small_cols, "trace-level columns and replica flags");
}
