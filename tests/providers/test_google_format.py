"""Gemini wire format, both ways, as pure functions: functionDeclarations, toolConfig, functionCall
and functionResponse (named from the call in the history), the thoughtSignature round trip,
inlineData images, responseMimeType + responseJsonSchema, cached and thinking tokens."""
import pytest

from inference_gateway import errors
from inference_gateway.providers import google_format as fmt
from inference_gateway.providers.common import ToolCallBuffer
from inference_gateway.providers.sse import iter_events
from inference_gateway.types import ChatRequest, ImagePart, Message, ResponseFormat, TextPart, Tool, ToolCall, Usage

from .helpers import load

WEATHER = Tool("get_weather", {"type": "object", "properties": {"city": {"type": "string"}}}, "Weather")
TIME = Tool("get_time", {"type": "object", "properties": {"timezone": {"type": "string"}}})


def test_a_thought_signature_survives_the_round_trip_on_its_own_call():
    reply = fmt.parse_generate(load("google", "generate_function_call.json"), "gemini-2.5-flash")
    weather, time = reply.tool_calls
    assert (weather.name, weather.arguments) == ("get_weather", {"city": "Paris", "unit": "celsius"})
    assert weather.signature == "CiQBjz1rX7Ah5mTQy0zYl1c3b2hLk0xJvXy2o8V4PqU9n7gkYQ=="
    assert (time.name, time.signature) == ("get_time", None)
    assert weather.id != time.id and weather.id.startswith("call_")
    assert reply.finish_reason == "tool_calls"
    assert reply.usage == Usage(2310, 38 + 144, cache_read_tokens=2048, reasoning_tokens=144)
    # The next turn, as a client sends it back: the calls unchanged, then both results.
    sent = fmt.generate_payload(ChatRequest("gemini-2.5-flash", [
        Message("user", "Weather and time in Paris?"),
        Message("assistant", "", reply.tool_calls),
        Message("tool", '{"temp": 18}', tool_call_id=weather.id),
        Message("tool", "14:05", tool_call_id=time.id),
    ], tools=[WEATHER, TIME]))
    assert sent["contents"][1:] == [
        {"role": "model", "parts": [
            {"functionCall": {"name": "get_weather", "args": {"city": "Paris", "unit": "celsius"}},
             "thoughtSignature": "CiQBjz1rX7Ah5mTQy0zYl1c3b2hLk0xJvXy2o8V4PqU9n7gkYQ=="},
            {"functionCall": {"name": "get_time", "args": {"timezone": "Europe/Paris"}}}]},
        {"role": "user", "parts": [
            {"functionResponse": {"name": "get_weather", "response": {"temp": 18}}},
            {"functionResponse": {"name": "get_time", "response": {"output": "14:05"}}}]}]
    assert sent["tools"] == [{"functionDeclarations": [
        {"name": "get_weather", "description": "Weather", "parametersJsonSchema": WEATHER.parameters},
        {"name": "get_time", "parametersJsonSchema": TIME.parameters}]}]


def test_streamed_function_calls_arrive_whole_with_their_signature():
    chunks = list(fmt.iter_chunks(iter_events([load("google", "stream_function_call.sse")])))
    assert "".join(c.text for c in chunks) == ""  # the thought part is left out
    buffer = ToolCallBuffer()
    for delta in (d for c in chunks for d in c.tool_calls):
        buffer.add(delta)
    weather, time = buffer.result()
    assert (weather.name, weather.arguments, weather.signature) == (
        "get_weather", {"city": "Paris"}, "CiQBjz1rX7Ah5mTQy0zYl1c3")
    assert (time.name, time.arguments, time.signature) == ("get_time", {"timezone": "Europe/Paris"}, None)
    assert chunks[-1].finish_reason == "tool_calls"
    assert chunks[-1].usage == Usage(95, 31 + 64, reasoning_tokens=64)


@pytest.mark.parametrize("choice, config", [
    ("auto", {"mode": "AUTO"}), ("none", {"mode": "NONE"}), ("required", {"mode": "ANY"}),
    ({"name": "get_time"}, {"mode": "ANY", "allowedFunctionNames": ["get_time"]})])
def test_tool_choice_is_the_function_calling_config(choice, config):
    sent = fmt.generate_payload(ChatRequest("g", [Message("user", "x")], tools=[WEATHER, TIME], tool_choice=choice))
    assert sent["toolConfig"] == {"functionCallingConfig": config}


def test_images_go_inline_and_a_json_schema_sets_mime_type_and_schema():
    schema = {"type": "object", "properties": {"city": {"type": "string"}}}
    sent = fmt.generate_payload(ChatRequest("g", [
        Message("user", [TextPart("What city?", {"type": "ephemeral"}),
                         ImagePart(data="UklGRh4AAABXRUJQ", mime_type="image/webp")])],
        response_format=ResponseFormat("json_schema", "place", schema)))
    assert sent["contents"] == [{"role": "user", "parts": [
        {"text": "What city?"}, {"inlineData": {"mimeType": "image/webp", "data": "UklGRh4AAABXRUJQ"}}]}]
    assert sent["generationConfig"] == {"responseMimeType": "application/json", "responseJsonSchema": schema}
    json_mode = fmt.generate_payload(ChatRequest("g", [Message("user", "x")], response_format=ResponseFormat("json")))
    assert json_mode["generationConfig"] == {"responseMimeType": "application/json"}
    reply = fmt.parse_generate(load("google", "generate_json.json"), "g")
    assert reply.content == '{"city": "Paris", "population": 2102650}' and reply.finish_reason == "stop"


def test_an_image_url_is_refused_as_unsupported_naming_the_provider():
    with pytest.raises(errors.Unsupported, match="provider 'gem' does not support image URLs"):
        fmt.generate_payload(ChatRequest("g", [Message("user", [ImagePart(url="https://example.test/a.png")])]),
                             name="gem")


def test_a_tool_result_for_an_unknown_call_is_refused():
    with pytest.raises(errors.BadRequest, match="matches no earlier tool call"):
        fmt.generate_payload(ChatRequest("g", [Message("tool", "x", tool_call_id="nope")]))


def test_the_tool_result_name_comes_from_the_latest_matching_call():
    sent = fmt.generate_payload(ChatRequest("g", [
        Message("assistant", "", [ToolCall("c1", "get_weather", {})]), Message("tool", "a", tool_call_id="c1"),
        Message("assistant", "", [ToolCall("c2", "get_time", {})]), Message("tool", "b", tool_call_id="c2")]))
    assert [c["parts"][0].get("functionResponse", {}).get("name") for c in sent["contents"]] == [
        None, "get_weather", None, "get_time"]
