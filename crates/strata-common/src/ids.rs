//! Trace, span and block identifiers.
//!
//! * A trace ID is exactly 16 bytes; a span ID exactly 8 bytes and not all zero (OTLP rules, as
//!   Tempo's distributor enforces them).
//! * In the query API a trace ID is 1–32 hex characters, case-insensitive; an odd length is
//!   padded with a leading `0` and a short ID is left-padded with zero bytes.

use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum IdError {
    #[error("trace ids must be 128 bit, received {0} bits")]
    TraceIdLength(usize),
    #[error("span ids must be 64 bit and not all zero, received {0} bits")]
    SpanIdLength(usize),
    #[error("span ids must be 64 bit and not all zero")]
    SpanIdZero,
    #[error("trace id is empty")]
    Empty,
    #[error("trace id is longer than 32 hex characters")]
    TooLong,
    #[error("trace id is not hex: {0}")]
    NotHex(String),
    #[error("block id is not a uuid: {0}")]
    BadBlockId(String),
}

/// A 128-bit trace ID. Ordered bytewise, which is the sort order of blocks.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct TraceId(pub [u8; 16]);

impl TraceId {
    /// Accepts exactly 16 bytes, as OTLP requires.
    pub fn from_slice(b: &[u8]) -> Result<Self, IdError> {
        let arr: [u8; 16] = b
            .try_into()
            .map_err(|_| IdError::TraceIdLength(b.len() * 8))?;
        Ok(Self(arr))
    }

    /// Parses the query API's form: 1–32 hex chars, left-padded.
    pub fn from_hex(s: &str) -> Result<Self, IdError> {
        if s.is_empty() {
            return Err(IdError::Empty);
        }
        if s.len() > 32 {
            return Err(IdError::TooLong);
        }
        let mut padded = String::with_capacity(32);
        for _ in s.len()..32 {
            padded.push('0');
        }
        padded.push_str(s);
        let mut out = [0u8; 16];
        hex::decode_to_slice(&padded, &mut out).map_err(|_| IdError::NotHex(s.to_string()))?;
        Ok(Self(out))
    }

    pub fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }

    /// 32 lowercase hex characters.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// Hex with leading zeros trimmed, as Tempo's search results show it.
    pub fn to_hex_trimmed(&self) -> String {
        let h = self.to_hex();
        let t = h.trim_start_matches('0');
        if t.is_empty() {
            "0".to_string()
        } else {
            t.to_string()
        }
    }
}

impl fmt::Display for TraceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for TraceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TraceId({})", self.to_hex())
    }
}

impl FromStr for TraceId {
    type Err = IdError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::from_hex(s)
    }
}

/// A 64-bit, non-zero span ID.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SpanId(pub [u8; 8]);

impl SpanId {
    /// Accepts exactly 8 bytes that are not all zero.
    pub fn from_slice(b: &[u8]) -> Result<Self, IdError> {
        let arr: [u8; 8] = b
            .try_into()
            .map_err(|_| IdError::SpanIdLength(b.len() * 8))?;
        if arr == [0; 8] {
            return Err(IdError::SpanIdZero);
        }
        Ok(Self(arr))
    }

    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl fmt::Debug for SpanId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SpanId({})", self.to_hex())
    }
}

/// A block's identity: a random UUID, as in Tempo's storage layout.
#[derive(
    Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(transparent)]
pub struct BlockId(pub uuid::Uuid);

impl BlockId {
    pub fn new_random() -> Self {
        Self(uuid::Uuid::new_v4())
    }
}

impl fmt::Display for BlockId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.hyphenated().fmt(f)
    }
}

impl fmt::Debug for BlockId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BlockId({})", self.0.hyphenated())
    }
}

impl FromStr for BlockId {
    type Err = IdError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        uuid::Uuid::parse_str(s)
            .map(Self)
            .map_err(|_| IdError::BadBlockId(s.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trace_id_hex_pads_like_tempo() {
        let full = TraceId::from_hex("0123456789abcdef0123456789ABCDEF").unwrap();
        assert_eq!(full.to_hex(), "0123456789abcdef0123456789abcdef");
        let short = TraceId::from_hex("abc").unwrap();
        assert_eq!(short.to_hex(), "00000000000000000000000000000abc");
        assert_eq!(short.to_hex_trimmed(), "abc");
        let one = TraceId::from_hex("1").unwrap();
        assert_eq!(one.0[15], 1);
        assert_eq!(TraceId::from_hex(""), Err(IdError::Empty));
        assert_eq!(TraceId::from_hex(&"a".repeat(33)), Err(IdError::TooLong));
        assert!(matches!(TraceId::from_hex("xyz"), Err(IdError::NotHex(_))));
        assert_eq!(TraceId::default().to_hex_trimmed(), "0");
    }

    #[test]
    fn binary_ids_are_checked() {
        assert!(TraceId::from_slice(&[1; 16]).is_ok());
        assert_eq!(
            TraceId::from_slice(&[1; 8]).unwrap_err().to_string(),
            "trace ids must be 128 bit, received 64 bits"
        );
        assert!(SpanId::from_slice(&[1; 8]).is_ok());
        assert_eq!(SpanId::from_slice(&[0; 8]), Err(IdError::SpanIdZero));
        assert_eq!(SpanId::from_slice(&[1; 4]), Err(IdError::SpanIdLength(32)));
    }

    #[test]
    fn block_id_round_trips() {
        let id = BlockId::new_random();
        let back: BlockId = id.to_string().parse().unwrap();
        assert_eq!(id, back);
        assert!("not-a-uuid".parse::<BlockId>().is_err());
    }
}
