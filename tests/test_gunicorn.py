"""The app under a real gunicorn (gunicorn.conf.py): streams, WebSocket, database and metrics
across workers, graceful shutdown, access logs. The provider is the fake upstream server."""
import os
import signal
import time

import pytest
import requests

from .helpers import metric_samples, streamed_events
from .live import P, CHAT, register_openai, stream_chat, ws_chat, at_once, text_of, usage_of


@pytest.mark.parametrize("worker", ["gevent", "gthread"])
def test_many_streams_run_at_once_in_one_worker(start_gunicorn, db_url, up, worker):
    # One worker: 40 streams of ~1 s must all be streaming before the first one ends, each
    # resolving its provider in the database, calling the upstream and writing its log row.
    up.stream_delay = 0.2
    server = start_gunicorn(db_url, WORKER_CLASS=worker)
    register_openai(server.url, up)
    started = []
    for events in at_once(40, lambda: stream_chat(server.url, started)):
        assert events[-1]["type"] == "message_stop", events[-1]
        assert text_of(events) == "".join(up.stream_chunks)
    assert max(started) - min(started) < up.stream_delay * len(up.stream_chunks), \
        "some streams waited for others to finish"
    usage = usage_of(server.url)
    assert usage["summary"]["totalRequests"] == 40 and usage["summary"]["totalErrors"] == 0


def test_websocket_chat_under_gevent(start_gunicorn, up):
    server = start_gunicorn()
    register_openai(server.url, up)
    ws_url = server.url.replace("http://", "ws://")
    for events in at_once(5, lambda: ws_chat(ws_url)):
        assert [events[0]["type"], events[-1]["type"]] == ["message_start", "message_stop"]
        assert text_of(events) == "".join(up.stream_chunks)


def test_sigterm_lets_a_running_stream_finish(start_gunicorn, up):
    up.stream_delay = 0.3
    server = start_gunicorn(GRACEFUL_TIMEOUT="20")
    register_openai(server.url, up)
    with requests.post(server.url + P + "/chat/stream", json=CHAT, stream=True, timeout=30) as resp:
        events = streamed_events(resp)
        assert next(events)[1]["type"] == "message_start"
        server.proc.send_signal(signal.SIGTERM)
        rest = [event for _, event in events]
    assert rest[-1]["type"] == "message_stop"
    assert server.proc.wait(30) == 0
    with pytest.raises(requests.ConnectionError):
        requests.get(server.url + "/healthz", timeout=2)


def scrape(url):
    resp = requests.get(url + "/metrics", timeout=10)
    assert resp.status_code == 200, resp.text
    return metric_samples(resp.text)


def test_metrics_add_up_over_workers_and_forget_dead_ones(start_gunicorn, up):
    up.stream_delay = 1.0
    server = start_gunicorn(WEB_CONCURRENCY="2")
    register_openai(server.url, up)
    for _ in range(12):
        assert requests.post(server.url + P + "/chat", json=CHAT, timeout=10).status_code == 200
    chats = ("gateway_requests_total", (("endpoint", "chat"), ("provider", "openai"), ("status", "200")))
    # Whichever worker answers the scrape, it reports both workers' calls.
    assert {scrape(server.url)[chats] for _ in range(6)} == {12.0}
    streams = ("gateway_active_streams", (("endpoint", "chat_stream"),))
    with requests.post(server.url + P + "/chat/stream", json=CHAT, stream=True, timeout=30) as resp:
        next(streamed_events(resp))
        assert scrape(server.url)[streams] == 1
        old = server.worker_pids()
        for pid in old:
            os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        pids = server.worker_pids()
        if len(pids) == 2 and not set(pids) & set(old):
            try:
                samples = scrape(server.url)
                break
            except requests.ConnectionError:
                pass
        time.sleep(0.2)
    else:
        raise AssertionError("workers were not replaced")
    # The killed worker's open stream is gone from the gauge; counted calls stay counted.
    assert samples.get(streams, 0) == 0
    assert samples[chats] == 12


def test_access_log_carries_request_id_status_and_duration(start_gunicorn):
    server = start_gunicorn(ACCESS_LOG="-")
    resp = requests.get(server.url + P + "/providers/missing", headers={"X-Request-Id": "trace-77"}, timeout=5)
    assert resp.status_code == 404 and resp.headers["X-Request-Id"] == "trace-77"
    deadline = time.monotonic() + 5
    while "request_id=trace-77" not in server.output() and time.monotonic() < deadline:
        time.sleep(0.1)
    gunicorn_line = next(line for line in server.output().splitlines()
                         if "request_id=trace-77" in line and "inference_gateway.access" not in line)
    assert '"GET /api/v1/inference/providers/missing HTTP/1.1" 404' in gunicorn_line
    assert "ms " in gunicorn_line
    app_line = next(line for line in server.output().splitlines()
                    if "inference_gateway.access" in line and "request_id=trace-77" in line)
    assert "status=404" in app_line and "duration_ms=" in app_line
