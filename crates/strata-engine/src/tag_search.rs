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

/// A tag-names request.
pub struct TagNamesJob {
    scope: ScopeParam,
    filter: Option<SearchPlan>,
    limit: Option<usize>,
    range: Option<(u64, u64)>,
    pub inspected_bytes: u64,
}

impl TagNamesJob {
    pub fn new(req: &SearchTagsRequest) -> Result<Self, BadSearch> {
        let scope = ScopeParam::parse(&req.scope)
            .ok_or_else(|| BadSearch(format!("invalid scope: {}", req.scope)))?;
        Ok(Self {
            scope,
            filter: filter(&req.query),
            limit: (req.max_tags_per_scope != 0).then_some(req.max_tags_per_scope as usize),
            range: range_ns(req.start, req.end),
            inspected_bytes: 0,
        })
    }

    pub fn collector(&self) -> TagNamesCollector {
        TagNamesCollector::new(
            &self.scope.attribute_scopes(),
            self.limit,
            DEFAULT_MAX_BYTES,
        )
    }

    pub fn add_batch(
        &self,
        batch: &RecordBatch,
        c: &mut TagNamesCollector,
    ) -> Result<(), EngineError> {
        let m = mask(self.filter.as_ref(), batch)?;
        c.add_batch(batch, m.as_ref())
    }

    pub async fn add_block(
        &mut self,
        reader: &BlockReader,
        c: &mut TagNamesCollector,
    ) -> Result<(), EngineError> {
        let cols = columns(
            TagNamesCollector::columns(&self.scope.attribute_scopes()),
            self.filter.as_ref(),
        );
        let filter = self.filter.clone();
        let n = scan_block(reader, cols, self.range, |b| {
            let m = mask(filter.as_ref(), b)?;
            c.add_batch(b, m.as_ref())?;
            Ok(!c.is_full())
        })
        .await?;
        self.inspected_bytes += n;
        Ok(())
    }

    /// The attribute scopes found (no `intrinsic` scope).
    pub fn response(&self, c: TagNamesCollector) -> SearchTagsV2Response {
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
                inspected_bytes: self.inspected_bytes,
            }),
        }
    }
}

/// A tag-values request.
pub struct TagValuesJob {
    target: TagTarget,
    filter: Option<SearchPlan>,
    limit: Option<usize>,
    range: Option<(u64, u64)>,
    pub inspected_bytes: u64,
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
            filter: filter(&req.query),
            limit: (req.max_tag_values != 0).then_some(req.max_tag_values as usize),
            range: range_ns(req.start, req.end),
            inspected_bytes: 0,
        })
    }

    pub fn collector(&self) -> TagValuesCollector {
        TagValuesCollector::new(&self.target, self.limit, DEFAULT_MAX_BYTES)
    }

    /// Whether values come from data at all (`status` and `kind` are fixed lists).
    pub fn reads_data(&self) -> bool {
        !TagValuesCollector::columns(&self.target).is_empty()
    }

    pub fn add_batch(
        &self,
        batch: &RecordBatch,
        c: &mut TagValuesCollector,
    ) -> Result<(), EngineError> {
        let m = mask(self.filter.as_ref(), batch)?;
        c.add_batch(batch, m.as_ref())
    }

    pub async fn add_block(
        &mut self,
        reader: &BlockReader,
        c: &mut TagValuesCollector,
    ) -> Result<(), EngineError> {
        if !self.reads_data() {
            return Ok(());
        }
        let cols = columns(
            TagValuesCollector::columns(&self.target),
            self.filter.as_ref(),
        );
        let filter = self.filter.clone();
        let n = scan_block(reader, cols, self.range, |b| {
            let m = mask(filter.as_ref(), b)?;
            c.add_batch(b, m.as_ref())?;
            Ok(!c.is_full())
        })
        .await?;
        self.inspected_bytes += n;
        Ok(())
    }

    pub fn response(&self, c: TagValuesCollector) -> SearchTagValuesV2Response {
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
                inspected_bytes: self.inspected_bytes,
            }),
        }
    }
}

/// What the ingester and querier need of either tag request, to run it over any sources.
pub trait TagQuery: Send + 'static {
    type Collector: Send + 'static;
    type Response;
    fn collector(&self) -> Self::Collector;
    /// Whether the answer depends on data at all.
    fn reads_data(&self) -> bool;
    fn add_batch(&self, batch: &RecordBatch, c: &mut Self::Collector) -> Result<(), EngineError>;
    /// Whether the collector has reached a limit (reading more cannot change the answer).
    fn is_full(c: &Self::Collector) -> bool;
    fn add_block(
        &mut self,
        reader: &BlockReader,
        c: &mut Self::Collector,
    ) -> impl std::future::Future<Output = Result<(), EngineError>> + Send;
    fn add_inspected_bytes(&mut self, bytes: u64);
    fn response(&self, c: Self::Collector) -> Self::Response;
}

impl TagQuery for TagNamesJob {
    type Collector = TagNamesCollector;
    type Response = SearchTagsV2Response;
    fn collector(&self) -> TagNamesCollector {
        TagNamesJob::collector(self)
    }
    fn reads_data(&self) -> bool {
        !self.scope.attribute_scopes().is_empty()
    }
    fn add_batch(&self, batch: &RecordBatch, c: &mut TagNamesCollector) -> Result<(), EngineError> {
        TagNamesJob::add_batch(self, batch, c)
    }
    fn is_full(c: &TagNamesCollector) -> bool {
        c.is_full()
    }
    async fn add_block(
        &mut self,
        reader: &BlockReader,
        c: &mut TagNamesCollector,
    ) -> Result<(), EngineError> {
        TagNamesJob::add_block(self, reader, c).await
    }
    fn add_inspected_bytes(&mut self, bytes: u64) {
        self.inspected_bytes += bytes;
    }
    fn response(&self, c: TagNamesCollector) -> SearchTagsV2Response {
        TagNamesJob::response(self, c)
    }
}

impl TagQuery for TagValuesJob {
    type Collector = TagValuesCollector;
    type Response = SearchTagValuesV2Response;
    fn collector(&self) -> TagValuesCollector {
        TagValuesJob::collector(self)
    }
    fn reads_data(&self) -> bool {
        TagValuesJob::reads_data(self)
    }
    fn add_batch(
        &self,
        batch: &RecordBatch,
        c: &mut TagValuesCollector,
    ) -> Result<(), EngineError> {
        TagValuesJob::add_batch(self, batch, c)
    }
    fn is_full(c: &TagValuesCollector) -> bool {
        c.is_full()
    }
    async fn add_block(
        &mut self,
        reader: &BlockReader,
        c: &mut TagValuesCollector,
    ) -> Result<(), EngineError> {
        TagValuesJob::add_block(self, reader, c).await
    }
    fn add_inspected_bytes(&mut self, bytes: u64) {
        self.inspected_bytes += bytes;
    }
    fn response(&self, c: TagValuesCollector) -> SearchTagValuesV2Response {
        TagValuesJob::response(self, c)
    }
}
