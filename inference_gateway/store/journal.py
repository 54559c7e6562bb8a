"""The request log's journal (SQLite): a call's row is appended to a file of its process's own
before the call answers, and moved into request_log in batches, at most LOG_JOURNAL_INTERVAL later.

Why: a row committed alone costs a transaction: its lock calls, WAL frames for the table, its five
indexes and the rollup row, and in a server that shares the cores about three times what the same
commit costs in a tight loop (160-180 us of CPU in-process beside the HTTP work, against 57). An
append is one write() (about 15 us), and rows moved fifty at a time cost about 25 us each
(bench/README.md, "The journal"). The durability is the same: an appended line is in the page cache
at once, so it survives the process being killed at any moment, and it is synced to disk within
SQLITE_SYNC_INTERVAL, as a commit at synchronous=NORMAL is (wal_sync.py).

The rules:
- One file per process, <database file>-request-log/<host:pid:start>#<seq>.jsonl, appended by that process
  only, one line per row version: [statement kind, column values].
- A file is moved into the database from where the last move stopped, up to its last complete
  line, in one transaction that also records the new position (table request_log_journal): each
  line is stored exactly once, whoever moves it and whenever it crashes. Moves are serialised by
  SQLite's write lock (BEGIN IMMEDIATE), so the owner and any reader may move the same file.
- A process's files are moved in their order, and the lines of a file in theirs: a row's versions
  (a stream's row in progress, its checkpoints, its outcome) always come from one process, so the
  last written is the last stored. Versions of one row moved together are stored once, as the last.
- Whoever reads the request log moves every file first (`catch_up`): a call's row is found by the
  next read on any worker, as when it was committed before its answer.
- The owner starts a new file once its file is past ROTATE_BYTES and moved to its end, and removes
  the old one; the files of a process that is gone are moved and removed by the next catch-up
  (every worker's start runs one).

Only with SQLite: PostgreSQL is shared by machines whose files the others cannot read, so there a
row is committed before its call answers (log_writer.py), as it is with LOG_JOURNAL_INTERVAL=0 or
SQLITE_SYNCHRONOUS=FULL (a row on disk before the answer).
"""
import atexit
import logging
import os
import sqlite3
import threading
import time
from datetime import datetime


from inference_gateway import fast_json
from inference_gateway.store import fast
from inference_gateway.store.db import DATABASE_DOWN, database
from inference_gateway.store.processes import is_gone, worker_id
from inference_gateway.store.tables import JournalOffset
from inference_gateway.store.wal_sync import sync_file, syncer

log = logging.getLogger(__name__)

DIRECTORY = "-request-log"  # beside the database file: gateway.db-request-log/
SUFFIX = ".jsonl"
# A file is replaced by a new one once it is this large and moved to its end (about 8,000 rows).
ROTATE_BYTES = 8 * 1024 * 1024
# What SQLite raises for a row it will not take (the cursor is the driver's own: peewee's classes are
# raised only around the transaction).
REFUSED = (sqlite3.IntegrityError, sqlite3.DataError, sqlite3.InterfaceError, sqlite3.ProgrammingError)
# Read at most this much of a file per transaction (about 65 rows, 2 ms of a worker's event loop:
# sqlite3 never yields), yielding between transactions. At 128 KiB a move was among the holds of
# 4 ms or more that bench/loop_stalls.py reports.
MOVE_BYTES = 64 * 1024


def _plain(value):
    # The text sqlite3 itself stores for a datetime (its default adapter), so a moved row reads
    # back as a committed one does.
    return value.isoformat(" ") if isinstance(value, datetime) else value


_dumps = fast_json.encoder(default=str)


def encode(kind, values):
    return (_dumps([kind, [_plain(v) for v in values]]) + "\n").encode()


class Journal:
    """See the module's docstring. `statements` maps a line's kind to its statement (request_log's
    fast.PreparedSQL); `columns` names a row's values in order (request_log's LOG_COLUMNS)."""

    def __init__(self, statements, columns):
        self.statements, self.id_index, self.width = statements, columns.index("id"), len(columns)
        self.directory, self.database_path, self.interval = None, None, 0.0
        self._connection = _GuardedConnection(self)
        self._forked()
        os.register_at_fork(after_in_child=self._forked)
        atexit.register(self._at_exit)

    def configure(self, database_path, interval):
        """Journal the rows of the SQLite file `database_path` beside it, and move them `interval`
        seconds after the first; None (or in memory) or 0 turns it off (every row committed before
        its call answers). Beside the file, not in DATA_DIR: a journal belongs to its database."""
        with self._move_lock, self._append_lock:
            self._close()
            usable = database_path and database_path != ":memory:" and not database_path.startswith("file:")
            self.interval = max(0.0, float(interval or 0))
            self.database_path = database_path if usable and self.interval > 0 else None
            # realpath: "sqlite:////tmp/x.db" names "//tmp/x.db", the same file as "/tmp/x.db".
            self._file = os.path.realpath(self.database_path) if self.database_path else None
            self.directory = self._file + DIRECTORY if self._file else None
            self._seq, self._known = 0, {}
            self._pending, self._wake = False, None  # the next row starts a mover of these settings

    def close(self):
        """Close this process's file and connection (the rows stay journalled for the next move)."""
        with self._move_lock, self._append_lock:
            self._close()

    def _close(self):
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)
        self._connection.discard()

    @property
    def enabled(self):
        return self.directory is not None

    def _bound(self):
        """True while the process's database is the one journalled (the tests rebind it)."""
        return self.enabled and getattr(database.obj, "database", None) == self.database_path

    def _forked(self):
        """Fresh per-process state: a child starts its own file and its own mover."""
        self._fd, self._path, self._seq, self._size = None, None, 0, 0
        self._append_lock = threading.Lock()
        self._move_lock = threading.RLock()
        self._pending = False
        self._wake = None
        self._known = {}  # file -> position known moved (skips a query for files not grown)

    # -- the owner's side ------------------------------------------------------------------------

    def append(self, kind, values):
        """Journal one row version; raises OSError if it could not be written (the caller then
        commits it directly)."""
        line = encode(kind, values)
        with self._append_lock:
            if self._fd is None:
                self._open()
            os.write(self._fd, line)
            self._size += len(line)
            path = self._path
        syncer.dirty(path)
        if not self._pending:
            self._pending = True
            self._schedule()

    def _open(self):
        os.makedirs(self.directory, exist_ok=True)
        self._seq += 1
        self._path = os.path.join(self.directory, f"{worker_id()}#{self._seq:06d}{SUFFIX}")
        self._fd = os.open(self._path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        self._size = os.fstat(self._fd).st_size

    def _schedule(self):
        if self._wake is None:
            self._wake = threading.Event()
            thread = threading.Thread(target=self._run, args=(self._wake,), name="request-log-journal", daemon=True)
            thread.start()
        self._wake.set()

    def _run(self, wake):
        # A gevent worker's threading is patched: this is a greenlet there, and a move holds the
        # event loop as a commit did (sqlite3 never yields), once per interval instead of per row.
        while True:
            wake.wait()
            wake.clear()
            time.sleep(self.interval)
            if wake is not self._wake:
                return  # reconfigured meanwhile (the tests): the rows are the new mover's
            self._pending = False  # before the move: a row appended from here on schedules the next
            try:
                self.flush()
            except Exception:  # the rows stay journalled; the next move or catch-up takes them
                log.exception("moving the request log journal failed")

    def _at_exit(self):
        # A worker stopping (gunicorn's graceful exit) moves its last rows; were it killed instead,
        # the next catch-up would.
        if self._fd is None:
            return  # wrote nothing (or closed): nothing of its own to move
        try:
            self.flush()
        except Exception:
            log.exception("moving the request log journal at exit failed; the next start will")

    def flush(self):
        """Move this process's own files into the database."""
        with self._move_lock:
            if not self._bound():
                return
            mine = f"{worker_id()}#"
            for name in self._files():
                if name.startswith(mine):
                    self._move(name)
            self._rotate()

    def _rotate(self):
        with self._append_lock:
            if self._fd is None or self._size < ROTATE_BYTES:
                return
            old, fd = self._path, self._fd
            if self._known.get(os.path.basename(old)) != self._size:
                return  # not all moved yet
            self._fd = None
            os.close(fd)
        self._unlink(old)

    # -- everyone's side ---------------------------------------------------------------------------

    def catch_up(self):
        """Move every process's files into the database (before reading the request log)."""
        with self._move_lock:
            if not self._bound():
                return
            for name in self._files():
                moved = self._move(name)
                if moved is not None and self._abandoned(name, moved):
                    self._remove(name)

    def _files(self):
        try:
            names = [n for n in os.listdir(self.directory) if n.endswith(SUFFIX) and "#" in n]
        except FileNotFoundError:
            return []
        return sorted(names)

    def _abandoned(self, name, moved):
        """True when the file's process is gone and every line of it is stored: a line it was cut
        off in the middle of (killed mid-write) is logged, as it can never be read."""
        worker = name.rsplit("#", 1)[0]
        if worker == worker_id() or is_gone(worker) is not True:
            return False
        try:
            with open(os.path.join(self.directory, name), "rb") as f:
                f.seek(moved)
                rest = f.read(MOVE_BYTES + 1)
        except FileNotFoundError:
            return False
        if b"\n" in rest:
            return False  # not moved yet (the database refused the move): the next catch-up
        if rest:
            log.error("request log journal %s: its process was killed while writing its last line, "
                      "which cannot be read: %.200r", name, rest)
        return True

    def _remove(self, name):
        self._unlink(os.path.join(self.directory, name))
        self._known.pop(name, None)

    def _unlink(self, path):
        """Remove a moved file, once the moves it had are on disk: the WAL synced first."""
        sync_file(self._file + "-wal")
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass

    def _move(self, name):
        """Store the file's lines past its recorded position; returns the position now recorded, or
        None if the database could not be written (the lines stay for the next move)."""
        path = os.path.join(self.directory, name)
        try:
            fd = os.open(path, os.O_RDONLY)
        except FileNotFoundError:
            self._known.pop(name, None)
            return None
        try:
            size = os.fstat(fd).st_size
            if self._known.get(name) == size:
                return size
            moved = -1
            while True:
                before, moved = moved, self._move_once(name, fd)
                if moved >= size or moved == before:
                    return moved
                time.sleep(0)  # the rest in the next turn: the worker's streams go on meanwhile
        except DATABASE_DOWN as exc:
            log.warning("request log journal %s not moved yet (%s); it will be", name, exc)
            return None
        finally:
            os.close(fd)

    def _move_once(self, name, fd):
        with self._connection.cursor(transaction="BEGIN IMMEDIATE") as cursor:
            row = cursor.execute(f'SELECT "ingested" FROM "{JournalOffset._meta.table_name}" WHERE "file" = ?',
                                 (name,)).fetchone()
            start = row[0] if row else 0
            data = os.pread(fd, MOVE_BYTES, start)
            end = data.rfind(b"\n") + 1
            if end:
                self._store(cursor, name, data[:end])
                cursor.execute(f'INSERT OR REPLACE INTO "{JournalOffset._meta.table_name}" ("file", "ingested") '
                               "VALUES (?, ?)", (name, start + end))
        # No WAL sync for a move: the lines stay in their (synced) file until _unlink syncs it, and a
        # move lost to a power loss is made again (its position is lost with it).
        self._known[name] = start + end
        return start + end

    def _store(self, cursor, name, data):
        latest = {}  # row id -> (kind, values): a row's last version wins
        for number, line in enumerate(data.splitlines(), 1):
            try:
                kind, values = fast_json.loads(line)
                if not isinstance(values, list) or len(values) != self.width:
                    raise ValueError("not a row")
                latest[values[self.id_index]] = (self.statements[kind].sql(), values)
            except (ValueError, TypeError, KeyError):
                log.error("request log journal %s: line %d unreadable, skipped: %.200r", name, number, line)
        by_sql = {}
        for sql, values in latest.values():
            by_sql.setdefault(sql, []).append(values)
        for sql, rows in by_sql.items():
            if _undone_if_refused(cursor, cursor.executemany, sql, rows) is None:
                continue
            # A refused row costs only itself (kept in the log, its line in the moved file).
            for values in rows:
                refused = _undone_if_refused(cursor, cursor.execute, sql, values)
                if refused is not None:
                    log.error("request log journal %s: row %s refused by the database (%s): %.500r",
                              name, values[self.id_index], refused, values)


def _undone_if_refused(cursor, run, sql, params):
    """`run(sql, params)` inside a savepoint: None once done, or what SQLite refused it with (then
    the statement is undone and the transaction goes on)."""
    cursor.execute("SAVEPOINT journal")
    try:
        run(sql, params)
    except REFUSED as exc:
        cursor.execute("ROLLBACK TO journal")
        return exc
    finally:
        cursor.execute("RELEASE journal")
    return None


class _GuardedConnection(fast.OwnConnection):
    """The journal's connection: closed only between moves. Outside a gevent worker the mover is an
    operating-system thread, and a connection closed under a running statement crashes the process
    (db.release_all closes every connection outside the pool)."""

    def __init__(self, journal):
        super().__init__()
        self._journal = journal

    def discard(self):
        with self._journal._move_lock:  # re-entrant: configure() holds it when it closes
            super().discard()
