//! A bounded set of password verifications that succeeded, so the slow hash runs once per
//! (credential, stored hash) rather than once per request.
//!
//! An entry is a 32-byte fingerprint: SHA-256 over a random per-process key, then the
//! length-prefixed username, password and stored PHC string. The plaintext is never kept, a
//! fingerprint is useless outside this process, and an entry stops matching as soon as the
//! stored hash changes (a rotated or removed password). Only successes are recorded. At
//! capacity the oldest entry goes first; capacity 0 records nothing.

use std::collections::{HashSet, VecDeque};

use parking_lot::Mutex;
use sha2::{Digest, Sha256};

pub struct VerifiedCache {
    key: [u8; 32],
    capacity: usize,
    entries: Mutex<Entries>,
}

/// The fingerprints held, and their insertion order (oldest first).
#[derive(Default)]
struct Entries {
    set: HashSet<[u8; 32]>,
    order: VecDeque<[u8; 32]>,
}

impl VerifiedCache {
    pub fn new(capacity: usize) -> Self {
        Self {
            key: rand::random(),
            capacity,
            entries: Mutex::new(Entries::default()),
        }
    }

    /// The fingerprint of a presented password checked against a stored hash.
    pub fn fingerprint(&self, username: &str, password: &[u8], phc: &str) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(self.key);
        for part in [username.as_bytes(), password, phc.as_bytes()] {
            h.update((part.len() as u64).to_le_bytes());
            h.update(part);
        }
        h.finalize().into()
    }

    pub fn contains(&self, fingerprint: &[u8; 32]) -> bool {
        self.entries.lock().set.contains(fingerprint)
    }

    pub fn insert(&self, fingerprint: [u8; 32]) {
        if self.capacity == 0 {
            return;
        }
        let mut guard = self.entries.lock();
        let Entries { set, order } = &mut *guard;
        if !set.insert(fingerprint) {
            return;
        }
        order.push_back(fingerprint);
        while order.len() > self.capacity {
            if let Some(old) = order.pop_front() {
                set.remove(&old);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_keyed_by_every_part_and_oldest_out_first() {
        let c = VerifiedCache::new(2);
        let a = c.fingerprint("u", b"pw", "$h1");
        assert_ne!(
            a,
            c.fingerprint("u", b"pw", "$h2"),
            "the stored hash is part of the key"
        );
        assert_ne!(a, c.fingerprint("u", b"pX", "$h1"));
        // Length prefixes keep the parts apart.
        assert_ne!(
            c.fingerprint("ab", b"c", "$h"),
            c.fingerprint("a", b"bc", "$h")
        );
        assert_ne!(
            a,
            VerifiedCache::new(2).fingerprint("u", b"pw", "$h1"),
            "another process's key gives other fingerprints"
        );
        let (b, d) = (c.fingerprint("b", b"", ""), c.fingerprint("d", b"", ""));
        c.insert(a);
        c.insert(b);
        c.insert(a);
        assert!(c.contains(&a) && c.contains(&b));
        c.insert(d);
        assert!(!c.contains(&a) && c.contains(&b) && c.contains(&d));
        let none = VerifiedCache::new(0);
        none.insert(a);
        assert!(!none.contains(&a));
    }
}
