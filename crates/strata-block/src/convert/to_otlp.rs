//! Arrow → OTLP: typed row access and regrouping of spans under resource and scope.

use arrow_array::{
    Array, BinaryArray, BooleanArray, FixedSizeBinaryArray, Int32Array, RecordBatch, StringArray,
    UInt32Array, UInt64Array,
};
use strata_common::TraceId;
use strata_proto::otlp::common::InstrumentationScope;
use strata_proto::otlp::resource::Resource;
use strata_proto::otlp::trace::{ResourceSpans, ScopeSpans, Span, Status};

use super::attrs::AttrListReader;
use super::downcast;
use super::lists::{EntityRefListReader, EventListReader, LinkListReader};
use crate::error::{BlockError, Result};
use crate::schema::col;

/// Every row of a batch holding the four resource columns (a resource table of format v4):
/// the resource (None when absent) and its schema URL.
pub(crate) fn table_resources(batch: &RecordBatch) -> Result<Vec<(Option<Resource>, String)>> {
    let c = |name: &str| -> Result<&dyn Array> {
        batch
            .column_by_name(name)
            .map(|a| a.as_ref())
            .ok_or_else(|| BlockError::corrupt("<resources>", format!("missing column {name}")))
    };
    let attrs = AttrListReader::new(c(col::RESOURCE_ATTRS)?, col::RESOURCE_ATTRS)?;
    let dropped: &UInt32Array = downcast(c(col::RESOURCE_DROPPED)?, col::RESOURCE_DROPPED)?;
    let refs = EntityRefListReader::new(c(col::RESOURCE_ENTITY_REFS)?)?;
    let urls: &StringArray = downcast(c(col::RESOURCE_SCHEMA_URL)?, col::RESOURCE_SCHEMA_URL)?;
    (0..batch.num_rows())
        .map(|row| {
            let resource = match attrs.is_null(row) {
                true => None,
                false => Some(Resource {
                    attributes: attrs.get(row)?,
                    dropped_attributes_count: dropped.value(row),
                    entity_refs: refs.get(row)?,
                }),
            };
            Ok((resource, urls.value(row).to_string()))
        })
        .collect()
}

/// Typed, row-wise access to a batch of the block schema.
#[derive(Debug)]
pub struct BatchView<'a> {
    rows: usize,
    trace_id: &'a FixedSizeBinaryArray,
    span_id: &'a BinaryArray,
    parent_span_id: &'a BinaryArray,
    trace_state: &'a StringArray,
    flags: &'a UInt32Array,
    name: &'a StringArray,
    kind: &'a Int32Array,
    start: &'a UInt64Array,
    end: &'a UInt64Array,
    status_code: &'a Int32Array,
    status_message: &'a StringArray,
    dropped_attrs: &'a UInt32Array,
    dropped_events: &'a UInt32Array,
    dropped_links: &'a UInt32Array,
    resource_attrs: AttrListReader<'a>,
    resource_dropped: &'a UInt32Array,
    resource_entity_refs: EntityRefListReader<'a>,
    resource_schema_url: &'a StringArray,
    scope_name: &'a StringArray,
    scope_version: &'a StringArray,
    scope_attrs: AttrListReader<'a>,
    scope_dropped: &'a UInt32Array,
    scope_schema_url: &'a StringArray,
    attrs: AttrListReader<'a>,
    events: EventListReader<'a>,
    links: LinkListReader<'a>,
    /// Absent in format v1 batches (and projections without it): no row is a replica.
    replica: Option<&'a BooleanArray>,
}

impl<'a> BatchView<'a> {
    pub fn new(batch: &'a RecordBatch) -> Result<Self> {
        let c = |name: &str| -> Result<&'a dyn Array> {
            batch
                .column_by_name(name)
                .map(|a| a.as_ref())
                .ok_or_else(|| BlockError::corrupt("<batch>", format!("missing column {name}")))
        };
        macro_rules! typed {
            ($name:expr) => {
                downcast(c($name)?, $name)?
            };
        }
        let trace_id: &FixedSizeBinaryArray = typed!(col::TRACE_ID);
        if trace_id.value_length() != 16 {
            return Err(BlockError::corrupt(
                "<batch>",
                "trace_id is not 16 bytes wide",
            ));
        }
        Ok(Self {
            rows: batch.num_rows(),
            trace_id,
            span_id: typed!(col::SPAN_ID),
            parent_span_id: typed!(col::PARENT_SPAN_ID),
            trace_state: typed!(col::TRACE_STATE),
            flags: typed!(col::FLAGS),
            name: typed!(col::NAME),
            kind: typed!(col::KIND),
            start: typed!(col::START),
            end: typed!(col::END),
            status_code: typed!(col::STATUS_CODE),
            status_message: typed!(col::STATUS_MESSAGE),
            dropped_attrs: typed!(col::DROPPED_ATTRS),
            dropped_events: typed!(col::DROPPED_EVENTS),
            dropped_links: typed!(col::DROPPED_LINKS),
            resource_attrs: AttrListReader::new(c(col::RESOURCE_ATTRS)?, col::RESOURCE_ATTRS)?,
            resource_dropped: typed!(col::RESOURCE_DROPPED),
            resource_entity_refs: EntityRefListReader::new(c(col::RESOURCE_ENTITY_REFS)?)?,
            resource_schema_url: typed!(col::RESOURCE_SCHEMA_URL),
            scope_name: typed!(col::SCOPE_NAME),
            scope_version: typed!(col::SCOPE_VERSION),
            scope_attrs: AttrListReader::new(c(col::SCOPE_ATTRS)?, col::SCOPE_ATTRS)?,
            scope_dropped: typed!(col::SCOPE_DROPPED),
            scope_schema_url: typed!(col::SCOPE_SCHEMA_URL),
            attrs: AttrListReader::new(c(col::ATTRS)?, col::ATTRS)?,
            events: EventListReader::new(c(col::EVENTS)?)?,
            links: LinkListReader::new(c(col::LINKS)?)?,
            replica: match batch.column_by_name(col::REPLICA) {
                Some(a) => Some(downcast(a.as_ref(), col::REPLICA)?),
                None => None,
            },
        })
    }

    pub fn len(&self) -> usize {
        self.rows
    }

    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    /// Whether the row is a replica copy (see the schema's `replica` column).
    pub fn is_replica(&self, row: usize) -> bool {
        self.replica.is_some_and(|r| r.value(row))
    }

    pub fn trace_id(&self, row: usize) -> TraceId {
        let mut b = [0u8; 16];
        b.copy_from_slice(self.trace_id.value(row));
        TraceId(b)
    }

    pub fn span(&self, row: usize) -> Result<Span> {
        let status = self.status_code.is_valid(row).then(|| Status {
            code: self.status_code.value(row),
            message: if self.status_message.is_valid(row) {
                self.status_message.value(row).to_string()
            } else {
                String::new()
            },
        });
        Ok(Span {
            trace_id: self.trace_id.value(row).to_vec(),
            span_id: self.span_id.value(row).to_vec(),
            trace_state: self.trace_state.value(row).to_string(),
            parent_span_id: self.parent_span_id.value(row).to_vec(),
            flags: self.flags.value(row),
            name: self.name.value(row).to_string(),
            kind: self.kind.value(row),
            start_time_unix_nano: self.start.value(row),
            end_time_unix_nano: self.end.value(row),
            attributes: self.attrs.get(row)?,
            dropped_attributes_count: self.dropped_attrs.value(row),
            events: self.events.get(row)?,
            dropped_events_count: self.dropped_events.value(row),
            links: self.links.get(row)?,
            dropped_links_count: self.dropped_links.value(row),
            status,
        })
    }

    /// The row's resource (None when the span was sent without one) and schema URL.
    pub fn resource(&self, row: usize) -> Result<(Option<Resource>, String)> {
        let resource = if self.resource_attrs.is_null(row) {
            None
        } else {
            Some(Resource {
                attributes: self.resource_attrs.get(row)?,
                dropped_attributes_count: self.resource_dropped.value(row),
                entity_refs: self.resource_entity_refs.get(row)?,
            })
        };
        Ok((resource, self.resource_schema_url.value(row).to_string()))
    }

    /// The row's instrumentation scope (None when absent) and schema URL.
    pub fn scope(&self, row: usize) -> Result<(Option<InstrumentationScope>, String)> {
        let scope = if self.scope_name.is_null(row) {
            None
        } else {
            Some(InstrumentationScope {
                name: self.scope_name.value(row).to_string(),
                version: self.scope_version.value(row).to_string(),
                attributes: self.scope_attrs.get(row)?,
                dropped_attributes_count: self.scope_dropped.value(row),
            })
        };
        Ok((scope, self.scope_schema_url.value(row).to_string()))
    }
}

/// Regroups the spans of one trace under equal resources and scopes, in first-seen order.
#[derive(Debug, Default)]
pub struct TraceAssembler {
    groups: Vec<ResourceSpans>,
    spans: usize,
}

impl TraceAssembler {
    /// Adds row `row` of `view`.
    pub fn push_row(&mut self, view: &BatchView<'_>, row: usize) -> Result<()> {
        let (resource, resource_url) = view.resource(row)?;
        let (scope, scope_url) = view.scope(row)?;
        self.push(resource, resource_url, scope, scope_url, view.span(row)?);
        Ok(())
    }

    pub fn push(
        &mut self,
        resource: Option<Resource>,
        resource_url: String,
        scope: Option<InstrumentationScope>,
        scope_url: String,
        span: Span,
    ) {
        self.spans += 1;
        // Search from the back: consecutive rows usually share a resource.
        let ri = match self
            .groups
            .iter()
            .rposition(|g| g.schema_url == resource_url && g.resource == resource)
        {
            Some(i) => i,
            None => {
                self.groups.push(ResourceSpans {
                    resource,
                    scope_spans: Vec::new(),
                    schema_url: resource_url,
                });
                self.groups.len() - 1
            }
        };
        let scopes = &mut self.groups[ri].scope_spans;
        let si = match scopes
            .iter()
            .rposition(|s| s.schema_url == scope_url && s.scope == scope)
        {
            Some(i) => i,
            None => {
                scopes.push(ScopeSpans {
                    scope,
                    spans: Vec::new(),
                    schema_url: scope_url,
                });
                scopes.len() - 1
            }
        };
        scopes[si].spans.push(span);
    }

    /// Spans pushed so far.
    pub fn span_count(&self) -> usize {
        self.spans
    }

    pub fn is_empty(&self) -> bool {
        self.spans == 0
    }

    pub fn finish(self) -> Vec<ResourceSpans> {
        self.groups
    }
}
