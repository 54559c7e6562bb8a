"""Provider health on GET /providers: the last five minutes' error rate, medians and last error,
summed over every process's rows of provider_health (gateway/health.py)."""
import random

import pytest

from inference_gateway.gateway.health import HealthWindows, Minute, bin_of, median, summarize

from .fake_upstream import Reply

KEY_VAR = "HEALTH_TEST_KEY"


def test_a_median_from_the_bins_is_within_five_percent_of_the_true_one():
    rng = random.Random(7)
    for _ in range(200):
        samples = [rng.lognormvariate(5, 1.5) for _ in range(rng.randint(1, 400))]
        histogram = {}
        for value in samples:
            histogram[bin_of(value)] = histogram.get(bin_of(value), 0) + 1
        true = sorted(samples)[(len(samples) - 1) // 2]
        assert abs(median(histogram) - true) <= max(0.05 * true, 1)


def test_states_follow_the_breaker_and_the_error_rate():
    now = 1_000_000.0
    fine = Minute(calls=20, errors=1, latency={bin_of(100): 20})
    assert summarize([fine], now=now)["state"] == "healthy"
    assert summarize([fine, Minute(calls=10, errors=3)], now=now)["state"] == "degraded"
    assert summarize([fine], open_until=now + 5, now=now)["state"] == "open"
    assert summarize([fine], open_until=now - 5, now=now)["state"] == "healthy"
    assert summarize([], now=now) == {"state": "healthy", "errorRate": None, "p50LatencyMs": None,
                                      "p50TtftMs": None, "lastError": None, "lastErrorAt": None}


def test_processes_rows_add_up_and_old_minutes_drop_out(app):
    clock = [600_000.0]
    first, second = (HealthWindows(flush_seconds=0, clock=lambda: clock[0]) for _ in range(2))
    first._worker, second._worker = "host:1", "host:2"
    with app.app_context():
        for _ in range(3):
            first.observe("p1", 100)
        second.observe("p1", 300, error="UPSTREAM_ERROR: boom")
        read = second.read(["p1"])["p1"]
        assert (read["errorRate"], read["lastError"], read["state"]) == (0.25, "UPSTREAM_ERROR: boom", "degraded")
        clock[0] += 5 * 60  # five minutes on: those calls are out of the window
        assert first.read(["p1"])["p1"]["errorRate"] is None


@pytest.fixture
def openai(api, up, monkeypatch):
    monkeypatch.setenv(KEY_VAR, "sk-test")
    status, body = api.post("/providers", json={"name": "openai", "type": "openai", "envVar": KEY_VAR,
                                                "baseUrl": up.base_url("openai")})
    assert status == 201, body
    return body["data"]


def test_get_providers_shows_each_providers_health(api, client, up, openai):
    chat = {"model": "gpt-4o", "messages": [{"role": "user", "content": "Hello"}]}
    for _ in range(3):
        assert api.post("/chat", json=chat)[0] == 200
    # A 529 three times over (the call and its two retries): the provider's failure, counted.
    up.script("openai", *[Reply(529, json={"error": {"message": "overloaded"}})] * 3)
    assert api.post("/chat", json=chat)[0] == 502
    # A 400 is the caller's mistake, not the provider's: a call, not an error.
    up.script("openai", Reply(400, json={"error": {"message": "bad"}}))
    assert api.post("/chat", json=chat)[0] == 400
    status, body = api.get("/providers")
    assert status == 200
    found = body["data"][0]["health"]
    assert found["state"] == "degraded" and found["errorRate"] == 0.2
    assert "overloaded" in found["lastError"] and found["lastErrorAt"].endswith("Z")
    assert found["p50LatencyMs"] is not None and found["p50TtftMs"] is None
    assert api.get("/providers/openai")[1]["data"]["health"] == found
    # Streams report their time to first token.
    assert b"message_stop" in client.post("/api/v1/inference/chat/stream", json=chat).data
    assert api.get("/providers/openai")[1]["data"]["health"]["p50TtftMs"] is not None
