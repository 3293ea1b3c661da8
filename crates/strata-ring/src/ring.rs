//! The hash ring: an immutable snapshot of members, each placed at `virtual_nodes` points.
//!
//! Placement (a contract between processes: every distributor and querier must compute the
//! same owners, so changing any of this reshuffles ownership and needs a rollout of all of
//! them):
//!
//! * a member's id is [`hash_key`]`([name])`;
//! * its virtual node `i` sits at [`hash_key`]`([id as u64 LE, i as u64 LE])`;
//! * a key (e.g. [`ring_key`](crate::ring_key)) sits at its own value;
//! * a key's preference list is the distinct members met walking clockwise (increasing
//!   position, wrapping) from the first virtual node after the key; ties between virtual nodes
//!   at one position are broken by member name.
//!
//! Nothing here depends on `std`'s unspecified hashers or on the platform's byte order.

use std::cmp::Ordering;
use std::hash::{Hash, Hasher};

use consistent_hash::{Node, RingHash, StaticHashRing};

use crate::hash_key;

/// A member on the ring: its name, and its id that is all `Hash` sees.
#[derive(Debug, Clone)]
struct Member {
    name: String,
    id: u64,
}

impl Hash for Member {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.id);
    }
}

impl PartialEq for Member {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}

impl Eq for Member {}

impl PartialOrd for Member {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Member {
    fn cmp(&self, other: &Self) -> Ordering {
        self.name.cmp(&other.name)
    }
}

/// Captures the `u64` a value hashes as (keys and member ids write exactly one); anything
/// else is folded in with xxh3 so the hasher stays total.
#[derive(Default)]
struct Position(u64);

impl Hasher for Position {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        self.0 = hash_key(&[&self.0.to_le_bytes(), bytes]);
    }

    fn write_u64(&mut self, v: u64) {
        self.0 = v;
    }
}

/// The placement function described in the module docs.
#[derive(Debug, Clone, Copy)]
struct Placement;

impl RingHash for Placement {
    fn hash_item<T: Hash>(&self, item: &T) -> u64 {
        let mut h = Position::default();
        item.hash(&mut h);
        h.finish()
    }

    fn hash_vnode<K: Hash>(&self, node_key: &K, vnode_seq: usize) -> u64 {
        let id = self.hash_item(node_key);
        hash_key(&[&id.to_le_bytes(), &(vnode_seq as u64).to_le_bytes()])
    }
}

/// An immutable ring of members. Cheap to query; rebuild it when membership changes.
pub struct Ring {
    members: Vec<String>,
    ring: StaticHashRing<'static, Member, (), Placement>,
}

impl std::fmt::Debug for Ring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ring")
            .field("members", &self.members)
            .field("virtual_nodes", &self.ring.len())
            .finish()
    }
}

impl Ring {
    /// A ring of `members` (deduplicated, sorted), each with `virtual_nodes` points (at least
    /// one).
    pub fn new(members: impl IntoIterator<Item = String>, virtual_nodes: usize) -> Self {
        let mut members: Vec<String> = members.into_iter().collect();
        members.sort();
        members.dedup();
        let nodes = members.iter().map(|name| {
            Node::new(Member {
                name: name.clone(),
                id: hash_key(&[name.as_bytes()]),
            })
            .quantity(virtual_nodes.max(1))
        });
        let ring = StaticHashRing::new(Placement, nodes);
        Self { members, ring }
    }

    /// The members, sorted.
    pub fn members(&self) -> &[String] {
        &self.members
    }

    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    /// Every member exactly once, in ring order from `key`: the first is the key's owner, the
    /// next ones its replicas and then its handoff candidates.
    pub fn preference_list(&self, key: u64) -> Vec<&str> {
        self.ring
            .calc_candidates(&key)
            .map(|n| n.key.name.as_str())
            .collect()
    }

    /// The first member of the key's preference list.
    pub fn owner(&self, key: u64) -> Option<&str> {
        self.ring
            .calc_candidates(&key)
            .next()
            .map(|n| n.key.name.as_str())
    }
}
