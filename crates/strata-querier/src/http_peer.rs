//! The internal route a querier runs its peers' search jobs on (`POST /internal/search/job`,
//! format in [`crate::peer_wire`]).
//!
//! It sits behind the query API's TLS and tenant gate like every route (the job is
//! authorised as the search it belongs to, whose credentials the sender forwards), but not
//! behind the per-tenant slots: the search already holds one on the querier that received
//! it. Instead, jobs run for peers share `querier.search.peers.max_jobs_for_peers` slots per
//! process (default: one per core); a job arriving when all are taken is refused at once
//! with 429 (the sender runs it itself), so one big search cannot take a peer whole.
//!
//! The block is looked up in this querier's own block list (it polls the same store): a
//! block it does not know yet is 404. Every outcome is counted in
//! `strata_querier_peer_search_jobs_total` (`served` or `refused`); a bad body is 400, never
//! a panic.

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Extension, Router};
use bytes::Bytes;
use prost::Message;
use strata_common::{BlockId, TenantId};
use strata_engine::search::SearchJob;
use tracing::Instrument;

use crate::http::PROTOBUF;
use crate::metrics_peer::Outcome;
use crate::peer_wire::{PeerJobRequest, INSTANCE_HEADER, JOB_PATH, VERSION};
use crate::search_jobs::Job;
use crate::Querier;

pub fn routes() -> Router<Querier> {
    Router::new().route(JOB_PATH, post(job))
}

fn refuse(q: &Querier, status: StatusCode, message: String) -> Response {
    q.metrics().peer_jobs.count(Outcome::Refused);
    if status.is_server_error() {
        tracing::warn!(error = %message, "search job for a peer failed");
    }
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        message,
    )
        .into_response()
}

async fn job(
    State(q): State<Querier>,
    Extension(tenant): Extension<TenantId>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if headers
        .get(INSTANCE_HEADER)
        .is_some_and(|v| v.as_bytes() == q.instance().as_bytes())
    {
        return refuse(
            &q,
            StatusCode::CONFLICT,
            "this search job was sent by this querier itself".into(),
        );
    }
    match prepare(&q, &tenant, &body).await {
        Ok((search, job)) => run(&q, search, job).await,
        Err((status, message)) => refuse(&q, status, message),
    }
}

/// The job a request asks for, or the refusal.
async fn prepare(
    q: &Querier,
    tenant: &TenantId,
    body: &[u8],
) -> Result<(SearchJob, Job), (StatusCode, String)> {
    let bad = |m: String| (StatusCode::BAD_REQUEST, m);
    let req = PeerJobRequest::decode(body).map_err(|e| bad(format!("bad search job: {e}")))?;
    if req.version != VERSION {
        return Err(bad(format!(
            "search job version {} is not supported (this querier reads {VERSION})",
            req.version
        )));
    }
    let search = req
        .search
        .ok_or_else(|| bad("search job without a search".into()))?;
    let search = SearchJob::new(&search).map_err(|e| bad(e.to_string()))?;
    let id: BlockId = req
        .block_id
        .parse()
        .map_err(|_| bad(format!("bad block id {:?}", req.block_id)))?;
    let block = q.blocks().get(tenant, &id).ok_or_else(|| {
        (
            StatusCode::NOT_FOUND,
            format!(
                "block {id} of tenant {} is not known to this querier",
                tenant.as_str()
            ),
        )
    })?;
    let groups = match (req.row_group_start, req.row_group_end) {
        (None, None) => None,
        (Some(start), Some(end)) => {
            let md = block.reader.parquet_metadata().await.map_err(|e| {
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    format!("reading the footer of block {id}: {e}"),
                )
            })?;
            let (start, end) = (start as usize, end as usize);
            if start >= end || end > md.num_row_groups() {
                return Err(bad(format!(
                    "row groups {start}..{end} are not within block {id}'s {}",
                    md.num_row_groups()
                )));
            }
            Some(start..end)
        }
        _ => return Err(bad("row_group_start and row_group_end go together".into())),
    };
    Ok((search, Job { block, groups }))
}

async fn run(q: &Querier, search: SearchJob, job: Job) -> Response {
    let Ok(_slot) = q.peer_slots().clone().try_acquire_owned() else {
        return refuse(
            q,
            StatusCode::TOO_MANY_REQUESTS,
            "this querier runs as many search jobs for peers as it may \
             (querier.search.peers.max_jobs_for_peers)"
                .into(),
        );
    };
    let span = tracing::info_span!(
        "peer.block.search",
        block_id = %job.block.reader.meta().block_id,
        row_groups = ?job.groups,
    );
    // On a worker of its own, like the searcher's local jobs; the slot is held until it ends.
    let task = tokio::spawn(
        async move {
            let part = job.run(&search).await?;
            Ok::<_, strata_engine::EngineError>(part.finish(u32::MAX as usize))
        }
        .instrument(span),
    );
    let abort = task.abort_handle();
    // The request dropped (the sender gave up): so is the job.
    let _guard = AbortOnDrop(abort);
    match task.await {
        Ok(Ok(resp)) => {
            q.metrics().search_jobs.inc();
            q.metrics().peer_jobs.count(Outcome::Served);
            ([(header::CONTENT_TYPE, PROTOBUF)], resp.encode_to_vec()).into_response()
        }
        Ok(Err(e)) => refuse(
            q,
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("searching a block: {e}"),
        ),
        Err(e) => refuse(
            q,
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("search task: {e}"),
        ),
    }
}

struct AbortOnDrop(tokio::task::AbortHandle);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}
