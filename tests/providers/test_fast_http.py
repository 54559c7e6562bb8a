"""providers/fast_http.py against requests' own way: the same request on the wire, the same
proxies and CA bundle, the same connection pool."""
import json

import pytest
import requests
from requests.adapters import HTTPAdapter

from inference_gateway.providers import fast_http
from inference_gateway.providers.http import get_session

URL = "https://api.example.com/v1/chat/completions"


class Capture(HTTPAdapter):
    """Keeps what it was asked to send and answers 200 at once."""

    def send(self, request, **kwargs):
        self.sent = (request, kwargs)
        resp = requests.Response()
        resp.status_code, resp.request, resp._content = 200, request, b"{}"
        return resp


@pytest.fixture
def session():
    session = get_session()
    capture = Capture(max_retries=0)
    saved = dict(session.adapters)
    session.mount("https://", capture)
    yield session, capture
    session.adapters.clear()
    session.adapters.update(saved)


CASES = [
    ("POST", URL, {"json_body": {"model": "gpt-4o", "messages": [{"role": "user", "content": "Héllo"}]},
                   "headers": {"Authorization": "Bearer sk-test"}}),
    ("POST", URL, {"json_body": {"n": 1}, "headers": {"x-api-key": "k", "Content-Type": "application/json"},
                   "params": {"alt": "sse", "key": "a b/c"}}),
    ("POST", URL + "?alt=sse", {"json_body": [], "params": {"page": "2"}}),
    ("GET", "https://api.example.com/v1/models", {"params": {"limit": 1000}, "headers": {"Accept": "text/plain"}}),
    ("GET", "https://api.example.com/v1/models", {}),
    ("POST", URL, {}),
    ("DELETE", "https://api.example.com/v1/files/f 1", {}),
]


@pytest.mark.parametrize("method, url, kw", CASES)
def test_a_request_goes_out_as_session_request_would_send_it(session, method, url, kw):
    session, capture = session
    fast_http.send(session, method, url, timeout=(1, 2), **kw)
    fast, sent_kw = capture.sent
    slow = session.prepare_request(requests.Request(
        method, url, json=kw.get("json_body"), params=kw.get("params"), headers=kw.get("headers")))
    assert (fast.method, fast.url) == (slow.method, slow.url)
    # The body is compact JSON (requests puts spaces after separators): the same value.
    if slow.body is None:
        assert fast.body is None
    else:
        assert json.loads(fast.body) == json.loads(slow.body)
    assert fast.headers.get("Content-Length") == (str(len(fast.body or b"")) if "Content-Length" in slow.headers
                                                  else None)
    drop = {"content-length"}
    assert ({k.lower(): v for k, v in fast.headers.items() if k.lower() not in drop}
            == {k.lower(): v for k, v in slow.headers.items() if k.lower() not in drop})
    assert sent_kw["timeout"] == (1, 2)
    # No hooks to run and no cookies sent: one caller's provider cookies must not reach the next.
    assert fast.hooks == {"response": []} and "Cookie" not in fast.headers


ENVIRONMENTS = [
    {},
    {"HTTPS_PROXY": "http://proxy.internal:3128"},
    {"HTTPS_PROXY": "http://proxy.internal:3128", "NO_PROXY": "api.example.com"},
    {"ALL_PROXY": "http://all.internal:8080", "REQUESTS_CA_BUNDLE": "/etc/ssl/corp.pem"},
    {"https_proxy": "http://lower.internal:1", "CURL_CA_BUNDLE": "/etc/ssl/curl.pem"},
]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_environment_applies_as_requests_reads_it(monkeypatch, env):
    for name in ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "NO_PROXY", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE",
                 "https_proxy", "http_proxy", "all_proxy", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    fast_http._environment.cache_clear()
    try:
        proxies, verify = fast_http.environment_for(URL)
        settings = requests.Session().merge_environment_settings(URL, {}, None, None, None)
        assert {k: v for k, v in proxies.items() if v} == {k: v for k, v in settings["proxies"].items() if v}
        assert verify == settings["verify"]
    finally:
        fast_http._environment.cache_clear()


def test_the_remembered_pool_is_the_one_requests_picks():
    cached, plain = fast_http.PoolCachingAdapter(max_retries=0), HTTPAdapter(max_retries=0)
    for url in ("https://api.example.com/v1/a", "https://api.example.com:443/v1/b",
                "http://127.0.0.1:8080/x", "https://other.example.com/y"):
        prep = requests.Request("POST", url).prepare()
        pool = cached.get_connection_with_tls_context(prep, True)
        assert cached.get_connection_with_tls_context(prep, True) is pool
        expected = plain.get_connection_with_tls_context(prep, True)
        assert (pool.scheme, pool.host, pool.port) == (expected.scheme, expected.host, expected.port)
    # Closed (Session.close), it forgets them as requests' adapter does.
    prep = requests.Request("GET", "https://api.example.com/").prepare()
    old = cached.get_connection_with_tls_context(prep, True)
    cached.close()
    assert cached.get_connection_with_tls_context(prep, True) is not old


def test_past_the_managers_pool_count_it_asks_the_manager_again():
    cached = fast_http.PoolCachingAdapter(pool_connections=2, max_retries=0)
    preps = [requests.Request("GET", f"https://host{i}.example.com/").prepare() for i in range(3)]
    pools = [cached.get_connection_with_tls_context(prep, True) for prep in preps]
    # The manager kept the last two (urllib3 left the first one open); asked again, each origin
    # gets the manager's pool, the first one a new one.
    for prep in preps:
        pool = cached.get_connection_with_tls_context(prep, True)
        assert pool is HTTPAdapter.get_connection_with_tls_context(cached, prep, True)
    assert len({id(pool) for pool in pools}) == 3
