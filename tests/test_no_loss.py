"""No request-log row lost or counted twice: 5,000 chat calls at concurrency 64 through gunicorn with
several worker processes, against the fake upstream, on SQLite and PostgreSQL.

Slow (about 10-40 s a backend); deselect with `-m "not slow"`."""
import os
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

import inference_gateway
from inference_gateway.db import database, make_database

pytestmark = pytest.mark.slow


# Where gunicorn.conf.py and wsgi.py are.
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(inference_gateway.__file__)))
REQUESTS, CONCURRENCY, WORKERS = 5000, 64, 3
KEY_VAR = "NO_LOSS_OPENAI_KEY"
P = "/api/v1/inference"


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def gateway(db_url, tmp_path):
    """gunicorn as a real subprocess, with the production config file and several workers."""
    port = free_port()
    log_path = tmp_path / "gunicorn.log"
    env = {**os.environ, "BIND": f"127.0.0.1:{port}", "WEB_CONCURRENCY": str(WORKERS), "DATABASE_URL": db_url,
           KEY_VAR: "dummy-key", "GATEWAY_API_KEYS": "", "ACCESS_LOG": str(tmp_path / "access.log"),
           "LOG_LEVEL": "warning", "DATA_DIR": str(tmp_path)}
    with open(log_path, "wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"],
                                cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if requests.get(url + P + "/providers", timeout=2).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            assert proc.poll() is None, log_path.read_text()
            assert time.monotonic() < deadline, "gunicorn did not start:\n" + log_path.read_text()
            time.sleep(0.2)
        yield url, log_path
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def fire(url, count, concurrency):
    """POST /chat `count` times from a bounded pool; returns [(status, body)] in order sent."""
    local = threading.local()

    def one(i):
        session = getattr(local, "session", None)
        if session is None:
            session = local.session = requests.Session()
        # Prompts of different lengths, so totals are not one number times 5,000.
        body = {"model": "gpt-4o", "maxTokens": 50,
                "messages": [{"role": "user", "content": "count " + "word " * (i % 17)}]}
        resp = session.post(url + P + "/chat", json=body, timeout=60)
        return resp.status_code, resp.json()

    with ThreadPoolExecutor(concurrency) as pool:
        return list(pool.map(one, range(count)))


def stored_totals(db_url):
    """Rows, distinct ids, input and output tokens as the table holds them, read around the gateway."""
    database.initialize(make_database(db_url, pool_size=1))
    with database.connection_context():
        raw = database.execute_sql("SELECT COUNT(*), COUNT(DISTINCT id), SUM(input_tokens), SUM(output_tokens) "
                                   "FROM request_log WHERE endpoint = 'chat'").fetchone()
    database.obj.close_all()
    return tuple(int(v or 0) for v in raw)


def test_every_call_is_logged_exactly_once(gateway, up, db_url):
    url, log_path = gateway
    resp = requests.post(url + P + "/providers", json={
        "name": "openai", "type": "openai", "envVar": KEY_VAR, "baseUrl": up.base_url("openai")}, timeout=10)
    assert resp.status_code == 201, resp.text

    started = time.monotonic()
    answers = fire(url, REQUESTS, CONCURRENCY)
    elapsed = time.monotonic() - started

    failures = [(status, body) for status, body in answers if status != 200]
    assert not failures, f"{len(failures)} non-200 answers, first: {failures[:3]}"
    input_tokens = sum(body["data"]["usage"]["inputTokens"] for _, body in answers)
    output_tokens = sum(body["data"]["usage"]["outputTokens"] for _, body in answers)
    assert input_tokens > 0 and output_tokens > 0
    # Every call reached the upstream once, and each answer carried the usage it reported.
    assert len([r for r in up.requests if r.kind == "openai"]) == REQUESTS

    assert stored_totals(db_url) == (REQUESTS, REQUESTS, input_tokens, output_tokens)
    summary = requests.get(url + P + "/usage?endpoint=chat", timeout=30).json()["data"]["summary"]
    assert (summary["totalRequests"], summary["totalErrors"], summary["totalInputTokens"],
            summary["totalOutputTokens"]) == (REQUESTS, 0, input_tokens, output_tokens)
    server_log = log_path.read_text()
    assert "database is locked" not in server_log and "could not write request log" not in server_log
    print(f"\n{REQUESTS} chat calls at concurrency {CONCURRENCY} on {WORKERS} workers: {elapsed:.1f} s "
          f"({REQUESTS / elapsed:.0f}/s), {input_tokens} input + {output_tokens} output tokens logged")
