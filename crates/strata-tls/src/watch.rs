//! A value loaded from files and loaded again when they change (see the crate docs for the
//! policy). `get` is cheap between checks: a lock and an `Arc` clone.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use strata_common::SharedClock;

use crate::{metrics, TlsError, RELOAD_CHECK_INTERVAL};

type Loader<T> = Box<dyn Fn() -> Result<T, TlsError> + Send + Sync>;

/// What identifies a version of a file: modification time and length (`None`: unreadable).
type Stamp = Option<(SystemTime, u64)>;

pub(crate) struct Watched<T> {
    what: &'static str,
    files: Vec<PathBuf>,
    load: Loader<T>,
    clock: SharedClock,
    state: Mutex<State<T>>,
}

struct State<T> {
    current: Arc<T>,
    /// The files' stamps when last read (successfully or not).
    stamps: Vec<Stamp>,
    checked: SystemTime,
}

impl<T> std::fmt::Debug for Watched<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Watched")
            .field("what", &self.what)
            .field("files", &self.files)
            .finish_non_exhaustive()
    }
}

impl<T> Watched<T> {
    /// Loads now (an error is returned as is) and keeps `files` under watch.
    pub(crate) fn new(
        what: &'static str,
        files: Vec<PathBuf>,
        clock: SharedClock,
        load: impl Fn() -> Result<T, TlsError> + Send + Sync + 'static,
    ) -> Result<Self, TlsError> {
        let stamps = stamps(&files);
        let current = Arc::new(load()?);
        let checked = clock.now();
        Ok(Self {
            what,
            files,
            load: Box::new(load),
            clock,
            state: Mutex::new(State {
                current,
                stamps,
                checked,
            }),
        })
    }

    /// The current value, read again first if the check interval has passed and the files
    /// changed.
    pub(crate) fn get(&self) -> Arc<T> {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let now = self.clock.now();
        let due = now
            .duration_since(s.checked)
            .map_or(true, |d| d >= RELOAD_CHECK_INTERVAL);
        if due {
            s.checked = now;
            let stamps = stamps(&self.files);
            if stamps != s.stamps {
                s.stamps = stamps;
                match (self.load)() {
                    Ok(v) => {
                        s.current = Arc::new(v);
                        metrics::reloaded(true);
                        tracing::info!(files = ?self.files, "TLS {} reloaded", self.what);
                    }
                    Err(e) => {
                        metrics::reloaded(false);
                        tracing::warn!(error = %e, "TLS {} not reloaded; keeping the previous one", self.what);
                    }
                }
            }
        }
        s.current.clone()
    }
}

fn stamps(files: &[PathBuf]) -> Vec<Stamp> {
    files
        .iter()
        .map(|f| {
            let m = std::fs::metadata(f).ok()?;
            Some((m.modified().ok()?, m.len()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use strata_common::ManualClock;

    use super::*;

    fn number(path: PathBuf) -> impl Fn() -> Result<u32, TlsError> {
        move || {
            let text = std::fs::read_to_string(&path).map_err(|source| TlsError::Read {
                path: path.display().to_string(),
                source,
            })?;
            text.trim().parse().map_err(|_| TlsError::Invalid {
                path: path.display().to_string(),
                message: "not a number".into(),
            })
        }
    }

    #[test]
    fn reloads_changed_files_after_the_interval_and_keeps_the_old_value_on_failure() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("n");
        std::fs::write(&file, "1").unwrap();
        let clock = Arc::new(ManualClock::new(
            SystemTime::UNIX_EPOCH + Duration::from_secs(100),
        ));
        let w = Watched::new(
            "number",
            vec![file.clone()],
            clock.clone(),
            number(file.clone()),
        )
        .unwrap();
        assert_eq!(*w.get(), 1);

        std::fs::write(&file, "22").unwrap();
        assert_eq!(*w.get(), 1, "not checked again before the interval");
        clock.advance(RELOAD_CHECK_INTERVAL);
        assert_eq!(*w.get(), 22);

        let failures = metrics::reloads("failure");
        std::fs::write(&file, "not a number").unwrap();
        clock.advance(RELOAD_CHECK_INTERVAL);
        assert_eq!(*w.get(), 22, "a failed reload keeps the previous value");
        assert!(metrics::reloads("failure") > failures);

        std::fs::write(&file, "333").unwrap();
        clock.advance(RELOAD_CHECK_INTERVAL);
        assert_eq!(*w.get(), 333, "fixed files are read again");
    }

    #[test]
    fn a_missing_file_fails_at_start_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("absent");
        let clock = Arc::new(ManualClock::new(SystemTime::UNIX_EPOCH));
        let err = Watched::new("number", vec![file.clone()], clock, number(file.clone()))
            .unwrap_err()
            .to_string();
        assert!(err.contains(&file.display().to_string()), "{err}");
    }
}
