"""A call that ends while the database is down keeps its answer, and its row reaches the table later."""
import json

import pytest
from peewee import OperationalError

from inference_gateway import create_app
from inference_gateway.store import spool
from inference_gateway.store import log_writer, request_log
from inference_gateway.store.db import database

from .helpers import log_rows, sse_events
from .mock_provider import chunks, completion
from .test_chat_api import HELLO

P = "/api/v1/inference"


@pytest.fixture
def app_config(app_config):
    """The spool takes the rows the writer could not commit, with the journal off (as with
    SYNCHRONOUS=FULL and PostgreSQL); with it, a row waits in the journal (tests/test_journal.py)."""
    return {**app_config, "LOG_JOURNAL_INTERVAL": 0}


@pytest.fixture
def outage(monkeypatch):
    """Every request-log write fails as it would with the database gone, until `end()`."""
    originals = log_writer.commit_one, log_writer.commit_batch

    def refused(*args):
        raise OperationalError("could not connect to server: Connection refused")

    class Outage:
        def end(self):
            monkeypatch.setattr(log_writer, "commit_one", originals[0])
            monkeypatch.setattr(log_writer, "commit_batch", originals[1])

    monkeypatch.setattr(log_writer, "commit_one", refused)
    monkeypatch.setattr(log_writer, "commit_batch", refused)
    return Outage()


def spooled():
    try:
        with open(spool.path(), encoding="utf-8") as f:
            return [json.loads(line) for line in f]
    except FileNotFoundError:
        return []


def test_a_chat_answered_during_an_outage_keeps_its_answer_and_its_row(app, api, script, openai, outage):
    script.enqueue(completion("Paris."), completion("again"))
    status, body = api.post("/chat", json=HELLO)
    assert status == 200 and body["data"]["content"] == "Paris."
    first = body["data"]["requestId"]
    assert log_rows(app) == [] and [row["request_id"] for row in spooled()] == [first]

    outage.end()
    status, _ = api.post("/chat", json=HELLO)  # the first write that succeeds stores the spool too
    assert status == 200
    rows = {row.request_id: row for row in log_rows(app)}
    assert len(rows) == 2 and rows[first].status == "success"
    assert (rows[first].input_tokens, rows[first].output_tokens) == (
        body["data"]["usage"]["inputTokens"], body["data"]["usage"]["outputTokens"])
    assert spooled() == []


def test_a_stream_ending_during_an_outage_is_spooled_with_its_tokens(app, client, script, openai, outage):
    script.enqueue(chunks("Hel", "lo"), chunks("again"))
    events = sse_events(client.post(P + "/chat/stream", json=HELLO))
    assert events[-1]["type"] == "message_stop"
    early, row = spooled()  # its row in progress from the first event, then its outcome
    assert (early["request_id"], early["status"]) == (events[0]["requestId"], "in_progress")
    assert (row["request_id"], row["status"], row["endpoint"]) == (events[0]["requestId"], "success", "chat_stream")
    assert row["output_tokens"] == events[-1]["usage"]["outputTokens"]

    outage.end()
    sse_events(client.post(P + "/chat/stream", json=HELLO))  # its write stores the spool too
    stored = {r.id: r for r in log_rows(app)}
    assert (stored[row["id"]].status, stored[row["id"]].output_tokens) == ("success", row["output_tokens"])


def test_a_call_refused_for_a_real_outage_spools_its_error_row(app, api, database_down):
    status, body = api.post("/chat", json=HELLO)
    assert status == 503 and body["error"]["code"] == "SERVICE_UNAVAILABLE"
    [row] = spooled()
    assert (row["status"], row["error_code"], row["http_status"]) == ("error", "SERVICE_UNAVAILABLE", 503)


def test_the_next_start_stores_a_previous_runs_spool(app, app_config):
    row = request_log.CallRecord(endpoint="chat", model="gpt-4o", input_tokens=7, output_tokens=3)
    row.finish()
    assert spool.spool(row.row())
    database.close() if not database.is_closed() else None
    restarted = create_app(app_config)
    [stored] = log_rows(restarted)
    assert (stored.id, stored.input_tokens, stored.output_tokens) == (row.id, 7, 3)
    assert spooled() == []


def test_a_row_already_stored_is_not_doubled_and_a_cut_line_is_set_aside(app):
    record = request_log.CallRecord(endpoint="embed", model="text-embedding-3-small", input_tokens=4)
    request_log.write(record)
    spool.spool(record.row())
    with open(spool.path(), "a", encoding="utf-8") as f:
        f.write('{"id": "cut-by-a-cr')  # a crash in the middle of an append
    assert spool.replay() == 1
    assert [row.id for row in log_rows(app)] == [record.id]
    with open(spool.path() + ".rejected", encoding="utf-8") as f:
        assert f.read() == '{"id": "cut-by-a-cr'
