//! Tenant credentials: the `auth` section, and the `auth` key of a per-tenant overrides entry.
//!
//! ```yaml
//! multitenancy_enabled: true      # required by auth.enabled
//! auth:
//!   enabled: true
//!   credentials:
//!     - name: grafana             # a label for logs; optional
//!       token_sha256: 9f86d0…     # `strata auth hash-token` (64 hex digits)
//!       tenants: [team-a, team-b] # the first is the default
//!     - name: alice
//!       username: alice
//!       password_hash: $argon2id$v=19$m=19456,t=2,p=1$…   # `strata auth hash-password`
//!       tenants: [team-a]
//! ```
//!
//! In the per-tenant file a tenant's entry may carry `auth: { credentials: [...] }`; those
//! credentials allow that tenant only (`tenants` must be left out there), and they reload with
//! the file. `auth` is not allowed under `*` nor in `overrides.defaults`: a credential for
//! every tenant would defeat isolation.
//!
//! Invariants checked here: each credential is exactly one of a bearer token (`token_sha256`,
//! 64 hex digits: SHA-256 of the token) or a username with a `password_hash` (an Argon2 PHC
//! string); every tenant is a valid tenant ID; a credential in the main file names at least
//! one tenant. Nothing here holds a secret in clear; the hashes are still [`Secret`]s so dumps
//! do not show them. What the credentials mean at request time is `strata-server::auth`.

use serde::{Deserialize, Serialize};
use strata_common::TenantId;

use crate::Secret;

/// The `auth` section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthConfig {
    /// When true, every ingest and query request needs a credential (`Authorization: Bearer
    /// <token>` or `Basic <base64 user:password>`), which decides the tenant; `X-Scope-OrgID`
    /// can only narrow to a tenant the credential allows. Default false (Tempo's behaviour:
    /// `X-Scope-OrgID` alone names the tenant). Needs `multitenancy_enabled: true`.
    pub enabled: bool,
    /// Credentials and the tenants each allows (besides those in the per-tenant file).
    pub credentials: Vec<Credential>,
    /// Successful password verifications remembered (keyed by a hash of the presented
    /// credential), so the slow password hash does not run on every request. Default 1024.
    pub verification_cache_size: usize,
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            credentials: Vec::new(),
            verification_cache_size: 1024,
        }
    }
}

/// One credential: a bearer token or a username and password, stored hashed.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Credential {
    /// A label naming the credential in logs and errors; never a secret.
    pub name: String,
    /// Lower-case hex SHA-256 of a bearer token (`strata auth hash-token`).
    pub token_sha256: Secret,
    /// Username of a basic-auth credential (with `password_hash`).
    pub username: String,
    /// Argon2 PHC string of the password (`strata auth hash-password`).
    pub password_hash: Secret,
    /// Tenants the credential allows, the first being its default. Left out in the
    /// per-tenant file, where the entry's tenant is the only one.
    pub tenants: Vec<String>,
}

/// The `auth` key of one tenant's entry in the per-tenant overrides file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TenantAuth {
    pub credentials: Vec<Credential>,
}

/// What a credential presents: exactly one of these.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CredentialKind<'a> {
    /// The token's SHA-256 digest.
    Token([u8; 32]),
    /// A username and an Argon2 PHC string.
    Password { username: &'a str, phc: &'a str },
}

impl Credential {
    /// A label for messages: the name, else the username, else the position.
    fn label(&self, index: usize) -> String {
        if !self.name.is_empty() {
            format!("{:?}", self.name)
        } else if !self.username.is_empty() {
            format!("of user {:?}", self.username)
        } else {
            format!("#{}", index + 1)
        }
    }

    /// The validated secret: exactly one kind, well formed.
    pub fn kind(&self) -> Result<CredentialKind<'_>, String> {
        let token = self.token_sha256.expose().trim();
        let phc = self.password_hash.expose().trim();
        if self.token_sha256.is_redacted() || self.password_hash.is_redacted() {
            return Err("holds a redacted placeholder, not a hash".into());
        }
        match (token.is_empty(), self.username.is_empty(), phc.is_empty()) {
            (false, true, true) => parse_sha256(token).map(CredentialKind::Token),
            (true, false, false) => {
                password_hash::PasswordHash::new(phc)
                    .map_err(|e| format!("password_hash is not a PHC string: {e}"))?;
                if !phc.starts_with("$argon2") {
                    return Err("password_hash must be an Argon2 hash".into());
                }
                Ok(CredentialKind::Password {
                    username: &self.username,
                    phc,
                })
            }
            _ => Err("needs exactly one of token_sha256, or username with password_hash".into()),
        }
    }

    /// The tenants named, parsed.
    pub fn tenant_ids(&self) -> Result<Vec<TenantId>, String> {
        self.tenants
            .iter()
            .map(|t| TenantId::new(t).map_err(|e| format!("tenant {t:?}: {e}")))
            .collect()
    }
}

fn parse_sha256(hex_digest: &str) -> Result<[u8; 32], String> {
    let bytes = hex_digest.as_bytes();
    if bytes.len() != 64 {
        return Err("token_sha256 must be 64 hex digits".into());
    }
    let mut out = [0u8; 32];
    for (i, pair) in bytes.chunks(2).enumerate() {
        let hi = (pair[0] as char).to_digit(16);
        let lo = (pair[1] as char).to_digit(16);
        match (hi, lo) {
            (Some(h), Some(l)) => out[i] = (h * 16 + l) as u8,
            _ => return Err("token_sha256 must be 64 hex digits".into()),
        }
    }
    Ok(out)
}

impl AuthConfig {
    /// Settings that cannot work; `multitenancy` is the root `multitenancy_enabled`.
    pub fn validate(&self, multitenancy: bool) -> Result<(), String> {
        if self.enabled && !multitenancy {
            return Err("auth.enabled needs multitenancy_enabled: true (credentials name tenants; use tenant single-tenant for one)".into());
        }
        for (i, c) in self.credentials.iter().enumerate() {
            let bad = |m: String| format!("auth.credentials {}: {m}", c.label(i));
            c.kind().map_err(bad)?;
            if c.tenant_ids().map_err(bad)?.is_empty() {
                return Err(bad("tenants must name at least one tenant".into()));
            }
        }
        Ok(())
    }
}

impl TenantAuth {
    /// Credentials of a per-tenant entry: well formed, without `tenants`.
    pub fn validate(&self) -> Result<(), String> {
        for (i, c) in self.credentials.iter().enumerate() {
            let bad = |m: String| format!("auth.credentials {}: {m}", c.label(i));
            c.kind().map_err(bad)?;
            if !c.tenants.is_empty() {
                return Err(bad(
                    "tenants is not allowed here: the entry's tenant is the only one".into(),
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PHC: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$n8Jm2G2Ue6h3nZwPbRjdpHsJmLWkKp8VQqaWsH7sOTM";
    const TOKEN: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

    fn token(tenants: &[&str]) -> Credential {
        Credential {
            token_sha256: TOKEN.into(),
            tenants: tenants.iter().map(|t| t.to_string()).collect(),
            ..Credential::default()
        }
    }

    #[test]
    fn a_credential_is_exactly_one_well_formed_kind() {
        assert!(matches!(token(&["a"]).kind(), Ok(CredentialKind::Token(d)) if d[0] == 0x9f));
        let pw = Credential {
            username: "alice".into(),
            password_hash: PHC.into(),
            ..Credential::default()
        };
        assert!(matches!(
            pw.kind(),
            Ok(CredentialKind::Password {
                username: "alice",
                ..
            })
        ));
        let both = Credential {
            username: "alice".into(),
            password_hash: PHC.into(),
            ..token(&[])
        };
        assert!(both.kind().unwrap_err().contains("exactly one"));
        assert!(Credential::default().kind().is_err());
        let short = Credential {
            token_sha256: "abc".into(),
            ..Credential::default()
        };
        assert!(short.kind().unwrap_err().contains("64 hex"));
        let not_hex = Credential {
            token_sha256: "zz".repeat(32).as_str().into(),
            ..Credential::default()
        };
        assert!(not_hex.kind().unwrap_err().contains("64 hex"));
        // A multi-byte character must not be split or panic.
        let unicode = Credential {
            token_sha256: "é".repeat(32).as_str().into(),
            ..Credential::default()
        };
        assert!(unicode.kind().is_err());
        let not_phc = Credential {
            username: "alice".into(),
            password_hash: "hunter2".into(),
            ..Credential::default()
        };
        assert!(not_phc.kind().unwrap_err().contains("PHC"));
        let redacted = Credential {
            token_sha256: crate::REDACTED.into(),
            ..Credential::default()
        };
        assert!(redacted.kind().unwrap_err().contains("redacted"));
    }

    #[test]
    fn auth_needs_multitenancy_and_tenants_in_the_main_file() {
        let cfg = AuthConfig {
            enabled: true,
            credentials: vec![token(&["team-a"])],
            ..AuthConfig::default()
        };
        assert!(cfg.validate(true).is_ok());
        assert!(cfg.validate(false).unwrap_err().contains("multitenancy"));
        let none = AuthConfig {
            credentials: vec![token(&[])],
            ..cfg.clone()
        };
        assert!(none.validate(true).unwrap_err().contains("at least one"));
        let bad = AuthConfig {
            credentials: vec![token(&["a|b"])],
            ..cfg
        };
        assert!(bad.validate(true).unwrap_err().contains("\"a|b\""));
    }

    #[test]
    fn per_tenant_credentials_name_no_tenants() {
        let ok = TenantAuth {
            credentials: vec![token(&[])],
        };
        assert!(ok.validate().is_ok());
        let named = TenantAuth {
            credentials: vec![token(&["x"])],
        };
        assert!(named.validate().unwrap_err().contains("not allowed"));
    }

    #[test]
    fn hashes_are_not_dumped() {
        let yaml = serde_yaml_ng::to_string(&token(&["a"])).unwrap();
        assert!(!yaml.contains(TOKEN), "{yaml}");
    }
}
