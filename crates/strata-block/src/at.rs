//! [`At`]: part of a Parquet file held in memory, read by parquet at file offsets.

use bytes::{Buf, Bytes};
use parquet::errors::ParquetError;
use parquet::file::reader::{ChunkReader, Length};

/// Bytes fetched from file offset `start`, read at file offsets.
#[derive(Debug, Clone)]
pub(crate) struct At {
    pub(crate) start: u64,
    pub(crate) bytes: Bytes,
}

impl At {
    fn slice(&self, start: u64, len: Option<usize>) -> parquet::errors::Result<Bytes> {
        let eof = || ParquetError::EOF(format!("offset {start} outside the fetched range"));
        let from =
            usize::try_from(start.checked_sub(self.start).ok_or_else(eof)?).map_err(|_| eof())?;
        let to = match len {
            Some(l) => from.checked_add(l).ok_or_else(eof)?,
            None => self.bytes.len(),
        };
        if from > to || to > self.bytes.len() {
            return Err(eof());
        }
        Ok(self.bytes.slice(from..to))
    }
}

impl Length for At {
    fn len(&self) -> u64 {
        self.start + self.bytes.len() as u64
    }
}

impl ChunkReader for At {
    type T = bytes::buf::Reader<Bytes>;

    fn get_read(&self, start: u64) -> parquet::errors::Result<Self::T> {
        Ok(self.slice(start, None)?.reader())
    }

    fn get_bytes(&self, start: u64, length: usize) -> parquet::errors::Result<Bytes> {
        self.slice(start, Some(length))
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;

    #[test]
    fn offsets() {
        let at = At {
            start: 10,
            bytes: Bytes::from_static(b"abcdef"),
        };
        assert_eq!(at.get_bytes(12, 2).unwrap(), Bytes::from_static(b"cd"));
        let mut s = String::new();
        at.get_read(14).unwrap().read_to_string(&mut s).unwrap();
        assert_eq!(s, "ef");
        assert!(at.get_bytes(9, 1).is_err());
        assert!(at.get_bytes(15, 2).is_err());
    }
}
