"""This process as the request log names it, and whether a process so named is gone: a stream's row
names the worker serving it (stream_rows), a journal file the process writing it (journal)."""
import os
import socket

_identity = (None, None)


def worker_id():
    """This process as a row names it: host, pid, and the pid's start time (pids are reused)."""
    global _identity
    pid = os.getpid()
    if _identity[0] != pid:
        _identity = (pid, f"{socket.gethostname()}:{pid}:{_started(pid)}")
    return _identity[1]


def _started(pid):
    """The process's start time in clock ticks since boot (Linux), or '' where /proc has none."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
            return f.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return ""


def is_gone(worker):
    """True when `worker` ran on this host and that process no longer exists, False when it does,
    None when it ran elsewhere (or is unnamed): this host cannot tell."""
    try:
        host, pid, started = (worker or "").rsplit(":", 2)
        pid = int(pid)
    except ValueError:
        return None
    if host != socket.gethostname():
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        pass  # someone else's process: the pid exists
    return bool(started) and _started(pid) != started
