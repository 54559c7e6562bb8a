"""The peewee database, bound late: SQLite by default, PostgreSQL from DATABASE_URL."""
import os
from contextlib import contextmanager
from urllib.parse import unquote, urlparse

from peewee import DatabaseError, DatabaseProxy, InterfaceError, OperationalError, PostgresqlDatabase
from playhouse.pool import MaxConnectionsExceeded, PooledPostgresqlDatabase, PooledSqliteDatabase

from inference_gateway.store.wal_sync import syncer

database = DatabaseProxy()

# What an unreachable, restarting or exhausted database raises: retried, spooled, answered 503.
DATABASE_DOWN = (OperationalError, InterfaceError, MaxConnectionsExceeded)
# Anything a query can fail with (a corrupt SQLite file raises a bare DatabaseError): not ready.
DATABASE_FAILED = (DatabaseError,) + DATABASE_DOWN

# PRAGMA synchronous values, weakest first. In WAL mode NORMAL syncs only at checkpoints: a commit
# survives the process crashing but not the machine losing power (until wal_sync.py syncs it, within
# SQLITE_SYNC_INTERVAL); FULL syncs the WAL on every commit.
SQLITE_SYNCHRONOUS = ("OFF", "NORMAL", "FULL", "EXTRA")

SQLITE_PRAGMAS = {
    "journal_mode": "wal",
    # Concurrent writers wait for the lock instead of failing with "database is locked".
    "busy_timeout": 10000,
    "foreign_keys": 1,
    "cache_size": -16000,
}


def make_database(url, pool_size=20, sqlite_synchronous="NORMAL"):
    """Create (but do not open) a database from a URL."""
    parsed = urlparse(url)
    synchronous = str(sqlite_synchronous).strip().upper()
    if synchronous not in SQLITE_SYNCHRONOUS:
        raise ValueError(f"SQLITE_SYNCHRONOUS must be one of {', '.join(SQLITE_SYNCHRONOUS)}, got {sqlite_synchronous!r}")
    if parsed.scheme == "sqlite":
        path = unquote(parsed.path)
        if url.startswith("sqlite:///") and path.startswith("/") and not url.startswith("sqlite:////"):
            path = path[1:]  # sqlite:///relative/path
        if path in ("", ":memory:", "/:memory:"):
            raise ValueError("an in-memory SQLite database is not shared between requests; use a file")
        if os.path.dirname(path):
            os.makedirs(os.path.dirname(path), exist_ok=True)
        # Pooled so a request reuses an open connection instead of reopening the file and
        # re-running the pragmas every time.
        return PooledSqliteDatabase(path, pragmas={**SQLITE_PRAGMAS, "synchronous": synchronous.lower()},
                                    timeout=10, max_connections=max(pool_size, 256),
                                    stale_timeout=300, check_same_thread=False)
    if parsed.scheme in ("postgres", "postgresql"):
        kwargs = {
            "host": parsed.hostname or "localhost",
            "port": parsed.port or 5432,
            "user": unquote(parsed.username) if parsed.username else None,
            "password": unquote(parsed.password) if parsed.password else None,
        }
        kwargs = {k: v for k, v in kwargs.items() if v is not None}
        return PooledPostgresqlDatabase(
            parsed.path.lstrip("/") or "postgres", max_connections=pool_size, stale_timeout=300,
            timeout=10, **kwargs)
    raise ValueError(f"DATABASE_URL must start with sqlite:/// or postgresql://, got {parsed.scheme}://")


def in_connection_context():
    """Whether this thread is inside peewee's `connection_context()` (or `with database:`), which
    closes the connection itself when it ends.

    The data layer's one read of a private attribute outside store/fast.py: peewee keeps that
    stack in `_state.ctx` and offers no public question for it (tests/test_fast_store.py)."""
    return bool(database._state.ctx)


def release():
    """Give this thread's connection back to the pool, unless a transaction or an enclosing
    `connection_context()` still needs it."""
    if database.is_closed() or database.in_transaction() or in_connection_context():
        return
    database.close()


@contextmanager
def connection():
    """Use the connection this thread already has open, or open one for the block and close it."""
    if not database.is_closed():
        yield database
        return
    database.connect()
    try:
        yield database
    finally:
        release()


@contextmanager
def brief():
    """Queries whose connection goes back to the pool when the block ends: for work that then
    waits on something else for long (an upstream call, a WebSocket), so that a burst of slow
    calls cannot exhaust the pool. A transaction or an enclosing `connection_context()` keeps it."""
    try:
        yield database
    finally:
        release()


def ping():
    """Run one query: raises one of DATABASE_FAILED when the database cannot answer it."""
    with connection():
        database.execute_sql("SELECT 1").fetchone()


def ping_write(timeout):
    """Start a write and let it go (nothing is written): raises one of DATABASE_FAILED when the
    database does not let a write start within `timeout` seconds (a lock held, a read-only server).
    SQLite: its write lock, taken with a busy timeout that short. PostgreSQL: the lock an INSERT
    into the request log takes, and a transaction id (refused on a read-only server)."""
    ms = max(1, int(timeout * 1000))
    with connection():
        if isinstance(database.obj, PostgresqlDatabase):
            with database.atomic() as transaction:
                database.execute_sql(f"SET LOCAL lock_timeout = {ms}")
                database.execute_sql(f"SET LOCAL statement_timeout = {ms}")
                database.execute_sql("LOCK TABLE request_log IN ROW EXCLUSIVE MODE")
                database.execute_sql("SELECT txid_current()")
                transaction.rollback()
            return
        busy = database.execute_sql("PRAGMA busy_timeout").fetchone()[0]
        database.execute_sql(f"PRAGMA busy_timeout = {ms}")
        try:
            database.execute_sql("BEGIN IMMEDIATE")
            database.execute_sql("ROLLBACK")
        finally:
            database.execute_sql(f"PRAGMA busy_timeout = {int(busy)}")


# Connections kept outside the pool (store/fast.py) register here, to be closed with it.
outside_pool = []


def release_all():
    """Close pooled connections, e.g. before gunicorn forks: a connection must not cross a fork."""
    if hasattr(database.obj, "close_all"):
        database.obj.close_all()
    for own in outside_pool:
        own.discard()


def is_sqlite():
    return not isinstance(database.obj, PostgresqlDatabase)


def synchronous(config):
    """The SQLITE_SYNCHRONOUS setting as SQLite names it (make_database has checked it)."""
    return str(config["SQLITE_SYNCHRONOUS"]).strip().upper()


def commits_wait_for_disk(config):
    """True when the configured SQLite syncs every commit (SQLITE_SYNCHRONOUS FULL or EXTRA)."""
    return SQLITE_SYNCHRONOUS.index(synchronous(config)) >= 2


def init_app(app):
    """Bind the proxy to the configured database; a request's connection goes back at teardown.

    No connection is taken up front: peewee connects on a request's first query, so requests that
    need none (probes, metrics, a rejected body) never wait on the pool."""
    database.initialize(make_database(app.config["DATABASE_URL"], app.config["DATABASE_POOL_SIZE"],
                                      app.config["SQLITE_SYNCHRONOUS"]))
    normal = synchronous(app.config) == "NORMAL"
    syncer.configure(app.config["SQLITE_SYNC_INTERVAL"], database.obj.database if normal and is_sqlite() else None)

    @app.teardown_request
    def _close(exc):
        if not database.is_closed():
            database.close()
