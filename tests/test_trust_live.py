"""The attacks of issue 13 against real gunicorn: exfiltration to a listener, a self-loop, DNS
rebinding and cross-site WebSocket in open mode, and an echoed key in the log and database files."""
import json
import socket
import threading
import time

import pytest
import requests
import websocket

from .fake_upstream import Reply
from .live import P

ADMIN, CALLER = "admin-key-1", "caller-key-1"
AS_ADMIN = {"Authorization": f"Bearer {ADMIN}"}
AS_CALLER = {"Authorization": f"Bearer {CALLER}"}
OPENAI_KEY = "sk-real-openai-key-0123456789"
CHAT = {"messages": [{"role": "user", "content": "Hello"}]}


class Listener:
    """A plain TCP listener recording every connection and the bytes sent on it."""

    def __init__(self):
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/v1"
        self.received = []
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            conn.settimeout(1)
            try:
                self.received.append(conn.recv(65536))
            except OSError:
                self.received.append(b"")
            conn.close()

    def close(self):
        self.sock.close()


@pytest.fixture
def listener():
    server = Listener()
    yield server
    server.close()


def test_exfiltration_attempts_reach_nothing(start_gunicorn, tmp_path, up, listener):
    env = {"GATEWAY_API_KEYS": CALLER, "GATEWAY_ADMIN_KEYS": ADMIN, "OPENAI_API_KEY": OPENAI_KEY,
           "LEGACY_SECRET": "legacy-secret-value", "UPSTREAM_MAX_RETRIES": "0"}
    # A provider registered while PROVIDER_KEY_VARS allowed its variable...
    before = start_gunicorn(**env, PROVIDER_KEY_VARS="LEGACY_*")
    resp = requests.post(before.url + P + "/providers", headers=AS_ADMIN, timeout=10, json={
        "name": "legacy", "type": "openai", "envVar": "LEGACY_SECRET", "baseUrl": listener.url})
    assert resp.status_code == 201, resp.text
    before.stop()
    # ...and the gateway restarted with the default (*_API_KEY).
    gw = start_gunicorn(**env, PROVIDER_KEY_VARS="*_API_KEY")
    url = gw.url + P

    def call(method, path, headers, **kwargs):
        return requests.request(method, url + path, headers=headers, timeout=10, **kwargs)

    assert call("POST", "/providers", AS_ADMIN, json={"name": "openai", "type": "openai", "envVar": "OPENAI_API_KEY",
                                                      "baseUrl": up.base_url("openai")}).status_code == 201
    for env_var in ("GATEWAY_API_KEYS", "GATEWAY_ADMIN_KEYS", "DATABASE_URL", "PATH", "HOME", "OPENAI_API_KEY"):
        for kind in ("openai-compatible", "anthropic"):
            evil = {"name": "evil", "type": kind, "envVar": env_var, "baseUrl": listener.url}
            resp = call("POST", "/providers", AS_CALLER, json=evil)
            assert resp.status_code == 403 and resp.json()["error"]["code"] == "FORBIDDEN"
            if env_var != "OPENAI_API_KEY":  # an admin may send that one: it is a provider key
                resp = call("POST", "/providers", AS_ADMIN, json=evil)
                assert resp.status_code == 400 and "PROVIDER_KEY_VARS" in resp.text, (env_var, resp.text)
    assert call("POST", "/providers", AS_ADMIN, json={"name": "frag", "type": "openai-compatible",
                                                      "baseUrl": gw.url + P + "/chat#"}).status_code == 400
    # A caller can neither redirect nor remove the real provider, nor sync models.
    assert call("PUT", "/providers/openai", AS_CALLER, json={"baseUrl": listener.url}).status_code == 403
    assert call("DELETE", "/providers/openai", AS_CALLER).status_code == 403
    assert call("POST", "/models/sync", AS_CALLER, json={"provider": "openai"}).status_code == 403
    # The legacy provider is refused at call time, on every path that would send its key.
    for path, body in (("/chat", {**CHAT, "model": "legacy/x"}), ("/chat/stream", {**CHAT, "model": "legacy/x"})):
        resp = call("POST", path, AS_CALLER, json=body)
        assert resp.status_code == 400 and "PROVIDER_KEY_VARS" in resp.text
    assert call("POST", "/models/sync", AS_ADMIN, json={"provider": "legacy"}).status_code == 400
    providers = {p["name"]: p for p in call("GET", "/providers", AS_CALLER).json()["data"]}
    assert providers["legacy"]["keyConfigured"] is False and providers["openai"]["keyConfigured"] is True
    assert providers["openai"]["baseUrl"] == up.base_url("openai")
    # Callers still chat, and the real key goes to the real provider only.
    resp = call("POST", "/chat", AS_CALLER, json={**CHAT, "model": "openai/gpt-4o"})
    assert resp.status_code == 200, resp.text
    assert up.requests[-1].headers["Authorization"] == f"Bearer {OPENAI_KEY}"
    time.sleep(0.2)
    assert listener.received == []


def test_a_provider_pointing_at_the_gateway_itself_is_stopped(start_gunicorn):
    gw = start_gunicorn()
    url = gw.url + P
    resp = requests.post(url + "/providers", timeout=10, json={
        "name": "loop", "type": "openai-compatible", "baseUrl": gw.url + "/v1"})
    assert resp.status_code == 201, resp.text
    # Each gateway strips one "loop/" and sends the rest to itself through its OpenAI surface.
    started = time.monotonic()
    resp = requests.post(url + "/chat", timeout=30, json={**CHAT, "model": "loop/" * 30 + "x"})
    elapsed = time.monotonic() - started
    assert elapsed < 5
    assert resp.status_code == 508, resp.text
    error = resp.json()["error"]
    assert error["code"] == "LOOP_DETECTED" and "loop" in error["message"]
    assert requests.get(gw.url + "/healthz", timeout=2).status_code == 200
    time.sleep(0.5)  # rows are written as each call ends
    rows = requests.get(url + "/usage", timeout=10).json()["data"]
    assert 1 <= rows["summary"]["totalRequests"] < 10, rows["summary"]
    print("self-loop:", f"{elapsed:.2f} s,", rows["summary"]["totalRequests"], "rows")


def test_open_mode_serves_loopback_only(start_gunicorn):
    gw = start_gunicorn()
    assert requests.get(gw.url + P + "/providers", timeout=5).status_code == 200
    resp = requests.get(gw.url + P + "/providers", headers={"Host": "attacker.example"}, timeout=5)
    assert resp.status_code == 403 and resp.json()["error"]["code"] == "FORBIDDEN"
    resp = requests.post(gw.url + P + "/providers", headers={"Origin": "http://evil.example"}, timeout=5,
                         json={"name": "x", "type": "openai-compatible", "baseUrl": "http://127.0.0.1:9/v1"})
    assert resp.status_code == 403
    ws_url = gw.url.replace("http", "ws") + P + "/chat/ws"
    with pytest.raises(websocket.WebSocketBadStatusException) as refused:
        websocket.create_connection(ws_url, timeout=5, origin="http://evil.example")
    assert refused.value.status_code == 403
    with pytest.raises(websocket.WebSocketBadStatusException) as refused:
        websocket.create_connection(ws_url, timeout=5, host="attacker.example")
    assert refused.value.status_code == 403
    # A loopback page still gets its socket.
    ws = websocket.create_connection(ws_url, timeout=5, origin="http://localhost:5173")
    ws.send("[]")
    assert json.loads(ws.recv())["error"]["code"] == "BAD_REQUEST"
    ws.close()


def test_an_echoed_key_is_in_no_response_log_or_database_file(start_gunicorn, tmp_path, up):
    db_file = tmp_path / "echo.db"
    gw = start_gunicorn(f"sqlite:///{db_file}", OPENAI_API_KEY=OPENAI_KEY, LOG_LEVEL="DEBUG",
                        UPSTREAM_MAX_RETRIES="0")
    resp = requests.post(gw.url + P + "/providers", timeout=10, json={
        "name": "openai", "type": "openai", "envVar": "OPENAI_API_KEY", "baseUrl": up.base_url("openai")})
    assert resp.status_code == 201

    def echo(req):
        sent = req.headers["Authorization"].removeprefix("Bearer ")
        return Reply(401, json={"error": {"message": f"Incorrect API key provided: {sent}.", "code": "invalid_api_key"}})

    up.script("openai", echo, echo)
    for path in ("/chat", "/chat/stream"):
        resp = requests.post(gw.url + P + path, timeout=10, json={**CHAT, "model": "openai/gpt-4o"})
        assert resp.status_code == 502 and OPENAI_KEY not in resp.text and "[redacted]" in resp.text
    assert up.requests[-1].headers["Authorization"] == f"Bearer {OPENAI_KEY}"  # it was sent, and echoed
    rows = requests.get(gw.url + P + "/usage", timeout=10).json()["data"]["requests"]
    assert len(rows) == 2 and all("[redacted]" in r["errorMessage"] for r in rows)
    gw.stop()
    # Beside the database: its WAL and the request log's journal (a folder of files).
    beside = [p for pattern in ("echo.db-*", "echo.db-*/*") for p in tmp_path.glob(pattern) if p.is_file()]
    assert any(p.parent.name == "echo.db-request-log" for p in beside)
    for path in [db_file, *beside, gw.log_path]:
        assert OPENAI_KEY.encode() not in path.read_bytes(), path
    assert b"[redacted]" in db_file.read_bytes() + b"".join(p.read_bytes() for p in beside)
