"""A stream's row exists from its first event; a worker killed mid-stream leaves it to be closed as
INTERRUPTED; a stalled upstream ends a stream with UPSTREAM_TIMEOUT; oversized upstream data is a 502."""
import json
import os
import signal
import socket
import subprocess
import time

import pytest
import requests
import websocket

from inference_gateway.store import request_log, stream_rows
from inference_gateway.store.db import database, make_database
from inference_gateway.store.request_log import CallRecord

from .fake_upstream import SSE, Reply
from .helpers import caught_up, log_rows, sse_events, sse_frames
from .live import P, register_openai, request_row, stream_chat

STREAM = {"model": "gpt-4o", "messages": [{"role": "user", "content": "Hello"}]}


@pytest.fixture
def app_config(app_config):
    return {**app_config, "STREAM_IDLE_TIMEOUT": 1.0, "UPSTREAM_MAX_LINE_BYTES": 100_000,
            "UPSTREAM_MAX_REPLY_BYTES": 100_000}


def openai_chunks(words, usage=True):
    items = [{"id": "c1", "object": "chat.completion.chunk", "model": "gpt-4o",
              "choices": [{"index": 0, "delta": {"content": word + " "}, "finish_reason": None}]} for word in words]
    items.append({"id": "c1", "object": "chat.completion.chunk", "model": "gpt-4o",
                  "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
    if usage:
        items.append({"id": "c1", "object": "chat.completion.chunk", "model": "gpt-4o", "choices": [],
                      "usage": {"prompt_tokens": 3, "completion_tokens": len(words), "total_tokens": 3 + len(words)}})
    return items + ["[DONE]"]


def table_rows(db_url):
    """(id, status, error_code, output_tokens, worker) of every request-log row, read around the gateway."""
    caught_up(db_url)
    database.initialize(make_database(db_url, pool_size=1))
    try:
        with database.connection_context():
            return database.execute_sql("SELECT request_id, status, error_code, output_tokens, worker FROM request_log").fetchall()
    finally:
        database.obj.close_all()


def wait_for(predicate, timeout=15):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("timed out")


def test_kill_9_of_the_worker_mid_stream_leaves_one_row_closed_as_interrupted(start_gunicorn, up, db_url):
    gateway = start_gunicorn(db_url, STREAM_CHECKPOINT_SECONDS="0.2", LOG_LEVEL="warning")
    register_openai(gateway.url, up)
    up.script("openai", SSE(openai_chunks([f"w{i}" for i in range(200)]), delay_each=0.05))
    [worker] = gateway.worker_pids()
    with requests.post(gateway.url + P + "/chat/stream", json={**STREAM, "model": "openai/gpt-4o"},
                       stream=True, timeout=30) as resp:
        frames = sse_frames(resp)
        first = json.loads(next(frames)[1])
        assert first["type"] == "message_start"
        # From its first event on, the row is there, in progress, naming the worker serving it.
        [(row_id, status, _, _, owner)] = table_rows(db_url)
        assert (row_id, status) == (first["requestId"], "in_progress") and f":{worker}:" in owner
        deltas = 0
        for _, data, _ in frames:
            deltas += json.loads(data)["type"] == "content_block_delta"
            if deltas == 12:
                break
        time.sleep(0.5)  # past a checkpoint
        os.kill(worker, signal.SIGKILL)
        with pytest.raises(requests.exceptions.RequestException):
            for _ in frames:  # the client's transfer is cut: no message_stop ever comes
                pass
    # gunicorn starts a new worker; its start closes the dead worker's row.
    [(row_id, status, code, output_tokens, _)] = wait_for(
        lambda: [r for r in table_rows(db_url) if r[1] != "in_progress"] or None)
    assert (row_id, status, code) == (first["requestId"], "error", "INTERRUPTED")
    assert 12 <= output_tokens < 200  # counted up to its last checkpoint
    summary = requests.get(gateway.url + P + "/usage", timeout=10).json()["data"]["summary"]
    assert (summary["totalRequests"], summary["totalErrors"], summary["totalOutputTokens"]) == (1, 1, output_tokens)


def test_kill_9_of_the_worker_mid_websocket_generation_leaves_one_interrupted_row(start_gunicorn, up, db_url):
    gateway = start_gunicorn(db_url, STREAM_CHECKPOINT_SECONDS="0.2", LOG_LEVEL="warning")
    register_openai(gateway.url, up)
    up.script("openai", SSE(openai_chunks([f"w{i}" for i in range(200)]), delay_each=0.05))
    [worker] = gateway.worker_pids()
    ws = websocket.create_connection(gateway.url.replace("http", "ws") + P + "/chat/ws", timeout=30)
    try:
        ws.send(json.dumps({**STREAM, "model": "openai/gpt-4o"}))
        first = json.loads(ws.recv())
        assert first["type"] == "message_start"
        for _ in range(12):
            assert json.loads(ws.recv())["type"] == "content_block_delta"
        time.sleep(0.5)  # past a checkpoint
        os.kill(worker, signal.SIGKILL)
        # The socket is cut without a close frame (a browser reports 1006): no message_stop, no error event.
        with pytest.raises(websocket.WebSocketConnectionClosedException):
            while True:
                assert json.loads(ws.recv())["type"] == "content_block_delta"
    finally:
        ws.close()
    # A WebSocket call's row goes by its own id (the socket's X-Request-Id is shared by its calls).
    [(_, status, code, output_tokens, _)] = wait_for(
        lambda: [r for r in table_rows(db_url) if r[1] != "in_progress"] or None)
    assert (status, code) == ("error", "INTERRUPTED") and 12 <= output_tokens < 200
    row = request_row(gateway.url, first["requestId"])
    assert (row["endpoint"], row["status"], row["errorCode"], row["outputTokens"]) == (
        "chat_ws", "error", "INTERRUPTED", output_tokens)


def test_a_finished_stream_replaces_its_row_in_progress(app, client, up, registered):
    up.script("openai", SSE(openai_chunks(["a", "b", "c"])))
    events = sse_events(client.post(P + "/chat/stream", json=STREAM))
    assert events[-1]["type"] == "message_stop"
    [row] = log_rows(app)
    assert (row.request_id, row.status, row.output_tokens, row.stream) == (events[0]["requestId"], "success", 3, True)


def test_a_row_stored_early_takes_its_final_values_whether_or_not_its_indexed_columns_changed(app, client):
    """A row in progress is rewritten in place (its indexed columns as stored) or wholly (a route
    moved the call to another provider after the row was stored); /usage's filters, which read the
    indexes, find each row under its final provider and model."""
    kept = CallRecord(endpoint="chat_stream", stream=True, provider_id="p1", provider_name="one", model="m1",
                      request_id="req-kept")
    moved = CallRecord(endpoint="chat_stream", stream=True, provider_id="p1", provider_name="one", model="m1",
                       request_id="req-moved")
    for record in (kept, moved):
        stream_rows.open_row(record)
    moved.provider_id, moved.provider_name, moved.model = "p2", "two", "m2"
    for record, tokens in ((kept, 5), (moved, 7)):
        record.output_tokens = tokens
        request_log.write(record)

    rows = {row.id: row for row in log_rows(app)}
    assert [(rows[r.id].status, rows[r.id].provider_id, rows[r.id].model, rows[r.id].output_tokens)
            for r in (kept, moved)] == [("success", "p1", "m1", 5), ("success", "p2", "m2", 7)]
    for query, expected in (("model=m1", [kept.id]), ("model=m2", [moved.id]), ("provider=p2", [moved.id])):
        resp = client.get(P + "/usage?" + query)
        assert [r["id"] for r in resp.get_json()["data"]["requests"]] == expected, query
    assert client.get(P + "/requests/req-moved").get_json()["data"]["model"] == "m2"


def test_the_sweep_closes_rows_of_dead_workers_and_stale_ones_of_other_hosts_only(app):
    live = CallRecord(endpoint="chat_stream", stream=True)
    stream_rows.open_row(live)  # this process: alive however old
    dead_here = CallRecord(endpoint="chat_stream", stream=True)
    stream_rows.open_row(dead_here)
    child = subprocess.Popen(["true"])
    child.wait()  # a pid of this host that is gone
    dead_here.worker = f"{socket.gethostname()}:{child.pid}:"
    stream_rows.checkpoint(dead_here, 3)
    elsewhere = CallRecord(endpoint="chat_stream", stream=True)
    stream_rows.open_row(elsewhere)
    elsewhere.worker = "another-host:1:1"
    stream_rows.checkpoint(elsewhere, 4)

    assert stream_rows.close_interrupted(stale_after=3600) == 1  # the dead pid of this host
    assert stream_rows.close_interrupted(stale_after=0) == 1     # the other host's, not checkpointed since
    rows = {row.id: row for row in log_rows(app)}
    assert (rows[live.id].status, rows[live.id].error_code) == ("in_progress", None)
    assert [(rows[r.id].status, rows[r.id].error_code, rows[r.id].output_tokens) for r in (dead_here, elsewhere)] \
        == [("error", "INTERRUPTED", 3), ("error", "INTERRUPTED", 4)]


def test_a_stalled_upstream_ends_the_stream_with_upstream_timeout(app, client, up, registered):
    up.script("openai", SSE(openai_chunks(["a", "b", "c"]), stall_after=2, stall=5))
    started = time.monotonic()
    events = sse_events(client.post(P + "/chat/stream", json=STREAM))
    assert time.monotonic() - started < 4
    assert events[-1]["type"] == "error" and events[-1]["error"]["code"] == "UPSTREAM_TIMEOUT"
    assert "STREAM_IDLE_TIMEOUT" in events[-1]["error"]["message"]
    [row] = log_rows(app)
    assert (row.status, row.error_code) == ("error", "UPSTREAM_TIMEOUT")


def test_an_oversized_sse_line_or_json_reply_is_a_502(app, client, up, registered):
    up.script("openai", SSE(["x" * 300_000], raw=True))
    events = sse_events(client.post(P + "/chat/stream", json=STREAM))
    assert events[-1]["type"] == "error" and events[-1]["error"]["code"] == "UPSTREAM_ERROR"
    assert "UPSTREAM_MAX_LINE_BYTES" in events[-1]["error"]["message"]
    up.script("openai", Reply(json={"pad": "y" * 300_000}))
    resp = client.post(P + "/chat", json=STREAM)
    assert resp.status_code == 502 and "UPSTREAM_MAX_REPLY_BYTES" in resp.get_json()["error"]["message"]
    assert [row.http_status for row in log_rows(app)] == [502, 502]


def test_a_stalled_upstream_ends_a_stream_with_upstream_timeout_under_gunicorn(start_gunicorn, up, db_url):
    gateway = start_gunicorn(db_url, STREAM_IDLE_TIMEOUT="1", LOG_LEVEL="warning")
    register_openai(gateway.url, up)
    up.script("openai", SSE(openai_chunks(["a", "b", "c"]), stall_after=2, stall=5))
    started = time.monotonic()
    events = stream_chat(gateway.url)
    assert time.monotonic() - started < 4  # not the 120 s read timeout
    assert [e["type"] for e in events][-1] == "error" and events[-1]["error"]["code"] == "UPSTREAM_TIMEOUT"
    [(_, status, code, _, _)] = wait_for(lambda: [r for r in table_rows(db_url) if r[1] != "in_progress"] or None)
    assert (status, code) == ("error", "UPSTREAM_TIMEOUT")
