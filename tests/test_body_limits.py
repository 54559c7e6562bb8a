"""Bodies and frames past the gateway's bounds, through a real gunicorn: nesting depth and array
length (400 on every POST route and WebSocket frame), chunked bodies over MAX_REQUEST_BYTES (413,
never truncated), bodies that do not arrive in time (408, connection closed), WebSocket frames over
MAX_REQUEST_BYTES (an error event; the call running on that socket, other sockets and the next frame
unaffected; the frame never held)."""
import json
import socket
import threading
import time

import pytest
import requests
import websocket
from websocket import ABNF

from .fake_upstream import SSE
from .live import CHAT, P, PeakGrowth, receive_until_end, register_openai, request_row, text_of
from .test_stream_rows import openai_chunks

CAP = 1_000_000
POST_ROUTES = ["/providers", "/models/sync", "/chat", "/chat/stream", "/embed", "/images", "/transcribe"]


@pytest.fixture
def gateway(start_gunicorn, up):
    server = start_gunicorn(MAX_REQUEST_BYTES=str(CAP), REQUEST_BODY_TIMEOUT="1.5")
    register_openai(server.url, up)
    up.reset()
    return server


def ws_url(server):
    return server.url.replace("http://", "ws://") + P + "/chat/ws"


def test_deep_nesting_and_long_arrays_are_400s_on_every_route_and_frame(gateway, up):
    url = gateway.url + P
    deep = b"[" * 100_000
    for route in POST_ROUTES:
        resp = requests.post(url + route, data=deep, headers={"Content-Type": "application/json"}, timeout=10)
        assert resp.status_code == 400, (route, resp.status_code, resp.text[:200])
        assert resp.json()["error"]["message"] == "body: is nested deeper than 64 levels", route
    resp = requests.put(url + "/providers/openai", data=deep, headers={"Content-Type": "application/json"},
                        timeout=10)
    assert resp.status_code == 400
    # Deeper than 64 but within the parser's own limit: the field that is too deep is named.
    nested = {**CHAT, "messages": [{"role": "user", "content": json.loads("[" * 70 + "]" * 70)}]}
    resp = requests.post(url + "/chat", json=nested, timeout=10)
    assert resp.status_code == 400
    [field] = resp.json()["error"]["details"]
    assert field.startswith("messages.0.content.0.0") and "nested deeper than 64" in resp.json()["error"]["message"]
    many = {**CHAT, "messages": CHAT["messages"] * 10_001}
    resp = requests.post(url + "/chat", json=many, timeout=10)
    assert resp.status_code == 400
    assert resp.json()["error"]["details"] == {"messages": ["has 10001 items; at most 10000 are accepted"]}
    # Validation details are flat, dotted paths.
    resp = requests.post(url + "/chat", json={**CHAT, "messages": [{"role": 5, "content": "Hi"}]}, timeout=10)
    assert resp.json()["error"]["details"] == {"messages.0.role": ["Not a valid string."]}

    ws = websocket.create_connection(ws_url(gateway), timeout=15)
    try:
        ws.send("[" * 100_000)
        [event] = receive_until_end(ws)
        assert event["error"] == {"code": "BAD_REQUEST", "message": "body: is nested deeper than 64 levels"}
        ws.send(json.dumps(many))
        [event] = receive_until_end(ws)
        assert event["error"]["message"].startswith("messages: has 10001 items")
        ws.send(json.dumps(CHAT))  # the reader survived: the next frame is served
        events = receive_until_end(ws)
        assert events[-1]["type"] == "message_stop" and text_of(events) == "".join(up.stream_chunks)
    finally:
        ws.close()
    assert len(up.requests) == 1  # only the valid frame reached the provider


def chunked(payload, piece=64 * 1024):
    for start in range(0, len(payload), piece):
        yield payload[start:start + piece]


def test_a_chunked_body_over_the_cap_is_413_never_truncated(gateway, up):
    url = gateway.url + P
    body = json.dumps(CHAT).encode()
    # JSON then spaces: cut at the cap it would still parse, and be answered as if whole.
    over = body + b" " * (CAP + 10 - len(body))
    resp = requests.post(url + "/chat", data=chunked(over), headers={"Content-Type": "application/json"}, timeout=20)
    assert resp.status_code == 413, resp.text[:200]
    assert resp.json()["error"]["code"] == "PAYLOAD_TOO_LARGE"
    at_cap = body + b" " * (CAP - len(body))
    resp = requests.post(url + "/chat", data=chunked(at_cap), headers={"Content-Type": "application/json"}, timeout=20)
    assert resp.status_code == 200, resp.text[:200]
    one_over = at_cap + b" "
    resp = requests.post(url + "/embed", data=chunked(one_over), headers={"Content-Type": "application/json"},
                         timeout=20)
    assert resp.status_code == 413
    assert len(up.requests) == 1


def read_response(sock, timeout=10):
    """Everything the server sends until it closes the connection."""
    sock.settimeout(timeout)
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    return data


@pytest.mark.parametrize("framing,worker", [("content-length", "gevent"), ("chunked", "gevent"),
                                            ("content-length", "gthread")])
def test_a_body_that_does_not_arrive_in_time_is_408_and_the_connection_closed(start_gunicorn, up, framing, worker):
    gateway = start_gunicorn(REQUEST_BODY_TIMEOUT="1.5", WORKER_CLASS=worker)
    register_openai(gateway.url, up)
    up.reset()
    sock = socket.create_connection(("127.0.0.1", gateway.port))
    length = "Content-Length: 100000" if framing == "content-length" else "Transfer-Encoding: chunked"
    sock.sendall(f"POST {P}/chat HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n{length}\r\n\r\n".encode())
    sock.sendall(b'{"model"' if framing == "content-length" else b'8\r\n{"model"\r\n')
    started = time.monotonic()
    reply = read_response(sock)  # returns only once the server closed the connection
    elapsed = time.monotonic() - started
    sock.close()
    assert reply.startswith(b"HTTP/1.1 408"), reply[:200]
    assert b'"code":"REQUEST_TIMEOUT"' in reply
    assert 1.0 < elapsed < 5, elapsed
    assert up.requests == []
    # The worker is free for others meanwhile and after.
    assert requests.post(gateway.url + P + "/chat", json=CHAT, timeout=10).status_code == 200


def test_a_websocket_frame_over_the_cap_is_an_error_event_and_the_socket_goes_on(start_gunicorn, up, db_url):
    gateway = start_gunicorn(db_url, MAX_REQUEST_BYTES=str(CAP), LOG_LEVEL="warning")
    register_openai(gateway.url, up)
    up.reset()
    [worker] = gateway.worker_pids()
    release, items = threading.Event(), openai_chunks(["a", "b", "c"])

    def held():  # the first delta, then nothing until the test has sent its oversized frame
        yield items[0]
        release.wait(60)
        yield from items[1:]

    up.script("openai", SSE(held()))
    ws = websocket.create_connection(ws_url(gateway), timeout=60)
    other = websocket.create_connection(ws_url(gateway), timeout=60)
    try:
        ws.send(json.dumps(CHAT))
        start = json.loads(ws.recv())
        assert start["type"] == "message_start" and json.loads(ws.recv())["delta"]["text"] == "a "
        with PeakGrowth(worker) as peak:
            ws.send("x" * 60_000_000)  # one 60 MB frame while that generation runs
            other.send(json.dumps(CHAT))  # another socket is served meanwhile
            assert receive_until_end(other)[-1]["type"] == "message_stop"
            release.set()
            events = receive_until_end(ws)  # the running generation ends as it would have
            dropped = json.loads(ws.recv())  # then the oversized frame's answer, in its turn
        assert [e["type"] for e in events] == ["content_block_delta"] * 2 + ["message_stop"]
        assert text_of(events) == "b c " and events[-1]["usage"]["outputTokens"] == 3
        assert dropped == {"type": "error", "error": {"code": "PAYLOAD_TOO_LARGE", "message": (
            f"a frame over the gateway's limit of {CAP:,} bytes (MAX_REQUEST_BYTES) was read and dropped; "
            "the socket stays open")}}
        # Read 64 KiB at a time and dropped past 1 MB: the worker never held the frame.
        assert peak.mib < 20, f"the worker's peak grew by {peak.mib:.1f} MiB"
        # One message over the cap in fragments, the small last one taking it over.
        piece = 50_000
        for i in range(CAP // piece):
            ws.send_frame(ABNF.create_frame("x" * piece, ABNF.OPCODE_TEXT if i == 0 else ABNF.OPCODE_CONT, fin=0))
        ws.send_frame(ABNF.create_frame("x" * 10, ABNF.OPCODE_CONT, fin=1))
        assert json.loads(ws.recv())["error"]["code"] == "PAYLOAD_TOO_LARGE"
        ws.send(json.dumps(CHAT))  # the next frame is served
        last = receive_until_end(ws)
        assert last[-1]["type"] == "message_stop" and text_of(last) == "".join(up.stream_chunks)
    finally:
        ws.close()
        other.close()
    row = request_row(gateway.url, start["requestId"])
    assert (row["endpoint"], row["status"], row["outputTokens"]) == ("chat_ws", "success", 3)
    assert gateway.worker_pids() == [worker]
