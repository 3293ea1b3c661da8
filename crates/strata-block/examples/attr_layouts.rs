//! What the span-attribute layout costs in Parquet: the same span attributes for 100,000 spans,
//! built into Arrow and written with the block writer's settings (zstd 3, dictionaries, no
//! statistics) in three layouts, then read back:
//!
//! * **A**, today's `Attrs` (block formats v1–v4): `List<Struct{key, type, str, int, double,
//!   bool, bytes}>`, seven leaves per attribute, five of them null;
//! * **B**, one list per value type: `List<Struct{key, value}>` for strings, integers and
//!   booleans;
//! * **C**, a column per well-known key (Tempo's "dedicated columns"), every other attribute in
//!   A's list.
//!
//! Two data sets: **uniform**, the eight attributes of an HTTP server span on every span (all
//! eight well known: C's best case), and **mixed**, spans of the kinds `strata loadgen` sends
//! (HTTP server and client, database, messaging, internal) with their semantic-convention
//! attributes and one or two custom ones each; C then has a column for each of the 21
//! well-known keys that occur, most of them null on most spans.
//!
//! Wall time of one thread, so compare rows of one run only (docs/BENCHMARKS.md, "Attribute
//! layouts"). The Arrow build uses arrow's generic builders, slower than the block writer's
//! own; the Parquet columns are what the writer's would be.
//!
//!   cargo run --release -p strata-block --example attr_layouts

use std::sync::Arc;
use std::time::Instant;

use arrow_array::builder::*;
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Fields, Schema};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

#[derive(Clone)]
enum V {
    S(String),
    I(i64),
    B(bool),
}

type Row = Vec<(&'static str, V)>;

/// Builds one batch of a layout from rows of attributes (C also takes its keys).
type Layout = fn(&[Row], &[(&'static str, Kind)]) -> RecordBatch;

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Str,
    Int,
}

fn s(k: &'static str, v: impl Into<String>) -> (&'static str, V) {
    (k, V::S(v.into()))
}

fn i(k: &'static str, v: i64) -> (&'static str, V) {
    (k, V::I(v))
}

fn pick<'a>(rng: &mut SmallRng, of: &[&'a str]) -> &'a str {
    of[rng.random_range(0..of.len())]
}

const SERVICES: &[&str] = &["frontend", "cart", "checkout", "payment", "search"];
const ROUTES: &[&str] = &["/cart", "/checkout", "/product/{id}", "/user", "/search"];

fn http_server(rng: &mut SmallRng) -> Row {
    let svc = pick(rng, SERVICES);
    vec![
        s("http.request.method", pick(rng, &["GET", "POST", "PUT"])),
        s("http.route", pick(rng, ROUTES)),
        s("url.scheme", "http"),
        i(
            "http.response.status_code",
            [200, 200, 200, 404, 500][rng.random_range(0..5)],
        ),
        s("server.address", format!("{svc}.shop.svc")),
        s("network.protocol.version", "1.1"),
        s("client.address", "10.0.3.17"),
        s("user_agent.original", "Mozilla/5.0 (X11; Linux x86_64)"),
    ]
}

/// One span of the mixed set: a kind's semantic-convention attributes, then custom ones.
fn mixed(rng: &mut SmallRng) -> Row {
    let svc = pick(rng, SERVICES);
    let mut row = match rng.random_range(0..10) {
        0..=2 => {
            let mut r = http_server(rng);
            r.insert(2, s("url.path", "/product/42"));
            r.insert(6, i("server.port", 8080));
            r
        }
        3..=5 => vec![
            s("http.request.method", pick(rng, &["GET", "POST"])),
            s("url.full", format!("http://{svc}.shop.svc/api")),
            s("server.address", format!("{svc}.shop.svc")),
            i("server.port", 8080),
            i("http.response.status_code", 200),
            s("network.peer.address", "10.0.7.21"),
        ],
        6..=7 => vec![
            s("db.system.name", pick(rng, &["postgresql", "redis"])),
            s("db.operation.name", pick(rng, &["SELECT", "UPDATE", "GET"])),
            s("db.query.text", "SELECT * FROM orders WHERE id = $1"),
            s("db.namespace", "shop"),
            s("server.address", "postgresql.shop.svc"),
        ],
        8 => vec![
            s("messaging.system", "kafka"),
            s("messaging.destination.name", "orders"),
            s("messaging.operation.type", "publish"),
        ],
        _ => Vec::new(),
    };
    row.push(s(
        "app.request.id",
        format!("r-{:08x}", rng.random::<u32>()),
    ));
    if rng.random_bool(0.5) {
        row.push(("app.cache.hit", V::B(rng.random_bool(0.5))));
    }
    row
}

/// The well-known keys among `rows`, in first-seen order, with their value kind.
fn well_known(rows: &[Row]) -> Vec<(&'static str, Kind)> {
    let mut out: Vec<(&'static str, Kind)> = Vec::new();
    for r in rows {
        for (k, v) in r {
            let kind = match v {
                V::S(_) => Kind::Str,
                V::I(_) => Kind::Int,
                V::B(_) => continue,
            };
            if !k.starts_with("app.") && !out.iter().any(|(o, _)| o == k) {
                out.push((k, kind));
            }
        }
    }
    out
}

/// Child `i` of a struct builder, of the type the layout gave it.
fn field<T: ArrayBuilder>(sb: &mut StructBuilder, i: usize) -> &mut T {
    sb.field_builder::<T>(i).expect("the layout's child type")
}

/// A list builder of non-null structs with `fields`.
fn struct_list(fields: Fields) -> ListBuilder<StructBuilder> {
    let element = Field::new("element", DataType::Struct(fields.clone()), false);
    ListBuilder::new(StructBuilder::from_fields(fields, 0)).with_field(element)
}

fn kv_fields_a() -> Fields {
    Fields::from(vec![
        Field::new("key", DataType::Utf8, false),
        Field::new("type", DataType::UInt8, false),
        Field::new("str", DataType::Utf8, true),
        Field::new("int", DataType::Int64, true),
        Field::new("double", DataType::Float64, true),
        Field::new("bool", DataType::Boolean, true),
        Field::new("bytes", DataType::Binary, true),
    ])
}

/// Appends one attribute to a list of A's layout.
fn push_a(b: &mut ListBuilder<StructBuilder>, k: &str, v: &V) {
    let sb = b.values();
    field::<StringBuilder>(sb, 0).append_value(k);
    let (ty, s, i, x) = match v {
        V::S(s) => (1, Some(s.as_str()), None, None),
        V::I(i) => (3, None, Some(*i), None),
        V::B(x) => (2, None, None, Some(*x)),
    };
    field::<UInt8Builder>(sb, 1).append_value(ty);
    field::<StringBuilder>(sb, 2).append_option(s);
    field::<Int64Builder>(sb, 3).append_option(i);
    field::<Float64Builder>(sb, 4).append_null();
    field::<BooleanBuilder>(sb, 5).append_option(x);
    field::<BinaryBuilder>(sb, 6).append_null();
    sb.append(true);
}

fn batch(columns: Vec<(&str, ArrayRef)>) -> RecordBatch {
    let fields: Vec<Field> = columns
        .iter()
        .map(|(n, a)| Field::new(*n, a.data_type().clone(), true))
        .collect();
    let arrays = columns.into_iter().map(|(_, a)| a).collect();
    RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays).expect("experiment")
}

fn layout_a(rows: &[Row], _: &[(&'static str, Kind)]) -> RecordBatch {
    let mut b = struct_list(kv_fields_a());
    for r in rows {
        for (k, v) in r {
            push_a(&mut b, k, v);
        }
        b.append(true);
    }
    batch(vec![("attrs", Arc::new(b.finish()))])
}

/// Per-type lists: strings, integers, booleans, each of `{key, value}`.
fn layout_b(rows: &[Row], _: &[(&'static str, Kind)]) -> RecordBatch {
    let kv = |t: DataType| {
        Fields::from(vec![
            Field::new("key", DataType::Utf8, false),
            Field::new("value", t, false),
        ])
    };
    let mut bs = struct_list(kv(DataType::Utf8));
    let mut bi = struct_list(kv(DataType::Int64));
    let mut bb = struct_list(kv(DataType::Boolean));
    for r in rows {
        for (k, v) in r {
            let sb = match v {
                V::S(x) => {
                    field::<StringBuilder>(bs.values(), 1).append_value(x);
                    bs.values()
                }
                V::I(x) => {
                    field::<Int64Builder>(bi.values(), 1).append_value(*x);
                    bi.values()
                }
                V::B(x) => {
                    field::<BooleanBuilder>(bb.values(), 1).append_value(*x);
                    bb.values()
                }
            };
            field::<StringBuilder>(sb, 0).append_value(k);
            sb.append(true);
        }
        bs.append(true);
        bi.append(true);
        bb.append(true);
    }
    batch(vec![
        ("attrs_str", Arc::new(bs.finish())),
        ("attrs_int", Arc::new(bi.finish())),
        ("attrs_bool", Arc::new(bb.finish())),
    ])
}

/// A column per key of `keys`, every other attribute in A's list.
fn layout_c(rows: &[Row], keys: &[(&'static str, Kind)]) -> RecordBatch {
    let mut strs: Vec<StringBuilder> = Vec::new();
    let mut ints: Vec<Int64Builder> = Vec::new();
    let slot: Vec<usize> = keys
        .iter()
        .map(|(_, kind)| match kind {
            Kind::Str => {
                strs.push(StringBuilder::new());
                strs.len() - 1
            }
            Kind::Int => {
                ints.push(Int64Builder::new());
                ints.len() - 1
            }
        })
        .collect();
    let mut rest = struct_list(kv_fields_a());
    for r in rows {
        let mut seen = vec![false; keys.len()];
        for (k, v) in r {
            let j = keys.iter().position(|(key, _)| key == k);
            match (j, v) {
                (Some(j), V::S(x)) if keys[j].1 == Kind::Str && !seen[j] => {
                    strs[slot[j]].append_value(x);
                    seen[j] = true;
                }
                (Some(j), V::I(x)) if keys[j].1 == Kind::Int && !seen[j] => {
                    ints[slot[j]].append_value(*x);
                    seen[j] = true;
                }
                _ => push_a(&mut rest, k, v),
            }
        }
        for (j, (_, kind)) in keys.iter().enumerate() {
            if !seen[j] {
                match kind {
                    Kind::Str => strs[slot[j]].append_null(),
                    Kind::Int => ints[slot[j]].append_null(),
                }
            }
        }
        rest.append(true);
    }
    let mut columns: Vec<(&str, ArrayRef)> = Vec::new();
    for (j, (key, kind)) in keys.iter().enumerate() {
        let a: ArrayRef = match kind {
            Kind::Str => Arc::new(strs[slot[j]].finish()),
            Kind::Int => Arc::new(ints[slot[j]].finish()),
        };
        columns.push((key, a));
    }
    columns.push(("attrs", Arc::new(rest.finish())));
    batch(columns)
}

/// Seconds to decode every column of `file` back into Arrow.
fn read(file: Vec<u8>) -> f64 {
    let t = Instant::now();
    let reader = ParquetRecordBatchReaderBuilder::try_new(bytes::Bytes::from(file))
        .expect("parquet")
        .with_batch_size(8192)
        .build()
        .expect("reader");
    let mut rows = 0;
    for b in reader {
        rows += b.expect("batch").num_rows();
    }
    assert!(rows > 0);
    t.elapsed().as_secs_f64()
}

fn write(batches: &[RecordBatch]) -> (f64, Vec<u8>) {
    let props = WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::try_new(3).expect("level")))
        .set_dictionary_enabled(true)
        .set_statistics_enabled(parquet::file::properties::EnabledStatistics::None)
        .build();
    let t = Instant::now();
    let mut out = Vec::new();
    let mut w = ArrowWriter::try_new(&mut out, batches[0].schema(), Some(props)).expect("writer");
    for b in batches {
        w.write(b).expect("write");
    }
    w.close().expect("close");
    (t.elapsed().as_secs_f64(), out)
}

fn main() {
    let n = 100_000;
    let mut rng = SmallRng::seed_from_u64(1);
    let sets: [(&str, Vec<Row>); 2] = [
        ("uniform", (0..n).map(|_| http_server(&mut rng)).collect()),
        ("mixed", (0..n).map(|_| mixed(&mut rng)).collect()),
    ];
    println!(
        "| round | data | layout | Arrow build, ns/span | Parquet write, ns/span | Parquet read, ns/span | bytes/span |"
    );
    println!("|---:|---|---|---:|---:|---:|---:|");
    for round in 1..=3 {
        for (data, rows) in &sets {
            let keys = well_known(rows);
            let layouts: [(String, Layout); 3] = [
                ("A: list of 7 leaves".into(), layout_a),
                ("B: a list per type".into(), layout_b),
                (format!("C: {} key columns + A", keys.len()), layout_c),
            ];
            for (name, f) in layouts {
                let t = Instant::now();
                let batches: Vec<RecordBatch> = rows.chunks(8192).map(|c| f(c, &keys)).collect();
                let build = t.elapsed().as_secs_f64();
                let (secs, file) = write(&batches);
                let bytes = file.len();
                let read_secs = read(file);
                println!(
                    "| {round} | {data} | {name} | {:.0} | {:.0} | {:.0} | {:.2} |",
                    build * 1e9 / n as f64,
                    secs * 1e9 / n as f64,
                    read_secs * 1e9 / n as f64,
                    bytes as f64 / n as f64
                );
            }
        }
    }
}
