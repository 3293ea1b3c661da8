//! `strata loadgen`: synthetic traces over OTLP at a target rate, reporting accepted spans/s,
//! push latency and errors; and `--mode decode`, a one-thread prost decode baseline over the same
//! payloads.
//!
//! Payloads are generated and encoded before the clock starts (see [`payload`]); each send only
//! copies a template and rewrites its IDs and timestamps, so the measured path is the server's.

mod cpu;
mod payload;
mod sender;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use prost::Message;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use serde_json::json;

use payload::{Shape, Template};
use sender::{Outcome, Target};

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    /// OTLP/gRPC `TraceService/Export`.
    Grpc,
    /// OTLP/HTTP: protobuf `POST /v1/traces`.
    Http,
}

/// What a worker does after a refusal that names a retry delay.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum RetryAfter {
    /// Wait the delay (gRPC `RetryInfo`, HTTP `Retry-After`) plus up to a quarter more at
    /// random, as the OpenTelemetry SDK exporters and the Collector do, before the next send.
    Honor,
    /// Ignore it and back off 2 ms doubling to 256 ms: a client that hammers.
    Ignore,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Push to a server.
    Push,
    /// Decode the payloads with prost on one thread; no server involved.
    Decode,
}

#[derive(clap::Args, Debug)]
pub struct LoadgenArgs {
    /// Wire protocol.
    #[arg(long, value_enum, default_value_t = Protocol::Grpc)]
    pub protocol: Protocol,
    /// Server URL; default http://127.0.0.1:4317 (grpc) or http://127.0.0.1:4318 (http).
    /// Several URLs separated by commas spread the workers over them (e.g. two distributors).
    #[arg(long)]
    pub endpoint: Option<String>,
    /// Append `<trace-id-hex> <spans>` for every trace of every acknowledged request to this
    /// file, so a test can check that every acknowledged trace is readable.
    #[arg(long)]
    pub ack_log: Option<std::path::PathBuf>,
    /// How long to send (or decode) for, e.g. `30s`, `2m`.
    #[arg(long, default_value = "30s", value_parser = humantime::parse_duration)]
    pub duration: Duration,
    /// Target spans per second across all workers; 0 sends as fast as possible.
    #[arg(long, default_value_t = 0)]
    pub rate: u64,
    /// Requests in flight at once (one worker each).
    #[arg(long, default_value_t = 8)]
    pub concurrency: usize,
    /// Spans in each trace (one root, the rest children).
    #[arg(long, default_value_t = 10)]
    pub spans_per_trace: usize,
    /// Traces in each export request.
    #[arg(long, default_value_t = 50)]
    pub traces_per_request: usize,
    /// Attributes on each span.
    #[arg(long, default_value_t = 8)]
    pub attributes: usize,
    /// Attributes on each resource: the first N of `service.name`, `service.namespace`,
    /// `service.version`, `service.instance.id`, `deployment.environment.name`, `host.name`,
    /// `host.arch`, `os.type`, `k8s.namespace.name`, `k8s.pod.name`, `telemetry.sdk.name`,
    /// `telemetry.sdk.language`, `telemetry.sdk.version`; past 13, pod labels.
    #[arg(long, default_value_t = 13)]
    pub resource_attributes: usize,
    /// Distinct requests generated up front; sends cycle through them with fresh IDs.
    #[arg(long, default_value_t = 64)]
    pub payload_cache: usize,
    /// gzip request bodies (compressed on each send, so it costs loadgen CPU; for gRPC, tonic
    /// compresses and `bytes_sent` counts the bytes before compression).
    #[arg(long)]
    pub gzip: bool,
    /// Print the final report as one JSON object on stdout.
    #[arg(long)]
    pub json: bool,
    /// Tenant, sent as `X-Scope-OrgID`.
    #[arg(long)]
    pub tenant: Option<String>,
    /// Per-request timeout.
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    pub timeout: Duration,
    /// `push` sends to a server; `decode` is the single-thread prost decode baseline.
    #[arg(long, value_enum, default_value_t = Mode::Push)]
    pub mode: Mode,
    /// Same as `--mode decode`.
    #[arg(long)]
    pub baseline_decode: bool,
    /// No progress lines on stderr.
    #[arg(long, short)]
    pub quiet: bool,
    /// After a refusal that carries a retry delay: wait it (`honor`, what OTLP exporters do) or
    /// retry almost at once (`ignore`). Failures without a delay always back off 2 ms doubling
    /// to 256 ms.
    #[arg(long, value_enum, default_value_t = RetryAfter::Honor)]
    pub retry_after: RetryAfter,
    /// Seconds at the start of a push run left out of the timeline summary (min/median/max of
    /// accepted spans per second).
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    pub warmup: Duration,
}

pub async fn run(args: LoadgenArgs) -> anyhow::Result<()> {
    ensure!(
        args.spans_per_trace >= 1,
        "--spans-per-trace must be at least 1"
    );
    ensure!(
        args.traces_per_request >= 1,
        "--traces-per-request must be at least 1"
    );
    ensure!(args.concurrency >= 1, "--concurrency must be at least 1");
    ensure!(
        args.resource_attributes >= 1,
        "--resource-attributes must be at least 1 (service.name)"
    );
    ensure!(
        args.payload_cache >= 1,
        "--payload-cache must be at least 1"
    );
    ensure!(!args.duration.is_zero(), "--duration must be positive");

    let shape = Shape {
        spans_per_trace: args.spans_per_trace,
        traces_per_request: args.traces_per_request,
        attributes: args.attributes,
        resource_attributes: args.resource_attributes,
    };
    let started = Instant::now();
    let count = args.payload_cache;
    let templates = tokio::task::spawn_blocking(move || -> anyhow::Result<Vec<Template>> {
        let mut rng = SmallRng::from_rng(&mut rand::rng());
        (0..count)
            .map(|_| Template::generate(shape, &mut rng))
            .collect()
    })
    .await
    .context("payload generation task")??;
    let templates = Arc::new(templates);
    let payload_bytes: usize = templates.iter().map(|t| t.bytes.len()).sum();
    if !args.quiet {
        eprintln!(
            "loadgen: generated {} requests of {} spans ({:.1} KiB each on average) in {:.2?}",
            templates.len(),
            shape.spans_per_request(),
            payload_bytes as f64 / templates.len() as f64 / 1024.0,
            started.elapsed()
        );
    }

    if args.baseline_decode || args.mode == Mode::Decode {
        let report = decode_baseline(templates, args.duration).await?;
        print_report(&report, args.json);
        Ok(())
    } else {
        push(args, shape, templates).await
    }
}

// ---------------------------------------------------------------------------------------------
// Decode baseline.

async fn decode_baseline(
    templates: Arc<Vec<Template>>,
    duration: Duration,
) -> anyhow::Result<serde_json::Value> {
    let (requests, spans, bytes, elapsed, cpu_ns) = tokio::task::spawn_blocking(move || {
        let start = Instant::now();
        let cpu_start = cpu::thread_ns();
        let (mut requests, mut spans, mut bytes) = (0u64, 0u64, 0u64);
        'outer: loop {
            for t in templates.iter() {
                let req = ExportTraceServiceRequest::decode(&t.bytes[..])?;
                spans += payload::count_spans(std::hint::black_box(&req)) as u64;
                drop(req);
                requests += 1;
                bytes += t.bytes.len() as u64;
                if start.elapsed() >= duration {
                    break 'outer;
                }
            }
        }
        let cpu_ns = cpu_start
            .zip(cpu::thread_ns())
            .map(|(a, b)| b.saturating_sub(a));
        Ok::<_, prost::DecodeError>((requests, spans, bytes, start.elapsed(), cpu_ns))
    })
    .await
    .context("decode task")??;
    let secs = elapsed.as_secs_f64();
    // Spans per second of the thread's own CPU time, comparable with a server's spans per
    // CPU-second; without a CPU clock, per second of wall time.
    let cpu_secs = cpu_ns
        .filter(|&ns| ns > 0)
        .map_or(secs, |ns| ns as f64 / 1e9);
    Ok(json!({
        "mode": "decode",
        "threads": 1,
        "requests_decoded": requests,
        "spans_decoded": spans,
        "bytes_decoded": bytes,
        "elapsed_seconds": round3(secs),
        "decoded_spans_per_second": round1(spans as f64 / secs),
        "decoded_spans_per_second_per_core": round1(spans as f64 / secs),
        "cpu_seconds": round3(cpu_secs),
        "decoded_spans_per_cpu_second": round1(spans as f64 / cpu_secs),
        "decoded_mib_per_second": round1(bytes as f64 / secs / (1024.0 * 1024.0)),
    }))
}

// ---------------------------------------------------------------------------------------------
// Push.

/// Interval of progress lines.
const PROGRESS_EVERY: Duration = Duration::from_secs(5);
/// Interval of the report's throughput timeline.
const TIMELINE_EVERY: Duration = Duration::from_secs(1);

/// Live counters, for progress lines.
#[derive(Default)]
struct Live {
    ok: AtomicU64,
    failed: AtomicU64,
    spans_accepted: AtomicU64,
}

#[derive(Default)]
struct WorkerStats {
    ok: u64,
    failed: u64,
    spans_sent: u64,
    spans_accepted: u64,
    spans_rejected: u64,
    wire_bytes: u64,
    payload_bytes: u64,
    /// Refusals after which the worker waited the server's retry delay.
    waited_retry_after: u64,
    errors: BTreeMap<String, u64>,
    error_samples: BTreeMap<String, String>,
    /// Durations of successful requests, in microseconds.
    latencies_us: Vec<u32>,
}

impl WorkerStats {
    fn merge(&mut self, o: WorkerStats) {
        self.ok += o.ok;
        self.failed += o.failed;
        self.spans_sent += o.spans_sent;
        self.spans_accepted += o.spans_accepted;
        self.spans_rejected += o.spans_rejected;
        self.wire_bytes += o.wire_bytes;
        self.payload_bytes += o.payload_bytes;
        self.waited_retry_after += o.waited_retry_after;
        for (k, v) in o.errors {
            *self.errors.entry(k).or_default() += v;
        }
        for (k, v) in o.error_samples {
            self.error_samples.entry(k).or_insert(v);
        }
        self.latencies_us.extend(o.latencies_us);
    }
}

async fn push(
    args: LoadgenArgs,
    shape: Shape,
    templates: Arc<Vec<Template>>,
) -> anyhow::Result<()> {
    let grpc = args.protocol == Protocol::Grpc;
    let endpoint = args.endpoint.clone().unwrap_or_else(|| {
        if grpc {
            "http://127.0.0.1:4317".into()
        } else {
            "http://127.0.0.1:4318".into()
        }
    });
    let endpoints: Vec<String> = endpoint
        .split(',')
        .map(|e| e.trim().to_string())
        .filter(|e| !e.is_empty())
        .collect();
    ensure!(!endpoints.is_empty(), "--endpoint is empty");
    let target = Target {
        grpc,
        endpoint: endpoints[0].clone(),
        tenant: args.tenant.clone(),
        gzip: args.gzip,
        timeout: args.timeout,
        concurrency: args.concurrency,
    };
    let http = target.http_client()?;
    let ack_log = match &args.ack_log {
        Some(p) => Some(Arc::new(std::sync::Mutex::new(std::io::BufWriter::new(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(p)
                .with_context(|| format!("opening {}", p.display()))?,
        )))),
        None => None,
    };
    let spans_per_request = shape.spans_per_request() as u64;

    // Token pacing: each worker sends one request every `interval`, staggered across workers.
    let interval = (args.rate > 0).then(|| {
        Duration::from_secs_f64(
            spans_per_request as f64 * args.concurrency as f64 / args.rate as f64,
        )
    });

    let live = Arc::new(Live::default());
    let start = Instant::now();
    let deadline = start + args.duration;
    let mut workers = Vec::with_capacity(args.concurrency);
    for w in 0..args.concurrency {
        let worker_target = Target {
            endpoint: endpoints[w % endpoints.len()].clone(),
            ..target.clone()
        };
        let mut sender = worker_target.sender(&http)?;
        let ack_log = ack_log.clone();
        let spans_per_trace = shape.spans_per_trace;
        let templates = templates.clone();
        let live = live.clone();
        let timeout = args.timeout;
        let concurrency = args.concurrency;
        let honor = args.retry_after == RetryAfter::Honor;
        workers.push(tokio::spawn(async move {
            let mut rng = SmallRng::from_rng(&mut rand::rng());
            let mut stats = WorkerStats::default();
            let mut next = interval.map(|i| start + i.mul_f64(w as f64 / concurrency as f64));
            let mut idx = w % templates.len();
            let mut failures = 0u32;
            loop {
                if let (Some(i), Some(at)) = (interval, next.as_mut()) {
                    if *at >= deadline {
                        break;
                    }
                    tokio::time::sleep_until((*at).into()).await;
                    // Don't let a long stall turn into a burst: drop backlog past one second.
                    let now = Instant::now();
                    *at = if now.saturating_duration_since(*at) > Duration::from_secs(1) {
                        now + i
                    } else {
                        *at + i
                    };
                }
                if Instant::now() >= deadline {
                    break;
                }
                let t = &templates[idx];
                idx = (idx + concurrency) % templates.len();
                let mut ids = Vec::new();
                let body = t.instantiate_with_ids(
                    &mut rng,
                    payload::now_unix_nanos(),
                    ack_log.as_ref().map(|_| &mut ids),
                );
                stats.payload_bytes += body.len() as u64;
                stats.spans_sent += t.spans as u64;
                let sent_at = Instant::now();
                match sender.send(body, timeout).await {
                    Outcome::Ok {
                        rejected_spans,
                        wire_bytes,
                    } => {
                        let took = sent_at.elapsed();
                        stats
                            .latencies_us
                            .push(took.as_micros().min(u32::MAX as u128) as u32);
                        let accepted = (t.spans as u64).saturating_sub(rejected_spans);
                        failures = 0;
                        stats.ok += 1;
                        stats.spans_accepted += accepted;
                        stats.spans_rejected += rejected_spans.min(t.spans as u64);
                        stats.wire_bytes += wire_bytes;
                        live.ok.fetch_add(1, Ordering::Relaxed);
                        live.spans_accepted.fetch_add(accepted, Ordering::Relaxed);
                        if let Some(log) = &ack_log {
                            let mut lines = String::new();
                            for id in &ids {
                                lines.push_str(&format!("{} {spans_per_trace}\n", hex::encode(id)));
                            }
                            let mut f = log.lock().unwrap_or_else(|e| e.into_inner());
                            let _ = std::io::Write::write_all(&mut *f, lines.as_bytes());
                        }
                    }
                    Outcome::Failed {
                        kind,
                        detail,
                        retry_after,
                    } => {
                        // Back off a little so a refusing or overloaded server isn't hammered
                        // in a tight loop: 2 ms doubling to 256 ms, reset by a success; or
                        // the server's delay with up to 25 % jitter (so refused workers do
                        // not all come back at once), never past the end of the run.
                        let backoff = match retry_after.filter(|_| honor) {
                            Some(d) => {
                                stats.waited_retry_after += 1;
                                d.mul_f64(1.0 + rng.random::<f64>() / 4.0)
                                    .min(deadline.saturating_duration_since(Instant::now()))
                            }
                            None => Duration::from_millis(2 << failures.min(7)),
                        };
                        failures += 1;
                        stats.failed += 1;
                        live.failed.fetch_add(1, Ordering::Relaxed);
                        *stats.errors.entry(kind.clone()).or_default() += 1;
                        stats.error_samples.entry(kind).or_insert(detail);
                        tokio::time::sleep(backoff).await;
                    }
                }
            }
            stats
        }));
    }

    // Every second a point of the throughput timeline; every 5 s a progress line (unless
    // --quiet).
    let (stop_progress, mut stopped) = tokio::sync::oneshot::channel::<()>();
    let quiet = args.quiet;
    let progress = {
        let live = live.clone();
        tokio::spawn(async move {
            let mut timeline = Vec::new();
            let mut tick =
                tokio::time::interval_at((start + TIMELINE_EVERY).into(), TIMELINE_EVERY);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let (mut last_spans, mut last_at) = (0u64, start);
            let (mut shown_spans, mut shown_at) = (0u64, start);
            loop {
                tokio::select! {
                    _ = tick.tick() => {}
                    _ = &mut stopped => break,
                }
                let spans = live.spans_accepted.load(Ordering::Relaxed);
                let now = Instant::now();
                let rate = (spans - last_spans) as f64 / now.duration_since(last_at).as_secs_f64();
                timeline.push(round1(rate));
                (last_spans, last_at) = (spans, now);
                if !quiet && now.duration_since(shown_at) >= PROGRESS_EVERY - TIMELINE_EVERY / 2 {
                    let rate =
                        (spans - shown_spans) as f64 / now.duration_since(shown_at).as_secs_f64();
                    eprintln!(
                        "loadgen: {:>5.0}s  {:>10.0} spans/s  ok {}  failed {}",
                        now.duration_since(start).as_secs_f64(),
                        rate,
                        live.ok.load(Ordering::Relaxed),
                        live.failed.load(Ordering::Relaxed),
                    );
                    (shown_spans, shown_at) = (spans, now);
                }
            }
            timeline
        })
    };

    let mut total = WorkerStats::default();
    for w in workers {
        total.merge(w.await.context("worker task")?);
    }
    if let Some(log) = &ack_log {
        let mut f = log.lock().unwrap_or_else(|e| e.into_inner());
        std::io::Write::flush(&mut *f).context("writing --ack-log")?;
    }
    let elapsed = start.elapsed();
    let _ = stop_progress.send(());
    let timeline = progress.await.unwrap_or_default();

    let secs = elapsed.as_secs_f64();
    let mut lat = std::mem::take(&mut total.latencies_us);
    lat.sort_unstable();
    let ms = |us: u32| round3(us as f64 / 1000.0);
    let latency = if lat.is_empty() {
        serde_json::Value::Null
    } else {
        let mean = lat.iter().map(|&v| v as f64).sum::<f64>() / lat.len() as f64;
        json!({
            "p50": ms(percentile(&lat, 0.50)),
            "p90": ms(percentile(&lat, 0.90)),
            "p99": ms(percentile(&lat, 0.99)),
            "max": ms(*lat.last().unwrap_or(&0)),
            "mean": round3(mean / 1000.0),
        })
    };
    let report = json!({
        "mode": "push",
        "protocol": if grpc { "grpc" } else { "http" },
        "endpoint": endpoint,
        "gzip": args.gzip,
        "concurrency": args.concurrency,
        "target_spans_per_second": args.rate,
        "spans_per_request": spans_per_request,
        "spans_per_trace": shape.spans_per_trace,
        "attributes_per_span": shape.attributes,
        "attributes_per_resource": shape.resource_attributes,
        "requests_ok": total.ok,
        "requests_failed": total.failed,
        "spans_sent": total.spans_sent,
        "spans_accepted": total.spans_accepted,
        "spans_rejected": total.spans_rejected,
        "retry_after": clap::ValueEnum::to_possible_value(&args.retry_after)
            .map(|v| v.get_name().to_string()),
        "retry_delays_waited": total.waited_retry_after,
        "errors": total.errors,
        "error_samples": total.error_samples,
        "elapsed_seconds": round3(secs),
        "accepted_spans_per_second": round1(total.spans_accepted as f64 / secs),
        "requests_per_second": round1(total.ok as f64 / secs),
        "latency_ms": latency,
        "timeline_interval_seconds": TIMELINE_EVERY.as_secs(),
        "timeline_spans_per_second": timeline,
        "timeline_summary": timeline_summary(&timeline, args.warmup.as_secs() as usize),
        "bytes_sent": total.wire_bytes,
        "payload_bytes": total.payload_bytes,
        "sent_mib_per_second": round1(total.wire_bytes as f64 / secs / (1024.0 * 1024.0)),
    });
    print_report(&report, args.json);
    if total.ok == 0 {
        bail!(
            "all {} requests failed{}",
            total.failed,
            match total.error_samples.iter().next() {
                Some((k, v)) => format!(" (first error kind {k}: {v})"),
                None => String::new(),
            }
        );
    }
    Ok(())
}

/// Min, median and max of the per-second timeline after the first `warmup` points, and how
/// many points fell below half the median (a blackout shows up there).
fn timeline_summary(timeline: &[f64], warmup: usize) -> serde_json::Value {
    let mut warm: Vec<f64> = timeline.iter().skip(warmup).copied().collect();
    if warm.is_empty() {
        return serde_json::Value::Null;
    }
    warm.sort_by(f64::total_cmp);
    let median = if warm.len() % 2 == 1 {
        warm[warm.len() / 2]
    } else {
        (warm[warm.len() / 2 - 1] + warm[warm.len() / 2]) / 2.0
    };
    json!({
        "warmup_seconds": warmup,
        "seconds": warm.len(),
        "min": warm[0],
        "median": round1(median),
        "max": warm[warm.len() - 1],
        "seconds_below_half_median": warm.iter().filter(|v| **v < median / 2.0).count(),
    })
}

/// Nearest-rank percentile of sorted values.
fn percentile(sorted: &[u32], q: f64) -> u32 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn round1(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}

fn round3(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}

// ---------------------------------------------------------------------------------------------
// Reports.

fn print_report(r: &serde_json::Value, as_json: bool) {
    if as_json {
        println!("{r}");
        return;
    }
    let g = |k: &str| r.get(k).cloned().unwrap_or(serde_json::Value::Null);
    if r["mode"] == "decode" {
        println!("decode baseline (prost, 1 thread)");
        println!("  elapsed            {} s", g("elapsed_seconds"));
        println!("  requests decoded   {}", g("requests_decoded"));
        println!("  spans decoded      {}", g("spans_decoded"));
        println!("  decoded spans/s    {}", g("decoded_spans_per_second"));
        println!("  per CPU-second     {}", g("decoded_spans_per_cpu_second"));
        println!("  decoded MiB/s      {}", g("decoded_mib_per_second"));
        return;
    }
    println!(
        "loadgen {} → {}{}  concurrency {}  {} spans/request  target {}",
        g("protocol").as_str().unwrap_or(""),
        g("endpoint").as_str().unwrap_or(""),
        if r["gzip"] == true { " (gzip)" } else { "" },
        g("concurrency"),
        g("spans_per_request"),
        match r["target_spans_per_second"].as_u64() {
            Some(0) | None => "unlimited".to_string(),
            Some(n) => format!("{n} spans/s"),
        }
    );
    println!("  elapsed            {} s", g("elapsed_seconds"));
    println!(
        "  requests           {} ok, {} failed",
        g("requests_ok"),
        g("requests_failed")
    );
    println!(
        "  retry delays       {} waited (--retry-after {})",
        g("retry_delays_waited"),
        g("retry_after").as_str().unwrap_or("")
    );
    println!(
        "  spans              {} accepted, {} rejected, {} sent",
        g("spans_accepted"),
        g("spans_rejected"),
        g("spans_sent")
    );
    println!("  accepted spans/s   {}", g("accepted_spans_per_second"));
    println!("  requests/s         {}", g("requests_per_second"));
    if let Some(t) = r["timeline_spans_per_second"]
        .as_array()
        .filter(|t| !t.is_empty())
    {
        let points: Vec<String> = t
            .iter()
            .map(|v| format!("{:.0}", v.as_f64().unwrap_or(0.0)))
            .collect();
        println!(
            "  spans/s per {}s     {}",
            g("timeline_interval_seconds"),
            points.join(" ")
        );
    }
    if let Some(t) = r.get("timeline_summary").filter(|t| !t.is_null()) {
        println!(
            "  after {}s warm-up    min {:.0}  median {:.0}  max {:.0} spans/s; {} of {} seconds below half the median",
            t["warmup_seconds"],
            t["min"].as_f64().unwrap_or(0.0),
            t["median"].as_f64().unwrap_or(0.0),
            t["max"].as_f64().unwrap_or(0.0),
            t["seconds_below_half_median"],
            t["seconds"]
        );
    }
    match r.get("latency_ms").filter(|l| !l.is_null()) {
        Some(l) => println!(
            "  latency (ok) ms    p50 {}  p90 {}  p99 {}  max {}  mean {}",
            l["p50"], l["p90"], l["p99"], l["max"], l["mean"]
        ),
        None => println!("  latency (ok) ms    -"),
    }
    println!(
        "  bytes sent (ok)    {} ({} MiB/s; {} bytes of protobuf generated)",
        g("bytes_sent"),
        g("sent_mib_per_second"),
        g("payload_bytes")
    );
    let errors = r["errors"].as_object();
    if errors.is_none_or(|e| e.is_empty()) {
        println!("  errors             none");
    } else if let Some(errors) = errors {
        println!("  errors");
        for (k, v) in errors {
            let sample = r["error_samples"][k].as_str().unwrap_or("");
            let sample: String = sample.chars().take(160).collect();
            println!("    {k:<24} {v}  e.g. {sample}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{percentile, timeline_summary};

    #[test]
    fn timeline_summary_skips_warmup_and_counts_blackouts() {
        let t = [900.0, 100.0, 80.0, 0.0, 120.0, 90.0];
        let s = timeline_summary(&t, 1);
        assert_eq!(s["seconds"], 5);
        assert_eq!(s["min"], 0.0);
        assert_eq!(s["median"], 90.0);
        assert_eq!(s["max"], 120.0);
        assert_eq!(s["seconds_below_half_median"], 1);
        assert!(timeline_summary(&t, 6).is_null());
    }

    #[test]
    fn nearest_rank_percentiles() {
        let v: Vec<u32> = (1..=100).collect();
        assert_eq!(percentile(&v, 0.5), 50);
        assert_eq!(percentile(&v, 0.99), 99);
        assert_eq!(percentile(&v, 1.0), 100);
        assert_eq!(percentile(&[7], 0.99), 7);
        assert_eq!(percentile(&[], 0.5), 0);
    }
}
