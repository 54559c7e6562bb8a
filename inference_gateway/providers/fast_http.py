"""The upstream HTTP fast paths, each measured against requests' own way (bench/README.md,
bench/fast_paths.py) and held to it by tests/providers/test_fast_http.py: a JSON request prepared
without `Session.request`, the environment's proxies read once per origin, the connection pool
remembered per origin. Everything here uses requests' public API."""
import functools
import json
import os
from urllib.parse import urlencode, urlsplit

import requests
from requests.adapters import HTTPAdapter
from requests.structures import CaseInsensitiveDict
from requests.utils import get_environ_proxies, requote_uri


class PoolCachingAdapter(HTTPAdapter):
    """requests' adapter, remembering the connection pool it picked for each origin.

    requests resolves the pool on every call (URL parse, pool-key normalisation, TLS context):
    about 3 % of a chat call's CPU for an answer that only changes when the origin does. Calls
    through a proxy keep requests' own resolution."""

    def __init__(self, *args, pool_connections=requests.adapters.DEFAULT_POOLSIZE, **kwargs):
        super().__init__(*args, pool_connections=pool_connections, **kwargs)
        # As many origins as the pool manager keeps pools for: while the two agree on a
        # pool, it is the manager's; past that, the manager evicts one (urllib3 leaves it open)
        # and this forgets them all and asks again.
        self._max_origins = pool_connections
        self._pools = {}

    def get_connection_with_tls_context(self, request, verify, proxies=None, cert=None):
        if proxies:
            return super().get_connection_with_tls_context(request, verify, proxies=proxies, cert=cert)
        parts = urlsplit(request.url)
        key = (parts.scheme, parts.netloc, verify, cert)
        pool = self._pools.get(key)
        # A pool that was closed (pool.pool is None then) is resolved afresh.
        if pool is None or pool.pool is None:
            if len(self._pools) >= self._max_origins:
                self._pools.clear()
            pool = self._pools[key] = super().get_connection_with_tls_context(request, verify, cert=cert)
        return pool

    def close(self):
        self._pools.clear()
        super().close()


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
