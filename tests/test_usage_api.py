"""GET /usage and /requests/<id>: filters, cursor, summary and breakdowns, bodies, retention."""
import random
import threading
from datetime import datetime, timedelta

import pytest

from inference_gateway.store import provider_store
from inference_gateway.store.db import connection
from inference_gateway.store.tables import RequestLog, utcnow
from inference_gateway.store.request_log import CallRecord

from .mock_provider import MockProvider, Script, completion


@pytest.fixture
def providers(app):
    with app.app_context(), connection():
        openai = provider_store.create({"name": "openai", "type": "openai", "env_var": "OPENAI_API_KEY"})
        anthropic = provider_store.create({"name": "anthropic", "type": "anthropic",
                                           "env_var": "ANTHROPIC_API_KEY"})
    return openai, anthropic


@pytest.fixture
def add(app):
    """Insert one log row as the writer would, with a chosen time and duration; returns the record."""

    def add(created, provider=None, model="gpt-4o", endpoint="chat", status="success", tokens=(10, 5),
            duration=100):
        # Token details derived from the counts, so every sum below checks them too.
        record = CallRecord(endpoint=endpoint, created=created, model=model, status=status,
                            input_tokens=tokens[0], output_tokens=tokens[1], duration_ms=duration,
                            cache_read_tokens=tokens[0] // 3, cache_write_tokens=tokens[0] // 5,
                            reasoning_tokens=tokens[1] // 2)
        if provider is not None:
            record.provider_id, record.provider_name = provider.id, provider.name
        if status == "error":
            record.http_status, record.error_code, record.error_message = 502, "UPSTREAM_ERROR", "boom"
        with connection():
            RequestLog.insert(**record.row()).execute()
        return record

    return add


def usage(api, query="", status=200):
    code, body = api.get("/usage" + ("?" + query if query else ""))
    assert code == status, body
    return body["data"] if code == 200 else body["error"]


def expected(records):
    inp = sum(r.input_tokens for r in records)
    out = sum(r.output_tokens for r in records)
    return {"totalRequests": len(records), "totalErrors": sum(r.status == "error" for r in records),
            "totalInputTokens": inp, "totalOutputTokens": out, "totalTokens": inp + out,
            "totalCacheReadTokens": sum(r.cache_read_tokens for r in records),
            "totalCacheWriteTokens": sum(r.cache_write_tokens for r in records),
            "totalReasoningTokens": sum(r.reasoning_tokens for r in records),
            "totalCostUsd": round(sum(r.cost_usd or 0 for r in records), 9),
            "unpricedRequests": sum(r.cost_usd is None and r.provider_id is not None for r in records)}


def without_avg(summary):
    return {k: v for k, v in summary.items() if k != "avgDurationMs"}


def test_seed_example_since_and_provider(api, add, providers):
    openai, anthropic = providers
    before = add(datetime(2026, 2, 28, 23, 59, 59), openai, tokens=(1000, 1000))
    first = add(datetime(2026, 3, 1, 0, 0, 0), openai, tokens=(15, 12), duration=400)
    failed = add(datetime(2026, 3, 2, 9, 30), openai, status="error", tokens=(0, 0), duration=500)
    add(datetime(2026, 3, 3), anthropic, model="claude-sonnet-4-20250514")
    data = usage(api, "since=2026-03-01&provider=openai")
    assert data["summary"] == {"totalRequests": 2, "totalErrors": 1, "totalInputTokens": 15,
                               "totalOutputTokens": 12, "totalTokens": 27, "totalCacheReadTokens": 5,
                               "totalCacheWriteTokens": 3, "totalReasoningTokens": 6, "avgDurationMs": 450,
                               "totalCostUsd": 0.0, "unpricedRequests": 2}
    assert [r["id"] for r in data["requests"]] == [failed.id, first.id]
    assert before.id not in {r["id"] for r in data["requests"]}
    row = data["requests"][0]
    assert row == {"id": failed.id, "created": "2026-03-02T09:30:00.000Z", "providerId": openai.id,
                   "provider": "openai", "model": "gpt-4o", "endpoint": "chat", "status": "error",
                   "httpStatus": 502, "inputTokens": 0, "outputTokens": 0, "totalTokens": 0,
                   "cacheReadTokens": 0, "cacheWriteTokens": 0, "reasoningTokens": 0,
                   "durationMs": 500, "ttftMs": None, "stream": False, "errorCode": "UPSTREAM_ERROR",
                   "errorMessage": "boom", "keyId": None, "costUsd": None, "prices": None}
    assert data["nextCursor"] is None


def test_provider_filter_accepts_id_or_any_case_name(api, add, providers):
    openai, anthropic = providers
    add(datetime(2026, 3, 1), openai)
    add(datetime(2026, 3, 1), anthropic)
    assert usage(api, f"provider={openai.id}")["summary"]["totalRequests"] == 1
    assert usage(api, "provider=OpenAI")["requests"][0]["providerId"] == openai.id


def test_breakdowns_by_provider_and_model(api, add, providers):
    openai, anthropic = providers
    records = [add(datetime(2026, 3, 1, 1), openai, tokens=(10, 1)),
               add(datetime(2026, 3, 1, 2), openai, model="gpt-4o-mini", status="error", tokens=(0, 0)),
               add(datetime(2026, 3, 1, 3), openai, tokens=(20, 2)),
               add(datetime(2026, 3, 1, 4), anthropic, model="claude-3-5-haiku-latest", tokens=(7, 3))]
    data = usage(api)
    assert without_avg(data["summary"]) == expected(records)
    by_provider = {p["provider"]: p for p in data["byProvider"]}
    assert [p["provider"] for p in data["byProvider"]] == ["openai", "anthropic"]
    assert by_provider["openai"]["providerId"] == openai.id
    assert without_avg(by_provider["openai"]) == {"providerId": openai.id, "provider": "openai",
                                                  **expected(records[:3])}
    by_model = {m["model"]: without_avg(m) for m in data["byModel"]}
    assert by_model == {"gpt-4o": {"model": "gpt-4o", **expected([records[0], records[2]])},
                        "gpt-4o-mini": {"model": "gpt-4o-mini", **expected([records[1]])},
                        "claude-3-5-haiku-latest": {"model": "claude-3-5-haiku-latest",
                                                    **expected([records[3]])}}


def test_model_endpoint_and_status_filters(api, add, providers):
    openai, _ = providers
    chat = add(datetime(2026, 3, 1, 1), openai)
    embed = add(datetime(2026, 3, 1, 2), openai, model="text-embedding-3-small", endpoint="embed", tokens=(8, 0))
    failed = add(datetime(2026, 3, 1, 3), openai, endpoint="chat_stream", status="error", tokens=(0, 0))
    cancelled = add(datetime(2026, 3, 1, 4), openai, endpoint="chat_stream", status="cancelled")
    for query, records in [("model=text-embedding-3-small", [embed]), ("endpoint=chat_stream", [cancelled, failed]),
                           ("status=error", [failed]), ("status=cancelled&endpoint=chat_stream", [cancelled]),
                           ("model=gpt-4o&endpoint=chat", [chat]), ("endpoint=images", [])]:
        data = usage(api, query)
        assert [r["id"] for r in data["requests"]] == [r.id for r in records], query
        assert without_avg(data["summary"]) == expected(records), query
    assert usage(api, "endpoint=images")["summary"]["avgDurationMs"] == 0


def test_until_date_is_inclusive_of_that_whole_day(api, add, providers):
    openai, _ = providers
    last = add(datetime(2026, 3, 5, 23, 59, 59, 999000), openai)
    add(datetime(2026, 3, 6, 0, 0, 0), openai)
    assert [r["id"] for r in usage(api, "until=2026-03-05")["requests"]] == [last.id]
    # A date-time `until` includes a row at exactly that moment.
    assert usage(api, "until=2026-03-05T23:59:59.999Z")["summary"]["totalRequests"] == 1
    assert usage(api, "until=2026-03-05T23:59:59.998Z")["summary"]["totalRequests"] == 0
    assert usage(api, "since=2026-03-05&until=2026-03-05")["summary"]["totalRequests"] == 1


def test_offsets_are_converted_to_utc(api, add, providers):
    openai, _ = providers
    add(datetime(2026, 3, 5, 10, 0), openai)
    assert usage(api, "since=2026-03-05T11:00:00%2B02:00")["summary"]["totalRequests"] == 1
    assert usage(api, "since=2026-03-05T11:00:00Z")["summary"]["totalRequests"] == 0


def test_summary_is_exact_for_ranges_that_cut_through_hours(api, add, providers):
    # Whole hours come from the rollup, the cut hours from the rows: every split must add up.
    rng = random.Random(5)
    openai, anthropic = providers
    start = datetime(2026, 3, 1)
    records = [add(start + timedelta(seconds=rng.uniform(0, 3 * 86400)), rng.choice(providers),
                   status=rng.choice(["success", "success", "error"]), tokens=(rng.randint(1, 99), rng.randint(0, 9)))
               for _ in range(120)]
    cases = [(None, None), (start + timedelta(hours=5), None), (None, start + timedelta(hours=30, minutes=7))]
    for _ in range(12):
        a, b = sorted(start + timedelta(seconds=rng.uniform(-3600, 3 * 86400 + 3600)) for _ in range(2))
        cases.append((a, b))
    cases.append((start + timedelta(hours=2, minutes=10), start + timedelta(hours=2, minutes=50)))
    for since, until in cases:
        query = "&".join(f"{name}={value.isoformat(timespec='microseconds')}Z"
                         for name, value in (("since", since), ("until", until)) if value)
        inside = [r for r in records if (not since or r.created >= since) and (not until or r.created <= until)]
        assert without_avg(usage(api, query)["summary"]) == expected(inside), query
        theirs = [r for r in inside if r.provider_id == anthropic.id]
        assert without_avg(usage(api, query + "&provider=anthropic")["summary"]) == expected(theirs), query


def test_cursor_walks_every_row_once_newest_first(api, add, providers):
    openai, _ = providers
    same = datetime(2026, 3, 1, 12)
    # Several rows share a timestamp: the id breaks the tie, so none is skipped or repeated.
    records = [add(same, openai) for _ in range(5)] + [add(same + timedelta(minutes=i), openai) for i in range(1, 6)]
    seen, cursor, pages = [], None, 0
    while True:
        data = usage(api, "limit=3" + (f"&cursor={cursor}" if cursor else ""))
        assert data["summary"]["totalRequests"] == 10
        seen += [r["id"] for r in data["requests"]]
        pages += 1
        cursor = data["nextCursor"]
        if cursor is None:
            break
    assert pages == 4 and len(seen) == 10
    newest_first = sorted(records, key=lambda r: (r.created, r.id), reverse=True)
    assert seen == [r.id for r in newest_first]


def test_cursor_keeps_the_filters_of_the_query(api, add, providers):
    openai, anthropic = providers
    for i in range(4):
        add(datetime(2026, 3, 1, i), openai)
        add(datetime(2026, 3, 1, i), anthropic)
    first = usage(api, "provider=anthropic&limit=2")
    rest = usage(api, f"provider=anthropic&limit=2&cursor={first['nextCursor']}")
    assert {r["provider"] for r in first["requests"] + rest["requests"]} == {"anthropic"}
    assert len(first["requests"] + rest["requests"]) == 4 and rest["nextCursor"] is None


def test_limit_defaults_to_50(api, add, providers):
    for i in range(52):
        add(datetime(2026, 3, 1) + timedelta(seconds=i), providers[0])
    data = usage(api)
    assert len(data["requests"]) == 50 and data["nextCursor"]
    assert len(usage(api, "limit=1000")["requests"]) == 52


@pytest.mark.parametrize("query,param", [
    ("since=yesterday", "since"), ("until=2026-13-01", "until"), ("since=2026-03-01T25:00", "since"),
    ("limit=0", "limit"), ("limit=1001", "limit"), ("limit=ten", "limit"), ("limit=2.5", "limit"),
    ("endpoint=completions", "endpoint"), ("status=ok", "status"), ("cursor=not-a-cursor", "cursor"),
    ("cursor=", "cursor"), ("model=", "model"), ("provder=openai", "provder"),
    ("since=2026-03-02&until=2026-03-01", "until"), ("status=error&status=success", "status"),
    ("until=9999-12-31", "until"), ("since=0001-01-01T00:00:00%2B01:00", "since"), ("since=1969-12-31", "since"),
])
def test_malformed_filters_are_400_naming_the_parameter(api, query, param):
    error = usage(api, query, status=400)
    assert error["code"] == "BAD_REQUEST"
    assert error["message"].startswith(param + ":"), error


def test_unknown_provider_is_404(api, providers):
    error = usage(api, "provider=nope", status=404)
    assert error["code"] == "NOT_FOUND" and "nope" in error["message"]


def test_a_deleted_providers_rows_are_found_by_its_id(api, add, providers):
    openai, _ = providers
    add(datetime(2026, 3, 1), openai)
    assert api.delete(f"/providers/{openai.id}")[0] == 200
    data = usage(api, f"provider={openai.id}")
    assert data["summary"]["totalRequests"] == 1
    assert data["byProvider"] == [{"providerId": openai.id, "provider": "openai", **data["summary"]}]
    usage(api, "provider=openai", status=404)


def test_request_by_id_and_unknown_id(api, add, providers):
    record = add(datetime(2026, 3, 1), providers[0])
    code, body = api.get(f"/requests/{record.id}")
    assert code == 200
    assert body["data"]["id"] == record.id and body["data"]["provider"] == "openai"
    assert "requestBody" not in body["data"] and "responseBody" not in body["data"]
    code, body = api.get("/requests/ffffffffffffffff")
    assert code == 404 and body == {"success": False, "error": {
        "code": "NOT_FOUND", "message": "request 'ffffffffffffffff' not found "
                                        "(it may be older than the retention period)"}}


@pytest.fixture
def script(monkeypatch):
    script = Script()
    monkeypatch.setattr(provider_store, "adapter_for", lambda provider, settings: MockProvider(
        provider_store.config_of(provider), settings, script))
    return script


HELLO = {"model": "gpt-4o", "messages": [{"role": "user", "content": "Hello"}]}


def test_bodies_are_not_stored_by_default(api, script, providers):
    script.enqueue(completion())
    _, body = api.post("/chat", json=HELLO)
    data = api.get(f"/requests/{body['data']['requestId']}")[1]["data"]
    assert "requestBody" not in data and "responseBody" not in data


@pytest.fixture
def bodies_config(app_config):
    app_config.update(LOG_BODIES=True, LOG_BODY_MAX_BYTES=200)
    return app_config


def test_stored_bodies_are_capped_and_never_hold_keys(bodies_config, api, script, providers):
    script.enqueue(completion())
    _, body = api.post("/chat", json=HELLO)
    data = api.get(f"/requests/{body['data']['requestId']}")[1]["data"]
    assert '"content": "Hello"' in data["requestBody"]
    assert "The capital of France is Paris." in data["responseBody"]
    # A key pasted into the body is redacted even though the request is rejected.
    _, body = api.post("/chat", json={**HELLO, "apiKey": "sk-live-secret", "x-api-key": "sk-other"})
    rows = usage(api, "status=error")["requests"]
    stored = api.get(f"/requests/{rows[0]['id']}")[1]["data"]["requestBody"]
    assert "sk-live-secret" not in stored and "sk-other" not in stored and "[redacted]" in stored
    long = {**HELLO, "messages": [{"role": "user", "content": "é" * 500}]}
    script.enqueue(completion())
    _, body = api.post("/chat", json=long)
    stored = api.get(f"/requests/{body['data']['requestId']}")[1]["data"]["requestBody"]
    assert len(stored.encode()) <= 200 and stored.endswith("...[truncated]")


@pytest.fixture
def retention_config(app_config):
    app_config["USAGE_RETENTION_DAYS"] = 7
    return app_config


def test_retention_prunes_old_rows_in_the_background(retention_config, app, api, add, providers):
    old = add(utcnow() - timedelta(days=8), providers[0], tokens=(100, 100))
    kept = add(utcnow() - timedelta(days=6), providers[0], tokens=(1, 2))
    api.get("/providers")
    for thread in threading.enumerate():
        if thread.name == "usage-prune":
            thread.join(10)
    data = usage(api)
    assert [r["id"] for r in data["requests"]] == [kept.id]
    assert without_avg(data["summary"]) == expected([kept])
    assert api.get(f"/requests/{old.id}")[0] == 404
