//! [`TagValuesCollector`]: distinct values of one tag.

use std::collections::HashMap;

use arrow_array::{BooleanArray, RecordBatch};
use arrow_select::filter::filter;
use strata_block::schema::col;
use strata_traceql::{AttributeScope, Intrinsic};

use super::columns::{
    attr_values, check_mask, column, emit_strings, event_names, masked, root_rows, scope_attrs,
    scope_column,
};
use super::render::Scalar;
use super::{TagScope, TagTarget, TagValue, TagValueType};
use crate::EngineError;

/// Where a target's values come from.
#[derive(Debug, Clone)]
enum Source {
    /// Nothing is read: only the fixed values, if any.
    Nothing,
    /// Attributes named `name` in these scopes.
    Attrs { scopes: Vec<TagScope>, name: String },
    /// A string column of the selected spans.
    Column(&'static str),
    /// Names of the selected spans' events.
    EventNames,
    /// A string column of the root span of each trace with a selected span.
    Root(&'static str),
}

const KEYWORD: TagValueType = TagValueType::Keyword;
const STRING: TagValueType = TagValueType::String;

/// `status` keywords in Tempo's order (`GetVirtualTagValuesV2`).
const STATUS_KEYWORDS: &[(TagValueType, &str)] =
    &[(KEYWORD, "ok"), (KEYWORD, "error"), (KEYWORD, "unset")];
/// `kind` keywords in Tempo's order.
const KIND_KEYWORDS: &[(TagValueType, &str)] = &[
    (KEYWORD, "client"),
    (KEYWORD, "server"),
    (KEYWORD, "producer"),
    (KEYWORD, "consumer"),
    (KEYWORD, "internal"),
    (KEYWORD, "unspecified"),
];
/// v1 `status.code` (`GetVirtualTagValues`).
const STATUS_CODE_V1: &[(TagValueType, &str)] =
    &[(STRING, "unset"), (STRING, "ok"), (STRING, "error")];
/// v1 `error`.
const ERROR_V1: &[(TagValueType, &str)] = &[(STRING, "true")];

/// v1 names Tempo directs to resource attributes only.
const V1_RESOURCE_LABELS: &[&str] = &[
    "service.name",
    "cluster",
    "namespace",
    "pod",
    "container",
    "k8s.cluster.name",
    "k8s.namespace.name",
    "k8s.pod.name",
    "k8s.container.name",
];
/// v1 names Tempo directs to span attributes only.
const V1_SPAN_LABELS: &[&str] = &["http.method", "http.url", "http.status_code"];

fn attrs(scopes: &[TagScope], name: &str) -> Source {
    Source::Attrs {
        scopes: scopes.to_vec(),
        name: name.to_string(),
    }
}

/// The fixed values and the data source of a target.
fn resolve(target: &TagTarget) -> (&'static [(TagValueType, &'static str)], Source) {
    const SPAN_OR_RESOURCE: &[TagScope] = &[TagScope::Span, TagScope::Resource];
    match target {
        TagTarget::Attribute(a) => {
            let scopes: &[TagScope] = match a.scope {
                AttributeScope::None => SPAN_OR_RESOURCE,
                AttributeScope::Span => &[TagScope::Span],
                AttributeScope::Resource => &[TagScope::Resource],
                AttributeScope::Event => &[TagScope::Event],
                AttributeScope::Link => &[TagScope::Link],
                AttributeScope::Instrumentation => &[TagScope::Instrumentation],
            };
            (&[], attrs(scopes, &a.name))
        }
        TagTarget::Intrinsic(i) => match i {
            Intrinsic::Status => (STATUS_KEYWORDS, Source::Nothing),
            Intrinsic::Kind => (KIND_KEYWORDS, Source::Nothing),
            Intrinsic::Name => (&[], Source::Column(col::NAME)),
            Intrinsic::StatusMessage => (&[], Source::Column(col::STATUS_MESSAGE)),
            Intrinsic::TraceRootName => (&[], Source::Root(col::NAME)),
            Intrinsic::TraceRootService => (&[], Source::Root(col::SERVICE_NAME)),
            Intrinsic::EventName => (&[], Source::EventNames),
            Intrinsic::InstrumentationName => (&[], Source::Column(col::SCOPE_NAME)),
            Intrinsic::InstrumentationVersion => (&[], Source::Column(col::SCOPE_VERSION)),
            // durations, IDs, structure: no values (as Tempo)
            _ => (&[], Source::Nothing),
        },
        TagTarget::Legacy(name) => match name.as_str() {
            "status.code" => (STATUS_CODE_V1, Source::Nothing),
            "error" => (ERROR_V1, attrs(SPAN_OR_RESOURCE, name)),
            "name" => (&[], Source::Column(col::NAME)),
            "rootServiceName" | "root.service.name" => (&[], Source::Root(col::SERVICE_NAME)),
            "rootName" | "root.name" => (&[], Source::Root(col::NAME)),
            "trace:id" | "span:id" => (&[], Source::Nothing),
            n if V1_RESOURCE_LABELS.contains(&n) => (&[], attrs(&[TagScope::Resource], n)),
            n if V1_SPAN_LABELS.contains(&n) => (&[], attrs(&[TagScope::Span], n)),
            n => (&[], attrs(SPAN_OR_RESOURCE, n)),
        },
    }
}

const ALL_TYPES: [TagValueType; 6] = [
    TagValueType::String,
    TagValueType::Int,
    TagValueType::Float,
    TagValueType::Bool,
    TagValueType::Duration,
    TagValueType::Keyword,
];

fn bit(kind: TagValueType) -> u8 {
    1 << (kind as u8)
}

/// The distinct values with their limits.
#[derive(Debug, Clone)]
struct Acc {
    /// v1: values are untyped (all [`TagValueType::String`]) and sized without the type.
    legacy: bool,
    limit: Option<usize>,
    max_bytes: usize,
    /// value text → set of types (bit per [`TagValueType`]).
    values: HashMap<String, u8>,
    count: usize,
    bytes: usize,
    truncated: bool,
}

impl Acc {
    fn at_limit(&self) -> bool {
        self.limit.is_some_and(|l| self.count >= l)
    }

    /// Adds a value; `false` once nothing more is accepted.
    fn add(&mut self, kind: TagValueType, value: &str) -> bool {
        if self.truncated {
            return false;
        }
        let kind = if self.legacy { STRING } else { kind };
        let b = bit(kind);
        if self.values.get(value).is_some_and(|&set| set & b != 0) {
            return true;
        }
        let size = value.len() + if self.legacy { 0 } else { kind.as_str().len() };
        if self.at_limit() || (self.max_bytes > 0 && self.bytes + size >= self.max_bytes) {
            self.truncated = true;
            return false;
        }
        self.bytes += size;
        self.count += 1;
        match self.values.get_mut(value) {
            Some(set) => *set |= b,
            None => {
                self.values.insert(value.to_string(), b);
            }
        }
        true
    }

    fn add_scalar(&mut self, s: Scalar<'_>) {
        match s {
            Scalar::Str(v) => self.add(STRING, v),
            other => {
                let (kind, text) = other.render();
                self.add(kind, &text)
            }
        };
    }

    /// All values, sorted by text, then type name.
    fn sorted(self) -> Vec<TagValue> {
        let mut out: Vec<TagValue> = Vec::with_capacity(self.count);
        for (value, set) in self.values {
            for kind in ALL_TYPES.into_iter().filter(|&k| set & bit(k) != 0) {
                out.push(TagValue {
                    kind,
                    value: value.clone(),
                });
            }
        }
        out.sort_unstable_by(|a, b| {
            (a.value.as_str(), a.kind.as_str()).cmp(&(b.value.as_str(), b.kind.as_str()))
        });
        out
    }
}

/// Accumulates the distinct values of one [`TagTarget`] under a value limit and a byte cap
/// (see the [module docs](super) for what each target yields and the limit semantics).
#[derive(Debug, Clone)]
pub struct TagValuesCollector {
    source: Source,
    acc: Acc,
}

impl TagValuesCollector {
    /// A collector for `target`, already holding its fixed values (`status`, `kind`,
    /// v1 `status.code`, v1 `error`). `limit` of `None` or `Some(0)` and `max_bytes` of 0 mean
    /// unlimited; Tempo's default cap is [`DEFAULT_MAX_BYTES`](super::DEFAULT_MAX_BYTES).
    pub fn new(target: &TagTarget, limit: Option<usize>, max_bytes: usize) -> Self {
        let (fixed, source) = resolve(target);
        let mut acc = Acc {
            legacy: matches!(target, TagTarget::Legacy(_)),
            limit: limit.filter(|&l| l > 0),
            max_bytes,
            values: HashMap::new(),
            count: 0,
            bytes: 0,
            truncated: false,
        };
        for &(kind, value) in fixed {
            acc.add(kind, value);
        }
        Self { source, acc }
    }

    /// The batch columns [`add_batch`](Self::add_batch) reads for `target`. Empty when the
    /// answer does not depend on data (callers may then skip reading entirely).
    pub fn columns(target: &TagTarget) -> Vec<&'static str> {
        let mut cols = match resolve(target).1 {
            Source::Nothing => vec![],
            Source::Attrs { scopes, .. } => scopes.into_iter().map(scope_column).collect(),
            Source::Column(c) => vec![c],
            Source::EventNames => vec![col::EVENTS],
            Source::Root(c) => vec![col::TRACE_ID, col::PARENT_SPAN_ID, c],
        };
        cols.sort_unstable();
        cols.dedup();
        cols
    }

    /// Adds the values found in the rows of `batch` selected by `rows` (`None`: all rows).
    pub fn add_batch(
        &mut self,
        batch: &RecordBatch,
        rows: Option<&BooleanArray>,
    ) -> Result<(), EngineError> {
        check_mask(batch, rows)?;
        if self.acc.truncated {
            return Ok(());
        }
        let acc = &mut self.acc;
        match &self.source {
            Source::Nothing => {}
            Source::Attrs { scopes, name } => {
                for &scope in scopes {
                    let entries = scope_attrs(batch, scope, rows)?;
                    attr_values(&entries, name, |s| acc.add_scalar(s))?;
                }
            }
            Source::Column(c) => {
                let values = masked(column(batch, c)?, rows)?;
                emit_strings(values.as_ref(), c, |v| {
                    acc.add(STRING, v);
                })?;
            }
            Source::EventNames => {
                let names = event_names(batch, rows)?;
                emit_strings(names.as_ref(), col::EVENTS, |v| {
                    acc.add(STRING, v);
                })?;
            }
            Source::Root(c) => {
                let roots = root_rows(batch, rows)?;
                let values = filter(column(batch, c)?.as_ref(), &roots)?;
                emit_strings(values.as_ref(), c, |v| {
                    acc.add(STRING, v);
                })?;
            }
        }
        Ok(())
    }

    /// Adds everything `other` (built for the same target) collected, in sorted order.
    pub fn merge(&mut self, other: TagValuesCollector) {
        self.acc.truncated |= other.acc.truncated;
        for v in other.acc.sorted() {
            if !self.acc.add(v.kind, &v.value) {
                break;
            }
        }
    }

    /// Some value was dropped by the limit or the byte cap.
    pub fn truncated(&self) -> bool {
        self.acc.truncated
    }

    /// Nothing more can be accepted; callers may stop reading data (at the limit, a value
    /// is only known to be dropped, i.e. [`truncated`](Self::truncated), once one is seen).
    pub fn is_full(&self) -> bool {
        self.acc.truncated || self.acc.at_limit()
    }

    /// The values, sorted by text then type name, and whether some were dropped.
    pub fn finish(self) -> (Vec<TagValue>, bool) {
        let truncated = self.acc.truncated;
        (self.acc.sorted(), truncated)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_cap_is_strict_and_counts_type_names() {
        let t = TagTarget::Attribute(strata_traceql::Attribute {
            scope: AttributeScope::Span,
            parent: false,
            name: "x".into(),
        });
        // "string" (6) + "ab" (2) = 8: fits under 10, a second one would reach 16.
        let mut c = TagValuesCollector::new(&t, None, 10);
        assert!(c.acc.add(STRING, "ab"));
        assert!(c.acc.add(STRING, "ab"), "duplicate");
        assert!(!c.acc.add(STRING, "c"));
        let (vals, truncated) = c.finish();
        assert_eq!(vals.len(), 1);
        assert!(truncated);
    }

    #[test]
    fn legacy_values_are_untyped() {
        let mut c = TagValuesCollector::new(&TagTarget::Legacy("x".into()), None, 0);
        assert!(c.acc.add(TagValueType::Int, "1"));
        assert!(c.acc.add(STRING, "1"));
        let (vals, _) = c.finish();
        assert_eq!(vals.len(), 1);
        assert_eq!(vals[0].kind, STRING);
    }

    #[test]
    fn same_text_different_types_are_distinct() {
        let t = TagTarget::Attribute(strata_traceql::Attribute {
            scope: AttributeScope::None,
            parent: false,
            name: "x".into(),
        });
        let mut c = TagValuesCollector::new(&t, Some(3), 0);
        c.acc.add(STRING, "1");
        c.acc.add(TagValueType::Int, "1");
        let (vals, truncated) = c.finish();
        let kinds: Vec<_> = vals.iter().map(|v| v.kind).collect();
        assert_eq!(kinds, [TagValueType::Int, STRING]);
        assert!(!truncated);
    }
}
