//! One tenant's series: counters and classic histograms, grouped by label set.
//!
//! A processor declares a [`GroupSpec`] (its label names and its instruments, e.g. span
//! metrics' calls counter, latency histogram and size counter); every label set of a group holds
//! one value per instrument, so a span costs one lookup whatever the number of metrics it
//! updates. Series are keyed by their encoded label values ([`crate::labels::KeyBuf`]); a label
//! whose value is empty is not written out (as in Tempo, where an empty value removes the label).
//!
//! **Limits.** A label set weighs as many Prometheus series as it exposes: 1 per counter, and
//! per histogram one per bucket, `+Inf`, `_sum` and `_count`. A new label set that would take
//! the tenant past its `max_active_series` is refused: the span updates nothing and the refused
//! weight is returned to the caller to count. **Staleness**: [`TenantRegistry::remove_stale`]
//! drops label sets not updated since a cutoff, on times from the injected clock.

use std::collections::HashMap;
use std::sync::Arc;

use xxhash_rust::xxh3::Xxh3DefaultBuilder;

/// One instrument of a group.
#[derive(Debug, Clone, PartialEq)]
pub enum InstrumentSpec {
    /// A counter; `name` is the exposed sample name (e.g. `traces_spanmetrics_calls_total`).
    Counter { name: String, help: String },
    /// A classic histogram of upper bounds `buckets` (strictly increasing; `+Inf` implied);
    /// `name` is the family name (`_bucket`, `_sum`, `_count` are appended).
    Histogram {
        name: String,
        help: String,
        buckets: Arc<[f64]>,
    },
}

impl InstrumentSpec {
    /// Prometheus series per label set.
    pub fn weight(&self) -> u64 {
        match self {
            InstrumentSpec::Counter { .. } => 1,
            InstrumentSpec::Histogram { buckets, .. } => buckets.len() as u64 + 3,
        }
    }
}

/// A group's label names (in key order) and instruments.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupSpec {
    pub label_names: Vec<String>,
    pub instruments: Vec<InstrumentSpec>,
}

impl GroupSpec {
    /// Prometheus series per label set.
    pub fn weight(&self) -> u64 {
        self.instruments.iter().map(InstrumentSpec::weight).sum()
    }
}

/// The latest observation that landed in a histogram: its value and where it came from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Exemplar {
    pub trace_id: [u8; 16],
    pub span_id: [u8; 8],
    pub value: f64,
    pub unix_ms: u64,
}

/// One instrument's value for one label set.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Counter(f64),
    Histogram(Hist),
}

/// A classic histogram: per-bucket (not cumulative) counts, the last slot being `+Inf`.
#[derive(Debug, Clone, PartialEq)]
pub struct Hist {
    pub counts: Box<[u64]>,
    pub sum: f64,
    pub count: u64,
    pub exemplar: Option<Exemplar>,
}

/// One label set's values.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub cells: Box<[Cell]>,
    pub last_updated_ms: u64,
}

impl Series {
    fn new(spec: &GroupSpec, now_ms: u64) -> Self {
        let cells = spec
            .instruments
            .iter()
            .map(|i| match i {
                InstrumentSpec::Counter { .. } => Cell::Counter(0.0),
                InstrumentSpec::Histogram { buckets, .. } => Cell::Histogram(Hist {
                    counts: vec![0; buckets.len() + 1].into_boxed_slice(),
                    sum: 0.0,
                    count: 0,
                    exemplar: None,
                }),
            })
            .collect();
        Self {
            cells,
            last_updated_ms: now_ms,
        }
    }

    /// Adds `v` to counter `i` (a no-op on another kind of cell).
    #[inline]
    pub fn inc(&mut self, i: usize, v: f64) {
        if let Some(Cell::Counter(c)) = self.cells.get_mut(i) {
            *c += v;
        }
    }

    /// Observes `v` in histogram `i` of bounds `buckets`, keeping `exemplar` as its latest.
    #[inline]
    pub fn observe(&mut self, i: usize, buckets: &[f64], v: f64, exemplar: Option<Exemplar>) {
        if let Some(Cell::Histogram(h)) = self.cells.get_mut(i) {
            let b = buckets.partition_point(|le| *le < v);
            h.counts[b] += 1;
            h.sum += v;
            h.count += 1;
            if exemplar.is_some() {
                h.exemplar = exemplar;
            }
        }
    }
}

/// The label sets of one group.
#[derive(Debug)]
pub struct Group {
    pub spec: Arc<GroupSpec>,
    weight: u64,
    pub series: HashMap<Box<[u8]>, Series, Xxh3DefaultBuilder>,
}

impl Group {
    fn new(spec: Arc<GroupSpec>) -> Self {
        Self {
            weight: spec.weight(),
            spec,
            series: HashMap::default(),
        }
    }
}

/// What a lookup found.
pub enum Lookup<'a> {
    Series(&'a mut Series),
    /// A new label set past the limit; the number of series it would have added.
    Refused(u64),
}

/// Every series of one tenant.
#[derive(Debug)]
pub struct TenantRegistry {
    pub groups: Vec<Group>,
    /// Info series (`traces_target_info`): label sets whose names vary, each sorted by name,
    /// value 1, with their last update. One Prometheus series each.
    pub info: HashMap<Box<[(String, String)]>, u64, Xxh3DefaultBuilder>,
    active: u64,
}

impl TenantRegistry {
    /// A registry with one (empty) group per spec, in order.
    pub fn new(specs: &[Arc<GroupSpec>]) -> Self {
        Self {
            groups: specs.iter().cloned().map(Group::new).collect(),
            info: HashMap::default(),
            active: 0,
        }
    }

    /// Marks info series `labels` (sorted by name) updated at `now_ms`, creating it if the
    /// tenant stays within `max_active` (0: no limit); false when refused.
    pub fn set_info(&mut self, labels: &[(String, String)], now_ms: u64, max_active: u64) -> bool {
        if let Some(t) = self.info.get_mut(labels) {
            *t = now_ms;
            return true;
        }
        if max_active != 0 && self.active + 1 > max_active {
            return false;
        }
        self.active += 1;
        self.info.insert(labels.into(), now_ms);
        true
    }

    /// Active Prometheus series (label sets weighted as in the module docs).
    pub fn active_series(&self) -> u64 {
        self.active
    }

    /// The series of `key` in group `g`, created if new and the tenant stays within
    /// `max_active` (0: no limit); marked updated at `now_ms`.
    #[inline]
    pub fn series(&mut self, g: usize, key: &[u8], now_ms: u64, max_active: u64) -> Lookup<'_> {
        let group = &mut self.groups[g];
        // Two lookups on the rare creation path keep the common path free of allocation.
        if group.series.contains_key(key) {
            let s = group.series.get_mut(key).expect("just checked");
            s.last_updated_ms = now_ms;
            return Lookup::Series(s);
        }
        let w = group.weight;
        if max_active != 0 && self.active + w > max_active {
            return Lookup::Refused(w);
        }
        self.active += w;
        let s = group
            .series
            .entry(key.into())
            .or_insert_with(|| Series::new(&group.spec, now_ms));
        Lookup::Series(s)
    }

    /// Replaces group `g` by an empty one of `spec` unless it already has that spec (the same
    /// `Arc`); returns the series removed.
    pub fn set_group_spec(&mut self, g: usize, spec: &Arc<GroupSpec>) -> u64 {
        if Arc::ptr_eq(&self.groups[g].spec, spec) {
            return 0;
        }
        let old = std::mem::replace(&mut self.groups[g], Group::new(spec.clone()));
        let removed = old.series.len() as u64 * old.weight;
        self.active -= removed;
        removed
    }

    /// Removes label sets last updated before `cutoff_ms`; returns the series removed.
    pub fn remove_stale(&mut self, cutoff_ms: u64) -> u64 {
        let mut removed = 0;
        for g in &mut self.groups {
            let before = g.series.len() as u64;
            g.series.retain(|_, s| s.last_updated_ms >= cutoff_ms);
            removed += (before - g.series.len() as u64) * g.weight;
        }
        let before = self.info.len() as u64;
        self.info.retain(|_, t| *t >= cutoff_ms);
        removed += before - self.info.len() as u64;
        self.active -= removed;
        removed
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::labels::KeyBuf;

    fn spec() -> Arc<GroupSpec> {
        Arc::new(GroupSpec {
            label_names: vec!["a".into()],
            instruments: vec![
                InstrumentSpec::Counter {
                    name: "c_total".into(),
                    help: String::new(),
                },
                InstrumentSpec::Histogram {
                    name: "h".into(),
                    help: String::new(),
                    buckets: Arc::from(vec![1.0, 2.0]),
                },
            ],
        })
    }

    fn key(v: &str) -> Vec<u8> {
        let mut k = KeyBuf::default();
        k.push(v);
        k.as_bytes().to_vec()
    }

    #[test]
    fn counters_and_histograms_accumulate_per_label_set() {
        let mut r = TenantRegistry::new(&[spec()]);
        let b = [1.0, 2.0];
        for (v, x) in [("x", 0.5), ("x", 1.0), ("x", 1.5), ("y", 9.0)] {
            let Lookup::Series(s) = r.series(0, &key(v), 10, 0) else {
                panic!("refused")
            };
            s.inc(0, 1.0);
            s.observe(1, &b, x, None);
        }
        let x = &r.groups[0].series[key("x").as_slice()];
        assert_eq!(x.cells[0], Cell::Counter(3.0));
        let Cell::Histogram(h) = &x.cells[1] else {
            panic!()
        };
        // 0.5 and 1.0 are <= 1 (le is inclusive), 1.5 <= 2.
        assert_eq!(&*h.counts, &[2, 1, 0]);
        assert_eq!((h.sum, h.count), (3.0, 3));
        let y = &r.groups[0].series[key("y").as_slice()];
        let Cell::Histogram(h) = &y.cells[1] else {
            panic!()
        };
        assert_eq!(&*h.counts, &[0, 0, 1]);
        // counter 1 + histogram (2 buckets + Inf + sum + count) = 6 per label set.
        assert_eq!(r.active_series(), 12);
    }

    #[test]
    fn new_label_sets_past_the_limit_are_refused_existing_ones_still_count() {
        let mut r = TenantRegistry::new(&[spec()]);
        assert!(matches!(r.series(0, &key("a"), 0, 12), Lookup::Series(_)));
        assert!(matches!(r.series(0, &key("b"), 0, 12), Lookup::Series(_)));
        assert!(matches!(r.series(0, &key("c"), 0, 12), Lookup::Refused(6)));
        assert!(matches!(r.series(0, &key("a"), 0, 12), Lookup::Series(_)));
        assert_eq!(r.active_series(), 12);
    }

    #[test]
    fn stale_series_are_removed_and_free_their_share_of_the_limit() {
        let mut r = TenantRegistry::new(&[spec()]);
        let _ = r.series(0, &key("old"), 1_000, 12);
        let _ = r.series(0, &key("new"), 5_000, 12);
        assert_eq!(r.remove_stale(2_000), 6);
        assert_eq!(r.groups[0].series.len(), 1);
        assert_eq!(r.active_series(), 6);
        assert!(matches!(
            r.series(0, &key("c"), 6_000, 12),
            Lookup::Series(_)
        ));
        // An update keeps a series alive.
        let _ = r.series(0, &key("new"), 9_000, 12);
        assert_eq!(r.remove_stale(8_000), 6);
        assert!(r.groups[0].series.contains_key(key("new").as_slice()));
    }
}
