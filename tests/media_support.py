"""What the /embed, /images and /transcribe tests share: one provider of every type pointed at the
fake upstream, the log rows, the seed's curl examples run through a real curl, upstream failures."""
import json
import subprocess

import pytest

from .fake_upstream import Hang, Reply
from .helpers import log_rows

P = "/api/v1/inference"
UNSUPPORTED_MODELS = [("anthropic", "claude-sonnet-4-20250514"), ("opencode", "opencode/kimi-k2")]


@pytest.fixture
def app_config(app_config):
    # A short read timeout keeps the timeout cases fast.
    return {**app_config, "UPSTREAM_READ_TIMEOUT": 1.0, "UPSTREAM_RETRY_AFTER_MAX": 2.0}


def one_row(app, endpoint, status="success", code=None):
    """The call's single log row, checked for endpoint, status and error code."""
    rows = log_rows(app)
    assert len(rows) == 1, [(r.endpoint, r.status, r.error_code) for r in rows]
    row = rows[0]
    assert (row.endpoint, row.status, row.error_code) == (endpoint, status, code)
    return row


def assert_error(status, body, expected_status, code, *words):
    assert status == expected_status, body
    assert body["success"] is False and body["error"]["code"] == code, body
    for word in words:
        assert word in body["error"]["message"], body["error"]["message"]


def run_curl(command, base_url, cwd=None):
    """Run a seed curl example as written, with its host:port swapped for the test server's.
    Returns (HTTP status, JSON body)."""
    command = command.replace("http://localhost:3000", base_url)
    done = subprocess.run(["bash", "-c", command + " -sS -w '\\n%{http_code}'"], capture_output=True,
                          text=True, cwd=cwd, timeout=60)
    assert done.returncode == 0, done.stderr
    text, _, code = done.stdout.rpartition("\n")
    return int(code), json.loads(text)


# (what the upstream does three times in a row, status, code): retries are exhausted each time.
UPSTREAM_FAILURES = [
    pytest.param(Reply(429, json={"error": {"message": "Rate limit reached", "type": "requests",
                                            "code": "rate_limit_exceeded"}},
                       headers={"retry-after": "0"}), 429, "RATE_LIMITED", id="429"),
    pytest.param(Reply(500, json={"error": {"message": "The server had an error",
                                            "type": "server_error"}}), 502, "UPSTREAM_ERROR", id="500"),
    pytest.param(Hang(3), 504, "UPSTREAM_TIMEOUT", id="timeout"),
]


def script_failure(up, kind, reply):
    """Make the next calls of `kind` fail with `reply` (a timeout is not retried; the others are)."""
    up.script(kind, *([reply] if isinstance(reply, Hang) else [reply] * 3))
