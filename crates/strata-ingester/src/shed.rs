//! The backpressure decision of one push, before its WAL append: admit it, hold it until the
//! admission rate lets it in, or refuse it.
//!
//! [`crate::admission`] admits pushes at the block writers' drain rate once that rate is known;
//! a push that finds its bucket in debt is told when the refill will have paid the debt. If that
//! is within `ingester.max_admission_wait`, the push takes its place in the queue (its bytes
//! are charged to the bucket at once, so the next push waits behind it) and is **held** until
//! then, and admitted; otherwise it is refused. An OTLP exporter keeps a bounded number of
//! requests in flight, so holding them slows it to what the ingester sustains; refusing them
//! instead sends it away for the retry delay (5 s, and the SDKs and the Collector back off at
//! least that long), which under a saturating load left the ingester idle for seconds at a
//! time (docs/BENCHMARKS.md, "Held, not refused").
//!
//! Each push is charged to the bucket once, when it is decided (admitted at once or held),
//! with the bytes the caller announces (an OTLP body's length for the distributor's early
//! decision, the payload bytes otherwise).
//!
//! At the bound itself (`max_unflushed_bytes` held) a push is held too, until the block
//! writers release bytes, within the same wait ([`Ingester::wait_below_bound`]): a block
//! written releases an eighth of the bound at once, so the bound is reached in bursts, and
//! refusing every push that arrives meanwhile sent every client away at once (measured:
//! 5-second blackouts with clients honouring `RetryInfo`).
//!
//! Bounds and invariants:
//! - A push is held at most `max_admission_wait` in all (measured on the runtime's monotonic
//!   clock; the bucket itself runs on the injected clock). A push the distributor had admitted
//!   early is decided in two calls, so it may wait that long in each.
//! - The bytes of held pushes are bounded: a push that would take them past a sixteenth of
//!   `max_unflushed_bytes` is refused at once rather than held. Held pushes are already in
//!   memory (the request was received); holding them adds no copy.
//! - While no drain rate is known (none measured yet and `assumed_drain_bytes_per_second` 0),
//!   [`crate::backpressure`]'s proportional law decides at once, without holding.
//! - A held push whose request is dropped (the client went away) gives its held bytes back at
//!   once (a guard, `Held`); its charge stays with the bucket, as for any push decided.
//! - A refusal is counted (`strata_ingester_pushes_refused_total`) and happens before the WAL
//!   append, so a refused push is never written anywhere.

use std::sync::atomic::Ordering;

use strata_proto::roles::RoleError;

use crate::{admission, backpressure, Ingester, Inner};

/// Share of `max_unflushed_bytes` that held pushes may carry at once (1/16).
const WAITING_SHARE: u64 = 16;

/// One held push's bytes, counted in `Inner::waiting_bytes` (and its gauge) from
/// [`Held::reserve`] until the guard is dropped, whether the push was admitted, refused or
/// abandoned by its client.
struct Held<'a> {
    inner: &'a Inner,
    bytes: u64,
    since: tokio::time::Instant,
}

impl<'a> Held<'a> {
    /// Counts `bytes` as held, unless that would take the held bytes past their bound.
    fn reserve(inner: &'a Inner, bytes: u64) -> Option<Self> {
        let cap = inner.cfg.max_unflushed_bytes / WAITING_SHARE;
        inner
            .waiting_bytes
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |w| {
                (w + bytes <= cap).then_some(w + bytes)
            })
            .ok()?;
        let held = Self {
            inner,
            bytes,
            since: tokio::time::Instant::now(),
        };
        held.show();
        Some(held)
    }

    /// The push goes in: its wait is recorded.
    fn admitted(self) {
        self.inner
            .metrics
            .admission_wait_seconds
            .observe(self.since.elapsed().as_secs_f64());
    }

    fn show(&self) {
        let waiting = self.inner.waiting_bytes.load(Ordering::SeqCst);
        self.inner
            .metrics
            .admission_waiting_bytes
            .set(waiting as i64);
    }
}

impl Drop for Held<'_> {
    fn drop(&mut self) {
        self.inner
            .waiting_bytes
            .fetch_sub(self.bytes, Ordering::SeqCst);
        self.show();
    }
}

impl Ingester {
    /// The backpressure decision for a push of about `bytes` (module docs): `Ok` once it is
    /// admitted, `Err` (counted) when it is refused.
    pub(crate) async fn shed(&self, bytes: u64) -> Result<(), RoleError> {
        self.hold_until_admitted(bytes, tokio::time::Instant::now())
            .await
            .map_err(|refusal| self.refused(refusal))
    }

    /// The bound itself, for a push past the admission decision: while `max_unflushed_bytes`
    /// are held, the push waits for the block writers to release some, within what is left of
    /// `max_admission_wait` counted from `started` and the held-bytes bound; then it is
    /// refused (counted).
    pub(crate) async fn wait_below_bound(
        &self,
        bytes: u64,
        started: tokio::time::Instant,
    ) -> Result<(), RoleError> {
        let inner = &self.inner;
        let limit = inner.cfg.max_unflushed_bytes;
        let mut held: Option<Held<'_>> = None;
        loop {
            let released = inner.released.notified();
            tokio::pin!(released);
            // Registered before the check, so a release between the two is not missed.
            released.as_mut().enable();
            let pending = inner.unflushed_bytes.load(Ordering::Relaxed);
            if pending < limit {
                if let Some(held) = held {
                    held.admitted();
                }
                return Ok(());
            }
            let left = inner
                .cfg
                .max_admission_wait
                .saturating_sub(started.elapsed());
            if held.is_none() && !left.is_zero() {
                held = Held::reserve(inner, bytes);
            }
            if left.is_zero() || held.is_none() {
                return Err(self.refused(format!(
                    "ingester has {pending} bytes not yet written to blocks (limit {limit}); retry later"
                )));
            }
            let _ = tokio::time::timeout(left, released).await;
        }
    }

    /// Counts a refusal.
    fn refused(&self, refusal: String) -> RoleError {
        self.inner.metrics.pushes_refused.inc();
        RoleError::ResourceExhausted(refusal)
    }

    /// Asks [`crate::admission`] once. Admitted, the push's `bytes` are charged to the bucket
    /// at once; in debt, the push reserves its place (its bytes charged now, so pushes after it
    /// wait behind it) and is held until the debt ahead of it is paid, if that is within the
    /// wait allowed and the held-bytes bound. `Err`: why it is refused.
    async fn hold_until_admitted(
        &self,
        bytes: u64,
        started: tokio::time::Instant,
    ) -> Result<(), String> {
        let inner = &self.inner;
        let limit = inner.cfg.max_unflushed_bytes;
        let pending = inner.unflushed_bytes.load(Ordering::Relaxed);
        let (rate, refilled_in) = match inner.admission.decide(inner.clock.now(), pending, limit) {
            admission::Verdict::Admit => {
                inner.admission.charge(bytes);
                return Ok(());
            }
            admission::Verdict::InDebt { rate, refilled_in } => (rate, refilled_in),
            admission::Verdict::Unknown => {
                let permille = backpressure::refuse_permille(pending, limit);
                if !inner.shedder.refuse(permille) {
                    return Ok(());
                }
                return Err(format!(
                    "ingester has {pending} bytes not yet written to blocks (limit {limit}, {:.1} % of pushes refused); retry later",
                    permille as f64 / 10.0
                ));
            }
        };
        let left = inner
            .cfg
            .max_admission_wait
            .saturating_sub(started.elapsed());
        let held = refilled_in
            .filter(|w| *w <= left)
            .and_then(|wait| Some((wait, Held::reserve(inner, bytes)?)));
        let Some((wait, held)) = held else {
            return Err(format!(
                "ingester is admitting {:.1} MiB/s, the rate its block writers drain, with {pending} bytes not yet written to blocks (limit {limit}); retry later",
                rate / f64::from(1u32 << 20)
            ));
        };
        inner.admission.charge(bytes);
        tokio::time::sleep(wait).await;
        held.admitted();
        Ok(())
    }
}
