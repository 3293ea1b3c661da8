//! The decision store: which traces tail sampling kept or dropped, per tenant, remembered for
//! `decision_ttl` and at most `max_decisions` of them, in an embedded `sled` database that
//! survives restarts (also SIGKILL: [`DecisionStore::flush`] runs before the WAL segments a
//! decision covers are deleted, so a decision lost in a crash is made again from the replayed
//! WAL).
//!
//! Format (version 1, in tree `meta` key `version`):
//! * tree `decisions`: key `tenant ‖ 0x00 ‖ trace ID (16 bytes)` → value `decision (1 byte:
//!   0 dropped, 1 kept) ‖ expiry (u64 big-endian, unix milliseconds)`;
//! * tree `by_expiry`: key `expiry (u64 BE) ‖ tenant ‖ 0x00 ‖ trace ID` → empty; ordered by
//!   expiry, so expired and oldest decisions are found without a scan.
//!
//! A tenant ID never contains 0x00 (see `strata_common::TenantId`).

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use strata_common::{TenantId, TraceId};

/// The store's format version.
pub const FORMAT_VERSION: u8 = 1;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("decision store: {0}")]
    Sled(#[from] sled::Error),
    #[error("decision store at {path}: format version {found} is not supported (this build reads {FORMAT_VERSION})")]
    Version { path: String, found: u8 },
}

/// A tail-sampling decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Keep,
    Drop,
}

/// See the module docs.
pub struct DecisionStore {
    decisions: sled::Tree,
    by_expiry: sled::Tree,
    db: sled::Db,
    /// Entries in `decisions` (sled's own count walks the tree).
    len: AtomicU64,
}

impl std::fmt::Debug for DecisionStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DecisionStore")
            .field("len", &self.len())
            .finish_non_exhaustive()
    }
}

fn key(tenant: &TenantId, trace: &TraceId) -> Vec<u8> {
    let t = tenant.as_str().as_bytes();
    let mut k = Vec::with_capacity(t.len() + 17);
    k.extend_from_slice(t);
    k.push(0);
    k.extend_from_slice(&trace.0);
    k
}

impl DecisionStore {
    /// Opens (or creates) the store in `dir`.
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        let db = sled::Config::new()
            .path(dir)
            .flush_every_ms(Some(500))
            .open()?;
        let meta = db.open_tree("meta")?;
        match meta.get("version")? {
            Some(v) if v.as_ref() != [FORMAT_VERSION] => {
                return Err(StoreError::Version {
                    path: dir.display().to_string(),
                    found: v.first().copied().unwrap_or(0),
                })
            }
            Some(_) => {}
            None => {
                meta.insert("version", &[FORMAT_VERSION])?;
            }
        }
        let decisions = db.open_tree("decisions")?;
        let by_expiry = db.open_tree("by_expiry")?;
        let len = decisions.len() as u64;
        Ok(Self {
            decisions,
            by_expiry,
            db,
            len: AtomicU64::new(len),
        })
    }

    pub fn len(&self) -> u64 {
        self.len.load(Ordering::Relaxed)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The decision on a trace, unless none was made or it expired before `now_ms`.
    pub fn get(
        &self,
        tenant: &TenantId,
        trace: &TraceId,
        now_ms: u64,
    ) -> Result<Option<Decision>, StoreError> {
        let Some(v) = self.decisions.get(key(tenant, trace))? else {
            return Ok(None);
        };
        if v.len() != 9 {
            return Ok(None);
        }
        let expiry = u64::from_be_bytes(v[1..9].try_into().expect("8 bytes"));
        if expiry <= now_ms {
            return Ok(None);
        }
        Ok(Some(if v[0] == 1 {
            Decision::Keep
        } else {
            Decision::Drop
        }))
    }

    /// Remembers decisions made at `now_ms` until `now_ms + ttl_ms`.
    pub fn put(
        &self,
        tenant: &TenantId,
        decisions: &[(TraceId, Decision)],
        now_ms: u64,
        ttl_ms: u64,
    ) -> Result<(), StoreError> {
        let expiry = now_ms.saturating_add(ttl_ms);
        for (trace, d) in decisions {
            let k = key(tenant, trace);
            let mut v = [0u8; 9];
            v[0] = u8::from(*d == Decision::Keep);
            v[1..].copy_from_slice(&expiry.to_be_bytes());
            match self.decisions.insert(&k, &v)? {
                Some(old) if old.len() == 9 => {
                    // A repeated decision: move its expiry entry.
                    let mut ek = old[1..9].to_vec();
                    ek.extend_from_slice(&k);
                    self.by_expiry.remove(ek)?;
                }
                Some(_) => {}
                None => {
                    self.len.fetch_add(1, Ordering::Relaxed);
                }
            }
            let mut ek = expiry.to_be_bytes().to_vec();
            ek.extend_from_slice(&k);
            self.by_expiry.insert(ek, &[])?;
        }
        Ok(())
    }

    /// Forgets decisions expired at `now_ms`, then the oldest beyond `max`; returns how many.
    pub fn sweep(&self, now_ms: u64, max: u64) -> Result<u64, StoreError> {
        let mut removed = 0;
        while let Some((ek, _)) = self.by_expiry.first()? {
            let expiry = u64::from_be_bytes(ek[..8].try_into().expect("8-byte prefix"));
            if expiry > now_ms && self.len() <= max {
                break;
            }
            self.by_expiry.remove(&ek)?;
            if self.decisions.remove(&ek[8..])?.is_some() {
                self.len.fetch_sub(1, Ordering::Relaxed);
                removed += 1;
            }
        }
        Ok(removed)
    }

    /// Makes every decision so far durable.
    pub fn flush(&self) -> Result<(), StoreError> {
        self.db.flush()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(n: u8) -> TraceId {
        TraceId([n; 16])
    }

    #[test]
    fn decisions_expire_survive_reopening_and_are_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let a = TenantId::new("a").unwrap();
        let b = TenantId::new("b").unwrap();
        {
            let s = DecisionStore::open(dir.path()).unwrap();
            s.put(
                &a,
                &[(t(1), Decision::Keep), (t(2), Decision::Drop)],
                1_000,
                500,
            )
            .unwrap();
            s.put(&b, &[(t(1), Decision::Drop)], 1_100, 500).unwrap();
            assert_eq!(s.get(&a, &t(1), 1_200).unwrap(), Some(Decision::Keep));
            assert_eq!(s.get(&a, &t(2), 1_200).unwrap(), Some(Decision::Drop));
            // Tenants do not share decisions.
            assert_eq!(s.get(&b, &t(1), 1_200).unwrap(), Some(Decision::Drop));
            assert_eq!(s.get(&b, &t(2), 1_200).unwrap(), None);
            // Expired: not returned even before a sweep.
            assert_eq!(s.get(&a, &t(1), 1_500).unwrap(), None);
            assert_eq!(s.len(), 3);
            s.flush().unwrap();
        }
        let s = DecisionStore::open(dir.path()).unwrap();
        assert_eq!(s.len(), 3, "decisions survive reopening");
        assert_eq!(s.get(&b, &t(1), 1_200).unwrap(), Some(Decision::Drop));
        // a's two expire at 1 500, b's at 1 600.
        assert_eq!(s.sweep(1_550, 10).unwrap(), 2);
        assert_eq!(s.len(), 1);
        // The bound forgets the oldest first.
        s.put(&a, &[(t(3), Decision::Keep)], 1_200, 1_000).unwrap();
        s.put(&a, &[(t(4), Decision::Keep)], 1_300, 1_000).unwrap();
        assert_eq!(s.sweep(1_210, 2).unwrap(), 1);
        assert_eq!(s.get(&b, &t(1), 1_210).unwrap(), None);
        assert_eq!(s.get(&a, &t(3), 1_210).unwrap(), Some(Decision::Keep));
        // Deciding again moves the expiry instead of adding an entry.
        s.put(&a, &[(t(3), Decision::Keep)], 1_400, 1_000).unwrap();
        assert_eq!(s.len(), 2);
        // t(4) expires at 2 300, t(3) now at 2 400.
        assert_eq!(s.sweep(2_350, 10).unwrap(), 1);
        assert_eq!(s.get(&a, &t(3), 2_350).unwrap(), Some(Decision::Keep));
    }
}
