//! The trace-level columns of format v3 (see the `schema` module): a [`TraceSummary`] per
//! trace, computed from its rows as the writer emits them, and [`TraceColumnsBuilder`], which
//! sets it on the trace's first row and null on the others.

use std::sync::Arc;

use arrow_array::builder::{ArrayBuilder, StringBuilder, UInt32Builder, UInt64Builder};
use arrow_array::{ArrayRef, ListArray, StructArray};
use arrow_buffer::{NullBufferBuilder, OffsetBuffer};

use crate::error::Result;
use crate::schema::{service_stats_fields, service_stats_item_field};

/// What the trace-level columns say about one trace (its rows in one block).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TraceSummary {
    pub spans: u32,
    pub start: u64,
    pub end: u64,
    pub root_service: Option<String>,
    pub root_name: Option<String>,
    /// `(service, spans, errors)`, ascending by service.
    pub services: Vec<(String, u32, u32)>,
}

impl TraceSummary {
    /// Accumulates the trace's rows in file order: `service` is the row's `service_name`,
    /// `error` whether its status code is 2.
    pub fn row(
        &mut self,
        start: u64,
        end: u64,
        name: &str,
        root: bool,
        service: Option<&str>,
        error: bool,
    ) {
        if self.spans == 0 {
            self.start = start;
            self.end = end;
        } else {
            self.start = self.start.min(start);
            self.end = self.end.max(end);
        }
        self.spans = self.spans.saturating_add(1);
        if root && self.root_name.is_none() {
            self.root_name = Some(name.to_string());
            self.root_service = service.map(str::to_string);
        }
        if let Some(s) = service {
            let i = match self
                .services
                .binary_search_by(|(n, _, _)| n.as_str().cmp(s))
            {
                Ok(i) => i,
                Err(i) => {
                    self.services.insert(i, (s.to_string(), 0, 0));
                    i
                }
            };
            let e = &mut self.services[i];
            e.1 = e.1.saturating_add(1);
            e.2 = e.2.saturating_add(u32::from(error));
        }
    }
}

/// Builds the trace-level columns of a batch, in [`trace_fields`](crate::schema::trace_fields)
/// order.
#[derive(Debug)]
pub struct TraceColumnsBuilder {
    spans: UInt32Builder,
    start: UInt64Builder,
    end: UInt64Builder,
    root_service: StringBuilder,
    root_name: StringBuilder,
    stats_offsets: Vec<i32>,
    stats_nulls: NullBufferBuilder,
    stats_service: StringBuilder,
    stats_spans: UInt32Builder,
    stats_errors: UInt32Builder,
}

impl Default for TraceColumnsBuilder {
    fn default() -> Self {
        Self {
            spans: UInt32Builder::new(),
            start: UInt64Builder::new(),
            end: UInt64Builder::new(),
            root_service: StringBuilder::new(),
            root_name: StringBuilder::new(),
            stats_offsets: vec![0],
            stats_nulls: NullBufferBuilder::new(0),
            stats_service: StringBuilder::new(),
            stats_spans: UInt32Builder::new(),
            stats_errors: UInt32Builder::new(),
        }
    }
}

impl TraceColumnsBuilder {
    /// Appends the `rows` rows of one trace: `s` on the first, nulls on the others.
    pub fn append(&mut self, s: &TraceSummary, rows: usize) -> Result<()> {
        if rows == 0 {
            return Ok(());
        }
        self.spans.append_value(s.spans);
        self.start.append_value(s.start);
        self.end.append_value(s.end);
        self.root_service.append_option(s.root_service.as_deref());
        self.root_name.append_option(s.root_name.as_deref());
        for (name, spans, errors) in &s.services {
            self.stats_service.append_value(name);
            self.stats_spans.append_value(*spans);
            self.stats_errors.append_value(*errors);
        }
        let end = super::offset(self.stats_service.len())?;
        self.stats_offsets.push(end);
        self.stats_nulls.append_non_null();
        let rest = rows - 1;
        self.spans.append_nulls(rest);
        self.start.append_nulls(rest);
        self.end.append_nulls(rest);
        self.root_service.append_nulls(rest);
        self.root_name.append_nulls(rest);
        self.stats_offsets.extend(std::iter::repeat_n(end, rest));
        self.stats_nulls.append_n_nulls(rest);
        Ok(())
    }

    /// The columns of the rows appended so far; resets the builder.
    pub fn finish(&mut self) -> Result<Vec<ArrayRef>> {
        let values = StructArray::try_new(
            service_stats_fields(),
            vec![
                Arc::new(self.stats_service.finish()),
                Arc::new(self.stats_spans.finish()),
                Arc::new(self.stats_errors.finish()),
            ],
            None,
        )?;
        let offsets = std::mem::replace(&mut self.stats_offsets, vec![0]);
        let stats = ListArray::try_new(
            service_stats_item_field(),
            OffsetBuffer::new(offsets.into()),
            Arc::new(values),
            self.stats_nulls.finish(),
        )?;
        Ok(vec![
            Arc::new(self.spans.finish()),
            Arc::new(self.start.finish()),
            Arc::new(self.end.finish()),
            Arc::new(self.root_service.finish()),
            Arc::new(self.root_name.finish()),
            Arc::new(stats),
        ])
    }
}
