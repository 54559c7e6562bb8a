"""Reasoning through the compatible surfaces with the official SDKs against gunicorn and the fake
upstream: OpenAI's reasoning_effort and Responses `reasoning` (reasoning items with their
encrypted_content, the summary stream events), Anthropic's `thinking` and `top_k` (thinking blocks
and their signatures back on the next turn, streamed as thinking_delta/signature_delta), Gemini's
thoughtSignature through all three surfaces (a two-turn tool round trip each), and a 400 naming the
field where the provider has no equivalent."""
import json
import pathlib

import anthropic
import openai
import pytest

from .compat_server import ANSWER, FAKE_KIND, MODELS, PROMPT, anthropic_client, openai_client, run_gateway
from .fake_upstream import SSE, Reply
from .test_compat_responses import spec as responses_spec, sse_data

gateway = pytest.fixture(scope="module")(run_gateway)
oai = pytest.fixture(openai_client)
claude = pytest.fixture(anthropic_client)
spec = responses_spec

FIXTURES = pathlib.Path(__file__).parent / "fixtures" / "providers"
WEATHER = {"name": "get_weather", "description": "The weather in a city",
           "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}
CLAUDE_TOOLS = [{"name": "get_weather", "description": "The weather in a city", "input_schema": WEATHER["parameters"]}]
THINKING = "The user wants the weather; call the tool."


def claude_thinking_tool_reply():
    return Reply(json=json.loads((FIXTURES / "anthropic" / "message_thinking.json").read_text()))


def gemini_tool_reply(thought=True):
    parts = [{"text": "Need the weather.", "thought": True, "thoughtSignature": "sig-thought"}] if thought else []
    parts.append({"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}, "thoughtSignature": "sig-call"})
    return Reply(json={"candidates": [{"content": {"role": "model", "parts": parts}, "finishReason": "STOP"}],
                       "usageMetadata": {"promptTokenCount": 20, "candidatesTokenCount": 7, "totalTokenCount": 27}})


def sse_fixture(kind, name):
    return SSE([(FIXTURES / kind / name).read_bytes()], raw=True)


def gemini_call_sent(up):
    """The model turn with the function call as Gemini received it on the second turn."""
    return next(c for c in up.of_kind("google")[-1].json["contents"] if c["role"] == "model")


# -- OpenAI's chat completions ---------------------------------------------------------------------
def test_reasoning_effort_reaches_openai_and_gemini_and_claude_as_their_own_setting(oai, up):
    oai.chat.completions.create(model="openai/o4-mini", messages=PROMPT, reasoning_effort="high")
    assert up.of_kind("openai")[-1].json["reasoning_effort"] == "high"
    oai.chat.completions.create(model=MODELS["google"], messages=PROMPT, reasoning_effort="low")
    assert up.of_kind("google")[-1].json["generationConfig"]["thinkingConfig"] == {"thinkingLevel": "low"}
    oai.chat.completions.create(model=MODELS["anthropic"], messages=PROMPT, reasoning_effort="medium")
    assert up.of_kind("anthropic")[-1].json["output_config"] == {"effort": "medium"}


def test_a_setting_the_provider_cannot_take_is_a_400_naming_it(oai, claude, up):
    before = len(up.of_kind("anthropic"))
    with pytest.raises(anthropic.BadRequestError) as caught:
        claude.messages.create(model=MODELS["openai"], max_tokens=50, messages=PROMPT, extra_body={"top_k": 5})
    assert "top_k" in caught.value.message
    with pytest.raises(openai.BadRequestError) as caught:
        oai.chat.completions.create(model=MODELS["anthropic"], messages=PROMPT, reasoning_effort="minimal")
    assert "reasoning effort 'minimal'" in caught.value.message
    with pytest.raises(openai.BadRequestError) as caught:
        oai.chat.completions.create(model=MODELS["openai"], messages=PROMPT, extra_body={"top_k": 3})
    assert caught.value.body["param"] == "top_k"
    with pytest.raises(openai.BadRequestError) as caught:
        oai.chat.completions.create(model=MODELS["openai"], messages=PROMPT, reasoning_effort="extreme")
    assert caught.value.body["param"] == "reasoning_effort"
    assert len(up.of_kind("anthropic")) == before  # refused before anything was sent


@pytest.mark.parametrize("as_object", [True, False], ids=["message-object", "model_dump"])
def test_gemini_signature_round_trip_through_chat_completions(oai, up, as_object):
    """Google's own convention: extra_content.google.thought_signature on the tool call."""
    up.script("google", gemini_tool_reply())
    tools = [{"type": "function", "function": WEATHER}]
    first = oai.chat.completions.create(model=MODELS["google"], messages=PROMPT, tools=tools)
    message = first.choices[0].message
    [call] = message.tool_calls
    assert call.model_extra["extra_content"] == {"google": {"thought_signature": "sig-call"}}
    assert message.model_extra["reasoning_content"] == "Need the weather."
    echoed = message if as_object else message.model_dump(exclude_none=True)
    second = oai.chat.completions.create(model=MODELS["google"], tools=tools, messages=[
        *PROMPT, echoed, {"role": "tool", "tool_call_id": call.id, "content": "Sunny, 21 C"}])
    assert second.choices[0].message.content == ANSWER
    assert gemini_call_sent(up)["parts"] == [
        {"text": "Need the weather.", "thought": True, "thoughtSignature": "sig-thought"},
        {"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}, "thoughtSignature": "sig-call"}]


def test_gemini_signature_streamed_through_chat_completions(oai, up):
    up.script("google", sse_fixture("google", "stream_thoughts.sse"))
    chunks = list(oai.chat.completions.create(model=MODELS["google"], messages=PROMPT, stream=True,
                                              tools=[{"type": "function", "function": WEATHER}]))
    deltas = [c.choices[0].delta for c in chunks if c.choices]
    assert "".join(d.model_extra.get("reasoning_content") or "" for d in deltas) == "**Planning** I need the weather."
    [block] = [b for d in deltas for b in d.model_extra.get("thinking_blocks") or []]
    assert block == {"type": "thinking", "thinking": "**Planning** I need the weather.", "signature": "CiQBsigThought"}
    [piece] = [tc for d in deltas for tc in d.tool_calls or []]
    assert piece.model_extra["extra_content"] == {"google": {"thought_signature": "CiQBsigCall"}}


def test_claude_thinking_round_trip_through_chat_completions(oai, up):
    """`thinking` (an extension, as LiteLLM takes it) turns it on; the signed blocks come back as
    `thinking_blocks` and go back to Claude unchanged, before the tool call."""
    up.script("anthropic", claude_thinking_tool_reply())
    tools = [{"type": "function", "function": WEATHER}]
    first = oai.chat.completions.create(model=MODELS["anthropic"], messages=PROMPT, tools=tools, max_tokens=4000,
                                        extra_body={"thinking": {"type": "enabled", "budget_tokens": 2048}})
    assert up.of_kind("anthropic")[-1].json["thinking"] == {"type": "enabled", "budget_tokens": 2048}
    message = first.choices[0].message
    assert message.model_extra["reasoning_content"] == THINKING
    [call] = message.tool_calls
    oai.chat.completions.create(model=MODELS["anthropic"], tools=tools, max_tokens=4000, messages=[
        *PROMPT, message, {"role": "tool", "tool_call_id": call.id, "content": "Sunny"}])
    turn = up.of_kind("anthropic")[-1].json["messages"][1]
    assert turn["content"][:2] == [
        {"type": "thinking", "thinking": THINKING, "signature": "EqQBCgIYAhIMsigA"},
        {"type": "redacted_thinking", "data": "EmwKAhgBEgy3va3pzix"}]
    assert turn["content"][-1]["type"] == "tool_use"


# -- Anthropic's messages ---------------------------------------------------------------------------
def test_claude_thinking_and_top_k_and_signatures_back_on_the_next_turn(claude, up):
    up.script("anthropic", claude_thinking_tool_reply())
    first = claude.messages.create(model=MODELS["anthropic"], max_tokens=4000, messages=PROMPT, tools=CLAUDE_TOOLS,
                                   thinking={"type": "enabled", "budget_tokens": 2048}, extra_body={"top_k": 8})
    sent = up.of_kind("anthropic")[-1].json
    assert (sent["thinking"], sent["top_k"]) == ({"type": "enabled", "budget_tokens": 2048}, 8)
    assert [b.type for b in first.content] == ["thinking", "redacted_thinking", "tool_use"]
    assert (first.content[0].thinking, first.content[0].signature) == (THINKING, "EqQBCgIYAhIMsigA")
    use = first.content[2]
    claude.messages.create(model=MODELS["anthropic"], max_tokens=4000, tools=CLAUDE_TOOLS,
                           thinking={"type": "enabled", "budget_tokens": 2048}, messages=[
                               *PROMPT, {"role": "assistant", "content": first.content},
                               {"role": "user", "content": [{"type": "tool_result", "tool_use_id": use.id,
                                                             "content": "Sunny"}]}])
    assert up.of_kind("anthropic")[-1].json["messages"][1]["content"] == [
        {"type": "thinking", "thinking": THINKING, "signature": "EqQBCgIYAhIMsigA"},
        {"type": "redacted_thinking", "data": "EmwKAhgBEgy3va3pzix"},
        {"type": "tool_use", "id": "toolu_01", "name": "get_weather", "input": {"city": "Paris"}}]


def test_claude_thinking_streams_as_thinking_and_signature_deltas(claude, up):
    up.script("anthropic", sse_fixture("anthropic", "stream_redacted_thinking.sse"))
    with claude.messages.stream(model=MODELS["anthropic"], max_tokens=4000, messages=PROMPT,
                                thinking={"type": "adaptive"}) as stream:
        events = list(stream)
        final = stream.get_final_message()
    kinds = [e.delta.type for e in events if e.type == "content_block_delta"]
    assert kinds == ["thinking_delta", "thinking_delta", "signature_delta", "text_delta"]
    assert [b.type for b in final.content] == ["redacted_thinking", "thinking", "text"]
    assert (final.content[1].thinking, final.content[1].signature) == ("Two steps.", "EqQBsig2")
    assert final.content[0].data == "EmwKAhgBEgy3va3pzix" and final.content[2].text == "Done."


def test_gemini_signature_round_trip_through_messages(claude, up):
    """A Gemini call's signature rides as a thinking block (no text) right before its tool_use."""
    up.script("google", gemini_tool_reply())
    first = claude.messages.create(model=MODELS["google"], max_tokens=200, messages=PROMPT, tools=CLAUDE_TOOLS)
    assert [(b.type, getattr(b, "signature", None)) for b in first.content] == [
        ("thinking", "sig-thought"), ("thinking", "sig-call"), ("tool_use", None)]
    use = first.content[-1]
    claude.messages.create(model=MODELS["google"], max_tokens=200, tools=CLAUDE_TOOLS, messages=[
        *PROMPT, {"role": "assistant", "content": first.content},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": use.id, "content": "Sunny"}]}])
    assert gemini_call_sent(up)["parts"][-1] == {
        "functionCall": {"name": "get_weather", "args": {"city": "Paris"}}, "thoughtSignature": "sig-call"}


def test_gemini_signature_streamed_through_messages(claude, up):
    up.script("google", sse_fixture("google", "stream_thoughts.sse"))
    with claude.messages.stream(model=MODELS["google"], max_tokens=200, messages=PROMPT, tools=CLAUDE_TOOLS) as s:
        final = s.get_final_message()
    assert [(b.type, getattr(b, "signature", None)) for b in final.content] == [
        ("thinking", "CiQBsigThought"), ("thinking", "CiQBsigCall"), ("tool_use", None)]
    assert final.content[0].thinking == "**Planning** I need the weather."


# -- OpenAI's responses -----------------------------------------------------------------------------
def test_responses_reasoning_reaches_each_provider(oai, up):
    oai.responses.create(model="openai/o4-mini", input="hi", reasoning={"effort": "low"})
    assert up.of_kind("openai")[-1].json["reasoning_effort"] == "low"
    oai.responses.create(model=MODELS["google"], input="hi", reasoning={"effort": "high", "summary": "auto"})
    assert up.of_kind("google")[-1].json["generationConfig"]["thinkingConfig"] == {
        "thinkingLevel": "high", "includeThoughts": True}
    with pytest.raises(openai.BadRequestError) as caught:
        oai.responses.create(model="openai/o4-mini", input="hi", reasoning={"effort": "low", "summary": "detailed"})
    assert "reasoning summaries" in caught.value.message


def test_responses_reasoning_items_round_trip_to_claude(oai, up, spec):
    up.script("anthropic", claude_thinking_tool_reply())
    tools = [{"type": "function", **WEATHER}]
    raw = oai.responses.with_raw_response.create(
        model=MODELS["anthropic"], input="Weather in Paris?", tools=tools, store=False,
        reasoning={"effort": "high", "summary": "auto"}, include=["reasoning.encrypted_content"])
    spec("Response", raw.http_response.json())
    first = raw.parse()
    sent = up.of_kind("anthropic")[-1].json
    assert sent["thinking"] == {"type": "adaptive", "display": "summarized"}
    assert sent["output_config"] == {"effort": "high"}
    assert [i.type for i in first.output] == ["reasoning", "reasoning", "function_call"]
    assert first.output[0].summary[0].text == THINKING and first.output[0].encrypted_content == "EqQBCgIYAhIMsigA"
    call = first.output[-1]
    oai.responses.create(model=MODELS["anthropic"], tools=tools, store=False, input=[
        {"role": "user", "content": "Weather in Paris?"}, *first.output,
        {"type": "function_call_output", "call_id": call.call_id, "output": "Sunny"}])
    assert up.of_kind("anthropic")[-1].json["messages"][1]["content"] == [
        {"type": "thinking", "thinking": THINKING, "signature": "EqQBCgIYAhIMsigA"},
        {"type": "redacted_thinking", "data": "EmwKAhgBEgy3va3pzix"},
        {"type": "tool_use", "id": "toolu_01", "name": "get_weather", "input": {"city": "Paris"}}]


def raw_events(gateway, up, spec, kind, script, body):
    """The stream's events as sent, each checked against OpenAI's schema for its type (`script`:
    the upstream's reply, None for its default)."""
    if script is not None:
        up.script(kind, script)
    events = sse_data(gateway, "/v1/responses", {"stream": True, **body})
    for event in events:
        spec("ResponseStreamEvent", event)
    spec("Response", events[-1]["response"])
    return events


def test_responses_stream_reasoning_summary_events(gateway, oai, up, spec):
    body = {"model": MODELS["anthropic"], "input": "hi", "reasoning": {"summary": "auto"}}
    raw_events(gateway, up, spec, "anthropic", sse_fixture("anthropic", "stream_redacted_thinking.sse"), body)
    up.script("anthropic", sse_fixture("anthropic", "stream_redacted_thinking.sse"))
    events = list(oai.responses.create(stream=True, **body))
    kinds = [e.type for e in events]
    assert [k for k in kinds if "reasoning" in k] == [
        "response.reasoning_summary_part.added", "response.reasoning_summary_text.delta",
        "response.reasoning_summary_text.delta", "response.reasoning_summary_text.done",
        "response.reasoning_summary_part.done"]
    assert [e.sequence_number for e in events] == list(range(len(events)))
    done = events[-1].response
    assert [i.type for i in done.output] == ["reasoning", "reasoning", "message"]
    assert done.output[0].encrypted_content == "redacted_thinking:EmwKAhgBEgy3va3pzix"
    assert (done.output[1].summary[0].text, done.output[1].encrypted_content) == ("Two steps.", "EqQBsig2")
    assert done.output_text == "Done."


def test_gemini_signature_round_trip_through_responses(oai, up, spec):
    """A Gemini call's signature rides as a reasoning item (no summary) right before the call."""
    up.script("google", gemini_tool_reply(thought=False))
    tools = [{"type": "function", **WEATHER}]
    raw = oai.responses.with_raw_response.create(model=MODELS["google"], input="Weather in Paris?", tools=tools,
                                                 store=False)
    spec("Response", raw.http_response.json())
    first = raw.parse()
    assert [(i.type, getattr(i, "encrypted_content", None)) for i in first.output] == [
        ("reasoning", "sig-call"), ("function_call", None)]
    oai.responses.create(model=MODELS["google"], tools=tools, store=False, input=[
        {"role": "user", "content": "Weather in Paris?"}, *first.output,
        {"type": "function_call_output", "call_id": first.output[-1].call_id, "output": "Sunny"}])
    assert gemini_call_sent(up)["parts"] == [
        {"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}, "thoughtSignature": "sig-call"}]


def test_gemini_signature_streamed_through_responses(gateway, up, spec):
    events = raw_events(gateway, up, spec, "google", sse_fixture("google", "stream_thoughts.sse"), {
        "model": MODELS["google"], "input": "hi", "tools": [{"type": "function", **WEATHER}]})
    done = events[-1]["response"]
    assert [(i["type"], i.get("encrypted_content")) for i in done["output"]] == [
        ("reasoning", "CiQBsigThought"), ("reasoning", "CiQBsigCall"), ("function_call", None)]
    assert done["output"][0]["summary"] == [{"type": "summary_text", "text": "**Planning** I need the weather."}]


# -- reasoning text in OpenAI's format (DeepSeek, vLLM, SGLang, OpenRouter) --------------------------
THOUGHT = "Recall the capital of France."
# Each provider type speaking OpenAI's format, with the field name its kind of server uses.
SHOWN = [("openai-compatible", ("reasoning_content",)), ("opencode", ("reasoning",)),
         ("openai", ("reasoning", "reasoning_content"))]
SHOWN_IDS = ["compatible-reasoning_content", "opencode-reasoning", "openai-both"]


@pytest.fixture
def shows(up):
    """The fake's OpenAI-format replies carry THOUGHT in the given fields."""
    def show(fields):
        up.reasoning, up.reasoning_fields = THOUGHT, fields
    return show


@pytest.mark.parametrize("kind, fields", SHOWN, ids=SHOWN_IDS)
def test_openai_format_reasoning_comes_out_of_chat_completions_once(oai, shows, kind, fields):
    shows(fields)
    message = oai.chat.completions.create(model=MODELS[kind], messages=PROMPT).choices[0].message
    assert (message.content, message.model_extra["reasoning_content"]) == (ANSWER, THOUGHT)
    assert message.model_extra["thinking_blocks"] == [{"type": "thinking", "thinking": THOUGHT, "signature": ""}]
    chunks = list(oai.chat.completions.create(model=MODELS[kind], messages=PROMPT, stream=True))
    deltas = [c.choices[0].delta for c in chunks if c.choices]
    assert "".join(d.model_extra.get("reasoning_content") or "" for d in deltas) == THOUGHT
    assert "".join(d.content or "" for d in deltas) == ANSWER
    assert not any(d.model_extra.get("thinking_blocks") for d in deltas)  # no signature to send


@pytest.mark.parametrize("kind, fields", SHOWN, ids=SHOWN_IDS)
def test_openai_format_reasoning_comes_out_of_messages_as_thinking(claude, shows, kind, fields):
    shows(fields)
    reply = claude.messages.create(model=MODELS[kind], max_tokens=200, messages=PROMPT)
    assert [(b.type, getattr(b, "thinking", None)) for b in reply.content] == [("thinking", THOUGHT), ("text", None)]
    assert reply.content[0].signature == "" and reply.content[1].text == ANSWER
    with claude.messages.stream(model=MODELS[kind], max_tokens=200, messages=PROMPT) as stream:
        events = list(stream)
        final = stream.get_final_message()
    deltas = [e.delta for e in events if e.type == "content_block_delta"]
    assert "".join(d.thinking for d in deltas if d.type == "thinking_delta") == THOUGHT
    assert not [d for d in deltas if d.type == "signature_delta"]
    assert [b.type for b in final.content] == ["thinking", "text"] and final.content[0].thinking == THOUGHT


@pytest.mark.parametrize("kind, fields", SHOWN, ids=SHOWN_IDS)
def test_openai_format_reasoning_comes_out_of_responses_as_a_summary(gateway, oai, up, spec, shows, kind, fields):
    shows(fields)
    raw = oai.responses.with_raw_response.create(model=MODELS[kind], input="What is the capital of France?")
    spec("Response", raw.http_response.json())
    reply = raw.parse()
    assert [i.type for i in reply.output] == ["reasoning", "message"]
    assert reply.output[0].summary[0].text == THOUGHT and reply.output[0].encrypted_content is None
    assert reply.output_text == ANSWER
    events = raw_events(gateway, up, spec, FAKE_KIND.get(kind, kind), None,
                        {"model": MODELS[kind], "input": "What is the capital of France?"})
    assert "".join(e["delta"] for e in events if e["type"] == "response.reasoning_summary_text.delta") == THOUGHT
    done = events[-1]["response"]
    assert [i["type"] for i in done["output"]] == ["reasoning", "message"]
    assert done["output"][0]["summary"] == [{"type": "summary_text", "text": THOUGHT}]


def assistant_sent(up, kind):
    """The assistant turn the upstream received on the last call."""
    return next(m for m in up.of_kind(FAKE_KIND.get(kind, kind))[-1].json["messages"] if m["role"] == "assistant")


def test_reasoning_text_goes_back_to_a_compatible_server_on_tool_turns_from_every_surface(oai, claude, up, shows):
    """A tool round trip with a DeepSeek-like server in thinking mode (which refuses a tool-call turn
    sent back without its reasoning_content), through each surface: the thoughts come back in each
    surface's shape and, sent back, reach the server as reasoning_content."""
    up.rich, up.reasoning_back_required = True, True
    shows(("reasoning_content",))
    model = MODELS["openai-compatible"]
    tools = [{"type": "function", "function": WEATHER}]
    first = oai.chat.completions.create(model=model, messages=PROMPT, tools=tools).choices[0].message
    assert first.model_extra["reasoning_content"] == THOUGHT
    result = {"role": "tool", "tool_call_id": first.tool_calls[0].id, "content": "Sunny"}
    second = oai.chat.completions.create(model=model, tools=tools, messages=[*PROMPT, first, result])
    assert second.choices[0].message.content == "The tool said: Sunny"
    assert assistant_sent(up, "openai-compatible")["reasoning_content"] == THOUGHT
    # DeepSeek's own way: the message rebuilt with reasoning_content, no thinking_blocks.
    rebuilt = {"role": "assistant", "content": None, "reasoning_content": THOUGHT,
               "tool_calls": [first.tool_calls[0].model_dump()]}
    oai.chat.completions.create(model=model, tools=tools, messages=[*PROMPT, rebuilt, result])
    assert assistant_sent(up, "openai-compatible")["reasoning_content"] == THOUGHT

    reply = claude.messages.create(model=model, max_tokens=200, messages=PROMPT, tools=CLAUDE_TOOLS)
    assert [b.type for b in reply.content] == ["thinking", "tool_use"]
    claude.messages.create(model=model, max_tokens=200, tools=CLAUDE_TOOLS, messages=[
        *PROMPT, {"role": "assistant", "content": reply.content},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": reply.content[1].id, "content": "Sunny"}]}])
    sent = assistant_sent(up, "openai-compatible")
    assert sent["content"] is None and sent["reasoning_content"] == THOUGHT and len(sent["tool_calls"]) == 1

    tools = [{"type": "function", **WEATHER}]
    out = oai.responses.create(model=model, input="Weather in Paris?", tools=tools, store=False).output
    assert [i.type for i in out] == ["reasoning", "function_call"]
    oai.responses.create(model=model, tools=tools, store=False, input=[
        {"role": "user", "content": "Weather in Paris?"}, *out,
        {"type": "function_call_output", "call_id": out[-1].call_id, "output": "Sunny"}])
    assert assistant_sent(up, "openai-compatible")["reasoning_content"] == THOUGHT


def test_reasoning_text_never_goes_back_to_openai_nor_to_claude(oai, up, shows):
    """OpenAI's API knows no reasoning_content; Claude takes signed thinking only."""
    up.rich = True
    shows(("reasoning",))
    tools = [{"type": "function", "function": WEATHER}]
    first = oai.chat.completions.create(model=MODELS["openai"], messages=PROMPT, tools=tools).choices[0].message
    assert first.model_extra["reasoning_content"] == THOUGHT
    turns = [*PROMPT, first, {"role": "tool", "tool_call_id": first.tool_calls[0].id, "content": "Sunny"}]
    oai.chat.completions.create(model=MODELS["openai"], tools=tools, messages=turns)
    sent = assistant_sent(up, "openai")
    assert not {"reasoning_content", "reasoning"} & set(sent) and sent["tool_calls"]
    oai.chat.completions.create(model=MODELS["anthropic"], tools=tools, messages=turns)
    assert [b["type"] for b in assistant_sent(up, "anthropic")["content"]] == ["tool_use"]


def test_reasoning_content_sent_back_must_be_text(oai, up):
    with pytest.raises(openai.BadRequestError) as caught:
        oai.chat.completions.create(model=MODELS["openai-compatible"], messages=[
            *PROMPT, {"role": "assistant", "content": "Paris.", "reasoning_content": 5},
            {"role": "user", "content": "And Spain?"}])
    assert caught.value.body["param"] == "messages[1].reasoning_content"
    assert up.of_kind("compat") == []
