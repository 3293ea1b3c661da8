//! Running one job of a search here or on a peer (see [`crate::search`]'s module docs): the
//! peers a search may use and its jobs in flight on each, a job's wire form, and the
//! fallback — a job a peer does not answer runs here, so its answer is the same wherever it
//! ran.

use std::sync::Arc;

use prost::Message;
use strata_engine::search::SearchJob;
use strata_proto::tempopb;

use crate::metrics_peer::{Outcome, PeerJobCounter};
use crate::peer_wire::{PeerJobRequest, VERSION};
use crate::peers::{Forward, PeerError, Peers};
use crate::search_jobs::Job;

/// The peers one search may send jobs to (as listed when it started), and how many of its
/// jobs are in flight on each.
pub(crate) struct PeerSlots {
    pub peers: Arc<Peers>,
    pub addrs: Vec<String>,
    pub in_flight: Vec<usize>,
}

impl PeerSlots {
    pub fn new(peers: Arc<Peers>) -> Self {
        let addrs = peers.members();
        let in_flight = vec![0; addrs.len()];
        Self {
            peers,
            addrs,
            in_flight,
        }
    }

    /// A peer that may take one more job now.
    pub fn free(&self) -> Option<usize> {
        let per_peer = self.peers.jobs_per_peer();
        (0..self.addrs.len())
            .find(|&i| self.in_flight[i] < per_peer && self.peers.usable(&self.addrs[i]))
    }
}

/// A job's answer and whether it ran here.
pub(crate) type Answer = Result<(tempopb::SearchResponse, bool), strata_engine::EngineError>;

/// Runs `next` here.
pub(crate) async fn run_local(next: Job, job: Arc<SearchJob>) -> Answer {
    let part = next.run(&job).await?;
    // The job's traces are sorted into a response on the worker, not on the search's task.
    Ok((part.finish(u32::MAX as usize), true))
}

/// Runs `next` on the peer `addr`, or here when the peer does not answer it.
pub(crate) async fn run_remote(
    next: Job,
    job: Arc<SearchJob>,
    wire: Vec<u8>,
    peers: Arc<Peers>,
    addr: String,
    forward: Forward,
    counts: PeerJobCounter,
) -> Answer {
    match peers.run_job(&addr, wire.into(), &forward).await {
        Ok(resp) => {
            counts.count(Outcome::Remote);
            Ok((resp, false))
        }
        Err(e) => {
            match &e {
                PeerError::Refused { status: 429, .. } => {
                    tracing::debug!(peer = %addr, error = %e, "peer busy; search job runs here")
                }
                _ => {
                    tracing::warn!(peer = %addr, error = %e, "search job sent to a peer runs here instead")
                }
            }
            counts.count(Outcome::Fallback);
            run_local(next, job).await
        }
    }
}

/// The wire form of `next` of the search `req`.
pub(crate) fn wire_job(req: &tempopb::SearchRequest, next: &Job) -> Vec<u8> {
    PeerJobRequest {
        version: VERSION,
        search: Some(req.clone()),
        block_id: next.block.reader.meta().block_id.to_string(),
        row_group_start: next.groups.as_ref().map(|g| g.start as u32),
        row_group_end: next.groups.as_ref().map(|g| g.end as u32),
    }
    .encode_to_vec()
}
