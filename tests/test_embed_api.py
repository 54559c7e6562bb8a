"""POST /embed end to end: the app against the fake upstream server, for every provider type."""
import pytest

from .fake_upstream import Reply, fake_vector
from . import media_support
from .media_support import (UNSUPPORTED_MODELS, UPSTREAM_FAILURES, assert_error, one_row, run_curl,
                            script_failure)

# The fixtures these tests share with the other media endpoints' tests.
app_config = media_support.app_config

SEED_EMBED = """curl -X POST http://localhost:3000/api/v1/inference/embed \\
-H "Content-Type: application/json" \\
-d '{
"model": "text-embedding-3-small",
"input": "The quick brown fox"
}'"""
FOX = "The quick brown fox"


def test_seed_example_through_curl(app, live_server, up, registered):
    status, body = run_curl(SEED_EMBED, live_server.url)
    assert status == 200 and body["success"] is True, body
    assert body["data"] == {"embeddings": [fake_vector(FOX)], "model": "text-embedding-3-small",
                            "usage": {"inputTokens": 4}}
    [sent] = up.of_kind("openai", "/embeddings")
    assert sent.json == {"model": "text-embedding-3-small", "input": [FOX]}
    assert sent.headers["Authorization"] == "Bearer key-for-openai"
    row = one_row(app, "embed")
    assert (row.provider_name, row.model, row.input_tokens, row.output_tokens) == (
        "openai", "text-embedding-3-small", 4, 0)


def test_openai_list_keeps_input_order_and_passes_dimensions(app, api, up, registered):
    texts = ["alpha", "beta gamma", "delta epsilon zeta"]
    status, body = api.post("/embed", json={"model": "text-embedding-3-small", "input": texts,
                                            "dimensions": 4})
    assert status == 200, body
    # The fake answers in reverse order; each vector must land at its input's place.
    assert body["data"]["embeddings"] == [fake_vector(t, 4) for t in texts]
    assert body["data"]["usage"] == {"inputTokens": 6}
    assert up.of_kind("openai")[0].json["dimensions"] == 4
    one_row(app, "embed")


def test_google_one_input_uses_embed_content(app, api, up, registered):
    status, body = api.post("/embed", json={"model": "gemini-embedding-001", "input": FOX,
                                            "dimensions": 16})
    assert status == 200, body
    assert body["data"]["embeddings"] == [fake_vector(FOX, 16)]
    assert body["data"]["usage"] == {"inputTokens": 0}  # Gemini reports none
    [sent] = up.of_kind("google")
    assert sent.path == "/models/gemini-embedding-001:embedContent"
    assert sent.json == {"content": {"parts": [{"text": FOX}]}, "outputDimensionality": 16}
    assert sent.headers["x-goog-api-key"] == "key-for-google"
    row = one_row(app, "embed")
    assert row.provider_name == "google"


def test_google_several_inputs_use_batch_embed_contents(app, api, up, registered):
    texts = ["one", "two", "three"]
    status, body = api.post("/embed", json={"model": "gemini-embedding-001", "input": texts})
    assert status == 200, body
    assert body["data"]["embeddings"] == [fake_vector(t) for t in texts]
    [sent] = up.of_kind("google")
    assert sent.path == "/models/gemini-embedding-001:batchEmbedContents"
    assert [r["model"] for r in sent.json["requests"]] == ["models/gemini-embedding-001"] * 3
    assert [r["content"]["parts"][0]["text"] for r in sent.json["requests"]] == texts
    one_row(app, "embed")


def test_google_batches_of_at_most_100_in_order(app, api, up, registered):
    texts = [f"text {i}" for i in range(250)]
    status, body = api.post("/embed", json={"model": "gemini-embedding-001", "input": texts})
    assert status == 200, body
    assert body["data"]["embeddings"] == [fake_vector(t) for t in texts]
    sizes = [len(r.json["requests"]) for r in up.of_kind("google")]
    assert sizes == [100, 100, 50]
    one_row(app, "embed")


def test_openai_compatible_provider_by_name(app, api, up, registered):
    status, body = api.post("/embed", json={"model": "local/nomic-embed-text", "input": ["a b", "c"]})
    assert status == 200, body
    assert body["data"]["embeddings"] == [fake_vector("a b"), fake_vector("c")]
    assert body["data"]["model"] == "nomic-embed-text"
    [sent] = up.of_kind("compat")
    assert sent.json["model"] == "nomic-embed-text" and "Authorization" not in sent.headers
    row = one_row(app, "embed")
    assert (row.provider_name, row.input_tokens) == ("local", 3)


def test_provider_id_and_its_default_model(app, api, up, registered):
    status, body = api.put("/providers/local", json={"defaultModel": "bge-small"})
    assert status == 200, body
    status, body = api.post("/embed", json={"providerId": "local", "input": "hi"})
    assert status == 200, body
    assert up.of_kind("compat")[0].json["model"] == "bge-small"
    one_row(app, "embed")


def test_2048_inputs_are_accepted(app, api, up, registered):
    status, body = api.post("/embed", json={"model": "text-embedding-3-small",
                                            "input": [f"t{i}" for i in range(2048)]})
    assert status == 200, body
    assert len(body["data"]["embeddings"]) == 2048
    one_row(app, "embed")


@pytest.mark.parametrize("provider,model", UNSUPPORTED_MODELS)
def test_unsupported_providers(app, api, up, registered, provider, model):
    status, body = api.post("/embed", json={"model": model, "input": FOX})
    assert_error(status, body, 400, "UNSUPPORTED", f"'{provider}'", "embeddings")
    assert up.requests == []
    one_row(app, "embed", "error", "UNSUPPORTED")


@pytest.mark.parametrize("payload,field", [
    ({"model": "text-embedding-3-small"}, "input"),
    ({"model": "text-embedding-3-small", "input": ""}, "input"),
    ({"model": "text-embedding-3-small", "input": []}, "input"),
    ({"model": "text-embedding-3-small", "input": ["a", ""]}, "input: item 1 is empty"),
    ({"model": "text-embedding-3-small", "input": ["a", 3]}, "input: item 1 is not a string"),
    ({"model": "text-embedding-3-small", "input": {"text": "a"}}, "input"),
    ({"model": "text-embedding-3-small", "input": ["x"] * 2049}, "at most 2048"),
    ({"model": "text-embedding-3-small", "input": "a", "dimensions": 0}, "dimensions"),
    ({"model": "text-embedding-3-small", "input": "a", "dimensions": "8"}, "dimensions"),
    ({"model": "text-embedding-3-small", "input": "a", "encoding_format": "base64"},
     "encoding_format: Unknown field"),
    ({"model": "", "input": "a"}, "model"),
    ({"input": "a"}, "model is required"),
])
def test_bad_input_is_400_naming_the_field(app, api, up, registered, payload, field):
    status, body = api.post("/embed", json=payload)
    assert_error(status, body, 400, "BAD_REQUEST", field)
    assert up.requests == []
    one_row(app, "embed", "error", "BAD_REQUEST")


@pytest.mark.parametrize("kwargs,message", [
    ({"data": "{not json", "content_type": "application/json"}, "not valid JSON"),
    ({"data": "input=a", "content_type": "application/x-www-form-urlencoded"}, "Content-Type"),
    ({"json": ["a"]}, "JSON object"),
])
def test_a_body_that_is_not_a_json_object(app, api, up, kwargs, message):
    status, body = api.post("/embed", **kwargs)
    assert_error(status, body, 400, "BAD_REQUEST", message)
    one_row(app, "embed", "error", "BAD_REQUEST")


def test_unknown_model_has_no_provider(app, api, up, registered):
    status, body = api.post("/embed", json={"model": "mystery-embedder", "input": "a"})
    assert_error(status, body, 400, "NO_PROVIDER", "mystery-embedder")
    one_row(app, "embed", "error", "NO_PROVIDER")


@pytest.mark.parametrize("reply,status,code", UPSTREAM_FAILURES)
def test_upstream_failures_are_mapped(app, api, up, registered, reply, status, code):
    script_failure(up, "openai", reply)
    got, body = api.post("/embed", json={"model": "text-embedding-3-small", "input": FOX})
    assert_error(got, body, status, code, "openai")
    row = one_row(app, "embed", "error", code)
    assert row.http_status == status


def test_an_upstream_4xx_is_a_400_with_its_message(app, api, up, registered):
    up.script("openai", Reply(400, json={"error": {"message": "This model does not support "
                                                   "specifying dimensions.", "type": "invalid_request_error"}}))
    status, body = api.post("/embed", json={"model": "text-embedding-ada-002", "providerId": "openai",
                                            "input": "a", "dimensions": 8})
    assert_error(status, body, 400, "UPSTREAM_ERROR", "does not support specifying dimensions")
    one_row(app, "embed", "error", "UPSTREAM_ERROR")


def test_a_retried_500_then_success(app, api, up, registered):
    up.script("openai", Reply(500, json={"error": {"message": "boom"}}))
    status, body = api.post("/embed", json={"model": "text-embedding-3-small", "input": FOX})
    assert status == 200, body
    assert len(up.of_kind("openai")) == 2
    one_row(app, "embed")


def test_a_reply_with_too_few_vectors_is_a_502(app, api, up, registered):
    up.script("openai", Reply(json={"object": "list", "data": [], "usage": {"prompt_tokens": 1}}))
    status, body = api.post("/embed", json={"model": "text-embedding-3-small", "input": FOX})
    assert_error(status, body, 502, "UPSTREAM_ERROR", "0 embeddings for 1 inputs")
    one_row(app, "embed", "error", "UPSTREAM_ERROR")


@pytest.fixture
def small_body_limit(app_config):
    app_config["MAX_REQUEST_BYTES"] = 10_000


def test_a_body_over_max_request_bytes_is_413(small_body_limit, app, api, up, registered):
    status, body = api.post("/embed", json={"model": "text-embedding-3-small", "input": "x" * 20_000})
    assert_error(status, body, 413, "PAYLOAD_TOO_LARGE", "10000 bytes")
    assert up.requests == []
    one_row(app, "embed", "error", "PAYLOAD_TOO_LARGE")
