//! The ingester's WAL record: one push, as the distributor sent it.
//!
//! Format v2 (written since the push encoding was unified; integers little-endian):
//!
//! ```text
//! u8      version = 2
//! u32     message length
//! [len]   the prost-encoded `strata.ingester.v1.PushRequest` — the very message the internal
//!         gRPC carries (`strata_proto::push`); its trace payloads are prost-encoded
//!         tempopb.Trace messages
//! ```
//!
//! Format v1 (still read; fixtures in `crates/strata-testkit/fixtures/v1/wal`):
//!
//! ```text
//! u8      version = 1
//! u16     tenant length, then the tenant ID bytes (UTF-8)
//! u32     number of traces
//! per trace:
//!   [16]  trace ID
//!   u32   span count
//!   u64   earliest span start (unix ns)
//!   u64   latest span end (unix ns)
//!   u32   payload length, then the payload (a prost-encoded tempopb.Trace)
//! ```
//!
//! The WAL's own framing (length + CRC) guarantees the record is whole; decoding still checks
//! every length (v2: the message length must be exactly what follows, so no prefix of a record
//! decodes) and the tenant and trace IDs, so a record from a future version or a bug is an
//! error, never a panic.

use bytes::{Buf, Bytes};
use prost::Message;
use strata_common::{TenantId, TraceId};
use strata_proto::ingester_rpc as wire;
use strata_proto::push::PushMessageError;
use strata_proto::roles::{PushRequest, TracePush};

mod parts;

pub use parts::RecordParts;

/// The version [`encode`] writes.
pub const RECORD_VERSION: u8 = 2;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RecordError {
    #[error("unknown wal record version {0}")]
    Version(u8),
    #[error("wal record truncated while reading {0}")]
    Truncated(&'static str),
    #[error("wal record has a bad tenant: {0}")]
    Tenant(String),
    #[error("wal record message: {0}")]
    Message(String),
}

/// Encodes a push as a v2 record into one buffer: the concatenation of [`RecordParts`], which
/// the ingester hands the WAL as it is.
pub fn encode(req: &PushRequest) -> Vec<u8> {
    RecordParts::new(req.clone()).parts().concat()
}

/// Decodes a record of any version this build knows.
pub fn decode(record: &[u8]) -> Result<PushRequest, RecordError> {
    let mut b = Bytes::copy_from_slice(record);
    need(&b, 1, "version")?;
    match b.get_u8() {
        1 => decode_v1(b),
        2 => decode_v2(b),
        v => Err(RecordError::Version(v)),
    }
}

fn decode_v2(mut b: Bytes) -> Result<PushRequest, RecordError> {
    need(&b, 4, "message length")?;
    let len = b.get_u32_le() as usize;
    need(&b, len, "message")?;
    if b.remaining() != len {
        return Err(RecordError::Message(format!(
            "{} bytes after a message of {len}",
            b.remaining() - len
        )));
    }
    let msg = wire::PushRequest::decode(b).map_err(|e| RecordError::Message(e.to_string()))?;
    PushRequest::from_message(msg).map_err(|e| match e {
        PushMessageError::Tenant { .. } => RecordError::Tenant(e.to_string()),
        PushMessageError::TraceId(_) => RecordError::Message(e.to_string()),
    })
}

fn need(b: &Bytes, n: usize, what: &'static str) -> Result<(), RecordError> {
    if b.remaining() < n {
        Err(RecordError::Truncated(what))
    } else {
        Ok(())
    }
}

fn decode_v1(mut b: Bytes) -> Result<PushRequest, RecordError> {
    need(&b, 2, "tenant length")?;
    let tlen = b.get_u16_le() as usize;
    need(&b, tlen, "tenant")?;
    let tenant_bytes = b.split_to(tlen);
    let tenant_str =
        std::str::from_utf8(&tenant_bytes).map_err(|_| RecordError::Tenant("not utf-8".into()))?;
    let tenant = TenantId::new(tenant_str).map_err(|e| RecordError::Tenant(e.to_string()))?;
    need(&b, 4, "trace count")?;
    let n = b.get_u32_le() as usize;
    let mut traces = Vec::with_capacity(n.min(1 << 16));
    for _ in 0..n {
        need(&b, 16 + 4 + 8 + 8 + 4, "trace header")?;
        let mut id = [0u8; 16];
        b.copy_to_slice(&mut id);
        let span_count = b.get_u32_le();
        let start_unix_nano = b.get_u64_le();
        let end_unix_nano = b.get_u64_le();
        let len = b.get_u32_le() as usize;
        need(&b, len, "payload")?;
        traces.push(TracePush {
            trace_id: TraceId(id),
            span_count,
            start_unix_nano,
            end_unix_nano,
            payload: b.split_to(len),
            replica: false,
        });
    }
    Ok(PushRequest { tenant, traces })
}

#[cfg(test)]
mod tests {
    use bytes::{BufMut, BytesMut};

    use super::*;

    fn sample() -> PushRequest {
        PushRequest {
            tenant: TenantId::new("team-a").unwrap(),
            traces: vec![
                TracePush {
                    trace_id: TraceId([7; 16]),
                    span_count: 3,
                    start_unix_nano: 10,
                    end_unix_nano: 20,
                    payload: Bytes::from_static(b"abc"),
                    replica: false,
                },
                TracePush {
                    trace_id: TraceId([9; 16]),
                    span_count: 1,
                    start_unix_nano: 5,
                    end_unix_nano: 6,
                    payload: Bytes::new(),
                    replica: false,
                },
            ],
        }
    }

    #[test]
    fn round_trips() {
        let req = sample();
        assert_eq!(decode(&encode(&req)).unwrap(), req);
    }

    #[test]
    fn every_truncation_is_an_error() {
        let enc = encode(&sample());
        for cut in 0..enc.len() {
            assert!(
                decode(&enc[..cut]).is_err(),
                "prefix of {cut} bytes decoded"
            );
        }
    }

    /// A v1 record, written as v1 wrote it.
    fn encode_v1(req: &PushRequest) -> Vec<u8> {
        let tenant = req.tenant.as_str().as_bytes();
        let mut buf = BytesMut::new();
        buf.put_u8(1);
        buf.put_u16_le(tenant.len() as u16);
        buf.put_slice(tenant);
        buf.put_u32_le(req.traces.len() as u32);
        for t in &req.traces {
            buf.put_slice(t.trace_id.as_bytes());
            buf.put_u32_le(t.span_count);
            buf.put_u64_le(t.start_unix_nano);
            buf.put_u64_le(t.end_unix_nano);
            buf.put_u32_le(t.payload.len() as u32);
            buf.put_slice(&t.payload);
        }
        buf.to_vec()
    }

    #[test]
    fn v1_records_still_decode() {
        let req = sample();
        let v1 = encode_v1(&req);
        assert_eq!(decode(&v1).unwrap(), req);
        for cut in 0..v1.len() {
            assert!(decode(&v1[..cut]).is_err(), "v1 prefix of {cut} bytes");
        }
    }

    #[test]
    fn v2_is_the_grpc_message() {
        let req = sample();
        let enc = encode(&req);
        assert_eq!(enc[0], 2);
        let msg = wire::PushRequest::decode(&enc[5..]).unwrap();
        assert_eq!(msg, req.to_message());
        let mut bad_id = req.to_message();
        bad_id.traces[0].trace_id = Bytes::from_static(&[1; 8]);
        let mut rec = vec![2];
        rec.put_u32_le(bad_id.encoded_len() as u32);
        bad_id.encode(&mut rec).unwrap();
        assert!(matches!(decode(&rec), Err(RecordError::Message(_))));
        let mut long = encode(&req);
        long.push(0);
        assert!(decode(&long).is_err(), "trailing bytes");
    }

    #[test]
    fn unknown_version_is_rejected() {
        let mut enc = encode(&sample());
        enc[0] = 9;
        assert_eq!(decode(&enc), Err(RecordError::Version(9)));
    }
}
