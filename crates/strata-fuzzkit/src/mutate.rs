//! Corrupting valid encodings: a short list of byte-level edits at positions relative to the
//! input's length, so the same edits apply to inputs of any size and shrink well.

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::Index;

/// Bytes that decoders tend to treat specially: zero, sign bits, maxima, delimiters of text
/// formats, protobuf/Thrift continuation and type bytes.
const SPECIAL: &[u8] = &[
    0x00, 0x01, 0x02, 0x7f, 0x80, 0xff, 0xfe, b'"', b'\\', b'{', b'}', b'[', b']', b',', b':',
    b'-', b'0', b'9', b'e', b'.', 0x08, 0x0a, 0x0b, 0x0c, 0x0f, 0x12, 0x19, 0x1a, 0x22,
];

/// One edit of a byte string. Positions are [`Index`]es, scaled to the length at the time the
/// edit applies.
#[derive(Debug, Clone)]
pub enum Mutation {
    /// XOR one byte with a one-bit mask.
    FlipBit(Index, u8),
    /// Overwrite one byte.
    Set(Index, u8),
    /// Insert bytes (random, special or a dictionary token).
    Insert(Index, Vec<u8>),
    /// Remove up to `n` bytes.
    Remove(Index, usize),
    /// Copy up to `n` bytes from one place to another (repeats a field or a frame).
    Duplicate(Index, Index, usize),
    /// Cut everything from the position on.
    Truncate(Index),
}

impl Mutation {
    /// Applies the edit (a no-op where it does not apply, e.g. on an empty input).
    pub fn apply(&self, bytes: &mut Vec<u8>) {
        let len = bytes.len();
        match self {
            Mutation::FlipBit(at, bit) if len > 0 => bytes[at.index(len)] ^= 1 << (bit % 8),
            Mutation::Set(at, b) if len > 0 => bytes[at.index(len)] = *b,
            Mutation::Insert(at, ins) => {
                let pos = at.index(len + 1);
                bytes.splice(pos..pos, ins.iter().copied());
            }
            Mutation::Remove(at, n) if len > 0 => {
                let pos = at.index(len);
                let end = (pos + n).min(len);
                bytes.drain(pos..end);
            }
            Mutation::Duplicate(from, to, n) if len > 0 => {
                let start = from.index(len);
                let end = (start + n).min(len);
                let piece = bytes[start..end].to_vec();
                let pos = to.index(len + 1);
                bytes.splice(pos..pos, piece);
            }
            Mutation::Truncate(at) => bytes.truncate(at.index(len + 1)),
            _ => {}
        }
    }
}

/// A list of edits applied in order.
#[derive(Debug, Clone)]
pub struct Mutations(pub Vec<Mutation>);

impl Mutations {
    /// Up to `max` edits (none a quarter of the time, so valid inputs are exercised too, and
    /// a few more often than many, so most inputs stay close to valid); inserted bytes come from `dictionary` (tokens of the format, e.g.
    /// JSON keys or TraceQL keywords) half of the time when it is not empty.
    pub fn strategy(
        max: usize,
        dictionary: &'static [&'static [u8]],
    ) -> impl Strategy<Value = Mutations> + Clone {
        let byte = prop_oneof![any::<u8>(), proptest::sample::select(SPECIAL)];
        let random_insert = vec(byte.clone(), 1..12);
        let insert: BoxedStrategy<Vec<u8>> = if dictionary.is_empty() {
            random_insert.boxed()
        } else {
            prop_oneof![
                random_insert,
                proptest::sample::select(dictionary).prop_map(|t| t.to_vec()),
            ]
            .boxed()
        };
        let one = prop_oneof![
            (any::<Index>(), any::<u8>()).prop_map(|(i, b)| Mutation::FlipBit(i, b)),
            (any::<Index>(), byte).prop_map(|(i, b)| Mutation::Set(i, b)),
            (any::<Index>(), insert).prop_map(|(i, v)| Mutation::Insert(i, v)),
            (any::<Index>(), 1usize..16).prop_map(|(i, n)| Mutation::Remove(i, n)),
            (any::<Index>(), any::<Index>(), 1usize..64)
                .prop_map(|(a, b, n)| Mutation::Duplicate(a, b, n)),
            any::<Index>().prop_map(Mutation::Truncate),
        ];
        let few = vec(one.clone(), 1..=max.clamp(1, 2));
        let many = vec(one, 1..=max.max(1));
        prop_oneof![
            1 => Just(Vec::new()),
            2 => few,
            1 => many,
        ]
        .prop_map(Mutations)
    }

    /// `bytes` with every edit applied.
    pub fn apply(&self, mut bytes: Vec<u8>) -> Vec<u8> {
        for m in &self.0 {
            m.apply(&mut bytes);
        }
        bytes
    }
}

/// Valid encodings from `base`, then corrupted by up to 8 edits ([`Mutations::strategy`]). The value keeps the original next to the mutated bytes, for
/// targets that check what was accepted.
pub fn mutated<S>(
    base: S,
    dictionary: &'static [&'static [u8]],
) -> impl Strategy<Value = (Vec<u8>, Vec<u8>)>
where
    S: Strategy<Value = Vec<u8>>,
{
    (base, Mutations::strategy(8, dictionary)).prop_map(|(original, m)| {
        let bytes = m.apply(original.clone());
        (original, bytes)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;

    fn idx(runner: &mut TestRunner) -> Index {
        any::<Index>().new_tree(runner).unwrap().current()
    }

    #[test]
    fn edits_change_length_as_described() {
        let mut runner = TestRunner::deterministic();
        let at = idx(&mut runner);
        let base = b"0123456789".to_vec();
        let mut b = base.clone();
        Mutation::Insert(at, b"ab".to_vec()).apply(&mut b);
        assert_eq!(b.len(), 12);
        let mut b = base.clone();
        Mutation::Remove(at, 100).apply(&mut b);
        assert!(b.len() < 10);
        let mut b = base.clone();
        Mutation::FlipBit(at, 3).apply(&mut b);
        assert_eq!(b.len(), 10);
        assert_ne!(b, base);
        let mut b = base.clone();
        Mutation::Truncate(at).apply(&mut b);
        assert!(b.len() <= 10 && base.starts_with(&b));
        // Edits on an empty input do not panic.
        for m in [
            Mutation::FlipBit(at, 1),
            Mutation::Set(at, 1),
            Mutation::Remove(at, 3),
            Mutation::Duplicate(at, at, 3),
            Mutation::Truncate(at),
        ] {
            let mut e = Vec::new();
            m.apply(&mut e);
            assert!(e.is_empty());
        }
    }

    #[test]
    fn mutated_keeps_the_original() {
        let mut runner = TestRunner::deterministic();
        let s = mutated(Just(b"{\"a\":1}".to_vec()), &[b"null"]);
        let mut changed = 0;
        for _ in 0..200 {
            let (orig, bytes) = s.new_tree(&mut runner).unwrap().current();
            assert_eq!(orig, b"{\"a\":1}");
            changed += usize::from(orig != bytes);
        }
        assert!(changed > 100, "only {changed} of 200 inputs were changed");
    }
}
