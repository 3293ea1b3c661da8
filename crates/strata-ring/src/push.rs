//! Replicated pushes: every trace to its owners on the healthy ring, acknowledged once a
//! quorum of them has it in their WAL.
//!
//! With `n` members and replication factor `RF`, the effective factor is `R = min(RF, n)` and
//! the quorum `Q = R/2 + 1`.
//!
//! 1. If the healthy ring has fewer than `Q` members, the push fails at once (`Unavailable`).
//! 2. Each trace's owners are the first `R` members of the healthy ring's
//!    [`preference_list`](crate::Ring::preference_list)`(`[`ring_key`]`(tenant, trace))`.
//!    Traces are grouped per owner and every owner gets one [`PushRequest`] with its traces;
//!    owners are called concurrently.
//! 3. An owner answering `Ok` stores each trace whose reason is
//!    [`PushErrorReason::NoError`] (one copy). A trace it refused for a limit (any other
//!    reason) is not sent anywhere else: another ingester would refuse it too, or hold a copy
//!    its owner does not.
//! 4. An owner answering `Err` stored nothing; if the error is `Unavailable` (down, stopping,
//!    timed out) it is also marked unhealthy until its next passing health check, so later
//!    pushes do not try it first. Each of its traces is handed to the next member
//!    of that trace's preference list not yet tried, in a next round (one round per wave of
//!    failures), until the trace has `R` copies or its list is exhausted.
//! 5. A trace with at least `Q` copies is stored. If every trace is stored or refused, the
//!    answer is `Ok` with `errors_by_trace` (empty when all were stored; otherwise one entry
//!    per trace, `NoError` for the stored ones). Otherwise the push fails — a trace is never
//!    silently dropped: `ResourceExhausted` when every owner error of the failed traces was
//!    `ResourceExhausted` (the client should back off), else `Unavailable` saying how many
//!    traces fell short, with how many copies, and the last error.
//!
//! **Counted copies.** With `R > 1`, exactly one copy of each share is sent as counted and the
//! others with [`TracePush::replica`](strata_proto::roles::TracePush) set, so that TraceQL
//! metrics (which skip replica copies) count every span once, on live data and in blocks alike.
//! The counted copy goes to the first member a trace is sent to; if that member fails, the
//! designation passes to the trace's next handoff member; if no handoff member is left, a last
//! round sends one counted copy to a member that already stored a replica copy (that member then
//! holds the share twice until compaction; span deduplication hides it from search and trace by
//! ID). Only if that also fails is a stored share left without a counted copy (logged).

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use strata_proto::roles::{
    IngesterPusher, PushErrorReason, PushRequest, PushResponse, RoleError, TracePush,
};

use crate::{ring_key, IngesterPool};

/// An [`IngesterPusher`] writing each trace to `replication_factor` ingesters of a pool.
#[derive(Clone)]
pub struct ReplicatedPusher {
    pool: Arc<IngesterPool>,
}

/// What happened to one trace so far.
struct TraceState {
    prefs: Vec<String>,
    /// Members of `prefs` before this index have been tried (or are being tried).
    next: usize,
    copies: usize,
    refused: Option<PushErrorReason>,
    errors: Vec<(String, RoleError)>,
    counted: Counted,
    /// Members that stored a copy.
    holders: Vec<String>,
}

/// Where the counted copy of a trace's share is (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Counted {
    /// Not sent, or sent to a member that failed: the next member sent to gets it.
    Open,
    /// Sent in the current round.
    InFlight,
    Stored,
}

impl ReplicatedPusher {
    pub fn new(pool: Arc<IngesterPool>) -> Self {
        Self { pool }
    }

    pub fn pool(&self) -> &Arc<IngesterPool> {
        &self.pool
    }
}

#[async_trait]
impl IngesterPusher for ReplicatedPusher {
    async fn push(&self, req: PushRequest) -> Result<PushResponse, RoleError> {
        if req.traces.is_empty() {
            return Ok(PushResponse::default());
        }
        let members = self.pool.members();
        let rf = self.pool.effective_replication_factor();
        let quorum = rf / 2 + 1;
        let ring = members.healthy_ring();
        if rf == 0 || ring.members().len() < quorum {
            return Err(RoleError::Unavailable(format!(
                "only {} of {} ingesters are healthy; a push needs {} (replication factor {})",
                ring.members().len(),
                members.all().len(),
                quorum,
                self.pool.replication_factor(),
            )));
        }
        let mut states: Vec<TraceState> = req
            .traces
            .iter()
            .map(|t| TraceState {
                prefs: ring
                    .preference_list(ring_key(&req.tenant, &t.trace_id))
                    .into_iter()
                    .map(str::to_string)
                    .collect(),
                next: 0,
                copies: 0,
                refused: None,
                errors: Vec::new(),
                counted: if rf > 1 {
                    Counted::Open
                } else {
                    Counted::Stored
                },
                holders: Vec::new(),
            })
            .collect();
        // Round 1: every trace to its first R members.
        let mut wanted: Vec<usize> = vec![rf; states.len()];
        let mut last_round = false;
        loop {
            // (member, [(trace index, counted copy)])
            let mut targets: BTreeMap<String, Vec<(usize, bool)>> = BTreeMap::new();
            for (i, st) in states.iter_mut().enumerate() {
                // A limit refusal anywhere ends the trace's journey.
                while st.refused.is_none() && wanted[i] > 0 && st.next < st.prefs.len() {
                    let counted = st.counted == Counted::Open;
                    if counted {
                        st.counted = Counted::InFlight;
                    }
                    targets
                        .entry(st.prefs[st.next].clone())
                        .or_default()
                        .push((i, counted));
                    st.next += 1;
                    wanted[i] -= 1;
                }
                wanted[i] = 0;
            }
            if targets.is_empty() && !last_round {
                // Every share stored without its counted copy gets one on a holder.
                last_round = true;
                for (i, st) in states.iter_mut().enumerate() {
                    if st.copies >= quorum && st.counted == Counted::Open {
                        if let Some(h) = st.holders.first() {
                            st.counted = Counted::InFlight;
                            targets.entry(h.clone()).or_default().push((i, true));
                        }
                    }
                }
            }
            if targets.is_empty() {
                break;
            }
            let calls = targets.into_iter().map(|(addr, idx)| {
                let conn = self.pool.conn(&addr);
                let sub = PushRequest {
                    tenant: req.tenant.clone(),
                    traces: idx
                        .iter()
                        .map(|&(i, counted)| TracePush {
                            replica: !counted,
                            ..req.traces[i].clone()
                        })
                        .collect(),
                };
                async move { (addr, idx, conn.push(sub).await) }
            });
            for (addr, idx, result) in futures::future::join_all(calls).await {
                match result {
                    Ok(resp) => {
                        for (j, &(i, counted)) in idx.iter().enumerate() {
                            let st = &mut states[i];
                            match resp.reason(j) {
                                PushErrorReason::NoError if last_round => {
                                    st.counted = Counted::Stored
                                }
                                PushErrorReason::NoError => {
                                    st.copies += 1;
                                    st.holders.push(addr.clone());
                                    if counted {
                                        st.counted = Counted::Stored;
                                    }
                                }
                                r => {
                                    if !last_round {
                                        st.refused.get_or_insert(r);
                                    }
                                    if counted {
                                        st.counted = Counted::Open;
                                    }
                                }
                            }
                        }
                    }
                    Err(e) => {
                        tracing::warn!(ingester = %addr, error = %e, traces = idx.len(),
                            "push to ingester failed; handing its traces to the next members");
                        if matches!(e, RoleError::Unavailable(_)) {
                            members.mark_unhealthy(&addr, "push failed: unavailable");
                        }
                        for &(i, counted) in &idx {
                            let st = &mut states[i];
                            if counted {
                                st.counted = Counted::Open;
                            }
                            if last_round {
                                continue;
                            }
                            st.errors.push((addr.clone(), e.clone()));
                            if st.refused.is_none() {
                                wanted[i] += 1;
                            }
                        }
                    }
                }
            }
        }
        let uncounted = states
            .iter()
            .filter(|s| s.copies >= quorum && s.counted != Counted::Stored)
            .count();
        if uncounted > 0 {
            tracing::warn!(
                traces = uncounted,
                "stored without a counted copy: TraceQL metrics will not count these shares"
            );
        }
        finish(&states, rf, quorum)
    }
}

fn finish(states: &[TraceState], rf: usize, quorum: usize) -> Result<PushResponse, RoleError> {
    let failed: Vec<&TraceState> = states
        .iter()
        .filter(|s| s.copies < quorum && s.refused.is_none())
        .collect();
    if failed.is_empty() {
        let reasons: Vec<PushErrorReason> = states
            .iter()
            .map(|s| match s.refused {
                Some(r) if s.copies < quorum => r,
                _ => PushErrorReason::NoError,
            })
            .collect();
        let all_ok = reasons.iter().all(|r| *r == PushErrorReason::NoError);
        return Ok(PushResponse {
            errors_by_trace: if all_ok { Vec::new() } else { reasons },
        });
    }
    let errors: Vec<&(String, RoleError)> = failed.iter().flat_map(|s| &s.errors).collect();
    let best = failed.iter().map(|s| s.copies).max().unwrap_or(0);
    let last = errors
        .last()
        .map(|(addr, e)| format!("; last error from {addr}: {e}"))
        .unwrap_or_default();
    let msg = format!(
        "push failed: {} of {} traces reached only {} of {} required copies (replication factor {}){}",
        failed.len(),
        states.len(),
        best,
        quorum,
        rf,
        last
    );
    if !errors.is_empty()
        && errors
            .iter()
            .all(|(_, e)| matches!(e, RoleError::ResourceExhausted(_)))
    {
        Err(RoleError::ResourceExhausted(msg))
    } else {
        Err(RoleError::Unavailable(msg))
    }
}
