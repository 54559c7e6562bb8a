"""Running the gateway for real: gunicorn as a subprocess, and clients for its HTTP, SSE and WebSocket routes."""
import json
import os
import signal
import subprocess
import sys
import threading
import time

import requests
import websocket

from .helpers import free_port, streamed_events

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GUNICORN = os.path.join(os.path.dirname(sys.executable), "gunicorn")
P = "/api/v1/inference"
CHAT = {"model": "openai/gpt-4o", "messages": [{"role": "user", "content": "Hello"}]}
KEY_VAR = "GUNICORN_TEST_OPENAI_KEY"


class Gunicorn:
    """gunicorn -c gunicorn.conf.py wsgi:app as a subprocess on a free loopback port."""

    def __init__(self, tmp_path, database_url, **env):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = tmp_path / f"gunicorn-{self.port}.log"
        self.env = {**os.environ, "PORT": str(self.port), "DATABASE_URL": database_url,
                    "WEB_CONCURRENCY": "1", "GATEWAY_API_KEYS": "", "GATEWAY_ADMIN_KEYS": "",
                    "PROVIDER_KEY_VARS": "*_KEY", KEY_VAR: "sk-test",
                    "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / f"metrics-{self.port}"), **env}
        self.proc = None

    def start(self, timeout=30):
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen([GUNICORN, "-c", "gunicorn.conf.py", "wsgi:app"], cwd=ROOT,
                                     env=self.env, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"gunicorn exited {self.proc.returncode}:\n{self.output()}")
            try:
                if requests.get(self.url + "/healthz", timeout=2).ok:
                    return self
            except requests.RequestException:
                pass  # not listening yet, or a worker still booting
            time.sleep(0.1)
        raise AssertionError(f"gunicorn did not become healthy:\n{self.output()}")

    def output(self):
        return self.log_path.read_text(errors="replace")

    def worker_pids(self):
        out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(self.proc.pid)], capture_output=True, text=True)
        return [int(pid) for pid in out.stdout.split()]

    def stop(self, timeout=30):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


def register_openai(url, up):
    resp = requests.post(url + P + "/providers", timeout=10, json={
        "name": "openai", "type": "openai", "envVar": KEY_VAR, "baseUrl": up.base_url("openai")})
    assert resp.status_code == 201, resp.text
    return resp.json()["data"]


def stream_chat(url, started=None):
    """Run one SSE chat; record when it started streaming; return its events."""
    with requests.post(url + P + "/chat/stream", json=CHAT, stream=True, timeout=30) as resp:
        assert resp.status_code == 200, resp.text
        events = []
        for at, event in streamed_events(resp):
            if event["type"] == "message_start" and started is not None:
                started.append(at)
            events.append(event)
        return events


def receive_until_end(sock):
    """A WebSocket chat's events, up to its message_stop (or error)."""
    events = []
    while True:
        event = json.loads(sock.recv())
        events.append(event)
        if event["type"] in ("message_stop", "error"):
            return events


def ws_chat(ws_url, body=CHAT):
    """One chat over the WebSocket route: the events up to message_stop (or an error)."""
    ws = websocket.create_connection(ws_url + P + "/chat/ws", timeout=15)
    try:
        ws.send(json.dumps(body))
        return receive_until_end(ws)
    finally:
        ws.close()


def at_once(n, call, timeout=60):
    """Run `call` on n threads at once; return the n results (a failed call fails the test)."""
    results = []
    threads = [threading.Thread(target=lambda: results.append(call())) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout)
    assert len(results) == n, f"{n - len(results)} of {n} calls failed or hung"
    return results


def text_of(events):
    return "".join(e["delta"]["text"] for e in events if e["type"] == "content_block_delta")


def usage_of(url):
    """GET /usage: summary, breakdowns and the newest request-log rows."""
    resp = requests.get(url + P + "/usage", timeout=10)
    assert resp.status_code == 200, resp.text
    return resp.json()["data"]


def memory_kib(pid, field):
    """A process's VmRSS or VmHWM (its peak resident size), in KiB."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise AssertionError(f"no {field} for pid {pid}")


class PeakGrowth:
    """How far a process's resident memory rose above where it stood at the start of the block, at
    its highest (Linux: writing 5 to /proc/<pid>/clear_refs resets the peak, VmHWM). `mib` after."""

    def __init__(self, pid):
        self.pid, self.mib = pid, None

    def __enter__(self):
        self.before = memory_kib(self.pid, "VmRSS")
        with open(f"/proc/{self.pid}/clear_refs", "w") as refs:
            refs.write("5")
        return self

    def __exit__(self, *exc):
        self.mib = (memory_kib(self.pid, "VmHWM") - self.before) / 1024


def request_row(url, request_id, timeout=10):
    """GET /requests/<id> once the row has its outcome (a stream's row is in progress until its end)."""
    deadline = time.monotonic() + timeout
    while True:
        resp = requests.get(url + P + "/requests/" + request_id, timeout=10)
        if resp.status_code == 200 and resp.json()["data"]["status"] != "in_progress":
            return resp.json()["data"]
        assert time.monotonic() < deadline, (resp.status_code, resp.text[:300])
        time.sleep(0.1)
