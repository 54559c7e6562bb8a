"""Rich chat end to end: real gunicorn, real sockets, the fake upstream answering in each provider's
own wire format (tests/fake_upstream/rich.py). For every provider type and route: a two-turn tool
round trip over /chat, /chat/stream and the WebSocket; an image part; a JSON schema answer; cached
and reasoning tokens in the answer, in the row and summed by /usage."""
import json

import pytest
import requests
import websocket

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


def answer_of(server, body, mode):
    """(content, toolCalls, finishReason, usage, the tool_call_delta events) of one chat in `mode`."""
    if mode == "chat":
        status, reply = chat(server, body)
        assert status == 200, reply
        data = reply["data"]
        return data["content"], data["toolCalls"], data["finishReason"], data["usage"], []
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
    stop = events[-1]
    assert stop["type"] == "message_stop", stop
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
