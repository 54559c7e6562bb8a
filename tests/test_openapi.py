"""The OpenAPI document: valid 3.1, complete (every route of app.url_map, every schema field), public,
and rendered by the /docs explorer in a real (headless) Chromium."""
import os
import shutil
import subprocess

import pytest
from openapi_spec_validator import OpenAPIV31SpecValidator

from inference_gateway.web.openapi import DESCRIPTION_ATTR, documented_rules, openapi_path, operation_methods

from .prism import unavailable

DOC = "/api/v1/inference/openapi.json"


@pytest.fixture
def document(client):
    resp = client.get(DOC)
    assert resp.status_code == 200 and resp.mimetype == "application/json"
    return resp.get_json()


def test_the_document_is_valid_openapi_3_1(document):
    assert document["openapi"].startswith("3.1")
    errors = [str(e).splitlines()[0] for e in OpenAPIV31SpecValidator(document).iter_errors()]
    assert not errors, errors


def test_every_route_is_in_the_document_and_described(app, document):
    undescribed, missing = [], []
    for rule in documented_rules(app):
        for method in operation_methods(rule):
            op = document["paths"].get(openapi_path(rule), {}).get(method)
            if op is None:
                missing.append(f"{method.upper()} {rule.rule}")
            elif op.get("x-undescribed"):
                undescribed.append(f"{method.upper()} {rule.rule} ({rule.endpoint})")
    assert not missing, f"routes missing from the OpenAPI document: {missing}"
    assert not undescribed, (
        "routes without @describe(...) (inference_gateway/web/openapi.py): put one under the route "
        f"decorator, naming the body/query schema, the reply schema and the errors: {undescribed}")
    for name in ("/api/v1/inference/chat", "/api/v1/inference/providers/{id_or_name}", "/healthz", DOC):
        assert name in document["paths"]


def schema_keys(schema):
    schema = schema() if isinstance(schema, type) else schema
    return {field.data_key or name for name, field in schema.load_fields.items()}


def component(document, ref):
    return document["components"]["schemas"][ref["$ref"].rsplit("/", 1)[1]]


def test_every_field_of_every_request_schema_is_documented(app, document):
    checked = 0
    for rule in documented_rules(app):
        info = getattr(app.view_functions[rule.endpoint], DESCRIPTION_ATTR, None) or {}
        for method in operation_methods(rule):
            op = document["paths"][openapi_path(rule)][method]
            for kind, media in (("body", "application/json"), ("form", "multipart/form-data")):
                if info.get(kind):
                    props = component(document, op["requestBody"]["content"][media]["schema"])["properties"]
                    assert set(props) == schema_keys(info[kind]), (rule.rule, kind)
                    checked += 1
            if info.get("query"):
                names = {p["name"] for p in op["parameters"] if p["in"] == "query"}
                assert names == schema_keys(info["query"]), rule.rule
                checked += 1
    assert checked >= 10


def test_each_route_lists_the_errors_it_can_answer(document):
    chat = document["paths"]["/api/v1/inference/chat"]["post"]["responses"]
    assert {"200", "400", "401", "413", "429", "502", "504"} <= set(chat)
    codes = chat["400"]["content"]["application/json"]["schema"]["properties"]["error"]["properties"]["code"]
    assert {"BAD_REQUEST", "NO_PROVIDER", "UPSTREAM_ERROR"} <= set(codes["enum"])
    create = document["paths"]["/api/v1/inference/providers"]["post"]["responses"]
    assert "201" in create and "409" in create and "502" not in create


def test_the_document_and_the_explorer_are_public(app_config, tmp_path):
    from inference_gateway import create_app

    client = create_app({**app_config, "GATEWAY_API_KEYS": "sk-secret"}).test_client()
    assert client.get("/api/v1/inference/providers").status_code == 401
    assert client.get(DOC).status_code == 200
    page = client.get("/docs")
    assert page.status_code == 200 and b"swagger-ui-bundle.js" in page.data
    script = client.get("/docs/assets/swagger-ui-bundle.js")
    assert script.status_code == 200 and b"SwaggerUIBundle" in script.data[:2000]
    assert client.get("/docs/assets/..%2Fcore.py").status_code == 404


def chromium():
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if not path:
        unavailable("chromium is not installed: apt-get install chromium")
    return path


def test_the_explorer_renders_every_operation_in_chromium(start_gunicorn, tmp_path):
    browser = chromium()
    server = start_gunicorn()
    shot = tmp_path / "docs.png"
    flags = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
             "--virtual-time-budget=15000", "--window-size=1280,2400", f"--user-data-dir={tmp_path}/profile"]
    subprocess.run([*flags, f"--screenshot={shot}", server.url + "/docs"], capture_output=True, timeout=90)
    assert shot.exists() and shot.stat().st_size > 20_000, "no screenshot"
    shutil.copy(shot, "/tmp/docs-explorer.png") if os.environ.get("KEEP_SCREENSHOT") else None
    dom = subprocess.run([*flags, "--dump-dom", server.url + "/docs"], capture_output=True, text=True,
                         timeout=90).stdout
    # Swagger UI renders one "opblock" per operation, with its path; an unreadable document renders none.
    assert dom.count('class="opblock opblock-') >= 15, dom[-3000:]
    for path in ("/api/v1/inference/chat/stream", "/api/v1/inference/transcribe", "/api/v1/inference/usage"):
        assert path in dom
    assert "Chat completion" in dom
