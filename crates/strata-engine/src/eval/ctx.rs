//! Per-batch evaluation context: column access, the event and link domains, and a cache of
//! field values (each attribute is looked up once per batch, however often the query names
//! it).
//!
//! # Domains
//! Span fields have one row per span. Event fields have one row per event of the batch: the
//! rows of the `events` list column's child in order (spans' events are contiguous), with
//! [`Sub::parent`] mapping each event to its span row; the same for links. Span values are
//! broadcast to events or links with `take(parent)`; event or link values are brought back
//! to spans either as "any element is true" (predicates) or "first element that has a
//! value" (values reported or grouped on).

use std::collections::HashMap;

use arrow_array::{
    Array, ArrayRef, BooleanArray, ListArray, RecordBatch, StructArray, UInt32Array,
};
use arrow_buffer::BooleanBuffer;

use super::attrs::{self, offsets};
use super::intrinsics;
use super::trace::{Traces, Tree};
use super::value::{bad, downcast, null_to_false, Ty, Value};
use crate::plan::ir::{Domain, FieldRef, Source};
use crate::EngineError;
use strata_block::schema::col;

/// The rows of a list column's elements (events or links).
pub(crate) struct Sub {
    /// The element structs, sliced to this batch's rows.
    pub values: StructArray,
    /// Per element: its span row.
    pub parent: UInt32Array,
}

impl Sub {
    fn new(list: &ListArray) -> Result<Self, EngineError> {
        let offs = offsets(list)?;
        let lo = offs.first().copied().unwrap_or(0);
        let hi = offs.last().copied().unwrap_or(0);
        let values = downcast::<StructArray>(list.values().as_ref(), "list items")?;
        if hi > values.len() || lo > hi {
            return Err(bad("list offsets out of range"));
        }
        let mut parent = Vec::with_capacity(hi - lo);
        for row in 0..list.len() {
            let n = offs[row + 1]
                .checked_sub(offs[row])
                .ok_or_else(|| bad("decreasing list offsets"))?;
            parent.extend(std::iter::repeat_n(row as u32, n));
        }
        Ok(Self {
            values: values.slice(lo, hi - lo),
            parent: UInt32Array::from(parent),
        })
    }

    pub(crate) fn len(&self) -> usize {
        self.values.len()
    }

    pub(crate) fn field(&self, name: &str) -> Result<&ArrayRef, EngineError> {
        self.values
            .column_by_name(name)
            .ok_or_else(|| bad(format!("list item lacks field {name}")))
    }
}

pub(crate) struct Ctx<'a> {
    pub batch: &'a RecordBatch,
    pub n: usize,
    pub traces: Option<&'a Traces>,
    pub tree: Option<&'a Tree>,
    events: Option<Sub>,
    links: Option<Sub>,
    cache: HashMap<FieldRef, Value>,
    lookups: HashMap<(&'static str, String), attrs::Lookup>,
}

impl<'a> Ctx<'a> {
    pub(crate) fn new(
        batch: &'a RecordBatch,
        traces: Option<&'a Traces>,
        tree: Option<&'a Tree>,
    ) -> Self {
        Self {
            batch,
            n: batch.num_rows(),
            traces,
            tree,
            events: None,
            links: None,
            cache: HashMap::new(),
            lookups: HashMap::new(),
        }
    }

    pub(crate) fn column(&self, name: &str) -> Result<&'a ArrayRef, EngineError> {
        self.batch
            .column_by_name(name)
            .ok_or_else(|| bad(format!("batch lacks column {name}")))
    }

    pub(crate) fn typed<T: 'static>(&self, name: &str) -> Result<&'a T, EngineError> {
        downcast::<T>(self.column(name)?.as_ref(), name)
    }

    /// The event or link rows (built on first use).
    pub(crate) fn sub(&mut self, d: Domain) -> Result<&Sub, EngineError> {
        let (slot, name) = match d {
            Domain::Event => (&mut self.events, col::EVENTS),
            Domain::Link => (&mut self.links, col::LINKS),
            Domain::Span => return Err(bad("the span domain has no sub rows")),
        };
        if slot.is_none() {
            let list = self
                .batch
                .column_by_name(name)
                .ok_or_else(|| bad(format!("batch lacks column {name}")))?;
            *slot = Some(Sub::new(downcast::<ListArray>(list.as_ref(), name)?)?);
        }
        slot.as_ref().ok_or_else(|| bad("sub rows missing"))
    }

    /// Number of rows in a domain.
    pub(crate) fn rows(&mut self, d: Domain) -> Result<usize, EngineError> {
        Ok(match d {
            Domain::Span => self.n,
            _ => self.sub(d)?.len(),
        })
    }

    /// A field's values over its own domain (cached).
    pub(crate) fn field(&mut self, r: &FieldRef) -> Result<Value, EngineError> {
        if let Some(v) = self.cache.get(r) {
            return Ok(v.clone());
        }
        let v = match r {
            FieldRef::Attr(source, name) => self.attribute(*source, name)?,
            FieldRef::Intr(i) => intrinsics::intrinsic(self, *i)?,
        };
        self.cache.insert(r.clone(), v.clone());
        Ok(v)
    }

    fn attribute(&mut self, source: Source, name: &str) -> Result<Value, EngineError> {
        Ok(match source {
            Source::Span => self.lookup(col::ATTRS, name)?.value,
            // A block whose `service_name` column is exact is read without `resource_attrs`
            // when the query names no other resource attribute (`SearchPlan::block_columns`).
            Source::Resource
                if name == "service.name"
                    && self.batch.column_by_name(col::RESOURCE_ATTRS).is_none() =>
            {
                let names =
                    intrinsics::strings(self.column(col::SERVICE_NAME)?, col::SERVICE_NAME)?;
                Value::col(Ty::Str, names)
            }
            Source::Resource => self.lookup(col::RESOURCE_ATTRS, name)?.value,
            Source::Scope => self.lookup(col::SCOPE_ATTRS, name)?.value,
            Source::Unscoped => {
                let span = self.lookup(col::ATTRS, name)?;
                let resource = self.lookup(col::RESOURCE_ATTRS, name)?;
                attrs::unscoped(&span, &resource)?
            }
            Source::Event | Source::Link => {
                let d = if source == Source::Event {
                    Domain::Event
                } else {
                    Domain::Link
                };
                let sub = self.sub(d)?;
                attrs::lookup(
                    sub.field(col::event::ATTRS)?.as_ref(),
                    name,
                    "element attrs",
                )?
                .value
            }
        })
    }

    /// `name` looked up in a span-level attribute column (cached, so `.x` and `span.x`
    /// share the work).
    fn lookup(&mut self, column: &'static str, name: &str) -> Result<attrs::Lookup, EngineError> {
        let key = (column, name.to_string());
        if let Some(l) = self.lookups.get(&key) {
            return Ok(l.clone());
        }
        let l = attrs::lookup(self.column(column)?.as_ref(), name, column)?;
        self.lookups.insert(key, l.clone());
        Ok(l)
    }

    /// Span values repeated for every event or link of the span.
    pub(crate) fn broadcast(&mut self, v: &Value, to: Domain) -> Result<Value, EngineError> {
        if to == Domain::Span {
            return Ok(v.clone());
        }
        let parent = self.sub(to)?.parent.clone();
        v.take(&parent)
    }

    /// Per span: whether any of its events (links) is true in `mask`.
    pub(crate) fn any(
        &mut self,
        mask: &BooleanArray,
        from: Domain,
    ) -> Result<BooleanArray, EngineError> {
        let n = self.n;
        let sub = self.sub(from)?;
        let mask = null_to_false(mask);
        let mut out = vec![false; n];
        for e in mask.values().set_indices() {
            if let Some(&p) = sub.parent.values().get(e) {
                if let Some(o) = out.get_mut(p as usize) {
                    *o = true;
                }
            }
        }
        Ok(BooleanArray::new(BooleanBuffer::from(out), None))
    }

    /// Per span: the value of its first event (link) that has one.
    pub(crate) fn first(&mut self, v: &Value, from: Domain) -> Result<Value, EngineError> {
        let n = self.n;
        let has = v.exists();
        let sub = self.sub(from)?;
        let mut idx: Vec<Option<u32>> = vec![None; n];
        for e in has.values().set_indices() {
            if let Some(&p) = sub.parent.values().get(e) {
                if let Some(slot) = idx.get_mut(p as usize) {
                    slot.get_or_insert(e as u32);
                }
            }
        }
        v.take(&UInt32Array::from(idx))
    }
}
