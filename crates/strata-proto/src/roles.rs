//! How roles talk to each other. Each role depends only on these traits, never on another role:
//! the all-in-one binary passes the ingester itself as the implementation; distributed mode will
//! pass a gRPC client.

use async_trait::async_trait;
use bytes::Bytes;
use strata_common::{TenantId, TraceId};

use crate::status::{ApiError, ErrorKind};
use crate::tempopb;

/// One trace's share of a push: the spans of a single trace ID, as a prost-encoded
/// [`crate::tempopb::Trace`]. The distributor encodes it once; the ingester stores these bytes
/// in its WAL and live set without re-encoding.
#[derive(Debug, Clone, PartialEq)]
pub struct TracePush {
    pub trace_id: TraceId,
    pub span_count: u32,
    /// Earliest span start and latest span end in this share, unix nanoseconds.
    pub start_unix_nano: u64,
    pub end_unix_nano: u64,
    pub payload: Bytes,
    /// A replica copy, not counted by TraceQL metrics (see `TracePush.replica` in
    /// `proto/strata/ingester/v1/ingester.proto`). The replicated pusher sets it on all but one
    /// copy of each share; everything else leaves it `false`.
    pub replica: bool,
}

/// One trace's spans from one request, validated and grouped (each span under a copy of its
/// own resource and scope), not yet encoded: what the distributor's pipeline stages after
/// validation see. [`TraceSpans::encode`] makes the [`TracePush`] an ingester stores.
#[derive(Debug, Clone, PartialEq)]
pub struct TraceSpans {
    pub trace_id: TraceId,
    pub span_count: u32,
    /// Earliest span start and latest span end, unix nanoseconds.
    pub start_unix_nano: u64,
    pub end_unix_nano: u64,
    pub trace: tempopb::Trace,
}

impl TraceSpans {
    /// The share as an ingester stores it (the trace prost-encoded once).
    pub fn encode(&self) -> TracePush {
        use prost::Message;
        TracePush {
            trace_id: self.trace_id,
            span_count: self.span_count,
            start_unix_nano: self.start_unix_nano,
            end_unix_nano: self.end_unix_nano,
            payload: Bytes::from(self.trace.encode_to_vec()),
            replica: false,
        }
    }
}

/// A push from a distributor to an ingester: spans of one tenant regrouped by trace.
#[derive(Debug, Clone, PartialEq)]
pub struct PushRequest {
    pub tenant: TenantId,
    pub traces: Vec<TracePush>,
}

/// What an ingester knows of a trace: every stored share, still encoded.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TraceFragments {
    pub payloads: Vec<Bytes>,
    /// Bytes the ingester read to answer (memory and its recent blocks).
    pub inspected_bytes: u64,
}

/// Errors crossing a role boundary, with the transport code each maps to.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum RoleError {
    #[error("{0}")]
    InvalidArgument(String),
    #[error("{0}")]
    ResourceExhausted(String),
    #[error("{0}")]
    Unavailable(String),
    #[error("{0}")]
    Internal(String),
}

impl RoleError {
    /// What went wrong; codes and statuses come from [`crate::status`].
    pub fn kind(&self) -> ErrorKind {
        match self {
            RoleError::InvalidArgument(_) => ErrorKind::InvalidArgument,
            RoleError::ResourceExhausted(_) => ErrorKind::ResourceExhausted,
            RoleError::Unavailable(_) => ErrorKind::Unavailable,
            RoleError::Internal(_) => ErrorKind::Internal,
        }
    }

    pub fn grpc_code(&self) -> tonic::Code {
        self.kind().grpc_code()
    }

    /// The gRPC status (with `RetryInfo` for `ResourceExhausted`, see [`crate::status`]).
    pub fn to_status(&self) -> tonic::Status {
        ApiError::from(self.clone()).to_grpc_status()
    }
}

/// Why an ingester refused one trace of a push (Tempo's `PushErrorReason`). The other traces of
/// the same push are unaffected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PushErrorReason {
    NoError,
    /// The tenant already has `max_traces_per_user` live traces and this one is new.
    MaxLiveTraces,
    /// The trace would grow past `max_bytes_per_trace`.
    TraceTooLarge,
    UnknownError,
}

impl PushErrorReason {
    /// The `reason` label of discarded-span counters.
    pub fn label(self) -> &'static str {
        match self {
            PushErrorReason::NoError => "none",
            PushErrorReason::MaxLiveTraces => "live_traces_exceeded",
            PushErrorReason::TraceTooLarge => "trace_too_large",
            PushErrorReason::UnknownError => "unknown_error",
        }
    }
}

/// An ingester's answer to a push.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PushResponse {
    /// Empty when every trace was stored; otherwise one entry per trace of the request, in
    /// request order. Refused traces were not written anywhere.
    pub errors_by_trace: Vec<PushErrorReason>,
}

impl PushResponse {
    /// The reason for trace `i` of the request.
    pub fn reason(&self, i: usize) -> PushErrorReason {
        self.errors_by_trace
            .get(i)
            .copied()
            .unwrap_or(PushErrorReason::NoError)
    }
}

/// Distributor → ingester: make these traces durable, then acknowledge.
#[async_trait]
pub trait IngesterPusher: Send + Sync {
    /// Returns only once every trace in the request that is not refused in the response is in
    /// the ingester's WAL (fsynced when the ingester is configured to). An `Err` means nothing
    /// can be assumed stored; the caller retries elsewhere or fails the request.
    async fn push(&self, req: PushRequest) -> Result<PushResponse, RoleError>;

    /// Backpressure decided before the caller does the work of preparing a push of `tenant`
    /// of about `bytes` (validating, grouping, encoding): `Err` (`ResourceExhausted`) refuses
    /// the request now; `Ok(true)` admits it, and the caller then pushes with
    /// [`IngesterPusher::push_admitted`], which does not decide again; `Ok(false)` (the
    /// default, e.g. over the network) leaves the decision to [`IngesterPusher::push`]. It may
    /// take a while: an ingester holds a push until its admission rate lets it in.
    async fn admit(&self, _tenant: &TenantId, _bytes: u64) -> Result<bool, RoleError> {
        Ok(false)
    }

    /// [`IngesterPusher::push`] of a request [`IngesterPusher::admit`] admitted: only hard
    /// bounds may still refuse it.
    async fn push_admitted(&self, req: PushRequest) -> Result<PushResponse, RoleError> {
        self.push(req).await
    }
}

/// Distributor → trace-derived metrics (the metrics-generator): every span the distributor
/// accepted, before sampling. A hand-off never fails or delays the client's push: an `Err` is
/// counted by the distributor and the push goes on.
#[async_trait]
pub trait SpanConsumer: Send + Sync {
    async fn consume(&self, tenant: &TenantId, traces: &[TraceSpans]) -> Result<(), RoleError>;

    /// Whether [`Self::consume`] would do anything with `tenant`'s spans now. `false` lets the
    /// distributor skip decoding a request it can store without (its fast path); the default is
    /// the safe answer.
    fn wants_spans(&self, _tenant: &TenantId) -> bool {
        true
    }
}

/// Distributor → one metrics-generator process (over gRPC in distributed mode): the spans of
/// the traces the generator owns on its ring, as an ingester push carries them.
#[async_trait]
pub trait GeneratorConn: Send + Sync {
    /// Runs the tenant's processors on the spans; nothing is stored durably.
    async fn push_spans(&self, req: PushRequest) -> Result<(), RoleError>;
    /// `Ok` when the generator takes pushes.
    async fn ready(&self) -> Result<(), RoleError>;
}

/// Whether an ingester can take pushes and queries now (WAL replayed, not shutting down).
#[async_trait]
pub trait IngesterHealth: Send + Sync {
    async fn ready(&self) -> Result<(), RoleError>;
}

/// Everything a distributor or querier does with one ingester: the in-process ingester and the
/// gRPC client both implement it.
pub trait IngesterConn: IngesterPusher + IngesterQuerier + IngesterHealth {}

impl<T: IngesterPusher + IngesterQuerier + IngesterHealth> IngesterConn for T {}

/// Querier → ingester: recent data that may not be in the object store yet.
#[async_trait]
pub trait IngesterQuerier: Send + Sync {
    async fn find_trace_by_id(
        &self,
        tenant: &TenantId,
        trace_id: &TraceId,
    ) -> Result<TraceFragments, RoleError>;

    /// Searches recent data (live traces, the head block, blocks being written and blocks
    /// recently flushed). Answers at most `req.limit` traces, newest first.
    async fn search(
        &self,
        tenant: &TenantId,
        req: &tempopb::SearchRequest,
    ) -> Result<tempopb::SearchResponse, RoleError>;

    /// Tag names in recent data, per scope.
    async fn search_tags(
        &self,
        tenant: &TenantId,
        req: &tempopb::SearchTagsRequest,
    ) -> Result<tempopb::SearchTagsV2Response, RoleError>;

    /// Values of one tag in recent data.
    async fn search_tag_values(
        &self,
        tenant: &TenantId,
        req: &tempopb::SearchTagValuesRequest,
    ) -> Result<tempopb::SearchTagValuesV2Response, RoleError>;

    /// A TraceQL metrics query over recent data, skipping the blocks in
    /// `req.exclude_blocks`: partial series (`strata_engine::metrics::MetricsAccumulator`'s
    /// wire form) for the caller to merge. Sources that cannot answer refuse it.
    async fn metrics_query_range(
        &self,
        _tenant: &TenantId,
        _req: &tempopb::QueryRangeRequest,
    ) -> Result<tempopb::QueryRangeResponse, RoleError> {
        Err(RoleError::Internal(
            "this source does not answer metrics queries".into(),
        ))
    }
}
