"""Rich chat bodies (parts, tools, tool results, response formats) through /chat and /chat/stream with
a scripted adapter: what reaches the adapter, what the caller gets back, and every refusal naming its field."""
import base64

import pytest

from inference_gateway.api.fast_chat import load_chat, plain_chat
from inference_gateway.api.schemas import IMAGE_MAX_BYTES
from inference_gateway.types import (Chunk, Completion, ImagePart, ResponseFormat, TextPart, Tool, ToolCall,
                                     ToolCallDelta, Usage)

from .helpers import log_rows as rows, sse_events

P = "/api/v1/inference"
WEATHER = {"name": "get_weather", "description": "Weather in a city",
           "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}
CALL = {"id": "call_1", "name": "get_weather", "arguments": {"city": "Paris"}, "signature": "c2lnbmF0dXJl"}
ROUND_TRIP = [
    {"role": "user", "content": [{"type": "text", "text": "Weather?", "cacheControl": {"type": "ephemeral"}},
                                 {"type": "image", "data": "iVBORw0KGgo=", "mimeType": "image/png"}]},
    {"role": "assistant", "toolCalls": [CALL]},
    {"role": "tool", "toolCallId": "call_1", "content": '{"temp": 18}'},
]


def test_a_tool_round_trip_reaches_the_adapter_as_neutral_types(api, script, openai):
    script.enqueue(Completion("It is 18 degrees.", "gpt-4o", Usage(30, 8), "stop"))
    status, body = api.post("/chat", json={
        "model": "gpt-4o", "messages": ROUND_TRIP, "tools": [WEATHER], "toolChoice": "auto",
        "responseFormat": {"type": "json_schema", "name": "answer", "schema": {"type": "object"}}})
    assert status == 200, body
    assert body["data"]["toolCalls"] == [] and body["data"]["content"] == "It is 18 degrees."
    req = script.history[0]
    user, assistant, tool = req.messages
    assert user.content == [TextPart("Weather?", {"type": "ephemeral"}),
                            ImagePart(data="iVBORw0KGgo=", mime_type="image/png")]
    assert assistant.tool_calls == [ToolCall("call_1", "get_weather", {"city": "Paris"}, "c2lnbmF0dXJl")]
    assert (tool.role, tool.tool_call_id, tool.content) == ("tool", "call_1", '{"temp": 18}')
    assert req.tools == [Tool("get_weather", WEATHER["parameters"], "Weather in a city")]
    assert req.tool_choice == "auto"
    assert req.response_format == ResponseFormat("json_schema", "answer", {"type": "object"})


def test_chat_returns_tool_calls_with_parsed_arguments_and_usage_details(app, api, script, openai):
    script.enqueue(Completion("", "gpt-4o", Usage(1180, 52, cache_read_tokens=1024, reasoning_tokens=7),
                              "tool_calls", [ToolCall("call_9", "get_weather", {"city": "Oslo"}, "sig")]))
    status, body = api.post("/chat", json={"model": "gpt-4o", "messages": [{"role": "user", "content": "?"}],
                                           "tools": [WEATHER]})
    assert status == 200, body
    data = body["data"]
    assert data["toolCalls"] == [{"id": "call_9", "name": "get_weather", "arguments": {"city": "Oslo"},
                                  "signature": "sig"}]
    assert data["finishReason"] == "tool_calls" and data["content"] == ""
    assert data["usage"] == {"inputTokens": 1180, "outputTokens": 52, "cacheReadTokens": 1024,
                             "reasoningTokens": 7}


def test_a_stream_forwards_tool_call_pieces_and_assembles_them_at_message_stop(client, script, openai):
    script.enqueue([Chunk(tool_calls=(ToolCallDelta(0, "call_a", "get_weather", ""),)),
                    Chunk(tool_calls=(ToolCallDelta(0, arguments='{"ci'),)),
                    Chunk(tool_calls=(ToolCallDelta(1, "call_b", "get_weather", '{"city":"Rome"}'),)),
                    Chunk(tool_calls=(ToolCallDelta(0, arguments='ty":"Oslo"}'),)),
                    Chunk(usage=Usage(20, 9, cache_write_tokens=5), finish_reason="tool_calls")])
    resp = client.post(P + "/chat/stream", json={"model": "gpt-4o", "tools": [WEATHER],
                                                 "messages": [{"role": "user", "content": "?"}]})
    assert resp.status_code == 200
    events = sse_events(resp)
    assert events[1:5] == [
        {"type": "tool_call_delta", "index": 0, "id": "call_a", "name": "get_weather", "arguments": ""},
        {"type": "tool_call_delta", "index": 0, "arguments": '{"ci'},
        {"type": "tool_call_delta", "index": 1, "id": "call_b", "name": "get_weather",
         "arguments": '{"city":"Rome"}'},
        {"type": "tool_call_delta", "index": 0, "arguments": 'ty":"Oslo"}'}]
    assert events[-1] == {"type": "message_stop", "finishReason": "tool_calls",
                          "usage": {"inputTokens": 20, "outputTokens": 9, "cacheWriteTokens": 5},
                          "toolCalls": [{"id": "call_a", "name": "get_weather", "arguments": {"city": "Oslo"}},
                                        {"id": "call_b", "name": "get_weather", "arguments": {"city": "Rome"}}]}


def test_streamed_arguments_cut_short_come_back_as_raw_text_and_the_row_is_a_success(
        app, client, script, openai):
    script.enqueue([Chunk(tool_calls=(ToolCallDelta(0, "c", "get_weather", '{"city": "Os'),)),
                    Chunk(usage=Usage(3, 4), finish_reason="length")])
    last = sse_events(client.post(P + "/chat/stream", json={
        "model": "gpt-4o", "tools": [WEATHER], "messages": [{"role": "user", "content": "?"}]}))[-1]
    assert last["finishReason"] == "length"
    assert last["toolCalls"] == [{"id": "c", "name": "get_weather", "arguments": {},
                                  "rawArguments": '{"city": "Os'}]
    [row] = rows(app)
    assert (row.status, row.output_tokens) == ("success", 4)


BAD = [
    ({"messages": [{"role": "user", "content": "x"}, {"role": "tool", "toolCallId": "nope", "content": "r"}]},
     "messages.1.toolCallId"),
    ({"messages": [{"role": "user", "content": "x"}],
      "responseFormat": {"type": "json_schema", "name": "a", "schema": "not an object"}}, "responseFormat.schema"),
    ({"messages": [{"role": "user", "content": "x"}], "tools": [{**WEATHER, "parameters": ["x"]}]},
     "tools.0.parameters"),
    ({"messages": [{"role": "user", "content": [{"type": "audio", "data": "x"}]}]}, "messages.0.content.0.type"),
    ({"messages": [{"role": "user", "content": [{"type": "image", "mimeType": "image/png",
                                                  "data": "A" * (IMAGE_MAX_BYTES // 3 * 4 + 8)}]}]},
     "messages.0.content.0.data"),
    ({"messages": [{"role": "user", "content": [{"type": "image", "url": "file:///etc/passwd"}]}]},
     "messages.0.content.0.url"),
    ({"messages": [{"role": "user", "content": [{"type": "image", "data": "iVBORw0KGgo=",
                                                  "mimeType": "image/tiff"}]}]}, "messages.0.content.0.mimeType"),
    ({"messages": [{"role": "user", "content": "x"}], "toolChoice": {"name": "get_weather"}}, "toolChoice"),
    ({"messages": [{"role": "user", "content": "x"}], "toolChoice": "always"}, "toolChoice"),
    ({"messages": [{"role": "system", "content": [{"type": "image", "url": "https://a.test/x.png"}]}]},
     "messages.0.content"),
    ({"messages": [{"role": "user", "toolCalls": [CALL], "content": "x"}]}, "messages.0.toolCalls"),
    ({"messages": [{"role": "assistant", "toolCalls": [{**CALL, "arguments": "{}"}]}]},
     "messages.0.toolCalls.0.arguments"),
    ({"messages": [{"role": "user", "content": "x"}], "tools": [WEATHER, WEATHER]}, "tools.1.name"),
]


@pytest.mark.parametrize("body, field", BAD, ids=[field for _, field in BAD])
def test_bad_rich_bodies_are_a_400_naming_the_field_with_a_row(app, api, script, openai, body, field):
    status, reply = api.post("/chat", json={"model": "gpt-4o", **body})
    assert status == 400, reply
    assert reply["error"]["code"] == "BAD_REQUEST"
    assert reply["error"]["message"].startswith(field + ":"), reply["error"]["message"]
    assert script.history == []
    [row] = rows(app)
    assert row.http_status == 400


def test_plain_bodies_keep_the_fast_path_and_rich_ones_leave_it():
    plain = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
    assert plain_chat(plain) == load_chat(plain)
    for rich in ({**plain, "tools": [WEATHER]}, {**plain, "responseFormat": {"type": "json"}},
                 {**plain, "toolChoice": "none"},
                 {"messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}]}]}):
        assert plain_chat(rich) is None
        assert load_chat(rich)  # the full schema takes them


def test_an_image_at_the_size_limit_is_accepted():
    data = base64.b64encode(b"\0" * IMAGE_MAX_BYTES).decode()
    loaded = load_chat({"messages": [{"role": "user", "content": [
        {"type": "image", "data": data, "mimeType": "image/png"}]}]})
    assert loaded["messages"][0]["content"][0]["mime_type"] == "image/png"
