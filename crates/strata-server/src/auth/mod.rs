//! Tenant resolution at the edge: the one place that turns a request's credential and
//! `X-Scope-OrgID` into a tenant, or refuses it. Every receiver (OTLP gRPC/HTTP, Zipkin,
//! Jaeger gRPC/HTTP) and every query API route goes through [`TenantResolver::resolve`], via
//! the middleware in [`layer`], which puts the tenant in the request's extensions
//! (`strata_common::TenantId`) for the handler. Internal gRPC between roles is not behind it:
//! the tenant travels in those messages.
//!
//! * Auth off (`auth.enabled: false`, the default): Tempo's behaviour, see [`decide::open`].
//! * Auth on: `Authorization` must hold a credential ([`presented`]) that the [`store`] knows;
//!   it decides the tenant and `X-Scope-OrgID` can only narrow ([`decide::narrow`]). No
//!   credential: 401 `missing`; a bad or unknown one: 401 `invalid`; a tenant it does not
//!   allow: 403 `forbidden`; each counted in
//!   `strata_auth_failures_total{reason,protocol}` (never a tenant label: the caller is not
//!   trusted). Over gRPC these are `UNAUTHENTICATED` and `PERMISSION_DENIED`.
//! * Credentials are stored hashed ([`hash`]): tokens as SHA-256, passwords as Argon2id, with
//!   successful password checks cached ([`cache`]).

pub mod cache;
pub mod decide;
pub mod hash;
pub mod layer;
pub mod presented;
pub mod store;

use std::sync::Arc;

use http::HeaderMap;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;
use strata_common::TenantId;

pub use decide::{Edge, Refusal};
pub use hash::{hash_password, hash_token};

use crate::Overrides;

/// The header (HTTP) and metadata key (gRPC) naming the tenant.
pub const ORG_ID_HEADER: &str = "x-scope-orgid";

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct FailureLabels {
    reason: &'static str,
    protocol: &'static str,
}

struct Inner {
    multitenancy: bool,
    auth: Option<store::Authenticator>,
    failures: Family<FailureLabels, Counter>,
}

/// Decides the tenant of edge requests. Cheap to clone.
#[derive(Clone)]
pub struct TenantResolver {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for TenantResolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TenantResolver")
            .field("multitenancy", &self.inner.multitenancy)
            .field("auth", &self.inner.auth.is_some())
            .finish()
    }
}

impl TenantResolver {
    /// No credentials: the tenant comes from `X-Scope-OrgID` alone (or is `single-tenant`).
    pub fn open(multitenancy: bool) -> Self {
        Self {
            inner: Arc::new(Inner {
                multitenancy,
                auth: None,
                failures: Family::default(),
            }),
        }
    }

    /// The resolver `cfg` describes, with per-tenant credentials from `overrides`, its
    /// failures counted in `registry`. Build one per process and share it between roles.
    pub fn from_config(
        cfg: &strata_config::Config,
        overrides: Overrides,
        registry: &mut Registry,
    ) -> Self {
        let failures = Family::<FailureLabels, Counter>::default();
        registry.register(
            "strata_auth_failures",
            "Edge requests refused for missing or invalid credentials, or a tenant the credential does not allow",
            failures.clone(),
        );
        let auth = cfg.auth.enabled.then(|| {
            store::Authenticator::new(
                &cfg.auth.credentials,
                overrides,
                cfg.auth.verification_cache_size,
            )
        });
        Self {
            inner: Arc::new(Inner {
                multitenancy: cfg.multitenancy_enabled,
                auth,
                failures,
            }),
        }
    }

    /// Whether requests need credentials.
    pub fn auth_enabled(&self) -> bool {
        self.inner.auth.is_some()
    }

    /// The tenant of a request with these headers (or gRPC metadata) arriving on `edge` over
    /// `protocol` (the label of counted failures, e.g. `otlp_grpc`, `query`).
    pub async fn resolve(
        &self,
        headers: &HeaderMap,
        edge: Edge,
        protocol: &'static str,
    ) -> Result<TenantId, Refusal> {
        let org_ids: Vec<&[u8]> = headers
            .get_all(ORG_ID_HEADER)
            .iter()
            .map(|v| v.as_bytes())
            .collect();
        let Some(auth) = &self.inner.auth else {
            return decide::open(self.inner.multitenancy, edge, &org_ids);
        };
        let result = self.authenticate(auth, headers, &org_ids).await;
        if let Err(refusal) = &result {
            if let Some(reason) = refusal.reason() {
                self.inner
                    .failures
                    .get_or_create(&FailureLabels { reason, protocol })
                    .inc();
            }
        }
        result
    }

    async fn authenticate(
        &self,
        auth: &store::Authenticator,
        headers: &HeaderMap,
        org_ids: &[&[u8]],
    ) -> Result<TenantId, Refusal> {
        let values: Vec<&[u8]> = headers
            .get_all(http::header::AUTHORIZATION)
            .iter()
            .map(|v| v.as_bytes())
            .collect();
        let presented = presented::parse(&values)
            .map_err(|()| Refusal::Invalid)?
            .ok_or(Refusal::Missing)?;
        let allowed = auth.allowed(&presented).await;
        if allowed.is_empty() {
            return Err(Refusal::Invalid);
        }
        decide::narrow(&allowed, org_ids)
    }
}

#[cfg(test)]
mod tests;
