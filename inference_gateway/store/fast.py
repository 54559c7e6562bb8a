"""The data layer's fast paths, each measured against the public way it replaces (bench/README.md,
bench/fast_paths.py): a statement compiled once, and the request-log writer's own connection.

Both reach below peewee's query builder or its pool; everything else in store/ uses peewee as
documented. tests/test_fast_store.py holds each to what the slow way does."""
import os
from contextlib import contextmanager

import peewee

from inference_gateway.store.db import database, outside_pool


class PreparedSQL:
    """One statement's SQL, built once per backend by `build(param)`.

    peewee compiles a query from its expression tree on every execution (0.2-0.7 ms for the
    request log's INSERT, measured): more than the rest of the row's work. The placeholder
    differs per backend ('?' SQLite, '%s' PostgreSQL), and one process may switch backends (the
    tests do)."""

    def __init__(self, build):
        self.build = build
        self._by_param = {}

    def sql(self):
        param = database.param
        sql = self._by_param.get(param)
        if sql is None:
            sql = self._by_param[param] = self.build(param)
        return sql


def unpooled_connection(obj):
    """A new driver connection for the database `obj`, set up as its pool's are (SQLite pragmas,
    PostgreSQL parameters) but outside the pool.

    The one private call in the data layer: peewee has no public way to open a connection past
    its pool, and `_connect` is the method the pool itself calls for a new one."""
    base = peewee.PostgresqlDatabase if isinstance(obj, peewee.PostgresqlDatabase) else peewee.SqliteDatabase
    return base._connect(obj)


class OwnConnection:
    """One connection outside the pool, kept open by a user that never uses it from two places
    at once (the request-log writer: one per process). A pool checkout and return cost about
    35 us a row more (measured), a few percent of the gateway's own CPU per call.

    It is opened on first use in the process that uses it and reopened after a fork or when the
    database is rebound (the tests switch backends). Driver errors come out as peewee's (so
    DATABASE_DOWN catches an outage); after any error but a refused row the connection is dropped,
    and the next use opens a fresh one."""

    def __init__(self):
        self._conn = None
        self._owner = None
        outside_pool.append(self)

    def _connection(self):
        owner = (os.getpid(), database.obj)
        if self._conn is None or self._owner != owner:
            self._conn = None  # another process's or database's: left alone, never closed here
            self._conn = unpooled_connection(database.obj)
            self._owner = owner
        return self._conn

    @contextmanager
    def cursor(self, transaction=False):
        """A cursor on the connection; with `transaction`, the block is one transaction (begun by
        that statement if it is one, e.g. "BEGIN IMMEDIATE")."""
        try:
            with peewee.__exception_wrapper__:
                cursor = self._connection().cursor()
                if not transaction:
                    yield cursor  # autocommit: each statement commits on its own
                    return
                cursor.execute(transaction if isinstance(transaction, str) else "BEGIN")
                try:
                    yield cursor
                except BaseException:
                    cursor.execute("ROLLBACK")
                    raise
                cursor.execute("COMMIT")
        except (peewee.IntegrityError, peewee.DataError):
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
