"""Recent resolutions are reused: at once for this process's own catalog changes, within
PROVIDER_CACHE_SECONDS for another worker's or instance's, never for a failure."""
import pytest

from inference_gateway import create_app
from inference_gateway.store.db import connection
from inference_gateway.store.resolve_cache import ResolveCache
from inference_gateway.store.tables import Provider

from .helpers import log_rows
from .mock_provider import completion

HELLO = {"model": "gpt-4o", "messages": [{"role": "user", "content": "Hello"}]}
TTL = 0.5


@pytest.fixture
def app_config(app_config):
    return {**app_config, "PROVIDER_CACHE_SECONDS": TTL}


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


@pytest.fixture
def clock(app):
    clock = Clock()
    app.extensions["resolve_cache"] = ResolveCache(TTL, clock=clock)
    return clock


def chat(api, script, **body):
    script.enqueue(completion())
    return api.post("/chat", json={**HELLO, **body})


def elsewhere(app, change):
    """A catalog change made by another worker or instance: straight to the database."""
    with app.app_context(), connection():
        change()


def test_a_provider_deleted_by_another_process_serves_until_the_entry_expires(app, api, script, openai, clock):
    assert chat(api, script)[0] == 200
    elsewhere(app, lambda: Provider.delete().where(Provider.id == openai["id"]).execute())

    clock.now += TTL - 0.01
    status, body = chat(api, script)
    assert status == 200, body  # the entry is still fresh
    clock.now += 0.02
    status, body = chat(api, script)
    assert status == 400 and body["error"]["code"] == "NO_PROVIDER", body
    assert [row.status for row in log_rows(app)] == ["success", "success", "error"]


def test_a_change_made_through_this_process_applies_to_the_next_call(app, api, script, openai):
    assert chat(api, script)[0] == 200
    status, _ = api.put("/providers/openai", json={"name": "openai-main"})
    assert status == 200
    assert chat(api, script)[1]["data"]["provider"] == "openai-main"
    assert api.delete("/providers/openai-main")[0] == 200
    status, body = chat(api, script)
    assert status == 400 and body["error"]["code"] == "NO_PROVIDER", body


def test_a_model_sync_in_this_process_applies_to_the_next_call(app, api, up, registered):
    ask = {"model": "gpt-4o", "messages": HELLO["messages"]}
    status, body = api.post("/chat", json=ask)
    assert status == 200 and body["data"]["provider"] == "openai", body  # the prefix table's pick
    up.models["compat"] = ["gpt-4o"]  # the local server starts serving it: a synced id wins
    assert api.post("/models/sync", json={"provider": "local"})[0] == 200
    status, body = api.post("/chat", json=ask)
    assert status == 200 and body["data"]["provider"] == "local", body


def test_a_provider_registered_elsewhere_serves_its_first_call_at_once(app, api, script):
    status, body = chat(api, script)
    assert status == 400, body  # failures are not kept
    elsewhere(app, lambda: Provider.create(
        id="p1", name="openai", name_key="openai", type="openai", env_var="OPENAI_API_KEY"))
    status, body = chat(api, script)
    assert status == 200 and body["data"]["provider"] == "openai", body


def test_zero_seconds_turns_the_cache_off(app_config, api, script, openai):
    uncached = create_app({**app_config, "PROVIDER_CACHE_SECONDS": 0})
    client = uncached.test_client()
    script.enqueue(completion())
    assert client.post("/api/v1/inference/chat", json=HELLO).status_code == 200
    elsewhere(uncached, lambda: Provider.delete().where(Provider.id == openai["id"]).execute())
    resp = client.post("/api/v1/inference/chat", json=HELLO)
    assert resp.status_code == 400, resp.get_json()
