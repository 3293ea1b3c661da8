//! Literals: Go strings, raw strings, numbers and durations.

use super::{Lexer, Tok};
use crate::{duration, ParseError};

fn is_duration_char(c: char) -> bool {
    c.is_ascii_digit()
        || matches!(
            c,
            '.' | 'n' | 's' | 'u' | 'm' | 'h' | '\u{b5}' | 'd' | 'w' | 'y'
        )
}

impl Lexer<'_> {
    /// A raw string; the opening backtick has been consumed. Carriage returns are dropped.
    pub(super) fn raw_string(&mut self, start: usize) -> Result<String, ParseError> {
        let Some(len) = self.rest().find('`') else {
            return Err(self.error(start, "unterminated raw string"));
        };
        let value = self.rest()[..len].replace('\r', "");
        self.pos += len + 1;
        Ok(value)
    }

    /// A Go interpreted string; the opening quote has been consumed.
    pub(super) fn go_string(&mut self, start: usize) -> Result<String, ParseError> {
        let mut bytes: Vec<u8> = Vec::new();
        loop {
            let here = self.pos;
            match self.bump() {
                None | Some('\n') => return Err(self.error(start, "unterminated string")),
                Some('"') => break,
                Some('\\') => self.escape(here, &mut bytes)?,
                Some(c) => {
                    let mut buf = [0u8; 4];
                    bytes.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                }
            }
        }
        String::from_utf8(bytes).map_err(|_| self.error(start, "string literal is not valid UTF-8"))
    }

    fn escape(&mut self, at: usize, out: &mut Vec<u8>) -> Result<(), ParseError> {
        let bad = |lexer: &Self| lexer.error(at, "invalid escape sequence in string");
        let simple = match self.bump() {
            Some('a') => Some(0x07),
            Some('b') => Some(0x08),
            Some('f') => Some(0x0c),
            Some('n') => Some(b'\n'),
            Some('r') => Some(b'\r'),
            Some('t') => Some(b'\t'),
            Some('v') => Some(0x0b),
            Some('\\') => Some(b'\\'),
            Some('"') => Some(b'"'),
            Some(c @ '0'..='7') => {
                let mut value = c.to_digit(8).unwrap_or(0);
                for _ in 0..2 {
                    let digit = self
                        .bump()
                        .and_then(|d| d.to_digit(8))
                        .ok_or_else(|| bad(self))?;
                    value = value * 8 + digit;
                }
                Some(u8::try_from(value).map_err(|_| bad(self))?)
            }
            Some('x') => Some(
                u8::try_from(self.hex_digits(2).ok_or_else(|| bad(self))?)
                    .map_err(|_| bad(self))?,
            ),
            Some('u') => {
                let c = self
                    .hex_digits(4)
                    .and_then(char::from_u32)
                    .ok_or_else(|| bad(self))?;
                out.extend_from_slice(c.encode_utf8(&mut [0u8; 4]).as_bytes());
                None
            }
            Some('U') => {
                let c = self
                    .hex_digits(8)
                    .and_then(char::from_u32)
                    .ok_or_else(|| bad(self))?;
                out.extend_from_slice(c.encode_utf8(&mut [0u8; 4]).as_bytes());
                None
            }
            _ => return Err(bad(self)),
        };
        if let Some(b) = simple {
            out.push(b);
        }
        Ok(())
    }

    fn hex_digits(&mut self, n: usize) -> Option<u32> {
        let mut value: u32 = 0;
        for _ in 0..n {
            value = value.checked_mul(16)? + self.bump()?.to_digit(16)?;
        }
        Some(value)
    }

    /// A float written without its leading zero (`.5`); the dot has been consumed.
    pub(super) fn leading_dot_number(&mut self, start: usize) -> Result<Tok, ParseError> {
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.bump();
        }
        let text = format!("0{}", &self.text[start..self.pos]);
        match text.parse::<f64>() {
            Ok(f) if f.is_finite() => Ok(Tok::Float(f)),
            _ => Err(self.error(start, format!("number {text} is out of range"))),
        }
    }

    /// A number or duration; the first digit has been consumed.
    pub(super) fn number(&mut self, start: usize) -> Result<Tok, ParseError> {
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.bump();
        }
        let mut is_float = false;
        // As in Go, `1.` is a float; `1.5` too, of course.
        if self.peek() == Some('.') {
            is_float = true;
            self.bump();
            while self.peek().is_some_and(|c| c.is_ascii_digit()) {
                self.bump();
            }
        }
        if matches!(self.peek(), Some('e' | 'E')) {
            let sign = usize::from(matches!(self.peek_at(1), Some('+' | '-')));
            if self.peek_at(1 + sign).is_some_and(|c| c.is_ascii_digit()) {
                is_float = true;
                for _ in 0..=sign {
                    self.bump();
                }
                while self.peek().is_some_and(|c| c.is_ascii_digit()) {
                    self.bump();
                }
            }
        }
        let number_end = self.pos;
        if let Some(ns) = self.duration_suffix(start) {
            return Ok(Tok::Duration(ns));
        }
        let text = &self.text[start..number_end];
        if is_float {
            match text.parse::<f64>() {
                Ok(f) if f.is_finite() => Ok(Tok::Float(f)),
                _ => Err(self.error(start, format!("number {text} is out of range"))),
            }
        } else {
            text.parse::<i64>().map(Tok::Int).map_err(|_| {
                self.error(
                    start,
                    format!("integer {text} is out of range (integers must fit in 64 bits)"),
                )
            })
        }
    }

    /// If the number just read is followed by duration units, consumes them and returns the
    /// duration; otherwise consumes nothing.
    fn duration_suffix(&mut self, start: usize) -> Option<i64> {
        let len: usize = self
            .rest()
            .chars()
            .take_while(|&c| is_duration_char(c))
            .map(char::len_utf8)
            .sum();
        if len == 0 {
            return None;
        }
        let ns = duration::parse(&self.text[start..self.pos + len])?;
        self.pos += len;
        Some(ns)
    }
}
