"""Fidelity: what the adapters put on the wire, checked by Stoplight Prism against the providers'
own OpenAPI specs (tests/fixtures/specs). Prism answers 422 to a request its spec rejects, so each
accepted call here is a request the real provider's schema accepts; the deliberately invalid
requests show the validator is on (a spec Prism cannot compile would let everything through)."""
import base64
import email.policy
import io
import json
from dataclasses import dataclass
from email.parser import BytesParser

import pytest
import requests
from requests.adapters import HTTPAdapter

from inference_gateway.providers import openai_format

from . import prism
from .helpers import log_rows

OPENAI_KEY = "sk-prism-openai"
# Every option /chat maps, and a conversation with each role.
CHAT = {
    "messages": [{"role": "user", "content": "What is the capital of France?"},
                 {"role": "assistant", "content": "Paris."},
                 {"role": "user", "content": "And of Italy?"}],
    "maxTokens": 64, "temperature": 0.7, "topP": 0.9, "stop": ["END", "STOP"],
    "system": "Answer in one word.",
}


@pytest.fixture(scope="session")
def openai_spec():
    server = prism.serve(prism.OPENAI_SPEC)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def anthropic_spec():
    server = prism.serve(prism.ANTHROPIC_SPEC)
    yield server
    server.stop()


@dataclass
class Sent:
    method: str
    url: str
    headers: dict
    body: bytes
    status: int = None  # the upstream's answer (Prism's verdict)

    @property
    def json(self):
        return json.loads(self.body)


@pytest.fixture
def sent(monkeypatch):
    """Every upstream request made during the test, as it went on the wire."""
    calls = []
    # The transport adapter sees every request, however the provider client prepared it.
    original = HTTPAdapter.send

    def record(self, prepared, **kwargs):
        body = prepared.body
        if body is not None and not isinstance(body, (bytes, str)):
            # The multipart body is a sequence of buffers that can be sent again; read it whole.
            body = b"".join(bytes(part) for part in body)
        call = Sent(prepared.method, prepared.url, dict(prepared.headers), body)
        calls.append(call)
        resp = original(self, prepared, **kwargs)
        call.status = resp.status_code
        return resp

    monkeypatch.setattr(HTTPAdapter, "send", record)
    return calls


@pytest.fixture
def providers(api, monkeypatch, openai_spec, anthropic_spec):
    """OpenAI, OpenCode (both routes) and Anthropic providers whose baseUrl is a Prism mock."""
    specs = {"openai": openai_spec, "opencode": openai_spec, "zen-claude": anthropic_spec,
             "anthropic": anthropic_spec}
    for name, server in specs.items():
        env = "PRISM_" + name.upper().replace("-", "_") + "_KEY"
        monkeypatch.setenv(env, OPENAI_KEY if server is openai_spec else "sk-ant-prism")
        kind = "opencode" if name == "zen-claude" else name
        status, body = api.post("/providers", json={"name": name, "type": kind, "envVar": env,
                                                    "baseUrl": server.base_url})
        assert status == 201, body
    return specs


def assert_accepted(status, body, server):
    assert status == 200, f"{body}\n--- prism log ---\n{server.log_tail()}"


# -- chat through the gateway --------------------------------------------------------------------

# (provider, model sent to the gateway, path, the wire fields our options must become, reply).
# Prism's static replies: the OpenAI schema's placeholders, the Anthropic spec's own example.
CHAT_CASES = [
    ("openai", "gpt-4o", "/v1/chat/completions",
     {"max_completion_tokens": 64, "temperature": 0.7, "top_p": 0.9, "stop": ["END", "STOP"]},
     ("string", "stop", {"inputTokens": 0, "outputTokens": 0})),
    ("opencode", "opencode/kimi-k2", "/v1/chat/completions",
     {"max_tokens": 64, "temperature": 0.7, "top_p": 0.9, "stop": ["END", "STOP"]},
     ("string", "stop", {"inputTokens": 0, "outputTokens": 0})),
    ("zen-claude", "zen-claude/claude-3-5-haiku-latest", "/v1/messages",
     {"max_tokens": 64, "temperature": 0.7, "top_p": 0.9, "stop_sequences": ["END", "STOP"],
      "system": "Answer in one word."},
     ("Hi! My name is Claude.", "stop", {"inputTokens": 2095, "outputTokens": 503})),
    ("anthropic", "claude-3-5-sonnet-latest", "/v1/messages",
     {"max_tokens": 64, "temperature": 0.7, "top_p": 0.9, "stop_sequences": ["END", "STOP"],
      "system": "Answer in one word."},
     ("Hi! My name is Claude.", "stop", {"inputTokens": 2095, "outputTokens": 503})),
]
CHAT_IDS = [case[0] for case in CHAT_CASES]


@pytest.mark.parametrize("name,model,path,wire,reply", CHAT_CASES, ids=CHAT_IDS)
def test_chat_with_every_option_is_accepted_by_the_providers_spec(
        app, api, providers, sent, name, model, path, wire, reply):
    status, body = api.post("/chat", json={**CHAT, "model": model})
    assert_accepted(status, body, providers[name])
    data = body["data"]
    assert (data["content"], data["finishReason"], data["usage"]) == reply
    assert data["provider"] == name
    [call] = sent
    assert call.url == providers[name].base_url + path[len("/v1"):]
    # The options really went out (Prism validated them), not just a bare request.
    assert {key: call.json.get(key) for key in wire} == wire
    roles = [m["role"] for m in call.json["messages"]]
    if path == "/v1/messages":
        assert roles == ["user", "assistant", "user"]
    else:
        assert roles == ["system", "user", "assistant", "user"]
    [row] = log_rows(app)
    assert (row.request_id, row.status, row.http_status, row.provider_name) == (
        data["requestId"], "success", 200, name)


@pytest.mark.parametrize("name,model", [case[:2] for case in CHAT_CASES], ids=CHAT_IDS)
def test_stream_request_bodies_are_accepted(app, client, providers, sent, name, model):
    # Prism cannot stream: it validates the body, then answers JSON, which the gateway reports as
    # a cut stream. What matters here is its verdict on the request.
    resp = client.post("/api/v1/inference/chat/stream", json={**CHAT, "model": model})
    resp.get_data()
    [call] = sent
    assert call.status == 200, providers[name].log_tail()
    assert call.json["stream"] is True
    if "/chat/completions" in call.url:
        assert call.json["stream_options"] == {"include_usage": True}
    assert len(log_rows(app)) == 1


@pytest.mark.parametrize("name,model,options", [
    # The gateway's own limits: whatever /chat accepts must be something the provider accepts.
    ("openai", "gpt-4o", {"maxTokens": 1, "temperature": 0, "topP": 0, "stop": "END"}),
    ("openai", "gpt-4o", {"maxTokens": 1_000_000, "temperature": 2, "topP": 1,
                          "stop": ["a", "b", "c", "d"]}),
    ("opencode", "opencode/kimi-k2", {"maxTokens": 1_000_000, "temperature": 2, "topP": 1,
                                      "stop": ["a", "b", "c", "d"]}),
    ("anthropic", "claude-3-5-sonnet-latest", {"maxTokens": 1, "temperature": 0, "topP": 0,
                                               "stop": "END"}),
    ("anthropic", "claude-3-5-sonnet-latest", {"maxTokens": 1_000_000, "temperature": 1, "topP": 1,
                                               "stop": ["a", "b", "c", "d"]}),
    ("anthropic", "claude-3-5-sonnet-latest", {"messages": [
        {"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}]}),
])
def test_chat_at_the_gateways_limits_is_accepted(api, providers, name, model, options):
    request = {"model": model, "messages": [{"role": "user", "content": "Hi"}], **options}
    status, body = api.post("/chat", json=request)
    assert_accepted(status, body, providers[name])


@pytest.mark.parametrize("model", ["claude-3-5-sonnet-latest",
                                   "zen-claude/claude-3-5-haiku-latest"])
def test_anthropic_temperature_above_one_is_refused_before_the_upstream(app, api, providers, sent,
                                                                       model):
    # Anthropic's spec caps temperature at 1 where OpenAI's allows 2; Prism answered 422 to 1.5.
    status, body = api.post("/chat", json={"model": model, "temperature": 1.5,
                                           "messages": [{"role": "user", "content": "Hi"}]})
    assert status == 400, body
    assert body["error"]["code"] == "BAD_REQUEST"
    assert "temperature" in body["error"]["message"] and "0 and 1" in body["error"]["message"]
    assert sent == []
    [row] = log_rows(app)
    assert (row.status, row.http_status) == ("error", 400)


def test_a_payload_the_spec_rejects_becomes_a_400_upstream_error_with_one_row(
        app, api, providers, monkeypatch):
    real = openai_format.chat_payload
    # n=0 is below the spec's minimum of 1: Prism must refuse it.
    monkeypatch.setattr(openai_format, "chat_payload", lambda *a, **kw: {**real(*a, **kw), "n": 0})
    status, body = api.post("/chat", json={**CHAT, "model": "gpt-4o"})
    assert status == 400, body
    assert body["error"]["code"] == "UPSTREAM_ERROR"
    assert "openai" in body["error"]["message"]
    [row] = log_rows(app)
    assert (row.status, row.http_status, row.error_code) == ("error", 400, "UPSTREAM_ERROR")


# -- the validator is on -------------------------------------------------------------------------

def openai_headers():
    return {"Authorization": f"Bearer {OPENAI_KEY}"}


def test_openai_spec_rejects_a_bad_field_and_accepts_the_same_body_fixed(openai_spec):
    body = {"model": "gpt-4o", "messages": [{"role": "user", "content": "Hi"}], "temperature": 3}
    url = openai_spec.base_url + "/chat/completions"
    resp = requests.post(url, json=body, headers=openai_headers(), timeout=10)
    assert resp.status_code == 422, resp.text
    assert ["body", "temperature"] in [v["location"] for v in resp.json()["validation"]]
    resp = requests.post(url, json={**body, "temperature": 1}, headers=openai_headers(), timeout=10)
    assert resp.status_code == 200, resp.text


def test_openai_spec_checks_the_bearer_key(openai_spec):
    assert requests.get(openai_spec.base_url + "/models", timeout=10).status_code == 401
    resp = requests.get(openai_spec.base_url + "/models", headers=openai_headers(), timeout=10)
    assert resp.status_code == 200


def test_openai_spec_validates_multipart_forms(openai_spec):
    url = openai_spec.base_url + "/audio/transcriptions"
    files = {"file": ("a.mp3", b"ID3\x03audio", "audio/mpeg")}
    resp = requests.post(url, data={"model": "whisper-1", "response_format": "mp3"}, files=files,
                         headers=openai_headers(), timeout=10)
    assert resp.status_code == 422, resp.text
    assert ["body", "response_format"] in [v["location"] for v in resp.json()["validation"]]
    # A form without the file (a part with no filename is a plain field).
    resp = requests.post(url, files={"model": (None, "whisper-1")}, headers=openai_headers(),
                         timeout=10)
    assert resp.status_code == 422, resp.text
    assert "'file'" in resp.json()["validation"][0]["message"]


def test_anthropic_spec_rejects_a_request_without_max_tokens(anthropic_spec):
    body = {"model": "claude-3-5-sonnet-latest", "messages": [{"role": "user", "content": "Hi"}]}
    url = anthropic_spec.base_url + "/messages"
    resp = requests.post(url, json=body, timeout=10)
    assert resp.status_code == 422, resp.text
    violations = json.loads(resp.headers["sl-violations"])
    assert any("max_tokens" in v["message"] for v in violations)
    assert requests.post(url, json={**body, "max_tokens": 16}, timeout=10).status_code == 200


# -- embeddings, images and transcription through the gateway -----------------------------------

def form_parts(call):
    """{name: (filename, bytes)} of a multipart request as sent."""
    head = f"Content-Type: {call.headers['Content-Type']}\r\n\r\n".encode()
    message = BytesParser(policy=email.policy.HTTP).parsebytes(head + call.body)
    return {part.get_param("name", header="content-disposition"):
            (part.get_filename(), part.get_payload(decode=True)) for part in message.iter_parts()}


def assert_one_success(app, endpoint):
    [row] = log_rows(app)
    assert (row.endpoint, row.status, row.http_status) == (endpoint, "success", 200)


def test_embeddings_are_accepted(app, api, providers, sent):
    # Prism's static reply holds one vector, so one input keeps the reply consistent.
    status, body = api.post("/embed", json={"model": "text-embedding-3-small",
                                            "input": "The food was delicious", "dimensions": 256})
    assert_accepted(status, body, providers["openai"])
    assert len(body["data"]["embeddings"]) == 1
    assert sent[0].json == {"model": "text-embedding-3-small", "input": ["The food was delicious"],
                            "dimensions": 256}
    assert_one_success(app, "embed")


@pytest.mark.parametrize("request_,wire", [
    ({"model": "gpt-image-1", "prompt": "a red fox", "size": "1536x1024", "n": 2,
      "quality": "high"},
     {"model": "gpt-image-1", "prompt": "a red fox", "size": "1536x1024", "n": 2,
      "quality": "high"}),
    ({"model": "dall-e-3", "prompt": "a red fox", "size": "1792x1024", "n": 1, "quality": "hd"},
     {"model": "dall-e-3", "prompt": "a red fox", "size": "1792x1024", "n": 1, "quality": "hd",
      "response_format": "b64_json"}),
    ({"model": "dall-e-2", "prompt": "a red fox", "size": "512x512", "n": 3},
     {"model": "dall-e-2", "prompt": "a red fox", "size": "512x512", "n": 3,
      "response_format": "b64_json"}),
], ids=["gpt-image-1", "dall-e-3", "dall-e-2"])
def test_image_requests_are_accepted(app, api, providers, sent, request_, wire):
    status, body = api.post("/images", json=request_)
    assert_accepted(status, body, providers["openai"])
    assert body["data"]["images"][0]["b64Json"] == "string"
    assert sent[0].json == wire
    assert_one_success(app, "images")


MP3 = b"ID3\x04\x00\x00\x00\x00\x00\x00fake-mp3-frames"
WAV = b"RIFF\x24\x00\x00\x00WAVEfmt fake-wav-samples"


def test_transcription_from_json_is_accepted(app, api, providers, sent):
    status, body = api.post("/transcribe", json={
        "model": "whisper-1", "audio": base64.b64encode(MP3).decode(), "language": "en",
        "prompt": "Paris", "filename": "speech.mp3"})
    assert_accepted(status, body, providers["openai"])
    assert body["data"]["text"] == "string"
    # Prism parsed this form: `file` and `model` are required parts, response_format an enum.
    parts = form_parts(sent[0])
    assert parts["file"] == ("speech.mp3", MP3)
    fields = ("model", "language", "prompt", "response_format")
    assert {name: parts[name][1] for name in fields} == {
        "model": b"whisper-1", "language": b"en", "prompt": b"Paris", "response_format": b"json"}
    assert_one_success(app, "transcribe")


def test_transcription_from_a_multipart_upload_is_accepted(app, client, providers, sent):
    resp = client.post("/api/v1/inference/transcribe", content_type="multipart/form-data", data={
        "model": "gpt-4o-transcribe", "file": (io.BytesIO(WAV), "recording")})
    assert_accepted(resp.status_code, resp.get_json(), providers["openai"])
    assert resp.get_json()["data"]["text"] == "string"
    parts = form_parts(sent[0])
    # No extension given: the name sent upstream comes from the sniffed bytes.
    assert parts["file"][1] == WAV and parts["file"][0].endswith(".wav")
    assert parts["model"][1] == b"gpt-4o-transcribe"
    assert_one_success(app, "transcribe")


def test_an_embedding_payload_the_spec_rejects_becomes_a_400_with_one_row(
        app, api, providers, sent, monkeypatch):
    real = openai_format.embed_payload
    # The gateway refuses dimensions 0 itself, so force it past the schema to reach Prism.
    monkeypatch.setattr(openai_format, "embed_payload", lambda req: {**real(req), "dimensions": 0})
    status, body = api.post("/embed", json={"model": "text-embedding-3-small", "input": "x"})
    assert status == 400, body
    assert body["error"]["code"] == "UPSTREAM_ERROR"
    assert len(sent) == 1
    [row] = log_rows(app)
    assert (row.endpoint, row.status, row.http_status) == ("embed", "error", 400)


# -- tools, images and response formats ----------------------------------------------------------

WEATHER = {"name": "get_weather", "description": "Current weather in a city",
           "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}
PNG_1PX = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGNgYPj/HwADAgH/kU2jmQAAAABJRU5ErkJggg=="
# A tool round trip's second turn, with an image and a cache breakpoint in the first.
RICH_MESSAGES = [
    {"role": "system", "content": [{"type": "text", "text": "A long manual.", "cacheControl": {"type": "ephemeral"}}]},
    {"role": "user", "content": [{"type": "text", "text": "Weather where this photo was taken?",
                                  "cacheControl": {"type": "ephemeral"}},
                                 {"type": "image", "data": PNG_1PX, "mimeType": "image/png"}]},
    {"role": "assistant", "content": "Checking.", "toolCalls": [
        {"id": "call_1", "name": "get_weather", "arguments": {"city": "Paris"}},
        {"id": "call_2", "name": "get_weather", "arguments": {"city": "Rome"}}]},
    {"role": "tool", "toolCallId": "call_1", "content": "18 C"},
    {"role": "tool", "toolCallId": "call_2", "content": [{"type": "text", "text": "24 C"}]},
]
RICH_CASES = [
    ("openai", "gpt-4o", {"toolChoice": {"name": "get_weather"}}),
    ("openai", "gpt-4o", {"toolChoice": "required",
                          "responseFormat": {"type": "json_schema", "name": "weather", "strict": True, "schema": {
                              "type": "object", "properties": {"temp": {"type": "number"}}, "required": ["temp"],
                              "additionalProperties": False}}}),
    ("openai", "gpt-4o", {"toolChoice": "none", "responseFormat": {"type": "json"}}),
    ("opencode", "opencode/kimi-k2", {"toolChoice": "auto"}),
    ("anthropic", "claude-3-5-sonnet-latest", {"toolChoice": "required"}),
    ("anthropic", "claude-3-5-sonnet-latest", {"toolChoice": {"name": "get_weather"}}),
    ("zen-claude", "zen-claude/claude-3-5-haiku-latest", {"toolChoice": "auto"}),
]


@pytest.mark.parametrize("name,model,options", RICH_CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(RICH_CASES)])
def test_tools_images_and_response_formats_are_accepted_by_the_providers_spec(
        api, providers, sent, name, model, options):
    messages = RICH_MESSAGES
    if providers[name] is providers["anthropic"]:
        # The November 2024 spec has cache_control in its prompt-caching beta only; the current API
        # (and SDK: TextBlockParam.cache_control) takes it on every text block: covered by
        # tests/providers/test_anthropic_format.py, left out here.
        messages = json.loads(json.dumps(messages).replace(', "cacheControl": {"type": "ephemeral"}', ""))
    status, body = api.post("/chat", json={"model": model, "messages": messages, "tools": [WEATHER],
                                           "maxTokens": 64, **options})
    assert_accepted(status, body, providers[name])
    [call] = sent
    wire = call.json
    assert wire["tools"][0]["name" if "/messages" in call.url else "function"]
    if "/messages" in call.url:
        # Both results in the one user turn after the tool_use turn.
        assert [b["type"] for b in wire["messages"][-1]["content"]] == ["tool_result", "tool_result"]
        assert wire["messages"][0]["content"][1]["source"]["type"] == "base64"
    else:
        assert [m["role"] for m in wire["messages"][-2:]] == ["tool", "tool"]
        assert wire["messages"][1]["content"][1]["image_url"]["url"].startswith("data:image/png;base64,")


def test_structured_output_without_a_native_mode_is_a_forced_tool_the_spec_accepts(api, providers, sent):
    status, body = api.post("/chat", json={
        "model": "claude-3-5-sonnet-latest", "messages": [{"role": "user", "content": "Facts about Paris"}],
        "responseFormat": {"type": "json_schema", "name": "city_facts",
                           "schema": {"type": "object", "properties": {"city": {"type": "string"}}}}})
    assert_accepted(status, body, providers["anthropic"])
    assert sent[0].json["tool_choice"] == {"type": "tool", "name": "city_facts"}


def test_a_tool_payload_the_spec_rejects_is_refused(app, api, providers, sent, monkeypatch):
    # A function tool without its `function` object: Prism (the spec) must refuse it.
    monkeypatch.setattr(openai_format, "tools_payload", lambda tools: [{"type": "function"} for _ in tools])
    status, body = api.post("/chat", json={"model": "gpt-4o", "messages": RICH_MESSAGES, "tools": [WEATHER]})
    assert status == 400, body
    assert body["error"]["code"] == "UPSTREAM_ERROR"
    assert sent[0].status == 422
    [row] = log_rows(app)
    assert (row.status, row.http_status) == ("error", 400)
