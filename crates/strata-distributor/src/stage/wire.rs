//! A borrowed walk of an OTLP `ExportTraceServiceRequest` in protobuf wire format, for the
//! pipeline's fast path ([`crate::pipeline`]): it finds every span's byte range, trace ID and
//! times without building the prost structs, so the request can be cut into per-trace shares
//! by copying byte ranges ([`super::split`]).
//!
//! Format (OTLP 1.x, `opentelemetry-proto` 0.33): request `1: ResourceSpans*`; ResourceSpans
//! `1: Resource, 2: ScopeSpans*, 3: schema_url`; ScopeSpans `1: InstrumentationScope, 2: Span*,
//! 3: schema_url`; Span, Event, Link, Status, KeyValue, AnyValue, ArrayValue, KeyValueList and
//! EntityRef with their field numbers below.
//!
//! Invariant: [`scan`] returns `Some` only when prost would decode the same bytes without error
//! **and** the slow path would store exactly what the fast path stores, i.e. every span has a
//! valid trace ID and span ID, and no attribute key or string value at a truncated location is
//! longer than `max_attribute_bytes`. Every field is checked as prost checks it (wire type,
//! varint form, lengths, UTF-8 of strings, nesting depth), and anything unusual — an unknown
//! field, a group, nesting deeper than [`MAX_DEPTH`] — also gives `None`: the caller then
//! decodes with prost, which produces the exact error or result. A `None` is never an error by
//! itself. Fields that occur more than once are passed through as they are, so prost's merging
//! rules apply when the shares are decoded; of the fields read here (IDs, times) the last
//! occurrence wins, as in prost.

use std::ops::Range;

use strata_common::{varint, SpanId, TraceId};

/// Deepest nesting of `AnyValue`s in arrays and key-value lists walked (prost allows 100
/// message levels in all; deeper values take the prost path).
pub const MAX_DEPTH: u32 = 32;

/// One span of the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpanRef {
    /// Index into [`Scanned::scopes`].
    pub scope: u32,
    /// The span message's bytes (without its field key and length).
    pub bytes: Range<usize>,
    pub trace_id: TraceId,
    pub start_unix_nano: u64,
    pub end_unix_nano: u64,
}

/// One `ScopeSpans` of the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScopeRef {
    /// Index into [`Scanned::resources`].
    pub resource: u32,
    /// Its fields other than `spans` (keys included), as indices into [`Scanned::fields`].
    pub fields: Range<u32>,
}

/// What [`scan`] found: byte ranges into the scanned buffer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scanned {
    /// Per `ResourceSpans`, its fields other than `scope_spans` (keys included), as indices
    /// into [`Self::fields`].
    pub resources: Vec<Range<u32>>,
    pub scopes: Vec<ScopeRef>,
    pub spans: Vec<SpanRef>,
    /// Raw fields (key, length and value) copied as they are into every share.
    pub fields: Vec<Range<usize>>,
}

/// Walks `buf` as an `ExportTraceServiceRequest`; `None` when the fast path does not apply (see
/// the module docs). `max_attribute_bytes == 0` disables the attribute length check.
pub fn scan(buf: &[u8], max_attribute_bytes: usize) -> Option<Scanned> {
    // Sized once from the framing (a cheap walk that skips the spans' contents) instead of
    // grown span by span: the growth's reallocations were a visible share of the accept path.
    scan_counted(buf, max_attribute_bytes, count_spans(buf)?)
}

/// [`scan`] of a body whose [`count_spans`] is `spans` (taken before, for admission). A wrong
/// count costs only the span list's reallocations or spare capacity: the walk checks the
/// framing again.
pub fn scan_counted(buf: &[u8], max_attribute_bytes: usize, spans: usize) -> Option<Scanned> {
    let mut w = Walker {
        buf,
        max_attr: if max_attribute_bytes == 0 {
            usize::MAX
        } else {
            max_attribute_bytes
        },
        out: Scanned {
            spans: Vec::with_capacity(spans),
            ..Scanned::default()
        },
        scope_spans: Vec::new(),
    };
    w.request()?;
    Some(w.out)
}

/// The number of spans in `buf` read as an `ExportTraceServiceRequest`, from the framing of its
/// resource spans and scope spans alone: span messages are skipped, not walked. `None` when that
/// framing is malformed or a known field among it has the wrong wire type (prost would refuse
/// the body; the caller leaves it to the path that decodes). A `Some` does not vouch for the
/// spans themselves; where prost decodes the body, it finds exactly this many spans (repeated
/// fields append; unknown fields are skipped, as prost skips them).
pub fn count_spans(buf: &[u8]) -> Option<usize> {
    let mut w = Walker {
        buf,
        max_attr: usize::MAX,
        out: Scanned::default(),
        scope_spans: Vec::new(),
    };
    let mut spans = 0usize;
    w.fields(0, buf.len(), |w, tag, v, _| match (tag, v) {
        (1, Val::Len(s, e)) => w.fields(s, e, |w, tag, v, _| match (tag, v) {
            (2, Val::Len(s, e)) => w.fields(s, e, |_, tag, v, _| match (tag, v) {
                (2, Val::Len(..)) => {
                    spans += 1;
                    Some(())
                }
                (1..=3, Val::Len(..)) => Some(()),
                (1..=3, _) => None,
                _ => Some(()),
            }),
            (1 | 3, Val::Len(..)) => Some(()),
            (1..=3, _) => None,
            _ => Some(()),
        }),
        (1, _) => None,
        _ => Some(()),
    })?;
    Some(spans)
}

/// A field value as read from the wire.
#[derive(Clone, Copy)]
enum Val {
    Varint,
    Fixed64(u64),
    Fixed32,
    /// A length-delimited value's bytes.
    Len(usize, usize),
}

const VARINT: u8 = 0;
const FIXED64: u8 = 1;
const LEN: u8 = 2;
const FIXED32: u8 = 5;

struct Walker<'a> {
    buf: &'a [u8],
    max_attr: usize,
    out: Scanned,
    /// The span ranges of the `ScopeSpans` being walked, kept between scopes for its capacity.
    scope_spans: Vec<(usize, usize)>,
}

impl<'a> Walker<'a> {
    /// Calls `f(tag, value, whole field range)` for every field in `start..end`; stops at the
    /// first `None`.
    fn fields(
        &mut self,
        start: usize,
        end: usize,
        mut f: impl FnMut(&mut Self, u32, Val, Range<usize>) -> Option<()>,
    ) -> Option<()> {
        // Varints are read within the message: positions stay those of `buf`.
        let within = self.buf.get(..end)?;
        let mut pos = start;
        while pos < end {
            let field_start = pos;
            let key = varint(within, &mut pos)?;
            if key > u64::from(u32::MAX) {
                return None;
            }
            let (tag, wt) = ((key >> 3) as u32, (key & 7) as u8);
            if tag == 0 {
                return None;
            }
            let val = match wt {
                VARINT => {
                    varint(within, &mut pos)?;
                    Val::Varint
                }
                FIXED64 => {
                    let b = self.buf.get(pos..pos.checked_add(8)?.min(end))?;
                    let v = u64::from_le_bytes(b.try_into().ok()?);
                    pos += 8;
                    Val::Fixed64(v)
                }
                FIXED32 => {
                    if end - pos < 4 {
                        return None;
                    }
                    pos += 4;
                    Val::Fixed32
                }
                LEN => {
                    let len = varint(within, &mut pos)?;
                    if len > (end - pos) as u64 {
                        return None;
                    }
                    let s = pos;
                    pos += len as usize;
                    Val::Len(s, pos)
                }
                _ => return None,
            };
            f(self, tag, val, field_start..pos)?;
        }
        Some(())
    }

    fn utf8(&self, s: usize, e: usize) -> Option<()> {
        strata_common::is_utf8(&self.buf[s..e]).then_some(())
    }

    fn request(&mut self) -> Option<()> {
        self.fields(0, self.buf.len(), |w, tag, v, _| match (tag, v) {
            (1, Val::Len(s, e)) => w.resource_spans(s, e),
            _ => None,
        })
    }

    fn resource_spans(&mut self, s: usize, e: usize) -> Option<()> {
        let resource = self.out.resources.len() as u32;
        let first = self.out.fields.len() as u32;
        self.out.resources.push(first..first);
        // Scopes are recorded as they come; the resource's own fields are collected first in
        // a side list so that they stay contiguous in `fields`.
        let mut own: Vec<Range<usize>> = Vec::new();
        let mut scopes: Vec<(usize, usize)> = Vec::new();
        self.fields(s, e, |w, tag, v, whole| match (tag, v) {
            (1, Val::Len(s, e)) => {
                w.resource(s, e)?;
                own.push(whole);
                Some(())
            }
            (2, Val::Len(s, e)) => {
                scopes.push((s, e));
                Some(())
            }
            (3, Val::Len(s, e)) => {
                w.utf8(s, e)?;
                own.push(whole);
                Some(())
            }
            _ => None,
        })?;
        self.out.fields.extend(own);
        self.out.resources[resource as usize] = first..self.out.fields.len() as u32;
        for (s, e) in scopes {
            self.scope_spans(resource, s, e)?;
        }
        Some(())
    }

    fn resource(&mut self, s: usize, e: usize) -> Option<()> {
        self.fields(s, e, |w, tag, v, _| match (tag, v) {
            (1, Val::Len(s, e)) => w.key_value(s, e, true, 0),
            (2, Val::Varint) => Some(()),
            (3, Val::Len(s, e)) => w.entity_ref(s, e),
            _ => None,
        })
    }

    fn entity_ref(&mut self, s: usize, e: usize) -> Option<()> {
        self.fields(s, e, |w, tag, v, _| match (tag, v) {
            (1..=4, Val::Len(s, e)) => w.utf8(s, e),
            _ => None,
        })
    }

    fn scope_spans(&mut self, resource: u32, s: usize, e: usize) -> Option<()> {
        let scope = self.out.scopes.len() as u32;
        let mut own: Vec<Range<usize>> = Vec::new();
        let mut spans = std::mem::take(&mut self.scope_spans);
        spans.clear();
        self.fields(s, e, |w, tag, v, whole| match (tag, v) {
            (1, Val::Len(s, e)) => {
                w.scope(s, e)?;
                own.push(whole);
                Some(())
            }
            (2, Val::Len(s, e)) => {
                spans.push((s, e));
                Some(())
            }
            (3, Val::Len(s, e)) => {
                w.utf8(s, e)?;
                own.push(whole);
                Some(())
            }
            _ => None,
        })?;
        let first = self.out.fields.len() as u32;
        self.out.fields.extend(own);
        self.out.scopes.push(ScopeRef {
            resource,
            fields: first..self.out.fields.len() as u32,
        });
        for &(s, e) in &spans {
            self.span(scope, s, e)?;
        }
        self.scope_spans = spans;
        Some(())
    }

    fn scope(&mut self, s: usize, e: usize) -> Option<()> {
        self.fields(s, e, |w, tag, v, _| match (tag, v) {
            (1 | 2, Val::Len(s, e)) => w.utf8(s, e),
            (3, Val::Len(s, e)) => w.key_value(s, e, true, 0),
            (4, Val::Varint) => Some(()),
            _ => None,
        })
    }

    fn span(&mut self, scope: u32, s: usize, e: usize) -> Option<()> {
        let (mut trace_id, mut span_id) = ((0, 0), (0, 0));
        let (mut start, mut end) = (0, 0);
        self.fields(s, e, |w, tag, v, _| match (tag, v) {
            (1, Val::Len(s, e)) => {
                trace_id = (s, e);
                Some(())
            }
            (2, Val::Len(s, e)) => {
                span_id = (s, e);
                Some(())
            }
            (4, Val::Len(..)) => Some(()),
            (3 | 5, Val::Len(s, e)) => w.utf8(s, e),
            (16, Val::Fixed32) => Some(()),
            (6 | 10 | 12 | 14, Val::Varint) => Some(()),
            (7, Val::Fixed64(t)) => {
                start = t;
                Some(())
            }
            (8, Val::Fixed64(t)) => {
                end = t;
                Some(())
            }
            (9, Val::Len(s, e)) => w.key_value(s, e, true, 0),
            (11, Val::Len(s, e)) => w.event(s, e),
            (13, Val::Len(s, e)) => w.link(s, e),
            (15, Val::Len(s, e)) => w.status(s, e),
            _ => None,
        })?;
        let trace_id = TraceId::from_slice(&self.buf[trace_id.0..trace_id.1]).ok()?;
        SpanId::from_slice(&self.buf[span_id.0..span_id.1]).ok()?;
        self.out.spans.push(SpanRef {
            scope,
            bytes: s..e,
            trace_id,
            start_unix_nano: start,
            end_unix_nano: end,
        });
        Some(())
    }

    fn event(&mut self, s: usize, e: usize) -> Option<()> {
        self.fields(s, e, |w, tag, v, _| match (tag, v) {
            (1, Val::Fixed64(_)) => Some(()),
            (2, Val::Len(s, e)) => w.utf8(s, e),
            (3, Val::Len(s, e)) => w.key_value(s, e, true, 0),
            (4, Val::Varint) => Some(()),
            _ => None,
        })
    }

    fn link(&mut self, s: usize, e: usize) -> Option<()> {
        self.fields(s, e, |w, tag, v, _| match (tag, v) {
            (1 | 2, Val::Len(..)) => Some(()),
            (3, Val::Len(s, e)) => w.utf8(s, e),
            (4, Val::Len(s, e)) => w.key_value(s, e, true, 0),
            (5, Val::Varint) | (6, Val::Fixed32) => Some(()),
            _ => None,
        })
    }

    fn status(&mut self, s: usize, e: usize) -> Option<()> {
        self.fields(s, e, |w, tag, v, _| match (tag, v) {
            (2, Val::Len(s, e)) => w.utf8(s, e),
            (3, Val::Varint) => Some(()),
            _ => None,
        })
    }

    /// A `KeyValue`; `top` for attributes the truncation stage looks at (not those nested in
    /// arrays or key-value lists), whose key and string value must fit `max_attr`.
    fn key_value(&mut self, s: usize, e: usize, top: bool, depth: u32) -> Option<()> {
        if depth > MAX_DEPTH {
            return None;
        }
        self.fields(s, e, |w, tag, v, _| match (tag, v) {
            (1, Val::Len(s, e)) => {
                if top && e - s > w.max_attr {
                    return None;
                }
                w.utf8(s, e)
            }
            (2, Val::Len(s, e)) => w.any_value(s, e, top, depth + 1),
            (3, Val::Varint) => Some(()),
            _ => None,
        })
    }

    fn any_value(&mut self, s: usize, e: usize, top: bool, depth: u32) -> Option<()> {
        if depth > MAX_DEPTH {
            return None;
        }
        self.fields(s, e, |w, tag, v, _| match (tag, v) {
            (1, Val::Len(s, e)) => {
                if top && e - s > w.max_attr {
                    return None;
                }
                w.utf8(s, e)
            }
            (2 | 3 | 8, Val::Varint) | (4, Val::Fixed64(_)) | (7, Val::Len(..)) => Some(()),
            (5, Val::Len(s, e)) => w.fields(s, e, |w, tag, v, _| match (tag, v) {
                (1, Val::Len(s, e)) => w.any_value(s, e, false, depth + 1),
                _ => None,
            }),
            (6, Val::Len(s, e)) => w.fields(s, e, |w, tag, v, _| match (tag, v) {
                (1, Val::Len(s, e)) => w.key_value(s, e, false, depth + 1),
                _ => None,
            }),
            _ => None,
        })
    }
}

#[cfg(test)]
mod tests;
