"""The request-log writer: rows of concurrent calls share transactions, each caller returns once its
own row is committed (or with its own error), and none is lost or misreported."""
import threading

import gevent
import gevent.lock
import psycopg2
import pytest
from peewee import IntegrityError

from inference_gateway.store import log_writer, request_log
from inference_gateway.store.request_log import CallRecord

from .helpers import log_rows
from .test_spool import spooled


@pytest.fixture
def app_config(app_config):
    """The writer commits rows when the journal is off (LOG_JOURNAL_INTERVAL=0, SYNCHRONOUS=FULL,
    PostgreSQL); tests/test_journal.py has the journal."""
    return {**app_config, "LOG_JOURNAL_INTERVAL": 0}


def write_concurrently(app, records):
    """request_log.write() for every record at once, one thread each; {record id: raised or None}."""
    outcome, start = {}, threading.Barrier(len(records))

    def call(record):
        start.wait()
        try:
            with app.app_context():
                request_log.write(record)
            outcome[record.id] = None
        except Exception as exc:  # noqa: BLE001 - the test compares what each caller saw
            outcome[record.id] = exc

    threads = [threading.Thread(target=call, args=(record,)) for record in records]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return outcome


def test_concurrent_writes_are_committed_together_and_each_is_stored(app, monkeypatch):
    batches = []
    original = log_writer.commit_batch

    def counting(connection, batch):
        batches.append(len(batch))
        return original(connection, batch)

    monkeypatch.setattr(log_writer, "commit_batch", counting)
    records = [CallRecord(endpoint="chat", model=f"m{i}", input_tokens=i) for i in range(40)]
    outcome = write_concurrently(app, records)

    assert outcome == {record.id: None for record in records}
    stored = {row.id: row for row in log_rows(app)}
    assert set(stored) == {record.id for record in records}
    assert all(stored[r.id].input_tokens == r.input_tokens for r in records)
    # Fails if every row went in on its own (the behaviour before group commit).
    assert batches and max(batches) > 1


def test_a_row_the_database_refuses_fails_only_its_own_call(app, monkeypatch):
    records = [CallRecord(endpoint="chat", model=f"m{i}") for i in range(20)]
    bad = records[7]
    original = log_writer.commit_one

    def refuse_bad(connection, item):
        if item.row()["id"] == bad.id:
            raise IntegrityError("duplicate key")
        return original(connection, item)

    def refuse_batch(connection, batch):
        raise IntegrityError("duplicate key")  # a batch holding the bad row fails as a whole

    monkeypatch.setattr(log_writer, "commit_one", refuse_bad)
    monkeypatch.setattr(log_writer, "commit_batch", refuse_batch)
    outcome = write_concurrently(app, records)

    assert isinstance(outcome[bad.id], IntegrityError)
    assert all(outcome[r.id] is None for r in records if r is not bad)
    assert {row.id for row in log_rows(app)} == {r.id for r in records if r is not bad}


def test_calls_ending_in_one_turn_of_the_event_loop_share_one_transaction(app, monkeypatch):
    """Under gevent a SQLite write never yields: only the writer's one yield lets the others join."""
    batches = []
    original = log_writer.commit_batch
    monkeypatch.setattr(log_writer, "commit_batch", lambda c, batch: (batches.append(len(batch)), original(c, batch)))
    writer = log_writer.Writer(request_log._connection)
    writer._turn = gevent.lock.Semaphore()  # what threading.Lock is in a gevent-patched worker
    monkeypatch.setattr(request_log, "writer", writer)
    records = [CallRecord(endpoint="chat", model=f"g{i}") for i in range(10)]
    monkeypatch.setattr(log_writer.time, "sleep", gevent.sleep)  # the writer's yield, as under gunicorn's gevent

    def call(record):
        with app.app_context():
            request_log.write(record)

    gevent.joinall([gevent.spawn(call, record) for record in records], raise_error=True)
    assert batches == [10]
    assert {row.id for row in log_rows(app)} == {r.id for r in records}


def test_a_caller_interrupted_while_waiting_has_its_row_spooled_not_lost(app, monkeypatch):
    """A greenlet killed (a worker's graceful timeout) while another writes: its row goes to the spool."""
    writer = log_writer.Writer(request_log._connection)
    monkeypatch.setattr(request_log, "writer", writer)
    writer._turn = gevent.lock.Semaphore()  # what threading.Lock is in a gevent-patched worker
    writer._turn.acquire()  # another caller is writing
    waiting = CallRecord(endpoint="chat", model="killed")

    def call():
        with app.app_context():
            request_log.write(waiting)

    greenlet = gevent.spawn(call)
    gevent.sleep(0.01)
    greenlet.kill(block=True)
    writer._turn.release()
    assert [row["id"] for row in spooled()] == [waiting.id]
    assert writer._queue == []
    with app.app_context():
        request_log.write(CallRecord(endpoint="chat", model="next"))  # and the writer is free again
    assert {row.model for row in log_rows(app)} >= {"next"}


def test_a_writer_connection_the_database_dropped_is_replaced_and_no_row_is_lost(app, db_url):
    """The writer keeps one connection open; a PostgreSQL restart or idle-timeout kills it."""
    with app.app_context():
        request_log.write(CallRecord(endpoint="chat", model="before"))
        if db_url.startswith("postgres"):
            with request_log._connection.cursor() as cursor:
                cursor.execute("SELECT pg_backend_pid()")
                writer_pid = cursor.fetchone()[0]
            admin = psycopg2.connect(db_url)
            admin.autocommit = True
            admin.cursor().execute("SELECT pg_terminate_backend(%s)", (writer_pid,))
            admin.close()
        else:
            # SQLite has no server to drop it; an interrupted connection fails the same way.
            request_log._connection._conn.interrupt()
            request_log._connection._conn.set_progress_handler(lambda: 1, 1)
        request_log.write(CallRecord(endpoint="chat", model="after"))
    assert [row.model for row in log_rows(app)] == ["before", "after"]
