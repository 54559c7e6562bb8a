"""OpenCode Zen adapter: routing by model family, Zen's extra stream chunks, errors."""
import pytest

from inference_gateway import errors
from inference_gateway.providers.opencode import OpenCodeProvider
from inference_gateway.types import (Chunk, EmbedRequest, ImageRequest, Message, ResponseFormat, Tool, ToolCall,
                                     TranscribeRequest, Usage)

from .helpers import add_sse, chat_request, load, sent_json

BASE = "https://opencode.ai/zen/v1"


@pytest.fixture
def zen(make):
    return make(OpenCodeProvider)


def test_list_models_needs_no_key(make, rsps):
    zen = make(OpenCodeProvider, key=None)
    rsps.get(f"{BASE}/models", json=load("opencode", "models.json"))
    models = list(zen.list_models())
    assert [m.model_id for m in models] == ["claude-sonnet-4-5", "gemini-3-flash", "gpt-5",
                                            "kimi-k2.5", "big-pickle"]
    assert all(m.capabilities == ["chat"] for m in models)
    assert "Authorization" not in rsps.calls[0].request.headers


def test_list_models_sends_the_key_when_there_is_one(zen, rsps):
    rsps.get(f"{BASE}/models", json=load("opencode", "models.json"))
    list(zen.list_models())
    assert rsps.calls[0].request.headers["Authorization"] == "Bearer sk-test"


def test_claude_goes_to_messages_in_anthropic_format(zen, rsps):
    rsps.post(f"{BASE}/messages", json=load("opencode", "messages.json"))
    completion = zen.chat(chat_request("opencode/claude-sonnet-4-5", system="Be brief.", stop=["X"]))
    request = rsps.calls[0].request
    assert request.headers["x-api-key"] == "sk-test"
    assert request.headers["anthropic-version"] == "2023-06-01"
    assert "Authorization" not in request.headers
    assert sent_json(rsps.calls[0]) == {
        "model": "claude-sonnet-4-5", "max_tokens": 1024, "system": "Be brief.",
        "messages": [{"role": "user", "content": "Hello?"}], "stop_sequences": ["X"]}
    assert completion.content == "Hello from Claude via Zen."
    assert completion.usage == Usage(10, 8)
    assert completion.finish_reason == "stop"


def test_gemini_goes_to_the_google_paths(zen, rsps):
    rsps.post(f"{BASE}/models/gemini-3-flash:generateContent", json=load("opencode", "generate.json"))
    completion = zen.chat(chat_request("gemini-3-flash", max_tokens=7))
    request = rsps.calls[0].request
    assert request.headers["x-goog-api-key"] == "sk-test"
    assert "Authorization" not in request.headers
    assert sent_json(rsps.calls[0]) == {"contents": [{"role": "user", "parts": [{"text": "Hello?"}]}],
                                        "generationConfig": {"maxOutputTokens": 7}}
    assert completion.content == "Hello from Gemini via Zen."
    assert completion.finish_reason == "length"
    assert completion.usage == Usage(5, 7)


@pytest.mark.parametrize("model", ["kimi-k2.5", "opencode/big-pickle", "gpt-5"])
def test_everything_else_goes_to_chat_completions_with_max_tokens(zen, rsps, model):
    rsps.post(f"{BASE}/chat/completions", json=load("opencode", "chat_completions.json"))
    completion = zen.chat(chat_request(model, max_tokens=20))
    assert rsps.calls[0].request.headers["Authorization"] == "Bearer sk-test"
    assert sent_json(rsps.calls[0]) == {"model": model.removeprefix("opencode/"),
                                        "messages": [{"role": "user", "content": "Hello?"}],
                                        "max_tokens": 20}
    assert completion.content == "Hi there."
    assert completion.usage == Usage(11, 3)


def test_chat_completions_stream_ignores_the_cost_chunk_after_done(zen, rsps):
    add_sse(rsps, "POST", f"{BASE}/chat/completions", load("opencode", "stream_chat_completions.sse"))
    chunks = list(zen.stream(chat_request("kimi-k2.5")))
    body = sent_json(rsps.calls[0])
    assert body["stream"] is True and body["stream_options"] == {"include_usage": True}
    assert chunks == [Chunk(text="Hi"), Chunk(text=" there."),
                      Chunk(usage=Usage(11, 3), finish_reason="stop")]


def test_claude_stream_tolerates_cost_pings(zen, rsps):
    add_sse(rsps, "POST", f"{BASE}/messages", load("opencode", "stream_messages.sse"))
    chunks = list(zen.stream(chat_request("claude-sonnet-4-5")))
    assert chunks == [Chunk(usage=Usage(10, 1)), Chunk(text="Hello"),
                      Chunk(usage=Usage(10, 4), finish_reason="stop")]


def test_claude_stream_with_a_ping_first(zen, rsps):
    add_sse(rsps, "POST", f"{BASE}/messages", load("opencode", "stream_messages_ping_first.sse"))
    chunks = list(zen.stream(chat_request("claude-haiku-4-5")))
    assert [c.text for c in chunks if c.text] == ["Yo"]
    assert chunks[-1] == Chunk(usage=Usage(3, 2), finish_reason="stop")


def test_gemini_stream_tolerates_the_cost_chunk(zen, rsps):
    add_sse(rsps, "POST", f"{BASE}/models/gemini-3-flash:streamGenerateContent?alt=sse",
            load("opencode", "stream_generate.sse"))
    chunks = list(zen.stream(chat_request("opencode/gemini-3-flash")))
    assert rsps.calls[0].request.headers["x-goog-api-key"] == "sk-test"
    assert [c.text for c in chunks if c.text] == ["Hello", " world"]
    assert chunks[-1] == Chunk(usage=Usage(5, 2), finish_reason="stop")


def test_unknown_model_401_says_so(zen, rsps):
    rsps.post(f"{BASE}/chat/completions", status=401, json=load("opencode", "error_unknown_model.json"))
    with pytest.raises(errors.UpstreamError) as caught:
        zen.chat(chat_request("gpt-9"))
    assert "Model gpt-9 not supported" in caught.value.message
    assert len(rsps.calls) == 1


def test_429_with_retry_after_is_retried(zen, rsps, sleeps):
    rsps.post(f"{BASE}/messages", status=429, json=load("opencode", "error_rate_limit.json"),
              headers={"retry-after": "4"})
    rsps.post(f"{BASE}/messages", json=load("opencode", "messages.json"))
    zen.chat(chat_request("claude-sonnet-4-5"))
    assert sleeps == [4.0]


def test_google_shaped_error_on_the_gemini_route_gives_retry_info(zen, rsps, sleeps):
    rsps.post(f"{BASE}/models/gemini-3-flash:generateContent", status=429,
              json=load("google", "error_429.json"))
    rsps.post(f"{BASE}/models/gemini-3-flash:generateContent", json=load("opencode", "generate.json"))
    zen.chat(chat_request("gemini-3-flash"))
    assert sleeps == [1.5]


def test_temperature_range_follows_the_routed_format(zen, rsps):
    # Anthropic's spec caps temperature at 1; the chat/completions models take up to 2.
    with pytest.raises(errors.BadRequest, match="temperature must be between 0 and 1"):
        zen.chat(chat_request("opencode/claude-sonnet-4-5", temperature=1.5))
    assert len(rsps.calls) == 0
    rsps.post(f"{BASE}/chat/completions", json=load("opencode", "chat_completions.json"))
    zen.chat(chat_request("opencode/kimi-k2.5", temperature=1.5))
    assert sent_json(rsps.calls[0])["temperature"] == 1.5


def test_chat_needs_the_key(make, rsps):
    zen = make(OpenCodeProvider, key=None, env_var="OPENCODE_KEY_FOR_TEST")
    with pytest.raises(errors.ProviderNotConfigured, match="OPENCODE_KEY_FOR_TEST"):
        zen.chat(chat_request("kimi-k2.5"))
    assert len(rsps.calls) == 0


def test_embeddings_images_and_transcription_are_unsupported(zen):
    with pytest.raises(errors.Unsupported):
        zen.embed(EmbedRequest(model="m", inputs=["x"]))
    with pytest.raises(errors.Unsupported):
        zen.images(ImageRequest(model="m", prompt="x"))
    with pytest.raises(errors.Unsupported):
        zen.transcribe(TranscribeRequest(model="m", audio=b"", filename="a.wav"))


def test_claude_route_carries_tools_and_structured_output_like_anthropic(zen, rsps):
    rsps.post(f"{BASE}/messages", json=load("anthropic", "message_forced_tool.json"))
    schema = {"type": "object", "properties": {"city": {"type": "string"}}}
    completion = zen.chat(chat_request("opencode/claude-3-5-haiku", response_format=ResponseFormat(
        "json_schema", "city_facts", schema)))
    sent = sent_json(rsps.calls[0])
    assert sent["tool_choice"] == {"type": "tool", "name": "city_facts"}
    assert completion.content == '{"city": "Paris", "population": 2102650}' and completion.tool_calls == []
    rsps.post(f"{BASE}/messages", json=load("anthropic", "message_tool_use.json"))
    completion = zen.chat(chat_request("opencode/claude-sonnet-4-5", tools=[Tool("get_weather", schema)], messages=[
        Message("user", "?"), Message("assistant", "", [ToolCall("t1", "get_weather", {"city": "Oslo"})]),
        Message("tool", "cold", tool_call_id="t1")]))
    assert sent_json(rsps.calls[1])["messages"][2] == {
        "role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": "cold"}]}
    assert [call.name for call in completion.tool_calls] == ["get_weather", "get_time"]


def test_gemini_route_streams_function_calls_with_their_signature(zen, rsps):
    add_sse(rsps, "POST", f"{BASE}/models/gemini-3-flash:streamGenerateContent",
            load("google", "stream_function_call.sse"))
    chunks = list(zen.stream(chat_request("opencode/gemini-3-flash", tools=[Tool("get_weather", {"type": "object"})])))
    assert sent_json(rsps.calls[0])["tools"] == [{"functionDeclarations": [
        {"name": "get_weather", "parametersJsonSchema": {"type": "object"}}]}]
    calls = [d for c in chunks for d in c.tool_calls]
    assert [(d.name, d.signature) for d in calls] == [("get_weather", "CiQBjz1rX7Ah5mTQy0zYl1c3"), ("get_time", None)]
    assert chunks[-1].finish_reason == "tool_calls"
