use std::sync::{Arc, Mutex};

use super::*;

type Log = Arc<Mutex<Vec<&'static str>>>;

fn note(log: &Log, what: &'static str) {
    log.lock().unwrap().push(what);
}

/// A lifecycle with one server, one drain hook, two background loops and one late server, each
/// noting when it stops.
fn lifecycle(shutdown: CancellationToken, log: &Log) -> Lifecycle {
    let mut lc = Lifecycle::new("test", shutdown);
    let (l, t) = (log.clone(), lc.servers_token());
    lc.spawn_server("api", async move {
        t.cancelled().await;
        note(&l, "server drained");
        Ok::<(), String>(())
    });
    let l = log.clone();
    lc.on_drain(move || note(&l, "drain hook"));
    for what in ["flush loop flushed", "poller stopped"] {
        let l = log.clone();
        lc.spawn_background(move |t| async move {
            t.cancelled().await;
            note(&l, what);
        });
    }
    let (l, t) = (log.clone(), lc.late_token());
    lc.spawn_late_server("admin", async move {
        t.cancelled().await;
        note(&l, "late server stopped");
        Ok::<(), String>(())
    });
    lc
}

#[tokio::test]
async fn stops_in_order_ready_drain_flush_stop() {
    let log: Log = Arc::default();
    let shutdown = CancellationToken::new();
    let lc = lifecycle(shutdown.clone(), &log);
    let readiness = lc.readiness();
    assert!(!readiness.is_ready());
    let run = tokio::spawn(lc.run());
    crate::tests_support::wait_until(|| readiness.is_ready()).await;
    assert!(
        log.lock().unwrap().is_empty(),
        "nothing stops before shutdown"
    );
    shutdown.cancel();
    run.await.unwrap().unwrap();
    assert!(!readiness.is_ready());
    assert_eq!(
        *log.lock().unwrap(),
        vec![
            "drain hook",
            "server drained",
            "flush loop flushed",
            "poller stopped",
            "late server stopped"
        ]
    );
}

#[tokio::test]
async fn a_server_that_stops_on_its_own_is_an_error_and_everything_still_flushes() {
    let log: Log = Arc::default();
    let mut lc = lifecycle(CancellationToken::new(), &log);
    lc.spawn_server("receiver", async { Err::<(), _>("port closed") });
    let err = lc.run().await.unwrap_err();
    assert_eq!(err.to_string(), "receiver: port closed");
    let log = log.lock().unwrap();
    assert!(log.contains(&"flush loop flushed"), "{log:?}");
    assert_eq!(log.last(), Some(&"late server stopped"));
}
