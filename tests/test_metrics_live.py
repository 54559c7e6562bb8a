"""/metrics under gunicorn: every family on a fresh instance's first scrape, and one overhead figure
(wall time minus upstream time) in the X-Gateway-Overhead-Ms header, the access log and /metrics,
streams included."""
import re
import time

import pytest
import requests

from .fake_upstream import SSE
from .helpers import metric_samples
from .live import CHAT, P, register_openai, stream_chat
from .test_stream_rows import openai_chunks

FAMILIES = ["gateway_requests_total", "gateway_upstream_latency_seconds", "gateway_overhead_seconds",
            "gateway_input_tokens_total", "gateway_output_tokens_total", "gateway_active_streams"]


@pytest.fixture
def gateway(start_gunicorn, tmp_path):
    return start_gunicorn(f"sqlite:///{tmp_path}/metrics.db", LOG_LEVEL="info")


def access_line(gateway, request_id):
    """The call's access-log fields (a stream's line is written once its body is closed: wait for it)."""
    deadline = time.monotonic() + 5
    while True:
        lines = [line for line in gateway.output().splitlines() if f"request_id={request_id} " in line]
        if lines or time.monotonic() > deadline:
            [line] = lines
            return dict(re.findall(r"(\w+)=(\S+)", line))
        time.sleep(0.05)


def test_a_fresh_instances_first_scrape_declares_every_family(gateway):
    text = requests.get(gateway.url + "/metrics", timeout=10).text
    assert [name for name in FAMILIES if f"# TYPE {name} " not in text] == []


def test_one_overhead_figure_in_the_header_the_log_and_the_metrics(gateway, up):
    register_openai(gateway.url, up)
    resp = requests.post(gateway.url + P + "/chat", json=CHAT, timeout=30)
    assert resp.status_code == 200
    header = float(resp.headers["X-Gateway-Overhead-Ms"])
    line = access_line(gateway, resp.json()["data"]["requestId"])
    assert float(line["overhead_ms"]) == header
    samples = metric_samples(requests.get(gateway.url + "/metrics", timeout=10).text)
    overhead_sum = samples[("gateway_overhead_seconds_sum", (("endpoint", "chat"),))]
    assert abs(overhead_sum * 1000 - header) < 0.06  # the header's one decimal

    # A stream: its upstream time is what it waited on the provider (0.1 s between events), not 0.
    up.script("openai", SSE(openai_chunks(["a", "b", "c", "d"]), delay_each=0.1))
    events = stream_chat(gateway.url)
    line = access_line(gateway, events[0]["requestId"])
    assert float(line["upstream_ms"]) >= 500 and float(line["overhead_ms"]) < float(line["duration_ms"]) - 500
    samples = metric_samples(requests.get(gateway.url + "/metrics", timeout=10).text)
    stream_upstream = samples[("gateway_upstream_latency_seconds_sum", (("endpoint", "chat_stream"), ("provider", "openai")))]
    assert stream_upstream * 1000 == pytest.approx(float(line["upstream_ms"]), abs=0.06)
    assert samples[("gateway_overhead_seconds_sum", (("endpoint", "chat_stream"),))] * 1000 == pytest.approx(
        float(line["overhead_ms"]), abs=0.06)
