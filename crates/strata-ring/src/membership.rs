//! Who is on the ring: a fixed list, or the addresses a DNS name resolves to.
//!
//! * Static (`ring.members`): the configured strings, deduplicated and sorted, never change.
//! * DNS (`ring.dns` = `name:port`, used instead of `members` when set): every A/AAAA record
//!   becomes a member `ip:port` (IPv6 as `[ip]:port`), deduplicated and sorted. The list is
//!   empty until the first [`Membership::refresh`] ([`Membership::run`] does one at once, then
//!   one every `dns_refresh`). A lookup that fails, times out or returns no address keeps the
//!   last good list (and logs a warning): a DNS hiccup never empties the ring.

use std::sync::Arc;
use std::time::Duration;

use parking_lot::RwLock;
use strata_config::RingConfig;
use tokio_util::sync::CancellationToken;

/// The longest a single DNS lookup may take before it counts as failed.
const DNS_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug, Clone)]
enum Source {
    Static,
    Dns { name: String, every: Duration },
}

/// The current member list. Cheap to clone (clones share the list).
#[derive(Debug, Clone)]
pub struct Membership {
    source: Source,
    members: Arc<RwLock<Vec<String>>>,
}

fn normalize(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v.dedup();
    v
}

impl Membership {
    /// Static membership from `cfg.members`, or DNS membership from `cfg.dns` when it is set.
    pub fn from_config(cfg: &RingConfig) -> Self {
        Self::from_parts(&cfg.members, &cfg.dns, cfg.dns_refresh)
    }

    /// Static membership from `members`, or DNS membership from `dns` (re-resolved every
    /// `dns_refresh`) when it is set: the same settings as a ring's, for lists of other
    /// roles (the queriers a search is shared with).
    pub fn from_parts(members: &[String], dns: &str, dns_refresh: Duration) -> Self {
        if dns.trim().is_empty() {
            Self::fixed(members.to_vec())
        } else {
            Self {
                source: Source::Dns {
                    name: dns.trim().to_string(),
                    every: dns_refresh,
                },
                members: Arc::default(),
            }
        }
    }

    /// A fixed member list.
    pub fn fixed(members: Vec<String>) -> Self {
        let members: Vec<String> = members
            .into_iter()
            .map(|m| m.trim().to_string())
            .filter(|m| !m.is_empty())
            .collect();
        Self {
            source: Source::Static,
            members: Arc::new(RwLock::new(normalize(members))),
        }
    }

    /// The members now, sorted.
    pub fn members(&self) -> Vec<String> {
        self.members.read().clone()
    }

    /// Re-resolves the DNS name (no-op for a static list).
    pub async fn refresh(&self) {
        if let Source::Dns { name, .. } = &self.source {
            self.refresh_from(name).await;
        }
    }

    async fn refresh_from(&self, name: &str) {
        match tokio::time::timeout(DNS_TIMEOUT, tokio::net::lookup_host(name)).await {
            Ok(Ok(addrs)) => {
                let found = normalize(addrs.map(|a| a.to_string()).collect());
                if found.is_empty() {
                    tracing::warn!(
                        dns = name,
                        "ring dns lookup returned no address; keeping the last members"
                    );
                    return;
                }
                let mut cur = self.members.write();
                if *cur != found {
                    tracing::info!(dns = name, members = ?found, "ring members changed");
                    *cur = found;
                }
            }
            Ok(Err(e)) => {
                tracing::warn!(dns = name, error = %e, "ring dns lookup failed; keeping the last members");
            }
            Err(_) => {
                tracing::warn!(
                    dns = name,
                    "ring dns lookup timed out; keeping the last members"
                );
            }
        }
    }

    /// Refreshes now and then every `dns_refresh` until `shutdown` (returns at once for a
    /// static list).
    pub async fn run(&self, shutdown: CancellationToken) {
        let Source::Dns { every, .. } = &self.source else {
            return;
        };
        let mut tick = tokio::time::interval((*every).max(Duration::from_millis(100)));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => self.refresh().await,
                _ = shutdown.cancelled() => return,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn static_members_are_deduplicated_and_sorted() {
        let cfg = RingConfig {
            members: vec!["b:1".into(), "a:1".into(), "b:1".into(), " ".into()],
            ..Default::default()
        };
        let m = Membership::from_config(&cfg);
        assert_eq!(m.members(), vec!["a:1".to_string(), "b:1".to_string()]);
    }

    #[tokio::test]
    async fn dns_localhost_resolves_and_failures_keep_the_last_answer() {
        let cfg = RingConfig {
            members: vec!["ignored:1".into()],
            dns: "localhost:4100".into(),
            ..Default::default()
        };
        let m = Membership::from_config(&cfg);
        assert!(m.members().is_empty(), "nothing before the first lookup");
        m.refresh().await;
        let got = m.members();
        assert!(!got.is_empty());
        for a in &got {
            assert!(
                a == "127.0.0.1:4100" || a == "[::1]:4100",
                "unexpected member {a}"
            );
        }
        // A name without a port cannot resolve: the previous answer stays.
        m.refresh_from("localhost").await;
        assert_eq!(m.members(), got);
    }
}
