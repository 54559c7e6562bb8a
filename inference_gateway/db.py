"""The peewee database, bound late: SQLite by default, PostgreSQL from DATABASE_URL."""
import os
from contextlib import contextmanager
from urllib.parse import unquote, urlparse

from peewee import DatabaseProxy, SqliteDatabase
from playhouse.pool import PooledPostgresqlDatabase

database = DatabaseProxy()

SQLITE_PRAGMAS = {
    "journal_mode": "wal",
    "synchronous": "normal",
    # Concurrent writers wait for the lock instead of failing with "database is locked".
    "busy_timeout": 10000,
    "foreign_keys": 1,
    "cache_size": -16000,
}


def make_database(url):
    """Create (but do not open) a database from a URL."""
    parsed = urlparse(url)
    if parsed.scheme == "sqlite":
        path = unquote(parsed.path)
        if url.startswith("sqlite:///") and path.startswith("/") and not url.startswith("sqlite:////"):
            path = path[1:]  # sqlite:///relative/path
        if path in ("", ":memory:", "/:memory:"):
            path = ":memory:"
        else:
            directory = os.path.dirname(path)
            if directory:
                os.makedirs(directory, exist_ok=True)
        return SqliteDatabase(path, pragmas=SQLITE_PRAGMAS, timeout=10)
    if parsed.scheme in ("postgres", "postgresql"):
        kwargs = {
            "host": parsed.hostname or "localhost",
            "port": parsed.port or 5432,
            "user": unquote(parsed.username) if parsed.username else None,
            "password": unquote(parsed.password) if parsed.password else None,
        }
        kwargs = {k: v for k, v in kwargs.items() if v is not None}
        return PooledPostgresqlDatabase(
            parsed.path.lstrip("/") or "postgres", max_connections=64, stale_timeout=300,
            timeout=10, **kwargs)
    raise ValueError(f"DATABASE_URL must start with sqlite:/// or postgresql://, got {parsed.scheme}://")


@contextmanager
def connection():
    """Use the connection this thread already has open, or open one for the block and close it."""
    if not database.is_closed():
        yield database
        return
    with database.connection_context():
        yield database


def init_app(app):
    """Bind the proxy to the configured database and open/close a connection around each request."""
    database.initialize(make_database(app.config["DATABASE_URL"]))

    @app.before_request
    def _connect():
        database.connect(reuse_if_open=True)

    @app.teardown_request
    def _close(exc):
        if not database.is_closed():
            database.close()
