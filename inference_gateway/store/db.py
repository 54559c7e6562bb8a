"""The peewee database, bound late: SQLite by default, PostgreSQL from DATABASE_URL."""
import os
from contextlib import contextmanager
from urllib.parse import unquote, urlparse

from peewee import (DatabaseError, DatabaseProxy, DataError, IntegrityError, InterfaceError, OperationalError,
                    PostgresqlDatabase, SqliteDatabase, __exception_wrapper__)
from playhouse.pool import MaxConnectionsExceeded, PooledPostgresqlDatabase, PooledSqliteDatabase

database = DatabaseProxy()

# What an unreachable, restarting or exhausted database raises: retried, spooled, answered 503.
DATABASE_DOWN = (OperationalError, InterfaceError, MaxConnectionsExceeded)
# Anything a query can fail with (a corrupt SQLite file raises a bare DatabaseError): not ready.
DATABASE_FAILED = (DatabaseError,) + DATABASE_DOWN

# PRAGMA synchronous values, weakest first. In WAL mode NORMAL syncs only at checkpoints: a commit
# survives the process crashing but not the machine losing power; FULL syncs the WAL on every commit.
SQLITE_SYNCHRONOUS = ("OFF", "NORMAL", "FULL", "EXTRA")

SQLITE_PRAGMAS = {
    "journal_mode": "wal",
    # Concurrent writers wait for the lock instead of failing with "database is locked".
    "busy_timeout": 10000,
    "foreign_keys": 1,
    "cache_size": -16000,
}


def make_database(url, pool_size=20, sqlite_synchronous="FULL"):
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


def release():
    """Give this thread's connection back to the pool, unless a transaction or an enclosing
    `connection_context()` (peewee's; it closes the connection itself) still needs it."""
    if database.is_closed() or database.in_transaction() or database._state.ctx:
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


def release_all():
    """Close pooled connections, e.g. before gunicorn forks: a connection must not cross a fork."""
    if hasattr(database.obj, "close_all"):
        database.obj.close_all()
    for own in OwnConnection.instances:
        own.discard()


class OwnConnection:
    """One connection outside the pool, kept open by a user that never uses it from two places
    at once (the request-log writer: one per process). A pool checkout and return per row cost
    more CPU than the row's INSERT.

    It is opened on first use in the process that uses it and reopened after a fork or when the
    database is rebound (the tests switch backends). Driver errors come out as peewee's (so
    DATABASE_DOWN catches an outage); after any error but a refused row the connection is dropped,
    and the next use opens a fresh one."""

    instances = []

    def __init__(self):
        self._conn = None
        self._owner = None
        OwnConnection.instances.append(self)

    def _connection(self):
        owner = (os.getpid(), database.obj)
        if self._conn is None or self._owner != owner:
            self._conn = None  # another process's or database's: left alone, never closed here
            obj = database.obj
            base = PostgresqlDatabase if isinstance(obj, PostgresqlDatabase) else SqliteDatabase
            self._conn = base._connect(obj)  # the driver's connection with our pragmas, unpooled
            self._owner = owner
        return self._conn

    @contextmanager
    def cursor(self, transaction=False):
        """A cursor on the connection; with `transaction`, the block is one transaction."""
        try:
            with __exception_wrapper__:
                cursor = self._connection().cursor()
                if not transaction:
                    yield cursor  # autocommit: each statement commits on its own
                    return
                cursor.execute("BEGIN")
                try:
                    yield cursor
                except BaseException:
                    cursor.execute("ROLLBACK")
                    raise
                cursor.execute("COMMIT")
        except (IntegrityError, DataError):
            raise  # a row refused: the connection is fine
        except BaseException:
            self.discard()
            raise

    def discard(self):
        conn, self._conn = self._conn, None
        if conn is not None and self._owner and self._owner[0] == os.getpid():
            try:
                conn.close()
            except Exception:  # already broken: nothing to give back
                pass


class PreparedSQL:
    """One statement's SQL, built once per backend by `build(param)`.

    peewee compiles a query from its expression tree on every execution, about 0.3 ms here: on a
    chat call that was more than the call's own work. The placeholder differs per backend ('?'
    SQLite, '%s' PostgreSQL), and one process may switch backends (the tests do)."""

    def __init__(self, build):
        self.build = build
        self._by_param = {}

    def sql(self):
        param = database.param
        sql = self._by_param.get(param)
        if sql is None:
            sql = self._by_param[param] = self.build(param)
        return sql

    def execute(self, params):
        return database.execute_sql(self.sql(), params)


def init_app(app):
    """Bind the proxy to the configured database; a request's connection goes back at teardown.

    No connection is taken up front: peewee connects on a request's first query, so requests that
    need none (probes, metrics, a rejected body) never wait on the pool."""
    database.initialize(make_database(app.config["DATABASE_URL"], app.config["DATABASE_POOL_SIZE"],
                                      app.config["SQLITE_SYNCHRONOUS"]))

    @app.teardown_request
    def _close(exc):
        if not database.is_closed():
            database.close()
