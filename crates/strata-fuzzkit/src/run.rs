//! The time-budgeted driver: batches of `proptest` cases with fresh seeds until the budget is
//! spent. A watchdog thread turns a batch that never ends (an input that makes the code under
//! test loop) into a failure naming the batch's seed: past [`batch_timeout`] it prints the seed
//! and aborts the process, since the stuck thread cannot be stopped.

use std::fmt::Debug;
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use proptest::strategy::Strategy;
use proptest::test_runner::{Config, RngSeed, TestCaseError, TestError, TestRunner};

/// Seconds per target when `FUZZ_SECONDS` is unset: the short run of `make test`.
pub const DEFAULT_SECONDS: f64 = 2.0;

/// Cases per batch: each batch has its own seed, and the budget is checked between batches.
const BATCH: u32 = 32;

/// The time each target runs: `FUZZ_SECONDS` (fractions allowed), else [`DEFAULT_SECONDS`].
///
/// # Panics
/// When `FUZZ_SECONDS` is set but is not a non-negative number.
pub fn budget() -> Duration {
    match std::env::var("FUZZ_SECONDS") {
        Ok(s) => {
            let secs: f64 = s
                .trim()
                .parse()
                .ok()
                .filter(|v: &f64| v.is_finite() && *v >= 0.0)
                .unwrap_or_else(|| panic!("FUZZ_SECONDS={s:?} is not a number of seconds"));
            Duration::from_secs_f64(secs)
        }
        Err(_) => Duration::from_secs_f64(DEFAULT_SECONDS),
    }
}

/// How long one batch of cases may run before the watchdog aborts: `FUZZ_BATCH_TIMEOUT`
/// seconds, else 300 (a batch takes about a second; shrinking a failure at most 60).
pub fn batch_timeout() -> Duration {
    std::env::var("FUZZ_BATCH_TIMEOUT")
        .ok()
        .and_then(|s| s.trim().parse::<f64>().ok())
        .filter(|v| v.is_finite() && *v > 0.0)
        .map_or(Duration::from_secs(300), Duration::from_secs_f64)
}

/// Watches the batches of fuzz target `name`: each message is the seed of a batch starting
/// now (`None`: the run is over). Prints the seed of a batch running past `limit` and aborts.
fn watchdog(name: String, limit: Duration) -> mpsc::Sender<Option<u64>> {
    let (tx, rx) = mpsc::channel::<Option<u64>>();
    std::thread::spawn(move || {
        let mut running: Option<(u64, Instant)> = None;
        loop {
            match rx.recv_timeout(Duration::from_millis(200)) {
                Ok(Some(seed)) => running = Some((seed, Instant::now())),
                Ok(None) | Err(mpsc::RecvTimeoutError::Disconnected) => return,
                Err(mpsc::RecvTimeoutError::Timeout) => {}
            }
            if let Some((seed, since)) = running {
                if since.elapsed() > limit {
                    eprintln!(
                        "fuzz target {name}: a batch is still running after {:.0}s (an input \
                         that never finishes?)\nreproduce: FUZZ_SEED={seed} cargo test {name}",
                        limit.as_secs_f64()
                    );
                    std::process::abort();
                }
            }
        }
    });
    tx
}

/// The seed of one batch: `FUZZ_SEED` when set (reproduces a reported failure), else the clock
/// mixed with the batch number.
fn seed(batch: u64) -> (u64, bool) {
    if let Some(seed) = std::env::var("FUZZ_SEED")
        .ok()
        .and_then(|s| s.trim().parse().ok())
    {
        return (seed, true);
    }
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    // splitmix64 of the clock and the batch, so batches started within one tick differ.
    let mut z = nanos ^ batch.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    (z ^ (z >> 31), false)
}

/// Runs the fuzz target `name`: values of `strategy` are passed to `check` for [`budget`]
/// (at least one batch). `check` fails the case by panicking or by returning an error (the
/// `prop_assert*` macros); the failing input is shrunk and the test panics with it and the
/// seed that reproduces it. Returns the number of cases run.
///
/// # Panics
/// On the first failing case, after shrinking.
pub fn fuzz<S>(
    name: &str,
    strategy: S,
    check: impl Fn(S::Value) -> Result<(), TestCaseError>,
) -> u64
where
    S: Strategy,
    S::Value: Debug,
{
    let budget = budget();
    let started = Instant::now();
    let mut cases = 0u64;
    let mut batch = 0u64;
    let watch = watchdog(name.to_string(), batch_timeout());
    loop {
        let (seed, fixed) = seed(batch);
        let _ = watch.send(Some(seed));
        let config = Config {
            cases: BATCH,
            failure_persistence: None,
            rng_seed: RngSeed::Fixed(seed),
            max_shrink_time: 60_000,
            ..Config::default()
        };
        let mut runner = TestRunner::new(config);
        match runner.run(&strategy, &check) {
            Ok(()) => cases += u64::from(BATCH),
            Err(TestError::Fail(reason, input)) => panic!(
                "fuzz target {name} failed: {reason}\nminimal input: {input:#?}\n\
                 reproduce: FUZZ_SEED={seed} cargo test {name}"
            ),
            Err(TestError::Abort(reason)) => panic!("fuzz target {name} aborted: {reason}"),
        }
        batch += 1;
        if fixed || started.elapsed() >= budget {
            break;
        }
    }
    let _ = watch.send(None);
    eprintln!(
        "fuzz target {name}: {cases} cases in {:.1}s",
        started.elapsed().as_secs_f64()
    );
    cases
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn runs_batches_and_counts_cases() {
        let n = fuzz("always_ok", any::<u8>(), |_| Ok(()));
        assert!(n >= u64::from(BATCH));
        assert_eq!(n % u64::from(BATCH), 0);
    }

    #[test]
    fn a_failing_case_panics_with_its_shrunk_input() {
        let result = std::panic::catch_unwind(|| {
            fuzz("finds_big", any::<u32>(), |v| {
                prop_assert!(v < 1000, "too big");
                Ok(())
            })
        });
        let err = result.expect_err("a failing target must panic");
        let msg = err.downcast_ref::<String>().cloned().unwrap_or_default();
        assert!(msg.contains("finds_big failed"), "{msg}");
        // Shrinking brings any failing u32 down to the boundary.
        assert!(msg.contains("minimal input: 1000"), "{msg}");
        assert!(msg.contains("FUZZ_SEED="), "{msg}");
    }

    /// Run by `a_batch_that_never_ends_aborts_naming_its_seed` in a child process: a target
    /// whose every case hangs. A no-op otherwise.
    #[test]
    fn hang_child() {
        if std::env::var("FUZZKIT_HANG_CHILD").is_err() {
            return;
        }
        fuzz("hangs", any::<u8>(), |_| loop {
            std::thread::sleep(Duration::from_secs(1));
        });
    }

    #[test]
    fn a_batch_that_never_ends_aborts_naming_its_seed() {
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .args(["run::tests::hang_child", "--exact", "--nocapture"])
            .env("FUZZKIT_HANG_CHILD", "1")
            .env("FUZZ_BATCH_TIMEOUT", "0.5")
            .env_remove("FUZZ_SEED")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{stderr}");
        assert!(
            stderr.contains("fuzz target hangs: a batch is still running"),
            "{stderr}"
        );
        assert!(stderr.contains("reproduce: FUZZ_SEED="), "{stderr}");
    }

    #[test]
    fn seeds_differ_between_batches() {
        if std::env::var("FUZZ_SEED").is_ok() {
            return;
        }
        assert_ne!(seed(0).0, seed(1).0);
    }
}
