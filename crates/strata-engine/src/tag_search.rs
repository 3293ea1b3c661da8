//! Running tag-name and tag-value requests over batches and blocks.
//!
//! The request's `q` filter is applied leniently, as Tempo does: when it parses and implies a
//! span-level condition ([`SearchPlan::prefilter`]), only spans passing it contribute; a query
//! that does not parse, or implies no such condition, filters nothing. For the simple
//! `{ a = b && ... }` filters Grafana sends, the prefilter is exactly the filter.
//!
//! The `intrinsic` scope is not produced here: it is a fixed list the querier adds once.

use arrow_array::{BooleanArray, RecordBatch};
use strata_block::{BlockReader, ScanRequest};
use strata_proto::tempopb::{
    MetadataMetrics, SearchTagValuesRequest, SearchTagValuesV2Response, SearchTagsRequest,
    SearchTagsV2Response, SearchTagsV2Scope, TagValue as PbTagValue,
};
use strata_traceql::FieldExpr;

use crate::search::BadSearch;
use crate::tags::{
    ScopeParam, TagNamesCollector, TagTarget, TagValuesCollector, DEFAULT_MAX_BYTES,
};
use crate::{EngineError, SearchPlan};

/// The lenient `q` filter.
fn filter(q: &str) -> Option<SearchPlan> {
    if q.trim().is_empty() {
        return None;
    }
    let query = strata_traceql::parse_and_validate(q).ok()?;
    let plan = SearchPlan::new(&query).ok()?;
    plan.prefilter_columns().is_some().then_some(plan)
}

fn mask(
    filter: Option<&SearchPlan>,
    batch: &RecordBatch,
) -> Result<Option<BooleanArray>, EngineError> {
    filter.map(|p| p.prefilter(batch)).transpose()
}

fn columns(mut cols: Vec<&'static str>, filter: Option<&SearchPlan>) -> Vec<&'static str> {
    if let Some(extra) = filter.and_then(|p| p.prefilter_columns()) {
        for c in extra {
            if !cols.contains(&c) {
                cols.push(c);
            }
        }
    }
    cols
}

fn range_ns(start: u32, end: u32) -> Option<(u64, u64)> {
    (end != 0).then(|| {
        (
            u64::from(start) * 1_000_000_000,
            u64::from(end) * 1_000_000_000 + 999_999_999,
        )
    })
}

/// Scans `cols` of a block (skipped when outside `range`), feeding each batch to `add`.
async fn scan_block(
    reader: &BlockReader,
    cols: Vec<&'static str>,
    range: Option<(u64, u64)>,
    mut add: impl FnMut(&RecordBatch) -> Result<bool, EngineError>,
) -> Result<u64, EngineError> {
    let m = reader.meta();
    if let Some((s, e)) = range {
        if m.start_time_unix_nano > e || m.end_time_unix_nano < s {
            return Ok(0);
        }
    }
    if cols.is_empty() {
        return Ok(0);
    }
    let mut scan = reader
        .scan(ScanRequest {
            columns: cols,
            ..Default::default()
        })
        .await
        .map_err(|e| EngineError::Batch(format!("block: {e}")))?;
    while let Some(b) = scan
        .next()
        .await
        .map_err(|e| EngineError::Batch(format!("block: {e}")))?
    {
        if !add(&b)? {
            break;
        }
    }
    Ok(scan.inspected_bytes())
}

/// Where a tag request reads (opaque): its lenient `q` filter and time range, and the bytes
/// it fetched.
pub struct Sources {
    filter: Option<SearchPlan>,
    range: Option<(u64, u64)>,
    inspected_bytes: u64,
}

impl Sources {
    fn new(query: &str, start: u32, end: u32) -> Self {
        Self {
            filter: filter(query),
            range: range_ns(start, end),
            inspected_bytes: 0,
        }
    }
}

/// What both collectors offer.
pub trait Collect: Send + 'static {
    fn add_batch(
        &mut self,
        batch: &RecordBatch,
        rows: Option<&BooleanArray>,
    ) -> Result<(), EngineError>;
    /// Whether a limit is reached (reading more cannot change the answer).
    fn is_full(&self) -> bool;
}

impl Collect for TagNamesCollector {
    fn add_batch(
        &mut self,
        batch: &RecordBatch,
        rows: Option<&BooleanArray>,
    ) -> Result<(), EngineError> {
        TagNamesCollector::add_batch(self, batch, rows)
    }
    fn is_full(&self) -> bool {
        TagNamesCollector::is_full(self)
    }
}

impl Collect for TagValuesCollector {
    fn add_batch(
        &mut self,
        batch: &RecordBatch,
        rows: Option<&BooleanArray>,
    ) -> Result<(), EngineError> {
        TagValuesCollector::add_batch(self, batch, rows)
    }
    fn is_full(&self) -> bool {
        TagValuesCollector::is_full(self)
    }
}

/// A tag request (names or values), run the same way over live batches and blocks by the
/// ingester and the querier.
pub trait TagQuery: Send + Sized + 'static {
    type Collector: Collect;
    type Response;
    fn collector(&self) -> Self::Collector;
    /// The columns the collector reads (empty when the answer needs no data).
    fn data_columns(&self) -> Vec<&'static str>;
    fn sources(&self) -> &Sources;
    fn sources_mut(&mut self) -> &mut Sources;
    fn response(&self, c: Self::Collector) -> Self::Response;

    /// Whether the answer depends on data at all.
    fn reads_data(&self) -> bool {
        !self.data_columns().is_empty()
    }

    fn add_batch(&self, batch: &RecordBatch, c: &mut Self::Collector) -> Result<(), EngineError> {
        let m = mask(self.sources().filter.as_ref(), batch)?;
        c.add_batch(batch, m.as_ref())
    }

    fn add_inspected_bytes(&mut self, bytes: u64) {
        self.sources_mut().inspected_bytes += bytes;
    }

    /// Reads the collector's and the filter's columns of a block (skipped outside the range).
    fn add_block(
        &mut self,
        reader: &BlockReader,
        c: &mut Self::Collector,
    ) -> impl std::future::Future<Output = Result<(), EngineError>> + Send {
        let data = self.data_columns();
        let filter = self.sources().filter.clone();
        let range = self.sources().range;
        async move {
            if data.is_empty() {
                return Ok(());
            }
            let cols = columns(data, filter.as_ref());
            let n = scan_block(reader, cols, range, |b| {
                let m = mask(filter.as_ref(), b)?;
                c.add_batch(b, m.as_ref())?;
                Ok(!c.is_full())
            })
            .await?;
            self.add_inspected_bytes(n);
            Ok(())
        }
    }
}

/// A tag-names request.
pub struct TagNamesJob {
    scope: ScopeParam,
    limit: Option<usize>,
    sources: Sources,
}

impl TagNamesJob {
    pub fn new(req: &SearchTagsRequest) -> Result<Self, BadSearch> {
        let scope = ScopeParam::parse(&req.scope)
            .ok_or_else(|| BadSearch(format!("invalid scope: {}", req.scope)))?;
        Ok(Self {
            scope,
            limit: (req.max_tags_per_scope != 0).then_some(req.max_tags_per_scope as usize),
            sources: Sources::new(&req.query, req.start, req.end),
        })
    }
}

impl TagQuery for TagNamesJob {
    type Collector = TagNamesCollector;
    type Response = SearchTagsV2Response;

    fn collector(&self) -> TagNamesCollector {
        TagNamesCollector::new(
            &self.scope.attribute_scopes(),
            self.limit,
            DEFAULT_MAX_BYTES,
        )
    }

    fn data_columns(&self) -> Vec<&'static str> {
        TagNamesCollector::columns(&self.scope.attribute_scopes())
    }

    fn sources(&self) -> &Sources {
        &self.sources
    }

    fn sources_mut(&mut self) -> &mut Sources {
        &mut self.sources
    }

    /// The attribute scopes found (no `intrinsic` scope).
    fn response(&self, c: TagNamesCollector) -> SearchTagsV2Response {
        SearchTagsV2Response {
            scopes: c
                .finish()
                .into_iter()
                .map(|(s, tags)| SearchTagsV2Scope {
                    name: s.as_str().to_string(),
                    tags,
                })
                .collect(),
            metrics: Some(MetadataMetrics {
                inspected_bytes: self.sources.inspected_bytes,
            }),
        }
    }
}

/// A tag-values request.
pub struct TagValuesJob {
    target: TagTarget,
    limit: Option<usize>,
    sources: Sources,
}

impl TagValuesJob {
    pub fn new(req: &SearchTagValuesRequest) -> Result<Self, BadSearch> {
        let target = if req.v2 {
            match strata_traceql::parse_identifier(&req.tag_name) {
                Ok(FieldExpr::Attribute(a)) => TagTarget::Attribute(a),
                Ok(FieldExpr::Intrinsic(i)) => TagTarget::Intrinsic(i),
                _ => return Err(BadSearch(format!("invalid tag name: {}", req.tag_name))),
            }
        } else {
            TagTarget::Legacy(req.tag_name.clone())
        };
        Ok(Self {
            target,
            limit: (req.max_tag_values != 0).then_some(req.max_tag_values as usize),
            sources: Sources::new(&req.query, req.start, req.end),
        })
    }
}

impl TagQuery for TagValuesJob {
    type Collector = TagValuesCollector;
    type Response = SearchTagValuesV2Response;

    fn collector(&self) -> TagValuesCollector {
        TagValuesCollector::new(&self.target, self.limit, DEFAULT_MAX_BYTES)
    }

    /// Empty for `status` and `kind` (fixed lists).
    fn data_columns(&self) -> Vec<&'static str> {
        TagValuesCollector::columns(&self.target)
    }

    fn sources(&self) -> &Sources {
        &self.sources
    }

    fn sources_mut(&mut self) -> &mut Sources {
        &mut self.sources
    }

    fn response(&self, c: TagValuesCollector) -> SearchTagValuesV2Response {
        let (values, _truncated) = c.finish();
        SearchTagValuesV2Response {
            tag_values: values
                .into_iter()
                .map(|v| PbTagValue {
                    r#type: v.kind.as_str().to_string(),
                    value: v.value,
                })
                .collect(),
            metrics: Some(MetadataMetrics {
                inspected_bytes: self.sources.inspected_bytes,
            }),
        }
    }
}
