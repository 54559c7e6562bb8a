"""Virtual keys' limits through real gunicorn: two instances sharing real Redis and PostgreSQL, and
three workers of one instance on SQLite without Redis. Every test uses its own Redis key prefix."""
import json
import os
import time
import uuid

import pytest
import requests

from .conftest import _reset_postgres
from .fake_upstream.common import Hang
from .live import KEY_VAR, P, at_once

REDIS_URL = os.environ.get("TEST_REDIS_URL")
ADMIN = "admin-key-for-limit-tests"
AS_ADMIN = {"Authorization": f"Bearer {ADMIN}"}
CHAT = {"model": "openai/gpt-4o", "messages": [{"role": "user", "content": "Hello"}], "maxTokens": 10}
# USD per million tokens: a call of the fake upstream's 12 tokens costs $0.012.
PRICES = {"gpt-4o": {"input": 1000, "output": 1000}}


def gateway_env(tmp_path, **env):
    prices = tmp_path / "prices.json"
    prices.write_text(json.dumps(PRICES))
    return {"GATEWAY_ADMIN_KEYS": ADMIN, "PRICES_FILE": str(prices), **env}


def setup(server, up, **key):
    """Register the fake OpenAI through `server` and create a key; returns the key's body."""
    resp = requests.post(server.url + P + "/providers", headers=AS_ADMIN, timeout=10, json={
        "name": "openai", "type": "openai", "envVar": KEY_VAR, "baseUrl": up.base_url("openai")})
    assert resp.status_code == 201, resp.text
    resp = requests.post(server.url + P + "/keys", headers=AS_ADMIN, timeout=10, json={"name": "team", **key})
    assert resp.status_code == 201, resp.text
    return resp.json()["data"]


def chat(server, key, body=CHAT):
    return requests.post(server.url + P + "/chat", json=body, timeout=30,
                         headers={"Authorization": f"Bearer {key['key']}"})


def spread(servers, key, n):
    """n calls at once, alternating over the servers; their responses."""
    turn = iter(range(n))
    return at_once(n, lambda: chat(servers[next(turn) % len(servers)], key))


@pytest.fixture
def pair(start_gunicorn, postgres_url, up, tmp_path):
    """Two instances on one PostgreSQL database and one Redis (a prefix of this test's own)."""
    if not REDIS_URL:
        pytest.skip("TEST_REDIS_URL is not set (e.g. redis://127.0.0.1:6379/0)")
    import redis

    _reset_postgres(postgres_url)
    prefix = "igwtest-" + uuid.uuid4().hex[:12]
    env = gateway_env(tmp_path, REDIS_URL=REDIS_URL, LIMITS_REDIS_PREFIX=prefix)
    first = start_gunicorn(postgres_url, **env)
    yield first, start_gunicorn(postgres_url, **env)
    client = redis.Redis.from_url(REDIS_URL)
    for name in client.scan_iter(match=prefix + ":*"):  # only this test's keys: never a flush
        client.delete(name)


@pytest.fixture
def workers3(start_gunicorn, tmp_path):
    """One instance, three workers, SQLite, no Redis: the counters live in the database."""
    return start_gunicorn(f"sqlite:///{tmp_path}/gateway.db", WEB_CONCURRENCY="3",
                          **gateway_env(tmp_path, REDIS_URL=""))


def statuses(responses):
    return sorted(r.status_code for r in responses)


def check_rpm(servers, up):
    key = setup(servers[0], up, rpm=10)
    responses = spread(servers, key, 30)
    assert statuses(responses) == [200] * 10 + [429] * 20
    refused = next(r for r in responses if r.status_code == 429)
    assert refused.json()["error"]["code"] == "RATE_LIMITED"
    assert int(refused.headers["Retry-After"]) >= 1
    assert refused.headers["x-ratelimit-limit-requests"] == "10"
    assert refused.headers["x-ratelimit-remaining-requests"] == "0"
    served = next(r for r in responses if r.status_code == 200)
    assert served.headers["x-ratelimit-limit-requests"] == "10"


def check_concurrency(servers, up):
    key = setup(servers[0], up, maxConcurrent=2)
    up.script("openai", *[Hang(2.0) for _ in range(8)])
    responses = spread(servers, key, 8)
    assert statuses(responses) == [200] * 2 + [429] * 6
    # The slots are given back when the calls end.
    assert chat(servers[-1], key).status_code == 200


def test_rpm_holds_across_two_instances(pair, up):
    check_rpm(pair, up)


def test_rpm_holds_across_three_workers_without_redis(workers3, up):
    check_rpm([workers3], up)


def test_max_concurrent_across_two_instances(pair, up):
    check_concurrency(pair, up)


def test_max_concurrent_across_three_workers_without_redis(workers3, up):
    check_concurrency([workers3], up)


def test_tpm_reserves_an_estimate_and_settles_the_actual_count(pair, up):
    key = setup(pair[0], up, tpm=100)
    first = chat(pair[0], key)
    assert first.status_code == 200, first.text
    reserved = 100 - int(first.headers["x-ratelimit-remaining-tokens"])
    used = first.json()["data"]["usage"]
    actual = used["inputTokens"] + used["outputTokens"]
    assert actual < reserved  # an estimate from the body's text and maxTokens, settled to the real count
    served, n = 1, 1
    while True:
        resp = chat(pair[n % 2], key)
        n += 1
        if resp.status_code != 200:
            break
        served += 1
    assert resp.status_code == 429 and resp.json()["error"]["code"] == "RATE_LIMITED"
    assert resp.headers["x-ratelimit-limit-tokens"] == "100"
    # Admitted while the settled tokens plus this call's reservation fit in 100.
    assert served == (100 - reserved) // actual + 1


def test_budget_is_never_overspent_by_more_than_one_call(pair, up):
    key = setup(pair[0], up, budgetUsd=0.06)  # five calls of $0.012
    responses = spread(pair, key, 20)
    assert set(statuses(responses)) <= {200, 402}
    refused = [r for r in responses if r.status_code == 402]
    assert refused and all(r.json()["error"]["code"] == "BUDGET_EXCEEDED" for r in refused)
    served = len(responses) - len(refused)
    while chat(pair[1], key).status_code == 200:  # what the settled spend still affords
        served += 1
    assert 5 <= served <= 6
    spent = requests.get(pair[1].url + P + f"/keys/{key['id']}", headers=AS_ADMIN, timeout=10).json()["data"]
    assert spent["spentUsd"] <= 0.06 + 0.012 + 1e-9
    usage = requests.get(pair[0].url + P + f"/usage?key={key['id']}", headers=AS_ADMIN, timeout=10).json()["data"]
    assert usage["summary"]["totalCostUsd"] == pytest.approx(spent["spentUsd"])


def test_revocation_is_seen_by_the_other_instance_within_a_second(pair, up):
    key = setup(pair[0], up)
    assert chat(pair[1], key).status_code == 200  # now in the second instance's cache
    resp = requests.delete(pair[0].url + P + f"/keys/{key['id']}", headers=AS_ADMIN, timeout=10)
    assert resp.status_code == 200 and resp.json()["data"]["revokedAt"]
    revoked_at = time.monotonic()
    while (resp := chat(pair[1], key)).status_code == 200:
        assert time.monotonic() - revoked_at < 1.0, "the other instance still serves a revoked key"
    assert resp.status_code == 401 and "revoked" in resp.json()["error"]["message"]
    assert time.monotonic() - revoked_at < 1.2
