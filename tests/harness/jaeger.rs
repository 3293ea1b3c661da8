//! Jaeger payloads for tests, built byte by byte so the tests do not depend on the decoder
//! they check.

/// A minimal binary-Thrift `jaeger.Batch`: service "svc", one span `name` of trace `trace_low`.
pub fn thrift_batch(trace_low: u64, span_id: u64, name: &str) -> Vec<u8> {
    let mut b = vec![0x0c, 0, 1, 0x0b, 0, 1, 0, 0, 0, 3];
    b.extend_from_slice(b"svc");
    b.push(0); // end of Process
    b.extend_from_slice(&[0x0f, 0, 2, 0x0c, 0, 0, 0, 1]);
    let i64_field = |b: &mut Vec<u8>, id: u8, v: u64| {
        b.extend_from_slice(&[0x0a, 0, id]);
        b.extend_from_slice(&v.to_be_bytes());
    };
    i64_field(&mut b, 1, trace_low);
    i64_field(&mut b, 2, 0);
    i64_field(&mut b, 3, span_id);
    i64_field(&mut b, 4, 0);
    b.extend_from_slice(&[0x0b, 0, 5]);
    b.extend_from_slice(&(name.len() as u32).to_be_bytes());
    b.extend_from_slice(name.as_bytes());
    b.extend_from_slice(&[0x08, 0, 7, 0, 0, 0, 1]);
    i64_field(&mut b, 8, 1_700_000_000_000_000);
    i64_field(&mut b, 9, 10);
    b.extend_from_slice(&[0, 0]); // end of Span, end of Batch
    b
}
