//! Concatenating blocks: a compaction that copies its inputs' encoded row groups into the
//! output instead of decoding, merging and encoding their rows again.
//!
//! # Format `strata-parquet-v5` ([`FORMAT_V5`])
//!
//! The columns, footer keys and resource table of format v4. Rows are sorted by trace ID
//! within each **sorted run** of row groups, not across runs. A run is a maximal sequence of
//! consecutive row groups in which every row group's smallest `trace_id` (chunk statistics)
//! is not below the previous row group's largest ([`sorted_runs`]); a row group without
//! `trace_id` statistics starts a run. A trace may have rows in several runs: within each it
//! occupies one range of rows, and the trace-level columns describe that range only (as
//! they describe one block's rows of a trace spread over several blocks). Every v1–v4 block
//! is one run.
//!
//! Readers that select row groups by statistics (trace by ID) or walk rows by row group and
//! page (search, metrics) read v5 as v4: a trace's rows in another run are found, or missed,
//! exactly as its rows in another block would be. A reader that needs rows in trace-ID order
//! (a compaction merge) reads each run as a stream of its own
//! ([`BlockReader::run_streams`](crate::BlockReader::run_streams)). Builds before v5 refuse
//! these blocks (unsupported format) rather than misread them.
//!
//! # A concatenation ([`Concat`])
//!
//! Inputs are v4 or v5 blocks. [`Concat::scan`] reads each input's footer, resource table
//! and `trace_id` column (nothing else), so the caller can see how many
//! traces the inputs share before choosing this over a merge ([`Concat::shared_traces`]).
//! [`Concat::write`] then writes every row group of every input, in input order: each column
//! chunk is copied byte for byte (pages, dictionary page, statistics; column and offset
//! index moved to the new offsets), except `resource_ref`, which is mapped into the union of
//! the inputs' resource tables ([`crate::merge_tables`]) and encoded again. Nothing is
//! deduplicated: a span stored in two inputs is stored twice (queriers drop such duplicates
//! between blocks already, and the next merge drops them for good), which is why callers
//! concatenate only inputs that share few traces. `bloom` is built from the inputs' trace IDs
//! and `meta.json` written last, as for every block; a failure before it leaves an orphan
//! directory that readers ignore.
//!
//! Memory: the inputs' trace IDs (16 bytes per trace and run; at most [`MAX_TRACES`]), plus
//! one input row group's and one output row group's bytes at a time.

use std::io::Write;
use std::ops::Range;
use std::sync::Arc;

use arrow_array::{Array, FixedSizeBinaryArray, RecordBatch, UInt32Array};
use bytes::Bytes;
use futures::StreamExt;
use object_store::buffered::BufWriter;
use object_store::{ObjectStore, ObjectStoreExt};
use parquet::arrow::arrow_reader::{ArrowReaderMetadata, ParquetRecordBatchReaderBuilder};
use parquet::arrow::async_reader::ParquetRecordBatchStreamBuilder;
use parquet::arrow::ProjectionMask;
use parquet::basic::Compression;
use parquet::column::writer::ColumnCloseResult;
use parquet::data_type::Int32Type;
use parquet::file::metadata::{KeyValue, ParquetMetaData};
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::file::writer::SerializedFileWriter;
use strata_common::{BlockId, SharedClock, TenantId, TraceId};
use strata_storage::BlockPaths;
use tokio::io::AsyncWriteExt;

use crate::at::At;
use crate::bloom::Bloom;
use crate::error::{BlockError, Result};
use crate::meta::{write_meta, BlockMeta, FORMAT_KEY, FORMAT_V4, FORMAT_V5};
use crate::reader::BlockReader;
use crate::resources::{merge_tables, RESOURCES_KEY};
use crate::schema::col;
use crate::writer::{WriterOptions, SERVICE_NAME_EXACT_KEY};

/// Most trace IDs (by the inputs' `meta.json`) a concatenation takes: it holds them in memory
/// (16 bytes each) to count the traces its inputs share and to build the bloom.
pub const MAX_TRACES: u64 = 8 << 20;

/// The sorted runs of a file's row groups (see the module docs). Files of a format other than
/// v5 are one run by their format's invariant.
pub fn sorted_runs(md: &ParquetMetaData, format: &str) -> Vec<Range<usize>> {
    let n = md.num_row_groups();
    if n == 0 {
        return Vec::new();
    }
    if format != FORMAT_V5 {
        let all = 0..n;
        return vec![all];
    }
    let Some(leaf) = leaf_of(md, col::TRACE_ID) else {
        return (0..n).map(|i| i..i + 1).collect();
    };
    let stats = |i: usize| md.row_group(i).column(leaf).statistics();
    let mut runs = Vec::new();
    let mut start = 0;
    for i in 1..n {
        let prev_max = stats(i - 1).and_then(|s| s.max_bytes_opt());
        let min = stats(i).and_then(|s| s.min_bytes_opt());
        let continues = matches!((prev_max, min), (Some(p), Some(m)) if p <= m);
        if !continues {
            runs.push(start..i);
            start = i;
        }
    }
    runs.push(start..n);
    runs
}

/// The leaf column index of the top-level column `name`.
fn leaf_of(md: &ParquetMetaData, name: &str) -> Option<usize> {
    (md.file_metadata().schema_descr().columns().iter()).position(|c| c.path().string() == name)
}

/// One input, as scanned.
#[derive(Debug)]
struct Input {
    file: ArrowReaderMetadata,
    /// Its resource table's rows to the merged table's.
    map: Vec<u32>,
    /// Its trace IDs, one per trace and run (consecutive repeats removed).
    ids: Vec<TraceId>,
    runs: usize,
}

/// A concatenation being prepared; see the module docs.
#[derive(Debug)]
pub struct Concat {
    inputs: Vec<Input>,
    /// The union of the inputs' resource tables: the output's.
    table: crate::ResourceTable,
    distinct: Vec<TraceId>,
    entries: u64,
}

impl Concat {
    /// Reads what a concatenation of `readers` (in this order) needs; see the module docs.
    /// Every input must be a v4 or v5 block, and together they may hold at most
    /// [`MAX_TRACES`] trace IDs (by their `meta.json`).
    pub async fn scan(readers: &[BlockReader]) -> Result<Self> {
        let traces: u64 = readers.iter().map(|r| r.meta().total_traces).sum();
        if readers.is_empty() || traces > MAX_TRACES {
            return Err(BlockError::InvalidOptions(format!(
                "{} blocks of {traces} traces: a concatenation takes 1 to {MAX_TRACES} traces",
                readers.len()
            )));
        }
        let mut tables = Vec::with_capacity(readers.len());
        for r in readers {
            let format = r.meta().format.as_str();
            if format != FORMAT_V4 && format != FORMAT_V5 {
                return Err(BlockError::InvalidOptions(format!(
                    "block {} is {format}; only {FORMAT_V4} and {FORMAT_V5} blocks are concatenated",
                    r.meta().block_id
                )));
            }
            tables.push(r.resource_table().await?.ok_or_else(|| {
                BlockError::corrupt(r.meta().block_id, "a v4 block without a resource table")
            })?);
        }
        let mut merge = merge_tables(&tables.iter().map(|t| t.as_ref()).collect::<Vec<_>>())?;
        let table = merge.builder.finish_resource_table()?;
        let mut inputs = Vec::with_capacity(readers.len());
        let mut all = Vec::new();
        for (r, map) in readers.iter().zip(merge.maps) {
            let input = scan_input(r, map).await?;
            all.extend_from_slice(&input.ids);
            inputs.push(input);
        }
        let entries = all.len() as u64;
        all.sort_unstable();
        all.dedup();
        Ok(Self {
            inputs,
            table,
            distinct: all,
            entries,
        })
    }

    /// Trace entries (one per trace and run of each input) beyond the first of each distinct
    /// trace: 0 when no trace is in two runs.
    pub fn shared_traces(&self) -> u64 {
        self.entries - self.distinct.len() as u64
    }

    /// Distinct traces of the inputs.
    pub fn distinct_traces(&self) -> u64 {
        self.distinct.len() as u64
    }

    /// Sorted runs the output will have.
    pub fn output_runs(&self) -> usize {
        self.inputs.iter().map(|i| i.runs).sum()
    }

    /// Writes the concatenation of `readers` (the ones given to [`scan`](Self::scan), in the
    /// same order) as block `block_id`; see the module docs. `opts` gives the bloom's
    /// false-positive rate and the zstd level of the re-encoded `resource_ref`.
    #[allow(clippy::too_many_arguments)]
    pub async fn write(
        self,
        store: Arc<dyn ObjectStore>,
        tenant: TenantId,
        block_id: BlockId,
        readers: &[BlockReader],
        opts: &WriterOptions,
        clock: &SharedClock,
        compaction_level: u32,
    ) -> Result<BlockMeta> {
        if readers.len() != self.inputs.len() {
            return Err(BlockError::InvalidOptions(
                "concatenation written with other inputs than it scanned".into(),
            ));
        }
        let zstd = opts.validate()?;
        let paths = BlockPaths::new(tenant, block_id);
        let first = self.inputs[0].file.metadata();
        let exact =
            (self.inputs.iter()).all(|i| crate::writer::service_name_exact(i.file.metadata()));
        let mut kvs: Vec<KeyValue> = (first.file_metadata().key_value_metadata())
            .map(|kvs| {
                kvs.iter()
                    .filter(|kv| {
                        ![FORMAT_KEY, RESOURCES_KEY, SERVICE_NAME_EXACT_KEY]
                            .contains(&kv.key.as_str())
                    })
                    .cloned()
                    .collect()
            })
            .unwrap_or_default();
        kvs.push(KeyValue::new(FORMAT_KEY.to_string(), FORMAT_V5.to_string()));
        kvs.push(KeyValue::new(
            RESOURCES_KEY.to_string(),
            self.table.to_footer_value(zstd)?,
        ));
        if exact {
            kvs.push(KeyValue::new(
                SERVICE_NAME_EXACT_KEY.to_string(),
                "true".to_string(),
            ));
        }
        let props = WriterProperties::builder()
            .set_compression(Compression::ZSTD(zstd))
            .set_dictionary_enabled(true)
            .set_statistics_enabled(EnabledStatistics::None)
            .set_key_value_metadata(Some(kvs))
            .build();
        let root = first.file_metadata().schema_descr().root_schema_ptr();
        let ref_leaf = leaf_of(first, col::RESOURCE_REF)
            .ok_or_else(|| BlockError::corrupt(block_id, "no resource_ref column"))?;
        let out = Shared::default();
        let mut parquet = SerializedFileWriter::new(out.clone(), root, Arc::new(props))?;
        let mut sink = BufWriter::new(store.clone(), paths.data());
        let copied = copy_row_groups(
            &self.inputs,
            readers,
            &mut parquet,
            &out,
            &mut sink,
            ref_leaf,
        )
        .await
        .and_then(|()| Ok(parquet.close()?.num_row_groups()));
        let row_groups = match copied {
            Ok(n) => n,
            Err(e) => {
                // Best effort: without `meta.json` the block is never read either way.
                let _ = sink.abort().await;
                return Err(e);
            }
        };
        let tail = out.take();
        let flushed = match sink.write_all(&tail).await {
            Ok(()) => sink.shutdown().await,
            Err(e) => Err(e),
        };
        if let Err(e) = flushed {
            let _ = sink.abort().await;
            return Err(io(e));
        }
        let size_bytes = store.head(&paths.data()).await?.size;

        let mut bloom = Bloom::new(self.distinct.len(), opts.bloom_false_positive);
        for id in &self.distinct {
            bloom.insert(id);
        }
        let bloom_bytes = bloom.to_bytes();
        let bloom_len = bloom_bytes.len() as u64;
        store.put(&paths.bloom(), bloom_bytes.into()).await?;
        let metas = readers.iter().map(BlockReader::meta);
        let meta = BlockMeta {
            format: FORMAT_V5.to_string(),
            block_id,
            tenant_id: paths.tenant.as_str().to_string(),
            start_time_unix_nano: metas
                .clone()
                .map(|m| m.start_time_unix_nano)
                .min()
                .unwrap_or(0),
            end_time_unix_nano: metas
                .clone()
                .map(|m| m.end_time_unix_nano)
                .max()
                .unwrap_or(0),
            total_traces: self.distinct.len() as u64,
            total_spans: metas.clone().map(|m| m.total_spans).sum(),
            size_bytes,
            bloom_bytes: bloom_len,
            row_groups: u32::try_from(row_groups).unwrap_or(u32::MAX),
            compaction_level,
            created_unix_nano: clock.now_unix_nanos(),
            compacted_from: metas.map(|m| m.block_id).collect(),
        };
        write_meta(store.as_ref(), &meta).await?;
        Ok(meta)
    }
}

/// A write error of the object store's buffered writer.
fn io(e: std::io::Error) -> BlockError {
    BlockError::ObjectStore(object_store::Error::Generic {
        store: "BufWriter",
        source: Box::new(e),
    })
}

/// Copies every row group of every input into `parquet`, handing the bytes written to `sink`
/// after each row group.
async fn copy_row_groups(
    inputs: &[Input],
    readers: &[BlockReader],
    parquet: &mut SerializedFileWriter<Shared>,
    out: &Shared,
    sink: &mut BufWriter,
    ref_leaf: usize,
) -> Result<()> {
    for (input, reader) in inputs.iter().zip(readers) {
        let md = input.file.metadata();
        let data = reader.meta().paths()?.data();
        for rg in 0..md.num_row_groups() {
            let group = md.row_group(rg);
            let (lo, hi) = (group.columns().iter())
                .map(|c| c.byte_range())
                .fold((u64::MAX, 0u64), |(lo, hi), (at, len)| {
                    (lo.min(at), hi.max(at + len))
                });
            let chunk = At {
                start: lo,
                bytes: match lo < hi {
                    true => reader.store().get_range(&data, lo..hi).await?,
                    false => Bytes::new(),
                },
            };
            let index = md.page_index_for_row_group(rg);
            let mut w = parquet.next_row_group()?;
            for (c, column) in group.columns().iter().enumerate() {
                if c == ref_leaf {
                    let refs = mapped_refs(&chunk, input, rg, ref_leaf, reader.meta().block_id)?;
                    let mut cw = w.next_column()?.ok_or_else(|| {
                        BlockError::corrupt(reader.meta().block_id, "fewer columns than the schema")
                    })?;
                    cw.typed::<Int32Type>().write_batch(&refs, None, None)?;
                    cw.close()?;
                    continue;
                }
                w.append_column(
                    &chunk,
                    ColumnCloseResult {
                        bytes_written: column.compressed_size() as u64,
                        rows_written: group.num_rows() as u64,
                        metadata: column.clone(),
                        bloom_filter: None,
                        column_index: index.column_index(c).cloned(),
                        offset_index: index.offset_index(c).cloned(),
                    },
                )?;
            }
            w.close()?;
            let bytes = out.take();
            sink.write_all(&bytes).await.map_err(io)?;
        }
    }
    Ok(())
}

/// Row group `rg`'s `resource_ref`s, decoded from `chunk` and mapped into the merged table
/// (UInt32 is stored as INT32: the same 32 bits).
fn mapped_refs(
    chunk: &At,
    input: &Input,
    rg: usize,
    ref_leaf: usize,
    block: BlockId,
) -> Result<Vec<i32>> {
    let md = input.file.metadata();
    let mask = ProjectionMask::leaves(md.file_metadata().schema_descr(), [ref_leaf]);
    let batches =
        ParquetRecordBatchReaderBuilder::new_with_metadata(chunk.clone(), input.file.clone())
            .with_row_groups(vec![rg])
            .with_projection(mask)
            .with_batch_size(64 * 1024)
            .build()?;
    let mut out = Vec::with_capacity(md.row_group(rg).num_rows() as usize);
    for batch in batches {
        let batch = batch?;
        let refs = (batch.column(0).as_any())
            .downcast_ref::<UInt32Array>()
            .filter(|a| a.null_count() == 0)
            .ok_or_else(|| BlockError::corrupt(block, "resource_ref is not UInt32"))?;
        for &r in refs.values() {
            let mapped = input.map.get(r as usize).ok_or_else(|| {
                BlockError::corrupt(block, format!("resource_ref {r} outside its table"))
            })?;
            out.push(*mapped as i32);
        }
    }
    Ok(out)
}

/// Reads one input's footer and `trace_id`; `map` takes its resource table's rows to the
/// merged table's.
async fn scan_input(reader: &BlockReader, map: Vec<u32>) -> Result<Input> {
    let block = reader.meta().block_id;
    let counter = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let mut source = reader.source(&counter)?;
    let file = reader.file(&mut source).await?;
    let md = file.metadata();
    let runs = sorted_runs(md, &reader.meta().format).len();
    let id_leaf = leaf_of(md, col::TRACE_ID)
        .ok_or_else(|| BlockError::corrupt(block, "no trace_id column"))?;
    let mask = ProjectionMask::leaves(md.file_metadata().schema_descr(), [id_leaf]);
    let mut stream = ParquetRecordBatchStreamBuilder::new_with_metadata(source, file.clone())
        .with_projection(mask)
        .with_batch_size(64 * 1024)
        .build()?;
    let mut ids: Vec<TraceId> = Vec::with_capacity(reader.meta().total_traces as usize);
    while let Some(batch) = stream.next().await {
        let batch: RecordBatch = batch?;
        let col = (batch.column(0).as_any())
            .downcast_ref::<FixedSizeBinaryArray>()
            .filter(|a| a.value_length() == 16 && a.null_count() == 0)
            .ok_or_else(|| BlockError::corrupt(block, "trace_id is not 16 bytes wide"))?;
        for v in col.iter().flatten() {
            let id =
                TraceId::from_slice(v).map_err(|e| BlockError::corrupt(block, e.to_string()))?;
            if ids.last() != Some(&id) {
                ids.push(id);
            }
        }
    }
    Ok(Input {
        file,
        map,
        ids,
        runs,
    })
}

/// The output file's bytes not yet handed to the store.
#[derive(Debug, Clone, Default)]
struct Shared(Arc<parking_lot::Mutex<Vec<u8>>>);

impl Shared {
    fn take(&self) -> Vec<u8> {
        std::mem::take(&mut *self.0.lock())
    }
}

impl Write for Shared {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
