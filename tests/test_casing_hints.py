"""An unknown field that is another casing of a known one names the field meant, on every schema."""
import pytest

from inference_gateway.web.strict import StrictSchema

CHAT = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}


@pytest.mark.parametrize("method, path, kwargs, message", [
    ("post", "/chat", {"json": {**CHAT, "max_tokens": 10}}, "max_tokens: Unknown field; did you mean maxTokens?"),
    ("post", "/chat/stream", {"json": {**CHAT, "top_p": 1}}, "top_p: Unknown field; did you mean topP?"),
    ("post", "/chat", {"json": {**CHAT, "messages": [{"Role": "user", "content": "hi"}]}},
     "messages.0.Role: Unknown field; did you mean role?"),
    ("post", "/providers", {"json": {"name": "o", "type": "openai", "env_var": "OPENAI_API_KEY"}},
     "env_var: Unknown field; did you mean envVar?"),
    ("post", "/embed", {"json": {"model": "text-embedding-3-small", "input": "x", "provider_id": "p"}},
     "provider_id: Unknown field; did you mean providerId?"),
    ("get", "/usage?Limit=5", {}, "Limit: Unknown field; did you mean limit?"),
    ("post", "/models/sync", {"json": {"Provider": "openai"}}, "Provider: Unknown field; did you mean provider?"),
])
def test_a_field_in_another_casing_gets_the_known_name(api, method, path, kwargs, message):
    status, body = getattr(api, method)(path, **kwargs)
    assert status == 400, body
    assert message in body["error"]["message"]
    assert "did you mean" in str(body["error"]["details"]), body


def test_an_unrelated_unknown_field_keeps_the_plain_message(api):
    status, body = api.post("/chat", json={**CHAT, "maxTokenz": 5})
    assert status == 400
    assert body["error"]["message"] == "maxTokenz: Unknown field."


def test_every_request_schema_is_strict():
    """The hint lives in StrictSchema, so every schema of the API must derive from it."""
    from inference_gateway.api import schemas, usage

    modules = (schemas, usage)
    found = [obj for m in modules for obj in vars(m).values()
             if isinstance(obj, type) and obj.__module__ == m.__name__ and hasattr(obj, "_declared_fields")]
    assert found and all(issubclass(cls, StrictSchema) for cls in found), found
