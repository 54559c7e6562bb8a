"""Rich chat end to end: real gunicorn, real sockets, the fake upstream answering in each provider's
own wire format (tests/fake_upstream/rich.py). For every provider type and route: a two-turn tool
round trip over /chat, /chat/stream and the WebSocket; an image part; a JSON schema answer; cached
and reasoning tokens in the answer, in the row and summed by /usage; reasoning settings and the
thoughts shown, there and back."""
import json
import pathlib

import pytest
import requests
import websocket

from .fake_upstream import SSE
from .live import P, Gunicorn, receive_until_end, usage_of

# (provider name registered below, type, fake upstream kind): one of each type.
PROVIDERS = [("openai", "openai", "openai"), ("anthropic", "anthropic", "anthropic"),
             ("google", "google", "google"), ("opencode", "opencode", "opencode"),
             ("local", "openai-compatible", "compat")]
# Every route a model can take: the three OpenCode routes each speak another wire format.
MODELS = ["openai/gpt-4o", "anthropic/claude-sonnet-4-20250514", "google/gemini-2.5-flash",
          "opencode/kimi-k2", "opencode/claude-sonnet-4", "opencode/gemini-2.5-pro", "local/llama3"]
GEMINI = {"google/gemini-2.5-flash", "opencode/gemini-2.5-pro"}
WEATHER = {"name": "get_weather", "description": "Current weather in a city",
           "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}
SCHEMA = {"type": "object", "properties": {"city": {"type": "string"}, "population": {"type": "integer"}},
          "required": ["city", "population"], "additionalProperties": False}
FIXTURES = pathlib.Path(__file__).parent / "fixtures" / "providers"
PNG_1PX = ("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGNgYPj/HwADAgH/kU2jmQAAAABJRU5ErkJggg==")


@pytest.fixture(scope="module")
def gateway(tmp_path_factory, upstream):
    """One gunicorn (gevent, one worker) with a provider of every type pointed at the fake upstream."""
    tmp = tmp_path_factory.mktemp("rich")
    keys = {f"RICH_{name.upper()}_KEY": f"key-for-{name}" for name, _, _ in PROVIDERS}
    server = Gunicorn(tmp, f"sqlite:///{tmp}/gateway.db", **keys).start()
    try:
        for name, kind, fake in PROVIDERS:
            body = {"name": name, "type": kind, "baseUrl": upstream.base_url(fake)}
            if kind != "openai-compatible":
                body["envVar"] = f"RICH_{name.upper()}_KEY"
            resp = requests.post(server.url + P + "/providers", json=body, timeout=10)
            assert resp.status_code == 201, resp.text
        yield server
    finally:
        server.stop()


@pytest.fixture(autouse=True)
def rich_upstream(up):
    """The fake upstream answering tools, images and response formats (tests/fake_upstream/rich.py)."""
    up.rich = True
    return up


def chat(server, body):
    resp = requests.post(server.url + P + "/chat", json=body, timeout=15)
    return resp.status_code, resp.json()


def events_of(server, body, mode):
    """The events of one streamed chat over SSE (`stream`) or the WebSocket (`ws`), up to message_stop."""
    if mode == "stream":
        with requests.post(server.url + P + "/chat/stream", json=body, stream=True, timeout=15) as resp:
            assert resp.status_code == 200, resp.text
            events = [json.loads(line[len(b"data: "):]) for line in resp.iter_lines(chunk_size=None)
                      if line.startswith(b"data: ")]
    else:
        ws = websocket.create_connection(server.url.replace("http://", "ws://") + P + "/chat/ws", timeout=15)
        try:
            ws.send(json.dumps(body))
            events = receive_until_end(ws)
        finally:
            ws.close()
    assert events[-1]["type"] == "message_stop", events[-1]
    return events


def answer_of(server, body, mode):
    """(content, toolCalls, finishReason, usage, the tool_call_delta events) of one chat in `mode`."""
    if mode == "chat":
        status, reply = chat(server, body)
        assert status == 200, reply
        data = reply["data"]
        return data["content"], data["toolCalls"], data["finishReason"], data["usage"], []
    events = events_of(server, body, mode)
    stop = events[-1]
    text = "".join(e["delta"]["text"] for e in events if e["type"] == "content_block_delta")
    return text, stop["toolCalls"], stop["finishReason"], stop["usage"], \
        [e for e in events if e["type"] == "tool_call_delta"]


@pytest.mark.parametrize("mode", ["chat", "stream", "ws"])
@pytest.mark.parametrize("model", MODELS)
def test_a_two_turn_tool_round_trip(gateway, up, model, mode):
    ask = {"model": model, "tools": [WEATHER], "messages": [{"role": "user", "content": "Weather in Paris?"}]}
    content, calls, finish, usage, deltas = answer_of(gateway, ask, mode)
    assert finish == "tool_calls" and content == ""
    [call] = calls
    assert (call["name"], call["arguments"]) == ("get_weather", up.tool_arguments)
    assert usage == up.last_usage
    if mode != "chat":
        # Pieces as they came, joined: the arguments the call carries.
        assert deltas[0]["id"] == call["id"] and deltas[0]["name"] == "get_weather"
        assert json.loads("".join(d["arguments"] for d in deltas)) == up.tool_arguments
    if model in GEMINI:
        assert call["signature"]  # Gemini's thoughtSignature, which the fake wants back
    # The client runs the tool and sends the call back unchanged, with its result.
    reply = {**ask, "messages": ask["messages"] + [
        {"role": "assistant", "content": "", "toolCalls": [call]},
        {"role": "tool", "toolCallId": call["id"], "content": "18 degrees and sunny"}]}
    content, calls, finish, usage, _ = answer_of(gateway, reply, mode)
    assert (content, calls, finish) == ("The tool said: 18 degrees and sunny", [], "stop")
    assert usage == up.last_usage


@pytest.mark.parametrize("model", MODELS)
def test_an_image_part_reaches_the_provider_as_its_own_image_block(gateway, up, model):
    status, reply = chat(gateway, {"model": model, "messages": [{"role": "user", "content": [
        {"type": "text", "text": "What is in this picture?"},
        {"type": "image", "data": PNG_1PX, "mimeType": "image/png"}]}]})
    assert status == 200, reply
    assert reply["data"]["content"] == "I see 1 image(s): image/png"


@pytest.mark.parametrize("model", sorted(GEMINI))
def test_an_image_url_on_gemini_is_refused_as_unsupported_before_any_call(gateway, up, model):
    status, reply = chat(gateway, {"model": model, "messages": [{"role": "user", "content": [
        {"type": "image", "url": "https://images.example.test/cat.png"}]}]})
    assert status == 400 and reply["error"]["code"] == "UNSUPPORTED"
    assert "image URLs" in reply["error"]["message"]
    assert up.requests == []


@pytest.mark.parametrize("model", MODELS + ["anthropic/claude-sonnet-4-5"])
def test_a_json_schema_answer(gateway, up, model):
    status, reply = chat(gateway, {"model": model, "messages": [{"role": "user", "content": "Facts about Paris"}],
                                   "responseFormat": {"type": "json_schema", "name": "city_facts",
                                                      "schema": SCHEMA, "strict": True}})
    assert status == 200, reply
    data = reply["data"]
    assert json.loads(data["content"]) == up.json_answer
    assert (data["finishReason"], data["toolCalls"]) == ("stop", [])
    sent = up.requests[-1].json
    if model == "anthropic/claude-sonnet-4-5":  # native structured output
        assert sent["output_config"] == {"format": {"type": "json_schema", "schema": SCHEMA}}
    elif model.startswith(("anthropic/", "opencode/claude")):  # a forced tool
        assert sent["tool_choice"] == {"type": "tool", "name": "city_facts"}


def test_cached_and_reasoning_tokens_reach_the_answer_the_row_and_usage(gateway, up):
    before = usage_of(gateway.url)["summary"]
    up.usage_details = {"cache_read": 7, "cache_write": 3, "reasoning": 5}
    answers = []
    for model in MODELS:
        status, reply = chat(gateway, {"model": model, "messages": [{"role": "user", "content": "Hello"}]})
        assert status == 200, reply
        assert reply["data"]["usage"] == up.last_usage
        answers.append(reply["data"])
    # Each provider reports the details it has: OpenAI and Gemini no cache writes, Anthropic no reasoning.
    assert [sorted(a["usage"]) for a in answers[:3]] == [
        ["cacheReadTokens", "inputTokens", "outputTokens", "reasoningTokens"],
        ["cacheReadTokens", "cacheWriteTokens", "inputTokens", "outputTokens"],
        ["cacheReadTokens", "inputTokens", "outputTokens", "reasoningTokens"]]
    data = usage_of(gateway.url)
    for answer in answers:
        resp = requests.get(gateway.url + P + "/requests/" + answer["requestId"], timeout=10)
        assert resp.status_code == 200, resp.text
        row = resp.json()["data"]
        for key in ("inputTokens", "outputTokens", "cacheReadTokens", "cacheWriteTokens", "reasoningTokens"):
            assert row[key] == answer["usage"].get(key, 0), (answer["model"], key)
    after = data["summary"]
    for total, key in (("totalCacheReadTokens", "cacheReadTokens"), ("totalCacheWriteTokens", "cacheWriteTokens"),
                       ("totalReasoningTokens", "reasoningTokens"), ("totalInputTokens", "inputTokens")):
        assert after[total] - before[total] == sum(a["usage"].get(key, 0) for a in answers), total


def test_a_gemini_call_sent_back_without_its_signature_is_refused_upstream(gateway, up):
    ask = {"model": "google/gemini-2.5-flash", "tools": [WEATHER], "messages": [{"role": "user", "content": "?"}]}
    _, [call], _, _, _ = answer_of(gateway, ask, "chat")
    call.pop("signature")
    status, reply = chat(gateway, {**ask, "messages": ask["messages"] + [
        {"role": "assistant", "toolCalls": [call]}, {"role": "tool", "toolCallId": call["id"], "content": "x"}]})
    assert status == 400 and "thought_signature" in reply["error"]["message"]


@pytest.mark.parametrize("mode", ["chat", "stream", "ws"])
@pytest.mark.parametrize("model", ["openai/gpt-4o", "opencode/kimi-k2", "local/llama3"])
def test_reasoning_text_of_openai_format_servers_in_a_two_turn_tool_round_trip(gateway, up, model, mode):
    """DeepSeek-style reasoning_content comes back as the reply's reasoning (and the thinking_delta
    events), and is accepted back in the assistant message: a compatible server (DeepSeek in
    thinking mode, here through OpenCode too) gets it back on the tool-call turn, OpenAI never."""
    up.reasoning = "I should call get_weather."
    up.reasoning_back_required = model != "openai/gpt-4o"
    ask = {"model": model, "tools": [WEATHER], "reasoning": {"effort": "low"},
           "messages": [{"role": "user", "content": "Weather in Paris?"}]}
    if mode == "chat":
        status, reply = chat(gateway, ask)
        assert status == 200, reply
        first = reply["data"]
    else:
        events = events_of(gateway, ask, mode)
        assert "".join(e["text"] for e in events if e["type"] == "thinking_delta") == up.reasoning
        first = events[-1]
    assert up.requests[-1].json["reasoning_effort"] == "low"
    assert (first["reasoning"], first["thoughts"]) == (up.reasoning, [{"text": up.reasoning}])
    [call] = first["toolCalls"]
    content, calls, finish, _, _ = answer_of(gateway, {**ask, "messages": ask["messages"] + [
        {"role": "assistant", "content": "", "toolCalls": [call], "thoughts": first["thoughts"]},
        {"role": "tool", "toolCallId": call["id"], "content": "18 degrees and sunny"}]}, mode)
    assert (content, calls, finish) == ("The tool said: 18 degrees and sunny", [], "stop")
    turn = up.requests[-1].json["messages"][1]
    assert turn["role"] == "assistant" and "reasoning" not in turn
    assert turn.get("reasoning_content") == (None if model == "openai/gpt-4o" else up.reasoning)


def test_claude_thinking_streamed_then_sent_back_with_its_signature(gateway, up):
    up.script("anthropic", SSE([(FIXTURES / "anthropic" / "stream_thinking.sse").read_bytes()], raw=True))
    ask = {"model": "anthropic/claude-sonnet-4-20250514", "reasoning": {"budgetTokens": 2048},
           "messages": [{"role": "user", "content": "Six times seven?"}]}
    stop = events_of(gateway, ask, "stream")[-1]
    assert stop["thoughts"] == [{"text": "Let me think.", "signature": "EqQBCgIYAhIM"}]
    status, reply = chat(gateway, {**ask, "messages": ask["messages"] + [
        {"role": "assistant", "content": "42", "thoughts": stop["thoughts"]},
        {"role": "user", "content": "And times eight?"}]})
    assert status == 200, reply
    sent = up.requests[-1].json
    assert sent["thinking"] == {"type": "enabled", "budget_tokens": 2048}
    assert sent["messages"][1]["content"] == [
        {"type": "thinking", "thinking": "Let me think.", "signature": "EqQBCgIYAhIM"}, {"type": "text", "text": "42"}]
