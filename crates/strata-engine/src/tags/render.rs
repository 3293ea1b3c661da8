//! Scalar attribute values: Tempo's text rendering and a minimal reader of the prost-encoded
//! `ArrayValue` stored for array attributes (tag 6).

use super::TagValueType;

/// A scalar attribute value, borrowed from a batch (or from an encoded array).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Scalar<'a> {
    Str(&'a str),
    Int(i64),
    Double(f64),
    Bool(bool),
}

impl Scalar<'_> {
    /// The v2 type and Tempo's text (`Static.EncodeToString(false)`).
    pub(super) fn render(self) -> (TagValueType, String) {
        match self {
            Scalar::Str(s) => (TagValueType::String, s.to_string()),
            Scalar::Int(i) => (TagValueType::Int, i.to_string()),
            Scalar::Double(d) => (TagValueType::Float, go_float(d)),
            Scalar::Bool(b) => (TagValueType::Bool, b.to_string()),
        }
    }
}

/// Go's `strconv.FormatFloat(v, 'g', -1, 64)`, then `.0` appended when the text contains
/// neither `e` nor `.` (TraceQL's float rendering, so `2` reads `2.0`; Go also does this to
/// `NaN` and `+Inf`).
pub(super) fn go_float(v: f64) -> String {
    let mut s = if v.is_nan() {
        "NaN".to_string()
    } else if v.is_infinite() {
        let inf = if v > 0.0 { "+Inf" } else { "-Inf" };
        inf.to_string()
    } else {
        format_g_shortest(v)
    };
    if !s.contains(['e', '.']) {
        s.push_str(".0");
    }
    s
}

/// `%g` with the shortest round-trip digits: exponent form when the decimal exponent is below
/// -4 or at least 6 (`1e+06`, `1.5e-05`), plain otherwise (`123456`, `0.0001`).
fn format_g_shortest(v: f64) -> String {
    // Rust's `{:e}` gives the shortest round-trip digits: "1.2345e6", "0e0", "5e-324".
    let sci = format!("{:e}", v.abs());
    let (mantissa, exp) = sci.split_once('e').unwrap_or((sci.as_str(), "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    let mut out = String::with_capacity(digits.len() + 8);
    if v.is_sign_negative() {
        out.push('-');
    }
    if !(-4..6).contains(&exp) {
        let (first, rest) = digits.split_at(1.min(digits.len()));
        out.push_str(first);
        if !rest.is_empty() {
            out.push('.');
            out.push_str(rest);
        }
        out.push('e');
        out.push(if exp < 0 { '-' } else { '+' });
        let abs = exp.unsigned_abs();
        if abs < 10 {
            out.push('0');
        }
        out.push_str(&abs.to_string());
    } else {
        let nd = digits.len() as i32;
        let dp = exp + 1; // digits before the decimal point
        if dp <= 0 {
            out.push_str("0.");
            out.extend(std::iter::repeat_n('0', (-dp) as usize));
            out.push_str(&digits);
        } else if dp >= nd {
            out.push_str(&digits);
            out.extend(std::iter::repeat_n('0', (dp - nd) as usize));
        } else {
            let (int, frac) = digits.split_at(dp as usize);
            out.push_str(int);
            out.push('.');
            out.push_str(frac);
        }
    }
    out
}

/// The elements of a prost-encoded `ArrayValue` when they are all strings, all ints, all
/// doubles or all bools (Tempo's supported arrays); `None` for mixed, nested, kvlist, bytes or
/// empty elements and for malformed input.
pub(super) fn scalar_array(buf: &[u8]) -> Option<Vec<Scalar<'_>>> {
    let mut out: Vec<Scalar<'_>> = Vec::new();
    let mut r = Reader { buf, pos: 0 };
    while !r.done() {
        let (field, wire) = r.key()?;
        if field == 1 && wire == LEN {
            let elem = any_value(r.bytes()?)?;
            if let Some(first) = out.first() {
                if std::mem::discriminant(first) != std::mem::discriminant(&elem) {
                    return None;
                }
            }
            out.push(elem);
        } else {
            r.skip(wire)?;
        }
    }
    Some(out)
}

/// One `AnyValue`: the last oneof field wins, as in protobuf; non-scalars are `None`.
fn any_value(buf: &[u8]) -> Option<Scalar<'_>> {
    let mut r = Reader { buf, pos: 0 };
    let mut value = None;
    while !r.done() {
        let (field, wire) = r.key()?;
        value = match (field, wire) {
            (1, LEN) => Some(Some(Scalar::Str(std::str::from_utf8(r.bytes()?).ok()?))),
            (2, VARINT) => Some(Some(Scalar::Bool(r.varint()? != 0))),
            (3, VARINT) => Some(Some(Scalar::Int(r.varint()? as i64))),
            (4, I64) => Some(Some(Scalar::Double(f64::from_le_bytes(r.fixed::<8>()?)))),
            // array, kvlist, bytes, string table index: unsupported
            (5..=8, _) => {
                r.skip(wire)?;
                Some(None)
            }
            _ => {
                r.skip(wire)?;
                value
            }
        };
    }
    value.flatten()
}

const VARINT: u8 = 0;
const I64: u8 = 1;
const LEN: u8 = 2;
const I32: u8 = 5;

/// A protobuf wire-format cursor; every read is bounds-checked.
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

    fn key(&mut self) -> Option<(u64, u8)> {
        let k = self.varint()?;
        Some((k >> 3, (k & 7) as u8))
    }

    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.pos.checked_add(n)?;
        let s = self.buf.get(self.pos..end)?;
        self.pos = end;
        Some(s)
    }

    fn bytes(&mut self) -> Option<&'a [u8]> {
        let n = usize::try_from(self.varint()?).ok()?;
        self.take(n)
    }

    fn fixed<const N: usize>(&mut self) -> Option<[u8; N]> {
        self.take(N)?.try_into().ok()
    }

    fn skip(&mut self, wire: u8) -> Option<()> {
        match wire {
            VARINT => self.varint().map(drop),
            I64 => self.take(8).map(drop),
            LEN => self.bytes().map(drop),
            I32 => self.take(4).map(drop),
            _ => None, // groups are not used by OTLP
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_float_matches_strconv_g() {
        let cases = [
            (0.0, "0.0"),
            (-0.0, "-0.0"),
            (1.0, "1.0"),
            (2.5, "2.5"),
            (-3.25, "-3.25"),
            (100.0, "100.0"),
            (123456.0, "123456.0"),
            (999999.0, "999999.0"),
            (1e6, "1e+06"),
            (1234567.0, "1.234567e+06"),
            (1e21, "1e+21"),
            (1.5e300, "1.5e+300"),
            (0.0001, "0.0001"),
            (0.00012, "0.00012"),
            (0.00001, "1e-05"),
            (1.5e-7, "1.5e-07"),
            (0.1, "0.1"),
            (1.0 / 3.0, "0.3333333333333333"),
            (5e-324, "5e-324"),
            (f64::NAN, "NaN.0"),
            (f64::INFINITY, "+Inf.0"),
            (f64::NEG_INFINITY, "-Inf.0"),
        ];
        for (v, want) in cases {
            assert_eq!(go_float(v), want, "{v:?}");
        }
    }

    #[test]
    fn go_float_round_trips() {
        // deterministic pseudo-random bit patterns over the whole f64 range
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let v = f64::from_bits(x);
            if !v.is_finite() {
                continue;
            }
            let text = go_float(v);
            let back: f64 = text.parse().unwrap_or(f64::NAN);
            assert_eq!(back.to_bits(), v.to_bits(), "{v:?} -> {text}");
            let plain = text.trim_start_matches('-');
            match plain.split_once('e') {
                Some((m, e)) => {
                    assert!(m.len() == 1 || m.as_bytes()[1] == b'.', "{text}");
                    assert!(e.starts_with(['+', '-']) && e.len() >= 3, "{text}");
                    let exp: i32 = e.parse().unwrap_or(0);
                    assert!(!(-4..6).contains(&exp), "{text}");
                }
                None => assert!(plain.contains('.'), "{text}"),
            }
        }
    }

    fn any(field: u8, payload: &[u8]) -> Vec<u8> {
        let mut v = vec![field];
        v.extend_from_slice(payload);
        v
    }

    fn array(elems: &[Vec<u8>]) -> Vec<u8> {
        let mut out = Vec::new();
        for e in elems {
            out.push(0x0a); // field 1, LEN
            out.push(e.len() as u8);
            out.extend_from_slice(e);
        }
        out
    }

    #[test]
    fn decodes_homogeneous_arrays() {
        let s = array(&[any(0x0a, &[1, b'a']), any(0x0a, &[2, b'b', b'c'])]);
        assert_eq!(
            scalar_array(&s),
            Some(vec![Scalar::Str("a"), Scalar::Str("bc")])
        );
        // int -1 as a 10-byte varint
        let neg = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01];
        let i = array(&[any(0x18, &[5]), any(0x18, &neg)]);
        assert_eq!(
            scalar_array(&i),
            Some(vec![Scalar::Int(5), Scalar::Int(-1)])
        );
        let d = array(&[any(0x21, &1.5f64.to_le_bytes())]);
        assert_eq!(scalar_array(&d), Some(vec![Scalar::Double(1.5)]));
        let b = array(&[any(0x10, &[1]), any(0x10, &[0])]);
        assert_eq!(
            scalar_array(&b),
            Some(vec![Scalar::Bool(true), Scalar::Bool(false)])
        );
        assert_eq!(scalar_array(&[]), Some(vec![]));
    }

    #[test]
    fn rejects_mixed_nested_and_malformed() {
        let mixed = array(&[any(0x0a, &[1, b'a']), any(0x18, &[5])]);
        assert_eq!(scalar_array(&mixed), None);
        let nested = array(&[any(0x2a, &[0])]);
        assert_eq!(scalar_array(&nested), None);
        let empty_elem = array(&[vec![]]);
        assert_eq!(scalar_array(&empty_elem), None);
        assert_eq!(scalar_array(&[0x0a, 0x05, 0x0a]), None); // truncated
        assert_eq!(scalar_array(&[0x0a, 0x02, 0x0a, 0x09]), None); // string past end
    }
}
