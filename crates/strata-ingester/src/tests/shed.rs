//! Holding pushes for the admission rate ([`crate::shed`]). The manual clock never moves
//! here, so the bucket never refills: each held push waits out the debt ahead of it at the
//! admission rate, on the runtime's clock.

use std::sync::atomic::Ordering;

use strata_common::Clock;

use super::*;

/// An ingester whose admission rate is known and whose unflushed bytes sit in the band (40 of
/// 64 pushes' bytes: factor 1.25), with an empty bucket. The writers drained `drained` pushes'
/// bytes per second, so pushes are admitted at 1.25 times that. Returns one push's bytes.
fn in_band(fx: &Fixture, drained: u64, tweak: impl FnOnce(&mut IngesterConfig)) -> (Ingester, u64) {
    let one = push_for(1, 5).traces[0].payload.len() as u64;
    let (ing, _) = fx.start_with(|c| {
        c.max_unflushed_bytes = 64 * one;
        tweak(c)
    });
    ing.inner.admission.released(fx.clock.now(), 40 * one);
    fx.clock.advance(Duration::from_secs(4));
    ing.inner
        .admission
        .released(fx.clock.now(), 4 * drained * one);
    ing.inner.unflushed_bytes.store(40 * one, Ordering::SeqCst);
    (ing, one)
}

fn waiting(ing: &Ingester) -> u64 {
    ing.inner.waiting_bytes.load(Ordering::SeqCst)
}

/// Waits until `bytes` are held (a test that would otherwise hang fails after 10 s).
async fn until_held(ing: &Ingester, bytes: u64) {
    tokio::time::timeout(Duration::from_secs(10), async {
        while waiting(ing) < bytes {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    })
    .await
    .expect("the pushes are held");
}

#[tokio::test]
async fn pushes_in_debt_wait_their_turn_and_those_past_max_admission_wait_are_refused() {
    let fx = Fixture::new();
    // Admitted at 1.25 pushes per second; a wait of up to 2 s allowed.
    let (ing, one) = in_band(&fx, 1, |c| c.max_admission_wait = Duration::from_secs(2));
    // The bucket is empty, not in debt: the first push is in at once (held a moment).
    ing.push(push_for(7, 5)).await.unwrap();
    // One push's bytes more in debt: the second waits for two to be paid, 2/1.25 s.
    ing.inner.admission.charge(one);
    let started = std::time::Instant::now();
    let second = tokio::spawn({
        let ing = ing.clone();
        async move { ing.push(push_for(8, 5)).await }
    });
    until_held(&ing, one).await;
    // A third would wait 3/1.25 s: refused at once, not stored, counted.
    let third = ing.push(push_for(9, 5)).await;
    assert!(
        matches!(third, Err(RoleError::ResourceExhausted(_))),
        "{third:?}"
    );
    second.await.unwrap().expect("admitted after its wait");
    assert!(started.elapsed() >= Duration::from_millis(1500));
    assert_eq!(spans_of(&ing, 7).await, 5);
    assert_eq!(spans_of(&ing, 8).await, 5);
    assert_eq!(spans_of(&ing, 9).await, 0, "a refused push is not stored");
    assert_eq!(ing.inner.metrics.pushes_refused.get(), 1);
    assert_eq!(waiting(&ing), 0);
    assert_eq!(ing.inner.metrics.admission_waiting_bytes.get(), 0);
}

#[tokio::test]
async fn with_no_wait_allowed_a_push_in_debt_is_refused_at_once() {
    let fx = Fixture::new();
    let (ing, _) = in_band(&fx, 10, |c| c.max_admission_wait = Duration::ZERO);
    let refused = ing.push(push_for(7, 5)).await;
    assert!(
        matches!(refused, Err(RoleError::ResourceExhausted(_))),
        "{refused:?}"
    );
    assert_eq!(spans_of(&ing, 7).await, 0);
    // The early decision the distributor asks for refuses the same way.
    assert!(matches!(
        ing.admit(&TenantId::single(), 100).await,
        Err(RoleError::ResourceExhausted(_))
    ));
    assert_eq!(ing.inner.metrics.pushes_refused.get(), 2);
    assert_eq!(waiting(&ing), 0);
}

#[tokio::test]
async fn held_pushes_are_bounded_by_a_sixteenth_of_max_unflushed_bytes() {
    let fx = Fixture::new();
    // Admitted at 12.5 pushes per second, and 40 pushes' bytes in debt: the next pushes are
    // held for over 3 s. 64 pushes' bytes of bound: four may be held at once.
    let (ing, one) = in_band(&fx, 10, |c| c.max_admission_wait = Duration::from_secs(10));
    ing.inner.admission.charge(40 * one);
    let held: Vec<_> = (10..14)
        .map(|id| {
            let ing = ing.clone();
            tokio::spawn(async move { ing.push(push_for(id, 5)).await })
        })
        .collect();
    until_held(&ing, 4 * one).await;
    // A fifth is refused at once, while the four still wait.
    let fifth = ing.push(push_for(20, 5)).await;
    assert!(
        matches!(fifth, Err(RoleError::ResourceExhausted(_))),
        "{fifth:?}"
    );
    for h in held {
        h.await.unwrap().expect("admitted");
    }
    for id in 10..14 {
        assert_eq!(spans_of(&ing, id).await, 5, "trace {id}");
    }
    assert_eq!(spans_of(&ing, 20).await, 0);
    assert_eq!(ing.inner.metrics.pushes_refused.get(), 1);
    assert_eq!(waiting(&ing), 0);
}

#[tokio::test]
async fn at_the_bound_a_push_waits_for_the_writers_to_release_bytes() {
    let fx = Fixture::new();
    let (ing, one) = in_band(&fx, 10, |c| c.max_admission_wait = Duration::from_secs(10));
    ing.inner.unflushed_bytes.store(64 * one, Ordering::SeqCst);
    // Past the admission decision (as the distributor's early admission leaves it), at the
    // bound: held, not refused.
    let held = tokio::spawn({
        let ing = ing.clone();
        async move { ing.push_admitted(push_for(7, 5)).await }
    });
    until_held(&ing, one).await;
    // A block written: its bytes leave memory, and the held push goes in.
    ing.release(8 * one);
    held.await.unwrap().expect("admitted after the release");
    assert_eq!(spans_of(&ing, 7).await, 5);
    assert_eq!(waiting(&ing), 0);
    // Nothing released within the wait allowed: refused, counted, not stored.
    let fx2 = Fixture::new();
    let (short, _) = in_band(&fx2, 10, |c| {
        c.max_admission_wait = Duration::from_millis(20)
    });
    short
        .inner
        .unflushed_bytes
        .store(64 * one, Ordering::SeqCst);
    let refused = short.push_admitted(push_for(8, 5)).await;
    assert!(
        matches!(refused, Err(RoleError::ResourceExhausted(_))),
        "{refused:?}"
    );
    assert_eq!(spans_of(&short, 8).await, 0);
    assert_eq!(short.inner.metrics.pushes_refused.get(), 1);
    assert_eq!(waiting(&short), 0);
}
