//! `strata query`: trace by ID, TraceQL search and TraceQL metrics against a running
//! server's query API, printed as a table (or the server's JSON with `--json`); metrics
//! rendering is in `query_metrics`.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use prost::Message;
use strata_proto::otlp::common::any_value::Value as AnyValue;
use strata_proto::otlp::trace::{ResourceSpans, Span};
use strata_proto::tempopb::{
    QueryInstantResponse, QueryRangeResponse, SearchResponse, TraceByIdResponse,
};

#[derive(Args)]
pub struct QueryArgs {
    /// Base URL of the query API.
    #[arg(
        long,
        env = "STRATA_ADDR",
        default_value = "http://127.0.0.1:3200",
        global = true
    )]
    addr: String,
    /// Tenant (`X-Scope-OrgID`), when multitenancy is enabled.
    #[arg(long, env = "STRATA_ORG_ID", global = true)]
    org_id: Option<String>,
    /// Bearer token sent as `Authorization` (when `auth.enabled`). Prefer `STRATA_TOKEN` to
    /// the flag: the environment stays out of process listings.
    #[arg(long, env = "STRATA_TOKEN", hide_env_values = true, global = true)]
    token: Option<String>,
    /// Print the server's JSON instead of a table.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    what: QueryCommand,
}

#[derive(Subcommand)]
enum QueryCommand {
    /// Fetch one trace by ID.
    Trace { id: String },
    /// Search with TraceQL, newest traces first.
    Search {
        /// TraceQL, e.g. '{ resource.service.name = "api" && status = error }'.
        query: String,
        /// Most traces to return.
        #[arg(long, default_value_t = 20)]
        limit: u32,
        /// Spans shown per spanset.
        #[arg(long, default_value_t = 3)]
        spss: u32,
        /// Only traces in the last DURATION (e.g. 15m, 2h); default: everything.
        #[arg(long, value_parser = humantime::parse_duration)]
        since: Option<Duration>,
    },
    /// Run a TraceQL metrics query, e.g. '{ status = error } | rate() by (resource.service.name)'.
    Metrics {
        query: String,
        /// The range: the last DURATION.
        #[arg(long, default_value = "1h", value_parser = humantime::parse_duration)]
        since: Duration,
        /// Step between samples (e.g. 30s, 1m); default: the server's (about 240 points).
        #[arg(long, value_parser = humantime::parse_duration)]
        step: Option<Duration>,
        /// One value per series over the whole range (`/api/metrics/query`).
        #[arg(long)]
        instant: bool,
        /// List every sample instead of one row and chart per series.
        #[arg(long)]
        samples: bool,
    },
}

pub async fn run(args: QueryArgs) -> anyhow::Result<()> {
    let client = reqwest::Client::new();
    let base = args.addr.trim_end_matches('/').to_string();
    let accept = if args.json {
        "application/json"
    } else {
        "application/protobuf"
    };
    let (url, query): (String, Vec<(String, String)>) = match &args.what {
        QueryCommand::Trace { id } => (format!("{base}/api/v2/traces/{id}"), vec![]),
        QueryCommand::Search {
            query,
            limit,
            spss,
            since,
        } => {
            let mut q = vec![
                ("q".to_string(), query.clone()),
                ("limit".to_string(), limit.to_string()),
                ("spss".to_string(), spss.to_string()),
            ];
            if let Some(since) = since {
                let now = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs();
                q.push((
                    "start".into(),
                    now.saturating_sub(since.as_secs()).to_string(),
                ));
                q.push(("end".into(), (now + 1).to_string()));
            }
            (format!("{base}/api/search"), q)
        }
        QueryCommand::Metrics {
            query,
            since,
            step,
            instant,
            ..
        } => {
            let now = SystemTime::now().duration_since(UNIX_EPOCH)?;
            let end = now.as_secs_f64();
            let start = (now.saturating_sub(*since)).as_secs_f64();
            let mut q = vec![
                ("q".to_string(), query.clone()),
                ("start".to_string(), format!("{start:.3}")),
                ("end".to_string(), format!("{end:.3}")),
            ];
            if let Some(step) = step {
                q.push(("step".into(), format!("{}ms", step.as_millis())));
            }
            let path = if *instant { "query" } else { "query_range" };
            (format!("{base}/api/metrics/{path}"), q)
        }
    };
    let mut req = client.get(&url).query(&query).header("accept", accept);
    if let Some(org) = &args.org_id {
        req = req.header("x-scope-orgid", org);
    }
    if let Some(token) = &args.token {
        req = req.bearer_auth(token);
    }
    let resp = req.send().await.with_context(|| format!("GET {url}"))?;
    let status = resp.status();
    let partial = partial_note(resp.headers());
    let body = resp.bytes().await?;
    if !status.is_success() {
        bail!("{status}: {}", String::from_utf8_lossy(&body).trim());
    }
    if let Some(note) = partial {
        eprintln!("note: {note}");
    }
    if args.json {
        let v: serde_json::Value = serde_json::from_slice(&body)?;
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(());
    }
    match args.what {
        QueryCommand::Trace { id } => {
            let r = TraceByIdResponse::decode(body.as_ref())?;
            let rss = r.trace.map(|t| t.resource_spans).unwrap_or_default();
            if rss.is_empty() {
                bail!("trace {id} not found");
            }
            print!("{}", trace_table(&rss));
            if !r.message.is_empty() {
                eprintln!("note: {}", r.message);
            }
        }
        QueryCommand::Search { .. } => {
            let r = SearchResponse::decode(body.as_ref())?;
            print!("{}", search_table(&r));
        }
        QueryCommand::Metrics { instant: true, .. } => {
            let r = QueryInstantResponse::decode(body.as_ref())?;
            print!("{}", crate::query_metrics::instant_table(&r));
        }
        QueryCommand::Metrics { samples, .. } => {
            let r = QueryRangeResponse::decode(body.as_ref())?;
            if samples {
                print!("{}", crate::query_metrics::samples_table(&r));
            } else {
                print!("{}", crate::query_metrics::range_table(&r));
            }
        }
    }
    Ok(())
}

/// The server's reason when it marked the answer partial (`X-Strata-Status: PARTIAL`, e.g. a
/// search cut by the tenant's scan budget), from `X-Strata-Message`.
fn partial_note(headers: &reqwest::header::HeaderMap) -> Option<String> {
    let status = headers.get("x-strata-status")?.to_str().ok()?;
    if !status.eq_ignore_ascii_case("PARTIAL") {
        return None;
    }
    let message = headers
        .get("x-strata-message")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("the answer is partial");
    Some(message.to_string())
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn service(rs: &ResourceSpans) -> String {
    rs.resource
        .as_ref()
        .and_then(|r| r.attributes.iter().find(|kv| kv.key == "service.name"))
        .and_then(|kv| match kv.value.as_ref()?.value.as_ref()? {
            AnyValue::StringValue(s) => Some(s.clone()),
            _ => None,
        })
        .unwrap_or_default()
}

fn ms(ns: u64) -> String {
    format!("{:.3}", ns as f64 / 1e6)
}

fn status(span: &Span) -> &'static str {
    match span.status.as_ref().map(|s| s.code) {
        Some(1) => "ok",
        Some(2) => "error",
        _ => "",
    }
}

/// Spans in start order, with the offset from the trace start.
pub fn trace_table(rss: &[ResourceSpans]) -> String {
    let mut rows: Vec<(String, &Span)> = Vec::new();
    for rs in rss {
        let svc = service(rs);
        for ss in &rs.scope_spans {
            for s in &ss.spans {
                rows.push((svc.clone(), s));
            }
        }
    }
    rows.sort_by_key(|(_, s)| s.start_time_unix_nano);
    let t0 = rows.first().map_or(0, |(_, s)| s.start_time_unix_nano);
    let mut t = Table::new(&[
        "SPAN",
        "PARENT",
        "SERVICE",
        "NAME",
        "OFFSET_MS",
        "DURATION_MS",
        "STATUS",
    ]);
    for (svc, s) in &rows {
        t.row(vec![
            hex(&s.span_id),
            hex(&s.parent_span_id),
            svc.clone(),
            s.name.clone(),
            ms(s.start_time_unix_nano.saturating_sub(t0)),
            ms(s.end_time_unix_nano.saturating_sub(s.start_time_unix_nano)),
            status(s).to_string(),
        ]);
    }
    t.render()
}

pub fn search_table(r: &SearchResponse) -> String {
    let mut t = Table::new(&[
        "TRACE",
        "ROOT SERVICE",
        "ROOT NAME",
        "START",
        "DURATION_MS",
        "MATCHED",
    ]);
    for tr in &r.traces {
        let start = humantime::format_rfc3339_millis(
            UNIX_EPOCH + Duration::from_nanos(tr.start_time_unix_nano),
        );
        let matched: u32 = tr.span_sets.iter().map(|s| s.matched).sum();
        t.row(vec![
            tr.trace_id.clone(),
            tr.root_service_name.clone(),
            tr.root_trace_name.clone(),
            start.to_string(),
            tr.duration_ms.to_string(),
            matched.to_string(),
        ]);
    }
    let mut out = t.render();
    out.push_str(&format!("{} trace(s)\n", r.traces.len()));
    out
}

/// A left-aligned text table.
pub(crate) struct Table {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    pub(crate) fn new(header: &[&str]) -> Self {
        Self {
            header: header.iter().map(|s| s.to_string()).collect(),
            rows: Vec::new(),
        }
    }

    pub(crate) fn row(&mut self, r: Vec<String>) {
        self.rows.push(r);
    }

    pub(crate) fn render(&self) -> String {
        let mut widths: Vec<usize> = self.header.iter().map(|h| h.chars().count()).collect();
        for r in &self.rows {
            for (w, c) in widths.iter_mut().zip(r) {
                *w = (*w).max(c.chars().count());
            }
        }
        let line = |cells: &[String]| -> String {
            let parts: Vec<String> = cells
                .iter()
                .zip(&widths)
                .map(|(c, w)| format!("{c:<w$}"))
                .collect();
            format!("{}\n", parts.join("  ").trim_end())
        };
        let mut out = line(&self.header);
        for r in &self.rows {
            out.push_str(&line(r));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use strata_proto::tempopb::TraceSearchMetadata;

    #[test]
    fn search_table_lists_traces() {
        let r = SearchResponse {
            traces: vec![TraceSearchMetadata {
                trace_id: "abc".into(),
                root_service_name: "api".into(),
                root_trace_name: "GET /".into(),
                start_time_unix_nano: 1_700_000_000_000_000_000,
                duration_ms: 12,
                ..Default::default()
            }],
            metrics: None,
        };
        let out = search_table(&r);
        assert!(out.starts_with("TRACE"));
        let row: Vec<&str> = out
            .lines()
            .nth(1)
            .unwrap()
            .split("  ")
            .filter(|c| !c.is_empty())
            .map(str::trim)
            .collect();
        assert_eq!(row[..3], ["abc", "api", "GET /"]);
        assert!(out.contains("2023-11-14T22:13:20.000Z"));
        assert!(out.ends_with("1 trace(s)\n"));
    }

    #[test]
    fn a_partial_answer_is_noted_with_the_server_message() {
        use reqwest::header::{HeaderMap, HeaderValue};
        let mut h = HeaderMap::new();
        assert_eq!(partial_note(&h), None);
        h.insert("x-strata-status", HeaderValue::from_static("COMPLETE"));
        assert_eq!(partial_note(&h), None);
        h.insert("x-strata-status", HeaderValue::from_static("PARTIAL"));
        assert_eq!(partial_note(&h).as_deref(), Some("the answer is partial"));
        h.insert(
            "x-strata-message",
            HeaderValue::from_static("skipped 3 older blocks"),
        );
        assert_eq!(partial_note(&h).as_deref(), Some("skipped 3 older blocks"));
    }
}
