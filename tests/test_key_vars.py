"""Which variable a provider may send upstream (PROVIDER_KEY_VARS), whole-value name patterns,
baseUrl rules and masked credentials."""
import os
import re

import pytest

from inference_gateway import create_app, errors
from inference_gateway.config import key_var_allowed
from inference_gateway.store import db

P = "/api/v1/inference"
DEFAULT = ("*_API_KEY",)
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def readme_settings():
    text = open(os.path.join(ROOT, "README.rst")).read()
    table = text.split("\nConfiguration\n=============", 1)[1].split("\nRunning in production\n", 1)[0]
    return {name for line in table.splitlines() if line.startswith("``")
            for name in re.findall(r"``([A-Z][A-Z0-9_]+)``", line.split("  ")[0])}


def test_the_default_allows_api_key_variables_only():
    assert key_var_allowed("OPENAI_API_KEY", DEFAULT) and key_var_allowed("MY_TEAM_API_KEY", DEFAULT)
    for name in ("PATH", "HOME", "OPENAI_KEY", "OPENAI_API_KEY_OLD", "AWS_SECRET_ACCESS_KEY"):
        assert not key_var_allowed(name, DEFAULT), name


def test_the_gateways_own_settings_are_refused_whatever_the_patterns():
    names = readme_settings() | {"DATABASE_URL", "REDIS_URL", "GATEWAY_API_KEYS", "GATEWAY_ADMIN_KEYS",
                                 "GATEWAY_SOMETHING_NEW", "METRICS_TOKEN"}
    assert {"DATABASE_URL", "HOST", "HTTPS_PROXY", "TRUSTED_PROXIES"} <= names  # the table was read
    for name in names:
        assert not key_var_allowed(name, ("*",)), name


@pytest.fixture
def app_config(app_config):
    return {**app_config, "PROVIDER_KEY_VARS": "*_API_KEY"}


@pytest.mark.parametrize("env_var", ["GATEWAY_API_KEYS", "GATEWAY_ADMIN_KEYS", "DATABASE_URL", "PATH",
                                     "HOME", "METRICS_TOKEN", "OPENAI_TEST_KEY"])
@pytest.mark.parametrize("kind", ["openai-compatible", "anthropic", "openai"])
def test_a_refused_variable_is_a_400_naming_the_setting(api, env_var, kind):
    status, body = api.post("/providers", json={"name": "evil", "type": kind, "envVar": env_var,
                                                "baseUrl": "http://127.0.0.1:9/v1"})
    assert status == 400
    assert "PROVIDER_KEY_VARS" in body["error"]["message"] and env_var in body["error"]["message"]
    assert api.get("/providers")[1]["data"] == []


def test_an_update_to_a_refused_variable_is_a_400(api, openai_api_key):
    status, body = api.put("/providers/openai", json={"envVar": "DATABASE_URL"})
    assert status == 400 and "PROVIDER_KEY_VARS" in body["error"]["message"]
    assert api.get("/providers/openai")[1]["data"]["envVar"] == "OPENAI_API_KEY"


@pytest.fixture
def openai_api_key(api, up, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-live-secret-value")
    status, body = api.post("/providers", json={"name": "openai", "type": "openai", "envVar": "OPENAI_API_KEY",
                                                "baseUrl": up.base_url("openai")})
    assert status == 201, body


@pytest.mark.parametrize("field,value", [("name", "evil\n"), ("envVar", "OPENAI_API_KEY\n"),
                                         ("envVar", "GATEWAY_API_KEYS\n")])
def test_patterns_match_the_whole_value(api, field, value):
    payload = {"name": "ok", "type": "openai", "envVar": "OPENAI_API_KEY", field: value}
    status, body = api.post("/providers", json=payload)
    assert status == 400 and field in body["error"]["message"]


@pytest.mark.parametrize("url", ["http://127.0.0.1:9/v1?x=", "http://127.0.0.1:9/v1#", "http://h/v1?a=b#c"])
def test_a_base_url_with_query_or_fragment_is_refused(api, url):
    status, body = api.post("/providers", json={"name": "x", "type": "openai-compatible", "baseUrl": url})
    assert status == 400 and "query string or fragment" in body["error"]["message"]


def test_credentials_in_a_base_url_are_never_shown(api, client, up, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-x-value")
    url = "http://alice:s3cr3t-pw@127.0.0.1:1/v1"
    status, body = api.post("/providers", json={"name": "creds", "type": "openai", "envVar": "OPENAI_API_KEY",
                                                "baseUrl": url})
    assert status == 201 and body["data"]["baseUrl"] == "http://***@127.0.0.1:1/v1"
    assert api.get("/providers")[1]["data"][0]["baseUrl"] == "http://***@127.0.0.1:1/v1"
    resp = client.post(P + "/chat", json={"model": "creds/m", "messages": [{"role": "user", "content": "x"}]})
    text = resp.get_data(as_text=True)
    assert resp.status_code == 502 and "***@127.0.0.1:1" in text
    assert "s3cr3t-pw" not in text and "alice" not in text
    rows = api.get("/usage")[1]["data"]["requests"]
    assert rows and all("s3cr3t-pw" not in (r["errorMessage"] or "") for r in rows)


def test_mask_url():
    assert errors.mask_url("https://u:p@h.example/v1") == "https://***@h.example/v1"
    assert errors.mask_url("https://h.example/v1?x=a@b") == "https://h.example/v1?x=a@b"
    assert errors.mask_url("https://token@h.example") == "https://***@h.example"
    assert errors.mask_url(None) is None


def test_a_provider_stored_with_a_variable_no_longer_allowed_is_refused_at_call_time(
        app_config, up, monkeypatch):
    monkeypatch.setenv("LEGACY_SECRET", "legacy-secret-value")
    before = create_app({**app_config, "PROVIDER_KEY_VARS": "LEGACY_*"})
    resp = before.test_client().post(P + "/providers", json={
        "name": "legacy", "type": "openai", "envVar": "LEGACY_SECRET", "baseUrl": up.base_url("openai")})
    assert resp.status_code == 201 and resp.get_json()["data"]["keyConfigured"] is True
    db.release_all()

    client = create_app(app_config).test_client()  # PROVIDER_KEY_VARS back to *_API_KEY
    listed = client.get(P + "/providers/legacy").get_json()["data"]
    assert listed["keyConfigured"] is False
    for path, body in (("/chat", {"model": "legacy/gpt-4o", "messages": [{"role": "user", "content": "x"}]}),
                       ("/chat/stream", {"model": "legacy/gpt-4o", "messages": [{"role": "user", "content": "x"}]}),
                       ("/embed", {"model": "legacy/text-embedding-3-small", "input": ["x"]}),
                       ("/models/sync", {"provider": "legacy"})):
        resp = client.post(P + path, json=body)
        assert resp.status_code == 400, (path, resp.get_data(as_text=True))
        assert "PROVIDER_KEY_VARS" in resp.get_json()["error"]["message"]
    assert up.requests == []
    # keyConfigured says the same whether or not the variable is set.
    monkeypatch.delenv("LEGACY_SECRET")
    assert client.get(P + "/providers/legacy").get_json()["data"]["keyConfigured"] is False
