"""Which provider serves a model: providerId, `name/model`, a synced model, then the prefix table."""
import pytest

from inference_gateway import errors
from inference_gateway.store import provider_store
from inference_gateway.store.tables import ProviderModel
from inference_gateway.gateway.resolve import resolve, type_for_model


def add(name, kind, **extra):
    data = {"name": name, "type": kind, "env_var": "KEY", **extra}
    if kind == "openai-compatible":
        data.setdefault("base_url", "http://127.0.0.1:9/v1")
    return provider_store.create(data)


@pytest.mark.parametrize("model,kind", [
    ("claude-sonnet-4-20250514", "anthropic"), ("claude-3-5-haiku", "anthropic"),
    ("gpt-4o", "openai"), ("gpt-4o-mini-transcribe", "openai"), ("o3-mini", "openai"),
    ("o1", "openai"), ("o4-mini", "openai"), ("chatgpt-4o-latest", "openai"),
    ("text-embedding-3-small", "openai"), ("gpt-image-1", "openai"), ("dall-e-3", "openai"),
    ("dall-e-2", "openai"), ("whisper-1", "openai"),
    ("gemini-2.5-pro", "google"), ("text-embedding-004", "google"),
    ("opencode/claude-sonnet-4", "opencode"),
    ("llama3", None), ("mistral-large", None), ("whisper-2", None),
])
def test_prefix_table(model, kind):
    assert type_for_model(model) == kind


def test_prefix_table_picks_earliest_registered_of_type(app):
    with app.app_context():
        first = add("oa-first", "openai")
        add("oa-second", "openai")
        provider, model = resolve("gpt-4o")
        assert provider.id == first.id and model == "gpt-4o"


def test_provider_id_by_id_or_name_and_default_model(app):
    with app.app_context():
        p = add("claude", "anthropic", default_model="claude-3-5-haiku")
        assert resolve(None, p.id) == (p, "claude-3-5-haiku")
        assert resolve("claude-opus-4", "CLAUDE")[1] == "claude-opus-4"
        with pytest.raises(errors.NotFound):
            resolve("gpt-4o", "nope")


def test_name_prefix_routes_to_that_provider_and_strips_it(app):
    with app.app_context():
        local = add("local", "openai-compatible")
        zen = add("opencode", "opencode")
        assert resolve("local/llama3") == (local, "llama3")
        assert resolve("opencode/claude-sonnet-4") == (zen, "claude-sonnet-4")
        # an explicit provider with its own prefix on the model
        assert resolve("local/llama3", "local") == (local, "llama3")


def test_opencode_prefix_without_a_provider_named_opencode(app):
    with app.app_context():
        zen = add("zen", "opencode")
        assert resolve("opencode/kimi-k2") == (zen, "kimi-k2")


def test_synced_model_resolves_before_prefix_table(app):
    with app.app_context():
        add("openai", "openai")
        local = add("vllm", "openai-compatible")
        ProviderModel.create(provider=local.id, model_id="gpt-oss-20b")
        ProviderModel.create(provider=local.id, model_id="qwen3")
        assert resolve("qwen3") == (local, "qwen3")
        assert resolve("gpt-oss-20b")[0].id == local.id


def test_errors_say_what_to_do(app):
    with app.app_context():
        with pytest.raises(errors.BadRequest, match="model is required"):
            resolve(None, None)
        with pytest.raises(errors.NoProvider, match="type 'anthropic'"):
            resolve("claude-3-5-haiku")
        with pytest.raises(errors.NoProvider, match="no provider serves model 'llama3'"):
            resolve("llama3")
        add("bare", "openai")
        with pytest.raises(errors.BadRequest, match="no defaultModel"):
            resolve(None, "bare")
