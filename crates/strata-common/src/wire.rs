//! Helpers of the borrowed protobuf wire walks (the distributor's accept walk, the block
//! writer's share walk, the load generator's payload rewriting): varints read as prost reads
//! them, and UTF-8 checks of the many short strings (attribute keys and values, span names)
//! that the walks check one by one.

/// Reads the varint at `*pos` and moves `*pos` past it; `None` where prost's decoder fails:
/// past the end of `buf` (a walk bounded within a larger buffer passes the bounded slice),
/// longer than 10 bytes, or a tenth byte above 1 (past 64 bits). Most varints (field keys,
/// lengths below 128) are one byte, read inline; longer ones take a call.
#[inline]
pub fn varint(buf: &[u8], pos: &mut usize) -> Option<u64> {
    match buf.get(*pos) {
        Some(&b) if b < 0x80 => {
            *pos += 1;
            Some(u64::from(b))
        }
        _ => varint_long(buf, pos),
    }
}

#[inline(never)]
fn varint_long(buf: &[u8], pos: &mut usize) -> Option<u64> {
    let mut v: u64 = 0;
    for i in 0..10 {
        let b = *buf.get(*pos)?;
        *pos += 1;
        if i == 9 && b > 1 {
            return None;
        }
        v |= u64::from(b & 0x7f) << (7 * i);
        if b < 0x80 {
            return Some(v);
        }
    }
    None
}

/// Whether `b` is valid UTF-8, as `std::str::from_utf8(b).is_ok()`. Most strings in traces
/// are ASCII: `is_ascii` (a word at a time) settles those in about half the time `from_utf8`
/// takes for a string of a few dozen bytes; others go through `from_utf8`.
#[inline]
pub fn is_utf8(b: &[u8]) -> bool {
    b.is_ascii() || std::str::from_utf8(b).is_ok()
}

#[cfg(test)]
mod tests {
    use super::{is_utf8, varint};

    /// The varint encoding of `v` (as every protobuf encoder writes it).
    fn encode(mut v: u64) -> Vec<u8> {
        let mut out = Vec::new();
        while v >= 0x80 {
            out.push((v as u8) | 0x80);
            v >>= 7;
        }
        out.push(v as u8);
        out
    }

    #[test]
    fn varints_round_trip_and_stop_where_prost_does() {
        for v in [
            0,
            1,
            127,
            128,
            300,
            16_383,
            16_384,
            u64::from(u32::MAX),
            u64::MAX,
        ] {
            let mut buf = encode(v);
            let n = buf.len();
            buf.push(0x2a);
            let mut pos = 0;
            assert_eq!(varint(&buf, &mut pos), Some(v), "{v}");
            assert_eq!(pos, n, "{v}");
            assert_eq!(varint(&buf[..n - 1], &mut 0), None, "truncated {v}");
        }
        // u64::MAX is 10 bytes ending in 0x01; a tenth byte of 2 is past 64 bits, an eleventh
        // byte is too long.
        let mut over = encode(u64::MAX);
        over[9] = 0x02;
        assert_eq!(varint(&over, &mut 0), None);
        let eleven = [0xff; 10]
            .iter()
            .copied()
            .chain([0x00])
            .collect::<Vec<u8>>();
        assert_eq!(varint(&eleven, &mut 0), None);
        // A non-minimal encoding is accepted, as prost accepts it.
        assert_eq!(varint(&[0x81, 0x00], &mut 0), Some(1));
    }

    #[test]
    fn agrees_with_std() {
        let cases: [&[u8]; 9] = [
            b"",
            b"service.name",
            "caf\u{e9}".as_bytes(),
            "\u{1f600} ok".as_bytes(),
            b"\xc3",
            b"\xc3\x28",
            b"abc\xff",
            b"\xed\xa0\x80",
            b"a longer ASCII string, past one machine word in length",
        ];
        for c in cases {
            assert_eq!(is_utf8(c), std::str::from_utf8(c).is_ok(), "{c:?}");
        }
    }
}
