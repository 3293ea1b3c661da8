//! Block formats v3 (`strata-parquet-v3`), v4 (`strata-parquet-v4`: each distinct resource
//! once, see [`resources`]) and v5 (`strata-parquet-v5`: v4 in sorted runs, made by a
//! compaction that concatenates blocks, see [`concat`]); v1 and v2 are still read: immutable
//! blocks of spans in an object store.
//!
//! A block is three objects under `<tenant>/<block-id>/` (keys from [`strata_storage::BlockPaths`]):
//!
//! * `data.parquet`: one row per span, sorted by (trace ID, span start time) (in v5, within
//!   each sorted run of row groups). The schema and
//!   its invariants are documented in [`schema`].
//! * `bloom`: a [`Bloom`] filter over the block's trace IDs (binary format in [`bloom`]).
//! * `meta.json`: a [`BlockMeta`]. Written **last**, so its presence means the block is complete;
//!   readers ignore blocks without it.
//!
//! The ingester writes blocks with [`BlockWriter`]; the querier checks [`read_bloom`] and then
//! looks traces up with [`BlockReader::find_trace`]. Every OTLP field survives the round trip
//! (see [`schema`] for the single caveat about merging identical resources/scopes).

mod at;
pub mod bloom;
pub mod compacted;
pub mod concat;
mod convert;
mod dict;
mod error;
mod footer_cache;
mod guard;
pub mod index;
mod layout;
mod merge;
mod meta;
mod reader;
pub mod resources;
mod rows;
mod scan;
pub mod schema;
mod stream;
mod writer;

pub use bloom::Bloom;
pub use compacted::{compacted_path, read_compacted, write_compacted, CompactedMarker};
pub use concat::{sorted_runs, Concat};
pub use convert::{BatchView, ResourceCtx, ScopeCtx, SpanBatchBuilder, TraceAssembler};
pub use dict::ChunkDictionary;
pub use error::{BlockError, Result};
pub use footer_cache::{FooterCache, FooterCacheStats};
pub use index::{
    index_path, list_block_dirs, read_index, write_index, BlockObjects, CompactedEntry, TenantIndex,
};
pub use merge::{dedup_spans, MergedTrace, TraceMerger};
pub use meta::{
    parse_meta, read_meta, BlockMeta, FORMAT_KEY, FORMAT_V1, FORMAT_V2, FORMAT_V4, FORMAT_V5,
    FORMAT_VERSION, READ_FORMATS, WRITE_FORMATS,
};
pub use parquet::arrow::arrow_reader::{RowSelection, RowSelector};
pub use reader::{read_bloom, BlockReader, FindResult, WHOLE_FILE_BYTES, WHOLE_READ_BYTES};
pub use resources::{merge_tables, ResourceMerge, ResourceTable};
pub use rows::{MergedRows, RowMerger, RowRef, RowStream, TraceRows};
pub use scan::{Scan, ScanRequest};
pub use stream::{StreamedTrace, TraceStream};
pub use writer::{
    service_name_exact, BlockWriter, TraceShare, WriterOptions, SERVICE_NAME_EXACT_KEY,
};
