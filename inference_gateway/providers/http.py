"""Upstream HTTP: one pooled `requests.Session` per process, timeouts and the retry policy."""
import contextvars
import email.utils
import logging
import os
import random
import threading
import time
from dataclasses import dataclass
from typing import Optional

import requests

from inference_gateway.providers.fast_http import PoolCachingAdapter

log = logging.getLogger(__name__)

# Every upstream request says how many gateways it has passed, counting this one; a gateway refuses
# a request that arrives having passed MAX_HOPS (a provider pointing back at a gateway loops).
HOPS_HEADER = "X-Inference-Gateway-Hops"
# The hops the request being served arrived with, set by the web layer for each request; a call
# runs in the request's own thread or greenlet, which a context variable follows.
_inbound_hops = contextvars.ContextVar("inbound_hops", default=0)
_HOP_VALUES = tuple(str(n + 1) for n in range(64))


def set_inbound_hops(hops):
    _inbound_hops.set(hops)


def outbound_hops():
    """The hop header's value for a request this call sends upstream."""
    hops = _inbound_hops.get()
    return _HOP_VALUES[hops] if hops < len(_HOP_VALUES) else str(hops + 1)


_lock = threading.Lock()
_session = None
_session_pid = None


@dataclass
class HttpSettings:
    connect_timeout: float = 5.0
    read_timeout: float = 120.0
    max_retries: int = 2
    backoff_base: float = 0.25
    backoff_max: float = 4.0
    # A provider asking us to wait longer than this gets its 429 passed on instead of a stalled request.
    retry_after_max: float = 10.0
    pool_size: int = 1000
    # Seconds without a byte between a stream's events (and before the first) before it ends with
    # UPSTREAM_TIMEOUT (STREAM_IDLE_TIMEOUT); also the socket's read timeout while streaming.
    stream_idle_timeout: float = 60.0
    # The longest SSE line and the largest JSON reply taken from a provider (a 502 beyond): a
    # worker's memory must not follow whatever an upstream sends (UPSTREAM_MAX_LINE_BYTES,
    # UPSTREAM_MAX_REPLY_BYTES).
    max_line_bytes: int = 16 * 1024 * 1024
    max_reply_bytes: int = 64 * 1024 * 1024


def get_session(pool_size=1000):
    """The process's Session, created lazily so no socket is shared across a gunicorn fork."""
    global _session, _session_pid
    if _session is None or _session_pid != os.getpid():
        with _lock:
            if _session is None or _session_pid != os.getpid():
                session = requests.Session()
                # Retries are ours (they read provider bodies); urllib3 must not retry behind our back.
                adapter = PoolCachingAdapter(pool_connections=32, pool_maxsize=pool_size, max_retries=0)
                session.mount("http://", adapter)
                session.mount("https://", adapter)
                # fast_http.send() applies the environment's proxies and CA bundle once per origin
                # (environment_for); requests would re-read them, and ~/.netrc, on every call.
                session.trust_env = False
                _session, _session_pid = session, os.getpid()
    return _session


def parse_retry_after(headers) -> Optional[float]:
    """Seconds to wait from `retry-after-ms` or `Retry-After` (seconds or an HTTP date), if present."""
    ms = headers.get("retry-after-ms")
    if ms:
        try:
            return max(0.0, float(ms) / 1000.0)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def backoff_delay(attempt, settings: HttpSettings):
    """Exponential backoff with full jitter."""
    return random.uniform(0, min(settings.backoff_max, settings.backoff_base * (2 ** attempt)))
