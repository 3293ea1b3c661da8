"""Sends one known trace through an OpenTelemetry Python exporter; prints what was sent.

usage: otel_trace.py EXPORTER TARGET
  zipkin-json         TARGET = http://host:port/api/v2/spans
  zipkin-proto        TARGET = http://host:port/api/v2/spans
  jaeger-thrift-http  TARGET = http://host:port/api/traces
  jaeger-thrift-udp   TARGET = host:port   (the agent's compact Thrift port)
  jaeger-thrift-udp-binary  TARGET = host:port   (the agent's binary Thrift port: the same
                      exporter with its generated Agent client over TBinaryProtocol)
  jaeger-grpc         TARGET = host:port

The trace: service "checkout" (resource attribute deployment.environment=test), scope
"shop.cart" 1.4.0; a SERVER span "GET /cart" with a string, int, double and bool attribute and
an event "cache miss" {attempt: 2} 1 ms in; its CLIENT child "SELECT carts" (2 ms to 5 ms) with
status ERROR "timeout". Output: one JSON line with the IDs (hex), t0 (ns) and the export result.
"""

import json
import sys
import time

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, Status, StatusCode


def exporter(kind, target):
    if kind == "zipkin-json":
        from opentelemetry.exporter.zipkin.json import ZipkinExporter

        return ZipkinExporter(endpoint=target)
    if kind == "zipkin-proto":
        from opentelemetry.exporter.zipkin.proto.http import ZipkinExporter

        return ZipkinExporter(endpoint=target)
    if kind == "jaeger-thrift-http":
        from opentelemetry.exporter.jaeger.thrift import JaegerExporter

        return JaegerExporter(collector_endpoint=target)
    if kind == "jaeger-thrift-udp":
        from opentelemetry.exporter.jaeger.thrift import JaegerExporter

        host, port = target.rsplit(":", 1)
        return JaegerExporter(agent_host_name=host, agent_port=int(port))
    if kind == "jaeger-thrift-udp-binary":
        from opentelemetry.exporter.jaeger.thrift import JaegerExporter
        from opentelemetry.exporter.jaeger.thrift.gen.agent import Agent
        from thrift.protocol import TBinaryProtocol

        host, port = target.rsplit(":", 1)
        exporter = JaegerExporter(agent_host_name=host, agent_port=int(port))
        udp = exporter._agent_client  # pylint: disable=protected-access
        udp.client = Agent.Client(iprot=TBinaryProtocol.TBinaryProtocol(trans=udp.buffer))
        return exporter
    if kind == "jaeger-grpc":
        from opentelemetry.exporter.jaeger.proto.grpc import JaegerExporter

        return JaegerExporter(collector_endpoint=target, insecure=True)
    raise SystemExit(f"unknown exporter {kind}")


def main():
    kind, target = sys.argv[1], sys.argv[2]
    memory = InMemorySpanExporter()
    provider = TracerProvider(
        resource=Resource.create(
            {"service.name": "checkout", "deployment.environment": "test"}
        )
    )
    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracer = provider.get_tracer("shop.cart", "1.4.0")
    # Whole milliseconds: every protocol here carries microseconds.
    t0 = time.time_ns() // 1_000_000 * 1_000_000
    root = tracer.start_span(
        "GET /cart",
        kind=SpanKind.SERVER,
        start_time=t0,
        attributes={
            "http.method": "GET",
            "http.status_code": 200,
            "cart.ratio": 0.5,
            "cart.cached": True,
        },
    )
    root.add_event("cache miss", attributes={"attempt": 2}, timestamp=t0 + 1_000_000)
    child = tracer.start_span(
        "SELECT carts",
        context=trace.set_span_in_context(root),
        kind=SpanKind.CLIENT,
        start_time=t0 + 2_000_000,
        attributes={"db.system": "postgresql"},
    )
    child.set_status(Status(StatusCode.ERROR, "timeout"))
    child.end(end_time=t0 + 5_000_000)
    root.end(end_time=t0 + 10_000_000)
    spans = memory.get_finished_spans()
    result = exporter(kind, target).export(spans)
    print(
        json.dumps(
            {
                "result": result.name,
                "trace_id": format(root.context.trace_id, "032x"),
                "root_id": format(root.context.span_id, "016x"),
                "child_id": format(child.context.span_id, "016x"),
                "t0": t0,
            }
        )
    )


if __name__ == "__main__":
    main()
