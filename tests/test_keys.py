"""Virtual keys: the admin routes, what a key may use, its limits on every surface, its own usage."""
import hashlib
import json
from datetime import datetime, timedelta, timezone

import pytest
import websocket

from inference_gateway.store.db import connection
from inference_gateway.store.tables import VirtualKey

from .helpers import log_rows
from .live import receive_until_end
from .mock_provider import chunks, completion

ADMIN = "admin-key-for-tests"
AS_ADMIN = {"Authorization": f"Bearer {ADMIN}"}
HELLO = {"model": "gpt-4o", "messages": [{"role": "user", "content": "Hello"}], "maxTokens": 10}
P = "/api/v1/inference"


@pytest.fixture
def app_config(app_config, tmp_path):
    prices = tmp_path / "prices.json"
    prices.write_text(json.dumps({"gpt-4o": {"input": 1000, "output": 1000}}))
    return {**app_config, "GATEWAY_ADMIN_KEYS": ADMIN, "PRICES_FILE": str(prices)}


@pytest.fixture
def admin(client):
    def call(method, path, **kwargs):
        resp = getattr(client, method)(P + path, headers=AS_ADMIN, **kwargs)
        return resp.status_code, resp.get_json()
    return call


@pytest.fixture
def provider(admin):
    status, body = admin("post", "/providers", json={"name": "openai", "type": "openai", "envVar": "OPENAI_API_KEY"})
    assert status == 201, body
    return body["data"]


@pytest.fixture
def new_key(admin):
    def create(**fields):
        status, body = admin("post", "/keys", json={"name": "team-a", **fields})
        assert status == 201, body
        return body["data"]
    return create


def as_key(key):
    return {"Authorization": f"Bearer {key['key']}"}


def chat(client, key, body=HELLO, path="/chat"):
    return client.post(P + path, json=body, headers=as_key(key))


def test_create_shows_the_secret_once_and_stores_its_hash(app, admin, new_key):
    key = new_key(rpm=5, models=["gpt-4o*"], metadata={"team": "a"}, expiresAt="2099-01-01T00:00:00Z")
    assert key["key"].startswith("igw_") and len(key["key"]) > 40
    assert key["prefix"] == key["key"][:12] and key["role"] == "caller" and key["budgetPeriod"] == "total"
    assert (key["rpm"], key["models"], key["metadata"]) == (5, ["gpt-4o*"], {"team": "a"})
    assert key["expiresAt"] == "2099-01-01T00:00:00.000Z" and key["revokedAt"] is None
    listed = admin("get", "/keys")[1]["data"]
    one = admin("get", f"/keys/{key['id']}")[1]["data"]
    assert [k["id"] for k in listed] == [key["id"]] and one["spentUsd"] == 0
    assert key["key"] not in json.dumps(listed) + json.dumps(one)
    with app.app_context(), connection():
        row = VirtualKey.get_by_id(key["id"])
    assert row.secret_hash == hashlib.sha256(key["key"].encode()).hexdigest()
    assert key["key"] not in json.dumps({k: str(v) for k, v in row.__data__.items()})


@pytest.mark.parametrize("body,field", [
    ({}, "name"), ({"name": "x", "role": "root"}, "role"), ({"name": "x", "rpm": 0}, "rpm"),
    ({"name": "x", "rpm": "5"}, "rpm"), ({"name": "x", "budgetUsd": -1}, "budgetUsd"),
    ({"name": "x", "budgetPeriod": "week"}, "budgetPeriod"), ({"name": "x", "models": "gpt-4o"}, "models"),
    ({"name": "x", "expiresAt": "tomorrow"}, "expiresAt"), ({"name": "x", "secret": "mine"}, "secret")])
def test_bad_key_fields_are_400_naming_the_field(admin, body, field):
    status, out = admin("post", "/keys", json=body)
    assert status == 400 and field in json.dumps(out["error"]), out


def test_keys_routes_are_admin_only(client, new_key, provider):
    key = new_key()
    for method, path in [("get", "/keys"), ("post", "/keys"), ("get", f"/keys/{key['id']}"),
                         ("put", f"/keys/{key['id']}"), ("delete", f"/keys/{key['id']}")]:
        resp = getattr(client, method)(P + path, json={"name": "x"}, headers=as_key(key))
        assert resp.status_code == 403, (method, path, resp.get_json())
        assert resp.get_json()["error"]["code"] == "FORBIDDEN"
    assert client.get(P + "/keys").status_code == 401


def test_an_admin_virtual_key_manages_and_a_caller_key_calls(client, new_key, provider, script):
    admin_key = new_key(role="admin")
    assert client.get(P + "/keys", headers=as_key(admin_key)).status_code == 200
    caller = new_key()
    script.enqueue(completion())
    assert chat(client, caller).status_code == 200
    assert client.get(P + "/keys", headers={"Authorization": "Bearer igw_not-a-key"}).status_code == 401


def test_model_and_provider_lists_are_403_naming_what_is_allowed(client, new_key, provider, script):
    only_mini = new_key(models=["gpt-4o-mini*", "openai/o3"])
    resp = chat(client, only_mini)
    assert resp.status_code == 403 and resp.get_json()["error"]["code"] == "FORBIDDEN"
    assert "gpt-4o-mini*" in resp.get_json()["error"]["message"] and "openai/o3" in resp.get_json()["error"]["message"]
    script.enqueue(completion(model="o3"))
    assert chat(client, only_mini, {**HELLO, "model": "openai/o3"}).status_code == 200
    other = new_key(providers=["anthropic"])
    resp = chat(client, other)
    assert resp.status_code == 403 and "anthropic" in resp.get_json()["error"]["message"]
    assert new_key(providers=[provider["id"]]) and script.enqueue(completion()) is None
    assert chat(client, new_key(providers=[provider["id"]])).status_code == 200


def test_revoked_and_expired_keys_are_401_and_changes_apply(app, client, admin, new_key, provider, script):
    key = new_key()
    script.enqueue(completion())
    assert chat(client, key).status_code == 200
    status, body = admin("delete", f"/keys/{key['id']}")
    assert status == 200 and body["data"]["revokedAt"]
    resp = chat(client, key)
    assert resp.status_code == 401 and "revoked" in resp.get_json()["error"]["message"]
    assert admin("get", f"/keys/{key['id']}")[1]["data"]["revokedAt"]  # the record stays
    assert admin("put", f"/keys/{key['id']}", json={"rpm": 1})[0] == 409
    past = (datetime.now(timezone.utc) - timedelta(minutes=1)).isoformat()
    expired = new_key(expiresAt=past)
    resp = chat(client, expired)
    assert resp.status_code == 401 and "expired" in resp.get_json()["error"]["message"]
    changing = new_key()
    assert admin("put", f"/keys/{changing['id']}", json={"models": ["claude-*"]})[1]["data"]["role"] == "caller"
    assert chat(client, changing).status_code == 403
    assert admin("get", "/keys/nope")[0] == 404


def test_rpm_is_429_with_retry_after_and_openai_headers(client, new_key, provider, script):
    key = new_key(rpm=2, tpm=10_000)
    script.enqueue(completion(usage=(6, 6)), completion(usage=(6, 6)))
    first = chat(client, key)
    assert first.status_code == 200
    assert first.headers["x-ratelimit-limit-requests"] == "2"
    assert first.headers["x-ratelimit-remaining-requests"] == "1"
    assert first.headers["x-ratelimit-reset-requests"].endswith("s")
    assert first.headers["x-ratelimit-limit-tokens"] == "10000"
    assert int(first.headers["x-ratelimit-remaining-tokens"]) < 10_000
    assert chat(client, key).status_code == 200
    refused = chat(client, key)
    assert refused.status_code == 429 and refused.get_json()["error"]["code"] == "RATE_LIMITED"
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert refused.headers["x-ratelimit-remaining-requests"] == "0"
    # The stream and the WebSocket are held to the same counters.
    stream = chat(client, key, path="/chat/stream")
    assert stream.status_code == 429


def test_the_websocket_is_limited_too(app, live_server, new_key, provider, script):
    key = new_key(rpm=1)
    script.enqueue(chunks("hi"))
    ws = websocket.create_connection(live_server.url.replace("http", "ws") + P + "/chat/ws",
                                     header=[f"Authorization: Bearer {key['key']}"], timeout=5)
    try:
        ws.send(json.dumps(HELLO))
        assert receive_until_end(ws)[-1]["type"] == "message_stop"
        ws.send(json.dumps(HELLO))
        event = receive_until_end(ws)[-1]
        assert event["type"] == "error" and event["error"]["code"] == "RATE_LIMITED"
    finally:
        ws.close()


def test_a_budget_is_402_once_spent(client, admin, new_key, provider, script):
    key = new_key(budgetUsd=0.02)  # $0.012 a call: the second starts under budget, the third does not
    script.enqueue(completion(usage=(6, 6)), completion(usage=(6, 6)))
    assert chat(client, key).status_code == 200
    assert chat(client, key).status_code == 200
    refused = chat(client, key)
    assert refused.status_code == 402 and refused.get_json()["error"]["code"] == "BUDGET_EXCEEDED"
    assert "$0.02" in refused.get_json()["error"]["message"]
    assert admin("get", f"/keys/{key['id']}")[1]["data"]["spentUsd"] == pytest.approx(0.024)


def test_a_key_with_a_budget_cannot_use_a_model_without_a_price(app, client, new_key, provider, script):
    key = new_key(budgetUsd=5)
    resp = chat(client, key, {**HELLO, "model": "openai/no-such-model-x"})
    assert resp.status_code == 402 and resp.get_json()["error"]["code"] == "BUDGET_EXCEEDED"
    assert "no-such-model-x" in resp.get_json()["error"]["message"] and "PRICES_FILE" in resp.get_json()["error"]["message"]
    assert not script.history  # nothing reached the provider
    # Without a budget the same model is served, and its row says its cost is unknown.
    script.enqueue(completion(model="no-such-model-x"))
    assert chat(client, new_key(), {**HELLO, "model": "openai/no-such-model-x"}).status_code == 200
    assert log_rows(app)[-1].cost_usd is None


def test_a_caller_key_sees_only_its_own_rows(client, admin, new_key, provider, script):
    mine, theirs = new_key(), new_key(name="team-b")
    script.enqueue(completion(), completion())
    my_id = chat(client, mine).get_json()["data"]["requestId"]
    their_id = chat(client, theirs).get_json()["data"]["requestId"]
    data = client.get(P + "/usage", headers=as_key(mine)).get_json()["data"]
    assert data["summary"]["totalRequests"] == 1 and len(data["requests"]) == 1
    mine_row = client.get(P + f"/requests/{my_id}", headers=as_key(mine)).get_json()["data"]
    assert data["requests"][0]["id"] == mine_row["id"] and mine_row["keyId"] == mine["id"]
    assert [k["keyId"] for k in data["byKey"]] == [mine["id"]]
    assert client.get(P + f"/requests/{my_id}", headers=as_key(mine)).status_code == 200
    assert client.get(P + f"/requests/{their_id}", headers=as_key(mine)).status_code == 404
    everything = admin("get", "/usage")[1]["data"]
    assert {k["keyId"] for k in everything["byKey"]} == {mine["id"], theirs["id"]}
    their_row = admin("get", f"/requests/{their_id}")[1]["data"]
    assert admin("get", f"/usage?key={theirs['id']}")[1]["data"]["requests"][0]["id"] == their_row["id"]
    assert everything["summary"]["totalCostUsd"] == pytest.approx(2 * (15 + 12) * 1000 / 1e6)


@pytest.mark.parametrize("fail_open", [False, True])
def test_redis_unreachable_is_503_naming_redis_url_or_allowed_when_failing_open(app_config, fail_open):
    from inference_gateway import create_app
    from .mock_provider import MockProvider, Script
    from inference_gateway.store import provider_store

    app = create_app({**app_config, "REDIS_URL": "redis://127.0.0.1:1/0", "LIMITS_FAIL_OPEN": fail_open})
    client = app.test_client()
    script = Script()
    original = provider_store.adapter_for
    provider_store.adapter_for = lambda provider, settings: MockProvider(provider_store.config_of(provider), settings, script)
    try:
        assert client.post(P + "/providers", headers=AS_ADMIN, json={
            "name": "openai", "type": "openai", "envVar": "OPENAI_API_KEY"}).status_code == 201
        key = client.post(P + "/keys", headers=AS_ADMIN, json={"name": "k", "rpm": 5}).get_json()["data"]
        script.enqueue(completion())
        resp = chat(client, key)
    finally:
        provider_store.adapter_for = original
    if fail_open:
        assert resp.status_code == 200
    else:
        assert resp.status_code == 503 and "REDIS_URL" in resp.get_json()["error"]["message"]
        assert not script.history
