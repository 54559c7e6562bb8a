"""Provider health over the last five minutes: error rate, median latency and time to first token,
the last error, and the circuit breaker's state (GET /providers).

Each process counts its own calls per (provider, minute) in memory (a few dict updates a call) and
writes those minutes to the provider_health table every HEALTH_FLUSH_SECONDS; a provider's health
is the sum of the last five minutes' rows of every process and instance, so no request ever scans
the request log. Latencies are kept as sparse histograms with bins 2^(1/8) apart (9 % wide), which
sum across processes exactly; a median read from them is within 5 % of the true one."""
import json
import logging
import math
import os
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Optional

from datetime import datetime, timezone

from inference_gateway import events
from inference_gateway.store import health_store
from inference_gateway.store.provider_store import iso

log = logging.getLogger(__name__)

WINDOW_MINUTES = 5
KEEP_MINUTES = 10
BIN_BASE = 2 ** 0.125
_LOG_BASE = math.log(BIN_BASE)
HEALTHY, DEGRADED, OPEN = "healthy", "degraded", "open"
LAST_ERROR_MAX = 300


def bin_of(ms):
    """The histogram bin of a duration in milliseconds (bin 0: under 1 ms)."""
    return 0 if ms < 1 else int(math.log(ms) / _LOG_BASE) + 1


def bin_value(index):
    """The value a bin stands for: its geometric middle."""
    return 0.5 if index == 0 else BIN_BASE ** (index - 0.5)


def median(histogram):
    """The median of a {bin: count} histogram in milliseconds (rounded), or None when empty."""
    total = sum(histogram.values())
    if not total:
        return None
    seen = 0
    for index in sorted(histogram):
        seen += histogram[index]
        if seen * 2 >= total:
            return round(bin_value(index))
    return None  # unreachable: the loop reaches the total


def add_histogram(into, other):
    for index, count in other.items():
        into[index] = into.get(index, 0) + count


@dataclass
class Minute:
    """One provider's calls in one minute, as one process saw them."""

    calls: int = 0
    errors: int = 0
    latency: dict = field(default_factory=dict)
    ttft: dict = field(default_factory=dict)
    last_error: Optional[str] = None
    last_error_at: Optional[float] = None

    def add(self, other):
        self.calls += other.calls
        self.errors += other.errors
        add_histogram(self.latency, other.latency)
        add_histogram(self.ttft, other.ttft)
        if other.last_error_at is not None and (self.last_error_at is None
                                                or other.last_error_at > self.last_error_at):
            self.last_error, self.last_error_at = other.last_error, other.last_error_at


def summarize(minutes, open_until=None, now=None, degraded_rate=0.1):
    """A provider's `health` from its Minutes of the window and its breaker (open until, Unix time)."""
    now = time.time() if now is None else now
    total = Minute()
    for minute in minutes:
        total.add(minute)
    error_rate = round(total.errors / total.calls, 4) if total.calls else None
    if open_until is not None and open_until > now:
        state = OPEN
    elif error_rate is not None and error_rate >= degraded_rate:
        state = DEGRADED
    else:
        state = HEALTHY
    return {"state": state, "errorRate": error_rate, "p50LatencyMs": median(total.latency),
            "p50TtftMs": median(total.ttft), "lastError": total.last_error,
            "lastErrorAt": iso_seconds(total.last_error_at)}


def iso_seconds(moment):
    """A Unix time as the API writes timestamps (None stays None)."""
    if moment is None:
        return None
    return iso(datetime.fromtimestamp(moment, timezone.utc).replace(tzinfo=None))


def worker_name():
    return f"{socket.gethostname()}:{os.getpid()}"


class HealthWindows:
    """This process's recent minutes per provider, written to the database now and then."""

    def __init__(self, flush_seconds=2.0, degraded_rate=0.1, clock=time.time):
        self.flush_seconds, self.degraded_rate, self.clock = flush_seconds, degraded_rate, clock
        self._minutes = {}  # (provider id, minute) -> Minute
        self._dirty = set()
        self._open_until = {}  # provider id -> this process's breaker open until (no Redis)
        self._next_flush = 0.0
        self._lock = threading.Lock()
        self._worker = None

    def observe(self, provider_id, latency_ms, ttft_ms=None, error=None, now=None):
        """Count one call (or one attempt of a routed call); `error`: its message when the provider
        failed it (a timeout, a refused connection, 429, 5xx), None otherwise."""
        now = self.clock() if now is None else now
        key = (provider_id, int(now // 60))
        minute = self._minutes.get(key)
        if minute is None:
            minute = self._minutes[key] = Minute()
        minute.calls += 1
        bin_ = bin_of(latency_ms)
        minute.latency[bin_] = minute.latency.get(bin_, 0) + 1
        if ttft_ms is not None:
            bin_ = bin_of(ttft_ms)
            minute.ttft[bin_] = minute.ttft.get(bin_, 0) + 1
        if error is not None:
            minute.errors += 1
            minute.last_error, minute.last_error_at = error[:LAST_ERROR_MAX], now
        self._dirty.add(key)
        if now >= self._next_flush:
            self.try_flush(now)

    def try_flush(self, now=None):
        """flush(), a failure logged: a call never fails for its health counts."""
        try:
            self.flush(now)
        except Exception:
            log.warning("could not write provider health counts (kept for the next try)", exc_info=True)

    def breaker_open(self, provider_id, until):
        """This process's breaker for the provider opened (until a time) or closed (None)."""
        now = self.clock()
        self._open_until[provider_id] = until
        self._dirty.add((provider_id, int(now // 60)))
        self._minutes.setdefault((provider_id, int(now // 60)), Minute())
        self.try_flush(now)

    def flush(self, now=None):
        """Write the minutes changed since the last flush (and drop those out of the window)."""
        now = self.clock() if now is None else now
        self._next_flush = now + self.flush_seconds
        if not self._dirty or not self._lock.acquire(blocking=False):
            return
        try:
            dirty, self._dirty = self._dirty, set()
            oldest = int(now // 60) - WINDOW_MINUTES
            for key in [k for k in self._minutes if k[1] < oldest]:
                del self._minutes[key]
            rows = []
            for key in dirty:
                minute = self._minutes.get(key)
                if minute is None:
                    continue
                rows.append({"provider_id": key[0], "minute": key[1], "calls": minute.calls,
                             "errors": minute.errors, "latency": json.dumps(minute.latency),
                             "ttft": json.dumps(minute.ttft), "last_error": minute.last_error,
                             "last_error_at": minute.last_error_at,
                             "open_until": self._open_until.get(key[0])})
            if self._worker is None:
                self._worker = worker_name()
            try:
                health_store.save(self._worker, rows, prune_before=int(now // 60) - KEEP_MINUTES)
            except Exception:
                self._dirty |= dirty  # written with the next flush
                raise
        finally:
            self._lock.release()

    def read(self, provider_ids, breaker=None, now=None):
        """{provider id: health} for these providers, this process's latest counts included.
        `breaker`: the shared breakers (Redis), whose open state wins over the table's."""
        now = self.clock() if now is None else now
        self.try_flush(now)  # this process's latest calls; the others' rows are read anyway
        minutes, opened = {}, {}
        for row in health_store.load(provider_ids, int(now // 60) - WINDOW_MINUTES + 1):
            minutes.setdefault(row.provider_id, []).append(Minute(
                row.calls, row.errors, {int(k): v for k, v in json.loads(row.latency).items()},
                {int(k): v for k, v in json.loads(row.ttft).items()}, row.last_error, row.last_error_at))
            if row.open_until is not None:
                opened[row.provider_id] = max(opened.get(row.provider_id, 0.0), row.open_until)
        shared = breaker.open_until(provider_ids, now) if breaker is not None else {}
        return {pid: summarize(minutes.get(pid, ()), shared.get(pid, opened.get(pid)), now, self.degraded_rate)
                for pid in provider_ids}


_windows = None


def configure(flush_seconds, degraded_rate):
    """This process's windows (the app factory calls it; a fork starts from the parent's empty ones)."""
    global _windows
    _windows = HealthWindows(flush_seconds, degraded_rate)
    events.call_finished.connect(on_call_finished)
    return _windows


def windows():
    return _windows


def error_text(code, message):
    return f"{code}: {message}" if message else code


def on_call_finished(record):
    """Count a finished call against its provider (a provider's failure as an error). A call that
    never reached it (refused by a key's limits, a bad body) has no adapter and is not counted."""
    if record.provider_id is None or record.adapter is None or _windows is None:
        return
    error = error_text(record.error_code, record.error_message) if record.fault else None
    _windows.observe(record.provider_id, record.duration_ms, record.ttft_ms, error)


def observe_attempt(provider_id, latency_ms, error):
    """A routed call's failed attempt that has no row of its own (the call moved on)."""
    if _windows is not None:
        _windows.observe(provider_id, latency_ms, None, error)


def read(provider_ids, breaker=None):
    """{provider id: health} (see summarize), or every provider healthy-and-unknown before configure."""
    if _windows is None:
        return {pid: summarize(()) for pid in provider_ids}
    return _windows.read(provider_ids, breaker)
