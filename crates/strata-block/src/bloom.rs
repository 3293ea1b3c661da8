//! The trace-ID bloom filter stored in a block's `bloom` object.
//!
//! A bit array of `m` bits probed `k` times per ID. The probe positions come from double
//! hashing of `xxh3_128` over the 16 trace-ID bytes: with `h1` the low and `h2` the high 64
//! bits of the hash (`h2` forced odd), probe `i` is `(h1 + i·h2) mod m`. Hashing first means
//! IDs need not be random: Zipkin/Jaeger IDs left-padded from 64 bits spread just as well.
//!
//! # Binary format, version 1 (all integers little-endian)
//!
//! ```text
//! offset  size  field
//! 0       8     magic  b"STRBLOOM"
//! 8       2     version u16 = 1
//! 10      4     k u32, number of probes, 1..=MAX_PROBES
//! 14      8     m u64, number of bits, 1..; the last word's bits at or past m are zero
//! 22      8·w   bits as w = ceil(m / 64) u64 words; bit j lives in word j / 64 at bit j % 64
//! ```
//!
//! [`Bloom::from_bytes`] checks the magic, version, `k`, `m` and that the length is exactly
//! `22 + 8·w`; it returns an error for anything else and never panics.

use strata_common::TraceId;
use xxhash_rust::xxh3::xxh3_128;

use crate::error::{BlockError, Result};

const MAGIC: &[u8; 8] = b"STRBLOOM";
const VERSION: u16 = 1;
const HEADER_LEN: usize = 8 + 2 + 4 + 8;
/// Upper bound on `k` accepted when reading; sizing never chooses more.
pub const MAX_PROBES: u32 = 32;

/// A bloom filter over trace IDs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bloom {
    k: u32,
    m: u64,
    words: Vec<u64>,
}

impl Bloom {
    /// A filter sized for `expected_items` IDs at false-positive rate `fp` (clamped to
    /// `[1e-9, 0.5]`; at least one item and 64 bits are assumed).
    pub fn new(expected_items: usize, fp: f64) -> Self {
        let n = expected_items.max(1) as f64;
        let p = if fp.is_finite() {
            fp.clamp(1e-9, 0.5)
        } else {
            0.01
        };
        let ln2 = std::f64::consts::LN_2;
        let bits = (-n * p.ln() / (ln2 * ln2)).ceil().max(64.0);
        // Round up to whole words: the extra bits only lower the false-positive rate.
        let words = (bits / 64.0).ceil() as usize;
        let m = words as u64 * 64;
        let k = ((m as f64 / n) * ln2).round().clamp(1.0, MAX_PROBES as f64) as u32;
        Self {
            k,
            m,
            words: vec![0; words],
        }
    }

    /// Number of probes per ID.
    pub fn probes(&self) -> u32 {
        self.k
    }

    /// Number of bits.
    pub fn bits(&self) -> u64 {
        self.m
    }

    fn positions(&self, id: &TraceId) -> impl Iterator<Item = u64> {
        let h = xxh3_128(id.as_bytes());
        let h1 = h as u64;
        let h2 = ((h >> 64) as u64) | 1;
        let m = self.m;
        (0..self.k as u64).map(move |i| h1.wrapping_add(i.wrapping_mul(h2)) % m)
    }

    pub fn insert(&mut self, id: &TraceId) {
        for bit in self.positions(id) {
            self.words[(bit / 64) as usize] |= 1 << (bit % 64);
        }
    }

    /// False means the ID is certainly absent; true means it may be present.
    pub fn may_contain(&self, id: &TraceId) -> bool {
        self.positions(id)
            .all(|bit| self.words[(bit / 64) as usize] & (1 << (bit % 64)) != 0)
    }

    /// The version-1 binary form (see the module docs).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(HEADER_LEN + self.words.len() * 8);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&VERSION.to_le_bytes());
        out.extend_from_slice(&self.k.to_le_bytes());
        out.extend_from_slice(&self.m.to_le_bytes());
        for w in &self.words {
            out.extend_from_slice(&w.to_le_bytes());
        }
        out
    }

    /// Parses the binary form, validating every length; never panics.
    pub fn from_bytes(b: &[u8]) -> Result<Self> {
        let err = |msg: String| BlockError::Bloom(msg);
        if b.len() < HEADER_LEN {
            return Err(err(format!(
                "{} bytes is shorter than the {HEADER_LEN}-byte header",
                b.len()
            )));
        }
        if &b[0..8] != MAGIC {
            return Err(err("bad magic".into()));
        }
        let version = u16::from_le_bytes([b[8], b[9]]);
        if version != VERSION {
            return Err(err(format!("unsupported version {version}")));
        }
        let k = u32::from_le_bytes([b[10], b[11], b[12], b[13]]);
        if k == 0 || k > MAX_PROBES {
            return Err(err(format!("probe count {k} outside 1..={MAX_PROBES}")));
        }
        let mut m_bytes = [0u8; 8];
        m_bytes.copy_from_slice(&b[14..22]);
        let m = u64::from_le_bytes(m_bytes);
        if m == 0 {
            return Err(err("zero bits".into()));
        }
        let body = &b[HEADER_LEN..];
        let words = m.div_ceil(64);
        if words.checked_mul(8) != Some(body.len() as u64) {
            return Err(err(format!(
                "{m} bits need {words} words but {} bytes follow the header",
                body.len()
            )));
        }
        let words: Vec<u64> = body
            .chunks_exact(8)
            .map(|c| {
                let mut w = [0u8; 8];
                w.copy_from_slice(c);
                u64::from_le_bytes(w)
            })
            .collect();
        let tail = m % 64;
        if tail != 0 && words[words.len() - 1] >> tail != 0 {
            return Err(err("bits set past the end of the array".into()));
        }
        Ok(Self { k, m, words })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u64) -> TraceId {
        // Left-padded 64-bit IDs, as Zipkin and Jaeger send them: the worst case for a
        // filter that would use raw ID bytes.
        let mut b = [0u8; 16];
        b[8..].copy_from_slice(&n.to_be_bytes());
        TraceId(b)
    }

    #[test]
    fn no_false_negatives_and_bounded_false_positives() {
        let target = 0.01;
        let mut bloom = Bloom::new(10_000, target);
        for n in 0..10_000 {
            bloom.insert(&id(n));
        }
        for n in 0..10_000 {
            assert!(bloom.may_contain(&id(n)), "false negative for {n}");
        }
        let fps = (1_000_000..1_010_000)
            .filter(|n| bloom.may_contain(&id(*n)))
            .count();
        let rate = fps as f64 / 10_000.0;
        assert!(rate < 3.0 * target, "false-positive rate {rate}");

        let back = Bloom::from_bytes(&bloom.to_bytes()).unwrap();
        assert_eq!(back, bloom);
    }

    #[test]
    fn random_ids_too() {
        let mut bloom = Bloom::new(10_000, 0.001);
        let ids: Vec<TraceId> = (0..20_000).map(|_| TraceId(rand::random())).collect();
        for t in &ids[..10_000] {
            bloom.insert(t);
        }
        assert!(ids[..10_000].iter().all(|t| bloom.may_contain(t)));
        let fps = ids[10_000..]
            .iter()
            .filter(|t| bloom.may_contain(t))
            .count();
        assert!((fps as f64 / 10_000.0) < 0.003, "{fps} false positives");
    }

    #[test]
    fn rejects_bad_input() {
        let mut bloom = Bloom::new(100, 0.01);
        bloom.insert(&id(7));
        let good = bloom.to_bytes();
        assert!(Bloom::from_bytes(&good).is_ok());
        // Every truncation fails.
        for len in 0..good.len() {
            assert!(Bloom::from_bytes(&good[..len]).is_err(), "len {len}");
        }
        // Extra bytes fail.
        let mut long = good.clone();
        long.push(0);
        assert!(Bloom::from_bytes(&long).is_err());
        // Bad magic, version, k, m.
        let mut bad = good.clone();
        bad[0] = b'X';
        assert!(Bloom::from_bytes(&bad).is_err());
        let mut bad = good.clone();
        bad[8] = 2;
        assert!(Bloom::from_bytes(&bad).is_err());
        let mut bad = good.clone();
        bad[10..14].copy_from_slice(&0u32.to_le_bytes());
        assert!(Bloom::from_bytes(&bad).is_err());
        let mut bad = good.clone();
        bad[14..22].copy_from_slice(&u64::MAX.to_le_bytes());
        assert!(Bloom::from_bytes(&bad).is_err());
        let mut bad = good.clone();
        bad[14..22].copy_from_slice(&0u64.to_le_bytes());
        assert!(Bloom::from_bytes(&bad).is_err());
        // m not a multiple of 64 with stray bits past the end.
        let mut bad = good.clone();
        let m = u64::from_le_bytes(bad[14..22].try_into().unwrap()) - 1;
        bad[14..22].copy_from_slice(&m.to_le_bytes());
        let last = bad.len() - 1;
        bad[last] |= 0x80;
        assert!(Bloom::from_bytes(&bad).is_err());
        // Garbage of every small length never panics.
        for len in 0..64 {
            let junk: Vec<u8> = (0..len).map(|i| (i * 37 % 251) as u8).collect();
            assert!(Bloom::from_bytes(&junk).is_err());
        }
    }
}
