//! Every tenant's series as one scrape page, each series with a `tenant` label.
//!
//! Two formats: the Prometheus text format 0.0.4 (the default), and OpenMetrics 1.0 when the
//! scraper asks for `application/openmetrics-text` — the only one of the two that carries
//! exemplars (on the `_bucket` sample the exemplar fell in: `trace_id`, `span_id` when the
//! exemplar is one span, value, timestamp).

use std::fmt::Write as _;

use crate::labels::{decode_key, write_float, write_label_value};
use crate::registry::{Cell, InstrumentSpec, Series, TenantRegistry};

/// The exposition format of a page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Prometheus,
    OpenMetrics,
}

impl Format {
    /// The format an `Accept` header asks for.
    pub fn negotiate(accept: Option<&str>) -> Self {
        match accept {
            Some(a) if a.contains("application/openmetrics-text") => Format::OpenMetrics,
            _ => Format::Prometheus,
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Format::Prometheus => "text/plain; version=0.0.4; charset=utf-8",
            Format::OpenMetrics => "application/openmetrics-text; version=1.0.0; charset=utf-8",
        }
    }
}

/// Writes the `# HELP`/`# TYPE` header and every tenant's samples of instrument `i` of group
/// `g`. `tenants` yields (tenant, registry) pairs; the registry must be locked by the caller.
pub fn write_instrument<'a>(
    out: &mut String,
    format: Format,
    g: usize,
    i: usize,
    spec: &InstrumentSpec,
    tenants: impl Iterator<Item = (&'a str, &'a TenantRegistry)>,
) {
    let (family, kind, help) = match spec {
        InstrumentSpec::Counter { name, help } => {
            let family = match format {
                Format::OpenMetrics => name.strip_suffix("_total").unwrap_or(name),
                Format::Prometheus => name,
            };
            (family, "counter", help)
        }
        InstrumentSpec::Histogram { name, help, .. } => (name.as_str(), "histogram", help),
    };
    let _ = writeln!(out, "# HELP {family} {help}");
    let _ = writeln!(out, "# TYPE {family} {kind}");
    for (tenant, reg) in tenants {
        let Some(group) = reg.groups.get(g) else {
            continue;
        };
        let names = &group.spec.label_names;
        for (key, series) in &group.series {
            let mut labels = String::new();
            for (name, value) in names.iter().zip(decode_key(key)) {
                if value.is_empty() {
                    continue;
                }
                let _ = write!(labels, "{name}=\"");
                write_label_value(&mut labels, value);
                labels.push_str("\",");
            }
            labels.push_str("tenant=\"");
            write_label_value(&mut labels, tenant);
            labels.push('"');
            write_series(out, format, spec, i, &labels, series);
        }
    }
}

fn write_series(
    out: &mut String,
    format: Format,
    spec: &InstrumentSpec,
    i: usize,
    labels: &str,
    series: &Series,
) {
    match (spec, &series.cells[i]) {
        (InstrumentSpec::Counter { name, .. }, Cell::Counter(v)) => {
            let _ = write!(out, "{name}{{{labels}}} ");
            write_float(out, *v);
            out.push('\n');
        }
        (InstrumentSpec::Histogram { name, buckets, .. }, Cell::Histogram(h)) => {
            let ex_bucket = h
                .exemplar
                .filter(|_| format == Format::OpenMetrics)
                .map(|e| (buckets.partition_point(|le| *le < e.value), e));
            let mut cumulative = 0u64;
            for (b, n) in h.counts.iter().enumerate() {
                cumulative += n;
                let _ = write!(out, "{name}_bucket{{{labels},le=\"");
                match buckets.get(b) {
                    Some(le) => write_float(out, *le),
                    None => out.push_str("+Inf"),
                }
                let _ = write!(out, "\"}} {cumulative}");
                if let Some((eb, e)) = ex_bucket.filter(|(eb, _)| *eb == b) {
                    debug_assert_eq!(eb, b);
                    let _ = write!(out, " # {{trace_id=\"{}\"", hex::encode(e.trace_id));
                    // Service-graph exemplars name a trace, not one span.
                    if e.span_id != [0; 8] {
                        let _ = write!(out, ",span_id=\"{}\"", hex::encode(e.span_id));
                    }
                    out.push_str("} ");
                    write_float(out, e.value);
                    let _ = write!(out, " {}.{:03}", e.unix_ms / 1000, e.unix_ms % 1000);
                }
                out.push('\n');
            }
            let _ = write!(out, "{name}_sum{{{labels}}} ");
            write_float(out, h.sum);
            let _ = writeln!(out, "\n{name}_count{{{labels}}} {}", h.count);
        }
        _ => {}
    }
}

/// Writes `traces_target_info` (a gauge; OpenMetrics calls the family an info metric but a
/// gauge of value 1 reads the same) with every tenant's info series, if any has one.
pub fn write_info<'a>(
    out: &mut String,
    name: &str,
    tenants: impl Iterator<Item = (&'a str, &'a TenantRegistry)> + Clone,
) {
    if tenants.clone().all(|(_, r)| r.info.is_empty()) {
        return;
    }
    let _ = writeln!(
        out,
        "# HELP {name} Resource attributes of the services seen in spans"
    );
    let _ = writeln!(out, "# TYPE {name} gauge");
    for (tenant, reg) in tenants {
        for labels in reg.info.keys() {
            let _ = write!(out, "{name}{{");
            for (n, v) in labels.iter() {
                let _ = write!(out, "{n}=\"");
                write_label_value(out, v);
                out.push_str("\",");
            }
            out.push_str("tenant=\"");
            write_label_value(out, tenant);
            out.push_str("\"} 1\n");
        }
    }
}
