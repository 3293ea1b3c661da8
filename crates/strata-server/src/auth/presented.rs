//! What a request presents in `Authorization` (HTTP header or gRPC metadata, same bytes):
//! `Bearer <token>` or `Basic <base64(username:password)>`, schemes case-insensitive.
//!
//! Never panics on input: a value that is not one of those (other scheme, malformed base64, a
//! username that is not UTF-8, no `:`, an empty token, more than one `Authorization`, or a value
//! over [`MAX_VALUE_BYTES`]) is invalid. The password is kept as bytes; nothing here is logged.

use base64::Engine as _;

/// Longest `Authorization` value considered (a longer one is invalid, not hashed).
pub const MAX_VALUE_BYTES: usize = 8 * 1024;

/// A credential as presented.
#[derive(PartialEq, Eq)]
pub enum Presented<'a> {
    Bearer(&'a [u8]),
    Basic { username: String, password: Vec<u8> },
}

impl std::fmt::Debug for Presented<'_> {
    /// Never shows the secret.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Presented::Bearer(_) => f.write_str("Bearer(..)"),
            Presented::Basic { username, .. } => write!(f, "Basic({username:?}, ..)"),
        }
    }
}

/// The one credential of a request: `Ok(None)` when there is no `Authorization`, `Err(())`
/// when it cannot be a credential.
#[allow(clippy::result_unit_err)]
pub fn parse<'a>(values: &[&'a [u8]]) -> Result<Option<Presented<'a>>, ()> {
    let value = match values {
        [] => return Ok(None),
        [one] => *one,
        _ => return Err(()),
    };
    if value.len() > MAX_VALUE_BYTES {
        return Err(());
    }
    let value = value.trim_ascii();
    let split = value.iter().position(|b| *b == b' ').ok_or(())?;
    let (scheme, rest) = (&value[..split], value[split..].trim_ascii());
    if rest.is_empty() {
        return Err(());
    }
    if scheme.eq_ignore_ascii_case(b"bearer") {
        return Ok(Some(Presented::Bearer(rest)));
    }
    if !scheme.eq_ignore_ascii_case(b"basic") {
        return Err(());
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(rest)
        .map_err(|_| ())?;
    let colon = decoded.iter().position(|b| *b == b':').ok_or(())?;
    let username = std::str::from_utf8(&decoded[..colon]).map_err(|_| ())?;
    if username.is_empty() {
        return Err(());
    }
    Ok(Some(Presented::Basic {
        username: username.to_string(),
        password: decoded[colon + 1..].to_vec(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn basic(s: &[u8]) -> Vec<u8> {
        let mut v = b"Basic ".to_vec();
        v.extend(
            base64::engine::general_purpose::STANDARD
                .encode(s)
                .into_bytes(),
        );
        v
    }

    #[test]
    fn bearer_and_basic_parse_with_any_scheme_case() {
        assert_eq!(parse(&[]), Ok(None));
        assert_eq!(
            parse(&[b"Bearer abc.def"]),
            Ok(Some(Presented::Bearer(b"abc.def")))
        );
        assert_eq!(
            parse(&[b"bEaReR  tok "]),
            Ok(Some(Presented::Bearer(b"tok")))
        );
        let v = basic(b"alice:pa:ss\xff");
        assert_eq!(
            parse(&[&v]),
            Ok(Some(Presented::Basic {
                username: "alice".into(),
                password: b"pa:ss\xff".to_vec()
            }))
        );
        let lower = [b"basic ".as_slice(), &v[6..]].concat();
        assert!(matches!(
            parse(&[&lower]),
            Ok(Some(Presented::Basic { .. }))
        ));
    }

    #[test]
    fn anything_else_is_invalid_without_panicking() {
        let no_colon = basic(b"alice");
        let no_user = basic(b":pw");
        let bad_user = basic(b"\xff\xfe:pw");
        let huge = [b"Bearer ".as_slice(), &vec![b'a'; MAX_VALUE_BYTES]].concat();
        let bad: [&[u8]; 10] = [
            b"Bearer",
            b"Bearer   ",
            b"Token abc",
            b"Basic !!!notbase64",
            b"Basic YWxpY2U6cHc",
            &no_colon,
            &no_user,
            &bad_user,
            &huge,
            b"\xff\xff \xff",
        ];
        for v in bad {
            assert_eq!(parse(&[v]), Err(()), "{:?}", String::from_utf8_lossy(v));
        }
        assert_eq!(parse(&[b"Bearer a", b"Bearer b"]), Err(()));
        // The secret never shows in Debug output.
        let shown = format!("{:?}", parse(&[&basic(b"alice:hunter2")]));
        assert!(!shown.contains("hunter2"), "{shown}");
    }
}
