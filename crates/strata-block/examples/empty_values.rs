//! What a string column of empty values costs parquet's writer, by where its Arrow values
//! buffer points: 8,192 rows written 200 times with the block writer's compression (zstd 3),
//! with and without a dictionary, for
//!
//! * every value empty, values buffer of length 0 with no allocation (a dangling pointer: what
//!   an Arrow builder that never received a byte finishes with),
//! * every value empty, values buffer of length 0 inside an allocation (what the block writer
//!   hands parquet since `writer::empty_values`),
//! * every value the same 10 bytes, and two non-empty values among empty ones, for scale.
//!
//! Wall time of one thread; compare rows of one run only (docs/BENCHMARKS.md, "Empty strings").
//!
//!   cargo run --release -p strata-block --example empty_values

use std::sync::Arc;
use std::time::Instant;

use arrow_array::{ArrayRef, RecordBatch, StringArray};
use arrow_buffer::{Buffer, OffsetBuffer};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::{EnabledStatistics, WriterProperties};

const ROWS: usize = 8192;
const ROUNDS: u32 = 200;

/// Microseconds per write of `col` as a one-column file.
fn write_us(col: &ArrayRef, dictionary: bool) -> f64 {
    let batch = RecordBatch::try_from_iter(vec![("c", col.clone())]).expect("one column");
    let start = Instant::now();
    for _ in 0..ROUNDS {
        let props = WriterProperties::builder()
            .set_compression(Compression::ZSTD(ZstdLevel::try_new(3).expect("level 3")))
            .set_dictionary_enabled(dictionary)
            .set_statistics_enabled(EnabledStatistics::Chunk)
            .build();
        let mut w = ArrowWriter::try_new(Vec::new(), batch.schema(), Some(props)).expect("writer");
        w.write(&batch).expect("write");
        std::hint::black_box(w.into_inner().expect("close"));
    }
    start.elapsed().as_secs_f64() * 1e6 / f64::from(ROUNDS)
}

fn empty_strings(values: Buffer) -> ArrayRef {
    Arc::new(StringArray::new(
        OffsetBuffer::new_zeroed(ROWS),
        values,
        None,
    ))
}

fn main() {
    let mut sparse = vec![""; ROWS];
    sparse[5] = "x";
    sparse[4000] = "yy";
    let cases: [(&str, ArrayRef); 4] = [
        (
            "all empty, no allocation",
            empty_strings(Buffer::from_vec(Vec::<u8>::new())),
        ),
        (
            "all empty, allocated buffer",
            empty_strings(Buffer::from_vec(Vec::<u8>::with_capacity(64))),
        ),
        (
            "all the same 10 bytes",
            Arc::new(StringArray::from(vec!["abcdefghij"; ROWS])),
        ),
        ("empty but two", Arc::new(StringArray::from(sparse))),
    ];
    println!("| {ROWS} rows | dictionary, µs | plain, µs |");
    println!("|---|---:|---:|");
    for (name, col) in &cases {
        println!(
            "| {name} | {:.0} | {:.0} |",
            write_us(col, true),
            write_us(col, false)
        );
    }
}
