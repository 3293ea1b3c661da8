//! The ingester's WAL record: one push, as the distributor sent it.
//!
//! Format v1 (all integers little-endian):
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
//! every length so a record from a future version or a bug is an error, never a panic.

use bytes::{Buf, BufMut, Bytes, BytesMut};
use strata_common::{TenantId, TraceId};
use strata_proto::roles::{PushRequest, TracePush};

pub const RECORD_VERSION: u8 = 1;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RecordError {
    #[error("unknown wal record version {0}")]
    Version(u8),
    #[error("wal record truncated while reading {0}")]
    Truncated(&'static str),
    #[error("wal record has a bad tenant: {0}")]
    Tenant(String),
}

pub fn encode(req: &PushRequest) -> Vec<u8> {
    let tenant = req.tenant.as_str().as_bytes();
    let size: usize = 1
        + 2
        + tenant.len()
        + 4
        + req
            .traces
            .iter()
            .map(|t| 16 + 4 + 8 + 8 + 4 + t.payload.len())
            .sum::<usize>();
    let mut buf = BytesMut::with_capacity(size);
    buf.put_u8(RECORD_VERSION);
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

fn need(b: &Bytes, n: usize, what: &'static str) -> Result<(), RecordError> {
    if b.remaining() < n {
        Err(RecordError::Truncated(what))
    } else {
        Ok(())
    }
}

pub fn decode(record: &[u8]) -> Result<PushRequest, RecordError> {
    let mut b = Bytes::copy_from_slice(record);
    need(&b, 1, "version")?;
    let version = b.get_u8();
    if version != RECORD_VERSION {
        return Err(RecordError::Version(version));
    }
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
        });
    }
    Ok(PushRequest { tenant, traces })
}

#[cfg(test)]
mod tests {
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
                },
                TracePush {
                    trace_id: TraceId([9; 16]),
                    span_count: 1,
                    start_unix_nano: 5,
                    end_unix_nano: 6,
                    payload: Bytes::new(),
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

    #[test]
    fn unknown_version_is_rejected() {
        let mut enc = encode(&sample());
        enc[0] = 9;
        assert_eq!(decode(&enc), Err(RecordError::Version(9)));
    }
}
