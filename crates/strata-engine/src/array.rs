//! Array attribute values (type tag 6). The block stores them as a prost-encoded OTLP
//! `ArrayValue`; this decodes them with the generated types. Malformed bytes yield `None`
//! (the attribute then counts as missing); nothing panics.

use prost::Message;
use strata_proto::otlp::common::{any_value::Value, ArrayValue};

/// One scalar array element: the types TraceQL compares and tag values report.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Elem {
    Str(String),
    Bool(bool),
    Int(i64),
    Float(f64),
}

/// Every element in order, `None` where it is not a scalar (nested array, kvlist, bytes,
/// string-table index, empty value).
fn decode(buf: &[u8]) -> Option<Vec<Option<Elem>>> {
    let array = ArrayValue::decode(buf).ok()?;
    Some(
        array
            .values
            .into_iter()
            .map(|v| match v.value? {
                Value::StringValue(s) => Some(Elem::Str(s)),
                Value::BoolValue(b) => Some(Elem::Bool(b)),
                Value::IntValue(i) => Some(Elem::Int(i)),
                Value::DoubleValue(d) => Some(Elem::Float(d)),
                _ => None,
            })
            .collect(),
    )
}

/// The scalar elements, skipping the others (for comparisons: any element may match).
pub(crate) fn decode_array(buf: &[u8]) -> Option<Vec<Elem>> {
    Some(decode(buf)?.into_iter().flatten().collect())
}

/// The elements when all are scalars of one type (the arrays Tempo indexes element-wise);
/// `None` for mixed or non-scalar arrays.
pub(crate) fn homogeneous_array(buf: &[u8]) -> Option<Vec<Elem>> {
    let elems: Vec<Elem> = decode(buf)?.into_iter().collect::<Option<_>>()?;
    let first = elems.first().map(std::mem::discriminant);
    elems
        .iter()
        .all(|e| Some(std::mem::discriminant(e)) == first)
        .then_some(elems)
}

#[cfg(test)]
mod tests {
    use super::*;
    use strata_proto::otlp::common::{AnyValue, KeyValueList};

    fn enc(values: Vec<Value>) -> Vec<u8> {
        ArrayValue {
            values: values
                .into_iter()
                .map(|v| AnyValue { value: Some(v) })
                .collect(),
        }
        .encode_to_vec()
    }

    #[test]
    fn scalars_and_mixed() {
        let mixed = enc(vec![
            Value::StringValue("a".into()),
            Value::IntValue(3),
            Value::KvlistValue(KeyValueList::default()),
        ]);
        assert_eq!(
            decode_array(&mixed),
            Some(vec![Elem::Str("a".into()), Elem::Int(3)])
        );
        assert_eq!(homogeneous_array(&mixed), None);
        let ints = enc(vec![Value::IntValue(1), Value::IntValue(2)]);
        assert_eq!(
            homogeneous_array(&ints),
            Some(vec![Elem::Int(1), Elem::Int(2)])
        );
        let floats = enc(vec![Value::DoubleValue(1.5)]);
        assert_eq!(decode_array(&floats), Some(vec![Elem::Float(1.5)]));
        assert_eq!(decode_array(&[0xff, 0xff, 0xff]), None);
        assert_eq!(homogeneous_array(&[]), Some(vec![]));
    }
}
