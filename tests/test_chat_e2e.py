"""Chat end to end: the app against the fake upstream server (real sockets, real SSE), per provider."""
import json
import time

import pytest
import requests
import websocket

from .fake_upstream import SSE, Hang, Reply, Reset
from .helpers import ended_rows, log_rows, sse_events as sse

P = "/api/v1/inference"
SEED_CHAT = {"model": "claude-sonnet-4-20250514",
             "messages": [{"role": "user", "content": "What is the capital of France?"}],
             "maxTokens": 100}
SEED_STREAM = {"model": "gpt-4o", "messages": [{"role": "user", "content": "Hello"}]}

# (provider type, fake upstream kind, a model that reaches it)
KINDS = [
    ("anthropic", "anthropic", "claude-sonnet-4-20250514"),
    ("openai", "openai", "gpt-4o"),
    ("google", "google", "gemini-2.5-flash"),
    ("opencode", "opencode", "opencode/kimi-k2"),
    ("opencode", "opencode", "opencode/claude-sonnet-4"),
    ("opencode", "opencode", "opencode/gemini-2.5-pro"),
    ("openai-compatible", "compat", "local/llama3"),
]


@pytest.fixture
def app_config(app_config):
    # Short timeouts so the timeout cases stay fast; one retry budget of 2.
    return {**app_config, "UPSTREAM_READ_TIMEOUT": 1.0, "UPSTREAM_RETRY_AFTER_MAX": 2.0}


def upstream_usage(up):
    """The usage the fake upstream reported for its last chat reply (what we must pass on)."""
    return up.last_usage


@pytest.mark.parametrize("kind,fake,model", KINDS)
def test_seed_chat_against_every_provider(app, api, up, registered, kind, fake, model):
    status, body = api.post("/chat", json={**SEED_CHAT, "model": model})
    assert status == 200, body
    data = body["data"]
    assert data["content"] == "The capital of France is Paris."
    assert data["usage"] == upstream_usage(up)
    assert data["usage"]["inputTokens"] > 0 and data["usage"]["outputTokens"] > 0
    assert data["finishReason"] == "stop"
    [row] = log_rows(app)
    assert (row.status, row.endpoint, row.request_id) == ("success", "chat", data["requestId"])
    assert (row.input_tokens, row.output_tokens) == (data["usage"]["inputTokens"],
                                                     data["usage"]["outputTokens"])
    sent = up.requests[-1]
    assert sent.kind == fake
    assert "opencode/" not in json.dumps(sent.json or {})


@pytest.mark.parametrize("kind,fake,model", KINDS)
def test_seed_stream_against_every_provider(app, client, up, registered, kind, fake, model):
    resp = client.post(P + "/chat/stream", json={**SEED_STREAM, "model": model})
    assert resp.status_code == 200
    events = sse(resp)
    assert events[0]["type"] == "message_start"
    deltas = [e["delta"]["text"] for e in events if e["type"] == "content_block_delta"]
    assert deltas == up.stream_chunks  # one event per upstream delta, none merged
    stop = events[-1]
    assert stop["type"] == "message_stop"
    assert stop["usage"] == upstream_usage(up)  # the provider's own counts
    assert [e["type"] for e in events].count("message_stop") == 1
    [row] = log_rows(app)
    assert (row.status, row.endpoint) == ("success", "chat_stream")
    assert row.output_tokens == stop["usage"]["outputTokens"]


def test_openai_stream_asks_for_usage_and_maps_max_tokens(api, client, up, registered):
    client.post(P + "/chat/stream", json={**SEED_STREAM, "maxTokens": 50}).close()
    sent = up.requests[-1].json
    assert sent["stream_options"] == {"include_usage": True}
    assert sent["max_completion_tokens"] == 50 and "max_tokens" not in sent
    assert up.requests[-1].headers["Authorization"] == "Bearer key-for-openai"


def test_anthropic_request_mapping(api, up, registered):
    api.post("/chat", json={"model": "claude-3-5-haiku", "system": "be brief",
                            "messages": [{"role": "system", "content": "answer in French"},
                                         {"role": "user", "content": "hi"}]})
    sent = up.requests[-1]
    assert sent.headers["x-api-key"] == "key-for-anthropic"
    assert sent.headers["anthropic-version"] == "2023-06-01"
    assert sent.json["max_tokens"] == 4096
    assert [m["role"] for m in sent.json["messages"]] == ["user"]
    assert "be brief" in json.dumps(sent.json["system"])


def test_google_request_mapping(api, up, registered):
    api.post("/chat", json={"model": "gemini-2.5-flash", "maxTokens": 20, "messages": [
        {"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"},
        {"role": "user", "content": "again"}]})
    sent = up.requests[-1]
    assert sent.headers["x-goog-api-key"] == "key-for-google"
    assert [c["role"] for c in sent.json["contents"]] == ["user", "model", "user"]
    assert sent.json["generationConfig"]["maxOutputTokens"] == 20


# -- failures ---------------------------------------------------------------------------------

def test_429_with_retry_after_is_retried_then_succeeds(app, api, up, registered):
    up.script("openai", Reply(status=429, json={"error": {"message": "slow down", "type": "requests"}},
                              headers={"Retry-After": "0"}))
    status, body = api.post("/chat", json=SEED_STREAM)
    assert status == 200, body
    assert len([r for r in up.requests if r.kind == "openai"]) == 2
    assert len(log_rows(app)) == 1


def test_429_after_retries_is_rate_limited_with_retry_after(app, api, client, up, registered):
    limited = Reply(status=429, json={"error": {"message": "slow down", "type": "requests"}},
                    headers={"Retry-After": "30"})
    up.script("openai", limited)
    resp = client.post(P + "/chat", json=SEED_STREAM)
    assert resp.status_code == 429
    assert resp.get_json()["error"]["code"] == "RATE_LIMITED"
    assert resp.headers["Retry-After"] == "30"
    [row] = log_rows(app)
    assert (row.status, row.http_status, row.error_code) == ("error", 429, "RATE_LIMITED")


@pytest.mark.parametrize("kind,model,status", [
    ("openai", "gpt-4o", 500), ("anthropic", "claude-3-5-haiku", 529), ("google", "gemini-2.5-flash", 503),
])
def test_server_errors_are_retried_then_502(app, api, up, registered, kind, model, status):
    up.script(kind, *[Reply(status=status, json={"error": {"message": "overloaded"}})] * 3)
    code, body = api.post("/chat", json={**SEED_STREAM, "model": model})
    assert code == 502 and body["error"]["code"] == "UPSTREAM_ERROR"
    assert len([r for r in up.requests if r.kind == kind]) == 3  # first try + 2 retries
    assert len(log_rows(app)) == 1


def test_server_error_then_success_is_invisible(api, up, registered):
    up.script("anthropic", Reply(status=529, json={"type": "error", "error": {
        "type": "overloaded_error", "message": "Overloaded"}}))
    status, _ = api.post("/chat", json=SEED_CHAT)
    assert status == 200


def test_upstream_400_is_400_with_its_message(api, up, registered):
    up.script("openai", Reply(status=400, json={"error": {"message": "Unsupported value: 'temperature'",
                                                          "type": "invalid_request_error"}}))
    status, body = api.post("/chat", json=SEED_STREAM)
    assert status == 400 and body["error"]["code"] == "UPSTREAM_ERROR"
    assert "Unsupported value: 'temperature'" in body["error"]["message"]
    assert len(up.of_kind("openai")) == 1  # a 4xx is never retried


def test_refused_key_is_502_naming_the_env_var_not_the_key(api, up, registered):
    up.script("openai", Reply(status=401, json={"error": {"message": "Incorrect API key provided"}}))
    status, body = api.post("/chat", json=SEED_STREAM)
    assert status == 502
    assert "OPENAI_TEST_KEY" in body["error"]["message"]
    assert "key-for-openai" not in json.dumps(body)


def test_missing_key_is_provider_not_configured(api, up, registered, monkeypatch):
    monkeypatch.delenv("OPENAI_TEST_KEY")
    status, body = api.post("/chat", json=SEED_STREAM)
    assert status == 400 and body["error"]["code"] == "PROVIDER_NOT_CONFIGURED"
    assert "OPENAI_TEST_KEY" in body["error"]["message"]
    assert not [r for r in up.requests if r.kind == "openai"]


def test_timeout_is_504(app, api, up, registered):
    up.script("openai", Hang(3))
    status, body = api.post("/chat", json=SEED_STREAM)
    assert status == 504 and body["error"]["code"] == "UPSTREAM_TIMEOUT"
    [row] = log_rows(app)
    assert row.error_code == "UPSTREAM_TIMEOUT"


def test_malformed_json_is_502(api, up, registered):
    up.script("openai", Reply(status=200, body=b"{not json", headers={"Content-Type": "application/json"}))
    status, body = api.post("/chat", json=SEED_STREAM)
    assert status == 502 and "not valid JSON" in body["error"]["message"]


def test_connection_reset_is_retried(api, up, registered):
    up.script("openai", Reset())
    status, _ = api.post("/chat", json=SEED_STREAM)
    assert status == 200


def test_stream_reset_mid_way_is_an_error_event_and_logged(app, client, up, registered):
    chunks = [{"id": "c", "object": "chat.completion.chunk", "model": "gpt-4o",
               "choices": [{"index": 0, "delta": {"content": w}, "finish_reason": None}]}
              for w in ("one", " two", " three")]
    up.script("openai", SSE(chunks, reset_after=2))
    events = sse(client.post(P + "/chat/stream", json=SEED_STREAM))
    assert [e["type"] for e in events] == ["message_start", "content_block_delta",
                                          "content_block_delta", "error"]
    assert events[-1]["error"]["code"] == "UPSTREAM_ERROR"
    assert len(up.of_kind("openai")) == 1  # never retried once the client has events
    [row] = log_rows(app)
    assert (row.status, row.output_tokens) == ("error", 2)


def test_anthropic_error_event_after_200(app, client, up, registered):
    up.script("anthropic", SSE([
        ("message_start", {"type": "message_start", "message": {
            "id": "msg_1", "type": "message", "role": "assistant", "model": "claude-3-5-haiku",
            "content": [], "stop_reason": None, "usage": {"input_tokens": 9, "output_tokens": 1}}}),
        ("content_block_start", {"type": "content_block_start", "index": 0,
                                 "content_block": {"type": "text", "text": ""}}),
        ("content_block_delta", {"type": "content_block_delta", "index": 0,
                                 "delta": {"type": "text_delta", "text": "Par"}}),
        ("error", {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}),
    ]))
    events = sse(client.post(P + "/chat/stream", json=SEED_CHAT))
    assert [e["type"] for e in events] == ["message_start", "content_block_delta", "error"]
    assert "Overloaded" in events[-1]["error"]["message"]
    [row] = log_rows(app)
    assert (row.status, row.input_tokens) == ("error", 9)


def test_stream_failure_before_first_event_is_json(app, client, up, registered):
    up.script("openai", *[Reply(status=500, json={"error": {"message": "boom"}})] * 3)
    resp = client.post(P + "/chat/stream", json=SEED_STREAM)
    assert resp.status_code == 502 and resp.mimetype == "application/json"
    assert len(log_rows(app)) == 1


def test_deltas_are_forwarded_as_they_arrive(live_server, up, registered):
    """Each delta reaches the client before the upstream sends the next (0.3 s later): a gateway that
    held deltas back (read ahead, or released them together) cannot. Timed against the upstream's
    send times, not by the gaps between arrivals: the first delta waits, by design, for the stream's
    row in progress to commit (stream_rows.open_row), which shortened the first gap by as long (to
    0.14 s on a loaded CI's PostgreSQL)."""
    up.stream_delay, up.stamp = 0.3, True
    resp = requests.post(live_server.url + P + "/chat/stream", json=SEED_STREAM, stream=True, timeout=10)
    arrivals = [time.monotonic() for line in resp.iter_lines(chunk_size=None)
                if line.startswith(b"data: ") and b"content_block_delta" in line]
    assert len(arrivals) == len(up.sent_at) == len(up.stream_chunks)
    late = [(k, round(arrived - sent, 3)) for k, (arrived, sent) in enumerate(zip(arrivals, up.sent_at[1:]))
            if arrived >= sent]
    assert late == [], f"(delta, seconds after the upstream sent the next one): {late}"


def test_client_disconnect_closes_upstream_and_logs(app, live_server, up, registered):
    up.stream_delay = 0.2
    resp = requests.post(live_server.url + P + "/chat/stream", json=SEED_STREAM, stream=True, timeout=10)
    lines = resp.iter_lines(chunk_size=None)
    while b"content_block_delta" not in next(lines):
        pass
    resp.close()
    assert up.wait_disconnect(5), "the gateway kept reading from the upstream"
    [row] = ended_rows(app, 1)
    assert row.status == "cancelled" and row.output_tokens >= 1


def test_websocket_chat_and_cancel_against_the_upstream(app, live_server, up, registered):
    up.stream_delay = 0.2
    sock = websocket.create_connection(live_server.url.replace("http", "ws") + P + "/chat/ws", timeout=10)
    try:
        sock.send(json.dumps({**SEED_CHAT, "maxTokens": 50}))
        events = []
        while not events or events[-1]["type"] not in ("message_stop", "error"):
            events.append(json.loads(sock.recv()))
        assert "".join(e["delta"]["text"] for e in events if e["type"] == "content_block_delta") == \
            "The capital of France is Paris."
        assert events[-1]["usage"] == up.last_usage
        # A second request on the same socket, cancelled after its first delta.
        sock.send(json.dumps(SEED_STREAM))
        while json.loads(sock.recv())["type"] != "content_block_delta":
            pass
        sock.send(json.dumps({"type": "cancel"}))
        assert up.wait_disconnect(5), "the cancel left the upstream stream open"
    finally:
        sock.close()
    assert [row.status for row in ended_rows(app, 2)] == ["success", "cancelled"]


def test_the_environments_http_proxy_is_used(api, up, monkeypatch):
    # The fake upstream doubles as a forward proxy: it gets the absolute URL and answers it.
    monkeypatch.setenv("HTTP_PROXY", up.url)
    for name in ("NO_PROXY", "no_proxy", "http_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PROXIED_TEST_KEY", "key-for-proxied")
    status, body = api.post("/providers", json={"name": "proxied", "type": "openai", "envVar": "PROXIED_TEST_KEY",
                                                "baseUrl": "http://provider.invalid/openai/v1"})
    assert status == 201, body
    status, body = api.post("/chat", json={**SEED_STREAM, "providerId": "proxied"})
    assert status == 200, body
    [sent] = up.of_kind("openai")
    assert sent.headers["Host"] == "provider.invalid"


def test_a_json_reply_to_a_stream_request_is_a_502_before_any_event(app, client, up, registered):
    up.script("openai", Reply(json={"id": "x", "object": "chat.completion", "choices": []}))
    resp = client.post(P + "/chat/stream", json=SEED_STREAM)
    assert resp.status_code == 502 and resp.mimetype == "application/json"
    assert "not an event stream" in resp.get_json()["error"]["message"]
    [row] = log_rows(app)
    assert (row.status, row.error_code) == ("error", "UPSTREAM_ERROR")
