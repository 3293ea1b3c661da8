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
//! block it does not know yet is 404. A job runs at most the tenant's `read.query_timeout`
//! (504 past it), like any query of the tenant.
//!
//! The route trusts any caller the tenant gate admits, as the public routes do: a tenant's
//! own client could call it directly, bypassing the tenant's query slots and scan budget for
//! one block (of its own tenant, by ID) at a time; `max_jobs_for_peers` bounds what that
//! takes from the process. Every outcome is counted in
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
    // Checked first: a busy querier refuses at once, before reading the block's footer.
    let Ok(slot) = q.peer_slots().clone().try_acquire_owned() else {
        return refuse(
            &q,
            StatusCode::TOO_MANY_REQUESTS,
            "this querier runs as many search jobs for peers as it may \
             (querier.search.peers.max_jobs_for_peers)"
                .into(),
        );
    };
    match prepare(&q, &tenant, &body).await {
        Ok((search, job)) => {
            let limit = q.overrides().limits(&tenant).read.query_timeout;
            let timeout = (!limit.is_zero()).then_some(limit);
            run(&q, search, job, timeout, slot).await
        }
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

/// Runs `job` (for at most `timeout`) holding `_slot` until it ends.
async fn run(
    q: &Querier,
    search: SearchJob,
    job: Job,
    timeout: Option<std::time::Duration>,
    _slot: tokio::sync::OwnedSemaphorePermit,
) -> Response {
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
    let done = match timeout {
        None => task.await,
        Some(t) => match tokio::time::timeout(t, task).await {
            Ok(done) => done,
            Err(_) => {
                return refuse(
                    q,
                    StatusCode::GATEWAY_TIMEOUT,
                    format!(
                        "search job did not finish within {} (read.query_timeout)",
                        humantime::format_duration(t)
                    ),
                )
            }
        },
    };
    match done {
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

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use axum::body::Body;
    use axum::http::Request;
    use tower::ServiceExt;

    use super::*;
    use crate::metrics_peer::Outcome;
    use crate::{BlockList, QuerierMetrics, QuerierSettings};

    fn querier(max_jobs_for_peers: usize) -> Querier {
        let mut search = strata_config::QuerierSearchConfig::default();
        search.peers.max_jobs_for_peers = max_jobs_for_peers;
        let settings = QuerierSettings {
            multitenancy_enabled: false,
            max_bytes_per_trace: 1 << 20,
            blocklist_poll: std::time::Duration::from_secs(60),
            search,
        };
        let store: strata_storage::SharedStore = Arc::new(object_store::memory::InMemory::new());
        Querier::new(
            Arc::new(strata_ingester::testing::Node::start("ingester-0", &|_| {})),
            BlockList::new(store),
            settings,
            QuerierMetrics::new(&mut prometheus_client::registry::Registry::default()),
        )
    }

    async fn post(q: &Querier, body: Vec<u8>) -> StatusCode {
        let req = Request::post(crate::peer_wire::JOB_PATH)
            .header(INSTANCE_HEADER, "another")
            .body(Body::from(body))
            .unwrap();
        crate::http::router(q.clone())
            .oneshot(req)
            .await
            .unwrap()
            .status()
    }

    #[tokio::test]
    async fn a_querier_whose_slots_for_peers_are_taken_refuses_at_once() {
        let q = querier(1);
        let job = PeerJobRequest {
            version: VERSION,
            search: Some(Default::default()),
            block_id: strata_common::BlockId::new_random().to_string(),
            row_group_start: None,
            row_group_end: None,
        }
        .encode_to_vec();
        // A free slot: the job is looked at (an unknown block here).
        assert_eq!(post(&q, job.clone()).await, StatusCode::NOT_FOUND);
        let held = q.peer_slots().clone().try_acquire_owned().unwrap();
        assert_eq!(post(&q, job.clone()).await, StatusCode::TOO_MANY_REQUESTS);
        drop(held);
        assert_eq!(post(&q, job).await, StatusCode::NOT_FOUND);
        assert_eq!(q.metrics().peer_jobs.get(Outcome::Refused), 3);
        assert_eq!(
            q.peer_slots().available_permits(),
            1,
            "every refusal gave its slot back"
        );
    }
}
