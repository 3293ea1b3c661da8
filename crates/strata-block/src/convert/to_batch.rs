//! OTLP → Arrow: appends spans as rows of the block schema.

use std::collections::HashMap;
use std::sync::Arc;

use arrow_array::builder::{
    BinaryBuilder, BooleanBuilder, FixedSizeBinaryBuilder, Int32Builder, UInt32Builder,
    UInt64Builder,
};
use arrow_array::{ArrayRef, RecordBatch};
use prost::Message;
use strata_common::TraceId;
use strata_proto::otlp::common::{any_value::Value, InstrumentationScope};
use strata_proto::otlp::resource::Resource;
use strata_proto::otlp::trace::Span;

use super::attrs::AttrListBuilder;
use super::lists::{EntityRefListBuilder, EventListBuilder, LinkListBuilder};
use super::utf8_col::CheckedUtf8Builder;
use crate::error::Result;
use crate::resources::ResourceTable;
use crate::schema::{resource_table_schema, span_schema, span_schema_v4, RESOURCE_COLUMN_AT};

/// The resource a span is appended under.
#[derive(Debug, Clone, Copy)]
pub struct ResourceCtx<'a> {
    pub resource: Option<&'a Resource>,
    pub schema_url: &'a str,
    service_name: Option<&'a str>,
    /// Whether `service_name` is what looking `service.name` up in the resource's attributes
    /// gives (the first entry with that key is a string, or there is none).
    service_name_exact: bool,
    approx_len: usize,
}

impl<'a> ResourceCtx<'a> {
    pub fn new(resource: Option<&'a Resource>, schema_url: &'a str) -> Self {
        let entries = || {
            resource
                .into_iter()
                .flat_map(|r| &r.attributes)
                .filter(|kv| kv.key == "service.name")
        };
        let string = |kv: &'a strata_proto::otlp::common::KeyValue| match kv
            .value
            .as_ref()
            .and_then(|v| v.value.as_ref())
        {
            Some(Value::StringValue(s)) => Some(s.as_str()),
            _ => None,
        };
        let service_name = entries().find_map(string);
        let service_name_exact = entries().next().is_none_or(|kv| string(kv).is_some());
        let approx_len = resource.map_or(0, |r| r.encoded_len()) + schema_url.len();
        Self {
            resource,
            schema_url,
            service_name,
            service_name_exact,
            approx_len,
        }
    }

    /// See the field: when true for every span of a block, the block's `service_name` column
    /// answers `resource.service.name` exactly ([`SERVICE_NAME_EXACT_KEY`](crate::SERVICE_NAME_EXACT_KEY)).
    pub fn service_name_exact(&self) -> bool {
        self.service_name_exact
    }

    /// The `service_name` column's value for spans under this resource.
    pub fn service_name(&self) -> Option<&'a str> {
        self.service_name
    }
}

/// The instrumentation scope a span is appended under.
#[derive(Debug, Clone, Copy)]
pub struct ScopeCtx<'a> {
    pub scope: Option<&'a InstrumentationScope>,
    pub schema_url: &'a str,
}

/// Format v4: the block's distinct resources, and the `resource_ref` column of the rows.
/// The builder's four resource builders then hold the table's rows, not one per span.
#[derive(Debug, Default)]
pub(crate) struct ResourceInterner {
    pub(super) refs: UInt32Builder,
    /// Key of each table row: see [`resource_key`].
    keys: HashMap<Vec<u8>, u32>,
    /// Reused to build keys.
    pub(super) scratch: Vec<u8>,
}

/// The interning key of a resource: a presence byte, then (when present) the resource's
/// protobuf bytes with their length, then the schema URL.
pub(crate) fn resource_key(out: &mut Vec<u8>, msg: Option<&[u8]>, schema_url: &[u8]) {
    out.clear();
    match msg {
        Some(m) => {
            out.push(1);
            out.extend_from_slice(&(m.len() as u64).to_le_bytes());
            out.extend_from_slice(m);
        }
        None => out.push(0),
    }
    out.extend_from_slice(schema_url);
}

/// Accumulates rows; [`finish`](Self::finish) turns them into a [`RecordBatch`] and resets.
#[derive(Debug)]
pub struct SpanBatchBuilder {
    /// Set for format v4 ([`SpanBatchBuilder::with_resource_table`]).
    pub(crate) interner: Option<ResourceInterner>,
    pub(super) rows: usize,
    pub(super) approx_bytes: usize,
    pub(super) trace_id: FixedSizeBinaryBuilder,
    pub(super) span_id: BinaryBuilder,
    pub(super) parent_span_id: BinaryBuilder,
    pub(super) trace_state: CheckedUtf8Builder,
    pub(super) flags: UInt32Builder,
    pub(super) name: CheckedUtf8Builder,
    pub(super) kind: Int32Builder,
    pub(super) start: UInt64Builder,
    pub(super) end: UInt64Builder,
    pub(super) duration: UInt64Builder,
    pub(super) status_code: Int32Builder,
    pub(super) status_message: CheckedUtf8Builder,
    pub(super) dropped_attrs: UInt32Builder,
    pub(super) dropped_events: UInt32Builder,
    pub(super) dropped_links: UInt32Builder,
    pub(super) service_name: CheckedUtf8Builder,
    pub(super) resource_attrs: AttrListBuilder,
    pub(super) resource_dropped: UInt32Builder,
    pub(super) resource_entity_refs: EntityRefListBuilder,
    pub(super) resource_schema_url: CheckedUtf8Builder,
    pub(super) scope_name: CheckedUtf8Builder,
    pub(super) scope_version: CheckedUtf8Builder,
    pub(super) scope_attrs: AttrListBuilder,
    pub(super) scope_dropped: UInt32Builder,
    pub(super) scope_schema_url: CheckedUtf8Builder,
    pub(super) attrs: AttrListBuilder,
    pub(super) events: EventListBuilder,
    pub(super) links: LinkListBuilder,
    pub(super) replica: BooleanBuilder,
}

impl Default for SpanBatchBuilder {
    fn default() -> Self {
        Self {
            interner: None,
            rows: 0,
            approx_bytes: 0,
            trace_id: FixedSizeBinaryBuilder::new(16),
            span_id: BinaryBuilder::new(),
            parent_span_id: BinaryBuilder::new(),
            trace_state: CheckedUtf8Builder::default(),
            flags: UInt32Builder::new(),
            name: CheckedUtf8Builder::default(),
            kind: Int32Builder::new(),
            start: UInt64Builder::new(),
            end: UInt64Builder::new(),
            duration: UInt64Builder::new(),
            status_code: Int32Builder::new(),
            status_message: CheckedUtf8Builder::default(),
            dropped_attrs: UInt32Builder::new(),
            dropped_events: UInt32Builder::new(),
            dropped_links: UInt32Builder::new(),
            service_name: CheckedUtf8Builder::default(),
            resource_attrs: AttrListBuilder::default(),
            resource_dropped: UInt32Builder::new(),
            resource_entity_refs: EntityRefListBuilder::default(),
            resource_schema_url: CheckedUtf8Builder::default(),
            scope_name: CheckedUtf8Builder::default(),
            scope_version: CheckedUtf8Builder::default(),
            scope_attrs: AttrListBuilder::default(),
            scope_dropped: UInt32Builder::new(),
            scope_schema_url: CheckedUtf8Builder::default(),
            attrs: AttrListBuilder::default(),
            events: EventListBuilder::default(),
            links: LinkListBuilder::default(),
            replica: BooleanBuilder::new(),
        }
    }
}

impl SpanBatchBuilder {
    /// A builder of format v4 batches ([`span_schema_v4`]): each distinct resource is kept
    /// once, in the table [`finish_resource_table`](Self::finish_resource_table) returns,
    /// and rows name it in `resource_ref`. The table lives across [`finish`](Self::finish).
    pub(crate) fn with_resource_table() -> Self {
        Self {
            interner: Some(ResourceInterner::default()),
            ..Self::default()
        }
    }

    /// The `resource_ref` of the resource whose key is in the interner's scratch buffer,
    /// appending it to the table with `append` when new. Ref mode only.
    pub(super) fn intern_scratch(
        &mut self,
        append: impl FnOnce(&mut Self) -> Result<()>,
    ) -> Result<u32> {
        let i = self.interner.as_mut().expect("ref mode");
        if let Some(&r) = i.keys.get(i.scratch.as_slice()) {
            return Ok(r);
        }
        let r = u32::try_from(i.keys.len()).map_err(|_| {
            crate::error::BlockError::InvalidOptions("more than 2^32 resources in a block".into())
        })?;
        append(self)?;
        let i = self.interner.as_mut().expect("ref mode");
        let key = std::mem::take(&mut i.scratch);
        i.keys.insert(key, r);
        Ok(r)
    }

    /// The `resource_ref` of a decoded resource (ref mode), added to the table when new.
    pub(crate) fn intern_resource(&mut self, res: &ResourceCtx<'_>) -> Result<u32> {
        let i = self.interner.as_mut().expect("ref mode");
        let msg = res.resource.map(|r| r.encode_to_vec());
        resource_key(&mut i.scratch, msg.as_deref(), res.schema_url.as_bytes());
        self.intern_scratch(|b| b.append_resource_columns(res))
    }

    /// Appends `res` as one row of the four resource columns.
    fn append_resource_columns(&mut self, res: &ResourceCtx<'_>) -> Result<()> {
        match res.resource {
            Some(r) => {
                self.resource_attrs.append(&r.attributes)?;
                self.resource_entity_refs.append(Some(&r.entity_refs))?;
                self.resource_dropped
                    .append_value(r.dropped_attributes_count);
            }
            None => {
                self.resource_attrs.append_null()?;
                self.resource_entity_refs.append(None)?;
                self.resource_dropped.append_null();
            }
        }
        self.resource_schema_url.append_value(res.schema_url);
        Ok(())
    }

    /// The resource table of every row appended so far (ref mode), resetting it.
    pub(crate) fn finish_resource_table(&mut self) -> Result<ResourceTable> {
        let columns = self.finish_resource_columns()?.to_vec();
        if let Some(i) = self.interner.as_mut() {
            i.keys.clear();
        }
        ResourceTable::new(RecordBatch::try_new(resource_table_schema(), columns)?)
    }

    /// Rows appended since the last `finish`.
    pub fn len(&self) -> usize {
        self.rows
    }

    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    /// A rough size of the buffered rows (protobuf-encoded size of what was appended).
    pub fn approx_bytes(&self) -> usize {
        self.approx_bytes
    }

    /// Appends one span (a counted copy). The row's `trace_id` column is `trace_id`; the
    /// span's own `trace_id` bytes must equal it (the writer checks this).
    pub fn append(
        &mut self,
        trace_id: &TraceId,
        res: &ResourceCtx<'_>,
        scope: &ScopeCtx<'_>,
        span: &Span,
    ) -> Result<()> {
        self.append_copy(trace_id, res, scope, span, false)
    }

    /// Appends one span, a replica copy when `replica` (the `replica` column).
    pub fn append_copy(
        &mut self,
        trace_id: &TraceId,
        res: &ResourceCtx<'_>,
        scope: &ScopeCtx<'_>,
        span: &Span,
        replica: bool,
    ) -> Result<()> {
        let resource_ref = match self.interner {
            Some(_) => Some(self.intern_resource(res)?),
            None => None,
        };
        self.append_copy_ref(trace_id, res, scope, span, replica, resource_ref)
    }

    /// [`append_copy`](Self::append_copy) with the resource's `resource_ref` already known
    /// (ref mode: [`intern_resource`](Self::intern_resource); `None` otherwise).
    pub(crate) fn append_copy_ref(
        &mut self,
        trace_id: &TraceId,
        res: &ResourceCtx<'_>,
        scope: &ScopeCtx<'_>,
        span: &Span,
        replica: bool,
        resource_ref: Option<u32>,
    ) -> Result<()> {
        // An error (only possible when a batch outgrows Arrow's i32 offsets) leaves the builder
        // inconsistent; the writer treats it as fatal and never finishes the block.
        self.attrs.append(&span.attributes)?;
        self.events.append(&span.events)?;
        self.links.append(&span.links)?;
        match (self.interner.as_mut(), resource_ref) {
            (Some(i), Some(r)) => i.refs.append_value(r),
            _ => self.append_resource_columns(res)?,
        }
        match scope.scope {
            Some(s) => {
                self.scope_attrs.append(&s.attributes)?;
                self.scope_name.append_value(&s.name);
                self.scope_version.append_value(&s.version);
                self.scope_dropped.append_value(s.dropped_attributes_count);
            }
            None => {
                self.scope_attrs.append_null()?;
                self.scope_name.append_null();
                self.scope_version.append_null();
                self.scope_dropped.append_null();
            }
        }
        self.scope_schema_url.append_value(scope.schema_url);
        self.service_name.append_option(res.service_name);

        self.trace_id.append_value(trace_id.as_bytes())?;
        self.span_id.append_value(&span.span_id);
        self.parent_span_id.append_value(&span.parent_span_id);
        self.trace_state.append_value(&span.trace_state);
        self.flags.append_value(span.flags);
        self.name.append_value(&span.name);
        self.kind.append_value(span.kind);
        self.start.append_value(span.start_time_unix_nano);
        self.end.append_value(span.end_time_unix_nano);
        self.duration.append_value(
            span.end_time_unix_nano
                .saturating_sub(span.start_time_unix_nano),
        );
        match &span.status {
            Some(st) => {
                self.status_code.append_value(st.code);
                self.status_message.append_value(&st.message);
            }
            None => {
                self.status_code.append_null();
                self.status_message.append_null();
            }
        }
        self.dropped_attrs
            .append_value(span.dropped_attributes_count);
        self.dropped_events.append_value(span.dropped_events_count);
        self.dropped_links.append_value(span.dropped_links_count);
        self.replica.append_value(replica);

        self.rows += 1;
        self.approx_bytes += span.encoded_len()
            + res.approx_len
            + scope.scope.map_or(0, |s| s.encoded_len())
            + scope.schema_url.len();
        Ok(())
    }

    /// Builds a batch of the rows appended so far and resets the builder: of
    /// [`span_schema`], or of [`span_schema_v4`] in ref mode (whose resource table is kept).
    pub fn finish(&mut self) -> Result<RecordBatch> {
        if let Some(i) = self.interner.as_mut() {
            let refs: ArrayRef = Arc::new(i.refs.finish());
            let mut columns = self.finish_columns(false)?;
            columns.insert(RESOURCE_COLUMN_AT, refs);
            return Ok(RecordBatch::try_new(span_schema_v4(), columns)?);
        }
        let columns = self.finish_columns(true)?;
        Ok(RecordBatch::try_new(span_schema(), columns)?)
    }

    /// The four resource columns, in [`RESOURCE_COLUMNS`](crate::schema::RESOURCE_COLUMNS)
    /// order: one row per span, or in ref mode one per distinct resource (the table).
    fn finish_resource_columns(&mut self) -> Result<[ArrayRef; 4]> {
        Ok([
            Arc::new(self.resource_attrs.finish()?),
            Arc::new(self.resource_dropped.finish()),
            Arc::new(self.resource_entity_refs.finish()?),
            Arc::new(self.resource_schema_url.finish()?),
        ])
    }

    /// Every column of [`span_schema`] but, unless `resources`, the four resource columns.
    fn finish_columns(&mut self, resources: bool) -> Result<Vec<ArrayRef>> {
        let mut columns: Vec<ArrayRef> = vec![
            Arc::new(self.trace_id.finish()),
            Arc::new(self.span_id.finish()),
            Arc::new(self.parent_span_id.finish()),
            Arc::new(self.trace_state.finish()?),
            Arc::new(self.flags.finish()),
            Arc::new(self.name.finish()?),
            Arc::new(self.kind.finish()),
            Arc::new(self.start.finish()),
            Arc::new(self.end.finish()),
            Arc::new(self.duration.finish()),
            Arc::new(self.status_code.finish()),
            Arc::new(self.status_message.finish()?),
            Arc::new(self.dropped_attrs.finish()),
            Arc::new(self.dropped_events.finish()),
            Arc::new(self.dropped_links.finish()),
            Arc::new(self.service_name.finish()?),
        ];
        if resources {
            columns.extend(self.finish_resource_columns()?);
        }
        columns.extend([
            Arc::new(self.scope_name.finish()?) as ArrayRef,
            Arc::new(self.scope_version.finish()?),
            Arc::new(self.scope_attrs.finish()?),
            Arc::new(self.scope_dropped.finish()),
            Arc::new(self.scope_schema_url.finish()?),
            Arc::new(self.attrs.finish()?),
            Arc::new(self.events.finish()?),
            Arc::new(self.links.finish()?),
            Arc::new(self.replica.finish()),
        ]);
        self.rows = 0;
        self.approx_bytes = 0;
        Ok(columns)
    }
}
