"""Two gateway instances (two gunicorn processes) sharing one PostgreSQL database."""
import time

import requests

from .conftest import _reset_postgres
from .live import CHAT, P, register_openai, stream_chat, usage_of



def test_two_instances_share_providers_and_usage(start_gunicorn, postgres_url, up):
    _reset_postgres(postgres_url)
    first = start_gunicorn(postgres_url)
    second = start_gunicorn(postgres_url)

    provider = register_openai(first.url, up)
    listed = requests.get(second.url + P + "/providers", timeout=10).json()["data"]
    assert [p["id"] for p in listed] == [provider["id"]]

    # A call through each instance; each instance reports both.
    reply = requests.post(second.url + P + "/chat", json=CHAT, timeout=10)
    assert reply.status_code == 200, reply.text
    assert stream_chat(first.url)[-1]["type"] == "message_stop"
    call_id = reply.json()["data"]["requestId"]
    for server in (first, second):
        usage = usage_of(server.url)
        assert usage["summary"]["totalRequests"] == 2
        assert {r["endpoint"] for r in usage["requests"]} == {"chat", "chat_stream"}
        assert requests.get(server.url + P + f"/requests/{call_id}", timeout=10).status_code == 200

    # A change made through one is seen by the other: by its API at once, by its calls once
    # their cached resolution expires (PROVIDER_CACHE_SECONDS, 1 s by default).
    resp = requests.delete(second.url + P + "/providers/openai", timeout=10)
    deleted = time.monotonic()
    assert resp.status_code == 200, resp.text
    assert requests.get(first.url + P + "/providers/openai", timeout=10).status_code == 404
    while (reply := requests.post(first.url + P + "/chat", json=CHAT, timeout=10)).status_code == 200:
        assert time.monotonic() - deleted < 1.0 + 0.5, "the deleted provider still serves after its cache time"
        time.sleep(0.05)
    assert reply.json()["error"]["code"] == "NO_PROVIDER", reply.text
