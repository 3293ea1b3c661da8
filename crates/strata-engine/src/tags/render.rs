//! Scalar attribute values and Tempo's text rendering of them.

use super::TagValueType;
use crate::gofmt::go_float;

/// A scalar attribute value, borrowed from a batch (or a decoded array).
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
