//! `strata auth hash-token` and `strata auth hash-password`: the stored forms of credentials
//! for `auth.credentials` or a tenant's `auth` in the per-tenant file. The secret is read from
//! standard input (one line; the trailing newline is dropped), never from the command line,
//! so it stays out of shell history and process listings.

use std::io::Read;

use anyhow::Context;
use clap::Subcommand;

#[derive(Subcommand)]
pub enum AuthAction {
    /// Print the `token_sha256` of a bearer token read from stdin.
    HashToken,
    /// Print the `password_hash` (Argon2id) of a password read from stdin.
    HashPassword,
}

/// The secret on stdin: its first line without the line ending; empty is an error.
fn read_secret(input: &mut impl Read) -> anyhow::Result<Vec<u8>> {
    let mut buf = Vec::new();
    input.read_to_end(&mut buf).context("reading stdin")?;
    let line = buf.split(|b| *b == b'\n').next().unwrap_or_default();
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    anyhow::ensure!(!line.is_empty(), "no secret on stdin");
    Ok(line.to_vec())
}

pub fn run(action: AuthAction, input: &mut impl Read) -> anyhow::Result<String> {
    let secret = read_secret(input)?;
    match action {
        AuthAction::HashToken => Ok(strata_server::auth::hash_token(&secret)),
        AuthAction::HashPassword => {
            strata_server::auth::hash_password(&secret).map_err(anyhow::Error::msg)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_the_first_line_of_stdin() {
        let out = run(AuthAction::HashToken, &mut &b"test\r\nignored"[..]).unwrap();
        assert_eq!(
            out,
            "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
        );
        let phc = run(AuthAction::HashPassword, &mut &b"pw\n"[..]).unwrap();
        assert!(strata_server::auth::hash::verify_password(b"pw", &phc));
        assert!(run(AuthAction::HashToken, &mut &b"\n"[..]).is_err());
    }
}
