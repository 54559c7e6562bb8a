"""Routes through real gunicorn and the fake upstream: fallback on each kind of failure (and not on
the others), streams, circuit breakers, least-busy, and two instances sharing breakers on Redis."""
import json
import os
import time
import uuid

import pytest
import requests
import websocket

from .conftest import _reset_postgres
from .fake_upstream import SSE, Hang, Reply, Reset
from .fake_upstream.server import ROUTES
from .helpers import free_port, streamed_events
from .live import KEY_VAR, P, at_once

REDIS_URL = os.environ.get("TEST_REDIS_URL")
ASK = [{"role": "user", "content": "Hello"}]
# A short cooldown and failure count so a test sees the breaker open and close within seconds.
BREAKER = {"BREAKER_FAILURES": "3", "BREAKER_COOLDOWN": "1", "UPSTREAM_READ_TIMEOUT": "1",
           "STREAM_IDLE_TIMEOUT": "1", "HEALTH_FLUSH_SECONDS": "0"}


def default_reply(up, req):
    return ROUTES[req.kind](up, req)


def cut_after(up, events):
    """The fake upstream's own stream for the request, the connection dropped after `events` events."""
    def reply(req):
        sse = default_reply(up, req)
        sse.reset_after = events
        return sse
    return reply


def register(url, up):
    """Providers `a` (OpenAI), `b` (Anthropic) and `dead` (nothing listens on its port)."""
    for name, kind, base in (("a", "openai", up.base_url("openai")), ("b", "anthropic", up.base_url("anthropic")),
                             ("dead", "openai-compatible", f"http://127.0.0.1:{free_port()}/v1")):
        resp = requests.post(url + P + "/providers", timeout=10, json={
            "name": name, "type": kind, "envVar": KEY_VAR if kind != "openai-compatible" else None, "baseUrl": base})
        assert resp.status_code == 201, resp.text


def make_route(url, name, *targets, strategy="fallback", **extra):
    resp = requests.post(url + P + "/routes", timeout=10, json={
        "name": name, "strategy": strategy, "targets": [dict(t) for t in targets], **extra})
    assert resp.status_code == 201, resp.text
    return resp.json()["data"]


A = {"model": "gpt-4o", "providerId": "a"}
B = {"model": "claude-sonnet-4-20250514", "providerId": "b"}
DEAD = {"model": "llama3", "providerId": "dead"}


def chat(url, model="smart", **body):
    return requests.post(url + P + "/chat", json={"model": model, "messages": ASK, **body}, timeout=30)


def row(url, resp):
    got = requests.get(url + P + "/requests/" + resp.headers["X-Request-Id"], timeout=10)
    assert got.status_code == 200, got.text
    return got.json()["data"]


def served(resp):
    return resp.headers["X-Gateway-Provider"], resp.headers["X-Gateway-Model"], resp.headers["X-Gateway-Attempts"]


@pytest.fixture
def gw(start_gunicorn, up):
    server = start_gunicorn(**BREAKER)
    register(server.url, up)
    make_route(server.url, "smart", A, B)
    return server


@pytest.mark.parametrize("fault", ["529", "timeout", "reset", "cut"])
def test_a_failing_first_target_is_served_by_the_next(gw, up, fault):
    up.script("openai", {"529": Reply(529, json={"error": {"message": "overloaded"}}),
                         "timeout": Hang(3), "reset": Reset(), "cut": SSE([], reset_after=0)}[fault])
    resp = chat(gw.url)
    assert resp.status_code == 200, resp.text
    assert served(resp) == ("b", "claude-sonnet-4-20250514", "2")
    assert resp.json()["data"]["provider"] == "b"
    logged = row(gw.url, resp)
    assert (logged["route"], logged["provider"], logged["model"], logged["attempts"]) == (
        "smart", "b", "claude-sonnet-4-20250514", 2)
    [failed] = logged["failedAttempts"]
    assert (failed["provider"], failed["model"]) == ("a", "gpt-4o")
    assert (failed["code"], failed["status"]) == {"529": ("UPSTREAM_ERROR", 529), "timeout": ("UPSTREAM_TIMEOUT", 504),
                                                  "reset": ("UPSTREAM_ERROR", 502), "cut": ("UPSTREAM_ERROR", 502)}[fault]


def test_a_refused_connection_moves_on(gw, up):
    make_route(gw.url, "via-dead", DEAD, B)
    resp = chat(gw.url, "via-dead")
    assert resp.status_code == 200, resp.text
    assert served(resp) == ("b", "claude-sonnet-4-20250514", "2")
    assert row(gw.url, resp)["failedAttempts"][0]["provider"] == "dead"


def test_a_stream_cut_before_its_first_byte_is_served_by_the_next(gw, up):
    up.script("openai", cut_after(up, 0))
    with requests.post(gw.url + P + "/chat/stream", json={"model": "smart", "messages": ASK},
                       stream=True, timeout=30) as resp:
        assert resp.status_code == 200 and served(resp)[0] == "b"
        events = [event for _, event in streamed_events(resp)]
    assert events[0]["type"] == "message_start" and events[0]["provider"] == "b"
    assert events[-1]["type"] == "message_stop"
    assert "".join(e["delta"]["text"] for e in events if e["type"] == "content_block_delta") == \
        "The capital of France is Paris."


def test_a_stream_billed_before_it_failed_is_a_row_of_its_own(gw, up):
    """Anthropic reports input tokens in message_start: cut right after it, that attempt was billed."""
    make_route(gw.url, "b-first", B, A)
    up.script("anthropic", cut_after(up, 1))
    with requests.post(gw.url + P + "/chat/stream", json={"model": "b-first", "messages": ASK},
                       stream=True, timeout=30) as resp:
        events = [event for _, event in streamed_events(resp)]
        request_id = resp.headers["X-Request-Id"]
    assert events[0]["provider"] == "a" and events[-1]["type"] == "message_stop"
    logged = requests.get(gw.url + P + "/requests/" + request_id, timeout=10).json()["data"]
    [failed] = logged["failedAttempts"]
    billed = requests.get(gw.url + P + "/requests/" + failed["rowId"], timeout=10).json()["data"]
    assert (billed["provider"], billed["status"], billed["route"]) == ("b", "error", "b-first")
    assert billed["inputTokens"] > 0
    assert logged["provider"] == "a" and logged["inputTokens"] > 0


def test_no_fallback_on_a_400(gw, up):
    up.script("openai", Reply(400, json={"error": {"message": "bad request", "type": "invalid_request_error"}}))
    resp = chat(gw.url)
    assert resp.status_code == 400
    assert served(resp) == ("a", "gpt-4o", "1")
    assert up.of_kind("anthropic") == []


def test_no_fallback_on_a_content_filter(gw, up):
    up.script("openai", Reply(json={
        "id": "c1", "object": "chat.completion", "created": 1, "model": "gpt-4o",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": ""}, "finish_reason": "content_filter"}],
        "usage": {"prompt_tokens": 5, "completion_tokens": 0, "total_tokens": 5}}))
    resp = chat(gw.url)
    assert resp.status_code == 200
    assert resp.json()["data"]["finishReason"] == "content_filter" and served(resp)[0] == "a"
    assert up.of_kind("anthropic") == []


def test_a_stream_cut_after_its_first_byte_ends_with_an_error_event(gw, up):
    up.script("openai", cut_after(up, 2))  # the role chunk and "The"
    with requests.post(gw.url + P + "/chat/stream", json={"model": "smart", "messages": ASK},
                       stream=True, timeout=30) as resp:
        events = [event for _, event in streamed_events(resp)]
    assert [e["type"] for e in events] == ["message_start", "content_block_delta", "error"]
    assert events[0]["provider"] == "a" and up.of_kind("anthropic") == []


def provider_health(url, name):
    return requests.get(url + P + "/providers/" + name, timeout=10).json()["data"]["health"]


def test_the_breaker_opens_skips_probes_and_closes(gw, up):
    up.script("openai", *[Reply(529, json={"error": {"message": "overloaded"}})] * 3)
    for _ in range(3):
        assert served(chat(gw.url))[0] == "b"
    assert provider_health(gw.url, "a")["state"] == "open"
    calls = len(up.of_kind("openai"))
    resp = chat(gw.url)  # skipped: no request reaches a
    assert served(resp) == ("b", "claude-sonnet-4-20250514", "1")
    assert len(up.of_kind("openai")) == calls
    # A direct call to the open provider still goes through.
    assert chat(gw.url, "a/gpt-4o").status_code == 200
    time.sleep(1.1)
    up.script("openai", Reply(529, json={"error": {"message": "still overloaded"}}))
    assert served(chat(gw.url)) == ("b", "claude-sonnet-4-20250514", "2")  # the probe failed: open again
    assert served(chat(gw.url))[2] == "1"
    time.sleep(1.1)
    assert served(chat(gw.url)) == ("a", "gpt-4o", "1")  # the probe succeeded: closed
    assert served(chat(gw.url))[0] == "a"
    assert provider_health(gw.url, "a")["state"] != "open"


def test_every_surface_takes_a_route_name(gw, up):
    up.script("openai", *[Reply(503, json={"error": {"message": "down"}})] * 5)
    resp = requests.post(gw.url + "/v1/chat/completions", timeout=30,
                         json={"model": "smart", "messages": ASK})
    assert resp.status_code == 200 and resp.headers["X-Gateway-Provider"] == "b", resp.text
    resp = requests.post(gw.url + "/v1/messages", timeout=30,
                         json={"model": "smart", "max_tokens": 50, "messages": ASK})
    assert resp.status_code == 200 and resp.json()["model"] == "smart", resp.text
    resp = requests.post(gw.url + "/v1/responses", timeout=30, json={"model": "smart", "input": "Hello"})
    assert resp.status_code == 200 and resp.headers["X-Gateway-Provider"] == "b", resp.text
    ws = websocket.create_connection(gw.url.replace("http", "ws") + P + "/chat/ws", timeout=15)
    try:
        ws.send(json.dumps({"model": "smart", "messages": ASK}))
        first = json.loads(ws.recv())
        assert first["type"] == "message_start" and first["provider"] == "b"
    finally:
        ws.close()
    models = requests.get(gw.url + P + "/models", timeout=10).json()["data"]["models"]
    assert any(m["modelId"] == "smart" and m["route"] == "fallback" for m in models)
    assert "smart" in [m["id"] for m in requests.get(gw.url + "/v1/models", timeout=10).json()["data"]]


def test_least_busy_sends_a_slow_target_fewer_calls(gw, up):
    make_route(gw.url, "busy", A, B, strategy="least-busy")
    up.script("openai", *[Hang(0.4)] * 40)
    counts = {"a": 0, "b": 0}

    def worker():
        for _ in range(8):
            counts[served(chat(gw.url, "busy"))[0]] += 1
        return True

    at_once(4, worker)
    assert counts["a"] + counts["b"] == 32
    assert counts["a"] < counts["b"], counts  # an even split would give each 16


def test_weighted_uses_every_target_by_weight(gw, up):
    make_route(gw.url, "split", {**A, "weight": 1}, {**B, "weight": 1}, strategy="weighted")
    seen = [served(chat(gw.url, "split"))[0] for _ in range(40)]
    assert 8 <= seen.count("a") <= 32


@pytest.fixture
def pair(start_gunicorn, postgres_url, up):
    """Two instances on one PostgreSQL database and one Redis (a key prefix of this test's own)."""
    if not REDIS_URL:
        pytest.skip("TEST_REDIS_URL is not set (e.g. redis://127.0.0.1:6379/0)")
    import redis

    _reset_postgres(postgres_url)
    prefix = "igwroute-" + uuid.uuid4().hex[:12]
    env = {**BREAKER, "BREAKER_COOLDOWN": "30", "REDIS_URL": REDIS_URL, "LIMITS_REDIS_PREFIX": prefix}
    first = start_gunicorn(postgres_url, **env)
    second = start_gunicorn(postgres_url, **env)
    register(first.url, up)
    make_route(first.url, "smart", A, B)
    yield first, second
    client = redis.Redis.from_url(REDIS_URL)
    for name in client.scan_iter(match=prefix + ":*"):
        client.delete(name)


def test_two_instances_share_breaker_state_on_redis(pair, up):
    first, second = pair
    up.script("openai", *[Reply(529, json={"error": {"message": "overloaded"}})] * 3)
    for _ in range(3):
        assert served(chat(first.url))[0] == "b"
    calls = len(up.of_kind("openai"))
    resp = chat(second.url)
    assert served(resp) == ("b", "claude-sonnet-4-20250514", "1")
    assert len(up.of_kind("openai")) == calls  # the second instance skipped a without trying it
    assert provider_health(second.url, "a")["state"] == "open"
