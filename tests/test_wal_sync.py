"""SQLite at synchronous=NORMAL (the default): a row survives the process being killed right after
its call answered, and its WAL is synced to disk within SQLITE_SYNC_INTERVAL (store/wal_sync.py)."""
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time

import pytest

from inference_gateway import create_app
from inference_gateway.store import request_log, wal_sync

from .helpers import caught_up
from inference_gateway.store.request_log import CallRecord

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture
def synced(monkeypatch):
    """[(path of the file synced, monotonic time)] for every fdatasync the syncer makes."""
    seen = []
    real = os.fdatasync

    def recording(fd):
        seen.append((os.readlink(f"/proc/self/fd/{fd}"), time.monotonic()))
        return real(fd)

    monkeypatch.setattr(wal_sync.os, "fdatasync", recording)
    return seen


def sqlite_app(tmp_path, **config):
    return create_app({"DATABASE_URL": f"sqlite:///{tmp_path}/g.db", "DATA_DIR": str(tmp_path),
                       "GATEWAY_API_KEYS": "", "GATEWAY_ADMIN_KEYS": "", **config})


def wait_for(predicate, timeout):
    deadline = time.monotonic() + timeout
    while not predicate() and time.monotonic() < deadline:
        time.sleep(0.01)
    return predicate()


@pytest.mark.parametrize("journal", [True, False])
def test_a_stored_row_has_its_file_synced_within_the_interval(tmp_path, synced, journal):
    """The row's first home is synced: the journal it was appended to (store/journal.py), or without
    one the WAL it was committed to (a moved row's WAL is synced before its journal file is removed:
    tests/test_journal.py)."""
    app = sqlite_app(tmp_path, SQLITE_SYNC_INTERVAL=0.05, LOG_JOURNAL_INTERVAL=0.05 if journal else 0)
    with app.app_context():
        request_log.write(CallRecord(endpoint="chat", model="m"))
    committed = time.monotonic()
    mine = lambda: [(p, t) for p, t in synced if p.startswith(f"{tmp_path}/")]  # not an earlier test's file
    assert wait_for(mine, 2), "no sync after a stored row"
    path, at = mine()[0]
    assert at - committed < 0.05 + 0.5  # the interval, plus a loaded machine's scheduling
    if not journal:
        assert path == f"{tmp_path}/g.db-wal"
        return
    assert path.startswith(f"{tmp_path}/g.db-request-log/") and path.endswith(".jsonl")


def test_rows_written_within_one_interval_share_one_sync(tmp_path, synced):
    app = sqlite_app(tmp_path, SQLITE_SYNC_INTERVAL=0.3)
    with app.app_context():
        for i in range(20):
            request_log.write(CallRecord(endpoint="chat", model=f"m{i}"))
    assert wait_for(lambda: synced, 3)
    time.sleep(0.4)
    assert len(synced) <= 2  # not one per row (FULL's way): 20 rows, one or two intervals


@pytest.mark.parametrize("config", [{"SQLITE_SYNCHRONOUS": "FULL"}, {"SQLITE_SYNC_INTERVAL": 0}])
def test_no_timed_sync_when_sqlite_syncs_each_commit_or_it_is_turned_off(tmp_path, synced, config):
    app = sqlite_app(tmp_path, **{"SQLITE_SYNC_INTERVAL": 0.02, **config})
    with app.app_context():
        request_log.write(CallRecord(endpoint="chat", model="m"))
    time.sleep(0.2)
    assert synced == []


def test_a_missing_wal_is_nothing_to_sync(tmp_path, synced):
    syncer = wal_sync.WalSync()
    syncer.configure(0.01, str(tmp_path / "never.db"))
    syncer.committed()
    syncer.sync_now()
    assert synced == [] and syncer.syncs == 0


CRASH = textwrap.dedent("""
    import os, signal, sys
    sys.path.insert(0, {root!r})
    from inference_gateway import create_app
    from inference_gateway.store import request_log
    from inference_gateway.store.request_log import CallRecord
    app = create_app({{"DATABASE_URL": "sqlite:///{db}", "DATA_DIR": {tmp!r}, "GATEWAY_API_KEYS": "",
                      "SQLITE_SYNC_INTERVAL": 60}})
    with app.app_context():
        record = CallRecord(endpoint="chat", model="killed-right-after", input_tokens=7)
        request_log.write(record)
    print(record.id, flush=True)
    os.kill(os.getpid(), signal.SIGKILL)  # no exit handler, no close, no checkpoint, no sync
""")


def test_a_row_survives_its_process_being_killed_right_after_the_call(tmp_path):
    db = tmp_path / "g.db"
    script = CRASH.format(root=ROOT, db=str(db), tmp=str(tmp_path))
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    row_id = proc.stdout.strip()
    caught_up(f"sqlite:///{db}")  # what the next start does first
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        row = conn.execute("SELECT model, input_tokens FROM request_log WHERE id = ?", (row_id,)).fetchone()
    finally:
        conn.close()
    assert row == ("killed-right-after", 7)


def test_a_forked_worker_syncs_on_a_thread_of_its_own(tmp_path):
    """gunicorn forks its workers from a master that may have written already: the master's sync
    thread does not exist in the worker, which must start its own."""
    db = tmp_path / "g.db"
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA journal_mode=wal")
    conn.execute("CREATE TABLE t (x)")
    syncer = wal_sync.syncer
    syncer.configure(0.01, str(db))
    try:
        conn.execute("INSERT INTO t VALUES (1)")
        conn.commit()
        syncer.committed()  # the parent's thread starts here
        assert wait_for(lambda: syncer.syncs > 0, 5)
        pid = os.fork()
        if pid == 0:  # the worker: a commit of its own must be synced by a thread of its own
            before = syncer.syncs
            child = sqlite3.connect(db)
            child.execute("INSERT INTO t VALUES (2)")
            child.commit()
            syncer.committed()
            os._exit(0 if wait_for(lambda: syncer.syncs > before, 5) else 1)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
    finally:
        syncer.configure(0, None)
        conn.close()


GEVENT_WORKER = textwrap.dedent("""
    from gevent import monkey
    monkey.patch_all()  # what gunicorn's gevent worker does before it loads the app
    import os, sys, time
    import gevent
    sys.path.insert(0, {root!r})
    from inference_gateway.store import wal_sync
    blocking_sleep = monkey.get_original("time", "sleep")
    in_sync = []

    def slow_fdatasync(fd):  # a disk that takes its time, blocking whichever thread calls it
        in_sync.append(time.monotonic())
        blocking_sleep(0.5)
        in_sync.append(time.monotonic())

    wal_sync.os.fdatasync = slow_fdatasync
    open({db!r} + "-wal", "w").close()
    syncer = wal_sync.WalSync()
    syncer.configure(0.01, {db!r})
    ticks = []

    def stream():  # another call's greenlet, sending a chunk every 10 ms
        while len(in_sync) < 2:
            ticks.append(time.monotonic())
            gevent.sleep(0.01)
        ticks.append(time.monotonic())

    streaming = gevent.spawn(stream)
    syncer.committed()
    streaming.join(timeout=10)
    start, end = in_sync
    during = [t for t in ticks if start <= t <= end]
    print(syncer.syncs, len(during), max(b - a for a, b in zip(ticks, ticks[1:])))
""")


def test_under_gevent_the_sync_does_not_stop_the_other_greenlets(tmp_path):
    """In a gevent worker `threading` makes greenlets: a sync there would hold the event loop, and
    every stream on the worker, for the sync's wall time. The syncer's thread is a real one."""
    script = GEVENT_WORKER.format(root=ROOT, db=str(tmp_path / "g.db"))
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    syncs, ticks_during_sync, longest_gap = proc.stdout.split()
    assert int(syncs) == 1
    assert int(ticks_during_sync) >= 10  # a 0.5 s sync: ~50 ticks of 10 ms; none if it held the loop
    assert float(longest_gap) < 0.4
