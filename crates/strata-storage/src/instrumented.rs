//! [`InstrumentedStore`]: an [`ObjectStore`] that delegates every call to an inner store and
//! counts it in [`StoreMetrics`].
//!
//! Invariants: every call is counted exactly once under one [`Operation`], when it finishes
//! (a listing when its stream ends or is dropped; a multipart upload per part, plus its
//! start and completion or abort). `get_ranges` is split here, not in the inner store, so
//! each coalesced ranged request it makes is counted as one `get_range`.
//!
//! For tests and benchmarks, [`with_latency`](InstrumentedStore::with_latency) delays every
//! timed call (gets, heads, puts, copies, delimited listings) as a remote store's round trip
//! would, and [`peak_in_flight`](InstrumentedStore::peak_in_flight) tells how many of them were
//! ever under way at once.

use std::fmt;
use std::ops::Range;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use bytes::Bytes;
use futures::stream::BoxStream;
use futures::{FutureExt, Stream, StreamExt};
use object_store::path::Path;
use object_store::{
    coalesce_ranges, CopyOptions, GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta,
    ObjectStore, ObjectStoreExt, PutMultipartOptions, PutOptions, PutPayload, PutResult,
    RenameOptions, Result, UploadPart, OBJECT_STORE_COALESCE_DEFAULT,
};

use crate::metrics::{Operation, Outcome, StoreMetrics, StoreStats};

/// Counts and times every call made through it. See the module docs.
#[derive(Debug, Clone)]
pub struct InstrumentedStore {
    inner: Arc<dyn ObjectStore>,
    metrics: StoreMetrics,
    latency: Duration,
    /// (calls under way now, most ever under way at once)
    in_flight: Arc<(AtomicUsize, AtomicUsize)>,
}

impl InstrumentedStore {
    pub fn new(inner: Arc<dyn ObjectStore>, metrics: StoreMetrics) -> Self {
        Self {
            inner,
            metrics,
            latency: Duration::ZERO,
            in_flight: Arc::default(),
        }
    }

    /// Delays every timed call by `latency` (see the module docs). Tests and benchmarks only.
    pub fn with_latency(mut self, latency: Duration) -> Self {
        self.latency = latency;
        self
    }

    /// The most timed calls ever under way at once through this store (and its clones).
    pub fn peak_in_flight(&self) -> usize {
        self.in_flight.1.load(Ordering::Relaxed)
    }

    pub fn metrics(&self) -> &StoreMetrics {
        &self.metrics
    }

    /// The counts so far (shared by every store built with the same [`StoreMetrics`]).
    pub fn stats(&self) -> StoreStats {
        self.metrics.snapshot()
    }

    pub fn inner(&self) -> &Arc<dyn ObjectStore> {
        &self.inner
    }

    async fn timed<T, F>(&self, op: Operation, f: F) -> Result<T>
    where
        F: std::future::Future<Output = Result<T>>,
    {
        let start = Instant::now();
        let now = self.in_flight.0.fetch_add(1, Ordering::Relaxed) + 1;
        self.in_flight.1.fetch_max(now, Ordering::Relaxed);
        if !self.latency.is_zero() {
            tokio::time::sleep(self.latency).await;
        }
        let r = f.await;
        self.in_flight.0.fetch_sub(1, Ordering::Relaxed);
        self.metrics.record(op, Outcome::of(&r), start.elapsed());
        r
    }
}

impl fmt::Display for InstrumentedStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Instrumented({})", self.inner)
    }
}

#[async_trait]
impl ObjectStore for InstrumentedStore {
    async fn put_opts(
        &self,
        location: &Path,
        payload: PutPayload,
        opts: PutOptions,
    ) -> Result<PutResult> {
        let len = payload.content_length() as u64;
        let r = self
            .timed(Operation::Put, self.inner.put_opts(location, payload, opts))
            .await;
        if r.is_ok() {
            self.metrics.add_written(len);
        }
        r
    }

    async fn put_multipart_opts(
        &self,
        location: &Path,
        opts: PutMultipartOptions,
    ) -> Result<Box<dyn MultipartUpload>> {
        let upload = self
            .timed(
                Operation::PutMultipart,
                self.inner.put_multipart_opts(location, opts),
            )
            .await?;
        Ok(Box::new(InstrumentedUpload {
            inner: upload,
            metrics: self.metrics.clone(),
        }))
    }

    async fn get_opts(&self, location: &Path, options: GetOptions) -> Result<GetResult> {
        let op = if options.head {
            Operation::Head
        } else if options.range.is_some() {
            Operation::GetRange
        } else {
            Operation::Get
        };
        let r = self.timed(op, self.inner.get_opts(location, options)).await;
        if let (Ok(res), false) = (&r, op == Operation::Head) {
            self.metrics.add_read(res.range.end - res.range.start);
        }
        r
    }

    async fn get_ranges(&self, location: &Path, ranges: &[Range<u64>]) -> Result<Vec<Bytes>> {
        coalesce_ranges(
            ranges,
            |range| self.get_range(location, range),
            OBJECT_STORE_COALESCE_DEFAULT,
        )
        .await
    }

    fn delete_stream(
        &self,
        locations: BoxStream<'static, Result<Path>>,
    ) -> BoxStream<'static, Result<Path>> {
        let metrics = self.metrics.clone();
        let mut last = Instant::now();
        self.inner
            .delete_stream(locations)
            .map(move |r| {
                let now = Instant::now();
                metrics.record(Operation::Delete, Outcome::of(&r), now - last);
                last = now;
                r
            })
            .boxed()
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, Result<ObjectMeta>> {
        InstrumentedList::new(self.inner.list(prefix), self.metrics.clone()).boxed()
    }

    fn list_with_offset(
        &self,
        prefix: Option<&Path>,
        offset: &Path,
    ) -> BoxStream<'static, Result<ObjectMeta>> {
        InstrumentedList::new(
            self.inner.list_with_offset(prefix, offset),
            self.metrics.clone(),
        )
        .boxed()
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> Result<ListResult> {
        self.timed(
            Operation::ListDelimiter,
            self.inner.list_with_delimiter(prefix),
        )
        .await
    }

    async fn copy_opts(&self, from: &Path, to: &Path, options: CopyOptions) -> Result<()> {
        self.timed(Operation::Copy, self.inner.copy_opts(from, to, options))
            .await
    }

    async fn rename_opts(&self, from: &Path, to: &Path, options: RenameOptions) -> Result<()> {
        self.timed(Operation::Rename, self.inner.rename_opts(from, to, options))
            .await
    }
}

/// Counts the parts, completion and abort of one multipart upload.
#[derive(Debug)]
struct InstrumentedUpload {
    inner: Box<dyn MultipartUpload>,
    metrics: StoreMetrics,
}

#[async_trait]
impl MultipartUpload for InstrumentedUpload {
    fn put_part(&mut self, data: PutPayload) -> UploadPart {
        let len = data.content_length() as u64;
        let metrics = self.metrics.clone();
        let part = self.inner.put_part(data);
        async move {
            let start = Instant::now();
            let r = part.await;
            metrics.record(Operation::PutPart, Outcome::of(&r), start.elapsed());
            if r.is_ok() {
                metrics.add_written(len);
            }
            r
        }
        .boxed()
    }

    async fn complete(&mut self) -> Result<PutResult> {
        let start = Instant::now();
        let r = self.inner.complete().await;
        self.metrics.record(
            Operation::CompleteMultipart,
            Outcome::of(&r),
            start.elapsed(),
        );
        r
    }

    async fn abort(&mut self) -> Result<()> {
        let start = Instant::now();
        let r = self.inner.abort().await;
        self.metrics
            .record(Operation::AbortMultipart, Outcome::of(&r), start.elapsed());
        r
    }
}

/// A listing, counted once when it ends (first error, end of stream, or drop).
struct InstrumentedList {
    inner: BoxStream<'static, Result<ObjectMeta>>,
    metrics: StoreMetrics,
    start: Instant,
    done: bool,
}

impl InstrumentedList {
    fn new(inner: BoxStream<'static, Result<ObjectMeta>>, metrics: StoreMetrics) -> Self {
        Self {
            inner,
            metrics,
            start: Instant::now(),
            done: false,
        }
    }

    fn finish(&mut self, outcome: Outcome) {
        if !self.done {
            self.done = true;
            self.metrics
                .record(Operation::List, outcome, self.start.elapsed());
        }
    }
}

impl Stream for InstrumentedList {
    type Item = Result<ObjectMeta>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        let polled = this.inner.poll_next_unpin(cx);
        match &polled {
            Poll::Ready(None) => this.finish(Outcome::Ok),
            Poll::Ready(Some(Err(e))) => {
                let outcome = match e {
                    object_store::Error::NotFound { .. } => Outcome::NotFound,
                    _ => Outcome::Error,
                };
                this.finish(outcome);
            }
            _ => {}
        }
        polled
    }
}

impl Drop for InstrumentedList {
    fn drop(&mut self) {
        self.finish(Outcome::Ok);
    }
}
