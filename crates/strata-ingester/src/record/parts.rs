//! A v2 record as slices, for [`strata_wal::Wal::append_parts`]: the small encoded pieces (the
//! version, the message length, the tenant, each `TracePush`'s key, length and scalar fields)
//! go into one buffer, and every trace's payload stays where the push holds it. The WAL writes
//! the pieces and payloads with one `writev`, so a push's payloads are not copied into a record
//! buffer and again into a frame buffer before the kernel copies them once more.
//!
//! Invariant: the concatenation of [`RecordParts::parts`] is byte for byte the version byte, the
//! message length (u32 LE) and prost's encoding of the push's `PushRequest` message: the fields
//! of each message in field-number order, scalar and bytes fields at their proto3 default left
//! out, as prost leaves them out (tested against prost).

use bytes::BufMut;
use prost::encoding::{encode_key, encode_varint, encoded_len_varint, WireType};
use strata_proto::roles::{PushRequest, TracePush};

use super::RECORD_VERSION;

/// One record, ready for the WAL: trace `i`'s payload goes into `head` at `cuts[i]` (see
/// [`parts`](Self::parts)). It holds the push itself, handed back by
/// [`into_request`](Self::into_request) once written, so that the payloads go on to the live
/// set without being shared (a shared `Bytes` costs an allocation and atomic counts).
#[derive(Debug)]
pub struct RecordParts {
    head: Vec<u8>,
    /// Where trace `i`'s payload goes in `head` (ascending).
    cuts: Vec<usize>,
    req: PushRequest,
}

impl RecordParts {
    /// Encodes `req` (payloads are not copied: the record keeps the push).
    pub fn new(req: PushRequest) -> Self {
        let tenant = req.tenant.as_str().as_bytes();
        let inner: Vec<usize> = req.traces.iter().map(trace_len).collect();
        let traces_len: usize = inner
            .iter()
            .map(|&n| 1 + encoded_len_varint(n as u64) + n)
            .sum();
        let tenant_len = match tenant.len() {
            0 => 0,
            n => 1 + encoded_len_varint(n as u64) + n,
        };
        let msg_len = tenant_len + traces_len;
        let payload_len: usize = req.traces.iter().map(|t| t.payload.len()).sum();
        let mut head = Vec::with_capacity(5 + msg_len - payload_len);
        head.push(RECORD_VERSION);
        head.put_u32_le(msg_len as u32);
        if !tenant.is_empty() {
            encode_key(1, WireType::LengthDelimited, &mut head);
            encode_varint(tenant.len() as u64, &mut head);
            head.extend_from_slice(tenant);
        }
        let mut cuts = Vec::with_capacity(req.traces.len());
        for (t, &len) in req.traces.iter().zip(&inner) {
            encode_key(2, WireType::LengthDelimited, &mut head);
            encode_varint(len as u64, &mut head);
            encode_key(1, WireType::LengthDelimited, &mut head);
            encode_varint(16, &mut head);
            head.extend_from_slice(t.trace_id.as_bytes());
            if t.span_count != 0 {
                encode_key(2, WireType::Varint, &mut head);
                encode_varint(u64::from(t.span_count), &mut head);
            }
            for (tag, v) in [(3, t.start_unix_nano), (4, t.end_unix_nano)] {
                if v != 0 {
                    encode_key(tag, WireType::SixtyFourBit, &mut head);
                    head.put_u64_le(v);
                }
            }
            if !t.payload.is_empty() {
                encode_key(5, WireType::LengthDelimited, &mut head);
                encode_varint(t.payload.len() as u64, &mut head);
            }
            cuts.push(head.len());
            if t.replica {
                encode_key(6, WireType::Varint, &mut head);
                encode_varint(1, &mut head);
            }
        }
        Self { head, cuts, req }
    }

    /// The push the record was made from.
    pub fn into_request(self) -> PushRequest {
        self.req
    }

    /// Total bytes of the record.
    pub fn encoded_len(&self) -> usize {
        self.head.len()
            + self
                .req
                .traces
                .iter()
                .map(|t| t.payload.len())
                .sum::<usize>()
    }

    /// The record's slices in order: head up to the first cut, the first payload, head up to
    /// the next cut, … , the last payload, the rest of head.
    pub fn parts(&self) -> Vec<&[u8]> {
        let mut out = Vec::with_capacity(2 * self.cuts.len() + 1);
        let mut at = 0;
        for (&cut, t) in self.cuts.iter().zip(&self.req.traces) {
            out.push(&self.head[at..cut]);
            out.push(&t.payload[..]);
            at = cut;
        }
        out.push(&self.head[at..]);
        out
    }
}

/// Encoded length of one `TracePush` message (without its key and length).
fn trace_len(t: &TracePush) -> usize {
    let mut n = 1 + 1 + 16;
    if t.span_count != 0 {
        n += 1 + encoded_len_varint(u64::from(t.span_count));
    }
    n += 9 * usize::from(t.start_unix_nano != 0) + 9 * usize::from(t.end_unix_nano != 0);
    if !t.payload.is_empty() {
        n += 1 + encoded_len_varint(t.payload.len() as u64) + t.payload.len();
    }
    n + 2 * usize::from(t.replica)
}

#[cfg(test)]
mod tests {
    use strata_common::{TenantId, TraceId};

    use bytes::Bytes;

    use super::*;

    fn trace(id: u8, spans: u32, start: u64, end: u64, payload: &[u8], replica: bool) -> TracePush {
        TracePush {
            trace_id: TraceId([id; 16]),
            span_count: spans,
            start_unix_nano: start,
            end_unix_nano: end,
            payload: Bytes::copy_from_slice(payload),
            replica,
        }
    }

    fn concat(r: &RecordParts) -> Vec<u8> {
        r.parts().concat()
    }

    /// The v2 record as prost encodes the message.
    fn prost_record(req: &PushRequest) -> Vec<u8> {
        use prost::Message;
        let msg = req.to_message();
        let mut out = vec![RECORD_VERSION];
        out.put_u32_le(msg.encoded_len() as u32);
        msg.encode(&mut out).unwrap();
        out
    }

    #[test]
    fn parts_are_the_prost_record() {
        let big = vec![0xab; 300];
        let huge = vec![0x5c; 70_000];
        let cases = vec![
            vec![],
            vec![trace(1, 3, 10, 20, b"abc", false)],
            vec![trace(2, 0, 0, 0, b"", false)],
            vec![trace(3, 1, 0, u64::MAX, b"", true)],
            vec![
                trace(4, 200, 1 << 40, 1 << 41, &big, true),
                trace(5, 1, 5, 6, b"x", false),
                trace(6, u32::MAX, 7, 0, &huge, true),
                trace(7, 128, 9, 9, b"", false),
            ],
        ];
        for traces in cases {
            let req = PushRequest {
                tenant: TenantId::new("team-a").unwrap(),
                traces,
            };
            let r = RecordParts::new(req.clone());
            let want = prost_record(&req);
            assert_eq!(concat(&r), want, "{req:?}");
            assert_eq!(r.encoded_len(), want.len());
            assert_eq!(super::super::encode(&req), want);
            assert_eq!(super::super::decode(&concat(&r)).unwrap(), req);
        }
    }

    #[test]
    fn payloads_are_not_copied() {
        let req = PushRequest {
            tenant: TenantId::new("t").unwrap(),
            traces: vec![trace(1, 1, 1, 2, b"payload", false)],
        };
        let at = req.traces[0].payload.as_ptr();
        let r = RecordParts::new(req);
        let parts = r.parts();
        assert_eq!(parts.len(), 3);
        assert_eq!(parts[1].as_ptr(), at);
        assert_eq!(parts[1], b"payload");
        // Handed back as it came, the payload still in the same place.
        drop(parts);
        assert_eq!(r.into_request().traces[0].payload.as_ptr(), at);
    }
}
