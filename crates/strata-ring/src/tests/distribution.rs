//! The ring alone: hashing, balance, movement on removal; health marking and the quorum
//! check through a pool.

use std::collections::HashMap;
use std::time::Duration;

use rand::Rng;
use strata_common::{TenantId, TraceId};

use tokio_util::sync::CancellationToken;

use super::cluster::Cluster;
use crate::{hash_key, ring_key, Ring};

fn members(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("10.0.0.{i}:9095")).collect()
}

#[test]
fn keys_are_stable_and_length_prefixed() {
    let t = TenantId::new("acme").unwrap();
    let id = TraceId([7; 16]);
    assert_eq!(ring_key(&t, &id), ring_key(&t, &id));
    assert_eq!(ring_key(&t, &id), hash_key(&[b"acme", &[7; 16]]));
    // Moving a byte between parts changes the key.
    assert_ne!(hash_key(&[b"ab", b"c"]), hash_key(&[b"a", b"bc"]));
    // Tenants do not share positions.
    assert_ne!(
        ring_key(&TenantId::new("a").unwrap(), &id),
        ring_key(&TenantId::new("b").unwrap(), &id)
    );
}

#[test]
fn ring_dedups_sorts_and_lists_every_member_once() {
    let ring = Ring::new(
        vec!["c".to_string(), "a".into(), "b".into(), "a".into()],
        16,
    );
    assert_eq!(ring.members(), ["a", "b", "c"]);
    for key in [0u64, 1, u64::MAX / 2, u64::MAX] {
        let mut p = ring.preference_list(key);
        assert_eq!(Some(p[0]), ring.owner(key));
        p.sort();
        assert_eq!(p, ["a", "b", "c"]);
    }
    let empty = Ring::new(Vec::<String>::new(), 128);
    assert!(empty.is_empty());
    assert!(empty.preference_list(42).is_empty());
    assert_eq!(empty.owner(42), None);
}

#[test]
fn three_members_share_30k_keys_evenly_enough() {
    let ring = Ring::new(members(3), 128);
    let mut rng = rand::rng();
    let keys: Vec<u64> = (0..30_000).map(|_| rng.random()).collect();
    let mut owned: HashMap<&str, usize> = HashMap::new();
    for k in &keys {
        *owned.entry(ring.owner(*k).unwrap()).or_default() += 1;
    }
    assert_eq!(owned.len(), 3);
    eprintln!("ownership of 30k keys: {owned:?}");
    for (m, n) in &owned {
        let share = *n as f64 / keys.len() as f64;
        assert!(
            (0.20..=0.47).contains(&share),
            "{m} owns {:.1}% of the keys",
            share * 100.0
        );
    }
}

#[test]
fn removing_a_member_moves_only_its_keys() {
    let all = members(3);
    let before = Ring::new(all.clone(), 128);
    let after = Ring::new(all[..2].to_vec(), 128);
    let gone = all[2].as_str();
    let mut rng = rand::rng();
    let mut moved = 0;
    for _ in 0..30_000 {
        let k: u64 = rng.random();
        let was = before.owner(k).unwrap();
        let now = after.owner(k).unwrap();
        if was == gone {
            moved += 1;
        } else {
            assert_eq!(was, now, "key {k} moved off a member that stayed");
        }
        // Replicas too: the remaining order is the old order without the removed member.
        let old: Vec<&str> = before
            .preference_list(k)
            .into_iter()
            .filter(|m| *m != gone)
            .collect();
        assert_eq!(old, after.preference_list(k));
    }
    assert!(moved > 0);
}

#[tokio::test]
async fn member_set_marks_unhealthy_on_failed_probe_and_back_on_pass() {
    let c = Cluster::start(3, 3);
    let set = c.pool.members();
    assert_eq!(set.healthy_count(), 3, "members start healthy");
    c.pool.check_quorum().unwrap();

    c.node("ingester-1").set_down(true);
    assert_eq!(set.healthy_count(), 3, "nothing changes before a probe");
    set.check_now().await;
    assert_eq!(set.healthy_count(), 2);
    assert!(!set.is_healthy("ingester-1"));
    assert_eq!(set.healthy_ring().members(), ["ingester-0", "ingester-2"]);
    assert_eq!(set.all().len(), 3, "unhealthy members stay members");
    c.pool.check_quorum().unwrap();

    c.node("ingester-2").set_down(true);
    set.check_now().await;
    assert_eq!(set.healthy_count(), 1);
    let err = c.pool.check_quorum().unwrap_err();
    assert!(err.to_string().contains("2 needed"), "{err}");

    c.node("ingester-1").set_down(false);
    c.node("ingester-2").set_down(false);
    set.check_now().await;
    assert_eq!(set.healthy_count(), 3);
    assert_eq!(set.healthy_ring().members().len(), 3);
    c.pool.check_quorum().unwrap();
}

#[tokio::test]
async fn an_unhealthy_member_is_probed_again_within_seconds_not_a_heartbeat() {
    // A heartbeat far longer than the test: only the re-probe of unhealthy members can bring
    // them back in time.
    let c = Cluster::start_ring(3, 3, &|_| {}, &|r| {
        r.heartbeat_period = Duration::from_secs(600)
    });
    let set = c.pool.members();
    // Two of three members not up yet when the ring starts (every role starts at once).
    c.node("ingester-1").set_down(true);
    c.node("ingester-2").set_down(true);
    let shutdown = CancellationToken::new();
    let recovered = async {
        // The first round (at once) finds them down: no quorum.
        while set.healthy_count() == 3 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert_eq!(set.healthy_count(), 1);
        assert!(c.pool.check_quorum().is_err());
        c.node("ingester-1").set_down(false);
        c.node("ingester-2").set_down(false);
        let up = std::time::Instant::now();
        while set.healthy_count() < 3 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        up.elapsed()
    };
    let took = tokio::select! {
        took = tokio::time::timeout(Duration::from_secs(30), recovered) => took,
        () = set.run(shutdown.clone()) => unreachable!("runs until shut down"),
    };
    // About a second (the re-probe); 600 s without it.
    let took = took.expect("the members came back within 30 s, not the 600 s heartbeat");
    eprintln!("members back on the ring after {took:?}");
    c.pool.check_quorum().unwrap();
    shutdown.cancel();
}
