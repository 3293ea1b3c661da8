//! Tag discovery: the tag names and tag values behind Tempo's `/api/search/tags`,
//! `/api/v2/search/tags`, `/api/search/tag/{tag}/values` and `/api/v2/search/tag/{tag}/values`.
//!
//! The HTTP layer builds one collector per request, feeds it every data source (live batches,
//! block batches; any order, any number of batches), or builds one collector per source and
//! [`merge`](TagNamesCollector::merge)s them, then calls `finish`. Each `add_batch` takes an
//! optional row mask: only spans whose mask bit is set (null counts as unset) contribute; the
//! caller derives it from the request's `q` filter. `None` means every span.
//!
//! # Tag names
//!
//! [`ScopeParam::parse`] reads the `scope` parameter (`resource`, `span`, `event`, `link`,
//! `instrumentation`, `intrinsic`, `none` or empty; anything else is Tempo's 400
//! `invalid scope`). [`ScopeParam::attribute_scopes`] lists the [`TagScope`]s whose attribute
//! keys a [`TagNamesCollector`] gathers:
//!
//! | scope | names from |
//! |---|---|
//! | `resource` | `resource_attrs` keys |
//! | `span` | `attrs` keys |
//! | `event` | `events[].attrs` keys |
//! | `link` | `links[].attrs` keys |
//! | `instrumentation` | `scope_attrs` keys |
//! | `none`/empty | all five |
//! | `intrinsic` | none (no data is read) |
//!
//! The `intrinsic` scope is never read from data: it is the fixed [`INTRINSIC_TAGS`] list, which
//! the caller adds (as Tempo's frontend does) for v2 when [`ScopeParam::intrinsics_v2`] and for
//! v1 only when [`ScopeParam::intrinsics_v1`] (explicit `scope=intrinsic`). v1 unscoped returns
//! the union of all five scopes' names ([`TagNamesCollector::finish_flat`]), as Tempo's
//! live-store and querier flatten the v2 answer.
//!
//! # Tag values
//!
//! A [`TagTarget`] names the tag. v2 targets carry the parsed TraceQL identifier; v1 targets
//! carry the raw name ([`TagTarget::Legacy`]). What each yields:
//!
//! | target | values |
//! |---|---|
//! | `span.x`, `resource.x`, `event.x`, `link.x`, `instrumentation.x` | that scope's attribute `x` |
//! | `.x` | span and resource attributes `x` |
//! | `name`, `span:name` | span names (`string`) |
//! | `statusMessage`, `span:statusMessage` | status messages (`string`) |
//! | `status`, `span:status` | fixed keywords `ok`, `error`, `unset` (no data read) |
//! | `kind`, `span:kind` | fixed keywords `client`, `server`, `producer`, `consumer`, `internal`, `unspecified` (no data read) |
//! | `rootName`, `trace:rootName` / `rootServiceName`, `trace:rootService` | name / service name of root spans (`string`) |
//! | `event:name` | event names (`string`) |
//! | `instrumentation:name`, `instrumentation:version` | scope name / version (`string`) |
//! | durations, IDs, `span:childCount`, nested-set, `parent` | nothing |
//!
//! Attribute values are typed: string → `string`, int → `int` (decimal), double → `float`
//! (Go `strconv.FormatFloat(v, 'g', -1, 64)` plus `.0` when the text has neither `e` nor `.`,
//! e.g. `2.0`, `1.5`, `1e+06`), bool → `bool` (`true`/`false`). An array attribute contributes
//! each element when all its elements are strings, or all ints, doubles or bools (Tempo stores
//! exactly those arrays element-wise); mixed or nested arrays, kvlists, bytes and empty values
//! contribute nothing. Empty strings are kept for attributes; the intrinsic string columns skip
//! them (an absent status or scope is not a value).
//!
//! v1 ([`TagTarget::Legacy`]) values are plain strings, distinct by text: the same rendering
//! without the type. Tempo's v1 name mapping applies: `status.code` → `unset`, `ok`, `error`;
//! `error` → `true` plus attribute `error`; `name` → span names; `rootName`/`root.name` and
//! `rootServiceName`/`root.service.name` → root span name / service; `trace:id`, `span:id` →
//! nothing; `service.name`, `cluster`, `namespace`, `pod`, `container`, `k8s.cluster.name`,
//! `k8s.namespace.name`, `k8s.pod.name`, `k8s.container.name` → resource attribute;
//! `http.method`, `http.url`, `http.status_code` → span attribute; anything else → span or
//! resource attribute.
//!
//! # Limits
//!
//! Tempo's semantics, with `0` (or `Some(0)`) meaning unlimited:
//! * values: at most `limit` distinct values; a value is accepted only while the running total of
//!   value sizes stays below `max_bytes` (size = `len(type) + len(value)` for v2, `len(value)` for
//!   v1). The first value that does not fit stops collection and marks the result truncated.
//! * names: at most `limit_per_scope` names per scope (a full scope stops, the others go on); a
//!   name is accepted only while the total of name lengths over all scopes stays within
//!   `max_bytes`; the first overflow stops all scopes.
//!
//! Duplicates never count as truncation. Output is sorted (names bytewise; values by text,
//! then type name); which values survive a limit depends on the order data is fed, as in Tempo.
//!
//! # Deviations from Tempo (deliberate)
//! * unscoped `.x` values come from span and resource attributes only (Tempo's unfiltered block
//!   scan also reads instrumentation-scope attributes; its filtered path and TraceQL `.x` do not);
//! * a per-scope name limit stops only that scope (Tempo stops every scope);
//! * `trace:duration` and `event:timeSinceStart` yield nothing, like `duration` (Tempo returns raw
//!   integers from an unfiltered block scan); v1 `status.code` yields only the keywords (Tempo
//!   also adds the raw integer codes); Tempo's own v2 value order is unspecified.
//! * `parent.` on an attribute target is ignored (Tempo ignores it too).

mod columns;
mod names;
mod render;
mod values;

pub use names::TagNamesCollector;
pub use values::TagValuesCollector;

/// Tempo's `max_bytes_per_tag_values_query` default.
pub const DEFAULT_MAX_BYTES: usize = 1_000_000;

/// The fixed `intrinsic` scope of tag names, in Tempo's order (`GetVirtualIntrinsicValues`).
pub const INTRINSIC_TAGS: &[&str] = &[
    "duration",
    "name",
    "status",
    "statusMessage",
    "kind",
    "rootServiceName",
    "rootName",
    "traceDuration",
    "event:name",
    "event:timeSinceStart",
    "link:spanID",
    "link:traceID",
    "instrumentation:name",
    "instrumentation:version",
    "trace:id",
    "span:id",
    "span:parentID",
    "span:status",
    "span:statusMessage",
    "span:duration",
    "span:name",
    "span:kind",
    "trace:rootName",
    "trace:rootService",
    "trace:duration",
];

/// An attribute scope whose keys are tag names. Declaration order is output order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TagScope {
    Resource,
    Span,
    Event,
    Link,
    Instrumentation,
}

impl TagScope {
    /// All scopes, in output order.
    pub const ALL: [TagScope; 5] = [
        TagScope::Resource,
        TagScope::Span,
        TagScope::Event,
        TagScope::Link,
        TagScope::Instrumentation,
    ];

    /// The scope's name in requests and v2 responses.
    pub fn as_str(self) -> &'static str {
        match self {
            TagScope::Resource => "resource",
            TagScope::Span => "span",
            TagScope::Event => "event",
            TagScope::Link => "link",
            TagScope::Instrumentation => "instrumentation",
        }
    }

    /// `resource`, `span`, `event`, `link` or `instrumentation`.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == s)
    }
}

/// The `scope` parameter of a tag-names request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScopeParam {
    /// Empty or `none`: every attribute scope (plus `intrinsic` for v2).
    All,
    /// `intrinsic`: only the fixed [`INTRINSIC_TAGS`]; no data is read.
    Intrinsic,
    /// One attribute scope.
    Only(TagScope),
}

impl ScopeParam {
    /// Parses the parameter; `None` is Tempo's 400 `invalid scope`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "" | "none" => Some(ScopeParam::All),
            "intrinsic" => Some(ScopeParam::Intrinsic),
            other => TagScope::parse(other).map(ScopeParam::Only),
        }
    }

    /// The scopes a [`TagNamesCollector`] must gather (empty for `intrinsic`).
    pub fn attribute_scopes(self) -> Vec<TagScope> {
        match self {
            ScopeParam::All => TagScope::ALL.to_vec(),
            ScopeParam::Intrinsic => Vec::new(),
            ScopeParam::Only(s) => vec![s],
        }
    }

    /// v2 adds the `intrinsic` scope for unscoped, `none` and `intrinsic` requests.
    pub fn intrinsics_v2(self) -> bool {
        matches!(self, ScopeParam::All | ScopeParam::Intrinsic)
    }

    /// v1 adds the intrinsic names only for an explicit `scope=intrinsic`.
    pub fn intrinsics_v1(self) -> bool {
        self == ScopeParam::Intrinsic
    }
}

/// The tag whose values are wanted.
#[derive(Debug, Clone, PartialEq)]
pub enum TagTarget {
    /// v2 attribute (`span.x`, `.x`, `event.x`, ...).
    Attribute(strata_traceql::Attribute),
    /// v2 intrinsic (`name`, `status`, `span:kind`, ...).
    Intrinsic(strata_traceql::Intrinsic),
    /// v1 plain tag name (`service.name`, `status.code`, ...): untyped values.
    Legacy(String),
}

/// The `type` of a v2 tag value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TagValueType {
    String,
    Int,
    Float,
    Bool,
    Duration,
    Keyword,
}

impl TagValueType {
    /// The name in v2 JSON (`string`, `int`, `float`, `bool`, `duration`, `keyword`).
    pub fn as_str(self) -> &'static str {
        match self {
            TagValueType::String => "string",
            TagValueType::Int => "int",
            TagValueType::Float => "float",
            TagValueType::Bool => "bool",
            TagValueType::Duration => "duration",
            TagValueType::Keyword => "keyword",
        }
    }
}

/// One distinct tag value. For v1 ([`TagTarget::Legacy`]) targets `kind` is always
/// [`TagValueType::String`] and only `value` is meaningful.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TagValue {
    pub kind: TagValueType,
    pub value: String,
}
