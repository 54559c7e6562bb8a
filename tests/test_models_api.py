"""Models: sync from every provider type through the app against the fake upstream, listing, resolution."""
import re
import threading

import pytest
import requests

from inference_gateway.store.db import connection
from inference_gateway.store.tables import ProviderModel

from .fake_upstream import SSE, Reply
from .helpers import log_rows

# Provider type -> (registered name, fake upstream kind).
PROVIDERS = {"openai": ("openai", "openai"), "anthropic": ("anthropic", "anthropic"),
             "google": ("google", "google"), "opencode": ("zen", "opencode"),
             "openai-compatible": ("local", "compat")}
ISO_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
FAILED = Reply(status=500, json={"error": {"message": "backend exploded", "type": "server_error"}})
ATTEMPTS = 3  # the first try and the 2 retries app_config allows


@pytest.fixture
def registered(api, up, monkeypatch):
    """One provider of every type, each pointed at the fake upstream; {type: provider dict}."""
    out = {}
    for kind, (name, fake) in PROVIDERS.items():
        payload = {"name": name, "type": kind, "baseUrl": up.base_url(fake)}
        if kind != "openai-compatible":
            monkeypatch.setenv(f"{name.upper()}_TEST_KEY", f"key-for-{name}")
            payload["envVar"] = f"{name.upper()}_TEST_KEY"
        status, body = api.post("/providers", json=payload)
        assert status == 201, body
        out[kind] = body["data"]
    return out


def sync(api, provider):
    return api.post("/models/sync", json={"provider": provider})


def synced(api, provider=None):
    """Every synced model (of `provider`), in one page."""
    query = {"limit": 1000, **({"provider": provider} if provider else {})}
    status, body = api.get("/models", query_string=query)
    assert status == 200, body
    assert body["data"]["nextCursor"] is None
    return body["data"]["models"]


def stored(app):
    """(provider id, model id, display name, capabilities, synced at) of every row, as the table holds them."""
    with app.app_context(), connection():
        return sorted(ProviderModel.select(ProviderModel.provider, ProviderModel.model_id,
                                           ProviderModel.display_name, ProviderModel.capabilities,
                                           ProviderModel.synced_at).tuples())


# -- every provider type ----------------------------------------------------------------------------

EXPECTED = {
    "openai": {"gpt-4o": ["chat"], "gpt-4o-mini": ["chat"], "o3-mini": ["chat"], "gpt-5": ["chat"],
               "text-embedding-3-small": ["embed"], "dall-e-3": ["image"], "gpt-image-1": ["image"],
               "whisper-1": ["transcribe"], "gpt-4o-transcribe": ["transcribe"]},
    "anthropic": {m: ["chat"] for m in ("claude-opus-4-1-20250805", "claude-opus-4-20250514",
                                        "claude-sonnet-4-20250514", "claude-3-7-sonnet-20250219",
                                        "claude-3-5-sonnet-20241022", "claude-3-5-haiku-20241022",
                                        "claude-3-haiku-20240307")},
    "google": {"gemini-2.5-pro": ["chat"], "gemini-2.5-flash": ["chat"], "gemini-2.0-flash": ["chat"],
               "gemini-2.5-flash-image": ["chat", "image"], "gemini-embedding-001": ["embed"]},
    "opencode": {f"opencode/{m}": ["chat"] for m in ("kimi-k2", "claude-sonnet-4", "gemini-2.5-pro",
                                                     "gpt-5", "qwen3-coder")},
    "openai-compatible": {"llama3": ["chat"], "qwen2.5": ["chat"]},
}


@pytest.mark.parametrize("kind", list(PROVIDERS))
def test_sync_every_provider_type(app, api, up, registered, kind):
    provider = registered[kind]
    status, body = sync(api, provider["name"])
    assert status == 200, body
    data = body["data"]
    assert (data["provider"], data["providerId"]) == (provider["name"], provider["id"])
    assert (data["added"], data["removed"], data["total"]) == (len(EXPECTED[kind]), 0, len(EXPECTED[kind]))
    assert {m["modelId"]: m["capabilities"] for m in data["models"]} == EXPECTED[kind]
    for model in data["models"]:
        assert (model["providerId"], model["provider"]) == (provider["id"], provider["name"])
        assert ISO_MS.match(model["syncedAt"]) and model["id"]
    assert synced(api) == data["models"]
    [row] = log_rows(app)
    assert (row.endpoint, row.status, row.http_status) == ("models_sync", "success", 200)
    assert (row.provider_id, row.provider_name, row.model) == (provider["id"], provider["name"], None)


def test_anthropic_follows_after_id_pages(api, up, registered):
    status, body = sync(api, "anthropic")
    assert status == 200
    assert [m["modelId"] for m in body["data"]["models"]] == sorted(up.models["anthropic"])
    pages = up.of_kind("anthropic", "/models")
    assert len(pages) == 3  # 7 models, pages of at most up.page_size = 3
    assert [p.query.get("after_id") for p in pages] == [None, "claude-sonnet-4-20250514",
                                                        "claude-3-5-haiku-20241022"]
    assert pages[0].headers["x-api-key"] == "key-for-anthropic"
    by_id = {m["modelId"]: m for m in body["data"]["models"]}
    assert by_id["claude-sonnet-4-20250514"]["displayName"] == "Claude Sonnet 4 20250514"


def test_google_follows_page_tokens_strips_prefix_and_reads_methods(api, up, registered):
    up.models["google"].append({"name": "models/aqa", "displayName": "AQA",
                                "supportedGenerationMethods": ["generateAnswer"]})
    status, body = sync(api, "google")
    assert status == 200
    models = {m["modelId"]: m for m in body["data"]["models"]}
    assert set(models) == set(EXPECTED["google"]) | {"aqa"}
    assert models["aqa"]["capabilities"] == []  # listed, but nothing this gateway can call
    assert models["gemini-2.5-flash-image"]["displayName"] == "Gemini 2.5 Flash Image"
    pages = up.of_kind("google", "/models")
    assert len(pages) == 2 and "pageToken" not in pages[0].query and pages[1].query["pageToken"]
    assert pages[0].headers["x-goog-api-key"] == "key-for-google"


def test_opencode_lists_without_a_key(api, up, registered, monkeypatch):
    monkeypatch.delenv("ZEN_TEST_KEY")
    status, body = sync(api, "zen")
    assert status == 200 and body["data"]["total"] == 5
    assert "Authorization" not in up.of_kind("opencode", "/models")[0].headers


# -- re-sync ------------------------------------------------------------------------------------------

def test_resync_is_idempotent(app, api, up, registered):
    first = sync(api, "openai")[1]["data"]
    status, body = sync(api, "openai")
    assert status == 200
    again = body["data"]
    assert (again["added"], again["removed"], again["total"]) == (0, 0, first["total"])
    assert [(m["id"], m["modelId"]) for m in again["models"]] == [(m["id"], m["modelId"]) for m in first["models"]]
    assert all(b["syncedAt"] >= a["syncedAt"] for a, b in zip(first["models"], again["models"]))
    assert len(stored(app)) == first["total"]


def test_resync_removes_what_the_provider_dropped_and_updates_the_rest(app, api, up, registered):
    sync(api, "anthropic")
    up.models["anthropic"].remove("claude-3-haiku-20240307")
    up.models["anthropic"].remove("claude-opus-4-20250514")
    up.models["anthropic"][0] = {"type": "model", "id": "claude-opus-4-1-20250805", "display_name": "Opus 4.1"}
    up.models["anthropic"].append("claude-haiku-4-5")
    status, body = sync(api, "anthropic")
    assert status == 200
    data = body["data"]
    assert (data["added"], data["removed"], data["total"]) == (1, 2, 6)
    ids = [m["modelId"] for m in synced(api, "anthropic")]
    assert "claude-haiku-4-5" in ids and "claude-3-haiku-20240307" not in ids
    assert {m["modelId"]: m["displayName"] for m in data["models"]}["claude-opus-4-1-20250805"] == "Opus 4.1"
    assert len(stored(app)) == 6


def test_a_provider_listing_nothing_empties_its_models(api, up, registered):
    sync(api, "local")
    up.models["compat"] = []
    status, body = sync(api, "local")
    assert status == 200 and (body["data"]["removed"], body["data"]["total"]) == (2, 0)
    assert synced(api, "local") == []


def test_repeated_ids_are_stored_once(api, up, registered):
    up.models["compat"] = ["llama3", "llama3", "x" * 301, "qwen2.5"]
    status, body = sync(api, "local")
    assert status == 200
    assert [m["modelId"] for m in body["data"]["models"]] == ["llama3", "qwen2.5"]


def test_concurrent_syncs_of_one_provider_leave_one_row_per_model(app, api, up, registered, live_server):
    results = []

    def run():
        resp = requests.post(live_server.url + "/api/v1/inference/models/sync", json={"provider": "openai"},
                             timeout=30)
        results.append((resp.status_code, resp.json()))

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert [status for status, _ in results] == [200] * 4, results
    assert sum(body["data"]["added"] for _, body in results) == len(EXPECTED["openai"])
    assert len(stored(app)) == len(EXPECTED["openai"])
    assert len(log_rows(app)) == 4


# -- failed syncs change nothing ------------------------------------------------------------------

def test_upstream_500_leaves_the_table_unchanged_and_logs_one_error(app, api, up, registered):
    sync(api, "openai")
    before = stored(app)
    up.models["openai"] = ["gpt-4.1"]
    up.script("openai", *[FAILED] * ATTEMPTS)
    status, body = sync(api, "openai")
    assert status == 502 and body["error"]["code"] == "UPSTREAM_ERROR"
    assert "backend exploded" in body["error"]["message"]
    assert stored(app) == before
    rows = log_rows(app)
    assert len(rows) == 2
    assert (rows[-1].endpoint, rows[-1].status, rows[-1].http_status, rows[-1].error_code) == \
        ("models_sync", "error", 502, "UPSTREAM_ERROR")
    assert rows[-1].provider_name == "openai"


@pytest.mark.parametrize("kind,name,page_query", [("anthropic", "anthropic", "after_id"),
                                                  ("google", "google", "pageToken")])
def test_a_page_failing_half_way_leaves_the_table_unchanged(app, api, up, registered, kind, name, page_query):
    sync(api, name)
    before = stored(app)
    up.models[kind] = up.models[kind][:2] + ["gemini-3-pro" if kind == "google" else "claude-4-new"] \
        + up.models[kind][2:]
    # The first page is served; every later one fails, retries included.
    up.script(kind, lambda req: None, *[FAILED] * ATTEMPTS, path="/models")
    status, body = sync(api, name)
    assert status == 502 and body["error"]["code"] == "UPSTREAM_ERROR", body
    pages = up.of_kind(kind, "/models")
    assert page_query in pages[-1].query  # it did get past the first page
    assert stored(app) == before
    rows = log_rows(app)
    assert len(rows) == 2 and (rows[-1].status, rows[-1].error_code) == ("error", "UPSTREAM_ERROR")


def test_a_database_failure_half_way_rolls_back(app, api, up, registered, monkeypatch):
    sync(api, "anthropic")
    before = stored(app)
    up.models["anthropic"] = up.models["anthropic"][2:]  # the sync deletes two rows, then fails

    def broken_insert(cls, rows):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(ProviderModel, "insert_many", classmethod(broken_insert))
    status, body = sync(api, "anthropic")
    assert status == 500 and body["error"]["code"] == "INTERNAL_ERROR"
    assert "disk on fire" not in body["error"]["message"]
    monkeypatch.undo()
    assert stored(app) == before
    rows = log_rows(app)
    assert len(rows) == 2 and (rows[-1].endpoint, rows[-1].status, rows[-1].http_status) == \
        ("models_sync", "error", 500)


def test_missing_key_is_provider_not_configured(app, api, up, registered, monkeypatch):
    monkeypatch.delenv("OPENAI_TEST_KEY")
    status, body = sync(api, "openai")
    assert status == 400 and body["error"]["code"] == "PROVIDER_NOT_CONFIGURED"
    assert not up.of_kind("openai")
    assert [r.error_code for r in log_rows(app)] == ["PROVIDER_NOT_CONFIGURED"]


# -- request shapes --------------------------------------------------------------------------------

def test_sync_by_id_and_by_query_string(api, up, registered):
    status, body = sync(api, registered["openai-compatible"]["id"])
    assert status == 200 and body["data"]["provider"] == "local"
    status, body = api.post("/models/sync", query_string={"provider": "LOCAL"})
    assert status == 200 and body["data"]["added"] == 0
    status, body = api.post("/models/sync?provider=local", json={"provider": "local"})
    assert status == 200


@pytest.mark.parametrize("kwargs,says", [
    ({}, "provider: is required"),
    ({"json": {}}, "provider: is required"),
    ({"json": {"provider": ""}}, "provider: must be a provider id or name"),
    ({"json": {"provider": 7}}, "provider: Not a valid string"),
    ({"json": {"provider": "openai", "model": "gpt-4o"}}, "model: Unknown field"),
    ({"json": ["openai"]}, "must be a JSON object"),
    ({"data": "provider=openai", "content_type": "application/x-www-form-urlencoded"}, "application/json"),
    ({"query_string": {"provider": "openai"}, "json": {"provider": "local"}}, "provider: given twice"),
    ({"query_string": {"provider": "openai", "force": "1"}}, "force: Unknown field"),
])
def test_bad_sync_requests_are_400(api, up, registered, kwargs, says):
    status, body = api.post("/models/sync", **kwargs)
    assert status == 400 and body["error"]["code"] == "BAD_REQUEST"
    assert says in body["error"]["message"]
    assert not up.requests


def test_unknown_provider_is_404_and_logged(app, api, up, registered):
    status, body = sync(api, "nope")
    assert status == 404 and body["error"] == {"code": "NOT_FOUND", "message": "provider 'nope' not found"}
    [row] = log_rows(app)
    assert (row.endpoint, row.status, row.http_status) == ("models_sync", "error", 404)
    status, body = api.get("/models", query_string={"provider": "nope"})
    assert status == 404 and body["error"]["code"] == "NOT_FOUND"


# -- listing -----------------------------------------------------------------------------------------

def test_listing_filters_by_provider_id_or_name(api, up, registered):
    assert synced(api) == []
    sync(api, "openai")
    sync(api, "local")
    everything = synced(api)
    assert [m["provider"] for m in everything] == ["openai"] * 9 + ["local"] * 2
    assert synced(api, "local") == everything[-2:]
    assert synced(api, registered["openai"]["id"]) == everything[:9]
    assert synced(api, "OpenAI") == everything[:9]
    assert synced(api, "google") == []
    llama = everything[-1]
    assert set(llama) == {"id", "providerId", "provider", "modelId", "displayName", "capabilities", "syncedAt"}
    assert (llama["modelId"], llama["displayName"], llama["capabilities"]) == ("qwen2.5", None, ["chat"])


def test_listing_pages_like_usage(api, up, registered):
    sync(api, "openai")
    sync(api, "local")
    everything, pages, cursor = synced(api), [], None
    while True:
        status, body = api.get("/models", query_string={"limit": 4, **({"cursor": cursor} if cursor else {})})
        assert status == 200, body
        pages.append(body["data"]["models"])
        cursor = body["data"]["nextCursor"]
        if cursor is None:
            break
    assert [len(page) for page in pages] == [4, 4, 3]
    assert [m for page in pages for m in page] == everything
    status, body = api.get("/models")  # 50 unless told
    assert len(body["data"]["models"]) == 11 and body["data"]["nextCursor"] is None
    for query, says in [({"limit": 0}, "limit: must be between 1 and 1000"), ({"cursor": "nope"}, "cursor: is not a cursor")]:
        status, body = api.get("/models", query_string=query)
        assert status == 400 and says in body["error"]["message"], body


@pytest.mark.parametrize("kind", list(PROVIDERS))
def test_a_listing_of_more_than_max_synced_models_is_a_502_read_no_further_and_stores_nothing(app, api, up, registered,
                                                                                               kind):
    name, fake = PROVIDERS[kind]
    assert sync(api, name)[0] == 200
    before, pages = stored(app), len(up.of_kind(fake, "/models"))
    app.config["MAX_SYNCED_MODELS"] = 1
    status, body = sync(api, name)
    assert status == 502 and body["error"]["code"] == "UPSTREAM_ERROR"
    assert "more than 1 models" in body["error"]["message"] and "MAX_SYNCED_MODELS" in body["error"]["message"]
    assert stored(app) == before
    # The count passed the limit on the first page: the paged listings (Anthropic's 3 pages,
    # Gemini's 2) are not read on.
    assert len(up.of_kind(fake, "/models")) == pages + 1
    app.config["MAX_SYNCED_MODELS"] = len(EXPECTED[kind])
    assert sync(api, name)[0] == 200


# A listing's opening and one entry, as each provider type's upstream writes them.
LISTING = {"openai": (b'{"object": "list", "data": [', b'{"id": "m-%06d", "object": "model"},'),
           "anthropic": (b'{"has_more": false, "data": [', b'{"id": "m-%06d", "type": "model"},'),
           "google": (b'{"models": [', b'{"name": "models/m-%06d"},')}
LISTING["opencode"] = LISTING["openai-compatible"] = LISTING["openai"]


@pytest.mark.parametrize("kind", list(PROVIDERS))
def test_a_listing_over_upstream_max_reply_bytes_or_not_json_is_a_502_and_stores_nothing(app, api, up, registered,
                                                                                        kind, monkeypatch):
    name, fake = PROVIDERS[kind]
    monkeypatch.setattr(app.extensions["provider_settings"].http, "max_reply_bytes", 10_000)
    opening, entry = LISTING[kind]
    # Chunked, so no Content-Length refuses it up front: 40 kB of entries (far fewer than
    # MAX_SYNCED_MODELS), counted as they are read.
    up.script(fake, SSE([opening] + [entry % i for i in range(1000)], raw=True,
                        headers={"Content-Type": "application/json"}), path="/models")
    status, body = sync(api, name)
    assert status == 502 and "over the gateway's limit of 10,000 bytes (UPSTREAM_MAX_REPLY_BYTES)" \
        in body["error"]["message"], body
    up.script(fake, Reply(body=opening + entry % 1 + entry % 2), path="/models")  # cut short
    status, body = sync(api, name)
    assert status == 502 and f"provider '{name}' sent a reply that is not valid JSON" in body["error"]["message"], body
    assert stored(app) == []


def test_listing_rejects_unknown_parameters(api):
    status, body = api.get("/models", query_string={"providr": "openai"})
    assert status == 400 and "providr: Unknown field" in body["error"]["message"]


def test_deleting_a_provider_removes_its_models(app, api, up, registered):
    sync(api, "openai")
    sync(api, "local")
    status, _ = api.delete("/providers/openai")
    assert status == 200
    assert {m["provider"] for m in synced(api)} == {"local"}
    assert {row[0] for row in stored(app)} == {registered["openai-compatible"]["id"]}


# -- resolution by synced model -----------------------------------------------------------------

def test_synced_compatible_model_resolves_without_prefix(app, api, up, registered):
    ask = {"model": "llama3", "messages": [{"role": "user", "content": "hi"}]}
    status, body = api.post("/chat", json=ask)
    assert status == 400 and body["error"]["code"] == "NO_PROVIDER"
    sync(api, "local")
    status, body = api.post("/chat", json=ask)
    assert status == 200, body
    assert body["data"]["provider"] == "local"
    assert up.of_kind("compat", "/chat/completions")[-1].json["model"] == "llama3"


def test_synced_ids_of_one_type_do_not_take_another_types_models(app, api, up, registered):
    up.models["compat"].append("gpt-4o")  # a proxy that serves gpt-4o too
    # Re-registered, openai is now younger than local, which alone would win the tie.
    openai = {k: registered["openai"][k] for k in ("name", "type", "envVar", "baseUrl")}
    assert api.delete("/providers/openai")[0] == 200 and api.post("/providers", json=openai)[0] == 201
    for name in ("local", "zen", "openai"):
        assert sync(api, name)[0] == 200
    ask = {"messages": [{"role": "user", "content": "hi"}]}
    # Zen's models are stored as opencode/ID: its claude-sonnet-4 does not take Anthropic's.
    assert api.post("/chat", json={**ask, "model": "claude-sonnet-4"})[1]["data"]["provider"] == "anthropic"
    assert api.post("/chat", json={**ask, "model": "opencode/claude-sonnet-4"})[1]["data"]["provider"] == "zen"
    # Both openai and local list gpt-4o: the openai-type provider keeps it.
    assert api.post("/chat", json={**ask, "model": "gpt-4o"})[1]["data"]["provider"] == "openai"
