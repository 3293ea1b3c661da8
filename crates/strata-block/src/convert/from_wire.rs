//! Wire → Arrow: appends spans indexed by [`super::wire`] as rows, reading fields straight from
//! the checked share bytes (a trace's resources and scopes are read once, into [`ResourceRow`]
//! and [`ScopeRow`], not once per span row; span attributes come as the index walk parsed
//! them). Produces the same rows as [`SpanBatchBuilder::append_copy`] on the
//! prost-decoded spans (the invariant of [`super::wire`]); array, key-value-list and entity-ref
//! values are decoded and re-encoded with prost, as the prost path stores them.
//!
//! Strings are appended as the bytes the index walk already checked as UTF-8, not turned into
//! `&str` again one by one: every string column is a [`CheckedUtf8Builder`], which validates
//! its whole value buffer once when the batch is finished (a failure there breaks the walk's
//! invariant and is reported as corruption). The one string still converted per row is a root
//! span's name, which the trace-level columns keep ([`WireRow::root_name`]).
//!
//! [`CheckedUtf8Builder`]: super::utf8_col::CheckedUtf8Builder

use strata_common::TraceId;

use super::attrs::{AttrListBuilder, Cell};
use super::lists::{EntityRefListBuilder, EventListBuilder, LinkListBuilder};
use super::to_batch::{resource_key, SpanBatchBuilder};
use super::wire::{
    fields, reencode_array, reencode_entity_ref, reencode_kvlist, str_of, Val, WireAttr,
    WireResource, WireScope, WireSpan, WireValue,
};
use crate::error::{BlockError, Result};
use crate::schema::tag;

/// The walk already checked the bytes: a failure here breaks the invariant of
/// [`super::wire`].
fn broken(what: &str) -> BlockError {
    BlockError::corrupt("<share>", format!("checked share has a malformed {what}"))
}

/// Runs `f` unless an earlier step failed.
fn then(out: &mut Result<()>, f: impl FnOnce() -> Result<()>) {
    if out.is_ok() {
        *out = f();
    }
}

fn walk<'a>(b: &'a [u8], what: &str, f: impl FnMut(u32, Val<'a>) -> Option<()>) -> Result<()> {
    fields(b, f).ok_or_else(|| broken(what))
}

/// Attributes read from checked `KeyValue`s: (key, value); keys are UTF-8 checked by the walk.
type Attrs<'a> = Vec<WireAttr<'a>>;

/// Key and value of one checked `KeyValue` message.
fn parse_kv(kv: &[u8]) -> Result<(&[u8], WireValue<'_>)> {
    let (mut key, mut value) = (&b""[..], None);
    walk(kv, "KeyValue", |t, v| {
        match (t, v) {
            (1, Val::Len(s)) => key = s,
            (2, Val::Len(m)) => value = Some(m),
            _ => {}
        }
        Some(())
    })?;
    let Some(value) = value else {
        return Ok((key, WireValue::Absent));
    };
    let mut known = None;
    walk(value, "AnyValue", |t, v| {
        if (1..=8).contains(&t) {
            known = Some((t, v));
        }
        Some(())
    })?;
    let v = match known {
        None => WireValue::Empty,
        Some((t, v)) => WireValue::of(t, v).ok_or_else(|| broken("AnyValue"))?,
    };
    Ok((key, v))
}

impl AttrListBuilder {
    /// Appends one checked `KeyValue` message to the current row's list.
    pub(crate) fn append_kv_wire(&mut self, kv: &[u8]) -> Result<()> {
        let (key, value) = parse_kv(kv)?;
        self.push_attr(key, value)
    }

    /// Appends one attribute to the current row's list.
    fn push_attr(&mut self, key: &[u8], value: WireValue<'_>) -> Result<()> {
        self.key.append_bytes(key);
        match value {
            WireValue::Absent => self.push_value(tag::ABSENT, Cell::Null),
            WireValue::Empty => self.push_value(tag::EMPTY, Cell::Null),
            WireValue::Str(s) => self.push_value(tag::STRING, Cell::Str(s)),
            WireValue::Bool(b) => self.push_value(tag::BOOL, Cell::Bool(b)),
            WireValue::Int(i) => self.push_value(tag::INT, Cell::Int(i)),
            WireValue::Double(d) => self.push_value(tag::DOUBLE, Cell::Double(d)),
            WireValue::Bytes(b) => self.push_value(tag::BYTES, Cell::Bytes(b)),
            WireValue::Array(m) => {
                let a = reencode_array(m).map_err(|_| broken("ArrayValue"))?;
                self.push_value(tag::ARRAY, Cell::Bytes(&a))
            }
            WireValue::Kvlist(m) => {
                let l = reencode_kvlist(m).map_err(|_| broken("KeyValueList"))?;
                self.push_value(tag::KVLIST, Cell::Bytes(&l))
            }
            WireValue::StrIndex(i) => self.push_value(tag::STRING_INDEX, Cell::Int(i)),
        }
        Ok(())
    }

    /// Appends a row holding `attrs`.
    fn append_row(&mut self, attrs: &[WireAttr<'_>]) -> Result<()> {
        for (k, v) in attrs {
            self.push_attr(k, *v)?;
        }
        self.finish_row()
    }
}

/// Attributes, dropped count and entity refs (re-encoded) of a resource.
type ParsedResource<'a> = (Attrs<'a>, u32, Vec<Vec<u8>>);

/// A resource's columns, read once per trace rather than once per span row.
#[derive(Debug)]
pub(crate) struct ResourceRow<'a> {
    pub wire: WireResource<'a>,
    /// `None`: no resource, or not parsed (format v4, where only a resource new to the
    /// block's table is parsed).
    parsed: Option<ParsedResource<'a>>,
    /// Format v4: the resource's row in the block's table, once looked up.
    resource_ref: std::cell::Cell<Option<u32>>,
}

impl<'a> ResourceRow<'a> {
    pub fn new(wire: WireResource<'a>) -> Result<Self> {
        Ok(Self {
            wire,
            parsed: Self::parse(wire)?,
            resource_ref: std::cell::Cell::new(None),
        })
    }

    /// A row whose columns are parsed only if [`SpanBatchBuilder::append_wire`] needs them
    /// (a builder in ref mode, for a resource new to its table).
    pub fn unparsed(wire: WireResource<'a>) -> Self {
        Self {
            wire,
            parsed: None,
            resource_ref: std::cell::Cell::new(None),
        }
    }

    fn parse(wire: WireResource<'a>) -> Result<Option<ParsedResource<'a>>> {
        let Some(r) = wire.msg else {
            return Ok(None);
        };
        let (mut attrs, mut dropped, mut refs) = (Vec::new(), 0, Vec::new());
        let mut out = Ok(());
        walk(r, "Resource", |t, v| {
            match (t, v) {
                (1, Val::Len(m)) => match parse_kv(m) {
                    Ok(kv) => attrs.push(kv),
                    Err(e) => out = Err(e),
                },
                (2, Val::Varint(x)) => dropped = x as u32,
                (3, Val::Len(m)) => match reencode_entity_ref(m) {
                    Ok(b) => refs.push(b),
                    Err(_) => out = Err(broken("EntityRef")),
                },
                _ => {}
            }
            Some(())
        })?;
        out?;
        Ok(Some((attrs, dropped, refs)))
    }
}

/// A scope's columns, read once per trace rather than once per span row.
#[derive(Debug)]
pub(crate) struct ScopeRow<'a> {
    pub wire: WireScope<'a>,
    /// Name, version (UTF-8 checked by the walk), attributes and dropped count; `None`: no
    /// scope.
    parsed: Option<(&'a [u8], &'a [u8], Attrs<'a>, u32)>,
}

impl<'a> ScopeRow<'a> {
    pub fn new(wire: WireScope<'a>) -> Result<Self> {
        let Some(s) = wire.msg else {
            return Ok(Self { wire, parsed: None });
        };
        let (mut name, mut version) = (&b""[..], &b""[..]);
        let (mut attrs, mut dropped) = (Vec::new(), 0);
        let mut out = Ok(());
        walk(s, "InstrumentationScope", |t, v| {
            match (t, v) {
                (1, Val::Len(b)) => name = b,
                (2, Val::Len(b)) => version = b,
                (3, Val::Len(m)) => match parse_kv(m) {
                    Ok(kv) => attrs.push(kv),
                    Err(e) => out = Err(e),
                },
                (4, Val::Varint(x)) => dropped = x as u32,
                _ => {}
            }
            Some(())
        })?;
        out?;
        Ok(Self {
            wire,
            parsed: Some((name, version, attrs, dropped)),
        })
    }
}

impl EventListBuilder {
    /// Appends one checked `Event` message to the current row's list.
    pub(crate) fn append_wire(&mut self, ev: &[u8]) -> Result<()> {
        let (mut time, mut name, mut dropped) = (0, &b""[..], 0);
        let mut res = Ok(());
        walk(ev, "Event", |t, v| {
            match (t, v) {
                (1, Val::Fixed64(x)) => time = x,
                (2, Val::Len(s)) => name = s,
                (3, Val::Len(m)) => then(&mut res, || self.attrs.append_kv_wire(m)),
                (4, Val::Varint(x)) => dropped = x as u32,
                _ => {}
            }
            Some(())
        })?;
        res?;
        self.attrs.finish_row()?;
        self.time.append_value(time);
        self.name.append_bytes(name);
        self.dropped.append_value(dropped);
        Ok(())
    }
}

impl LinkListBuilder {
    /// Appends one checked `Link` message to the current row's list.
    pub(crate) fn append_wire(&mut self, link: &[u8]) -> Result<()> {
        let (mut trace_id, mut span_id, mut state) = (&b""[..], &b""[..], &b""[..]);
        let (mut flags, mut dropped) = (0, 0);
        let mut res = Ok(());
        walk(link, "Link", |t, v| {
            match (t, v) {
                (1, Val::Len(b)) => trace_id = b,
                (2, Val::Len(b)) => span_id = b,
                (3, Val::Len(s)) => state = s,
                (4, Val::Len(m)) => then(&mut res, || self.attrs.append_kv_wire(m)),
                (5, Val::Varint(x)) => dropped = x as u32,
                (6, Val::Fixed32(x)) => flags = x,
                _ => {}
            }
            Some(())
        })?;
        res?;
        self.attrs.finish_row()?;
        self.trace_id.append_value(trace_id);
        self.span_id.append_value(span_id);
        self.trace_state.append_bytes(state);
        self.flags.append_value(flags);
        self.dropped.append_value(dropped);
        Ok(())
    }
}

impl EntityRefListBuilder {
    /// Appends a row of encoded entity refs (`None`: no resource).
    fn append_encoded(&mut self, refs: Option<&[Vec<u8>]>) -> Result<()> {
        let Some(refs) = refs else {
            return self.append(None);
        };
        for r in refs {
            self.items.append_value(r);
        }
        self.finish_row()
    }
}

impl SpanBatchBuilder {
    /// Appends one span indexed by [`super::wire::WireTrace`], with its attributes as the
    /// walk parsed them (`attrs`), a replica copy when `span.replica`; the same row as
    /// [`append_copy`](Self::append_copy) of the decoded span. Returns what the trace-level
    /// columns need of the row ([`WireRow`]).
    pub(crate) fn append_wire<'s>(
        &mut self,
        trace_id: &TraceId,
        res: &ResourceRow<'_>,
        scope: &ScopeRow<'_>,
        span: &WireSpan<'s>,
        attrs: &[WireAttr<'_>],
    ) -> Result<WireRow<'s>> {
        // Resource: a row of the table (format v4), or the columns of this row.
        if self.interner.is_some() {
            let r = self.intern_wire(res)?;
            self.interner
                .as_mut()
                .expect("checked")
                .refs
                .append_value(r);
        } else {
            self.append_resource_wire(res.parsed.as_ref(), res.wire.schema_url)?;
        }
        let c = &mut *self;
        // Scope.
        match &scope.parsed {
            Some((name, version, attrs, dropped)) => {
                c.scope_attrs.append_row(attrs)?;
                c.scope_name.append_bytes(name);
                c.scope_version.append_bytes(version);
                c.scope_dropped.append_value(*dropped);
            }
            None => {
                c.scope_attrs.append_null()?;
                c.scope_name.append_null();
                c.scope_version.append_null();
                c.scope_dropped.append_null();
            }
        }
        let (res, scope) = (&res.wire, &scope.wire);
        c.scope_schema_url.append_value(scope.schema_url);
        c.service_name.append_option(res.service_name);

        // Span.
        let mut s = SpanScalars::default();
        let mut out = Ok(());
        walk(span.bytes, "Span", |t, v| {
            match (t, v) {
                (2, Val::Len(b)) => s.span_id = b,
                (3, Val::Len(b)) => s.trace_state = b,
                (4, Val::Len(b)) => s.parent = b,
                (5, Val::Len(b)) => s.name = b,
                (6, Val::Varint(x)) => s.kind = x as i32,
                // Attributes (9) come parsed, in `attrs`.
                (10, Val::Varint(x)) => s.dropped_attrs = x as u32,
                (11, Val::Len(m)) => then(&mut out, || c.events.append_wire(m)),
                (12, Val::Varint(x)) => s.dropped_events = x as u32,
                (13, Val::Len(m)) => then(&mut out, || c.links.append_wire(m)),
                (14, Val::Varint(x)) => s.dropped_links = x as u32,
                (15, Val::Len(m)) => s.status = Some(m),
                (16, Val::Fixed32(x)) => s.flags = x,
                _ => {}
            }
            Some(())
        })?;
        out?;
        c.attrs.append_row(attrs)?;
        c.events.finish_row()?;
        c.links.finish_row()?;

        c.trace_id.append_value(trace_id.as_bytes())?;
        c.span_id.append_value(s.span_id);
        c.parent_span_id.append_value(s.parent);
        c.trace_state.append_bytes(s.trace_state);
        c.flags.append_value(s.flags);
        c.name.append_bytes(s.name);
        c.kind.append_value(s.kind);
        c.start.append_value(span.start);
        c.end.append_value(span.end);
        c.duration.append_value(span.end.saturating_sub(span.start));
        let mut error_status = false;
        match s.status {
            Some(m) => {
                let (mut code, mut message) = (0, &b""[..]);
                walk(m, "Status", |t, v| {
                    match (t, v) {
                        (2, Val::Len(b)) => message = b,
                        (3, Val::Varint(x)) => code = x as i32,
                        _ => {}
                    }
                    Some(())
                })?;
                c.status_code.append_value(code);
                c.status_message.append_bytes(message);
                error_status = code == 2;
            }
            None => {
                c.status_code.append_null();
                c.status_message.append_null();
            }
        }
        c.dropped_attrs.append_value(s.dropped_attrs);
        c.dropped_events.append_value(s.dropped_events);
        c.dropped_links.append_value(s.dropped_links);
        c.replica.append_value(span.replica);

        self.rows += 1;
        self.approx_bytes += span.bytes.len()
            + res.msg.map_or(0, <[u8]>::len)
            + res.schema_url.len()
            + scope.msg.map_or(0, <[u8]>::len)
            + scope.schema_url.len();
        let root = s.parent.is_empty();
        Ok(WireRow {
            // The only `&str` of the row: once per root span, for the trace-level columns.
            root_name: root.then(|| str_of(s.name)),
            error: error_status,
        })
    }
}

impl SpanBatchBuilder {
    /// The `resource_ref` of `res` (ref mode), added to the table when new, looked up once
    /// per [`ResourceRow`].
    pub(crate) fn intern_wire(&mut self, res: &ResourceRow<'_>) -> Result<u32> {
        if let Some(r) = res.resource_ref.get() {
            return Ok(r);
        }
        let i = self.interner.as_mut().expect("ref mode");
        resource_key(&mut i.scratch, res.wire.msg, res.wire.schema_url.as_bytes());
        let r = self.intern_scratch(|b| {
            let parsed = ResourceRow::parse(res.wire)?;
            b.append_resource_wire(parsed.as_ref(), res.wire.schema_url)
        })?;
        res.resource_ref.set(Some(r));
        Ok(r)
    }

    /// Appends a resource as one row of the four resource columns.
    fn append_resource_wire(
        &mut self,
        parsed: Option<&ParsedResource<'_>>,
        schema_url: &str,
    ) -> Result<()> {
        match parsed {
            Some((attrs, dropped, refs)) => {
                self.resource_attrs.append_row(attrs)?;
                self.resource_dropped.append_value(*dropped);
                self.resource_entity_refs.append_encoded(Some(refs))?;
            }
            None => {
                self.resource_attrs.append_null()?;
                self.resource_dropped.append_null();
                self.resource_entity_refs.append_encoded(None)?;
            }
        }
        self.resource_schema_url.append_value(schema_url);
        Ok(())
    }
}

/// What the trace-level columns (format v3) need of a row appended by
/// [`SpanBatchBuilder::append_wire`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct WireRow<'a> {
    /// The span's name when it is a root span (no parent span ID), `None` otherwise.
    pub root_name: Option<&'a str>,
    /// Status code 2 (error).
    pub error: bool,
}

/// The singular fields of a span, last occurrence winning (as in prost).
#[derive(Default)]
struct SpanScalars<'a> {
    span_id: &'a [u8],
    trace_state: &'a [u8],
    parent: &'a [u8],
    name: &'a [u8],
    kind: i32,
    flags: u32,
    dropped_attrs: u32,
    dropped_events: u32,
    dropped_links: u32,
    status: Option<&'a [u8]>,
}
