//! The wire form of a search job one querier sends another (`querier.search.peers`).
//!
//! `POST /internal/search/job` on the peer's query API port, behind the same TLS and tenant
//! gate as the public routes (the sender forwards the caller's `Authorization` and
//! `X-Scope-OrgID`):
//!
//! * request body: [`PeerJobRequest`] (protobuf, `Content-Type: application/protobuf`);
//! * `X-Strata-Querier-Instance`: the sender's instance ID; a querier receiving its own ID
//!   answers 409 (a peer list that names the sender itself, see `self_address`);
//! * 200: a `tempopb.SearchResponse` (protobuf) holding every trace the job found and its
//!   counters, exactly what the job would have added to the sender's search;
//! * 400 a body that does not decode, an unknown `version`, a bad query or row-group range;
//!   404 a block this querier does not know (yet); 429 its slots for peers' jobs are full.
//!
//! Format invariants: `version` is [`VERSION`] (1); a receiver refuses versions it does not
//! know rather than guess. Fields are only ever added, with new tags; a receiver ignores
//! tags it does not know (protobuf), so a new optional field needs no new version, a change
//! of meaning does.

use strata_proto::tempopb;

/// The route of a job on the peer.
pub const JOB_PATH: &str = "/internal/search/job";
/// The header carrying the sender's instance ID.
pub const INSTANCE_HEADER: &str = "x-strata-querier-instance";
/// The version of [`PeerJobRequest`] this build writes and reads.
pub const VERSION: u32 = 1;

/// One job: the search and the part of one block to run it over.
#[derive(Clone, PartialEq, prost::Message)]
pub struct PeerJobRequest {
    /// [`VERSION`].
    #[prost(uint32, tag = "1")]
    pub version: u32,
    /// The search, as the caller asked it (limit included: the peer still returns every
    /// trace the job finds; the sender applies the limit).
    #[prost(message, optional, tag = "2")]
    pub search: Option<tempopb::SearchRequest>,
    /// The block (its ID as in its path), of the tenant the request is authorised as.
    #[prost(string, tag = "3")]
    pub block_id: String,
    /// With `row_group_end`: the job is row groups `start..end` of the block (the traces
    /// whose first row lies there); both absent: the whole block.
    #[prost(uint32, optional, tag = "4")]
    pub row_group_start: Option<u32>,
    #[prost(uint32, optional, tag = "5")]
    pub row_group_end: Option<u32>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost::Message;

    #[test]
    fn a_job_round_trips_and_garbage_does_not_decode() {
        let job = PeerJobRequest {
            version: VERSION,
            search: Some(tempopb::SearchRequest {
                query: "{ }".into(),
                limit: 7,
                ..Default::default()
            }),
            block_id: "0b5c5a48-4b4f-4b43-9d5a-3f1e2a7d4c11".into(),
            row_group_start: Some(2),
            row_group_end: Some(5),
        };
        let bytes = job.encode_to_vec();
        assert_eq!(PeerJobRequest::decode(bytes.as_slice()).unwrap(), job);
        assert!(PeerJobRequest::decode(&[0xff, 0xff, 0xff][..]).is_err());
    }
}
