//! Errors. Messages are meant for users: they say what is wrong and where.

/// A syntax error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("parse error at line {line}, col {column}: {message}")]
pub struct ParseError {
    pub message: String,
    /// Byte offset into the query text.
    pub offset: usize,
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
}

impl ParseError {
    /// An error at byte `offset` of `text`; line and column are computed from the text.
    /// An offset past the end (or inside a character) is clamped to a valid position.
    pub fn at(text: &str, offset: usize, message: impl Into<String>) -> ParseError {
        let mut offset = offset.min(text.len());
        while !text.is_char_boundary(offset) {
            offset -= 1;
        }
        let before = &text[..offset];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = before[line_start..].chars().count() + 1;
        ParseError {
            message: message.into(),
            offset,
            line,
            column,
        }
    }
}

/// A query that parses but cannot be run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValidateError {
    /// Types don't fit, a regex doesn't compile, etc.
    #[error("invalid query: {0}")]
    Invalid(String),
    /// Valid TraceQL that Strata does not support (yet).
    #[error("unsupported: {0}")]
    Unsupported(String),
}

impl ValidateError {
    pub(crate) fn invalid(message: impl Into<String>) -> ValidateError {
        ValidateError::Invalid(message.into())
    }

    pub(crate) fn unsupported(message: impl Into<String>) -> ValidateError {
        ValidateError::Unsupported(message.into())
    }
}

/// Either kind of failure, as returned by [`crate::parse_and_validate`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    #[error(transparent)]
    Parse(#[from] ParseError),
    #[error(transparent)]
    Validate(#[from] ValidateError),
}
