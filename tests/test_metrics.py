"""/metrics: what the call events add up to, and who may read it.

Counters live for the whole test process, so every assertion is on the change a call makes."""
import pytest

from inference_gateway import errors

from .helpers import metric_samples
from .mock_provider import chunks, completion
from . import test_observability
from .test_observability import HELLO, UPSTREAM_WAIT, P

# The fixtures this module shares with test_observability (a mock provider with a slow upstream).
script, openai = test_observability.script, test_observability.openai


def scrape(client, headers=None):
    """{(sample name, sorted labels): value} from one /metrics response."""
    resp = client.get("/metrics", headers=headers or {})
    assert resp.status_code == 200, resp.get_data(as_text=True)
    assert resp.content_type.startswith("text/plain")
    return metric_samples(resp.get_data(as_text=True))


def value(samples, name, **labels):
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def delta(before, after, name, **labels):
    return value(after, name, **labels) - value(before, name, **labels)


def test_a_call_counts_its_request_tokens_and_latencies(client, script, openai):
    before = scrape(client)
    script.enqueue(completion(usage=(15, 12)))
    assert client.post(P + "/chat", json=HELLO).status_code == 200
    after = scrape(client)
    assert delta(before, after, "gateway_requests_total", endpoint="chat", provider="openai", status="200") == 1
    assert delta(before, after, "gateway_input_tokens_total", provider="openai") == 15
    assert delta(before, after, "gateway_output_tokens_total", provider="openai") == 12
    upstream = dict(endpoint="chat", provider="openai")
    assert delta(before, after, "gateway_upstream_latency_seconds_count", **upstream) == 1
    assert delta(before, after, "gateway_upstream_latency_seconds_sum", **upstream) == pytest.approx(UPSTREAM_WAIT, abs=0.01)
    # The 300 ms wait lands in the upstream histogram, not in the gateway's overhead.
    assert delta(before, after, "gateway_upstream_latency_seconds_bucket", le="0.25", **upstream) == 0
    assert delta(before, after, "gateway_overhead_seconds_count", endpoint="chat") == 1
    assert delta(before, after, "gateway_overhead_seconds_sum", endpoint="chat") < UPSTREAM_WAIT


def test_failures_are_counted_by_status(client, script, openai):
    before = scrape(client)
    script.enqueue(errors.UpstreamError("provider fell over"))
    assert client.post(P + "/chat", json=HELLO).status_code == 502
    assert client.post(P + "/chat", json={"model": "no-such-model", "messages": HELLO["messages"]}).status_code == 400
    after = scrape(client)
    assert delta(before, after, "gateway_requests_total", endpoint="chat", provider="openai", status="502") == 1
    # Never resolved to a provider: counted under provider="none", no upstream latency.
    assert delta(before, after, "gateway_requests_total", endpoint="chat", provider="none", status="400") == 1
    assert delta(before, after, "gateway_upstream_latency_seconds_count", endpoint="chat", provider="none") == 0


def test_active_streams_gauge_follows_an_open_stream(client, script, openai):
    script.enqueue(chunks("Hel", "lo", usage=(4, 2)))
    before = scrape(client)
    resp = client.post(P + "/chat/stream", json=HELLO, buffered=False)
    body = iter(resp.response)
    next(body)  # message_start: the stream is open
    during = scrape(client)
    assert delta(before, during, "gateway_active_streams", endpoint="chat_stream") == 1
    rest = b"".join(body)
    resp.close()
    assert b"message_stop" in rest
    after = scrape(client)
    assert delta(before, after, "gateway_active_streams", endpoint="chat_stream") == 0
    assert delta(before, after, "gateway_requests_total", endpoint="chat_stream", provider="openai", status="200") == 1
    assert delta(before, after, "gateway_output_tokens_total", provider="openai") == 2


def test_metrics_is_open_without_keys(client):
    assert client.get("/metrics").status_code == 200


@pytest.mark.parametrize("settings, headers, status", [
    ({"GATEWAY_API_KEYS": "k1,k2"}, {}, 401),
    ({"GATEWAY_API_KEYS": "k1,k2"}, {"Authorization": "Bearer wrong"}, 401),
    ({"GATEWAY_API_KEYS": "k1,k2"}, {"Authorization": "Bearer k2"}, 200),
    # A separate token: the API keys no longer open it, so a scraper needs no API key.
    ({"GATEWAY_API_KEYS": "k1", "METRICS_TOKEN": "scrape-me"}, {"Authorization": "Bearer k1"}, 401),
    ({"GATEWAY_API_KEYS": "k1", "METRICS_TOKEN": "scrape-me"}, {"Authorization": "Bearer scrape-me"}, 200),
    ({"METRICS_TOKEN": "scrape-me"}, {}, 401),
])
def test_metrics_access(app_config, settings, headers, status):
    from inference_gateway import create_app

    resp = create_app({**app_config, **settings}).test_client().get("/metrics", headers=headers)
    assert resp.status_code == status
    if status == 401:
        assert resp.get_json()["error"]["code"] == "UNAUTHORIZED"


def test_metrics_can_be_turned_off(app_config):
    from inference_gateway import create_app

    resp = create_app({**app_config, "METRICS_ENABLED": False}).test_client().get("/metrics")
    assert resp.status_code == 404
    assert "METRICS_ENABLED" in resp.get_json()["error"]["message"]
