"""The OpenAI-compatible surface driven by the official `openai` SDK (max_retries=0) against gunicorn,
with every provider type behind it on the fake upstream server."""
import base64

import openai
import pytest
import requests

from .compat_server import ADMIN_KEY, ANSWER, FAKE_KIND, GATEWAY_KEY, KINDS, MODELS, PROMPT, run_gateway
from .fake_upstream import PNG, SSE, Reply


gateway = pytest.fixture(scope="module")(run_gateway)


@pytest.fixture
def client(gateway, up):
    with openai.OpenAI(base_url=gateway.url + "/v1", api_key=GATEWAY_KEY, max_retries=0,
                       timeout=20) as client:
        yield client


def usage_of(up):
    return {"prompt_tokens": up.last_usage["inputTokens"],
            "completion_tokens": up.last_usage["outputTokens"]}


@pytest.mark.parametrize("kind", KINDS)
def test_chat_completion_from_every_provider_type(client, gateway, up, kind):
    reply = client.chat.completions.create(model=MODELS[kind], messages=PROMPT, max_tokens=100,
                                           temperature=0.5)
    assert reply.object == "chat.completion" and reply.id.startswith("chatcmpl-")
    assert reply.model == MODELS[kind]
    [choice] = reply.choices
    assert (choice.message.role, choice.message.content, choice.finish_reason) == (
        "assistant", ANSWER, "stop")
    assert {"prompt_tokens": reply.usage.prompt_tokens,
            "completion_tokens": reply.usage.completion_tokens} == usage_of(up)
    assert reply.usage.total_tokens == reply.usage.prompt_tokens + reply.usage.completion_tokens
    row = gateway.rows("openai_chat")[0]
    assert (row["id"], row["status"], row["inputTokens"]) == (
        reply.id.removeprefix("chatcmpl-"), "success", reply.usage.prompt_tokens)


@pytest.mark.parametrize("kind", KINDS)
def test_streamed_chat_from_every_provider_type(client, gateway, up, kind):
    chunks = list(client.chat.completions.create(
        model=MODELS[kind], messages=PROMPT, stream=True, stream_options={"include_usage": True}))
    texts = [c.choices[0].delta.content for c in chunks if c.choices and c.choices[0].delta.content]
    assert texts == up.stream_chunks  # every upstream delta, one chunk each, none merged
    assert chunks[0].choices[0].delta.role == "assistant"
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    last = chunks[-1]
    assert last.choices == [] and last.usage is not None
    assert {"prompt_tokens": last.usage.prompt_tokens,
            "completion_tokens": last.usage.completion_tokens} == usage_of(up)
    assert len({c.id for c in chunks}) == 1
    row = gateway.rows("openai_chat_stream")[0]
    assert (row["id"], row["status"], row["outputTokens"]) == (
        last.id.removeprefix("chatcmpl-"), "success", len(up.stream_chunks))


def test_stream_without_include_usage_sends_no_usage_chunk_but_upstream_is_asked(client, up):
    chunks = list(client.chat.completions.create(model=MODELS["openai"], messages=PROMPT, stream=True))
    assert all(c.choices for c in chunks) and all(c.usage is None for c in chunks)
    assert up.of_kind("openai")[-1].json["stream_options"] == {"include_usage": True}


def test_parameters_reach_the_upstream(client, up):
    client.chat.completions.create(
        model=MODELS["openai"], max_completion_tokens=50, top_p=0.9, stop=["\n\n"], n=1, user="u-1",
        messages=[{"role": "developer", "content": "Be brief."},
                  {"role": "user", "content": [{"type": "text", "text": "Hi"}, {"type": "text", "text": "!"}]}])
    sent = up.of_kind("openai")[-1].json
    assert sent["max_completion_tokens"] == 50 and sent["top_p"] == 0.9 and sent["stop"] == ["\n\n"]
    assert sent["messages"] == [{"role": "system", "content": "Be brief."},
                                {"role": "user", "content": "Hi!"}]
    assert "user" not in sent and "n" not in sent


@pytest.mark.parametrize("body,param", [
    ({"n": 2}, "n"),
    ({"logit_bias": {"50256": -100}}, "logit_bias"),
    ({"temperature": 3}, "temperature"),
    ({"max_tokens": 0}, "max_tokens"),
    ({"messages": []}, "messages"),
])
def test_what_cannot_be_honoured_is_a_400_naming_the_field(client, body, param):
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(**{"model": MODELS["openai"], "messages": PROMPT, **body})
    assert caught.value.status_code == 400
    assert caught.value.body["param"] == param and param in caught.value.message


def test_wrong_or_missing_key_is_an_authentication_error(gateway):
    for key in ("wrong", ""):
        client = openai.OpenAI(base_url=gateway.url + "/v1", api_key=key or "x", max_retries=0,
                               default_headers={} if key else {"Authorization": ""})
        with pytest.raises(openai.AuthenticationError) as caught:
            client.chat.completions.create(model=MODELS["openai"], messages=PROMPT)
        assert caught.value.body["code"] == "invalid_api_key"


def test_unknown_model_is_not_found(client):
    with pytest.raises(openai.NotFoundError) as caught:
        client.chat.completions.create(model="no-such-model", messages=PROMPT)
    assert caught.value.body["code"] == "model_not_found"


def test_unknown_route_is_an_openai_404(client):
    with pytest.raises(openai.NotFoundError):
        client.get("/nothing/here", cast_to=object)


@pytest.mark.parametrize("kind", KINDS)
def test_upstream_rate_limit_and_failure_raise_the_sdk_classes(client, gateway, up, kind):
    fake = FAKE_KIND.get(kind, kind)
    up.script(fake, Reply(429, json={"error": {"message": "slow down", "type": "rate_limit_error"}},
                          headers={"Retry-After": "7"}))
    with pytest.raises(openai.RateLimitError) as caught:
        client.chat.completions.create(model=MODELS[kind], messages=PROMPT)
    assert caught.value.response.headers["retry-after"] == "7"
    assert "slow down" in caught.value.message
    up.script(fake, Reply(500, json={"error": {"message": "upstream broke"}}))
    with pytest.raises(openai.InternalServerError) as caught:
        client.chat.completions.create(model=MODELS[kind], messages=PROMPT)
    assert caught.value.status_code == 502
    statuses = [row["httpStatus"] for row in gateway.rows("openai_chat")[:2]]
    assert statuses == [502, 429]


def test_failure_after_the_stream_started_is_an_error_object(client, gateway, up):
    up.script("openai", SSE([{"choices": [{"index": 0, "delta": {"content": "Hel"}}]}] * 3,
                            reset_after=2))
    seen = []
    with pytest.raises(openai.APIError) as caught:
        for chunk in client.chat.completions.create(model=MODELS["openai"], messages=PROMPT,
                                                    stream=True):
            seen.extend(c.delta.content for c in chunk.choices if c.delta.content)
    assert seen == ["Hel", "Hel"]
    assert "mid-stream" in caught.value.message or "early" in caught.value.message
    row = gateway.rows("openai_chat_stream")[0]
    assert row["status"] == "error"


def test_embeddings_as_floats_and_as_the_sdks_default_base64(client, gateway, up):
    floats = client.embeddings.create(model="openai/text-embedding-3-small", input=["a", "b"],
                                      encoding_format="float")
    default = client.embeddings.create(model="openai/text-embedding-3-small", input=["a", "b"])
    assert up.of_kind("openai")[-1].json["input"] == ["a", "b"]
    assert [d.index for d in floats.data] == [0, 1]
    for f, d in zip(floats.data, default.data):
        assert d.embedding == pytest.approx(f.embedding, abs=1e-6)
    assert floats.usage.prompt_tokens > 0 and floats.usage.total_tokens == floats.usage.prompt_tokens
    assert gateway.rows("openai_embeddings")[0]["status"] == "success"


def test_embeddings_of_a_gemini_model(client):
    reply = client.embeddings.create(model="google/text-embedding-004", input="hello",
                                     encoding_format="float")
    assert len(reply.data) == 1 and len(reply.data[0].embedding) > 0


def test_models_lists_the_synced_models(client, gateway):
    gateway.native("POST", "/models/sync", key=ADMIN_KEY, json={"provider": "openai"})
    listed = client.models.list()
    ids = [m.id for m in listed.data]
    assert "gpt-4o" in ids and len(ids) == len(set(ids))
    model = client.models.retrieve("gpt-4o")
    assert (model.id, model.owned_by, model.object) == ("gpt-4o", "openai", "model")
    with pytest.raises(openai.NotFoundError):
        client.models.retrieve("nothing-like-it")


def test_image_generation(client, gateway):
    reply = client.images.generate(model="openai/dall-e-3", prompt="a red fox")
    [image] = reply.data
    assert base64.b64decode(image.b64_json) == PNG
    assert image.revised_prompt
    as_url = client.images.generate(model="openai/dall-e-3", prompt="a red fox", response_format="url")
    assert as_url.data[0].url.startswith("data:image/png;base64,")
    assert gateway.rows("openai_images")[0]["status"] == "success"


def test_transcription_multipart(client, gateway, up):
    audio = b"ID3" + b"\x00" * 4000
    reply = client.audio.transcriptions.create(model="openai/gpt-4o-transcribe",
                                               file=("note.mp3", audio), language="en")
    assert reply.text == "hello from the fake upstream"
    assert up.uploads[-1] == ("note.mp3", len(audio))
    text = client.audio.transcriptions.create(model="openai/whisper-1", file=("note.mp3", audio),
                                              response_format="text")
    assert text.strip() == "hello from the fake upstream"
    row = gateway.rows("openai_transcriptions")[0]
    assert row["status"] == "success"


def test_raw_error_body_has_openais_shape(gateway):
    resp = requests.post(gateway.url + "/v1/chat/completions", headers=gateway.headers, timeout=10,
                         data="not json", )
    assert resp.status_code == 400
    assert set(resp.json()["error"]) == {"message", "type", "param", "code"}
