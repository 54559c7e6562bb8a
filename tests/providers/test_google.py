"""Gemini adapter: generateContent translation, SSE without terminator, embeddings, images, errors."""
import pytest
from responses import matchers

from inference_gateway import errors
from inference_gateway.providers.google import GoogleProvider
from inference_gateway.types import (Chunk, ThoughtDelta, EmbedRequest, ImageRequest, Message, TranscribeRequest,
                                     Usage)

from .helpers import add_sse, chat_request, load, sent_json

BASE = "https://generativelanguage.googleapis.com/v1beta"
FLASH = f"{BASE}/models/gemini-2.5-flash"


@pytest.fixture
def gemini(make):
    return make(GoogleProvider)


def test_list_models_follows_page_tokens_and_strips_the_prefix(gemini, rsps):
    rsps.get(f"{BASE}/models", json=load("google", "models_page1.json"),
             match=[matchers.query_param_matcher({"pageSize": "1000"})])
    rsps.get(f"{BASE}/models", json=load("google", "models_page2.json"),
             match=[matchers.query_param_matcher({
                 "pageSize": "1000", "pageToken": "Ch5tb2RlbHMvZ2VtaW5pLWVtYmVkZGluZy0wMDE="})])
    models = {m.model_id: (m.display_name, m.capabilities) for m in gemini.list_models()}
    assert models == {
        "gemini-2.5-flash": ("Gemini 2.5 Flash", ["chat"]),
        "gemini-embedding-001": ("Gemini Embedding 001", ["embed"]),
        "gemini-2.5-flash-image": ("Nano Banana", ["chat", "image"]),
        "imagen-4.0-generate-001": ("Imagen 4", []),
    }
    assert rsps.calls[0].request.headers["x-goog-api-key"] == "sk-test"


def test_chat_translates_roles_system_and_generation_config(gemini, rsps):
    rsps.post(f"{FLASH}:generateContent", json=load("google", "generate.json"))
    req = chat_request("gemini-2.5-flash", system="Be brief.", max_tokens=100, temperature=0.3,
                       top_p=0.9, stop=["STOP!"], messages=[Message("system", "You know geography."),
                                                            Message("user", "Hi"),
                                                            Message("assistant", "Hello."),
                                                            Message("user", "Capital of France?")])
    completion = gemini.chat(req)
    request = rsps.calls[0].request
    assert request.headers["x-goog-api-key"] == "sk-test"
    assert "Authorization" not in request.headers
    assert sent_json(rsps.calls[0]) == {
        "contents": [{"role": "user", "parts": [{"text": "Hi"}]},
                     {"role": "model", "parts": [{"text": "Hello."}]},
                     {"role": "user", "parts": [{"text": "Capital of France?"}]}],
        "systemInstruction": {"parts": [{"text": "Be brief.\n\nYou know geography."}]},
        "generationConfig": {"maxOutputTokens": 100, "temperature": 0.3, "topP": 0.9,
                             "stopSequences": ["STOP!"]},
    }
    assert completion.content == "The capital of France is Paris."  # thought part skipped
    assert completion.finish_reason == "stop"
    assert completion.usage == Usage(8, 7 + 25, reasoning_tokens=25)  # thinking tokens are output


def test_chat_minimal_body_and_models_prefix(gemini, rsps):
    rsps.post(f"{FLASH}:generateContent", json=load("google", "generate.json"))
    gemini.chat(chat_request("models/gemini-2.5-flash"))
    assert sent_json(rsps.calls[0]) == {"contents": [{"role": "user", "parts": [{"text": "Hello?"}]}]}


def test_safety_finish_is_content_filter(gemini, rsps):
    rsps.post(f"{FLASH}:generateContent", json=load("google", "generate_safety.json"))
    completion = gemini.chat(chat_request("gemini-2.5-flash"))
    assert completion.content == ""
    assert completion.finish_reason == "content_filter"
    assert completion.usage == Usage(11, 0)


@pytest.mark.parametrize("reason,expected", [
    ("STOP", "stop"), ("MAX_TOKENS", "length"), ("SAFETY", "content_filter"),
    ("RECITATION", "content_filter"), ("BLOCKLIST", "content_filter"),
    ("PROHIBITED_CONTENT", "content_filter"), ("SPII", "content_filter"),
    ("MALFORMED_FUNCTION_CALL", "malformed_function_call"), ("OTHER", "other")])
def test_finish_reasons_are_normalised(gemini, rsps, reason, expected):
    reply = load("google", "generate.json")
    reply["candidates"][0]["finishReason"] = reason
    rsps.post(f"{FLASH}:generateContent", json=reply)
    assert gemini.chat(chat_request("gemini-2.5-flash")).finish_reason == expected


def test_blocked_prompt_is_a_400_saying_why(gemini, rsps):
    rsps.post(f"{FLASH}:generateContent", json=load("google", "blocked.json"))
    with pytest.raises(errors.UpstreamError) as caught:
        gemini.chat(chat_request("gemini-2.5-flash"))
    assert caught.value.status == 400
    assert "blocked the prompt (PROHIBITED_CONTENT)" in caught.value.message


def test_stream_uses_alt_sse_and_yields_deltas_usage_and_finish(gemini, rsps):
    add_sse(rsps, "POST", f"{FLASH}:streamGenerateContent", load("google", "stream.sse"),
            match=[matchers.query_param_matcher({"alt": "sse"})])
    chunks = list(gemini.stream(chat_request("gemini-2.5-flash", max_tokens=64)))
    assert sent_json(rsps.calls[0])["generationConfig"] == {"maxOutputTokens": 64}
    assert chunks == [
        # The thought part (a summary Gemini sent unasked here) is carried as a Thought, apart.
        Chunk(thoughts=(ThoughtDelta(0, "Thinking about rivers"),)), Chunk(usage=Usage(6, 0)),
        Chunk(text="The longest river"), Chunk(usage=Usage(6, 23, reasoning_tokens=20)),
        Chunk(text=" is the Nile."), Chunk(usage=Usage(6, 28, reasoning_tokens=20), finish_reason="stop"),
    ]


def test_stream_ending_without_a_finish_reason_is_a_cut(gemini, rsps):
    add_sse(rsps, "POST", f"{FLASH}:streamGenerateContent", load("google", "stream_cut.sse"))
    stream = gemini.stream(chat_request("gemini-2.5-flash"))
    assert next(stream) == Chunk(text="The longest river")
    assert next(stream) == Chunk(usage=Usage(6, 3))
    with pytest.raises(errors.UpstreamError, match="no finishReason"):
        next(stream)


def test_stream_blocked_prompt_raises(gemini, rsps):
    add_sse(rsps, "POST", f"{FLASH}:streamGenerateContent", load("google", "stream_blocked.sse"))
    with pytest.raises(errors.UpstreamError, match=r"blocked the prompt \(SAFETY\)"):
        list(gemini.stream(chat_request("gemini-2.5-flash")))


def test_stream_error_payload_after_200_raises(gemini, rsps):
    add_sse(rsps, "POST", f"{FLASH}:streamGenerateContent", load("google", "stream_error.sse"))
    stream = gemini.stream(chat_request("gemini-2.5-flash"))
    assert next(stream) == Chunk(text="Hel")
    with pytest.raises(errors.UpstreamError, match="overloaded"):
        next(stream)


def test_embed_one_input_uses_embed_content(gemini, rsps):
    rsps.post(f"{BASE}/models/gemini-embedding-001:embedContent", json=load("google", "embed_single.json"))
    result = gemini.embed(EmbedRequest(model="gemini-embedding-001", inputs=["hello"], dimensions=3))
    assert sent_json(rsps.calls[0]) == {"content": {"parts": [{"text": "hello"}]},
                                        "outputDimensionality": 3}
    assert result.vectors == [[0.0123, -0.0456, 0.0789]]
    assert result.usage == Usage(0, 0)


def test_embed_several_inputs_uses_batch_embed_contents(gemini, rsps):
    rsps.post(f"{BASE}/models/gemini-embedding-001:batchEmbedContents",
              json=load("google", "embed_batch.json"))
    result = gemini.embed(EmbedRequest(model="gemini-embedding-001", inputs=["a", "b", "c"]))
    assert sent_json(rsps.calls[0]) == {"requests": [
        {"model": "models/gemini-embedding-001", "content": {"parts": [{"text": text}]}}
        for text in ("a", "b", "c")]}
    assert result.vectors == [[0.1, 0.2, 0.3], [0.4, 0.5, 0.6], [0.7, 0.8, 0.9]]


def test_embed_batch_passes_dimensions_in_every_request(gemini, rsps):
    rsps.post(f"{BASE}/models/gemini-embedding-001:batchEmbedContents",
              json={"embeddings": [{"values": [1.0]}, {"values": [2.0]}]})
    gemini.embed(EmbedRequest(model="gemini-embedding-001", inputs=["a", "b"], dimensions=1))
    assert [r["outputDimensionality"] for r in sent_json(rsps.calls[0])["requests"]] == [1, 1]


def test_embed_count_mismatch_is_an_upstream_error(gemini, rsps):
    rsps.post(f"{BASE}/models/gemini-embedding-001:batchEmbedContents",
              json=load("google", "embed_batch.json"))
    with pytest.raises(errors.UpstreamError, match="3 embeddings for 2 inputs"):
        gemini.embed(EmbedRequest(model="gemini-embedding-001", inputs=["a", "b"]))


def test_images_ask_for_image_output_with_the_aspect_ratio(gemini, rsps):
    rsps.post(f"{BASE}/models/gemini-2.5-flash-image:generateContent", json=load("google", "image.json"))
    result = gemini.images(ImageRequest(model="gemini-2.5-flash-image", prompt="a banana",
                                        size="1024x1536"))
    assert sent_json(rsps.calls[0]) == {
        "contents": [{"role": "user", "parts": [{"text": "a banana"}]}],
        "generationConfig": {"responseModalities": ["IMAGE"], "imageConfig": {"aspectRatio": "2:3"}},
    }
    assert result.images[0].mime_type == "image/png"
    assert result.images[0].b64_json.startswith("iVBORw0KGgo")
    assert result.usage == Usage(7, 1290)


def test_images_without_size_send_no_image_config(gemini, rsps):
    rsps.post(f"{BASE}/models/gemini-2.5-flash-image:generateContent", json=load("google", "image.json"))
    gemini.images(ImageRequest(model="gemini-2.5-flash-image", prompt="a banana", size="auto"))
    assert sent_json(rsps.calls[0])["generationConfig"] == {"responseModalities": ["IMAGE"]}


def test_image_size_without_a_supported_ratio_is_refused_before_the_call(gemini, rsps):
    with pytest.raises(errors.BadRequest, match="16:9"):
        gemini.images(ImageRequest(model="gemini-2.5-flash-image", prompt="x", size="1792x1024"))
    with pytest.raises(errors.BadRequest, match="one image per request"):
        gemini.images(ImageRequest(model="gemini-2.5-flash-image", prompt="x", n=3))
    assert len(rsps.calls) == 0


def test_image_refused_says_why(gemini, rsps):
    rsps.post(f"{BASE}/models/gemini-2.5-flash-image:generateContent",
              json=load("google", "image_refused.json"))
    with pytest.raises(errors.UpstreamError, match="IMAGE_SAFETY.*can't create that image"):
        gemini.images(ImageRequest(model="gemini-2.5-flash-image", prompt="x"))


def test_429_retry_info_delay_is_honoured(gemini, rsps, sleeps):
    rsps.post(f"{FLASH}:generateContent", status=429, json=load("google", "error_429.json"))
    rsps.post(f"{FLASH}:generateContent", json=load("google", "generate.json"))
    gemini.chat(chat_request("gemini-2.5-flash"))
    assert sleeps == [1.5]


def test_429_retry_info_too_long_is_passed_on(gemini, rsps, sleeps):
    rsps.post(f"{FLASH}:generateContent", status=429, json=load("google", "error_429_long.json"))
    with pytest.raises(errors.RateLimited) as caught:
        gemini.chat(chat_request("gemini-2.5-flash"))
    assert caught.value.retry_after == 37.0
    assert caught.value.headers["Retry-After"] == "37"
    assert "RESOURCE_EXHAUSTED" in caught.value.message
    assert sleeps == []


def test_503_is_retried_then_502(gemini, rsps, sleeps):
    for _ in range(3):
        rsps.post(f"{FLASH}:streamGenerateContent", status=503, json=load("google", "error_503.json"))
    with pytest.raises(errors.UpstreamError) as caught:
        gemini.stream(chat_request("gemini-2.5-flash"))
    assert caught.value.status == 502
    assert "overloaded" in caught.value.message
    assert len(sleeps) == 2


def test_invalid_key_400_keeps_googles_message(gemini, rsps):
    rsps.post(f"{FLASH}:generateContent", status=400, json=load("google", "error_400_key.json"))
    with pytest.raises(errors.UpstreamError) as caught:
        gemini.chat(chat_request("gemini-2.5-flash"))
    assert caught.value.status == 400
    assert "API key not valid" in caught.value.message
    assert len(rsps.calls) == 1


def test_missing_key_names_the_environment_variable(make, rsps):
    gemini = make(GoogleProvider, key=None, env_var="GEMINI_KEY_FOR_TEST")
    with pytest.raises(errors.ProviderNotConfigured, match="GEMINI_KEY_FOR_TEST"):
        list(gemini.list_models())


def test_transcription_is_unsupported(gemini):
    with pytest.raises(errors.Unsupported):
        gemini.transcribe(TranscribeRequest(model="m", audio=b"", filename="a.wav"))
