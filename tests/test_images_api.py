"""POST /images end to end: the app against the fake upstream server, for every provider type."""
import base64

import pytest

from .fake_upstream import PNG, Reply
from .fake_upstream.common import PNG_B64
from . import media_support
from .media_support import (UNSUPPORTED_MODELS, UPSTREAM_FAILURES, assert_error, one_row, run_curl,
                            script_failure)

# The fixtures these tests share with the other media endpoints' tests.
app_config = media_support.app_config

SEED_IMAGE = """curl -X POST http://localhost:3000/api/v1/inference/images \\
-H "Content-Type: application/json" \\
-d '{
"model": "gpt-image-1",
"prompt": "A sunset over mountains",
"size": "1024x1024"
}'"""
PROMPT = "A sunset over mountains"


def test_seed_example_through_curl(app, live_server, up, registered):
    status, body = run_curl(SEED_IMAGE, live_server.url)
    assert status == 200 and body["success"] is True, body
    data = body["data"]
    assert data["images"] == [{"b64Json": PNG_B64, "mimeType": "image/png"}]
    assert base64.b64decode(data["images"][0]["b64Json"]) == PNG
    # The fake bills 4 prompt words in and 1056 image tokens out (quality auto).
    assert data["model"] == "gpt-image-1" and data["usage"] == {"inputTokens": 4, "outputTokens": 1056}
    [sent] = up.of_kind("openai", "/images/generations")
    assert sent.json == {"model": "gpt-image-1", "prompt": PROMPT, "size": "1024x1024"}
    row = one_row(app, "images")
    assert (row.provider_name, row.input_tokens, row.output_tokens) == ("openai", 4, 1056)


def test_gpt_image_1_passes_n_and_quality(app, api, up, registered):
    status, body = api.post("/images", json={"model": "gpt-image-1", "prompt": PROMPT, "n": 2,
                                             "quality": "low", "size": "1536x1024"})
    assert status == 200, body
    assert len(body["data"]["images"]) == 2
    assert body["data"]["usage"] == {"inputTokens": 4, "outputTokens": 2 * 272}
    sent = up.of_kind("openai")[0].json
    assert (sent["n"], sent["quality"], sent["size"]) == (2, "low", "1536x1024")
    assert "response_format" not in sent  # gpt-image-* refuse it
    one_row(app, "images")


def test_dall_e_3_asks_for_base64_and_keeps_the_revised_prompt(app, api, up, registered):
    status, body = api.post("/images", json={"model": "dall-e-3", "prompt": PROMPT, "size": "1792x1024",
                                             "quality": "hd"})
    assert status == 200, body
    [image] = body["data"]["images"]
    assert image == {"b64Json": PNG_B64, "mimeType": "image/png",
                     "revisedPrompt": f"A detailed picture of {PROMPT}"}
    assert "usage" not in body["data"]  # dall-e reports none
    assert up.of_kind("openai")[0].json["response_format"] == "b64_json"
    row = one_row(app, "images")
    assert (row.input_tokens, row.output_tokens) == (0, 0)


def test_dall_e_2_several_images(app, api, up, registered):
    status, body = api.post("/images", json={"model": "dall-e-2", "prompt": PROMPT, "n": 3,
                                             "size": "256x256"})
    assert status == 200, body
    assert [i["b64Json"] for i in body["data"]["images"]] == [PNG_B64] * 3
    one_row(app, "images")


def test_an_upstream_url_is_passed_on(app, api, up, registered):
    url = up.url + "/files/img-1.png"
    up.script("openai", Reply(json={"created": 1, "data": [{"url": url}]}))
    status, body = api.post("/images", json={"model": "dall-e-2", "prompt": PROMPT})
    assert status == 200, body
    assert body["data"]["images"] == [{"url": url, "mimeType": "image/png"}]
    one_row(app, "images")


def test_google_image_model_via_inline_data(app, api, up, registered):
    status, body = api.post("/images", json={"model": "gemini-2.5-flash-image", "prompt": PROMPT,
                                             "size": "1024x1536"})
    assert status == 200, body
    assert body["data"]["images"] == [{"b64Json": PNG_B64, "mimeType": "image/png"}]
    assert body["data"]["usage"] == up.last_usage
    [sent] = up.of_kind("google")
    assert sent.path == "/models/gemini-2.5-flash-image:generateContent"
    assert sent.json["generationConfig"] == {"responseModalities": ["IMAGE"],
                                             "imageConfig": {"aspectRatio": "2:3"}}
    assert sent.json["contents"] == [{"role": "user", "parts": [{"text": PROMPT}]}]
    row = one_row(app, "images")
    assert (row.provider_name, row.output_tokens) == ("google", up.last_usage["outputTokens"])


def test_google_aspect_ratio_as_given(app, api, up, registered):
    status, body = api.post("/images", json={"model": "gemini-2.5-flash-image", "prompt": PROMPT,
                                             "size": "16:9"})
    assert status == 200, body
    assert up.of_kind("google")[0].json["generationConfig"]["imageConfig"] == {"aspectRatio": "16:9"}


def test_google_reply_without_an_image_is_a_502(app, api, up, registered):
    up.script("google", Reply(json={"candidates": [{"content": {"role": "model", "parts": [
        {"text": "I can't draw that."}]}, "finishReason": "STOP"}]}))
    status, body = api.post("/images", json={"model": "gemini-2.5-flash-image", "prompt": PROMPT})
    assert_error(status, body, 502, "UPSTREAM_ERROR", "no image", "I can't draw that.")
    one_row(app, "images", "error", "UPSTREAM_ERROR")


@pytest.mark.parametrize("model,size,accepted", [
    ("gpt-image-1", "256x256", "1024x1024, 1536x1024, 1024x1536, auto"),
    ("dall-e-3", "512x512", "1024x1024, 1792x1024, 1024x1792"),
    ("dall-e-2", "1792x1024", "256x256, 512x512, 1024x1024"),
    ("dall-e-3", "16:9", "1024x1024"),
    ("gemini-2.5-flash-image", "1000x10", "aspect ratio"),
])
def test_a_size_the_model_does_not_take_is_400_before_any_upstream_call(
        app, api, up, registered, model, size, accepted):
    status, body = api.post("/images", json={"model": model, "prompt": PROMPT, "size": size})
    assert_error(status, body, 400, "BAD_REQUEST", f"'{size}'", accepted)
    assert up.requests == []
    one_row(app, "images", "error", "BAD_REQUEST")


@pytest.mark.parametrize("payload,words", [
    ({"model": "dall-e-3", "n": 2}, ["dall-e-3", "n must be 1"]),
    ({"model": "gemini-2.5-flash-image", "n": 2}, ["n must be 1"]),
    ({"model": "dall-e-3", "quality": "low"}, ["quality 'low'", "standard, hd"]),
    ({"model": "gpt-image-1", "quality": "hd"}, ["quality 'hd'", "low, medium, high"]),
    ({"model": "dall-e-2", "quality": "hd"}, ["quality 'hd'"]),
])
def test_what_the_model_cannot_do_is_400_before_any_upstream_call(app, api, up, registered, payload, words):
    status, body = api.post("/images", json={**payload, "prompt": PROMPT})
    assert_error(status, body, 400, "BAD_REQUEST", *words)
    assert up.requests == []
    one_row(app, "images", "error", "BAD_REQUEST")


@pytest.mark.parametrize("provider,model", UNSUPPORTED_MODELS + [("local", "local/sdxl")])
def test_unsupported_providers(app, api, up, registered, provider, model):
    status, body = api.post("/images", json={"model": model, "prompt": PROMPT})
    assert_error(status, body, 400, "UNSUPPORTED", f"'{provider}'", "image generation")
    assert up.requests == []
    one_row(app, "images", "error", "UNSUPPORTED")


@pytest.mark.parametrize("payload,field", [
    ({"model": "gpt-image-1"}, "prompt"),
    ({"model": "gpt-image-1", "prompt": ""}, "prompt"),
    ({"model": "gpt-image-1", "prompt": "x" * 32001}, "prompt"),
    ({"model": "gpt-image-1", "prompt": 5}, "prompt"),
    ({"model": "gpt-image-1", "prompt": "p", "n": 0}, "n: must be between 1 and 10"),
    ({"model": "gpt-image-1", "prompt": "p", "n": 11}, "n: must be between 1 and 10"),
    ({"model": "gpt-image-1", "prompt": "p", "n": "2"}, "n"),
    ({"model": "gpt-image-1", "prompt": "p", "size": "big"}, "size"),
    ({"model": "gpt-image-1", "prompt": "p", "size": "0x0"}, "size"),
    ({"model": "gpt-image-1", "prompt": "p", "quality": "ultra"}, "quality"),
    ({"model": "gpt-image-1", "prompt": "p", "style": "vivid"}, "style: Unknown field"),
    ({"prompt": "p"}, "model is required"),
])
def test_bad_input_is_400_naming_the_field(app, api, up, registered, payload, field):
    status, body = api.post("/images", json=payload)
    assert_error(status, body, 400, "BAD_REQUEST", field)
    assert up.requests == []
    one_row(app, "images", "error", "BAD_REQUEST")


@pytest.mark.parametrize("reply,status,code", UPSTREAM_FAILURES)
@pytest.mark.parametrize("kind,model", [("openai", "gpt-image-1"), ("google", "gemini-2.5-flash-image")])
def test_upstream_failures_are_mapped(app, api, up, registered, kind, model, reply, status, code):
    script_failure(up, kind, reply)
    got, body = api.post("/images", json={"model": model, "prompt": PROMPT})
    assert_error(got, body, status, code, f"'{kind}'")
    row = one_row(app, "images", "error", code)
    assert row.http_status == status


def test_a_content_policy_refusal_is_a_400(app, api, up, registered):
    up.script("openai", Reply(400, json={"error": {
        "message": "Your request was rejected as a result of our safety system.",
        "type": "image_generation_user_error", "code": "content_policy_violation"}}))
    status, body = api.post("/images", json={"model": "dall-e-3", "prompt": PROMPT})
    assert_error(status, body, 400, "UPSTREAM_ERROR", "safety system", "content_policy_violation")
    one_row(app, "images", "error", "UPSTREAM_ERROR")


@pytest.fixture
def log_bodies(app_config):
    app_config["LOG_BODIES"] = True


def test_the_log_keeps_the_reply_without_the_image_bytes(log_bodies, app, api, up, registered):
    status, body = api.post("/images", json={"model": "dall-e-3", "prompt": PROMPT})
    assert status == 200, body
    row = one_row(app, "images")
    assert PROMPT in row.request_body
    assert "revisedPrompt" in row.response_body and PNG_B64 not in row.response_body
