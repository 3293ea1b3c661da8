//! Hashing of stored credentials (what `strata auth hash-token` / `hash-password` print).
//!
//! * Tokens are meant to be long and random, so one SHA-256 is enough and costs nothing per
//!   request: stored as 64 lower-case hex digits.
//! * Passwords may be weak, so they are stored as Argon2id PHC strings
//!   (`$argon2id$v=19$m=…,t=…,p=…$salt$hash`) with the `argon2` crate's default cost (19 MiB,
//!   2 passes, 1 lane) and a random salt; verification reads the cost from the string.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use sha2::{Digest, Sha256};

/// SHA-256 of a token.
pub fn token_digest(token: &[u8]) -> [u8; 32] {
    Sha256::digest(token).into()
}

/// The stored form of a token: its SHA-256 in lower-case hex.
pub fn hash_token(token: &[u8]) -> String {
    hex::encode(token_digest(token))
}

/// The stored form of a password: an Argon2id PHC string with a fresh random salt.
pub fn hash_password(password: &[u8]) -> Result<String, String> {
    let salt = SaltString::encode_b64(&rand::random::<[u8; 16]>())
        .map_err(|e| format!("encoding salt: {e}"))?;
    Argon2::default()
        .hash_password(password, &salt)
        .map(|h| h.to_string())
        .map_err(|e| format!("hashing password: {e}"))
}

/// Whether `password` matches the PHC string `phc` (false for a malformed string). Slow by
/// design: callers run it off the async workers and cache successes.
pub fn verify_password(password: &[u8], phc: &str) -> bool {
    PasswordHash::new(phc)
        .map(|h| Argon2::default().verify_password(password, &h).is_ok())
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_hash_to_hex_sha256() {
        // SHA-256("test"), a published test vector.
        assert_eq!(
            hash_token(b"test"),
            "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
        );
    }

    #[test]
    fn passwords_verify_against_their_own_salted_hash_only() {
        let a = hash_password(b"correct horse").unwrap();
        let b = hash_password(b"correct horse").unwrap();
        assert!(a.starts_with("$argon2id$"), "{a}");
        assert_ne!(a, b, "each hash has its own salt");
        assert!(verify_password(b"correct horse", &a));
        assert!(verify_password(b"correct horse", &b));
        assert!(!verify_password(b"correct horsf", &a));
        assert!(!verify_password(b"correct horse", "not a phc string"));
    }
}
