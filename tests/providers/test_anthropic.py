"""Anthropic adapter: Messages translation, stream events, pagination, errors."""
import pytest
from responses import matchers

from inference_gateway import errors
from inference_gateway.providers.anthropic import AnthropicProvider
from inference_gateway.types import (Chunk, EmbedRequest, ImageRequest, Message, TranscribeRequest,
                                     Usage)

from .helpers import add_sse, chat_request, load, sent_json

BASE = "https://api.anthropic.com/v1"


@pytest.fixture
def claude(make):
    return make(AnthropicProvider)


def test_list_models_follows_pages(claude, rsps):
    rsps.get(f"{BASE}/models", json=load("anthropic", "models_page1.json"),
             match=[matchers.query_param_matcher({"limit": "1000"})])
    rsps.get(f"{BASE}/models", json=load("anthropic", "models_page2.json"),
             match=[matchers.query_param_matcher({"limit": "1000",
                                                  "after_id": "claude-opus-4-1-20250805"})])
    models = list(claude.list_models())
    assert [(m.model_id, m.display_name) for m in models] == [
        ("claude-sonnet-4-5-20250929", "Claude Sonnet 4.5"),
        ("claude-opus-4-1-20250805", "Claude Opus 4.1"),
        ("claude-3-5-haiku-20241022", "Claude Haiku 3.5")]
    assert all(m.capabilities == ["chat"] for m in models)
    assert rsps.calls[0].request.headers["x-api-key"] == "sk-test"


def test_chat_moves_system_prompts_to_the_top_level(claude, rsps):
    rsps.post(f"{BASE}/messages", json=load("anthropic", "message.json"))
    req = chat_request("claude-sonnet-4-5", system="Be brief.", temperature=0.5, top_p=0.8,
                       stop=["END"], messages=[Message("system", "You are Claude."),
                                               Message("user", "Hi"),
                                               Message("assistant", "Hello."),
                                               Message("user", "Greet me.")])
    completion = claude.chat(req)
    request = rsps.calls[0].request
    assert request.headers["x-api-key"] == "sk-test"
    assert request.headers["anthropic-version"] == "2023-06-01"
    assert "Authorization" not in request.headers
    assert sent_json(rsps.calls[0]) == {
        "model": "claude-sonnet-4-5", "max_tokens": 1024,
        "system": "Be brief.\n\nYou are Claude.",
        "messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello."},
                     {"role": "user", "content": "Greet me."}],
        "temperature": 0.5, "top_p": 0.8, "stop_sequences": ["END"],
    }
    assert completion.content == "Hello! How can I help?"  # the thinking block is left out
    assert completion.finish_reason == "stop"
    assert completion.usage == Usage(12, 9)


@pytest.mark.parametrize("stream", [False, True])
def test_temperature_above_anthropics_range_is_refused_before_any_call(claude, rsps, stream):
    # The API accepts up to 2 (OpenAI, Gemini); Anthropic's spec stops at 1 (found with Prism).
    req = chat_request("claude-sonnet-4-5", temperature=1.5)
    with pytest.raises(errors.BadRequest, match="temperature must be between 0 and 1"):
        claude.stream(req) if stream else claude.chat(req)
    assert len(rsps.calls) == 0


def test_temperature_one_is_sent(claude, rsps):
    rsps.post(f"{BASE}/messages", json=load("anthropic", "message.json"))
    claude.chat(chat_request("claude-sonnet-4-5", temperature=1.0))
    assert sent_json(rsps.calls[0])["temperature"] == 1.0


def test_chat_uses_the_callers_max_tokens_and_counts_cached_input(claude, rsps):
    rsps.post(f"{BASE}/messages", json=load("anthropic", "message_max_tokens.json"))
    completion = claude.chat(chat_request("claude-sonnet-4-5", max_tokens=5))
    assert sent_json(rsps.calls[0]) == {"model": "claude-sonnet-4-5", "max_tokens": 5,
                                        "messages": [{"role": "user", "content": "Hello?"}]}
    assert completion.finish_reason == "length"
    assert completion.usage == Usage(20 + 100 + 50, 5, cache_read_tokens=50, cache_write_tokens=100)


@pytest.mark.parametrize("stop_reason,expected", [
    ("end_turn", "stop"), ("stop_sequence", "stop"), ("max_tokens", "length"),
    ("tool_use", "tool_calls"), ("refusal", "content_filter"), ("Something_New", "something_new")])
def test_stop_reasons_are_normalised(claude, rsps, stop_reason, expected):
    reply = load("anthropic", "message.json")
    reply["stop_reason"] = stop_reason
    rsps.post(f"{BASE}/messages", json=reply)
    assert claude.chat(chat_request("claude-sonnet-4-5")).finish_reason == expected


def test_stream_yields_deltas_and_running_usage(claude, rsps):
    add_sse(rsps, "POST", f"{BASE}/messages", load("anthropic", "stream.sse"))
    chunks = list(claude.stream(chat_request("claude-sonnet-4-5")))
    assert sent_json(rsps.calls[0])["stream"] is True
    assert chunks == [Chunk(usage=Usage(25, 1)), Chunk(text="Hello"), Chunk(text="!"),
                      Chunk(usage=Usage(25, 15), finish_reason="stop")]


def test_stream_skips_thinking_and_takes_cumulative_usage_from_message_delta(claude, rsps):
    add_sse(rsps, "POST", f"{BASE}/messages", load("anthropic", "stream_thinking.sse"))
    chunks = list(claude.stream(chat_request("claude-sonnet-4-5")))
    assert [c.text for c in chunks if c.text] == ["42"]
    assert chunks[-1] == Chunk(usage=Usage(40, 64, cache_read_tokens=30), finish_reason="length")


def test_stream_error_event_after_200_raises(claude, rsps):
    add_sse(rsps, "POST", f"{BASE}/messages", load("anthropic", "stream_error.sse"))
    stream = claude.stream(chat_request("claude-sonnet-4-5"))
    assert next(stream) == Chunk(usage=Usage(25, 1))
    assert next(stream) == Chunk(text="Hel")
    with pytest.raises(errors.UpstreamError, match="Overloaded"):
        next(stream)


def test_stream_without_message_stop_is_a_cut(claude, rsps):
    add_sse(rsps, "POST", f"{BASE}/messages", load("anthropic", "stream_cut.sse"))
    seen = []
    with pytest.raises(errors.UpstreamError, match="no message_stop"):
        for chunk in claude.stream(chat_request("claude-sonnet-4-5")):
            seen.append(chunk)
    assert [c.text for c in seen if c.text] == ["Once"]


def test_529_overloaded_is_retried_then_succeeds(claude, rsps, sleeps):
    rsps.post(f"{BASE}/messages", status=529, json=load("anthropic", "error_overloaded.json"))
    rsps.post(f"{BASE}/messages", json=load("anthropic", "message.json"))
    assert claude.chat(chat_request("claude-sonnet-4-5")).content == "Hello! How can I help?"
    assert len(sleeps) == 1


def test_529_every_time_is_502(claude, rsps, sleeps):
    for _ in range(3):
        rsps.post(f"{BASE}/messages", status=529, json=load("anthropic", "error_overloaded.json"))
    with pytest.raises(errors.UpstreamError) as caught:
        claude.stream(chat_request("claude-sonnet-4-5"))
    assert caught.value.status == 502
    assert "Overloaded (overloaded_error)" in caught.value.message
    assert len(rsps.calls) == 3


def test_429_honours_retry_after(claude, rsps, sleeps):
    rsps.post(f"{BASE}/messages", status=429, json=load("anthropic", "error_rate_limit.json"),
              headers={"retry-after": "3"})
    rsps.post(f"{BASE}/messages", json=load("anthropic", "message.json"))
    claude.chat(chat_request("claude-sonnet-4-5"))
    assert sleeps == [3.0]


def test_429_asking_for_too_long_a_wait_is_passed_on(claude, rsps, sleeps):
    rsps.post(f"{BASE}/messages", status=429, json=load("anthropic", "error_rate_limit.json"),
              headers={"retry-after": "60"})
    with pytest.raises(errors.RateLimited) as caught:
        claude.chat(chat_request("claude-sonnet-4-5"))
    assert caught.value.retry_after == 60.0
    assert "rate limit" in caught.value.message
    assert sleeps == []


def test_400_invalid_request_keeps_the_message(claude, rsps):
    rsps.post(f"{BASE}/messages", status=400, json=load("anthropic", "error_invalid_request.json"))
    with pytest.raises(errors.UpstreamError) as caught:
        claude.chat(chat_request("claude-sonnet-4-5", max_tokens=1000000))
    assert caught.value.status == 400
    assert "maximum allowed number of output tokens" in caught.value.message
    assert len(rsps.calls) == 1


def test_404_unknown_model(claude, rsps):
    rsps.post(f"{BASE}/messages", status=404, json=load("anthropic", "error_not_found.json"))
    with pytest.raises(errors.UpstreamError) as caught:
        claude.chat(chat_request("claude-9"))
    assert caught.value.status == 400
    assert "model: claude-9 (not_found_error)" in caught.value.message


def test_401_names_the_key_variable(claude, rsps):
    rsps.post(f"{BASE}/messages", status=401,
              json={"type": "error", "error": {"type": "authentication_error", "message": "invalid x-api-key"}})
    with pytest.raises(errors.UpstreamError, match="TEST_PROVIDER_KEY.*invalid x-api-key"):
        claude.chat(chat_request("claude-sonnet-4-5"))


def test_missing_key_names_the_environment_variable(make, rsps):
    claude = make(AnthropicProvider, key=None, env_var="ANTHROPIC_KEY_FOR_TEST")
    with pytest.raises(errors.ProviderNotConfigured, match="ANTHROPIC_KEY_FOR_TEST"):
        claude.stream(chat_request("claude-sonnet-4-5"))


def test_embeddings_images_and_transcription_are_unsupported(claude):
    with pytest.raises(errors.Unsupported):
        claude.embed(EmbedRequest(model="m", inputs=["x"]))
    with pytest.raises(errors.Unsupported):
        claude.images(ImageRequest(model="m", prompt="x"))
    with pytest.raises(errors.Unsupported):
        claude.transcribe(TranscribeRequest(model="m", audio=b"", filename="a.wav"))
