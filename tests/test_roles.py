"""Admin and caller roles: which key may do what, and every route naming its role."""
import pytest

from inference_gateway.types import Completion, Usage
from inference_gateway.web import auth

P = "/api/v1/inference"
ADMIN = {"Authorization": "Bearer admin-key"}
CALLER = {"Authorization": "Bearer caller-key"}

# Every admin-only route, with a body that would otherwise succeed or fail past the role check.
ADMIN_ROUTES = [
    ("post", "/providers", {"name": "evil", "type": "openai-compatible", "baseUrl": "http://127.0.0.1:9/v1"}),
    ("put", "/providers/openai", {"baseUrl": "http://127.0.0.1:9/v1"}),
    ("delete", "/providers/openai", None),
    ("post", "/models/sync", {"provider": "openai"}),
    ("post", "/routes", {"name": "smart", "strategy": "fallback", "targets": [{"model": "openai/gpt-4o"}]}),
    ("put", "/routes/smart", {"name": "smart", "strategy": "fallback", "targets": [{"model": "openai/gpt-4o"}]}),
    ("delete", "/routes/smart", None),
]
# Routes a caller key may use (status is whatever the route answers, never 401/403).
CALLER_ROUTES = [("get", "/providers"), ("get", "/providers/openai"), ("get", "/models"), ("get", "/usage"),
                 ("get", "/routes")]


@pytest.fixture
def app_config(app_config):
    return {**app_config, "GATEWAY_API_KEYS": "caller-key", "GATEWAY_ADMIN_KEYS": "admin-key"}


@pytest.fixture
def provider(client, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-x")
    resp = client.post(P + "/providers", headers=ADMIN,
                       json={"name": "openai", "type": "openai", "envVar": "OPENAI_API_KEY"})
    assert resp.status_code == 201, resp.get_json()


@pytest.mark.parametrize("method,path,body", ADMIN_ROUTES)
def test_a_caller_key_gets_403_on_every_admin_route(client, provider, method, path, body):
    resp = getattr(client, method)(P + path, headers=CALLER, json=body)
    assert resp.status_code == 403
    error = resp.get_json()["error"]
    assert error["code"] == "FORBIDDEN" and "admin key" in error["message"]
    # Nothing changed: the provider is still there, unchanged.
    listed = client.get(P + "/providers", headers=CALLER).get_json()["data"]
    assert [(p["name"], p["baseUrl"]) for p in listed] == [("openai", "https://api.openai.com/v1")]


@pytest.mark.parametrize("method,path,body", ADMIN_ROUTES)
def test_an_admin_key_passes_every_admin_route(client, provider, method, path, body):
    resp = getattr(client, method)(P + path, headers=ADMIN, json=body)
    assert resp.status_code not in (401, 403), resp.get_json()


@pytest.mark.parametrize("method,path", CALLER_ROUTES)
def test_a_caller_key_reads(client, provider, method, path):
    assert getattr(client, method)(P + path, headers=CALLER).status_code == 200


def test_x_api_key_is_accepted_like_bearer(client, provider):
    assert client.get(P + "/providers", headers={"x-api-key": "caller-key"}).status_code == 200
    resp = client.delete(P + "/providers/openai", headers={"x-api-key": "caller-key"})
    assert resp.status_code == 403
    assert client.delete(P + "/providers/openai", headers={"x-api-key": "admin-key"}).status_code == 200
    assert client.get(P + "/providers", headers={"x-api-key": "nope"}).status_code == 401


def test_a_caller_chat_is_served(client, provider, script):
    script.enqueue(Completion(content="hi", model="gpt-4o", usage=Usage(1, 1), finish_reason="stop"))
    resp = client.post(P + "/chat", headers=CALLER,
                       json={"model": "openai/gpt-4o", "messages": [{"role": "user", "content": "x"}]})
    assert resp.status_code == 200, resp.get_json()


def test_every_route_names_its_role(app):
    """A new management route must be marked admin-only or be added here as a caller route
    (`auth.admin_required`); probes are public."""
    callers = {("GET", "/providers"), ("GET", "/providers/<id_or_name>"), ("GET", "/models"),
               ("GET", "/usage"), ("GET", "/requests/<request_id>"), ("POST", "/chat"),
               ("POST", "/chat/stream"), ("GET", "/chat/ws"), ("POST", "/embed"), ("POST", "/images"),
               ("POST", "/transcribe"), ("GET", "/prices"), ("GET", "/routes"), ("GET", "/routes/<name>")}
    callers = {(method, P + path) for method, path in callers} | {
        # The OpenAI-compatible surface, and its fallback answering unknown /v1 paths in its format.
        ("POST", "/v1/chat/completions"), ("GET", "/v1/models"), ("GET", "/v1/models/<path:model_id>"),
        ("POST", "/v1/embeddings"), ("POST", "/v1/images/generations"),
        ("POST", "/v1/audio/transcriptions"), ("POST", "/v1/responses"),
        # The Anthropic-compatible surface.
        ("POST", "/v1/messages"), ("POST", "/v1/messages/count_tokens"),
        *((m, "/v1/<path:rest>") for m in ("GET", "POST", "PUT", "PATCH", "DELETE"))}
    # The dashboard's pages (signed in by its session cookie; a virtual caller key sees its own rows).
    callers |= {("GET", "/dashboard/"), ("GET", "/dashboard/requests"), ("GET", "/dashboard/requests/<request_id>"),
                ("GET", "/dashboard/providers")}
    # The API's description and its explorer describe only the API's shape: public. So are the
    # dashboard's sign-in and sign-out forms (CSRF-checked), its scripts and styles, and its 404 page.
    public = {"/healthz", "/readyz", "/metrics", P + "/openapi.json", "/docs", "/docs/assets/<name>",
              "/dashboard/sign-in", "/dashboard/sign-out", "/dashboard/assets/<name>", "/dashboard/<path:rest>"}
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        role = auth.view_role(app, rule.endpoint)
        path = rule.rule
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            if rule.rule in public:
                assert role == auth.PUBLIC, rule
            elif (method, path) in callers:
                assert role == auth.CALLER, (method, rule.rule)
            else:
                assert role == auth.ADMIN, f"{method} {rule.rule} is neither admin-only nor a known caller route"


@pytest.mark.parametrize("config", [{"GATEWAY_ADMIN_KEYS": ""}])
def test_only_caller_keys_set_admin_routes_name_the_setting(app_config, config, caplog):
    from inference_gateway import create_app

    app = create_app({**app_config, **config})
    assert "GATEWAY_ADMIN_KEYS" in caplog.text
    resp = app.test_client().post(P + "/providers", headers=CALLER, json={})
    assert resp.status_code == 403
    assert "GATEWAY_ADMIN_KEYS" in resp.get_json()["error"]["message"]


def test_a_key_source_adds_principals(app, client):
    seen = []

    def lookup(key):
        seen.append(key)
        return auth.Principal(auth.CALLER, key_id="k1", name="virtual") if key == "igw_v" else None

    auth.add_key_source(app, lookup)

    @app.get("/whoami-test")
    def whoami():
        p = auth.current_principal()
        return {"role": p.role, "keyId": p.key_id, "name": p.name}

    assert client.get("/whoami-test", headers={"x-api-key": "igw_v"}).get_json() == {
        "role": "caller", "keyId": "k1", "name": "virtual"}
    # Static keys never reach the source; unknown ones do and are refused.
    assert client.get("/whoami-test", headers=ADMIN).get_json()["role"] == "admin"
    assert client.get("/whoami-test", headers={"x-api-key": "other"}).status_code == 401
    assert seen == ["igw_v", "other"]
    assert client.delete(P + "/providers/x", headers={"x-api-key": "igw_v"}).status_code == 403


def test_open_mode_is_admin(app_config):
    from inference_gateway import create_app

    client = create_app({**app_config, "GATEWAY_API_KEYS": "", "GATEWAY_ADMIN_KEYS": ""}).test_client()
    resp = client.post(P + "/providers", json={"name": "l", "type": "openai-compatible",
                                               "baseUrl": "http://127.0.0.1:9/v1"})
    assert resp.status_code == 201


def test_the_compatible_surface_takes_both_roles_and_either_header(app_config, monkeypatch):
    from inference_gateway import create_app

    client = create_app({**app_config, "GATEWAY_API_KEYS": "caller-key", "GATEWAY_ADMIN_KEYS": "admin-key"}
                        ).test_client()
    for headers in (CALLER, ADMIN, {"x-api-key": "caller-key"}, {"x-api-key": "admin-key"}):
        assert client.get("/v1/models", headers=headers).status_code == 200, headers
    resp = client.get("/v1/models", headers={"x-api-key": "nope"})
    assert resp.status_code == 401
    assert "error" in resp.get_json() and "success" not in resp.get_json()  # OpenAI's error format
