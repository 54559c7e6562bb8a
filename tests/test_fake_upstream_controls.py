"""The fake upstream's test controls: scripted replies, faults, hangs and client disconnects."""
import json

import pytest
import requests

from .fake_upstream import SSE, Hang, Reply, Reset
from .upstream_client import ANTHROPIC, ASK, OPENAI, post
from .helpers import sse_frames


# -- scripts and failures -----------------------------------------------------------------------

def test_scripted_replies_come_in_order_then_the_default(up):
    up.script("openai", Reply(429, json={"error": {"message": "slow down"}}, headers={"Retry-After": "3"}),
              Reply(500, json={"error": {"message": "boom"}}))
    chat = {"model": "gpt-4o", "messages": ASK}
    first = post(up, "openai", "/chat/completions", OPENAI, json=chat)
    assert (first.status_code, first.headers["Retry-After"]) == (429, "3")
    assert post(up, "openai", "/chat/completions", OPENAI, json=chat).status_code == 500
    assert post(up, "openai", "/chat/completions", OPENAI, json=chat).status_code == 200


def test_script_matches_kind_and_path(up):
    up.script("openai", Reply(503, json={}), path="/embeddings")
    assert post(up, "anthropic", "/messages", ANTHROPIC,
                json={"model": "m", "max_tokens": 5, "messages": ASK}).status_code == 200
    assert requests.get(up.base_url("openai") + "/models", headers=OPENAI, timeout=5).status_code == 200
    assert post(up, "openai", "/embeddings", OPENAI, json={"model": "m", "input": "x"}).status_code == 503


def test_malformed_body(up):
    up.script("openai", Reply(body=b"{not json"))
    resp = post(up, "openai", "/chat/completions", OPENAI, json={})
    assert resp.content == b"{not json" and resp.headers["Content-Type"] == "application/json"


def test_reset_gives_a_connection_error(up):
    up.script("openai", Reset())
    with pytest.raises(requests.ConnectionError):
        requests.get(up.base_url("openai") + "/models", headers=OPENAI, timeout=5)
    assert len(up.requests) == 1


def test_hang_trips_a_client_read_timeout(up):
    up.script("openai", Hang(1))
    with pytest.raises(requests.ReadTimeout):
        requests.get(up.base_url("openai") + "/models", headers=OPENAI, timeout=(1, 0.2))


def test_scripted_sse_with_event_names_and_mid_stream_reset(up):
    up.script("anthropic", SSE([("message_start", {"type": "message_start"}), {"type": "x"}, "raw text"],
                               delay_each=0.01))
    with post(up, "anthropic", "/messages", ANTHROPIC, stream=True, json={}) as resp:
        assert [(n, d) for n, d, _ in sse_frames(resp)] == [
            ("message_start", '{"type":"message_start"}'), (None, '{"type":"x"}'), (None, "raw text")]
    up.script("openai", SSE([{"n": 1}, {"n": 2}, {"n": 3}], reset_after=2))
    received = []
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        with post(up, "openai", "/chat/completions", OPENAI, stream=True, json={}) as resp:
            for line in resp.iter_lines(chunk_size=None):
                received.append(line)
    assert [json.loads(line[6:]) for line in received if line] == [{"n": 1}, {"n": 2}]
    assert up.disconnects == 0  # the server hung up, not the client


def test_client_closing_mid_stream_is_counted(up):
    up.stream_delay = 0.2
    resp = post(up, "openai", "/chat/completions", OPENAI, stream=True,
                json={"model": "gpt-4o", "messages": ASK, "stream": True})
    lines = resp.iter_lines(chunk_size=None)
    while b'"content":"The"' not in next(lines):
        pass
    resp.close()
    assert up.wait_disconnect(2)
    assert up.disconnects == 1


def test_a_finished_stream_is_not_a_disconnect(up):
    with post(up, "openai", "/chat/completions", OPENAI, stream=True,
              json={"model": "gpt-4o", "messages": ASK, "stream": True}) as resp:
        assert list(sse_frames(resp))[-1][1] == "[DONE]"
    assert not up.wait_disconnect(0.2)
