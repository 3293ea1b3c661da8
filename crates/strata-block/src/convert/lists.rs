//! The nested list columns: `events`, `links` and `resource_entity_refs`.

use std::sync::Arc;

use arrow_array::builder::{ArrayBuilder, BinaryBuilder, UInt32Builder, UInt64Builder};
use arrow_array::{
    Array, ArrayRef, BinaryArray, ListArray, StringArray, StructArray, UInt32Array, UInt64Array,
};
use arrow_buffer::{NullBufferBuilder, OffsetBuffer, ScalarBuffer};
use prost::Message;
use strata_proto::otlp::common::EntityRef;
use strata_proto::otlp::trace::span::{Event, Link};

use super::attrs::{AttrListBuilder, AttrListReader};
use super::utf8_col::CheckedUtf8Builder;
use super::{downcast, offset};
use crate::error::{BlockError, Result};
use crate::schema::{
    col, entity_ref_item_field, event_fields, event_item_field, link_fields, link_item_field,
};

fn list_array(
    item: Arc<arrow_schema::Field>,
    offsets: &mut Vec<i32>,
    values: ArrayRef,
    nulls: Option<arrow_buffer::NullBuffer>,
) -> Result<ListArray> {
    let offsets = std::mem::replace(offsets, vec![0]);
    Ok(ListArray::try_new(
        item,
        OffsetBuffer::new(ScalarBuffer::from(offsets)),
        values,
        nulls,
    )?)
}

fn child<'a>(s: &'a StructArray, name: &str) -> Result<&'a ArrayRef> {
    s.column_by_name(name)
        .ok_or_else(|| BlockError::corrupt("<batch>", format!("struct lacks field {name}")))
}

fn range(list: &ListArray, row: usize) -> std::ops::Range<usize> {
    let o = list.value_offsets();
    o[row] as usize..o[row + 1] as usize
}

/// Builds the `events` column.
#[derive(Debug)]
pub(crate) struct EventListBuilder {
    pub(super) offsets: Vec<i32>,
    pub(super) time: UInt64Builder,
    pub(super) name: CheckedUtf8Builder,
    pub(super) attrs: AttrListBuilder,
    pub(super) dropped: UInt32Builder,
}

impl Default for EventListBuilder {
    fn default() -> Self {
        Self {
            offsets: vec![0],
            time: UInt64Builder::new(),
            name: CheckedUtf8Builder::default(),
            attrs: AttrListBuilder::default(),
            dropped: UInt32Builder::new(),
        }
    }
}

impl EventListBuilder {
    pub fn append(&mut self, events: &[Event]) -> Result<()> {
        for e in events {
            self.time.append_value(e.time_unix_nano);
            self.name.append_value(&e.name);
            self.attrs.append(&e.attributes)?;
            self.dropped.append_value(e.dropped_attributes_count);
        }
        self.finish_row()
    }

    /// Ends the current row's list.
    pub(super) fn finish_row(&mut self) -> Result<()> {
        self.offsets.push(offset(self.time.len())?);
        Ok(())
    }

    pub fn finish(&mut self) -> Result<ListArray> {
        let children: Vec<ArrayRef> = vec![
            Arc::new(self.time.finish()),
            Arc::new(self.name.finish()?),
            Arc::new(self.attrs.finish()?),
            Arc::new(self.dropped.finish()),
        ];
        let values = StructArray::try_new(event_fields(), children, None)?;
        list_array(
            event_item_field(),
            &mut self.offsets,
            Arc::new(values),
            None,
        )
    }
}

/// Builds the `links` column.
#[derive(Debug)]
pub(crate) struct LinkListBuilder {
    pub(super) offsets: Vec<i32>,
    pub(super) trace_id: BinaryBuilder,
    pub(super) span_id: BinaryBuilder,
    pub(super) trace_state: CheckedUtf8Builder,
    pub(super) flags: UInt32Builder,
    pub(super) attrs: AttrListBuilder,
    pub(super) dropped: UInt32Builder,
}

impl Default for LinkListBuilder {
    fn default() -> Self {
        Self {
            offsets: vec![0],
            trace_id: BinaryBuilder::new(),
            span_id: BinaryBuilder::new(),
            trace_state: CheckedUtf8Builder::default(),
            flags: UInt32Builder::new(),
            attrs: AttrListBuilder::default(),
            dropped: UInt32Builder::new(),
        }
    }
}

impl LinkListBuilder {
    pub fn append(&mut self, links: &[Link]) -> Result<()> {
        for l in links {
            self.trace_id.append_value(&l.trace_id);
            self.span_id.append_value(&l.span_id);
            self.trace_state.append_value(&l.trace_state);
            self.flags.append_value(l.flags);
            self.attrs.append(&l.attributes)?;
            self.dropped.append_value(l.dropped_attributes_count);
        }
        self.finish_row()
    }

    /// Ends the current row's list.
    pub(super) fn finish_row(&mut self) -> Result<()> {
        self.offsets.push(offset(self.flags.len())?);
        Ok(())
    }

    pub fn finish(&mut self) -> Result<ListArray> {
        let children: Vec<ArrayRef> = vec![
            Arc::new(self.trace_id.finish()),
            Arc::new(self.span_id.finish()),
            Arc::new(self.trace_state.finish()?),
            Arc::new(self.flags.finish()),
            Arc::new(self.attrs.finish()?),
            Arc::new(self.dropped.finish()),
        ];
        let values = StructArray::try_new(link_fields(), children, None)?;
        list_array(link_item_field(), &mut self.offsets, Arc::new(values), None)
    }
}

/// Builds `resource_entity_refs`: a nullable list of prost-encoded `EntityRef`s.
#[derive(Debug)]
pub(crate) struct EntityRefListBuilder {
    pub(super) offsets: Vec<i32>,
    pub(super) nulls: NullBufferBuilder,
    pub(super) items: BinaryBuilder,
}

impl Default for EntityRefListBuilder {
    fn default() -> Self {
        Self {
            offsets: vec![0],
            nulls: NullBufferBuilder::new(0),
            items: BinaryBuilder::new(),
        }
    }
}

impl EntityRefListBuilder {
    pub fn append(&mut self, refs: Option<&[EntityRef]>) -> Result<()> {
        match refs {
            Some(refs) => {
                for r in refs {
                    self.items.append_value(r.encode_to_vec());
                }
                self.finish_row()
            }
            None => {
                self.nulls.append_null();
                self.offsets.push(offset(self.items.len())?);
                Ok(())
            }
        }
    }

    /// Ends the current row's (non-null) list.
    pub(super) fn finish_row(&mut self) -> Result<()> {
        self.nulls.append_non_null();
        self.offsets.push(offset(self.items.len())?);
        Ok(())
    }

    pub fn finish(&mut self) -> Result<ListArray> {
        let values = Arc::new(self.items.finish());
        let nulls = self.nulls.finish();
        list_array(entity_ref_item_field(), &mut self.offsets, values, nulls)
    }
}

/// Reads the `events` column.
#[derive(Debug)]
pub(crate) struct EventListReader<'a> {
    list: &'a ListArray,
    time: &'a UInt64Array,
    name: &'a StringArray,
    attrs: AttrListReader<'a>,
    dropped: &'a UInt32Array,
}

impl<'a> EventListReader<'a> {
    pub fn new(array: &'a dyn Array) -> Result<Self> {
        use col::event::*;
        let list: &ListArray = downcast(array, col::EVENTS)?;
        let s: &StructArray = downcast(list.values().as_ref(), col::EVENTS)?;
        Ok(Self {
            list,
            time: downcast(child(s, TIME)?.as_ref(), TIME)?,
            name: downcast(child(s, NAME)?.as_ref(), NAME)?,
            attrs: AttrListReader::new(child(s, ATTRS)?.as_ref(), "events.attrs")?,
            dropped: downcast(child(s, DROPPED_ATTRS)?.as_ref(), DROPPED_ATTRS)?,
        })
    }

    pub fn get(&self, row: usize) -> Result<Vec<Event>> {
        range(self.list, row)
            .map(|i| {
                Ok(Event {
                    time_unix_nano: self.time.value(i),
                    name: self.name.value(i).to_string(),
                    attributes: self.attrs.get(i)?,
                    dropped_attributes_count: self.dropped.value(i),
                })
            })
            .collect()
    }
}

/// Reads the `links` column.
#[derive(Debug)]
pub(crate) struct LinkListReader<'a> {
    list: &'a ListArray,
    trace_id: &'a BinaryArray,
    span_id: &'a BinaryArray,
    trace_state: &'a StringArray,
    flags: &'a UInt32Array,
    attrs: AttrListReader<'a>,
    dropped: &'a UInt32Array,
}

impl<'a> LinkListReader<'a> {
    pub fn new(array: &'a dyn Array) -> Result<Self> {
        use col::link::*;
        let list: &ListArray = downcast(array, col::LINKS)?;
        let s: &StructArray = downcast(list.values().as_ref(), col::LINKS)?;
        Ok(Self {
            list,
            trace_id: downcast(child(s, TRACE_ID)?.as_ref(), TRACE_ID)?,
            span_id: downcast(child(s, SPAN_ID)?.as_ref(), SPAN_ID)?,
            trace_state: downcast(child(s, TRACE_STATE)?.as_ref(), TRACE_STATE)?,
            flags: downcast(child(s, FLAGS)?.as_ref(), FLAGS)?,
            attrs: AttrListReader::new(child(s, ATTRS)?.as_ref(), "links.attrs")?,
            dropped: downcast(child(s, DROPPED_ATTRS)?.as_ref(), DROPPED_ATTRS)?,
        })
    }

    pub fn get(&self, row: usize) -> Result<Vec<Link>> {
        range(self.list, row)
            .map(|i| {
                Ok(Link {
                    trace_id: self.trace_id.value(i).to_vec(),
                    span_id: self.span_id.value(i).to_vec(),
                    trace_state: self.trace_state.value(i).to_string(),
                    flags: self.flags.value(i),
                    attributes: self.attrs.get(i)?,
                    dropped_attributes_count: self.dropped.value(i),
                })
            })
            .collect()
    }
}

/// Reads `resource_entity_refs`.
#[derive(Debug)]
pub(crate) struct EntityRefListReader<'a> {
    list: &'a ListArray,
    items: &'a BinaryArray,
}

impl<'a> EntityRefListReader<'a> {
    pub fn new(array: &'a dyn Array) -> Result<Self> {
        let list: &ListArray = downcast(array, col::RESOURCE_ENTITY_REFS)?;
        let items = downcast(list.values().as_ref(), col::RESOURCE_ENTITY_REFS)?;
        Ok(Self { list, items })
    }

    pub fn get(&self, row: usize) -> Result<Vec<EntityRef>> {
        range(self.list, row)
            .map(|i| Ok(EntityRef::decode(self.items.value(i))?))
            .collect()
    }
}
