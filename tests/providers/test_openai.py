"""OpenAI adapter: request translation, reply and stream parsing, images, transcription, errors."""
import pytest
import requests
from responses import matchers

from inference_gateway import errors
from inference_gateway.providers.openai import OpenAIProvider
from inference_gateway.types import (Chunk, EmbedRequest, ImageRequest, Message, TranscribeRequest,
                                     Usage)

from .helpers import add_sse, chat_request, load, sent_json

BASE = "https://api.openai.com/v1"


@pytest.fixture
def openai(make):
    return make(OpenAIProvider)


def test_list_models_maps_ids_to_capabilities(openai, rsps):
    rsps.get(f"{BASE}/models", json=load("openai", "models.json"),
             match=[matchers.header_matcher({"Authorization": "Bearer sk-test"})])
    caps = {m.model_id: m.capabilities for m in openai.list_models()}
    assert caps == {
        "gpt-4o-mini": ["chat"], "o3-mini": ["chat"], "chatgpt-4o-latest": ["chat"],
        "text-embedding-3-small": ["embed"], "dall-e-3": ["image"], "gpt-image-1": ["image"],
        "whisper-1": ["transcribe"], "gpt-4o-mini-transcribe": ["transcribe"],
        "gpt-4o-mini-tts": [], "omni-moderation-latest": [],
    }


def test_chat_sends_the_openai_body_and_parses_the_reply(openai, rsps):
    rsps.post(f"{BASE}/chat/completions", json=load("openai", "chat.json"))
    req = chat_request("gpt-4o-mini", system="Be brief.", max_tokens=50, temperature=0.2, top_p=0.9,
                       stop=["\n\n"], messages=[Message("system", "You are a geographer."),
                                                Message("user", "Capital of France?"),
                                                Message("assistant", "Let me think."),
                                                Message("user", "Well?")])
    completion = openai.chat(req)
    call = rsps.calls[0]
    assert call.request.headers["Authorization"] == "Bearer sk-test"
    assert sent_json(call) == {
        "model": "gpt-4o-mini",
        "messages": [{"role": "system", "content": "Be brief."},
                     {"role": "system", "content": "You are a geographer."},
                     {"role": "user", "content": "Capital of France?"},
                     {"role": "assistant", "content": "Let me think."},
                     {"role": "user", "content": "Well?"}],
        "max_completion_tokens": 50, "temperature": 0.2, "top_p": 0.9, "stop": ["\n\n"],
    }
    assert completion.content == "Paris is the capital of France."
    assert completion.finish_reason == "stop"
    assert completion.usage == Usage(24, 8)
    assert completion.model == "gpt-4o-mini"


def test_chat_leaves_out_unset_options(openai, rsps):
    rsps.post(f"{BASE}/chat/completions", json=load("openai", "chat.json"))
    openai.chat(chat_request("gpt-4o-mini"))
    assert sent_json(rsps.calls[0]) == {"model": "gpt-4o-mini",
                                        "messages": [{"role": "user", "content": "Hello?"}]}


def test_chat_without_choices_is_an_upstream_error(openai, rsps):
    rsps.post(f"{BASE}/chat/completions", json={"id": "x", "choices": []})
    with pytest.raises(errors.UpstreamError, match="no choices"):
        openai.chat(chat_request("gpt-4o-mini"))


def test_stream_yields_each_delta_then_finish_and_usage(openai, rsps):
    add_sse(rsps, "POST", f"{BASE}/chat/completions", load("openai", "chat_stream.sse"))
    chunks = list(openai.stream(chat_request("gpt-4o-mini", max_tokens=5)))
    body = sent_json(rsps.calls[0])
    assert body["stream"] is True
    assert body["stream_options"] == {"include_usage": True}
    assert body["max_completion_tokens"] == 5
    assert chunks == [Chunk(text="Par"), Chunk(text="is"), Chunk(text="."),
                      Chunk(finish_reason="stop"), Chunk(usage=Usage(19, 3))]


def test_stream_reaches_upstream_before_iteration(openai, rsps):
    add_sse(rsps, "POST", f"{BASE}/chat/completions", load("openai", "chat_stream.sse"))
    stream = openai.stream(chat_request("gpt-4o-mini"))
    assert len(rsps.calls) == 1
    stream.close()


def test_stream_http_error_raises_from_stream_itself(openai, rsps):
    rsps.post(f"{BASE}/chat/completions", status=404, json=load("openai", "error_model_not_found.json"))
    with pytest.raises(errors.UpstreamError) as caught:
        openai.stream(chat_request("gpt-9"))
    assert caught.value.status == 400
    assert "does not exist" in caught.value.message


def test_stream_cut_before_done_raises(openai, rsps):
    add_sse(rsps, "POST", f"{BASE}/chat/completions", load("openai", "chat_stream_cut.sse"))
    stream = openai.stream(chat_request("gpt-4o-mini"))
    assert next(stream) == Chunk(text="Once upon")
    with pytest.raises(errors.UpstreamError, match="ended the stream early"):
        next(stream)


def test_stream_error_payload_after_200_raises(openai, rsps):
    add_sse(rsps, "POST", f"{BASE}/chat/completions", load("openai", "chat_stream_error.sse"))
    stream = openai.stream(chat_request("gpt-4o-mini"))
    assert next(stream) == Chunk(text="Hel")
    with pytest.raises(errors.UpstreamError, match="server had an error"):
        next(stream)


def test_stream_event_that_is_not_json_is_an_upstream_error(openai, rsps):
    add_sse(rsps, "POST", f"{BASE}/chat/completions", b"data: {not json\n\n")
    with pytest.raises(errors.UpstreamError, match="not valid JSON"):
        list(openai.stream(chat_request("gpt-4o-mini")))


def test_embed_sends_inputs_and_orders_vectors_by_index(openai, rsps):
    rsps.post(f"{BASE}/embeddings", json=load("openai", "embeddings.json"))
    result = openai.embed(EmbedRequest(model="text-embedding-3-small", inputs=["a", "b"], dimensions=3))
    assert sent_json(rsps.calls[0]) == {"model": "text-embedding-3-small", "input": ["a", "b"],
                                        "dimensions": 3}
    assert result.vectors == [[-0.0069, 0.0123, 0.0371], [0.25, -0.5, 0.125]]
    assert result.usage == Usage(9, 0)


def test_embed_count_mismatch_is_an_upstream_error(openai, rsps):
    rsps.post(f"{BASE}/embeddings", json=load("openai", "embeddings.json"))
    with pytest.raises(errors.UpstreamError, match="2 embeddings for 3 inputs"):
        openai.embed(EmbedRequest(model="text-embedding-3-small", inputs=["a", "b", "c"]))


def test_gpt_image_sends_no_response_format_and_reports_tokens(openai, rsps):
    rsps.post(f"{BASE}/images/generations", json=load("openai", "images_gpt_image.json"))
    result = openai.images(ImageRequest(model="gpt-image-1", prompt="an otter", size="1024x1536",
                                        quality="medium"))
    assert sent_json(rsps.calls[0]) == {"model": "gpt-image-1", "prompt": "an otter",
                                        "size": "1024x1536", "quality": "medium"}
    image = result.images[0]
    assert image.b64_json.startswith("iVBORw0KGgo")
    assert image.mime_type == "image/webp"  # from the reply's output_format
    assert result.usage == Usage(13, 1056)


def test_dalle3_asks_for_base64_and_keeps_the_revised_prompt(openai, rsps):
    rsps.post(f"{BASE}/images/generations", json=load("openai", "images_dalle3.json"))
    result = openai.images(ImageRequest(model="dall-e-3", prompt="an otter", n=1, size="1792x1024"))
    assert sent_json(rsps.calls[0]) == {"model": "dall-e-3", "prompt": "an otter", "n": 1,
                                        "size": "1792x1024", "response_format": "b64_json"}
    image = result.images[0]
    assert image.mime_type == "image/png"
    assert image.revised_prompt.startswith("A photograph of a small sea otter")
    assert result.usage is None


@pytest.mark.parametrize("model,size,accepted", [
    ("dall-e-2", "1792x1024", "256x256, 512x512, 1024x1024"),
    ("dall-e-3", "512x512", "1024x1024, 1792x1024, 1024x1792"),
    ("dall-e-3", "auto", "1024x1024, 1792x1024, 1024x1792"),
    ("gpt-image-1", "1792x1024", "1024x1024, 1536x1024, 1024x1536, auto"),
    ("gpt-image-1-mini", "256x256", "1024x1024, 1536x1024, 1024x1536, auto"),
])
def test_image_size_is_checked_before_any_upstream_call(openai, rsps, model, size, accepted):
    with pytest.raises(errors.BadRequest) as caught:
        openai.images(ImageRequest(model=model, prompt="x", size=size))
    assert accepted in caught.value.message
    assert len(rsps.calls) == 0


@pytest.mark.parametrize("model,size", [("dall-e-2", "256x256"), ("dall-e-3", "1024x1792"),
                                        ("gpt-image-1", "auto"), ("gpt-image-1", "1536x1024")])
def test_accepted_image_sizes_go_through(openai, rsps, model, size):
    rsps.post(f"{BASE}/images/generations", json=load("openai", "images_dalle3.json"))
    openai.images(ImageRequest(model=model, prompt="x", size=size))
    assert sent_json(rsps.calls[0])["size"] == size


def test_dalle3_takes_one_image_per_request(openai, rsps):
    with pytest.raises(errors.BadRequest, match="n must be 1"):
        openai.images(ImageRequest(model="dall-e-3", prompt="x", n=2))
    assert len(rsps.calls) == 0


def test_transcribe_sends_multipart_and_maps_token_usage(openai, rsps):
    rsps.post(f"{BASE}/audio/transcriptions", json=load("openai", "transcription.json"))
    result = openai.transcribe(TranscribeRequest(model="gpt-4o-mini-transcribe", audio=b"ID3-bytes",
                                                 filename="clip.mp3", language="en", prompt="names"))
    request = rsps.calls[0].request
    assert request.headers["Content-Type"].startswith("multipart/form-data; boundary=")
    body = b"".join(request.body)  # a MultipartBody: parts sent from the caller's buffers
    assert b'name="model"\r\n\r\ngpt-4o-mini-transcribe\r\n' in body
    assert b'name="response_format"\r\n\r\njson\r\n' in body
    assert b'name="language"\r\n\r\nen\r\n' in body
    assert b'name="prompt"\r\n\r\nnames\r\n' in body
    assert b'name="file"; filename="clip.mp3"\r\nContent-Type: audio/mpeg\r\n\r\nID3-bytes' in body
    assert result.text.startswith("Imagine the wildest idea")
    assert result.usage == Usage(14, 101)
    assert result.language == "en"


def test_transcribe_duration_usage_is_not_tokens(openai, rsps):
    rsps.post(f"{BASE}/audio/transcriptions", json=load("openai", "transcription_whisper.json"))
    result = openai.transcribe(TranscribeRequest(model="whisper-1", audio=b"RIFF", filename="a.wav"))
    assert b'name="language"' not in b"".join(rsps.calls[0].request.body)
    assert result.text == "Hello from whisper."
    assert result.usage is None


def test_401_names_the_key_variable(openai, rsps):
    rsps.post(f"{BASE}/chat/completions", status=401, json=load("openai", "error_invalid_key.json"))
    with pytest.raises(errors.UpstreamError) as caught:
        openai.chat(chat_request("gpt-4o-mini"))
    assert caught.value.status == 502
    assert "TEST_PROVIDER_KEY" in caught.value.message
    assert "Incorrect API key" in caught.value.message
    assert len(rsps.calls) == 1


def test_400_is_a_rejected_request_and_not_retried(openai, rsps):
    rsps.post(f"{BASE}/chat/completions", status=400,
              json={"error": {"message": "Unsupported parameter: 'max_tokens'", "type": "invalid_request_error",
                              "param": "max_tokens", "code": "unsupported_parameter"}})
    with pytest.raises(errors.UpstreamError) as caught:
        openai.chat(chat_request("o3-mini"))
    assert caught.value.status == 400
    assert "Unsupported parameter" in caught.value.message
    assert len(rsps.calls) == 1


def test_429_waits_retry_after_then_succeeds(openai, rsps, sleeps):
    rsps.post(f"{BASE}/chat/completions", status=429, json=load("openai", "error_rate_limit.json"),
              headers={"Retry-After": "2"})
    rsps.post(f"{BASE}/chat/completions", json=load("openai", "chat.json"))
    assert openai.chat(chat_request("gpt-4o-mini")).content.startswith("Paris")
    assert sleeps == [2.0]


def test_429_retry_after_ms_is_preferred(openai, rsps, sleeps):
    rsps.post(f"{BASE}/chat/completions", status=429, json=load("openai", "error_rate_limit.json"),
              headers={"retry-after-ms": "250", "Retry-After": "1"})
    rsps.post(f"{BASE}/chat/completions", json=load("openai", "chat.json"))
    openai.chat(chat_request("gpt-4o-mini"))
    assert sleeps == [0.25]


def test_429_insufficient_quota_is_not_retried_and_not_reported_as_a_rate_limit(openai, rsps, sleeps):
    rsps.post(f"{BASE}/chat/completions", status=429, json=load("openai", "error_insufficient_quota.json"))
    with pytest.raises(errors.UpstreamError) as caught:
        openai.chat(chat_request("gpt-4o-mini"))
    # Billing: a client that backs off on 429 would wait forever, so it is a 502 instead.
    assert caught.value.status == 502 and caught.value.code == "UPSTREAM_ERROR"
    assert "exceeded your current quota" in caught.value.message
    assert len(rsps.calls) == 1
    assert sleeps == []


def test_429_rate_limit_exhausting_retries_is_rate_limited(openai, rsps, sleeps):
    for _ in range(3):
        rsps.post(f"{BASE}/chat/completions", status=429, json=load("openai", "error_rate_limit.json"),
                  headers={"Retry-After": "1"})
    with pytest.raises(errors.RateLimited) as caught:
        openai.chat(chat_request("gpt-4o-mini"))
    assert caught.value.headers["Retry-After"] == "1"
    assert sleeps == [1.0, 1.0]


@pytest.mark.parametrize("status", [500, 503])
def test_server_errors_are_retried_then_502(openai, rsps, sleeps, status):
    for _ in range(3):
        rsps.post(f"{BASE}/chat/completions", status=status,
                  json={"error": {"message": "The server is overloaded", "type": "server_error"}})
    with pytest.raises(errors.UpstreamError) as caught:
        openai.chat(chat_request("gpt-4o-mini"))
    assert caught.value.status == 502
    assert "overloaded" in caught.value.message
    assert len(rsps.calls) == 3
    assert len(sleeps) == 2


def test_server_error_then_success(openai, rsps, sleeps):
    rsps.post(f"{BASE}/chat/completions", status=503, body="upstream connect error")
    rsps.post(f"{BASE}/chat/completions", json=load("openai", "chat.json"))
    assert openai.chat(chat_request("gpt-4o-mini")).usage == Usage(24, 8)
    assert len(sleeps) == 1


def test_should_retry_false_stops_retries(openai, rsps, sleeps):
    rsps.post(f"{BASE}/chat/completions", status=500, json={"error": {"message": "boom"}},
              headers={"x-should-retry": "false"})
    with pytest.raises(errors.UpstreamError):
        openai.chat(chat_request("gpt-4o-mini"))
    assert len(rsps.calls) == 1


def test_malformed_json_reply_is_502(openai, rsps):
    rsps.post(f"{BASE}/chat/completions", body="<html>gateway</html>", content_type="text/html")
    with pytest.raises(errors.UpstreamError) as caught:
        openai.chat(chat_request("gpt-4o-mini"))
    assert caught.value.status == 502
    assert "not valid JSON" in caught.value.message


def test_read_timeout_is_upstream_timeout(openai, rsps):
    rsps.post(f"{BASE}/chat/completions", body=requests.exceptions.ReadTimeout("slow"))
    with pytest.raises(errors.UpstreamTimeout):
        openai.chat(chat_request("gpt-4o-mini"))
    assert len(rsps.calls) == 1


def test_missing_key_names_the_environment_variable(make, rsps):
    openai = make(OpenAIProvider, key=None, env_var="OPENAI_API_KEY_FOR_TEST")
    with pytest.raises(errors.ProviderNotConfigured, match="OPENAI_API_KEY_FOR_TEST"):
        openai.chat(chat_request("gpt-4o-mini"))
    assert len(rsps.calls) == 0


def test_base_url_replaces_the_default(make, rsps):
    openai = make(OpenAIProvider, base_url="https://proxy.example.com/openai/v1/")
    rsps.post("https://proxy.example.com/openai/v1/chat/completions", json=load("openai", "chat.json"))
    assert openai.chat(chat_request("gpt-4o-mini")).finish_reason == "stop"
