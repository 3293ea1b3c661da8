"""Sends one known trace with py_zipkin (Zipkin's own Python instrumentation); prints it.

usage: py_zipkin_trace.py ENCODING URL
  ENCODING: V1_THRIFT | V1_JSON | V2_JSON | V2_PROTO3 (URL: .../api/v1/spans for V1_*,
  .../api/v2/spans for V2_*). py_zipkin 1.x dropped Thrift: V1_THRIFT needs py_zipkin 0.20
  first on PYTHONPATH (mk/receivers.mk installs it beside the venv).

The trace has a 64-bit trace ID (py_zipkin's default): service "checkout", a SERVER span
"GET /cart" (10 ms, tag http.method=GET, annotation "cache miss" 1 ms in) and its CLIENT child
"SELECT carts" (2 ms to 5 ms, tags db.system=postgresql and error=timeout, server address
postgres 10.0.0.2:5432). Output: one JSON line with the IDs (hex), t0 (ns) and the HTTP
statuses of the posts.
"""

import json
import secrets
import sys
import time

import requests
from py_zipkin import Kind
from py_zipkin.encoding import Encoding
from py_zipkin.transport import BaseTransportHandler
from py_zipkin.zipkin import ZipkinAttrs, zipkin_span

CONTENT_TYPES = {
    Encoding.V1_THRIFT: "application/x-thrift",
    Encoding.V1_JSON: "application/json",
    Encoding.V2_JSON: "application/json",
    Encoding.V2_PROTO3: "application/x-protobuf",
}


class Http(BaseTransportHandler):
    def __init__(self, url, encoding):
        self.url, self.content_type, self.statuses = url, CONTENT_TYPES[encoding], []

    def get_max_payload_bytes(self):
        return None

    def send(self, payload):
        r = requests.post(self.url, data=payload, headers={"Content-Type": self.content_type})
        self.statuses.append(r.status_code)


def main():
    encoding, url = Encoding[sys.argv[1]], sys.argv[2]
    transport = Http(url, encoding)
    t0 = time.time_ns() // 1_000_000 * 1_000_000
    s0 = t0 / 1e9
    # 64-bit trace ID (py_zipkin's default), fresh each run.
    trace_id, root_id = secrets.token_hex(8), secrets.token_hex(8)
    attrs = ZipkinAttrs(
        trace_id=trace_id, span_id=root_id, parent_span_id=None, flags="0", is_sampled=True
    )
    with zipkin_span(
        service_name="checkout",
        span_name="GET /cart",
        zipkin_attrs=attrs,
        transport_handler=transport,
        encoding=encoding,
        kind=Kind.SERVER,
        timestamp=s0,
        duration=0.010,
        binary_annotations={"http.method": "GET"},
        annotations={"cache miss": s0 + 0.001},
    ):
        with zipkin_span(
            service_name="checkout",
            span_name="SELECT carts",
            kind=Kind.CLIENT,
            timestamp=s0 + 0.002,
            duration=0.003,
            binary_annotations={"db.system": "postgresql", "error": "timeout"},
        ) as child:
            child.add_sa_binary_annotation(port=5432, service_name="postgres", host="10.0.0.2")
            child_id = child.zipkin_attrs.span_id
    print(
        json.dumps(
            {
                "statuses": transport.statuses,
                "trace_id": trace_id,
                "root_id": root_id,
                "child_id": child_id,
                "t0": t0,
            }
        )
    )


if __name__ == "__main__":
    main()
