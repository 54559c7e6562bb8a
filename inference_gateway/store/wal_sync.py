"""SQLite at synchronous=NORMAL, with its write-ahead log synced to disk within SQLITE_SYNC_INTERVAL
of a commit, instead of at every commit (FULL).

What each setting keeps, in WAL mode: a committed row is in the operating system's page cache at
once under both, so it survives the gateway process being killed at any moment. FULL also syncs the
WAL before the commit returns, so the row survives a power loss or a kernel crash from then on; with
NORMAL and this module, from at most SQLITE_SYNC_INTERVAL later (0.1 s by default; SQLite alone
would leave it to the next checkpoint). A power loss always loses the rows of calls still running;
this widens that to the calls that ended in the last interval.

Why: one fdatasync of the WAL cost 140-200 us of CPU a row on the benchmark's VM (bench/README.md),
about 0.2x of the pass-through's whole call, and held the worker's event loop for the sync's wall
time (1-1.5 ms). Synced here once an interval, on its own thread, it costs one sync per interval
per process, whatever the call rate.

The sync opens the WAL file by name each time: SQLite removes the WAL when its last connection
closes and creates a new one later, so a kept descriptor could be syncing a file no longer in use.
A missing WAL has nothing to sync (SQLite checkpoints it into the database, synced, before removing
it). Syncing any descriptor of a file flushes every process's writes to it.

The thread is an operating-system thread even in a gevent worker, whose `threading` is patched to
make greenlets: there a "thread" would run the sync on the event loop and stall every stream on the
worker for the sync's wall time each interval. So its thread, locks, wake-up and sleep are the
unpatched ones (`_native`), and committed(), called from greenlets, only takes an uncontended lock
(held by the thread for a set swap) and releases another: it never waits on the thread.
"""
import logging
import os
import sys

log = logging.getLogger(__name__)


def _native(module, name):
    """`module.name` as it was before gevent patched it, if it did (else as it is)."""
    monkey = sys.modules.get("gevent.monkey")
    if monkey is not None:
        return monkey.get_original(module, name)
    return getattr(sys.modules[module], name)


class WalSync:
    """Syncs the WAL of the databases written since its last sync, `interval` seconds after the first
    such write; one per process (the thread is started in the process that writes)."""

    def __init__(self):
        self.interval, self.path = 0.0, None
        self._dirty = set()
        self._forked()
        self.syncs = 0  # syncs done by this process (tests and benchmarks read it)

    def configure(self, interval, path):
        """Sync the WAL of the SQLite file `path` `interval` seconds after a commit; an interval of 0
        or no path turns it off (SQLite at FULL syncs each commit itself; PostgreSQL its server)."""
        self.interval, self.path = (max(0.0, float(interval)), path) if path else (0.0, None)

    def committed(self):
        """A transaction on the configured database committed: its WAL is synced within the interval."""
        if self.interval:
            self.dirty(self.path + "-wal")

    def dirty(self, path):
        """The file `path` was appended to: it is synced within the interval (the request log's
        journal, journal.py, as the WAL); nothing when syncs are off."""
        if not self.interval:
            return
        with self._lock:
            self._dirty.add(path)
            if not self._running:  # first write in this process (a gunicorn worker after the fork)
                self._running = True
                _native("_thread", "start_new_thread")(self._run, (self._wake,))
            if not self._pending:  # the thread waits for this release, or will find the wake free
                self._pending = True
                self._wake.release()

    def _forked(self):
        """Fresh state; in a child process: the parent's thread did not come along, the next commit
        starts one. `_wake` is held while nothing is pending: the thread waits to acquire it."""
        allocate = _native("_thread", "allocate_lock")
        self._lock, self._wake = allocate(), allocate()
        self._wake.acquire()
        self._running = self._pending = False

    def _run(self, wake):
        sleep = _native("time", "sleep")
        while True:
            wake.acquire()
            sleep(self.interval)
            with self._lock:
                self._pending = False  # before the sync: a commit after this point wakes the next round
            self.sync_now()

    def sync_now(self):
        """Sync every file written since the last sync (WALs, journals)."""
        with self._lock:
            paths, self._dirty = self._dirty, set()
        for path in paths:
            try:
                if sync_file(path):
                    self.syncs += 1
            except OSError:
                log.exception("could not sync %s", path)


def sync_file(path):
    """fdatasync the file at `path`; False when there is none (a WAL checkpointed into the synced
    database and removed, a journal file moved). Other errors are raised."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return False
    try:
        os.fdatasync(fd)
    finally:
        os.close(fd)
    return True


syncer = WalSync()
os.register_at_fork(after_in_child=syncer._forked)
