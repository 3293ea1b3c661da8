//! Grouping on the fast path: cuts a request [`scan`](super::wire::scan)ned in wire format into
//! one [`TracePush`] per trace ID by copying byte ranges, without decoding it.
//!
//! The shares are the ones [`group`](super::group) followed by [`TraceSpans::encode`] would
//! make from the decoded request — same traces in the same order (of each trace's first span),
//! same span counts and times, and payloads that prost decodes to the same `tempopb.Trace`:
//! each span stays under its own resource and scope, consecutive spans of a trace under the
//! same resource and scope share one copy. Only the byte layout may differ (fields of a
//! resource or scope keep the order they had in the request, while prost writes them in field
//! number order).
//!
//! Payload layout (protobuf, `tempopb.Trace`): `1: ResourceSpans*`, each the resource's own
//! fields (raw) then `2: ScopeSpans*`, each the scope's own fields (raw) then `2: Span*` (raw).
//!
//! [`TraceSpans::encode`]: strata_proto::roles::TraceSpans::encode

use std::collections::HashMap;

use bytes::Bytes;
use strata_common::TraceId;
use strata_proto::roles::TracePush;

use super::wire::Scanned;

/// Field key of `Trace.resource_spans` (1, length-delimited).
const KEY_RESOURCE_SPANS: u8 = 0x0a;
/// Field key of `ResourceSpans.scope_spans` and `ScopeSpans.spans` (2, length-delimited).
const KEY_2: u8 = 0x12;

/// One trace of the request: where its span indices sit in the grouped order.
struct Acc {
    id: TraceId,
    /// Range into the grouped span order.
    first: usize,
    len: usize,
    start: u64,
    end: u64,
}

/// Splits `buf` (the bytes `scanned` was made from) by trace ID.
pub fn split(buf: &[u8], scanned: &Scanned) -> Vec<TracePush> {
    // Spans grouped by trace in three flat vectors (the trace of each span, then a counting
    // sort), not one growing vector per trace: allocations per request stay constant.
    let mut index: HashMap<TraceId, usize> = HashMap::new();
    let mut traces: Vec<Acc> = Vec::new();
    let mut of_span: Vec<u32> = Vec::with_capacity(scanned.spans.len());
    for span in &scanned.spans {
        let t = *index.entry(span.trace_id).or_insert_with(|| {
            traces.push(Acc {
                id: span.trace_id,
                first: 0,
                len: 0,
                start: u64::MAX,
                end: 0,
            });
            traces.len() - 1
        });
        let acc = &mut traces[t];
        acc.len += 1;
        acc.start = acc.start.min(span.start_unix_nano);
        acc.end = acc.end.max(span.end_unix_nano);
        of_span.push(t as u32);
    }
    let mut next = 0;
    for acc in &mut traces {
        acc.first = next;
        next += acc.len;
    }
    let mut fill: Vec<usize> = traces.iter().map(|a| a.first).collect();
    let mut order = vec![0u32; scanned.spans.len()];
    for (i, &t) in of_span.iter().enumerate() {
        order[fill[t as usize]] = i as u32;
        fill[t as usize] += 1;
    }
    let mut runs = Runs::default();
    traces
        .into_iter()
        .map(|acc| {
            let spans = &order[acc.first..acc.first + acc.len];
            TracePush {
                trace_id: acc.id,
                span_count: acc.len as u32,
                start_unix_nano: acc.start,
                end_unix_nano: acc.end,
                payload: Bytes::from(runs.encode(buf, scanned, spans)),
                replica: false,
            }
        })
        .collect()
}

/// The number of bytes of a varint.
fn varint_len(v: u64) -> usize {
    (64 - (v | 1).leading_zeros() as usize).div_ceil(7)
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// A length-delimited field of `len` bytes, with its key and length.
fn field_len(len: usize) -> usize {
    1 + varint_len(len as u64) + len
}

/// One `ScopeSpans` of a share: the scope and a run of its spans (indices into the trace's
/// span list), with the message's length.
struct ScopeRun {
    scope: u32,
    spans: (usize, usize),
    len: usize,
}

/// One `ResourceSpans` of a share: a run of [`ScopeRun`]s.
struct ResourceRun {
    resource: u32,
    scopes: (usize, usize),
    len: usize,
}

/// Scratch space reused across the traces of a request.
#[derive(Default)]
struct Runs {
    resources: Vec<ResourceRun>,
    scopes: Vec<ScopeRun>,
}

impl Runs {
    /// Encodes one trace's share (`spans`: indices into `scanned.spans`, in request order).
    fn encode(&mut self, buf: &[u8], scanned: &Scanned, spans: &[u32]) -> Vec<u8> {
        self.resources.clear();
        self.scopes.clear();
        let fields_len = |r: &std::ops::Range<u32>| -> usize {
            scanned.fields[r.start as usize..r.end as usize]
                .iter()
                .map(|f| f.len())
                .sum()
        };
        for (i, &s) in spans.iter().enumerate() {
            let span = &scanned.spans[s as usize];
            let scope = &scanned.scopes[span.scope as usize];
            let new_resource = self
                .resources
                .last()
                .is_none_or(|r| r.resource != scope.resource);
            if new_resource {
                self.resources.push(ResourceRun {
                    resource: scope.resource,
                    scopes: (self.scopes.len(), self.scopes.len()),
                    len: fields_len(&scanned.resources[scope.resource as usize]),
                });
            }
            if new_resource || self.scopes.last().is_none_or(|r| r.scope != span.scope) {
                self.scopes.push(ScopeRun {
                    scope: span.scope,
                    spans: (i, i),
                    len: fields_len(&scope.fields),
                });
                self.resources.last_mut().expect("pushed above").scopes.1 = self.scopes.len();
            }
            let run = self.scopes.last_mut().expect("pushed above");
            run.spans.1 = i + 1;
            run.len += field_len(span.bytes.len());
        }
        for r in &mut self.resources {
            r.len += self.scopes[r.scopes.0..r.scopes.1]
                .iter()
                .map(|s| field_len(s.len))
                .sum::<usize>();
        }
        let total: usize = self.resources.iter().map(|r| field_len(r.len)).sum();
        let mut out = Vec::with_capacity(total);
        let raw = |out: &mut Vec<u8>, r: &std::ops::Range<u32>| {
            for f in &scanned.fields[r.start as usize..r.end as usize] {
                out.extend_from_slice(&buf[f.clone()]);
            }
        };
        for r in &self.resources {
            out.push(KEY_RESOURCE_SPANS);
            put_varint(&mut out, r.len as u64);
            raw(&mut out, &scanned.resources[r.resource as usize]);
            for sr in &self.scopes[r.scopes.0..r.scopes.1] {
                out.push(KEY_2);
                put_varint(&mut out, sr.len as u64);
                raw(&mut out, &scanned.scopes[sr.scope as usize].fields);
                for &s in &spans[sr.spans.0..sr.spans.1] {
                    let b = &scanned.spans[s as usize].bytes;
                    out.push(KEY_2);
                    put_varint(&mut out, b.len() as u64);
                    out.extend_from_slice(&buf[b.clone()]);
                }
            }
        }
        debug_assert_eq!(out.len(), total);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varint_lengths() {
        for v in [
            0u64,
            1,
            127,
            128,
            16_383,
            16_384,
            u64::from(u32::MAX),
            u64::MAX,
        ] {
            let mut out = Vec::new();
            put_varint(&mut out, v);
            assert_eq!(out.len(), varint_len(v), "{v}");
        }
    }
}
