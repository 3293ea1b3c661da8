//! The tokenizer. Turns query text into [`Token`]s carrying byte offsets.
//!
//! Lexical rules (following Tempo's lexer):
//! * whitespace separates tokens; `// ...` and `/* ... */` comments are skipped;
//! * strings are Go string literals: `"..."` with Go escapes (`\n`, `\t`, `\"`, `\\`, `\x41`,
//!   `\101`, `\u00e9`, `\U0001F600`, ...; no raw newline), or raw `` `...` `` strings;
//! * numbers are decimal integers (must fit in `i64`) or floats (`1.5`, `2e10`); a number
//!   immediately followed by unit characters is a duration (see [`crate::duration`]);
//! * `.` and the scope prefixes `span.` `resource.` `parent.` `event.` `link.`
//!   `instrumentation.` (and `parent.span.` / `parent.resource.`) start an attribute; its name
//!   runs until whitespace or one of `{ } ( ) = ~ ! < > & | ^ ,`, and may contain `"..."`
//!   segments in which any character is allowed, with `\"` and `\\` escapes;
//! * `trace:` `span:` `event:` `link:` `instrumentation:` introduce a scoped intrinsic;
//! * operators are matched greedily (`!~` before `!`, `&>>` before `&>`), so `==` is two `=`.
//!
//! Unlike Tempo, a leading `.5` is an attribute named `5`, never a float.

use crate::ast::{Attribute, AttributeScope};
use crate::{duration, ParseError};

/// Operator tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    Eq,
    Neq,
    Regex,
    NotRegex,
    Lt,
    Lte,
    Gt,
    Gte,
    Desc,
    Ance,
    Tilde,
    NotChild,
    NotParent,
    NotDesc,
    NotAnce,
    UnionChild,
    UnionParent,
    UnionDesc,
    UnionAnce,
    UnionSibl,
    And,
    Or,
    Not,
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    Pow,
}

impl Op {
    pub(crate) fn text(self) -> &'static str {
        match self {
            Op::Eq => "=",
            Op::Neq => "!=",
            Op::Regex => "=~",
            Op::NotRegex => "!~",
            Op::Lt => "<",
            Op::Lte => "<=",
            Op::Gt => ">",
            Op::Gte => ">=",
            Op::Desc => ">>",
            Op::Ance => "<<",
            Op::Tilde => "~",
            Op::NotChild => "!>",
            Op::NotParent => "!<",
            Op::NotDesc => "!>>",
            Op::NotAnce => "!<<",
            Op::UnionChild => "&>",
            Op::UnionParent => "&<",
            Op::UnionDesc => "&>>",
            Op::UnionAnce => "&<<",
            Op::UnionSibl => "&~",
            Op::And => "&&",
            Op::Or => "||",
            Op::Not => "!",
            Op::Add => "+",
            Op::Sub => "-",
            Op::Mul => "*",
            Op::Div => "/",
            Op::Mod => "%",
            Op::Pow => "^",
        }
    }
}

/// Scopes that precede `:` in scoped intrinsics (`span:id`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ColonScope {
    Trace,
    Span,
    Event,
    Link,
    Instrumentation,
}

impl ColonScope {
    pub(crate) fn text(self) -> &'static str {
        match self {
            ColonScope::Trace => "trace",
            ColonScope::Span => "span",
            ColonScope::Event => "event",
            ColonScope::Link => "link",
            ColonScope::Instrumentation => "instrumentation",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Tok {
    LBrace,
    RBrace,
    LParen,
    RParen,
    Comma,
    Pipe,
    Op(Op),
    Str(String),
    Int(i64),
    Float(f64),
    Duration(i64),
    Ident(String),
    Attr(Attribute),
    ScopeColon(ColonScope),
    Eof,
}

impl Tok {
    /// How the token is named in error messages.
    pub(crate) fn describe(&self) -> String {
        match self {
            Tok::LBrace => "'{'".into(),
            Tok::RBrace => "'}'".into(),
            Tok::LParen => "'('".into(),
            Tok::RParen => "')'".into(),
            Tok::Comma => "','".into(),
            Tok::Pipe => "'|'".into(),
            Tok::Op(op) => format!("'{}'", op.text()),
            Tok::Str(s) => format!("string {}", crate::display::quote_string(s)),
            Tok::Int(i) => format!("number {i}"),
            Tok::Float(f) => format!("number {f}"),
            Tok::Duration(d) => format!("duration {}", duration::format(*d)),
            Tok::Ident(s) => format!("'{s}'"),
            Tok::Attr(a) => format!("attribute {a}"),
            Tok::ScopeColon(s) => format!("'{}:'", s.text()),
            Tok::Eof => "end of query".into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Token {
    pub tok: Tok,
    /// Byte offsets of the token's text.
    pub start: usize,
    pub end: usize,
}

/// Characters that end an unquoted attribute name.
pub(crate) fn is_attribute_char(c: char) -> bool {
    !c.is_whitespace()
        && !matches!(
            c,
            '{' | '}' | '(' | ')' | '=' | '~' | '!' | '<' | '>' | '&' | '|' | '^' | ','
        )
}

/// A character as named in error messages.
fn describe_char(c: char) -> String {
    if c.is_whitespace() {
        "whitespace".to_string()
    } else if c == '\'' || c.is_control() {
        format!("{:?}", c.to_string())
    } else {
        format!("'{c}'")
    }
}

fn is_ident_start(c: char) -> bool {
    c.is_alphabetic() || c == '_'
}

fn is_ident_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

fn is_duration_char(c: char) -> bool {
    c.is_ascii_digit() || matches!(c, '.' | 'n' | 's' | 'u' | 'm' | 'h' | '\u{b5}' | 'd' | 'w' | 'y')
}

/// Splits the whole text into tokens, ending with [`Tok::Eof`].
pub(crate) fn tokenize(text: &str) -> Result<Vec<Token>, ParseError> {
    let mut lexer = Lexer { text, pos: 0 };
    let mut tokens = Vec::new();
    loop {
        let token = lexer.next_token()?;
        let done = token.tok == Tok::Eof;
        tokens.push(token);
        if done {
            return Ok(tokens);
        }
    }
}

struct Lexer<'a> {
    text: &'a str,
    pos: usize,
}

impl Lexer<'_> {
    fn rest(&self) -> &str {
        &self.text[self.pos..]
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn peek_at(&self, n: usize) -> Option<char> {
        self.rest().chars().nth(n)
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        Some(c)
    }

    fn error(&self, offset: usize, message: impl Into<String>) -> ParseError {
        ParseError::at(self.text, offset, message)
    }

    fn skip_trivia(&mut self) -> Result<(), ParseError> {
        loop {
            let rest = self.rest();
            if let Some(c) = rest.chars().next().filter(|c| c.is_whitespace()) {
                self.pos += c.len_utf8();
            } else if rest.starts_with("//") {
                self.pos += rest.find('\n').unwrap_or(rest.len());
            } else if rest.starts_with("/*") {
                match rest[2..].find("*/") {
                    Some(end) => self.pos += end + 4,
                    None => return Err(self.error(self.pos, "comment not terminated")),
                }
            } else {
                return Ok(());
            }
        }
    }

    fn next_token(&mut self) -> Result<Token, ParseError> {
        self.skip_trivia()?;
        let start = self.pos;
        let Some(c) = self.bump() else {
            return Ok(Token {
                tok: Tok::Eof,
                start,
                end: start,
            });
        };
        let tok = match c {
            '{' => Tok::LBrace,
            '}' => Tok::RBrace,
            '(' => Tok::LParen,
            ')' => Tok::RParen,
            ',' => Tok::Comma,
            '"' => Tok::Str(self.go_string(start)?),
            '`' => Tok::Str(self.raw_string(start)?),
            '.' => Tok::Attr(self.attribute(start, AttributeScope::None, false)?),
            c if c.is_ascii_digit() => self.number(start)?,
            c if is_ident_start(c) => self.word(start)?,
            '=' if self.peek() == Some('=') => {
                return Err(self.error(start, "'==' is not an operator; use '=' for equality"));
            }
            '*' if self.peek() == Some('*') => {
                return Err(self.error(start, "'**' is not an operator; use '^' for powers"));
            }
            c => match self.operator(c) {
                Some(tok) => tok,
                None => {
                    return Err(self.error(start, format!("unexpected character {}", describe_char(c))));
                }
            },
        };
        Ok(Token {
            tok,
            start,
            end: self.pos,
        })
    }

    /// Operators, matched greedily. `c` has been consumed.
    fn operator(&mut self, c: char) -> Option<Tok> {
        let next = self.peek();
        let next2 = self.peek_at(1);
        let (op, extra) = match (c, next, next2) {
            ('=', Some('~'), _) => (Op::Regex, 1),
            ('=', _, _) => (Op::Eq, 0),
            ('!', Some('='), _) => (Op::Neq, 1),
            ('!', Some('~'), _) => (Op::NotRegex, 1),
            ('!', Some('>'), Some('>')) => (Op::NotDesc, 2),
            ('!', Some('>'), _) => (Op::NotChild, 1),
            ('!', Some('<'), Some('<')) => (Op::NotAnce, 2),
            ('!', Some('<'), _) => (Op::NotParent, 1),
            ('!', _, _) => (Op::Not, 0),
            ('>', Some('='), _) => (Op::Gte, 1),
            ('>', Some('>'), _) => (Op::Desc, 1),
            ('>', _, _) => (Op::Gt, 0),
            ('<', Some('='), _) => (Op::Lte, 1),
            ('<', Some('<'), _) => (Op::Ance, 1),
            ('<', _, _) => (Op::Lt, 0),
            ('~', _, _) => (Op::Tilde, 0),
            ('&', Some('&'), _) => (Op::And, 1),
            ('&', Some('>'), Some('>')) => (Op::UnionDesc, 2),
            ('&', Some('>'), _) => (Op::UnionChild, 1),
            ('&', Some('<'), Some('<')) => (Op::UnionAnce, 2),
            ('&', Some('<'), _) => (Op::UnionParent, 1),
            ('&', Some('~'), _) => (Op::UnionSibl, 1),
            ('|', Some('|'), _) => (Op::Or, 1),
            ('|', _, _) => return Some(Tok::Pipe),
            ('+', _, _) => (Op::Add, 0),
            ('-', _, _) => (Op::Sub, 0),
            ('*', _, _) => (Op::Mul, 0),
            ('/', _, _) => (Op::Div, 0),
            ('%', _, _) => (Op::Mod, 0),
            ('^', _, _) => (Op::Pow, 0),
            _ => return None,
        };
        for _ in 0..extra {
            self.bump();
        }
        Some(Tok::Op(op))
    }

    /// An identifier, keyword, scope prefix (`span.`) or intrinsic scope (`span:`).
    fn word(&mut self, start: usize) -> Result<Tok, ParseError> {
        while self.peek().is_some_and(is_ident_char) {
            self.bump();
        }
        let word = &self.text[start..self.pos];
        if self.peek() == Some('.') {
            let scope = match word {
                "span" => Some(AttributeScope::Span),
                "resource" => Some(AttributeScope::Resource),
                "event" => Some(AttributeScope::Event),
                "link" => Some(AttributeScope::Link),
                "instrumentation" => Some(AttributeScope::Instrumentation),
                "parent" => None,
                _ => return Ok(Tok::Ident(word.to_string())),
            };
            self.bump();
            let attr = match scope {
                Some(scope) => self.attribute(start, scope, false)?,
                None => self.parent_attribute(start)?,
            };
            return Ok(Tok::Attr(attr));
        }
        if self.peek() == Some(':') {
            let scope = match word {
                "trace" => ColonScope::Trace,
                "span" => ColonScope::Span,
                "event" => ColonScope::Event,
                "link" => ColonScope::Link,
                "instrumentation" => ColonScope::Instrumentation,
                _ => return Ok(Tok::Ident(word.to_string())),
            };
            self.bump();
            return Ok(Tok::ScopeColon(scope));
        }
        Ok(Tok::Ident(word.to_string()))
    }

    /// After `parent.`: an optional `span.` or `resource.` scope, then the name.
    fn parent_attribute(&mut self, start: usize) -> Result<Attribute, ParseError> {
        let rest = self.rest();
        let (scope, skip) = if rest.starts_with("span.") {
            (AttributeScope::Span, 5)
        } else if rest.starts_with("resource.") {
            (AttributeScope::Resource, 9)
        } else {
            (AttributeScope::None, 0)
        };
        self.pos += skip;
        self.attribute(start, scope, true)
    }

    /// The name of an attribute; the prefix up to and including the `.` has been consumed.
    fn attribute(
        &mut self,
        start: usize,
        scope: AttributeScope,
        parent: bool,
    ) -> Result<Attribute, ParseError> {
        let mut name = String::new();
        let mut any = false;
        while let Some(c) = self.peek() {
            if c == '"' {
                let quote = self.pos;
                self.bump();
                self.quoted_name(quote, &mut name)?;
            } else if is_attribute_char(c) {
                self.bump();
                name.push(c);
            } else {
                break;
            }
            any = true;
        }
        if !any {
            let prefix = &self.text[start..self.pos];
            let found = match self.peek() {
                None => "end of query".to_string(),
                Some(c) => describe_char(c),
            };
            return Err(self.error(
                self.pos,
                format!("expected an attribute name after '{prefix}' but found {found}"),
            ));
        }
        Ok(Attribute {
            scope,
            parent,
            name,
        })
    }

    /// A `"..."` segment of an attribute name; the opening quote has been consumed.
    fn quoted_name(&mut self, quote: usize, out: &mut String) -> Result<(), ParseError> {
        loop {
            match self.bump() {
                None => {
                    return Err(self.error(quote, "unterminated quoted attribute name"));
                }
                Some('"') => return Ok(()),
                Some('\\') => match self.bump() {
                    Some(c @ ('"' | '\\')) => out.push(c),
                    _ => {
                        return Err(self.error(
                            self.pos,
                            r#"invalid escape in quoted attribute name (only \" and \\ are allowed)"#,
                        ));
                    }
                },
                Some(c) => out.push(c),
            }
        }
    }

    /// A raw string; the opening backtick has been consumed. Carriage returns are dropped.
    fn raw_string(&mut self, start: usize) -> Result<String, ParseError> {
        let Some(len) = self.rest().find('`') else {
            return Err(self.error(start, "unterminated raw string"));
        };
        let value = self.rest()[..len].replace('\r', "");
        self.pos += len + 1;
        Ok(value)
    }

    /// A Go interpreted string; the opening quote has been consumed.
    fn go_string(&mut self, start: usize) -> Result<String, ParseError> {
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
        String::from_utf8(bytes)
            .map_err(|_| self.error(start, "string literal is not valid UTF-8"))
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
                    let digit = self.bump().and_then(|d| d.to_digit(8)).ok_or_else(|| bad(self))?;
                    value = value * 8 + digit;
                }
                Some(u8::try_from(value).map_err(|_| bad(self))?)
            }
            Some('x') => Some(u8::try_from(self.hex_digits(2).ok_or_else(|| bad(self))?).map_err(|_| bad(self))?),
            Some('u') => {
                let c = self.hex_digits(4).and_then(char::from_u32).ok_or_else(|| bad(self))?;
                out.extend_from_slice(c.encode_utf8(&mut [0u8; 4]).as_bytes());
                None
            }
            Some('U') => {
                let c = self.hex_digits(8).and_then(char::from_u32).ok_or_else(|| bad(self))?;
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

    /// A number or duration; the first digit has been consumed.
    fn number(&mut self, start: usize) -> Result<Tok, ParseError> {
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.bump();
        }
        let mut is_float = false;
        if self.peek() == Some('.') && self.peek_at(1).is_some_and(|c| c.is_ascii_digit()) {
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
