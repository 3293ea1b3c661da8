//! Rings of members of one role (ingesters, compactors, the coming metrics-generators): who
//! is on the ring and healthy, where a key is placed, replicated pushes with quorum, and calls
//! fanned out to every member. Nothing here knows what the members answer: merging answers
//! (search results, tag names, …) is up to the reader that asks (e.g. the querier's
//! `FanoutQuerier`, over `strata-engine`'s merge functions). This crate must not depend on
//! `strata-engine`, so the stateless distributor does not link the query engine (`make lint`
//! checks it with `cargo tree`).
//!
//! * [`ring_key`] / [`hash_key`]: stable 64-bit keys (xxh3-64, seed 0, over each part as its
//!   length in 8 bytes little-endian followed by its bytes). `ring_key(tenant, trace)` is
//!   `hash_key([tenant bytes, 16 trace-ID bytes])`. These are a contract between processes:
//!   every distributor must compute the same owners for a trace.
//! * [`Ring`] (module `ring`): an immutable consistent-hash ring (`consistent_hash`'s
//!   `StaticHashRing`, `virtual_nodes` points per member) and its placement function.
//! * [`Membership`]: a static list or DNS (`name:port`, re-resolved every `dns_refresh`).
//! * [`MemberSet`]: membership plus health from a [`Probe`] every `heartbeat_period` (used
//!   alone by the compactor ring, whose members are probed over HTTP).
//! * [`Pool`]`<C>`: a [`MemberSet`] and one cached connection `C` to each member, for any
//!   role whose connection implements [`Member`]; [`Pool::fan_out`] calls every member and
//!   tolerates `R - 1` failures (rules in the `pool` module docs). [`IngesterPool`] is
//!   `Pool<dyn IngesterConn>`, [`GeneratorPool`] `Pool<dyn GeneratorConn>` (the
//!   metrics-generators, which distributors shard spans over by [`ring_key`]).
//! * [`ReplicatedPusher`]: the distributor's [`IngesterPusher`](strata_proto::roles::IngesterPusher)
//!   (quorum writes with handoff; rules in the `push` module docs).
//!
//! Invariants: with `n` members and replication factor `RF`, `R = min(RF, n)` and the quorum is
//! `R/2 + 1`. An acknowledged push has every stored trace on at least a quorum of ingesters'
//! WALs; a fan-out succeeds only when at most `R - 1` members failed, so every acknowledged trace
//! is on at least one that answered.

mod health;
mod membership;
mod metrics;
mod pool;
mod push;
mod ring;

pub use health::{MemberSet, Probe};
pub use membership::Membership;
pub use metrics::RingMetrics;
pub use pool::{ConnFactory, GeneratorPool, IngesterPool, Member, Pool};
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
