//! A borrowed walk of stored trace shares (`tempopb.Trace` in protobuf wire format) for the
//! block writer: it indexes a trace's resources, scopes and spans as byte slices of the shares,
//! so that [`super::from_wire`] can append them to the Arrow builders without building prost
//! structs (one allocation per key and string) first. The spans' attributes, which the walk
//! must parse to check them, are kept parsed ([`WireTrace::attrs`]), so the append walk does
//! not parse them a second time.
//!
//! Format (OTLP 1.x, `opentelemetry-proto` 0.33): `Trace` `1: ResourceSpans*`; ResourceSpans
//! `1: Resource, 2: ScopeSpans*, 3: schema_url`; ScopeSpans `1: InstrumentationScope, 2: Span*,
//! 3: schema_url`; Resource `1: KeyValue*, 2: dropped, 3: EntityRef*`; InstrumentationScope
//! `1: name, 2: version, 3: KeyValue*, 4: dropped`; Span `1: trace_id, 2: span_id,
//! 3: trace_state, 4: parent_span_id, 5: name, 6: kind, 7: start (fixed64), 8: end (fixed64),
//! 9: KeyValue*, 10: dropped attributes, 11: Event*, 12: dropped events, 13: Link*,
//! 14: dropped links, 15: Status, 16: flags (fixed32)`; Event `1: time (fixed64), 2: name,
//! 3: KeyValue*, 4: dropped`; Link `1: trace_id, 2: span_id, 3: trace_state, 4: KeyValue*,
//! 5: dropped, 6: flags (fixed32)`; Status `2: message, 3: code`; KeyValue `1: key, 2: AnyValue,
//! 3: key_strindex`; AnyValue `1: string, 2: bool, 3: int, 4: double (fixed64), 5: ArrayValue,
//! 6: KeyValueList, 7: bytes, 8: string_value_strindex`; ArrayValue `1: AnyValue*`;
//! KeyValueList `1: KeyValue*`; EntityRef `1..=4: strings`.
//!
//! Invariant: [`WireTrace::add_share`] returns `Some` only when prost decodes the share without
//! error **and** the decoded structs hold exactly what [`super::from_wire`] reads from the
//! bytes. Every field is checked as prost checks it (wire type of known fields, varint form,
//! lengths, UTF-8 of strings); unknown fields are skipped, as prost skips them. A singular
//! message field that occurs twice (prost would merge the two), an `AnyValue` with two values
//! (prost keeps the last or merges), a group, or values nested deeper than [`MAX_DEPTH`] give
//! `None`: the caller then decodes with prost, which produces the exact error or result. Of
//! singular scalar and string fields the last occurrence wins, as in prost.

use strata_common::varint;
use strata_proto::otlp::common::{ArrayValue, EntityRef, KeyValueList};

/// Deepest nesting of `AnyValue`s in arrays and key-value lists walked (prost allows 100
/// message levels in all; deeper values take the prost path).
pub(crate) const MAX_DEPTH: u32 = 32;

/// An attribute value read from a checked `AnyValue` (`Absent`: the `KeyValue` has none).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum WireValue<'a> {
    Absent,
    Empty,
    /// UTF-8 checked by the walk.
    Str(&'a [u8]),
    Bool(bool),
    Int(i64),
    Double(f64),
    Bytes(&'a [u8]),
    Array(&'a [u8]),
    Kvlist(&'a [u8]),
    StrIndex(i64),
}

impl<'a> WireValue<'a> {
    /// The value of an `AnyValue` whose one known field (1..=8) is `(tag, v)`, as prost decodes
    /// it; `None` for a wire type prost would reject.
    pub(crate) fn of(tag: u32, v: Val<'a>) -> Option<Self> {
        Some(match (tag, v) {
            (1, Val::Len(s)) => Self::Str(s),
            (2, Val::Varint(b)) => Self::Bool(b != 0),
            (3, Val::Varint(i)) => Self::Int(i as i64),
            (4, Val::Fixed64(d)) => Self::Double(f64::from_bits(d)),
            (5, Val::Len(m)) => Self::Array(m),
            (6, Val::Len(m)) => Self::Kvlist(m),
            (7, Val::Len(b)) => Self::Bytes(b),
            (8, Val::Varint(i)) => Self::StrIndex(i64::from(i as i32)),
            _ => return None,
        })
    }
}

/// A checked attribute: key (UTF-8 checked) and value.
pub(crate) type WireAttr<'a> = (&'a [u8], WireValue<'a>);

/// A field value as read from the wire.
#[derive(Clone, Copy)]
pub(crate) enum Val<'a> {
    Varint(u64),
    Fixed64(u64),
    Fixed32(u32),
    Len(&'a [u8]),
}

/// Calls `f(tag, value)` for every field of the message `buf`; `None` at the first malformed
/// field (or group) or the first `None` of `f`.
pub(crate) fn fields<'a>(
    buf: &'a [u8],
    mut f: impl FnMut(u32, Val<'a>) -> Option<()>,
) -> Option<()> {
    let mut pos = 0;
    while pos < buf.len() {
        let key = varint(buf, &mut pos)?;
        if key > u64::from(u32::MAX) {
            return None;
        }
        let (tag, wt) = ((key >> 3) as u32, key & 7);
        if tag == 0 {
            return None;
        }
        let val = match wt {
            0 => Val::Varint(varint(buf, &mut pos)?),
            1 => {
                let b = buf.get(pos..pos + 8)?;
                pos += 8;
                Val::Fixed64(u64::from_le_bytes(b.try_into().ok()?))
            }
            5 => {
                let b = buf.get(pos..pos + 4)?;
                pos += 4;
                Val::Fixed32(u32::from_le_bytes(b.try_into().ok()?))
            }
            2 => {
                let len = varint(buf, &mut pos)?;
                if len > (buf.len() - pos) as u64 {
                    return None;
                }
                let s = pos;
                pos += len as usize;
                Val::Len(&buf[s..pos])
            }
            _ => return None,
        };
        f(tag, val)?;
    }
    Some(())
}

/// `b` as a string; only for bytes the walk already checked (an empty string otherwise, which
/// the invariant rules out). Validates again: for the few strings needed as `&str`; string
/// columns take the checked bytes instead (see [`super::utf8_col`]).
pub(crate) fn str_of(b: &[u8]) -> &str {
    debug_assert!(std::str::from_utf8(b).is_ok(), "unchecked string");
    std::str::from_utf8(b).unwrap_or_default()
}

fn utf8(b: &[u8]) -> Option<&str> {
    std::str::from_utf8(b).ok()
}

/// `Some` when `b` is UTF-8 (for strings whose bytes are kept as they are).
fn checked(b: &[u8]) -> Option<()> {
    strata_common::is_utf8(b).then_some(())
}

/// Marks singular message field `tag` (< 64) as seen; `None` when it was seen before.
fn once(seen: &mut u64, tag: u32) -> Option<()> {
    let bit = 1u64 << tag;
    if *seen & bit != 0 {
        return None;
    }
    *seen |= bit;
    Some(())
}

/// A resource of the trace: its message (absent: `None`) and what the block's
/// `service_name` column needs.
#[derive(Debug, Clone, Copy)]
pub(crate) struct WireResource<'a> {
    pub msg: Option<&'a [u8]>,
    pub schema_url: &'a str,
    /// The first `service.name` attribute with a string value.
    pub service_name: Option<&'a str>,
    /// Whether the first `service.name` attribute (if any) has a string value.
    pub service_name_exact: bool,
}

/// A scope of the trace: its message (absent: `None`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct WireScope<'a> {
    pub msg: Option<&'a [u8]>,
    pub schema_url: &'a str,
}

/// A span of the trace.
#[derive(Debug, Clone, Copy)]
pub(crate) struct WireSpan<'a> {
    pub resource: u32,
    pub scope: u32,
    /// The span message's bytes (without its key and length).
    pub bytes: &'a [u8],
    pub trace_id: &'a [u8],
    pub start: u64,
    pub end: u64,
    pub replica: bool,
    /// The span's attributes: `WireTrace::attrs[attrs.0..attrs.1]`, in wire order.
    pub attrs: (u32, u32),
}

impl WireSpan<'_> {
    /// The span's attributes in `all` (its trace's [`WireTrace::attrs`]).
    pub fn attrs_in<'t, 'a>(&self, all: &'t [WireAttr<'a>]) -> &'t [WireAttr<'a>] {
        &all[self.attrs.0 as usize..self.attrs.1 as usize]
    }
}

/// The resources, scopes and spans of one trace's shares, in the order prost would decode
/// them share after share.
#[derive(Debug, Default)]
pub(crate) struct WireTrace<'a> {
    pub resources: Vec<WireResource<'a>>,
    pub scopes: Vec<WireScope<'a>>,
    pub spans: Vec<WireSpan<'a>>,
    /// Every span's attributes, parsed once by the walk that checks them (the append walk
    /// takes them from here instead of parsing the `KeyValue`s again).
    pub attrs: Vec<WireAttr<'a>>,
    /// Scratch: messages found by one walk and walked next (scope spans of a resource, spans
    /// of a scope), used as a stack and empty between calls.
    msgs: Vec<&'a [u8]>,
}

/// `v` emptied, as a vector of a type that differs only in its lifetime, keeping the
/// allocation (the standard library collects a vector's own iterator in place when the
/// element layouts match, as they do here).
fn reuse<T, U>(mut v: Vec<T>) -> Vec<U> {
    v.clear();
    v.into_iter().filter_map(|_| None).collect()
}

impl WireTrace<'_> {
    /// Empties the index, keeping its allocations for the next trace's (whose shares are other
    /// bytes): the block writer indexes hundreds of thousands of traces per block, each into
    /// vectors that would otherwise grow from empty.
    pub fn recycle<'b>(self) -> WireTrace<'b> {
        WireTrace {
            resources: reuse(self.resources),
            scopes: reuse(self.scopes),
            spans: reuse(self.spans),
            attrs: reuse(self.attrs),
            msgs: reuse(self.msgs),
        }
    }
}

impl<'a> WireTrace<'a> {
    /// Indexes one share (`tempopb.Trace` bytes); `None` (with `self` left partly filled) when
    /// the walk does not apply — see the module docs.
    pub fn add_share(&mut self, share: &'a [u8], replica: bool) -> Option<()> {
        fields(share, |tag, v| match (tag, v) {
            (1, Val::Len(b)) => self.resource_spans(b, replica),
            (1, _) => None,
            _ => Some(()),
        })
    }

    fn resource_spans(&mut self, b: &'a [u8], replica: bool) -> Option<()> {
        let mut seen = 0;
        let mut res = WireResource {
            msg: None,
            schema_url: "",
            service_name: None,
            service_name_exact: true,
        };
        let first = self.msgs.len();
        let msgs = &mut self.msgs;
        fields(b, |tag, v| match (tag, v) {
            (1, Val::Len(m)) => {
                once(&mut seen, 1)?;
                res.msg = Some(m);
                Some(())
            }
            (2, Val::Len(m)) => {
                msgs.push(m);
                Some(())
            }
            (3, Val::Len(s)) => {
                res.schema_url = utf8(s)?;
                Some(())
            }
            (1..=3, _) => None,
            _ => Some(()),
        })?;
        if let Some(m) = res.msg {
            resource(m, &mut res)?;
        }
        let ri = self.resources.len() as u32;
        self.resources.push(res);
        for i in first..self.msgs.len() {
            let m = self.msgs[i];
            self.scope_spans(ri, m, replica)?;
        }
        self.msgs.truncate(first);
        Some(())
    }

    fn scope_spans(&mut self, resource: u32, b: &'a [u8], replica: bool) -> Option<()> {
        let mut seen = 0;
        let mut scope = WireScope {
            msg: None,
            schema_url: "",
        };
        let first = self.msgs.len();
        let msgs = &mut self.msgs;
        fields(b, |tag, v| match (tag, v) {
            (1, Val::Len(m)) => {
                once(&mut seen, 1)?;
                instrumentation_scope(m)?;
                scope.msg = Some(m);
                Some(())
            }
            (2, Val::Len(m)) => {
                msgs.push(m);
                Some(())
            }
            (3, Val::Len(s)) => {
                scope.schema_url = utf8(s)?;
                Some(())
            }
            (1..=3, _) => None,
            _ => Some(()),
        })?;
        let si = self.scopes.len() as u32;
        self.scopes.push(scope);
        for i in first..self.msgs.len() {
            let m = self.msgs[i];
            let mut s = WireSpan {
                resource,
                scope: si,
                bytes: m,
                trace_id: &[],
                start: 0,
                end: 0,
                replica,
                attrs: (0, 0),
            };
            span(m, &mut s, &mut self.attrs)?;
            self.spans.push(s);
        }
        self.msgs.truncate(first);
        Some(())
    }
}

fn resource<'a>(b: &'a [u8], res: &mut WireResource<'a>) -> Option<()> {
    let mut first_service = true;
    fields(b, |tag, v| match (tag, v) {
        (1, Val::Len(m)) => {
            let (key, value) = key_value(m, 0)?;
            if key == b"service.name" {
                let s = match value {
                    WireValue::Str(s) => Some(str_of(s)),
                    _ => None,
                };
                if first_service {
                    res.service_name_exact = s.is_some();
                    first_service = false;
                }
                if res.service_name.is_none() {
                    res.service_name = s;
                }
            }
            Some(())
        }
        (2, Val::Varint(_)) => Some(()),
        (3, Val::Len(m)) => entity_ref(m),
        (1..=3, _) => None,
        _ => Some(()),
    })
}

fn entity_ref(b: &[u8]) -> Option<()> {
    fields(b, |tag, v| match (tag, v) {
        (1..=4, Val::Len(s)) => checked(s),
        (1..=4, _) => None,
        _ => Some(()),
    })
}

fn instrumentation_scope(b: &[u8]) -> Option<()> {
    fields(b, |tag, v| match (tag, v) {
        (1 | 2, Val::Len(s)) => checked(s),
        (3, Val::Len(m)) => key_value(m, 0).map(|_| ()),
        (4, Val::Varint(_)) => Some(()),
        (1..=4, _) => None,
        _ => Some(()),
    })
}

fn span<'a>(b: &'a [u8], out: &mut WireSpan<'a>, attrs: &mut Vec<WireAttr<'a>>) -> Option<()> {
    let mut seen = 0;
    let first = attrs.len();
    fields(b, |tag, v| match (tag, v) {
        (1, Val::Len(id)) => {
            out.trace_id = id;
            Some(())
        }
        (2 | 4, Val::Len(_)) => Some(()),
        (3 | 5, Val::Len(s)) => checked(s),
        (6 | 10 | 12 | 14, Val::Varint(_)) | (16, Val::Fixed32(_)) => Some(()),
        (7, Val::Fixed64(t)) => {
            out.start = t;
            Some(())
        }
        (8, Val::Fixed64(t)) => {
            out.end = t;
            Some(())
        }
        (9, Val::Len(m)) => {
            attrs.push(key_value(m, 0)?);
            Some(())
        }
        (11, Val::Len(m)) => event(m),
        (13, Val::Len(m)) => link(m),
        (15, Val::Len(m)) => {
            once(&mut seen, 15)?;
            status(m)
        }
        (1..=16, _) => None,
        _ => Some(()),
    })?;
    out.attrs = (u32::try_from(first).ok()?, u32::try_from(attrs.len()).ok()?);
    Some(())
}

fn event(b: &[u8]) -> Option<()> {
    fields(b, |tag, v| match (tag, v) {
        (1, Val::Fixed64(_)) | (4, Val::Varint(_)) => Some(()),
        (2, Val::Len(s)) => checked(s),
        (3, Val::Len(m)) => key_value(m, 0).map(|_| ()),
        (1..=4, _) => None,
        _ => Some(()),
    })
}

fn link(b: &[u8]) -> Option<()> {
    fields(b, |tag, v| match (tag, v) {
        (1 | 2, Val::Len(_)) | (5, Val::Varint(_)) | (6, Val::Fixed32(_)) => Some(()),
        (3, Val::Len(s)) => checked(s),
        (4, Val::Len(m)) => key_value(m, 0).map(|_| ()),
        (1..=6, _) => None,
        _ => Some(()),
    })
}

fn status(b: &[u8]) -> Option<()> {
    fields(b, |tag, v| match (tag, v) {
        (2, Val::Len(s)) => checked(s),
        (3, Val::Varint(_)) => Some(()),
        (2 | 3, _) => None,
        _ => Some(()),
    })
}

/// Checks a `KeyValue`; its key and value.
fn key_value(b: &[u8], depth: u32) -> Option<WireAttr<'_>> {
    let mut seen = 0;
    let (mut key, mut value) = (&b""[..], WireValue::Absent);
    fields(b, |tag, v| match (tag, v) {
        (1, Val::Len(s)) => {
            checked(s)?;
            key = s;
            Some(())
        }
        (2, Val::Len(m)) => {
            once(&mut seen, 2)?;
            value = any_value(m, depth + 1)?;
            Some(())
        }
        (3, Val::Varint(_)) => Some(()),
        (1..=3, _) => None,
        _ => Some(()),
    })?;
    Some((key, value))
}

/// Checks an `AnyValue` (at most one of its known fields present); its value.
fn any_value(b: &[u8], depth: u32) -> Option<WireValue<'_>> {
    if depth > MAX_DEPTH {
        return None;
    }
    let mut value = WireValue::Empty;
    fields(b, |tag, v| {
        if (1..=8).contains(&tag) {
            if value != WireValue::Empty {
                return None;
            }
            value = WireValue::of(tag, v)?;
        }
        match (tag, v) {
            (1, Val::Len(s)) => checked(s),
            (2 | 3 | 8, Val::Varint(_)) | (4, Val::Fixed64(_)) | (7, Val::Len(_)) => Some(()),
            (5, Val::Len(m)) => fields(m, |tag, v| match (tag, v) {
                (1, Val::Len(m)) => any_value(m, depth + 1).map(|_| ()),
                (1, _) => None,
                _ => Some(()),
            }),
            (6, Val::Len(m)) => fields(m, |tag, v| match (tag, v) {
                (1, Val::Len(m)) => key_value(m, depth + 1).map(|_| ()),
                (1, _) => None,
                _ => Some(()),
            }),
            (1..=8, _) => None,
            _ => Some(()),
        }
    })?;
    Some(value)
}

/// A checked `ArrayValue` as prost re-encodes it (what the prost path stores).
pub(crate) fn reencode_array(b: &[u8]) -> Result<Vec<u8>, prost::DecodeError> {
    use prost::Message;
    Ok(ArrayValue::decode(b)?.encode_to_vec())
}

/// A checked `KeyValueList` as prost re-encodes it.
pub(crate) fn reencode_kvlist(b: &[u8]) -> Result<Vec<u8>, prost::DecodeError> {
    use prost::Message;
    Ok(KeyValueList::decode(b)?.encode_to_vec())
}

/// A checked `EntityRef` as prost re-encodes it.
pub(crate) fn reencode_entity_ref(b: &[u8]) -> Result<Vec<u8>, prost::DecodeError> {
    use prost::Message;
    Ok(EntityRef::decode(b)?.encode_to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recycle_keeps_the_allocations_and_empties_the_index() {
        let bytes = [1u8; 64];
        let mut t = WireTrace::default();
        for i in 0..100u32 {
            t.spans.push(WireSpan {
                resource: 0,
                scope: 0,
                bytes: &bytes[..],
                trace_id: &bytes[..16],
                start: u64::from(i),
                end: 0,
                replica: false,
                attrs: (0, 0),
            });
            t.attrs.push((&bytes[..3], WireValue::Int(i64::from(i))));
            t.msgs.push(&bytes[..]);
        }
        let caps = (t.spans.capacity(), t.attrs.capacity(), t.msgs.capacity());
        let other = [2u8; 8];
        let mut r: WireTrace<'_> = t.recycle();
        assert!(r.spans.is_empty() && r.attrs.is_empty() && r.msgs.is_empty());
        assert_eq!(
            (r.spans.capacity(), r.attrs.capacity(), r.msgs.capacity()),
            caps
        );
        // The recycled index takes borrows of other bytes.
        r.msgs.push(&other[..]);
        assert_eq!(r.msgs[0], &[2u8; 8][..]);
    }
}
