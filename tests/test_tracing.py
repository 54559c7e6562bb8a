"""OpenTelemetry: with OTEL_EXPORTER_OTLP_ENDPOINT set, gunicorn exports a server span per request
and a client span per upstream attempt (GenAI attributes) to a real OTLP/HTTP receiver, decoded
from protobuf here; the provider gets each attempt's traceparent. Unset, OpenTelemetry is never
imported."""
import json
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import requests
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest, ExportTraceServiceResponse)

from .fake_upstream import Reply
from .live import CHAT, P, ROOT, register_openai

INCOMING_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
INCOMING_SPAN = "00f067aa0ba902b7"


class Receiver:
    """An OTLP/HTTP trace receiver: POST /v1/traces with a protobuf ExportTraceServiceRequest."""

    def __init__(self):
        self.spans, self.content_types = [], []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.content_types.append((self.path, self.headers["Content-Type"]))
                export = ExportTraceServiceRequest.FromString(body)
                for resource in export.resource_spans:
                    service = {a.key: a.value.string_value for a in resource.resource.attributes}
                    for scope in resource.scope_spans:
                        receiver.spans.extend((service, span) for span in scope.spans)
                reply = ExportTraceServiceResponse().SerializeToString()
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait(self, predicate, timeout=15):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate(self.spans):
                return self.spans
            time.sleep(0.05)
        raise AssertionError(f"spans never arrived: {[s.name for _, s in self.spans]}")


def attrs(span):
    out = {}
    for a in span.attributes:
        value = a.value
        kind = value.WhichOneof("value")
        out[a.key] = [v.string_value for v in value.array_value.values] if kind == "array_value" \
            else getattr(value, kind)
    return out


def test_spans_per_request_and_attempt_reach_an_otlp_receiver(start_gunicorn, up):
    receiver = Receiver()
    server = start_gunicorn(OTEL_EXPORTER_OTLP_ENDPOINT=receiver.url, OTEL_BSP_SCHEDULE_DELAY="50",
                            OTEL_SERVICE_NAME="gateway-under-test", UPSTREAM_RETRY_BACKOFF="0.01")
    register_openai(server.url, up)
    up.script("openai", Reply(status=500, json={"error": {"message": "overloaded"}}), path="chat")
    traceparent = f"00-{INCOMING_TRACE}-{INCOMING_SPAN}-01"
    resp = requests.post(server.url + P + "/chat", json=CHAT, headers={"traceparent": traceparent}, timeout=30)
    assert resp.status_code == 200, resp.text
    chat_spans = lambda spans: [s for _, s in spans if s.trace_id.hex() == INCOMING_TRACE]
    spans = receiver.wait(lambda spans: len(chat_spans(spans)) >= 3)
    assert {path for path, _ in receiver.content_types} == {"/v1/traces"}
    assert {ctype for _, ctype in receiver.content_types} == {"application/x-protobuf"}
    assert {service["service.name"] for service, _ in spans} == {"gateway-under-test"}

    request_span = next(s for s in chat_spans(spans) if s.name == "POST /api/v1/inference/chat")
    assert request_span.parent_span_id.hex() == INCOMING_SPAN  # the caller's traceparent was honoured
    a = attrs(request_span)
    assert a["gen_ai.operation.name"] == "chat" and a["gen_ai.system"] == "openai"
    assert a["gen_ai.request.model"] == "gpt-4o" and a["gen_ai.response.model"]
    data = resp.json()["data"]
    assert a["gen_ai.usage.input_tokens"] == data["usage"]["inputTokens"] > 0
    assert a["gen_ai.usage.output_tokens"] == data["usage"]["outputTokens"] > 0
    assert a["gen_ai.response.finish_reasons"] == [data["finishReason"]]
    assert a["http.response.status_code"] == 200 and a["inference_gateway.request_id"] == data["requestId"]

    attempts = sorted((s for s in chat_spans(spans) if s.parent_span_id == request_span.span_id),
                      key=lambda s: s.start_time_unix_nano)
    assert [s.name for s in attempts] == ["chat gpt-4o", "chat gpt-4o"]
    first, second = attrs(attempts[0]), attrs(attempts[1])
    assert first["http.response.status_code"] == 500 and first["error.type"] == "500"
    assert second["http.response.status_code"] == 200 and "error.type" not in second
    assert first["gen_ai.request.model"] == "gpt-4o" and first["gen_ai.system"] == "openai"
    # Each attempt carried its own span as the W3C traceparent to the provider.
    sent = [r.headers.get("traceparent") for r in up.of_kind("openai", "chat")]
    assert sent == [f"00-{INCOMING_TRACE}-{s.span_id.hex()}-01" for s in attempts]


def test_a_stream_span_ends_with_the_stream_and_failures_carry_their_error_type(start_gunicorn, up):
    receiver = Receiver()
    server = start_gunicorn(OTEL_EXPORTER_OTLP_ENDPOINT=receiver.url + "/", OTEL_BSP_SCHEDULE_DELAY="50")
    register_openai(server.url, up)
    with requests.post(server.url + P + "/chat/stream", json=CHAT, stream=True, timeout=30) as resp:
        events = [json.loads(line[6:]) for line in resp.iter_lines() if line.startswith(b"data: ")]
    assert events[-1]["type"] == "message_stop"
    failed = requests.post(server.url + P + "/chat", json={**CHAT, "model": "claude-x"}, timeout=30)
    assert failed.status_code == 400
    wanted = {"POST /api/v1/inference/chat/stream", "POST /api/v1/inference/chat"}
    spans = receiver.wait(lambda spans: wanted <= {s.name for _, s in spans})
    stream = next(s for _, s in spans if s.name == "POST /api/v1/inference/chat/stream")
    a = attrs(stream)
    assert a["gen_ai.usage.output_tokens"] == events[-1]["usage"]["outputTokens"] > 0
    assert a["gen_ai.response.finish_reasons"] == [events[-1]["finishReason"]]
    # The span lasted until the last event was sent, not just until the view returned.
    assert stream.end_time_unix_nano > stream.start_time_unix_nano
    refused = next(s for _, s in spans if s.name == "POST /api/v1/inference/chat" and s is not stream)
    assert attrs(refused)["error.type"] == "NO_PROVIDER"
    assert refused.status.code == 2  # STATUS_CODE_ERROR


OFF = """
import sys, tempfile
from inference_gateway import create_app
d = tempfile.mkdtemp()
app = create_app({"DATABASE_URL": f"sqlite:///{d}/g.db", "DATA_DIR": d, "GATEWAY_API_KEYS": "",
                  "UPSTREAM_MAX_RETRIES": 0, "OTEL_EXPORTER_OTLP_ENDPOINT": ""})
client = app.test_client()
assert client.post("/api/v1/inference/providers", json={"name": "local", "type": "openai-compatible",
                   "baseUrl": "http://127.0.0.1:1/v1"}).status_code == 201
status = client.post("/api/v1/inference/chat", json={"model": "local/m", "messages": [
    {"role": "user", "content": "hi"}]}).status_code
assert status == 502, status
print(sorted(m for m in sys.modules if m.startswith("opentelemetry")))
"""


def test_without_an_endpoint_opentelemetry_is_never_imported():
    result = subprocess.run([sys.executable, "-c", OFF], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]", result.stdout
