//! The ingester ring of distributed mode: which ingesters hold a trace, replicated pushes with
//! quorum, and reads fanned out to every ingester.
//!
//! * [`ring_key`] / [`hash_key`]: stable 64-bit keys (xxh3-64, seed 0, over each part as its
//!   length in 8 bytes little-endian followed by its bytes). `ring_key(tenant, trace)` is
//!   `hash_key([tenant bytes, 16 trace-ID bytes])`. These are a contract between processes:
//!   every distributor must compute the same owners for a trace.
//! * [`Ring`] (module `ring`): an immutable consistent-hash ring (`consistent_hash`'s
//!   `StaticHashRing`, `virtual_nodes` points per member) and its placement function.
//! * [`Membership`]: a static list or DNS (`name:port`, re-resolved every `dns_refresh`).
//! * [`MemberSet`]: membership plus health from a [`Probe`] every `heartbeat_period`.
//! * [`IngesterPool`]: a [`MemberSet`] of ingesters and one cached [`IngesterConn`] each.
//! * [`ReplicatedPusher`]: the distributor's [`IngesterPusher`](strata_proto::roles::IngesterPusher)
//!   (quorum writes with handoff; rules in the `push` module docs).
//! * [`FanoutQuerier`]: the querier's [`IngesterQuerier`](strata_proto::roles::IngesterQuerier)
//!   and [`IngesterHealth`](strata_proto::roles::IngesterHealth) (rules in the `fanout`
//!   module docs).
//!
//! Invariants: with `n` members and replication factor `RF`, `R = min(RF, n)` and the quorum is
//! `R/2 + 1`. An acknowledged push has every stored trace on at least a quorum of ingesters'
//! WALs; a read succeeds only when at most `R - 1` ingesters failed, so every acknowledged trace
//! is on at least one that answered.

mod fanout;
mod health;
mod membership;
mod pool;
mod push;
mod ring;

pub use fanout::FanoutQuerier;
pub use health::{MemberSet, Probe};
pub use membership::Membership;
pub use pool::{ConnFactory, IngesterPool};
pub use push::ReplicatedPusher;
pub use ring::Ring;

use strata_common::{TenantId, TraceId};
#[doc(no_inline)]
pub use strata_proto::roles::IngesterConn;
use xxhash_rust::xxh3::Xxh3;

/// A stable hash of `parts`, each length-prefixed (see the crate docs).
pub fn hash_key(parts: &[&[u8]]) -> u64 {
    let mut h = Xxh3::new();
    for p in parts {
        h.update(&(p.len() as u64).to_le_bytes());
        h.update(p);
    }
    h.digest()
}

/// The ring position of a tenant's trace.
pub fn ring_key(tenant: &TenantId, trace: &TraceId) -> u64 {
    hash_key(&[tenant.as_str().as_bytes(), trace.as_bytes()])
}

#[cfg(test)]
mod tests;
