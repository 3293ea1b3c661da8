//! Reading Thrift with the `thrift` crate's protocols, hardened for untrusted input: strings
//! and containers may not claim more elements than the input has bytes (so a hostile length
//! cannot make the decoder allocate gigabytes), nesting is bounded, and a list's capacity is
//! never taken from the wire. The decoders for Zipkin's and Jaeger's structs are written by hand
//! over [`TInputProtocol`] (no Thrift compiler is needed); unknown fields are skipped, as
//! Thrift requires.

use thrift::protocol::{
    TBinaryInputProtocol, TCompactInputProtocol, TFieldIdentifier, TInputProtocol, TType,
};
use thrift::TConfiguration;

/// Limits for decoding `len` bytes of input.
pub fn config(len: usize) -> TConfiguration {
    let len = len.max(1);
    TConfiguration::builder()
        .max_message_size(Some(len))
        .max_frame_size(Some(len))
        .max_string_size(Some(len))
        .max_container_size(Some(len))
        .max_recursion_depth(Some(32))
        .build()
        .expect("frame size equals message size")
}

/// The binary protocol over `bytes` (non-strict: with or without a version header).
pub fn binary(bytes: &[u8]) -> TBinaryInputProtocol<&[u8]> {
    TBinaryInputProtocol::with_config(bytes, false, config(bytes.len()))
}

/// The compact protocol over `bytes`.
pub fn compact(bytes: &[u8]) -> TCompactInputProtocol<&[u8]> {
    TCompactInputProtocol::with_config(bytes, config(bytes.len()))
}

pub type Result<T> = std::result::Result<T, thrift::Error>;

/// Reads a struct: calls `field` for each field (with its id and type); `field` returns false
/// for fields it does not know, which are then skipped.
pub fn read_struct(
    p: &mut dyn TInputProtocol,
    mut field: impl FnMut(&mut dyn TInputProtocol, i16, TType) -> Result<bool>,
) -> Result<()> {
    p.read_struct_begin()?;
    loop {
        let TFieldIdentifier { field_type, id, .. } = p.read_field_begin()?;
        if field_type == TType::Stop {
            break;
        }
        let known = match id {
            Some(id) => field(p, id, field_type)?,
            None => false,
        };
        if !known {
            p.skip(field_type)?;
        }
        p.read_field_end()?;
    }
    p.read_struct_end()
}

/// Reads a list whose elements are read by `elem`; a list of another element type is skipped.
pub fn read_list<T>(
    p: &mut dyn TInputProtocol,
    elem_type: TType,
    mut elem: impl FnMut(&mut dyn TInputProtocol) -> Result<T>,
) -> Result<Vec<T>> {
    let id = p.read_list_begin()?;
    let n = id.size.max(0) as usize;
    let mut out = Vec::new();
    if id.element_type != elem_type {
        for _ in 0..n {
            p.skip(id.element_type)?;
        }
    } else {
        for _ in 0..n {
            out.push(elem(p)?);
        }
    }
    p.read_list_end()?;
    Ok(out)
}
