"""What the hot-path changes promise a user: pooled upstream connections after a stream, no database
connection held while a stream waits on its provider, the same provider lookups and log rows."""
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from inference_gateway.store import provider_store
from inference_gateway.store.db import connection, database

from .fake_upstream import Hang
from .helpers import log_rows, sse_json

P = "/api/v1/inference"
ASK = [{"role": "user", "content": "What is the capital of France?"}]
MODELS = {"openai": "gpt-4o", "anthropic": "claude-sonnet-4-20250514", "opencode": "opencode/kimi-k2"}


@pytest.fixture
def providers(api, up, monkeypatch):
    """Providers pointed at the fake upstream, by fake-upstream kind."""
    for kind in MODELS:
        monkeypatch.setenv(f"{kind.upper()}_HOT_KEY", "key")
        status, body = api.post("/providers", json={"name": kind, "type": kind, "baseUrl": up.base_url(kind),
                                                    "envVar": f"{kind.upper()}_HOT_KEY"})
        assert status == 201, body
    return MODELS


@pytest.mark.parametrize("kind", sorted(MODELS))
def test_a_finished_stream_leaves_its_upstream_connection_for_the_next_call(client, up, providers, kind):
    for _ in range(4):
        resp = client.post(P + "/chat/stream", json={"model": f"{kind}/{providers[kind]}", "messages": ASK})
        events = sse_json(resp.get_data(as_text=True))
        assert events[-1]["type"] == "message_stop", events
    calls = up.of_kind(kind)
    assert len(calls) == 4
    # One TCP (with a real provider, TLS) connection for all four streams, not one each.
    assert len({c.peer for c in calls}) == 1, [c.peer for c in calls]
    assert not up.wait_disconnect(0.1)


def test_a_stream_cut_short_closes_its_upstream_connection(app, client, up, providers):
    up.stream_delay = 0.05
    resp = client.post(P + "/chat/stream", json={"model": "openai/gpt-4o", "messages": ASK}, buffered=False)
    body = iter(resp.response)
    assert b"message_start" in next(body)
    resp.close()  # the client went away: nothing is drained, the upstream sees the disconnect
    assert up.wait_disconnect(2)
    assert [r.status for r in log_rows(app)] == ["cancelled"]


def test_streams_waiting_on_a_slow_provider_do_not_hold_database_connections(app, live_server, up, providers):
    # Scaled down: a pool of 2 whose waiters give up after 0.5 s (DATABASE_POOL_SIZE connections,
    # 10 s in production) and a provider 1.5 s to its first byte.
    pool = 2
    database.obj._max_connections, database.obj._wait_timeout = pool, 0.5
    streams = pool + 2
    up.script("openai", *[Hang(1.5)] * streams)

    def stream(_):
        resp = requests.post(live_server.url + P + "/chat/stream", timeout=20,
                             json={"model": "openai/gpt-4o", "messages": ASK})
        return resp.status_code, sse_json(resp.text)

    started = time.monotonic()
    with ThreadPoolExecutor(streams) as workers:
        results = list(workers.map(stream, range(streams)))
    # Each stream holds a connection only to resolve its provider and to write its row; holding one
    # through the provider's silence made the third stream wait for the pool, then fail with a 500.
    assert [status for status, _ in results] == [200] * streams
    assert all(events[-1]["type"] == "message_stop" for _, events in results)
    assert time.monotonic() - started < 6
    assert sorted(r.status for r in log_rows(app)) == ["success"] * streams


def test_a_request_that_needs_no_database_takes_no_connection(app, client, monkeypatch):
    checkouts = []
    connect = database.obj.connect
    monkeypatch.setattr(database.obj, "connect", lambda *a, **kw: (checkouts.append(1), connect(*a, **kw))[1])
    assert client.get("/healthz").status_code == 200
    assert client.post(P + "/chat", data="not json", content_type="text/plain").status_code == 400
    assert checkouts == []
    assert client.get(P + "/providers").status_code == 200
    assert checkouts == [1] and database.is_closed()


def test_an_id_wins_over_a_name_that_equals_it(app, api, monkeypatch):
    # An id with a letter, so its upper-case form is not the id itself (a random id is all digits
    # one time in forty, and then the lookup below rightly finds the id).
    ids = iter(["a1b2c3d4"])
    real_new_id = provider_store.new_id
    monkeypatch.setattr(provider_store, "new_id", lambda *a: next(ids, None) or real_new_id(*a))
    status, first = api.post("/providers", json={"name": "first", "type": "openai", "envVar": "K"})
    assert first["data"]["id"] == "a1b2c3d4"
    assert status == 201
    status, second = api.post("/providers", json={"name": first["data"]["id"], "type": "openai", "envVar": "K"})
    assert status == 201
    with app.app_context(), connection():
        assert provider_store.find(first["data"]["id"]).name == "first"
        assert provider_store.find(" " + first["data"]["id"].upper()).id == second["data"]["id"]
        assert provider_store.find("FIRST").id == first["data"]["id"]
        assert provider_store.find("nope") is None


def test_the_log_row_keeps_every_field(app, client, up, providers):
    resp = client.post(P + "/chat", json={"model": "anthropic/claude-sonnet-4-20250514", "messages": ASK})
    assert resp.status_code == 200, resp.get_json()
    [row] = log_rows(app)
    data = resp.get_json()["data"]
    assert (row.request_id, row.provider_name, row.model, row.endpoint, row.status, row.http_status) == (
        data["requestId"], "anthropic", "claude-sonnet-4-20250514", "chat", "success", 200)
    assert (row.input_tokens, row.output_tokens) == (up.last_usage["inputTokens"], up.last_usage["outputTokens"])
    assert row.stream is False and row.error_code is None and row.created is not None
