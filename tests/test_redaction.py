"""Upstream text that echoes the provider key never reaches the client, the log or the database;
error messages are capped."""
import logging

import pytest

from inference_gateway import errors

from .fake_upstream import SSE, Reply
from .helpers import log_rows, sse_events

P = "/api/v1/inference"
KEY = "sk-proj-Secret1234567890"
CHAT = {"messages": [{"role": "user", "content": "hi"}]}


@pytest.fixture
def providers(api, up, monkeypatch):
    monkeypatch.setenv("OPENAI_TEST_KEY", KEY)
    monkeypatch.setenv("CLAUDE_TEST_KEY", KEY)
    for name, kind in (("openai", "openai"), ("claude", "anthropic")):
        status, body = api.post("/providers", json={"name": name, "type": kind, "envVar": f"{name.upper()}_TEST_KEY",
                                                    "baseUrl": up.base_url(kind)})
        assert status == 201, body


def echo_key(req):
    sent = req.headers.get("x-api-key") or req.headers["Authorization"].removeprefix("Bearer ")
    return Reply(401, json={"error": {"message": f"Incorrect API key provided: {sent}. Find your key at ...",
                                      "type": "invalid_request_error"}})


@pytest.mark.parametrize("kind,model", [("openai", "openai/gpt-4o"), ("anthropic", "claude/claude-3-5-haiku")])
@pytest.mark.parametrize("path", ["/chat", "/chat/stream"])
def test_an_echoed_key_is_redacted_everywhere(app, client, up, providers, caplog, kind, model, path):
    up.script(kind, echo_key)
    with caplog.at_level(logging.DEBUG):
        resp = client.post(P + path, json={**CHAT, "model": model})
    text = resp.get_data(as_text=True)
    assert resp.status_code == 502
    assert KEY not in text and "Incorrect API key provided: [redacted]" in text
    assert KEY in up.requests[-1].headers.get("x-api-key", "") + up.requests[-1].headers.get("Authorization", "")
    [row] = log_rows(app)
    assert "[redacted]" in row.error_message and KEY not in row.error_message
    assert KEY not in caplog.text


def test_a_key_echoed_mid_stream_is_redacted(app, client, up, providers):
    up.script("openai", SSE([{"choices": [{"index": 0, "delta": {"content": "Hi"}}]},
                             {"error": {"message": f"key {KEY} revoked", "type": "server_error"}}]))
    events = sse_events(client.post(P + "/chat/stream", json={**CHAT, "model": "openai/gpt-4o"}))
    assert events[-1]["type"] == "error"
    assert KEY not in events[-1]["error"]["message"] and "[redacted]" in events[-1]["error"]["message"]
    [row] = log_rows(app)
    assert KEY not in row.error_message


def test_long_upstream_messages_are_capped(app, client, up, providers):
    up.script("openai", Reply(400, json={"error": {"message": "x" * 50_000, "type": "invalid_request_error"}}))
    resp = client.post(P + "/chat", json={**CHAT, "model": "openai/gpt-4o"})
    message = resp.get_json()["error"]["message"]
    assert resp.status_code == 400 and len(message) == errors.MESSAGE_MAX
    assert message.endswith("[truncated]")
    [row] = log_rows(app)
    assert row.error_message == message


def test_cap_and_redact():
    assert errors.cap("a" * 10) == "a" * 10 and errors.cap(None) is None
    assert len(errors.cap("a" * 5000)) == 2000
    assert errors.redact("key sk-123456 and sk-123456", "sk-123456") == "key [redacted] and [redacted]"
    assert errors.redact("a short key", "a") == "a short key"  # too short to search for
    assert errors.clean("k=" + "s" * 3000, "s" * 3000) == "k=[redacted]"
    assert errors.GatewayError("m" * 9000).message == errors.cap("m" * 9000)
