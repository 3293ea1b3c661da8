//! The Arrow/Parquet schema of `data.parquet`, format [`FORMAT_VERSION`](crate::FORMAT_VERSION)
//! (`strata-parquet-v3`, [`block_schema`]). The older formats, still read, have a prefix of its
//! columns: `strata-parquet-v2` ([`span_schema`]) has every column up to `replica` and none of
//! the trace-level columns; `strata-parquet-v1` ([`span_schema_v1`]) also lacks `replica`.
//! [`schema_for`] gives the schema of each. `strata-parquet-v4` ([`block_schema_v4`]) has the
//! columns of v3 with the four resource columns (`resource_attrs`,
//! `resource_dropped_attributes_count`, `resource_entity_refs`, `resource_schema_url`)
//! replaced, at the same place, by `resource_ref` (UInt32): the row of the block's resource
//! table, in the Parquet footer, that holds those four columns once per distinct resource
//! (format and invariants in [`crate::resources`]). Everything else below holds for v4 too.
//!
//! This is a persisted format: changing a column's name, type, nullability or meaning, or a
//! type tag, requires a new format version.
//!
//! # Rows and order
//!
//! One row per span. Rows are sorted by `trace_id` (bytewise), then `start_time_unix_nano`;
//! spans of one trace with equal start times keep the order in which they were added. A trace
//! may straddle two row groups. Format v5 (`strata-parquet-v5`, the v4 schema) holds several
//! such sorted runs of row groups one after the other, and a trace may have rows in more
//! than one run (see [`crate::concat`]).
//!
//! # Columns
//!
//! | column | type | notes |
//! |---|---|---|
//! | `trace_id` | FixedSizeBinary(16) | page-level statistics; the row-group pruning key |
//! | `span_id` | Binary | raw bytes, any length (no dictionary) |
//! | `parent_span_id` | Binary | empty for a root span (no dictionary) |
//! | `trace_state` | Utf8 | |
//! | `flags` | UInt32 | `Span.flags` |
//! | `name` | Utf8 | dictionary-encoded in Parquet |
//! | `kind` | Int32 | `Span.kind`, stored as sent (unknown values kept) |
//! | `start_time_unix_nano` | UInt64 | |
//! | `end_time_unix_nano` | UInt64 | authoritative end, exact even when end < start |
//! | `duration_nano` | UInt64 | derived, `end.saturating_sub(start)`; for queries only |
//! | `status_code` | Int32, nullable | null ⇔ `Span.status` absent |
//! | `status_message` | Utf8, nullable | null ⇔ `Span.status` absent |
//! | `dropped_attributes_count`, `dropped_events_count`, `dropped_links_count` | UInt32 | |
//! | `service_name` | Utf8, nullable | copy of the first string resource attribute `service.name`; null if none |
//! | `resource_attrs` | Attrs, nullable | null ⇔ `ResourceSpans.resource` absent |
//! | `resource_dropped_attributes_count` | UInt32, nullable | null ⇔ resource absent |
//! | `resource_entity_refs` | `List<Binary>`, nullable | each item a prost-encoded `EntityRef`; null ⇔ resource absent |
//! | `resource_schema_url` | Utf8 | `ResourceSpans.schema_url` |
//! | `scope_name`, `scope_version` | Utf8, nullable | null ⇔ `ScopeSpans.scope` absent |
//! | `scope_attrs` | Attrs, nullable | null ⇔ scope absent |
//! | `scope_dropped_attributes_count` | UInt32, nullable | null ⇔ scope absent |
//! | `scope_schema_url` | Utf8 | `ScopeSpans.schema_url` |
//! | `attrs` | Attrs | span attributes |
//! | `events` | `List<Struct{time_unix_nano UInt64, name Utf8, attrs Attrs, dropped_attributes_count UInt32}>` | in span order |
//! | `links` | `List<Struct{trace_id Binary, span_id Binary, trace_state Utf8, flags UInt32, attrs Attrs, dropped_attributes_count UInt32}>` | in span order |
//! | `replica` | Boolean | v2 and later. True for a replica copy of a span (an ingester's copy that a replicated push marked `replica`, see `strata-ring`'s push module): TraceQL metrics skip these rows so each span counts once; search and trace by ID read every row. Compaction keeps one copy of a span and marks it replica only if every copy was. |
//!
//! | `trace_spans` | UInt32, nullable | v3. Trace-level (see below): rows of the trace in this block |
//! | `trace_start_unix_nano` | UInt64, nullable | v3. Trace-level: earliest `start_time_unix_nano` of the trace's rows |
//! | `trace_end_unix_nano` | UInt64, nullable | v3. Trace-level: latest `end_time_unix_nano` of the trace's rows |
//! | `trace_root_service` | Utf8, nullable | v3. Trace-level: `service_name` of the root row; null when there is no root or it has no service name |
//! | `trace_root_name` | Utf8, nullable | v3. Trace-level: `name` of the root row; null ⇔ no root |
//! | `trace_service_stats` | `List<Struct{service Utf8, spans UInt32, errors UInt32}>`, nullable | v3. Trace-level: per distinct non-null `service_name` of the trace's rows, ascending by name: its rows, and those with `status_code` 2 |
//!
//! # Trace-level columns (v3)
//!
//! Set on the **first row of each trace** in the file and null on every other row, so that a
//! reader gets a trace's summary without decoding its spans (nulls cost next to nothing to
//! store and to decode). `trace_spans` is the marker: non-null exactly on a trace's first row,
//! and the trace's rows are that row and the `trace_spans - 1` rows after it (the trace may
//! straddle row groups). The root row is the trace's first row (in file order) with an empty
//! `parent_span_id`. Every value describes the trace's spans **in this block** only (a trace
//! may be spread over several blocks; readers combine them). Every row counts, `replica`
//! rows too. All of it is derived from the span columns: a reader may ignore it, and gets the
//! same answers.
//!
//! Resource and scope are denormalised onto every span row. Reading groups spans back under
//! equal (resource, resource schema URL) and then equal (scope, scope schema URL); two
//! `ResourceSpans` (or `ScopeSpans`) of one trace with identical content therefore come back
//! merged into one. Nothing else is lost.
//!
//! # Attributes (`Attrs`)
//!
//! `List<Struct{key Utf8, type UInt8, str Utf8?, int Int64?, double Float64?, bool Boolean?,
//! bytes Binary?}>`, in the order they were sent. `type` says which value column is set; all
//! other value columns are null:
//!
//! | tag | meaning | value column |
//! |---|---|---|
//! | 0 | `KeyValue.value` absent | none |
//! | 1 | string | `str` |
//! | 2 | bool | `bool` |
//! | 3 | int | `int` |
//! | 4 | double | `double` |
//! | 5 | bytes | `bytes` |
//! | 6 | array | `bytes`: prost-encoded `ArrayValue` |
//! | 7 | kvlist | `bytes`: prost-encoded `KeyValueList` |
//! | 8 | `AnyValue` present but empty (no value set) | none |
//! | 9 | string-table index (OTLP profiling only) | `int` |
//!
//! Arrays and kvlists are kept as protobuf so nested values round-trip exactly; the scalar
//! types get typed columns so a query engine can filter them without decoding.
//! `KeyValue.key_strindex`, used only by the OTLP profiling signal, is not stored.
//!
//! # File metadata
//!
//! The Parquet key-value metadata holds `strata.format` (the format version), next to the Arrow
//! schema the Parquet writer embeds (readers check both). Pages are zstd-compressed at the
//! configured level, dictionary encoding is on (off for `span_id` and `parent_span_id`),
//! statistics are kept per page (and so per column chunk) for the scalar columns search
//! filters on (`trace_id`, `name`, `kind`, start/end/duration, `status_code`, `service_name`:
//! their column index is written) and per column chunk for the `type` leaf of
//! `resource_attrs`; other leaves have none (blocks written before 2026-12-05 have chunk
//! statistics on every leaf; a reader must treat missing statistics as "anything may be
//! there"). The offset index is written for every column (so row selections skip pages), and a
//! row group holds at most `row_group_max_spans` rows. None of this changes how a reader must
//! decode the file.

use std::sync::{Arc, OnceLock};

use arrow_schema::{DataType, Field, Fields, Schema, SchemaRef};

/// Column names.
pub mod col {
    pub const TRACE_ID: &str = "trace_id";
    pub const SPAN_ID: &str = "span_id";
    pub const PARENT_SPAN_ID: &str = "parent_span_id";
    pub const TRACE_STATE: &str = "trace_state";
    pub const FLAGS: &str = "flags";
    pub const NAME: &str = "name";
    pub const KIND: &str = "kind";
    pub const START: &str = "start_time_unix_nano";
    pub const END: &str = "end_time_unix_nano";
    pub const DURATION: &str = "duration_nano";
    pub const STATUS_CODE: &str = "status_code";
    pub const STATUS_MESSAGE: &str = "status_message";
    pub const DROPPED_ATTRS: &str = "dropped_attributes_count";
    pub const DROPPED_EVENTS: &str = "dropped_events_count";
    pub const DROPPED_LINKS: &str = "dropped_links_count";
    pub const SERVICE_NAME: &str = "service_name";
    pub const RESOURCE_ATTRS: &str = "resource_attrs";
    pub const RESOURCE_DROPPED: &str = "resource_dropped_attributes_count";
    pub const RESOURCE_ENTITY_REFS: &str = "resource_entity_refs";
    pub const RESOURCE_SCHEMA_URL: &str = "resource_schema_url";
    pub const RESOURCE_REF: &str = "resource_ref";
    pub const SCOPE_NAME: &str = "scope_name";
    pub const SCOPE_VERSION: &str = "scope_version";
    pub const SCOPE_ATTRS: &str = "scope_attrs";
    pub const SCOPE_DROPPED: &str = "scope_dropped_attributes_count";
    pub const SCOPE_SCHEMA_URL: &str = "scope_schema_url";
    pub const ATTRS: &str = "attrs";
    pub const EVENTS: &str = "events";
    pub const LINKS: &str = "links";
    pub const REPLICA: &str = "replica";
    pub const TRACE_SPANS: &str = "trace_spans";
    pub const TRACE_START: &str = "trace_start_unix_nano";
    pub const TRACE_END: &str = "trace_end_unix_nano";
    pub const TRACE_ROOT_SERVICE: &str = "trace_root_service";
    pub const TRACE_ROOT_NAME: &str = "trace_root_name";
    pub const TRACE_SERVICE_STATS: &str = "trace_service_stats";

    /// Fields of a `trace_service_stats` struct.
    pub mod stats {
        pub const SERVICE: &str = "service";
        pub const SPANS: &str = "spans";
        pub const ERRORS: &str = "errors";
    }

    /// Fields of an attribute struct.
    pub mod attr {
        pub const KEY: &str = "key";
        pub const TYPE: &str = "type";
        pub const STR: &str = "str";
        pub const INT: &str = "int";
        pub const DOUBLE: &str = "double";
        pub const BOOL: &str = "bool";
        pub const BYTES: &str = "bytes";
    }

    /// Fields of an event struct.
    pub mod event {
        pub const TIME: &str = "time_unix_nano";
        pub const NAME: &str = "name";
        pub const ATTRS: &str = "attrs";
        pub const DROPPED_ATTRS: &str = "dropped_attributes_count";
    }

    /// Fields of a link struct.
    pub mod link {
        pub const TRACE_ID: &str = "trace_id";
        pub const SPAN_ID: &str = "span_id";
        pub const TRACE_STATE: &str = "trace_state";
        pub const FLAGS: &str = "flags";
        pub const ATTRS: &str = "attrs";
        pub const DROPPED_ATTRS: &str = "dropped_attributes_count";
    }
}

/// Attribute value type tags (the `type` field of an attribute struct).
pub mod tag {
    pub const ABSENT: u8 = 0;
    pub const STRING: u8 = 1;
    pub const BOOL: u8 = 2;
    pub const INT: u8 = 3;
    pub const DOUBLE: u8 = 4;
    pub const BYTES: u8 = 5;
    pub const ARRAY: u8 = 6;
    pub const KVLIST: u8 = 7;
    pub const EMPTY: u8 = 8;
    pub const STRING_INDEX: u8 = 9;
}

/// Name of the item field of every list column.
pub const LIST_ITEM: &str = "item";

/// Fields of one attribute.
pub fn attr_fields() -> Fields {
    use col::attr::*;
    Fields::from(vec![
        Field::new(KEY, DataType::Utf8, false),
        Field::new(TYPE, DataType::UInt8, false),
        Field::new(STR, DataType::Utf8, true),
        Field::new(INT, DataType::Int64, true),
        Field::new(DOUBLE, DataType::Float64, true),
        Field::new(BOOL, DataType::Boolean, true),
        Field::new(BYTES, DataType::Binary, true),
    ])
}

/// The item field of an attribute list.
pub fn attr_item_field() -> Arc<Field> {
    Arc::new(Field::new(
        LIST_ITEM,
        DataType::Struct(attr_fields()),
        false,
    ))
}

/// `List<Struct{key, type, str, int, double, bool, bytes}>`.
pub fn attr_list_type() -> DataType {
    DataType::List(attr_item_field())
}

/// Fields of one event.
pub fn event_fields() -> Fields {
    use col::event::*;
    Fields::from(vec![
        Field::new(TIME, DataType::UInt64, false),
        Field::new(NAME, DataType::Utf8, false),
        Field::new(ATTRS, attr_list_type(), false),
        Field::new(DROPPED_ATTRS, DataType::UInt32, false),
    ])
}

/// The item field of the `events` list.
pub fn event_item_field() -> Arc<Field> {
    Arc::new(Field::new(
        LIST_ITEM,
        DataType::Struct(event_fields()),
        false,
    ))
}

/// Fields of one link.
pub fn link_fields() -> Fields {
    use col::link::*;
    Fields::from(vec![
        Field::new(TRACE_ID, DataType::Binary, false),
        Field::new(SPAN_ID, DataType::Binary, false),
        Field::new(TRACE_STATE, DataType::Utf8, false),
        Field::new(FLAGS, DataType::UInt32, false),
        Field::new(ATTRS, attr_list_type(), false),
        Field::new(DROPPED_ATTRS, DataType::UInt32, false),
    ])
}

/// The item field of the `links` list.
pub fn link_item_field() -> Arc<Field> {
    Arc::new(Field::new(
        LIST_ITEM,
        DataType::Struct(link_fields()),
        false,
    ))
}

/// Fields of one `trace_service_stats` entry.
pub fn service_stats_fields() -> Fields {
    use col::stats::*;
    Fields::from(vec![
        Field::new(SERVICE, DataType::Utf8, false),
        Field::new(SPANS, DataType::UInt32, false),
        Field::new(ERRORS, DataType::UInt32, false),
    ])
}

/// The item field of `trace_service_stats`.
pub fn service_stats_item_field() -> Arc<Field> {
    Arc::new(Field::new(
        LIST_ITEM,
        DataType::Struct(service_stats_fields()),
        false,
    ))
}

/// The trace-level columns of format v3, in schema order (see the module docs).
pub fn trace_fields() -> Vec<Field> {
    use col::*;
    vec![
        Field::new(TRACE_SPANS, DataType::UInt32, true),
        Field::new(TRACE_START, DataType::UInt64, true),
        Field::new(TRACE_END, DataType::UInt64, true),
        Field::new(TRACE_ROOT_SERVICE, DataType::Utf8, true),
        Field::new(TRACE_ROOT_NAME, DataType::Utf8, true),
        Field::new(
            TRACE_SERVICE_STATS,
            DataType::List(service_stats_item_field()),
            true,
        ),
    ]
}

/// The item field of `resource_entity_refs`.
pub fn entity_ref_item_field() -> Arc<Field> {
    Arc::new(Field::new(LIST_ITEM, DataType::Binary, false))
}

fn build_schema() -> Schema {
    use col::*;
    let f = |name: &str, dt: DataType, nullable: bool| Field::new(name, dt, nullable);
    Schema::new(vec![
        f(TRACE_ID, DataType::FixedSizeBinary(16), false),
        f(SPAN_ID, DataType::Binary, false),
        f(PARENT_SPAN_ID, DataType::Binary, false),
        f(TRACE_STATE, DataType::Utf8, false),
        f(FLAGS, DataType::UInt32, false),
        f(NAME, DataType::Utf8, false),
        f(KIND, DataType::Int32, false),
        f(START, DataType::UInt64, false),
        f(END, DataType::UInt64, false),
        f(DURATION, DataType::UInt64, false),
        f(STATUS_CODE, DataType::Int32, true),
        f(STATUS_MESSAGE, DataType::Utf8, true),
        f(DROPPED_ATTRS, DataType::UInt32, false),
        f(DROPPED_EVENTS, DataType::UInt32, false),
        f(DROPPED_LINKS, DataType::UInt32, false),
        f(SERVICE_NAME, DataType::Utf8, true),
        f(RESOURCE_ATTRS, attr_list_type(), true),
        f(RESOURCE_DROPPED, DataType::UInt32, true),
        f(
            RESOURCE_ENTITY_REFS,
            DataType::List(entity_ref_item_field()),
            true,
        ),
        f(RESOURCE_SCHEMA_URL, DataType::Utf8, false),
        f(SCOPE_NAME, DataType::Utf8, true),
        f(SCOPE_VERSION, DataType::Utf8, true),
        f(SCOPE_ATTRS, attr_list_type(), true),
        f(SCOPE_DROPPED, DataType::UInt32, true),
        f(SCOPE_SCHEMA_URL, DataType::Utf8, false),
        f(ATTRS, attr_list_type(), false),
        f(EVENTS, DataType::List(event_item_field()), false),
        f(LINKS, DataType::List(link_item_field()), false),
        f(REPLICA, DataType::Boolean, false),
    ])
}

/// The span columns: the schema of format `strata-parquet-v2` files, and of the batches
/// [`SpanBatchBuilder`](crate::SpanBatchBuilder) builds (live data, tests).
pub fn span_schema() -> SchemaRef {
    static SCHEMA: OnceLock<SchemaRef> = OnceLock::new();
    SCHEMA.get_or_init(|| Arc::new(build_schema())).clone()
}

/// The schema of format `strata-parquet-v1` files: [`span_schema`] without `replica`.
pub fn span_schema_v1() -> SchemaRef {
    static SCHEMA: OnceLock<SchemaRef> = OnceLock::new();
    SCHEMA
        .get_or_init(|| {
            let v2 = build_schema();
            let fields: Vec<_> = v2
                .fields()
                .iter()
                .filter(|f| f.name() != col::REPLICA)
                .cloned()
                .collect();
            Arc::new(Schema::new(fields))
        })
        .clone()
}

/// The schema of `data.parquet` in the format this build writes (`strata-parquet-v3`):
/// [`span_schema`] followed by [`trace_fields`].
pub fn block_schema() -> SchemaRef {
    static SCHEMA: OnceLock<SchemaRef> = OnceLock::new();
    SCHEMA
        .get_or_init(|| {
            let mut fields: Vec<Field> = build_schema()
                .fields()
                .iter()
                .map(|f| f.as_ref().clone())
                .collect();
            fields.extend(trace_fields());
            Arc::new(Schema::new(fields))
        })
        .clone()
}

/// The per-span resource columns of formats v1 to v3, in schema order: in format v4 they are
/// the columns of the block's resource table ([`crate::resources`]), and `resource_ref` takes
/// their place in `data.parquet`.
pub const RESOURCE_COLUMNS: [&str; 4] = [
    col::RESOURCE_ATTRS,
    col::RESOURCE_DROPPED,
    col::RESOURCE_ENTITY_REFS,
    col::RESOURCE_SCHEMA_URL,
];

/// Index of `resource_attrs` in [`span_schema`] (and of `resource_ref` in format v4).
pub const RESOURCE_COLUMN_AT: usize = 16;

/// The span columns of format v4: [`span_schema`] with [`RESOURCE_COLUMNS`] replaced by
/// `resource_ref` (the batches a writer of format v4 builds).
pub fn span_schema_v4() -> SchemaRef {
    static SCHEMA: OnceLock<SchemaRef> = OnceLock::new();
    SCHEMA
        .get_or_init(|| Arc::new(Schema::new(with_resource_ref(span_schema().fields()))))
        .clone()
}

/// The schema of `data.parquet` in format v4: [`span_schema_v4`] followed by
/// [`trace_fields`].
pub fn block_schema_v4() -> SchemaRef {
    static SCHEMA: OnceLock<SchemaRef> = OnceLock::new();
    SCHEMA
        .get_or_init(|| Arc::new(Schema::new(with_resource_ref(block_schema().fields()))))
        .clone()
}

/// The schema of a block's resource table (format v4): [`RESOURCE_COLUMNS`] as in
/// [`span_schema`], one row per distinct resource.
pub fn resource_table_schema() -> SchemaRef {
    static SCHEMA: OnceLock<SchemaRef> = OnceLock::new();
    SCHEMA
        .get_or_init(|| {
            let v3 = span_schema();
            let fields: Vec<Field> = RESOURCE_COLUMNS
                .iter()
                .map(|n| v3.field_with_name(n).expect("a v3 column").clone())
                .collect();
            Arc::new(Schema::new(fields))
        })
        .clone()
}

/// `fields` with the run of [`RESOURCE_COLUMNS`] replaced by `resource_ref`.
fn with_resource_ref(fields: &Fields) -> Vec<Field> {
    let mut out = Vec::with_capacity(fields.len() - RESOURCE_COLUMNS.len() + 1);
    for (i, f) in fields.iter().enumerate() {
        if i == RESOURCE_COLUMN_AT {
            out.push(Field::new(col::RESOURCE_REF, DataType::UInt32, false));
        }
        if !RESOURCE_COLUMNS.contains(&f.name().as_str()) {
            out.push(f.as_ref().clone());
        }
    }
    out
}

/// The schema of a file in `format` (one of [`READ_FORMATS`](crate::READ_FORMATS)), or `None`
/// for a format this build does not know.
pub fn schema_for(format: &str) -> Option<SchemaRef> {
    match format {
        crate::meta::FORMAT_V1 => Some(span_schema_v1()),
        crate::meta::FORMAT_V2 => Some(span_schema()),
        crate::meta::FORMAT_VERSION => Some(block_schema()),
        crate::meta::FORMAT_V4 | crate::meta::FORMAT_V5 => Some(block_schema_v4()),
        _ => None,
    }
}

/// Index of the `trace_id` column, the first leaf of the Parquet schema too.
pub const TRACE_ID_COLUMN: usize = 0;
