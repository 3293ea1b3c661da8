//! What the span-attribute layout costs in Parquet: the same attributes (the eight of
//! `strata loadgen`'s HTTP server spans: seven strings and one integer, semantic-convention
//! keys) for 100,000 spans, built into Arrow and written with the block writer's settings
//! (zstd 3, dictionaries, no statistics) in three layouts, then read back:
//!
//! * **A**, today's `Attrs` (block formats v1–v4): `List<Struct{key, type, str, int, double,
//!   bool, bytes}>`, seven leaves per attribute, five of them null;
//! * **B**, one list per value type: `List<Struct{key, value: Utf8}>` and
//!   `List<Struct{key, value: Int64}>`;
//! * **C**, a column per well-known key (as Tempo's dedicated columns) and an empty generic
//!   list for the rest.
//!
//! Wall time of one thread, so compare rows of the same run only (docs/BENCHMARKS.md,
//! "Attribute layouts"). The Arrow build uses arrow's generic builders, slower than the block
//! writer's own; the Parquet columns are what the writer's would be.
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
use rand::{Rng, SeedableRng};

/// Builds one batch of a layout from rows of attributes.
type Layout = fn(&[Vec<(&'static str, V)>]) -> RecordBatch;

#[derive(Clone)]
enum V {
    S(String),
    I(i64),
}

fn attrs(rng: &mut rand::rngs::SmallRng) -> Vec<(&'static str, V)> {
    let methods = ["GET", "POST", "PUT"];
    let routes = ["/cart", "/checkout", "/product/{id}", "/user", "/search"];
    let svcs = ["frontend", "cart", "checkout", "payment", "search"];
    let svc = svcs[rng.random_range(0..5)];
    vec![
        (
            "http.request.method",
            V::S(methods[rng.random_range(0..3)].into()),
        ),
        ("http.route", V::S(routes[rng.random_range(0..5)].into())),
        ("url.scheme", V::S("http".into())),
        (
            "http.response.status_code",
            V::I([200, 200, 200, 404, 500][rng.random_range(0..5)]),
        ),
        ("server.address", V::S(format!("{svc}.shop.svc"))),
        ("network.protocol.version", V::S("1.1".into())),
        ("client.address", V::S("10.0.3.17".into())),
        (
            "user_agent.original",
            V::S("Mozilla/5.0 (X11; Linux x86_64)".into()),
        ),
    ]
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

fn layout_a(rows: &[Vec<(&'static str, V)>]) -> RecordBatch {
    let mut b = struct_list(kv_fields_a());
    for r in rows {
        let sb = b.values();
        for (k, v) in r {
            field::<StringBuilder>(sb, 0).append_value(k);
            match v {
                V::S(s) => {
                    field::<UInt8Builder>(sb, 1).append_value(1);
                    field::<StringBuilder>(sb, 2).append_value(s);
                    field::<Int64Builder>(sb, 3).append_null();
                }
                V::I(i) => {
                    field::<UInt8Builder>(sb, 1).append_value(3);
                    field::<StringBuilder>(sb, 2).append_null();
                    field::<Int64Builder>(sb, 3).append_value(*i);
                }
            }
            field::<Float64Builder>(sb, 4).append_null();
            field::<BooleanBuilder>(sb, 5).append_null();
            field::<BinaryBuilder>(sb, 6).append_null();
            sb.append(true);
        }
        b.append(true);
    }
    let a: ArrayRef = Arc::new(b.finish());
    let schema = Schema::new(vec![Field::new("attrs", a.data_type().clone(), false)]);
    RecordBatch::try_new(Arc::new(schema), vec![a]).expect("experiment")
}

/// Per-type lists: str list of {key, value}, int list of {key, value}.
fn layout_b(rows: &[Vec<(&'static str, V)>]) -> RecordBatch {
    let fs = Fields::from(vec![
        Field::new("key", DataType::Utf8, false),
        Field::new("value", DataType::Utf8, false),
    ]);
    let fi = Fields::from(vec![
        Field::new("key", DataType::Utf8, false),
        Field::new("value", DataType::Int64, false),
    ]);
    let mut bs = struct_list(fs);
    let mut bi = struct_list(fi);
    for r in rows {
        for (k, v) in r {
            match v {
                V::S(s) => {
                    let sb = bs.values();
                    field::<StringBuilder>(sb, 0).append_value(k);
                    field::<StringBuilder>(sb, 1).append_value(s);
                    sb.append(true);
                }
                V::I(i) => {
                    let sb = bi.values();
                    field::<StringBuilder>(sb, 0).append_value(k);
                    field::<Int64Builder>(sb, 1).append_value(*i);
                    sb.append(true);
                }
            }
        }
        bs.append(true);
        bi.append(true);
    }
    let a: ArrayRef = Arc::new(bs.finish());
    let c: ArrayRef = Arc::new(bi.finish());
    let schema = Schema::new(vec![
        Field::new("attrs_str", a.data_type().clone(), false),
        Field::new("attrs_int", c.data_type().clone(), false),
    ]);
    RecordBatch::try_new(Arc::new(schema), vec![a, c]).expect("experiment")
}

/// Dedicated columns for the well-known keys (all eight here), empty generic list.
fn layout_c(rows: &[Vec<(&'static str, V)>]) -> RecordBatch {
    let keys: Vec<&str> = rows[0].iter().map(|(k, _)| *k).collect();
    let mut cols: Vec<ArrayRef> = Vec::new();
    let mut fields = Vec::new();
    for (j, k) in keys.iter().enumerate() {
        match rows[0][j].1 {
            V::S(_) => {
                let mut b = StringBuilder::new();
                for r in rows {
                    match &r[j].1 {
                        V::S(s) => b.append_value(s),
                        _ => b.append_null(),
                    }
                }
                cols.push(Arc::new(b.finish()));
                fields.push(Field::new(*k, DataType::Utf8, true));
            }
            V::I(_) => {
                let mut b = Int64Builder::new();
                for r in rows {
                    match &r[j].1 {
                        V::I(i) => b.append_value(*i),
                        _ => b.append_null(),
                    }
                }
                cols.push(Arc::new(b.finish()));
                fields.push(Field::new(*k, DataType::Int64, true));
            }
        }
    }
    // The generic list for everything else: empty on every row.
    let mut b = struct_list(kv_fields_a());
    for _ in rows {
        b.append(true);
    }
    let a: ArrayRef = Arc::new(b.finish());
    fields.push(Field::new("attrs", a.data_type().clone(), false));
    cols.push(a);
    RecordBatch::try_new(Arc::new(Schema::new(fields)), cols).expect("experiment")
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
        .set_compression(Compression::ZSTD(
            ZstdLevel::try_new(3).expect("experiment"),
        ))
        .set_dictionary_enabled(true)
        .set_statistics_enabled(parquet::file::properties::EnabledStatistics::None)
        .build();
    let t = Instant::now();
    let mut out = Vec::new();
    let mut w =
        ArrowWriter::try_new(&mut out, batches[0].schema(), Some(props)).expect("experiment");
    for b in batches {
        w.write(b).expect("experiment");
    }
    w.close().expect("experiment");
    (t.elapsed().as_secs_f64(), out)
}

fn main() {
    let mut rng = rand::rngs::SmallRng::seed_from_u64(1);
    let n = 100_000;
    let rows: Vec<_> = (0..n).map(|_| attrs(&mut rng)).collect();
    println!("| round | layout | Arrow build, ns/span | Parquet write, ns/span | Parquet read, ns/span | bytes/span |");
    println!("|---:|---|---:|---:|---:|---:|");
    for round in 1..=3 {
        let layouts: [(&str, Layout); 3] = [
            ("A list<7 leaves>", layout_a),
            ("B typed lists", layout_b),
            ("C dedicated", layout_c),
        ];
        for (name, f) in layouts {
            let t = Instant::now();
            let batches: Vec<RecordBatch> = rows.chunks(8192).map(f).collect();
            let build = t.elapsed().as_secs_f64();
            let (secs, file) = write(&batches);
            let bytes = file.len();
            let read_secs = read(file);
            println!(
                "| {round} | {name} | {:.0} | {:.0} | {:.0} | {:.2} |",
                build * 1e9 / n as f64,
                secs * 1e9 / n as f64,
                read_secs * 1e9 / n as f64,
                bytes as f64 / n as f64
            );
        }
    }
}
