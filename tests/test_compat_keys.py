"""Virtual keys on the compatible surfaces, with the official SDKs (max_retries=0) against gunicorn
and the fake upstream: a key over its rpm raises each SDK's RateLimitError with Retry-After and
OpenAI's x-ratelimit-* headers; over budget is a 402 in each surface's error format; a model outside
the key's list is PermissionDeniedError; a revoked key AuthenticationError; a stream refused the
same way before it starts; the rows carry the key and the cost; /v1/models lists what the key may
use."""
import json
import time

import anthropic
import openai
import pytest
import requests

from .compat_server import ADMIN_KEY, ANSWER, MODELS, P, PROMPT, serve

# USD per million tokens: a call of a few hundred tokens costs a few tenths of a dollar.
PRICES = {"gpt-4o": {"input": 1000, "output": 1000}, "claude-sonnet-4-20250514": {"input": 1000, "output": 1000}}


@pytest.fixture(scope="module")
def gateway(tmp_path_factory, upstream):
    tmp = tmp_path_factory.mktemp("compat-keys")
    prices = tmp / "prices.json"
    prices.write_text(json.dumps(PRICES))
    # KEY_CACHE_SECONDS=0: a revocation applies to the next call (the cache is tested elsewhere).
    yield from serve(tmp, upstream, PRICES_FILE=str(prices), KEY_CACHE_SECONDS="0")


def new_key(gateway, **fields):
    resp = requests.post(gateway.url + P + "/keys", json={"name": f"k{time.monotonic_ns()}", **fields},
                         headers={"Authorization": f"Bearer {ADMIN_KEY}"}, timeout=10)
    assert resp.status_code == 201, resp.text
    return resp.json()["data"]


def sdk_pair(gateway, key):
    return (openai.OpenAI(base_url=gateway.url + "/v1", api_key=key["key"], max_retries=0, timeout=20),
            anthropic.Anthropic(base_url=gateway.url, api_key=key["key"], max_retries=0, timeout=20))


def claude_call(client, model=MODELS["anthropic"], **kwargs):
    return client.messages.create(model=model, max_tokens=kwargs.pop("max_tokens", 20), messages=PROMPT, **kwargs)


def test_over_rpm_is_each_sdks_rate_limit_error_with_retry_after_and_ratelimit_headers(gateway, up):
    key = new_key(gateway, rpm=2)
    oai, claude = sdk_pair(gateway, key)
    raw = oai.chat.completions.with_raw_response.create(model=MODELS["openai"], messages=PROMPT)
    assert raw.parse().choices[0].message.content == ANSWER
    assert (raw.headers["x-ratelimit-limit-requests"], raw.headers["x-ratelimit-remaining-requests"]) == ("2", "1")
    assert claude_call(claude).content[0].text == ANSWER
    with pytest.raises(openai.RateLimitError) as caught:
        oai.chat.completions.create(model=MODELS["openai"], messages=PROMPT)
    headers = caught.value.response.headers
    assert int(headers["retry-after"]) >= 1 and headers["x-ratelimit-remaining-requests"] == "0"
    assert headers["x-ratelimit-limit-requests"] == "2" and headers["x-ratelimit-reset-requests"].endswith("s")
    assert caught.value.body["code"] == "rate_limit_exceeded" and "2 requests per minute" in caught.value.message
    with pytest.raises(anthropic.RateLimitError) as caught:
        claude_call(claude)
    assert caught.value.body["error"]["type"] == "rate_limit_error"
    assert int(caught.value.response.headers["retry-after"]) >= 1
    with pytest.raises(openai.RateLimitError):  # a stream is refused before it starts
        oai.chat.completions.create(model=MODELS["openai"], messages=PROMPT, stream=True)
    with pytest.raises(anthropic.RateLimitError):
        with claude.messages.stream(model=MODELS["anthropic"], max_tokens=20, messages=PROMPT) as stream:
            list(stream)
    with pytest.raises(openai.RateLimitError):
        oai.responses.create(model=MODELS["openai"], input="hi", stream=True)


def test_over_budget_is_a_402_in_each_surfaces_format(gateway, up):
    """A budget of $0.001 at $0.001 a token: the first call may start (nothing spent yet; a budget is
    overspent by one call at most), and spends it all; every call after it is refused."""
    key = new_key(gateway, budgetUsd=0.001)
    oai, claude = sdk_pair(gateway, key)
    assert oai.chat.completions.create(model=MODELS["openai"], messages=PROMPT, max_tokens=20).choices
    with pytest.raises(openai.APIStatusError) as caught:
        oai.chat.completions.create(model=MODELS["openai"], messages=PROMPT, max_tokens=20)
    assert caught.value.status_code == 402 and caught.value.body["code"] == "budget_exceeded"
    assert caught.value.body["type"] == "insufficient_quota" and "budget of $0.001" in caught.value.message
    with pytest.raises(anthropic.APIStatusError) as caught:
        claude_call(claude)
    assert caught.value.status_code == 402 and caught.value.body["error"]["type"] == "billing_error"
    with pytest.raises(anthropic.APIStatusError) as caught:  # streamed: refused before the first event
        with claude.messages.stream(model=MODELS["anthropic"], max_tokens=20, messages=PROMPT) as stream:
            list(stream)
    assert caught.value.status_code == 402
    with pytest.raises(openai.APIStatusError) as caught:
        oai.responses.create(model=MODELS["openai"], input="hi", stream=True)
    assert caught.value.status_code == 402


def test_an_unpriced_model_with_a_budget_is_a_402_naming_the_missing_price(gateway, up):
    oai, _ = sdk_pair(gateway, new_key(gateway, budgetUsd=5))
    with pytest.raises(openai.APIStatusError) as caught:
        oai.chat.completions.create(model=MODELS["openai-compatible"], messages=PROMPT)
    assert caught.value.status_code == 402 and "has no price" in caught.value.message


def test_a_model_outside_the_keys_list_is_permission_denied(gateway, up):
    oai, claude = sdk_pair(gateway, new_key(gateway, models=["gpt-4o*"]))
    assert oai.chat.completions.create(model=MODELS["openai"], messages=PROMPT).choices[0].message.content == ANSWER
    with pytest.raises(openai.PermissionDeniedError) as caught:
        oai.chat.completions.create(model=MODELS["anthropic"], messages=PROMPT)
    assert 'allowed models: ["gpt-4o*"]' in caught.value.message
    with pytest.raises(anthropic.PermissionDeniedError) as caught:
        claude_call(claude)
    assert caught.value.body["error"]["type"] == "permission_error"
    with pytest.raises(openai.PermissionDeniedError):
        oai.responses.create(model=MODELS["anthropic"], input="hi")


def test_a_revoked_key_is_an_authentication_error(gateway, up):
    key = new_key(gateway)
    oai, claude = sdk_pair(gateway, key)
    assert claude_call(claude).content[0].text == ANSWER
    resp = requests.delete(gateway.url + P + f"/keys/{key['id']}", headers={"Authorization": f"Bearer {ADMIN_KEY}"},
                           timeout=10)
    assert resp.status_code == 200, resp.text
    with pytest.raises(openai.AuthenticationError) as caught:
        oai.chat.completions.create(model=MODELS["openai"], messages=PROMPT)
    assert "was revoked" in caught.value.message
    with pytest.raises(anthropic.AuthenticationError) as caught:
        claude_call(claude)
    assert caught.value.body["error"]["type"] == "authentication_error"


def test_rows_carry_the_key_and_the_cost(gateway, up):
    key = new_key(gateway, budgetUsd=100)
    oai, claude = sdk_pair(gateway, key)
    oai.chat.completions.create(model=MODELS["openai"], messages=PROMPT, max_tokens=20)
    with claude.messages.stream(model=MODELS["anthropic"], max_tokens=20, messages=PROMPT) as stream:
        final = stream.get_final_message()
    assert final.content[0].text == ANSWER
    rows = gateway.native("GET", "/usage", key=ADMIN_KEY, params={"key": key["id"]})["requests"]
    assert sorted(r["endpoint"] for r in rows) == ["anthropic_messages_stream", "openai_chat"]
    for row in rows:
        tokens = row["inputTokens"] + row["outputTokens"]
        assert row["keyId"] == key["id"] and tokens > 0
        assert row["costUsd"] == pytest.approx(tokens * 0.001)
    # The key's own view: its rows only.
    mine = requests.get(gateway.url + P + "/usage", headers={"Authorization": f"Bearer {key['key']}"}, timeout=10)
    assert {r["keyId"] for r in mine.json()["data"]["requests"]} == {key["id"]}


def test_models_lists_only_what_the_key_may_use(gateway, up):
    for provider in ("openai", "anthropic"):
        gateway.native("POST", "/models/sync", key=ADMIN_KEY, json={"provider": provider})
    everything = {m.id for m in sdk_pair(gateway, new_key(gateway))[0].models.list()}
    assert "gpt-4o" in everything and any(m.startswith("claude-") for m in everything)
    oai, claude = sdk_pair(gateway, new_key(gateway, models=["gpt-4o*"]))
    listed = {m.id for m in oai.models.list()}
    assert listed and all(m.startswith("gpt-4o") for m in listed) and listed < everything
    assert oai.models.retrieve("gpt-4o").id == "gpt-4o"
    with pytest.raises(openai.NotFoundError):
        oai.models.retrieve(next(m for m in everything if m.startswith("claude-")))
    assert {m.id for m in claude.models.list()} == listed
    by_provider, _ = sdk_pair(gateway, new_key(gateway, providers=["anthropic"]))
    assert {m.id for m in by_provider.models.list()} == {m for m in everything if m.startswith("claude-")}
