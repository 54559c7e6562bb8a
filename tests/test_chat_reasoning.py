"""Reasoning on the native API, against the fake upstream: `reasoning` settings reach each provider as
its own setting (or are a 400 UNSUPPORTED before anything is sent), bad ones are a 400 naming the
field, the thoughts a provider shows come back in /chat's reply and /chat/stream's message_stop,
and an assistant message takes them back, so Claude's and Gemini's signed thoughts go upstream
again on a tool round trip, and unsigned text (DeepSeek's reasoning_content) goes back to an
OpenAI-compatible server's tool-call turns only."""
import json
import pathlib

import pytest

from .fake_upstream import SSE, Reply
from .helpers import sse_events

P = "/api/v1/inference"
FIXTURES = pathlib.Path(__file__).parent / "fixtures" / "providers"
ASK = [{"role": "user", "content": "Weather in Paris?"}]
WEATHER = {"name": "get_weather", "description": "Current weather in a city",
           "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}
THINKING = "The user wants the weather; call the tool."
CLAUDE = "anthropic/claude-sonnet-4-20250514"
GEMINI = "google/gemini-2.5-flash"


def fixture_json(kind, name):
    return json.loads((FIXTURES / kind / name).read_text())


def fixture_sse(kind, name):
    return SSE([(FIXTURES / kind / name).read_bytes()], raw=True)


def sent(up, kind):
    return up.of_kind(kind)[-1].json


def at(body, path):
    """The value at a dotted path of a JSON body."""
    for key in path.split("."):
        body = body[key]
    return body


# -- settings -------------------------------------------------------------------------------------
@pytest.mark.parametrize("model, reasoning, kind, expected", [
    (CLAUDE, {"budgetTokens": 2048}, "anthropic", {"thinking": {"type": "enabled", "budget_tokens": 2048}}),
    (CLAUDE, {"effort": "high", "summary": "auto"}, "anthropic",
     {"thinking": {"type": "adaptive", "display": "summarized"}, "output_config": {"effort": "high"}}),
    (CLAUDE, {"mode": "disabled"}, "anthropic", {"thinking": {"type": "disabled"}}),
    (GEMINI, {"effort": "low", "summary": "auto"}, "google",
     {"generationConfig.thinkingConfig": {"thinkingLevel": "low", "includeThoughts": True}}),
    (GEMINI, {"mode": "adaptive"}, "google", {"generationConfig.thinkingConfig": {"thinkingBudget": -1}}),
    (GEMINI, {"mode": "enabled", "budgetTokens": 4096}, "google",
     {"generationConfig.thinkingConfig": {"thinkingBudget": 4096}}),
    ("openai/gpt-5", {"effort": "minimal"}, "openai", {"reasoning_effort": "minimal"}),
    ("local/llama3", {"effort": "high", "summary": "auto"}, "compat", {"reasoning_effort": "high"}),
])
def test_reasoning_reaches_each_provider_as_its_own_setting(api, up, registered, model, reasoning, kind, expected):
    status, body = api.post("/chat", json={"model": model, "messages": ASK, "reasoning": reasoning})
    assert status == 200, body
    assert {path: at(sent(up, kind), path) for path in expected} == expected


def test_a_body_without_reasoning_sends_none(api, up, registered):
    for model, kind in ((CLAUDE, "anthropic"), ("openai/gpt-5", "openai")):
        api.post("/chat", json={"model": model, "messages": ASK, "reasoning": None})
        assert not {"thinking", "output_config", "reasoning_effort"} & set(sent(up, kind))


@pytest.mark.parametrize("model, reasoning, named", [
    ("openai/gpt-4o", {"budgetTokens": 2048}, "a thinking budget"),
    ("local/llama3", {"mode": "adaptive"}, "a thinking budget"),
    ("openai/gpt-4o", {"summary": "detailed"}, "reasoning summaries"),
    (CLAUDE, {"effort": "minimal"}, "reasoning effort 'minimal'"),
    (GEMINI, {"effort": "max"}, "reasoning effort 'max'"),
    (GEMINI, {"effort": "low", "budgetTokens": 2048}, "a thinking budget together with a reasoning effort"),
])
def test_a_setting_the_provider_has_none_for_is_a_400_unsupported_before_anything_is_sent(
        api, up, registered, model, reasoning, named):
    status, body = api.post("/chat", json={"model": model, "messages": ASK, "reasoning": reasoning})
    assert status == 400 and body["error"]["code"] == "UNSUPPORTED", body
    assert named in body["error"]["message"] and f"'{model.split('/')[0]}'" in body["error"]["message"]
    assert up.requests == []


@pytest.mark.parametrize("reasoning, field, words", [
    ("high", "reasoning._schema", "must be an object"),
    ({"effort": "extreme"}, "reasoning.effort", "must be one of: none, minimal"),
    ({"effort": 3}, "reasoning.effort", "Not a valid string"),
    ({"budgetTokens": "2048"}, "reasoning.budgetTokens", "Not a valid integer"),
    ({"budgetTokens": True}, "reasoning.budgetTokens", "Not a valid integer"),
    ({"budgetTokens": 512}, "reasoning.budgetTokens", "from 1024"),
    ({"mode": "sometimes"}, "reasoning.mode", "must be one of: enabled, adaptive, disabled"),
    ({"mode": "enabled"}, "reasoning.budgetTokens", "is required with mode enabled"),
    ({"mode": "disabled", "budgetTokens": 2048}, "reasoning.budgetTokens", "not disabled"),
    ({"summary": "verbose"}, "reasoning.summary", "must be one of: auto, concise, detailed, omitted"),
    ({"budget_tokens": 2048}, "reasoning.budget_tokens", "did you mean budgetTokens?"),
])
def test_bad_reasoning_is_a_400_naming_the_field(api, up, registered, reasoning, field, words):
    for path in ("/chat", "/chat/stream"):
        status, body = api.post(path, json={"model": CLAUDE, "messages": ASK, "reasoning": reasoning})
        assert status == 400 and body["error"]["code"] == "BAD_REQUEST", body
        assert words in " ".join(body["error"]["details"][field]), body
    assert up.requests == []


@pytest.mark.parametrize("message, field, words", [
    ({"role": "user", "content": "hi", "thoughts": []}, "messages.0.thoughts", "only an assistant message"),
    ({"role": "assistant", "content": "x", "thoughts": "thinking"}, "messages.0.thoughts", "Not a valid list"),
    ({"role": "assistant", "content": "x", "thoughts": ["thinking"]}, "messages.0.thoughts.0._schema",
     "must be an object"),
    ({"role": "assistant", "content": "x", "thoughts": [{"text": 5}]}, "messages.0.thoughts.0.text", "string"),
    ({"role": "assistant", "content": "x", "thoughts": [{"text": "a", "signature": 7}]},
     "messages.0.thoughts.0.signature", "string"),
    ({"role": "assistant", "content": "x", "thoughts": [{"text": "a", "redacted": "r"}]},
     "messages.0.thoughts.0.redacted", "carries its data alone"),
    ({"role": "assistant", "content": "x", "thoughts": [{"thinking": "a"}]}, "messages.0.thoughts.0.thinking",
     "Unknown field"),
])
def test_bad_thoughts_are_a_400_naming_the_field(api, up, registered, message, field, words):
    status, body = api.post("/chat", json={"model": CLAUDE, "messages": [message, *ASK]})
    assert status == 400 and words in " ".join(body["error"]["details"][field]), body
    assert up.requests == []


# -- thoughts in the reply ------------------------------------------------------------------------
def test_a_reply_without_reasoning_has_no_reasoning_fields(api, up, registered):
    status, body = api.post("/chat", json={"model": "openai/gpt-4o", "messages": ASK})
    assert status == 200 and not {"reasoning", "thoughts"} & set(body["data"])


@pytest.mark.parametrize("model, kind, fields", [
    ("local/llama3", "compat", ("reasoning_content",)),  # DeepSeek, SGLang, vLLM < 0.11
    ("opencode/kimi-k2", "opencode", ("reasoning",)),  # OpenRouter, Ollama, vLLM >= 0.11
    ("openai/gpt-4o", "openai", ("reasoning", "reasoning_content")),  # both, the same text: once
])
def test_openai_format_reasoning_text_comes_back_once_sync_and_stream(api, client, up, registered, model, kind,
                                                                      fields):
    up.reasoning, up.reasoning_fields = "Recall the capital of France.", fields
    status, body = api.post("/chat", json={"model": model, "messages": ASK})
    data = body["data"]
    assert (data["content"], data["reasoning"]) == ("The capital of France is Paris.", up.reasoning)
    assert data["thoughts"] == [{"text": up.reasoning}]  # no signature: nothing to send back upstream
    events = sse_events(client.post(P + "/chat/stream", json={"model": model, "messages": ASK}))
    pieces = [e for e in events if e["type"] == "thinking_delta"]
    assert "".join(e["text"] for e in pieces) == up.reasoning and {e["index"] for e in pieces} == {0}
    assert events.index(pieces[-1]) < min(i for i, e in enumerate(events) if e["type"] == "content_block_delta")
    stop = events[-1]
    assert (stop["reasoning"], stop["thoughts"]) == (up.reasoning, [{"text": up.reasoning}])


def test_claude_thoughts_come_back_with_their_signatures_sync_and_stream(api, client, up, registered):
    up.script("anthropic", Reply(json=fixture_json("anthropic", "message_thinking.json")))
    status, body = api.post("/chat", json={"model": CLAUDE, "messages": ASK, "tools": [WEATHER],
                                           "reasoning": {"budgetTokens": 2048}})
    data = body["data"]
    assert data["reasoning"] == THINKING
    assert data["thoughts"] == [{"text": THINKING, "signature": "EqQBCgIYAhIMsigA"},
                                {"text": "", "redacted": "EmwKAhgBEgy3va3pzix"}]
    up.script("anthropic", fixture_sse("anthropic", "stream_thinking.sse"))
    events = sse_events(client.post(P + "/chat/stream", json={"model": CLAUDE, "messages": ASK}))
    assert [(e["text"], e.get("signature")) for e in events if e["type"] == "thinking_delta"] == [
        ("Let me think.", None), ("", "EqQBCgIYAhIM")]
    assert events[-1]["thoughts"] == [{"text": "Let me think.", "signature": "EqQBCgIYAhIM"}]


def test_gemini_thoughts_streamed_are_assembled_in_message_stop(client, up, registered):
    up.script("google", fixture_sse("google", "stream_thoughts.sse"))
    events = sse_events(client.post(P + "/chat/stream", json={"model": GEMINI, "messages": ASK,
                                                                "tools": [WEATHER]}))
    stop = events[-1]
    assert stop["thoughts"] == [{"text": "**Planning** I need the weather.", "signature": "CiQBsigThought"}]
    assert stop["toolCalls"][0]["signature"] == "CiQBsigCall"


# -- thoughts sent back ---------------------------------------------------------------------------
def second_turn(first, result="Sunny"):
    """The conversation's next request: the assistant turn as the reply gave it, and the tool result."""
    [call] = first["toolCalls"]
    return ASK + [{"role": "assistant", "content": first["content"], "toolCalls": first["toolCalls"],
                   "thoughts": first["thoughts"]},
                  {"role": "tool", "toolCallId": call["id"], "content": result}]


def test_claude_thinking_with_tools_round_trip(api, up, registered):
    up.script("anthropic", Reply(json=fixture_json("anthropic", "message_thinking.json")))
    ask = {"model": CLAUDE, "tools": [WEATHER], "reasoning": {"budgetTokens": 2048}}
    first = api.post("/chat", json={**ask, "messages": ASK})[1]["data"]
    status, body = api.post("/chat", json={**ask, "messages": second_turn(first)})
    assert status == 200, body
    assert sent(up, "anthropic")["messages"][1]["content"] == [
        {"type": "thinking", "thinking": THINKING, "signature": "EqQBCgIYAhIMsigA"},
        {"type": "redacted_thinking", "data": "EmwKAhgBEgy3va3pzix"},
        {"type": "tool_use", "id": "toolu_01", "name": "get_weather", "input": {"city": "Paris"}}]


def test_gemini_thinking_with_tools_round_trip(api, up, registered):
    parts = [{"text": "Need the weather.", "thought": True, "thoughtSignature": "sig-thought"},
             {"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}, "thoughtSignature": "sig-call"}]
    up.script("google", Reply(json={"candidates": [{"content": {"role": "model", "parts": parts},
                                                    "finishReason": "STOP"}],
                                    "usageMetadata": {"promptTokenCount": 20, "candidatesTokenCount": 7}}))
    ask = {"model": GEMINI, "tools": [WEATHER], "reasoning": {"effort": "high", "summary": "auto"}}
    first = api.post("/chat", json={**ask, "messages": ASK})[1]["data"]
    assert first["thoughts"] == [{"text": "Need the weather.", "signature": "sig-thought"}]
    status, body = api.post("/chat", json={**ask, "messages": second_turn(first)})
    assert status == 200, body
    model_turn = next(c for c in sent(up, "google")["contents"] if c["role"] == "model")
    assert model_turn["parts"] == parts


def test_unsigned_thoughts_go_back_as_reasoning_content_to_compatible_servers_only(api, up, registered):
    """A DeepSeek-like server in thinking mode refuses a tool-call turn without its reasoning_content;
    OpenAI has no such field, and Claude takes signed thinking only."""
    up.rich, up.reasoning, up.reasoning_back_required = True, "Call the weather tool.", True
    ask = {"model": "local/llama3", "tools": [WEATHER]}
    first = api.post("/chat", json={**ask, "messages": ASK})[1]["data"]
    assert first["thoughts"] == [{"text": "Call the weather tool."}]
    status, body = api.post("/chat", json={**ask, "messages": second_turn(first)})
    assert status == 200 and body["data"]["content"] == "The tool said: Sunny", body
    assert sent(up, "compat")["messages"][1]["reasoning_content"] == "Call the weather tool."
    up.reasoning_back_required = False
    assert api.post("/chat", json={"model": "openai/gpt-4o", "tools": [WEATHER], "messages": second_turn(first)})[0] == 200
    assert not {"reasoning_content", "reasoning"} & set(sent(up, "openai")["messages"][1])
    assert api.post("/chat", json={"model": CLAUDE, "tools": [WEATHER], "messages": second_turn(first)})[0] == 200
    assert [b["type"] for b in sent(up, "anthropic")["messages"][1]["content"]] == ["tool_use"]
