"""The Anthropic-compatible surface driven by the official `anthropic` SDK (max_retries=0) against
gunicorn, with every provider type behind it on the fake upstream server."""
import anthropic
import pytest
import requests

from .compat_server import ADMIN_KEY, ANSWER, FAKE_KIND, GATEWAY_KEY, KINDS, MODELS, PROMPT, run_gateway
from .fake_upstream import SSE, Reply


gateway = pytest.fixture(scope="module")(run_gateway)


@pytest.fixture
def client(gateway, up):
    with anthropic.Anthropic(base_url=gateway.url, api_key=GATEWAY_KEY, max_retries=0,
                             timeout=20) as client:
        yield client


@pytest.mark.parametrize("kind", KINDS)
def test_message_from_every_provider_type(client, gateway, up, kind):
    message = client.messages.create(model=MODELS[kind], max_tokens=100, messages=PROMPT,
                                     metadata={"user_id": "u-1"})
    assert (message.type, message.role, message.model) == ("message", "assistant", MODELS[kind])
    assert [(b.type, b.text) for b in message.content] == [("text", ANSWER)]
    assert message.stop_reason == "end_turn"
    assert (message.usage.input_tokens, message.usage.output_tokens) == (
        up.last_usage["inputTokens"], up.last_usage["outputTokens"])
    row = gateway.rows("anthropic_messages")[0]
    assert (row["id"], row["status"]) == (message.id.removeprefix("msg_"), "success")


@pytest.mark.parametrize("kind", KINDS)
def test_streamed_message_from_every_provider_type(client, gateway, up, kind):
    with client.messages.stream(model=MODELS[kind], max_tokens=100, messages=PROMPT) as stream:
        texts = list(stream.text_stream)
        final = stream.get_final_message()
    assert texts == up.stream_chunks  # every upstream delta, one event each
    assert final.content[0].text == ANSWER and final.stop_reason == "end_turn"
    assert (final.usage.input_tokens, final.usage.output_tokens) == (
        up.last_usage["inputTokens"], up.last_usage["outputTokens"])
    row = gateway.rows("anthropic_messages_stream")[0]
    assert (row["status"], row["outputTokens"]) == ("success", len(up.stream_chunks))


def test_stream_event_sequence(client):
    events = [e.type for e in client.messages.create(model=MODELS["openai"], max_tokens=50,
                                                     messages=PROMPT, stream=True)]
    assert events[:3] == ["message_start", "content_block_start", "content_block_delta"]
    assert events[-3:] == ["content_block_stop", "message_delta", "message_stop"]


def test_raw_stream_has_event_lines_and_a_ping(gateway):
    with requests.post(gateway.url + "/v1/messages", stream=True, timeout=20,
                       headers={"x-api-key": GATEWAY_KEY, "anthropic-version": "2023-06-01"},
                       json={"model": MODELS["google"], "max_tokens": 50, "messages": PROMPT,
                             "stream": True}) as resp:
        lines = [line for line in resp.iter_lines() if line.startswith(b"event: ")]
    assert lines[:2] == [b"event: message_start", b"event: ping"]
    assert lines[-2:] == [b"event: message_delta", b"event: message_stop"]


def test_system_blocks_cache_control_and_beta_reach_anthropic(client, up):
    system = [{"type": "text", "text": "You are terse.", "cache_control": {"type": "ephemeral"}}]
    client.messages.create(model=MODELS["anthropic"], max_tokens=100, system=system, messages=PROMPT,
                           stop_sequences=["END"], extra_body={"temperature": 0.2},
                           extra_headers={"anthropic-beta": "prompt-caching-2024-07-31"})
    sent = up.of_kind("anthropic")[-1]
    assert sent.json["system"] == system
    assert sent.json["stop_sequences"] == ["END"] and sent.json["temperature"] == 0.2
    assert sent.headers["anthropic-beta"] == "prompt-caching-2024-07-31"
    client.messages.create(model=MODELS["openai"], max_tokens=100, system=system, messages=PROMPT,
                           extra_headers={"anthropic-beta": "prompt-caching-2024-07-31"})
    sent = up.of_kind("openai")[-1]
    assert "anthropic-beta" not in sent.headers
    assert sent.json["messages"][0] == {"role": "system", "content": [{"type": "text", "text": "You are terse."}]}


def test_top_level_cache_control_marks_the_last_block(client, up):
    client.messages.create(model=MODELS["anthropic"], max_tokens=100, messages=PROMPT,
                           cache_control={"type": "ephemeral"})
    assert up.of_kind("anthropic")[-1].json["messages"] == [{"role": "user", "content": [
        {"type": "text", "text": PROMPT[0]["content"], "cache_control": {"type": "ephemeral"}}]}]


def test_count_tokens_passes_through_to_anthropic_and_estimates_elsewhere(client, gateway, up):
    counted = client.messages.count_tokens(model=MODELS["anthropic"], messages=PROMPT, system="Be brief.")
    assert counted.input_tokens == 5 + len("What is the capital of France? Be brief.".split())
    assert up.of_kind("anthropic")[-1].path == "/messages/count_tokens"
    estimated = client.messages.count_tokens(model=MODELS["openai"], messages=PROMPT)
    assert 5 <= estimated.input_tokens <= 20
    assert not up.of_kind("openai")  # no upstream call for an estimate
    assert gateway.rows("anthropic_count_tokens")[0]["status"] == "success"


@pytest.mark.parametrize("body,param", [
    ({"top_k": 5}, "top_k"),
    ({"temperature": 1.5}, "temperature"),
    ({"messages": [{"role": "system", "content": "x"}]}, "messages[0].role"),
    ({"tools": [{"type": "web_search_20250305", "name": "web_search"}]}, "tools[0].type"),
])
def test_what_cannot_be_honoured_is_a_400_naming_the_field(client, body, param):
    with pytest.raises(anthropic.BadRequestError) as caught:
        client.messages.create(model=MODELS["openai"], max_tokens=10, messages=PROMPT, extra_body=body)
    assert caught.value.body["error"]["type"] == "invalid_request_error"
    assert param in caught.value.message


def test_wrong_key_and_unknown_model(gateway, client):
    bad = anthropic.Anthropic(base_url=gateway.url, api_key="wrong", max_retries=0)
    with pytest.raises(anthropic.AuthenticationError) as caught:
        bad.messages.create(model=MODELS["openai"], max_tokens=10, messages=PROMPT)
    assert caught.value.body["error"]["type"] == "authentication_error"
    with pytest.raises(anthropic.NotFoundError) as caught:
        client.messages.create(model="no-such-model", max_tokens=10, messages=PROMPT)
    assert caught.value.body["error"]["type"] == "not_found_error"


@pytest.mark.parametrize("kind", KINDS)
def test_upstream_rate_limit_and_failure_raise_the_sdk_classes(client, gateway, up, kind):
    fake = FAKE_KIND.get(kind, kind)
    up.script(fake, Reply(429, json={"error": {"message": "slow down", "type": "rate_limit_error"}},
                          headers={"Retry-After": "9"}))
    with pytest.raises(anthropic.RateLimitError) as caught:
        client.messages.create(model=MODELS[kind], max_tokens=10, messages=PROMPT)
    assert caught.value.response.headers["retry-after"] == "9"
    assert caught.value.body["error"]["type"] == "rate_limit_error"
    up.script(fake, Reply(500, json={"error": {"message": "upstream broke"}}))
    with pytest.raises(anthropic.InternalServerError) as caught:
        client.messages.create(model=MODELS[kind], max_tokens=10, messages=PROMPT)
    assert caught.value.body["error"]["type"] == "api_error"
    assert [row["httpStatus"] for row in gateway.rows("anthropic_messages")[:2]] == [502, 429]


def test_failure_after_the_stream_started_is_an_error_event(client, gateway, up):
    up.script("openai", SSE([{"choices": [{"index": 0, "delta": {"content": "Hel"}}]}] * 3,
                            reset_after=2))
    seen = []
    with pytest.raises(anthropic.APIStatusError) as caught:
        with client.messages.stream(model=MODELS["openai"], max_tokens=10, messages=PROMPT) as stream:
            seen.extend(stream.text_stream)
    assert seen == ["Hel", "Hel"]
    assert caught.value.body["error"]["type"] == "api_error"
    assert gateway.rows("anthropic_messages_stream")[0]["status"] == "error"


def test_models_in_anthropics_format(client, gateway):
    gateway.native("POST", "/models/sync", key=ADMIN_KEY, json={"provider": "anthropic"})
    models = client.models.list()
    ids = [m.id for m in models.data]
    assert "claude-sonnet-4-20250514" in ids and len(ids) == len(set(ids))
    assert all(m.type == "model" and m.display_name and m.created_at for m in models.data)
    assert client.models.retrieve("claude-sonnet-4-20250514").id == "claude-sonnet-4-20250514"
    with pytest.raises(anthropic.NotFoundError) as caught:
        client.models.retrieve("no-such-model")
    assert caught.value.body["error"]["type"] == "not_found_error"
