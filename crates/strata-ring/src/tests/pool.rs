//! The pool is generic over the member's service: a ring of members of another role.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use async_trait::async_trait;
use strata_config::RingConfig;
use strata_proto::roles::RoleError;

use crate::{ConnFactory, Member, Membership, Pool};

/// A member of some other role: answers its name unless down.
struct Echo {
    name: String,
    down: AtomicBool,
}

impl Echo {
    fn say(&self) -> Result<String, RoleError> {
        if self.down.load(Ordering::SeqCst) {
            Err(RoleError::Unavailable(format!("{} is down", self.name)))
        } else {
            Ok(self.name.clone())
        }
    }
}

#[async_trait]
impl Member for Echo {
    const PLURAL: &'static str = "echoes";

    async fn ready(&self) -> Result<(), RoleError> {
        self.say().map(|_| ())
    }
}

fn echoes(n: usize, rf: usize) -> (BTreeMap<String, Arc<Echo>>, Pool<Echo>) {
    let nodes: BTreeMap<String, Arc<Echo>> = (0..n)
        .map(|i| {
            let name = format!("echo-{i}");
            let e = Echo {
                name: name.clone(),
                down: AtomicBool::new(false),
            };
            (name, Arc::new(e))
        })
        .collect();
    let cfg = RingConfig {
        replication_factor: rf,
        members: nodes.keys().cloned().collect(),
        ..Default::default()
    };
    let by_name = nodes.clone();
    let factory: ConnFactory<Echo> = Arc::new(move |addr: &str| by_name[addr].clone());
    let pool = Pool::new(Membership::from_config(&cfg), factory, &cfg);
    (nodes, pool)
}

async fn say_all(pool: &Pool<Echo>) -> Result<Vec<String>, RoleError> {
    let mut got = pool.fan_out("echo", |e| async move { e.say() }).await?;
    got.sort();
    Ok(got)
}

#[tokio::test]
async fn fan_out_and_health_work_for_any_member_type() {
    let (nodes, pool) = echoes(3, 2);
    assert_eq!(
        say_all(&pool).await.unwrap(),
        ["echo-0", "echo-1", "echo-2"]
    );
    pool.check_quorum().unwrap();

    // RF 2 tolerates one failed member.
    nodes["echo-1"].down.store(true, Ordering::SeqCst);
    assert_eq!(say_all(&pool).await.unwrap(), ["echo-0", "echo-2"]);
    pool.members().check_now().await;
    assert!(!pool.members().is_healthy("echo-1"));
    pool.check_quorum().unwrap();

    nodes["echo-2"].down.store(true, Ordering::SeqCst);
    let err = say_all(&pool).await.unwrap_err();
    assert!(
        matches!(&err, RoleError::Unavailable(m)
            if m.contains("echo: 2 of 3 echoes failed (at most 1 tolerated)")
                && m.contains("echo-2: echo-2 is down")),
        "{err:?}"
    );
    pool.members().check_now().await;
    let err = pool.check_quorum().unwrap_err();
    assert_eq!(err.to_string(), "1 echoes healthy, 2 needed");
}

#[tokio::test]
async fn an_empty_ring_fails_fan_out_and_quorum() {
    let (_, pool) = echoes(0, 3);
    let err = say_all(&pool).await.unwrap_err();
    assert_eq!(
        err,
        RoleError::Unavailable("echo: no echoes in the ring".into())
    );
    assert!(pool.check_quorum().is_err());
}

/// `strata_ring_members{ring,state}` follows health checks and members taken off by traffic.
#[tokio::test]
async fn member_counts_are_reported_by_health() {
    use prometheus_client::encoding::text::encode;
    use prometheus_client::registry::Registry;
    let (nodes, pool) = echoes(3, 1);
    let mut registry = Registry::default();
    pool.members()
        .report_to(crate::RingMetrics::new(&mut registry), "echo");
    let page = || {
        let mut s = String::new();
        encode(&mut s, &registry).unwrap();
        s
    };
    let line = |state: &str, n: usize| {
        format!("strata_ring_members{{ring=\"echo\",state=\"{state}\"}} {n}\n")
    };
    let text = page();
    assert!(text.contains(&line("healthy", 3)), "{text}");
    assert!(text.contains(&line("unhealthy", 0)), "{text}");

    nodes["echo-1"].down.store(true, Ordering::SeqCst);
    pool.members().check_now().await;
    let text = page();
    assert!(text.contains(&line("healthy", 2)), "{text}");
    assert!(text.contains(&line("unhealthy", 1)), "{text}");

    pool.members().mark_unhealthy("echo-2", "test");
    assert!(page().contains(&line("unhealthy", 2)));
    nodes["echo-1"].down.store(false, Ordering::SeqCst);
    pool.members().check_now().await;
    assert!(page().contains(&line("healthy", 3)));
}
