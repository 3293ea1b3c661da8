//! OTLP attribute values and key-values.

use strata_proto::otlp::common::{any_value::Value, AnyValue, ArrayValue, KeyValue, KeyValueList};

/// The attribute `key = v`.
pub fn kv(key: &str, v: Value) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue { value: Some(v) }),
        ..Default::default()
    }
}

/// A string value.
pub fn s(v: &str) -> Value {
    Value::StringValue(v.into())
}

/// An integer value.
pub fn int(v: i64) -> Value {
    Value::IntValue(v)
}

/// A double value.
pub fn double(v: f64) -> Value {
    Value::DoubleValue(v)
}

/// A boolean value.
pub fn boolean(v: bool) -> Value {
    Value::BoolValue(v)
}

/// A bytes value.
pub fn bytes(v: &[u8]) -> Value {
    Value::BytesValue(v.to_vec())
}

/// An array value of `items`.
pub fn array(items: Vec<Value>) -> Value {
    Value::ArrayValue(ArrayValue {
        values: items
            .into_iter()
            .map(|v| AnyValue { value: Some(v) })
            .collect(),
    })
}

/// A key-value list value.
pub fn kvlist(values: Vec<KeyValue>) -> Value {
    Value::KvlistValue(KeyValueList { values })
}

/// Attributes of every value type, nested arrays and kvlists included, and one without a
/// value (`empty`).
pub fn every_kind_of_attribute() -> Vec<KeyValue> {
    vec![
        kv("str", s("hello")),
        kv("int", int(-42)),
        kv("double", double(3.25)),
        kv("bool", boolean(true)),
        kv("bytes", bytes(&[0, 1, 2, 255])),
        kv(
            "array",
            array(vec![
                s("a"),
                int(7),
                kvlist(vec![kv("inner", boolean(false))]),
            ]),
        ),
        kv(
            "kvlist",
            kvlist(vec![kv("k1", s("v1")), kv("k2", double(-0.5))]),
        ),
        KeyValue {
            key: "empty".into(),
            value: None,
            ..Default::default()
        },
    ]
}
