//! Decoding of array attribute values (type tag 6: a protobuf-encoded OTLP `ArrayValue`).
//!
//! A small hand-written reader (this crate does not depend on `prost`): `ArrayValue` is
//! `repeated AnyValue values = 1`, and `AnyValue` a oneof of `string_value = 1`,
//! `bool_value = 2`, `int_value = 3`, `double_value = 4`, `array_value = 5`,
//! `kvlist_value = 6`, `bytes_value = 7`, `string_value_strindex = 8`. Only the scalar
//! elements TraceQL can compare (string, bool, int, double) are kept; others are skipped.
//! Malformed input yields `None` (the attribute is treated as missing); nothing panics.

/// One scalar array element.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Elem {
    Str(String),
    Bool(bool),
    Int(i64),
    Float(f64),
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn done(&self) -> bool {
        self.pos >= self.buf.len()
    }

    fn varint(&mut self) -> Option<u64> {
        let mut v: u64 = 0;
        for shift in (0..64).step_by(7) {
            let b = *self.buf.get(self.pos)?;
            self.pos += 1;
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Some(v);
            }
        }
        None
    }

    fn bytes(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.pos.checked_add(n)?;
        let out = self.buf.get(self.pos..end)?;
        self.pos = end;
        Some(out)
    }

    /// Reads one field: `(number, wire type, payload)`; the payload of varints and fixed
    /// fields is returned as its value in `u64`, of length-delimited fields as bytes.
    fn field(&mut self) -> Option<(u64, Payload<'a>)> {
        let key = self.varint()?;
        let number = key >> 3;
        let payload = match key & 7 {
            0 => Payload::Int(self.varint()?),
            1 => Payload::Int(u64::from_le_bytes(self.bytes(8)?.try_into().ok()?)),
            2 => {
                let n = usize::try_from(self.varint()?).ok()?;
                Payload::Bytes(self.bytes(n)?)
            }
            5 => Payload::Int(u64::from(u32::from_le_bytes(
                self.bytes(4)?.try_into().ok()?,
            ))),
            _ => return None,
        };
        Some((number, payload))
    }
}

enum Payload<'a> {
    Int(u64),
    Bytes(&'a [u8]),
}

/// The scalar elements of an encoded `ArrayValue`.
pub(crate) fn decode_array(buf: &[u8]) -> Option<Vec<Elem>> {
    let mut r = Reader { buf, pos: 0 };
    let mut out = Vec::new();
    while !r.done() {
        let (number, payload) = r.field()?;
        if let (1, Payload::Bytes(b)) = (number, payload) {
            if let Some(e) = decode_any(b)? {
                out.push(e);
            }
        }
    }
    Some(out)
}

/// `Some(None)` for a well-formed value that is not a comparable scalar.
fn decode_any(buf: &[u8]) -> Option<Option<Elem>> {
    let mut r = Reader { buf, pos: 0 };
    let mut out = None;
    while !r.done() {
        let (number, payload) = r.field()?;
        // Last one wins, as protobuf merges oneof fields.
        out = match (number, payload) {
            (1, Payload::Bytes(b)) => Some(Elem::Str(String::from_utf8(b.to_vec()).ok()?)),
            (2, Payload::Int(v)) => Some(Elem::Bool(v != 0)),
            (3, Payload::Int(v)) => Some(Elem::Int(v as i64)),
            (4, Payload::Int(v)) => Some(Elem::Float(f64::from_bits(v))),
            (5..=8, _) => None,
            _ => out,
        };
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(number: u64, wire: u64) -> u8 {
        ((number << 3) | wire) as u8
    }

    #[test]
    fn decodes_scalars_and_skips_others() {
        // AnyValue{string "ab"}, AnyValue{int 300}, AnyValue{bool true},
        // AnyValue{double 1.5}, AnyValue{bytes [1]}
        let mut buf = Vec::new();
        let mut push = |inner: Vec<u8>| {
            buf.push(key(1, 2));
            buf.push(inner.len() as u8);
            buf.extend(inner);
        };
        push(vec![key(1, 2), 2, b'a', b'b']);
        push(vec![key(3, 0), 0xac, 0x02]);
        push(vec![key(2, 0), 1]);
        let mut d = vec![key(4, 1)];
        d.extend(1.5f64.to_le_bytes());
        push(d);
        push(vec![key(7, 2), 1, 1]);
        assert_eq!(
            decode_array(&buf),
            Some(vec![
                Elem::Str("ab".into()),
                Elem::Int(300),
                Elem::Bool(true),
                Elem::Float(1.5)
            ])
        );
    }

    #[test]
    fn malformed_is_none() {
        assert_eq!(decode_array(&[0x0a, 0x05, 0x01]), None);
        assert_eq!(decode_array(&[0xff]), None);
        assert_eq!(decode_array(&[]), Some(vec![]));
    }
}
