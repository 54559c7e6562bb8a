"""Each fast path against the public way it replaces, timed in one process, round by round.

    python bench/fast_paths.py [--rounds 15] [--seconds 0.05] [--markdown]

For every fast path the gateway keeps (bench/README.md lists them), and the two it dropped in
issue 21: microseconds per use done the fast way and done the way the library documents, timed back to back with the order alternating
each round, so that a machine whose speed drifts moves both sides alike. The table gives the
medians and the range of the per-round saving. A chat call uses each once (the resolution only on
a cache miss, see `resolve cache`); the gateway's own CPU per chat call is about 1 ms over the
pass-through's (bench/results/latest.md, target 1a), so 10 us is about 1 % of it.
"""
import argparse
import logging
import os
import statistics
import sys
import tempfile
import time

import requests
from requests.adapters import HTTPAdapter

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from inference_gateway import create_app  # noqa: E402
from inference_gateway.api.fast_chat import load_chat  # noqa: E402
from inference_gateway.api.schemas import chat_schema  # noqa: E402
from inference_gateway.gateway.resolve import resolve  # noqa: E402
from inference_gateway.providers import fast_http, http  # noqa: E402
from inference_gateway.store import db, provider_store, request_log  # noqa: E402
from inference_gateway.store.fast import PreparedSQL  # noqa: E402
from inference_gateway.store.request_log import CallRecord  # noqa: E402
from inference_gateway.store.resolve_cache import ResolveCache  # noqa: E402
from inference_gateway.store.tables import LOG_COLUMNS, Provider, RequestLog  # noqa: E402
from inference_gateway.web import observability  # noqa: E402

# The bench's chat body (bench/run.py), as a client sends it.
BODY = {"model": "openai/gpt-4o", "messages": [{"role": "user", "content": "Write one sentence about foxes."}],
        "maxTokens": 64}
UPSTREAM = "http://127.0.0.1:9/v1/chat/completions"


class Canned:
    """An adapter that answers every request at once with the same 200: what is timed is the
    client side's preparation, not a socket."""

    def send(self, request, **kwargs):
        resp = requests.Response()
        resp.status_code, resp.url, resp.request, resp._content = 200, request.url, request, b"{}"
        return resp


class CannedPoolCaching(Canned, fast_http.PoolCachingAdapter):
    pass


class CannedHTTPAdapter(Canned, HTTPAdapter):
    pass


def sessions():
    fast = http.get_session()
    fast.mount("http://", CannedPoolCaching(max_retries=0))
    slow = requests.Session()  # requests as documented: trust_env, Session.request
    slow.mount("http://", CannedHTTPAdapter(max_retries=0))
    return fast, slow


def _find_sql(p):
    columns = ", ".join(f'"{f.column_name}"' for f in Provider._meta.sorted_fields)
    return (f'SELECT {columns} FROM "{Provider._meta.table_name}" WHERE "id" = {p} OR "name_key" = {p} '
            f'ORDER BY CASE WHEN "id" = {p} THEN 0 ELSE 1 END LIMIT 1')


_find = PreparedSQL(_find_sql)


def dropped_find(key):
    """provider_store.find as it was until issue 21 (dropped): the statement compiled once, the
    row made a Provider through peewee's private constructor flags."""
    row = db.database.execute_sql(_find.sql(), (key, key.lower(), key)).fetchone()
    provider = Provider(__no_default__=1, **{
        f.name: f.python_value(value) for f, value in zip(Provider._meta.sorted_fields, row)})
    provider._dirty.clear()
    return provider


def dropped_log_request(log, fields):
    """observability.log_request as it was until issue 21 (dropped): the record made by hand,
    skipping logging's walk up the stack for the caller's file and line."""
    message = " ".join(f"{k}={v}" for k, v in fields.items() if v is not None)
    log.handle(log.makeRecord(log.name, logging.INFO, __file__, 0, message, None, None, extra={"fields": fields}))


def null_access_log():
    """The access logger writing formatted lines to /dev/null (levels as in production)."""
    log = observability.log
    handler = logging.StreamHandler(open(os.devnull, "w"))
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    log.handlers, log.propagate = [handler], False
    log.setLevel(logging.INFO)
    return log


def cases(fast_session, slow_session):
    """(name, home, fast, slow): each a callable doing one use."""
    record = CallRecord(endpoint="chat", provider_id="p1", provider_name="openai", model="gpt-4o")
    values = record.row()
    cache = ResolveCache(60)
    fields = {"request_id": "r" * 32, "method": "POST", "path": "/api/v1/inference/chat", "status": 200,
              "duration_ms": 3.1, "client": "127.0.0.1", "provider": "openai", "model": "gpt-4o",
              "call_id": "c" * 16, "call_status": "success", "upstream_ms": 1.2, "input_tokens": 11,
              "output_tokens": 20}
    log = null_access_log()
    prep = requests.Request("POST", UPSTREAM).prepare()
    pool_fast, pool_slow = CannedPoolCaching(max_retries=0), CannedHTTPAdapter(max_retries=0)
    headers = {"Authorization": "Bearer sk-test"}
    own = request_log._connection

    def own_cursor():
        with own.cursor():
            pass

    def pooled_cursor():
        with db.database.connection_context():
            db.database.cursor()

    return [
        ("chat body validation", "api/fast_chat.py load_chat",
         lambda: load_chat(BODY), lambda: chat_schema.load(BODY)),
        ("provider lookup (dropped)", "was store/provider_store.py _find, _provider_from",
         lambda: dropped_find("openai"), lambda: provider_store.find("openai")),
        ("resolve cache hit", "store/resolve_cache.py",
         lambda: resolve("openai/gpt-4o", None, cache), lambda: resolve("openai/gpt-4o", None, None)),
        ("request-log INSERT SQL", "store/fast.py PreparedSQL",
         lambda: request_log._insert.sql(), lambda: RequestLog.insert(values).sql()),
        ("writer's own connection", "store/fast.py OwnConnection",
         own_cursor, pooled_cursor),
        ("upstream request preparation", "providers/fast_http.py send",
         lambda: fast_http.send(fast_session, "POST", UPSTREAM, json_body=BODY, headers=headers, timeout=(5, 120)),
         lambda: slow_session.request("POST", UPSTREAM, json=BODY, headers=headers, timeout=(5, 120),
                                      allow_redirects=False)),
        ("upstream pool lookup", "providers/fast_http.py PoolCachingAdapter",
         lambda: pool_fast.get_connection_with_tls_context(prep, True),
         lambda: pool_slow.get_connection_with_tls_context(prep, True)),
        ("access log line (dropped)", "was web/observability.py log_request",
         lambda: dropped_log_request(log, fields), lambda: observability.log_request(fields)),
    ]


def per_use(fn, seconds):
    """Microseconds per call of `fn`, over about `seconds` of calls."""
    n, started = 0, time.perf_counter()
    while True:
        for _ in range(20):
            fn()
        n += 20
        elapsed = time.perf_counter() - started
        if elapsed >= seconds:
            return elapsed / n * 1e6


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--seconds", type=float, default=0.05, help="per side per round")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="igw-fast-") as tmp:
        app = create_app({"DATABASE_URL": f"sqlite:///{tmp}/fast.db", "DATA_DIR": tmp, "LOG_LEVEL": "warning",
                          "SQLITE_SYNCHRONOUS": "OFF"})
        assert set(LOG_COLUMNS) <= set(CallRecord.__dataclass_fields__)
        with app.app_context(), db.connection():
            provider_store.create({"name": "openai", "type": "openai", "env_var": "OPENAI_API_KEY"})
            all_cases = cases(*sessions())
            for _, _, fast, slow in all_cases:  # warm up, and check both sides work
                fast(), slow()
            timed = {name: ([], []) for name, _, _, _ in all_cases}
            for round_ in range(args.rounds):
                for name, _, fast, slow in all_cases:
                    sides = [(0, fast), (1, slow)] if round_ % 2 == 0 else [(1, slow), (0, fast)]
                    for side, fn in sides:
                        timed[name][side].append(per_use(fn, args.seconds))
                print(f"round {round_ + 1}/{args.rounds}", file=sys.stderr, flush=True)
    print("| fast path | home | fast us | public way us | saved us per use (median; min to max over rounds) |")
    print("|---|---|---|---|---|")
    for name, home, _, _ in all_cases:
        fast, slow = timed[name]
        saved = [s - f for f, s in zip(fast, slow)]
        print(f"| {name} | {home} | {statistics.median(fast):.1f} | {statistics.median(slow):.1f} | "
              f"{statistics.median(saved):.1f} ({min(saved):.1f} to {max(saved):.1f}) |")
    print(f"\n{args.rounds} rounds of about {args.seconds * 1000:.0f} ms a side, order alternating; "
          f"load average {os.getloadavg()[0]:.2f} at the end.")


if __name__ == "__main__":
    main()
