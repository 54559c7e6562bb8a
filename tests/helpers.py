"""Small helpers the tests share: the request log, SSE bodies, metrics samples, free ports."""
import json
import socket
import time

from prometheus_client.parser import text_string_to_metric_families

from peewee import PostgresqlDatabase

from inference_gateway.store import request_log
from inference_gateway.store.db import connection, database, make_database
from inference_gateway.store.journal import Journal
from inference_gateway.store.tables import LOG_COLUMNS, RequestLog


def log_rows(app):
    """Every request-log row, oldest first (the journal moved in first, as the gateway's readers do)."""
    with app.app_context(), connection():
        request_log.catch_up()
        return list(RequestLog.select().order_by(RequestLog.created))


def caught_up(db_url):
    """Move every request-log journal of the SQLite database at `db_url` into it, from outside the
    gateway, as its readers and its next start do (store/journal.py); PostgreSQL has none."""
    database.initialize(make_database(db_url, pool_size=1))
    mover = Journal(request_log.STATEMENTS, LOG_COLUMNS)
    try:
        if not isinstance(database.obj, PostgresqlDatabase):
            mover.configure(database.obj.database, 1.0)
            mover.catch_up()
    finally:
        mover.close()
        database.obj.close_all()


def sse_json(text):
    """The JSON events of a finished SSE body."""
    return [json.loads(block[len("data: "):]) for block in text.split("\n\n") if block.startswith("data: ")]


def ended_rows(app, count, timeout=5.0):
    """The request-log rows once there are `count` and none is a stream still in progress (a stream's
    row exists from its first event and gets its outcome just after its last event went out)."""
    deadline = time.monotonic() + timeout
    while True:
        rows = log_rows(app)
        if (len(rows) >= count and all(r.status != "in_progress" for r in rows)) or time.monotonic() > deadline:
            return rows
        time.sleep(0.05)


def sse_events(resp):
    """The JSON events of a finished (test client) SSE response."""
    return sse_json(resp.get_data(as_text=True))


def sse_frames(resp):
    """(event name or None, data text, arrival time) for each event of a streamed `requests`
    response, as it arrives."""
    name = None
    for line in resp.iter_lines(chunk_size=None):
        if line.startswith(b"event: "):
            name = line[len(b"event: "):].decode()
        elif line.startswith(b"data: "):
            yield name, line[len(b"data: "):].decode(), time.monotonic()
            name = None


def streamed_events(resp):
    """(arrival time, JSON event) for each event of the gateway's streamed SSE response."""
    for _, data, at in sse_frames(resp):
        yield at, json.loads(data)


def metric_samples(text):
    """{(sample name, sorted labels): value} from a Prometheus text exposition."""
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def free_port():
    """A loopback port no one listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
