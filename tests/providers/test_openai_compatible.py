"""OpenAI-compatible adapter: optional key, max_tokens, lenient stream end, inherited operations."""
import pytest
import requests

from inference_gateway import errors
from inference_gateway.providers.openai_compatible import OpenAICompatibleProvider
from inference_gateway.types import (Chunk, EmbedRequest, ImageRequest, TranscribeRequest, Usage)

from .helpers import add_sse, chat_request, load, sent_json

BASE = "http://localhost:11434/v1"


@pytest.fixture
def local(make):
    return make(OpenAICompatibleProvider, base_url=BASE, key=None)


def test_no_key_means_no_authorization_header(local, rsps):
    rsps.post(f"{BASE}/chat/completions", json=load("openai_compatible", "chat.json"))
    completion = local.chat(chat_request("llama3.2:latest", max_tokens=2))
    assert "Authorization" not in rsps.calls[0].request.headers
    assert sent_json(rsps.calls[0]) == {"model": "llama3.2:latest",
                                        "messages": [{"role": "user", "content": "Hello?"}],
                                        "max_tokens": 2}
    assert completion.finish_reason == "length"
    assert completion.usage == Usage(30, 2)


def test_a_key_is_sent_as_bearer(make, rsps):
    server = make(OpenAICompatibleProvider, base_url=BASE, key="local-secret")
    rsps.post(f"{BASE}/chat/completions", json=load("openai_compatible", "chat.json"))
    server.chat(chat_request("llama3.2:latest"))
    assert rsps.calls[0].request.headers["Authorization"] == "Bearer local-secret"


def test_no_env_var_at_all_is_fine(make, rsps):
    server = make(OpenAICompatibleProvider, base_url=BASE, env_var=None)
    rsps.get(f"{BASE}/models", json=load("openai_compatible", "models.json"))
    caps = {m.model_id: m.capabilities for m in server.list_models()}
    assert caps == {"llama3.2:latest": ["chat"], "nomic-embed-text:latest": ["embed"],
                    "Systran/faster-whisper-small": ["transcribe"]}


def test_stream_asks_for_usage_and_accepts_eof_after_finish(local, rsps):
    add_sse(rsps, "POST", f"{BASE}/chat/completions", load("openai_compatible", "stream_no_done.sse"))
    chunks = list(local.stream(chat_request("llama3.2:latest")))
    body = sent_json(rsps.calls[0])
    assert body["stream_options"] == {"include_usage": True}
    assert chunks == [Chunk(text="Hel"), Chunk(text="lo"), Chunk(finish_reason="stop")]


def test_stream_cut_before_finish_raises(local, rsps):
    add_sse(rsps, "POST", f"{BASE}/chat/completions", load("openai_compatible", "stream_cut.sse"))
    stream = local.stream(chat_request("llama3.2:latest"))
    assert next(stream) == Chunk(text="Hel")
    with pytest.raises(errors.UpstreamError, match="ended the stream early"):
        next(stream)


def test_embed_and_transcribe_work_like_openai(local, rsps):
    rsps.post(f"{BASE}/embeddings", json=load("openai_compatible", "embeddings.json"))
    rsps.post(f"{BASE}/audio/transcriptions", json=load("openai_compatible", "transcription.json"))
    assert local.embed(EmbedRequest(model="nomic-embed-text", inputs=["x"])).vectors == [[0.5, 0.25]]
    result = local.transcribe(TranscribeRequest(model="Systran/faster-whisper-small", audio=b"OggS",
                                                filename="a.ogg", language="fr"))
    assert result.text == "Bonjour tout le monde."
    assert result.usage is None
    assert b'filename="a.ogg"' in b"".join(rsps.calls[1].request.body)


def test_images_are_unsupported(local, rsps):
    with pytest.raises(errors.Unsupported):
        local.images(ImageRequest(model="sd", prompt="x"))
    assert len(rsps.calls) == 0


def test_unreachable_server_is_retried_then_upstream_error(local, rsps, sleeps):
    for _ in range(3):
        rsps.post(f"{BASE}/chat/completions", body=requests.exceptions.ConnectionError("refused"))
    with pytest.raises(errors.UpstreamError, match="could not reach"):
        local.chat(chat_request("llama3.2:latest"))
    assert len(sleeps) == 2
