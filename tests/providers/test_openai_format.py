"""OpenAI wire format, both ways, as pure functions: tools, images, response formats, streamed
tool calls by index (arguments split across many chunks, parallel calls), cached and reasoning tokens."""
import pytest

from inference_gateway import errors
from inference_gateway.providers import openai_format as fmt
from inference_gateway.providers.common import ToolCallBuffer
from inference_gateway.providers.sse import iter_events
from inference_gateway.types import (ChatRequest, ImagePart, Message, ResponseFormat, TextPart, Tool, ToolCall,
                                     ToolCallDelta, Usage)

from .helpers import load

WEATHER = Tool("get_weather", {"type": "object", "properties": {"city": {"type": "string"}},
                               "required": ["city"]}, "Current weather in a city")


def tool_round_trip():
    """call, then result: the second turn of a tool round trip."""
    return [Message("user", [TextPart("Weather in Paris? See the photo.", {"type": "ephemeral"}),
                             ImagePart(url="https://example.test/paris.jpg"),
                             ImagePart(data="iVBORw0KGgo=", mime_type="image/png")]),
            Message("assistant", "", [ToolCall("call_1", "get_weather", {"city": "Paris"})]),
            Message("tool", '{"temp": 18}', tool_call_id="call_1")]


def test_tools_images_and_tool_results_go_out_in_openai_shape():
    req = ChatRequest("gpt-4o-mini", tool_round_trip(), tools=[WEATHER], tool_choice={"name": "get_weather"},
                      response_format=ResponseFormat("json_schema", "weather", {"type": "object"}, True))
    payload = fmt.chat_payload(req)
    assert payload["messages"] == [
        {"role": "user", "content": [
            {"type": "text", "text": "Weather in Paris? See the photo."},
            {"type": "image_url", "image_url": {"url": "https://example.test/paris.jpg"}},
            {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}}]},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "call_1", "type": "function",
             "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'}}]},
        {"role": "tool", "tool_call_id": "call_1", "content": '{"temp": 18}'}]
    assert payload["tools"] == [{"type": "function", "function": {
        "name": "get_weather", "description": "Current weather in a city", "parameters": WEATHER.parameters}}]
    assert payload["tool_choice"] == {"type": "function", "function": {"name": "get_weather"}}
    assert payload["response_format"] == {"type": "json_schema", "json_schema": {
        "name": "weather", "schema": {"type": "object"}, "strict": True}}


@pytest.mark.parametrize("choice", ["auto", "none", "required"])
def test_tool_choice_words_pass_through(choice):
    payload = fmt.chat_payload(ChatRequest("m", [Message("user", "x")], tools=[WEATHER], tool_choice=choice))
    assert payload["tool_choice"] == choice


def test_json_mode_is_json_object_and_text_is_text():
    plain = ChatRequest("m", [Message("user", "x")])
    assert fmt.chat_payload(ChatRequest("m", plain.messages, response_format=ResponseFormat("json")))[
        "response_format"] == {"type": "json_object"}
    assert fmt.chat_payload(ChatRequest("m", plain.messages, response_format=ResponseFormat("text")))[
        "response_format"] == {"type": "text"}
    assert fmt.chat_payload(plain) == {"model": "m", "messages": [{"role": "user", "content": "x"}]}


def test_an_image_in_a_tool_result_is_refused_as_unsupported_naming_the_provider():
    req = ChatRequest("m", [Message("assistant", "", [ToolCall("c", "f", {})]),
                            Message("tool", [ImagePart(url="https://example.test/a.png")], tool_call_id="c")])
    with pytest.raises(errors.Unsupported, match="provider 'local' does not support images in tool results"):
        fmt.chat_payload(req, name="local")


def test_a_reply_with_parallel_tool_calls_parses_arguments_as_objects_and_counts_cached_tokens():
    completion = fmt.parse_chat(load("openai", "chat_tool_calls.json"), "gpt-4o-mini")
    assert completion.tool_calls == [ToolCall("call_Vx1qLk2Zp9", "get_weather", {"city": "Paris", "unit": "celsius"}),
                                     ToolCall("call_Rt7mNb4Yc2", "get_time", {"timezone": "Europe/Paris"})]
    assert completion.content == "" and completion.finish_reason == "tool_calls"
    assert completion.usage == Usage(1180, 52, cache_read_tokens=1024)


def test_reasoning_tokens_are_read_from_completion_tokens_details():
    completion = fmt.parse_chat(load("openai", "chat_reasoning.json"), "o4-mini")
    assert completion.usage == Usage(40, 210, reasoning_tokens=192)
    assert completion.tool_calls == []


def test_arguments_that_are_not_a_json_object_are_kept_as_raw_text_beside_empty_arguments():
    body = load("openai", "chat_tool_calls.json")
    body["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"] = '{"city": "Par'
    body["choices"][0]["message"]["tool_calls"][1]["function"]["arguments"] = '["a list"]'
    first, second = fmt.parse_chat(body, "gpt-4o-mini").tool_calls
    assert (first.arguments, first.raw_arguments) == ({}, '{"city": "Par')
    assert (second.arguments, second.raw_arguments) == ({}, '["a list"]')


def test_streamed_parallel_tool_calls_arrive_by_index_and_assemble_whole():
    chunks = list(fmt.iter_chunks(iter_events([load("openai", "chat_stream_tool_calls.sse")])))
    deltas = [d for chunk in chunks for d in chunk.tool_calls]
    # Every piece is forwarded as it came: 11 argument pieces for the first call, 6 for the second.
    assert deltas[0] == ToolCallDelta(0, "call_Vx1qLk2Zp9", "get_weather", "")
    assert [d.index for d in deltas] == [0] * 12 + [1] * 7
    assert "".join(d.arguments for d in deltas if d.index == 0) == '{"city":"Paris","unit":"celsius"}'
    buffer = ToolCallBuffer()
    for delta in deltas:
        buffer.add(delta)
    assert buffer.result() == [
        ToolCall("call_Vx1qLk2Zp9", "get_weather", {"city": "Paris", "unit": "celsius"}),
        ToolCall("call_Rt7mNb4Yc2", "get_time", {"timezone": "Europe/Paris"})]
    assert [c.finish_reason for c in chunks if c.finish_reason] == ["tool_calls"]
    assert chunks[-1].usage == Usage(1180, 52, cache_read_tokens=1024)


def test_a_stream_split_at_every_byte_gives_the_same_tool_calls():
    raw = load("openai", "chat_stream_tool_calls.sse")
    whole = list(fmt.iter_chunks(iter_events([raw])))
    assert list(fmt.iter_chunks(iter_events(raw[i:i + 1] for i in range(len(raw))))) == whole


def test_interleaved_pieces_of_two_calls_assemble_by_index():
    buffer = ToolCallBuffer()
    for delta in [ToolCallDelta(1, "b", "g", '{"y"'), ToolCallDelta(0, "a", "f", '{"x":'),
                  ToolCallDelta(1, arguments=":2}"), ToolCallDelta(0, arguments="1}")]:
        buffer.add(delta)
    assert buffer.result() == [ToolCall("a", "f", {"x": 1}), ToolCall("b", "g", {"y": 2})]
