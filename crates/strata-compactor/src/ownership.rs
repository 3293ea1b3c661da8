//! Who does which piece of work when several compactors run.
//!
//! Work is split by 64-bit keys ([`job_key`] for a compaction job, [`tenant_key`] for a
//! tenant's retention pass and index). A compactor does a piece of work only when its
//! [`Ownership`] says it owns the key. With a ring ([`RingOwnership`]) every healthy member
//! computes the same owner for a key, so each key has exactly one owner while the members
//! agree on who is healthy; during a change of membership two compactors may briefly both act
//! on a key, which is safe (outputs are complete before inputs are marked, and readers drop
//! duplicate spans) but wasteful.

use std::sync::Arc;
use std::time::Duration;

use strata_common::TenantId;
use strata_ring::{hash_key, MemberSet, Membership, Probe};

use crate::HttpReadyProbe;

/// Decides whether this compactor owns a key.
pub trait Ownership: Send + Sync {
    fn owns(&self, key: u64) -> bool;
}

/// Owns every key: a single compactor.
#[derive(Debug, Clone, Copy, Default)]
pub struct OwnAll;

impl Ownership for OwnAll {
    fn owns(&self, _key: u64) -> bool {
        true
    }
}

/// The key of a compaction job: the tenant and the window index (block end time divided by
/// `compaction_window`). Every level of a window has the same owner.
pub fn job_key(tenant: &TenantId, window: u64) -> u64 {
    hash_key(&[b"job", tenant.as_str().as_bytes(), &window.to_le_bytes()])
}

/// The key of a tenant's retention pass and index.
pub fn tenant_key(tenant: &TenantId) -> u64 {
    hash_key(&[b"tenant", tenant.as_str().as_bytes()])
}

/// Owns the keys the healthy compactor ring assigns to `instance_addr`.
pub struct RingOwnership {
    members: Arc<MemberSet>,
    instance_addr: String,
}

impl RingOwnership {
    pub fn new(members: Arc<MemberSet>, instance_addr: impl Into<String>) -> Self {
        Self {
            members,
            instance_addr: instance_addr.into(),
        }
    }

    /// A member set for `cfg` whose members are probed with `GET /ready` over plain HTTP, or
    /// over HTTPS with `tls` ([`HttpReadyProbe`]).
    pub fn member_set(
        cfg: &strata_config::RingConfig,
        tls: Option<strata_tls::ClientTls>,
    ) -> Arc<MemberSet> {
        let probe = HttpReadyProbe::new(Duration::from_secs(2)).with_tls(tls);
        let probe: Arc<dyn Probe> = Arc::new(probe);
        Arc::new(MemberSet::new(Membership::from_config(cfg), probe, cfg))
    }
}

impl Ownership for RingOwnership {
    fn owns(&self, key: u64) -> bool {
        self.members.healthy_ring().owner(key) == Some(self.instance_addr.as_str())
    }
}
