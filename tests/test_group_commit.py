"""Request-log rows written by concurrent calls share transactions, and none is lost or misreported."""
import threading

import psycopg2

from peewee import IntegrityError

from inference_gateway.store import request_log
from inference_gateway.store.request_log import CallRecord

from .helpers import log_rows


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
    original = request_log.insert_rows

    def counting(records):
        batches.append(len(records))
        return original(records)

    monkeypatch.setattr(request_log, "insert_rows", counting)
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
    original = request_log.insert_row

    def refuse_bad(record):
        if record is bad:
            raise IntegrityError("duplicate key")
        return original(record)

    def refuse_batch(records_):
        raise IntegrityError("duplicate key")  # a batch holding the bad row fails as a whole

    monkeypatch.setattr(request_log, "insert_row", refuse_bad)
    monkeypatch.setattr(request_log, "insert_rows", refuse_batch)
    outcome = write_concurrently(app, records)

    assert isinstance(outcome[bad.id], IntegrityError)
    assert all(outcome[r.id] is None for r in records if r is not bad)
    assert {row.id for row in log_rows(app)} == {r.id for r in records if r is not bad}


def test_a_single_call_is_written_alone_and_the_writer_is_free_again(app):
    record = CallRecord(endpoint="chat", model="solo")
    with app.app_context():
        request_log.write(record)
        request_log.write(CallRecord(endpoint="chat", model="next"))
    assert [row.model for row in log_rows(app)] == ["solo", "next"]
    assert request_log._group._queue == [] and not request_log._group._writing


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
