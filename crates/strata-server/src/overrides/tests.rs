use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime};

use strata_common::ManualClock;

use super::*;

/// A scratch directory removed on drop (std only: this crate has no tempfile dependency).
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Self {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let dir = std::env::temp_dir().join(format!(
            "strata-overrides-{name}-{}-{nanos}",
            std::process::id()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn t(s: &str) -> TenantId {
    TenantId::new(s).unwrap()
}

fn rate_file(tenant: &str, rate: u64) -> String {
    format!("overrides:\n  {tenant}:\n    ingestion:\n      rate_limit_bytes: {rate}\n")
}

fn metrics_text(r: &Registry) -> String {
    let mut out = String::new();
    prometheus_client::encoding::text::encode(&mut out, r).unwrap();
    out
}

fn config(path: PathBuf, period: Duration) -> OverridesConfig {
    let mut cfg = OverridesConfig {
        per_tenant_override_config: path,
        per_tenant_override_period: period,
        ..OverridesConfig::default()
    };
    cfg.defaults.ingestion.rate_limit_bytes = 42;
    cfg
}

#[test]
fn fixed_limits_apply_to_every_tenant() {
    let mut d = TenantLimits::default();
    d.global.max_bytes_per_trace = 7;
    let o = Overrides::fixed(d);
    assert_eq!(o.limits(&t("x")).global.max_bytes_per_trace, 7);
    assert_eq!(
        Overrides::default()
            .limits(&t("y"))
            .ingestion
            .rate_limit_bytes,
        15_000_000
    );
}

#[test]
fn resolution_and_reload_fallback() {
    let dir = Scratch::new("reload");
    let path = dir.0.join("o.yaml");
    std::fs::write(
        &path,
        format!(
            "{}  \"*\":\n    ingestion:\n      rate_limit_bytes: 5\n",
            rate_file("a", 1000)
        ),
    )
    .unwrap();
    let clock = ManualClock::default();
    let mut reg = Registry::default();
    let cfg = config(path.clone(), Duration::from_secs(10));
    let o = Overrides::load(&cfg, Arc::new(clock.clone()), &mut reg).unwrap();
    assert_eq!(o.limits(&t("a")).ingestion.rate_limit_bytes, 1000);
    assert_eq!(o.limits(&t("b")).ingestion.rate_limit_bytes, 5, "wildcard");
    let text = metrics_text(&reg);
    assert!(
        text.contains("strata_overrides_last_reload_success_timestamp_seconds 1700000000"),
        "{text}"
    );

    // A good change takes effect; an identical re-read reports no change.
    std::fs::write(&path, rate_file("a", 2000)).unwrap();
    clock.advance(Duration::from_secs(10));
    assert!(o.reload().unwrap());
    assert!(!o.reload().unwrap());
    assert_eq!(o.limits(&t("a")).ingestion.rate_limit_bytes, 2000);
    assert_eq!(o.limits(&t("b")).ingestion.rate_limit_bytes, 42, "defaults");

    // A broken file keeps the previous values and is counted.
    std::fs::write(&path, "overrides:\n  a:\n    ingestion:\n      bogus: 1\n").unwrap();
    clock.advance(Duration::from_secs(10));
    assert!(o.reload().is_err());
    std::fs::remove_file(&path).unwrap();
    assert!(o.reload().is_err());
    assert_eq!(o.limits(&t("a")).ingestion.rate_limit_bytes, 2000);
    let text = metrics_text(&reg);
    assert!(
        text.contains("strata_overrides_reload_failures_total 2"),
        "{text}"
    );
    assert!(
        text.contains("strata_overrides_last_reload_success_timestamp_seconds 1700000010"),
        "{text}"
    );
}

#[test]
fn initial_load_failure_is_an_error() {
    let dir = Scratch::new("initial");
    let path = dir.0.join("missing.yaml");
    let cfg = config(path.clone(), Duration::from_secs(1));
    let clock: SharedClock = Arc::new(ManualClock::default());
    assert!(Overrides::load(&cfg, clock.clone(), &mut Registry::default()).is_err());
    std::fs::write(&path, "overrides:\n  \"bad/tenant\": {}\n").unwrap();
    let err = Overrides::load(&cfg, clock.clone(), &mut Registry::default()).unwrap_err();
    assert!(err.to_string().contains("bad/tenant"), "{err}");
    let zero = config(path, Duration::ZERO);
    assert!(Overrides::load(&zero, clock, &mut Registry::default()).is_err());
}

#[tokio::test]
async fn run_picks_up_file_changes() {
    let dir = Scratch::new("run");
    let path = dir.0.join("o.yaml");
    std::fs::write(&path, rate_file("a", 1)).unwrap();
    let cfg = config(path.clone(), Duration::from_millis(20));
    let clock: SharedClock = Arc::new(ManualClock::default());
    let o = Overrides::load(&cfg, clock, &mut Registry::default()).unwrap();
    let stop = CancellationToken::new();
    let task = tokio::spawn(o.clone().run(stop.clone()));
    std::fs::write(&path, rate_file("a", 3)).unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while o.limits(&t("a")).ingestion.rate_limit_bytes != 3 {
        assert!(Instant::now() < deadline, "reload not seen");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    stop.cancel();
    task.await.unwrap();
}

#[test]
fn configured_defaults_apply_without_a_per_tenant_file() {
    let mut cfg = OverridesConfig::default();
    cfg.defaults.ingestion.rate_limit_bytes = 0;
    cfg.defaults.ingestion.max_traces_per_user = 7;
    let clock: SharedClock = Arc::new(ManualClock::default());
    let o = Overrides::load(&cfg, clock, &mut Registry::default()).unwrap();
    let l = o.limits(&t("any"));
    assert_eq!(l.ingestion.rate_limit_bytes, 0);
    assert_eq!(l.ingestion.max_traces_per_user, 7);
}
