"""Tools, images and JSON schemas through the compatible surfaces, with the official SDKs against
gunicorn: a two-turn tool round trip for every provider type behind each surface (the upstream's
tool call scripted in its own wire format), streamed tool-call arguments, image parts, JSON schema
answers; and langchain-openai's ChatOpenAI binding tools."""
import json

import anthropic
import openai
import pytest

from .compat_server import ANSWER, FAKE_KIND, GATEWAY_KEY, KINDS, MODELS, PROMPT, run_gateway
from .fake_upstream import SSE, Reply

gateway = pytest.fixture(scope="module")(run_gateway)

WEATHER = {"name": "get_weather", "description": "The weather in a city",
           "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                          "required": ["city"]}}
ARGS = {"city": "Paris"}
PIXEL = ("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==")


def tool_reply(fake):
    """The upstream asking for get_weather(Paris), in the wire format of `fake`."""
    if fake == "anthropic":
        return Reply(json={"id": "msg_up", "type": "message", "role": "assistant", "model": "claude",
                           "content": [{"type": "tool_use", "id": "toolu_up1", "name": "get_weather",
                                        "input": ARGS}],
                           "stop_reason": "tool_use", "stop_sequence": None,
                           "usage": {"input_tokens": 20, "output_tokens": 7}})
    if fake == "google":
        return Reply(json={"candidates": [{"content": {"role": "model", "parts": [
            {"functionCall": {"name": "get_weather", "args": ARGS}, "thoughtSignature": "sig-1"}]},
            "finishReason": "STOP"}],
            "usageMetadata": {"promptTokenCount": 20, "candidatesTokenCount": 7, "totalTokenCount": 27}})
    return Reply(json={"id": "chatcmpl-up", "object": "chat.completion", "created": 1, "model": "m",
                       "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {
                           "role": "assistant", "content": None, "tool_calls": [{
                               "id": "call_up1", "type": "function",
                               "function": {"name": "get_weather", "arguments": json.dumps(ARGS)}}]}}],
                       "usage": {"prompt_tokens": 20, "completion_tokens": 7, "total_tokens": 27}})


def tool_result_sent(fake, sent):
    """The tool result as the upstream received it on the second turn: (call id or name, text)."""
    if fake == "anthropic":
        [block] = sent["messages"][-1]["content"]
        assert block["type"] == "tool_result"
        content = block["content"]
        return block["tool_use_id"], content if isinstance(content, str) else content[0]["text"]
    if fake == "google":
        part = sent["contents"][-1]["parts"][0]["functionResponse"]
        return part["name"], json.dumps(part["response"])
    message = sent["messages"][-1]
    assert message["role"] == "tool"
    return message["tool_call_id"], message["content"]


@pytest.fixture
def oai(gateway, up):
    with openai.OpenAI(base_url=gateway.url + "/v1", api_key=GATEWAY_KEY, max_retries=0, timeout=20) as c:
        yield c


@pytest.fixture
def claude(gateway, up):
    with anthropic.Anthropic(base_url=gateway.url, api_key=GATEWAY_KEY, max_retries=0, timeout=20) as c:
        yield c


@pytest.mark.parametrize("kind", KINDS)
def test_openai_tool_round_trip(oai, up, kind):
    fake = FAKE_KIND.get(kind, kind)
    up.script(fake, tool_reply(fake))
    tools = [{"type": "function", "function": WEATHER}]
    first = oai.chat.completions.create(model=MODELS[kind], messages=PROMPT, tools=tools, tool_choice="auto")
    choice = first.choices[0]
    assert choice.finish_reason == "tool_calls" and choice.message.content is None
    [call] = choice.message.tool_calls
    assert (call.type, call.function.name, json.loads(call.function.arguments)) == ("function", "get_weather", ARGS)
    second = oai.chat.completions.create(model=MODELS[kind], tools=tools, messages=[
        *PROMPT, choice.message.model_dump(exclude_none=True),
        {"role": "tool", "tool_call_id": call.id, "content": "Sunny, 21 C"}])
    assert second.choices[0].message.content == ANSWER
    ref, text = tool_result_sent(fake, up.of_kind(fake)[-1].json)
    assert ref in (call.id, "get_weather") and "Sunny, 21 C" in text


@pytest.mark.parametrize("kind", KINDS)
def test_anthropic_tool_round_trip(claude, up, kind):
    fake = FAKE_KIND.get(kind, kind)
    up.script(fake, tool_reply(fake))
    tools = [{"name": WEATHER["name"], "description": WEATHER["description"],
              "input_schema": WEATHER["parameters"]}]
    first = claude.messages.create(model=MODELS[kind], max_tokens=200, messages=PROMPT, tools=tools)
    assert first.stop_reason == "tool_use"
    [use] = [b for b in first.content if b.type == "tool_use"]
    assert (use.name, use.input) == ("get_weather", ARGS)
    second = claude.messages.create(model=MODELS[kind], max_tokens=200, tools=tools, messages=[
        *PROMPT, {"role": "assistant", "content": [b.model_dump(exclude_none=True) for b in first.content]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": use.id, "content": "Sunny, 21 C"}]}])
    assert second.content[0].text == ANSWER
    ref, text = tool_result_sent(fake, up.of_kind(fake)[-1].json)
    assert ref in (use.id, "get_weather") and "Sunny, 21 C" in text


def streamed_tool_call(pieces):
    """An OpenAI stream whose one tool call's arguments arrive in `pieces`."""
    head = {"index": 0, "id": "call_s1", "type": "function", "function": {"name": "get_weather", "arguments": ""}}
    events = [{"choices": [{"index": 0, "delta": {"role": "assistant", "tool_calls": [head]}}]}]
    events += [{"choices": [{"index": 0, "delta": {"tool_calls": [{"index": 0, "function": {"arguments": p}}]}}]}
               for p in pieces]
    events += [{"choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]},
               {"choices": [], "usage": {"prompt_tokens": 20, "completion_tokens": 7, "total_tokens": 27}},
               "[DONE]"]
    return SSE(events)


PIECES = ['{"ci', 'ty": ', '"Par', 'is"}']


def test_openai_streamed_tool_call_arguments_arrive_in_pieces(oai, up):
    up.script("openai", streamed_tool_call(PIECES))
    chunks = list(oai.chat.completions.create(model=MODELS["openai"], messages=PROMPT, stream=True,
                                              tools=[{"type": "function", "function": WEATHER}]))
    deltas = [tc for c in chunks if c.choices for tc in (c.choices[0].delta.tool_calls or [])]
    assert deltas[0].id == "call_s1" and deltas[0].function.name == "get_weather"
    assert [d.function.arguments for d in deltas if d.function.arguments] == PIECES
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "tool_calls"


def test_anthropic_streamed_tool_use_has_input_json_deltas(claude, up):
    up.script("openai", streamed_tool_call(PIECES))
    tools = [{"name": "get_weather", "input_schema": WEATHER["parameters"]}]
    with claude.messages.stream(model=MODELS["openai"], max_tokens=100, messages=PROMPT, tools=tools) as stream:
        events = list(stream)
        final = stream.get_final_message()
    partial = [e.delta.partial_json for e in events if e.type == "content_block_delta"
               and e.delta.type == "input_json_delta"]
    assert partial == PIECES
    [use] = final.content
    assert (use.type, use.id, use.input) == ("tool_use", "call_s1", ARGS)
    assert final.stop_reason == "tool_use"


def test_image_parts_reach_each_provider_format(oai, claude, up):
    oai.chat.completions.create(model=MODELS["anthropic"], messages=[{"role": "user", "content": [
        {"type": "text", "text": "What is this?"},
        {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PIXEL}"}}]}])
    blocks = up.of_kind("anthropic")[-1].json["messages"][0]["content"]
    assert blocks[1] == {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PIXEL}}
    claude.messages.create(model=MODELS["openai"], max_tokens=50, messages=[{"role": "user", "content": [
        {"type": "image", "source": {"type": "url", "url": "https://example.com/cat.png"}},
        {"type": "text", "text": "What is this?"}]}])
    parts = up.of_kind("openai")[-1].json["messages"][0]["content"]
    assert parts[0] == {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}}


SCHEMA = {"type": "object", "properties": {"capital": {"type": "string"}}, "required": ["capital"],
          "additionalProperties": False}


def test_json_schema_through_both_surfaces(oai, claude, up):
    up.script("openai", Reply(json={"id": "x", "object": "chat.completion", "created": 1, "model": "gpt-4o",
                                    "choices": [{"index": 0, "finish_reason": "stop", "message": {
                                        "role": "assistant", "content": '{"capital":"Paris"}'}}],
                                    "usage": {"prompt_tokens": 9, "completion_tokens": 5, "total_tokens": 14}}))
    reply = oai.chat.completions.create(model=MODELS["openai"], messages=PROMPT, response_format={
        "type": "json_schema", "json_schema": {"name": "answer", "schema": SCHEMA, "strict": True}})
    assert json.loads(reply.choices[0].message.content) == {"capital": "Paris"}
    assert up.of_kind("openai")[-1].json["response_format"] == {
        "type": "json_schema", "json_schema": {"name": "answer", "schema": SCHEMA, "strict": True}}
    claude.messages.create(model=MODELS["google"], max_tokens=50, messages=PROMPT,
                           output_config={"format": {"type": "json_schema", "schema": SCHEMA}})
    config = up.of_kind("google")[-1].json["generationConfig"]
    assert config["responseMimeType"] == "application/json"


def test_langchain_chat_openai_binds_tools(gateway, up):
    from langchain_openai import ChatOpenAI

    up.script("openai", tool_reply("openai"))
    llm = ChatOpenAI(model=MODELS["openai"], base_url=gateway.url + "/v1", api_key=GATEWAY_KEY,
                     max_retries=0, timeout=20)

    def get_weather(city: str) -> str:
        """The weather in a city."""
        return "Sunny"

    message = llm.bind_tools([get_weather]).invoke("What is the weather in Paris?")
    assert [(c["name"], c["args"]) for c in message.tool_calls] == [("get_weather", ARGS)]
    assert llm.invoke("Hello").content == ANSWER
