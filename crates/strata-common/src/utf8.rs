//! UTF-8 checks of the many short strings in protobuf payloads (attribute keys and values,
//! span names), which the wire walks check one by one.

/// Whether `b` is valid UTF-8, as `std::str::from_utf8(b).is_ok()`. Most strings in traces
/// are ASCII: `is_ascii` (a word at a time) settles those in about half the time `from_utf8`
/// takes for a string of a few dozen bytes; others go through `from_utf8`.
#[inline]
pub fn is_utf8(b: &[u8]) -> bool {
    b.is_ascii() || std::str::from_utf8(b).is_ok()
}

#[cfg(test)]
mod tests {
    use super::is_utf8;

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
