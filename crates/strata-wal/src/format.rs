//! On-disk encoding: segment file names, segment header and record framing.
//! See the crate documentation for the format description.

use crate::SegmentId;

/// Magic bytes at the start of every segment file.
pub const MAGIC: [u8; 8] = *b"STRATWAL";
/// The only format version this crate reads and writes.
pub const FORMAT_VERSION: u16 = 1;
/// Size of the segment header in bytes.
pub const SEGMENT_HEADER_LEN: u64 = 16;
/// Size of the per-record frame header (length + CRC) in bytes.
pub const RECORD_HEADER_LEN: u64 = 8;
/// Largest accepted record payload (256 MiB). Replay treats a larger length
/// field as corruption.
pub const MAX_RECORD_BYTES: usize = 256 * 1024 * 1024;

/// Suffix of segment files.
pub const SEGMENT_SUFFIX: &str = ".wal";
/// Suffix appended to segments whose header is unreadable.
pub const CORRUPT_SUFFIX: &str = ".corrupt";
const ID_DIGITS: usize = 20;

/// File name of segment `id`: `{id:020}.wal`.
pub fn segment_file_name(id: SegmentId) -> String {
    format!("{id:0width$}{SEGMENT_SUFFIX}", width = ID_DIGITS)
}

/// Parses a segment file name produced by [`segment_file_name`]. Anything
/// else (including `.corrupt` files and temporary files) yields `None`.
pub fn parse_segment_file_name(name: &str) -> Option<SegmentId> {
    let digits = name.strip_suffix(SEGMENT_SUFFIX)?;
    parse_id_digits(digits)
}

/// Parses the id of a quarantined segment (`{id:020}.wal.corrupt[.N]`).
pub(crate) fn parse_corrupt_file_name(name: &str) -> Option<SegmentId> {
    let (base, _) = name.split_once(CORRUPT_SUFFIX)?;
    parse_segment_file_name(base)
}

fn parse_id_digits(digits: &str) -> Option<SegmentId> {
    if digits.len() != ID_DIGITS || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// Encodes the 16-byte segment header.
pub fn encode_segment_header() -> [u8; SEGMENT_HEADER_LEN as usize] {
    let mut h = [0u8; SEGMENT_HEADER_LEN as usize];
    h[..8].copy_from_slice(&MAGIC);
    h[8..10].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
    h
}

/// Validates a segment header. `bytes` is whatever could be read from the
/// start of the file (possibly fewer than 16 bytes). Reserved bytes are
/// written as zero and ignored on read.
pub fn decode_segment_header(bytes: &[u8]) -> Result<(), String> {
    if bytes.len() < SEGMENT_HEADER_LEN as usize {
        return Err(format!(
            "file holds {} bytes, shorter than the {SEGMENT_HEADER_LEN}-byte header",
            bytes.len()
        ));
    }
    if bytes[..8] != MAGIC {
        return Err(format!("wrong magic {:02x?}", &bytes[..8]));
    }
    let version = u16::from_le_bytes([bytes[8], bytes[9]]);
    if version != FORMAT_VERSION {
        return Err(format!(
            "unknown format version {version} (supported: {FORMAT_VERSION})"
        ));
    }
    Ok(())
}

/// Size of the encoded frame of a payload of `payload_len` bytes.
pub fn encoded_len(payload_len: usize) -> u64 {
    RECORD_HEADER_LEN + payload_len as u64
}

/// The frame header (length, CRC) of the payload made of `parts` in order. The caller must
/// have checked that their total length is at most `MAX_RECORD_BYTES`.
pub fn frame_header(parts: &[&[u8]]) -> [u8; RECORD_HEADER_LEN as usize] {
    let mut crc = crc32fast::Hasher::new();
    let mut len = 0usize;
    for p in parts {
        crc.update(p);
        len += p.len();
    }
    debug_assert!(len <= MAX_RECORD_BYTES);
    let mut h = [0u8; RECORD_HEADER_LEN as usize];
    h[..4].copy_from_slice(&(len as u32).to_le_bytes());
    h[4..].copy_from_slice(&crc.finalize().to_le_bytes());
    h
}

/// Encodes one record frame (length, CRC, payload) into a fresh buffer, so it
/// can be written with a single `write` call. The caller must have checked
/// `payload.len() <= MAX_RECORD_BYTES`.
pub fn encode_record(payload: &[u8]) -> Vec<u8> {
    let mut buf = Vec::with_capacity(encoded_len(payload.len()) as usize);
    buf.extend_from_slice(&frame_header(&[payload]));
    buf.extend_from_slice(payload);
    buf
}

/// Decoded record frame header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordHeader {
    /// Payload length in bytes.
    pub len: u32,
    /// CRC-32 (IEEE, as computed by `crc32fast`) of the payload.
    pub crc: u32,
}

impl RecordHeader {
    /// Decodes the 8-byte frame header.
    pub fn decode(bytes: [u8; RECORD_HEADER_LEN as usize]) -> Self {
        RecordHeader {
            len: u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]),
            crc: u32::from_le_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_round_trip_and_sort() {
        assert_eq!(segment_file_name(7), "00000000000000000007.wal");
        assert_eq!(
            segment_file_name(u64::MAX),
            "18446744073709551615.wal",
            "u64::MAX fits in 20 digits"
        );
        for id in [0, 1, 9, 10, 12345, u64::MAX] {
            assert_eq!(parse_segment_file_name(&segment_file_name(id)), Some(id));
        }
        assert!(segment_file_name(9) < segment_file_name(10));
        for bad in [
            "7.wal",
            "00000000000000000007.wal.corrupt",
            "0000000000000000000a.wal",
            "00000000000000000007.log",
            "99999999999999999999.wal", // overflows u64
            "+0000000000000000007.wal",
        ] {
            assert_eq!(parse_segment_file_name(bad), None, "{bad}");
        }
        assert_eq!(
            parse_corrupt_file_name("00000000000000000007.wal.corrupt"),
            Some(7)
        );
        assert_eq!(
            parse_corrupt_file_name("00000000000000000007.wal.corrupt.3"),
            Some(7)
        );
        assert_eq!(parse_corrupt_file_name("00000000000000000007.wal"), None);
    }

    #[test]
    fn header_round_trip_and_rejections() {
        let h = encode_segment_header();
        assert_eq!(&h[..8], b"STRATWAL");
        assert_eq!(&h[8..10], &[1, 0]);
        assert_eq!(&h[10..], &[0; 6]);
        decode_segment_header(&h).unwrap();

        assert!(decode_segment_header(&h[..15])
            .unwrap_err()
            .contains("shorter"));
        let mut bad = h;
        bad[0] = b'X';
        assert!(decode_segment_header(&bad).unwrap_err().contains("magic"));
        let mut v2 = h;
        v2[8] = 2;
        assert!(decode_segment_header(&v2)
            .unwrap_err()
            .contains("version 2"));
    }

    #[test]
    fn record_encoding() {
        let rec = encode_record(b"hello");
        assert_eq!(rec.len() as u64, encoded_len(5));
        let hdr = RecordHeader::decode(rec[..8].try_into().unwrap());
        assert_eq!(hdr.len, 5);
        assert_eq!(hdr.crc, crc32fast::hash(b"hello"));
        assert_eq!(&rec[8..], b"hello");

        let empty = encode_record(&[]);
        assert_eq!(empty.len(), 8);
        assert_eq!(RecordHeader::decode(empty[..8].try_into().unwrap()).len, 0);
    }
}
