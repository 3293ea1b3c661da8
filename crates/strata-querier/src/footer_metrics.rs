//! The querier's footer cache ([`strata_block::FooterCache`]) on `/metrics`, read at each
//! scrape:
//!
//! * `strata_querier_block_footer_cache_hits_total`, `…_misses_total`: lookups of a block's
//!   decoded footer answered from the cache, or read from the store;
//! * `…_evictions_total`: footers dropped to stay within `querier.block_footer_cache_bytes`;
//! * `…_rejected_total`: footers larger than the whole capacity (used once, not kept);
//! * `…_bytes`, `…_entries`, `…_capacity_bytes`: what it holds now, and its bound.

use std::sync::Arc;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::registry::Registry;
use strata_block::FooterCache;

/// See the module docs.
#[derive(Debug)]
struct FooterCacheCollector(Arc<FooterCache>);

/// Exposes `cache`'s counts in `registry` under `strata_querier_block_footer_cache_*`.
pub fn register(registry: &mut Registry, cache: Arc<FooterCache>) {
    registry
        .sub_registry_with_prefix("strata_querier")
        .register_collector(Box::new(FooterCacheCollector(cache)));
}

fn counter(e: &mut DescriptorEncoder, name: &str, help: &str, v: u64) -> std::fmt::Result {
    let c = ConstCounter::new(v);
    c.encode(e.encode_descriptor(name, help, None, c.metric_type())?)
}

fn gauge(e: &mut DescriptorEncoder, name: &str, help: &str, v: usize) -> std::fmt::Result {
    let g = ConstGauge::new(i64::try_from(v).unwrap_or(i64::MAX));
    g.encode(e.encode_descriptor(name, help, None, g.metric_type())?)
}

impl Collector for FooterCacheCollector {
    fn encode(&self, mut e: DescriptorEncoder) -> std::fmt::Result {
        let s = self.0.stats();
        counter(
            &mut e,
            "block_footer_cache_hits",
            "Block footer lookups answered from the footer cache",
            s.hits,
        )?;
        counter(
            &mut e,
            "block_footer_cache_misses",
            "Block footer lookups that read the footer from the object store",
            s.misses,
        )?;
        counter(
            &mut e,
            "block_footer_cache_evictions",
            "Footers dropped to stay within querier.block_footer_cache_bytes",
            s.evictions,
        )?;
        counter(
            &mut e,
            "block_footer_cache_rejected",
            "Footers larger than the whole footer cache (used once, not kept)",
            s.rejected,
        )?;
        gauge(
            &mut e,
            "block_footer_cache_bytes",
            "Bytes of decoded footers held",
            s.bytes,
        )?;
        gauge(
            &mut e,
            "block_footer_cache_entries",
            "Decoded footers held",
            s.entries,
        )?;
        gauge(
            &mut e,
            "block_footer_cache_capacity_bytes",
            "querier.block_footer_cache_bytes",
            s.capacity,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cache_counts_appear_under_the_querier_prefix() {
        let cache = Arc::new(FooterCache::new(1 << 20));
        assert!(cache.get(strata_common::BlockId::new_random()).is_none());
        let mut registry = Registry::default();
        register(&mut registry, cache);
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &registry).unwrap();
        for line in [
            "strata_querier_block_footer_cache_hits_total 0",
            "strata_querier_block_footer_cache_misses_total 1",
            "strata_querier_block_footer_cache_evictions_total 0",
            "strata_querier_block_footer_cache_rejected_total 0",
            "strata_querier_block_footer_cache_bytes 0",
            "strata_querier_block_footer_cache_entries 0",
            "strata_querier_block_footer_cache_capacity_bytes 1048576",
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "{line} missing from\n{text}"
            );
        }
    }
}
