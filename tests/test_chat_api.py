"""The chat endpoints' contract, with a scripted adapter in place of a provider."""
import pytest

from inference_gateway import errors
from inference_gateway.types import Chunk, Usage

from .helpers import log_rows as rows, sse_events
from .mock_provider import chunks, completion

P = "/api/v1/inference"
HELLO = {"model": "gpt-4o", "messages": [{"role": "user", "content": "Hello"}]}


def test_chat_answers_the_seed_shape_and_logs_one_row(app, api, script, openai):
    script.enqueue(completion())
    status, body = api.post("/chat", json={
        "model": "gpt-4o",
        "messages": [{"role": "user", "content": "What is the capital of France?"}],
        "maxTokens": 100})
    assert status == 200, body
    data = body["data"]
    assert data["content"] == "The capital of France is Paris."
    assert data["model"] == "gpt-4o"
    assert data["usage"] == {"inputTokens": 15, "outputTokens": 12}
    assert data["finishReason"] == "stop" and data["provider"] == "openai"
    req = script.history[0]
    assert req.max_tokens == 100 and req.messages[0].content == "What is the capital of France?"
    [row] = rows(app)
    assert row.request_id == data["requestId"]
    assert (row.status, row.http_status, row.endpoint) == ("success", 200, "chat")
    assert (row.input_tokens, row.output_tokens) == (15, 12)
    assert (row.provider_id, row.provider_name, row.model) == (openai["id"], "openai", "gpt-4o")


def test_chat_passes_every_option(api, script, openai):
    script.enqueue(completion())
    api.post("/chat", json={**HELLO, "temperature": 0.5, "topP": 0.9, "stop": "END",
                            "system": "be brief", "providerId": "openai"})
    req = script.history[0]
    assert (req.temperature, req.top_p, req.stop, req.system) == (0.5, 0.9, ["END"], "be brief")


@pytest.mark.parametrize("payload,field", [
    ({"messages": []}, "messages"),
    ({"messages": [{"role": "robot", "content": "x"}]}, "messages.0.role"),
    ({"messages": [{"role": "user"}]}, "messages.0.content"),
    ({"maxTokens": "100"}, "maxTokens"),
    ({"maxTokens": 0}, "maxTokens"),
    ({"temperature": 3}, "temperature"),
    ({"stop": [1, 2]}, "stop"),
    ({"frequencyPenalty": 1}, "frequencyPenalty"),
])
def test_bad_chat_input_is_400_naming_the_field(app, api, script, openai, payload, field):
    status, body = api.post("/chat", json={**HELLO, **payload})
    assert status == 400
    assert field in body["error"]["details"]
    assert not script.history
    [row] = rows(app)
    assert row.status == "error" and row.error_code == "BAD_REQUEST"


def test_missing_model_and_provider(api, script):
    status, body = api.post("/chat", json={"messages": HELLO["messages"]})
    assert status == 400 and body["error"] == {"code": "BAD_REQUEST", "message": "model is required"}


def test_upstream_failure_is_logged_with_its_code(app, api, script, openai):
    script.enqueue(errors.RateLimited("provider 'openai' is rate limiting requests", retry_after=7))
    client_status, body = api.post("/chat", json=HELLO)
    assert client_status == 429 and body["error"]["code"] == "RATE_LIMITED"
    [row] = rows(app)
    assert (row.status, row.http_status, row.error_code) == ("error", 429, "RATE_LIMITED")


def test_stream_events_and_headers(app, client, script, openai):
    script.enqueue(chunks("Hel", "lo", usage=(10, 5)))
    resp = client.post(P + "/chat/stream", json=HELLO)
    assert resp.status_code == 200
    assert resp.mimetype == "text/event-stream"
    assert resp.headers["Cache-Control"] == "no-cache"
    assert resp.headers["X-Accel-Buffering"] == "no"
    events = sse_events(resp)
    assert events[0]["type"] == "message_start" and events[0]["provider"] == "openai"
    assert events[1:3] == [{"type": "content_block_delta", "delta": {"text": "Hel"}},
                           {"type": "content_block_delta", "delta": {"text": "lo"}}]
    assert events[3] == {"type": "message_stop", "usage": {"inputTokens": 10, "outputTokens": 5},
                         "finishReason": "stop", "toolCalls": []}
    assert len(events) == 4
    [row] = rows(app)
    assert row.request_id == events[0]["requestId"]
    assert (row.status, row.endpoint, row.stream) == ("success", "chat_stream", True)
    assert (row.input_tokens, row.output_tokens) == (10, 5)
    assert row.ttft_ms is not None


def test_stream_failure_before_first_event_is_a_json_error(app, client, script, openai):
    script.enqueue(errors.UpstreamError("provider 'openai' failed (500): boom"))
    resp = client.post(P + "/chat/stream", json=HELLO)
    assert resp.status_code == 502
    assert resp.get_json()["error"]["code"] == "UPSTREAM_ERROR"
    [row] = rows(app)
    assert (row.status, row.http_status, row.error_code) == ("error", 502, "UPSTREAM_ERROR")


def test_stream_failure_after_start_is_an_error_event_without_stop(app, client, script, openai):
    script.enqueue([Chunk(text="Hel"), Chunk(usage=Usage(10, 0)),
                    errors.UpstreamError("provider 'openai' failed mid-stream: overloaded")])
    events = sse_events(client.post(P + "/chat/stream", json=HELLO))
    assert [e["type"] for e in events] == ["message_start", "content_block_delta", "error"]
    assert events[-1]["error"]["code"] == "UPSTREAM_ERROR"
    [row] = rows(app)
    assert (row.status, row.error_code) == ("error", "UPSTREAM_ERROR")
    assert (row.input_tokens, row.output_tokens) == (10, 1)


def test_client_gone_closes_upstream_and_logs_cancelled(app, client, script, openai):
    script.enqueue(chunks("a", "b", "c", "d"))
    resp = client.post(P + "/chat/stream", json=HELLO, buffered=False)
    body = iter(resp.response)
    next(body), next(body)  # message_start, first delta
    resp.close()
    assert script.closed == 1
    [row] = rows(app)
    assert (row.status, row.error_code, row.output_tokens) == ("cancelled", "CANCELLED", 1)


def test_stream_closed_before_iteration_still_logs(app, client, script, openai):
    script.enqueue(chunks("a"))
    resp = client.post(P + "/chat/stream", json=HELLO, buffered=False)
    resp.close()
    [row] = rows(app)
    assert (row.status, row.output_tokens) == ("cancelled", 0)
