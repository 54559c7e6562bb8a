"""The fake upstream server itself, driven with plain `requests`: each provider's wire format."""
import base64
import json
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from .fake_upstream import PNG, Hang, fake_vector
from .upstream_client import ANTHROPIC, ASK, GOOGLE, OPENAI, PARIS, post
from .helpers import sse_frames


# -- basics -------------------------------------------------------------------------------------

def test_base_urls(up):
    assert up.url.startswith("http://127.0.0.1:")
    assert up.base_url("openai") == up.url + "/openai/v1"
    assert up.base_url("anthropic") == up.url + "/anthropic/v1"
    assert up.base_url("google") == up.url + "/google/v1beta"
    assert up.base_url("opencode") == up.url + "/opencode/zen/v1"
    assert up.base_url("compat") == up.url + "/compat/v1"


@pytest.mark.parametrize("kind,headers,shape", [
    ("openai", OPENAI, lambda b: b["error"]["message"]),
    ("anthropic", ANTHROPIC, lambda b: b["type"] == "error" and b["error"]["type"] == "not_found_error"),
    ("google", GOOGLE, lambda b: b["error"]["status"] == "NOT_FOUND"),
    ("opencode", OPENAI, lambda b: b["type"] == "error"),
])
def test_unknown_path_is_404_in_the_kind_format(up, kind, headers, shape):
    resp = post(up, kind, "/nope", headers=headers, json={})
    assert resp.status_code == 404 and shape(resp.json())


def test_keep_alive_and_recording(up):
    with requests.Session() as session:
        for _ in range(3):
            resp = session.post(up.base_url("openai") + "/chat/completions", headers=OPENAI, timeout=5,
                                json={"model": "gpt-4o", "messages": ASK})
            assert resp.status_code == 200 and "Content-Length" in resp.headers
    assert len({r.peer for r in up.requests}) == 1  # one connection, reused
    sent = up.requests[0]
    assert (sent.method, sent.kind, sent.path) == ("POST", "openai", "/chat/completions")
    assert sent.headers["authorization"] == "Bearer sk-test"
    assert sent.json["messages"] == ASK and json.loads(sent.body) == sent.json


def test_concurrent_requests_are_served_in_parallel(up):
    up.script("openai", *[Hang(0.4)] * 16)
    started = time.monotonic()
    with ThreadPoolExecutor(16) as pool:
        codes = list(pool.map(lambda _: requests.get(up.base_url("openai") + "/models", headers=OPENAI,
                                                         timeout=5).status_code, range(16)))
    assert codes == [200] * 16
    assert time.monotonic() - started < 1.5


# -- OpenAI -------------------------------------------------------------------------------------

def test_openai_chat_reply_and_token_arithmetic(up):
    resp = post(up, "openai", "/chat/completions", OPENAI, json={
        "model": "gpt-4o", "messages": [{"role": "system", "content": "be brief"}] + ASK})
    body = resp.json()
    assert body["object"] == "chat.completion" and body["model"] == "gpt-4o"
    assert body["choices"][0]["message"]["content"] == PARIS
    assert body["choices"][0]["finish_reason"] == "stop"
    assert body["usage"] == {"prompt_tokens": 5 + 2 + 6, "completion_tokens": 6, "total_tokens": 19}
    assert up.last_usage == {"inputTokens": 13, "outputTokens": 6}


def test_echo_and_max_tokens_truncation(up):
    resp = post(up, "openai", "/chat/completions", OPENAI, json={
        "model": "gpt-4o", "messages": [{"role": "user", "content": "echo: one two three"}]})
    assert resp.json()["choices"][0]["message"]["content"] == "one two three"
    resp = post(up, "openai", "/chat/completions", OPENAI, json={
        "model": "gpt-4o", "messages": ASK, "max_completion_tokens": 2})
    choice = resp.json()["choices"][0]
    assert (choice["message"]["content"], choice["finish_reason"]) == ("The capital", "length")


@pytest.mark.parametrize("payload,param", [
    ({"model": "o3-mini", "messages": ASK, "max_tokens": 10}, "max_tokens"),
    ({"model": "gpt-5", "messages": ASK, "temperature": 0.2}, "temperature"),
    ({"messages": ASK}, None),
    ({"model": "gpt-4o"}, "messages"),
    ({"model": "gpt-4o", "messages": ASK, "stream_options": {"include_usage": True}}, "stream_options"),
    ({"model": "gpt-4o", "messages": [{"role": "model", "content": "x"}]}, "messages[0].role"),
])
def test_openai_chat_validation(up, payload, param):
    resp = post(up, "openai", "/chat/completions", OPENAI, json=payload)
    assert resp.status_code == 400
    assert resp.json()["error"]["param"] == param


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer "}, {"Authorization": "sk-test"}])
def test_openai_auth(up, headers):
    resp = post(up, "openai", "/chat/completions", headers, json={"model": "gpt-4o", "messages": ASK})
    assert resp.status_code == 401
    assert set(resp.json()["error"]) == {"message", "type", "param", "code"}


def test_compat_needs_no_key(up):
    resp = post(up, "compat", "/chat/completions", json={"model": "llama3", "messages": ASK})
    assert resp.status_code == 200 and resp.json()["choices"][0]["message"]["content"] == PARIS
    assert [m["id"] for m in requests.get(up.base_url("compat") + "/models", timeout=5).json()["data"]] == \
        ["llama3", "qwen2.5"]


def test_openai_stream_without_usage(up):
    with post(up, "openai", "/chat/completions", OPENAI, stream=True,
              json={"model": "gpt-4o", "messages": ASK, "stream": True}) as resp:
        assert resp.headers["Content-Type"] == "text/event-stream"
        assert resp.headers["Transfer-Encoding"] == "chunked"
        events = [data for _, data, _ in sse_frames(resp)]
    assert events[-1] == "[DONE]"
    chunks = [json.loads(e) for e in events[:-1]]
    assert "usage" not in json.dumps(chunks)
    deltas = [c["choices"][0]["delta"].get("content") for c in chunks]
    assert deltas == [""] + up.stream_chunks + [None]
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"


@pytest.mark.parametrize("fields", [("reasoning_content",), ("reasoning",), ("reasoning", "reasoning_content")])
def test_compat_shows_reasoning_in_the_fields_asked_for_sync_and_stream(up, fields):
    up.reasoning, up.reasoning_fields = "Paris is the capital.", fields
    message = post(up, "compat", "/chat/completions", json={"model": "llama3", "messages": ASK}).json()[
        "choices"][0]["message"]
    assert {name: message.get(name) for name in fields} == {name: up.reasoning for name in fields}
    assert message["content"] == PARIS
    with post(up, "compat", "/chat/completions", stream=True,
              json={"model": "llama3", "messages": ASK, "stream": True}) as resp:
        deltas = [json.loads(data)["choices"][0]["delta"] for _, data, _ in sse_frames(resp) if data != "[DONE]"]
    for name in fields:
        assert "".join(d.get(name) or "" for d in deltas) == up.reasoning
    thinking = [i for i, d in enumerate(deltas) if d.get(fields[0])]
    assert thinking and max(thinking) < min(i for i, d in enumerate(deltas) if d.get("content"))


def test_compat_in_thinking_mode_wants_a_tool_turns_reasoning_back(up):
    up.reasoning_back_required = True
    call = {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}
    turns = [*ASK, {"role": "assistant", "content": None, "tool_calls": [call]},
             {"role": "tool", "tool_call_id": "c1", "content": "x"}]
    refused = post(up, "compat", "/chat/completions", json={"model": "llama3", "messages": turns})
    assert refused.status_code == 400 and "reasoning_content" in refused.json()["error"]["message"]
    turns[1]["reasoning_content"] = "Call f."
    assert post(up, "compat", "/chat/completions", json={"model": "llama3", "messages": turns}).status_code == 200


def test_openai_shows_no_reasoning_unless_asked(up):
    message = post(up, "openai", "/chat/completions", OPENAI, json={"model": "gpt-4o", "messages": ASK}).json()[
        "choices"][0]["message"]
    assert "reasoning_content" not in message and "reasoning" not in message


def test_openai_stream_usage_and_timing(up):
    up.stream_delay = 0.1
    with post(up, "openai", "/chat/completions", OPENAI, stream=True, json={
            "model": "gpt-4o", "messages": ASK, "stream": True, "stream_options": {"include_usage": True}}) as resp:
        events = list(sse_frames(resp))
    assert events[-1][1] == "[DONE]"
    usage_chunk = json.loads(events[-2][1])
    assert usage_chunk["choices"] == [] and usage_chunk["usage"]["completion_tokens"] == 6
    arrivals = [t for _, data, t in events if '"content":"' in data and '"content":""' not in data]
    gaps = [b - a for a, b in zip(arrivals, arrivals[1:])]
    assert len(arrivals) == 6 and min(gaps) > 0.07, gaps


def test_stamped_chunks_carry_their_send_time(up):
    up.stamp = True
    with post(up, "openai", "/chat/completions", OPENAI, stream=True,
              json={"model": "gpt-4o", "messages": ASK, "stream": True}) as resp:
        chunks = [json.loads(d) for _, d, _ in sse_frames(resp) if d != "[DONE]"]
    stamps = [c["x_sent_at"] for c in chunks if "x_sent_at" in c]
    assert len(stamps) == 6 and abs(time.time() - stamps[-1]) < 2
    assert len(up.sent_at) == 6 and up.sent_at == sorted(up.sent_at) and time.monotonic() - up.sent_at[-1] < 2


def test_openai_models(up):
    resp = requests.get(up.base_url("openai") + "/models", headers=OPENAI, timeout=5).json()
    ids = [m["id"] for m in resp["data"]]
    assert resp["object"] == "list"
    assert {"gpt-4o", "text-embedding-3-small", "dall-e-3", "whisper-1"} <= set(ids)


def test_openai_embeddings_come_back_reversed(up):
    resp = post(up, "openai", "/embeddings", OPENAI, json={
        "model": "text-embedding-3-small", "input": ["alpha beta", "gamma"], "dimensions": 4}).json()
    assert [d["index"] for d in resp["data"]] == [1, 0]
    by_index = {d["index"]: d["embedding"] for d in resp["data"]}
    assert by_index == {0: fake_vector("alpha beta", 4), 1: fake_vector("gamma", 4)}
    assert resp["usage"] == {"prompt_tokens": 3, "total_tokens": 3}
    single = post(up, "openai", "/embeddings", OPENAI, json={"model": "text-embedding-3-small", "input": "x"})
    assert len(single.json()["data"][0]["embedding"]) == 8
    assert post(up, "openai", "/embeddings", OPENAI, json={"model": "m", "input": ""}).status_code == 400


def test_openai_images(up):
    gpt = post(up, "openai", "/images/generations", OPENAI, json={"model": "gpt-image-1", "prompt": "a cat"}).json()
    assert base64.b64decode(gpt["data"][0]["b64_json"]) == PNG
    assert gpt["usage"]["input_tokens"] == 2 and gpt["usage"]["output_tokens"] > 0
    dalle = post(up, "openai", "/images/generations", OPENAI, json={"model": "dall-e-3", "prompt": "a cat"}).json()
    assert dalle["data"][0]["revised_prompt"]
    image = requests.get(dalle["data"][0]["url"], timeout=5)
    assert image.headers["Content-Type"] == "image/png" and image.content == PNG
    b64 = post(up, "openai", "/images/generations", OPENAI,
               json={"model": "dall-e-3", "prompt": "a cat", "response_format": "b64_json"}).json()
    assert base64.b64decode(b64["data"][0]["b64_json"]) == PNG
    many = post(up, "openai", "/images/generations", OPENAI, json={"model": "dall-e-3", "prompt": "x", "n": 2})
    assert many.status_code == 400 and many.json()["error"]["param"] == "n"


def test_transcription_multipart(up):
    audio = b"\x00\x01" * 3000
    resp = post(up, "openai", "/audio/transcriptions", OPENAI, data={"model": "gpt-4o-transcribe"},
                files={"file": ("clip.wav", audio, "audio/wav")})
    assert resp.status_code == 200, resp.text
    assert resp.json() == {"text": "hello from the fake upstream", "usage": {
        "type": "tokens", "input_tokens": 7, "output_tokens": 5, "total_tokens": 12,
        "input_token_details": {"text_tokens": 0, "audio_tokens": 7}}}
    assert up.requests[-1].form == {"model": "gpt-4o-transcribe", "file": ("clip.wav", audio)}
    assert up.uploads == [("clip.wav", 6000)]
    whisper = post(up, "openai", "/audio/transcriptions", OPENAI, data={"model": "whisper-1"},
                   files={"file": ("clip.mp3", audio)})
    assert whisper.json()["usage"] == {"type": "duration", "seconds": 1}


@pytest.mark.parametrize("kwargs", [
    {"json": {"model": "whisper-1", "file": "abc"}},
    {"data": {"model": "whisper-1"}, "files": {"file": ("clip", b"abc")}},
    {"data": {}, "files": {"file": ("clip.wav", b"abc")}},
    {"data": {"model": "whisper-1"}, "files": {"other": ("clip.wav", b"abc")}},
])
def test_transcription_rejects(up, kwargs):
    assert post(up, "openai", "/audio/transcriptions", OPENAI, **kwargs).status_code == 400


def test_transcription_large_upload_is_fast(up):
    up.max_upload = None
    audio = b"\xff" * (30 * 1024 * 1024)
    started = time.monotonic()
    resp = post(up, "openai", "/audio/transcriptions", OPENAI, data={"model": "whisper-1"},
                files={"file": ("big.mp3", audio)})
    assert resp.status_code == 200 and up.uploads == [("big.mp3", len(audio))]
    assert time.monotonic() - started < 3
    up.max_upload = 25 * 1024 * 1024
    too_big = post(up, "openai", "/audio/transcriptions", OPENAI, data={"model": "whisper-1"},
                   files={"file": ("big.mp3", audio)})
    assert too_big.status_code == 413


# -- Anthropic ----------------------------------------------------------------------------------

def test_anthropic_message(up):
    resp = post(up, "anthropic", "/messages", ANTHROPIC, json={
        "model": "claude-3-5-haiku", "max_tokens": 100, "system": "be brief", "messages": ASK}).json()
    assert resp["type"] == "message" and resp["model"] == "claude-3-5-haiku"
    assert resp["content"] == [{"type": "text", "text": PARIS}] and resp["stop_reason"] == "end_turn"
    assert (resp["usage"]["input_tokens"], resp["usage"]["output_tokens"]) == (13, 6)


@pytest.mark.parametrize("headers", [{}, {"x-api-key": "k"}, {"anthropic-version": "2023-06-01"}])
def test_anthropic_auth(up, headers):
    resp = post(up, "anthropic", "/messages", headers, json={"model": "m", "max_tokens": 5, "messages": ASK})
    assert resp.status_code == 401
    assert resp.json()["error"]["type"] == "authentication_error" and resp.json()["type"] == "error"


@pytest.mark.parametrize("payload", [
    {"model": "m", "messages": ASK},
    {"model": "m", "max_tokens": 5, "messages": [{"role": "system", "content": "x"}] + ASK},
    {"model": "m", "max_tokens": 5, "messages": ASK, "temperature": 1.5},
])
def test_anthropic_validation(up, payload):
    resp = post(up, "anthropic", "/messages", ANTHROPIC, json=payload)
    assert resp.status_code == 400 and resp.json()["error"]["type"] == "invalid_request_error"


def test_anthropic_stream(up):
    with post(up, "anthropic", "/messages", ANTHROPIC, stream=True, json={
            "model": "claude-3-5-haiku", "max_tokens": 100, "messages": ASK, "stream": True}) as resp:
        events = [(name, json.loads(data)) for name, data, _ in sse_frames(resp)]
    names = [name for name, _ in events]
    assert names == ["message_start", "content_block_start", "ping"] + ["content_block_delta"] * 6 + \
        ["content_block_stop", "message_delta", "message_stop"]
    assert all(name == data["type"] for name, data in events)
    assert events[0][1]["message"]["usage"]["input_tokens"] == 11
    assert [d["delta"]["text"] for n, d in events if n == "content_block_delta"] == up.stream_chunks
    assert events[-2][1]["usage"]["output_tokens"] == 6
    assert events[-2][1]["delta"]["stop_reason"] == "end_turn"


def test_anthropic_models_are_paged(up):
    ids, after, pages = [], None, 0
    while True:
        query = {"limit": 20, **({"after_id": after} if after else {})}
        page = requests.get(up.base_url("anthropic") + "/models", headers=ANTHROPIC, params=query, timeout=5).json()
        pages += 1
        ids += [m["id"] for m in page["data"]]
        assert page["last_id"] == page["data"][-1]["id"]
        if not page["has_more"]:
            break
        after = page["last_id"]
    assert ids == up.models["anthropic"] and pages == 3  # 7 models, pages of at most up.page_size = 3
    up.page_size = 100
    whole = requests.get(up.base_url("anthropic") + "/models", headers=ANTHROPIC, timeout=5).json()
    assert len(whole["data"]) == 7 and not whole["has_more"]


# -- Google -------------------------------------------------------------------------------------

def gemini(up, method, payload, headers=GOOGLE, model="gemini-2.5-flash", **kw):
    return post(up, "google", f"/models/{model}:{method}", headers, json=payload, **kw)


CONTENTS = {"contents": [{"role": "user", "parts": [{"text": "What is the capital of France?"}]}]}


def test_google_generate(up):
    resp = gemini(up, "generateContent", {**CONTENTS, "systemInstruction": {"parts": [{"text": "be brief"}]}})
    body = resp.json()
    assert body["candidates"][0]["content"]["parts"] == [{"text": PARIS}]
    assert body["candidates"][0]["finishReason"] == "STOP"
    assert body["usageMetadata"] == {"promptTokenCount": 13, "candidatesTokenCount": 6, "totalTokenCount": 19}


@pytest.mark.parametrize("payload,status", [
    ({"contents": [{"role": "assistant", "parts": [{"text": "hi"}]}]}, 400),
    ({**CONTENTS, "max_tokens": 5}, 400),
    ({**CONTENTS, "generationConfig": {"max_tokens": 5}}, 400),
    ({}, 400),
])
def test_google_validation(up, payload, status):
    resp = gemini(up, "generateContent", payload)
    assert resp.status_code == status and resp.json()["error"]["status"] == "INVALID_ARGUMENT"


def test_google_auth(up):
    resp = gemini(up, "generateContent", CONTENTS, headers={})
    assert resp.status_code in (401, 403) and resp.json()["error"]["code"] == resp.status_code


def test_google_stream_ends_at_eof_with_usage_on_the_last_chunk(up):
    with gemini(up, "streamGenerateContent", CONTENTS, params={"alt": "sse"}, stream=True) as resp:
        chunks = [json.loads(data) for _, data, _ in sse_frames(resp)]
    assert ["".join(p["text"] for p in c["candidates"][0]["content"]["parts"]) for c in chunks] == up.stream_chunks
    assert "usageMetadata" not in chunks[0] and chunks[-1]["usageMetadata"]["candidatesTokenCount"] == 6
    assert chunks[-1]["candidates"][0]["finishReason"] == "STOP"


def test_google_image_and_embeddings(up):
    image = gemini(up, "generateContent", {**CONTENTS, "generationConfig": {"responseModalities": ["IMAGE"]}},
                   model="gemini-2.5-flash-image").json()
    inline = image["candidates"][0]["content"]["parts"][-1]["inlineData"]
    assert inline["mimeType"] == "image/png" and base64.b64decode(inline["data"]) == PNG
    one = gemini(up, "embedContent", {"content": {"parts": [{"text": "hi"}]}}, model="gemini-embedding-001").json()
    assert one["embedding"]["values"] == fake_vector("hi")
    batch = gemini(up, "batchEmbedContents", {"requests": [
        {"model": "models/gemini-embedding-001", "content": {"parts": [{"text": t}]}} for t in ("a", "b")]},
        model="gemini-embedding-001").json()
    assert [e["values"] for e in batch["embeddings"]] == [fake_vector("a"), fake_vector("b")]
    wrong = gemini(up, "batchEmbedContents", {"requests": [{"model": "models/x", "content": {"parts": [{"text": "a"}]}}]},
                   model="gemini-embedding-001")
    assert wrong.status_code == 400


def test_google_models_are_paged(up):
    names, token = [], None
    while True:
        params = {"pageSize": 50, **({"pageToken": token} if token else {})}
        page = requests.get(up.base_url("google") + "/models", headers=GOOGLE, params=params, timeout=5).json()
        names += [m["name"] for m in page["models"]]
        assert all(m["supportedGenerationMethods"] for m in page["models"])
        token = page.get("nextPageToken")
        if not token:
            break
    assert names == ["models/" + m for m in up.models["google"]]


# -- OpenCode Zen -------------------------------------------------------------------------------

def test_opencode_routes_and_cost(up):
    models = requests.get(up.base_url("opencode") + "/models", timeout=5).json()  # no key needed
    assert {m["owned_by"] for m in models["data"]} == {"opencode"}
    chat = post(up, "opencode", "/chat/completions", OPENAI, json={"model": "kimi-k2", "messages": ASK}).json()
    assert chat["choices"][0]["message"]["content"] == PARIS and chat["cost"]
    with post(up, "opencode", "/chat/completions", OPENAI, stream=True,
              json={"model": "kimi-k2", "messages": ASK, "stream": True}) as resp:
        events = [data for _, data, _ in sse_frames(resp)]
    assert events[-2] == "[DONE]" and json.loads(events[-1]) == {"choices": [], "cost": json.loads(events[-1])["cost"]}
    with post(up, "opencode", "/messages", {"x-api-key": "k"}, stream=True,
              json={"model": "claude-sonnet-4", "max_tokens": 10, "messages": ASK, "stream": True}) as resp:
        events = list(sse_frames(resp))
    assert [n for n, _, _ in events[-2:]] == ["message_stop", "ping"] and "cost" in json.loads(events[-1][1])
    gem = post(up, "opencode", "/models/gemini-2.5-pro:generateContent", GOOGLE, json=CONTENTS).json()
    assert gem["candidates"][0]["content"]["parts"] == [{"text": PARIS}]
    assert post(up, "opencode", "/chat/completions", json={"model": "kimi-k2", "messages": ASK}).status_code == 401
