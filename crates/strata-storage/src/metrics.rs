//! Per-operation object-store metrics: Prometheus series plus an in-process snapshot
//! ([`StoreStats`]) for tests and benchmarks.
//!
//! Series (all counted by [`crate::InstrumentedStore`]):
//!
//! * `strata_object_store_requests_total{operation,result}` — `result` is `ok`, `not_found`
//!   or `error`;
//! * `strata_object_store_request_duration_seconds{operation}` — until the response starts
//!   (for `get`/`get_range`, body streaming is not included; for `list`, until the listing
//!   is consumed or dropped);
//! * `strata_object_store_read_bytes_total`, `strata_object_store_written_bytes_total`.
//!
//! One count is one call of the `ObjectStore` API as Strata made it, which for remote stores
//! is one HTTP request, except `list` (one per page) and retries made inside the client
//! (not visible here).

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

/// The kind of an object-store call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Operation {
    /// Whole-object GET.
    Get,
    /// Ranged GET (also each request a `get_ranges` call makes after coalescing).
    GetRange,
    Head,
    Put,
    /// Starting a multipart upload.
    PutMultipart,
    /// Uploading one part.
    PutPart,
    CompleteMultipart,
    AbortMultipart,
    /// A recursive listing (all its pages).
    List,
    /// A one-level listing with common prefixes.
    ListDelimiter,
    Delete,
    Copy,
    Rename,
}

impl Operation {
    pub const ALL: [Operation; 13] = [
        Operation::Get,
        Operation::GetRange,
        Operation::Head,
        Operation::Put,
        Operation::PutMultipart,
        Operation::PutPart,
        Operation::CompleteMultipart,
        Operation::AbortMultipart,
        Operation::List,
        Operation::ListDelimiter,
        Operation::Delete,
        Operation::Copy,
        Operation::Rename,
    ];

    /// The `operation` label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Operation::Get => "get",
            Operation::GetRange => "get_range",
            Operation::Head => "head",
            Operation::Put => "put",
            Operation::PutMultipart => "put_multipart",
            Operation::PutPart => "put_part",
            Operation::CompleteMultipart => "complete_multipart",
            Operation::AbortMultipart => "abort_multipart",
            Operation::List => "list",
            Operation::ListDelimiter => "list_delimiter",
            Operation::Delete => "delete",
            Operation::Copy => "copy",
            Operation::Rename => "rename",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// How a call ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    Ok,
    NotFound,
    Error,
}

impl Outcome {
    pub fn of<T>(r: &object_store::Result<T>) -> Self {
        match r {
            Ok(_) => Outcome::Ok,
            Err(object_store::Error::NotFound { .. }) => Outcome::NotFound,
            Err(_) => Outcome::Error,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::NotFound => "not_found",
            Outcome::Error => "error",
        }
    }
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    operation: &'static str,
    result: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OperationLabel {
    operation: &'static str,
}

const N_OPS: usize = Operation::ALL.len();

#[derive(Debug, Default)]
struct Counts {
    requests: [AtomicU64; N_OPS],
    errors: [AtomicU64; N_OPS],
    not_found: [AtomicU64; N_OPS],
    bytes_read: AtomicU64,
    bytes_written: AtomicU64,
}

/// Object-store metrics. Cheap to clone (all clones update the same series).
#[derive(Debug, Clone)]
pub struct StoreMetrics {
    requests: Family<RequestLabels, Counter>,
    duration: Family<OperationLabel, Histogram>,
    read_bytes: Counter,
    written_bytes: Counter,
    counts: Arc<Counts>,
}

impl Default for StoreMetrics {
    fn default() -> Self {
        Self {
            requests: Family::default(),
            duration: Family::new_with_constructor(|| {
                // 1 ms .. ~65 s
                Histogram::new(exponential_buckets(0.001, 2.0, 17))
            }),
            read_bytes: Counter::default(),
            written_bytes: Counter::default(),
            counts: Arc::default(),
        }
    }
}

impl StoreMetrics {
    /// Creates the metrics and registers them in `registry`.
    pub fn new(registry: &mut Registry) -> Self {
        let m = Self::default();
        m.register(registry);
        m
    }

    /// Metrics that no registry exports (tests; [`crate::build_store`]).
    pub fn unregistered() -> Self {
        Self::default()
    }

    /// Registers the series in `registry` (once per registry).
    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "strata_object_store_requests",
            "Object-store calls by operation and result",
            self.requests.clone(),
        );
        registry.register(
            "strata_object_store_request_duration_seconds",
            "Object-store call latency by operation",
            self.duration.clone(),
        );
        registry.register(
            "strata_object_store_read_bytes",
            "Bytes returned by object-store reads",
            self.read_bytes.clone(),
        );
        registry.register(
            "strata_object_store_written_bytes",
            "Bytes sent by object-store writes",
            self.written_bytes.clone(),
        );
    }

    /// Records one finished call.
    pub(crate) fn record(&self, op: Operation, outcome: Outcome, elapsed: Duration) {
        self.requests
            .get_or_create(&RequestLabels {
                operation: op.as_str(),
                result: outcome.as_str(),
            })
            .inc();
        self.duration
            .get_or_create(&OperationLabel {
                operation: op.as_str(),
            })
            .observe(elapsed.as_secs_f64());
        let i = op.index();
        self.counts.requests[i].fetch_add(1, Ordering::Relaxed);
        match outcome {
            Outcome::Ok => {}
            Outcome::NotFound => {
                self.counts.not_found[i].fetch_add(1, Ordering::Relaxed);
            }
            Outcome::Error => {
                self.counts.errors[i].fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    pub(crate) fn add_read(&self, n: u64) {
        self.read_bytes.inc_by(n);
        self.counts.bytes_read.fetch_add(n, Ordering::Relaxed);
    }

    pub(crate) fn add_written(&self, n: u64) {
        self.written_bytes.inc_by(n);
        self.counts.bytes_written.fetch_add(n, Ordering::Relaxed);
    }

    /// The counts so far.
    pub fn snapshot(&self) -> StoreStats {
        let c = &self.counts;
        let load = |a: &[AtomicU64; N_OPS]| {
            let mut out = [0u64; N_OPS];
            for (o, a) in out.iter_mut().zip(a) {
                *o = a.load(Ordering::Relaxed);
            }
            out
        };
        StoreStats {
            requests: load(&c.requests),
            errors: load(&c.errors),
            not_found: load(&c.not_found),
            bytes_read: c.bytes_read.load(Ordering::Relaxed),
            bytes_written: c.bytes_written.load(Ordering::Relaxed),
        }
    }
}

/// A snapshot of an instrumented store's counts. Subtract two snapshots to count the calls
/// made in between.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StoreStats {
    requests: [u64; N_OPS],
    errors: [u64; N_OPS],
    not_found: [u64; N_OPS],
    pub bytes_read: u64,
    pub bytes_written: u64,
}

impl StoreStats {
    /// Calls of `op` (any outcome).
    pub fn requests(&self, op: Operation) -> u64 {
        self.requests[op.index()]
    }

    /// Calls of `op` that failed (not counting "not found").
    pub fn errors(&self, op: Operation) -> u64 {
        self.errors[op.index()]
    }

    /// Calls of `op` that found no object.
    pub fn not_found(&self, op: Operation) -> u64 {
        self.not_found[op.index()]
    }

    /// Calls of every kind.
    pub fn total_requests(&self) -> u64 {
        self.requests.iter().sum()
    }

    /// Read calls: `get` + `get_range` + `head`.
    pub fn reads(&self) -> u64 {
        [Operation::Get, Operation::GetRange, Operation::Head]
            .iter()
            .map(|op| self.requests(*op))
            .sum()
    }

    /// The counts accumulated since `earlier`.
    pub fn since(&self, earlier: &StoreStats) -> StoreStats {
        let sub = |a: &[u64; N_OPS], b: &[u64; N_OPS]| {
            let mut out = [0u64; N_OPS];
            for i in 0..N_OPS {
                out[i] = a[i].saturating_sub(b[i]);
            }
            out
        };
        StoreStats {
            requests: sub(&self.requests, &earlier.requests),
            errors: sub(&self.errors, &earlier.errors),
            not_found: sub(&self.not_found, &earlier.not_found),
            bytes_read: self.bytes_read.saturating_sub(earlier.bytes_read),
            bytes_written: self.bytes_written.saturating_sub(earlier.bytes_written),
        }
    }
}

impl fmt::Display for StoreStats {
    /// `get_range=3 head=1 (read 12345 B, written 0 B)`; operations with no calls omitted.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for op in Operation::ALL {
            let n = self.requests(op);
            if n == 0 {
                continue;
            }
            if !first {
                f.write_str(" ")?;
            }
            first = false;
            write!(f, "{}={n}", op.as_str())?;
            let e = self.errors(op);
            if e > 0 {
                write!(f, "(errors={e})")?;
            }
        }
        if first {
            f.write_str("none")?;
        }
        write!(
            f,
            " (read {} B, written {} B)",
            self.bytes_read, self.bytes_written
        )
    }
}
