//! The thread compaction jobs run on: off the async runtime, at a lower CPU priority.
//!
//! A job reads, merges and re-encodes whole blocks: seconds of CPU work with few await points.
//! Run as a task, it held one of the runtime's worker threads for that long, and in `strata run`
//! (one runtime for every role) that was a worker the push and query paths needed: on two cores,
//! half of them. Here jobs run one at a time on one long-lived thread, `compactor-jobs`, which
//! polls each job's future with [`Handle::block_on`]: the future's own CPU work stays on this
//! thread while its I/O (object store requests, timers, blocking file calls) is still driven by
//! the runtime that owns the handle.
//!
//! The thread's niceness is raised by `nice` (`compactor.job_nice`; on Linux the nice value is
//! per thread) when it starts, so under saturation the scheduler gives the serving threads the
//! CPU first and compaction catches up when the load falls; compaction never stops (a niced
//! thread still gets a share), and `strata_compactor_outstanding_blocks` shows any backlog. A
//! niceness the system refuses is logged and the thread runs at the process's priority.
//!
//! Invariants: one job at a time per [`JobThread`] (so one job's buffers and one allocator
//! arena, as before); a job whose caller went away (a cycle abandoned at shutdown) is dropped at
//! its next await point; the thread ends when the last [`JobThread`] handle is dropped.

use std::future::Future;
use std::pin::Pin;
use std::sync::mpsc;

use parking_lot::Mutex;
use tokio::runtime::Handle;
use tokio::sync::oneshot;

/// A job: a future polled to completion on the job thread.
type Work = Pin<Box<dyn Future<Output = ()> + Send>>;

/// Errors of [`JobThread::run`].
#[derive(Debug, thiserror::Error)]
pub enum JobThreadError {
    #[error("the compaction job thread could not be started: {0}")]
    Spawn(std::io::Error),
    #[error("the compaction job thread stopped before the job finished")]
    Stopped,
}

/// One lazily started job thread; see the module docs.
pub struct JobThread {
    nice: i32,
    /// The thread's queue, once started.
    queue: Mutex<Option<mpsc::Sender<(Handle, Work)>>>,
}

impl JobThread {
    /// A job thread whose niceness will be raised by `nice` (0: the process's priority).
    pub fn new(nice: i32) -> Self {
        Self {
            nice,
            queue: Mutex::new(None),
        }
    }

    /// Runs `job` on the job thread and waits for its result. Must be called within a tokio
    /// runtime, which drives the job's I/O.
    pub async fn run<T, F>(&self, job: F) -> Result<T, JobThreadError>
    where
        F: Future<Output = T> + Send + 'static,
        T: Send + 'static,
    {
        let (tx, rx) = oneshot::channel();
        let work: Work = Box::pin(async move {
            let mut tx = tx;
            tokio::select! {
                out = job => { let _ = tx.send(out); }
                // The caller went away: stop at the job's next await point.
                () = tx.closed() => {}
            }
        });
        self.queue()?
            .send((Handle::current(), work))
            .map_err(|_| JobThreadError::Stopped)?;
        rx.await.map_err(|_| JobThreadError::Stopped)
    }

    fn queue(&self) -> Result<mpsc::Sender<(Handle, Work)>, JobThreadError> {
        let mut queue = self.queue.lock();
        if let Some(q) = queue.as_ref() {
            return Ok(q.clone());
        }
        let (tx, rx) = mpsc::channel::<(Handle, Work)>();
        let nice = self.nice;
        std::thread::Builder::new()
            .name("compactor-jobs".into())
            .spawn(move || {
                lower_priority(nice);
                while let Ok((handle, work)) = rx.recv() {
                    // A panicking job fails that job only (its caller sees the dropped
                    // answer); the thread keeps serving.
                    let run = std::panic::AssertUnwindSafe(|| handle.block_on(work));
                    let _ = std::panic::catch_unwind(run);
                }
            })
            .map_err(JobThreadError::Spawn)?;
        *queue = Some(tx.clone());
        Ok(tx)
    }
}

/// Raises the calling thread's niceness by `nice` (Linux: `setpriority(PRIO_PROCESS, 0)` acts
/// on the calling thread only).
fn lower_priority(nice: i32) {
    if nice <= 0 {
        return;
    }
    let current = rustix::process::getpriority_process(None).unwrap_or(0);
    let target = (current + nice).min(19);
    if let Err(e) = rustix::process::setpriority_process(None, target) {
        tracing::warn!(error = %e, nice = target,
            "could not lower the compaction thread's priority; it runs at the process's");
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    use super::*;

    /// The calling thread's nice value (field 19 of its `stat`).
    fn nice_of_this_thread() -> i32 {
        let stat = std::fs::read_to_string("/proc/thread-self/stat").unwrap();
        // The name (field 2) may hold spaces; fields after it follow the last ')'.
        let rest = &stat[stat.rfind(')').unwrap() + 2..];
        rest.split(' ').nth(16).unwrap().parse().unwrap()
    }

    #[test]
    fn jobs_run_on_their_own_nicer_thread_while_the_runtime_keeps_serving() {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let base = nice_of_this_thread();
        rt.block_on(async {
            let ticks = Arc::new(AtomicU64::new(0));
            let t = ticks.clone();
            let ticker = tokio::spawn(async move {
                loop {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                    t.fetch_add(1, Ordering::Relaxed);
                }
            });
            let jobs = JobThread::new(3);
            let t = ticks.clone();
            let (name, nice, ticked) = jobs
                .run(async move {
                    // The runtime drives the job's timers and blocking calls.
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    tokio::task::spawn_blocking(|| ()).await.unwrap();
                    // CPU work with no await: the runtime's only worker keeps serving.
                    let before = t.load(Ordering::Relaxed);
                    let spin = Instant::now();
                    while spin.elapsed() < Duration::from_millis(300) {
                        std::hint::spin_loop();
                    }
                    let name = std::thread::current().name().map(str::to_owned);
                    (
                        name,
                        nice_of_this_thread(),
                        t.load(Ordering::Relaxed) - before,
                    )
                })
                .await
                .unwrap();
            ticker.abort();
            assert_eq!(name.as_deref(), Some("compactor-jobs"));
            assert_eq!(nice, (base + 3).min(19));
            assert!(ticked > 0, "the runtime's worker was blocked by the job");
        });
    }

    #[tokio::test]
    async fn on_a_current_thread_runtime_the_waiting_caller_drives_the_job() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let jobs = JobThread::new(0);
        let p = path.clone();
        let n = jobs
            .run(async move {
                tokio::time::sleep(Duration::from_millis(5)).await;
                tokio::fs::write(&p, b"abc").await.unwrap();
                tokio::fs::read(&p).await.unwrap().len()
            })
            .await
            .unwrap();
        assert_eq!(n, 3);
    }

    #[tokio::test]
    async fn an_abandoned_or_panicking_job_does_not_stop_the_next() {
        let jobs = JobThread::new(0);
        // Abandoned: the caller stops waiting; the job never finishes on its own.
        let stuck = jobs.run(std::future::pending::<()>());
        assert!(tokio::time::timeout(Duration::from_millis(50), stuck)
            .await
            .is_err());
        // Panicking: its caller gets an error.
        let panicked = jobs.run(async { panic!("job failed") }).await;
        assert!(
            matches!(panicked, Err(JobThreadError::Stopped)),
            "{panicked:?}"
        );
        // The thread still serves.
        let next = tokio::time::timeout(Duration::from_secs(10), jobs.run(async { 7 }))
            .await
            .expect("the job thread is stuck");
        assert_eq!(next.unwrap(), 7);
    }
}
