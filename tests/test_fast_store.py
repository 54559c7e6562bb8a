"""The data layer's fast paths (store/fast.py) do what the peewee way they replace does."""
import pytest

from inference_gateway.store import db, fast, request_log
from inference_gateway.store.request_log import CallRecord
from inference_gateway.store.tables import RequestLog


def test_the_prepared_insert_is_what_peewee_compiles(app):
    record = CallRecord(endpoint="chat_stream", provider_id="p1", provider_name="openai", model="gpt-4o",
                        stream=True, ttft_ms=12, error_code="UPSTREAM_ERROR", error_message="m",
                        request_body="{}", response_body="{}", status="error", http_status=502)
    with app.app_context():
        # Returning nothing, on PostgreSQL too: the writer reads no id back.
        sql, params = RequestLog.insert(record.row()).returning().sql()
        assert request_log._insert.sql() == sql
        assert request_log._values(record) == params


@pytest.fixture
def own():
    own = fast.OwnConnection()
    yield own
    own.discard()
    db.outside_pool.remove(own)


def settings(cursor, backend):
    queries = (["PRAGMA journal_mode", "PRAGMA synchronous", "PRAGMA busy_timeout", "PRAGMA foreign_keys",
                "PRAGMA cache_size"] if backend == "sqlite"
               else ["SELECT current_database()", "SELECT current_user", "SHOW TimeZone"])
    found = []
    for query in queries:
        cursor.execute(query)
        found.append(cursor.fetchone())
    return found


def test_the_writers_connection_is_set_up_as_the_pools_but_outside_it(app, own, db_url):
    backend = "sqlite" if db_url.startswith("sqlite") else "postgres"
    with app.app_context():
        with own.cursor() as cursor:
            mine = settings(cursor, backend)
        assert db.database.is_closed()  # no pool connection was taken for it
        with db.connection():
            pooled = settings(db.database.cursor(), backend)
        assert mine == pooled
        db.release_all()  # before a fork: it closes with the pool, and reopens on next use
        assert own._conn is None
        with own.cursor() as cursor:
            cursor.execute("SELECT 1")
            assert cursor.fetchone() == (1,)


def test_a_connection_context_keeps_its_connection_through_release(app):
    with app.app_context():
        assert not db.in_connection_context()
        with db.database.connection_context():
            assert db.in_connection_context()
            db.release()
            assert not db.database.is_closed()  # the block still needs it
            with db.brief():
                db.database.execute_sql("SELECT 1")
            assert not db.database.is_closed()
        assert db.database.is_closed() and not db.in_connection_context()
        db.database.connect()
        db.release()
        assert db.database.is_closed()
