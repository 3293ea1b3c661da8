//! Tenant identifiers. Every WAL record and every object-store path carries one, so turning
//! multitenancy on changes no format. Validation follows the rules Grafana's tooling applies to
//! `X-Scope-OrgID`: 1–150 characters from `[A-Za-z0-9!-_.*'()]`, and not `.` or `..`.

use std::fmt;
use std::sync::Arc;

/// The tenant every request belongs to when multitenancy is off.
pub const SINGLE_TENANT: &str = "single-tenant";

const MAX_TENANT_LEN: usize = 150;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TenantError {
    #[error("tenant id is empty")]
    Empty,
    #[error("tenant id is longer than {MAX_TENANT_LEN} characters")]
    TooLong,
    #[error("tenant id {0:?} is not allowed")]
    Reserved(String),
    #[error("tenant id contains unsupported character {0:?}")]
    BadChar(char),
}

/// A validated tenant ID. Cheap to clone.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TenantId(Arc<str>);

impl TenantId {
    pub fn new(s: &str) -> Result<Self, TenantError> {
        if s.is_empty() {
            return Err(TenantError::Empty);
        }
        if s.len() > MAX_TENANT_LEN {
            return Err(TenantError::TooLong);
        }
        if s == "." || s == ".." {
            return Err(TenantError::Reserved(s.to_string()));
        }
        if let Some(c) = s.chars().find(|c| !is_tenant_char(*c)) {
            return Err(TenantError::BadChar(c));
        }
        Ok(Self(Arc::from(s)))
    }

    /// The tenant used when multitenancy is off.
    pub fn single() -> Self {
        Self(Arc::from(SINGLE_TENANT))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn is_tenant_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '!' | '-' | '_' | '.' | '*' | '\'' | '(' | ')')
}

impl fmt::Display for TenantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for TenantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TenantId({})", &self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validates_tenants() {
        assert!(TenantId::new("team-a_1.prod").is_ok());
        assert_eq!(TenantId::single().as_str(), "single-tenant");
        assert_eq!(TenantId::new(""), Err(TenantError::Empty));
        assert_eq!(TenantId::new(".."), Err(TenantError::Reserved("..".into())));
        assert_eq!(TenantId::new("a/b"), Err(TenantError::BadChar('/')));
        assert_eq!(TenantId::new(&"x".repeat(151)), Err(TenantError::TooLong));
    }
}
