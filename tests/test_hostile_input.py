"""Hostile input through a real gunicorn (SQLite and PostgreSQL): NUL characters, unpaired
surrogates, deep nesting and long arrays are 400s naming the field, before any upstream call, on
every route and WebSocket frame; a provider reply carrying them still leaves its row; one id per
HTTP call; validation details under dotted field paths."""
import json
import time

import pytest
import requests
import websocket

from .fake_upstream.common import Reply
from .live import CHAT, P, register_openai, receive_until_end, text_of

MESSAGES = [{"role": "user", "content": "Hello"}]
NUL, SURROGATE = "\u0000", "\ud800"


@pytest.fixture
def gateway(start_gunicorn, db_url, up):
    server = start_gunicorn(db_url, LOG_BODIES="1")
    register_openai(server.url, up)
    up.reset()  # the registration is not an upstream call of the cases below
    return server


def refused(resp, field):
    assert resp.status_code == 400, (resp.status_code, resp.text[:300])
    error = resp.json()["error"]
    assert error["code"] == "BAD_REQUEST" and resp.json()["success"] is False
    assert field in error["details"], error
    assert error["message"].startswith(field + ":"), error
    return error


def row_of(url, call_id, timeout=5):
    """GET /requests/<id>, waiting for a stream's row (written just after its last event is sent)."""
    deadline = time.monotonic() + timeout
    while (resp := requests.get(url + "/requests/" + call_id, timeout=10)).status_code == 404:
        assert time.monotonic() < deadline, f"no row for {call_id}"
        time.sleep(0.05)
    assert resp.status_code == 200, resp.text
    return resp.json()["data"]


def open_socket(server):
    return websocket.create_connection(server.url.replace("http://", "ws://") + P + "/chat/ws", timeout=15)


def test_nul_and_unpaired_surrogates_are_400s_naming_the_field_before_any_upstream_call(gateway, up):
    url = gateway.url + P
    bodies = [
        ("/chat", {"model": "cmp/llama3" + SURROGATE, "messages": MESSAGES}, "model"),
        ("/chat/stream", {"model": "openai/gpt-4o" + NUL, "messages": MESSAGES}, "model"),
        ("/chat", {"model": "openai/gpt-4o", "messages": [{"role": "user", "content": "a" + NUL}]},
         "messages.0.content"),
        ("/chat", {"providerId": NUL, "model": "gpt-4o", "messages": MESSAGES}, "providerId"),
        ("/chat", {**CHAT, "odd" + NUL: 1}, "odd\\u0000"),
        ("/embed", {"model": "openai/text-embedding-3-small", "input": ["fine", "bad" + SURROGATE]}, "input.1"),
        ("/images", {"model": "openai/dall-e-3", "prompt": NUL}, "prompt"),
        ("/models/sync", {"provider": "openai" + NUL}, "provider"),
        ("/providers", {"name": "p2", "type": "openai", "envVar": "K", "defaultModel": "m" + NUL}, "defaultModel"),
    ]
    for path, body, field in bodies:
        refused(requests.post(url + path, json=body, timeout=10), field)
    refused(requests.put(url + "/providers/openai", json={"defaultModel": NUL}, timeout=10), "defaultModel")
    # An unpaired surrogate sent as raw (invalid) UTF-8 bytes rather than a \u escape.
    raw = b'{"model": "openai/gpt-4o\xed\xa0\x80", "messages": [{"role": "user", "content": "Hi"}]}'
    refused(requests.post(url + "/chat", data=raw, headers={"Content-Type": "application/json"}, timeout=10),
            "model")
    # Paths and query strings reach the database's lookups (PostgreSQL refuses NUL outright).
    for path, field in [("/providers/%00", "path"), ("/requests/a%00b", "path"), ("/usage?model=%00", "model"),
                        ("/usage?provider=x%00", "provider"), ("/models?provider=%00", "provider")]:
        refused(requests.get(url + path, timeout=10), field)
    refused(requests.delete(url + "/providers/openai%00", timeout=10), "path")
    form = requests.post(url + "/transcribe", data={"model": "openai/whisper-1", "language": "e" + NUL},
                         files={"file": ("a.mp3", b"ID3" + b"\0" * 100)}, timeout=10)
    refused(form, "language")
    assert up.requests == [], "an upstream was called for a refused request"

    # Over the WebSocket: an error event naming the field, and the socket serves the next frame.
    ws = open_socket(gateway)
    try:
        ws.send(json.dumps({"model": "openai/gpt-4o" + NUL, "messages": MESSAGES}))
        [event] = receive_until_end(ws)
        assert event["error"]["code"] == "BAD_REQUEST" and event["error"]["message"].startswith("model:")
        ws.send(json.dumps(CHAT))
        events = receive_until_end(ws)
        assert events[-1]["type"] == "message_stop" and text_of(events) == "".join(up.stream_chunks)
    finally:
        ws.close()
    assert len(up.requests) == 1
    # Nothing above broke the database's connections: the gateway still answers from it.
    assert requests.get(url + "/providers/openai", timeout=10).status_code == 200
    assert requests.get(url + "/usage", timeout=10).json()["data"]["summary"]["totalRequests"] >= 1


def test_a_provider_reply_with_nul_and_surrogates_still_ends_in_a_row(gateway, up):
    url = gateway.url + P
    odd = "Par" + NUL + "is" + SURROGATE
    reply = json.load(open("tests/fixtures/providers/openai/chat.json"))
    reply["choices"][0]["message"]["content"] = odd
    up.script("openai", Reply(json=reply))
    resp = requests.post(url + "/chat", json=CHAT, timeout=10)
    assert resp.status_code == 200 and resp.json()["data"]["content"] == odd  # the client gets it as sent
    row = requests.get(url + "/requests/" + resp.json()["data"]["requestId"], timeout=10).json()["data"]
    assert row["status"] == "success" and row["outputTokens"] == 8
    # Stored as JSON text: the NUL as its escape, the surrogate (not encodable) replaced.
    assert '"content": "Par\\u0000is\ufffd"' in row["responseBody"]

    # An upstream error whose message carries them: the client's error and the row both exist.
    up.script("openai", Reply(status=400, json={"error": {"message": "bad" + NUL + "request" + SURROGATE,
                                                          "type": "invalid_request_error"}}))
    resp = requests.post(url + "/chat", json=CHAT, timeout=10)
    assert resp.status_code == 400 and resp.json()["success"] is False
    row = requests.get(url + "/requests/" + resp.headers["X-Request-Id"], timeout=10).json()["data"]
    assert row["status"] == "error" and "bad\ufffdrequest\ufffd" in row["errorMessage"]

    # A stream whose deltas carry them: every delta, the stop event, and the row.
    up.stream_chunks = ["a" + NUL, "b" + SURROGATE, "c"]
    with requests.post(url + "/chat/stream", json=CHAT, stream=True, timeout=10) as resp:
        events = [json.loads(line[6:]) for line in resp.iter_lines() if line.startswith(b"data: ")]
        request_id = resp.headers["X-Request-Id"]
    assert events[-1]["type"] == "message_stop" and text_of(events) == "a" + NUL + "b" + SURROGATE + "c"
    row = row_of(url, request_id)
    assert row["status"] == "success" and row["stream"] and row["outputTokens"] == 3


def test_one_id_per_http_call_and_either_id_finds_the_row(gateway, up):
    url = gateway.url + P
    resp = requests.post(url + "/chat", json=CHAT, headers={"X-Request-Id": "client-id.1"}, timeout=10)
    assert resp.headers["X-Request-Id"] == "client-id.1" == resp.json()["data"]["requestId"]
    row = requests.get(url + "/requests/client-id.1", timeout=10).json()["data"]
    assert row["requestId"] == "client-id.1" and row["endpoint"] == "chat"
    # The row's own id still finds it (older rows have no X-Request-Id stored, only that id).
    assert requests.get(url + "/requests/" + row["id"], timeout=10).json()["data"] == row

    # Without a caller's id the gateway's own is the one in the header, the body and the row.
    resp = requests.post(url + "/chat", json=CHAT, timeout=10)
    made = resp.headers["X-Request-Id"]
    assert resp.json()["data"]["requestId"] == made
    assert requests.get(url + "/requests/" + made, timeout=10).json()["data"]["requestId"] == made
    with requests.post(url + "/chat/stream", json=CHAT, stream=True, timeout=10) as resp:
        first = json.loads(next(line for line in resp.iter_lines() if line.startswith(b"data: "))[6:])
        assert first["type"] == "message_start" and first["requestId"] == resp.headers["X-Request-Id"]
        resp.content  # the rest of the stream
    assert row_of(url, first["requestId"])["stream"] is True
    # A WebSocket carries many calls on one HTTP request: each goes by its row's id.
    ws = open_socket(gateway)
    try:
        ws.send(json.dumps(CHAT))
        start = receive_until_end(ws)[0]
    finally:
        ws.close()
    row = row_of(url, start["requestId"])
    assert row["id"] == start["requestId"] and row["endpoint"] == "chat_ws"
