//! The credentials in force and the lookup of a presented one: which tenants it allows.
//!
//! Two sources, scanned in this order: the main file's `auth.credentials` (fixed), then the
//! per-tenant file's entries (tenant name order; the index is rebuilt when a reload hands out
//! new credentials). The tenants of every matching entry are joined in that order, duplicates
//! dropped, so the default tenant is the first tenant of the first match.
//!
//! * A token is compared as its SHA-256 against every token entry with a constant-time compare
//!   and no early exit, so timing tells nothing about how much of a digest matched.
//! * A password is checked against the entries of its username (usernames are not secret):
//!   first the [`VerifiedCache`], then Argon2 on a blocking thread, at most one verification
//!   per core at a time. An unknown username still costs one verification against a dummy
//!   hash, so response time does not tell which usernames exist.

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

use parking_lot::Mutex;
use strata_common::TenantId;
use strata_config::{Credential, CredentialKind, TenantAuth};
use subtle::ConstantTimeEq;
use tokio::sync::Semaphore;

use super::cache::VerifiedCache;
use super::hash::{token_digest, verify_password};
use super::presented::Presented;
use crate::Overrides;

enum Secret {
    Token([u8; 32]),
    Password { username: String, phc: String },
}

struct Entry {
    secret: Secret,
    tenants: Vec<TenantId>,
}

/// Credentials of one source, parsed.
#[derive(Default)]
struct Index(Vec<Entry>);

impl Index {
    fn push(&mut self, c: &Credential, tenants: Vec<TenantId>) {
        // Both sources were validated when loaded; a credential that still does not parse is
        // left out rather than allowed.
        let secret = match c.kind() {
            Ok(CredentialKind::Token(d)) => Secret::Token(d),
            Ok(CredentialKind::Password { username, phc }) => Secret::Password {
                username: username.to_string(),
                phc: phc.to_string(),
            },
            Err(e) => {
                tracing::warn!(credential = %c.name, error = %e, "credential ignored");
                return;
            }
        };
        self.0.push(Entry { secret, tenants });
    }

    fn from_config(creds: &[Credential]) -> Self {
        let mut ix = Self::default();
        for c in creds {
            ix.push(c, c.tenant_ids().unwrap_or_default());
        }
        ix
    }

    fn from_overrides(map: &BTreeMap<TenantId, TenantAuth>) -> Self {
        let mut ix = Self::default();
        for (tenant, auth) in map {
            for c in &auth.credentials {
                ix.push(c, vec![tenant.clone()]);
            }
        }
        ix
    }
}

/// The per-tenant credentials last indexed, and their index.
struct Indexed {
    source: Arc<BTreeMap<TenantId, TenantAuth>>,
    index: Arc<Index>,
}

/// Verifies presented credentials against the configured and per-tenant ones.
pub struct Authenticator {
    configured: Index,
    overrides: Overrides,
    per_tenant: Mutex<Indexed>,
    cache: VerifiedCache,
    kdf_slots: Arc<Semaphore>,
}

impl Authenticator {
    pub fn new(configured: &[Credential], overrides: Overrides, cache_size: usize) -> Self {
        let current = overrides.credentials();
        let index = Arc::new(Index::from_overrides(&current));
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        Self {
            configured: Index::from_config(configured),
            overrides,
            per_tenant: Mutex::new(Indexed {
                source: current,
                index,
            }),
            cache: VerifiedCache::new(cache_size),
            kdf_slots: Arc::new(Semaphore::new(cores)),
        }
    }

    fn per_tenant_index(&self) -> Arc<Index> {
        let current = self.overrides.credentials();
        let mut guard = self.per_tenant.lock();
        if !Arc::ptr_eq(&guard.source, &current) {
            guard.index = Arc::new(Index::from_overrides(&current));
            guard.source = current;
        }
        guard.index.clone()
    }

    /// The tenants `presented` allows, default first; empty when it matches nothing.
    pub async fn allowed(&self, presented: &Presented<'_>) -> Vec<TenantId> {
        let per_tenant = self.per_tenant_index();
        let entries = self.configured.0.iter().chain(per_tenant.0.iter());
        let mut matched: Vec<&Entry> = Vec::new();
        match presented {
            Presented::Bearer(token) => {
                let digest = token_digest(token);
                for e in entries {
                    if let Secret::Token(d) = &e.secret {
                        if bool::from(d.as_slice().ct_eq(digest.as_slice())) {
                            matched.push(e);
                        }
                    }
                }
            }
            Presented::Basic { username, password } => {
                let mut tried = false;
                for e in entries {
                    if let Secret::Password { username: u, phc } = &e.secret {
                        if u == username {
                            tried = true;
                            if self.password_matches(username, password, phc).await {
                                matched.push(e);
                            }
                        }
                    }
                }
                if !tried {
                    self.password_matches(username, password, dummy_phc()).await;
                }
            }
        }
        let mut out: Vec<TenantId> = Vec::new();
        for t in matched.iter().flat_map(|e| e.tenants.iter()) {
            if !out.contains(t) {
                out.push(t.clone());
            }
        }
        out
    }

    async fn password_matches(&self, username: &str, password: &[u8], phc: &str) -> bool {
        let fp = self.cache.fingerprint(username, password, phc);
        if self.cache.contains(&fp) {
            return true;
        }
        let Ok(_slot) = self.kdf_slots.clone().acquire_owned().await else {
            return false;
        };
        let (pw, h) = (password.to_vec(), phc.to_string());
        let ok = tokio::task::spawn_blocking(move || verify_password(&pw, &h))
            .await
            .unwrap_or(false);
        if ok {
            self.cache.insert(fp);
        }
        ok
    }
}

/// A hash no password is checked against except to spend the same time on unknown usernames.
fn dummy_phc() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| super::hash::hash_password(b"strata: no such user").unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::hash::{hash_password, hash_token};

    fn t(s: &str) -> TenantId {
        TenantId::new(s).unwrap()
    }

    fn token(secret: &str, tenants: &[&str]) -> Credential {
        Credential {
            token_sha256: hash_token(secret.as_bytes()).into(),
            tenants: tenants.iter().map(|s| s.to_string()).collect(),
            ..Credential::default()
        }
    }

    fn overrides_with(file: &str) -> (Overrides, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("o.yaml");
        std::fs::write(&path, file).unwrap();
        let cfg = strata_config::OverridesConfig {
            per_tenant_override_config: path,
            ..Default::default()
        };
        let clock: strata_common::SharedClock = Arc::new(strata_common::SystemClock);
        let o = Overrides::load(&cfg, clock, &mut crate::Registry::default()).unwrap();
        (o, dir)
    }

    #[tokio::test]
    async fn tokens_from_both_sources_join_in_order() {
        let file = format!(
            "overrides:\n  zeta:\n    auth:\n      credentials:\n        - token_sha256: {}\n  c:\n    auth:\n      credentials:\n        - token_sha256: {}\n",
            hash_token(b"shared"),
            hash_token(b"shared"),
        );
        let (o, _dir) = overrides_with(&file);
        let a = Authenticator::new(
            &[token("shared", &["b", "a"]), token("other", &["x"])],
            o,
            8,
        );
        assert_eq!(
            a.allowed(&Presented::Bearer(b"shared")).await,
            [t("b"), t("a"), t("c"), t("zeta")]
        );
        assert_eq!(a.allowed(&Presented::Bearer(b"other")).await, [t("x")]);
        assert!(a.allowed(&Presented::Bearer(b"nope")).await.is_empty());
    }

    #[tokio::test]
    async fn per_tenant_credentials_follow_a_reload() {
        let entry = |secret: &str| {
            format!(
                "overrides:\n  t:\n    auth:\n      credentials:\n        - token_sha256: {}\n",
                hash_token(secret.as_bytes())
            )
        };
        let (o, dir) = overrides_with(&entry("old"));
        let a = Authenticator::new(&[], o.clone(), 8);
        assert_eq!(a.allowed(&Presented::Bearer(b"old")).await, [t("t")]);
        std::fs::write(dir.path().join("o.yaml"), entry("new")).unwrap();
        assert!(o.reload().unwrap());
        assert!(a.allowed(&Presented::Bearer(b"old")).await.is_empty());
        assert_eq!(a.allowed(&Presented::Bearer(b"new")).await, [t("t")]);
    }

    #[tokio::test]
    async fn passwords_verify_once_then_come_from_the_cache() {
        let phc = hash_password(b"s3cret").unwrap();
        let cred = Credential {
            username: "alice".into(),
            password_hash: phc.as_str().into(),
            tenants: vec!["team-a".into()],
            ..Credential::default()
        };
        let a = Authenticator::new(&[cred], Overrides::default(), 8);
        let right = Presented::Basic {
            username: "alice".into(),
            password: b"s3cret".to_vec(),
        };
        let wrong = Presented::Basic {
            username: "alice".into(),
            password: b"s3creT".to_vec(),
        };
        let stranger = Presented::Basic {
            username: "mallory".into(),
            password: b"s3cret".to_vec(),
        };
        assert!(a.allowed(&wrong).await.is_empty());
        assert!(!a
            .cache
            .contains(&a.cache.fingerprint("alice", b"s3creT", &phc)));
        assert!(a.allowed(&stranger).await.is_empty());
        assert_eq!(a.allowed(&right).await, [t("team-a")]);
        assert!(a
            .cache
            .contains(&a.cache.fingerprint("alice", b"s3cret", &phc)));
        assert_eq!(a.allowed(&right).await, [t("team-a")]);
        // A token equal to the password is not a password.
        assert!(a.allowed(&Presented::Bearer(b"s3cret")).await.is_empty());
    }
}
