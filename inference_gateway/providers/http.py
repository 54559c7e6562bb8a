"""Upstream HTTP: one pooled `requests.Session` per process, timeouts and the retry policy."""
import email.utils
import functools
import json
import logging
import os
import random
import threading
import time
from dataclasses import dataclass
from typing import Optional
from urllib.parse import urlencode, urlsplit

import requests
from requests.adapters import HTTPAdapter
from requests.structures import CaseInsensitiveDict
from requests.utils import get_environ_proxies, requote_uri

log = logging.getLogger(__name__)

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


class PoolCachingAdapter(HTTPAdapter):
    """requests' adapter, remembering the connection pool it picked for each origin.

    requests resolves the pool on every call (URL parse, pool-key normalisation, TLS context):
    about 3 % of a chat call's CPU for an answer that only changes when the origin does. Calls
    through a proxy keep requests' own resolution."""

    MAX_ORIGINS = 256

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._pools = {}

    def get_connection_with_tls_context(self, request, verify, proxies=None, cert=None):
        if proxies:
            return super().get_connection_with_tls_context(request, verify, proxies=proxies, cert=cert)
        parts = urlsplit(request.url)
        key = (parts.scheme, parts.netloc, verify, cert)
        pool = self._pools.get(key)
        # A pool the manager evicted or closed (pool.pool is None then) is resolved afresh.
        if pool is None or pool.pool is None:
            if len(self._pools) >= self.MAX_ORIGINS:
                self._pools.clear()
            pool = self._pools[key] = super().get_connection_with_tls_context(request, verify, cert=cert)
        return pool


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
                # send() applies the environment's proxies and CA bundle once per origin
                # (environment_for); requests would re-read them, and ~/.netrc, on every call.
                session.trust_env = False
                _session, _session_pid = session, os.getpid()
    return _session


def send(session, method, url, *, json_body=None, data=None, files=None, params=None, headers=None,
         stream=False, timeout=None):
    """Send one request over the session's pooled connections; no redirects are followed.

    A JSON body (every chat, embedding and image call) is prepared here: `Session.request` spent
    about 0.2 ms a call merging settings, re-parsing the URL and running `typing` Protocol checks,
    a tenth of the gateway's own CPU per call. Forms and uploads go through requests' own
    preparation. Cookies are neither sent nor kept: one caller's provider cookies must not reach
    the next caller's call."""
    if data is not None or files is not None:
        prep = session.prepare_request(
            requests.Request(method, url, data=data, files=files, params=params, headers=headers))
    else:
        prep = requests.PreparedRequest()
        prep.method = method
        prep.url = requote_uri(url + ("&" if "?" in url else "?") + urlencode(params) if params else url)
        prep.headers = CaseInsensitiveDict(session.headers)
        prep.body = None
        if json_body is not None:
            prep.body = json.dumps(json_body, separators=(",", ":"), allow_nan=False).encode()
            prep.headers["Content-Type"] = "application/json"
        if prep.body is not None or method not in ("GET", "HEAD"):
            prep.headers["Content-Length"] = str(len(prep.body or b""))
        prep.headers.update(headers or {})
        prep.hooks = {"response": []}
    proxies, verify = environment_for(prep.url)
    return session.get_adapter(prep.url).send(prep, stream=stream, timeout=timeout, verify=verify,
                                              proxies=proxies)


def environment_for(url):
    """(proxies, CA bundle) the environment sets for `url`'s origin: HTTPS_PROXY / HTTP_PROXY /
    ALL_PROXY minus NO_PROXY, and REQUESTS_CA_BUNDLE or CURL_CA_BUNDLE, as `requests` honours them.
    Read once per origin and process: `requests` re-reads the environment on every call."""
    parts = urlsplit(url)
    return _environment(f"{parts.scheme}://{parts.netloc}")


@functools.lru_cache(maxsize=256)
def _environment(origin):
    verify = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True
    return get_environ_proxies(origin + "/"), verify


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
