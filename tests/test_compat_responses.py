"""/v1/responses (stateless) with the official `openai` SDK against gunicorn, a Codex-style replay
(store: false, function_call items, streamed), a Claude-Code-style replay on /v1/messages (system
blocks with cache_control, 24 tools, streamed), and every answer checked against OpenAI's own
response schemas (tests/fixtures/specs) where the spec has one."""
import json
import os

import anthropic
import openai
import pytest
import requests
from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from .compat_server import ADMIN_KEY, ANSWER, GATEWAY_KEY, KINDS, MODELS, PROMPT, run_gateway
from .fake_upstream import SSE

gateway = pytest.fixture(scope="module")(run_gateway)

SPEC = os.path.join(os.path.dirname(__file__), "fixtures", "specs", "openai-v1-subset.openapi.json")


def nullable(schema):
    """OpenAPI 3.0's `nullable: true` (still used in this document) in JSON Schema terms: null is
    one more type (and enum value). JSON Schema itself ignores the keyword."""
    if isinstance(schema, list):
        return [nullable(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out = {key: nullable(value) for key, value in schema.items()}
    if out.pop("nullable", False) is True:
        if isinstance(out.get("type"), str):
            out["type"] = [out["type"], "null"]
        if isinstance(out.get("enum"), list):
            out["enum"] = out["enum"] + [None]
    return out


@pytest.fixture(scope="module")
def spec():
    """validate(schema name, instance): OpenAI's schema from its OpenAPI document, refs resolved."""
    with open(SPEC) as fh:
        registry = Registry().with_resource("spec", Resource(nullable(json.load(fh)), DRAFT202012))

    events = {schema["properties"]["type"]["enum"][0]: name for name, schema in
              registry.contents("spec")["components"]["schemas"].items()
              if name.endswith("Event") and "enum" in schema.get("properties", {}).get("type", {})}

    def validate(name, instance):
        if name == "ResponseStreamEvent":  # a union: checked against the event type's own schema
            name = events[instance["type"]]
        validator = Draft202012Validator({"$ref": f"spec#/components/schemas/{name}"}, registry=registry)
        error = best_match(validator.iter_errors(instance))
        assert error is None, f"{name}: {list(error.absolute_path)}: {error.message[:300]}"
    return validate


@pytest.fixture
def oai(gateway, up):
    with openai.OpenAI(base_url=gateway.url + "/v1", api_key=GATEWAY_KEY, max_retries=0, timeout=20) as c:
        yield c


def post(gateway, path, body, **headers):
    resp = requests.post(gateway.url + path, json=body, timeout=20,
                         headers={"Authorization": f"Bearer {GATEWAY_KEY}", **headers})
    assert resp.status_code == 200, resp.text
    return resp.json()


def sse_data(gateway, path, body):
    with requests.post(gateway.url + path, json=body, timeout=20, stream=True,
                       headers={"Authorization": f"Bearer {GATEWAY_KEY}"}) as resp:
        assert resp.status_code == 200, resp.text
        return [json.loads(line[6:]) for line in resp.iter_lines() if line.startswith(b"data: {")]


@pytest.mark.parametrize("kind", KINDS)
def test_response_from_every_provider_type(oai, gateway, up, kind):
    response = oai.responses.create(model=MODELS[kind], input="What is the capital of France?",
                                    instructions="Be brief.", max_output_tokens=100, store=False)
    assert response.status == "completed" and response.output_text == ANSWER
    assert (response.usage.input_tokens, response.usage.output_tokens) == (
        up.last_usage["inputTokens"], up.last_usage["outputTokens"])
    assert gateway.rows("openai_responses")[0]["id"] == response.id.removeprefix("resp_")


def test_streamed_response_events_are_typed_and_numbered(oai, up):
    events = list(oai.responses.create(model=MODELS["anthropic"], input=PROMPT, stream=True))
    kinds = [e.type for e in events]
    assert kinds[:4] == ["response.created", "response.in_progress", "response.output_item.added",
                         "response.content_part.added"]
    assert kinds[-4:] == ["response.output_text.done", "response.content_part.done",
                          "response.output_item.done", "response.completed"]
    assert [e.sequence_number for e in events] == list(range(len(events)))
    assert [e.delta for e in events if e.type == "response.output_text.delta"] == up.stream_chunks
    done = events[-1].response
    assert done.output_text == ANSWER and done.usage.output_tokens == len(up.stream_chunks)


def test_previous_response_id_is_a_clear_400(oai):
    with pytest.raises(openai.BadRequestError) as caught:
        oai.responses.create(model=MODELS["openai"], input="hi", previous_response_id="resp_123")
    assert caught.value.body["param"] == "previous_response_id" and "stateless" in caught.value.message


def test_a_cut_stream_ends_with_response_failed(oai, up):
    up.script("openai", SSE([{"choices": [{"index": 0, "delta": {"content": "Hel"}}]}] * 3, reset_after=2))
    events = list(oai.responses.create(model=MODELS["openai"], input="hi", stream=True))
    assert events[-1].type == "response.failed" and events[-1].response.error.message


def codex_stream(pieces):
    head = {"index": 0, "id": "call_shell1", "type": "function", "function": {"name": "shell", "arguments": ""}}
    return SSE([{"choices": [{"index": 0, "delta": {"role": "assistant", "tool_calls": [head]}}]},
                *({"choices": [{"index": 0, "delta": {"tool_calls": [{"index": 0, "function": {"arguments": p}}]}}]}
                  for p in pieces),
                {"choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]},
                {"choices": [], "usage": {"prompt_tokens": 40, "completion_tokens": 9, "total_tokens": 49}},
                "[DONE]"])


SHELL = {"type": "function", "name": "shell", "description": "Runs a shell command", "strict": False,
         "parameters": {"type": "object", "properties": {"command": {"type": "array", "items": {"type": "string"}}},
                        "required": ["command"]}}


def test_codex_style_replay(gateway, up, spec):
    """What Codex sends: instructions, store false, function_call / function_call_output items of
    earlier turns, tools, parallel_tool_calls, prompt_cache_key, include, stream."""
    up.script("openai", codex_stream(['{"comm', 'and": ["ls", ', '"-la"]}']))
    body = {"model": MODELS["openai"], "instructions": "You are a coding agent.", "store": False,
            "stream": True, "tools": [SHELL], "tool_choice": "auto", "parallel_tool_calls": False,
            "include": [], "prompt_cache_key": "session-1",
            "input": [{"type": "message", "role": "user", "content": [{"type": "input_text", "text": "List files"}]},
                      {"type": "function_call", "call_id": "call_0", "name": "shell",
                       "arguments": json.dumps({"command": ["pwd"]})},
                      {"type": "function_call_output", "call_id": "call_0", "output": "/work"},
                      {"type": "message", "role": "assistant",
                       "content": [{"type": "output_text", "text": "In /work."}]},
                      {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Now ls -la"}]}]}
    events = sse_data(gateway, "/v1/responses", body)
    sent = up.of_kind("openai")[-1].json
    assert [m["role"] for m in sent["messages"]] == ["system", "user", "assistant", "tool", "assistant", "user"]
    assert sent["messages"][2]["tool_calls"][0]["id"] == "call_0"
    assert sent["messages"][3] == {"role": "tool", "tool_call_id": "call_0", "content": "/work"}
    assert [e["delta"] for e in events if e["type"] == "response.function_call_arguments.delta"] == [
        '{"comm', 'and": ["ls", ', '"-la"]}']
    done = next(e for e in events if e["type"] == "response.function_call_arguments.done")
    assert json.loads(done["arguments"]) == {"command": ["ls", "-la"]}
    completed = events[-1]
    assert completed["type"] == "response.completed"
    [item] = completed["response"]["output"]
    assert (item["type"], item["call_id"], item["name"]) == ("function_call", "call_shell1", "shell")
    for event in events:
        spec("ResponseStreamEvent", event)
    spec("Response", completed["response"])


def claude_code_tools(n=24):
    return [{"name": f"Tool{i}", "description": f"Tool number {i}",
             "input_schema": {"type": "object", "properties": {"arg": {"type": "string"}}, "required": ["arg"]}}
            for i in range(n)]


def test_claude_code_style_replay(gateway, up):
    """What Claude Code sends: system blocks with cache_control, 20+ tools, an earlier tool turn,
    metadata.user_id, the beta header, stream."""
    system = [{"type": "text", "text": "You are Claude Code."},
              {"type": "text", "text": "Project instructions...", "cache_control": {"type": "ephemeral"}}]
    messages = [{"role": "user", "content": [{"type": "text", "text": "Read main.py"}]},
                {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_1", "name": "Tool3",
                                                   "input": {"arg": "main.py"}}]},
                {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1",
                                              "content": [{"type": "text", "text": "print(1)"}]},
                                             {"type": "text", "text": "What does it print?",
                                              "cache_control": {"type": "ephemeral"}}]}]
    with anthropic.Anthropic(base_url=gateway.url, api_key=GATEWAY_KEY, max_retries=0) as client:
        with client.messages.stream(model=MODELS["anthropic"], max_tokens=1000, system=system, messages=messages,
                                    tools=claude_code_tools(), metadata={"user_id": "user_abc"},
                                    extra_headers={"anthropic-beta": "claude-code-20250219"}) as stream:
            text = "".join(stream.text_stream)
    assert text == ANSWER
    sent = up.of_kind("anthropic")[-1]
    assert sent.headers["anthropic-beta"] == "claude-code-20250219"
    assert sent.json["system"] == system and len(sent.json["tools"]) == 24
    assert sent.json["messages"][1]["content"][0]["type"] == "tool_use"
    # The user turn's tool_result and text (consecutive user turns are one turn to Anthropic).
    last = [block for m in sent.json["messages"][2:] for block in m["content"]]
    assert [m["role"] for m in sent.json["messages"][2:]] in (["user"], ["user", "user"])
    assert last[0]["type"] == "tool_result" and last[0]["tool_use_id"] == "toolu_1"
    assert last[1] == {"type": "text", "text": "What does it print?", "cache_control": {"type": "ephemeral"}}


def test_answers_validate_against_openais_schemas(gateway, up, spec):
    chat = {"model": MODELS["google"], "messages": PROMPT}
    spec("CreateChatCompletionResponse", post(gateway, "/v1/chat/completions", chat))
    for chunk in sse_data(gateway, "/v1/chat/completions",
                          {**chat, "stream": True, "stream_options": {"include_usage": True}}):
        spec("CreateChatCompletionStreamResponse", chunk)
    spec("CreateEmbeddingResponse", post(gateway, "/v1/embeddings",
                                         {"model": "openai/text-embedding-3-small", "input": ["a", "b"]}))
    gateway.native("POST", "/models/sync", key=ADMIN_KEY,
                   json={"provider": "openai"})
    resp = requests.get(gateway.url + "/v1/models", headers={"Authorization": f"Bearer {GATEWAY_KEY}"}, timeout=10)
    spec("ListModelsResponse", resp.json())
    spec("ImagesResponse", post(gateway, "/v1/images/generations", {"model": "openai/dall-e-3", "prompt": "a fox"}))
    spec("Response", post(gateway, "/v1/responses", {"model": MODELS["anthropic"], "input": "hi",
                                                     "text": {"format": {"type": "json_schema", "name": "x",
                                                                         "schema": {"type": "object"}}}}))
    for event in sse_data(gateway, "/v1/responses", {"model": MODELS["openai"], "input": "hi", "stream": True}):
        spec("ResponseStreamEvent", event)


def test_the_schema_check_can_fail(spec):
    with pytest.raises(AssertionError):
        spec("CreateChatCompletionResponse", {"id": "x", "object": "chat.completion", "choices": []})
