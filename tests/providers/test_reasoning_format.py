"""Reasoning in the three wire formats, both ways, as pure functions: OpenAI's reasoning_effort and
Gemini's signature in extra_content (its OpenAI-compatible API); Anthropic's thinking config,
output_config.effort, top_k, thinking / redacted_thinking blocks with their signatures, and the
thinking_delta / signature_delta stream events; Gemini's thinkingConfig, topK, thought parts and
thoughtSignature. What a provider cannot take is refused naming the field, never dropped."""
import json

import pytest

from inference_gateway import errors
from inference_gateway.providers import anthropic_format, google_format, openai_format
from inference_gateway.providers.common import ToolCallBuffer
from inference_gateway.providers.sse import iter_events
from inference_gateway.types import (ChatRequest, Chunk, Message, Reasoning, Thought, ThoughtDelta, ToolCall, Usage)

from .helpers import load

ASK = [Message("user", "Weather in Paris?")]


def request(model, **kwargs):
    return ChatRequest(model, kwargs.pop("messages", ASK), **kwargs)


def events(body):
    return iter_events([body])


# -- OpenAI ---------------------------------------------------------------------------------------
def test_openai_takes_reasoning_effort_and_nothing_else_goes_quietly():
    sent = openai_format.chat_payload(request("o4-mini", reasoning=Reasoning(effort="high", summary="auto")))
    assert sent["reasoning_effort"] == "high" and "thinking" not in sent
    assert "reasoning_effort" not in openai_format.chat_payload(request("gpt-4o"))


@pytest.mark.parametrize("kwargs, named", [
    ({"top_k": 40}, "top_k"),
    ({"reasoning": Reasoning(mode="enabled", budget_tokens=2048)}, "budget"),
    ({"reasoning": Reasoning(mode="adaptive")}, "adaptive"),
    ({"reasoning": Reasoning(effort="low", summary="detailed")}, "summaries"),
])
def test_openai_refuses_what_chat_completions_cannot_carry(kwargs, named):
    with pytest.raises(errors.Unsupported) as caught:
        openai_format.chat_payload(request("o4-mini", **kwargs), name="oa")
    assert caught.value.status == 400 and named in caught.value.message and "'oa'" in caught.value.message


def test_gemini_signatures_through_an_openai_compatible_server_go_both_ways():
    """Google's OpenAI-compatible API puts thoughtSignature at extra_content.google.thought_signature."""
    extra = {"google": {"thought_signature": "sig-oa"}}
    reply = {"choices": [{"index": 0, "finish_reason": "tool_calls", "message": {
        "role": "assistant", "content": None, "tool_calls": [{"id": "c1", "type": "function", "extra_content": extra,
                                                              "function": {"name": "f", "arguments": "{}"}}]}}]}
    [call] = openai_format.parse_chat(reply, "gemini-3-pro").tool_calls
    assert call.signature == "sig-oa"
    chunk = {"choices": [{"index": 0, "delta": {"tool_calls": [
        {"index": 0, "id": "c1", "type": "function", "extra_content": extra,
         "function": {"name": "f", "arguments": "{}"}}]}}]}
    [piece] = next(openai_format.iter_chunks(events(f"data: {json.dumps(chunk)}\n\n".encode()),
                                             require_done=False)).tool_calls
    assert piece.signature == "sig-oa"
    sent = openai_format.chat_payload(request("gemini-3-pro", messages=ASK + [
        Message("assistant", "", [call]), Message("tool", "18 C", tool_call_id="c1")]))
    assert sent["messages"][1]["tool_calls"][0]["extra_content"] == extra
    plain = openai_format.chat_payload(request("gpt-4o", messages=ASK + [
        Message("assistant", "", [ToolCall("c1", "f", {})]), Message("tool", "x", tool_call_id="c1")]))
    assert "extra_content" not in plain["messages"][1]["tool_calls"][0]


def test_deepseeks_reasoning_content_is_one_unsigned_thought_beside_the_answer():
    reply = openai_format.parse_chat(load("openai_compatible", "chat_reasoning_content.json"), "deepseek-reasoner")
    assert reply.content == "9.11 is smaller than 9.8."
    assert reply.thoughts == [Thought("Compare the tenths: 1 is less than 8, so 9.11 < 9.8.")]
    assert reply.usage.reasoning_tokens == 52


def test_deepseeks_streamed_reasoning_content_comes_before_the_text_as_pieces_of_one_thought():
    chunks = list(openai_format.iter_chunks(events(load("openai_compatible", "stream_reasoning_content.sse"))))
    pieces = [t for c in chunks for t in c.thoughts]
    assert pieces == [ThoughtDelta(0, "Compare"), ThoughtDelta(0, " the tenths:"), ThoughtDelta(0, " 1 < 8.")]
    assert "".join(c.text for c in chunks) == "9.11 is smaller."
    assert all(not c.text for c in chunks[:3]) and chunks[-1].usage.reasoning_tokens == 30


def message_with(**fields):
    return {"choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": "Paris.", **fields}}]}


def delta_chunk(**fields):
    return f"data: {json.dumps({'choices': [{'index': 0, 'delta': fields}]})}\n\n"


@pytest.mark.parametrize("fields, expected", [
    ({"reasoning": "Recall capitals."}, "Recall capitals."),  # OpenRouter, Ollama, vLLM 0.11+
    ({"reasoning": "Recall capitals.", "reasoning_content": "Recall capitals."}, "Recall capitals."),  # both: once
    ({"reasoning_content": None, "reasoning": "Recall capitals."}, "Recall capitals."),
    ({"reasoning_content": "", "reasoning": None}, None),
    ({"reasoning": {"effort": "high"}}, None),  # not text: not reasoning to show
])
def test_reasoning_under_either_name_is_read_once(fields, expected):
    thoughts = openai_format.parse_chat(message_with(**fields), "m").thoughts
    assert list(thoughts) == ([Thought(expected)] if expected else [])
    stream = "".join(delta_chunk(**fields) for _ in range(2)) + delta_chunk(content="Paris.") + "data: [DONE]\n\n"
    pieces = [t.text for c in openai_format.iter_chunks(events(stream.encode())) for t in c.thoughts]
    assert pieces == ([expected] * 2 if expected else [])


def test_reasoning_text_goes_back_as_reasoning_content_on_tool_call_turns_only_when_asked():
    """DeepSeek's thinking mode needs a tool-call turn's reasoning_content back (a 400 otherwise);
    DeepSeek-R1 refuses it on a turn without tool calls; OpenAI knows no such field."""
    call = ToolCall("c1", "get_weather", {"city": "Paris"})
    thoughts = [Thought("Need the weather."), Thought("signed", "sig-1"), Thought(redacted="r"), Thought(" Call it.")]
    messages = ASK + [Message("assistant", "", [call], thoughts=thoughts), Message("tool", "Sunny", tool_call_id="c1"),
                      Message("assistant", "Sunny.", thoughts=[Thought("Answer.")]), Message("user", "And Spain?")]
    back = openai_format.chat_payload(request("deepseek-v4-pro", messages=messages), reasoning_back=True)["messages"]
    assert back[1]["reasoning_content"] == "Need the weather. Call it."  # the unsigned text only
    assert back[3] == {"role": "assistant", "content": "Sunny."}
    plain = openai_format.chat_payload(request("gpt-4o", messages=messages))["messages"]
    assert "reasoning_content" not in plain[1]
    unsigned_none = openai_format.chat_payload(request("m", messages=ASK + [
        Message("assistant", "", [call], thoughts=[Thought("signed", "sig-1")]),
        Message("tool", "Sunny", tool_call_id="c1")]), reasoning_back=True)["messages"]
    assert "reasoning_content" not in unsigned_none[1]


# -- Anthropic ------------------------------------------------------------------------------------
def anthropic_payload(**kwargs):
    return anthropic_format.messages_payload(request(kwargs.pop("model", "claude-sonnet-4-5"), **kwargs), 8192)


def test_anthropic_thinking_config_effort_and_top_k():
    sent = anthropic_payload(reasoning=Reasoning(mode="enabled", budget_tokens=2048), top_k=5)
    assert sent["thinking"] == {"type": "enabled", "budget_tokens": 2048} and sent["top_k"] == 5
    sent = anthropic_payload(reasoning=Reasoning(mode="adaptive", summary="omitted", effort="high"))
    assert sent["thinking"] == {"type": "adaptive", "display": "omitted"}
    assert sent["output_config"] == {"effort": "high"}
    assert anthropic_payload(reasoning=Reasoning(mode="disabled"))["thinking"] == {"type": "disabled"}
    # A summary asked for (OpenAI's reasoning.summary) turns thinking on, Claude deciding how much.
    assert anthropic_payload(reasoning=Reasoning(effort="low", summary="auto"))["thinking"] == {
        "type": "adaptive", "display": "summarized"}
    plain = anthropic_payload()
    assert not {"thinking", "top_k", "output_config"} & set(plain)


def test_anthropic_effort_beside_a_native_json_schema():
    from inference_gateway.types import ResponseFormat
    sent = anthropic_payload(model="claude-sonnet-4-5", reasoning=Reasoning(effort="max"),
                             response_format=ResponseFormat("json_schema", "r", {"type": "object"}))
    assert sent["output_config"] == {"format": {"type": "json_schema", "schema": {"type": "object"}},
                                     "effort": "max"}


@pytest.mark.parametrize("reasoning, named", [
    (Reasoning(effort="minimal"), "effort 'minimal'"),
    (Reasoning(mode="enabled"), "budget_tokens"),
])
def test_anthropic_refuses_what_it_has_no_setting_for(reasoning, named):
    with pytest.raises(errors.Unsupported, match=named):
        anthropic_payload(reasoning=reasoning)


def test_anthropic_thinking_blocks_go_back_first_unchanged_and_a_call_signature_before_its_call():
    turn = Message("assistant", "Checking.", [ToolCall("toolu_1", "get_weather", {"city": "Paris"}, "sig-call")],
                   thoughts=[Thought("Plan.", "sig-1"), Thought(redacted="REDACTED"), Thought("unsigned summary")])
    sent = anthropic_payload(messages=ASK + [turn, Message("tool", "18 C", tool_call_id="toolu_1")])
    assert sent["messages"][1]["content"] == [
        {"type": "thinking", "thinking": "Plan.", "signature": "sig-1"},
        {"type": "redacted_thinking", "data": "REDACTED"},
        {"type": "text", "text": "Checking."},
        {"type": "thinking", "thinking": "", "signature": "sig-call"},
        {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Paris"}}]


def test_an_anthropic_turn_with_thinking_and_no_tool_call_keeps_its_blocks():
    sent = anthropic_payload(messages=ASK + [Message("assistant", "Sunny.", thoughts=[Thought("Easy.", "sig-2")]),
                                             Message("user", "And tomorrow?")])
    assert sent["messages"][1] == {"role": "assistant", "content": [
        {"type": "thinking", "thinking": "Easy.", "signature": "sig-2"}, {"type": "text", "text": "Sunny."}]}
    assert anthropic_payload(messages=ASK + [Message("assistant", "Sunny."), Message("user", "And?")])[
        "messages"][1] == {"role": "assistant", "content": "Sunny."}


def test_anthropic_reply_keeps_thinking_and_redacted_blocks_in_order():
    completion = anthropic_format.parse_message(load("anthropic", "message_thinking.json"), "claude-sonnet-4-5")
    assert completion.thoughts == [Thought("The user wants the weather; call the tool.", "EqQBCgIYAhIMsigA"),
                                   Thought(redacted="EmwKAhgBEgy3va3pzix")]
    assert [c.name for c in completion.tool_calls] == ["get_weather"] and completion.content == ""


def test_anthropic_stream_thinking_delta_and_signature_delta():
    chunks = list(anthropic_format.iter_chunks(events(load("anthropic", "stream_thinking.sse"))))
    assert [c.thoughts for c in chunks if c.thoughts] == [
        (ThoughtDelta(0, "Let me think."),), (ThoughtDelta(0, signature="EqQBCgIYAhIM"),)]
    assert [c.text for c in chunks if c.text] == ["42"]


def test_anthropic_stream_redacted_block_then_a_second_thought():
    chunks = list(anthropic_format.iter_chunks(events(load("anthropic", "stream_redacted_thinking.sse"))))
    assert [c.thoughts for c in chunks if c.thoughts] == [
        (ThoughtDelta(0, redacted="EmwKAhgBEgy3va3pzix"),), (ThoughtDelta(1, "Two "),),
        (ThoughtDelta(1, "steps."),), (ThoughtDelta(1, signature="EqQBsig2"),)]
    assert chunks[-1] == Chunk(usage=Usage(10, 30), finish_reason="stop")


# -- Gemini ---------------------------------------------------------------------------------------
def gemini_config(**kwargs):
    return google_format.generate_payload(request("gemini-2.5-pro", **kwargs)).get("generationConfig", {})


def test_gemini_thinking_config_and_top_k():
    assert gemini_config(reasoning=Reasoning(mode="enabled", budget_tokens=2048, summary="auto"), top_k=20) == {
        "topK": 20, "thinkingConfig": {"thinkingBudget": 2048, "includeThoughts": True}}
    assert gemini_config(reasoning=Reasoning(effort="low"))["thinkingConfig"] == {"thinkingLevel": "low"}
    assert gemini_config(reasoning=Reasoning(mode="adaptive"))["thinkingConfig"] == {"thinkingBudget": -1}
    assert gemini_config(reasoning=Reasoning(effort="none"))["thinkingConfig"] == {"thinkingBudget": 0}
    assert gemini_config(reasoning=Reasoning(mode="disabled"))["thinkingConfig"] == {"thinkingBudget": 0}
    assert gemini_config(reasoning=Reasoning(mode="adaptive", summary="omitted"))["thinkingConfig"] == {
        "thinkingBudget": -1}
    assert gemini_config() == {}


@pytest.mark.parametrize("reasoning, named", [
    (Reasoning(effort="xhigh"), "effort 'xhigh'"),
    (Reasoning(mode="enabled", budget_tokens=2048, effort="high"), "not both"),
])
def test_gemini_refuses_what_it_has_no_setting_for(reasoning, named):
    with pytest.raises(errors.Unsupported, match=named):
        gemini_config(reasoning=reasoning)


def test_gemini_reply_thoughts_apart_from_the_answer():
    completion = google_format.parse_generate(load("google", "generate.json"), "gemini-2.5-flash")
    assert completion.content == "The capital of France is Paris."
    assert completion.thoughts == [Thought("The user asks for a capital.")]


def test_gemini_stream_thought_parts_make_one_thought_and_the_call_keeps_its_signature():
    chunks = list(google_format.iter_chunks(events(load("google", "stream_thoughts.sse"))))
    assert [c.thoughts for c in chunks if c.thoughts] == [
        (ThoughtDelta(0, "**Planning** I need "),), (ThoughtDelta(0, "the weather.", "CiQBsigThought"),)]
    buffer = ToolCallBuffer()
    for chunk in chunks:
        for delta in chunk.tool_calls:
            buffer.add(delta)
    [call] = buffer.result()
    assert (call.name, call.arguments, call.signature) == ("get_weather", {"city": "Paris"}, "CiQBsigCall")


def test_gemini_signed_thoughts_go_back_as_thought_parts_before_the_call():
    turn = Message("assistant", "", [ToolCall("c1", "get_weather", {"city": "Paris"}, "CiQBsigCall")],
                   thoughts=[Thought("the weather.", "CiQBsigThought"), Thought("unsigned"),
                             Thought(redacted="anthropic-only")])
    sent = google_format.generate_payload(request("gemini-2.5-pro", messages=ASK + [
        turn, Message("tool", '{"temp": 18}', tool_call_id="c1")]))
    assert sent["contents"][1]["parts"] == [
        {"text": "the weather.", "thought": True, "thoughtSignature": "CiQBsigThought"},
        {"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}, "thoughtSignature": "CiQBsigCall"}]


def test_a_thought_without_tool_calls_still_makes_a_model_turn_with_parts():
    sent = google_format.generate_payload(request("gemini-2.5-pro", messages=ASK + [
        Message("assistant", "Sunny.", thoughts=[Thought("t", "sig")]), Message("user", "And tomorrow?")]))
    assert sent["contents"][1] == {"role": "model", "parts": [
        {"text": "t", "thought": True, "thoughtSignature": "sig"}, {"text": "Sunny."}]}
