"""Anthropic Messages wire format, both ways, as pure functions: tool_use/tool_result (consecutive
results in one user turn), image blocks, cache_control, input_json_delta, structured output (native
or a forced tool), cache tokens."""
import json

import pytest

from inference_gateway import errors
from inference_gateway.providers import anthropic_format as fmt
from inference_gateway.providers.common import ToolCallBuffer
from inference_gateway.providers.sse import iter_events
from inference_gateway.types import (ChatRequest, Chunk, ImagePart, Message, ResponseFormat, TextPart, Tool, ToolCall,
                                     ToolCallDelta, Usage)

from .helpers import load

WEATHER = Tool("get_weather", {"type": "object", "properties": {"city": {"type": "string"}}}, "Weather")
TIME = Tool("get_time", {"type": "object", "properties": {"timezone": {"type": "string"}}})
FACTS = ResponseFormat("json_schema", "city_facts", {"type": "object", "properties": {
    "city": {"type": "string"}, "population": {"type": "integer"}}, "required": ["city"]})


def payload(messages, **kwargs):
    return fmt.messages_payload(ChatRequest(kwargs.pop("model", "claude-sonnet-4-5"), messages, **kwargs), 1024)


def test_parallel_tool_results_become_one_user_turn_after_the_tool_use_turn():
    sent = payload([
        Message("user", [TextPart("Weather and time?", {"type": "ephemeral"}),
                         ImagePart(url="https://example.test/a.jpg"),
                         ImagePart(data="R0lGODlhAQABAAAAACw=", mime_type="image/gif")]),
        Message("assistant", "Checking.", [ToolCall("toolu_1", "get_weather", {"city": "Paris"}),
                                           ToolCall("toolu_2", "get_time", {"timezone": "Europe/Paris"})]),
        Message("tool", "18 C", tool_call_id="toolu_1"),
        Message("tool", [TextPart("14:05")], tool_call_id="toolu_2"),
        Message("user", "Thanks"),
    ], tools=[WEATHER, TIME], tool_choice="required")
    assert sent["messages"] == [
        {"role": "user", "content": [
            {"type": "text", "text": "Weather and time?", "cache_control": {"type": "ephemeral"}},
            {"type": "image", "source": {"type": "url", "url": "https://example.test/a.jpg"}},
            {"type": "image", "source": {"type": "base64", "media_type": "image/gif",
                                         "data": "R0lGODlhAQABAAAAACw="}}]},
        {"role": "assistant", "content": [
            {"type": "text", "text": "Checking."},
            {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Paris"}},
            {"type": "tool_use", "id": "toolu_2", "name": "get_time", "input": {"timezone": "Europe/Paris"}}]},
        {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "toolu_1", "content": "18 C"},
            {"type": "tool_result", "tool_use_id": "toolu_2", "content": [{"type": "text", "text": "14:05"}]}]},
        {"role": "user", "content": "Thanks"}]
    assert sent["tools"] == [
        {"name": "get_weather", "description": "Weather", "input_schema": WEATHER.parameters},
        {"name": "get_time", "input_schema": TIME.parameters}]
    assert sent["tool_choice"] == {"type": "any"}


@pytest.mark.parametrize("choice, wire", [("auto", {"type": "auto"}), ("none", {"type": "none"}),
                                          ({"name": "get_weather"}, {"type": "tool", "name": "get_weather"})])
def test_tool_choice(choice, wire):
    assert payload([Message("user", "x")], tools=[WEATHER], tool_choice=choice)["tool_choice"] == wire


def test_a_cache_control_on_a_system_part_sends_system_as_blocks():
    sent = payload([Message("system", [TextPart("Long manual...", {"type": "ephemeral", "ttl": "1h"})]),
                    Message("user", "Q")], system="Be brief.")
    assert sent["system"] == [{"type": "text", "text": "Be brief."},
                              {"type": "text", "text": "Long manual...",
                               "cache_control": {"type": "ephemeral", "ttl": "1h"}}]
    assert payload([Message("user", "Q")], system="Be brief.")["system"] == "Be brief."


def test_a_reply_with_tool_use_gives_tool_calls_and_cache_tokens():
    completion = fmt.parse_message(load("anthropic", "message_tool_use.json"), "claude-sonnet-4-5")
    assert completion.content == "I'll check both."
    assert completion.tool_calls == [
        ToolCall("toolu_01A09q90qw90lq917835lq9", "get_weather", {"city": "Paris", "unit": "celsius"}),
        ToolCall("toolu_01B19r81rx81mr828946mr0", "get_time", {"timezone": "Europe/Paris"})]
    assert completion.finish_reason == "tool_calls"
    assert completion.usage == Usage(410 + 1500 + 2048, 96, cache_read_tokens=2048, cache_write_tokens=1500)


def test_a_streamed_tool_use_forwards_input_json_deltas_by_call_index():
    chunks = list(fmt.iter_chunks(iter_events([load("anthropic", "stream_tool_use.sse")])))
    assert "".join(c.text for c in chunks) == "Let me check both."
    deltas = [d for c in chunks for d in c.tool_calls]
    assert deltas[0] == ToolCallDelta(0, "toolu_01T1x1fJ34qAmk2tNTrN7Up6", "get_weather")
    assert [d.index for d in deltas] == [0] * 6 + [1] * 4  # the empty first piece is not forwarded
    buffer = ToolCallBuffer()
    for delta in deltas:
        buffer.add(delta)
    assert buffer.result() == [
        ToolCall("toolu_01T1x1fJ34qAmk2tNTrN7Up6", "get_weather", {"city": "Paris", "unit": "celsius"}),
        ToolCall("toolu_01B2", "get_time", {"timezone": "Europe/Paris"})]
    assert chunks[-1] == Chunk(usage=Usage(472 + 2048, 89, cache_read_tokens=2048), finish_reason="tool_calls")


def test_native_structured_output_on_models_that_have_it():
    sent = payload([Message("user", "Facts about Paris")], model="claude-sonnet-4-5-20250929", response_format=FACTS)
    assert sent["output_config"] == {"format": {"type": "json_schema", "schema": FACTS.schema}}
    assert "tools" not in sent and "tool_choice" not in sent
    assert fmt.structured_name(ChatRequest("claude-opus-4-6", [], response_format=FACTS)) is None


def test_older_models_get_a_forced_tool_and_its_input_comes_back_as_json_text():
    req = ChatRequest("claude-3-5-haiku-20241022", [Message("user", "Facts about Paris")], response_format=FACTS)
    sent = fmt.messages_payload(req, 1024)
    assert sent["tools"] == [{"name": "city_facts", "description": sent["tools"][0]["description"],
                              "input_schema": FACTS.schema}]
    assert sent["tool_choice"] == {"type": "tool", "name": "city_facts"}
    assert "output_config" not in sent
    completion = fmt.parse_message(load("anthropic", "message_forced_tool.json"), req.model,
                                   structured=fmt.structured_name(req))
    assert json.loads(completion.content) == {"city": "Paris", "population": 2102650}
    assert completion.tool_calls == [] and completion.finish_reason == "stop"


def test_a_streamed_forced_tool_arrives_as_text():
    raw = load("anthropic", "stream_tool_use.sse").replace(b'"name":"get_weather"', b'"name":"city_facts"')
    chunks = list(fmt.iter_chunks(iter_events([raw]), structured="city_facts"))
    text = "".join(c.text for c in chunks)
    assert text == 'Let me check both.{"city": "Paris", "unit": "celsius"}'
    assert [d.index for c in chunks for d in c.tool_calls] == [0] * 4  # get_time stays a tool call
    assert chunks[-1].finish_reason == "tool_calls"


def test_json_mode_uses_a_free_form_forced_tool_on_every_model():
    sent = payload([Message("user", "x")], response_format=ResponseFormat("json"))
    assert sent["tool_choice"] == {"type": "tool", "name": fmt.JSON_TOOL}
    assert sent["tools"][0]["input_schema"] == {"type": "object"}


def test_a_forced_tool_beside_the_callers_tools_is_refused_as_unsupported():
    with pytest.raises(errors.Unsupported, match="provider 'claude' does not support a JSON response format"):
        fmt.messages_payload(ChatRequest("claude-3-5-haiku-latest", [Message("user", "x")], tools=[WEATHER],
                                         response_format=FACTS), 1024, name="claude")
