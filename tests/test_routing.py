"""Routes in one process: the admin resource, strategies, breakers (in memory and in real Redis),
virtual keys over routes, and weighted's split over 1,000 calls."""
import json
import os
import random
import time
import uuid
from collections import Counter

import pytest

from inference_gateway import errors
from inference_gateway.gateway import routing
from inference_gateway.gateway.breaker import CLOSED, OPEN, PROBE, MemoryBreakers, after_failure, verdict
from inference_gateway.providers.base import Provider
from inference_gateway.store import migrations, provider_store
from inference_gateway.store.db import database
from inference_gateway.store.route_counters import RedisBreakers, RedisBusy, State
from inference_gateway.store.tables import RequestLog, SchemaVersion
from inference_gateway.types import Completion, Usage

from .helpers import metric_samples

P = "/api/v1/inference"
ASK = [{"role": "user", "content": "Hello"}]
REDIS_URL = os.environ.get("TEST_REDIS_URL")


# -- strategies and breakers: pure --------------------------------------------------------------

def test_weighted_order_puts_each_target_first_by_its_weight():
    rng = random.Random(1)
    firsts = Counter(routing.weighted_order([3, 1, 0], rng.random)[0] for _ in range(20000))
    assert abs(firsts[0] / 20000 - 0.75) < 0.02 and firsts[2] == 0
    assert sorted(routing.weighted_order([3, 1, 0], rng.random)) == [0, 1, 2]


def test_least_busy_and_lowest_latency_orders():
    assert routing.least_busy_order([2, 0, 1, 0]) == [1, 3, 2, 0]
    # Unmeasured targets first (each gets measured), then the lowest median.
    assert routing.lowest_latency_order([300.0, None, 120.0]) == [1, 2, 0]


def test_breaker_transitions():
    state, now = State(), 100.0
    for _ in range(2):
        state = after_failure(state, now, 3, 30)
    assert verdict(state, now) == CLOSED and state.failures == 2
    state = after_failure(state, now, 3, 30)
    assert verdict(state, now) == OPEN and verdict(state, now + 29.9) == OPEN
    assert verdict(state, now + 30) == PROBE
    assert after_failure(state, now + 5, 3, 30) == state  # a call started before it opened
    reopened = after_failure(state, now + 31, 3, 30)  # the probe failed
    assert verdict(reopened, now + 31) == OPEN and reopened.open_until == now + 61


def test_memory_breakers_open_skip_probe_once_and_close():
    clock = [0.0]
    heard = []
    breakers = MemoryBreakers(2, 10, clock=lambda: clock[0], on_open=lambda pid, until: heard.append((pid, until)))
    assert not breakers.failed("p") and breakers.failed("p")
    assert verdict(breakers.read(["p"])["p"], 5) == OPEN and heard == [("p", 10.0)]
    clock[0] = 11
    assert breakers.take_probe("p") and not breakers.take_probe("p")  # one probe at a time
    assert breakers.succeeded("p", breakers.read(["p"])["p"])
    assert verdict(breakers.read(["p"])["p"], 11) == CLOSED and heard[-1] == ("p", None)


@pytest.fixture
def redis_client():
    if not REDIS_URL:
        pytest.skip("TEST_REDIS_URL is not set (e.g. redis://127.0.0.1:6379/0)")
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    prefix = "igwroute-" + uuid.uuid4().hex[:12]
    yield client, prefix
    for name in client.scan_iter(match=prefix + ":*"):
        client.delete(name)


def test_redis_breakers_are_shared_and_follow_the_same_transitions(redis_client):
    import redis

    client, prefix = redis_client
    clock = [1000.0]
    one, two = (RedisBreakers(client, (redis.ConnectionError,), prefix, 2, 10, clock=lambda: clock[0]) for _ in "12")
    assert not one.failed("p")
    assert two.failed("p")  # the second failure, counted by another instance, opens it
    assert verdict(one.read(["p"])["p"], clock[0]) == OPEN and one.open_until(["p"]) == {"p": 1010.0}
    clock[0] = 1011
    assert verdict(two.read(["p"])["p"], clock[0]) == PROBE
    assert one.take_probe("p") and not two.take_probe("p")
    assert two.failed("p")  # the probe failed: open again
    clock[0] = 1022
    assert one.take_probe("p")
    assert one.succeeded("p", one.read(["p"])["p"])
    assert two.read(["p"]) == {"p": State()}


def test_redis_busy_counts_calls_in_flight_across_instances(redis_client):
    import redis

    client, prefix = redis_client
    one, two = (RedisBusy(client, (redis.ConnectionError,), prefix) for _ in "12")
    token = one.start("p:m")
    two.start("p:m")
    assert one.counts(["p:m", "q:m"]) == [2, 0]
    one.end(token)
    assert two.counts(["p:m"]) == [1]


# -- the resource -------------------------------------------------------------------------------

@pytest.fixture
def providers(api):
    for name, kind in (("a", "openai"), ("b", "anthropic")):
        status, body = api.post("/providers", json={"name": name, "type": kind, "envVar": "ROUTE_TEST_KEY"})
        assert status == 201, body


SMART = {"name": "smart", "strategy": "fallback",
         "targets": [{"model": "gpt-4o", "providerId": "a"}, {"model": "claude-sonnet-4-20250514", "providerId": "b"}]}


def test_route_crud(api, providers):
    status, body = api.post("/routes", json=SMART)
    assert status == 201 and body["data"]["retryOn"] == ["connection", "timeout", "429", "5xx"]
    assert api.get("/routes")[1]["data"][0]["name"] == "smart"
    assert api.get("/routes/SMART")[1]["data"]["targets"] == SMART["targets"]
    status, body = api.put("/routes/smart", json={**SMART, "strategy": "weighted", "retryOn": ["5xx"]})
    assert status == 200 and (body["data"]["strategy"], body["data"]["retryOn"]) == ("weighted", ["5xx"])
    assert api.delete("/routes/smart")[0] == 200
    assert api.get("/routes/smart")[0] == 404


@pytest.mark.parametrize("change, field", [
    ({"strategy": "random"}, "strategy"),
    ({"targets": []}, "targets"),
    ({"targets": [{"model": "gpt-4o", "providerId": "nope"}]}, "targets.0"),
    ({"targets": [{"model": "no-such-model"}]}, "targets.0"),
    ({"retryOn": ["400"]}, "retryOn.0"),
    ({"name": "has/slash"}, "name"),
    ({"strategy": "weighted", "targets": [{"model": "gpt-4o", "providerId": "a", "weight": 0}]}, "targets"),
    ({"targets": [{"model": "gpt-4o", "weight": "heavy"}]}, "targets.0.weight"),
])
def test_bad_routes_are_400_naming_the_field(api, providers, change, field):
    status, body = api.post("/routes", json={**SMART, **change})
    assert status == 400, body
    assert field in body["error"]["details"], body


def test_a_route_may_not_shadow_a_provider_nor_a_provider_a_route(api, providers):
    status, body = api.post("/routes", json={**SMART, "name": "A"})
    assert status == 409 and "provider" in body["error"]["message"]
    assert api.post("/routes", json=SMART)[0] == 201
    assert api.post("/routes", json=SMART)[0] == 409
    status, body = api.post("/providers", json={"name": "Smart", "type": "openai", "envVar": "ROUTE_TEST_KEY"})
    assert status == 409 and "route" in body["error"]["message"]
    assert api.put("/providers/a", json={"name": "smart"})[0] == 409


# -- calls, in process --------------------------------------------------------------------------

class Answering(Provider):
    """Answers every chat at once, counting which provider answered."""

    served = Counter()

    def chat(self, req):
        Answering.served[self.config.name] += 1
        return Completion("hi", req.model, Usage(3, 1), "stop")


@pytest.fixture
def answering(monkeypatch):
    Answering.served = Counter()
    monkeypatch.setattr(provider_store, "adapter_for",
                        lambda provider, settings: Answering(provider_store.config_of(provider), settings))
    return Answering.served


def test_weighted_splits_1000_calls_within_5_percent_of_the_weights(api, client, providers, answering):
    assert api.post("/routes", json={**SMART, "strategy": "weighted", "targets": [
        {**SMART["targets"][0], "weight": 3}, {**SMART["targets"][1], "weight": 1}]})[0] == 201
    for _ in range(1000):
        assert client.post(P + "/chat", json={"model": "smart", "messages": ASK}).status_code == 200
    assert abs(answering["a"] / 1000 - 0.75) <= 0.05 and abs(answering["b"] / 1000 - 0.25) <= 0.05, answering



def register_smart_route(client, admin):
    """Providers a (openai) and b (anthropic) and the SMART route over them, as an admin."""
    for name, kind in (("a", "openai"), ("b", "anthropic")):
        assert client.post(P + "/providers", headers=admin, json={
            "name": name, "type": kind, "envVar": "ROUTE_TEST_KEY"}).status_code == 201
    assert client.post(P + "/routes", headers=admin, json=SMART).status_code == 201


def test_a_key_must_be_allowed_the_route_and_skips_targets_outside_its_providers(app_config, answering):
    from inference_gateway import create_app

    app = create_app({**app_config, "GATEWAY_ADMIN_KEYS": "adm"})
    client, admin = app.test_client(), {"Authorization": "Bearer adm"}
    register_smart_route(client, admin)

    def key(**fields):
        resp = client.post(P + "/keys", headers=admin, json={"name": "k", **fields})
        return {"Authorization": "Bearer " + resp.get_json()["data"]["key"]}

    only_b = key(providers=["b"])
    resp = client.post(P + "/chat", headers=only_b, json={"model": "smart", "messages": ASK})
    assert resp.status_code == 200 and resp.headers["X-Gateway-Provider"] == "b"
    assert resp.headers["X-Gateway-Attempts"] == "1" and answering == {"b": 1}
    resp = client.post(P + "/chat", headers=key(models=["gpt-*"]), json={"model": "smart", "messages": ASK})
    assert resp.status_code == 403 and "smart" in resp.get_json()["error"]["message"]
    resp = client.post(P + "/chat", headers=key(models=["smart"], providers=["nobody"]),
                       json={"model": "smart", "messages": ASK})
    assert resp.status_code == 403 and "none of the providers" in resp.get_json()["error"]["message"]


def test_every_target_skipped_by_its_breaker_is_a_503_with_retry_after(app, api, client, providers, answering):
    assert api.post("/routes", json=SMART)[0] == 201
    breakers = app.extensions["router"].breakers
    for pid in [p["id"] for p in api.get("/providers")[1]["data"]]:
        for _ in range(breakers.limit):
            breakers.failed(pid)
    resp = client.post(P + "/chat", json={"model": "smart", "messages": ASK})
    assert resp.status_code == 503 and int(resp.headers["Retry-After"]) >= 1
    assert "circuit breakers" in resp.get_json()["error"]["message"] and not answering
    logged = client.get(P + "/requests/" + resp.headers["X-Request-Id"]).get_json()["data"]
    assert (logged["provider"], logged["model"], logged["route"], logged["status"]) == (None, "smart", "smart", "error")
    # Direct calls still go through.
    assert client.post(P + "/chat", json={"model": "a/gpt-4o", "messages": ASK}).status_code == 200


def test_a_version_7_database_gains_routes(app):
    with database.connection_context():
        database.execute_sql("DROP TABLE route")
        from playhouse.migrate import SchemaMigrator, migrate
        migrator = SchemaMigrator.from_database(database.obj)
        migrate(*(migrator.drop_column("request_log", c) for c in ("route", "attempts", "failed_attempts")))
        SchemaVersion.delete().execute()
        SchemaVersion.create(version=7)
        database.execute_sql("INSERT INTO request_log (id, created, endpoint, status, input_tokens, output_tokens, "
                             f"duration_ms, stream) VALUES ('old7', {database.param}, 'chat', 'success', 1, 1, 1, "
                             f"{database.param})", ("2026-03-01 10:00:00", False))
    assert migrations.create_or_migrate() == migrations.CURRENT_VERSION == 9
    with database.connection_context():
        row = RequestLog.get_by_id("old7")
        assert (row.route, row.attempts, row.failed_attempts) == (None, None, None)
        assert database.table_exists("route")



class Flaky(Provider):
    """Provider `a` fails as an overloaded provider would (a 529); the others answer after `delay`."""

    served = Counter()
    delay = {}

    def chat(self, req):
        if self.config.name == "a" and Flaky.delay.get("a") is None:
            exc = errors.UpstreamError("provider 'a' failed (529): overloaded", status=502)
            exc.retry_kind, exc.upstream_status = "5xx", 529
            raise exc
        time.sleep(Flaky.delay.get(self.config.name, 0))
        Flaky.served[self.config.name] += 1
        return Completion("hi", req.model, Usage(3, 1), "stop")


@pytest.fixture
def flaky(monkeypatch):
    Flaky.served, Flaky.delay = Counter(), {}
    monkeypatch.setattr(provider_store, "adapter_for",
                        lambda provider, settings: Flaky(provider_store.config_of(provider), settings))
    return Flaky


def test_metrics_count_attempts_fallbacks_and_breaker_state(app, api, client, providers, flaky):
    def samples():
        return metric_samples(client.get("/metrics").get_data(as_text=True))

    def attempts(outcome, provider):
        key = ("gateway_route_attempts_total", (("outcome", outcome), ("provider", provider), ("route", "smart")))
        return after.get(key, 0) - before.get(key, 0)

    assert api.post("/routes", json=SMART)[0] == 201
    before = samples()
    for _ in range(app.config["BREAKER_FAILURES"] + 1):
        assert client.post(P + "/chat", json={"model": "smart", "messages": ASK}).status_code == 200
    after = samples()
    assert (attempts("failure", "a"), attempts("skipped", "a"), attempts("success", "b")) == (5, 1, 6)
    fallbacks = ("gateway_route_fallbacks_total", (("provider", "a"), ("route", "smart")))
    assert after[fallbacks] - before.get(fallbacks, 0) == 5
    assert after[("gateway_breaker_state", (("provider", "a"),))] == 2


def test_lowest_latency_prefers_the_target_answering_first(api, client, providers, flaky):
    flaky.delay.update(a=0.05, b=0.0)
    assert api.post("/routes", json={**SMART, "strategy": "lowest-latency"})[0] == 201
    for _ in range(12):
        assert client.post(P + "/chat", json={"model": "smart", "messages": ASK}).status_code == 200
    # Each target measured once (unmeasured ones go first), then the faster one takes the rest.
    assert flaky.served == {"a": 1, "b": 11}


def test_a_keys_budget_is_charged_at_the_price_of_the_target_that_served(app_config, flaky, tmp_path):
    from inference_gateway import create_app

    prices = tmp_path / "prices.json"
    prices.write_text(json.dumps({"gpt-4o": {"input": 1000, "output": 1000},
                                  "claude-sonnet-4-20250514": {"input": 100000, "output": 100000}}))
    app = create_app({**app_config, "GATEWAY_ADMIN_KEYS": "adm", "PRICES_FILE": str(prices)})
    client, admin = app.test_client(), {"Authorization": "Bearer adm"}
    register_smart_route(client, admin)
    key = client.post(P + "/keys", headers=admin, json={"name": "k", "budgetUsd": 100}).get_json()["data"]
    resp = client.post(P + "/chat", headers={"Authorization": "Bearer " + key["key"]},
                       json={"model": "smart", "messages": ASK})
    assert resp.status_code == 200 and resp.headers["X-Gateway-Provider"] == "b"  # a failed (529)
    # 3 input and 1 output tokens at b's price ($0.1 per thousand), not a's.
    spent = client.get(P + "/keys/" + key["id"], headers=admin).get_json()["data"]["spentUsd"]
    assert spent == pytest.approx(0.4)


def test_a_short_429_is_tried_once_more_on_the_same_target_then_the_next(api, client, providers, monkeypatch):
    outcomes = {"a": ["429 short", "ok"], "b": ["ok"]}

    class RateLimitedOnce(Provider):
        def chat(self, req):
            outcome = outcomes[self.config.name].pop(0)
            if outcome.startswith("429"):
                wait = 0.05 if outcome == "429 short" else 30
                exc = errors.RateLimited(f"provider '{self.config.name}' is rate limiting requests", retry_after=wait)
                exc.retry_kind, exc.upstream_status = "429", 429
                raise exc
            return Completion("hi", req.model, Usage(3, 1), "stop")

    monkeypatch.setattr(provider_store, "adapter_for",
                        lambda provider, settings: RateLimitedOnce(provider_store.config_of(provider), settings))
    assert api.post("/routes", json=SMART)[0] == 201
    resp = client.post(P + "/chat", json={"model": "smart", "messages": ASK})
    assert resp.headers["X-Gateway-Provider"] == "a" and resp.headers["X-Gateway-Attempts"] == "2"
    [failed] = client.get(P + "/requests/" + resp.headers["X-Request-Id"]).get_json()["data"]["failedAttempts"]
    assert (failed["provider"], failed["status"], failed["retried"]) == ("a", 429, True)
    # A long Retry-After: no wait on that target, the next one serves at once.
    outcomes.update(a=["429 long"], b=["ok"])
    resp = client.post(P + "/chat", json={"model": "smart", "messages": ASK})
    assert resp.headers["X-Gateway-Provider"] == "b" and resp.headers["X-Gateway-Attempts"] == "2"
