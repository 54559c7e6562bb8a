"""The request-log spool: rows the database would not take, kept on local disk until it does.

A call's row is written when the call ends; if the database is down then (a restart, a full pool),
the provider has already done the work and the client has its answer. Dropping the row would lose
usage, and failing the call would lose the answer, so the row is appended to a JSON-lines file
under DATA_DIR instead and inserted later: at the next start, and by the first write that succeeds
once the database is back. Rows keep their ids, so a row that was in fact stored is not doubled; a
stream's outcome replaces its row in progress, never the reverse.
"""
import fcntl
import json
import logging
import os
import threading
import time
from contextlib import contextmanager
from datetime import datetime

from inference_gateway.store import db
from inference_gateway.store.tables import RequestLog

IN_PROGRESS = "in_progress"  # request_log.IN_PROGRESS (request_log imports this module)

log = logging.getLogger(__name__)

# A successful write looks for a spool at most this often (a stat call), per process.
CHECK_EVERY = 5.0

_path = None
_next_check = 0.0
_replaying = threading.Lock()


def configure(data_dir):
    global _path
    _path = os.path.join(data_dir, "request-log-spool.jsonl")


def path():
    return _path


@contextmanager
def _locked():
    """Exclusive across processes (gunicorn workers share the file) and threads."""
    with open(_path + ".lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _encode(value):
    return {"$datetime": value.isoformat()} if isinstance(value, datetime) else value


def _decode(value):
    return datetime.fromisoformat(value["$datetime"]) if isinstance(value, dict) else value


def spool(row):
    """Append one row (a dict of RequestLog fields), durably; True once it is on disk."""
    global _next_check
    if _path is None:
        return False
    line = json.dumps({k: _encode(v) for k, v in row.items()}, separators=(",", ":")) + "\n"
    try:
        os.makedirs(os.path.dirname(_path) or ".", exist_ok=True)
        with _locked(), open(_path, "a", encoding="utf-8") as f:
            f.write(line)
            f.flush()
            os.fsync(f.fileno())
    except OSError:
        log.exception("could not spool request log row %s to %s", row.get("id"), _path)
        return False
    _next_check = 0.0  # look again soon: the database may be back before CHECK_EVERY
    return True


def replay_if_due():
    """After a successful write: insert spooled rows, if any, at most every CHECK_EVERY seconds."""
    global _next_check
    now = time.monotonic()
    if _path is None or now < _next_check:
        return
    _next_check = now + CHECK_EVERY
    if os.path.exists(_path):
        replay()


def _read():
    """The spooled rows; a line cut short by a crash mid-append is set aside in `.rejected`."""
    rows = []
    with open(_path, encoding="utf-8") as f:
        for line in f:
            try:
                rows.append({k: _decode(v) for k, v in json.loads(line).items()})
            except ValueError:
                if line.strip():
                    log.error("unreadable line in the request log spool, kept in %s.rejected", _path)
                    with open(_path + ".rejected", "a", encoding="utf-8") as rejected:
                        rejected.write(line)
    return rows


def replay():
    """Insert every spooled row (ignoring ids already stored), then remove the spool. Returns the
    number of rows read; on a database error the spool stays for the next try."""
    if _path is None or not os.path.exists(_path) or not _replaying.acquire(blocking=False):
        return 0
    try:
        with _locked():
            if not os.path.exists(_path):
                return 0
            rows = _read()
            with db.connection(), db.database.atomic():
                for row in rows:
                    insert = RequestLog.insert(**row)
                    if row.get("status") == IN_PROGRESS:  # a stream's early row: never over its outcome
                        insert = insert.on_conflict_ignore()
                    else:  # an outcome replaces the stream's row in progress (or the same row)
                        insert = insert.on_conflict(conflict_target=[RequestLog.id],
                                                    preserve=[f for f in RequestLog._meta.sorted_fields
                                                              if f.name != "id"])
                    insert.execute()
            os.unlink(_path)
        log.warning("stored %d request log row(s) from the spool %s", len(rows), _path)
        return len(rows)
    except Exception:
        log.exception("could not replay the request log spool %s; it is kept for the next try", _path)
        return 0
    finally:
        _replaying.release()
