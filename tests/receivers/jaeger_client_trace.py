"""Sends one known trace with jaeger-client (Jaeger's own Python tracer, OpenTracing API) to
the agent's compact Thrift UDP port; prints what was sent.

usage: jaeger_client_trace.py HOST:PORT

The trace: service "checkout" (tracer tag deployment.environment=test); a server span
"GET /cart" (10 ms) with tags http.method=GET, http.status_code=200, cart.ratio=0.5,
cart.cached=true and a log {event: "cache miss", attempt: 2} 1 ms in; its client child
"SELECT carts" (2 ms to 5 ms) with db.system=postgresql and error=true. Output: one JSON line
with the IDs (hex) and t0 (ns).
"""

import json
import sys
import time

from jaeger_client import Config


def main():
    host, port = sys.argv[1].rsplit(":", 1)
    config = Config(
        config={
            "sampler": {"type": "const", "param": 1},
            "local_agent": {"reporting_host": host, "reporting_port": int(port)},
            "logging": False,
            "tags": {"deployment.environment": "test"},
        },
        service_name="checkout",
        validate=True,
    )
    tracer = config.new_tracer()
    t0 = time.time_ns() // 1_000_000 * 1_000_000
    s0 = t0 / 1e9
    root = tracer.start_span("GET /cart", start_time=s0)
    root.set_tag("span.kind", "server")
    root.set_tag("http.method", "GET")
    root.set_tag("http.status_code", 200)
    root.set_tag("cart.ratio", 0.5)
    root.set_tag("cart.cached", True)
    root.log_kv({"event": "cache miss", "attempt": 2}, timestamp=s0 + 0.001)
    child = tracer.start_span("SELECT carts", child_of=root, start_time=s0 + 0.002)
    child.set_tag("span.kind", "client")
    child.set_tag("db.system", "postgresql")
    child.set_tag("error", True)
    child.finish(finish_time=s0 + 0.005)
    root.finish(finish_time=s0 + 0.010)
    tracer.close()
    # close() flushes on the tracer's IO loop thread; give the datagram time to leave.
    time.sleep(1.0)
    ctx = root.context
    print(
        json.dumps(
            {
                "trace_id": format(ctx.trace_id, "032x"),
                "root_id": format(ctx.span_id, "016x"),
                "child_id": format(child.context.span_id, "016x"),
                "t0": t0,
            }
        )
    )


if __name__ == "__main__":
    main()
