//! The tokenizer. Turns query text into [`Token`]s carrying byte offsets.
//!
//! Lexical rules (following Tempo's lexer):
//! * whitespace separates tokens; `// ...` and `/* ... */` comments are skipped;
//! * strings are Go string literals: `"..."` with Go escapes (`\n`, `\t`, `\"`, `\\`, `\x41`,
//!   `\101`, `\u00e9`, `\U0001F600`, ...; no raw newline), or raw `` `...` `` strings;
//! * numbers are decimal integers (must fit in `i64`) or floats (`1.5`, `1.`, `2e10`); a number
//!   immediately followed by unit characters is a duration (see [`crate::duration`]);
//! * `.` and the scope prefixes `span.` `resource.` `parent.` `event.` `link.`
//!   `instrumentation.` (and `parent.span.` / `parent.resource.`) start an attribute; its name
//!   runs until whitespace or one of `{ } ( ) = ~ ! < > & | ^ ,`, and may contain `"..."`
//!   segments in which any character is allowed, with `\"` and `\\` escapes;
//! * `trace:` `span:` `event:` `link:` `instrumentation:` introduce a scoped intrinsic;
//! * operators are matched greedily (`!~` before `!`, `&>>` before `&>`), and `==` / `**`
//!   are reported as mistakes rather than lexed as two operators.
//!
//! Unlike Tempo, a leading `.5` is an attribute named `5`, never a float.

mod literal;
mod token;

pub(crate) use token::{ColonScope, Op, Tok, Token};

use crate::ast::{Attribute, AttributeScope};
use crate::ParseError;

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
            } else if let Some(body) = rest.strip_prefix("/*") {
                match body.find("*/") {
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
            // As Go's scanner does (Tempo's lexer), `.5` is a number, not an attribute.
            '.' if self.peek().is_some_and(|c| c.is_ascii_digit()) => {
                self.leading_dot_number(start)?
            }
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
                    return Err(
                        self.error(start, format!("unexpected character {}", describe_char(c)))
                    );
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
}
