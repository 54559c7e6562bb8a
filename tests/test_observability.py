"""Request ids, the overhead header and the per-request log line, through the real app."""
import io
import json
import logging
import re
import time

import pytest

from inference_gateway.store import provider_store

from .mock_provider import MockProvider, Script, chunks, completion

P = "/api/v1/inference"
HELLO = {"model": "gpt-4o", "messages": [{"role": "user", "content": "Hello"}]}
UPSTREAM_WAIT = 0.3
GENERATED_ID = re.compile(r"^[0-9a-f]{32}$")


class SlowProvider(MockProvider):
    """A mock whose upstream takes UPSTREAM_WAIT seconds to answer, counted as upstream time."""

    def chat(self, req):
        time.sleep(UPSTREAM_WAIT)
        self.upstream_seconds += UPSTREAM_WAIT
        return super().chat(req)


@pytest.fixture
def script(app, monkeypatch):
    script = Script()
    monkeypatch.setattr(provider_store, "adapter_for", lambda provider, settings: SlowProvider(
        provider_store.config_of(provider), settings, script))
    return script


@pytest.fixture
def openai(api):
    status, body = api.post("/providers", json={"name": "openai", "type": "openai",
                                                "envVar": "OPENAI_API_KEY"})
    assert status == 201, body


@pytest.fixture
def log_lines():
    """What the gateway's own log handler writes (JSON or text, as configured), as a list of lines."""
    handler = next(h for h in logging.getLogger("inference_gateway").handlers if getattr(h, "_gateway", False))
    stream = io.StringIO()
    old = handler.setStream(stream)
    yield lambda: [line for line in stream.getvalue().splitlines() if "inference_gateway.access" in line
                   or '"logger": "inference_gateway.access"' in line]
    handler.setStream(old)


@pytest.mark.parametrize("incoming", ["abc-123", "A.b_c-9", "x" * 128])
def test_a_valid_request_id_is_echoed(client, incoming):
    resp = client.get(P + "/providers", headers={"X-Request-Id": incoming})
    assert resp.headers["X-Request-Id"] == incoming


@pytest.mark.parametrize("incoming", ["", "has space", "x" * 129, "semi;colon", "new\\nline", "é"])
def test_an_invalid_request_id_is_replaced(client, incoming):
    resp = client.get(P + "/providers", headers={"X-Request-Id": incoming})
    assert GENERATED_ID.match(resp.headers["X-Request-Id"])


def test_every_response_gets_a_fresh_request_id_even_errors(client):
    ids = {client.get(P + "/providers").headers["X-Request-Id"],
           client.get(P + "/providers/nope").headers["X-Request-Id"],
           client.post(P + "/chat", data="not json").headers["X-Request-Id"]}
    assert len(ids) == 3 and all(GENERATED_ID.match(i) for i in ids)


def test_overhead_header_excludes_the_upstream_wait(client, script, openai):
    script.enqueue(completion())
    started = time.perf_counter()
    resp = client.post(P + "/chat", json=HELLO)
    elapsed_ms = (time.perf_counter() - started) * 1000
    assert resp.status_code == 200
    overhead = float(resp.headers["X-Gateway-Overhead-Ms"])
    assert elapsed_ms >= UPSTREAM_WAIT * 1000
    # The 300 ms upstream wait is not the gateway's: what is left is its own work.
    assert 0 <= overhead < elapsed_ms - UPSTREAM_WAIT * 1000 + 1


def test_overhead_is_the_whole_time_when_nothing_was_proxied(client):
    resp = client.get(P + "/providers")
    assert 0 <= float(resp.headers["X-Gateway-Overhead-Ms"]) < 1000


def test_a_stream_has_a_request_id_but_no_overhead_header(client, script, openai):
    # Headers leave before the stream runs, so its overhead is only known later (see /metrics).
    script.enqueue(chunks("Hel", "lo"))
    with client.post(P + "/chat/stream", json=HELLO, headers={"X-Request-Id": "stream-1"}) as resp:
        assert resp.status_code == 200 and b"message_stop" in resp.data
    assert resp.headers["X-Request-Id"] == "stream-1"
    assert "X-Gateway-Overhead-Ms" not in resp.headers


def test_one_text_line_per_request_with_the_call(client, script, openai, log_lines):
    script.enqueue(completion())
    resp = client.post(P + "/chat", json=HELLO, headers={"X-Request-Id": "req-42"})
    resp.close()
    [line] = log_lines()
    for part in ("request_id=req-42", "method=POST", "path=/api/v1/inference/chat", "status=200",
                 "provider=openai", "model=gpt-4o", "call_status=success", "duration_ms="):
        assert part in line


@pytest.fixture
def json_client(app_config, script, openai):
    """A client of the same gateway logging JSON lines (the log handler is per process)."""
    from inference_gateway import create_app

    return create_app({**app_config, "LOG_FORMAT": "json"}).test_client()


def test_json_lines_never_carry_a_key_or_a_body(json_client, script, log_lines):
    script.enqueue(completion(text="a secret answer"))
    secret = {"model": "gpt-4o", "messages": [{"role": "user", "content": "my private prompt"}]}
    resp = json_client.post(P + "/chat?api_key=query-secret", json=secret,
                       headers={"Authorization": "Bearer sk-live-123", "X-Request-Id": "json-1"})
    resp.close()
    [line] = log_lines()
    entry = json.loads(line)
    assert entry["request_id"] == "json-1" and entry["status"] == 200
    assert entry["provider"] == "openai" and entry["model"] == "gpt-4o"
    assert entry["duration_ms"] >= UPSTREAM_WAIT * 1000
    assert entry["upstream_ms"] == pytest.approx(UPSTREAM_WAIT * 1000, abs=1)
    for leaked in ("sk-live-123", "my private prompt", "a secret answer", "query-secret"):
        assert leaked not in line


def test_a_stream_is_logged_once_it_ends_with_its_outcome(json_client, script, log_lines):
    script.enqueue(chunks("Hel", "lo", usage=(7, 2)))
    resp = json_client.post(P + "/chat/stream", json=HELLO, buffered=False)
    assert log_lines() == []
    body = b"".join(resp.response)
    resp.close()
    assert b"message_stop" in body
    [line] = log_lines()
    entry = json.loads(line)
    assert entry["call_status"] == "success"
    assert (entry["input_tokens"], entry["output_tokens"]) == (7, 2)


@pytest.mark.parametrize("trusted, expected", [(0, "127.0.0.1"), (1, "203.0.113.9")])
def test_client_address_from_the_proxy_only_when_trusted(app_config, trusted, expected, log_lines):
    from inference_gateway import create_app

    app = create_app({**app_config, "TRUSTED_PROXIES": trusted, "LOG_FORMAT": "json"})
    resp = app.test_client().get(P + "/providers", headers={"X-Forwarded-For": "203.0.113.9"},
                                 environ_base={"REMOTE_ADDR": "127.0.0.1"})
    resp.close()
    assert json.loads(log_lines()[-1])["client"] == expected
