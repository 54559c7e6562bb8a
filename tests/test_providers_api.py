"""The providers resource, driven through the real app, on every database backend."""
import re

OPENAI = {"name": "openai", "type": "openai", "defaultModel": "gpt-4o", "envVar": "OPENAI_API_KEY"}
ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def test_register_matches_the_seed_example(api, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    status, body = api.post("/providers", json=OPENAI)
    assert status == 201
    assert body["success"] is True
    data = body["data"]
    assert re.fullmatch(r"[0-9a-f]{8}", data["id"])
    for key, value in OPENAI.items():
        assert data[key] == value
    assert ISO.match(data["created"]) and ISO.match(data["updated"])
    assert data["baseUrl"] == "https://api.openai.com/v1"
    assert data["keyConfigured"] is False


def test_key_is_never_returned_but_reported_configured(api, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-secret-value")
    status, body = api.post("/providers", json=OPENAI)
    assert status == 201 and body["data"]["keyConfigured"] is True
    for _, listed in [api.get("/providers"), api.get("/providers/openai")]:
        assert "sk-secret-value" not in str(listed)


def test_get_by_id_and_case_insensitive_name(api):
    _, created = api.post("/providers", json=OPENAI)
    pid = created["data"]["id"]
    assert api.get(f"/providers/{pid}")[1]["data"]["name"] == "openai"
    assert api.get("/providers/OpenAI")[1]["data"]["id"] == pid


def test_list_in_registration_order(api):
    api.post("/providers", json=OPENAI)
    api.post("/providers", json={"name": "claude", "type": "anthropic", "envVar": "ANTHROPIC_API_KEY"})
    status, body = api.get("/providers")
    assert status == 200
    assert [p["name"] for p in body["data"]] == ["openai", "claude"]


def test_duplicate_name_is_conflict_case_insensitively(api):
    api.post("/providers", json=OPENAI)
    status, body = api.post("/providers", json={**OPENAI, "name": "OPENAI"})
    assert status == 409
    assert body["error"]["code"] == "CONFLICT"


def test_gemini_is_stored_as_google_with_default_base_url(api):
    status, body = api.post("/providers", json={"name": "g", "type": "gemini", "envVar": "GEMINI_KEY"})
    assert status == 201
    assert body["data"]["type"] == "google"
    assert body["data"]["baseUrl"] == "https://generativelanguage.googleapis.com/v1beta"


def test_openai_compatible_needs_base_url_not_key(api):
    status, body = api.post("/providers", json={"name": "local", "type": "openai-compatible"})
    assert status == 400
    assert "baseUrl" in body["error"]["details"]
    status, body = api.post("/providers", json={
        "name": "local", "type": "openai-compatible", "baseUrl": "http://127.0.0.1:8000/v1"})
    assert status == 201
    assert body["data"]["envVar"] is None and body["data"]["keyConfigured"] is False


def test_bad_fields_are_400_naming_the_field(api):
    cases = [
        ({**OPENAI, "name": "-bad"}, "name"),
        ({**OPENAI, "name": "x" * 65}, "name"),
        ({**OPENAI, "type": "cohere"}, "type"),
        ({**OPENAI, "envVar": "lower_case"}, "envVar"),
        ({k: v for k, v in OPENAI.items() if k != "envVar"}, "envVar"),
        ({**OPENAI, "baseUrl": "ftp://example"}, "baseUrl"),
        ({**OPENAI, "apiKey": "sk-123"}, "apiKey"),
        ({k: v for k, v in OPENAI.items() if k != "name"}, "name"),
    ]
    for payload, field in cases:
        status, body = api.post("/providers", json=payload)
        assert status == 400, payload
        assert body["error"]["code"] == "BAD_REQUEST"
        assert field in body["error"]["details"], (payload, body)
        assert field in body["error"]["message"]


def test_update_changes_only_given_fields_and_bumps_updated(api):
    _, created = api.post("/providers", json=OPENAI)
    status, body = api.put("/providers/openai", json={"defaultModel": "gpt-4.1"})
    assert status == 200
    data = body["data"]
    assert data["defaultModel"] == "gpt-4.1"
    assert data["envVar"] == "OPENAI_API_KEY" and data["name"] == "openai"
    assert data["created"] == created["data"]["created"]
    assert data["updated"] >= created["data"]["updated"]
    assert api.get("/providers/openai")[1]["data"]["defaultModel"] == "gpt-4.1"


def test_update_validates_like_create(api):
    api.post("/providers", json=OPENAI)
    api.post("/providers", json={**OPENAI, "name": "other"})
    assert api.put("/providers/openai", json={"envVar": "bad-name"})[0] == 400
    assert api.put("/providers/openai", json={"envVar": None})[0] == 400
    assert api.put("/providers/openai", json={"name": "Other"})[0] == 409
    assert api.put("/providers/openai", json={"type": "openai-compatible"})[0] == 400
    assert api.put("/providers/nope", json={"defaultModel": "x"})[0] == 404
    status, body = api.put("/providers/openai", json={"name": "OpenAI-Prod"})
    assert status == 200 and body["data"]["name"] == "OpenAI-Prod"
    assert api.get("/providers/openai-prod")[0] == 200


def test_delete_returns_provider_and_removes_it(api):
    _, created = api.post("/providers", json=OPENAI)
    status, body = api.delete("/providers/openai")
    assert status == 200 and body["data"]["id"] == created["data"]["id"]
    status, body = api.get("/providers/openai")
    assert status == 404 and body["error"]["code"] == "NOT_FOUND"
    assert api.delete("/providers/openai")[0] == 404


def test_delete_removes_synced_models_but_keeps_request_logs(api):
    from inference_gateway.store.tables import ProviderModel, RequestLog

    _, created = api.post("/providers", json=OPENAI)
    pid = created["data"]["id"]
    ProviderModel.create(provider=pid, model_id="gpt-4o")
    RequestLog.create(provider_id=pid, provider_name="openai", model="gpt-4o", endpoint="chat",
                      status="success")
    api.delete(f"/providers/{pid}")
    assert ProviderModel.select().count() == 0
    assert RequestLog.get().provider_name == "openai"
