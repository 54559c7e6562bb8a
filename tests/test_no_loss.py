"""No request-log row lost or counted twice: 5,000 chat calls at concurrency 64 through gunicorn with
several worker processes, against the fake upstream, on SQLite and PostgreSQL.

Slow (about 10-40 s a backend); deselect with `-m "not slow"`."""
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from inference_gateway.store.db import database, make_database

from .helpers import caught_up
from .live import P, register_openai

pytestmark = pytest.mark.slow


REQUESTS, CONCURRENCY, WORKERS = 5000, 64, 3


@pytest.fixture
def gateway(start_gunicorn, db_url, tmp_path):
    """gunicorn as a real subprocess, with the production config file and several workers."""
    return start_gunicorn(db_url, WEB_CONCURRENCY=str(WORKERS), LOG_LEVEL="warning",
                          ACCESS_LOG=str(tmp_path / "access.log"))


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
    caught_up(db_url)
    database.initialize(make_database(db_url, pool_size=1))
    with database.connection_context():
        raw = database.execute_sql("SELECT COUNT(*), COUNT(DISTINCT id), SUM(input_tokens), SUM(output_tokens) "
                                   "FROM request_log WHERE endpoint = 'chat'").fetchone()
    database.obj.close_all()
    return tuple(int(v or 0) for v in raw)


def test_every_call_is_logged_exactly_once(gateway, up, db_url):
    url = gateway.url
    register_openai(url, up)

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
    server_log = gateway.output()
    assert "database is locked" not in server_log and "could not write request log" not in server_log
    print(f"\n{REQUESTS} chat calls at concurrency {CONCURRENCY} on {WORKERS} workers: {elapsed:.1f} s "
          f"({REQUESTS / elapsed:.0f}/s), {input_tokens} input + {output_tokens} output tokens logged")
