"""The request-log writer: one per process, committing the rows of calls that end together in one
transaction.

Its rules: a caller queues its row, then waits for the writer's turn (a lock). Holding the turn, it
yields once to the event loop, so that the rows of calls finishing in the same turn are queued too;
then, unless the previous holder already committed its row, it takes the whole queue and commits it
in one transaction. If the database refuses that transaction, the rows are inserted one by one, so
a refused row fails only its own call. Every caller returns once its own row is committed, or raises
that row's own error. A caller interrupted while it waits (a killed greenlet) takes its row back out
of the queue and spools it; a holder interrupted while it writes spools the rows of its batch. No
state outlives a turn but the queue, and nothing is written by anyone but the turn's holder.

Why: under gevent a SQLite call never yields, so without batching every call ended in its own
transaction: a commit with its fsync (with SQLITE_SYNCHRONOUS=FULL; wal_sync.py at NORMAL), a write-lock round with the other
workers and a share of WAL checkpointing per row. The yield costs about a microsecond; a dedicated
writer thread would cost a thread wake-up per call instead.
"""
import logging
import threading
import time

from peewee import DatabaseError, InterfaceError, OperationalError
from playhouse.pool import MaxConnectionsExceeded

from inference_gateway.store import spool

log = logging.getLogger(__name__)

# What a database can raise on a statement; anything else is a bug, handled as an interruption.
DATABASE_ERRORS = (DatabaseError, InterfaceError, MaxConnectionsExceeded)


class Pending:
    """One queued row: its statement, its values, how to get it as a dict (to spool it), and once
    written, its outcome."""

    __slots__ = ("sql", "values", "row", "done", "error")

    def __init__(self, sql, values, row):
        self.sql, self.values, self.row = sql, values, row
        self.done, self.error = False, None


def commit_batch(connection, batch):
    """All rows in one transaction; statements of one kind go in one executemany."""
    by_sql = {}
    for item in batch:
        by_sql.setdefault(item.sql, []).append(item.values)
    with connection.cursor(transaction=True) as cursor:
        for sql, rows in by_sql.items():
            cursor.executemany(sql, rows)


def commit_one(connection, item):
    with connection.cursor() as cursor:
        cursor.execute(item.sql, item.values)


class Writer:
    """See the module's docstring for the rules."""

    def __init__(self, connection, committed=None):
        self.connection = connection
        self.committed = committed  # called after each transaction that stored rows (wal_sync)
        self._queue = []
        self._queue_lock = threading.Lock()  # guards the queue only, held for a list operation
        self._turn = threading.Lock()        # the writer's turn, held while a batch is written

    def store(self, sql, values, row):
        """Commit one row (`values` for `sql`; `row()` gives the dict of its fields spooled if it must
        be); returns once it is committed, or raises its own error."""
        item = Pending(sql, values, row)
        with self._queue_lock:
            self._queue.append(item)
        try:
            self._turn.acquire()
        except BaseException:
            self._withdraw(item)
            raise
        try:
            if not item.done:
                self._write_queue()
        finally:
            self._turn.release()
        if item.error is not None:
            raise item.error

    def _withdraw(self, item):
        """An interrupted waiter's row: spooled unless a holder has taken it (and so writes it)."""
        with self._queue_lock:
            queued = item in self._queue
            if queued:
                self._queue.remove(item)
        if queued:
            _spool([item], "its caller was interrupted while waiting to write it")

    def _write_queue(self):
        interrupted = None
        try:
            time.sleep(0)  # let calls ending in this turn of the event loop queue their rows
        except BaseException as exc:  # killed while yielding: the queued rows are written first
            interrupted = exc
        with self._queue_lock:
            batch, self._queue = self._queue, []
        try:
            self._commit(batch)
        except BaseException as exc:
            # Interrupted mid-write (a killed greenlet on a cooperative driver) or a bug: whether the
            # transaction committed is unknown; the spool's replay skips rows already stored.
            log.error("request log writer interrupted with %d row(s): %r", len(batch), exc,
                      exc_info=isinstance(exc, Exception))
            _spool([item for item in batch if not item.done], "the writer was interrupted")
            raise
        if interrupted is not None:
            raise interrupted

    def _commit(self, batch):
        if len(batch) > 1:
            try:
                commit_batch(self.connection, batch)
            except DATABASE_ERRORS as exc:
                # One refused row (or a dropped connection) must not cost the others theirs.
                log.warning("request log batch of %d rows refused (%s); inserting them one by one", len(batch), exc)
            else:
                for item in batch:
                    item.done = True
                self._committed()
                return
        stored = False
        for item in batch:
            try:
                commit_one(self.connection, item)
                stored = True
            except DATABASE_ERRORS as exc:
                item.error = exc  # raised to its own caller, which retries, spools or reports it
            item.done = True
        if stored:
            self._committed()

    def _committed(self):
        if self.committed is not None:
            self.committed()


def _spool(items, why):
    for item in items:
        item.done = True
        row = item.row()
        if spool.spool(row):
            log.error("request log row %s spooled to %s: %s", row.get("id"), spool.path(), why)
        else:
            item.error = OperationalError(f"request log row {row.get('id')} could not be written "
                                          f"nor spooled ({why})")
            log.error("request log row %s lost: %s, and the spool refused it", row.get("id"), why)
