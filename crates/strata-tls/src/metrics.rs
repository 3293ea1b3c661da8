//! Process-wide TLS counters (one set however many listeners and clients use TLS).

use std::sync::LazyLock;

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;

type Labels = Vec<(&'static str, &'static str)>;

static RELOADS: LazyLock<Family<Labels, Counter>> = LazyLock::new(Family::default);
static HANDSHAKE_FAILURES: LazyLock<Counter> = LazyLock::new(Counter::default);

/// Adds the TLS counters to `registry` (once per registry).
pub fn register(registry: &mut Registry) {
    registry.register(
        "strata_tls_reloads",
        "Certificate, key or CA files read again after they changed, by result (success, failure: the previous ones stay in use)",
        RELOADS.clone(),
    );
    registry.register(
        "strata_tls_handshake_failures",
        "TLS handshakes on Strata's listeners that failed or timed out (plaintext clients, unknown or missing client certificates)",
        HANDSHAKE_FAILURES.clone(),
    );
}

pub(crate) fn reloaded(ok: bool) {
    let result = if ok { "success" } else { "failure" };
    RELOADS.get_or_create(&vec![("result", result)]).inc();
}

pub(crate) fn handshake_failed() {
    HANDSHAKE_FAILURES.inc();
}

/// Reloads counted so far with `result` (tests).
#[cfg(test)]
pub(crate) fn reloads(result: &'static str) -> u64 {
    RELOADS.get_or_create(&vec![("result", result)]).get()
}
