//! Label names and values: sanitizing attribute names into Prometheus label names, turning
//! attribute values into label values, and the series key (a label-value tuple encoded into one
//! reusable byte buffer, so looking a series up allocates nothing).

use std::fmt::Write as _;

use strata_proto::otlp::common::{any_value::Value, AnyValue, KeyValue};

/// Intrinsic span-metrics labels, and the label every served series gets (`tenant`): a
/// dimension that sanitizes to one of them is prefixed with `__`, as Tempo does.
pub const RESERVED_LABELS: [&str; 6] = [
    "service",
    "span_name",
    "span_kind",
    "status_code",
    "status_message",
    "tenant",
];

/// `name` as a Prometheus label name: every character other than `[A-Za-z0-9_]` becomes `_`
/// (one `_` per character, not per byte); `__`-prefixed when the result is reserved.
pub fn sanitize_label_name(name: &str) -> String {
    let s: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if RESERVED_LABELS.contains(&s.as_str()) {
        format!("__{s}")
    } else {
        s
    }
}

/// The first attribute named `key` in `lists`, searched in order.
pub fn find_attribute<'a>(key: &str, lists: &[&'a [KeyValue]]) -> Option<&'a AnyValue> {
    lists
        .iter()
        .flat_map(|l| l.iter())
        .find(|kv| kv.key == key)
        .and_then(|kv| kv.value.as_ref())
}

/// Appends an attribute value as a label value: strings as they are, booleans `true`/`false`,
/// integers in decimal, doubles in the shortest decimal that reads back (no exponent), arrays
/// `[` + the values concatenated + `]`, maps `{` + `key:value`… + `}`, bytes as nothing.
pub fn write_any_value(out: &mut String, v: &AnyValue) {
    match &v.value {
        Some(Value::StringValue(s)) => out.push_str(s),
        Some(Value::BoolValue(b)) => out.push_str(if *b { "true" } else { "false" }),
        Some(Value::IntValue(i)) => {
            let _ = write!(out, "{i}");
        }
        Some(Value::DoubleValue(d)) => write_float(out, *d),
        Some(Value::ArrayValue(a)) => {
            out.push('[');
            for v in &a.values {
                write_any_value(out, v);
            }
            out.push(']');
        }
        Some(Value::KvlistValue(l)) => {
            out.push('{');
            for kv in &l.values {
                out.push_str(&kv.key);
                out.push(':');
                if let Some(v) = &kv.value {
                    write_any_value(out, v);
                }
            }
            out.push('}');
        }
        Some(Value::BytesValue(_)) | Some(Value::StringValueStrindex(_)) | None => {}
    }
}

/// A float as Prometheus and Go's `strconv.FormatFloat(f, 'f', -1, 64)` write it.
pub fn write_float(out: &mut String, d: f64) {
    if d.is_nan() {
        out.push_str("NaN");
    } else if d == f64::INFINITY {
        out.push_str("+Inf");
    } else if d == f64::NEG_INFINITY {
        out.push_str("-Inf");
    } else {
        let _ = write!(out, "{d}");
    }
}

/// A series key under construction: label values in the group's label order, each as a
/// 4-byte little-endian length then its UTF-8 bytes. One buffer is reused for every span.
#[derive(Debug, Default)]
pub struct KeyBuf {
    buf: Vec<u8>,
    scratch: String,
}

impl KeyBuf {
    pub fn clear(&mut self) {
        self.buf.clear();
    }

    pub fn push(&mut self, value: &str) {
        self.buf
            .extend_from_slice(&(value.len() as u32).to_le_bytes());
        self.buf.extend_from_slice(value.as_bytes());
    }

    /// Pushes an attribute value (empty when absent).
    pub fn push_any(&mut self, value: Option<&AnyValue>) {
        match value.map(|v| &v.value) {
            Some(Some(Value::StringValue(s))) => self.push(s),
            Some(_) => {
                let mut s = std::mem::take(&mut self.scratch);
                s.clear();
                write_any_value(&mut s, value.expect("matched Some"));
                self.push(&s);
                self.scratch = s;
            }
            None => self.push(""),
        }
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.buf
    }
}

/// The label values of an encoded key, in order.
pub fn decode_key(key: &[u8]) -> impl Iterator<Item = &str> {
    let mut rest = key;
    std::iter::from_fn(move || {
        if rest.len() < 4 {
            return None;
        }
        let n = u32::from_le_bytes(rest[..4].try_into().expect("4 bytes")) as usize;
        let (v, r) = rest[4..].split_at(n);
        rest = r;
        // Keys are only built from `&str`s.
        Some(std::str::from_utf8(v).unwrap_or(""))
    })
}

/// Appends `v` escaped as a label value in the text exposition format.
pub fn write_label_value(out: &mut String, v: &str) {
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use strata_testkit::attrs::{array, boolean, bytes, double, int, kv, kvlist, s};

    use super::*;

    #[test]
    fn label_names_are_sanitized_per_character_and_reserved_names_prefixed() {
        assert_eq!(sanitize_label_name("http.method"), "http_method");
        assert_eq!(sanitize_label_name("k8s-pod/näme"), "k8s_pod_n_me");
        assert_eq!(sanitize_label_name("span.name"), "__span_name");
        assert_eq!(sanitize_label_name("service"), "__service");
        assert_eq!(sanitize_label_name("tenant"), "__tenant");
        assert_eq!(sanitize_label_name("ok_name"), "ok_name");
    }

    #[test]
    fn values_are_stringified_like_tempo() {
        let str_of = |v: Value| {
            let mut o = String::new();
            write_any_value(&mut o, &AnyValue { value: Some(v) });
            o
        };
        assert_eq!(str_of(s("GET")), "GET");
        assert_eq!(str_of(int(-42)), "-42");
        assert_eq!(str_of(boolean(true)), "true");
        assert_eq!(str_of(double(1.5)), "1.5");
        assert_eq!(str_of(double(1e21)), "1000000000000000000000");
        assert_eq!(str_of(array(vec![int(1), s("a")])), "[1a]");
        assert_eq!(str_of(kvlist(vec![kv("k", int(1))])), "{k:1}");
        assert_eq!(str_of(bytes(b"x")), "");
    }

    #[test]
    fn keys_round_trip_and_do_not_collide() {
        let mut k = KeyBuf::default();
        k.push("a");
        k.push("bc");
        let mut k2 = KeyBuf::default();
        k2.push("ab");
        k2.push("c");
        assert_ne!(k.as_bytes(), k2.as_bytes());
        k.push_any(Some(&AnyValue {
            value: Some(int(7)),
        }));
        k.push_any(None);
        assert_eq!(
            decode_key(k.as_bytes()).collect::<Vec<_>>(),
            ["a", "bc", "7", ""]
        );
    }

    #[test]
    fn attributes_are_found_in_list_order() {
        let res = [kv("env", s("prod"))];
        let span = [kv("env", s("dev")), kv("route", s("/x"))];
        let lists: [&[KeyValue]; 2] = [&res, &span];
        let v = |x: &str| AnyValue { value: Some(s(x)) };
        assert_eq!(find_attribute("env", &lists), Some(&v("prod")));
        assert_eq!(find_attribute("route", &lists), Some(&v("/x")));
        assert_eq!(find_attribute("none", &lists), None);
    }
}
