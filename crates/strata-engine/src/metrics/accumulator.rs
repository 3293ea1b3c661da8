//! Partial answers of a metrics query ([`MetricsAccumulator`]): one [`SeriesStore`] per
//! pipeline of the query (one, or several for arithmetic between queries), the work counters,
//! and whether a limit cut the data. What sources exchange is a `tempopb.QueryRangeResponse`
//! holding every store's partial series; with several pipelines each series carries the label
//! `__strata_leaf` = the pipeline's index.

use strata_proto::otlp::common::{any_value, AnyValue, KeyValue};
use strata_proto::tempopb::{PartialStatus, QueryRangeResponse, SearchMetrics, TimeSeries};

use super::store::SeriesStore;

/// Internal label naming the pipeline of a partial series when a query has several.
const LEAF_LABEL: &str = "__strata_leaf";

/// Partial series of one or more sources.
#[derive(Debug, Clone)]
pub struct MetricsAccumulator {
    pub(crate) stores: Vec<SeriesStore>,
    pub metrics: SearchMetrics,
    /// Whether a source reported data cut by the series limit.
    pub truncated: bool,
}

impl MetricsAccumulator {
    pub(crate) fn new(stores: Vec<SeriesStore>) -> Self {
        Self {
            stores,
            metrics: SearchMetrics::default(),
            truncated: false,
        }
    }

    /// Whether the series limit dropped data here or at a source.
    pub fn is_truncated(&self) -> bool {
        self.truncated || self.stores.iter().any(|s| s.truncated)
    }

    /// Merges another source's partial answer (from [`to_partial`](Self::to_partial)).
    pub fn merge(&mut self, resp: QueryRangeResponse) {
        if let Some(m) = resp.metrics {
            add_metrics(&mut self.metrics, &m);
        }
        if resp.status == PartialStatus::Partial as i32 {
            self.truncated = true;
        }
        if self.stores.len() == 1 {
            self.stores[0].merge_series(resp.series);
            return;
        }
        let mut per: Vec<Vec<TimeSeries>> = vec![Vec::new(); self.stores.len()];
        for mut ts in resp.series {
            let Some(pos) = ts.labels.iter().position(|l| l.key == LEAF_LABEL) else {
                continue;
            };
            let kv = ts.labels.remove(pos);
            let leaf = match kv.value.and_then(|v| v.value) {
                Some(any_value::Value::IntValue(i)) => usize::try_from(i).ok(),
                _ => None,
            };
            if let Some(p) = leaf.and_then(|i| per.get_mut(i)) {
                p.push(ts);
            }
        }
        for (store, series) in self.stores.iter_mut().zip(per) {
            store.merge_series(series);
        }
    }

    /// Merges another accumulator of the same query.
    pub fn merge_acc(&mut self, other: MetricsAccumulator) {
        self.merge(other.to_partial());
    }

    /// This partial answer on the wire (see the module docs).
    pub fn to_partial(&self) -> QueryRangeResponse {
        let several = self.stores.len() > 1;
        let mut series = Vec::new();
        for (i, store) in self.stores.iter().enumerate() {
            for mut ts in store.to_series() {
                if several {
                    ts.labels.push(KeyValue {
                        key: LEAF_LABEL.into(),
                        value: Some(AnyValue {
                            value: Some(any_value::Value::IntValue(i as i64)),
                        }),
                        ..Default::default()
                    });
                }
                series.push(ts);
            }
        }
        QueryRangeResponse {
            series,
            metrics: Some(self.metrics),
            status: if self.is_truncated() {
                PartialStatus::Partial as i32
            } else {
                PartialStatus::Complete as i32
            },
            message: String::new(),
        }
    }
}

fn add_metrics(into: &mut SearchMetrics, m: &SearchMetrics) {
    into.inspected_traces = into.inspected_traces.saturating_add(m.inspected_traces);
    into.inspected_bytes += m.inspected_bytes;
    into.total_blocks += m.total_blocks;
    into.completed_jobs += m.completed_jobs;
    into.total_jobs += m.total_jobs;
    into.total_block_bytes += m.total_block_bytes;
    into.inspected_spans += m.inspected_spans;
}
