//! The per-tenant scan budget of one query (`overrides.*.read.max_block_bytes_per_query`, see
//! [`strata_config::ReadLimits`]): how many bytes of blocks a search, TraceQL metrics query or
//! tag request may read before it stops opening blocks and answers with what it has.
//!
//! Invariants:
//!
//! * A block's cost is its `data.parquet` size from `meta.json` (`size_bytes`), charged in full
//!   when the block is admitted, whatever the reader then skips inside it.
//! * Callers offer blocks newest first. The first block that would take the total past the
//!   limit is refused and so is every block after it (the budget is *spent*): a cut answer
//!   holds the newest data, without holes.
//! * A limit of 0 admits everything, and such a budget is never cut.
//! * A query is cut only when a block it would have read was skipped: a caller that decides
//!   (after the fact) that the remaining blocks could not change the answer does not report
//!   them ([`ScanBudget::skip`] is called only for blocks that mattered).
//!
//! The cut becomes a `PARTIAL` answer through [`Cut::message`] (named key, bytes read, blocks
//! skipped) and the `X-Strata-Status` / `X-Strata-Message` headers ([`partial_headers`]); it
//! is counted in `strata_querier_queries_cut_total{tenant,reason}` ([`CutCounter`]).

use axum::http::{HeaderMap, HeaderName, HeaderValue};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use strata_common::TenantId;

/// The response header marking an answer as partial (its value is `PARTIAL`).
pub const STATUS_HEADER: &str = "x-strata-status";
/// The response header saying why an answer is partial.
pub const MESSAGE_HEADER: &str = "x-strata-message";
/// The override key the budget comes from, as messages name it.
pub const BUDGET_KEY: &str = "read.max_block_bytes_per_query";

/// One query's budget (see the module docs).
#[derive(Debug, Clone)]
pub struct ScanBudget {
    limit: u64,
    read_bytes: u64,
    read_blocks: u32,
    spent: bool,
    skipped_blocks: u32,
    skipped_bytes: u64,
}

impl ScanBudget {
    /// A budget of `limit` bytes (0: no limit).
    pub fn new(limit: u64) -> Self {
        Self {
            limit,
            read_bytes: 0,
            read_blocks: 0,
            spent: false,
            skipped_blocks: 0,
            skipped_bytes: 0,
        }
    }

    /// Whether a block of `size` bytes may be read; if so it is charged. Once a block is
    /// refused, every later one is too.
    pub fn admit(&mut self, size: u64) -> bool {
        if self.limit != 0 && (self.spent || self.read_bytes.saturating_add(size) > self.limit) {
            self.spent = true;
            return false;
        }
        self.read_bytes = self.read_bytes.saturating_add(size);
        self.read_blocks += 1;
        true
    }

    /// Whether a block has been refused.
    pub fn is_spent(&self) -> bool {
        self.spent
    }

    /// Records a refused block of `size` bytes that the answer lacks.
    pub fn skip(&mut self, size: u64) {
        self.skipped_blocks += 1;
        self.skipped_bytes = self.skipped_bytes.saturating_add(size);
    }

    /// The cut, if a block the answer needed was skipped.
    pub fn cut(&self, tenant: &TenantId) -> Option<Cut> {
        (self.skipped_blocks > 0).then(|| Cut {
            tenant: tenant.as_str().to_string(),
            limit: self.limit,
            read_bytes: self.read_bytes,
            read_blocks: self.read_blocks,
            skipped_blocks: self.skipped_blocks,
            skipped_bytes: self.skipped_bytes,
        })
    }
}

/// Why an answer is partial: the budget ran out before every block was read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cut {
    pub tenant: String,
    pub limit: u64,
    pub read_bytes: u64,
    pub read_blocks: u32,
    pub skipped_blocks: u32,
    pub skipped_bytes: u64,
}

impl Cut {
    /// The message of the `PARTIAL` answer (plain ASCII, fit for a header).
    pub fn message(&self) -> String {
        let blocks = |n: u32| if n == 1 { "block" } else { "blocks" };
        format!(
            "partial answer: tenant {} may read {} bytes of blocks per query ({BUDGET_KEY}); \
             read {} bytes in {} {}, skipped {} older {} ({} bytes)",
            self.tenant,
            self.limit,
            self.read_bytes,
            self.read_blocks,
            blocks(self.read_blocks),
            self.skipped_blocks,
            blocks(self.skipped_blocks),
            self.skipped_bytes,
        )
    }
}

/// `X-Strata-Status: PARTIAL` and `X-Strata-Message: <message>`, added to `headers`. A
/// message that cannot be a header value (it can, as [`Cut::message`] builds it) is replaced
/// by its printable ASCII.
pub fn partial_headers(headers: &mut HeaderMap, message: &str) {
    headers.insert(
        HeaderName::from_static(STATUS_HEADER),
        HeaderValue::from_static("PARTIAL"),
    );
    let printable: String = message
        .chars()
        .map(|c| {
            if c == ' ' || c.is_ascii_graphic() {
                c
            } else {
                '?'
            }
        })
        .collect();
    if let Ok(v) = HeaderValue::from_str(&printable) {
        headers.insert(HeaderName::from_static(MESSAGE_HEADER), v);
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CutLabels {
    pub tenant: String,
    /// `block_bytes` (the scan budget) or `series` (a metrics answer past `max_series`).
    pub reason: String,
}

/// `strata_querier_queries_cut_total{tenant,reason}`: answers returned `PARTIAL` because a
/// per-tenant bound cut the work.
#[derive(Clone, Default)]
pub struct CutCounter {
    pub family: Family<CutLabels, Counter>,
}

impl CutCounter {
    pub fn count(&self, tenant: &TenantId, reason: &str) {
        self.family
            .get_or_create(&CutLabels {
                tenant: tenant.as_str().to_string(),
                reason: reason.to_string(),
            })
            .inc();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tenant() -> TenantId {
        TenantId::new("t").unwrap()
    }

    #[test]
    fn blocks_are_admitted_until_the_next_would_pass_the_limit_then_none() {
        let mut b = ScanBudget::new(100);
        assert!(b.admit(40));
        assert!(b.admit(60), "exactly the limit is allowed");
        assert!(!b.is_spent());
        assert!(!b.admit(1));
        assert!(b.is_spent());
        // Spent: even a block that would fit is refused, so the answer has no holes.
        assert!(!b.admit(0));
        b.skip(1);
        b.skip(0);
        let cut = b.cut(&tenant()).expect("cut");
        assert_eq!(
            cut,
            Cut {
                tenant: "t".into(),
                limit: 100,
                read_bytes: 100,
                read_blocks: 2,
                skipped_blocks: 2,
                skipped_bytes: 1,
            }
        );
        let msg = cut.message();
        for part in [
            BUDGET_KEY,
            "tenant t",
            "read 100 bytes in 2 blocks",
            "skipped 2",
        ] {
            assert!(msg.contains(part), "{msg}");
        }
        let one = Cut {
            read_blocks: 1,
            skipped_blocks: 1,
            ..cut
        };
        assert!(
            one.message()
                .contains("in 1 block, skipped 1 older block (1 bytes)"),
            "{}",
            one.message()
        );
    }

    #[test]
    fn a_block_larger_than_the_whole_budget_is_refused() {
        let mut b = ScanBudget::new(10);
        assert!(!b.admit(11));
        b.skip(11);
        let cut = b.cut(&tenant()).unwrap();
        assert_eq!((cut.read_blocks, cut.read_bytes), (0, 0));
    }

    #[test]
    fn no_limit_admits_everything_and_never_cuts() {
        let mut b = ScanBudget::new(0);
        for _ in 0..1000 {
            assert!(b.admit(u64::MAX / 2));
        }
        assert!(!b.is_spent());
        assert_eq!(b.cut(&tenant()), None);
    }

    #[test]
    fn a_spent_budget_without_skipped_blocks_is_not_a_cut() {
        // The caller found the refused blocks could not change the answer.
        let mut b = ScanBudget::new(5);
        assert!(!b.admit(6));
        assert_eq!(b.cut(&tenant()), None);
    }

    #[test]
    fn the_headers_say_partial_and_carry_the_message() {
        let mut h = HeaderMap::new();
        partial_headers(&mut h, "too much\nbytes é");
        assert_eq!(h[STATUS_HEADER], "PARTIAL");
        assert_eq!(h[MESSAGE_HEADER], "too much?bytes ?");
    }
}
