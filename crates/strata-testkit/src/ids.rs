//! Trace and span IDs derived from small integers.
//!
//! Tests that assert on ID bytes (ordering, hex in queries) keep their own layouts; these are
//! the common ones.

use strata_common::TraceId;

/// Trace `n`: byte 0 is `0x10` (never all zero), bytes 8..16 are `n` big-endian.
pub fn trace_id(n: u64) -> TraceId {
    trace_id_with(0x10, n)
}

/// Byte 0 is `prefix`, bytes 8..16 are `n` big-endian, the rest zero.
pub fn trace_id_with(prefix: u8, n: u64) -> TraceId {
    let mut b = [0u8; 16];
    b[0] = prefix;
    b[8..].copy_from_slice(&n.to_be_bytes());
    TraceId(b)
}

/// Bytes 0..4 are `n` big-endian and byte 15 is 1: IDs that differ in their first bytes, as
/// ring-placement tests want.
pub fn trace_id_front(n: u32) -> TraceId {
    let mut b = [0u8; 16];
    b[..4].copy_from_slice(&n.to_be_bytes());
    b[15] = 1;
    TraceId(b)
}

/// The 8 bytes of span ID `n`, big-endian (as OTLP spans carry them).
pub fn span_id(n: u64) -> Vec<u8> {
    n.to_be_bytes().to_vec()
}
