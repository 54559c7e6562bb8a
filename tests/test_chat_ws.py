"""The WebSocket chat route, over a real socket with websocket-client."""
import json
import threading

import pytest
import requests
import websocket

from inference_gateway.store.db import database
from inference_gateway.types import Chunk

from .helpers import ended_rows, log_rows as rows
from .live import receive_until_end
from .mock_provider import chunks
from .test_chat_api import HELLO


@pytest.fixture
def ws(live_server):
    sock = websocket.create_connection(
        live_server.url.replace("http", "ws") + "/api/v1/inference/chat/ws", timeout=5)
    yield sock
    sock.close()


def test_one_request_per_frame_in_turn(app, ws, script, openai):
    script.enqueue(chunks("Hel", "lo"), chunks("again"))
    ws.send(json.dumps(HELLO))
    first = receive_until_end(ws)
    ws.send(json.dumps({**HELLO, "type": "chat"}))
    second = receive_until_end(ws)
    assert [e["type"] for e in first] == ["message_start", "content_block_delta",
                                         "content_block_delta", "message_stop"]
    assert first[-1]["usage"] == {"inputTokens": 10, "outputTokens": 5}
    assert [e.get("delta", {}).get("text") for e in second if e["type"] == "content_block_delta"] == ["again"]
    logged = rows(app)
    assert [r.endpoint for r in logged] == ["chat_ws", "chat_ws"]
    assert {r.status for r in logged} == {"success"}


def test_bad_frame_gets_error_event_and_socket_stays_open(app, ws, script, openai):
    ws.send("not json")
    assert json.loads(ws.recv())["error"]["code"] == "BAD_REQUEST"
    ws.send(json.dumps({"messages": []}))
    event = json.loads(ws.recv())
    assert event["type"] == "error" and "messages" in event["error"]["message"]
    ws.send(json.dumps({"type": "cancel"}))
    assert "nothing to cancel" in json.loads(ws.recv())["error"]["message"]
    script.enqueue(chunks("ok"))
    ws.send(json.dumps(HELLO))
    assert receive_until_end(ws)[-1]["type"] == "message_stop"


def test_cancel_stops_generation_and_logs_cancelled(app, ws, script, openai):
    gate = threading.Event()
    script.enqueue([Chunk(text="first"), gate, Chunk(text="never sent")])
    ws.send(json.dumps(HELLO))
    assert json.loads(ws.recv())["type"] == "message_start"
    assert json.loads(ws.recv())["delta"]["text"] == "first"
    ws.send(json.dumps({"type": "cancel"}))  # while the upstream is silent
    event = json.loads(ws.recv())
    assert event == {"type": "error", "error": {"code": "CANCELLED",
                                                "message": "generation cancelled by the client"}}
    assert script.closed == 1
    # the error event goes out before the stream's row gets its outcome (in_progress until then)
    [row] = ended_rows(app, 1)
    assert (row.status, row.endpoint, row.output_tokens) == ("cancelled", "chat_ws", 1)
    assert not gate.is_set() or script.aborted
    # the socket still serves the next request
    script.aborted = False
    script.enqueue(chunks("next"))
    ws.send(json.dumps(HELLO))
    assert receive_until_end(ws)[-1]["type"] == "message_stop"


def test_client_closing_the_socket_mid_stream_logs_cancelled(app, live_server, script, openai):
    gate = threading.Event()
    script.enqueue([Chunk(text="first"), gate, Chunk(text="never sent")])
    sock = websocket.create_connection(
        live_server.url.replace("http", "ws") + "/api/v1/inference/chat/ws", timeout=5)
    sock.send(json.dumps(HELLO))
    sock.recv(), sock.recv()
    sock.close()
    [row] = ended_rows(app, 1)
    assert row.status == "cancelled" and script.closed == 1


def test_socket_needs_the_api_key_when_set(app_config, tmp_path):
    from inference_gateway import create_app

    from werkzeug.serving import make_server

    app = create_app({**app_config, "GATEWAY_API_KEYS": "k1"})
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"ws://127.0.0.1:{server.server_port}/api/v1/inference/chat/ws"
    try:
        with pytest.raises(websocket.WebSocketBadStatusException) as info:
            websocket.create_connection(url, timeout=5)
        assert info.value.status_code == 401
        sock = websocket.create_connection(url, timeout=5, header=["Authorization: Bearer k1"])
        sock.send("[]")
        assert json.loads(sock.recv())["error"]["code"] == "BAD_REQUEST"
        sock.close()
    finally:
        server.shutdown()


def test_open_sockets_hold_no_database_connection(app, live_server, script, openai, monkeypatch):
    # A pool of 2 whose waiters give up after 0.5 s, and more sockets than that left open, each
    # having made a call: the next call on each (and a plain REST call) still gets a connection.
    monkeypatch.setattr(database.obj, "_max_connections", 2)
    monkeypatch.setattr(database.obj, "_wait_timeout", 0.5)
    app.extensions["resolve_cache"] = None  # every call resolves, so every call takes a connection
    url = live_server.url.replace("http", "ws") + "/api/v1/inference/chat/ws"
    sockets = [websocket.create_connection(url, timeout=5) for _ in range(4)]
    try:
        for _ in range(2):
            for sock in sockets:
                script.enqueue(chunks("hi"))
                sock.send(json.dumps(HELLO))
                assert receive_until_end(sock)[-1]["type"] == "message_stop"
        assert requests.get(live_server.url + "/api/v1/inference/providers", timeout=5).status_code == 200
    finally:
        for sock in sockets:
            sock.close()
    assert [r.status for r in ended_rows(app, 8)] == ["success"] * 8


def test_the_socket_keeps_the_protocol(app, live_server, ws, script, openai):
    # A ping is answered, a binary frame is a request like a text one, and an upgrade that is not a
    # valid WebSocket handshake is a 400 envelope, not a half-open socket.
    ws.ping(b"are you there")
    opcode, data = ws.recv_data(control_frame=True)
    assert (opcode, data) == (websocket.ABNF.OPCODE_PONG, b"are you there")
    script.enqueue(chunks("bin"))
    ws.send_binary(json.dumps(HELLO).encode())
    assert receive_until_end(ws)[-1]["type"] == "message_stop"
    resp = requests.get(live_server.url + "/api/v1/inference/chat/ws", headers={"Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Version": "13"},
                        timeout=5)
    assert resp.status_code == 400 and resp.json()["error"]["message"].startswith("not a valid WebSocket upgrade")


def test_invalid_utf8_closes_the_socket_with_1007(app, ws):
    ws.send(b"\xff\xfe", opcode=websocket.ABNF.OPCODE_TEXT)
    opcode, data = ws.recv_data(control_frame=True)
    assert opcode == websocket.ABNF.OPCODE_CLOSE and int.from_bytes(data[:2], "big") == 1007
