"""Shared adapter behaviour: stream lifetime, transport failures, retries, keys, the registry."""
from types import SimpleNamespace

import pytest
import requests

from inference_gateway import errors
from inference_gateway.providers import PROVIDER_TYPES, TYPE_ALIASES, provider_class
from inference_gateway.providers.anthropic import AnthropicProvider
from inference_gateway.providers.google import GoogleProvider
from inference_gateway.providers.openai import OpenAIProvider
from inference_gateway.types import Chunk

from .helpers import chat_request, load

BASE = "https://api.openai.com/v1"


class FakeResponse:
    """A streamed response whose body, without HTTP chunks, arrives as the given pieces (an exception
    instance is raised): each read1 returns the next piece, as urllib3's returns what has arrived."""

    def __init__(self, *chunks):
        self.chunks = iter(chunks)
        self.closed = False
        self.raw = SimpleNamespace(chunked=False, read1=self.read1)

    def read1(self, amt, decode_content=None):
        chunk = next(self.chunks, b"")
        if isinstance(chunk, Exception):
            raise chunk
        assert len(chunk) <= amt and decode_content
        return chunk

    def close(self):
        self.closed = True


def streaming(provider, monkeypatch, resp):
    monkeypatch.setattr(provider, "request", lambda *args, **kwargs: resp)
    return provider.stream(chat_request("any-model"))


DELTA = b'data: {"choices":[{"index":0,"delta":{"content":"hi"},"finish_reason":null}]}\n\n'


STREAM_URLS = {
    OpenAIProvider: f"{BASE}/chat/completions",
    AnthropicProvider: "https://api.anthropic.com/v1/messages",
    GoogleProvider: "https://generativelanguage.googleapis.com/v1beta/models/any-model:streamGenerateContent",
}


@pytest.mark.parametrize("cls", [OpenAIProvider, AnthropicProvider, GoogleProvider])
def test_closing_the_adapter_closes_a_stream_that_never_started(make, rsps, monkeypatch, cls):
    provider = make(cls)
    rsps.post(STREAM_URLS[cls], body=DELTA, content_type="text/event-stream")
    closed = []
    send = provider.request

    def spy(*args, **kwargs):
        resp = send(*args, **kwargs)
        close = resp.close
        resp.close = lambda: (closed.append(True), close())
        return resp

    monkeypatch.setattr(provider, "request", spy)
    provider.stream(chat_request("any-model"))  # never iterated: its own finally never runs
    assert closed == []
    provider.close()
    assert closed == [True]


def test_closing_a_stream_midway_closes_the_upstream(make, monkeypatch):
    resp = FakeResponse(DELTA, DELTA, b"data: [DONE]\n\n")
    stream = streaming(make(OpenAIProvider), monkeypatch, resp)
    assert next(stream) == Chunk(text="hi")
    stream.close()
    assert resp.closed


def test_a_finished_stream_has_closed_the_upstream(make, monkeypatch):
    resp = FakeResponse(DELTA, b"data: [DONE]\n\n")
    assert list(streaming(make(OpenAIProvider), monkeypatch, resp)) == [Chunk(text="hi")]
    assert resp.closed


def test_each_delta_is_yielded_before_the_next_arrives(make, monkeypatch):
    resp = FakeResponse(DELTA, requests.exceptions.ChunkedEncodingError("reset"))
    stream = streaming(make(OpenAIProvider), monkeypatch, resp)
    assert next(stream) == Chunk(text="hi")


def test_a_connection_broken_mid_stream_is_an_upstream_error(make, monkeypatch):
    resp = FakeResponse(DELTA, requests.exceptions.ChunkedEncodingError("reset"))
    stream = streaming(make(OpenAIProvider), monkeypatch, resp)
    next(stream)
    with pytest.raises(errors.UpstreamError, match="broke mid-stream"):
        next(stream)
    assert resp.closed


def test_a_read_timeout_mid_stream_is_an_upstream_timeout(make, monkeypatch):
    resp = FakeResponse(DELTA, requests.exceptions.ReadTimeout("idle"))
    stream = streaming(make(OpenAIProvider), monkeypatch, resp)
    next(stream)
    with pytest.raises(errors.UpstreamTimeout):
        next(stream)


def test_connect_timeouts_are_retried_then_upstream_timeout(make, rsps, sleeps):
    for _ in range(3):
        rsps.post(f"{BASE}/chat/completions", body=requests.exceptions.ConnectTimeout("syn"))
    with pytest.raises(errors.UpstreamTimeout):
        make(OpenAIProvider).chat(chat_request("gpt-4o-mini"))
    assert len(rsps.calls) == 3
    assert len(sleeps) == 2


def test_connect_timeout_then_success(make, rsps, sleeps):
    rsps.post(f"{BASE}/chat/completions", body=requests.exceptions.ConnectTimeout("syn"))
    rsps.post(f"{BASE}/chat/completions", json=load("openai", "chat.json"))
    assert make(OpenAIProvider).chat(chat_request("gpt-4o-mini")).content.startswith("Paris")


def test_backoff_waits_stay_within_the_configured_bounds(make, rsps, sleeps):
    for _ in range(3):
        rsps.post(f"{BASE}/chat/completions", status=500, json={"error": {"message": "x"}})
    with pytest.raises(errors.UpstreamError):
        make(OpenAIProvider).chat(chat_request("gpt-4o-mini"))
    assert len(sleeps) == 2 and all(0 <= wait <= 0.002 for wait in sleeps)


def test_no_env_var_configured_is_not_configured(make):
    provider = make(OpenAIProvider, env_var=None)
    with pytest.raises(errors.ProviderNotConfigured, match="no envVar"):
        provider.chat(chat_request("gpt-4o-mini"))


def test_the_key_is_read_at_call_time(make, rsps, monkeypatch):
    provider = make(OpenAIProvider, key="first")
    monkeypatch.setenv("TEST_PROVIDER_KEY", "rotated")
    rsps.post(f"{BASE}/chat/completions", json=load("openai", "chat.json"))
    provider.chat(chat_request("gpt-4o-mini"))
    assert rsps.calls[0].request.headers["Authorization"] == "Bearer rotated"


def test_the_registry_maps_every_type_to_its_adapter():
    assert sorted(PROVIDER_TYPES) == ["anthropic", "google", "openai", "openai-compatible", "opencode"]
    for name, cls in PROVIDER_TYPES.items():
        assert cls.type == name and provider_class(name) is cls
    assert provider_class(TYPE_ALIASES["gemini"]) is GoogleProvider


def test_adapters_do_not_import_the_web_or_database_layers():
    # The package's own __init__ imports flask (the app factory), so read the sources instead.
    import ast
    import pathlib

    import inference_gateway.providers as package
    imported = set()
    for path in pathlib.Path(package.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                imported.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                imported.add(node.module.split(".")[0])
    assert "requests" in imported
    assert not imported & {"flask", "peewee", "marshmallow"}
